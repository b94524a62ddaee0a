#!/bin/sh
# temper graph and the cascade with the engine test builder: publishing a
# base rebuilds its whole subtree, bases first, each image once, against the
# base's published digest; the graph as text, DOT and JSON; a cycle of bases
# is a config error naming the cycle.
. "$TEMPER_SRCDIR/tests/run/run_lib.sh"
[ -f "$MODS/.libs/builder_enginetest.so" ] || tap_skip_all "no shared test modules (static build)"
run_tmp graph
et_ini "$T/p.ini"
image base; image app base; image tool app; image web base; image other
out=$(tp graph -c "$T/p.ini"); rc=$?
tap_check "graph exits 0" [ $rc -eq 0 ]
exp="base  (not published)
  app  (not published)
    tool  (not published)
  web  (not published)
other  (not published)"
tap_check "text: a tree, every image under its base" [ "$out" = "$exp" ]

tp run -c "$T/p.ini" tool 2>"$T/err"; rc=$?
tap_check "run of an image whose base was never published fails ($rc)" [ $rc -eq 1 ]
grep -q "base image app has not been published yet" "$T/err"
tap_check "and says so" [ $? -eq 0 ]
q "delete from jobs"

tp run -c "$T/p.ini" base 2>"$T/err"; rc=$?
tap_check "run base exits 0 ($rc)" [ $rc -eq 0 ]
tap_check "the cascade built the whole subtree, bases first" \
    [ "$(q "select group_concat(image, ' ') from (select image from runs where status = 0 order by id)")" = "base app web tool" ]
tap_check "each once" [ "$(q "select count(*) from runs")" = 4 ]
tap_check "dependents were enqueued by the cascade" \
    [ "$(q "select group_concat(reason, ' ') from (select reason from jobs where image in ('app','web','tool') order by id)")" = "base base base" ]
tap_check "the image outside the subtree was not built" \
    [ "$(q "select count(*) from runs where image = 'other'")" = 0 ]
bd=$(q "select json_extract(value, '\$.digest') from kv where ns = 'published' and key = 'base'")
ad=$(q "select json_extract(value, '\$.base_digest') from kv where ns = 'published' and key = 'app'")
td=$(q "select json_extract(value, '\$.base_digest') from kv where ns = 'published' and key = 'tool'")
appd=$(q "select json_extract(value, '\$.digest') from kv where ns = 'published' and key = 'app'")
tap_check "app was built against base's published digest" [ -n "$bd" -a "$ad" = "$bd" ]
tap_check "tool against app's" [ -n "$appd" -a "$td" = "$appd" ]
tap_check "the image record keeps the published digest" \
    [ "$(q "select last_digest from images where name = 'base'")" = "$bd" ]

out=$(tp graph -c "$T/p.ini")
echo "$out" | grep -q "^  app  $appd\$"; tap_check "text shows published digests" [ $? -eq 0 ]
tp graph -c "$T/p.ini" --format dot > "$T/g.dot"; rc=$?
tap_check "dot exits 0" [ $rc -eq 0 ]
grep -q '^digraph temper {$' "$T/g.dot" && grep -q '^    "base" -> "app";$' "$T/g.dot" &&
    grep -q '^    "app" -> "tool";$' "$T/g.dot" && grep -q '^    "base" -> "web";$' "$T/g.dot"
tap_check "dot has the three edges" [ $? -eq 0 ]
tap_check "dot: exactly three edges" [ "$(grep -c -- '->' "$T/g.dot")" = 3 ]
grep -q "\"other\" \[label=\"other\"\];" "$T/g.dot"; tap_check "dot has the lone node" [ $? -eq 0 ]
if command -v dot >/dev/null; then
    dot -Tsvg "$T/g.dot" > /dev/null; tap_check "graphviz reads it" [ $? -eq 0 ]
fi
tp graph -c "$T/p.ini" --format json > "$T/g.json"; rc=$?
tap_check "json exits 0" [ $rc -eq 0 ]
"${PYTHON3:-python3}" - "$T/g.json" "$bd" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
nodes = {n["name"]: n for n in g["nodes"]}
edges = sorted((e["from"], e["to"]) for e in g["edges"])
assert sorted(nodes) == ["app", "base", "other", "tool", "web"], nodes
assert edges == [("app", "tool"), ("base", "app"), ("base", "web")], edges
assert nodes["base"]["digest"] == sys.argv[2] and nodes["app"]["base"] == "image:base"
assert nodes["other"]["digest"] is None
PY
tap_check "json: nodes with digests, edges" [ $? -eq 0 ]
tp graph -c "$T/p.ini" --format svg 2>/dev/null; rc=$?
tap_check "an unknown format is a usage error" [ $rc -eq 2 ]

# topological order with both queued: the dependent waits for its base
enqueue tool; enqueue app
n0=$(q "select max(id) from runs")
tp run -c "$T/p.ini" 2>"$T/err"; rc=$?
tap_check "run of the queue exits 0 ($rc)" [ $rc -eq 0 ]
tap_check "app ran before tool although tool was queued first" \
    [ "$(q "select group_concat(image, ' ') from (select image from runs where id > $n0 order by id)")" = "app tool" ]
grep -q "a base is being rebuilt first; deferred" "$T/err"
tap_check "tool was deferred meanwhile" [ $? -eq 0 ]

# usage errors
tp run -c "$T/p.ini" nosuch 2>"$T/err"; rc=$?
tap_check "run of an unknown image exits 2" [ $rc -eq 2 ]

# a cycle of bases is refused at load, naming it
image base tool
tp graph -c "$T/p.ini" 2>"$T/err"; rc=$?
tap_check "a cycle: exit 2 ($rc)" [ $rc -eq 2 ]
grep -q "images/base.ini:4: \[image\] base: a cycle of bases: base -> tool -> app -> base" "$T/err"
tap_check "named with file:line ($(head -n 1 "$T/err"))" [ $? -eq 0 ]
tp run -c "$T/p.ini" 2>/dev/null; rc=$?
tap_check "run refuses it too" [ $rc -eq 2 ]
tap_done

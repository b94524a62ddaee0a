#!/bin/sh
# temper review through the real binary.  Review items are opened by the
# engine when a guard blocks (tests/engine/test_engine.c checks that); here
# two items are put in the store with sqlite3, then listed, shown, approved
# (the version is pinned) and rejected, and the audit trail is checked.
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
if ! command -v sqlite3 >/dev/null; then
    echo "Bail out! sqlite3 missing: apt-get install -y sqlite3"
    exit 1
fi
n=0; fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
tmp=$(mktemp -d /tmp/temper-reviewcmd-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/images"
cat > "$tmp/p.ini" <<INI
[core]
store = sqlite:$tmp/state.db
workdir = $tmp/work
cache_dir = $tmp/cache
images = images/*.ini

[pipeline]
stages =
INI
printf '[image]\nname = py\n' > "$tmp/images/py.ini"
rv() { "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" review -c "$tmp/p.ini" "$@"; }
rv list >/dev/null 2>&1; ok $? "an empty queue lists (and creates the store)"
for v in 3.12.1 3.12.2; do
    sqlite3 "$tmp/state.db" "insert into reviews (job_id, image, version, summary, findings, state, created_at) values (0, 'py', '$v', 'guard.heuristic blocked py $v: 1 finding(s)', '[{\"rule\":\"decode-exec\"}]', 1, 1)"
done
out=$(rv list); ok $? "list exits 0"
[ "$(echo "$out" | wc -l)" -eq 2 ]; ok $? "two open items"
echo "$out" | grep -q '^1 .*open .*py .*3.12.1 .*blocked py 3.12.1'; ok $? "one line per item"
rv show 1 | grep -q '"rule":"decode-exec"'; ok $? "show prints the findings"
rv show 99 2>/dev/null; [ $? -eq 2 ]; ok $? "show of an unknown item exits 2"
out=$(rv approve 1 --actor alice --comment "upstream confirmed the change"); ok $? "approve exits 0"
echo "$out" | grep -q '^review 1 approved: py 3.12.1$'; ok $? "and says what was taken"
[ "$(sqlite3 "$tmp/state.db" "select pinned_version from images where name='py'")" = 3.12.1 ]
ok $? "the approved version is pinned on the image"
rv approve 1 2>"$tmp/err"; [ $? -eq 2 ]; ok $? "deciding twice exits 2"
grep -q 'already approved' "$tmp/err"; ok $? "and says it was decided"
rv reject 2 --actor bob --reason "not this release" >/dev/null; ok $? "reject exits 0"
[ "$(sqlite3 "$tmp/state.db" "select pinned_version from images where name='py'")" = 3.12.1 ]
ok $? "a rejected version is not taken"
[ -z "$(rv list)" ]; ok $? "no open item left"
[ "$(rv list --all | wc -l)" -eq 2 ]; ok $? "--all lists decided items"
rv list --all --json | grep -q '"decided_by":"alice"'; ok $? "JSON lines carry who decided"
rv list --all --json | grep -q '"comment":"not this release"'; ok $? "and why (--reason)"
audit=$(sqlite3 "$tmp/state.db" "select actor || ' ' || action || ' ' || object from audit order by id")
echo "$audit" | grep -q '^alice review.approve review:1$' && echo "$audit" | grep -q '^bob review.reject review:2$'
ok $? "the audit log has both decisions ($(echo $audit))"
sqlite3 "$tmp/state.db" "delete from audit" 2>/dev/null; [ $? -ne 0 ]; ok $? "the audit log is append-only"
rv frobnicate 1 2>/dev/null; [ $? -eq 2 ]; ok $? "an unknown verb is a usage error"
echo "1..$n"
exit $fail

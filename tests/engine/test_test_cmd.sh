#!/bin/sh
# temper test through the real binary: the pipeline's suite stages against
# an image in an OCI layout, JUnit/CTRF reports, exit 0 / 3 / 2.
: "${TEMPER_BIN:?}" "${TEMPER_BUILDDIR:?}" "${TEMPER_PLUGINS:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
mods=$TEMPER_BUILDDIR/tests/engine
sample=$TEMPER_BUILDDIR/tests/unit/oci_write_sample
if [ ! -f "$mods/.libs/suite_enginetest.so" ]; then
    echo "1..0 # SKIP no shared test modules (static build)"
    exit 0
fi
n=0; fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
tmp=$(mktemp -d /tmp/temper-testcmd-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/images"
"$sample" "$tmp/layout" 1.0 1700000000 >"$tmp/sample.out"
ok $? "a sample image is written into a layout"
cat > "$tmp/p.ini" <<INI
[core]
store = sqlite:$tmp/state.db
workdir = $tmp/work
cache_dir = $tmp/cache
images = images/*.ini

[pipeline]
stages = suite.smoke

[suite "smoke"]
plugin = enginetest
fail_case = \${FAIL_CASE:-}
INI
printf '[image]\nname = py\n' > "$tmp/images/py.ini"
run() { "$TEMPER_BIN" --plugin-dir "$mods" --plugin-dir "$TEMPER_PLUGINS" test -c "$tmp/p.ini" "$@"; }
out=$(run py --layout "$tmp/layout" 2>"$tmp/err"); rc=$?
ok $rc "passing suite exits 0"
echo "$out" | grep -q '^PASS  enginetest/has-digest$'; ok $? "prints each case"
dir=$(sed -n 's/^temper: reports in \(.*\)\/junit.xml and ctrf.json$/\1/p' "$tmp/err")
[ -f "$dir/junit.xml" ] && [ -f "$dir/ctrf.json" ]; ok $? "writes JUnit and CTRF reports"
out=$(FAIL_CASE=python-prints-42 run py --layout "$tmp/layout" 2>"$tmp/err"); rc=$?
[ $rc -eq 3 ]; ok $? "a failing case exits 3"
echo "$out" | grep -q '^FAIL  enginetest/python-prints-42: made to fail$'; ok $? "and names the case and why"
grep -q 'blocked: a test failed' "$tmp/err"; ok $? "the run says a test failed"
run py --layout "$tmp/layout" --ref nosuch 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ]; ok $? "an unknown ref exits 1"
run nosuch --layout "$tmp/layout" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ]; ok $? "an unknown image exits 2"
run py --layout "$tmp/nolayout" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ]; ok $? "a missing layout exits 1"
# a real suite: [test "NAME"] names its case unless it sets `name`
cat > "$tmp/s.ini" <<INI
[core]
store = sqlite:$tmp/state.db
workdir = $tmp/work
cache_dir = $tmp/cache
images = simages/*.ini

[pipeline]
stages = suite.structure

[suite "structure"]
plugin = structure
INI
mkdir "$tmp/simages"
printf '[image]\nname = s\n\n[test "hello-exists"]\nsuite = structure\npath = /hello.txt\n\n[test "x"]\nsuite = structure\nname = custom name\npath = /nothere\nexists = false\n' > "$tmp/simages/s.ini"
out=$("$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" test -c "$tmp/s.ini" s --layout "$tmp/layout" 2>/dev/null)
echo "$out" | grep -q '^FAIL  structure/hello-exists: /hello.txt does not exist$'
ok $? "a case is named after its [test] section"
echo "$out" | grep -q '^PASS  structure/custom name$'; ok $? "unless it sets name"
echo "1..$n"
exit $fail

#!/bin/sh
# temper track through the real binary: JSON lines, state kept between
# rounds, exit codes.
: "${TEMPER_BIN:?}" "${TEMPER_BUILDDIR:?}" "${TEMPER_PLUGINS:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
mods=$TEMPER_BUILDDIR/tests/track
if [ ! -f "$mods/.libs/tracker_tracktest.so" ]; then
    echo "1..0 # SKIP no shared test modules (static build)"
    exit 0
fi
n=0; fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
tmp=$(mktemp -d /tmp/temper-trackcmd-XXXXXX)
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

[tracker "files"]
plugin = tracktest
source = versions.txt
INI
printf '[image]\nname = py\n\n[upstream]\ntracker = files\nkey = python\n' > "$tmp/images/py.ini"
echo "python 3.11.9" > "$tmp/versions.txt"
run() { "$TEMPER_BIN" --plugin-dir "$mods" --plugin-dir "$TEMPER_PLUGINS" track -c "$tmp/p.ini" "$@"; }
out=$(run --json 2>"$tmp/err"); rc=$?
ok $rc "first round exits 0"
echo "$out" | grep -q '"image":"py".*"new_version":"3.11.9".*"jobs":\[{"image":"py","job":1,"merged":false}\]'
ok $? "first round prints the change as a JSON line with its job"
out=$(run --json 2>"$tmp/err"); rc=$?
ok $rc "second round exits 0"
[ -z "$out" ]; ok $? "second round with nothing changed prints nothing"
echo "python 3.11.10" > "$tmp/versions.txt"
out=$(run 2>"$tmp/err")
echo "$out" | grep -q '^tracker.files py 3.11.9 -> 3.11.10 (1 image)$'
ok $? "text output names tracker, image and versions"
grep -q '1 tracker polled, 0 failed, 1 change, 0 new jobs, 1 merged' "$tmp/err"
ok $? "summary on stderr"
echo "fail = yes" >> "$tmp/p.ini"
run >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ]; ok $? "a failing tracker makes exit 1"
grep -q 'tracker tracker.files: asked to fail' "$tmp/err"; ok $? "and says which"
echo "bogus = 1" >> "$tmp/p.ini"
run >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ]; ok $? "a config error makes exit 2"
grep -q 'p.ini:[0-9]*: .* bogus: unknown key' "$tmp/err"; ok $? "and names file and line"
echo "1..$n"
exit $fail

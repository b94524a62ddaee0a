#!/bin/sh
# temper build through the real binary with the engine test builder: the
# digest on stdout, the packages recorded in the store, exit codes.
: "${TEMPER_BIN:?}" "${TEMPER_BUILDDIR:?}" "${TEMPER_PLUGINS:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
mods=$TEMPER_BUILDDIR/tests/engine
if [ ! -f "$mods/.libs/builder_enginetest.so" ]; then
    echo "1..0 # SKIP no shared test modules (static build)"
    exit 0
fi
if ! command -v sqlite3 >/dev/null; then
    echo "Bail out! sqlite3 missing: apt-get install -y sqlite3"
    exit 1
fi
n=0; fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
tmp=$(mktemp -d /tmp/temper-buildcmd-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/images"
cat > "$tmp/p.ini" <<INI
[core]
store = sqlite:$tmp/state.db
workdir = $tmp/work
cache_dir = $tmp/cache
images = images/*.ini

[pipeline]
stages = builder.deb

[builder "deb"]
plugin = enginetest
fail = \${BUILD_FAIL:-no}
INI
printf '[image]\nname = py\ndistribution = debian:bookworm\n' > "$tmp/images/py.ini"
run() { "$TEMPER_BIN" --plugin-dir "$mods" --plugin-dir "$TEMPER_PLUGINS" build -c "$tmp/p.ini" "$@"; }
out=$(SOURCE_DATE_EPOCH=1700000000 run py -o "$tmp/out" 2>"$tmp/err"); rc=$?
ok $rc "build exits 0"
echo "$out" | grep -qE '^sha256:[0-9a-f]{64}$'; ok $? "prints the digest"
again=$(SOURCE_DATE_EPOCH=1700000000 run py -o "$tmp/out2" 2>/dev/null)
[ "$out" = "$again" ]; ok $? "same inputs, same digest"
[ -d "$tmp/out" ]; ok $? "creates the output directory"
pk=$(sqlite3 "$tmp/state.db" "select group_concat(name, ' ') from (select name from build_packages order by name)")
[ "$pk" = "libc6 tzdata" ]; ok $? "packages of the build recorded in the store ($pk)"
run nosuch -o "$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ]; ok $? "unknown image exits 2"
grep -q "no image named 'nosuch'" "$tmp/err"; ok $? "and says so"
BUILD_FAIL=yes run py -o "$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ]; ok $? "a failing builder exits 1"
grep -q "stage builder.deb: asked to fail" "$tmp/err"; ok $? "and names the stage"
run py 2>/dev/null; rc=$?
[ $rc -eq 2 ]; ok $? "missing -o is a usage error"
echo "1..$n"
exit $fail

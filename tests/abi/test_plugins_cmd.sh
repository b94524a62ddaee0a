#!/bin/sh
# temper plugins / describe through the real binary, against the test modules.
: "${TEMPER_BIN:?}" "${TEMPER_BUILDDIR:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
dir=$TEMPER_BUILDDIR/tests/abi
if [ ! -f "$dir/.libs/suite_good.so" ]; then
    echo "1..0 # SKIP no shared test modules (static build)"
    exit 0
fi
n=0; fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
out=$("$TEMPER_BIN" plugins --plugin-dir "$dir" 2>err.$$); rc=$?
ok $rc "plugins exits 0"
echo "$out" | grep -q '^suite  *good  *1.0  *loader test module$'; ok $? "good module listed"
grep -q 'refused suite_badmajor: plugin .*major version differs' err.$$; ok $? "bad major refused on stderr"
[ "$(grep -c '^temper: refused' err.$$)" -eq 9 ]; ok $? "nine refusals, one line each"
json=$("$TEMPER_BIN" plugins --json --plugin-dir "$dir" 2>/dev/null)
echo "$json" | grep -q '"module": *"suite_good"'; ok $? "json lists the module"
echo "$json" | grep -q '"refused"'; ok $? "json lists refusals"
d=$("$TEMPER_BIN" --plugin-dir "$dir" describe suite_good); ok $? "describe exits 0"
echo "$d" | grep -q '^  count (int, 0..10) default: 1$'; ok $? "describe shows type, range, default"
echo "$d" | grep -q 'a count'; ok $? "describe shows the doc"
"$TEMPER_BIN" --plugin-dir "$dir" describe suite_nothere 2>err.$$; rc=$?
[ $rc -eq 2 ]; ok $? "describe of a missing plugin exits 2"
grep -q "no plugin 'suite_nothere'" err.$$; ok $? "and says which"
"$TEMPER_BIN" --plugin-dir "$dir" describe suite_badmajor 2>err.$$; rc=$?
[ $rc -eq 1 ]; ok $? "describe of a refused plugin exits 1"
rm -f err.$$
echo "1..$n"
exit $fail

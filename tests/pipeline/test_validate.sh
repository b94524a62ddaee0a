#!/bin/sh
# temper validate end to end: a valid pipeline, a file with seven different
# mistakes, secrets, refused plugins, ${ENV}, the chain and hostile input.
. "${TEMPER_SRCDIR:?}/tests/pipeline/lib.sh"
need_modules

validate "$FIX" good.ini
ok $rc "a valid pipeline exits 0"
grep -q '^good.ini: ok: store conftest, chain \[guard.check builder.main suite.smoke\], 1 tracker, 2 images, 0 warnings$' "$TMP/out"
ok $? "and prints a one-line summary on stdout"
[ ! -s "$TMP/err" ]; ok $? "and nothing on stderr"
never_called; ok $? "and runs no plugin code"

validate "$FIX" mistakes.ini
[ $rc -eq 2 ]; ok $? "seven mistakes: exit 2"
diff -u "$FIX/mistakes.err" "$TMP/err" | sed 's/^/# /'
cmp -s "$FIX/mistakes.err" "$TMP/err"
ok $? "every mistake reported at its line, sorted (unknown, missing, type, range, enum, duplicate, bool)"
[ ! -s "$TMP/out" ]; ok $? "nothing on stdout"

CONFTEST_SECRET=s3cr3t-from-env-1234 validate "$FIX" secret.ini
[ $rc -eq 2 ]; ok $? "bad secret values: exit 2"
has '^secret.ini:10: \[guard "s"\] token: the value \(secret, not shown\) is not an integer$'
ok $? "the error names the key and the line"
has '^secret.ini:15: \[guard "t"\] token: the value \(secret, not shown\)'
ok $? "also for a secret that came from the environment"
! grep -q -e hunter2 -e s3cr3t "$TMP/err" "$TMP/out"; ok $? "the secret values never appear"

validate "$FIX" refused.ini
[ $rc -eq 2 ]; ok $? "refused plugins: exit 2"
has '^refused.ini:8: \[suite "bad"\] plugin: plugin .*suite_conftestbad.la: built for plugin ABI 2\.0.*major version differs\)$'
ok $? "a refused plugin is reported at its plugin = line with the loader's reason"
has "^refused.ini:12: \[suite \"gone\"\] plugin: no plugin 'suite_nosuch' in "
ok $? "a missing plugin too"
! has 'whatever'; ok $? "keys of a refused plugin are not guessed at"
[ "$(wc -l <"$TMP/err")" -eq 2 ]; ok $? "two problems, two lines"

CONFTEST_COUNT=5 CONFTEST_UNSET_FOR_SURE=x CONFTEST_DIR=$TMP validate "$FIX" env.ini
ok $rc "\${VAR}, \${VAR:-default} and \$\$ expand"
CONFTEST_COUNT=50 CONFTEST_UNSET_FOR_SURE=x validate "$FIX" env.ini
has '^env.ini:10: \[guard "e"\] count: .50. is out of range 1\.\.10$'
ok $? "an expanded value is validated like a written one"
CONFTEST_COUNT=5 validate "$FIX" env.ini
[ $rc -eq 2 ]; ok $? "an unset variable: exit 2"
has '^env.ini:12: \[guard "e"\] label: environment variable CONFTEST_UNSET_FOR_SURE is not set'
ok $? "and the error names the variable and the line"

validate "$FIX" chain.ini
[ $rc -eq 2 ]; ok $? "chain mistakes: exit 2"
has '^chain.ini:3: \[core\] store: \[store "second"\] configures the store too'
ok $? "[core] store and a [store] section conflict"
has "^chain.ini:10: .*'tracker.gh': a tracker is not a stage of the chain"; ok $? "a tracker in stages"
has "^chain.ini:10: .*'guard.nothere' names no \[guard \"nothere\"\] section"; ok $? "an unknown stage"
has "^chain.ini:10: .*'guard.a' is listed twice"; ok $? "a stage listed twice"
has "^chain.ini:10: .*'nokind' is not KIND.NAME"; ok $? "a stage without a kind"
has "^chain.ini:15: \[tracker \"gh\"\] after: only stages listed"; ok $? "after outside the chain"
has "^chain.ini:20: \[guard \"a\"\] after: 'builder.b' must come before 'guard.a'"; ok $? "after out of order"
has "^chain.ini:24: \[builder \"b\"\] enabled: 'maybe' is not a boolean"; ok $? "enabled must be a boolean"
has '^chain.ini:26: warning: \[guard "unused"\] is not listed'; ok $? "an unlisted stage is a warning"
has '^chain.ini:30: \[signer\] needs an instance name'; ok $? "a kind section needs a name"
has '^chain.ini:33: unknown section \[frobnicate "x"\]'; ok $? "an unknown section"
has '^chain.ini:36: \[image\] belongs in an image definition file'; ok $? "an image section in a pipeline"

printf '[core]\nstore = conftest\n' >"$TMP/badstore.ini"
validate "$TMP" badstore.ini
has '^badstore.ini:2: \[core\] store: expected PLUGIN:LOCATION'; ok $? "store shorthand needs PLUGIN:LOCATION"

# [core] plugin_dir instead of --plugin-dir; the global --plugin-dir form
cat >"$TMP/pdir.ini" <<INI
[core]
store = conftest:x.db
plugin_dir = $MODS
[pipeline]
stages = guard.g
[guard "g"]
plugin = conftest
target = t
INI
(cd "$TMP" && "$TEMPER_BIN" validate -c pdir.ini) >"$TMP/out" 2>"$TMP/err"
ok $? "[core] plugin_dir adds to the plugin search path"
(cd "$FIX" && "$TEMPER_BIN" --plugin-dir "$MODS" validate -c good.ini) >"$TMP/out" 2>"$TMP/err"
ok $? "temper --plugin-dir DIR validate works too"
(cd "$FIX" && "$TEMPER_BIN" validate -c good.ini) >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "^good.ini:16: \[guard \"check\"\] plugin: no plugin 'guard_conftest'" "$TMP/err"
ok $? "without a plugin directory the plugins are not found"

{ echo '[core]'; echo 'store = conftest:x.db'; i=0; while [ $i -lt 40 ]; do echo "plugin_dir = d$i"; i=$((i + 1)); done; } >"$TMP/dirs.ini"
validate "$TMP" dirs.ini
[ $rc -eq 2 ] && has '^dirs.ini:1: \[core\] plugin_dir: too many plugin directories'
ok $? "too many plugin directories: an error, not a crash"

# usage
"$TEMPER_BIN" validate >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "no -c: exit 2"
validate "$TMP" no-such-file.ini
[ $rc -eq 2 ] && has '^no-such-file.ini: cannot open: No such file or directory$'
ok $? "a missing file: exit 2 and one line"

# hostile input: each gives a FILE:LINE message and exit 2, never a crash
printf '[core]\nstore = conftest:x.db\nbuilder_id = a\000b\n' >"$TMP/nul.ini"
validate "$TMP" nul.ini
[ $rc -eq 2 ] && has '^nul.ini:3: NUL byte'; ok $? "NUL byte"
head -c 3000 /dev/zero | tr '\000' '\377' >"$TMP/junk.ini"
validate "$TMP" junk.ini
[ $rc -eq 2 ] && has '^junk.ini:1: invalid UTF-8 at column 1$'; ok $? "binary junk"
printf '[core]\nbuilder_id = \001\002\n' >"$TMP/ctl.ini"
validate "$TMP" ctl.ini
[ $rc -eq 2 ] && has '^ctl.ini:2: control character 0x01 at column 14$'; ok $? "control characters"
{ printf '[core]\nbuilder_id = '; head -c 9000 /dev/zero | tr '\000' a; printf '\n'; } >"$TMP/long.ini"
validate "$TMP" long.ini
[ $rc -eq 2 ] && has '^long.ini:2: line is longer than 8192 bytes$'; ok $? "an overlong line"
{ echo '[core]'; i=0; while [ $i -lt 50000 ]; do echo "; padding padding padding"; i=$((i + 1)); done; } >"$TMP/big.ini"
validate "$TMP" big.ini
[ $rc -eq 2 ] && has '^big.ini: larger than 1048576 bytes$'; ok $? "an oversized file"
{ i=0; while [ $i -lt 30 ]; do echo "garbage line $i"; i=$((i + 1)); done; } >"$TMP/many.ini"
validate "$TMP" many.ini
[ $rc -eq 2 ] && has '^many.ini:20: too many problems in this file' &&
    [ "$(grep -c "^many.ini:[0-9]*: expected '=' after 'garbage'$" "$TMP/err")" -eq 20 ]
ok $? "a file full of garbage stops after 20 problems"
validate "$TMP" .
[ $rc -eq 2 ] && has '^\.: not a regular file$'; ok $? "a directory"
never_called; ok $? "no plugin code ran in any of these"

done_testing

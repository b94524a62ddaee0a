#!/bin/sh
# conf/examples and conf/temper.ini validate.  The examples name the SQLite
# store; where store_sqlite is not built, that one run is skipped and the
# examples are checked with the test store in its place instead.
. "${TEMPER_SRCDIR:?}/tests/pipeline/lib.sh"
need_modules
EX=$TEMPER_SRCDIR/conf/examples

mkdir "$TMP/conf"
cp -R "$EX" "$TEMPER_SRCDIR/conf/images" "$TMP/conf/"
chmod -R u+w "$TMP/conf"
sed 's/^store *= *sqlite:/store = conftest:/' "$EX/pipeline.ini" >"$TMP/conf/examples/pipeline.ini"
grep -q '^store = conftest:' "$TMP/conf/examples/pipeline.ini"; ok $? "the example names a store to swap"
validate "$TMP/conf/examples" pipeline.ini
ok $rc "conf/examples (with the test store) validates"
grep -Eq '^pipeline.ini: ok: .*, [1-9][0-9]* images, 0 warnings$' "$TMP/out"
ok $? "with its images and no warning"

printf 'include = %s\n[core]\nstore = conftest:x.db\n' "$TEMPER_SRCDIR/conf/temper.ini" >"$TMP/defaults.ini"
validate "$TMP" defaults.ini
ok $rc "conf/temper.ini (store swapped by an override) validates"

if (cd "$TMP" && "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" describe store_sqlite) >/dev/null 2>&1; then
    (cd "$EX" && "$TEMPER_BIN" validate --plugin-dir "$TEMPER_PLUGINS" -c pipeline.ini) \
        >"$TMP/out" 2>"$TMP/err"
    ok $? "conf/examples validates as shipped, with the tree's plugins"
    sed 's/^/# /' "$TMP/err"
    (cd "$TMP" && "$TEMPER_BIN" validate --plugin-dir "$TEMPER_PLUGINS" \
        -c "$TEMPER_SRCDIR/conf/temper.ini") >"$TMP/out" 2>"$TMP/err"
    ok $? "conf/temper.ini validates as shipped"
    sed 's/^/# /' "$TMP/err"
else
    skip "store_sqlite is not in this build: conf/examples as shipped"
    skip "store_sqlite is not in this build: conf/temper.ini as shipped"
fi
done_testing

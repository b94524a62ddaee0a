# Shared helpers of the tests/pipeline TAP scripts (sourced, not run).
: "${TEMPER_BIN:?}" "${TEMPER_BUILDDIR:?}" "${TEMPER_SRCDIR:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
FIX=$TEMPER_SRCDIR/tests/pipeline/fixtures
MODS=$TEMPER_BUILDDIR/tests/pipeline
TMP=$(mktemp -d "${TMPDIR:-/tmp}/temper-pipeline.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
n=0
fail=0

need_modules() {
    if [ ! -f "$MODS/.libs/guard_conftest.so" ]; then
        echo "1..0 # SKIP no shared test modules (static build)"
        exit 0
    fi
}

ok() { # STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" = 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        fail=1
    fi
}

skip() { # REASON
    n=$((n + 1))
    echo "ok $n # SKIP $1"
}

# validate DIR FILE [ARGS...]: run `temper validate` in DIR on FILE with the
# test modules; stdout in $TMP/out, stderr in $TMP/err, exit status in $rc.
validate() {
    dir=$1
    file=$2
    shift 2
    (cd "$dir" && exec "$TEMPER_BIN" validate --plugin-dir "$MODS" -c "$file" "$@") \
        >"$TMP/out" 2>"$TMP/err"
    rc=$?
    sed 's/^/# /' "$TMP/err"
}

# has PATTERN: stderr of the last run has a line matching the ERE.
has() {
    grep -Eq -- "$1" "$TMP/err"
}

# never_called: no plugin code ran (the test modules' open() reports itself).
never_called() {
    ! grep -q 'open() called' "$TMP/err" "$TMP/out"
}

done_testing() {
    echo "1..$n"
    exit $fail
}

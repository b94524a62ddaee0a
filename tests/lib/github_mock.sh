# temper — start tests/lib/github_mock.py from a shell test (TAP, tap.sh).
#
#   . "$TEMPER_SRCDIR/tests/lib/tap.sh"
#   . "$TEMPER_SRCDIR/tests/lib/github_mock.sh"
#   gm_setup NAME          # $TMP (removed on exit), the mock on $base; skips
#                          # the whole script when the sqlite store or the
#                          # mock is missing
#   gm_scenario JSON       # POST /_mock/scenario
#   gm_reset               # POST /_mock/reset
#   gm_track               # temper track --json -c $TMP/pipeline.ini:
#                          # stdout in $TMP/out, stderr in $TMP/err, $rc
: "${TEMPER_BIN:?}" "${TEMPER_SRCDIR:?}" "${TEMPER_DATA:?}" "${TEMPER_PLUGINS:?}"
PYTHON3=${PYTHON3:-python3}
export TEMPER_NO_INSTALLED_PLUGINS=1
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY NO_PROXY
export no_proxy=127.0.0.1,localhost
gm_pid=

gm_cleanup() {
    if [ -n "$gm_pid" ]; then
        kill "$gm_pid" 2>/dev/null || true
        wait "$gm_pid" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}

gm_setup() {
    "$TEMPER_BIN" plugins --plugin-dir "$TEMPER_PLUGINS" 2>/dev/null |
        grep -q '^store  *sqlite' || tap_skip_all "the sqlite store is not built"
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/temper-$1.XXXXXX") || exit 1
    trap gm_cleanup EXIT
    mkfifo "$TMP/port"
    "$PYTHON3" "$TEMPER_SRCDIR/tests/lib/github_mock.py" --data "$TEMPER_DATA/samples/github" \
        > "$TMP/port" &
    gm_pid=$!
    read -r word port < "$TMP/port"
    [ "$word" = PORT ] || tap_skip_all "the GitHub mock did not start"
    base=http://127.0.0.1:$port
    mkdir "$TMP/images"
}

gm_scenario() {
    curl -s --noproxy '*' -X POST --data "$1" "$base/_mock/scenario" > /dev/null
}

gm_reset() {
    curl -s --noproxy '*' -X POST "$base/_mock/reset" > /dev/null
}

gm_track() {
    (cd "$TMP" && exec "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" track -c pipeline.ini \
        --json) > "$TMP/out" 2> "$TMP/err"
    rc=$?
    sed 's/^/# /' "$TMP/err"
}

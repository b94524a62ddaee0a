# temper — for shell tests: a loopback Alpine repository serving the real
# alpine-baselayout .apk (tests/plugins/apk_repo.py).
#
#   . "$TEMPER_SRCDIR/tests/lib/apk_repo.sh"
#   apk_repo_start "$tmp"    # sets key, port and srv (kill "$srv" on EXIT)
#
# It writes $tmp/s (the repository), $tmp/canary (must stay empty: nothing
# is written outside an image root), $tmp/facts and $tmp/port.  When it
# cannot, it prints "Bail out! ..." and exits 1.
apk_repo_start() {
    apk_script=$TEMPER_SRCDIR/tests/plugins/apk_repo.py
    mkdir "$1/canary"
    "${PYTHON3:-python3}" "$apk_script" scenario "$1/s" \
        --samples "$TEMPER_DATA/samples/alpine" --canary "$1/canary" >"$1/facts" ||
        { echo "Bail out! scenario failed"; exit 1; }
    key=$(awk '$1 == "key" { print $2 }' "$1/facts")
    apk_repo_serve "$1/s/repo" "$1/port"
    srv=$apk_srv
    port=$apk_port
}

# apk_repo_serve DIR PORTFILE: serve DIR on a free loopback port; sets
# apk_srv (kill it on EXIT) and apk_port.
apk_repo_serve() {
    "${PYTHON3:-python3}" "$TEMPER_SRCDIR/tests/plugins/apk_repo.py" serve "$1" >"$2" &
    apk_srv=$!
    apk_i=0
    while ! grep -q PORT "$2" 2>/dev/null && [ $apk_i -lt 100 ]; do
        sleep 0.1
        apk_i=$((apk_i + 1))
    done
    apk_port=$(awk '/PORT/ { print $2 }' "$2")
    [ -n "$apk_port" ] || { echo "Bail out! the repository server did not start"; exit 1; }
}

# temper — TAP helpers for shell tests (automake's tap-driver reads the output).
#
#   . "$TEMPER_SRCDIR/tests/lib/tap.sh"
#   tap_check "name" command args...    # ok when the command exits 0
#   tap_ok "name" / tap_not_ok "name"   # record a result decided elsewhere
#   tap_skip "name" "reason"            # one skipped test
#   tap_skip_all "reason"               # the whole script (1..0 # SKIP), exits
#   tap_diag "text"...                  # "# " comment lines
#   tap_done                            # prints the plan; exit with its status
tap_n=0
tap_failed=0

tap_ok() {
    tap_n=$((tap_n + 1))
    echo "ok $tap_n - $*"
}

tap_not_ok() {
    tap_n=$((tap_n + 1))
    tap_failed=$((tap_failed + 1))
    echo "not ok $tap_n - $*"
}

tap_check() {
    tap_name=$1
    shift
    if "$@"; then
        tap_ok "$tap_name"
    else
        tap_not_ok "$tap_name"
    fi
}

tap_skip() {
    tap_n=$((tap_n + 1))
    echo "ok $tap_n - $1 # SKIP $2"
}

tap_skip_all() {
    echo "1..0 # SKIP $*"
    exit 0
}

tap_diag() {
    printf '%s\n' "$@" | sed 's/^/# /'
}

tap_done() {
    echo "1..$tap_n"
    [ "$tap_failed" -eq 0 ]
}

#!/bin/sh
# Rate limits shared per host by every tracker of one `temper track` process
# (#3): a releases tracker and a tags tracker on one github_mock.
#  A. budget 2, reset in an hour: exactly 2 requests reach the host, no 403
#     is ever served (the second tracker learns the spent budget from the
#     first one's replies), the rest fail at once: "rate limited until".
#  B. budget 2, reset in 6 s, max_wait 20 s: both trackers wait for the
#     reset, then the rest goes; still no 403, all 4 changes.
#  C. budget 1: a round of conditional requests (all 304) costs nothing:
#     all 4 are sent, the mock's budget is still 1, nothing is reported.
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
. "$TEMPER_SRCDIR/tests/lib/github_mock.sh"
gm_setup gh-shared

stats() { # PYTHON-EXPRESSION over s = the mock's /_mock/stats
    curl -s --noproxy '*' "$base/_mock/stats" |
        "$PYTHON3" -c "import json, sys; s = json.load(sys.stdin); print($1)"
}
gm_scenario '{"generate": {"count": 4, "releases": 3, "tags": 3}}'

config() { # MAX_WAIT DB
    cat > "$TMP/pipeline.ini" <<INI
[core]
store   = sqlite:$TMP/$2
workdir = $TMP/work
images  = images/*.ini

[tracker "rel"]
plugin      = github_releases
api_url     = $base
concurrency = 2
max_wait    = $1
retries     = 0

[tracker "tags"]
plugin      = github_tags
api_url     = $base
concurrency = 2
max_wait    = $1
retries     = 0
INI
}
for i in 0 1 2 3; do
    tr=rel
    [ $i -ge 2 ] && tr=tags
    cat > "$TMP/images/img$i.ini" <<INI
[image]
name         = img$i
distribution = debian:bookworm
packages     = python3

[upstream]
tracker = $tr
repo    = gen/repo-000$i
INI
done


# A: the budget is spent by the first replies; the reset is an hour away.
config 60s a.db
gm_scenario '{"rate": {"remaining": 2, "reset_in": 3600}}'
gm_reset
gm_track
tap_diag "exit status $rc (0 when each tracker got one watch through)"
tap_check "A: exactly 2 requests reached the host" [ "$(stats 's["count"]')" = 2 ]
tap_check "A: no request was answered 403" \
    [ "$(stats 'sum(1 for r in s["requests"] if r["status"] == 403)')" = 0 ]
tap_check "A: 2 changes reported" [ "$(wc -l < "$TMP/out")" -eq 2 ]
tap_check "A: the others were not sent: rate limited until HH:MM:SS UTC" \
    grep -Eq 'not sent: rate limited until ([0-9]{4}-[0-9]{2}-[0-9]{2} )?[0-9]{2}:[0-9]{2}:[0-9]{2} UTC \(http://127.0.0.1:[0-9]+: rate limit exhausted\)' "$TMP/err"
tap_check "A: 2 watches were stopped without a request" \
    [ "$(grep -c 'error \[tracker:.*not sent: rate limited until' "$TMP/err")" = 2 ]

# B: the reset is 6 s away and max_wait 20 s: everyone waits for it.
config 20s b.db
gm_scenario '{"rate": {"remaining": 2, "reset_in": 6}}'
reset=$(curl -s --noproxy '*' "$base/rate_limit" |
    "$PYTHON3" -c 'import json, sys; print(json.load(sys.stdin)["rate"]["reset"])')
gm_reset
t0=$(date +%s)
gm_track
t1=$(date +%s)
tap_check "B: the round succeeds" [ "$rc" = 0 ]
tap_check "B: 4 changes" [ "$(wc -l < "$TMP/out")" -eq 4 ]
tap_check "B: 4 requests, none answered 403" \
    [ "$(stats 's["count"], sum(1 for r in s["requests"] if r["status"] == 403)')" = "4 0" ]
tap_check "B: the round waited for the reset" [ $((t1 - t0)) -ge 2 ]
tap_check "B: the last 2 requests came after the reset ($reset), the first 2 before" \
    [ "$(stats "[int(t >= $reset) for t in sorted(r['t'] for r in s['requests'])]")" = "[0, 0, 1, 1]" ]

# C: a round of 304s costs nothing.
gm_scenario '{"rate": {"remaining": 1, "reset_in": 3600}}'
gm_reset
gm_track
tap_check "C: the round succeeds" [ "$rc" = 0 ]
tap_check "C: nothing reported" [ ! -s "$TMP/out" ]
tap_check "C: 4 conditional requests, all 304, budget still 1" \
    [ "$(stats 's["count"], s["not_modified"], s["remaining"]')" = "4 4 1" ]
tap_done

#!/bin/sh
# publish_registry through a fault-injecting proxy in front of a real
# docker-registry: a 500 on one blob (retried), a 500 on every blob (clear
# failure), a connection cut in the middle of a chunked upload (resumed from
# the registry's offset), a registry that stalls (stall timeout, clear
# failure) and a 401 on a stale token (new token, retried).  Every push
# either completes -- then skopeo copies the tagged image back whole with
# temper's digest -- or fails with one clear line and leaves no tag.
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
. "$TEMPER_SRCDIR/tests/plugins/registry_lib.sh"
reg_init
d=$reg_dir
T=--tls-verify=false
reg_start plain "" || { tap_not_ok "docker-registry starts"; tap_done; exit 1; }
up=$reg_port
host=127.0.0.1:$up
small=$("$PY" "$reg_fixture" mkimage "$d/small" --layers 2 --size 20000 --seed 5)
big=$("$PY" "$reg_fixture" mkimage "$d/big" --layers 1 --size 400000 --seed 6)

# complete REPO:TAG DIGEST: skopeo copies the tag back whole with that digest.
complete() {
    test "$(reg_skopeo_copy_digest "$host/$1" "$d/copy" --src-tls-verify=false)" = "$2"
}

reg_proxy "$up" p500 put500 || { tap_not_ok "proxy starts"; tap_done; exit 1; }
"$reg_tool" push "$d/small" "repository=127.0.0.1:$proxy_port/flt/p500" plain_http=true \
    -t v1 >"$d/out1" 2>"$d/log1"
tap_check "a 500 on one blob: the push completes after a retry" test $? -eq 0
tap_check "... the fault was injected" test "$(reg_stat "$proxy_stats" faults)" -eq 1
tap_check "... the retry is logged" grep -q "retrying PUT" "$d/log1"
tap_check "... and the tag names the complete image" complete flt/p500:v1 "$small"

reg_proxy "$up" p500all put500all || { tap_not_ok "proxy starts"; tap_done; exit 1; }
"$reg_tool" push "$d/small" "repository=127.0.0.1:$proxy_port/flt/p500all" plain_http=true \
    retries=1 -t v1 >"$d/out2" 2>"$d/log2"
tap_check "a 500 on every blob: the push fails" test $? -ne 0
tap_check "... with one line naming the upload URL and the registry's error" \
    grep -q "push failed: PUT http://127.0.0.1:$proxy_port/v2/flt/p500all/blobs/uploads/.*HTTP 500.*injected fault" "$d/log2"
tap_check "... and no tag" sh -c "! reg_tag_exists() { :; }; ! skopeo inspect --raw $T \
    docker://$host/flt/p500all:v1 >/dev/null 2>&1"

reg_proxy "$up" drop droppatch || { tap_not_ok "proxy starts"; tap_done; exit 1; }
"$reg_tool" push "$d/big" "repository=127.0.0.1:$proxy_port/flt/drop" plain_http=true \
    chunk_size=64K monolithic_max=64K -t v1 >"$d/out3" 2>"$d/log3"
tap_check "a connection dropped in a chunked upload: the push completes" test $? -eq 0
tap_check "... the drop happened" test "$(reg_stat "$proxy_stats" faults)" -eq 1
tap_check "... the upload was resumed where the registry stood" \
    grep -q "resuming the upload of sha256:[0-9a-f]* at byte 65536" "$d/log3"
tap_check "... and the tag names the complete image" complete flt/drop:v1 "$big"

reg_proxy "$up" cut cutpatch || { tap_not_ok "proxy starts"; tap_done; exit 1; }
"$reg_tool" push "$d/big" "repository=127.0.0.1:$proxy_port/flt/cut" plain_http=true \
    chunk_size=64K monolithic_max=64K -t v1 >"$d/out6" 2>"$d/log6"
tap_check "a connection cut in the middle of a PATCH: the push completes" test $? -eq 0
tap_check "... the cut happened" test "$(reg_stat "$proxy_stats" faults)" -eq 1
tap_check "... the registry refused to resume, the upload started again" \
    grep -q "starting the upload of sha256:[0-9a-f]* again" "$d/log6"
tap_check "... and the tag names the complete image" complete flt/cut:v1 "$big"

reg_proxy "$up" stall stall || { tap_not_ok "proxy starts"; tap_done; exit 1; }
t0=$(date +%s)
"$reg_tool" push "$d/small" "repository=127.0.0.1:$proxy_port/flt/stall" plain_http=true \
    stall_timeout=2s retries=0 -t v1 >"$d/out4" 2>"$d/log4"
rc=$?
t1=$(date +%s)
tap_check "a stalling registry: the push fails" test $rc -ne 0
tap_check "... within the stall limits ($((t1 - t0)) s)" test $((t1 - t0)) -lt 40
tap_check "... with one line naming the URL and the stall" \
    grep -qi "push failed: PUT http://127.0.0.1:$proxy_port/v2/flt/stall/.*\(slow\|stall\|timed out\|timeout\)" "$d/log4"
tap_check "... and no tag" sh -c "! skopeo inspect --raw $T docker://$host/flt/stall:v1 \
    >/dev/null 2>&1"

PASS="fault-Pa55"
reg_start_token tok carol "$PASS" || { tap_not_ok "token registry starts"; tap_done; exit 1; }
tup=$reg_port
printf 'carol:%s\n' "$PASS" >"$d/creds"
chal="Bearer realm=\"http://127.0.0.1:$tport/token\",service=\"temper-registry\",scope=\"repository:flt/stale:pull,push\",error=\"invalid_token\""
reg_proxy "$tup" stale stale401 "$chal" || { tap_not_ok "proxy starts"; tap_done; exit 1; }
"$reg_tool" push "$d/small" "repository=127.0.0.1:$proxy_port/flt/stale" plain_http=true \
    "credentials_file=$d/creds" -t v1 >"$d/out5" 2>"$d/log5"
tap_check "a 401 on a stale token: the push completes" test $? -eq 0
tap_check "... the 401 was sent" test "$(reg_stat "$proxy_stats" faults)" -eq 1
tap_check "... a new token was fetched" grep -q "token refused, fetching a new one" "$d/log5"
tap_check "... and the tag names the complete image" \
    test "$(reg_skopeo_copy_digest "127.0.0.1:$tup/flt/stale:v1" "$d/copy" \
            --src-tls-verify=false --src-creds "carol:$PASS")" = "$small"
tap_diag "errors as reported:" "$(grep -h 'push failed' "$d/log2" "$d/log4")"
[ "$tap_failed" -eq 0 ] || tap_diag "$(tail -n 20 "$d"/log*)"
tap_done

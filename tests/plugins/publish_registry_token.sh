#!/bin/sh
# publish_registry against a real docker-registry with token auth: a
# loopback issuer (registry_fixture.py token) signs RS256 JWTs with a key
# whose certtool-made certificate the registry trusts.  The push answers the
# Bearer challenge, gets tokens per scope, and skopeo (doing the same flow
# itself) reads the image back with temper's digest; wrong credentials fail
# at the token endpoint with a clear line and no tag.
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
. "$TEMPER_SRCDIR/tests/plugins/registry_lib.sh"
reg_init
d=$reg_dir
PASS="t0ken-Pa55word"
reg_start_token token bob "$PASS" || { tap_not_ok "token issuer and registry start"; tap_done; exit 1; }
host=127.0.0.1:$reg_port
S="--tls-verify=false --creds bob:$PASS"

digest=$("$PY" "$reg_fixture" mkimage "$d/img" --layers 2 --size 5000 --seed 4)
printf 'bob:%s\n' "$PASS" >"$d/creds"
printf 'bob:nope-nope\n' >"$d/badcreds"
printf '{"critical":{}}' >"$d/payload"

"$reg_tool" push "$d/img" "repository=$host/tok/img" plain_http=true \
    "credentials_file=$d/creds" -s "$d/payload" -t v1 -t v1.0 >"$d/out1" 2>"$d/log1"
tap_check "push with bearer tokens succeeds" test $? -eq 0
tap_check "temper printed the layout's digest" test "$(reg_out_digest "$d/out1" image)" = "$digest"
tap_check "skopeo inspect (token flow) sees that digest" \
    test "$(reg_skopeo_digest "$host/tok/img:v1" $S)" = "$digest"
tap_check "skopeo copy reads the image back with that digest" \
    test "$(reg_skopeo_copy_digest "$host/tok/img:v1.0" "$d/copy" --src-tls-verify=false \
            --src-creds "bob:$PASS")" = "$digest"
tap_check "the .sig tag is there" \
    reg_tag_exists "$host/tok/img:sha256-${digest#sha256:}.sig" $S
tap_check "no token or password in the log" \
    sh -c "! grep -q -e '$PASS' -e 'eyJ' '$d/log1'"

"$reg_tool" push "$d/img" "repository=$host/tok/img" plain_http=true \
    "credentials_file=$d/creds" -t v2 >"$d/out2" 2>"$d/log2"
tap_check "a second push succeeds and uploads no blob" grep -q '^uploaded 0 0$' "$d/out2"

"$reg_tool" push "$d/img" "repository=$host/tok/bad" plain_http=true \
    "credentials_file=$d/badcreds" -t v1 >/dev/null 2>"$d/log3"
tap_check "wrong credentials fail" test $? -ne 0
tap_check "... naming the token endpoint and the 401" \
    grep -q "GET http://127.0.0.1:$tport/token?.*HTTP 401" "$d/log3"
tap_check "... and no tag" sh -c "! skopeo inspect --raw $S docker://$host/tok/bad:v1 \
    >/dev/null 2>&1"
"$reg_tool" pull "$host/tok/img:v2" "$d/pulled" plain_http=true "credentials_file=$d/creds" \
    >"$d/pull" 2>>"$d/log1"
tap_check "the SDK pull with tokens gets the same image" grep -q "^pulled $digest\$" "$d/pull"
tap_diag "wrong credentials: $(grep -h 'push failed' "$d/log3")"
[ "$tap_failed" -eq 0 ] || tap_diag "$(cat "$d"/log* "$d/token/log" | tail -n 30)"
tap_done

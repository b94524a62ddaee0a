#!/bin/sh
# publish_registry against a real docker-registry with TLS (a CA made here
# with certtool) and htpasswd basic auth: pushes with a credentials file and
# with a Docker config.json read back by skopeo with the same digest; no CA,
# wrong password and no credentials all fail with one clear line, without
# the password, and leave no tag.
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
. "$TEMPER_SRCDIR/tests/plugins/registry_lib.sh"
reg_init
d=$reg_dir
PASS="s3cret-Pa55word"
reg_certs || { tap_not_ok "certtool makes the test CA"; tap_done; exit 1; }
"$PY" "$reg_fixture" htpasswd alice "$PASS" >"$d/htpasswd" ||
    { tap_not_ok "bcrypt htpasswd entry"; tap_done; exit 1; }
reg_start tls "  tls:
    certificate: $d/certs/srv.pem
    key: $d/certs/srv.key
auth:
  htpasswd:
    realm: temper-test
    path: $d/htpasswd" || { tap_not_ok "docker-registry starts"; tap_done; exit 1; }
host=127.0.0.1:$reg_port
S="--cert-dir $d/certs/skopeo --creds alice:$PASS"

digest=$("$PY" "$reg_fixture" mkimage "$d/img" --layers 2 --size 5000 --seed 3)
printf 'alice:%s\n' "$PASS" >"$d/creds"
printf 'alice:wrong-password\n' >"$d/badcreds"
chmod 600 "$d/creds" "$d/badcreds"
auth=$(printf 'alice:%s' "$PASS" | base64)
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$host" "$auth" >"$d/config.json"

"$reg_tool" push "$d/img" "repository=$host/tls/img" "ca_file=$d/certs/ca.pem" \
    "credentials_file=$d/creds" -t v1 >"$d/out1" 2>"$d/log1"
tap_check "push over TLS with basic auth succeeds" test $? -eq 0
tap_check "temper printed the layout's digest" test "$(reg_out_digest "$d/out1" image)" = "$digest"
tap_check "skopeo inspect (CA + creds) sees that digest" \
    test "$(reg_skopeo_digest "$host/tls/img:v1" $S)" = "$digest"
tap_check "skopeo copy reads the image back with that digest" \
    test "$(reg_skopeo_copy_digest "$host/tls/img:v1" "$d/copy" --src-cert-dir "$d/certs/skopeo" \
            --src-creds "alice:$PASS")" = "$digest"
tap_check "the password is not in the log" sh -c "! grep -q '$PASS' '$d/log1'"

"$reg_tool" push "$d/img" "repository=$host/tls/img" "ca_file=$d/certs/ca.pem" \
    "docker_config=$d/config.json" -t v2 >"$d/out2" 2>"$d/log2"
tap_check "push with a Docker config.json succeeds" test $? -eq 0
tap_check "it uploaded no blob again" grep -q '^uploaded 0 0$' "$d/out2"
tap_check "tag v2 reads back" test "$(reg_skopeo_digest "$host/tls/img:v2" $S)" = "$digest"

"$reg_tool" push "$d/img" "repository=$host/tls/img" "ca_file=$d/certs/ca.pem" \
    username=alice "password=$PASS" -t v3 >"$d/out6" 2>"$d/log6"
tap_check "push with username and password succeeds" test $? -eq 0
tap_check "tag v3 reads back" test "$(reg_skopeo_digest "$host/tls/img:v3" $S)" = "$digest"
"$reg_tool" push "$d/img" "repository=$host/tls/img" username=alice \
    "credentials_file=$d/creds" -t v4 >/dev/null 2>"$d/log7"
tap_check "username and credentials_file together are refused" \
    grep -q "use one of credentials_file, docker_config or username with password" "$d/log7"

"$reg_tool" push "$d/img" "repository=$host/tls/noca" "credentials_file=$d/creds" -t v1 \
    >/dev/null 2>"$d/log3"
tap_check "without the CA the push fails" test $? -ne 0
tap_check "... with a certificate error naming the URL" \
    grep -qi "https://$host/v2/tls/noca/.*\(certificate\|SSL\|TLS\|issuer\)" "$d/log3"
tap_check "... and no tag" sh -c "! skopeo inspect --raw $S docker://$host/tls/noca:v1 \
    >/dev/null 2>&1"

"$reg_tool" push "$d/img" "repository=$host/tls/bad" "ca_file=$d/certs/ca.pem" \
    "credentials_file=$d/badcreds" -t v1 >/dev/null 2>"$d/log4"
tap_check "a wrong password fails" test $? -ne 0
tap_check "... with 'authentication failed' and the URL" \
    grep -q "https://$host/v2/tls/bad/.*HTTP 401 (authentication failed)" "$d/log4"
tap_check "... without the password in the log" sh -c "! grep -q 'wrong-password' '$d/log4'"

"$reg_tool" push "$d/img" "repository=$host/tls/anon" "ca_file=$d/certs/ca.pem" -t v1 \
    >/dev/null 2>"$d/log5"
tap_check "an anonymous push is refused with a 401" grep -q "HTTP 401" "$d/log5"
tap_check "no tag appeared for the refused pushes" \
    sh -c "! skopeo inspect --raw $S docker://$host/tls/bad:v1 >/dev/null 2>&1 &&
           ! skopeo inspect --raw $S docker://$host/tls/anon:v1 >/dev/null 2>&1"
"$reg_tool" pull "$host/tls/img:v1" "$d/pulled" "ca_file=$d/certs/ca.pem" \
    "credentials_file=$d/creds" >"$d/pull" 2>>"$d/log1"
tap_check "the SDK pull over TLS gets the same image" grep -q "^pulled $digest\$" "$d/pull"
tap_diag "errors as reported:" "$(grep -h 'push failed' "$d/log3" "$d/log4" "$d/log5")"
[ "$tap_failed" -eq 0 ] || tap_diag "$(cat "$d"/log* | tail -n 30)"
tap_done

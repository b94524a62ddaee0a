#!/bin/sh
# publish_registry against a real docker-registry over plain HTTP (the
# shared CI registry of TEMPER_TEST_REGISTRY when set, else our own), through
# a counting proxy: push with signature and attestation, skopeo reads the
# image back with the digest temper printed, tags and referrers are there, a
# second push uploads no blob, mount_from mounts instead of uploading, a
# chunked upload is read back intact, and the SDK pull gets the same image.
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
. "$TEMPER_SRCDIR/tests/plugins/registry_lib.sh"
reg_init

if [ -n "${TEMPER_TEST_REGISTRY:-}" ]; then
    reg_host=$TEMPER_TEST_REGISTRY
else
    reg_start plain "" || { tap_not_ok "docker-registry starts"; tap_done; exit 1; }
    reg_host=127.0.0.1:$reg_port
fi
reg_upstream=${reg_host##*:}
reg_proxy "$reg_upstream" plain || { tap_not_ok "proxy starts"; tap_done; exit 1; }
ns="t$$"
d=$reg_dir
T="--tls-verify=false"

digest=$("$PY" "$reg_fixture" mkimage "$d/img" --layers 3 --size 20000 --seed 1)
printf '{"critical":{"image":{"docker-manifest-digest":"%s"}}}' "$digest" >"$d/payload"
printf '{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}' \
    >"$d/envelope"

push() {
    "$reg_tool" push "$@" plain_http=true 2>>"$d/push.log"
}

push "$d/img" -s "$d/payload" -a "$d/envelope" -V 1.2.3 \
    "repository=127.0.0.1:$proxy_port/$ns/{image}" "tags={version} {major}.{minor} latest" \
    >"$d/out1"
tap_check "first push succeeds" test $? -eq 0
tap_check "the image reference names the layout's digest" \
    test "$(reg_out_digest "$d/out1" image)" = "$digest"
for t in 1.2.3 1.2 latest; do
    tap_check "tag $t reported" grep -q "^tag 127.0.0.1:$proxy_port/$ns/img:$t $digest\$" "$d/out1"
done
tap_check "signature and attestation references reported" \
    sh -c "grep -q '^signature .*:sha256-${digest#sha256:}.sig sha256:' '$d/out1' &&
           grep -q '^attestation .*:sha256-${digest#sha256:}.att sha256:' '$d/out1'"
up1=$(reg_stat "$proxy_stats" blob_uploads)
tap_check "the first push uploaded blobs" test "$up1" -gt 0

tap_check "skopeo inspect sees the digest temper printed" \
    test "$(reg_skopeo_digest "$reg_host/$ns/img:1.2.3" $T)" = "$digest"
tap_check "skopeo copy reads the whole image back with that digest" \
    test "$(reg_skopeo_copy_digest "$reg_host/$ns/img:latest" "$d/copy" --src-tls-verify=false)" \
    = "$digest"
tap_check "the .sig tag exists" reg_tag_exists "$reg_host/$ns/img:sha256-${digest#sha256:}.sig" $T
tap_check "the .att tag exists" reg_tag_exists "$reg_host/$ns/img:sha256-${digest#sha256:}.att" $T

"$reg_tool" referrers "$reg_host/$ns/img" "$digest" plain_http=true >"$d/refs" 2>>"$d/push.log"
tap_check "both manifests are referrers of the image (tag schema fallback)" \
    test "$(grep -c '^referrer sha256:' "$d/refs")" -eq 2
tap_check "... with cosign's artifact types" \
    sh -c "grep -q 'application/vnd.dev.cosign.artifact.sig.v1+json' '$d/refs' &&
           grep -q 'application/vnd.dev.cosign.artifact.att.v1+json' '$d/refs'"

push "$d/img" -s "$d/payload" -a "$d/envelope" -V 1.2.3 \
    "repository=127.0.0.1:$proxy_port/$ns/{image}" "tags={version} latest" >"$d/out2"
tap_check "second push succeeds" test $? -eq 0
tap_check "second push uploads no blob (proxy count)" \
    test "$(reg_stat "$proxy_stats" blob_uploads)" -eq "$up1"
tap_check "second push reports 0 uploads" grep -q '^uploaded 0 0$' "$d/out2"

push "$d/img" "repository=127.0.0.1:$proxy_port/$ns/copy" "mount_from=$ns/img" -t v1 \
    >"$d/out3"
tap_check "push to a new repository with mount_from succeeds" test $? -eq 0
tap_check "mount_from mounted every blob (0 uploaded)" grep -q '^uploaded 0 0$' "$d/out3"
tap_check "the mounted copy reads back" \
    test "$(reg_skopeo_digest "$reg_host/$ns/copy:v1" $T)" = "$digest"

# no version: the templates that need one are skipped (logged), the others move;
# referrers=false: the .sig manifest has no subject (temper_sigstore_attach_flags)
push "$d/img" -s "$d/payload" "repository=127.0.0.1:$proxy_port/$ns/nover" \
    "tags={version} {major}.{minor} latest" referrers=false >"$d/out5"
tap_check "a push without a version succeeds" test $? -eq 0
tap_check "... moves 'latest'" grep -q "^tag 127.0.0.1:$proxy_port/$ns/nover:latest $digest\$" \
    "$d/out5"
tap_check "... and moves no other image tag" test "$(grep -c '^tag ' "$d/out5")" -eq 1
tap_check "... saying which templates it skipped" \
    grep -q "tag template '{major}.{minor}' skipped: no value for {major}" "$d/push.log"
skopeo inspect --raw $T "docker://$reg_host/$ns/nover:sha256-${digest#sha256:}.sig" \
    >"$d/nosubject.json" 2>>"$d/push.log"
tap_check "referrers=false: the .sig manifest has no subject, keeps its artifactType" \
    sh -c "! grep -q '\"subject\"' '$d/nosubject.json' &&
           grep -q 'application/vnd.dev.cosign.artifact.sig.v1+json' '$d/nosubject.json'"

big=$("$PY" "$reg_fixture" mkimage "$d/big" --layers 1 --size 300000 --seed 2)
p0=$(reg_stat "$proxy_stats" patch)
push "$d/big" "repository=127.0.0.1:$proxy_port/$ns/big" -t c1 chunk_size=64K \
    monolithic_max=64K >"$d/out4"
tap_check "chunked push succeeds" test $? -eq 0
tap_check "the layer went up in several PATCHes" \
    test $(($(reg_stat "$proxy_stats" patch) - p0)) -ge 4
tap_check "skopeo copy reads the chunked image back" \
    test "$(reg_skopeo_copy_digest "$reg_host/$ns/big:c1" "$d/copy2" --src-tls-verify=false)" \
    = "$big"

"$reg_tool" pull "$reg_host/$ns/img:1.2" "$d/pulled" plain_http=true >"$d/pull" 2>>"$d/push.log"
tap_check "the SDK pull gets the same manifest" grep -q "^pulled $digest\$" "$d/pull"
tap_check "the pulled layout passes skopeo" \
    skopeo --policy "$d/policy.json" copy --preserve-digests "oci:$d/pulled:pulled" "oci:$d/again:x" -q
"$reg_tool" push "$d/img" "repository=127.0.0.1:$proxy_port/$ns/img" -t "bad tag" \
    >/dev/null 2>"$d/bad"
tap_check "an invalid tag is refused before any upload" grep -q "invalid tag 'bad tag'" "$d/bad"

[ "$tap_failed" -eq 0 ] || { tap_diag "push log:"; tap_diag "$(tail -n 40 "$d/push.log")"; }
tap_done

#!/bin/sh
# temper verify against a registry: an image published to a layout by a real
# pipeline run is copied with its .sig/.att tags to a loopback
# docker-registry (skopeo, digests preserved); temper verify reads them back
# through the registry client: passes, wrong key and missing signature exit 3.
: "${TEMPER_BIN:?}" "${TEMPER_BUILDDIR:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}" "${TEMPER_DATA:?}"
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
. "$TEMPER_SRCDIR/tests/plugins/registry_lib.sh"
export TEMPER_NO_INSTALLED_PLUGINS=1
if [ ! -f "$TEMPER_PLUGINS/publish_layout/.libs/publish_layout.so" ]; then
    tap_skip_all "no shared plugin modules (static build)"
fi
reg_init
T=$reg_dir/work
mkdir -p "$T"
digest=$("$TEMPER_BUILDDIR/tests/publish/publish_pipeline" "$T/out" "$T/key" "$T/w1" 2>"$T/drv.err" | head -n 1)
hex=${digest#sha256:}
tap_check "the pipeline publishes to a layout" test -n "$digest"
reg_start plain "" || { tap_not_ok "docker-registry starts"; tap_done; exit 1; }
R=127.0.0.1:$reg_port/hello
ok=0
for t in latest "sha256-$hex.sig" "sha256-$hex.att"; do
    skopeo --policy "$reg_dir/policy.json" copy -q --preserve-digests --dest-tls-verify=false \
        "oci:$T/out:$t" "docker://$R:$t" >>"$T/copy.log" 2>&1 || ok=1
done
tap_check "skopeo copies the image and its .sig/.att tags to the registry" test $ok -eq 0
[ $ok -eq 0 ] || tap_diag "$(cat "$T/copy.log")"
"$TEMPER_BIN" verify --plain-http --key "$T/key.pub" "docker://$R:latest" >"$T/v.out" 2>"$T/v.err"
rc=$?
tap_check "temper verify docker://$R:latest passes ($rc)" test $rc -eq 0
[ $rc -eq 0 ] || tap_diag "$(cat "$T/v.err")"
tap_check "it lists both attestations" test "$(grep -c '^  attestation  https://' "$T/v.out")" -eq 2
"$TEMPER_BIN" verify --plain-http --key "$T/key.pub" "$R@$digest" >/dev/null 2>&1
tap_check "by digest, without docker:// ($?)" test $? -eq 0
"$TEMPER_BIN" verify --plain-http --key "$TEMPER_DATA/samples/cosign-containers-image-fixture/cosign.pub" \
    "docker://$R:latest" >/dev/null 2>"$T/v.err"
rc=$?
tap_check "wrong key: exit 3 ($rc)" test $rc -eq 3
skopeo --policy "$reg_dir/policy.json" copy -q --dest-tls-verify=false "oci:$T/out:latest" \
    "docker://127.0.0.1:$reg_port/unsigned:latest" >/dev/null 2>&1
"$TEMPER_BIN" verify --plain-http --key "$T/key.pub" "docker://127.0.0.1:$reg_port/unsigned:latest" \
    >/dev/null 2>"$T/v.err"
rc=$?
tap_check "no .sig in the repository: exit 3 ($rc)" test $rc -eq 3
tap_check "and says so" grep -q "no signature: sha256-$hex.sig not found" "$T/v.err"
tap_done

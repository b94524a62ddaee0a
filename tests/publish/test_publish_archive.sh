#!/bin/sh
# publish_archive end to end: a real pipeline run (tests/publish/
# publish_pipeline with PUBLISH_ARCHIVE_DIR) writes an oci-archive and a
# docker-archive; skopeo reads both, the digests and diff_ids match the
# image's, docker-archive layers are uncompressed tars hashing to the
# diff_ids, the oci-archive carries the cosign objects (temper verify passes
# on its unpacked layout), and the docker-archive is byte-for-byte
# reproducible.
: "${TEMPER_BIN:?}" "${TEMPER_BUILDDIR:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}"
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
export TEMPER_NO_INSTALLED_PLUGINS=1
PYTHON3=${PYTHON3:-python3}
if [ ! -f "$TEMPER_PLUGINS/publish_archive/.libs/publish_archive.so" ]; then
    tap_skip_all "no shared plugin modules (static build)"
fi
if ! command -v skopeo >/dev/null; then
    [ "${CI:-}" = true ] && { echo "Bail out! skopeo missing (apt-get install -y skopeo)"; exit 1; }
    tap_skip_all "skopeo missing"
fi
T=$(mktemp -d /tmp/temper-pubarchive-XXXXXX)
trap 'rm -rf "$T"' EXIT
drv=$TEMPER_BUILDDIR/tests/publish/publish_pipeline
mkdir "$T/arc" "$T/arc2"
digest=$(PUBLISH_ARCHIVE_DIR=$T/arc "$drv" "$T/out" "$T/key" "$T/w1" 2>"$T/drv.err" | head -n 1)
OCI=$T/arc/hello-1.2.3.oci.tar
DOCKER=$T/arc/hello-1.2.3.docker.tar
tap_check "the pipeline writes both tarballs (path template expanded)" test -s "$OCI" -a -s "$DOCKER"
[ -s "$OCI" ] || tap_diag "$(cat "$T/drv.err")"
tap_check "no temp files left next to them" test "$(ls "$T/arc" | wc -l)" -eq 2

sk=$(skopeo inspect --format '{{.Digest}}' "oci-archive:$OCI:latest" 2>"$T/sk.err")
tap_check "skopeo inspect oci-archive: same manifest digest" test "$sk" = "$digest"
[ "$sk" = "$digest" ] || tap_diag "$(cat "$T/sk.err")"
skopeo inspect --config "oci:$T/out:latest" > "$T/cfg.json" 2>/dev/null
ids=$("$PYTHON3" -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["rootfs"]["diff_ids"]))' "$T/cfg.json")
tap_check "the image has diff_ids ($ids)" test -n "$ids"

skopeo copy -q "docker-archive:$DOCKER" "oci:$T/fromdocker:x" >"$T/cp.log" 2>&1
tap_check "skopeo copy docker-archive: -> oci: accepts it" test $? -eq 0
skopeo inspect --config "oci:$T/fromdocker:x" > "$T/cfg2.json" 2>/dev/null
cmp -s "$T/cfg.json" "$T/cfg2.json"
tap_check "the copied image has the same config (diff_ids, image ID)" test $? -eq 0
sk=$(skopeo inspect --format '{{.Digest}}' "docker-archive:$DOCKER:example.com/hello:1.2.3" 2>"$T/sk.err")
tap_check "skopeo finds the image by its RepoTag in the docker-archive" test -n "$sk"
ok=0
for id in $ids; do
    h=$(tar -xOf "$DOCKER" "${id#sha256:}/layer.tar" 2>/dev/null | sha256sum | cut -d' ' -f1)
    [ "$h" = "${id#sha256:}" ] || ok=1
    tar -xOf "$DOCKER" "${id#sha256:}/layer.tar" 2>/dev/null | tar -t >/dev/null 2>&1 || ok=1
done
tap_check "docker-archive layers are uncompressed tars hashing to the diff_ids" test $ok -eq 0
tar -xOf "$DOCKER" manifest.json > "$T/dm.json" 2>/dev/null
"$PYTHON3" -c 'import json,sys; m=json.load(open(sys.argv[1])); assert len(m)==1 and m[0]["Config"].endswith(".json") and m[0]["Layers"][0].endswith("/layer.tar") and "example.com/hello:latest" in m[0]["RepoTags"]' "$T/dm.json"
tap_check "manifest.json: Config, Layers, RepoTags" test $? -eq 0

mkdir "$T/unpacked" && tar -xf "$OCI" -C "$T/unpacked"
"$TEMPER_BIN" verify --key "$T/key.pub" "oci:$T/unpacked:latest" >"$T/v.out" 2>"$T/v.err"
tap_check "the oci-archive carries the signature and attestations (temper verify)" test $? -eq 0
tar -tf "$OCI" | head -n 4 | tr '\n' ' ' > "$T/order"
tap_check "oci-archive entry order: oci-layout index.json blobs/ ($(cat "$T/order"))" \
    test "$(cat "$T/order")" = "oci-layout index.json blobs/ blobs/sha256/ "

PUBLISH_ARCHIVE_DIR=$T/arc2 "$drv" "$T/out2" "$T/key" "$T/w2" >/dev/null 2>&1
cmp -s "$DOCKER" "$T/arc2/hello-1.2.3.docker.tar"
tap_check "the docker-archive is reproducible byte for byte" test $? -eq 0
tap_done

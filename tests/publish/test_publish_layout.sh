#!/bin/sh
# publish_layout + temper verify end to end: a real pipeline run (attest_slsa,
# attest_spdx, signer_keyfile, publish_layout) publishes a small image to an
# OCI layout; temper verify passes; skopeo and umoci read the layout; the
# cosign objects have cosign's media types and annotations (compared with
# the real cosign fixture) and the signature verifies with openssl; then
# every tampering is caught with exit 3 and a clear message.
: "${TEMPER_BIN:?}" "${TEMPER_BUILDDIR:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}" "${TEMPER_DATA:?}"
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
export TEMPER_NO_INSTALLED_PLUGINS=1
PYTHON3=${PYTHON3:-python3}
if [ ! -f "$TEMPER_PLUGINS/publish_layout/.libs/publish_layout.so" ]; then
    tap_skip_all "no shared plugin modules (static build)"
fi
for tool in skopeo umoci openssl; do
    if ! command -v $tool >/dev/null; then
        [ "${CI:-}" = true ] && { echo "Bail out! $tool missing (apt-get install -y $tool)"; exit 1; }
        tap_skip_all "$tool missing"
    fi
done
T=$(mktemp -d /tmp/temper-publayout-XXXXXX)
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
drv=$TEMPER_BUILDDIR/tests/publish/publish_pipeline
FIX=$TEMPER_DATA/samples/cosign-containers-image-fixture

digest=$("$drv" "$T/out" "$T/key" "$T/w1" 2>"$T/drv.err" | head -n 1)
tap_check "the pipeline publishes to the layout" test -n "$digest" -a -f "$T/out/index.json"
[ -n "$digest" ] || { tap_diag "$(cat "$T/drv.err")"; tap_done; exit 1; }
hex=${digest#sha256:}
verify() { "$TEMPER_BIN" verify "$@" >"$T/v.out" 2>"$T/v.err"; }

verify --key "$T/key.pub" "oci:$T/out:latest"; rc=$?
tap_check "temper verify passes (exit $rc)" test $rc -eq 0
tap_check "it names the signing key and both predicate types" sh -c \
    "grep -q 'signature    1 by key [0-9a-f]\{64\} (ecdsa-p256-sha256)' '$T/v.out' &&
     grep -q 'attestation  https://slsa.dev/provenance/v1' '$T/v.out' &&
     grep -q 'attestation  https://spdx.dev/Document' '$T/v.out'"
verify --json --key "$T/key.pub" "oci:$T/out:1.2.3"; rc=$?
tap_check "--json: verified, digest and 2 attestations" sh -c "[ $rc -eq 0 ] &&
    '$PYTHON3' -c 'import json,sys; j=json.load(open(sys.argv[1]));
assert j[\"verified\"] and j[\"digest\"]==sys.argv[2] and len(j[\"attestations\"])==2 and j[\"error\"] is None' '$T/v.out' '$digest'"
tags=$("$PYTHON3" -c 'import json,sys; print(" ".join(sorted(m["annotations"]["org.opencontainers.image.ref.name"] for m in json.load(open(sys.argv[1]))["manifests"])))' "$T/out/index.json")
tap_check "tags: expanded templates plus .sig/.att ($tags)" test "$tags" = "1 1.2 1.2.3 latest sha256-$hex.att sha256-$hex.sig"

# independent readers
sk=$(skopeo inspect --format '{{.Digest}}' "oci:$T/out:latest" 2>"$T/sk.err")
tap_check "skopeo reads the image, same digest ($sk)" test "$sk" = "$digest"
umoci unpack --rootless --image "$T/out:latest" "$T/bundle" >"$T/umoci.log" 2>&1
tap_check "umoci unpacks the layout" test "$(cat "$T/bundle/rootfs/etc/hello" 2>/dev/null)" = hello

# cosign's bytes: compare with the real cosign fixture and check with openssl
"$PYTHON3" - "$T/out" "$hex" "$FIX" "$T" > "$T/cosign.txt" 2>&1 <<'PY'
import base64, json, sys
out, hexd, fix, tmp = sys.argv[1:5]
blob = lambda d: open(f"{out}/blobs/sha256/{d.split(':')[1]}", "rb").read()
idx = json.load(open(f"{out}/index.json"))
ref = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]}
sig = json.loads(blob(ref[f"sha256-{hexd}.sig"]["digest"]))
att = json.loads(blob(ref[f"sha256-{hexd}.att"]["digest"]))
raw = open(f"{fix}/signature-1", "rb").read()
real = json.loads(raw[raw.index(b"{"):])
layer = sig["layers"][0]
assert layer["mediaType"] == real["mimeType"], "layer media type differs from cosign's"
assert set(layer["annotations"]) == set(real["annotations"]), "annotation keys differ"
payload = json.loads(blob(layer["digest"]))
want = json.load(open(f"{fix}/payload.json"))
shape = lambda o: {k: shape(v) for k, v in o.items()} if isinstance(o, dict) else type(o).__name__
assert shape(payload) == shape(want), "payload shape differs from cosign's"
assert payload["critical"]["image"]["docker-manifest-digest"] == "sha256:" + hexd
assert sig["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
cfg = json.loads(blob(sig["config"]["digest"]))
assert cfg["rootfs"]["diff_ids"] == [layer["digest"]]
assert sig["subject"]["digest"] == "sha256:" + hexd and att["subject"]["digest"] == "sha256:" + hexd
for l in att["layers"]:
    assert l["mediaType"] == "application/vnd.dsse.envelope.v1+json"
    assert l["annotations"]["predicateType"].startswith("https://")
    env = json.loads(blob(l["digest"]))
    assert env["payloadType"] == "application/vnd.in-toto+json"
open(f"{tmp}/payload.bin", "wb").write(blob(layer["digest"]))
open(f"{tmp}/sig.der", "wb").write(base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"]))
print("cosign layout ok")
PY
tap_check "layer media types and annotations as cosign writes them" grep -q "cosign layout ok" "$T/cosign.txt"
grep -q "cosign layout ok" "$T/cosign.txt" || tap_diag "$(cat "$T/cosign.txt")"
openssl dgst -sha256 -verify "$T/key.pub" -signature "$T/sig.der" "$T/payload.bin" >/dev/null 2>&1
tap_check "openssl verifies the image signature (independent implementation)" test $? -eq 0
verify --key "$FIX/cosign.pub" "oci:$T/out:latest"; rc=$?
tap_check "real cosign output: fixture key is the wrong key here, exit 3 ($rc)" test $rc -eq 3

# a fresh copy of the good layout for each tampering
fresh() { rm -rf "$T/t"; cp -a "$T/out" "$T/t"; }
fails() { # NAME MESSAGE [verify args...]
    name=$1; msg=$2; shift 2
    verify "$@"; rc=$?
    tap_check "$name: exit 3 ($rc)" test $rc -eq 3
    tap_check "$name: says '$msg'" grep -qF -- "$msg" "$T/v.err"
    grep -qF -- "$msg" "$T/v.err" || tap_diag "$(cat "$T/v.err")"
}
edit() { "$PYTHON3" - "$T/t" "$hex" "$@" <<'PY'
import hashlib, json, sys
out, hexd, what = sys.argv[1:4]
def path(d): return f"{out}/blobs/sha256/{d.split(':')[1]}"
def put(data, mt):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    open(path(d), "wb").write(data)
    return {"mediaType": mt, "digest": d, "size": len(data)}
idx = json.load(open(f"{out}/index.json"))
ent = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]}
sigtag, atttag = f"sha256-{hexd}.sig", f"sha256-{hexd}.att"
if what == "payload":   # new payload bytes, manifest and tag made consistent again
    m = json.load(open(path(ent[sigtag]["digest"])))
    p = json.loads(open(path(m["layers"][0]["digest"]), "rb").read())
    p["critical"]["identity"]["docker-reference"] = "evil.example/x"
    new = put(json.dumps(p, separators=(",", ":")).encode(), m["layers"][0]["mediaType"])
    m["layers"][0].update(new)
    ent[sigtag].update(put(json.dumps(m).encode(), m["mediaType"]))
elif what == "nosig":
    idx["manifests"] = [x for x in idx["manifests"] if x is not ent[sigtag]]
elif what == "swapatt":  # the .att of another image (same key) under this image's tag
    other = sys.argv[4]
    oidx = json.load(open(f"{other}/index.json"))
    om = [x for x in oidx["manifests"] if x["annotations"]["org.opencontainers.image.ref.name"].endswith(".att")][0]
    m = json.load(open(f"{other}/blobs/sha256/{om['digest'].split(':')[1]}"))
    for d in [m["config"]] + m["layers"]:
        put(open(f"{other}/blobs/sha256/{d['digest'].split(':')[1]}", "rb").read(), d["mediaType"])
    ent[atttag].update(put(json.dumps(m).encode(), m["mediaType"]))
elif what == "layer":    # a byte of the image's layer changed in place
    m = json.load(open(path("sha256:" + hexd)))
    f = path(m["layers"][0]["digest"])
    b = bytearray(open(f, "rb").read()); b[-1] ^= 1
    import os; os.chmod(f, 0o644); open(f, "wb").write(bytes(b))
json.dump(idx, open(f"{out}/index.json", "w"))
PY
}

fresh; edit payload
fails "changed signed payload" "no signature in sha256-$hex.sig verifies with key" --key "$T/key.pub" "oci:$T/t:latest"
fresh
fails "wrong key" "verifies with key" --key "$FIX/cosign2.pub" "oci:$T/t:latest"
PUBLISH_TEST_TEXT=other "$drv" "$T/other" "$T/key" "$T/w2" >/dev/null 2>"$T/drv2.err"
fresh; edit swapatt "$T/other"
fails "attestation of another image" "is not about $digest" --key "$T/key.pub" "oci:$T/t:latest"
fresh; edit nosig
fails "missing .sig" "no signature: sha256-$hex.sig not found" --key "$T/key.pub" "oci:$T/t:latest"
fresh; edit layer
fails "changed layer" "image blob sha256:" --key "$T/key.pub" "oci:$T/t:latest"
verify --key "$T/key.pub" "oci:$T/out:nosuchtag"; rc=$?
tap_check "unknown tag: exit 1 ($rc)" test $rc -eq 1
verify --key "$T/key.pub" "docker://127.0.0.1:1/x:y"; rc=$?
tap_check "registry reference without the registry client: exit 1 ($rc)" test $rc -eq 1
verify "oci:$T/out"; rc=$?
tap_check "missing --key: usage, exit 2 ($rc)" test $rc -eq 2

# publishing again is idempotent: same digests, no duplicate tags
"$drv" "$T/out" "$T/key" "$T/w3" >/dev/null 2>"$T/drv3.err"
n=$("$PYTHON3" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["manifests"]))' "$T/out/index.json")
tap_check "a second publish keeps one entry per tag ($n)" test "$n" = 6
verify --key "$T/key.pub" "oci:$T/out:latest"
tap_check "and still verifies" test $? -eq 0
tap_done

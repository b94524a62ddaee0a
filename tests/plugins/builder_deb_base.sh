#!/bin/sh
# builder_deb on top of a base image (`base = oci:DIR:TAG`, through
# `temper build`): real Debian packages from a loopback mirror made from this
# machine's apt (tests/plugins/deb_mirror.sh), then hand-made ones
# (mkdeb.py) for the closure rules and builder_overlay's refusals.
#   - the app's manifest starts with the base's exact layers, one layer on
#     top holding only the new packages; the merged dpkg database lists both
#     (dpkg-query); the new interpreter runs through `temper test`;
#     reproducible; base annotations; every package recorded;
#   - a base package at a version a dependency refuses fails naming both
#     versions; what a base package Provides satisfies a dependency;
#   - builder_overlay: packages without a mirror, and on an Alpine base,
#     are refused with one clear line.
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
PYTHON3=${PYTHON3:-python3}
[ -f "$TEMPER_PLUGINS/builder_deb/.libs/builder_deb.so" ] ||
    tap_skip_all "no shared plugin modules (static build)"
for tool in skopeo umoci gpgv sqlite3 lz4 dpkg-query; do
    command -v $tool >/dev/null || { echo "Bail out! $tool missing (apt-get install -y $tool)"; exit 1; }
done
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$KEYRING" ] || { echo "Bail out! $KEYRING missing (apt-get install -y debian-archive-keyring)"; exit 1; }
T=$(mktemp -d /tmp/temper-debbase-XXXXXX)
. "$TEMPER_SRCDIR/tests/plugins/deb_mirror.sh"
trap 'deb_stop; rm -rf "$T"' EXIT
if ! deb_real_mirror "$T/mirror" base-files tzdata ca-certificates netbase python3-minimal \
        --essential; then
    tap_skip_all "cannot lay out a mirror from this machine's apt"
fi
deb_serve "$T/mirror" || { echo "Bail out! cannot start the mirror's HTTP server"; exit 1; }

mkdir -p "$T/images"
cat > "$T/p.ini" <<INI
[core]
store = sqlite:$T/state.db
workdir = \${DEB_WORK:-$T/work}
cache_dir = $T/cache
images = images/*.ini

[pipeline]
stages = builder.deb, suite.command

[builder "deb"]
plugin = deb
mirror = $DEB_URL
keyring = $KEYRING

[suite "command"]
plugin = command
INI
printf '[image]\nname = base\ndistribution = debian:%s\npackages = base-files netbase libc6\n' \
    "$DEB_SUITE" > "$T/images/base.ini"
cat > "$T/images/py.ini" <<INI
[image]
name = py
distribution = debian:$DEB_SUITE
base = oci:$T/base:latest
packages = python3-minimal
entrypoint = /usr/bin/python3

[test "computes"]
suite = command
command = /usr/bin/python3 -c "print(6*7)"
expected_output = ^42$

[test "runs-as-nonroot"]
suite = command
command = /usr/bin/python3 -c "import os; print(os.getuid())"
expected_output = ^65532$
INI
build() { "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" build -c "${P:-$T/p.ini}" "$@" 2>"$T/err"; }
# manifest FIELD LAYOUT: a field of the manifest tagged latest, one value per line
manifest() {
    "$PYTHON3" - "$1" "$2" <<'PY'
import json, sys
field, lay = sys.argv[1], sys.argv[2]
idx = json.load(open(lay + "/index.json"))
d = [m for m in idx["manifests"]
     if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "latest"][0]
blob = lambda dg: json.load(open(lay + "/blobs/sha256/" + dg[7:]))
m = blob(d["digest"])
c = blob(m["config"]["digest"])
out = {"layers": [l["digest"] for l in m["layers"]], "digest": [d["digest"]],
       "annotations": ["%s=%s" % kv for kv in sorted(m.get("annotations", {}).items())],
       "diff_ids": c["rootfs"]["diff_ids"], "history": [h.get("created_by", "") for h in c.get("history", [])],
       "user": [c["config"].get("User", "")], "entrypoint": c["config"].get("Entrypoint", [])}[field]
print("\n".join(out))
PY
}

# (a) the base, then python3-minimal on it
db=$(build base -o "$T/base"); tap_check "the base builds" [ $? -eq 0 ]
dp=$(build py -o "$T/py"); rc=$?
tap_check "python3-minimal builds on it (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 3 "$T/err")"
manifest layers "$T/base" > "$T/bl"; manifest layers "$T/py" > "$T/pl"
nb=$(wc -l < "$T/bl")
tap_check "the app's manifest starts with the base's exact layers ($nb), one layer on top" \
    [ "$(head -n "$nb" "$T/pl")" = "$(cat "$T/bl")" -a "$(wc -l < "$T/pl")" -eq $((nb + 1)) ]
tap_check "diff_ids and history: the base's plus one" \
    [ "$(manifest diff_ids "$T/py" | wc -l)" -eq $((nb + 1)) -a "$(manifest history "$T/py" | wc -l)" -eq $((nb + 1)) ]
manifest annotations "$T/py" > "$T/ann"
grep -qx "org.opencontainers.image.base.digest=$db" "$T/ann" &&
    grep -qx "org.opencontainers.image.base.name=oci:$T/base:latest" "$T/ann"
tap_check "base.name and base.digest annotations" [ $? -eq 0 ]
tap_check "user 65532, the app's entrypoint" \
    [ "$(manifest user "$T/py")" = 65532 -a "$(manifest entrypoint "$T/py")" = /usr/bin/python3 ]
top=$(tail -n 1 "$T/pl")
tar -tzf "$T/py/blobs/sha256/${top#sha256:}" > "$T/top" 2>/dev/null
tap_check "the top layer has the new packages' database entries" \
    grep -qx 'var/lib/dpkg/status.d/python3-minimal' "$T/top"
! grep -qE '^var/lib/dpkg/status.d/(base-files|netbase|libc6)$|/libc\.so\.6$|^etc/services$' "$T/top"
tap_check "and nothing of the base's packages" [ $? -eq 0 ]
skopeo inspect "oci:$T/py:latest" > "$T/inspect" 2>&1 && grep -q "\"Digest\": \"$dp\"" "$T/inspect"
tap_check "skopeo reads it, same digest" [ $? -eq 0 ]
umoci unpack --rootless --image "$T/py:latest" "$T/b-py" >/dev/null 2>&1
tap_check "umoci unpacks the layers together" [ $? -eq 0 ]
R=$T/b-py/rootfs
dpkg-query --admindir="$R/var/lib/dpkg" -W -f '${Package}\n' > "$T/q" 2>/dev/null
grep -qx base-files "$T/q" && grep -qx libc6 "$T/q" && grep -qx netbase "$T/q" &&
    grep -qx python3-minimal "$T/q"
tap_check "dpkg-query on the merged root lists the base's and the new packages ($(wc -l < "$T/q"))" [ $? -eq 0 ]
grep '^Package:' "$R/var/lib/dpkg/status" > "$T/pk"
tap_check "the merged status file is sorted, each package once" \
    [ "$(cat "$T/pk")" = "$(LC_ALL=C sort -u "$T/pk")" ]
[ -f "$R/etc/services" ] && [ -x "$R/usr/bin/python3" ] && grep -q '^nonroot:x:65532:' "$R/etc/passwd"
tap_check "base files, the new binary and the users are all in the merged root" [ $? -eq 0 ]
"$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" test -c "$T/p.ini" py --layout "$T/py" \
    >"$T/test.out" 2>"$T/test.err"; rc=$?
grep -q '^PASS  command/computes$' "$T/test.out" && grep -q '^PASS  command/runs-as-nonroot$' "$T/test.out"
tap_check "temper test: python3 computes 42 as 65532 in the layered image (exit $rc)" [ $? -eq 0 ]
pk=$(sqlite3 "$T/state.db" "select group_concat(name, ' ') from (select name from build_packages where build_id = (select max(build_id) from build_packages) and name in ('base-files', 'libc6', 'python3-minimal') order by name)")
tap_check "the image's packages, the base's included, are recorded ($pk)" \
    [ "$pk" = "base-files libc6 python3-minimal" ]
dp2=$(DEB_WORK=$T/work2 build py -o "$T/py2")
tap_check "a rebuild elsewhere gives the same digest" [ -n "$dp" -a "$dp2" = "$dp" ]

# (b) hand-made packages: the closure against the base's database
deb_stop
M=$T/synth
mkdir -p "$M/pool"
deb() { out=$M/pool/$1_$2_$3.deb; "$PYTHON3" "$TEMPER_SRCDIR/tests/plugins/mkdeb.py" deb "$out" "$@"; }
deb lib 1.0 all f:usr/share/lib/v:1;  deb lib 2.0 all f:usr/share/lib/v:2
deb impl 1.0 all "Provides=virt (= 3)" f:usr/share/impl:i
deb neednew 1.0 all "Depends=lib (>= 1.5)"
deb virtuser 1.0 all "Depends=virt (>= 2), lib" f:usr/share/virtuser:v
deb alpinefake 1.0 all f:etc/alpine-release:3.19.0
deb extra 1.0 all f:usr/share/extra:e
"$PYTHON3" "$TEMPER_SRCDIR/tests/plugins/mkdeb.py" index "$M" test amd64
deb_serve "$M" || { echo "Bail out! cannot start the mirror's HTTP server"; exit 1; }
S=$T/s
mkdir -p "$S/images"
cat > "$S/p.ini" <<INI
[core]
store = sqlite:$S/state.db
workdir = $S/work
cache_dir = $S/cache
images = images/*.ini

[pipeline]
stages = builder.deb, builder.overlay, builder.ovmirror

[builder "deb"]
plugin = deb
mirror = $DEB_URL
allow_unsigned = yes

[builder "overlay"]
plugin = overlay

[builder "ovmirror"]
plugin = overlay
mirror = $DEB_URL
allow_unsigned = yes
INI
# img NAME BUILDER LINE...: an image of debian:test built by BUILDER
img() { n=$1; bl=$2; shift 2; printf '[image]\nname = %s\ndistribution = debian:test\n' "$n" > "$S/images/$n.ini"
    for l in "$@"; do printf '%s\n' "$l" >> "$S/images/$n.ini"; done
    printf '[build]\nbuilder = %s\n' "$bl" >> "$S/images/$n.ini"; }
img sbase deb "packages = lib=1.0 impl"
img conflict deb "packages = neednew" "base = oci:$S/sbase:latest"
img virt deb "packages = virtuser" "base = oci:$S/sbase:latest"
img alp deb "packages = alpinefake"
img ovok ovmirror "packages = extra" "base = oci:$S/sbase:latest"
img ovalp ovmirror "packages = extra" "base = oci:$S/alp:latest"
img ovnomirror overlay "packages = extra" "base = oci:$S/sbase:latest"
P=$S/p.ini build sbase -o "$S/sbase" >/dev/null; tap_check "a base with lib 1.0 and impl builds" [ $? -eq 0 ]
P=$S/p.ini build conflict -o "$S/conflict" >/dev/null; rc=$?
grep -q 'neednew -> lib (>= 1.5): the base image has lib 1.0' "$T/err"; g=$?
tap_check "a dependency the base's version refuses fails naming both versions (exit $rc)" \
    [ $g -eq 0 -a $rc -ne 0 ]
tap_diag "$(grep -o 'cannot install.*' "$T/err" | head -n 1)"
P=$S/p.ini build virt -o "$S/virt" >/dev/null; tap_check "what the base Provides satisfies a dependency" [ $? -eq 0 ]
top=$(manifest layers "$S/virt" | tail -n 1)
tar -tzf "$S/virt/blobs/sha256/${top#sha256:}" | grep -E '^var/lib/dpkg/status.d/[^/]+$' | grep -v '\.md5sums$' > "$T/sd"
tap_check "only virtuser is added ($(tr '\n' ' ' < "$T/sd"))" \
    [ "$(cat "$T/sd")" = "var/lib/dpkg/status.d/virtuser" ]
P=$S/p.ini build ovok -o "$S/ovok" >/dev/null; rc=$?
tap_check "builder_overlay adds a package on the base (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 2 "$T/err")"
manifest layers "$S/sbase" > "$T/sbl"; manifest layers "$S/ovok" > "$T/ol"
tap_check "as one layer on the base's" \
    [ "$(head -n 1 "$T/ol")" = "$(cat "$T/sbl")" -a "$(wc -l < "$T/ol")" -eq 2 ]
top=$(tail -n 1 "$T/ol")
mkdir -p "$T/ovtop"
tar -xzf "$S/ovok/blobs/sha256/${top#sha256:}" -C "$T/ovtop" 2>/dev/null
tap_check "its status file lists the base's packages and the new one" \
    [ "$(grep '^Package:' "$T/ovtop/var/lib/dpkg/status" | tr '\n' ' ')" = "Package: extra Package: impl Package: lib " ]
P=$S/p.ini build alp -o "$S/alp" >/dev/null; tap_check "a fake Alpine base builds" [ $? -eq 0 ]
P=$S/p.ini build ovalp -o "$S/ovalp" >/dev/null; rc=$?
grep -q 'is Alpine' "$T/err"; g=$?
tap_check "builder_overlay: packages on an Alpine base are refused" [ $rc -ne 0 -a $g -eq 0 ]
P=$S/p.ini build ovnomirror -o "$S/ovnm" >/dev/null; rc=$?
grep -q "needs the builder's .mirror. option" "$T/err"; g=$?
tap_check "builder_overlay: packages without a mirror are refused" [ $rc -ne 0 -a $g -eq 0 ]
tap_done

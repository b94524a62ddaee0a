#!/bin/sh
# A customization is rebuilt when a package it added is patched (issue #9),
# end to end through `temper run` and `temper track`:
#   base    builder_deb, real Debian packages
#   app     builder_deb, base = image:base, python3-minimal on top
#   custom  builder_overlay, base = image:app, packages = teamtool (one layer)
# from one loopback mirror: this machine's real .debs (deb_mirror.sh) plus a
# hand-made teamtool, indexed and signed with a throwaway key.  Then
# teamtool 2.0 appears in the mirror: tracker_debian reports it, only the
# customization (the one image containing it) is rebuilt and republished,
# and its package layer has the new version.
. "$TEMPER_SRCDIR/tests/run/run_lib.sh"
PYTHON3=${PYTHON3:-python3}
[ -f "$TEMPER_PLUGINS/builder_deb/.libs/builder_deb.so" ] ||
    tap_skip_all "no shared plugin modules (static build)"
for tool in gpg gpgv gpgconf skopeo lz4; do
    command -v $tool >/dev/null || { echo "Bail out! $tool missing (apt-get install -y $tool)"; exit 1; }
done
run_tmp custompk
. "$TEMPER_SRCDIR/tests/plugins/deb_mirror.sh"
export GNUPGHOME=$T/gnupg
trap 'deb_stop; gpgconf --kill gpg-agent 2>/dev/null; rm -rf "$T"' EXIT
M=$T/mirror
deb_real_mirror "$M" base-files tzdata ca-certificates netbase python3-minimal --essential ||
    tap_skip_all "cannot lay out a mirror from this machine's apt"
mkdir -m 700 "$GNUPGHOME"
gpgq() { gpg --batch --quiet --yes --pinentry-mode loopback --passphrase '' "$@" 2>/dev/null; }
gpgq --quick-gen-key 'temper test <test@temper.invalid>' ed25519 sign never &&
    gpgq --output "$T/keyring.gpg" --export
tap_check "a throwaway signing key" [ -s "$T/keyring.gpg" ]
# suite "custom": every .deb of the pool (the real ones and teamtool), signed
index() {
    "$PYTHON3" "$TEMPER_SRCDIR/tests/plugins/mkdeb.py" index "$M" custom "$DEB_ARCH" &&
        mv "$M/dists/custom/InRelease" "$M/dists/custom/Release" &&
        gpgq --output "$M/dists/custom/InRelease" --clearsign "$M/dists/custom/Release"
}
tool() {
    "$PYTHON3" "$TEMPER_SRCDIR/tests/plugins/mkdeb.py" deb "$M/pool/teamtool_$1_all.deb" \
        teamtool "$1" all "f:usr/share/teamtool/version:$1"
}
tool 1.0 && index
tap_check "a signed suite with the real packages and teamtool 1.0" [ -s "$M/dists/custom/InRelease" ]
deb_serve "$M" || { echo "Bail out! cannot start the mirror's HTTP server"; exit 1; }

core_ini "$T/p.ini"
cat >> "$T/p.ini" <<INI
[pipeline]
stages = builder.deb, builder.overlay, publish.local

[tracker "debian"]
plugin = debian
mirror = $DEB_URL
suite = custom
arch = $DEB_ARCH
keyring = $T/keyring.gpg
distribution = debian:custom
retries = 0

[builder "deb"]
plugin = deb
mirror = $DEB_URL
keyring = $T/keyring.gpg

[builder "overlay"]
plugin = overlay
mirror = $DEB_URL
keyring = $T/keyring.gpg

[publish "local"]
plugin = layout
path = $T/published/{image}
INI
img() { n=$1; b=$2; shift 2; printf '[image]\nname = %s\ndistribution = debian:custom\n' "$n" > "$T/images/$n.ini"
    for l in "$@"; do printf '%s\n' "$l" >> "$T/images/$n.ini"; done
    printf '[build]\nbuilder = %s\n' "$b" >> "$T/images/$n.ini"; }
img base deb "packages = base-files netbase libc6"
img app deb "packages = python3-minimal" "base = image:base"
img custom overlay "packages = teamtool" "base = image:app"
pub() { q "select json_extract(value, '\$.$2') from kv where ns = 'published' and key = '$1'"; }
# layers LAYOUT DIGEST: the layer digests of that manifest, one a line
layers() {
    "$PYTHON3" -c 'import json,sys
m = json.load(open(sys.argv[1] + "/blobs/sha256/" + sys.argv[2][7:]))
print("\n".join(l["digest"] for l in m["layers"]))' "$1" "$2"
}
# teamtool_in LAYOUT DIGEST: the Version of teamtool in the top layer's status.d
teamtool_in() {
    top=$(layers "$1" "$2" | tail -n 1)
    tar -xzOf "$1/blobs/sha256/${top#sha256:}" var/lib/dpkg/status.d/teamtool 2>/dev/null |
        sed -n 's/^Version: //p'
}

SOURCE_DATE_EPOCH=1700000000 tp run -c "$T/p.ini" base 2>"$T/err"; rc=$?
tap_check "run base exits 0 ($rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 5 "$T/err")"
tap_check "base, app on it and custom on app ran once each" \
    [ "$(q "select group_concat(image || ':' || status, ' ') from (select image, status from runs order by id)")" = "base:0 app:0 custom:0" ]
a1=$(pub app digest); c1=$(pub custom digest); la=$(pub app layout); lc=$(pub custom layout)
layers "$la" "$a1" > "$T/al"; layers "$lc" "$c1" > "$T/cl"
na=$(wc -l < "$T/al")
tap_check "custom = app's exact layers ($na) + one package layer" \
    [ "$na" -ge 2 -a "$(head -n "$na" "$T/cl")" = "$(cat "$T/al")" -a "$(wc -l < "$T/cl")" -eq $((na + 1)) ]
tap_check "its package layer has teamtool 1.0" [ "$(teamtool_in "$lc" "$c1")" = 1.0 ]
pk=$(q "select group_concat(name, ' ') from (select name from build_packages where build_id = (select max(b.id) from builds b where b.image = 'custom') and name in ('base-files', 'python3-minimal', 'teamtool') order by name)")
tap_check "custom's packages recorded: the base's, app's and the added one ($pk)" \
    [ "$pk" = "base-files python3-minimal teamtool" ]
skopeo inspect "oci:$T/published/custom:latest" > "$T/inspect" 2>&1 &&
    grep -q "\"Digest\": \"$c1\"" "$T/inspect"
tap_check "skopeo reads the published customization" [ $? -eq 0 ]

tp track -c "$T/p.ini" >/dev/null 2>"$T/err"; rc=$?
tap_check "a first tracking round (the baseline) queues nothing ($rc)" \
    [ $rc -eq 0 -a "$(q "select count(*) from jobs where state = 1")" = 0 ]
tool 2.0 && rm -f "$M/pool/teamtool_1.0_all.deb"
sleep 1 # a new mtime: the mirror's Last-Modified has whole seconds
index
tp track -c "$T/p.ini" >/dev/null 2>"$T/err"; rc=$?
queued=$(q "select group_concat(image || ':' || reason, ' ') from jobs where state = 1")
tap_check "teamtool 2.0 is tracked: only custom is queued ($queued)" \
    [ $rc -eq 0 -a "$queued" = "custom:package" ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 3 "$T/err")"
SOURCE_DATE_EPOCH=1700000000 tp run -c "$T/p.ini" 2>"$T/err"; rc=$?
tap_check "temper run exits 0 ($rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 5 "$T/err")"
tap_check "custom was rebuilt, base and app were not" \
    [ "$(q "select group_concat(image || ':' || n, ' ') from (select image, count(*) n from runs where status = 0 group by image order by image)")" = "app:1 base:1 custom:2" ]
c2=$(pub custom digest); lc2=$(pub custom layout)
tap_check "and republished with a new digest" [ -n "$c2" -a "$c2" != "$c1" ]
tap_check "its package layer has teamtool 2.0" [ "$(teamtool_in "$lc2" "$c2")" = 2.0 ]
layers "$lc2" "$c2" > "$T/cl2"
tap_check "still on app's exact layers" [ "$(head -n "$na" "$T/cl2")" = "$(cat "$T/al")" ]
v=$(q "select version from build_packages where name = 'teamtool' and build_id = (select max(b.id) from builds b where b.image = 'custom')")
tap_check "the store records teamtool 2.0 for custom ($v)" [ "$v" = 2.0 ]
tap_done

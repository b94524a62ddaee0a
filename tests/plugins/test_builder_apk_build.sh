#!/bin/sh
# builder_apk end to end: `temper build` against a loopback Alpine repository
# that holds the REAL alpine-baselayout .apk (tests/plugins/apk_repo.py),
# the layout read back with umoci and skopeo: files and modes of the
# package, apk's installed database, reproducible digests across
# directories and time, the dev variant, several platforms, the packages
# recorded in the store.
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}" "${TEMPER_DATA:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost
PY=${PYTHON3:-python3}
for tool in umoci skopeo openssl sqlite3 "$PY"; do
    if ! command -v "$tool" >/dev/null; then
        echo "Bail out! $tool missing: apt-get install -y umoci skopeo openssl sqlite3 python3"
        exit 1
    fi
done
n=0; fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
tmp=$(mktemp -d /tmp/temper-apkbuild-XXXXXX)
srv=
cleanup() {
    [ -n "$srv" ] && kill "$srv" 2>/dev/null
    chmod -R u+w "$tmp" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
. "$TEMPER_SRCDIR/tests/lib/apk_repo.sh"
apk_repo_start "$tmp"

# pipeline NAME: its own store, work and cache directories
pipeline() {
    mkdir -p "$tmp/$1/images"
    cat >"$tmp/$1/p.ini" <<INI
[core]
store = sqlite:$tmp/$1/state.db
workdir = $tmp/$1/work
cache_dir = $tmp/$1/cache
images = images/*.ini

[pipeline]
stages = builder.apk

[builder "apk"]
plugin = apk
repositories = http://127.0.0.1:$port/main
keys = $key
INI
    printf '[image]\nname = base\ndistribution = alpine:v3.16\npackages = alpine-baselayout\n' \
        >"$tmp/$1/images/base.ini"
    printf '[image]\nname = sh\npackages = busybox-binsh\n' >"$tmp/$1/images/sh.ini"
    printf '[image]\nname = evil\npackages = evil-symlink\n' >"$tmp/$1/images/evil.ini"
}
build() { # pipeline image out [args]
    p=$1; img=$2; out=$3; shift 3
    "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" -q build -c "$tmp/$p/p.ini" "$img" -o "$out" "$@"
}
mode() { stat -c %a "$1" 2>/dev/null; }

pipeline one
pipeline two
d1=$(build one base "$tmp/out1" --platform linux/arm64 2>"$tmp/err"); rc=$?
ok $rc "temper build exits 0"
echo "$d1" | grep -qE '^sha256:[0-9a-f]{64}$'; ok $? "and prints the manifest digest"
[ $rc = 0 ] || sed 's/^/# /' "$tmp/err"

skopeo inspect "oci:$tmp/out1:latest" >"$tmp/inspect" 2>&1
ok $? "skopeo inspect oci:DIR:latest"
grep -q '"Architecture": "arm64"' "$tmp/inspect" && grep -q '"Os": "linux"' "$tmp/inspect"
ok $? "linux/arm64 image"
grep -q "\"Digest\": \"$d1\"" "$tmp/inspect"; ok $? "skopeo sees the printed digest"
grep -q '"Created": "2022-09-11T20:08:26Z"' "$tmp/inspect"
ok $? "no SOURCE_DATE_EPOCH: the newest package build time is the clamp"

umoci unpack --rootless --image "$tmp/out1:latest" "$tmp/b1" >/dev/null 2>&1
ok $? "umoci unpack --rootless"
r=$tmp/b1/rootfs
for f in etc/motd etc/profile.d/locale.sh lib/sysctl.d/00-alpine.conf etc/modprobe.d/aliases.conf \
    etc/passwd lib/ld-musl-aarch64.so.1; do
    [ -f "$r/$f" ]; ok $? "/$f is there"
done
[ "$(mode "$r/etc/crontabs/root")" = 600 ]; ok $? "/etc/crontabs/root is 0600"
[ "$(mode "$r/sbin/mkmntdirs")" = 755 ] && [ -x "$r/sbin/mkmntdirs" ]; ok $? "/sbin/mkmntdirs is 0755"
[ "$(mode "$r/tmp")" = 1777 ]; ok $? "/tmp is 1777"
[ "$(mode "$r/var/empty")" = 555 ]; ok $? "/var/empty is 0555"
[ "$(mode "$r/root")" = 700 ]; ok $? "/root is 0700"
[ "$(readlink "$r/var/run")" = /run ]; ok $? "/var/run -> /run"
[ ! -e "$r/bin/sh" ] && [ ! -L "$r/bin/sh" ] && [ ! -e "$r/bin/busybox" ]
ok $? "runtime variant: no shell (hardening)"
[ "$(mode "$r/bin/bbsuid")" = 755 ]; ok $? "the setuid bit is gone (hardening)"
grep -q '^nonroot:x:65532:65532:' "$r/etc/passwd" && grep -q '^root:x:0:0:' "$r/etc/passwd"
ok $? "/etc/passwd keeps the package's root and gains nonroot 65532"
grep -Eq '^ID="?alpine"?$' "$r/etc/os-release" && grep -Eq '^VERSION_ID="?3.16"?$' "$r/etc/os-release"
ok $? "/etc/os-release says alpine 3.16"
grep -q '"User": "65532"' "$tmp/inspect" 2>/dev/null || skopeo inspect --config "oci:$tmp/out1:latest" 2>/dev/null | grep -q '"User": "65532"'
ok $? "runs as 65532"
[ ! -e "$r/.PKGINFO" ] && [ ! -e "$r/.pre-install" ] && [ ! -e "$r/.post-install" ]
ok $? "no control file of the package in the image"
db=$r/lib/apk/db/installed
grep -A2 '^P:alpine-baselayout$' "$db" | grep -q '^V:3.2.0-r23$'; ok $? "installed lists alpine-baselayout 3.2.0-r23"
grep -q '^C:Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=$' "$db"; ok $? "with its C: checksum"
[ "$(grep -c '^P:' "$db")" = 5 ]; ok $? "five packages installed"
awk '/^F:etc\/crontabs$/ { f = 1 } f && /^R:root$/ { r = 1 } r && /^a:0:0:600$/ { print; exit }' "$db" |
    grep -q .; ok $? "file entries with owner and mode (F:/R:/a:)"
grep -q '^Z:Q1' "$db"; ok $? "and Z: checksums"
[ ! -e "$r/etc/apk/world" ]; ok $? "runtime variant: no /etc/apk/world"
[ -z "$(ls -A "$tmp/canary")" ]; ok $? "nothing outside the image root"

layer=$("$PY" -c 'import json,sys
d=sys.argv[1]
m=json.load(open(d+"/index.json"))["manifests"][0]["digest"][7:]
print(json.load(open(d+"/blobs/sha256/"+m))["layers"][0]["digest"][7:])' "$tmp/out1")
tar --numeric-owner -tvzf "$tmp/out1/blobs/sha256/$layer" >"$tmp/list" 2>/dev/null
grep -q '^-rw-r----- 0/42 .* etc/shadow$' "$tmp/list"; ok $? "owners come from the packages (etc/shadow 0/42)"

sleep 1
d2=$(build two base "$tmp/elsewhere/out2" --platform linux/arm64 2>/dev/null)
[ -n "$d2" ] && [ "$d1" = "$d2" ]; ok $? "another directory, another time: the same digest"
cmp -s "$tmp/out1/blobs/sha256/$layer" "$tmp/elsewhere/out2/blobs/sha256/$layer"
ok $? "byte-identical layer"
d3=$(SOURCE_DATE_EPOCH=1700000000 build one base "$tmp/out3" --platform linux/arm64 2>/dev/null)
d4=$(SOURCE_DATE_EPOCH=1700000000 build two base "$tmp/out4" --platform linux/arm64 2>/dev/null)
[ -n "$d3" ] && [ "$d3" = "$d4" ] && [ "$d3" != "$d1" ]; ok $? "SOURCE_DATE_EPOCH: equal to each other, not to the default"
skopeo inspect "oci:$tmp/out3:latest" 2>/dev/null | grep -q '"Created": "2023-11-14T22:13:20Z"'
ok $? "created = SOURCE_DATE_EPOCH"
f1=$(SOURCE_DATE_EPOCH=4102444800 build one base "$tmp/fut1" --platform linux/arm64 2>/dev/null)
sleep 1
f2=$(SOURCE_DATE_EPOCH=4102444800 build two base "$tmp/fut2" --platform linux/arm64 2>/dev/null)
[ -n "$f1" ] && [ "$f1" = "$f2" ]; ok $? "a SOURCE_DATE_EPOCH in the future clamps nothing, still the same digest"
du=$( (umask 077; build two base "$tmp/umask" --platform linux/arm64 2>/dev/null) )
[ "$du" = "$d1" ]; ok $? "umask 077 changes nothing"

build one base "$tmp/out5" --platform linux/arm64 --variant dev >/dev/null 2>&1
ok $? "dev variant builds"
umoci unpack --rootless --image "$tmp/out5:latest-dev" "$tmp/b5" >/dev/null 2>&1
ok $? "tagged latest-dev"
[ "$(cat "$tmp/b5/rootfs/etc/apk/world" 2>/dev/null)" = alpine-baselayout ]; ok $? "dev: /etc/apk/world"
[ "$(readlink "$tmp/b5/rootfs/bin/sh")" = /bin/busybox ] && [ -f "$tmp/b5/rootfs/bin/busybox" ]
ok $? "dev: /bin/sh -> /bin/busybox (busybox-binsh provides /bin/sh)"
grep -qx "http://127.0.0.1:$port/main" "$tmp/b5/rootfs/etc/apk/repositories" 2>/dev/null
ok $? "dev: /etc/apk/repositories"
[ -f "$tmp/b5/rootfs/etc/apk/keys/$(basename "$key")" ]; ok $? "dev: the signing key in /etc/apk/keys"

pk=$(sqlite3 "$tmp/one/state.db" "select group_concat(name, ' ') from (select distinct name from build_packages order by name)")
echo "$pk" | grep -q 'alpine-baselayout alpine-baselayout-data busybox busybox-binsh musl'
ok $? "the store records the packages of the build ($pk)"

dm=$(build one sh "$tmp/out6" --platform linux/arm64,linux/amd64 2>/dev/null); ok $? "two platforms build"
skopeo inspect --raw "oci:$tmp/out6:latest" 2>/dev/null | grep -q 'image.index.v1+json'
ok $? "an image index"
skopeo inspect --override-arch amd64 "oci:$tmp/out6:latest" 2>/dev/null | grep -q '"Architecture": "amd64"'
ok $? "with an amd64 image"
skopeo inspect --override-arch arm64 "oci:$tmp/out6:latest" 2>/dev/null | grep -q '"Architecture": "arm64"'
ok $? "and an arm64 image"

build one evil "$tmp/out7" --platform linux/arm64 2>"$tmp/err"; rc=$?
[ $rc = 1 ]; ok $? "a hostile package fails the build (exit 1)"
grep -q "entry 'escape/pwned': its directory is a symlink of the same package" "$tmp/err"
ok $? "and says why"
[ -z "$(ls -A "$tmp/canary")" ]; ok $? "nothing outside the image root"
echo "1..$n"
exit $fail

#!/bin/sh
# temper track end to end with [tracker "debian"]: a repository signed with a
# throwaway gpg key served by tests/lib/httpd.py on loopback, a sqlite store
# holding builds of three images (recorded by pkgtrack_seed), and three
# rounds of the real `temper track --json`:
#   1. the first round records a baseline: nothing printed, no job;
#   2. libssl3 moved: one change, one job for the image that contains it and
#      is in its support window (not the one past support_until, not the one
#      without the package);
#   3. nothing changed: the InRelease answers 304, nothing printed.
# Needs python3, gpg (+ gpg-agent, gpgconf), gpgv, gzip, sha256sum.
: "${TEMPER_BIN:?}" "${TEMPER_BUILDDIR:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
PYTHON3=${PYTHON3:-python3}
seed=$TEMPER_BUILDDIR/tests/plugins/pkgtrack_seed
for tool in gpg gpgv gpgconf gzip sha256sum "$PYTHON3"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool is not installed"
        exit 0
    fi
done
if [ ! -f "$TEMPER_PLUGINS/tracker_debian/.libs/tracker_debian.so" ] || [ ! -x "$seed" ]; then
    echo "1..0 # SKIP no shared tracker_debian module (static build)"
    exit 0
fi
n=0; fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
tmp=$(mktemp -d /tmp/temper-debe2e-XXXXXX)
srv=
cleanup() {
    [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
    GNUPGHOME=$tmp/gnupg gpgconf --kill gpg-agent 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
export GNUPGHOME="$tmp/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpgq() { gpg --batch --quiet --yes --pinentry-mode loopback --passphrase '' "$@" 2>/dev/null; }
gpgq --quick-gen-key 'temper e2e <e2e@temper.invalid>' ed25519 sign never &&
    gpgq --output "$tmp/keyring.gpg" --export
ok $? "a throwaway signing key"

day() { date -u -d "@$1" '+%a, %d %b %Y %H:%M:%S UTC'; }
now=$(date +%s)

# mkrepo TAG DATE: $tmp/TAG.Packages(.gz) and $tmp/TAG.InRelease
mkrepo() {
    gzip -k -n -f "$tmp/$1.Packages" || return 1
    sum() { sha256sum "$1" | cut -c1-64; }
    size() { wc -c < "$1" | tr -d ' '; }
    {
        echo "Origin: Debian"; echo "Label: Debian"; echo "Suite: stable"
        echo "Codename: bookworm"; echo "Date: $(day "$2")"
        echo "Valid-Until: $(day $((now + 86400)))"; echo "Acquire-By-Hash: yes"
        echo "Architectures: amd64"; echo "Components: main"; echo "SHA256:"
        echo " $(sum "$tmp/$1.Packages") $(size "$tmp/$1.Packages") main/binary-amd64/Packages"
        echo " $(sum "$tmp/$1.Packages.gz") $(size "$tmp/$1.Packages.gz")" \
             "main/binary-amd64/Packages.gz"
    } > "$tmp/$1.Release"
    gpgq --output "$tmp/$1.InRelease" --clearsign "$tmp/$1.Release"
}
stanza() { printf 'Package: %s\nVersion: %s\nArchitecture: amd64\n%sDescription: t\n\n' \
    "$1" "$2" "${3:+Source: $3
}"; }
{ stanza libssl3 3.0.11-1~deb12u1 openssl; stanza zlib1g 1:1.2.13.dfsg-1 zlib;
  stanza curl 7.88.1-10+deb12u5; } > "$tmp/r1.Packages"
{ stanza libssl3 3.0.11-1~deb12u2 openssl; stanza zlib1g 1:1.2.13.dfsg-1 zlib;
  stanza curl 7.88.1-10+deb12u5; } > "$tmp/r2.Packages"
mkrepo r1 $((now - 7200)) && mkrepo r2 $((now - 3600))
ok $? "two signed repository states"

d=/debian/dists/bookworm
h1=$(sha256sum "$tmp/r1.Packages.gz" | cut -c1-64)
h2=$(sha256sum "$tmp/r2.Packages.gz" | cut -c1-64)
cat > "$tmp/routes.json" <<JSON
{"routes": {
  "$d/InRelease": {"sequence": [
      {"body_file": "$tmp/r1.InRelease", "etag": "\"r1\""},
      {"body_file": "$tmp/r2.InRelease", "etag": "\"r2\""}]},
  "$d/main/binary-amd64/by-hash/SHA256/$h1": {"body_file": "$tmp/r1.Packages.gz"},
  "$d/main/binary-amd64/by-hash/SHA256/$h2": {"body_file": "$tmp/r2.Packages.gz"}
}}
JSON
"$PYTHON3" "$TEMPER_SRCDIR/tests/lib/httpd.py" --script "$tmp/routes.json" > "$tmp/port" &
srv=$!
port=
for _ in $(seq 1 100); do
    port=$(sed -n 's/^PORT //p' "$tmp/port")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ]; ok $? "loopback server up"

mkdir "$tmp/images"
cat > "$tmp/p.ini" <<INI
[core]
store = sqlite:$tmp/state.db
workdir = $tmp/work
cache_dir = $tmp/cache
images = images/*.ini

[pipeline]
stages =

[tracker "debian"]
plugin = debian
mirror = http://127.0.0.1:$port/debian
suite = bookworm
keyring = $tmp/keyring.gpg
retries = 0
timeout = 10s
INI
img() { printf '[image]\nname = %s\ndistribution = debian:bookworm\n%s' "$1" \
    "${2:+support_until = $2
}" > "$tmp/images/$1.ini"; }
img web 2099-12-31
img legacy 2001-01-31
img tools 2099-12-31
"$seed" "$tmp/p.ini" web debian:bookworm libssl3=3.0.11-1~deb12u1/openssl \
    zlib1g=1:1.2.13.dfsg-1/zlib &&
    "$seed" "$tmp/p.ini" legacy debian:bookworm libssl3=3.0.11-1~deb12u1/openssl &&
    "$seed" "$tmp/p.ini" tools debian:bookworm curl=7.88.1-10+deb12u5
ok $? "builds recorded for web, legacy (past support_until) and tools"

run() { "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" track -c "$tmp/p.ini" "$@"; }
out=$(run 2>"$tmp/err"); rc=$?
ok $rc "round 1 exits 0"
[ -z "$out" ]; ok $? "round 1 records a baseline and prints nothing"
grep -q '1 tracker polled, 0 failed, 0 changes, 0 new jobs' "$tmp/err"; ok $? "round 1 summary"

out=$(run --json 2>"$tmp/err"); rc=$?
ok $rc "round 2 exits 0"
echo "$out" | sed 's/^/# /'
[ "$(echo "$out" | grep -c .)" = 1 ]; ok $? "round 2 prints one change"
echo "$out" | grep -q '"package":"libssl3"' &&
    echo "$out" | grep -q '"old_version":"3.0.11-1~deb12u1"' &&
    echo "$out" | grep -q '"new_version":"3.0.11-1~deb12u2"' &&
    echo "$out" | grep -q '"source_package":"openssl"' &&
    echo "$out" | grep -q '"distribution":"debian:bookworm"' &&
    echo "$out" | grep -q '"tracker":"tracker.debian"'
ok $? "the change names package, versions, source, distribution and tracker"
echo "$out" | grep -q '"jobs":\[{"image":"web","job":[0-9]*,"merged":false}\]'
ok $? "one job, for web only (legacy is past support_until, tools lacks libssl3)"

out=$(run --json 2>"$tmp/err"); rc=$?
ok $rc "round 3 exits 0"
[ -z "$out" ]; ok $? "round 3 with nothing changed prints nothing"
hits=$(curl -s "http://127.0.0.1:$port/_stats" 2>/dev/null ||
       "$PYTHON3" -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(
'http://127.0.0.1:$port/_stats').read().decode())")
echo "$hits" | grep -q "\"$d/InRelease\": 3" &&
    echo "$hits" | grep -q "\"$d/main/binary-amd64/by-hash/SHA256/$h2\": 1"
ok $? "round 3 made only the (conditional) InRelease request"
TEMPER_STATE_DIR=$tmp/example "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" validate \
    -c "$TEMPER_SRCDIR/conf/examples/track-packages.ini" >/dev/null 2>"$tmp/err"
ok $? "conf/examples/track-packages.ini validates"
echo "1..$n"
exit $fail

#!/bin/sh
# builder_deb on real Debian data: a loopback mirror made from this
# machine's apt lists (the signed InRelease, checked with gpgv and the
# Debian archive keyring) and `apt-get download`; images built through
# `temper build`, read back with skopeo and umoci, the interpreter run
# inside the unpacked root as uid 65532.
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
n=0; fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
if [ ! -f "$TEMPER_PLUGINS/builder_deb/.libs/builder_deb.so" ]; then
    echo "1..0 # SKIP no shared plugin modules (static build)"; exit 0
fi
for tool in skopeo umoci gpgv sqlite3 lz4; do
    command -v $tool >/dev/null || { echo "Bail out! $tool missing (apt-get install -y $tool)"; exit 1; }
done
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$KEYRING" ] || { echo "Bail out! $KEYRING missing (apt-get install -y debian-archive-keyring)"; exit 1; }
T=$(mktemp -d /tmp/temper-debreal-XXXXXX)
. "$TEMPER_SRCDIR/tests/plugins/deb_mirror.sh"
trap 'deb_stop; rm -rf "$T"' EXIT
if ! deb_real_mirror "$T/mirror" base-files tzdata ca-certificates netbase python3-minimal \
        --essential; then
    echo "1..0 # SKIP cannot lay out a mirror from this machine's apt"; exit 0
fi
deb_serve "$T/mirror" || { echo "Bail out! cannot start the mirror's HTTP server"; exit 1; }

mkdir -p "$T/images"
cat > "$T/p.ini" <<INI
[core]
store = sqlite:$T/state.db
workdir = \${DEB_WORK:-$T/work}
cache_dir = \${DEB_CACHE:-$T/cache}
images = images/*.ini

[pipeline]
stages = builder.deb, suite.command, suite.structure

[builder "deb"]
plugin = deb
mirror = \${DEB_MIRROR:-$DEB_URL}
keyring = $KEYRING

[suite "command"]
plugin = command

[suite "structure"]
plugin = structure
INI
cat > "$T/images/python.ini" <<INI
[image]
name = python
distribution = debian:$DEB_SUITE
packages = python3-minimal
entrypoint = /usr/bin/python3

[build]
source = https://www.python.org/

[test "computes"]
suite = command
command = /usr/bin/python3 -c "print(6*7)"
expected_output = ^42$

[test "runs-as-nonroot"]
suite = command
command = /usr/bin/python3 -c "import os; print(os.getuid())"
expected_output = ^65532$

[test "interpreter"]
suite = structure
path = /usr/bin/python3
executable = yes
INI
printf '[image]\nname = static\ndistribution = debian:%s\npackages = base-files tzdata ca-certificates netbase\n' \
    "$DEB_SUITE" > "$T/images/static.ini"
build() { "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" build -c "$T/p.ini" "$@" 2>"$T/err"; }
unpack() { rm -rf "$2"; umoci unpack --rootless --image "$1" "$2" >/dev/null 2>&1; }

# (a) the static image
d=$(build static -o "$T/static"); ok $? "static image builds"
echo "$d" | grep -qE '^sha256:[0-9a-f]{64}$'; ok $? "temper build prints the manifest digest"
skopeo inspect "oci:$T/static:latest" > "$T/inspect" 2>&1; ok $? "skopeo reads the layout"
grep -q "\"Digest\": \"$d\"" "$T/inspect"; ok $? "skopeo sees the same digest"
unpack "$T/static:latest" "$T/b-static"; ok $? "umoci unpacks it"
R=$T/b-static/rootfs
[ -f "$R/usr/share/zoneinfo/UTC" ] && [ -f "$R/etc/services" ] && [ -f "$R/etc/debian_version" ]
ok $? "tzdata, netbase and base-files are in the image"
grep -q '^Package: ca-certificates$' "$R/var/lib/dpkg/status" && [ -f "$R/var/lib/dpkg/status.d/tzdata" ]
ok $? "dpkg status and status.d list the packages"
grep -q '^nonroot:x:65532:65532:' "$R/etc/passwd" && grep -q '^nonroot:x:65532:' "$R/etc/group"
ok $? "passwd and group have nonroot 65532"
grep -q '^IMAGE_ID="static"' "$R/etc/os-release" && grep -q '^ID="debian"' "$R/etc/os-release"
ok $? "os-release names the image and keeps the distribution"
[ -f "$R/usr/share/doc/tzdata/copyright" ] && ! ls "$R/usr/share/doc/tzdata/" | grep -q changelog &&
    [ ! -d "$R/usr/share/man" ]
ok $? "docs dropped, copyright files kept"
[ -z "$(find "$R" -perm /6000 2>/dev/null)" ]; ok $? "no setuid or setgid file"
[ -z "$(find "$R" -perm -0002 ! -type l ! -perm -1000 2>/dev/null)" ]; ok $? "nothing world-writable without the sticky bit"
sqlite3 "$T/state.db" "select sha256 from build_packages where name = 'tzdata'" | grep -qE '^[0-9a-f]{64}$'
ok $? "packages recorded in the store with their sha256"

# (b) python3-minimal, run as 65532
d1=$(build python -o "$T/py1"); ok $? "python3-minimal image builds"
unpack "$T/py1:latest" "$T/b-py"; R=$T/b-py/rootfs
if [ "$(id -u)" = 0 ]; then
    out=$(chroot --userspec=65532:65532 "$R" /usr/bin/python3 -c 'print(6*7)' 2>&1)
    [ "$out" = 42 ]; ok $? "python3 runs inside the root as 65532 ($out)"
else
    n=$((n+1)); echo "ok $n # SKIP chroot needs root"
fi
# the image's own tests through temper test: commands run inside the built
# image (its user, no network) and the structure and hardening checks
"$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" test -c "$T/p.ini" python --layout "$T/py1" \
    >"$T/test.out" 2>"$T/test.err"; rc=$?
[ $rc -eq 0 ]; ok $? "temper test passes on the built image (exit $rc)"
grep -q '^PASS  command/computes$' "$T/test.out" &&
    grep -q '^PASS  command/runs-as-nonroot$' "$T/test.out"
ok $? "python3 computes 42 inside the image as 65532, through suite_command"
grep -q '^PASS  hardening/no-shell-in-runtime$' "$T/test.out" &&
    grep -q '^PASS  structure/interpreter$' "$T/test.out"
ok $? "structure and hardening checks pass"
[ ! -e "$R/bin/sh" ] && [ ! -e "$R/usr/bin/dpkg" ] && [ ! -e "$R/bin/dash" ]
ok $? "runtime variant: no shell, no package manager"
skopeo inspect --config "oci:$T/py1:latest" > "$T/cfg" 2>&1
grep -q '"User": "65532"' "$T/cfg" && grep -q '"/usr/bin/python3"' "$T/cfg"
ok $? "config: User 65532 and the entrypoint"
grep -q '"org.opencontainers.image.version": "3\.' "$T/cfg" &&
    grep -q '"org.opencontainers.image.source": "https://www.python.org/"' "$T/cfg"
ok $? "labels carry the upstream version and source"
grep -q '^Package: libpython3.*-minimal$' "$R/var/lib/dpkg/status" &&
    ! grep -q '^Package: dpkg$' "$R/var/lib/dpkg/status"
ok $? "closure followed, Essential dependencies (dpkg) not dragged in"

# reproducibility: another cache (same downloads, no layers), work and
# output directory, later
sleep 1
mkdir -p "$T/cache2" && cp -al "$T/cache/builder_deb" "$T/cache2/" && rm -rf "$T/cache2/builder_deb/layers"
d2=$(DEB_CACHE=$T/cache2 DEB_WORK=$T/work2 build python -o "$T/py2"); ok $? "second cold build"
[ -n "$d1" ] && [ "$d1" = "$d2" ]; ok $? "same packages, same digest ($d1)"
cmp -s "$T/py1/index.json" "$T/py2/index.json"; ok $? "byte-identical index.json"
d3=$(build python -o "$T/py3"); ok $? "warm rebuild"
[ "$d3" = "$d1" ]; ok $? "warm rebuild gives the same digest"

# (c) dev variant: shell and package manager
build python --variant dev -o "$T/dev" >/dev/null; ok $? "dev variant builds"
unpack "$T/dev:latest" "$T/b-dev"; R=$T/b-dev/rootfs
[ -e "$R/bin/sh" ] && [ -x "$R/usr/bin/dpkg" ]; ok $? "dev variant has a shell and dpkg"
if [ "$(id -u)" = 0 ]; then
    out=$(chroot "$R" /bin/sh -c 'echo $((6*7))' 2>&1)
    [ "$out" = 42 ]; ok $? "the dev shell runs ($out)"
else
    n=$((n+1)); echo "ok $n # SKIP chroot needs root"
fi

# a tampered InRelease is refused by gpgv
cp -r "$T/mirror" "$T/bad" 2>/dev/null
sed -i 's/^Origin: Debian$/Origin: Debiam/' "$T/bad/dists/$DEB_SUITE/InRelease"
deb_stop; deb_serve "$T/bad"
DEB_MIRROR=$DEB_URL DEB_CACHE=$T/cache3 build python -o "$T/badout" >/dev/null; rc=$?
[ $rc -eq 1 ] && grep -q "signature not valid" "$T/err"; ok $? "tampered InRelease refused"
echo "1..$n"
exit $fail

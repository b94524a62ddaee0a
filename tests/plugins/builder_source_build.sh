#!/bin/sh
# builder_source end to end: a release tarball this test makes (a small C
# program with a plain Makefile, plus a patch) is compiled with gcc and make
# from real Debian packages (a loopback mirror of this machine's apt lists
# and `apt-get download`, signatures checked with gpgv) inside the sandbox,
# layered onto a hardened base, then run inside the image by suite_command
# through `temper test`.  Also: equal inputs give equal digests, the
# provenance (attest_slsa) lists the tarball, its sha256, the patch and the
# build dependencies, and hostile recipes and tarballs fail cleanly: a step
# that connects to a port this test listens on (no network in the sandbox),
# a step that writes outside /staging, '../' and symlink-escape entries, a
# wrong or changed sha256.
#
# The build root (gcc, make, libc6-dev and the Essential set) is cached in
# $TEMPER_SOURCE_ROOT_CACHE (default /var/tmp/temper-test-source-roots-UID,
# shared by every build directory of this user: roots are keyed by the
# sha256 of their package set and renamed into place whole) so that it is
# unpacked once, not on every run of every configuration.
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}" "${TEMPER_BUILDDIR:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
PYTHON3=${PYTHON3:-python3}
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
if [ ! -f "$TEMPER_PLUGINS/builder_source/.libs/builder_source.so" ]; then
    tap_skip_all "no shared plugin modules (static build)"
fi
for tool in gpgv lz4 tar; do
    command -v $tool >/dev/null || { echo "Bail out! $tool missing (apt-get install -y $tool)"; exit 1; }
done
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$KEYRING" ] || { echo "Bail out! $KEYRING missing (apt-get install -y debian-archive-keyring)"; exit 1; }
T=$(mktemp -d /tmp/temper-source-XXXXXX)
CACHE=${TEMPER_SOURCE_ROOT_CACHE:-/var/tmp/temper-test-source-roots-$(id -u)}
LPID=
. "$TEMPER_SRCDIR/tests/plugins/deb_mirror.sh"
trap 'deb_stop; [ -n "$LPID" ] && kill "$LPID" 2>/dev/null; rm -rf "$T"' EXIT
if ! deb_real_mirror "$T/mirror" gcc make libc6-dev base-files --essential; then
    [ "${CI:-}" = true ] && { echo "Bail out! cannot lay out a mirror from apt"; exit 1; }
    tap_skip_all "cannot lay out a mirror from this machine's apt"
fi
deb_serve "$T/mirror" || { echo "Bail out! cannot start the mirror's HTTP server"; exit 1; }

# ---- the upstream release and a patch ----
mkdir -p "$T/up/hello-1.0"
cat > "$T/up/hello-1.0/hello.c" <<'C'
#include <stdio.h>

int main(void)
{
    printf("hello from source, %s\n", GREETING);
    return 0;
}
C
cat > "$T/up/hello-1.0/Makefile" <<'MK'
CC ?= cc
PREFIX ?= /usr
hello: hello.c
	$(CC) -O2 -DGREETING='"unpatched"' -o $@ hello.c
install: hello
	install -D -m 0755 hello $(DESTDIR)$(PREFIX)/bin/hello
	install -D -m 0644 hello.c $(DESTDIR)$(PREFIX)/share/hello/hello.c
MK
mktar() { (cd "$1" && tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner \
    -czf "$2" "$3"); }
mktar "$T/up" "$T/hello-1.0.tar.gz" hello-1.0
cat > "$T/greeting.patch" <<'P'
From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001
From: Upstream Dev <dev@example.org>
Date: Mon, 13 Nov 2023 22:13:20 +0000
Subject: [PATCH] greet as patched

---
 Makefile | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/Makefile b/Makefile
--- a/Makefile
+++ b/Makefile
@@ -2,4 +2,4 @@ CC ?= cc
 PREFIX ?= /usr
 hello: hello.c
-	$(CC) -O2 -DGREETING='"unpatched"' -o $@ hello.c
+	$(CC) -O2 -DGREETING='"patched"' -o $@ hello.c
 install: hello
--
2.39.2
P
SHA=$(sha256sum "$T/hello-1.0.tar.gz" | cut -d' ' -f1)
PSHA=$(sha256sum "$T/greeting.patch" | cut -d' ' -f1)

# ---- pipeline and images ----
mkdir -p "$T/images" "$CACHE"
cat > "$T/p.ini" <<INI
[core]
store = sqlite:$T/state.db
workdir = \${SRC_WORK:-$T/work}
cache_dir = $T/cache
images = images/*.ini

[pipeline]
stages = builder.source, suite.command

[builder "source"]
plugin = source
mirror = $DEB_URL
keyring = $KEYRING
cache_dir = $CACHE
timeout = 120s

[suite "command"]
plugin = command
INI
# image NAME TARBALL SHA256-LINE STEP... : a definition of the hello program
image() {
    name=$1; tarball=$2; shaline=$3; shift 3
    {
        printf '[image]\nname = %s\ndistribution = debian:%s\n' "$name" "$DEB_SUITE"
        printf 'packages = base-files\nentrypoint = /usr/bin/hello\n\n[build]\n'
        printf 'tarball = %s\n%s\nbuild_depends = gcc make libc6-dev\n' "$tarball" "$shaline"
        printf 'install = /usr/bin/*\npatch = %s\n' "$T/greeting.patch"
        for s in "$@"; do printf 'step = %s\n' "$s"; done
        printf '\n[test "runs"]\nsuite = command\ncommand = /usr/bin/hello\n'
        printf 'expected_output = ^hello from source, patched$\n'
    } > "$T/images/$name.ini"
}
RECIPE1="make CC=gcc"
RECIPE2="make install DESTDIR=/staging"
image hello "$T/hello-1.0.tar.gz" "sha256 = $SHA" "$RECIPE1" "$RECIPE2"
build() { "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" build -c "$T/p.ini" "$@" 2>"$T/err"; }

# ---- the shipped example validates ----
(cd "$T" && TEMPER_STATE_DIR=$T/ex "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" validate \
    -c "$TEMPER_SRCDIR/conf/examples/source/pipeline.ini") >"$T/ex.out" 2>&1
tap_check "conf/examples/source validates" grep -q ': ok: .*builder.source.*1 image, 0 warnings' "$T/ex.out"

# ---- a real build ----
d1=$(build hello -o "$T/o1"); rc=$?
tap_check "the tarball builds into an image (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' "$T/err" | tail -n 30
tap_check "temper build prints the manifest digest" sh -c "echo '$d1' | grep -qE '^sha256:[0-9a-f]{64}$'"
"$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" test -c "$T/p.ini" hello --layout "$T/o1" \
    >"$T/test.out" 2>"$T/test.err"; rc=$?
tap_check "temper test: the patched program runs inside the image (exit $rc)" \
    grep -q '^PASS  command/runs$' "$T/test.out"
grep -q "runtime package libc6" "$T/err"
tap_check "libc.so.6 of the ELF NEEDED entries mapped to libc6" [ $? -eq 0 ]
"$PYTHON3" "$TEMPER_SRCDIR/tests/lib/source_test.py" layers "$T/o1" > "$T/layers"
tap_check "two layers: the hardened base, then only the selected staged files" \
    sh -c "grep -q '^1 usr/bin/hello 0 ' '$T/layers' && ! grep -q '^1 usr/share' '$T/layers' && \
           [ \$(awk '\$1==1' '$T/layers' | wc -l) -eq 3 ]"
tap_check "the base has libc6 and base-files, not the compiler, make or a shell" \
    sh -c "grep -q '^0 var/lib/dpkg/status.d/libc6 ' '$T/layers' && \
           ! grep -qE '^0 (usr/bin/(gcc|make|cc)|bin/(sh|bash|dash)|usr/bin/(bash|dash)) ' '$T/layers'"
tap_check "every mtime clamped to the tarball's date" \
    sh -c "[ -z \"\$(awk '\$4 > 1700000000' '$T/layers')\" ]"

# ---- reproducible: another work dir and output, same digest ----
d2=$(SRC_WORK=$T/work2 build hello -o "$T/o2"); rc=$?
tap_check "a second build succeeds (exit $rc)" [ $rc -eq 0 ]
tap_check "same inputs, same digest ($d1)" [ -n "$d1" ] && [ "$d1" = "$d2" ]

# ---- provenance: attest_slsa over the builder's artifact ----
if [ -x "$TEMPER_BUILDDIR/tests/plugins/builder_source_prov" ]; then
    SRC_MIRROR=$DEB_URL SRC_KEYRING=$KEYRING SRC_CACHE=$CACHE SRC_SUITE=$DEB_SUITE \
        SRC_TARBALL=$T/hello-1.0.tar.gz SRC_PATCH=$T/greeting.patch SRC_WORK=$T \
        "$TEMPER_BUILDDIR/tests/plugins/builder_source_prov" > "$T/prov.json" 2>"$T/prov.err"
    rc=$?
    tap_check "provenance: builder_source then attest_slsa in one run (exit $rc)" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || sed 's/^/# /' "$T/prov.err" | tail -n 20
    "$PYTHON3" - "$T/prov.json" "$SHA" "$PSHA" > "$T/prov.check" 2>&1 <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
deps = st["predicate"]["buildDefinition"]["resolvedDependencies"]
by = {d.get("name"): d for d in deps}
src = by["source"]
assert src["uri"].endswith("/hello-1.0.tar.gz"), src
assert src["digest"]["sha256"] == sys.argv[2], src
assert by["patch:greeting.patch"]["digest"]["sha256"] == sys.argv[3]
gcc = [d for d in deps if d["name"].startswith("pkg:deb/debian/gcc-12@")]
assert gcc and len(gcc[0]["digest"]["sha256"]) == 64 and gcc[0]["uri"].endswith(".deb"), gcc
assert any(d["name"].startswith("pkg:deb/debian/libc6-dev@") for d in deps)
assert any(d["name"].startswith("pkg:deb/debian/libc6@") for d in deps)
print("ok")
PY
    tap_check "provenance lists the tarball + sha256, the patch + sha256 and the build dependencies" \
        grep -qx ok "$T/prov.check"
    grep -v '^ok$' "$T/prov.check" | sed 's/^/# /' | tail -n 5
else
    tap_skip "provenance" "builder_source_prov not built"
fi

# ---- hostile recipes ----
"$PYTHON3" "$TEMPER_SRCDIR/tests/lib/source_test.py" listen "$T/connected" > "$T/lport" &
LPID=$!
i=0
while ! grep -q PORT "$T/lport" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(awk '/PORT/ { print $2 }' "$T/lport")
image net "$T/hello-1.0.tar.gz" "sha256 = $SHA" "bash -c 'exec 3<>/dev/tcp/127.0.0.1/$PORT && echo connected'"
build net -o "$T/onet" >/dev/null; rc=$?
tap_check "a step that reaches for the network fails the build (exit $rc)" [ $rc -eq 1 ]
tap_check "and says which step and why" \
    grep -qE "step 1 .* exited with status 1: .*(unreachable|Network|Cannot assign)" "$T/err"
tap_check "the test's listener on 127.0.0.1:$PORT saw no connection" [ ! -e "$T/connected" ]
image escape "$T/hello-1.0.tar.gz" "sha256 = $SHA" "touch /usr/escaped" "$RECIPE2"
build escape -o "$T/oesc" >/dev/null; rc=$?
tap_check "a step writing outside /staging fails (exit $rc)" [ $rc -eq 1 ]
tap_check "with the file system's own reason" grep -q "step 1 'touch /usr/escaped' exited with status 1: .*Read-only file system" "$T/err"
tap_check "and the build root is untouched" sh -c "! ls '$CACHE'/roots/*/usr/escaped 2>/dev/null"
image slow "$T/hello-1.0.tar.gz" "sha256 = $SHA" "sleep 1000"
sed -i 's/^timeout = 120s$/timeout = 2s/' "$T/p.ini"
build slow -o "$T/oslow" >/dev/null; rc=$?
sed -i 's/^timeout = 2s$/timeout = 120s/' "$T/p.ini"
tap_check "a step past the time limit is killed (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'timed out after 2000 ms' '$T/err'"

# ---- hostile tarballs and checksums ----
"$PYTHON3" - "$T" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
def tar(name, entries):
    with tarfile.open(f"{d}/{name}", "w:gz") as t:
        for n, kind, data in entries:
            i = tarfile.TarInfo(n)
            if kind == "sym":
                i.type, i.linkname = tarfile.SYMTYPE, data
                t.addfile(i)
            else:
                i.size = len(data)
                t.addfile(i, io.BytesIO(data))
tar("dotdot.tar.gz", [("hello-1.0/ok", "f", b"x"), ("hello-1.0/../../evil", "f", b"x")])
tar("symlink.tar.gz", [("hello-1.0/etc", "sym", "/etc"), ("hello-1.0/up", "sym", "../../..")])
PY
image dotdot "$T/dotdot.tar.gz" "" "true"
build dotdot -o "$T/odd" >/dev/null; rc=$?
tap_check "a tarball with ../ entries is refused (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'dotdot.tar.gz.*evil' '$T/err' && [ ! -e '$T/evil' ]"
image symlink "$T/symlink.tar.gz" "" "true"
build symlink -o "$T/osl" >/dev/null; rc=$?
tap_check "a tarball with a symlink out of the tree is refused (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q \"symlink to '/etc' leaves the source tree\" '$T/err'"
image badsha "$T/hello-1.0.tar.gz" "sha256 = $(printf '%064d' 0)" "true"
build badsha -o "$T/obs" >/dev/null; rc=$?
tap_check "a wrong sha256 is refused (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'has sha256 $SHA, the definition pins 0000' '$T/err'"
# ---- hostile or stale patches ----
cat > "$T/escape.patch" <<'P'
--- a/../../escaped.txt
+++ b/../../escaped.txt
@@ -0,0 +1 @@
+owned
P
cat > "$T/stale.patch" <<'P'
--- a/hello.c
+++ b/hello.c
@@ -1,3 +1,3 @@
 #include <stdio.h>
-int main(int argc, char **argv)
+int main(void)
 {
P
for p in escape stale; do
    image "p$p" "$T/hello-1.0.tar.gz" "sha256 = $SHA" "true"
    sed -i "s|^patch = .*|patch = $T/$p.patch|" "$T/images/p$p.ini"
done
build pescape -o "$T/ope" >/dev/null; rc=$?
tap_check "a patch aimed outside the source tree is refused (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q \"escape.patch: path '../../escaped.txt' is outside the source tree\" '$T/err' && \
           [ ! -e '$T/work/escaped.txt' ]"
build pstale -o "$T/ops" >/dev/null; rc=$?
tap_check "a patch that does not apply fails the build (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'stale.patch: hello.c: hunk at line 3 does not apply' '$T/err'"

cp "$T/hello-1.0.tar.gz" "$T/moving.tar.gz"
image moving "$T/moving.tar.gz" "" "$RECIPE1" "$RECIPE2"
build moving -o "$T/om1" >/dev/null; rc=$?
tap_check "an unpinned tarball builds and its sha256 is recorded (exit $rc)" \
    sh -c "[ $rc -eq 0 ] && grep -q 'recording sha256 $SHA' '$T/err'"
printf 'x' >> "$T/moving.tar.gz"
build moving -o "$T/om2" >/dev/null; rc=$?
tap_check "a changed tarball at the same URL is refused (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'changed: sha256 .*recorded on its first fetch as $SHA' '$T/err'"
tap_done

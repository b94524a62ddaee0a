#!/bin/sh
# builder_source for an alpine:v3.19 image: the build root and the runtime
# base come from Alpine packages (signed APKINDEX, each .apk checked) put
# together by builder_apk's code compiled into builder_source.
#
# There is no Alpine mirror offline: the repository is made by this test
# (tests/lib/apk_from_deb.py) from Debian-provided binaries, in the real apk
# format: `busybox` is Debian's busybox-static, `musl` is Debian's musl laid
# out the Alpine way (/lib/ld-musl-x86_64.so.1, so:libc.musl-x86_64.so.1).
# The release tarball ships a program compiled before the build with
# musl-gcc (musl-tools) and its DT_NEEDED renamed to libc.musl-x86_64.so.1
# with patchelf (there is no compiler among these packages); the recipe,
# run by busybox sh in the sandbox, installs it and a patched data file into
# /staging.  The runtime image must get musl from the NEEDED mapping (the
# APKINDEX so: provides) and nothing else, and the program must run in it
# (suite_command through `temper test`).  Also: the provenance lists the
# tarball, its sha256, the patch and the Alpine build dependencies; hostile
# cases fail cleanly (network, writing outside /staging, wrong sha256, an
# index signed by an unknown key, a soname no package provides).
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}" "${TEMPER_BUILDDIR:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
PYTHON3=${PYTHON3:-python3}
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
if [ ! -f "$TEMPER_PLUGINS/builder_source/.libs/builder_source.so" ]; then
    tap_skip_all "no shared plugin modules (static build)"
fi
. "$TEMPER_SRCDIR/tests/lib/apk_from_deb.sh"
afd_need_tools
T=$(mktemp -d /tmp/temper-source-alpine-XXXXXX)
AFD_SRV=; LPID=
trap '[ -n "$AFD_SRV" ] && kill "$AFD_SRV" 2>/dev/null; [ -n "$LPID" ] && kill "$LPID" 2>/dev/null; rm -rf "$T"' EXIT
afd_repo_start "$T"

# ---- the upstream release: a prebuilt musl program, a data file, a patch ----
mkdir -p "$T/up/hello-1.0"
afd_hello "$T/up/hello-1.0"
cp "$T/up/hello-1.0/hello" "$T/up/hello-1.0/hello-nope"
patchelf --add-needed libnope.so.7 "$T/up/hello-1.0/hello-nope"
printf 'unpatched\n' > "$T/up/hello-1.0/greeting.txt"
(cd "$T/up" && tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner \
    -czf "$T/hello-1.0.tar.gz" hello-1.0)
cat > "$T/greeting.patch" <<'P'
--- a/greeting.txt
+++ b/greeting.txt
@@ -1 +1 @@
-unpatched
+patched
P
SHA=$(sha256sum "$T/hello-1.0.tar.gz" | cut -d' ' -f1)
PSHA=$(sha256sum "$T/greeting.patch" | cut -d' ' -f1)

mkdir -p "$T/images"
cat > "$T/p.ini" <<INI
[core]
store = sqlite:$T/state.db
workdir = $T/work
cache_dir = $T/cache
images = images/*.ini

[pipeline]
stages = builder.source, suite.command

[builder "source"]
plugin = source
repositories = \${SRC_REPO:-$REPO}
keys = \${SRC_KEY:-$KEY}
cache_dir = $T/cache
timeout = 60s

[suite "command"]
plugin = command
INI
INSTALL1="mkdir -p /staging/usr/bin && cp hello /staging/usr/bin/hello && chmod 0755 /staging/usr/bin/hello"
INSTALL2="mkdir -p /staging/usr/share/hello && cp greeting.txt /staging/usr/share/hello/"
# image NAME SHA256-LINE STEP... : an alpine:v3.19 definition of the hello program
image() {
    name=$1; shaline=$2; shift 2
    {
        printf '[image]\nname = %s\ndistribution = alpine:v3.19\n' "$name"
        printf 'entrypoint = /usr/bin/hello\n\n[build]\n'
        printf 'tarball = %s\n%s\nbuild_depends = busybox musl\n' "$T/hello-1.0.tar.gz" "$shaline"
        printf 'install = /usr/bin/* /usr/share/hello/*\npatch = %s\n' "$T/greeting.patch"
        for s in "$@"; do printf 'step = %s\n' "$s"; done
        printf '\n[test "runs"]\nsuite = command\ncommand = /usr/bin/hello\n'
        printf 'expected_output = ^hello from alpine, patched$\n'
    } > "$T/images/$name.ini"
}
image hello "sha256 = $SHA" "$INSTALL1" "$INSTALL2"
build() { "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" build -c "$T/p.ini" "$@" 2>"$T/err"; }

d1=$(build hello -o "$T/o1"); rc=$?
tap_check "the release builds on an Alpine build root (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' "$T/err" | tail -n 30
"$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" test -c "$T/p.ini" hello --layout "$T/o1" \
    >"$T/test.out" 2>"$T/test.err"
tap_check "temper test: the program runs inside the image with Alpine's musl" \
    grep -q '^PASS  command/runs$' "$T/test.out"
grep -q '^PASS  command/runs$' "$T/test.out" || sed 's/^/# /' "$T/test.out" "$T/test.err" | tail -n 20
tap_check "DT_NEEDED libc.musl-x86_64.so.1 resolved through the APKINDEX so: provide to musl" \
    grep -q "so:libc.musl-x86_64.so.1: runtime package musl-1.2.3-r0" "$T/err"
"$PYTHON3" "$TEMPER_SRCDIR/tests/lib/source_test.py" layers "$T/o1" > "$T/layers"
tap_check "the base holds musl (Alpine layout) and apk's database, not busybox or zlib" \
    sh -c "grep -q '^0 lib/ld-musl-x86_64.so.1 ' '$T/layers' && grep -q '^0 lib/apk/db/installed ' '$T/layers' && \
           ! grep -qE '^0 (bin/busybox|bin/sh|lib/libz.so.1) ' '$T/layers'"
tap_check "the installed database lists musl alone" \
    sh -c "tar -xOzf \$(ls -S '$T/o1/blobs/sha256/'* | head -1) lib/apk/db/installed 2>/dev/null | grep '^P:' | tr '\n' ' ' | grep -qx 'P:musl '"
tap_check "the second layer holds only the staged files" \
    sh -c "[ \"\$(awk '\$1==1 { print \$2 }' '$T/layers' | tr '\n' ' ')\" = \
           'usr usr/bin usr/bin/hello usr/share usr/share/hello usr/share/hello/greeting.txt ' ]"

d2=$(build hello -o "$T/o2"); rc=$?
tap_check "a second build (root from the cache) gives the same digest (exit $rc)" \
    sh -c "[ $rc -eq 0 ] && [ -n '$d1' ] && [ '$d1' = '$d2' ] && grep -q 'Alpine packages, from the cache' '$T/err'"

# ---- provenance ----
if [ -x "$TEMPER_BUILDDIR/tests/plugins/builder_source_prov" ]; then
    SRC_REPOS=$REPO SRC_KEYS=$KEY SRC_CACHE=$T/cache SRC_TARBALL=$T/hello-1.0.tar.gz \
        SRC_PATCH=$T/greeting.patch SRC_WORK=$T \
        "$TEMPER_BUILDDIR/tests/plugins/builder_source_prov" > "$T/prov.json" 2>"$T/prov.err"
    rc=$?
    tap_check "provenance: builder_source then attest_slsa (exit $rc)" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || sed 's/^/# /' "$T/prov.err" | tail -n 20
    "$PYTHON3" - "$T/prov.json" "$SHA" "$PSHA" "$T/apk/repo/main/x86_64" > "$T/prov.check" 2>&1 <<'PY'
import hashlib, json, sys
st = json.load(open(sys.argv[1]))
deps = st["predicate"]["buildDefinition"]["resolvedDependencies"]
by = {d.get("name"): d for d in deps}
assert by["source"]["uri"].endswith("/hello-1.0.tar.gz"), by["source"]
assert by["source"]["digest"]["sha256"] == sys.argv[2]
assert by["patch:greeting.patch"]["digest"]["sha256"] == sys.argv[3]
bb = by["pkg:apk/alpine/busybox@1.35.0-r0?arch=x86_64"]
want = hashlib.sha256(open(sys.argv[4] + "/busybox-1.35.0-r0.apk", "rb").read()).hexdigest()
assert bb["digest"]["sha256"] == want and bb["uri"].endswith("/busybox-1.35.0-r0.apk"), bb
assert not any("zlib" in d["name"] for d in deps)
print("ok")
PY
    tap_check "provenance lists the tarball + sha256, the patch and the Alpine build dependencies (.apk sha256)" \
        grep -qx ok "$T/prov.check"
    grep -v '^ok$' "$T/prov.check" | sed 's/^/# /' | tail -n 5
else
    tap_skip "provenance" "builder_source_prov not built"
fi

# ---- hostile cases ----
"$PYTHON3" "$TEMPER_SRCDIR/tests/lib/source_test.py" listen "$T/connected" > "$T/lport" &
LPID=$!
i=0
while ! grep -q PORT "$T/lport" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
LP=$(awk '/PORT/ { print $2 }' "$T/lport")
image net "sha256 = $SHA" "echo hi | nc 127.0.0.1 $LP"
build net -o "$T/onet" >/dev/null; rc=$?
tap_check "a step that reaches for the network fails (exit $rc), nothing connected" \
    sh -c "[ $rc -eq 1 ] && grep -qE \"step 1 'echo hi \\| nc.*(unreachable|Network|connect)\" '$T/err' && \
           [ ! -e '$T/connected' ]"
image escape "sha256 = $SHA" "touch /bin/escaped"
build escape -o "$T/oesc" >/dev/null; rc=$?
tap_check "a step writing outside /staging fails with the file system's reason (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q \"step 1 'touch /bin/escaped' exited with status 1: .*Read-only file system\" '$T/err'"
tap_check "and the cached build root is untouched" sh -c "! ls '$T/cache'/roots/*/bin/escaped 2>/dev/null"
image badsha "sha256 = $(printf '%064d' 0)" "true"
build badsha -o "$T/obs" >/dev/null; rc=$?
tap_check "a wrong sha256 is refused (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'has sha256 $SHA, the definition pins 0000' '$T/err'"
image nope "sha256 = $SHA" "mkdir -p /staging/usr/bin && cp hello-nope /staging/usr/bin/hello"
build nope -o "$T/onope" >/dev/null; rc=$?
tap_check "a soname no Alpine package provides fails the build (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'so:libnope.so.7' '$T/err'"
rm -rf "$T/cache"
SRC_REPO=http://127.0.0.1:$PORT/otherkey build hello -o "$T/ook" >/dev/null; rc=$?
tap_check "an APKINDEX signed by a key nobody configured is refused (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -qi 'otherkey.*APKINDEX.*\(sign\|key\)' '$T/err'"
[ $rc -eq 1 ] || sed 's/^/# /' "$T/err" | tail -n 5
tap_done

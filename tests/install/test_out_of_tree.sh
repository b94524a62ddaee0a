#!/bin/bash
# Out-of-tree plugin authors get everything they need from an installed temper:
# `make install DESTDIR=<scratch>`, then build the installed plugin template
# with its own Makefile using only `pkg-config temper-sdk` (PKG_CONFIG_SYSROOT_DIR
# points pkg-config at the scratch root; nothing from the source or build tree
# is on any path), and load the module with the installed `temper`.
set -u
. "$TEMPER_SRCDIR/tests/lib/tap.sh"

if ! "$TEMPER_BUILDDIR/libtool" --config | grep -q '^build_libtool_libs=yes'; then
    tap_skip_all "static build (--disable-shared): no shared libtemper-sdk to build a" \
        "module against, and a static temper loads only its preloaded plugins"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-oot.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
# The nested makes must not see this make's jobserver or command-line variables.
run_make() {
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CPATH -u C_INCLUDE_PATH -u LIBRARY_PATH \
        make "$@"
}

# check_out NAME LOG COMMAND...: ok when COMMAND succeeds; else show its log.
check_out() {
    name=$1 log=$2
    shift 2
    if "$@" >"$log" 2>&1; then
        tap_ok "$name"
    else
        tap_not_ok "$name"
        tap_diag "$(tail -n 30 "$log")"
    fi
}

check_out "make install DESTDIR=<scratch>" "$tmp/install.log" \
    run_make -C "$TEMPER_BUILDDIR" install DESTDIR="$dest"

pc=$(find "$dest" -name temper-sdk.pc -path '*/pkgconfig/*' | head -n 1)
tap_check "temper-sdk.pc is installed" test -n "$pc"
[ -n "$pc" ] || { echo "Bail out! nothing to build against"; exit 1; }
export PKG_CONFIG_PATH=${pc%/*} PKG_CONFIG_SYSROOT_DIR=$dest

cflags=$(pkg-config --cflags temper-sdk)
incdir=$(pkg-config --variable=includedir temper-sdk)
case $incdir in "$dest"/*) ;; *) incdir=$dest$incdir ;; esac # pkgconf adds the sysroot
bad=
for word in $cflags $(pkg-config --libs temper-sdk); do
    case $word in
    -I"$dest"/* | -L"$dest"/*) ;;
    -I* | -L*) bad="$bad $word" ;;
    esac
done
tap_check "pkg-config temper-sdk points into the install root only" \
    test -d "$incdir/temper" -a -z "$bad"
[ -z "$bad" ] || tap_diag "outside the install root:$bad"

missing=
for h in "$TEMPER_SRCDIR"/include/temper/*.h; do
    [ -f "$incdir/temper/${h##*/}" ] || missing="$missing ${h##*/}"
done
tap_check "every public header is installed" test -z "$missing"
[ -z "$missing" ] || tap_diag "not installed:$missing"

broken=
for h in "$incdir"/temper/*.h; do
    # shellcheck disable=SC2086
    printf '#include <temper/%s>\n' "${h##*/}" |
        cc -std=gnu11 -Wall -Wextra -Werror -fsyntax-only $cflags -x c - \
            >>"$tmp/headers.log" 2>&1 || broken="$broken ${h##*/}"
done
tap_check "each installed header compiles on its own" test -z "$broken"
[ -z "$broken" ] || tap_diag "do not compile alone:$broken" "$(tail -n 20 "$tmp/headers.log")"

tdir=$(find "$dest" -type d -path '*/share/temper/template' | head -n 1)
tap_check "the plugin template is installed" \
    test -n "$tdir" -a -f "$tdir/template_plugin.c" -a -f "$tdir/Makefile"
guide=$(find "$dest" -path '*/doc/temper/GUIDE.md' | head -n 1)
tap_check "the plugin guide is installed" test -n "$guide"

mkdir -p "$tmp/work" "$tmp/plugins"
[ -z "$tdir" ] || cp "$tdir"/* "$tmp/work/"
check_out "the template builds with its Makefile and pkg-config only" "$tmp/build.log" \
    run_make -C "$tmp/work"
check_out "the module exports only suite_example_LTX_temper_plugin" "$tmp/check.log" \
    run_make -C "$tmp/work" check

bin=$(find "$dest" -path '*/bin/temper' -type f | head -n 1)
sdk=$(find "$dest" -name 'libtemper-sdk.so*' -type f | head -n 1)
export LD_LIBRARY_PATH=${sdk%/*}
out=$("${bin:-false}" --version 2>&1)
tap_check "the installed temper runs" test -n "$bin" -a -n "$sdk" -a "${out#temper }" != "$out"

# expect_out NAME REGEX ARGS...: the installed temper, run with ARGS, exits 0
# and prints a line matching REGEX on stdout.
expect_out() {
    local name=$1 re=$2 out rc
    shift 2
    out=$("${bin:-false}" "$@" 2>"$tmp/temper.err")
    rc=$?
    if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -Eq "$re"; then
        tap_ok "$name"
    else
        tap_not_ok "$name"
        tap_diag "temper $*: exit $rc; stdout:" "$out" "stderr:" "$(head -n 20 "$tmp/temper.err")"
    fi
}

cp "$tmp/work/suite_example.so" "$tmp/plugins/" 2>/dev/null
expect_out "temper plugins lists the out-of-tree suite_example" '^suite[[:space:]]+example[[:space:]]' \
    plugins --plugin-dir "$tmp/plugins"
expect_out "temper describe shows the module's option table" '^[[:space:]]*match \(enum' \
    --plugin-dir "$tmp/plugins" describe suite_example
expect_out "temper describe names the module file it loaded" "file: $tmp/plugins/suite_example\\.so" \
    --plugin-dir "$tmp/plugins" describe suite_example

# The module in a real pipeline: `temper test` runs it as the suite stage of an
# image in an OCI layout (written here with sha256sum), with the installed
# store_sqlite plugin for state.  Exit 0 when the label is right, 3 when not.
blob() { # blob JSON: store it in $layout, set $digest and $size
    digest=sha256:$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)
    size=${#1}
    printf '%s' "$1" >"$layout/blobs/sha256/${digest#sha256:}"
}
layout=$tmp/layout
mkdir -p "$layout/blobs/sha256" "$tmp/images"
printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
blob '{"architecture":"amd64","os":"linux","config":{"Labels":{"org.opencontainers.image.source":"https://git.example.com/img"}},"rootfs":{"type":"layers","diff_ids":[]}}'
blob "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$digest\",\"size\":$size},\"layers\":[]}"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
    "$digest" "$size" >"$layout/index.json"
printf '[image]\nname = app\n' >"$tmp/images/app.ini"
cat >"$tmp/pipeline.ini" <<INI
[core]
store = sqlite:$tmp/state.db
workdir = $tmp/work
cache_dir = $tmp/cache
images = images/*.ini

[pipeline]
stages = suite.labels

[suite "labels"]
plugin = example
label = org.opencontainers.image.source
value = \${WANT:-https://git.example.com/}
match = prefix
INI
installed=$(pkg-config --variable=pkglibdir temper-sdk)
case $installed in "$dest"/*) ;; *) installed=$dest$installed ;; esac
run_test() {
    TEMPER_NO_INSTALLED_PLUGINS=1 "${bin:-false}" --plugin-dir "$tmp/plugins" \
        --plugin-dir "$installed" test -c "$tmp/pipeline.ini" app --layout "$layout" \
        >"$tmp/test.out" 2>"$tmp/test.err"
}
run_test
rc=$?
if [ "$rc" -eq 0 ] && grep -q '^PASS .*org.opencontainers.image.source' "$tmp/test.out"; then
    tap_ok "temper test runs the out-of-tree suite in a pipeline: pass, exit 0"
else
    tap_not_ok "temper test runs the out-of-tree suite in a pipeline: pass, exit 0"
    tap_diag "exit $rc" "$(cat "$tmp/test.out")" "$(head -n 20 "$tmp/test.err")"
fi
WANT=https://elsewhere/ run_test
rc=$?
if [ "$rc" -eq 3 ] && grep -q '^FAIL .*starting with "https://elsewhere/"' "$tmp/test.out"; then
    tap_ok "a wrong label fails the suite: exit 3, the case says why"
else
    tap_not_ok "a wrong label fails the suite: exit 3, the case says why"
    tap_diag "exit $rc" "$(cat "$tmp/test.out")" "$(head -n 20 "$tmp/test.err")"
fi

tap_done

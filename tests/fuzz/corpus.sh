#!/bin/sh
# temper — assemble the seed corpus of one fuzz target (tests/fuzz/README.md).
#
#   sh tests/fuzz/corpus.sh SRCDIR TARGET OUTDIR
#
# OUTDIR (created) receives copies of the target's seeds: the real upstream
# samples and test fixtures under SRCDIR/tests/data and conf/ (never copied
# into git twice: this script points at them), the small hand-written seeds
# of SRCDIR/tests/fuzz/seeds/TARGET, and inputs made here (version pairs cut
# from the test vectors, Link headers cut from the recorded GitHub replies,
# tiny tar/ar archives).  The regression inputs (tests/fuzz/regress/TARGET)
# are not copied: pass that directory to the fuzzer or replay separately.
set -eu
src=$1
target=$2
out=$3
mkdir -p "$out"
data=$src/tests/data
n=0

add() { # add FILE...: copy each existing regular file
    for f in "$@"; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        cp "$f" "$out/seed-$n-$(basename "$f" | tr -c 'A-Za-z0-9._\n-' '_')"
    done
}

add_text() { # add_text TEXT: one seed from a string (printf %b escapes)
    n=$((n + 1))
    printf '%b' "$1" >"$out/seed-$n"
}

# lines FILE MAX [SEP]: each of the first MAX non-comment lines of FILE as a
# seed; with SEP, the first two fields joined by a NUL byte
lines() {
    pre=$(basename "$1" | cut -c1-30 | tr -c 'A-Za-z0-9._\n-' '_')
    grep -v '^[[:space:]]*#' "$1" | grep -v '^[[:space:]]*$' | head -n "$2" |
        while IFS= read -r l; do
            n=$((n + 1))
            if [ "${3:-}" = nul ]; then
                printf '%s' "$l" | awk '{ printf "%s%c%s", $1, 0, $2 }' >"$out/$pre-$n"
            else
                printf '%s' "$l" >"$out/$pre-$n"
            fi
        done
}

# archives: a tiny tree as tar, tar.gz, with whiteouts, and as a .deb
archives() {
    t=$(mktemp -d "${TMPDIR:-/tmp}/temper-corpus.XXXXXX")
    mkdir -p "$t/root/usr/bin" "$t/root/etc" "$t/root/opt/.wh..wh..opq"
    printf 'hello\n' >"$t/root/usr/bin/hello"
    chmod 4755 "$t/root/usr/bin/hello"
    printf 'x\n' >"$t/root/etc/.wh.motd"
    ln -s ../usr/bin/hello "$t/root/etc/link"
    ln -s /etc/passwd "$t/root/etc/abs"
    ln "$t/root/usr/bin/hello" "$t/root/etc/hard"
    (cd "$t/root" && tar --format=gnu -cf "$out/tree.tar" .)
    (cd "$t/root" && tar --format=pax -czf "$out/tree-pax.tar.gz" usr etc)
    (cd "$t/root" && tar --format=ustar -cf "$out/wh.tar" etc opt)
    if [ "$target" = deb ] && command -v ar >/dev/null 2>&1; then
        mkdir -p "$t/deb/control"
        printf 'Package: hello\nVersion: 1.0-1\nArchitecture: all\nMaintainer: x <x@example.org>\nDescription: hi\n' \
            >"$t/deb/control/control"
        printf 'b1946ac92492d2347c6235b4d2611184  usr/bin/hello\n' >"$t/deb/control/md5sums"
        (cd "$t/deb/control" && tar -czf ../control.tar.gz ./control ./md5sums)
        (cd "$t/root" && tar -cJf "$t/deb/data.tar.xz" ./usr ./etc)
        printf '2.0\n' >"$t/deb/debian-binary"
        (cd "$t/deb" && ar qc "$out/hello.deb" debian-binary control.tar.gz data.tar.xz)
        (cd "$t/deb" && gzip -dc control.tar.gz >control.tar &&
            ar qc "$out/hello-plain.deb" debian-binary control.tar data.tar.xz)
    fi
    rm -rf "$t"
}

case $target in
ini)
    add "$src"/conf/*.ini "$src"/conf/examples/*.ini "$src"/conf/images/*.ini
    add "$src"/tests/pipeline/fixtures/*.ini
    ;;
deb822 | debindex)
    add "$data"/pkgindex/bookworm-updates_main_binary-amd64_Packages
    add "$data"/pkgindex/bookworm-updates_main_binary-amd64_Packages.lz4
    add "$data"/pkgindex/bookworm_main_amd64_Packages.slice.gz
    add "$data"/pkgindex/bookworm_main_amd64_Packages.slice.xz
    add "$data"/samples/alpine/apk-tools-master_test_solver_basic.repo
    ;;
release)
    add "$data"/pkgindex/bookworm-updates_InRelease
    ;;
apkindex)
    add "$data"/samples/alpine/apko_rsa256-signed_APKINDEX.tar.gz
    add "$data"/samples/alpine/apko_alpine-317_APKINDEX.tar.gz
    add "$data"/samples/alpine/apk-tools-master_test_solver_basic.repo
    ;;
apkfile)
    add "$data"/samples/alpine/apko_alpine-316_alpine-baselayout-3.2.0-r23.apk
    add "$data"/samples/alpine/apko_rsa256-signed_APKINDEX.tar.gz
    ;;
version)
    lines "$data"/samples/debian/dpkg_Dpkg_Version.t.DATA.txt 200 nul
    lines "$data"/samples/alpine/apk-tools-v2.14.4_test_version.data 300 nul
    lines "$data"/samples/alpine/apk-tools-master_test_unit_version.data 300 nul
    ;;
http)
    for f in "$data"/samples/github/*headers*.txt "$data"/samples/github/PyGithub_*.txt; do
        [ -f "$f" ] || continue
        grep -i -o '<http[^>]*>; *rel="[a-z]*"[^"]*' "$f" 2>/dev/null | head -n 5 |
            while IFS= read -r l; do
                n=$((n + 1))
                printf '%s\0%s' "$l" "../other?page=2" >"$out/link-$(basename "$f" | cut -c1-40)-$n"
            done
    done
    ;;
registry)
    ;;
oci)
    add "$data"/samples/cosign-containers-image-fixture/*manifest.json
    ;;
dsse)
    add "$data"/samples/cosign-containers-image-fixture/payload.json
    add "$data"/samples/slsa/*.decoded.json
    for f in "$data"/samples/slsa/*.jsonl "$data"/samples/slsa/*.slsa; do
        [ -f "$f" ] && lines "$f" 5
    done
    ;;
patch | guard)
    add "$data"/guard/*.patch
    ;;
github)
    add "$data"/samples/github/*.json
    ;;
layer)
    archives
    add "$data"/samples/alpine/apko_alpine-316_alpine-baselayout-3.2.0-r23.apk
    ;;
deb)
    archives
    ;;
*)
    echo "corpus.sh: unknown target $target" >&2
    exit 2
    ;;
esac
if [ -d "$src/tests/fuzz/seeds/$target" ]; then
    for f in "$src/tests/fuzz/seeds/$target"/*; do
        [ -f "$f" ] && cp "$f" "$out/hand-$(basename "$f")"
    done
fi
exit 0

#!/bin/sh
# External OCI clients read what the SDK wrote (TAP).
#
# tests/unit/oci_write_sample writes a two-layer image; skopeo (inspect,
# copy with digest checks) and umoci (unpack --rootless) must read it, the
# unpacked files must have the right content and modes, diff_ids must equal
# `zcat blob | sha256sum`, and two runs at different times in different
# directories must produce byte-identical layouts.
#
# skopeo and umoci are required: when one is missing the test FAILS and
# names the Debian package to install (CI installs both).
set -u

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }
check() { # check DESCRIPTION COMMAND...
    d=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; fi
}
eq() { # eq DESCRIPTION GOT EXPECTED
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   got '$2', expected '$3'"; fi
}
finish() {
    echo "1..$n"
    exit $failed
}

builddir=${TEMPER_BUILDDIR:-.}
writer="$builddir/tests/unit/oci_write_sample"

for tool in skopeo umoci; do
    if command -v "$tool" >/dev/null 2>&1; then
        ok "$tool is installed"
    else
        not_ok "$tool is missing: install the Debian package $tool (apt-get install -y $tool)"
    fi
done
[ $failed -eq 0 ] || finish

tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-oci-clients-XXXXXX") || exit 99
trap 'chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
sde=1700000000

check "oci_write_sample writes layout a" sh -c "'$writer' '$tmp/a' 1.0 $sde > '$tmp/a.out'"
sleep 1
check "oci_write_sample writes layout b a second later" \
    sh -c "'$writer' '$tmp/b' 1.0 $sde > '$tmp/b.out'"
check "both runs print the same digests" cmp "$tmp/a.out" "$tmp/b.out"
check "both layouts are byte-identical" diff -r "$tmp/a" "$tmp/b"
check "no temporary files are left" sh -c "! ls -A '$tmp/a' '$tmp/a/blobs/sha256' | grep -q '^\\.tmp-'"

manifest=$(awk '$1 == "manifest" { print $2 }' "$tmp/a.out")
layers=$(awk '$1 == "layer" { print $2 }' "$tmp/a.out")
check "a manifest digest was printed" sh -c "echo '$manifest' | grep -Eq '^sha256:[0-9a-f]{64}$'"

# blobs: digest, gzip header without name and mtime, diff_id = zcat | sha256sum
while read -r kind digest diff_id; do
    [ "$kind" = layer ] || continue
    blob="$tmp/a/blobs/sha256/${digest#sha256:}"
    eq "layer ${digest#sha256:} has its digest" \
        "sha256:$(sha256sum "$blob" | cut -d' ' -f1)" "$digest"
    eq "layer ${digest#sha256:} gzip header: FLG 0, MTIME 0" \
        "$(od -An -tx1 -N8 "$blob" | tr -s ' ' | sed 's/^ //;s/ $//')" "1f 8b 08 00 00 00 00 00"
    eq "layer ${digest#sha256:} diff_id is sha256 of zcat" \
        "sha256:$(zcat "$blob" | sha256sum | cut -d' ' -f1)" "$diff_id"
done < "$tmp/a.out"

# skopeo
if skopeo inspect "oci:$tmp/a:1.0" > "$tmp/inspect.json" 2> "$tmp/inspect.err"; then
    ok "skopeo inspect oci:DIR:1.0"
else
    not_ok "skopeo inspect oci:DIR:1.0"
    sed 's/^/#   /' "$tmp/inspect.err"
fi
check "skopeo sees the manifest digest" grep -q "\"Digest\": \"$manifest\"" "$tmp/inspect.json"
check "skopeo sees architecture amd64" grep -q '"Architecture": "amd64"' "$tmp/inspect.json"
check "skopeo sees os linux" grep -q '"Os": "linux"' "$tmp/inspect.json"
check "skopeo sees the label" grep -q '"org.example.sample": "yes"' "$tmp/inspect.json"
check "skopeo sees the creation time" grep -q '"Created": "2023-11-14T22:13:20Z"' \
    "$tmp/inspect.json"
for l in $layers; do
    check "skopeo lists layer ${l#sha256:}" grep -q "\"$l\"" "$tmp/inspect.json"
done
check "skopeo inspect --config shows the diff_ids" \
    sh -c "skopeo inspect --config 'oci:$tmp/a:1.0' > '$tmp/config.json'"
for d in $(awk '$1 == "layer" { print $3 }' "$tmp/a.out"); do
    check "config lists diff_id ${d#sha256:}" grep -q "$d" "$tmp/config.json"
done
check "skopeo copy (verifies every blob digest) to a dir: transport" \
    skopeo copy --quiet "oci:$tmp/a:1.0" "dir:$tmp/copy"

# umoci
if umoci unpack --rootless --image "$tmp/a:1.0" "$tmp/bundle" > "$tmp/umoci.log" 2>&1; then
    ok "umoci unpack --rootless --image DIR:1.0"
else
    not_ok "umoci unpack --rootless --image DIR:1.0"
    sed 's/^/#   /' "$tmp/umoci.log"
fi
r="$tmp/bundle/rootfs"
eq "app/hello.txt content" "$(cat "$r/app/hello.txt" 2>/dev/null)" "hello from temper"
eq "app/hello.txt mode" "$(stat -c %a "$r/app/hello.txt" 2>/dev/null)" "644"
eq "app/run.sh mode" "$(stat -c %a "$r/app/run.sh" 2>/dev/null)" "755"
eq "app/secret mode" "$(stat -c %a "$r/app/secret" 2>/dev/null)" "600"
eq "data is a 0700 directory" "$(stat -c %F:%a "$r/data" 2>/dev/null)" "directory:700"
eq "app/link is a symlink to hello.txt" "$(readlink "$r/app/link")" "hello.txt"
eq "usr/bin/hello is a symlink to /app/run.sh" "$(readlink "$r/usr/bin/hello")" "/app/run.sh"
eq "app/hello-again is a hardlink of hello.txt" \
    "$(stat -c %i "$r/app/hello-again" 2>/dev/null)" "$(stat -c %i "$r/app/hello.txt" 2>/dev/null)"
check "the long (pax) name came out" test -f "$r/app/a-file-name-longer-than-the-one-hundred-bytes-that-a-ustar-header-can-hold-so-that-pax-is-needed.txt"
check "the UTF-8 name came out" test -f "$r/app/$(printf 'caf\303\251').txt"
eq "etc/motd from the tree layer" "$(cat "$r/etc/motd" 2>/dev/null)" "built by temper"
check "the whiteout removed app/remove-me" test ! -e "$r/app/remove-me"
eq "mtimes are clamped to SOURCE_DATE_EPOCH" "$(stat -c %Y "$r/etc/motd" 2>/dev/null)" "$sde"

# our own extractor must agree with umoci (content, types, modes, links)
check "temper_oci_layer_extract unpacks the same image" \
    "$writer" --extract "$tmp/a" 1.0 "$tmp/ours"
listing() {
    (cd "$1" && find . -type f -printf '%p f %m %s\n' -o -printf '%p %y %m %l\n' |
        LC_ALL=C sort)
}
if [ "$(listing "$tmp/ours")" = "$(listing "$r")" ]; then
    ok "same files, types, modes, sizes and link targets as umoci"
else
    not_ok "same files, types, modes, sizes and link targets as umoci"
    listing "$tmp/ours" > "$tmp/ours.txt"
    listing "$r" > "$tmp/umoci.txt"
    diff "$tmp/ours.txt" "$tmp/umoci.txt" | sed 's/^/#   /'
fi
check "same file contents as umoci" diff -r --no-dereference "$tmp/ours" "$r"
finish

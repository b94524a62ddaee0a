# Shared by the builder_deb tests (sourced): a loopback Debian mirror made
# from this machine's own apt lists and `apt-get download`.
#
#   deb_real_mirror DIR ROOT... [--essential]
#       InRelease and main/binary-ARCH/Packages of the machine's release
#       (from /var/lib/apt/lists, decompressed, checked against the
#       InRelease), and the .deb files the roots may need, downloaded once
#       into $TEMPER_DEB_CACHE (default /var/tmp/temper-test-debs) and linked
#       into DIR/pool/...  Sets DEB_SUITE and DEB_ARCH; returns 1 (after
#       printing why) when the machine has no apt to take them from.
#   deb_serve DIR     start a loopback HTTP server on DIR; sets DEB_URL and
#                     DEB_HTTPD_PID (stopped by deb_stop).
: "${TEMPER_SRCDIR:?}"
PYTHON3=${PYTHON3:-python3}
TEMPER_DEB_CACHE=${TEMPER_DEB_CACHE:-/var/tmp/temper-test-debs}
DEB_LISTS=${DEB_LISTS:-/var/lib/apt/lists}

DEB_SUITE=$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}")

deb_lists_prefix() {
    [ -n "$DEB_SUITE" ] || return 1
    for f in "$DEB_LISTS"/*_dists_"${DEB_SUITE}"_InRelease; do
        [ -f "$f" ] && { echo "${f%_InRelease}"; return 0; }
    done
    return 1
}

# deb_decompress FILE OUT: the machine's list file in any compression apt uses
deb_decompress() {
    case "$1" in
    *.lz4) lz4 -dc "$1" > "$2" ;;
    *.gz) gzip -dc "$1" > "$2" ;;
    *.xz) xz -dc "$1" > "$2" ;;
    *.zst) zstd -qdc "$1" > "$2" ;;
    *) cp "$1" "$2" ;;
    esac
}

deb_real_mirror() {
    dir=$1; shift
    command -v apt-get >/dev/null || { echo "# no apt-get"; return 1; }
    DEB_ARCH=$(dpkg --print-architecture)
    prefix=$(deb_lists_prefix) || { apt-get update -qq >/dev/null 2>&1; prefix=$(deb_lists_prefix); } ||
        { echo "# no apt lists for this release"; return 1; }
    inrel=${prefix}_InRelease
    mkdir -p "$TEMPER_DEB_CACHE/debs" "$TEMPER_DEB_CACHE/dl" "$dir/dists/$DEB_SUITE/main/binary-$DEB_ARCH"
    cp "$inrel" "$dir/dists/$DEB_SUITE/InRelease"
    want=$(awk -v p="main/binary-$DEB_ARCH/Packages" '/^SHA256:/{s=1;next} /^[^ ]/{s=0} s && $3==p {print $1}' "$inrel")
    pk=$TEMPER_DEB_CACHE/Packages-$want
    if [ ! -f "$pk" ]; then
        src=$(ls "${prefix}_main_binary-${DEB_ARCH}_Packages"* 2>/dev/null | head -n 1)
        [ -n "$src" ] || { echo "# no Packages list in $DEB_LISTS"; return 1; }
        deb_decompress "$src" "$pk.tmp" && mv "$pk.tmp" "$pk"
    fi
    got=$(sha256sum "$pk" | cut -d' ' -f1)
    [ "$got" = "$want" ] || { echo "# $pk does not match the InRelease"; rm -f "$pk"; return 1; }
    ln -sf "$pk" "$dir/dists/$DEB_SUITE/main/binary-$DEB_ARCH/Packages"
    "$PYTHON3" "$TEMPER_SRCDIR/tests/plugins/deb_closure.py" "$pk" "$DEB_ARCH" "$@" > "$dir/closure" || return 1
    missing=$(while read -r name ver file sha; do
        [ -f "$TEMPER_DEB_CACHE/debs/$sha.deb" ] || echo "$name=$ver"; done < "$dir/closure")
    if [ -n "$missing" ]; then
        (cd "$TEMPER_DEB_CACHE/dl" && apt-get download -q $missing >/dev/null 2>&1) ||
            { echo "# apt-get download failed"; return 1; }
    fi
    while read -r name ver file sha; do
        d=$TEMPER_DEB_CACHE/debs/$sha.deb
        if [ ! -f "$d" ]; then
            for f in "$TEMPER_DEB_CACHE/dl/${name}_"*.deb; do
                [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$sha" ] && mv "$f" "$d"
            done
        fi
        [ -f "$d" ] || { echo "# could not download $name $ver"; return 1; }
        mkdir -p "$dir/$(dirname "$file")"
        ln -sf "$d" "$dir/$file"
    done < "$dir/closure"
    return 0
}

deb_serve() {
    : > "$1.httpd"
    "$PYTHON3" -u -m http.server 0 --bind 127.0.0.1 --directory "$1" > "$1.httpd" 2>&1 &
    DEB_HTTPD_PID=$!
    i=0
    while [ $i -lt 100 ]; do
        port=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$1.httpd" | head -n 1)
        [ -n "$port" ] && { DEB_URL=http://127.0.0.1:$port; return 0; }
        sleep 0.1; i=$((i + 1))
    done
    return 1
}

# deb_ini FILE DIR MIRROR [KEY=VALUE...]: a pipeline with one builder_deb
# stage on MIRROR, its store, work and cache below DIR, images in
# DIR/images/*.ini; the extra lines go to the [builder "deb"] section.
deb_ini() {
    f=$1; d=$2; m=$3; shift 3
    mkdir -p "$d/images"
    printf '[core]\nstore = sqlite:%s/state.db\nworkdir = %s/work\ncache_dir = %s/cache\n' \
        "$d" "$d" "$d" > "$f"
    printf 'images = images/*.ini\n\n[pipeline]\nstages = builder.deb\n\n' >> "$f"
    printf '[builder "deb"]\nplugin = deb\nmirror = %s\n' "$m" >> "$f"
    for kv in "$@"; do
        printf '%s\n' "$kv" >> "$f"
    done
}

deb_stop() {
    [ -n "${DEB_HTTPD_PID:-}" ] && kill "$DEB_HTTPD_PID" 2>/dev/null
    DEB_HTTPD_PID=
}

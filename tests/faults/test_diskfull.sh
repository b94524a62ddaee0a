#!/bin/sh
# Disk full (issue #11): `temper build` writing its OCI layout, and the
# SQLite store, on a file system that runs out of space at many points.
# Each failing run must exit 1 with one clear error naming the file and
# the cause, leave no half-written blob (every file in blobs/sha256 has the
# digest of its name, no temp files left), no half-written index.json or
# oci-layout (absent or valid JSON whose manifests exist), and a store that
# passes PRAGMA integrity_check with the rows of earlier runs intact; once
# space is back the same command succeeds.
#
# The full file system is a small tmpfs mounted by the test when it runs as
# root and may mount (CI); otherwise RLIMIT_FSIZE (`ulimit -f` with SIGXFSZ
# ignored, so writes past the limit fail with EFBIG, unprivileged) limits
# every file temper writes (TEMPER_DISKFULL_MODE=ulimit forces this way).
# The build is builder_apk's against a loopback repository serving the real
# alpine-baselayout .apk (tests/plugins/apk_repo.py), as in
# tests/plugins/test_builder_apk_build.sh.
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}" "${TEMPER_DATA:?}"
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
export TEMPER_NO_INSTALLED_PLUGINS=1
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost
PY=${PYTHON3:-python3}
for tool in sqlite3 openssl "$PY"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        [ "${CI:-}" = true ] && { echo "Bail out! $tool missing"; exit 1; }
        tap_skip_all "$tool missing (apt-get install -y sqlite3 openssl python3)"
    fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-diskfull.XXXXXX") || exit 99
srv=
mounted=
cleanup() {
    [ -n "$srv" ] && kill "$srv" 2>/dev/null
    [ -n "$mounted" ] && umount "$mounted" 2>/dev/null
    chmod -R u+w "$tmp" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the repository and the pipeline ----------------------------------------
. "$TEMPER_SRCDIR/tests/lib/apk_repo.sh"
apk_repo_start "$tmp"

# pipeline DIR STOREDIR: a pipeline config in DIR with its store in STOREDIR
pipeline() {
    mkdir -p "$1/images"
    cat >"$1/p.ini" <<INI
[core]
store = sqlite:$2/state.db
workdir = $1/work
cache_dir = $1/cache
images = images/*.ini

[pipeline]
stages = builder.apk

[builder "apk"]
plugin = apk
repositories = http://127.0.0.1:$port/main
keys = $key
INI
    printf '[image]\nname = base\ndistribution = alpine:v3.16\npackages = alpine-baselayout\n' \
        >"$1/images/base.ini"
}

# ---- the full file system -----------------------------------------------------
full=$tmp/full
mkdir "$full"
mode=ulimit
if [ "${TEMPER_DISKFULL_MODE:-}" != ulimit ] && [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=4m,mode=0755 temper-diskfull "$full" 2>/dev/null; then
    mode=tmpfs
    mounted=$full
fi
tap_diag "disk full by: $mode"

# build LIMIT_KB LOG PIPELINE OUT: `temper build` with LIMIT_KB kilobytes left
# (tmpfs: free space on $full; ulimit: the size of any file temper writes),
# its output in LOG (written through a pipe: the limit is temper's only)
build() {
    lim=$1 log=$2 p=$3 out=$4
    if [ "$mode" = tmpfs ]; then
        rm -f "$full/.filler"
        dd if=/dev/zero of="$full/.filler" bs=4k 2>/dev/null
        truncate -s "-$((lim))K" "$full/.filler" 2>/dev/null || rm -f "$full/.filler"
        "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" -q build -c "$p/p.ini" base -o "$out" \
            --platform linux/arm64 >"$log" 2>&1
        r=$?
        rm -f "$full/.filler"
        return $r
    fi
    { { sh -c 'trap "" XFSZ; ulimit -f "$1" || exit 99; shift; exec "$@"' _ "$lim" \
        "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" -q build -c "$p/p.ini" base -o "$out" \
        --platform linux/arm64; echo $? >"$tmp/rc"; } 2>&1 | cat >"$log"; }
    return "$(cat "$tmp/rc")"
}

# layout_ok DIR: no partial blob, no temp file, index.json and oci-layout
# absent or complete
layout_ok() {
    d=$1
    [ -d "$d" ] || return 0
    for f in "$d"/blobs/sha256/* "$d"/blobs/sha256/.[!.]*; do
        [ -e "$f" ] || continue
        case $(basename "$f") in
        .*) echo "# temp file left: $f"; return 1 ;;
        esac
        sum=$(sha256sum "$f" | cut -d' ' -f1)
        [ "$sum" = "$(basename "$f")" ] || { echo "# partial blob: $f"; return 1; }
    done
    for j in index.json oci-layout; do
        [ -e "$d/$j" ] || continue
        "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$d/$j" 2>/dev/null ||
            { echo "# $j is not complete JSON"; return 1; }
    done
    [ -e "$d/index.json" ] || return 0
    for m in $("$PY" -c 'import json,sys
for m in json.load(open(sys.argv[1])).get("manifests", []): print(m["digest"].split(":")[1])' \
        "$d/index.json"); do
        [ -f "$d/blobs/sha256/$m" ] || { echo "# index.json names a missing blob $m"; return 1; }
    done
    for f in "$d"/* "$d"/.[!.]*; do
        case $(basename "$f") in
        blobs | index.json | oci-layout | '*' | '.[!.]*') ;;
        *) echo "# unexpected file in the layout: $f"; return 1 ;;
        esac
    done
    return 0
}

# ---- 1. the layout --------------------------------------------------------------
pipeline "$tmp/p1" "$tmp/p1"
build 1000000 "$tmp/ref.err" "$tmp/p1" "$tmp/ref"
tap_check "the build succeeds with space (reference)" [ $? -eq 0 ]
need=$(du -sk "$tmp/ref" | cut -f1)
tap_diag "the layout takes ${need} KiB"

fails=0
bad_layout=0
bad_err=0
bad_rc=0
for lim in 0 4 8 16 24 32 48 64 128 256 1024; do
    out=$full/layout-$lim
    build "$lim" "$tmp/l.err" "$tmp/p1" "$out"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        layout_ok "$out" || bad_layout=$((bad_layout + 1))
        tap_diag "with ${lim} KiB left the build succeeds"
        rm -rf "$out"
        break
    fi
    fails=$((fails + 1))
    [ "$fails" -eq 2 ] && sed "s/^/# e.g. /" "$tmp/l.err"
    [ "$rc" -eq 1 ] || { bad_rc=$((bad_rc + 1)); tap_diag "limit $lim: exit $rc"; }
    if ! grep -Eq 'No space left on device|File too large|disk I/O error' "$tmp/l.err" ||
        [ "$(grep -c . "$tmp/l.err")" -gt 3 ]; then
        bad_err=$((bad_err + 1))
        sed "s/^/# limit $lim: /" "$tmp/l.err" | head -n 5
    fi
    layout_ok "$out" >"$tmp/why" || {
        bad_layout=$((bad_layout + 1))
        sed "s/^/# limit $lim: /" "$tmp/why"
    }
    rm -rf "$out"
done
tap_diag "layout: $fails runs failed for lack of space"
tap_check "the layout runs out of space at several points" [ "$fails" -ge 3 ]
tap_check "each failing build exits 1" [ "$bad_rc" -eq 0 ]
tap_check "each says 'No space left on device' (ulimit: EFBIG or the store's I/O error) in <= 3 lines" [ "$bad_err" -eq 0 ]
tap_check "no partial blob, temp file or half-written index.json is left" [ "$bad_layout" -eq 0 ]
build 100000 "$tmp/l.err" "$tmp/p1" "$full/again"
tap_check "with space back the build succeeds" [ $? -eq 0 ]
tap_check "and the layout is complete" sh -c '[ -s "$1/index.json" ]' _ "$full/again"
tap_check "and passes the layout checks" layout_ok "$full/again"
rm -rf "$full/again"

# ---- 2. the store -----------------------------------------------------------------
rows() { # rows DB: one line per table "name count", the schema's tables
    for t in $(sqlite3 "$1" "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"); do
        echo "$t $(sqlite3 "$1" "SELECT count(*) FROM \"$t\"")"
    done
}
pipeline "$tmp/p2" "$full/store"
mkdir -p "$full/store"
build 100000 "$tmp/s.err" "$tmp/p2" "$tmp/out-first"
tap_check "a first build records its run in the store" [ $? -eq 0 ]
rows "$full/store/state.db" >"$tmp/rows-before"
tap_check "the store has rows" [ -s "$tmp/rows-before" ]
sfails=0
also=
[ "$mode" = ulimit ] && also='|disk I/O error'
bad_int=0
bad_rows=0
bad_err=0
for lim in 0 8 64; do
    if [ "$mode" = ulimit ]; then
        # the limit counts the whole file: start from the current size
        cur=$(du -k "$full/store/state.db" | cut -f1)
        lim=$((cur + lim))
    fi
    build "$lim" "$tmp/s.err" "$tmp/p2" "$tmp/out-$lim"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        sfails=$((sfails + 1))
        [ "$sfails" -eq 1 ] && sed "s/^/# e.g. /" "$tmp/s.err"
        # ulimit: SQLite reports EFBIG as a plain "disk I/O error"
        grep -Eq "No space left on device|File too large|database or disk is full$also" \
            "$tmp/s.err" ||
            { bad_err=$((bad_err + 1)); sed "s/^/# store limit $lim: /" "$tmp/s.err" | head -n 5; }
    fi
    ok=$(sqlite3 "$full/store/state.db" "PRAGMA integrity_check" 2>&1)
    [ "$ok" = ok ] || { bad_int=$((bad_int + 1)); tap_diag "limit $lim: integrity_check: $ok"; }
    rows "$full/store/state.db" >"$tmp/rows-now"
    # earlier rows stay: no table lost rows (a successful run may add some)
    awk 'NR == FNR { b[$1] = $2; next } ($1 in b) && $2 < b[$1] { bad = 1 } END { exit bad }' \
        "$tmp/rows-before" "$tmp/rows-now" || { bad_rows=$((bad_rows + 1)); tap_diag "limit $lim: rows lost"; }
    cp "$tmp/rows-now" "$tmp/rows-before"
done
tap_diag "store: $sfails runs failed for lack of space"
tap_check "the store runs out of space at least once" [ "$sfails" -ge 1 ]
tap_check "a store that fills up fails with a clear error" [ "$bad_err" -eq 0 ]
tap_check "PRAGMA integrity_check stays ok" [ "$bad_int" -eq 0 ]
tap_check "the rows of earlier runs are intact" [ "$bad_rows" -eq 0 ]
build 100000 "$tmp/s.err" "$tmp/p2" "$tmp/out-last"
tap_check "with space back the store takes the next run" [ $? -eq 0 ]
tap_done

#!/bin/sh
# temper — benchmark (issue #3): load the real bookworm `main` Packages index
# into temper's package table, and walk it with python3-apt's
# apt_pkg.TagFile (reading Package, Version and Depends of each stanza).
# Both read the same plain file, decompressed first from apt's lz4 copy.
# Prints the best wall time of 3 runs of each (whole processes; BENCH_RUNS
# changes the count), the ratio, and temper's peak RSS.  `make bench` runs
# it; not part of `make check`.  temper loads a big plain file on two
# threads: on a busy machine its advantage shrinks.
#
#   bench_packages.sh [BENCH_DEB822 [INDEX]]
set -eu
bin=${1:-${TEMPER_BUILDDIR:-.}/tests/bench/bench_deb822}
index=${2:-/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4}
py=${BENCH_PYTHON:-/usr/bin/python3}
runs=${BENCH_RUNS:-3}

[ -x "$bin" ] || { echo "bench: $bin is not built (make tests/bench/bench_deb822)" >&2; exit 2; }
[ -r "$index" ] || { echo "bench: $index not found (apt-get update)" >&2; exit 77; }
"$py" -c 'import apt_pkg' 2>/dev/null ||
    { echo "bench: python3-apt missing for $py (apt-get install -y python3-apt)" >&2; exit 77; }

tmp=$(mktemp -d /tmp/temper-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$bin" -x "$index" "$tmp/Packages"
cat > "$tmp/tagfile.py" <<'PY'
import sys
import apt_pkg
apt_pkg.init()
n = 0
with open(sys.argv[1]) as f:
    for s in apt_pkg.TagFile(f):
        p = s.get("Package")
        v = s.get("Version")
        d = s.get("Depends")
        n += 1
print(n)
PY

now() { date +%s%N; }
# best wall time in ms of $runs runs of "$@"; the last run's stdout in $tmp/out
best() {
    b=
    i=0
    while [ $i -lt $runs ]; do
        t0=$(now)
        "$@" > "$tmp/out"
        t1=$(now)
        ms=$(( (t1 - t0) / 1000000 ))
        if [ -z "$b" ] || [ "$ms" -lt "$b" ]; then b=$ms; fi
        i=$((i + 1))
    done
    echo "$b"
}

t_temper=$(best "$bin" -n 1 "$tmp/Packages")
temper_out=$(cat "$tmp/out")
t_py=$(best "$py" "$tmp/tagfile.py" "$tmp/Packages")
py_count=$(cat "$tmp/out")
n_temper=$(echo "$temper_out" | sed -n 's/^stanzas \([0-9]*\) .*/\1/p')
rss=$(echo "$temper_out" | sed -n 's/.*peak_rss_kb \([0-9]*\).*/\1/p')
size=$(wc -c < "$tmp/Packages")

echo "index:        $index ($size bytes uncompressed)"
echo "temper:       ${t_temper} ms best of $runs ($n_temper packages in the table, peak RSS $((rss / 1024)) MB)"
echo "python3-apt:  ${t_py} ms best of $runs ($py_count stanzas, apt_pkg.TagFile)"
awk -v a="$t_temper" -v b="$t_py" 'BEGIN { printf "ratio:        %.2f (temper / python3-apt; below 1 = temper faster)\n", a / b }'
if [ "$n_temper" != "$py_count" ]; then
    echo "bench: stanza counts differ" >&2
    exit 1
fi
if [ "$rss" -ge $((200 * 1024)) ]; then
    echo "bench: peak RSS above 200 MB" >&2
    exit 1
fi

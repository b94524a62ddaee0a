#!/bin/sh
# A version rejected in review is not raised again (#8), end to end with
# `temper track`, `temper review` and the GitHub mock: 1.55 is approved
# (pinned), 1.56 is raised and rejected; after the tracker's own state is
# lost (so that the tracker itself would raise 1.56 again from the pinned
# 1.55), the round reports nothing for 1.56 and enqueues nothing; 1.57 is then
# raised normally.  Review items are put in the store with sqlite3 the way the
# engine opens them when a guard blocks (`temper run` is #9).
: "${TEMPER_BIN:?}" "${TEMPER_SRCDIR:?}" "${TEMPER_DATA:?}" "${TEMPER_PLUGINS:?}"
PYTHON3=${PYTHON3:-python3}
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
export TEMPER_NO_INSTALLED_PLUGINS=1
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY NO_PROXY
export no_proxy=127.0.0.1,localhost
if ! command -v sqlite3 > /dev/null; then
    [ "$CI" = true ] && { echo "Bail out! sqlite3 missing"; exit 1; }
    tap_skip_all "sqlite3 missing"
fi
"$TEMPER_BIN" plugins --plugin-dir "$TEMPER_PLUGINS" 2>/dev/null | grep -q '^store  *sqlite' ||
    tap_skip_all "the sqlite store is not built"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/temper-gh-reject.XXXXXX") || exit 1
mock=
cleanup() {
    if [ -n "$mock" ]; then
        kill "$mock" 2>/dev/null || true
        wait "$mock" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
mkfifo "$TMP/port"
"$PYTHON3" "$TEMPER_SRCDIR/tests/lib/github_mock.py" --data "$TEMPER_DATA/samples/github" \
    > "$TMP/port" &
mock=$!
read -r word port < "$TMP/port"
[ "$word" = PORT ] || tap_skip_all "the GitHub mock did not start"
base=http://127.0.0.1:$port

mkdir "$TMP/images"
cat > "$TMP/pipeline.ini" <<INI
[core]
store   = sqlite:$TMP/state.db
workdir = $TMP/work
images  = images/*.ini

[tracker "gh"]
plugin   = github_releases
api_url  = $base
INI
cat > "$TMP/images/rel.ini" <<INI
[image]
name         = pygithub
distribution = debian:bookworm
packages     = python3

[upstream]
tracker      = gh
repo         = PyGithub/PyGithub
strip_prefix = v
INI

track() { # `temper track --json`: stdout in $TMP/out, stderr in $TMP/err
    (cd "$TMP" && exec "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" track -c pipeline.ini \
        --json) > "$TMP/out" 2> "$TMP/err"
    rc=$?
    sed 's/^/# /' "$TMP/err"
}
review() {
    "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" review -c "$TMP/pipeline.ini" "$@"
}
release() {
    curl -s --noproxy '*' -X POST --data \
        "{\"add_release\": [{\"repo\": \"PyGithub/PyGithub\", \"tag_name\": \"$1\"}]}" \
        "$base/_mock/scenario" > /dev/null
}
park() { # VERSION: the review item the engine opens when the guard blocks
    job=$(sed -n 's/.*"jobs":\[{"image":"pygithub","job":\([0-9]*\).*/\1/p' "$TMP/out")
    sqlite3 "$TMP/state.db" "insert into reviews (job_id, image, version, summary, findings, \
        state, created_at) values (${job:-0}, 'pygithub', '$1', 'guard.heuristic blocked \
        pygithub $1: 1 finding(s)', '[{\"rule\":\"curl-pipe-shell\"}]', 1, 1)"
}
jobs() { sqlite3 "$TMP/state.db" "select count(*) from jobs"; }

track
tap_check "round 1: initial change to 1.55" grep -q '"new_version":"1.55"' "$TMP/out"
park 1.55
tap_check "1.55 approved" review approve 1 --actor alice --reason "looked fine" 2>/dev/null
tap_check "1.55 is pinned" \
    [ "$(sqlite3 "$TMP/state.db" "select pinned_version from images")" = 1.55 ]

release v1.56
track
tap_check "round 2: 1.55 -> 1.56 raised" \
    grep -q '"new_version":"1.56","old_ref":"v1.55","old_version":"1.55"' "$TMP/out"
park 1.56
tap_check "1.56 rejected" review reject 2 --actor bob --reason "curl | sh in the build"
jobs0=$(jobs)

track
tap_check "round 3: nothing reported" [ ! -s "$TMP/out" ]

# The tracker forgets what it reported (state reset, new store of its own):
# from the pinned 1.55 it would raise 1.56 again.
sqlite3 "$TMP/state.db" "delete from kv where key like 'w:%' or key like 'http:%'"
track
tap_check "round 4 (tracker state lost): exit 0" [ "$rc" = 0 ]
tap_check "round 4: nothing reported for the rejected 1.56" [ ! -s "$TMP/out" ]
tap_check "round 4: stderr says why" \
    grep -q 'image pygithub: upstream version 1.56 was rejected in review 2: not raised again' \
    "$TMP/err"
tap_check "round 4: no job enqueued" [ "$(jobs)" = "$jobs0" ]

release v1.57
track
tap_check "round 5: a newer version is raised normally" \
    grep -q '"image":"pygithub".*"new_version":"1.57"' "$TMP/out"
tap_check "round 5: with a job" grep -q '"jobs":\[{"image":"pygithub","job":[0-9]' "$TMP/out"
tap_check "the pinned version is still 1.55" \
    [ "$(sqlite3 "$TMP/state.db" "select pinned_version from images")" = 1.55 ]
tap_done

#!/bin/sh
# A version rejected in review is not raised again (#8), end to end with
# `temper track`, `temper review` and the GitHub mock: 1.55 is approved
# (pinned), 1.56 is raised and rejected; after the tracker's own state is
# lost (so that the tracker itself would raise 1.56 again from the pinned
# 1.55), the round reports nothing for 1.56 and enqueues nothing; 1.57 is then
# raised normally.  Review items are put in the store with sqlite3 the way the
# engine opens them when a guard blocks (`temper run` is #9).
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
. "$TEMPER_SRCDIR/tests/lib/github_mock.sh"
if ! command -v sqlite3 > /dev/null; then
    [ "$CI" = true ] && { echo "Bail out! sqlite3 missing"; exit 1; }
    echo "1..0 # SKIP sqlite3 missing"
    exit 0
fi
gm_setup gh-reject

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

review() {
    "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" review -c "$TMP/pipeline.ini" "$@"
}
release() {
    gm_scenario "{\"add_release\": [{\"repo\": \"PyGithub/PyGithub\", \"tag_name\": \"$1\"}]}"
}
park() { # VERSION: the review item the engine opens when the guard blocks
    job=$(sed -n 's/.*"jobs":\[{"image":"pygithub","job":\([0-9]*\).*/\1/p' "$TMP/out")
    sqlite3 "$TMP/state.db" "insert into reviews (job_id, image, version, summary, findings, \
        state, created_at) values (${job:-0}, 'pygithub', '$1', 'guard.heuristic blocked \
        pygithub $1: 1 finding(s)', '[{\"rule\":\"curl-pipe-shell\"}]', 1, 1)"
}
jobs() { sqlite3 "$TMP/state.db" "select count(*) from jobs"; }

gm_track
tap_check "round 1: initial change to 1.55" grep -q '"new_version":"1.55"' "$TMP/out"
park 1.55
tap_check "1.55 approved" review approve 1 --actor alice --reason "looked fine" 2>/dev/null
tap_check "1.55 is pinned" \
    [ "$(sqlite3 "$TMP/state.db" "select pinned_version from images")" = 1.55 ]

release v1.56
gm_track
tap_check "round 2: 1.55 -> 1.56 raised" \
    grep -q '"new_version":"1.56","old_ref":"v1.55","old_version":"1.55"' "$TMP/out"
park 1.56
tap_check "1.56 rejected" review reject 2 --actor bob --reason "curl | sh in the build"
jobs0=$(jobs)

gm_track
tap_check "round 3: nothing reported" [ ! -s "$TMP/out" ]

# The tracker forgets what it reported (state reset, new store of its own):
# from the pinned 1.55 it would raise 1.56 again.
sqlite3 "$TMP/state.db" "delete from kv where key like 'w:%' or key like 'http:%'"
gm_track
tap_check "round 4 (tracker state lost): exit 0" [ "$rc" = 0 ]
tap_check "round 4: nothing reported for the rejected 1.56" [ ! -s "$TMP/out" ]
tap_check "round 4: stderr says why" \
    grep -q 'image pygithub: upstream version 1.56 was rejected in review 2: not raised again' \
    "$TMP/err"
tap_check "round 4: no job enqueued" [ "$(jobs)" = "$jobs0" ]

release v1.57
gm_track
tap_check "round 5: a newer version is raised normally" \
    grep -q '"image":"pygithub".*"new_version":"1.57"' "$TMP/out"
tap_check "round 5: with a job" grep -q '"jobs":\[{"image":"pygithub","job":[0-9]' "$TMP/out"
tap_check "round 5: the change runs from the accepted 1.55, not the rejected 1.56" \
    sh -c "grep -q '\"old_version\":\"1.55\"' '$TMP/out' &&
           grep -q '\"compare_url\":\"[^\"]*/compare/v1.55...v1.57\"' '$TMP/out'"
tap_check "the pinned version is still 1.55" \
    [ "$(sqlite3 "$TMP/state.db" "select pinned_version from images")" = 1.55 ]
tap_done

#!/bin/sh
# temper track end to end with the GitHub trackers: `temper track` twice
# against tests/lib/github_mock.py with the embedded store.  The second round
# makes only conditional requests (all 304) and reports nothing; a new
# release then makes one change with its compare URL.  TAP output.
: "${TEMPER_BIN:?}" "${TEMPER_SRCDIR:?}" "${TEMPER_DATA:?}" "${TEMPER_PLUGINS:?}"
PYTHON3=${PYTHON3:-python3}
export TEMPER_NO_INSTALLED_PLUGINS=1
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY NO_PROXY
export no_proxy=127.0.0.1,localhost
n=0
fail=0
ok() { # STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
if ! "$TEMPER_BIN" plugins --plugin-dir "$TEMPER_PLUGINS" 2>/dev/null |
        grep -q '^store  *sqlite'; then
    echo "1..0 # SKIP the sqlite store is not built"
    exit 0
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/temper-gh-track.XXXXXX") || exit 1
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
[ "$word" = PORT ] || { echo "1..0 # SKIP the GitHub mock did not start"; exit 0; }
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
per_page = 10

[tracker "ghtags"]
plugin  = github_tags
api_url = $base
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
cat > "$TMP/images/tags.ini" <<INI
[image]
name         = pygithub-tags
distribution = debian:bookworm
packages     = python3

[upstream]
tracker = ghtags
repo    = PyGithub/PyGithub
include = ^v1\.
INI

track() { # run `temper track --json`; stdout in $TMP/out, stderr in $TMP/err
    (cd "$TMP" && exec "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" track -c pipeline.ini \
        --json) > "$TMP/out" 2> "$TMP/err"
    rc=$?
    sed 's/^/# /' "$TMP/err"
}
stat() { # KEY: a number from the mock's /_mock/stats
    curl -s --noproxy '*' "$base/_mock/stats" |
        "$PYTHON3" -c "import json, sys; print(json.load(sys.stdin)['$1'])"
}

track
ok $rc "first round exits 0"
ok "$([ "$(wc -l < "$TMP/out")" -eq 2 ]; echo $?)" "first round: two changes"
grep -q '"image":"pygithub","new_ref":"v1.55","new_version":"1.55","old_version":""' \
    "$TMP/out"
ok $? "releases: initial change to 1.55"
grep -q '"image":"pygithub-tags","new_ref":"v1.59.1"' "$TMP/out"
ok $? "tags: initial change to v1.59.1"
grep -q '"jobs":\[{"image":"pygithub","job":[0-9]' "$TMP/out"
ok $? "a job was enqueued"
ok "$([ "$(stat count)" = 4 ] && [ "$(stat conditional)" = 0 ]; echo $?)" \
    "first round: 4 requests (3 release pages, 1 tag page), none conditional"

curl -s --noproxy '*' -X POST "$base/_mock/reset" > /dev/null
track
ok $rc "second round exits 0"
ok "$([ ! -s "$TMP/out" ]; echo $?)" "second round: nothing reported"
ok "$([ "$(stat count)" = 4 ] && [ "$(stat conditional)" = 4 ] &&
      [ "$(stat not_modified)" = 4 ]; echo $?)" "second round: 4 conditional requests, all 304"

curl -s --noproxy '*' -X POST --data \
    '{"add_release": [{"repo": "PyGithub/PyGithub", "tag_name": "v1.56"}]}' \
    "$base/_mock/scenario" > /dev/null
track
ok $rc "third round exits 0"
grep -q "\"compare_url\":\"$base/PyGithub/PyGithub/compare/v1.55...v1.56\"" "$TMP/out" &&
    grep -q '"new_version":"1.56","old_ref":"v1.55","old_version":"1.55"' "$TMP/out"
ok $? "a new release: 1.55 -> 1.56 with its compare URL"
ok "$([ "$(wc -l < "$TMP/out")" -eq 1 ]; echo $?)" "only the release tracker reports"

echo "1..$n"
exit $fail

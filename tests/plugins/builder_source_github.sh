#!/bin/sh
# builder_source with `github = OWNER/REPO`: the release the GitHub tracker
# finds (tests/lib/github_mock.py, PyGithub/PyGithub, newest tag v1.55) is
# built from the tag's tarball, fetched through the API's tarball endpoint
# (GET /repos/PyGithub/PyGithub/tarball/v1.55, answered 302 to the mock's
# codeload-shaped path, like api.github.com -> codeload.github.com), whose
# top directory PyGithub-PyGithub-<sha>/ is where the recipe runs; the
# program runs inside the image (suite_command) in a `temper run` of the
# job `temper track` queued.  A wrong pinned sha256 fails the run cleanly,
# the token is sent to the API but never logged, and a tag the repository
# does not have fails with the URL.
#
# Build root and runtime base: the Alpine-format repository this suite makes
# from Debian's busybox-static and musl (tests/lib/apk_from_deb.sh; no
# Alpine mirror offline), the same as builder_source_alpine.sh.
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}" "${TEMPER_DATA:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
PYTHON3=${PYTHON3:-python3}
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY NO_PROXY
export no_proxy=127.0.0.1,localhost
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
if [ ! -f "$TEMPER_PLUGINS/builder_source/.libs/builder_source.so" ]; then
    tap_skip_all "no shared plugin modules (static build)"
fi
"$TEMPER_BIN" plugins --plugin-dir "$TEMPER_PLUGINS" 2>/dev/null | grep -q '^store  *sqlite' ||
    tap_skip_all "the sqlite store is not built"
. "$TEMPER_SRCDIR/tests/lib/apk_from_deb.sh"
afd_need_tools
T=$(mktemp -d /tmp/temper-source-gh-XXXXXX)
AFD_SRV=; GM=
trap '[ -n "$AFD_SRV" ] && kill "$AFD_SRV" 2>/dev/null; [ -n "$GM" ] && kill "$GM" 2>/dev/null; rm -rf "$T"' EXIT
afd_repo_start "$T"

# ---- the tag tarball, shaped like GitHub's ----
top=PyGithub-PyGithub-4bf07a2
mkdir -p "$T/up/$top" "$T/tarballs/PyGithub/PyGithub"
afd_hello "$T/up/$top"
printf 'v1.55 from the tag tarball\n' > "$T/up/$top/greeting.txt"
(cd "$T/up" && tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner \
    -czf "$T/tarballs/PyGithub/PyGithub/v1.55.tar.gz" "$top")
SHA=$(sha256sum "$T/tarballs/PyGithub/PyGithub/v1.55.tar.gz" | cut -d' ' -f1)

mkfifo "$T/gm.port"
"$PYTHON3" "$TEMPER_SRCDIR/tests/lib/github_mock.py" --data "$TEMPER_DATA/samples/github" \
    --tarballs "$T/tarballs" > "$T/gm.port" &
GM=$!
read -r word gport < "$T/gm.port"
[ "$word" = PORT ] || { echo "Bail out! the GitHub mock did not start"; exit 1; }
API=http://127.0.0.1:$gport
TOKEN=ghp_sourcetesttoken0123456789abcdef
printf '%s\n' "$TOKEN" > "$T/token"
chmod 600 "$T/token"

mkdir -p "$T/images"
cat > "$T/p.ini" <<INI
[core]
store = sqlite:$T/state.db
workdir = $T/work
cache_dir = $T/cache
images = images/*.ini

[pipeline]
stages = builder.source, suite.command

[tracker "gh"]
plugin = github_releases
api_url = $API
per_page = 10

[builder "source"]
plugin = source
repositories = $REPO
keys = $KEY
github_api = $API
github_token_file = $T/token
cache_dir = $T/cache
timeout = 60s

[suite "command"]
plugin = command
INI
STEP="mkdir -p /staging/usr/bin /staging/usr/share/hello && cp hello /staging/usr/bin/ && cp greeting.txt /staging/usr/share/hello/"
# image NAME SHA256-LINE [TAG]: the hello program from PyGithub/PyGithub's tag
image() {
    {
        printf '[image]\nname = %s\ndistribution = alpine:v3.19\n' "$1"
        printf 'entrypoint = /usr/bin/hello\n\n[upstream]\ntracker = gh\n'
        printf 'repo = PyGithub/PyGithub\nstrip_prefix = v\n\n[build]\n'
        printf 'github = PyGithub/PyGithub\n%s\n' "$2"
        [ -n "${3:-}" ] && printf 'tag = %s\n' "$3"
        printf 'build_depends = busybox musl\ninstall = /usr/bin/* /usr/share/hello/*\n'
        printf 'step = %s\n' "$STEP"
        printf '\n[test "runs"]\nsuite = command\ncommand = /usr/bin/hello\n'
        printf 'expected_output = ^hello from alpine, v1.55 from the tag tarball$\n'
    } > "$T/images/$1.ini"
}
tp() { (cd "$T" && exec "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" "$@"); }

image hello "sha256 = $SHA"
tp track -c p.ini > "$T/track.out" 2> "$T/track.err"; rc=$?
tap_check "temper track finds the release v1.55 (exit $rc)" \
    sh -c "[ $rc -eq 0 ] && grep -q 'hello.*1.55' '$T/track.out'"
[ $rc -eq 0 ] || sed 's/^/# /' "$T/track.err" | tail -n 5
tp run -c p.ini hello > "$T/run.out" 2> "$T/run.err"; rc=$?
tap_check "temper run builds v1.55 from the tag tarball and its test passes (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' "$T/run.err" | grep -v ' info ' | tail -n 10
tap_check "the tarball came through the API's tarball endpoint" \
    grep -q "tarball $API/repos/PyGithub/PyGithub/tarball/v1.55: [0-9]* bytes, sha256 $SHA" "$T/run.err"
tap_check "the program ran inside the image and printed the tag tarball's greeting" \
    grep -q 'image=hello stage=suite.command event=done rc=ok verdict=pass' "$T/run.err"
curl -s --noproxy '*' "$API/_mock/stats" > "$T/stats"
"$PYTHON3" - "$T/stats" "$TOKEN" > "$T/stats.check" 2>&1 <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
paths = [(r["raw"], r["status"]) for r in st["requests"]]
assert ("/repos/PyGithub/PyGithub/tarball/v1.55", 302) in paths, paths
assert ("/_codeload/PyGithub/PyGithub/legacy.tar.gz/refs/tags/v1.55", 200) in paths, paths
assert "Bearer " + sys.argv[2] in st["auth"], st["auth"]
print("ok")
PY
tap_check "302 to codeload followed, the token sent to the API" grep -qx ok "$T/stats.check"
grep -qx ok "$T/stats.check" || sed 's/^/# /' "$T/stats.check" | tail -n 3
tap_check "the token is in no log or output" \
    sh -c "! grep -rq '$TOKEN' '$T/run.out' '$T/run.err' '$T/track.out' '$T/track.err' '$T/work' 2>/dev/null"

image badsha "sha256 = $(printf '%064d' 0)" v1.55
tp build -c p.ini badsha -o "$T/obad" > /dev/null 2> "$T/bad.err"; rc=$?
tap_check "a wrong sha256 of the tag tarball fails cleanly (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'tarball $API/repos/PyGithub/PyGithub/tarball/v1.55 has sha256 $SHA, the definition pins 0000' '$T/bad.err'"
image notag "" "v9.99"
tp build -c p.ini notag -o "$T/onotag" > /dev/null 2> "$T/notag.err"; rc=$?
tap_check "a tag the repository does not have fails with the URL (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'repos/PyGithub/PyGithub/tarball/v9.99.*404' '$T/notag.err'"
[ $rc -eq 1 ] || sed 's/^/# /' "$T/notag.err" | tail -n 3
sed "s|^github = PyGithub/PyGithub|github = ../../etc|" "$T/images/notag.ini" > "$T/images/badrepo.ini"
sed -i 's/^name = notag/name = badrepo/' "$T/images/badrepo.ini"
tp build -c p.ini badrepo -o "$T/obr" > /dev/null 2> "$T/br.err"; rc=$?
tap_check "a repository that is not OWNER/REPO is refused (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'github = ../../etc: not a GitHub OWNER/REPO' '$T/br.err'"
sed "s|^github_api = .*|github_api = http://192.0.2.1:9|" "$T/p.ini" > "$T/p2.ini"
tp build -c p2.ini notag -o "$T/ohttp" > /dev/null 2> "$T/http.err"; rc=$?
tap_check "a plain-http API that is not on loopback is refused (exit $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'github_api http://192.0.2.1:9: https only' '$T/http.err'"
tap_done

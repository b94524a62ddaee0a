#!/bin/sh
# Fault injection (issue #11): a network that drops mid-transfer.
# Downloads: tests/lib/cutproxy.py in front of a loopback Debian mirror
# closes the connection in the middle of a reply's body.
#  - a .deb cut once, then a Packages index cut once: builder_deb retries and
#    the build gives the same digest as a build over a sound network, from
#    cached files whose SHA256 is the index's;
#  - the index or the .deb cut on every try: the build fails with one line naming the
#    URL, and no partial file is left anywhere in the cache; with the network
#    back the next build works and the cached .deb has the pool file's
#    SHA256.
# The GitHub API: the mock cuts its replies mid-body; `temper track` fails
# cleanly naming the URL, the tracker's state is not advanced and no job is
# queued; the next track (one reply cut, retried) reports the release once.
. "$TEMPER_SRCDIR/tests/run/run_lib.sh"
. "$TEMPER_SRCDIR/tests/lib/e2e_lib.sh"
e2e_init netdrop
e2e_mirror || { echo "Bail out! cannot start the mirror"; exit 1; }
mport=${DEB_URL##*:}
box_sha=$(sha256sum "$M/pool/tinybox_1.0_all.deb" | cut -d' ' -f1)
printf '[image]\nname = base\ndistribution = debian:test\npackages = basefiles tinybox\n' \
    > "$T/images/base.ini"

# build NAME MIRROR [OUT]: temper build of base with its own cache under
# $T/NAME; on stdout its layers' digests (the manifest names the mirror)
build() {
    deb_ini "$T/$1.ini" "$T/$1" "$2" "allow_unsigned = yes"
    cp "$T/images/base.ini" "$T/$1/images/"
    tp build -c "$T/$1.ini" base -o "$T/$1/${3:-out}" > /dev/null 2> "$T/$1.err" &&
    "$PY" -c 'import json, os, sys
d = sys.argv[1]
blob = lambda dg: json.load(open(os.path.join(d, "blobs", *dg.split(":"))))
m = blob(json.load(open(os.path.join(d, "index.json")))["manifests"][0]["digest"])
print(" ".join(l["digest"] for l in m["layers"]))' "$T/$1/${3:-out}"
}
# cache_sound DIR: every file of the cache is complete (debs/<sha256>.deb has that SHA256)
cache_sound() {
    find "$1" -type f | while read -r f; do
        case $f in
        */debs/*.deb)
            [ "$(sha256sum "$f" | cut -d' ' -f1).deb" = "${f##*/}" ] || echo "$f"
            ;;
        esac
    done | grep -q . && return 1
    ! find "$1" -name '*.tmp*' -o -name '*.part*' -o -name '.*' -type f | grep -q .
}

ref=$(build ref "$DEB_URL"); rc=$?
echo "$ref" | grep -qE '^sha256:[0-9a-f]{64}$'
tap_check "a build over a sound network ($rc)" [ $? -eq 0 -a $rc -eq 0 ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 5 "$T/ref.err")"

# a .deb cut once, 100 KiB into its body
cp_start p1 "$mport" --match /pool/tinybox_1.0_all.deb --after 102400 --times 1 ||
    { echo "Bail out! the proxy does not start"; exit 1; }
d=$(build once "http://127.0.0.1:$CP_PORT"); rc=$?
tap_check "a .deb cut once: the build succeeds ($rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 5 "$T/once.err")"
tap_check "... the download was cut, then fetched again whole" \
    [ "$(grep -c 'tinybox_1.0_all.deb cut$' "$T/p1.log") $(grep -c 'tinybox_1.0_all.deb ok$' "$T/p1.log")" = "1 1" ]
tap_check "... with the layer of the sound build" [ "$d" = "$ref" ]
tap_check "... and the cached .deb has the index's SHA256" \
    sh -c "[ \"\$(sha256sum '$T/once/cache/builder_deb/debs/$box_sha.deb' | cut -d' ' -f1)\" = $box_sha ]"
tap_check "... nothing partial in the cache" cache_sound "$T/once/cache"
cp_stop

# the Packages index cut once, 100 bytes into its body
cp_start p2 "$mport" --match /Packages --after 100 --times 1 ||
    { echo "Bail out! the proxy does not start"; exit 1; }
d=$(build idx "http://127.0.0.1:$CP_PORT"); rc=$?
tap_check "the Packages index cut once: the build succeeds ($rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 5 "$T/idx.err")"
tap_check "... the index was cut, then fetched again" \
    [ "$(grep -c 'Packages cut$' "$T/p2.log") $(grep -c 'Packages ok$' "$T/p2.log")" = "1 1" ]
tap_check "... with the layer of the sound build" [ "$d" = "$ref" ]
tap_check "... nothing partial in the cache" cache_sound "$T/idx/cache"
cp_stop

# the Packages index cut on every try
cp_start p4 "$mport" --match /Packages --after 100 --times -1 ||
    { echo "Bail out! the proxy does not start"; exit 1; }
build idxall "http://127.0.0.1:$CP_PORT" > /dev/null; rc=$?
tap_check "the index cut on every try: the build fails ($rc)" [ $rc -ne 0 ]
grep 'error' "$T/idxall.err" > "$T/line"
tap_check "... with one error line naming the URL" \
    [ "$(wc -l < "$T/line")" = 1 -a "$(grep -c "http://127.0.0.1:$CP_PORT/dists/test/main/binary-amd64/Packages" "$T/line")" = 1 ]
tap_diag "$(cat "$T/line")"
tap_check "... nothing partial in the cache" cache_sound "$T/idxall/cache"
tap_check "... no .deb downloaded" [ -z "$(ls -A "$T/idxall/cache/builder_deb/debs" 2>/dev/null)" ]
cp_stop

# the .deb cut on every try
cp_start p3 "$mport" --match /pool/tinybox_1.0_all.deb --after 102400 --times -1 ||
    { echo "Bail out! the proxy does not start"; exit 1; }
purl="http://127.0.0.1:$CP_PORT"
build all "$purl" > /dev/null; rc=$?
tap_check "a .deb cut on every try: the build fails ($rc)" [ $rc -ne 0 ]
tap_check "... after more than one try" [ "$(grep -c 'tinybox_1.0_all.deb cut$' "$T/p3.log")" -gt 1 ]
grep 'error' "$T/all.err" > "$T/line"
tap_check "... with one error line naming the URL" \
    [ "$(wc -l < "$T/line")" = 1 -a "$(grep -c "$purl/pool/tinybox_1.0_all.deb" "$T/line")" = 1 ]
tap_diag "$(cat "$T/line")"
tap_check "... no partial .deb left in the cache" \
    sh -c "[ ! -e '$T/all/cache/builder_deb/debs/$box_sha.deb' ] && ! ls -A '$T/all/cache/builder_deb/debs' 2>/dev/null | grep -q '$box_sha'"
tap_check "... nothing partial anywhere in the cache" cache_sound "$T/all/cache"
cp_stop
d=$(build all "$DEB_URL" out2); rc=$?
tap_check "the network back: the next build with that cache works ($rc)" [ $rc -eq 0 -a "$d" = "$ref" ]
tap_check "... and its .deb has the pool file's SHA256" \
    sh -c "[ \"\$(sha256sum '$T/all/cache/builder_deb/debs/$box_sha.deb' | cut -d' ' -f1)\" = $box_sha ]"

# the GitHub API cut mid-body
gm_start || { echo "Bail out! the GitHub mock did not start"; exit 1; }
core_ini "$T/gh.ini"
printf '[pipeline]\nstages = builder.deb\n\n[builder "deb"]\nplugin = deb\nmirror = %s\n' \
    "$DEB_URL" >> "$T/gh.ini"
printf '\n[tracker "github"]\nplugin = github_releases\napi_url = %s\n' "$GH" >> "$T/gh.ini"
cat > "$T/images/app.ini" <<INI
[image]
name = app
distribution = debian:test
packages = basefiles

[upstream]
tracker = github
repo = PyGithub/PyGithub
strip_prefix = v
INI
rm -f "$T/images/base.ini"
tp track -c "$T/gh.ini" > "$T/t1" 2> "$T/t1.err"; rc=$?
tap_check "track over a sound network ($rc) reports the newest release" \
    sh -c "[ $rc -eq 0 ] && grep -q '^tracker.github app .*1.55' '$T/t1'"
state0=$(q "select group_concat(ns || '=' || key || '=' || value, ';') from kv where ns <> 'published'")
jobs0=$(q "select count(*) from jobs")
gm_post '{"add_release": [{"repo": "PyGithub/PyGithub", "tag_name": "v1.56"}],
          "faults": [{"match": "/releases", "kind": "truncated", "count": -1}]}'
tp track -c "$T/gh.ini" > "$T/t2" 2> "$T/t2.err"; rc=$?
tap_check "replies cut mid-body: track fails ($rc)" [ $rc -ne 0 ]
grep 'error' "$T/t2.err" > "$T/line"
tap_check "... with one error line naming the URL" \
    [ "$(wc -l < "$T/line")" = 1 -a "$(grep -c "$GH/[^ ]*releases" "$T/line")" = 1 ]
tap_diag "$(cat "$T/line")"
tap_check "... reporting no change" [ ! -s "$T/t2" ]
tap_check "... the tracker's state is not advanced, no job queued" \
    [ "$(q "select group_concat(ns || '=' || key || '=' || value, ';') from kv where ns <> 'published'")" = "$state0" -a "$(q "select count(*) from jobs")" = "$jobs0" ]
gm_post '{"faults_clear": true}'
gm_post '{"faults": [{"match": "/releases", "kind": "truncated", "count": 1}]}'
tp track -c "$T/gh.ini" > "$T/t3" 2> "$T/t3.err"; rc=$?
tap_check "one reply cut, then the network back: the next track reports the release once ($rc)" \
    sh -c "[ $rc -eq 0 ] && [ \$(wc -l < '$T/t3') -eq 1 ] && grep -q '^tracker.github app 1.55 -> 1.56' '$T/t3'"
tap_check "the store is sound" [ "$(q 'pragma integrity_check')" = ok ]
e2e_sanitizers
tap_done

#!/bin/sh
# End to end, both flows in one pipeline against a real docker-registry
# (issue #9).  Upstreams: the GitHub mock and a loopback Debian mirror of
# hand-made packages (a static busybox in the base).  Flow 1: a base image
# and an app image on it, built by builder_deb, tested by suite_command
# (busybox runs inside each image), attested (SPDX, CycloneDX, SLSA), signed
# with a generated key and pushed by publish_registry.  Flow 2: a team's
# customization of the app (builder_overlay) whose artifact is an ORAS-style
# OCI artifact pushed to the same registry with skopeo and watched there by
# tracker_oci.  (The app lists busybox too: builder_deb does not layer on
# its base yet, and this test must not depend on whether it does.)  Checks: `temper verify` of every pushed tag, skopeo sees the
# digest the store recorded and copies it to an OCI layout; a new artifact
# version is one tracker_oci change that rebuilds only the customization; an
# upstream release rebuilds the app and the customization after it, each
# published exactly once (runs in the store, manifests in the registry).
. "$TEMPER_SRCDIR/tests/run/run_lib.sh"
. "$TEMPER_SRCDIR/tests/lib/e2e_lib.sh"
e2e_init e2e /usr/bin/docker-registry skopeo
e2e_mirror || { echo "Bail out! cannot start the mirror"; exit 1; }
gm_start || { echo "Bail out! the GitHub mock did not start"; exit 1; }
rport=$(e2e_port)
reg_up "$T/reg" "$rport" || { echo "Bail out! docker-registry does not start"; exit 1; }
R=127.0.0.1:$rport

# the team's artifact, pushed the way `oras push` would shape it
mkdir -p "$T/team"
printf 'listen: 8080\n' > "$T/team/app.yaml"
art() {
    "$PY" "$TEMPER_SRCDIR/conf/demo/mkartifact.py" "$T/art" "$1" "$T/team/app.yaml" > /dev/null &&
    skopeo --policy "$T/policy.json" copy -q --dest-tls-verify=false "oci:$T/art:$1" \
        "docker://$R/team/cfg:v1" 2>>"$T/skopeo.err"
}
art a1; tap_check "skopeo pushed the team's artifact to the registry" [ $? -eq 0 ]

core_ini "$T/p.ini"
cat >> "$T/p.ini" <<INI
[pipeline]
stages = builder.deb, builder.overlay, suite.command, attest.spdx, attest.cyclonedx,
         attest.slsa, signer.release, publish.registry

[tracker "github"]
plugin = github_releases
api_url = $GH

[tracker "oci"]
plugin = oci
plain_http = true

[builder "overlay"]
plugin = overlay
plain_http = true

[suite "command"]
plugin = command

[attest "spdx"]
plugin = spdx

[attest "cyclonedx"]
plugin = cyclonedx
INI
e2e_stages "$T/p.ini" "$R/e2e"
cat > "$T/images/base.ini" <<INI
[image]
name = base
distribution = debian:test
packages = basefiles tinybox

[build]
builder = deb

[test "busybox runs"]
suite = command
command = $BOX cat /etc/base-release
expected_output = ^one\$
INI
cat > "$T/images/app.ini" <<INI
[image]
name = app
base = image:base
distribution = debian:test
packages = appbin tinybox

[build]
builder = deb

[upstream]
tracker = github
repo = PyGithub/PyGithub
strip_prefix = v

[test "app on the base"]
suite = command
command = $BOX cat /usr/share/app/version
expected_output = ^app-1\$
INI
cat > "$T/images/custom.ini" <<INI
[image]
name = custom
base = image:app
distribution = debian:test
env = TEAM=platform

[build]
builder = overlay
artifact = $R/team/cfg:v1 dest=/etc/team

[upstream]
tracker = oci
ref = $R/team/cfg:v1

[test "team config"]
suite = command
command = $BOX cat /etc/team/app.yaml
expected_output = ^listen: 8080\$
INI

pub() { q "select json_extract(value, '\$.$2') from kv where ns = 'published' and key = '$1'"; }
# signed images in a repository (one .sig tag each), publish stages run for an image
sigs() { reg_tags "$R/$1" | grep -c '^sha256-[0-9a-f]*\.sig$'; }
pubs() { q "select count(*) from stage_results s join runs r on r.id = s.run_id
            where s.stage = 'publish.registry' and s.rc = 0 and r.image = '$1'"; }
okruns() { q "select count(*) from runs where status = 0 and image = '$1'"; }
order() { q "select group_concat(image, ' ') from (select image from runs where id > $1 order by id)"; }
verify_all() {
    for i in base app custom; do
        "$TEMPER_BIN" verify --key "$T/keys/signing.key.pub" --plain-http "$R/e2e/$i:$1" \
            > "$T/verify.out" 2>&1 || { tap_diag "verify $i:$1: $(tail -n 3 "$T/verify.out")"; return 1; }
    done
}

tp run -c "$T/p.ini" base 2> "$T/err1"; rc=$?
tap_check "run base exits 0 ($rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 8 "$T/err1")"
tap_check "base, then app and the customization by the cascade ($(order 0))" \
    [ "$(order 0)" = "base app custom" ]
tap_check "every stage ran for the app, publish last" \
    [ "$(q "select group_concat(stage, ' ') from (select stage from stage_results where run_id = 2 order by seq)")" = \
      "builder.deb suite.command attest.spdx attest.cyclonedx attest.slsa signer.release publish.registry" ]
tap_check "the suites passed in each image (busybox ran inside)" \
    [ "$(q "select count(*) from stage_results where stage = 'suite.command' and rc = 0 and verdict = 1")" = 3 ]
tags=$(reg_tags "$R/e2e/app" | tr '\n' ' ')
tap_check "the app's tags are in the registry ($tags)" \
    sh -c "echo '$tags' | grep -q 'latest' && echo '$tags' | grep -q 'sha256-[0-9a-f]*\\.sig' &&
           echo '$tags' | grep -q 'sha256-[0-9a-f]*\\.att'"
verify_all latest; tap_check "temper verify --plain-http: every image in the registry verifies" [ $? -eq 0 ]
for i in base app custom; do
    tap_check "skopeo sees the digest the store recorded for $i" \
        [ "$(reg_skopeo_digest "$R/e2e/$i:latest" --tls-verify=false)" = "$(pub $i digest)" -a -n "$(pub $i digest)" ]
done
skopeo --policy "$T/policy.json" copy -q --src-tls-verify=false --preserve-digests \
    "docker://$R/e2e/custom:latest" "oci:$T/copy:c" 2>>"$T/skopeo.err"
tap_check "skopeo copies the customization to an OCI layout" [ $? -eq 0 -a -f "$T/copy/index.json" ]
tap_check "the customization was built on the app's published digest" \
    [ "$(pub custom base_digest)" = "$(pub app digest)" ]
cpk=$(q "select group_concat(name, ' ') from (select distinct name from build_packages where build_id = (select max(id) from builds where image = 'custom') order by name)")
tap_check "the customization (artifacts only) records the packages of the app and its base ($cpk)" \
    [ "$cpk" = "appbin basefiles tinybox" ]

# a tracking round: the first poll reports what each tracker watches
tp track -c "$T/p.ini" > "$T/track0" 2> "$T/terr0"; rc=$?
tap_check "first track exits 0 ($rc) and reports github and oci" \
    sh -c "[ $rc -eq 0 ] && grep -q '^tracker.github app' '$T/track0' && grep -q '^tracker.oci custom' '$T/track0'"
tp run -c "$T/p.ini" 2> "$T/err2"; rc=$?
tap_check "the run after it exits 0 ($rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 8 "$T/err2")"
n0=$(q "select max(id) from runs")
c0=$(okruns custom); a0=$(okruns app); b0=$(okruns base)
crev0=$(sigs e2e/custom); arev0=$(sigs e2e/app)
cd0=$(pub custom digest); ad0=$(pub app digest)

# flow 2: a new version of the team's artifact
printf 'listen: 9090\n' > "$T/team/app.yaml"
art a2; tap_check "skopeo pushed the artifact's new version" [ $? -eq 0 ]
sed -i 's/\^listen: 8080/^listen: 9090/' "$T/images/custom.ini"
tp track -c "$T/p.ini" > "$T/track1" 2> "$T/terr1"
tap_check "track reports the tracker_oci change once ($(tr '\n' ';' < "$T/track1"))" \
    sh -c "[ \$(wc -l < '$T/track1') -eq 1 ] && grep -q '^tracker.oci custom sha256:[0-9a-f]* -> sha256:' '$T/track1'"
tp run -c "$T/p.ini" 2> "$T/err3"; rc=$?
tap_check "the run exits 0 ($rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 8 "$T/err3")"
tap_check "only the customization was rebuilt, once ($(order "$n0"))" \
    [ "$(order "$n0")" = "custom" -a "$(okruns custom)" = $((c0 + 1)) ]
tap_check "... with the new artifact (a new digest, its test saw listen: 9090)" \
    [ -n "$(pub custom digest)" -a "$(pub custom digest)" != "$cd0" ]
tap_check "... and the app was not published again" \
    [ "$(okruns app) $(pub app digest) $(sigs e2e/app)" = "$a0 $ad0 $arev0" ]
verify_all latest; tap_check "everything in the registry verifies" [ $? -eq 0 ]
tap_check "skopeo sees the new customization digest" \
    [ "$(reg_skopeo_digest "$R/e2e/custom:latest" --tls-verify=false)" = "$(pub custom digest)" ]
tap_check "one new signed image in the customization's repository" \
    [ $(($(sigs e2e/custom) - crev0)) -eq 1 ]

# flow 1: an upstream release of the app
n1=$(q "select max(id) from runs")
crev1=$(sigs e2e/custom)
gm_post '{"add_release": [{"repo": "PyGithub/PyGithub", "tag_name": "v1.56"}]}'
tp track -c "$T/p.ini" > "$T/track2" 2> "$T/terr2"
tap_check "track reports the release once ($(tr '\n' ';' < "$T/track2"))" \
    sh -c "[ \$(wc -l < '$T/track2') -eq 1 ] && grep -q '^tracker.github app .*1.56' '$T/track2'"
tp run -c "$T/p.ini" 2> "$T/err4"; rc=$?
tap_check "the run exits 0 ($rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 8 "$T/err4")"
tap_check "the app, then the customization by the cascade ($(order "$n1"))" \
    [ "$(order "$n1")" = "app custom" ]
tap_check "the customization is on the app's new digest" \
    [ "$(pub custom base_digest)" = "$(pub app digest)" -a "$(pub app digest)" != "$ad0" ]
tap_check "the base was not rebuilt" [ "$(okruns base)" = "$b0" ]
reg_tags "$R/e2e/app" | grep -x 1.56 > /dev/null
tap_check "the app is tagged with the release's version" [ $? -eq 0 ]
verify_all latest; tap_check "everything in the registry verifies" [ $? -eq 0 ]
"$TEMPER_BIN" verify --key "$T/keys/signing.key.pub" --plain-http "$R/e2e/app:1.56" \
    > "$T/verify.out" 2>&1
tap_check "app:1.56 verifies" [ $? -eq 0 ]
tap_check "one new signed image in each repository" \
    [ "$(($(sigs e2e/app) - arev0)) $(($(sigs e2e/custom) - crev1))" = "1 1" ]
tap_check "each image published once per change (publish stages: base app custom)" \
    [ "$(for i in base app custom; do pubs $i; done | tr '\n' ' ')" = "1 3 4 " ]
tap_check "each job ran once, no failed run" \
    [ "$(q "select count(*) - count(distinct job_id) + sum(status <> 0) from runs")" = 0 ]
tap_check "the store is sound" [ "$(q 'pragma integrity_check')" = ok ]
e2e_sanitizers
tap_done

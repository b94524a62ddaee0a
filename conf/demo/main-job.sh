#!/bin/bash
# temper's main job, offline, on the embedded defaults: a loopback
# GitHub-shaped upstream (tests/lib/github_mock.py on the recorded replies),
# a loopback Debian repository (the machine's signed apt index and real
# packages from `apt-get download`), the SQLite store, a generated signing
# key and an OCI layout as the registry.  It builds a base image, an image on
# top of it and a team's customization of that image; tests, attests, signs,
# publishes and verifies them; then makes an upstream release appear and
# shows the guard stopping it, the review, the rebuild and the cascade.
#
#   conf/demo/main-job.sh BUILD_DIR      (.ci/demo runs it after building)
#
# Everything it makes is under BUILD_DIR/demo (removed first).
set -uo pipefail
b=$(cd "${1:?usage: main-job.sh BUILD_DIR}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
export TEMPER_SRCDIR=$top
export PYTHON3=${PYTHON3:-python3}
S=$b/demo
T=$b/core/temper
rm -rf "$S"
mkdir -p "$S/images" "$S/team"
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "${DEB_HTTPD_PID:-}" ] && kill "$DEB_HTTPD_PID" 2>/dev/null
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
t() { "$T" --plugin-dir "$b/plugins" "$@"; }
show() { echo "\$ temper $*"; t "$@"; }

step "upstreams on loopback"
mkfifo "$S/port"
"$PYTHON3" "$top/tests/lib/github_mock.py" --data "$top/tests/data/samples/github" > "$S/port" &
pids+=($!)
read -r word port < "$S/port" || die "the GitHub mock did not start"
[ "$word" = PORT ] || die "the GitHub mock did not start"
GH=http://127.0.0.1:$port
echo "GitHub-shaped API at $GH (PyGithub/PyGithub, from recorded replies)"
. "$top/tests/plugins/deb_mirror.sh"
deb_real_mirror "$S/mirror" base-files tzdata ca-certificates netbase python3-minimal \
    --essential || die "cannot lay out a Debian repository from this machine's apt (apt-get update?)"
deb_serve "$S/mirror" || die "cannot serve the Debian repository"
echo "Debian $DEB_SUITE repository at $DEB_URL ($(wc -l < "$S/mirror/closure") real packages, signed InRelease)"
printf 'listen: 8080\n' > "$S/team/app.yaml"
printf 'Welcome to the team image\n' > "$S/team/motd"
art=$("$PYTHON3" "$top/conf/demo/mkartifact.py" "$S/artifacts" v1 "$S/team/app.yaml" "$S/team/motd")
echo "the team's configuration artifact: oci:$S/artifacts:v1 ($art)"
REG=
stages_pub=publish.local
if [ -x /usr/bin/docker-registry ]; then
    rport=$("$PYTHON3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$S/registry"
    printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n  secret: temper-demo\n' \
        "$S/registry/storage" "$rport" > "$S/registry/config.yml"
    /usr/bin/docker-registry serve "$S/registry/config.yml" > "$S/registry/log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do
        "$PYTHON3" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
            "$rport" 2>/dev/null && { REG=127.0.0.1:$rport; break; }
        sleep 0.1
    done
    [ -n "$REG" ] && stages_pub="publish.local, publish.registry" &&
        echo "a local docker-registry at $REG (plain HTTP on loopback) receives the images too"
fi

cat > "$S/pipeline.ini" <<INI
; written by conf/demo/main-job.sh
[core]
store     = sqlite:$S/state.db
workdir   = $S/work
cache_dir = $S/cache
images    = images/*.ini

[pipeline]
stages = guard.heuristic, builder.deb, builder.overlay, suite.command, suite.structure,
         attest.spdx, attest.cyclonedx, attest.slsa, signer.release, $stages_pub

[tracker "github"]
plugin  = github_releases
api_url = $GH

[tracker "oci"]
plugin = oci

[guard "heuristic"]
plugin = heuristic

[builder "deb"]
plugin  = deb
mirror  = $DEB_URL
keyring = /usr/share/keyrings/debian-archive-keyring.gpg

[builder "overlay"]
plugin = overlay

[suite "command"]
plugin = command

[suite "structure"]
plugin = structure

[attest "spdx"]
plugin = spdx

[attest "cyclonedx"]
plugin = cyclonedx

[attest "slsa"]
plugin = slsa

[signer "release"]
plugin   = keyfile
key      = $S/keys/signing.key
generate = true

[publish "local"]
plugin = layout
path   = $S/published/{image}
INI
if [ -n "$REG" ]; then
    cat >> "$S/pipeline.ini" <<INI

[publish "registry"]
plugin     = registry
repository = $REG/demo/{image}
plain_http = true
INI
fi
cat > "$S/images/base.ini" <<INI
[image]
name         = base
distribution = debian:$DEB_SUITE
packages     = base-files tzdata ca-certificates netbase

[build]
builder = deb

[test "zoneinfo"]
suite = structure
path  = /usr/share/zoneinfo/UTC
INI
cat > "$S/images/python.ini" <<INI
[image]
name         = python
base         = image:base
distribution = debian:$DEB_SUITE
packages     = python3-minimal
entrypoint   = /usr/bin/python3
user         = 65532

[build]
builder = deb

[upstream]
tracker      = github
repo         = PyGithub/PyGithub
strip_prefix = v

[test "computes"]
suite           = command
command         = /usr/bin/python3 -c "print(6*7)"
expected_output = ^42\$

[test "runs-as-nonroot"]
suite           = command
command         = /usr/bin/python3 -c "import os; print(os.getuid())"
expected_output = ^65532\$
INI
cat > "$S/images/python-team.ini" <<INI
[image]
name         = python-team
base         = image:python
distribution = debian:$DEB_SUITE
env          = TEAM=platform

[build]
builder  = overlay
artifact = oci:$S/artifacts:v1 dest=/etc/team
label    = org.example.team=platform

[upstream]
tracker = oci
ref     = oci:$S/artifacts:v1

[test "team-config"]
suite = structure
path  = /etc/team/app.yaml
INI
mkdir -p "$S/keys"

step "the pipeline and its images"
show validate -c "$S/pipeline.ini" || die "validate failed"
show graph -c "$S/pipeline.ini"

step "build the base; the cascade builds python on it and the team's customization on python"
show run -c "$S/pipeline.ini" base || die "temper run base failed"
# python is base's layers plus one of its own (the packages base lacks)
"$PYTHON3" - "$S/published" <<'PY' || die "python is not layered on base"
import json, sys
def layers(name):
    d = sys.argv[1] + "/" + name
    x = [m["digest"] for m in json.load(open(d + "/index.json"))["manifests"]
         if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "latest"][0]
    return [l["digest"] for l in json.load(open(d + "/blobs/sha256/" + x[7:]))["layers"]]
b, p = layers("base"), layers("python")
assert p[:len(b)] == b and len(p) == len(b) + 1
print("python: base's %d layer(s) + 1 (%s)" % (len(b), p[-1][:19]))
PY
show graph -c "$S/pipeline.ini"

step "one tracking round: the upstream's newest release and the team's artifact"
show track -c "$S/pipeline.ini" || die "temper track failed"
show run -c "$S/pipeline.ini" || die "temper run failed"

step "verify what was published (signature and attestations, with the public key only)"
verify_all() {
    for dir in "$S"/published/*/; do
        dir=${dir%/}
        for tag in $("$PYTHON3" -c 'import json,sys
for m in json.load(open(sys.argv[1]))["manifests"]:
    n=m.get("annotations",{}).get("org.opencontainers.image.ref.name","")
    if n and not n.startswith("sha256-"): print(n)' "$dir/index.json"); do
            show verify --key "$S/keys/signing.key.pub" "oci:$dir:$tag" || die "verify $dir:$tag failed"
        done
    done
}
verify_all
if [ -n "$REG" ]; then
    show verify --plain-http --key "$S/keys/signing.key.pub" "$REG/demo/python-team:latest" ||
        die "verify of the registry copy failed"
    echo "\$ skopeo inspect --tls-verify=false docker://$REG/demo/python-team:latest"
    skopeo inspect --tls-verify=false "docker://$REG/demo/python-team:latest" 2>/dev/null |
        "$PYTHON3" -c 'import json,sys; j=json.load(sys.stdin); print("  digest", j["Digest"], "layers", len(j["Layers"]))' ||
        die "skopeo cannot read the registry copy"
fi

step "upstream publishes v1.56, with a risky change in its diff"
curl -s --noproxy '*' -X POST --data '{"add_release": [{"repo": "PyGithub/PyGithub", "tag_name": "v1.56"}],
  "synth_compare": {"repo": "PyGithub/PyGithub", "base": "v1.55", "head": "v1.56", "commits": 2,
  "files": 2, "risky": true}}' "$GH/_mock/scenario" > /dev/null
show track -c "$S/pipeline.ini"
show run -c "$S/pipeline.ini"
echo "(exit 3: the guard blocked the update; a person decides)"
show review -c "$S/pipeline.ini" list
id=$(t review -c "$S/pipeline.ini" list 2>/dev/null | awk '$1 ~ /^[0-9]+$/ && $2 == "open" {print $1; exit}')
[ -n "$id" ] || die "no review item"
show review -c "$S/pipeline.ini" show "$id" | head -n 20
show review -c "$S/pipeline.ini" approve "$id" --reason "demo: reviewed the diff" --actor demo
show run -c "$S/pipeline.ini" || die "the approved rebuild failed"
show graph -c "$S/pipeline.ini"
verify_all
show status -c "$S/pipeline.ini" --html "$S/status.html"

step "where everything is"
cat <<TXT
published images (OCI layouts) $S/published/IMAGE   (skopeo inspect oci:$S/published/python:1.56)
registry copy (while this runs) ${REG:-none: docker-registry is not installed}
signing key / public key      $S/keys/signing.key / $S/keys/signing.key.pub
state (SQLite)                $S/state.db
run reports (JUnit, CTRF)     $S/work/reports
status page                   $S/status.html
pipeline and images           $S/pipeline.ini, $S/images/
TXT

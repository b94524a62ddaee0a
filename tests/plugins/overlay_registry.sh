#!/bin/sh
# builder_overlay and tracker_oci on a real docker-registry (loopback, plain
# HTTP): a base image and an artifact image pushed with skopeo, the
# customization built on them through `temper build` (both pulled by the
# registry client, digests checked), read back with skopeo; tracker_oci
# resolves the registry tag and reports it again only when the tag moves.
: "${TEMPER_BIN:?}" "${TEMPER_BUILDDIR:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
. "$TEMPER_SRCDIR/tests/plugins/registry_lib.sh"
[ -f "$TEMPER_PLUGINS/builder_overlay/.libs/builder_overlay.so" ] ||
    tap_skip_all "no shared plugin modules (static build)"
reg_init
reg_start plain "" || { tap_not_ok "docker-registry starts"; tap_done; exit 1; }
R=127.0.0.1:$reg_port
d=$reg_dir
ns="ovl$$"
sk() { skopeo --policy "$d/policy.json" "$@" >/dev/null 2>>"$d/skopeo.err"; }
"$PY" "$reg_fixture" mkimage "$d/base" --layers 2 --size 3000 --seed 1 >/dev/null
"$PY" "$reg_fixture" mkimage "$d/app" --layers 1 --size 2000 --seed 2 >/dev/null
"$PY" "$reg_fixture" mkimage "$d/app2" --layers 1 --size 2000 --seed 3 >/dev/null
sk copy --dest-tls-verify=false "oci:$d/base:img" "docker://$R/$ns/base:1"
tap_check "skopeo pushed the base" test $? -eq 0
sk copy --dest-tls-verify=false "oci:$d/app:img" "docker://$R/$ns/app:v1"
tap_check "skopeo pushed the artifact" test $? -eq 0

mkdir -p "$d/images"
cat > "$d/p.ini" <<INI
[core]
store = sqlite:$d/state.db
workdir = $d/work
cache_dir = $d/cache
images = images/*.ini

[pipeline]
stages = builder.overlay

[builder "overlay"]
plugin = overlay
plain_http = true

[tracker "oci"]
plugin = oci
plain_http = true
INI
cat > "$d/images/custom.ini" <<INI
[image]
name = custom
base = $R/$ns/base:1
distribution = debian:bookworm
user = 1000

[build]
artifact = $R/$ns/app:v1

[upstream]
tracker = oci
ref = $R/$ns/base:1
ref = $R/$ns/app:v1
INI
t() { "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" "$@"; }
dg=$(SOURCE_DATE_EPOCH=1700000000 t build -c "$d/p.ini" custom -o "$d/out" 2>"$d/build.err")
tap_check "temper build pulls the base and the artifact from the registry" \
    sh -c "echo '$dg' | grep -qE '^sha256:[0-9a-f]{64}\$'"
[ -n "$dg" ] || tap_diag "$(tail -n 3 "$d/build.err")"
skopeo inspect "oci:$d/out:latest" > "$d/inspect" 2>>"$d/skopeo.err"
tap_check "skopeo reads the customization with the digest temper printed" \
    grep -q "\"Digest\": \"$dg\"" "$d/inspect"
tap_check "three layers: the base's two and the artifact's one" \
    test "$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["Layers"]))' "$d/inspect")" = 3
dg2=$(SOURCE_DATE_EPOCH=1700000000 t build -c "$d/p.ini" custom -o "$d/out2" 2>>"$d/build.err")
tap_check "a second build gives the same digest" test "$dg" = "$dg2"

t track -c "$d/p.ini" > "$d/track1" 2>>"$d/track.err"
tap_check "tracker_oci resolves both registry tags" \
    test "$(grep -c '^tracker.oci custom (new) -> sha256:' "$d/track1")" = 2
t track -c "$d/p.ini" > "$d/track2" 2>>"$d/track.err"
tap_check "nothing moved: nothing reported" test ! -s "$d/track2"
sk copy --dest-tls-verify=false "oci:$d/app2:img" "docker://$R/$ns/app:v1"
t track -c "$d/p.ini" > "$d/track3" 2>>"$d/track.err"
tap_check "the artifact's tag moved: one change" \
    test "$(grep -c '^tracker.oci custom sha256:[0-9a-f]* -> sha256:' "$d/track3")" = 1
cat > "$d/images/custom.ini" <<INI
[image]
name = custom
base = $R/$ns/nosuch:1
distribution = debian:bookworm

[build]
artifact = $R/$ns/app:v1
INI
t build -c "$d/p.ini" custom -o "$d/out3" > /dev/null 2>"$d/err3"
tap_check "a missing base tag fails, naming the registry URL" \
    grep -q "$ns/nosuch" "$d/err3"
tap_done

#!/bin/sh
# temper run end to end with real stages: builder_deb on hand-made packages
# from a loopback mirror, SLSA provenance, a keyfile signature.  A base image
# and an image on top: `temper run base` publishes base and the cascade
# rebuilds the image on top with the base's new digest; a new package
# version in the base gives a new base digest and the cascade runs again.
# (No publish stage on this branch yet: "published" = the run succeeded.)
. "$TEMPER_SRCDIR/tests/run/run_lib.sh"
PYTHON3=${PYTHON3:-python3}
[ -f "$TEMPER_PLUGINS/builder_deb/.libs/builder_deb.so" ] ||
    tap_skip_all "no shared plugin modules (static build)"
run_tmp rundeb
. "$TEMPER_SRCDIR/tests/plugins/deb_mirror.sh"
trap 'deb_stop; rm -rf "$T"' EXIT
M=$T/mirror
mkdir -p "$M/pool"
deb() { "$PYTHON3" "$TEMPER_SRCDIR/tests/plugins/mkdeb.py" deb "$M/pool/$1_$2_all.deb" "$@"; }
index() { "$PYTHON3" "$TEMPER_SRCDIR/tests/plugins/mkdeb.py" index "$M" test amd64; }
deb basefiles 1.0 all f:etc/base-release:one
deb appbin 1.0 all f:usr/bin/app:app
index
deb_serve "$M" || { echo "Bail out! cannot start the mirror's HTTP server"; exit 1; }
core_ini "$T/p.ini"
cat >> "$T/p.ini" <<INI
[pipeline]
stages = builder.deb, attest.slsa, signer.release

[builder "deb"]
plugin = deb
mirror = $DEB_URL
allow_unsigned = yes

[attest "slsa"]
plugin = slsa

[signer "release"]
plugin = keyfile
key = $T/signing.key
generate = true
INI
printf '[image]\nname = base\ndistribution = debian:test\npackages = basefiles\n' \
    > "$T/images/base.ini"
printf '[image]\nname = app\ndistribution = debian:test\npackages = appbin\nbase = image:base\n' \
    > "$T/images/app.ini"
pub() { q "select json_extract(value, '\$.$2') from kv where ns = 'published' and key = '$1'"; }

SOURCE_DATE_EPOCH=1700000000 tp run -c "$T/p.ini" base 2>"$T/err"; rc=$?
tap_check "run base exits 0 ($rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 5 "$T/err")"
tap_check "base and, by the cascade, app ran once each" \
    [ "$(q "select group_concat(image || ':' || status, ' ') from (select image, status from runs order by id)")" = "base:0 app:0" ]
b1=$(pub base digest)
echo "$b1" | grep -qE '^sha256:[0-9a-f]{64}$'; tap_check "base published with its digest" [ $? -eq 0 ]
tap_check "app was built against it" [ "$(pub app base_digest)" = "$b1" ]
l1=$(pub base layout)
tap_check "base's OCI layout is kept for the images built on it" [ -f "$l1/index.json" ]
stages=$(q "select group_concat(stage, ' ') from (select stage from stage_results where run_id = 2 order by seq)")
tap_check "app went through every stage ($stages)" [ "$stages" = "builder.deb attest.slsa signer.release" ]
q "select detail from stage_results where run_id = 2 and stage = 'signer.release'" | grep -q '"type":6'
tap_check "and was signed" [ $? -eq 0 ]
pk=$(q "select group_concat(name, ' ') from build_packages where build_id = (select max(build_id) from build_packages)")
tap_check "app's packages recorded, its base's too ($pk)" [ "$pk" = "appbin basefiles" ]
tap_check "the cascade job says why" \
    [ "$(q "select json_extract(change, '\$[0].base') || ' ' || reason from jobs where image = 'app'")" = "base base" ]

# a new version of the base's package: a new base digest, cascaded
deb basefiles 2.0 all f:etc/base-release:two
rm -f "$M/pool/basefiles_1.0_all.deb"
sleep 1 # a new mtime: the mirror's Last-Modified has whole seconds (no stale 304)
index
SOURCE_DATE_EPOCH=1700000000 tp run -c "$T/p.ini" base 2>"$T/err"; rc=$?
tap_check "second run exits 0 ($rc)" [ $rc -eq 0 ]
b2=$(pub base digest)
tap_check "base has a new digest" [ -n "$b2" -a "$b2" != "$b1" ]
tap_check "app was rebuilt against the new one" [ "$(pub app base_digest)" = "$b2" ]
l2=$(pub base layout)
tap_check "the new layout is kept, the old one removed" [ -f "$l2/index.json" -a ! -e "$l1" ]
tap_check "one layout per image is left" \
    [ "$(ls "$T/work/layouts/base" | wc -l) $(ls "$T/work/layouts/app" | wc -l)" = "1 1" ]
tap_check "four runs in all, each job done once" \
    [ "$(q "select count(*) || ' ' || count(distinct job_id) from runs where status = 0")" = "4 4" ]
out=$(tp graph -c "$T/p.ini")
echo "$out" | grep -q "^base  $b2\$"; tap_check "graph shows base's new digest" [ $? -eq 0 ]
tap_done

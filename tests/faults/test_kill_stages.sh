#!/bin/sh
# A `temper run` killed with SIGKILL as each stage of a real chain starts and
# once it returned, before its result is recorded (builder_overlay,
# attest_slsa, signer_keyfile, publish_layout; the core's failpoints
# TEMPER_FAULT_KILL_AT / _AFTER), then a second `temper run` once the lease
# ran out: every job ends DONE with exactly one successful run, the
# published image verifies (no tag on a half-published image), and the
# SQLite store passes integrity_check.
. "$TEMPER_SRCDIR/tests/run/run_lib.sh"
PY=${PYTHON3:-python3}
[ -f "$TEMPER_PLUGINS/builder_overlay/.libs/builder_overlay.so" ] ||
    tap_skip_all "no shared plugin modules (static build)"
run_tmp killstages
"$PY" "$TEMPER_SRCDIR/tests/plugins/registry_fixture.py" mkimage "$T/base" --layers 2 \
    --size 200000 --seed 7 > /dev/null || { echo "Bail out! no base image"; exit 1; }
core_ini "$T/p.ini"
cat >> "$T/p.ini" <<INI
[pipeline]
stages = builder.overlay, attest.slsa, signer.release, publish.local

[builder "overlay"]
plugin = overlay

[attest "slsa"]
plugin = slsa

[signer "release"]
plugin = keyfile
key = $T/signing.key
generate = true

[publish "local"]
plugin = layout
path = $T/published/{image}
INI
cat > "$T/images/custom.ini" <<INI
[image]
name = custom
base = oci:$T/base:img
distribution = debian:bookworm
INI
n=0
for point in AT AFTER; do
for stage in builder.overlay attest.slsa signer.release publish.local; do
    n=$((n + 1))
    env "TEMPER_FAULT_KILL_$point=$stage" "$TEMPER_BIN" --plugin-dir "$MODS" \
        --plugin-dir "$TEMPER_PLUGINS" run -c "$T/p.ini" --lease 2s custom \
        > /dev/null 2> "$T/err.$n"; rc=$?
    tap_check "run $n killed $point $stage (exit $rc = 128 + SIGKILL)" [ $rc -eq 137 ]
    tap_check "run $n left its job running" \
        [ "$(q "select count(*) from jobs where state = 2")" = 1 ]
    sleep 2.5 # the dead run's lease runs out
    tp run -c "$T/p.ini" --lease 2s > /dev/null 2> "$T/rerun.$n"; rc=$?
    tap_check "killed $point $stage: the next run takes the job over and exits 0 ($rc)" \
        [ $rc -eq 0 ]
    tap_check "killed $point $stage: no job left queued or running" \
        [ "$(q "select count(*) from jobs where state in (1, 2)")" = 0 ]
    "$TEMPER_BIN" verify --key "$T/signing.key.pub" "oci:$T/published/custom:latest" \
        > /dev/null 2> "$T/verify.$n"; rc=$?
    tap_check "killed $point $stage: the published image verifies ($rc)" [ $rc -eq 0 ]
done
done
tap_check "every job is done" [ "$(q "select count(*) from jobs where state = 3")" = $n ]
tap_check "each with exactly one successful run" \
    [ "$(q "select count(*) from (select job_id, sum(status = 0) c from runs group by job_id) where c != 1")" = 0 ]
tap_check "the store is sound" [ "$(q "pragma integrity_check")" = ok ]
tap_check "every job was taken over once (2 attempts)" \
    [ "$(q "select count(*) from jobs where attempts = 2")" = $n ]
tap_done

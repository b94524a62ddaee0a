#!/bin/sh
# temper bench — push a ~300 MB multi-layer image (LAYERS layers of
# LAYER_MB MiB of random data, uncompressed tar, in an OCI layout) to a
# loopback docker-registry with publish_registry, next to
# `skopeo copy oci:DIR docker://...` of the same image to another repository
# in the same run (same registry, --preserve-digests so that skopeo uploads
# the same bytes instead of recompressing); prints both times, the ratio
# (target, issue #7: temper no slower than skopeo) and the time of a re-push
# of the unchanged image (HEAD only, no blob uploaded).
#
# Not part of `make check`.  Run from a build tree:
#     TEMPER_SRCDIR=/path/to/src TEMPER_BUILDDIR=/path/to/build \
#         sh tests/bench/bench_push.sh
# (make check builds tests/plugins/registry_tool, which the bench drives).
# Knobs: LAYERS (6), LAYER_MB (50), plus any publish_registry options in
# TEMPER_OPTS (e.g. "monolithic_max=1G" or "chunk_size=64M").
# Needs docker-registry, skopeo and python3.
set -eu
LAYERS=${LAYERS:-6}
LAYER_MB=${LAYER_MB:-50}
TEMPER_OPTS=${TEMPER_OPTS:-}
: "${TEMPER_SRCDIR:?}" "${TEMPER_BUILDDIR:?}"
export TEMPER_PLUGINS=${TEMPER_PLUGINS:-$TEMPER_BUILDDIR/plugins}
PYTHON3=${PYTHON3:-python3}
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
. "$TEMPER_SRCDIR/tests/plugins/registry_lib.sh"
reg_init
d=$reg_dir

now() {
    "$PY" -c 'import time; print("%.3f" % time.monotonic())'
}

echo "# building the image: $LAYERS layers of $LAYER_MB MiB"
digest=$("$PY" "$reg_fixture" mkimage "$d/img" --layers "$LAYERS" \
    --size $((LAYER_MB * 1024 * 1024)) --seed 7)
total=$(du -sm "$d/img/blobs" | cut -f1)
reg_start bench "" || { echo "docker-registry does not start" >&2; exit 1; }
host=127.0.0.1:$reg_port

t0=$(now)
# shellcheck disable=SC2086
"$reg_tool" push "$d/img" "repository=$host/bench/temper" plain_http=true -t v1 \
    $TEMPER_OPTS >"$d/out1" 2>"$d/log1" || { cat "$d/log1" >&2; exit 1; }
t1=$(now)
skopeo --policy "$d/policy.json" copy -q --preserve-digests --dest-tls-verify=false \
    "oci:$d/img:img" "docker://$host/bench/skopeo:v1" || exit 1
t2=$(now)
# shellcheck disable=SC2086
"$reg_tool" push "$d/img" "repository=$host/bench/temper" plain_http=true -t v2 \
    $TEMPER_OPTS >"$d/out2" 2>"$d/log2" || { cat "$d/log2" >&2; exit 1; }
t3=$(now)

got=$(reg_skopeo_digest "$host/bench/temper:v1" --tls-verify=false)
[ "$got" = "$digest" ] || { echo "read-back digest $got != $digest" >&2; exit 1; }
"$PY" - "$t0" "$t1" "$t2" "$t3" "$total" "$(grep '^uploaded' "$d/out1")" \
    "$(grep '^uploaded' "$d/out2")" <<'PYEOF'
import sys
t0, t1, t2, t3 = (float(x) for x in sys.argv[1:5])
mb = int(sys.argv[5])
temper, skopeo, repush = t1 - t0, t2 - t1, t3 - t2
print("image:            %d MiB in blobs" % mb)
print("temper push:      %.2f s (%.0f MiB/s)  [%s]" % (temper, mb / temper, sys.argv[6]))
print("skopeo copy:      %.2f s (%.0f MiB/s)" % (skopeo, mb / skopeo))
print("ratio:            temper/skopeo = %.2f (target <= 1.0)" % (temper / skopeo))
print("re-push:          %.2f s  [%s]" % (repush, sys.argv[7]))
PYEOF

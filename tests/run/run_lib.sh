# Shared by the tests/run scripts (sourced): a scratch directory, a pipeline
# on the engine test modules, sqlite3 queries and waiting helpers.
: "${TEMPER_BIN:?}" "${TEMPER_BUILDDIR:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY NO_PROXY
export no_proxy=127.0.0.1,localhost
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
MODS=$TEMPER_BUILDDIR/tests/engine
command -v sqlite3 >/dev/null || { echo "Bail out! sqlite3 missing: apt-get install -y sqlite3"; exit 1; }

# run_tmp NAME: $T = a fresh scratch directory removed on exit (plus $PIDS killed)
PIDS=
run_tmp() {
    T=$(mktemp -d "/tmp/temper-$1-XXXXXX") || exit 1
    mkdir -p "$T/images"
    trap 'for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
}

# core_ini FILE: the [core] section over $T
core_ini() {
    printf '[core]\nstore = sqlite:%s/state.db\nworkdir = %s/work\ncache_dir = %s/cache\nimages = images/*.ini\n\n' \
        "$T" "$T" "$T" > "$1"
}

# et_ini FILE [LINE...]: [core] plus a chain of one engine test builder;
# the extra lines go to its section
et_ini() {
    f=$1; shift
    core_ini "$f"
    printf '[pipeline]\nstages = builder.et\n\n[builder "et"]\nplugin = enginetest\n' >> "$f"
    for l in "$@"; do printf '%s\n' "$l" >> "$f"; done
}

# image NAME [BASE]
image() {
    printf '[image]\nname = %s\ndistribution = debian:bookworm\n' "$1" > "$T/images/$1.ini"
    [ -z "${2:-}" ] || printf 'base = image:%s\n' "$2" >> "$T/images/$1.ini"
}

q() { sqlite3 -cmd '.timeout 5000' "$T/state.db" "$1"; }

# temper with the engine test modules and the build tree's plugins
tp() { "$TEMPER_BIN" --plugin-dir "$MODS" --plugin-dir "$TEMPER_PLUGINS" "$@"; }
# the same for `tpx ... &`: $! is then temper's own pid (for kill)
tpx() { exec "$TEMPER_BIN" --plugin-dir "$MODS" --plugin-dir "$TEMPER_PLUGINS" "$@"; }

# wait_for SECONDS SQL EXPECTED: poll the store until the query gives EXPECTED
wait_for() {
    i=0
    while [ $i -lt $(($1 * 10)) ]; do
        [ "$(q "$2" 2>/dev/null)" = "$3" ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}

# enqueue IMAGE [REASON] [VERSION]: a queued job straight into the store
enqueue() {
    v=${3:+"'$3'"}
    q "insert into jobs (image, version, reason, change, dedup_key, max_attempts)
       values ('$1', ${v:-NULL}, '${2:-manual}', '[]', 'build:$1', 3)"
}

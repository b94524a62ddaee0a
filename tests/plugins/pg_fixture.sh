#!/bin/sh
# temper tests — a throw-away PostgreSQL cluster on loopback.
#
#   pg_fixture.sh start        make a cluster in a new temp dir, start it on a
#                              free 127.0.0.1 port (and a unix socket in the
#                              dir); prints two lines: the dir, then a libpq
#                              connection string (user temper, password auth)
#   pg_fixture.sh restart DIR  pg_ctl restart -m fast (connections are cut)
#   pg_fixture.sh stop DIR     stop the server and remove DIR
#
# As root (CI), initdb and postgres refuse to run: the cluster then belongs
# to the user `nobody` (PG_FIXTURE_USER to change it), started through
# runuser.  fsync is off (throw-away data) unless PG_FIXTURE_FSYNC=on.
# Exit status 77 when PostgreSQL is not installed (the caller skips;
# under CI=true it fails instead).  Logs: DIR/initdb.log, DIR/server.log.
set -eu

find_bin() {
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return
        fi
    done
}

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "${PG_FIXTURE_USER:-nobody}" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    ${PYTHON3:-python3} -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

bin=$(find_bin)
if [ -z "$bin" ]; then
    echo "pg_fixture: PostgreSQL (initdb, pg_ctl) is not installed" >&2
    exit 77
fi

case ${1:-} in
start)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/temper-pg-XXXXXX")
    chmod 0755 "$dir"
    pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$pw" >"$dir/pw"
    if [ "$(id -u)" -eq 0 ]; then
        chown "${PG_FIXTURE_USER:-nobody}" "$dir" "$dir/pw"
    fi
    if ! as_owner "$bin/initdb" -D "$dir/data" -U temper --pwfile="$dir/pw" -A scram-sha-256 \
        --auth-local=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        exit 1
    fi
    rm -f "$dir/pw"
    for try in 1 2 3; do
        port=$(free_port)
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o \
            "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=${PG_FIXTURE_FSYNC:-off} -c max_connections=60 -c shared_buffers=16MB" \
            start >/dev/null 2>&1; then
            echo "$dir"
            echo "host=127.0.0.1 port=$port user=temper password=$pw dbname=postgres"
            exit 0
        fi
    done
    tail -n 20 "$dir/server.log" >&2
    rm -rf "$dir"
    exit 1
    ;;
restart)
    as_owner "$bin/pg_ctl" -D "$2/data" -l "$2/server.log" -w -t 30 -m fast restart >/dev/null
    ;;
stop)
    case ${2:-} in */temper-pg-*) ;; *) echo "pg_fixture: refusing to stop ${2:-}" >&2; exit 2 ;; esac
    as_owner "$bin/pg_ctl" -D "$2/data" -w -t 30 -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$2"
    ;;
*)
    echo "usage: pg_fixture.sh start | restart DIR | stop DIR" >&2
    exit 2
    ;;
esac

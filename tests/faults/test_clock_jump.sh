#!/bin/sh
# Clock jumps (issue #11): real `temper worker` processes whose wall clock is
# stepped with libfaketime (FAKETIME_TIMESTAMP_FILE, re-read on every call;
# CLOCK_MONOTONIC is left alone, as an NTP step leaves it) while they run:
#  (a) worker A's clock jumps back 2 h in the middle of a job while worker B
#      (real clock) runs alongside: the job is published exactly once, one
#      run succeeds, nobody records done over the other, the store is sound;
#  (b) A's clock jumps forward 2 h in the middle of a job: nobody takes the
#      job over, A finishes it on its first attempt, nothing retried/parked;
#  (c) an idle worker whose clock jumps back 4 h, then forward 2 h, still
#      picks up a new job within seconds and does not spin; the daemon's
#      loop keeps restarting a killed worker after a backward jump;
#  (d) (a) and (b) against PostgreSQL (TEMPER_TEST_PG_DSN, or our own
#      throw-away cluster), where the lease is on the server's clock: the
#      skewed worker keeps its job and nobody takes it over.
# Without libfaketime the test skips (fails under CI=true); the same for
# PostgreSQL in (d).
. "$TEMPER_SRCDIR/tests/run/run_lib.sh"
[ -f "$MODS/.libs/builder_enginetest.so" ] || tap_skip_all "no shared test modules (static build)"
FT_LIB=
for f in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1; do
    [ -f "$f" ] && FT_LIB=$f && break
done
if [ -z "$FT_LIB" ]; then
    [ "${CI:-}" = true ] && { echo "Bail out! libfaketime missing: apt-get install -y libfaketime"; exit 1; }
    tap_skip_all "libfaketime is not installed"
fi
run_tmp clockjump
PGDIR=
trap 'for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
      [ -z "$PGDIR" ] || sh "$TEMPER_SRCDIR/tests/plugins/pg_fixture.sh" stop "$PGDIR" >/dev/null 2>&1
      rm -rf "$T"' EXIT

BUILD_S=4   # how long the builder of a job takes in (a) and (b) (seconds)
LEASE=3s    # heartbeats every second

# pipeline FILE STORE: a slow builder, then a publisher that writes a file
pipeline() {
    printf '[core]\nstore = %s\nworkdir = %s/work\ncache_dir = %s/cache\nimages = images/*.ini\n\n' \
        "$2" "$T" "$T" > "$1"
    cat >> "$1" <<INI
[pipeline]
stages = builder.et, publish.et

[builder "et"]
plugin = enginetest
sleep = ${BUILD_S}s

[publish "et"]
plugin = enginetest
out = $T/published.txt
INI
}
image python

# q SQL: a query on the current store (run_lib's sqlite3, or psql with $DSN);
# run_lib's wait_for polls through it
DSN=
q() {
    if [ -n "$DSN" ]; then
        psql -X -At -q -d "$DSN" -c "$1" 2>/dev/null
    else
        sqlite3 -cmd '.timeout 5000' "$T/state.db" "$1"
    fi
}
# add_job: a queued job for `python`, its id on stdout (the first worker
# may still be creating the store)
add_job() {
    i=0
    until q "insert into jobs (image, reason, change, max_attempts)
             values ('python', 'manual', '[]', 3)" > /dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 50 ] || break
        sleep 0.1
    done
    q "select max(id) from jobs"
}
# build_sleep SECONDS: how long the builder takes from now on
build_sleep() { sed -i "s/^sleep = .*/sleep = ${1}s/" "$T/p.ini"; }

# worker_ft NAME CLOCKFILE: a worker whose wall clock is stepped through
# CLOCKFILE; its pid in $W, its log in $T/NAME.err
worker_ft() {
    env LD_PRELOAD="$FT_LIB" FAKETIME_TIMESTAMP_FILE="$2" FAKETIME_NO_CACHE=1 \
        FAKETIME_DONT_FAKE_MONOTONIC=1 \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        "$TEMPER_BIN" --plugin-dir "$MODS" --plugin-dir "$TEMPER_PLUGINS" worker \
        -c "$T/p.ini" --lease $LEASE --poll-max 1s > /dev/null 2> "$T/$1.err" &
    W=$!
    PIDS="$PIDS $W"
}
worker_real() {
    tpx worker -c "$T/p.ini" --lease $LEASE --poll-max 1s > /dev/null 2> "$T/$1.err" &
    W=$!
    PIDS="$PIDS $W"
}
stop() {
    for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
    for p in "$@"; do wait "$p" 2>/dev/null; done
}
holder() { q "select worker from jobs where id = $1"; }
published() {
    q "select count(*) from stage_results s join runs r on r.id = s.run_id
       where r.job_id = $1 and s.stage = 'publish.et' and s.rc = 0"
}
ok_runs() { q "select count(*) from runs where job_id = $1 and status = 0"; }

# (a) A's clock jumps back 2 h mid-job, B (real clock) alongside.
# TAG: the store's name; TAKEOVER: whether B is expected to take the job
# (store_sqlite: A's lease is written on A's clock) or not (PostgreSQL:
# the server's clock).
scenario_back() {
    tag=$1 takeover=$2
    echo "+0" > "$T/clockA"
    worker_ft "A-back-$tag" "$T/clockA"; A=$W
    id=$(add_job)
    wait_for 15 "select state from jobs where id = $id" 2
    tap_check "$tag (a): worker A runs job $id" [ $? -eq 0 ]
    echo "-2h" > "$T/clockA"
    worker_real "B-back-$tag"; B=$W
    wait_for $((BUILD_S * 3 + 10)) "select state from jobs where id = $id" 3
    tap_check "$tag (a): A's clock went back 2 h: job $id is done" [ $? -eq 0 ]
    tap_check "$tag (a): published exactly once ($(published $id))" [ "$(published $id)" = 1 ]
    tap_check "$tag (a): exactly one successful run ($(ok_runs $id))" [ "$(ok_runs $id)" = 1 ]
    h=$(holder $id)
    if [ "$takeover" = yes ]; then
        tap_check "$tag (a): B took the job over and recorded done ($h)" \
            eval 'case "$h" in *":$B:"*) true;; *) false;; esac'
        grep -q "lease is lost" "$T/A-back-$tag.err"
        tap_check "$tag (a): A saw it lost the lease and stopped before publishing" [ $? -eq 0 ]
        tap_check "$tag (a): A recorded no successful run" \
            [ "$(q "select count(*) from runs where job_id = $id and status = 0 and worker like '%:$A:%'")" = 0 ]
    else
        tap_check "$tag (a): A kept its job (server clock) and recorded done ($h)" \
            eval 'case "$h" in *":$A:"*) true;; *) false;; esac'
        tap_check "$tag (a): on its first attempt" \
            [ "$(q "select attempts from jobs where id = $id")" = 1 ]
    fi
    tap_check "$tag (a): A is still alive" kill -0 "$A"
    stop "$A" "$B"
}

# (b) A's clock jumps forward 2 h mid-job, B (real clock) alongside.
scenario_forward() {
    tag=$1
    echo "+0" > "$T/clockA"
    worker_ft "A-fwd-$tag" "$T/clockA"; A=$W
    id=$(add_job)
    wait_for 15 "select state from jobs where id = $id" 2
    tap_check "$tag (b): worker A runs job $id" [ $? -eq 0 ]
    worker_real "B-fwd-$tag"; B=$W
    echo "+2h" > "$T/clockA"
    wait_for $((BUILD_S * 3 + 10)) "select state from jobs where id = $id" 3
    tap_check "$tag (b): A's clock jumped 2 h ahead: job $id is done" [ $? -eq 0 ]
    h=$(holder $id)
    tap_check "$tag (b): by A, nobody took it over ($h)" \
        eval 'case "$h" in *":$A:"*) true;; *) false;; esac'
    tap_check "$tag (b): on its first attempt, no error recorded" \
        [ "$(q "select attempts || ' ' || coalesce(last_error, '-') from jobs where id = $id")" = "1 -" ]
    tap_check "$tag (b): published exactly once" [ "$(published $id)" = 1 ]
    tap_check "$tag (b): B ran nothing" \
        [ "$(q "select count(*) from runs where job_id = $id and worker like '%:$B:%'")" = 0 ]
    grep -q "lease is lost" "$T/A-fwd-$tag.err"
    tap_check "$tag (b): A never lost its lease" [ $? -ne 0 ]
    stop "$A" "$B"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# (c) an idle worker across jumps: picks up new work within seconds, no spin
scenario_idle() {
    echo "+0" > "$T/clockA"
    worker_ft "A-idle" "$T/clockA"; A=$W
    sleep 1.5 # idle, its backoff at the 1 s maximum
    for step in "-2h" "+2h"; do
        echo "$step" > "$T/clockA"
        c0=$(cpu_ticks "$A")
        sleep 2
        c1=$(cpu_ticks "$A")
        tap_check "(c) idle worker, clock at $step: no busy loop ($((c1 - c0)) ticks in 2 s)" \
            [ $((c1 - c0)) -lt 60 ]
        id=$(add_job)
        wait_for 6 "select count(*) from jobs where id = $id and state in (2, 3)" 1
        tap_check "(c) clock at $step: a new job is picked up within 6 s" [ $? -eq 0 ]
        wait_for 10 "select state from jobs where id = $id" 3
        tap_check "(c) clock at $step: and done" [ $? -eq 0 ]
    done
    stop "$A"
}

# (c) the daemon: its worker killed after a backward jump is restarted
scenario_daemon() {
    echo "+0" > "$T/clockD"
    env LD_PRELOAD="$FT_LIB" FAKETIME_TIMESTAMP_FILE="$T/clockD" FAKETIME_NO_CACHE=1 \
        FAKETIME_DONT_FAKE_MONOTONIC=1 \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        "$TEMPER_BIN" --plugin-dir "$MODS" --plugin-dir "$TEMPER_PLUGINS" daemon \
        -c "$T/p.ini" --workers 1 --lease $LEASE > /dev/null 2> "$T/daemon.err" &
    D=$!
    PIDS="$PIDS $D"
    i=0
    while [ $i -lt 50 ] && [ -z "$(pgrep -P "$D")" ]; do sleep 0.2; i=$((i + 1)); done
    k1=$(pgrep -P "$D")
    tap_check "(c) daemon: a worker runs ($k1)" [ -n "$k1" ]
    sleep 1.5
    echo "-2h" > "$T/clockD"
    sleep 1.5
    kill -9 $k1 2>/dev/null
    i=0; k2=
    while [ $i -lt 50 ]; do
        k2=$(pgrep -P "$D")
        [ -n "$k2" ] && [ "$k2" != "$k1" ] && break
        sleep 0.2; i=$((i + 1))
    done
    tap_check "(c) daemon, clock back 2 h: the killed worker is restarted within 10 s ($k1 -> $k2)" \
        [ $i -lt 50 ]
    id=$(add_job)
    wait_for 10 "select state from jobs where id = $id" 3
    tap_check "(c) daemon, clock back 2 h: its worker does a new job" [ $? -eq 0 ]
    kill -TERM "$D"; wait "$D"; rc=$?
    tap_check "(c) daemon: SIGTERM, exit 0 ($rc)" [ $rc -eq 0 ]
}

pipeline "$T/p.ini" "sqlite:$T/state.db"
tp validate -c "$T/p.ini" > /dev/null 2> "$T/validate.err" ||
    { echo "Bail out! the pipeline does not validate: $(cat "$T/validate.err")"; exit 1; }
scenario_back sqlite yes
scenario_forward sqlite
build_sleep 0
scenario_idle
scenario_daemon
tap_check "sqlite: no job left queued or running" \
    [ "$(q "select count(*) from jobs where state in (1, 2, 4, 5)")" = 0 ]
tap_check "sqlite: the store is sound" [ "$(q "pragma integrity_check")" = ok ]
# sanitizer builds: the workers' own reports (leaks at exit, UB) are in their logs
no_reports() { ! grep -l "Sanitizer\|runtime error" "$T"/*.err > /dev/null 2>&1; }
tap_check "sqlite: no sanitizer report from any worker or daemon" no_reports

# (d) PostgreSQL
# a build without store_postgres (configure --disable-store-postgres, as
# distcheck does) has nothing to test here: not a missing server
if [ ! -f "$TEMPER_PLUGINS/store_postgres/.libs/store_postgres.so" ]; then
    tap_skip "(d) PostgreSQL" "store_postgres is not built (--disable-store-postgres)"
    tap_done
    exit
fi
if [ -n "${TEMPER_TEST_PG_DSN:-}" ]; then
    base=$TEMPER_TEST_PG_DSN
elif out=$(sh "$TEMPER_SRCDIR/tests/plugins/pg_fixture.sh" start 2> "$T/pg.err"); then
    PGDIR=$(printf '%s\n' "$out" | head -n 1)
    base=$(printf '%s\n' "$out" | tail -n 1)
else
    base=
fi
if [ -z "$base" ] || ! command -v psql > /dev/null; then
    if [ "${CI:-}" = true ]; then
        tap_not_ok "(d) PostgreSQL: no server ($(tail -n 1 "$T/pg.err" 2>/dev/null))"
    else
        tap_skip "(d) PostgreSQL is not available"
    fi
    tap_done
    exit
fi
db=temper_clock_$$
psql -X -q -d "$base" -c "CREATE DATABASE $db" > /dev/null 2> "$T/pg.err"
tap_check "(d) a fresh PostgreSQL database" [ $? -eq 0 ]
DSN="$base dbname=$db"
pipeline "$T/p.ini" "postgres:$DSN"
build_sleep $BUILD_S
tp validate -c "$T/p.ini" > /dev/null 2>&1 # creates the schema
scenario_back postgres no
scenario_forward postgres
tap_check "postgres: no job left queued, running, failed or parked" \
    [ "$(q "select count(*) from jobs where state <> 3")" = 0 ]
tap_check "postgres: no sanitizer report from any worker" no_reports
DSN=
psql -X -q -d "$base" -c "DROP DATABASE $db" > /dev/null 2>&1
tap_done

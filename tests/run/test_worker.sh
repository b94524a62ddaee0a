#!/bin/sh
# temper worker and temper run on one SQLite store with the engine test
# modules: two workers run every job exactly once; a worker killed with
# SIGKILL mid-job loses nothing (the lease expires, another worker takes the
# job over and completes it once); SIGTERM finishes the current job first;
# the review gate parks a blocked job, an approval releases it, a rejected
# version is skipped.
. "$TEMPER_SRCDIR/tests/run/run_lib.sh"
[ -f "$MODS/.libs/builder_enginetest.so" ] || tap_skip_all "no shared test modules (static build)"
run_tmp worker
et_ini "$T/p.ini" 'sleep = ${ET_SLEEP:-0}'
for i in 1 2 3 4 5 6; do image "a$i"; done
tp run -c "$T/p.ini" >/dev/null 2>&1   # creates the store; the queue is empty
for i in 1 2 3 4 5 6; do enqueue "a$i"; done

# -- two workers, six jobs
ET_SLEEP=300ms tp worker -c "$T/p.ini" --once 2>"$T/w1.err" & w1=$!
ET_SLEEP=300ms tp worker -c "$T/p.ini" --once 2>"$T/w2.err" & w2=$!
PIDS="$w1 $w2"
wait $w1; r1=$?; wait $w2; r2=$?
tap_check "two workers exit 0 ($r1 $r2)" [ $r1 -eq 0 -a $r2 -eq 0 ]
tap_check "every job is done" [ "$(q "select count(*) from jobs where state = 3")" = 6 ]
tap_check "each job ran exactly once" \
    [ "$(q "select count(*) || ' ' || count(distinct job_id) from runs")" = "6 6" ]
tap_check "every run succeeded" [ "$(q "select count(*) from runs where status = 0")" = 6 ]
tap_check "both workers took jobs" \
    [ "$(q "select count(distinct worker) from runs where worker like 'worker:%'")" = 2 ]
tap_check "each image has one published record" \
    [ "$(q "select count(*) from kv where ns = 'published'")" = 6 ]
grep -q 'stage=builder.et event=done rc=ok' "$T/w1.err" "$T/w2.err"
tap_check "progress: structured stage lines when stderr is not a terminal" [ $? -eq 0 ]

# -- SIGKILL mid-job: the lease expires, another worker completes the job once
image k
enqueue k
kid=$(q "select id from jobs where image = 'k'")
ET_SLEEP=20s tpx worker -c "$T/p.ini" --lease 2s --max-jobs 1 2>/dev/null & wa=$!
PIDS="$wa"
wait_for 20 "select count(*) from runs where job_id = $kid and status = 1" 1
tap_check "the first worker is running the job" [ $? -eq 0 ]
kill -9 $wa; wait $wa 2>/dev/null
tap_check "killed: the job is still RUNNING in the store" \
    [ "$(q "select state from jobs where id = $kid")" = 2 ]
start=$(date +%s)
ET_SLEEP=0 tpx worker -c "$T/p.ini" --lease 2s --max-jobs 1 --poll-max 500ms 2>"$T/wb.err" & wb=$!
PIDS="$wb"
wait_for 30 "select state from jobs where id = $kid" 3
tap_check "a second worker takes the job over after the lease expired" [ $? -eq 0 ]
wait $wb; rb=$?
tap_check "and exits 0 after --max-jobs 1 ($rb)" [ $rb -eq 0 ]
tap_check "the job took two attempts" [ "$(q "select attempts from jobs where id = $kid")" = 2 ]
tap_check "exactly one run of it succeeded" \
    [ "$(q "select count(*) from runs where job_id = $kid and status = 0")" = 1 ]
tap_check "the killed run is not counted as done" \
    [ "$(q "select count(*) from runs where job_id = $kid and status = 1")" = 1 ]
tap_check "published once, by the job" \
    [ "$(q "select json_extract(value, '\$.job_id') from kv where ns = 'published' and key = 'k'")" = "$kid" ]

# -- SIGTERM: the current job is finished, no new one is started
image t1; image t2
enqueue t1
t1=$(q "select id from jobs where image = 't1'")
ET_SLEEP=2s tpx worker -c "$T/p.ini" 2>"$T/wt.err" & wt=$!
PIDS="$wt"
wait_for 20 "select state from jobs where id = $t1" 2
enqueue t2
kill -TERM $wt
wait $wt; rt=$?
tap_check "SIGTERM: the worker exits 0 ($rt)" [ $rt -eq 0 ]
tap_check "after finishing its job" [ "$(q "select state from jobs where id = $t1")" = 3 ]
tap_check "without starting the next one" \
    [ "$(q "select state || ' ' || attempts from jobs where image = 't2'")" = "1 0" ]
PIDS=

# -- the review gate with temper run
core_ini "$T/g.ini"
cat >> "$T/g.ini" <<'INI'
[pipeline]
stages = guard.g, builder.et

[guard "g"]
plugin = enginetest
block = true

[builder "et"]
plugin = enginetest
INI
image r
chg='[{"tracker":"tracker.t","image":"r","old_version":"1.0","new_version":"2.0"}]'
q "insert into jobs (image, version, reason, change, dedup_key, max_attempts)
   values ('r', '2.0', 'upstream', '$chg', 'build:r', 3)"
rid=$(q "select id from jobs where image = 'r'")
tp run -c "$T/g.ini" 2>"$T/g.err"; rc=$?
tap_check "a guard block: run exits 3 ($rc)" [ $rc -eq 3 ]
tap_check "the job is parked" [ "$(q "select state from jobs where id = $rid")" = 5 ]
tap_check "with a review item for it" \
    [ "$(q "select count(*) from reviews where job_id = $rid and state = 1")" = 1 ]
rv=$(q "select id from reviews where job_id = $rid")
tp review -c "$T/g.ini" approve "$rv" --actor alice >/dev/null
tap_check "approving releases the job" [ "$(q "select state from jobs where id = $rid")" = 1 ]
tp run -c "$T/g.ini" 2>"$T/g.err"; rc=$?
tap_check "the next run takes it past the gate ($rc)" [ $rc -eq 0 ]
tap_check "done" [ "$(q "select state from jobs where id = $rid")" = 3 ]
tap_check "the approved version is published" \
    [ "$(q "select json_extract(value, '\$.version') from kv where ns = 'published' and key = 'r'")" = 2.0 ]
chg3='[{"tracker":"tracker.t","image":"r","old_version":"2.0","new_version":"3.0"}]'
q "insert into jobs (image, version, reason, change, dedup_key, max_attempts)
   values ('r', '3.0', 'upstream', '$chg3', 'build:r', 3)"
tp run -c "$T/g.ini" 2>/dev/null
rv=$(q "select id from reviews where version = '3.0'")
tp review -c "$T/g.ini" reject "$rv" --actor bob >/dev/null
q "insert into jobs (image, version, reason, change, dedup_key, max_attempts)
   values ('r', '3.0', 'upstream', '$chg3', 'build:r', 3)"
again=$(q "select max(id) from jobs")
tp run -c "$T/g.ini" 2>"$T/g.err"; rc=$?
tap_check "a job for a rejected version: run exits 0 ($rc)" [ $rc -eq 0 ]
tap_check "it is completed" [ "$(q "select state from jobs where id = $again")" = 3 ]
tap_check "without running the chain" [ "$(q "select count(*) from runs where job_id = $again")" = 0 ]
grep -q "rejected in review; skipped" "$T/g.err"; tap_check "and says why" [ $? -eq 0 ]

# -- progress on a terminal: one status line per job, redrawn in place
if command -v script >/dev/null; then
    ET_SLEEP=1500ms script -qec "\"$TEMPER_BIN\" --plugin-dir \"$MODS\" --plugin-dir \"$TEMPER_PLUGINS\" run -c \"$T/p.ini\" a1" "$T/tty.log" >/dev/null 2>&1
    tr '\r' '\n' < "$T/tty.log" | grep -q '\[job [0-9]* a1\] builder.et [0-9.]*s (total [0-9.]*s)'
    tap_check "a terminal gets a one-line status (stage, elapsed)" [ $? -eq 0 ]
    grep -q 'event=start' "$T/tty.log"
    tap_check "and no structured stage lines" [ $? -ne 0 ]
else
    tap_skip "a terminal gets a one-line status" "no script(1)"
fi
tap_done

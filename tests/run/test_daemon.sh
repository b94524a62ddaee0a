#!/bin/sh
# temper daemon against tests/lib/github_mock.py: --once polls the tracker,
# enqueues the job and its workers complete it; left running, it polls on
# the tracker's interval, feeds its workers, restarts a worker that was
# killed, and on SIGTERM stops its workers and exits 0.
. "$TEMPER_SRCDIR/tests/run/run_lib.sh"
PYTHON3=${PYTHON3:-python3}
[ -f "$MODS/.libs/builder_enginetest.so" ] || tap_skip_all "no shared test modules (static build)"
run_tmp daemon
mock=
trap 'for p in $PIDS $mock; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
mkfifo "$T/port"
"$PYTHON3" "$TEMPER_SRCDIR/tests/lib/github_mock.py" --data "$TEMPER_DATA/samples/github" \
    > "$T/port" &
mock=$!
read -r word port < "$T/port"
[ "$word" = PORT ] || { echo "Bail out! the GitHub mock did not start"; exit 1; }
base=http://127.0.0.1:$port
et_ini "$T/p.ini"
cat >> "$T/p.ini" <<INI

[tracker "gh"]
plugin = github_releases
api_url = $base
per_page = 10
interval = 10s
INI
cat > "$T/images/py.ini" <<INI
[image]
name = pygithub
distribution = debian:bookworm

[upstream]
tracker = gh
repo = PyGithub/PyGithub
strip_prefix = v
INI
pubv() { q "select json_extract(value, '\$.version') from kv where ns = 'published' and key = 'pygithub'"; }

tp daemon -c "$T/p.ini" --once --workers 2 >"$T/out" 2>"$T/err"; rc=$?
tap_check "daemon --once exits 0 ($rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tap_diag "$(tail -n 5 "$T/err")"
grep -q 'tracker.gh pygithub (new) -> 1.55' "$T/out"; tap_check "it polled the tracker" [ $? -eq 0 ]
tap_check "the job is done" [ "$(q "select state || ' ' || reason || ' ' || version from jobs")" = "3 upstream 1.55" ]
tap_check "by one of its workers" [ "$(q "select count(*) from runs where worker like 'worker:%' and status = 0")" = 1 ]
tap_check "the new version is published" [ "$(pubv)" = 1.55 ]
tap_check "and pinned: the tracker compares against it" \
    [ "$(q "select pinned_version from images where name = 'pygithub'")" = 1.55 ]
grep -q 'daemon: worker [0-9]* started' "$T/err"; tap_check "workers were started" [ $? -eq 0 ]

curl -s --noproxy '*' -X POST --data \
    '{"add_release": [{"repo": "PyGithub/PyGithub", "tag_name": "v1.56"}]}' \
    "$base/_mock/scenario" > /dev/null
tpx daemon -c "$T/p.ini" --workers 2 >"$T/out2" 2>"$T/err2" & d=$!
PIDS=$d
wait_for 30 "select json_extract(value, '\$.version') from kv where ns = 'published' and key = 'pygithub'" 1.56
tap_check "left running: a new release is polled, built and published" [ $? -eq 0 ]
kids() { pgrep -P "$d" | sort | tr '\n' ' '; }
k1=$(kids)
tap_check "two workers run ($k1)" [ "$(echo $k1 | wc -w)" -eq 2 ]
victim=$(echo $k1 | cut -d' ' -f1)
kill -9 "$victim"
i=0; k2=
while [ $i -lt 50 ]; do
    k2=$(kids)
    [ "$(echo $k2 | wc -w)" -eq 2 ] && ! echo " $k2" | grep -q " $victim " && break
    sleep 0.2; i=$((i + 1))
done
tap_check "a killed worker is restarted ($k1-> $k2)" [ $i -lt 50 ]
kill -TERM $d
wait $d; rc=$?
tap_check "SIGTERM: the daemon exits 0 ($rc)" [ $rc -eq 0 ]
left=0
for p in $k2; do kill -0 "$p" 2>/dev/null && left=1; done
tap_check "and its workers are gone" [ $left -eq 0 ]
PIDS=
grep -q 'interval = 10s' "$T/p.ini"
tp validate -c "$T/p.ini" >/dev/null 2>&1; tap_check "interval validates" [ $? -eq 0 ]
sed -i 's/^interval = 10s/interval = 2s/' "$T/p.ini"
tp validate -c "$T/p.ini" 2>"$T/verr"; rc=$?
grep -q 'p.ini:[0-9]*: .*interval' "$T/verr"
tap_check "an interval under 10s is refused with file:line ($rc)" [ $? -eq 0 -a $rc -eq 2 ]
tap_done

#!/bin/sh
# Fault injection (issue #11): the registry goes away during a whole run.
# A base image and an app on it are built from a loopback mirror, signed and
# pushed to a real docker-registry by publish_registry.
#  1. The registry is killed before `temper run base` publishes: the publish
#     stage fails with one line naming the URL, the job goes back to the
#     queue with a backoff (not lost, not done), no tag exists, the store is
#     sound.  The registry comes back (same storage, same port); once the
#     backoff is over (the store's clock is moved, not waited for) `temper
#     run` publishes the base once, then the app by the cascade; both tags
#     name complete images (skopeo copy, temper verify).
#  2. The registry dies in the middle of a blob upload (tests/lib/cutproxy.py
#     in front of it forwards part of the body, cuts both connections and
#     stops listening): the same failure, no tag on a half-pushed image; the
#     registry comes back and the next run completes it exactly once.
#  3. The registry dies while the cascade pushes the app: the base stays
#     published, the app's job is queued again; the next run publishes only
#     the app, on the base's digest.
#  4. The registry down and both images named (`temper run base app`): the
#     base fails once and the run ends (the app is deferred as long as the
#     base's backoff, not polled through it), then both publish once.
. "$TEMPER_SRCDIR/tests/run/run_lib.sh"
. "$TEMPER_SRCDIR/tests/lib/e2e_lib.sh"
e2e_init regdown /usr/bin/docker-registry skopeo
e2e_mirror || { echo "Bail out! cannot start the mirror"; exit 1; }
rport=$(e2e_port)
reg_up "$T/reg" "$rport" || { echo "Bail out! docker-registry does not start"; exit 1; }

# pipeline P.ini pushing to HOST:PORT/NS/{image}
pipeline() {
    core_ini "$T/$1.ini"
    sed -i "s|$T/state.db|$T/$1.db|; s|$T/work|$T/$1-work|" "$T/$1.ini"
    printf '[pipeline]\nstages = builder.deb, attest.slsa, signer.release, publish.registry\n' \
        >> "$T/$1.ini"
    e2e_stages "$T/$1.ini" "$2"
    printf 'retries = 1\n' >> "$T/$1.ini"   # fewer retries than the default 4: a faster test
}
printf '[image]\nname = base\ndistribution = debian:test\npackages = basefiles tinybox\n' \
    > "$T/images/base.ini"
printf '[image]\nname = app\ndistribution = debian:test\npackages = appbin\nbase = image:base\n' \
    > "$T/images/app.ini"
DB=
qq() { sqlite3 -cmd '.timeout 5000' "$T/$DB.db" "$1"; }
pub() { qq "select json_extract(value, '\$.$2') from kv where ns = 'published' and key = '$1'"; }
now() { date +%s; }
# complete REF DIGEST: skopeo copies REF whole with DIGEST and temper verify passes
complete() {
    [ "$(reg_skopeo_copy_digest "$1" "$T/copy" --src-tls-verify=false)" = "$2" ] &&
    "$TEMPER_BIN" verify --key "$T/keys/signing.key.pub" --plain-http "$1" > "$T/verify.out" 2>&1
}
# after_failure NAME URL_PREFIX: the checks of a run whose publish failed
after_failure() {
    tap_check "$1: the run fails ($rc)" [ $rc -eq 1 ]
    url="http://${2%%/*}/v2/${2#*/}/base/"
    grep 'job [0-9]* (base) failed' "$T/err" > "$T/line"
    tap_check "$1: one error line, naming the publish stage and the URL" \
        [ "$(wc -l < "$T/line")" = 1 -a "$(grep -c "stage publish.registry: [A-Z]* $url" "$T/line")" = 1 ]
    tap_diag "$(cat "$T/line")"
    tap_check "$1: the failed run is recorded with that error" \
        [ "$(qq "select count(*) from runs where status <> 0 and error like '%$url%'")" = 1 ]
    tap_check "$1: the job is queued again with a backoff (attempt 1 of 3)" \
        [ "$(qq "select state || ' ' || attempts || ' ' || (not_before / 1000 > $(now) + 20) from jobs")" = "1 1 1" ]
    tap_check "$1: nothing was published, no app job" \
        [ "$(qq "select (select count(*) from kv where ns = 'published') || ' ' || count(*) from jobs where image = 'app'")" = "0 0" ]
    tap_check "$1: no tag in the registry" [ -z "$(reg_tags "$2/base")" ]
    tap_check "$1: the store is sound" [ "$(qq 'pragma integrity_check')" = ok ]
}
# after_recovery NAME HOST/NS: the checks of the run after the registry came back
after_recovery() {
    tap_check "$1: the run after the restart exits 0 ($rc)" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || tap_diag "$(tail -n 5 "$T/err")"
    tap_check "$1: base failed once, then base and app published once each" \
        [ "$(qq "select group_concat(image || ':' || (status = 0), ' ') from (select * from runs order by id)")" = \
          "base:0 base:1 app:1" ]
    tap_check "$1: one publish stage succeeded per image" \
        [ "$(qq "select count(*) || ' ' || count(distinct run_id) from stage_results where stage = 'publish.registry' and rc = 0")" = "2 2" ]
    tap_check "$1: the app's run started after the base's publish" \
        [ "$(qq "select (select started_at from runs where image = 'app') >= s.finished_at from stage_results s join runs r on r.id = s.run_id where r.image = 'base' and r.status = 0 and s.stage = 'publish.registry'")" = 1 ]
    tap_check "$1: the app was built on the base's published digest" \
        [ -n "$(pub base digest)" -a "$(pub app base_digest)" = "$(pub base digest)" ]
    for i in base app; do
        tap_check "$1: $i's tag names the complete image temper recorded" \
            complete "$2/$i:latest" "$(pub $i digest)"
        tap_check "$1: one signed image of $i in the registry" \
            [ "$(reg_tags "$2/$i" | grep -c '\.sig$')" = 1 ]
    done
    tap_check "$1: every job is done, the store is sound" \
        [ "$(qq "select group_concat(state, ' ') from jobs") $(qq 'pragma integrity_check')" = "3 3 ok" ]
}

# 1. the registry is down for the whole first run
DB=down
pipeline down "127.0.0.1:$rport/down"
reg_down
tp run -c "$T/down.ini" base 2> "$T/err"; rc=$?
after_failure "registry down" "127.0.0.1:$rport/down"
reg_up "$T/reg" "$rport" || { echo "Bail out! docker-registry does not start again"; exit 1; }
qq "update jobs set not_before = 0 where state = 1" # the backoff is over
tp run -c "$T/down.ini" 2> "$T/err"; rc=$?
after_recovery "registry down" "127.0.0.1:$rport/down"

# 2. the registry dies in the middle of a blob upload (after 64 KiB of it)
DB=cut
cport=$(e2e_port)
cp_start cut "$rport" --port "$cport" --dir req --match /blobs/uploads/ --after 65536 --die ||
    { echo "Bail out! the proxy does not start"; exit 1; }
pipeline cut "127.0.0.1:$cport/cut"
tp run -c "$T/cut.ini" base 2> "$T/err"; rc=$?
tap_check "mid-upload: the proxy cut a blob upload and stopped" \
    sh -c "grep -q '^P[A-Z]* /v2/cut/base/blobs/uploads/.* cut\$' '$T/cut.log' && ! kill -0 $CP_PID 2>/dev/null"
after_failure "mid-upload" "127.0.0.1:$cport/cut"
reg_down
tap_check "mid-upload: no tag in the registry behind it either" \
    sh -c "! ls '$T/reg/storage/docker/registry/v2/repositories/cut/base/_manifests/tags' 2>/dev/null | grep -q ."
reg_up "$T/reg" "$rport" || { echo "Bail out! docker-registry does not start again"; exit 1; }
cp_start cut2 "$rport" --port "$cport" || { echo "Bail out! the proxy does not start again"; exit 1; }
qq "update jobs set not_before = 0 where state = 1"
tp run -c "$T/cut.ini" 2> "$T/err"; rc=$?
after_recovery "mid-upload" "127.0.0.1:$cport/cut"
cp_stop

# 3. the registry dies while the cascade publishes the app (the base is out)
DB=app
cp_start cutapp "$rport" --port "$cport" --dir req --match /v2/app/app/blobs/uploads/ \
    --after 100 --die || { echo "Bail out! the proxy does not start"; exit 1; }
pipeline app "127.0.0.1:$cport/app"
tp run -c "$T/app.ini" base 2> "$T/err"; rc=$?
tap_check "app's upload cut: the run fails ($rc)" [ $rc -eq 1 ]
tap_check "... the base was published, the app's run failed in its publish stage" \
    [ "$(qq "select group_concat(r.image || ':' || (r.status = 0) || ':' || s.stage || ':' || (s.rc = 0), ' ') from runs r join stage_results s on s.run_id = r.id and s.stage like 'publish%'")" = \
      "base:1:publish.registry:1 app:0:publish.registry:0" ]
tap_check "... with one error line naming the URL" \
    [ "$(grep -c "job [0-9]* (app) failed: stage publish.registry: [A-Z]* http://127.0.0.1:$cport/v2/app/app/" "$T/err")" = 1 ]
tap_check "... the app's cascade job is queued again with a backoff, the base's is done" \
    [ "$(qq "select group_concat(image || ':' || state || ':' || attempts || ':' || (not_before / 1000 > $(now) + 20), ' ') from (select * from jobs order by id)")" = \
      "base:3:1:0 app:1:1:1" ]
tap_check "... the base's tag is there, no app tag" \
    [ "$(reg_tags "127.0.0.1:$rport/app/base" | grep -c '^latest$') $(reg_tags "127.0.0.1:$rport/app/app" | wc -w)" = "1 0" ]
tap_check "... the store is sound" [ "$(qq 'pragma integrity_check')" = ok ]
bd=$(pub base digest)
cp_start cutapp2 "$rport" --port "$cport" || { echo "Bail out! the proxy does not start again"; exit 1; }
qq "update jobs set not_before = 0 where state = 1"
tp run -c "$T/app.ini" 2> "$T/err"; rc=$?
tap_check "the registry back: the app is published ($rc), the base not again" \
    [ $rc -eq 0 -a "$(qq "select group_concat(image || ':' || (status = 0), ' ') from (select * from runs order by id)")" = "base:1 app:0 app:1" ]
tap_check "... on the base's digest" [ "$(pub app base_digest)" = "$bd" -a "$(pub base digest)" = "$bd" ]
for i in base app; do
    tap_check "... $i's tag names the complete image temper recorded" \
        complete "127.0.0.1:$cport/app/$i:latest" "$(pub $i digest)"
done
tap_check "... every job is done, the store is sound" \
    [ "$(qq "select group_concat(state, ' ') from jobs") $(qq 'pragma integrity_check')" = "3 3 ok" ]
cp_stop

# 4. the registry down, both images named: the app waits for its base
# without the run waiting out the base's backoff
DB=both
pipeline both "127.0.0.1:$rport/both"
reg_down
t0=$(now)
tp run -c "$T/both.ini" base app 2> "$T/err"; rc=$?
t1=$(now)
tap_check "both named, registry down: the run fails ($rc) without waiting for the retry ($((t1 - t0)) s)" \
    [ $rc -eq 1 -a $((t1 - t0)) -lt 25 ]
tap_check "... the base failed once and waits out its backoff" \
    [ "$(qq "select state || ' ' || attempts || ' ' || (not_before / 1000 > $(now) + 20) from jobs where image = 'base'")" = "1 1 1" ]
tap_check "... the app is still queued, not failed, deferred as long as its base" \
    [ "$(qq "select a.state || ' ' || a.attempts || ' ' || (a.not_before >= b.not_before) from jobs a, jobs b where a.image = 'app' and b.image = 'base'")" = "1 0 1" ]
tap_check "... no run of the app" [ "$(qq "select count(*) from runs where image = 'app'")" = 0 ]
reg_up "$T/reg" "$rport" || { echo "Bail out! docker-registry does not start again"; exit 1; }
qq "update jobs set not_before = 0 where state = 1"
tp run -c "$T/both.ini" 2> "$T/err"; rc=$?
after_recovery "both named" "127.0.0.1:$rport/both"
e2e_sanitizers
tap_done

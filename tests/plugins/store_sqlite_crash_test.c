/* temper — store_sqlite with real processes: concurrent workers claim and
 * complete every job exactly once; concurrent enqueues with one key merge
 * into one job; a worker killed with SIGKILL at random points leaves a sound
 * database whose jobs are each in one valid state, and its job is re-claimed
 * once the lease expires.
 *
 * SQLite connections must not cross fork(): the parent closes every
 * connection before forking, and each child opens its own store. */
#include "config.h"
#include "tests/plugins/store_crew.h"
#include "tests/lib/tap.h"
#include "sdk/host.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 4
#define JOBS 200
#define KILL_ROUNDS 20

static struct sqh H;
#define OPS (H.ops)

/* ---- concurrent workers ------------------------------------------------ */

/* Child: claim and complete until the queue is empty; report each completed
 * id on fd.  Exit status: 0 ok, 1 error. */
static void worker_main(const char *path, int n, int fd)
{
    struct sqh_store s;
    char name[16];
    int status = 0;
    snprintf(name, sizeof name, "w%d", n);
    if (sqh_open(&H, path, &s) != TEMPER_OK) {
        _exit(1);
    }
    for (int i = 0; i < 10 * JOBS; i++) {
        struct temper_job job;
        int rc = OPS->job_claim(s.state, name, crew_now_ms(), 60000, &job);
        if (rc == TEMPER_ENOTFOUND) {
            break;
        }
        if (rc == TEMPER_OK && OPS->job_complete(s.state, job.id, name) == TEMPER_OK) {
            status |= crew_write_all(fd, &job.id, sizeof job.id) != 0;
        } else {
            status = 1;
        }
        temper_job_cleanup(&job);
    }
    sqh_close(&H, &s);
    _exit(status);
}

static void test_workers(void)
{
    char *path = sqh_path(&H, "workers.db");
    struct sqh_store s;
    int rc = sqh_open(&H, path, &s);
    for (int i = 0; i < JOBS && rc == TEMPER_OK; i++) {
        struct temper_job j = { .size = sizeof j, .image = (char *)"img", .priority = i % 7 };
        rc = OPS->job_enqueue(s.state, &j, NULL, NULL);
    }
    sqh_close(&H, &s);
    int fds[WORKERS][2];
    pid_t pids[WORKERS];
    int exits_ok = 0;
    for (int w = 0; w < WORKERS; w++) {
        if (pipe(fds[w]) != 0) {
            rc = -1;
        }
        pids[w] = fork();
        if (pids[w] == 0) {
            close(fds[w][0]);
            worker_main(path, w, fds[w][1]);
        }
        close(fds[w][1]);
    }
    static int seen[JOBS + 1];
    int total = 0, dup = 0, bad = 0, busy_workers = 0;
    for (int w = 0; w < WORKERS; w++) {
        long long id;
        int mine = 0;
        while (read(fds[w][0], &id, sizeof id) == (ssize_t)sizeof id) {
            total++;
            mine++;
            if (id < 1 || id > JOBS) {
                bad++;
            } else if (seen[id]++) {
                dup++;
            }
        }
        busy_workers += mine > 0;
        close(fds[w][0]);
        exits_ok += pids[w] > 0 && crew_wait_ok(pids[w]);
    }
    printf("# %d of %d workers completed jobs\n", busy_workers, WORKERS);
    sqlite3 *db = sqh_raw(path);
    TEST("concurrent workers complete every job exactly once") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(exits_ok, WORKERS);
        CHECK_INT_EQ(total, JOBS);
        CHECK_INT_EQ(dup, 0);
        CHECK_INT_EQ(bad, 0);
        CHECK_INT_EQ(sqh_raw_int(db, "SELECT count(*) FROM jobs WHERE state = 3"), JOBS);
        CHECK_INT_EQ(sqh_raw_int(db, "SELECT count(*) FROM jobs WHERE attempts <> 1"), 0);
    }
    sqlite3_close(db);
    free(path);
}

static void dedup_main(const char *path, int n)
{
    struct sqh_store s;
    int status = sqh_open(&H, path, &s) != TEMPER_OK;
    for (int i = 0; i < 10 && !status; i++) {
        char change[48];
        snprintf(change, sizeof change, "[{\"worker\":%d,\"n\":%d}]", n, i);
        struct temper_job j = { .size = sizeof j, .image = (char *)"img",
                                .dedup_key = (char *)"shared", .change = change };
        status = OPS->job_enqueue(s.state, &j, NULL, NULL) != TEMPER_OK;
    }
    sqh_close(&H, &s);
    _exit(status);
}

static void test_dedup_processes(void)
{
    char *path = sqh_path(&H, "dedup-procs.db");
    struct sqh_store s;
    int rc = sqh_open(&H, path, &s); /* create and migrate before the children */
    sqh_close(&H, &s);
    pid_t pids[WORKERS];
    int ok = 0;
    for (int w = 0; w < WORKERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            dedup_main(path, w);
        }
    }
    for (int w = 0; w < WORKERS; w++) {
        ok += pids[w] > 0 && crew_wait_ok(pids[w]);
    }
    sqlite3 *db = sqh_raw(path);
    TEST("enqueues with one key from four processes make one job") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(ok, WORKERS);
        CHECK_INT_EQ(sqh_raw_int(db, "SELECT count(*) FROM jobs"), 1);
        CHECK_INT_EQ(sqh_raw_int(db, "SELECT json_array_length(change) FROM jobs"),
                     10 * WORKERS);
    }
    sqlite3_close(db);
    free(path);
}

/* ---- SIGKILL ----------------------------------------------------------- */

/* Child: enqueue, claim, heartbeat, complete or fail, forever (fake clock). */
static void victim_main(const char *path, int round)
{
    struct sqh_store s;
    if (sqh_open(&H, path, &s) != TEMPER_OK) {
        _exit(1);
    }
    for (long long i = 0;; i++) {
        char change[64], key[32];
        snprintf(change, sizeof change, "[{\"round\":%d,\"i\":%lld}]", round, i);
        snprintf(key, sizeof key, "k%lld", i % 5);
        struct temper_job j = { .size = sizeof j, .image = (char *)"img",
                                .dedup_key = i % 3 == 0 ? key : NULL, .change = change };
        struct temper_job out;
        long long t = 1000 + i;
        if (OPS->job_enqueue(s.state, &j, NULL, NULL) != TEMPER_OK) {
            _exit(1);
        }
        if (OPS->job_claim(s.state, "victim", t, 1000, &out) == TEMPER_OK) {
            int rc = OPS->job_heartbeat(s.state, out.id, "victim", t, 1000);
            if (rc == TEMPER_OK && i % 4 == 0) {
                rc = OPS->job_fail(s.state, out.id, "victim", "flaky", t, 0);
            } else if (rc == TEMPER_OK) {
                rc = OPS->job_complete(s.state, out.id, "victim");
            }
            temper_job_cleanup(&out);
            if (rc != TEMPER_OK) {
                _exit(1);
            }
        }
    }
}

static const char sql_invalid[] =
    "SELECT count(*) FROM jobs WHERE state NOT BETWEEN 1 AND 5"
    " OR (state = 2 AND worker IS NULL) OR (state IN (1, 5) AND worker IS NOT NULL)"
    " OR NOT json_valid(change) OR json_type(change) <> 'array'"
    " OR attempts > max_attempts";

/* Re-claim everything claimable far in the future and complete it; returns
 * how many of `held` (ids the victim held) came back, or -1. */
static int rescue(const char *path, long long held_before, int *held_back)
{
    struct sqh_store s;
    int n = 0;
    if (sqh_open(&H, path, &s) != TEMPER_OK) {
        sqh_close(&H, &s);
        return -1;
    }
    for (int i = 0; i < 100000; i++) {
        struct temper_job out;
        int rc = OPS->job_claim(s.state, "rescuer", 1000000000000LL, 1000, &out);
        if (rc != TEMPER_OK) {
            n = rc == TEMPER_ENOTFOUND ? n : -1;
            break;
        }
        *held_back += out.id == held_before;
        if (OPS->job_complete(s.state, out.id, "rescuer") != TEMPER_OK) {
            n = -1;
        }
        temper_job_cleanup(&out);
        if (n < 0) {
            break;
        }
        n++;
    }
    sqh_close(&H, &s);
    return n;
}

static void test_sigkill(void)
{
    char *path = sqh_path(&H, "kill.db");
    struct sqh_store s;
    int rc = sqh_open(&H, path, &s);
    sqh_close(&H, &s);
    int sound = 0, valid = 0, rescued_ok = 0, held_rounds = 0, held_back = 0;
    srand((unsigned)getpid());
    for (int round = 0; round < KILL_ROUNDS && rc == TEMPER_OK; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            victim_main(path, round);
        }
        usleep((useconds_t)(2000 + rand() % 40000));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        sqlite3 *db = sqh_raw(path);
        char *ic = db ? sqh_raw_text(db, "PRAGMA integrity_check") : NULL;
        sound += ic && strcmp(ic, "ok") == 0;
        valid += db && sqh_raw_int(db, sql_invalid) == 0;
        long long held = db ? sqh_raw_int(db, "SELECT id FROM jobs WHERE state = 2"
                                              " AND worker = 'victim'")
                            : -1;
        /* a job already at its last attempt is FAILED instead of re-claimed */
        long long retry = db ? sqh_raw_int(db, "SELECT attempts < max_attempts FROM jobs"
                                               " WHERE state = 2 AND worker = 'victim'")
                             : -1;
        held_rounds += held > 0 && retry == 1;
        free(ic);
        sqlite3_close(db);
        int back = 0;
        rescued_ok += rescue(path, held, &back) >= 0 && back == (held > 0 && retry == 1);
        held_back += back;
    }
    printf("# the victim held a re-claimable job when killed in %d of %d rounds\n",
           held_rounds,
           KILL_ROUNDS);
    sqlite3 *db = sqh_raw(path);
    TEST("SIGKILL at random points: sound database, valid states, nothing lost") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(sound, KILL_ROUNDS);
        CHECK_INT_EQ(valid, KILL_ROUNDS);
        CHECK_INT_EQ(rescued_ok, KILL_ROUNDS);
        CHECK_INT_EQ(held_back, held_rounds);
        CHECK_INT_EQ(sqh_raw_int(db, "SELECT count(*) FROM jobs WHERE state IN (1, 2, 5)"), 0);
        CHECK(sqh_raw_int(db, "SELECT count(*) FROM jobs") > 0);
    }
    sqlite3_close(db);
    free(path);
}

/* Child: claim one job, tell the parent, wait to be killed. */
static void holder_main(const char *path, int fd)
{
    struct sqh_store s;
    struct temper_job out;
    if (sqh_open(&H, path, &s) != TEMPER_OK ||
        OPS->job_claim(s.state, "victim", 1000, 500, &out) != TEMPER_OK) {
        _exit(1);
    }
    if (crew_write_all(fd, &out.id, sizeof out.id) != 0) {
        _exit(1);
    }
    for (;;) {
        pause();
    }
}

static void test_kill_holder(void)
{
    char *path = sqh_path(&H, "holder.db");
    struct sqh_store s;
    long long id = 0, got = 0;
    int fds[2] = { -1, -1 };
    int rc = sqh_open(&H, path, &s);
    struct temper_job j = { .size = sizeof j, .image = (char *)"img" };
    if (rc == TEMPER_OK) {
        rc = OPS->job_enqueue(s.state, &j, &id, NULL);
    }
    sqh_close(&H, &s);
    if (rc == TEMPER_OK && pipe(fds) != 0) {
        rc = TEMPER_EIO;
    }
    pid_t pid = rc == TEMPER_OK ? fork() : -1;
    if (pid == 0) {
        close(fds[0]);
        holder_main(path, fds[1]);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], &got, sizeof got);
    close(fds[0]);
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    struct temper_job out = { 0 };
    int early = TEMPER_OK, late = TEMPER_EINTERNAL;
    rc = rc == TEMPER_OK ? sqh_open(&H, path, &s) : rc;
    if (rc == TEMPER_OK) {
        early = OPS->job_claim(s.state, "rescuer", 1499, 500, &out);
        temper_job_cleanup(&out);
        late = OPS->job_claim(s.state, "rescuer", 1500, 500, &out);
    }
    TEST("a killed worker's job is re-claimed once its lease expires") {
        CHECK_INT_EQ(n, (ssize_t)sizeof got);
        CHECK_INT_EQ(got, id);
        CHECK_INT_EQ(early, TEMPER_ENOTFOUND);
        CHECK_INT_EQ(late, TEMPER_OK);
        CHECK_INT_EQ(late == TEMPER_OK ? out.id : 0, id);
        CHECK_INT_EQ(late == TEMPER_OK ? out.attempts : 0, 2);
        CHECK_INT_EQ(OPS->job_heartbeat(s.state, id, "victim", 1500, 500), TEMPER_ESTATE);
        CHECK_INT_EQ(OPS->job_complete(s.state, id, "rescuer"), TEMPER_OK);
    }
    temper_job_cleanup(&out);
    sqh_close(&H, &s);
    free(path);
}

static void run_all(void)
{
    test_workers();
    test_dedup_processes();
    test_kill_holder();
    test_sigkill();
}

int main(void)
{
    int rc = sqh_init(&H);
    TEST("load store_sqlite through the loader") {
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
    if (rc == TEMPER_OK) {
        run_all();
    }
    sqh_cleanup(&H);
    return tap_done();
}

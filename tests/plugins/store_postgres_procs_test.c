/* temper — store_postgres with several worker processes on one queue, on a
 * real PostgreSQL server (our own cluster: the test restarts it):
 *  - 4 workers claim and complete 400 jobs: each job runs exactly once;
 *  - 6 processes open a fresh database at the same moment: the migrations
 *    are applied exactly once (advisory lock);
 *  - a worker killed with SIGKILL while it holds a job loses nothing: its
 *    lease expires, another worker completes the job, exactly once;
 *  - the server restarted (pg_ctl restart -m fast) while 4 workers run:
 *    every operation reconnects, no worker sees an error, and every job is
 *    completed exactly once.
 * Each process opens its own store: a connection never crosses fork(). */
#include "config.h"
#include "tests/plugins/store_pg_harness.h"
#include "tests/lib/tap.h"
#include "sdk/host.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 4
#define MAX_JOBS 400

static struct sqh H;
static struct pgh P;
#define OPS (H.ops)

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int wait_ok(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            return 0;
        }
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int enqueue_n(const char *loc, int n)
{
    struct sqh_store s;
    int rc = sqh_open(&H, loc, &s);
    for (int i = 0; i < n && rc == TEMPER_OK; i++) {
        char image[32];
        snprintf(image, sizeof image, "img-%d", i);
        struct temper_job j = { .size = sizeof j, .image = image, .priority = i % 5 };
        rc = OPS->job_enqueue(s.state, &j, NULL, NULL);
    }
    sqh_close(&H, &s);
    return rc;
}

/* jobs QUEUED or RUNNING */
static int count_open(void *ctx, const struct temper_job *j)
{
    (void)j;
    (*(int *)ctx)++;
    return 0;
}

/* Child: claim, work, heartbeat, complete until nothing is left (waiting
 * for expired leases of others); report each completed id on fd, and -1
 * for every error.  Exit 0, or 1 when it could not open or ran too long. */
static void worker_main(const char *loc, const char *name, int fd, int work_ms)
{
    struct sqh_store s;
    if (sqh_open(&H, loc, &s) != TEMPER_OK) {
        _exit(1);
    }
    long long deadline = now_ms() + 45000;
    long long err = -1;
    int status = 1;
    while (now_ms() < deadline) {
        struct temper_job job;
        int rc = OPS->job_claim(s.state, name, now_ms(), 1500, &job);
        if (rc == TEMPER_ENOTFOUND) {
            int open = 0;
            unsigned mask = (1u << TEMPER_JOB_QUEUED) | (1u << TEMPER_JOB_RUNNING);
            if (OPS->job_list(s.state, mask, count_open, &open) == TEMPER_OK && open == 0) {
                status = 0;
                break;
            }
            usleep(50000);
            continue;
        }
        if (rc == TEMPER_OK && work_ms > 0) {
            usleep((useconds_t)work_ms * 1000);
            rc = OPS->job_heartbeat(s.state, job.id, name, now_ms(), 1500);
        }
        if (rc == TEMPER_OK) {
            rc = OPS->job_complete(s.state, job.id, name);
        }
        if (write_all(fd, rc == TEMPER_OK ? &job.id : &err, sizeof err) != 0) {
            break;
        }
        temper_job_cleanup(&job);
    }
    sqh_close(&H, &s);
    _exit(status);
}

struct tally {
    int total, dup, bad, errors;
    int seen[MAX_JOBS + 1];
};

static void tally_id(struct tally *t, long long id, int n_jobs)
{
    if (id == -1) {
        t->errors++;
        return;
    }
    t->total++;
    if (id < 1 || id > n_jobs) {
        t->bad++;
    } else if (t->seen[id]++) {
        t->dup++;
    }
}

struct crew {
    int n;
    pid_t pid[WORKERS];
    int fd[WORKERS];
};

static void crew_start(struct crew *c, const char *loc, int n, int work_ms)
{
    memset(c, 0, sizeof *c);
    fflush(stdout);
    for (int w = 0; w < n; w++) {
        int fds[2];
        if (pipe(fds) != 0) {
            break;
        }
        char name[16];
        snprintf(name, sizeof name, "w%d", w);
        c->pid[w] = fork();
        if (c->pid[w] == 0) {
            close(fds[0]);
            worker_main(loc, name, fds[1], work_ms);
        }
        close(fds[1]);
        c->fd[w] = fds[0];
        c->n++;
    }
}

/* Read every report; call hook once after `at` completions.  Returns how
 * many workers exited 0. */
static int crew_finish(struct crew *c, struct tally *t, int n_jobs, int at,
                       void (*hook)(void), const char *loc)
{
    (void)loc;
    struct pollfd pfd[WORKERS];
    int open = c->n, hooked = 0;
    for (int w = 0; w < c->n; w++) {
        pfd[w].fd = c->fd[w];
        pfd[w].events = POLLIN;
    }
    while (open > 0) {
        if (poll(pfd, (nfds_t)c->n, 60000) <= 0) {
            break;
        }
        for (int w = 0; w < c->n; w++) {
            long long id;
            if (pfd[w].fd < 0 || !(pfd[w].revents & (POLLIN | POLLHUP))) {
                continue;
            }
            if (read(pfd[w].fd, &id, sizeof id) == (ssize_t)sizeof id) {
                tally_id(t, id, n_jobs);
                continue;
            }
            close(pfd[w].fd);
            pfd[w].fd = -1;
            open--;
        }
        if (hook && !hooked && t->total >= at) {
            hooked = 1;
            hook();
        }
    }
    int ok = 0;
    for (int w = 0; w < c->n; w++) {
        if (pfd[w].fd >= 0) {
            close(pfd[w].fd);
        }
        ok += wait_ok(c->pid[w]);
    }
    return ok;
}

static void test_workers(void)
{
    char *loc = pgh_fresh(&P, "workers");
    int rc = loc ? enqueue_n(loc, MAX_JOBS) : -1;
    static struct tally t;
    struct crew c;
    crew_start(&c, loc, WORKERS, 0);
    int ok = crew_finish(&c, &t, MAX_JOBS, 0, NULL, loc);
    TEST("4 worker processes complete 400 jobs, each exactly once") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(ok, WORKERS);
        CHECK_INT_EQ(t.total, MAX_JOBS);
        CHECK_INT_EQ(t.dup, 0);
        CHECK_INT_EQ(t.bad, 0);
        CHECK_INT_EQ(t.errors, 0);
        CHECK_INT_EQ(pgh_int(loc, "SELECT count(*) FROM jobs WHERE state = 3"), MAX_JOBS);
        CHECK_INT_EQ(pgh_int(loc, "SELECT count(*) FROM jobs WHERE attempts <> 1"), 0);
    }
    free(loc);
}

/* ---- concurrent migrations --------------------------------------------- */

static void test_migration_race(void)
{
    enum { N = 6 };
    char *loc = pgh_fresh(&P, "race");
    int gate[2];
    pid_t pid[N];
    int ok = 0;
    if (!loc || pipe(gate) != 0) {
        free(loc);
        return;
    }
    fflush(stdout);
    for (int i = 0; i < N; i++) {
        pid[i] = fork();
        if (pid[i] == 0) {
            char b;
            struct sqh_store s;
            close(gate[1]);
            while (read(gate[0], &b, 1) < 0 && errno == EINTR) {
            }
            int rc = sqh_open(&H, loc, &s);
            sqh_close(&H, &s);
            _exit(rc == TEMPER_OK ? 0 : 1);
        }
    }
    close(gate[0]);
    usleep(200000);
    close(gate[1]); /* all of them start now */
    for (int i = 0; i < N; i++) {
        ok += pid[i] > 0 && wait_ok(pid[i]);
    }
    TEST("6 processes opening a fresh database at once migrate it exactly once") {
        CHECK_INT_EQ(ok, N);
        CHECK_INT_EQ(pgh_int(loc, "SELECT count(*) FROM schema_version"), 1);
        CHECK_INT_EQ(pgh_int(loc, "SELECT count(*) FROM pg_tables WHERE tablename IN"
                                  " ('jobs', 'audit', 'kv', 'builds', 'reviews')"),
                     5);
    }
    free(loc);
}

/* ---- SIGKILL ----------------------------------------------------------- */

static void victim_main(const char *loc, int fd)
{
    struct sqh_store s;
    struct temper_job out;
    if (sqh_open(&H, loc, &s) != TEMPER_OK ||
        OPS->job_claim(s.state, "victim", now_ms(), 1500, &out) != TEMPER_OK ||
        write_all(fd, &out.id, sizeof out.id) != 0) {
        _exit(1);
    }
    for (;;) {
        pause();
    }
}

static void test_sigkill(void)
{
    enum { JOBS = 100 };
    char *loc = pgh_fresh(&P, "sigkill");
    int rc = loc ? enqueue_n(loc, JOBS) : -1;
    int fds[2] = { -1, -1 };
    long long held = 0;
    if (rc == TEMPER_OK && pipe(fds) != 0) {
        rc = -1;
    }
    fflush(stdout);
    pid_t pid = rc == TEMPER_OK ? fork() : -1;
    if (pid == 0) {
        close(fds[0]);
        victim_main(loc, fds[1]);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], &held, sizeof held);
    close(fds[0]);
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    static struct tally t;
    struct crew c;
    crew_start(&c, loc, 3, 0);
    int ok = crew_finish(&c, &t, JOBS, 0, NULL, loc);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT attempts * 10 + state FROM jobs WHERE id = %lld", held);
    TEST("a worker killed holding a job: the job is completed by another, once") {
        CHECK_INT_EQ(n, (ssize_t)sizeof held);
        CHECK(held >= 1 && held <= JOBS);
        CHECK_INT_EQ(ok, 3);
        CHECK_INT_EQ(t.total, JOBS);
        CHECK_INT_EQ(t.dup, 0);
        CHECK_INT_EQ(t.errors, 0);
        CHECK_INT_EQ(held >= 1 && held <= JOBS ? t.seen[held] : 0, 1);
        CHECK_INT_EQ(pgh_int(loc, sql), 2 * 10 + TEMPER_JOB_DONE);
        CHECK_INT_EQ(pgh_int(loc, "SELECT count(*) FROM jobs WHERE state = 3"), JOBS);
        CHECK_INT_EQ(pgh_int(loc, "SELECT count(*) FROM jobs WHERE worker = 'victim'"), 0);
    }
    free(loc);
}

/* ---- server restart ---------------------------------------------------- */

static int restarted = -1;
#define SQL_STARTED "SELECT (extract(epoch FROM pg_postmaster_start_time()) * 1000)::bigint"

static void restart_server(void)
{
    printf("# restarting the server (pg_ctl restart -m fast) while the workers run\n");
    fflush(stdout);
    restarted = pgh_restart(&P);
}

static void test_restart(void)
{
    enum { JOBS = 300 };
    char *loc = pgh_fresh(&P, "restart");
    int rc = loc ? enqueue_n(loc, JOBS) : -1;
    long long started = loc ? pgh_int(loc, SQL_STARTED)
                            : -1;
    static struct tally t;
    struct crew c;
    crew_start(&c, loc, WORKERS, 4);
    int ok = crew_finish(&c, &t, JOBS, 60, restart_server, loc);
    long long after = loc ? pgh_int(loc, SQL_STARTED)
                          : -1;
    TEST("the server restarted mid-run: workers reconnect, every job exactly once") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(restarted, 0);
        CHECK(after > started && started > 0);
        CHECK_INT_EQ(ok, WORKERS);
        CHECK_INT_EQ(t.errors, 0);
        CHECK_INT_EQ(t.total, JOBS);
        CHECK_INT_EQ(t.dup, 0);
        CHECK_INT_EQ(pgh_int(loc, "SELECT count(*) FROM jobs WHERE state = 3"), JOBS);
        CHECK_INT_EQ(pgh_int(loc, "SELECT count(*) FROM jobs WHERE state <> 3"
                                  " OR worker IS NULL OR attempts < 1"),
                     0);
    }
    printf("# %lld jobs needed a second attempt (lease of a claim cut by the restart)\n",
           pgh_int(loc, "SELECT count(*) FROM jobs WHERE attempts > 1"));
    free(loc);
}

int main(void)
{
    const char *vg = getenv("TEMPER_UNDER_VALGRIND");
    if (vg && vg[0] == '1') {
        printf("1..0 # SKIP timing-based multi-process test (leases of 1.5 s) under valgrind\n");
        return 0;
    }
    int srv = pgh_start(&P, false);
    if (srv == 77) {
        printf("1..0 # SKIP PostgreSQL is not installed\n");
        return 0;
    }
    int rc = sqh_init_plugin(&H, "postgres");
    TEST("store_postgres and a PostgreSQL server") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(srv, 0);
    }
    if (rc == TEMPER_OK && srv == 0) {
        test_workers();
        test_migration_race();
        test_sigkill();
        test_restart();
    }
    pgh_stop(&P);
    sqh_cleanup(&H);
    return tap_done();
}

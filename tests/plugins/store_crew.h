/* temper — a crew of worker processes on one store, for the store tests and
 * benchmarks: each child opens its own store (a connection never crosses
 * fork()), claims, optionally works and heartbeats, completes, and reports
 * every completed job id (and -1 per error) to the parent through a pipe. */
#ifndef TEMPER_TESTS_STORE_CREW_H
#define TEMPER_TESTS_STORE_CREW_H

#include "tests/plugins/store_sqlite_harness.h"
#include <sys/types.h>

#define CREW_MAX 16
#define CREW_MAX_JOBS 100000

struct tally {
    int total, dup, bad, errors;
    int seen[CREW_MAX_JOBS + 1];
};

struct crew {
    int n;
    pid_t pid[CREW_MAX];
    int fd[CREW_MAX];
};

long long crew_now_ms(void);
/* Enqueue n jobs "img-<i>" into the store at loc. */
int crew_enqueue(struct sqh *h, const char *loc, int n);
/* Fork n workers ("w0".."wN") on loc; work_ms of work (and a heartbeat)
 * per job; lease_ms leases.  A worker stops when no job is queued or
 * running, or after 45 s (exit 1). */
void crew_start(struct crew *c, struct sqh *h, const char *loc, int n, int work_ms,
                long long lease_ms);
/* Read every report into t (ids 1..n_jobs); call hook once after `at`
 * completions (hook NULL: never).  Returns how many workers exited 0. */
int crew_finish(struct crew *c, struct tally *t, int n_jobs, int at, void (*hook)(void));
/* Wait for a child; 1 when it exited 0. */
int crew_wait_ok(pid_t pid);
int crew_write_all(int fd, const void *p, size_t n);

#endif

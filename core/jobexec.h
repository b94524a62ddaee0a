/* temper — one queued job through the whole chain: the part of `temper run`
 * and `temper worker` that claims, runs and settles a job.
 *
 *  - claim with a lease; a heartbeat thread with its own store connection
 *    extends it every third of the lease while the chain runs (a long build
 *    keeps its job); when the lease is lost the run is cancelled and the job
 *    left to its new holder;
 *  - a job for an image with a queued or running job for one of its bases is
 *    deferred (parked and released a little later, no attempt spent), so a
 *    subtree is rebuilt in topological order;
 *  - a job whose target version was rejected in review is completed as
 *    skipped; one whose change was approved passes the guards (the gate);
 *  - outcome: success -> the published record, the cascade to the direct
 *    dependents, then complete; a guard block -> review item + park; an
 *    error or a failed test -> fail (the store re-queues it with a backoff
 *    until max_attempts, then FAILED).
 * Not installed. */
#ifndef TEMPER_CORE_JOBEXEC_H
#define TEMPER_CORE_JOBEXEC_H

#include "graph.h"
#include "runtime.h"

enum temper_exec_outcome {
    TEMPER_EXEC_DONE = 0,     /* ran and completed */
    TEMPER_EXEC_SKIPPED,      /* completed without running (rejected version) */
    TEMPER_EXEC_PARKED,       /* waiting for a review */
    TEMPER_EXEC_BLOCKED,      /* a test failed (verdict) */
    TEMPER_EXEC_FAILED,       /* an error; re-queued or FAILED by the store */
    TEMPER_EXEC_DEFERRED,     /* a base is being rebuilt first */
    TEMPER_EXEC_LOST          /* the lease went to another worker */
};

struct temper_exec_opts {
    const char *worker;       /* lease holder, e.g. "worker:host:pid" */
    long long lease_ms;
    long long defer_ms;       /* 0 = 1 s */
    int tty;                  /* a one-line status on stderr */
};

struct temper_exec;

int temper_exec_new(struct temper_runtime *rt, const struct temper_exec_opts *o,
                    struct temper_exec **out) TEMPER_WARN_UNUSED;
void temper_exec_free(struct temper_exec *x);
/* Claim the best job and run it.  TEMPER_ENOTFOUND when none is claimable,
 * TEMPER_OK with *outcome and *job_id otherwise, or a store error. */
int temper_exec_next(struct temper_exec *x, enum temper_exec_outcome *outcome,
                     long long *job_id) TEMPER_WARN_UNUSED;
/* Give a claimed job back to the queue untouched (no attempt spent). */
int temper_exec_return(struct temper_exec *x, long long job_id, long long not_before)
    TEMPER_WARN_UNUSED;
/* Only run jobs whose id is in ids[n] (temper run IMAGE...): a claimed job
 * outside the set is handed back and ENOTFOUND returned.  ids borrowed;
 * jobs the cascade enqueues from a job of the set join it. */
void temper_exec_restrict(struct temper_exec *x, long long *ids, size_t *n, size_t cap);
/* Whether a job this executor may run is queued and claimable within
 * horizon_ms (a deferred job, a released one). */
int temper_exec_waiting(struct temper_exec *x, long long horizon_ms, int *waiting)
    TEMPER_WARN_UNUSED;
/* Cancel the running job's chain (signal-safe). */
void temper_exec_cancel(struct temper_exec *x);
const struct temper_graph *temper_exec_graph(const struct temper_exec *x);

/* The loop of `temper worker` and `temper run` (worker.c). */
struct temper_loop_opts {
    struct temper_exec_opts exec;
    int drain;                /* stop when nothing is claimable (run, --once) */
    long long max_jobs;       /* 0 = no limit */
    long long poll_max_ms;    /* longest sleep on an empty queue */
    long long *only;          /* temper run IMAGE...: see temper_exec_restrict */
    size_t *n_only;
    size_t cap_only;
};
struct temper_loop_stats {
    size_t done, skipped, parked, blocked, failed, lost;
};
/* Run jobs until *stop (set from a signal handler: the current job is
 * finished first), the queue is drained, or max_jobs.  Returns TEMPER_OK or
 * the store error that ended it. */
int temper_loop_run(struct temper_runtime *rt, const struct temper_loop_opts *o,
                    volatile int *stop, struct temper_loop_stats *st) TEMPER_WARN_UNUSED;
/* SIGTERM and SIGINT set *flag (no SA_RESTART, so sleeps wake up). */
void temper_loop_signals(volatile int *flag);
/* "PREFIX:HOST:PID:TAG" into out (TAG: 8 random hex digits). */
void temper_worker_name(const char *prefix, char *out, size_t n);

/* Heartbeat and progress (jobexec_hb.c). */
/* CLOCK_MONOTONIC in ms: for every duration and schedule inside the process
 * (a wall-clock step does not move it); the wall clock is temper_now_ms(). */
long long temper_mono_ms(void);
struct temper_hb;
int temper_hb_start(struct temper_store *s, struct temper_pipeline *p, const char *worker,
                    long long job_id, const char *image, long long lease_ms, int tty,
                    struct temper_hb **out) TEMPER_WARN_UNUSED;
/* Stop the thread; returns whether the lease was lost meanwhile. */
int temper_hb_stop(struct temper_hb *hb);
void temper_hb_progress(void *ctx, const char *stage, int done, int rc,
                        enum temper_verdict verdict);

#endif

/* temper — the heartbeat of a running job and its progress output.
 *
 * The heartbeat thread owns nothing but its store connection (passed in,
 * opened by the caller on the main thread): it wakes every second, extends
 * the lease every third of it, and redraws the status line on a terminal.
 * Progress without a terminal is one structured log line per stage start and
 * end (key=value; JSON with --log-json), written on the running thread.
 *
 * Clock jumps (README, "Time, leases and clock jumps"): every duration
 * here -- the wait between ticks, the age of the lease, progress timings -- is
 * measured on CLOCK_MONOTONIC, which an NTP step or `date -s` does not move;
 * the wall clock only goes to the store as `now`.  The lease is fenced:
 *  - a heartbeat the store refuses (another worker claimed the job) cancels
 *    the run;
 *  - no renewal for a whole lease (store unreachable, thread starved) is
 *    taken as a lost lease too: another worker may hold the job by now;
 *  - before each publish stage starts the lease is renewed synchronously
 *    (temper_hb_progress); if that fails the run is cancelled and the chain
 *    stops before the stage, so a worker that lost its job publishes
 *    nothing, and settle_ok() checks once more before recording done. */
#include "config.h"
#include "jobexec.h"
#include "pipeline_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct temper_hb {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int started, stop, lost;
    struct temper_store *store;
    struct temper_pipeline *pipe;
    const char *worker;
    const char *image;
    long long job_id, lease_ms;
    long long t_job, t_stage, last_beat;   /* CLOCK_MONOTONIC ms */
    int tty;
    char stage[96];
};

long long temper_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void lose(struct temper_hb *hb, const char *why)
{
    /* called with mu held */
    temper_log(NULL, TEMPER_LOG_LVL_WARN, "job %lld: the lease is lost (%s); cancelling "
               "the run", hb->job_id, why);
    hb->lost = 1;
    temper_pipeline_cancel(hb->pipe);
}

static void draw(struct temper_hb *hb, long long now)
{
    /* called with mu held */
    fprintf(stderr, "\r\033[K[job %lld %s] %s %.1fs (total %.1fs)", hb->job_id, hb->image,
            hb->stage[0] ? hb->stage : "starting", (double)(now - hb->t_stage) / 1000.0,
            (double)(now - hb->t_job) / 1000.0);
    fflush(stderr);
}

/* Renew the lease (mu held); the store gets the wall clock as `now`. */
static int beat(struct temper_hb *hb)
{
    const struct temper_store_ops *ops = hb->store->ops;
    int rc = ops->job_heartbeat(hb->store->state, hb->job_id, hb->worker, temper_now_ms(),
                                hb->lease_ms);
    long long mono = temper_mono_ms();
    if (rc == TEMPER_ESTATE || rc == TEMPER_ENOTFOUND) {
        lose(hb, "another worker holds it");
    } else if (rc != TEMPER_OK && mono - hb->last_beat >= hb->lease_ms) {
        lose(hb, "not renewed for a whole lease");
    } else if (rc != TEMPER_OK) {
        /* a busy store: try again on the next tick, the lease has slack */
        temper_log(NULL, TEMPER_LOG_LVL_WARN, "job %lld: heartbeat failed: %s", hb->job_id,
                   temper_rc_str(rc));
    } else {
        hb->last_beat = mono;
    }
    return hb->lost ? TEMPER_ESTATE : rc;
}

static void *hb_thread(void *arg)
{
    struct temper_hb *hb = arg;
    pthread_mutex_lock(&hb->mu);
    while (!hb->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts); /* the cond's clock (temper_hb_start) */
        ts.tv_sec += 1;
        pthread_cond_timedwait(&hb->cv, &hb->mu, &ts);
        if (hb->stop) {
            break;
        }
        long long now = temper_mono_ms();
        if (!hb->lost && now - hb->last_beat >= hb->lease_ms / 3) {
            (void)beat(hb);
        }
        if (hb->tty) {
            draw(hb, now);
        }
    }
    pthread_mutex_unlock(&hb->mu);
    return NULL;
}

int temper_hb_start(struct temper_store *s, struct temper_pipeline *p, const char *worker,
                    long long job_id, const char *image, long long lease_ms, int tty,
                    struct temper_hb **out)
{
    *out = NULL;
    struct temper_hb *hb = calloc(1, sizeof *hb);
    if (!hb) {
        return TEMPER_ENOMEM;
    }
    pthread_condattr_t ca;
    pthread_mutex_init(&hb->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&hb->cv, &ca);
    pthread_condattr_destroy(&ca);
    hb->store = s;
    hb->pipe = p;
    hb->worker = worker;
    hb->image = image;
    hb->job_id = job_id;
    hb->lease_ms = lease_ms;
    hb->tty = tty;
    hb->t_job = hb->t_stage = hb->last_beat = temper_mono_ms();
    if (s && pthread_create(&hb->thread, NULL, hb_thread, hb) != 0) {
        pthread_cond_destroy(&hb->cv);
        pthread_mutex_destroy(&hb->mu);
        free(hb);
        return temper_fail(NULL, TEMPER_EIO, "cannot start the heartbeat thread");
    }
    hb->started = s != NULL;
    *out = hb;
    return TEMPER_OK;
}

int temper_hb_stop(struct temper_hb *hb)
{
    if (!hb) {
        return 0;
    }
    pthread_mutex_lock(&hb->mu);
    hb->stop = 1;
    pthread_cond_signal(&hb->cv);
    pthread_mutex_unlock(&hb->mu);
    if (hb->started) {
        pthread_join(hb->thread, NULL);
    }
    if (hb->tty) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    int lost = hb->lost;
    pthread_cond_destroy(&hb->cv);
    pthread_mutex_destroy(&hb->mu);
    free(hb);
    return lost;
}

static const char *verdict_word(enum temper_verdict v)
{
    return v == TEMPER_VERDICT_PASS ? "pass" : v == TEMPER_VERDICT_BLOCK ? "block" : "none";
}

void temper_hb_progress(void *ctx, const char *stage, int done, int rc,
                        enum temper_verdict verdict)
{
    struct temper_hb *hb = ctx;
    pthread_mutex_lock(&hb->mu);
    long long now = temper_mono_ms();
    long long elapsed = now - hb->t_stage;
    if (!done) {
        snprintf(hb->stage, sizeof hb->stage, "%s", stage);
        hb->t_stage = now;
        if (hb->started && !hb->lost && strncmp(stage, "publish.", 8) == 0) {
            (void)beat(hb); /* the fence: a lost lease cancels the chain before it */
        }
    }
    if (hb->tty) {
        draw(hb, now);
    }
    pthread_mutex_unlock(&hb->mu);
    if (hb->tty) {
        return;
    }
    if (!done) {
        temper_log(NULL, TEMPER_LOG_LVL_INFO, "job=%lld image=%s stage=%s event=start",
                   hb->job_id, hb->image, stage);
    } else {
        temper_log(NULL, TEMPER_LOG_LVL_INFO,
                   "job=%lld image=%s stage=%s event=done rc=%s verdict=%s elapsed_ms=%lld",
                   hb->job_id, hb->image, stage, rc == TEMPER_OK ? "ok" : temper_rc_str(rc),
                   verdict_word(verdict), elapsed);
    }
}

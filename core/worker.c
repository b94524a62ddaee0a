/* temper — the job loop of `temper worker` and `temper run`, and
 * `temper worker -c FILE [--once] [--max-jobs N] [--lease DURATION]
 * [--poll-max DURATION]`.
 *
 * The worker claims jobs with a lease (heartbeat thread, see jobexec.c),
 * sleeps with an exponential backoff (250 ms up to --poll-max, default 10 s)
 * while the queue is empty, and on SIGTERM or SIGINT finishes the job it is
 * running, then exits.  A worker killed with SIGKILL loses nothing: its
 * lease expires and another worker takes the job over.  --once drains the
 * queue and exits.  Exit 0, 1 when the store failed, 2 on a usage or config
 * error. */
#include "config.h"
#include "core.h"
#include "jobexec.h"
#include "options.h"
#include "pipeline_priv.h"

#include <errno.h>
#include <getopt.h>
#include <gnutls/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOOP_POLL_MIN_MS 250
#define LOOP_MAX_STORE_ERRORS 10
#define LOOP_WAIT_HORIZON_MS 3000

static volatile int *loop_flag;

static void on_signal(int sig)
{
    (void)sig;
    if (loop_flag) {
        *loop_flag = 1;
    }
}

void temper_loop_signals(volatile int *flag)
{
    loop_flag = flag;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* The name is the worker's identity in the store's fencing (the lease is
 * held by this name only): host and pid, plus a random tag so that two
 * processes never share it -- two containers with one host name and pid 1,
 * or a pid reused after a crash while the dead worker's lease runs. */
void temper_worker_name(const char *prefix, char *out, size_t n)
{
    char host[256];
    unsigned tag = 0;
    if (gethostname(host, sizeof host) != 0) {
        snprintf(host, sizeof host, "localhost");
    }
    host[sizeof host - 1] = '\0';
    if (gnutls_rnd(GNUTLS_RND_NONCE, &tag, sizeof tag) != 0) {
        tag = (unsigned)temper_mono_ms() ^ ((unsigned)getpid() << 16);
    }
    if (snprintf(out, n, "%s:%s:%ld:%08x", prefix, host, (long)getpid(), tag) >= (int)n) {
        snprintf(out, n, "%s:%ld:%08x", prefix, (long)getpid(), tag);
    }
}

/* Sleep ms, waking early when *stop is set. */
static void nap(long long ms, volatile int *stop)
{
    while (ms > 0 && !*stop) {
        long long slice = ms < 100 ? ms : 100;
        struct timespec ts = { 0, (long)slice * 1000000L };
        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

static void tally(struct temper_loop_stats *st, enum temper_exec_outcome out)
{
    switch (out) {
    case TEMPER_EXEC_DONE: st->done++; break;
    case TEMPER_EXEC_SKIPPED: st->skipped++; break;
    case TEMPER_EXEC_PARKED: st->parked++; break;
    case TEMPER_EXEC_BLOCKED: st->blocked++; break;
    case TEMPER_EXEC_FAILED: st->failed++; break;
    case TEMPER_EXEC_LOST: st->lost++; break;
    case TEMPER_EXEC_DEFERRED: break;
    }
}

/* Nothing claimable: whether to stop (drain) and how long to sleep. */
static int idle(struct temper_exec *x, const struct temper_loop_opts *o, long long *backoff,
                volatile int *stop)
{
    if (o->drain) {
        int waiting = 0;
        int rc = temper_exec_waiting(x, LOOP_WAIT_HORIZON_MS, &waiting);
        if (rc != TEMPER_OK || !waiting) {
            return rc != TEMPER_OK ? rc : 1;
        }
        nap(LOOP_POLL_MIN_MS, stop);
        return 0;
    }
    nap(*backoff, stop);
    long long max = o->poll_max_ms > 0 ? o->poll_max_ms : 10000;
    *backoff = *backoff * 2 < max ? *backoff * 2 : max;
    return 0;
}

static int loop(struct temper_exec *x, const struct temper_loop_opts *o, volatile int *stop,
                struct temper_loop_stats *st)
{
    long long handled = 0, backoff = LOOP_POLL_MIN_MS;
    int errors = 0, rc = TEMPER_OK;
    while (!*stop && (o->max_jobs <= 0 || handled < o->max_jobs)) {
        enum temper_exec_outcome out = TEMPER_EXEC_FAILED;
        long long id = 0;
        rc = temper_exec_next(x, &out, &id);
        if (rc == TEMPER_ENOTFOUND) {
            int r = idle(x, o, &backoff, stop);
            rc = r < 0 ? r : TEMPER_OK;
            if (r != 0) {
                break;
            }
            continue;
        }
        if (rc != TEMPER_OK) {
            temper_log(NULL, TEMPER_LOG_LVL_ERROR, "job %lld: store: %s", id, temper_rc_str(rc));
            if (++errors >= LOOP_MAX_STORE_ERRORS) {
                break;
            }
            nap(backoff, stop);
            continue;
        }
        errors = 0;
        backoff = LOOP_POLL_MIN_MS;
        tally(st, out);
        handled += out != TEMPER_EXEC_DEFERRED;
    }
    return errors >= LOOP_MAX_STORE_ERRORS ? rc : TEMPER_OK;
}

int temper_loop_run(struct temper_runtime *rt, const struct temper_loop_opts *o,
                    volatile int *stop, struct temper_loop_stats *st)
{
    memset(st, 0, sizeof *st);
    struct temper_exec *x = NULL;
    int rc = temper_exec_new(rt, &o->exec, &x);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (o->only) {
        temper_exec_restrict(x, o->only, o->n_only, o->cap_only);
    }
    rc = loop(x, o, stop, st);
    temper_exec_free(x);
    return rc;
}

/* ---- temper worker ----------------------------------------------------- */

#define WORKER_USAGE "usage: temper worker -c FILE [--once] [--max-jobs N] " \
                     "[--lease DURATION] [--poll-max DURATION]\n"

static volatile int worker_stop;

struct worker_args {
    struct temper_cmd_base base;
    int once;
    long long max_jobs, lease_ms, poll_max_ms;
};

static int worker_opt(struct worker_args *a, int c, const char *arg)
{
    int r = temper_cmd_base_opt(&a->base, c, arg);
    if (r != 0) {
        return r == 1 ? 0 : -1;
    }
    switch (c) {
    case 'o': a->once = 1; return 0;
    case 'm': return temper_parse_ll(arg, &a->max_jobs) == TEMPER_OK && a->max_jobs > 0 ? 0 : -1;
    case 'l':
        return temper_parse_duration_ms(arg, &a->lease_ms) == TEMPER_OK &&
               a->lease_ms >= 1000 ? 0 : -1;
    case 'p':
        return temper_parse_duration_ms(arg, &a->poll_max_ms) == TEMPER_OK &&
               a->poll_max_ms >= LOOP_POLL_MIN_MS ? 0 : -1;
    default: return -1;
    }
}

int cmd_worker(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "once", no_argument, NULL, 'o' },
        { "max-jobs", required_argument, NULL, 'm' },
        { "lease", required_argument, NULL, 'l' },
        { "poll-max", required_argument, NULL, 'p' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    struct worker_args a;
    memset(&a, 0, sizeof a);
    temper_cmd_base_init(&a.base);
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "c:om:l:p:P:", opts, NULL)) != -1) {
        bad |= worker_opt(&a, c, optarg) != 0;
    }
    if (bad || !a.base.file || optind != argc) {
        fputs(WORKER_USAGE, stderr);
        return TEMPER_EXIT_USAGE;
    }
    temper_loop_signals(&worker_stop);
    struct temper_runtime rt;
    int rc = temper_runtime_open(&rt, a.base.file, a.base.dirs, a.base.n_dirs, stderr);
    if (rc != TEMPER_OK) {
        temper_runtime_close(&rt);
        return rc == TEMPER_EINVAL ? TEMPER_EXIT_USAGE : TEMPER_EXIT_FAIL;
    }
    char name[320];
    temper_worker_name("worker", name, sizeof name);
    struct temper_loop_opts o = {
        .exec = { .worker = name, .lease_ms = a.lease_ms ? a.lease_ms : rt.cfg->core.lease,
                  .tty = isatty(STDERR_FILENO) },
        .drain = a.once, .max_jobs = a.max_jobs, .poll_max_ms = a.poll_max_ms,
    };
    struct temper_loop_stats st;
    temper_log(NULL, TEMPER_LOG_LVL_INFO, "worker %s started", name);
    rc = temper_loop_run(&rt, &o, &worker_stop, &st);
    temper_log(NULL, TEMPER_LOG_LVL_INFO, "worker %s stopping: %zu done, %zu skipped, "
               "%zu parked, %zu blocked, %zu failed, %zu lost", name, st.done, st.skipped,
               st.parked, st.blocked, st.failed, st.lost);
    temper_runtime_close(&rt);
    return rc == TEMPER_OK ? TEMPER_EXIT_OK : TEMPER_EXIT_FAIL;
}

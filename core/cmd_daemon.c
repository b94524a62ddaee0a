/* temper — `temper daemon -c FILE [--once] [--workers N] [--lease DURATION]`:
 * the factory left running.
 *
 * Polls each enabled tracker on its own schedule (`interval` of its
 * [tracker] section, default 1h, each wait jittered by +-10%), enqueues the
 * jobs the changes call for (core/track.c), and runs N worker processes
 * (`[core] workers`, or --workers) -- this program again, as
 * `temper worker` -- restarting any that dies (after 1 s, doubling up to
 * 60 s while they keep dying within 10 s).  SIGTERM/SIGINT: the workers get
 * SIGTERM, finish their job, and the daemon exits when they have.
 * --once: one round of every tracker, then the workers drain the queue
 * (`worker --once`) and the daemon exits.  Exit 0; 1 when a tracker or a
 * worker failed (--once) or the store failed; 2 on a usage or config error.
 *
 * Every schedule here (tracker polls, worker restarts, the 1 s tick) runs on
 * CLOCK_MONOTONIC (temper_mono_ms): a wall-clock step neither stalls the
 * daemon for the size of the step nor makes it spin. */
#include "config.h"
#include "core.h"
#include "jobexec.h"
#include "options.h"
#include "pipeline_priv.h"
#include "track.h"

#include <errno.h>
#include <getopt.h>
#include <gnutls/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DAEMON_USAGE "usage: temper daemon -c FILE [--once] [--workers N] " \
                     "[--lease DURATION]\n"
#define DAEMON_MAX_WORKERS 64
#define DAEMON_MAX_ARGS 64

static volatile int daemon_stop;

struct daemon_args {
    struct temper_cmd_base base;
    int once;
    long long workers, lease_ms;
};

struct child {
    pid_t pid;
    long long started, restart_at, backoff;   /* CLOCK_MONOTONIC ms */
};

struct daemon {
    struct temper_runtime rt;
    const struct daemon_args *a;
    char *argv[DAEMON_MAX_ARGS];
    char lease[32];
    struct child kids[DAEMON_MAX_WORKERS];
    size_t n_kids;
    long long *due;            /* per config plugin: next poll (trackers), monotonic */
    int failed;
};

/* The worker command line: global options, then `worker -c FILE ...`. */
static int worker_argv(struct daemon *d)
{
    size_t n = 0;
    const struct daemon_args *a = d->a;
    d->argv[n++] = (char *)"temper";
    for (int v = 0; v < temper_g.verbose && v < 3; v++) {
        d->argv[n++] = (char *)"-v";
    }
    if (temper_g.quiet) {
        d->argv[n++] = (char *)"-q";
    }
    if (temper_g.log_json) {
        d->argv[n++] = (char *)"--log-json";
    }
    d->argv[n++] = (char *)"worker";
    d->argv[n++] = (char *)"-c";
    d->argv[n++] = (char *)a->base.file;
    for (size_t i = 0; i < a->base.n_dirs && n + 8 < DAEMON_MAX_ARGS; i++) {
        d->argv[n++] = (char *)"--plugin-dir";
        d->argv[n++] = (char *)a->base.dirs[i];
    }
    if (a->lease_ms) {
        snprintf(d->lease, sizeof d->lease, "%lldms", a->lease_ms);
        d->argv[n++] = (char *)"--lease";
        d->argv[n++] = d->lease;
    }
    if (a->once) {
        d->argv[n++] = (char *)"--once";
    }
    d->argv[n] = NULL;
    return TEMPER_OK;
}

static int spawn(struct daemon *d, struct child *k)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        return temper_fail(NULL, TEMPER_EIO, "cannot start a worker: %s", strerror(errno));
    }
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        execv("/proc/self/exe", d->argv);
        fprintf(stderr, "temper: daemon: cannot run /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    k->pid = pid;
    k->started = temper_mono_ms();
    temper_log(NULL, TEMPER_LOG_LVL_INFO, "daemon: worker %ld started", (long)pid);
    return TEMPER_OK;
}

/* Reap dead workers; restart them unless stopping or --once. */
static void reap(struct daemon *d, int block)
{
    for (size_t i = 0; i < d->n_kids; i++) {
        struct child *k = &d->kids[i];
        int status = 0;
        if (k->pid <= 0 || waitpid(k->pid, &status, block ? 0 : WNOHANG) != k->pid) {
            continue;
        }
        int bad = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        if (bad) {
            temper_log(NULL, TEMPER_LOG_LVL_WARN, "daemon: worker %ld %s %d", (long)k->pid,
                       WIFSIGNALED(status) ? "killed by signal" : "exited with",
                       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            d->failed = 1;
        }
        k->pid = 0;
        long long now = temper_mono_ms();
        k->backoff = now - k->started < 10000 ? (k->backoff ? k->backoff * 2 : 1000) : 1000;
        k->backoff = k->backoff > 60000 ? 60000 : k->backoff;
        k->restart_at = now + k->backoff;
    }
}

static void restart(struct daemon *d)
{
    long long now = temper_mono_ms();
    for (size_t i = 0; i < d->n_kids && !daemon_stop; i++) {
        if (d->kids[i].pid == 0 && now >= d->kids[i].restart_at) {
            if (spawn(d, &d->kids[i]) != TEMPER_OK) {
                d->kids[i].restart_at = now + 5000;
            }
        }
    }
}

/* interval +-10% */
static long long jitter(long long interval)
{
    unsigned r = 0;
    if (gnutls_rnd(GNUTLS_RND_NONCE, &r, sizeof r) != 0) {
        r = (unsigned)getpid();
    }
    long long span = interval / 5;
    return interval - interval / 10 + (span > 0 ? (long long)(r % (unsigned long long)span) : 0);
}

static int poll_tracker(struct daemon *d, const struct temper_conf_plugin *only)
{
    struct temper_track_opts o = { .json = temper_g.log_json, .out = stdout, .only = only };
    struct temper_track_result res;
    int rc = temper_track_round(&d->rt, &o, &res);
    if (rc != TEMPER_OK) {
        temper_log(NULL, TEMPER_LOG_LVL_ERROR, "daemon: track: %s", temper_rc_str(rc));
    } else {
        temper_log(NULL, TEMPER_LOG_LVL_INFO, "daemon: %s polled: %zu change(s), %zu new "
                   "job(s), %zu merged%s", only ? only->id : "every tracker", res.changes,
                   res.jobs, res.merged, res.failed ? ", failed" : "");
    }
    d->failed |= rc != TEMPER_OK || res.failed;
    return rc;
}

/* Poll the trackers that are due; *next gets the earliest next poll. */
static void poll_due(struct daemon *d, long long *next)
{
    const struct temper_config *c = d->rt.cfg;
    long long now = temper_mono_ms();
    for (size_t i = 0; i < c->n_plugins && !daemon_stop; i++) {
        const struct temper_conf_plugin *cp = c->plugins[i];
        if (cp->kind != TEMPER_KIND_TRACKER || !cp->keys.enabled || !cp->module) {
            continue;
        }
        if (d->due[i] <= now) {
            (void)poll_tracker(d, cp);
            now = temper_mono_ms();
            d->due[i] = now + jitter(cp->interval);
        }
        *next = d->due[i] < *next ? d->due[i] : *next;
    }
}

static void nap_until(long long when)
{
    while (!daemon_stop && temper_mono_ms() < when) {
        usleep(100000);
    }
}

static int serve(struct daemon *d)
{
    for (size_t i = 0; i < d->n_kids; i++) {
        if (spawn(d, &d->kids[i]) != TEMPER_OK) {
            return TEMPER_EIO;
        }
    }
    while (!daemon_stop) {
        long long next = temper_mono_ms() + 1000;
        poll_due(d, &next);
        reap(d, 0);
        restart(d);
        nap_until(next);
    }
    temper_log(NULL, TEMPER_LOG_LVL_INFO, "daemon: stopping; waiting for the workers");
    for (size_t i = 0; i < d->n_kids; i++) {
        if (d->kids[i].pid > 0) {
            kill(d->kids[i].pid, SIGTERM);
        }
    }
    reap(d, 1);
    return TEMPER_OK;
}

static int once(struct daemon *d)
{
    int rc = poll_tracker(d, NULL);
    for (size_t i = 0; rc == TEMPER_OK && i < d->n_kids; i++) {
        rc = spawn(d, &d->kids[i]);
    }
    reap(d, 1);
    return rc;
}

static int parse(int argc, char **argv, struct daemon_args *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "once", no_argument, NULL, 'o' },
        { "workers", required_argument, NULL, 'w' },
        { "lease", required_argument, NULL, 'l' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    int c, bad = 0;
    temper_cmd_base_init(&a->base);
    while ((c = getopt_long(argc, argv, "c:ow:l:P:", opts, NULL)) != -1) {
        int r = temper_cmd_base_opt(&a->base, c, optarg);
        if (r == 0 && c == 'o') {
            a->once = 1;
        } else if (r == 0 && c == 'w') {
            bad |= temper_parse_ll(optarg, &a->workers) != TEMPER_OK || a->workers < 1 ||
                   a->workers > DAEMON_MAX_WORKERS;
        } else if (r == 0 && c == 'l') {
            bad |= temper_parse_duration_ms(optarg, &a->lease_ms) != TEMPER_OK ||
                   a->lease_ms < 1000;
        } else if (r != 1) {
            bad = 1;
        }
    }
    return bad || !a->base.file || optind != argc ? -1 : 0;
}

int cmd_daemon(int argc, char **argv)
{
    struct daemon_args a;
    memset(&a, 0, sizeof a);
    if (parse(argc, argv, &a) != 0) {
        fputs(DAEMON_USAGE, stderr);
        return TEMPER_EXIT_USAGE;
    }
    struct daemon *d = calloc(1, sizeof *d);
    if (!d) {
        return TEMPER_EXIT_FAIL;
    }
    d->a = &a;
    temper_loop_signals(&daemon_stop);
    int rc = temper_runtime_open(&d->rt, a.base.file, a.base.dirs, a.base.n_dirs, stderr);
    int code = rc == TEMPER_OK ? TEMPER_EXIT_OK
               : rc == TEMPER_EINVAL ? TEMPER_EXIT_USAGE : TEMPER_EXIT_FAIL;
    if (code == TEMPER_EXIT_OK) {
        long long n = a.workers ? a.workers : d->rt.cfg->core.workers;
        d->n_kids = (size_t)(n > DAEMON_MAX_WORKERS ? DAEMON_MAX_WORKERS : n);
        d->due = calloc(d->rt.cfg->n_plugins ? d->rt.cfg->n_plugins : 1, sizeof *d->due);
        rc = d->due ? worker_argv(d) : TEMPER_ENOMEM;
        rc = rc != TEMPER_OK ? rc : a.once ? once(d) : serve(d);
        code = rc != TEMPER_OK || (a.once && d->failed) ? TEMPER_EXIT_FAIL : TEMPER_EXIT_OK;
    }
    free(d->due);
    temper_runtime_close(&d->rt);
    free(d);
    return code;
}

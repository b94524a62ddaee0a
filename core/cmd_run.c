/* temper — `temper run -c FILE [IMAGE...] [--lease DURATION]`: run jobs
 * through the whole chain (guard -> review gate -> build -> suites ->
 * attest -> sign -> publish -> cascade) in this process.
 *
 * Without IMAGE, every claimable job of the queue is run, and the jobs the
 * cascade adds, until nothing is left.  With IMAGE..., one manual job per
 * named image is enqueued (merged into a queued one for the same image) and
 * only those jobs and their cascades run, bases first.  The worker identity
 * is run:HOST:PID.  Exit 0 when every job ran (or was skipped: its version
 * was rejected), 1 when one failed, 3 when a verdict stopped one (parked for
 * review, a test failed) and none failed, 2 on a usage or config error. */
#include "config.h"
#include "core.h"
#include "cascade.h"
#include "jobexec.h"
#include "options.h"
#include "pipeline_priv.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_USAGE "usage: temper run -c FILE [IMAGE...] [--lease DURATION]\n"
#define RUN_MAX_JOBS 4096
#define RUN_PRIORITY 100

static volatile int run_stop;

/* Enqueue the named images, bases first; their ids go to ids[*n]. */
static int enqueue_named(struct temper_runtime *rt, char **names, int n_names,
                         long long *ids, size_t *n)
{
    struct temper_graph *g = NULL;
    int rc = temper_graph_from_config(rt->cfg, &g);
    size_t *order = rc == TEMPER_OK ? calloc(g->n ? g->n : 1, sizeof *order) : NULL;
    rc = rc != TEMPER_OK ? rc : !order ? TEMPER_ENOMEM : temper_graph_topo(g, order);
    for (size_t k = 0; rc == TEMPER_OK && k < g->n; k++) {
        const char *name = g->nodes[order[k]].name;
        int wanted = 0;
        for (int i = 0; i < n_names; i++) {
            wanted |= strcmp(names[i], name) == 0;
        }
        bool merged = false;
        if (wanted && *n < RUN_MAX_JOBS) {
            rc = temper_job_enqueue_image(&rt->store, name, NULL, "manual", NULL, RUN_PRIORITY,
                                          &ids[*n], &merged);
            *n += rc == TEMPER_OK;
        }
    }
    free(order);
    temper_graph_free(g);
    return rc;
}

static int run_jobs(struct temper_runtime *rt, char **names, int n_names, long long lease_ms)
{
    long long *ids = calloc(RUN_MAX_JOBS, sizeof *ids);
    size_t n_ids = 0;
    int rc = ids ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && n_names) {
        rc = enqueue_named(rt, names, n_names, ids, &n_ids);
    }
    char name[320];
    temper_worker_name("run", name, sizeof name);
    struct temper_loop_opts o = {
        .exec = { .worker = name, .lease_ms = lease_ms ? lease_ms : rt->cfg->core.lease,
                  .tty = isatty(STDERR_FILENO) },
        .drain = 1, .only = n_names ? ids : NULL, .n_only = &n_ids, .cap_only = RUN_MAX_JOBS,
    };
    struct temper_loop_stats st;
    memset(&st, 0, sizeof st);
    if (rc == TEMPER_OK) {
        rc = temper_loop_run(rt, &o, &run_stop, &st);
    }
    free(ids);
    if (rc != TEMPER_OK) {
        const char *e = temper_stage_error(rt->store.st);
        fprintf(stderr, "temper: run: %s\n", e ? e : temper_rc_str(rc));
        return TEMPER_EXIT_FAIL;
    }
    fprintf(stderr, "temper: run: %zu done, %zu skipped, %zu parked for review, %zu blocked, "
                    "%zu failed, %zu lost\n", st.done, st.skipped, st.parked, st.blocked,
            st.failed, st.lost);
    return st.failed || st.lost ? TEMPER_EXIT_FAIL
           : st.parked || st.blocked ? TEMPER_EXIT_VERDICT : TEMPER_EXIT_OK;
}

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "lease", required_argument, NULL, 'l' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    struct temper_cmd_base b;
    long long lease_ms = 0;
    int c, bad = 0;
    temper_cmd_base_init(&b);
    while ((c = getopt_long(argc, argv, "c:l:P:", opts, NULL)) != -1) {
        int r = temper_cmd_base_opt(&b, c, optarg);
        if (r == 0 && c == 'l') {
            bad |= temper_parse_duration_ms(optarg, &lease_ms) != TEMPER_OK || lease_ms < 1000;
        } else if (r != 1) {
            bad = 1;
        }
    }
    if (bad || !b.file) {
        fputs(RUN_USAGE, stderr);
        return TEMPER_EXIT_USAGE;
    }
    temper_loop_signals(&run_stop);
    struct temper_runtime rt;
    int rc = temper_runtime_open(&rt, b.file, b.dirs, b.n_dirs, stderr);
    int code = rc == TEMPER_OK ? TEMPER_EXIT_OK
               : rc == TEMPER_EINVAL ? TEMPER_EXIT_USAGE : TEMPER_EXIT_FAIL;
    for (int i = optind; code == TEMPER_EXIT_OK && i < argc; i++) {
        if (!temper_config_image(rt.cfg, argv[i])) {
            fprintf(stderr, "temper: %s: no image named '%s'\n", b.file, argv[i]);
            code = TEMPER_EXIT_USAGE;
        }
    }
    if (code == TEMPER_EXIT_OK) {
        code = run_jobs(&rt, argv + optind, argc - optind, lease_ms);
    }
    temper_runtime_close(&rt);
    return code;
}

/* temper bench — one polling round of tracker_github_releases over N
 * upstreams (gen/repo-0000 ...) on the GitHub mock, through the plugin
 * harness (real loader, real option code, in-memory state).
 *
 *   bench_github API_URL N CONCURRENCY
 *
 * Prints "first_round_ms=<ms> cpu_ms=<ms> changes=<n>" for the first round
 * (every upstream new: N full replies) and the same "second_round_..." line
 * for the next one (N conditional requests answered 304); cpu_ms is the
 * process's user + system time during the round.  Exit status 1 when a
 * round fails or the first round did not report every upstream. */
#include "config.h"
#include "tests/lib/plugin_harness.h"
#include <temper/tracker.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BENCH_MAX 100000

static long long cpu_ms(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct bench {
    struct ph h;
    const struct temper_tracker_ops *ops;
    struct temper_watch *w;
    const struct temper_watch **wp;
    void **conf;
    char **names;
    size_t n;
};

static int make_watches(struct bench *b)
{
    b->w = calloc(b->n, sizeof *b->w);
    b->wp = calloc(b->n, sizeof *b->wp);
    b->conf = calloc(b->n, sizeof *b->conf);
    b->names = calloc(b->n, sizeof *b->names);
    if (!b->w || !b->wp || !b->conf || !b->names) {
        return -1;
    }
    for (size_t i = 0; i < b->n; i++) {
        char repo[64], *err = NULL;
        snprintf(repo, sizeof repo, "repo=gen/repo-%04zu", i);
        const char *kv[] = { repo, NULL };
        b->names[i] = temper_strdupf("img-%04zu", i);
        if (!b->names[i] || ph_fill(b->ops->watch_options, b->ops->watch_conf_size, kv,
                                    &b->conf[i], &err) != TEMPER_OK) {
            fprintf(stderr, "watch %zu: %s\n", i, err ? err : "out of memory");
            free(err);
            return -1;
        }
        b->w[i] = (struct temper_watch){ .size = sizeof b->w[i], .image = b->names[i],
                                         .id = b->names[i], .conf = b->conf[i] };
        b->wp[i] = &b->w[i];
    }
    return 0;
}

static void cleanup(struct bench *b)
{
    for (size_t i = 0; b->conf && i < b->n; i++) {
        ph_free_conf(b->ops->watch_options, b->conf[i]);
        free(b->names[i]);
    }
    free(b->w);
    free(b->wp);
    free(b->conf);
    free(b->names);
    ph_close(&b->h);
}

static int round_ms(struct bench *b, const char *label, size_t *changes)
{
    ph_clear_artifacts(&b->h);
    long long t0 = mono_ms(), c0 = cpu_ms();
    int rc = b->ops->poll(b->h.state, b->h.st, b->wp, b->n);
    long long dt = mono_ms() - t0, dc = cpu_ms() - c0;
    *changes = ph_artifact_count(&b->h);
    printf("%s_ms=%lld cpu_ms=%lld changes=%zu\n", label, dt, dc, *changes);
    if (rc != TEMPER_OK) {
        const char *e = temper_stage_error(b->h.st);
        fprintf(stderr, "%s: %s\n", label, e ? e : temper_rc_str(rc));
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct bench b = { 0 };
    long long n = 0, conc = 0;
    char api[512], cc[64];
    size_t changes = 0;
    char *err = NULL;
    if (argc != 4 || temper_parse_ll(argv[2], &n) != TEMPER_OK || n < 1 || n > BENCH_MAX ||
        temper_parse_ll(argv[3], &conc) != TEMPER_OK || conc < 1 || conc > 100) {
        fprintf(stderr, "usage: bench_github API_URL N CONCURRENCY\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    temper_log_set_level(TEMPER_LOG_LVL_WARN);
    snprintf(api, sizeof api, "api_url=%s", argv[1]);
    snprintf(cc, sizeof cc, "concurrency=%lld", conc);
    const char *kv[] = { api, cc, "timeout=60s", NULL };
    b.n = (size_t)n;
    int rc = ph_load(&b.h, TEMPER_KIND_TRACKER, "github_releases", kv, &err);
    if (rc != TEMPER_OK) {
        fprintf(stderr, "load: %s\n", err ? err : "?");
        free(err);
        curl_global_cleanup();
        return 1;
    }
    b.ops = ph_ops(&b.h);
    rc = ph_open(&b.h) == TEMPER_OK && make_watches(&b) == 0 ? TEMPER_OK : TEMPER_EINVAL;
    if (rc == TEMPER_OK) {
        rc = round_ms(&b, "first_round", &changes);
        rc = rc == TEMPER_OK && changes != b.n ? TEMPER_EINTERNAL : rc;
    }
    if (rc == TEMPER_OK) {
        rc = round_ms(&b, "second_round", &changes);
    }
    cleanup(&b);
    curl_global_cleanup();
    return rc == TEMPER_OK ? 0 : 1;
}

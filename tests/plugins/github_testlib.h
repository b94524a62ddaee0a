/* temper tests — the GitHub mock (tests/lib/github_mock.py) as a child
 * process, its control endpoints, and watches for the GitHub trackers. */
#ifndef TEMPER_TESTS_GITHUB_TESTLIB_H
#define TEMPER_TESTS_GITHUB_TESTLIB_H

#include <stdbool.h>
#include <sys/types.h>
#include <temper/tracker.h>
#include "tests/lib/plugin_harness.h"

struct gm {
    pid_t pid;
    int port;
    char base[64]; /* "http://127.0.0.1:<port>" */
};

/* Start of a test program: curl_global_init(), no proxy variables.  Returns
 * false after printing a TAP skip plan when python3 or the mock is missing. */
bool gt_begin(void);
void gt_end(void);

/* Start the mock (scenario: JSON text or NULL).  0 on success. */
int gm_start(struct gm *m, const char *scenario);
void gm_stop(struct gm *m);
/* POST JSON to /_mock/scenario; 0 on HTTP 200. */
int gm_scenario(const struct gm *m, const char *json);
/* POST /_mock/reset (forget the request counts). */
int gm_reset(const struct gm *m);
/* An integer member of /_mock/stats ("count", "conditional", ...), -1 on
 * error. */
long gm_stat(const struct gm *m, const char *key);
/* /_mock/stats as text (free()). */
char *gm_stats_text(const struct gm *m);

/* main() of a test program on one mock: gt_begin, start the mock, run(m),
 * stop, gt_end; returns the exit status (tap_done()'s when run ran). */
int gt_main(void (*run)(const struct gm *m), int (*done)(void));

/* A watch whose conf block is filled from "key=value" strings. */
struct gt_watch {
    struct temper_watch w;
    void *conf;
    const struct temper_option *opts;
};
int gt_watch_init(struct gt_watch *t, const struct temper_tracker_ops *ops, const char *image,
                  const char *id, const char *pinned, const char *const *kvs);
void gt_watch_cleanup(struct gt_watch *t);

/* Load and open a GitHub tracker with `kvs` (api_url is added from m when
 * kvs has none).  0 on success; on failure the error is printed as a TAP
 * diagnostic. */
int gt_open(struct ph *h, const char *plugin, const struct gm *m, const char *const *kvs);
/* Poll one round over ws[0..n); forgets the stage's previous error first. */
int gt_poll(struct ph *h, struct gt_watch *const *ws, size_t n);
/* Attribute of the i-th artifact, or NULL. */
const char *gt_attr(const struct ph *h, size_t i, const char *key);
/* Whole file as a string (free()), NULL when unreadable. */
char *gt_read(const char *path);
/* Occurrences of `needle` in `hay`. */
size_t gt_count(const char *hay, const char *needle);

#endif

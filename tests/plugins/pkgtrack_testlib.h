/* temper tests — what the package tracker tests (tracker_alpine_test,
 * tracker_debian_test) share: loading a tracker through the plugin harness
 * with state shared between rounds, polling it, reading its changes, a
 * route-script builder for tests/lib/httpd.py and its request counters. */
#ifndef TEMPER_TESTS_PKGTRACK_TESTLIB_H
#define TEMPER_TESTS_PKGTRACK_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <temper/temper.h>
#include "tests/lib/plugin_harness.h"
#include "tests/lib/http_fixture.h"

/* A loaded and opened tracker.  `share` (may be NULL) lends its durable
 * state (the previous round); now_ms (0 = the clock) pins the stage time.
 * On failure *err (free()) says why: the load error or the open error. */
int pt_open(struct ph *h, const char *name, const char *const *kv, const struct ph *share,
            long long now_ms, char **err);
/* Harness settings: the n_base strings of `base`, then `extra`
 * (NULL-terminated, may be NULL).  Static storage: valid until the next
 * call; the strings themselves are borrowed. */
const char *const *pt_opts(const char *const *base, size_t n_base, const char *const *extra);
/* One round with no watches. */
int pt_poll(struct ph *h);
/* The stage's first error, or "". */
const char *pt_error(const struct ph *h);
/* The change reporting `package`, or NULL. */
const struct temper_artifact *pt_change(const struct ph *h, const char *package);
/* An attribute of the change of `package`, or NULL. */
const char *pt_attr(const struct ph *h, const char *package, const char *key);

/* httpd.py scripts: {"routes": {...}} built route by route. */
struct pt_script {
    struct temper_buf b;
    int n;
    int rc;
};
void pt_script_init(struct pt_script *s);
/* Add route `path` with the JSON members `spec` (no braces), e.g.
 * "\"body_file\": \"/tmp/x\", \"etag\": \"\\\"1\\\"\"". */
void pt_route(struct pt_script *s, const char *path, const char *spec_fmt, ...)
    TEMPER_PRINTF(3, 4);
/* Start the server; the script is freed.  0 on success. */
int pt_serve(struct pt_script *s, struct fx_server *srv);

/* How many requests the server saw for `path` (-1 on error). */
int pt_hits(const struct fx_server *srv, const char *path);
/* "http://127.0.0.1:<port><path>", new string. */
char *pt_url(const struct fx_server *srv, const char *path);

/* Whole file / bytes helpers. */
int pt_write(const char *path, const void *data, size_t len);
/* hex SHA-256 and size of a file; 0 on success. */
int pt_file_sha(const char *path, char hex[65], unsigned long long *size);
/* Copy of the saved value under `key`, or NULL. */
char *pt_state_dup(const struct ph *h, const char *key);
/* Number of lines of a saved package state (its packages). */
size_t pt_state_packages(const struct ph *h);

#endif

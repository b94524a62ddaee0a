/* temper — the store conformance suite: the operations of
 * include/temper/store.h checked the same way against every store plugin
 * (store_sqlite, store_postgres), through the real loader.
 *
 * A backend says how to get a fresh, empty store and how to reach the data
 * behind the plugin's back (to prove the audit log refuses UPDATE and
 * DELETE even from a raw connection). */
#ifndef TEMPER_TESTS_STORE_CONFORMANCE_H
#define TEMPER_TESTS_STORE_CONFORMANCE_H

#include "tests/plugins/store_sqlite_harness.h"

struct store_backend {
    /* The location (conf `location`) of a fresh, empty store named after
     * `name` ("queue.db"); a new string, NULL on failure. */
    char *(*fresh)(const struct store_backend *b, const char *name);
    /* Run `sql` on the store at `location` through a raw connection:
     * 0 when it succeeded, else -1 and *msg (new string) the error. */
    int (*raw_exec)(const struct store_backend *b, const char *location, const char *sql,
                    char **msg);
    /* First column of the first row of `sql` as an integer, -1 on failure. */
    long long (*raw_int)(const struct store_backend *b, const char *location,
                         const char *sql);
    void *ctx;
};

/* The suites; each opens its stores through h (loaded by sqh_init*). */
void store_conformance_state(struct sqh *h, const struct store_backend *b);
void store_conformance_queue(struct sqh *h, const struct store_backend *b);

/* Helpers of part 1, for a plugin's own tests (h must be loaded). */
struct temper_package store_conf_pkg(const char *name, const char *source, const char *dist);
int store_conf_record_build(void *s, const char *image, const char *variant, const char *dist,
                            const struct temper_package *p, size_t n);
/* images_with_package as "a,b,c" into buf ("(error)" on failure). */
const char *store_conf_lookup(struct sqh *h, void *s, const char *package, const char *dist,
                              long long now, char *buf, size_t n);

/* The store_sqlite backend: files in h's scratch directory. */
void store_sqlite_backend(struct sqh *h, struct store_backend *b);

#endif

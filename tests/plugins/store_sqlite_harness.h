/* temper — test harness for the store plugins (store_sqlite first, whence
 * the name; store_postgres too): loads the built module through the real
 * loader (core/loader.c), fills conf blocks generically from the option
 * table, opens stores in a scratch directory. */
#ifndef TEMPER_TESTS_STORE_SQLITE_HARNESS_H
#define TEMPER_TESTS_STORE_SQLITE_HARNESS_H

#include <temper/store.h>
#include <sqlite3.h>

struct sqh {
    struct temper_loader *loader;
    const struct temper_plugin *desc;
    const struct temper_store_ops *ops;
    char dir[256]; /* scratch directory, removed by sqh_cleanup() */
};

/* An opened (or refused) store: st keeps the recorded error. */
struct sqh_store {
    struct temper_stage *st;
    void *conf;
    void *state;
};

/* Load store_sqlite (from TEMPER_PLUGINS, or preloaded in a static build) and
 * make the scratch directory.  On failure a TAP comment says why.  Call
 * sqh_cleanup() in every case. */
int sqh_init(struct sqh *h);
/* The same for store_<plugin>. */
int sqh_init_plugin(struct sqh *h, const char *plugin);
void sqh_cleanup(struct sqh *h);

/* "<scratch>/<name>", a new string. */
char *sqh_path(const struct sqh *h, const char *name);

/* A zeroed conf block with every option's default applied (parsed like the
 * core does) and `location` set when not NULL.  Free with sqh_conf_free(). */
void *sqh_conf_new(const struct temper_plugin *d, const char *location);
void sqh_conf_free(const struct temper_plugin *d, void *conf);
/* The option `key` of the table, NULL if unknown. */
const struct temper_option *sqh_option(const struct temper_plugin *d, const char *key);
/* Pointer to the field of option `key` inside conf, NULL if unknown. */
void *sqh_conf_field(const struct temper_plugin *d, void *conf, const char *key);

/* Open the store at `path` (conf from sqh_conf_new); returns the rc of
 * open().  Always close with sqh_close(), also after a failure. */
int sqh_open(const struct sqh *h, const char *path, struct sqh_store *s);
void sqh_close(const struct sqh *h, struct sqh_store *s);

/* A raw SQLite connection to inspect the file; NULL on failure. */
sqlite3 *sqh_raw(const char *path);
/* First column of the first row of `sql` as text (new string) or NULL. */
char *sqh_raw_text(sqlite3 *db, const char *sql);
long long sqh_raw_int(sqlite3 *db, const char *sql);

#endif

/* temper — test harness for the store plugins (see store_sqlite_harness.h). */
#include "config.h"
#include "tests/plugins/store_conformance.h"
#include "core/loader.h"
#include "sdk/host.h"
#include <temper/buf.h>

#include <errno.h>
#include <ftw.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int load(struct sqh *h, const char *plugin, char **err)
{
    memset(h, 0, sizeof *h);
    *err = NULL;
    setenv("TEMPER_NO_INSTALLED_PLUGINS", "1", 1);
    LTDL_SET_PRELOADED_SYMBOLS();
#ifdef STORE_TEST_PRELOADED
    /* static build: the module is linked in and found among the preloaded */
    const char *dirs[1] = { NULL };
    size_t n_dirs = 0;
#else
    const char *plugins = getenv("TEMPER_PLUGINS");
    const char *dirs[1] = { plugins ? plugins : "plugins" };
    size_t n_dirs = 1;
#endif
    int rc = temper_loader_new(dirs, n_dirs, &h->loader, err);
    const struct temper_module *m = NULL;
    if (rc == TEMPER_OK) {
        rc = temper_loader_load(h->loader, TEMPER_KIND_STORE, plugin, &m, err);
    }
    if (rc != TEMPER_OK) {
        return rc;
    }
    h->desc = m->desc;
    h->ops = m->desc->ops;
    printf("# store_%s loaded from %s\n", plugin, m->path);
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(h->dir, sizeof h->dir, "%s/temper-store-......",
                     tmp && tmp[0] ? tmp : "/tmp");
    if (n > 6 && (size_t)n < sizeof h->dir) {
        memset(h->dir + n - 6, 'X', 6); /* the mkdtemp() template */
    }
    if (n <= 6 || (size_t)n >= sizeof h->dir || !mkdtemp(h->dir)) {
        *err = temper_strdupf("cannot make a scratch directory: %s", strerror(errno));
        h->dir[0] = '\0';
        return TEMPER_EIO;
    }
    return TEMPER_OK;
}

int sqh_init(struct sqh *h)
{
    return sqh_init_plugin(h, "sqlite");
}

int sqh_init_plugin(struct sqh *h, const char *plugin)
{
    char *err = NULL;
    int rc = load(h, plugin, &err);
    if (rc != TEMPER_OK) {
        printf("# cannot load store_%s: %s\n", plugin, err ? err : temper_rc_str(rc));
    }
    free(err);
    fflush(stdout); /* forked children must not repeat buffered output */
    return rc;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void sqh_cleanup(struct sqh *h)
{
    if (h->dir[0]) {
        nftw(h->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    temper_loader_free(h->loader);
    memset(h, 0, sizeof *h);
}

char *sqh_path(const struct sqh *h, const char *name)
{
    return temper_strdupf("%s/%s", h->dir, name);
}

/* ---- conf blocks, filled generically ----------------------------------- */

static long long parse_duration(const char *s)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!end || end == s) {
        return -1;
    }
    if (strcmp(end, "ms") == 0) {
        return v;
    }
    if (*end == '\0' || strcmp(end, "s") == 0) {
        return v * 1000;
    }
    if (strcmp(end, "m") == 0) {
        return v * 60000;
    }
    if (strcmp(end, "h") == 0) {
        return v * 3600000;
    }
    return strcmp(end, "d") == 0 ? v * 86400000 : -1;
}

static int enum_index(const struct temper_option *o, const char *v)
{
    for (int i = 0; o->choices[i]; i++) {
        if (strcmp(o->choices[i], v) == 0) {
            return i;
        }
    }
    return -1;
}

static void apply_default(const struct temper_option *o, char *field)
{
    long long ll = 0;
    switch (o->type) {
    case TEMPER_OPT_STR:
    case TEMPER_OPT_PATH:
        *(char **)field = strdup(o->def);
        break;
    case TEMPER_OPT_BOOL:
        *(bool *)field = strcmp(o->def, "true") == 0 || strcmp(o->def, "yes") == 0 ||
                         strcmp(o->def, "on") == 0 || strcmp(o->def, "1") == 0;
        break;
    case TEMPER_OPT_INT:
        *(long long *)field = temper_parse_ll(o->def, &ll) == TEMPER_OK ? ll : -1;
        break;
    case TEMPER_OPT_SIZE:
        *(unsigned long long *)field =
            temper_parse_ll(o->def, &ll) == TEMPER_OK ? (unsigned long long)ll : 0;
        break;
    case TEMPER_OPT_DURATION:
        *(long long *)field = parse_duration(o->def);
        break;
    case TEMPER_OPT_ENUM:
        *(int *)field = enum_index(o, o->def);
        break;
    default:
        break;
    }
}

void *sqh_conf_new(const struct temper_plugin *d, const char *location)
{
    char *conf = calloc(1, d->conf_size ? d->conf_size : 1);
    if (!conf) {
        return NULL;
    }
    for (const struct temper_option *o = d->options; o && o->type != TEMPER_OPT_END; o++) {
        if (o->def && !(o->flags & TEMPER_OPT_MULTI) && o->type != TEMPER_OPT_LIST) {
            apply_default(o, conf + o->offset);
        }
    }
    char **loc = sqh_conf_field(d, conf, "location");
    if (loc && location) {
        free(*loc);
        *loc = strdup(location);
    }
    return conf;
}

const struct temper_option *sqh_option(const struct temper_plugin *d, const char *key)
{
    for (const struct temper_option *o = d->options; o && o->type != TEMPER_OPT_END; o++) {
        if (strcmp(o->key, key) == 0) {
            return o;
        }
    }
    return NULL;
}

void *sqh_conf_field(const struct temper_plugin *d, void *conf, const char *key)
{
    for (const struct temper_option *o = d->options; o && o->type != TEMPER_OPT_END; o++) {
        if (strcmp(o->key, key) == 0) {
            return (char *)conf + o->offset;
        }
    }
    return NULL;
}

void sqh_conf_free(const struct temper_plugin *d, void *conf)
{
    if (!conf) {
        return;
    }
    for (const struct temper_option *o = d->options; o && o->type != TEMPER_OPT_END; o++) {
        if ((o->type == TEMPER_OPT_STR || o->type == TEMPER_OPT_PATH) &&
            !(o->flags & TEMPER_OPT_MULTI)) {
            free(*(char **)((char *)conf + o->offset));
        }
    }
    free(conf);
}

/* ---- stores ------------------------------------------------------------ */

int sqh_open(const struct sqh *h, const char *path, struct sqh_store *s)
{
    memset(s, 0, sizeof *s);
    s->st = temper_stage_new(h->desc, "default");
    s->conf = sqh_conf_new(h->desc, path);
    if (!s->st || !s->conf) {
        return TEMPER_ENOMEM;
    }
    return h->desc->open(s->st, s->conf, &s->state);
}

void sqh_close(const struct sqh *h, struct sqh_store *s)
{
    h->desc->close(s->state);
    sqh_conf_free(h->desc, s->conf);
    temper_stage_free(s->st);
    memset(s, 0, sizeof *s);
}

sqlite3 *sqh_raw(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

char *sqh_raw_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    char *out = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
        out = strdup((const char *)sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
}

long long sqh_raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    long long out = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        out = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return out;
}

/* ---- the store_sqlite backend of the conformance suite ----------------- */

static char *sqlite_fresh(const struct store_backend *b, const char *name)
{
    return sqh_path(b->ctx, name);
}

static int sqlite_raw_exec(const struct store_backend *b, const char *location,
                           const char *sql, char **msg)
{
    (void)b;
    sqlite3 *db = sqh_raw(location);
    int src = db ? sqlite3_exec(db, sql, NULL, NULL, NULL) : SQLITE_ERROR;
    if (msg) {
        *msg = src == SQLITE_OK ? NULL : strdup(db ? sqlite3_errmsg(db) : "cannot open");
    }
    sqlite3_close(db);
    return src == SQLITE_OK ? 0 : -1;
}

static long long sqlite_raw_int(const struct store_backend *b, const char *location,
                                const char *sql)
{
    (void)b;
    sqlite3 *db = sqh_raw(location);
    long long v = db ? sqh_raw_int(db, sql) : -1;
    sqlite3_close(db);
    return v;
}

void store_sqlite_backend(struct sqh *h, struct store_backend *b)
{
    b->fresh = sqlite_fresh;
    b->raw_exec = sqlite_raw_exec;
    b->raw_int = sqlite_raw_int;
    b->ctx = h;
}

/* temper — store_sqlite: the embedded default store, one SQLite file.
 *
 * The file is created with mode 0600 when absent and opened in WAL mode
 * (readers never block the writer), with foreign keys on and the configured
 * busy timeout and synchronous level.  open() applies the schema migrations
 * (sqlite_schema.c).  One connection per store instance: open the store after
 * fork(), never share a connection across processes.
 *
 * This file: options, open/close, key/value state and the descriptor.  The
 * job queue is in sqlite_queue.c, images and builds in sqlite_images.c, runs,
 * reviews and the audit log in sqlite_runs.c. */
#include "config.h"
#include "sqlite_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sqlite_conf {
    char *location;
    long long busy_timeout;
    int synchronous;
    long long max_attempts_default;
    long long cache_size;
};

enum { SYNC_NORMAL = 0, SYNC_FULL = 1 };
static const char *const sync_choices[] = { "normal", "full", NULL };

static const struct temper_option sqlite_options[] = {
    { TEMPER_OPT_PATH, "location", NULL, TEMPER_OPT_REQUIRED,
      offsetof(struct sqlite_conf, location), 0, 0, NULL,
      "database file, created with mode 0600 when absent "
      "([core] store = sqlite:PATH sets it)" },
    { TEMPER_OPT_DURATION, "busy_timeout", "5s", 0,
      offsetof(struct sqlite_conf, busy_timeout), 0, 3600000, NULL,
      "how long an operation waits for another process's write lock before it fails" },
    { TEMPER_OPT_ENUM, "synchronous", "full", 0,
      offsetof(struct sqlite_conf, synchronous), 0, 0, sync_choices,
      "full: every commit survives a power loss; normal: faster, the last commits "
      "may be lost on power loss (never corrupted)" },
    { TEMPER_OPT_INT, "max_attempts_default", "3", 0,
      offsetof(struct sqlite_conf, max_attempts_default), 1, 100, NULL,
      "attempts of a job enqueued without max_attempts before it is FAILED" },
    { TEMPER_OPT_SIZE, "cache_size", "64M", 0, offsetof(struct sqlite_conf, cache_size),
      1 << 20, 1LL << 36, NULL,
      "page cache of the connection: the package index of many images stays in memory" },
    TEMPER_OPTION_END
};

/* Create the file with mode 0600 unless it exists; it must be a regular file. */
static int create_file(struct sqs_state *s)
{
    int fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        close(fd);
        return TEMPER_OK;
    }
    if (errno != EEXIST) {
        return temper_fail(s->st, TEMPER_EIO, "%s: cannot create the store: %s", s->path,
                           strerror(errno));
    }
    struct stat sb;
    if (stat(s->path, &sb) != 0) {
        return temper_fail(s->st, TEMPER_EIO, "%s: cannot open the store: %s", s->path,
                           strerror(errno));
    }
    if (!S_ISREG(sb.st_mode)) {
        return temper_fail(s->st, TEMPER_EINVAL, "%s: the store is not a regular file",
                           s->path);
    }
    return TEMPER_OK;
}

static const char sql_wal[] = "PRAGMA journal_mode = WAL";
static const char sql_fk[] = "PRAGMA foreign_keys = ON";
static const char sql_sync_full[] = "PRAGMA synchronous = FULL";
static const char sql_sync_normal[] = "PRAGMA synchronous = NORMAL";

static int enable_wal(struct sqs_state *s)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqs_stmt(s, sql_wal, &stmt);
    if (rc != TEMPER_OK) {
        return rc;
    }
    int src = sqlite3_step(stmt);
    if (src != SQLITE_ROW) {
        rc = sqs_fail(s, src, "cannot enable WAL mode");
    } else {
        const char *mode = (const char *)sqlite3_column_text(stmt, 0);
        if (!mode || strcmp(mode, "wal") != 0) {
            rc = temper_fail(s->st, TEMPER_EIO,
                             "%s: cannot enable WAL mode (journal mode stays %s)",
                             s->path, mode ? mode : "unknown");
        }
    }
    sqlite3_reset(stmt);
    return rc;
}

static int configure(struct sqs_state *s, const struct sqlite_conf *conf)
{
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, SQS_MAX_TEXT);
    long long ms = conf->busy_timeout;
    sqlite3_busy_timeout(s->db, ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    if (sqlite3_db_readonly(s->db, "main") == 1) {
        return temper_fail(s->st, TEMPER_EIO, "%s: the store is read-only", s->path);
    }
    int rc = enable_wal(s);
    if (rc == TEMPER_OK) {
        rc = sqs_run(s, sql_fk, "cannot enable foreign keys", "");
    }
    if (rc == TEMPER_OK) {
        rc = sqs_run(s, conf->synchronous == SYNC_NORMAL ? sql_sync_normal : sql_sync_full,
                     "cannot set the synchronous level", "");
    }
    if (rc == TEMPER_OK) {
        /* a PRAGMA takes no parameters; the number comes from a checked SIZE */
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA cache_size = -%lld", conf->cache_size / 1024);
        int src = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        rc = src == SQLITE_OK ? TEMPER_OK : sqs_fail(s, src, "cannot set the cache size");
    }
    return rc;
}

static void sqlite_close(void *sv)
{
    struct sqs_state *s = sv;
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n_cache; i++) {
        sqlite3_finalize(s->cache[i].stmt);
    }
    if (s->db) {
        sqlite3_close_v2(s->db);
    }
    free(s->path);
    free(s);
}

static int sqlite_open(struct temper_stage *st, const void *confv, void **state)
{
    const struct sqlite_conf *conf = confv;
    if (!state) {
        return temper_fail(st, TEMPER_EINVAL, "sqlite store: no state pointer");
    }
    *state = NULL;
    if (!conf || !conf->location || !conf->location[0]) {
        return temper_fail(st, TEMPER_EINVAL, "sqlite store: no location (database file)");
    }
    struct sqs_state *s = calloc(1, sizeof *s);
    if (s) {
        s->path = strdup(conf->location);
    }
    if (!s || !s->path) {
        free(s);
        return temper_fail(st, TEMPER_ENOMEM, "sqlite store: out of memory");
    }
    s->st = st;
    s->max_attempts = conf->max_attempts_default > 0 && conf->max_attempts_default <= 100
                          ? (int)conf->max_attempts_default
                          : 3;
    int rc = create_file(s);
    if (rc == TEMPER_OK) {
        /* NOMUTEX: the core calls a store from one thread at a time (store.h),
         * which this state (its statement cache) needs anyway; SQLite's own
         * per-call connection mutex cost a quarter of images_with_package. */
        int src = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                  NULL);
        rc = src == SQLITE_OK ? configure(s, conf) : sqs_fail(s, src, "cannot open");
    }
    if (rc == TEMPER_OK) {
        rc = sqs_schema_migrate(s);
    }
    if (rc != TEMPER_OK) {
        sqlite_close(s);
        return rc;
    }
    *state = s;
    return TEMPER_OK;
}

/* ---- key/value state --------------------------------------------------- */

static const char sql_kv_get[] = "SELECT value FROM kv WHERE ns = ?1 AND key = ?2";
static const char sql_kv_put[] =
    "INSERT INTO kv (ns, key, value) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value";
static const char sql_kv_del[] = "DELETE FROM kv WHERE ns = ?1 AND key = ?2";

static int sqlite_kv_get(void *sv, const char *ns, const char *key, char **value)
{
    struct sqs_state *s = sv;
    if (value) {
        *value = NULL;
    }
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (!ns || !key || !value) {
        return sqs_einval(s, "cannot read state", "no namespace, key or value pointer");
    }
    sqlite3_stmt *stmt = NULL;
    int rc = sqs_stmt(s, sql_kv_get, &stmt);
    if (rc != TEMPER_OK) {
        return rc;
    }
    int src = sqs_bind(stmt, "tt", ns, key);
    if (src == SQLITE_OK) {
        src = sqlite3_step(stmt);
    }
    if (src == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(stmt, 0);
        *value = v ? strdup(v) : NULL;
        if (!*value) {
            rc = temper_fail(s->st, TEMPER_ENOMEM, "%s: cannot read state: out of memory",
                             s->path);
        }
    } else if (src == SQLITE_DONE) {
        rc = TEMPER_ENOTFOUND;
    } else {
        rc = sqs_fail(s, src, "cannot read state");
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc;
}

static int sqlite_kv_put(void *sv, const char *ns, const char *key, const char *value)
{
    struct sqs_state *s = sv;
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (!ns || !key) {
        return sqs_einval(s, "cannot write state", "no namespace or key");
    }
    if (!value) {
        return sqs_run(s, sql_kv_del, "cannot delete state", "tt", ns, key);
    }
    return sqs_run(s, sql_kv_put, "cannot write state", "ttt", ns, key, value);
}

/* ---- descriptor -------------------------------------------------------- */

static const struct temper_store_ops sqlite_ops = {
    .kv_get = sqlite_kv_get,
    .kv_put = sqlite_kv_put,
    .image_put = sqs_image_put,
    .image_get = sqs_image_get,
    .build_record = sqs_build_record,
    .images_with_package = sqs_images_with_package,
    .build_packages = sqs_build_packages,
    .job_enqueue = sqs_job_enqueue,
    .job_claim = sqs_job_claim,
    .job_heartbeat = sqs_job_heartbeat,
    .job_complete = sqs_job_complete,
    .job_fail = sqs_job_fail,
    .job_park = sqs_job_park,
    .job_release = sqs_job_release,
    .job_list = sqs_job_list,
    .run_begin = sqs_run_begin,
    .run_stage = sqs_run_stage,
    .run_finish = sqs_run_finish,
    .run_list = sqs_run_list,
    .run_stages = sqs_run_stages,
    .review_add = sqs_review_add,
    .review_list = sqs_review_list,
    .review_get = sqs_review_get,
    .review_decide = sqs_review_decide,
    .audit_append = sqs_audit_append,
    .audit_list = sqs_audit_list,
};

TEMPER_PLUGIN(store_sqlite) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_STORE,
    .name = "sqlite",
    .version = PACKAGE_VERSION,
    .summary = "embedded store: state, builds and the job queue in one SQLite file",
    .options = sqlite_options,
    .conf_size = sizeof(struct sqlite_conf),
    .open = sqlite_open,
    .close = sqlite_close,
    .ops = &sqlite_ops,
    .ops_size = sizeof(struct temper_store_ops),
};

/* temper — store_sqlite: errors, cached statements, transactions and paged
 * reads shared by the operations. */
#include "config.h"
#include "sqlite_store.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int sqs_rc(int src)
{
    switch (src & 0xff) {
    case SQLITE_OK:
        return TEMPER_OK;
    case SQLITE_NOMEM:
        return TEMPER_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return TEMPER_ETIMEOUT;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return TEMPER_EFORMAT;
    case SQLITE_TOOBIG:
        return TEMPER_ELIMIT;
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return TEMPER_EINVAL;
    case SQLITE_CONSTRAINT:
        if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
            return TEMPER_ENOTFOUND;
        }
        return src == SQLITE_CONSTRAINT_TRIGGER ? TEMPER_ESTATE : TEMPER_EINVAL;
    default:
        return TEMPER_EIO;
    }
}

int sqs_fail(struct sqs_state *s, int src, const char *what)
{
    const char *msg = sqlite3_errstr(src);
    int sys = 0;
    if (s->db && sqlite3_errcode(s->db) != SQLITE_OK) {
        int prim = sqlite3_errcode(s->db) & 0xff;
        msg = sqlite3_errmsg(s->db);
        /* "disk I/O error" alone hides a full disk: add what the OS said */
        if (prim == SQLITE_IOERR || prim == SQLITE_FULL || prim == SQLITE_CANTOPEN) {
            sys = sqlite3_system_errno(s->db);
        }
    }
    if (sys > 0) {
        return temper_fail(s->st, sqs_rc(src), "%s: %s: %s (%s)", s->path, what, msg,
                           strerror(sys));
    }
    return temper_fail(s->st, sqs_rc(src), "%s: %s: %s", s->path, what, msg);
}

int sqs_stmt(struct sqs_state *s, const char *sql, sqlite3_stmt **out)
{
    *out = NULL;
    for (size_t i = 0; i < s->n_cache; i++) {
        if (s->cache[i].sql == sql) {
            sqlite3_reset(s->cache[i].stmt);
            sqlite3_clear_bindings(s->cache[i].stmt);
            *out = s->cache[i].stmt;
            return TEMPER_OK;
        }
    }
    if (s->n_cache == SQS_CACHE_MAX) {
        return temper_fail(s->st, TEMPER_EINTERNAL,
                           "%s: more than %d distinct statements", s->path,
                           SQS_CACHE_MAX);
    }
    sqlite3_stmt *stmt = NULL;
    int src = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (src != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return sqs_fail(s, src, "cannot prepare a statement");
    }
    s->cache[s->n_cache].sql = sql;
    s->cache[s->n_cache].stmt = stmt;
    s->n_cache++;
    *out = stmt;
    return TEMPER_OK;
}

int sqs_bindv(sqlite3_stmt *stmt, int first, const char *fmt, va_list ap)
{
    int src = SQLITE_OK;
    for (int i = 0; fmt[i] && src == SQLITE_OK; i++) {
        int at = first + i;
        if (fmt[i] == 't') {
            const char *v = va_arg(ap, const char *);
            src = v ? sqlite3_bind_text(stmt, at, v, -1, SQLITE_TRANSIENT)
                    : sqlite3_bind_null(stmt, at);
        } else if (fmt[i] == 'l') {
            src = sqlite3_bind_int64(stmt, at, va_arg(ap, long long));
        } else if (fmt[i] == 'd') {
            src = sqlite3_bind_int(stmt, at, va_arg(ap, int));
        } else {
            src = SQLITE_MISUSE;
        }
    }
    return src;
}

int sqs_bind(sqlite3_stmt *stmt, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int src = sqs_bindv(stmt, 1, fmt, ap);
    va_end(ap);
    return src;
}

int sqs_exec(struct sqs_state *s, sqlite3_stmt *stmt, const char *what)
{
    int src;
    do {
        src = sqlite3_step(stmt);
    } while (src == SQLITE_ROW);
    int rc = src == SQLITE_DONE ? TEMPER_OK : sqs_fail(s, src, what);
    sqlite3_reset(stmt);
    return rc;
}

int sqs_one_int(struct sqs_state *s, sqlite3_stmt *stmt, long long *out, const char *what)
{
    int src = sqlite3_step(stmt);
    int rc = TEMPER_OK;
    if (src == SQLITE_ROW) {
        *out = sqlite3_column_int64(stmt, 0);
    } else if (src == SQLITE_DONE) {
        rc = TEMPER_ENOTFOUND;
    } else {
        rc = sqs_fail(s, src, what);
    }
    sqlite3_reset(stmt);
    return rc;
}

int sqs_run(struct sqs_state *s, const char *sql, const char *what, const char *fmt, ...)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqs_stmt(s, sql, &stmt);
    if (rc != TEMPER_OK) {
        return rc;
    }
    va_list ap;
    va_start(ap, fmt);
    int src = sqs_bindv(stmt, 1, fmt, ap);
    va_end(ap);
    if (src != SQLITE_OK) {
        return sqs_fail(s, src, what);
    }
    return sqs_exec(s, stmt, what);
}

static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";

int sqs_begin(struct sqs_state *s, const char *what)
{
    if (!sqlite3_get_autocommit(s->db)) {
        return temper_fail(s->st, TEMPER_EINTERNAL, "%s: %s: a transaction is open",
                           s->path, what);
    }
    return sqs_run(s, sql_begin, what, "");
}

int sqs_end(struct sqs_state *s, int rc, const char *what)
{
    if (rc == TEMPER_OK) {
        rc = sqs_run(s, sql_commit, what, "");
    }
    if (rc != TEMPER_OK && !sqlite3_get_autocommit(s->db)) {
        sqlite3_stmt *stmt = NULL;
        if (sqs_stmt(s, sql_rollback, &stmt) == TEMPER_OK) {
            sqlite3_step(stmt);
            sqlite3_reset(stmt);
        }
    }
    return rc;
}

/* ---- rows -------------------------------------------------------------- */

void sqs_rows_cleanup(struct sqs_rows *r)
{
    for (size_t i = 0; i < r->n * (size_t)r->ncol; i++) {
        sqlite3_value_free(r->v[i]);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

const char *sqs_text(const struct sqs_rows *r, size_t row, int col)
{
    sqlite3_value *v = r->v[row * (size_t)r->ncol + (size_t)col];
    if (sqlite3_value_type(v) == SQLITE_NULL) {
        return NULL;
    }
    return (const char *)sqlite3_value_text(v);
}

long long sqs_int(const struct sqs_rows *r, size_t row, int col)
{
    return sqlite3_value_int64(r->v[row * (size_t)r->ncol + (size_t)col]);
}

static int rows_add(struct sqs_rows *r, sqlite3_stmt *stmt)
{
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        sqlite3_value **v = realloc(r->v, ncap * (size_t)r->ncol * sizeof *v);
        if (!v) {
            return SQLITE_NOMEM;
        }
        r->v = v;
        r->cap = ncap;
    }
    sqlite3_value **row = r->v + r->n * (size_t)r->ncol;
    for (int c = 0; c < r->ncol; c++) {
        row[c] = sqlite3_value_dup(sqlite3_column_value(stmt, c));
        if (!row[c]) {
            for (int k = 0; k < c; k++) {
                sqlite3_value_free(row[k]);
            }
            return SQLITE_NOMEM;
        }
    }
    r->n++;
    return SQLITE_OK;
}

int sqs_rows_fetch(struct sqs_state *s, sqlite3_stmt *stmt, struct sqs_rows *r,
                   const char *what)
{
    memset(r, 0, sizeof *r);
    r->ncol = sqlite3_column_count(stmt);
    int src = sqlite3_step(stmt);
    while (src == SQLITE_ROW) {
        src = rows_add(r, stmt);
        if (src != SQLITE_OK) {
            break;
        }
        src = sqlite3_step(stmt);
    }
    int rc = TEMPER_OK;
    if (src == SQLITE_NOMEM) {
        rc = temper_fail(s->st, TEMPER_ENOMEM, "%s: %s: out of memory", s->path, what);
    } else if (src != SQLITE_DONE) {
        rc = sqs_fail(s, src, what);
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (rc != TEMPER_OK) {
        sqs_rows_cleanup(r);
    }
    return rc;
}

static int bind_page(sqlite3_stmt *stmt, const struct sqs_iter *it, sqlite3_value *after)
{
    int ia = sqlite3_bind_parameter_index(stmt, ":after");
    int il = sqlite3_bind_parameter_index(stmt, ":limit");
    if (ia == 0 || il == 0) {
        return SQLITE_MISUSE;
    }
    int src;
    if (after) {
        src = sqlite3_bind_value(stmt, ia, after);
    } else if (it->text_key) {
        src = sqlite3_bind_text(stmt, ia, "", 0, SQLITE_STATIC);
    } else {
        src = sqlite3_bind_int64(stmt, ia, LLONG_MIN);
    }
    return src == SQLITE_OK ? sqlite3_bind_int(stmt, il, SQS_PAGE) : src;
}

/* One page: bind, fetch.  *rows is filled on success. */
static int fetch_page(struct sqs_state *s, const struct sqs_iter *it, sqlite3_value *after,
                      struct sqs_rows *rows)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqs_stmt(s, it->sql, &stmt);
    if (rc != TEMPER_OK) {
        return rc;
    }
    int src = it->bind ? it->bind(stmt, it->bind_ctx) : SQLITE_OK;
    if (src == SQLITE_OK) {
        src = bind_page(stmt, it, after);
    }
    if (src != SQLITE_OK) {
        rc = sqs_fail(s, src, it->what);
        sqlite3_clear_bindings(stmt);
        return rc;
    }
    return sqs_rows_fetch(s, stmt, rows, it->what);
}

int sqs_iterate(struct sqs_state *s, struct sqs_iter *it)
{
    sqlite3_value *after = NULL;
    struct sqs_rows rows = { 0 };
    int rc = TEMPER_OK;
    it->count = 0;
    for (;;) {
        rc = fetch_page(s, it, after, &rows);
        if (rc != TEMPER_OK) {
            break;
        }
        for (size_t i = 0; i < rows.n && rc == TEMPER_OK; i++) {
            it->count++;
            rc = it->row(it->row_ctx, &rows, i);
        }
        if (rc != TEMPER_OK || rows.n < SQS_PAGE) {
            break;
        }
        sqlite3_value_free(after);
        after = sqlite3_value_dup(rows.v[(rows.n - 1) * (size_t)rows.ncol]);
        sqs_rows_cleanup(&rows);
        if (!after) {
            rc = temper_fail(s->st, TEMPER_ENOMEM, "%s: %s: out of memory", s->path,
                             it->what);
            break;
        }
    }
    sqs_rows_cleanup(&rows);
    sqlite3_value_free(after);
    return rc;
}

int sqs_list(void *sv, bool has_fn, struct sqs_iter *it)
{
    struct sqs_state *s = sv;
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (!has_fn) {
        return sqs_einval(s, it->what, "no callback");
    }
    return sqs_iterate(s, it);
}

int sqs_bind_ll(sqlite3_stmt *stmt, const void *ctx)
{
    return sqlite3_bind_int64(stmt, 1, *(const long long *)ctx);
}

int sqs_bind_mask(sqlite3_stmt *stmt, const void *ctx)
{
    return sqlite3_bind_int64(stmt, 1, (long long)*(const unsigned *)ctx);
}

/* ---- records and values ------------------------------------------------ */

int sqs_einval(struct sqs_state *s, const char *what, const char *why)
{
    return temper_fail(s->st, TEMPER_EINVAL, "%s: %s: %s", s->path, what, why);
}

int sqs_copy_in(struct sqs_state *s, void *dst, size_t dst_size, const void *src,
                const char *what)
{
    uint32_t size;
    memset(dst, 0, dst_size);
    if (!src) {
        return temper_fail(s->st, TEMPER_EINVAL, "%s: %s: no record", s->path, what);
    }
    memcpy(&size, src, sizeof size);
    if (size <= sizeof(uint32_t)) {
        return temper_fail(s->st, TEMPER_EINVAL,
                           "%s: %s: record size %u is too small (set .size = sizeof)",
                           s->path, what, (unsigned)size);
    }
    memcpy(dst, src, size < dst_size ? size : dst_size);
    size = (uint32_t)dst_size;
    memcpy(dst, &size, sizeof size);
    return TEMPER_OK;
}

static const char sql_json_array[] =
    "SELECT json_valid(?1), CASE WHEN json_valid(?1) THEN"
    " CASE json_type(?1) WHEN 'array' THEN json(?1) ELSE json_array(json(?1)) END END";

int sqs_json_array(struct sqs_state *s, const char *json, const char *what, char **out)
{
    *out = NULL;
    if (!json) {
        json = "[]";
    }
    if (strlen(json) > SQS_MAX_JSON) {
        return temper_fail(s->st, TEMPER_ELIMIT, "%s: %s: JSON is larger than %d bytes",
                           s->path, what, SQS_MAX_JSON);
    }
    sqlite3_stmt *stmt = NULL;
    int rc = sqs_stmt(s, sql_json_array, &stmt);
    if (rc != TEMPER_OK) {
        return rc;
    }
    int src = sqs_bind(stmt, "t", json);
    if (src == SQLITE_OK) {
        src = sqlite3_step(stmt);
    }
    if (src != SQLITE_ROW) {
        rc = sqs_fail(s, src, what);
    } else if (!sqlite3_column_int(stmt, 0)) {
        rc = temper_fail(s->st, TEMPER_EINVAL, "%s: %s: not valid JSON", s->path, what);
    } else {
        const char *t = (const char *)sqlite3_column_text(stmt, 1);
        *out = t ? strdup(t) : NULL;
        rc = *out ? TEMPER_OK
                  : temper_fail(s->st, TEMPER_ENOMEM, "%s: %s: out of memory", s->path,
                                what);
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc;
}

char *sqs_strdup(const char *v, bool *fail)
{
    if (!v) {
        return NULL;
    }
    char *d = strdup(v);
    if (!d) {
        *fail = true;
    }
    return d;
}

/* temper — store_sqlite internals shared by the plugin's files (not installed).
 *
 * Everything here has hidden visibility and the sqs_ prefix: the module
 * exports only store_sqlite_LTX_temper_plugin, and the prefix keeps the names
 * apart from other plugins when all of them are linked into one static
 * `temper`.
 *
 * Conventions of every operation:
 *  - one transaction per operation (BEGIN IMMEDIATE for writes, so a writer
 *    waits for the lock up to busy_timeout instead of failing half-way);
 *  - values are always bound to prepared statements, never formatted into SQL;
 *  - list operations read one page of rows (SQS_PAGE), finish the statement
 *    and only then call the callback, so a callback may call the store again
 *    and no read transaction is held while user code runs (images_with_package
 *    does the same with its own, larger pages: sqlite_affected.c). */
#ifndef TEMPER_STORE_SQLITE_INT_H
#define TEMPER_STORE_SQLITE_INT_H

#include <temper/store.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include "sqlite_sql.h"

#pragma GCC visibility push(hidden)

#define SQS_SCHEMA_VERSION 3          /* newest schema this plugin knows */
#define SQS_APPLICATION_ID 1414548818 /* 'TMPR' in PRAGMA application_id */
#define SQS_CACHE_MAX 96              /* prepared statements kept open */
#define SQS_PAGE 128                  /* rows read per page by list ops */
#define SQS_MAX_TEXT (16 * 1024 * 1024) /* SQLITE_LIMIT_LENGTH: any value */
#define SQS_MAX_JSON (1024 * 1024)    /* a change list or findings array */
#define SQS_MAX_CHANGES 1000          /* entries kept in a merged change list */
#define SQS_MAX_PACKAGES 500000       /* packages of one build */

struct sqs_slot {
    const char *sql; /* identity: the address of a static SQL text */
    sqlite3_stmt *stmt;
};

struct sqs_state {
    sqlite3 *db;
    char *path;
    struct temper_stage *st;
    int max_attempts;          /* for jobs enqueued with max_attempts <= 0 */
    struct sqs_slot cache[SQS_CACHE_MAX];
    size_t n_cache;
};

/* ---- sqlite_db.c: errors, statements, transactions, pages -------------- */

/* enum temper_rc for an (extended) SQLite result code. */
int sqs_rc(int src);
/* Record "<file>: <what>: <sqlite3_errmsg>" and return the mapped rc. */
int sqs_fail(struct sqs_state *s, int src, const char *what);
/* The cached statement for `sql` (a static text), reset with no bindings. */
int sqs_stmt(struct sqs_state *s, const char *sql, sqlite3_stmt **out);
/* Bind parameters 1.. from `fmt`: 't' const char * (NULL binds NULL),
 * 'l' long long, 'd' int.  Returns an SQLite result code. */
int sqs_bind(sqlite3_stmt *stmt, const char *fmt, ...);
/* The same from parameter `first` on. */
int sqs_bindv(sqlite3_stmt *stmt, int first, const char *fmt, va_list ap);
/* Step to the end; TEMPER_OK or the recorded failure. */
int sqs_exec(struct sqs_state *s, sqlite3_stmt *stmt, const char *what);
/* Step once: column 0 of the first row as an integer into *out;
 * TEMPER_ENOTFOUND (not recorded) when there is no row. */
int sqs_one_int(struct sqs_state *s, sqlite3_stmt *stmt, long long *out,
                const char *what);
/* Prepare `sql`, bind `fmt` and run it to the end in one call. */
int sqs_run(struct sqs_state *s, const char *sql, const char *what, const char *fmt, ...);

int sqs_begin(struct sqs_state *s, const char *what);
/* Commit when rc is TEMPER_OK, else roll back; returns the final rc. */
int sqs_end(struct sqs_state *s, int rc, const char *what);

/* Rows copied out of a statement (sqlite3_value_dup), valid until cleanup. */
struct sqs_rows {
    size_t n, cap;
    int ncol;
    sqlite3_value **v;
};

/* Step `stmt` (bound) to the end copying every row, then reset it and clear
 * its bindings.  *r is filled on success. */
int sqs_rows_fetch(struct sqs_state *s, sqlite3_stmt *stmt, struct sqs_rows *r,
                   const char *what);
void sqs_rows_cleanup(struct sqs_rows *r);
/* Text of a cell, NULL for SQL NULL. */
const char *sqs_text(const struct sqs_rows *r, size_t row, int col);
long long sqs_int(const struct sqs_rows *r, size_t row, int col);

typedef int (*sqs_bind_fn)(sqlite3_stmt *stmt, const void *ctx);
typedef int (*sqs_row_fn)(void *ctx, const struct sqs_rows *r, size_t row);

/* A paged listing.  `sql` selects the page key in column 0 (unique, in
 * ascending ORDER BY), takes `:after` (exclusive lower bound) and `:limit`,
 * and its own parameters bound by bind(). row() gets every row; a non-zero
 * return stops the listing and is returned. */
struct sqs_iter {
    const char *sql;
    const char *what;
    bool text_key;
    sqs_bind_fn bind;
    const void *bind_ctx;
    sqs_row_fn row;
    void *row_ctx;
    size_t count; /* rows delivered */
};

int sqs_iterate(struct sqs_state *s, struct sqs_iter *it);
/* A list operation's entry: TEMPER_EINVAL without a store or a callback
 * (has_fn false), else sqs_iterate(). */
int sqs_list(void *sv, bool has_fn, struct sqs_iter *it);
/* Binders for sqs_iter: ?1 = *(const long long *)ctx, or the state mask
 * *(const unsigned *)ctx. */
int sqs_bind_ll(sqlite3_stmt *stmt, const void *ctx);
int sqs_bind_mask(sqlite3_stmt *stmt, const void *ctx);

/* Record "<file>: <what>: <why>" as TEMPER_EINVAL. */
int sqs_einval(struct sqs_state *s, const char *what, const char *why);
/* Copy a caller's sized record into a zeroed local of dst_size bytes: fields
 * past the caller's `size` read as absent.  TEMPER_EINVAL for a bad size. */
int sqs_copy_in(struct sqs_state *s, void *dst, size_t dst_size, const void *src,
                const char *what);
/* Validate JSON text and normalise it to an array (a non-array value is
 * wrapped; NULL gives "[]").  *out is a new string (free()). */
int sqs_json_array(struct sqs_state *s, const char *json, const char *what, char **out);
/* strdup that keeps NULL; *fail set on allocation failure. */
char *sqs_strdup(const char *v, bool *fail);

/* ---- sqlite_schema.c --------------------------------------------------- */

/* Check the file is a temper store and apply every missing migration, each in
 * its own transaction.  Refuses a newer schema. */
int sqs_schema_migrate(struct sqs_state *s);

/* ---- the operations (store_sqlite.c, sqlite_queue.c, sqlite_images.c,
 * sqlite_affected.c, sqlite_runs.c) --------------------------------------------------------- */

int sqs_image_put(void *sv, const struct temper_image_record *img);
int sqs_image_get(void *sv, const char *name, temper_image_fn fn, void *ctx);
int sqs_build_record(void *sv, const struct temper_build_record *b,
                     const struct temper_package *pkgs, size_t n_pkgs);
int sqs_images_with_package(void *sv, const char *package, const char *distribution,
                            long long now, temper_image_fn fn, void *ctx);
int sqs_build_packages(void *sv, const char *image, const char *variant,
                       int (*fn)(void *ctx, const struct temper_package *p), void *ctx);

int sqs_job_enqueue(void *sv, const struct temper_job *job, long long *id, bool *merged);
int sqs_job_claim(void *sv, const char *worker, long long now, long long lease_ms,
                  struct temper_job *out);
int sqs_job_heartbeat(void *sv, long long id, const char *worker, long long now,
                      long long lease_ms);
int sqs_job_complete(void *sv, long long id, const char *worker);
int sqs_job_fail(void *sv, long long id, const char *worker, const char *error,
                 long long now, long long retry_ms);
int sqs_job_park(void *sv, long long id, const char *worker);
int sqs_job_release(void *sv, long long id, long long now);
int sqs_job_list(void *sv, unsigned states, temper_job_fn fn, void *ctx);

int sqs_run_begin(void *sv, const struct temper_run_record *r, long long *run_id);
int sqs_run_stage(void *sv, const struct temper_stage_record *sr);
int sqs_run_finish(void *sv, long long run_id, int status, const char *error,
                   long long finished_at);
int sqs_run_list(void *sv, long long job_id, temper_run_fn fn, void *ctx);
int sqs_run_stages(void *sv, long long run_id, temper_stage_rec_fn fn, void *ctx);

int sqs_review_add(void *sv, const struct temper_review *r, long long *id);
int sqs_review_list(void *sv, unsigned states, temper_review_fn fn, void *ctx);
int sqs_review_get(void *sv, long long id, temper_review_fn fn, void *ctx);
int sqs_review_decide(void *sv, long long id, enum temper_review_state decision,
                      const char *actor, const char *comment, long long at);

int sqs_audit_append(void *sv, const struct temper_audit *a);
int sqs_audit_list(void *sv, long long since_id, temper_audit_fn fn, void *ctx);

#pragma GCC visibility pop

#endif

/* temper — store_postgres internals shared by the plugin's files (not
 * installed).
 *
 * Everything here has hidden visibility and the pgs_ prefix: the module
 * exports only store_postgres_LTX_temper_plugin, and the prefix keeps the
 * names apart from other plugins when all of them are linked into one static
 * `temper`.
 *
 * Conventions of every operation:
 *  - one transaction per operation, run through pgs_tx(): a lost connection
 *    (server restarted, network cut) is re-established once and the whole
 *    transaction re-run when that is safe: always when the COMMIT was not
 *    sent yet (the server rolled the transaction back), also after the
 *    COMMIT for operations marked PGS_IDEMPOTENT;
 *  - values are always sent as parameters (PQexecParams), never formatted
 *    into SQL; only the static schema text goes through PQexec;
 *  - every result read is bounded: list operations read one page of rows
 *    (PGS_PAGE) with LIMIT, clear nothing until the callbacks ran, and run
 *    no transaction while user code runs, so a callback may call the store
 *    again.
 *  - errors of the server are kept (pgs_exec) and recorded once by pgs_tx
 *    with the redacted store name, never the connection string. */
#ifndef TEMPER_STORE_POSTGRES_INT_H
#define TEMPER_STORE_POSTGRES_INT_H

#include <temper/store.h>
#include <temper/buf.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#pragma GCC visibility push(hidden)

#define PGS_SCHEMA_VERSION 2            /* newest schema this plugin knows */
#define PGS_LOCK_KEY 0x74656d706572LL   /* 'temper': pg_advisory_xact_lock key */
#define PGS_DEDUP_LOCK 0x746d7072       /* namespace of per-dedup_key locks */
#define PGS_PAGE 128                    /* rows read per page by list ops */
#define PGS_MAX_ROWS 1024               /* any single result */
#define PGS_MAX_JSON (1024 * 1024)      /* a change list or findings array */
#define PGS_MAX_CHANGES 1000            /* entries kept in a merged change list */
#define PGS_MAX_PACKAGES 500000         /* packages of one build */
#define PGS_MAX_PARAMS 16
#define PGS_ERR_MAX 512

struct pgs_state {
    PGconn *conn;
    char *name;                /* "postgresql://user@host:port/db", no password */
    struct temper_stage *st;
    char **kw, **val;          /* connection parameters, NULL-terminated */
    long long connect_timeout; /* ms: how long a reconnect may keep trying */
    long long statement_timeout;
    int max_attempts;          /* for jobs enqueued with max_attempts <= 0 */
    /* the last server error, recorded by pgs_tx() */
    bool err_pending;
    bool lost;                 /* the connection broke (or a deadlock: retry) */
    bool commit_sent;
    bool retrying;             /* pgs_tx() runs the body a second time */
    int err_rc;
    char err[PGS_ERR_MAX];
};

/* Parameters of one statement, all sent as text ($1 = v[0]). */
struct pgs_params {
    int n;
    const char *v[PGS_MAX_PARAMS];
    char num[PGS_MAX_PARAMS][24];
};

void pgs_p_text(struct pgs_params *p, const char *t);
void pgs_p_ll(struct pgs_params *p, long long v);

/* ---- pg_conn.c: options, connection parameters, (re)connecting --------- */

struct pg_conf {
    char *location;
    char *conninfo;
    char *conninfo_file;
    long long connect_timeout;
    int sslmode;
    char *sslrootcert;
    long long statement_timeout;
    long long max_attempts_default;
};

extern const struct temper_option pgs_options[];

/* Build the connection parameters from conf (TLS policy, secrets
 * registered for redaction, s->name) and connect. */
int pgs_connect(struct pgs_state *s, const struct pg_conf *conf);
/* Re-establish a broken connection, trying for up to connect_timeout.
 * TEMPER_OK or TEMPER_ENET (kept in s->err, not recorded). */
int pgs_reconnect(struct pgs_state *s);

/* ---- pg_db.c: statements, transactions, pages, values ------------------ */

/* Run `sql` with parameters p (NULL = none).  With out, *out gets the
 * result (at most PGS_MAX_ROWS rows, else TEMPER_ELIMIT); free it with
 * PQclear().  A server error is kept in s (err_pending) for pgs_tx(). */
int pgs_exec(struct pgs_state *s, const char *sql, const struct pgs_params *p,
             PGresult **out);
/* Keep the error of a failed result (NULL: the connection's) for pgs_tx;
 * returns its rc. */
int pgs_result_error(struct pgs_state *s, const PGresult *res);
/* As pgs_exec; column 0 of the first row as an integer into *v;
 * TEMPER_ENOTFOUND (not recorded) when there is no row. */
int pgs_one_ll(struct pgs_state *s, const char *sql, const struct pgs_params *p,
               long long *v);

typedef int (*pgs_tx_fn)(struct pgs_state *s, void *ctx);
#define PGS_IDEMPOTENT 1u /* safe to re-run even after a lost COMMIT */
#define PGS_NO_TX 2u      /* one idempotent statement: no BEGIN/COMMIT */

/* Run fn inside BEGIN .. COMMIT (ROLLBACK when it fails), reconnecting
 * and re-running once as described above.  Records a kept server error as
 * "<name>: <what>: <message>"; errors fn recorded itself pass through. */
int pgs_tx(struct pgs_state *s, const char *what, unsigned flags, pgs_tx_fn fn, void *ctx);
/* One statement as its own transaction: pgs_tx around pgs_exec (without
 * BEGIN/COMMIT when flags has PGS_IDEMPOTENT). */
int pgs_run(struct pgs_state *s, const char *what, unsigned flags, const char *sql,
            const struct pgs_params *p);

/* Cell text, NULL for SQL NULL. */
const char *pgs_text(const PGresult *r, int row, int col);
long long pgs_ll(const PGresult *r, int row, int col);

typedef int (*pgs_row_fn)(void *ctx, const PGresult *r, int row);

/* A paged listing.  `sql` selects the page key in column 0 (unique, in
 * ascending ORDER BY), takes its own parameters $1..$n from `params`, then
 * $n+1 = after (exclusive lower bound) and $n+2 = limit.  row() gets every
 * row; a non-zero return stops the listing and is returned. */
struct pgs_iter {
    const char *sql;
    const char *what;
    bool text_key;
    struct pgs_params params;
    pgs_row_fn row;
    void *row_ctx;
    size_t count; /* rows delivered */
    int page;     /* rows per page, 0 = PGS_PAGE; at most PGS_MAX_ROWS */
};

int pgs_iterate(struct pgs_state *s, struct pgs_iter *it);
/* A list operation's entry: TEMPER_EINVAL without a store or a callback. */
int pgs_list(void *sv, bool has_fn, struct pgs_iter *it);

/* Record "<name>: <what>: <why>" as TEMPER_EINVAL. */
int pgs_einval(struct pgs_state *s, const char *what, const char *why);
/* Copy a caller's sized record into a zeroed local of dst_size bytes. */
int pgs_copy_in(struct pgs_state *s, void *dst, size_t dst_size, const void *src,
                const char *what);
/* JSON text, size-checked; NULL gives "[]". */
int pgs_json_in(struct pgs_state *s, const char *json, const char *what, const char **out);
char *pgs_strdup(const char *v, bool *fail);

/* ---- pg_schema.c ------------------------------------------------------- */

/* Apply every missing migration in one transaction under an advisory lock.
 * Refuses a newer schema. */
int pgs_schema_migrate(struct pgs_state *s);

/* ---- the operations ---------------------------------------------------- */

int pgs_image_put(void *sv, const struct temper_image_record *img);
int pgs_image_get(void *sv, const char *name, temper_image_fn fn, void *ctx);
int pgs_build_record(void *sv, const struct temper_build_record *b,
                     const struct temper_package *pkgs, size_t n_pkgs);
int pgs_images_with_package(void *sv, const char *package, const char *distribution,
                            long long now, temper_image_fn fn, void *ctx);
int pgs_build_packages(void *sv, const char *image, const char *variant,
                       int (*fn)(void *ctx, const struct temper_package *p), void *ctx);

int pgs_job_enqueue(void *sv, const struct temper_job *job, long long *id, bool *merged);
int pgs_job_claim(void *sv, const char *worker, long long now, long long lease_ms,
                  struct temper_job *out);
int pgs_job_heartbeat(void *sv, long long id, const char *worker, long long now,
                      long long lease_ms);
int pgs_job_complete(void *sv, long long id, const char *worker);
int pgs_job_fail(void *sv, long long id, const char *worker, const char *error,
                 long long now, long long retry_ms);
int pgs_job_park(void *sv, long long id, const char *worker);
int pgs_job_release(void *sv, long long id, long long now);
int pgs_job_list(void *sv, unsigned states, temper_job_fn fn, void *ctx);

int pgs_run_begin(void *sv, const struct temper_run_record *r, long long *run_id);
int pgs_run_stage(void *sv, const struct temper_stage_record *sr);
int pgs_run_finish(void *sv, long long run_id, int status, const char *error,
                   long long finished_at);
int pgs_run_list(void *sv, long long job_id, temper_run_fn fn, void *ctx);
int pgs_run_stages(void *sv, long long run_id, temper_stage_rec_fn fn, void *ctx);

int pgs_review_add(void *sv, const struct temper_review *r, long long *id);
int pgs_review_list(void *sv, unsigned states, temper_review_fn fn, void *ctx);
int pgs_review_get(void *sv, long long id, temper_review_fn fn, void *ctx);
int pgs_review_decide(void *sv, long long id, enum temper_review_state decision,
                      const char *actor, const char *comment, long long at);

int pgs_audit_append(void *sv, const struct temper_audit *a);
int pgs_audit_list(void *sv, long long since_id, temper_audit_fn fn, void *ctx);

#pragma GCC visibility pop

#endif

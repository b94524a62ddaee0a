/* temper — store_sqlite: the job queue.
 *
 * States: QUEUED -> RUNNING (claim) -> DONE (complete) | QUEUED again or
 * FAILED (fail) | PARKED (park) -> QUEUED (release).
 *
 *  - enqueue merges into the oldest QUEUED job with the same dedup_key: the
 *    change arrays are joined (newest SQS_MAX_CHANGES entries kept), the
 *    priority raised to the higher one, and a non-NULL target version
 *    replaces the queued one.  Jobs that are running, parked or finished are
 *    never merge targets.
 *  - claim counts an attempt and takes the best claimable job: QUEUED with
 *    not_before <= now, or RUNNING with an expired lease (its worker died).
 *    A RUNNING job whose lease expired after max_attempts attempts is FAILED
 *    instead of being handed out again, so a job that kills its worker cannot
 *    loop forever.
 *  - heartbeat, complete, fail and park succeed only for the holder (state
 *    RUNNING and the same worker; the lease may have expired as long as
 *    nobody re-claimed the job), else TEMPER_ESTATE (TEMPER_ENOTFOUND for an
 *    unknown id).
 *  - release puts a PARKED job back in the queue and gives back the attempt
 *    that was parked: waiting for a review is not a failure.
 *  - times are the caller's `now`: a SQLite store lives on one machine, whose
 *    processes share one wall clock.  When it steps, the holder checks above
 *    are the fence: a worker whose lease was taken over (its lease looked
 *    expired after a forward step) changes nothing any more, and the core
 *    stops its run before the publish stage (README, "Time, leases and
 *    clock jumps"; store_postgres uses the server's clock instead).
 * Every operation is one BEGIN IMMEDIATE transaction. */
#include "config.h"
#include "sqlite_store.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define JOB_COLS                                                                  \
    "id, image, variant, version, reason, change, dedup_key, priority, attempts," \
    " max_attempts, not_before, lease_until, worker, state, last_error"
#define MAX_ATTEMPTS_CAP 1000

static const char *const state_names[] = { "unknown", "queued", "running", "done",
                                           "failed", "parked" };

static const char *state_name(long long st)
{
    return st >= 1 && st <= 5 ? state_names[st] : state_names[0];
}

/* A borrowed view of row i (columns JOB_COLS). */
static void job_from_row(const struct sqs_rows *r, size_t i, struct temper_job *j)
{
    memset(j, 0, sizeof *j);
    j->size = sizeof *j;
    j->id = sqs_int(r, i, 0);
    j->image = (char *)sqs_text(r, i, 1);
    j->variant = (char *)sqs_text(r, i, 2);
    j->version = (char *)sqs_text(r, i, 3);
    j->reason = (char *)sqs_text(r, i, 4);
    j->change = (char *)sqs_text(r, i, 5);
    j->dedup_key = (char *)sqs_text(r, i, 6);
    j->priority = (int)sqs_int(r, i, 7);
    j->attempts = (int)sqs_int(r, i, 8);
    j->max_attempts = (int)sqs_int(r, i, 9);
    j->not_before = sqs_int(r, i, 10);
    j->lease_until = sqs_int(r, i, 11);
    j->worker = (char *)sqs_text(r, i, 12);
    j->state = (enum temper_job_state)sqs_int(r, i, 13);
    j->last_error = (char *)sqs_text(r, i, 14);
}

/* Deep copy of a borrowed view into *out (temper_job_cleanup() frees it). */
static int job_dup(const struct temper_job *j, struct temper_job *out)
{
    bool fail = false;
    *out = *j;
    out->image = sqs_strdup(j->image, &fail);
    out->variant = sqs_strdup(j->variant, &fail);
    out->version = sqs_strdup(j->version, &fail);
    out->reason = sqs_strdup(j->reason, &fail);
    out->change = sqs_strdup(j->change, &fail);
    out->dedup_key = sqs_strdup(j->dedup_key, &fail);
    out->worker = sqs_strdup(j->worker, &fail);
    out->last_error = sqs_strdup(j->last_error, &fail);
    if (fail) {
        temper_job_cleanup(out);
        return TEMPER_ENOMEM;
    }
    return TEMPER_OK;
}

/* ---- enqueue ----------------------------------------------------------- */

static const char sql_find_dup[] =
    "SELECT id FROM jobs WHERE state = 1 AND dedup_key = ?1 ORDER BY id LIMIT 1";
static const char sql_insert[] =
    "INSERT INTO jobs (image, variant, version, reason, change, dedup_key, priority,"
    " max_attempts, not_before, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1)";
/* JSON text of one json_each() element */
#define ELEM_JSON                                                         \
    "CASE WHEN type IN ('object', 'array') THEN value"                    \
    " WHEN type IN ('true', 'false', 'null') THEN type ELSE json_quote(value) END"
static const char sql_merge[] =
    "UPDATE jobs SET change = (SELECT json_group_array(json(v)) FROM ("
    "  SELECT v FROM (SELECT src, k, v FROM ("
    "   SELECT 0 AS src, CAST(key AS INTEGER) AS k, " ELEM_JSON " AS v"
    "    FROM json_each(jobs.change)"
    "   UNION ALL SELECT 1, CAST(key AS INTEGER), " ELEM_JSON " FROM json_each(?2))"
    "  ORDER BY src DESC, k DESC LIMIT ?3) ORDER BY src, k)),"
    " priority = max(priority, ?4), version = coalesce(?5, version)"
    " WHERE id = ?1";

static int enqueue_tx(struct sqs_state *s, const struct temper_job *j, const char *change,
                      long long *id, bool *merged)
{
    const char *what = "cannot enqueue a job";
    sqlite3_stmt *stmt = NULL;
    int rc = TEMPER_ENOTFOUND;
    if (j->dedup_key) {
        rc = sqs_stmt(s, sql_find_dup, &stmt);
        if (rc == TEMPER_OK) {
            int src = sqs_bind(stmt, "t", j->dedup_key);
            rc = src == SQLITE_OK ? sqs_one_int(s, stmt, id, what) : sqs_fail(s, src, what);
        }
    }
    if (rc == TEMPER_OK) {
        *merged = true;
        return sqs_run(s, sql_merge, what, "ltdlt", *id, change, SQS_MAX_CHANGES,
                       (long long)j->priority, j->version);
    }
    if (rc != TEMPER_ENOTFOUND) {
        return rc;
    }
    int max = j->max_attempts > 0 ? j->max_attempts : s->max_attempts;
    rc = sqs_run(s, sql_insert, what, "ttttttdll", j->image, j->variant, j->version,
                 j->reason ? j->reason : "manual", change, j->dedup_key, j->priority,
                 (long long)(max > MAX_ATTEMPTS_CAP ? MAX_ATTEMPTS_CAP : max),
                 j->not_before);
    if (rc == TEMPER_OK) {
        *id = sqlite3_last_insert_rowid(s->db);
        *merged = false;
    }
    return rc;
}

int sqs_job_enqueue(void *sv, const struct temper_job *job, long long *id, bool *merged)
{
    struct sqs_state *s = sv;
    const char *what = "cannot enqueue a job";
    struct temper_job j;
    char *change = NULL;
    long long new_id = 0;
    bool was_merged = false;
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = sqs_copy_in(s, &j, sizeof j, job, what);
    if (rc == TEMPER_OK && (!j.image || !j.image[0])) {
        rc = sqs_einval(s, what, "the job names no image");
    }
    if (rc == TEMPER_OK) {
        rc = sqs_json_array(s, j.change, what, &change);
    }
    if (rc == TEMPER_OK) {
        rc = sqs_begin(s, what);
        if (rc == TEMPER_OK) {
            rc = sqs_end(s, enqueue_tx(s, &j, change, &new_id, &was_merged), what);
        }
    }
    free(change);
    if (rc == TEMPER_OK) {
        if (id) {
            *id = new_id;
        }
        if (merged) {
            *merged = was_merged;
        }
    }
    return rc;
}

/* ---- claim ------------------------------------------------------------- */

static const char sql_expire[] =
    "UPDATE jobs SET state = 4, lease_until = 0,"
    " last_error = 'the lease of worker ' || worker || ' expired after '"
    "  || attempts || ' attempts'"
    " WHERE state = 2 AND lease_until <= ?1 AND attempts >= max_attempts";
static const char sql_pick[] =
    "SELECT id FROM jobs WHERE (state = 1 AND not_before <= ?1)"
    " OR (state = 2 AND lease_until <= ?1) ORDER BY priority DESC, id LIMIT 1";
static const char sql_take[] =
    "UPDATE jobs SET state = 2, worker = ?2, lease_until = ?3, attempts = attempts + 1"
    " WHERE id = ?1";
static const char sql_get[] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1";

static int claim_tx(struct sqs_state *s, const char *worker, long long now,
                    long long lease_until, struct temper_job *out)
{
    const char *what = "cannot claim a job";
    sqlite3_stmt *stmt = NULL;
    long long id = 0;
    int rc = sqs_run(s, sql_expire, what, "l", now);
    if (rc == TEMPER_OK) {
        rc = sqs_stmt(s, sql_pick, &stmt);
    }
    if (rc == TEMPER_OK) {
        int src = sqs_bind(stmt, "l", now);
        rc = src == SQLITE_OK ? sqs_one_int(s, stmt, &id, what) : sqs_fail(s, src, what);
    }
    if (rc == TEMPER_OK) {
        rc = sqs_run(s, sql_take, what, "ltl", id, worker, lease_until);
    }
    if (rc == TEMPER_OK) {
        rc = sqs_stmt(s, sql_get, &stmt);
    }
    struct sqs_rows rows = { 0 };
    if (rc == TEMPER_OK) {
        int src = sqs_bind(stmt, "l", id);
        rc = src == SQLITE_OK ? sqs_rows_fetch(s, stmt, &rows, what) : sqs_fail(s, src, what);
    }
    if (rc == TEMPER_OK && rows.n != 1) {
        rc = temper_fail(s->st, TEMPER_EINTERNAL, "%s: %s: job %lld vanished", s->path,
                         what, id);
    }
    if (rc == TEMPER_OK) {
        struct temper_job view;
        job_from_row(&rows, 0, &view);
        rc = job_dup(&view, out);
        if (rc != TEMPER_OK) {
            rc = temper_fail(s->st, rc, "%s: %s: out of memory", s->path, what);
        }
    }
    sqs_rows_cleanup(&rows);
    return rc;
}

int sqs_job_claim(void *sv, const char *worker, long long now, long long lease_ms,
                  struct temper_job *out)
{
    struct sqs_state *s = sv;
    const char *what = "cannot claim a job";
    if (out) {
        memset(out, 0, sizeof *out);
    }
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (!out) {
        return sqs_einval(s, what, "no job to fill");
    }
    if (!worker || !worker[0]) {
        return sqs_einval(s, what, "no worker name");
    }
    if (lease_ms <= 0 || now > LLONG_MAX - lease_ms) {
        return sqs_einval(s, what, "the lease must be positive");
    }
    int rc = sqs_begin(s, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    rc = claim_tx(s, worker, now, now + lease_ms, out);
    /* nothing to claim still commits the expiry of exhausted jobs */
    int end = sqs_end(s, rc == TEMPER_ENOTFOUND ? TEMPER_OK : rc, what);
    if (end != TEMPER_OK) {
        rc = end;
    }
    if (rc != TEMPER_OK) {
        temper_job_cleanup(out);
    }
    return rc;
}

/* ---- holder operations ------------------------------------------------- */

static const char sql_holder[] = "SELECT state, worker FROM jobs WHERE id = ?1";

/* After an update that changed no row: say why (unknown job or wrong state). */
static int conflict(struct sqs_state *s, long long id, const char *worker, const char *what)
{
    sqlite3_stmt *stmt = NULL;
    struct sqs_rows rows;
    int rc = sqs_stmt(s, sql_holder, &stmt);
    if (rc != TEMPER_OK) {
        return rc;
    }
    int src = sqs_bind(stmt, "l", id);
    rc = src == SQLITE_OK ? sqs_rows_fetch(s, stmt, &rows, what) : sqs_fail(s, src, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (rows.n == 0) {
        rc = temper_fail(s->st, TEMPER_ENOTFOUND, "%s: %s: no job %lld", s->path, what, id);
    } else if (worker && sqs_int(&rows, 0, 0) == TEMPER_JOB_RUNNING) {
        const char *holder = sqs_text(&rows, 0, 1);
        rc = temper_fail(s->st, TEMPER_ESTATE,
                         "%s: %s: job %lld is held by worker %s, not by %s", s->path, what,
                         id, holder ? holder : "(none)", worker);
    } else {
        rc = temper_fail(s->st, TEMPER_ESTATE, "%s: %s: job %lld is %s", s->path, what, id,
                         state_name(sqs_int(&rows, 0, 0)));
    }
    sqs_rows_cleanup(&rows);
    return rc;
}

/* One transaction: run `sql` with ?1 = id, ?2 = worker and `fmt` binding
 * the further parameters from ?3 on; exactly one row must change. */
static int holder_op(struct sqs_state *s, const char *sql, const char *what, long long id,
                     const char *worker, const char *fmt, ...)
{
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (!worker || !worker[0]) {
        return sqs_einval(s, what, "no worker name");
    }
    int rc = sqs_begin(s, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    sqlite3_stmt *stmt = NULL;
    rc = sqs_stmt(s, sql, &stmt);
    if (rc == TEMPER_OK) {
        va_list ap;
        va_start(ap, fmt);
        int src = sqs_bind(stmt, "lt", id, worker);
        if (src == SQLITE_OK) {
            src = sqs_bindv(stmt, 3, fmt, ap);
        }
        va_end(ap);
        rc = src == SQLITE_OK ? sqs_exec(s, stmt, what) : sqs_fail(s, src, what);
    }
    if (rc == TEMPER_OK && sqlite3_changes(s->db) != 1) {
        rc = conflict(s, id, worker, what);
    }
    return sqs_end(s, rc, what);
}

static const char sql_heartbeat[] =
    "UPDATE jobs SET lease_until = ?3 WHERE id = ?1 AND state = 2 AND worker = ?2";
static const char sql_complete[] =
    "UPDATE jobs SET state = 3, lease_until = 0, last_error = NULL"
    " WHERE id = ?1 AND state = 2 AND worker = ?2";
static const char sql_fail[] =
    "UPDATE jobs SET"
    " state = CASE WHEN attempts < max_attempts THEN 1 ELSE 4 END,"
    " not_before = CASE WHEN attempts < max_attempts THEN ?3 ELSE not_before END,"
    " worker = CASE WHEN attempts < max_attempts THEN NULL ELSE worker END,"
    " lease_until = 0, last_error = ?4"
    " WHERE id = ?1 AND state = 2 AND worker = ?2";
static const char sql_park[] =
    "UPDATE jobs SET state = 5, lease_until = 0, worker = NULL"
    " WHERE id = ?1 AND state = 2 AND worker = ?2";

int sqs_job_heartbeat(void *sv, long long id, const char *worker, long long now,
                      long long lease_ms)
{
    struct sqs_state *s = sv;
    if (s && (lease_ms <= 0 || now > LLONG_MAX - lease_ms)) {
        return sqs_einval(s, "cannot extend a lease", "the lease must be positive");
    }
    return holder_op(s, sql_heartbeat, "cannot extend a lease", id, worker, "l",
                     now + lease_ms);
}

int sqs_job_complete(void *sv, long long id, const char *worker)
{
    return holder_op(sv, sql_complete, "cannot complete a job", id, worker, "");
}

int sqs_job_fail(void *sv, long long id, const char *worker, const char *error,
                 long long now, long long retry_ms)
{
    if (retry_ms < 0) {
        retry_ms = 0;
    }
    long long not_before = now > LLONG_MAX - retry_ms ? LLONG_MAX : now + retry_ms;
    return holder_op(sv, sql_fail, "cannot fail a job", id, worker, "lt", not_before,
                     error ? error : "failed");
}

int sqs_job_park(void *sv, long long id, const char *worker)
{
    return holder_op(sv, sql_park, "cannot park a job", id, worker, "");
}

static const char sql_release[] =
    "UPDATE jobs SET state = 1, not_before = ?2, worker = NULL, lease_until = 0,"
    " attempts = max(attempts - 1, 0) WHERE id = ?1 AND state = 5";

int sqs_job_release(void *sv, long long id, long long now)
{
    struct sqs_state *s = sv;
    const char *what = "cannot release a job";
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = sqs_begin(s, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    rc = sqs_run(s, sql_release, what, "ll", id, now);
    if (rc == TEMPER_OK && sqlite3_changes(s->db) != 1) {
        rc = conflict(s, id, NULL, what);
    }
    return sqs_end(s, rc, what);
}

/* ---- list -------------------------------------------------------------- */

static const char sql_list[] =
    "SELECT " JOB_COLS " FROM jobs WHERE (?1 = 0 OR (?1 >> state) & 1)"
    " AND id > :after ORDER BY id LIMIT :limit";

struct job_list_ctx {
    temper_job_fn fn;
    void *ctx;
};

static int job_row(void *ctx, const struct sqs_rows *r, size_t i)
{
    struct job_list_ctx *c = ctx;
    struct temper_job j;
    job_from_row(r, i, &j);
    return c->fn(c->ctx, &j);
}

int sqs_job_list(void *sv, unsigned states, temper_job_fn fn, void *ctx)
{
    struct job_list_ctx c = { fn, ctx };
    struct sqs_iter it = {
        .sql = sql_list, .what = "cannot list jobs", .bind = sqs_bind_mask,
        .bind_ctx = &states, .row = job_row, .row_ctx = &c,
    };
    return sqs_list(sv, fn != NULL, &it);
}

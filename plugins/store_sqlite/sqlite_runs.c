/* temper — store_sqlite: runs, stage results, the review queue and the
 * append-only audit log.
 *
 *  - A run is RUNNING (finished_at 0) until run_finish(); stage results can
 *    be recorded (and re-recorded, by seq) only while it runs.
 *  - Times left at 0 (run start, review creation, audit entry) are filled
 *    with the stage's clock.
 *  - review_decide() decides an OPEN item only (else TEMPER_ESTATE) and, in
 *    the same transaction, appends the audit entry "review.approve" or
 *    "review.reject" (actor = decider, object = "review:<id>", detail = the
 *    comment), so a decision never exists without its audit trail.
 *  - The audit table refuses UPDATE and DELETE through triggers. */
#include "config.h"
#include "sqlite_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- runs -------------------------------------------------------------- */

static const char sql_run_insert[] =
    "INSERT INTO runs (job_id, image, variant, version, invocation_id, worker,"
    " started_at, finished_at, status, error)"
    " VALUES (nullif(?1, 0), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

int sqs_run_begin(void *sv, const struct temper_run_record *in, long long *run_id)
{
    struct sqs_state *s = sv;
    const char *what = "cannot record a run";
    struct temper_run_record r;
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = sqs_copy_in(s, &r, sizeof r, in, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (r.finished_at == 0) {
        r.status = TEMPER_RUN_RUNNING;
    }
    if (r.started_at <= 0) {
        r.started_at = temper_stage_now_ms(s->st);
    }
    rc = sqs_begin(s, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    rc = sqs_run(s, sql_run_insert, what, "ltttttlldt", r.job_id, r.image, r.variant,
                 r.version, r.invocation_id, r.worker, r.started_at, r.finished_at,
                 r.status, r.error);
    long long id = sqlite3_last_insert_rowid(s->db);
    rc = sqs_end(s, rc, what);
    if (rc == TEMPER_OK && run_id) {
        *run_id = id;
    }
    return rc;
}

static const char sql_run_state[] = "SELECT finished_at FROM runs WHERE id = ?1";
static const char sql_stage_upsert[] =
    "INSERT INTO stage_results (run_id, seq, stage, plugin, rc, verdict, error,"
    " started_at, finished_at, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    " ON CONFLICT (run_id, seq) DO UPDATE SET stage = excluded.stage,"
    " plugin = excluded.plugin, rc = excluded.rc, verdict = excluded.verdict,"
    " error = excluded.error, started_at = excluded.started_at,"
    " finished_at = excluded.finished_at, detail = excluded.detail";

/* TEMPER_OK when run `id` exists and is still running. */
static int run_open(struct sqs_state *s, long long id, const char *what)
{
    sqlite3_stmt *stmt = NULL;
    long long finished = 0;
    int rc = sqs_stmt(s, sql_run_state, &stmt);
    if (rc == TEMPER_OK) {
        int src = sqs_bind(stmt, "l", id);
        rc = src == SQLITE_OK ? sqs_one_int(s, stmt, &finished, what) : sqs_fail(s, src, what);
    }
    if (rc == TEMPER_ENOTFOUND) {
        return temper_fail(s->st, rc, "%s: %s: no run %lld", s->path, what, id);
    }
    if (rc == TEMPER_OK && finished != 0) {
        rc = temper_fail(s->st, TEMPER_ESTATE, "%s: %s: run %lld has finished", s->path,
                         what, id);
    }
    return rc;
}

int sqs_run_stage(void *sv, const struct temper_stage_record *in)
{
    struct sqs_state *s = sv;
    const char *what = "cannot record a stage result";
    struct temper_stage_record r;
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = sqs_copy_in(s, &r, sizeof r, in, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (!r.stage || !r.stage[0]) {
        return sqs_einval(s, what, "the result names no stage");
    }
    rc = sqs_begin(s, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    rc = run_open(s, r.run_id, what);
    if (rc == TEMPER_OK) {
        rc = sqs_run(s, sql_stage_upsert, what, "ldttddtllt", r.run_id, r.seq, r.stage,
                     r.plugin, r.rc, (int)r.verdict, r.error, r.started_at, r.finished_at,
                     r.detail);
    }
    return sqs_end(s, rc, what);
}

static const char sql_run_finish[] =
    "UPDATE runs SET status = ?2, error = ?3, finished_at = ?4"
    " WHERE id = ?1 AND finished_at = 0";

int sqs_run_finish(void *sv, long long run_id, int status, const char *error,
                   long long finished_at)
{
    struct sqs_state *s = sv;
    const char *what = "cannot finish a run";
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (finished_at <= 0) {
        return sqs_einval(s, what, "no finish time");
    }
    if (status == TEMPER_RUN_RUNNING) {
        return sqs_einval(s, what, "a finished run cannot have the status running");
    }
    int rc = sqs_begin(s, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    rc = run_open(s, run_id, what);
    if (rc == TEMPER_OK) {
        rc = sqs_run(s, sql_run_finish, what, "ldtl", run_id, status, error, finished_at);
    }
    return sqs_end(s, rc, what);
}

#define RUN_COLS                                                                    \
    "id, job_id, image, variant, version, invocation_id, worker, started_at,"       \
    " finished_at, status, error"
static const char sql_run_list[] =
    "SELECT " RUN_COLS " FROM runs WHERE (?1 = 0 OR job_id = ?1)"
    " AND id > :after ORDER BY id LIMIT :limit";

struct run_ctx {
    temper_run_fn fn;
    temper_stage_rec_fn stage_fn;
    void *ctx;
};

static int run_row(void *ctx, const struct sqs_rows *r, size_t i)
{
    struct run_ctx *c = ctx;
    struct temper_run_record rec = {
        .size = sizeof rec,
        .id = sqs_int(r, i, 0),
        .job_id = sqs_int(r, i, 1),
        .image = sqs_text(r, i, 2),
        .variant = sqs_text(r, i, 3),
        .version = sqs_text(r, i, 4),
        .invocation_id = sqs_text(r, i, 5),
        .worker = sqs_text(r, i, 6),
        .started_at = sqs_int(r, i, 7),
        .finished_at = sqs_int(r, i, 8),
        .status = (int)sqs_int(r, i, 9),
        .error = sqs_text(r, i, 10),
    };
    return c->fn(c->ctx, &rec);
}

int sqs_run_list(void *sv, long long job_id, temper_run_fn fn, void *ctx)
{
    struct run_ctx c = { .fn = fn, .ctx = ctx };
    struct sqs_iter it = {
        .sql = sql_run_list, .what = "cannot list runs", .bind = sqs_bind_ll,
        .bind_ctx = &job_id, .row = run_row, .row_ctx = &c,
    };
    return sqs_list(sv, fn != NULL, &it);
}

static const char sql_run_stages[] =
    "SELECT seq, run_id, stage, plugin, rc, verdict, error, started_at, finished_at,"
    " detail FROM stage_results WHERE run_id = ?1 AND seq > :after"
    " ORDER BY seq LIMIT :limit";

static int stage_row(void *ctx, const struct sqs_rows *r, size_t i)
{
    struct run_ctx *c = ctx;
    struct temper_stage_record rec = {
        .size = sizeof rec,
        .seq = (int)sqs_int(r, i, 0),
        .run_id = sqs_int(r, i, 1),
        .stage = sqs_text(r, i, 2),
        .plugin = sqs_text(r, i, 3),
        .rc = (int)sqs_int(r, i, 4),
        .verdict = (enum temper_verdict)sqs_int(r, i, 5),
        .error = sqs_text(r, i, 6),
        .started_at = sqs_int(r, i, 7),
        .finished_at = sqs_int(r, i, 8),
        .detail = sqs_text(r, i, 9),
    };
    return c->stage_fn(c->ctx, &rec);
}

int sqs_run_stages(void *sv, long long run_id, temper_stage_rec_fn fn, void *ctx)
{
    struct run_ctx c = { .stage_fn = fn, .ctx = ctx };
    struct sqs_iter it = {
        .sql = sql_run_stages, .what = "cannot list stage results", .bind = sqs_bind_ll,
        .bind_ctx = &run_id, .row = stage_row, .row_ctx = &c,
    };
    return sqs_list(sv, fn != NULL, &it);
}

/* ---- reviews ----------------------------------------------------------- */

static const char sql_review_insert[] =
    "INSERT INTO reviews (job_id, image, version, summary, findings, state, created_at)"
    " VALUES (nullif(?1, 0), ?2, ?3, ?4, ?5, 1, ?6)";

int sqs_review_add(void *sv, const struct temper_review *in, long long *id)
{
    struct sqs_state *s = sv;
    const char *what = "cannot add a review";
    struct temper_review r;
    char *findings = NULL;
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = sqs_copy_in(s, &r, sizeof r, in, what);
    if (rc == TEMPER_OK && (!r.image || !r.image[0] || !r.summary)) {
        rc = sqs_einval(s, what, "a review needs an image and a summary");
    }
    if (rc == TEMPER_OK) {
        rc = sqs_json_array(s, r.findings, what, &findings);
    }
    if (r.created_at <= 0) {
        r.created_at = temper_stage_now_ms(s->st);
    }
    if (rc == TEMPER_OK) {
        rc = sqs_begin(s, what);
        if (rc == TEMPER_OK) {
            rc = sqs_run(s, sql_review_insert, what, "lttttl", r.job_id, r.image, r.version,
                         r.summary, findings, r.created_at);
            long long new_id = sqlite3_last_insert_rowid(s->db);
            rc = sqs_end(s, rc, what);
            if (rc == TEMPER_OK && id) {
                *id = new_id;
            }
        }
    }
    free(findings);
    return rc;
}

#define REVIEW_COLS                                                                 \
    "id, job_id, image, version, summary, findings, state, decided_by, comment,"    \
    " created_at, decided_at"
static const char sql_review_list[] =
    "SELECT " REVIEW_COLS " FROM reviews WHERE (?1 = 0 OR (?1 >> state) & 1)"
    " AND id > :after ORDER BY id LIMIT :limit";
static const char sql_review_get[] =
    "SELECT " REVIEW_COLS " FROM reviews WHERE id = ?1 AND id > :after"
    " ORDER BY id LIMIT :limit";

struct review_ctx {
    temper_review_fn fn;
    void *ctx;
};

static int review_row(void *ctx, const struct sqs_rows *r, size_t i)
{
    struct review_ctx *c = ctx;
    struct temper_review rec = {
        .size = sizeof rec,
        .id = sqs_int(r, i, 0),
        .job_id = sqs_int(r, i, 1),
        .image = sqs_text(r, i, 2),
        .version = sqs_text(r, i, 3),
        .summary = sqs_text(r, i, 4),
        .findings = sqs_text(r, i, 5),
        .state = (enum temper_review_state)sqs_int(r, i, 6),
        .decided_by = sqs_text(r, i, 7),
        .comment = sqs_text(r, i, 8),
        .created_at = sqs_int(r, i, 9),
        .decided_at = sqs_int(r, i, 10),
    };
    return c->fn(c->ctx, &rec);
}

int sqs_review_list(void *sv, unsigned states, temper_review_fn fn, void *ctx)
{
    struct review_ctx c = { fn, ctx };
    struct sqs_iter it = {
        .sql = sql_review_list, .what = "cannot list reviews", .bind = sqs_bind_mask,
        .bind_ctx = &states, .row = review_row, .row_ctx = &c,
    };
    return sqs_list(sv, fn != NULL, &it);
}

/* TEMPER_ENOTFOUND (not recorded) when there is no such review. */
int sqs_review_get(void *sv, long long id, temper_review_fn fn, void *ctx)
{
    struct review_ctx c = { fn, ctx };
    struct sqs_iter it = {
        .sql = sql_review_get, .what = "cannot read a review", .bind = sqs_bind_ll,
        .bind_ctx = &id, .row = review_row, .row_ctx = &c,
    };
    int rc = sqs_list(sv, fn != NULL, &it);
    return rc == TEMPER_OK && it.count == 0 ? TEMPER_ENOTFOUND : rc;
}

static const char sql_review_decide[] =
    "UPDATE reviews SET state = ?2, decided_by = ?3, comment = ?4, decided_at = ?5"
    " WHERE id = ?1 AND state = 1";
static const char sql_review_state[] = "SELECT state FROM reviews WHERE id = ?1";
static const char sql_audit_insert[] =
    "INSERT INTO audit (at, actor, action, object, detail) VALUES (?1, ?2, ?3, ?4, ?5)";

static int decide_tx(struct sqs_state *s, long long id, enum temper_review_state decision,
                     const char *actor, const char *comment, long long at)
{
    const char *what = "cannot decide a review";
    int rc = sqs_run(s, sql_review_decide, what, "ldttl", id, (int)decision, actor,
                     comment, at);
    if (rc == TEMPER_OK && sqlite3_changes(s->db) != 1) {
        sqlite3_stmt *stmt = NULL;
        long long state = 0;
        rc = sqs_stmt(s, sql_review_state, &stmt);
        if (rc == TEMPER_OK) {
            int src = sqs_bind(stmt, "l", id);
            rc = src == SQLITE_OK ? sqs_one_int(s, stmt, &state, what) : sqs_fail(s, src, what);
        }
        if (rc == TEMPER_ENOTFOUND) {
            return temper_fail(s->st, rc, "%s: %s: no review %lld", s->path, what, id);
        }
        return rc != TEMPER_OK ? rc
                               : temper_fail(s->st, TEMPER_ESTATE,
                                             "%s: %s: review %lld was already %s", s->path,
                                             what, id,
                                             state == TEMPER_REVIEW_APPROVED ? "approved"
                                                                             : "rejected");
    }
    char object[48];
    int n = snprintf(object, sizeof object, "review:%lld", id);
    if (rc == TEMPER_OK && (n < 0 || (size_t)n >= sizeof object)) {
        rc = TEMPER_EINTERNAL;
    }
    if (rc == TEMPER_OK) {
        const char *action = decision == TEMPER_REVIEW_APPROVED ? "review.approve"
                                                                : "review.reject";
        rc = sqs_run(s, sql_audit_insert, what, "ltttt", at, actor, action, object,
                     comment);
    }
    return rc;
}

int sqs_review_decide(void *sv, long long id, enum temper_review_state decision,
                      const char *actor, const char *comment, long long at)
{
    struct sqs_state *s = sv;
    const char *what = "cannot decide a review";
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (decision != TEMPER_REVIEW_APPROVED && decision != TEMPER_REVIEW_REJECTED) {
        return sqs_einval(s, what, "the decision must be approved or rejected");
    }
    if (!actor || !actor[0]) {
        return sqs_einval(s, what, "no actor");
    }
    if (at <= 0) {
        at = temper_stage_now_ms(s->st);
    }
    int rc = sqs_begin(s, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    return sqs_end(s, decide_tx(s, id, decision, actor, comment, at), what);
}

/* ---- audit ------------------------------------------------------------- */

int sqs_audit_append(void *sv, const struct temper_audit *in)
{
    struct sqs_state *s = sv;
    const char *what = "cannot append to the audit log";
    struct temper_audit a;
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = sqs_copy_in(s, &a, sizeof a, in, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (!a.actor || !a.actor[0] || !a.action || !a.action[0]) {
        return sqs_einval(s, what, "an audit entry needs an actor and an action");
    }
    if (a.at <= 0) {
        a.at = temper_stage_now_ms(s->st);
    }
    return sqs_run(s, sql_audit_insert, what, "ltttt", a.at, a.actor, a.action, a.object,
                   a.detail);
}

static const char sql_audit_list[] =
    "SELECT id, at, actor, action, object, detail FROM audit"
    " WHERE id > max(?1, :after) ORDER BY id LIMIT :limit";

struct audit_ctx {
    temper_audit_fn fn;
    void *ctx;
};

static int audit_row(void *ctx, const struct sqs_rows *r, size_t i)
{
    struct audit_ctx *c = ctx;
    struct temper_audit rec = {
        .size = sizeof rec,
        .id = sqs_int(r, i, 0),
        .at = sqs_int(r, i, 1),
        .actor = sqs_text(r, i, 2),
        .action = sqs_text(r, i, 3),
        .object = sqs_text(r, i, 4),
        .detail = sqs_text(r, i, 5),
    };
    return c->fn(c->ctx, &rec);
}

/* Entries with id > since_id, oldest first. */
int sqs_audit_list(void *sv, long long since_id, temper_audit_fn fn, void *ctx)
{
    struct audit_ctx c = { fn, ctx };
    struct sqs_iter it = {
        .sql = sql_audit_list, .what = "cannot read the audit log", .bind = sqs_bind_ll,
        .bind_ctx = &since_id, .row = audit_row, .row_ctx = &c,
    };
    return sqs_list(sv, fn != NULL, &it);
}

/* temper — store_postgres: runs, stage results, the review queue and the
 * append-only audit log (the semantics of plugins/store_sqlite/sqlite_runs.c).
 *
 *  - A run is RUNNING (finished_at 0) until run_finish(); stage results can
 *    be recorded (and re-recorded, by seq) only while it runs: the run row
 *    is locked (FOR UPDATE) while a result is recorded or the run finished.
 *  - review_decide() decides an OPEN item only and appends its audit entry
 *    in the same transaction.
 *  - The audit table refuses UPDATE, DELETE and TRUNCATE through triggers
 *    (pg_schema.c). */
#include "config.h"
#include "pg_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- runs -------------------------------------------------------------- */

static const char sql_run_insert[] =
    "INSERT INTO runs (job_id, image, variant, version, invocation_id, worker,"
    " started_at, finished_at, status, error)"
    " VALUES (nullif($1::bigint, 0), $2, $3, $4, $5, $6, $7::bigint, $8::bigint,"
    " $9::int, $10) RETURNING id";

struct one_ctx {
    const char *sql;
    struct pgs_params p;
    long long id;
};

static int one_body(struct pgs_state *s, void *ctx)
{
    struct one_ctx *c = ctx;
    return pgs_one_ll(s, c->sql, &c->p, &c->id);
}

int pgs_run_begin(void *sv, const struct temper_run_record *in, long long *run_id)
{
    struct pgs_state *s = sv;
    const char *what = "cannot record a run";
    struct temper_run_record r;
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = pgs_copy_in(s, &r, sizeof r, in, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (r.finished_at == 0) {
        r.status = TEMPER_RUN_RUNNING;
    }
    if (r.started_at <= 0) {
        r.started_at = temper_stage_now_ms(s->st);
    }
    struct one_ctx c = { .sql = sql_run_insert };
    pgs_p_ll(&c.p, r.job_id);
    pgs_p_text(&c.p, r.image);
    pgs_p_text(&c.p, r.variant);
    pgs_p_text(&c.p, r.version);
    pgs_p_text(&c.p, r.invocation_id);
    pgs_p_text(&c.p, r.worker);
    pgs_p_ll(&c.p, r.started_at);
    pgs_p_ll(&c.p, r.finished_at);
    pgs_p_ll(&c.p, r.status);
    pgs_p_text(&c.p, r.error);
    rc = pgs_tx(s, what, 0, one_body, &c);
    if (rc == TEMPER_OK && run_id) {
        *run_id = c.id;
    }
    return rc;
}

static const char sql_run_state[] =
    "SELECT finished_at FROM runs WHERE id = $1::bigint FOR UPDATE";
static const char sql_stage_upsert[] =
    "INSERT INTO stage_results (run_id, seq, stage, plugin, rc, verdict, error,"
    " started_at, finished_at, detail) VALUES ($1::bigint, $2::int, $3, $4, $5::int,"
    " $6::int, $7, $8::bigint, $9::bigint, $10::json)"
    " ON CONFLICT (run_id, seq) DO UPDATE SET stage = excluded.stage,"
    " plugin = excluded.plugin, rc = excluded.rc, verdict = excluded.verdict,"
    " error = excluded.error, started_at = excluded.started_at,"
    " finished_at = excluded.finished_at, detail = excluded.detail";
static const char sql_run_finish[] =
    "UPDATE runs SET status = $2::int, error = $3, finished_at = $4::bigint"
    " WHERE id = $1::bigint AND finished_at = 0";

/* TEMPER_OK when run `id` exists and is still running (row locked). */
static int run_open(struct pgs_state *s, long long id, const char *what)
{
    struct pgs_params p = { 0 };
    long long finished = 0;
    pgs_p_ll(&p, id);
    int rc = pgs_one_ll(s, sql_run_state, &p, &finished);
    if (rc == TEMPER_ENOTFOUND) {
        return temper_fail(s->st, rc, "%s: %s: no run %lld", s->name, what, id);
    }
    if (rc == TEMPER_OK && finished != 0) {
        rc = temper_fail(s->st, TEMPER_ESTATE, "%s: %s: run %lld has finished", s->name, what,
                         id);
    }
    return rc;
}

struct guarded_ctx {
    const char *sql;
    const char *what;
    long long run_id;
    struct pgs_params p;
};

/* run_open, then one statement with c->p. */
static int guarded_body(struct pgs_state *s, void *ctx)
{
    struct guarded_ctx *c = ctx;
    int rc = run_open(s, c->run_id, c->what);
    return rc == TEMPER_OK ? pgs_exec(s, c->sql, &c->p, NULL) : rc;
}

int pgs_run_stage(void *sv, const struct temper_stage_record *in)
{
    struct pgs_state *s = sv;
    struct temper_stage_record r;
    if (!s) {
        return TEMPER_EINVAL;
    }
    struct guarded_ctx c = { sql_stage_upsert, "cannot record a stage result", 0, { 0 } };
    int rc = pgs_copy_in(s, &r, sizeof r, in, c.what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (!r.stage || !r.stage[0]) {
        return pgs_einval(s, c.what, "the result names no stage");
    }
    c.run_id = r.run_id;
    pgs_p_ll(&c.p, r.run_id);
    pgs_p_ll(&c.p, r.seq);
    pgs_p_text(&c.p, r.stage);
    pgs_p_text(&c.p, r.plugin);
    pgs_p_ll(&c.p, r.rc);
    pgs_p_ll(&c.p, (long long)r.verdict);
    pgs_p_text(&c.p, r.error);
    pgs_p_ll(&c.p, r.started_at);
    pgs_p_ll(&c.p, r.finished_at);
    pgs_p_text(&c.p, r.detail);
    return pgs_tx(s, c.what, PGS_IDEMPOTENT, guarded_body, &c);
}

int pgs_run_finish(void *sv, long long run_id, int status, const char *error,
                   long long finished_at)
{
    struct pgs_state *s = sv;
    struct guarded_ctx c = { sql_run_finish, "cannot finish a run", run_id, { 0 } };
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (finished_at <= 0) {
        return pgs_einval(s, c.what, "no finish time");
    }
    if (status == TEMPER_RUN_RUNNING) {
        return pgs_einval(s, c.what, "a finished run cannot have the status running");
    }
    pgs_p_ll(&c.p, run_id);
    pgs_p_ll(&c.p, status);
    pgs_p_text(&c.p, error);
    pgs_p_ll(&c.p, finished_at);
    return pgs_tx(s, c.what, 0, guarded_body, &c);
}

#define RUN_COLS                                                                    \
    "id, job_id, image, variant, version, invocation_id, worker, started_at,"       \
    " finished_at, status, error"
static const char sql_run_list[] =
    "SELECT " RUN_COLS " FROM runs WHERE ($1::bigint = 0 OR job_id = $1::bigint)"
    " AND id > $2::bigint ORDER BY id LIMIT $3::int";

struct run_ctx {
    temper_run_fn fn;
    temper_stage_rec_fn stage_fn;
    void *ctx;
};

static int run_row(void *ctx, const PGresult *r, int i)
{
    struct run_ctx *c = ctx;
    struct temper_run_record rec = {
        .size = sizeof rec,
        .id = pgs_ll(r, i, 0),
        .job_id = pgs_ll(r, i, 1),
        .image = pgs_text(r, i, 2),
        .variant = pgs_text(r, i, 3),
        .version = pgs_text(r, i, 4),
        .invocation_id = pgs_text(r, i, 5),
        .worker = pgs_text(r, i, 6),
        .started_at = pgs_ll(r, i, 7),
        .finished_at = pgs_ll(r, i, 8),
        .status = (int)pgs_ll(r, i, 9),
        .error = pgs_text(r, i, 10),
    };
    return c->fn(c->ctx, &rec);
}

int pgs_run_list(void *sv, long long job_id, temper_run_fn fn, void *ctx)
{
    struct run_ctx c = { .fn = fn, .ctx = ctx };
    struct pgs_iter it = {
        .sql = sql_run_list, .what = "cannot list runs", .row = run_row, .row_ctx = &c,
    };
    pgs_p_ll(&it.params, job_id);
    return pgs_list(sv, fn != NULL, &it);
}

static const char sql_run_stages[] =
    "SELECT seq, run_id, stage, plugin, rc, verdict, error, started_at, finished_at,"
    " detail FROM stage_results WHERE run_id = $1::bigint AND seq > $2::bigint"
    " ORDER BY seq LIMIT $3::int";

static int stage_row(void *ctx, const PGresult *r, int i)
{
    struct run_ctx *c = ctx;
    struct temper_stage_record rec = {
        .size = sizeof rec,
        .seq = (int)pgs_ll(r, i, 0),
        .run_id = pgs_ll(r, i, 1),
        .stage = pgs_text(r, i, 2),
        .plugin = pgs_text(r, i, 3),
        .rc = (int)pgs_ll(r, i, 4),
        .verdict = (enum temper_verdict)pgs_ll(r, i, 5),
        .error = pgs_text(r, i, 6),
        .started_at = pgs_ll(r, i, 7),
        .finished_at = pgs_ll(r, i, 8),
        .detail = pgs_text(r, i, 9),
    };
    return c->stage_fn(c->ctx, &rec);
}

int pgs_run_stages(void *sv, long long run_id, temper_stage_rec_fn fn, void *ctx)
{
    struct run_ctx c = { .stage_fn = fn, .ctx = ctx };
    struct pgs_iter it = {
        .sql = sql_run_stages, .what = "cannot list stage results", .row = stage_row,
        .row_ctx = &c,
    };
    pgs_p_ll(&it.params, run_id);
    return pgs_list(sv, fn != NULL, &it);
}

/* ---- reviews ----------------------------------------------------------- */

/* findings as a JSON array: validated by the cast, a non-array wrapped */
static const char sql_review_insert[] =
    "INSERT INTO reviews (job_id, image, version, summary, findings, state, created_at)"
    " VALUES (nullif($1::bigint, 0), $2, $3, $4,"
    " CASE json_typeof($5::json) WHEN 'array' THEN $5::json"
    "  ELSE ('[' || $5 || ']')::json END, 1, $6::bigint) RETURNING id";

int pgs_review_add(void *sv, const struct temper_review *in, long long *id)
{
    struct pgs_state *s = sv;
    const char *what = "cannot add a review";
    struct temper_review r;
    const char *findings = NULL;
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = pgs_copy_in(s, &r, sizeof r, in, what);
    if (rc == TEMPER_OK && (!r.image || !r.image[0] || !r.summary)) {
        rc = pgs_einval(s, what, "a review needs an image and a summary");
    }
    if (rc == TEMPER_OK) {
        rc = pgs_json_in(s, r.findings, what, &findings);
    }
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (r.created_at <= 0) {
        r.created_at = temper_stage_now_ms(s->st);
    }
    struct one_ctx c = { .sql = sql_review_insert };
    pgs_p_ll(&c.p, r.job_id);
    pgs_p_text(&c.p, r.image);
    pgs_p_text(&c.p, r.version);
    pgs_p_text(&c.p, r.summary);
    pgs_p_text(&c.p, findings);
    pgs_p_ll(&c.p, r.created_at);
    rc = pgs_tx(s, what, 0, one_body, &c);
    if (rc == TEMPER_OK && id) {
        *id = c.id;
    }
    return rc;
}

#define REVIEW_COLS                                                                 \
    "id, job_id, image, version, summary, findings, state, decided_by, comment,"    \
    " created_at, decided_at"
static const char sql_review_list[] =
    "SELECT " REVIEW_COLS " FROM reviews"
    " WHERE ($1::bigint = 0 OR (($1::bigint >> state) & 1) = 1)"
    " AND id > $2::bigint ORDER BY id LIMIT $3::int";
static const char sql_review_get[] =
    "SELECT " REVIEW_COLS " FROM reviews WHERE id = $1::bigint AND id > $2::bigint"
    " ORDER BY id LIMIT $3::int";

struct review_ctx {
    temper_review_fn fn;
    void *ctx;
};

static int review_row(void *ctx, const PGresult *r, int i)
{
    struct review_ctx *c = ctx;
    struct temper_review rec = {
        .size = sizeof rec,
        .id = pgs_ll(r, i, 0),
        .job_id = pgs_ll(r, i, 1),
        .image = pgs_text(r, i, 2),
        .version = pgs_text(r, i, 3),
        .summary = pgs_text(r, i, 4),
        .findings = pgs_text(r, i, 5),
        .state = (enum temper_review_state)pgs_ll(r, i, 6),
        .decided_by = pgs_text(r, i, 7),
        .comment = pgs_text(r, i, 8),
        .created_at = pgs_ll(r, i, 9),
        .decided_at = pgs_ll(r, i, 10),
    };
    return c->fn(c->ctx, &rec);
}

int pgs_review_list(void *sv, unsigned states, temper_review_fn fn, void *ctx)
{
    struct review_ctx c = { fn, ctx };
    struct pgs_iter it = {
        .sql = sql_review_list, .what = "cannot list reviews", .row = review_row,
        .row_ctx = &c,
    };
    pgs_p_ll(&it.params, (long long)states);
    return pgs_list(sv, fn != NULL, &it);
}

/* TEMPER_ENOTFOUND (not recorded) when there is no such review. */
int pgs_review_get(void *sv, long long id, temper_review_fn fn, void *ctx)
{
    struct review_ctx c = { fn, ctx };
    struct pgs_iter it = {
        .sql = sql_review_get, .what = "cannot read a review", .row = review_row,
        .row_ctx = &c,
    };
    pgs_p_ll(&it.params, id);
    int rc = pgs_list(sv, fn != NULL, &it);
    return rc == TEMPER_OK && it.count == 0 ? TEMPER_ENOTFOUND : rc;
}

static const char sql_review_decide[] =
    "UPDATE reviews SET state = $2::int, decided_by = $3, comment = $4,"
    " decided_at = $5::bigint WHERE id = $1::bigint AND state = 1 RETURNING id";
static const char sql_review_state[] = "SELECT state FROM reviews WHERE id = $1::bigint";
static const char sql_audit_insert[] =
    "INSERT INTO audit (at, actor, action, object, detail)"
    " VALUES ($1::bigint, $2, $3, $4, $5)";

struct decide_ctx {
    long long id;
    enum temper_review_state decision;
    const char *actor, *comment;
    long long at;
};

static int decided_already(struct pgs_state *s, long long id, const char *what)
{
    struct pgs_params p = { 0 };
    long long state = 0;
    pgs_p_ll(&p, id);
    int rc = pgs_one_ll(s, sql_review_state, &p, &state);
    if (rc == TEMPER_ENOTFOUND) {
        return temper_fail(s->st, rc, "%s: %s: no review %lld", s->name, what, id);
    }
    if (rc != TEMPER_OK) {
        return rc;
    }
    return temper_fail(s->st, TEMPER_ESTATE, "%s: %s: review %lld was already %s", s->name,
                       what, id, state == TEMPER_REVIEW_APPROVED ? "approved" : "rejected");
}

static int decide_body(struct pgs_state *s, void *ctx)
{
    const char *what = "cannot decide a review";
    struct decide_ctx *c = ctx;
    struct pgs_params p = { 0 };
    PGresult *res = NULL;
    pgs_p_ll(&p, c->id);
    pgs_p_ll(&p, (long long)c->decision);
    pgs_p_text(&p, c->actor);
    pgs_p_text(&p, c->comment);
    pgs_p_ll(&p, c->at);
    int rc = pgs_exec(s, sql_review_decide, &p, &res);
    int n = rc == TEMPER_OK ? PQntuples(res) : 0;
    PQclear(res);
    if (rc == TEMPER_OK && n != 1) {
        return decided_already(s, c->id, what);
    }
    char object[48];
    snprintf(object, sizeof object, "review:%lld", c->id);
    memset(&p, 0, sizeof p);
    pgs_p_ll(&p, c->at);
    pgs_p_text(&p, c->actor);
    pgs_p_text(&p, c->decision == TEMPER_REVIEW_APPROVED ? "review.approve"
                                                         : "review.reject");
    pgs_p_text(&p, object);
    pgs_p_text(&p, c->comment);
    return rc == TEMPER_OK ? pgs_exec(s, sql_audit_insert, &p, NULL) : rc;
}

int pgs_review_decide(void *sv, long long id, enum temper_review_state decision,
                      const char *actor, const char *comment, long long at)
{
    struct pgs_state *s = sv;
    const char *what = "cannot decide a review";
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (decision != TEMPER_REVIEW_APPROVED && decision != TEMPER_REVIEW_REJECTED) {
        return pgs_einval(s, what, "the decision must be approved or rejected");
    }
    if (!actor || !actor[0]) {
        return pgs_einval(s, what, "no actor");
    }
    struct decide_ctx c = { id, decision, actor, comment,
                            at > 0 ? at : temper_stage_now_ms(s->st) };
    return pgs_tx(s, what, 0, decide_body, &c);
}

/* ---- audit ------------------------------------------------------------- */

int pgs_audit_append(void *sv, const struct temper_audit *in)
{
    struct pgs_state *s = sv;
    const char *what = "cannot append to the audit log";
    struct temper_audit a;
    struct pgs_params p = { 0 };
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = pgs_copy_in(s, &a, sizeof a, in, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (!a.actor || !a.actor[0] || !a.action || !a.action[0]) {
        return pgs_einval(s, what, "an audit entry needs an actor and an action");
    }
    pgs_p_ll(&p, a.at > 0 ? a.at : temper_stage_now_ms(s->st));
    pgs_p_text(&p, a.actor);
    pgs_p_text(&p, a.action);
    pgs_p_text(&p, a.object);
    pgs_p_text(&p, a.detail);
    return pgs_run(s, what, 0, sql_audit_insert, &p);
}

static const char sql_audit_list[] =
    "SELECT id, at, actor, action, object, detail FROM audit"
    " WHERE id > greatest($1::bigint, $2::bigint) ORDER BY id LIMIT $3::int";

struct audit_ctx {
    temper_audit_fn fn;
    void *ctx;
};

static int audit_row(void *ctx, const PGresult *r, int i)
{
    struct audit_ctx *c = ctx;
    struct temper_audit rec = {
        .size = sizeof rec,
        .id = pgs_ll(r, i, 0),
        .at = pgs_ll(r, i, 1),
        .actor = pgs_text(r, i, 2),
        .action = pgs_text(r, i, 3),
        .object = pgs_text(r, i, 4),
        .detail = pgs_text(r, i, 5),
    };
    return c->fn(c->ctx, &rec);
}

/* Entries with id > since_id, oldest first. */
int pgs_audit_list(void *sv, long long since_id, temper_audit_fn fn, void *ctx)
{
    struct audit_ctx c = { fn, ctx };
    struct pgs_iter it = {
        .sql = sql_audit_list, .what = "cannot read the audit log", .row = audit_row,
        .row_ctx = &c,
    };
    pgs_p_ll(&it.params, since_id);
    return pgs_list(sv, fn != NULL, &it);
}

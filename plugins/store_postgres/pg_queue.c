/* temper — store_postgres: the job queue, the semantics of store_sqlite's
 * (see plugins/store_sqlite/sqlite_queue.c) for many concurrent workers.
 *
 *  - enqueue takes a transaction-scoped advisory lock on the dedup_key, so
 *    concurrent enqueues with one key (any machine) serialise, then merges
 *    into the oldest QUEUED job with that key (SELECT ... FOR UPDATE) or
 *    inserts.
 *  - claim is one transaction: exhausted expired leases become FAILED, then
 *    one UPDATE takes the best claimable row picked by a sub-select with
 *    FOR UPDATE SKIP LOCKED (workers never wait on each other's pick nor
 *    take the same row) and sets the lease in the same statement.  Re-run
 *    after a COMMIT whose reply was lost, it first looks for the job that
 *    commit leased (same worker, same lease_until) and returns that one, so
 *    a lost reply never strands a job until its lease expires.
 *  - heartbeat, complete, fail and park change a row only for its holder
 *    (state RUNNING and the same worker), else TEMPER_ESTATE.  heartbeat and
 *    complete are idempotent, so they are retried even after a COMMIT whose
 *    reply was lost: a re-run complete accepts a job it already completed.
 *  - the lease is on the server's clock: claim and heartbeat ignore the
 *    caller's `now` and set/compare lease_until with the server's
 *    clock_timestamp(), and a failed attempt's retry time is the server's
 *    now + retry_ms, so workers whose clocks disagree (skew, an NTP step on
 *    one machine) still agree on whose lease expired.  Only when TEMPER_NOW
 *    pins the caller's clock (tests, see temper_stage_now_ms) does the
 *    caller's `now` count, as in store_sqlite.  The holder checks (state
 *    RUNNING and the same worker) are what fences a worker that lost its
 *    lease: its heartbeat, complete, fail and park change nothing. */
#include "config.h"
#include "pg_store.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define JOB_COLS                                                                  \
    "id, image, variant, version, reason, change, dedup_key, priority, attempts," \
    " max_attempts, not_before, lease_until, worker, state, last_error"
#define MAX_ATTEMPTS_CAP 1000
#define SRV_NOW "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
#define MAX_SPAN_MS 1000000000000000LL /* ~31700 years: no bigint overflow */

static const char *const state_names[] = { "unknown", "queued", "running", "done",
                                           "failed", "parked" };

static const char *state_name(long long st)
{
    return st >= 1 && st <= 5 ? state_names[st] : state_names[0];
}

static void job_from_row(const PGresult *r, int i, struct temper_job *j)
{
    memset(j, 0, sizeof *j);
    j->size = sizeof *j;
    j->id = pgs_ll(r, i, 0);
    j->image = (char *)pgs_text(r, i, 1);
    j->variant = (char *)pgs_text(r, i, 2);
    j->version = (char *)pgs_text(r, i, 3);
    j->reason = (char *)pgs_text(r, i, 4);
    j->change = (char *)pgs_text(r, i, 5);
    j->dedup_key = (char *)pgs_text(r, i, 6);
    j->priority = (int)pgs_ll(r, i, 7);
    j->attempts = (int)pgs_ll(r, i, 8);
    j->max_attempts = (int)pgs_ll(r, i, 9);
    j->not_before = pgs_ll(r, i, 10);
    j->lease_until = pgs_ll(r, i, 11);
    j->worker = (char *)pgs_text(r, i, 12);
    j->state = (enum temper_job_state)pgs_ll(r, i, 13);
    j->last_error = (char *)pgs_text(r, i, 14);
}

static int job_dup(const struct temper_job *j, struct temper_job *out)
{
    bool fail = false;
    *out = *j;
    out->image = pgs_strdup(j->image, &fail);
    out->variant = pgs_strdup(j->variant, &fail);
    out->version = pgs_strdup(j->version, &fail);
    out->reason = pgs_strdup(j->reason, &fail);
    out->change = pgs_strdup(j->change, &fail);
    out->dedup_key = pgs_strdup(j->dedup_key, &fail);
    out->worker = pgs_strdup(j->worker, &fail);
    out->last_error = pgs_strdup(j->last_error, &fail);
    if (fail) {
        temper_job_cleanup(out);
        return TEMPER_ENOMEM;
    }
    return TEMPER_OK;
}

/* Whether the caller's `now` counts (TEMPER_NOW pins it: tests) rather than
 * the server's clock. */
static bool caller_clock(void)
{
    const char *pin = getenv("TEMPER_NOW");
    return pin && pin[0];
}

static long long span(long long ms)
{
    return ms < 0 ? 0 : ms > MAX_SPAN_MS ? MAX_SPAN_MS : ms;
}

/* ---- enqueue ----------------------------------------------------------- */

/* $1 as a JSON array: validated by the cast, a non-array value wrapped. */
#define CHANGE_ARRAY                                                            \
    "(CASE json_typeof($1::json) WHEN 'array' THEN $1::json"                    \
    " ELSE ('[' || $1 || ']')::json END)"
static const char sql_normalise[] = "SELECT " CHANGE_ARRAY "::text";
static const char sql_key_lock[] = "SELECT pg_advisory_xact_lock($1::int, hashtext($2))";
static const char sql_find_dup[] =
    "SELECT id FROM jobs WHERE state = 1 AND dedup_key = $1 ORDER BY id LIMIT 1"
    " FOR UPDATE";
static const char sql_insert[] =
    "INSERT INTO jobs (image, variant, version, reason, change, dedup_key, priority,"
    " max_attempts, not_before, state)"
    " VALUES ($1, $2, $3, $4, $5::json, $6, $7::int, $8::int, $9::bigint, 1) RETURNING id";
/* the newest $3 entries of old ++ new, in order; element texts kept as sent */
static const char sql_merge[] =
    "UPDATE jobs SET change = (SELECT ('[' || coalesce(string_agg(v, ',' ORDER BY src, k),"
    "  '') || ']')::json FROM (SELECT src, k, v FROM ("
    "   SELECT 0 AS src, o.k, o.v::text AS v"
    "    FROM json_array_elements(jobs.change) WITH ORDINALITY AS o(v, k)"
    "   UNION ALL SELECT 1, n.k, n.v::text"
    "    FROM json_array_elements($2::json) WITH ORDINALITY AS n(v, k)) e"
    "  ORDER BY src DESC, k DESC LIMIT $3::int) t),"
    " priority = greatest(priority, $4::int), version = coalesce($5, version)"
    " WHERE id = $1::bigint";

struct enqueue_ctx {
    const struct temper_job *j;
    const char *change_in;
    int max;
    long long id;
    bool merged;
};

static int normalise(struct pgs_state *s, const char *in, PGresult **res)
{
    struct pgs_params p = { 0 };
    pgs_p_text(&p, in);
    return pgs_exec(s, sql_normalise, &p, res);
}

static int enqueue_body(struct pgs_state *s, void *ctx)
{
    struct enqueue_ctx *c = ctx;
    const struct temper_job *j = c->j;
    PGresult *norm = NULL;
    struct pgs_params p = { 0 };
    int rc = normalise(s, c->change_in, &norm);
    const char *change = rc == TEMPER_OK ? PQgetvalue(norm, 0, 0) : NULL;
    if (rc == TEMPER_OK && j->dedup_key) {
        pgs_p_ll(&p, PGS_DEDUP_LOCK);
        pgs_p_text(&p, j->dedup_key);
        rc = pgs_exec(s, sql_key_lock, &p, NULL);
        memset(&p, 0, sizeof p);
        pgs_p_text(&p, j->dedup_key);
        rc = rc == TEMPER_OK ? pgs_one_ll(s, sql_find_dup, &p, &c->id) : rc;
        if (rc == TEMPER_OK) {
            memset(&p, 0, sizeof p);
            pgs_p_ll(&p, c->id);
            pgs_p_text(&p, change);
            pgs_p_ll(&p, PGS_MAX_CHANGES);
            pgs_p_ll(&p, j->priority);
            pgs_p_text(&p, j->version);
            c->merged = true;
            rc = pgs_exec(s, sql_merge, &p, NULL);
        }
    } else if (rc == TEMPER_OK) {
        rc = TEMPER_ENOTFOUND;
    }
    if (rc == TEMPER_ENOTFOUND) {
        memset(&p, 0, sizeof p);
        pgs_p_text(&p, j->image);
        pgs_p_text(&p, j->variant);
        pgs_p_text(&p, j->version);
        pgs_p_text(&p, j->reason ? j->reason : "manual");
        pgs_p_text(&p, change);
        pgs_p_text(&p, j->dedup_key);
        pgs_p_ll(&p, j->priority);
        pgs_p_ll(&p, c->max);
        pgs_p_ll(&p, j->not_before);
        c->merged = false;
        rc = pgs_one_ll(s, sql_insert, &p, &c->id);
    }
    PQclear(norm);
    return rc;
}

int pgs_job_enqueue(void *sv, const struct temper_job *job, long long *id, bool *merged)
{
    struct pgs_state *s = sv;
    const char *what = "cannot enqueue a job";
    struct temper_job j;
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = pgs_copy_in(s, &j, sizeof j, job, what);
    if (rc == TEMPER_OK && (!j.image || !j.image[0])) {
        rc = pgs_einval(s, what, "the job names no image");
    }
    struct enqueue_ctx c = { .j = &j };
    if (rc == TEMPER_OK) {
        rc = pgs_json_in(s, j.change, what, &c.change_in);
    }
    if (rc != TEMPER_OK) {
        return rc;
    }
    int max = j.max_attempts > 0 ? j.max_attempts : s->max_attempts;
    c.max = max > MAX_ATTEMPTS_CAP ? MAX_ATTEMPTS_CAP : max;
    rc = pgs_tx(s, what, 0, enqueue_body, &c);
    if (rc == TEMPER_OK) {
        if (id) {
            *id = c.id;
        }
        if (merged) {
            *merged = c.merged;
        }
    }
    return rc;
}

/* ---- claim ------------------------------------------------------------- */

static const char sql_expire[] =
    "UPDATE jobs SET state = 4, lease_until = 0,"
    " last_error = 'the lease of worker ' || worker || ' expired after '"
    "  || attempts || ' attempts'"
    " WHERE id IN (SELECT id FROM jobs WHERE state = 2 AND lease_until <= $1::bigint"
    "  AND attempts >= max_attempts FOR UPDATE SKIP LOCKED)";
static const char sql_claim[] =
    "UPDATE jobs SET state = 2, worker = $2, lease_until = $3::bigint,"
    " attempts = attempts + 1"
    " WHERE id = (SELECT id FROM jobs"
    "  WHERE (state = 1 AND not_before <= $1::bigint)"
    "   OR (state = 2 AND lease_until <= $1::bigint AND attempts < max_attempts)"
    "  ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING " JOB_COLS;

/* after a lost COMMIT: the job this very claim leased, if it did */
static const char sql_claimed[] =
    "SELECT " JOB_COLS " FROM jobs WHERE state = 2 AND worker = $1"
    " AND lease_until = $2::bigint ORDER BY id LIMIT 1";

struct claim_ctx {
    const char *worker;
    long long now, lease_until, lease_ms;
    struct temper_job *out;
    bool found, server_now; /* now and lease_until are on the server's clock */
};

static const char sql_now[] = "SELECT " SRV_NOW;

/* The server's clock as the claim's now (once: a retry keeps it, to find
 * the job a lost COMMIT leased). */
static int claim_now(struct pgs_state *s, struct claim_ctx *c)
{
    if (c->server_now || caller_clock()) {
        return TEMPER_OK;
    }
    struct pgs_params p = { 0 };
    PGresult *res = NULL;
    int rc = pgs_exec(s, sql_now, &p, &res);
    if (rc == TEMPER_OK && PQntuples(res) == 1) {
        c->now = pgs_ll(res, 0, 0);
        c->lease_until = c->now + c->lease_ms;
        c->server_now = true;
    }
    PQclear(res);
    return rc;
}

static int claim_body(struct pgs_state *s, void *ctx)
{
    struct claim_ctx *c = ctx;
    struct pgs_params p = { 0 };
    PGresult *res = NULL;
    temper_job_cleanup(c->out);
    c->found = false;
    int rc = TEMPER_OK;
    if (s->retrying && (c->server_now || caller_clock())) {
        pgs_p_text(&p, c->worker);
        pgs_p_ll(&p, c->lease_until);
        rc = pgs_exec(s, sql_claimed, &p, &res);
        if (rc != TEMPER_OK || PQntuples(res) == 0) {
            PQclear(res);
            res = NULL;
            memset(&p, 0, sizeof p);
        }
    }
    if (rc == TEMPER_OK && !res) {
        rc = claim_now(s, c);
    }
    if (rc == TEMPER_OK && !res) {
        pgs_p_ll(&p, c->now);
        rc = pgs_exec(s, sql_expire, &p, NULL);
        pgs_p_text(&p, c->worker);
        pgs_p_ll(&p, c->lease_until);
        rc = rc == TEMPER_OK ? pgs_exec(s, sql_claim, &p, &res) : rc;
    }
    if (rc == TEMPER_OK && PQntuples(res) == 1) {
        struct temper_job view;
        job_from_row(res, 0, &view);
        rc = job_dup(&view, c->out);
        if (rc != TEMPER_OK) {
            rc = temper_fail(s->st, rc, "%s: cannot claim a job: out of memory", s->name);
        }
        c->found = rc == TEMPER_OK;
    }
    PQclear(res);
    return rc;
}

int pgs_job_claim(void *sv, const char *worker, long long now, long long lease_ms,
                  struct temper_job *out)
{
    struct pgs_state *s = sv;
    const char *what = "cannot claim a job";
    if (out) {
        memset(out, 0, sizeof *out);
    }
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (!out) {
        return pgs_einval(s, what, "no job to fill");
    }
    if (!worker || !worker[0]) {
        return pgs_einval(s, what, "no worker name");
    }
    if (lease_ms <= 0 || now > LLONG_MAX - lease_ms) {
        return pgs_einval(s, what, "the lease must be positive");
    }
    lease_ms = span(lease_ms);
    struct claim_ctx c = { worker, now, now + lease_ms, lease_ms, out, false, false };
    int rc = pgs_tx(s, what, PGS_IDEMPOTENT, claim_body, &c);
    if (rc != TEMPER_OK) {
        temper_job_cleanup(out);
        return rc;
    }
    return c.found ? TEMPER_OK : TEMPER_ENOTFOUND;
}

/* ---- holder operations ------------------------------------------------- */

static const char sql_holder[] = "SELECT state, worker FROM jobs WHERE id = $1::bigint";

/* After an update that changed no row: say why (unknown job or wrong state). */
static int conflict(struct pgs_state *s, long long id, const char *worker, const char *what)
{
    struct pgs_params p = { 0 };
    PGresult *res = NULL;
    pgs_p_ll(&p, id);
    int rc = pgs_exec(s, sql_holder, &p, &res);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (PQntuples(res) == 0) {
        rc = temper_fail(s->st, TEMPER_ENOTFOUND, "%s: %s: no job %lld", s->name, what, id);
    } else if (worker && pgs_ll(res, 0, 0) == TEMPER_JOB_RUNNING) {
        const char *holder = pgs_text(res, 0, 1);
        rc = temper_fail(s->st, TEMPER_ESTATE, "%s: %s: job %lld is held by worker %s, not by %s",
                         s->name, what, id, holder ? holder : "(none)", worker);
    } else {
        rc = temper_fail(s->st, TEMPER_ESTATE, "%s: %s: job %lld is %s", s->name, what, id,
                         state_name(pgs_ll(res, 0, 0)));
    }
    PQclear(res);
    return rc;
}

struct holder_ctx {
    const char *sql;
    const char *what;
    long long id;
    const char *worker; /* NULL: release (no holder) */
    struct pgs_params extra;
};

static int holder_body(struct pgs_state *s, void *ctx)
{
    struct holder_ctx *c = ctx;
    struct pgs_params p = { 0 };
    PGresult *res = NULL;
    pgs_p_ll(&p, c->id);
    pgs_p_text(&p, c->worker);
    for (int i = 0; i < c->extra.n; i++) {
        pgs_p_text(&p, c->extra.v[i] == c->extra.num[i] ? c->extra.num[i] : c->extra.v[i]);
    }
    pgs_p_text(&p, s->retrying ? "t" : "f");
    int rc = pgs_exec(s, c->sql, &p, &res);
    if (rc == TEMPER_OK && PQntuples(res) != 1) {
        rc = conflict(s, c->id, c->worker, c->what);
    }
    PQclear(res);
    return rc;
}

/* One transaction: `sql` gets $1 = id, $2 = worker, the extra parameters
 * from $3 on and, last, whether this is a retry; exactly one row must come
 * back (RETURNING). */
static int holder_op(struct pgs_state *s, struct holder_ctx *c, unsigned flags)
{
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (c->worker && !c->worker[0]) {
        return pgs_einval(s, c->what, "no worker name");
    }
    return pgs_tx(s, c->what, flags, holder_body, c);
}

static const char sql_heartbeat[] =
    "UPDATE jobs SET lease_until = CASE WHEN $4::bool THEN " SRV_NOW " + $5::bigint"
    " ELSE $3::bigint END WHERE id = $1::bigint AND state = 2"
    " AND worker = $2 AND $6::bool IS NOT NULL RETURNING id";
/* a re-run after a lost COMMIT finds its own completion */
static const char sql_complete[] =
    "UPDATE jobs SET state = 3, lease_until = 0, last_error = NULL"
    " WHERE id = $1::bigint AND worker = $2 AND (state = 2 OR ($3::bool AND state = 3))"
    " RETURNING id";
static const char sql_fail[] =
    "UPDATE jobs SET"
    " state = CASE WHEN attempts < max_attempts THEN 1 ELSE 4 END,"
    " not_before = CASE WHEN attempts >= max_attempts THEN not_before"
    "  WHEN $5::bool THEN " SRV_NOW " + $6::bigint ELSE $3::bigint END,"
    " worker = CASE WHEN attempts < max_attempts THEN NULL ELSE worker END,"
    " lease_until = 0, last_error = $4"
    " WHERE id = $1::bigint AND state = 2 AND worker = $2 AND $7::bool IS NOT NULL"
    " RETURNING id";
static const char sql_park[] =
    "UPDATE jobs SET state = 5, lease_until = 0, worker = NULL"
    " WHERE id = $1::bigint AND state = 2 AND worker = $2 AND $3::bool IS NOT NULL"
    " RETURNING id";
static const char sql_release[] =
    "UPDATE jobs SET state = 1, not_before = $3::bigint, worker = NULL, lease_until = 0,"
    " attempts = greatest(attempts - 1, 0)"
    " WHERE id = $1::bigint AND state = 5 AND $2::text IS NULL AND $4::bool IS NOT NULL"
    " RETURNING id";

int pgs_job_heartbeat(void *sv, long long id, const char *worker, long long now,
                      long long lease_ms)
{
    struct pgs_state *s = sv;
    struct holder_ctx c = { sql_heartbeat, "cannot extend a lease", id, worker, { 0 } };
    if (s && (lease_ms <= 0 || now > LLONG_MAX - lease_ms)) {
        return pgs_einval(s, c.what, "the lease must be positive");
    }
    if (s && !worker) {
        return pgs_einval(s, c.what, "no worker name");
    }
    pgs_p_ll(&c.extra, now + lease_ms);
    pgs_p_text(&c.extra, caller_clock() ? "f" : "t");
    pgs_p_ll(&c.extra, span(lease_ms));
    return holder_op(s, &c, PGS_IDEMPOTENT);
}

int pgs_job_complete(void *sv, long long id, const char *worker)
{
    struct holder_ctx c = { sql_complete, "cannot complete a job", id, worker, { 0 } };
    if (sv && !worker) {
        return pgs_einval(sv, c.what, "no worker name");
    }
    return holder_op(sv, &c, PGS_IDEMPOTENT);
}

int pgs_job_fail(void *sv, long long id, const char *worker, const char *error,
                 long long now, long long retry_ms)
{
    struct holder_ctx c = { sql_fail, "cannot fail a job", id, worker, { 0 } };
    if (sv && !worker) {
        return pgs_einval(sv, c.what, "no worker name");
    }
    if (retry_ms < 0) {
        retry_ms = 0;
    }
    pgs_p_ll(&c.extra, now > LLONG_MAX - retry_ms ? LLONG_MAX : now + retry_ms);
    pgs_p_text(&c.extra, error ? error : "failed");
    pgs_p_text(&c.extra, caller_clock() ? "f" : "t");
    pgs_p_ll(&c.extra, span(retry_ms));
    return holder_op(sv, &c, 0);
}

int pgs_job_park(void *sv, long long id, const char *worker)
{
    struct holder_ctx c = { sql_park, "cannot park a job", id, worker, { 0 } };
    if (sv && !worker) {
        return pgs_einval(sv, c.what, "no worker name");
    }
    return holder_op(sv, &c, 0);
}

int pgs_job_release(void *sv, long long id, long long now)
{
    struct holder_ctx c = { sql_release, "cannot release a job", id, NULL, { 0 } };
    pgs_p_ll(&c.extra, now);
    return holder_op(sv, &c, 0);
}

/* ---- list -------------------------------------------------------------- */

static const char sql_list[] =
    "SELECT " JOB_COLS " FROM jobs WHERE ($1::bigint = 0 OR (($1::bigint >> state) & 1) = 1)"
    " AND id > $2::bigint ORDER BY id LIMIT $3::int";

struct job_list_ctx {
    temper_job_fn fn;
    void *ctx;
};

static int job_row(void *ctx, const PGresult *r, int i)
{
    struct job_list_ctx *c = ctx;
    struct temper_job j;
    job_from_row(r, i, &j);
    return c->fn(c->ctx, &j);
}

int pgs_job_list(void *sv, unsigned states, temper_job_fn fn, void *ctx)
{
    struct job_list_ctx c = { fn, ctx };
    struct pgs_iter it = {
        .sql = sql_list, .what = "cannot list jobs", .row = job_row, .row_ctx = &c,
    };
    pgs_p_ll(&it.params, (long long)states);
    return pgs_list(sv, fn != NULL, &it);
}

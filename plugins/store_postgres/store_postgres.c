/* temper — store_postgres: the shared store, for many workers on many
 * machines, on PostgreSQL through libpq.
 *
 * The same operations and semantics as store_sqlite (include/temper/store.h)
 * on the same schema shape (pg_schema.c).  What PostgreSQL adds: workers on
 * any machine claim from one queue with SELECT ... FOR UPDATE SKIP LOCKED
 * (pg_queue.c), migrations serialise on an advisory lock, and a lost
 * connection is re-established and the operation retried when that is safe
 * (pg_db.c).  Connection options and the TLS policy: pg_conn.c.
 *
 * One connection per store instance: open the store after fork(), never
 * share it between processes or threads.
 *
 * This file: open/close, key/value state and the descriptor. */
#include "config.h"
#include "pg_store.h"

#include <stdlib.h>
#include <string.h>

static void pg_close(void *sv)
{
    struct pgs_state *s = sv;
    if (!s) {
        return;
    }
    if (s->conn) {
        PQfinish(s->conn);
    }
    for (size_t i = 0; s->kw && s->kw[i]; i++) {
        free(s->kw[i]);
    }
    for (size_t i = 0; s->val && s->val[i]; i++) {
        free(s->val[i]);
    }
    free(s->kw);
    free(s->val);
    free(s->name);
    free(s);
}

static int pg_open(struct temper_stage *st, const void *confv, void **state)
{
    const struct pg_conf *conf = confv;
    if (!state) {
        return temper_fail(st, TEMPER_EINVAL, "postgres store: no state pointer");
    }
    *state = NULL;
    if (!conf) {
        return temper_fail(st, TEMPER_EINVAL, "postgres store: no configuration");
    }
    struct pgs_state *s = calloc(1, sizeof *s);
    if (!s) {
        return temper_fail(st, TEMPER_ENOMEM, "postgres store: out of memory");
    }
    s->st = st;
    s->connect_timeout = conf->connect_timeout >= 2000 ? conf->connect_timeout : 2000;
    s->statement_timeout = conf->statement_timeout > 0 ? conf->statement_timeout : 0;
    s->max_attempts = conf->max_attempts_default > 0 && conf->max_attempts_default <= 100
                          ? (int)conf->max_attempts_default
                          : 3;
    int rc = pgs_connect(s, conf);
    if (rc == TEMPER_OK) {
        rc = pgs_schema_migrate(s);
    }
    if (rc != TEMPER_OK) {
        pg_close(s);
        return rc;
    }
    *state = s;
    return TEMPER_OK;
}

/* ---- key/value state --------------------------------------------------- */

static const char sql_kv_get[] = "SELECT value FROM kv WHERE ns = $1 AND key = $2";
static const char sql_kv_put[] =
    "INSERT INTO kv (ns, key, value) VALUES ($1, $2, $3)"
    " ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value";
static const char sql_kv_del[] = "DELETE FROM kv WHERE ns = $1 AND key = $2";

struct kv_ctx {
    const char *ns, *key;
    char **value;
};

static int kv_get_body(struct pgs_state *s, void *ctx)
{
    struct kv_ctx *c = ctx;
    struct pgs_params p = { 0 };
    PGresult *res = NULL;
    pgs_p_text(&p, c->ns);
    pgs_p_text(&p, c->key);
    free(*c->value);
    *c->value = NULL;
    int rc = pgs_exec(s, sql_kv_get, &p, &res);
    if (rc == TEMPER_OK && PQntuples(res) == 0) {
        rc = TEMPER_ENOTFOUND;
    } else if (rc == TEMPER_OK) {
        *c->value = strdup(PQgetvalue(res, 0, 0));
        if (!*c->value) {
            rc = temper_fail(s->st, TEMPER_ENOMEM, "%s: cannot read state: out of memory",
                             s->name);
        }
    }
    PQclear(res);
    return rc;
}

static int pg_kv_get(void *sv, const char *ns, const char *key, char **value)
{
    struct pgs_state *s = sv;
    if (value) {
        *value = NULL;
    }
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (!ns || !key || !value) {
        return pgs_einval(s, "cannot read state", "no namespace, key or value pointer");
    }
    struct kv_ctx c = { ns, key, value };
    return pgs_tx(s, "cannot read state", PGS_NO_TX | PGS_IDEMPOTENT, kv_get_body, &c);
}

static int pg_kv_put(void *sv, const char *ns, const char *key, const char *value)
{
    struct pgs_state *s = sv;
    struct pgs_params p = { 0 };
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (!ns || !key) {
        return pgs_einval(s, "cannot write state", "no namespace or key");
    }
    pgs_p_text(&p, ns);
    pgs_p_text(&p, key);
    if (!value) {
        return pgs_run(s, "cannot delete state", PGS_IDEMPOTENT, sql_kv_del, &p);
    }
    pgs_p_text(&p, value);
    return pgs_run(s, "cannot write state", PGS_IDEMPOTENT, sql_kv_put, &p);
}

/* ---- descriptor -------------------------------------------------------- */

static const struct temper_store_ops pg_ops = {
    .kv_get = pg_kv_get,
    .kv_put = pg_kv_put,
    .image_put = pgs_image_put,
    .image_get = pgs_image_get,
    .build_record = pgs_build_record,
    .images_with_package = pgs_images_with_package,
    .build_packages = pgs_build_packages,
    .job_enqueue = pgs_job_enqueue,
    .job_claim = pgs_job_claim,
    .job_heartbeat = pgs_job_heartbeat,
    .job_complete = pgs_job_complete,
    .job_fail = pgs_job_fail,
    .job_park = pgs_job_park,
    .job_release = pgs_job_release,
    .job_list = pgs_job_list,
    .run_begin = pgs_run_begin,
    .run_stage = pgs_run_stage,
    .run_finish = pgs_run_finish,
    .run_list = pgs_run_list,
    .run_stages = pgs_run_stages,
    .review_add = pgs_review_add,
    .review_list = pgs_review_list,
    .review_get = pgs_review_get,
    .review_decide = pgs_review_decide,
    .audit_append = pgs_audit_append,
    .audit_list = pgs_audit_list,
};

TEMPER_PLUGIN(store_postgres) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_STORE,
    .name = "postgres",
    .version = PACKAGE_VERSION,
    .summary = "shared store: state, builds and the job queue on PostgreSQL, for many workers",
    .options = pgs_options,
    .conf_size = sizeof(struct pg_conf),
    .open = pg_open,
    .close = pg_close,
    .ops = &pg_ops,
    .ops_size = sizeof(struct temper_store_ops),
};

/* temper — store_postgres: statements, errors, transactions with one
 * reconnect-and-retry, paged reads shared by the operations. */
#include "config.h"
#include "pg_store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pgs_p_text(struct pgs_params *p, const char *t)
{
    if (p->n < PGS_MAX_PARAMS) {
        p->v[p->n++] = t;
    }
}

void pgs_p_ll(struct pgs_params *p, long long v)
{
    if (p->n < PGS_MAX_PARAMS) {
        snprintf(p->num[p->n], sizeof p->num[p->n], "%lld", v);
        p->v[p->n] = p->num[p->n];
        p->n++;
    }
}

/* enum temper_rc for a SQLSTATE; *retry set when re-running the whole
 * transaction is safe and may succeed (lost connection, deadlock). */
static int state_rc(const char *code, bool *retry)
{
    *retry = false;
    if (!code || strlen(code) != 5) {
        return TEMPER_EIO;
    }
    if (strncmp(code, "08", 2) == 0 || strcmp(code, "57P01") == 0 ||
        strcmp(code, "57P02") == 0 || strcmp(code, "57P03") == 0) {
        *retry = true;
        return TEMPER_ENET;
    }
    if (strcmp(code, "40001") == 0 || strcmp(code, "40P01") == 0) {
        *retry = true;
        return TEMPER_ETIMEOUT;
    }
    if (strcmp(code, "23503") == 0) {
        return TEMPER_ENOTFOUND;
    }
    if (strcmp(code, "23001") == 0) {
        return TEMPER_ESTATE; /* the audit log's append-only trigger */
    }
    if (strncmp(code, "22", 2) == 0 || strncmp(code, "23", 2) == 0) {
        return TEMPER_EINVAL;
    }
    if (strcmp(code, "57014") == 0 || strcmp(code, "55P03") == 0) {
        return TEMPER_ETIMEOUT;
    }
    if (strncmp(code, "54", 2) == 0) {
        return TEMPER_ELIMIT;
    }
    if (strncmp(code, "53", 2) == 0) {
        return TEMPER_ENOMEM;
    }
    return TEMPER_EIO;
}

/* Keep one line of `msg` as the pending error. */
static void keep_error(struct pgs_state *s, int rc, const char *msg)
{
    s->err_pending = true;
    s->err_rc = rc;
    snprintf(s->err, sizeof s->err, "%s", msg && msg[0] ? msg : "unknown error");
    /* one line: control characters become spaces, runs of spaces one */
    size_t n = 0;
    for (const char *c = s->err; *c; c++) {
        char ch = (unsigned char)*c < 0x20 ? ' ' : *c;
        if (ch != ' ' || (n > 0 && s->err[n - 1] != ' ')) {
            s->err[n++] = ch;
        }
    }
    while (n > 0 && s->err[n - 1] == ' ') {
        n--;
    }
    s->err[n] = '\0';
}

int pgs_result_error(struct pgs_state *s, const PGresult *res)
{
    bool retry = false;
    const char *code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    int rc = state_rc(code, &retry);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        retry = true;
        rc = TEMPER_ENET;
        msg = msg ? msg : PQerrorMessage(s->conn);
    }
    char buf[PGS_ERR_MAX];
    if (code && strcmp(code, "22P02") == 0 && msg && strstr(msg, "json")) {
        snprintf(buf, sizeof buf, "not valid JSON (%s)", msg);
        msg = buf;
    }
    keep_error(s, rc, msg ? msg : PQerrorMessage(s->conn));
    s->lost = retry;
    return rc;
}

int pgs_exec(struct pgs_state *s, const char *sql, const struct pgs_params *p,
             PGresult **out)
{
    if (out) {
        *out = NULL;
    }
    PGresult *res = PQexecParams(s->conn, sql, p ? p->n : 0, NULL, p ? p->v : NULL, NULL,
                                 NULL, 0);
    ExecStatusType es = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
        int rc = pgs_result_error(s, res);
        PQclear(res);
        return rc;
    }
    if (PQntuples(res) > PGS_MAX_ROWS) {
        keep_error(s, TEMPER_ELIMIT, "the server returned more rows than asked for");
        PQclear(res);
        return TEMPER_ELIMIT;
    }
    if (out) {
        *out = res;
    } else {
        PQclear(res);
    }
    return TEMPER_OK;
}

int pgs_one_ll(struct pgs_state *s, const char *sql, const struct pgs_params *p,
               long long *v)
{
    PGresult *res = NULL;
    int rc = pgs_exec(s, sql, p, &res);
    if (rc == TEMPER_OK) {
        if (PQntuples(res) < 1 || PQnfields(res) < 1) {
            rc = TEMPER_ENOTFOUND;
        } else {
            *v = pgs_ll(res, 0, 0);
        }
    }
    PQclear(res);
    return rc;
}

/* ---- transactions ------------------------------------------------------ */

static int plain(struct pgs_state *s, const char *sql)
{
    return pgs_exec(s, sql, NULL, NULL);
}

static int run_once(struct pgs_state *s, unsigned flags, pgs_tx_fn fn, void *ctx)
{
    if (flags & PGS_NO_TX) {
        return fn(s, ctx);
    }
    int rc = plain(s, "BEGIN");
    if (rc != TEMPER_OK) {
        return rc;
    }
    rc = fn(s, ctx);
    if (rc == TEMPER_OK) {
        s->commit_sent = true;
        return plain(s, "COMMIT");
    }
    if (PQstatus(s->conn) == CONNECTION_OK) {
        PGresult *res = PQexec(s->conn, "ROLLBACK");
        PQclear(res);
    }
    return rc;
}

int pgs_tx(struct pgs_state *s, const char *what, unsigned flags, pgs_tx_fn fn, void *ctx)
{
    int rc = TEMPER_OK;
    s->retrying = false;
    for (int attempt = 0; attempt < 2; attempt++) {
        s->err_pending = false;
        s->lost = false;
        s->commit_sent = false;
        if (PQstatus(s->conn) != CONNECTION_OK) {
            rc = pgs_reconnect(s);
            if (rc != TEMPER_OK) {
                break;
            }
        }
        rc = run_once(s, flags, fn, ctx);
        if (rc == TEMPER_OK || !s->err_pending || !s->lost || attempt > 0) {
            break;
        }
        if (s->commit_sent && !(flags & PGS_IDEMPOTENT)) {
            keep_error(s, TEMPER_ENET,
                       "the connection was lost while committing: the outcome is unknown");
            break;
        }
        TEMPER_LOG_WARN(s->st, "%s: %s: %s; reconnecting and retrying once", s->name, what,
                        s->err);
        s->retrying = true;
    }
    s->retrying = false;
    if (rc != TEMPER_OK && s->err_pending) {
        s->err_pending = false;
        return temper_fail(s->st, s->err_rc, "%s: %s: %s", s->name, what, s->err);
    }
    return rc;
}

struct run_ctx {
    const char *sql;
    const struct pgs_params *p;
};

static int run_body(struct pgs_state *s, void *ctx)
{
    struct run_ctx *c = ctx;
    return pgs_exec(s, c->sql, c->p, NULL);
}

int pgs_run(struct pgs_state *s, const char *what, unsigned flags, const char *sql,
            const struct pgs_params *p)
{
    struct run_ctx c = { sql, p };
    /* a lone statement commits as it runs: only an idempotent one may skip
     * BEGIN (whose failure proves that nothing was sent) */
    return pgs_tx(s, what, flags & PGS_IDEMPOTENT ? flags | PGS_NO_TX : flags, run_body, &c);
}

/* ---- values ------------------------------------------------------------ */

const char *pgs_text(const PGresult *r, int row, int col)
{
    if (row >= PQntuples(r) || col >= PQnfields(r) || PQgetisnull(r, row, col)) {
        return NULL;
    }
    return PQgetvalue(r, row, col);
}

long long pgs_ll(const PGresult *r, int row, int col)
{
    const char *t = pgs_text(r, row, col);
    long long v = 0;
    if (!t || temper_parse_ll(t, &v) != TEMPER_OK) {
        return 0;
    }
    return v;
}

/* ---- pages ------------------------------------------------------------- */

struct page_ctx {
    struct pgs_iter *it;
    const char *after;
    PGresult *res;
};

static int page_body(struct pgs_state *s, void *ctx)
{
    struct page_ctx *c = ctx;
    struct pgs_params p = c->it->params;
    /* the copied numbers must point into p, not into it->params */
    for (int i = 0; i < p.n; i++) {
        if (c->it->params.v[i] == c->it->params.num[i]) {
            p.v[i] = p.num[i];
        }
    }
    pgs_p_text(&p, c->after);
    pgs_p_ll(&p, c->it->page > 0 ? c->it->page : PGS_PAGE);
    PQclear(c->res);
    c->res = NULL;
    return pgs_exec(s, c->it->sql, &p, &c->res);
}

int pgs_iterate(struct pgs_state *s, struct pgs_iter *it)
{
    char after[512];
    struct page_ctx c = { it, after, NULL };
    int rc = TEMPER_OK;
    snprintf(after, sizeof after, "%s", it->text_key ? "" : "-9223372036854775808");
    it->count = 0;
    for (;;) {
        rc = pgs_tx(s, it->what, PGS_NO_TX | PGS_IDEMPOTENT, page_body, &c);
        if (rc != TEMPER_OK) {
            break;
        }
        int n = PQntuples(c.res);
        for (int i = 0; i < n && rc == TEMPER_OK; i++) {
            it->count++;
            rc = it->row(it->row_ctx, c.res, i);
        }
        if (rc != TEMPER_OK || n < (it->page > 0 ? it->page : PGS_PAGE)) {
            break;
        }
        const char *key = pgs_text(c.res, n - 1, 0);
        size_t len = key ? strlen(key) : 0;
        if (!key || len >= sizeof after) {
            rc = temper_fail(s->st, TEMPER_ELIMIT, "%s: %s: a page key is too long", s->name,
                             it->what);
            break;
        }
        memcpy(after, key, len + 1);
    }
    PQclear(c.res);
    return rc;
}

int pgs_list(void *sv, bool has_fn, struct pgs_iter *it)
{
    struct pgs_state *s = sv;
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (!has_fn) {
        return pgs_einval(s, it->what, "no callback");
    }
    return pgs_iterate(s, it);
}

/* ---- records and values ------------------------------------------------ */

int pgs_einval(struct pgs_state *s, const char *what, const char *why)
{
    return temper_fail(s->st, TEMPER_EINVAL, "%s: %s: %s", s->name, what, why);
}

int pgs_copy_in(struct pgs_state *s, void *dst, size_t dst_size, const void *src,
                const char *what)
{
    uint32_t size;
    memset(dst, 0, dst_size);
    if (!src) {
        return temper_fail(s->st, TEMPER_EINVAL, "%s: %s: no record", s->name, what);
    }
    memcpy(&size, src, sizeof size);
    if (size <= sizeof(uint32_t)) {
        return temper_fail(s->st, TEMPER_EINVAL,
                           "%s: %s: record size %u is too small (set .size = sizeof)",
                           s->name, what, (unsigned)size);
    }
    memcpy(dst, src, size < dst_size ? size : dst_size);
    size = (uint32_t)dst_size;
    memcpy(dst, &size, sizeof size);
    return TEMPER_OK;
}

int pgs_json_in(struct pgs_state *s, const char *json, const char *what, const char **out)
{
    *out = json ? json : "[]";
    if (strlen(*out) > PGS_MAX_JSON) {
        return temper_fail(s->st, TEMPER_ELIMIT, "%s: %s: JSON is larger than %d bytes",
                           s->name, what, PGS_MAX_JSON);
    }
    return TEMPER_OK;
}

char *pgs_strdup(const char *v, bool *fail)
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

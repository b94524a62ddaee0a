/* temper — the stage object: error recording, artifacts, findings, cases and
 * state, with the host hooks the core fills in. */
#include "host.h"
#include "log-private.h"
#include <temper/store.h>
#include <temper/buf.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STAGE_MAX_FINDINGS 100000
#define STAGE_MAX_CASES 100000
#define STAGE_MAX_ARTIFACTS 100000
#define STAGE_TEXT_MAX (64 * 1024)
#define STAGE_ERROR_MAX 2048

struct temper_artlist {
    struct temper_artifact **v;
    size_t n, cap;
};

struct temper_stage {
    const struct temper_plugin *plugin;
    char *name;
    char *workdir;
    char *cachedir;
    char *error;
    int error_rc;
    struct temper_artlist *arts;
    const struct temper_host_ops *host;
    void *host_ctx;
    const volatile int *cancel;
    long long now_ms;
    struct temper_finding *findings;
    size_t n_findings, cap_findings;
    struct temper_case *cases;
    size_t n_cases, cap_cases;
};

/* ---- artifact lists ---------------------------------------------------- */

struct temper_artlist *temper_artlist_new(void)
{
    return calloc(1, sizeof(struct temper_artlist));
}

void temper_artlist_free(struct temper_artlist *l)
{
    if (!l) {
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        temper_artifact_free(l->v[i]);
    }
    free(l->v);
    free(l);
}

size_t temper_artlist_count(const struct temper_artlist *l)
{
    return l ? l->n : 0;
}

const struct temper_artifact *temper_artlist_at(const struct temper_artlist *l, size_t i)
{
    return l && i < l->n ? l->v[i] : NULL;
}

int temper_artlist_add(struct temper_artlist *l, struct temper_artifact *a)
{
    if (!l || !a) {
        temper_artifact_free(a);
        return TEMPER_EINVAL;
    }
    if (l->n >= STAGE_MAX_ARTIFACTS) {
        temper_artifact_free(a);
        return TEMPER_ELIMIT;
    }
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        struct temper_artifact **v = realloc(l->v, ncap * sizeof *v);
        if (!v) {
            temper_artifact_free(a);
            return TEMPER_ENOMEM;
        }
        l->v = v;
        l->cap = ncap;
    }
    l->v[l->n++] = a;
    return TEMPER_OK;
}

/* ---- stage life cycle (host side) -------------------------------------- */

struct temper_stage *temper_stage_new(const struct temper_plugin *plugin, const char *name)
{
    struct temper_stage *st = calloc(1, sizeof *st);
    if (!st) {
        return NULL;
    }
    st->plugin = plugin;
    st->name = strdup(name ? name : "");
    if (!st->name) {
        free(st);
        return NULL;
    }
    return st;
}

static void finding_cleanup(struct temper_finding *f)
{
    free((char *)f->rule);
    free((char *)f->file);
    free((char *)f->commit);
    free((char *)f->message);
    free((char *)f->evidence);
}

static void case_cleanup(struct temper_case *c)
{
    free((char *)c->suite);
    free((char *)c->name);
    free((char *)c->message);
    free((char *)c->output);
}

void temper_stage_reset(struct temper_stage *st)
{
    if (!st) {
        return;
    }
    for (size_t i = 0; i < st->n_findings; i++) {
        finding_cleanup(&st->findings[i]);
    }
    for (size_t i = 0; i < st->n_cases; i++) {
        case_cleanup(&st->cases[i]);
    }
    st->n_findings = 0;
    st->n_cases = 0;
    TEMPER_FREE(st->error);
    st->error_rc = TEMPER_OK;
}

void temper_stage_free(struct temper_stage *st)
{
    if (!st) {
        return;
    }
    temper_stage_reset(st);
    free(st->findings);
    free(st->cases);
    free(st->name);
    free(st->workdir);
    free(st->cachedir);
    free(st);
}

static int replace_str(char **dst, const char *src)
{
    char *p = NULL;
    if (src) {
        p = strdup(src);
        if (!p) {
            return TEMPER_ENOMEM;
        }
    }
    free(*dst);
    *dst = p;
    return TEMPER_OK;
}

int temper_stage_set_dirs(struct temper_stage *st, const char *workdir, const char *cachedir)
{
    int rc = replace_str(&st->workdir, workdir);
    if (rc == TEMPER_OK) {
        rc = replace_str(&st->cachedir, cachedir);
    }
    return rc;
}

void temper_stage_set_host(struct temper_stage *st, const struct temper_host_ops *ops,
                           void *ctx)
{
    st->host = ops;
    st->host_ctx = ctx;
}

void temper_stage_set_artifacts(struct temper_stage *st, struct temper_artlist *list)
{
    st->arts = list;
}

void temper_stage_set_cancel(struct temper_stage *st, const volatile int *flag)
{
    st->cancel = flag;
}

void temper_stage_set_now(struct temper_stage *st, long long ms)
{
    st->now_ms = ms;
}

int temper_stage_error_rc(const struct temper_stage *st)
{
    return st ? st->error_rc : TEMPER_OK;
}

/* ---- plugin side ------------------------------------------------------- */

const char *temper_stage_name(const struct temper_stage *st)
{
    return st ? st->name : NULL;
}

const struct temper_plugin *temper_stage_plugin(const struct temper_stage *st)
{
    return st ? st->plugin : NULL;
}

const char *temper_stage_workdir(const struct temper_stage *st)
{
    return st ? st->workdir : NULL;
}

const char *temper_stage_cachedir(const struct temper_stage *st)
{
    return st ? st->cachedir : NULL;
}

bool temper_stage_cancelled(const struct temper_stage *st)
{
    return st && st->cancel && *st->cancel;
}

long long temper_stage_now_ms(const struct temper_stage *st)
{
    if (st && st->now_ms) {
        return st->now_ms;
    }
    /* TEMPER_NOW=<Unix seconds> pins the clock of the core and of every
     * stage: for tests only (SLA windows, leases), never in production. */
    const char *pin = getenv("TEMPER_NOW");
    long long sec = 0;
    if (pin && temper_parse_ll(pin, &sec) == TEMPER_OK && sec > 0 && sec < 32503680000LL) {
        return sec * 1000;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int temper_fail(struct temper_stage *st, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* redacted before the cut, so a secret at the cut cannot leak a prefix */
    char *msg = temper_log_vformat(STAGE_ERROR_MAX, fmt, ap);
    va_end(ap);
    for (char *p = msg; p && *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' '; /* one-line messages */
        }
    }
    const char *text = msg ? msg : "(error message lost: out of memory)";
    /* the first error wins, even when storing its text failed */
    if (st && !st->error && st->error_rc == TEMPER_OK) {
        st->error = strdup(text);
        st->error_rc = rc;
    }
    temper_log(st, TEMPER_LOG_LVL_ERROR, "%s", text);
    free(msg);
    return rc;
}

const char *temper_stage_error(const struct temper_stage *st)
{
    return st ? st->error : NULL;
}

int temper_emit(struct temper_stage *st, struct temper_artifact *art)
{
    if (!st || !st->arts) {
        temper_artifact_free(art);
        return TEMPER_EINVAL;
    }
    return temper_artlist_add(st->arts, art);
}

const struct temper_artifact *temper_stage_artifact(const struct temper_stage *st,
                                                    enum temper_art_type type, size_t i)
{
    if (!st || !st->arts) {
        return NULL;
    }
    for (size_t k = 0; k < st->arts->n; k++) {
        if (temper_artifact_type(st->arts->v[k]) == type) {
            if (i == 0) {
                return st->arts->v[k];
            }
            i--;
        }
    }
    return NULL;
}

static char *state_ns(const struct temper_stage *st)
{
    const char *kind = st->plugin ? temper_kind_str(st->plugin->kind) : NULL;
    return temper_strdupf("%s.%s", kind ? kind : "core", st->name);
}

int temper_stage_state_get(struct temper_stage *st, const char *key, char **value)
{
    *value = NULL;
    if (!st || !st->host || !st->host->kv_get) {
        return TEMPER_ENOTFOUND;
    }
    char *ns = state_ns(st);
    if (!ns) {
        return TEMPER_ENOMEM;
    }
    int rc = st->host->kv_get(st->host_ctx, ns, key, value);
    free(ns);
    return rc;
}

int temper_stage_state_put(struct temper_stage *st, const char *key, const char *value)
{
    if (!st || !st->host || !st->host->kv_put) {
        return TEMPER_ENOTSUP;
    }
    char *ns = state_ns(st);
    if (!ns) {
        return TEMPER_ENOMEM;
    }
    int rc = st->host->kv_put(st->host_ctx, ns, key, value);
    free(ns);
    return rc;
}

void temper_stage_progress(struct temper_stage *st, const char *what,
                           unsigned long long done, unsigned long long total)
{
    temper_log(st, TEMPER_LOG_LVL_DEBUG, "progress %s %llu/%llu", what ? what : "",
               done, total);
}

/* ---- findings and cases ------------------------------------------------ */

/* Redacted copy capped at STAGE_TEXT_MAX bytes (redacted before the cut);
 * NULL stays NULL. */
static int dup_capped(const char *s, const char **out)
{
    *out = NULL;
    if (!s) {
        return TEMPER_OK;
    }
    char *p = temper_log_format(STAGE_TEXT_MAX + 1, "%s", s);
    if (!p) {
        return TEMPER_ENOMEM;
    }
    *out = p;
    return TEMPER_OK;
}

#define FIELD_IN(ptr, type, f) ((ptr)->size >= offsetof(type, f) + sizeof((ptr)->f))

static int grow(void **v, size_t *cap, size_t n, size_t elem, size_t max)
{
    if (n >= max) {
        return TEMPER_ELIMIT;
    }
    if (n < *cap) {
        return TEMPER_OK;
    }
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*v, ncap * elem);
    if (!p) {
        return TEMPER_ENOMEM;
    }
    *v = p;
    *cap = ncap;
    return TEMPER_OK;
}

int temper_stage_finding(struct temper_stage *st, const struct temper_finding *f)
{
    if (!st || !f || !FIELD_IN(f, struct temper_finding, message) || !f->rule) {
        return TEMPER_EINVAL;
    }
    int rc = grow((void **)&st->findings, &st->cap_findings, st->n_findings,
                  sizeof *st->findings, STAGE_MAX_FINDINGS);
    if (rc != TEMPER_OK) {
        return rc;
    }
    struct temper_finding *d = &st->findings[st->n_findings];
    memset(d, 0, sizeof *d);
    d->size = sizeof *d;
    d->severity = f->severity;
    d->confidence = f->confidence < 0 ? 0 : f->confidence > 100 ? 100 : f->confidence;
    d->line = f->line;
    rc = dup_capped(f->rule, &d->rule);
    if (rc == TEMPER_OK) {
        rc = dup_capped(f->file, &d->file);
    }
    if (rc == TEMPER_OK) {
        rc = dup_capped(f->commit, &d->commit);
    }
    if (rc == TEMPER_OK) {
        rc = dup_capped(f->message, &d->message);
    }
    if (rc == TEMPER_OK && FIELD_IN(f, struct temper_finding, evidence)) {
        rc = dup_capped(f->evidence, &d->evidence);
    }
    if (rc != TEMPER_OK) {
        finding_cleanup(d);
        return rc;
    }
    st->n_findings++;
    return TEMPER_OK;
}

size_t temper_stage_finding_count(const struct temper_stage *st)
{
    return st ? st->n_findings : 0;
}

const struct temper_finding *temper_stage_finding_at(const struct temper_stage *st,
                                                     size_t i)
{
    return st && i < st->n_findings ? &st->findings[i] : NULL;
}

int temper_stage_case(struct temper_stage *st, const struct temper_case *c)
{
    if (!st || !c || !FIELD_IN(c, struct temper_case, message) || !c->name) {
        return TEMPER_EINVAL;
    }
    int rc = grow((void **)&st->cases, &st->cap_cases, st->n_cases, sizeof *st->cases,
                  STAGE_MAX_CASES);
    if (rc != TEMPER_OK) {
        return rc;
    }
    struct temper_case *d = &st->cases[st->n_cases];
    memset(d, 0, sizeof *d);
    d->size = sizeof *d;
    d->status = c->status;
    d->duration_ms = c->duration_ms;
    rc = dup_capped(c->suite ? c->suite : st->name, &d->suite);
    if (rc == TEMPER_OK) {
        rc = dup_capped(c->name, &d->name);
    }
    if (rc == TEMPER_OK) {
        rc = dup_capped(c->message, &d->message);
    }
    if (rc == TEMPER_OK && FIELD_IN(c, struct temper_case, output)) {
        rc = dup_capped(c->output, &d->output);
    }
    if (rc != TEMPER_OK) {
        case_cleanup(d);
        return rc;
    }
    st->n_cases++;
    return TEMPER_OK;
}

size_t temper_stage_case_count(const struct temper_stage *st)
{
    return st ? st->n_cases : 0;
}

const struct temper_case *temper_stage_case_at(const struct temper_stage *st, size_t i)
{
    return st && i < st->n_cases ? &st->cases[i] : NULL;
}

/* ---- store records ----------------------------------------------------- */

void temper_job_cleanup(struct temper_job *job)
{
    if (!job) {
        return;
    }
    free(job->image);
    free(job->variant);
    free(job->version);
    free(job->reason);
    free(job->change);
    free(job->dedup_key);
    free(job->worker);
    free(job->last_error);
    memset(job, 0, sizeof *job);
}

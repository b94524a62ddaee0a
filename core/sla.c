/* temper — vulnerability SLA from the facts attest_openvex keeps and the
 * published runs of the store (see sla.h). */
#include "config.h"
#include "sla.h"
#include "pipeline_priv.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define SLA_MAX_RUNS 1000000
#define SLA_MAX_ITEMS 200000
#define SLA_MAX_NS 16
#define SLA_MAX_RECORD (64 * 1024 * 1024)
#define SLA_TEXT_MAX 512

struct run_ref {
    long long id;
    long long at;          /* finished: the publication time */
    char *image;
    char *invocation;
};

struct sla_ctx {
    struct temper_runtime *rt;
    const char *image;      /* filter, or NULL */
    struct run_ref *runs;
    size_t n_runs, cap_runs;
    char *ns[SLA_MAX_NS];
    size_t n_ns;
    struct temper_sla_report *rep;
    struct json_object *open; /* "<image>\n<variant>\n<vuln>|<eco>|<pkg>" -> item index */
    int rc;
};

void temper_sla_time(long long ms, char *out, size_t n)
{
    if (ms <= 0) {
        snprintf(out, n, "-");
        return;
    }
    temper_rfc3339(ms, out, n);
}

long long temper_sla_window(const struct temper_config *c, const char *severity)
{
    static const char *const words[] = { "critical", "high", "medium", "low" };
    const long long win[] = { c->sla.critical, c->sla.high, c->sla.medium, c->sla.low };
    for (size_t i = 0; severity && i < 4; i++) {
        if (strcmp(severity, words[i]) == 0) {
            return win[i];
        }
    }
    return 0;
}

/* Printable text of at most `max` bytes (no control characters). */
static bool text_ok(const char *s, size_t max)
{
    if (!s || !s[0]) {
        return false;
    }
    size_t i = 0;
    for (; s[i] && i <= max; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f) {
            return false;
        }
    }
    return i <= max;
}

static const char *jstr(const struct json_object *o, const char *key)
{
    const char *s = temper_json_get_str(o, key);
    return text_ok(s, SLA_TEXT_MAX) ? s : NULL;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void item_free(struct temper_sla_item *it)
{
    free(it->image);
    free(it->variant);
    free(it->vuln);
    free(it->ecosystem);
    free(it->package);
    free(it->scheme);
    free(it->severity);
    free(it->installed);
    free(it->fixed);
    free(it->fixed_by);
    free(it->summary);
}

void temper_sla_report_cleanup(struct temper_sla_report *r)
{
    for (size_t i = 0; r && i < r->n; i++) {
        item_free(&r->items[i]);
    }
    if (r) {
        free(r->items);
        memset(r, 0, sizeof *r);
    }
}

/* ---- the published runs ----------------------------------------------------- */

static int keep_run(void *vctx, const struct temper_run_record *r)
{
    struct sla_ctx *c = vctx;
    if (r->status != TEMPER_RUN_OK || r->finished_at <= 0 || !text_ok(r->image, 256) ||
        !text_ok(r->invocation_id, 128) || (c->image && strcmp(c->image, r->image) != 0)) {
        return 0;
    }
    if (c->n_runs == SLA_MAX_RUNS) {
        c->rc = temper_fail(c->rt->store.st, TEMPER_ELIMIT, "more than %d published runs",
                            SLA_MAX_RUNS);
        return 1;
    }
    if (c->n_runs == c->cap_runs) {
        size_t cap = c->cap_runs ? 2 * c->cap_runs : 64;
        struct run_ref *v = realloc(c->runs, cap * sizeof *v);
        if (!v) {
            c->rc = TEMPER_ENOMEM;
            return 1;
        }
        c->runs = v;
        c->cap_runs = cap;
    }
    struct run_ref *x = &c->runs[c->n_runs];
    x->id = r->id;
    x->at = r->finished_at;
    x->image = strdup(r->image);
    x->invocation = strdup(r->invocation_id);
    c->n_runs++;
    if (!x->image || !x->invocation) {
        c->rc = TEMPER_ENOMEM;
        return 1;
    }
    return 0;
}

static int cmp_run(const void *a, const void *b)
{
    const struct run_ref *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The namespaces of the attest_openvex stages of the config. */
static int find_namespaces(struct sla_ctx *c)
{
    const struct temper_config *cfg = c->rt->cfg;
    for (size_t i = 0; i < cfg->n_plugins && c->n_ns < SLA_MAX_NS; i++) {
        const struct temper_conf_plugin *p = cfg->plugins[i];
        if (p->kind == TEMPER_KIND_ATTEST && p->module &&
            strcmp(p->module->module, "attest_openvex") == 0) {
            c->ns[c->n_ns] = temper_strdupf("attest.%s", p->instance);
            if (!c->ns[c->n_ns++]) {
                return TEMPER_ENOMEM;
            }
        }
    }
    return TEMPER_OK;
}

/* A JSON object kept under `key` in the first namespace that has it; NULL
 * when none has it or it is damaged (logged: a report goes on without it). */
static struct json_object *kv_json(struct sla_ctx *c, const char *key, int *rc)
{
    struct temper_store *s = &c->rt->store;
    for (size_t i = 0; i < c->n_ns; i++) {
        char *text = NULL;
        struct json_object *o = NULL;
        int g = s->ops->kv_get(s->state, c->ns[i], key, &text);
        if (g == TEMPER_ENOTFOUND) {
            continue;
        }
        if (g != TEMPER_OK) {
            *rc = g;
            return NULL;
        }
        g = temper_json_parse(NULL, key, text, strlen(text), SLA_MAX_RECORD, 16, &o);
        free(text);
        if (g == TEMPER_ENOMEM) {
            *rc = g;
            return NULL;
        }
        if (g == TEMPER_OK && json_object_is_type(o, json_type_object)) {
            return o;
        }
        json_object_put(o);
        temper_log(NULL, TEMPER_LOG_LVL_WARN, "%s %s: not an SLA record, ignored", c->ns[i], key);
    }
    return NULL;
}

char *temper_sla_run_digest(struct temper_runtime *rt, const char *invocation)
{
    struct sla_ctx c = { .rt = rt };
    int rc = find_namespaces(&c);
    char *key = temper_strdupf("sla.run:%s", invocation);
    struct json_object *rec = rc == TEMPER_OK && key ? kv_json(&c, key, &rc) : NULL;
    const char *d = jstr(rec, "digest");
    char *out = d && strncmp(d, "sha256:", 7) == 0 ? strdup(d) : NULL;
    json_object_put(rec);
    free(key);
    for (size_t i = 0; i < c.n_ns; i++) {
        free(c.ns[i]);
    }
    return out;
}

/* ---- replaying one published run ------------------------------------------------ */

static int new_item(struct sla_ctx *c, const struct run_ref *run, const char *variant,
                    struct json_object *e, const char *key)
{
    struct temper_sla_report *r = c->rep;
    const char *vuln = jstr(e, "vuln"), *eco = jstr(e, "ecosystem"), *pkg = jstr(e, "package");
    const char *ver = jstr(e, "version"), *scheme = jstr(e, "scheme");
    if (!vuln || !eco || !pkg || !ver || r->n == SLA_MAX_ITEMS) {
        return TEMPER_OK; /* not an item we can follow */
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct temper_sla_item *v = realloc(r->items, cap * sizeof *v);
        if (!v) {
            return TEMPER_ENOMEM;
        }
        r->items = v;
        r->cap = cap;
    }
    struct temper_sla_item *it = &r->items[r->n++];
    memset(it, 0, sizeof *it);
    it->image = strdup(run->image);
    it->variant = dup_or_null(variant);
    it->vuln = strdup(vuln);
    it->ecosystem = strdup(eco);
    it->package = strdup(pkg);
    it->scheme = strdup(scheme && strcmp(scheme, "apk") == 0 ? "apk" : "dpkg");
    it->severity = dup_or_null(jstr(e, "severity"));
    it->installed = strdup(ver);
    it->fixed = dup_or_null(jstr(e, "fixed"));
    it->opened = run->at;
    if (!it->image || (variant && !it->variant) || !it->vuln || !it->ecosystem ||
        !it->package || !it->scheme || !it->installed) {
        return TEMPER_ENOMEM;
    }
    return temper_json_add(c->open, key, json_object_new_int64((int64_t)(r->n - 1)));
}

static enum temper_vscheme scheme_of(const struct temper_sla_item *it)
{
    return strcmp(it->scheme, "apk") == 0 ? TEMPER_VSCHEME_APK : TEMPER_VSCHEME_DPKG;
}

/* Does this publication close the open item? */
static bool closes(struct temper_sla_item *it, struct json_object *packages,
                   struct json_object *affected, const char *suffix, const char **by)
{
    char pk[2 * SLA_TEXT_MAX + 2];
    snprintf(pk, sizeof pk, "%s|%s", it->ecosystem, it->package);
    const char *have = jstr(packages, pk);
    *by = have;
    if (!have) {
        return true; /* the package left the image */
    }
    if (it->fixed && temper_version_cmp(scheme_of(it), have, it->fixed) >= 0) {
        return true;
    }
    return !json_object_object_get_ex(affected, suffix, NULL);
}

static int close_items(struct sla_ctx *c, const struct run_ref *run, const char *prefix,
                       struct json_object *packages, struct json_object *affected)
{
    size_t plen = strlen(prefix);
    struct json_object *gone = json_object_new_array();
    if (!gone) {
        return TEMPER_ENOMEM;
    }
    int rc = TEMPER_OK;
    json_object_object_foreach(c->open, key, val)
    {
        if (rc != TEMPER_OK || strncmp(key, prefix, plen) != 0) {
            continue;
        }
        struct temper_sla_item *it = &c->rep->items[json_object_get_int64(val)];
        const char *by = NULL;
        if (closes(it, packages, affected, key + plen, &by)) {
            it->closed = run->at;
            it->fixed_by = dup_or_null(by);
            rc = by && !it->fixed_by ? TEMPER_ENOMEM
                                     : temper_json_append(gone, json_object_new_string(key));
        }
    }
    for (size_t i = 0; i < json_object_array_length(gone); i++) {
        json_object_object_del(c->open, json_object_get_string(json_object_array_get_idx(gone,
                                                                                         i)));
    }
    json_object_put(gone);
    return rc;
}

static int apply_record(struct sla_ctx *c, const struct run_ref *run, struct json_object *rec)
{
    const char *variant = jstr(rec, "variant");
    struct json_object *packages = temper_json_get_object(rec, "packages");
    size_t n = 0;
    struct json_object *items = temper_json_get_array(rec, "items", &n);
    struct json_object *affected = json_object_new_object(); /* suffix -> item */
    char *prefix = temper_strdupf("%s\n%s\n", run->image, variant ? variant : "");
    int rc = affected && prefix ? TEMPER_OK : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && i < n && i < SLA_MAX_ITEMS; i++) {
        struct json_object *e = json_object_array_get_idx(items, i);
        const char *v = jstr(e, "vuln"), *eco = jstr(e, "ecosystem"), *p = jstr(e, "package");
        char *suffix = v && eco && p ? temper_strdupf("%s|%s|%s", v, eco, p) : NULL;
        if (suffix) {
            rc = temper_json_add(affected, suffix, json_object_get(e));
        }
        free(suffix);
    }
    if (rc == TEMPER_OK) {
        rc = close_items(c, run, prefix, packages, affected);
    }
    json_object_object_foreach(affected, suffix, e)
    {
        char *key = rc == TEMPER_OK ? temper_strdupf("%s%s", prefix, suffix) : NULL;
        rc = rc == TEMPER_OK && !key ? TEMPER_ENOMEM : rc;
        if (key && !json_object_object_get_ex(c->open, key, NULL)) {
            rc = new_item(c, run, variant, e, key);
        }
        free(key);
    }
    json_object_put(affected);
    free(prefix);
    return rc;
}

/* ---- facts and deadlines ---------------------------------------------------- */

static long long jtime(const struct json_object *o, const char *key)
{
    int64_t v = 0;
    return temper_json_get_int64(o, key, 1, INT64_MAX / 2, &v) == TEMPER_OK ? v : 0;
}

static int add_facts(struct sla_ctx *c, struct temper_sla_item *it)
{
    int rc = TEMPER_OK;
    char *key = temper_strdupf("sla.vuln:%s|%s|%s", it->ecosystem, it->package, it->vuln);
    struct json_object *f = key ? kv_json(c, key, &rc) : NULL;
    free(key);
    if (!f) {
        return key ? rc : TEMPER_ENOMEM;
    }
    long long published = jtime(f, "published"), seen = jtime(f, "first_seen");
    it->known = published ? published : seen;
    it->fix_available = jtime(f, "fix_seen");
    const char *sev = jstr(f, "severity"), *fixed = jstr(f, "fixed");
    const char *summary = jstr(f, "summary");
    if (summary) {
        it->summary = strdup(summary);
        rc = it->summary ? rc : TEMPER_ENOMEM;
    }
    if (sev) {
        free(it->severity);
        it->severity = strdup(sev);
        rc = it->severity ? rc : TEMPER_ENOMEM;
    }
    if (fixed && !it->fixed) {
        it->fixed = strdup(fixed);
        rc = it->fixed ? rc : TEMPER_ENOMEM;
    }
    json_object_put(f);
    return rc;
}

static void judge(const struct temper_config *cfg, struct temper_sla_report *r,
                  struct temper_sla_item *it)
{
    it->window = temper_sla_window(cfg, it->severity);
    if (it->window > 0 && it->fix_available > 0) {
        it->deadline = it->fix_available + it->window;
        long long end = it->closed ? it->closed : r->now;
        it->breach = end > it->deadline;
    }
    r->n_open += it->closed == 0;
    r->n_breach += it->breach;
}

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_item(const void *a, const void *b)
{
    const struct temper_sla_item *x = a, *y = b;
    int k = strcmp(x->image, y->image);
    k = k ? k : cmp_str(x->variant, y->variant);
    k = k ? k : strcmp(x->vuln, y->vuln);
    k = k ? k : strcmp(x->package, y->package);
    return k ? k : (x->opened < y->opened ? -1 : x->opened > y->opened);
}

static int replay(struct sla_ctx *c)
{
    struct temper_store *s = &c->rt->store;
    int rc = s->ops->run_list(s->state, 0, keep_run, c);
    rc = c->rc != TEMPER_OK ? c->rc : rc;
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (c->n_runs > 1) {
        qsort(c->runs, c->n_runs, sizeof *c->runs, cmp_run);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < c->n_runs; i++) {
        char *key = temper_strdupf("sla.run:%s", c->runs[i].invocation);
        struct json_object *rec = key ? kv_json(c, key, &rc) : NULL;
        rc = key ? rc : TEMPER_ENOMEM;
        if (rec) {
            rc = apply_record(c, &c->runs[i], rec);
        }
        json_object_put(rec);
        free(key);
    }
    return rc;
}

int temper_sla_compute(struct temper_runtime *rt, const char *image, long long now,
                       struct temper_sla_report *out)
{
    memset(out, 0, sizeof *out);
    out->now = now;
    struct sla_ctx c = { .rt = rt, .image = image, .rep = out };
    c.open = json_object_new_object();
    int rc = c.open ? find_namespaces(&c) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && c.n_ns > 0) {
        rc = replay(&c);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < out->n; i++) {
        rc = add_facts(&c, &out->items[i]);
        judge(rt->cfg, out, &out->items[i]);
    }
    if (rc == TEMPER_OK && out->n > 1) {
        qsort(out->items, out->n, sizeof *out->items, cmp_item);
    }
    for (size_t i = 0; i < c.n_runs; i++) {
        free(c.runs[i].image);
        free(c.runs[i].invocation);
    }
    free(c.runs);
    for (size_t i = 0; i < c.n_ns; i++) {
        free(c.ns[i]);
    }
    json_object_put(c.open);
    return rc;
}

/* temper — attest_openvex: severities, and the SLA facts the stage keeps.
 *
 * Severity of a vulnerability for one source package, the highest of:
 *   - OSV database_specific.severity and affected[].ecosystem_specific /
 *     database_specific .severity words (GHSA CRITICAL/HIGH/MODERATE/LOW,
 *     Ubuntu's negligible..critical, Debian urgencies);
 *   - OSV severity[] entries of type CVSS_V3 (record and entry level): the
 *     CVSS v3.x base score of the vector, rated as the CVSS specification
 *     does (>= 9.0 critical, >= 7.0 high, >= 4.0 medium, > 0 low);
 *   - the Debian security tracker's urgency (high, medium, low; unimportant
 *     counts as low; "**" marks are ignored).
 *
 * SLA facts (read by `temper sla` and `temper status`, core/sla.c), written
 * through the stage's key/value state (store namespace "attest.<instance>"),
 * so every store plugin keeps them without a schema of its own:
 *   "sla.run:<invocation id>"  one per evaluation, i.e. per run:
 *       {"image", "variant", "digest", "at",
 *        "packages": {"<ecosystem>|<source>": "<installed source version>"},
 *        "items": [{"vuln", "ecosystem", "package", "version", "scheme",
 *                   "severity", "fixed"}]}     (affected statements only)
 *   "sla.vuln:<ecosystem>|<source>|<vuln>"  kept across runs and images:
 *       {"first_seen", "published", "severity", "fixed", "fix_seen", "summary"}
 *     created the first time the vulnerability affects an image; fix_seen is
 *     the first evaluation that saw a fixed version (an affected statement
 *     with a fix, or a fixed statement).  Times are Unix ms from the stage
 *     clock (temper_stage_now_ms). */
#include "config.h"
#include "vex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLA_MAX_ITEMS 20000
#define SLA_KEY_MAX 1024

static const char *const sev_words[] = { NULL, "low", "medium", "high", "critical" };

int vex_severity_rank(const char *sev)
{
    for (int i = 1; sev && i <= 4; i++) {
        if (strcmp(sev, sev_words[i]) == 0) {
            return i;
        }
    }
    return 0;
}

/* A severity word of any feed as one of ours (case-insensitive). */
static const char *severity_word(const char *w)
{
    static const struct { const char *in; int rank; } map[] = {
        { "critical", 4 }, { "important", 3 }, { "high", 3 }, { "moderate", 2 },
        { "medium", 2 }, { "low", 1 }, { "negligible", 1 }, { "unimportant", 1 },
    };
    char buf[32];
    size_t n = 0;
    for (; w && w[n] && w[n] != '*' && n < sizeof buf - 1; n++) {
        char ch = w[n];
        buf[n] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    }
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == ' ') {
        buf[--n] = '\0';
    }
    for (size_t i = 0; n && i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(buf, map[i].in) == 0) {
            return sev_words[map[i].rank];
        }
    }
    return NULL;
}

const char *vex_urgency_severity(const char *urgency)
{
    return severity_word(urgency);
}

/* ---- CVSS v3.x base score ------------------------------------------------ */

struct cvss_metric {
    const char *key;
    const char *vals;         /* one letter each */
    double w[4];
};

static const struct cvss_metric cvss_metrics[] = {
    { "AV", "NALP", { 0.85, 0.62, 0.55, 0.2 } },
    { "AC", "LH", { 0.77, 0.44 } },
    { "PR", "NLH", { 0.85, 0.62, 0.27 } },
    { "UI", "NR", { 0.85, 0.62 } },
    { "S", "UC", { 0, 1 } },
    { "C", "HLN", { 0.56, 0.22, 0 } },
    { "I", "HLN", { 0.56, 0.22, 0 } },
    { "A", "HLN", { 0.56, 0.22, 0 } },
};
#define CVSS_N 8

/* Index of each base metric's value in `vals`, -1 when missing. */
static bool cvss_parse(const char *vec, int idx[CVSS_N])
{
    if (strncmp(vec, "CVSS:3.0/", 9) != 0 && strncmp(vec, "CVSS:3.1/", 9) != 0) {
        return false;
    }
    for (int m = 0; m < CVSS_N; m++) {
        idx[m] = -1;
    }
    const char *p = vec + 9;
    for (int guard = 0; *p && guard < 64; guard++) {
        size_t len = strcspn(p, "/"), kl = strcspn(p, ":");
        for (int m = 0; kl < len && len == kl + 2 && m < CVSS_N; m++) {
            const char *at = strlen(cvss_metrics[m].key) == kl &&
                                     strncmp(p, cvss_metrics[m].key, kl) == 0
                                 ? strchr(cvss_metrics[m].vals, p[kl + 1])
                                 : NULL;
            if (at && p[kl + 1]) {
                idx[m] = (int)(at - cvss_metrics[m].vals);
            }
        }
        p += len + (p[len] == '/');
    }
    for (int m = 0; m < CVSS_N; m++) {
        if (idx[m] < 0) {
            return false;
        }
    }
    return true;
}

/* CVSS v3.1 Roundup, in tenths. */
static long roundup_tenths(double x)
{
    long i = (long)(x * 100000.0 + 0.5);
    return i % 10000 == 0 ? i / 10000 : i / 10000 + 1;
}

/* Base score in tenths (0..100), or -1 for an unreadable vector. */
static long cvss3_score(const char *vec)
{
    int idx[CVSS_N];
    if (!vec || !cvss_parse(vec, idx)) {
        return -1;
    }
    bool changed = idx[4] == 1;
    double pr = cvss_metrics[2].w[idx[2]];
    if (changed && idx[2] > 0) {
        pr = idx[2] == 1 ? 0.68 : 0.5;
    }
    double iss = 1.0 - (1.0 - cvss_metrics[5].w[idx[5]]) * (1.0 - cvss_metrics[6].w[idx[6]]) *
                           (1.0 - cvss_metrics[7].w[idx[7]]);
    double impact = 6.42 * iss;
    if (changed) {
        double p15 = 1.0;
        for (int i = 0; i < 15; i++) {
            p15 *= iss - 0.02;
        }
        impact = 7.52 * (iss - 0.029) - 3.25 * p15;
    }
    double expl = 8.22 * cvss_metrics[0].w[idx[0]] * cvss_metrics[1].w[idx[1]] * pr *
                  cvss_metrics[3].w[idx[3]];
    if (impact <= 0) {
        return 0;
    }
    double sum = changed ? 1.08 * (impact + expl) : impact + expl;
    return roundup_tenths(sum > 10.0 ? 10.0 : sum);
}

static const char *score_word(long tenths)
{
    return tenths >= 90 ? "critical" : tenths >= 70 ? "high" : tenths >= 40 ? "medium"
           : tenths > 0 ? "low" : NULL;
}

static const char *max_sev(const char *a, const char *b)
{
    return vex_severity_rank(b) > vex_severity_rank(a) ? b : a;
}

static const char *severity_list(struct json_object *obj)
{
    size_t n = 0;
    struct json_object *arr = temper_json_get_array(obj, "severity", &n);
    const char *best = NULL;
    for (size_t i = 0; i < n && i < 16; i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        const char *type = temper_json_get_str(e, "type");
        if (type && strcmp(type, "CVSS_V3") == 0) {
            best = max_sev(best, score_word(cvss3_score(temper_json_get_str(e, "score"))));
        }
    }
    return best;
}

const char *vex_osv_severity(struct json_object *rec, struct json_object *ent)
{
    const char *s = severity_word(temper_json_get_str(rec, "database_specific.severity"));
    s = max_sev(s, severity_list(rec));
    if (ent) {
        s = max_sev(s, severity_word(temper_json_get_str(ent, "ecosystem_specific.severity")));
        s = max_sev(s, severity_word(temper_json_get_str(ent, "database_specific.severity")));
        s = max_sev(s, severity_list(ent));
    }
    return s;
}

long long vex_time_ms(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end) {
        return 0;
    }
    if (*end == '.') {
        end += 1 + strspn(end + 1, "0123456789");
    }
    time_t t = timegm(&tm);
    if ((*end != 'Z' && *end != 'z') || end[1] || t == (time_t)-1 || t <= 0) {
        return 0;
    }
    return (long long)t * 1000;
}

/* ---- the records ----------------------------------------------------------- */

static const char *scheme_name(const struct vex_src *s)
{
    return s->distro.scheme == TEMPER_VSCHEME_APK ? "apk" : "dpkg";
}

static struct json_object *item_json(int *rc, const struct vex_hit *h)
{
    struct json_object *o = ac_new_obj(rc);
    ac_put_str(rc, o, "vuln", h->vuln);
    ac_put_str(rc, o, "ecosystem", h->s->distro.ecosystem);
    ac_put_str(rc, o, "package", h->s->name);
    ac_put_str(rc, o, "version", h->s->version);
    ac_put_str(rc, o, "scheme", scheme_name(h->s));
    ac_put_str(rc, o, "severity", h->severity);
    ac_put_str(rc, o, "fixed", h->fixed);
    return o;
}

static int put_json(struct vex_ctx *c, const char *key, struct json_object *o)
{
    char *text = NULL;
    int rc = temper_json_canonical(o, &text, NULL);
    if (rc == TEMPER_OK) {
        rc = temper_stage_state_put(c->st, key, text);
    }
    free(text);
    return rc;
}

static int run_record(struct vex_ctx *c, const struct ac_input *in, const char *invocation,
                      long long now)
{
    int rc = TEMPER_OK;
    struct json_object *o = ac_new_obj(&rc), *pk = ac_new_obj(&rc), *items = ac_new_arr(&rc);
    ac_put_str(&rc, o, "image", in->s.name);
    ac_put_str(&rc, o, "variant", in->s.variant);
    ac_put_str(&rc, o, "digest", in->s.digest);
    ac_put(&rc, o, "at", rc == TEMPER_OK ? json_object_new_int64(now) : NULL);
    for (size_t i = 0; rc == TEMPER_OK && i < c->n_srcs; i++) {
        const struct vex_src *s = &c->srcs[i];
        char *k = s->distro_known ? temper_strdupf("%s|%s", s->distro.ecosystem, s->name) : NULL;
        rc = s->distro_known && !k ? TEMPER_ENOMEM : rc;
        if (k) {
            ac_put_str(&rc, pk, k, s->version);
        }
        free(k);
    }
    size_t n = 0;
    for (size_t i = 0; rc == TEMPER_OK && i < c->n_hits && n < SLA_MAX_ITEMS; i++) {
        if (c->hits[i].status == VEX_AFFECTED) {
            ac_push(&rc, items, item_json(&rc, &c->hits[i]));
            n++;
        }
    }
    ac_put(&rc, o, "packages", pk);
    ac_put(&rc, o, "items", items);
    char *key = temper_strdupf("sla.run:%s", invocation);
    rc = rc == TEMPER_OK && !key ? TEMPER_ENOMEM : rc;
    if (rc == TEMPER_OK) {
        rc = put_json(c, key, o);
    }
    free(key);
    json_object_put(o);
    return rc;
}

static void set_time(int *rc, struct json_object *o, const char *k, long long ms)
{
    ac_put(rc, o, k, *rc == TEMPER_OK ? json_object_new_int64(ms) : NULL);
}

/* Merge what this evaluation knows into the vulnerability's facts. */
static int merge_facts(struct json_object *f, const struct vex_hit *h, long long now,
                       bool *changed)
{
    int rc = TEMPER_OK;
    int64_t old = 0;
    if (temper_json_get_int64(f, "first_seen", 1, INT64_MAX, &old) != TEMPER_OK) {
        set_time(&rc, f, "first_seen", now);
        *changed = true;
    }
    if (h->published > 0 &&
        (temper_json_get_int64(f, "published", 1, INT64_MAX, &old) != TEMPER_OK ||
         h->published < old)) {
        set_time(&rc, f, "published", h->published);
        *changed = true;
    }
    const char *sev = temper_json_get_str(f, "severity");
    if (h->severity && (!sev || strcmp(sev, h->severity) != 0)) {
        ac_put_str(&rc, f, "severity", h->severity);
        *changed = true;
    }
    const char *sum = temper_json_get_str(f, "summary");
    if (h->summary && (!sum || strcmp(sum, h->summary) != 0)) {
        ac_put_str(&rc, f, "summary", h->summary);
        *changed = true;
    }
    const char *fix = temper_json_get_str(f, "fixed");
    if (h->fixed && (!fix || strcmp(fix, h->fixed) != 0)) {
        ac_put_str(&rc, f, "fixed", h->fixed);
        *changed = true;
    }
    bool fix_known = h->fixed || h->status == VEX_FIXED;
    if (fix_known && temper_json_get_int64(f, "fix_seen", 1, INT64_MAX, &old) != TEMPER_OK) {
        set_time(&rc, f, "fix_seen", now);
        *changed = true;
    }
    return rc;
}

static int vuln_facts(struct vex_ctx *c, const struct vex_hit *h, long long now)
{
    char key[SLA_KEY_MAX];
    int n = snprintf(key, sizeof key, "sla.vuln:%s|%s|%s", h->s->distro.ecosystem, h->s->name,
                     h->vuln);
    if (n < 0 || (size_t)n >= sizeof key) {
        return TEMPER_OK; /* names this long are not worth tracking */
    }
    char *text = NULL;
    struct json_object *f = NULL;
    int rc = temper_stage_state_get(c->st, key, &text);
    if (rc == TEMPER_ENOTFOUND && h->status != VEX_AFFECTED) {
        return TEMPER_OK; /* only what once affected an image is tracked */
    }
    if (rc == TEMPER_OK) {
        rc = temper_json_parse(NULL, key, text, strlen(text), 65536, 8, &f);
        if (rc != TEMPER_OK || !json_object_is_type(f, json_type_object)) {
            json_object_put(f);
            f = NULL; /* a damaged record starts again */
        }
    }
    rc = TEMPER_OK;
    f = f ? f : json_object_new_object();
    bool changed = false;
    rc = f ? merge_facts(f, h, now, &changed) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && changed) {
        rc = put_json(c, key, f);
    }
    json_object_put(f);
    free(text);
    return rc;
}

int vex_sla_record(struct vex_ctx *c, const struct ac_input *in,
                   const struct temper_artifact *run)
{
    const char *invocation = temper_artifact_get(run, TEMPER_RUN_INVOCATION_ID);
    long long now = temper_stage_now_ms(c->st);
    if (!invocation || !ac_text_ok(invocation, 128)) {
        TEMPER_LOG_DEBUG(c->st, "run record has no invocation id: no SLA facts kept");
        return TEMPER_OK;
    }
    int rc = run_record(c, in, invocation, now);
    if (rc == TEMPER_ENOTSUP) {
        TEMPER_LOG_DEBUG(c->st, "no store: no SLA facts kept");
        return TEMPER_OK;
    }
    for (size_t i = 0; rc == TEMPER_OK && i < c->n_hits; i++) {
        enum vex_status s = c->hits[i].status;
        if (s == VEX_AFFECTED || s == VEX_FIXED) {
            rc = vuln_facts(c, &c->hits[i], now);
        }
    }
    if (rc != TEMPER_OK && !temper_stage_error(c->st)) {
        rc = temper_fail(c->st, rc, "cannot keep the SLA facts of %s in the store", in->s.name);
    }
    return rc;
}

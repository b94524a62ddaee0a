/* temper — shared part of the package trackers (see pkgtrack.h). */
#include "config.h"
#include "pkgtrack.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAGIC "temper-pkgstate 1 "
/* Downgrade warnings per round before they are only counted. */
#define MAX_DOWNGRADE_WARNINGS 20

int pkgtrack_http_new(struct temper_stage *st, const struct pkgtrack_conf *c,
                      struct temper_http **out)
{
    struct temper_http_opts o;
    temper_http_opts_init(&o);
    o.timeout_ms = (long)c->timeout;
    o.connect_timeout_ms = (long)(c->connect_timeout < c->timeout ? c->connect_timeout
                                                                   : c->timeout);
    o.max_retries = (int)c->retries;
    o.ca_file = c->ca_file;
    return temper_http_new(st, &o, out);
}

int pkgtrack_valid_url(struct temper_stage *st, const char *key, const char *url)
{
    bool ok = url && ((strncmp(url, "http://", 7) == 0 && url[7]) ||
                      (strncmp(url, "https://", 8) == 0 && url[8]));
    for (const char *p = url; ok && *p; p++) {
        ok = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f;
    }
    if (!ok) {
        return temper_fail(st, TEMPER_EINVAL, "%s must be an http:// or https:// URL", key);
    }
    return TEMPER_OK;
}

static bool word_char(char c, bool slash)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '+' || c == '~' || c == '-' || (slash && c == '/');
}

int pkgtrack_valid_word(struct temper_stage *st, const char *key, const char *v, bool slash)
{
    bool ok = v && *v && *v != '/';
    const char *seg = v;
    for (const char *p = v; ok; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - seg);
            ok = n > 0 && !(n == 1 && seg[0] == '.') && !(n == 2 && seg[0] == '.' &&
                                                           seg[1] == '.');
            seg = p + 1;
            if (*p == '\0') {
                break;
            }
        }
        ok = ok && word_char(*p, slash);
    }
    if (!ok) {
        return temper_fail(st, TEMPER_EINVAL, "%s '%s' is not a valid name (letters, digits,"
                           " '.', '_', '+', '~', '-'%s)", key, v ? v : "",
                           slash ? ", '/'" : "");
    }
    return TEMPER_OK;
}

int pkgtrack_fingerprint(const char *head, const struct temper_strlist *const *lists, size_t n,
                         char fp[17])
{
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    struct temper_buf b;
    temper_buf_init(&b, 0);
    int rc = temper_buf_printf(&b, "%s\n", head);
    for (size_t l = 0; l < n; l++) {
        for (size_t i = 0; rc == TEMPER_OK && i < lists[l]->n; i++) {
            rc = temper_buf_printf(&b, "%s ", lists[l]->v[i]);
        }
        rc = rc == TEMPER_OK ? temper_buf_puts(&b, "\n") : rc;
    }
    if (rc == TEMPER_OK) {
        rc = temper_sha256_hex(b.data, b.len, hex);
    }
    if (rc == TEMPER_OK) {
        memcpy(fp, hex, 16);
        fp[16] = '\0';
    }
    temper_buf_cleanup(&b);
    return rc;
}

int pkgtrack_url_len(const char *url)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/') {
        n--;
    }
    return n > INT_MAX ? INT_MAX : (int)n;
}

int pkgtrack_read_file(const char *path, size_t max, char **out, size_t *len)
{
    struct temper_buf b;
    char chunk[8192];
    *out = NULL;
    temper_buf_init(&b, max);
    FILE *f = fopen(path, "rb");
    int rc = f ? temper_buf_puts(&b, "") : TEMPER_EIO;
    while (rc == TEMPER_OK) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n == 0) {
            rc = ferror(f) ? TEMPER_EIO : TEMPER_OK;
            break;
        }
        rc = temper_buf_append(&b, chunk, n);
    }
    if (f) {
        fclose(f);
    }
    if (rc == TEMPER_OK) {
        *out = temper_buf_take(&b, len);
        rc = *out ? TEMPER_OK : TEMPER_ENOMEM;
    }
    temper_buf_cleanup(&b);
    return rc;
}

static bool in_list(const struct temper_strlist *l, const char *s)
{
    for (size_t i = 0; l && s && i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

bool pkgtrack_followed(const struct temper_strlist *names, const struct temper_strlist *sources,
                       const char *name, const char *source)
{
    if ((!names || names->n == 0) && (!sources || sources->n == 0)) {
        return true;
    }
    return in_list(names, name) || in_list(sources, source ? source : name);
}

/* A name or version we can keep: 1..PKGTRACK_MAX_TOKEN printable non-blank
 * ASCII bytes. */
static bool good_token(const char *s, size_t *len)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c <= 0x20 || c >= 0x7f || n >= PKGTRACK_MAX_TOKEN) {
            return false;
        }
    }
    if (len) {
        *len = n;
    }
    return n > 0;
}

int pkgtrack_set_add(struct temper_stage *st, struct pkgtrack_set *s, const char *name,
                     const char *version, const char *source)
{
    if (!good_token(name, NULL) || !good_token(version, NULL) ||
        (source && !good_token(source, NULL))) {
        s->skipped++;
        return TEMPER_OK;
    }
    if (s->n == s->cap) {
        if (s->cap >= PKGTRACK_MAX_PACKAGES) {
            return temper_fail(st, TEMPER_ELIMIT, "more than %u packages", PKGTRACK_MAX_PACKAGES);
        }
        size_t ncap = s->cap ? s->cap * 2 : 256;
        ncap = ncap > PKGTRACK_MAX_PACKAGES ? PKGTRACK_MAX_PACKAGES : ncap;
        struct pkgtrack_ent *nv = realloc(s->v, ncap * sizeof *nv);
        if (!nv) {
            return temper_fail(st, TEMPER_ENOMEM, "out of memory for the package set");
        }
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n++] = (struct pkgtrack_ent){ name, version, source };
    return TEMPER_OK;
}

void pkgtrack_set_cleanup(struct pkgtrack_set *s)
{
    free(s->v);
    free(s->text);
    memset(s, 0, sizeof *s);
}

/* ---- saved state ---------------------------------------------------------- */

static bool parse_header(char *line, char fp[17], long long *date)
{
    size_t m = strlen(STATE_MAGIC);
    if (strncmp(line, STATE_MAGIC, m) != 0 || strlen(line) < m + 18 || line[m + 16] != ' ') {
        return false;
    }
    for (size_t i = 0; i < 16; i++) {
        char c = line[m + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    memcpy(fp, line + m, 16);
    fp[16] = '\0';
    return temper_parse_ll(line + m + 17, date) == TEMPER_OK && *date >= -1;
}

/* Split `text` (owned by s->set afterwards) into entries; false when it is
 * not a state this code wrote. */
static bool decode(struct pkgtrack_state *s, char *text, char fp[17])
{
    s->set.text = text;
    char *nl = strchr(text, '\n');
    if (!nl) {
        return false;
    }
    *nl = '\0';
    if (!parse_header(text, fp, &s->date)) {
        return false;
    }
    for (char *line = nl + 1; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        char *sp = strchr(line, ' ');
        if (!nl || !sp || sp > nl) {
            return false;
        }
        *nl = '\0';
        *sp = '\0';
        const char *prev = s->set.n ? s->set.v[s->set.n - 1].name : NULL;
        size_t before = s->set.skipped;
        if (pkgtrack_set_add(NULL, &s->set, line, sp + 1, NULL) != TEMPER_OK ||
            s->set.skipped != before || (prev && strcmp(prev, line) >= 0)) {
            return false;
        }
    }
    return true;
}

int pkgtrack_state_load(struct temper_stage *st, const char *fp, struct pkgtrack_state *s)
{
    memset(s, 0, sizeof *s);
    s->date = -1;
    char *text = NULL;
    int rc = temper_stage_state_get(st, PKGTRACK_STATE_KEY, &text);
    if (rc == TEMPER_ENOTFOUND) {
        return TEMPER_OK;
    }
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "cannot read the saved package state: %s",
                           temper_rc_str(rc));
    }
    char saved_fp[17] = "";
    if (!decode(s, text, saved_fp)) {
        TEMPER_LOG_WARN(st, "the saved package state is not readable: starting a new baseline");
        pkgtrack_set_cleanup(&s->set);
        s->date = -1;
        return TEMPER_OK;
    }
    s->present = true;
    s->same_config = strcmp(saved_fp, fp) == 0;
    if (!s->same_config) {
        TEMPER_LOG_INFO(st, "the configuration changed since the last round: packages not"
                            " seen before are recorded without being reported");
    }
    return TEMPER_OK;
}

void pkgtrack_state_cleanup(struct pkgtrack_state *s)
{
    pkgtrack_set_cleanup(&s->set);
}

/* ---- one round ------------------------------------------------------------ */

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct pkgtrack_ent *)a)->name, ((const struct pkgtrack_ent *)b)->name);
}

/* Sort by name; of several entries with one name keep the greatest version. */
static void sort_unique(struct pkgtrack_set *s, int (*cmp)(const char *, const char *))
{
    if (s->n > 1) {
        qsort(s->v, s->n, sizeof *s->v, by_name);
    }
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (k > 0 && strcmp(s->v[k - 1].name, s->v[i].name) == 0) {
            if (cmp(s->v[i].version, s->v[k - 1].version) > 0) {
                s->v[k - 1] = s->v[i];
            }
            continue;
        }
        s->v[k++] = s->v[i];
    }
    s->n = k;
}

struct moved {
    const struct pkgtrack_ent *ent; /* from the index */
    const char *old;                /* NULL: new package */
};

struct plan {
    struct moved *moved;
    size_t n_moved;
    const char **keep;              /* version to save, per entry of `now` */
    size_t downgrades;
};

static void downgrade(struct temper_stage *st, const struct pkgtrack_round *r, struct plan *p,
                      const struct pkgtrack_ent *e, const char *old)
{
    if (p->downgrades++ < MAX_DOWNGRADE_WARNINGS) {
        TEMPER_LOG_WARN(st, "%s: %s went back from %s to %s: not reported, %s kept", r->what,
                        e->name, old, e->version, old);
    }
}

/* Merge-walk the sorted sets and decide what moved and what is saved. */
static void plan_round(struct temper_stage *st, const struct pkgtrack_round *r,
                       const struct pkgtrack_state *old, const struct pkgtrack_set *now,
                       struct plan *p)
{
    bool report_new = old->present ? old->same_config : r->report_initial;
    size_t j = 0;
    for (size_t i = 0; i < now->n; i++) {
        const struct pkgtrack_ent *e = &now->v[i];
        int c = 1;
        while (j < old->set.n && (c = strcmp(old->set.v[j].name, e->name)) < 0) {
            j++;
        }
        const char *was = j < old->set.n && c == 0 ? old->set.v[j].version : NULL;
        int order = was ? r->cmp(e->version, was) : 1;
        p->keep[i] = order > 0 ? e->version : was;
        if (order < 0) {
            downgrade(st, r, p, e, was);
        } else if (order > 0 && (was || report_new)) {
            p->moved[p->n_moved++] = (struct moved){ e, was };
        }
    }
}

static int encode(struct temper_stage *st, const struct pkgtrack_round *r,
                  const struct pkgtrack_set *now, const char *const *keep, char **out)
{
    struct temper_buf b;
    temper_buf_init(&b, 0);
    int rc = temper_buf_printf(&b, "%s%s %lld\n", STATE_MAGIC, r->fp, r->date);
    for (size_t i = 0; rc == TEMPER_OK && i < now->n; i++) {
        rc = temper_buf_printf(&b, "%s %s\n", now->v[i].name, keep[i]);
    }
    if (rc == TEMPER_OK) {
        *out = temper_buf_take(&b, NULL);
        rc = *out ? TEMPER_OK : TEMPER_ENOMEM;
    }
    temper_buf_cleanup(&b);
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "cannot encode the package state: %s", temper_rc_str(rc));
    }
    return TEMPER_OK;
}

static int emit_change(struct temper_stage *st, const struct pkgtrack_round *r,
                       const struct moved *m)
{
    const struct pkgtrack_ent *e = m->ent;
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_CHANGE, e->name);
    int rc = a ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_PACKAGE, e->name);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_SOURCE_PACKAGE, e->source ? e->source : e->name);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_DISTRIBUTION, r->distribution);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_OLD_VERSION, m->old ? m->old : "");
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_NEW_VERSION, e->version);
    }
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return temper_fail(st, rc, "cannot build the change of %s", e->name);
    }
    rc = temper_emit(st, a);
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "cannot report the change of %s", e->name);
    }
    return TEMPER_OK;
}

int pkgtrack_update(struct temper_stage *st, const struct pkgtrack_round *r,
                    const struct pkgtrack_state *old, struct pkgtrack_set *now,
                    size_t *changes)
{
    if (changes) {
        *changes = 0;
    }
    if (now->skipped) {
        TEMPER_LOG_WARN(st, "%s: %zu entries skipped (empty, over-long or blank-holding"
                            " names or versions)", r->what, now->skipped);
    }
    sort_unique(now, r->cmp);
    struct plan p = { .moved = calloc(now->n ? now->n : 1, sizeof *p.moved),
                      .keep = calloc(now->n ? now->n : 1, sizeof *p.keep) };
    char *text = NULL;
    int rc = p.moved && p.keep ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "out of memory");
    if (rc == TEMPER_OK) {
        plan_round(st, r, old, now, &p);
        rc = encode(st, r, now, p.keep, &text);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < p.n_moved; i++) {
        rc = emit_change(st, r, &p.moved[i]);
    }
    if (rc == TEMPER_OK) {
        rc = temper_stage_state_put(st, PKGTRACK_STATE_KEY, text);
        if (rc != TEMPER_OK) {
            rc = temper_fail(st, rc, "cannot save the package state: %s", temper_rc_str(rc));
        }
    }
    if (rc == TEMPER_OK) {
        TEMPER_LOG_INFO(st, "%s: %zu packages followed, %zu moved, %zu downgrades ignored%s",
                        r->what, now->n, p.n_moved, p.downgrades,
                        old->present ? "" : " (first round)");
        if (changes) {
            *changes = p.n_moved;
        }
    }
    free(text);
    free(p.moved);
    free(p.keep);
    return rc;
}

/* Without a state for this configuration the index must be fetched whole:
 * drop the validators the HTTP client keeps for it (http.h: key "http:" +
 * URL), so that the request is conditional only in what it stores. */
static int forget_validators(struct temper_stage *st, const char *url)
{
    char *key = temper_strdupf("http:%s", url);
    int rc = key ? temper_stage_state_put(st, key, NULL) : TEMPER_ENOMEM;
    free(key);
    if (rc != TEMPER_OK && rc != TEMPER_ENOTSUP) {
        return temper_fail(st, rc, "cannot reset the saved validators of %s: %s", url,
                           temper_rc_str(rc));
    }
    return TEMPER_OK;
}

int pkgtrack_poll(struct temper_stage *st, const struct pkgtrack_conf *c, const char *fp,
                  const char *url, unsigned long long max_body, size_t n_watches,
                  pkgtrack_accept_fn accept, void *ctx)
{
    struct pkgtrack_state old;
    struct temper_http *h = NULL;
    struct temper_http_resp resp;
    temper_http_resp_init(&resp);
    if (n_watches > 0) {
        TEMPER_LOG_DEBUG(st, "%zu watches ignored: package changes reach images through their"
                             " recorded packages", n_watches);
    }
    int rc = pkgtrack_state_load(st, fp, &old);
    if (rc == TEMPER_OK && !old.same_config) {
        rc = forget_validators(st, url);
    }
    if (rc == TEMPER_OK) {
        rc = pkgtrack_http_new(st, c, &h);
    }
    if (rc == TEMPER_OK) {
        struct temper_http_req req = {
            .size = sizeof req, .url = url, .max_body = max_body,
            .flags = TEMPER_HTTP_CONDITIONAL,
        };
        rc = temper_http_do(h, &req, &resp);
    }
    if (rc == TEMPER_OK && resp.not_modified) {
        TEMPER_LOG_DEBUG(st, "not modified: nothing to do");
    } else if (rc == TEMPER_OK) {
        rc = accept(ctx, st, h, &resp, &old);
    }
    temper_http_resp_cleanup(&resp);
    temper_http_free(h);
    pkgtrack_state_cleanup(&old);
    return rc;
}

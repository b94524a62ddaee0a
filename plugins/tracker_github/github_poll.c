/* temper — GitHub trackers: one polling round over many watches.
 *
 * The round advances in waves: wave k fetches page k of every watch that
 * still has one, all at once (gh_fetch), one request per distinct URL.
 * Every page request is conditional (If-None-Match with the ETag the SDK
 * keeps under "http:<url>").  A 304 page is replaced by the entry the watch
 * saved for it last time ({"url", "next", "best", "pinned"}) - a 304 carries
 * no body and no Link - and when that entry is missing or was made under
 * other filters the page is fetched again without validators.  A watch whose
 * pages all came back 304 reports nothing and writes nothing.  Otherwise the
 * best candidate over its pages is compared with the last version it
 * reported; the change is emitted first, then the watch's state is written
 * ("w:<id>"), then the pages' validators are committed, so a failure at any
 * point leaves the state as it was or makes the next round fetch again. */
#include "github.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct round {
    struct gh_state *s;
    struct temper_stage *st;
    struct temper_http *h;
    struct gh_watch *ws;
    size_t n;
    struct gh_call **calls; /* every call of the round, freed at the end */
    size_t n_calls, cap_calls;
    int first_rc;
    size_t n_ok;
};

struct slot {
    const char *url;
    size_t w;
};

static void watch_failed(struct round *r, struct gh_watch *gw, int rc)
{
    gw->failed = true;
    if (r->first_rc == TEMPER_OK) {
        r->first_rc = rc;
    }
}

static int add_call(struct round *r, const char *url, unsigned flags, struct gh_call **out)
{
    if (r->n_calls == r->cap_calls) {
        size_t cap = r->cap_calls ? r->cap_calls * 2 : 64;
        struct gh_call **v = realloc(r->calls, cap * sizeof *v);
        if (!v) {
            return TEMPER_ENOMEM;
        }
        r->calls = v;
        r->cap_calls = cap;
    }
    struct gh_call *c = calloc(1, sizeof *c);
    if (!c) {
        return TEMPER_ENOMEM;
    }
    r->calls[r->n_calls++] = c;
    *out = c;
    return gh_call_init(r->s, c, strdup(url), flags);
}

static int cmp_slot(const void *a, const void *b)
{
    return strcmp(((const struct slot *)a)->url, ((const struct slot *)b)->url);
}

/* One request per distinct URL among the watches idx[0..k); run them. */
static int fetch_pages(struct round *r, const size_t *idx, size_t k, unsigned flags)
{
    struct slot *slots = malloc(k * sizeof *slots);
    struct gh_call **batch = malloc(k * sizeof *batch);
    size_t nb = 0;
    int rc = slots && batch ? TEMPER_OK : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && i < k; i++) {
        slots[i].url = r->ws[idx[i]].next;
        slots[i].w = idx[i];
    }
    if (rc == TEMPER_OK) {
        qsort(slots, k, sizeof *slots, cmp_slot);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < k; i++) {
        if (i == 0 || strcmp(slots[i].url, slots[i - 1].url) != 0) {
            rc = add_call(r, slots[i].url, flags, &batch[nb++]);
        }
        r->ws[slots[i].w].call = batch[nb - 1];
    }
    if (rc == TEMPER_OK) {
        rc = gh_fetch(r->s, r->st, r->h, batch, nb);
    } else {
        temper_fail(r->st, rc, "out of memory");
    }
    free(slots);
    free(batch);
    return rc;
}

/* The entry saved for page `page` at `url` under the same filters, or NULL. */
static struct json_object *cached_entry(const struct gh_watch *gw, size_t page,
                                        const char *url)
{
    static const char *const keys[] = { "best", "pinned" };
    size_t n = 0;
    const char *fp = temper_json_get_str(gw->saved, "fp");
    struct json_object *pages = temper_json_get_array(gw->saved, "pages", &n);
    if (!pages || !fp || !gw->fp[0] || strcmp(fp, gw->fp) != 0 || page >= n) {
        return NULL;
    }
    struct json_object *e = json_object_array_get_idx(pages, page);
    const char *eu = temper_json_get_str(e, "url");
    const char *next = temper_json_get_str(e, "next");
    if (!eu || strcmp(eu, url) != 0 || (temper_json_get(e, "next") && !next) ||
        (next && strlen(next) > GH_MAX_URL)) {
        return NULL;
    }
    for (size_t i = 0; i < 2; i++) {
        struct gh_cand c = { 0 };
        struct json_object *o = temper_json_get(e, keys[i]);
        if (o && gh_cand_from_json(o, &c) != TEMPER_OK) {
            return NULL;
        }
        gh_cand_cleanup(&c);
    }
    return e;
}

/* Append entry e (taken, even on error) and move to its next page. */
static int take_entry(struct gh_watch *gw, struct json_object *e, const char *next)
{
    char *dup = next ? strdup(next) : NULL;
    if ((next && !dup) || json_object_array_add(gw->pages, e) != 0) {
        free(dup);
        json_object_put(e);
        return TEMPER_ENOMEM;
    }
    free(gw->next);
    gw->next = dup;
    return TEMPER_OK;
}

static int use_reply(struct round *r, struct gh_watch *gw, struct gh_call *c)
{
    struct json_object *e = NULL;
    char *next = NULL;
    gw->all_cached = false;
    int rc = gh_parse_page(r->s, r->st, gw, c, &e);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (gh_next_link(r->s, c, &next) != TEMPER_OK) {
        char *u = temper_http_safe_url(c->url);
        rc = temper_fail(r->st, TEMPER_EFORMAT, "image %s: GET %s: malformed Link header or "
                         "its next page is not under api_url", gw->w->image, u ? u : "?");
        free(u);
    } else {
        struct json_object *nj = next ? json_object_new_string(next) : NULL;
        if ((next && !nj) || json_object_object_add(e, "next", nj) != 0) {
            rc = temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
        }
    }
    if (rc == TEMPER_OK) {
        rc = take_entry(gw, e, next);
        e = NULL;
        if (rc != TEMPER_OK) {
            temper_fail(r->st, rc, "out of memory");
        } else {
            gw->got[gw->n_got++] = c;
        }
    }
    json_object_put(e);
    free(next);
    return rc;
}

/* Take page `page` of gw from its reply. */
static void process(struct round *r, struct gh_watch *gw, size_t page)
{
    struct gh_call *c = gw->call;
    int rc = TEMPER_OK;
    gw->call = NULL;
    if (c->rc != TEMPER_OK) {
        rc = temper_fail(r->st, c->rc, "image %s: %s", gw->w->image, c->err ? c->err : "?");
    } else if (c->resp.not_modified && !(c->req.flags & TEMPER_HTTP_CONDITIONAL)) {
        char *u = temper_http_safe_url(c->url);
        rc = temper_fail(r->st, TEMPER_EFORMAT, "image %s: GET %s: 304 to a request "
                         "without validators", gw->w->image, u ? u : "?");
        free(u);
    } else if (c->resp.not_modified) {
        struct json_object *e = cached_entry(gw, page, c->url);
        if (!e) {
            gw->refetch = true;
            return;
        }
        rc = take_entry(gw, json_object_get(e), temper_json_get_str(e, "next"));
        if (rc != TEMPER_OK) {
            temper_fail(r->st, rc, "out of memory");
        }
    } else {
        rc = use_reply(r, gw, c);
    }
    if (rc != TEMPER_OK) {
        watch_failed(r, gw, rc);
    }
}

static int run_wave(struct round *r, size_t page, unsigned flags, bool refetch)
{
    size_t *idx = malloc(r->n * sizeof *idx);
    size_t k = 0, first = r->n_calls;
    if (!idx) {
        return temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->n; i++) {
        struct gh_watch *gw = &r->ws[i];
        if (!gw->failed && gw->next && (!refetch || gw->refetch)) {
            gw->refetch = false;
            idx[k++] = i;
        }
    }
    int rc = k ? fetch_pages(r, idx, k, flags) : TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < k; i++) {
        process(r, &r->ws[idx[i]], page);
    }
    for (size_t i = first; i < r->n_calls; i++) { /* bodies are parsed: keep headers */
        temper_buf_cleanup(&r->calls[i]->resp.body);
    }
    free(idx);
    return rc;
}

static struct gh_cand best_of(const struct gh_watch *gw, const char *key)
{
    struct gh_cand best = { 0 }, c;
    size_t n = json_object_array_length(gw->pages);
    for (size_t i = 0; i < n; i++) {
        struct json_object *o = temper_json_get(json_object_array_get_idx(gw->pages, i), key);
        if (!o || gh_cand_from_json(o, &c) != TEMPER_OK) {
            continue;
        }
        if (!best.version || gh_version_cmp(c.version, best.version) > 0) {
            gh_cand_cleanup(&best);
            best = c;
        } else {
            gh_cand_cleanup(&c);
        }
    }
    return best;
}

static int set_attrs(struct temper_artifact *a, const char *const *kv)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && kv[i]; i += 2) {
        if (kv[i + 1]) {
            rc = temper_artifact_set(a, kv[i], kv[i + 1]);
        }
    }
    return rc;
}

static int emit_change(struct round *r, const struct gh_watch *gw, const struct gh_cand *old,
                       const struct gh_cand *neu)
{
    const char *repo = gw->wc->repo;
    char *co = old && old->ref ? gh_escape(old->ref, true) : NULL;
    char *cn = gh_escape(neu->ref, true);
    char *cmp = co && cn ? temper_strdupf("%s/%s/compare/%s...%s", r->s->web, repo, co, cn)
                         : NULL;
    struct temper_artifact *a =
        temper_artifact_new(TEMPER_ART_CHANGE, gw->w->image ? gw->w->image : repo);
    const char *kv[] = {
        TEMPER_ATTR_TRACKER, temper_stage_name(r->st), TEMPER_ATTR_UPSTREAM, repo,
        TEMPER_ATTR_IMAGE, gw->w->image, TEMPER_ATTR_OLD_VERSION, old ? old->version : "",
        TEMPER_ATTR_NEW_VERSION, neu->version, TEMPER_ATTR_OLD_REF, old ? old->ref : NULL,
        TEMPER_ATTR_NEW_REF, neu->ref, TEMPER_ATTR_RELEASE_URL, neu->url,
        TEMPER_ATTR_COMPARE_URL, cmp, "x-github-mode",
        r->s->mode == GH_TAGS ? "tags" : "releases", NULL
    };
    int rc = a && cn && (!old || !old->ref || cmp) ? set_attrs(a, kv) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        rc = temper_emit(r->st, a);
        a = NULL;
    }
    temper_artifact_free(a);
    free(co);
    free(cn);
    free(cmp);
    if (rc != TEMPER_OK) {
        return temper_fail(r->st, rc, "image %s: cannot report the change of %s: %s",
                           gw->w->image, repo, temper_rc_str(rc));
    }
    TEMPER_LOG_INFO(r->st, "image %s: %s moved from %s to %s", gw->w->image, repo,
                    old ? old->version : "(nothing)", neu->version);
    return TEMPER_OK;
}

/* Write the watch's state with `last` (borrowed, may be NULL). */
static int save_watch(struct round *r, struct gh_watch *gw, struct json_object *last)
{
    struct json_object *o = json_object_new_object();
    char *key = temper_strdupf("w:%s", gw->w->id);
    int rc = o && key ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && last) {
        rc = temper_json_add(o, "last", json_object_get(last));
    }
    if (rc == TEMPER_OK) {
        rc = temper_json_add(o, "fp", json_object_new_string(gw->fp));
    }
    if (rc == TEMPER_OK) {
        rc = temper_json_add(o, "pages", json_object_get(gw->pages));
    }
    const char *text =
        rc == TEMPER_OK ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
    if (rc == TEMPER_OK) {
        rc = text ? temper_stage_state_put(r->st, key, text) : TEMPER_ENOMEM;
    }
    json_object_put(o);
    free(key);
    if (rc != TEMPER_OK) {
        return temper_fail(r->st, rc, "image %s: cannot save the state of the watch: %s",
                           gw->w->image, temper_rc_str(rc));
    }
    return TEMPER_OK;
}

static int commit_validators(struct round *r, struct gh_watch *gw)
{
    for (size_t i = 0; i < gw->n_got; i++) {
        struct gh_call *c = gw->got[i];
        if (!c->committed) {
            int rc = temper_http_commit_validators(r->h, &c->resp);
            if (rc != TEMPER_OK) {
                return temper_fail(r->st, rc, "image %s: cannot save HTTP validators: %s",
                                   gw->w->image, temper_rc_str(rc));
            }
            c->committed = true;
        }
    }
    return TEMPER_OK;
}

/* The version the watch compares against: what it reported last, else the
 * image's pinned version (with its tag when a page lists it). */
static bool baseline(const struct gh_watch *gw, struct gh_cand *base)
{
    struct json_object *last = temper_json_get(gw->saved, "last");
    memset(base, 0, sizeof *base);
    if (last && gh_cand_from_json(last, base) == TEMPER_OK) {
        return true;
    }
    if (!gw->w->pinned || !*gw->w->pinned) {
        return false;
    }
    *base = best_of(gw, "pinned");
    if (!base->version) {
        base->version = strdup(gw->w->pinned);
    }
    return base->version != NULL;
}

static int finish_watch(struct round *r, struct gh_watch *gw)
{
    struct gh_cand base = { 0 }, best = { 0 };
    struct json_object *last = temper_json_get(gw->saved, "last"), *nlast = NULL;
    int rc = TEMPER_OK;
    if (gw->all_cached && gw->saved) {
        TEMPER_LOG_DEBUG(r->st, "image %s: %s not modified", gw->w->image, gw->wc->repo);
        return TEMPER_OK;
    }
    best = best_of(gw, "best");
    bool has_base = baseline(gw, &base);
    if (!best.version) {
        TEMPER_LOG_INFO(r->st, "image %s: no %s of %s passes the watch's filters",
                        gw->w->image, r->s->mode == GH_TAGS ? "tag" : "release",
                        gw->wc->repo);
    } else if (!has_base || gh_version_cmp(best.version, base.version) > 0) {
        /* The change runs from the image's accepted (pinned) version when the
         * page lists it, not from the last version reported: a version
         * rejected in review must not ride along unreviewed in the next
         * version's compare. */
        struct gh_cand acc = { 0 };
        if (gw->w->pinned && *gw->w->pinned && has_base &&
            gh_version_cmp(base.version, gw->w->pinned) != 0) {
            acc = best_of(gw, "pinned");
        }
        rc = emit_change(r, gw, acc.version && acc.ref ? &acc : has_base ? &base : NULL, &best);
        gh_cand_cleanup(&acc);
        nlast = gh_cand_json(&best);
        last = nlast;
        rc = rc == TEMPER_OK && !nlast ? temper_fail(r->st, TEMPER_ENOMEM, "out of memory")
                                       : rc;
    }
    if (rc == TEMPER_OK) {
        rc = save_watch(r, gw, last);
    }
    if (rc == TEMPER_OK) {
        rc = commit_validators(r, gw);
    }
    json_object_put(nlast);
    gh_cand_cleanup(&base);
    gh_cand_cleanup(&best);
    return rc;
}

static void round_cleanup(struct round *r)
{
    for (size_t i = 0; r->ws && i < r->n; i++) {
        free(r->ws[i].got);
        gh_watch_cleanup(&r->ws[i]);
    }
    for (size_t i = 0; i < r->n_calls; i++) {
        gh_call_cleanup(r->calls[i]);
        free(r->calls[i]);
    }
    free(r->calls);
    free(r->ws);
    temper_http_free(r->h);
}

static int prepare(struct round *r, const struct temper_watch *const *watches)
{
    for (size_t i = 0; i < r->n; i++) {
        struct gh_watch *gw = &r->ws[i];
        int rc = gh_prepare_watch(r->s, r->st, watches[i], gw);
        if (rc == TEMPER_OK) {
            gw->got = calloc((size_t)r->s->conf->max_pages, sizeof *gw->got);
            rc = gw->got ? TEMPER_OK : temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
        }
        if (rc == TEMPER_ENOMEM) {
            return rc;
        }
        if (rc != TEMPER_OK) {
            watch_failed(r, gw, rc);
        }
    }
    return TEMPER_OK;
}

static int gh_poll(void *state, struct temper_stage *st,
                   const struct temper_watch *const *watches, size_t n)
{
    struct round r = { .s = state, .st = st, .n = n };
    int rc = TEMPER_OK;
    if (n == 0) {
        return TEMPER_OK;
    }
    r.ws = calloc(n, sizeof *r.ws);
    if (!r.ws) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    rc = prepare(&r, watches);
    if (rc == TEMPER_OK) {
        rc = gh_http_new(r.s, st, &r.h);
    }
    for (size_t page = 0; rc == TEMPER_OK && page < (size_t)r.s->conf->max_pages; page++) {
        rc = run_wave(&r, page, TEMPER_HTTP_CONDITIONAL, false);
        if (rc == TEMPER_OK) {
            rc = run_wave(&r, page, 0, true);
        }
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        struct gh_watch *gw = &r.ws[i];
        if (!gw->failed && gw->next) {
            TEMPER_LOG_DEBUG(st, "image %s: stopped after %lld pages of %s", gw->w->image,
                             r.s->conf->max_pages, gw->wc->repo);
        }
        if (!gw->failed && finish_watch(&r, gw) != TEMPER_OK) {
            watch_failed(&r, gw, TEMPER_EIO);
        }
        r.n_ok += !gw->failed;
    }
    if (rc == TEMPER_OK && r.n_ok == 0) {
        rc = r.first_rc;
    }
    round_cleanup(&r);
    return rc;
}

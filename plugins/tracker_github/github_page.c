/* temper — GitHub trackers: one page of releases or tags -> its best
 * candidate under a watch's filters. */
#include "github.h"
#include <temper/version.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { ITEM_TAKE = 0, ITEM_SKIP = 1 };

static int gh_version_cmp(const char *a, const char *b)
{
    return temper_semver_cmp(a, b); /* semver, natural order for the rest */
}

static bool printable(const char *s, size_t max)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
        if (*p < 0x20 || *p == 0x7f || n >= max) {
            return false;
        }
    }
    return n > 0;
}

static bool word_at(const char *p, const char *w)
{
    size_t k = strlen(w);
    return strncasecmp(p, w, k) == 0 && !isalpha((unsigned char)p[k]);
}

/* A version with a pre-release part: semver "-..." before any "+", or (for
 * the rest) "~", or one of the words the SDK's natural order treats as a
 * pre-release (alpha, beta, dev, pre, preview, rc, snapshot) after "-", "_",
 * "." or a digit. */
static bool looks_prerelease(const char *v)
{
    static const char *const words[] = { "alpha", "beta", "dev", "pre", "preview", "rc",
                                         "snapshot", NULL };
    if (temper_semver_valid(v)) {
        size_t plus = strcspn(v, "+");
        size_t dash = strcspn(v, "-");
        return dash < plus;
    }
    if (strchr(v, '~')) {
        return true;
    }
    for (const char *p = v + 1; *p; p++) {
        unsigned char before = (unsigned char)p[-1];
        if (before != '-' && before != '_' && before != '.' && !isdigit(before)) {
            continue;
        }
        for (size_t i = 0; words[i]; i++) {
            if (word_at(p, words[i])) {
                return true;
            }
        }
    }
    return false;
}

static void gh_cand_cleanup(struct gh_cand *c)
{
    free(c->ref);
    free(c->version);
    free(c->url);
    memset(c, 0, sizeof *c);
}

static struct json_object *gh_cand_json(const struct gh_cand *c)
{
    struct json_object *o = json_object_new_object();
    if (!o || temper_json_add(o, "ref", json_object_new_string(c->ref)) != TEMPER_OK ||
        temper_json_add(o, "version", json_object_new_string(c->version)) != TEMPER_OK ||
        temper_json_add(o, "url", json_object_new_string(c->url)) != TEMPER_OK) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* Read a candidate back from saved state.  TEMPER_EFORMAT when damaged. */
static int gh_cand_from_json(const struct json_object *o, struct gh_cand *c)
{
    const char *ref = temper_json_get_str(o, "ref");
    const char *ver = temper_json_get_str(o, "version");
    const char *url = temper_json_get_str(o, "url");
    memset(c, 0, sizeof *c);
    if (!ref || !ver || !url || !printable(ref, GH_MAX_TAG + 1) ||
        !printable(ver, GH_MAX_VERSION + 1) || !printable(url, GH_MAX_URL + 1)) {
        return TEMPER_EFORMAT;
    }
    c->ref = strdup(ref);
    c->version = strdup(ver);
    c->url = strdup(url);
    if (!c->ref || !c->version || !c->url) {
        gh_cand_cleanup(c);
        return TEMPER_ENOMEM;
    }
    return TEMPER_OK;
}

static bool http_url(const char *u)
{
    return u && (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) &&
           printable(u, GH_MAX_URL + 1) && !strchr(u, ' ');
}

/* The version a tag stands for under the watch's strip_prefix and
 * version_regex (new string), or NULL (skip). */
static char *tag_version(const struct gh_watch *gw, const char *tag)
{
    const char *v = tag;
    const char *pre = gw->wc->strip_prefix;
    regmatch_t m[2];
    if (pre && *pre && strncmp(v, pre, strlen(pre)) == 0) {
        v += strlen(pre);
    }
    if (gw->has_vregex) {
        if (regexec(&gw->vregex, v, 2, m, 0) != 0 || m[1].rm_so < 0 ||
            m[1].rm_eo <= m[1].rm_so) {
            return NULL;
        }
        size_t n = (size_t)(m[1].rm_eo - m[1].rm_so);
        return n <= GH_MAX_VERSION ? strndup(v + m[1].rm_so, n) : NULL;
    }
    return *v && strlen(v) <= GH_MAX_VERSION ? strdup(v) : NULL;
}

static bool filters_take(const struct gh_watch *gw, const char *tag)
{
    if (gw->has_include && regexec(&gw->include, tag, 0, NULL, 0) != 0) {
        return false;
    }
    return !(gw->has_exclude && regexec(&gw->exclude, tag, 0, NULL, 0) == 0);
}

/* Optional boolean member: absent reads false. */
static int opt_bool(const struct json_object *o, const char *key, bool *v)
{
    int rc = temper_json_get_bool(o, key, v);
    if (rc == TEMPER_ENOTFOUND) {
        *v = false;
        return TEMPER_OK;
    }
    return rc;
}

static char *release_page(const struct gh_state *s, const struct gh_watch *gw, const char *tag)
{
    char *esc = gh_escape(tag, true);
    char *u = esc ? temper_strdupf("%s/%s/releases/tag/%s", s->web, gw->wc->repo, esc) : NULL;
    free(esc);
    return u;
}

/* Turn one list item into a candidate.  ITEM_TAKE, ITEM_SKIP, or an error
 * with *why naming the bad member. */
static int item_candidate(const struct gh_state *s, const struct gh_watch *gw,
                          const struct json_object *it, struct gh_cand *c, const char **why)
{
    bool draft = false, pre = false;
    if (!json_object_is_type((struct json_object *)it, json_type_object)) {
        *why = "is not an object";
        return TEMPER_EFORMAT;
    }
    if (s->mode == GH_RELEASES && opt_bool(it, "draft", &draft) != TEMPER_OK) {
        *why = "draft is not a boolean";
        return TEMPER_EFORMAT;
    }
    if (s->mode == GH_RELEASES && opt_bool(it, "prerelease", &pre) != TEMPER_OK) {
        *why = "prerelease is not a boolean";
        return TEMPER_EFORMAT;
    }
    if ((draft && !gw->wc->drafts) || (pre && !gw->wc->prereleases)) {
        return ITEM_SKIP;
    }
    const char *tag = temper_json_get_str(it, s->mode == GH_TAGS ? "name" : "tag_name");
    if (!tag || !printable(tag, GH_MAX_TAG + 1)) {
        *why = s->mode == GH_TAGS ? "name is missing, not a string, empty, too long or "
                                    "holds control characters"
                                  : "tag_name is missing, not a string, empty, too long or "
                                    "holds control characters";
        return TEMPER_EFORMAT;
    }
    if (!filters_take(gw, tag)) {
        return ITEM_SKIP;
    }
    c->version = tag_version(gw, tag);
    if (!c->version || !printable(c->version, GH_MAX_VERSION + 1) ||
        !strpbrk(c->version, "0123456789") || /* "latest", "nightly": not versions */
        (!gw->wc->prereleases && looks_prerelease(c->version))) {
        gh_cand_cleanup(c);
        return ITEM_SKIP;
    }
    const char *html = s->mode == GH_RELEASES ? temper_json_get_str(it, "html_url") : NULL;
    c->ref = strdup(tag);
    c->url = http_url(html) ? strdup(html) : release_page(s, gw, tag);
    if (!c->ref || !c->url) {
        gh_cand_cleanup(c);
        return TEMPER_ENOMEM;
    }
    return ITEM_TAKE;
}

/* Keep the newer of *best and *c (the first seen wins a tie: lists come
 * newest first); *c is consumed. */
static void keep_best(struct gh_cand *best, struct gh_cand *c)
{
    if (!best->version || gh_version_cmp(c->version, best->version) > 0) {
        gh_cand_cleanup(best);
        *best = *c;
        memset(c, 0, sizeof *c);
    } else {
        gh_cand_cleanup(c);
    }
}

static int scan_items(const struct gh_state *s, struct temper_stage *st,
                      const struct gh_watch *gw, struct json_object *arr, const char *what,
                      struct gh_cand *best, struct gh_cand *pinned)
{
    size_t n = json_object_array_length(arr);
    if (n > GH_MAX_ITEMS_PAGE) {
        return temper_fail(st, TEMPER_ELIMIT, "%s: %zu items in one page (limit %d)", what,
                           n, GH_MAX_ITEMS_PAGE);
    }
    for (size_t i = 0; i < n; i++) {
        struct gh_cand c = { 0 };
        const char *why = NULL;
        int rc = item_candidate(s, gw, json_object_array_get_idx(arr, i), &c, &why);
        if (rc == ITEM_SKIP) {
            continue;
        }
        if (rc != ITEM_TAKE) {
            return rc == TEMPER_ENOMEM ? temper_fail(st, rc, "out of memory")
                   : temper_fail(st, rc, "%s: item %zu: %s", what, i, why);
        }
        if (gw->w->pinned && !pinned->version &&
            gh_version_cmp(c.version, gw->w->pinned) == 0) {
            struct gh_cand copy = { strdup(c.ref), strdup(c.version), strdup(c.url) };
            if (!copy.ref || !copy.version || !copy.url) {
                gh_cand_cleanup(&copy);
                gh_cand_cleanup(&c);
                return temper_fail(st, TEMPER_ENOMEM, "out of memory");
            }
            *pinned = copy;
        }
        keep_best(best, &c);
    }
    return TEMPER_OK;
}

static int set_cand(struct json_object *entry, const char *key, const struct gh_cand *c)
{
    if (!c->version) {
        return json_object_object_add(entry, key, NULL) == 0 ? TEMPER_OK : TEMPER_ENOMEM;
    }
    if (!c->ref || !c->url) {
        return TEMPER_ENOMEM;
    }
    return temper_json_add(entry, key, gh_cand_json(c));
}

/* Parse the 2xx reply of `c` for watch gw into a page entry
 * {"url", "best", "pinned"} (new object in *entry; "next" is the caller's).
 * Errors are recorded on st naming the image and the URL. */
static int gh_parse_page(struct gh_state *s, struct temper_stage *st, struct gh_watch *gw,
                         const struct gh_call *c, struct json_object **entry)
{
    struct json_object *root = NULL;
    struct gh_cand best = { 0 }, pinned = { 0 };
    char *u = temper_http_safe_url(c->url);
    char *what = temper_strdupf("image %s: GET %s", gw->w->image, u ? u : "?");
    int rc = TEMPER_ENOMEM;
    *entry = NULL;
    if (!u || !what) {
        temper_fail(st, rc, "out of memory");
        goto out;
    }
    rc = temper_json_parse(st, what, c->resp.body.data, c->resp.body.len,
                           (size_t)s->conf->max_body, 32, &root);
    if (rc != TEMPER_OK) {
        goto out;
    }
    if (!root || !json_object_is_type(root, json_type_array)) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: the reply is not a JSON array of %s", what,
                         s->mode == GH_TAGS ? "tags" : "releases");
        goto out;
    }
    rc = scan_items(s, st, gw, root, what, &best, &pinned);
    if (rc != TEMPER_OK) {
        goto out;
    }
    *entry = json_object_new_object();
    if (!*entry || temper_json_add(*entry, "url", json_object_new_string(c->url)) ||
        set_cand(*entry, "best", &best) || set_cand(*entry, "pinned", &pinned)) {
        json_object_put(*entry);
        *entry = NULL;
        rc = temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
out:
    json_object_put(root);
    gh_cand_cleanup(&best);
    gh_cand_cleanup(&pinned);
    free(u);
    free(what);
    return rc;
}

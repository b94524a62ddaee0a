/* temper — GitHub trackers: options, open/close, watch preparation. */
#include "github.h"
#include <temper/hash.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define GH_OPT(type, key, def, flags, field, min, max, doc) \
    { type, key, def, flags, offsetof(struct gh_conf, field), min, max, NULL, doc }
#define GH_WOPT(type, key, def, flags, field, doc) \
    { type, key, def, flags, offsetof(struct gh_watch_conf, field), 0, 0, NULL, doc }

static const struct temper_option gh_options[] = {
    GH_OPT(TEMPER_OPT_STR, "api_url", GH_PUBLIC_API, 0, api_url, 0, 0,
           "REST API base: https://api.github.com, or https://HOST/api/v3 for GitHub "
           "Enterprise Server"),
    GH_OPT(TEMPER_OPT_STR, "web_url", NULL, 0, web_url, 0, 0,
           "web base of release and compare links; derived from api_url when unset"),
    GH_OPT(TEMPER_OPT_PATH, "token_file", NULL, TEMPER_OPT_SECRET, token_file, 0, 0,
           "file whose first line is the API token (sent as a Bearer token)"),
    GH_OPT(TEMPER_OPT_STR, "token_env", NULL, 0, token_env, 0, 0,
           "name of an environment variable holding the API token"),
    GH_OPT(TEMPER_OPT_PATH, "ca_file", NULL, 0, ca_file, 0, 0,
           "PEM bundle replacing the default trust store"),
    GH_OPT(TEMPER_OPT_DURATION, "connect_timeout", "10s", 0, connect_timeout, 100, 300000,
           "time allowed to connect to the API host"),
    GH_OPT(TEMPER_OPT_DURATION, "timeout", "30s", 0, timeout, 100, 3600000,
           "time allowed for one request, the whole reply included"),
    GH_OPT(TEMPER_OPT_DURATION, "max_wait", "60s", 0, max_wait, 0, 86400000,
           "longest Retry-After or rate-limit reset waited for; a longer one fails the "
           "watches of the round"),
    GH_OPT(TEMPER_OPT_INT, "retries", "3", 0, retries, 0, 10,
           "retries of a request after a network error, 5xx or rate limit"),
    GH_OPT(TEMPER_OPT_INT, "per_page", "100", 0, per_page, 1, 100,
           "releases, tags or commits asked for per page"),
    GH_OPT(TEMPER_OPT_INT, "max_pages", "10", 0, max_pages, 1, 100,
           "pages followed through Link rel=\"next\" per list"),
    GH_OPT(TEMPER_OPT_INT, "concurrency", "8", 0, concurrency, 1, 100,
           "requests in flight at once to the API host"),
    GH_OPT(TEMPER_OPT_SIZE, "max_body", "16M", 0, max_body, 1024, 1073741824,
           "largest reply body accepted"),
    GH_OPT(TEMPER_OPT_BOOL, "diff_per_commit", "false", 0, diff_per_commit, 0, 0,
           "diff: fetch each commit's own files (one request per commit); always done "
           "when the compare reply's file list is truncated"),
    GH_OPT(TEMPER_OPT_INT, "diff_max_commits", "250", 0, diff_max_commits, 1, 10000,
           "diff: most commits written to the mbox"),
    TEMPER_OPTION_END,
};

static const struct temper_option gh_watch_options[] = {
    GH_WOPT(TEMPER_OPT_STR, "repo", NULL, TEMPER_OPT_REQUIRED, repo,
            "the repository as OWNER/NAME"),
    GH_WOPT(TEMPER_OPT_STR, "include", NULL, 0, include,
            "POSIX extended regex a tag name must match"),
    GH_WOPT(TEMPER_OPT_STR, "exclude", NULL, 0, exclude,
            "POSIX extended regex of tag names to skip"),
    GH_WOPT(TEMPER_OPT_STR, "strip_prefix", NULL, 0, strip_prefix,
            "prefix removed from a tag name that starts with it (\"v\")"),
    GH_WOPT(TEMPER_OPT_STR, "version_regex", NULL, 0, version_regex,
            "POSIX extended regex whose first group is the version; tags that do not "
            "match are skipped (applied after strip_prefix)"),
    GH_WOPT(TEMPER_OPT_BOOL, "prereleases", "false", 0, prereleases,
            "take pre-releases (flagged on GitHub, or a pre-release version)"),
    GH_WOPT(TEMPER_OPT_BOOL, "drafts", "false", 0, drafts,
            "take draft releases (visible only with push access)"),
    TEMPER_OPTION_END,
};

/* ---- URLs ----------------------------------------------------------------- */

static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encode s for a URL path (new string, NULL on ENOMEM). */
static char *gh_escape(const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    struct temper_buf b;
    temper_buf_init(&b, 0);
    int rc = temper_buf_puts(&b, "");
    for (const unsigned char *p = (const unsigned char *)s; rc == TEMPER_OK && *p; p++) {
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            rc = temper_buf_append(&b, p, 1);
        } else {
            char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            rc = temper_buf_append(&b, e, 3);
        }
    }
    if (rc != TEMPER_OK) {
        temper_buf_cleanup(&b);
        return NULL;
    }
    return temper_buf_take(&b, NULL);
}

/* "scheme://host[:port]" of url, lower-case (new string), NULL when url is
 * not a usable http(s) URL. */
static char *url_origin(const char *url)
{
    char *root = NULL;
    if (temper_http_resolve_url(url, "/", &root) != TEMPER_OK) {
        return NULL;
    }
    size_t n = strlen(root);
    if (n > 0 && root[n - 1] == '/') {
        root[n - 1] = '\0';
    }
    for (char *p = root; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    return root;
}

static char *strip_slashes(const char *s)
{
    char *d = strdup(s);
    size_t n = d ? strlen(d) : 0;
    while (n > 0 && d[n - 1] == '/') {
        d[--n] = '\0';
    }
    return d;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* Web base for an API base: api.github.com -> github.com, HOST/api/v3 ->
 * HOST, api.SUB.ghe.com -> SUB.ghe.com, anything else -> its origin. */
static char *derive_web(const char *api, const char *origin)
{
    const char *sep = strstr(origin, "://");
    const char *host = sep ? sep + 3 : origin;
    if (strcmp(host, "api.github.com") == 0) {
        return strdup(GH_PUBLIC_WEB);
    }
    if (ends_with(api, "/api/v3")) {
        return strdup(origin);
    }
    if (strncmp(host, "api.", 4) == 0 && strlen(api) == strlen(origin)) {
        return temper_strdupf("%.*s%s", (int)(host - origin), origin, host + 4);
    }
    return strdup(origin);
}

static int set_urls(struct gh_state *s, struct temper_stage *st)
{
    const struct gh_conf *c = s->conf;
    s->api = strip_slashes(c->api_url ? c->api_url : GH_PUBLIC_API);
    if (!s->api) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    s->origin = url_origin(s->api);
    if (!s->origin || strchr(s->api, '?') || strchr(s->api, '#')) {
        return temper_fail(st, TEMPER_EINVAL,
                           "api_url: not an http(s) URL without query: %s", s->api);
    }
    s->web = c->web_url ? strip_slashes(c->web_url) : derive_web(s->api, s->origin);
    if (!s->web) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    char *wo = url_origin(s->web);
    free(wo);
    if (!wo) {
        return temper_fail(st, TEMPER_EINVAL, "web_url: not an http(s) URL: %s", s->web);
    }
    return TEMPER_OK;
}

/* ---- open / close --------------------------------------------------------- */

static int gh_http_new(struct gh_state *s, struct temper_stage *st, struct temper_http **out)
{
    const struct gh_conf *c = s->conf;
    struct temper_http_opts o;
    temper_http_opts_init(&o);
    o.connect_timeout_ms = (long)c->connect_timeout;
    o.timeout_ms = (long)c->timeout;
    o.max_retries = (int)c->retries;
    o.max_wait_ms = (long)c->max_wait;
    o.max_body = (size_t)c->max_body;
    o.ca_file = c->ca_file;
    o.user_agent = "temper-tracker-github/" GH_VERSION;
    o.bearer_token_file = c->token_file;
    o.max_host_connections = (int)c->concurrency;
    o.max_connections = (int)c->concurrency;
    return temper_http_new(st, &o, out);
}

static int token_from_env(struct gh_state *s, struct temper_stage *st)
{
    const char *name = s->conf->token_env;
    const char *tok = getenv(name);
    if (!tok || !*tok) {
        return temper_fail(st, TEMPER_EINVAL,
                           "token_env: the environment variable %s is not set", name);
    }
    for (const unsigned char *p = (const unsigned char *)tok; *p; p++) {
        if (*p < 0x21 || *p == 0x7f) {
            return temper_fail(st, TEMPER_EINVAL,
                               "token_env: the token in %s contains spaces or control "
                               "characters", name);
        }
    }
    if (temper_log_add_secret(tok) != TEMPER_OK) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    s->auth_header = temper_strdupf("Authorization: Bearer %s", tok);
    return s->auth_header ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "out of memory");
}

static void gh_close(void *state)
{
    struct gh_state *s = state;
    if (!s) {
        return;
    }
    free(s->api);
    free(s->web);
    free(s->origin);
    free(s->auth_header);
    free(s);
}

static int gh_open(struct temper_stage *st, const void *conf, void **state, enum gh_mode mode)
{
    struct temper_http *h = NULL;
    struct gh_state *s = calloc(1, sizeof *s);
    int rc = TEMPER_OK;
    *state = NULL;
    if (!s) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    s->conf = conf;
    s->mode = mode;
    rc = set_urls(s, st);
    if (rc == TEMPER_OK && s->conf->token_file && s->conf->token_env) {
        rc = temper_fail(st, TEMPER_EINVAL, "token_file and token_env are mutually exclusive");
    }
    if (rc == TEMPER_OK && s->conf->token_env) {
        rc = token_from_env(s, st);
    }
    if (rc == TEMPER_OK) { /* reads the token and CA files now: early errors */
        rc = gh_http_new(s, st, &h);
    }
    temper_http_free(h);
    if (rc != TEMPER_OK) {
        gh_close(s);
        return rc;
    }
    *state = s;
    return TEMPER_OK;
}

/* ---- watches -------------------------------------------------------------- */

static bool name_chars(const char *p, size_t n, bool dots)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!isalnum(c) && c != '-' && !(dots && (c == '.' || c == '_'))) {
            return false;
        }
    }
    return true;
}

/* OWNER/NAME as GitHub allows them: owner 1..39 of [A-Za-z0-9-], name
 * 1..100 of [A-Za-z0-9._-], not "." or "..".  TEMPER_EINVAL otherwise. */
static int gh_check_repo(const char *repo)
{
    const char *slash = repo ? strchr(repo, '/') : NULL;
    if (!slash) {
        return TEMPER_EINVAL;
    }
    size_t on = (size_t)(slash - repo);
    const char *name = slash + 1;
    size_t nn = strlen(name);
    if (on < 1 || on > 39 || nn < 1 || nn > 100 || !name_chars(repo, on, false) ||
        !name_chars(name, nn, true) || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        return TEMPER_EINVAL;
    }
    return TEMPER_OK;
}

static int compile(struct temper_stage *st, const struct temper_watch *w, const char *key,
                   const char *pattern, int flags, regex_t *re, bool *has)
{
    char err[256];
    if (!pattern) {
        return TEMPER_OK;
    }
    int e = regcomp(re, pattern, REG_EXTENDED | flags);
    if (e != 0) {
        regerror(e, re, err, sizeof err);
        return temper_fail(st, TEMPER_EINVAL, "image %s: [upstream] %s: invalid regular "
                           "expression \"%s\": %s", w->image, key, pattern, err);
    }
    *has = true;
    if (!(flags & REG_NOSUB) && re->re_nsub < 1) {
        return temper_fail(st, TEMPER_EINVAL, "image %s: [upstream] %s: \"%s\" has no "
                           "group (the first group is the version)", w->image, key, pattern);
    }
    return TEMPER_OK;
}

/* Fingerprint of what decides a page's entry: the filters, and the pinned
 * version the entry's "pinned" candidate stands for. */
static void fingerprint(const struct gh_state *s, const struct temper_watch *w, char *hex)
{
    const struct gh_watch_conf *wc = w->conf;
    const char *parts[] = { wc->include, wc->exclude, wc->strip_prefix, wc->version_regex,
                            w->pinned };
    struct temper_sha256 *h = temper_sha256_new();
    char flags[32];
    hex[0] = '\0';
    if (!h) {
        return; /* an empty fingerprint matches nothing saved: pages are refetched */
    }
    snprintf(flags, sizeof flags, "v1 %d %d %d", (int)s->mode, (int)wc->prereleases,
             (int)wc->drafts);
    temper_sha256_update(h, flags, strlen(flags) + 1);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        temper_sha256_update(h, parts[i] ? "1" : "0", 1);
        temper_sha256_update(h, parts[i] ? parts[i] : "", parts[i] ? strlen(parts[i]) + 1 : 1);
    }
    temper_sha256_final(h, NULL, hex);
    temper_sha256_free(h);
}

static void load_saved(struct temper_stage *st, const struct temper_watch *w,
                       struct gh_watch *gw)
{
    char *key = temper_strdupf("w:%s", w->id);
    char *val = NULL;
    if (key && temper_stage_state_get(st, key, &val) == TEMPER_OK && val) {
        struct json_object *o = NULL;
        if (temper_json_parse(NULL, key, val, strlen(val), GH_MAX_STATE, 16, &o) ==
                TEMPER_OK && o && json_object_is_type(o, json_type_object)) {
            gw->saved = o;
        } else {
            json_object_put(o);
            TEMPER_LOG_WARN(st, "image %s: the saved state of the watch is unreadable; "
                            "starting over", w->image);
        }
    }
    free(key);
    free(val);
}

/* Check and compile a watch's options and read its saved state.  On error
 * the reason is recorded on st and gw is left for gh_watch_cleanup(). */
static int gh_prepare_watch(struct gh_state *s, struct temper_stage *st,
                            const struct temper_watch *w, struct gh_watch *gw)
{
    const struct gh_watch_conf *wc = w->conf;
    memset(gw, 0, sizeof *gw);
    gw->w = w;
    gw->wc = wc;
    if (!w->id || !*w->id || !w->image) {
        return temper_fail(st, TEMPER_EINVAL, "a watch without an id or an image");
    }
    if (!wc || gh_check_repo(wc->repo) != TEMPER_OK) {
        return temper_fail(st, TEMPER_EINVAL, "image %s: [upstream] repo: \"%s\" is not "
                           "OWNER/NAME", w->image, wc && wc->repo ? wc->repo : "");
    }
    int rc = compile(st, w, "include", wc->include, REG_NOSUB, &gw->include,
                     &gw->has_include);
    if (rc == TEMPER_OK) {
        rc = compile(st, w, "exclude", wc->exclude, REG_NOSUB, &gw->exclude,
                     &gw->has_exclude);
    }
    if (rc == TEMPER_OK) {
        rc = compile(st, w, "version_regex", wc->version_regex, 0, &gw->vregex,
                     &gw->has_vregex);
    }
    if (rc != TEMPER_OK) {
        return rc;
    }
    fingerprint(s, w, gw->fp);
    load_saved(st, w, gw);
    gw->pages = json_object_new_array();
    gw->next = temper_strdupf("%s/repos/%s/%s?per_page=%lld", s->api, wc->repo,
                              s->mode == GH_TAGS ? "tags" : "releases", s->conf->per_page);
    if (!gw->pages || !gw->next) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    gw->all_cached = true;
    return TEMPER_OK;
}

static void gh_watch_cleanup(struct gh_watch *gw)
{
    if (gw->has_include) {
        regfree(&gw->include);
    }
    if (gw->has_exclude) {
        regfree(&gw->exclude);
    }
    if (gw->has_vregex) {
        regfree(&gw->vregex);
    }
    json_object_put(gw->saved);
    json_object_put(gw->pages);
    free(gw->next);
    memset(gw, 0, sizeof *gw);
}

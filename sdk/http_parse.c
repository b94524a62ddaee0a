/* temper — reading HTTP replies: the header store of a response and parsers
 * for Link, Retry-After and WWW-Authenticate values.  Every input here comes
 * from a server and is treated as hostile: bounded loops, capped copies. */
#include "config.h"
#include "http_int.h"
#include <temper/buf.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PARAM_MAX 2048
#define RETRY_AFTER_MAX_S 1000000000LL

long long http_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- header store ------------------------------------------------------- */

void http_priv_reset_headers(struct temper_http_priv *p)
{
    for (size_t i = 0; i < p->n_hdrs; i++) {
        free(p->hdrs[i].name);
        free(p->hdrs[i].value);
    }
    p->n_hdrs = 0;
    p->hdr_bytes = 0;
    p->hdr_over = false;
}

void http_priv_free(struct temper_http_priv *p)
{
    if (!p) {
        return;
    }
    http_priv_reset_headers(p);
    free(p->hdrs);
    free(p->key);
    free(p->etag);
    free(p->last_modified);
    free(p);
}

static char *dup_trimmed(const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                     s[n - 1] == '\n')) {
        n--;
    }
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* A folded continuation line: append to the previous value. */
static int hdr_continue(struct temper_http_priv *p, const char *line, size_t len)
{
    if (p->n_hdrs == 0) {
        return TEMPER_OK;
    }
    char *more = dup_trimmed(line, len);
    char *prev = p->hdrs[p->n_hdrs - 1].value;
    char *joined = more ? temper_strdupf("%s %s", prev, more) : NULL;
    free(more);
    if (!joined) {
        return TEMPER_ENOMEM;
    }
    free(prev);
    p->hdrs[p->n_hdrs - 1].value = joined;
    return TEMPER_OK;
}

static int hdr_add(struct temper_http_priv *p, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    if (!colon || colon == line) {
        return TEMPER_OK; /* not a header: ignore */
    }
    if (p->n_hdrs >= HTTP_HDR_LINES_MAX) {
        p->hdr_over = true;
        return TEMPER_ELIMIT;
    }
    if (p->n_hdrs == p->cap_hdrs) {
        size_t ncap = p->cap_hdrs ? p->cap_hdrs * 2 : 16;
        struct http_hdr *v = realloc(p->hdrs, ncap * sizeof *v);
        if (!v) {
            return TEMPER_ENOMEM;
        }
        p->hdrs = v;
        p->cap_hdrs = ncap;
    }
    char *name = dup_trimmed(line, (size_t)(colon - line));
    char *value = dup_trimmed(colon + 1, len - (size_t)(colon - line) - 1);
    if (!name || !value) {
        free(name);
        free(value);
        return TEMPER_ENOMEM;
    }
    p->hdrs[p->n_hdrs].name = name;
    p->hdrs[p->n_hdrs].value = value;
    p->n_hdrs++;
    return TEMPER_OK;
}

/* One raw header line from libcurl (with CRLF).  A status line starts a new
 * reply (after 1xx): the headers of the previous one are dropped. */
int http_hdr_line(struct temper_http_priv *p, const char *line, size_t len)
{
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        http_priv_reset_headers(p);
        return TEMPER_OK;
    }
    if (len > HTTP_HDR_BYTES_MAX || p->hdr_bytes > HTTP_HDR_BYTES_MAX - len) {
        p->hdr_over = true;
        return TEMPER_ELIMIT;
    }
    p->hdr_bytes += len;
    if (len <= 2 && (len == 0 || line[0] == '\r' || line[0] == '\n')) {
        return TEMPER_OK;
    }
    if (line[0] == ' ' || line[0] == '\t') {
        return hdr_continue(p, line, len);
    }
    return hdr_add(p, line, len);
}

const char *http_hdr_get(const struct temper_http_priv *p, const char *name, size_t i)
{
    if (!p || !name) {
        return NULL;
    }
    for (size_t k = 0; k < p->n_hdrs; k++) {
        if (strcasecmp(p->hdrs[k].name, name) == 0) {
            if (i == 0) {
                return p->hdrs[k].value;
            }
            i--;
        }
    }
    return NULL;
}

const char *temper_http_resp_header(const struct temper_http_resp *r, const char *name,
                                    size_t i)
{
    return r ? http_hdr_get(r->priv, name, i) : NULL;
}

/* A validator fit to store and send back: printable, not too long. */
bool http_valid_validator(const char *v)
{
    size_t n = strnlen(v, HTTP_VALIDATOR_MAX + 1);
    if (n == 0 || n > HTTP_VALIDATOR_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
            return false;
        }
    }
    return true;
}

/* "Name: value" line whose name is `name` (case-insensitive). */
bool http_header_named(const char *line, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(line, name, n) == 0 && (line[n] == ':' || line[n] == ';');
}

/* ---- tokens and quoted strings (RFC 9110 5.6) --------------------------- */

static bool tchar(int c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

/* Reads a token or a quoted string at p into out (unquoted, NUL-terminated).
 * Returns the position after it, NULL when malformed or longer than n-1. */
static const char *read_value(const char *p, char *out, size_t n)
{
    size_t k = 0;
    if (*p != '"') {
        while (tchar((unsigned char)*p) || *p == '/' || *p == ':' || *p == '=') {
            if (k + 1 >= n) {
                return NULL;
            }
            out[k++] = *p++;
        }
        out[k] = '\0';
        return k > 0 ? p : NULL;
    }
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) {
            p++;
        }
        if (k + 1 >= n) {
            return NULL;
        }
        out[k++] = *p;
    }
    out[k] = '\0';
    return *p == '"' ? p + 1 : NULL;
}

static const char *read_token(const char *p, size_t *len)
{
    const char *s = p;
    while (tchar((unsigned char)*p)) {
        p++;
    }
    *len = (size_t)(p - s);
    return p;
}

/* Does the space-separated relation list contain rel? */
static bool rel_has(const char *list, const char *rel)
{
    size_t rl = strlen(rel);
    const char *p = list;
    while (*p) {
        p = skip_ws(p);
        size_t n = strcspn(p, " \t");
        if (n == rl && strncasecmp(p, rel, rl) == 0) {
            return true;
        }
        p += n;
    }
    return false;
}

/* Parses the parameters of one link-value; *match when rel matches.  Returns
 * the position of the ',' or NUL that ends it, NULL when malformed. */
static const char *link_params(const char *p, const char *rel, bool *match)
{
    char val[PARAM_MAX];
    for (;;) {
        p = skip_ws(p);
        if (*p == ',' || *p == '\0') {
            return p;
        }
        if (*p != ';') {
            return NULL;
        }
        size_t nl = 0;
        const char *name = skip_ws(p + 1);
        p = skip_ws(read_token(name, &nl));
        if (nl == 0) {
            return NULL;
        }
        if (*p != '=') {
            continue; /* a parameter without value */
        }
        p = read_value(skip_ws(p + 1), val, sizeof val);
        if (!p) {
            return NULL;
        }
        if (nl == 3 && strncasecmp(name, "rel", 3) == 0 && rel_has(val, rel)) {
            *match = true;
        }
    }
}

int temper_http_parse_link(const char *value, const char *rel, char **url)
{
    *url = NULL;
    if (!value || !rel) {
        return TEMPER_EINVAL;
    }
    const char *p = value;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            return TEMPER_ENOTFOUND;
        }
        if (*p != '<') {
            return TEMPER_EFORMAT;
        }
        const char *start = p + 1;
        const char *end = strchr(start, '>');
        if (!end || end - start > HTTP_URL_MAX) {
            return TEMPER_EFORMAT;
        }
        bool match = false;
        p = link_params(end + 1, rel, &match);
        if (!p) {
            return TEMPER_EFORMAT;
        }
        if (match) {
            *url = strndup(start, (size_t)(end - start));
            return *url ? TEMPER_OK : TEMPER_ENOMEM;
        }
    }
}

int temper_http_resp_link(const struct temper_http_resp *r, const char *rel, char **url)
{
    *url = NULL;
    if (!r || !rel) {
        return TEMPER_EINVAL;
    }
    int rc = TEMPER_ENOTFOUND;
    for (size_t i = 0; i < HTTP_HDR_LINES_MAX; i++) {
        const char *v = temper_http_resp_header(r, "Link", i);
        if (!v) {
            break;
        }
        char *raw = NULL;
        rc = temper_http_parse_link(v, rel, &raw);
        if (rc == TEMPER_OK) {
            rc = temper_http_resolve_url(r->effective_url, raw, url);
            free(raw);
            return rc;
        }
        if (rc != TEMPER_ENOTFOUND) {
            return rc;
        }
    }
    return rc;
}

int temper_http_resp_location(const struct temper_http_resp *r, char **url)
{
    *url = NULL;
    const char *loc = temper_http_resp_header(r, "Location", 0);
    if (!loc) {
        return TEMPER_ENOTFOUND;
    }
    return temper_http_resolve_url(r->effective_url, loc, url);
}

/* ---- Retry-After -------------------------------------------------------- */

int temper_http_parse_retry_after(const char *value, long long now_ms, long long *wait_ms)
{
    *wait_ms = 0;
    if (!value) {
        return TEMPER_EINVAL;
    }
    char buf[128];
    const char *s = skip_ws(value);
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    if (n == 0 || n >= sizeof buf) {
        return TEMPER_EFORMAT;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (strspn(buf, "0123456789") == n) {
        long long secs = 0;
        if (n > 12 || temper_parse_ll(buf, &secs) != TEMPER_OK) {
            secs = RETRY_AFTER_MAX_S;
        }
        *wait_ms = (secs > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : secs) * 1000;
        return TEMPER_OK;
    }
    time_t t = curl_getdate(buf, NULL);
    if (t == (time_t)-1) {
        return TEMPER_EFORMAT;
    }
    /* a date in the past waits 0; one beyond the cap waits the cap, like a
     * delay does (curl_getdate() takes years like 1666123306: no overflow) */
    long long now_s = now_ms / 1000;
    if ((long long)t <= now_s) {
        *wait_ms = 0;
        return TEMPER_OK;
    }
    if ((long long)t - now_s > RETRY_AFTER_MAX_S) {
        *wait_ms = RETRY_AFTER_MAX_S * 1000;
        return TEMPER_OK;
    }
    long long ms = (long long)t * 1000 - now_ms;
    *wait_ms = ms < 0 ? 0 : ms;
    return TEMPER_OK;
}

int temper_http_resp_retry_after(const struct temper_http_resp *r, long long now_ms,
                                 long long *wait_ms)
{
    *wait_ms = 0;
    const char *v = temper_http_resp_header(r, "Retry-After", 0);
    if (!v) {
        return TEMPER_ENOTFOUND;
    }
    return temper_http_parse_retry_after(v, now_ms, wait_ms);
}

/* ---- WWW-Authenticate --------------------------------------------------- */

int temper_http_auth_param(const char *challenge, const char *param, char **value)
{
    char val[PARAM_MAX];
    size_t sl = 0;
    *value = NULL;
    if (!challenge) {
        return TEMPER_EINVAL;
    }
    const char *scheme = skip_ws(challenge);
    const char *p = read_token(scheme, &sl);
    if (sl == 0) {
        return TEMPER_EFORMAT;
    }
    if (!param) {
        *value = strndup(scheme, sl);
        return *value ? TEMPER_OK : TEMPER_ENOMEM;
    }
    for (;;) {
        size_t nl = 0;
        const char *name = skip_ws(p);
        p = skip_ws(read_token(name, &nl));
        if (nl == 0 || *p != '=') {
            return TEMPER_ENOTFOUND; /* end, token68, or the next challenge */
        }
        p = read_value(skip_ws(p + 1), val, sizeof val);
        if (!p) {
            return TEMPER_EFORMAT;
        }
        if (nl == strlen(param) && strncasecmp(name, param, nl) == 0) {
            *value = strdup(val);
            return *value ? TEMPER_OK : TEMPER_ENOMEM;
        }
        p = skip_ws(p);
        if (*p != ',') {
            return TEMPER_ENOTFOUND;
        }
        p++;
    }
}

/* ---- base64 (for basic auth) -------------------------------------------- */

int http_b64(const char *in, size_t n, char **out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc((n + 2) / 3 * 4 + 1);
    *out = NULL;
    if (!o) {
        return TEMPER_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n) {
            v |= (unsigned char)in[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= (unsigned char)in[i + 2];
        }
        o[k++] = tab[(v >> 18) & 63];
        o[k++] = tab[(v >> 12) & 63];
        o[k++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        o[k++] = i + 2 < n ? tab[v & 63] : '=';
    }
    o[k] = '\0';
    *out = o;
    return TEMPER_OK;
}

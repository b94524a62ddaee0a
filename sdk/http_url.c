/* temper — URL helpers of the HTTP client: checks, origins, resolution and
 * the log-safe form of a URL.  All parsing goes through libcurl's URL API. */
#include "config.h"
#include "http_int.h"
#include <temper/buf.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Query parameter names containing one of these have their value hidden. */
static const char *const secret_words[] = {
    "token", "sig", "key", "secret", "pass", "auth", "credential", "code", "session", NULL
};

static bool has_bad_chars(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c == 0x7f) {
            return true;
        }
    }
    return false;
}

static CURLU *parse(const char *url)
{
    if (!url || strlen(url) > HTTP_URL_MAX || has_bad_chars(url)) {
        return NULL;
    }
    CURLU *u = curl_url();
    if (!u) {
        return NULL;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        return NULL;
    }
    return u;
}

/* Copies a part of u (lower-cased when `lower`) into a new string. */
static char *part(CURLU *u, CURLUPart what, unsigned flags, bool lower)
{
    char *v = NULL;
    if (curl_url_get(u, what, &v, flags) != CURLUE_OK || !v) {
        return NULL;
    }
    char *copy = strdup(v);
    curl_free(v);
    if (copy && lower) {
        for (char *p = copy; *p; p++) {
            *p = (char)tolower((unsigned char)*p);
        }
    }
    return copy;
}

static bool scheme_ok(const char *scheme)
{
    return scheme && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
}

static char *origin_of(CURLU *u)
{
    char *scheme = part(u, CURLUPART_SCHEME, 0, true);
    char *host = part(u, CURLUPART_HOST, 0, true);
    char *port = part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT, false);
    char *o = NULL;
    if (scheme && host && port) {
        o = temper_strdupf("%s://%s:%s", scheme, host, port);
    }
    free(scheme);
    free(host);
    free(port);
    return o;
}

char *http_origin(const char *url)
{
    CURLU *u = parse(url);
    if (!u) {
        return NULL;
    }
    char *o = origin_of(u);
    curl_url_cleanup(u);
    return o;
}

static bool has_part(CURLU *u, CURLUPart what)
{
    char *v = NULL;
    CURLUcode c = curl_url_get(u, what, &v, 0);
    curl_free(v);
    return c == CURLUE_OK;
}

/* TEMPER_OK with *origin (new) or TEMPER_EINVAL with the reason in why. */
int http_check_url(const char *url, char **origin, char *why, size_t n)
{
    int rc = TEMPER_EINVAL;
    const char *msg = NULL;
    char *scheme = NULL;
    *origin = NULL;
    CURLU *u = parse(url);
    if (!u) {
        msg = url && strlen(url) > HTTP_URL_MAX ? "URL too long" : "malformed URL";
        goto out;
    }
    scheme = part(u, CURLUPART_SCHEME, 0, true);
    if (!scheme_ok(scheme)) {
        msg = "only http and https URLs are supported";
        goto out;
    }
    if (has_part(u, CURLUPART_USER) || has_part(u, CURLUPART_PASSWORD)) {
        msg = "credentials in URLs are not supported (use basic_auth_file)";
        goto out;
    }
    *origin = origin_of(u);
    if (!*origin) {
        msg = "URL without a host";
        goto out;
    }
    rc = TEMPER_OK;
out:
    if (msg && n > 0) {
        snprintf(why, n, "%s", msg);
    }
    free(scheme);
    curl_url_cleanup(u);
    return rc;
}

int temper_http_resolve_url(const char *base, const char *ref, char **out)
{
    int rc = TEMPER_EFORMAT;
    char *scheme = NULL;
    *out = NULL;
    CURLU *u = parse(base);
    if (!u || !ref || strlen(ref) > HTTP_URL_MAX || has_bad_chars(ref)) {
        goto out;
    }
    if (curl_url_set(u, CURLUPART_URL, ref, 0) != CURLUE_OK) {
        goto out;
    }
    scheme = part(u, CURLUPART_SCHEME, 0, true);
    if (!scheme_ok(scheme)) {
        goto out;
    }
    *out = part(u, CURLUPART_URL, 0, false);
    rc = *out ? TEMPER_OK : TEMPER_ENOMEM;
out:
    free(scheme);
    curl_url_cleanup(u);
    return rc;
}

static bool secret_name(const char *name, size_t n)
{
    for (size_t w = 0; secret_words[w]; w++) {
        size_t wl = strlen(secret_words[w]);
        for (size_t i = 0; i + wl <= n; i++) {
            if (strncasecmp(name + i, secret_words[w], wl) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* The query with secret-looking values replaced; new string. */
static char *safe_query(const char *q)
{
    struct temper_buf b;
    temper_buf_init(&b, HTTP_URL_MAX * 2);
    int rc = temper_buf_puts(&b, "");
    const char *p = q;
    while (rc == TEMPER_OK && *p) {
        size_t len = strcspn(p, "&");
        size_t nlen = strcspn(p, "=&");
        if (p != q) {
            rc = temper_buf_puts(&b, "&");
        }
        if (rc == TEMPER_OK && nlen < len && secret_name(p, nlen)) {
            rc = temper_buf_printf(&b, "%.*s=***", (int)nlen, p);
        } else if (rc == TEMPER_OK) {
            rc = temper_buf_append(&b, p, len);
        }
        p += len;
        if (*p == '&') {
            p++;
        }
    }
    if (rc != TEMPER_OK) {
        temper_buf_cleanup(&b);
        return NULL;
    }
    return temper_buf_take(&b, NULL);
}

char *temper_http_safe_url(const char *url)
{
    char *out = NULL;
    char *q = NULL;
    char *sq = NULL;
    CURLU *u = parse(url);
    if (!u) {
        return strdup("<invalid URL>");
    }
    if (curl_url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK) {
        goto out;
    }
    q = part(u, CURLUPART_QUERY, 0, false);
    if (q) {
        sq = safe_query(q);
        if (!sq || curl_url_set(u, CURLUPART_QUERY, sq, 0) != CURLUE_OK) {
            goto out;
        }
    }
    out = part(u, CURLUPART_URL, 0, false);
out:
    free(q);
    free(sq);
    curl_url_cleanup(u);
    return out;
}

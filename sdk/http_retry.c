/* temper — what happens after an attempt: the final outcome, a redirect, or a
 * retry with exponential backoff, jitter and the server's Retry-After. */
#include "config.h"
#include "http_int.h"
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SNIPPET_MAX 160

enum retry { RETRY_SCHEDULED, RETRY_NO, RETRY_FAILED };

static bool idempotent(const char *m)
{
    static const char *const ok[] = { "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE",
                                       NULL };
    for (size_t i = 0; ok[i]; i++) {
        if (strcmp(m, ok[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int status_rc(long status)
{
    if (status == 404 || status == 410) {
        return TEMPER_ENOTFOUND;
    }
    return status == 429 ? TEMPER_ELIMIT : TEMPER_ENET;
}

static int curl_rc(CURLcode res)
{
    switch (res) {
    case CURLE_OPERATION_TIMEDOUT:
        return TEMPER_ETIMEOUT;
    case CURLE_OUT_OF_MEMORY:
        return TEMPER_ENOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return TEMPER_EINVAL;
    case CURLE_WRITE_ERROR:
    case CURLE_READ_ERROR:
        return TEMPER_EIO;
    case CURLE_FILESIZE_EXCEEDED:
        return TEMPER_ELIMIT;
    case CURLE_ABORTED_BY_CALLBACK:
        return TEMPER_ECANCEL;
    default:
        return TEMPER_ENET;
    }
}

static bool curl_retryable(CURLcode res)
{
    switch (res) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

/* The server never saw the request: safe to retry any method. */
static bool before_request(CURLcode res)
{
    return res == CURLE_COULDNT_RESOLVE_PROXY || res == CURLE_COULDNT_RESOLVE_HOST ||
           res == CURLE_COULDNT_CONNECT;
}

static long long backoff(const struct temper_http *h, unsigned tries)
{
    long long d = h->backoff_base_ms;
    for (unsigned i = 1; i < tries && d < h->backoff_max_ms; i++) {
        d *= 2;
    }
    if (d > h->backoff_max_ms) {
        d = h->backoff_max_ms;
    }
    uint32_t r = 0;
    if (gnutls_rnd(GNUTLS_RND_NONCE, &r, sizeof r) != 0) {
        r = (uint32_t)http_mono_ms();
    }
    /* "equal jitter": half fixed, half random */
    return d / 2 + (long long)(r % (uint32_t)(d / 2 + 1));
}

static enum retry schedule_retry(struct xfer *x, const char *cause, long long server_wait,
                                 bool safe)
{
    struct temper_http *h = x->h;
    unsigned tries = x->resp->attempts;
    if (!safe && !idempotent(x->method0) && !(x->flags & TEMPER_HTTP_RETRY_UNSAFE)) {
        return RETRY_NO;
    }
    if ((long long)tries > (long long)h->max_retries) {
        return RETRY_NO;
    }
    if (server_wait > h->max_wait_ms) {
        char when[40];
        long long now = temper_stage_now_ms(h->st);
        bool limit = x->resp->status == 403 || x->resp->status == 429;
        http_rate_when(now, now + server_wait, when, sizeof when);
        xfer_fail(x, TEMPER_ELIMIT,
                  "%s: %s %s (the server asks to wait %lld s, more than the maximum wait of "
                  "%ld s)", cause, limit ? "rate limited until" : "retry after", when,
                  (server_wait + 999) / 1000, (h->max_wait_ms + 999) / 1000);
        return RETRY_FAILED;
    }
    long long delay = backoff(h, tries);
    if (server_wait > delay) {
        delay = server_wait;
    }
    char *u = temper_http_safe_url(x->req->url);
    TEMPER_LOG_INFO(h->st, "retrying %s %s in %lld ms: %s (attempt %u of %d)", x->method0,
                    u ? u : "?", delay, cause, tries + 1, h->max_retries + 1);
    free(u);
    if (xfer_restart(x) != TEMPER_OK) {
        return RETRY_FAILED;
    }
    x->resp->attempts = tries + 1;
    x->state = XS_WAITING;
    x->due_ms = http_mono_ms() + delay;
    return RETRY_SCHEDULED;
}

static const char *attempts_note(const struct xfer *x, char *buf, size_t n)
{
    buf[0] = '\0';
    if (x->resp->attempts > 1) {
        snprintf(buf, n, " after %u attempts", x->resp->attempts);
    }
    return buf;
}

/* Wait asked for by the server (ms), -1 when it asked for none. */
static long long server_wait(const struct xfer *x)
{
    long long now = temper_stage_now_ms(x->h->st);
    long long w = 0;
    if (temper_http_resp_retry_after(x->resp, now, &w) == TEMPER_OK) {
        return w;
    }
    const char *rem = http_hdr_get(x->resp->priv, "X-RateLimit-Remaining", 0);
    const char *reset = http_hdr_get(x->resp->priv, "X-RateLimit-Reset", 0);
    long long epoch = 0;
    if (!rem || strcmp(rem, "0") != 0) {
        return -1;
    }
    if (reset && temper_parse_ll(reset, &epoch) == TEMPER_OK && epoch >= 0 &&
        epoch < 100000000000LL) {
        w = epoch * 1000 - now;
        return w < 0 ? 0 : w;
    }
    return 0; /* exhausted, reset unknown: the backoff decides */
}

static bool retryable_status(long status, long long wait)
{
    if (status == 408 || status == 429) {
        return true;
    }
    if (status >= 500 && status <= 599 && status != 501 && status != 505) {
        return true;
    }
    return status == 403 && wait >= 0;
}

/* The start of an error body, printable, for the one-line message. */
static void snippet(const struct temper_buf *b, char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    if (!b->data || b->len == 0 || n < 4) {
        return;
    }
    out[k++] = ':';
    out[k++] = ' ';
    for (size_t i = 0; i < b->len && i < SNIPPET_MAX && k + 1 < n; i++) {
        unsigned char c = (unsigned char)b->data[i];
        out[k++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[k] = '\0';
}

static void keep_validators(struct xfer *x)
{
    struct temper_http_priv *p = x->resp->priv;
    const char *etag = http_hdr_get(p, "ETag", 0);
    const char *lm = http_hdr_get(p, "Last-Modified", 0);
    if (!p->key) {
        return;
    }
    if (etag && http_valid_validator(etag)) {
        p->etag = strdup(etag);
    }
    if (lm && http_valid_validator(lm)) {
        p->last_modified = strdup(lm);
    }
    p->can_commit = true;
}

static void finish_reply(struct xfer *x, long status)
{
    char why[512];
    char note[40];
    if (status >= 200 && status <= 299) {
        int rc = xfer_finish_body(x, why, sizeof why);
        if (rc != TEMPER_OK) {
            xfer_fail(x, rc, "%s", why);
            return;
        }
        keep_validators(x);
    } else if (status == 304) {
        x->resp->not_modified = true;
    } else if (!(x->flags & TEMPER_HTTP_ANY_STATUS)) {
        snippet(&x->resp->body, why, sizeof why);
        xfer_fail(x, status_rc(status), "HTTP %ld%s%s", status, attempts_note(x, note, 40),
                  why);
        return;
    }
    xfer_discard_tmp(x); /* left only when there was no 2xx body to keep */
    x->resp->rc = TEMPER_OK;
    x->state = XS_DONE;
}

static void follow(struct xfer *x, long status)
{
    char why[128];
    char *next = NULL;
    char *origin = NULL;
    const char *loc = http_hdr_get(x->resp->priv, "Location", 0);
    if (x->redirects >= x->h->max_redirects) {
        xfer_fail(x, TEMPER_ELIMIT, "too many redirects (maximum %d)", x->h->max_redirects);
        return;
    }
    if (temper_http_resolve_url(x->url, loc, &next) != TEMPER_OK ||
        http_check_url(next, &origin, why, sizeof why) != TEMPER_OK) {
        xfer_fail(x, TEMPER_ENET, "HTTP %ld with an unusable Location", status);
        goto out;
    }
    if (strncmp(x->url, "https:", 6) == 0 && strncmp(next, "https:", 6) != 0) {
        xfer_fail(x, TEMPER_ENET, "refusing a redirect from https to http");
        goto out;
    }
    if (status == 303 || ((status == 301 || status == 302) && strcmp(x->method, "POST") == 0)) {
        if (strcmp(x->method, "HEAD") != 0) {
            snprintf(x->method, sizeof x->method, "%s", "GET");
        }
        x->send_body = false;
    }
    free(x->url);
    free(x->origin);
    x->url = next;
    x->origin = origin;
    next = NULL;
    origin = NULL;
    x->redirects++;
    x->state = XS_READY;
    x->due_ms = 0;
out:
    free(next);
    free(origin);
}

/* A final 403/429 that is a rate limit: TEMPER_ELIMIT saying until when. */
static void rate_limited(struct xfer *x, long status, long long wait)
{
    char when[40], note[40], body[SNIPPET_MAX + 8];
    long long now = temper_stage_now_ms(x->h->st);
    http_rate_when(now, now + wait, when, sizeof when);
    snippet(&x->resp->body, body, sizeof body);
    xfer_fail(x, TEMPER_ELIMIT, "HTTP %ld%s: rate limited until %s%s", status,
              attempts_note(x, note, sizeof note), when, body);
}

static void after_reply(struct xfer *x)
{
    long status = 0;
    char cause[64];
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    x->resp->status = status;
    free(x->resp->effective_url);
    x->resp->effective_url = strdup(x->url);
    char *u = temper_http_safe_url(x->url);
    TEMPER_LOG_DEBUG(x->h->st, "%s %s: HTTP %ld", x->method, u ? u : "?", status);
    free(u);
    if (!x->resp->effective_url) {
        xfer_fail(x, TEMPER_ENOMEM, "out of memory");
        return;
    }
    if (xfer_will_follow(x, status)) {
        follow(x, status);
        return;
    }
    long long wait = server_wait(x);
    if (retryable_status(status, wait)) {
        snprintf(cause, sizeof cause, "HTTP %ld", status);
        if (schedule_retry(x, cause, wait, false) != RETRY_NO) {
            return;
        }
    }
    if ((status == 403 || status == 429) && wait >= 0 &&
        !(x->flags & TEMPER_HTTP_ANY_STATUS)) {
        rate_limited(x, status, wait);
        return;
    }
    finish_reply(x, status);
}

static void after_error(struct xfer *x, CURLcode res)
{
    char note[40];
    if (x->cb_rc != TEMPER_OK) {
        xfer_fail(x, x->cb_rc, "%s", x->cb_msg);
        return;
    }
    if (res == CURLE_ABORTED_BY_CALLBACK) {
        xfer_fail(x, TEMPER_ECANCEL, "cancelled");
        return;
    }
    char cause[CURL_ERROR_SIZE + 64];
    snprintf(cause, sizeof cause, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
    if (curl_retryable(res) &&
        schedule_retry(x, cause, -1, before_request(res)) != RETRY_NO) {
        return;
    }
    xfer_fail(x, curl_rc(res), "%s%s", cause, attempts_note(x, note, sizeof note));
}

void xfer_done(struct xfer *x, CURLcode res)
{
    if (res == CURLE_OK && x->cb_rc == TEMPER_OK) {
        after_reply(x);
    } else {
        after_error(x, res);
    }
}

/* temper — GitHub trackers: requests in batches under the host's rate limit.
 *
 * Every request of a round goes through gh_fetch(), which runs them with
 * temper_http_batch() (at most `concurrency` in flight) in chunks sized by
 * the last X-RateLimit-Remaining the host reported (while it is unknown, a
 * first chunk of `concurrency` requests learns it).  After each chunk the
 * replies' X-RateLimit-* and Retry-After headers update the instance's view
 * of the host (struct gh_rate): when the primary limit is exhausted or a
 * secondary limit asked to wait, the next chunk waits (up to max_wait) or,
 * when the wait is longer, is not sent at all and its requests fail with
 * TEMPER_ELIMIT saying until when.  Retries of single requests (5xx,
 * Retry-After within max_wait) are the SDK's. */
#include "github.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define GH_SECONDARY_DEFAULT_MS 60000 /* GitHub: wait at least a minute */
#define GH_SLEEP_SLICE_MS 100
#define GH_CHUNK_ROUNDS 16 /* a chunk is at most 16 x concurrency requests */

static int gh_call_init(struct gh_state *s, struct gh_call *c, char *url, unsigned flags)
{
    memset(c, 0, sizeof *c);
    c->url = url;
    c->hdrs[0] = GH_ACCEPT;
    c->hdrs[1] = GH_API_VERSION;
    c->hdrs[2] = s->auth_header;
    c->hdrs[3] = NULL;
    c->req.size = sizeof c->req;
    c->req.method = "GET";
    c->req.url = url;
    c->req.headers = c->hdrs;
    c->req.flags = flags;
    temper_http_resp_init(&c->resp);
    return url ? TEMPER_OK : TEMPER_ENOMEM;
}

static void gh_call_cleanup(struct gh_call *c)
{
    temper_http_resp_cleanup(&c->resp);
    free(c->url);
    free(c->err);
    memset(c, 0, sizeof *c);
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void iso_time(long long unix_ms, char *out, size_t n)
{
    time_t t = (time_t)((unix_ms + 999) / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, n, "?");
    }
}

static void block(struct gh_state *s, long long until, const char *cause)
{
    char when[40];
    if (until <= s->rate.blocked_until) {
        return;
    }
    iso_time(until, when, sizeof when);
    s->rate.blocked_until = until;
    snprintf(s->rate.why, sizeof s->rate.why, "%s: %s until %s", s->origin, cause, when);
}

static bool header_ll(const struct temper_http_resp *r, const char *name, long long *v)
{
    const char *h = temper_http_resp_header(r, name, 0);
    return h && temper_parse_ll(h, v) == TEMPER_OK && *v >= 0 && *v < 100000000000LL;
}

static bool mentions_rate_limit(const struct temper_buf *b)
{
    static const char needle[] = "rate limit";
    size_t k = sizeof needle - 1;
    for (size_t i = 0; b->data && i + k <= b->len && i < 4096; i++) {
        if (strncasecmp(b->data + i, needle, k) == 0) {
            return true;
        }
    }
    return false;
}

/* A failed reply that hit a rate limit: TEMPER_ELIMIT, saying until when. */
static void limited(struct gh_state *s, struct gh_call *c)
{
    char *e = temper_strdupf("%s (%s)", c->err ? c->err : "rate limited", s->rate.why);
    if (e) {
        free(c->err);
        c->err = e;
    }
    c->rc = TEMPER_ELIMIT;
}

/* What one reply says about the host's limits. */
static void note_reply(struct gh_state *s, struct temper_stage *st, struct gh_call *c,
                       long long *min_rem, long long *min_reset)
{
    const struct temper_http_resp *r = &c->resp;
    long long now = temper_stage_now_ms(st);
    long long rem = -1, reset = 0, wait = 0;
    bool has_rem = header_ll(r, "X-RateLimit-Remaining", &rem);
    if (has_rem && (*min_rem < 0 || rem < *min_rem)) {
        *min_rem = rem;
        *min_reset = header_ll(r, "X-RateLimit-Reset", &reset) ? reset * 1000 : 0;
    }
    if (c->rc == TEMPER_OK || (r->status != 403 && r->status != 429)) {
        return;
    }
    if (temper_http_resp_retry_after(r, now, &wait) == TEMPER_OK) {
        block(s, now + wait, "secondary rate limit (Retry-After)");
    } else if (has_rem && rem == 0) {
        long long until = header_ll(r, "X-RateLimit-Reset", &reset) ? reset * 1000 : 0;
        block(s, until > now ? until : now + GH_SECONDARY_DEFAULT_MS,
              "rate limit exhausted");
    } else if (r->status == 429 || mentions_rate_limit(&r->body)) {
        block(s, now + GH_SECONDARY_DEFAULT_MS, "secondary rate limit");
    } else {
        return;
    }
    limited(s, c);
}

static void note_chunk_end(struct gh_state *s, struct temper_stage *st, long long rem,
                           long long reset_ms)
{
    if (rem < 0) {
        return;
    }
    s->rate.remaining = rem;
    s->rate.reset_ms = reset_ms;
    if (rem == 0 && reset_ms > temper_stage_now_ms(st)) {
        block(s, reset_ms, "rate limit exhausted");
    }
}

/* TEMPER_OK when requests may go now (after waiting up to max_wait),
 * TEMPER_ELIMIT when the host is blocked for longer, TEMPER_ECANCEL. */
static int wait_for_budget(struct gh_state *s, struct temper_stage *st)
{
    long long now = temper_stage_now_ms(st);
    long long wait = s->rate.blocked_until - now;
    if (wait <= 0) {
        if (s->rate.remaining == 0) {
            s->rate.remaining = -1; /* the reset time passed */
        }
        return TEMPER_OK;
    }
    if (wait > s->conf->max_wait) {
        return TEMPER_ELIMIT;
    }
    TEMPER_LOG_INFO(st, "waiting %lld ms: %s", wait, s->rate.why);
    long long end = mono_ms() + wait;
    while (mono_ms() < end) {
        if (temper_stage_cancelled(st)) {
            return temper_fail(st, TEMPER_ECANCEL, "cancelled while waiting: %s",
                               s->rate.why);
        }
        long long left = end - mono_ms();
        struct timespec ts = { 0, (left < GH_SLEEP_SLICE_MS ? left : GH_SLEEP_SLICE_MS) *
                                      1000000L };
        nanosleep(&ts, NULL);
    }
    s->rate.blocked_until = 0;
    s->rate.remaining = -1;
    return TEMPER_OK;
}

static int not_sent(struct gh_state *s, struct gh_call *const *calls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *u = temper_http_safe_url(calls[i]->url);
        calls[i]->rc = TEMPER_ELIMIT;
        calls[i]->err = temper_strdupf("GET %s: not sent: %s", u ? u : "?", s->rate.why);
        free(u);
        if (!calls[i]->err) {
            return TEMPER_ENOMEM;
        }
    }
    return TEMPER_OK;
}

static int run_chunk(struct gh_state *s, struct temper_stage *st, struct temper_http *h,
                     struct gh_call *const *calls, size_t n)
{
    const struct temper_http_req **reqs = calloc(n, sizeof *reqs);
    struct temper_http_resp **resps = calloc(n, sizeof *resps);
    long long rem = -1, reset = 0;
    int rc = TEMPER_ENOMEM;
    if (!reqs || !resps) {
        temper_fail(st, rc, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        reqs[i] = &calls[i]->req;
        resps[i] = &calls[i]->resp;
    }
    rc = temper_http_batch(h, (const struct temper_http_req *const *)reqs,
                           (struct temper_http_resp *const *)resps, n);
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        struct gh_call *c = calls[i];
        c->sent = true;
        c->rc = c->resp.rc;
        if (c->rc != TEMPER_OK) {
            c->err = strdup(c->resp.error ? c->resp.error : temper_rc_str(c->rc));
        }
        note_reply(s, st, c, &rem, &reset);
    }
    if (rc == TEMPER_OK) {
        note_chunk_end(s, st, rem, reset);
    }
out:
    free(reqs);
    free(resps);
    return rc;
}

/* Run calls[0..n).  Returns TEMPER_OK when every call has an outcome in
 * calls[i]->rc (failures are not recorded on st: the caller names the watch);
 * an error only for the round as a whole (cancel, out of memory). */
static int gh_fetch(struct gh_state *s, struct temper_stage *st, struct temper_http *h,
                    struct gh_call *const *calls, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (temper_stage_cancelled(st)) {
            return temper_fail(st, TEMPER_ECANCEL, "cancelled");
        }
        int rc = wait_for_budget(s, st);
        if (rc == TEMPER_ELIMIT) {
            return not_sent(s, calls + i, n - i);
        }
        if (rc != TEMPER_OK) {
            return rc;
        }
        /* unknown budget: a first chunk of `concurrency` requests learns it;
         * chunks stay a multiple of `concurrency` (no half-empty rounds) and
         * bounded, so that one batch never schedules thousands of requests */
        size_t floor = (size_t)s->conf->concurrency;
        size_t chunk = s->rate.remaining < 0 ? floor : (size_t)s->rate.remaining;
        chunk = chunk > floor ? chunk : floor;
        chunk = chunk < floor * GH_CHUNK_ROUNDS ? chunk - chunk % floor
                                                 : floor * GH_CHUNK_ROUNDS;
        chunk = chunk < n - i ? chunk : n - i;
        rc = run_chunk(s, st, h, calls + i, chunk);
        if (rc != TEMPER_OK) {
            return rc;
        }
        i += chunk;
    }
    return TEMPER_OK;
}

/* The reply's Link rel="next" (new string in *next, NULL on the last page).
 * TEMPER_EFORMAT when it is malformed or leaves the API host. */
static int gh_next_link(struct gh_state *s, const struct gh_call *c, char **next)
{
    char *url = NULL;
    *next = NULL;
    int rc = temper_http_resp_link(&c->resp, "next", &url);
    if (rc == TEMPER_ENOTFOUND) {
        return TEMPER_OK;
    }
    if (rc != TEMPER_OK) {
        return rc;
    }
    char *origin = url_origin(url);
    bool same = origin && strcmp(origin, s->origin) == 0 && strlen(url) <= GH_MAX_URL;
    free(origin);
    if (!same) {
        free(url);
        return TEMPER_EFORMAT;
    }
    *next = url;
    return TEMPER_OK;
}

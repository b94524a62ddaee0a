/* temper — GitHub trackers: requests in batches.
 *
 * Every request of a round goes through gh_fetch(), which runs them with
 * temper_http_batch() (at most `concurrency` in flight) in chunks of at most
 * GH_CHUNK_ROUNDS x `concurrency` requests.  Rate limits are the SDK's: its
 * per-host table, shared by every tracker of the process, is updated by every
 * reply (X-RateLimit-Remaining/Reset, 403/429 with Retry-After) and admits
 * every request: while api_url's host is exhausted, requests wait for the
 * reset up to max_wait, or are not sent at all and fail with TEMPER_ELIMIT
 * "rate limited until HH:MM:SS UTC".  A 304 costs nothing.  Retries of
 * single requests (5xx, Retry-After within max_wait) are the SDK's too. */
#include "github.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int run_chunk(struct temper_stage *st, struct temper_http *h,
                     struct gh_call *const *calls, size_t n)
{
    const struct temper_http_req **reqs = calloc(n, sizeof *reqs);
    struct temper_http_resp **resps = calloc(n, sizeof *resps);
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
        c->sent = c->resp.status > 0;
        c->rc = c->resp.rc;
        if (c->rc != TEMPER_OK) {
            c->err = strdup(c->resp.error ? c->resp.error : temper_rc_str(c->rc));
        }
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
    size_t chunk = (size_t)s->conf->concurrency * GH_CHUNK_ROUNDS;
    for (size_t i = 0; i < n; i += chunk) {
        if (temper_stage_cancelled(st)) {
            return temper_fail(st, TEMPER_ECANCEL, "cancelled");
        }
        int rc = run_chunk(st, h, calls + i, chunk < n - i ? chunk : n - i);
        if (rc != TEMPER_OK) {
            return rc;
        }
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

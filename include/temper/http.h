/* temper — HTTP client on libcurl.
 *
 * One client per stage (temper_http_new), used from one thread at a time.
 * It keeps a connection cache, so consecutive requests to one host reuse
 * their connection (pagination, registry round trips).
 *
 * What every request gets, without the caller asking:
 *  - TLS is always verified (peer and host name).  `ca_file` replaces the
 *    default trust store; there is no option to turn verification off.
 *  - Proxies come from libcurl's usual environment variables (http_proxy,
 *    https_proxy, all_proxy, no_proxy); the client never overrides them.
 *  - Only http:// and https:// URLs; credentials inside URLs are refused
 *    (use `basic_auth_file`).
 *  - Redirects are followed by the client itself (at most `max_redirects`),
 *    never from https to http.  Credentials (the client's token or basic
 *    auth, and any Authorization, Proxy-Authorization or Cookie header of the
 *    request) are sent only while the URL has the same scheme, host and port
 *    as the request's URL: a blob redirect to a CDN never sees the token.
 *  - Retries with exponential backoff and jitter on connection errors,
 *    timeouts, 408, 429, 5xx (not 501/505) and GitHub-style rate limits (403
 *    or 429 with Retry-After or X-RateLimit-Remaining: 0).  A server's
 *    Retry-After / X-RateLimit-Reset is honoured up to `max_wait_ms`; a longer
 *    wait fails at once with TEMPER_ELIMIT saying when to retry.  Methods
 *    other than GET, HEAD, PUT, DELETE and OPTIONS are retried only with
 *    TEMPER_HTTP_RETRY_UNSAFE, or when the connection could not be made at
 *    all (the server never saw the request).  A retry after a redirect starts
 *    again from the request's URL (presigned redirect targets expire).
 *  - Caps: response bodies (`max_body` / `max_file`, TEMPER_ELIMIT naming the
 *    URL), response headers (256 KiB, 256 lines), URLs (8 KiB), redirects.
 *  - Waits (backoff) and transfers stop when temper_stage_cancelled() turns
 *    true: TEMPER_ECANCEL.
 *  - Errors are one line, "METHOD URL: cause", with the URL stripped of
 *    credentials and of the values of token-like query parameters
 *    (temper_http_safe_url), registered secrets redacted.
 *
 * Status codes.  By default a final status other than 2xx or 304 is an
 * error: 404/410 give TEMPER_ENOTFOUND, 429 TEMPER_ELIMIT, others
 * TEMPER_ENET.  With TEMPER_HTTP_ANY_STATUS every final reply is TEMPER_OK and
 * the caller reads `status` (OCI: 401 challenges, HEAD 404 "blob absent").
 * A 304 is always TEMPER_OK with `not_modified` set.
 *
 * Bodies.  A 2xx body goes to `resp->body` (capped by max_body, default
 * opts.max_body) or, with `out_path`, is streamed to a temporary file next to
 * out_path (mode 0600) that is renamed into place only when the whole body
 * arrived, fitted the cap (default opts.max_file) and matched
 * `expect_sha256`; on any failure out_path is left as it was.  The SHA-256 of
 * a 2xx body is computed while it arrives (`resp->sha256`).  The body of any
 * other reply is kept in `resp->body` for diagnostics, silently truncated at
 * min(cap, 1 MiB).  Memory bodies accept compressed transfer (gzip, ...),
 * capped after decompression; files are fetched as the server stores them.
 *
 * Conditional requests (TEMPER_HTTP_CONDITIONAL).  The client keeps the
 * validators (ETag, Last-Modified) of a URL in the stage's durable state
 * under the key "http:" + URL and sends If-None-Match / If-Modified-Since.  A
 * 304 sets `not_modified`.  New validators are stored only when the caller
 * calls temper_http_commit_validators() after it accepted the 2xx body, so a
 * reply that later fails validation does not move the stored ETag.
 *
 * Concurrency.  temper_http_batch() runs many requests at once through
 * libcurl multi with the same retries, caps, redirects and conditional logic,
 * at most `max_host_connections` in flight per host (scheme, host, port) and
 * `max_connections` in total.  A request waiting for its retry does not hold
 * up the others.
 *
 * The SDK never calls curl_global_init(): the core (or a test) does, once. */
#ifndef TEMPER_HTTP_H
#define TEMPER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <temper/rc.h>
#include <temper/buf.h>
#include <temper/hash.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_stage;
struct temper_http;      /* opaque client */
struct temper_http_priv; /* opaque part of a response */

/* Client options.  Call temper_http_opts_init() and change what you need.
 * A field left 0 takes its default, except max_retries and max_redirects,
 * where 0 means "none".  Fields past `size` take their defaults.  Strings are
 * borrowed for the duration of temper_http_new() only. */
struct temper_http_opts {
    uint32_t size;              /* sizeof(struct temper_http_opts) */
    long connect_timeout_ms;    /* per connection; default 10 000 */
    long timeout_ms;            /* per attempt, whole transfer; default 300 000 */
    long low_speed_bytes;       /* abort an attempt slower than this (bytes/s) ... */
    long low_speed_secs;        /* ... for this long; defaults 1 byte/s, 60 s */
    int max_retries;            /* attempts after the first; default 3 */
    long backoff_base_ms;       /* first retry delay; default 500 */
    long backoff_max_ms;        /* cap of the exponential delay; default 30 000 */
    long max_wait_ms;           /* longest Retry-After honoured; default 120 000 */
    size_t max_body;            /* cap of a body in memory; default 32 MiB */
    unsigned long long max_file; /* cap of a body streamed to a file; default 16 GiB */
    const char *ca_file;        /* PEM bundle replacing the default trust store */
    const char *user_agent;     /* default "temper/<version>" */
    const char *bearer_token_file; /* first line: token sent as "Bearer" */
    const char *basic_auth_file;   /* first line: "user:password" */
    int max_redirects;          /* default 5 */
    int max_host_connections;   /* requests in flight per host; default 6 */
    int max_connections;        /* requests in flight in total; default 32 */
};

/* Request flags. */
#define TEMPER_HTTP_CONDITIONAL 0x01u  /* send stored validators, see above */
#define TEMPER_HTTP_RETRY_UNSAFE 0x02u /* the method may be retried (POST, PATCH) */
#define TEMPER_HTTP_ANY_STATUS 0x04u   /* any final status is TEMPER_OK */
#define TEMPER_HTTP_NO_REDIRECT 0x08u  /* return 3xx replies as they are */
#define TEMPER_HTTP_NO_AUTH 0x10u      /* do not send the client's credentials */

/* One request; every pointer is borrowed until the call returns. */
struct temper_http_req {
    uint32_t size;              /* sizeof(struct temper_http_req) */
    const char *method;         /* "GET" when NULL; upper-case token */
    const char *url;            /* http:// or https:// */
    const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL;
                                 * they replace the client's (User-Agent,
                                 * Authorization, Accept, ...) */
    const void *body;           /* request body in memory, or NULL ... */
    size_t body_len;
    const char *body_file;      /* ... or upload this file (not both) */
    const char *out_path;       /* stream a 2xx body to this file, or NULL */
    unsigned flags;             /* TEMPER_HTTP_* */
    unsigned long long max_body; /* cap of the 2xx body; 0 = client's */
    const char *expect_sha256;  /* hex SHA-256 the 2xx body must have, or NULL:
                                 * mismatch -> TEMPER_ECRYPTO, file not kept */
    long timeout_ms;            /* per attempt; 0 = the client's (big blobs) */
};

/* A response.  Initialise once with temper_http_resp_init(); each request
 * frees what the previous one left; temper_http_resp_cleanup() at the end,
 * also after an error. */
struct temper_http_resp {
    uint32_t size;              /* sizeof(struct temper_http_resp); set by init */
    int rc;                     /* outcome; equals temper_http_do()'s return */
    long status;                /* final HTTP status; 0 when none arrived */
    bool not_modified;          /* the reply was 304 */
    unsigned attempts;          /* tries made (retries + 1) */
    struct temper_buf body;     /* see "Bodies" above */
    unsigned long long body_bytes; /* size of the 2xx body (memory or file) */
    char sha256[TEMPER_SHA256_HEX_LEN + 1]; /* hex of the 2xx body, else "" */
    char *effective_url;        /* URL of the final reply (may hold query tokens:
                                 * do not log it, use temper_http_safe_url) */
    char *error;                /* one-line reason when rc != TEMPER_OK, redacted */
    struct temper_http_priv *priv; /* headers, validators: use the functions */
};

/* Fill `o` with the defaults and set o->size. */
TEMPER_EXPORT void temper_http_opts_init(struct temper_http_opts *o);

/* Create a client for stage `st` (borrowed; it must outlive the client).
 * opts may be NULL (defaults).  Reads the secret files now, registers their
 * contents with temper_log_add_secret(); failures are recorded on `st`. */
TEMPER_EXPORT int temper_http_new(struct temper_stage *st, const struct temper_http_opts *opts,
                                  struct temper_http **out) TEMPER_WARN_UNUSED;
TEMPER_EXPORT void temper_http_free(struct temper_http *h);

TEMPER_EXPORT void temper_http_resp_init(struct temper_http_resp *r);
TEMPER_EXPORT void temper_http_resp_cleanup(struct temper_http_resp *r);

/* Run one request.  Returns resp->rc; a failure is recorded with
 * temper_fail() (resp->error has the same line). */
TEMPER_EXPORT int temper_http_do(struct temper_http *h, const struct temper_http_req *req,
                                 struct temper_http_resp *resp) TEMPER_WARN_UNUSED;
/* Shorthand: GET url into memory with `flags`. */
TEMPER_EXPORT int temper_http_get(struct temper_http *h, const char *url, unsigned flags,
                                  struct temper_http_resp *resp) TEMPER_WARN_UNUSED;

/* Run n requests concurrently; resps[i] (initialised) receives reqs[i].
 * Returns TEMPER_OK when every request ran to an outcome, even if some
 * failed: each failure is in resps[i]->rc / ->error and is NOT recorded on
 * the stage (the caller decides, e.g. temper_fail(st, r->rc, "%s", r->error)).
 * Returns an error only for the batch as a whole (TEMPER_ECANCEL,
 * TEMPER_ENOMEM, TEMPER_EINVAL), recorded with temper_fail(). */
TEMPER_EXPORT int temper_http_batch(struct temper_http *h,
                                    const struct temper_http_req *const *reqs,
                                    struct temper_http_resp *const *resps, size_t n)
    TEMPER_WARN_UNUSED;

/* Store the validators of a 2xx reply to a TEMPER_HTTP_CONDITIONAL request in
 * the stage state (deleting old ones if the reply had none).  No-op for any
 * other reply, and TEMPER_OK when the stage has no durable state. */
TEMPER_EXPORT int temper_http_commit_validators(struct temper_http *h,
                                                const struct temper_http_resp *resp)
    TEMPER_WARN_UNUSED;

/* ---- reading a response -------------------------------------------------- */

/* The i-th value (0-based) of header `name` (case-insensitive) in the final
 * reply, borrowed until the response is reused; NULL past the last. */
TEMPER_EXPORT const char *temper_http_resp_header(const struct temper_http_resp *r,
                                                  const char *name, size_t i);
/* The URL of the `Link` entry with relation `rel` ("next"), resolved against
 * the effective URL; *url is new (free()).  TEMPER_ENOTFOUND when absent,
 * TEMPER_EFORMAT when malformed or not http(s). */
TEMPER_EXPORT int temper_http_resp_link(const struct temper_http_resp *r, const char *rel,
                                        char **url) TEMPER_WARN_UNUSED;
/* The `Location` header resolved against the effective URL (new string). */
TEMPER_EXPORT int temper_http_resp_location(const struct temper_http_resp *r, char **url)
    TEMPER_WARN_UNUSED;
/* The wait a `Retry-After` header asks for, in ms from now_ms (Unix ms, e.g.
 * temper_stage_now_ms()); a date in the past gives 0.  ENOTFOUND / EFORMAT. */
TEMPER_EXPORT int temper_http_resp_retry_after(const struct temper_http_resp *r,
                                               long long now_ms, long long *wait_ms)
    TEMPER_WARN_UNUSED;

/* ---- header value helpers (no client needed) ----------------------------- */

/* Retry-After value: delay-seconds or an HTTP date. */
TEMPER_EXPORT int temper_http_parse_retry_after(const char *value, long long now_ms,
                                                long long *wait_ms) TEMPER_WARN_UNUSED;
/* The target of the entry with relation `rel` in a Link value, unresolved
 * (new string).  ENOTFOUND / EFORMAT. */
TEMPER_EXPORT int temper_http_parse_link(const char *value, const char *rel, char **url)
    TEMPER_WARN_UNUSED;
/* A parameter of the first challenge of a WWW-Authenticate value
 * (`Bearer realm="https://auth/token",service="reg",scope="..."`); *value is
 * new, unquoted.  With param NULL, *value is the scheme ("Bearer").
 * ENOTFOUND / EFORMAT. */
TEMPER_EXPORT int temper_http_auth_param(const char *challenge, const char *param,
                                         char **value) TEMPER_WARN_UNUSED;
/* `ref` resolved against `base` (both URLs; ref may be relative); new string.
 * TEMPER_EFORMAT when either is malformed or the result is not http(s). */
TEMPER_EXPORT int temper_http_resolve_url(const char *base, const char *ref, char **out)
    TEMPER_WARN_UNUSED;
/* A copy of `url` fit for logs: no user:password, no fragment, and the values
 * of query parameters whose names look secret (token, sig, key, secret,
 * pass, auth, credential, code, session) replaced by "***".  New string;
 * NULL on ENOMEM.  Unparsable input gives "<invalid URL>". */
TEMPER_EXPORT char *temper_http_safe_url(const char *url);

/* ---- per-host rate limits (appended in ABI 1.x) --------------------------
 *
 * One table per process, shared by every client and thread, keyed by origin
 * (scheme, host, port).  Every reply updates it: X-RateLimit-Remaining /
 * X-RateLimit-Reset (the primary budget; a 304 costs nothing) and, on 403 /
 * 429, Retry-After or a one-minute default (secondary limits).  Every attempt
 * of temper_http_do() and temper_http_batch() is admitted by it first: while
 * the host is blocked, an attempt waits when the block ends within the
 * client's max_wait_ms (other hosts of a batch go on meanwhile) and fails at
 * once otherwise, without any request, with TEMPER_ELIMIT and "rate limited
 * until HH:MM:SS UTC (ORIGIN: cause)".  With the budget spent and attempts
 * still in flight, new attempts wait for those replies. */
struct temper_http_rate {
    uint32_t size;              /* sizeof(struct temper_http_rate), set by the caller */
    long long remaining;        /* estimated budget left; -1 unknown */
    long long reset_ms;         /* Unix ms of the budget's reset; 0 unknown */
    long long blocked_until_ms; /* Unix ms before which nothing is sent; 0 none */
    int inflight;               /* admitted attempts without a reply yet */
};

/* What the table knows of url's host.  TEMPER_ENOTFOUND (out filled as
 * unknown) when nothing, TEMPER_EINVAL for a bad URL. */
TEMPER_EXPORT int temper_http_rate_get(const char *url, struct temper_http_rate *out)
    TEMPER_WARN_UNUSED;
/* Forget url's host (every host when url is NULL): for tests and operators
 * who know the limit was lifted. */
TEMPER_EXPORT void temper_http_rate_forget(const char *url);

#ifdef __cplusplus
}
#endif
#endif

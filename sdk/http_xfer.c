/* temper — one HTTP request on its way through attempts and redirects:
 * checking the request, setting up the libcurl easy handle of an attempt,
 * the header/body/upload/progress callbacks, and the temporary output file. */
#include "config.h"
#include "http_int.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define END_OF(type, f) (offsetof(type, f) + sizeof(((type *)0)->f))
#define REQ_SIZE_1_0 END_OF(struct temper_http_req, timeout_ms)
#define RESP_SIZE_1_0 END_OF(struct temper_http_resp, priv)
#define KNOWN_FLAGS (TEMPER_HTTP_CONDITIONAL | TEMPER_HTTP_RETRY_UNSAFE | \
                     TEMPER_HTTP_ANY_STATUS | TEMPER_HTTP_NO_REDIRECT | TEMPER_HTTP_NO_AUTH)
#define FILE_BUFFER_SIZE (256L * 1024)

/* ---- failure -------------------------------------------------------------- */

void xfer_discard_tmp(struct xfer *x)
{
    if (x->out_fd >= 0) {
        close(x->out_fd);
        x->out_fd = -1;
    }
    if (x->tmp_path) {
        unlink(x->tmp_path);
        TEMPER_FREE(x->tmp_path);
    }
}

void xfer_fail(struct xfer *x, int rc, const char *fmt, ...)
{
    char cause[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cause, sizeof cause, fmt, ap);
    va_end(ap);
    if (n < 0) {
        cause[0] = '\0';
    }
    const char *url0 = x->req ? x->req->url : NULL;
    char *u0 = temper_http_safe_url(url0);
    char *u1 = NULL;
    if (x->url && url0 && strcmp(x->url, url0) != 0) {
        u1 = temper_http_safe_url(x->url);
    }
    free(x->resp->error);
    if (u1) {
        x->resp->error = temper_strdupf("%s %s: %s (redirected to %s)", x->method0,
                                        u0 ? u0 : "?", cause, u1);
    } else {
        x->resp->error = temper_strdupf("%s %s: %s", x->method0, u0 ? u0 : "?", cause);
    }
    temper_log_redact(x->resp->error);
    free(u0);
    free(u1);
    x->resp->rc = rc;
    x->state = XS_DONE;
    if (x->sink == SINK_MAIN) { /* a partial or rejected 2xx body is no use */
        temper_buf_cleanup(&x->resp->body);
        temper_buf_init(&x->resp->body, 0);
    }
    xfer_discard_tmp(x);
}

/* ---- checking and preparing a request ---------------------------------- */

static bool valid_method(const char *m)
{
    size_t n = strlen(m);
    return n > 0 && n <= HTTP_METHOD_MAX && strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == n;
}

static bool valid_header(const char *line)
{
    size_t n = strnlen(line, HTTP_URL_MAX + 1);
    size_t name = strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789!#$%&'*+-.^_`|~");
    if (n > HTTP_URL_MAX || name == 0 || (line[name] != ':' && line[name] != ';')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) { /* no CR/LF injection, no other controls */
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

static bool valid_hex64(const char *s)
{
    return strlen(s) == TEMPER_SHA256_HEX_LEN &&
           strspn(s, "0123456789abcdefABCDEF") == TEMPER_SHA256_HEX_LEN;
}

/* The request's own checks; why gets the reason. */
static int check_req(struct xfer *x, char *why, size_t n)
{
    const struct temper_http_req *r = x->req;
    size_t k = 0;
    if (r->method && !valid_method(r->method)) {
        snprintf(why, n, "invalid method");
        return TEMPER_EINVAL;
    }
    if ((r->flags & ~KNOWN_FLAGS) != 0) {
        snprintf(why, n, "unknown request flags 0x%x", r->flags);
        return TEMPER_EINVAL;
    }
    for (; r->headers && r->headers[k]; k++) {
        if (k >= HTTP_REQ_HDRS_MAX || !valid_header(r->headers[k])) {
            snprintf(why, n, "invalid or too many request headers");
            return TEMPER_EINVAL;
        }
    }
    if ((r->body || r->body_len) && r->body_file) {
        snprintf(why, n, "both body and body_file given");
        return TEMPER_EINVAL;
    }
    if (r->body_len && !r->body) {
        snprintf(why, n, "body_len without body");
        return TEMPER_EINVAL;
    }
    if (r->timeout_ms < 0) {
        snprintf(why, n, "negative timeout");
        return TEMPER_EINVAL;
    }
    if (r->expect_sha256 && !valid_hex64(r->expect_sha256)) {
        snprintf(why, n, "expect_sha256 is not a hex SHA-256");
        return TEMPER_EINVAL;
    }
    return http_check_url(r->url, &x->origin0, why, n);
}

static int open_upload(struct xfer *x)
{
    const struct temper_http_req *r = x->req;
    struct stat sb;
    if (!r->body_file) {
        x->up_len = r->body_len;
        return TEMPER_OK;
    }
    x->up_fd = open(r->body_file, O_RDONLY | O_CLOEXEC);
    if (x->up_fd < 0 || fstat(x->up_fd, &sb) != 0) {
        xfer_fail(x, TEMPER_EIO, "cannot read %s: %s", r->body_file, strerror(errno));
        return TEMPER_EIO;
    }
    if (!S_ISREG(sb.st_mode)) {
        xfer_fail(x, TEMPER_EIO, "cannot upload %s: not a regular file", r->body_file);
        return TEMPER_EIO;
    }
    x->up_len = (unsigned long long)sb.st_size;
    return TEMPER_OK;
}

static int open_output(struct xfer *x)
{
    const char *path = x->req->out_path;
    if (!path) {
        return TEMPER_OK;
    }
    x->tmp_path = temper_strdupf("%s.tmp-XXXXXX", path);
    if (!x->tmp_path) {
        xfer_fail(x, TEMPER_ENOMEM, "out of memory");
        return TEMPER_ENOMEM;
    }
    x->out_fd = mkostemp(x->tmp_path, O_CLOEXEC);
    if (x->out_fd < 0) {
        int e = errno;
        TEMPER_FREE(x->tmp_path);
        xfer_fail(x, TEMPER_EIO, "cannot create a temporary file next to %s: %s", path,
                  strerror(e));
        return TEMPER_EIO;
    }
    return TEMPER_OK;
}

/* Stored form: "<etag>\n<last-modified>", either part may be empty. */
static void load_validators(struct xfer *x)
{
    char *val = NULL;
    struct temper_http_priv *p = x->resp->priv;
    p->key = temper_strdupf("http:%s", x->req->url);
    if (!p->key) {
        return;
    }
    int rc = temper_stage_state_get(x->h->st, p->key, &val);
    if (rc != TEMPER_OK) {
        if (rc != TEMPER_ENOTFOUND) {
            TEMPER_LOG_WARN(x->h->st, "cannot read the HTTP validators of a request: %s",
                            temper_rc_str(rc));
        }
        free(val);
        return;
    }
    char *nl = strchr(val, '\n');
    if (nl) {
        *nl = '\0';
        if (http_valid_validator(nl + 1)) {
            x->ims = strdup(nl + 1);
        }
    }
    if (http_valid_validator(val)) {
        x->inm = strdup(val);
    }
    free(val);
}

/* Prepare x for req/resp.  Returns TEMPER_EINVAL only when resp cannot hold
 * an outcome; every other failure is in resp (x->state == XS_DONE). */
int xfer_init(struct xfer *x, struct temper_http *h, const struct temper_http_req *req,
              struct temper_http_resp *resp)
{
    char why[256] = "";
    memset(x, 0, sizeof *x);
    x->h = h;
    x->req = req;
    x->resp = resp;
    x->up_fd = -1;
    x->out_fd = -1;
    x->state = XS_DONE;
    if (!resp || resp->size < RESP_SIZE_1_0) {
        return TEMPER_EINVAL;
    }
    temper_http_resp_cleanup(resp);
    resp->attempts = 1;
    snprintf(x->method0, sizeof x->method0, "%s", "GET");
    resp->priv = calloc(1, sizeof *resp->priv);
    if (!resp->priv) {
        xfer_fail(x, TEMPER_ENOMEM, "out of memory");
        return TEMPER_OK;
    }
    if (!req || req->size < REQ_SIZE_1_0 || !req->url) {
        xfer_fail(x, TEMPER_EINVAL, "invalid request");
        return TEMPER_OK;
    }
    int rc = check_req(x, why, sizeof why);
    if (rc != TEMPER_OK) {
        xfer_fail(x, rc, "%s", why);
        return TEMPER_OK;
    }
    if (req->method) {
        snprintf(x->method0, sizeof x->method0, "%s", req->method);
    }
    x->flags = req->flags;
    x->cap = req->max_body ? req->max_body : req->out_path ? h->max_file : h->max_body;
    if (open_upload(x) != TEMPER_OK || open_output(x) != TEMPER_OK) {
        return TEMPER_OK;
    }
    if (x->flags & TEMPER_HTTP_CONDITIONAL) {
        load_validators(x);
    }
    if (xfer_restart(x) == TEMPER_OK) {
        x->state = XS_READY;
    }
    return TEMPER_OK;
}

/* Back to the request's URL and method (first attempt, retries). */
int xfer_restart(struct xfer *x)
{
    char *url = strdup(x->req->url);
    char *origin = strdup(x->origin0);
    if (!url || !origin) {
        free(url);
        free(origin);
        xfer_fail(x, TEMPER_ENOMEM, "out of memory");
        return TEMPER_ENOMEM;
    }
    free(x->url);
    free(x->origin);
    x->url = url;
    x->origin = origin;
    snprintf(x->method, sizeof x->method, "%s", x->method0);
    x->send_body = x->req->body || x->req->body_file || strcmp(x->method, "POST") == 0 ||
                   strcmp(x->method, "PUT") == 0 || strcmp(x->method, "PATCH") == 0;
    x->redirects = 0;
    return TEMPER_OK;
}

void xfer_cleanup(struct xfer *x)
{
    xfer_discard_tmp(x);
    if (x->easy) {
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
    curl_slist_free_all(x->slist);
    x->slist = NULL;
    if (x->up_fd >= 0) {
        close(x->up_fd);
        x->up_fd = -1;
    }
    if (x->sha_on) {
        gnutls_hash_deinit(x->sha, NULL);
        x->sha_on = false;
    }
    TEMPER_FREE(x->url);
    TEMPER_FREE(x->origin);
    TEMPER_FREE(x->origin0);
    TEMPER_FREE(x->inm);
    TEMPER_FREE(x->ims);
}

/* ---- callbacks ------------------------------------------------------------ */

static void cb_fail(struct xfer *x, int rc, const char *fmt, ...) TEMPER_PRINTF(3, 4);

static void cb_fail(struct xfer *x, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(x->cb_msg, sizeof x->cb_msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        x->cb_msg[0] = '\0';
    }
    x->cb_rc = rc;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nitems;
    int rc = http_hdr_line(x->resp->priv, buf, n);
    if (rc == TEMPER_ELIMIT) {
        cb_fail(x, rc, "response headers over the limit of %d lines or %d bytes",
                HTTP_HDR_LINES_MAX, HTTP_HDR_BYTES_MAX);
        return 0;
    }
    if (rc != TEMPER_OK) {
        cb_fail(x, rc, "out of memory");
        return 0;
    }
    return n;
}

/* A redirect the client follows itself. */
bool xfer_will_follow(const struct xfer *x, long status)
{
    return (status == 301 || status == 302 || status == 303 || status == 307 ||
            status == 308) && !(x->flags & TEMPER_HTTP_NO_REDIRECT) &&
           http_hdr_get(x->resp->priv, "Location", 0);
}

static void pick_sink(struct xfer *x)
{
    long status = 0;
    curl_off_t clen = -1;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status <= 299) {
        x->sink = SINK_MAIN;
        curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
        if (clen > 0 && (unsigned long long)clen > x->cap) {
            cb_fail(x, TEMPER_ELIMIT, "body of %lld bytes is over the limit of %llu bytes",
                    (long long)clen, x->cap);
        }
    } else if (xfer_will_follow(x, status)) {
        x->sink = SINK_DISCARD;
    } else {
        x->sink = SINK_ERROR;
    }
}

static int write_main(struct xfer *x, const char *p, size_t n)
{
    if (x->got + n > x->cap || x->got + n < x->got) {
        cb_fail(x, TEMPER_ELIMIT, "body over the limit of %llu bytes", x->cap);
        return -1;
    }
    gnutls_hash(x->sha, p, n);
    x->got += n;
    if (x->out_fd < 0) {
        int rc = temper_buf_append(&x->resp->body, p, n);
        if (rc != TEMPER_OK) {
            cb_fail(x, rc, "cannot keep the body: %s", temper_rc_str(rc));
            return -1;
        }
        return 0;
    }
    while (n > 0) {
        ssize_t w = write(x->out_fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            cb_fail(x, TEMPER_EIO, "cannot write %s: %s", x->tmp_path, strerror(errno));
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (x->sink == SINK_NONE) {
        pick_sink(x);
        if (x->cb_rc != TEMPER_OK) {
            return 0;
        }
    }
    if (x->sink == SINK_MAIN) {
        return write_main(x, p, n) == 0 ? n : 0;
    }
    if (x->sink == SINK_ERROR) {
        unsigned long long keep = x->cap < HTTP_ERRBODY_MAX ? x->cap : HTTP_ERRBODY_MAX;
        size_t room = x->resp->body.len < keep ? (size_t)(keep - x->resp->body.len) : 0;
        if (temper_buf_append(&x->resp->body, p, n < room ? n : room) != TEMPER_OK) {
            cb_fail(x, TEMPER_ENOMEM, "out of memory");
            return 0;
        }
    }
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    size_t want = size * nitems;
    unsigned long long left = x->up_len - x->up_off;
    if (want > left) {
        want = (size_t)left;
    }
    if (want == 0) {
        return 0;
    }
    if (x->up_fd < 0) {
        memcpy(buf, (const char *)x->req->body + x->up_off, want);
        x->up_off += want;
        return want;
    }
    ssize_t r = read(x->up_fd, buf, want);
    if (r <= 0) {
        cb_fail(x, TEMPER_EIO, "cannot read %s: %s", x->req->body_file,
                r == 0 ? "file shrank" : strerror(errno));
        return CURL_READFUNC_ABORT;
    }
    x->up_off += (unsigned long long)r;
    return (size_t)r;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct xfer *x = ud;
    return temper_stage_cancelled(x->h->st) ? 1 : 0;
}

/* ---- one attempt ---------------------------------------------------------- */

/* Credentials go only to the request's own origin. */
static bool same_origin(const struct xfer *x)
{
    return strcmp(x->origin, x->origin0) == 0;
}

static bool caller_has(const struct xfer *x, const char *name)
{
    for (size_t k = 0; x->req->headers && x->req->headers[k]; k++) {
        if (http_header_named(x->req->headers[k], name)) {
            return true;
        }
    }
    return false;
}

static int add_line(struct xfer *x, const char *prefix, const char *v)
{
    char *line = temper_strdupf("%s%s", prefix, v);
    struct curl_slist *l = line ? curl_slist_append(x->slist, line) : NULL;
    free(line);
    if (!l) {
        return TEMPER_ENOMEM;
    }
    x->slist = l;
    return TEMPER_OK;
}

static int build_headers(struct xfer *x)
{
    static const char *const private_hdrs[] = { "Authorization", "Proxy-Authorization",
                                                "Cookie", NULL };
    bool own = same_origin(x);
    int rc = add_line(x, "", "Expect:");
    if (rc == TEMPER_OK && own && x->h->auth_header && !(x->flags & TEMPER_HTTP_NO_AUTH) &&
        !caller_has(x, "Authorization")) {
        rc = add_line(x, "", x->h->auth_header);
    }
    if (rc == TEMPER_OK && x->inm && !caller_has(x, "If-None-Match")) {
        rc = add_line(x, "If-None-Match: ", x->inm);
    }
    if (rc == TEMPER_OK && x->ims && !caller_has(x, "If-Modified-Since")) {
        rc = add_line(x, "If-Modified-Since: ", x->ims);
    }
    for (size_t k = 0; rc == TEMPER_OK && x->req->headers && x->req->headers[k]; k++) {
        bool skip = false;
        for (size_t i = 0; !own && private_hdrs[i]; i++) {
            skip = skip || http_header_named(x->req->headers[k], private_hdrs[i]);
        }
        if (!skip) {
            rc = add_line(x, "", x->req->headers[k]);
        }
    }
    return rc;
}

#define SET(opt, val) \
    do { \
        if (c == CURLE_OK) { \
            c = curl_easy_setopt(e, opt, val); \
        } \
    } while (0)

static CURLcode set_common(struct xfer *x)
{
    CURL *e = x->easy;
    struct temper_http *h = x->h;
    CURLcode c = CURLE_OK;
    SET(CURLOPT_URL, x->url);
    SET(CURLOPT_PRIVATE, (void *)x);
    SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_file) { /* replaces the default store (file and directory) */
        SET(CURLOPT_CAINFO, h->ca_file);
        SET(CURLOPT_CAPATH, (char *)NULL);
    }
    SET(CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, x->req->timeout_ms > 0 ? x->req->timeout_ms : h->timeout_ms);
    SET(CURLOPT_LOW_SPEED_LIMIT, h->low_speed_bytes);
    SET(CURLOPT_LOW_SPEED_TIME, h->low_speed_secs);
    SET(CURLOPT_USERAGENT, h->user_agent);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    SET(CURLOPT_PIPEWAIT, 1L);
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, (void *)x);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, (void *)x);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, (void *)x);
    if (x->out_fd >= 0) {
        SET(CURLOPT_BUFFERSIZE, FILE_BUFFER_SIZE);
    } else {
        SET(CURLOPT_ACCEPT_ENCODING, "");
    }
    SET(CURLOPT_HTTPHEADER, x->slist);
    return c;
}

static CURLcode set_method(struct xfer *x)
{
    CURL *e = x->easy;
    CURLcode c = CURLE_OK;
    if (strcmp(x->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (x->send_body) {
        SET(CURLOPT_UPLOAD, 1L);
        SET(CURLOPT_READFUNCTION, on_read);
        SET(CURLOPT_READDATA, (void *)x);
        SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->up_len);
        SET(CURLOPT_CUSTOMREQUEST, x->method);
    } else if (strcmp(x->method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else {
        SET(CURLOPT_CUSTOMREQUEST, x->method);
    }
    return c;
}

/* Forget what an earlier attempt left. */
static int reset_attempt(struct xfer *x)
{
    http_priv_reset_headers(x->resp->priv);
    temper_buf_cleanup(&x->resp->body);
    temper_buf_init(&x->resp->body, 0);
    x->resp->status = 0;
    x->sink = SINK_NONE;
    x->got = 0;
    x->cb_rc = TEMPER_OK;
    x->cb_msg[0] = '\0';
    x->errbuf[0] = '\0';
    x->up_off = 0;
    curl_slist_free_all(x->slist);
    x->slist = NULL;
    if (x->sha_on) {
        gnutls_hash_deinit(x->sha, NULL);
        x->sha_on = false;
    }
    if (gnutls_hash_init(&x->sha, GNUTLS_DIG_SHA256) != 0) {
        return TEMPER_ECRYPTO;
    }
    x->sha_on = true;
    if (x->up_fd >= 0 && lseek(x->up_fd, 0, SEEK_SET) != 0) {
        return TEMPER_EIO;
    }
    if (x->out_fd >= 0 && (ftruncate(x->out_fd, 0) != 0 ||
                           lseek(x->out_fd, 0, SEEK_SET) != 0)) {
        return TEMPER_EIO;
    }
    return TEMPER_OK;
}

int xfer_start(struct xfer *x)
{
    int rc = reset_attempt(x);
    if (rc != TEMPER_OK) {
        xfer_fail(x, rc, "cannot prepare the attempt: %s", strerror(errno));
        return rc;
    }
    if (!x->easy) {
        x->easy = curl_easy_init();
    } else {
        curl_easy_reset(x->easy);
    }
    if (!x->easy || build_headers(x) != TEMPER_OK) {
        xfer_fail(x, TEMPER_ENOMEM, "out of memory");
        return TEMPER_ENOMEM;
    }
    CURLcode c = set_common(x);
    if (c == CURLE_OK) {
        c = set_method(x);
    }
    if (c != CURLE_OK) {
        xfer_fail(x, TEMPER_EINTERNAL, "cannot set up libcurl: %s", curl_easy_strerror(c));
        return TEMPER_EINTERNAL;
    }
    if (curl_multi_add_handle(x->h->multi, x->easy) != CURLM_OK) {
        xfer_fail(x, TEMPER_EINTERNAL, "cannot start the transfer");
        return TEMPER_EINTERNAL;
    }
    x->state = XS_RUNNING;
    return TEMPER_OK;
}

/* A 2xx reply arrived whole: digest, expected digest, file into place. */
int xfer_finish_body(struct xfer *x, char *why, size_t n)
{
    unsigned char d[TEMPER_SHA256_LEN];
    gnutls_hash_output(x->sha, d);
    for (size_t i = 0; i < sizeof d; i++) {
        snprintf(x->resp->sha256 + 2 * i, 3, "%02x", d[i]);
    }
    x->resp->body_bytes = x->got;
    const char *want = x->req->expect_sha256;
    if (want && strcasecmp(want, x->resp->sha256) != 0) {
        snprintf(why, n, "SHA-256 mismatch: got %s, expected %s", x->resp->sha256, want);
        return TEMPER_ECRYPTO;
    }
    if (x->out_fd < 0) {
        return TEMPER_OK;
    }
    int fd = x->out_fd;
    x->out_fd = -1;
    int bad = fsync(fd) != 0 ? errno : 0;
    if (close(fd) != 0 && bad == 0) {
        bad = errno;
    }
    if (bad != 0) {
        snprintf(why, n, "cannot write %s: %s", x->tmp_path, strerror(bad));
        return TEMPER_EIO;
    }
    if (rename(x->tmp_path, x->req->out_path) != 0) {
        snprintf(why, n, "cannot rename %s to %s: %s", x->tmp_path, x->req->out_path,
                 strerror(errno));
        return TEMPER_EIO;
    }
    TEMPER_FREE(x->tmp_path);
    return TEMPER_OK;
}

/* temper — HTTP client on libcurl: the client object (options, secrets), the
 * loop that runs one or many requests through libcurl multi, and the stored
 * validators of conditional requests.  See include/temper/http.h. */
#include "config.h"
#include "http_int.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLL_MAX_MS 100
#define BATCH_MAX 1000000

/* ---- options -------------------------------------------------------------- */

void temper_http_opts_init(struct temper_http_opts *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->connect_timeout_ms = 10000;
    o->timeout_ms = 300000;
    o->low_speed_bytes = 1;
    o->low_speed_secs = 60;
    o->max_retries = 3;
    o->backoff_base_ms = 500;
    o->backoff_max_ms = 30000;
    o->max_wait_ms = 120000;
    o->max_body = 32u * 1024 * 1024;
    o->max_file = 16ULL * 1024 * 1024 * 1024;
    o->max_redirects = 5;
    o->max_host_connections = 6;
    o->max_connections = 32;
}

#define DEFAULT_IF_ZERO(f) \
    do { \
        if (o->f == 0) { \
            o->f = d.f; \
        } \
    } while (0)

/* Copies the caller's options over the defaults; 0 takes the default. */
static int merge_opts(const struct temper_http_opts *in, struct temper_http_opts *o)
{
    struct temper_http_opts d;
    temper_http_opts_init(&d);
    *o = d;
    if (!in) {
        return TEMPER_OK;
    }
    if (in->size < sizeof(uint32_t)) {
        return TEMPER_EINVAL;
    }
    memcpy(o, in, in->size < sizeof *o ? in->size : sizeof *o);
    o->size = sizeof *o;
    DEFAULT_IF_ZERO(connect_timeout_ms);
    DEFAULT_IF_ZERO(timeout_ms);
    DEFAULT_IF_ZERO(low_speed_bytes);
    DEFAULT_IF_ZERO(low_speed_secs);
    DEFAULT_IF_ZERO(backoff_base_ms);
    DEFAULT_IF_ZERO(backoff_max_ms);
    DEFAULT_IF_ZERO(max_wait_ms);
    DEFAULT_IF_ZERO(max_body);
    DEFAULT_IF_ZERO(max_file);
    DEFAULT_IF_ZERO(max_host_connections);
    DEFAULT_IF_ZERO(max_connections);
    if (o->connect_timeout_ms < 0 || o->timeout_ms < 0 || o->low_speed_bytes < 0 ||
        o->low_speed_secs < 0 || o->backoff_base_ms < 0 || o->backoff_max_ms < 0 ||
        o->max_wait_ms < 0 || o->max_retries < 0 || o->max_retries > 100 ||
        o->max_redirects < 0 || o->max_redirects > 50 || o->max_host_connections < 0 ||
        o->max_host_connections > 1000 || o->max_connections < 0 ||
        o->max_connections > 10000 || o->max_body > SIZE_MAX / 2) {
        return TEMPER_EINVAL;
    }
    return TEMPER_OK;
}

/* ---- secrets -------------------------------------------------------------- */

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* The first line of a small regular file, trimmed; registered as a secret. */
static int read_secret(struct temper_stage *st, const char *path, const char *what,
                       char **out)
{
    char buf[HTTP_SECRET_FILE_MAX + 1];
    struct stat sb;
    ssize_t n = -1;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
        n = read(fd, buf, sizeof buf);
    } else if (fd >= 0) {
        errno = EINVAL;
    }
    int e = errno;
    if (fd >= 0) {
        close(fd);
    }
    if (n < 0 || n > HTTP_SECRET_FILE_MAX) {
        explicit_bzero(buf, sizeof buf);
        return temper_fail(st, TEMPER_EINVAL, "cannot read the %s %s: %s", what, path,
                           n < 0 ? strerror(e) : "file too large");
    }
    size_t len = strcspn(buf, "\n");
    len = len < (size_t)n ? len : (size_t)n;
    while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == ' ' || buf[len - 1] == '\t')) {
        len--;
    }
    buf[len] = '\0';
    bool bad = len == 0;
    for (size_t i = 0; i < len; i++) {
        bad = bad || (unsigned char)buf[i] < 0x20 || buf[i] == 0x7f;
    }
    if (bad) {
        explicit_bzero(buf, sizeof buf);
        return temper_fail(st, TEMPER_EINVAL, "the %s %s is empty or has control characters",
                           what, path);
    }
    if (sb.st_mode & (S_IRGRP | S_IROTH)) {
        TEMPER_LOG_WARN(st, "the %s %s is readable by other users", what, path);
    }
    int rc = temper_log_add_secret(buf);
    *out = rc == TEMPER_OK ? strdup(buf) : NULL;
    explicit_bzero(buf, sizeof buf);
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "cannot register the %s %s as a secret", what, path);
    }
    return *out ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "out of memory");
}

static int basic_header(struct temper_stage *st, const char *userpass, char **out)
{
    char *b64 = NULL;
    const char *colon = strchr(userpass, ':');
    int rc = TEMPER_OK;
    *out = NULL;
    if (!colon) {
        return temper_fail(st, TEMPER_EINVAL, "the basic auth file must hold user:password");
    }
    rc = http_b64(userpass, strlen(userpass), &b64);
    if (rc == TEMPER_OK) {
        rc = temper_log_add_secret(colon + 1);
    }
    if (rc == TEMPER_OK) {
        rc = temper_log_add_secret(b64);
    }
    if (rc == TEMPER_OK) {
        *out = temper_strdupf("Authorization: Basic %s", b64);
        rc = *out ? TEMPER_OK : TEMPER_ENOMEM;
    }
    wipe_free(b64);
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "cannot prepare basic auth: %s", temper_rc_str(rc));
    }
    return TEMPER_OK;
}

static int load_auth(struct temper_http *h, const struct temper_http_opts *o)
{
    char *secret = NULL;
    int rc = TEMPER_OK;
    if (o->bearer_token_file && o->basic_auth_file) {
        return temper_fail(h->st, TEMPER_EINVAL,
                           "bearer_token_file and basic_auth_file are mutually exclusive");
    }
    if (o->bearer_token_file) {
        rc = read_secret(h->st, o->bearer_token_file, "token file", &secret);
        if (rc == TEMPER_OK) {
            h->auth_header = temper_strdupf("Authorization: Bearer %s", secret);
            rc = h->auth_header ? TEMPER_OK : temper_fail(h->st, TEMPER_ENOMEM, "out of memory");
        }
    } else if (o->basic_auth_file) {
        rc = read_secret(h->st, o->basic_auth_file, "basic auth file", &secret);
        if (rc == TEMPER_OK) {
            rc = basic_header(h->st, secret, &h->auth_header);
        }
    }
    wipe_free(secret);
    return rc;
}

/* ---- client --------------------------------------------------------------- */

static int setup_multi(struct temper_http *h)
{
    h->multi = curl_multi_init();
    if (!h->multi) {
        return TEMPER_ENOMEM;
    }
    CURLMcode c = curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)h->max_host);
    if (c == CURLM_OK) {
        c = curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)h->max_total);
    }
    if (c == CURLM_OK) {
        c = curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->max_total);
    }
    return c == CURLM_OK ? TEMPER_OK : TEMPER_EINTERNAL;
}

static void copy_opts(struct temper_http *h, const struct temper_http_opts *o)
{
    h->connect_timeout_ms = o->connect_timeout_ms;
    h->timeout_ms = o->timeout_ms;
    h->low_speed_bytes = o->low_speed_bytes;
    h->low_speed_secs = o->low_speed_secs;
    h->backoff_base_ms = o->backoff_base_ms;
    h->backoff_max_ms = o->backoff_max_ms < o->backoff_base_ms ? o->backoff_base_ms
                                                                : o->backoff_max_ms;
    h->max_wait_ms = o->max_wait_ms;
    h->max_retries = o->max_retries;
    h->max_redirects = o->max_redirects;
    h->max_host = o->max_host_connections;
    h->max_total = o->max_connections;
    h->max_body = o->max_body;
    h->max_file = o->max_file;
}

int temper_http_new(struct temper_stage *st, const struct temper_http_opts *opts,
                    struct temper_http **out)
{
    struct temper_http_opts o;
    struct temper_http *h = NULL;
    int rc = TEMPER_ENOMEM;
    *out = NULL;
    if (merge_opts(opts, &o) != TEMPER_OK) {
        return temper_fail(st, TEMPER_EINVAL, "invalid HTTP client options");
    }
    if (o.ca_file && access(o.ca_file, R_OK) != 0) {
        return temper_fail(st, TEMPER_EINVAL, "cannot read the CA file %s: %s", o.ca_file,
                           strerror(errno));
    }
    h = calloc(1, sizeof *h);
    if (!h) {
        goto out;
    }
    h->st = st;
    copy_opts(h, &o);
    h->ca_file = o.ca_file ? strdup(o.ca_file) : NULL;
    h->user_agent = o.user_agent ? strdup(o.user_agent) : strdup("temper/" PACKAGE_VERSION);
    if ((o.ca_file && !h->ca_file) || !h->user_agent) {
        goto out;
    }
    rc = setup_multi(h);
    if (rc != TEMPER_OK) {
        goto out;
    }
    rc = load_auth(h, &o);
    if (rc != TEMPER_OK) {
        temper_http_free(h);
        return rc; /* recorded */
    }
    *out = h;
    return TEMPER_OK;
out:
    temper_http_free(h);
    return temper_fail(st, rc, "cannot create the HTTP client: %s", temper_rc_str(rc));
}

void temper_http_free(struct temper_http *h)
{
    if (!h) {
        return;
    }
    if (h->multi) {
        curl_multi_cleanup(h->multi);
    }
    free(h->ca_file);
    free(h->user_agent);
    wipe_free(h->auth_header);
    free(h);
}

/* ---- responses ------------------------------------------------------------ */

void temper_http_resp_init(struct temper_http_resp *r)
{
    memset(r, 0, sizeof *r);
    r->size = sizeof *r;
    temper_buf_init(&r->body, 0);
}

void temper_http_resp_cleanup(struct temper_http_resp *r)
{
    if (!r) {
        return;
    }
    uint32_t size = r->size;
    temper_buf_cleanup(&r->body);
    free(r->effective_url);
    free(r->error);
    http_priv_free(r->priv);
    memset(r, 0, size < sizeof *r ? size : sizeof *r);
    r->size = size;
    temper_buf_init(&r->body, 0);
}

/* ---- running requests ------------------------------------------------------ */

struct run {
    struct temper_http *h;
    struct xfer *xs;
    size_t n;
    struct xfer **act; /* in flight */
    size_t nact;
    size_t left;       /* not done */
};

static size_t host_busy(const struct run *r, const char *origin)
{
    size_t k = 0;
    for (size_t i = 0; i < r->nact; i++) {
        k += strcmp(r->act[i]->origin, origin) == 0;
    }
    return k;
}

/* Gives an attempt back to the rate-limit table (with its reply, if any). */
static void rate_release(struct xfer *x, bool replied)
{
    long status = 0;
    if (!x->rate_held) {
        return;
    }
    x->rate_held = false;
    if (replied && x->easy) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    }
    http_rate_release(x->origin, status > 0 ? x->resp : NULL, status,
                      temper_stage_now_ms(x->h->st));
}

/* Asks the per-host rate-limit table whether x may go now: true when it
 * may; otherwise x waits (XS_WAITING) or has failed (XS_DONE). */
static bool rate_admit(struct xfer *x)
{
    char why[512];
    long long wait = 0;
    long long now = temper_stage_now_ms(x->h->st);
    enum rate_verdict v = http_rate_admit(x->origin, now, x->h->max_wait_ms, &wait, why,
                                          sizeof why);
    if (v == RATE_GO) {
        x->rate_held = true;
        return true;
    }
    if (v == RATE_DENY) {
        xfer_fail(x, TEMPER_ELIMIT, "not sent: %s, longer than the maximum wait of %ld s", why,
                  (x->h->max_wait_ms + 999) / 1000);
        return false;
    }
    if (!x->rate_logged && wait > 100) {
        char *u = temper_http_safe_url(x->url);
        TEMPER_LOG_INFO(x->h->st, "%s %s waits %lld ms: %s", x->method, u ? u : "?", wait, why);
        free(u);
        x->rate_logged = true;
    }
    x->state = XS_WAITING;
    x->due_ms = http_mono_ms() + wait;
    return false;
}

static void start_due(struct run *r)
{
    long long now = http_mono_ms();
    for (size_t i = 0; i < r->n && r->nact < (size_t)r->h->max_total; i++) {
        struct xfer *x = &r->xs[i];
        if (x->state == XS_WAITING && x->due_ms <= now) {
            x->state = XS_READY;
        }
        if (x->state != XS_READY || host_busy(r, x->origin) >= (size_t)r->h->max_host) {
            continue;
        }
        if (!rate_admit(x)) {
            r->left -= x->state == XS_DONE;
            continue;
        }
        if (xfer_start(x) == TEMPER_OK) {
            r->act[r->nact++] = x;
        } else {
            rate_release(x, false);
            r->left--;
        }
    }
}

/* Collect finished attempts; returns how many. */
static size_t reap(struct run *r)
{
    size_t got = 0;
    int queued = 0;
    for (;;) {
        CURLMsg *m = curl_multi_info_read(r->h->multi, &queued);
        if (!m) {
            break;
        }
        if (m->msg != CURLMSG_DONE) {
            continue;
        }
        struct xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode res = m->data.result;
        curl_multi_remove_handle(r->h->multi, m->easy_handle);
        rate_release(x, true);
        for (size_t i = 0; i < r->nact; i++) {
            if (r->act[i] == x) {
                r->act[i] = r->act[--r->nact];
                break;
            }
        }
        xfer_done(x, res);
        if (x->state == XS_DONE) {
            r->left--;
        }
        got++;
    }
    return got;
}

static int poll_ms(const struct run *r)
{
    long long now = http_mono_ms();
    long long wait = POLL_MAX_MS;
    for (size_t i = 0; i < r->n; i++) {
        const struct xfer *x = &r->xs[i];
        if (x->state == XS_WAITING && x->due_ms - now < wait) {
            wait = x->due_ms - now;
        }
    }
    return wait < 0 ? 0 : (int)wait;
}

/* Stop everything still going with rc. */
static void abort_all(struct run *r, int rc)
{
    for (size_t i = 0; i < r->nact; i++) {
        curl_multi_remove_handle(r->h->multi, r->act[i]->easy);
        rate_release(r->act[i], false);
    }
    r->nact = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->xs[i].state != XS_DONE) {
            xfer_fail(&r->xs[i], rc, "%s", rc == TEMPER_ECANCEL ? "cancelled" : "internal error");
        }
    }
    r->left = 0;
}

static int run_loop(struct run *r)
{
    while (r->left > 0) {
        if (temper_stage_cancelled(r->h->st)) {
            abort_all(r, TEMPER_ECANCEL);
            return TEMPER_ECANCEL;
        }
        start_due(r);
        int still = 0;
        if (curl_multi_perform(r->h->multi, &still) != CURLM_OK) {
            abort_all(r, TEMPER_EINTERNAL);
            return TEMPER_EINTERNAL;
        }
        if (reap(r) > 0 || r->left == 0) {
            continue;
        }
        if (curl_multi_poll(r->h->multi, NULL, 0, poll_ms(r), NULL) != CURLM_OK) {
            abort_all(r, TEMPER_EINTERNAL);
            return TEMPER_EINTERNAL;
        }
    }
    return TEMPER_OK;
}

/* Runs n prepared xfers to their outcome and cleans them up. */
static int run(struct temper_http *h, struct xfer *xs, size_t n)
{
    struct run r = { .h = h, .xs = xs, .n = n };
    int rc = TEMPER_ENOMEM;
    r.act = calloc((size_t)h->max_total, sizeof *r.act);
    for (size_t i = 0; i < n; i++) {
        r.left += xs[i].state != XS_DONE;
    }
    if (r.act) {
        rc = run_loop(&r);
    } else {
        abort_all(&r, TEMPER_ENOMEM);
    }
    for (size_t i = 0; i < n; i++) {
        xfer_cleanup(&xs[i]);
    }
    free(r.act);
    return rc;
}

int temper_http_do(struct temper_http *h, const struct temper_http_req *req,
                   struct temper_http_resp *resp)
{
    struct xfer x;
    if (!h || xfer_init(&x, h, req, resp) != TEMPER_OK) {
        return temper_fail(h ? h->st : NULL, TEMPER_EINVAL, "invalid HTTP request or response");
    }
    int rc = run(h, &x, 1);
    (void)rc; /* the outcome is in resp */
    if (resp->rc != TEMPER_OK) {
        return temper_fail(h->st, resp->rc, "%s", resp->error ? resp->error : "HTTP failure");
    }
    return TEMPER_OK;
}

int temper_http_get(struct temper_http *h, const char *url, unsigned flags,
                    struct temper_http_resp *resp)
{
    struct temper_http_req req = { .size = sizeof req, .url = url, .flags = flags };
    return temper_http_do(h, &req, resp);
}

int temper_http_batch(struct temper_http *h, const struct temper_http_req *const *reqs,
                      struct temper_http_resp *const *resps, size_t n)
{
    struct temper_stage *st = h ? h->st : NULL;
    if (!h || (n > 0 && (!reqs || !resps)) || n > BATCH_MAX) {
        return temper_fail(st, TEMPER_EINVAL, "invalid HTTP batch");
    }
    if (n == 0) {
        return TEMPER_OK;
    }
    struct xfer *xs = calloc(n, sizeof *xs);
    if (!xs) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory for an HTTP batch of %zu", n);
    }
    for (size_t i = 0; i < n; i++) {
        if (xfer_init(&xs[i], h, reqs[i], resps[i]) != TEMPER_OK) {
            for (size_t k = 0; k < i; k++) {
                xfer_cleanup(&xs[k]);
            }
            free(xs);
            return temper_fail(st, TEMPER_EINVAL, "invalid response #%zu of an HTTP batch", i);
        }
    }
    int rc = run(h, xs, n);
    free(xs);
    for (size_t i = 0; i < n; i++) {
        if (resps[i]->rc != TEMPER_OK) {
            TEMPER_LOG_DEBUG(st, "%s", resps[i]->error ? resps[i]->error : "HTTP failure");
        }
    }
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "HTTP batch of %zu requests: %s", n, temper_rc_str(rc));
    }
    return TEMPER_OK;
}

/* ---- validators ------------------------------------------------------------ */

int temper_http_commit_validators(struct temper_http *h, const struct temper_http_resp *resp)
{
    if (!h || !resp) {
        return TEMPER_EINVAL;
    }
    const struct temper_http_priv *p = resp->priv;
    if (!p || !p->key || !p->can_commit || resp->rc != TEMPER_OK) {
        return TEMPER_OK;
    }
    char *value = NULL;
    if (p->etag || p->last_modified) {
        value = temper_strdupf("%s\n%s", p->etag ? p->etag : "",
                               p->last_modified ? p->last_modified : "");
        if (!value) {
            return temper_fail(h->st, TEMPER_ENOMEM, "out of memory");
        }
    }
    int rc = temper_stage_state_put(h->st, p->key, value);
    free(value);
    if (rc == TEMPER_ENOTSUP) {
        return TEMPER_OK;
    }
    if (rc != TEMPER_OK) {
        char *u = temper_http_safe_url(p->key + 5);
        rc = temper_fail(h->st, rc, "cannot store the HTTP validators of %s: %s",
                         u ? u : "?", temper_rc_str(rc));
        free(u);
    }
    return rc;
}

/* temper — the review notifier (see notify.h). */
#include "config.h"
#include "notify.h"
#include "pipeline_priv.h"
#include <temper/http.h>
#include <temper/log.h>

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOTIFY_SECRET_MAX 4096
#define NOTIFY_BODY_MAX (1024 * 1024)

int temper_hmac_sha256_hex(const char *key, size_t key_len, const void *data, size_t len,
                           char out[65])
{
    unsigned char mac[32];
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, key_len, data, len, mac) != 0) {
        return TEMPER_ECRYPTO;
    }
    for (size_t i = 0; i < sizeof mac; i++) {
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    }
    return TEMPER_OK;
}

/* The first line of the secret file (registered as a secret); NULL on error,
 * with the reason logged on st. */
static char *read_secret(struct temper_stage *st, const char *path)
{
    char buf[NOTIFY_SECRET_MAX + 1];
    struct stat sb;
    ssize_t n = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
        n = read(fd, buf, NOTIFY_SECRET_MAX + 1);
    }
    int e = errno;
    if (fd >= 0) {
        close(fd);
    }
    if (n <= 0 || n > NOTIFY_SECRET_MAX) {
        TEMPER_LOG_WARN(st, "review webhook: cannot read the secret file %s: %s", path,
                        n < 0 ? strerror(e) : n == 0 ? "empty" : "too large");
        explicit_bzero(buf, sizeof buf);
        return NULL;
    }
    size_t len = strcspn(buf, "\r\n");
    len = len < (size_t)n ? len : (size_t)n;
    buf[len] = '\0';
    char *s = len > 0 && temper_log_add_secret(buf) == TEMPER_OK ? strdup(buf) : NULL;
    explicit_bzero(buf, sizeof buf);
    if (!s) {
        TEMPER_LOG_WARN(st, "review webhook: the secret file %s is unusable", path);
    }
    return s;
}

static char *body_json(const struct temper_review *rv, long long id)
{
    char when[40];
    json_object *j = json_object_new_object();
    json_object *r = json_object_new_object();
    json_object *f = rv->findings ? json_tokener_parse(rv->findings) : NULL;
    temper_rfc3339(rv->created_at, when, sizeof when);
    json_object_object_add(r, "id", json_object_new_int64(id));
    json_object_object_add(r, "job_id", json_object_new_int64(rv->job_id));
    json_object_object_add(r, "image", rv->image ? json_object_new_string(rv->image) : NULL);
    json_object_object_add(r, "version",
                           rv->version ? json_object_new_string(rv->version) : NULL);
    json_object_object_add(r, "summary",
                           json_object_new_string(rv->summary ? rv->summary : ""));
    json_object_object_add(r, "state", json_object_new_string("open"));
    json_object_object_add(r, "created_at", json_object_new_string(when));
    json_object_object_add(r, "findings", f ? f : json_object_new_array());
    json_object_object_add(j, "event", json_object_new_string("review.created"));
    json_object_object_add(j, "review", r);
    char *hint = temper_strdupf("temper review show %lld", id);
    json_object_object_add(j, "next_step", hint ? json_object_new_string(hint) : NULL);
    free(hint);
    char *out = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
    return out;
}

static void post(struct temper_stage *st, const struct temper_core_conf *c, const char *body,
                 const char *sig)
{
    struct temper_http_opts o;
    struct temper_http *h = NULL;
    struct temper_http_resp resp;
    char sig1[96], sig2[96];
    const char *hdrs[6] = { "Content-Type: application/json", "X-Temper-Event: review.created",
                            NULL, NULL, NULL, NULL };
    temper_http_resp_init(&resp);
    temper_http_opts_init(&o);
    o.ca_file = c->review_webhook_ca_file;
    o.timeout_ms = (long)c->review_webhook_timeout;
    o.connect_timeout_ms = o.timeout_ms;
    o.max_retries = 2;
    o.backoff_base_ms = 200;
    o.max_wait_ms = 5000;
    o.max_body = 64 * 1024;
    if (sig) {
        snprintf(sig1, sizeof sig1, "X-Hub-Signature-256: sha256=%s", sig);
        snprintf(sig2, sizeof sig2, "X-Temper-Signature-256: sha256=%s", sig);
        hdrs[2] = sig1;
        hdrs[3] = sig2;
    }
    struct temper_http_req req = { .size = sizeof req, .method = "POST",
                                   .url = c->review_webhook, .headers = hdrs, .body = body,
                                   .body_len = strlen(body),
                                   .flags = TEMPER_HTTP_RETRY_UNSAFE | TEMPER_HTTP_NO_REDIRECT };
    char *u = temper_http_safe_url(c->review_webhook);
    if (temper_http_new(st, &o, &h) != TEMPER_OK) {
        TEMPER_LOG_WARN(st, "review webhook %s: not notified: %s", u ? u : "?",
                        temper_stage_error(st) ? temper_stage_error(st) : "HTTP client");
    } else if (temper_http_do(h, &req, &resp) != TEMPER_OK) {
        TEMPER_LOG_WARN(st, "review webhook: not notified: %s",
                        resp.error ? resp.error : "HTTP failure");
    } else if (resp.status < 200 || resp.status > 299) {
        TEMPER_LOG_WARN(st, "review webhook %s: not notified: HTTP %ld", u ? u : "?",
                        resp.status);
    } else {
        TEMPER_LOG_INFO(st, "review webhook %s notified (HTTP %ld)", u ? u : "?", resp.status);
    }
    free(u);
    temper_http_resp_cleanup(&resp);
    temper_http_free(h);
}

void temper_review_notify(const struct temper_core_conf *core, const struct temper_review *rv,
                          long long id)
{
    if (!core || !core->review_webhook || !rv) {
        return;
    }
    struct temper_stage *st = temper_stage_new(NULL, "review-webhook");
    char *secret = NULL;
    char *body = NULL;
    char sig[65];
    bool signed_ok = true;
    if (!st) {
        return;
    }
    body = body_json(rv, id);
    if (core->review_webhook_secret_file) {
        secret = read_secret(st, core->review_webhook_secret_file);
        signed_ok = secret && body &&
                    temper_hmac_sha256_hex(secret, strlen(secret), body, strlen(body), sig) ==
                        TEMPER_OK;
    }
    if (!body || strlen(body) > NOTIFY_BODY_MAX) {
        TEMPER_LOG_WARN(st, "review webhook: review %lld: cannot build the body", id);
    } else if (!signed_ok) {
        TEMPER_LOG_WARN(st, "review webhook: review %lld: not notified (no signature)", id);
    } else {
        post(st, core, body, secret ? sig : NULL);
    }
    if (secret) {
        explicit_bzero(secret, strlen(secret));
        free(secret);
    }
    free(body);
    temper_stage_free(st);
}

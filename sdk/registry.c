/* temper — registry client: construction, URLs, error lines
 * (include/temper/registry.h). */
#include "config.h"

#include "registry_int.h"

#include <temper/buf.h>
#include <temper/json.h>
#include <temper/log.h>

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void temper_registry_opts_init(struct temper_registry_opts *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
}

/* Defaults for fields left 0 (and past a caller's smaller struct). */
static void merge_opts(const struct temper_registry_opts *in, struct temper_registry_opts *o)
{
    temper_registry_opts_init(o);
    if (in) {
        size_t n = in->size < sizeof *o ? in->size : sizeof *o;
        memcpy(o, in, n);
        o->size = sizeof *o;
    }
    o->chunk_size = o->chunk_size ? o->chunk_size : 64ull << 20;
    o->monolithic_max = o->monolithic_max ? o->monolithic_max : 128ull << 20;
    o->max_retries = o->max_retries == 0 ? 4 : o->max_retries < 0 ? 0 : o->max_retries;
    o->stall_secs = o->stall_secs > 0 ? o->stall_secs : 30;
    o->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000;
    o->backoff_base_ms = o->backoff_base_ms > 0 ? o->backoff_base_ms : 500;
    o->max_manifest = o->max_manifest ? o->max_manifest : 4u << 20;
    o->max_pages = o->max_pages > 0 ? o->max_pages : 100;
}

int temper_registry_new(struct temper_stage *st, const char *host,
                        const struct temper_registry_opts *opts, struct temper_registry **out)
{
    struct temper_registry_ref ref;
    struct temper_http_opts ho;
    char probe[TEMPER_REGISTRY_HOST_MAX + 8];
    *out = NULL;
    int n = host ? snprintf(probe, sizeof probe, "%s/x", host) : -1;
    if (n < 0 || (size_t)n >= sizeof probe || temper_registry_ref_parse(probe, &ref) != 0) {
        return temper_fail(st, TEMPER_EINVAL, "invalid registry host '%s'",
                           host ? host : "(null)");
    }
    struct temper_registry *r = calloc(1, sizeof *r);
    if (!r) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    r->st = st;
    merge_opts(opts, &r->o);
    memcpy(r->host, ref.host, sizeof r->host);
    r->base = temper_strdupf("%s://%s", r->o.plain_http ? "http" : "https", r->host);
    temper_http_opts_init(&ho);
    ho.connect_timeout_ms = r->o.connect_timeout_ms;
    ho.timeout_ms = 24L * 3600 * 1000; /* big blobs: the stall limit decides */
    ho.low_speed_bytes = 1;
    ho.low_speed_secs = r->o.stall_secs;
    ho.max_retries = r->o.max_retries;
    ho.backoff_base_ms = r->o.backoff_base_ms;
    ho.backoff_max_ms = 10000;
    ho.max_body = r->o.max_manifest;
    ho.ca_file = opts ? opts->ca_file : NULL;
    int rc = r->base ? temper_http_new(st, &ho, &r->http) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        rc = reg_load_credentials(r, &r->o);
    }
    r->o.credentials_file = r->o.docker_config = r->o.ca_file = NULL;
    r->o.username = r->o.password = NULL;
    if (rc != TEMPER_OK) {
        temper_registry_free(r);
        return rc == TEMPER_ENOMEM ? temper_fail(st, rc, "out of memory") : rc;
    }
    *out = r;
    return TEMPER_OK;
}

void temper_registry_free(struct temper_registry *r)
{
    if (!r) {
        return;
    }
    reg_auth_cleanup(r);
    temper_http_free(r->http);
    free(r->base);
    free(r);
}

const struct temper_registry_stats *temper_registry_stats(const struct temper_registry *r)
{
    return &r->stats;
}

char *reg_url(const struct temper_registry *r, const char *repo, const char *fmt, ...)
{
    struct temper_buf b;
    va_list ap;
    temper_buf_init(&b, 8192);
    int rc = temper_buf_printf(&b, "%s/v2/%s/", r->base, repo);
    va_start(ap, fmt);
    if (rc == TEMPER_OK) {
        rc = temper_buf_vprintf(&b, fmt, ap);
    }
    va_end(ap);
    char *s = rc == TEMPER_OK ? temper_buf_take(&b, NULL) : NULL;
    temper_buf_cleanup(&b);
    return s;
}

char *reg_scope(const char *repo, bool push)
{
    return temper_strdupf("repository:%s:%s", repo, push ? "pull,push" : "pull");
}

char *reg_query_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = n < 65536 ? malloc(3 * n + 1) : NULL;
    size_t k = 0;
    for (size_t i = 0; out && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[k++] = (char)c;
        } else {
            out[k++] = '%';
            out[k++] = hex[c >> 4];
            out[k++] = hex[c & 15];
        }
    }
    if (out) {
        out[k] = '\0';
    }
    return out;
}

/* "CODE: message" of the first entry of a registry error body, printable,
 * at most 200 bytes; "" when the body is no such JSON. */
static void registry_error(const struct temper_http_resp *resp, char *out, size_t n)
{
    json_object *root = NULL;
    out[0] = '\0';
    if (!resp->body.data || resp->body.len == 0 || resp->body.len > 65536 ||
        resp->body.data[0] != '{' ||
        temper_json_parse(NULL, NULL, resp->body.data, resp->body.len, 65536, 16, &root) !=
            TEMPER_OK) {
        /* temper_json_parse logged nothing worth keeping: st is NULL */
        return;
    }
    const char *code = temper_json_get_str(root, "errors.0.code");
    const char *msg = temper_json_get_str(root, "errors.0.message");
    if (code || msg) {
        snprintf(out, n < 201 ? n : 201, ": %s%s%s", code ? code : "", code && msg ? " " : "",
                 msg ? msg : "");
    }
    for (char *p = out; *p; p++) {
        *p = ((unsigned char)*p < 0x20 || *p == 0x7f) ? ' ' : *p;
    }
    json_object_put(root);
}

int reg_status_fail(struct temper_registry *r, const char *method, const char *url,
                    const struct temper_http_resp *resp)
{
    char why[256];
    char *safe = temper_http_safe_url(url);
    long s = resp->status;
    int rc = s == 404 || s == 410 ? TEMPER_ENOTFOUND : s == 429 ? TEMPER_ELIMIT
             : s == 400 ? TEMPER_EFORMAT : TEMPER_ENET;
    registry_error(resp, why, sizeof why);
    temper_log_redact(why);
    rc = temper_fail(r->st, rc, "%s %s: HTTP %ld%s%s", method, safe ? safe : "?", s,
                     s != 401 ? (s == 403 ? " (denied)" : "")
                     : r->basic || r->static_token ? " (authentication failed)"
                                                   : " (authentication required: no credentials)",
                     why);
    free(safe);
    return rc;
}

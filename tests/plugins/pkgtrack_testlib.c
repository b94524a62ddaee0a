/* temper tests — shared helpers of the package tracker tests. */
#include "config.h"
#include "tests/plugins/pkgtrack_testlib.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pt_open(struct ph *h, const char *name, const char *const *kv, const struct ph *share,
            long long now_ms, char **err)
{
    *err = NULL;
    int rc = ph_load(h, TEMPER_KIND_TRACKER, name, kv, err);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (share) {
        ph_share_kv(h, share);
    }
    if (now_ms) {
        temper_stage_set_now(h->st, now_ms);
    }
    rc = ph_open(h);
    if (rc != TEMPER_OK) {
        const char *e = temper_stage_error(h->st);
        *err = strdup(e ? e : temper_rc_str(rc));
    }
    return rc;
}

const char *const *pt_opts(const char *const *base, size_t n_base, const char *const *extra)
{
    static const char *kv[48];
    size_t n = 0;
    for (size_t i = 0; i < n_base && n < 47; i++) {
        kv[n++] = base[i];
    }
    for (size_t i = 0; extra && extra[i] && n < 47; i++) {
        kv[n++] = extra[i];
    }
    kv[n] = NULL;
    return kv;
}

int pt_poll(struct ph *h)
{
    const struct temper_tracker_ops *ops = ph_ops(h);
    if (!ops || !h->opened) {
        return TEMPER_EINVAL;
    }
    return ops->poll(h->state, h->st, NULL, 0);
}

const char *pt_error(const struct ph *h)
{
    const char *e = h->st ? temper_stage_error(h->st) : NULL;
    return e ? e : "";
}

const struct temper_artifact *pt_change(const struct ph *h, const char *package)
{
    for (size_t i = 0; i < ph_artifact_count(h); i++) {
        const struct temper_artifact *a = ph_artifact(h, i);
        const char *p = temper_artifact_get(a, TEMPER_ATTR_PACKAGE);
        if (temper_artifact_type(a) == TEMPER_ART_CHANGE && p && strcmp(p, package) == 0) {
            return a;
        }
    }
    return NULL;
}

const char *pt_attr(const struct ph *h, const char *package, const char *key)
{
    const struct temper_artifact *a = pt_change(h, package);
    return a ? temper_artifact_get(a, key) : NULL;
}

void pt_script_init(struct pt_script *s)
{
    temper_buf_init(&s->b, 0);
    s->n = 0;
    s->rc = temper_buf_puts(&s->b, "{\"routes\": {");
}

void pt_route(struct pt_script *s, const char *path, const char *spec_fmt, ...)
{
    va_list ap;
    if (s->rc == TEMPER_OK) {
        s->rc = temper_buf_printf(&s->b, "%s\"%s\": {", s->n++ ? ", " : "", path);
    }
    va_start(ap, spec_fmt);
    if (s->rc == TEMPER_OK) {
        s->rc = temper_buf_vprintf(&s->b, spec_fmt, ap);
    }
    va_end(ap);
    if (s->rc == TEMPER_OK) {
        s->rc = temper_buf_puts(&s->b, "}");
    }
}

int pt_serve(struct pt_script *s, struct fx_server *srv)
{
    if (s->rc == TEMPER_OK) {
        s->rc = temper_buf_puts(&s->b, "}}");
    }
    int rc = s->rc == TEMPER_OK ? fx_server_start(srv, s->b.data, NULL, NULL) : -1;
    temper_buf_cleanup(&s->b);
    if (rc != 0) {
        srv->pid = -1;
    }
    return rc;
}

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    return temper_buf_append(ctx, p, size * n) == TEMPER_OK ? size * n : 0;
}

int pt_hits(const struct fx_server *srv, const char *path)
{
    char url[64], key[512];
    struct temper_buf b;
    temper_buf_init(&b, 1 << 20);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_stats", srv->port);
    snprintf(key, sizeof key, "\"%s\": ", path);
    CURL *c = curl_easy_init();
    int n = -1;
    if (c) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        if (curl_easy_perform(c) == CURLE_OK && b.data) {
            const char *at = strstr(b.data, key);
            long long v = 0;
            n = 0;
            if (at && sscanf(at + strlen(key), "%lld", &v) == 1) {
                n = (int)v;
            }
        }
        curl_easy_cleanup(c);
    }
    temper_buf_cleanup(&b);
    return n;
}

char *pt_url(const struct fx_server *srv, const char *path)
{
    return temper_strdupf("http://127.0.0.1:%d%s", srv->port, path);
}

int pt_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        return -1;
    }
    int rc = fwrite(data, 1, len, f) == len ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

int pt_file_sha(const char *path, char hex[65], unsigned long long *size)
{
    return temper_sha256_file(path, hex, size) == TEMPER_OK ? 0 : -1;
}

char *pt_state_dup(const struct ph *h, const char *key)
{
    const char *v = ph_state(h, key);
    return v ? strdup(v) : NULL;
}

size_t pt_state_packages(const struct ph *h)
{
    const char *v = ph_state(h, "packages");
    size_t n = 0;
    for (const char *p = v; p && *p; p++) {
        n += *p == '\n';
    }
    return n ? n - 1 : 0;
}

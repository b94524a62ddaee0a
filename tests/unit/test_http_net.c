/* temper — HTTP client tests on loopback, part two: TLS with a CA made by
 * certtool (good CA, default trust store, host name mismatch, no downgrade,
 * https_proxy tunnel),
 * batches through libcurl multi with a per-host limit, and proxies from the
 * environment. */
#include "config.h"
#include "tap.h"
#include "http_fixture.h"
#include <temper/http.h>
#include <temper/plugin.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define HELLO_SHA "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
#define BATCH_N 200
#define HOST_LIMIT 4

static struct temper_stage *st;

static struct temper_http *client(const struct temper_http_opts *o)
{
    struct temper_http *h = NULL;
    return temper_http_new(st, o, &h) == TEMPER_OK ? h : NULL;
}

/* The TLS checks against `tls` (cert for localhost by the test CA), with
 * `plain` as redirect target and CONNECT proxy. */
static void tls_checks(struct temper_http *good, struct temper_http *deflt,
                       const struct fx_server *tls, const struct fx_server *plain)
{
    struct temper_http_resp r;
    char url[256];
    temper_http_resp_init(&r);
    TEST("TLS with the right CA") {
        snprintf(url, sizeof url, "https://localhost:%d/hello", tls->port);
        CHECK_INT_EQ(temper_http_get(good, url, 0, &r), TEMPER_OK);
        CHECK_STR_EQ(r.body.data, "hello world");
        CHECK_STR_EQ(r.sha256, HELLO_SHA);
    }
    TEST("the default trust store rejects the test CA") {
        CHECK_INT_EQ(temper_http_get(deflt, url, 0, &r), TEMPER_ENET);
        CHECK_INT_EQ(r.attempts, 1);
        CHECK_STR_CONTAINS(r.error, "GET https://localhost:");
    }
    TEST("a host name mismatch is rejected") {
        snprintf(url, sizeof url, "https://127.0.0.1:%d/hello", tls->port);
        CHECK_INT_EQ(temper_http_get(good, url, 0, &r), TEMPER_ENET);
        CHECK_INT_EQ(r.attempts, 1);
        CHECK_STR_CONTAINS(r.error, "127.0.0.1");
    }
    TEST("https_proxy from the environment tunnels TLS") {
        char proxy[64];
        snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", plain->port);
        snprintf(url, sizeof url, "https://localhost:%d/hello", tls->port);
        setenv("https_proxy", proxy, 1);
        unsetenv("no_proxy");
        CHECK_INT_EQ(temper_http_get(good, url, 0, &r), TEMPER_OK);
        CHECK_STR_EQ(r.body.data, "hello world");
        unsetenv("https_proxy");
        setenv("no_proxy", "127.0.0.1,localhost", 1);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/_stats", plain->port);
        CHECK_INT_EQ(temper_http_get(good, url, 0, &r), TEMPER_OK);
        CHECK_STR_CONTAINS(r.body.data, "\"CONNECT\": 1");
    }
    TEST("no redirect from https to http") {
        snprintf(url, sizeof url, "https://localhost:%d/down", tls->port);
        CHECK_INT_EQ(temper_http_get(good, url, 0, &r), TEMPER_ENET);
        CHECK_STR_CONTAINS(r.error, "refusing a redirect from https to http");
    }
    temper_http_resp_cleanup(&r);
}

static void test_tls(void)
{
    struct fx_server tls = { .pid = -1 }, plain = { .pid = -1 };
    struct temper_http_opts o;
    char script[512];
    char *ca = fx_path("ca.pem"), *cert = fx_path("srv.pem"), *key = fx_path("srv.key");
    if (fx_make_certs() != 0) {
        tap_diag("certtool (gnutls-bin) not available: TLS tests skipped");
        goto out;
    }
    int up = fx_server_start(&plain, "{\"routes\": {\"/echo\": {\"echo\": true}}}", NULL, NULL);
    snprintf(script, sizeof script,
             "{\"routes\": {\"/hello\": {\"body\": \"hello world\"},"
             "\"/down\": {\"status\": 302, \"headers\": [[\"Location\","
             " \"http://127.0.0.1:%d/echo\"]]}}}", plain.port);
    up = up == 0 ? fx_server_start(&tls, script, cert, key) : up;
    fx_fast_opts(&o);
    o.ca_file = ca;
    struct temper_http *good = client(&o);
    fx_fast_opts(&o);
    struct temper_http *deflt = client(&o);
    TEST("TLS servers and clients") {
        CHECK_INT_EQ(up, 0);
        CHECK(good && deflt);
    }
    if (up == 0 && good && deflt) {
        tls_checks(good, deflt, &tls, &plain);
    }
    temper_http_free(good);
    temper_http_free(deflt);
    fx_server_stop(&tls);
    fx_server_stop(&plain);
out:
    free(ca);
    free(cert);
    free(key);
}

static int stats_max_inflight(struct temper_http *h, int port)
{
    struct temper_http_resp r;
    char url[128];
    int v = -1;
    temper_http_resp_init(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_stats", port);
    if (temper_http_get(h, url, 0, &r) == TEMPER_OK && r.body.data) {
        const char *p = strstr(r.body.data, "\"max_inflight\": ");
        v = p ? (int)strtol(p + 16, NULL, 10) : -1;
    }
    temper_http_resp_cleanup(&r);
    return v;
}

struct batch {
    struct temper_http_req q[BATCH_N];
    struct temper_http_resp r[BATCH_N];
    const struct temper_http_req *qp[BATCH_N];
    struct temper_http_resp *rp[BATCH_N];
    char url[BATCH_N][128];
};

static void batch_prepare(struct batch *b, int port, size_t n)
{
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i < n; i++) {
        snprintf(b->url[i], sizeof b->url[i], "http://127.0.0.1:%d/echo?i=%zu", port, i);
        b->q[i] = (struct temper_http_req){ .size = sizeof b->q[i], .url = b->url[i] };
        temper_http_resp_init(&b->r[i]);
        b->qp[i] = &b->q[i];
        b->rp[i] = &b->r[i];
    }
}

static void batch_cleanup(struct batch *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        temper_http_resp_cleanup(&b->r[i]);
    }
}

static void test_batch_many(struct batch *b)
{
    struct fx_server s = { .pid = -1 };
    struct temper_http_opts o;
    int up = fx_server_start(&s, "{\"routes\": {\"/echo\": {\"echo\": true, \"delay_ms\": 5}}}",
                             NULL, NULL);
    fx_fast_opts(&o);
    o.max_host_connections = HOST_LIMIT;
    o.max_connections = 16;
    struct temper_http *h = client(&o);
    TEST("a batch of 200 requests with a per-host limit") {
        CHECK_INT_EQ(up, 0);
        CHECK(h != NULL);
        batch_prepare(b, s.port, BATCH_N);
        long long t0 = fx_now_ms();
        CHECK_INT_EQ(temper_http_batch(h, b->qp, b->rp, BATCH_N), TEMPER_OK);
        int ok = 0;
        for (size_t i = 0; i < BATCH_N; i++) {
            char want[32];
            snprintf(want, sizeof want, "\"query\": \"i=%zu\"", i);
            ok += b->r[i].rc == TEMPER_OK && b->r[i].status == 200 && b->r[i].body.data &&
                  strstr(b->r[i].body.data, want) != NULL;
        }
        CHECK_INT_EQ(ok, BATCH_N);
        int peak = stats_max_inflight(h, s.port);
        CHECK(peak >= 2);
        CHECK(peak <= HOST_LIMIT);
        CHECK(fx_now_ms() - t0 < 20000);
        batch_cleanup(b, BATCH_N);
    }
    temper_http_free(h);
    fx_server_stop(&s);
}

static void test_batch_mixed(struct batch *b, struct fx_kv *kv)
{
    struct fx_server s = { .pid = -1 };
    struct temper_http_opts o;
    int up = fx_server_start(&s,
        "{\"routes\": {\"/echo\": {\"echo\": true},"
        "\"/flaky\": {\"sequence\": [{\"status\": 503}, {\"status\": 500}, {\"body\": \"ok\"}]},"
        "\"/slow-ra\": {\"sequence\": [{\"status\": 429, \"headers\": [[\"Retry-After\", \"1\"]]},"
        "  {\"body\": \"late\"}]},"
        "\"/etag\": {\"etag\": \"\\\"e1\\\"\", \"body\": \"tagged\"}}}", NULL, NULL);
    fx_fast_opts(&o);
    struct temper_http *h = client(&o);
    char key[160];
    TEST("a batch with retries, failures and conditional requests") {
        CHECK_INT_EQ(up, 0);
        CHECK(h != NULL);
        batch_prepare(b, s.port, 6);
        snprintf(b->url[0], sizeof b->url[0], "http://127.0.0.1:%d/flaky", s.port);
        snprintf(b->url[1], sizeof b->url[1], "http://127.0.0.1:%d/missing", s.port);
        snprintf(b->url[2], sizeof b->url[2], "gopher://127.0.0.1:%d/x", s.port);
        snprintf(b->url[3], sizeof b->url[3], "http://127.0.0.1:%d/etag", s.port);
        snprintf(b->url[4], sizeof b->url[4], "http://127.0.0.1:%d/slow-ra", s.port);
        b->q[3].flags = TEMPER_HTTP_CONDITIONAL;
        snprintf(key, sizeof key, "http:%s", b->url[3]);
        long long t0 = fx_now_ms();
        CHECK_INT_EQ(temper_http_batch(h, b->qp, b->rp, 6), TEMPER_OK);
        long long took = fx_now_ms() - t0;
        CHECK_INT_EQ(b->r[0].rc, TEMPER_OK);
        CHECK_INT_EQ(b->r[0].attempts, 3);
        CHECK_INT_EQ(b->r[1].rc, TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(b->r[1].error, "/missing: HTTP 404");
        CHECK_INT_EQ(b->r[2].rc, TEMPER_EINVAL);
        CHECK_INT_EQ(b->r[3].rc, TEMPER_OK);
        CHECK_INT_EQ(temper_http_commit_validators(h, &b->r[3]), TEMPER_OK);
        CHECK_STR_EQ(fx_kv_peek(kv, key), "\"e1\"\n");
        CHECK_STR_EQ(b->r[4].body.data, "late");
        CHECK_INT_EQ(b->r[5].rc, TEMPER_OK);
        CHECK(took >= 900 && took < 5000);
        CHECK_INT_EQ(temper_http_batch(h, b->qp, b->rp, 6), TEMPER_OK);
        CHECK(b->r[3].not_modified);
        batch_cleanup(b, 6);
    }
    temper_http_free(h);
    fx_server_stop(&s);
}

static void test_proxy(void)
{
    struct fx_server s = { .pid = -1 };
    struct temper_http_resp r;
    char proxy[64];
    temper_http_resp_init(&r);
    int up = fx_server_start(&s, "{\"routes\": {\"/via\": {\"echo\": true}}}", NULL, NULL);
    struct temper_http *h = client(NULL);
    TEST("http_proxy from the environment is used") {
        CHECK_INT_EQ(up, 0);
        snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", s.port);
        setenv("http_proxy", proxy, 1);
        CHECK_INT_EQ(temper_http_get(h, "http://upstream.invalid/via?q=1", 0, &r), TEMPER_OK);
        CHECK_STR_CONTAINS(r.body.data, "\"target\": \"http://upstream.invalid/via?q=1\"");
    }
    TEST("no_proxy from the environment is honoured") {
        char url[64];
        snprintf(url, sizeof url, "http://localhost:%d/via", s.port);
        setenv("no_proxy", "localhost", 1);
        CHECK_INT_EQ(temper_http_get(h, url, 0, &r), TEMPER_OK);
        CHECK_STR_CONTAINS(r.body.data, "\"target\": \"/via\"");
        setenv("no_proxy", "127.0.0.1", 1);
        CHECK_INT_EQ(temper_http_get(h, url, 0, &r), TEMPER_OK);
        CHECK_STR_CONTAINS(r.body.data, "\"target\": \"http://localhost:");
        setenv("no_proxy", "127.0.0.1,localhost", 1);
        unsetenv("http_proxy");
    }
    temper_http_free(h);
    temper_http_resp_cleanup(&r);
    fx_server_stop(&s);
}

int main(void)
{
    char *log_path = NULL;
    if (!fx_begin(&log_path)) {
        return 0;
    }
    st = temper_stage_new(NULL, "http-net-test");
    struct fx_kv *kv = fx_kv_new();
    temper_stage_set_host(st, &fx_kv_ops, kv);
    struct batch *b = calloc(1, sizeof *b);
    test_tls();
    if (b) {
        test_batch_many(b);
        test_batch_mixed(b, kv);
    }
    test_proxy();
    free(b);
    temper_stage_free(st);
    fx_kv_free(kv);
    fx_end(log_path);
    return tap_done();
}

/* temper — tests of the HTTP client against real servers on loopback
 * (tests/lib/httpd.py): bodies, caps, files, uploads, status codes, retries,
 * Retry-After and rate limits, timeouts, dropped connections, redirects,
 * conditional requests, secrets and cancellation.  TLS, batches and proxies
 * are in test_http_net.c. */
#include "config.h"
#include "tap.h"
#include "http_fixture.h"
#include <temper/http.h>
#include <temper/plugin.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HELLO_SHA "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
#define TOKEN "tok-9f8e7d6c5b4a-secret"

static struct fx_server srv_a, srv_b;
static struct temper_stage *st;
static char *log_path;

/* URL on server A (rotating static buffers: valid for a few calls). */
static const char *ua(const char *path)
{
    static char bufs[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(bufs[k], sizeof bufs[k], "http://127.0.0.1:%d%s", srv_a.port, path);
    return bufs[k];
}

static struct temper_http *client(const struct temper_http_opts *o)
{
    struct temper_http_opts d;
    struct temper_http *h = NULL;
    if (!o) {
        fx_fast_opts(&d);
        o = &d;
    }
    if (temper_http_new(st, o, &h) != TEMPER_OK) {
        return NULL;
    }
    return h;
}

static int do_req(struct temper_http *h, const char *method, const char *url, unsigned flags,
                  struct temper_http_resp *r)
{
    struct temper_http_req q = { .size = sizeof q, .method = method, .url = url,
                                 .flags = flags };
    return temper_http_do(h, &q, r);
}

static int setup_servers(void)
{
    char script[4096];
    if (fx_server_start(&srv_b, "{\"routes\": {\"/echo\": {\"echo\": true}}}", NULL,
                        NULL)) {
        return -1;
    }
    long long reset = (long long)time(NULL) + 1;
    int n = snprintf(script, sizeof script,
        "{\"routes\": {"
        "\"/hello\": {\"body\": \"hello world\", \"headers\": [[\"X-Multi\", \"one\"],"
        "  [\"x-multi\", \"two\"], [\"Content-Type\", \"text/plain\"]]},"
        "\"/echo\": {\"echo\": true},"
        "\"/big\": {\"body_size\": 200000},"
        "\"/forbidden\": {\"status\": 403, \"body\": \"{\\\"message\\\": \\\"nope\\\"}\"},"
        "\"/retry\": {\"sequence\": [{\"status\": 500}, {\"status\": 502},"
        "  {\"body\": \"ok\"}]},"
        "\"/retry-post\": {\"sequence\": [{\"status\": 503}, {\"body\": \"ok\"}]},"
        "\"/retry-post2\": {\"sequence\": [{\"status\": 503}, {\"body\": \"ok\"}]},"
        "\"/ra\": {\"sequence\": [{\"status\": 429, \"headers\": [[\"Retry-After\", \"1\"]]},"
        "  {\"body\": \"ok\"}]},"
        "\"/ra2\": {\"status\": 503, \"headers\": [[\"Retry-After\", \"2\"]]},"
        "\"/ra-long\": {\"status\": 503, \"headers\": [[\"Retry-After\", \"3600\"]]},"
        "\"/gh2\": {\"sequence\": [{\"status\": 403, \"headers\": [[\"Retry-After\", \"0\"]]},"
        "  {\"body\": \"ok\"}]},"
        "\"/gh1\": {\"sequence\": [{\"status\": 403, \"headers\": [[\"X-RateLimit-Remaining\","
        "  \"0\"], [\"X-RateLimit-Reset\", \"%lld\"]]}, {\"body\": \"ok\"}]},"
        "\"/hang\": {\"hang\": true},"
        "\"/junk\": {\"junk_headers\": 300},"
        "\"/drop\": {\"drop_after\": 1000, \"body_size\": 100000},"
        "\"/page1\": {\"headers\": [[\"Link\","
        "  \"<http://127.0.0.1:{port}/page2?x=1>; rel=\\\"next\\\", </page9>; rel=\\\"last\\\"\"]]},"
        "\"/redir-other\": {\"status\": 302, \"headers\": [[\"Location\","
        "  \"http://127.0.0.1:%d/echo\"]]},"
        "\"/redir-same\": {\"status\": 301, \"headers\": [[\"Location\", \"/echo?r=1\"]]},"
        "\"/loop\": {\"status\": 302, \"headers\": [[\"Location\", \"/loop\"]]},"
        "\"/r303\": {\"status\": 303, \"headers\": [[\"Location\", \"/echo\"]]},"
        "\"/r307\": {\"status\": 307, \"headers\": [[\"Location\", \"/echo\"]]},"
        "\"/etag\": {\"etag\": \"\\\"v1\\\"\", \"body\": \"data-v1\"},"
        "\"/etag2\": {\"sequence\": [{\"etag\": \"\\\"a\\\"\", \"body\": \"A\"},"
        "  {\"etag\": \"\\\"b\\\"\", \"body\": \"B\"}]},"
        "\"/lm\": {\"last_modified\": \"Wed, 21 Oct 2015 07:28:00 GMT\", \"body\": \"lm\"}"
        "}}", reset, srv_b.port);
    if (n < 0 || (size_t)n >= sizeof script) {
        return -1;
    }
    return fx_server_start(&srv_a, script, NULL, NULL);
}

static void test_parsers(void)
{
    char *v = NULL;
    long long w = 0;
    TEST("parse Link") {
        CHECK_INT_EQ(temper_http_parse_link("<https://a/x?page=2>; rel=\"next\", "
                                            "<https://a/x?page=9>; rel=\"last\"", "last", &v),
                     TEMPER_OK);
        CHECK_STR_EQ(v, "https://a/x?page=9");
        free(v);
        CHECK_INT_EQ(temper_http_parse_link("<u1>; title=\"a, b; c\"; rel=\"prev next\"",
                                            "NEXT", &v), TEMPER_OK);
        CHECK_STR_EQ(v, "u1");
        free(v);
        CHECK_INT_EQ(temper_http_parse_link("<u1>; rel=prev", "next", &v), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(temper_http_parse_link("u1; rel=next", "next", &v), TEMPER_EFORMAT);
        CHECK_INT_EQ(temper_http_parse_link("<u1; rel=next", "next", &v), TEMPER_EFORMAT);
        CHECK_INT_EQ(temper_http_parse_link("<u1>; rel=\"next", "next", &v), TEMPER_EFORMAT);
        CHECK(v == NULL);
    }
    TEST("parse Retry-After") {
        CHECK_INT_EQ(temper_http_parse_retry_after(" 120 ", 0, &w), TEMPER_OK);
        CHECK_INT_EQ(w, 120000);
        /* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 */
        CHECK_INT_EQ(temper_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
                                                   1445412470000LL, &w), TEMPER_OK);
        CHECK_INT_EQ(w, 10000);
        CHECK_INT_EQ(temper_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
                                                   1445412490000LL, &w), TEMPER_OK);
        CHECK_INT_EQ(w, 0);
        CHECK_INT_EQ(temper_http_parse_retry_after("soon", 0, &w), TEMPER_EFORMAT);
        CHECK_INT_EQ(temper_http_parse_retry_after("", 0, &w), TEMPER_EFORMAT);
        CHECK_INT_EQ(temper_http_parse_retry_after("99999999999999999999", 0, &w), TEMPER_OK);
        CHECK(w > 0);
        /* found by tests/fuzz/fuzz_http: curl_getdate() reads this as a date
         * in the year 1666123306; the wait used to overflow (UBSan) */
        CHECK_INT_EQ(temper_http_parse_retry_after("1666123306Oct1", 1700000000000LL, &w),
                     TEMPER_OK);
        CHECK(w == 1000000000000LL);
    }
}

static void test_parsers2(void)
{
    char *v = NULL;
    TEST("parse WWW-Authenticate") {
        const char *c = "Bearer realm=\"https://auth.example/token\",service=\"reg\","
                        "scope=\"repository:a/b:pull,push\"";
        CHECK_INT_EQ(temper_http_auth_param(c, NULL, &v), TEMPER_OK);
        CHECK_STR_EQ(v, "Bearer");
        free(v);
        CHECK_INT_EQ(temper_http_auth_param(c, "scope", &v), TEMPER_OK);
        CHECK_STR_EQ(v, "repository:a/b:pull,push");
        free(v);
        CHECK_INT_EQ(temper_http_auth_param(c, "REALM", &v), TEMPER_OK);
        CHECK_STR_EQ(v, "https://auth.example/token");
        free(v);
        CHECK_INT_EQ(temper_http_auth_param(c, "error", &v), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(temper_http_auth_param("Bearer realm=\"x", "realm", &v), TEMPER_EFORMAT);
    }
    TEST("safe and resolved URLs") {
        v = temper_http_safe_url("https://u:pw@h.example:8443/p?access_token=abc&page=2"
                                 "&X-Amz-Signature=zz#frag");
        CHECK_STR_EQ(v, "https://h.example:8443/p?access_token=***&page=2&X-Amz-Signature=***");
        free(v);
        v = temper_http_safe_url("not a url");
        CHECK_STR_EQ(v, "<invalid URL>");
        free(v);
        CHECK_INT_EQ(temper_http_resolve_url("https://a.example/v2/x/blobs/uploads/",
                                             "/v2/x/blobs/uploads/123?state=s", &v), TEMPER_OK);
        CHECK_STR_EQ(v, "https://a.example/v2/x/blobs/uploads/123?state=s");
        free(v);
        CHECK_INT_EQ(temper_http_resolve_url("https://a.example/", "file:///etc/passwd", &v),
                     TEMPER_EFORMAT);
    }
}

static void test_options(void)
{
    struct temper_http_opts o;
    struct temper_http *h = NULL;
    char *tok = fx_path("token");
    char *missing = fx_path("missing");
    fx_write(tok, TOKEN "\n");
    TEST("client options") {
        CHECK_INT_EQ(temper_http_new(st, NULL, &h), TEMPER_OK);
        temper_http_free(h);
        temper_http_free(NULL);
        fx_fast_opts(&o);
        o.bearer_token_file = tok;
        o.basic_auth_file = tok;
        CHECK_INT_EQ(temper_http_new(st, &o, &h), TEMPER_EINVAL);
        CHECK(h == NULL);
        fx_fast_opts(&o);
        o.bearer_token_file = missing;
        CHECK_INT_EQ(temper_http_new(st, &o, &h), TEMPER_EINVAL);
        fx_fast_opts(&o);
        o.ca_file = missing;
        CHECK_INT_EQ(temper_http_new(st, &o, &h), TEMPER_EINVAL);
        fx_fast_opts(&o);
        o.max_retries = -1;
        CHECK_INT_EQ(temper_http_new(st, &o, &h), TEMPER_EINVAL);
        fx_fast_opts(&o);
        o.basic_auth_file = tok; /* no ':' */
        CHECK_INT_EQ(temper_http_new(st, &o, &h), TEMPER_EINVAL);
    }
    free(tok);
    free(missing);
}

static void test_get(struct temper_http *h)
{
    struct temper_http_resp r;
    temper_http_resp_init(&r);
    TEST("GET into memory") {
        CHECK_INT_EQ(temper_http_get(h, ua("/hello"), 0, &r), TEMPER_OK);
        CHECK_INT_EQ(r.status, 200);
        CHECK_STR_EQ(r.body.data, "hello world");
        CHECK_INT_EQ(r.body_bytes, 11);
        CHECK_STR_EQ(r.sha256, HELLO_SHA);
        CHECK_STR_EQ(temper_http_resp_header(&r, "x-MULTI", 0), "one");
        CHECK_STR_EQ(temper_http_resp_header(&r, "X-Multi", 1), "two");
        CHECK(temper_http_resp_header(&r, "X-Multi", 2) == NULL);
        CHECK_STR_EQ(temper_http_resp_header(&r, "content-type", 0), "text/plain");
        CHECK_STR_EQ(r.effective_url, ua("/hello"));
        CHECK_INT_EQ(r.attempts, 1);
        CHECK(r.error == NULL);
    }
    TEST("HEAD") {
        CHECK_INT_EQ(do_req(h, "HEAD", ua("/hello"), 0, &r), TEMPER_OK);
        CHECK_INT_EQ(r.status, 200);
        CHECK_INT_EQ(r.body.len, 0);
        CHECK_STR_EQ(temper_http_resp_header(&r, "X-Sha256", 0), HELLO_SHA);
    }
    TEST("status codes") {
        temper_stage_reset(st);
        CHECK_INT_EQ(temper_http_get(h, ua("/missing?token=zz"), 0, &r), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(r.status, 404);
        CHECK_STR_CONTAINS(r.error, "GET http://127.0.0.1:");
        CHECK_STR_CONTAINS(r.error, "/missing?token=***: HTTP 404");
        CHECK_STR_CONTAINS(temper_stage_error(st), "HTTP 404");
        CHECK_INT_EQ(temper_http_get(h, ua("/missing"), TEMPER_HTTP_ANY_STATUS, &r), TEMPER_OK);
        CHECK_INT_EQ(r.status, 404);
        CHECK_STR_EQ(r.body.data, "no route\n");
        CHECK_STR_EQ(r.sha256, "");
        CHECK_INT_EQ(temper_http_get(h, ua("/forbidden"), 0, &r), TEMPER_ENET);
        CHECK_INT_EQ(r.attempts, 1);
        CHECK_STR_CONTAINS(r.error, "HTTP 403: {\"message\": \"nope\"}");
    }
    TEST("invalid requests") {
        CHECK_INT_EQ(temper_http_get(h, "ftp://127.0.0.1/x", 0, &r), TEMPER_EINVAL);
        CHECK_INT_EQ(temper_http_get(h, "http://user:pw@127.0.0.1/x", 0, &r), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(r.error, "credentials in URLs");
        CHECK(strstr(r.error, "pw@") == NULL);
        CHECK_INT_EQ(do_req(h, "get", ua("/hello"), 0, &r), TEMPER_EINVAL);
        const char *bad[] = { "X-A: 1\r\nX-Injected: 2", NULL };
        struct temper_http_req q = { .size = sizeof q, .url = ua("/hello"), .headers = bad };
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_EINVAL);
    }
    temper_http_resp_cleanup(&r);
}

static void test_caps_and_files(struct temper_http *h)
{
    struct temper_http_opts o;
    struct temper_http_resp r;
    char *out = fx_path("dl.bin");
    temper_http_resp_init(&r);
    fx_fast_opts(&o);
    o.max_body = 100000;
    struct temper_http *small = client(&o);
    TEST("body cap") {
        CHECK(small != NULL);
        CHECK_INT_EQ(temper_http_get(small, ua("/big"), 0, &r), TEMPER_ELIMIT);
        CHECK_STR_CONTAINS(r.error, ua("/big"));
        CHECK_STR_CONTAINS(r.error, "over the limit of 100000 bytes");
        CHECK_INT_EQ(r.attempts, 1);
    }
    struct temper_http_req q = { .size = sizeof q, .url = ua("/big"), .out_path = out };
    TEST("download to a file") {
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_OK);
        CHECK_INT_EQ(r.body_bytes, 200000);
        CHECK_INT_EQ(r.body.len, 0);
        CHECK_STR_EQ(r.sha256, temper_http_resp_header(&r, "X-Sha256", 0));
        size_t len = 0;
        char *data = fx_read(out, &len);
        CHECK_INT_EQ(len, 200000);
        CHECK(data && memcmp(data, "0123456789abcdef0123", 20) == 0);
        free(data);
        CHECK_INT_EQ(fx_count_prefix("dl.bin.tmp-"), 0);
    }
    TEST("a failed download leaves the old file") {
        fx_write(out, "old");
        q.expect_sha256 = HELLO_SHA;
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_ECRYPTO);
        CHECK_STR_CONTAINS(r.error, "SHA-256 mismatch");
        q.expect_sha256 = NULL;
        q.max_body = 1000;
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_ELIMIT);
        q.max_body = 0;
        q.url = ua("/missing");
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_ENOTFOUND);
        CHECK_STR_EQ(r.body.data, "no route\n");
        char *data = fx_read(out, NULL);
        CHECK_STR_EQ(data, "old");
        free(data);
        CHECK_INT_EQ(fx_count_prefix("dl.bin.tmp-"), 0);
    }
    TEST("download with the expected digest") {
        q.url = ua("/hello");
        q.expect_sha256 = HELLO_SHA;
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_OK);
        char *data = fx_read(out, NULL);
        CHECK_STR_EQ(data, "hello world");
        free(data);
    }
    temper_http_free(small);
    temper_http_resp_cleanup(&r);
    free(out);
}

static void test_uploads(struct temper_http *h)
{
    struct temper_http_resp r;
    char *file = fx_path("up.txt");
    temper_http_resp_init(&r);
    fx_write(file, "hello world");
    const char *hdrs[] = { "Content-Type: application/json", "X-Custom: yes", NULL };
    struct temper_http_req q = { .size = sizeof q, .method = "PUT", .url = ua("/echo"),
                                 .headers = hdrs, .body = "{\"a\":1}", .body_len = 7 };
    TEST("PUT, POST and PATCH with bodies") {
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_OK);
        CHECK_STR_CONTAINS(r.body.data, "\"method\": \"PUT\"");
        CHECK_STR_CONTAINS(r.body.data, "\"body_len\": 7");
        CHECK_STR_CONTAINS(r.body.data, "\"content-type\": [\"application/json\"]");
        CHECK_STR_CONTAINS(r.body.data, "\"x-custom\": [\"yes\"]");
        CHECK(strstr(r.body.data, "\"expect\"") == NULL);
        q.method = "POST";
        q.body = NULL;
        q.body_len = 0;
        q.body_file = file;
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_OK);
        CHECK_STR_CONTAINS(r.body.data, "\"method\": \"POST\"");
        CHECK_STR_CONTAINS(r.body.data, "\"body_sha256\": \"" HELLO_SHA "\"");
        q.method = "PATCH";
        q.body_file = NULL;
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_OK);
        CHECK_STR_CONTAINS(r.body.data, "\"method\": \"PATCH\"");
        CHECK_STR_CONTAINS(r.body.data, "\"body_len\": 0");
        CHECK_INT_EQ(do_req(h, "DELETE", ua("/echo"), 0, &r), TEMPER_OK);
        CHECK_STR_CONTAINS(r.body.data, "\"method\": \"DELETE\"");
        q.body_file = "/nonexistent/file";
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_EIO);
        CHECK_STR_CONTAINS(r.error, "/nonexistent/file");
    }
    temper_http_resp_cleanup(&r);
    free(file);
}

static void test_retries(struct temper_http *h)
{
    struct temper_http_resp r;
    temper_http_resp_init(&r);
    TEST("5xx is retried") {
        CHECK_INT_EQ(temper_http_get(h, ua("/retry"), 0, &r), TEMPER_OK);
        CHECK_INT_EQ(r.attempts, 3);
        CHECK_STR_EQ(r.body.data, "ok");
    }
    TEST("POST is not retried unless the caller says so") {
        CHECK_INT_EQ(do_req(h, "POST", ua("/retry-post"), 0, &r), TEMPER_ENET);
        CHECK_INT_EQ(r.attempts, 1);
        CHECK_INT_EQ(r.status, 503);
        CHECK_INT_EQ(do_req(h, "POST", ua("/retry-post2"), TEMPER_HTTP_RETRY_UNSAFE, &r),
                     TEMPER_OK);
        CHECK_INT_EQ(r.attempts, 2);
    }
    TEST("Retry-After is honoured") {
        long long t0 = fx_now_ms();
        CHECK_INT_EQ(temper_http_get(h, ua("/ra"), 0, &r), TEMPER_OK);
        CHECK_INT_EQ(r.attempts, 2);
        CHECK(fx_now_ms() - t0 >= 900);
    }
    TEST("a Retry-After over the maximum wait fails at once") {
        long long t0 = fx_now_ms();
        CHECK_INT_EQ(temper_http_get(h, ua("/ra-long"), 0, &r), TEMPER_ELIMIT);
        CHECK_STR_CONTAINS(r.error, "asks to wait 3600 s");
        CHECK_STR_CONTAINS(r.error, "retry after ");
        CHECK_STR_CONTAINS(r.error, " UTC");
        CHECK(fx_now_ms() - t0 < 1000);
    }
    TEST("GitHub rate limits") {
        CHECK_INT_EQ(temper_http_get(h, ua("/gh2"), 0, &r), TEMPER_OK);
        CHECK_INT_EQ(r.attempts, 2);
        CHECK_INT_EQ(temper_http_get(h, ua("/gh1"), 0, &r), TEMPER_OK);
        CHECK_INT_EQ(r.attempts, 2);
    }
    temper_http_resp_cleanup(&r);
}

static void test_failures(struct temper_http *h)
{
    struct temper_http_opts o;
    struct temper_http_resp r;
    temper_http_resp_init(&r);
    fx_fast_opts(&o);
    o.timeout_ms = 300;
    o.max_retries = 1;
    struct temper_http *quick = client(&o);
    TEST("a server that never answers times out") {
        long long t0 = fx_now_ms();
        CHECK_INT_EQ(temper_http_get(quick, ua("/hang"), 0, &r), TEMPER_ETIMEOUT);
        CHECK_INT_EQ(r.attempts, 2);
        CHECK_STR_CONTAINS(r.error, "after 2 attempts");
        CHECK(fx_now_ms() - t0 < 3000);
    }
    TEST("a request's own timeout") {
        struct temper_http_req q = { .size = sizeof q, .url = ua("/hang"), .timeout_ms = 200 };
        long long t0 = fx_now_ms();
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_ETIMEOUT);
        CHECK_INT_EQ(r.attempts, 3);
        CHECK(fx_now_ms() - t0 < 3000);
    }
    TEST("too many response headers") {
        CHECK_INT_EQ(temper_http_get(h, ua("/junk"), 0, &r), TEMPER_ELIMIT);
        CHECK_STR_CONTAINS(r.error, "response headers over the limit");
        CHECK_INT_EQ(r.attempts, 1);
    }
    TEST("a connection dropped mid-body") {
        CHECK_INT_EQ(temper_http_get(quick, ua("/drop"), 0, &r), TEMPER_ENET);
        CHECK_STR_CONTAINS(r.error, "GET http://127.0.0.1:");
        CHECK_STR_CONTAINS(r.error, "/drop: ");
        CHECK_INT_EQ(r.attempts, 2);
        CHECK_INT_EQ(r.body.len, 0);
    }
    TEST("connection refused is retried, even for POST") {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/x", fx_dead_port());
        CHECK_INT_EQ(do_req(quick, "POST", url, 0, &r), TEMPER_ENET);
        CHECK_INT_EQ(r.attempts, 2);
        CHECK_INT_EQ(r.status, 0);
    }
    temper_http_free(quick);
    temper_http_resp_cleanup(&r);
}

static void test_redirects(struct temper_http *h)
{
    struct temper_http_resp r;
    temper_http_resp_init(&r);
    TEST("credentials do not follow a redirect to another port") {
        CHECK_INT_EQ(temper_http_get(h, ua("/redir-other"), 0, &r), TEMPER_OK);
        CHECK_STR_CONTAINS(r.body.data, "\"path\": \"/echo\"");
        CHECK(strstr(r.body.data, "authorization") == NULL);
        CHECK(strstr(r.body.data, TOKEN) == NULL);
        char port[16];
        snprintf(port, sizeof port, ":%d/", srv_b.port);
        CHECK_STR_CONTAINS(r.effective_url, port);
        const char *own[] = { "Authorization: Bearer caller-token", "Cookie: c=1", NULL };
        struct temper_http_req q = { .size = sizeof q, .url = ua("/redir-other"),
                                     .headers = own };
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_OK);
        CHECK(strstr(r.body.data, "caller-token") == NULL);
        CHECK(strstr(r.body.data, "\"cookie\"") == NULL);
    }
    TEST("credentials follow a redirect on the same origin") {
        CHECK_INT_EQ(temper_http_get(h, ua("/redir-same"), 0, &r), TEMPER_OK);
        CHECK_STR_CONTAINS(r.body.data, "\"authorization\": [\"Bearer " TOKEN "\"]");
        CHECK_STR_EQ(r.effective_url, ua("/echo?r=1"));
        CHECK_INT_EQ(temper_http_get(h, ua("/redir-same"), TEMPER_HTTP_NO_AUTH, &r), TEMPER_OK);
        CHECK(strstr(r.body.data, "authorization") == NULL);
    }
    TEST("redirect limits and methods") {
        CHECK_INT_EQ(temper_http_get(h, ua("/loop"), 0, &r), TEMPER_ELIMIT);
        CHECK_STR_CONTAINS(r.error, "too many redirects");
        CHECK_INT_EQ(temper_http_get(h, ua("/loop"), TEMPER_HTTP_NO_REDIRECT, &r), TEMPER_ENET);
        CHECK_INT_EQ(r.status, 302);
        char *loc = NULL;
        CHECK_INT_EQ(temper_http_resp_location(&r, &loc), TEMPER_OK);
        CHECK_STR_EQ(loc, ua("/loop"));
        free(loc);
        struct temper_http_req q = { .size = sizeof q, .method = "POST", .url = ua("/r303"),
                                     .body = "abc", .body_len = 3 };
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_OK);
        CHECK_STR_CONTAINS(r.body.data, "\"method\": \"GET\"");
        CHECK_STR_CONTAINS(r.body.data, "\"body_len\": 0");
        q.url = ua("/r307");
        CHECK_INT_EQ(temper_http_do(h, &q, &r), TEMPER_OK);
        CHECK_STR_CONTAINS(r.body.data, "\"method\": \"POST\"");
        CHECK_STR_CONTAINS(r.body.data, "\"body_len\": 3");
    }
    TEST("Link header") {
        char *next = NULL;
        CHECK_INT_EQ(temper_http_get(h, ua("/page1"), 0, &r), TEMPER_OK);
        CHECK_INT_EQ(temper_http_resp_link(&r, "next", &next), TEMPER_OK);
        CHECK_STR_EQ(next, ua("/page2?x=1"));
        free(next);
        CHECK_INT_EQ(temper_http_resp_link(&r, "last", &next), TEMPER_OK);
        CHECK_STR_EQ(next, ua("/page9"));
        free(next);
        CHECK_INT_EQ(temper_http_resp_link(&r, "prev", &next), TEMPER_ENOTFOUND);
    }
    temper_http_resp_cleanup(&r);
}

static void test_conditional(struct temper_http *h, struct fx_kv *kv)
{
    struct temper_http_resp r;
    temper_http_resp_init(&r);
    unsigned c = TEMPER_HTTP_CONDITIONAL;
    char key[600];
    TEST("conditional GET: 200, commit, then 304") {
        CHECK_INT_EQ(temper_http_get(h, ua("/etag"), c, &r), TEMPER_OK);
        CHECK_INT_EQ(r.status, 200);
        CHECK(!r.not_modified);
        CHECK(temper_http_resp_header(&r, "X-Got-If-None-Match", 0) == NULL);
        snprintf(key, sizeof key, "http:%s", ua("/etag"));
        CHECK(fx_kv_peek(kv, key) == NULL);
        CHECK_INT_EQ(temper_http_commit_validators(h, &r), TEMPER_OK);
        CHECK_STR_EQ(fx_kv_peek(kv, key), "\"v1\"\n");
        CHECK_INT_EQ(temper_http_get(h, ua("/etag"), c, &r), TEMPER_OK);
        CHECK_INT_EQ(r.status, 304);
        CHECK(r.not_modified);
        CHECK_INT_EQ(r.body.len, 0);
        CHECK_STR_EQ(temper_http_resp_header(&r, "X-Got-If-None-Match", 0), "\"v1\"");
        CHECK_INT_EQ(temper_http_commit_validators(h, &r), TEMPER_OK);
        CHECK_STR_EQ(fx_kv_peek(kv, key), "\"v1\"\n");
        CHECK_INT_EQ(temper_http_get(h, ua("/etag"), 0, &r), TEMPER_OK);
        CHECK_INT_EQ(r.status, 200);
    }
    TEST("a reply the caller rejects does not move the stored ETag") {
        snprintf(key, sizeof key, "http:%s", ua("/etag2"));
        CHECK_INT_EQ(temper_http_get(h, ua("/etag2"), c, &r), TEMPER_OK);
        CHECK_STR_EQ(r.body.data, "A");
        CHECK_INT_EQ(temper_http_commit_validators(h, &r), TEMPER_OK);
        CHECK_INT_EQ(temper_http_get(h, ua("/etag2"), c, &r), TEMPER_OK);
        CHECK_STR_EQ(r.body.data, "B"); /* rejected: no commit */
        CHECK_INT_EQ(temper_http_get(h, ua("/etag2"), c, &r), TEMPER_OK);
        CHECK_STR_EQ(temper_http_resp_header(&r, "X-Got-If-None-Match", 0), "\"a\"");
        CHECK_STR_EQ(r.body.data, "B");
        CHECK_INT_EQ(temper_http_commit_validators(h, &r), TEMPER_OK);
        CHECK_STR_EQ(fx_kv_peek(kv, key), "\"b\"\n");
        CHECK_INT_EQ(temper_http_get(h, ua("/etag2"), c, &r), TEMPER_OK);
        CHECK(r.not_modified);
    }
    TEST("Last-Modified / If-Modified-Since") {
        CHECK_INT_EQ(temper_http_get(h, ua("/lm"), c, &r), TEMPER_OK);
        CHECK_INT_EQ(temper_http_commit_validators(h, &r), TEMPER_OK);
        CHECK_INT_EQ(temper_http_get(h, ua("/lm"), c, &r), TEMPER_OK);
        CHECK(r.not_modified);
        CHECK_STR_EQ(temper_http_resp_header(&r, "X-Got-If-Modified-Since", 0),
                     "Wed, 21 Oct 2015 07:28:00 GMT");
    }
    temper_http_resp_cleanup(&r);
}

static volatile int cancel_flag;

static void *cancel_later(void *arg)
{
    usleep(200 * 1000);
    cancel_flag = 1;
    return NULL;
}

static void test_cancel(struct temper_http *h)
{
    struct temper_http_resp r;
    pthread_t t;
    temper_http_resp_init(&r);
    temper_stage_set_cancel(st, &cancel_flag);
    TEST("cancel stops a hanging request and a backoff wait") {
        long long t0 = fx_now_ms();
        CHECK_INT_EQ(pthread_create(&t, NULL, cancel_later, NULL), 0);
        CHECK_INT_EQ(temper_http_get(h, ua("/hang"), 0, &r), TEMPER_ECANCEL);
        pthread_join(t, NULL);
        CHECK(fx_now_ms() - t0 < 2000);
        CHECK_STR_CONTAINS(r.error, "cancelled");
        CHECK_INT_EQ(temper_http_get(h, ua("/hello"), 0, &r), TEMPER_ECANCEL);
        cancel_flag = 0;
        t0 = fx_now_ms();
        CHECK_INT_EQ(pthread_create(&t, NULL, cancel_later, NULL), 0);
        CHECK_INT_EQ(temper_http_get(h, ua("/ra2"), 0, &r), TEMPER_ECANCEL);
        pthread_join(t, NULL);
        CHECK_INT_EQ(r.attempts, 2); /* cancelled while waiting for the 2nd */
        CHECK(fx_now_ms() - t0 < 1500);
    }
    cancel_flag = 0;
    temper_stage_set_cancel(st, NULL);
    temper_http_resp_cleanup(&r);
}

static void test_secrets(struct temper_http *h)
{
    struct temper_http_opts o;
    struct temper_http_resp r;
    char *basic = fx_path("basic");
    temper_http_resp_init(&r);
    fx_write(basic, "robot:s3cr3t-pa55\n");
    fx_fast_opts(&o);
    o.basic_auth_file = basic;
    o.max_retries = 0;
    struct temper_http *hb = client(&o);
    TEST("basic auth from a file reaches the server") {
        CHECK(hb != NULL);
        CHECK_INT_EQ(temper_http_get(hb, ua("/echo"), 0, &r), TEMPER_OK);
        CHECK_STR_CONTAINS(r.body.data, "\"Basic cm9ib3Q6czNjcjN0LXBhNTU=\"");
    }
    TEST("a token in a URL never reaches an error message") {
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/x?access_token=%s", fx_dead_port(),
                 TOKEN);
        CHECK_INT_EQ(temper_http_get(hb, url, 0, &r), TEMPER_ENET);
        CHECK(r.error && strstr(r.error, TOKEN) == NULL);
        CHECK_STR_CONTAINS(r.error, "access_token=***");
    }
    temper_http_free(hb);
    temper_http_resp_cleanup(&r);
    free(basic);
    TEST("secrets never appear in the log") {
        char *log = fx_read(log_path, NULL);
        CHECK(log != NULL);
        CHECK(log && strstr(log, TOKEN) == NULL);
        CHECK(log && strstr(log, "s3cr3t-pa55") == NULL);
        CHECK(log && strstr(log, "cm9ib3Q6czNjcjN0LXBhNTU=") == NULL);
        CHECK_STR_CONTAINS(log, "retrying GET");
        free(log);
    }
}

static void run_all(void)
{
    struct temper_http_opts o;
    struct fx_kv *kv = fx_kv_new();
    char *tok = fx_path("token");
    fx_write(tok, TOKEN "\n");
    temper_stage_set_host(st, &fx_kv_ops, kv);
    fx_fast_opts(&o);
    o.bearer_token_file = tok;
    struct temper_http *h = client(&o);
    TEST("client with a token") {
        CHECK(h != NULL);
    }
    if (h) {
        test_get(h);
        test_caps_and_files(h);
        test_uploads(h);
        test_retries(h);
        test_failures(h);
        test_redirects(h);
        test_conditional(h, kv);
        test_cancel(h);
        test_secrets(h);
    }
    temper_http_free(h);
    fx_kv_free(kv);
    free(tok);
}

int main(void)
{
    if (!fx_begin(&log_path)) {
        return 0;
    }
    st = temper_stage_new(NULL, "http-test");
    test_parsers();
    test_parsers2();
    test_options();
    int up = setup_servers();
    TEST("loopback servers start") {
        CHECK_INT_EQ(up, 0);
    }
    if (up == 0) {
        run_all();
    }
    fx_server_stop(&srv_a);
    fx_server_stop(&srv_b);
    temper_stage_free(st);
    fx_end(log_path);
    return tap_done();
}

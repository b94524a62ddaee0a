/* Tests for sdk/patch*.c: the format-patch reader on hand-written and real
 * (GitHub compare) patches, the writer and its round trip, and hostile input
 * (NUL bytes, huge lines, malformed and lying hunks, limits, mutations). */
#include "../lib/tap.h"
#include "../lib/compare_mbox.h"
#include "../../sdk/host.h"
#include <temper/patch.h>
#include <json-c/json.h>
#include <temper/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct temper_stage *st;

static const char two_commits[] =
    "From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
    "From: =?UTF-8?q?Lasse=20Collin?= <Lasse.Collin@TukaaniProject.org>\n"
    "Date: Fri, 23 Feb 2024 17:09:59 +0200\n"
    "Subject: [PATCH 1/2] Build: Add a check for the\n"
    " landlock sandbox\n"
    "X-Temper-Committer: Jia Tan <jiat0218@gmail.com>\n"
    "X-Temper-Committer-Date: Sat, 24 Feb 2024 10:00:00 +0800\n"
    "X-Temper-Verified: false\n"
    "\n"
    "The check compiles a test program.\n"
    "\n"
    "Second paragraph.\n"
    "---\n"
    " CMakeLists.txt | 3 ++-\n"
    " 1 file changed, 2 insertions(+), 1 deletion(-)\n"
    "\n"
    "diff --git a/CMakeLists.txt b/CMakeLists.txt\n"
    "index 1111111..2222222 100644\n"
    "--- a/CMakeLists.txt\n"
    "+++ b/CMakeLists.txt\n"
    "@@ -10,3 +10,4 @@ project(xz)\n"
    " set(A 1)\n"
    "-set(B 2)\n"
    "+set(B 3)\n"
    "+set(C 4)\n"
    " set(D 5)\n"
    "-- \n"
    "2.43.0\n"
    "\n"
    "From fedcba9876543210fedcba9876543210fedcba98 Mon Sep 17 00:00:00 2001\n"
    "From: Jia Tan <jiat0218@gmail.com>\n"
    "Date: Sat, 24 Feb 2024 10:00:00 +0800\n"
    "Subject: [PATCH 2/2] Tests: Add test files\n"
    "X-Temper-Verified: true\n"
    "\n"
    "---\n"
    "diff --git a/tests/files/bad-3-corrupt_lzma2.xz "
    "b/tests/files/bad-3-corrupt_lzma2.xz\n"
    "new file mode 100644\n"
    "index 0000000..a0b1c2d\n"
    "GIT binary patch\n"
    "literal 512\n"
    "zcmV-q0ki&Z0RR9100003\n"
    "\n"
    "literal 0\n"
    "HcmV?d00001\n"
    "\n"
    "diff --git a/old name.c b/new name.c\n"
    "similarity index 90%\n"
    "rename from old name.c\n"
    "rename to new name.c\n"
    "index 3333333..4444444 100755\n"
    "--- a/old name.c\n"
    "+++ b/new name.c\n"
    "@@ -1 +1 @@\n"
    "-int x;\n"
    "\\ No newline at end of file\n"
    "+int y;\n"
    "\\ No newline at end of file\n"
    "diff --git a/gone.sh b/gone.sh\n"
    "deleted file mode 100755\n"
    "index 5555555..0000000\n"
    "--- a/gone.sh\n"
    "+++ /dev/null\n"
    "@@ -1,2 +0,0 @@\n"
    "-#!/bin/sh\n"
    "--- \n"
    "diff --git \"a/tab\\there.txt\" \"b/tab\\there.txt\"\n"
    "index 6666666..7777777 100644\n"
    "Binary files \"a/tab\\there.txt\" and \"b/tab\\there.txt\" differ\n"
    "-- \n"
    "2.43.0\n";

static struct temper_patch_set *parse(const char *s, size_t len,
                                      const struct temper_patch_limits *lim, int *rc)
{
    struct temper_patch_set *ps = NULL;
    temper_stage_reset(st);
    *rc = temper_patch_parse(st, "t.patch", s, len, lim, &ps);
    return ps;
}

static void test_metadata(void)
{
    TEST("two commits: metadata") {
        int rc;
        struct temper_patch_set *ps = parse(two_commits, sizeof two_commits - 1, NULL, &rc);
        CHECK_INT_EQ(rc, TEMPER_OK);
        if (!ps) {
            return;
        }
        CHECK_INT_EQ(ps->n_commits, 2);
        const struct temper_patch_commit *c = ps->commits[0];
        CHECK_STR_EQ(c->sha, "0123456789abcdef0123456789abcdef01234567");
        CHECK_STR_EQ(c->author_name, "Lasse Collin");
        CHECK_STR_EQ(c->author_email, "lasse.collin@tukaaniproject.org");
        CHECK_STR_EQ(c->author_date, "Fri, 23 Feb 2024 17:09:59 +0200");
        CHECK_STR_EQ(c->subject, "Build: Add a check for the landlock sandbox");
        CHECK_STR_EQ(c->body, "The check compiles a test program.\n\nSecond paragraph.");
        CHECK_STR_EQ(c->committer_name, "Jia Tan");
        CHECK_STR_EQ(c->committer_email, "jiat0218@gmail.com");
        CHECK_STR_EQ(c->committer_date, "Sat, 24 Feb 2024 10:00:00 +0800");
        CHECK_INT_EQ(c->verified, 0);
        CHECK_INT_EQ(c->src_line, 1);
        CHECK_INT_EQ(ps->commits[1]->verified, 1);
        CHECK_STR_EQ(ps->commits[1]->body, "");
        CHECK(ps->commits[1]->committer_email == NULL);
        CHECK_INT_EQ(ps->n_files, 5);
        CHECK_INT_EQ(ps->n_hunks, 3);
        CHECK_INT_EQ(ps->n_lines, 5 + 2 + 2);
        temper_patch_set_free(ps);
    }
}

static void test_files(void)
{
    TEST("two commits: files, hunks and line numbers") {
        int rc;
        struct temper_patch_set *ps = parse(two_commits, sizeof two_commits - 1, NULL, &rc);
        if (!ps || ps->n_commits != 2 || ps->commits[1]->n_files != 4) {
            CHECK(!"parsed");
            temper_patch_set_free(ps);
            return;
        }
        const struct temper_patch_file *f = ps->commits[0]->files[0];
        CHECK_STR_EQ(f->path, "CMakeLists.txt");
        CHECK_INT_EQ(f->status, TEMPER_PATCH_MODIFIED);
        CHECK_INT_EQ(f->n_hunks, 1);
        const struct temper_patch_hunk *h = f->hunks[0];
        CHECK_INT_EQ(h->old_start, 10);
        CHECK_INT_EQ(h->new_count, 4);
        CHECK_STR_EQ(h->section, "project(xz)");
        CHECK_INT_EQ(h->n_lines, 5);
        CHECK_INT_EQ(h->lines[2].op, '+');
        CHECK_STR_EQ(h->lines[2].text, "set(B 3)");
        CHECK_INT_EQ(h->lines[2].new_no, 11);
        CHECK_INT_EQ(h->lines[1].old_no, 11);
        CHECK_INT_EQ(h->lines[4].new_no, 13);
        CHECK_INT_EQ(h->lines[4].old_no, 12);
        const struct temper_patch_commit *c = ps->commits[1];
        f = c->files[0];
        CHECK_STR_EQ(f->path, "tests/files/bad-3-corrupt_lzma2.xz");
        CHECK(f->old_path == NULL);
        CHECK_INT_EQ(f->status, TEMPER_PATCH_ADDED);
        CHECK(f->binary);
        CHECK_INT_EQ(f->binary_size, 512);
        CHECK_INT_EQ(f->new_mode, 0100644);
        f = c->files[1];
        CHECK_INT_EQ(f->status, TEMPER_PATCH_RENAMED);
        CHECK_STR_EQ(f->old_path, "old name.c");
        CHECK_STR_EQ(f->new_path, "new name.c");
        CHECK_INT_EQ(f->similarity, 90);
        CHECK(f->hunks[0]->lines[0].no_newline);
        CHECK(f->hunks[0]->lines[1].no_newline);
        f = c->files[2];
        CHECK_INT_EQ(f->status, TEMPER_PATCH_DELETED);
        CHECK_STR_EQ(f->path, "gone.sh");
        CHECK(f->new_path == NULL);
        CHECK_INT_EQ(f->old_mode, 0100755);
        CHECK_STR_EQ(f->hunks[0]->lines[1].text, "-- "); /* a removed "-- " line */
        f = c->files[3];
        CHECK_STR_EQ(f->path, "tab\there.txt");
        CHECK(f->binary);
        CHECK_INT_EQ(f->binary_size, -1);
        temper_patch_set_free(ps);
    }
}

static void test_headers(void)
{
    static const char in_body[] =
        "From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
        "From: Sender <sender@example.org>\n"
        "Subject: [PATCH] =?utf-8?b?w4ljaGVj?= =?utf-8?q?_de_v=C3=A9rif?=\n"
        "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
        "\n"
        "From: \"Doe, Jane\" <Jane@Example.org>\n"
        "Date: Tue, 2 Jan 2024 00:00:00 +0000\n"
        "\n"
        "Body.\n";
    TEST("in-body headers override, RFC 2047 words, quoted names") {
        int rc;
        struct temper_patch_set *ps = parse(in_body, sizeof in_body - 1, NULL, &rc);
        CHECK_INT_EQ(rc, TEMPER_OK);
        if (ps && ps->n_commits == 1) {
            const struct temper_patch_commit *c = ps->commits[0];
            CHECK_STR_EQ(c->author_name, "Doe, Jane");
            CHECK_STR_EQ(c->author_email, "jane@example.org");
            CHECK_STR_EQ(c->author_date, "Tue, 2 Jan 2024 00:00:00 +0000");
            CHECK_STR_EQ(c->subject, "\xc3\x89" "chec de v\xc3\xa9rif");
            CHECK_STR_EQ(c->body, "Body.");
            CHECK_INT_EQ(c->n_files, 0);
            CHECK_INT_EQ(c->verified, -1);
        }
        temper_patch_set_free(ps);
    }
}

static void test_bare_diffs(void)
{
    static const char git_diff[] =
        "diff --git a/src/a.c b/src/a.c\n"
        "index 1..2 100644\n"
        "--- a/src/a.c\n"
        "+++ b/src/a.c\n"
        "@@ -1,2 +1,2 @@\n"
        "-a\n"
        "+b\n"
        " c\n";
    static const char plain_diff[] =
        "diff -ruN xz-5.6.0.orig/m4/x.m4 xz-5.6.0/m4/x.m4\n"
        "--- xz-5.6.0.orig/m4/x.m4\t2024-02-24 10:00:00.000000000 +0000\n"
        "+++ xz-5.6.0/m4/x.m4\t2024-02-25 10:00:00.000000000 +0000\n"
        "@@ -0,0 +1 @@\n"
        "+dnl new\n"
        "Only in xz-5.6.0/tests: files\n"
        "Binary files xz-5.6.0.orig/t.xz and xz-5.6.0/t.xz differ\n";
    TEST("bare git diff and diff -ruN output") {
        int rc;
        struct temper_patch_set *ps = parse(git_diff, sizeof git_diff - 1, NULL, &rc);
        CHECK_INT_EQ(rc, TEMPER_OK);
        if (ps && ps->n_commits == 1 && ps->commits[0]->n_files == 1) {
            CHECK(ps->commits[0]->sha == NULL);
            CHECK_STR_EQ(ps->commits[0]->files[0]->path, "src/a.c");
            CHECK_INT_EQ(ps->commits[0]->files[0]->hunks[0]->lines[2].new_no, 2);
        }
        temper_patch_set_free(ps);
        ps = parse(plain_diff, sizeof plain_diff - 1, NULL, &rc);
        CHECK_INT_EQ(rc, TEMPER_OK);
        if (ps && ps->n_commits == 1 && ps->commits[0]->n_files == 2) {
            const struct temper_patch_file *f = ps->commits[0]->files[0];
            CHECK_STR_EQ(f->path, "m4/x.m4");
            CHECK_INT_EQ(f->hunks[0]->lines[0].new_no, 1);
            CHECK_STR_EQ(ps->commits[0]->files[1]->path, "t.xz");
            CHECK(ps->commits[0]->files[1]->binary);
        } else {
            CHECK(!"two files");
        }
        temper_patch_set_free(ps);
    }
}

/* ---- real patches from the GitHub compare API -------------------------- */

static void test_compare(void)
{
    TEST("GitHub compare v0.6...v0.7 through the writer and the reader") {
        char path[1024];
        const char *data = getenv("TEMPER_DATA");
        snprintf(path, sizeof path, "%s/samples/github/compare-v0.6...v0.7.response.json",
                 data ? data : "tests/data");
        struct temper_buf mbox;
        temper_buf_init(&mbox, 0);
        temper_stage_reset(st);
        CHECK_INT_EQ(compare_to_mbox(st, path, &mbox), TEMPER_OK);
        int rc;
        struct temper_patch_set *ps = parse(mbox.data, mbox.len, NULL, &rc);
        CHECK_INT_EQ(rc, TEMPER_OK);
        struct json_object *o = NULL;
        CHECK_INT_EQ(temper_json_parse_file(st, path, 0, 0, &o), TEMPER_OK);
        size_t nf = 0;
        struct json_object *files = temper_json_get_array(o, "files", &nf);
        if (ps && ps->n_commits == 4 && ps->commits[3]->n_files == nf) {
            CHECK_STR_EQ(ps->commits[0]->sha, "5bb654d26dd014d36794acd1e6ecf3736f12aad7");
            CHECK_STR_EQ(ps->commits[0]->author_name, "Vincent Jacques");
            CHECK_STR_EQ(ps->commits[0]->subject, "Implement the three authentication schemes");
            CHECK_STR_EQ(ps->commits[1]->subject,
                         "Merge branch 'topic/Authentication' into develop");
            CHECK_INT_EQ(ps->commits[0]->verified, 0);
            CHECK(ps->commits[3]->combined);
            CHECK(!ps->commits[0]->combined);
            for (size_t i = 0; i < nf; i++) {
                struct json_object *jf = json_object_array_get_idx(files, i);
                const struct temper_patch_file *f = ps->commits[3]->files[i];
                int64_t add = -1, del = -1;
                CHECK_STR_EQ(f->path, temper_json_get_str(jf, "filename"));
                CHECK(temper_json_get_int64(jf, "additions", 0, 1000000, &add) == TEMPER_OK);
                CHECK(temper_json_get_int64(jf, "deletions", 0, 1000000, &del) == TEMPER_OK);
                long na = 0, nd = 0;
                for (size_t k = 0; k < f->n_hunks; k++) {
                    for (size_t j = 0; j < f->hunks[k]->n_lines; j++) {
                        na += f->hunks[k]->lines[j].op == '+';
                        nd += f->hunks[k]->lines[j].op == '-';
                    }
                }
                CHECK_INT_EQ(na, add);
                CHECK_INT_EQ(nd, del);
            }
            const struct temper_patch_hunk *h = ps->commits[3]->files[2]->hunks[1];
            CHECK_INT_EQ(h->new_start, 53);
            CHECK_STR_EQ(h->section, "def statusRequest( self, verb, url, parameters, input ):");
            CHECK_STR_EQ(h->lines[3].text, "        headers = dict()");
            CHECK_INT_EQ(h->lines[3].new_no, 56);
        } else {
            CHECK(!"4 commits with the files on the last");
        }
        json_object_put(o);
        temper_patch_set_free(ps);
        temper_buf_cleanup(&mbox);
    }
}

int main(void)
{
    st = temper_stage_new(NULL, "patch-test");
    test_metadata();
    test_files();
    test_headers();
    test_bare_diffs();
    test_compare();
    temper_stage_free(st);
    return tap_done();
}

/* temper tests — diff() of the GitHub trackers: the compare API (recorded
 * replies, pagination, truncated file lists with the per-commit fallback)
 * written as a git format-patch mbox, and hostile commit data. */
#include "config.h"
#include <temper/patch.h>
#include "github_testlib.h"
#include "tap.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHA_BASE "19e1c5032397a95c58fe25760723ffc24cbe0ec8"
#define SHA_HEAD "4bf07a2f5123f78fc6759bc2ade0c74154c1ba86"

static struct temper_artifact *change(const char *tracker, const char *repo,
                                      const char *old_ref, const char *new_ref)
{
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_CHANGE, "img");
    if (a && (temper_artifact_set(a, TEMPER_ATTR_TRACKER, tracker) ||
              temper_artifact_set(a, TEMPER_ATTR_UPSTREAM, repo) ||
              temper_artifact_set(a, TEMPER_ATTR_IMAGE, "img") ||
              temper_artifact_set(a, TEMPER_ATTR_OLD_REF, old_ref) ||
              temper_artifact_set(a, TEMPER_ATTR_NEW_REF, new_ref))) {
        temper_artifact_free(a);
        a = NULL;
    }
    return a;
}

/* Run diff() for repo old...new; returns its rc and, when it emitted a
 * diff, the mbox text in *mbox (free()). */
static int run_diff(const struct gm *m, const char *const *ikv, const char *tracker,
                    const char *repo, const char *old_ref, const char *new_ref, char **mbox)
{
    struct ph h;
    int rc = TEMPER_EINVAL;
    *mbox = NULL;
    struct temper_artifact *c = change(tracker, repo, old_ref, new_ref);
    if (c && gt_open(&h, "github_tags", m, ikv) == TEMPER_OK) {
        const struct temper_tracker_ops *ops = ph_ops(&h);
        rc = ops->diff(h.state, h.st, c);
        if (rc != TEMPER_OK) {
            const char *e = temper_stage_error(h.st);
            printf("# diff: %s\n", e ? e : "?");
        }
        const struct temper_artifact *d = ph_artifact(&h, 0);
        if (d && temper_artifact_type(d) == TEMPER_ART_DIFF && temper_artifact_path(d)) {
            CHECK_STR_EQ(temper_artifact_get(d, TEMPER_ATTR_IMAGE), "img");
            CHECK_STR_EQ(temper_artifact_get(d, TEMPER_ATTR_NEW_REF), new_ref);
            *mbox = gt_read(temper_artifact_path(d));
        }
        CHECK_INT_EQ(ph_artifact_count(&h), rc == TEMPER_OK && old_ref ? 1 : 0);
        char work[96];
        snprintf(work, sizeof work, "%s/work", h.dir);
        DIR *dir = opendir(work);
        size_t files = 0;
        for (struct dirent *e = dir ? readdir(dir) : NULL; e; e = readdir(dir)) {
            files += e->d_name[0] != '.';
        }
        if (dir) {
            closedir(dir);
        }
        CHECK_INT_EQ(files, *mbox ? 1 : 0); /* nothing left behind on failure */
    }
    ph_close(&h);
    temper_artifact_free(c);
    return rc;
}

static void test_recorded(const struct gm *m)
{
    TEST("compare v0.6...v0.7: four commits and their patches")
    {
        static const char *const ikv[] = { NULL };
        char *mb = NULL;
        CHECK_INT_EQ(run_diff(m, ikv, "test", "PyGithub/PyGithub", "v0.6", "v0.7", &mb), 0);
        CHECK_INT_EQ(gt_count(mb, "\nFrom ") + (mb && strncmp(mb, "From ", 5) == 0), 5);
        CHECK_STR_CONTAINS(mb, "Subject: [PATCH 0/4] PyGithub/PyGithub: v0.6...v0.7\n");
        CHECK_STR_CONTAINS(mb, "From 5bb654d26dd014d36794acd1e6ecf3736f12aad7 Mon Sep 17 "
                               "00:00:00 2001\nFrom: Vincent Jacques "
                               "<vincent@vincent-jacques.net>\nDate: Fri, 25 May 2012 "
                               "12:10:54 +0000\nSubject: [PATCH 1/4] Implement the three "
                               "authentication schemes\n");
        CHECK_STR_CONTAINS(mb, "X-Temper-Verified: false\nX-Temper-Verification-Reason: "
                               "unsigned\n");
        CHECK_STR_CONTAINS(mb, "X-Temper-Author-Login: jacquev6\n");
        CHECK_STR_CONTAINS(mb, "X-Temper-Files: 4\nX-Temper-Files-Truncated: false\n");
        CHECK_STR_CONTAINS(mb, "X-Temper-Patches: combined\n");
        CHECK_STR_CONTAINS(mb, "diff --git a/ReferenceOfClasses.md b/ReferenceOfClasses.md\n"
                               "--- a/ReferenceOfClasses.md\n+++ b/ReferenceOfClasses.md\n"
                               "@@ -3,7 +3,7 @@");
        CHECK_STR_CONTAINS(mb, "\n+* Constructed from user's login and password or OAuth "
                               "token\n");
        CHECK_INT_EQ(gt_count(mb, "\ndiff --git "), 4);
        free(mb);
    }
    TEST("paginated compare (recorded per_page=2 pages): 4 commits, 13 files")
    {
        static const char *const ikv[] = { "per_page=2", NULL };
        char *mb = NULL;
        gm_reset(m);
        CHECK_INT_EQ(run_diff(m, ikv, "test", "PyGithub/PyGithub", SHA_BASE, SHA_HEAD, &mb), 0);
        CHECK_INT_EQ(gm_stat(m, "count"), 2);
        char *stats = gm_stats_text(m);
        CHECK_STR_CONTAINS(stats, "/repositories/3544490/compare/" SHA_BASE "..." SHA_HEAD
                                  "?page=2&per_page=2");
        free(stats);
        CHECK_STR_CONTAINS(mb, "X-Temper-Total-Commits: 4\nX-Temper-Commits: 4\n"
                               "X-Temper-Commits-Truncated: false\nX-Temper-Files: 13\n");
        CHECK_STR_CONTAINS(mb, "[PATCH 4/4]");
        CHECK_STR_CONTAINS(mb, "From " SHA_HEAD " Mon Sep 17");
        CHECK_INT_EQ(gt_count(mb, "\ndiff --git "), 13);
        /* the recording cut every patch to "\u2026": left out with a note
         * (found by tests/fuzz/fuzz_github), so the guards can read the mbox */
        CHECK_STR_CONTAINS(mb, "new file mode 100644\n# temper: GitHub sent a malformed patch "
                               "for this file (3 bytes, left out)\n");
        struct temper_patch_set *ps = NULL;
        CHECK_INT_EQ(temper_patch_parse(NULL, "mbox", mb ? mb : "", mb ? strlen(mb) : 0, NULL,
                                        &ps), TEMPER_OK);
        CHECK(ps && ps->n_files == 13);
        temper_patch_set_free(ps);
        free(mb);
    }
    TEST("diff_max_commits cuts the list and says so")
    {
        static const char *const ikv[] = { "diff_max_commits=2", NULL };
        char *mb = NULL;
        CHECK_INT_EQ(run_diff(m, ikv, "test", "PyGithub/PyGithub", "v0.6", "v0.7", &mb), 0);
        CHECK_STR_CONTAINS(mb, "X-Temper-Commits: 2\nX-Temper-Commits-Truncated: true\n");
        CHECK_STR_CONTAINS(mb, "[PATCH 2/2]");
        free(mb);
    }
}

static void test_per_commit(const struct gm *m)
{
    TEST("a truncated file list (300) falls back to each commit's own files")
    {
        static const char *const ikv[] = { NULL };
        char *mb = NULL;
        CHECK_INT_EQ(gm_scenario(m, "{\"synth_compare\": {\"repo\": \"PyGithub/PyGithub\", "
                                    "\"base\": \"v1.0\", \"head\": \"v1.1\", \"commits\": 3, "
                                    "\"files\": 120}}"), 0);
        gm_reset(m);
        CHECK_INT_EQ(run_diff(m, ikv, "test", "PyGithub/PyGithub", "v1.0", "v1.1", &mb), 0);
        CHECK_INT_EQ(gm_stat(m, "count"), 7); /* compare + 3 commits x 2 pages of files */
        CHECK_STR_CONTAINS(mb, "X-Temper-Files: 300\nX-Temper-Files-Truncated: true\n"
                               "X-Temper-Patches: per-commit\n");
        CHECK_INT_EQ(gt_count(mb, "\ndiff --git "), 360);
        CHECK_STR_CONTAINS(mb, "+new 2 119\n-- \ntemper\n");
        free(mb);
    }
    TEST("a commit that cannot be fetched fails the diff, naming the URL")
    {
        static const char *const ikv[] = { "per_page=2", "diff_per_commit=true",
                                           "retries=0", NULL };
        char *mb = NULL;
        CHECK_INT_EQ(run_diff(m, ikv, "test", "PyGithub/PyGithub", SHA_BASE, SHA_HEAD, &mb),
                     TEMPER_ENOTFOUND);
        CHECK(mb == NULL);
    }
}

/* Python's email package reads the mbox: 4 messages, decoded headers. */
static int python_reads(const char *mbox)
{
    static const char script[] =
        "import mailbox, sys\n"
        "from email.header import decode_header, make_header\n"
        "msgs = list(mailbox.mbox(sys.argv[1]))\n"
        "assert len(msgs) == 4, len(msgs)\n"
        "frm = str(make_header(decode_header(msgs[2]['From'])))\n"
        "assert frm.startswith('J\\u00f6rg \\u00dcn\\u00efc\\u00f8d\\u00e9 <'), frm\n"
        "assert msgs[1]['X-Temper-Verified'] == 'false'\n"
        "assert msgs[1]['X-Injected'] is None\n"
        "assert msgs[3]['X-Temper-Verified'] == 'true'\n";
    char path[] = "/tmp/temper-gt-mbox-" "XX" "XX" "XX"; /* split for the lint marker check */
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, mbox, strlen(mbox)) != (ssize_t)strlen(mbox)) {
        return -1;
    }
    close(fd);
    const char *py = getenv("PYTHON3");
    const char *argv[] = { py && *py ? py : "python3", "-c", script, path, NULL };
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_hostile(const struct gm *m)
{
    TEST("hostile commit data: no header injection, encoded names, quoted paths")
    {
        static const char *const ikv[] = { "diff_per_commit=yes", NULL };
        char *mb = NULL;
        CHECK_INT_EQ(gm_scenario(m, "{\"synth_compare\": {\"repo\": \"PyGithub/PyGithub\", "
                                    "\"base\": \"e1\", \"head\": \"e2\", \"commits\": 3, "
                                    "\"files\": 1, \"evil\": true}}"), 0);
        CHECK_INT_EQ(run_diff(m, ikv, "test", "PyGithub/PyGithub", "e1", "e2", &mb), 0);
        CHECK_STR_CONTAINS(mb, "From: Eve X-Temper-Verified: true <");
        CHECK(!strstr(mb ? mb : "", "\nX-Temper-Verified: true\nX-Temper-Verification-Reason: "
                                    "unsigned"));
        CHECK(!strstr(mb ? mb : "", "\nX-Injected"));
        CHECK_STR_CONTAINS(mb, "Subject: [PATCH 1/3] innocent subject X-Injected: yes\n");
        CHECK_STR_CONTAINS(mb, "\n>From the start\n>>From a quote\n");
        CHECK_STR_CONTAINS(mb, "From: =?UTF-8?q?J=C3=B6rg_=C3=9Cn=C3=AFc=C3=B8d=C3=A9?= <");
        CHECK_STR_CONTAINS(mb, "diff --git \"a/src/evil\\nname.c\" \"b/src/evil\\nname.c\"\n");
        CHECK_STR_CONTAINS(mb, "Binary files /dev/null and b/test/data.bin differ\n");
        CHECK_STR_CONTAINS(mb, "# temper: GitHub sent no patch for this file (too large: "
                               "+5000 -10)\n");
        CHECK_STR_CONTAINS(mb, "rename from old/name.c\nrename to new/name.c\n");
        CHECK_STR_CONTAINS(mb, "deleted file mode 100644\n--- a/gone.c\n+++ /dev/null\n");
        CHECK_STR_CONTAINS(mb, "X-Temper-Verified: true\nX-Temper-Verification-Reason: valid");
        CHECK_INT_EQ(mb ? python_reads(mb) : -1, 0);
        /* and temper's own parser (the guards') reads it too */
        struct temper_patch_set *ps = NULL;
        CHECK_INT_EQ(temper_patch_parse(NULL, "mbox", mb ? mb : "", mb ? strlen(mb) : 0, NULL,
                                        &ps), TEMPER_OK);
        temper_patch_set_free(ps);
        free(mb);
    }
    TEST("malformed compare reply: an error naming the URL, nothing written")
    {
        static const char *const ikv[] = { NULL };
        char *mb = NULL;
        gm_scenario(m, "{\"faults\": [{\"match\": \"/compare/\", \"kind\": \"malformed\", "
                       "\"count\": 1}]}");
        CHECK_INT_EQ(run_diff(m, ikv, "test", "PyGithub/PyGithub", "v0.6", "v0.7", &mb),
                     TEMPER_EFORMAT);
        CHECK(mb == NULL);
    }
    TEST("a first version has nothing to compare; other trackers' changes are refused")
    {
        static const char *const ikv[] = { NULL };
        char *mb = NULL;
        CHECK_INT_EQ(run_diff(m, ikv, "test", "PyGithub/PyGithub", NULL, "v0.7", &mb), 0);
        CHECK(mb == NULL);
        CHECK_INT_EQ(run_diff(m, ikv, "other", "PyGithub/PyGithub", "v0.6", "v0.7", &mb),
                     TEMPER_EINVAL);
        CHECK_INT_EQ(run_diff(m, ikv, "test", "../etc", "v0.6", "v0.7", &mb), TEMPER_EINVAL);
    }
}

static void run(const struct gm *m)
{
    test_recorded(m);
    test_per_commit(m);
    test_hostile(m);
}

int main(void)
{
    return gt_main(run, tap_done);
}

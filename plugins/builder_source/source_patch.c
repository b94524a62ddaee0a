/* temper — builder_source: the definition's patches applied to the source
 * tree before the build.
 *
 * Each patch is parsed by the SDK (temper_patch_parse_file: a git
 * format-patch mbox or a bare unified diff, "a/" and "b/" removed, i.e.
 * -p1) and applied hunk by hunk with exact context, no fuzz: a hunk is
 * tried at its announced line (shifted by what earlier hunks added or
 * removed), then anywhere in the file, and a hunk that matches nowhere
 * fails the build with the patch, file and hunk line.  Paths are relative
 * to the tree: absolute paths and ".." are refused, and files are read and
 * written with the SDK's temper_rootfs_* calls, which resolve symlinks
 * inside the tree, so no patch can reach outside it.  Modified and added
 * text files only: deletions, renames, copies and binary patches are
 * refused.  Each patch's sha256 is kept for the provenance. */
#include "config.h"
#include "source.h"
#include <temper/patch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILE_MAX (256u << 20)

struct lines {
    const char **p;             /* into the file's text */
    size_t *len;                /* with the newline when there is one */
    size_t n;
};

static int split(const char *text, size_t len, struct lines *l)
{
    size_t cap = 1;
    for (size_t i = 0; i < len; i++) {
        cap += text[i] == '\n';
    }
    l->p = calloc(cap, sizeof *l->p);
    l->len = calloc(cap, sizeof *l->len);
    l->n = 0;
    if (!l->p || !l->len) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) + 1 : len - i;
        l->p[l->n] = text + i;
        l->len[l->n++] = n;
        i += n;
    }
    return TEMPER_OK;
}

/* Does hunk h's old side match the file at line `at`? */
static bool matches(const struct lines *f, const struct temper_patch_hunk *h, size_t at)
{
    size_t k = at;
    for (size_t i = 0; i < h->n_lines; i++) {
        const struct temper_patch_line *pl = &h->lines[i];
        if (pl->op == '+') {
            continue;
        }
        if (k >= f->n) {
            return false;
        }
        size_t body = f->len[k] - (f->p[k][f->len[k] - 1] == '\n');
        bool nl = body < f->len[k];
        if (body != pl->len || memcmp(f->p[k], pl->text, body) != 0 || nl == pl->no_newline) {
            return false;
        }
        k++;
    }
    return true;
}

static long find(const struct lines *f, const struct temper_patch_hunk *h, long want)
{
    long old = 0;
    for (size_t i = 0; i < h->n_lines; i++) {
        old += h->lines[i].op != '+';
    }
    if (want < 0) {
        want = 0;
    }
    for (long d = 0; d <= (long)f->n + 1; d++) {
        if (want + d <= (long)f->n && want + d + old <= (long)f->n &&
            matches(f, h, (size_t)(want + d))) {
            return want + d;
        }
        if (d && want - d >= 0 && matches(f, h, (size_t)(want - d))) {
            return want - d;
        }
    }
    return -1;
}

/* The new text of one file from its old text and the hunks. */
static int apply_file(struct source_build *b, const char *pname,
                      const struct temper_patch_file *pf, const char *text, size_t len,
                      struct temper_buf *out)
{
    struct lines f = { 0 };
    int rc = split(text, len, &f);
    size_t pos = 0;
    long shift = 0;
    for (size_t i = 0; rc == TEMPER_OK && i < pf->n_hunks; i++) {
        const struct temper_patch_hunk *h = pf->hunks[i];
        long at = find(&f, h, h->old_start - 1 + shift);
        if (at < (long)pos) {
            rc = temper_fail(b->st, TEMPER_EFORMAT, "patch %s: %s: hunk at line %ld does "
                             "not apply", pname, pf->path, h->src_line);
            break;
        }
        for (; rc == TEMPER_OK && pos < (size_t)at; pos++) {
            rc = temper_buf_append(out, f.p[pos], f.len[pos]);
        }
        for (size_t k = 0; rc == TEMPER_OK && k < h->n_lines; k++) {
            const struct temper_patch_line *pl = &h->lines[k];
            pos += pl->op != '+';
            if (pl->op != '-') {
                rc = temper_buf_append(out, pl->text, pl->len);
                rc = rc == TEMPER_OK && !pl->no_newline ? temper_buf_puts(out, "\n") : rc;
            }
        }
        shift += h->new_count - h->old_count;
    }
    for (; rc == TEMPER_OK && pos < f.n; pos++) {
        rc = temper_buf_append(out, f.p[pos], f.len[pos]);
    }
    free(f.p);
    free(f.len);
    return rc;
}

static bool path_ok(const char *p)
{
    if (!p[0] || p[0] == '/') {
        return false;
    }
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            return false;
        }
        s += n + (s[n] == '/');
    }
    return true;
}

static int patch_one_file(struct source_build *b, const char *tree, const char *pname,
                          const struct temper_patch_file *pf)
{
    if (pf->binary || (pf->status != TEMPER_PATCH_MODIFIED && pf->status != TEMPER_PATCH_ADDED)) {
        return temper_fail(b->st, TEMPER_ENOTSUP, "patch %s: %s: only text changes to "
                           "existing files and new files are supported (%s%s)", pname,
                           pf->path, pf->binary ? "binary " : "",
                           temper_patch_status_str(pf->status));
    }
    if (!path_ok(pf->path)) {
        return temper_fail(b->st, TEMPER_EFORMAT, "patch %s: path '%s' is outside the source "
                           "tree", pname, pf->path);
    }
    char *text = NULL;
    size_t len = 0;
    int rc = TEMPER_OK;
    if (pf->status == TEMPER_PATCH_MODIFIED) {
        rc = temper_rootfs_read(b->st, tree, pf->path, FILE_MAX, &text, &len);
        if (rc == TEMPER_ENOTFOUND) {
            rc = temper_fail(b->st, rc, "patch %s: %s is not a file of the source tree", pname,
                             pf->path);
        }
    }
    struct temper_buf out;
    temper_buf_init(&out, FILE_MAX);
    rc = rc == TEMPER_OK ? apply_file(b, pname, pf, text ? text : "", len, &out) : rc;
    unsigned mode = pf->new_mode ? pf->new_mode & 0777
                    : text && len > 2 && text[0] == '#' && text[1] == '!' ? 0755
                                                                          : 0644;
    rc = rc == TEMPER_OK ? temper_rootfs_write(b->st, tree, pf->path, out.data ? out.data : "",
                                               out.len, mode)
                         : rc;
    temper_buf_cleanup(&out);
    free(text);
    return rc;
}

static int patch_one(struct source_build *b, const char *tree, size_t i)
{
    const char *path = b->ic->patches.v[i];
    const char *slash = strrchr(path, '/');
    const char *pname = slash ? slash + 1 : path;
    struct temper_patch_set *ps = NULL;
    b->patch_sha[i] = calloc(1, 65);
    int rc = b->patch_sha[i] ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && temper_sha256_file(path, b->patch_sha[i], NULL) != TEMPER_OK) {
        rc = temper_fail(b->st, TEMPER_EIO, "cannot read patch %s", path);
    }
    rc = rc == TEMPER_OK ? temper_patch_parse_file(b->st, path, NULL, &ps) : rc;
    for (size_t c = 0; rc == TEMPER_OK && c < ps->n_commits; c++) {
        const struct temper_patch_commit *cm = ps->commits[c];
        for (size_t f = 0; rc == TEMPER_OK && f < cm->n_files; f++) {
            rc = patch_one_file(b, tree, pname, cm->files[f]);
        }
    }
    if (rc == TEMPER_OK) {
        TEMPER_LOG_INFO(b->st, "patch %s applied (sha256 %s)", pname, b->patch_sha[i]);
    }
    temper_patch_set_free(ps);
    return rc;
}

int source_patch(struct source_build *b)
{
    size_t n = b->ic->patches.n;
    if (n == 0) {
        return TEMPER_OK;
    }
    if (n > SOURCE_MAX_PATCHES) {
        return temper_fail(b->st, TEMPER_ELIMIT, "image %s: more than %d patches",
                           b->req->def->name, SOURCE_MAX_PATCHES);
    }
    b->patch_sha = calloc(n, sizeof *b->patch_sha);
    char *tree = b->top ? temper_strdupf("%s/%s", b->srcdir, b->top) : strdup(b->srcdir);
    int rc = b->patch_sha && tree ? TEMPER_OK : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = patch_one(b, tree, i);
    }
    free(tree);
    return rc;
}

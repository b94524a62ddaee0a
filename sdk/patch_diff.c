/* temper — the diff part of the patch reader: file headers (git extended
 * headers and plain ---/+++ pairs), hunks counted against their header, and
 * binary patch data (see include/temper/patch.h). */
#include "patch_int.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define DEV_NULL "/dev/null"

/* A path read from s[0..n): quoted or plain, p1-stripped unless `raw`.
 * *path = NULL for /dev/null.  Sets *used. */
static int header_path(struct pctx *c, const char *s, size_t n, bool raw, const char **path,
                       size_t *used)
{
    bool oom = false;
    char *p = patch_read_path(c->a, s, n, used, &oom);
    if (oom) {
        return patch_oom(c);
    }
    if (!p) {
        return patch_err(c, TEMPER_EFORMAT, "malformed path in the file header");
    }
    if (strcmp(p, DEV_NULL) == 0) {
        *path = NULL;
        return TEMPER_OK;
    }
    *path = raw ? p : patch_strip_p1(p);
    return TEMPER_OK;
}

/* "diff --git a/X b/Y": both paths when they can be told apart; renames
 * with spaces in their names are settled later by "rename from/to". */
static int git_paths(struct pctx *c)
{
    const char *s = c->line + 11;
    size_t n = c->slen - 11;
    struct temper_patch_file *f = c->file;
    size_t used = 0;
    if (n && s[0] == '"') {
        int rc = header_path(c, s, n, false, &f->old_path, &used);
        if (rc != TEMPER_OK || used >= n || s[used] != ' ') {
            return rc != TEMPER_OK ? rc : patch_err(c, TEMPER_EFORMAT, "malformed diff --git line");
        }
        return header_path(c, s + used + 1, n - used - 1, false, &f->new_path, &used);
    }
    const char *split = NULL;
    if (n % 2 == 1 && s[n / 2] == ' ') {
        /* "a/X b/X": the same name on both sides */
        const char *a = memchr(s, '/', n / 2);
        const char *b = memchr(s + n / 2 + 1, '/', n / 2);
        size_t la = a ? (size_t)(s + n / 2 - a) : 0, lb = b ? (size_t)(s + n - b) : 1;
        if (a && b && la == lb && memcmp(a, b, la) == 0) {
            split = s + n / 2;
        }
    }
    if (!split) {
        for (const char *p = s; p + 3 < s + n; p++) {
            if (memcmp(p, " b/", 3) == 0 || memcmp(p, " \"b/", 4) == 0) {
                split = p;
                break;
            }
        }
    }
    if (!split) {
        return TEMPER_OK; /* rename from/to or ---/+++ will tell */
    }
    int rc = header_path(c, s, (size_t)(split - s), false, &f->old_path, &used);
    if (rc == TEMPER_OK) {
        rc = header_path(c, split + 1, (size_t)(s + n - split - 1), false, &f->new_path,
                         &used);
    }
    return rc;
}

static int parse_mode(struct pctx *c, const char *s, unsigned *out)
{
    unsigned v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '7' && i < 7; i++) {
        v = v * 8 + (unsigned)(s[i] - '0');
    }
    if (i == 0 || (s[i] && s[i] != ' ')) {
        return patch_err(c, TEMPER_EFORMAT, "malformed file mode");
    }
    *out = v;
    return TEMPER_OK;
}

static int parse_percent(struct pctx *c, const char *s, int *out)
{
    int v = 0;
    size_t i = 0;
    for (; isdigit((unsigned char)s[i]) && i < 3; i++) {
        v = v * 10 + (s[i] - '0');
    }
    if (i == 0 || s[i] != '%' || v > 100) {
        return patch_err(c, TEMPER_EFORMAT, "malformed similarity index");
    }
    *out = v;
    return TEMPER_OK;
}

/* Rename/copy source or target: "rename from PATH" (no a/ prefix). */
static int move_path(struct pctx *c, size_t skip, enum temper_patch_status st, bool to)
{
    size_t used = 0;
    c->file->status = st;
    return header_path(c, c->line + skip, c->slen - skip, true,
                       to ? &c->file->new_path : &c->file->old_path, &used);
}

/* Git extended header lines; *hit false when the line is none of them. */
static int extended_header(struct pctx *c, bool *hit)
{
    struct temper_patch_file *f = c->file;
    *hit = true;
    if (patch_is(c, "old mode ")) {
        return parse_mode(c, c->line + 9, &f->old_mode);
    }
    if (patch_is(c, "new mode ")) {
        return parse_mode(c, c->line + 9, &f->new_mode);
    }
    if (patch_is(c, "deleted file mode ")) {
        f->status = TEMPER_PATCH_DELETED;
        return parse_mode(c, c->line + 18, &f->old_mode);
    }
    if (patch_is(c, "new file mode ")) {
        f->status = TEMPER_PATCH_ADDED;
        return parse_mode(c, c->line + 14, &f->new_mode);
    }
    if (patch_is(c, "similarity index ") || patch_is(c, "dissimilarity index ")) {
        return parse_percent(c, strchr(c->line, 'x') + 2, &f->similarity);
    }
    if (patch_is(c, "rename from ") || patch_is(c, "rename to ")) {
        bool to = patch_is(c, "rename to ");
        return move_path(c, to ? 10 : 12, TEMPER_PATCH_RENAMED, to);
    }
    if (patch_is(c, "copy from ") || patch_is(c, "copy to ")) {
        bool to = patch_is(c, "copy to ");
        return move_path(c, to ? 8 : 10, TEMPER_PATCH_COPIED, to);
    }
    *hit = patch_is(c, "index ");
    return TEMPER_OK;
}

/* "--- OLD" and the "+++ NEW" on the next line (consumed here). */
static int minus_plus(struct pctx *c)
{
    struct temper_patch_file *f = c->file;
    const char *p = NULL;
    size_t used = 0;
    int rc = header_path(c, c->line + 4, c->slen - 4, false, &p, &used);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (!p) {
        f->status = TEMPER_PATCH_ADDED;
    } else if (!f->old_path || f->status == TEMPER_PATCH_MODIFIED) {
        f->old_path = p;
    }
    rc = patch_next_line(c);
    if (rc != TEMPER_OK) {
        return rc;
    }
    rc = header_path(c, c->line + 4, c->slen - 4, false, &p, &used);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (!p) {
        f->status = TEMPER_PATCH_DELETED;
    } else if (!f->new_path || f->status == TEMPER_PATCH_MODIFIED) {
        f->new_path = p;
    }
    return TEMPER_OK;
}

/* "literal N" / "delta N" of a GIT binary patch. */
static void binary_size(struct pctx *c, const char *s)
{
    long long v = 0;
    size_t i = 0;
    for (; isdigit((unsigned char)s[i]) && i < 18; i++) {
        v = v * 10 + (s[i] - '0');
    }
    if (i && c->file->binary_size < 0) {
        c->file->binary_size = v;
    }
}

/* "Binary files A and B differ" (git without --binary, or diff -r). */
static int binary_files(struct pctx *c)
{
    if (!c->file || !c->file_in_header) {
        int rc = patch_new_file(c);
        if (rc != TEMPER_OK) {
            return rc;
        }
        const char *and = strstr(c->line, " and ");
        const char *end = c->line + c->slen - 7; /* " differ" */
        if (and && and + 5 < end) {
            size_t used = 0;
            rc = header_path(c, and + 5, (size_t)(end - and - 5), false, &c->file->new_path,
                             &used);
        }
        if (rc != TEMPER_OK) {
            return rc;
        }
    }
    c->file->binary = true;
    c->file_in_header = false;
    return TEMPER_OK;
}

static int start_hunk(struct pctx *c)
{
    long os, oc, ns, nc;
    size_t sec = 0;
    if (!c->file) {
        return patch_err(c, TEMPER_EFORMAT, "hunk outside of a file diff");
    }
    if (!patch_hunk_header(c->line, c->slen, &os, &oc, &ns, &nc, &sec)) {
        return patch_err(c, TEMPER_EFORMAT, "malformed hunk header (expected "
                                            "\"@@ -A,B +C,D @@\")");
    }
    if (oc == 0 && nc == 0) {
        return patch_err(c, TEMPER_EFORMAT, "empty hunk");
    }
    if (c->set->pub.n_hunks >= c->lim.max_hunks) {
        return patch_err(c, TEMPER_ELIMIT, "more than %zu hunks", c->lim.max_hunks);
    }
    struct temper_patch_hunk *h = patch_arena_alloc(c->a, sizeof *h);
    const char *section = patch_arena_strndup(c->a, c->line + sec, c->slen - sec);
    if (!h || !section) {
        return patch_oom(c);
    }
    h->size = sizeof *h;
    h->old_start = os;
    h->old_count = oc;
    h->new_start = ns;
    h->new_count = nc;
    h->section = section;
    h->src_line = c->lineno;
    c->set->pub.n_hunks++;
    c->hunk = h;
    c->hl_n = 0;
    c->rem_old = c->hunk_old = oc;
    c->rem_new = c->hunk_new = nc;
    c->next_old = os;
    c->next_new = ns;
    c->file_in_header = false;
    c->state = S_HUNK;
    return TEMPER_OK;
}

static int new_diff_file(struct pctx *c, bool git)
{
    int rc = patch_new_file(c);
    if (rc == TEMPER_OK && git) {
        rc = git_paths(c);
    }
    return rc;
}

static int on_file_line(struct pctx *c, bool *hit)
{
    *hit = true;
    if (patch_is(c, "diff --git ")) {
        return new_diff_file(c, true);
    }
    if (patch_is(c, "diff ")) {
        return new_diff_file(c, false);
    }
    if (patch_is(c, "--- ") && patch_next_is(c, "+++ ")) {
        int rc = TEMPER_OK;
        if (!c->file || !c->file_in_header) {
            rc = new_diff_file(c, false);
        }
        return rc == TEMPER_OK ? minus_plus(c) : rc;
    }
    if (patch_is(c, "@@ ")) {
        return start_hunk(c);
    }
    if (patch_is(c, "Binary files ") && c->slen > 20 &&
        memcmp(c->line + c->slen - 7, " differ", 7) == 0) {
        return binary_files(c);
    }
    if (patch_is_exactly(c, "GIT binary patch") && c->file && c->file_in_header) {
        c->file->binary = true;
        c->file_in_header = false;
        c->state = S_BINARY;
        return TEMPER_OK;
    }
    *hit = false;
    return TEMPER_OK;
}

int patch_on_diff(struct pctx *c)
{
    bool hit = false;
    int rc = on_file_line(c, &hit);
    if (rc != TEMPER_OK || hit) {
        return rc;
    }
    if (c->file && c->file_in_header) {
        rc = extended_header(c, &hit);
        if (rc != TEMPER_OK || hit) {
            return rc;
        }
    }
    if (patch_is_exactly(c, "-- ") || patch_is_exactly(c, "--")) {
        c->state = S_SIG;
        return TEMPER_OK;
    }
    if (c->line[0] == '\\' && c->hunks.n && !c->file_in_header) {
        /* "\ No newline at end of file" after the last line of a hunk */
        struct temper_patch_hunk *h = c->hunks.v[c->hunks.n - 1];
        if (h->n_lines) {
            ((struct temper_patch_line *)h->lines)[h->n_lines - 1].no_newline = true;
        }
        return TEMPER_OK;
    }
    /* noise of other diff tools, and "# " notes a tracker writes where it
     * has no patch to give (tracker_github: a file GitHub sent no patch for) */
    if (c->slen == 0 || patch_is(c, "Only in ") || patch_is(c, "Index: ") ||
        patch_is(c, "====") || patch_is(c, "# ")) {
        return TEMPER_OK;
    }
    return patch_err(c, TEMPER_EFORMAT, "unexpected line in the diff%s",
                     c->file ? " after a file header or hunk" : "");
}

/* ---- hunks ----------------------------------------------------------------- */

static int push_line(struct pctx *c, char op, long old_no, long new_no)
{
    if (c->set->pub.n_lines >= c->lim.max_lines) {
        return patch_err(c, TEMPER_ELIMIT, "more than %zu diff lines", c->lim.max_lines);
    }
    if (c->hl_n == c->hl_cap) {
        size_t ncap = c->hl_cap ? c->hl_cap * 2 : 64;
        struct temper_patch_line *v = realloc(c->hl, ncap * sizeof *v);
        if (!v) {
            return patch_oom(c);
        }
        c->hl = v;
        c->hl_cap = ncap;
    }
    struct temper_patch_line *l = &c->hl[c->hl_n++];
    l->op = op;
    l->no_newline = false;
    l->old_no = old_no;
    l->new_no = new_no;
    l->text = c->llen ? c->line + 1 : c->line;
    l->len = c->llen ? c->llen - 1 : 0;
    c->set->pub.n_lines++;
    return TEMPER_OK;
}

static int hunk_overflow(struct pctx *c, const char *what)
{
    return patch_err(c, TEMPER_EFORMAT, "hunk at line %ld has more %s lines than its "
                     "header announces", c->hunk->src_line, what);
}

int patch_on_hunk(struct pctx *c)
{
    char op = c->llen ? c->line[0] : ' ';
    int rc;
    if (op == '\\') {
        if (c->hl_n) {
            c->hl[c->hl_n - 1].no_newline = true;
        }
        return TEMPER_OK;
    }
    if (op == ' ') {
        if (c->rem_old == 0 || c->rem_new == 0) {
            return hunk_overflow(c, "context");
        }
        rc = push_line(c, ' ', c->next_old++, c->next_new++);
        c->rem_old--;
        c->rem_new--;
    } else if (op == '-') {
        if (c->rem_old == 0) {
            return hunk_overflow(c, "removed");
        }
        rc = push_line(c, '-', c->next_old++, 0);
        c->rem_old--;
    } else if (op == '+') {
        if (c->rem_new == 0) {
            return hunk_overflow(c, "added");
        }
        rc = push_line(c, '+', 0, c->next_new++);
        c->rem_new--;
    } else {
        return patch_err(c, TEMPER_EFORMAT, "hunk at line %ld ends early: %ld of %ld old "
                         "and %ld of %ld new lines missing", c->hunk->src_line, c->rem_old,
                         c->hunk_old, c->rem_new, c->hunk_new);
    }
    if (rc == TEMPER_OK && c->rem_old == 0 && c->rem_new == 0) {
        c->state = S_DIFF;
        rc = patch_finish_hunk(c);
    }
    return rc;
}

/* ---- binary data -------------------------------------------------------------- */

static bool base85_line(const char *s, size_t n)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "abcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
    if (n < 6 || !isalpha((unsigned char)s[0])) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        if (!memchr(alphabet, s[i], sizeof alphabet - 1)) {
            return false;
        }
    }
    return true;
}

int patch_on_binary(struct pctx *c)
{
    if (patch_is(c, "literal ") || patch_is(c, "delta ")) {
        binary_size(c, strchr(c->line, ' ') + 1);
        return TEMPER_OK;
    }
    if (c->slen == 0 || base85_line(c->line, c->slen)) {
        return TEMPER_OK;
    }
    c->state = S_DIFF;
    return 1;
}

/* temper — writing `git format-patch` mboxes (see include/temper/patch.h):
 * what a tracker uses to hand an upstream diff to the guard stages. */
#include "patch_int.h"
#include <temper/dsse.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- paths ------------------------------------------------------------- */

static bool path_needs_quote(const char *p)
{
    for (const unsigned char *s = (const unsigned char *)p; *s; s++) {
        if (*s < 0x20 || *s >= 0x7f || *s == '"' || *s == '\\') {
            return true;
        }
    }
    return false;
}

static int put_quoted_char(struct temper_buf *b, unsigned char c)
{
    static const char from[] = "\a\b\t\n\v\f\r\"\\";
    static const char to[] = "abtnvfr\"\\";
    const char *hit = c ? memchr(from, c, sizeof from - 1) : NULL;
    if (hit) {
        char esc[2] = { '\\', to[hit - from] };
        return temper_buf_append(b, esc, 2);
    }
    if (c < 0x20 || c >= 0x7f) {
        return temper_buf_printf(b, "\\%03o", c);
    }
    return temper_buf_append(b, &c, 1);
}

int patch_put_path(struct temper_buf *b, const char *prefix, const char *path)
{
    if (!path_needs_quote(path)) {
        int rc = temper_buf_puts(b, prefix);
        return rc == TEMPER_OK ? temper_buf_puts(b, path) : rc;
    }
    int rc = temper_buf_printf(b, "\"%s", prefix);
    for (const unsigned char *s = (const unsigned char *)path; rc == TEMPER_OK && *s; s++) {
        rc = put_quoted_char(b, *s);
    }
    return rc == TEMPER_OK ? temper_buf_append(b, "\"", 1) : rc;
}

/* ---- hunk text check ------------------------------------------------------ */

/* Count one hunk body line; false when it does not fit the header. */
static bool count_line(char op, long *ro, long *rn)
{
    if (op == ' ' && *ro > 0 && *rn > 0) {
        (*ro)--;
        (*rn)--;
        return true;
    }
    if (op == '-' && *ro > 0) {
        (*ro)--;
        return true;
    }
    if (op == '+' && *rn > 0) {
        (*rn)--;
        return true;
    }
    return op == '\\';
}

bool patch_hunks_valid(const char *text, size_t len, long *bad_line)
{
    long ro = 0, rn = 0, line = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += nl ? n + 1 : n;
        line++;
        *bad_line = line;
        if (ro == 0 && rn == 0) {
            long os, ns;
            size_t sec;
            if (n && s[0] == '\\') {
                continue;
            }
            if (!patch_hunk_header(s, n, &os, &ro, &ns, &rn, &sec) || (ro == 0 && rn == 0)) {
                return false;
            }
            continue;
        }
        if (!count_line(n ? s[0] : ' ', &ro, &rn)) {
            return false;
        }
    }
    *bad_line = line;
    return ro == 0 && rn == 0;
}

/* ---- message head ------------------------------------------------------------ */

static bool one_line(const char *s)
{
    return !s || !strpbrk(s, "\r\n");
}

static bool needs_encoding(const char *s, bool ident)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80 || *p < 0x20 || (ident && strchr("()<>@,;:\\\".[]", *p))) {
            return true;
        }
    }
    return strstr(s, "=?") != NULL;
}

/* A header value, RFC 2047-encoded (UTF-8, B) when it is not plain ASCII. */
static int put_words(struct temper_buf *b, const char *s, bool ident)
{
    if (!needs_encoding(s, ident)) {
        return temper_buf_puts(b, s);
    }
    char *enc = NULL;
    int rc = temper_base64_encode(s, strlen(s), &enc);
    if (rc == TEMPER_OK) {
        rc = temper_buf_printf(b, "=?UTF-8?b?%s?=", enc);
    }
    free(enc);
    return rc;
}

static bool email_ok(const char *e)
{
    return !e || (!strpbrk(e, "<> \t\r\n") && one_line(e));
}

static int put_ident(struct temper_buf *b, const char *hdr, const char *name,
                     const char *email)
{
    int rc = temper_buf_printf(b, "%s: ", hdr);
    if (rc == TEMPER_OK && name && *name) {
        rc = put_words(b, name, true);
        if (rc == TEMPER_OK) {
            rc = temper_buf_puts(b, " ");
        }
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_printf(b, "<%s>\n", email ? email : "");
    }
    return rc;
}

static bool sha_ok(const char *sha)
{
    size_t n = sha ? strlen(sha) : 0;
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)sha[i])) {
            return false;
        }
    }
    return n == 40 || n == 64;
}

static bool commit_ok(const struct temper_patch_commit *c)
{
    return sha_ok(c->sha) && one_line(c->author_name) && email_ok(c->author_email) &&
           one_line(c->author_date) && one_line(c->committer_name) &&
           email_ok(c->committer_email) && one_line(c->committer_date) &&
           one_line(c->subject);
}

static int put_headers(struct temper_buf *b, const struct temper_patch_commit *c)
{
    int rc = temper_buf_printf(b, "From %s Mon Sep 17 00:00:00 2001\n", c->sha);
    if (rc == TEMPER_OK && (c->author_name || c->author_email)) {
        rc = put_ident(b, "From", c->author_name, c->author_email);
    }
    if (rc == TEMPER_OK && c->author_date) {
        rc = temper_buf_printf(b, "Date: %s\n", c->author_date);
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_puts(b, "Subject: [PATCH] ");
    }
    if (rc == TEMPER_OK) {
        rc = put_words(b, c->subject ? c->subject : "", false);
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_puts(b, "\n");
    }
    if (rc == TEMPER_OK && (c->committer_name || c->committer_email)) {
        rc = put_ident(b, TEMPER_PATCH_HDR_COMMITTER, c->committer_name, c->committer_email);
    }
    if (rc == TEMPER_OK && c->committer_date) {
        rc = temper_buf_printf(b, TEMPER_PATCH_HDR_COMMITTER_DATE ": %s\n", c->committer_date);
    }
    if (rc == TEMPER_OK && c->verified >= 0) {
        rc = temper_buf_printf(b, TEMPER_PATCH_HDR_VERIFIED ": %s\n",
                               c->verified ? "true" : "false");
    }
    if (rc == TEMPER_OK && c->combined) {
        rc = temper_buf_puts(b, TEMPER_PATCH_HDR_COMBINED ": true\n");
    }
    return rc == TEMPER_OK ? temper_buf_puts(b, "\n") : rc;
}

/* Whether a body line would be read as structure (or, at the top of the
 * body, as an in-body header that overrides the author). */
static bool body_line_unsafe(const char *s, size_t n, bool top)
{
    size_t sha_len;
    const char *t = s;
    size_t tn = n;
    if (tn && t[tn - 1] == '\r') {
        tn--;
    }
    if ((tn == 3 && memcmp(t, "---", 3) == 0) || (tn == 3 && memcmp(t, "-- ", 3) == 0) ||
        patch_starts(t, tn, "diff ") || patch_starts(t, tn, "Index: ") ||
        patch_is_from_line(t, tn, &sha_len)) {
        return true;
    }
    return top && (patch_starts(t, tn, "From:") || patch_starts(t, tn, "Date:") ||
                   patch_starts(t, tn, "Subject:"));
}

static int put_body(struct temper_buf *b, const char *body)
{
    const char *s = body ? body : "";
    size_t len = strlen(s);
    size_t pos = 0;
    bool top = true;
    int rc = TEMPER_OK;
    while (rc == TEMPER_OK && pos < len) {
        const char *l = s + pos;
        const char *nl = memchr(l, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - l) : len - pos;
        pos += nl ? n + 1 : n;
        if (body_line_unsafe(l, n, top)) {
            rc = temper_buf_append(b, " ", 1);
        }
        if (rc == TEMPER_OK) {
            rc = temper_buf_append(b, l, n);
        }
        if (rc == TEMPER_OK) {
            rc = temper_buf_append(b, "\n", 1);
        }
        top = top && n == 0;
    }
    if (rc == TEMPER_OK && len) {
        rc = temper_buf_append(b, "\n", 1);
    }
    return rc;
}

int temper_patch_write_commit(struct temper_buf *b, const struct temper_patch_commit *c)
{
    if (!b || !c || c->size < sizeof(uint32_t) || !commit_ok(c)) {
        return TEMPER_EINVAL;
    }
    size_t mark = b->len;
    int rc = put_headers(b, c);
    if (rc == TEMPER_OK) {
        rc = put_body(b, c->body);
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_puts(b, "---\n\n");
    }
    if (rc != TEMPER_OK && b->data) {
        b->len = mark; /* nothing half-written */
        b->data[mark] = '\0';
    }
    return rc;
}

/* ---- files ---------------------------------------------------------------------- */

/* One side of a pair: PREFIX + path, or /dev/null. */
static int put_side(struct temper_buf *b, const char *prefix, const char *path)
{
    return path ? patch_put_path(b, prefix, path) : temper_buf_puts(b, "/dev/null");
}

static int put_pair(struct temper_buf *b, const char *lead, const char *old_path,
                    const char *new_path, const char *sep, const char *tail)
{
    int rc = temper_buf_puts(b, lead);
    if (rc == TEMPER_OK) {
        rc = put_side(b, "a/", old_path);
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_puts(b, sep);
    }
    if (rc == TEMPER_OK) {
        rc = put_side(b, "b/", new_path);
    }
    return rc == TEMPER_OK ? temper_buf_puts(b, tail) : rc;
}

static int put_moves(struct temper_buf *b, const struct temper_patch_file *f)
{
    const char *verb = f->status == TEMPER_PATCH_RENAMED ? "rename" : "copy";
    int rc = TEMPER_OK;
    if (f->similarity >= 0) {
        rc = temper_buf_printf(b, "similarity index %d%%\n", f->similarity);
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_printf(b, "%s from ", verb);
    }
    if (rc == TEMPER_OK) {
        rc = patch_put_path(b, "", f->old_path);
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_printf(b, "\n%s to ", verb);
    }
    if (rc == TEMPER_OK) {
        rc = patch_put_path(b, "", f->new_path);
    }
    return rc == TEMPER_OK ? temper_buf_puts(b, "\n") : rc;
}

static int put_file_head(struct temper_buf *b, const struct temper_patch_file *f,
                         const char *oldp, const char *newp)
{
    int rc = put_pair(b, "diff --git ", oldp ? oldp : newp, newp ? newp : oldp, " ", "\n");
    unsigned om = f->old_mode ? f->old_mode : 0100644, nm = f->new_mode ? f->new_mode : 0100644;
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (f->status == TEMPER_PATCH_ADDED) {
        rc = temper_buf_printf(b, "new file mode %06o\n", nm);
    } else if (f->status == TEMPER_PATCH_DELETED) {
        rc = temper_buf_printf(b, "deleted file mode %06o\n", om);
    } else if (f->old_mode && f->new_mode && f->old_mode != f->new_mode) {
        rc = temper_buf_printf(b, "old mode %06o\nnew mode %06o\n", om, nm);
    }
    if (rc == TEMPER_OK &&
        (f->status == TEMPER_PATCH_RENAMED || f->status == TEMPER_PATCH_COPIED)) {
        rc = put_moves(b, f);
    }
    return rc;
}

static int put_file(struct temper_buf *b, const struct temper_patch_file *f,
                    const char *hunks, size_t hl)
{
    const char *oldp = f->status == TEMPER_PATCH_ADDED ? NULL : f->old_path;
    const char *newp = f->status == TEMPER_PATCH_DELETED ? NULL : f->new_path;
    int rc = put_file_head(b, f, oldp, newp);
    if (rc == TEMPER_OK && f->binary) {
        return put_pair(b, "Binary files ", oldp, newp, " and ", " differ\n");
    }
    if (rc != TEMPER_OK || hl == 0) {
        return rc;
    }
    rc = put_pair(b, "--- ", oldp, newp, "\n+++ ", "\n");
    if (rc == TEMPER_OK) {
        rc = temper_buf_append(b, hunks, hl);
    }
    if (rc == TEMPER_OK && hunks[hl - 1] != '\n') {
        rc = temper_buf_append(b, "\n", 1);
    }
    return rc;
}

static bool file_ok(const struct temper_patch_file *f)
{
    const char *oldp = f->status == TEMPER_PATCH_ADDED ? NULL : f->old_path;
    const char *newp = f->status == TEMPER_PATCH_DELETED ? NULL : f->new_path;
    bool moved = f->status == TEMPER_PATCH_RENAMED || f->status == TEMPER_PATCH_COPIED;
    if ((!oldp && !newp) || (moved && (!oldp || !newp)) || f->status < 0 ||
        f->status > TEMPER_PATCH_COPIED) {
        return false;
    }
    return (!oldp || *oldp) && (!newp || *newp);
}

int temper_patch_write_file(struct temper_buf *b, const struct temper_patch_file *f,
                            const char *hunks)
{
    if (!b || !f || f->size < sizeof(uint32_t) || !file_ok(f)) {
        return TEMPER_EINVAL;
    }
    size_t hl = hunks ? strlen(hunks) : 0;
    long bad = 0;
    if (hl && !f->binary && !patch_hunks_valid(hunks, hl, &bad)) {
        return TEMPER_EFORMAT;
    }
    size_t mark = b->len;
    int rc = put_file(b, f, hunks, f->binary ? 0 : hl);
    if (rc != TEMPER_OK && b->data) {
        b->len = mark;
        b->data[mark] = '\0';
    }
    return rc;
}

int temper_patch_write_end(struct temper_buf *b)
{
    return b ? temper_buf_puts(b, "-- \ntemper\n\n") : TEMPER_EINVAL;
}

/* temper — the reader of `git format-patch` mboxes (see include/temper/patch.h).
 *
 * One pass over a private copy of the input, split into NUL-terminated lines
 * in place; every string of the result lives in the set's arena.  A state
 * machine follows git's layout: message headers, body, "---" and diffstat,
 * per-file headers, hunks counted against their "@@" header, binary patch
 * data, and the "-- " signature. */
#include "patch_int.h"
#include <temper/plugin.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int patch_err(struct pctx *c, int rc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        msg[0] = '\0';
    }
    return temper_fail(c->st, rc, "%s:%ld: %s", c->what, c->lineno, msg);
}

int patch_oom(struct pctx *c)
{
    return patch_err(c, TEMPER_ENOMEM, "out of memory");
}

const char *temper_patch_status_str(int status)
{
    static const char *const names[] = { "modified", "added", "deleted", "renamed",
                                         "copied" };
    if (status < 0 || status > TEMPER_PATCH_COPIED) {
        return NULL;
    }
    return names[status];
}

/* ---- lines -------------------------------------------------------------- */

bool patch_is(const struct pctx *c, const char *prefix)
{
    return patch_starts(c->line, c->slen, prefix);
}

bool patch_is_exactly(const struct pctx *c, const char *s)
{
    return c->slen == strlen(s) && memcmp(c->line, s, c->slen) == 0;
}

/* Whether the line after the current one starts with prefix. */
bool patch_next_is(const struct pctx *c, const char *prefix)
{
    size_t k = strlen(prefix);
    return c->pos < c->len && c->len - c->pos >= k && memcmp(c->buf + c->pos, prefix, k) == 0;
}

int patch_next_line(struct pctx *c)
{
    char *start = c->buf + c->pos;
    char *nl = memchr(start, '\n', c->len - c->pos);
    size_t n = nl ? (size_t)(nl - start) : c->len - c->pos;
    c->lineno++;
    c->pos += nl ? n + 1 : n;
    if (n > c->lim.max_line) {
        return patch_err(c, TEMPER_ELIMIT, "line of %zu bytes exceeds the limit of %zu bytes", n,
                    c->lim.max_line);
    }
    if (memchr(start, '\0', n)) {
        return patch_err(c, TEMPER_EFORMAT, "NUL byte in the patch (binary data outside a "
                                       "\"GIT binary patch\" section)");
    }
    start[n] = '\0';
    c->line = start;
    c->llen = n;
    c->slen = n && start[n - 1] == '\r' ? n - 1 : n;
    return TEMPER_OK;
}

/* ---- objects ------------------------------------------------------------ */

int patch_finish_hunk(struct pctx *c)
{
    struct temper_patch_hunk *h = c->hunk;
    if (!h) {
        return TEMPER_OK;
    }
    c->hunk = NULL;
    if (c->hl_n) {
        struct temper_patch_line *v = patch_arena_alloc(c->a, c->hl_n * sizeof *v);
        if (!v) {
            return patch_oom(c);
        }
        memcpy(v, c->hl, c->hl_n * sizeof *v);
        h->lines = v;
        h->n_lines = c->hl_n;
    }
    c->hl_n = 0;
    return patch_vec_push(&c->hunks, h) == TEMPER_OK ? TEMPER_OK : patch_oom(c);
}

static int finish_file(struct pctx *c)
{
    struct temper_patch_file *f = c->file;
    if (!f) {
        return TEMPER_OK;
    }
    c->file = NULL;
    if (f->status == TEMPER_PATCH_ADDED) {
        f->old_path = NULL;
    } else if (f->status == TEMPER_PATCH_DELETED) {
        f->new_path = NULL;
    }
    f->path = f->new_path ? f->new_path : f->old_path;
    if (!f->path) {
        long at = c->lineno;
        c->lineno = f->src_line;
        int rc = patch_err(c, TEMPER_EFORMAT, "file header without a path");
        c->lineno = at;
        return rc;
    }
    bool ok;
    f->n_hunks = c->hunks.n;
    f->hunks = patch_vec_finish(&c->hunks, c->a, &ok);
    if (!ok) {
        return patch_oom(c);
    }
    if (patch_vec_push(&c->files, f) != TEMPER_OK) {
        return patch_oom(c);
    }
    c->set->pub.n_files++;
    return TEMPER_OK;
}

int patch_new_file(struct pctx *c)
{
    int rc = finish_file(c);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (c->set->pub.n_files + c->files.n >= c->lim.max_files) {
        return patch_err(c, TEMPER_ELIMIT, "more than %zu files", c->lim.max_files);
    }
    struct temper_patch_file *f = patch_arena_alloc(c->a, sizeof *f);
    if (!f) {
        return patch_oom(c);
    }
    f->size = sizeof *f;
    f->binary_size = -1;
    f->similarity = -1;
    f->src_line = c->lineno;
    c->file = f;
    c->file_in_header = true;
    return TEMPER_OK;
}

static void strip_subject(const char **s, size_t *n)
{
    for (;;) {
        patch_trim(s, n);
        const char *close = *n && **s == '[' ? memchr(*s, ']', *n) : NULL;
        if (!close) {
            return;
        }
        *n -= (size_t)(close + 1 - *s);
        *s = close + 1;
    }
}

static char *trimmed_body(struct pctx *c)
{
    const char *s = c->body.data ? c->body.data : "";
    size_t n = c->body.len;
    patch_trim(&s, &n);
    return patch_arena_strndup(c->a, s, n);
}

static int finish_commit(struct pctx *c)
{
    struct temper_patch_commit *m = c->commit;
    if (!m) {
        return TEMPER_OK;
    }
    int rc = finish_file(c);
    if (rc != TEMPER_OK) {
        return rc;
    }
    c->commit = NULL;
    m->body = trimmed_body(c);
    if (!m->subject) {
        m->subject = patch_arena_strndup(c->a, "", 0);
    }
    bool ok;
    m->n_files = c->files.n;
    m->files = patch_vec_finish(&c->files, c->a, &ok);
    if (!ok || !m->body || !m->subject || patch_vec_push(&c->commits, m) != TEMPER_OK) {
        return patch_oom(c);
    }
    return TEMPER_OK;
}

static int new_commit(struct pctx *c, const char *sha, size_t sha_len)
{
    int rc = finish_commit(c);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (c->commits.n >= c->lim.max_commits) {
        return patch_err(c, TEMPER_ELIMIT, "more than %zu commits", c->lim.max_commits);
    }
    struct temper_patch_commit *m = patch_arena_alloc(c->a, sizeof *m);
    if (!m) {
        return patch_oom(c);
    }
    m->size = sizeof *m;
    m->verified = -1;
    m->src_line = c->lineno;
    if (sha) {
        m->sha = patch_arena_strndup(c->a, sha, sha_len);
        if (!m->sha) {
            return patch_oom(c);
        }
    }
    c->commit = m;
    temper_buf_reset(&c->body);
    c->n_headers = 0;
    c->have_hdr = false;
    c->inbody = true;
    c->state = sha ? S_HEADERS : S_DIFF;
    return TEMPER_OK;
}

/* ---- message headers ----------------------------------------------------- */

static int bool_header(struct pctx *c, const char *v, size_t n, const char *name,
                       int *out)
{
    if (n == 4 && strncasecmp(v, "true", 4) == 0) {
        *out = 1;
    } else if (n == 5 && strncasecmp(v, "false", 5) == 0) {
        *out = 0;
    } else {
        return patch_err(c, TEMPER_EFORMAT, "%s must be true or false", name);
    }
    return TEMPER_OK;
}

static int apply_header(struct pctx *c, const char *name, const char *v, size_t n)
{
    struct temper_patch_commit *m = c->commit;
    bool ok = true;
    patch_trim(&v, &n);
    if (strcasecmp(name, "From") == 0) {
        ok = patch_parse_ident(c->a, v, n, &m->author_name, &m->author_email);
    } else if (strcasecmp(name, "Date") == 0) {
        ok = (m->author_date = patch_decode_words(c->a, v, n)) != NULL;
    } else if (strcasecmp(name, "Subject") == 0) {
        strip_subject(&v, &n);
        ok = (m->subject = patch_decode_words(c->a, v, n)) != NULL;
    } else if (strcasecmp(name, TEMPER_PATCH_HDR_COMMITTER) == 0) {
        ok = patch_parse_ident(c->a, v, n, &m->committer_name, &m->committer_email);
    } else if (strcasecmp(name, TEMPER_PATCH_HDR_COMMITTER_DATE) == 0) {
        ok = (m->committer_date = patch_decode_words(c->a, v, n)) != NULL;
    } else if (strcasecmp(name, TEMPER_PATCH_HDR_VERIFIED) == 0) {
        return bool_header(c, v, n, TEMPER_PATCH_HDR_VERIFIED, &m->verified);
    } else if (strcasecmp(name, TEMPER_PATCH_HDR_COMBINED) == 0) {
        int b = 0;
        int rc = bool_header(c, v, n, TEMPER_PATCH_HDR_COMBINED, &b);
        m->combined = b == 1;
        return rc;
    }
    return ok ? TEMPER_OK : patch_oom(c);
}

static int flush_header(struct pctx *c)
{
    if (!c->have_hdr) {
        return TEMPER_OK;
    }
    c->have_hdr = false;
    return apply_header(c, c->hname, c->hval.data ? c->hval.data : "", c->hval.len);
}

/* "Name: value" -> name length, or 0 when the line is not a header. */
static size_t header_name_len(const char *s, size_t n, size_t max)
{
    size_t i = 0;
    while (i < n && i < max && (s[i] == '-' || (s[i] >= 'A' && s[i] <= 'Z') ||
                                (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))) {
        i++;
    }
    return i > 0 && i < n && s[i] == ':' ? i : 0;
}

static int start_header(struct pctx *c, size_t nl)
{
    if (++c->n_headers > HEADERS_PER_MESSAGE) {
        return patch_err(c, TEMPER_ELIMIT, "more than %d header lines", HEADERS_PER_MESSAGE);
    }
    memcpy(c->hname, c->line, nl);
    c->hname[nl] = '\0';
    temper_buf_reset(&c->hval);
    c->have_hdr = true;
    const char *v = c->line + nl + 1;
    size_t vn = c->slen - nl - 1;
    patch_trim(&v, &vn);
    if (temper_buf_append(&c->hval, v, vn) != TEMPER_OK) {
        return patch_err(c, TEMPER_ELIMIT, "header longer than %d bytes", HEADER_MAX);
    }
    return TEMPER_OK;
}

static int on_headers(struct pctx *c)
{
    if (c->slen == 0) {
        c->state = S_BODY;
        return flush_header(c);
    }
    if ((c->line[0] == ' ' || c->line[0] == '\t') && c->have_hdr) {
        const char *v = c->line;
        size_t vn = c->slen;
        patch_trim(&v, &vn);
        if (temper_buf_append(&c->hval, " ", 1) != TEMPER_OK ||
            temper_buf_append(&c->hval, v, vn) != TEMPER_OK) {
            return patch_err(c, TEMPER_ELIMIT, "header longer than %d bytes", HEADER_MAX);
        }
        return TEMPER_OK;
    }
    int rc = flush_header(c);
    if (rc != TEMPER_OK) {
        return rc;
    }
    size_t nl = header_name_len(c->line, c->slen, sizeof c->hname - 1);
    if (!nl) {
        return patch_err(c, TEMPER_EFORMAT, "malformed header line in the message started at "
                                       "line %ld", c->commit->src_line);
    }
    return start_header(c, nl);
}

/* ---- body and diffstat --------------------------------------------------- */

/* An in-body "From:", "Date:" or "Subject:" at the top overrides the header. */
static int inbody_header(struct pctx *c, bool *taken)
{
    static const char *const names[] = { "From", "Date", "Subject" };
    *taken = false;
    size_t nl = header_name_len(c->line, c->slen, sizeof c->hname - 1);
    for (size_t i = 0; nl && i < sizeof names / sizeof names[0]; i++) {
        if (nl == strlen(names[i]) && memcmp(c->line, names[i], nl) == 0) {
            *taken = true;
            return apply_header(c, names[i], c->line + nl + 1, c->slen - nl - 1);
        }
    }
    return TEMPER_OK;
}

static int on_body(struct pctx *c)
{
    if (patch_is_exactly(c, "---")) {
        c->state = S_STAT;
        return TEMPER_OK;
    }
    if (patch_is(c, "diff --git ")) {
        c->state = S_DIFF;
        return 1; /* reprocess */
    }
    if (patch_is_exactly(c, "-- ")) {
        c->state = S_SIG;
        return TEMPER_OK;
    }
    if (c->inbody) {
        bool taken = false;
        int rc = c->slen ? inbody_header(c, &taken) : TEMPER_OK;
        if (rc != TEMPER_OK || taken || c->slen == 0) {
            return rc;
        }
        c->inbody = false;
    }
    if (temper_buf_append(&c->body, c->line, c->slen) != TEMPER_OK ||
        temper_buf_append(&c->body, "\n", 1) != TEMPER_OK) {
        return patch_oom(c);
    }
    return TEMPER_OK;
}

static bool starts_plain_diff(const struct pctx *c)
{
    return (patch_is(c, "--- ") && patch_next_is(c, "+++ ")) || patch_is(c, "Index: ") ||
           patch_is(c, "diff ");
}

static int on_stat(struct pctx *c)
{
    if (starts_plain_diff(c)) {
        c->state = S_DIFF;
        return 1;
    }
    if (patch_is_exactly(c, "-- ")) {
        c->state = S_SIG;
    }
    return TEMPER_OK; /* diffstat, notes */
}

/* Before the first message: an mbox "From <sha>" line (dispatch), a mail
 * without it (git am takes those too), or a bare diff; anything else is a
 * preamble (hg export headers, "git show" output, notes) and is skipped, as
 * patch(1) and git apply do. */
static int on_start(struct pctx *c)
{
    size_t nl = header_name_len(c->line, c->slen, sizeof c->hname - 1);
    if (nl == 4 && memcmp(c->line, "From", 4) == 0 && c->line[5] == ' ') {
        int rc = new_commit(c, NULL, 0);
        c->state = S_HEADERS;
        return rc == TEMPER_OK ? 1 : rc;
    }
    if (starts_plain_diff(c)) {
        int rc = new_commit(c, NULL, 0);
        return rc == TEMPER_OK ? 1 : rc;
    }
    return TEMPER_OK;
}

static int on_sig(struct pctx *c)
{
    if (patch_is(c, "diff --git ") || patch_is(c, "@@ ")) {
        return patch_err(c, TEMPER_EFORMAT, "diff after the \"-- \" signature of the message "
                                       "started at line %ld", c->commit->src_line);
    }
    return TEMPER_OK;
}

/* ---- the parse ------------------------------------------------------------ */

static int dispatch(struct pctx *c)
{
    size_t sha_len = 0;
    if (c->state != S_HUNK && c->state != S_HEADERS &&
        patch_is_from_line(c->line, c->slen, &sha_len)) {
        return new_commit(c, c->line + 5, sha_len);
    }
    switch (c->state) {
    case S_START:
        return on_start(c);
    case S_HEADERS:
        return on_headers(c);
    case S_BODY:
        return on_body(c);
    case S_STAT:
        return on_stat(c);
    case S_DIFF:
        return patch_on_diff(c);
    case S_HUNK:
        return patch_on_hunk(c);
    case S_BINARY:
        return patch_on_binary(c);
    case S_SIG:
        return on_sig(c);
    }
    return patch_err(c, TEMPER_EINTERNAL, "bad parser state");
}

static int run(struct pctx *c)
{
    while (c->pos < c->len) {
        int rc = patch_next_line(c);
        if (rc != TEMPER_OK) {
            return rc;
        }
        do {
            rc = dispatch(c);
        } while (rc == 1);
        if (rc != TEMPER_OK) {
            return rc;
        }
    }
    if (c->state == S_HUNK) {
        return patch_err(c, TEMPER_EFORMAT, "patch ends inside the hunk at line %ld: %ld of %ld "
                    "old and %ld of %ld new lines missing", c->hunk->src_line, c->rem_old,
                    c->hunk_old, c->rem_new, c->hunk_new);
    }
    int rc = c->state == S_HEADERS ? flush_header(c) : TEMPER_OK;
    if (rc == TEMPER_OK) {
        rc = finish_commit(c);
    }
    if (rc == TEMPER_OK && c->commits.n == 0) {
        c->lineno = c->lineno ? c->lineno : 1;
        rc = patch_err(c, TEMPER_EFORMAT, "no commit and no diff in the patch (expected a "
                       "\"From <sha>\" line, mail headers or a \"diff\" line)");
    }
    return rc;
}

static void limits(struct temper_patch_limits *out, const struct temper_patch_limits *in)
{
    memset(out, 0, sizeof *out);
    if (in) {
        size_t n = in->size < sizeof *out ? in->size : sizeof *out;
        memcpy(out, in, n);
    }
    out->size = sizeof *out;
#define DEF(f, v) do { if (out->f == 0) { out->f = (v); } } while (0)
    DEF(max_bytes, TEMPER_PATCH_MAX_BYTES);
    DEF(max_line, TEMPER_PATCH_MAX_LINE);
    DEF(max_commits, TEMPER_PATCH_MAX_COMMITS);
    DEF(max_files, TEMPER_PATCH_MAX_FILES);
    DEF(max_hunks, TEMPER_PATCH_MAX_HUNKS);
    DEF(max_lines, TEMPER_PATCH_MAX_LINES);
#undef DEF
}

static void ctx_cleanup(struct pctx *c)
{
    patch_vec_cleanup(&c->commits);
    patch_vec_cleanup(&c->files);
    patch_vec_cleanup(&c->hunks);
    free(c->hl);
    temper_buf_cleanup(&c->body);
    temper_buf_cleanup(&c->hval);
}

static int parse_into(struct pctx *c, const void *buf, size_t len)
{
    c->buf = patch_arena_alloc(c->a, len + 1);
    if (!c->buf) {
        return temper_fail(c->st, TEMPER_ENOMEM, "%s: out of memory", c->what);
    }
    if (len) {
        memcpy(c->buf, buf, len);
    }
    c->len = len;
    int rc = run(c);
    if (rc != TEMPER_OK) {
        return rc;
    }
    bool ok;
    c->set->pub.n_commits = c->commits.n;
    c->set->pub.commits = patch_vec_finish(&c->commits, c->a, &ok);
    return ok ? TEMPER_OK : patch_oom(c);
}

int temper_patch_parse(struct temper_stage *st, const char *what, const void *buf,
                       size_t len, const struct temper_patch_limits *lim,
                       struct temper_patch_set **out)
{
    struct pctx c;
    memset(&c, 0, sizeof c);
    c.st = st;
    c.what = what && *what ? what : "patch";
    limits(&c.lim, lim);
    if (out) {
        *out = NULL;
    }
    if (!out || (!buf && len)) {
        return temper_fail(st, TEMPER_EINVAL, "%s: bad arguments to the patch parser", c.what);
    }
    if (len > c.lim.max_bytes) {
        return temper_fail(st, TEMPER_ELIMIT, "%s: patch of %zu bytes exceeds the limit of "
                           "%zu bytes", c.what, len, c.lim.max_bytes);
    }
    temper_buf_init(&c.body, c.lim.max_bytes);
    temper_buf_init(&c.hval, HEADER_MAX);
    c.set = calloc(1, sizeof *c.set);
    if (!c.set) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", c.what);
    }
    c.set->pub.size = sizeof c.set->pub;
    c.a = &c.set->arena;
    int rc = parse_into(&c, buf, len);
    ctx_cleanup(&c);
    if (rc != TEMPER_OK) {
        temper_patch_set_free(&c.set->pub);
        return rc;
    }
    *out = &c.set->pub;
    return TEMPER_OK;
}

void temper_patch_set_free(struct temper_patch_set *ps)
{
    if (!ps) {
        return;
    }
    struct set_priv *p = (struct set_priv *)ps;
    patch_arena_free(&p->arena);
    free(p);
}

/* ---- files ------------------------------------------------------------------ */

static int read_fd(struct temper_stage *st, const char *path, int fd, size_t max,
                   struct temper_buf *b)
{
    char chunk[16 * 1024];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return temper_fail(st, TEMPER_EIO, "cannot read %s: %s", path, strerror(errno));
        }
        if (r == 0) {
            return TEMPER_OK;
        }
        if (temper_buf_append(b, chunk, (size_t)r) != TEMPER_OK) {
            return temper_fail(st, TEMPER_ELIMIT, "%s: patch exceeds the limit of %zu bytes",
                               path, max);
        }
    }
}

int temper_patch_parse_file(struct temper_stage *st, const char *path,
                            const struct temper_patch_limits *lim,
                            struct temper_patch_set **out)
{
    struct temper_patch_limits l;
    struct temper_buf b;
    struct stat sb;
    int rc;
    int fd = -1;

    limits(&l, lim);
    temper_buf_init(&b, l.max_bytes);
    if (out) {
        *out = NULL;
    }
    if (!path || !out) {
        return temper_fail(st, TEMPER_EINVAL, "bad arguments to the patch parser");
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return temper_fail(st, errno == ENOENT ? TEMPER_ENOTFOUND : TEMPER_EIO,
                           "cannot open %s: %s", path, strerror(errno));
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = temper_fail(st, TEMPER_EIO, "cannot read %s: not a regular file", path);
        goto out;
    }
    if ((unsigned long long)sb.st_size > l.max_bytes) {
        rc = temper_fail(st, TEMPER_ELIMIT, "%s: patch of %lld bytes exceeds the limit of "
                         "%zu bytes", path, (long long)sb.st_size, l.max_bytes);
        goto out;
    }
    rc = read_fd(st, path, fd, l.max_bytes, &b);
    if (rc == TEMPER_OK) {
        rc = temper_patch_parse(st, path, b.data, b.len, &l, out);
    }
out:
    close(fd);
    temper_buf_cleanup(&b);
    return rc;
}

/* temper — internals of the patch reader/writer (sdk/patch*.c).  Not
 * installed. */
#ifndef TEMPER_SDK_PATCH_INT_H
#define TEMPER_SDK_PATCH_INT_H

#include <temper/patch.h>
#include <stdbool.h>
#include <stddef.h>

/* A bump allocator: everything a parsed set points to lives in one arena and
 * goes away with it.  Allocations are zeroed and aligned for any type. */
struct patch_chunk;
struct patch_arena {
    struct patch_chunk *head;
};

void *patch_arena_alloc(struct patch_arena *a, size_t n);
char *patch_arena_strndup(struct patch_arena *a, const char *s, size_t n);
void patch_arena_free(struct patch_arena *a);

/* A growable array of pointers (malloc), copied into the arena when done. */
struct patch_vec {
    void **v;
    size_t n, cap;
};

int patch_vec_push(struct patch_vec *v, void *p);
/* Copy the pointers into the arena and empty the vector; NULL (with
 * *ok = false) on allocation failure, NULL with *ok = true when empty. */
void *patch_vec_finish(struct patch_vec *v, struct patch_arena *a, bool *ok);
void patch_vec_cleanup(struct patch_vec *v);

/* Parse "@@ -A[,B] +C[,D] @@[ section]".  *section_off is the offset of the
 * section text in line (== len when none).  false when malformed or when a
 * number exceeds PATCH_NUM_MAX. */
#define PATCH_NUM_MAX 1000000000L
bool patch_hunk_header(const char *line, size_t len, long *os, long *oc, long *ns,
                       long *nc, size_t *section_off);

/* "From " followed by 40 or 64 hex digits and a space: the mbox separator
 * git format-patch writes.  *sha_len receives the digit count. */
bool patch_is_from_line(const char *line, size_t len, size_t *sha_len);

/* A path as git writes it in headers: C-quoted when it starts with '"'
 * (escapes \a \b \t \n \v \f \r \" \\ and \ooo), else up to the first TAB
 * (plain diffs put a timestamp there).  *used gets the bytes consumed.
 * Returns an arena string, NULL when malformed or out of memory (*oom says
 * which). */
char *patch_read_path(struct patch_arena *a, const char *s, size_t n, size_t *used,
                      bool *oom);
/* Drop the first path component ("a/x/y" -> "x/y"), as patch -p1 does.
 * Returns a pointer into p. */
const char *patch_strip_p1(const char *p);

/* Header value decoding: RFC 2047 encoded words (B and Q, any charset read
 * as bytes), control characters replaced by '?'.  Arena string or NULL. */
char *patch_decode_words(struct patch_arena *a, const char *s, size_t n);
/* Split "Name <email>" (or a bare address) into a decoded name (NULL when
 * none) and a lower-cased email (NULL when none).  false on allocation
 * failure. */
bool patch_parse_ident(struct patch_arena *a, const char *s, size_t n, const char **name,
                       const char **email);

/* Whether text (len bytes) is a well-formed sequence of hunks; for the
 * writer.  *bad_line gets the 1-based line of the first problem. */
bool patch_hunks_valid(const char *text, size_t len, long *bad_line);

/* Append path C-quoted as git does when it needs quoting, with prefix. */
int patch_put_path(struct temper_buf *b, const char *prefix, const char *path);

/* Trimmed bounds of s[0..n). */
void patch_trim(const char **s, size_t *n);
bool patch_starts(const char *s, size_t n, const char *prefix);

/* ---- the parser's context, shared by patch.c and patch_diff.c ---------- */

#define HEADER_MAX (64 * 1024)
#define HEADERS_PER_MESSAGE 1000

enum pstate { S_START, S_HEADERS, S_BODY, S_STAT, S_DIFF, S_HUNK, S_BINARY, S_SIG };

struct set_priv {
    struct temper_patch_set pub; /* first: the public pointer is this one */
    struct patch_arena arena;
};

struct pctx {
    struct temper_stage *st;
    const char *what;
    struct temper_patch_limits lim;
    struct set_priv *set;
    struct patch_arena *a;
    char *buf;
    size_t len, pos;
    long lineno;
    char *line;     /* current line, NUL-terminated */
    size_t llen;    /* its length, '\r' kept */
    size_t slen;    /* its length without a trailing '\r' (structure lines) */
    enum pstate state;
    struct patch_vec commits, files, hunks;
    struct temper_patch_commit *commit;
    struct temper_patch_file *file;
    struct temper_patch_hunk *hunk;
    struct temper_patch_line *hl; /* lines of the current hunk (malloc) */
    size_t hl_n, hl_cap;
    long rem_old, rem_new, next_old, next_new, hunk_old, hunk_new;
    bool file_in_header;  /* no hunk yet: git extended headers allowed */
    bool inbody;          /* still at the top of the body */
    struct temper_buf body;
    struct temper_buf hval;
    char hname[48];
    bool have_hdr;
    size_t n_headers;
};

int patch_err(struct pctx *c, int rc, const char *fmt, ...) TEMPER_PRINTF(3, 4);
int patch_oom(struct pctx *c);
bool patch_is(const struct pctx *c, const char *prefix);
bool patch_is_exactly(const struct pctx *c, const char *s);
bool patch_next_is(const struct pctx *c, const char *prefix);
int patch_next_line(struct pctx *c);
int patch_new_file(struct pctx *c);
int patch_finish_hunk(struct pctx *c);
/* State handlers of patch_diff.c: TEMPER_OK, an error, or 1 to run the same
 * line through the new state. */
int patch_on_diff(struct pctx *c);
int patch_on_hunk(struct pctx *c);
int patch_on_binary(struct pctx *c);

#endif

/* temper — patches: read and write the mbox of `git format-patch` messages
 * that carries an upstream diff (TEMPER_ART_DIFF) from a tracker to the guard
 * stages, and that `temper scan` reads from files.
 *
 * The format, as git writes it, one message per commit:
 *
 *     From <40 or 64 hex digits> Mon Sep 17 00:00:00 2001
 *     From: Author Name <author@example.org>
 *     Date: Fri, 29 Mar 2024 08:00:00 +0000
 *     Subject: [PATCH 1/2] the first line of the commit message
 *     X-Temper-Committer: Committer Name <committer@example.org>   (optional)
 *     X-Temper-Committer-Date: Fri, 29 Mar 2024 08:05:00 +0000     (optional)
 *     X-Temper-Verified: true|false                                (optional)
 *     X-Temper-Combined: true                                      (optional)
 *
 *     the rest of the commit message
 *     ---
 *      diffstat lines (ignored)
 *
 *     diff --git a/path b/path          git extended headers, ---/+++,
 *     @@ -1,3 +1,4 @@ context           then unified hunks
 *     ...
 *     --
 *     2.39.2
 *
 * Headers may be folded and RFC 2047-encoded (=?UTF-8?q?...?=); an in-body
 * "From:"/"Date:"/"Subject:" block at the top of the message overrides the
 * header, as `git am` does.  The X-Temper-* headers are what a tracker knows
 * beyond git's own output: the committer, the forge's signature check, and
 * `X-Temper-Combined: true` on a message whose diff is the combined diff of
 * every commit of the mbox (the GitHub compare API gives the files of a range,
 * not of each commit: such a tracker writes each commit without a diff and the
 * combined diff in the newest commit's message, marked this way).
 * A mail without the "From <sha>" line (From:/Date:/Subject: first) is read
 * as a commit without a sha, and a bare unified diff (`git diff`, `diff -ruN`)
 * as one commit without metadata.  Text before the first message or diff
 * (hg export headers, `git show` output, notes) is skipped, as patch(1) and
 * git apply do; between files, lines starting with "# " are notes a tracker
 * writes where it has no patch to give, and are skipped too.
 *
 * Every input is hostile: sizes and counts are capped (struct
 * temper_patch_limits), a hunk must hold exactly the lines its header
 * announces, NUL bytes are refused (git never writes them: binary files come
 * as "GIT binary patch" or "Binary files ... differ"), and every error is one
 * line "WHAT:LINE: message" recorded with temper_fail().
 *
 * ABI: the structs below that start with `uint32_t size` may grow at their
 * end (read fields past `size` as absent); they are reached through arrays of
 * pointers so that growing them never moves an element.  struct
 * temper_patch_line is frozen and stored in plain arrays. */
#ifndef TEMPER_PATCH_H
#define TEMPER_PATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <temper/rc.h>
#include <temper/buf.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_stage;

/* Header names of the fields git does not write itself. */
#define TEMPER_PATCH_HDR_COMMITTER "X-Temper-Committer"
#define TEMPER_PATCH_HDR_COMMITTER_DATE "X-Temper-Committer-Date"
#define TEMPER_PATCH_HDR_VERIFIED "X-Temper-Verified"
#define TEMPER_PATCH_HDR_COMBINED "X-Temper-Combined"

/* Defaults taken for limits left at 0. */
#define TEMPER_PATCH_MAX_BYTES (64u * 1024u * 1024u) /* whole mbox */
#define TEMPER_PATCH_MAX_LINE (1024u * 1024u)        /* one line */
#define TEMPER_PATCH_MAX_COMMITS 20000
#define TEMPER_PATCH_MAX_FILES 200000                /* over all commits */
#define TEMPER_PATCH_MAX_HUNKS 1000000               /* over all files */
#define TEMPER_PATCH_MAX_LINES 8000000               /* hunk lines, overall */

struct temper_patch_limits {
    uint32_t size;      /* sizeof(struct temper_patch_limits) */
    size_t max_bytes;
    size_t max_line;
    size_t max_commits;
    size_t max_files;
    size_t max_hunks;
    size_t max_lines;
};

/* One line of a hunk.  Frozen: this struct never changes. */
struct temper_patch_line {
    char op;            /* '+' added, '-' removed, ' ' context */
    bool no_newline;    /* followed by "\ No newline at end of file" */
    long old_no;        /* 1-based line in the old file; 0 for '+' */
    long new_no;        /* 1-based line in the new file; 0 for '-' */
    const char *text;   /* without the op character, NUL-terminated */
    size_t len;         /* bytes of text; a '\r' before the newline is kept */
};

struct temper_patch_hunk {
    uint32_t size;
    long old_start, old_count;  /* from "@@ -old_start,old_count ..." */
    long new_start, new_count;
    const char *section;        /* text after the closing "@@" ("" if none) */
    long src_line;              /* line of the "@@" in the mbox */
    size_t n_lines;
    const struct temper_patch_line *lines;
};

enum temper_patch_status {
    TEMPER_PATCH_MODIFIED = 0,
    TEMPER_PATCH_ADDED = 1,
    TEMPER_PATCH_DELETED = 2,
    TEMPER_PATCH_RENAMED = 3,
    TEMPER_PATCH_COPIED = 4
};

/* "modified", "added", ...; NULL when out of range. */
TEMPER_EXPORT const char *temper_patch_status_str(int status);

struct temper_patch_file {
    uint32_t size;
    const char *old_path;       /* "a/" removed; NULL when added */
    const char *new_path;       /* "b/" removed; NULL when deleted */
    const char *path;           /* new_path, else old_path: never NULL */
    enum temper_patch_status status;
    bool binary;                /* "GIT binary patch" / "Binary files ... differ" */
    long long binary_size;      /* from "literal N" / "delta N"; -1 unknown */
    unsigned old_mode, new_mode; /* octal modes when given, else 0 */
    int similarity;             /* rename/copy similarity %, -1 when absent */
    long src_line;              /* line of the file's first header */
    size_t n_hunks;
    const struct temper_patch_hunk *const *hunks;
};

struct temper_patch_commit {
    uint32_t size;
    const char *sha;            /* from the "From <sha>" line; NULL for a bare diff */
    const char *author_name;    /* NULL when absent */
    const char *author_email;   /* lower-cased; NULL when absent */
    const char *author_date;    /* as written; NULL when absent */
    const char *committer_name; /* X-Temper-Committer, NULL when absent */
    const char *committer_email; /* lower-cased */
    const char *committer_date;
    const char *subject;        /* "[PATCH ...]" removed, unfolded, decoded; "" */
    const char *body;           /* rest of the message, trimmed; "" when none */
    int verified;               /* X-Temper-Verified: 1 true, 0 false, -1 absent */
    bool combined;              /* X-Temper-Combined: files span the whole mbox */
    long src_line;              /* line of the "From <sha>" in the mbox */
    size_t n_files;
    const struct temper_patch_file *const *files;
};

struct temper_patch_set {
    uint32_t size;
    size_t n_commits;
    const struct temper_patch_commit *const *commits;
    size_t n_files, n_hunks, n_lines; /* totals over the set */
};

/* Parse an mbox held in buf[0..len).  `what` names the source in messages
 * (a path, "diff of python/cpython"); NULL reads "patch".  lim may be NULL
 * (all defaults).  On TEMPER_OK *out is a new set (temper_patch_set_free());
 * it does not point into buf.  On error *out is NULL and one line
 * "WHAT:LINE: message" is recorded with temper_fail(st, ...) (st may be NULL):
 *   TEMPER_EFORMAT  malformed input (NUL byte, bad hunk header, a hunk shorter
 *                   or longer than announced, unparsable header, a diff after
 *                   the signature, no commit and no diff at all)
 *   TEMPER_ELIMIT   a limit was hit (size, line length, counts)
 *   TEMPER_EINVAL   bad arguments; TEMPER_ENOMEM. */
TEMPER_EXPORT int temper_patch_parse(struct temper_stage *st, const char *what,
                                     const void *buf, size_t len,
                                     const struct temper_patch_limits *lim,
                                     struct temper_patch_set **out) TEMPER_WARN_UNUSED;

/* The same for a regular file (read against lim->max_bytes); messages start
 * with the path.  TEMPER_ENOTFOUND when it does not exist, TEMPER_EIO when it
 * cannot be read or is not a regular file. */
TEMPER_EXPORT int temper_patch_parse_file(struct temper_stage *st, const char *path,
                                          const struct temper_patch_limits *lim,
                                          struct temper_patch_set **out)
    TEMPER_WARN_UNUSED;

TEMPER_EXPORT void temper_patch_set_free(struct temper_patch_set *ps);

/* ---- writing (trackers, tests) ------------------------------------------ */

/* Append the message head of commit `c` to b: the "From <sha>" line (sha
 * required: 40 or 64 hex digits), From:, Date:, Subject: "[PATCH] ...",
 * the X-Temper-* headers for the fields that are set (committer when its
 * name or email is set, verified when >= 0, combined when true), the body,
 * and the "---" line.  c->files is ignored.  Non-ASCII names and subjects are
 * RFC 2047-encoded; body lines that the parser would read as structure
 * ("---", "-- ", "diff ", "From <sha>", "Index: ") get one leading space so
 * that a commit message can never forge a diff.  A CR or LF in a header
 * field is refused.  TEMPER_EINVAL (no message recorded) on bad fields;
 * TEMPER_ELIMIT / TEMPER_ENOMEM from the buffer. */
TEMPER_EXPORT int temper_patch_write_commit(struct temper_buf *b,
                                            const struct temper_patch_commit *c)
    TEMPER_WARN_UNUSED;

/* Append one file's diff: "diff --git", the mode / new / deleted / rename /
 * copy lines that f's status calls for, "Binary files ... differ" when
 * f->binary, else "---"/"+++" and `hunks` (unified hunks starting at "@@",
 * like the GitHub API's `patch` field; NULL or "" for none).  f->hunks is
 * ignored.  `hunks` is checked the way the parser reads it (each hunk holds
 * exactly the lines its header announces): TEMPER_EFORMAT when it does not,
 * so that a tracker never writes an mbox the guard refuses.  Paths with
 * special characters are C-quoted as git does. */
TEMPER_EXPORT int temper_patch_write_file(struct temper_buf *b,
                                          const struct temper_patch_file *f,
                                          const char *hunks) TEMPER_WARN_UNUSED;

/* Append the "-- " signature that ends a message. */
TEMPER_EXPORT int temper_patch_write_end(struct temper_buf *b) TEMPER_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif

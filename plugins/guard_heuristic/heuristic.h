/* guard_heuristic — internal interfaces shared by the plugin's files.
 *
 * The review walks every commit, file and hunk of the diff (sdk patch
 * reader).  Each hunk is turned into a view of its lines with the code part
 * of each line (comments stripped by the file's language, whitespace
 * collapsed) and handed to the rule families:
 *   heuristic_checks.c    inverted error checks, removed checks, swallowed
 *                         failures, unchecked security calls, jumps over checks
 *   heuristic_resources.c releases removed, use after free, leaks on error paths
 *   heuristic_supply.c    obfuscation, decode-and-run, curl | sh, CI secrets,
 *                         disabled verification
 *   heuristic_people.c    contributor activity over the whole diff
 * Findings are collected first (so that contributor rules can see the other
 * findings of a commit), then recorded on the stage and turned into the
 * verdict by guard_heuristic.c. */
#ifndef GUARD_HEURISTIC_H
#define GUARD_HEURISTIC_H

#include <temper/temper.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- rules -------------------------------------------------------------- */

enum rule_id {
    R_INVERTED_CHECK,
    R_CHECK_REMOVED,
    R_FAILURE_SWALLOWED,
    R_UNCHECKED_CALL,
    R_JUMP_SKIPS_CHECKS,
    R_VERIFY_DISABLED,
    R_RELEASE_REMOVED,
    R_USE_AFTER_FREE,
    R_LEAK_ON_ERROR,
    R_OBFUSCATED_BLOB,
    R_DECODE_EXEC,
    R_CURL_PIPE_SHELL,
    R_CI_SECRET,
    R_NEW_CONTRIBUTOR,
    R_BINARY_WITH_BUILD,
    R_UNVERIFIED,
    R_COMMITTER_MISMATCH,
    R_COUNT
};

struct rule_info {
    const char *id;
    const char *doc;
};

extern const struct rule_info heur_rules[R_COUNT];
/* Rule index for an id, -1 when unknown. */
int heur_rule_find(const char *id);

/* ---- languages and roles of a path --------------------------------------- */

enum lang {
    L_OTHER = 0,
    L_C,        /* C, C++, Objective-C */
    L_GO,
    L_PY,
    L_SH,       /* shell scripts, Dockerfiles */
    L_JS,       /* JavaScript, TypeScript */
    L_CMAKE,
    L_M4,       /* autoconf/m4: configure.ac, *.m4 */
    L_MAKE,     /* Makefile, *.mk, Makefile.am/.in */
    L_YAML,     /* CI workflows and other YAML */
    L_DOC       /* prose: Markdown, reST, text, man pages */
};

enum role {
    ROLE_BUILD = 1u << 0,    /* build scripts, autotools, CMake, packaging */
    ROLE_CI = 1u << 1,       /* CI workflows */
    ROLE_RELEASE = 1u << 2,  /* release and signing tooling */
    ROLE_TEST = 1u << 3,     /* under a test directory */
    ROLE_DOC = 1u << 4,
    ROLE_LOCK = 1u << 5      /* lock files, checksums: blobs expected */
};

enum lang heur_lang(const char *path);
unsigned heur_roles(const char *path);
const char *heur_lang_name(enum lang l);
/* Languages whose lines run as shell commands (sh, make recipes, m4, CI). */
bool heur_shellish(enum lang l);
/* Languages with C-like statements (C, Go, JS). */
bool heur_clike(enum lang l);

/* ---- the view of one hunk ------------------------------------------------- */

struct hline {
    char op;             /* '+', '-', ' ' */
    long new_no;         /* 0 for '-' */
    long old_no;
    const char *raw;     /* the line as in the patch, without the op */
    size_t raw_len;
    const char *code;    /* comment-free, trimmed, spaces collapsed ("" if none) */
    int indent;          /* columns of leading white space (tab = 8) */
};

struct hunkview {
    struct hline *v;
    size_t n;
    char *pool;          /* storage of the code strings */
};

int heur_view_build(struct hunkview *hv, const struct temper_patch_hunk *h, enum lang l);

/* Rules relate a line to lines near it, never to a whole hunk (a rewritten
 * file is one hunk of 100k lines): [*lo, *hi) is the window of w lines on
 * each side of line i. */
#define HEUR_NEAR 200
#define HEUR_CLOSE 50
static inline void heur_near(const struct hunkview *hv, size_t i, size_t w, size_t *lo,
                             size_t *hi)
{
    *lo = i > w ? i - w : 0;
    *hi = hv->n - i > w ? i + w + 1 : hv->n;
}
void heur_view_free(struct hunkview *hv);
/* New-file line to report for line i: its own, or the nearest new-side line. */
long heur_view_line_no(const struct hunkview *hv, size_t i);

/* ---- text helpers (heuristic_text.c) ------------------------------------ */

/* `word` in s with identifier boundaries on both sides. */
bool heur_has_word(const char *s, const char *word);
/* Any of the NULL-terminated words, as heur_has_word(). */
bool heur_any_word(const char *s, const char *const *words);
/* Case-insensitive substring. */
bool heur_icontains(const char *s, const char *needle);
/* A call "name(" with an identifier boundary before name; returns the
 * position of name or NULL. */
const char *heur_find_call(const char *s, const char *name);
/* A sub-word (snake_case / camelCase split, lower-cased) of an identifier of
 * s is in the NULL-terminated list. */
bool heur_has_subword(const char *s, const char *const *list);
/* Any identifier of s looks security-relevant (verify, auth, sig, cert...). */
bool heur_security_word(const char *s);
/* Any identifier of s looks like an error or return value (rc, err, ...). */
bool heur_error_word(const char *s);
bool heur_starts(const char *s, const char *prefix);
bool heur_ends(const char *s, const char *suffix);
/* The line is a conditional: if/elif/while/unless/assert/[ ]/&&/||/?:. */
bool heur_is_condition(const char *code);
/* Copy of s with identifiers replaced by "I" and numbers by "N" (shape). */
char *heur_shape(const char *s);

/* Tokens of a line (identifiers, numbers, strings, operators). */
#define HEUR_MAX_TOKENS 96
struct tokens {
    size_t n;
    struct {
        const char *p;
        size_t len;
    } t[HEUR_MAX_TOKENS];
};
/* false when the line has more tokens than fit. */
bool heur_tokenize(const char *s, struct tokens *out);
bool heur_tok_is(const struct tokens *t, size_t i, const char *s);

/* ---- findings -------------------------------------------------------------- */

struct hfinding {
    enum rule_id rule;
    enum temper_severity sev;
    int confidence;
    char *file;
    long line;
    char *commit;
    char *message;
    char *evidence;
};

/* The option block and the per-instance state. */
struct heur_conf {
    int block_at;
    long long min_confidence;
    unsigned long long max_patch_size;
    struct temper_strlist enable;
    struct temper_strlist disable;
    char *known_authors_file;
    bool learn_authors;
};

struct heur_state {
    const struct heur_conf *conf;
    bool enabled[R_COUNT];
    struct authors *file_authors;
};

struct fileviews;

/* Everything a rule sees. */
struct hctx {
    struct temper_stage *st;
    const struct heur_conf *conf;
    bool enabled[R_COUNT];
    const struct temper_patch_set *set;
    const struct temper_patch_commit *commit;
    const struct temper_patch_file *file;
    enum lang lang;
    unsigned roles;
    const struct temper_patch_hunk *hunk;
    const struct hunkview *hv;
    struct fileviews *fv;  /* every hunk of the current file */
    /* collected findings */
    struct hfinding *f;
    size_t nf, capf;
    size_t dropped;      /* over the cap */
    size_t dropped_blocking; /* of which at or above the blocking bar */
    int block_at;        /* enum temper_severity */
    int min_conf;
    int rc;              /* first internal error (ENOMEM) */
};

/* Record a finding at view line i of the current hunk (i == SIZE_MAX: the
 * file itself).  evidence: NULL = that line's text. */
void heur_add(struct hctx *cx, enum rule_id r, enum temper_severity sev, int conf,
              size_t i, const char *evidence, const char *fmt, ...) TEMPER_PRINTF(7, 8);
/* Record a finding not tied to a hunk line. */
void heur_add_at(struct hctx *cx, enum rule_id r, enum temper_severity sev, int conf,
                 const char *file, long line, const char *commit, const char *evidence,
                 const char *fmt, ...) TEMPER_PRINTF(9, 10);
/* Whether the current commit already has a finding of rule r at >= sev. */
bool heur_commit_has(const struct hctx *cx, const char *sha, enum rule_id r,
                     enum temper_severity sev);

/* Run the per-hunk rule families over every file of cx->set. */
int heur_walk(struct hctx *cx);
void heur_findings_free(struct hctx *cx);

/* ---- rule families: per hunk ------------------------------------------------- */

void heur_rules_checks(struct hctx *cx);
void heur_rules_failures(struct hctx *cx);
void heur_rules_jumps(struct hctx *cx);
void heur_rules_resources(struct hctx *cx);
void heur_rules_supply(struct hctx *cx);
/* once per file: releases removed in one hunk and re-added in another */
bool heur_file_adds_line(struct hctx *cx, const char *code);
bool heur_file_adds_shape(struct hctx *cx, const char *shape);

/* ---- contributors (heuristic_people.c) ---------------------------------------- */

struct authors; /* a set of lower-cased emails */
struct authors *heur_authors_new(void);
void heur_authors_free(struct authors *a);
bool heur_authors_has(const struct authors *a, const char *email);
size_t heur_authors_count(const struct authors *a);
int heur_authors_add(struct authors *a, const char *email);
/* Lines of "email" or "Name <email>", '#' comments. */
int heur_authors_parse(struct authors *a, const char *text);
/* Newline-separated emails (free()). */
char *heur_authors_dump(const struct authors *a);

/* Contributor rules over the whole diff; `known` may be empty (no history). */
void heur_rules_people(struct hctx *cx, const struct authors *known, bool have_history);

/* ---- the review (heuristic_verdict.c) ----------------------------------------- */

int heur_review(void *state, struct temper_stage *st, const struct temper_artifact *change,
                const struct temper_artifact *diff, enum temper_verdict *verdict);

#endif

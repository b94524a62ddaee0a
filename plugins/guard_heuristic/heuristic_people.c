/* guard_heuristic — who changed what: first-time contributors touching build,
 * CI or release files, binary test files arriving with build-script changes
 * (the xz-utils 5.6.0 pattern), unverified commits and author/committer
 * mismatches on such changes; and the set of known authors. */
#include "heuristic.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTHORS_MAX 50000
#define EMAIL_MAX 320
#define SENSITIVE (ROLE_BUILD | ROLE_CI | ROLE_RELEASE)

/* ---- the set of known authors (sorted, lower-cased emails) ------------------ */

struct authors {
    char **v;
    size_t n, cap;
};

struct authors *heur_authors_new(void)
{
    return calloc(1, sizeof(struct authors));
}

void heur_authors_free(struct authors *a)
{
    if (!a) {
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i]);
    }
    free(a->v);
    free(a);
}

static size_t lower_bound(const struct authors *a, const char *email, bool *found)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a->v[mid], email);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

bool heur_authors_has(const struct authors *a, const char *email)
{
    bool found = false;
    if (a && email) {
        (void)lower_bound(a, email, &found);
    }
    return found;
}

size_t heur_authors_count(const struct authors *a)
{
    return a ? a->n : 0;
}

int heur_authors_add(struct authors *a, const char *email)
{
    char buf[EMAIL_MAX + 1];
    size_t n = strlen(email);
    if (n == 0 || n > EMAIL_MAX || strpbrk(email, " \t\r\n<>")) {
        return TEMPER_EINVAL;
    }
    for (size_t i = 0; i <= n; i++) {
        buf[i] = (char)tolower((unsigned char)email[i]);
    }
    bool found = false;
    size_t at = lower_bound(a, buf, &found);
    if (found) {
        return TEMPER_OK;
    }
    if (a->n >= AUTHORS_MAX) {
        return TEMPER_ELIMIT;
    }
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 32;
        char **v = realloc(a->v, ncap * sizeof *v);
        if (!v) {
            return TEMPER_ENOMEM;
        }
        a->v = v;
        a->cap = ncap;
    }
    char *copy = strdup(buf);
    if (!copy) {
        return TEMPER_ENOMEM;
    }
    memmove(a->v + at + 1, a->v + at, (a->n - at) * sizeof *a->v);
    a->v[at] = copy;
    a->n++;
    return TEMPER_OK;
}

/* One line: "email", "Name <email>", blank or "# comment". */
static int parse_author_line(struct authors *a, const char *s, size_t n)
{
    char buf[EMAIL_MAX + 1];
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    if (n == 0 || *s == '#') {
        return TEMPER_OK;
    }
    const char *lt = memchr(s, '<', n);
    const char *gt = lt ? memchr(lt, '>', n - (size_t)(lt - s)) : NULL;
    if (lt && gt) {
        s = lt + 1;
        n = (size_t)(gt - s);
    }
    if (n == 0 || n > EMAIL_MAX) {
        return TEMPER_EINVAL;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return heur_authors_add(a, buf);
}

int heur_authors_parse(struct authors *a, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        int rc = parse_author_line(a, p, n);
        if (rc != TEMPER_OK) {
            return rc;
        }
        p += nl ? n + 1 : n;
    }
    return TEMPER_OK;
}

char *heur_authors_dump(const struct authors *a)
{
    struct temper_buf b;
    temper_buf_init(&b, 0);
    for (size_t i = 0; a && i < a->n; i++) {
        if (temper_buf_printf(&b, "%s\n", a->v[i]) != TEMPER_OK) {
            temper_buf_cleanup(&b);
            return NULL;
        }
    }
    return temper_buf_take(&b, NULL);
}

/* ---- what a commit touches ----------------------------------------------------------- */

struct touch {
    unsigned roles;            /* of files with changed content */
    const char *first;         /* first build/CI/release path */
    const char *first_binary;  /* first binary file added or changed under a test dir */
    size_t binaries;
};

static void touched(const struct temper_patch_commit *c, struct touch *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < c->n_files; i++) {
        const struct temper_patch_file *f = c->files[i];
        unsigned r = heur_roles(f->path);
        t->roles |= r;
        if ((r & SENSITIVE) && !t->first) {
            t->first = f->path;
        }
        if (f->binary && f->status != TEMPER_PATCH_DELETED && (r & ROLE_TEST)) {
            t->binaries++;
            t->first_binary = t->first_binary ? t->first_binary : f->path;
        }
    }
}

static bool first_time(const struct authors *known, bool have_history, const char *email)
{
    return have_history && email && !heur_authors_has(known, email);
}

/* The commit's author is a newcomer; for a combined diff, any author of
 * the set (`any`, computed once by the caller). */
static bool newcomer_in(const struct temper_patch_commit *c, const struct authors *known,
                        bool have_history, bool any)
{
    return c->combined ? any : first_time(known, have_history, c->author_email);
}

static bool risky_commit(const struct hctx *cx, const char *sha)
{
    static const enum rule_id risky[] = { R_DECODE_EXEC, R_OBFUSCATED_BLOB, R_CURL_PIPE_SHELL,
                                          R_CI_SECRET, R_VERIFY_DISABLED, R_FAILURE_SWALLOWED,
                                          R_INVERTED_CHECK, R_CHECK_REMOVED, R_JUMP_SKIPS_CHECKS };
    for (size_t i = 0; i < sizeof risky / sizeof risky[0]; i++) {
        if (heur_commit_has(cx, sha, risky[i], TEMPER_SEV_MEDIUM)) {
            return true;
        }
    }
    return false;
}

static void newcomer_rule(struct hctx *cx, const struct temper_patch_commit *c,
                          const struct touch *t, bool binaries_in_set)
{
    char ev[512];
    snprintf(ev, sizeof ev, "author %.100s <%.200s> changed %.150s", c->author_name ?
             c->author_name : "?", c->author_email ? c->author_email : "?", t->first);
    bool risky = risky_commit(cx, c->sha) || binaries_in_set || c->verified == 0;
    heur_add_at(cx, R_NEW_CONTRIBUTOR, risky ? TEMPER_SEV_HIGH : TEMPER_SEV_MEDIUM,
                risky ? 70 : 60, t->first, 0, c->sha, ev,
                "a first-time contributor changed build, CI or release files%s",
                risky ? " together with other risk signals" : "");
}

static bool github_web(const char *email)
{
    return email && (strcmp(email, "noreply@github.com") == 0 ||
                     heur_ends(email, "@users.noreply.github.com"));
}

static void commit_rules(struct hctx *cx, const struct temper_patch_commit *c,
                         const struct authors *known, bool have_history, bool binaries,
                         bool any_newcomer)
{
    struct touch t;
    touched(c, &t);
    if (!(t.roles & SENSITIVE)) {
        return;
    }
    if (cx->enabled[R_NEW_CONTRIBUTOR] && newcomer_in(c, known, have_history, any_newcomer)) {
        newcomer_rule(cx, c, &t, binaries);
    }
    if (cx->enabled[R_UNVERIFIED] && c->verified == 0) {
        heur_add_at(cx, R_UNVERIFIED, TEMPER_SEV_LOW, 40, t.first, 0, c->sha, c->subject,
                    "an unverified commit changed build, CI or release files");
    }
    if (cx->enabled[R_COMMITTER_MISMATCH] && c->committer_email && c->author_email &&
        strcmp(c->committer_email, c->author_email) != 0 && !github_web(c->committer_email)) {
        char ev[400];
        snprintf(ev, sizeof ev, "author <%.180s>, committer <%.180s>", c->author_email,
                 c->committer_email);
        heur_add_at(cx, R_COMMITTER_MISMATCH, TEMPER_SEV_LOW, 40, t.first, 0, c->sha, ev,
                    "the committer of a build, CI or release change is not its author");
    }
}

/* ---- binary test files with build changes ---------------------------------------------- */

/* Added build lines that reach into test data or unpack bytes. */
static bool build_reads_test_data(const struct temper_patch_set *set)
{
    static const char *const pats[] = { "tests/", "testdata", "grep -a", "head -c", "tail -c",
                                        "| tr ", "tr \"", "xz -d", "xz -dc", "$srcdir/", "dd ",
                                        "od -", NULL };
    for (size_t c = 0; c < set->n_commits; c++) {
        for (size_t i = 0; i < set->commits[c]->n_files; i++) {
            const struct temper_patch_file *f = set->commits[c]->files[i];
            if (!(heur_roles(f->path) & ROLE_BUILD)) {
                continue;
            }
            for (size_t h = 0; h < f->n_hunks; h++) {
                for (size_t l = 0; l < f->hunks[h]->n_lines; l++) {
                    const struct temper_patch_line *pl = &f->hunks[h]->lines[l];
                    for (size_t p = 0; pl->op == '+' && pats[p]; p++) {
                        if (strstr(pl->text, pats[p])) {
                            return true;
                        }
                    }
                }
            }
        }
    }
    return false;
}

static void binary_build_rule(struct hctx *cx, const struct temper_patch_commit *bin_c,
                              const struct touch *bin_t, const struct temper_patch_commit *build_c,
                              const struct touch *build_t, bool newcomer)
{
    char ev[512];
    bool signals = newcomer || build_reads_test_data(cx->set) ||
                   heur_commit_has(cx, build_c->sha, R_DECODE_EXEC, TEMPER_SEV_HIGH) ||
                   heur_commit_has(cx, build_c->sha, R_OBFUSCATED_BLOB, TEMPER_SEV_MEDIUM);
    snprintf(ev, sizeof ev, "%zu binary test file(s), first %.200s; build change in %.200s",
             bin_t->binaries, bin_t->first_binary, build_t->first);
    heur_add_at(cx, R_BINARY_WITH_BUILD, signals ? TEMPER_SEV_HIGH : TEMPER_SEV_MEDIUM,
                signals ? 80 : 55, build_t->first, 0, bin_c->sha, ev,
                "binary test files arrive together with build-script changes%s",
                signals ? " that read test data, unpack bytes or come from a newcomer" : "");
}

void heur_rules_people(struct hctx *cx, const struct authors *known, bool have_history)
{
    const struct temper_patch_commit *bin_c = NULL, *build_c = NULL;
    struct touch bin_t, build_t, t;
    bool newcomer = false, any = false;
    memset(&bin_t, 0, sizeof bin_t);
    memset(&build_t, 0, sizeof build_t);
    for (size_t i = 0; i < cx->set->n_commits && !any; i++) {
        any = first_time(known, have_history, cx->set->commits[i]->author_email);
    }
    for (size_t i = 0; i < cx->set->n_commits; i++) {
        const struct temper_patch_commit *c = cx->set->commits[i];
        touched(c, &t);
        if (t.binaries && !bin_c) {
            bin_c = c;
            bin_t = t;
        }
        if ((t.roles & ROLE_BUILD) && !build_c) {
            build_c = c;
            build_t = t;
        }
        newcomer = newcomer || ((t.binaries || (t.roles & ROLE_BUILD)) &&
                                newcomer_in(c, known, have_history, any));
    }
    for (size_t i = 0; i < cx->set->n_commits; i++) {
        commit_rules(cx, cx->set->commits[i], known, have_history, bin_c != NULL, any);
    }
    if (cx->enabled[R_BINARY_WITH_BUILD] && bin_c && build_c) {
        binary_build_rule(cx, bin_c, &bin_t, build_c, &build_t, newcomer);
    }
}

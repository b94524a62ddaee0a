/* guard_heuristic — error-handling rules on one hunk: inverted error checks,
 * checks and error exits removed, failures swallowed. */
#include "heuristic.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- inverted checks -------------------------------------------------------- */

static const char *const flip_pairs[][2] = {
    { "<", ">=" }, { ">", "<=" }, { "==", "!=" }, { "===", "!==" }, { "eq", "ne" },
    { "lt", "ge" }, { "gt", "le" }, { "true", "false" }, { "True", "False" },
    { "TRUE", "FALSE" }, { "=", "!=" }, { "is", "isnt" }, { "-z", "-n" },
};

static bool tok_eq(const struct tokens *a, size_t i, const struct tokens *b, size_t j)
{
    return a->t[i].len == b->t[j].len && memcmp(a->t[i].p, b->t[j].p, a->t[i].len) == 0;
}

static bool is_flip(const struct tokens *a, size_t i, const struct tokens *b, size_t j)
{
    for (size_t k = 0; k < sizeof flip_pairs / sizeof flip_pairs[0]; k++) {
        if ((heur_tok_is(a, i, flip_pairs[k][0]) && heur_tok_is(b, j, flip_pairs[k][1])) ||
            (heur_tok_is(a, i, flip_pairs[k][1]) && heur_tok_is(b, j, flip_pairs[k][0]))) {
            return true;
        }
    }
    return false;
}

/* One extra "!" or "not" in the longer sequence, the rest equal. */
static bool extra_negation(const struct tokens *lo, const struct tokens *sh)
{
    size_t j = 0;
    bool skipped = false;
    for (size_t i = 0; i < lo->n; i++) {
        if (j < sh->n && tok_eq(lo, i, sh, j)) {
            j++;
            continue;
        }
        if (skipped || !(heur_tok_is(lo, i, "!") || heur_tok_is(lo, i, "not"))) {
            return false;
        }
        skipped = true;
    }
    return skipped && j == sh->n;
}

/* Whether added line `a` is the removed line (tokens tr) with its condition
 * inverted. */
static bool inverted(const struct tokens *tr, const char *a)
{
    struct tokens ta;
    if (tr->n == 0 || !heur_tokenize(a, &ta) || (ta.n + 1 < tr->n || ta.n > tr->n + 1)) {
        return false;
    }
    if (tr->n == ta.n) {
        size_t diff = 0, at = 0;
        for (size_t i = 0; i < tr->n && diff < 2; i++) {
            if (!tok_eq(tr, i, &ta, i)) {
                diff++;
                at = i;
            }
        }
        return diff == 1 && is_flip(tr, at, &ta, at);
    }
    if (tr->n == ta.n + 1) {
        return extra_negation(tr, &ta);
    }
    if (ta.n == tr->n + 1) {
        return extra_negation(&ta, tr);
    }
    return false;
}

static bool compares_error_value(const char *code)
{
    static const char *const pats[] = { "< 0", "<0", ">= 0", ">=0", "-1", "NULL", "nil",
                                        "None", "$?", "!= 0", "== 0", "!=0", "==0", NULL };
    for (size_t i = 0; pats[i]; i++) {
        if (strstr(code, pats[i])) {
            return true;
        }
    }
    return false;
}

/* Braces, else, fi...: lines that only carry structure. */
static bool trivial(const char *code)
{
    static const char *const words[] = { "else", "then", "fi", "end", "do", "done", "try",
                                         "finally", NULL };
    const char *p = code;
    while (*p && strchr("{}();: ", *p)) {
        p++;
    }
    if (!*p) {
        return true;
    }
    for (size_t i = 0; words[i]; i++) {
        size_t n = strlen(words[i]);
        if (strncmp(p, words[i], n) == 0) {
            const char *q = p + n;
            while (*q && strchr("{}();: ", *q)) {
                q++;
            }
            if (!*q) {
                return true;
            }
        }
    }
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Lines of side `op` (minus `skip`) near `skip` that carry code, in order;
 * caller frees. */
static const char **side_lines(const struct hunkview *hv, char op, size_t skip, size_t *n)
{
    size_t lo, hi;
    heur_near(hv, skip, HEUR_CLOSE, &lo, &hi);
    const char **v = calloc(hi - lo + 1, sizeof *v);
    *n = 0;
    for (size_t i = lo; v && i < hi; i++) {
        if (hv->v[i].op == op && i != skip && !trivial(hv->v[i].code)) {
            v[(*n)++] = hv->v[i].code;
        }
    }
    return v;
}

static bool exit_stmt(const char *code)
{
    return heur_starts(code, "return") || heur_starts(code, "continue") ||
           heur_starts(code, "break") || heur_starts(code, "goto ");
}

/* Sorted copies equal; with `guard` the added side may hold one extra exit
 * statement (an "if (!x) return;" guard clause replacing an if block). */
static bool same_lines(const char **vr, size_t nr, const char **va, size_t na, bool guard)
{
    qsort(vr, nr, sizeof *vr, cmp_str);
    qsort(va, na, sizeof *va, cmp_str);
    size_t i = 0, j = 0;
    bool extra = false;
    while (i < nr || j < na) {
        if (i < nr && j < na && strcmp(vr[i], va[j]) == 0) {
            i++;
            j++;
        } else if (guard && !extra && j < na && exit_stmt(va[j])) {
            extra = true;
            j++;
        } else {
            return false;
        }
    }
    return !guard || extra;
}

/* The branches were swapped around the inverted condition (the other lines
 * of the hunk are the same lines in a different order), or the if block
 * became a guard clause. */
static bool branches_swapped(const struct hunkview *hv, size_t r, size_t a)
{
    size_t nr = 0, na = 0;
    const char **vr = side_lines(hv, '-', r, &nr);
    const char **va = side_lines(hv, '+', a, &na);
    bool swapped = false;
    if (vr && va && nr > 0 && nr == na) {
        bool same_order = true;
        for (size_t i = 0; i < nr; i++) {
            same_order = same_order && strcmp(vr[i], va[i]) == 0;
        }
        swapped = !same_order && same_lines(vr, nr, va, na, false);
    } else if (vr && va && na == nr + 1) {
        swapped = same_lines(vr, nr, va, na, true);
    }
    free(vr);
    free(va);
    return swapped;
}

/* The statement under the added condition is an old line (context): only
 * the condition changed.  When the body was rewritten as well, the change is
 * a rewrite of the block rather than a flipped check. */
static bool body_kept(const struct hunkview *hv, size_t a)
{
    for (size_t k = a + 1; k < hv->n && k <= a + HEUR_CLOSE; k++) {
        if (hv->v[k].op == '-' || trivial(hv->v[k].code)) {
            continue;
        }
        return hv->v[k].op == ' ';
    }
    return true;
}

static void report_inversion(struct hctx *cx, size_t r, size_t a)
{
    const struct hunkview *hv = cx->hv;
    const char *rc = hv->v[r].code, *ac = hv->v[a].code;
    char ev[600];
    snprintf(ev, sizeof ev, "-%.290s\n+%.290s", hv->v[r].raw, hv->v[a].raw);
    if (!body_kept(hv, a)) {
        heur_add(cx, R_INVERTED_CHECK, TEMPER_SEV_MEDIUM, 40, a, ev,
                 "a condition was inverted while the code under it was rewritten");
    } else if (heur_security_word(ac)) {
        heur_add(cx, R_INVERTED_CHECK, TEMPER_SEV_HIGH, 85, a, ev,
                 "a condition on a security check was inverted without swapping its branches");
    } else if (heur_error_word(ac) || compares_error_value(ac) || compares_error_value(rc)) {
        heur_add(cx, R_INVERTED_CHECK, TEMPER_SEV_HIGH, 75, a, ev,
                 "a condition on an error or return value was inverted without swapping "
                 "its branches");
    } else {
        heur_add(cx, R_INVERTED_CHECK, TEMPER_SEV_MEDIUM, 40, a, ev,
                 "a condition was inverted without swapping its branches");
    }
}

/* Marks used[] for the lines that form an inverted pair. */
static void rule_inverted(struct hctx *cx, bool *used)
{
    const struct hunkview *hv = cx->hv;
    for (size_t r = 0; r < hv->n; r++) {
        const char *rc = hv->v[r].code;
        if (hv->v[r].op != '-' || !*rc) {
            continue;
        }
        struct tokens tr;
        bool cond = (heur_is_condition(rc) || heur_starts(rc, "return")) &&
                    heur_tokenize(rc, &tr);
        for (size_t a = r + 1; cond && a < hv->n && a <= r + HEUR_NEAR && hv->v[a].op != ' ';
             a++) {
            if (hv->v[a].op != '+' || used[a] || !inverted(&tr, hv->v[a].code)) {
                continue;
            }
            used[r] = used[a] = true;
            if (!branches_swapped(hv, r, a)) {
                report_inversion(cx, r, a);
            }
            break;
        }
    }
}

/* ---- checks and error exits removed ---------------------------------------- */

static bool is_keyword(const char *s, size_t n)
{
    static const char *const kw[] = { "if", "elif", "else", "while", "not", "and", "or",
                                      "nil", "NULL", "None", "null", "true", "false",
                                      "return", "unless", "is", "in", "test", "then", NULL };
    for (size_t i = 0; kw[i]; i++) {
        if (strlen(kw[i]) == n && strncmp(kw[i], s, n) == 0) {
            return true;
        }
    }
    return false;
}

#define MAX_IDS 8

/* Identifiers of a condition that name an error, a result or a security
 * decision (rc, err, ok, verified...), copied into ids. */
static size_t cond_idents(const char *code, char ids[][64])
{
    struct tokens t;
    size_t n = 0;
    if (!heur_tokenize(code, &t)) {
        return 0;
    }
    for (size_t i = 0; i < t.n && n < MAX_IDS; i++) {
        unsigned char c = (unsigned char)t.t[i].p[0];
        if (!(isalpha(c) || c == '_') || t.t[i].len >= 64 ||
            is_keyword(t.t[i].p, t.t[i].len)) {
            continue;
        }
        memcpy(ids[n], t.t[i].p, t.t[i].len);
        ids[n][t.t[i].len] = '\0';
        bool call = i + 1 < t.n && heur_tok_is(&t, i + 1, "(");
        if (!call && (heur_error_word(ids[n]) || heur_security_word(ids[n]))) {
            n++;
        }
    }
    return n;
}

/* `code` assigns id: "id = x", "id := x", "a, id := x", "id, err = x". */
static bool assigns(const char *code, const char *id)
{
    size_t k = strlen(id);
    for (const char *p = code; (p = strstr(p, id)) != NULL; p += k) {
        if ((p > code && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '.' ||
                          p[-1] == '>')) || isalnum((unsigned char)p[k]) || p[k] == '_') {
            continue;
        }
        const char *q = p + k;
        while (*q == ' ') {
            q++;
        }
        if ((q[0] == '=' && q[1] != '=') || (q[0] == ':' && q[1] == '=')) {
            return true;
        }
        if (*q == ',') {
            const char *eq = strpbrk(q, "=(");
            if (eq && *eq == '=' && eq[1] != '=' && eq[-1] != '!' && eq[-1] != '<' &&
                eq[-1] != '>') {
                return true;
            }
        }
    }
    return false;
}

/* An added line hands the value on or checks it another way. */
static bool hands_on(const char *code)
{
    return heur_starts(code, "return") || heur_is_condition(code) ||
           heur_icontains(code, "check") || heur_has_word(code, "raise") ||
           heur_has_word(code, "throw") || heur_has_word(code, "panic") ||
           heur_icontains(code, "must") || heur_icontains(code, "require") ||
           heur_icontains(code, "assert");
}

/* Whether a result the removed condition at i checked is still computed
 * (assigned on a kept line just before it) and nothing checks it now. */
static bool result_unchecked(const struct hunkview *hv, size_t i, const char *code)
{
    char ids[MAX_IDS][64];
    size_t n = cond_idents(code, ids);
    for (size_t j = 0; j < n; j++) {
        bool computed = false, checked = false;
        for (size_t k = i, seen = 0; k-- > 0 && seen < 15 && !computed; seen++) {
            computed = hv->v[k].op != '-' && assigns(hv->v[k].code, ids[j]);
        }
        size_t lo, hi;
        heur_near(hv, i, HEUR_NEAR, &lo, &hi);
        for (size_t k = lo; computed && k < hi && !checked; k++) {
            const struct hline *l = &hv->v[k];
            checked = l->op != '-' && heur_has_word(l->code, ids[j]) &&
                      (heur_is_condition(l->code) || (l->op == '+' && hands_on(l->code)));
        }
        if (computed && !checked) {
            return true;
        }
    }
    return false;
}

/* "if (f(x) != 0) ..." became a bare "f(x);" on an added line near i. */
static bool call_stripped(const struct hunkview *hv, size_t at, const char *code)
{
    static const char *const ifs[] = { "if ", "if(", "elif ", "else if", "} else if",
                                       "unless ", NULL };
    struct tokens t;
    bool is_if = false;
    for (size_t i = 0; ifs[i] && !is_if; i++) {
        is_if = heur_starts(code, ifs[i]);
    }
    if (!is_if || !heur_tokenize(code, &t)) {
        return false;
    }
    for (size_t i = 0; i + 1 < t.n; i++) {
        char name[64], pat[80];
        if (!heur_tok_is(&t, i + 1, "(") || t.t[i].len >= sizeof name ||
            !(isalpha((unsigned char)t.t[i].p[0]) || t.t[i].p[0] == '_') ||
            is_keyword(t.t[i].p, t.t[i].len)) {
            continue;
        }
        memcpy(name, t.t[i].p, t.t[i].len);
        name[t.t[i].len] = '\0';
        snprintf(pat, sizeof pat, "%s(", name);
        size_t lo, hi;
        heur_near(hv, at, HEUR_NEAR, &lo, &hi);
        for (size_t k = lo; k < hi; k++) {
            const char *c = hv->v[k].code;
            if (hv->v[k].op == '+' && (heur_starts(c, pat) || (heur_starts(c, "(void)") &&
                                                                heur_starts(c + 6, pat)))) {
                return true;
            }
        }
    }
    return false;
}

static bool checks_value(const char *code)
{
    return heur_is_condition(code) &&
           (heur_error_word(code) || heur_security_word(code) || compares_error_value(code));
}

/* A return that hands an error on. */
static bool error_return(const char *code)
{
    static const char *const words[] = { "err", "error", "errno", "rc", "ret", "NULL", "false",
                                         "False", "EXIT_FAILURE", "nullptr", NULL };
    if (!heur_starts(code, "return") || (code[6] != ' ' && code[6] != '(')) {
        return false;
    }
    if (heur_any_word(code + 6, words)) {
        return true;
    }
    return strstr(code, "-1") || strstr(code, "Err") || heur_icontains(code, "fail") ||
           strstr(code, " -E") || strstr(code, "(-E");
}

static bool error_exit(const char *code)
{
    static const char *const pats[] = {
        "goto fail", "goto err", "goto bad", "goto out_err", "goto cleanup", "exit(1)",
        "exit (1)", "exit(EXIT_FAILURE)", "exit 1", "die ", "die(", "abort()", "panic(",
        "raise ", "raise(", "throw ", "AC_MSG_ERROR", "FATAL_ERROR", "os.Exit(1)",
        "log.Fatal", "sys.exit(1)", "return 1", NULL };
    if (error_return(code)) {
        return true;
    }
    for (size_t i = 0; pats[i]; i++) {
        if (heur_starts(code, pats[i]) || (strstr(code, pats[i]) && strstr(code, "||"))) {
            return true;
        }
    }
    return false;
}

/* The file adds a check of the same shape, or an error exit is added near
 * line i. */
static bool readded(struct hctx *cx, size_t i, const char *code, bool exit_line)
{
    char *shape = heur_shape(code);
    bool hit = shape && heur_file_adds_shape(cx, shape);
    size_t lo, hi;
    free(shape);
    heur_near(cx->hv, i, HEUR_CLOSE, &lo, &hi);
    for (size_t k = lo; !hit && exit_line && k < hi; k++) {
        hit = cx->hv->v[k].op == '+' && error_exit(cx->hv->v[k].code);
    }
    return hit;
}

/* The nearest line before i that is not removed. */
static size_t kept_before(const struct hunkview *hv, size_t i)
{
    for (size_t seen = 0; i-- > 0 && seen < HEUR_CLOSE; seen++) {
        if (hv->v[i].op != '-' && *hv->v[i].code) {
            return i;
        }
    }
    return SIZE_MAX;
}

static void removed_condition(struct hctx *cx, size_t i)
{
    const struct hunkview *hv = cx->hv;
    const char *code = hv->v[i].code;
    if (readded(cx, i, code, false) ||
        !(result_unchecked(hv, i, code) || call_stripped(hv, i, code))) {
        return;
    }
    size_t p = kept_before(hv, i);
    bool sec = heur_security_word(code) || (p != SIZE_MAX && heur_security_word(hv->v[p].code));
    heur_add(cx, R_CHECK_REMOVED, sec ? TEMPER_SEV_HIGH : TEMPER_SEV_MEDIUM, sec ? 70 : 55, i,
             NULL, "a check of %s was removed while the checked value is still computed",
             sec ? "a security-relevant result" : "an error or return value");
}

static void removed_exit(struct hctx *cx, size_t i)
{
    const struct hunkview *hv = cx->hv;
    size_t p = kept_before(hv, i);
    if (p == SIZE_MAX || !checks_value(hv->v[p].code) || readded(cx, i, hv->v[i].code, true)) {
        return;
    }
    bool sec = heur_security_word(hv->v[p].code);
    heur_add(cx, R_CHECK_REMOVED, sec ? TEMPER_SEV_HIGH : TEMPER_SEV_MEDIUM, sec ? 70 : 55, i,
             NULL, "the error exit under a kept check was removed, so the failure falls "
             "through");
}

/* "cmd || exit 1" became "cmd". */
static void removed_or_exit(struct hctx *cx, size_t i)
{
    const struct hunkview *hv = cx->hv;
    const char *code = hv->v[i].code, *bar = strstr(code, " || ");
    if (!bar || !error_exit(bar + 4)) {
        return;
    }
    size_t n = (size_t)(bar - code), lo, hi;
    heur_near(hv, i, HEUR_CLOSE, &lo, &hi);
    for (size_t k = lo; k < hi; k++) {
        const char *a = hv->v[k].code;
        if (hv->v[k].op == '+' && strlen(a) >= n && strncmp(a, code, n) == 0 &&
            !strstr(a + n, "||") && !strstr(a + n, "&&")) {
            bool sec = heur_security_word(code);
            heur_add(cx, R_CHECK_REMOVED, sec ? TEMPER_SEV_HIGH : TEMPER_SEV_MEDIUM,
                     sec ? 75 : 60, k, NULL,
                     "the failure exit after a command was dropped, so its failure is ignored");
            return;
        }
    }
}

/* "set -e" (errexit) dropped from a script, and not set again. */
static bool errexit(const char *code)
{
    if (heur_starts(code, "set -o errexit") || heur_starts(code, "set -e")) {
        return true;
    }
    return heur_starts(code, "set -") && code[5] != '-' && strchr(code + 5, 'e') &&
           strcspn(code + 5, " ") >= (size_t)(strchr(code + 5, 'e') - (code + 5));
}

static void removed_errexit(struct hctx *cx, size_t i)
{
    const struct hunkview *hv = cx->hv;
    size_t lo, hi;
    heur_near(hv, i, HEUR_NEAR, &lo, &hi);
    for (size_t k = lo; k < hi; k++) {
        if (hv->v[k].op == '+' && errexit(hv->v[k].code)) {
            return;
        }
    }
    heur_add(cx, R_CHECK_REMOVED, TEMPER_SEV_MEDIUM, 55, i, NULL,
             "the script no longer stops at the first failing command");
}

static void rule_removed(struct hctx *cx, const bool *used)
{
    const struct hunkview *hv = cx->hv;
    for (size_t i = 0; i < hv->n; i++) {
        const char *code = hv->v[i].code;
        if (hv->v[i].op != '-' || used[i] || !*code) {
            continue;
        }
        if (checks_value(code)) {
            removed_condition(cx, i);
        } else if (error_exit(code)) {
            removed_exit(cx, i);
        }
        if (heur_shellish(cx->lang)) {
            removed_or_exit(cx, i);
            if (errexit(code)) {
                removed_errexit(cx, i);
            }
        }
    }
}

void heur_rules_checks(struct hctx *cx)
{
    bool *used = calloc(cx->hv->n + 1, sizeof *used);
    if (!used) {
        cx->rc = TEMPER_ENOMEM;
        return;
    }
    if (cx->enabled[R_INVERTED_CHECK]) {
        rule_inverted(cx, used);
    }
    if (cx->enabled[R_CHECK_REMOVED] && cx->lang != L_DOC) {
        rule_removed(cx, used);
    }
    free(used);
}

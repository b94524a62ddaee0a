/* guard_heuristic — an unconditional goto or return added in front of code
 * that still follows it in the same block (Apple's "goto fail", a verifier
 * that returns success before it verifies). */
#include "heuristic.h"
#include <stdio.h>
#include <string.h>

/* The previous / next line on the new side with code. */
static size_t new_side(const struct hunkview *hv, size_t i, int dir)
{
    for (size_t k = i, seen = 0;; seen++) {
        if (seen > HEUR_CLOSE || (dir < 0 ? k == 0 : k + 1 >= hv->n)) {
            return SIZE_MAX;
        }
        k = dir < 0 ? k - 1 : k + 1;
        if (hv->v[k].op != '-' && *hv->v[k].code) {
            return k;
        }
    }
}

static bool is_jump(const char *code, enum lang l, bool *is_goto)
{
    *is_goto = l == L_C && heur_starts(code, "goto ") && heur_ends(code, ";");
    if (*is_goto) {
        return true;
    }
    if (!heur_starts(code, "return") || (code[6] != '\0' && code[6] != ' ' && code[6] != ';')) {
        return false;
    }
    return l == L_C || l == L_GO || l == L_JS || l == L_PY;
}

/* A line after which the jump is still conditional or the block ends. */
static bool opens_condition(const char *code, enum lang l)
{
    if ((heur_is_condition(code) || heur_clike(l)) &&
        (heur_ends(code, ")") || heur_ends(code, ":"))) {
        return true; /* an if/for/while header, possibly spread over lines */
    }
    if (heur_clike(l) && heur_ends(code, "{") && strcmp(code, "{") != 0) {
        return true; /* the first statement of a block under a condition */
    }
    return strcmp(code, "else") == 0 || strcmp(code, "else:") == 0 ||
           heur_ends(code, " else") || heur_starts(code, "case ") ||
           heur_starts(code, "default:") || (l == L_PY && heur_ends(code, ":") &&
                                             !heur_starts(code, "def ") &&
                                             !heur_starts(code, "try"));
}

static bool ends_block(const char *code)
{
    static const char *const starts[] = { "}", "case ", "default:", "#", "fi", "done", "esac",
                                          ";;", "else", "elif", "except", "finally", "end",
                                          NULL };
    for (size_t i = 0; starts[i]; i++) {
        if (heur_starts(code, starts[i])) {
            return true;
        }
    }
    size_t n = strlen(code);
    return n > 1 && code[n - 1] == ':' && !strchr(code, ' '); /* a label */
}

/* Lines skipped by the jump carry a check or a security call. */
static bool skips_checks(const struct hunkview *hv, size_t from, int indent)
{
    for (size_t k = from, seen = 0; k != SIZE_MAX && seen < 12; k = new_side(hv, k, 1), seen++) {
        const struct hline *l = &hv->v[k];
        if (l->indent < indent) {
            return false;
        }
        if ((heur_is_condition(l->code) &&
             (heur_error_word(l->code) || heur_security_word(l->code))) ||
            heur_security_word(l->code)) {
            return true;
        }
    }
    return false;
}

static void check_jump(struct hctx *cx, size_t i)
{
    const struct hunkview *hv = cx->hv;
    const struct hline *l = &hv->v[i];
    bool is_goto = false;
    if (!is_jump(l->code, cx->lang, &is_goto) || heur_is_condition(l->code)) {
        return;
    }
    size_t p = new_side(hv, i, -1), n = i;
    /* the statement may go on over several lines: skip to its end */
    for (int k = 0; heur_clike(cx->lang) && n != SIZE_MAX && k < 12 &&
                    !heur_ends(hv->v[n].code, ";"); k++) {
        n = new_side(hv, n, 1);
    }
    n = n == SIZE_MAX ? n : new_side(hv, n, 1);
    /* braces give the structure of C-like code (indentation may lie, as in
     * "goto fail"); Python has only indentation */
    if (p == SIZE_MAX || n == SIZE_MAX || ends_block(hv->v[n].code) ||
        (!heur_clike(cx->lang) && hv->v[n].indent != l->indent)) {
        return;
    }
    bool dup = strcmp(hv->v[p].code, l->code) == 0;
    if (!dup && (opens_condition(hv->v[p].code, cx->lang) ||
                 cx->file->status == TEMPER_PATCH_ADDED)) {
        return; /* conditional, or dead code in a new file: nothing skipped */
    }
    if (dup || is_goto) {
        heur_add(cx, R_JUMP_SKIPS_CHECKS, TEMPER_SEV_HIGH, dup ? 90 : 75, i, NULL,
                 "an unconditional goto skips the statements after it%s",
                 dup ? " (a duplicated jump under a brace-less if)" : "");
    } else if (skips_checks(hv, n, l->indent)) {
        heur_add(cx, R_JUMP_SKIPS_CHECKS, TEMPER_SEV_HIGH, 70, i, NULL,
                 "an unconditional return skips the checks after it");
    } else {
        heur_add(cx, R_JUMP_SKIPS_CHECKS, TEMPER_SEV_MEDIUM, 40, i, NULL,
                 "an unconditional return leaves the code after it unreachable");
    }
}

void heur_rules_jumps(struct hctx *cx)
{
    if (!cx->enabled[R_JUMP_SKIPS_CHECKS]) {
        return;
    }
    for (size_t i = 0; i < cx->hv->n; i++) {
        if (cx->hv->v[i].op == '+' && *cx->hv->v[i].code) {
            check_jump(cx, i);
        }
    }
}

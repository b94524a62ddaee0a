/* guard_heuristic — resource rules on one hunk: a release (close, free,
 * defer, unlock) removed while the resource stays in use, use after free
 * and double free, and an early return that leaks what was just acquired. */
#include "heuristic.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_LEN 96

/* Release calls: exact names, or any name ending in one of the suffixes. */
static const char *const release_names[] = {
    "free", "fclose", "close", "closedir", "munmap", "pthread_mutex_unlock", "g_free",
    "kfree", "Py_DECREF", "Py_XDECREF", "Py_CLEAR", "freeaddrinfo", "pclose", "unlock", "Close",
    "Unlock", "RUnlock", "Release", "release", "destroy", "cancel", NULL };
static const char *const release_suffixes[] = { "_free", "_unref", "_release", "_destroy",
                                                 "_close", "_cleanup", "_put", NULL };

/* 2: a release function by name, 1: by its suffix ("x_free"), 0: none. */
static int release_name(const char *name)
{
    for (size_t i = 0; release_names[i]; i++) {
        if (strcmp(name, release_names[i]) == 0) {
            return 2;
        }
    }
    for (size_t i = 0; release_suffixes[i]; i++) {
        if (heur_ends(name, release_suffixes[i])) {
            return 1;
        }
    }
    return 0;
}

static bool ident_char(int c)
{
    return isalnum(c) || c == '_';
}

/* Copy an expression like "a", "s->buf", "f.fp" starting at p into out. */
static size_t read_object(const char *p, char *out)
{
    size_t n = 0;
    while (n + 1 < NAME_MAX_LEN && (ident_char((unsigned char)p[n]) || p[n] == '.' ||
                                    (p[n] == '-' && p[n + 1] == '>') || p[n] == '>')) {
        n++;
    }
    while (n && (p[n - 1] == '.' || p[n - 1] == '-' || p[n - 1] == '>')) {
        n--;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

/* Type names and keywords: "free(void *)" in a prototype releases nothing. */
static bool not_an_object(const char *obj)
{
    static const char *const kw[] = { "void", "char", "int", "long", "short", "unsigned",
                                      "signed", "const", "struct", "union", "enum", "float",
                                      "double", "size_t", "volatile", "static", "NULL",
                                      "self", "this", NULL };
    for (size_t i = 0; kw[i]; i++) {
        if (strcmp(obj, kw[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* A release in `code`: "free(x)", "x_free(x)", "x.Close()", "defer x.Close()",
 * "cancel()".  Fills the function name and the released object. */
static bool find_release(const char *code, char *fn, char *obj)
{
    for (const char *p = code; *p; p++) {
        if (!isalpha((unsigned char)*p) || (p > code && ident_char((unsigned char)p[-1]))) {
            continue;
        }
        size_t n = 0;
        while (ident_char((unsigned char)p[n])) {
            n++;
        }
        if (n >= NAME_MAX_LEN || p[n] != '(') {
            p += n ? n - 1 : 0;
            continue;
        }
        memcpy(fn, p, n);
        fn[n] = '\0';
        int kind = release_name(fn);
        if (!kind) {
            p += n - 1;
            continue;
        }
        size_t ol = read_object(p + n + 1, obj);
        if (ol) {
            const char *q = p + n + 1 + ol;
            while (*q == ' ') {
                q++;
            }
            /* "name(Type *arg" is a declaration, not a call; "a[i]" and
             * "f(x)" are elements and results, not tracked */
            /* "x_free(table, &c)" frees through table, not table itself */
            return !not_an_object(obj) && *q != '*' && *q != '[' && *q != '(' &&
                   !ident_char((unsigned char)*q) && (kind == 2 || *q != ',');
        }
        /* method call: the receiver before the dot */
        const char *dot = p > code ? p - 1 : NULL;
        if (dot && *dot == '.') {
            const char *s = dot;
            while (s > code && (ident_char((unsigned char)s[-1]) || s[-1] == '.')) {
                s--;
            }
            return read_object(s, obj) > 0;
        }
        if (p[n + 1] != ')') {
            return false; /* free(*(char **)p): not an object we can follow */
        }
        snprintf(obj, NAME_MAX_LEN, "%s", fn); /* cancel() */
        return true;
    }
    return false;
}

static bool mentions(const char *code, const char *obj)
{
    return heur_has_word(code, obj);
}

/* ---- release removed --------------------------------------------------------- */

static bool acquisition_removed(const struct hunkview *hv, size_t i, const char *obj)
{
    size_t lo, hi;
    heur_near(hv, i, HEUR_NEAR, &lo, &hi);
    char pat[NAME_MAX_LEN + 4];
    snprintf(pat, sizeof pat, "%s =", obj);
    char pat2[NAME_MAX_LEN + 4];
    snprintf(pat2, sizeof pat2, "%s :=", obj);
    for (size_t k = lo; k < hi; k++) {
        const char *c = hv->v[k].code;
        if (hv->v[k].op == '-' && (strstr(c, pat) || strstr(c, pat2) ||
                                   (heur_starts(c, "with ") && mentions(c, obj)))) {
            return true;
        }
    }
    return false;
}

/* Still used on a kept line near i, and not released or handed on by an
 * added one. */
static bool kept_unreleased(struct hctx *cx, size_t i, const char *obj)
{
    const struct hunkview *hv = cx->hv;
    bool kept = false;
    size_t lo, hi;
    heur_near(hv, i, HEUR_NEAR, &lo, &hi);
    for (size_t k = lo; k < hi; k++) {
        const char *c = hv->v[k].code;
        char fn[NAME_MAX_LEN], o[NAME_MAX_LEN];
        if (hv->v[k].op == '+' && heur_starts(c, "goto ")) {
            return false; /* a cleanup label takes over */
        }
        if (hv->v[k].op == '-' || !mentions(c, obj)) {
            continue;
        }
        if ((find_release(c, fn, o) && strcmp(o, obj) == 0) ||
            (hv->v[k].op == '+' && (heur_starts(c, "return") || heur_starts(c, "with ")))) {
            return false; /* still released on a kept line, returned, or managed */
        }
        kept = true;
    }
    return kept;
}

static void release_removed(struct hctx *cx, size_t i)
{
    const struct hunkview *hv = cx->hv;
    char fn[NAME_MAX_LEN], obj[NAME_MAX_LEN];
    if (!find_release(hv->v[i].code, fn, obj) || heur_file_adds_line(cx, hv->v[i].code) ||
        acquisition_removed(hv, i, obj) || !kept_unreleased(cx, i, obj)) {
        return;
    }
    bool lock = heur_icontains(fn, "unlock");
    heur_add(cx, R_RELEASE_REMOVED, TEMPER_SEV_MEDIUM, lock ? 60 : 55, i, NULL,
             "the %s of %s was removed while %s stays in use", lock ? "unlock" : "release",
             obj, obj);
}

/* ---- use after free ---------------------------------------------------------------- */

static bool frees_memory(const char *fn)
{
    return strcmp(fn, "free") == 0 || strcmp(fn, "g_free") == 0 || strcmp(fn, "kfree") == 0 ||
           heur_ends(fn, "_free") || heur_ends(fn, "_unref") || strcmp(fn, "fclose") == 0 ||
           strcmp(fn, "close") == 0 || strcmp(fn, "closedir") == 0;
}

/* How line `code` uses obj: 0 not, 1 dereference/argument, 2 freed again,
 * 3 reassigned (stop).  A closed descriptor (`handle`) is only used when it
 * is passed to a call; its value may still be compared. */
static int use_of(const char *code, const char *obj, bool handle)
{
    size_t n = strlen(obj);
    char fn[NAME_MAX_LEN], o[NAME_MAX_LEN];
    if (!mentions(code, obj)) {
        return 0;
    }
    if (find_release(code, fn, o) && strcmp(o, obj) == 0 && frees_memory(fn)) {
        return 2;
    }
    for (const char *p = code; (p = strstr(p, obj)) != NULL; p += n) {
        if (p > code && (ident_char((unsigned char)p[-1]) || p[-1] == '.' || p[-1] == '>')) {
            continue;
        }
        const char *q = p + n;
        if (ident_char((unsigned char)*q)) {
            continue;
        }
        if ((q[0] == ' ' && q[1] == '=' && q[2] != '=') || (q[0] == '=' && q[1] != '=') ||
            (p > code && p[-1] == '&')) {
            return 3; /* assigned, or handed out to be set */
        }
        if (!handle && ((q[0] == '-' && q[1] == '>') || q[0] == '[' || q[0] == '.' ||
                        (p > code && p[-1] == '*' &&
                         (p - 1 == code || !ident_char((unsigned char)p[-2]))))) {
            return 1;
        }
        if (p > code && (p[-1] == '(' || p[-1] == ' ') && (*q == ',' || *q == ')') &&
            !heur_starts(code, "if") && !strstr(code, "sizeof") && !strstr(code, "== NULL") &&
            !strstr(code, "!= NULL")) {
            return 1;
        }
    }
    return 0;
}

static bool exits(const char *code)
{
    return heur_starts(code, "return") || heur_starts(code, "goto ") ||
           heur_starts(code, "break") || heur_starts(code, "continue") ||
           heur_starts(code, "exit") || heur_starts(code, "abort");
}

static void after_free(struct hctx *cx, size_t i, const char *obj, bool handle)
{
    const struct hunkview *hv = cx->hv;
    for (size_t k = i + 1; k < hv->n && k <= i + HEUR_CLOSE * 2; k++) {
        const struct hline *l = &hv->v[k];
        if (l->op == '-' || !*l->code) {
            continue;
        }
        if ((l->indent < hv->v[i].indent && heur_starts(l->code, "} else")) ||
            (l->indent == 0 && heur_starts(l->code, "}"))) {
            return; /* another branch, or the function ends */
        }
        int u = use_of(l->code, obj, handle);
        if (u == 3 || (u == 0 && exits(l->code))) {
            return; /* reassigned, or control leaves (code after it runs apart) */
        }
        if ((u == 1 || u == 2) && (l->op == '+' || hv->v[i].op == '+')) {
            char ev[600];
            snprintf(ev, sizeof ev, "%c%.290s\n%c%.290s", hv->v[i].op, hv->v[i].raw, l->op,
                     l->raw);
            heur_add(cx, R_USE_AFTER_FREE, TEMPER_SEV_HIGH, u == 2 ? 70 : 65, k, ev,
                     u == 2 ? "%s is released twice" : "%s is used after it was released",
                     obj);
            return;
        }
    }
}

static void use_after_free(struct hctx *cx)
{
    const struct hunkview *hv = cx->hv;
    for (size_t i = 0; i < hv->n; i++) {
        char fn[NAME_MAX_LEN], obj[NAME_MAX_LEN];
        if (hv->v[i].op == '-' || !find_release(hv->v[i].code, fn, obj) || !frees_memory(fn) ||
            heur_is_condition(hv->v[i].code) || strchr(obj, '(')) {
            continue;
        }
        after_free(cx, i, obj, strcmp(fn, "close") == 0 || strcmp(fn, "fclose") == 0 ||
                                   strcmp(fn, "closedir") == 0);
    }
}

/* ---- leaks on an error path ----------------------------------------------------------- */

static bool acquires(const char *code, char *obj)
{
    static const char *const fns[] = { "malloc", "calloc", "realloc", "strdup", "strndup",
                                       "fopen", "open", "socket", "opendir", "mmap",
                                       "asprintf", NULL };
    const char *eq = strstr(code, " = ");
    if (!eq || eq == code || heur_is_condition(code)) {
        return false;
    }
    bool hit = false;
    for (size_t i = 0; fns[i] && !hit; i++) {
        hit = heur_find_call(eq, fns[i]) != NULL;
    }
    hit = hit || (strstr(eq, "_new(") != NULL);
    const char *s = eq;
    while (s > code && (ident_char((unsigned char)s[-1]) || s[-1] == '.' || s[-1] == '>' ||
                        s[-1] == '-')) {
        s--;
    }
    return hit && read_object(s, obj) > 0;
}

/* The resource is released, returned, stored, or a cleanup label takes over. */
static bool hands_off(const char *code, const char *obj)
{
    char fn[NAME_MAX_LEN], o[NAME_MAX_LEN];
    if ((find_release(code, fn, o) && strcmp(o, obj) == 0) || heur_starts(code, "goto ")) {
        return true;
    }
    if (!mentions(code, obj)) {
        return false;
    }
    const char *eq = strstr(code, " = ");
    return heur_starts(code, "return") || (eq && mentions(eq + 3, obj));
}

static void leak_after(struct hctx *cx, size_t i, const char *obj)
{
    const struct hunkview *hv = cx->hv;
    for (size_t k = i + 1; k < hv->n && k <= i + HEUR_CLOSE; k++) {
        const struct hline *l = &hv->v[k];
        if (l->op == '-' || !*l->code) {
            continue;
        }
        if (l->indent < hv->v[i].indent || hands_off(l->code, obj)) {
            return;
        }
        if (l->op != '+' || !heur_starts(l->code, "return") || l->indent <= hv->v[i].indent) {
            continue;
        }
        size_t p = k;
        while (p-- > i + 1 && (hv->v[p].op == '-' || !*hv->v[p].code)) {
        }
        if (p > i && p < k && !mentions(hv->v[p].code, obj) && heur_is_condition(hv->v[p].code)) {
            heur_add(cx, R_LEAK_ON_ERROR, TEMPER_SEV_MEDIUM, 45, k, NULL,
                     "this early return leaks %s acquired a few lines above", obj);
        }
        return;
    }
}

void heur_rules_resources(struct hctx *cx)
{
    const struct hunkview *hv = cx->hv;
    if (!heur_clike(cx->lang) && cx->lang != L_PY) {
        return;
    }
    for (size_t i = 0; cx->enabled[R_RELEASE_REMOVED] && i < hv->n; i++) {
        if (hv->v[i].op == '-' && *hv->v[i].code) {
            release_removed(cx, i);
        }
    }
    if (cx->enabled[R_USE_AFTER_FREE] && cx->lang == L_C) {
        use_after_free(cx);
    }
    for (size_t i = 0; cx->enabled[R_LEAK_ON_ERROR] && cx->lang == L_C && i < hv->n; i++) {
        char obj[NAME_MAX_LEN];
        if (hv->v[i].op == '+' && acquires(hv->v[i].code, obj)) {
            leak_after(cx, i, obj);
        }
    }
}

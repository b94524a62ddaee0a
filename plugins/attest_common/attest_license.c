/* temper — license text to SPDX expressions (see attest_license.h). */
#include "config.h"
#include "attest_license.h"
#include "spdx_ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TOKENS 256
#define MAX_DEPTH 16
#define MAX_WORD 128
#define REF_ID_MAX 64 /* characters after "LicenseRef-" */

struct tok {
    const char *s;
    size_t n;
    char kind; /* 'w' word, '(' ')' ',' */
};

struct lp {
    struct ac_license *out;
    struct temper_buf b;
    size_t level[MAX_DEPTH + 1]; /* offset where each parenthesis level starts */
    bool virt[MAX_DEPTH + 1];    /* level opened by a DEP-5 comma, not by '(' */
    int depth;
    bool comma;                  /* a comma was read: open a level after the operator */
    size_t terms;
    const char *single; /* the canonical id when the one term so far is listed */
};

/* Aliases of DEP-5 short names that are not SPDX ids. */
static const char *const aliases[][2] = {
    { "expat", "MIT" },
    { "mit/x11", "MIT" },
    { "artistic", "Artistic-1.0-Perl" },
    { "perl", "(Artistic-1.0-Perl OR GPL-1.0-or-later)" },
    { "openldap-2.8", "OLDAP-2.8" },
    { "python", "Python-2.0" },
    { "psf", "PSF-2.0" },
    { "zope-2.1", "ZPL-2.1" },
};

static int cmp_id(const void *key, const void *elem)
{
    return strcasecmp(key, *(const char *const *)elem);
}

static const char *lookup(const char *const *tab, size_t n, const char *name)
{
    const char *const *hit = bsearch(name, tab, n, sizeof *tab, cmp_id);
    return hit ? *hit : NULL;
}

static const char *license_id(const char *name)
{
    return lookup(spdx_license_ids, sizeof spdx_license_ids / sizeof spdx_license_ids[0], name);
}

static const char *exception_id(const char *name)
{
    return lookup(spdx_exception_ids, sizeof spdx_exception_ids / sizeof spdx_exception_ids[0],
                  name);
}

/* GPL-2, GPL-2+, GPL-2.0+, LGPL-2.1-only, GFDL-NIV-1.3+ ... -> listed id. */
static const char *gnu_id(const char *w)
{
    static const char *const fams[] = { "GFDL-NIV", "AGPL", "LGPL", "GPL", "GFDL" };
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
        size_t fl = strlen(fams[i]);
        if (strncasecmp(w, fams[i], fl) != 0 || w[fl] != '-') {
            continue;
        }
        const char *v = w + fl + 1;
        size_t vl = strspn(v, "0123456789.");
        const char *sfx = v + vl;
        bool later = strcmp(sfx, "+") == 0 || strcasecmp(sfx, "-or-later") == 0;
        if (vl == 0 || vl > 8 || !(later || !sfx[0] || strcasecmp(sfx, "-only") == 0)) {
            return NULL;
        }
        char id[64];
        bool niv = i == 0;
        int n = snprintf(id, sizeof id, "%s-%.*s%s%s-%s", niv ? "GFDL" : fams[i], (int)vl, v,
                         memchr(v, '.', vl) ? "" : ".0", niv ? "-no-invariants" : "",
                         later ? "or-later" : "only");
        return n > 0 && (size_t)n < sizeof id ? license_id(id) : NULL;
    }
    return NULL;
}

/* A listed id or an alias expression for one name; NULL when unknown. */
static const char *known_license(const char *w)
{
    const char *id = gnu_id(w);
    if (!id) {
        id = license_id(w);
    }
    for (size_t i = 0; !id && i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcasecmp(w, aliases[i][0]) == 0) {
            id = aliases[i][1];
        }
    }
    size_t n = strlen(w);
    if (!id && n > 2 && n < MAX_WORD - 2 && w[n - 1] >= '0' && w[n - 1] <= '9' &&
        !strchr(strrchr(w, '-') ? strrchr(w, '-') : w, '.')) {
        char dot[MAX_WORD];
        memcpy(dot, w, n);
        memcpy(dot + n, ".0", 3); /* Apache-2 -> Apache-2.0, MPL-2, CDDL-1 */
        id = license_id(dot);
    }
    return id;
}

/* "<words joined by '-'>" after WITH, for license `lic` -> listed exception. */
static const char *known_exception(const char *joined, const char *lic)
{
    static const char *const table[][3] = {
        /* base, for GPL-3 family, otherwise */
        { "autoconf", "Autoconf-exception-3.0", "Autoconf-exception-2.0" },
        { "gcc", "GCC-exception-3.1", "GCC-exception-2.0" },
        { "bison", "Bison-exception-2.2", "Bison-exception-2.2" },
        { "classpath", "Classpath-exception-2.0", "Classpath-exception-2.0" },
        { "font", "Font-exception-2.0", "Font-exception-2.0" },
        { "linux-syscall-note", "Linux-syscall-note", "Linux-syscall-note" },
        { "llvm", "LLVM-exception", "LLVM-exception" },
        { "libtool", "Libtool-exception", "Libtool-exception" },
    };
    const char *id = exception_id(joined);
    size_t n = strlen(joined);
    bool gpl3 = strncmp(lic, "GPL-3", 5) == 0 || strncmp(lic, "LGPL-3", 6) == 0 ||
                strncmp(lic, "AGPL-3", 6) == 0;
    if (!id && n > 10 && strcasecmp(joined + n - 10, "-exception") == 0) {
        for (size_t i = 0; !id && i < sizeof table / sizeof table[0]; i++) {
            if (strlen(table[i][0]) == n - 10 && strncasecmp(joined, table[i][0], n - 10) == 0) {
                id = gpl3 ? table[i][1] : table[i][2];
            }
        }
    }
    return id;
}

/* Declare a LicenseRef for `name` (once); *id borrowed from out->refs. */
static int add_ref(struct ac_license *l, const char *name, const char **id)
{
    char san[REF_ID_MAX + 1];
    size_t n = strlen(name), k = 0;
    for (size_t i = 0; i < n && k < REF_ID_MAX; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-';
        san[k++] = ok ? c : '-';
    }
    san[k] = '\0';
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    if (n > REF_ID_MAX && temper_sha256_hex(name, n, hex) == TEMPER_OK) {
        memcpy(san + REF_ID_MAX - 9, "-", 1); /* long text: prefix + hash */
        memcpy(san + REF_ID_MAX - 8, hex, 8);
    }
    bool has_prefix = strncmp(san, "LicenseRef-", 11) == 0 && san[11];
    char *full = temper_strdupf("%s%s", has_prefix ? "" : "LicenseRef-", san);
    if (!full) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < l->n_refs; i++) {
        if (strcmp(l->refs[i].id, full) == 0) {
            free(full);
            *id = l->refs[i].id;
            return TEMPER_OK;
        }
    }
    struct ac_license_ref *nr = realloc(l->refs, (l->n_refs + 1) * sizeof *nr);
    char *nm = strdup(name);
    if (!nr || !nm) {
        free(full);
        free(nm);
        if (nr) {
            l->refs = nr;
        }
        return TEMPER_ENOMEM;
    }
    l->refs = nr;
    l->refs[l->n_refs].id = full;
    l->refs[l->n_refs].name = nm;
    *id = l->refs[l->n_refs++].id;
    return TEMPER_OK;
}

static int emit_term(struct lp *p, const char *w)
{
    const char *id = known_license(w);
    size_t n = strlen(w);
    p->terms++;
    p->single = id && id[0] != '(' ? id : NULL;
    if (id) {
        return temper_buf_puts(&p->b, id);
    }
    if (n > 1 && w[n - 1] == '+') {
        char base[MAX_WORD];
        memcpy(base, w, n - 1);
        base[n - 1] = '\0';
        id = known_license(base);
        if (id && id[0] != '(') {
            return temper_buf_printf(&p->b, "%s+", id);
        }
    }
    int rc = add_ref(p->out, w, &id);
    return rc == TEMPER_OK ? temper_buf_puts(&p->b, id) : rc;
}

static bool is_word(const struct tok *t, const char *w)
{
    return t->kind == 'w' && t->n == strlen(w) && strncasecmp(t->s, w, t->n) == 0;
}

static bool is_op(const struct tok *t)
{
    return is_word(t, "and") || is_word(t, "or") || is_word(t, "with");
}

/* `lic` WITH the words t[0..n): one listed pair or one LicenseRef. */
static int emit_with(struct lp *p, const char *lic, const struct tok *t, size_t n)
{
    char joined[2 * MAX_WORD], text[4 * MAX_WORD];
    size_t j = 0;
    int tl = snprintf(text, sizeof text, "%s with", lic);
    for (size_t i = 0; i < n && tl > 0 && (size_t)tl < sizeof text; i++) {
        if (j + t[i].n + 1 >= sizeof joined) {
            return TEMPER_EFORMAT;
        }
        memcpy(joined + j, t[i].s, t[i].n);
        j += t[i].n;
        joined[j++] = i + 1 < n ? '-' : '\0';
        tl += snprintf(text + tl, sizeof text - (size_t)tl, " %.*s", (int)t[i].n, t[i].s);
    }
    if (tl <= 0 || (size_t)tl >= sizeof text) {
        return TEMPER_EFORMAT;
    }
    const char *id = known_license(lic);
    const char *ex = id && id[0] != '(' ? known_exception(joined, id) : NULL;
    p->terms++;
    p->single = NULL;
    if (ex) {
        return temper_buf_printf(&p->b, "%s WITH %s", id, ex);
    }
    int rc = add_ref(p->out, text, &id);
    return rc == TEMPER_OK ? temper_buf_puts(&p->b, id) : rc;
}

/* DEP-5 comma: wrap what this parenthesis level has so far. */
static int wrap_level(struct lp *p)
{
    size_t start = p->level[p->depth];
    if (!strchr(p->b.data + start, ' ')) {
        return TEMPER_OK;
    }
    char *seg = strdup(p->b.data + start);
    if (!seg) {
        return TEMPER_ENOMEM;
    }
    p->b.len = start;
    p->b.data[start] = '\0';
    int rc = temper_buf_printf(&p->b, "(%s)", seg);
    free(seg);
    return rc;
}

static int open_level(struct lp *p, bool virt)
{
    if (p->depth >= MAX_DEPTH) {
        return TEMPER_EFORMAT;
    }
    int rc = temper_buf_puts(&p->b, "(");
    p->level[++p->depth] = p->b.len;
    p->virt[p->depth] = virt;
    return rc;
}

/* Close the levels commas opened; a one-term level loses its '('. */
static int close_virtual(struct lp *p)
{
    int rc = TEMPER_OK;
    while (rc == TEMPER_OK && p->depth > 0 && p->virt[p->depth]) {
        size_t start = p->level[p->depth];
        if (strchr(p->b.data + start, ' ')) {
            rc = temper_buf_puts(&p->b, ")");
        } else {
            memmove(p->b.data + start - 1, p->b.data + start, p->b.len - start + 1);
            p->b.len--;
        }
        p->depth--;
    }
    return rc;
}

static size_t tokenize(const char *s, struct tok *t, size_t max)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
            s++;
            continue;
        }
        if (n == max) {
            return max + 1;
        }
        size_t len = strchr("(),", *s) ? 1 : strcspn(s, " \t\n\r(),");
        t[n].s = s;
        t[n].n = len;
        t[n].kind = len == 1 && strchr("(),", *s) ? *s : 'w';
        if (t[n].kind == 'w' && len >= MAX_WORD) {
            return max + 1;
        }
        n++;
        s += len;
    }
    return n;
}

/* After an operand: `with`, and/or, ')' or ','.  *i is the current token. */
static int after_operand(struct lp *p, const struct tok *t, size_t n, size_t *i,
                         const char **pend, bool *want_operand)
{
    const struct tok *c = &t[*i];
    if (is_word(c, "with")) {
        size_t k = *i + 1;
        while (k < n && t[k].kind == 'w' && !is_op(&t[k])) {
            k++;
        }
        if (!*pend || k == *i + 1) {
            return TEMPER_EFORMAT;
        }
        int rc = emit_with(p, *pend, t + *i + 1, k - *i - 1);
        *pend = NULL;
        *i = k - 1;
        return rc;
    }
    int rc = *pend ? emit_term(p, *pend) : TEMPER_OK;
    *pend = NULL;
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (is_word(c, "and") || is_word(c, "or")) {
        *want_operand = true;
        rc = temper_buf_puts(&p->b, is_word(c, "and") ? " AND " : " OR ");
        if (rc == TEMPER_OK && p->comma) {
            p->comma = false;
            rc = open_level(p, true); /* "A, and B or C": A AND (B OR C) */
        }
        return rc;
    }
    if (c->kind == ')') {
        rc = close_virtual(p);
        if (rc == TEMPER_OK && p->depth == 0) {
            rc = TEMPER_EFORMAT;
        }
        p->depth -= rc == TEMPER_OK ? 1 : 0;
        return rc == TEMPER_OK ? temper_buf_puts(&p->b, ")") : rc;
    }
    if (c->kind == ',' && *i + 1 < n && (is_word(&t[*i + 1], "and") || is_word(&t[*i + 1], "or"))) {
        rc = close_virtual(p);
        p->comma = true;
        return rc == TEMPER_OK ? wrap_level(p) : rc;
    }
    return TEMPER_EFORMAT;
}

static int parse(struct lp *p, const struct tok *t, size_t n)
{
    char word[MAX_WORD];
    const char *pend = NULL;
    bool want_operand = true;
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        if (!want_operand) {
            rc = after_operand(p, t, n, &i, &pend, &want_operand);
        } else if (t[i].kind == '(') {
            rc = open_level(p, false);
        } else if (t[i].kind == 'w' && !is_op(&t[i])) {
            memcpy(word, t[i].s, t[i].n);
            word[t[i].n] = '\0';
            pend = word;
            want_operand = false;
        } else {
            rc = TEMPER_EFORMAT;
        }
    }
    if (rc == TEMPER_OK && want_operand) {
        rc = TEMPER_EFORMAT;
    }
    if (rc == TEMPER_OK && pend) {
        rc = emit_term(p, pend);
    }
    if (rc == TEMPER_OK) {
        rc = close_virtual(p);
    }
    return rc == TEMPER_OK && p->depth != 0 ? TEMPER_EFORMAT : rc;
}

static void refs_free(struct ac_license *l)
{
    for (size_t i = 0; i < l->n_refs; i++) {
        free(l->refs[i].id);
        free(l->refs[i].name);
    }
    free(l->refs);
    l->refs = NULL;
    l->n_refs = 0;
}

void ac_license_cleanup(struct ac_license *l)
{
    if (l) {
        refs_free(l);
        TEMPER_FREE(l->expr);
        l->listed = NULL;
    }
}

int ac_license_parse(const char *text, struct ac_license *out)
{
    struct tok *t = NULL;
    struct lp p = { .out = out };
    memset(out, 0, sizeof *out);
    size_t skip = text ? strspn(text, " \t\r\n") : 0;
    if (!text || !text[skip] || strcmp(text + skip, "NOASSERTION") == 0) {
        return TEMPER_OK;
    }
    temper_buf_init(&p.b, 4 * AC_MAX_FIELD);
    t = calloc(MAX_TOKENS, sizeof *t);
    int rc = t ? TEMPER_OK : TEMPER_ENOMEM;
    size_t n = t ? tokenize(text, t, MAX_TOKENS) : 0;
    if (rc == TEMPER_OK && strcmp(text + skip, "NONE") == 0) {
        rc = temper_buf_puts(&p.b, "NONE");
    } else if (rc == TEMPER_OK) {
        rc = n <= MAX_TOKENS ? parse(&p, t, n) : TEMPER_EFORMAT;
    }
    if (rc == TEMPER_EFORMAT || rc == TEMPER_ELIMIT) {
        const char *id = NULL;
        refs_free(out); /* not an expression: one LicenseRef for all of it */
        temper_buf_reset(&p.b);
        p.terms = 0;
        rc = add_ref(out, text + skip, &id);
        if (rc == TEMPER_OK) {
            rc = temper_buf_puts(&p.b, id);
        }
    }
    if (rc == TEMPER_OK) {
        out->listed = p.terms == 1 ? p.single : NULL;
        out->expr = temper_buf_take(&p.b, NULL);
        rc = out->expr ? TEMPER_OK : TEMPER_ENOMEM;
    }
    temper_buf_cleanup(&p.b);
    free(t);
    return rc;
}

/* temper — unified diff of two texts (3 lines of context), for the tarball
 * diff (include/temper/tardiff.h).  The common prefix and suffix are trimmed,
 * the middle is aligned by a longest-common-subsequence table of at most
 * TD_LCS_CELLS cells; a middle larger than that is written as "all old lines
 * removed, all new lines added" (correct, only less precise). */
#include "config.h"
#include "tardiff_int.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TD_CONTEXT 3
#define TD_LCS_CELLS (4u * 1024 * 1024)

struct td_line {
    const char *p;
    size_t n;       /* with the '\n' when there is one */
    uint32_t hash;
};

struct td_lines {
    struct td_line *v;
    size_t n;
};

struct td_op {
    char op;        /* ' ', '-', '+' */
    size_t a, b;    /* index in old / new (the side(s) the op uses) */
};

static uint32_t hash_of(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    }
    return h;
}

static int split(const char *s, size_t len, struct td_lines *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        n += s[i] == '\n';
    }
    n += len > 0 && s[len - 1] != '\n';
    out->n = 0;
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (!out->v) {
        return TEMPER_ENOMEM;
    }
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n' || i + 1 == len) {
            struct td_line *l = &out->v[out->n++];
            l->p = s + start;
            l->n = i + 1 - start;
            l->hash = hash_of(l->p, l->n);
            start = i + 1;
        }
    }
    return TEMPER_OK;
}

static bool same(const struct td_line *x, const struct td_line *y)
{
    return x->hash == y->hash && x->n == y->n && memcmp(x->p, y->p, x->n) == 0;
}

/* Edit script of a[ka..na) against b[kb..nb) appended to ops. */
static int align(const struct td_lines *a, const struct td_lines *b, size_t ka, size_t na,
                 size_t kb, size_t nb, struct td_op *ops, size_t *k)
{
    size_t n = na - ka, m = nb - kb;
    uint32_t *t = NULL;
    if (n > 0 && m > 0 && (n + 1) <= TD_LCS_CELLS / (m + 1)) {
        t = calloc((n + 1) * (m + 1), sizeof *t);
        if (!t) {
            return TEMPER_ENOMEM;
        }
    }
    size_t i = 0, j = 0;
    if (t) {
        for (size_t x = n; x-- > 0;) {
            for (size_t y = m; y-- > 0;) {
                uint32_t *c = &t[x * (m + 1) + y];
                if (same(&a->v[ka + x], &b->v[kb + y])) {
                    *c = t[(x + 1) * (m + 1) + y + 1] + 1;
                } else {
                    uint32_t d = t[(x + 1) * (m + 1) + y], r = t[x * (m + 1) + y + 1];
                    *c = d > r ? d : r;
                }
            }
        }
        while (i < n && j < m) {
            if (same(&a->v[ka + i], &b->v[kb + j])) {
                ops[(*k)++] = (struct td_op){ ' ', ka + i++, kb + j++ };
            } else if (t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1]) {
                ops[(*k)++] = (struct td_op){ '-', ka + i++, kb + j };
            } else {
                ops[(*k)++] = (struct td_op){ '+', ka + i, kb + j++ };
            }
        }
    }
    while (i < n) {
        ops[(*k)++] = (struct td_op){ '-', ka + i++, kb + j };
    }
    while (j < m) {
        ops[(*k)++] = (struct td_op){ '+', ka + i, kb + j++ };
    }
    free(t);
    return TEMPER_OK;
}

static int put_line(struct temper_buf *out, char op, const struct td_line *l)
{
    int rc = temper_buf_append(out, &op, 1);
    if (rc == TEMPER_OK) {
        rc = temper_buf_append(out, l->p, l->n);
    }
    if (rc == TEMPER_OK && (l->n == 0 || l->p[l->n - 1] != '\n')) {
        rc = temper_buf_puts(out, "\n\\ No newline at end of file\n");
    }
    return rc;
}

/* One hunk: ops[s..e). */
static int hunk(const struct td_lines *a, const struct td_lines *b, const struct td_op *ops,
                size_t s, size_t e, struct temper_buf *out)
{
    size_t oc = 0, nc = 0;
    for (size_t i = s; i < e; i++) {
        oc += ops[i].op != '+';
        nc += ops[i].op != '-';
    }
    size_t os = oc ? ops[s].a + 1 : ops[s].a, ns = nc ? ops[s].b + 1 : ops[s].b;
    int rc = temper_buf_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n", os, oc, ns, nc);
    for (size_t i = s; rc == TEMPER_OK && i < e; i++) {
        const struct td_line *l = ops[i].op == '+' ? &b->v[ops[i].b] : &a->v[ops[i].a];
        rc = put_line(out, ops[i].op, l);
    }
    return rc;
}

static int emit(const struct td_lines *a, const struct td_lines *b, const struct td_op *ops,
                size_t k, struct temper_buf *out)
{
    size_t i = 0;
    int rc = TEMPER_OK;
    while (rc == TEMPER_OK && i < k) {
        while (i < k && ops[i].op == ' ') {
            i++;
        }
        if (i == k) {
            break;
        }
        size_t s = i > TD_CONTEXT ? i - TD_CONTEXT : 0;
        size_t e = i;
        for (;;) { /* extend over changes closer than 2 x context */
            while (e < k && ops[e].op != ' ') {
                e++;
            }
            size_t run = 0;
            while (e + run < k && ops[e + run].op == ' ') {
                run++;
            }
            if (e + run < k && run <= 2 * TD_CONTEXT) {
                e += run;
                continue;
            }
            e += run < TD_CONTEXT ? run : TD_CONTEXT;
            break;
        }
        rc = hunk(a, b, ops, s, e, out);
        i = e;
    }
    return rc;
}

int td_unified(const char *old, size_t old_len, const char *new, size_t new_len,
               struct temper_buf *out)
{
    struct td_lines a = { NULL, 0 }, b = { NULL, 0 };
    struct td_op *ops = NULL;
    int rc = split(old, old_len, &a);
    if (rc == TEMPER_OK) {
        rc = split(new, new_len, &b);
    }
    if (rc == TEMPER_OK) {
        ops = calloc(a.n + b.n + 1, sizeof *ops);
        rc = ops ? TEMPER_OK : TEMPER_ENOMEM;
    }
    size_t p = 0, sfx = 0, k = 0;
    if (rc == TEMPER_OK) {
        while (p < a.n && p < b.n && same(&a.v[p], &b.v[p])) {
            ops[k] = (struct td_op){ ' ', p, p };
            k++;
            p++;
        }
        while (sfx < a.n - p && sfx < b.n - p && same(&a.v[a.n - 1 - sfx], &b.v[b.n - 1 - sfx])) {
            sfx++;
        }
        rc = align(&a, &b, p, a.n - sfx, p, b.n - sfx, ops, &k);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < sfx; i++) {
        ops[k++] = (struct td_op){ ' ', a.n - sfx + i, b.n - sfx + i };
    }
    if (rc == TEMPER_OK) {
        rc = emit(&a, &b, ops, k, out);
    }
    free(a.v);
    free(b.v);
    free(ops);
    return rc;
}

/* temper — collected configuration problems (see diag.h). */
#include "config.h"
#include "diag.h"
#include "ini_util.h"
#include <temper/buf.h>
#include <temper/log.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DIAG_MSG_MAX 4096

void temper_diags_init(struct temper_diags *d)
{
    memset(d, 0, sizeof *d);
}

void temper_diags_cleanup(struct temper_diags *d)
{
    if (!d) {
        return;
    }
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].file);
        free(d->v[i].msg);
    }
    free(d->v);
    memset(d, 0, sizeof *d);
}

static void sanitize(char *s)
{
    for (unsigned char *p = (unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            *p = '?';
        }
    }
}

void temper_diag_add(struct temper_diags *d, enum temper_diag_level lvl, const char *file,
                     unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    temper_diag_vadd(d, lvl, file, line, fmt, ap);
    va_end(ap);
}

void temper_diag_vadd(struct temper_diags *d, enum temper_diag_level lvl, const char *file,
                      unsigned line, const char *fmt, va_list ap)
{
    if (lvl == TEMPER_DIAG_ERROR) {
        d->n_errors++;
    } else {
        d->n_warnings++;
    }
    if (d->n >= TEMPER_DIAG_MAX) {
        d->dropped++;
        return;
    }
    struct temper_buf b;
    temper_buf_init(&b, DIAG_MSG_MAX);
    int rc = temper_buf_vprintf(&b, fmt, ap);
    char *msg = rc == TEMPER_OK ? temper_buf_take(&b, NULL) : strdup("(message too long)");
    temper_buf_cleanup(&b);
    char *f = file ? strdup(file) : NULL;
    struct temper_diag *v = msg && (f || !file)
                                ? temper_array_grow(d->v, &d->cap, d->n, sizeof *d->v) : NULL;
    if (!v) {
        d->oom = 1;
        free(msg);
        free(f);
        return;
    }
    d->v = v;
    sanitize(msg);
    temper_log_redact(msg);
    if (f) {
        sanitize(f);
    }
    struct temper_diag *e = &d->v[d->n];
    e->file = f;
    e->line = line;
    e->level = lvl;
    e->msg = msg;
    e->seq = d->n;
    d->n++;
}

static int cmp_diag(const void *a, const void *b)
{
    const struct temper_diag *x = a, *y = b;
    int c = strcmp(x->file ? x->file : "", y->file ? y->file : "");
    if (c != 0) {
        return c;
    }
    if (x->line != y->line) {
        return x->line < y->line ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void temper_diags_sort(struct temper_diags *d)
{
    if (d->n > 1) {
        qsort(d->v, d->n, sizeof d->v[0], cmp_diag);
    }
}

void temper_diags_print(const struct temper_diags *d, FILE *f)
{
    for (size_t i = 0; i < d->n; i++) {
        const struct temper_diag *e = &d->v[i];
        const char *w = e->level == TEMPER_DIAG_WARNING ? "warning: " : "";
        if (e->file && e->line) {
            fprintf(f, "%s:%u: %s%s\n", e->file, e->line, w, e->msg);
        } else if (e->file) {
            fprintf(f, "%s: %s%s\n", e->file, w, e->msg);
        } else {
            fprintf(f, "temper: %s%s\n", w, e->msg);
        }
    }
    if (d->dropped) {
        fprintf(f, "temper: %zu more problems not shown\n", d->dropped);
    }
    if (d->oom) {
        fprintf(f, "temper: out of memory while recording problems; some are not shown\n");
    }
}

/* temper — capped growable buffers. */
#include <temper/buf.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void temper_buf_init(struct temper_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    /* len + extra + 1 must not wrap in buf_reserve */
    b->max = max && max < SIZE_MAX / 2 ? max : SIZE_MAX / 2;
}

void temper_buf_cleanup(struct temper_buf *b)
{
    if (!b) {
        return;
    }
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void temper_buf_reset(struct temper_buf *b)
{
    b->len = 0;
    if (b->data) {
        b->data[0] = '\0';
    }
}

static int buf_reserve(struct temper_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra) {
        return TEMPER_ELIMIT;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) {
        return TEMPER_OK;
    }
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need) {
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    }
    char *p = realloc(b->data, ncap);
    if (!p) {
        return TEMPER_ENOMEM;
    }
    b->data = p;
    b->cap = ncap;
    return TEMPER_OK;
}

int temper_buf_append(struct temper_buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (n) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return TEMPER_OK;
}

int temper_buf_puts(struct temper_buf *b, const char *s)
{
    return temper_buf_append(b, s, strlen(s));
}

int temper_buf_vprintf(struct temper_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0) {
        return TEMPER_EINVAL;
    }
    int rc = buf_reserve(b, (size_t)n);
    if (rc != TEMPER_OK) {
        return rc;
    }
    int m = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    if (m != n) {
        b->data[b->len] = '\0';
        return TEMPER_EINTERNAL;
    }
    b->len += (size_t)n;
    return TEMPER_OK;
}

int temper_buf_printf(struct temper_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = temper_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *temper_buf_take(struct temper_buf *b, size_t *len)
{
    char *p = b->data;
    if (!p) {
        p = calloc(1, 1);
    }
    if (len) {
        *len = p ? b->len : 0;
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

char *temper_strdupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    char *p = malloc((size_t)n + 1);
    if (!p) {
        return NULL;
    }
    va_start(ap, fmt);
    int m = vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (m != n) {
        free(p);
        return NULL;
    }
    return p;
}

int temper_parse_ll(const char *s, long long *out)
{
    /* strtoll would skip leading white space: the whole string must be a number */
    if (!s || !*s || isspace((unsigned char)*s)) {
        return TEMPER_EINVAL;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        return TEMPER_EINVAL;
    }
    *out = v;
    return TEMPER_OK;
}

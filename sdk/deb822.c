/* temper — streaming deb822 stanza parser.
 *
 * One pass over a window buffer: each line is found with memchr, field
 * names and values are NUL-terminated in place (the colon and the end of
 * the value are overwritten), so a stanza costs no allocation at all.  The
 * window slides when the input runs out mid-stanza and grows only for a
 * stanza bigger than itself, up to max_stanza. */
#include "config.h"
#include "pkgindex_int.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WINDOW_INIT (256u * 1024u)

/* The field being read. */
struct scan {
    bool open;           /* a field is open */
    size_t vstart;       /* its value, offsets in buf */
    size_t vend;
};

struct temper_deb822 {
    struct temper_stage *st;
    struct pk_src src;
    struct temper_pkgindex_limits lim;
    unsigned flags;
    bool quiet;          /* return errors without recording them */
    char *name;
    char *buf;
    size_t cap;
    size_t start;        /* first byte of the current stanza */
    size_t pos;          /* next line to scan */
    size_t end;          /* bytes in buf */
    size_t nul_at;       /* offset of the first NUL byte read, SIZE_MAX if none */
    bool eof;
    int err;             /* sticky error, or 1 when finished */
    unsigned long line;  /* lines scanned */
    size_t n_stanzas;
    struct temper_deb822_field *fields;
    unsigned char *bits; /* bloom bit of each field name */
    size_t n_fields, cap_fields;
    uint64_t seen;
    struct scan sc;
    struct temper_deb822_stanza stanza;
};

static int fail_at(struct temper_deb822 *p, unsigned long line, int rc, const char *what,
                   const char *detail)
{
    p->err = p->quiet ? rc : temper_fail(p->st, rc, "%s:%lu: %s%s", p->name, line, what,
                                         detail ? detail : "");
    return p->err;
}

/* Move the current stanza to the front, grow the window if it is full, and
 * read more input. */
static int fill(struct temper_deb822 *p)
{
    size_t shift = p->start;
    if (shift) {
        memmove(p->buf, p->buf + shift, p->end - shift);
        for (size_t i = 0; i < p->n_fields; i++) {
            p->fields[i].name -= shift;
            p->fields[i].value -= shift;
        }
        p->pos -= shift;
        p->end -= shift;
        p->sc.vstart -= p->sc.open ? shift : 0;
        p->sc.vend -= p->sc.open ? shift : 0;
        p->start = 0;
        if (p->nul_at != SIZE_MAX) {
            p->nul_at -= shift;
        }
    }
    if (p->end + 1 >= p->cap) {
        if (p->cap > p->lim.max_stanza) {
            return fail_at(p, p->line + 1, TEMPER_ELIMIT, "stanza or line too large", NULL);
        }
        size_t ncap = p->cap * 2;
        char *nb = realloc(p->buf, ncap);
        if (!nb) {
            return fail_at(p, p->line + 1, TEMPER_ENOMEM, "out of memory", NULL);
        }
        for (size_t i = 0; i < p->n_fields; i++) {
            p->fields[i].name = nb + (p->fields[i].name - p->buf);
            p->fields[i].value = nb + (p->fields[i].value - p->buf);
        }
        p->buf = nb;
        p->cap = ncap;
    }
    ssize_t r = pk_src_read(p->st, &p->src, p->buf + p->end, p->cap - p->end - 1);
    if (r < 0) {
        p->err = (int)r;
        return p->err;
    }
    if (r == 0) {
        p->eof = true;
        return TEMPER_OK;
    }
    if (p->nul_at == SIZE_MAX) {
        const char *z = memchr(p->buf + p->end, '\0', (size_t)r);
        if (z) {
            p->nul_at = (size_t)(z - p->buf);
        }
    }
    p->end += (size_t)r;
    return TEMPER_OK;
}

static bool is_blank(const char *s, const char *e)
{
    for (; s < e; s++) {
        if (*s != ' ' && *s != '\t') {
            return false;
        }
    }
    return true;
}

/* Close the open field: trim trailing blanks and NUL-terminate. */
static int close_field(struct temper_deb822 *p, struct scan *sc)
{
    if (!sc->open) {
        return TEMPER_OK;
    }
    sc->open = false;
    size_t e = sc->vend;
    while (e > sc->vstart && (p->buf[e - 1] == ' ' || p->buf[e - 1] == '\t')) {
        e--;
    }
    struct temper_deb822_field *f = &p->fields[p->n_fields - 1];
    if (e - sc->vstart > p->lim.max_field) {
        char d[160];
        snprintf(d, sizeof d, "%.100s (more than %zu bytes)", f->name, p->lim.max_field);
        return fail_at(p, f->line, TEMPER_ELIMIT, "field too large: ", d);
    }
    p->buf[e] = '\0';
    f->value_len = e - sc->vstart;
    return TEMPER_OK;
}

/* Field names are case-insensitive in deb822, case-sensitive in APKINDEX
 * ("C" checksum, "c" commit). */
static int check_duplicate(struct temper_deb822 *p, size_t len, const char *name)
{
    bool apk = p->flags & TEMPER_DEB822_APKINDEX;
    unsigned fold = apk ? 0u : 0x20u;
    unsigned bit = (unsigned)(len * 7u + ((unsigned char)name[0] | fold) +
                              ((unsigned char)name[len - 1] | fold) * 3u) & 63u;
    if (p->seen & ((uint64_t)1 << bit)) {
        for (size_t i = 0; i < p->n_fields; i++) {
            const struct temper_deb822_field *f = &p->fields[i];
            if (p->bits[i] != bit || f->name_len != len ||
                (apk ? memcmp(f->name, name, len) : strncasecmp(f->name, name, len)) != 0) {
                continue;
            }
            char d[160];
            snprintf(d, sizeof d, "%.*s (first at line %lu)", (int)(len > 100 ? 100 : len),
                     name, f->line);
            return fail_at(p, p->line, TEMPER_EFORMAT, "duplicate field ", d);
        }
    }
    p->seen |= (uint64_t)1 << bit;
    return (int)bit;
}

/* The length of the field name at the start of line (n bytes, no newline),
 * which must end in ':'; a negative rc (recorded) otherwise. */
static long field_name(struct temper_deb822 *p, const char *line, size_t n)
{
    size_t k = 0;
    if (line[0] == '-' || (line[0] == '#' && !(p->flags & TEMPER_DEB822_COMMENTS))) {
        return fail_at(p, p->line, TEMPER_EFORMAT, "bad field name", NULL);
    }
    while (k < n && (unsigned char)line[k] > 0x20 && (unsigned char)line[k] < 0x7f &&
           line[k] != ':') {
        k++;
    }
    if (k == n || line[k] != ':') {
        return fail_at(p, p->line, TEMPER_EFORMAT,
                       k == n ? "line is not \"Field: value\"" : "bad character in field name",
                       NULL);
    }
    if (k == 0) {
        return fail_at(p, p->line, TEMPER_EFORMAT, "empty field name", NULL);
    }
    if ((p->flags & TEMPER_DEB822_APKINDEX) && k != 1) {
        return fail_at(p, p->line, TEMPER_EFORMAT, "line is not \"X:value\"", NULL);
    }
    return (long)k;
}

static int field_slot(struct temper_deb822 *p)
{
    if (p->n_fields >= p->lim.max_fields) {
        return fail_at(p, p->line, TEMPER_ELIMIT, "too many fields in one stanza", NULL);
    }
    if (p->n_fields == p->cap_fields) {
        size_t nc = p->cap_fields ? p->cap_fields * 2 : 32;
        struct temper_deb822_field *nf = realloc(p->fields, nc * sizeof *nf);
        unsigned char *nbits = nf ? realloc(p->bits, nc) : NULL;
        if (nf) {
            p->fields = nf;
        }
        if (!nbits) {
            return fail_at(p, p->line, TEMPER_ENOMEM, "out of memory", NULL);
        }
        p->bits = nbits;
        p->cap_fields = nc;
    }
    return TEMPER_OK;
}

static int add_field(struct temper_deb822 *p, struct scan *sc, size_t line_off, size_t eol)
{
    char *line = p->buf + line_off;
    size_t n = eol - line_off;
    long kl = field_name(p, line, n);
    int rc = kl < 0 ? (int)kl : field_slot(p);
    if (rc != TEMPER_OK) {
        return rc;
    }
    size_t k = (size_t)kl;
    int bit = check_duplicate(p, k, line);
    if (bit < 0) {
        return bit;
    }
    size_t v = k + 1;
    if (!(p->flags & TEMPER_DEB822_APKINDEX)) {
        while (v < n && (line[v] == ' ' || line[v] == '\t')) {
            v++;
        }
    }
    line[k] = '\0';
    if (n - v > p->lim.max_field) {
        char d[160];
        snprintf(d, sizeof d, "%.100s (more than %zu bytes)", line, p->lim.max_field);
        return fail_at(p, p->line, TEMPER_ELIMIT, "field too large: ", d);
    }
    struct temper_deb822_field *f = &p->fields[p->n_fields];
    p->bits[p->n_fields] = (unsigned char)bit;
    p->n_fields++;
    f->name = line;
    f->name_len = k;
    f->value = line + v;
    f->value_len = 0;
    f->line = p->line;
    sc->open = true;
    sc->vstart = line_off + v;
    sc->vend = eol;
    return TEMPER_OK;
}

/* One complete line [off, eol); returns 1 when it ends a stanza. */
static int scan_line(struct temper_deb822 *p, struct scan *sc, size_t off, size_t eol)
{
    const char *line = p->buf + off;
    if (eol > off && p->buf[eol - 1] == '\r') {
        p->buf[eol - 1] = ' ';
    }
    if (off == eol || ((*line == ' ' || *line == '\t') && is_blank(line, p->buf + eol))) {
        return p->n_fields ? 1 : 0;
    }
    if (*line == ' ' || *line == '\t') {
        if (!sc->open || (p->flags & TEMPER_DEB822_APKINDEX)) {
            return fail_at(p, p->line, TEMPER_EFORMAT, "continuation line outside a field",
                           NULL);
        }
        sc->vend = eol;
        if (eol - sc->vstart > p->lim.max_field) {
            const struct temper_deb822_field *f = &p->fields[p->n_fields - 1];
            char d[160];
            snprintf(d, sizeof d, "%.100s (more than %zu bytes)", f->name, p->lim.max_field);
            return fail_at(p, f->line, TEMPER_ELIMIT, "field too large: ", d);
        }
        return 0;
    }
    if (*line == '#' && (p->flags & TEMPER_DEB822_COMMENTS)) {
        return 0;
    }
    int rc = close_field(p, sc);
    if (rc == TEMPER_OK) {
        rc = add_field(p, sc, off, eol);
    }
    return rc;
}

static int finish_stanza(struct temper_deb822 *p, struct scan *sc,
                         const struct temper_deb822_stanza **out)
{
    int rc = close_field(p, sc);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (++p->n_stanzas > p->lim.max_stanzas) {
        return fail_at(p, p->fields[0].line, TEMPER_ELIMIT, "too many stanzas", NULL);
    }
    p->stanza.fields = p->fields;
    p->stanza.n_fields = p->n_fields;
    p->stanza.line = p->fields[0].line;
    *out = &p->stanza;
    return TEMPER_OK;
}

/* Next line end: the offset of '\n' (or of the end of input for a last line
 * without one); SIZE_MAX when more input is needed first. */
static size_t line_end(struct temper_deb822 *p)
{
    const char *nl = memchr(p->buf + p->pos, '\n', p->end - p->pos);
    if (nl) {
        return (size_t)(nl - p->buf);
    }
    return p->eof ? p->end : SIZE_MAX;
}

int temper_deb822_next(struct temper_deb822 *p, const struct temper_deb822_stanza **stanza)
{
    *stanza = NULL;
    if (p->err) {
        return p->err < 0 ? p->err : TEMPER_OK;
    }
    struct scan *sc = &p->sc;
    sc->open = false;
    p->start = p->pos;
    p->n_fields = 0;
    p->seen = 0;
    for (;;) {
        size_t eol = line_end(p);
        if (eol == SIZE_MAX) {
            int rc = fill(p);
            if (rc != TEMPER_OK) {
                return rc;
            }
            continue;
        }
        if (p->pos == p->end) { /* end of input */
            p->err = 1;
            return p->n_fields ? finish_stanza(p, sc, stanza) : TEMPER_OK;
        }
        p->line++;
        if (eol == p->end) {
            return fail_at(p, p->line, TEMPER_EFORMAT,
                           "truncated input (no newline at the end of the last line)", NULL);
        }
        if (p->nul_at <= eol) {
            return fail_at(p, p->line, TEMPER_EFORMAT, "NUL byte in input", NULL);
        }
        size_t off = p->pos;
        p->pos = eol + 1;
        int r = scan_line(p, sc, off, eol);
        if (r < 0) {
            return r;
        }
        if (eol - p->start > p->lim.max_stanza) {
            return fail_at(p, p->line, TEMPER_ELIMIT, "stanza too large", NULL);
        }
        if (r == 1) {
            return finish_stanza(p, sc, stanza);
        }
        if (!p->n_fields) {
            p->start = p->pos; /* blank or comment lines before a stanza */
        }
    }
}

static int deb822_new(struct temper_stage *st, const char *name,
                      const struct temper_pkgindex_limits *lim, unsigned flags,
                      size_t window, bool quiet, struct temper_deb822 **out)
{
    struct temper_deb822 *p = calloc(1, sizeof *p);
    if (!p) {
        return quiet ? TEMPER_ENOMEM : temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
    }
    p->st = st;
    p->quiet = quiet;
    p->flags = flags;
    p->src.fd = -1;
    p->nul_at = SIZE_MAX;
    pk_limits(lim, &p->lim);
    p->cap = window;
    p->name = strdup(name);
    p->buf = malloc(p->cap);
    if (!p->name || !p->buf) {
        temper_deb822_free(p);
        return quiet ? TEMPER_ENOMEM : temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
    }
    *out = p;
    return TEMPER_OK;
}

int pk_deb822_open_range(const char *name, int fd, unsigned long long off,
                         unsigned long long len, const struct temper_pkgindex_limits *lim,
                         struct temper_deb822 **out)
{
    *out = NULL;
    struct temper_deb822 *p = NULL;
    int rc = deb822_new(NULL, name, lim, 0, WINDOW_INIT, true, &p);
    if (rc != TEMPER_OK) {
        return rc;
    }
    p->src.kind = PK_SRC_RANGE;
    p->src.fd = fd;
    p->src.off = off;
    p->src.left = len;
    p->src.name = p->name;
    *out = p;
    return TEMPER_OK;
}

unsigned long pk_deb822_lines(const struct temper_deb822 *p)
{
    return p->line;
}

int temper_deb822_open_file(struct temper_stage *st, const char *path,
                            const struct temper_pkgindex_limits *lim, unsigned flags,
                            struct temper_deb822 **out)
{
    *out = NULL;
    struct temper_deb822 *p = NULL;
    int rc = deb822_new(st, path, lim, flags, WINDOW_INIT, false, &p);
    if (rc == TEMPER_OK) {
        rc = pk_src_open_file(st, &p->src, p->name, p->lim.max_input);
    }
    if (rc != TEMPER_OK) {
        temper_deb822_free(p);
        return rc;
    }
    *out = p;
    return TEMPER_OK;
}

int temper_deb822_open_mem(struct temper_stage *st, const char *name, const void *data,
                           size_t len, const struct temper_pkgindex_limits *lim,
                           unsigned flags, struct temper_deb822 **out)
{
    *out = NULL;
    struct temper_deb822 *p = NULL;
    size_t window = WINDOW_INIT;
    if (!pk_compression(data, len) && len < window) {
        window = len + 2 > 64 ? len + 2 : 64;
    }
    int rc = deb822_new(st, name ? name : "(buffer)", lim, flags, window, false, &p);
    if (rc == TEMPER_OK) {
        rc = pk_src_open_mem(st, &p->src, p->name, data, len, p->lim.max_input);
    }
    if (rc != TEMPER_OK) {
        temper_deb822_free(p);
        return rc;
    }
    *out = p;
    return TEMPER_OK;
}

void pk_deb822_first_line(struct temper_deb822 *p, unsigned long first)
{
    p->line = first ? first - 1 : 0;
}

const char *temper_deb822_name(const struct temper_deb822 *p)
{
    return p ? p->name : NULL;
}

void temper_deb822_free(struct temper_deb822 *p)
{
    if (!p) {
        return;
    }
    pk_src_close(&p->src);
    free(p->name);
    free(p->buf);
    free(p->fields);
    free(p->bits);
    free(p);
}

const struct temper_deb822_field *temper_deb822_get(const struct temper_deb822_stanza *s,
                                                    const char *name)
{
    if (!s || !name) {
        return NULL;
    }
    for (size_t i = 0; i < s->n_fields; i++) {
        if (strcasecmp(s->fields[i].name, name) == 0) {
            return &s->fields[i];
        }
    }
    return NULL;
}

int temper_deb822_fold(const struct temper_deb822_field *f, char **out)
{
    *out = malloc(f->value_len + 1);
    if (!*out) {
        return TEMPER_ENOMEM;
    }
    char *o = *out;
    const char *s = f->value;
    const char *e = s + f->value_len;
    while (s < e) {
        if (*s == '\n') {
            while (o > *out && (o[-1] == ' ' || o[-1] == '\t')) {
                o--;
            }
            s++;
            while (s < e && (*s == ' ' || *s == '\t')) {
                s++;
            }
            if (o > *out && s < e) {
                *o++ = ' ';
            }
            continue;
        }
        *o++ = *s++;
    }
    *o = '\0';
    return TEMPER_OK;
}

/* temper — Debian package table: Packages indexes and dpkg status files
 * loaded in one pass into an arena, with name and Provides lookups. */
#include "config.h"
#include "pkgindex_int.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Interned fields remember their last value: neighbouring stanzas (the
 * binaries of one source) mostly repeat it. */
enum { C_ARCH, C_MULTIARCH, C_PRIORITY, C_SECTION, C_MAINTAINER, C_STATUS, C_SOURCE, C_N };

struct temper_debindex {
    struct pk_table t;        /* of temper_debpkg, providers temper_debprov */
    const char *last[C_N];
    size_t last_len[C_N];
};

enum fid {
    F_NONE = 0, F_PACKAGE, F_VERSION, F_ARCH, F_SOURCE, F_DEPENDS, F_PREDEPENDS, F_PROVIDES,
    F_RECOMMENDS, F_MULTIARCH, F_ESSENTIAL, F_PRIORITY, F_SECTION, F_FILENAME, F_SIZE,
    F_SHA256, F_ISIZE, F_MAINTAINER, F_DESCRIPTION, F_STATUS
};

/* Known fields: the length and one letter pick the only candidate, which is
 * compared as written in every real index first, then case-insensitively. */
#define IS(lit) (memcmp(name, lit, sizeof lit - 1) == 0 || strcasecmp(name, lit) == 0)

static enum fid field_id(const char *name, size_t len)
{
    unsigned c0 = (unsigned char)name[0] | 0x20u;
    switch (len) {
    case 4: return IS("Size") ? F_SIZE : F_NONE;
    case 6:
        switch ((unsigned char)name[1] | 0x20u) {
        case 'o': return IS("Source") ? F_SOURCE : F_NONE;
        case 'h': return IS("SHA256") ? F_SHA256 : F_NONE;
        case 't': return IS("Status") ? F_STATUS : F_NONE;
        default: return F_NONE;
        }
    case 7:
        switch (c0) {
        case 'p': return IS("Package") ? F_PACKAGE : F_NONE;
        case 'v': return IS("Version") ? F_VERSION : F_NONE;
        case 'd': return IS("Depends") ? F_DEPENDS : F_NONE;
        case 's': return IS("Section") ? F_SECTION : F_NONE;
        default: return F_NONE;
        }
    case 8:
        switch ((unsigned char)name[2] | 0x20u) {
        case 'o': return IS("Provides") ? F_PROVIDES : F_NONE;
        case 'i': return IS("Priority") ? F_PRIORITY : F_NONE;
        case 'l': return IS("Filename") ? F_FILENAME : F_NONE;
        default: return F_NONE;
        }
    case 9: return c0 == 'e' && IS("Essential") ? F_ESSENTIAL : F_NONE;
    case 10:
        switch ((unsigned char)name[1] | 0x20u) {
        case 'e': return IS("Recommends") ? F_RECOMMENDS : F_NONE;
        case 'u': return IS("Multi-Arch") ? F_MULTIARCH : F_NONE;
        case 'a': return IS("Maintainer") ? F_MAINTAINER : F_NONE;
        default: return F_NONE;
        }
    case 11:
        switch (c0) {
        case 'p': return IS("Pre-Depends") ? F_PREDEPENDS : F_NONE;
        case 'd': return IS("Description") ? F_DESCRIPTION : F_NONE;
        default: return F_NONE;
        }
    case 12: return c0 == 'a' && IS("Architecture") ? F_ARCH : F_NONE;
    case 14: return c0 == 'i' && IS("Installed-Size") ? F_ISIZE : F_NONE;
    default: return F_NONE;
    }
}

/* Per-stanza context while filling one package. */
struct fill {
    struct temper_stage *st;
    bool quiet;                 /* return errors without recording them */
    uint32_t name_hash;
    struct temper_debindex *idx;
    struct temper_deb822 *p;
    struct temper_debpkg *pkg;
    const struct temper_deb822_field *src; /* Source field, resolved last */
    const struct temper_deb822_field *prov;
};

/* Record "FILE:LINE: message" (unless quiet); returns rc. */
static int fail(struct fill *f, int rc, unsigned long line, const char *fmt, ...)
    TEMPER_PRINTF(4, 5);

static int fail(struct fill *f, int rc, unsigned long line, const char *fmt, ...)
{
    if (f->quiet) {
        return rc;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return temper_fail(f->st, rc, "%s:%lu: %s", temper_deb822_name(f->p), line,
                       n >= 0 ? msg : "?");
}

static int bad(struct fill *f, const struct temper_deb822_field *fl, int rc, const char *what)
{
    return fail(f, rc, fl ? fl->line : 0, "%s", what);
}

/* Copy a value; relation fields spread over lines are folded to one line. */
static const char *copy_value(struct temper_debindex *idx, const struct temper_deb822_field *fl,
                              bool fold)
{
    if (!fold || !memchr(fl->value, '\n', fl->value_len)) {
        return pk_arena_strndup(&idx->t.arena, fl->value, fl->value_len);
    }
    char *o = pk_arena_alloc(&idx->t.arena, fl->value_len + 1);
    if (!o) {
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < fl->value_len; i++) {
        char c = fl->value[i];
        if (c == '\n' || c == '\t' || c == '\r') {
            c = ' ';
        }
        if (c == ' ' && (k == 0 || o[k - 1] == ' ')) {
            continue;
        }
        o[k++] = c;
    }
    o[k] = '\0';
    return o;
}

static const char *first_line(struct temper_debindex *idx, const struct temper_deb822_field *fl)
{
    const char *nl = memchr(fl->value, '\n', fl->value_len);
    size_t n = nl ? (size_t)(nl - fl->value) : fl->value_len;
    while (n && (fl->value[n - 1] == ' ' || fl->value[n - 1] == '\t')) {
        n--;
    }
    return pk_arena_strndup(&idx->t.arena, fl->value, n);
}

static const char *intern_n(struct temper_debindex *idx, int c, const char *s, size_t n)
{
    if (idx->last[c] && idx->last_len[c] == n && memcmp(idx->last[c], s, n) == 0) {
        return idx->last[c];
    }
    const char *v = pk_intern(&idx->t.strings, &idx->t.arena, s, n);
    if (v) {
        idx->last[c] = v;
        idx->last_len[c] = n;
    }
    return v;
}

static const char *intern(struct temper_debindex *idx, int c,
                          const struct temper_deb822_field *fl)
{
    return intern_n(idx, c, fl->value, fl->value_len);
}

/* Store one known field; returns an rc (ENOMEM or EFORMAT, not yet recorded
 * for ENOMEM). */
static int store_field(struct fill *f, enum fid id, const struct temper_deb822_field *fl)
{
    struct temper_debpkg *pk = f->pkg;
    struct temper_debindex *idx = f->idx;
    const char **slot = NULL;
    const char *v = NULL;
    switch (id) {
    case F_PACKAGE:
        slot = &pk->name;
        v = copy_value(idx, fl, false);
        f->name_hash = pk_hash(fl->value, fl->value_len);
        pk_map_prefetch(&idx->t.names, f->name_hash); /* used when the stanza ends */
        break;
    case F_VERSION: slot = &pk->version; v = copy_value(idx, fl, false); break;
    case F_ARCH: slot = &pk->arch; v = intern(idx, C_ARCH, fl); break;
    case F_DEPENDS: slot = &pk->depends; v = copy_value(idx, fl, true); break;
    case F_PREDEPENDS: slot = &pk->pre_depends; v = copy_value(idx, fl, true); break;
    case F_RECOMMENDS: slot = &pk->recommends; v = copy_value(idx, fl, true); break;
    case F_PROVIDES:
        slot = &pk->provides;
        v = copy_value(idx, fl, true);
        f->prov = fl;
        break;
    case F_MULTIARCH: slot = &pk->multi_arch; v = intern(idx, C_MULTIARCH, fl); break;
    case F_PRIORITY: slot = &pk->priority; v = intern(idx, C_PRIORITY, fl); break;
    case F_SECTION: slot = &pk->section; v = intern(idx, C_SECTION, fl); break;
    case F_FILENAME: slot = &pk->filename; v = copy_value(idx, fl, false); break;
    case F_SHA256: slot = &pk->sha256; v = copy_value(idx, fl, false); break;
    case F_MAINTAINER: slot = &pk->maintainer; v = intern(idx, C_MAINTAINER, fl); break;
    case F_DESCRIPTION: slot = &pk->description; v = first_line(idx, fl); break;
    case F_STATUS: slot = &pk->status; v = intern(idx, C_STATUS, fl); break;
    case F_SOURCE: f->src = fl; return TEMPER_OK;
    case F_ESSENTIAL: pk->essential = strcasecmp(fl->value, "yes") == 0; return TEMPER_OK;
    case F_SIZE:
        return pk_parse_u64(fl->value, &pk->size) == TEMPER_OK
                   ? TEMPER_OK : bad(f, fl, TEMPER_EFORMAT, "bad Size");
    case F_ISIZE:
        return pk_parse_u64(fl->value, &pk->installed_size) == TEMPER_OK
                   ? TEMPER_OK : bad(f, fl, TEMPER_EFORMAT, "bad Installed-Size");
    default: return TEMPER_OK;
    }
    *slot = v;
    return v ? TEMPER_OK : TEMPER_ENOMEM;
}

/* "Source: name" or "Source: name (version)". */
static int resolve_source(struct fill *f)
{
    struct temper_debpkg *pk = f->pkg;
    if (!f->src) {
        pk->source = pk->name;
        pk->source_version = pk->version;
        return TEMPER_OK;
    }
    const char *s = f->src->value;
    size_t n = strcspn(s, " \t\n(");
    const char *rest = s + n;
    rest += strspn(rest, " \t\n");
    if (n == 0) {
        return bad(f, f->src, TEMPER_EFORMAT, "bad Source");
    }
    pk->source = intern_n(f->idx, C_SOURCE, s, n);
    pk->source_version = pk->version;
    if (*rest == '(') {
        const char *v = rest + 1 + strspn(rest + 1, " \t");
        size_t vn = strcspn(v, " \t\n)");
        const char *close = v + vn + strspn(v + vn, " \t");
        if (vn == 0 || *close != ')' || close[1 + strspn(close + 1, " \t")] != '\0') {
            return bad(f, f->src, TEMPER_EFORMAT, "bad Source version");
        }
        pk->source_version = pk_arena_strndup(&f->idx->t.arena, v, vn);
    } else if (*rest) {
        return bad(f, f->src, TEMPER_EFORMAT, "bad Source");
    }
    return pk->source && pk->source_version ? TEMPER_OK : TEMPER_ENOMEM;
}

static int add_provider(void *ctx, const struct pk_rel *r)
{
    struct fill *f = ctx;
    struct pk_table *t = &f->idx->t;
    if (r->op != TEMPER_DEP_ANY && r->op != TEMPER_DEP_EQ) {
        return TEMPER_EFORMAT;
    }
    struct temper_debprov *pv = pk_arena_alloc(&t->arena, sizeof *pv);
    if (!pv) {
        return TEMPER_ENOMEM;
    }
    pv->version = r->ver ? pk_arena_strndup(&t->arena, r->ver, r->ver_len) : NULL;
    pv->pkg = f->pkg;
    pv->next = NULL;
    if (r->ver && !pv->version) {
        return TEMPER_ENOMEM;
    }
    return pk_table_provide(t, pv, r->name, r->name_len, PK_NEXT(temper_debprov, next),
                            &pv->name);
}

static int index_package(struct fill *f)
{
    struct temper_debpkg *pk = f->pkg;
    int rc = pk_table_add(&f->idx->t, pk, pk->name, strlen(pk->name), f->name_hash,
                          PK_NEXT(temper_debpkg, next_same_name));
    if (rc != TEMPER_OK || !f->prov) {
        return rc;
    }
    const char *why = NULL;
    rc = pk_deb_rel_scan(f->prov->value, f->prov->value_len, add_provider, f, &why);
    if (rc == TEMPER_EFORMAT) {
        return fail(f, rc, f->prov->line, "bad Provides: %s",
                    why ? why : "only \"=\" versions allowed");
    }
    return rc;
}

static int add_stanza(struct fill *f, const struct temper_deb822_stanza *s)
{
    struct temper_debpkg *pk = pk_arena_alloc(&f->idx->t.arena, sizeof *pk);
    if (!pk) {
        return TEMPER_ENOMEM;
    }
    memset(pk, 0, sizeof *pk);
    pk->line = s->line;
    f->pkg = pk;
    f->src = NULL;
    f->prov = NULL;
    for (size_t i = 0; i < s->n_fields; i++) {
        enum fid id = field_id(s->fields[i].name, s->fields[i].name_len);
        if (id != F_NONE) {
            int rc = store_field(f, id, &s->fields[i]);
            if (rc != TEMPER_OK) {
                return rc;
            }
        }
    }
    if (!pk->name || !*pk->name) {
        return fail(f, TEMPER_EFORMAT, s->line, "stanza without Package");
    }
    if (!pk->version) {
        if (!pk->status) {
            return fail(f, TEMPER_EFORMAT, s->line, "package %s without Version", pk->name);
        }
        pk->version = "";
    }
    int rc = resolve_source(f);
    if (rc == TEMPER_OK) {
        rc = index_package(f);
    }
    return rc;
}

int pk_debindex_build(struct temper_stage *st, struct temper_deb822 *p, bool quiet,
                      unsigned long *lines, struct temper_debindex **out)
{
    *out = NULL;
    struct temper_debindex *idx = calloc(1, sizeof *idx);
    if (!idx) {
        temper_deb822_free(p);
        return quiet ? TEMPER_ENOMEM : temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    pk_table_init(&idx->t);
    struct fill f = { .st = st, .quiet = quiet, .idx = idx, .p = p };
    int rc;
    for (;;) {
        const struct temper_deb822_stanza *s = NULL;
        rc = temper_deb822_next(p, &s);
        if (rc != TEMPER_OK || !s) {
            break; /* errors recorded by the parser */
        }
        rc = add_stanza(&f, s);
        if (rc == TEMPER_ENOMEM) {
            rc = fail(&f, rc, s->line, "out of memory");
        }
        if (rc != TEMPER_OK) {
            break;
        }
    }
    if (lines) {
        *lines = pk_deb822_lines(p);
    }
    temper_deb822_free(p);
    if (rc != TEMPER_OK) {
        temper_debindex_free(idx);
        return rc;
    }
    *out = idx;
    return TEMPER_OK;
}

/* Move the lists of every key of `from` behind those of the same key in
 * `to`; next_off locates the link in the items. */
static int map_append(struct pk_map *to, const struct pk_map *from, size_t next_off)
{
    for (size_t i = 0; i < from->n; i++) {
        const struct pk_slot *fs = &from->entries[i];
        struct pk_slot *ts = pk_map_add(to, fs->key, fs->len, fs->hash);
        if (!ts) {
            return TEMPER_ENOMEM;
        }
        if (ts->last) {
            memcpy((char *)ts->last + next_off, &fs->first, sizeof fs->first);
        } else {
            ts->first = fs->first;
        }
        ts->last = fs->last;
    }
    return TEMPER_OK;
}

int pk_debindex_append(struct temper_debindex *a, struct temper_debindex *b,
                       unsigned long line_offset)
{
    int rc = TEMPER_OK;
    if (a->t.cap - a->t.n < b->t.n) {
        void **ni = realloc(a->t.items, (a->t.n + b->t.n) * sizeof *ni);
        rc = ni ? TEMPER_OK : TEMPER_ENOMEM;
        if (ni) {
            a->t.items = ni;
            a->t.cap = a->t.n + b->t.n;
        }
    }
    if (rc == TEMPER_OK) {
        rc = map_append(&a->t.names, &b->t.names, PK_NEXT(temper_debpkg, next_same_name));
    }
    if (rc == TEMPER_OK) {
        rc = map_append(&a->t.provides, &b->t.provides, PK_NEXT(temper_debprov, next));
    }
    if (rc == TEMPER_OK) {
        for (size_t i = 0; i < b->t.n; i++) {
            struct temper_debpkg *pk = b->t.items[i];
            pk->line += line_offset;
            a->t.items[a->t.n++] = pk;
        }
        pk_arena_splice(&a->t.arena, &b->t.arena); /* b's strings live on in a */
    }
    temper_debindex_free(b);
    return rc;
}

int temper_debindex_load(struct temper_stage *st, const char *path,
                         const struct temper_pkgindex_limits *lim, struct temper_debindex **out)
{
    *out = NULL;
    if (pk_debindex_load_split(st, path, lim, out) == TEMPER_OK) {
        return TEMPER_OK;
    }
    struct temper_deb822 *p = NULL;
    int rc = temper_deb822_open_file(st, path, lim, 0, &p);
    return rc == TEMPER_OK ? pk_debindex_build(st, p, false, NULL, out) : rc;
}

int temper_debindex_load_mem(struct temper_stage *st, const char *name, const void *data,
                             size_t len, const struct temper_pkgindex_limits *lim,
                             struct temper_debindex **out)
{
    *out = NULL;
    struct temper_deb822 *p = NULL;
    int rc = temper_deb822_open_mem(st, name, data, len, lim, 0, &p);
    return rc == TEMPER_OK ? pk_debindex_build(st, p, false, NULL, out) : rc;
}

void temper_debindex_free(struct temper_debindex *idx)
{
    if (!idx) {
        return;
    }
    pk_table_cleanup(&idx->t);
    free(idx);
}

size_t temper_debindex_count(const struct temper_debindex *idx)
{
    return idx ? idx->t.n : 0;
}

const struct temper_debpkg *temper_debindex_at(const struct temper_debindex *idx, size_t i)
{
    return idx ? pk_table_at(&idx->t, i) : NULL;
}

const struct temper_debpkg *temper_debindex_find(const struct temper_debindex *idx,
                                                 const char *name)
{
    return idx && name ? pk_table_first(&idx->t.names, name) : NULL;
}

const struct temper_debprov *temper_debindex_providers(const struct temper_debindex *idx,
                                                       const char *name)
{
    return idx && name ? pk_table_first(&idx->t.provides, name) : NULL;
}

/* temper — Alpine APKINDEX: the signed tarball, the "X:value" records, and
 * the package table with name and provider lookups. */
#include "config.h"
#include "pkgindex_int.h"
#include <temper/buf.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SIG_MEMBER_SCAN (64u * 1024u)  /* the signature member is ~1 KiB */
#define SIG_MEMBER_MAX (64u * 1024u)
#define DESCRIPTION_MAX 4096u
#define APKINDEX_MAX (256ull * 1024 * 1024) /* Alpine's biggest: ~10 MB of text */

struct temper_apkindex {
    struct pk_table t;           /* of temper_apkpkg, providers temper_apkprov */
    char *name;
    char *description;
    struct temper_apksig sig;
    char *sig_key;
    unsigned char *sig_bytes;
    unsigned char *raw;          /* the input, kept for sig.signed_data */
};

/* ---- table ---------------------------------------------------------------- */

struct temper_apkindex *pk_apkindex_new(struct temper_stage *st, const char *name)
{
    struct temper_apkindex *idx = calloc(1, sizeof *idx);
    if (idx) {
        pk_table_init(&idx->t);
        idx->name = strdup(name);
    }
    if (!idx || !idx->name) {
        temper_apkindex_free(idx);
        temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
        return NULL;
    }
    return idx;
}

struct pk_arena *pk_apkindex_arena(struct temper_apkindex *idx)
{
    return &idx->t.arena;
}

const char *pk_apkindex_intern(struct temper_apkindex *idx, const char *s, size_t n)
{
    return pk_intern(&idx->t.strings, &idx->t.arena, s, n);
}

struct temper_apkpkg *pk_apkpkg_new(struct temper_apkindex *idx)
{
    struct temper_apkpkg *pk = pk_arena_alloc(&idx->t.arena, sizeof *pk);
    if (pk) {
        memset(pk, 0, sizeof *pk);
    }
    return pk;
}

struct provctx {
    struct temper_apkindex *idx;
    struct temper_apkpkg *pkg;
};

static int add_provider(void *ctx, const struct pk_rel *r)
{
    struct provctx *c = ctx;
    struct pk_table *t = &c->idx->t;
    if ((r->op != TEMPER_DEP_ANY && r->op != TEMPER_DEP_EQ) || r->conflict) {
        return TEMPER_EFORMAT;
    }
    struct temper_apkprov *pv = pk_arena_alloc(&t->arena, sizeof *pv);
    if (!pv) {
        return TEMPER_ENOMEM;
    }
    pv->version = r->ver ? pk_arena_strndup(&t->arena, r->ver, r->ver_len) : NULL;
    pv->pkg = c->pkg;
    pv->next = NULL;
    if (r->ver && !pv->version) {
        return TEMPER_ENOMEM;
    }
    return pk_table_provide(t, pv, r->name, r->name_len, PK_NEXT(temper_apkprov, next),
                            &pv->name);
}

int pk_apkindex_add(struct temper_stage *st, const char *file, struct temper_apkindex *idx,
                    struct temper_apkpkg *pk)
{
    size_t len = strlen(pk->name);
    if (pk_table_add(&idx->t, pk, pk->name, len, pk_hash(pk->name, len),
                     PK_NEXT(temper_apkpkg, next_same_name)) != TEMPER_OK) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", file);
    }
    if (!pk->provides) {
        return TEMPER_OK;
    }
    struct provctx c = { idx, pk };
    const char *why = NULL;
    int rc = pk_apk_rel_scan(pk->provides, strlen(pk->provides), add_provider, &c, &why);
    if (rc == TEMPER_EFORMAT) {
        return temper_fail(st, rc, "%s:%lu: bad provides of %s: %s", file, pk->line, pk->name,
                           why ? why : "only \"=\" versions allowed");
    }
    return rc == TEMPER_OK ? rc : temper_fail(st, rc, "%s: out of memory", file);
}

/* ---- APKINDEX records --------------------------------------------------------- */

static int number(struct temper_stage *st, const char *file,
                  const struct temper_deb822_field *fl, unsigned long long *out)
{
    if (pk_parse_u64(fl->value, out) != TEMPER_OK || *out > (unsigned long long)INT64_MAX) {
        return temper_fail(st, TEMPER_EFORMAT, "%s:%lu: bad number in %s:", file, fl->line,
                           fl->name);
    }
    return TEMPER_OK;
}

/* Store one "X:value" field of a record. */
static int apk_field(struct temper_stage *st, const char *file, struct temper_apkindex *idx,
                     struct temper_apkpkg *pk, const struct temper_deb822_field *fl)
{
    const char **slot = NULL;
    bool interned = false;
    unsigned long long v = 0;
    switch (fl->name[0]) {
    case 'C': slot = &pk->checksum; break;
    case 'P': slot = &pk->name; break;
    case 'V': slot = &pk->version; break;
    case 'A': slot = &pk->arch; interned = true; break;
    case 'T': slot = &pk->description; break;
    case 'U': slot = &pk->url; break;
    case 'L': slot = &pk->license; interned = true; break;
    case 'o': slot = &pk->origin; interned = true; break;
    case 'm': slot = &pk->maintainer; interned = true; break;
    case 'c': slot = &pk->commit; interned = true; break;
    case 'D': slot = &pk->depends; break;
    case 'p': slot = &pk->provides; break;
    case 'i': slot = &pk->install_if; break;
    case 'r': slot = &pk->replaces; break;
    case 'S': return number(st, file, fl, &pk->size);
    case 'I': return number(st, file, fl, &pk->installed_size);
    case 't':
        if (number(st, file, fl, &v) != TEMPER_OK) {
            return TEMPER_EFORMAT;
        }
        pk->build_time = (long long)v;
        return TEMPER_OK;
    case 'k':
        if (number(st, file, fl, &v) != TEMPER_OK) {
            return TEMPER_EFORMAT;
        }
        pk->provider_priority = (long long)v;
        return TEMPER_OK;
    default: return TEMPER_OK; /* q, F, M, R, a, Z, ...: not kept */
    }
    *slot = interned ? pk_intern(&idx->t.strings, &idx->t.arena, fl->value, fl->value_len)
                     : pk_arena_strndup(&idx->t.arena, fl->value, fl->value_len);
    return *slot ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", file);
}

static int apk_record(struct temper_stage *st, const char *file, struct temper_apkindex *idx,
                      const struct temper_deb822_stanza *s)
{
    struct temper_apkpkg *pk = pk_apkpkg_new(idx);
    if (!pk) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", file);
    }
    pk->line = s->line;
    for (size_t i = 0; i < s->n_fields; i++) {
        int rc = apk_field(st, file, idx, pk, &s->fields[i]);
        if (rc != TEMPER_OK) {
            return rc;
        }
    }
    if (!pk->name || !*pk->name || !pk->version || !*pk->version) {
        return temper_fail(st, TEMPER_EFORMAT, "%s:%lu: record without %s", file, s->line,
                           !pk->name || !*pk->name ? "P: (package name)" : "V: (version)");
    }
    if (!pk->origin) {
        pk->origin = pk->name;
    }
    return pk_apkindex_add(st, file, idx, pk);
}

static int parse_text(struct temper_stage *st, const char *file, const void *text, size_t len,
                      const struct temper_pkgindex_limits *lim, struct temper_apkindex *idx)
{
    struct temper_deb822 *p = NULL;
    int rc = temper_deb822_open_mem(st, file, text, len, lim, TEMPER_DEB822_APKINDEX, &p);
    while (rc == TEMPER_OK) {
        const struct temper_deb822_stanza *s = NULL;
        rc = temper_deb822_next(p, &s);
        if (rc != TEMPER_OK || !s) {
            break;
        }
        rc = apk_record(st, file, idx, s);
    }
    temper_deb822_free(p);
    return rc;
}

/* ---- the tarball -------------------------------------------------------------- */

static int read_entry(struct temper_stage *st, const char *what, struct archive *a,
                      size_t max, struct temper_buf *out)
{
    temper_buf_init(out, max);
    char block[65536];
    for (;;) {
        la_ssize_t r = archive_read_data(a, block, sizeof block);
        if (r == 0) {
            return TEMPER_OK;
        }
        if (r < 0) {
            return temper_fail(st, TEMPER_EFORMAT, "%s: %s", what, archive_error_string(a));
        }
        if (temper_buf_append(out, block, (size_t)r) != TEMPER_OK) {
            return temper_fail(st, TEMPER_ELIMIT, "%s: larger than %zu bytes", what, max);
        }
    }
}

/* Check one tar entry; *kind: 1 APKINDEX, 2 DESCRIPTION, 0 skip. */
static int entry_kind(struct temper_stage *st, const char *name, struct archive_entry *e,
                      int *kind)
{
    const char *path = archive_entry_pathname(e);
    *kind = 0;
    if (!pk_path_safe(path)) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: unsafe path \"%.200s\" in the index "
                           "tarball", name, path ? path : "(none)");
    }
    if (archive_entry_hardlink(e) || archive_entry_symlink(e)) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: link entry \"%.200s\" in the index "
                           "tarball", name, path);
    }
    while (path[0] == '.' && path[1] == '/') {
        path += 2;
    }
    if (strncmp(path, ".SIGN.", 6) == 0) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: signature entry %.200s outside the first "
                           "gzip member (corrupt signature member?)", name, path);
    }
    if (archive_entry_filetype(e) != AE_IFREG) {
        return TEMPER_OK;
    }
    *kind = strcmp(path, "APKINDEX") == 0 ? 1 : strcmp(path, "DESCRIPTION") == 0 ? 2 : 0;
    return TEMPER_OK;
}

static int description(struct temper_apkindex *idx, struct temper_buf *b)
{
    while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r')) {
        b->data[--b->len] = '\0';
    }
    idx->description = temper_buf_take(b, NULL);
    return idx->description ? TEMPER_OK : TEMPER_ENOMEM;
}

static int read_tarball(struct temper_stage *st, const char *name, const unsigned char *data,
                        size_t len, const struct temper_pkgindex_limits *lim,
                        struct temper_apkindex *idx)
{
    struct archive *a = pk_archive_mem(st, name, data, len, 1);
    if (!a) {
        return TEMPER_EFORMAT;
    }
    struct temper_buf text = { NULL, 0, 0, 0 };
    bool have = false;
    int rc = TEMPER_OK;
    char what[512];
    /* declared sizes are checked before libarchive inflates (or skips) an
     * entry, so a bomb stops at its header */
    unsigned long long budget = lim->max_input < APKINDEX_MAX ? lim->max_input : APKINDEX_MAX;
    while (rc == TEMPER_OK) {
        struct archive_entry *e = NULL;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) {
            break;
        }
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            rc = temper_fail(st, TEMPER_EFORMAT, "%s: %s", name, archive_error_string(a));
            break;
        }
        la_int64_t size = archive_entry_size(e);
        if (size < 0 || (unsigned long long)size > budget) {
            rc = temper_fail(st, TEMPER_ELIMIT, "%s: tar entries larger than %llu bytes", name,
                             budget);
            break;
        }
        budget -= (unsigned long long)size;
        int kind = 0;
        rc = entry_kind(st, name, e, &kind);
        snprintf(what, sizeof what, "%s/%s", name, kind == 2 ? "DESCRIPTION" : "APKINDEX");
        if (rc == TEMPER_OK && kind == 1 && have) {
            rc = temper_fail(st, TEMPER_EFORMAT, "%s: two APKINDEX entries", name);
        } else if (rc == TEMPER_OK && kind == 1) {
            have = true;
            rc = read_entry(st, what, a, (size_t)APKINDEX_MAX, &text);
        } else if (rc == TEMPER_OK && kind == 2 && !idx->description) {
            struct temper_buf d;
            rc = read_entry(st, what, a, DESCRIPTION_MAX, &d);
            if (rc == TEMPER_OK && description(idx, &d) != TEMPER_OK) {
                rc = temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
            }
            temper_buf_cleanup(&d);
        }
    }
    archive_read_free(a);
    if (rc == TEMPER_OK && !have) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: no APKINDEX entry in the tarball", name);
    }
    snprintf(what, sizeof what, "%s/APKINDEX", name);
    if (rc == TEMPER_OK) {
        rc = parse_text(st, what, text.data ? text.data : "", text.len, lim, idx);
    }
    temper_buf_cleanup(&text);
    return rc;
}

/* The first gzip member, when it is a signature tar segment: fills idx->sig
 * and *body (the offset of the signed members).  TEMPER_ENOTFOUND: unsigned. */
static int split_signature(struct temper_stage *st, const char *name, const unsigned char *data,
                           size_t len, struct temper_apkindex *idx, size_t *body)
{
    unsigned char *tar = NULL;
    size_t tar_len = 0, end = 0;
    int rc = pk_gzip_member(st, name, data, len, SIG_MEMBER_SCAN, SIG_MEMBER_MAX, &end, &tar,
                            &tar_len);
    if (rc == TEMPER_ENOMEM) {
        return temper_fail(st, rc, "%s: out of memory", name);
    }
    if (rc != TEMPER_OK) {
        return TEMPER_ENOTFOUND;
    }
    enum temper_apksig_type type = TEMPER_APKSIG_NONE;
    rc = pk_apk_sigtar(st, name, tar, tar_len, &type, &idx->sig_key, &idx->sig_bytes,
                       &idx->sig.sig_len);
    free(tar);
    if (rc != TEMPER_OK) {
        return rc;
    }
    idx->sig.type = type;
    idx->sig.key_name = idx->sig_key;
    idx->sig.sig = idx->sig_bytes;
    idx->sig.signed_data = data + end;
    idx->sig.signed_len = len - end;
    *body = end;
    return TEMPER_OK;
}

/* Takes `raw` (kept for the signed data) even on error. */
static int load_raw(struct temper_stage *st, const char *name, unsigned char *raw, size_t len,
                    const struct temper_pkgindex_limits *lim, struct temper_apkindex **out)
{
    struct temper_pkgindex_limits l;
    pk_limits(lim, &l);
    struct temper_apkindex *idx = pk_apkindex_new(st, name);
    if (!idx) {
        free(raw);
        return TEMPER_ENOMEM;
    }
    idx->raw = raw;
    int rc;
    const char *comp = pk_compression(raw, len);
    if (!comp) {
        rc = parse_text(st, name, raw, len, &l, idx); /* a plain APKINDEX */
    } else if (strcmp(comp, "gzip") != 0) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: an APKINDEX is gzip, not %s", name, comp);
    } else {
        size_t body = 0;
        rc = split_signature(st, name, raw, len, idx, &body);
        if (rc == TEMPER_ENOTFOUND) {
            rc = TEMPER_OK;
            body = 0;
        }
        if (rc == TEMPER_OK) {
            rc = read_tarball(st, name, raw + body, len - body, &l, idx);
        }
    }
    if (rc != TEMPER_OK) {
        temper_apkindex_free(idx);
        return rc;
    }
    *out = idx;
    return TEMPER_OK;
}

int temper_apkindex_load_mem(struct temper_stage *st, const char *name, const void *data,
                             size_t len, const struct temper_pkgindex_limits *lim,
                             struct temper_apkindex **out)
{
    *out = NULL;
    name = name ? name : "(buffer)";
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
    }
    memcpy(copy, data, len);
    return load_raw(st, name, copy, len, lim, out);
}

int temper_apkindex_load(struct temper_stage *st, const char *path,
                         const struct temper_pkgindex_limits *lim, struct temper_apkindex **out)
{
    *out = NULL;
    struct temper_pkgindex_limits l;
    pk_limits(lim, &l);
    unsigned char *raw = NULL;
    size_t len = 0;
    int rc = pk_read_file(st, path, l.max_input < APKINDEX_MAX ? l.max_input : APKINDEX_MAX,
                          &raw, &len);
    return rc == TEMPER_OK ? load_raw(st, path, raw, len, lim, out) : rc;
}

void temper_apkindex_free(struct temper_apkindex *idx)
{
    if (!idx) {
        return;
    }
    pk_table_cleanup(&idx->t);
    free(idx->name);
    free(idx->description);
    free(idx->sig_key);
    free(idx->sig_bytes);
    free(idx->raw);
    free(idx);
}

size_t temper_apkindex_count(const struct temper_apkindex *idx)
{
    return idx ? idx->t.n : 0;
}

const struct temper_apkpkg *temper_apkindex_at(const struct temper_apkindex *idx, size_t i)
{
    return idx ? pk_table_at(&idx->t, i) : NULL;
}

const struct temper_apkpkg *temper_apkindex_find(const struct temper_apkindex *idx,
                                                 const char *name)
{
    return idx && name ? pk_table_first(&idx->t.names, name) : NULL;
}

const struct temper_apkprov *temper_apkindex_providers(const struct temper_apkindex *idx,
                                                       const char *name)
{
    return idx && name ? pk_table_first(&idx->t.provides, name) : NULL;
}

const char *temper_apkindex_description(const struct temper_apkindex *idx)
{
    return idx ? idx->description : NULL;
}

const struct temper_apksig *temper_apkindex_signature(const struct temper_apkindex *idx)
{
    return idx ? &idx->sig : NULL;
}

int temper_apkindex_verify(struct temper_stage *st, const struct temper_apkindex *idx,
                           const char *pubkey_pem)
{
    if (!idx) {
        return temper_fail(st, TEMPER_EINVAL, "apk signature: no index given");
    }
    return temper_apksig_verify(st, &idx->sig, pubkey_pem);
}

/* temper — one v2 .apk: signature member, control member (.PKGINFO) and
 * data member.  The identity checksum (APKINDEX "C:") is the SHA-1 of the
 * raw control member; .PKGINFO's datahash is the SHA-256 of the raw data
 * member.  Only the control part is parsed; the data stays compressed. */
#include "config.h"
#include "pkgindex_int.h"
#include <temper/buf.h>
#include <temper/dsse.h>
#include <temper/hash.h>
#include <archive.h>
#include <archive_entry.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTROL_MAX (8u * 1024u * 1024u)
#define HASH_BLOCK (64u * 1024u)
#define PKGINFO_MAX (1024u * 1024u)
#define SIG_SCAN (64u * 1024u)

/* Only the head of the file is held in memory (signature and control
 * members); the data member is hashed as it is read. */
#define HEAD_MAX (SIG_SCAN + CONTROL_MAX + 16u)

struct apkfile_box {
    struct temper_apkfile pub;
    struct temper_apkindex *idx;  /* one package, owns the strings */
    char *sig_key;
    unsigned char *sig_bytes;
    unsigned char *raw;           /* the head of the file */
    int fd;
    unsigned long long size;      /* of the file */
};

/* .PKGINFO keys kept, and where; repeated keys (depend, provides, ...) are
 * joined with spaces like the APKINDEX fields they become. */
struct pkginfo_key {
    const char *key;
    size_t off;        /* offsetof(struct temper_apkpkg, ...), or SIZE_MAX */
    bool multi;
};

static const struct pkginfo_key keys[] = {
    { "pkgname", offsetof(struct temper_apkpkg, name), false },
    { "pkgver", offsetof(struct temper_apkpkg, version), false },
    { "pkgdesc", offsetof(struct temper_apkpkg, description), false },
    { "url", offsetof(struct temper_apkpkg, url), false },
    { "arch", offsetof(struct temper_apkpkg, arch), false },
    { "origin", offsetof(struct temper_apkpkg, origin), false },
    { "commit", offsetof(struct temper_apkpkg, commit), false },
    { "maintainer", offsetof(struct temper_apkpkg, maintainer), false },
    { "license", offsetof(struct temper_apkpkg, license), false },
    { "depend", offsetof(struct temper_apkpkg, depends), true },
    { "provides", offsetof(struct temper_apkpkg, provides), true },
    { "install_if", offsetof(struct temper_apkpkg, install_if), true },
    { "replaces", offsetof(struct temper_apkpkg, replaces), true },
};

static int set_str(struct temper_apkindex *idx, struct temper_apkpkg *pk,
                   const struct pkginfo_key *k, const char *v, size_t n)
{
    const char *old;
    memcpy(&old, (char *)pk + k->off, sizeof old);
    if (old && !k->multi) {
        return TEMPER_EFORMAT;
    }
    size_t ol = old ? strlen(old) + 1 : 0;
    char *s = pk_arena_alloc(pk_apkindex_arena(idx), ol + n + 1);
    if (!s) {
        return TEMPER_ENOMEM;
    }
    if (old) {
        memcpy(s, old, ol - 1);
        s[ol - 1] = ' ';
    }
    memcpy(s + ol, v, n);
    s[ol + n] = '\0';
    memcpy((char *)pk + k->off, &s, sizeof s);
    return TEMPER_OK;
}

static int pkginfo_number(const char *v, const char *key, struct temper_apkpkg *pk,
                          const char **datahash, struct temper_apkindex *idx)
{
    unsigned long long n = 0;
    if (strcmp(key, "datahash") == 0) {
        *datahash = pk_arena_strndup(pk_apkindex_arena(idx), v, strlen(v));
        return *datahash ? TEMPER_OK : TEMPER_ENOMEM;
    }
    bool known = strcmp(key, "size") == 0 || strcmp(key, "builddate") == 0 ||
                 strcmp(key, "provider_priority") == 0;
    if (!known) {
        return TEMPER_OK; /* packager, triggers, ...: not kept */
    }
    if (pk_parse_u64(v, &n) != TEMPER_OK || n > (unsigned long long)INT64_MAX) {
        return TEMPER_EFORMAT;
    }
    if (key[0] == 's') {
        pk->installed_size = n;
    } else if (key[0] == 'b') {
        pk->build_time = (long long)n;
    } else {
        pk->provider_priority = (long long)n;
    }
    return TEMPER_OK;
}

/* One "key = value" line (NUL-terminated, no newline). */
static int pkginfo_line(char *line, struct temper_apkindex *idx, struct temper_apkpkg *pk,
                        const char **datahash)
{
    if (line[0] == '#' || line[strspn(line, " \t")] == '\0') {
        return TEMPER_OK;
    }
    char *eq = strstr(line, " = ");
    if (!eq || eq == line) {
        return TEMPER_EFORMAT;
    }
    *eq = '\0';
    const char *v = eq + 3;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(line, keys[i].key) == 0) {
            return set_str(idx, pk, &keys[i], v, strlen(v));
        }
    }
    return pkginfo_number(v, line, pk, datahash, idx);
}

static int parse_pkginfo(struct temper_stage *st, const char *what, char *text,
                         struct temper_apkindex *idx, struct temper_apkpkg *pk,
                         const char **datahash)
{
    unsigned long no = 0;
    char *s = text;
    while (*s) {
        char *nl = strchr(s, '\n');
        if (nl) {
            *nl = '\0';
        }
        no++;
        int rc = pkginfo_line(s, idx, pk, datahash);
        if (rc != TEMPER_OK) {
            return temper_fail(st, rc, "%s:%lu: %s", what, no,
                               rc == TEMPER_ENOMEM ? "out of memory" : "bad line");
        }
        if (!nl) {
            break;
        }
        s = nl + 1;
    }
    if (!pk->name || !pk->version) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: no pkgname or pkgver", what);
    }
    if (!pk->origin) {
        pk->origin = pk->name;
    }
    pk->line = 1;
    return TEMPER_OK;
}

static int read_pkginfo(struct temper_stage *st, const char *name, struct archive *a,
                        char **text)
{
    struct temper_buf b;
    temper_buf_init(&b, PKGINFO_MAX);
    char block[16384];
    int rc = TEMPER_OK;
    for (;;) {
        la_ssize_t r = archive_read_data(a, block, sizeof block);
        if (r <= 0) {
            rc = r < 0 ? TEMPER_EFORMAT : TEMPER_OK;
            break;
        }
        rc = temper_buf_append(&b, block, (size_t)r);
        if (rc != TEMPER_OK) {
            break;
        }
    }
    if (rc != TEMPER_OK || memchr(b.data ? b.data : "", '\0', b.len)) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: unreadable .PKGINFO", name);
    } else {
        *text = temper_buf_take(&b, NULL);
        rc = *text ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
    }
    temper_buf_cleanup(&b);
    return rc;
}

/* .PKGINFO out of the (decompressed) control tar segment. */
static int control_pkginfo(struct temper_stage *st, const char *name, const unsigned char *tar,
                           size_t len, char **text)
{
    struct archive *a = pk_archive_mem(st, name, tar, len, 1);
    if (!a) {
        return TEMPER_EFORMAT;
    }
    int rc = TEMPER_ENOTFOUND;
    struct archive_entry *e = NULL;
    while (rc == TEMPER_ENOTFOUND && archive_read_next_header(a, &e) == ARCHIVE_OK) {
        const char *p = archive_entry_pathname(e);
        if (!pk_path_safe(p)) {
            rc = temper_fail(st, TEMPER_EFORMAT, "%s: unsafe path \"%.200s\" in the control "
                             "part", name, p ? p : "(none)");
        } else if (strcmp(p, ".PKGINFO") == 0 && archive_entry_filetype(e) == AE_IFREG) {
            rc = read_pkginfo(st, name, a, text);
        }
    }
    archive_read_free(a);
    if (rc == TEMPER_ENOTFOUND) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: no .PKGINFO in the control part", name);
    }
    return rc;
}

static int identity(const unsigned char *ctl, size_t n, struct temper_apkindex *idx,
                    struct temper_apkpkg *pk)
{
    unsigned char sha1[20];
    char *b64 = NULL;
    if (gnutls_hash_fast(GNUTLS_DIG_SHA1, ctl, n, sha1) < 0 ||
        temper_base64_encode(sha1, sizeof sha1, &b64) != TEMPER_OK) {
        return TEMPER_ENOMEM;
    }
    char q[64];
    snprintf(q, sizeof q, "Q1%s", b64);
    free(b64);
    pk->checksum = pk_arena_strndup(pk_apkindex_arena(idx), q, strlen(q));
    return pk->checksum ? TEMPER_OK : TEMPER_ENOMEM;
}

/* Signature member (optional) -> control member -> data. */
static int apk_parts(struct temper_stage *st, const char *path, struct apkfile_box *b,
                     size_t len, size_t *ctl, size_t *data)
{
    unsigned char *tar = NULL;
    size_t tar_len = 0, end = 0;
    *ctl = 0;
    int rc = pk_gzip_member(st, path, b->raw, len, SIG_SCAN, SIG_SCAN, &end, &tar, &tar_len);
    if (rc == TEMPER_OK) {
        enum temper_apksig_type type = TEMPER_APKSIG_NONE;
        rc = pk_apk_sigtar(st, path, tar, tar_len, &type, &b->sig_key, &b->sig_bytes,
                           &b->pub.sig.sig_len);
        free(tar);
        if (rc == TEMPER_OK) {
            b->pub.sig.type = type;
            b->pub.sig.key_name = b->sig_key;
            b->pub.sig.sig = b->sig_bytes;
            *ctl = end;
        } else if (rc != TEMPER_ENOTFOUND) {
            return rc;
        }
    } else if (rc == TEMPER_ENOMEM) {
        return temper_fail(st, rc, "%s: out of memory", path);
    }
    rc = pk_gzip_member(st, path, b->raw + *ctl, len - *ctl, CONTROL_MAX, CONTROL_MAX, &end,
                        NULL, NULL);
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc == TEMPER_ENOMEM ? rc : TEMPER_EFORMAT,
                           "%s: no valid control gzip member", path);
    }
    *data = *ctl + end;
    b->pub.sig.signed_data = b->raw + *ctl;
    b->pub.sig.signed_len = end;
    return TEMPER_OK;
}

/* SHA-256 of the data member: what the head holds from `data` on, then the
 * rest of the file. */
static int data_hash(struct temper_stage *st, const char *path, struct apkfile_box *b,
                     size_t head, size_t data)
{
    struct temper_sha256 *h = temper_sha256_new();
    unsigned char *block = malloc(HASH_BLOCK);
    int rc = h && block ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", path);
    if (rc == TEMPER_OK) {
        temper_sha256_update(h, b->raw + data, head - data);
    }
    for (unsigned long long off = head; rc == TEMPER_OK && off < b->size;) {
        size_t n = b->size - off < HASH_BLOCK ? (size_t)(b->size - off) : HASH_BLOCK;
        rc = pk_pread_full(st, path, b->fd, block, n, off);
        if (rc == TEMPER_OK) {
            temper_sha256_update(h, block, n);
            off += n;
        }
    }
    if (rc == TEMPER_OK) {
        unsigned char raw[TEMPER_SHA256_LEN];
        temper_sha256_final(h, raw, b->pub.data_sha256);
    }
    temper_sha256_free(h);
    free(block);
    return rc;
}

static int apkfile_fill(struct temper_stage *st, const char *path, struct apkfile_box *b,
                        size_t len)
{
    size_t ctl = 0, data = 0;
    int rc = apk_parts(st, path, b, len, &ctl, &data);
    unsigned char *tar = NULL;
    size_t tar_len = 0, end = 0;
    char *text = NULL;
    if (rc == TEMPER_OK) { /* decompress the control member (its bounds are known now) */
        rc = pk_gzip_member(st, path, b->raw + ctl, data - ctl, data - ctl, CONTROL_MAX, &end,
                            &tar, &tar_len);
        rc = rc == TEMPER_OK ? control_pkginfo(st, path, tar, tar_len, &text)
                             : temper_fail(st, TEMPER_EFORMAT, "%s: bad control member", path);
    }
    struct temper_apkpkg *pk = rc == TEMPER_OK ? pk_apkpkg_new(b->idx) : NULL;
    if (rc == TEMPER_OK && !pk) {
        rc = temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", path);
    }
    if (rc == TEMPER_OK) {
        char what[512];
        snprintf(what, sizeof what, "%s/.PKGINFO", path);
        rc = parse_pkginfo(st, what, text, b->idx, pk, &b->pub.datahash);
    }
    if (rc == TEMPER_OK && identity(b->raw + ctl, data - ctl, b->idx, pk) != TEMPER_OK) {
        rc = temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", path);
    }
    if (rc == TEMPER_OK) {
        rc = data_hash(st, path, b, len, data);
    }
    if (rc == TEMPER_OK) {
        b->pub.data_ok = b->pub.datahash && strcmp(b->pub.datahash, b->pub.data_sha256) == 0;
        b->pub.data_offset = data;
        rc = pk_apkindex_add(st, path, b->idx, pk);
        b->pub.pkg = pk;
    }
    free(tar);
    free(text);
    return rc;
}

static int read_head(struct temper_stage *st, const char *path,
                     const struct temper_pkgindex_limits *l, struct apkfile_box *b, size_t *len)
{
    struct stat sb;
    int rc = pk_open_regular(st, path, &b->fd);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (fstat(b->fd, &sb) != 0 || (unsigned long long)sb.st_size > l->max_input) {
        return temper_fail(st, TEMPER_ELIMIT, "%s: larger than %llu bytes", path, l->max_input);
    }
    b->size = (unsigned long long)sb.st_size;
    *len = b->size < HEAD_MAX ? (size_t)b->size : HEAD_MAX;
    b->raw = malloc(*len + 1);
    if (!b->raw) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", path);
    }
    return pk_pread_full(st, path, b->fd, b->raw, *len, 0);
}

int temper_apkfile_load(struct temper_stage *st, const char *path,
                        const struct temper_pkgindex_limits *lim, struct temper_apkfile **out)
{
    *out = NULL;
    struct temper_pkgindex_limits l;
    pk_limits(lim, &l);
    struct apkfile_box *b = calloc(1, sizeof *b);
    if (!b) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", path);
    }
    b->fd = -1;
    size_t len = 0;
    int rc = read_head(st, path, &l, b, &len);
    if (rc == TEMPER_OK) {
        b->idx = pk_apkindex_new(st, path);
        rc = b->idx ? TEMPER_OK : TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK) {
        rc = apkfile_fill(st, path, b, len);
    }
    if (b->fd >= 0) {
        close(b->fd);
        b->fd = -1;
    }
    if (rc != TEMPER_OK) {
        temper_apkfile_free(&b->pub);
        return rc;
    }
    *out = &b->pub;
    return TEMPER_OK;
}

void temper_apkfile_free(struct temper_apkfile *f)
{
    if (!f) {
        return;
    }
    struct apkfile_box *b = (struct apkfile_box *)f;
    temper_apkindex_free(b->idx);
    free(b->sig_key);
    free(b->sig_bytes);
    free(b->raw);
    free(b);
}

/* temper — builder_apk: the data member of each package.
 *
 * Read twice.  The first pass (apk_data_scan) looks at every entry without
 * writing anything: hostile names and types refuse the whole package before
 * a byte of it reaches the image root, and the pass records what apk's
 * installed database needs (owner, mode, SHA-1 of each file).  The second
 * pass is the SDK's extractor (temper_oci_layer_extract), which creates
 * entries relative to the root with *at() calls and scopes symlinks to it,
 * so even content the first pass let through cannot land outside.  The data
 * member was checked against its datahash before either pass, so both read
 * the bytes the signed index vouches for (libarchive itself does not check
 * gzip CRCs). */
#include "config.h"
#include "apk_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCAN_BLOCK 65536
#define SCAN_MAX_ENTRIES 1000000
#define PATH_MAX_BYTES 4096

/* apk v2 control names: they belong to the control member, never to data. */
static const char *const control_names[] = {
    ".PKGINFO", ".pre-install", ".post-install", ".pre-upgrade", ".post-upgrade",
    ".pre-deinstall", ".post-deinstall", ".trigger", ".install", NULL,
};

struct scan {
    struct temper_stage *st;
    struct apk_unit *u;
    struct archive *a;
    unsigned long long bytes, max;
    char shown[256];
};

int apk_q1(const unsigned char sha1[20], char out[32])
{
    char *b64 = NULL;
    if (temper_base64_encode(sha1, 20, &b64) != TEMPER_OK) {
        return TEMPER_ENOMEM;
    }
    int n = snprintf(out, 32, "Q1%s", b64);
    free(b64);
    return n > 0 && n < 32 ? TEMPER_OK : TEMPER_EINTERNAL;
}

/* Clean relative path: "./" and empty components dropped; absolute, ".."
 * or empty refused (TEMPER_EINVAL), too long TEMPER_ELIMIT. */
static int path_clean(const char *raw, char *out, size_t size)
{
    size_t o = 0;
    if (raw[0] == '/') {
        return TEMPER_EINVAL;
    }
    for (const char *p = raw; *p;) {
        size_t n = strcspn(p, "/");
        bool dot = n == 1 && p[0] == '.';
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            return TEMPER_EINVAL;
        }
        if (n && !dot) {
            if (o + n + 2 > size) {
                return TEMPER_ELIMIT;
            }
            if (o) {
                out[o++] = '/';
            }
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
        p += *p == '/';
    }
    out[o] = '\0';
    return o ? TEMPER_OK : TEMPER_EINVAL;
}

static void show(struct scan *s, const char *raw)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)raw; *p && o < sizeof s->shown - 1;
         p++) {
        s->shown[o++] = (*p >= 0x20 && *p != 0x7f) ? (char)*p : '?';
    }
    s->shown[o] = '\0';
}

static int refuse(struct scan *s, const char *why)
{
    return temper_fail(s->st, TEMPER_EFORMAT, "%s: entry '%s': %s", s->u->url, s->shown, why);
}

static struct apk_entry *new_entry(struct scan *s)
{
    struct apk_unit *u = s->u;
    int rc;
    struct apk_entry *nv = apk_grow(u->e, &u->cap, u->n, sizeof *nv, SCAN_MAX_ENTRIES, &rc);
    if (!nv) {
        return NULL;
    }
    u->e = nv;
    struct apk_entry *e = &u->e[u->n++];
    memset(e, 0, sizeof *e);
    return e;
}

/* Content of a regular file: counted against the cap, hashed. */
static int hash_data(struct scan *s, struct apk_entry *e)
{
    gnutls_hash_hd_t h = NULL;
    unsigned char sha1[20];
    char *buf = malloc(SCAN_BLOCK);
    int rc = buf && gnutls_hash_init(&h, GNUTLS_DIG_SHA1) >= 0
                 ? TEMPER_OK
                 : temper_fail(s->st, TEMPER_ENOMEM, "%s: cannot hash", s->u->url);
    unsigned long long got = 0;
    while (rc == TEMPER_OK) {
        la_ssize_t r = archive_read_data(s->a, buf, SCAN_BLOCK);
        if (r == 0) {
            break;
        }
        if (r < 0) {
            const char *why = archive_error_string(s->a);
            rc = refuse(s, why ? why : "corrupt data");
            break;
        }
        got += (unsigned long long)r;
        s->bytes += (unsigned long long)r;
        if (s->bytes > s->max) {
            rc = refuse(s, "the package's content is larger than its index entry allows");
            break;
        }
        gnutls_hash(h, buf, (size_t)r);
    }
    if (h) {
        gnutls_hash_deinit(h, sha1);
    }
    if (rc == TEMPER_OK && got != e->size) {
        rc = refuse(s, "truncated content");
    }
    if (rc == TEMPER_OK) {
        rc = apk_q1(sha1, e->csum);
    }
    free(buf);
    return rc;
}

static int link_csum(struct scan *s, struct apk_entry *e)
{
    unsigned char sha1[20];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA1, e->link, strlen(e->link), sha1) < 0) {
        return temper_fail(s->st, TEMPER_ECRYPTO, "%s: cannot hash", s->u->url);
    }
    return apk_q1(sha1, e->csum);
}

/* A hardlink must name a regular file that came earlier in this package. */
static int hardlink_target(struct scan *s, struct apk_entry *e, const char *raw)
{
    char clean[PATH_MAX_BYTES];
    if (path_clean(raw, clean, sizeof clean) != TEMPER_OK) {
        return refuse(s, "hardlink target is absolute, empty or has '..'");
    }
    for (size_t i = s->u->n - 1; i-- > 0;) {
        const struct apk_entry *t = &s->u->e[i];
        if (strcmp(t->path, clean) == 0) {
            if (t->type != APK_E_FILE) {
                return refuse(s, "hardlink target is not a regular file");
            }
            memcpy(e->csum, t->csum, sizeof e->csum);
            e->link = strdup(clean);
            return e->link ? TEMPER_OK : TEMPER_ENOMEM;
        }
    }
    return refuse(s, "hardlink target is not an earlier file of the package");
}

static int entry_type(struct scan *s, struct archive_entry *ae, struct apk_entry *e)
{
    const char *hl = archive_entry_hardlink_utf8(ae);
    hl = hl ? hl : archive_entry_hardlink(ae);
    if (hl) {
        e->type = APK_E_HARDLINK;
        return hardlink_target(s, e, hl);
    }
    switch (archive_entry_filetype(ae)) {
    case AE_IFREG:
        e->type = APK_E_FILE;
        return hash_data(s, e);
    case AE_IFDIR:
        e->type = APK_E_DIR;
        return TEMPER_OK;
    case AE_IFLNK: {
        const char *t = archive_entry_symlink_utf8(ae);
        t = t ? t : archive_entry_symlink(ae);
        if (!t || !*t || strlen(t) >= PATH_MAX_BYTES) {
            return refuse(s, "symlink without a valid target");
        }
        e->type = APK_E_SYMLINK;
        e->link = strdup(t);
        return e->link ? link_csum(s, e) : TEMPER_ENOMEM;
    }
    case AE_IFCHR:
    case AE_IFBLK:
        return refuse(s, "device nodes are not allowed");
    default:
        return refuse(s, "only files, directories, symlinks and hardlinks are allowed");
    }
}

static bool is_control_name(const char *p)
{
    if (strncmp(p, ".SIGN.", 6) == 0) {
        return true;
    }
    for (size_t i = 0; control_names[i]; i++) {
        if (strcmp(p, control_names[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int scan_entry(struct scan *s, struct archive_entry *ae)
{
    const char *raw = archive_entry_pathname_utf8(ae);
    raw = raw ? raw : archive_entry_pathname(ae);
    char clean[PATH_MAX_BYTES];
    show(s, raw ? raw : "");
    if (!raw || !*raw) {
        return refuse(s, "empty name");
    }
    int c = path_clean(raw, clean, sizeof clean);
    if (c == TEMPER_EINVAL && raw[0] != '/' && !strstr(raw, "..") &&
        archive_entry_filetype(ae) == AE_IFDIR) {
        return TEMPER_OK; /* "./": the root itself */
    }
    if (c != TEMPER_OK) {
        return refuse(s, c == TEMPER_ELIMIT ? "name too long"
                         : raw[0] == '/' ? "absolute path" : "path has a '..' component");
    }
    if (is_control_name(clean)) {
        return refuse(s, "apk control file in the data part");
    }
    struct apk_entry *e = new_entry(s);
    if (!e) {
        return temper_fail(s->st, TEMPER_ENOMEM, "%s: out of memory", s->u->url);
    }
    e->path = strdup(clean);
    e->uid = (unsigned long)archive_entry_uid(ae);
    e->gid = (unsigned long)archive_entry_gid(ae);
    e->mode = (unsigned)archive_entry_perm(ae) & 07777;
    e->mtime = archive_entry_mtime_is_set(ae) ? (long long)archive_entry_mtime(ae) : 0;
    la_int64_t size = archive_entry_size(ae);
    e->size = size > 0 ? (unsigned long long)size : 0;
    if (!e->path) {
        return temper_fail(s->st, TEMPER_ENOMEM, "%s: out of memory", s->u->url);
    }
    int rc = entry_type(s, ae, e);
    return rc == TEMPER_ENOMEM ? temper_fail(s->st, rc, "%s: out of memory", s->u->url) : rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* No entry may sit below a symlink of the same package: a tar made from a
 * real tree never has one, and writing through it is the classic escape. */
static int no_path_through_links(struct scan *s)
{
    struct apk_unit *u = s->u;
    size_t n = 0;
    const char **links = calloc(u->n ? u->n : 1, sizeof *links);
    if (!links) {
        return temper_fail(s->st, TEMPER_ENOMEM, "%s: out of memory", u->url);
    }
    for (size_t i = 0; i < u->n; i++) {
        if (u->e[i].type == APK_E_SYMLINK) {
            links[n++] = u->e[i].path;
        }
    }
    qsort(links, n, sizeof *links, cmp_str);
    int rc = TEMPER_OK;
    char prefix[PATH_MAX_BYTES];
    for (size_t i = 0; n && rc == TEMPER_OK && i < u->n; i++) {
        const char *p = u->e[i].path;
        for (const char *sl = strchr(p, '/'); sl && rc == TEMPER_OK; sl = strchr(sl + 1, '/')) {
            memcpy(prefix, p, (size_t)(sl - p));
            prefix[sl - p] = '\0';
            const char *key = prefix;
            if (bsearch(&key, links, n, sizeof *links, cmp_str)) {
                show(s, p);
                rc = refuse(s, "its directory is a symlink of the same package");
            }
        }
    }
    free(links);
    return rc;
}

static int open_data(struct temper_stage *st, const struct apk_unit *u, struct archive **out)
{
    struct archive *a = archive_read_new();
    if (!a) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", u->url);
    }
    archive_read_support_format_tar(a);
    archive_read_support_filter_gzip(a);
    if (archive_read_open_filename(a, u->data, SCAN_BLOCK) != ARCHIVE_OK) {
        const char *why = archive_error_string(a);
        int rc = temper_fail(st, TEMPER_EFORMAT, "%s: the data part is not a gzip tar: %s",
                             u->url, why ? why : "unreadable");
        archive_read_free(a);
        return rc;
    }
    *out = a;
    return TEMPER_OK;
}

int apk_data_scan(struct temper_stage *st, struct apk_unit *u, unsigned long long max_bytes)
{
    struct scan s = { .st = st, .u = u, .max = max_bytes };
    int rc = open_data(st, u, &s.a);
    unsigned long entries = 0;
    while (rc == TEMPER_OK) {
        struct archive_entry *ae = NULL;
        int r = archive_read_next_header(s.a, &ae);
        if (r == ARCHIVE_EOF) {
            break;
        }
        if (r < ARCHIVE_WARN || ++entries > SCAN_MAX_ENTRIES) {
            const char *why = r < ARCHIVE_WARN ? archive_error_string(s.a) : NULL;
            rc = temper_fail(st, TEMPER_EFORMAT, "%s: bad data part: %s", u->url,
                             why ? why : r < ARCHIVE_WARN ? "read error" : "too many entries");
            break;
        }
        rc = scan_entry(&s, ae);
    }
    if (rc == TEMPER_OK) {
        rc = no_path_through_links(&s);
    }
    if (s.a) {
        archive_read_free(s.a);
    }
    return rc;
}

int apk_data_extract(struct temper_stage *st, const struct apk_unit *u, const char *root)
{
    struct temper_oci_extract_opts o = {
        .size = sizeof o, .name = u->url, .allow_devices = false, .strip_setuid = false,
        .chown = false, .whiteouts = false,
    };
    return temper_oci_layer_extract(st, u->data, root, &o);
}

void apk_unit_cleanup(struct apk_unit *u)
{
    if (!u) {
        return;
    }
    for (size_t i = 0; i < u->n; i++) {
        free(u->e[i].path);
        free(u->e[i].link);
    }
    free(u->e);
    if (u->data) {
        unlink(u->data);
    }
    free(u->data);
    free(u->url);
    free(u->file);
    memset(u, 0, sizeof *u);
}

/* ---- who owns each path --------------------------------------------------------- */

static int owner_cmp(const void *pa, const void *pb)
{
    const struct apk_owner *a = pa, *b = pb;
    int c = strcmp(a->path, b->path);
    if (c == 0) {
        c = a->unit < b->unit ? -1 : a->unit > b->unit;
    }
    if (c == 0) {
        c = a->entry < b->entry ? -1 : a->entry > b->entry;
    }
    return c;
}

/* Does the r: list of `pk` name `name`? */
static bool replaces(const struct temper_apkpkg *pk, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = pk->replaces; p && *p;) {
        p += strspn(p, " \t");
        size_t w = strcspn(p, " \t");
        size_t k = strcspn(p, " \t<>=~");
        if (k > w) {
            k = w;
        }
        if (k == n && strncmp(p, name, n) == 0) {
            return true;
        }
        p += w;
    }
    return false;
}

static int overwrite_ok(struct temper_stage *st, const struct apk_unit *units,
                        const struct apk_owner *a, const struct apk_owner *b)
{
    const struct apk_entry *ea = &units[a->unit].e[a->entry];
    const struct apk_entry *eb = &units[b->unit].e[b->entry];
    const struct temper_apkpkg *pa = units[a->unit].pick->pkg, *pb = units[b->unit].pick->pkg;
    if (ea->type == APK_E_DIR && eb->type == APK_E_DIR) {
        return TEMPER_OK;
    }
    if (ea->type != APK_E_DIR && eb->type != APK_E_DIR &&
        (replaces(pb, pa->name) || strcmp(pa->origin, pb->origin) == 0)) {
        return TEMPER_OK;
    }
    return temper_fail(st, TEMPER_EFORMAT, "file conflict: %s-%s and %s-%s both install /%s%s",
                       pa->name, pa->version, pb->name, pb->version, ea->path,
                       (ea->type == APK_E_DIR) != (eb->type == APK_E_DIR)
                           ? " (a directory in one of them)" : "");
}

int apk_fs_build(struct temper_stage *st, const struct apk_unit *units, size_t n,
                 struct apk_fs *fs)
{
    size_t total = 0, k = 0;
    memset(fs, 0, sizeof *fs);
    for (size_t i = 0; i < n; i++) {
        total += units[i].n;
    }
    struct apk_owner *all = calloc(total ? total : 1, sizeof *all);
    if (!all) {
        return temper_fail(st, TEMPER_ENOMEM, "apk: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < units[i].n; j++) {
            all[k++] = (struct apk_owner){ units[i].e[j].path, i, j };
        }
    }
    qsort(all, total, sizeof *all, owner_cmp);
    int rc = TEMPER_OK;
    size_t out = 0;
    for (size_t i = 0; rc == TEMPER_OK && i < total; i++) {
        bool same = out && strcmp(all[out - 1].path, all[i].path) == 0;
        if (same && all[out - 1].unit != all[i].unit) {
            rc = overwrite_ok(st, units, &all[out - 1], &all[i]);
        }
        all[same ? out - 1 : out++] = all[i]; /* the last writer owns it */
    }
    if (rc != TEMPER_OK) {
        free(all);
        return rc;
    }
    fs->v = all;
    fs->n = out;
    return TEMPER_OK;
}

const struct apk_owner *apk_fs_find(const struct apk_fs *fs, const char *path)
{
    struct apk_owner key = { path, 0, 0 };
    size_t lo = 0, hi = fs->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(fs->v[mid].path, key.path);
        if (c == 0) {
            return &fs->v[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

void apk_fs_cleanup(struct apk_fs *fs)
{
    if (fs) {
        free(fs->v);
        memset(fs, 0, sizeof *fs);
    }
}

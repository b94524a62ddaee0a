/* temper — the upstream change between two release tarballs, as a
 * format-patch mbox (include/temper/tardiff.h). */
#include "config.h"
#include "tardiff_int.h"
#include <temper/hash.h>
#include <temper/http.h>
#include <temper/log.h>
#include <temper/patch.h>
#include <temper/plugin.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TD_PATH_MAX 4096
#define TD_BINARY_SNIFF 8192

enum td_kind { TD_FILE, TD_LINK };

struct td_entry {
    char *path;        /* top-level directory stripped */
    enum td_kind kind;
    unsigned mode;     /* git mode: 0100644, 0100755, 0120000 */
    char *data;        /* file bytes or link target; NULL when over max_file_bytes */
    size_t len;
    bool too_big;
    char *hardlink;    /* target of a hard link, resolved after reading */
};

struct td_tree {
    struct td_entry *v;
    size_t n, cap;
    unsigned long long bytes;
    size_t skipped;    /* unsafe names */
};

void temper_tardiff_opts_init(struct temper_tardiff_opts *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->max_download = 512ULL << 20;
    o->max_tree = 512ULL << 20;
    o->max_entries = 100000;
    o->max_file_bytes = 8ULL << 20;
    o->max_output = 256u << 20;
}

static void opts_merge(const struct temper_tardiff_opts *in, struct temper_tardiff_opts *o)
{
    temper_tardiff_opts_init(o);
    if (in && in->size >= sizeof(uint32_t)) {
        memcpy(o, in, in->size < sizeof *o ? in->size : sizeof *o);
        o->size = sizeof *o;
    }
    struct temper_tardiff_opts d;
    temper_tardiff_opts_init(&d);
    o->max_download = o->max_download ? o->max_download : d.max_download;
    o->max_tree = o->max_tree ? o->max_tree : d.max_tree;
    o->max_entries = o->max_entries ? o->max_entries : d.max_entries;
    o->max_file_bytes = o->max_file_bytes ? o->max_file_bytes : d.max_file_bytes;
    o->max_output = o->max_output ? o->max_output : d.max_output;
}

static void tree_free(struct td_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].path);
        free(t->v[i].data);
        free(t->v[i].hardlink);
    }
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* A relative, normalised name ("./" and "//" dropped), or NULL when unsafe
 * (absolute, "..", control characters, too long). */
static char *clean_name(const char *name)
{
    if (!name || name[0] == '/' || strlen(name) >= TD_PATH_MAX) {
        return NULL;
    }
    char *out = malloc(strlen(name) + 1);
    size_t k = 0;
    const char *p = name;
    while (out && *p) {
        size_t n = strcspn(p, "/");
        bool dot = n == 1 && p[0] == '.';
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            TEMPER_FREE(out);
            break;
        }
        for (size_t i = 0; out && n > 0 && !dot && i < n; i++) {
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
                TEMPER_FREE(out);
            }
        }
        if (out && n > 0 && !dot) {
            if (k) {
                out[k++] = '/';
            }
            memcpy(out + k, p, n);
            k += n;
        }
        p += n + (p[n] == '/');
    }
    if (out && k == 0) {
        TEMPER_FREE(out);
    }
    if (out) {
        out[k] = '\0';
    }
    return out;
}

static int read_data(struct archive *a, struct td_entry *e, la_int64_t size,
                     const struct temper_tardiff_opts *o, struct td_tree *t)
{
    if (size < 0 || (unsigned long long)size > o->max_file_bytes) {
        e->too_big = true;
        e->len = size < 0 ? 0 : (size_t)size;
        return TEMPER_OK; /* compared as binary, by size only */
    }
    if (t->bytes + (unsigned long long)size > o->max_tree) {
        return TEMPER_ELIMIT;
    }
    e->data = malloc((size_t)size + 1);
    if (!e->data) {
        return TEMPER_ENOMEM;
    }
    la_ssize_t got = archive_read_data(a, e->data, (size_t)size);
    if (got != (la_ssize_t)size) {
        return TEMPER_EFORMAT;
    }
    e->len = (size_t)size;
    t->bytes += (unsigned long long)size;
    return TEMPER_OK;
}

static int add_entry(struct archive *a, struct archive_entry *ae, struct td_tree *t,
                     const struct temper_tardiff_opts *o)
{
    mode_t ft = archive_entry_filetype(ae);
    const char *hl = archive_entry_hardlink(ae);
    if (ft != AE_IFREG && ft != AE_IFLNK && !hl) {
        return TEMPER_OK; /* directories, devices, fifos */
    }
    char *path = clean_name(archive_entry_pathname(ae));
    if (!path) {
        t->skipped++;
        return TEMPER_OK;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct td_entry *v = realloc(t->v, cap * sizeof *v);
        if (!v) {
            free(path);
            return TEMPER_ENOMEM;
        }
        t->v = v;
        t->cap = cap;
    }
    struct td_entry *e = &t->v[t->n++];
    memset(e, 0, sizeof *e);
    e->path = path;
    e->mode = (archive_entry_perm(ae) & 0111) ? 0100755 : 0100644;
    if (hl) {
        e->hardlink = clean_name(hl);
        return e->hardlink ? TEMPER_OK : (t->skipped++, TEMPER_OK);
    }
    if (ft == AE_IFLNK) {
        const char *target = archive_entry_symlink(ae);
        e->kind = TD_LINK;
        e->mode = 0120000;
        e->data = strdup(target ? target : "");
        e->len = e->data ? strlen(e->data) : 0;
        return e->data ? TEMPER_OK : TEMPER_ENOMEM;
    }
    return read_data(a, e, archive_entry_size(ae), o, t);
}

static int read_tree(struct temper_stage *st, const char *path, const char *label,
                     const struct temper_tardiff_opts *o, struct td_tree *t)
{
    struct archive *a = archive_read_new();
    struct archive_entry *ae = NULL;
    int rc = TEMPER_OK;
    if (!a || archive_read_support_filter_all(a) != ARCHIVE_OK ||
        archive_read_support_format_all(a) != ARCHIVE_OK ||
        archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: cannot read the archive: %s", label,
                         a ? archive_error_string(a) : "out of memory");
        goto out;
    }
    for (;;) {
        int r = archive_read_next_header(a, &ae);
        if (r == ARCHIVE_EOF) {
            break;
        }
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            rc = temper_fail(st, TEMPER_EFORMAT, "%s: corrupt archive: %s", label,
                             archive_error_string(a));
            goto out;
        }
        if (t->n >= o->max_entries) {
            rc = temper_fail(st, TEMPER_ELIMIT, "%s: more than %zu entries", label,
                             o->max_entries);
            goto out;
        }
        rc = add_entry(a, ae, t, o);
        if (rc != TEMPER_OK) {
            const char *why = rc == TEMPER_ELIMIT ? "the tree is over the size limit"
                              : rc == TEMPER_EFORMAT ? archive_error_string(a)
                                                     : temper_rc_str(rc);
            rc = temper_fail(st, rc, "%s: %s", label, why ? why : "truncated entry");
            goto out;
        }
    }
out:
    if (a) {
        archive_read_free(a);
    }
    return rc;
}

static int by_path(const void *x, const void *y)
{
    return strcmp(((const struct td_entry *)x)->path, ((const struct td_entry *)y)->path);
}

/* Strip a top-level directory every entry shares; resolve hard links; sort;
 * drop duplicate names (the last one wins, as extraction would). */
static int settle(struct td_tree *t)
{
    const char *slash = t->n ? strchr(t->v[0].path, '/') : NULL;
    size_t k = slash ? (size_t)(slash - t->v[0].path) + 1 : 0;
    for (size_t i = 0; k && i < t->n; i++) {
        const char *p = t->v[i].path;
        if (strncmp(p, t->v[0].path, k) != 0 || (t->v[i].hardlink &&
                                                strncmp(t->v[i].hardlink, p, k) != 0)) {
            k = 0;
        }
    }
    for (size_t i = 0; k && i < t->n; i++) {
        memmove(t->v[i].path, t->v[i].path + k, strlen(t->v[i].path + k) + 1);
        if (t->v[i].hardlink) {
            memmove(t->v[i].hardlink, t->v[i].hardlink + k, strlen(t->v[i].hardlink + k) + 1);
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        struct td_entry *e = &t->v[i];
        for (size_t j = 0; e->hardlink && j < i; j++) {
            const struct td_entry *s = &t->v[j];
            if (strcmp(s->path, e->hardlink) == 0 && s->kind == TD_FILE && !s->hardlink) {
                e->data = s->data ? malloc(s->len + 1) : NULL;
                if (s->data && !e->data) {
                    return TEMPER_ENOMEM;
                }
                if (s->data) {
                    memcpy(e->data, s->data, s->len);
                }
                e->len = s->len;
                e->too_big = s->too_big;
                e->mode = s->mode;
            }
        }
        TEMPER_FREE(e->hardlink);
    }
    qsort(t->v, t->n, sizeof *t->v, by_path);
    return TEMPER_OK;
}

static bool is_binary(const struct td_entry *e)
{
    if (!e || e->kind == TD_LINK) {
        return false;
    }
    if (e->too_big || !e->data) {
        return e->too_big;
    }
    size_t n = e->len < TD_BINARY_SNIFF ? e->len : TD_BINARY_SNIFF;
    return memchr(e->data, '\0', n) != NULL;
}

static bool same_entry(const struct td_entry *a, const struct td_entry *b)
{
    if (a->mode != b->mode || a->len != b->len || a->too_big != b->too_big) {
        return false;
    }
    if (a->too_big) {
        return false; /* cannot tell: report it */
    }
    return a->len == 0 || memcmp(a->data, b->data, a->len) == 0;
}

/* One changed path (a or b may be NULL) as a diff --git section. */
static int write_path(const struct td_entry *a, const struct td_entry *b, struct temper_buf *out,
                      struct temper_buf *hunks)
{
    struct temper_patch_file f = { .size = sizeof f, .similarity = -1, .binary_size = -1 };
    f.old_path = a ? a->path : NULL;
    f.new_path = b ? b->path : NULL;
    f.path = b ? b->path : a->path;
    f.status = !a ? TEMPER_PATCH_ADDED : !b ? TEMPER_PATCH_DELETED : TEMPER_PATCH_MODIFIED;
    f.old_mode = a ? a->mode : 0;
    f.new_mode = b ? b->mode : 0;
    f.binary = is_binary(a) || is_binary(b);
    temper_buf_reset(hunks);
    int rc = TEMPER_OK;
    if (!f.binary) {
        rc = td_unified(a ? a->data : "", a ? a->len : 0, b ? b->data : "", b ? b->len : 0,
                        hunks);
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_puts(hunks, ""); /* NUL-terminated even when empty */
    }
    if (rc == TEMPER_OK) {
        rc = temper_patch_write_file(out, &f, f.binary ? NULL : hunks->data);
    }
    return rc;
}

static int write_head(const char *old_label, const char *new_label, const char *old_sha,
                      const char *new_sha, const struct temper_tardiff_opts *o,
                      struct temper_buf *out)
{
    char sha[TEMPER_SHA256_HEX_LEN + 1];
    char *both = temper_strdupf("%s %s", old_sha, new_sha);
    char *subject = temper_strdupf("%s %s...%s (release tarballs)", o->name ? o->name
                                   : "upstream", o->old_version ? o->old_version : "old",
                                   o->new_version ? o->new_version : "new");
    char *body = temper_strdupf("Diff of two release tarballs, made by temper.\n\n"
                                "Old: %s\nOld-SHA256: %s\nNew: %s\nNew-SHA256: %s",
                                old_label, old_sha, new_label, new_sha);
    int rc = both && subject && body ? temper_sha256_hex(both, strlen(both), sha) : TEMPER_ENOMEM;
    struct temper_patch_commit c = {
        .size = sizeof c, .sha = sha, .author_name = "temper tarball diff",
        .author_email = "temper@localhost", .author_date = "Thu, 1 Jan 1970 00:00:00 +0000",
        .subject = subject, .body = body, .verified = -1,
    };
    if (rc == TEMPER_OK) {
        rc = temper_patch_write_commit(out, &c);
    }
    free(both);
    free(subject);
    free(body);
    return rc;
}

static int compare(const struct td_tree *ta, const struct td_tree *tb, struct temper_buf *out)
{
    struct temper_buf hunks;
    temper_buf_init(&hunks, out->max);
    size_t i = 0, j = 0;
    int rc = TEMPER_OK;
    while (rc == TEMPER_OK && (i < ta->n || j < tb->n)) {
        const struct td_entry *a = i < ta->n ? &ta->v[i] : NULL;
        const struct td_entry *b = j < tb->n ? &tb->v[j] : NULL;
        int c = !a ? 1 : !b ? -1 : strcmp(a->path, b->path);
        bool dup_a = a && i + 1 < ta->n && strcmp(a->path, ta->v[i + 1].path) == 0;
        bool dup_b = b && j + 1 < tb->n && strcmp(b->path, tb->v[j + 1].path) == 0;
        if (dup_a || dup_b) { /* the last of equal names wins */
            i += dup_a;
            j += dup_b;
            continue;
        }
        if (c < 0) {
            rc = write_path(a, NULL, out, &hunks);
            i++;
        } else if (c > 0) {
            rc = write_path(NULL, b, out, &hunks);
            j++;
        } else {
            rc = same_entry(a, b) ? TEMPER_OK : write_path(a, b, out, &hunks);
            i++;
            j++;
        }
    }
    temper_buf_cleanup(&hunks);
    return rc;
}

static int file_sha(const char *path, char hex[TEMPER_SHA256_HEX_LEN + 1])
{
    return temper_sha256_file(path, hex, NULL);
}

int temper_tardiff_files(struct temper_stage *st, const char *old_tar, const char *new_tar,
                         const char *old_label, const char *new_label,
                         const struct temper_tardiff_opts *opts, struct temper_buf *out)
{
    struct temper_tardiff_opts o;
    struct td_tree ta = { NULL, 0, 0, 0, 0 }, tb = { NULL, 0, 0, 0, 0 };
    char sa[TEMPER_SHA256_HEX_LEN + 1], sb[TEMPER_SHA256_HEX_LEN + 1];
    opts_merge(opts, &o);
    old_label = old_label ? old_label : old_tar;
    new_label = new_label ? new_label : new_tar;
    int rc = read_tree(st, old_tar, old_label, &o, &ta);
    if (rc == TEMPER_OK) {
        rc = read_tree(st, new_tar, new_label, &o, &tb);
    }
    if (rc == TEMPER_OK && (settle(&ta) != TEMPER_OK || settle(&tb) != TEMPER_OK)) {
        rc = temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    if (rc == TEMPER_OK && (file_sha(old_tar, sa) != TEMPER_OK ||
                            file_sha(new_tar, sb) != TEMPER_OK)) {
        rc = temper_fail(st, TEMPER_EIO, "cannot hash %s or %s", old_tar, new_tar);
    }
    if (rc == TEMPER_OK && (ta.skipped || tb.skipped)) {
        TEMPER_LOG_WARN(st, "tarball diff: %zu unsafe entry name(s) skipped in %s, %zu in %s",
                        ta.skipped, old_label, tb.skipped, new_label);
    }
    if (rc == TEMPER_OK) {
        rc = write_head(old_label, new_label, sa, sb, &o, out);
        rc = rc == TEMPER_OK ? compare(&ta, &tb, out) : rc;
        rc = rc == TEMPER_OK ? temper_patch_write_end(out) : rc;
        if (rc != TEMPER_OK) {
            rc = temper_fail(st, rc, "tarball diff %s...%s: %s", old_label, new_label,
                             rc == TEMPER_ELIMIT ? "the diff is over the output limit"
                                                 : temper_rc_str(rc));
        }
    }
    tree_free(&ta);
    tree_free(&tb);
    return rc;
}

static int download(struct temper_stage *st, struct temper_http *h, const char *url,
                    const char *path, const char *sha, unsigned long long cap)
{
    struct temper_http_resp resp;
    struct temper_http_req req = { .size = sizeof req, .url = url, .out_path = path,
                                   .max_body = cap, .expect_sha256 = sha };
    temper_http_resp_init(&resp);
    int rc = temper_http_do(h, &req, &resp); /* recorded on st */
    temper_http_resp_cleanup(&resp);
    (void)st;
    return rc;
}

static int write_atomic(struct temper_stage *st, const char *path, const struct temper_buf *b)
{
    char *tmp = temper_strdupf("%s.tmp", path);
    int fd = tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644) : -1;
    size_t off = 0;
    while (fd >= 0 && off < b->len) {
        ssize_t n = write(fd, b->data + off, b->len - off);
        if (n <= 0) {
            break;
        }
        off += (size_t)n;
    }
    int e = errno;
    bool ok = fd >= 0 && off == b->len && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0) {
        ok = false;
    }
    ok = ok && rename(tmp, path) == 0;
    if (!ok && tmp) {
        unlink(tmp);
    }
    free(tmp);
    return ok ? TEMPER_OK : temper_fail(st, TEMPER_EIO, "cannot write %s: %s", path,
                                        strerror(e ? e : errno));
}

int temper_tardiff_urls(struct temper_stage *st, struct temper_http *h, const char *old_url,
                        const char *new_url, const struct temper_tardiff_opts *opts,
                        const char *out_path)
{
    struct temper_tardiff_opts o;
    struct temper_buf b;
    opts_merge(opts, &o);
    temper_buf_init(&b, o.max_output);
    char *pa = temper_strdupf("%s.old-tarball", out_path);
    char *pb = temper_strdupf("%s.new-tarball", out_path);
    int rc = pa && pb ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "out of memory");
    if (rc == TEMPER_OK) {
        rc = download(st, h, old_url, pa, o.old_sha256, o.max_download);
    }
    if (rc == TEMPER_OK) {
        rc = download(st, h, new_url, pb, o.new_sha256, o.max_download);
    }
    if (rc == TEMPER_OK) {
        rc = temper_tardiff_files(st, pa, pb, old_url, new_url, &o, &b);
    }
    if (rc == TEMPER_OK) {
        rc = write_atomic(st, out_path, &b);
    }
    if (pa) {
        unlink(pa);
    }
    if (pb) {
        unlink(pb);
    }
    free(pa);
    free(pb);
    temper_buf_cleanup(&b);
    return rc;
}

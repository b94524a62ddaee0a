/* temper — streaming OCI layer writer.
 *
 * Two libarchive writers in a chain, so that both digests are computed on
 * the fly and the layer never sits in memory:
 *
 *   entries -> [tar: restricted pax] -> tar_out(): sha256 = diff_id
 *           -> [comp: "raw" format + gzip/zstd filter] -> comp_out()
 *           -> temper_oci_blob_writer (temp file in blobs/sha256, sha256 =
 *              blob digest, renamed into place by finish)
 *
 * For uncompressed layers tar_out() feeds the blob writer directly.  gzip
 * runs with libarchive's "timestamp" option unset (MTIME = 0) and never
 * stores a file name; the tar stream uses UTF-8 names set through the _utf8
 * entry setters, so the bytes do not depend on the locale. */
#include "config.h"
#include "oci_int.h"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XATTR_MAX_COUNT 128
#define XATTR_MAX_VALUE 65536

struct temper_oci_layer {
    struct temper_stage *st;
    struct temper_oci_layout *l;
    struct temper_oci_layer_opts o;
    struct archive *tar;
    struct archive *comp;             /* NULL when uncompressed */
    struct temper_oci_blob_writer *blob;
    struct temper_sha256 *diff;
    bool broken;                      /* a stream error: only free() is left */
    bool io_error;                    /* writing the blob failed (recorded) */
    bool finished;
};

int oci_path_clean(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = in ? in : "";
    while (*p) {
        while (*p == '/') {
            p++;
        }
        const char *s = p;
        while (*p && *p != '/') {
            p++;
        }
        size_t n = (size_t)(p - s);
        if (n == 0 || (n == 1 && s[0] == '.')) {
            continue;
        }
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            return TEMPER_EINVAL;
        }
        if (o + (o ? 1 : 0) + n + 1 > cap) {
            return TEMPER_ELIMIT;
        }
        if (o) {
            out[o++] = '/';
        }
        memcpy(out + o, s, n);
        o += n;
    }
    if (o == 0) {
        return TEMPER_EINVAL;
    }
    out[o] = '\0';
    return TEMPER_OK;
}

/* Never fails towards libarchive: a write error is kept in ly->io_error and
 * the rest is dropped.  A gzip writer in the FATAL state would otherwise
 * leak its zlib stream on free (libarchive 3.6 only ends it in close). */
static la_ssize_t comp_out(struct archive *a, void *ctx, const void *buf, size_t n)
{
    (void)a;
    struct temper_oci_layer *ly = ctx;
    if (!ly->io_error && temper_oci_blob_writer_write(ly->blob, buf, n) != TEMPER_OK) {
        ly->io_error = true;
    }
    return (la_ssize_t)n;
}

/* Same rule as comp_out: errors are kept in ly->io_error, never returned
 * (a FATAL writer leaks its client buffer on free in libarchive 3.6). */
static la_ssize_t tar_out(struct archive *a, void *ctx, const void *buf, size_t n)
{
    struct temper_oci_layer *ly = ctx;
    temper_sha256_update(ly->diff, buf, n);
    if (!ly->comp) {
        return comp_out(a, ctx, buf, n);
    }
    if (!ly->io_error && archive_write_data(ly->comp, buf, n) != (la_ssize_t)n) {
        ly->io_error = true;
        temper_fail(ly->st, TEMPER_EIO, "layer in %s: compression failed: %s",
                    temper_oci_layout_path(ly->l),
                    archive_error_string(ly->comp) ? archive_error_string(ly->comp) : "?");
    }
    return (la_ssize_t)n;
}

static int setup_comp(struct temper_oci_layer *ly)
{
    const struct temper_oci_layer_opts *o = &ly->o;
    struct archive *c = archive_write_new();
    ly->comp = c;
    if (!c) {
        return ARCHIVE_FATAL;
    }
    char level[16];
    int r = archive_write_set_format_raw(c);
    if (o->compression == TEMPER_OCI_COMP_GZIP) {
        snprintf(level, sizeof level, "%d", o->level > 0 ? o->level : 6);
        r = r ? r : archive_write_add_filter_gzip(c);
        /* value NULL = option unset: MTIME 0 in the gzip header */
        r = r ? r : archive_write_set_filter_option(c, "gzip", "timestamp", NULL);
        r = r ? r : archive_write_set_filter_option(c, "gzip", "compression-level", level);
    } else {
        snprintf(level, sizeof level, "%d", o->level > 0 ? o->level : 3);
        r = r ? r : archive_write_add_filter_zstd(c);
        r = r ? r : archive_write_set_filter_option(c, "zstd", "compression-level", level);
    }
    r = r ? r : archive_write_set_bytes_per_block(c, 0);
    r = r ? r : archive_write_set_bytes_in_last_block(c, 1);
    r = r ? r : archive_write_open2(c, ly, NULL, comp_out, NULL, NULL);
    struct archive_entry *e = r ? NULL : archive_entry_new();
    if (e) {
        archive_entry_set_pathname(e, "layer.tar");
        archive_entry_set_filetype(e, AE_IFREG);
        r = archive_write_header(c, e);
        archive_entry_free(e);
    }
    return (r == ARCHIVE_OK && !e) ? ARCHIVE_FATAL : r;
}

static int setup_tar(struct temper_oci_layer *ly)
{
    struct archive *t = archive_write_new();
    ly->tar = t;
    if (!t) {
        return ARCHIVE_FATAL;
    }
    locale_t old = oci_locale_enter(); /* the pax writer's charset is fixed here */
    int r = archive_write_set_format_pax_restricted(t);
    r = r ? r : archive_write_set_format_option(t, "pax", "xattrheader", "SCHILY");
    r = r ? r : archive_write_open2(t, ly, NULL, tar_out, NULL, NULL);
    oci_locale_leave(old);
    return r;
}

static int setup_failed(struct temper_stage *st, struct archive *a)
{
    const char *why = a ? archive_error_string(a) : NULL;
    return temper_fail(st, TEMPER_EIO, "layer: cannot set up the archive writer: %s",
                       why ? why : "out of memory");
}

int temper_oci_layer_new(struct temper_stage *st, struct temper_oci_layout *l,
                         const struct temper_oci_layer_opts *opts,
                         struct temper_oci_layer **out)
{
    *out = NULL;
    struct temper_oci_layer *ly = calloc(1, sizeof *ly);
    if (!ly) {
        return temper_fail(st, TEMPER_ENOMEM, "layer: out of memory");
    }
    ly->st = st;
    ly->l = l;
    if (opts) {
        size_t n = opts->size < sizeof ly->o ? opts->size : sizeof ly->o;
        memcpy(&ly->o, opts, n);
    }
    ly->o.size = sizeof ly->o;
    if (ly->o.compression > TEMPER_OCI_COMP_NONE || ly->o.level < 0 || ly->o.level > 22) {
        free(ly);
        return temper_fail(st, TEMPER_EINVAL, "layer: invalid compression settings");
    }
    int rc = temper_oci_blob_writer_new(st, l, &ly->blob);
    if (rc == TEMPER_OK) {
        ly->diff = temper_sha256_new();
    }
    if (rc == TEMPER_OK && !ly->diff) {
        rc = temper_fail(st, TEMPER_ENOMEM, "layer: out of memory");
    }
    if (rc == TEMPER_OK && ly->o.compression != TEMPER_OCI_COMP_NONE &&
        setup_comp(ly) != ARCHIVE_OK) {
        rc = setup_failed(st, ly->comp);
    }
    if (rc == TEMPER_OK && setup_tar(ly) != ARCHIVE_OK) {
        rc = setup_failed(st, ly->tar);
    }
    if (rc != TEMPER_OK) {
        temper_oci_layer_free(ly);
        return rc;
    }
    *out = ly;
    return TEMPER_OK;
}

struct temper_stage *oci_layer_stage(const struct temper_oci_layer *ly)
{
    return ly->st;
}

static int broken(struct temper_oci_layer *ly, const char *path, struct archive *a)
{
    ly->broken = true;
    return temper_fail(ly->st, TEMPER_EIO, "layer in %s: entry '%s': %s",
                       temper_oci_layout_path(ly->l), path,
                       a && archive_error_string(a) ? archive_error_string(a)
                                                    : "write failed");
}

static int usable(struct temper_oci_layer *ly)
{
    if (!ly) {
        return TEMPER_EINVAL;
    }
    if (ly->io_error) {
        ly->broken = true;
    }
    if (ly->broken || ly->finished) {
        return temper_fail(ly->st, TEMPER_ESTATE, "layer in %s: already %s",
                           temper_oci_layout_path(ly->l), ly->broken ? "failed" : "finished");
    }
    return TEMPER_OK;
}

static int refuse(struct temper_oci_layer *ly, const char *path, const char *why)
{
    return temper_fail(ly->st, TEMPER_EINVAL, "layer in %s: entry '%s': %s",
                       temper_oci_layout_path(ly->l), path ? path : "(null)", why);
}

static mode_t entry_filetype(enum temper_oci_entry_type t)
{
    switch (t) {
    case TEMPER_OCI_ENTRY_DIR: return AE_IFDIR;
    case TEMPER_OCI_ENTRY_SYMLINK: return AE_IFLNK;
    case TEMPER_OCI_ENTRY_CHAR: return AE_IFCHR;
    case TEMPER_OCI_ENTRY_BLOCK: return AE_IFBLK;
    case TEMPER_OCI_ENTRY_FIFO: return AE_IFIFO;
    default: return AE_IFREG; /* files and hardlinks */
    }
}

static int set_links(struct temper_oci_layer *ly, const struct temper_oci_entry *e,
                     struct archive_entry *ae)
{
    if (e->type == TEMPER_OCI_ENTRY_SYMLINK) {
        if (!e->link_target || !*e->link_target || strlen(e->link_target) >= 4096) {
            return refuse(ly, e->path, "symlink without a valid target");
        }
        archive_entry_set_symlink_utf8(ae, e->link_target);
    } else if (e->type == TEMPER_OCI_ENTRY_HARDLINK) {
        char target[4096];
        if (oci_path_clean(e->link_target, target, sizeof target) != TEMPER_OK) {
            return refuse(ly, e->path, "hardlink target is empty, too long or has '..'");
        }
        archive_entry_set_hardlink_utf8(ae, target);
    } else if (e->type == TEMPER_OCI_ENTRY_CHAR || e->type == TEMPER_OCI_ENTRY_BLOCK) {
        if (!ly->o.allow_devices) {
            return refuse(ly, e->path, "device nodes are not allowed in this layer");
        }
        archive_entry_set_rdevmajor(ae, e->dev_major);
        archive_entry_set_rdevminor(ae, e->dev_minor);
    }
    return TEMPER_OK;
}

static int set_xattrs(struct temper_oci_layer *ly, const struct temper_oci_entry *e,
                      struct archive_entry *ae)
{
    if (e->n_xattrs > XATTR_MAX_COUNT) {
        return refuse(ly, e->path, "too many extended attributes");
    }
    for (size_t i = 0; i < e->n_xattrs; i++) {
        const struct temper_oci_xattr *x = &e->xattrs[i];
        if (!x->name || !*x->name || (x->len && !x->value) || x->len > XATTR_MAX_VALUE) {
            return refuse(ly, e->path, "invalid extended attribute");
        }
        archive_entry_xattr_add_entry(ae, x->name, x->value, x->len);
    }
    return TEMPER_OK;
}

/* Names are UTF-8 (7-bit only when C.UTF-8 is missing, see oci_int.h). */
static bool names_ok(const struct temper_oci_entry *e, const char *path)
{
    bool ascii = !oci_utf8_ok();
    const char *names[] = { path, e->link_target, e->uname, e->gname };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (names[i] && !oci_utf8_valid(names[i], ascii)) {
            return false;
        }
    }
    for (size_t i = 0; i < e->n_xattrs && e->xattrs; i++) {
        if (e->xattrs[i].name && !oci_utf8_valid(e->xattrs[i].name, ascii)) {
            return false;
        }
    }
    return true;
}

/* Build the archive entry for e with content size `size`. */
static int make_entry(struct temper_oci_layer *ly, const struct temper_oci_entry *e,
                      long long size, struct archive_entry **out, char path[4096])
{
    *out = NULL;
    if (oci_path_clean(e->path, path, 4096) != TEMPER_OK) {
        return refuse(ly, e->path, "path is empty, too long or has '..'");
    }
    if ((unsigned)e->type > TEMPER_OCI_ENTRY_FIFO) {
        return refuse(ly, path, "unknown entry type");
    }
    if (!names_ok(e, path)) {
        return refuse(ly, path, oci_utf8_ok() ? "a name is not valid UTF-8"
                                              : "non-ASCII names need the C.UTF-8 locale");
    }
    struct archive_entry *ae = archive_entry_new();
    if (!ae) {
        return temper_fail(ly->st, TEMPER_ENOMEM, "layer: out of memory");
    }
    archive_entry_set_pathname_utf8(ae, path);
    archive_entry_set_filetype(ae, entry_filetype(e->type));
    archive_entry_set_perm(ae, e->mode & 07777);
    archive_entry_set_uid(ae, (la_int64_t)e->uid);
    archive_entry_set_gid(ae, (la_int64_t)e->gid);
    if (e->uname) {
        archive_entry_set_uname_utf8(ae, e->uname);
    }
    if (e->gname) {
        archive_entry_set_gname_utf8(ae, e->gname);
    }
    long long t = e->mtime;
    if (ly->o.source_date_epoch >= 0 && t > ly->o.source_date_epoch) {
        t = ly->o.source_date_epoch;
    }
    archive_entry_set_mtime(ae, t < 0 ? 0 : (time_t)t, 0);
    archive_entry_set_size(ae, e->type == TEMPER_OCI_ENTRY_FILE ? size : 0);
    int rc = set_links(ly, e, ae);
    if (rc == TEMPER_OK) {
        rc = set_xattrs(ly, e, ae);
    }
    if (rc != TEMPER_OK) {
        archive_entry_free(ae);
        return rc;
    }
    *out = ae;
    return TEMPER_OK;
}

static int write_header(struct temper_oci_layer *ly, const struct temper_oci_entry *e,
                        long long size, char path[4096])
{
    struct archive_entry *ae = NULL;
    int rc = make_entry(ly, e, size, &ae, path);
    if (rc != TEMPER_OK) {
        return rc;
    }
    locale_t old = oci_locale_enter();
    int r = archive_write_header(ly->tar, ae);
    oci_locale_leave(old);
    archive_entry_free(ae);
    return r == ARCHIVE_OK ? TEMPER_OK : broken(ly, path, ly->tar);
}

int temper_oci_layer_add(struct temper_oci_layer *ly, const struct temper_oci_entry *e)
{
    int rc = usable(ly);
    if (rc != TEMPER_OK) {
        return rc;
    }
    char path[4096];
    if (e->type == TEMPER_OCI_ENTRY_FILE) {
        return refuse(ly, e->path, "regular files need content (add_data / add_file)");
    }
    return write_header(ly, e, 0, path);
}

int temper_oci_layer_add_data(struct temper_oci_layer *ly, const struct temper_oci_entry *e,
                              const void *data, size_t len)
{
    int rc = usable(ly);
    if (rc != TEMPER_OK) {
        return rc;
    }
    char path[4096];
    if (e->type != TEMPER_OCI_ENTRY_FILE || (len && !data)) {
        return refuse(ly, e->path, "add_data needs a regular file entry and its bytes");
    }
    rc = write_header(ly, e, (long long)len, path);
    if (rc == TEMPER_OK && len > 0 &&
        archive_write_data(ly->tar, data, len) != (la_ssize_t)len) {
        rc = broken(ly, path, ly->tar);
    }
    return rc;
}

/* Stream `size` bytes of fd as the content of e. */
static int add_fd(struct temper_oci_layer *ly, const struct temper_oci_entry *e, int fd,
                  long long size, const char *src)
{
    char path[4096];
    int rc = write_header(ly, e, size, path);
    char *buf = rc == TEMPER_OK ? malloc(65536) : NULL;
    if (rc == TEMPER_OK && !buf) {
        ly->broken = true;
        rc = temper_fail(ly->st, TEMPER_ENOMEM, "layer: out of memory");
    }
    long long left = size;
    while (rc == TEMPER_OK && left > 0) {
        size_t want = left < 65536 ? (size_t)left : 65536;
        ssize_t r = read(fd, buf, want);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            ly->broken = true;
            rc = temper_fail(ly->st, TEMPER_EIO, "layer: %s: %s while reading", src,
                             r < 0 ? strerror(errno) : "file shrank");
        } else if (archive_write_data(ly->tar, buf, (size_t)r) != (la_ssize_t)r) {
            rc = broken(ly, path, ly->tar);
        } else {
            left -= r;
        }
    }
    free(buf);
    return rc;
}

int oci_layer_add_fd(struct temper_oci_layer *ly, const struct temper_oci_entry *e, int fd,
                     long long size, const char *src)
{
    int rc = usable(ly);
    return rc == TEMPER_OK ? add_fd(ly, e, fd, size, src) : rc;
}

int temper_oci_layer_add_file(struct temper_oci_layer *ly, const struct temper_oci_entry *e,
                              const char *src)
{
    int rc = usable(ly);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (e->type != TEMPER_OCI_ENTRY_FILE) {
        return refuse(ly, e->path, "add_file needs a regular file entry");
    }
    int fd = open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return temper_fail(ly->st, TEMPER_EIO, "layer: cannot open %s: %s", src,
                           strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = temper_fail(ly->st, TEMPER_EINVAL, "layer: %s is not a regular file", src);
    } else {
        rc = add_fd(ly, e, fd, (long long)sb.st_size, src);
    }
    close(fd);
    return rc;
}

int temper_oci_layer_add_whiteout(struct temper_oci_layer *ly, const char *path, bool opaque)
{
    int rc = usable(ly);
    if (rc != TEMPER_OK) {
        return rc;
    }
    char clean[4096], wh[4096 + 16];
    if (oci_path_clean(path, clean, sizeof clean) != TEMPER_OK) {
        return refuse(ly, path, "whiteout path is empty, too long or has '..'");
    }
    char *slash = strrchr(clean, '/');
    int n;
    if (opaque) {
        n = snprintf(wh, sizeof wh, "%s/.wh..wh..opq", clean);
    } else if (slash) {
        *slash = '\0';
        n = snprintf(wh, sizeof wh, "%s/.wh.%s", clean, slash + 1);
    } else {
        n = snprintf(wh, sizeof wh, ".wh.%s", clean);
    }
    if (n < 0 || (size_t)n >= 4096) {
        return refuse(ly, path, "whiteout path too long");
    }
    struct temper_oci_entry e = {
        .path = wh, .type = TEMPER_OCI_ENTRY_FILE, .mode = opaque ? 0 : 0644,
        .mtime = ly->o.source_date_epoch >= 0 ? ly->o.source_date_epoch : 0,
    };
    return temper_oci_layer_add_data(ly, &e, "", 0);
}

int temper_oci_layer_finish(struct temper_oci_layer *ly, struct temper_oci_descriptor *desc,
                            char diff_id[TEMPER_DIGEST_STR_LEN])
{
    int rc = usable(ly);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (archive_write_close(ly->tar) != ARCHIVE_OK) {
        return broken(ly, "(end of archive)", ly->tar);
    }
    if (ly->comp && archive_write_close(ly->comp) != ARCHIVE_OK) {
        return broken(ly, "(end of compression)", ly->comp);
    }
    if (ly->io_error) {
        ly->broken = true;
        return TEMPER_EIO; /* recorded by the blob writer */
    }
    char dd[TEMPER_DIGEST_STR_LEN], bd[TEMPER_DIGEST_STR_LEN];
    long long size = 0;
    ly->finished = true;
    if (oci_sha256_digest(ly->diff, dd) != TEMPER_OK) {
        return temper_fail(ly->st, TEMPER_ECRYPTO, "layer in %s: cannot hash the tar stream",
                           temper_oci_layout_path(ly->l));
    }
    rc = temper_oci_blob_writer_commit(ly->blob, NULL, bd, &size);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (diff_id) {
        memcpy(diff_id, dd, sizeof dd);
    }
    if (desc) {
        static const char *const mts[] = { TEMPER_OCI_MT_LAYER_GZIP, TEMPER_OCI_MT_LAYER_ZSTD,
                                           TEMPER_OCI_MT_LAYER_TAR };
        temper_oci_descriptor_cleanup(desc);
        memcpy(desc->digest, bd, sizeof bd);
        desc->size = size;
        if (oci_strdup(&desc->media_type, mts[ly->o.compression]) != TEMPER_OK) {
            return temper_fail(ly->st, TEMPER_ENOMEM, "layer: out of memory");
        }
    }
    return TEMPER_OK;
}

void temper_oci_layer_free(struct temper_oci_layer *ly)
{
    if (!ly) {
        return;
    }
    /* an abandoned layer is closed normally, into the temp file that is
     * removed next: libarchive frees its buffers and zlib/zstd state only
     * in close, which free() skips for a writer put in the FATAL state */
    if (ly->tar) {
        archive_write_free(ly->tar);
    }
    if (ly->comp) {
        archive_write_free(ly->comp);
    }
    temper_oci_blob_writer_free(ly->blob); /* removes the temp file if not committed */
    temper_sha256_free(ly->diff);
    free(ly);
}

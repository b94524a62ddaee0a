/* temper — Debian binary packages: control data and safe extraction of the
 * data tar (include/temper/deb.h).  The ar container and both tars are read
 * as one stream: each inner tar is a second libarchive reader whose input is
 * the current member of the ar reader. */
#include "config.h"
#include "oci_int.h"
#include <temper/deb.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEB_BLOCK 65536
#define DEB_MAX_CONTROL_ENTRIES 10000

struct deb {
    struct temper_stage *st;
    const char *path;
    struct temper_deb_extract_opts o;
    struct archive *ar;      /* the ar container */
    int fd;
    int stage;               /* 0 nothing, 1 debian-binary, 2 control, 3 data */
};

/* Read callback of an inner reader: the data of the current ar member. */
static la_ssize_t member_read(struct archive *inner, void *ctx, const void **buf)
{
    struct deb *d = ctx;
    size_t len = 0;
    la_int64_t off = 0;
    int r = archive_read_data_block(d->ar, buf, &len, &off);
    if (r == ARCHIVE_EOF) {
        *buf = NULL;
        return 0;
    }
    if (r < ARCHIVE_WARN) {
        const char *why = archive_error_string(d->ar);
        archive_set_error(inner, EIO, "%s", why ? why : "read error");
        return -1;
    }
    return (la_ssize_t)len;
}

/* Enable the built-in decompressors only (ARCHIVE_WARN means "would run an
 * external program"). */
static int inner_open(struct deb *d, const char *member, struct archive **out)
{
    static int (*const fns[])(struct archive *) = {
        archive_read_support_filter_gzip, archive_read_support_filter_xz,
        archive_read_support_filter_lzma, archive_read_support_filter_zstd,
        archive_read_support_filter_bzip2,
    };
    struct archive *a = archive_read_new();
    if (!a) {
        return temper_fail(d->st, TEMPER_ENOMEM, "%s: out of memory", d->path);
    }
    int rc = archive_read_support_format_tar(a) == ARCHIVE_OK ? TEMPER_OK : TEMPER_EINTERNAL;
    for (size_t i = 0; rc == TEMPER_OK && i < sizeof fns / sizeof fns[0]; i++) {
        if (fns[i](a) != ARCHIVE_OK) {
            rc = TEMPER_ENOTSUP;
        }
    }
    if (rc != TEMPER_OK) {
        archive_read_free(a);
        return temper_fail(d->st, rc, "%s: libarchive lacks a built-in decompressor", d->path);
    }
    if (archive_read_open(a, d, NULL, member_read, NULL) != ARCHIVE_OK) {
        const char *why = archive_error_string(a);
        rc = temper_fail(d->st, TEMPER_EFORMAT, "%s: member %s: %s", d->path, member,
                         why ? why : "not a tar archive");
        archive_read_free(a);
        return rc;
    }
    *out = a;
    return TEMPER_OK;
}

/* "name" or "name.<ext>" with ext in exts (NULL-terminated). */
static int member_is(const char *name, const char *stem, const char *const *exts)
{
    size_t n = strlen(stem);
    if (strncmp(name, stem, n) != 0) {
        return 0;
    }
    if (name[n] == '\0') {
        return 1;
    }
    for (size_t i = 0; exts[i]; i++) {
        if (name[n] == '.' && strcmp(name + n + 1, exts[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static int read_member_data(struct deb *d, struct archive *a, const char *what,
                            struct temper_buf *b)
{
    temper_buf_reset(b);
    char chunk[8192];
    for (;;) {
        la_ssize_t n = archive_read_data(a, chunk, sizeof chunk);
        if (n == 0) {
            return TEMPER_OK;
        }
        if (n < 0) {
            const char *why = archive_error_string(a);
            return temper_fail(d->st, TEMPER_EFORMAT, "%s: %s: %s", d->path, what,
                               why ? why : "read error");
        }
        if (temper_buf_append(b, chunk, (size_t)n) != TEMPER_OK) {
            return temper_fail(d->st, TEMPER_ELIMIT, "%s: %s is larger than %zu bytes",
                               d->path, what, b->max);
        }
    }
}

/* The control tar: keep ./control and ./md5sums when asked. */
static int control_tar(struct deb *d, const char *member)
{
    struct archive *a = NULL;
    int rc = inner_open(d, member, &a);
    for (size_t n = 0; rc == TEMPER_OK; n++) {
        struct archive_entry *ae = NULL;
        int r = archive_read_next_header(a, &ae);
        if (r == ARCHIVE_EOF) {
            break;
        }
        if (r < ARCHIVE_WARN || n >= DEB_MAX_CONTROL_ENTRIES) {
            const char *why = archive_error_string(a);
            rc = temper_fail(d->st, TEMPER_EFORMAT, "%s: %s: %s", d->path, member,
                             n >= DEB_MAX_CONTROL_ENTRIES ? "too many entries"
                                                          : why ? why : "read error");
            break;
        }
        const char *name = archive_entry_pathname(ae);
        name = name && strncmp(name, "./", 2) == 0 ? name + 2 : name;
        struct temper_buf *dst = !name || archive_entry_filetype(ae) != AE_IFREG ? NULL
                                 : strcmp(name, "control") == 0 ? d->o.control
                                 : strcmp(name, "md5sums") == 0 ? d->o.md5sums
                                                                : NULL;
        if (dst) {
            rc = read_member_data(d, a, name, dst);
        }
    }
    if (a) {
        archive_read_free(a);
    }
    return rc;
}

static int data_tar(struct deb *d, const char *member, const char *root)
{
    struct archive *a = NULL;
    int rc = inner_open(d, member, &a);
    if (rc == TEMPER_OK) {
        struct temper_oci_extract_opts o = { .size = sizeof o };
        if (d->o.extract) {
            memcpy(&o, d->o.extract,
                   d->o.extract->size < sizeof o ? d->o.extract->size : sizeof o);
        }
        o.size = sizeof o;
        o.name = o.name ? o.name : d->path;
        rc = oci_extract_archive(d->st, a, o.name, root, &o);
    }
    if (a) {
        archive_read_free(a);
    }
    return rc;
}

static int debian_binary(struct deb *d)
{
    struct temper_buf b;
    temper_buf_init(&b, 64);
    int rc = read_member_data(d, d->ar, "debian-binary", &b);
    if (rc == TEMPER_OK && (b.len < 3 || strncmp(b.data, "2.", 2) != 0)) {
        rc = temper_fail(d->st, TEMPER_EFORMAT, "%s: not a Debian binary package of format 2",
                         d->path);
    }
    temper_buf_cleanup(&b);
    return rc;
}

/* One ar member; *done once the wanted parts were read. */
static int member(struct deb *d, const char *name, const char *root, bool *done)
{
    static const char *const ctl_ext[] = { "gz", "xz", "zst", NULL };
    static const char *const data_ext[] = { "gz", "xz", "zst", "bz2", "lzma", NULL };
    if (d->stage == 0) {
        if (strcmp(name, "debian-binary") != 0) {
            return temper_fail(d->st, TEMPER_EFORMAT,
                               "%s: not a Debian package (first member is not debian-binary)",
                               d->path);
        }
        d->stage = 1;
        return debian_binary(d);
    }
    if (name[0] == '_') {
        return TEMPER_OK; /* reserved for local additions, ignored by dpkg too */
    }
    if (d->stage == 1 && member_is(name, "control.tar", ctl_ext)) {
        d->stage = 2;
        int rc = control_tar(d, name);
        *done = rc == TEMPER_OK && !root;
        return rc;
    }
    if (d->stage == 2 && member_is(name, "data.tar", data_ext)) {
        d->stage = 3;
        *done = true;
        return data_tar(d, name, root);
    }
    return temper_fail(d->st, TEMPER_EFORMAT, "%s: unexpected member '%.64s'", d->path, name);
}

static int walk(struct deb *d, const char *root)
{
    bool done = false;
    int rc = TEMPER_OK;
    while (rc == TEMPER_OK && !done) {
        struct archive_entry *ae = NULL;
        int r = archive_read_next_header(d->ar, &ae);
        if (r == ARCHIVE_EOF) {
            break;
        }
        if (r < ARCHIVE_WARN) {
            const char *why = archive_error_string(d->ar);
            return temper_fail(d->st, TEMPER_EFORMAT, "%s: not a valid ar archive: %s",
                               d->path, why ? why : "read error");
        }
        const char *name = archive_entry_pathname(ae);
        rc = member(d, name ? name : "", root, &done);
    }
    if (rc == TEMPER_OK && !done) {
        rc = temper_fail(d->st, TEMPER_EFORMAT, "%s: no %s member", d->path,
                         d->stage < 2 ? "control.tar" : "data.tar");
    }
    return rc;
}

int temper_deb_extract(struct temper_stage *st, const char *deb, const char *root,
                       const struct temper_deb_extract_opts *opts)
{
    if (!deb) {
        return temper_fail(st, TEMPER_EINVAL, "deb extract: no package given");
    }
    struct deb d;
    memset(&d, 0, sizeof d);
    d.st = st;
    d.path = deb;
    d.fd = -1;
    if (opts) {
        memcpy(&d.o, opts, opts->size < sizeof d.o ? opts->size : sizeof d.o);
    }
    int rc = TEMPER_OK;
    struct stat sb;
    d.fd = open(deb, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (d.fd < 0 || fstat(d.fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = temper_fail(st, d.fd < 0 && errno == ENOENT ? TEMPER_ENOTFOUND : TEMPER_EIO,
                         "%s: cannot open: %s", deb,
                         d.fd < 0 ? strerror(errno) : "not a regular file");
    }
    d.ar = rc == TEMPER_OK ? archive_read_new() : NULL;
    if (rc == TEMPER_OK && !d.ar) {
        rc = temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", deb);
    }
    if (rc == TEMPER_OK && (archive_read_support_format_ar(d.ar) != ARCHIVE_OK ||
                            archive_read_open_fd(d.ar, d.fd, DEB_BLOCK) != ARCHIVE_OK)) {
        const char *why = archive_error_string(d.ar);
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: not an ar archive: %s", deb,
                         why ? why : "unreadable");
    }
    if (rc == TEMPER_OK) {
        rc = walk(&d, root);
    }
    if (d.ar) {
        archive_read_free(d.ar);
    }
    if (d.fd >= 0) {
        close(d.fd);
    }
    return rc;
}

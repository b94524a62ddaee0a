/* temper — sequential input for the index parsers: a plain file read with
 * read(2), or a compressed file/buffer decompressed by libarchive (raw
 * format).  Only in-process decompressors are enabled. */
#include "config.h"
#include "pkgindex_int.h"
#include <temper/buf.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SRC_BLOCK (64u * 1024u)

const char *pk_compression(const unsigned char *p, size_t n)
{
    if (n >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 0x08) {
        return "gzip";
    }
    if (n >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0) {
        return "xz";
    }
    if (n >= 4 && memcmp(p, "\x04\x22\x4d\x18", 4) == 0) {
        return "lz4";
    }
    if (n >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0) {
        return "zstd";
    }
    if (n >= 3 && memcmp(p, "BZh", 3) == 0) {
        return "bzip2";
    }
    return NULL;
}

/* Enable exactly the filters we need, refusing any that would fall back to
 * an external program (libarchive returns ARCHIVE_WARN then). */
static int archive_filters(struct temper_stage *st, struct archive *a, const char *name)
{
    static int (*const fns[])(struct archive *) = {
        archive_read_support_filter_gzip, archive_read_support_filter_xz,
        archive_read_support_filter_lz4, archive_read_support_filter_zstd,
        archive_read_support_filter_bzip2,
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        if (fns[i](a) != ARCHIVE_OK) {
            return temper_fail(st, TEMPER_ENOTSUP,
                               "%s: libarchive lacks a built-in decompressor: %s", name,
                               archive_error_string(a) ? archive_error_string(a) : "?");
        }
    }
    return TEMPER_OK;
}

/* "raw" for the decompressed bytes, "empty" so that an empty compressed
 * file reads as empty instead of "unrecognized". */
static int archive_raw_formats(struct archive *a)
{
    int r = archive_read_support_format_raw(a);
    return r == ARCHIVE_OK ? archive_read_support_format_empty(a) : r;
}

struct archive *pk_archive_mem(struct temper_stage *st, const char *name, const void *data,
                               size_t len, int tar)
{
    struct archive *a = archive_read_new();
    if (!a) {
        temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
        return NULL;
    }
    int rc = archive_filters(st, a, name);
    if (rc == TEMPER_OK) {
        int r = tar ? archive_read_support_format_tar(a) : archive_raw_formats(a);
        if (r != ARCHIVE_OK) {
            rc = temper_fail(st, TEMPER_EINTERNAL, "%s: %s", name, archive_error_string(a));
        }
    }
    if (rc == TEMPER_OK && archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: %s", name,
                         archive_error_string(a) ? archive_error_string(a) : "cannot open");
    }
    if (rc != TEMPER_OK) {
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* Position a raw-format reader on its single entry. */
static int archive_raw_start(struct temper_stage *st, struct pk_src *s)
{
    struct archive_entry *e = NULL;
    int r = archive_read_next_header(s->ar, &e);
    if (r == ARCHIVE_EOF) {
        s->eof = true;
        return TEMPER_OK;
    }
    if (r != ARCHIVE_OK) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: cannot decompress: %s", s->name,
                           archive_error_string(s->ar) ? archive_error_string(s->ar)
                                                       : "unknown error");
    }
    return TEMPER_OK;
}

int pk_src_open_mem(struct temper_stage *st, struct pk_src *s, const char *name,
                    const void *data, size_t len, unsigned long long max)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->name = name;
    s->max = max;
    if (!pk_compression(data, len)) {
        s->kind = PK_SRC_MEM;
        s->mem = data;
        s->mem_len = len;
        return TEMPER_OK;
    }
    s->ar = pk_archive_mem(st, name, data, len, 0);
    if (!s->ar) {
        return TEMPER_EFORMAT;
    }
    s->kind = PK_SRC_ARCHIVE;
    return archive_raw_start(st, s);
}

int pk_open_regular(struct temper_stage *st, const char *path, int *fd_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return temper_fail(st, errno == ENOENT ? TEMPER_ENOTFOUND : TEMPER_EIO,
                           "cannot open %s: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return temper_fail(st, TEMPER_EIO, "%s: not a regular file", path);
    }
    *fd_out = fd;
    return TEMPER_OK;
}

int pk_src_open_file(struct temper_stage *st, struct pk_src *s, const char *path,
                     unsigned long long max)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->name = path;
    s->max = max;
    int rc = pk_open_regular(st, path, &s->fd);
    if (rc != TEMPER_OK) {
        return rc;
    }
    unsigned char magic[8];
    ssize_t got = pread(s->fd, magic, sizeof magic, 0);
    if (got < 0) {
        rc = temper_fail(st, TEMPER_EIO, "cannot read %s: %s", path, strerror(errno));
        pk_src_close(s);
        return rc;
    }
    if (!pk_compression(magic, (size_t)got)) {
        s->kind = PK_SRC_FD;
        return TEMPER_OK;
    }
    s->ar = archive_read_new();
    if (!s->ar) {
        pk_src_close(s);
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", path);
    }
    s->kind = PK_SRC_ARCHIVE;
    rc = archive_filters(st, s->ar, path);
    if (rc == TEMPER_OK && archive_raw_formats(s->ar) != ARCHIVE_OK) {
        rc = temper_fail(st, TEMPER_EINTERNAL, "%s: %s", path, archive_error_string(s->ar));
    }
    if (rc == TEMPER_OK && archive_read_open_fd(s->ar, s->fd, SRC_BLOCK) != ARCHIVE_OK) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: %s", path, archive_error_string(s->ar));
    }
    if (rc == TEMPER_OK) {
        rc = archive_raw_start(st, s);
    }
    if (rc != TEMPER_OK) {
        pk_src_close(s);
    }
    return rc;
}

static ssize_t src_read_raw(struct temper_stage *st, struct pk_src *s, void *buf, size_t n)
{
    switch (s->kind) {
    case PK_SRC_MEM: {
        size_t k = s->mem_len - s->mem_pos;
        k = k < n ? k : n;
        memcpy(buf, s->mem + s->mem_pos, k);
        s->mem_pos += k;
        return (ssize_t)k;
    }
    case PK_SRC_FD:
        for (;;) {
            ssize_t r = read(s->fd, buf, n);
            if (r >= 0) {
                return r;
            }
            if (errno != EINTR) {
                return temper_fail(st, TEMPER_EIO, "cannot read %s: %s", s->name,
                                   strerror(errno));
            }
        }
    case PK_SRC_RANGE: /* quiet: the parallel load retries serially on any error */
        for (;;) {
            size_t k = s->left < n ? (size_t)s->left : n;
            ssize_t r = k ? pread(s->fd, buf, k, (off_t)s->off) : 0;
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r < 0 || (r == 0 && k)) {
                return TEMPER_EIO;
            }
            s->off += (unsigned long long)r;
            s->left -= (unsigned long long)r;
            return r;
        }
    case PK_SRC_ARCHIVE: {
        if (s->eof) {
            return 0;
        }
        la_ssize_t r = archive_read_data(s->ar, buf, n);
        if (r < 0) {
            return temper_fail(st, TEMPER_EFORMAT, "%s: cannot decompress: %s", s->name,
                               archive_error_string(s->ar) ? archive_error_string(s->ar)
                                                           : "unknown error");
        }
        return (ssize_t)r;
    }
    default:
        return 0;
    }
}

ssize_t pk_src_read(struct temper_stage *st, struct pk_src *s, void *buf, size_t n)
{
    if (n > (size_t)SSIZE_MAX) {
        n = (size_t)SSIZE_MAX;
    }
    ssize_t r = src_read_raw(st, s, buf, n);
    if (r <= 0) {
        return r;
    }
    s->total += (unsigned long long)r;
    if (s->max && s->total > s->max) {
        return temper_fail(st, TEMPER_ELIMIT, "%s: more than %llu bytes of input", s->name,
                           s->max);
    }
    return r;
}

void pk_src_close(struct pk_src *s)
{
    if (s->ar) {
        archive_read_free(s->ar);
        s->ar = NULL;
    }
    if (s->fd >= 0 && s->kind != PK_SRC_RANGE) {
        close(s->fd);
    }
    s->fd = -1;
    s->kind = PK_SRC_NONE;
}

int pk_src_slurp(struct temper_stage *st, struct pk_src *s, char **data, size_t *len)
{
    struct temper_buf b;
    temper_buf_init(&b, 0);
    int rc = TEMPER_OK;
    char block[SRC_BLOCK];
    for (;;) {
        ssize_t r = pk_src_read(st, s, block, sizeof block);
        if (r < 0) {
            rc = (int)r;
            break;
        }
        if (r == 0) {
            break;
        }
        rc = temper_buf_append(&b, block, (size_t)r);
        if (rc != TEMPER_OK) {
            rc = temper_fail(st, rc, "%s: out of memory", s->name);
            break;
        }
    }
    if (rc == TEMPER_OK) {
        *len = b.len;
        *data = temper_buf_take(&b, NULL);
        if (!*data) {
            rc = temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", s->name);
        }
    }
    temper_buf_cleanup(&b);
    return rc;
}

int pk_pread_full(struct temper_stage *st, const char *path, int fd, void *buf, size_t n,
                  unsigned long long off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return temper_fail(st, TEMPER_EIO, "cannot read %s: %s", path,
                               r < 0 ? strerror(errno) : "file shrank while reading");
        }
        got += (size_t)r;
    }
    return TEMPER_OK;
}

int pk_read_file(struct temper_stage *st, const char *path, unsigned long long max,
                 unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = -1;
    int rc = pk_open_regular(st, path, &fd);
    if (rc != TEMPER_OK) {
        return rc;
    }
    struct stat sb;
    unsigned char *buf = NULL;
    if (fstat(fd, &sb) != 0 || (unsigned long long)sb.st_size > max ||
        (unsigned long long)sb.st_size >= SIZE_MAX) {
        close(fd);
        return temper_fail(st, TEMPER_ELIMIT, "%s: larger than %llu bytes", path, max);
    }
    size_t size = (size_t)sb.st_size;
    buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", path);
    }
    rc = pk_pread_full(st, path, fd, buf, size, 0);
    close(fd);
    if (rc != TEMPER_OK) {
        free(buf);
        return rc;
    }
    buf[size] = 0;
    *data = buf;
    *len = size;
    return TEMPER_OK;
}

int temper_pkgindex_read(struct temper_stage *st, const char *path, unsigned long long max,
                         char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    struct temper_pkgindex_limits lim;
    temper_pkgindex_limits_default(&lim);
    struct pk_src s;
    int rc = pk_src_open_file(st, &s, path, max ? max : lim.max_input);
    if (rc != TEMPER_OK) {
        return rc;
    }
    rc = pk_src_slurp(st, &s, data, len);
    pk_src_close(&s);
    return rc;
}

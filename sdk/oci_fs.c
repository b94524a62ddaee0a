/* temper — file helpers of the OCI layout: everything relative to directory
 * descriptors, O_NOFOLLOW, atomic replacement. */
#include "config.h"
#include "oci_int.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int oci_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return TEMPER_EIO;
        }
        c += w;
        n -= (size_t)w;
    }
    return TEMPER_OK;
}

int oci_tmp_create(int dirfd, const char *prefix, char name[64], int *fd)
{
    *fd = -1;
    for (int attempt = 0; attempt < 16; attempt++) {
        unsigned char r[8];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
            return TEMPER_EIO;
        }
        int n = snprintf(name, 64, "%s%02x%02x%02x%02x%02x%02x%02x%02x", prefix, r[0], r[1],
                         r[2], r[3], r[4], r[5], r[6], r[7]);
        if (n < 0 || n >= 64) {
            return TEMPER_EINVAL;
        }
        *fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (*fd >= 0) {
            return TEMPER_OK;
        }
        if (errno != EEXIST) {
            return TEMPER_EIO;
        }
    }
    return TEMPER_EIO;
}

/* Read fd to EOF into b (at most max bytes). */
static int read_capped(int fd, size_t max, char **data, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        return TEMPER_ENOMEM;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                free(buf);
                return TEMPER_ELIMIT;
            }
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                return TEMPER_ENOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            free(buf);
            return TEMPER_EIO;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
        if (n > max) {
            free(buf);
            return TEMPER_ELIMIT;
        }
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return TEMPER_OK;
}

int oci_read_small(struct temper_stage *st, int dirfd, const char *name, const char *label,
                   size_t max, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        return temper_fail(st, e == ENOENT ? TEMPER_ENOTFOUND : TEMPER_EIO,
                           "%s: cannot open: %s", label, strerror(e));
    }
    struct stat sb;
    int rc = TEMPER_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = temper_fail(st, TEMPER_EIO, "%s: not a regular file", label);
    } else {
        rc = read_capped(fd, max, data, len);
        if (rc == TEMPER_ELIMIT) {
            temper_fail(st, rc, "%s: larger than the limit of %zu bytes", label, max);
        } else if (rc != TEMPER_OK) {
            temper_fail(st, rc, "%s: cannot read: %s", label, strerror(errno));
        }
    }
    close(fd);
    return rc;
}

int oci_replace_file(struct temper_stage *st, int dirfd, const char *name, const char *label,
                     const void *data, size_t len)
{
    char tmp[64];
    int fd = -1;
    int rc = oci_tmp_create(dirfd, ".tmp-", tmp, &fd);
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "%s: cannot create a temporary file: %s", label,
                           strerror(errno));
    }
    rc = oci_write_all(fd, data, len);
    if (rc == TEMPER_OK && fsync(fd) != 0) {
        rc = TEMPER_EIO;
    }
    if (close(fd) != 0 && rc == TEMPER_OK) {
        rc = TEMPER_EIO;
    }
    if (rc == TEMPER_OK && renameat(dirfd, tmp, dirfd, name) != 0) {
        rc = TEMPER_EIO;
    }
    if (rc != TEMPER_OK) {
        int e = errno;
        unlinkat(dirfd, tmp, 0);
        return temper_fail(st, rc, "%s: cannot write: %s", label, strerror(e));
    }
    (void)fsync(dirfd);
    return TEMPER_OK;
}

int oci_hash_fd(int fd, char digest[TEMPER_DIGEST_STR_LEN], long long *size)
{
    struct temper_sha256 *h = temper_sha256_new();
    if (!h) {
        return TEMPER_ENOMEM;
    }
    int rc = TEMPER_OK;
    unsigned char *buf = malloc(65536);
    long long total = 0;
    if (!buf) {
        rc = TEMPER_ENOMEM;
    }
    while (rc == TEMPER_OK) {
        ssize_t r = read(fd, buf, 65536);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = TEMPER_EIO;
        } else if (r == 0) {
            break;
        } else {
            temper_sha256_update(h, buf, (size_t)r);
            total += r;
        }
    }
    if (rc == TEMPER_OK) {
        rc = oci_sha256_digest(h, digest);
    }
    if (size) {
        *size = total;
    }
    free(buf);
    temper_sha256_free(h);
    return rc;
}

/* ---- locale for libarchive ------------------------------------------------ */

static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static locale_t utf8_loc = (locale_t)0;

static void utf8_init(void)
{
    static const char *const names[] = { "C.UTF-8", "C.utf8", "en_US.UTF-8" };
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !utf8_loc; i++) {
        utf8_loc = newlocale(LC_ALL_MASK, names[i], (locale_t)0);
    }
}

bool oci_utf8_ok(void)
{
    pthread_once(&utf8_once, utf8_init);
    return utf8_loc != (locale_t)0;
}

locale_t oci_locale_enter(void)
{
    if (!oci_utf8_ok()) {
        return (locale_t)0;
    }
    return uselocale(utf8_loc);
}

void oci_locale_leave(locale_t old)
{
    if (old != (locale_t)0) {
        uselocale(old);
    }
}

int oci_utf8_valid(const char *s, bool ascii_only)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        if (ascii_only) {
            return 0;
        }
        int n = (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0) {
            return 0;
        }
        unsigned long cp = *p & (0x3f >> n);
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        static const unsigned long min[] = { 0, 0x80, 0x800, 0x10000 };
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
        p += n + 1;
    }
    return 1;
}

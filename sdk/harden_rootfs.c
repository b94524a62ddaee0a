/* temper — safe file operations inside an image root (include/temper/harden.h):
 * parents resolved inside the root like the layer extractor does, the last
 * component never followed. */
#include "config.h"
#include "oci_int.h"
#include <temper/harden.h>
#include <temper/buf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open the root and the parent of `path` inside it; *base points into clean. */
static int rootfs_parent(struct temper_stage *st, const char *root, const char *path,
                         bool create, char clean[4096], int *pfd, const char **base)
{
    *pfd = -1;
    if (!root || !path || oci_path_clean(path, clean, 4096) != TEMPER_OK) {
        return temper_fail(st, TEMPER_EINVAL, "%s: invalid path '%s' in the image root",
                           root ? root : "(null)", path ? path : "(null)");
    }
    int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0) {
        return temper_fail(st, TEMPER_EIO, "%s: cannot open the image root: %s", root,
                           strerror(errno));
    }
    int e = oci_root_parent(rfd, clean, create, pfd, base);
    close(rfd);
    if (e == ENOENT || e == ENOTDIR) {
        return TEMPER_ENOTFOUND;
    }
    if (e != 0) {
        return temper_fail(st, TEMPER_EIO, "%s: %s: cannot resolve its directory: %s", root,
                           clean, strerror(e));
    }
    return TEMPER_OK;
}

static int not_found(struct temper_stage *st, const char *root, const char *path, int rc)
{
    if (rc == TEMPER_ENOTFOUND) {
        return temper_fail(st, TEMPER_EIO, "%s: %s: a parent is not a directory", root, path);
    }
    return rc;
}

int temper_rootfs_write(struct temper_stage *st, const char *root, const char *path,
                        const void *data, size_t len, unsigned mode)
{
    char clean[4096];
    const char *base = NULL;
    int pfd = -1;
    int rc = rootfs_parent(st, root, path, true, clean, &pfd, &base);
    if (rc != TEMPER_OK) {
        return not_found(st, root, path, rc);
    }
    int e = oci_remove_tree(pfd, base);
    int fd = e == 0 ? openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                             0600)
                    : -1;
    if (fd < 0) {
        rc = temper_fail(st, TEMPER_EIO, "%s: cannot create %s: %s", root, clean,
                         strerror(e ? e : errno));
    } else if (oci_write_all(fd, data, len) != 0 || fchmod(fd, (mode_t)(mode & 07777)) != 0) {
        rc = temper_fail(st, TEMPER_EIO, "%s: cannot write %s: %s", root, clean,
                         strerror(errno));
    }
    if (fd >= 0 && close(fd) != 0 && rc == TEMPER_OK) {
        rc = temper_fail(st, TEMPER_EIO, "%s: cannot write %s: %s", root, clean,
                         strerror(errno));
    }
    close(pfd);
    return rc;
}

int temper_rootfs_read(struct temper_stage *st, const char *root, const char *path,
                       size_t max, char **data, size_t *len)
{
    *data = NULL;
    if (len) {
        *len = 0;
    }
    char clean[4096];
    const char *base = NULL;
    int pfd = -1;
    int rc = rootfs_parent(st, root, path, false, clean, &pfd, &base);
    if (rc != TEMPER_OK) {
        return rc;
    }
    int fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int err = errno;
    close(pfd);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        return fd < 0 && err != ENOENT && err != ELOOP
                   ? temper_fail(st, TEMPER_EIO, "%s: cannot read %s: %s", root, clean,
                                 strerror(err))
                   : TEMPER_ENOTFOUND;
    }
    struct temper_buf b;
    temper_buf_init(&b, max);
    char chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = n < 0 ? temper_fail(st, TEMPER_EIO, "%s: cannot read %s: %s", root, clean,
                                     strerror(errno))
                       : TEMPER_OK;
            break;
        }
        if (temper_buf_append(&b, chunk, (size_t)n) != TEMPER_OK) {
            rc = temper_fail(st, TEMPER_ELIMIT, "%s: %s is larger than %zu bytes", root,
                             clean, max);
            break;
        }
    }
    close(fd);
    if (rc == TEMPER_OK) {
        *data = temper_buf_take(&b, len);
        rc = *data ? TEMPER_OK : TEMPER_ENOMEM;
    }
    temper_buf_cleanup(&b);
    return rc;
}

int temper_rootfs_mkdir(struct temper_stage *st, const char *root, const char *path,
                        unsigned mode)
{
    char clean[4096];
    const char *base = NULL;
    int pfd = -1;
    int rc = rootfs_parent(st, root, path, true, clean, &pfd, &base);
    if (rc != TEMPER_OK) {
        return not_found(st, root, path, rc);
    }
    struct stat sb;
    int e = 0;
    if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sb.st_mode)) {
        e = oci_remove_tree(pfd, base);
        if (e == 0 && mkdirat(pfd, base, 0700) != 0) {
            e = errno;
        }
    }
    int fd = e == 0 ? openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (fd < 0 || fchmod(fd, (mode_t)(mode & 07777)) != 0) {
        rc = temper_fail(st, TEMPER_EIO, "%s: cannot make directory %s: %s", root, clean,
                         strerror(e ? e : errno));
    }
    if (fd >= 0) {
        close(fd);
    }
    close(pfd);
    return rc;
}

int temper_rootfs_symlink(struct temper_stage *st, const char *root, const char *path,
                          const char *target)
{
    char clean[4096];
    const char *base = NULL;
    int pfd = -1;
    if (!target || !*target || strlen(target) >= 4096) {
        return temper_fail(st, TEMPER_EINVAL, "%s: invalid symlink target for %s",
                           root ? root : "(null)", path ? path : "(null)");
    }
    int rc = rootfs_parent(st, root, path, true, clean, &pfd, &base);
    if (rc != TEMPER_OK) {
        return not_found(st, root, path, rc);
    }
    int e = oci_remove_tree(pfd, base);
    if (e == 0 && symlinkat(target, pfd, base) != 0) {
        e = errno;
    }
    if (e != 0) {
        rc = temper_fail(st, TEMPER_EIO, "%s: cannot make symlink %s: %s", root, clean,
                         strerror(e));
    }
    close(pfd);
    return rc;
}

unsigned temper_rootfs_type(const char *root, const char *path)
{
    char clean[4096];
    const char *base = NULL;
    int pfd = -1;
    if (rootfs_parent(NULL, root, path, false, clean, &pfd, &base) != TEMPER_OK) {
        return 0;
    }
    struct stat sb;
    unsigned t = fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? (unsigned)(sb.st_mode &
                                                                              S_IFMT)
                                                                   : 0;
    close(pfd);
    return t;
}

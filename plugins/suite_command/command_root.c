/* temper — suite_command: the image's root unpacked under the stage's work
 * directory, and reading files of it safely.
 *
 * Layers are extracted in order with temper_oci_layer_extract (whiteouts
 * applied against what lower layers left, device nodes refused, nothing
 * created outside the root); as root the tar ownership is applied too, so
 * the image's users own their files.  The root sits in a 0700 directory:
 * setuid files of the image are never reachable by other users of the
 * host.  Files of the image are read with openat2(RESOLVE_IN_ROOT): an
 * absolute symlink such as /etc/passwd -> /host/file resolves inside the
 * image, never on the host. */
#include "config.h"
#include "command.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RM_MAX_DEPTH 512
#define ID_FILE_MAX (1024 * 1024)   /* /etc/passwd, /etc/group */

/* rm -rf below dirfd/name: directories made writable first, nothing
 * followed, the device never left. */
static int rm_at(int dfd, const char *name, dev_t dev, int depth)
{
    struct stat sb;
    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        return errno == ENOENT ? 0 : -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        return unlinkat(dfd, name, 0);
    }
    if (sb.st_dev != dev || depth > RM_MAX_DEPTH) {
        return -1;
    }
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && (sb.st_mode & 0700) != 0700) {
        (void)fchmod(fd, 0700);
    }
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    int rc = 0;
    for (struct dirent *de = readdir(d); de; de = readdir(d)) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            rm_at(dirfd(d), de->d_name, dev, depth + 1) != 0) {
            rc = -1;
        }
    }
    closedir(d);
    return unlinkat(dfd, name, AT_REMOVEDIR) == 0 ? rc : -1;
}

static int remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        return errno == ENOENT ? 0 : -1;
    }
    return rm_at(AT_FDCWD, path, sb.st_dev, 0);
}

void croot_remove(struct croot *r)
{
    if (r->rootfd >= 0) {
        close(r->rootfd);
    }
    if (r->dir) {
        (void)remove_tree(r->dir);
    }
    free(r->dir);
    free(r->root);
    memset(r, 0, sizeof *r);
    r->rootfd = -1;
}

/* `name` in the root must be a real directory to mount on: whatever the
 * image has there (a file, a symlink) is replaced in our copy. */
static int mount_point(struct temper_stage *st, int rootfd, const char *name)
{
    struct stat sb;
    if (fstatat(rootfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            return TEMPER_OK;
        }
        if (rm_at(rootfd, name, sb.st_dev, 0) != 0) {
            return temper_fail(st, TEMPER_EIO, "cannot replace /%s of the image: %s", name,
                               strerror(errno));
        }
    }
    if (mkdirat(rootfd, name, 0755) != 0) {
        return temper_fail(st, TEMPER_EIO, "cannot create /%s in the image root: %s", name,
                           strerror(errno));
    }
    return TEMPER_OK;
}

static int make_dirs(struct temper_stage *st, struct croot *r)
{
    const char *wd = temper_stage_workdir(st);
    if (!wd) {
        return temper_fail(st, TEMPER_EINVAL, "the stage has no work directory to unpack into");
    }
    r->dir = temper_strdupf("%s/command-root", wd);
    r->root = r->dir ? temper_strdupf("%s/rootfs", r->dir) : NULL;
    if (!r->root) {
        return TEMPER_ENOMEM;
    }
    if (remove_tree(r->dir) != 0) {
        return temper_fail(st, TEMPER_EIO, "cannot remove the old %s: %s", r->dir,
                           strerror(errno));
    }
    if (mkdir(r->dir, 0700) != 0 || mkdir(r->root, 0755) != 0) {
        return temper_fail(st, TEMPER_EIO, "cannot create %s: %s", r->root, strerror(errno));
    }
    return TEMPER_OK;
}

int croot_unpack(struct temper_stage *st, const struct sc_image *im,
                 const struct command_conf *conf, struct croot *r)
{
    memset(r, 0, sizeof *r);
    r->rootfd = -1;
    int rc = make_dirs(st, r);
    for (size_t i = 0; rc == TEMPER_OK && i < im->manifest.n_layers; i++) {
        char *blob = NULL;
        rc = sc_layer_blob(st, im, i, &blob);
        struct temper_oci_extract_opts o = {
            .size = sizeof o, .name = im->manifest.layers[i].digest, .whiteouts = true,
            .chown = geteuid() == 0, .max_bytes = conf->max_unpacked,
        };
        rc = rc == TEMPER_OK ? temper_oci_layer_extract(st, blob, r->root, &o) : rc;
        free(blob);
    }
    if (rc == TEMPER_OK) {
        r->rootfd = open(r->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (r->rootfd < 0) {
            rc = temper_fail(st, TEMPER_EIO, "cannot open %s: %s", r->root, strerror(errno));
        }
    }
    rc = rc == TEMPER_OK ? mount_point(st, r->rootfd, "proc") : rc;
    return rc == TEMPER_OK ? mount_point(st, r->rootfd, "dev") : rc;
}

int croot_read(const struct croot *r, const char *path, size_t cap, char **data, size_t *len)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    *data = NULL;
    *len = 0;
    int fd = (int)syscall(SYS_openat2, r->rootfd, path, &how, sizeof how);
    if (fd < 0) {
        return errno == ENOSYS ? TEMPER_ENOTSUP : 0;
    }
    struct stat sb;
    struct temper_buf b;
    temper_buf_init(&b, cap);
    int rc = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? 1 : 0;
    while (rc == 1) {
        char chunk[8192];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0) {
            rc = n == 0 ? 1 : TEMPER_EIO;
            break;
        }
        size_t take = b.len + (size_t)n > cap ? cap - b.len : (size_t)n;
        if (temper_buf_append(&b, chunk, take) != TEMPER_OK) {
            rc = TEMPER_ENOMEM;
        } else if (take < (size_t)n) {
            break; /* the first `cap` bytes are enough */
        }
    }
    close(fd);
    if (rc == 1) {
        *data = temper_buf_take(&b, len);
        rc = *data ? 1 : TEMPER_ENOMEM;
    }
    temper_buf_cleanup(&b);
    return rc;
}

/* ---- users ------------------------------------------------------------------ */

void cuser_cleanup(struct cuser *u)
{
    free(u->home);
    memset(u, 0, sizeof *u);
}

static int numeric(const char *s, unsigned long *out)
{
    long long v = -1;
    if (!*s || strspn(s, "0123456789") != strlen(s) || temper_parse_ll(s, &v) != TEMPER_OK ||
        v > 4294967294LL) {
        return 0;
    }
    *out = (unsigned long)v;
    return 1;
}

static int resolve_group(const struct croot *r, const char *group, unsigned long *gid,
                         struct temper_buf *why)
{
    char *text = NULL;
    size_t len = 0;
    if (numeric(group, gid)) {
        return TEMPER_OK;
    }
    int got = croot_read(r, "/etc/group", ID_FILE_MAX, &text, &len);
    int found = got == 1 ? sc_group_find(text, len, group, gid) : 0;
    free(text);
    if (got < 0 && got != TEMPER_ENOTSUP) {
        return got;
    }
    if (found <= 0) {
        return found < 0 ? found
                         : sc_why(why, TEMPER_ENOTFOUND,
                                  "group '%s' is not in the image's /etc/group", group);
    }
    return TEMPER_OK;
}

int cuser_resolve(const struct croot *r, const char *spec, struct cuser *out,
                  struct temper_buf *why)
{
    char *user = NULL, *group = NULL, *passwd = NULL;
    size_t plen = 0;
    memset(out, 0, sizeof *out);
    int rc = sc_user_split(spec, &user, &group);
    int got = rc == TEMPER_OK ? croot_read(r, "/etc/passwd", ID_FILE_MAX, &passwd, &plen) : 0;
    if (got < 0 && got != TEMPER_ENOTSUP) {
        rc = got;
    }
    const char *name = user && *user ? user : "0";
    int found = rc == TEMPER_OK && got == 1
                    ? sc_passwd_find(passwd, plen, name, &out->uid, &out->gid, &out->home)
                    : 0;
    if (found < 0) {
        rc = found;
    } else if (rc == TEMPER_OK && !found) {
        out->gid = 0;
        if (!numeric(name, &out->uid)) {
            rc = sc_why(why, TEMPER_ENOTFOUND, "user '%s' is not in the image's /etc/passwd",
                        name);
        }
    }
    if (rc == TEMPER_OK && group && *group) {
        rc = resolve_group(r, group, &out->gid, why);
    }
    if (rc == TEMPER_OK && !out->home) {
        out->home = strdup("/");
        rc = out->home ? TEMPER_OK : TEMPER_ENOMEM;
    }
    free(user);
    free(group);
    free(passwd);
    if (rc != TEMPER_OK) {
        cuser_cleanup(out);
    }
    return rc;
}

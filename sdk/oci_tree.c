/* temper — add a directory tree to a layer in a deterministic order.
 *
 * Depth first; the children of each directory sorted by name (strcmp, byte
 * order); a directory before its contents.  Everything is opened relative
 * to the parent's descriptor with O_NOFOLLOW, so a symlink is stored as a
 * symlink and never followed, and a file replaced by a symlink during the
 * walk is refused rather than read. */
#include "config.h"
#include "oci_int.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define TREE_MAX_DEPTH 256
#define TREE_MAX_CHILDREN 1000000
#define XATTR_LIST_MAX_BYTES 65536
#define XATTR_VALUE_MAX_BYTES 65536
#define XATTR_MAX_N 128

struct link_seen {
    dev_t dev;
    ino_t ino;
    char *path; /* in-layer path it was stored under */
};

struct walk {
    struct temper_oci_layer *ly;
    struct temper_stage *st;
    struct temper_oci_tree_opts o;
    char lpath[4096];   /* in-layer path of the current entry */
    char spath[8192];   /* path on disk, for callbacks and messages */
    struct link_seen *links;
    size_t n_links;
};

struct xattrs {
    char *names;        /* flistxattr() buffer */
    struct temper_oci_xattr v[XATTR_MAX_N];
    void *values[XATTR_MAX_N];
    size_t n;
};

static void xattrs_cleanup(struct xattrs *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->values[i]);
    }
    free(x->names);
    memset(x, 0, sizeof *x);
}

static int cmp_xattr(const void *a, const void *b)
{
    return strcmp(((const struct temper_oci_xattr *)a)->name,
                  ((const struct temper_oci_xattr *)b)->name);
}

/* Read the extended attributes of fd, sorted by name. */
static int xattrs_read(struct walk *w, int fd, struct xattrs *x)
{
    ssize_t n = flistxattr(fd, NULL, 0);
    if (n <= 0) {
        return TEMPER_OK; /* none, or not supported by the file system */
    }
    x->names = n <= XATTR_LIST_MAX_BYTES ? calloc(1, (size_t)n + 1) : NULL;
    if (!x->names) {
        return temper_fail(w->st, TEMPER_ELIMIT, "layer tree: %s: too many xattrs", w->spath);
    }
    n = flistxattr(fd, x->names, (size_t)n);
    for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(x->names + off) + 1) {
        const char *name = x->names + off;
        ssize_t vl = *name ? fgetxattr(fd, name, NULL, 0) : -1;
        if (vl < 0) {
            continue;
        }
        if (x->n >= XATTR_MAX_N || vl > XATTR_VALUE_MAX_BYTES) {
            return temper_fail(w->st, TEMPER_ELIMIT, "layer tree: %s: xattrs too large",
                               w->spath);
        }
        void *val = malloc((size_t)vl + 1);
        if (!val) {
            return temper_fail(w->st, TEMPER_ENOMEM, "layer tree: out of memory");
        }
        vl = fgetxattr(fd, name, val, (size_t)vl);
        x->values[x->n] = val;
        x->v[x->n] = (struct temper_oci_xattr){ name, val, vl < 0 ? 0 : (size_t)vl };
        x->n++;
    }
    qsort(x->v, x->n, sizeof x->v[0], cmp_xattr);
    return TEMPER_OK;
}

static const char *link_find(const struct walk *w, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < w->n_links; i++) {
        if (w->links[i].dev == dev && w->links[i].ino == ino) {
            return w->links[i].path;
        }
    }
    return NULL;
}

static int link_add(struct walk *w, dev_t dev, ino_t ino, const char *path)
{
    struct link_seen *nv = realloc(w->links, (w->n_links + 1) * sizeof *nv);
    char *p = nv ? strdup(path) : NULL;
    if (nv) {
        w->links = nv;
    }
    if (!p) {
        return temper_fail(w->st, TEMPER_ENOMEM, "layer tree: out of memory");
    }
    w->links[w->n_links++] = (struct link_seen){ dev, ino, p };
    return TEMPER_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

/* The sorted names in directory dfd (without . and ..). */
static int list_dir(struct walk *w, int dfd, char ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    int dup_fd = dup(dfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0) {
            close(dup_fd);
        }
        return temper_fail(w->st, TEMPER_EIO, "layer tree: %s: %s", w->spath, strerror(errno));
    }
    char **names = NULL;
    size_t n = 0;
    int rc = TEMPER_OK;
    while (rc == TEMPER_OK) {
        struct dirent *de = readdir(d);
        if (!de) {
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        char **nv = n < TREE_MAX_CHILDREN ? realloc(names, (n + 1) * sizeof *nv) : NULL;
        char *name = nv ? strdup(de->d_name) : NULL;
        names = nv ? nv : names;
        if (!name) {
            rc = temper_fail(w->st, n < TREE_MAX_CHILDREN ? TEMPER_ENOMEM : TEMPER_ELIMIT,
                             "layer tree: %s: too many entries or out of memory", w->spath);
        } else {
            names[n++] = name;
        }
    }
    closedir(d);
    if (rc != TEMPER_OK) {
        names_free(names, n);
        return rc;
    }
    if (n > 1) {
        qsort(names, n, sizeof *names, cmp_name);
    }
    *out = names;
    *count = n;
    return TEMPER_OK;
}

static int fill_entry(struct walk *w, const struct stat *sb, struct temper_oci_entry *e,
                      enum temper_oci_entry_type *type)
{
    memset(e, 0, sizeof *e);
    e->path = w->lpath;
    e->mode = sb->st_mode & 07777;
    e->mtime = (long long)sb->st_mtime;
    e->uid = w->o.keep_owner ? (unsigned long)sb->st_uid : w->o.uid;
    e->gid = w->o.keep_owner ? (unsigned long)sb->st_gid : w->o.gid;
    e->uname = w->o.keep_owner ? NULL : w->o.uname;
    e->gname = w->o.keep_owner ? NULL : w->o.gname;
    e->dev_major = major(sb->st_rdev);
    e->dev_minor = minor(sb->st_rdev);
    switch (sb->st_mode & S_IFMT) {
    case S_IFREG: *type = TEMPER_OCI_ENTRY_FILE; break;
    case S_IFDIR: *type = TEMPER_OCI_ENTRY_DIR; break;
    case S_IFLNK: *type = TEMPER_OCI_ENTRY_SYMLINK; break;
    case S_IFCHR: *type = TEMPER_OCI_ENTRY_CHAR; break;
    case S_IFBLK: *type = TEMPER_OCI_ENTRY_BLOCK; break;
    case S_IFIFO: *type = TEMPER_OCI_ENTRY_FIFO; break;
    default: return -1; /* sockets: the callback may skip them */
    }
    e->type = *type;
    return TEMPER_OK;
}

static int walk_dir(struct walk *w, int dfd, size_t llen, size_t slen, int depth);

/* Add the open directory fd as entry e, then its contents. */
static int add_dir(struct walk *w, struct temper_oci_entry *e, int fd, size_t llen,
                   size_t slen, int depth)
{
    struct xattrs x = { 0 };
    int rc = w->o.xattrs ? xattrs_read(w, fd, &x) : TEMPER_OK;
    if (rc == TEMPER_OK && e) {
        e->xattrs = x.v;
        e->n_xattrs = x.n;
        rc = temper_oci_layer_add(w->ly, e);
    }
    xattrs_cleanup(&x);
    if (rc == TEMPER_OK) {
        rc = walk_dir(w, fd, llen, slen, depth + 1);
    }
    return rc;
}

static int add_file(struct walk *w, struct temper_oci_entry *e, int dfd, const char *name,
                    const struct stat *sb)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat fsb;
    if (fd < 0 || fstat(fd, &fsb) != 0 || fsb.st_ino != sb->st_ino ||
        !S_ISREG(fsb.st_mode)) {
        int e2 = errno;
        if (fd >= 0) {
            close(fd);
        }
        return temper_fail(w->st, TEMPER_EIO, "layer tree: %s: cannot open: %s", w->spath,
                           fd < 0 ? strerror(e2) : "changed during the walk");
    }
    struct xattrs x = { 0 };
    int rc = w->o.xattrs ? xattrs_read(w, fd, &x) : TEMPER_OK;
    if (rc == TEMPER_OK) {
        e->xattrs = x.v;
        e->n_xattrs = x.n;
        rc = oci_layer_add_fd(w->ly, e, fd, (long long)fsb.st_size, w->spath);
    }
    xattrs_cleanup(&x);
    close(fd);
    if (rc == TEMPER_OK && sb->st_nlink > 1) {
        rc = link_add(w, sb->st_dev, sb->st_ino, e->path);
    }
    return rc;
}

/* Append "/name" (or "name" at the top) to a path buffer. */
static int push_name(char *buf, size_t cap, size_t len, const char *name)
{
    int n = snprintf(buf + len, cap - len, "%s%s", len ? "/" : "", name);
    return (n < 0 || (size_t)n >= cap - len) ? TEMPER_ELIMIT : TEMPER_OK;
}

static int walk_one(struct walk *w, int dfd, const char *name, size_t llen, size_t slen,
                    int depth)
{
    if (push_name(w->lpath, sizeof w->lpath, llen, name) != TEMPER_OK ||
        push_name(w->spath, sizeof w->spath, slen, name) != TEMPER_OK) {
        return temper_fail(w->st, TEMPER_ELIMIT, "layer tree: %s/%s: path too long", w->spath,
                           name);
    }
    struct stat sb;
    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        return temper_fail(w->st, TEMPER_EIO, "layer tree: %s: %s", w->spath, strerror(errno));
    }
    struct temper_oci_entry e;
    enum temper_oci_entry_type type = TEMPER_OCI_ENTRY_FILE;
    bool odd = fill_entry(w, &sb, &e, &type) != TEMPER_OK;
    char target[4096];
    if (type == TEMPER_OCI_ENTRY_SYMLINK) {
        ssize_t n = readlinkat(dfd, name, target, sizeof target - 1);
        if (n < 0) {
            return temper_fail(w->st, TEMPER_EIO, "layer tree: %s: %s", w->spath,
                               strerror(errno));
        }
        target[n] = '\0';
        e.link_target = target;
    }
    const char *first = type == TEMPER_OCI_ENTRY_FILE && sb.st_nlink > 1
                            ? link_find(w, sb.st_dev, sb.st_ino)
                            : NULL;
    if (first) {
        e.type = type = TEMPER_OCI_ENTRY_HARDLINK;
        e.link_target = first;
    }
    int rc = w->o.fn ? w->o.fn(w->o.ctx, &e, w->spath) : TEMPER_OCI_TREE_KEEP;
    if (rc != TEMPER_OCI_TREE_KEEP) {
        return rc < 0 ? rc : TEMPER_OK;
    }
    if (odd) {
        return temper_fail(w->st, TEMPER_EINVAL, "layer tree: %s: sockets cannot be stored",
                           w->spath);
    }
    if (type == TEMPER_OCI_ENTRY_FILE && e.type == TEMPER_OCI_ENTRY_FILE) {
        return add_file(w, &e, dfd, name, &sb);
    }
    if (type != TEMPER_OCI_ENTRY_DIR) {
        return temper_oci_layer_add(w->ly, &e);
    }
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return temper_fail(w->st, TEMPER_EIO, "layer tree: %s: %s", w->spath, strerror(errno));
    }
    rc = add_dir(w, &e, fd, strlen(w->lpath), strlen(w->spath), depth);
    close(fd);
    return rc;
}

static int walk_dir(struct walk *w, int dfd, size_t llen, size_t slen, int depth)
{
    if (depth > TREE_MAX_DEPTH) {
        return temper_fail(w->st, TEMPER_ELIMIT, "layer tree: %s: deeper than %d levels",
                           w->spath, TREE_MAX_DEPTH);
    }
    char **names = NULL;
    size_t n = 0;
    int rc = list_dir(w, dfd, &names, &n);
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        w->lpath[llen] = '\0';
        w->spath[slen] = '\0';
        rc = walk_one(w, dfd, names[i], llen, slen, depth);
    }
    names_free(names, n);
    return rc;
}

int temper_oci_layer_add_tree(struct temper_oci_layer *ly, const char *dir,
                              const struct temper_oci_tree_opts *opts)
{
    if (!ly || !dir) {
        return TEMPER_EINVAL;
    }
    struct walk *w = calloc(1, sizeof *w);
    if (!w) {
        return TEMPER_ENOMEM;
    }
    w->ly = ly;
    w->st = oci_layer_stage(ly);
    if (opts) {
        memcpy(&w->o, opts, opts->size < sizeof w->o ? opts->size : sizeof w->o);
    }
    int rc = TEMPER_OK;
    if (w->o.prefix && *w->o.prefix &&
        oci_path_clean(w->o.prefix, w->lpath, sizeof w->lpath) != TEMPER_OK) {
        rc = temper_fail(w->st, TEMPER_EINVAL, "layer tree: invalid prefix");
    }
    if (rc == TEMPER_OK && push_name(w->spath, sizeof w->spath, 0, dir) != TEMPER_OK) {
        rc = temper_fail(w->st, TEMPER_ELIMIT, "layer tree: directory name too long");
    }
    int fd = rc == TEMPER_OK ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    struct stat sb;
    if (rc == TEMPER_OK && (fd < 0 || fstat(fd, &sb) != 0)) {
        rc = temper_fail(w->st, TEMPER_EIO, "layer tree: %s: %s", dir, strerror(errno));
    }
    if (rc == TEMPER_OK) {
        struct temper_oci_entry e;
        enum temper_oci_entry_type type;
        bool top = w->lpath[0] != '\0';
        if (top) {
            (void)fill_entry(w, &sb, &e, &type);
        }
        rc = add_dir(w, top ? &e : NULL, fd, strlen(w->lpath), strlen(w->spath), 0);
    }
    if (fd >= 0) {
        close(fd);
    }
    for (size_t i = 0; i < w->n_links; i++) {
        free(w->links[i].path);
    }
    free(w->links);
    free(w);
    return rc;
}

/* temper — extracting a layer into a root directory, safely.
 *
 * libarchive only reads the stream here (tar formats, gzip/zstd/none
 * filters: no filter that would run an external program is enabled).  The
 * file system side is ours and never uses paths resolved from "/": each
 * entry's parent comes from oci_root_parent() (symlinks scoped to the root,
 * see oci_resolve.c) and the entry itself is made with *at() calls that do
 * not follow its last component: an existing file there is removed first
 * (O_EXCL, symlinkat, mkdirat, linkat without AT_SYMLINK_FOLLOW).  Why not
 * archive_write_disk() with ARCHIVE_EXTRACT_SECURE_*: it resolves paths
 * against the process working directory, refuses (rather than scopes)
 * symlinked parent directories that real images rely on (/lib -> usr/lib),
 * and cannot apply whiteouts. */
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
#include <sys/sysmacros.h>
#include <unistd.h>

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

struct fixup {
    char *path;
    mode_t mode;
    long long mtime;
    unsigned long uid, gid;
};

struct ex {
    struct temper_stage *st;
    struct temper_oci_extract_opts o;
    const char *name;        /* layer name for messages */
    int rootfd;
    int fd;                  /* the blob */
    struct archive *a;
    struct archive_entry *ae;
    char path[4096];         /* clean entry path */
    char shown[256];         /* printable entry name for messages */
    unsigned long long bytes, entries;
    struct fixup *fix;
    size_t n_fix;
    struct oci_pathset *seen; /* with whiteouts: paths of this layer */
};

/* A printable, bounded copy of an entry name for messages. */
static void show(struct ex *x, const char *raw)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(raw ? raw : "");
         *p && o < sizeof x->shown - 4; p++) {
        x->shown[o++] = (*p >= 0x20 && *p != 0x7f) ? (char)*p : '?';
    }
    if (raw && strlen(raw) > o) {
        memcpy(x->shown + o, "...", 3);
        o += 3;
    }
    x->shown[o] = '\0';
}

static int refuse(struct ex *x, int rc, const char *why)
{
    return temper_fail(x->st, rc, "layer %s: entry '%s': %s", x->name, x->shown, why);
}

static int sys_fail(struct ex *x, const char *what, int e)
{
    char why[256];
    snprintf(why, sizeof why, "%s: %s", what, strerror(e));
    /* failures the layer's own content causes are format errors */
    bool format = e == ELOOP || e == ENOTDIR || e == ENOENT || e == ENAMETOOLONG ||
                  e == EEXIST || e == EISDIR;
    return refuse(x, format ? TEMPER_EFORMAT : TEMPER_EIO, why);
}

/* The parent of x->path inside the root; *base into x->path. */
static int parent_of(struct ex *x, const char *path, bool create, int *pfd,
                     const char **base)
{
    int e = oci_root_parent(x->rootfd, path, create, pfd, base);
    return e == 0 ? TEMPER_OK : sys_fail(x, "cannot resolve its directory in the root", e);
}

static mode_t entry_mode(const struct ex *x, mode_t type)
{
    mode_t m = archive_entry_perm(x->ae) & 07777;
    if (x->o.strip_setuid && type != AE_IFDIR) {
        m &= (mode_t)~(S_ISUID | S_ISGID);
    }
    return m;
}

static void entry_times(const struct ex *x, struct timespec ts[2])
{
    time_t t = archive_entry_mtime(x->ae);
    ts[0].tv_sec = ts[1].tv_sec = t < 0 ? 0 : t;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
}

static int write_data(struct ex *x, int fd)
{
    const void *buf;
    size_t len;
    la_int64_t off;
    for (;;) {
        int r = archive_read_data_block(x->a, &buf, &len, &off);
        if (r == ARCHIVE_EOF) {
            break;
        }
        if (r < ARCHIVE_WARN) {
            return refuse(x, TEMPER_EFORMAT, archive_error_string(x->a)
                                                 ? archive_error_string(x->a)
                                                 : "corrupt data");
        }
        x->bytes += len;
        if (x->bytes > x->o.max_bytes) {
            return refuse(x, TEMPER_ELIMIT, "the layer's content exceeds the size limit");
        }
        la_int64_t size = archive_entry_size(x->ae);
        if (off < 0 || (size >= 0 && (la_int64_t)len > size - off)) {
            return refuse(x, TEMPER_EFORMAT, "data beyond the entry's size");
        }
        for (size_t done = 0; done < len;) {
            ssize_t w = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                return sys_fail(x, "write", errno);
            }
            done += (size_t)w;
        }
    }
    la_int64_t size = archive_entry_size(x->ae);
    if (size > 0 && ftruncate(fd, (off_t)size) != 0) {
        return sys_fail(x, "truncate", errno);
    }
    return TEMPER_OK;
}

static int make_file(struct ex *x, int pfd, const char *base)
{
    la_int64_t size = archive_entry_size(x->ae);
    if (size < 0 || (unsigned long long)size > x->o.max_bytes - x->bytes) {
        return refuse(x, TEMPER_ELIMIT, "the layer's content exceeds the size limit");
    }
    int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return sys_fail(x, "create", errno);
    }
    int rc = write_data(x, fd);
    if (rc == TEMPER_OK && x->o.chown &&
        fchown(fd, (uid_t)archive_entry_uid(x->ae), (gid_t)archive_entry_gid(x->ae)) != 0) {
        rc = sys_fail(x, "chown", errno);
    }
    if (rc == TEMPER_OK && fchmod(fd, entry_mode(x, AE_IFREG)) != 0) {
        rc = sys_fail(x, "chmod", errno);
    }
    struct timespec ts[2];
    entry_times(x, ts);
    if (rc == TEMPER_OK && futimens(fd, ts) != 0) {
        rc = sys_fail(x, "set times", errno);
    }
    close(fd);
    return rc;
}

static int make_symlink(struct ex *x, int pfd, const char *base)
{
    const char *t = archive_entry_symlink_utf8(x->ae);
    t = t ? t : archive_entry_symlink(x->ae);
    if (!t || !*t || strlen(t) >= 4096) {
        return refuse(x, TEMPER_EFORMAT, "symlink without a valid target");
    }
    if (symlinkat(t, pfd, base) != 0) {
        return sys_fail(x, "symlink", errno);
    }
    if (x->o.chown && fchownat(pfd, base, (uid_t)archive_entry_uid(x->ae),
                               (gid_t)archive_entry_gid(x->ae), AT_SYMLINK_NOFOLLOW) != 0) {
        return sys_fail(x, "chown", errno);
    }
    struct timespec ts[2];
    entry_times(x, ts);
    if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) != 0) {
        return sys_fail(x, "set times", errno);
    }
    return TEMPER_OK;
}

static int make_hardlink(struct ex *x, int pfd, const char *base, const char *raw)
{
    char target[4096];
    if (raw[0] == '/' || oci_path_clean(raw, target, sizeof target) != TEMPER_OK) {
        return refuse(x, TEMPER_EFORMAT, "hardlink target is absolute, empty or has '..'");
    }
    int tfd = -1;
    const char *tbase = NULL;
    int e = oci_root_parent(x->rootfd, target, false, &tfd, &tbase);
    if (e != 0) {
        return sys_fail(x, "hardlink target cannot be resolved in the root", e);
    }
    int rc = TEMPER_OK;
    struct stat sb;
    if (fstatat(tfd, tbase, &sb, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(sb.st_mode)) {
        rc = refuse(x, TEMPER_EFORMAT, "hardlink target is missing or a directory");
    } else if (linkat(tfd, tbase, pfd, base, 0) != 0) {
        rc = sys_fail(x, "link", errno);
    }
    close(tfd);
    return rc;
}

static int add_fixup(struct ex *x)
{
    struct fixup *nv = realloc(x->fix, (x->n_fix + 1) * sizeof *nv);
    char *p = nv ? strdup(x->path) : NULL;
    x->fix = nv ? nv : x->fix;
    if (!p) {
        return temper_fail(x->st, TEMPER_ENOMEM, "layer %s: out of memory", x->name);
    }
    x->fix[x->n_fix++] = (struct fixup){ p, entry_mode(x, AE_IFDIR),
                                         (long long)archive_entry_mtime(x->ae),
                                         (unsigned long)archive_entry_uid(x->ae),
                                         (unsigned long)archive_entry_gid(x->ae) };
    return TEMPER_OK;
}

static int make_dir(struct ex *x, int pfd, const char *base)
{
    struct stat sb;
    if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode)) {
        return add_fixup(x); /* keep it, take the new metadata */
    }
    int e = oci_remove_tree(pfd, base);
    if (e != 0) {
        return sys_fail(x, "cannot replace the existing file", e);
    }
    /* writable by us until the fixups at the end set the real mode */
    if (mkdirat(pfd, base, 0700) != 0) {
        return sys_fail(x, "mkdir", errno);
    }
    return add_fixup(x);
}

static int make_node(struct ex *x, int pfd, const char *base, mode_t type)
{
    if (type != AE_IFIFO && !x->o.allow_devices) {
        return refuse(x, TEMPER_EFORMAT, "device nodes are not allowed");
    }
    dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(x->ae);
    if (mknodat(pfd, base, type | entry_mode(x, type), dev) != 0) {
        return sys_fail(x, "mknod", errno);
    }
    return TEMPER_OK;
}

/* Create the entry at x->path (already checked and cleaned). */
static int place(struct ex *x)
{
    mode_t type = archive_entry_filetype(x->ae);
    const char *hl = archive_entry_hardlink_utf8(x->ae);
    hl = hl ? hl : archive_entry_hardlink(x->ae);
    if (!hl && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK &&
        type != AE_IFCHR && type != AE_IFBLK && type != AE_IFIFO) {
        return refuse(x, TEMPER_EFORMAT, "unsupported entry type");
    }
    if (!hl && (type == AE_IFCHR || type == AE_IFBLK) && !x->o.allow_devices) {
        return refuse(x, TEMPER_EFORMAT, "device nodes are not allowed");
    }
    int pfd = -1;
    const char *base = NULL;
    int rc = parent_of(x, x->path, true, &pfd, &base);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (hl || type != AE_IFDIR) {
        int e = oci_remove_tree(pfd, base);
        rc = e == 0 ? TEMPER_OK : sys_fail(x, "cannot replace the existing file", e);
    }
    if (rc == TEMPER_OK) {
        if (hl) {
            rc = make_hardlink(x, pfd, base, hl);
        } else if (type == AE_IFREG) {
            rc = make_file(x, pfd, base);
        } else if (type == AE_IFDIR) {
            rc = make_dir(x, pfd, base);
        } else if (type == AE_IFLNK) {
            rc = make_symlink(x, pfd, base);
        } else {
            rc = make_node(x, pfd, base, type);
        }
    }
    close(pfd);
    return rc;
}

/* With whiteouts on: handle ".wh." names; *done tells whether it was one. */
static int whiteout(struct ex *x, bool *done)
{
    char *slash = strrchr(x->path, '/');
    const char *base = slash ? slash + 1 : x->path;
    *done = strncmp(base, WH_PREFIX, 4) == 0;
    if (!*done) {
        return TEMPER_OK;
    }
    char dir[4096];
    size_t dl = slash ? (size_t)(slash - x->path) : 0;
    memcpy(dir, x->path, dl);
    dir[dl] = '\0';
    if (strcmp(base, WH_OPAQUE) == 0) {
        int e = oci_remove_unkept(x->rootfd, dir, x->seen);
        return e == 0 ? TEMPER_OK : sys_fail(x, "opaque whiteout", e);
    }
    const char *name = base + 4;
    char victim[4096 + 256];
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        return refuse(x, TEMPER_EFORMAT, "whiteout of an invalid name");
    }
    snprintf(victim, sizeof victim, "%s%s%s", dir, dl ? "/" : "", name);
    if (oci_pathset_has(x->seen, victim)) {
        return TEMPER_OK; /* only lower layers are whited out */
    }
    int pfd = -1;
    const char *vbase = NULL;
    int e = oci_root_parent(x->rootfd, victim, false, &pfd, &vbase);
    if (e == ENOENT || e == ENOTDIR) {
        return TEMPER_OK; /* nothing to delete */
    }
    e = e == 0 ? oci_remove_tree(pfd, vbase) : e;
    if (pfd >= 0) {
        close(pfd);
    }
    return e == 0 ? TEMPER_OK : sys_fail(x, "whiteout", e);
}

/* The entry as the caller's filter sees it. */
static void filter_entry(const struct ex *x, const char *hl, struct temper_oci_entry *e)
{
    memset(e, 0, sizeof *e);
    e->path = x->path;
    mode_t type = archive_entry_filetype(x->ae);
    e->type = hl ? TEMPER_OCI_ENTRY_HARDLINK
              : type == AE_IFDIR ? TEMPER_OCI_ENTRY_DIR
              : type == AE_IFLNK ? TEMPER_OCI_ENTRY_SYMLINK
              : type == AE_IFCHR ? TEMPER_OCI_ENTRY_CHAR
              : type == AE_IFBLK ? TEMPER_OCI_ENTRY_BLOCK
              : type == AE_IFIFO ? TEMPER_OCI_ENTRY_FIFO
                                 : TEMPER_OCI_ENTRY_FILE;
    e->mode = (unsigned)(archive_entry_perm(x->ae) & 07777);
    e->uid = (unsigned long)archive_entry_uid(x->ae);
    e->gid = (unsigned long)archive_entry_gid(x->ae);
    e->uname = archive_entry_uname_utf8(x->ae);
    e->gname = archive_entry_gname_utf8(x->ae);
    e->mtime = (long long)archive_entry_mtime(x->ae);
    e->link_target = hl ? hl : archive_entry_symlink_utf8(x->ae);
    e->dev_major = (unsigned)archive_entry_rdevmajor(x->ae);
    e->dev_minor = (unsigned)archive_entry_rdevminor(x->ae);
}

/* The caller's filter: KEEP, SKIP or a negative rc (recorded by it). */
static int filter(struct ex *x)
{
    if (!x->o.fn) {
        return TEMPER_OCI_TREE_KEEP;
    }
    const char *hl = archive_entry_hardlink_utf8(x->ae);
    hl = hl ? hl : archive_entry_hardlink(x->ae);
    struct temper_oci_entry e;
    filter_entry(x, hl, &e);
    int r = x->o.fn(x->o.ctx, &e);
    if (r < 0 && !temper_stage_error(x->st)) {
        return refuse(x, r, "refused by the caller");
    }
    return r;
}

static int one_entry(struct ex *x)
{
    const char *raw = archive_entry_pathname_utf8(x->ae);
    raw = raw ? raw : archive_entry_pathname(x->ae);
    show(x, raw);
    if (++x->entries > x->o.max_entries) {
        return refuse(x, TEMPER_ELIMIT, "the layer has too many entries");
    }
    if (!raw || !*raw) {
        return refuse(x, TEMPER_EFORMAT, "empty name");
    }
    if (raw[0] == '/') {
        return refuse(x, TEMPER_EFORMAT, "absolute path");
    }
    int c = oci_path_clean(raw, x->path, sizeof x->path);
    if (c == TEMPER_EINVAL && archive_entry_filetype(x->ae) == AE_IFDIR &&
        !strstr(raw, "..")) {
        return TEMPER_OK; /* "./": the root itself */
    }
    if (c != TEMPER_OK) {
        return refuse(x, TEMPER_EFORMAT, c == TEMPER_ELIMIT ? "name too long"
                                                            : "path has a '..' component");
    }
    if (x->o.whiteouts) {
        bool done = false;
        int rc = whiteout(x, &done);
        if (rc != TEMPER_OK || done) {
            return rc;
        }
    }
    int f = filter(x);
    if (f != TEMPER_OCI_TREE_KEEP) {
        return f < 0 ? f : TEMPER_OK;
    }
    int rc = place(x);
    if (rc == TEMPER_OK && x->seen && oci_pathset_add(x->seen, x->path) != TEMPER_OK) {
        rc = temper_fail(x->st, TEMPER_ENOMEM, "layer %s: out of memory", x->name);
    }
    return rc;
}

/* Directory modes, owners and times, deepest first. */
static int apply_fixups(struct ex *x)
{
    int rc = TEMPER_OK;
    for (size_t i = x->n_fix; rc == TEMPER_OK && i-- > 0;) {
        struct fixup *f = &x->fix[i];
        int pfd = -1, fd = -1;
        const char *base = NULL;
        if (oci_root_parent(x->rootfd, f->path, false, &pfd, &base) == 0) {
            fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            close(pfd);
        }
        if (fd < 0) {
            continue; /* replaced by a later entry */
        }
        show(x, f->path);
        struct timespec ts[2] = { { f->mtime < 0 ? 0 : f->mtime, 0 },
                                  { f->mtime < 0 ? 0 : f->mtime, 0 } };
        if (x->o.chown && fchown(fd, (uid_t)f->uid, (gid_t)f->gid) != 0) {
            rc = sys_fail(x, "chown", errno);
        } else if (fchmod(fd, f->mode) != 0) {
            rc = sys_fail(x, "chmod", errno);
        } else if (futimens(fd, ts) != 0) {
            rc = sys_fail(x, "set times", errno);
        }
        close(fd);
    }
    return rc;
}

static int open_archive(struct ex *x, const char *blob)
{
    x->fd = open(blob, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (x->fd < 0 || fstat(x->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        return temper_fail(x->st, TEMPER_EIO, "layer %s: cannot open %s: %s", x->name, blob,
                           x->fd < 0 ? strerror(errno) : "not a regular file");
    }
    x->a = archive_read_new();
    if (!x->a) {
        return temper_fail(x->st, TEMPER_ENOMEM, "layer %s: out of memory", x->name);
    }
    archive_read_support_format_tar(x->a);
    archive_read_support_filter_gzip(x->a);
    archive_read_support_filter_zstd(x->a);
    /* not OCI layer types, but what release tarballs use (builder_source) */
    archive_read_support_filter_xz(x->a);
    archive_read_support_filter_bzip2(x->a);
    if (archive_read_open_fd(x->a, x->fd, 65536) != ARCHIVE_OK) {
        const char *why = archive_error_string(x->a);
        return temper_fail(x->st, TEMPER_EFORMAT, "layer %s: not a tar layer: %s", x->name,
                           why ? why : "unreadable");
    }
    return TEMPER_OK;
}

/* Every entry of the open archive a, then the directory fixups. */
static int run(struct ex *x, struct archive *a)
{
    int rc = TEMPER_OK;
    x->a = a;
    while (rc == TEMPER_OK) {
        if (temper_stage_cancelled(x->st)) {
            rc = temper_fail(x->st, TEMPER_ECANCEL, "layer %s: cancelled", x->name);
            break;
        }
        int r = archive_read_next_header(a, &x->ae);
        if (r == ARCHIVE_EOF) {
            break;
        }
        if (r < ARCHIVE_WARN) {
            const char *why = archive_error_string(a);
            rc = temper_fail(x->st, TEMPER_EFORMAT, "layer %s: not a valid tar stream: %s",
                             x->name, why ? why : "read error");
            break;
        }
        rc = one_entry(x);
    }
    if (rc == TEMPER_OK) {
        rc = apply_fixups(x);
    }
    x->a = NULL;
    return rc;
}

static void ex_free(struct ex *x)
{
    if (!x) {
        return;
    }
    if (x->a) {
        archive_read_free(x->a);
    }
    if (x->fd >= 0) {
        close(x->fd);
    }
    if (x->rootfd >= 0) {
        close(x->rootfd);
    }
    for (size_t i = 0; i < x->n_fix; i++) {
        free(x->fix[i].path);
    }
    free(x->fix);
    oci_pathset_free(x->seen);
    free(x);
}

static int ex_new(struct temper_stage *st, const char *root,
                  const struct temper_oci_extract_opts *opts, const char *name,
                  struct ex **out)
{
    *out = NULL;
    struct ex *x = calloc(1, sizeof *x);
    if (!x) {
        return temper_fail(st, TEMPER_ENOMEM, "layer %s: out of memory", name);
    }
    x->st = st;
    x->fd = -1;
    x->rootfd = -1;
    if (opts) {
        memcpy(&x->o, opts, opts->size < sizeof x->o ? opts->size : sizeof x->o);
    }
    x->o.max_bytes = x->o.max_bytes ? x->o.max_bytes : (64ULL << 30);
    x->o.max_entries = x->o.max_entries ? x->o.max_entries : 1000000;
    x->name = x->o.name ? x->o.name : name;
    int rc = TEMPER_OK;
    if (mkdir(root, 0755) != 0 && errno != EEXIST) {
        rc = temper_fail(st, TEMPER_EIO, "layer %s: cannot create %s: %s", x->name, root,
                         strerror(errno));
    }
    x->rootfd = rc == TEMPER_OK ? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (rc == TEMPER_OK && x->rootfd < 0) {
        rc = temper_fail(st, TEMPER_EIO, "layer %s: cannot open %s: %s", x->name, root,
                         strerror(errno));
    }
    if (rc == TEMPER_OK && x->o.whiteouts && oci_pathset_new(&x->seen) != TEMPER_OK) {
        rc = temper_fail(st, TEMPER_ENOMEM, "layer %s: out of memory", x->name);
    }
    if (rc != TEMPER_OK) {
        ex_free(x);
        return rc;
    }
    *out = x;
    return TEMPER_OK;
}

int oci_extract_archive(struct temper_stage *st, struct archive *a, const char *name,
                        const char *root, const struct temper_oci_extract_opts *opts)
{
    struct ex *x = NULL;
    int rc = ex_new(st, root, opts, name, &x);
    if (rc == TEMPER_OK) {
        /* names are read as UTF-8 whatever the process locale (oci_int.h) */
        locale_t old = oci_locale_enter();
        rc = run(x, a);
        oci_locale_leave(old);
    }
    ex_free(x);
    return rc;
}

int temper_oci_layer_extract(struct temper_stage *st, const char *blob, const char *root,
                             const struct temper_oci_extract_opts *opts)
{
    struct ex *x = NULL;
    int rc = ex_new(st, root, opts, blob, &x);
    if (rc == TEMPER_OK) {
        locale_t old = oci_locale_enter();
        rc = open_archive(x, blob);
        struct archive *a = x->a;
        x->a = NULL;
        rc = rc == TEMPER_OK ? run(x, a) : rc;
        x->a = a;
        oci_locale_leave(old);
    }
    ex_free(x);
    return rc;
}

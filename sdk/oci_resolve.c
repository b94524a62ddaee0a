/* temper — path resolution scoped to an extraction root, recursive removal
 * and the path set used by whiteouts.
 *
 * oci_root_parent() walks one component at a time from the root's
 * descriptor with openat(O_PATH | O_DIRECTORY | O_NOFOLLOW).  A symlink met
 * on the way is read with readlinkat() and its target spliced in front of
 * the rest of the path; an absolute target restarts at the root and ".."
 * pops a descriptor off the stack but never the root itself, as
 * openat2(RESOLVE_IN_ROOT) would do.  Nothing is resolved by the kernel
 * against "/", so no symlink, chain of symlinks or ".." can lead outside. */
#include "config.h"
#include "oci_int.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RES_MAX_DEPTH 512
#define RES_BUF 8192
#define RM_MAX_DEPTH 512
#define RM_MAX_NAMES 1000000

struct res {
    int rootfd;
    int fds[RES_MAX_DEPTH]; /* fds[0] = rootfd (not owned) */
    size_t n;
    char rest[RES_BUF];
    size_t pos;
    int links;
};

static void res_pop_to(struct res *r, size_t n)
{
    while (r->n > n) {
        close(r->fds[--r->n]);
    }
}

/* Splice a symlink target in front of the rest of the path. */
static int res_splice(struct res *r, int dirfd, const char *comp)
{
    if (++r->links > OCI_MAX_LINKS) {
        return ELOOP;
    }
    char tgt[PATH_MAX];
    ssize_t n = readlinkat(dirfd, comp, tgt, sizeof tgt - 1);
    if (n < 0) {
        return errno;
    }
    tgt[n] = '\0';
    size_t restlen = strlen(r->rest + r->pos);
    if ((size_t)n + 1 + restlen + 1 > RES_BUF) {
        return ENAMETOOLONG;
    }
    char tmp[RES_BUF];
    memcpy(tmp, tgt, (size_t)n);
    tmp[n] = '/';
    memcpy(tmp + n + 1, r->rest + r->pos, restlen + 1);
    memcpy(r->rest, tmp, (size_t)n + 1 + restlen + 1);
    r->pos = 0;
    if (tgt[0] == '/') {
        res_pop_to(r, 1);
    }
    return 0;
}

/* Enter component comp of the current directory. */
static int res_step(struct res *r, const char *comp, bool create)
{
    int top = r->fds[r->n - 1];
    int fd = openat(top, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        struct stat sb;
        if (fstatat(top, comp, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT || !create) {
                return errno;
            }
            if (mkdirat(top, comp, 0755) != 0 && errno != EEXIST) {
                return errno;
            }
            fd = openat(top, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) {
                return errno;
            }
        } else if (S_ISLNK(sb.st_mode)) {
            return res_splice(r, top, comp);
        } else {
            return ENOTDIR;
        }
    }
    if (r->n >= RES_MAX_DEPTH) {
        close(fd);
        return ENAMETOOLONG;
    }
    r->fds[r->n++] = fd;
    return 0;
}

static int res_walk(struct res *r, bool create)
{
    char comp[NAME_MAX + 1];
    for (;;) {
        while (r->rest[r->pos] == '/') {
            r->pos++;
        }
        if (r->rest[r->pos] == '\0') {
            return 0;
        }
        size_t len = strcspn(r->rest + r->pos, "/");
        if (len > NAME_MAX) {
            return ENAMETOOLONG;
        }
        memcpy(comp, r->rest + r->pos, len);
        comp[len] = '\0';
        r->pos += len;
        if (strcmp(comp, ".") == 0) {
            continue;
        }
        if (strcmp(comp, "..") == 0) {
            res_pop_to(r, r->n > 1 ? r->n - 1 : 1);
            continue;
        }
        int e = res_step(r, comp, create);
        if (e != 0) {
            return e;
        }
    }
}

int oci_root_parent(int rootfd, const char *path, bool create, int *dirfd, const char **base)
{
    *dirfd = -1;
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    size_t plen = slash ? (size_t)(slash - path) : 0;
    if (plen >= RES_BUF) {
        return ENAMETOOLONG;
    }
    struct res *r = calloc(1, sizeof *r);
    if (!r) {
        return ENOMEM;
    }
    r->rootfd = rootfd;
    r->fds[0] = rootfd;
    r->n = 1;
    memcpy(r->rest, path, plen);
    r->rest[plen] = '\0';
    int e = res_walk(r, create);
    if (e == 0) {
        if (r->n == 1) {
            *dirfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
            e = *dirfd < 0 ? errno : 0;
        } else {
            *dirfd = r->fds[--r->n]; /* handed to the caller */
        }
    }
    res_pop_to(r, 1);
    free(r);
    return e;
}

/* ---- removal ------------------------------------------------------------- */

static void names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

/* Names in directory fd (not consumed), without . and .. */
static int list_names(int fd, char ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    int d2 = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
    if (!d) {
        int e = errno;
        if (d2 >= 0) {
            close(d2);
        }
        return e;
    }
    char **v = NULL;
    size_t n = 0;
    int e = 0;
    while (e == 0) {
        struct dirent *de = readdir(d);
        if (!de) {
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        char **nv = n < RM_MAX_NAMES ? realloc(v, (n + 1) * sizeof *nv) : NULL;
        v = nv ? nv : v;
        char *s = nv ? strdup(de->d_name) : NULL;
        if (!s) {
            e = ENOMEM;
        } else {
            v[n++] = s;
        }
    }
    closedir(d);
    if (e != 0) {
        names_free(v, n);
        return e;
    }
    *out = v;
    *count = n;
    return 0;
}

static int rm_rec(int dirfd, const char *name, int depth)
{
    struct stat sb;
    if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        return errno == ENOENT ? 0 : errno;
    }
    if (!S_ISDIR(sb.st_mode)) {
        return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : errno;
    }
    if (depth > RM_MAX_DEPTH) {
        return ELOOP;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    char **v = NULL;
    size_t n = 0;
    int e = list_names(fd, &v, &n);
    for (size_t i = 0; e == 0 && i < n; i++) {
        e = rm_rec(fd, v[i], depth + 1);
    }
    names_free(v, n);
    close(fd);
    if (e == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
        e = errno;
    }
    return e;
}

int oci_remove_tree(int dirfd, const char *name)
{
    return rm_rec(dirfd, name, 0);
}

/* ---- path set ------------------------------------------------------------ */

struct oci_pathset {
    char **slots;
    size_t cap; /* power of two */
    size_t n;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

int oci_pathset_new(struct oci_pathset **out)
{
    struct oci_pathset *s = calloc(1, sizeof *s);
    if (s) {
        s->cap = 1024;
        s->slots = calloc(s->cap, sizeof *s->slots);
    }
    if (!s || !s->slots) {
        free(s);
        *out = NULL;
        return TEMPER_ENOMEM;
    }
    *out = s;
    return TEMPER_OK;
}

void oci_pathset_free(struct oci_pathset *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->cap; i++) {
        free(s->slots[i]);
    }
    free(s->slots);
    free(s);
}

static char **slot_for(char **slots, size_t cap, const char *p)
{
    size_t i = (size_t)fnv1a(p) & (cap - 1);
    while (slots[i] && strcmp(slots[i], p) != 0) {
        i = (i + 1) & (cap - 1);
    }
    return &slots[i];
}

static int grow(struct oci_pathset *s)
{
    size_t cap = s->cap * 2;
    char **slots = calloc(cap, sizeof *slots);
    if (!slots) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (s->slots[i]) {
            *slot_for(slots, cap, s->slots[i]) = s->slots[i];
        }
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return TEMPER_OK;
}

int oci_pathset_add(struct oci_pathset *s, const char *path)
{
    if ((s->n + 1) * 2 > s->cap && grow(s) != TEMPER_OK) {
        return TEMPER_ENOMEM;
    }
    char **slot = slot_for(s->slots, s->cap, path);
    if (*slot) {
        return TEMPER_OK;
    }
    *slot = strdup(path);
    if (!*slot) {
        return TEMPER_ENOMEM;
    }
    s->n++;
    return TEMPER_OK;
}

bool oci_pathset_has(const struct oci_pathset *s, const char *path)
{
    return s && *slot_for(s->slots, s->cap, path) != NULL;
}

static int unkept(int fd, char *path, size_t len, const struct oci_pathset *keep, int depth)
{
    if (depth > RM_MAX_DEPTH) {
        return ELOOP;
    }
    char **v = NULL;
    size_t n = 0;
    int e = list_names(fd, &v, &n);
    for (size_t i = 0; e == 0 && i < n; i++) {
        size_t nl = strlen(v[i]);
        bool fits = len + 1 + nl < RES_BUF;
        if (fits) {
            path[len] = len ? '/' : '\0';
            memcpy(path + len + (len ? 1 : 0), v[i], nl + 1);
        }
        if (!fits || !oci_pathset_has(keep, path)) {
            e = rm_rec(fd, v[i], 0);
            continue;
        }
        int sub = openat(fd, v[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) {
            e = unkept(sub, path, strlen(path), keep, depth + 1);
            close(sub);
        }
        path[len] = '\0';
    }
    names_free(v, n);
    return e;
}

int oci_remove_unkept(int rootfd, const char *dir, const struct oci_pathset *keep)
{
    int pfd = -1, fd = -1;
    const char *base = NULL;
    int e = 0;
    if (*dir == '\0') {
        fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
        e = oci_root_parent(rootfd, dir, false, &pfd, &base);
        fd = e == 0 ? openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    }
    if (fd >= 0) {
        char *path = malloc(RES_BUF);
        size_t len = strlen(dir);
        if (!path || len >= RES_BUF) {
            e = path ? ENAMETOOLONG : ENOMEM;
        } else {
            memcpy(path, dir, len + 1);
            e = unkept(fd, path, len, keep, 0);
        }
        free(path);
        close(fd);
    }
    if (pfd >= 0) {
        close(pfd);
    }
    return e == ENOENT || e == ENOTDIR ? 0 : e;
}

/* temper — builder_source: from the staging directory to the image.
 *
 * Selection: every non-directory under the staging directory whose path
 * ("/usr/bin/hello") matches one of the `install` globs (fnmatch without
 * FNM_PATHNAME: '*' crosses '/').  Directories go in only when something
 * selected is below them.  Nothing on the host is followed: the walk uses
 * lstat, files are read with O_NOFOLLOW, symlinks are stored as symlinks.
 *
 * Runtime packages: each selected regular ELF file is read (source_elf.c);
 * every DT_NEEDED soname not shipped by the staged files themselves, and
 * the PT_INTERP, is looked up in the file lists of the build root's
 * packages (var/lib/dpkg/info/<pkg>.list, written by builder_deb's
 * installer): the package whose list has a path ending in "/<soname>"
 * joins the runtime packages.  A soname no build dependency ships fails
 * the build: the image would not run.
 *
 * The image: builder_deb's image of `packages` + those packages (hardened,
 * one layer, cached), then a second layer with the selected files (owner
 * root, mtimes clamped to SOURCE_DATE_EPOCH, the hardening callback
 * applied), and the manifest rewritten over both layers. */
#include "config.h"
#include "source.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ELF_MAX (512u << 20)
#define LIST_MAX (64u << 20)
#define WALK_DEPTH 64

static bool wanted(const struct source_build *b, const char *rel)
{
    char path[4200];
    snprintf(path, sizeof path, "/%s", rel);
    for (size_t i = 0; i < b->ic->install.n; i++) {
        if (fnmatch(b->ic->install.v[i], path, 0) == 0) {
            return true;
        }
    }
    return false;
}

static int walk(struct source_build *b, const char *rel, int depth)
{
    char *dir = rel[0] ? temper_strdupf("%s/%s", b->staging, rel) : strdup(b->staging);
    DIR *d = dir ? opendir(dir) : NULL;
    int rc = dir ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && (!d || depth > WALK_DEPTH)) {
        rc = temper_fail(b->st, TEMPER_EIO, "cannot read staged directory %s%s", dir,
                         d ? ": too deep" : "");
    }
    struct dirent *de;
    while (rc == TEMPER_OK && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        char *r = rel[0] ? temper_strdupf("%s/%s", rel, de->d_name) : strdup(de->d_name);
        struct stat sb;
        rc = r ? TEMPER_OK : TEMPER_ENOMEM;
        if (rc == TEMPER_OK && fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = temper_fail(b->st, TEMPER_EIO, "cannot stat %s/%s", dir, de->d_name);
        } else if (rc == TEMPER_OK && S_ISDIR(sb.st_mode)) {
            rc = walk(b, r, depth + 1);
        } else if (rc == TEMPER_OK && (S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode)) &&
                   wanted(b, r)) {
            rc = b->files.n >= SOURCE_MAX_FILES
                     ? temper_fail(b->st, TEMPER_ELIMIT, "more than %d staged files",
                                   SOURCE_MAX_FILES)
                     : source_strlist_push(&b->files, r);
        }
        free(r);
    }
    if (d) {
        closedir(d);
    }
    free(dir);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int source_select(struct source_build *b)
{
    int rc = walk(b, "", 0);
    if (rc == TEMPER_OK && b->files.n == 0) {
        return temper_fail(b->st, TEMPER_ENOTFOUND, "image %s: the recipe staged nothing that "
                           "matches `install` (install into /staging, e.g. make install "
                           "DESTDIR=/staging)", b->req->def->name);
    }
    if (rc == TEMPER_OK) {
        qsort(b->files.v, b->files.n, sizeof *b->files.v, cmp_str);
        TEMPER_LOG_INFO(b->st, "%zu staged files go into the image", b->files.n);
    }
    return rc;
}

/* ---- runtime packages ---------------------------------------------------- */

static int read_staged(struct source_build *b, const char *rel, char **data, size_t *len)
{
    char *path = temper_strdupf("%s/%s", b->staging, rel);
    int fd = path ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) : -1;
    struct stat sb;
    int rc = TEMPER_OK;
    *data = NULL;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > ELF_MAX) {
        rc = path ? TEMPER_ENOTFOUND : TEMPER_ENOMEM; /* symlinks, huge files: not read */
    }
    *len = rc == TEMPER_OK ? (size_t)sb.st_size : 0;
    *data = rc == TEMPER_OK ? malloc(*len ? *len : 1) : NULL;
    rc = rc == TEMPER_OK && !*data ? TEMPER_ENOMEM : rc;
    size_t got = 0;
    while (rc == TEMPER_OK && got < *len) {
        ssize_t n = read(fd, *data + got, *len - got);
        if (n <= 0) {
            rc = temper_fail(b->st, TEMPER_EIO, "cannot read %s", path);
        }
        got += n > 0 ? (size_t)n : 0;
    }
    if (fd >= 0) {
        close(fd);
    }
    if (rc != TEMPER_OK) {
        TEMPER_FREE(*data);
    }
    free(path);
    return rc;
}

/* The build-root package whose file list holds a path ending in /name. */
static int owner_of(struct source_build *b, char **lists, const char *name, const char **pkg)
{
    size_t n = strlen(name);
    *pkg = NULL;
    for (size_t i = 0; i < b->bset.n && !*pkg; i++) {
        for (const char *l = lists[i]; l && *l && !*pkg;) {
            size_t len = strcspn(l, "\n");
            if (len > n && l[len - n - 1] == '/' && memcmp(l + len - n, name, n) == 0) {
                *pkg = b->bset.v[i].name;
            }
            l += len + (l[len] == '\n');
        }
    }
    return *pkg ? TEMPER_OK : TEMPER_ENOTFOUND;
}

static int load_lists(struct source_build *b, char **lists)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < b->bset.n; i++) {
        const struct deb_pkg *p = &b->bset.v[i];
        bool same = p->multi_arch && strcmp(p->multi_arch, "same") == 0;
        char path[300];
        size_t len = 0;
        snprintf(path, sizeof path, "var/lib/dpkg/info/%s%s%s.list", p->name, same ? ":" : "",
                 same ? p->arch : "");
        rc = temper_rootfs_read(b->st, b->root, path, LIST_MAX, &lists[i], &len);
        rc = rc == TEMPER_ENOTFOUND ? TEMPER_OK : rc;
    }
    return rc;
}

static bool staged_basename(const struct source_build *b, const char *name)
{
    for (size_t i = 0; i < b->files.n; i++) {
        const char *s = strrchr(b->files.v[i], '/');
        if (strcmp(s ? s + 1 : b->files.v[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static int need(struct source_build *b, char **lists, const char *file, const char *what)
{
    const char *slash = strrchr(what, '/');
    const char *name = slash ? slash + 1 : what;
    const char *pkg = NULL;
    if (!slash && staged_basename(b, name)) {
        return TEMPER_OK;
    }
    if (b->alpine) {
        return source_apk_need(b, file, what);
    }
    if (owner_of(b, lists, name, &pkg) != TEMPER_OK) {
        return temper_fail(b->st, TEMPER_ENOTFOUND, "image %s: /%s needs %s, which no build "
                           "dependency ships (add its package to build_depends)",
                           b->req->def->name, file, what);
    }
    if (!source_strlist_has(&b->needs, pkg)) {
        TEMPER_LOG_INFO(b->st, "/%s needs %s: runtime package %s", file, what, pkg);
        return source_strlist_push(&b->needs, pkg);
    }
    return TEMPER_OK;
}

static int scan_one(struct source_build *b, char **lists, const char *file)
{
    char *data = NULL;
    size_t len = 0;
    char why[200];
    struct source_elf e;
    memset(&e, 0, sizeof e);
    int rc = read_staged(b, file, &data, &len);
    if (rc == TEMPER_ENOTFOUND) {
        return TEMPER_OK;
    }
    rc = rc == TEMPER_OK ? source_elf_parse(data, len, &e, why, sizeof why) : rc;
    if (rc == TEMPER_EFORMAT) {
        rc = temper_fail(b->st, rc, "image %s: staged file /%s: malformed ELF: %s",
                         b->req->def->name, file, why);
    }
    if (rc == TEMPER_OK && e.interp) {
        rc = need(b, lists, file, e.interp);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < e.n_needed; i++) {
        rc = need(b, lists, file, e.needed[i]);
    }
    source_elf_cleanup(&e);
    free(data);
    return rc;
}

int source_runtime_needs(struct source_build *b)
{
    char **lists = calloc(b->bset.n ? b->bset.n : 1, sizeof *lists);
    int rc = lists ? load_lists(b, lists) : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && i < b->files.n; i++) {
        rc = scan_one(b, lists, b->files.v[i]);
    }
    for (size_t i = 0; lists && i < b->bset.n; i++) {
        free(lists[i]);
    }
    free(lists);
    return rc;
}

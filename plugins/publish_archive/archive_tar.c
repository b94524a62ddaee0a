/* temper — publish_archive: deterministic tar writing to a temp file that
 * is renamed into place, and the oci-archive (a tar of an OCI layout).
 * Entries: POSIX pax (restricted), owner 0:0, mtime 0, files 0644, dirs
 * 0755; nothing in the stream depends on the host or the clock. */
#include "config.h"
#include "archive_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAR_CHUNK (256u * 1024)
#define MAX_BLOBS 100000

int pubarc_tar_open(struct temper_stage *st, const char *path, struct pubarc_tar *w)
{
    memset(w, 0, sizeof w[0]);
    w->st = st;
    w->fd = -1;
    w->path = strdup(path);
    w->tmp = temper_strdupf("%s.tmp-XXXXXX", path);
    if (!w->path || !w->tmp) {
        pubarc_tar_abort(w);
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    w->fd = mkstemp(w->tmp);
    if (w->fd < 0) {
        int e = errno;
        pubarc_tar_abort(w);
        return temper_fail(st, TEMPER_EIO, "cannot create a temp file next to %s: %s", path,
                           strerror(e));
    }
    w->a = archive_write_new();
    if (!w->a || archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
        archive_write_open_fd(w->a, w->fd) != ARCHIVE_OK) {
        int rc = temper_fail(st, TEMPER_EIO, "%s: cannot start the tar: %s", path,
                             w->a ? archive_error_string(w->a) : "out of memory");
        pubarc_tar_abort(w);
        return rc;
    }
    return TEMPER_OK;
}

static int header(struct pubarc_tar *w, const char *name, mode_t type, unsigned mode,
                  long long size)
{
    struct archive_entry *e = archive_entry_new();
    if (!e) {
        return temper_fail(w->st, TEMPER_ENOMEM, "out of memory");
    }
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_size(e, size);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, 0, 0);
    int r = archive_write_header(w->a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK) {
        return temper_fail(w->st, TEMPER_EIO, "%s: entry %s: %s", w->path, name,
                           archive_error_string(w->a));
    }
    return TEMPER_OK;
}

int pubarc_tar_dir(struct pubarc_tar *w, const char *name)
{
    return header(w, name, AE_IFDIR, 0755, 0);
}

int pubarc_tar_data(struct pubarc_tar *w, const char *name, const void *p, size_t n)
{
    int rc = header(w, name, AE_IFREG, 0644, (long long)n);
    if (rc == TEMPER_OK && n > 0 && archive_write_data(w->a, p, n) != (la_ssize_t)n) {
        rc = temper_fail(w->st, TEMPER_EIO, "%s: entry %s: %s", w->path, name,
                         archive_error_string(w->a));
    }
    return rc;
}

int pubarc_tar_fd(struct pubarc_tar *w, const char *name, int fd, long long size)
{
    int rc = header(w, name, AE_IFREG, 0644, size);
    char *buf = rc == TEMPER_OK ? malloc(TAR_CHUNK) : NULL;
    long long done = 0;
    if (rc == TEMPER_OK && !buf) {
        rc = temper_fail(w->st, TEMPER_ENOMEM, "out of memory");
    }
    while (rc == TEMPER_OK && done < size) {
        ssize_t n = read(fd, buf, TAR_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || done + n > size) {
            rc = temper_fail(w->st, TEMPER_EIO, "%s: entry %s: the source changed size", w->path,
                             name);
        } else if (archive_write_data(w->a, buf, (size_t)n) != (la_ssize_t)n) {
            rc = temper_fail(w->st, TEMPER_EIO, "%s: entry %s: %s", w->path, name,
                             archive_error_string(w->a));
        } else {
            done += n;
        }
    }
    free(buf);
    return rc;
}

int pubarc_tar_commit(struct pubarc_tar *w)
{
    int rc = TEMPER_OK;
    if (archive_write_close(w->a) != ARCHIVE_OK) {
        rc = temper_fail(w->st, TEMPER_EIO, "%s: %s", w->path, archive_error_string(w->a));
    } else if (fchmod(w->fd, 0644) != 0 || fsync(w->fd) != 0 || rename(w->tmp, w->path) != 0) {
        rc = temper_fail(w->st, TEMPER_EIO, "cannot write %s: %s", w->path, strerror(errno));
    } else {
        TEMPER_FREE(w->tmp); /* in place: nothing to remove */
    }
    pubarc_tar_abort(w);
    return rc;
}

void pubarc_tar_abort(struct pubarc_tar *w)
{
    if (w->a) {
        archive_write_free(w->a); /* closes without writing more on error paths */
        w->a = NULL;
    }
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    if (w->tmp) {
        unlink(w->tmp);
    }
    TEMPER_FREE(w->tmp);
    TEMPER_FREE(w->path);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in blobs/sha256, sorted (regular files only; symlinks refused). */
static int list_blobs(struct temper_stage *st, int dirfd, char ***out, size_t *n)
{
    DIR *d = fdopendir(dup(dirfd));
    int rc = d ? TEMPER_OK : temper_fail(st, TEMPER_EIO, "cannot list blobs: %s", strerror(errno));
    *out = NULL;
    *n = 0;
    for (struct dirent *de = d ? readdir(d) : NULL; rc == TEMPER_OK && de; de = readdir(d)) {
        struct stat sb;
        if (de->d_name[0] == '.' || fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(sb.st_mode)) {
            continue;
        }
        char **v = *n < MAX_BLOBS ? realloc(*out, (*n + 1) * sizeof *v) : NULL;
        if (!v) {
            rc = temper_fail(st, TEMPER_ENOMEM, "too many blobs or out of memory");
            break;
        }
        *out = v;
        v[*n] = strdup(de->d_name);
        if (!v[*n]) {
            rc = temper_fail(st, TEMPER_ENOMEM, "out of memory");
            break;
        }
        (*n)++;
    }
    if (d) {
        closedir(d);
    }
    if (rc == TEMPER_OK && *n > 1) {
        qsort(*out, *n, sizeof **out, cmp_str);
    }
    return rc;
}

static int add_file_at(struct pubarc_tar *w, int dirfd, const char *name, const char *entry)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;
    int rc = TEMPER_OK;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = temper_fail(w->st, TEMPER_EIO, "cannot read %s for %s", name, w->path);
    } else {
        rc = pubarc_tar_fd(w, entry, fd, (long long)sb.st_size);
    }
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

int pubarc_write_oci(struct temper_stage *st, const char *dir, const char *path)
{
    struct pubarc_tar w;
    char **blobs = NULL;
    size_t n = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int bfd = dfd >= 0 ? openat(dfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW) : -1;
    int rc = bfd >= 0 ? pubarc_tar_open(st, path, &w)
                      : temper_fail(st, TEMPER_EIO, "cannot open the layout %s", dir);
    int opened = rc == TEMPER_OK;
    rc = rc ? rc : add_file_at(&w, dfd, "oci-layout", "oci-layout");
    rc = rc ? rc : add_file_at(&w, dfd, "index.json", "index.json");
    rc = rc ? rc : pubarc_tar_dir(&w, "blobs/");
    rc = rc ? rc : pubarc_tar_dir(&w, "blobs/sha256/");
    rc = rc ? rc : list_blobs(st, bfd, &blobs, &n);
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        char entry[128];
        snprintf(entry, sizeof entry, "blobs/sha256/%.100s", blobs[i]);
        rc = add_file_at(&w, bfd, blobs[i], entry);
    }
    if (opened) {
        rc = rc == TEMPER_OK ? pubarc_tar_commit(&w) : rc;
        pubarc_tar_abort(&w);
    }
    for (size_t i = 0; blobs && i < n; i++) {
        free(blobs[i]);
    }
    free(blobs);
    if (bfd >= 0) {
        close(bfd);
    }
    if (dfd >= 0) {
        close(dfd);
    }
    return rc;
}

/* temper — small file-system helpers of the core. */
#include "config.h"
#include "pipeline_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int temper_mkdir_p(const char *path, unsigned mode)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return TEMPER_EIO;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST) {
            return TEMPER_EIO;
        }
        *p = '/';
    }
    if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST) {
        return TEMPER_EIO;
    }
    struct stat sb;
    if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return TEMPER_EIO;
    }
    return TEMPER_OK;
}

/* Remove the entries of an open directory, then the directory itself. */
static int rm_at(int parent, const char *name, dev_t dev, int depth)
{
    struct stat sb;
    if (fstatat(parent, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        return errno == ENOENT ? TEMPER_OK : TEMPER_EIO;
    }
    if (!S_ISDIR(sb.st_mode)) {
        return unlinkat(parent, name, 0) == 0 ? TEMPER_OK : TEMPER_EIO;
    }
    if (sb.st_dev != dev || depth > 256) {
        errno = EXDEV;
        return TEMPER_EIO;
    }
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return TEMPER_EIO;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return TEMPER_EIO;
    }
    int rc = TEMPER_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (rm_at(dirfd(d), de->d_name, dev, depth + 1) != TEMPER_OK) {
            rc = TEMPER_EIO;
        }
    }
    closedir(d);
    if (unlinkat(parent, name, AT_REMOVEDIR) != 0) {
        rc = TEMPER_EIO;
    }
    return rc;
}

int temper_rm_rf(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        return errno == ENOENT ? TEMPER_OK : TEMPER_EIO;
    }
    return rm_at(AT_FDCWD, path, sb.st_dev, 0);
}

void temper_rfc3339(long long ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && n) {
        out[0] = '\0';
    }
}

long long temper_now_ms(void)
{
    return temper_stage_now_ms(NULL); /* the SDK's clock: honours TEMPER_NOW (tests) */
}

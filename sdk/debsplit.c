/* temper — loading a big plain Packages file on two threads.
 *
 * The file is cut at the first empty line after its middle; each half is
 * parsed by its own quiet parser (pread on the shared descriptor) into its
 * own table, and the second table is appended to the first: its package
 * lists follow the first's, its line numbers are shifted, its arena chunks
 * move over.  The result is the table a serial load makes.  Anything
 * unusual (compressed input, a small file, one CPU, no empty line near the
 * middle, an error in either half, a limit) makes the caller load serially,
 * so every error is reported exactly as the serial parser reports it. */
#include "config.h"
#include "pkgindex_int.h"
#include <temper/log.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPLIT_MIN (8u * 1024u * 1024u) /* below this a thread costs more than it saves */
#define SPLIT_SCAN (1024u * 1024u)     /* where to look for the empty line */

struct half {
    struct temper_deb822 *p;      /* taken by the build */
    struct temper_debindex *idx;
    unsigned long lines;
    int rc;
};

static void *half_run(void *arg)
{
    struct half *h = arg;
    h->rc = pk_debindex_build(NULL, h->p, true, &h->lines, &h->idx);
    h->p = NULL;
    return NULL;
}

/* Offset just after the first "\n\n" at or after the middle; 0 if none. */
static unsigned long long find_split(int fd, unsigned long long size)
{
    unsigned long long mid = size / 2, split = 0;
    size_t n = size - mid < SPLIT_SCAN ? (size_t)(size - mid) : SPLIT_SCAN;
    char *buf = malloc(n);
    ssize_t got = buf ? pread(fd, buf, n, (off_t)mid) : -1;
    const char *hit = got > 1 ? memmem(buf, (size_t)got, "\n\n", 2) : NULL;
    if (hit) {
        split = mid + (unsigned long long)(hit - buf) + 2;
    }
    free(buf);
    return split < size ? split : 0;
}

/* A plain regular file worth splitting: its size, else 0. */
static unsigned long long qualifies(int fd, const struct temper_pkgindex_limits *l)
{
    struct stat sb;
    unsigned char magic[8];
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
        (unsigned long long)sb.st_size < SPLIT_MIN ||
        (unsigned long long)sb.st_size > l->max_input) {
        return 0;
    }
    ssize_t got = pread(fd, magic, sizeof magic, 0);
    if (got <= 0 || pk_compression(magic, (size_t)got)) {
        return 0;
    }
    return (unsigned long long)sb.st_size;
}

static int run_halves(const char *path, int fd, unsigned long long split,
                      unsigned long long size, const struct temper_pkgindex_limits *l,
                      struct half *a, struct half *b)
{
    if (pk_deb822_open_range(path, fd, 0, split, l, &a->p) != TEMPER_OK ||
        pk_deb822_open_range(path, fd, split, size - split, l, &b->p) != TEMPER_OK) {
        return TEMPER_ENOTSUP;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, half_run, b) != 0) {
        return TEMPER_ENOTSUP;
    }
    half_run(a);
    pthread_join(t, NULL);
    return a->rc == TEMPER_OK && b->rc == TEMPER_OK ? TEMPER_OK : TEMPER_ENOTSUP;
}

int pk_debindex_load_split(struct temper_stage *st, const char *path,
                           const struct temper_pkgindex_limits *lim,
                           struct temper_debindex **out)
{
    *out = NULL; /* the halves are quiet; a serial retry reports errors */
    struct temper_pkgindex_limits l;
    pk_limits(lim, &l);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return TEMPER_ENOTSUP;
    }
    struct half a = { NULL, NULL, 0, TEMPER_OK }, b = { NULL, NULL, 0, TEMPER_OK };
    unsigned long long size = qualifies(fd, &l);
    unsigned long long split = size ? find_split(fd, size) : 0;
    int rc = split ? run_halves(path, fd, split, size, &l, &a, &b) : TEMPER_ENOTSUP;
    if (rc == TEMPER_OK &&
        temper_debindex_count(a.idx) + temper_debindex_count(b.idx) > l.max_stanzas) {
        rc = TEMPER_ENOTSUP;
    }
    if (rc == TEMPER_OK) {
        size_t na = temper_debindex_count(a.idx), nb = temper_debindex_count(b.idx);
        rc = pk_debindex_append(a.idx, b.idx, a.lines) == TEMPER_OK ? TEMPER_OK
                                                                   : TEMPER_ENOTSUP;
        b.idx = NULL; /* taken */
        if (rc == TEMPER_OK) {
            TEMPER_LOG_DEBUG(st, "%s: read on two threads (%zu + %zu packages)", path, na, nb);
        }
    }
    if (rc == TEMPER_OK) {
        *out = a.idx;
        a.idx = NULL;
    }
    temper_deb822_free(a.p);
    temper_deb822_free(b.p);
    temper_debindex_free(a.idx);
    temper_debindex_free(b.idx);
    close(fd);
    return rc;
}

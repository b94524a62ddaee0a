/* temper — benchmark driver: load a Packages index into the package table
 * and print the stanza count, the wall time and the peak RSS.
 *
 *   bench_deb822 [-n RUNS] [-s] FILE
 *     -s  only walk the stanzas (no table)
 *   bench_deb822 -x FILE OUT
 *     decompress FILE (any compression temper reads) into OUT */
#include <temper/buf.h>
#include <temper/pkgindex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int walk(const char *path, size_t *count)
{
    struct temper_deb822 *p = NULL;
    int rc = temper_deb822_open_file(NULL, path, NULL, 0, &p);
    size_t n = 0;
    while (rc == TEMPER_OK) {
        const struct temper_deb822_stanza *s = NULL;
        rc = temper_deb822_next(p, &s);
        if (!s) {
            break;
        }
        n++;
    }
    temper_deb822_free(p);
    *count = n;
    return rc;
}

static int table(const char *path, size_t *count)
{
    struct temper_debindex *idx = NULL;
    int rc = temper_debindex_load(NULL, path, NULL, &idx);
    if (rc == TEMPER_OK) {
        *count = temper_debindex_count(idx);
        /* touch what the python side reads */
        size_t deps = 0;
        for (size_t i = 0; i < *count; i++) {
            const struct temper_debpkg *pk = temper_debindex_at(idx, i);
            deps += pk->depends != NULL;
        }
        (void)deps;
    }
    temper_debindex_free(idx);
    return rc;
}

static int extract(const char *in, const char *out)
{
    char *data = NULL;
    size_t len = 0;
    int rc = temper_pkgindex_read(NULL, in, 0, &data, &len);
    FILE *f = rc == TEMPER_OK ? fopen(out, "wb") : NULL;
    if (f) {
        rc = fwrite(data, 1, len, f) == len ? TEMPER_OK : TEMPER_EIO;
        rc = fclose(f) == 0 ? rc : TEMPER_EIO;
    } else if (rc == TEMPER_OK) {
        rc = TEMPER_EIO;
    }
    free(data);
    if (rc != TEMPER_OK) {
        fprintf(stderr, "bench_deb822: cannot extract %s to %s: %s\n", in, out,
                temper_rc_str(rc));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "-x") == 0) {
        return extract(argv[2], argv[3]);
    }
    int runs = 3, stanzas_only = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        long long v = 0;
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            runs = temper_parse_ll(argv[++i], &v) == TEMPER_OK && v > 0 && v < 1000 ? (int)v : 0;
        } else if (strcmp(argv[i], "-s") == 0) {
            stanzas_only = 1;
        } else {
            break;
        }
    }
    if (i != argc - 1 || runs < 1) {
        fprintf(stderr, "usage: bench_deb822 [-n RUNS] [-s] FILE\n");
        return 2;
    }
    double best = 1e9;
    size_t count = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        int rc = stanzas_only ? walk(argv[i], &count) : table(argv[i], &count);
        double t = now() - t0;
        if (rc != TEMPER_OK) {
            fprintf(stderr, "bench_deb822: %s: %s\n", argv[i], temper_rc_str(rc));
            return 1;
        }
        best = t < best ? t : best;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("stanzas %zu best %.4f s peak_rss_kb %ld\n", count, best, ru.ru_maxrss);
    return 0;
}

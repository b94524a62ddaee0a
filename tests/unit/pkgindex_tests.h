/* temper — helpers shared by the package index tests (test_deb822,
 * test_release, test_apkindex): fixture paths, the stage whose recorded
 * error the tests read, TAP skips and whole-file reads. */
#ifndef TEMPER_TESTS_PKGINDEX_TESTS_H
#define TEMPER_TESTS_PKGINDEX_TESTS_H

#include <temper/plugin.h>
#include "sdk/host.h"
#include "tests/lib/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct temper_stage *st;

/* "$TEMPER_DATA/<sub>/<name>"; eight results stay valid at a time. */
static inline const char *pt_path(const char *sub, const char *name)
{
    static char buf[8][4096];
    static int slot;
    const char *d = getenv("TEMPER_DATA");
    char *p = buf[slot++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s/%s", d ? d : "tests/data", sub, name);
    return p;
}

/* The error recorded on st (one line), then forgotten. */
static inline const char *last_error(void)
{
    static char msg[2048];
    const char *e = temper_stage_error(st);
    snprintf(msg, sizeof msg, "%s", e ? e : "");
    temper_stage_reset(st);
    return msg;
}

static inline void skip(const char *why)
{
    char d[512];
    snprintf(d, sizeof d, "# SKIP %s", why);
    tap_ok(1, __FILE__, __LINE__, d);
}

/* A file's bytes as they are, NUL-terminated (free()); NULL on error. */
static inline unsigned char *pt_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    size_t cap = 0;
    *len = 0;
    while (f) {
        if (cap - *len < 65536) {
            unsigned char *nb = realloc(b, cap + (1u << 20) + 1);
            if (!nb) {
                break;
            }
            b = nb;
            cap += 1u << 20;
        }
        size_t r = fread(b + *len, 1, cap - *len, f);
        *len += r;
        if (r == 0) {
            b[*len] = '\0';
            fclose(f);
            return b;
        }
    }
    if (f) {
        fclose(f);
    }
    free(b);
    return NULL;
}

#endif

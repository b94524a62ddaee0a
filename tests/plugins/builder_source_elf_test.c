/* builder_source's ELF reader (source_elf.c): real binaries of this
 * machine, hand-made ELF32/ELF64 files of both byte orders, and hostile
 * input (every truncation of a real binary, random mutations, lying
 * offsets) that must give TEMPER_EFORMAT or a clean result, never a crash
 * (ASan and UBSan watch the reads). */
#include "config.h"
#include "source.h"
#include "../lib/tap.h"
#include <stdint.h>

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *d = NULL;
    *len = 0;
    if (!f) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        d = n > 0 ? malloc((size_t)n) : NULL;
        rewind(f);
        if (d && fread(d, 1, (size_t)n, f) == (size_t)n) {
            *len = (size_t)n;
        } else {
            free(d);
            d = NULL;
        }
    }
    fclose(f);
    return d;
}

static bool has_needed(const struct source_elf *e, const char *name)
{
    for (size_t i = 0; i < e->n_needed; i++) {
        if (strcmp(e->needed[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static void put(unsigned char *p, size_t n, unsigned long long v, bool be)
{
    for (size_t i = 0; i < n; i++) {
        p[be ? n - 1 - i : i] = (unsigned char)(v >> (8 * i));
    }
}

/* A minimal ELF: header, PT_LOAD over the file at 0x10000, PT_DYNAMIC,
 * PT_INTERP, the dynamic array (NEEDED..., STRTAB, STRSZ, NULL) and the
 * string table "\0libone.so.1\0libtwo.so.2\0/lib/ld.so\0". */
static size_t make_elf(unsigned char *b, bool is64, bool be, long needed_off_bias)
{
    static const char strtab[] = "\0libone.so.1\0libtwo.so.2\0/lib/ld.so";
    size_t eh = is64 ? 64 : 52, ph = is64 ? 56 : 32, de = is64 ? 16 : 8, w = is64 ? 8 : 4;
    size_t phoff = eh, dynoff = eh + 3 * ph, ndyn = 5;
    size_t stroff = dynoff + ndyn * de, total = stroff + sizeof strtab;
    unsigned long long base = 0x10000;
    memset(b, 0, total);
    memcpy(b, "\177ELF", 4);
    b[4] = is64 ? 2 : 1;
    b[5] = be ? 2 : 1;
    b[6] = 1;
    put(b + (is64 ? 32 : 28), w, phoff, be);
    put(b + (is64 ? 54 : 42), 2, ph, be);
    put(b + (is64 ? 56 : 44), 2, 3, be);
    unsigned long long segs[3][4] = { { 1, 0, base, total }, { 2, dynoff, base + dynoff,
                                                               ndyn * de },
                                      { 3, stroff + 25, base + stroff + 25, 11 } };
    for (size_t i = 0; i < 3; i++) {
        unsigned char *p = b + phoff + i * ph;
        put(p, 4, segs[i][0], be);
        put(p + (is64 ? 8 : 4), w, segs[i][1], be);
        put(p + (is64 ? 16 : 8), w, segs[i][2], be);
        put(p + (is64 ? 32 : 16), w, segs[i][3], be);
    }
    unsigned long long dyn[5][2] = { { 1, (unsigned long long)(1 + needed_off_bias) },
                                     { 1, 13 }, { 5, base + stroff }, { 10, sizeof strtab },
                                     { 0, 0 } };
    for (size_t i = 0; i < ndyn; i++) {
        put(b + dynoff + i * de, w, dyn[i][0], be);
        put(b + dynoff + i * de + w, w, dyn[i][1], be);
    }
    memcpy(b + stroff, strtab, sizeof strtab);
    return total;
}

static int parse(const void *d, size_t n, struct source_elf *e)
{
    char why[200];
    return source_elf_parse(d, n, e, why, sizeof why);
}

static void test_real_binary(void)
{
    struct source_elf e;
    char why[200];
    (void)why;

    TEST("a real dynamic executable: /bin/ls needs libc.so.6 through its interpreter") {
        size_t n = 0;
        unsigned char *d = slurp("/bin/ls", &n);
        CHECK(d != NULL);
        CHECK_INT_EQ(source_elf_parse(d, n, &e, why, sizeof why), TEMPER_OK);
        CHECK(e.is_elf);
        CHECK(has_needed(&e, "libc.so.6"));
        CHECK(e.interp != NULL && strstr(e.interp, "ld-linux") != NULL);
        source_elf_cleanup(&e);
        /* every truncation is refused or read cleanly, never past the end */
        int bad = 0;
        for (size_t cut = 0; d && cut < n; cut += cut < 4096 ? 1 : 997) {
            unsigned char *c = malloc(cut ? cut : 1);
            memcpy(c, d, cut);
            int rc = parse(c, cut, &e);
            bad += rc != TEMPER_OK && rc != TEMPER_EFORMAT;
            source_elf_cleanup(&e);
            free(c);
        }
        CHECK_INT_EQ(bad, 0);
        /* random byte mutations of the headers and the dynamic section */
        uint32_t seed = 12345;
        for (int round = 0; d && round < 3000; round++) {
            unsigned char *c = malloc(n);
            memcpy(c, d, n);
            for (int k = 0; k < 8; k++) {
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 8) % (round % 2 ? n : (n < 8192 ? n : 8192));
                c[at] = (unsigned char)(seed >> 3);
            }
            int rc = parse(c, n, &e);
            bad += rc != TEMPER_OK && rc != TEMPER_EFORMAT;
            source_elf_cleanup(&e);
            free(c);
        }
        CHECK_INT_EQ(bad, 0);
        free(d);
    }
}

static void test_real_library(void)
{
    struct source_elf e;
    char why[200];
    (void)why;

    TEST("a shared library: libc.so.6 needs the dynamic loader") {
        size_t n = 0;
        unsigned char *d = slurp("/lib/x86_64-linux-gnu/libc.so.6", &n);
        if (!d) {
            d = slurp("/lib/aarch64-linux-gnu/libc.so.6", &n);
        }
        CHECK(d != NULL);
        CHECK_INT_EQ(parse(d, n, &e), TEMPER_OK);
        CHECK(e.is_elf && e.n_needed >= 1);
        CHECK(e.n_needed >= 1 && strstr(e.needed[0], "ld-linux") != NULL);
        source_elf_cleanup(&e);
        free(d);
    }
}

static void test_not_elf(void)
{
    struct source_elf e;
    char why[200];
    (void)why;

    TEST("not ELF: text, empty and short files are no error and need nothing") {
        CHECK_INT_EQ(parse("#!/bin/sh\necho hi\n", 18, &e), TEMPER_OK);
        CHECK(!e.is_elf && e.n_needed == 0);
        CHECK_INT_EQ(parse("", 0, &e), TEMPER_OK);
        CHECK_INT_EQ(parse("\177ELF", 4, &e), TEMPER_OK);
        CHECK(!e.is_elf);
    }
}

static void test_handmade(void)
{
    struct source_elf e;
    char why[200];
    (void)why;

    TEST("hand-made ELF32/ELF64, little and big endian") {
        unsigned char b[1024];
        for (int v = 0; v < 4; v++) {
            size_t n = make_elf(b, v & 1, v & 2, 0);
            CHECK_INT_EQ(parse(b, n, &e), TEMPER_OK);
            CHECK_INT_EQ((long long)e.n_needed, 2);
            CHECK(has_needed(&e, "libone.so.1") && has_needed(&e, "libtwo.so.2"));
            CHECK(e.interp && strcmp(e.interp, "/lib/ld.so") == 0);
            source_elf_cleanup(&e);
        }
    }
}

static void test_lying(void)
{
    struct source_elf e;
    char why[200];
    (void)why;

    TEST("lying offsets are refused with a reason") {
        unsigned char b[1024];
        size_t n = make_elf(b, true, false, 1000); /* DT_NEEDED past the string table */
        CHECK_INT_EQ(source_elf_parse(b, n, &e, why, sizeof why), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(why, "string table");
        CHECK(e.is_elf && e.n_needed == 0);
        n = make_elf(b, true, false, 0);
        put(b + 32, 8, 0xffffffffffffff00ull, false); /* e_phoff wraps around */
        CHECK_INT_EQ(source_elf_parse(b, n, &e, why, sizeof why), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(why, "program header");
        n = make_elf(b, false, true, 0);
        b[n - 1] = 'x'; /* the last name loses its terminator: PT_INTERP runs off */
        CHECK_INT_EQ(source_elf_parse(b, n, &e, why, sizeof why), TEMPER_EFORMAT);
        n = make_elf(b, true, false, 24); /* DT_NEEDED -> "/lib/ld.so": not a soname */
        CHECK_INT_EQ(source_elf_parse(b, n, &e, why, sizeof why), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(why, "not a file name");
        n = make_elf(b, true, false, 11); /* DT_NEEDED -> "": an empty name */
        CHECK_INT_EQ(source_elf_parse(b, n, &e, why, sizeof why), TEMPER_EFORMAT);
    }
}

static void test_garbage(void)
{
    struct source_elf e;
    char why[200];
    (void)why;

    TEST("random garbage behind an ELF magic") {
        unsigned char b[2048];
        uint32_t seed = 7;
        int bad = 0;
        for (int round = 0; round < 20000; round++) {
            size_t n = 16 + (size_t)(round % 2000);
            for (size_t i = 0; i < n; i++) {
                seed = seed * 1664525u + 1013904223u;
                b[i] = (unsigned char)(seed >> 24);
            }
            memcpy(b, "\177ELF", 4);
            b[4] = (unsigned char)(1 + round % 2);
            b[5] = (unsigned char)(1 + (round / 2) % 2);
            int rc = parse(b, n, &e);
            bad += rc != TEMPER_OK && rc != TEMPER_EFORMAT;
            source_elf_cleanup(&e);
        }
        CHECK_INT_EQ(bad, 0);
    }
}

int main(void)
{
    test_real_binary();
    test_real_library();
    test_not_elf();
    test_handmade();
    test_lying();
    test_garbage();
    return tap_done();
}

/* temper — builder_source: the dynamic dependencies of an ELF file (its
 * DT_NEEDED sonames and its PT_INTERP), read from the program headers the
 * way the dynamic loader does: PT_DYNAMIC gives the dynamic array, whose
 * DT_STRTAB address is mapped to a file offset through the PT_LOAD
 * segments.  Section headers are never trusted (a stripped or hostile file
 * may lie in them).  ELF32 and ELF64, either byte order.
 *
 * The file is hostile: every offset and size is checked against the
 * buffer with overflow-safe arithmetic, counts are capped, names must be
 * NUL-terminated inside the string table, printable and without '/'. */
#include "config.h"
#include "source.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PT_LOAD_ 1
#define PT_DYNAMIC_ 2
#define PT_INTERP_ 3
#define DT_NULL_ 0
#define DT_NEEDED_ 1
#define DT_STRTAB_ 5
#define DT_STRSZ_ 10
#define MAX_PHDRS 4096
#define MAX_DYN 65536
#define MAX_NAME 255

struct elf_rd {
    const unsigned char *d;
    size_t len;
    bool is64, be;
    char *why;
    size_t whylen;
};

static int bad(struct elf_rd *r, const char *msg)
{
    snprintf(r->why, r->whylen, "%s", msg);
    return TEMPER_EFORMAT;
}

/* off + n <= len without overflow. */
static bool in_bounds(const struct elf_rd *r, unsigned long long off, unsigned long long n)
{
    return off <= r->len && n <= r->len - off;
}

static unsigned long long get(const struct elf_rd *r, size_t off, size_t n)
{
    unsigned long long v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned long long b = r->d[off + (r->be ? i : n - 1 - i)];
        v = (v << 8) | b;
    }
    return v;
}

struct phdr {
    unsigned long long type, offset, vaddr, filesz;
};

static void read_phdr(const struct elf_rd *r, size_t off, struct phdr *p)
{
    p->type = get(r, off, 4);
    if (r->is64) {
        p->offset = get(r, off + 8, 8);
        p->vaddr = get(r, off + 16, 8);
        p->filesz = get(r, off + 32, 8);
    } else {
        p->offset = get(r, off + 4, 4);
        p->vaddr = get(r, off + 8, 4);
        p->filesz = get(r, off + 16, 4);
    }
}

/* File offset of virtual address v through the PT_LOAD segments. */
static int vaddr_off(const struct elf_rd *r, const struct phdr *ph, size_t n,
                     unsigned long long v, unsigned long long *off)
{
    for (size_t i = 0; i < n; i++) {
        if (ph[i].type == PT_LOAD_ && v >= ph[i].vaddr && v - ph[i].vaddr < ph[i].filesz) {
            *off = ph[i].offset + (v - ph[i].vaddr);
            return *off >= ph[i].offset && in_bounds(r, *off, 0) ? TEMPER_OK : TEMPER_EFORMAT;
        }
    }
    return TEMPER_EFORMAT;
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > MAX_NAME) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '/') {
            return false;
        }
    }
    return true;
}

static int add_needed(struct elf_rd *r, struct source_elf *out, unsigned long long str,
                      unsigned long long strsz, unsigned long long idx)
{
    if (idx >= strsz) {
        return bad(r, "DT_NEEDED points past the string table");
    }
    const char *s = (const char *)r->d + str + idx;
    const char *nul = memchr(s, '\0', (size_t)(strsz - idx));
    if (!nul || !name_ok(s, (size_t)(nul - s))) {
        return bad(r, "DT_NEEDED name is unterminated, empty, too long or not a file name");
    }
    if (out->n_needed == SOURCE_ELF_MAX_NEEDED) {
        return bad(r, "more than 256 DT_NEEDED entries");
    }
    out->needed[out->n_needed] = strdup(s);
    if (!out->needed[out->n_needed]) {
        return TEMPER_ENOMEM;
    }
    out->n_needed++;
    return TEMPER_OK;
}

static int read_dynamic(struct elf_rd *r, const struct phdr *ph, size_t n, const struct phdr *dyn,
                        struct source_elf *out)
{
    size_t es = r->is64 ? 16 : 8, half = es / 2;
    if (!in_bounds(r, dyn->offset, dyn->filesz)) {
        return bad(r, "PT_DYNAMIC lies outside the file");
    }
    size_t count = (size_t)(dyn->filesz / es);
    unsigned long long strtab = 0, strsz = 0;
    bool have_tab = false, have_sz = false;
    for (size_t i = 0; i < count && i < MAX_DYN; i++) {
        unsigned long long tag = get(r, (size_t)dyn->offset + i * es, half);
        unsigned long long val = get(r, (size_t)dyn->offset + i * es + half, half);
        if (tag == DT_NULL_) {
            count = i;
            break;
        }
        have_tab |= tag == DT_STRTAB_;
        strtab = tag == DT_STRTAB_ ? val : strtab;
        have_sz |= tag == DT_STRSZ_;
        strsz = tag == DT_STRSZ_ ? val : strsz;
    }
    unsigned long long str = 0;
    if (!have_tab || !have_sz) {
        return TEMPER_OK; /* no string table: nothing is needed */
    }
    if (vaddr_off(r, ph, n, strtab, &str) != TEMPER_OK || !in_bounds(r, str, strsz)) {
        return bad(r, "DT_STRTAB lies outside the loaded segments or the file");
    }
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < count && i < MAX_DYN; i++) {
        if (get(r, (size_t)dyn->offset + i * es, half) == DT_NEEDED_) {
            rc = add_needed(r, out, str, strsz,
                            get(r, (size_t)dyn->offset + i * es + half, half));
        }
    }
    return rc;
}

static int read_interp(struct elf_rd *r, const struct phdr *p, struct source_elf *out)
{
    if (!in_bounds(r, p->offset, p->filesz) || p->filesz < 2 || p->filesz > 4096) {
        return bad(r, "PT_INTERP lies outside the file or has a bad size");
    }
    const char *s = (const char *)r->d + p->offset;
    size_t n = strnlen(s, (size_t)p->filesz);
    if (n == 0 || n == p->filesz || s[0] != '/') {
        return bad(r, "PT_INTERP is not an absolute, terminated path");
    }
    free(out->interp);
    out->interp = strndup(s, n);
    return out->interp ? TEMPER_OK : TEMPER_ENOMEM;
}

/* Header fields: class, byte order, program header table. */
static int header(struct elf_rd *r, unsigned long long *phoff, size_t *phentsize, size_t *phnum)
{
    r->is64 = r->d[4] == 2;
    r->be = r->d[5] == 2;
    if ((r->d[4] != 1 && r->d[4] != 2) || (r->d[5] != 1 && r->d[5] != 2)) {
        return bad(r, "unknown ELF class or byte order");
    }
    if (r->len < (r->is64 ? 64u : 52u)) {
        return bad(r, "truncated ELF header");
    }
    *phoff = get(r, r->is64 ? 32 : 28, r->is64 ? 8 : 4);
    *phentsize = (size_t)get(r, r->is64 ? 54 : 42, 2);
    *phnum = (size_t)get(r, r->is64 ? 56 : 44, 2);
    if (*phnum > MAX_PHDRS || *phentsize < (r->is64 ? 56u : 32u) ||
        !in_bounds(r, *phoff, (unsigned long long)*phnum * *phentsize)) {
        return bad(r, "program header table lies outside the file or is malformed");
    }
    return TEMPER_OK;
}

int source_elf_parse(const void *data, size_t len, struct source_elf *out, char *why,
                     size_t whylen)
{
    struct elf_rd r = { .d = data, .len = len, .why = why, .whylen = whylen };
    memset(out, 0, sizeof *out);
    why[0] = '\0';
    if (len < 16 || memcmp(data, "\177ELF", 4) != 0) {
        return TEMPER_OK; /* not ELF: is_elf stays false */
    }
    out->is_elf = true;
    unsigned long long phoff = 0;
    size_t phentsize = 0, phnum = 0;
    int rc = header(&r, &phoff, &phentsize, &phnum);
    struct phdr *ph = rc == TEMPER_OK ? calloc(phnum ? phnum : 1, sizeof *ph) : NULL;
    rc = rc == TEMPER_OK && !ph ? TEMPER_ENOMEM : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < phnum; i++) {
        read_phdr(&r, (size_t)phoff + i * phentsize, &ph[i]);
    }
    bool seen_dyn = false;
    for (size_t i = 0; rc == TEMPER_OK && i < phnum; i++) {
        if (ph[i].type == PT_INTERP_) {
            rc = read_interp(&r, &ph[i], out);
        } else if (ph[i].type == PT_DYNAMIC_ && !seen_dyn) {
            seen_dyn = true;
            rc = read_dynamic(&r, ph, phnum, &ph[i], out);
        }
    }
    free(ph);
    if (rc != TEMPER_OK) {
        bool is = out->is_elf;
        source_elf_cleanup(out);
        out->is_elf = is;
        if (rc == TEMPER_ENOMEM) {
            snprintf(why, whylen, "out of memory");
        }
    }
    return rc;
}

void source_elf_cleanup(struct source_elf *e)
{
    for (size_t i = 0; i < e->n_needed; i++) {
        free(e->needed[i]);
    }
    free(e->interp);
    memset(e, 0, sizeof *e);
}

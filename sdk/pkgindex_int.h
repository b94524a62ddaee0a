/* temper — internals shared by the package index parsers (not installed). */
#ifndef TEMPER_SDK_PKGINDEX_INT_H
#define TEMPER_SDK_PKGINDEX_INT_H

#include <temper/pkgindex.h>
#include <temper/plugin.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct archive;

/* ---- arena: bump allocation in chunks, freed at once ---------------------- */

struct pk_chunk;
struct pk_arena {
    struct pk_chunk *head;
    char *cur;
    size_t left;
    size_t used;     /* bytes handed out */
    size_t max;      /* cap on used (0 = none) */
    size_t next_size;
};

void pk_arena_init(struct pk_arena *a, size_t max);
/* Move every chunk of `from` into `to` (pointers into them stay valid). */
void pk_arena_splice(struct pk_arena *to, struct pk_arena *from);
void pk_arena_cleanup(struct pk_arena *a);
/* NULL on ENOMEM or when the cap is hit (pk_arena_full tells which). */
void *pk_arena_alloc(struct pk_arena *a, size_t n);
char *pk_arena_strndup(struct pk_arena *a, const char *s, size_t n);
int pk_arena_full(const struct pk_arena *a);

/* ---- string map: key -> first/last item (lists chained by the caller) ---- */

struct pk_slot {
    const char *key;   /* stable (arena) string */
    uint32_t hash;
    uint32_t len;
    void *first;
    void *last;
};

/* Open addressing over a small index ((hash << 32) | entry + 1, 0 = free)
 * that stays in cache; the entries themselves are dense, in insertion order.
 * A slot pointer is valid until the next pk_map_add. */
struct pk_map {
    uint64_t *index;
    size_t cap;        /* index size, a power of two */
    struct pk_slot *entries;
    size_t n, ecap;
};

uint32_t pk_hash(const char *s, size_t n);
void pk_map_init(struct pk_map *m);
void pk_map_cleanup(struct pk_map *m);
/* The slot of key (s, n), NULL when absent. */
struct pk_slot *pk_map_find(const struct pk_map *m, const char *s, size_t n, uint32_t h);
/* The slot of key (s, n), added with key `stable` when absent (stable must
 * hold the same bytes and live as long as the map).  NULL on ENOMEM. */
struct pk_slot *pk_map_add(struct pk_map *m, const char *stable, size_t n, uint32_t h);
/* Hint that key hash h will be looked up soon (a cache prefetch). */
static inline void pk_map_prefetch(const struct pk_map *m, uint32_t h)
{
    if (m->cap) {
        __builtin_prefetch(&m->index[h & (m->cap - 1)]);
    }
}
/* Intern (s, n) in the arena: equal strings share one copy.  NULL on ENOMEM. */
const char *pk_intern(struct pk_map *m, struct pk_arena *a, const char *s, size_t n);

/* ---- package table core, shared by the Debian and Alpine tables --------- */

struct pk_table {
    struct pk_arena arena;
    struct pk_map names;     /* package name -> first/last package */
    struct pk_map provides;  /* provided name -> first/last provider */
    struct pk_map strings;   /* interned values */
    void **items;            /* packages in input order */
    size_t n, cap;
};

void pk_table_init(struct pk_table *t);
void pk_table_cleanup(struct pk_table *t);
/* Append pkg to the table and to the list of its name (hash h); next_off is
 * the offset of its "next with the same name" pointer.  ENOMEM. */
int pk_table_add(struct pk_table *t, void *pkg, const char *name, size_t len, uint32_t h,
                 size_t next_off);
/* Append provider pv to the list of (name, len), whose key is copied into
 * the arena on first use: *key gets that stable copy.  ENOMEM. */
int pk_table_provide(struct pk_table *t, void *pv, const char *name, size_t len,
                     size_t next_off, const char **key);
void *pk_table_at(const struct pk_table *t, size_t i);
/* First item of the list of `name` in m, NULL when none. */
void *pk_table_first(const struct pk_map *m, const char *name);

/* ---- input: plain or compressed file/buffer, read sequentially ------------ */

enum pk_src_kind { PK_SRC_NONE = 0, PK_SRC_MEM, PK_SRC_FD, PK_SRC_ARCHIVE, PK_SRC_RANGE };

struct pk_src {
    enum pk_src_kind kind;
    const unsigned char *mem;
    size_t mem_len, mem_pos;
    int fd;              /* FD: owned; RANGE: borrowed */
    unsigned long long off, left; /* RANGE: next offset, bytes left */
    struct archive *ar;
    unsigned long long total;
    unsigned long long max;
    bool eof;          /* an empty compressed input */
    const char *name;  /* borrowed */
};

/* Open a source; the name is borrowed for messages.  max: decompressed cap. */
int pk_src_open_file(struct temper_stage *st, struct pk_src *s, const char *path,
                     unsigned long long max);
int pk_src_open_mem(struct temper_stage *st, struct pk_src *s, const char *name,
                    const void *data, size_t len, unsigned long long max);
/* Read up to n bytes: >0 bytes read, 0 at the end, <0 an rc (recorded). */
ssize_t pk_src_read(struct temper_stage *st, struct pk_src *s, void *buf, size_t n);
void pk_src_close(struct pk_src *s);
/* Compression recognised from magic bytes: "gzip", "xz", ... or NULL. */
const char *pk_compression(const unsigned char *p, size_t n);
/* Open a regular file for reading (anything else is refused, recorded). */
int pk_open_regular(struct temper_stage *st, const char *path, int *fd);
/* Read exactly n bytes at off (recorded error on a short read). */
int pk_pread_full(struct temper_stage *st, const char *path, int fd, void *buf, size_t n,
                  unsigned long long off);
/* Read a file as it is (no decompression) into a new buffer, capped. */
int pk_read_file(struct temper_stage *st, const char *path, unsigned long long max,
                 unsigned char **data, size_t *len);
/* Read a whole source into a new NUL-terminated buffer. */
int pk_src_slurp(struct temper_stage *st, struct pk_src *s, char **data, size_t *len);

/* A libarchive reader over memory with the gzip filter and the given format
 * ("tar" or "raw"); NULL on ENOMEM (recorded). */
struct archive *pk_archive_mem(struct temper_stage *st, const char *name, const void *data,
                               size_t len, int tar);

/* Strict unsigned decimal: digits only, no sign, no overflow. */
int pk_parse_u64(const char *s, unsigned long long *out);

/* A quiet parser over bytes [off, off + len) of a plain file (fd borrowed,
 * read with pread, so several parsers may share it across threads): errors
 * are returned, never recorded nor logged.  Used by the parallel load. */
int pk_deb822_open_range(const char *name, int fd, unsigned long long off,
                         unsigned long long len, const struct temper_pkgindex_limits *lim,
                         struct temper_deb822 **out);
/* Lines read so far. */
unsigned long pk_deb822_lines(const struct temper_deb822 *p);
/* Number the next line of a deb822 parser `first` (text cut out of a file). */
void pk_deb822_first_line(struct temper_deb822 *p, unsigned long first);
/* temper_clearsign_split, also telling the file line of the body's first line. */
int pk_clearsign_split(struct temper_stage *st, const char *name, const char *data, size_t len,
                       char **body, size_t *body_len, char **sig, size_t *sig_len,
                       unsigned long *body_line);

/* ---- limits --------------------------------------------------------------- */

void pk_limits(const struct temper_pkgindex_limits *in, struct temper_pkgindex_limits *out);

/* ---- relations: zero-copy scanner used by the tables and the parsers ------- */

struct pk_rel {
    const char *name; size_t name_len;
    const char *arch; size_t arch_len;       /* arch == NULL: none */
    const char *ver; size_t ver_len;         /* ver == NULL: none */
    const char *archs; size_t archs_len;     /* archs == NULL: none */
    enum temper_dep_op op;
    bool conflict;
    size_t group;
};
typedef int (*pk_rel_fn)(void *ctx, const struct pk_rel *r);
/* Scan a relation text of n bytes; on a syntax error returns TEMPER_EFORMAT
 * and points *why at a static reason.  The callback's non-OK rc stops it. */
int pk_deb_rel_scan(const char *s, size_t n, pk_rel_fn fn, void *ctx, const char **why);
int pk_apk_rel_scan(const char *s, size_t n, pk_rel_fn fn, void *ctx, const char **why);

/* ---- gzip members (Alpine) ------------------------------------------------ */

uint32_t pk_crc32(uint32_t crc, const void *p, size_t n);
/* End offset of the gzip member starting at data[0] (checked: header, deflate
 * end and CRC-32/ISIZE trailer), searching at most `scan` bytes.  The member's
 * decompressed bytes go to *out (new, free()) when out != NULL. */
int pk_gzip_member(struct temper_stage *st, const char *name, const unsigned char *data,
                   size_t len, size_t scan, size_t out_max, size_t *end,
                   unsigned char **out, size_t *out_len);
/* Parse a signature tar segment ".SIGN.RSA[256].<key>" (header + data).
 * TEMPER_ENOTFOUND when the first entry is not a signature. */
int pk_apk_sigtar(struct temper_stage *st, const char *name, const unsigned char *tar,
                  size_t len, enum temper_apksig_type *type, char **key,
                  unsigned char **sig, size_t *sig_len);
/* Is a tar entry path acceptable (relative, no "..", no empty component)? */
bool pk_path_safe(const char *p);

/* ---- Debian table: serial and two-thread loads -------------------------- */

/* Fill a new table from parser p (taken even on error).  quiet: return
 * errors without recording them.  *lines (may be NULL): lines read. */
int pk_debindex_build(struct temper_stage *st, struct temper_deb822 *p, bool quiet,
                      unsigned long *lines, struct temper_debindex **out);
/* Append b (taken) to a; b's lines are numbered from line_offset + 1. */
int pk_debindex_append(struct temper_debindex *a, struct temper_debindex *b,
                       unsigned long line_offset);
/* Load a big plain file in two halves on two threads.  TEMPER_ENOTSUP (not
 * recorded) when the file does not qualify or either half fails: the caller
 * then loads it serially, which reports errors exactly. */
int pk_debindex_load_split(struct temper_stage *st, const char *path,
                           const struct temper_pkgindex_limits *lim,
                           struct temper_debindex **out);

/* ---- apk package table (shared by APKINDEX and .apk) -------------------- */

struct temper_apkindex *pk_apkindex_new(struct temper_stage *st, const char *name);
struct pk_arena *pk_apkindex_arena(struct temper_apkindex *idx);
#define PK_NEXT(type, field) offsetof(struct type, field)
/* A new zeroed package in idx's arena, not yet indexed; NULL on ENOMEM. */
struct temper_apkpkg *pk_apkpkg_new(struct temper_apkindex *idx);
/* Index pkg (complete) by name and by its provides; EFORMAT recorded as
 * "FILE:LINE: ...", ENOMEM recorded. */
int pk_apkindex_add(struct temper_stage *st, const char *file, struct temper_apkindex *idx,
                    struct temper_apkpkg *pkg);
/* Interned copy of (s, n) in idx's arena. */
const char *pk_apkindex_intern(struct temper_apkindex *idx, const char *s, size_t n);

#endif

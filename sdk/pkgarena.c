/* temper — arena, string map and interning for the package index tables. */
#include "config.h"
#include "pkgindex_int.h"
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Chunks grow from 64 KiB to 4 MiB; the big ones are 2 MiB aligned and
 * marked for transparent huge pages: a Packages table fills ~40 MB, and
 * faulting it in 4 KiB pages costs a quarter of the load time. */
#define ARENA_FIRST (64u * 1024u)
#define ARENA_CHUNK (4u * 1024u * 1024u)
#define ARENA_HUGE (2u * 1024u * 1024u)
#define ARENA_ALIGN 8u

struct pk_chunk {
    struct pk_chunk *next;
    /* data follows */
};

void pk_arena_init(struct pk_arena *a, size_t max)
{
    memset(a, 0, sizeof *a);
    a->max = max;
}

void pk_arena_cleanup(struct pk_arena *a)
{
    struct pk_chunk *c = a->head;
    while (c) {
        struct pk_chunk *next = c->next;
        free(c);
        c = next;
    }
    memset(a, 0, sizeof *a);
}

void pk_arena_splice(struct pk_arena *to, struct pk_arena *from)
{
    if (!from->head) {
        return;
    }
    struct pk_chunk *tail = from->head;
    while (tail->next) {
        tail = tail->next;
    }
    /* behind `to`'s current chunk, which keeps serving small allocations */
    if (to->head) {
        tail->next = to->head->next;
        to->head->next = from->head;
    } else {
        to->head = from->head;
    }
    to->used += from->used;
    memset(from, 0, sizeof *from);
}

int pk_arena_full(const struct pk_arena *a)
{
    return a->max && a->used >= a->max;
}

static struct pk_chunk *chunk_new(size_t size)
{
    if (size != ARENA_CHUNK) {
        return malloc(size);
    }
    struct pk_chunk *c = aligned_alloc(ARENA_HUGE, size);
#ifdef MADV_HUGEPAGE
    if (c) {
        (void)madvise(c, size, MADV_HUGEPAGE); /* a hint; failure is harmless */
    }
#endif
    return c;
}

void *pk_arena_alloc(struct pk_arena *a, size_t n)
{
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need < n || (a->max && (need > a->max || a->used > a->max - need))) {
        a->used = a->max ? a->max : a->used;
        return NULL;
    }
    if (need > a->left) {
        size_t hdr = (sizeof(struct pk_chunk) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
        size_t size = a->next_size ? a->next_size : ARENA_FIRST;
        if (need > (size - hdr) / 2 || need > SIZE_MAX - hdr) {
            /* a big block of its own, behind the current chunk */
            struct pk_chunk *c = need <= SIZE_MAX - hdr ? malloc(hdr + need) : NULL;
            if (!c) {
                return NULL;
            }
            c->next = a->head ? a->head->next : NULL;
            if (a->head) {
                a->head->next = c;
            } else {
                a->head = c;
            }
            a->used += need;
            return (char *)c + hdr;
        }
        struct pk_chunk *c = chunk_new(size);
        if (!c) {
            return NULL;
        }
        a->next_size = size < ARENA_CHUNK ? size * 4 : ARENA_CHUNK;
        c->next = a->head;
        a->head = c;
        a->cur = (char *)c + hdr;
        a->left = size - hdr;
    }
    void *p = a->cur;
    a->cur += need;
    a->left -= need;
    a->used += need;
    return p;
}

char *pk_arena_strndup(struct pk_arena *a, const char *s, size_t n)
{
    char *p = pk_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* ---- string map ------------------------------------------------------------ */

uint32_t pk_hash(const char *s, size_t n)
{
    /* eight bytes a step, multiply-xorshift mixing: package names and
     * maintainers are short, this is where a table load spends its time */
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    return (uint32_t)h;
}

void pk_map_init(struct pk_map *m)
{
    memset(m, 0, sizeof *m);
}

void pk_map_cleanup(struct pk_map *m)
{
    free(m->index);
    free(m->entries);
    memset(m, 0, sizeof *m);
}

struct pk_slot *pk_map_find(const struct pk_map *m, const char *s, size_t n, uint32_t h)
{
    if (!m->cap) {
        return NULL;
    }
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint64_t v = m->index[i];
        if (!v) {
            return NULL;
        }
        if ((uint32_t)(v >> 32) == h) {
            struct pk_slot *sl = &m->entries[(uint32_t)v - 1];
            if (sl->len == n && memcmp(sl->key, s, n) == 0) {
                return sl;
            }
        }
    }
}

static int map_grow(struct pk_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    if (ncap > SIZE_MAX / sizeof(uint64_t) || ncap > UINT32_MAX) {
        return TEMPER_ENOMEM;
    }
    uint64_t *ni = calloc(ncap, sizeof *ni);
    if (!ni) {
        return TEMPER_ENOMEM;
    }
    for (size_t e = 0; e < m->n; e++) {
        size_t j = m->entries[e].hash & (ncap - 1);
        while (ni[j]) {
            j = (j + 1) & (ncap - 1);
        }
        ni[j] = ((uint64_t)m->entries[e].hash << 32) | (uint64_t)(e + 1);
    }
    free(m->index);
    m->index = ni;
    m->cap = ncap;
    return TEMPER_OK;
}

struct pk_slot *pk_map_add(struct pk_map *m, const char *stable, size_t n, uint32_t h)
{
    if (n > UINT32_MAX) {
        return NULL;
    }
    struct pk_slot *sl = pk_map_find(m, stable, n, h);
    if (sl) {
        return sl;
    }
    if ((m->n + 1) * 2 > m->cap && map_grow(m) != TEMPER_OK) {
        return NULL;
    }
    if (m->n == m->ecap) {
        size_t nc = m->ecap ? m->ecap * 2 : 256;
        struct pk_slot *ne = realloc(m->entries, nc * sizeof *ne);
        if (!ne) {
            return NULL;
        }
        m->entries = ne;
        m->ecap = nc;
    }
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    while (m->index[i]) {
        i = (i + 1) & mask;
    }
    m->index[i] = ((uint64_t)h << 32) | (uint64_t)(m->n + 1);
    sl = &m->entries[m->n++];
    sl->key = stable;
    sl->hash = h;
    sl->len = (uint32_t)n;
    sl->first = NULL;
    sl->last = NULL;
    return sl;
}

const char *pk_intern(struct pk_map *m, struct pk_arena *a, const char *s, size_t n)
{
    uint32_t h = pk_hash(s, n);
    struct pk_slot *sl = pk_map_find(m, s, n, h);
    if (sl) {
        return sl->key;
    }
    char *copy = pk_arena_strndup(a, s, n);
    if (!copy) {
        return NULL;
    }
    sl = pk_map_add(m, copy, n, h);
    return sl ? sl->key : NULL;
}

int pk_parse_u64(const char *s, unsigned long long *out)
{
    unsigned long long v = 0;
    if (!*s) {
        return TEMPER_EFORMAT;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (~0ull - 9) / 10) {
            return TEMPER_EFORMAT;
        }
        v = v * 10 + (unsigned)(*s - '0');
    }
    *out = v;
    return TEMPER_OK;
}

/* ---- package table core ---------------------------------------------------- */

void pk_table_init(struct pk_table *t)
{
    memset(t, 0, sizeof *t);
    pk_arena_init(&t->arena, 0);
}

void pk_table_cleanup(struct pk_table *t)
{
    pk_map_cleanup(&t->names);
    pk_map_cleanup(&t->provides);
    pk_map_cleanup(&t->strings);
    pk_arena_cleanup(&t->arena);
    free(t->items);
    memset(t, 0, sizeof *t);
}

static void list_append(struct pk_slot *sl, void *item, size_t next_off)
{
    if (sl->last) {
        memcpy((char *)sl->last + next_off, &item, sizeof item);
    } else {
        sl->first = item;
    }
    sl->last = item;
}

int pk_table_add(struct pk_table *t, void *pkg, const char *name, size_t len, uint32_t h,
                 size_t next_off)
{
    struct pk_slot *sl = pk_map_add(&t->names, name, len, h);
    if (!sl) {
        return TEMPER_ENOMEM;
    }
    list_append(sl, pkg, next_off);
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 1024;
        void **ni = realloc(t->items, nc * sizeof *ni);
        if (!ni) {
            return TEMPER_ENOMEM;
        }
        t->items = ni;
        t->cap = nc;
    }
    t->items[t->n++] = pkg;
    return TEMPER_OK;
}

int pk_table_provide(struct pk_table *t, void *pv, const char *name, size_t len,
                     size_t next_off, const char **key)
{
    uint32_t h = pk_hash(name, len);
    struct pk_slot *sl = pk_map_find(&t->provides, name, len, h);
    if (!sl) { /* the map's key doubles as the provided name */
        const char *copy = pk_arena_strndup(&t->arena, name, len);
        sl = copy ? pk_map_add(&t->provides, copy, len, h) : NULL;
        if (!sl) {
            return TEMPER_ENOMEM;
        }
    }
    *key = sl->key;
    list_append(sl, pv, next_off);
    return TEMPER_OK;
}

void *pk_table_at(const struct pk_table *t, size_t i)
{
    return i < t->n ? t->items[i] : NULL;
}

void *pk_table_first(const struct pk_map *m, const char *name)
{
    size_t n = strlen(name);
    const struct pk_slot *sl = pk_map_find(m, name, n, pk_hash(name, n));
    return sl ? sl->first : NULL;
}

/* ---- limits ------------------------------------------------------------------ */

void temper_pkgindex_limits_default(struct temper_pkgindex_limits *l)
{
    l->max_field = 1024u * 1024u;
    l->max_stanza = 8u * 1024u * 1024u;
    l->max_fields = 1000;
    l->max_stanzas = 4000000;
    l->max_input = 2ull * 1024 * 1024 * 1024;
}

void pk_limits(const struct temper_pkgindex_limits *in, struct temper_pkgindex_limits *out)
{
    temper_pkgindex_limits_default(out);
    if (!in) {
        return;
    }
    if (in->max_field) {
        out->max_field = in->max_field;
    }
    if (in->max_stanza) {
        out->max_stanza = in->max_stanza;
    }
    if (in->max_fields) {
        out->max_fields = in->max_fields;
    }
    if (in->max_stanzas) {
        out->max_stanzas = in->max_stanzas;
    }
    if (in->max_input) {
        out->max_input = in->max_input;
    }
}

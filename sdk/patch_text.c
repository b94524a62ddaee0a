/* temper — patch reader internals: arena, vectors, header and path syntax
 * (see sdk/patch_int.h). */
#include "patch_int.h"
#include <temper/dsse.h>
#include <ctype.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (64 * 1024)
#define ARENA_ALIGN alignof(max_align_t)

struct patch_chunk {
    struct patch_chunk *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

/* ---- arena ------------------------------------------------------------- */

void *patch_arena_alloc(struct patch_arena *a, size_t n)
{
    if (n > SIZE_MAX / 2) {
        return NULL;
    }
    n = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    if (n == 0) {
        n = ARENA_ALIGN;
    }
    struct patch_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c) {
            return NULL;
        }
        c->cap = cap;
        c->used = 0;
        if (a->head && n > ARENA_CHUNK / 4) {
            /* a big block: keep filling the current small chunk */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *patch_arena_strndup(struct patch_arena *a, const char *s, size_t n)
{
    char *p = patch_arena_alloc(a, n + 1);
    if (p && n) {
        memcpy(p, s, n);
    }
    return p;
}

void patch_arena_free(struct patch_arena *a)
{
    struct patch_chunk *c = a->head;
    while (c) {
        struct patch_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

/* ---- pointer vectors ---------------------------------------------------- */

int patch_vec_push(struct patch_vec *v, void *p)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 8;
        void **nv = realloc(v->v, ncap * sizeof *nv);
        if (!nv) {
            return TEMPER_ENOMEM;
        }
        v->v = nv;
        v->cap = ncap;
    }
    v->v[v->n++] = p;
    return TEMPER_OK;
}

void *patch_vec_finish(struct patch_vec *v, struct patch_arena *a, bool *ok)
{
    *ok = true;
    if (v->n == 0) {
        return NULL;
    }
    void **out = patch_arena_alloc(a, v->n * sizeof *out);
    if (!out) {
        *ok = false;
        return NULL;
    }
    memcpy(out, v->v, v->n * sizeof *out);
    v->n = 0;
    return out;
}

void patch_vec_cleanup(struct patch_vec *v)
{
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

/* ---- small syntax helpers ------------------------------------------------ */

void patch_trim(const char **s, size_t *n)
{
    const char *p = *s;
    size_t len = *n;
    while (len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
        len--;
    }
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r' ||
                   p[len - 1] == '\n')) {
        len--;
    }
    *s = p;
    *n = len;
}

bool patch_starts(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

static bool read_num(const char **p, const char *end, long *out)
{
    long v = 0;
    const char *s = *p;
    if (s >= end || !isdigit((unsigned char)*s)) {
        return false;
    }
    while (s < end && isdigit((unsigned char)*s)) {
        v = v * 10 + (*s - '0');
        if (v > PATCH_NUM_MAX) {
            return false;
        }
        s++;
    }
    *p = s;
    *out = v;
    return true;
}

/* "A[,B]" after the sign; B defaults to 1. */
static bool read_range(const char **p, const char *end, long *start, long *count)
{
    if (!read_num(p, end, start)) {
        return false;
    }
    *count = 1;
    if (*p < end && **p == ',') {
        (*p)++;
        return read_num(p, end, count);
    }
    return true;
}

bool patch_hunk_header(const char *line, size_t len, long *os, long *oc, long *ns,
                       long *nc, size_t *section_off)
{
    const char *p = line, *end = line + len;
    if (!patch_starts(line, len, "@@ -")) {
        return false;
    }
    p += 4;
    if (!read_range(&p, end, os, oc)) {
        return false;
    }
    if (end - p < 2 || p[0] != ' ' || p[1] != '+') {
        return false;
    }
    p += 2;
    if (!read_range(&p, end, ns, nc)) {
        return false;
    }
    if (end - p < 3 || memcmp(p, " @@", 3) != 0) {
        return false;
    }
    p += 3;
    if (p < end && *p == ' ') {
        p++;
    }
    *section_off = (size_t)(p - line);
    return true;
}

bool patch_is_from_line(const char *line, size_t len, size_t *sha_len)
{
    if (!patch_starts(line, len, "From ")) {
        return false;
    }
    size_t i = 5;
    while (i < len && isxdigit((unsigned char)line[i])) {
        i++;
    }
    size_t n = i - 5;
    if ((n != 40 && n != 64) || i >= len || line[i] != ' ') {
        return false;
    }
    *sha_len = n;
    return true;
}

/* ---- paths --------------------------------------------------------------- */

static int unescape_one(const char *s, size_t n, size_t *i)
{
    static const char from[] = "abtnvfr\"\\";
    static const char to[] = "\a\b\t\n\v\f\r\"\\";
    char c = s[*i];
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit) {
        (*i)++;
        return to[hit - from];
    }
    if (c >= '0' && c <= '3' && *i + 2 < n && s[*i + 1] >= '0' && s[*i + 1] <= '7' &&
        s[*i + 2] >= '0' && s[*i + 2] <= '7') {
        int v = (c - '0') * 64 + (s[*i + 1] - '0') * 8 + (s[*i + 2] - '0');
        *i += 3;
        return v == 0 ? -1 : v; /* NUL cannot be in a path */
    }
    return -1;
}

static char *read_quoted(struct patch_arena *a, const char *s, size_t n, size_t *used,
                         bool *oom)
{
    char *out = patch_arena_alloc(a, n);
    if (!out) {
        *oom = true;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 1; i < n;) {
        if (s[i] == '"') {
            *used = i + 1;
            return k ? out : NULL;
        }
        if (s[i] != '\\') {
            out[k++] = s[i++];
            continue;
        }
        i++;
        int c = i < n ? unescape_one(s, n, &i) : -1;
        if (c < 0) {
            return NULL;
        }
        out[k++] = (char)c;
    }
    return NULL; /* no closing quote */
}

char *patch_read_path(struct patch_arena *a, const char *s, size_t n, size_t *used,
                      bool *oom)
{
    *oom = false;
    *used = 0;
    if (n && s[0] == '"') {
        return read_quoted(a, s, n, used, oom);
    }
    size_t k = 0;
    while (k < n && s[k] != '\t') {
        k++;
    }
    *used = k;
    const char *p = s;
    patch_trim(&p, &k);
    if (k == 0) {
        return NULL;
    }
    char *out = patch_arena_strndup(a, p, k);
    *oom = !out;
    return out;
}

const char *patch_strip_p1(const char *p)
{
    const char *slash = strchr(p, '/');
    return slash && slash[1] ? slash + 1 : p;
}

/* ---- header words ---------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode one "=?cs?E?text?=" at s (n bytes available) into out; returns the
 * bytes consumed, 0 when s does not start an encoded word. */
static size_t decode_word(const char *s, size_t n, char *out, size_t *k)
{
    if (n < 8 || s[0] != '=' || s[1] != '?') {
        return 0;
    }
    const char *q1 = memchr(s + 2, '?', n - 2);
    if (!q1 || (size_t)(q1 - s) + 3 >= n || q1[2] != '?') {
        return 0;
    }
    char enc = (char)toupper((unsigned char)q1[1]);
    const char *text = q1 + 3;
    const char *endw = NULL;
    for (const char *p = text; p + 1 < s + n; p++) {
        if (p[0] == '?' && p[1] == '=') {
            endw = p;
            break;
        }
    }
    if (!endw || (enc != 'Q' && enc != 'B')) {
        return 0;
    }
    size_t tl = (size_t)(endw - text);
    if (enc == 'B') {
        unsigned char *dec = NULL;
        size_t dl = 0;
        if (temper_base64_decode(text, tl, &dec, &dl) != TEMPER_OK || dl > tl) {
            free(dec);
            return 0;
        }
        memcpy(out + *k, dec, dl);
        *k += dl;
        free(dec);
        return (size_t)(endw + 2 - s);
    }
    for (size_t i = 0; i < tl; i++) {
        int h1 = i + 2 < tl ? hexval((unsigned char)text[i + 1]) : -1;
        int h2 = i + 2 < tl ? hexval((unsigned char)text[i + 2]) : -1;
        if (text[i] == '=' && h1 >= 0 && h2 >= 0) {
            out[(*k)++] = (char)(h1 * 16 + h2);
            i += 2;
        } else {
            out[(*k)++] = text[i] == '_' ? ' ' : text[i];
        }
    }
    return (size_t)(endw + 2 - s);
}

char *patch_decode_words(struct patch_arena *a, const char *s, size_t n)
{
    char *out = patch_arena_alloc(a, n + 1);
    if (!out) {
        return NULL;
    }
    size_t k = 0;
    bool prev_word = false;
    for (size_t i = 0; i < n;) {
        size_t used = decode_word(s + i, n - i, out, &k);
        if (used) {
            i += used;
            prev_word = true;
            continue;
        }
        /* whitespace between two encoded words is dropped */
        if (prev_word) {
            size_t j = i;
            while (j < n && (s[j] == ' ' || s[j] == '\t')) {
                j++;
            }
            size_t u = j > i && j < n ? decode_word(s + j, n - j, out, &k) : 0;
            if (u) {
                i = j + u;
                continue;
            }
        }
        prev_word = false;
        out[k++] = s[i++];
    }
    out[k] = '\0';
    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c < 0x20 || c == 0x7f) {
            out[i] = '?';
        }
    }
    return out;
}

/* "Quoted \"name\"" -> Quoted "name" (in place, returns new length). */
static size_t unquote_name(char *s, size_t n)
{
    if (n < 2 || s[0] != '"' || s[n - 1] != '"') {
        return n;
    }
    size_t k = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        if (s[i] == '\\' && i + 2 < n) {
            i++;
        }
        s[k++] = s[i];
    }
    s[k] = '\0';
    return k;
}

bool patch_parse_ident(struct patch_arena *a, const char *s, size_t n, const char **name,
                       const char **email)
{
    *name = NULL;
    *email = NULL;
    patch_trim(&s, &n);
    const char *lt = NULL;
    for (size_t i = n; i > 0; i--) {
        if (s[i - 1] == '<') {
            lt = s + i - 1;
            break;
        }
    }
    const char *gt = lt ? memchr(lt, '>', n - (size_t)(lt - s)) : NULL;
    const char *e = s, *nm = NULL;
    size_t el = n, nl = 0;
    if (lt && gt) {
        e = lt + 1;
        el = (size_t)(gt - e);
        nm = s;
        nl = (size_t)(lt - s);
        patch_trim(&nm, &nl);
    }
    patch_trim(&e, &el);
    if (el) {
        char *em = patch_decode_words(a, e, el);
        if (!em) {
            return false;
        }
        for (char *p = em; *p; p++) {
            *p = (char)tolower((unsigned char)*p);
        }
        *email = em;
    }
    if (nl) {
        char *dn = patch_decode_words(a, nm, nl);
        if (!dn) {
            return false;
        }
        unquote_name(dn, strlen(dn));
        *name = dn;
    }
    return true;
}

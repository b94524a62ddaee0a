/* temper — artifacts (see include/temper/artifact.h). */
#include <temper/artifact.h>
#include <temper/buf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ART_MAX_ATTRS 4096
#define ART_MAX_PACKAGES 1000000

struct art_attr {
    char *key;
    char *value;
};

struct temper_artifact {
    enum temper_art_type type;
    char *name;
    char *path;
    unsigned char *data;
    size_t len;
    struct art_attr *attrs; /* sorted by key */
    size_t n_attrs, cap_attrs;
    struct temper_package *pkgs;
    size_t n_pkgs, cap_pkgs;
};

struct temper_artifact *temper_artifact_new(enum temper_art_type type, const char *name)
{
    struct temper_artifact *a = calloc(1, sizeof *a);
    if (!a) {
        return NULL;
    }
    a->type = type;
    a->name = strdup(name ? name : "");
    if (!a->name) {
        free(a);
        return NULL;
    }
    return a;
}

/* The string fields of struct temper_package, in order. */
#define PKG_FIELDS(X) X(name) X(version) X(arch) X(source) X(source_version) \
    X(distribution) X(purl) X(sha256) X(license) X(supplier) X(url)

static void pkg_cleanup(struct temper_package *p)
{
#define FREE_FIELD(f) free((char *)p->f);
    PKG_FIELDS(FREE_FIELD)
#undef FREE_FIELD
}

void temper_artifact_free(struct temper_artifact *a)
{
    if (!a) {
        return;
    }
    for (size_t i = 0; i < a->n_attrs; i++) {
        free(a->attrs[i].key);
        free(a->attrs[i].value);
    }
    for (size_t i = 0; i < a->n_pkgs; i++) {
        pkg_cleanup(&a->pkgs[i]);
    }
    free(a->attrs);
    free(a->pkgs);
    free(a->name);
    free(a->path);
    free(a->data);
    free(a);
}

enum temper_art_type temper_artifact_type(const struct temper_artifact *a)
{
    return a->type;
}

const char *temper_artifact_name(const struct temper_artifact *a)
{
    return a->name;
}

/* Index of key, or of the insertion point with *found = 0. */
static size_t attr_find(const struct temper_artifact *a, const char *key, int *found)
{
    size_t lo = 0, hi = a->n_attrs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a->attrs[mid].key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = 0;
    return lo;
}

static int attr_insert(struct temper_artifact *a, size_t at, const char *key,
                       const char *value)
{
    if (a->n_attrs >= ART_MAX_ATTRS) {
        return TEMPER_ELIMIT;
    }
    if (a->n_attrs == a->cap_attrs) {
        size_t ncap = a->cap_attrs ? a->cap_attrs * 2 : 8;
        struct art_attr *n = realloc(a->attrs, ncap * sizeof *n);
        if (!n) {
            return TEMPER_ENOMEM;
        }
        a->attrs = n;
        a->cap_attrs = ncap;
    }
    char *k = strdup(key);
    char *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return TEMPER_ENOMEM;
    }
    memmove(&a->attrs[at + 1], &a->attrs[at], (a->n_attrs - at) * sizeof *a->attrs);
    a->attrs[at].key = k;
    a->attrs[at].value = v;
    a->n_attrs++;
    return TEMPER_OK;
}

int temper_artifact_set(struct temper_artifact *a, const char *key, const char *value)
{
    if (!a || !key || !*key) {
        return TEMPER_EINVAL;
    }
    int found;
    size_t i = attr_find(a, key, &found);
    if (!found) {
        return value ? attr_insert(a, i, key, value) : TEMPER_OK;
    }
    if (!value) {
        free(a->attrs[i].key);
        free(a->attrs[i].value);
        memmove(&a->attrs[i], &a->attrs[i + 1], (a->n_attrs - i - 1) * sizeof *a->attrs);
        a->n_attrs--;
        return TEMPER_OK;
    }
    char *v = strdup(value);
    if (!v) {
        return TEMPER_ENOMEM;
    }
    free(a->attrs[i].value);
    a->attrs[i].value = v;
    return TEMPER_OK;
}

int temper_artifact_setf(struct temper_artifact *a, const char *key, const char *fmt, ...)
{
    struct temper_buf b;
    temper_buf_init(&b, 1 << 20);
    va_list ap;
    va_start(ap, fmt);
    int rc = temper_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, key, b.data ? b.data : "");
    }
    temper_buf_cleanup(&b);
    return rc;
}

const char *temper_artifact_get(const struct temper_artifact *a, const char *key)
{
    if (!a || !key) {
        return NULL;
    }
    int found;
    size_t i = attr_find(a, key, &found);
    return found ? a->attrs[i].value : NULL;
}

size_t temper_artifact_attr_count(const struct temper_artifact *a)
{
    return a ? a->n_attrs : 0;
}

int temper_artifact_attr_at(const struct temper_artifact *a, size_t i, const char **key,
                            const char **value)
{
    if (!a || i >= a->n_attrs) {
        return TEMPER_ENOTFOUND;
    }
    if (key) {
        *key = a->attrs[i].key;
    }
    if (value) {
        *value = a->attrs[i].value;
    }
    return TEMPER_OK;
}

int temper_artifact_set_path(struct temper_artifact *a, const char *path)
{
    char *p = NULL;
    if (!a) {
        return TEMPER_EINVAL;
    }
    if (path) {
        p = strdup(path);
        if (!p) {
            return TEMPER_ENOMEM;
        }
    }
    free(a->path);
    a->path = p;
    return TEMPER_OK;
}

const char *temper_artifact_path(const struct temper_artifact *a)
{
    return a ? a->path : NULL;
}

int temper_artifact_take_data(struct temper_artifact *a, void *data, size_t len)
{
    if (!a || len == SIZE_MAX) {
        free(data);
        return TEMPER_EINVAL;
    }
    /* keep the documented NUL terminator */
    unsigned char *p = realloc(data, len + 1);
    if (!p) {
        free(data);
        return TEMPER_ENOMEM;
    }
    p[len] = '\0';
    free(a->data);
    a->data = p;
    a->len = len;
    return TEMPER_OK;
}

int temper_artifact_set_data(struct temper_artifact *a, const void *data, size_t len)
{
    if (!a || len == SIZE_MAX || (!data && len)) {
        return TEMPER_EINVAL;
    }
    unsigned char *p = malloc(len + 1);
    if (!p) {
        return TEMPER_ENOMEM;
    }
    if (len) {
        memcpy(p, data, len);
    }
    return temper_artifact_take_data(a, p, len);
}

const void *temper_artifact_data(const struct temper_artifact *a, size_t *len)
{
    if (len) {
        *len = a && a->data ? a->len : 0;
    }
    return a ? a->data : NULL;
}

static int dup_field(const char *src, const char **dst)
{
    *dst = NULL;
    if (!src) {
        return TEMPER_OK;
    }
    *dst = strdup(src);
    return *dst ? TEMPER_OK : TEMPER_ENOMEM;
}

/* Copy the fields of p that lie within p->size. */
static int pkg_copy(struct temper_package *dst, const struct temper_package *p)
{
    memset(dst, 0, sizeof *dst);
    dst->size = sizeof *dst;
    int rc = TEMPER_OK;
#define COPY_FIELD(f)                                                       \
    if (rc == TEMPER_OK && p->size >= offsetof(struct temper_package, f) + \
                                          sizeof(p->f)) {                   \
        rc = dup_field(p->f, &dst->f);                                      \
    }
    PKG_FIELDS(COPY_FIELD)
#undef COPY_FIELD
    if (rc != TEMPER_OK) {
        pkg_cleanup(dst);
    }
    return rc;
}

int temper_artifact_add_package(struct temper_artifact *a, const struct temper_package *p)
{
    if (!a || !p || p->size < offsetof(struct temper_package, version) + sizeof(char *) ||
        !p->name) {
        return TEMPER_EINVAL;
    }
    if (a->n_pkgs >= ART_MAX_PACKAGES) {
        return TEMPER_ELIMIT;
    }
    if (a->n_pkgs == a->cap_pkgs) {
        size_t ncap = a->cap_pkgs ? a->cap_pkgs * 2 : 16;
        struct temper_package *n = realloc(a->pkgs, ncap * sizeof *n);
        if (!n) {
            return TEMPER_ENOMEM;
        }
        a->pkgs = n;
        a->cap_pkgs = ncap;
    }
    int rc = pkg_copy(&a->pkgs[a->n_pkgs], p);
    if (rc == TEMPER_OK) {
        a->n_pkgs++;
    }
    return rc;
}

size_t temper_artifact_package_count(const struct temper_artifact *a)
{
    return a ? a->n_pkgs : 0;
}

const struct temper_package *temper_artifact_package(const struct temper_artifact *a,
                                                     size_t i)
{
    if (!a || i >= a->n_pkgs) {
        return NULL;
    }
    return &a->pkgs[i];
}

struct temper_artifact *temper_artifact_dup(const struct temper_artifact *a)
{
    if (!a) {
        return NULL;
    }
    struct temper_artifact *d = temper_artifact_new(a->type, a->name);
    if (!d) {
        return NULL;
    }
    int rc = temper_artifact_set_path(d, a->path);
    for (size_t i = 0; rc == TEMPER_OK && i < a->n_attrs; i++) {
        rc = temper_artifact_set(d, a->attrs[i].key, a->attrs[i].value);
    }
    if (rc == TEMPER_OK && a->data) {
        rc = temper_artifact_set_data(d, a->data, a->len);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < a->n_pkgs; i++) {
        rc = temper_artifact_add_package(d, &a->pkgs[i]);
    }
    if (rc != TEMPER_OK) {
        temper_artifact_free(d);
        return NULL;
    }
    return d;
}

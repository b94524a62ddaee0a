/* temper — publish tag templates (see core/tags.h). */
#include "config.h"
#include "tags.h"

#include <temper/buf.h>
#include <temper/rc.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define TAGS_MAX_TEMPLATES 64
#define PART_MAX 32

struct tag_vars {
    char version[TEMPER_TAG_MAX + 1];
    char part[3][PART_MAX]; /* major, minor, patch ("" when absent) */
    const char *variant;    /* NULL for the runtime variant */
};

static void vars_init(struct tag_vars *v, const char *version, const char *variant)
{
    memset(v, 0, sizeof *v);
    if (version && (version[0] == 'v' || version[0] == 'V') && isdigit((unsigned char)version[1])) {
        version++;
    }
    if (version && strlen(version) <= TEMPER_TAG_MAX) {
        memcpy(v->version, version, strlen(version) + 1);
    }
    const char *p = v->version;
    for (int i = 0; i < 3 && isdigit((unsigned char)*p); i++) {
        size_t n = strspn(p, "0123456789");
        if (n >= PART_MAX) {
            break;
        }
        memcpy(v->part[i], p, n);
        p += n;
        if (*p != '.') {
            break;
        }
        p++;
    }
    v->variant = variant && *variant && strcmp(variant, "runtime") != 0 ? variant : NULL;
}

/* Value of a placeholder; NULL when unknown, "" when it has no value. */
static const char *var_value(const struct tag_vars *v, const char *name, size_t len)
{
    static const char *const names[] = { "major", "minor", "patch" };
    if (len == 7 && memcmp(name, "version", 7) == 0) {
        return v->version;
    }
    if (len == 7 && memcmp(name, "variant", 7) == 0) {
        return v->variant ? v->variant : "";
    }
    for (int i = 0; i < 3; i++) {
        if (len == strlen(names[i]) && memcmp(name, names[i], len) == 0) {
            return v->part[i];
        }
    }
    return NULL;
}

/* One template into b; *skip when a placeholder has no value. */
static int expand_one(const struct tag_vars *v, const char *t, struct temper_buf *b, bool *skip,
                      char **err)
{
    bool uses_variant = false;
    *skip = false;
    for (const char *p = t; *p;) {
        if (*p != '{') {
            size_t n = strcspn(p, "{");
            int rc = temper_buf_append(b, p, n);
            if (rc != TEMPER_OK) {
                return rc;
            }
            p += n;
            continue;
        }
        const char *end = strchr(p, '}');
        const char *val = end ? var_value(v, p + 1, (size_t)(end - p - 1)) : NULL;
        if (!val) {
            *err = temper_strdupf("tag template '%s': %s", t,
                                  end ? "unknown placeholder (use {version} {major} {minor} "
                                        "{patch} {variant})"
                                      : "unclosed '{'");
            return TEMPER_EINVAL;
        }
        bool is_variant = (size_t)(end - p - 1) == 7 && memcmp(p + 1, "variant", 7) == 0;
        uses_variant = uses_variant || is_variant;
        if (!*val && !is_variant) {
            *skip = true;
        }
        int rc = temper_buf_puts(b, val);
        if (rc != TEMPER_OK) {
            return rc;
        }
        p = end + 1;
    }
    return !uses_variant && v->variant ? temper_buf_printf(b, "-%s", v->variant) : TEMPER_OK;
}

/* Make b a valid tag in place; TEMPER_EINVAL when empty or too long. */
static int sanitize(struct temper_buf *b)
{
    while (b->len > 0 && (b->data[b->len - 1] == '-' || b->data[b->len - 1] == '.')) {
        b->data[--b->len] = '\0'; /* "{version}-{variant}" of the runtime variant */
    }
    if (b->len == 0 || b->len > TEMPER_TAG_MAX) {
        return TEMPER_EINVAL;
    }
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)b->data[i];
        bool ok = isalnum(c) || c == '_' || (i > 0 && (c == '.' || c == '-'));
        if (!ok || c > 0x7f) {
            b->data[i] = '_';
        }
    }
    return TEMPER_OK;
}

static int push_unique(char ***out, size_t *n, const char *tag)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*out)[i], tag) == 0) {
            return TEMPER_OK;
        }
    }
    char **v = realloc(*out, (*n + 1) * sizeof *v);
    if (!v) {
        return TEMPER_ENOMEM;
    }
    *out = v;
    v[*n] = strdup(tag);
    if (!v[*n]) {
        return TEMPER_ENOMEM;
    }
    (*n)++;
    return TEMPER_OK;
}

int temper_tags_expand(const char *const *templates, size_t n, const char *version,
                       const char *variant, char ***out, size_t *n_out, char **err)
{
    static const char *const defaults[] = { "{version}", "{major}.{minor}", "{major}", "latest" };
    struct tag_vars v;
    struct temper_buf b;
    *out = NULL;
    *n_out = 0;
    *err = NULL;
    if (n == 0) {
        templates = defaults;
        n = sizeof defaults / sizeof *defaults;
    }
    if (n > TAGS_MAX_TEMPLATES) {
        *err = temper_strdupf("%zu tag templates: at most %d", n, TAGS_MAX_TEMPLATES);
        return TEMPER_EINVAL;
    }
    vars_init(&v, version, variant);
    temper_buf_init(&b, TEMPER_TAG_MAX * 4);
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        bool skip = false;
        temper_buf_reset(&b);
        rc = templates[i] ? expand_one(&v, templates[i], &b, &skip, err) : TEMPER_EINVAL;
        if (rc == TEMPER_OK && !skip && sanitize(&b) != TEMPER_OK) {
            *err = temper_strdupf("tag template '%s' gives an empty tag or one over %d bytes",
                                  templates[i], TEMPER_TAG_MAX);
            rc = TEMPER_EINVAL;
        }
        if (rc == TEMPER_OK && !skip) {
            rc = push_unique(out, n_out, b.data);
        }
    }
    temper_buf_cleanup(&b);
    if (rc == TEMPER_ELIMIT) {
        *err = temper_strdupf("a tag template expands to more than %d bytes", TEMPER_TAG_MAX);
        rc = TEMPER_EINVAL;
    }
    if (rc != TEMPER_OK) {
        temper_tags_free(*out, *n_out);
        *out = NULL;
        *n_out = 0;
    }
    return rc;
}

void temper_tags_free(char **tags, size_t n)
{
    for (size_t i = 0; tags && i < n; i++) {
        free(tags[i]);
    }
    free(tags);
}

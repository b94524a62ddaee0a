/* temper — registry references, tags, tag templates and WWW-Authenticate
 * challenges (include/temper/registry.h).  Pure functions, no I/O. */
#include "config.h"

#include <temper/registry.h>
#include <temper/buf.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHALLENGE_MAX 8192
#define CHALLENGE_PARAMS_MAX 32

static int is_alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static int component_valid(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1])) {
        return 0;
    }
    while (i < n) {
        if (is_alnum_lower(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && !is_alnum_lower(s[j])) {
            j++;
        }
        size_t sep = j - i;
        int ok = (sep == 1 && (s[i] == '.' || s[i] == '_' || s[i] == '-')) ||
                 (sep == 2 && s[i] == '_' && s[i + 1] == '_');
        for (size_t m = i; !ok && m < j && s[m] == '-'; m++) {
            ok = m + 1 == j;
        }
        if (!ok) {
            return 0;
        }
        i = j;
    }
    return 1;
}

int temper_registry_repo_valid(const char *repo)
{
    if (!repo) {
        return 0;
    }
    size_t n = strlen(repo);
    if (n == 0 || n > TEMPER_REGISTRY_REPO_MAX) {
        return 0;
    }
    const char *p = repo;
    for (int guard = 0; guard < 128; guard++) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (!component_valid(p, len)) {
            return 0;
        }
        if (!slash) {
            return 1;
        }
        p = slash + 1;
    }
    return 0;
}

int temper_registry_tag_valid(const char *tag)
{
    if (!tag || !tag[0]) {
        return 0;
    }
    size_t n = strlen(tag);
    if (n > TEMPER_REGISTRY_TAG_MAX || tag[0] == '.' || tag[0] == '-') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tag[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-') {
            return 0;
        }
    }
    return 1;
}

static int host_valid(const char *h, size_t n)
{
    size_t colon = n;
    if (n == 0 || n > TEMPER_REGISTRY_HOST_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == ':' && colon == n) {
            colon = i;
        } else if (colon != n ? !isdigit(c) : !(isalnum(c) || c == '.' || c == '-')) {
            return 0;
        }
    }
    if (colon == 0 || (colon != n && (n - colon - 1 == 0 || n - colon - 1 > 5))) {
        return 0;
    }
    if (h[0] == '-' || h[0] == '.' || h[colon - 1] == '-' || h[colon - 1] == '.') {
        return 0;
    }
    return colon != n || memchr(h, '.', n) || (n == 9 && memcmp(h, "localhost", 9) == 0);
}

int temper_registry_ref_parse(const char *s, struct temper_registry_ref *out)
{
    memset(out, 0, sizeof *out);
    if (!s || strlen(s) > 1024 || strstr(s, "://")) {
        return TEMPER_EINVAL;
    }
    const char *slash = strchr(s, '/');
    if (!slash || !host_valid(s, (size_t)(slash - s))) {
        return TEMPER_EINVAL;
    }
    memcpy(out->host, s, (size_t)(slash - s));
    const char *rest = slash + 1;
    const char *at = strchr(rest, '@');
    size_t name_len = at ? (size_t)(at - rest) : strlen(rest);
    if (at) {
        if (!temper_oci_digest_valid(at + 1)) {
            goto bad;
        }
        memcpy(out->digest, at + 1, TEMPER_DIGEST_STR_LEN - 1);
    }
    const char *last_slash = memchr(rest, '/', name_len) ? rest : NULL;
    for (size_t i = 0; last_slash && i < name_len; i++) {
        if (rest[i] == '/') {
            last_slash = rest + i;
        }
    }
    const char *colon = memchr(last_slash ? last_slash : rest, ':',
                               name_len - (size_t)((last_slash ? last_slash : rest) - rest));
    size_t repo_len = colon ? (size_t)(colon - rest) : name_len;
    if (repo_len > TEMPER_REGISTRY_REPO_MAX) {
        goto bad;
    }
    memcpy(out->repo, rest, repo_len);
    if (colon) {
        size_t tag_len = name_len - repo_len - 1;
        if (tag_len > TEMPER_REGISTRY_TAG_MAX) {
            goto bad;
        }
        memcpy(out->tag, colon + 1, tag_len);
        if (!temper_registry_tag_valid(out->tag)) {
            goto bad;
        }
    }
    if (!temper_registry_repo_valid(out->repo)) {
        goto bad;
    }
    return TEMPER_OK;
bad:
    memset(out, 0, sizeof *out);
    return TEMPER_EINVAL;
}

/* ---- tag templates ---------------------------------------------------------- */

/* A template whose placeholder has no value ({version} of an image without a
 * version, {minor} of version "7", {image} without a name) is SKIPPED, not an
 * error: a publish still moves the tags it can ("latest", literal tags), and
 * the caller logs the note.  Refusing the whole publish because one of
 * several templates does not apply to this image would only block images
 * that have no version (tracked by digest, distribution snapshots).  What
 * the template itself gets wrong (unknown placeholder, unclosed '{', a tag
 * that is empty or too long) is an error. */

#define TAG_PART_MAX 32

struct tag_vars {
    const char *image;
    const char *version;            /* leading 'v' dropped; "" when none */
    char part[3][TAG_PART_MAX];     /* major, minor, patch ("" when absent) */
    const char *variant;            /* "" for the runtime variant */
};

static void tag_vars_init(struct tag_vars *v, const char *image, const char *version,
                          const char *variant)
{
    memset(v, 0, sizeof *v);
    version = version ? version : "";
    if ((version[0] == 'v' || version[0] == 'V') && isdigit((unsigned char)version[1])) {
        version++;
    }
    v->image = image ? image : "";
    v->version = version;
    const char *p = version;
    for (int i = 0; i < 3 && isdigit((unsigned char)*p); i++) {
        size_t n = strspn(p, "0123456789");
        if (n >= TAG_PART_MAX) {
            break;
        }
        memcpy(v->part[i], p, n);
        p += n;
        if (*p != '.') {
            break;
        }
        p++;
    }
    v->variant = variant && strcmp(variant, "runtime") != 0 ? variant : "";
}

/* Value of a placeholder; NULL when unknown, "" when it has no value. */
static const char *tag_var(const struct tag_vars *v, const char *name, size_t len)
{
    static const char *const names[] = { "version", "major", "minor", "patch", "image",
                                         "variant" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i]) != len || memcmp(names[i], name, len) != 0) {
            continue;
        }
        switch (i) {
        case 0: return v->version;
        case 1: case 2: case 3: return v->part[i - 1];
        case 4: return v->image;
        default: return v->variant;
        }
    }
    return NULL;
}

/* The template into b; *missing = the first placeholder without a value. */
static int tag_fill(const struct tag_vars *v, const char *t, struct temper_buf *b,
                    char missing[16], char **note)
{
    bool uses_variant = false;
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
        size_t len = end ? (size_t)(end - p - 1) : 0;
        const char *val = end ? tag_var(v, p + 1, len) : NULL;
        if (!val) {
            *note = temper_strdupf("tag template '%s': %s", t,
                                   end ? "unknown placeholder (use {version} {major} {minor} "
                                         "{patch} {image} {variant})"
                                       : "unclosed '{'");
            return TEMPER_EINVAL;
        }
        bool is_variant = len == 7 && memcmp(p + 1, "variant", 7) == 0;
        uses_variant = uses_variant || is_variant;
        if (!*val && !is_variant && !missing[0]) {
            snprintf(missing, 16, "%.*s", (int)len, p + 1);
        }
        int rc = temper_buf_puts(b, val);
        if (rc != TEMPER_OK) {
            return rc;
        }
        p = end + 1;
    }
    return !uses_variant && *v->variant ? temper_buf_printf(b, "-%s", v->variant) : TEMPER_OK;
}

/* Make b a valid tag in place; TEMPER_EINVAL when empty or too long. */
static int tag_sanitize(struct temper_buf *b)
{
    while (b->len > 0 && (b->data[b->len - 1] == '-' || b->data[b->len - 1] == '.')) {
        b->data[--b->len] = '\0'; /* "{version}-{variant}" of the runtime variant */
    }
    if (b->len == 0 || b->len > TEMPER_REGISTRY_TAG_MAX) {
        return TEMPER_EINVAL;
    }
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)b->data[i];
        bool ok = c < 0x80 && (isalnum(c) || c == '_' || (i > 0 && (c == '.' || c == '-')));
        if (!ok) {
            b->data[i] = '_';
        }
    }
    return TEMPER_OK;
}

int temper_tag_template_expand(const char *tmpl, const char *image, const char *version,
                               const char *variant, char **out, char **note)
{
    struct tag_vars v;
    struct temper_buf b;
    char missing[16] = "";
    *out = NULL;
    *note = NULL;
    if (!tmpl) {
        return TEMPER_EINVAL;
    }
    tag_vars_init(&v, image, version, variant);
    temper_buf_init(&b, TEMPER_REGISTRY_TAG_MAX * 4);
    int rc = tag_fill(&v, tmpl, &b, missing, note);
    if (rc == TEMPER_OK && missing[0]) {
        *note = temper_strdupf("tag template '%s' skipped: no value for {%s} (version %s)",
                               tmpl, missing, *v.version ? v.version : "unknown");
        rc = *note ? TEMPER_OK : TEMPER_ENOMEM;
    } else if (rc == TEMPER_OK && tag_sanitize(&b) != TEMPER_OK) {
        *note = temper_strdupf("tag template '%s' gives an empty tag or one over %d bytes",
                               tmpl, TEMPER_REGISTRY_TAG_MAX);
        rc = TEMPER_EINVAL;
    } else if (rc == TEMPER_OK) {
        *out = temper_buf_take(&b, NULL);
        rc = *out ? TEMPER_OK : TEMPER_ENOMEM;
    } else if (rc == TEMPER_ELIMIT) {
        *note = temper_strdupf("tag template '%s' expands to more than %d bytes", tmpl,
                               TEMPER_REGISTRY_TAG_MAX);
        rc = TEMPER_EINVAL;
    }
    temper_buf_cleanup(&b);
    return rc;
}

int temper_tag_expand(const char *tmpl, const char *image, const char *version,
                      const char *variant, char **out)
{
    char *note = NULL;
    int rc = temper_tag_template_expand(tmpl, image, version, variant, out, &note);
    free(note);
    return rc == TEMPER_OK && !*out ? TEMPER_EINVAL : rc; /* skipped: no tag to give */
}

/* ---- WWW-Authenticate --------------------------------------------------------- */

struct lexer {
    const char *p;
};

static void skip_ows(struct lexer *lx)
{
    while (*lx->p == ' ' || *lx->p == '\t') {
        lx->p++;
    }
}

static size_t token_len(const char *p)
{
    size_t n = 0;
    while (p[n] && (isalnum((unsigned char)p[n]) || strchr("!#$%&'*+-.^_`|~", p[n]))) {
        n++;
    }
    return n;
}

/* A quoted-string or token value into b (unescaped). */
static int read_value(struct lexer *lx, struct temper_buf *b)
{
    temper_buf_reset(b);
    if (*lx->p != '"') {
        size_t n = token_len(lx->p);
        /* token68 values and bare tokens: also accept '/' ':' '=' */
        while (lx->p[n] && strchr("/:=", lx->p[n])) {
            n += 1 + token_len(lx->p + n + 1);
        }
        int rc = temper_buf_append(b, lx->p, n);
        lx->p += n;
        return rc;
    }
    lx->p++;
    while (*lx->p && *lx->p != '"') {
        if (*lx->p == '\\' && lx->p[1]) {
            lx->p++;
        }
        if (temper_buf_append(b, lx->p, 1) != TEMPER_OK) {
            return TEMPER_ELIMIT;
        }
        lx->p++;
    }
    if (*lx->p != '"') {
        return TEMPER_EFORMAT;
    }
    lx->p++;
    return b->data ? TEMPER_OK : temper_buf_puts(b, "");
}

void temper_registry_challenge_cleanup(struct temper_registry_challenge *c)
{
    if (!c) {
        return;
    }
    free(c->realm);
    free(c->service);
    free(c->scope);
    free(c->error);
    memset(c, 0, sizeof *c);
}

static int keep_param(struct temper_registry_challenge *c, const char *name, size_t n,
                      const char *value)
{
    char **slot = NULL;
    if (n == 5 && strncasecmp(name, "realm", 5) == 0) {
        slot = &c->realm;
    } else if (n == 7 && strncasecmp(name, "service", 7) == 0) {
        slot = &c->service;
    } else if (n == 5 && strncasecmp(name, "scope", 5) == 0) {
        slot = &c->scope;
    } else if (n == 5 && strncasecmp(name, "error", 5) == 0) {
        slot = &c->error;
    }
    if (!slot || *slot) {
        return TEMPER_OK;
    }
    *slot = strdup(value);
    return *slot ? TEMPER_OK : TEMPER_ENOMEM;
}

/* Parse challenges; keep the first one of scheme `want` in c.  Returns
 * TEMPER_OK when found, TEMPER_ENOTFOUND, TEMPER_EFORMAT. */
static int parse_for(const char *value, const char *want, struct temper_registry_challenge *c)
{
    struct lexer lx = { value };
    struct temper_buf v;
    int rc = TEMPER_ENOTFOUND, params = 0;
    bool in_want = false, found = false;
    temper_buf_init(&v, CHALLENGE_MAX);
    for (;;) {
        skip_ows(&lx);
        while (*lx.p == ',') {
            lx.p++;
            skip_ows(&lx);
        }
        if (!*lx.p) {
            break;
        }
        size_t n = token_len(lx.p);
        if (n == 0 || ++params > CHALLENGE_PARAMS_MAX) {
            rc = TEMPER_EFORMAT;
            goto out;
        }
        const char *name = lx.p;
        lx.p += n;
        skip_ows(&lx);
        if (*lx.p != '=') { /* a new challenge: scheme [params] */
            if (found) {
                break;
            }
            in_want = n == strlen(want) && strncasecmp(name, want, n) == 0;
            if (in_want) {
                found = true;
                memcpy(c->scheme, name, n);
            }
            continue;
        }
        lx.p++;
        skip_ows(&lx);
        int r = read_value(&lx, &v);
        if (r != TEMPER_OK) {
            rc = r == TEMPER_ELIMIT ? TEMPER_EFORMAT : r;
            goto out;
        }
        if (in_want && keep_param(c, name, n, v.data) != TEMPER_OK) {
            rc = TEMPER_ENOMEM;
            goto out;
        }
        skip_ows(&lx);
        if (*lx.p && *lx.p != ',') {
            rc = TEMPER_EFORMAT;
            goto out;
        }
    }
    rc = found ? TEMPER_OK : TEMPER_ENOTFOUND;
out:
    temper_buf_cleanup(&v);
    return rc;
}

int temper_registry_challenge_parse(const char *value, struct temper_registry_challenge *out)
{
    memset(out, 0, sizeof *out);
    if (!value || strlen(value) > CHALLENGE_MAX) {
        return TEMPER_EFORMAT;
    }
    int rc = parse_for(value, "Bearer", out);
    if (rc == TEMPER_ENOTFOUND) {
        temper_registry_challenge_cleanup(out);
        rc = parse_for(value, "Basic", out);
    }
    if (rc == TEMPER_OK && strcasecmp(out->scheme, "Bearer") == 0 && !out->realm) {
        rc = TEMPER_EFORMAT;
    }
    if (rc != TEMPER_OK) {
        temper_registry_challenge_cleanup(out);
    }
    return rc;
}

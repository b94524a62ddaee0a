/* temper — shared by suite_structure and suite_command (see suite_common.h). */
#include "config.h"
#include "suite_common.h"

#include <errno.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SC_MAX_NESTING 4     /* index -> index -> ... -> manifest */
#define SC_FIELD_MAX 64      /* a numeric passwd/group field */

/* ---- the image ---------------------------------------------------------- */

/* GOARCH of this machine. */
static const char *host_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__arm__)
    return "arm";
#elif defined(__i386__)
    return "386";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
    return "ppc64le";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
    return "unknown";
#endif
}

/* A descriptor for a digest that index.json does not list: its size from
 * the blob file. */
static int loose_descriptor(struct temper_stage *st, const struct temper_oci_layout *l,
                            const char *digest, const char *media_type,
                            struct temper_oci_descriptor *d)
{
    char *path = temper_oci_blob_path(l, digest);
    struct stat sb;
    int rc = TEMPER_OK;
    if (!path) {
        return temper_fail(st, TEMPER_EINVAL, "image digest '%s' is not a sha256 digest",
                           digest);
    }
    if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = temper_fail(st, TEMPER_ENOTFOUND, "%s: no blob %s", temper_oci_layout_path(l),
                         digest);
    } else if (sb.st_size > (off_t)TEMPER_OCI_MAX_JSON) {
        rc = temper_fail(st, TEMPER_ELIMIT, "%s: blob %s is too big for a manifest",
                         temper_oci_layout_path(l), digest);
    }
    free(path);
    if (rc == TEMPER_OK) {
        memcpy(d->digest, digest, strlen(digest) + 1);
        d->size = (long long)sb.st_size;
        d->media_type = media_type ? strdup(media_type) : NULL;
        rc = !media_type || d->media_type ? TEMPER_OK : TEMPER_ENOMEM;
    }
    return rc;
}

/* The descriptor the artifact names (a copy in *d). */
static int top_descriptor(struct temper_stage *st, const struct temper_artifact *art,
                          const struct temper_oci_layout *l, struct temper_oci_descriptor *d)
{
    const struct temper_oci_index *x = temper_oci_layout_index(l);
    const char *digest = temper_artifact_get(art, TEMPER_ATTR_DIGEST);
    const char *ref = temper_artifact_get(art, TEMPER_ATTR_REF);
    const struct temper_oci_descriptor *found = NULL;
    if (digest) {
        for (size_t i = 0; i < x->n_manifests && !found; i++) {
            found = strcmp(x->manifests[i].digest, digest) == 0 ? &x->manifests[i] : NULL;
        }
        if (!found) {
            return loose_descriptor(st, l, digest,
                                    temper_artifact_get(art, TEMPER_ATTR_MEDIA_TYPE), d);
        }
    } else if (ref) {
        int rc = temper_oci_layout_find(st, l, ref, &found);
        if (rc != TEMPER_OK) {
            return rc;
        }
    } else if (x->n_manifests == 1) {
        found = &x->manifests[0];
    } else {
        return temper_fail(st, TEMPER_EINVAL, "image %s names no digest or ref and %s/"
                           "index.json has %zu entries", temper_artifact_name(art),
                           temper_oci_layout_path(l), x->n_manifests);
    }
    return temper_oci_descriptor_copy(d, found);
}

static bool is_index(const struct temper_oci_descriptor *d, const char *json)
{
    if (d->media_type) {
        return strcmp(d->media_type, TEMPER_OCI_MT_INDEX) == 0 ||
               strcmp(d->media_type, TEMPER_DOCKER_MT_LIST) == 0;
    }
    return strstr(json, "\"manifests\"") != NULL && strstr(json, "\"layers\"") == NULL;
}

/* The manifest of an index to use (borrowed), or NULL. */
static const struct temper_oci_descriptor *pick(const struct temper_oci_index *x,
                                                bool host_only)
{
    for (size_t i = 0; i < x->n_manifests; i++) {
        const struct temper_oci_platform *p = x->manifests[i].platform;
        if (p && p->os && p->architecture && strcmp(p->os, "linux") == 0 &&
            strcmp(p->architecture, host_arch()) == 0) {
            return &x->manifests[i];
        }
    }
    return !host_only && x->n_manifests ? &x->manifests[0] : NULL;
}

/* Replace *d by the manifest an index blob chooses. */
static int descend(struct temper_stage *st, const struct sc_image *im,
                   struct temper_oci_descriptor *d, bool host_only)
{
    struct temper_oci_index x;
    memset(&x, 0, sizeof x);
    int rc = temper_oci_read_index(st, im->layout, d, &x);
    const struct temper_oci_descriptor *m = rc == TEMPER_OK ? pick(&x, host_only) : NULL;
    if (rc == TEMPER_OK && !m) {
        rc = temper_fail(st, TEMPER_ENOTFOUND, "%s: index %s has no image for linux/%s",
                         temper_oci_layout_path(im->layout), d->digest, host_arch());
    }
    if (rc == TEMPER_OK) {
        struct temper_oci_descriptor copy;
        memset(&copy, 0, sizeof copy);
        rc = temper_oci_descriptor_copy(&copy, m);
        if (rc == TEMPER_OK) {
            temper_oci_descriptor_cleanup(d);
            *d = copy;
        }
    }
    temper_oci_index_cleanup(&x);
    return rc;
}

/* Follow indexes down to a manifest and read it and its config. */
static int resolve(struct temper_stage *st, struct sc_image *im,
                   struct temper_oci_descriptor *d, bool host_only)
{
    for (int depth = 0; depth < SC_MAX_NESTING; depth++) {
        char *json = NULL;
        size_t len = 0;
        int rc = temper_oci_blob_read(st, im->layout, d, TEMPER_OCI_MAX_JSON, &json, &len);
        if (rc != TEMPER_OK) {
            return rc;
        }
        bool index = is_index(d, json);
        if (!index) {
            rc = temper_oci_manifest_parse(st, d->digest, json, len, &im->manifest);
        }
        free(json);
        if (index) {
            rc = descend(st, im, d, host_only);
            if (rc != TEMPER_OK) {
                return rc;
            }
            continue;
        }
        if (rc == TEMPER_OK) {
            memcpy(im->digest, d->digest, sizeof im->digest);
            rc = temper_oci_read_config(st, im->layout, &im->manifest.config, &im->config);
        }
        return rc;
    }
    return temper_fail(st, TEMPER_EFORMAT, "%s: image indexes nested deeper than %d",
                       temper_oci_layout_path(im->layout), SC_MAX_NESTING);
}

int sc_image_open(struct temper_stage *st, const struct temper_artifact *art, bool host_only,
                  struct sc_image *out)
{
    memset(out, 0, sizeof *out);
    const char *path = art ? temper_artifact_path(art) : NULL;
    if (!path) {
        return temper_fail(st, TEMPER_EINVAL, "image artifact %s has no layout directory",
                           art ? temper_artifact_name(art) : "(none)");
    }
    struct temper_oci_descriptor d;
    memset(&d, 0, sizeof d);
    int rc = temper_oci_layout_open(st, path, &out->layout);
    rc = rc == TEMPER_OK ? top_descriptor(st, art, out->layout, &d) : rc;
    rc = rc == TEMPER_OK ? resolve(st, out, &d, host_only) : rc;
    temper_oci_descriptor_cleanup(&d);
    if (rc == TEMPER_OK) {
        const char *os = out->config.os ? out->config.os : "?";
        const char *arch = out->config.architecture ? out->config.architecture : "?";
        if (snprintf(out->platform, sizeof out->platform, "%s/%s", os, arch) >=
            (int)sizeof out->platform) {
            out->platform[sizeof out->platform - 1] = '\0';
        }
    }
    if (rc == TEMPER_ENOMEM && !temper_stage_error(st)) {
        rc = temper_fail(st, rc, "%s: out of memory", path);
    }
    if (rc != TEMPER_OK) {
        sc_image_cleanup(out);
    }
    return rc;
}

void sc_image_cleanup(struct sc_image *im)
{
    if (!im) {
        return;
    }
    temper_oci_manifest_cleanup(&im->manifest);
    temper_oci_config_cleanup(&im->config);
    temper_oci_layout_free(im->layout);
    memset(im, 0, sizeof *im);
}

int sc_layer_blob(struct temper_stage *st, const struct sc_image *im, size_t i, char **path)
{
    *path = NULL;
    const struct temper_oci_descriptor *d = &im->manifest.layers[i];
    int rc = temper_oci_blob_verify(st, im->layout, d);
    if (rc != TEMPER_OK) {
        return rc;
    }
    *path = temper_oci_blob_path(im->layout, d->digest);
    return *path ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "out of memory");
}

/* ---- users ---------------------------------------------------------------- */

int sc_user_split(const char *spec, char **user, char **group)
{
    const char *colon = strchr(spec, ':');
    *user = colon ? strndup(spec, (size_t)(colon - spec)) : strdup(spec);
    *group = colon ? strdup(colon + 1) : NULL;
    if (!*user || (colon && !*group)) {
        TEMPER_FREE(*user);
        TEMPER_FREE(*group);
        return TEMPER_ENOMEM;
    }
    return TEMPER_OK;
}

static bool all_digits(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

/* Field `k` (0-based) of one ':'-separated line [p, end); *n its length. */
static const char *field(const char *p, const char *end, int k, size_t *n)
{
    for (int i = 0; i < k; i++) {
        const char *c = memchr(p, ':', (size_t)(end - p));
        if (!c) {
            return NULL;
        }
        p = c + 1;
    }
    const char *c = memchr(p, ':', (size_t)(end - p));
    *n = (size_t)((c ? c : end) - p);
    return p;
}

/* A numeric field as an id. */
static bool field_id(const char *p, const char *end, int k, unsigned long *out)
{
    size_t n = 0;
    const char *f = field(p, end, k, &n);
    char num[SC_FIELD_MAX];
    long long v = 0;
    if (!f || n == 0 || n >= sizeof num) {
        return false;
    }
    memcpy(num, f, n);
    num[n] = '\0';
    if (!all_digits(num) || temper_parse_ll(num, &v) != TEMPER_OK || v > 4294967295LL) {
        return false;
    }
    *out = (unsigned long)v;
    return true;
}

/* Does line [p, end) name `name` (or, numeric, carry it as its id in field
 * `idk`)? */
static bool line_is(const char *p, const char *end, const char *name, int idk)
{
    size_t n = 0;
    if (all_digits(name)) {
        unsigned long id = 0;
        long long want = -1;
        return temper_parse_ll(name, &want) == TEMPER_OK && field_id(p, end, idk, &id) &&
               (long long)id == want;
    }
    const char *f = field(p, end, 0, &n);
    return f && n == strlen(name) && memcmp(f, name, n) == 0;
}

/* The first line of a passwd/group text that matches; NULL when none. */
static const char *find_line(const char *text, size_t len, const char *name, int idk,
                             const char **end)
{
    const char *p = text, *stop = text + len;
    while (p < stop) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        const char *e = nl ? nl : stop;
        if (line_is(p, e, name, idk)) {
            *end = e;
            return p;
        }
        p = nl ? nl + 1 : stop;
    }
    return NULL;
}

int sc_passwd_find(const char *text, size_t len, const char *name, unsigned long *uid,
                   unsigned long *gid, char **home)
{
    const char *end = NULL;
    const char *p = text ? find_line(text, len, name, 2, &end) : NULL;
    if (home) {
        *home = NULL;
    }
    if (!p || !field_id(p, end, 2, uid) || !field_id(p, end, 3, gid)) {
        return 0;
    }
    size_t n = 0;
    const char *h = field(p, end, 5, &n);
    if (home && h && n > 0) {
        *home = strndup(h, n);
        if (!*home) {
            return TEMPER_ENOMEM;
        }
    }
    return 1;
}

int sc_group_find(const char *text, size_t len, const char *name, unsigned long *gid)
{
    const char *end = NULL;
    const char *p = text ? find_line(text, len, name, 2, &end) : NULL;
    return p && field_id(p, end, 2, gid) ? 1 : 0;
}

/* ---- patterns ------------------------------------------------------------- */

static int add_reason(struct temper_buf *why, const char *what, const char *verb,
                      const char *re)
{
    int rc = why->len ? temper_buf_puts(why, "; ") : TEMPER_OK;
    rc = rc == TEMPER_OK ? temper_buf_printf(why, "%s %s /%s/", what, verb, re) : rc;
    return rc == TEMPER_ELIMIT ? TEMPER_OK : rc;
}

/* 1 match, 0 no match, TEMPER_EINVAL when re does not compile. */
static int match_one(const char *re, const char *text, struct temper_buf *why)
{
    regex_t rx;
    int e = regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB);
    if (e != 0) {
        char msg[128];
        regerror(e, &rx, msg, sizeof msg);
        temper_buf_reset(why);
        return temper_buf_printf(why, "bad regular expression /%s/: %s", re, msg) == TEMPER_OK
                   ? TEMPER_EINVAL
                   : TEMPER_ENOMEM;
    }
    int m = regexec(&rx, text, 0, NULL, 0) == 0;
    regfree(&rx);
    return m;
}

int sc_patterns(const struct temper_strlist *expected, const struct temper_strlist *excluded,
                const char *what, const char *text, size_t len, struct temper_buf *why)
{
    char *copy = malloc(len + 1);
    if (!copy) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < len; i++) {
        copy[i] = text[i] ? text[i] : '\n';
    }
    copy[len] = '\0';
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && expected && i < expected->n; i++) {
        int m = match_one(expected->v[i], copy, why);
        rc = m < 0 ? m : (m ? TEMPER_OK : add_reason(why, what, "lacks",
                                                     expected->v[i]));
    }
    for (size_t i = 0; rc == TEMPER_OK && excluded && i < excluded->n; i++) {
        int m = match_one(excluded->v[i], copy, why);
        rc = m < 0 ? m : (m ? add_reason(why, what, "matches excluded",
                                         excluded->v[i]) : TEMPER_OK);
    }
    free(copy);
    return rc;
}

int sc_why(struct temper_buf *why, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int frc = temper_buf_vprintf(why, fmt, ap);
    va_end(ap);
    return frc == TEMPER_ENOMEM ? frc : rc;
}

int sc_glob_any(const struct temper_strlist *patterns, const char *path)
{
    for (size_t i = 0; patterns && i < patterns->n; i++) {
        if (fnmatch(patterns->v[i], path, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- cases ---------------------------------------------------------------- */

long long sc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sc_case(struct temper_stage *st, const char *suite, const char *name,
            enum temper_case_status status, long long t0, const char *message,
            const char *output)
{
    struct temper_case c = {
        .size = sizeof c, .suite = suite, .name = name, .status = status,
        .duration_ms = sc_now_ms() - t0, .message = message, .output = output,
    };
    int rc = temper_stage_case(st, &c);
    return rc == TEMPER_OK ? rc : temper_fail(st, rc, "cannot record case %s", name);
}

enum temper_verdict sc_verdict(const struct temper_stage *st, size_t first)
{
    for (size_t i = first; i < temper_stage_case_count(st); i++) {
        enum temper_case_status s = temper_stage_case_at(st, i)->status;
        if (s == TEMPER_CASE_FAILED || s == TEMPER_CASE_ERROR) {
            return TEMPER_VERDICT_BLOCK;
        }
    }
    return TEMPER_VERDICT_PASS;
}

int sc_paths_add(struct sc_paths *p, const char *fmt, ...)
{
    p->n++;
    if (p->n > SC_PATHS_SHOWN) {
        return TEMPER_OK;
    }
    struct temper_buf b;
    temper_buf_init(&b, 4096 + 256);
    va_list ap;
    va_start(ap, fmt);
    int rc = temper_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (rc == TEMPER_ELIMIT) {
        rc = TEMPER_OK;
    }
    p->v[p->n - 1] = rc == TEMPER_OK ? temper_buf_take(&b, NULL) : NULL;
    temper_buf_cleanup(&b);
    return rc == TEMPER_OK && !p->v[p->n - 1] ? TEMPER_ENOMEM : rc;
}

int sc_paths_join(const struct sc_paths *p, struct temper_buf *b)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < p->n && i < SC_PATHS_SHOWN; i++) {
        rc = temper_buf_printf(b, "%s%s", i ? ", " : "", p->v[i] ? p->v[i] : "?");
    }
    if (rc == TEMPER_OK && p->n > SC_PATHS_SHOWN) {
        rc = temper_buf_printf(b, " (and %zu more)", p->n - SC_PATHS_SHOWN);
    }
    return rc;
}

void sc_paths_cleanup(struct sc_paths *p)
{
    for (size_t i = 0; i < p->n && i < SC_PATHS_SHOWN; i++) {
        free(p->v[i]);
    }
    memset(p, 0, sizeof *p);
}

/* temper — OCI model: containers, cleanup, copies, validators, sha256. */
#include "config.h"
#include "oci_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- sha256 ------------------------------------------------------------- */

int oci_sha256_digest(struct temper_sha256 *h, char digest[TEMPER_DIGEST_STR_LEN])
{
    memcpy(digest, "sha256:", 7);
    temper_sha256_final(h, NULL, digest + 7);
    return digest[7] ? TEMPER_OK : TEMPER_ECRYPTO;
}

int oci_digest_of(const void *p, size_t n, char digest[TEMPER_DIGEST_STR_LEN])
{
    memcpy(digest, "sha256:", 7);
    return temper_sha256_hex(p, n, digest + 7) == TEMPER_OK ? TEMPER_OK : TEMPER_ECRYPTO;
}

/* ---- validators ------------------------------------------------------------ */

int temper_oci_digest_valid(const char *s)
{
    if (!s || strncmp(s, "sha256:", 7) != 0) {
        return 0;
    }
    const char *p = s + 7;
    size_t i = 0;
    for (; p[i]; i++) {
        int hex = (p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f');
        if (!hex || i >= TEMPER_SHA256_HEX_LEN) {
            return 0;
        }
    }
    return i == TEMPER_SHA256_HEX_LEN;
}

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_sep(char c)
{
    return c == '-' || c == '.' || c == '_' || c == ':' || c == '@' || c == '+';
}

int temper_oci_ref_valid(const char *s)
{
    if (!s || !*s || strlen(s) > 255) {
        return 0;
    }
    /* component ::= alphanum (separator alphanum)*, separator ::= [-._:@+] | "--" */
    const char *p = s;
    for (;;) {
        if (!is_alnum(*p)) {
            return 0;
        }
        while (is_alnum(*p)) {
            p++;
        }
        if (*p == '\0') {
            return 1;
        }
        if (*p == '/') {
            p++;
        } else if (p[0] == '-' && p[1] == '-') {
            p += 2;
        } else if (is_sep(*p)) {
            p++;
        } else {
            return 0;
        }
    }
}

int temper_oci_time_format(long long t, char out[32])
{
    out[0] = '\0';
    if (t < 0 || t > 253402300799LL) {
        return TEMPER_EINVAL;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        return TEMPER_EINVAL;
    }
    if (strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        out[0] = '\0';
        return TEMPER_EINVAL;
    }
    return TEMPER_OK;
}

/* ---- containers ------------------------------------------------------------ */

int oci_strdup(char **dst, const char *s)
{
    *dst = NULL;
    if (!s) {
        return TEMPER_OK;
    }
    *dst = strdup(s);
    return *dst ? TEMPER_OK : TEMPER_ENOMEM;
}

static size_t map_find(const struct temper_oci_map *m, const char *key, int *found)
{
    size_t lo = 0, hi = m->n;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->v[mid].key, key);
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
    return lo;
}

static void map_remove(struct temper_oci_map *m, size_t i)
{
    free(m->v[i].key);
    free(m->v[i].value);
    memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof m->v[0]);
    m->n--;
}

int temper_oci_map_set(struct temper_oci_map *m, const char *key, const char *value)
{
    if (!m || !key) {
        return TEMPER_EINVAL;
    }
    int found;
    size_t i = map_find(m, key, &found);
    if (!value) {
        if (found) {
            map_remove(m, i);
        }
        return TEMPER_OK;
    }
    char *v = strdup(value);
    if (!v) {
        return TEMPER_ENOMEM;
    }
    if (found) {
        free(m->v[i].value);
        m->v[i].value = v;
        return TEMPER_OK;
    }
    char *k = strdup(key);
    struct temper_oci_map_entry *nv = NULL;
    if (k && m->n < TEMPER_OCI_MAX_ITEMS) {
        nv = realloc(m->v, (m->n + 1) * sizeof *nv);
    }
    if (!nv) {
        int rc = (k && m->n >= TEMPER_OCI_MAX_ITEMS) ? TEMPER_ELIMIT : TEMPER_ENOMEM;
        free(k);
        free(v);
        return rc;
    }
    m->v = nv;
    memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof m->v[0]);
    m->v[i].key = k;
    m->v[i].value = v;
    m->n++;
    return TEMPER_OK;
}

const char *temper_oci_map_get(const struct temper_oci_map *m, const char *key)
{
    if (!m || !key || m->n == 0) {
        return NULL;
    }
    int found;
    size_t i = map_find(m, key, &found);
    return found ? m->v[i].value : NULL;
}

void temper_oci_map_cleanup(struct temper_oci_map *m)
{
    if (!m) {
        return;
    }
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].value);
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

int oci_map_copy(struct temper_oci_map *dst, const struct temper_oci_map *src)
{
    for (size_t i = 0; src && i < src->n; i++) {
        int rc = temper_oci_map_set(dst, src->v[i].key, src->v[i].value);
        if (rc != TEMPER_OK) {
            return rc;
        }
    }
    return TEMPER_OK;
}

int temper_oci_list_push(struct temper_strlist *l, const char *s)
{
    if (!l || !s) {
        return TEMPER_EINVAL;
    }
    if (l->n >= TEMPER_OCI_MAX_ITEMS) {
        return TEMPER_ELIMIT;
    }
    char *c = strdup(s);
    char **nv = c ? realloc(l->v, (l->n + 2) * sizeof *nv) : NULL;
    if (!nv) {
        free(c);
        return TEMPER_ENOMEM;
    }
    l->v = nv;
    l->v[l->n++] = c;
    l->v[l->n] = NULL;
    return TEMPER_OK;
}

void temper_oci_list_cleanup(struct temper_strlist *l)
{
    if (!l) {
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int oci_list_copy(struct temper_strlist *dst, const struct temper_strlist *src)
{
    for (size_t i = 0; src && i < src->n; i++) {
        int rc = temper_oci_list_push(dst, src->v[i]);
        if (rc != TEMPER_OK) {
            return rc;
        }
    }
    return TEMPER_OK;
}

/* ---- cleanup --------------------------------------------------------------- */

void temper_oci_platform_cleanup(struct temper_oci_platform *p)
{
    if (!p) {
        return;
    }
    free(p->architecture);
    free(p->os);
    free(p->os_version);
    temper_oci_list_cleanup(&p->os_features);
    free(p->variant);
    memset(p, 0, sizeof *p);
}

void temper_oci_descriptor_cleanup(struct temper_oci_descriptor *d)
{
    if (!d) {
        return;
    }
    free(d->media_type);
    temper_oci_list_cleanup(&d->urls);
    temper_oci_map_cleanup(&d->annotations);
    free(d->data);
    if (d->platform) {
        temper_oci_platform_cleanup(d->platform);
        free(d->platform);
    }
    free(d->artifact_type);
    memset(d, 0, sizeof *d);
}

static void desc_array_free(struct temper_oci_descriptor *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        temper_oci_descriptor_cleanup(&v[i]);
    }
    free(v);
}

static void desc_free(struct temper_oci_descriptor *d)
{
    if (d) {
        temper_oci_descriptor_cleanup(d);
        free(d);
    }
}

void temper_oci_manifest_cleanup(struct temper_oci_manifest *m)
{
    if (!m) {
        return;
    }
    free(m->media_type);
    free(m->artifact_type);
    temper_oci_descriptor_cleanup(&m->config);
    desc_array_free(m->layers, m->n_layers);
    desc_free(m->subject);
    temper_oci_map_cleanup(&m->annotations);
    memset(m, 0, sizeof *m);
}

void temper_oci_index_cleanup(struct temper_oci_index *x)
{
    if (!x) {
        return;
    }
    free(x->media_type);
    free(x->artifact_type);
    desc_array_free(x->manifests, x->n_manifests);
    desc_free(x->subject);
    temper_oci_map_cleanup(&x->annotations);
    memset(x, 0, sizeof *x);
}

void temper_oci_config_cleanup(struct temper_oci_config *c)
{
    if (!c) {
        return;
    }
    char **strs[] = { &c->created, &c->author, &c->architecture, &c->os, &c->os_version,
                      &c->variant, &c->user, &c->working_dir, &c->stop_signal };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        free(*strs[i]);
    }
    struct temper_strlist *lists[] = { &c->os_features, &c->exposed_ports, &c->env,
                                       &c->entrypoint, &c->cmd, &c->volumes, &c->diff_ids };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        temper_oci_list_cleanup(lists[i]);
    }
    temper_oci_map_cleanup(&c->labels);
    for (size_t i = 0; c->history && i < c->n_history; i++) {
        free(c->history[i].created);
        free(c->history[i].created_by);
        free(c->history[i].author);
        free(c->history[i].comment);
    }
    free(c->history);
    memset(c, 0, sizeof *c);
}

/* ---- copies ------------------------------------------------------------------ */

static int platform_copy(struct temper_oci_platform **dst, const struct temper_oci_platform *src)
{
    *dst = NULL;
    if (!src) {
        return TEMPER_OK;
    }
    struct temper_oci_platform *p = calloc(1, sizeof *p);
    if (!p) {
        return TEMPER_ENOMEM;
    }
    *dst = p; /* freed by the caller's descriptor cleanup on error */
    int rc = oci_strdup(&p->architecture, src->architecture);
    if (rc == TEMPER_OK) {
        rc = oci_strdup(&p->os, src->os);
    }
    if (rc == TEMPER_OK) {
        rc = oci_strdup(&p->os_version, src->os_version);
    }
    if (rc == TEMPER_OK) {
        rc = oci_strdup(&p->variant, src->variant);
    }
    if (rc == TEMPER_OK) {
        rc = oci_list_copy(&p->os_features, &src->os_features);
    }
    return rc;
}

int temper_oci_descriptor_copy(struct temper_oci_descriptor *dst,
                               const struct temper_oci_descriptor *src)
{
    temper_oci_descriptor_cleanup(dst);
    if (!src) {
        return TEMPER_EINVAL;
    }
    memcpy(dst->digest, src->digest, sizeof dst->digest);
    dst->size = src->size;
    int rc = oci_strdup(&dst->media_type, src->media_type);
    if (rc == TEMPER_OK) {
        rc = oci_list_copy(&dst->urls, &src->urls);
    }
    if (rc == TEMPER_OK) {
        rc = oci_map_copy(&dst->annotations, &src->annotations);
    }
    if (rc == TEMPER_OK) {
        rc = oci_strdup(&dst->data, src->data);
    }
    if (rc == TEMPER_OK) {
        rc = platform_copy(&dst->platform, src->platform);
    }
    if (rc == TEMPER_OK) {
        rc = oci_strdup(&dst->artifact_type, src->artifact_type);
    }
    if (rc != TEMPER_OK) {
        temper_oci_descriptor_cleanup(dst);
    }
    return rc;
}

int temper_oci_index_add(struct temper_oci_index *x, const struct temper_oci_descriptor *d)
{
    if (!x || !d) {
        return TEMPER_EINVAL;
    }
    if (x->n_manifests >= TEMPER_OCI_MAX_ITEMS) {
        return TEMPER_ELIMIT;
    }
    struct temper_oci_descriptor *nv =
        realloc(x->manifests, (x->n_manifests + 1) * sizeof *nv);
    if (!nv) {
        return TEMPER_ENOMEM;
    }
    x->manifests = nv;
    memset(&nv[x->n_manifests], 0, sizeof nv[0]);
    int rc = temper_oci_descriptor_copy(&nv[x->n_manifests], d);
    if (rc == TEMPER_OK) {
        x->n_manifests++;
    }
    return rc;
}

bool temper_oci_is_index_type(const char *mt)
{
    return mt && (strcmp(mt, TEMPER_OCI_MT_INDEX) == 0 || strcmp(mt, TEMPER_DOCKER_MT_LIST) == 0);
}

bool temper_oci_is_manifest_type(const char *mt)
{
    return mt &&
           (strcmp(mt, TEMPER_OCI_MT_MANIFEST) == 0 || strcmp(mt, TEMPER_DOCKER_MT_MANIFEST) == 0);
}

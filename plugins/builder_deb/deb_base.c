/* temper — builder_deb: an image on top of a base image.
 *
 * The base is the image the core hands over (the newest published build of
 * `base = image:NAME`), or `base = oci:DIR[:TAG|@DIGEST]`.  Its layers are
 * read once, keeping only what the new layer must agree with: the dpkg
 * database (var/lib/dpkg/status and status.d/, whiteouts applied layer by
 * layer), etc/passwd and etc/group (the new layer's copies must keep the
 * base's users), the usr-merge symlinks (bin -> usr/bin: a new layer must not
 * turn them back into directories) and etc/alpine-release (refused).
 *
 * The closure takes every installed base package, and what it Provides, as
 * present; a dependency the base's version does not meet is an error naming
 * both versions (deb_resolve.c): a base file is never replaced.  The new
 * layer carries the new packages, their status.d/info entries and a
 * var/lib/dpkg/status that is the sorted union of the base's stanzas and the
 * new ones, so the merged filesystem has one correct database.  The image
 * is the base's layers (same digests, blobs copied) plus the new one; the
 * config is the base's with the definition's user, env, entrypoint, cmd and
 * workdir applied, diff_ids and history appended, and the manifest names
 * the base (org.opencontainers.image.base.name/.digest). */
#include "config.h"
#include "deb.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STATUS_MAX (64u << 20)
#define STANZA_FILE_MAX (1u << 20)
#define ETC_MAX (4u << 20)

/* ---- reading the base's layers ------------------------------------------- */

static bool in_list(const char *s, const char *const *v)
{
    for (size_t i = 0; v[i]; i++) {
        if (strcmp(s, v[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int base_filter(void *ctx, const struct temper_oci_entry *e)
{
    static const char *const dirs[] = { "etc", "var", "var/lib", "var/lib/dpkg",
                                        "var/lib/dpkg/status.d", NULL };
    static const char *const files[] = { "etc/passwd", "etc/group", "etc/alpine-release",
                                         "var/lib/dpkg/status", NULL };
    static const char *const links[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32",
                                         NULL };
    (void)ctx;
    if (e->type == TEMPER_OCI_ENTRY_DIR) {
        return in_list(e->path, dirs) ? TEMPER_OCI_TREE_KEEP : TEMPER_OCI_TREE_SKIP;
    }
    if (e->type == TEMPER_OCI_ENTRY_SYMLINK) {
        return in_list(e->path, links) ? TEMPER_OCI_TREE_KEEP : TEMPER_OCI_TREE_SKIP;
    }
    if (e->type != TEMPER_OCI_ENTRY_FILE) {
        return TEMPER_OCI_TREE_SKIP;
    }
    const char *sd = "var/lib/dpkg/status.d/";
    bool in_sd = strncmp(e->path, sd, strlen(sd)) == 0 && !strchr(e->path + strlen(sd), '/');
    return in_sd || in_list(e->path, files) ? TEMPER_OCI_TREE_KEEP : TEMPER_OCI_TREE_SKIP;
}

static bool tar_layer(const char *mt)
{
    static const char *const tars[] = { TEMPER_OCI_MT_LAYER_TAR, TEMPER_OCI_MT_LAYER_GZIP,
                                        TEMPER_OCI_MT_LAYER_ZSTD, TEMPER_DOCKER_MT_LAYER_GZIP,
                                        NULL };
    return mt && in_list(mt, tars);
}

static int extract_layers(struct deb_build *b, const struct temper_oci_layout *l,
                          const struct temper_oci_manifest *m, const char *root)
{
    int rc = deb_mkdirs(b->st, root);
    for (size_t i = 0; rc == TEMPER_OK && i < m->n_layers; i++) {
        const struct temper_oci_descriptor *d = &m->layers[i];
        if (!tar_layer(d->media_type)) {
            return temper_fail(b->st, TEMPER_EFORMAT, "base %s: layer %s is %s, not a tar "
                               "layer", b->req->def->base ? b->req->def->base : "image",
                               d->digest, d->media_type ? d->media_type : "untyped");
        }
        char *blob = temper_oci_blob_path(l, d->digest);
        struct temper_oci_extract_opts o = { .size = sizeof o, .name = d->digest,
                                             .whiteouts = true, .fn = base_filter };
        rc = blob ? temper_oci_layer_extract(b->st, blob, root, &o) : TEMPER_ENOMEM;
        free(blob);
    }
    return rc;
}

/* ---- the base's packages ------------------------------------------------- */

static void basepkg_cleanup(struct deb_basepkg *p)
{
    char *f[] = { p->name, p->version, p->arch, p->source, p->source_version, p->maintainer,
                  p->stanza };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        free(f[i]);
    }
    temper_deps_free(p->provides);
    memset(p, 0, sizeof *p);
}

static char *field_dup(const struct temper_deb822_stanza *s, const char *name)
{
    const struct temper_deb822_field *f = temper_deb822_get(s, name);
    return f ? strdup(f->value) : NULL;
}

/* "src (1.2-3)" or "src" into source and source_version. */
static int source_of(struct deb_basepkg *p, const struct temper_deb822_stanza *s)
{
    const struct temper_deb822_field *f = temper_deb822_get(s, "Source");
    const char *v = f ? f->value : p->name;
    size_t n = strcspn(v, " (");
    const char *open = strchr(v, '(');
    const char *close = open ? strchr(open, ')') : NULL;
    p->source = strndup(v, n);
    p->source_version = open && close ? strndup(open + 1, (size_t)(close - open - 1))
                                      : strdup(p->version);
    return p->source && p->source_version ? TEMPER_OK : TEMPER_ENOMEM;
}

static int stanza_text(struct deb_basepkg *p, const struct temper_deb822_stanza *s)
{
    struct temper_buf t;
    temper_buf_init(&t, STANZA_FILE_MAX);
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < s->n_fields; i++) {
        const struct temper_deb822_field *f = &s->fields[i];
        rc = temper_buf_printf(&t, "%.*s: %s\n", (int)f->name_len, f->name, f->value);
    }
    p->stanza = rc == TEMPER_OK ? temper_buf_take(&t, NULL) : NULL;
    temper_buf_cleanup(&t);
    return p->stanza ? TEMPER_OK : rc == TEMPER_OK ? TEMPER_ENOMEM : rc;
}

static int provides_of(struct deb_build *b, struct deb_basepkg *p,
                       const struct temper_deb822_stanza *s)
{
    const struct temper_deb822_field *f = temper_deb822_get(s, "Provides");
    char *text = NULL;
    if (!f) {
        return TEMPER_OK;
    }
    int rc = temper_deb822_fold(f, &text);
    rc = rc == TEMPER_OK ? temper_deb_deps_parse(b->st, text, &p->provides) : rc;
    free(text);
    return rc;
}

/* Installed stanza -> one more package (others are skipped). */
static int add_stanza(struct deb_build *b, struct deb_base *x,
                      const struct temper_deb822_stanza *s, const char *what)
{
    const struct temper_deb822_field *st = temper_deb822_get(s, "Status");
    size_t sl = st ? strlen(st->value) : 0;
    if (st && (sl < 10 || strcmp(st->value + sl - 10, " installed") != 0)) {
        return TEMPER_OK; /* config-files, half-installed, ... */
    }
    if (x->n >= DEB_MAX_PACKAGES) {
        return temper_fail(b->st, TEMPER_ELIMIT, "%s: more than %d packages", what,
                           DEB_MAX_PACKAGES);
    }
    struct deb_basepkg *p = &x->v[x->n];
    memset(p, 0, sizeof *p);
    p->name = field_dup(s, "Package");
    p->version = field_dup(s, "Version");
    p->arch = field_dup(s, "Architecture");
    p->maintainer = field_dup(s, "Maintainer");
    if (!p->name || !p->version || !p->arch) {
        basepkg_cleanup(p);
        return temper_fail(b->st, TEMPER_EFORMAT, "%s: a stanza (line %lu) without Package, "
                           "Version or Architecture", what, s->line);
    }
    p->seq = x->n++;
    int rc = source_of(p, s);
    rc = rc == TEMPER_OK ? stanza_text(p, s) : rc;
    return rc == TEMPER_OK ? provides_of(b, p, s) : rc;
}

static int read_stanzas(struct deb_build *b, struct deb_base *x, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    bool sd = strstr(path, "status.d/") != NULL;
    int rc = temper_rootfs_read(b->st, x->root, path, sd ? STANZA_FILE_MAX : STATUS_MAX, &text,
                                &len);
    if (rc == TEMPER_ENOTFOUND) {
        return TEMPER_OK;
    }
    struct temper_deb822 *d = NULL;
    rc = rc == TEMPER_OK ? temper_deb822_open_mem(b->st, path, text, len, NULL, 0, &d) : rc;
    while (rc == TEMPER_OK) {
        const struct temper_deb822_stanza *s = NULL;
        rc = temper_deb822_next(d, &s);
        if (rc != TEMPER_OK || !s) {
            break;
        }
        rc = add_stanza(b, x, s, path);
    }
    temper_deb822_free(d);
    free(text);
    return rc;
}

static int cmp_basepkg(const void *a, const void *b)
{
    const struct deb_basepkg *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The status.d/ entries, sorted (the order files are read in). */
static int status_d_names(struct deb_build *b, const char *root, char ***out, size_t *n)
{
    char *dir = temper_strdupf("%s/var/lib/dpkg/status.d", root);
    DIR *dp = dir ? opendir(dir) : NULL;
    free(dir);
    *out = NULL;
    *n = 0;
    if (!dp) {
        return TEMPER_OK;
    }
    char **v = calloc(DEB_MAX_PACKAGES, sizeof *v);
    int rc = v ? TEMPER_OK : TEMPER_ENOMEM;
    for (struct dirent *e = v ? readdir(dp) : NULL; rc == TEMPER_OK && e; e = readdir(dp)) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || (l > 8 && strcmp(e->d_name + l - 8, ".md5sums") == 0)) {
            continue;
        }
        if (*n == DEB_MAX_PACKAGES) {
            rc = temper_fail(b->st, TEMPER_ELIMIT, "base: more than %d entries in "
                             "var/lib/dpkg/status.d", DEB_MAX_PACKAGES);
            break;
        }
        v[*n] = temper_strdupf("var/lib/dpkg/status.d/%s", e->d_name);
        rc = v[(*n)++] ? TEMPER_OK : TEMPER_ENOMEM;
    }
    closedir(dp);
    if (rc == TEMPER_OK && *n > 1) {
        qsort(v, *n, sizeof *v, cmp_name);
    }
    *out = v;
    return rc;
}

/* Sort by name; a name met twice is kept once, as the status file has it. */
static void dedupe(struct deb_base *x)
{
    if (x->n > 1) {
        qsort(x->v, x->n, sizeof *x->v, cmp_basepkg);
    }
    size_t u = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (u > 0 && strcmp(x->v[u - 1].name, x->v[i].name) == 0) {
            basepkg_cleanup(&x->v[i]);
            continue;
        }
        x->v[u++] = x->v[i];
    }
    x->n = u;
}

int deb_base_read(struct deb_build *b, const struct temper_oci_layout *l,
                  const struct temper_oci_manifest *m, struct deb_base *out)
{
    const char *wd = temper_stage_workdir(b->st);
    out->root = temper_strdupf("%s/base-%s-%s-%.12s", wd ? wd : b->s->cache, b->arch,
                               b->req->variant, out->digest + 7);
    out->v = calloc(DEB_MAX_PACKAGES, sizeof *out->v);
    int rc = out->root && out->v ? extract_layers(b, l, m, out->root) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && temper_rootfs_type(out->root, "etc/alpine-release") != 0) {
        return temper_fail(b->st, TEMPER_ENOTSUP, "image %s: the base %s is Alpine "
                           "(etc/alpine-release): Debian packages cannot be added to it",
                           b->req->def->name, out->name ? out->name : out->digest);
    }
    out->merged_usr = rc == TEMPER_OK && temper_rootfs_type(out->root, "bin") == S_IFLNK;
    rc = rc == TEMPER_OK ? read_stanzas(b, out, "var/lib/dpkg/status") : rc;
    char **names = NULL;
    size_t n = 0;
    rc = rc == TEMPER_OK ? status_d_names(b, out->root, &names, &n) : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = read_stanzas(b, out, names[i]);
    }
    for (size_t i = 0; names && i < n; i++) {
        free(names[i]);
    }
    free(names);
    if (rc == TEMPER_OK) {
        dedupe(out);
        TEMPER_LOG_INFO(b->st, "%s: the base %s has %zu packages%s", b->platform, out->digest,
                        out->n, out->merged_usr ? " (merged /usr)" : "");
    }
    return rc == TEMPER_ENOMEM && !temper_stage_error(b->st)
               ? temper_fail(b->st, rc, "out of memory")
               : rc;
}

void deb_base_cleanup(struct deb_base *x)
{
    for (size_t i = 0; x->v && i < x->n; i++) {
        basepkg_cleanup(&x->v[i]);
    }
    free(x->v);
    free(x->root);
    free(x->name);
    temper_oci_layout_free(x->l);
    temper_oci_descriptor_cleanup(&x->mdesc);
    temper_oci_manifest_cleanup(&x->m);
    temper_oci_config_cleanup(&x->cfg);
    memset(x, 0, sizeof *x);
}

const struct deb_basepkg *deb_base_find(const struct deb_base *x, const char *name)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(x->v[mid].name, name);
        if (c == 0) {
            return &x->v[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

int deb_base_satisfies(const struct deb_base *x, const struct temper_dep *d)
{
    const struct deb_basepkg *p = deb_base_find(x, d->name);
    if (p && temper_dep_version_ok(TEMPER_VSCHEME_DPKG, d, p->version)) {
        return 1;
    }
    for (size_t i = 0; i < x->n; i++) {
        const struct temper_deps *pv = x->v[i].provides;
        for (size_t k = 0; pv && k < pv->n; k++) {
            const struct temper_dep *v = &pv->v[k];
            if (strcmp(v->name, d->name) != 0) {
                continue;
            }
            if (d->op == TEMPER_DEP_ANY ||
                (v->op == TEMPER_DEP_EQ && v->version &&
                 temper_dep_version_ok(TEMPER_VSCHEME_DPKG, d, v->version))) {
                return 1;
            }
        }
    }
    return 0;
}

/* ---- the new layer --------------------------------------------------------- */

struct named {
    const char *name;
    const char *text;
};

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

int deb_base_status(struct deb_build *b, const struct deb_set *set, struct temper_buf *out)
{
    const struct deb_base *x = b->base;
    size_t n = x->n + set->n;
    struct named *v = calloc(n ? n : 1, sizeof *v);
    char **mine = calloc(set->n ? set->n : 1, sizeof *mine);
    int rc = v && mine ? TEMPER_OK : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && i < x->n; i++) {
        v[i] = (struct named){ x->v[i].name, x->v[i].stanza };
    }
    for (size_t i = 0; rc == TEMPER_OK && i < set->n; i++) {
        struct temper_buf s;
        temper_buf_init(&s, 0);
        rc = deb_stanza(&s, set->v[i].control);
        mine[i] = rc == TEMPER_OK ? temper_buf_take(&s, NULL) : NULL;
        temper_buf_cleanup(&s);
        rc = rc == TEMPER_OK && !mine[i] ? TEMPER_ENOMEM : rc;
        v[x->n + i] = (struct named){ set->v[i].name, mine[i] };
    }
    if (rc == TEMPER_OK && n > 1) {
        qsort(v, n, sizeof *v, cmp_named);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = i ? temper_buf_puts(out, "\n") : TEMPER_OK;
        rc = rc == TEMPER_OK ? temper_buf_puts(out, v[i].text) : rc;
    }
    for (size_t i = 0; mine && i < set->n; i++) {
        free(mine[i]);
    }
    free(mine);
    free(v);
    return rc;
}

int deb_base_prepare_root(struct deb_build *b, const char *root)
{
    static const char *const keep[] = { "etc/passwd", "etc/group", NULL };
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && keep[i]; i++) {
        char *text = NULL;
        size_t len = 0;
        rc = temper_rootfs_read(b->st, b->base->root, keep[i], ETC_MAX, &text, &len);
        if (rc == TEMPER_OK) {
            rc = temper_rootfs_write(b->st, root, keep[i], text, len, 0644);
        } else if (rc == TEMPER_ENOTFOUND) {
            rc = TEMPER_OK;
        }
        free(text);
    }
    return rc;
}

int deb_base_add_packages(const char *distribution, const struct deb_base *x,
                          struct temper_artifact *a)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < x->n; i++) {
        const struct deb_basepkg *p = &x->v[i];
        struct temper_package k = {
            .size = sizeof k, .name = p->name, .version = p->version, .arch = p->arch,
            .source = p->source, .source_version = p->source_version,
            .distribution = distribution, .supplier = p->maintainer,
        };
        rc = temper_artifact_add_package(a, &k);
    }
    return rc;
}

/* ---- builder_deb: opening the base ------------------------------------------ */

static bool platform_ok(const struct deb_build *b, const struct temper_oci_platform *p)
{
    return p && p->os && p->architecture && strcmp(p->os, "linux") == 0 &&
           strcmp(p->architecture, b->goarch) == 0 &&
           (!b->govariant[0] || (p->variant && strcmp(p->variant, b->govariant) == 0));
}

/* x->mdesc names a manifest or an index: make it the platform's manifest. */
static int pick_platform(struct deb_build *b, struct deb_base *x)
{
    if (!temper_oci_is_index_type(x->mdesc.media_type)) {
        return TEMPER_OK;
    }
    struct temper_oci_index idx;
    memset(&idx, 0, sizeof idx);
    int rc = temper_oci_read_index(b->st, x->l, &x->mdesc, &idx);
    const struct temper_oci_descriptor *hit = NULL;
    for (size_t i = 0; rc == TEMPER_OK && !hit && i < idx.n_manifests; i++) {
        hit = platform_ok(b, idx.manifests[i].platform) ? &idx.manifests[i] : NULL;
    }
    if (rc == TEMPER_OK && !hit) {
        rc = temper_fail(b->st, TEMPER_ENOTFOUND, "base %s: no manifest for %s in its index",
                         x->name, b->platform);
    }
    rc = rc == TEMPER_OK ? temper_oci_descriptor_copy(&x->mdesc, hit) : rc;
    temper_oci_index_cleanup(&idx);
    return rc;
}

static int open_layout(struct deb_build *b, struct deb_base *x)
{
    const struct temper_artifact *a = b->req->base;
    const char *ref = b->req->def->base;
    if (a) {
        const char *path = temper_artifact_path(a);
        const char *digest = temper_artifact_get(a, TEMPER_ATTR_DIGEST);
        if (!path || !digest) {
            return temper_fail(b->st, TEMPER_EINVAL, "base image %s has no layout or digest",
                               temper_artifact_name(a));
        }
        int rc = temper_oci_layout_open(b->st, path, &x->l);
        return rc == TEMPER_OK ? temper_oci_layout_describe(b->st, x->l, digest, &x->mdesc)
                               : rc;
    }
    if (strncmp(ref, "oci:", 4) == 0) {
        return temper_oci_layout_open_ref(b->st, ref, TEMPER_OCI_REF_LATEST, &x->l, &x->mdesc);
    }
    if (strncmp(ref, "image:", 6) == 0) {
        return temper_fail(b->st, TEMPER_ENOTFOUND, "image %s: base %s has no published build "
                           "yet: build and publish it first", b->req->def->name, ref);
    }
    return temper_fail(b->st, TEMPER_EINVAL, "image %s: base %s: builder_deb takes image:NAME "
                       "or oci:DIR[:TAG|@DIGEST]", b->req->def->name, ref);
}

int deb_base_open(struct deb_build *b, struct deb_base *out)
{
    memset(out, 0, sizeof *out);
    const char *name = b->req->def->base ? b->req->def->base
                                         : temper_artifact_name(b->req->base);
    out->name = strdup(name ? name : "base");
    int rc = out->name ? open_layout(b, out) : TEMPER_ENOMEM;
    rc = rc == TEMPER_OK ? pick_platform(b, out) : rc;
    rc = rc == TEMPER_OK ? temper_oci_read_manifest(b->st, out->l, &out->mdesc, &out->m) : rc;
    rc = rc == TEMPER_OK ? temper_oci_read_config(b->st, out->l, &out->m.config, &out->cfg) : rc;
    if (rc == TEMPER_OK && out->cfg.diff_ids.n != out->m.n_layers) {
        rc = temper_fail(b->st, TEMPER_EFORMAT, "base %s: config lists %zu diff_ids for %zu "
                         "layers", out->name, out->cfg.diff_ids.n, out->m.n_layers);
    }
    if (rc == TEMPER_OK) {
        snprintf(out->digest, sizeof out->digest, "%s", out->mdesc.digest);
        rc = deb_base_read(b, out->l, &out->m, out);
    }
    return rc == TEMPER_ENOMEM && !temper_stage_error(b->st)
               ? temper_fail(b->st, rc, "out of memory")
               : rc;
}

/* ---- builder_deb: the image on the base ------------------------------------- */

static int list_copy(struct temper_strlist *dst, const struct temper_strlist *src)
{
    temper_oci_list_cleanup(dst);
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < src->n; i++) {
        rc = temper_oci_list_push(dst, src->v[i]);
    }
    return rc;
}

static int str_copy(char **dst, const char *src)
{
    char *c = src ? strdup(src) : NULL;
    if (src && !c) {
        return TEMPER_ENOMEM;
    }
    free(*dst);
    *dst = c;
    return TEMPER_OK;
}

/* The base's Env with ours merged in by name (ours win). */
static int env_merge(struct temper_oci_config *cfg, const struct temper_strlist *base)
{
    struct temper_strlist env;
    memset(&env, 0, sizeof env);
    int rc = list_copy(&env, base);
    for (size_t i = 0; rc == TEMPER_OK && i < cfg->env.n; i++) {
        const char *kv = cfg->env.v[i];
        size_t kl = strcspn(kv, "=");
        bool done = false;
        for (size_t j = 0; j < env.n && !done; j++) {
            if (strncmp(env.v[j], kv, kl) == 0 && env.v[j][kl] == '=') {
                rc = str_copy(&env.v[j], kv);
                done = true;
            }
        }
        rc = rc == TEMPER_OK && !done ? temper_oci_list_push(&env, kv) : rc;
    }
    if (rc == TEMPER_OK) {
        temper_oci_list_cleanup(&cfg->env);
        cfg->env = env;
    } else {
        temper_oci_list_cleanup(&env);
    }
    return rc;
}

/* What the definition does not set comes from the base. */
static int exec_merge(const struct temper_image_def *d, struct temper_oci_config *cfg,
                      const struct temper_oci_config *bc)
{
    bool ep = d->entrypoint && d->entrypoint->n, cmd = d->cmd && d->cmd->n;
    int rc = d->user || !bc->user ? TEMPER_OK : str_copy(&cfg->user, bc->user);
    rc = rc == TEMPER_OK && !d->workdir && bc->working_dir
             ? str_copy(&cfg->working_dir, bc->working_dir)
             : rc;
    rc = rc == TEMPER_OK && !ep ? list_copy(&cfg->entrypoint, &bc->entrypoint) : rc;
    rc = rc == TEMPER_OK && !ep && !cmd ? list_copy(&cfg->cmd, &bc->cmd) : rc;
    rc = rc == TEMPER_OK ? env_merge(cfg, &bc->env) : rc;
    rc = rc == TEMPER_OK && !cfg->exposed_ports.n ? list_copy(&cfg->exposed_ports,
                                                              &bc->exposed_ports)
                                                  : rc;
    rc = rc == TEMPER_OK && !cfg->volumes.n ? list_copy(&cfg->volumes, &bc->volumes) : rc;
    rc = rc == TEMPER_OK && !cfg->stop_signal && bc->stop_signal
             ? str_copy(&cfg->stop_signal, bc->stop_signal)
             : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < bc->labels.n; i++) {
        const struct temper_oci_map_entry *e = &bc->labels.v[i];
        rc = temper_oci_map_get(&cfg->labels, e->key) ? TEMPER_OK
                                                      : temper_oci_map_set(&cfg->labels,
                                                                           e->key, e->value);
    }
    return rc;
}

/* The base's history, then ours. */
static int history_merge(struct temper_oci_config *cfg, const struct temper_oci_config *bc)
{
    size_t n = bc->n_history + cfg->n_history;
    struct temper_oci_history *h = calloc(n ? n : 1, sizeof *h);
    if (!h) {
        return TEMPER_ENOMEM;
    }
    int rc = TEMPER_OK;
    for (size_t i = 0; i < bc->n_history; i++) {
        const struct temper_oci_history *s = &bc->history[i];
        h[i].empty_layer = s->empty_layer;
        const char *src[] = { s->created, s->created_by, s->author, s->comment };
        char **dst[] = { &h[i].created, &h[i].created_by, &h[i].author, &h[i].comment };
        for (size_t k = 0; k < 4; k++) {
            rc = rc == TEMPER_OK ? str_copy(dst[k], src[k]) : rc;
        }
    }
    for (size_t i = 0; i < cfg->n_history; i++) {
        h[bc->n_history + i] = cfg->history[i];
    }
    free(cfg->history);
    cfg->history = h;
    cfg->n_history = n;
    return rc;
}

int deb_base_write(struct deb_build *b, struct temper_oci_layout *l,
                   struct temper_oci_config *cfg, struct temper_oci_map *ann,
                   const struct temper_oci_descriptor *layer, const char *diff_id,
                   const char *ref, struct temper_oci_descriptor *out)
{
    const struct deb_base *x = b->base;
    size_t n = x->m.n_layers + 1;
    struct temper_oci_descriptor *layers = calloc(n, sizeof *layers);
    const char **ids = calloc(n, sizeof *ids);
    int rc = layers && ids ? TEMPER_OK : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && i < x->m.n_layers; i++) {
        layers[i] = x->m.layers[i]; /* shallow: borrowed for the write */
        ids[i] = x->cfg.diff_ids.v[i];
    }
    if (rc == TEMPER_OK) {
        layers[n - 1] = *layer;
        ids[n - 1] = diff_id;
    }
    rc = rc == TEMPER_OK ? exec_merge(b->req->def, cfg, &x->cfg) : rc;
    rc = rc == TEMPER_OK ? history_merge(cfg, &x->cfg) : rc;
    rc = rc == TEMPER_OK ? temper_oci_map_set(ann, TEMPER_OCI_ANN_BASE_NAME, x->name) : rc;
    rc = rc == TEMPER_OK ? temper_oci_map_set(ann, TEMPER_OCI_ANN_BASE_DIGEST, x->digest) : rc;
    if (rc == TEMPER_OK) {
        temper_oci_list_cleanup(&cfg->diff_ids);
        rc = temper_oci_image_copy(b->st, x->l, l, &x->mdesc, false);
    }
    rc = rc == TEMPER_OK ? temper_oci_image_write(b->st, l, cfg, layers, ids, n, ann, ref, out)
                         : rc;
    free(layers);
    free(ids);
    return rc == TEMPER_ENOMEM && !temper_stage_error(b->st)
               ? temper_fail(b->st, rc, "out of memory")
               : rc;
}

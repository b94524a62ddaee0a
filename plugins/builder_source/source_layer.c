/* temper — builder_source: the runtime image (builder_deb's hardened base
 * of the runtime packages plus a layer of the staged files) and what the
 * image artifact records: the packages it contains, and the build inputs
 * that are not in it (tarball, patches, build dependencies) as
 * TEMPER_ATTR_BUILD_INPUTS for the provenance. */
#include "config.h"
#include "source.h"
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sel_ctx {
    const struct source_build *b;
    struct temper_harden *h;
};

static int cmp_pp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool selected(const struct temper_strlist *f, const char *path)
{
    return bsearch(&path, f->v, f->n, sizeof *f->v, cmp_pp) != NULL;
}

/* Keep selected files, and directories that hold one. */
static int sel_cb(void *ctx, struct temper_oci_entry *e, const char *src)
{
    struct sel_ctx *s = ctx;
    const struct temper_strlist *f = &s->b->files;
    bool keep = false;
    if (e->type == TEMPER_OCI_ENTRY_DIR) {
        size_t n = strlen(e->path);
        for (size_t i = 0; i < f->n && !keep; i++) {
            keep = strncmp(f->v[i], e->path, n) == 0 && f->v[i][n] == '/';
        }
    } else {
        keep = selected(f, e->path);
    }
    e->uid = e->gid = 0;
    return keep ? temper_harden_tree(s->h, e, src) : TEMPER_OCI_TREE_SKIP;
}

static int staged_layer(struct source_build *b, struct temper_oci_layout *l,
                        struct temper_oci_descriptor *desc, char *diff_id)
{
    struct temper_harden *h = NULL;
    struct temper_oci_layer *ly = NULL;
    int rc = temper_harden_new(b->st, &b->ic->deb.harden, b->req->variant, &h);
    struct temper_oci_layer_opts lo = { .size = sizeof lo,
                                        .compression = (enum temper_oci_compression)
                                                           b->ic->deb.compression,
                                        .source_date_epoch = b->epoch };
    rc = rc == TEMPER_OK ? temper_oci_layer_new(b->st, l, &lo, &ly) : rc;
    struct sel_ctx sc = { b, h };
    struct temper_oci_tree_opts to = { .size = sizeof to, .uname = "root", .gname = "root",
                                       .fn = sel_cb, .ctx = &sc };
    rc = rc == TEMPER_OK ? temper_oci_layer_add_tree(ly, b->staging, &to) : rc;
    rc = rc == TEMPER_OK ? temper_oci_layer_finish(ly, desc, diff_id) : rc;
    temper_oci_layer_free(ly);
    temper_harden_free(h);
    return rc;
}

static void drop_blob(const struct temper_oci_layout *l, const char *digest)
{
    char *p = temper_oci_blob_path(l, digest);
    if (p) {
        (void)unlink(p);
    }
    free(p);
}

/* The base image's manifest and config, plus the staged layer, as the
 * final image tagged ref; the base's own manifest and config blobs go. */
static int stack(struct source_build *b, struct temper_oci_layout *l,
                 const struct temper_oci_descriptor *base, const char *ref,
                 struct temper_oci_descriptor *out)
{
    struct temper_oci_manifest m;
    struct temper_oci_config cfg;
    struct temper_oci_descriptor *layers = NULL;
    const char **ids = NULL;
    char diff_id[TEMPER_DIGEST_STR_LEN];
    memset(&m, 0, sizeof m);
    memset(&cfg, 0, sizeof cfg);
    int rc = temper_oci_read_manifest(b->st, l, base, &m);
    rc = rc == TEMPER_OK ? temper_oci_read_config(b->st, l, &m.config, &cfg) : rc;
    if (rc == TEMPER_OK) {
        layers = calloc(m.n_layers + 1, sizeof *layers);
        ids = calloc(m.n_layers + 1, sizeof *ids);
        struct temper_oci_history *hv = realloc(cfg.history, (cfg.n_history + 1) * sizeof *hv);
        rc = layers && ids && hv && cfg.diff_ids.n == m.n_layers ? TEMPER_OK : TEMPER_ENOMEM;
        cfg.history = hv ? hv : cfg.history;
    }
    for (size_t i = 0; rc == TEMPER_OK && i < m.n_layers; i++) {
        rc = temper_oci_descriptor_copy(&layers[i], &m.layers[i]);
        ids[i] = cfg.diff_ids.v[i];
    }
    rc = rc == TEMPER_OK ? staged_layer(b, l, &layers[m.n_layers], diff_id) : rc;
    if (rc == TEMPER_OK) {
        ids[m.n_layers] = diff_id;
        struct temper_oci_history *h = &cfg.history[cfg.n_history++];
        memset(h, 0, sizeof *h);
        h->created = cfg.created ? strdup(cfg.created) : NULL;
        h->created_by = temper_strdupf("temper builder_source %s: %s (sha256 %s), %zu files",
                                       SOURCE_VERSION, b->url, b->sha256, b->files.n);
        rc = h->created_by ? TEMPER_OK : TEMPER_ENOMEM;
    }
    struct temper_strlist keep = cfg.diff_ids;
    memset(&cfg.diff_ids, 0, sizeof cfg.diff_ids);
    rc = rc == TEMPER_OK ? temper_oci_image_write(b->st, l, &cfg, layers, ids, m.n_layers + 1,
                                                  &m.annotations, ref, out)
                         : rc;
    cfg.diff_ids = keep;
    if (rc == TEMPER_OK && strcmp(out->digest, base->digest) != 0) {
        drop_blob(l, base->digest);
        drop_blob(l, m.config.digest);
    }
    for (size_t i = 0; layers && i <= m.n_layers; i++) {
        temper_oci_descriptor_cleanup(&layers[i]);
    }
    free(layers);
    free(ids);
    temper_oci_config_cleanup(&cfg);
    temper_oci_manifest_cleanup(&m);
    return rc;
}

static void put_input(int *rc, struct json_object *arr, const char *name, const char *uri,
                      const char *sha)
{
    struct json_object *o = json_object_new_object(), *d = json_object_new_object();
    if (*rc != TEMPER_OK || !o || !d || json_object_object_add(o, "name",
                                                               json_object_new_string(name)) ||
        json_object_object_add(o, "uri", json_object_new_string(uri)) ||
        json_object_object_add(d, "sha256", json_object_new_string(sha))) {
        json_object_put(o);
        json_object_put(d);
        *rc = *rc == TEMPER_OK ? TEMPER_ENOMEM : *rc;
        return;
    }
    json_object_object_add(o, "digest", d);
    if (json_object_array_add(arr, o) != 0) {
        json_object_put(o);
        *rc = TEMPER_ENOMEM;
    }
}

/* "pkg:deb/<distro>/<name>@<version>?arch=<arch>" (':' of an epoch encoded). */
static char *purl(const char *distro, const struct deb_pkg *p)
{
    struct temper_buf u;
    temper_buf_init(&u, 4096);
    int rc = temper_buf_printf(&u, "pkg:deb/%s/%s@", distro, p->name);
    for (const char *s = p->version; rc == TEMPER_OK && *s; s++) {
        rc = *s == ':' ? temper_buf_puts(&u, "%3A") : temper_buf_append(&u, s, 1);
    }
    rc = rc == TEMPER_OK ? temper_buf_printf(&u, "?arch=%s", p->arch) : rc;
    char *out = rc == TEMPER_OK ? temper_buf_take(&u, NULL) : NULL;
    temper_buf_cleanup(&u);
    return out;
}

static int build_inputs(struct source_build *b, const char *distro, struct temper_artifact *a)
{
    struct json_object *arr = json_object_new_array();
    int rc = arr ? TEMPER_OK : TEMPER_ENOMEM;
    char *uri = b->url[0] == '/' ? temper_strdupf("file://%s", b->url) : temper_http_safe_url(b->url);
    rc = rc == TEMPER_OK && !uri ? TEMPER_ENOMEM : rc;
    put_input(&rc, arr, "source", uri, b->sha256);
    free(uri);
    for (size_t i = 0; rc == TEMPER_OK && i < b->ic->patches.n; i++) {
        const char *path = b->ic->patches.v[i];
        const char *slash = strrchr(path, '/');
        char *name = temper_strdupf("patch:%s", slash ? slash + 1 : path);
        char *puri = temper_strdupf("file://%s", path);
        rc = name && puri ? rc : TEMPER_ENOMEM;
        put_input(&rc, arr, name, puri, b->patch_sha[i]);
        free(name);
        free(puri);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < b->bset.n; i++) {
        const struct deb_pkg *p = &b->bset.v[i];
        char *name = purl(distro, p);
        char *puri = temper_strdupf("%s/%s", b->bdeps_base, p->filename);
        rc = name && puri ? rc : TEMPER_ENOMEM;
        put_input(&rc, arr, name, puri, p->sha256);
        free(name);
        free(puri);
    }
    for (size_t i = 0; rc == TEMPER_OK && b->alpine && i < b->apk.plan.n; i++) {
        const char *url = NULL, *sha = NULL;
        char *name = source_apk_input(b, i, &url, &sha);
        rc = name ? rc : TEMPER_ENOMEM;
        put_input(&rc, arr, name, url, sha);
        free(name);
    }
    const char *js = rc == TEMPER_OK ? json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
                                                                       JSON_C_TO_STRING_NOSLASHESCAPE)
                                     : NULL;
    rc = rc == TEMPER_OK && !js ? TEMPER_ENOMEM : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_BUILD_INPUTS, js) : rc;
    json_object_put(arr);
    return rc;
}

/* alpine:* images: builder_apk's runtime base (source_apk.c), the layer. */
static int image_alpine(struct source_build *b, struct temper_oci_layout *l, const char *ref,
                        struct temper_oci_descriptor *out, struct temper_artifact *a)
{
    struct temper_oci_descriptor base;
    memset(&base, 0, sizeof base);
    int rc = source_apk_image(b, l, &base, a);
    rc = rc == TEMPER_OK ? stack(b, l, &base, ref, out) : rc;
    rc = rc == TEMPER_OK ? build_inputs(b, "alpine", a) : rc;
    temper_oci_descriptor_cleanup(&base);
    return rc;
}

int source_image(struct source_build *b, struct temper_oci_layout *l, const char *ref,
                 struct temper_oci_descriptor *out, struct temper_artifact *a)
{
    if (b->alpine) {
        return image_alpine(b, l, ref, out, a);
    }
    struct temper_strlist pk = { 0 };
    const struct temper_strlist *defp = b->req->def->packages;
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && defp && i < defp->n; i++) {
        rc = source_strlist_has(&pk, defp->v[i]) ? TEMPER_OK : source_strlist_push(&pk, defp->v[i]);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < b->needs.n; i++) {
        rc = source_strlist_has(&pk, b->needs.v[i]) ? TEMPER_OK : source_strlist_push(&pk, b->needs.v[i]);
    }
    struct deb_build d;
    struct temper_image_def def;
    struct temper_build_request req;
    struct deb_repo r;
    struct deb_set set;
    struct temper_oci_descriptor base;
    memset(&r, 0, sizeof r);
    memset(&set, 0, sizeof set);
    memset(&base, 0, sizeof base);
    source_deb_ctx(b, &d, &def, &req, &pk, b->req->variant);
    rc = rc == TEMPER_OK ? source_distribution(b, &d) : rc;
    rc = rc == TEMPER_OK ? deb_repo_open(&d, &r) : rc;
    rc = rc == TEMPER_OK ? deb_resolve(&d, &r, &set) : rc;
    deb_repo_free_indexes(&r);
    rc = rc == TEMPER_OK ? deb_fetch(&d, &r, &set) : rc;
    rc = rc == TEMPER_OK ? deb_image(&d, &r, &set, l, NULL, &base) : rc;
    rc = rc == TEMPER_OK ? stack(b, l, &base, ref, out) : rc;
    rc = rc == TEMPER_OK ? deb_add_packages(b->req->def->distribution, &r, a, &set) : rc;
    rc = rc == TEMPER_OK ? build_inputs(b, d.dist_id, a) : rc;
    temper_oci_descriptor_cleanup(&base);
    deb_set_cleanup(&set);
    deb_repo_cleanup(&r);
    free(d.suite);
    source_strlist_cleanup(&pk);
    return rc;
}

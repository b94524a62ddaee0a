/* temper — builder_deb: one platform's image.  The packages are unpacked
 * into a staging root, hardened (temper_harden_rootfs), and written as one
 * layer by temper_oci_layer_add_tree (entries sorted, owners from the
 * packages, every mtime clamped to SOURCE_DATE_EPOCH) through the hardening
 * callback; then the config and the manifest.
 *
 * SOURCE_DATE_EPOCH: the request's when set, else the newest mtime found in
 * the packages' data tars.  dpkg-deb clamps those to the package's own
 * SOURCE_DATE_EPOCH (its debian/changelog date), so this is the date of
 * the newest package of the image: a rebuild of the same packages gets the
 * same epoch, and a new package version moves it. */
#include "config.h"
#include "deb.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tree_ctx {
    const struct deb_owners *own;
    struct temper_harden *h;
};

static int tree_cb(void *ctx, struct temper_oci_entry *e, const char *src)
{
    struct tree_ctx *t = ctx;
    (void)deb_owners_apply(t->own, e);
    return temper_harden_tree(t->h, e, src);
}

struct info_store {
    char version[128], os_version[32];
};

static void fill_info(struct deb_build *b, const struct deb_repo *r, const struct deb_set *set,
                      long long epoch, struct temper_harden_info *in, struct info_store *s)
{
    const struct temper_image_def *d = b->req->def;
    memset(in, 0, sizeof *in);
    in->size = sizeof *in;
    in->name = d->name;
    in->variant = b->req->variant;
    in->distribution = d->distribution;
    in->base_name = d->base;
    in->created = epoch;
    in->version = d->version;
    const char *first = d->packages && d->packages->n ? d->packages->v[0] : NULL;
    size_t fl = first ? strcspn(first, "=") : 0;
    for (size_t i = 0; !in->version && first && i < set->n; i++) {
        if (strlen(set->v[i].name) == fl && strncmp(set->v[i].name, first, fl) == 0) {
            char *up = deb_upstream_version(set->v[i].version);
            snprintf(s->version, sizeof s->version, "%s", up ? up : set->v[i].version);
            free(up);
            in->version = s->version;
        }
    }
    in->os_id = b->dist_id;
    in->os_name = strcmp(b->dist_id, "debian") == 0   ? "Debian GNU/Linux"
                  : strcmp(b->dist_id, "ubuntu") == 0 ? "Ubuntu"
                                                      : NULL;
    const char *v = r->rel ? r->rel->version : NULL;
    if (v) {
        size_t n = strcmp(b->dist_id, "debian") == 0 ? strcspn(v, ".") : strlen(v);
        snprintf(s->os_version, sizeof s->os_version, "%.*s", (int)(n < 31 ? n : 31), v);
        in->os_version_id = s->os_version;
    }
    in->os_codename = r->rel && r->rel->codename ? r->rel->codename : b->suite;
}

/* Unpack, harden, write the layer. */
static int make_layer(struct deb_build *b, const struct deb_repo *r, struct deb_set *set,
                      struct temper_oci_layout *l, struct temper_harden *h, long long *epoch,
                      struct temper_oci_descriptor *desc, char *diff_id)
{
    const char *wd = temper_stage_workdir(b->st);
    char *root = temper_strdupf("%s/root-%s-%s", wd ? wd : b->s->cache, b->arch,
                                b->req->variant);
    struct deb_owners *own = NULL;
    int rc = root ? deb_install(b, set, root, &own) : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && *epoch == 0 && i < set->n; i++) {
        *epoch = set->v[i].max_mtime > *epoch ? set->v[i].max_mtime : *epoch;
    }
    struct temper_harden_info info;
    struct info_store is;
    fill_info(b, r, set, *epoch, &info, &is);
    rc = rc == TEMPER_OK ? temper_harden_rootfs(h, root, &info) : rc;
    struct temper_oci_layer *ly = NULL;
    struct temper_oci_layer_opts lo = { .size = sizeof lo,
                                        .compression = (enum temper_oci_compression)
                                                           b->ic->compression,
                                        .source_date_epoch = *epoch };
    rc = rc == TEMPER_OK ? temper_oci_layer_new(b->st, l, &lo, &ly) : rc;
    struct tree_ctx tc = { own, h };
    struct temper_oci_tree_opts to = { .size = sizeof to, .uname = "root", .gname = "root",
                                       .fn = tree_cb, .ctx = &tc };
    rc = rc == TEMPER_OK ? temper_oci_layer_add_tree(ly, root, &to) : rc;
    rc = rc == TEMPER_OK ? temper_oci_layer_finish(ly, desc, diff_id) : rc;
    temper_oci_layer_free(ly);
    if (rc == TEMPER_OK) {
        struct temper_harden_stats hs;
        temper_harden_stats(h, &hs);
        TEMPER_LOG_INFO(b->st, "%s: layer %s; dropped %zu docs, %zu locales, %zu shells, "
                        "%zu package manager files; cleared %zu setuid/setgid, %zu "
                        "world-writable", b->platform, desc->digest, hs.docs, hs.locales,
                        hs.shells, hs.package_managers, hs.setuid, hs.world_writable);
    }
    deb_owners_free(own);
    free(root);
    return rc;
}

static int write_image(struct deb_build *b, const struct deb_repo *r, const struct deb_set *set,
                       struct temper_oci_layout *l, struct temper_harden *h, long long epoch,
                       const struct temper_oci_descriptor *layer, const char *diff_id,
                       const char *ref, struct temper_oci_descriptor *out)
{
    struct temper_oci_config cfg;
    struct temper_oci_map ann;
    memset(&cfg, 0, sizeof cfg);
    memset(&ann, 0, sizeof ann);
    struct temper_harden_info info;
    struct info_store is;
    fill_info(b, r, set, epoch, &info, &is);
    cfg.architecture = strdup(b->goarch);
    cfg.os = strdup("linux");
    cfg.variant = b->govariant[0] ? strdup(b->govariant) : NULL;
    cfg.history = calloc(1, sizeof *cfg.history);
    int rc = cfg.architecture && cfg.os && cfg.history ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        cfg.n_history = 1;
        cfg.history[0].created_by = temper_strdupf("temper builder_deb %s: %zu packages from "
                                                   "%s %s", DEB_VERSION, set->n,
                                                   b->s->conf->mirror, b->suite);
        rc = cfg.history[0].created_by ? TEMPER_OK : TEMPER_ENOMEM;
    }
    rc = rc == TEMPER_OK ? temper_harden_config(h, b->req->def, &info, &cfg, &ann) : rc;
    if (rc == TEMPER_OK) {
        cfg.history[0].created = strdup(cfg.created);
        rc = cfg.history[0].created ? TEMPER_OK : TEMPER_ENOMEM;
    }
    const char *ids[1] = { diff_id };
    if (rc == TEMPER_OK && b->base) {
        rc = deb_base_write(b, l, &cfg, &ann, layer, diff_id, ref, out);
    } else if (rc == TEMPER_OK) {
        rc = temper_oci_image_write(b->st, l, &cfg, layer, ids, 1, &ann, ref, out);
    }
    temper_oci_config_cleanup(&cfg);
    temper_oci_map_cleanup(&ann);
    return rc == TEMPER_ENOMEM && !temper_stage_error(b->st)
               ? temper_fail(b->st, rc, "out of memory")
               : rc;
}

int deb_layer(struct deb_build *b, const struct deb_repo *r, struct deb_set *set,
              struct temper_oci_layout *l, struct temper_harden *h, long long *epoch,
              struct temper_oci_descriptor *layer, char *diff_id)
{
    char key[65];
    int rc = deb_cache_key(b, set, *epoch, key);
    bool hit = false;
    if (rc == TEMPER_OK) {
        int c = deb_cache_get(b, key, l, set, layer, diff_id, epoch);
        hit = c == TEMPER_OK;
        rc = c == TEMPER_ENOTFOUND ? TEMPER_OK : c;
    }
    if (rc == TEMPER_OK && hit) {
        TEMPER_LOG_INFO(b->st, "%s: layer %s from the cache", b->platform, layer->digest);
    } else if (rc == TEMPER_OK) {
        rc = make_layer(b, r, set, l, h, epoch, layer, diff_id);
        rc = rc == TEMPER_OK ? deb_cache_put(b, key, l, set, layer, diff_id, *epoch) : rc;
    }
    return rc;
}

int deb_image(struct deb_build *b, const struct deb_repo *r, struct deb_set *set,
              struct temper_oci_layout *l, const char *ref, struct temper_oci_descriptor *out)
{
    long long epoch = b->req->source_date_epoch > 0 ? b->req->source_date_epoch : 0;
    char diff_id[TEMPER_DIGEST_STR_LEN];
    struct temper_oci_descriptor layer;
    memset(&layer, 0, sizeof layer);
    struct temper_harden *h = NULL;
    int rc = temper_harden_new(b->st, &b->ic->harden, b->req->variant, &h);
    rc = rc == TEMPER_OK ? deb_layer(b, r, set, l, h, &epoch, &layer, diff_id) : rc;
    rc = rc == TEMPER_OK ? write_image(b, r, set, l, h, epoch, &layer, diff_id, ref, out) : rc;
    temper_oci_descriptor_cleanup(&layer);
    temper_harden_free(h);
    return rc;
}

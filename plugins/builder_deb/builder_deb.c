/* temper — builder_deb: OCI images from Debian and Ubuntu packages, the way
 * distroless does it, without a container engine or maintainer scripts.
 *
 * For each platform: the signed index (deb_repo.c), the package closure
 * (deb_resolve.c), the .deb files into the cache (deb_fetch.c), unpacking
 * and the dpkg database (deb_install.c), hardening and the layer
 * (deb_image.c, with the layer cache of deb_cache.c), config and manifest.
 * With `base =` the packages go on top of the base image (deb_base.c).
 * Several platforms make an image index.  The image is tagged with the
 * request's tag, else the definition's version, else "latest". */
#include "config.h"
#include "deb.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const compressions[] = { "gzip", "zstd", NULL };

static const struct temper_option deb_options[] = {
    { TEMPER_OPT_STR, "mirror", NULL, TEMPER_OPT_REQUIRED, offsetof(struct deb_conf, mirror),
      0, 0, NULL, "URL of the Debian or Ubuntu archive (http:// or https://)" },
    { TEMPER_OPT_STR, "suite", NULL, 0, offsetof(struct deb_conf, suite), 0, 0, NULL,
      "suite or codename to install from; default: the RELEASE of the image's "
      "distribution (debian:bookworm -> bookworm)" },
    { TEMPER_OPT_LIST, "components", "main", 0, offsetof(struct deb_conf, components), 0, 0,
      NULL, "archive components whose Packages indexes are searched, in order" },
    { TEMPER_OPT_PATH, "keyring", NULL, 0, offsetof(struct deb_conf, keyring), 0, 0, NULL,
      "OpenPGP keyring that signs the InRelease file, checked with gpgv" },
    { TEMPER_OPT_BOOL, "allow_unsigned", "false", 0, offsetof(struct deb_conf, allow_unsigned),
      0, 0, NULL, "use the InRelease without checking its signature (a trusted local mirror)" },
    { TEMPER_OPT_BOOL, "check_valid_until", "true", 0,
      offsetof(struct deb_conf, check_valid_until), 0, 0, NULL,
      "refuse an InRelease past its Valid-Until date" },
    { TEMPER_OPT_PATH, "cache_dir", NULL, 0, offsetof(struct deb_conf, cache_dir), 0, 0, NULL,
      "where indexes, .deb files and layers are kept; default: the stage's cache directory" },
    { TEMPER_OPT_BOOL, "essential", "false", 0, offsetof(struct deb_conf, essential), 0, 0,
      NULL, "install the Essential set and follow dependencies on it (the dev variant always "
            "does)" },
    { TEMPER_OPT_BOOL, "merged_usr", "false", 0, offsetof(struct deb_conf, merged_usr), 0, 0,
      NULL, "make /bin, /sbin and /lib* symlinks into /usr before unpacking" },
    TEMPER_OPTION_END,
};

static const struct temper_option deb_image_options[] = {
    TEMPER_HARDEN_OPTIONS(struct deb_image_conf, harden),
    { TEMPER_OPT_LIST, "dev_packages", NULL, 0, offsetof(struct deb_image_conf, dev_packages),
      0, 0, NULL, "packages added to the dev variant (with the Essential set), e.g. apt" },
    { TEMPER_OPT_ENUM, "compression", "gzip", 0, offsetof(struct deb_image_conf, compression),
      0, 0, compressions, "layer compression" },
    TEMPER_OPTION_END,
};

static int deb_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct deb_conf *c = conf;
    if (!c->keyring && !c->allow_unsigned) {
        return temper_fail(st, TEMPER_EINVAL, "set `keyring` to the archive's OpenPGP keyring "
                           "(or allow_unsigned = yes for a trusted local mirror)");
    }
    if (strncmp(c->mirror, "http://", 7) != 0 && strncmp(c->mirror, "https://", 8) != 0) {
        return temper_fail(st, TEMPER_EINVAL, "mirror %s: only http:// and https:// URLs",
                           c->mirror);
    }
    const char *cache = c->cache_dir ? c->cache_dir : temper_stage_cachedir(st);
    if (!cache) {
        return temper_fail(st, TEMPER_EINVAL, "no cache directory: set cache_dir");
    }
    struct deb_state *s = calloc(1, sizeof *s);
    if (!s || !(s->cache = strdup(cache))) {
        free(s);
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    s->conf = c;
    *state = s;
    return TEMPER_OK;
}

static void deb_close(void *state)
{
    struct deb_state *s = state;
    if (s) {
        free(s->cache);
        free(s);
    }
}

static int build_one(struct deb_build *b, struct temper_oci_layout *l, const char *ref,
                     struct temper_oci_descriptor *out, struct temper_artifact *a)
{
    struct deb_repo r;
    struct deb_set set;
    struct deb_base base;
    memset(&set, 0, sizeof set);
    memset(&r, 0, sizeof r);
    memset(&base, 0, sizeof base);
    int rc = TEMPER_OK;
    if (b->req->base || b->req->def->base) {
        rc = deb_base_open(b, &base);
        b->base = &base;
    }
    rc = rc == TEMPER_OK ? deb_repo_open(b, &r) : rc;
    rc = rc == TEMPER_OK ? deb_resolve(b, &r, &set) : rc;
    deb_repo_free_indexes(&r); /* the tables are the biggest thing a build holds */
    if (rc == TEMPER_OK) {
        TEMPER_LOG_INFO(b->st, "%s: %zu packages from %s %s", b->platform, set.n,
                        b->s->conf->mirror, b->suite);
    }
    rc = rc == TEMPER_OK ? deb_fetch(b, &r, &set) : rc;
    rc = rc == TEMPER_OK ? deb_image(b, &r, &set, l, ref, out) : rc;
    rc = rc == TEMPER_OK ? deb_add_packages(b->req->def->distribution, &r, a, &set) : rc;
    rc = rc == TEMPER_OK && b->base ? deb_base_add_packages(b->req->def->distribution,
                                                            &base, a)
                                    : rc;
    b->base = NULL;
    deb_set_cleanup(&set);
    deb_repo_cleanup(&r);
    deb_base_cleanup(&base);
    return rc;
}

/* The platforms of the request, comma-separated, into the image artifact. */
static int describe(struct temper_artifact *a, const struct temper_build_request *req,
                    const struct temper_oci_descriptor *d)
{
    struct temper_buf plats;
    temper_buf_init(&plats, 4096);
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < req->n_platforms; i++) {
        rc = temper_buf_printf(&plats, "%s%s", i ? "," : "", req->platforms[i]);
    }
    rc = rc == TEMPER_OK ? deb_describe(a, req, d, plats.data) : rc;
    temper_buf_cleanup(&plats);
    return rc;
}

static int deb_build(void *state, struct temper_stage *st,
                     const struct temper_build_request *req)
{
    struct deb_build b = { .s = state, .st = st, .req = req, .ic = req->image_conf };
    struct temper_oci_layout *l = NULL;
    struct temper_oci_descriptor *descs = calloc(req->n_platforms ? req->n_platforms : 1,
                                                 sizeof *descs);
    struct temper_oci_descriptor idx;
    memset(&idx, 0, sizeof idx);
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_IMAGE, req->def->name);
    int rc = descs && a && b.ic ? deb_distribution(&b) : TEMPER_ENOMEM;
    rc = rc == TEMPER_OK ? temper_http_new(st, NULL, &b.http) : rc;
    rc = rc == TEMPER_OK ? temper_oci_layout_create(st, req->layout_dir, &l) : rc;
    const char *ref = deb_choose_ref(req);
    for (size_t i = 0; rc == TEMPER_OK && i < req->n_platforms; i++) {
        rc = deb_platform(&b, req->platforms[i]);
        rc = rc == TEMPER_OK ? build_one(&b, l, req->n_platforms == 1 ? ref : NULL, &descs[i],
                                         a)
                             : rc;
    }
    if (rc == TEMPER_OK && req->n_platforms > 1) {
        rc = temper_oci_index_write(st, l, descs, req->n_platforms, NULL, ref, &idx);
    }
    rc = rc == TEMPER_OK ? describe(a, req, req->n_platforms > 1 ? &idx : &descs[0]) : rc;
    if (rc == TEMPER_OK) {
        rc = temper_emit(st, a);
        a = NULL;
    }
    if (rc == TEMPER_ENOMEM && !temper_stage_error(st)) {
        rc = temper_fail(st, rc, "out of memory");
    }
    temper_artifact_free(a);
    for (size_t i = 0; descs && i < req->n_platforms; i++) {
        temper_oci_descriptor_cleanup(&descs[i]);
    }
    free(descs);
    temper_oci_descriptor_cleanup(&idx);
    temper_oci_layout_free(l);
    temper_http_free(b.http);
    free(b.suite);
    return rc;
}

static const struct temper_builder_ops deb_ops = {
    .image_options = deb_image_options,
    .image_conf_size = sizeof(struct deb_image_conf),
    .build = deb_build,
};

TEMPER_PLUGIN(builder_deb) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_BUILDER,
    .name = "deb",
    .version = DEB_VERSION,
    .summary = "OCI images from Debian/Ubuntu packages: closure, verified .debs, dpkg "
               "database, hardening, reproducible layers",
    .options = deb_options,
    .conf_size = sizeof(struct deb_conf),
    .open = deb_open,
    .close = deb_close,
    .ops = &deb_ops,
    .ops_size = sizeof(deb_ops),
};

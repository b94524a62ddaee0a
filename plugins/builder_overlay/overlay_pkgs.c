/* temper — builder_overlay: Debian/Ubuntu packages added to a customization.
 *
 * The definition's `packages =` list is installed by builder_deb's own code
 * (compiled into this module): the closure minus what the base's dpkg
 * database already has (a base package is never replaced), the .debs
 * verified against the signed index of the `mirror` option, unpacked,
 * hardened and written as ONE layer between the base's layers and the
 * artifact layers; its var/lib/dpkg/status is the union of the base's and
 * the new stanzas.  The image artifact carries the base's packages and the
 * added ones, so a patched package rebuilds the customization.  Alpine bases
 * are refused. */
#include "config.h"
#include "overlay_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_conf(struct temper_stage *st, const struct ov_conf *c,
                      const struct temper_image_def *d)
{
    if (!c->deb.mirror) {
        return temper_fail(st, TEMPER_EINVAL, "image %s: packages = needs the builder's "
                           "`mirror` option (a Debian or Ubuntu archive)", d->name);
    }
    if (strncmp(c->deb.mirror, "http://", 7) != 0 && strncmp(c->deb.mirror, "https://", 8) != 0) {
        return temper_fail(st, TEMPER_EINVAL, "mirror %s: only http:// and https:// URLs",
                           c->deb.mirror);
    }
    if (!c->deb.keyring && !c->deb.allow_unsigned) {
        return temper_fail(st, TEMPER_EINVAL, "set `keyring` to the archive's OpenPGP keyring "
                           "(or allow_unsigned = yes for a trusted local mirror)");
    }
    return TEMPER_OK;
}

struct pk {
    struct deb_state ds;
    struct deb_image_conf ic;
    struct temper_build_request req;
    struct deb_build b;
    struct deb_base base;
    struct deb_repo r;
    struct deb_set set;
    struct temper_harden *h;
    struct temper_oci_descriptor layer;
    char diff_id[TEMPER_DIGEST_STR_LEN];
};

static int setup(struct pk *p, struct temper_stage *st, const struct ov_conf *c,
                 const struct temper_build_request *req, const char *platform,
                 const struct ov_src *base)
{
    const char *cache = c->deb.cache_dir ? c->deb.cache_dir : temper_stage_cachedir(st);
    if (!cache) {
        return temper_fail(st, TEMPER_EINVAL, "no cache directory: set cache_dir");
    }
    p->ds.conf = &c->deb;
    p->ds.cache = strdup(cache);
    temper_harden_conf_default(&p->ic.harden);
    p->req = *req;
    p->req.variant = req->variant ? req->variant : "runtime";
    p->b = (struct deb_build){ .s = &p->ds, .st = st, .req = &p->req, .ic = &p->ic };
    int rc = p->ds.cache ? deb_platform(&p->b, platform) : TEMPER_ENOMEM;
    rc = rc == TEMPER_OK ? deb_distribution(&p->b) : rc;
    rc = rc == TEMPER_OK ? temper_http_new(st, NULL, &p->b.http) : rc;
    if (rc == TEMPER_OK) {
        snprintf(p->base.digest, sizeof p->base.digest, "%s", base->desc.digest);
        p->base.name = strdup(req->def->base ? req->def->base : base->ref);
        rc = p->base.name ? TEMPER_OK : TEMPER_ENOMEM;
    }
    return rc;
}

static void pk_cleanup(struct pk *p)
{
    deb_set_cleanup(&p->set);
    deb_repo_cleanup(&p->r);
    deb_base_cleanup(&p->base);
    temper_harden_free(p->h);
    temper_oci_descriptor_cleanup(&p->layer);
    temper_http_free(p->b.http);
    free(p->b.suite);
    free(p->ds.cache);
}

static char *created_by(const struct deb_set *set)
{
    struct temper_buf t;
    temper_buf_init(&t, 4096);
    int rc = temper_buf_printf(&t, "temper builder_overlay: %zu packages:", set->n);
    for (size_t i = 0; rc == TEMPER_OK && i < set->n; i++) {
        rc = temper_buf_printf(&t, " %s=%s", set->v[i].name, set->v[i].version);
    }
    char *s = rc == TEMPER_OK ? temper_buf_take(&t, NULL) : NULL;
    temper_buf_cleanup(&t);
    return s;
}

int ov_add_packages(struct temper_stage *st, const struct ov_conf *c,
                    const struct temper_build_request *req, const char *platform,
                    const struct ov_src *base, struct temper_oci_layout *l,
                    struct ov_stack *stack, struct temper_artifact *art)
{
    const struct temper_strlist *pk = req->def->packages;
    if (!pk || pk->n == 0) {
        return TEMPER_OK;
    }
    int rc = check_conf(st, c, req->def);
    struct pk *p = rc == TEMPER_OK ? calloc(1, sizeof *p) : NULL;
    if (rc == TEMPER_OK && !p) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    rc = rc == TEMPER_OK ? setup(p, st, c, req, platform, base) : rc;
    rc = rc == TEMPER_OK ? deb_base_read(&p->b, base->l, &base->m, &p->base) : rc;
    if (p) {
        p->b.base = &p->base;
    }
    rc = rc == TEMPER_OK ? deb_repo_open(&p->b, &p->r) : rc;
    rc = rc == TEMPER_OK ? deb_resolve(&p->b, &p->r, &p->set) : rc;
    if (p) {
        deb_repo_free_indexes(&p->r);
    }
    rc = rc == TEMPER_OK ? deb_fetch(&p->b, &p->r, &p->set) : rc;
    rc = rc == TEMPER_OK ? temper_harden_new(st, &p->ic.harden, p->req.variant, &p->h) : rc;
    long long epoch = req->source_date_epoch > 0 ? req->source_date_epoch : 0;
    rc = rc == TEMPER_OK ? deb_layer(&p->b, &p->r, &p->set, l, p->h, &epoch, &p->layer,
                                     p->diff_id)
                         : rc;
    char *by = rc == TEMPER_OK ? created_by(&p->set) : NULL;
    if (rc == TEMPER_OK) {
        TEMPER_LOG_INFO(st, "image %s: %s", req->def->name, by ? by : "packages");
        rc = ov_stack_push(stack, &p->layer, p->diff_id, by ? by : "temper builder_overlay");
    }
    free(by);
    const char *dist = req->def->distribution;
    rc = rc == TEMPER_OK ? deb_add_packages(dist, &p->r, art, &p->set) : rc;
    rc = rc == TEMPER_OK ? deb_base_add_packages(dist, &p->base, art) : rc;
    if (rc == TEMPER_ENOMEM && !temper_stage_error(st)) {
        rc = temper_fail(st, rc, "out of memory");
    }
    if (p) {
        pk_cleanup(p);
        free(p);
    }
    return rc;
}

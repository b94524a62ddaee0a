/* temper — builder_overlay: customized images, a team's OCI artifacts and
 * overrides on top of a base image, without a container engine.
 *
 * The base is the image the core hands over in the request (the newest
 * published build of `base = image:NAME`), or a reference written in the
 * definition (`base = oci:DIR:TAG`, or `HOST/REPO:TAG` pulled from a
 * registry; artifacts the same).  Its layers are kept as they are (same
 * digests), each `artifact =` of the definition's [build] section adds its
 * layers on top in order (later artifacts win, as overlay layers do), and
 * the image config is the base's with the definition's overrides applied:
 * `user`, `env` (merged by name), `entrypoint` (which, as in a Dockerfile,
 * clears the base's cmd unless `cmd` is given too), `cmd`, `workdir`, and
 * `label` lines.  The manifest carries the base's name and digest
 * (org.opencontainers.image.base.*), and the image artifact carries the
 * base's packages so that a patched package rebuilds the customization.
 * The definition's `packages =` (Debian/Ubuntu bases, with the `mirror`
 * option) become one layer between the base's and the artifacts'
 * (overlay_pkgs.c, builder_deb's code).
 *
 * Reproducible: no clock is read; created/history times are the request's
 * SOURCE_DATE_EPOCH and rewritten layers are written deterministically. */
#include "config.h"
#include "overlay_int.h"

#include <stdlib.h>
#include <string.h>

#define OPT(type, key, def, flags, field, min, max, doc) \
    { type, key, def, flags, offsetof(struct ov_conf, field), min, max, NULL, doc }
#define IOPT(type, key, def, flags, field, doc) \
    { type, key, def, flags, offsetof(struct ov_image_conf, field), 0, 0, NULL, doc }

static const struct temper_option ov_options[] = {
    OPT(TEMPER_OPT_SIZE, "max_layer_size", "4G", 0, max_layer_bytes, 1024, 1LL << 40,
        "largest uncompressed content of an artifact layer that is filtered"),
    OPT(TEMPER_OPT_INT, "max_entries", "1000000", 0, max_entries, 1, 100000000,
        "most entries in an artifact layer that is filtered"),
    OPT(TEMPER_OPT_BOOL, "plain_http", "false", 0, plain_http, 0, 0,
        "talk http:// to registries (a loopback test registry); default https, verified"),
    OPT(TEMPER_OPT_PATH, "ca_file", NULL, 0, ca_file, 0, 0,
        "PEM bundle replacing the trust store for registries"),
    OPT(TEMPER_OPT_PATH, "credentials_file", NULL, 0, credentials_file, 0, 0,
        "registry credentials: user:password or a token"),
    OPT(TEMPER_OPT_PATH, "docker_config", NULL, 0, docker_config, 0, 0,
        "a Docker config.json whose auths give the registry credentials"),
    OPT(TEMPER_OPT_STR, "mirror", NULL, 0, deb.mirror, 0, 0,
        "Debian or Ubuntu archive (http:// or https://) the definition's `packages` come "
        "from; needed only by customizations that add packages"),
    OPT(TEMPER_OPT_STR, "suite", NULL, 0, deb.suite, 0, 0,
        "suite or codename of those packages; default: the RELEASE of the image's "
        "distribution (debian:bookworm -> bookworm)"),
    OPT(TEMPER_OPT_LIST, "components", "main", 0, deb.components, 0, 0,
        "archive components whose Packages indexes are searched, in order"),
    OPT(TEMPER_OPT_PATH, "keyring", NULL, 0, deb.keyring, 0, 0,
        "OpenPGP keyring that signs the mirror's InRelease file, checked with gpgv"),
    OPT(TEMPER_OPT_BOOL, "allow_unsigned", "false", 0, deb.allow_unsigned, 0, 0,
        "use the mirror's InRelease without checking its signature (a trusted local mirror)"),
    OPT(TEMPER_OPT_BOOL, "check_valid_until", "true", 0, deb.check_valid_until, 0, 0,
        "refuse an InRelease past its Valid-Until date"),
    OPT(TEMPER_OPT_PATH, "cache_dir", NULL, 0, deb.cache_dir, 0, 0,
        "where indexes, .deb files and package layers are kept; default: the stage's cache "
        "directory"),
    TEMPER_OPTION_END,
};

static const struct temper_option ov_image_options[] = {
    IOPT(TEMPER_OPT_STR, "artifact", NULL, TEMPER_OPT_MULTI, artifacts,
         "an OCI artifact to overlay: REF [include=/GLOB,...] [exclude=/GLOB,...] [dest=/DIR]; "
         "one line each, later lines win"),
    IOPT(TEMPER_OPT_STR, "label", NULL, TEMPER_OPT_MULTI, labels,
         "an image label KEY=VALUE added to (or replacing one of) the base's"),
    IOPT(TEMPER_OPT_STR, "tag_suffix", NULL, 0, tag_suffix,
         "appended to the image's tag, e.g. -team-a"),
    IOPT(TEMPER_OPT_STR, "base_platform", NULL, 0, base_platform,
         "platform taken from a multi-platform base (default: the build's)"),
    TEMPER_OPTION_END,
};

static int ov_open(struct temper_stage *st, const void *conf, void **state)
{
    (void)st;
    *state = (void *)conf;
    return TEMPER_OK;
}

static void ov_close(void *state)
{
    (void)state;
}

/* ---- config overrides ---------------------------------------------------- */

static int strlist_copy(struct temper_strlist *dst, const struct temper_strlist *src)
{
    temper_oci_list_cleanup(dst);
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && src && i < src->n; i++) {
        rc = temper_oci_list_push(dst, src->v[i]);
    }
    return rc;
}

/* env: replace the entry with the same name or append. */
static int env_merge(struct temper_oci_config *c, const struct temper_strlist *env)
{
    for (size_t i = 0; env && i < env->n; i++) {
        const char *eq = strchr(env->v[i], '=');
        size_t kl = eq ? (size_t)(eq - env->v[i]) : strlen(env->v[i]);
        bool done = false;
        for (size_t j = 0; j < c->env.n && !done; j++) {
            if (strncmp(c->env.v[j], env->v[i], kl) == 0 && c->env.v[j][kl] == '=') {
                char *v = strdup(env->v[i]);
                if (!v) {
                    return TEMPER_ENOMEM;
                }
                free(c->env.v[j]);
                c->env.v[j] = v;
                done = true;
            }
        }
        if (!done && temper_oci_list_push(&c->env, env->v[i]) != TEMPER_OK) {
            return TEMPER_ENOMEM;
        }
    }
    return TEMPER_OK;
}

static int set_str(char **dst, const char *v)
{
    if (!v) {
        return TEMPER_OK;
    }
    char *c = strdup(v);
    if (!c) {
        return TEMPER_ENOMEM;
    }
    free(*dst);
    *dst = c;
    return TEMPER_OK;
}

static int apply_overrides(struct temper_stage *st, const struct temper_build_request *req,
                           const struct ov_image_conf *ic, struct temper_oci_config *c)
{
    const struct temper_image_def *d = req->def;
    int rc = set_str(&c->user, d->user);
    rc = rc == TEMPER_OK ? set_str(&c->working_dir, d->workdir) : rc;
    rc = rc == TEMPER_OK ? env_merge(c, d->env) : rc;
    if (rc == TEMPER_OK && d->entrypoint && d->entrypoint->n) {
        rc = strlist_copy(&c->entrypoint, d->entrypoint);
        if (rc == TEMPER_OK && !(d->cmd && d->cmd->n)) {
            temper_oci_list_cleanup(&c->cmd);
        }
    }
    if (rc == TEMPER_OK && d->cmd && d->cmd->n) {
        rc = strlist_copy(&c->cmd, d->cmd);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < ic->labels.n; i++) {
        const char *kv = ic->labels.v[i];
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            return temper_fail(st, TEMPER_EINVAL, "image %s: label '%s' is not KEY=VALUE",
                               d->name, kv);
        }
        char *k = strndup(kv, (size_t)(eq - kv));
        rc = k ? temper_oci_map_set(&c->labels, k, eq + 1) : TEMPER_ENOMEM;
        free(k);
    }
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "image %s: config overrides: %s", d->name, temper_rc_str(rc));
    }
    return TEMPER_OK;
}

/* Base config + the added layers' diff_ids and history, created = SDE. */
static int finish_config(struct temper_stage *st, const struct temper_build_request *req,
                         const struct ov_stack *stack, size_t n_base,
                         struct temper_oci_config *c)
{
    char when[32];
    int rc = temper_oci_time_format(req->source_date_epoch, when);
    rc = rc == TEMPER_OK ? set_str(&c->created, when) : rc;
    temper_oci_list_cleanup(&c->diff_ids);
    size_t nh = c->n_history + (stack->n - n_base);
    struct temper_oci_history *h = rc == TEMPER_OK ? realloc(c->history, nh * sizeof *h) : NULL;
    if (rc == TEMPER_OK && !h) {
        rc = TEMPER_ENOMEM;
    }
    if (h) {
        c->history = h;
        for (size_t i = n_base; i < stack->n; i++) {
            struct temper_oci_history *e = &c->history[c->n_history++];
            memset(e, 0, sizeof *e);
            e->created = strdup(when);
            e->created_by = strdup(stack->history[i] ? stack->history[i] : "temper");
            if (!e->created || !e->created_by) {
                rc = TEMPER_ENOMEM;
            }
        }
    }
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "image %s: config: %s", req->def->name, temper_rc_str(rc));
    }
    return TEMPER_OK;
}

/* ---- build ------------------------------------------------------------------ */

static char *image_ref(const struct temper_build_request *req, const struct ov_image_conf *ic)
{
    const char *v = req->tag ? req->tag
                    : req->def->version && temper_oci_ref_valid(req->def->version)
                        ? req->def->version
                        : "latest";
    bool plain = req->tag || !req->variant || strcmp(req->variant, "runtime") == 0;
    const char *sfx = ic->tag_suffix ? ic->tag_suffix : "";
    char *ref = plain ? temper_strdupf("%s%s", v, sfx)
                      : temper_strdupf("%s-%s%s", v, req->variant, sfx);
    if (ref && !temper_oci_ref_valid(ref)) {
        free(ref);
        ref = NULL;
    }
    return ref;
}

static int open_base(struct temper_stage *st, const struct ov_conf *c,
                     const struct temper_build_request *req, const char *platform,
                     struct ov_src *base)
{
    if (req->base) {
        return ov_src_open_artifact(st, req->base, platform, base);
    }
    const char *b = req->def->base;
    if (!b) {
        return temper_fail(st, TEMPER_EINVAL, "image %s: builder_overlay needs `base =` (an "
                           "image:NAME or an OCI reference)", req->def->name);
    }
    if (strncmp(b, "image:", 6) == 0) {
        return temper_fail(st, TEMPER_ENOTFOUND, "image %s: base %s has no published build "
                           "yet: build and publish it first", req->def->name, b);
    }
    int rc = ov_src_open_ref(st, c, b, platform, base);
    if (rc == TEMPER_OK && !base->is_image) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: the base is not an image", b);
        ov_src_cleanup(base);
    }
    return rc;
}

/* The base's packages as the core recorded them, unless `packages =` made
 * the overlay read the base's own dpkg database (ov_add_packages already
 * added the base's packages then: each package once). */
static int add_packages(struct temper_artifact *art, const struct temper_artifact *base,
                        const struct temper_image_def *def)
{
    size_t n = base && !(def->packages && def->packages->n) ? temper_artifact_package_count(base)
                                                             : 0;
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = temper_artifact_add_package(art, temper_artifact_package(base, i));
    }
    return rc;
}

struct build {
    struct temper_stage *st;
    const struct temper_build_request *req;
    const struct ov_conf *conf;
    const struct ov_image_conf *ic;
    struct temper_oci_layout *l;
    struct ov_src base;
    struct ov_stack stack;
    struct temper_oci_config cfg;
    struct temper_oci_map ann;
    struct temper_oci_descriptor out;
    struct temper_artifact *art;     /* the image artifact being filled */
};

static int layers(struct build *b, const char *platform)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < b->base.m.n_layers; i++) {
        rc = ov_blob_copy(b->st, &b->base, b->l, &b->base.m.layers[i]);
        rc = rc == TEMPER_OK ? ov_stack_push(&b->stack, &b->base.m.layers[i],
                                             b->base.cfg.diff_ids.v[i], NULL)
                             : rc;
    }
    if (rc == TEMPER_OK) {
        rc = ov_add_packages(b->st, b->conf, b->req, platform, &b->base, b->l, &b->stack,
                             b->art);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < b->ic->artifacts.n; i++) {
        struct ov_artifact a;
        rc = ov_artifact_parse(b->st, b->ic->artifacts.v[i], &a);
        if (rc == TEMPER_OK) {
            TEMPER_LOG_INFO(b->st, "image %s: overlaying %s", b->req->def->name, a.ref);
            rc = ov_add_artifact(b->st, b->conf, b->req->source_date_epoch, b->l, &a, platform,
                                 &b->stack);
        }
        ov_artifact_cleanup(&a);
    }
    return rc;
}

static int write_image(struct build *b, const char *ref)
{
    size_t n_base = b->base.m.n_layers;
    b->cfg = b->base.cfg;
    memset(&b->base.cfg, 0, sizeof b->base.cfg); /* moved */
    int rc = apply_overrides(b->st, b->req, b->ic, &b->cfg);
    rc = rc == TEMPER_OK ? finish_config(b->st, b->req, &b->stack, n_base, &b->cfg) : rc;
    rc = rc == TEMPER_OK ? temper_oci_map_set(&b->ann, "org.opencontainers.image.base.digest",
                                              b->base.desc.digest)
                         : rc;
    const char *bname = b->req->def->base ? b->req->def->base : b->base.ref;
    rc = rc == TEMPER_OK ? temper_oci_map_set(&b->ann, "org.opencontainers.image.base.name",
                                              bname)
                         : rc;
    const char **ids = rc == TEMPER_OK ? calloc(b->stack.n + 1, sizeof *ids) : NULL;
    if (rc == TEMPER_OK && !ids) {
        rc = temper_fail(b->st, TEMPER_ENOMEM, "out of memory");
    }
    for (size_t i = 0; ids && i < b->stack.n; i++) {
        ids[i] = b->stack.diff_ids[i];
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_image_write(b->st, b->l, &b->cfg, b->stack.layers, ids, b->stack.n,
                                    &b->ann, ref, &b->out);
    }
    free(ids);
    return rc;
}

static int describe(struct build *b, struct temper_artifact *art, const char *platform,
                    const char *ref)
{
    int rc = temper_artifact_set_path(art, b->req->layout_dir);
    rc = rc == TEMPER_OK ? temper_artifact_set(art, TEMPER_ATTR_DIGEST, b->out.digest) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(art, TEMPER_ATTR_MEDIA_TYPE, b->out.media_type)
                         : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(art, TEMPER_ATTR_PLATFORM, platform) : rc;
    rc = rc == TEMPER_OK && b->req->variant
             ? temper_artifact_set(art, TEMPER_ATTR_VARIANT, b->req->variant)
             : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(art, TEMPER_ATTR_REF, ref) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(art, "base_digest", b->base.desc.digest) : rc;
    rc = rc == TEMPER_OK ? add_packages(art, b->req->base, b->req->def) : rc;
    return rc == TEMPER_OK ? rc : temper_fail(b->st, rc, "image %s: %s", b->req->def->name,
                                              temper_rc_str(rc));
}

static int ov_build(void *state, struct temper_stage *st, const struct temper_build_request *req)
{
    if (!req->def || !req->layout_dir || req->n_platforms == 0) {
        return temper_fail(st, TEMPER_EINVAL, "builder_overlay: incomplete build request");
    }
    const struct ov_image_conf *ic = req->image_conf;
    if (req->n_platforms > 1) {
        return temper_fail(st, TEMPER_ENOTSUP, "image %s: builder_overlay builds one platform "
                           "at a time", req->def->name);
    }
    struct build b = { .st = st, .req = req, .conf = state, .ic = ic };
    const char *platform = ic->base_platform ? ic->base_platform : req->platforms[0];
    struct temper_artifact *art = temper_artifact_new(TEMPER_ART_IMAGE, req->def->name);
    char *ref = image_ref(req, ic);
    int rc = art ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "out of memory");
    if (rc == TEMPER_OK && !ref) {
        rc = temper_fail(st, TEMPER_EINVAL, "image %s: the tag (version + tag_suffix) is not a "
                         "valid OCI tag", req->def->name);
    }
    rc = rc == TEMPER_OK ? open_base(st, b.conf, req, platform, &b.base) : rc;
    b.art = art;
    rc = rc == TEMPER_OK ? temper_oci_layout_create(st, req->layout_dir, &b.l) : rc;
    rc = rc == TEMPER_OK ? layers(&b, platform) : rc;
    rc = rc == TEMPER_OK ? write_image(&b, ref) : rc;
    rc = rc == TEMPER_OK ? describe(&b, art, platform, ref) : rc;
    if (rc == TEMPER_OK) {
        TEMPER_LOG_INFO(st, "image %s: %s (%zu layers on %s)", req->def->name, b.out.digest,
                        b.stack.n - b.base.m.n_layers, b.base.desc.digest);
        rc = temper_emit(st, art);
        art = NULL;
    }
    temper_artifact_free(art);
    free(ref);
    ov_src_cleanup(&b.base);
    ov_stack_cleanup(&b.stack);
    temper_oci_config_cleanup(&b.cfg);
    temper_oci_map_cleanup(&b.ann);
    temper_oci_descriptor_cleanup(&b.out);
    temper_oci_layout_free(b.l);
    return rc;
}

static const struct temper_builder_ops ov_ops = {
    .image_options = ov_image_options,
    .image_conf_size = sizeof(struct ov_image_conf),
    .build = ov_build,
};

TEMPER_PLUGIN(builder_overlay) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_BUILDER,
    .name = "overlay",
    .version = "0.1.0",
    .summary = "Customized images: OCI artifacts and config overrides on top of a base image",
    .options = ov_options,
    .conf_size = sizeof(struct ov_conf),
    .open = ov_open,
    .close = ov_close,
    .ops = &ov_ops,
    .ops_size = sizeof ov_ops,
};

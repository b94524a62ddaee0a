/* temper — publish_registry: push the image, its signatures and its
 * attestations to an OCI registry (include/temper/registry.h), then move the
 * tags, and emit one TEMPER_ART_REFERENCE per reference written.
 *
 * Order, so that no tag ever names an incomplete image: every blob (HEAD
 * first, mounted from mount_from when set), child manifests, the image
 * manifest by digest, the `.sig`/`.att` manifests by digest (with their
 * referrers: OCI-Subject or the referrers tag schema), and only then the
 * `sha256-<hex>.sig`/`.att` tags and the image tags. */
#include "config.h"

#include "preg.h"

#include <temper/publish.h>
#include <temper/sigstore.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREG_OPT(type, key, def, flags, field, min, max, doc) \
    { type, key, def, flags, offsetof(struct preg_conf, field), min, max, NULL, doc }

static const struct temper_option preg_options[] = {
    PREG_OPT(TEMPER_OPT_STR, "repository", NULL, TEMPER_OPT_REQUIRED, repository, 0, 0,
             "HOST[:PORT]/REPO to push to, no scheme; {image} is the image name"),
    PREG_OPT(TEMPER_OPT_LIST, "tags", NULL, TEMPER_OPT_MULTI, tags, 0, 0,
             "tag templates added to the run's tags: {version} {major} {minor} {patch} "
             "{image} {variant}, latest; a variant other than runtime adds -<variant>"),
    PREG_OPT(TEMPER_OPT_BOOL, "plain_http", "false", 0, plain_http, 0, 0,
             "talk http:// instead of https:// (loopback test registries)"),
    PREG_OPT(TEMPER_OPT_PATH, "ca_file", NULL, 0, ca_file, 0, 0,
             "PEM bundle replacing the default trust store (TLS is always verified)"),
    PREG_OPT(TEMPER_OPT_PATH, "credentials_file", NULL, 0, credentials_file, 0, 0,
             "file whose first line is user:password, or a token sent as Bearer"),
    PREG_OPT(TEMPER_OPT_PATH, "docker_config", NULL, 0, docker_config, 0, 0,
             "a Docker config.json whose auths entry for the host gives the credentials"),
    PREG_OPT(TEMPER_OPT_STR, "username", NULL, 0, username, 0, 0,
             "user name for basic auth or the token request (with password)"),
    PREG_OPT(TEMPER_OPT_STR, "password", NULL, TEMPER_OPT_SECRET, password, 0, 0,
             "password for username; prefer credentials_file or ${ENV} expansion"),
    PREG_OPT(TEMPER_OPT_SIZE, "chunk_size", "64M", 0, chunk_size, 65536, 1073741824,
             "size of one PATCH of a chunked upload"),
    PREG_OPT(TEMPER_OPT_SIZE, "monolithic_max", "128M", 0, monolithic_max, 0, 68719476736LL,
             "blobs up to this size go in one PUT; larger ones in chunks"),
    PREG_OPT(TEMPER_OPT_STR, "mount_from", NULL, 0, mount_from, 0, 0,
             "repository on the same registry to mount existing blobs from ({image})"),
    PREG_OPT(TEMPER_OPT_INT, "retries", "4", 0, retries, 0, 20,
             "retries of a request after a dropped connection, 5xx or 429"),
    PREG_OPT(TEMPER_OPT_DURATION, "stall_timeout", "30s", 0, stall_timeout, 1000, 3600000,
             "abort a transfer that moved no byte for this long"),
    PREG_OPT(TEMPER_OPT_BOOL, "referrers", "true", 0, referrers, 0, 0,
             "give the .sig/.att manifests an OCI 1.1 subject (referrers)"),
    TEMPER_OPTION_END,
};

struct preg_state {
    const struct preg_conf *conf;
};

/* One publish: what it needs, freed by push_cleanup(). */
struct push {
    struct temper_stage *st;
    const struct preg_conf *conf;
    struct temper_registry_ref ref;   /* host + repo */
    char *from;                       /* mount_from expanded, or NULL */
    struct temper_oci_layout *layout;
    struct temper_oci_descriptor image;
    struct temper_strlist tags;
    struct temper_registry *reg;
    struct temper_sigstore_object *att; /* the .sig/.att manifests in layout */
    size_t n_att;
};

static int preg_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct preg_conf *c = conf;
    struct preg_state *s = NULL;
    int given = !!c->credentials_file + !!c->docker_config + !!(c->username || c->password);
    if (given > 1 || !c->username != !c->password) {
        return temper_fail(st, TEMPER_EINVAL, "use one of credentials_file, docker_config or "
                           "username with password");
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    s->conf = c;
    *state = s;
    return TEMPER_OK;
}

static void preg_close(void *state)
{
    free(state);
}

/* "{image}" replaced in a repository template (new string). */
static char *expand_image(const char *tmpl, const char *image)
{
    const char *p = strstr(tmpl, "{image}");
    if (!p) {
        return strdup(tmpl);
    }
    return temper_strdupf("%.*s%s%s", (int)(p - tmpl), tmpl, image, p + 7);
}

static int resolve_repository(struct push *p, const char *image)
{
    char *repo = expand_image(p->conf->repository, image);
    int rc = repo ? temper_registry_ref_parse(repo, &p->ref) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && (p->ref.tag[0] || p->ref.digest[0])) {
        rc = TEMPER_EINVAL;
    }
    if (rc != TEMPER_OK) {
        rc = temper_fail(p->st, rc, "repository '%s' is not HOST[:PORT]/REPO",
                         repo ? repo : p->conf->repository);
    }
    free(repo);
    if (rc == TEMPER_OK && p->conf->mount_from) {
        p->from = expand_image(p->conf->mount_from, image);
        if (!p->from || !temper_registry_repo_valid(p->from)) {
            rc = temper_fail(p->st, TEMPER_EINVAL, "mount_from '%s' is not a repository name",
                             p->from ? p->from : p->conf->mount_from);
        }
    }
    return rc;
}

/* The image descriptor in its layout: by ref name, else by digest. */
static int find_image(struct push *p, const struct temper_artifact *img)
{
    const char *dir = temper_artifact_path(img);
    const char *digest = temper_artifact_get(img, TEMPER_ATTR_DIGEST);
    const char *ref = temper_artifact_get(img, TEMPER_ATTR_REF);
    const struct temper_oci_descriptor *d = NULL;
    if (!dir || !digest || !temper_oci_digest_valid(digest)) {
        return temper_fail(p->st, TEMPER_EINVAL, "image %s has no layout path or digest",
                           temper_artifact_name(img));
    }
    int rc = temper_oci_layout_open(p->st, dir, &p->layout);
    if (rc == TEMPER_OK && ref && temper_oci_layout_find(NULL, p->layout, ref, &d) == TEMPER_OK &&
        strcmp(d->digest, digest) != 0) {
        d = NULL;
    }
    const struct temper_oci_index *x = rc == TEMPER_OK ? temper_oci_layout_index(p->layout)
                                                       : NULL;
    for (size_t i = 0; !d && x && i < x->n_manifests; i++) {
        d = strcmp(x->manifests[i].digest, digest) == 0 ? &x->manifests[i] : NULL;
    }
    if (rc == TEMPER_OK && !d) {
        rc = temper_fail(p->st, TEMPER_ENOTFOUND, "%s: index.json has no entry for %s", dir,
                         digest);
    }
    rc = rc == TEMPER_OK ? temper_oci_descriptor_copy(&p->image, d) : rc;
    if (rc == TEMPER_OK) { /* the layout's ref name is not part of the push */
        rc = temper_oci_map_set(&p->image.annotations, TEMPER_OCI_ANN_REF_NAME, NULL);
    }
    return rc;
}

static int add_tag(struct push *p, const char *tag)
{
    for (size_t i = 0; i < p->tags.n; i++) {
        if (strcmp(p->tags.v[i], tag) == 0) {
            return TEMPER_OK;
        }
    }
    if (!temper_registry_tag_valid(tag)) {
        return temper_fail(p->st, TEMPER_EINVAL, "invalid tag '%s'", tag);
    }
    return temper_oci_list_push(&p->tags, tag);
}

static int collect_tags(struct push *p, const struct temper_publish_request *req)
{
    const struct temper_artifact *img = req->image;
    const char *image = temper_artifact_get(img, TEMPER_ATTR_IMAGE);
    const char *version = temper_artifact_get(img, "version");
    const char *variant = temper_artifact_get(img, TEMPER_ATTR_VARIANT);
    int rc = TEMPER_OK;
    version = version ? version : temper_artifact_get(img, TEMPER_ATTR_NEW_VERSION);
    for (size_t i = 0; rc == TEMPER_OK && i < req->n_tags; i++) {
        rc = add_tag(p, req->tags[i]);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < p->conf->tags.n; i++) {
        char *t = NULL, *note = NULL;
        /* a template without a value here is skipped with a note, so the
         * other tags still move (temper_tag_template_expand) */
        rc = temper_tag_template_expand(p->conf->tags.v[i],
                                        image ? image : temper_artifact_name(img), version,
                                        variant, &t, &note);
        if (rc != TEMPER_OK) {
            rc = temper_fail(p->st, rc, "%s", note ? note : "tag template cannot be expanded");
        } else if (t) {
            rc = add_tag(p, t);
        } else {
            TEMPER_LOG_INFO(p->st, "%s", note);
        }
        free(note);
        free(t);
    }
    return rc;
}

static int emit_ref(struct push *p, const char *sep, const char *what, const char *digest,
                    const char *kind)
{
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_REFERENCE, kind);
    const struct temper_registry_stats *s = temper_registry_stats(p->reg);
    int rc = a ? temper_artifact_setf(a, TEMPER_ATTR_REF, "%s/%s%s%s", p->ref.host,
                                      p->ref.repo, sep, what)
               : TEMPER_ENOMEM;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_DIGEST, digest) : rc;
    if (rc == TEMPER_OK && strcmp(kind, "image") == 0) {
        rc = temper_artifact_setf(a, "x-registry-blobs-uploaded", "%u", s->blobs_uploaded);
        rc = rc == TEMPER_OK ? temper_artifact_setf(a, "x-registry-bytes-uploaded", "%llu",
                                                    s->bytes_uploaded)
                             : rc;
    }
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return temper_fail(p->st, TEMPER_ENOMEM, "out of memory");
    }
    return temper_emit(p->st, a);
}

static int open_registry(struct push *p)
{
    struct temper_registry_opts o;
    temper_registry_opts_init(&o);
    o.plain_http = p->conf->plain_http;
    o.ca_file = p->conf->ca_file;
    o.credentials_file = p->conf->credentials_file;
    o.docker_config = p->conf->docker_config;
    o.username = p->conf->username;
    o.password = p->conf->password;
    o.chunk_size = p->conf->chunk_size;
    o.monolithic_max = p->conf->monolithic_max;
    o.max_retries = p->conf->retries > 0 ? (int)p->conf->retries : -1;
    o.stall_secs = (long)((p->conf->stall_timeout + 999) / 1000);
    return temper_registry_new(p->st, p->ref.host, &o, &p->reg);
}

/* Everything by digest, then the tags. */
static int push_all(struct push *p)
{
    const char *repo = p->ref.repo;
    int rc = temper_registry_push(p->reg, repo, p->layout, &p->image, p->from);
    for (size_t i = 0; rc == TEMPER_OK && i < p->n_att; i++) {
        rc = temper_registry_push(p->reg, repo, p->layout, &p->att[i].manifest, NULL);
    }
    rc = rc == TEMPER_OK ? emit_ref(p, "@", p->image.digest, p->image.digest, "image") : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < p->n_att; i++) {
        const struct temper_sigstore_object *o = &p->att[i];
        rc = temper_registry_tag(p->reg, repo, p->layout, &o->manifest, o->tag);
        rc = rc == TEMPER_OK ? emit_ref(p, ":", o->tag, o->manifest.digest,
                                        o->kind == TEMPER_SIGSTORE_SIG ? "signature"
                                                                       : "attestation")
                             : rc;
    }
    for (size_t i = 0; rc == TEMPER_OK && i < p->tags.n; i++) {
        rc = temper_registry_tag(p->reg, repo, p->layout, &p->image, p->tags.v[i]);
        rc = rc == TEMPER_OK ? emit_ref(p, ":", p->tags.v[i], p->image.digest, "tag") : rc;
    }
    return rc;
}

static void push_cleanup(struct push *p)
{
    temper_registry_free(p->reg);
    temper_sigstore_objects_free(p->att, p->n_att);
    temper_oci_list_cleanup(&p->tags);
    temper_oci_descriptor_cleanup(&p->image);
    temper_oci_layout_free(p->layout);
    free(p->from);
}

static int preg_publish(void *state, struct temper_stage *st,
                        const struct temper_publish_request *req)
{
    struct preg_state *s = state;
    struct push p = { .st = st, .conf = s->conf };
    const struct temper_artifact *img = req->image;
    const char *image = temper_artifact_get(img, TEMPER_ATTR_IMAGE);
    int rc = resolve_repository(&p, image ? image : temper_artifact_name(img));
    rc = rc == TEMPER_OK ? find_image(&p, img) : rc;
    rc = rc == TEMPER_OK ? collect_tags(&p, req) : rc;
    if (rc == TEMPER_OK) {
        /* referrers: the manifests get a `subject`; temper_registry_push then
         * updates the referrers tag schema index when the registry has no
         * referrers API (no OCI-Subject in its answer) */
        rc = temper_sigstore_attach_flags(st, p.layout, &p.image, req->extras, req->n_extras,
                                          s->conf->referrers ? 0 : TEMPER_SIGSTORE_NO_SUBJECT,
                                          &p.att, &p.n_att);
    }
    rc = rc == TEMPER_OK ? open_registry(&p) : rc;
    rc = rc == TEMPER_OK ? push_all(&p) : rc;
    if (rc == TEMPER_OK) {
        const struct temper_registry_stats *x = temper_registry_stats(p.reg);
        TEMPER_LOG_INFO(st, "pushed %s/%s@%s: %u blobs uploaded (%llu bytes), %u present, "
                        "%u mounted, %u manifests, %zu tags", p.ref.host, p.ref.repo,
                        p.image.digest, x->blobs_uploaded, x->bytes_uploaded,
                        x->blobs_present, x->blobs_mounted, x->manifests_put, p.tags.n);
    }
    push_cleanup(&p);
    return rc;
}

static const struct temper_publish_ops preg_ops = {
    .publish = preg_publish,
};

TEMPER_PLUGIN(publish_registry) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_PUBLISH,
    .name = "registry",
    .version = PACKAGE_VERSION,
    .summary = "Push images, signatures and attestations to an OCI registry",
    .options = preg_options,
    .conf_size = sizeof(struct preg_conf),
    .open = preg_open,
    .close = preg_close,
    .ops = &preg_ops,
    .ops_size = sizeof(preg_ops),
};

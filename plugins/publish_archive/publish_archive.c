/* temper — publish_archive: write the image as a tarball.
 *
 *   [publish "tarball"]
 *   plugin     = archive
 *   format     = oci-archive            ; or docker-archive
 *   path       = /srv/out/{image}-{tag}.tar
 *   repository = example.com/python     ; docker-archive RepoTags name
 *                                       ; (default: the image name)
 *
 * path placeholders: {image} (image name), {tag} (the first tag, else
 * "latest"), {digest} (the manifest digest's hex), {variant}, {format}.
 * The directory must exist.  The tarball is written to a temp file next to
 * it and renamed into place, so a reader never sees half of it.
 *
 * oci-archive: a tar of an OCI image layout holding the image, its cosign
 *   .sig/.att manifests and every tag (`skopeo inspect oci-archive:F:TAG`).
 * docker-archive: `docker save` form with uncompressed layers (see
 *   archive_docker.c), RepoTags "<repository>:<tag>" for every tag.
 * One TEMPER_ART_REFERENCE is emitted: ref "<format>:<path>", digest. */
#include "config.h"
#include "archive_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <temper/sigstore.h>

enum {
    FMT_OCI = 0,
    FMT_DOCKER = 1
};

static const char *const format_choices[] = { "oci-archive", "docker-archive", NULL };

struct archive_conf {
    int format;
    char *path;
    char *repository;
};

struct archive_state {
    const struct archive_conf *conf;
};

static const struct temper_option archive_options[] = {
    { TEMPER_OPT_ENUM, "format", "oci-archive", 0, offsetof(struct archive_conf, format), 0, 0,
      format_choices, "oci-archive (a tar of an OCI layout) or docker-archive (docker save form)" },
    { TEMPER_OPT_STR, "path", NULL, TEMPER_OPT_REQUIRED, offsetof(struct archive_conf, path), 0, 0,
      NULL, "tarball to write; {image} {tag} {digest} {variant} {format} are replaced" },
    { TEMPER_OPT_STR, "repository", NULL, 0, offsetof(struct archive_conf, repository), 0, 0, NULL,
      "docker-archive: repository name of the RepoTags (default: the image name)" },
    TEMPER_OPTION_END,
};

static int archive_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct archive_conf *c = conf;
    *state = NULL;
    if (!c || !c->path || !*c->path) {
        return temper_fail(st, TEMPER_EINVAL, "publish_archive needs path = FILE");
    }
    struct archive_state *s = calloc(1, sizeof *s);
    if (!s) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    s->conf = c;
    *state = s;
    return TEMPER_OK;
}

static void archive_close(void *state)
{
    free(state);
}

struct vars {
    const char *image, *tag, *digest_hex, *variant, *format;
};

static const char *var(const struct vars *v, const char *name, size_t len)
{
    const char *names[] = { "image", "tag", "digest", "variant", "format" };
    const char *vals[] = { v->image, v->tag, v->digest_hex, v->variant, v->format };
    for (size_t i = 0; i < 5; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) {
            return vals[i];
        }
    }
    return NULL;
}

/* Expand the path template; values may not contain '/'. */
static char *expand_path(struct temper_stage *st, const char *tmpl, const struct vars *v)
{
    struct temper_buf b;
    temper_buf_init(&b, 4096);
    int rc = TEMPER_OK;
    for (const char *p = tmpl; rc == TEMPER_OK && *p;) {
        const char *end = *p == '{' ? strchr(p, '}') : NULL;
        const char *val = end ? var(v, p + 1, (size_t)(end - p - 1)) : NULL;
        if (*p == '{' && (!val || strchr(val, '/') || strstr(val, ".."))) {
            rc = temper_fail(st, TEMPER_EINVAL,
                             "path '%s': unknown placeholder or a value "
                             "that is not a file name",
                             tmpl);
        } else if (*p == '{') {
            rc = temper_buf_puts(&b, val);
            p = end + 1;
        } else {
            size_t n = strcspn(p, "{");
            rc = temper_buf_append(&b, p, n ? n : 1);
            p += n ? n : 1;
        }
    }
    char *out = rc == TEMPER_OK ? temper_buf_take(&b, NULL) : NULL;
    temper_buf_cleanup(&b);
    return out;
}

/* A layout in the stage's work directory with the image, its cosign
 * objects and every tag: the content of the oci-archive. */
static int stage_layout(struct temper_stage *st, const struct temper_oci_layout *src,
                        const struct temper_oci_descriptor *img,
                        const struct temper_publish_request *req, char **dir)
{
    struct temper_oci_layout *l = NULL;
    struct temper_sigstore_object *objs = NULL;
    size_t n = 0;
    const char *wd = temper_stage_workdir(st);
    *dir = temper_strdupf("%s/oci-archive", wd ? wd : "/tmp");
    int rc = *dir ? temper_oci_layout_create(st, *dir, &l) : TEMPER_ENOMEM;
    rc = rc ? rc : temper_oci_image_copy(st, src, l, img, true);
    rc = rc ? rc : temper_sigstore_attach(st, l, img, req->extras, req->n_extras, &objs, &n);
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = temper_oci_layout_tag(st, l, &objs[i].manifest, objs[i].tag);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < req->n_tags; i++) {
        rc = temper_oci_layout_tag(st, l, img, req->tags[i]);
    }
    if (rc == TEMPER_OK && req->n_tags == 0) {
        rc = temper_oci_layout_tag(st, l, img, "latest");
    }
    temper_sigstore_objects_free(objs, n);
    temper_oci_layout_free(l);
    return rc;
}

static int repo_tags(const struct archive_conf *c, const struct temper_publish_request *req,
                     const char *image, struct temper_strlist *out)
{
    const char *repo = c->repository ? c->repository : image;
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < req->n_tags; i++) {
        char *t = temper_strdupf("%s:%s", repo, req->tags[i]);
        rc = t ? temper_oci_list_push(out, t) : TEMPER_ENOMEM;
        free(t);
    }
    return rc;
}

static int emit_ref(struct temper_stage *st, const char *fmt, const char *path, const char *digest)
{
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_REFERENCE, path);
    int rc = a ? temper_artifact_setf(a, TEMPER_ATTR_REF, "%s:%s", fmt, path) : TEMPER_ENOMEM;
    rc = rc ? rc : temper_artifact_set(a, TEMPER_ATTR_DIGEST, digest);
    rc = rc ? rc : temper_artifact_set(a, TEMPER_ATTR_FORMAT, fmt);
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return temper_fail(st, rc, "cannot record reference %s", path);
    }
    return temper_emit(st, a);
}

static int write_archive(struct temper_stage *st, const struct archive_conf *c,
                         const struct temper_oci_layout *src,
                         const struct temper_oci_descriptor *img,
                         const struct temper_publish_request *req, const char *image,
                         const char *path)
{
    char *dir = NULL;
    struct temper_strlist tags = { 0, NULL };
    int rc = TEMPER_OK;
    if (c->format == FMT_OCI) {
        rc = stage_layout(st, src, img, req, &dir);
        rc = rc ? rc : pubarc_write_oci(st, dir, path);
    } else if (img->media_type && strcmp(img->media_type, TEMPER_OCI_MT_MANIFEST) != 0 &&
               strcmp(img->media_type, TEMPER_DOCKER_MT_MANIFEST) != 0) {
        rc = temper_fail(st, TEMPER_ENOTSUP,
                         "docker-archive holds one single-platform image; "
                         "%s is a multi-platform index (use format = oci-archive)",
                         img->digest);
    } else {
        rc = repo_tags(c, req, image, &tags);
        rc = rc ? rc : pubarc_write_docker(st, src, img, (const char *const *)tags.v, tags.n, path);
    }
    free(dir);
    temper_oci_list_cleanup(&tags);
    return rc;
}

static int archive_publish(void *state, struct temper_stage *st,
                           const struct temper_publish_request *req)
{
    const struct archive_conf *c = ((const struct archive_state *)state)->conf;
    const struct temper_artifact *ia = req ? req->image : NULL;
    const char *srcdir = ia ? temper_artifact_path(ia) : NULL;
    const char *digest = ia ? temper_artifact_get(ia, TEMPER_ATTR_DIGEST) : NULL;
    const char *image = ia ? temper_artifact_get(ia, TEMPER_ATTR_IMAGE) : NULL;
    const char *variant = ia ? temper_artifact_get(ia, TEMPER_ATTR_VARIANT) : NULL;
    if (!srcdir || !digest || !temper_oci_digest_valid(digest)) {
        return temper_fail(st, TEMPER_EINVAL, "publish_archive: the image has no layout or digest");
    }
    image = image ? image : temper_artifact_name(ia);
    struct vars v = { image, req->n_tags ? req->tags[0] : "latest", digest + 7,
                      variant ? variant : "runtime", format_choices[c->format] };
    struct temper_oci_layout *src = NULL;
    struct temper_oci_descriptor img;
    memset(&img, 0, sizeof img);
    char *path = expand_path(st, c->path, &v);
    int rc = path ? temper_oci_layout_open(st, srcdir, &src) : TEMPER_EINVAL;
    rc = rc ? rc : temper_oci_layout_describe(st, src, digest, &img);
    rc = rc ? rc : write_archive(st, c, src, &img, req, image, path);
    rc = rc ? rc : emit_ref(st, format_choices[c->format], path, digest);
    if (rc == TEMPER_OK) {
        TEMPER_LOG_INFO(st, "wrote %s %s (%s)", format_choices[c->format], path, digest);
    }
    temper_oci_descriptor_cleanup(&img);
    temper_oci_layout_free(src);
    free(path);
    return rc;
}

static const struct temper_publish_ops archive_ops = {
    .publish = archive_publish,
};

TEMPER_PLUGIN(publish_archive) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_PUBLISH,
    .name = "archive",
    .version = PACKAGE_VERSION,
    .summary = "Write the image as an oci-archive or docker-archive tarball",
    .options = archive_options,
    .conf_size = sizeof(struct archive_conf),
    .open = archive_open,
    .close = archive_close,
    .ops = &archive_ops,
    .ops_size = sizeof archive_ops,
};

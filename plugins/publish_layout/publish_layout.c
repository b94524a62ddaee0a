/* temper — publish_layout: add the image, its cosign signature and its
 * attestations to an OCI image layout directory.
 *
 *   [publish "local"]
 *   plugin = layout
 *   path   = /srv/images/python        ; created when missing
 *   link   = true                      ; hard-link blobs when possible
 *
 * Order: every blob of the image (manifests, configs, layers; hard-linked
 * from the run's layout when both are on one file system, else copied;
 * symlinks are never followed and every blob is checked against its
 * digest), then the .sig and .att manifests (include/temper/sigstore.h),
 * then the tags: first sha256-<hex>.sig / .att, then the image's tags from
 * the request (already expanded by the core).  Each tag is one atomic
 * replacement of index.json under the layout's lock (temper_oci_layout_tag),
 * so a tag never names an image whose blobs are not all in.  One
 * TEMPER_ART_REFERENCE is emitted per tag: ref "oci:<path>:<tag>", digest,
 * media_type.  Without tags the image is only listed (untagged) in
 * index.json. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <temper/temper.h>
#include <temper/oci.h>
#include <temper/sigstore.h>

struct layout_conf {
    char *path;
    bool link;
};

struct layout_state {
    const struct layout_conf *conf;
};

static const struct temper_option layout_options[] = {
    { TEMPER_OPT_PATH, "path", NULL, TEMPER_OPT_REQUIRED, offsetof(struct layout_conf, path), 0, 0,
      NULL, "OCI image layout directory to add images to (created when missing); {image} "
      "in it is the image's name: one layout per image, as a registry has a repository "
      "per image" },
    { TEMPER_OPT_BOOL, "link", "true", 0, offsetof(struct layout_conf, link), 0, 0, NULL,
      "hard-link blobs from the run's layout when on the same file system instead of copying" },
    TEMPER_OPTION_END,
};

static int layout_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct layout_conf *c = conf;
    *state = NULL;
    if (!c || !c->path || !*c->path) {
        return temper_fail(st, TEMPER_EINVAL, "publish_layout needs path = DIR");
    }
    struct layout_state *s = calloc(1, sizeof *s);
    if (!s) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    s->conf = c;
    *state = s;
    return TEMPER_OK;
}

static void layout_close(void *state)
{
    free(state);
}

/* mkdir -p for the layout directory (mode 0755). */
static int make_dirs(struct temper_stage *st, const char *path)
{
    char *p = strdup(path);
    int rc = p ? TEMPER_OK : TEMPER_ENOMEM;
    for (char *s = p ? p + 1 : NULL; rc == TEMPER_OK && s;) {
        s = strchr(s, '/');
        if (s) {
            *s = '\0';
        }
        if (*p && mkdir(p, 0755) != 0 && errno != EEXIST) {
            rc = temper_fail(st, TEMPER_EIO, "cannot create %s: %s", p, strerror(errno));
        }
        if (s) {
            *s++ = '/';
        }
    }
    free(p);
    return rc;
}

static int emit_ref(struct temper_stage *st, const char *dir, const char *tag,
                    const struct temper_oci_descriptor *d)
{
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_REFERENCE, tag);
    int rc = a ? temper_artifact_setf(a, TEMPER_ATTR_REF, "oci:%s:%s", dir, tag) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_DIGEST, d->digest);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_MEDIA_TYPE, d->media_type);
    }
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return temper_fail(st, rc, "cannot record reference %s", tag);
    }
    return temper_emit(st, a);
}

static int tag_one(struct temper_stage *st, struct temper_oci_layout *l, const char *dir,
                   const struct temper_oci_descriptor *d, const char *tag)
{
    if (!temper_oci_ref_valid(tag)) {
        return temper_fail(st, TEMPER_EINVAL, "%s: '%s' is not a valid tag", dir, tag);
    }
    int rc = temper_oci_layout_tag(st, l, d, tag);
    return rc == TEMPER_OK ? emit_ref(st, dir, tag, d) : rc;
}

/* List the image untagged in index.json (when no tag names it). */
static int list_untagged(struct temper_stage *st, struct temper_oci_layout *l,
                         const struct temper_oci_descriptor *d)
{
    const struct temper_oci_index *cur = temper_oci_layout_index(l);
    struct temper_oci_index x;
    memset(&x, 0, sizeof x);
    for (size_t i = 0; cur && i < cur->n_manifests; i++) {
        if (strcmp(cur->manifests[i].digest, d->digest) == 0) {
            return TEMPER_OK;
        }
    }
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && cur && i < cur->n_manifests; i++) {
        rc = temper_oci_index_add(&x, &cur->manifests[i]);
    }
    rc = rc == TEMPER_OK ? temper_oci_index_add(&x, d) : rc;
    rc = rc == TEMPER_OK ? temper_oci_layout_write_index(st, l, &x) : rc;
    temper_oci_index_cleanup(&x);
    return rc;
}

static int publish_into(struct temper_stage *st, const struct layout_conf *c,
                        struct temper_oci_layout *src, struct temper_oci_layout *dst,
                        const char *digest, const struct temper_publish_request *req)
{
    struct temper_oci_descriptor img;
    memset(&img, 0, sizeof img);
    struct temper_sigstore_object *objs = NULL;
    size_t n_objs = 0;
    int rc = temper_oci_layout_describe(st, src, digest, &img);
    if (rc == TEMPER_OK) {
        rc = temper_oci_image_copy(st, src, dst, &img, c->link);
    }
    if (rc == TEMPER_OK) {
        rc = temper_sigstore_attach(st, dst, &img, req->extras, req->n_extras, &objs, &n_objs);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n_objs; i++) {
        rc = tag_one(st, dst, c->path, &objs[i].manifest, objs[i].tag);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < req->n_tags; i++) {
        rc = tag_one(st, dst, c->path, &img, req->tags[i]);
    }
    if (rc == TEMPER_OK && req->n_tags == 0) {
        rc = list_untagged(st, dst, &img);
    }
    if (rc == TEMPER_OK) {
        TEMPER_LOG_INFO(st, "published %s to %s (%zu tag(s), %zu signature object(s))", digest,
                        c->path, req->n_tags, n_objs);
    }
    temper_sigstore_objects_free(objs, n_objs);
    temper_oci_descriptor_cleanup(&img);
    return rc;
}

/* conf->path with every {image} replaced by the image's name (a plain name:
 * no '/', no "..", not empty). */
static char *layout_path(struct temper_stage *st, const char *tmpl, const char *image)
{
    struct temper_buf b;
    temper_buf_init(&b, 4096);
    int rc = TEMPER_OK;
    for (const char *p = tmpl; rc == TEMPER_OK && *p;) {
        if (strncmp(p, "{image}", 7) == 0) {
            if (!image || !*image || strchr(image, '/') || strcmp(image, ".") == 0 ||
                strcmp(image, "..") == 0) {
                rc = temper_fail(st, TEMPER_EINVAL, "publish_layout: image name '%s' cannot "
                                 "name a directory", image ? image : "");
                break;
            }
            rc = temper_buf_append(&b, image, strlen(image));
            p += 7;
        } else {
            rc = temper_buf_append(&b, p, 1);
            p++;
        }
    }
    char *out = rc == TEMPER_OK && b.data ? strdup(b.data) : NULL;
    temper_buf_cleanup(&b);
    return out;
}

static int layout_publish(void *state, struct temper_stage *st,
                          const struct temper_publish_request *req)
{
    const struct layout_state *s = state;
    const char *srcdir = req && req->image ? temper_artifact_path(req->image) : NULL;
    const char *digest =
        req && req->image ? temper_artifact_get(req->image, TEMPER_ATTR_DIGEST) : NULL;
    struct temper_oci_layout *src = NULL, *dst = NULL;
    if (!srcdir || !digest) {
        return temper_fail(st, TEMPER_EINVAL, "publish_layout: the image has no layout or digest");
    }
    struct layout_conf c = *s->conf;
    c.path = layout_path(st, s->conf->path, temper_artifact_name(req->image));
    int rc = c.path ? make_dirs(st, c.path) : TEMPER_EINVAL;
    if (rc == TEMPER_OK) {
        rc = temper_oci_layout_open(st, srcdir, &src);
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_layout_create(st, c.path, &dst);
    }
    if (rc == TEMPER_OK) {
        rc = publish_into(st, &c, src, dst, digest, req);
    }
    free(c.path);
    temper_oci_layout_free(dst);
    temper_oci_layout_free(src);
    return rc;
}

static const struct temper_publish_ops layout_ops = {
    .publish = layout_publish,
};

TEMPER_PLUGIN(publish_layout) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_PUBLISH,
    .name = "layout",
    .version = PACKAGE_VERSION,
    .summary = "Add the image and its cosign signature/attestations to an OCI layout directory",
    .options = layout_options,
    .conf_size = sizeof(struct layout_conf),
    .open = layout_open,
    .close = layout_close,
    .ops = &layout_ops,
    .ops_size = sizeof layout_ops,
};

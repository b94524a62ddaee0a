/* temper — writing cosign .sig / .att objects into an OCI layout, and the
 * layout side of the verification fetch interface (include/temper/sigstore.h). */
#include "config.h"
#include "sigstore_int.h"

#include <temper/buf.h>
#include <temper/dsse.h>
#include <temper/plugin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* go-containerregistry's zero time, which cosign's config blob carries. */
#define GO_ZERO_TIME "0001-01-01T00:00:00Z"

int temper_sigstore_tag(const char *image_digest, enum temper_sigstore_kind kind,
                        char out[TEMPER_SIGSTORE_TAG_LEN])
{
    out[0] = '\0';
    if (!image_digest || !temper_oci_digest_valid(image_digest) ||
        (kind != TEMPER_SIGSTORE_SIG && kind != TEMPER_SIGSTORE_ATT)) {
        return TEMPER_EINVAL;
    }
    int n = snprintf(out, TEMPER_SIGSTORE_TAG_LEN, "sha256-%s.%s", image_digest + 7,
                     kind == TEMPER_SIGSTORE_SIG ? "sig" : "att");
    return n > 0 && n < TEMPER_SIGSTORE_TAG_LEN ? TEMPER_OK : TEMPER_EINVAL;
}

void temper_sigstore_objects_free(struct temper_sigstore_object *objs, size_t n)
{
    for (size_t i = 0; objs && i < n; i++) {
        temper_oci_descriptor_cleanup(&objs[i].manifest);
    }
    free(objs);
}

/* Which object an artifact belongs in, or 0 when it is not about `digest`. */
static enum temper_sigstore_kind classify(const struct temper_artifact *a, const char *digest)
{
    if (!a || temper_artifact_type(a) != TEMPER_ART_SIGNATURE) {
        return 0;
    }
    const char *mt = temper_artifact_get(a, TEMPER_ATTR_MEDIA_TYPE);
    const char *sd = temper_artifact_get(a, TEMPER_ATTR_SIGNED_DIGEST);
    size_t len = 0;
    const char *data = temper_artifact_data(a, &len);
    if (!mt || !data || len == 0) {
        return 0;
    }
    if (strcmp(mt, TEMPER_COSIGN_MT_SIMPLESIGNING) == 0) {
        return sd && strcmp(sd, digest) == 0 && temper_artifact_get(a, "signature")
                   ? TEMPER_SIGSTORE_SIG
                   : 0;
    }
    if (strcmp(mt, TEMPER_DSSE_MEDIA_TYPE) != 0) {
        return 0;
    }
    if (sd && *sd) {
        return strcmp(sd, digest) == 0 ? TEMPER_SIGSTORE_ATT : 0;
    }
    return sigstore_envelope_about(data, len, digest + 7, NULL) ? TEMPER_SIGSTORE_ATT : 0;
}

/* cosign's minimal config: an image config over the layer digests. */
static int config_blob(struct temper_stage *st, struct temper_oci_layout *l,
                       const struct temper_oci_descriptor *layers, size_t n,
                       struct temper_oci_descriptor *out)
{
    struct temper_buf b;
    temper_buf_init(&b, 0);
    int rc = temper_buf_puts(&b, "{\"architecture\":\"\",\"created\":\"" GO_ZERO_TIME
                                 "\",\"history\":[");
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = temper_buf_printf(&b, "%s{\"created\":\"" GO_ZERO_TIME "\"}", i ? "," : "");
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_puts(&b, "],\"os\":\"\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = temper_buf_printf(&b, "%s\"%s\"", i ? "," : "", layers[i].digest);
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_puts(&b, "]},\"config\":{}}");
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_blob_write(st, l, TEMPER_OCI_MT_CONFIG, b.data, b.len, out);
    } else {
        rc = temper_fail(st, rc, "cannot build the cosign config: %s", temper_rc_str(rc));
    }
    temper_buf_cleanup(&b);
    return rc;
}

/* Store one artifact's bytes as a layer blob with its cosign annotation. */
static int add_layer(struct temper_stage *st, struct temper_oci_layout *l,
                     const struct temper_artifact *a, enum temper_sigstore_kind kind,
                     struct temper_oci_descriptor *d)
{
    size_t len = 0;
    const void *data = temper_artifact_data(a, &len);
    const char *mt =
        kind == TEMPER_SIGSTORE_SIG ? TEMPER_COSIGN_MT_SIMPLESIGNING : TEMPER_DSSE_MEDIA_TYPE;
    int rc = temper_oci_blob_write(st, l, mt, data, len, d);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (kind == TEMPER_SIGSTORE_SIG) {
        rc = temper_oci_map_set(&d->annotations, TEMPER_COSIGN_ANN_SIGNATURE,
                                temper_artifact_get(a, "signature"));
    } else {
        const char *pt = temper_artifact_get(a, TEMPER_ATTR_PREDICATE_TYPE);
        rc = temper_oci_map_set(&d->annotations, TEMPER_COSIGN_ANN_PREDICATE_TYPE,
                                pt ? pt : "https://cosign.sigstore.dev/attestation/v1");
    }
    return rc == TEMPER_OK ? rc : temper_fail(st, rc, "cannot annotate %s", d->digest);
}

static int subject_of(const struct temper_oci_descriptor *image, struct temper_oci_descriptor **out)
{
    struct temper_oci_descriptor *s = calloc(1, sizeof *s);
    if (!s) {
        return TEMPER_ENOMEM;
    }
    s->media_type = strdup(image->media_type ? image->media_type : TEMPER_OCI_MT_MANIFEST);
    memcpy(s->digest, image->digest, sizeof s->digest);
    s->size = image->size;
    *out = s;
    return s->media_type ? TEMPER_OK : TEMPER_ENOMEM;
}

/* Build and store one manifest over the artifacts of `kind`. */
static int write_object(struct temper_stage *st, struct temper_oci_layout *l,
                        const struct temper_oci_descriptor *image,
                        const struct temper_artifact *const *extras, size_t n_extras,
                        enum temper_sigstore_kind kind, unsigned flags,
                        struct temper_sigstore_object *obj)
{
    struct temper_oci_manifest m;
    memset(&m, 0, sizeof m);
    char *json = NULL;
    size_t len = 0, k = 0;
    int rc = TEMPER_OK;
    m.schema_version = 2;
    m.layers = calloc(n_extras ? n_extras : 1, sizeof *m.layers);
    m.artifact_type = strdup(kind == TEMPER_SIGSTORE_SIG ? TEMPER_COSIGN_ARTIFACT_SIG
                                                         : TEMPER_COSIGN_ARTIFACT_ATT);
    if (!m.layers || !m.artifact_type) {
        rc = temper_fail(st, TEMPER_ENOMEM, "out of memory building a cosign manifest");
        goto out;
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n_extras; i++) {
        if (classify(extras[i], image->digest) == kind) {
            rc = add_layer(st, l, extras[i], kind, &m.layers[k]);
            m.n_layers = ++k;
        }
    }
    if (rc == TEMPER_OK) {
        rc = config_blob(st, l, m.layers, m.n_layers, &m.config);
    }
    if (rc == TEMPER_OK && !(flags & TEMPER_SIGSTORE_NO_SUBJECT)) {
        rc = subject_of(image, &m.subject);
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_manifest_json(st, &m, &json, &len);
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_blob_write(st, l, TEMPER_OCI_MT_MANIFEST, json, len, &obj->manifest);
    }
    if (rc == TEMPER_OK) {
        obj->kind = kind;
        obj->n_layers = m.n_layers;
        obj->manifest.artifact_type = strdup(m.artifact_type);
        rc = obj->manifest.artifact_type ? temper_sigstore_tag(image->digest, kind, obj->tag)
                                         : TEMPER_ENOMEM;
    }
out:
    free(json);
    temper_oci_manifest_cleanup(&m);
    return rc;
}

int temper_sigstore_attach(struct temper_stage *st, struct temper_oci_layout *l,
                           const struct temper_oci_descriptor *image,
                           const struct temper_artifact *const *extras, size_t n_extras,
                           struct temper_sigstore_object **out, size_t *n_out)
{
    return temper_sigstore_attach_flags(st, l, image, extras, n_extras, 0, out, n_out);
}

int temper_sigstore_attach_flags(struct temper_stage *st, struct temper_oci_layout *l,
                                 const struct temper_oci_descriptor *image,
                                 const struct temper_artifact *const *extras, size_t n_extras,
                                 unsigned flags, struct temper_sigstore_object **out,
                                 size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!l || !image || !temper_oci_digest_valid(image->digest) || (n_extras && !extras) ||
        (flags & ~(unsigned)TEMPER_SIGSTORE_NO_SUBJECT)) {
        return temper_fail(st, TEMPER_EINVAL, "sigstore attach: bad arguments");
    }
    size_t count[3] = { 0, 0, 0 };
    for (size_t i = 0; i < n_extras; i++) {
        count[classify(extras[i], image->digest)]++;
    }
    struct temper_sigstore_object *objs = calloc(2, sizeof *objs);
    if (!objs) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    size_t n = 0;
    int rc = TEMPER_OK;
    for (int kind = TEMPER_SIGSTORE_SIG; rc == TEMPER_OK && kind <= TEMPER_SIGSTORE_ATT; kind++) {
        if (count[kind] > 0) {
            rc = write_object(st, l, image, extras, n_extras, kind, flags, &objs[n]);
            n++;
        }
    }
    if (rc != TEMPER_OK) {
        temper_sigstore_objects_free(objs, n);
        return rc;
    }
    *out = objs;
    *n_out = n;
    return TEMPER_OK;
}

/* ---- layout fetch -------------------------------------------------------- */

static int layout_get_manifest(void *ctx, struct temper_stage *st, const char *tag, size_t max,
                               char **json, size_t *len)
{
    const struct temper_oci_layout *l = ctx;
    const struct temper_oci_index *x = temper_oci_layout_index(l);
    const struct temper_oci_descriptor *d = NULL;
    for (size_t i = 0; x && i < x->n_manifests; i++) {
        const char *ref = temper_oci_map_get(&x->manifests[i].annotations, TEMPER_OCI_ANN_REF_NAME);
        if (ref && strcmp(ref, tag) == 0) {
            d = &x->manifests[i];
        }
    }
    if (!d) {
        return TEMPER_ENOTFOUND;
    }
    return temper_oci_blob_read(st, l, d, max, json, len);
}

static int layout_get_blob(void *ctx, struct temper_stage *st,
                           const struct temper_oci_descriptor *d, size_t max, char **data,
                           size_t *len)
{
    return temper_oci_blob_read(st, ctx, d, max, data, len);
}

void temper_sigstore_layout_fetch(const struct temper_oci_layout *l,
                                  struct temper_sigstore_fetch *f)
{
    memset(f, 0, sizeof *f);
    f->size = sizeof *f;
    f->ctx = (void *)(uintptr_t)l;
    f->get_manifest = layout_get_manifest;
    f->get_blob = layout_get_blob;
}

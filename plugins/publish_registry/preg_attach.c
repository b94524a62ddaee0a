/* temper — publish_registry: cosign-convention signature (`.sig`) and
 * attestation (`.att`) manifests, written into the image's layout.
 *
 *   .sig: one layer per simple-signing payload, media type
 *         application/vnd.dev.cosign.simplesigning.v1+json, the base64
 *         signature in the dev.cosignproject.cosign/signature annotation;
 *   .att: one layer per DSSE envelope, application/vnd.dsse.envelope.v1+json,
 *         the predicate type in the "predicateType" annotation.
 * Both have an OCI image config listing the layers as diff_ids (as cosign
 * writes it) and, for OCI 1.1 referrers, `subject` = the image. */
#include "config.h"

#include "preg.h"

#include <temper/dsse.h>
#include <temper/json.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COSIGN_PAYLOAD_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define COSIGN_SIG_ANN "dev.cosignproject.cosign/signature"
/* cosign's referrers-mode artifact types (registries index referrers by it) */
#define COSIGN_ARTIFACT_SIG "application/vnd.dev.cosign.artifact.sig.v1+json"
#define COSIGN_ARTIFACT_ATT "application/vnd.dev.cosign.artifact.att.v1+json"

enum { KIND_SIG = 0, KIND_ATT = 1 };

/* Which manifest an artifact goes to, or -1. */
static int artifact_kind(const struct temper_artifact *a, const char *digest)
{
    const char *mt = temper_artifact_get(a, TEMPER_ATTR_MEDIA_TYPE);
    const char *sd = temper_artifact_get(a, TEMPER_ATTR_SIGNED_DIGEST);
    if (temper_artifact_type(a) != TEMPER_ART_SIGNATURE || !mt || !sd ||
        strcmp(sd, digest) != 0) {
        return -1;
    }
    if (strcmp(mt, COSIGN_PAYLOAD_TYPE) == 0 && temper_artifact_get(a, "signature")) {
        return KIND_SIG;
    }
    return strcmp(mt, TEMPER_DSSE_MEDIA_TYPE) == 0 ? KIND_ATT : -1;
}

static int add_layer(struct temper_stage *st, struct temper_oci_layout *l,
                     struct temper_oci_manifest *m, const struct temper_artifact *a, int kind)
{
    size_t len = 0;
    const void *data = temper_artifact_data(a, &len);
    if (!data || len == 0) {
        return temper_fail(st, TEMPER_EINVAL, "signature %s has no content",
                           temper_artifact_name(a));
    }
    struct temper_oci_descriptor *v = realloc(m->layers, (m->n_layers + 1) * sizeof *v);
    if (!v) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    m->layers = v;
    struct temper_oci_descriptor *d = &v[m->n_layers];
    memset(d, 0, sizeof *d);
    m->n_layers++;
    int rc = temper_oci_blob_write(st, l, kind == KIND_SIG ? COSIGN_PAYLOAD_TYPE
                                                           : TEMPER_DSSE_MEDIA_TYPE,
                                   data, len, d);
    const char *pt = temper_artifact_get(a, TEMPER_ATTR_PREDICATE_TYPE);
    if (rc == TEMPER_OK && kind == KIND_SIG) {
        rc = temper_oci_map_set(&d->annotations, COSIGN_SIG_ANN,
                                temper_artifact_get(a, "signature"));
    } else if (rc == TEMPER_OK && pt) {
        rc = temper_oci_map_set(&d->annotations, "predicateType", pt);
    }
    return rc;
}

/* cosign's config: empty platform, rootfs.diff_ids = the layer digests
 * (temper_oci_config_json insists on a platform, so it is built here). */
static int write_config(struct temper_stage *st, struct temper_oci_layout *l,
                        struct temper_oci_manifest *m)
{
    json_object *root = json_object_new_object();
    json_object *rootfs = json_object_new_object();
    json_object *ids = json_object_new_array();
    char *json = NULL;
    size_t len = 0;
    int rc = root && rootfs && ids ? TEMPER_OK : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && i < m->n_layers; i++) {
        rc = temper_json_append(ids, json_object_new_string(m->layers[i].digest));
    }
    if (rc == TEMPER_OK) {
        rc = temper_json_add(rootfs, "diff_ids", ids);
        ids = NULL;
    }
    rc = rc == TEMPER_OK ? temper_json_add(rootfs, "type", json_object_new_string("layers"))
                         : rc;
    if (rc == TEMPER_OK) {
        rc = temper_json_add(root, "rootfs", rootfs);
        rootfs = NULL;
    }
    rc = rc == TEMPER_OK ? temper_json_add(root, "architecture", json_object_new_string(""))
                         : rc;
    rc = rc == TEMPER_OK ? temper_json_add(root, "os", json_object_new_string("")) : rc;
    rc = rc == TEMPER_OK ? temper_json_add(root, "config", json_object_new_object()) : rc;
    rc = rc == TEMPER_OK ? temper_json_canonical(root, &json, &len) : rc;
    rc = rc == TEMPER_OK ? temper_oci_blob_write(st, l, TEMPER_OCI_MT_CONFIG, json, len,
                                                 &m->config)
                         : rc;
    free(json);
    json_object_put(ids);
    json_object_put(rootfs);
    json_object_put(root);
    return rc;
}

static int finish_manifest(struct temper_stage *st, struct temper_oci_layout *l,
                           struct temper_oci_manifest *m,
                           const struct temper_oci_descriptor *image, bool with_subject,
                           const char *suffix, struct preg_attached *out)
{
    char *json = NULL;
    size_t len = 0;
    int rc = write_config(st, l, m);
    if (rc == TEMPER_OK && with_subject) {
        m->subject = calloc(1, sizeof *m->subject);
        rc = m->subject ? TEMPER_OK : TEMPER_ENOMEM;
        if (rc == TEMPER_OK) {
            rc = temper_oci_descriptor_copy(m->subject, image);
        }
        if (rc == TEMPER_OK) { /* a subject carries no platform or annotations */
            temper_oci_platform_cleanup(m->subject->platform);
            free(m->subject->platform);
            m->subject->platform = NULL;
            temper_oci_map_cleanup(&m->subject->annotations);
        }
    }
    m->schema_version = 2;
    if (rc == TEMPER_OK) {
        m->artifact_type = strdup(strcmp(suffix, "sig") == 0 ? COSIGN_ARTIFACT_SIG
                                                             : COSIGN_ARTIFACT_ATT);
        rc = m->artifact_type ? TEMPER_OK : TEMPER_ENOMEM;
    }
    rc = rc == TEMPER_OK ? temper_oci_manifest_json(st, m, &json, &len) : rc;
    rc = rc == TEMPER_OK ? temper_oci_blob_write(st, l, TEMPER_OCI_MT_MANIFEST, json, len,
                                                 &out->desc)
                         : rc;
    if (rc == TEMPER_OK) {
        snprintf(out->tag, sizeof out->tag, "sha256-%s.%s", image->digest + 7, suffix);
    }
    free(json);
    return rc;
}

int preg_attach(struct temper_stage *st, struct temper_oci_layout *l,
                const struct temper_oci_descriptor *image,
                const struct temper_artifact *const *extras, size_t n_extras,
                bool with_subject, struct preg_attached out[2], size_t *n)
{
    struct temper_oci_manifest m[2];
    static const char *const suffix[2] = { "sig", "att" };
    int rc = TEMPER_OK;
    memset(m, 0, sizeof m);
    *n = 0;
    for (size_t i = 0; rc == TEMPER_OK && i < n_extras; i++) {
        int k = artifact_kind(extras[i], image->digest);
        if (k >= 0) {
            rc = add_layer(st, l, &m[k], extras[i], k);
        }
    }
    for (int k = 0; rc == TEMPER_OK && k < 2; k++) {
        if (m[k].n_layers > 0) {
            rc = finish_manifest(st, l, &m[k], image, with_subject, suffix[k], &out[*n]);
            *n += rc == TEMPER_OK ? 1 : 0;
        }
    }
    temper_oci_manifest_cleanup(&m[0]);
    temper_oci_manifest_cleanup(&m[1]);
    return rc == TEMPER_ENOMEM ? temper_fail(st, rc, "out of memory") : rc;
}

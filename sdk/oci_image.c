/* temper — whole images in a layout: reading manifests, indexes and configs,
 * writing a single-platform image and a multi-platform index. */
#include "config.h"
#include "oci_int.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum json_kind { KIND_MANIFEST, KIND_INDEX, KIND_CONFIG };

/* Read the blob d points to (capped, verified) and parse it as `kind`. */
static int read_json_blob(struct temper_stage *st, const struct temper_oci_layout *l,
                          const struct temper_oci_descriptor *d, enum json_kind kind,
                          void *out)
{
    char what[128];
    snprintf(what, sizeof what, "blob %s", temper_oci_digest_valid(d->digest) ? d->digest : "?");
    char *data = NULL;
    size_t len = 0;
    int rc = temper_oci_blob_read(st, l, d, TEMPER_OCI_MAX_JSON, &data, &len);
    if (rc == TEMPER_OK && kind == KIND_MANIFEST) {
        rc = temper_oci_manifest_parse(st, what, data, len, out);
    } else if (rc == TEMPER_OK && kind == KIND_INDEX) {
        rc = temper_oci_index_parse(st, what, data, len, out);
    } else if (rc == TEMPER_OK) {
        rc = temper_oci_config_parse(st, what, data, len, out);
    }
    free(data);
    return rc;
}

int temper_oci_read_manifest(struct temper_stage *st, const struct temper_oci_layout *l,
                             const struct temper_oci_descriptor *d,
                             struct temper_oci_manifest *out)
{
    return read_json_blob(st, l, d, KIND_MANIFEST, out);
}

int temper_oci_read_index(struct temper_stage *st, const struct temper_oci_layout *l,
                          const struct temper_oci_descriptor *d, struct temper_oci_index *out)
{
    return read_json_blob(st, l, d, KIND_INDEX, out);
}

int temper_oci_read_config(struct temper_stage *st, const struct temper_oci_layout *l,
                           const struct temper_oci_descriptor *d, struct temper_oci_config *out)
{
    return read_json_blob(st, l, d, KIND_CONFIG, out);
}

/* The blob d points to exists in l with d's size. */
static int check_blob(struct temper_stage *st, const struct temper_oci_layout *l,
                      const struct temper_oci_descriptor *d, const char *what, size_t i)
{
    if (!d->media_type || !temper_oci_digest_valid(d->digest)) {
        return temper_fail(st, TEMPER_EINVAL, "%s: %s %zu: invalid descriptor",
                           temper_oci_layout_path(l), what, i);
    }
    int fd = -1;
    long long size = 0;
    int rc = oci_blob_open(st, l, d->digest, &fd, &size);
    if (rc != TEMPER_OK) {
        return rc;
    }
    close(fd);
    if (size != d->size) {
        return temper_fail(st, TEMPER_EINVAL, "%s: %s %s has %lld bytes, its descriptor says %lld",
                           temper_oci_layout_path(l), what, d->digest, size, d->size);
    }
    return TEMPER_OK;
}

/* ref is valid (or NULL) and every blob of v[0..n) is in the layout. */
static int check_inputs(struct temper_stage *st, const struct temper_oci_layout *l,
                        const char *ref, const struct temper_oci_descriptor *v, size_t n,
                        const char *what)
{
    if (ref && !temper_oci_ref_valid(ref)) {
        return temper_fail(st, TEMPER_EINVAL, "%s: invalid reference name",
                           temper_oci_layout_path(l));
    }
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = check_blob(st, l, &v[i], what, i);
    }
    return rc;
}

/* Serialise and store; *desc gets the blob's descriptor. */
static int store_config(struct temper_stage *st, struct temper_oci_layout *l,
                        const struct temper_oci_config *config, const char *const *diff_ids,
                        size_t n, struct temper_oci_descriptor *desc)
{
    if (config->diff_ids.n > 0) {
        bool same = config->diff_ids.n == n;
        for (size_t i = 0; same && i < n; i++) {
            same = strcmp(config->diff_ids.v[i], diff_ids[i]) == 0;
        }
        if (!same) {
            return temper_fail(st, TEMPER_EINVAL,
                               "%s: the config's diff_ids do not match the layers",
                               temper_oci_layout_path(l));
        }
    }
    /* a shallow copy whose diff_ids borrow the caller's strings */
    struct temper_oci_config c = *config;
    c.diff_ids.n = n;
    c.diff_ids.v = calloc(n + 1, sizeof *c.diff_ids.v);
    if (!c.diff_ids.v) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", temper_oci_layout_path(l));
    }
    for (size_t i = 0; i < n; i++) {
        c.diff_ids.v[i] = (char *)(uintptr_t)diff_ids[i];
    }
    char *json = NULL;
    size_t len = 0;
    int rc = temper_oci_config_json(st, &c, &json, &len);
    free(c.diff_ids.v);
    if (rc == TEMPER_OK) {
        rc = temper_oci_blob_write(st, l, TEMPER_OCI_MT_CONFIG, json, len, desc);
    }
    free(json);
    return rc;
}

static int set_platform(struct temper_oci_descriptor *d, const struct temper_oci_config *c)
{
    d->platform = calloc(1, sizeof *d->platform);
    if (!d->platform) {
        return TEMPER_ENOMEM;
    }
    int rc = oci_strdup(&d->platform->architecture, c->architecture);
    if (rc == TEMPER_OK) {
        rc = oci_strdup(&d->platform->os, c->os);
    }
    if (rc == TEMPER_OK && c->variant && *c->variant) {
        rc = oci_strdup(&d->platform->variant, c->variant);
    }
    return rc;
}

/* Tag (when ref) and hand d to out (when out), cleaning d up either way. */
static int tag_and_return(struct temper_stage *st, struct temper_oci_layout *l,
                          struct temper_oci_descriptor *d, const char *ref,
                          struct temper_oci_descriptor *out)
{
    int rc = ref ? temper_oci_layout_tag(st, l, d, ref) : TEMPER_OK;
    if (rc == TEMPER_OK && out) {
        temper_oci_descriptor_cleanup(out);
        *out = *d;
        memset(d, 0, sizeof *d);
    }
    temper_oci_descriptor_cleanup(d);
    return rc;
}

int temper_oci_image_write(struct temper_stage *st, struct temper_oci_layout *l,
                           const struct temper_oci_config *config,
                           const struct temper_oci_descriptor *layers,
                           const char *const *diff_ids, size_t n_layers,
                           const struct temper_oci_map *annotations, const char *ref,
                           struct temper_oci_descriptor *out)
{
    int rc = check_inputs(st, l, ref, layers, n_layers, "layer");
    for (size_t i = 0; rc == TEMPER_OK && i < n_layers; i++) {
        if (!temper_oci_digest_valid(diff_ids[i])) {
            rc = temper_fail(st, TEMPER_EINVAL, "%s: layer %zu: invalid diff_id",
                             temper_oci_layout_path(l), i);
        }
    }
    struct temper_oci_manifest m = { .schema_version = 2 };
    if (rc == TEMPER_OK) {
        rc = store_config(st, l, config, diff_ids, n_layers, &m.config);
    }
    /* layers and annotations are borrowed: only m.config is owned */
    m.layers = (struct temper_oci_descriptor *)(uintptr_t)layers;
    m.n_layers = n_layers;
    if (annotations) {
        m.annotations = *annotations;
    }
    char *json = NULL;
    size_t len = 0;
    struct temper_oci_descriptor md = { 0 };
    if (rc == TEMPER_OK) {
        rc = temper_oci_manifest_json(st, &m, &json, &len);
    }
    temper_oci_descriptor_cleanup(&m.config);
    if (rc == TEMPER_OK) {
        rc = temper_oci_blob_write(st, l, TEMPER_OCI_MT_MANIFEST, json, len, &md);
    }
    free(json);
    if (rc == TEMPER_OK && set_platform(&md, config) != TEMPER_OK) {
        rc = temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", temper_oci_layout_path(l));
    }
    if (rc != TEMPER_OK) {
        temper_oci_descriptor_cleanup(&md);
        return rc;
    }
    return tag_and_return(st, l, &md, ref, out);
}

int temper_oci_index_write(struct temper_stage *st, struct temper_oci_layout *l,
                           const struct temper_oci_descriptor *manifests, size_t n,
                           const struct temper_oci_map *annotations, const char *ref,
                           struct temper_oci_descriptor *out)
{
    int rc = check_inputs(st, l, ref, manifests, n, "manifest");
    struct temper_oci_index x = { .schema_version = 2 };
    x.manifests = (struct temper_oci_descriptor *)(uintptr_t)manifests;
    x.n_manifests = n;
    if (annotations) {
        x.annotations = *annotations;
    }
    char *json = NULL;
    size_t len = 0;
    struct temper_oci_descriptor d = { 0 };
    if (rc == TEMPER_OK) {
        rc = temper_oci_index_json(st, &x, &json, &len);
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_blob_write(st, l, TEMPER_OCI_MT_INDEX, json, len, &d);
    }
    free(json);
    if (rc != TEMPER_OK) {
        temper_oci_descriptor_cleanup(&d);
        return rc;
    }
    return tag_and_return(st, l, &d, ref, out);
}

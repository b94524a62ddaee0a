/* temper — whole images: push a layout's manifest or index (blobs first,
 * then children, then the manifest by digest), tags, referrers through the
 * tag schema, and pull into a layout. */
#include "config.h"

#include "registry_int.h"

#include <temper/buf.h>
#include <temper/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_manifest_bytes(struct temper_registry *r, const struct temper_oci_layout *l,
                               const struct temper_oci_descriptor *d, char **body, size_t *len)
{
    if (!temper_oci_is_index_type(d->media_type) &&
        !temper_oci_is_manifest_type(d->media_type)) {
        return temper_fail(r->st, TEMPER_EFORMAT, "%s: %s is not a manifest or an index",
                           temper_oci_layout_path(l), d->digest);
    }
    return temper_oci_blob_read(r->st, l, d, r->o.max_manifest, body, len);
}

/* Add d to the referrers tag schema index of `subject`. */
static int add_referrer_tag(struct temper_registry *r, const char *repo, const char *subject,
                            const struct temper_oci_descriptor *d,
                            const struct temper_oci_manifest *m)
{
    struct temper_registry_manifest cur = { 0 };
    struct temper_oci_index x = { 0 };
    struct temper_oci_descriptor e = { 0 };
    char tag[80], *json = NULL;
    size_t len = 0;
    snprintf(tag, sizeof tag, "sha256-%s", subject + 7);
    int rc = reg_manifest_get_quiet(r, repo, tag, &cur);
    if (rc == TEMPER_OK) {
        rc = temper_oci_index_parse(r->st, tag, cur.body, cur.len, &x);
    } else if (rc == TEMPER_ENOTFOUND) {
        rc = TEMPER_OK;
    }
    for (size_t i = 0; rc == TEMPER_OK && i < x.n_manifests; i++) {
        if (strcmp(x.manifests[i].digest, d->digest) == 0) {
            goto out; /* already listed */
        }
    }
    if (rc == TEMPER_OK && x.n_manifests >= REG_REFERRERS_MAX) {
        rc = temper_fail(r->st, TEMPER_ELIMIT, "%s:%s: too many referrers", repo, tag);
    }
    if (rc == TEMPER_OK) {
        e.media_type = strdup(d->media_type);
        memcpy(e.digest, d->digest, sizeof e.digest);
        e.size = d->size;
        const char *at = m->artifact_type ? m->artifact_type : m->config.media_type;
        e.artifact_type = at ? strdup(at) : NULL;
        rc = e.media_type ? TEMPER_OK : TEMPER_ENOMEM;
    }
    for (size_t i = 0; rc == TEMPER_OK && i < m->annotations.n; i++) {
        rc = temper_oci_map_set(&e.annotations, m->annotations.v[i].key,
                                m->annotations.v[i].value);
    }
    rc = rc == TEMPER_OK ? temper_oci_index_add(&x, &e) : rc;
    if (rc == TEMPER_OK) {
        free(x.media_type);
        x.media_type = NULL;
        x.schema_version = 2;
        rc = temper_oci_index_json(r->st, &x, &json, &len);
    }
    if (rc == TEMPER_OK) {
        rc = temper_registry_manifest_put(r, repo, tag, TEMPER_OCI_MT_INDEX, json, len, NULL,
                                          NULL);
    }
out:
    free(json);
    temper_oci_descriptor_cleanup(&e);
    temper_oci_index_cleanup(&x);
    temper_registry_manifest_cleanup(&cur);
    return rc;
}

static int push_node(struct temper_registry *r, const char *repo,
                     const struct temper_oci_layout *l, const struct temper_oci_descriptor *d,
                     const char *from, int depth);

static int push_children(struct temper_registry *r, const char *repo,
                         const struct temper_oci_layout *l, const char *body, size_t len,
                         const struct temper_oci_descriptor *d, const char *from, int depth)
{
    struct temper_oci_index x = { 0 };
    int rc = temper_oci_index_parse(r->st, d->digest, body, len, &x);
    for (size_t i = 0; rc == TEMPER_OK && i < x.n_manifests; i++) {
        const struct temper_oci_descriptor *c = &x.manifests[i];
        if (temper_oci_is_index_type(c->media_type) ||
            temper_oci_is_manifest_type(c->media_type)) {
            rc = push_node(r, repo, l, c, from, depth + 1);
        } else {
            rc = temper_registry_blob_push(r, repo, l, c, from);
        }
    }
    temper_oci_index_cleanup(&x);
    return rc;
}

static int push_blobs(struct temper_registry *r, const char *repo,
                      const struct temper_oci_layout *l, const struct temper_oci_manifest *m,
                      const char *from)
{
    int rc = temper_registry_blob_push(r, repo, l, &m->config, from);
    for (size_t i = 0; rc == TEMPER_OK && i < m->n_layers; i++) {
        if (temper_stage_cancelled(r->st)) {
            return temper_fail(r->st, TEMPER_ECANCEL, "push of %s cancelled", repo);
        }
        rc = temper_registry_blob_push(r, repo, l, &m->layers[i], from);
    }
    return rc;
}

static int push_node(struct temper_registry *r, const char *repo,
                     const struct temper_oci_layout *l, const struct temper_oci_descriptor *d,
                     const char *from, int depth)
{
    struct temper_oci_manifest m = { 0 };
    char *body = NULL;
    size_t len = 0;
    bool has_subject = false;
    if (depth > REG_DEPTH_MAX) {
        return temper_fail(r->st, TEMPER_ELIMIT, "%s: indexes nested deeper than %d",
                           d->digest, REG_DEPTH_MAX);
    }
    int rc = read_manifest_bytes(r, l, d, &body, &len);
    if (rc == TEMPER_OK && temper_oci_is_index_type(d->media_type)) {
        rc = push_children(r, repo, l, body, len, d, from, depth);
    } else if (rc == TEMPER_OK) {
        rc = temper_oci_manifest_parse(r->st, d->digest, body, len, &m);
        rc = rc == TEMPER_OK ? push_blobs(r, repo, l, &m, from) : rc;
    }
    if (rc == TEMPER_OK) {
        rc = temper_registry_manifest_put(r, repo, d->digest, d->media_type, body, len, NULL,
                                          &has_subject);
    }
    if (rc == TEMPER_OK && m.subject && !has_subject) {
        rc = add_referrer_tag(r, repo, m.subject->digest, d, &m);
    }
    temper_oci_manifest_cleanup(&m);
    free(body);
    return rc;
}

int temper_registry_push(struct temper_registry *r, const char *repo,
                         const struct temper_oci_layout *l,
                         const struct temper_oci_descriptor *d, const char *from_repo)
{
    if (!temper_registry_repo_valid(repo) ||
        (from_repo && !temper_registry_repo_valid(from_repo))) {
        return temper_fail(r->st, TEMPER_EINVAL, "invalid repository name '%s'",
                           temper_registry_repo_valid(repo) ? from_repo : repo);
    }
    return push_node(r, repo, l, d, from_repo, 0);
}

int temper_registry_tag(struct temper_registry *r, const char *repo,
                        const struct temper_oci_layout *l,
                        const struct temper_oci_descriptor *d, const char *tag)
{
    char *body = NULL;
    size_t len = 0;
    if (!temper_registry_tag_valid(tag)) {
        return temper_fail(r->st, TEMPER_EINVAL, "invalid tag '%s'", tag);
    }
    int rc = read_manifest_bytes(r, l, d, &body, &len);
    if (rc == TEMPER_OK) {
        rc = temper_registry_manifest_put(r, repo, tag, d->media_type, body, len, NULL, NULL);
    }
    free(body);
    return rc;
}

/* ---- pull -------------------------------------------------------------------------- */

static int pull_node(struct temper_registry *r, const char *repo, const char *reference,
                     struct temper_oci_layout *l, struct temper_oci_descriptor *out,
                     int depth);

static int pull_children(struct temper_registry *r, const char *repo,
                         const struct temper_registry_manifest *m, struct temper_oci_layout *l,
                         int depth)
{
    struct temper_oci_index x = { 0 };
    int rc = temper_oci_index_parse(r->st, m->digest, m->body, m->len, &x);
    for (size_t i = 0; rc == TEMPER_OK && i < x.n_manifests; i++) {
        const struct temper_oci_descriptor *c = &x.manifests[i];
        struct temper_oci_descriptor got = { 0 };
        if (temper_oci_is_index_type(c->media_type) ||
            temper_oci_is_manifest_type(c->media_type)) {
            rc = pull_node(r, repo, c->digest, l, &got, depth + 1);
        } else {
            rc = temper_registry_blob_get(r, repo, c, l);
        }
        temper_oci_descriptor_cleanup(&got);
    }
    temper_oci_index_cleanup(&x);
    return rc;
}

static int pull_blobs(struct temper_registry *r, const char *repo,
                      const struct temper_registry_manifest *m, struct temper_oci_layout *l)
{
    struct temper_oci_manifest mf = { 0 };
    int rc = temper_oci_manifest_parse(r->st, m->digest, m->body, m->len, &mf);
    if (rc == TEMPER_OK) {
        rc = temper_registry_blob_get(r, repo, &mf.config, l);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < mf.n_layers; i++) {
        if (mf.layers[i].urls.n > 0) {
            continue; /* non-distributable: fetched from its URLs by whoever needs it */
        }
        rc = temper_registry_blob_get(r, repo, &mf.layers[i], l);
    }
    temper_oci_manifest_cleanup(&mf);
    return rc;
}

static int pull_node(struct temper_registry *r, const char *repo, const char *reference,
                     struct temper_oci_layout *l, struct temper_oci_descriptor *out,
                     int depth)
{
    struct temper_registry_manifest m = { 0 };
    if (depth > REG_DEPTH_MAX) {
        return temper_fail(r->st, TEMPER_ELIMIT, "%s: indexes nested deeper than %d",
                           reference, REG_DEPTH_MAX);
    }
    int rc = temper_registry_manifest_get(r, repo, reference, &m);
    if (rc == TEMPER_OK && temper_oci_is_index_type(m.media_type)) {
        rc = pull_children(r, repo, &m, l, depth);
    } else if (rc == TEMPER_OK && temper_oci_is_manifest_type(m.media_type)) {
        rc = pull_blobs(r, repo, &m, l);
    } else if (rc == TEMPER_OK) {
        rc = temper_fail(r->st, TEMPER_EFORMAT, "%s:%s: unsupported media type %.100s", repo,
                         reference, m.media_type);
    }
    if (rc == TEMPER_OK) { /* the manifest last: a layout never names missing blobs */
        rc = temper_oci_blob_write(r->st, l, m.media_type, m.body, m.len, out);
    }
    temper_registry_manifest_cleanup(&m);
    return rc;
}

int temper_registry_pull(struct temper_registry *r, const char *repo, const char *reference,
                         struct temper_oci_layout *l, const char *ref_name,
                         struct temper_oci_descriptor *out)
{
    struct temper_oci_descriptor d = { 0 };
    int rc = pull_node(r, repo, reference, l, &d, 0);
    if (rc == TEMPER_OK && ref_name) {
        rc = temper_oci_layout_tag(r->st, l, &d, ref_name);
    }
    if (rc == TEMPER_OK && out) {
        temper_oci_descriptor_cleanup(out);
        *out = d;
        memset(&d, 0, sizeof d);
    }
    temper_oci_descriptor_cleanup(&d);
    return rc;
}

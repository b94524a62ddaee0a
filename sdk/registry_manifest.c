/* temper — registry manifests: GET/HEAD/PUT, tag lists, referrers. */
#include "config.h"

#include "registry_int.h"

#include <temper/buf.h>
#include <temper/json.h>
#include <temper/log.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCEPT "Accept: " TEMPER_OCI_MT_MANIFEST ", " TEMPER_OCI_MT_INDEX ", " \
    TEMPER_DOCKER_MT_MANIFEST ", " TEMPER_DOCKER_MT_LIST

static int reference_valid(const char *ref)
{
    return temper_oci_digest_valid(ref) || temper_registry_tag_valid(ref);
}

void temper_registry_manifest_cleanup(struct temper_registry_manifest *m)
{
    if (!m) {
        return;
    }
    free(m->body);
    free(m->media_type);
    memset(m, 0, sizeof *m);
}

/* Content-Type without parameters, or the body's mediaType. */
static char *manifest_type(struct temper_registry *r, const struct temper_http_resp *resp)
{
    const char *ct = temper_http_resp_header(resp, "Content-Type", 0);
    if (ct && strncmp(ct, "application/vnd.", 16) == 0) {
        return strndup(ct, strcspn(ct, "; "));
    }
    json_object *root = NULL;
    char *mt = NULL;
    if (temper_json_parse(r->st, "manifest", resp->body.data, resp->body.len,
                          r->o.max_manifest, TEMPER_OCI_MAX_DEPTH, &root) == TEMPER_OK) {
        const char *v = temper_json_get_str(root, "mediaType");
        mt = strdup(v ? v : TEMPER_OCI_MT_MANIFEST);
    }
    json_object_put(root);
    return mt;
}

/* The body's digest must match the asked digest and Docker-Content-Digest. */
static int check_digest(struct temper_registry *r, const char *url, const char *reference,
                        const char *computed, const struct temper_http_resp *resp)
{
    const char *dcd = temper_http_resp_header(resp, "Docker-Content-Digest", 0);
    const char *why = NULL;
    if (temper_oci_digest_valid(reference) && strcmp(reference, computed) != 0) {
        why = "the body does not match the requested digest";
    } else if (dcd && strncmp(dcd, "sha256:", 7) == 0 && strcmp(dcd, computed) != 0) {
        why = "the body does not match Docker-Content-Digest";
    }
    if (!why) {
        return TEMPER_OK;
    }
    char *safe = temper_http_safe_url(url);
    int rc = temper_fail(r->st, TEMPER_ECRYPTO, "GET %s: %s", safe ? safe : "?", why);
    free(safe);
    return rc;
}

/* Validate repo:reference and send METHOD .../manifests/<reference> with
 * the manifest Accept list; *url is new (free()).  TEMPER_OK when a reply
 * arrived (any status). */
static int manifest_call(struct temper_registry *r, const char *method, const char *repo,
                         const char *reference, char **url, struct temper_http_resp *resp)
{
    *url = NULL;
    if (!reference_valid(reference) || !temper_registry_repo_valid(repo)) {
        return temper_fail(r->st, TEMPER_EINVAL, "invalid reference %s:%s", repo, reference);
    }
    *url = reg_url(r, repo, "manifests/%s", reference);
    char *scope = reg_scope(repo, false);
    int rc = *url && scope ? TEMPER_OK : temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    if (rc == TEMPER_OK) {
        struct reg_call c = { .method = method, .url = *url, .scope = scope,
                              .headers = { ACCEPT }, .max_body = r->o.max_manifest };
        rc = reg_do(r, &c, resp);
    }
    free(scope);
    return rc;
}

/* quiet: a 404 gives TEMPER_ENOTFOUND without recording it. */
static int manifest_get(struct temper_registry *r, const char *repo, const char *reference,
                        struct temper_registry_manifest *out, bool quiet)
{
    struct temper_http_resp resp;
    char *url = NULL;
    memset(out, 0, sizeof *out);
    temper_http_resp_init(&resp);
    int rc = manifest_call(r, "GET", repo, reference, &url, &resp);
    if (rc == TEMPER_OK && quiet && resp.status == 404) {
        rc = TEMPER_ENOTFOUND;
    } else if (rc == TEMPER_OK && resp.status != 200) {
        rc = reg_status_fail(r, "GET", url, &resp);
    }
    if (rc == TEMPER_OK) {
        int n = snprintf(out->digest, sizeof out->digest, "sha256:%s", resp.sha256);
        rc = n == 71 ? check_digest(r, url, reference, out->digest, &resp)
                     : temper_fail(r->st, TEMPER_EINTERNAL, "GET %s: no digest", url);
    }
    if (rc == TEMPER_OK) {
        out->media_type = manifest_type(r, &resp);
        out->body = temper_buf_take(&resp.body, &out->len);
        rc = out->media_type && out->body ? TEMPER_OK
                                          : temper_fail(r->st, TEMPER_EFORMAT,
                                                        "GET %s: unusable manifest", url);
    }
    if (rc != TEMPER_OK) {
        temper_registry_manifest_cleanup(out);
    }
    temper_http_resp_cleanup(&resp);
    free(url);
    return rc;
}

int temper_registry_manifest_get(struct temper_registry *r, const char *repo,
                                 const char *reference, struct temper_registry_manifest *out)
{
    return manifest_get(r, repo, reference, out, false);
}

int reg_manifest_get_quiet(struct temper_registry *r, const char *repo, const char *reference,
                           struct temper_registry_manifest *out)
{
    return manifest_get(r, repo, reference, out, true);
}

int temper_registry_manifest_head(struct temper_registry *r, const char *repo,
                                  const char *reference, struct temper_oci_descriptor *out)
{
    struct temper_http_resp resp;
    char *url = NULL;
    temper_oci_descriptor_cleanup(out);
    temper_http_resp_init(&resp);
    int rc = manifest_call(r, "HEAD", repo, reference, &url, &resp);
    const char *dcd = rc == TEMPER_OK ? temper_http_resp_header(&resp, "Docker-Content-Digest", 0)
                                      : NULL;
    const char *ct = rc == TEMPER_OK ? temper_http_resp_header(&resp, "Content-Type", 0) : NULL;
    const char *cl = rc == TEMPER_OK ? temper_http_resp_header(&resp, "Content-Length", 0) : NULL;
    long long size = -1;
    if (rc == TEMPER_OK && resp.status == 404) {
        rc = TEMPER_ENOTFOUND; /* not recorded: absence is an answer */
    } else if (rc == TEMPER_OK && resp.status != 200) {
        rc = reg_status_fail(r, "HEAD", url, &resp);
    } else if (rc == TEMPER_OK && (!dcd || !temper_oci_digest_valid(dcd) || !cl ||
                                   temper_parse_ll(cl, &size) != TEMPER_OK || size < 0 ||
                                   (temper_oci_digest_valid(reference) &&
                                    strcmp(dcd, reference) != 0))) {
        rc = temper_fail(r->st, TEMPER_EFORMAT, "HEAD %s: no valid Docker-Content-Digest or "
                         "Content-Length", url);
    }
    if (rc == TEMPER_OK) {
        memcpy(out->digest, dcd, TEMPER_DIGEST_STR_LEN);
        out->size = size;
        out->media_type = strndup(ct ? ct : TEMPER_OCI_MT_MANIFEST,
                                  strcspn(ct ? ct : TEMPER_OCI_MT_MANIFEST, "; "));
        rc = out->media_type ? TEMPER_OK : temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    }
    temper_http_resp_cleanup(&resp);
    free(url);
    return rc;
}

int temper_registry_manifest_put(struct temper_registry *r, const char *repo,
                                 const char *reference, const char *media_type,
                                 const void *body, size_t len,
                                 char digest[TEMPER_DIGEST_STR_LEN], bool *has_subject)
{
    struct temper_http_resp resp;
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    char computed[TEMPER_DIGEST_STR_LEN];
    if (!reference_valid(reference) || !temper_registry_repo_valid(repo) || !media_type ||
        strpbrk(media_type, "\r\n") || len > r->o.max_manifest) {
        return temper_fail(r->st, TEMPER_EINVAL, "cannot put manifest %s:%s: invalid input",
                           repo, reference);
    }
    int rc = temper_sha256_hex(body, len, hex);
    snprintf(computed, sizeof computed, "sha256:%s", hex);
    if (rc == TEMPER_OK && temper_oci_digest_valid(reference) && strcmp(reference, computed)) {
        return temper_fail(r->st, TEMPER_EINVAL, "manifest %s is not %s", computed, reference);
    }
    char *url = reg_url(r, repo, "manifests/%s", reference);
    char *scope = reg_scope(repo, true);
    char *ct = temper_strdupf("Content-Type: %s", media_type);
    rc = rc == TEMPER_OK && url && scope && ct
             ? TEMPER_OK : temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    temper_http_resp_init(&resp);
    if (rc == TEMPER_OK) {
        struct reg_call c = { .method = "PUT", .url = url, .scope = scope, .headers = { ct },
                              .body = body, .body_len = len };
        rc = reg_do(r, &c, &resp);
    }
    const char *dcd = rc == TEMPER_OK ? temper_http_resp_header(&resp, "Docker-Content-Digest", 0)
                                      : NULL;
    if (rc == TEMPER_OK && resp.status != 201) {
        rc = reg_status_fail(r, "PUT", url, &resp);
    } else if (rc == TEMPER_OK && dcd && strcmp(dcd, computed) != 0) {
        rc = temper_fail(r->st, TEMPER_ECRYPTO, "PUT %s: the registry says %.80s, the body is "
                         "%s", url, dcd, computed);
    }
    if (rc == TEMPER_OK) {
        r->stats.manifests_put++;
        if (digest) {
            memcpy(digest, computed, TEMPER_DIGEST_STR_LEN);
        }
        if (has_subject) {
            *has_subject = temper_http_resp_header(&resp, "OCI-Subject", 0) != NULL;
        }
    }
    temper_http_resp_cleanup(&resp);
    free(url);
    free(scope);
    free(ct);
    return rc;
}

/* ---- tags --------------------------------------------------------------------- */

static int add_tags(struct temper_registry *r, const char *url, const struct temper_buf *body,
                    struct temper_strlist *out)
{
    json_object *root = NULL;
    size_t n = 0;
    int rc = temper_json_parse(r->st, url, body->data, body->len, r->o.max_manifest, 8, &root);
    json_object *tags = rc == TEMPER_OK ? temper_json_get_array(root, "tags", &n) : NULL;
    for (size_t i = 0; rc == TEMPER_OK && tags && i < n; i++) {
        const char *t = json_object_get_string(json_object_array_get_idx(tags, i));
        if (!json_object_is_type(json_object_array_get_idx(tags, i), json_type_string) ||
            !temper_registry_tag_valid(t)) {
            rc = temper_fail(r->st, TEMPER_EFORMAT, "%s: invalid tag in the list", url);
        } else if (out->n >= TEMPER_OCI_MAX_ITEMS) {
            rc = temper_fail(r->st, TEMPER_ELIMIT, "%s: more than %u tags", url,
                             TEMPER_OCI_MAX_ITEMS);
        } else {
            rc = temper_oci_list_push(out, t);
        }
    }
    json_object_put(root);
    return rc;
}

int temper_registry_tags_list(struct temper_registry *r, const char *repo,
                              struct temper_strlist *out)
{
    struct temper_http_resp resp;
    temper_oci_list_cleanup(out);
    char *url = reg_url(r, repo, "tags/list?n=%d", REG_TAGS_PAGE);
    char *scope = reg_scope(repo, false);
    int rc = url && scope ? TEMPER_OK : temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    temper_http_resp_init(&resp);
    for (int page = 0; rc == TEMPER_OK; page++) {
        if (page >= r->o.max_pages) {
            rc = temper_fail(r->st, TEMPER_ELIMIT, "%s: more than %d pages of tags", repo,
                             r->o.max_pages);
            break;
        }
        struct reg_call c = { .method = "GET", .url = url, .scope = scope,
                              .max_body = r->o.max_manifest };
        rc = reg_do(r, &c, &resp);
        if (rc == TEMPER_OK && resp.status == 404 && page == 0) {
            break; /* no such repository: no tags */
        }
        rc = rc == TEMPER_OK && resp.status != 200 ? reg_status_fail(r, "GET", url, &resp) : rc;
        rc = rc == TEMPER_OK ? add_tags(r, url, &resp.body, out) : rc;
        char *next = NULL;
        int lrc = rc == TEMPER_OK ? temper_http_resp_link(&resp, "next", &next) : TEMPER_OK;
        if (rc != TEMPER_OK || lrc == TEMPER_ENOTFOUND) {
            break;
        }
        if (lrc != TEMPER_OK || strncmp(next, r->base, strlen(r->base)) != 0) {
            free(next);
            rc = temper_fail(r->st, TEMPER_EFORMAT, "%s: bad Link to the next page of tags",
                             repo);
            break;
        }
        free(url);
        url = next;
    }
    if (rc != TEMPER_OK) {
        temper_oci_list_cleanup(out);
    }
    temper_http_resp_cleanup(&resp);
    free(url);
    free(scope);
    return rc;
}

/* ---- referrers ------------------------------------------------------------------ */

static int filter_type(struct temper_oci_index *x, const char *artifact_type)
{
    size_t k = 0;
    for (size_t i = 0; artifact_type && i < x->n_manifests; i++) {
        struct temper_oci_descriptor *d = &x->manifests[i];
        if (d->artifact_type && strcmp(d->artifact_type, artifact_type) == 0) {
            x->manifests[k++] = *d;
        } else {
            temper_oci_descriptor_cleanup(d);
        }
    }
    if (artifact_type) {
        x->n_manifests = k;
    }
    return TEMPER_OK;
}

int temper_registry_referrers(struct temper_registry *r, const char *repo, const char *digest,
                              const char *artifact_type, struct temper_oci_index *out)
{
    struct temper_http_resp resp;
    struct temper_registry_manifest m = { 0 };
    char tag[80];
    temper_oci_index_cleanup(out);
    if (!temper_oci_digest_valid(digest)) {
        return temper_fail(r->st, TEMPER_EINVAL, "invalid digest for referrers");
    }
    char *url = reg_url(r, repo, "referrers/%s", digest);
    char *scope = reg_scope(repo, false);
    int rc = url && scope ? TEMPER_OK : temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    temper_http_resp_init(&resp);
    if (rc == TEMPER_OK) {
        struct reg_call c = { .method = "GET", .url = url, .scope = scope,
                              .headers = { "Accept: " TEMPER_OCI_MT_INDEX },
                              .max_body = r->o.max_manifest };
        rc = reg_do(r, &c, &resp);
    }
    if (rc == TEMPER_OK && resp.status == 200) {
        rc = temper_oci_index_parse(r->st, url, resp.body.data, resp.body.len, out);
    } else if (rc == TEMPER_OK && resp.status == 404) { /* no API: the tag schema */
        snprintf(tag, sizeof tag, "sha256-%s", digest + 7);
        rc = reg_manifest_get_quiet(r, repo, tag, &m);
        if (rc == TEMPER_ENOTFOUND) {
            rc = TEMPER_OK; /* no referrers */
        } else if (rc == TEMPER_OK) {
            rc = temper_oci_index_parse(r->st, tag, m.body, m.len, out);
        }
    } else if (rc == TEMPER_OK) {
        rc = reg_status_fail(r, "GET", url, &resp);
    }
    if (rc == TEMPER_OK && out->n_manifests > REG_REFERRERS_MAX) {
        rc = temper_fail(r->st, TEMPER_ELIMIT, "%s: more than %d referrers", url,
                         REG_REFERRERS_MAX);
    }
    rc = rc == TEMPER_OK ? filter_type(out, artifact_type) : rc;
    if (rc != TEMPER_OK) {
        temper_oci_index_cleanup(out);
    }
    temper_registry_manifest_cleanup(&m);
    temper_http_resp_cleanup(&resp);
    free(url);
    free(scope);
    return rc;
}

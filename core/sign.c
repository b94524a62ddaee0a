/* temper — the signer stage: the core decides what is signed, the signer
 * plugin only signs bytes (include/temper/signer.h).
 *
 *  - every in-toto statement of the run becomes a DSSE envelope
 *    (payloadType application/vnd.in-toto+json), stored at `sha256-<hex>.att`
 *    by the publishers;
 *  - every image gets a cosign "simple signing" payload signed as is, stored
 *    at `sha256-<hex>.sig` with the signature in the
 *    dev.cosignproject.cosign/signature annotation. */
#include "config.h"
#include "pipeline_priv.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define COSIGN_PAYLOAD_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"

static int sign_bytes(struct pstage *ps, const void *msg, size_t len, unsigned char **sig,
                      size_t *sig_len)
{
    const struct temper_signer_ops *ops = ps->spec->mod->desc->ops;
    *sig = NULL;
    *sig_len = 0;
    int rc = ops->sign(ps->state, ps->st, msg, len, sig, sig_len);
    if (rc == TEMPER_OK && (!*sig || *sig_len == 0)) {
        free(*sig);
        *sig = NULL;
        rc = temper_fail(ps->st, TEMPER_ECRYPTO, "signer %s returned an empty signature",
                         ps->spec->mod->module);
    }
    return rc;
}

static int common_attrs(struct pstage *ps, struct temper_artifact *a, const char *digest,
                        const char *pem)
{
    const struct temper_signer_ops *ops = ps->spec->mod->desc->ops;
    const char *kid = ops->key_id ? ops->key_id(ps->state) : NULL;
    const char *alg = ops->algorithm ? ops->algorithm(ps->state) : NULL;
    int rc = temper_artifact_set(a, TEMPER_ATTR_SIGNED_DIGEST, digest);
    if (rc == TEMPER_OK && kid) {
        rc = temper_artifact_set(a, TEMPER_ATTR_KEY_ID, kid);
    }
    if (rc == TEMPER_OK && alg) {
        rc = temper_artifact_set(a, "algorithm", alg);
    }
    if (rc == TEMPER_OK && pem) {
        rc = temper_artifact_set(a, "public_key", pem);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, "signer", ps->label);
    }
    return rc;
}

static int sign_statement(struct prun *r, struct pstage *ps, const struct temper_artifact *stm,
                          const char *pem)
{
    const struct temper_signer_ops *ops = ps->spec->mod->desc->ops;
    size_t len = 0;
    const void *body = temper_artifact_data(stm, &len);
    unsigned char *pae = NULL, *sig = NULL;
    size_t pae_len = 0, sig_len = 0;
    char *env = NULL;
    struct temper_artifact *a = NULL;
    const char *digest = temper_artifact_get(stm, TEMPER_ATTR_SIGNED_DIGEST);
    int rc = body ? temper_dsse_pae(TEMPER_DSSE_INTOTO_TYPE, body, len, &pae, &pae_len)
                  : temper_fail(ps->st, TEMPER_EINVAL, "statement %s has no content",
                                temper_artifact_name(stm));
    if (rc == TEMPER_OK) {
        rc = sign_bytes(ps, pae, pae_len, &sig, &sig_len);
    }
    if (rc == TEMPER_OK) {
        rc = temper_dsse_envelope(TEMPER_DSSE_INTOTO_TYPE, body, len,
                                  ops->key_id ? ops->key_id(ps->state) : NULL, sig, sig_len,
                                  &env);
    }
    if (rc == TEMPER_OK) {
        a = temper_artifact_new(TEMPER_ART_SIGNATURE, temper_artifact_name(stm));
        rc = a ? TEMPER_OK : TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK) {
        rc = common_attrs(ps, a, digest ? digest : "", pem);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_MEDIA_TYPE, TEMPER_DSSE_MEDIA_TYPE);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_PREDICATE_TYPE,
                                 temper_artifact_get(stm, TEMPER_ATTR_PREDICATE_TYPE));
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_take_data(a, env, strlen(env));
        env = NULL;
    }
    if (rc == TEMPER_OK) {
        rc = temper_artlist_add(r->arts, a);
        a = NULL;
    }
    temper_artifact_free(a);
    free(env);
    free(pae);
    free(sig);
    return rc;
}

/* cosign's simple-signing payload for an image manifest digest. */
static char *simple_signing_payload(const char *reference, const char *digest)
{
    json_object *root = json_object_new_object();
    json_object *crit = json_object_new_object();
    json_object *ident = json_object_new_object();
    json_object *image = json_object_new_object();
    json_object_object_add(ident, "docker-reference", json_object_new_string(reference));
    json_object_object_add(image, "docker-manifest-digest", json_object_new_string(digest));
    json_object_object_add(crit, "identity", ident);
    json_object_object_add(crit, "image", image);
    json_object_object_add(crit, "type",
                           json_object_new_string("cosign container image signature"));
    json_object_object_add(root, "critical", crit);
    json_object_object_add(root, "optional", NULL);
    const char *txt = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = txt ? strdup(txt) : NULL;
    json_object_put(root);
    return out;
}

static int sign_image(struct prun *r, struct pstage *ps, const struct temper_artifact *img,
                      const char *pem)
{
    const char *digest = temper_artifact_get(img, TEMPER_ATTR_DIGEST);
    if (!digest) {
        return temper_fail(ps->st, TEMPER_EINVAL, "image %s has no digest to sign",
                           temper_artifact_name(img));
    }
    const char *ref = r->in->reference ? r->in->reference
                      : r->in->def && r->in->def->name ? r->in->def->name
                                                       : temper_artifact_name(img);
    char *payload = simple_signing_payload(ref, digest);
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    char *b64 = NULL;
    struct temper_artifact *a = NULL;
    int rc = payload ? sign_bytes(ps, payload, strlen(payload), &sig, &sig_len)
                     : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        rc = temper_base64_encode(sig, sig_len, &b64);
    }
    if (rc == TEMPER_OK) {
        a = temper_artifact_new(TEMPER_ART_SIGNATURE, temper_artifact_name(img));
        rc = a ? common_attrs(ps, a, digest, pem) : TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_MEDIA_TYPE, COSIGN_PAYLOAD_TYPE);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, "signature", b64);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_take_data(a, payload, strlen(payload));
        payload = NULL;
    }
    if (rc == TEMPER_OK) {
        rc = temper_artlist_add(r->arts, a);
        a = NULL;
    }
    temper_artifact_free(a);
    free(payload);
    free(sig);
    free(b64);
    return rc;
}

int temper_sign_run(struct prun *r, struct pstage *ps)
{
    const struct temper_signer_ops *ops = ps->spec->mod->desc->ops;
    char *pem = NULL;
    int rc = ops->public_key ? ops->public_key(ps->state, ps->st, &pem) : TEMPER_OK;
    size_t n = temper_artlist_count(r->arts); /* artifacts added below are not re-signed */
    size_t signed_n = 0;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        const struct temper_artifact *a = temper_artlist_at(r->arts, i);
        if (temper_artifact_type(a) == TEMPER_ART_STATEMENT) {
            rc = sign_statement(r, ps, a, pem);
            signed_n++;
        } else if (temper_artifact_type(a) == TEMPER_ART_IMAGE) {
            rc = sign_image(r, ps, a, pem);
            signed_n++;
        }
    }
    if (rc == TEMPER_OK && signed_n == 0) {
        rc = temper_fail(ps->st, TEMPER_EINVAL,
                         "nothing to sign: put a builder (and attest) stage before %s",
                         ps->label);
    }
    free(pem);
    return rc;
}

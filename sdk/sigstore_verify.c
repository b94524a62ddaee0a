/* temper — verifying cosign .sig / .att objects with a public key
 * (include/temper/sigstore.h).  A check that fails is a verdict recorded
 * in report->failure; an rc only means the check could not be made. */
#include "config.h"
#include "sigstore_int.h"

#include <temper/buf.h>
#include <temper/dsse.h>
#include <temper/json.h>
#include <temper/plugin.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY_MAX (64u * 1024)
#define MAX_DSSE_SIGS 16
#define MAX_SUBJECTS 4096

struct vkey {
    gnutls_pubkey_t pub;
    gnutls_sign_algorithm_t algs[2];
    size_t n_algs;
};

struct vctx {
    struct temper_stage *st;
    const struct temper_sigstore_fetch *f;
    const char *digest;
    struct vkey key;
    struct temper_sigstore_report *rep;
    enum temper_verdict *verdict;
};

void temper_sigstore_report_cleanup(struct temper_sigstore_report *r)
{
    if (!r) {
        return;
    }
    for (size_t i = 0; i < r->n_attestations && r->predicate_types; i++) {
        free(r->predicate_types[i]);
    }
    free(r->predicate_types);
    free(r->failure);
    memset(r, 0, sizeof *r);
}

/* Record the first reason for a BLOCK verdict; returns TEMPER_OK (a verdict
 * is not an error) or TEMPER_ENOMEM. */
static int block(struct vctx *v, const char *fmt, ...) TEMPER_PRINTF(2, 3);
static int block(struct vctx *v, const char *fmt, ...)
{
    *v->verdict = TEMPER_VERDICT_BLOCK;
    if (v->rep->failure) {
        return TEMPER_OK;
    }
    struct temper_buf b;
    temper_buf_init(&b, 4096);
    va_list ap;
    va_start(ap, fmt);
    int rc = temper_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    v->rep->failure = rc == TEMPER_OK ? temper_buf_take(&b, NULL) : NULL;
    temper_buf_cleanup(&b);
    return v->rep->failure ? TEMPER_OK : TEMPER_ENOMEM;
}

/* A fetch rc that says "the data is bad" is a verdict; others are errors. */
static int fetch_verdict(struct vctx *v, int rc, const char *what)
{
    if (rc == TEMPER_ECRYPTO || rc == TEMPER_EFORMAT || rc == TEMPER_ELIMIT ||
        rc == TEMPER_ENOTFOUND) {
        return block(v, "%s: %s", what, temper_rc_str(rc));
    }
    return rc;
}

static int key_import(struct vctx *v, const char *pem)
{
    size_t n = pem ? strlen(pem) : 0;
    gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem, (unsigned)n };
    unsigned bits = 0;
    gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
    if (n == 0 || n > KEY_MAX || gnutls_pubkey_init(&v->key.pub) < 0) {
        return temper_fail(v->st, TEMPER_EINVAL, "public key: empty, too large or no memory");
    }
    int g = gnutls_pubkey_import(v->key.pub, &d, GNUTLS_X509_FMT_PEM);
    if (g < 0) {
        return temper_fail(v->st, TEMPER_EINVAL, "public key: not a PEM public key: %s",
                           gnutls_strerror(g));
    }
    switch (gnutls_pubkey_get_pk_algorithm(v->key.pub, &bits)) {
    case GNUTLS_PK_ECDSA:
        g = gnutls_pubkey_export_ecc_raw2(v->key.pub, &curve, NULL, NULL, 0);
        if (g < 0 || curve != GNUTLS_ECC_CURVE_SECP256R1) {
            return temper_fail(v->st, TEMPER_EINVAL, "public key: ECDSA keys must be P-256");
        }
        v->key.algs[v->key.n_algs++] = GNUTLS_SIGN_ECDSA_SHA256;
        v->rep->algorithm = "ecdsa-p256-sha256";
        break;
    case GNUTLS_PK_EDDSA_ED25519:
        v->key.algs[v->key.n_algs++] = GNUTLS_SIGN_EDDSA_ED25519;
        v->rep->algorithm = "ed25519";
        break;
    case GNUTLS_PK_RSA:
        v->key.algs[v->key.n_algs++] = GNUTLS_SIGN_RSA_SHA256;
        v->key.algs[v->key.n_algs++] = GNUTLS_SIGN_RSA_PSS_RSAE_SHA256;
        v->rep->algorithm = "rsa-sha256";
        break;
    default:
        return temper_fail(v->st, TEMPER_EINVAL,
                           "public key: only ECDSA P-256, Ed25519 and RSA keys are supported");
    }
    gnutls_datum_t der = { NULL, 0 };
    g = gnutls_pubkey_export2(v->key.pub, GNUTLS_X509_FMT_DER, &der);
    int rc = g < 0 ? temper_fail(v->st, TEMPER_ECRYPTO, "public key: cannot export: %s",
                                 gnutls_strerror(g))
                   : temper_sha256_hex(der.data, der.size, v->rep->key_id);
    gnutls_free(der.data);
    return rc;
}

static int sig_ok(const struct vkey *k, const void *msg, size_t len, const unsigned char *sig,
                  size_t sig_len)
{
    gnutls_datum_t md = { (unsigned char *)(uintptr_t)msg, (unsigned)len };
    gnutls_datum_t sd = { (unsigned char *)(uintptr_t)sig, (unsigned)sig_len };
    for (size_t i = 0; i < k->n_algs; i++) {
        if (gnutls_pubkey_verify_data2(k->pub, k->algs[i], 0, &md, &sd) >= 0) {
            return 1;
        }
    }
    return 0;
}

/* The manifest at `tag`, parsed.  *found = 0 when the tag does not exist;
 * a malformed manifest is a BLOCK verdict (*found = 0 too). */
static int get_manifest(struct vctx *v, const char *tag, struct temper_oci_manifest *m, int *found)
{
    char *json = NULL;
    size_t len = 0;
    *found = 0;
    int rc = v->f->get_manifest(v->f->ctx, v->st, tag, TEMPER_OCI_MAX_JSON, &json, &len);
    if (rc == TEMPER_ENOTFOUND) {
        return TEMPER_OK;
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_manifest_parse(v->st, tag, json, len, m);
        *found = rc == TEMPER_OK;
        if (m->n_layers > TEMPER_SIGSTORE_MAX_LAYERS) {
            *found = 0;
            rc = TEMPER_ELIMIT;
        }
    }
    free(json);
    return rc == TEMPER_OK ? rc : fetch_verdict(v, rc, tag);
}

/* case-insensitive member lookup (cosign's payload keys). */
static json_object *member_ci(json_object *o, const char *key)
{
    if (!o || !json_object_is_type(o, json_type_object)) {
        return NULL;
    }
    json_object_object_foreach(o, k, val)
    {
        if (strcasecmp(k, key) == 0) {
            return val;
        }
    }
    return NULL;
}

/* The digest a simple-signing payload names, if it is a cosign payload. */
static const char *payload_digest(json_object *root)
{
    json_object *crit = member_ci(root, "critical");
    json_object *type = member_ci(crit, "type");
    json_object *dig = member_ci(member_ci(crit, "image"), "docker-manifest-digest");
    if (!type || !json_object_is_type(type, json_type_string) ||
        strcmp(json_object_get_string(type), TEMPER_COSIGN_SIGNATURE_TYPE) != 0 || !dig ||
        !json_object_is_type(dig, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(dig);
}

/* One .sig layer: counted as verified, counted as another key's, or BLOCK. */
static int check_sig_layer(struct vctx *v, const struct temper_oci_descriptor *d)
{
    const char *b64 = temper_oci_map_get(&d->annotations, TEMPER_COSIGN_ANN_SIGNATURE);
    unsigned char *sig = NULL;
    size_t sig_len = 0, len = 0;
    char *payload = NULL;
    json_object *root = NULL;
    int rc = TEMPER_OK;
    if (!d->media_type || strcmp(d->media_type, TEMPER_COSIGN_MT_SIMPLESIGNING) != 0 || !b64 ||
        temper_base64_decode(b64, strlen(b64), &sig, &sig_len) != TEMPER_OK) {
        v->rep->n_signatures_other++;
        goto out;
    }
    rc = v->f->get_blob(v->f->ctx, v->st, d, TEMPER_SIGSTORE_MAX_BLOB, &payload, &len);
    if (rc != TEMPER_OK) {
        rc = fetch_verdict(v, rc, d->digest);
        goto out;
    }
    if (!sig_ok(&v->key, payload, len, sig, sig_len)) {
        v->rep->n_signatures_other++;
        goto out;
    }
    const char *dig = NULL;
    if (temper_json_parse(NULL, d->digest, payload, len, 0, 0, &root) == TEMPER_OK) {
        dig = payload_digest(root);
    }
    if (!dig || strcmp(dig, v->digest) != 0) {
        rc = block(v, "signature payload %s is signed by the key but is about %s, not %s",
                   d->digest, dig ? dig : "no image digest", v->digest);
        goto out;
    }
    v->rep->n_signatures++;
out:
    json_object_put(root);
    free(payload);
    free(sig);
    return rc;
}

/* 1 when one signature of the envelope verifies over PAE(type, body). */
static int envelope_verifies(struct vctx *v, json_object *env, const char *type,
                             const unsigned char *body, size_t len)
{
    size_t n = 0;
    json_object *sigs = temper_json_get_array(env, "signatures", &n);
    unsigned char *pae = NULL;
    size_t pae_len = 0;
    int ok = 0;
    if (!sigs || temper_dsse_pae(type, body, len, &pae, &pae_len) != TEMPER_OK) {
        return 0;
    }
    for (size_t i = 0; !ok && i < n && i < MAX_DSSE_SIGS; i++) {
        const char *b64 = temper_json_get_str(json_object_array_get_idx(sigs, i), "sig");
        unsigned char *sig = NULL;
        size_t sig_len = 0;
        if (b64 && temper_base64_decode(b64, strlen(b64), &sig, &sig_len) == TEMPER_OK) {
            ok = sig_ok(&v->key, pae, pae_len, sig, sig_len);
        }
        free(sig);
    }
    free(pae);
    return ok;
}

/* Decoded payload and type of an envelope; 0 when malformed. */
static int envelope_open(const char *env, size_t len, json_object **root, const char **type,
                         unsigned char **body, size_t *body_len)
{
    *root = NULL;
    *body = NULL;
    if (temper_json_parse(NULL, "DSSE envelope", env, len, TEMPER_SIGSTORE_MAX_BLOB, 0, root) !=
        TEMPER_OK) {
        return 0;
    }
    const char *b64 = temper_json_get_str(*root, "payload");
    *type = temper_json_get_str(*root, "payloadType");
    if (!b64 || !*type || temper_base64_decode(b64, strlen(b64), body, body_len) != TEMPER_OK) {
        json_object_put(*root);
        *root = NULL;
        return 0;
    }
    return 1;
}

/* 1 when the statement body names hex among its subjects' sha256. */
static int statement_about(const unsigned char *body, size_t len, const char *hex, char **ptype)
{
    json_object *st = NULL;
    size_t n = 0;
    int found = 0;
    if (temper_json_parse(NULL, "in-toto statement", body, len, TEMPER_SIGSTORE_MAX_BLOB, 0, &st) !=
        TEMPER_OK) {
        return 0;
    }
    json_object *subj = temper_json_get_array(st, "subject", &n);
    for (size_t i = 0; subj && !found && i < n && i < MAX_SUBJECTS; i++) {
        const char *d = temper_json_get_str(json_object_array_get_idx(subj, i), "digest.sha256");
        found = d && strlen(d) == TEMPER_SHA256_HEX_LEN && temper_hex_equal(d, hex);
    }
    const char *pt = temper_json_get_str(st, "predicateType");
    if (ptype) {
        *ptype = pt ? strdup(pt) : NULL;
    }
    json_object_put(st);
    return found;
}

int sigstore_envelope_about(const char *env, size_t len, const char *hex, char **ptype)
{
    json_object *root = NULL;
    const char *type = NULL;
    unsigned char *body = NULL;
    size_t body_len = 0;
    int ok = envelope_open(env, len, &root, &type, &body, &body_len) &&
             statement_about(body, body_len, hex, ptype);
    free(body);
    json_object_put(root);
    return ok;
}

static int add_predicate(struct temper_sigstore_report *r, char *pt)
{
    char **v = realloc(r->predicate_types, (r->n_attestations + 1) * sizeof *v);
    if (!v) {
        free(pt);
        return TEMPER_ENOMEM;
    }
    r->predicate_types = v;
    v[r->n_attestations++] = pt ? pt : strdup("(none)");
    return v[r->n_attestations - 1] ? TEMPER_OK : TEMPER_ENOMEM;
}

static int check_att_layer(struct vctx *v, const struct temper_oci_descriptor *d)
{
    char *data = NULL, *pt = NULL;
    size_t len = 0, body_len = 0;
    json_object *env = NULL;
    const char *type = NULL;
    unsigned char *body = NULL;
    int rc = TEMPER_OK;
    if (!d->media_type || strcmp(d->media_type, TEMPER_DSSE_MEDIA_TYPE) != 0) {
        return block(v, "attestation layer %s is %s, not a DSSE envelope", d->digest,
                     d->media_type ? d->media_type : "untyped");
    }
    rc = v->f->get_blob(v->f->ctx, v->st, d, TEMPER_SIGSTORE_MAX_BLOB, &data, &len);
    if (rc != TEMPER_OK) {
        rc = fetch_verdict(v, rc, d->digest);
    } else if (!envelope_open(data, len, &env, &type, &body, &body_len)) {
        rc = block(v, "attestation %s is not a DSSE envelope", d->digest);
    } else if (!envelope_verifies(v, env, type, body, body_len)) {
        rc = block(v, "attestation %s: no envelope signature verifies with key %s", d->digest,
                   v->rep->key_id);
    } else if (!statement_about(body, body_len, v->digest + 7, &pt)) {
        rc = block(v, "attestation %s (%s) is not about %s", d->digest, pt ? pt : "no type",
                   v->digest);
    } else {
        rc = add_predicate(v->rep, pt);
        pt = NULL;
    }
    free(pt);
    free(body);
    json_object_put(env);
    free(data);
    return rc;
}

/* Check every layer of the `kind` object with `fn`.  A missing .sig is a
 * BLOCK (an image must be signed); a missing .att is not (attestations are
 * optional), and a .sig none of whose layers this key signed is a BLOCK. */
static int check_object(struct vctx *v, enum temper_sigstore_kind kind,
                        int (*fn)(struct vctx *, const struct temper_oci_descriptor *))
{
    char tag[TEMPER_SIGSTORE_TAG_LEN];
    struct temper_oci_manifest m;
    memset(&m, 0, sizeof m);
    int found = 0;
    int rc = temper_sigstore_tag(v->digest, kind, tag);
    if (rc == TEMPER_OK) {
        rc = get_manifest(v, tag, &m, &found);
    }
    if (rc == TEMPER_OK && !found && kind == TEMPER_SIGSTORE_SIG) {
        rc = block(v, "no signature: %s not found", tag);
    }
    for (size_t i = 0; rc == TEMPER_OK && found && i < m.n_layers; i++) {
        rc = fn(v, &m.layers[i]);
    }
    if (rc == TEMPER_OK && found && kind == TEMPER_SIGSTORE_SIG && v->rep->n_signatures == 0) {
        rc = block(v, "no signature in %s verifies with key %s (%zu signature(s) checked)", tag,
                   v->rep->key_id, v->rep->n_signatures_other);
    }
    temper_oci_manifest_cleanup(&m);
    return rc;
}

int temper_sigstore_verify(struct temper_stage *st, const char *pubkey_pem,
                           const char *image_digest, const struct temper_sigstore_fetch *f,
                           enum temper_verdict *verdict, struct temper_sigstore_report *report)
{
    struct vctx v = { .st = st, .f = f, .digest = image_digest, .rep = report, .verdict = verdict };
    *verdict = TEMPER_VERDICT_NONE;
    temper_sigstore_report_cleanup(report);
    if (!f || f->size < sizeof *f || !f->get_manifest || !f->get_blob || !image_digest ||
        !temper_oci_digest_valid(image_digest)) {
        return temper_fail(st, TEMPER_EINVAL, "sigstore verify: bad arguments (digest '%s')",
                           image_digest ? image_digest : "");
    }
    int rc = key_import(&v, pubkey_pem);
    if (rc == TEMPER_OK) {
        rc = check_object(&v, TEMPER_SIGSTORE_SIG, check_sig_layer);
    }
    if (rc == TEMPER_OK) {
        rc = check_object(&v, TEMPER_SIGSTORE_ATT, check_att_layer);
    }
    if (rc == TEMPER_OK && *verdict != TEMPER_VERDICT_BLOCK) {
        *verdict = TEMPER_VERDICT_PASS;
    }
    if (rc != TEMPER_OK) {
        *verdict = TEMPER_VERDICT_NONE;
    }
    if (v.key.pub) {
        gnutls_pubkey_deinit(v.key.pub);
    }
    return rc;
}

/* temper — cosign-convention signature objects next to an OCI image:
 * writing them (publishers) and verifying them (`temper verify`).
 *
 * Storage (cosign's legacy, tag-based scheme, which every cosign release
 * reads; see shared/specs/FORMATS.md section 3):
 *
 *   tag "sha256-<hex>.sig"  one OCI image manifest whose config is cosign's
 *       minimal image config ({"architecture":"","created":"0001-01-01T00:00:00Z",
 *       "history":[{"created":...} per layer],"os":"","rootfs":{"type":"layers",
 *       "diff_ids":[<layer digests>]},"config":{}}) and whose layers are the
 *       simple-signing payloads, media type
 *       application/vnd.dev.cosign.simplesigning.v1+json, each annotated
 *       dev.cosignproject.cosign/signature = base64 signature over the payload;
 *   tag "sha256-<hex>.att"  the same shape, layers are DSSE envelopes
 *       (application/vnd.dsse.envelope.v1+json) annotated predicateType.
 *
 * On top of cosign's bytes each manifest carries an OCI 1.1 `subject` (the
 * image descriptor) and an `artifactType` (cosign's referrers-mode types
 * below), so that registries with the referrers API index them too; cosign
 * ignores both fields when it reads the tag.  Everything is deterministic:
 * the same image and the same signature artifacts give byte-equal
 * manifests (layers in the order the artifacts are given, the .sig and .att
 * manifests written with the JSON rules of <temper/oci.h>).
 *
 * Verification goes through a small fetch interface (a manifest by tag, a
 * blob by descriptor), so the same code checks an OCI layout and a
 * registry.  A failed check is a verdict, not an error. */
#ifndef TEMPER_SIGSTORE_H
#define TEMPER_SIGSTORE_H

#include <stddef.h>
#include <temper/artifact.h>
#include <temper/oci.h>
#include <temper/rc.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_stage;

#define TEMPER_COSIGN_MT_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define TEMPER_COSIGN_ANN_SIGNATURE "dev.cosignproject.cosign/signature"
#define TEMPER_COSIGN_ANN_PREDICATE_TYPE "predicateType"
#define TEMPER_COSIGN_ARTIFACT_SIG "application/vnd.dev.cosign.artifact.sig.v1+json"
#define TEMPER_COSIGN_ARTIFACT_ATT "application/vnd.dev.cosign.artifact.att.v1+json"
#define TEMPER_COSIGN_SIGNATURE_TYPE "cosign container image signature"

/* "sha256-" + 64 hex + ".sig" + NUL, rounded up. */
#define TEMPER_SIGSTORE_TAG_LEN 80
/* Caps on what verification reads from outside. */
#define TEMPER_SIGSTORE_MAX_LAYERS 256
#define TEMPER_SIGSTORE_MAX_BLOB (16u * 1024 * 1024)

enum temper_sigstore_kind {
    TEMPER_SIGSTORE_SIG = 1, /* image signatures, tag sha256-<hex>.sig */
    TEMPER_SIGSTORE_ATT = 2  /* attestations, tag sha256-<hex>.att */
};

/* One manifest written by temper_sigstore_attach(). */
struct temper_sigstore_object {
    enum temper_sigstore_kind kind;
    char tag[TEMPER_SIGSTORE_TAG_LEN];     /* "sha256-<hex>.sig" / ".att" */
    struct temper_oci_descriptor manifest; /* media type, digest, size,
                                                artifactType */
    size_t n_layers;                       /* signatures / envelopes in it */
};

/* The tag of `kind` for image_digest ("sha256:<hex>"): TEMPER_EINVAL when the
 * digest is not valid. */
TEMPER_EXPORT int temper_sigstore_tag(const char *image_digest, enum temper_sigstore_kind kind,
                                      char out[TEMPER_SIGSTORE_TAG_LEN]) TEMPER_WARN_UNUSED;

/* Write into layout l the .sig and .att manifests (and their layer and
 * config blobs) for `image` (a manifest or index descriptor of an image
 * already in l, used as the subject).  Of `extras` (borrowed, as a publish
 * request has them) only TEMPER_ART_SIGNATURE artifacts about image->digest
 * are used (attribute signed_digest, or for DSSE envelopes without it the
 * statement's subject): those with media_type simple-signing and a
 * `signature` attribute become .sig layers, those with media_type
 * application/vnd.dsse.envelope.v1+json become .att layers annotated with
 * their predicate_type.  Nothing is tagged: the caller tags each object's
 * manifest at its `tag` once everything is in.  *out gets 0..2 objects
 * (.sig first; a kind without artifacts is not written), free with
 * temper_sigstore_objects_free().  No signature artifact at all gives
 * *n_out = 0 and TEMPER_OK. */
TEMPER_EXPORT int temper_sigstore_attach(struct temper_stage *st, struct temper_oci_layout *l,
                                         const struct temper_oci_descriptor *image,
                                         const struct temper_artifact *const *extras,
                                         size_t n_extras, struct temper_sigstore_object **out,
                                         size_t *n_out) TEMPER_WARN_UNUSED;
TEMPER_EXPORT void temper_sigstore_objects_free(struct temper_sigstore_object *objs, size_t n);

/* Flags of temper_sigstore_attach_flags(). */
#define TEMPER_SIGSTORE_NO_SUBJECT 0x1u /* leave out the OCI 1.1 `subject` (for
                                           registries that refuse it); the
                                           artifactType stays */

/* temper_sigstore_attach() with flags (0 or TEMPER_SIGSTORE_NO_SUBJECT;
 * other bits give TEMPER_EINVAL); temper_sigstore_attach() is flags 0.
 * (Appended after 0.1: publish_registry's `referrers = false`.) */
TEMPER_EXPORT int temper_sigstore_attach_flags(struct temper_stage *st,
                                               struct temper_oci_layout *l,
                                               const struct temper_oci_descriptor *image,
                                               const struct temper_artifact *const *extras,
                                               size_t n_extras, unsigned flags,
                                               struct temper_sigstore_object **out,
                                               size_t *n_out) TEMPER_WARN_UNUSED;

/* ---- verification -------------------------------------------------------- */

/* Where the objects are read from.  Both callbacks record their own error
 * with temper_fail() and return a negative rc; get_manifest returns
 * TEMPER_ENOTFOUND when the tag does not exist (the layout implementation
 * records nothing then; the registry one in core/verify_registry.c logs the
 * client's 404 line). */
struct temper_sigstore_fetch {
    uint32_t size; /* sizeof(struct temper_sigstore_fetch) */
    void *ctx;
    /* The manifest tagged `tag` (at most max bytes): *json new (free()),
     * *len its length.  The bytes need not be checked against anything. */
    int (*get_manifest)(void *ctx, struct temper_stage *st, const char *tag, size_t max,
                        char **json, size_t *len);
    /* The blob d points to, at most max bytes, checked against d's size and
     * digest (TEMPER_ECRYPTO when they differ): *data new (free()),
     * NUL-terminated, *len its length. */
    int (*get_blob)(void *ctx, struct temper_stage *st, const struct temper_oci_descriptor *d,
                    size_t max, char **data, size_t *len);
};

/* Fill f with the OCI-layout implementation (tags from index.json, blobs
 * from blobs/sha256 through temper_oci_blob_read).  l is borrowed and must
 * outlive every use of f. */
TEMPER_EXPORT void temper_sigstore_layout_fetch(const struct temper_oci_layout *l,
                                                struct temper_sigstore_fetch *f);

/* What temper_sigstore_verify() found.  Zero it before the call; release it
 * with temper_sigstore_report_cleanup(). */
struct temper_sigstore_report {
    char key_id[TEMPER_SHA256_HEX_LEN + 1]; /* hex sha256 of the key's SPKI */
    const char *algorithm;                  /* "ecdsa-p256-sha256", "ed25519", ... (static) */
    size_t n_signatures;                    /* .sig layers that verified */
    size_t n_signatures_other;              /* .sig layers not made by this key (ignored) */
    size_t n_attestations;                  /* .att envelopes that verified */
    char **predicate_types;                 /* one per verified envelope, in layer order */
    char *failure;                          /* the first reason the verdict is BLOCK */
};
TEMPER_EXPORT void temper_sigstore_report_cleanup(struct temper_sigstore_report *r);

/* Verify the cosign objects of image_digest ("sha256:<hex>") with the PEM
 * public key pubkey_pem (PKIX SubjectPublicKeyInfo: ECDSA P-256, Ed25519 or
 * RSA; RSA signatures are accepted as PKCS#1 v1.5 or PSS, SHA-256).
 * PASS when: the .sig manifest exists and at least one of its layers is a
 * simple-signing payload of type "cosign container image signature" whose
 * docker-manifest-digest (matched case-insensitively, as cosign does) is
 * image_digest and whose signature verifies with the key (layers signed by
 * other keys are counted and ignored, as cosign does; a layer signed by
 * this key about another digest fails); and every layer of the .att
 * manifest, when there is one, is a DSSE envelope with a signature that
 * verifies over PAE(payloadType, payload) and an in-toto statement whose
 * subjects include image_digest.  Otherwise *verdict = BLOCK with
 * report->failure saying why.  Negative rc only when the check could not
 * be carried out (unusable key, fetch error other than a missing tag). */
TEMPER_EXPORT int temper_sigstore_verify(struct temper_stage *st, const char *pubkey_pem,
                                         const char *image_digest,
                                         const struct temper_sigstore_fetch *f,
                                         enum temper_verdict *verdict,
                                         struct temper_sigstore_report *report) TEMPER_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif

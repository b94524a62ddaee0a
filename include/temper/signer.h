/* temper — signer plugins: sign bytes, tell the public key.
 *
 * The core decides what is signed (cosign simple-signing payloads, DSSE
 * pre-authentication encodings); a signer only signs bytes.  Key material
 * never leaves the plugin and is never logged. */
#ifndef TEMPER_SIGNER_H
#define TEMPER_SIGNER_H

#include <temper/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_signer_ops {
    /* Sign msg.  *sig receives a new buffer (free()) with the signature in the
     * encoding cosign uses for the algorithm (ASN.1 DER for ECDSA, raw for
     * Ed25519 and RSA). */
    int (*sign)(void *state, struct temper_stage *st,
                const unsigned char *msg, size_t len,
                unsigned char **sig, size_t *sig_len);
    /* The public key as a PEM SubjectPublicKeyInfo, new string (free()). */
    int (*public_key)(void *state, struct temper_stage *st, char **pem);
    /* Key id (e.g. sha256 of the SPKI, hex) and algorithm name
     * ("ecdsa-p256-sha256", "ed25519", "rsa-pss-sha256"), borrowed, valid
     * until close(). */
    const char *(*key_id)(void *state);
    const char *(*algorithm)(void *state);
};

#ifdef __cplusplus
}
#endif
#endif

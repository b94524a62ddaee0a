/* temper — what signer_keyfile and signer_pkcs11 share: a gnutls private key
 * bound to one signature scheme, the encodings cosign uses, the key id, and
 * reading small private files (keys, passwords, PINs) without leaving copies.
 *
 * The file is compiled into both modules (each module exports only its
 * descriptor, STYLE.md B3, so these names never leave the module).
 *
 * Signature encodings (what cosign produces and `cosign verify --key` checks):
 *   ecdsa-p256-sha256  ECDSA over SHA-256(msg) on P-256, ASN.1 DER
 *                      Ecdsa-Sig-Value (cosign's default and required scheme)
 *   ed25519            pure Ed25519 over msg (no prehash), raw 64 bytes
 *   rsa-pkcs1-sha256   RSASSA-PKCS1-v1_5 with SHA-256, raw modulus-sized
 *                      bytes.  This is the RSA scheme cosign verifies:
 *                      sigstore's signature.LoadVerifier() maps an RSA public
 *                      key to its PKCS#1 v1.5 verifier.
 *   rsa-pss-sha256     RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32
 *                      (the digest length).  Verifiable with openssl
 *                      (`-sigopt rsa_padding_mode:pss`), but NOT by
 *                      `cosign verify --key`, which only tries PKCS#1 v1.5
 *                      for RSA keys.
 * `auto` takes the scheme from the key: P-256 -> ecdsa-p256-sha256, Ed25519
 * -> ed25519, RSA -> rsa-pkcs1-sha256 (what cosign verifies).  A configured
 * scheme the key cannot do is an error, never a silent switch.  Refused keys:
 * other curves, RSA below 2048 bits, and RSA-PSS-restricted keys (public key
 * OID rsassaPss), whose public key cosign and Go's crypto/x509 cannot parse;
 * a plain RSA key signs PSS with algorithm = rsa-pss-sha256. */
#ifndef TEMPER_SIGNKEY_H
#define TEMPER_SIGNKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <temper/plugin.h>
#include <temper/signer.h>

/* Every module that compiles signkey.c defines SIGNKEY_NS to its own name
 * (-DSIGNKEY_NS=signer_keyfile): the names below then carry that prefix, so a
 * static (dlpreopen) build that links both modules into one program sees no
 * duplicate symbols. */
#ifndef SIGNKEY_NS
#error "compile with -DSIGNKEY_NS=<module name>"
#endif
#define SIGNKEY_CAT2(a, b) a##_##b
#define SIGNKEY_CAT(a, b) SIGNKEY_CAT2(a, b)
#define signkey_alg_choices SIGNKEY_CAT(SIGNKEY_NS, signkey_alg_choices)
#define signkey_ops SIGNKEY_CAT(SIGNKEY_NS, signkey_ops)
#define signkey_setup SIGNKEY_CAT(SIGNKEY_NS, signkey_setup)
#define signkey_sign SIGNKEY_CAT(SIGNKEY_NS, signkey_sign)
#define signkey_verify SIGNKEY_CAT(SIGNKEY_NS, signkey_verify)
#define signkey_public_pem SIGNKEY_CAT(SIGNKEY_NS, signkey_public_pem)
#define signkey_alg_name SIGNKEY_CAT(SIGNKEY_NS, signkey_alg_name)
#define signkey_cleanup SIGNKEY_CAT(SIGNKEY_NS, signkey_cleanup)
#define signkey_read_private SIGNKEY_CAT(SIGNKEY_NS, signkey_read_private)
#define signkey_read_secret SIGNKEY_CAT(SIGNKEY_NS, signkey_read_secret)
#define signkey_wipe_free SIGNKEY_CAT(SIGNKEY_NS, signkey_wipe_free)
#define signkey_wipe_str SIGNKEY_CAT(SIGNKEY_NS, signkey_wipe_str)

/* Index into signkey_alg_choices (the `algorithm` ENUM option). */
enum signkey_alg {
    SIGNKEY_AUTO = 0,
    SIGNKEY_ECDSA_P256_SHA256,
    SIGNKEY_ED25519,
    SIGNKEY_RSA_PSS_SHA256,
    SIGNKEY_RSA_PKCS1_SHA256
};

/* NULL-terminated, in enum order: "auto", "ecdsa-p256-sha256", ... */
extern const char *const signkey_alg_choices[];

/* Cap on key, password and PIN files (an RSA-16384 PEM is ~13 KiB). */
#define SIGNKEY_FILE_MAX (64u * 1024u)
/* Cap on a message to sign (gnutls datums are unsigned int sized). */
#define SIGNKEY_MSG_MAX (1024u * 1024u * 1024u)

struct signkey {
    gnutls_privkey_t priv;                /* owned */
    gnutls_pubkey_t pub;                  /* owned, derived from priv */
    enum signkey_alg alg;                 /* resolved, never SIGNKEY_AUTO */
    gnutls_sign_algorithm_t sign_algo;
    char *pub_pem;                        /* SubjectPublicKeyInfo, PEM */
    char key_id[2 * 32 + 1];              /* hex SHA-256 of the DER SPKI */
};

/* The signer ops of both modules: their state (from open()) starts with a
 * struct signkey, which these functions use. */
extern const struct temper_signer_ops signkey_ops;

/* Bind `priv` to a scheme (`want`, SIGNKEY_AUTO derives it), export the
 * public key, compute the key id, and prove the pair works by signing a
 * fixed message and verifying it with the public key (this catches a token
 * whose public key object does not belong to the private key, a key
 * restricted to other parameters, and a wrong PIN, at open() rather than in
 * the middle of a run).  `what` names the key in messages
 * ("signing key /etc/temper/signing.key").  Takes `priv` even on error (it is
 * then deinitialised).  Failures are recorded with temper_fail(). */
int signkey_setup(struct signkey *k, struct temper_stage *st, gnutls_privkey_t priv,
                  enum signkey_alg want, const char *what);
/* Sign msg in the scheme's encoding; *sig new buffer (free()). */
int signkey_sign(const struct signkey *k, struct temper_stage *st, const unsigned char *msg,
                 size_t len, unsigned char **sig, size_t *sig_len);
/* Verify sig over msg with the exported public key: TEMPER_OK or
 * TEMPER_ECRYPTO (nothing recorded; the caller words the failure). */
int signkey_verify(const struct signkey *k, const unsigned char *msg, size_t len,
                   const unsigned char *sig, size_t sig_len);
/* A copy of the public key PEM (free()). */
int signkey_public_pem(const struct signkey *k, struct temper_stage *st, char **pem);
const char *signkey_alg_name(enum signkey_alg a);
/* Releases the key; k may be zeroed or half set up. */
void signkey_cleanup(struct signkey *k);

/* Read a small private file: regular file only (symlinks to one are
 * followed), at most SIGNKEY_FILE_MAX bytes, and refused when any group or
 * other permission bit is set unless allow_loose.  `what` names the file in
 * messages ("signing key").  *data is NUL-terminated; release it with
 * signkey_wipe_free(*data, *len + 1).  TEMPER_ENOTFOUND when it does not
 * exist (recorded, like every other failure). */
int signkey_read_private(struct temper_stage *st, const char *path, const char *what,
                         bool allow_loose, unsigned char **data, size_t *len);
/* A secret (password, PIN) from `file` (read like signkey_read_private(),
 * trailing CR/LF removed) or from the environment variable `env`; at most
 * one of them may be set (EINVAL).  *secret is NULL when neither is set.  The
 * value is registered with temper_log_add_secret().  `key_file` / `key_env`
 * are the option names, for messages.  Release with signkey_wipe_str(). */
int signkey_read_secret(struct temper_stage *st, const char *file, const char *env,
                        const char *key_file, const char *key_env, bool allow_loose,
                        char **secret);
/* Zero then free. NULL is fine. */
void signkey_wipe_free(void *p, size_t len);
void signkey_wipe_str(char *s);

#endif

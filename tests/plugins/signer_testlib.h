/* temper — what the signer plugin tests share: opening a signer module
 * through the plugin harness (real loader, real option code), capturing
 * the log, running the independent tools (certtool, openssl, softhsm2-util,
 * p11tool) and verifying signatures with gnutls and with openssl. */
#ifndef TEMPER_TESTS_SIGNER_TESTLIB_H
#define TEMPER_TESTS_SIGNER_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <temper/signer.h>
#include "tests/lib/plugin_harness.h"

/* The run: which signer, a scratch directory for keys and tokens, the log. */
struct sgt {
    const char *name;  /* "keyfile", "pkcs11" */
    char dir[256];     /* removed by sgt_cleanup() */
    int log_ok;        /* the log is captured (ph_log_capture) */
};

/* Capture the log and make the scratch directory; on failure a TAP comment
 * says why.  Call sgt_cleanup() in every case (it prints the whole log as
 * TAP comments). */
int sgt_init(struct sgt *t, const char *name);
void sgt_cleanup(struct sgt *t);
/* "<scratch>/<name>", a new string. */
char *sgt_path(const struct sgt *t, const char *name);

/* Load signer_<name> through the plugin harness with settings "key=value"
 * (NULL-terminated) and open it; returns the first failing rc (a setting
 * the option code refuses is reported as a TAP comment).  Always
 * sgt_close(), also after a failure. */
int sgt_open(struct sgt *t, struct ph *in, const char *const *kv);
void sgt_close(struct sgt *t, struct ph *in);
/* The recorded error of the instance, "" when none. */
const char *sgt_error(const struct ph *in);
/* The signer ops of a loaded instance. */
const struct temper_signer_ops *sgt_ops(const struct ph *in);
/* Everything logged since sgt_init(), a new string. */
char *sgt_log_text(struct sgt *t);

/* Run argv (PATH search) with stdout to out_path (NULL: /dev/null) and
 * stderr to /dev/null; returns the exit status, -1 when it could not run. */
int sgt_run(const char *const argv[], const char *out_path);
/* true when `prog` is found in PATH. */
bool sgt_have(const char *prog);
int sgt_write_file(const char *path, const void *data, size_t len, unsigned mode);
/* The whole file, NUL-terminated, new buffer; NULL on error. */
char *sgt_read_file(const char *path, size_t *len);

/* 1 when sig verifies over msg with the PEM public key in the scheme `alg`
 * ("ecdsa-p256-sha256", "ed25519", "rsa-pkcs1-sha256", "rsa-pss-sha256"),
 * 0 when it does not. */
int sgt_verify_gnutls(const char *pub_pem, const char *alg, const void *msg, size_t len,
                      const unsigned char *sig, size_t sig_len);
/* The same with the openssl command line (an implementation independent of
 * gnutls): `openssl dgst -sha256 -verify` for ECDSA and RSA, `openssl pkeyutl
 * -verify -rawin` for Ed25519.  1 verified, 0 refused, -1 could not run. */
int sgt_verify_openssl(const struct sgt *t, const char *pub_pem_path, const char *alg,
                       const void *msg, size_t len, const unsigned char *sig, size_t sig_len);

#endif

/* temper — what the signer plugin tests share: loading a signer module
 * through the real loader, opening it with "key=value" settings, capturing
 * the log, running the independent tools (certtool, openssl, softhsm2-util,
 * p11tool) and verifying signatures with gnutls and with openssl. */
#ifndef TEMPER_TESTS_SIGNER_TESTLIB_H
#define TEMPER_TESTS_SIGNER_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <temper/signer.h>

struct sgt {
    struct temper_loader *loader;
    const struct temper_plugin *desc;
    const struct temper_signer_ops *ops;
    char dir[256]; /* scratch directory, removed by sgt_cleanup() */
    FILE *log;     /* every log line of the run */
};

/* One opened (or refused) instance; st keeps the recorded error. */
struct sgt_inst {
    struct temper_stage *st;
    void *conf;
    void *state;
};

/* Load signer_<name> and make the scratch directory; on failure a TAP
 * comment says why.  Call sgt_cleanup() in every case. */
int sgt_init(struct sgt *t, const char *name);
void sgt_cleanup(struct sgt *t);
/* "<scratch>/<name>", a new string. */
char *sgt_path(const struct sgt *t, const char *name);

/* Open with settings "key=value" (NULL-terminated list); returns open()'s
 * rc.  Always sgt_close(), also after a failure. */
int sgt_open(struct sgt *t, struct sgt_inst *in, const char *const *kv);
void sgt_close(struct sgt *t, struct sgt_inst *in);
/* The recorded error of the instance, "" when none. */
const char *sgt_error(const struct sgt_inst *in);
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

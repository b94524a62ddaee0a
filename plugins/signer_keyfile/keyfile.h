/* temper — signer_keyfile internals shared by its two source files. */
#ifndef TEMPER_SIGNER_KEYFILE_H
#define TEMPER_SIGNER_KEYFILE_H

#include "signkey.h"

struct keyfile_conf {
    char *key;                    /* PATH, required */
    char *password_file;          /* PATH */
    char *password_env;           /* STR: name of an environment variable */
    int algorithm;                /* enum signkey_alg */
    bool generate;
    bool allow_loose_permissions;
};

/* Load (or, with conf->generate and no file at conf->key, create) the
 * private key.  `password` may be NULL.  *priv is new (gnutls_privkey_deinit).
 * Failures are recorded with temper_fail() and never contain key material. */
int keyfile_load_key(struct temper_stage *st, const struct keyfile_conf *conf,
                     const char *password, gnutls_privkey_t *priv);

#endif

/* temper — signer_keyfile: sign with a PEM private key on disk, through
 * gnutls.
 *
 *   [signer "release"]
 *   plugin        = keyfile
 *   key           = /etc/temper/signing.key
 *   password_file = /etc/temper/signing.pass   ; only for an encrypted key
 *
 * Keys: ECDSA P-256 (the default and what cosign uses), Ed25519, RSA >= 2048
 * bits; PKCS#8 ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"), SEC1 ("EC PRIVATE
 * KEY") and PKCS#1 ("RSA PRIVATE KEY", also OpenSSL-encrypted) PEM.  The
 * signature encodings and the `algorithm` choices are described in
 * signkey.h.  The key file must not be accessible by group or others
 * (allow_loose_permissions overrides that).  With `generate = true` a
 * missing key is created: ECDSA P-256, PKCS#8 (encrypted with the password
 * when one is configured), mode 0600, its public key written to <key>.pub.
 *
 * key_id() is the hex SHA-256 of the DER SubjectPublicKeyInfo; algorithm()
 * the scheme's name ("ecdsa-p256-sha256", ...).  The password is registered
 * as a secret for log redaction and kept only while the key is imported;
 * key and password buffers are zeroed before they are freed. */
#include "config.h"
#include "keyfile.h"

#include <stddef.h>
#include <stdlib.h>
#include <temper/buf.h>

struct keyfile_state {
    struct signkey key; /* first: the shared signkey_ops use the state as one */
};

static const struct temper_option keyfile_options[] = {
    { TEMPER_OPT_PATH, "key", NULL, TEMPER_OPT_REQUIRED, offsetof(struct keyfile_conf, key), 0,
      0, NULL,
      "PEM private key (PKCS#8, SEC1 or PKCS#1; may be encrypted); mode 0600 or stricter" },
    { TEMPER_OPT_PATH, "password_file", NULL, 0, offsetof(struct keyfile_conf, password_file),
      0, 0, NULL,
      "file holding the password of an encrypted key (one line; same permission rule as key)" },
    { TEMPER_OPT_STR, "password_env", NULL, 0, offsetof(struct keyfile_conf, password_env), 0, 0,
      NULL, "name of an environment variable holding the key's password" },
    { TEMPER_OPT_ENUM, "algorithm", "auto", 0, offsetof(struct keyfile_conf, algorithm), 0, 0,
      signkey_alg_choices,
      "signature scheme; auto derives it from the key (RSA keys: rsa-pkcs1-sha256, the RSA "
      "scheme cosign verifies)" },
    { TEMPER_OPT_BOOL, "generate", "false", 0, offsetof(struct keyfile_conf, generate), 0, 0,
      NULL, "create a new ECDSA P-256 key (mode 0600) and <key>.pub when key does not exist" },
    { TEMPER_OPT_BOOL, "allow_loose_permissions", "false", 0,
      offsetof(struct keyfile_conf, allow_loose_permissions), 0, 0, NULL,
      "accept key and password files that group or others can access" },
    TEMPER_OPTION_END,
};

static void keyfile_close(void *state)
{
    struct keyfile_state *s = state;
    if (!s) {
        return;
    }
    signkey_cleanup(&s->key);
    free(s);
}

static int keyfile_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct keyfile_conf *c = conf;
    struct keyfile_state *s = NULL;
    char *password = NULL;
    char *what = NULL;
    gnutls_privkey_t priv = NULL;
    *state = NULL;
    if (!c || !c->key) {
        return temper_fail(st, TEMPER_EINVAL, "signer_keyfile needs key = PATH");
    }
    int rc = signkey_read_secret(st, c->password_file, c->password_env, "password_file", "password_env", c->allow_loose_permissions,
                                 &password);
    if (rc == TEMPER_OK) {
        rc = keyfile_load_key(st, c, password, &priv);
    }
    signkey_wipe_str(password);
    if (rc == TEMPER_OK) {
        s = calloc(1, sizeof *s);
        what = temper_strdupf("signing key %s", c->key);
        rc = s && what ? TEMPER_OK : TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK) {
        rc = signkey_setup(&s->key, st, priv, (enum signkey_alg)c->algorithm, what);
        priv = NULL; /* taken */
    }
    if (rc == TEMPER_OK) {
        TEMPER_LOG_DEBUG(st, "signing key %s: %s, key id %s", c->key,
                         signkey_alg_name(s->key.alg), s->key.key_id);
        *state = s;
        s = NULL;
    }
    if (priv) {
        gnutls_privkey_deinit(priv);
    }
    keyfile_close(s);
    free(what);
    return rc;
}

TEMPER_PLUGIN(signer_keyfile) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_SIGNER,
    .name = "keyfile",
    .version = PACKAGE_VERSION,
    .summary = "Sign with a PEM private key (ECDSA P-256, Ed25519, RSA) through gnutls",
    .options = keyfile_options,
    .conf_size = sizeof(struct keyfile_conf),
    .open = keyfile_open,
    .close = keyfile_close,
    .ops = &signkey_ops,
    .ops_size = sizeof signkey_ops,
};

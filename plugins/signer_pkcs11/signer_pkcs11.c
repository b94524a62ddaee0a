/* temper — signer_pkcs11: sign with a key held by a PKCS#11 token or HSM
 * (SoftHSM, YubiHSM, a cloud HSM's PKCS#11 library...) through gnutls.
 *
 *   [signer "release"]
 *   plugin   = pkcs11
 *   module   = /usr/lib/softhsm/libsofthsm2.so
 *   uri      = pkcs11:token=temper;object=release
 *   pin_file = /etc/temper/token.pin
 *
 * The private key never leaves the token: gnutls asks it to sign.  Keys and
 * signature encodings are those of signer_keyfile (signkey.h): ECDSA P-256
 * (DER), Ed25519 (raw), RSA PKCS#1 v1.5 or PSS with SHA-256.  The public key
 * is read from the token's public key object (or, for RSA, from the private
 * key's modulus), and open() signs and verifies a test message so that a
 * wrong PIN, a missing object or a public key that does not match fails at
 * once.  The PIN comes from pin_file or pin_env, is registered as a secret,
 * is given to the token only when it asks for the first time (a wrong PIN is
 * never retried, so the plugin cannot lock the token), and is zeroed at
 * close().  A URI carrying `pin-value` is refused: the PIN belongs in
 * pin_file, not in a config value that appears in messages.  PKCS#11 login
 * state belongs to the token and the process, not to a session: while one
 * instance is logged in to a token, another instance opened on the same
 * token is not asked for its PIN (so its PIN is not checked then).
 *
 * PKCS#11 set-up, and why this plugin does it.  STYLE.md B5 keeps the
 * libraries' *global* init (gnutls_global_init) in the core.  Loading a
 * PKCS#11 module is different: it is the registration of one provider that
 * only this plugin needs, and gnutls has no other way to use a module given
 * by path.  So open() calls
 *   gnutls_pkcs11_init(GNUTLS_PKCS11_FLAG_MANUAL, NULL)
 *     gnutls keeps a use count: the first call switches PKCS#11 to "manual"
 *     (it does not load every module p11-kit knows about, which could start
 *     unrelated tokens or agents); later calls only count;
 *   gnutls_pkcs11_add_provider(module, NULL)
 *     loads and C_Initialize()s the module; a module already registered (a
 *     second instance, or gnutls's own automatic loading) is recognised by
 *     gnutls and reported as success;
 * and close() calls gnutls_pkcs11_deinit() exactly once per successful
 * gnutls_pkcs11_init(): the providers are finalised when the last user is
 * gone, so two instances, and a close followed by a new open, each keep the
 * module loaded while they need it.  These calls are not thread safe:
 * open() and close() run on the main thread, like every plugin's (the core
 * opens stages before workers start). */
#include "config.h"
#include "signkey.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/pkcs11.h>
#include <temper/buf.h>

struct pkcs11_conf {
    char *module;    /* PATH, required */
    char *uri;       /* STR, required */
    char *pin_file;  /* PATH */
    char *pin_env;   /* STR */
    int algorithm;   /* enum signkey_alg */
    bool allow_loose_permissions;
};

struct pkcs11_state {
    struct signkey key; /* first: the shared signkey_ops use the state as one */
    char *pin;        /* owned, wiped at close */
    unsigned asked;   /* times the token asked for the PIN */
    bool pin_wrong;   /* the token said the PIN was wrong */
    bool p11_inited;  /* gnutls_pkcs11_init() succeeded: deinit once at close */
};

static const struct temper_option pkcs11_options[] = {
    { TEMPER_OPT_PATH, "module", NULL, TEMPER_OPT_REQUIRED, offsetof(struct pkcs11_conf, module),
      0, 0, NULL, "PKCS#11 module (shared library), e.g. /usr/lib/softhsm/libsofthsm2.so" },
    { TEMPER_OPT_STR, "uri", NULL, TEMPER_OPT_REQUIRED, offsetof(struct pkcs11_conf, uri), 0, 0,
      NULL, "RFC 7512 URI of the private key, e.g. pkcs11:token=temper;object=release" },
    { TEMPER_OPT_PATH, "pin_file", NULL, 0, offsetof(struct pkcs11_conf, pin_file), 0, 0, NULL,
      "file holding the token's user PIN (one line; mode 0600 or stricter)" },
    { TEMPER_OPT_STR, "pin_env", NULL, 0, offsetof(struct pkcs11_conf, pin_env), 0, 0, NULL,
      "name of an environment variable holding the token's user PIN" },
    { TEMPER_OPT_ENUM, "algorithm", "auto", 0, offsetof(struct pkcs11_conf, algorithm), 0, 0,
      signkey_alg_choices,
      "signature scheme; auto derives it from the key (RSA keys: rsa-pkcs1-sha256, the RSA "
      "scheme cosign verifies)" },
    { TEMPER_OPT_BOOL, "allow_loose_permissions", "false", 0,
      offsetof(struct pkcs11_conf, allow_loose_permissions), 0, 0, NULL,
      "accept a pin_file that group or others can access" },
    TEMPER_OPTION_END,
};

/* gnutls asks for the PIN when it logs in (at import, and again if the
 * session is lost).  Give it once per login; never retry a rejected PIN and
 * never give the user PIN as the security officer's. */
static int pin_cb(void *userdata, int attempt, const char *token_url, const char *token_label,
                  unsigned int flags, char *pin, size_t pin_max)
{
    struct pkcs11_state *s = userdata;
    (void)token_url;
    (void)token_label;
    s->asked++;
    if (flags & GNUTLS_PIN_WRONG) {
        s->pin_wrong = true;
    }
    if (!s->pin || attempt > 0 || s->pin_wrong || (flags & GNUTLS_PIN_SO)) {
        return GNUTLS_E_PKCS11_PIN_ERROR;
    }
    size_t n = strlen(s->pin);
    if (n >= pin_max) {
        return GNUTLS_E_PKCS11_PIN_ERROR;
    }
    memcpy(pin, s->pin, n + 1);
    return 0;
}

static void pkcs11_close(void *state)
{
    struct pkcs11_state *s = state;
    if (!s) {
        return;
    }
    signkey_cleanup(&s->key); /* closes the key's session before the module goes */
    if (s->p11_inited) {
        gnutls_pkcs11_deinit();
    }
    signkey_wipe_str(s->pin);
    free(s);
}

static int check_uri(struct temper_stage *st, const char *uri)
{
    if (strncmp(uri, "pkcs11:", 7) != 0) {
        return temper_fail(st, TEMPER_EINVAL,
                           "uri must be a pkcs11: URI (e.g. pkcs11:token=temper;object=release)");
    }
    if (strstr(uri, "pin-value")) {
        /* not named: the URI holds a PIN */
        return temper_fail(st, TEMPER_EINVAL,
                           "uri carries a pin-value: put the PIN in pin_file or pin_env instead");
    }
    return TEMPER_OK;
}

static int add_provider(struct pkcs11_state *s, struct temper_stage *st, const char *module)
{
    int g = gnutls_pkcs11_init(GNUTLS_PKCS11_FLAG_MANUAL, NULL);
    if (g < 0) {
        return temper_fail(st, TEMPER_ECRYPTO, "cannot set up PKCS#11 in gnutls: %s",
                           gnutls_strerror(g));
    }
    s->p11_inited = true;
    g = gnutls_pkcs11_add_provider(module, NULL);
    if (g < 0) {
        return temper_fail(st, TEMPER_ECRYPTO, "cannot load PKCS#11 module %s: %s", module,
                           gnutls_strerror(g));
    }
    return TEMPER_OK;
}

static int import_failure(const struct pkcs11_state *s, struct temper_stage *st,
                          const struct pkcs11_conf *c, int g)
{
    const char *from = c->pin_file ? "pin_file" : "pin_env";
    if (s->asked > 0 && !s->pin) {
        return temper_fail(st, TEMPER_EINVAL,
                           "token of %s asks for a PIN: set pin_file or pin_env", c->uri);
    }
    if (s->pin_wrong || g == GNUTLS_E_PKCS11_PIN_ERROR) {
        return temper_fail(st, TEMPER_ECRYPTO,
                           "token of %s rejected the PIN from %s (%s); not retried",
                           c->uri, from, gnutls_strerror(g));
    }
    if (g == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
        return temper_fail(st, TEMPER_ENOTFOUND,
                           "no private key matches %s in PKCS#11 module %s (the URI needs "
                           "token= and object= or id=)",
                           c->uri, c->module);
    }
    if (g == GNUTLS_E_PARSING_ERROR || g == GNUTLS_E_INVALID_REQUEST) {
        return temper_fail(st, TEMPER_EINVAL, "uri %s is not a pkcs11: URI of a private key: %s",
                           c->uri, gnutls_strerror(g));
    }
    return temper_fail(st, TEMPER_ECRYPTO, "cannot open key %s: %s", c->uri,
                       gnutls_strerror(g));
}

static int open_key(struct pkcs11_state *s, struct temper_stage *st,
                    const struct pkcs11_conf *c)
{
    gnutls_privkey_t priv = NULL;
    char *what = NULL;
    int g = gnutls_privkey_init(&priv);
    if (g < 0) {
        return temper_fail(st, TEMPER_ECRYPTO, "cannot open key %s: %s", c->uri,
                           gnutls_strerror(g));
    }
    gnutls_privkey_set_pin_function(priv, pin_cb, s);
    g = gnutls_privkey_import_url(priv, c->uri, 0);
    if (g < 0) {
        int rc = import_failure(s, st, c, g);
        gnutls_privkey_deinit(priv);
        return rc;
    }
    what = temper_strdupf("PKCS#11 key %s", c->uri);
    if (!what) {
        gnutls_privkey_deinit(priv);
        return TEMPER_ENOMEM;
    }
    int rc = signkey_setup(&s->key, st, priv, (enum signkey_alg)c->algorithm, what);
    free(what);
    return rc;
}

static int pkcs11_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct pkcs11_conf *c = conf;
    *state = NULL;
    if (!c || !c->module || !c->uri) {
        return temper_fail(st, TEMPER_EINVAL, "signer_pkcs11 needs module = PATH and uri = URI");
    }
    int rc = check_uri(st, c->uri);
    struct pkcs11_state *s = rc == TEMPER_OK ? calloc(1, sizeof *s) : NULL;
    if (rc == TEMPER_OK && !s) {
        rc = TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK) {
        rc = signkey_read_secret(st, c->pin_file, c->pin_env, "pin_file", "pin_env",
                                 c->allow_loose_permissions, &s->pin);
    }
    if (rc == TEMPER_OK) {
        rc = add_provider(s, st, c->module);
    }
    if (rc == TEMPER_OK) {
        rc = open_key(s, st, c);
    }
    if (rc != TEMPER_OK) {
        pkcs11_close(s);
        return rc;
    }
    TEMPER_LOG_DEBUG(st, "PKCS#11 key %s: %s, key id %s", c->uri, signkey_alg_name(s->key.alg),
                     s->key.key_id);
    *state = s;
    return TEMPER_OK;
}

TEMPER_PLUGIN(signer_pkcs11) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_SIGNER,
    .name = "pkcs11",
    .version = PACKAGE_VERSION,
    .summary = "Sign with a key on a PKCS#11 token or HSM through gnutls",
    .options = pkcs11_options,
    .conf_size = sizeof(struct pkcs11_conf),
    .open = pkcs11_open,
    .close = pkcs11_close,
    .ops = &signkey_ops,
    .ops_size = sizeof signkey_ops,
};

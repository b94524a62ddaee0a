/* temper — the signing core shared by signer_keyfile and signer_pkcs11
 * (see signkey.h for the encodings and why they are cosign's). */
#include "config.h"
#include "signkey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <temper/hash.h>

const char *const signkey_alg_choices[] = {
    "auto", "ecdsa-p256-sha256", "ed25519", "rsa-pss-sha256", "rsa-pkcs1-sha256", NULL,
};

/* Signed and verified at setup; any fixed bytes do. */
static const char self_test_msg[] = "temper signer self-test";

const char *signkey_alg_name(enum signkey_alg a)
{
    if ((int)a < 0 || (size_t)a >= sizeof signkey_alg_choices / sizeof *signkey_alg_choices - 1) {
        return "unknown";
    }
    return signkey_alg_choices[a];
}

/* What the key is, as the scheme it signs with by default; a key temper
 * cannot use is recorded as an error. */
static int key_natural_alg(gnutls_pubkey_t pub, struct temper_stage *st, const char *what,
                           gnutls_pk_algorithm_t *pk, enum signkey_alg *alg)
{
    unsigned bits = 0;
    gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
    int g = gnutls_pubkey_get_pk_algorithm(pub, &bits);
    if (g < 0) {
        return temper_fail(st, TEMPER_ECRYPTO, "%s: cannot tell the key type: %s", what,
                           gnutls_strerror(g));
    }
    *pk = (gnutls_pk_algorithm_t)g;
    switch (*pk) {
    case GNUTLS_PK_ECDSA:
        g = gnutls_pubkey_export_ecc_raw2(pub, &curve, NULL, NULL, 0);
        if (g < 0 || curve != GNUTLS_ECC_CURVE_SECP256R1) {
            const char *name = g < 0 ? NULL : gnutls_ecc_curve_get_name(curve);
            return temper_fail(st, TEMPER_EINVAL,
                               "%s is an ECDSA key on curve %s: only P-256 (SECP256R1, the "
                               "curve cosign uses) is supported",
                               what, name ? name : "(unknown)");
        }
        *alg = SIGNKEY_ECDSA_P256_SHA256;
        return TEMPER_OK;
    case GNUTLS_PK_EDDSA_ED25519:
        *alg = SIGNKEY_ED25519;
        return TEMPER_OK;
    case GNUTLS_PK_RSA:
        *alg = SIGNKEY_RSA_PKCS1_SHA256; /* the RSA scheme cosign verifies */
        break;
    case GNUTLS_PK_RSA_PSS:
        return temper_fail(st, TEMPER_EINVAL,
                           "%s is an RSA-PSS-restricted key (rsassaPss public key), which "
                           "cosign and Go cannot read: use a plain RSA key (with algorithm = "
                           "rsa-pss-sha256 for PSS signatures)",
                           what);
    default:
        return temper_fail(st, TEMPER_EINVAL,
                           "%s is a %s key: temper signs with ECDSA P-256, Ed25519 or RSA keys",
                           what, gnutls_pk_get_name(*pk) ? gnutls_pk_get_name(*pk) : "unknown");
    }
    if (bits < 2048) {
        return temper_fail(st, TEMPER_EINVAL, "%s is a %u-bit RSA key: at least 2048 bits needed",
                           what, bits);
    }
    return TEMPER_OK;
}

/* The gnutls scheme for `alg` on a key of type `pk`, or UNKNOWN when that key
 * cannot sign that way. */
static gnutls_sign_algorithm_t scheme_for(enum signkey_alg alg, gnutls_pk_algorithm_t pk)
{
    switch (alg) {
    case SIGNKEY_ECDSA_P256_SHA256:
        return pk == GNUTLS_PK_ECDSA ? GNUTLS_SIGN_ECDSA_SHA256 : GNUTLS_SIGN_UNKNOWN;
    case SIGNKEY_ED25519:
        return pk == GNUTLS_PK_EDDSA_ED25519 ? GNUTLS_SIGN_EDDSA_ED25519 : GNUTLS_SIGN_UNKNOWN;
    case SIGNKEY_RSA_PKCS1_SHA256:
        return pk == GNUTLS_PK_RSA ? GNUTLS_SIGN_RSA_SHA256 : GNUTLS_SIGN_UNKNOWN;
    case SIGNKEY_RSA_PSS_SHA256: /* a plain RSA key with PSS padding */
        return pk == GNUTLS_PK_RSA ? GNUTLS_SIGN_RSA_PSS_RSAE_SHA256 : GNUTLS_SIGN_UNKNOWN;
    case SIGNKEY_AUTO:
    default:
        return GNUTLS_SIGN_UNKNOWN;
    }
}

static const char *pk_words(gnutls_pk_algorithm_t pk)
{
    switch (pk) {
    case GNUTLS_PK_ECDSA:
        return "an ECDSA P-256";
    case GNUTLS_PK_EDDSA_ED25519:
        return "an Ed25519";
    case GNUTLS_PK_RSA:
        return "an RSA";
    default:
        return "a";
    }
}

static int export_public(struct signkey *k, struct temper_stage *st, const char *what)
{
    gnutls_datum_t pem = { NULL, 0 }, der = { NULL, 0 };
    int g = gnutls_pubkey_export2(k->pub, GNUTLS_X509_FMT_PEM, &pem);
    if (g >= 0) {
        g = gnutls_pubkey_export2(k->pub, GNUTLS_X509_FMT_DER, &der);
    }
    int rc = TEMPER_OK;
    if (g < 0) {
        rc = temper_fail(st, TEMPER_ECRYPTO, "%s: cannot export the public key: %s", what,
                         gnutls_strerror(g));
        goto out;
    }
    k->pub_pem = strndup((const char *)pem.data, pem.size);
    if (!k->pub_pem) {
        rc = TEMPER_ENOMEM;
        goto out;
    }
    rc = temper_sha256_hex(der.data, der.size, k->key_id);
    if (rc != TEMPER_OK) {
        rc = temper_fail(st, rc, "%s: cannot hash the public key", what);
    }
out:
    gnutls_free(pem.data);
    gnutls_free(der.data);
    return rc;
}

static int self_test(struct signkey *k, struct temper_stage *st, const char *what)
{
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    int rc = signkey_sign(k, st, (const unsigned char *)self_test_msg, sizeof self_test_msg - 1,
                          &sig, &sig_len);
    if (rc == TEMPER_OK &&
        signkey_verify(k, (const unsigned char *)self_test_msg, sizeof self_test_msg - 1, sig,
                       sig_len) != TEMPER_OK) {
        rc = temper_fail(st, TEMPER_ECRYPTO,
                         "%s: a test signature does not verify with its public key (the "
                         "public key does not belong to the private key)",
                         what);
    }
    free(sig);
    return rc;
}

static int setup(struct signkey *k, struct temper_stage *st, enum signkey_alg want,
                 const char *what)
{
    gnutls_pk_algorithm_t pk = GNUTLS_PK_UNKNOWN;
    enum signkey_alg natural = SIGNKEY_AUTO;
    int g = gnutls_pubkey_init(&k->pub);
    if (g >= 0) {
        g = gnutls_pubkey_import_privkey(k->pub, k->priv, 0, 0);
    }
    if (g < 0) {
        return temper_fail(st, TEMPER_ECRYPTO, "%s: cannot read its public key: %s", what,
                           gnutls_strerror(g));
    }
    int rc = key_natural_alg(k->pub, st, what, &pk, &natural);
    if (rc != TEMPER_OK) {
        return rc;
    }
    k->alg = want == SIGNKEY_AUTO ? natural : want;
    k->sign_algo = scheme_for(k->alg, pk);
    if (k->sign_algo == GNUTLS_SIGN_UNKNOWN) {
        return temper_fail(st, TEMPER_EINVAL,
                           "%s is %s key, which cannot sign with algorithm = %s (use "
                           "algorithm = auto or %s)",
                           what, pk_words(pk), signkey_alg_name(k->alg),
                           signkey_alg_name(natural));
    }
    rc = export_public(k, st, what);
    if (rc == TEMPER_OK) {
        rc = self_test(k, st, what);
    }
    return rc;
}

int signkey_setup(struct signkey *k, struct temper_stage *st, gnutls_privkey_t priv,
                  enum signkey_alg want, const char *what)
{
    memset(k, 0, sizeof *k);
    k->priv = priv;
    int rc = setup(k, st, want, what);
    if (rc != TEMPER_OK) {
        signkey_cleanup(k);
    }
    return rc;
}

int signkey_sign(const struct signkey *k, struct temper_stage *st, const unsigned char *msg,
                 size_t len, unsigned char **sig, size_t *sig_len)
{
    static const unsigned char empty[1];
    *sig = NULL;
    *sig_len = 0;
    if (!k || !k->priv || (!msg && len > 0)) {
        return temper_fail(st, TEMPER_EINVAL, "signer called without a key or a message");
    }
    if (len > SIGNKEY_MSG_MAX) {
        return temper_fail(st, TEMPER_ELIMIT, "message of %zu bytes is over the %u-byte limit",
                           len, SIGNKEY_MSG_MAX);
    }
    gnutls_datum_t data = { (unsigned char *)(msg ? msg : empty), (unsigned)len };
    gnutls_datum_t out = { NULL, 0 };
    int g = gnutls_privkey_sign_data2(k->priv, k->sign_algo, 0, &data, &out);
    if (g < 0) {
        return temper_fail(st, TEMPER_ECRYPTO, "signing with the %s key %.16s failed: %s",
                           signkey_alg_name(k->alg), k->key_id, gnutls_strerror(g));
    }
    int rc = TEMPER_OK;
    *sig = out.size > 0 ? malloc(out.size) : NULL;
    if (!*sig) {
        rc = out.size > 0 ? TEMPER_ENOMEM
                          : temper_fail(st, TEMPER_ECRYPTO, "the key returned an empty signature");
    } else {
        memcpy(*sig, out.data, out.size);
        *sig_len = out.size;
    }
    gnutls_free(out.data);
    return rc;
}

int signkey_verify(const struct signkey *k, const unsigned char *msg, size_t len,
                   const unsigned char *sig, size_t sig_len)
{
    if (!k || !k->pub || !sig || len > SIGNKEY_MSG_MAX || sig_len > SIGNKEY_FILE_MAX) {
        return TEMPER_ECRYPTO;
    }
    gnutls_datum_t data = { (unsigned char *)msg, (unsigned)len };
    gnutls_datum_t s = { (unsigned char *)sig, (unsigned)sig_len };
    return gnutls_pubkey_verify_data2(k->pub, k->sign_algo, 0, &data, &s) >= 0
               ? TEMPER_OK
               : TEMPER_ECRYPTO;
}

int signkey_public_pem(const struct signkey *k, struct temper_stage *st, char **pem)
{
    *pem = NULL;
    if (!k || !k->pub_pem) {
        return temper_fail(st, TEMPER_EINVAL, "signer has no public key");
    }
    *pem = strdup(k->pub_pem);
    return *pem ? TEMPER_OK : TEMPER_ENOMEM;
}

/* ---- the ops table: state starts with a struct signkey ------------------ */

static int op_sign(void *state, struct temper_stage *st, const unsigned char *msg, size_t len,
                   unsigned char **sig, size_t *sig_len)
{
    return signkey_sign(state, st, msg, len, sig, sig_len);
}

static int op_public_key(void *state, struct temper_stage *st, char **pem)
{
    return signkey_public_pem(state, st, pem);
}

static const char *op_key_id(void *state)
{
    const struct signkey *k = state;
    return k ? k->key_id : NULL;
}

static const char *op_algorithm(void *state)
{
    const struct signkey *k = state;
    return k ? signkey_alg_name(k->alg) : NULL;
}

const struct temper_signer_ops signkey_ops = {
    .sign = op_sign,
    .public_key = op_public_key,
    .key_id = op_key_id,
    .algorithm = op_algorithm,
};

void signkey_cleanup(struct signkey *k)
{
    if (!k) {
        return;
    }
    if (k->pub) {
        gnutls_pubkey_deinit(k->pub);
    }
    if (k->priv) {
        gnutls_privkey_deinit(k->priv);
    }
    free(k->pub_pem);
    memset(k, 0, sizeof *k);
}

/* ---- private files and secrets ------------------------------------------ */

void signkey_wipe_free(void *p, size_t len)
{
    if (p) {
        gnutls_memset(p, 0, len);
        free(p);
    }
}

void signkey_wipe_str(char *s)
{
    if (s) {
        signkey_wipe_free(s, strlen(s) + 1);
    }
}

static int open_private(struct temper_stage *st, const char *path, const char *what,
                        bool allow_loose, int *fd_out)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        return e == ENOENT ? temper_fail(st, TEMPER_ENOTFOUND, "%s %s does not exist", what, path)
                           : temper_fail(st, TEMPER_EIO, "cannot open %s %s: %s", what, path,
                                         strerror(e));
    }
    int rc = TEMPER_OK;
    if (fstat(fd, &sb) != 0) {
        rc = temper_fail(st, TEMPER_EIO, "cannot stat %s %s: %s", what, path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        rc = temper_fail(st, TEMPER_EINVAL, "%s %s is not a regular file", what, path);
    } else if ((sb.st_mode & (S_IRWXG | S_IRWXO)) && !allow_loose) {
        rc = temper_fail(st, TEMPER_EINVAL,
                         "%s %s is accessible by group or others (mode %04o): chmod 600 it, "
                         "or set allow_loose_permissions = true",
                         what, path, (unsigned)(sb.st_mode & 07777));
    } else if (sb.st_size > (off_t)SIGNKEY_FILE_MAX) {
        rc = temper_fail(st, TEMPER_ELIMIT, "%s %s is larger than %u bytes", what, path,
                         SIGNKEY_FILE_MAX);
    }
    if (rc != TEMPER_OK) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return TEMPER_OK;
}

int signkey_read_private(struct temper_stage *st, const char *path, const char *what,
                         bool allow_loose, unsigned char **data, size_t *len)
{
    int fd = -1;
    *data = NULL;
    *len = 0;
    int rc = open_private(st, path, what, allow_loose, &fd);
    if (rc != TEMPER_OK) {
        return rc;
    }
    unsigned char *buf = calloc(1, SIGNKEY_FILE_MAX + 1);
    size_t n = 0;
    if (!buf) {
        rc = TEMPER_ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, SIGNKEY_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = temper_fail(st, TEMPER_EIO, "cannot read %s %s: %s", what, path,
                             strerror(errno));
            goto out;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
        if (n > SIGNKEY_FILE_MAX) {
            rc = temper_fail(st, TEMPER_ELIMIT, "%s %s is larger than %u bytes", what, path,
                             SIGNKEY_FILE_MAX);
            goto out;
        }
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
out:
    signkey_wipe_free(buf, SIGNKEY_FILE_MAX + 1);
    close(fd);
    return rc;
}

static int secret_from_file(struct temper_stage *st, const char *file, const char *key_file,
                            bool allow_loose, char **secret)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = signkey_read_private(st, file, key_file, allow_loose, &data, &len);
    if (rc != TEMPER_OK) {
        return rc;
    }
    size_t full = len;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r')) {
        data[--len] = '\0';
    }
    if (len == 0) {
        rc = temper_fail(st, TEMPER_EINVAL, "%s (%s) is empty", key_file, file);
    } else if (memchr(data, '\0', len)) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s (%s) contains a NUL byte", key_file, file);
    }
    if (rc != TEMPER_OK) {
        signkey_wipe_free(data, full + 1);
        return rc;
    }
    *secret = (char *)data;
    return TEMPER_OK;
}

int signkey_read_secret(struct temper_stage *st, const char *file, const char *env,
                        const char *key_file, const char *key_env, bool allow_loose,
                        char **secret)
{
    *secret = NULL;
    if (file && env) {
        return temper_fail(st, TEMPER_EINVAL, "set %s or %s, not both", key_file, key_env);
    }
    if (file) {
        int rc = secret_from_file(st, file, key_file, allow_loose, secret);
        if (rc != TEMPER_OK) {
            return rc;
        }
    } else if (env) {
        const char *v = getenv(env);
        if (!v || !*v) {
            return temper_fail(st, TEMPER_EINVAL, "%s: environment variable %s is %s", key_env,
                               env, v ? "empty" : "not set");
        }
        *secret = strdup(v);
        if (!*secret) {
            return TEMPER_ENOMEM;
        }
    } else {
        return TEMPER_OK;
    }
    /* A full redaction registry only weakens redaction; the secret is never
     * put in a message anyway. */
    (void)!temper_log_add_secret(*secret);
    return TEMPER_OK;
}

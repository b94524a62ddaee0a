/* temper — signer_keyfile: reading PEM private keys (plain or encrypted) and
 * generating a new ECDSA P-256 key when asked to.
 *
 * Every buffer that held key material or a password is zeroed before it is
 * freed; messages name files and causes, never contents. */
#include "config.h"
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gnutls/x509.h>
#include <temper/buf.h>

#define SIGSTORE_MARK "BEGIN ENCRYPTED SIGSTORE PRIVATE KEY"

/* true when the PEM text says it is encrypted (PKCS#8 EncryptedPrivateKeyInfo
 * or a legacy OpenSSL "Proc-Type: 4,ENCRYPTED" header). */
static bool pem_encrypted(const char *pem)
{
    return strstr(pem, "BEGIN ENCRYPTED PRIVATE KEY") || strstr(pem, "Proc-Type: 4,ENCRYPTED");
}

static int import_failure(struct temper_stage *st, const struct keyfile_conf *c,
                          const char *password, bool encrypted, int g)
{
    const char *from = c->password_file ? "password_file" : "password_env";
    if (encrypted && !password) {
        return temper_fail(st, TEMPER_EINVAL,
                           "signing key %s is encrypted: set password_file or password_env",
                           c->key);
    }
    if (encrypted && g == GNUTLS_E_DECRYPTION_FAILED) {
        return temper_fail(st, TEMPER_ECRYPTO,
                           "cannot decrypt signing key %s: wrong password (from %s)", c->key,
                           from);
    }
    if (encrypted) {
        return temper_fail(st, TEMPER_ECRYPTO,
                           "cannot decrypt signing key %s (wrong password from %s, or a damaged "
                           "file): %s",
                           c->key, from, gnutls_strerror(g));
    }
    return temper_fail(st, TEMPER_EFORMAT,
                       "signing key %s is not a PEM private key that gnutls can read: %s",
                       c->key, gnutls_strerror(g));
}

static int import_pem(struct temper_stage *st, const struct keyfile_conf *c,
                      const char *password, unsigned char *pem, size_t len,
                      gnutls_privkey_t *priv)
{
    gnutls_x509_privkey_t x = NULL;
    gnutls_privkey_t p = NULL;
    bool encrypted = pem_encrypted((const char *)pem);
    if (strstr((const char *)pem, SIGSTORE_MARK)) {
        return temper_fail(st, TEMPER_EFORMAT,
                           "signing key %s is a cosign-format (sigstore, scrypt) encrypted key, "
                           "which gnutls cannot read: use a PEM (PKCS#8 or SEC1) key, e.g. "
                           "one made with generate = true",
                           c->key);
    }
    if (!strstr((const char *)pem, "-----BEGIN ")) {
        return temper_fail(st, TEMPER_EFORMAT, "signing key %s holds no PEM data", c->key);
    }
    if (encrypted && !password) {
        return import_failure(st, c, password, encrypted, 0);
    }
    if (password && !encrypted) {
        TEMPER_LOG_WARN(st, "signing key %s is not encrypted: the configured password is not "
                            "used (encrypt the key, or drop the password setting)",
                        c->key);
    }
    int g = gnutls_x509_privkey_init(&x);
    if (g >= 0) {
        gnutls_datum_t d = { pem, (unsigned)len };
        g = gnutls_x509_privkey_import2(x, &d, GNUTLS_X509_FMT_PEM, password, 0);
        if (g < 0) {
            int rc = import_failure(st, c, password, encrypted, g);
            gnutls_x509_privkey_deinit(x);
            return rc;
        }
    }
    if (g >= 0) {
        g = gnutls_privkey_init(&p);
    }
    if (g >= 0) {
        g = gnutls_privkey_import_x509(p, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
    }
    if (g < 0) {
        gnutls_privkey_deinit(p);
        gnutls_x509_privkey_deinit(x);
        return temper_fail(st, TEMPER_ECRYPTO, "cannot load signing key %s: %s", c->key,
                           gnutls_strerror(g));
    }
    *priv = p;
    return TEMPER_OK;
}

/* Write `data` to a new temporary file next to `path` with `mode`; *tmp
 * receives its name (free()). */
static int write_temp(struct temper_stage *st, const char *path, const void *data, size_t len,
                      mode_t mode, char **tmp)
{
    *tmp = temper_strdupf("%s.tmp.......", path);
    if (!*tmp) {
        return TEMPER_ENOMEM;
    }
    memset(*tmp + strlen(*tmp) - 6, 'X', 6); /* the mkstemp() template */
    int fd = mkstemp(*tmp); /* created 0600 */
    if (fd < 0) {
        int rc = temper_fail(st, TEMPER_EIO, "cannot create a file next to %s: %s", path,
                             strerror(errno));
        TEMPER_FREE(*tmp);
        return rc;
    }
    const unsigned char *p = data;
    size_t done = 0;
    int e = fchmod(fd, mode) == 0 ? 0 : errno;
    while (e == 0 && done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w < 0 && errno != EINTR) {
            e = errno;
        } else if (w > 0) {
            done += (size_t)w;
        }
    }
    if (e == 0 && fsync(fd) != 0) {
        e = errno;
    }
    if (close(fd) != 0 && e == 0) {
        e = errno;
    }
    if (e != 0) {
        unlink(*tmp);
        TEMPER_FREE(*tmp);
        return temper_fail(st, TEMPER_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return TEMPER_OK;
}

/* Create `path` holding `data` only if it does not exist yet (link() of a
 * complete temporary file: never a half-written key, never a clobbered one).
 * *raced is set when another process created it first. */
static int write_new(struct temper_stage *st, const char *path, const void *data, size_t len,
                     mode_t mode, bool *raced)
{
    char *tmp = NULL;
    *raced = false;
    int rc = write_temp(st, path, data, len, mode, &tmp);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (link(tmp, path) != 0) {
        if (errno == EEXIST) {
            *raced = true;
        } else {
            rc = temper_fail(st, TEMPER_EIO, "cannot create %s: %s", path, strerror(errno));
        }
    }
    unlink(tmp);
    free(tmp);
    return rc;
}

/* Replace `path` atomically (the public key next to a new private key). */
static int write_replace(struct temper_stage *st, const char *path, const void *data,
                         size_t len, mode_t mode)
{
    char *tmp = NULL;
    int rc = write_temp(st, path, data, len, mode, &tmp);
    if (rc == TEMPER_OK && rename(tmp, path) != 0) {
        rc = temper_fail(st, TEMPER_EIO, "cannot create %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

static int write_public(struct temper_stage *st, const char *key_path, gnutls_x509_privkey_t x)
{
    gnutls_pubkey_t pub = NULL;
    gnutls_privkey_t tmp = NULL;
    gnutls_datum_t pem = { NULL, 0 };
    char *path = temper_strdupf("%s.pub", key_path);
    int g = gnutls_privkey_init(&tmp);
    if (g >= 0) {
        g = gnutls_privkey_import_x509(tmp, x, 0); /* borrows x */
    }
    if (g >= 0) {
        g = gnutls_pubkey_init(&pub);
    }
    if (g >= 0) {
        g = gnutls_pubkey_import_privkey(pub, tmp, 0, 0);
    }
    if (g >= 0) {
        g = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &pem);
    }
    int rc = TEMPER_OK;
    if (!path) {
        rc = TEMPER_ENOMEM;
    } else if (g < 0) {
        rc = temper_fail(st, TEMPER_ECRYPTO, "cannot export the public key of %s: %s", key_path,
                         gnutls_strerror(g));
    } else {
        rc = write_replace(st, path, pem.data, pem.size, 0644);
    }
    gnutls_free(pem.data);
    gnutls_pubkey_deinit(pub);
    gnutls_privkey_deinit(tmp);
    free(path);
    return rc;
}

/* A new ECDSA P-256 key at c->key (encrypted as PKCS#8 PBES2 AES-256 when a
 * password is configured), its public key at <key>.pub.  *created is false
 * when a key file already exists (then nothing is written). */
static int generate(struct temper_stage *st, const struct keyfile_conf *c, const char *password,
                    gnutls_x509_privkey_t *out, bool *created)
{
    struct stat sb;
    gnutls_x509_privkey_t x = NULL;
    gnutls_datum_t pem = { NULL, 0 };
    bool raced = false;
    *created = false;
    if (lstat(c->key, &sb) == 0) {
        return TEMPER_OK;
    }
    if (errno != ENOENT) {
        return temper_fail(st, TEMPER_EIO, "cannot check signing key %s: %s", c->key,
                           strerror(errno));
    }
    int g = gnutls_x509_privkey_init(&x);
    if (g >= 0) {
        g = gnutls_x509_privkey_generate(x, GNUTLS_PK_ECDSA,
                                         GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
    }
    if (g >= 0) {
        g = gnutls_x509_privkey_export2_pkcs8(
            x, GNUTLS_X509_FMT_PEM, password,
            password ? GNUTLS_PKCS_PBES2_AES_256 : GNUTLS_PKCS_PLAIN, &pem);
    }
    int rc = g < 0 ? temper_fail(st, TEMPER_ECRYPTO, "cannot generate a signing key: %s",
                                 gnutls_strerror(g))
                   : write_new(st, c->key, pem.data, pem.size, 0600, &raced);
    if (rc == TEMPER_OK && !raced) {
        rc = write_public(st, c->key, x);
    }
    if (pem.data) {
        gnutls_memset(pem.data, 0, pem.size);
        gnutls_free(pem.data);
    }
    if (rc == TEMPER_OK && !raced) {
        *out = x;
        *created = true;
        x = NULL;
    }
    gnutls_x509_privkey_deinit(x);
    return rc;
}

static int adopt_new(struct temper_stage *st, const struct keyfile_conf *c,
                     gnutls_x509_privkey_t x, gnutls_privkey_t *priv)
{
    int g = gnutls_privkey_init(priv);
    if (g >= 0) {
        g = gnutls_privkey_import_x509(*priv, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
    }
    if (g < 0) {
        gnutls_privkey_deinit(*priv);
        gnutls_x509_privkey_deinit(x);
        *priv = NULL;
        return temper_fail(st, TEMPER_ECRYPTO, "cannot use the new key %s: %s", c->key,
                           gnutls_strerror(g));
    }
    TEMPER_LOG_INFO(st, "generated a new ECDSA P-256 signing key %s (public key %s.pub)", c->key,
                    c->key);
    return TEMPER_OK;
}

int keyfile_load_key(struct temper_stage *st, const struct keyfile_conf *c,
                     const char *password, gnutls_privkey_t *priv)
{
    unsigned char *pem = NULL;
    size_t len = 0;
    struct stat sb;
    *priv = NULL;
    if (c->generate && c->algorithm != SIGNKEY_AUTO &&
        c->algorithm != SIGNKEY_ECDSA_P256_SHA256) {
        return temper_fail(st, TEMPER_EINVAL,
                           "generate = true makes ECDSA P-256 keys: it cannot be combined with "
                           "algorithm = %s",
                           signkey_alg_name((enum signkey_alg)c->algorithm));
    }
    if (c->generate) {
        gnutls_x509_privkey_t x = NULL;
        bool created = false;
        int rc = generate(st, c, password, &x, &created);
        if (rc != TEMPER_OK || created) {
            return rc == TEMPER_OK ? adopt_new(st, c, x, priv) : rc;
        }
    } else if (lstat(c->key, &sb) != 0 && errno == ENOENT) {
        return temper_fail(st, TEMPER_ENOTFOUND,
                           "signing key %s does not exist (set generate = true to create one)",
                           c->key);
    }
    int rc = signkey_read_private(st, c->key, "signing key", c->allow_loose_permissions, &pem,
                                  &len);
    if (rc == TEMPER_OK) {
        rc = import_pem(st, c, password, pem, len, priv);
    }
    signkey_wipe_free(pem, len + 1);
    return rc;
}

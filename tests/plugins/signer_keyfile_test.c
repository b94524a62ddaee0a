/* temper — signer_keyfile through the real loader: keys made by certtool and
 * openssl (plain and encrypted, PKCS#8, SEC1, PKCS#1), signatures verified
 * with gnutls AND with the openssl command line, the real cosign fixture
 * verified by the same helper, every refusal a clear error with no secret
 * and no key material in the log. */
#include "config.h"
#include "tests/lib/tap.h"
#include "tests/plugins/signer_testlib.h"
#include <temper/buf.h>
#include <temper/dsse.h>
#include <temper/hash.h>

#include <sys/stat.h>
#include <unistd.h>

#define PASSWORD "correct horse battery staple"
#define WRONG_PASSWORD "Tr0ub4dor&3-wrong"

/* A cosign simple-signing payload: what the core asks a signer to sign. */
static const char payload[] =
    "{\"critical\":{\"identity\":{\"docker-reference\":\"registry.example/hardened/python\"},"
    "\"image\":{\"docker-manifest-digest\":\"sha256:"
    "634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00\"},"
    "\"type\":\"cosign container image signature\"},\"optional\":null}";

/* Every private key file made, to look for its text in the log. */
#define MAX_KEYS 32
static char *made_keys[MAX_KEYS];
static size_t n_made_keys;

/* certtool / openssl argv tail; the key lands at <scratch>/<name>, mode 0600. */
static char *make_key(struct sgt *t, const char *name, const char *const *args)
{
    char *path = sgt_path(t, name);
    const char *argv[16];
    size_t n = 0;
    for (; args[n] && n < 12; n++) {
        argv[n] = args[n];
    }
    argv[n++] = strcmp(args[0], "certtool") == 0 ? "--outfile" : "-out";
    argv[n++] = path;
    argv[n] = NULL;
    if (!path || sgt_run(argv, NULL) != 0 || chmod(path, 0600) != 0) {
        printf("# cannot make key %s with %s\n", name, args[0]);
        TEMPER_FREE(path);
    }
    if (path && n_made_keys < MAX_KEYS) {
        made_keys[n_made_keys++] = sgt_read_file(path, NULL);
    }
    return path;
}

static char *write_secret(struct sgt *t, const char *name, const char *text)
{
    char *path = sgt_path(t, name);
    if (path && sgt_write_file(path, text, strlen(text), 0600) != 0) {
        TEMPER_FREE(path);
    }
    return path;
}

/* The public key as openssl derives it from the private key file (PEM at
 * <key>.ossl.pub, DER hashed into hex). */
static int openssl_public(struct sgt *t, const char *key, const char *pass, char **pem_path,
                          char hex[TEMPER_SHA256_HEX_LEN + 1])
{
    char *der = temper_strdupf("%s.ossl.der", key);
    char *passin = pass ? temper_strdupf("pass:%s", pass) : NULL;
    *pem_path = temper_strdupf("%s.ossl.pub", key);
    const char *a1[] = { "openssl", "pkey", "-in", key, "-pubout", "-out", *pem_path,
                         pass ? "-passin" : NULL, passin, NULL };
    const char *a2[] = { "openssl", "pkey", "-in", key, "-pubout", "-outform", "DER", "-out", der,
                         pass ? "-passin" : NULL, passin, NULL };
    int rc = der && *pem_path && sgt_run(a1, NULL) == 0 && sgt_run(a2, NULL) == 0 &&
                     temper_sha256_file(der, hex, NULL) == TEMPER_OK
                 ? 0
                 : -1;
    (void)t;
    free(der);
    free(passin);
    return rc;
}

/* Sign the payload; check the encoding, verify with gnutls and openssl, and
 * check that a changed message is refused by both. */
static void check_signs(struct sgt *t, struct ph *in, const char *key, const char *pass,
                        const char *alg, size_t sig_len_want)
{
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    char *pem = NULL, *ossl_pub = NULL, *ossl_text = NULL;
    char hex[TEMPER_SHA256_HEX_LEN + 1] = "";
    CHECK_STR_EQ(sgt_ops(in)->algorithm(in->state), alg);
    CHECK_INT_EQ(sgt_ops(in)->public_key(in->state, in->st, &pem), TEMPER_OK);
    CHECK_INT_EQ(sgt_ops(in)->sign(in->state, in->st, (const unsigned char *)payload,
                              sizeof payload - 1, &sig, &sig_len),
                 TEMPER_OK);
    CHECK_INT_EQ(openssl_public(t, key, pass, &ossl_pub, hex), 0);
    ossl_text = ossl_pub ? sgt_read_file(ossl_pub, NULL) : NULL;
    CHECK_STR_EQ(pem, ossl_text); /* the same SPKI PEM as openssl writes */
    CHECK_STR_EQ(sgt_ops(in)->key_id(in->state), hex); /* sha256 of the DER SPKI */
    if (sig_len_want) {
        CHECK_INT_EQ(sig_len, sig_len_want);
    } else { /* ECDSA: DER SEQUENCE of two INTEGERs, at most 72 bytes */
        CHECK(sig && sig_len >= 8 && sig_len <= 72 && sig[0] == 0x30 && sig[1] == sig_len - 2);
    }
    if (sig && pem && ossl_pub) {
        CHECK_INT_EQ(sgt_verify_gnutls(pem, alg, payload, sizeof payload - 1, sig, sig_len), 1);
        CHECK_INT_EQ(sgt_verify_openssl(t, ossl_pub, alg, payload, sizeof payload - 1, sig,
                                        sig_len),
                     1);
        char changed[sizeof payload];
        memcpy(changed, payload, sizeof payload);
        changed[40] ^= 1;
        CHECK_INT_EQ(sgt_verify_gnutls(pem, alg, changed, sizeof payload - 1, sig, sig_len), 0);
        CHECK_INT_EQ(sgt_verify_openssl(t, ossl_pub, alg, changed, sizeof payload - 1, sig,
                                        sig_len),
                     0);
    }
    free(sig);
    free(pem);
    free(ossl_pub);
    free(ossl_text);
}

/* Open key `key` with extra settings, check it signs as `alg`. */
static void check_key(struct sgt *t, const char *key, const char *pass, const char *const *more,
                      const char *alg, size_t sig_len_want)
{
    struct ph in;
    char *kv_key = temper_strdupf("key=%s", key);
    const char *kv[8] = { kv_key };
    for (size_t i = 0; more && more[i] && i < 6; i++) {
        kv[i + 1] = more[i];
    }
    int rc = sgt_open(t, &in, kv);
    CHECK_INT_EQ(rc, TEMPER_OK);
    if (rc != TEMPER_OK) {
        printf("#   error: %s\n", sgt_error(&in));
    } else {
        check_signs(t, &in, key, pass, alg, sig_len_want);
    }
    sgt_close(t, &in);
    free(kv_key);
}

/* open() must fail with rc, its error must contain `words`. */
static void check_refused(struct sgt *t, const char *const *kv, int rc_want, const char *words)
{
    struct ph in;
    CHECK_INT_EQ(sgt_open(t, &in, kv), rc_want);
    CHECK(in.state == NULL);
    CHECK_STR_CONTAINS(sgt_error(&in), words);
    sgt_close(t, &in);
}

static void test_descriptor(struct sgt *t)
{
    TEST("descriptor and option table (through the real option code)")
    {
        struct ph in;
        char *err = NULL;
        static const char *const kv[] = { "key=/etc/temper/signing.key", NULL };
        CHECK_INT_EQ(ph_load(&in, TEMPER_KIND_SIGNER, "keyfile", kv, &err), TEMPER_OK);
        const struct temper_plugin *d = in.mod ? in.mod->desc : NULL;
        CHECK(d && d->kind == TEMPER_KIND_SIGNER && strcmp(d->name, "keyfile") == 0);
        const struct temper_option *o = d ? d->options : NULL;
        CHECK(o && strcmp(o[0].key, "key") == 0 && (o[0].flags & TEMPER_OPT_REQUIRED));
        int n = 0;
        for (; o && o[n].type != TEMPER_OPT_END; n++) {
            if (strcmp(o[n].key, "algorithm") == 0) {
                CHECK_STR_EQ(o[n].def, "auto");
                CHECK_STR_EQ(o[n].choices[1], "ecdsa-p256-sha256");
            }
        }
        CHECK_INT_EQ(n, 6);
        if (d) {
            d->close(NULL); /* close(NULL) is a no-op */
        }
        ph_close(&in);
        free(err);
        /* values the option code refuses never reach open() */
        static const char *const bad_alg[] = { "key=/k", "algorithm=ecdsa-p384", NULL };
        CHECK_INT_EQ(ph_load(&in, TEMPER_KIND_SIGNER, "keyfile", bad_alg, &err), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(err, "ecdsa-p384");
        ph_close(&in);
        TEMPER_FREE(err);
        static const char *const no_key[] = { "generate=true", NULL };
        CHECK_INT_EQ(ph_load(&in, TEMPER_KIND_SIGNER, "keyfile", no_key, &err), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(err, "key");
        ph_close(&in);
        free(err);
    }
}

static void test_key_types(struct sgt *t)
{
    static const char *const ec[] = { "certtool", "--generate-privkey", "--key-type=ecdsa", NULL };
    static const char *const ed[] = { "certtool", "--generate-privkey", "--key-type=ed25519",
                                      NULL };
    static const char *const rsa[] = { "certtool", "--generate-privkey", "--key-type=rsa",
                                       "--bits=2048", NULL };
    static const char *const pss[] = { "certtool", "--generate-privkey", "--key-type=rsa-pss",
                                       "--bits=2048", "--hash=sha256", NULL };
    static const char *const o_ec[] = { "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                                        "ec_paramgen_curve:P-256", NULL };
    static const char *const use_pss[] = { "algorithm=rsa-pss-sha256", NULL };
    static const char *const use_ec[] = { "algorithm=ecdsa-p256-sha256", NULL };
    char *k = NULL;
    TEST("ECDSA P-256 key (certtool): DER signature openssl verifies")
    {
        k = make_key(t, "ec.pem", ec);
        CHECK(k != NULL);
        if (k) {
            check_key(t, k, NULL, NULL, "ecdsa-p256-sha256", 0);
            check_key(t, k, NULL, use_ec, "ecdsa-p256-sha256", 0); /* explicit = auto */
        }
        TEMPER_FREE(k);
    }
    TEST("ECDSA P-256 key (openssl genpkey, PKCS#8)")
    {
        k = make_key(t, "ossl-ec.pem", o_ec);
        if (k) {
            check_key(t, k, NULL, NULL, "ecdsa-p256-sha256", 0);
        }
        TEMPER_FREE(k);
    }
    TEST("Ed25519 key: raw 64-byte signature over the message")
    {
        k = make_key(t, "ed.pem", ed);
        if (k) {
            check_key(t, k, NULL, NULL, "ed25519", 64);
        }
        TEMPER_FREE(k);
    }
    TEST("RSA key: PKCS#1 v1.5 by default (what cosign verifies), PSS on request")
    {
        k = make_key(t, "rsa.pem", rsa);
        if (k) {
            check_key(t, k, NULL, NULL, "rsa-pkcs1-sha256", 256);
            check_key(t, k, NULL, use_pss, "rsa-pss-sha256", 256);
        }
        TEMPER_FREE(k);
    }
    TEST("RSA-PSS-restricted key refused (cosign cannot read its public key)")
    {
        k = make_key(t, "pss.pem", pss);
        char *kv_key = temper_strdupf("key=%s", k ? k : "");
        const char *kv[] = { kv_key, NULL };
        check_refused(t, kv, TEMPER_EINVAL, "RSA-PSS-restricted key");
        free(kv_key);
        TEMPER_FREE(k);
    }
}

static void test_encrypted(struct sgt *t)
{
    static const char *const enc[] = { "certtool", "--generate-privkey", "--key-type=ecdsa",
                                       "--password=" PASSWORD, NULL };
    static const char *const plain[] = { "openssl", "ecparam", "-name", "prime256v1", "-genkey",
                                         "-noout", NULL };
    char *k = make_key(t, "enc.pem", enc);
    char *pw = write_secret(t, "pw", PASSWORD "\n");
    char *bad = write_secret(t, "bad", WRONG_PASSWORD "\n");
    char *kv_key = temper_strdupf("key=%s", k ? k : "");
    char *kv_pw = temper_strdupf("password_file=%s", pw ? pw : "");
    char *kv_bad = temper_strdupf("password_file=%s", bad ? bad : "");
    TEST("encrypted PKCS#8 key with password_file and with password_env")
    {
        char *text = k ? sgt_read_file(k, NULL) : NULL;
        CHECK_STR_CONTAINS(text, "BEGIN ENCRYPTED PRIVATE KEY");
        free(text);
        const char *more[] = { kv_pw, NULL };
        check_key(t, k, PASSWORD, more, "ecdsa-p256-sha256", 0);
        char *log = sgt_log_text(t);
        CHECK(log && !strstr(log, "is not encrypted"));
        free(log);
        setenv("TEMPER_TEST_KEY_PASSWORD", PASSWORD, 1);
        const char *env[] = { "password_env=TEMPER_TEST_KEY_PASSWORD", NULL };
        check_key(t, k, PASSWORD, env, "ecdsa-p256-sha256", 0);
    }
    TEST("wrong password, no password, both sources: clear errors")
    {
        const char *wrong[] = { kv_key, kv_bad, NULL };
        check_refused(t, wrong, TEMPER_ECRYPTO, "wrong password");
        const char *none[] = { kv_key, NULL };
        check_refused(t, none, TEMPER_EINVAL, "is encrypted: set password_file or password_env");
        const char *both[] = { kv_key, kv_pw, "password_env=TEMPER_TEST_KEY_PASSWORD", NULL };
        check_refused(t, both, TEMPER_EINVAL, "not both");
        const char *unset[] = { kv_key, "password_env=TEMPER_TEST_NO_SUCH_VARIABLE", NULL };
        check_refused(t, unset, TEMPER_EINVAL, "TEMPER_TEST_NO_SUCH_VARIABLE is not set");
    }
    TEST("legacy OpenSSL-encrypted SEC1 key (Proc-Type: 4,ENCRYPTED)")
    {
        char *sec1 = make_key(t, "sec1.pem", plain);
        char *out = sgt_path(t, "sec1-enc.pem");
        const char *argv[] = { "openssl", "ec", "-in", sec1, "-aes256", "-passout",
                               "pass:" PASSWORD, "-out", out, NULL };
        CHECK(sec1 && out && sgt_run(argv, NULL) == 0 && chmod(out, 0600) == 0);
        char *text = out ? sgt_read_file(out, NULL) : NULL;
        CHECK_STR_CONTAINS(text, "Proc-Type: 4,ENCRYPTED");
        const char *more[] = { kv_pw, NULL };
        if (sec1) {
            check_key(t, sec1, NULL, NULL, "ecdsa-p256-sha256", 0); /* "EC PRIVATE KEY" */
        }
        if (text) {
            check_key(t, out, PASSWORD, more, "ecdsa-p256-sha256", 0);
        }
        free(text);
        free(out);
        free(sec1);
    }
    free(kv_key);
    free(kv_pw);
    free(kv_bad);
    free(k);
    free(pw);
    free(bad);
}

static void test_files(struct sgt *t)
{
    static const char *const ec[] = { "certtool", "--generate-privkey", "--key-type=ecdsa", NULL };
    char *k = make_key(t, "perm.pem", ec);
    char *kv_key = temper_strdupf("key=%s", k ? k : "");
    TEST("group/world-accessible key refused unless allow_loose_permissions")
    {
        const char *kv[] = { kv_key, NULL };
        CHECK(k && chmod(k, 0644) == 0);
        check_refused(t, kv, TEMPER_EINVAL, "accessible by group or others (mode 0644)");
        CHECK(k && chmod(k, 0640) == 0);
        check_refused(t, kv, TEMPER_EINVAL, "chmod 600");
        const char *loose[] = { "allow_loose_permissions=true", NULL };
        check_key(t, k, NULL, loose, "ecdsa-p256-sha256", 0);
        /* a password for a plain key is not an error, but it is said */
        setenv("TEMPER_TEST_KEY_PASSWORD", PASSWORD, 1);
        const char *with_pw[] = { "password_env=TEMPER_TEST_KEY_PASSWORD",
                                  "allow_loose_permissions=true", NULL };
        check_key(t, k, NULL, with_pw, "ecdsa-p256-sha256", 0);
        char *log = sgt_log_text(t);
        CHECK_STR_CONTAINS(log, "perm.pem is not encrypted: the configured password is not used");
        free(log);
        CHECK(k && chmod(k, 0600) == 0);
    }
    TEST("missing key, a directory, an unreadable key")
    {
        const char *missing[] = { "key=/nonexistent/temper/signing.key", NULL };
        check_refused(t, missing, TEMPER_ENOTFOUND,
                      "signing key /nonexistent/temper/signing.key does not exist");
        char *kv_dir = temper_strdupf("key=%s", t->dir);
        const char *dir[] = { kv_dir, NULL };
        check_refused(t, dir, TEMPER_EINVAL, "is not a regular file");
        free(kv_dir);
        if (geteuid() != 0) { /* root reads any file */
            const char *kv[] = { kv_key, NULL };
            CHECK(k && chmod(k, 0) == 0);
            check_refused(t, kv, TEMPER_EIO, "cannot open signing key");
            CHECK(k && chmod(k, 0600) == 0);
        }
    }
    free(kv_key);
    free(k);
}

static void test_corrupt(struct sgt *t)
{
    static const char *const ec[] = { "certtool", "--generate-privkey", "--key-type=ecdsa", NULL };
    char *good = make_key(t, "good.pem", ec);
    char *text = good ? sgt_read_file(good, NULL) : NULL;
    char *bad = sgt_path(t, "corrupt.pem");
    char *kv_key = temper_strdupf("key=%s", bad);
    const char *kv[] = { kv_key, NULL };
    TEST("corrupt PEM: garbage, truncated body, flipped base64, empty, too large")
    {
        const char *body = text ? strstr(text, "-----BEGIN") : NULL;
        CHECK(body != NULL);
        const char garbage[] = "this is not a key\n";
        CHECK(sgt_write_file(bad, garbage, sizeof garbage - 1, 0600) == 0);
        check_refused(t, kv, TEMPER_EFORMAT, "corrupt.pem holds no PEM data");
        if (body) {
            CHECK(sgt_write_file(bad, body, strlen(body) / 2, 0600) == 0);
            check_refused(t, kv, TEMPER_EFORMAT, "corrupt.pem is not a PEM private key");
            char *flip = strdup(body);
            char *p = flip ? strstr(flip, "KEY-----\n") : NULL;
            if (p) {
                p[12] = p[12] == 'A' ? 'B' : 'A'; /* a byte inside the DER */
            }
            CHECK(p && sgt_write_file(bad, flip, strlen(flip), 0600) == 0);
            check_refused(t, kv, TEMPER_EFORMAT, "corrupt.pem");
            free(flip);
        }
        CHECK(sgt_write_file(bad, "", 0, 0600) == 0);
        check_refused(t, kv, TEMPER_EFORMAT, "corrupt.pem holds no PEM data");
        const char cert[] = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        CHECK(sgt_write_file(bad, cert, sizeof cert - 1, 0600) == 0);
        check_refused(t, kv, TEMPER_EFORMAT, "is not a PEM private key that gnutls can read");
        char *big = calloc(1, 70000);
        CHECK(big && sgt_write_file(bad, big, 70000, 0600) == 0);
        check_refused(t, kv, TEMPER_ELIMIT, "larger than 65536 bytes");
        free(big);
        const char cosign_key[] = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9"
                                  "fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
        CHECK(sgt_write_file(bad, cosign_key, sizeof cosign_key - 1, 0600) == 0);
        check_refused(t, kv, TEMPER_EFORMAT, "is a cosign-format (sigstore, scrypt) encrypted key");
    }
    free(kv_key);
    free(bad);
    free(text);
    free(good);
}

static void test_mismatch(struct sgt *t)
{
    static const char *const ed[] = { "certtool", "--generate-privkey", "--key-type=ed25519",
                                      NULL };
    static const char *const rsa[] = { "certtool", "--generate-privkey", "--key-type=rsa",
                                       "--bits=2048", NULL };
    static const char *const p384[] = { "certtool", "--generate-privkey", "--key-type=ecdsa",
                                        "--curve=secp384r1", NULL };
    static const char *const small[] = { "certtool", "--generate-privkey", "--key-type=rsa",
                                         "--bits=1024", NULL };
    char *k_ed = make_key(t, "mm-ed.pem", ed);
    char *k_rsa = make_key(t, "mm-rsa.pem", rsa);
    char *k_384 = make_key(t, "mm-384.pem", p384);
    char *k_small = make_key(t, "mm-1024.pem", small);
    char *a = temper_strdupf("key=%s", k_ed ? k_ed : "");
    char *b = temper_strdupf("key=%s", k_rsa ? k_rsa : "");
    char *c = temper_strdupf("key=%s", k_384 ? k_384 : "");
    char *d = temper_strdupf("key=%s", k_small ? k_small : "");
    TEST("algorithm mismatch and unsupported keys are errors, never a silent switch")
    {
        const char *ed_as_ec[] = { a, "algorithm=ecdsa-p256-sha256", NULL };
        check_refused(t, ed_as_ec, TEMPER_EINVAL,
                      "is an Ed25519 key, which cannot sign with algorithm = ecdsa-p256-sha256");
        const char *rsa_as_ed[] = { b, "algorithm=ed25519", NULL };
        check_refused(t, rsa_as_ed, TEMPER_EINVAL, "use algorithm = auto or rsa-pkcs1-sha256");
        const char *p384_auto[] = { c, NULL };
        check_refused(t, p384_auto, TEMPER_EINVAL, "only P-256");
        const char *rsa_small[] = { d, NULL };
        check_refused(t, rsa_small, TEMPER_EINVAL, "at least 2048 bits");
    }
    free(a);
    free(b);
    free(c);
    free(d);
    free(k_ed);
    free(k_rsa);
    free(k_384);
    free(k_small);
}

static void check_generated(struct sgt *t, const char *key, const char *pw_file)
{
    struct ph in;
    struct stat sb;
    char *kv_key = temper_strdupf("key=%s", key);
    char *kv_pw = pw_file ? temper_strdupf("password_file=%s", pw_file) : NULL;
    const char *kv[] = { kv_key, "generate=true", kv_pw, NULL };
    char *pub_path = temper_strdupf("%s.pub", key);
    char *id = NULL, *pem = NULL;
    CHECK_INT_EQ(sgt_open(t, &in, kv), TEMPER_OK);
    CHECK(stat(key, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    char *pub = pub_path ? sgt_read_file(pub_path, NULL) : NULL;
    if (in.state) {
        CHECK_INT_EQ(sgt_ops(&in)->public_key(in.state, in.st, &pem), TEMPER_OK);
        CHECK_STR_EQ(pub, pem);
        id = strdup(sgt_ops(&in)->key_id(in.state));
        check_signs(t, &in, key, pw_file ? PASSWORD : NULL, "ecdsa-p256-sha256", 0);
    }
    sgt_close(t, &in);
    char *text = sgt_read_file(key, NULL);
    CHECK_STR_CONTAINS(text, pw_file ? "BEGIN ENCRYPTED PRIVATE KEY" : "BEGIN PRIVATE KEY");
    /* opened again: the same key, not a new one */
    CHECK_INT_EQ(sgt_open(t, &in, kv), TEMPER_OK);
    CHECK_STR_EQ(in.state ? sgt_ops(&in)->key_id(in.state) : NULL, id);
    sgt_close(t, &in);
    char *again = sgt_read_file(key, NULL);
    CHECK_STR_EQ(again, text);
    free(again);
    free(text);
    free(pub);
    free(pem);
    free(id);
    free(pub_path);
    free(kv_key);
    free(kv_pw);
}

static void test_generate(struct sgt *t)
{
    char *key = sgt_path(t, "gen/signing.key");
    char *dir = sgt_path(t, "gen");
    char *enc = sgt_path(t, "gen/encrypted.key");
    char *pw = write_secret(t, "gen-pw", PASSWORD);
    TEST("generate = true creates an ECDSA P-256 key (0600) and <key>.pub once")
    {
        CHECK(dir && mkdir(dir, 0700) == 0);
        check_generated(t, key, NULL);
    }
    TEST("generate = true with a password writes an encrypted PKCS#8 key")
    {
        check_generated(t, enc, pw);
    }
    TEST("generate = true in a missing directory, or with another algorithm: clear errors")
    {
        const char *kv[] = { "key=/nonexistent/temper/new.key", "generate=true", NULL };
        check_refused(t, kv, TEMPER_EIO, "/nonexistent/temper/new.key");
        char *other = sgt_path(t, "gen/ed.key");
        char *kv_other = temper_strdupf("key=%s", other);
        const char *ed[] = { kv_other, "generate=true", "algorithm=ed25519", NULL };
        check_refused(t, ed, TEMPER_EINVAL, "cannot be combined with algorithm = ed25519");
        CHECK(access(other, F_OK) != 0); /* nothing written */
        free(kv_other);
        free(other);
    }
    free(key);
    free(dir);
    free(enc);
    free(pw);
}

/* The same helper accepts real cosign output: the containers/image fixture
 * (signature-1: its payload is payload.json, signed with cosign.pub). */
static void test_cosign_fixture(struct sgt *t)
{
    const char *data = getenv("TEMPER_DATA");
    char *dir = temper_strdupf("%s/samples/cosign-containers-image-fixture",
                               data ? data : "tests/data");
    char *sig_path = temper_strdupf("%s/signature-1", dir);
    char *payload_path = temper_strdupf("%s/payload.json", dir);
    char *pub_path = temper_strdupf("%s/cosign.pub", dir);
    char *other_path = temper_strdupf("%s/cosign2.pub", dir);
    size_t sig_file_len = 0, payload_len = 0, sig_len = 0, inner_len = 0;
    char *sig_file = sgt_read_file(sig_path, &sig_file_len);
    char *body = sgt_read_file(payload_path, &payload_len);
    char *pub = sgt_read_file(pub_path, NULL);
    char *other = sgt_read_file(other_path, NULL);
    unsigned char *sig = NULL, *inner = NULL;
    TEST("real cosign signature verifies with the same helper (gnutls and openssl)")
    {
        const char *ann = "\"dev.cosignproject.cosign/signature\":\"";
        const char *s = sig_file ? strstr(sig_file + 1, ann) : NULL; /* file starts with NUL */
        const char *e = s ? strchr(s + strlen(ann), '"') : NULL;
        CHECK(e != NULL && body && pub && other);
        if (e) {
            s += strlen(ann);
            CHECK_INT_EQ(temper_base64_decode(s, (size_t)(e - s), &sig, &sig_len), TEMPER_OK);
        }
        const char *p = sig_file ? strstr(sig_file + 1, "\"payload\":\"") : NULL;
        const char *pe = p ? strchr(p + 11, '"') : NULL;
        if (pe) {
            CHECK_INT_EQ(temper_base64_decode(p + 11, (size_t)(pe - p - 11), &inner, &inner_len),
                         TEMPER_OK);
        }
        CHECK(inner && body && inner_len == payload_len && memcmp(inner, body, inner_len) == 0);
        if (sig && body && pub && other) {
            CHECK_INT_EQ(sgt_verify_gnutls(pub, "ecdsa-p256-sha256", body, payload_len, sig,
                                           sig_len),
                         1);
            CHECK_INT_EQ(sgt_verify_openssl(t, pub_path, "ecdsa-p256-sha256", body, payload_len,
                                            sig, sig_len),
                         1);
            /* and the helper can say no: the other fixture key */
            CHECK_INT_EQ(sgt_verify_gnutls(other, "ecdsa-p256-sha256", body, payload_len, sig,
                                           sig_len),
                         0);
            CHECK_INT_EQ(sgt_verify_openssl(t, other_path, "ecdsa-p256-sha256", body,
                                            payload_len, sig, sig_len),
                         0);
        }
    }
    free(sig);
    free(inner);
    free(sig_file);
    free(body);
    free(pub);
    free(other);
    free(dir);
    free(sig_path);
    free(payload_path);
    free(pub_path);
    free(other_path);
}

/* A DSSE pre-authentication encoding signed by the plugin verifies with
 * openssl (what the core's signer stage does with every statement). */
static void test_dsse(struct sgt *t)
{
    static const char *const ec[] = { "certtool", "--generate-privkey", "--key-type=ecdsa", NULL };
    static const char stmt[] = "{\"_type\":\"https://in-toto.io/Statement/v1\"}";
    char *k = make_key(t, "dsse.pem", ec);
    char *kv_key = temper_strdupf("key=%s", k ? k : "");
    const char *kv[] = { kv_key, NULL };
    struct ph in;
    unsigned char *pae = NULL, *sig = NULL;
    size_t pae_len = 0, sig_len = 0;
    char *pub = NULL;
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    TEST("DSSE PAE signed through the plugin verifies with openssl")
    {
        CHECK_INT_EQ(sgt_open(t, &in, kv), TEMPER_OK);
        CHECK_INT_EQ(temper_dsse_pae(TEMPER_DSSE_INTOTO_TYPE, stmt, sizeof stmt - 1, &pae,
                                     &pae_len),
                     TEMPER_OK);
        if (in.state && pae) {
            CHECK_INT_EQ(sgt_ops(&in)->sign(in.state, in.st, pae, pae_len, &sig, &sig_len), TEMPER_OK);
        }
        CHECK(k && openssl_public(t, k, NULL, &pub, hex) == 0);
        CHECK_INT_EQ(sig ? sgt_verify_openssl(t, pub, "ecdsa-p256-sha256", pae, pae_len, sig,
                                              sig_len)
                         : -1,
                     1);
        sgt_close(t, &in);
    }
    free(pae);
    free(sig);
    free(pub);
    free(kv_key);
    free(k);
}

/* Nothing secret in anything logged during the whole run. */
static void test_log(struct sgt *t)
{
    TEST("no password and no private key material in the log")
    {
        char *log = sgt_log_text(t);
        CHECK(log != NULL && strlen(log) > 0);
        CHECK(log && !strstr(log, PASSWORD));
        CHECK(log && !strstr(log, WRONG_PASSWORD));
        CHECK(log && !strstr(log, "PRIVATE KEY"));
        size_t lines = 0, leaked = 0;
        for (size_t i = 0; log && i < n_made_keys; i++) {
            /* each base64 line of each key file made by this test */
            for (char *l = made_keys[i] ? strstr(made_keys[i], "-----BEGIN") : NULL; l;) {
                char *nl = strchr(l, '\n');
                if (!nl) {
                    break;
                }
                *nl = '\0';
                if (strlen(l) >= 16 && !strstr(l, "-----")) {
                    lines++;
                    leaked += strstr(log, l) != NULL;
                }
                l = nl + 1;
            }
            TEMPER_FREE(made_keys[i]);
        }
        CHECK(lines > 50);
        CHECK_INT_EQ(leaked, 0);
        CHECK_STR_CONTAINS(log, "wrong password"); /* and the errors were logged */
        free(log);
    }
}

int main(void)
{
    struct sgt t;
    if (!sgt_have("certtool") || !sgt_have("openssl")) {
        printf("1..0 # SKIP certtool (gnutls-bin) and openssl are needed\n");
        return 0;
    }
    int rc = sgt_init(&t, "keyfile");
    TEST("module loads")
    {
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
    if (rc == TEMPER_OK) {
        test_descriptor(&t);
        test_key_types(&t);
        test_encrypted(&t);
        test_files(&t);
        test_corrupt(&t);
        test_mismatch(&t);
        test_generate(&t);
        test_cosign_fixture(&t);
        test_dsse(&t);
        test_log(&t);
    }
    sgt_cleanup(&t);
    return tap_done();
}

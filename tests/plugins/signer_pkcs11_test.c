/* temper — signer_pkcs11 against a REAL token: SoftHSM2 (Debian softhsm2),
 * initialised by the test in its own SOFTHSM2_CONF directory with
 * softhsm2-util; an ECDSA P-256 key generated ON the token with p11tool
 * (gnutls-bin) and an RSA key made by certtool and imported with p11tool.
 * Signatures are verified with openssl using public keys that did not come
 * from the plugin (exported by p11tool, or derived by openssl from the key
 * file before import).  Wrong/missing PINs, bad URIs and modules are clear
 * errors without the PIN; two instances and close/reopen keep working. */
#include "config.h"
#include "tests/lib/tap.h"
#include "tests/plugins/signer_testlib.h"
#include <temper/buf.h>
#include <temper/hash.h>

#include <sys/stat.h>
#include <unistd.h>

#define PIN "4711-user-pin"
#define SO_PIN "8765-so-pin"
#define WRONG_PIN "0000-wrong-pin"
#define EC_URI "pkcs11:token=temper;object=release"
#define RSA_URI "pkcs11:token=temper;object=rsa"

static const char payload[] =
    "{\"critical\":{\"identity\":{\"docker-reference\":\"registry.example/hardened/python\"},"
    "\"image\":{\"docker-manifest-digest\":\"sha256:"
    "634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00\"},"
    "\"type\":\"cosign container image signature\"},\"optional\":null}";

struct tok {
    const char *module;
    char *kv_module;  /* "module=..." */
    char *kv_pin;     /* "pin_file=..." */
    char *kv_wrong;   /* "pin_file=..." holding a wrong PIN */
    char *ec_pub;     /* PEM exported by p11tool */
    char *rsa_pub;    /* PEM derived by openssl from the key file */
};

static const char *find_module(void)
{
    static const char *const candidates[] = {
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib64/pkcs11/libsofthsm2.so",
        "/usr/lib/pkcs11/libsofthsm2.so",
        NULL,
    };
    const char *env = getenv("TEMPER_TEST_SOFTHSM_MODULE");
    if (env && *env) {
        return env;
    }
    for (size_t i = 0; candidates[i]; i++) {
        if (access(candidates[i], R_OK) == 0) {
            return candidates[i];
        }
    }
    return NULL;
}

static int p11tool(const struct tok *k, const char *const *args)
{
    char *prov = temper_strdupf("--provider=%s", k->module);
    const char *argv[16] = { "p11tool", prov, "--batch" };
    size_t n = 3;
    for (size_t i = 0; args[i] && n < 15; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    setenv("GNUTLS_PIN", PIN, 1); /* p11tool's PIN, never the plugin's */
    int rc = prov ? sgt_run(argv, NULL) : -1;
    unsetenv("GNUTLS_PIN");
    free(prov);
    return rc;
}

static char *write_text(struct sgt *t, const char *name, const char *text)
{
    char *path = sgt_path(t, name);
    if (path && sgt_write_file(path, text, strlen(text), 0600) != 0) {
        TEMPER_FREE(path);
    }
    return path;
}

/* A fresh token "temper" with an ECDSA P-256 key made on it ("release") and
 * an imported RSA key ("rsa"). */
static int make_token(struct sgt *t, struct tok *k)
{
    char *tokens = sgt_path(t, "tokens");
    char *conf_text = temper_strdupf("directories.tokendir = %s\nobjectstore.backend = file\n"
                                     "log.level = ERROR\n", tokens ? tokens : "");
    char *conf = tokens && conf_text ? write_text(t, "softhsm2.conf", conf_text) : NULL;
    char *ec_pub = sgt_path(t, "ec.pub"), *rsa = sgt_path(t, "rsa.pem");
    char *rsa_pub = sgt_path(t, "rsa.pub");
    char *out_ec = temper_strdupf("--outfile=%s", ec_pub ? ec_pub : "");
    char *load_priv = temper_strdupf("--load-privkey=%s", rsa ? rsa : "");
    char *load_pub = temper_strdupf("--load-pubkey=%s", rsa_pub ? rsa_pub : "");
    int rc = conf && mkdir(tokens, 0700) == 0 && setenv("SOFTHSM2_CONF", conf, 1) == 0 ? 0 : -1;
    const char *init[] = { "softhsm2-util", "--init-token", "--free", "--label", "temper",
                           "--pin", PIN, "--so-pin", SO_PIN, NULL };
    const char *gen[] = { "--login", "--generate-privkey=ecdsa", "--curve=secp256r1",
                          "--label=release", "pkcs11:token=temper", NULL };
    const char *exp[] = { "--login", "--export-pubkey", out_ec, EC_URI, NULL };
    const char *mk_rsa[] = { "certtool", "--generate-privkey", "--key-type=rsa", "--bits=2048",
                             "--outfile", rsa, NULL };
    const char *rsa_pubout[] = { "openssl", "pkey", "-in", rsa, "-pubout", "-out", rsa_pub, NULL };
    const char *imp_priv[] = { "--login", "--write", "--label=rsa", "--id=01", load_priv,
                               "pkcs11:token=temper", NULL };
    const char *imp_pub[] = { "--login", "--write", "--label=rsa", "--id=01", load_pub,
                              "pkcs11:token=temper", NULL };
    const char *why = rc != 0 ? "cannot write softhsm2.conf" : NULL;
    if (!why && sgt_run(init, NULL) != 0) {
        why = "softhsm2-util --init-token failed";
    }
    if (!why && (p11tool(k, gen) != 0 || p11tool(k, exp) != 0)) {
        why = "p11tool could not generate or export the ECDSA key";
    }
    if (!why && (sgt_run(mk_rsa, NULL) != 0 || sgt_run(rsa_pubout, NULL) != 0 ||
                 p11tool(k, imp_priv) != 0 || p11tool(k, imp_pub) != 0)) {
        why = "could not import the RSA key with p11tool";
    }
    if (why) {
        printf("# %s\n", why);
        rc = -1;
    }
    k->ec_pub = rc == 0 ? sgt_read_file(ec_pub, NULL) : NULL;
    k->rsa_pub = rc == 0 ? sgt_read_file(rsa_pub, NULL) : NULL;
    free(tokens);
    free(conf_text);
    free(conf);
    free(ec_pub);
    free(rsa);
    free(rsa_pub);
    free(out_ec);
    free(load_priv);
    free(load_pub);
    return rc == 0 && k->ec_pub && k->rsa_pub ? 0 : -1;
}

/* Sign the payload with an open instance; verify with openssl using the
 * independent public key in `pub_pem`, and that a changed payload fails. */
static void check_signs(struct sgt *t, struct ph *in, const char *pub_pem, const char *alg)
{
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    char *pem = NULL, *der = NULL;
    char *pub_path = write_text(t, "verify.pub", pub_pem);
    char *der_path = sgt_path(t, "verify.der");
    char hex[TEMPER_SHA256_HEX_LEN + 1] = "";
    const char *to_der[] = { "openssl", "pkey", "-pubin", "-in", pub_path, "-outform", "DER",
                             "-out", der_path, NULL };
    CHECK_STR_EQ(sgt_ops(in)->algorithm(in->state), alg);
    CHECK_INT_EQ(sgt_ops(in)->public_key(in->state, in->st, &pem), TEMPER_OK);
    CHECK_STR_EQ(pem, pub_pem);
    CHECK(pub_path && der_path && sgt_run(to_der, NULL) == 0 &&
          temper_sha256_file(der_path, hex, NULL) == TEMPER_OK);
    CHECK_STR_EQ(sgt_ops(in)->key_id(in->state), hex);
    CHECK_INT_EQ(sgt_ops(in)->sign(in->state, in->st, (const unsigned char *)payload,
                              sizeof payload - 1, &sig, &sig_len),
                 TEMPER_OK);
    if (sig && pub_path) {
        CHECK_INT_EQ(sgt_verify_openssl(t, pub_path, alg, payload, sizeof payload - 1, sig,
                                        sig_len),
                     1);
        CHECK_INT_EQ(sgt_verify_gnutls(pub_pem, alg, payload, sizeof payload - 1, sig, sig_len),
                     1);
        CHECK_INT_EQ(sgt_verify_openssl(t, pub_path, alg, payload, sizeof payload - 2, sig,
                                        sig_len),
                     0);
        if (strcmp(alg, "ecdsa-p256-sha256") == 0) {
            CHECK(sig_len <= 72 && sig[0] == 0x30 && sig[1] == sig_len - 2); /* DER */
        }
    }
    free(sig);
    free(pem);
    free(der);
    free(pub_path);
    free(der_path);
}

static int open_with(struct sgt *t, struct ph *in, const struct tok *k, const char *uri,
                     const char *pin, const char *extra)
{
    char *kv_uri = temper_strdupf("uri=%s", uri);
    const char *kv[] = { k->kv_module, kv_uri, pin ? pin : extra, pin ? extra : NULL, NULL };
    int rc = sgt_open(t, in, kv);
    if (rc != TEMPER_OK) {
        printf("#   open: %s\n", sgt_error(in));
    }
    free(kv_uri);
    return rc;
}

static void check_refused(struct sgt *t, const struct tok *k, const char *uri, const char *pin,
                          const char *extra, int rc_want, const char *words)
{
    struct ph in;
    CHECK_INT_EQ(open_with(t, &in, k, uri, pin, extra), rc_want);
    CHECK(in.state == NULL);
    CHECK_STR_CONTAINS(sgt_error(&in), words);
    sgt_close(t, &in);
}

static void test_keys(struct sgt *t, const struct tok *k)
{
    struct ph in;
    TEST("ECDSA P-256 key generated on the token: DER signature openssl verifies")
    {
        CHECK_INT_EQ(open_with(t, &in, k, EC_URI, k->kv_pin, NULL), TEMPER_OK);
        if (in.state) {
            check_signs(t, &in, k->ec_pub, "ecdsa-p256-sha256");
        }
        sgt_close(t, &in);
    }
    TEST("PIN from pin_env")
    {
        setenv("TEMPER_TEST_TOKEN_PIN", PIN, 1);
        CHECK_INT_EQ(open_with(t, &in, k, EC_URI, "pin_env=TEMPER_TEST_TOKEN_PIN", NULL),
                     TEMPER_OK);
        if (in.state) {
            check_signs(t, &in, k->ec_pub, "ecdsa-p256-sha256");
        }
        sgt_close(t, &in);
        unsetenv("TEMPER_TEST_TOKEN_PIN");
    }
    TEST("RSA key imported into the token: PKCS#1 v1.5 by default, PSS on request")
    {
        CHECK_INT_EQ(open_with(t, &in, k, RSA_URI, k->kv_pin, NULL), TEMPER_OK);
        if (in.state) {
            check_signs(t, &in, k->rsa_pub, "rsa-pkcs1-sha256");
        }
        sgt_close(t, &in);
        CHECK_INT_EQ(open_with(t, &in, k, RSA_URI, k->kv_pin, "algorithm=rsa-pss-sha256"),
                     TEMPER_OK);
        if (in.state) {
            check_signs(t, &in, k->rsa_pub, "rsa-pss-sha256");
        }
        sgt_close(t, &in);
    }
}

static void test_refusals(struct sgt *t, const struct tok *k)
{
    TEST("wrong PIN: clear error, not retried, the token still takes the right PIN")
    {
        check_refused(t, k, EC_URI, k->kv_wrong, NULL, TEMPER_ECRYPTO,
                      "token of " EC_URI " rejected the PIN from pin_file");
        struct ph in;
        CHECK_INT_EQ(open_with(t, &in, k, EC_URI, k->kv_pin, NULL), TEMPER_OK);
        sgt_close(t, &in);
    }
    TEST("no PIN configured, missing object, bad URIs, bad module, algorithm mismatch")
    {
        check_refused(t, k, EC_URI, NULL, NULL, TEMPER_EINVAL, "asks for a PIN");
        check_refused(t, k, "pkcs11:token=temper;object=nosuchkey", k->kv_pin, NULL,
                      TEMPER_ENOTFOUND, "no private key matches pkcs11:token=temper;object=");
        check_refused(t, k, "pkcs11:token=temper;object=release?pin-value=" PIN, NULL, NULL,
                      TEMPER_EINVAL, "put the PIN in pin_file");
        check_refused(t, k, "/etc/temper/release.key", k->kv_pin, NULL, TEMPER_EINVAL,
                      "uri must be a pkcs11: URI");
        check_refused(t, k, "pkcs11:token=temper;object=%ZZ", k->kv_pin, NULL, TEMPER_EINVAL,
                      "is not a pkcs11: URI of a private key");
        check_refused(t, k, EC_URI, k->kv_pin, "algorithm=ed25519", TEMPER_EINVAL,
                      "which cannot sign with algorithm = ed25519");
        struct ph in;
        const char *bad_module[] = { "module=/nonexistent/libnothing.so", "uri=" EC_URI,
                                     k->kv_pin, NULL };
        CHECK_INT_EQ(sgt_open(t, &in, bad_module), TEMPER_ECRYPTO);
        CHECK_STR_CONTAINS(sgt_error(&in),
                           "cannot load PKCS#11 module /nonexistent/libnothing.so");
        sgt_close(t, &in);
        char *loose = write_text(t, "loose.pin", PIN);
        char *kv_loose = temper_strdupf("pin_file=%s", loose ? loose : "");
        CHECK(loose && chmod(loose, 0644) == 0);
        check_refused(t, k, EC_URI, kv_loose, NULL, TEMPER_EINVAL,
                      "loose.pin is accessible by group or others (mode 0644)");
        free(kv_loose);
        free(loose);
    }
}

/* The module stays usable while any instance needs it: two at once, one
 * closed, a failed open in between, and a close followed by a new open. */
static void test_instances(struct sgt *t, const struct tok *k)
{
    struct ph a, b, c, bad;
    TEST("two instances, a failed open between them, close and reopen")
    {
        CHECK_INT_EQ(open_with(t, &a, k, EC_URI, k->kv_pin, NULL), TEMPER_OK);
        CHECK_INT_EQ(open_with(t, &b, k, RSA_URI, k->kv_pin, NULL), TEMPER_OK);
        if (a.state && b.state) {
            check_signs(t, &a, k->ec_pub, "ecdsa-p256-sha256");
            check_signs(t, &b, k->rsa_pub, "rsa-pkcs1-sha256");
        }
        /* (not a wrong PIN: while `a` is logged in, the token does not ask) */
        CHECK_INT_EQ(open_with(t, &bad, k, "pkcs11:token=temper;object=nosuchkey", k->kv_pin,
                               NULL),
                     TEMPER_ENOTFOUND);
        sgt_close(t, &bad);
        sgt_close(t, &a);
        if (b.state) {
            check_signs(t, &b, k->rsa_pub, "rsa-pkcs1-sha256"); /* still there */
        }
        sgt_close(t, &b);
        CHECK_INT_EQ(open_with(t, &c, k, EC_URI, k->kv_pin, NULL), TEMPER_OK);
        if (c.state) {
            check_signs(t, &c, k->ec_pub, "ecdsa-p256-sha256");
        }
        sgt_close(t, &c);
    }
}

static void test_log(struct sgt *t)
{
    TEST("no PIN in the log")
    {
        char *log = sgt_log_text(t);
        CHECK(log && strstr(log, "rejected the PIN"));
        CHECK(log && !strstr(log, PIN));
        CHECK(log && !strstr(log, WRONG_PIN));
        CHECK(log && !strstr(log, SO_PIN));
        free(log);
    }
}

int main(void)
{
    struct sgt t;
    struct tok k = { .module = find_module() };
    if (!k.module || !sgt_have("softhsm2-util") || !sgt_have("p11tool") ||
        !sgt_have("certtool") || !sgt_have("openssl")) {
        printf("1..0 # SKIP needs softhsm2, gnutls-bin (p11tool, certtool) and openssl\n");
        return 0;
    }
    int rc = sgt_init(&t, "pkcs11");
    TEST("module loads, token is made")
    {
        CHECK_INT_EQ(rc, TEMPER_OK);
        if (rc == TEMPER_OK) {
            char *pin = write_text(&t, "user.pin", PIN "\n");
            char *wrong = write_text(&t, "wrong.pin", WRONG_PIN "\n");
            k.kv_module = temper_strdupf("module=%s", k.module);
            k.kv_pin = temper_strdupf("pin_file=%s", pin ? pin : "");
            k.kv_wrong = temper_strdupf("pin_file=%s", wrong ? wrong : "");
            rc = make_token(&t, &k) == 0 && pin && wrong ? TEMPER_OK : TEMPER_EIO;
            CHECK_INT_EQ(rc, TEMPER_OK);
            free(pin);
            free(wrong);
        }
    }
    if (rc == TEMPER_OK) {
        test_keys(&t, &k);
        test_refusals(&t, &k);
        test_instances(&t, &k);
        test_log(&t);
    }
    sgt_cleanup(&t);
    free(k.kv_module);
    free(k.kv_pin);
    free(k.kv_wrong);
    free(k.ec_pub);
    free(k.rsa_pub);
    return tap_done();
}

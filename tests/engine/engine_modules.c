/* temper — small but real stage modules for the pipeline engine tests: one
 * source, compiled once per kind (KIND_BUILDER, KIND_SUITE, ...). */
#include <temper/temper.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_modules.h"

static const struct temper_option et_options[] = {
    { TEMPER_OPT_BOOL, "fail", "false", 0, offsetof(struct et_conf, fail), 0, 0, NULL,
      "fail with an error" },
    { TEMPER_OPT_BOOL, "block", "false", 0, offsetof(struct et_conf, block), 0, 0, NULL,
      "say no" },
    { TEMPER_OPT_STR, "fail_case", NULL, 0, offsetof(struct et_conf, fail_case), 0, 0, NULL,
      "a case that fails" },
    { TEMPER_OPT_PATH, "out", NULL, 0, offsetof(struct et_conf, out), 0, 0, NULL,
      "where to write a report" },
    { TEMPER_OPT_DURATION, "sleep", "0", 0, offsetof(struct et_conf, sleep_ms), 0, 600000,
      NULL, "builder: how long a build takes" },
    TEMPER_OPTION_END,
};

struct et_state {
    const struct et_conf *conf;
#ifdef KIND_SIGNER
    gnutls_privkey_t key;
    char keyid[65];
#endif
};

static int et_open(struct temper_stage *st, const void *conf, void **state)
{
    struct et_state *s = calloc(1, sizeof *s);
    if (!s) {
        return TEMPER_ENOMEM;
    }
    s->conf = conf;
#ifdef KIND_SIGNER
    if (gnutls_privkey_init(&s->key) < 0 ||
        gnutls_privkey_generate(s->key, GNUTLS_PK_ECDSA,
                                GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0) {
        gnutls_privkey_deinit(s->key);
        free(s);
        return temper_fail(st, TEMPER_ECRYPTO, "cannot generate a test key");
    }
    memcpy(s->keyid, "enginetest", 11);
#endif
    *state = s;
    return TEMPER_OK;
}

static void et_close(void *state)
{
    struct et_state *s = state;
    if (!s) {
        return;
    }
#ifdef KIND_SIGNER
    gnutls_privkey_deinit(s->key);
#endif
    free(s);
}

static int maybe_fail(struct et_state *s, struct temper_stage *st)
{
    if (s->conf->fail) {
        return temper_fail(st, TEMPER_EIO, "asked to fail");
    }
    return TEMPER_OK;
}

#if defined(KIND_BUILDER)
#define MODULE builder_enginetest
#define KIND TEMPER_KIND_BUILDER
static int et_build(void *state, struct temper_stage *st, const struct temper_build_request *req)
{
    const struct et_state *es = state;
    for (long long left = es->conf->sleep_ms; left > 0; left -= 50) {
        struct timespec ts = { 0, 50000000L };
        nanosleep(&ts, NULL);
    }
    int rc = maybe_fail(state, st);
    if (rc != TEMPER_OK) {
        return rc;
    }
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    char *seed = temper_strdupf("%s/%s/%lld", req->def->name, req->variant,
                                req->source_date_epoch);
    rc = seed ? temper_sha256_hex(seed, strlen(seed), hex) : TEMPER_ENOMEM;
    free(seed);
    struct temper_artifact *a = rc == TEMPER_OK ? temper_artifact_new(TEMPER_ART_IMAGE,
                                                                      req->def->name)
                                                : NULL;
    if (!a) {
        return rc == TEMPER_OK ? TEMPER_ENOMEM : rc;
    }
    struct temper_package p1 = { .size = sizeof p1, .name = "libc6", .version = "2.36-9" };
    struct temper_package p2 = { .size = sizeof p2, .name = "tzdata", .version = "2024a-0" };
    rc = temper_artifact_setf(a, TEMPER_ATTR_DIGEST, "sha256:%s", hex);
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set_path(a, req->layout_dir);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_VARIANT, req->variant);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_add_package(a, &p1);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_add_package(a, &p2);
    }
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return rc;
    }
    return temper_emit(st, a);
}
static const struct temper_builder_ops et_ops = { .build = et_build };

#elif defined(KIND_SUITE)
#define MODULE suite_enginetest
#define KIND TEMPER_KIND_SUITE
static int et_run(void *state, struct temper_stage *st, const struct temper_artifact *image,
                  const void *const *cases, size_t n_cases, enum temper_verdict *verdict)
{
    struct et_state *s = state;
    int rc = maybe_fail(s, st);
    if (rc != TEMPER_OK) {
        return rc;
    }
    struct temper_case c = { .size = sizeof c, .suite = "enginetest", .name = "has-digest",
                             .status = temper_artifact_get(image, TEMPER_ATTR_DIGEST)
                                           ? TEMPER_CASE_PASSED
                                           : TEMPER_CASE_FAILED };
    rc = temper_stage_case(st, &c);
    if (rc == TEMPER_OK && s->conf->fail_case && *s->conf->fail_case) {
        struct temper_case f = { .size = sizeof f, .suite = "enginetest",
                                 .name = s->conf->fail_case, .status = TEMPER_CASE_FAILED,
                                 .message = "made to fail" };
        rc = temper_stage_case(st, &f);
    }
    (void)cases;
    (void)n_cases;
    /* the plugin claims PASS; the engine must still block on the failed case */
    *verdict = TEMPER_VERDICT_PASS;
    return rc;
}
static const struct temper_suite_ops et_ops = { .run = et_run };

#elif defined(KIND_GUARD)
#define MODULE guard_enginetest
#define KIND TEMPER_KIND_GUARD
static int et_review(void *state, struct temper_stage *st, const struct temper_artifact *change,
                     const struct temper_artifact *diff, enum temper_verdict *verdict)
{
    struct et_state *s = state;
    int rc = maybe_fail(s, st);
    (void)diff;
    if (rc != TEMPER_OK || !s->conf->block) {
        *verdict = TEMPER_VERDICT_PASS;
        return rc;
    }
    struct temper_finding f = { .size = sizeof f, .rule = "enginetest-block",
                                .severity = TEMPER_SEV_HIGH, .confidence = 90,
                                .file = "configure.ac", .line = 12,
                                .message = temper_artifact_get(change, TEMPER_ATTR_NEW_VERSION) };
    *verdict = TEMPER_VERDICT_BLOCK;
    return temper_stage_finding(st, &f);
}
static const struct temper_guard_ops et_ops = { .review = et_review };

#elif defined(KIND_ATTEST)
#define MODULE attest_enginetest
#define KIND TEMPER_KIND_ATTEST
static int et_attest(void *state, struct temper_stage *st, const struct temper_artifact *image,
                     const struct temper_artifact *run)
{
    int rc = maybe_fail(state, st);
    if (rc != TEMPER_OK) {
        return rc;
    }
    const char *dg = temper_artifact_get(image, TEMPER_ATTR_DIGEST);
    char *body = temper_strdupf(
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"%s\","
        "\"digest\":{\"sha256\":\"%s\"}}],\"predicateType\":\"https://example.invalid/t\","
        "\"predicate\":{\"invocation\":\"%s\"}}",
        temper_artifact_name(image), dg ? dg + 7 : "",
        temper_artifact_get(run, TEMPER_RUN_INVOCATION_ID));
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_STATEMENT, "enginetest");
    rc = body && a ? temper_artifact_take_data(a, body, strlen(body)) : TEMPER_ENOMEM;
    body = NULL;
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_PREDICATE_TYPE, "https://example.invalid/t");
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_SIGNED_DIGEST, dg);
    }
    if (rc != TEMPER_OK) {
        free(body);
        temper_artifact_free(a);
        return rc;
    }
    return temper_emit(st, a);
}
static const struct temper_attest_ops et_ops = { .attest = et_attest };

#elif defined(KIND_SIGNER)
#define MODULE signer_enginetest
#define KIND TEMPER_KIND_SIGNER
static int et_sign(void *state, struct temper_stage *st, const unsigned char *msg, size_t len,
                   unsigned char **sig, size_t *sig_len)
{
    struct et_state *s = state;
    int rc = maybe_fail(s, st);
    if (rc != TEMPER_OK) {
        return rc;
    }
    gnutls_datum_t data = { (unsigned char *)(uintptr_t)msg, (unsigned)len };
    gnutls_datum_t out = { NULL, 0 };
    if (gnutls_privkey_sign_data(s->key, GNUTLS_DIG_SHA256, 0, &data, &out) < 0) {
        return temper_fail(st, TEMPER_ECRYPTO, "signing failed");
    }
    *sig = malloc(out.size);
    if (!*sig) {
        gnutls_free(out.data);
        return TEMPER_ENOMEM;
    }
    memcpy(*sig, out.data, out.size);
    *sig_len = out.size;
    gnutls_free(out.data);
    return TEMPER_OK;
}
static int et_pubkey(void *state, struct temper_stage *st, char **pem)
{
    struct et_state *s = state;
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t out = { NULL, 0 };
    int ok = gnutls_pubkey_init(&pub) >= 0 && gnutls_pubkey_import_privkey(pub, s->key, 0, 0) >= 0 &&
             gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &out) >= 0;
    gnutls_pubkey_deinit(pub);
    if (!ok) {
        gnutls_free(out.data);
        return temper_fail(st, TEMPER_ECRYPTO, "cannot export the public key");
    }
    *pem = calloc(1, out.size + 1);
    if (*pem) {
        memcpy(*pem, out.data, out.size);
    }
    gnutls_free(out.data);
    return *pem ? TEMPER_OK : TEMPER_ENOMEM;
}
static const char *et_keyid(void *state)
{
    return ((struct et_state *)state)->keyid;
}
static const char *et_alg(void *state)
{
    (void)state;
    return "ecdsa-p256-sha256";
}
static const struct temper_signer_ops et_ops = {
    .sign = et_sign, .public_key = et_pubkey, .key_id = et_keyid, .algorithm = et_alg,
};

#elif defined(KIND_PUBLISH)
#define MODULE publish_enginetest
#define KIND TEMPER_KIND_PUBLISH
/* Writes one line per artifact it got: "<type> <name> <media type>", then the
 * tags, so that the test can check what reached the publisher. */
static int dump_file(const char *base, size_t i, const char *ext, const char *text)
{
    char *path = temper_strdupf("%s.%zu.%s", base, i, ext);
    FILE *f = path ? fopen(path, "w") : NULL;
    free(path);
    if (!f) {
        return TEMPER_EIO;
    }
    int ok = fputs(text ? text : "", f) >= 0;
    return fclose(f) == 0 && ok ? TEMPER_OK : TEMPER_EIO;
}

/* <out>.<i>.data, .pub and .sig: what the test verifies with gnutls. */
static int dump_signature(const char *base, size_t i, const struct temper_artifact *a)
{
    int rc = dump_file(base, i, "data", temper_artifact_data(a, NULL));
    if (rc == TEMPER_OK) {
        rc = dump_file(base, i, "pub", temper_artifact_get(a, "public_key"));
    }
    if (rc == TEMPER_OK && temper_artifact_get(a, "signature")) {
        rc = dump_file(base, i, "sig", temper_artifact_get(a, "signature"));
    }
    return rc;
}

static int et_publish(void *state, struct temper_stage *st,
                      const struct temper_publish_request *req)
{
    struct et_state *s = state;
    int rc = maybe_fail(s, st);
    if (rc != TEMPER_OK || !s->conf->out) {
        return rc;
    }
    FILE *f = fopen(s->conf->out, "w");
    if (!f) {
        return temper_fail(st, TEMPER_EIO, "cannot write %s", s->conf->out);
    }
    fprintf(f, "image %s %s\n", temper_artifact_name(req->image),
            temper_artifact_get(req->image, TEMPER_ATTR_DIGEST));
    for (size_t i = 0; rc == TEMPER_OK && i < req->n_extras; i++) {
        const char *mt = temper_artifact_get(req->extras[i], TEMPER_ATTR_MEDIA_TYPE);
        fprintf(f, "extra %d %s %s\n", (int)temper_artifact_type(req->extras[i]),
                temper_artifact_name(req->extras[i]), mt ? mt : "-");
        if (temper_artifact_type(req->extras[i]) == TEMPER_ART_SIGNATURE) {
            rc = dump_signature(s->conf->out, i, req->extras[i]);
        }
    }
    for (size_t i = 0; i < req->n_tags; i++) {
        fprintf(f, "tag %s\n", req->tags[i]);
    }
    if (fclose(f) != 0 || rc != TEMPER_OK) {
        return temper_fail(st, TEMPER_EIO, "cannot write %s", s->conf->out);
    }
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_REFERENCE, "enginetest");
    rc = a ? temper_artifact_set(a, TEMPER_ATTR_REF, s->conf->out) : TEMPER_ENOMEM;
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return rc;
    }
    return temper_emit(st, a);
}
static const struct temper_publish_ops et_ops = { .publish = et_publish };
#else
#error "define one KIND_*"
#endif

#define STR_(x) #x
#define STR(x) STR_(x)

TEMPER_PLUGIN(MODULE) = {
    TEMPER_PLUGIN_HEAD,
    .kind = KIND, .name = "enginetest", .version = "1.0",
    .summary = "pipeline engine test stage",
    .options = et_options, .conf_size = sizeof(struct et_conf),
    .open = et_open, .close = et_close,
    .ops = &et_ops, .ops_size = sizeof et_ops,
};

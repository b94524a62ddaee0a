/* Fuzz target: DSSE envelopes (include/temper/dsse.h) as cosign and in-toto
 * attestations carry them.  The SDK has no envelope reader of its own (temper
 * only writes envelopes); this target reads one the way a verifier must
 * (JSON with the SDK's caps, base64 payload and signatures) and checks the
 * SDK's own pieces against each other: base64 decode/encode round trips,
 * the PAE length prefix, and an envelope written by temper_dsse_envelope()
 * reads back to the same payload, type and signature. */
#include "config.h"
#include "fuzz.h"
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <temper/dsse.h>
#include <temper/json.h>

static void b64_round_trip(const char *b64, size_t len)
{
    unsigned char *raw = NULL, *raw2 = NULL;
    size_t n = 0, n2 = 0;
    char *enc = NULL;
    if (temper_base64_decode(b64, len, &raw, &n) != TEMPER_OK) {
        return;
    }
    FUZZ_ASSERT(temper_base64_encode(raw, n, &enc) == TEMPER_OK);
    FUZZ_ASSERT(temper_base64_decode(enc, strlen(enc), &raw2, &n2) == TEMPER_OK);
    FUZZ_ASSERT(n == n2 && (n == 0 || memcmp(raw, raw2, n) == 0));
    free(raw);
    free(raw2);
    free(enc);
}

static void pae_check(const char *type, const unsigned char *body, size_t len)
{
    unsigned char *pae = NULL;
    size_t n = 0;
    char head[64];
    if (temper_dsse_pae(type, body, len, &pae, &n) != TEMPER_OK) {
        return;
    }
    int k = snprintf(head, sizeof head, "DSSEv1 %zu ", strlen(type));
    FUZZ_ASSERT(k > 0 && (size_t)k < n && memcmp(pae, head, (size_t)k) == 0);
    FUZZ_ASSERT(n == (size_t)k + strlen(type) + 1 + (size_t)snprintf(NULL, 0, "%zu", len) + 1 +
                         len);
    FUZZ_ASSERT(len == 0 || memcmp(pae + n - len, body, len) == 0);
    free(pae);
}

/* Write an envelope of (type, body, sig) and read it back. */
static void envelope_round_trip(const char *type, const unsigned char *body, size_t len,
                                const unsigned char *sig, size_t sig_len)
{
    char *json = NULL;
    struct json_object *o = NULL;
    unsigned char *got = NULL;
    size_t got_len = 0;
    if (temper_dsse_envelope(type, body, len, "key", sig, sig_len, &json) != TEMPER_OK) {
        return;
    }
    FUZZ_ASSERT(temper_json_parse(NULL, "envelope", json, strlen(json), 0, 8, &o) == TEMPER_OK);
    const char *t = temper_json_get_str(o, "payloadType");
    const char *p = temper_json_get_str(o, "payload");
    FUZZ_ASSERT(t && strcmp(t, type) == 0 && p);
    FUZZ_ASSERT(temper_base64_decode(p, strlen(p), &got, &got_len) == TEMPER_OK);
    FUZZ_ASSERT(got_len == len && (len == 0 || memcmp(got, body, len) == 0));
    free(got);
    json_object_put(o);
    free(json);
}

/* temper_json_canonical(): same object, same bytes; its output reads back
 * to an object with the same canonical form. */
static void canonical_check(const struct json_object *o)
{
    char *c1 = NULL, *c2 = NULL;
    size_t l1 = 0, l2 = 0;
    struct json_object *back = NULL;
    if (temper_json_canonical(o, &c1, &l1) != TEMPER_OK) {
        return;
    }
    FUZZ_ASSERT(temper_json_parse(NULL, "canonical", c1, l1, 0, 64, &back) == TEMPER_OK);
    FUZZ_ASSERT(temper_json_canonical(back, &c2, &l2) == TEMPER_OK);
    FUZZ_ASSERT(l1 == l2 && memcmp(c1, c2, l1) == 0);
    json_object_put(back);
    free(c1);
    free(c2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_object *env = NULL;
    unsigned char *body = NULL, *sig = NULL;
    size_t body_len = 0, sig_len = 0;
    fuzz_init();
    b64_round_trip((const char *)data, size);
    if (temper_json_parse(NULL, "fuzz", data, size, 1u << 20, 16, &env) != TEMPER_OK) {
        return 0;
    }
    canonical_check(env);
    const char *type = temper_json_get_str(env, "payloadType");
    const char *payload = temper_json_get_str(env, "payload");
    size_t n_sigs = 0;
    struct json_object *sigs = temper_json_get_array(env, "signatures", &n_sigs);
    if (payload) {
        b64_round_trip(payload, strlen(payload));
        if (temper_base64_decode(payload, strlen(payload), &body, &body_len) != TEMPER_OK) {
            body = NULL;
        }
    }
    for (size_t i = 0; sigs && i < n_sigs && i < 16; i++) {
        const char *s = temper_json_get_str(json_object_array_get_idx(sigs, i), "sig");
        if (s && !sig) {
            if (temper_base64_decode(s, strlen(s), &sig, &sig_len) != TEMPER_OK) {
                sig = NULL;
            }
        }
    }
    if (type && body) {
        pae_check(type, body, body_len);
        envelope_round_trip(type, body, body_len, sig, sig_len);
    }
    free(body);
    free(sig);
    json_object_put(env);
    return 0;
}

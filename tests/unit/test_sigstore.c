/* Unit tests: cosign .sig/.att objects in an OCI layout (sdk/sigstore.c,
 * sdk/sigstore_verify.c): layout bytes as cosign writes them, determinism,
 * real cosign output verifying, and every tampering caught as a verdict. */
#include "oci_test_util.h"
#include "../lib/tap.h"

#include <gnutls/abstract.h>
#include <temper/artifact.h>
#include <temper/dsse.h>
#include <temper/sigstore.h>

#define MUST(x) CHECK_INT_EQ((x), TEMPER_OK)
#define FIXTURE_DIGEST "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"
#define SIMPLE_FMT                                                                                 \
    "{\"critical\":{\"identity\":{\"docker-reference\":\"example.com/app\"},\"image\":{"           \
    "\"docker-manifest-digest\":\"%s\"},\"type\":\"cosign container image signature\"},"           \
    "\"optional\":null}"
#define STMT_FMT                                                                                   \
    "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"app\","               \
    "\"digest\":{\"sha256\":\"%s\"}}],\"predicateType\":\"%s\",\"predicate\":{}}"

static char base[4096];

struct key {
    gnutls_privkey_t priv;
    char *pem;
};

static int key_new(struct key *k)
{
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t out = { NULL, 0 };
    int ok = gnutls_privkey_init(&k->priv) >= 0 &&
             gnutls_privkey_generate2(k->priv, GNUTLS_PK_ECDSA,
                                      GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL,
                                      0) >= 0 &&
             gnutls_pubkey_init(&pub) >= 0 &&
             gnutls_pubkey_import_privkey(pub, k->priv, 0, 0) >= 0 &&
             gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &out) >= 0;
    k->pem = ok ? strndup((char *)out.data, out.size) : NULL;
    gnutls_free(out.data);
    gnutls_pubkey_deinit(pub);
    return k->pem ? 0 : -1;
}

static void key_free(struct key *k)
{
    gnutls_privkey_deinit(k->priv);
    free(k->pem);
}

static char *sign_b64(const struct key *k, const void *msg, size_t len, unsigned char **raw,
                      size_t *raw_len)
{
    gnutls_datum_t d = { (unsigned char *)(uintptr_t)msg, (unsigned)len }, s = { NULL, 0 };
    char *b64 = NULL;
    if (gnutls_privkey_sign_data2(k->priv, GNUTLS_SIGN_ECDSA_SHA256, 0, &d, &s) >= 0 &&
        temper_base64_encode(s.data, s.size, &b64) == TEMPER_OK && raw) {
        *raw = malloc(s.size);
        memcpy(*raw, s.data, s.size);
        *raw_len = s.size;
    }
    gnutls_free(s.data);
    return b64;
}

/* What core/sign.c makes for an image. */
static struct temper_artifact *sig_art(const struct key *k, const char *about,
                                       const char *signed_digest)
{
    char payload[1024];
    snprintf(payload, sizeof payload, SIMPLE_FMT, about);
    char *b64 = sign_b64(k, payload, strlen(payload), NULL, NULL);
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_SIGNATURE, "img");
    if (temper_artifact_set(a, TEMPER_ATTR_MEDIA_TYPE, TEMPER_COSIGN_MT_SIMPLESIGNING) ||
        temper_artifact_set(a, TEMPER_ATTR_SIGNED_DIGEST, signed_digest) ||
        temper_artifact_set(a, "signature", b64) ||
        temper_artifact_set_data(a, payload, strlen(payload))) {
        temper_artifact_free(a);
        a = NULL;
    }
    free(b64);
    return a;
}

/* What core/sign.c makes for a statement. */
static struct temper_artifact *att_art(const struct key *k, const char *about_hex,
                                       const char *ptype, const char *signed_digest)
{
    char stmt[1024];
    snprintf(stmt, sizeof stmt, STMT_FMT, about_hex, ptype);
    unsigned char *pae = NULL, *sig = NULL;
    size_t pae_len = 0, sig_len = 0;
    char *env = NULL;
    if (temper_dsse_pae(TEMPER_DSSE_INTOTO_TYPE, stmt, strlen(stmt), &pae, &pae_len)) {
        return NULL;
    }
    free(sign_b64(k, pae, pae_len, &sig, &sig_len));
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_SIGNATURE, ptype);
    if (temper_dsse_envelope(TEMPER_DSSE_INTOTO_TYPE, stmt, strlen(stmt), "kid", sig, sig_len,
                             &env) ||
        temper_artifact_set(a, TEMPER_ATTR_MEDIA_TYPE, TEMPER_DSSE_MEDIA_TYPE) ||
        temper_artifact_set(a, TEMPER_ATTR_PREDICATE_TYPE, ptype) ||
        (signed_digest && temper_artifact_set(a, TEMPER_ATTR_SIGNED_DIGEST, signed_digest)) ||
        temper_artifact_set_data(a, env, strlen(env))) {
        temper_artifact_free(a);
        a = NULL;
    }
    free(env);
    free(pae);
    free(sig);
    return a;
}

/* A layout with a stand-in image manifest blob; *img its descriptor. */
static struct temper_oci_layout *layout_with_image(const char *name,
                                                   struct temper_oci_descriptor *img)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", base, name);
    struct temper_oci_layout *l = NULL;
    const char *m = "{\"schemaVersion\":2,\"mediaType\":\"" TEMPER_OCI_MT_MANIFEST "\","
                    "\"config\":{\"mediaType\":\"" TEMPER_OCI_MT_EMPTY "\",\"digest\":"
                    "\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\","
                    "\"size\":2},\"layers\":[]}";
    if (temper_oci_layout_create(NULL, dir, &l) ||
        temper_oci_blob_write(NULL, l, TEMPER_OCI_MT_MANIFEST, m, strlen(m), img) ||
        temper_oci_layout_tag(NULL, l, img, "latest")) {
        temper_oci_layout_free(l);
        return NULL;
    }
    return l;
}

static int attach_and_tag(struct temper_oci_layout *l, const struct temper_oci_descriptor *img,
                          struct temper_artifact **arts, size_t n,
                          struct temper_sigstore_object **objs, size_t *n_objs)
{
    int rc = temper_sigstore_attach(NULL, l, img, (const struct temper_artifact *const *)arts, n,
                                    objs, n_objs);
    for (size_t i = 0; rc == TEMPER_OK && i < *n_objs; i++) {
        rc = temper_oci_layout_tag(NULL, l, &(*objs)[i].manifest, (*objs)[i].tag);
    }
    return rc;
}

static int verify(struct temper_oci_layout *l, const char *pem, const char *digest,
                  struct temper_sigstore_report *rep)
{
    struct temper_sigstore_fetch f;
    enum temper_verdict v = TEMPER_VERDICT_NONE;
    temper_sigstore_layout_fetch(l, &f);
    temper_sigstore_report_cleanup(rep);
    int rc = temper_sigstore_verify(NULL, pem, digest, &f, &v, rep);
    return rc != TEMPER_OK ? rc : (int)v;
}

static void test_tag(void)
{
    TEST("tags are sha256-<hex>.sig / .att")
    {
        char t[TEMPER_SIGSTORE_TAG_LEN];
        MUST(temper_sigstore_tag(FIXTURE_DIGEST, TEMPER_SIGSTORE_SIG, t));
        CHECK_STR_EQ(t,
                     "sha256-634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00.sig");
        MUST(temper_sigstore_tag(FIXTURE_DIGEST, TEMPER_SIGSTORE_ATT, t));
        CHECK_STR_CONTAINS(t, "a00.att");
        CHECK_INT_EQ(temper_sigstore_tag("sha256:12", TEMPER_SIGSTORE_SIG, t), TEMPER_EINVAL);
        CHECK_INT_EQ(temper_sigstore_tag("sha256:../x", TEMPER_SIGSTORE_ATT, t), TEMPER_EINVAL);
    }
}

static char *sample_len(const char *name, size_t *len)
{
    char p[4096];
    const char *d = getenv("TEMPER_DATA");
    snprintf(p, sizeof p, "%s/samples/cosign-containers-image-fixture/%s", d ? d : "tests/data",
             name);
    return tu_read(p, len);
}

static char *sample(const char *name)
{
    return sample_len(name, NULL);
}

/* The containers/image fixture (real cosign output) put into a layout the
 * way cosign stores it; verifies with cosign.pub only. */
static void test_real_cosign(void)
{
    TEST("real cosign signature verifies with cosign.pub, not with cosign2.pub")
    {
        char *manifest = sample("manifest.json"), *payload = sample("payload.json");
        size_t wlen = 0;
        char *wrapped = sample_len("signature-1", &wlen), *pub = sample("cosign.pub");
        char *pub2 = sample("cosign2.pub");
        CHECK(manifest && payload && wrapped && pub && pub2);
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/fixture", base);
        struct temper_oci_layout *l = NULL;
        struct temper_oci_descriptor img, lay, cfg, sigm;
        memset(&img, 0, sizeof img);
        memset(&lay, 0, sizeof lay);
        memset(&cfg, 0, sizeof cfg);
        memset(&sigm, 0, sizeof sigm);
        MUST(temper_oci_layout_create(NULL, dir, &l));
        MUST(temper_oci_blob_write(NULL, l, TEMPER_DOCKER_MT_MANIFEST, manifest, strlen(manifest),
                                   &img));
        CHECK_STR_EQ(img.digest, FIXTURE_DIGEST);
        /* payload.json has the exact bytes of the signed payload (no newline) */
        size_t plen = strlen(payload);
        while (plen && payload[plen - 1] == '\n') {
            plen--;
        }
        MUST(temper_oci_blob_write(NULL, l, TEMPER_COSIGN_MT_SIMPLESIGNING, payload, plen, &lay));
        /* the containers/image wrapper starts with a NUL byte */
        const char *key = "cosign/signature\":\"";
        const char *ann = wrapped ? memmem(wrapped, wlen, key, strlen(key)) : NULL;
        char sigb64[256] = "";
        if (ann) {
            ann += strlen("cosign/signature\":\"");
            snprintf(sigb64, sizeof sigb64, "%.*s", (int)strcspn(ann, "\""), ann);
        }
        MUST(temper_oci_map_set(&lay.annotations, TEMPER_COSIGN_ANN_SIGNATURE, sigb64));
        MUST(temper_oci_blob_write(NULL, l, TEMPER_OCI_MT_CONFIG, "{}", 2, &cfg));
        struct temper_oci_manifest m = { .schema_version = 2, .n_layers = 1, .layers = &lay };
        m.config = cfg;
        char *json = NULL;
        size_t jl = 0;
        MUST(temper_oci_manifest_json(NULL, &m, &json, &jl));
        MUST(temper_oci_blob_write(NULL, l, TEMPER_OCI_MT_MANIFEST, json, jl, &sigm));
        MUST(temper_oci_layout_tag(NULL, l, &sigm,
                                   "sha256-634a8f35b5f16dcf4aaa0822adc0b1964bb7"
                                   "86fca12f6831de8ddc45e5986a00.sig"));
        struct temper_sigstore_report rep;
        memset(&rep, 0, sizeof rep);
        CHECK_INT_EQ(verify(l, pub, FIXTURE_DIGEST, &rep), TEMPER_VERDICT_PASS);
        CHECK_INT_EQ(rep.n_signatures, 1);
        CHECK_STR_EQ(rep.algorithm, "ecdsa-p256-sha256");
        CHECK_INT_EQ(verify(l, pub2, FIXTURE_DIGEST, &rep), TEMPER_VERDICT_BLOCK);
        CHECK_STR_CONTAINS(rep.failure, "no signature in sha256-634a");
        temper_sigstore_report_cleanup(&rep);
        free(json);
        temper_oci_descriptor_cleanup(&img);
        temper_oci_descriptor_cleanup(&lay);
        temper_oci_descriptor_cleanup(&cfg);
        temper_oci_descriptor_cleanup(&sigm);
        temper_oci_layout_free(l);
        free(manifest);
        free(payload);
        free(wrapped);
        free(pub);
        free(pub2);
    }
}

static void check_layout_bytes(struct temper_oci_layout *l,
                               const struct temper_sigstore_object *objs, size_t n,
                               const struct temper_oci_descriptor *img)
{
    CHECK_INT_EQ(n, 2);
    CHECK_INT_EQ(objs[0].kind, TEMPER_SIGSTORE_SIG);
    CHECK_INT_EQ(objs[1].kind, TEMPER_SIGSTORE_ATT);
    CHECK_INT_EQ(objs[0].n_layers, 1);
    CHECK_INT_EQ(objs[1].n_layers, 2);
    struct temper_oci_manifest m;
    memset(&m, 0, sizeof m);
    MUST(temper_oci_read_manifest(NULL, l, &objs[0].manifest, &m));
    CHECK_STR_EQ(m.artifact_type, TEMPER_COSIGN_ARTIFACT_SIG);
    CHECK_STR_EQ(m.config.media_type, TEMPER_OCI_MT_CONFIG);
    CHECK(m.subject && strcmp(m.subject->digest, img->digest) == 0);
    CHECK(m.n_layers == 1 && strcmp(m.layers[0].media_type, TEMPER_COSIGN_MT_SIMPLESIGNING) == 0);
    CHECK(m.n_layers == 1 &&
          temper_oci_map_get(&m.layers[0].annotations, TEMPER_COSIGN_ANN_SIGNATURE) != NULL);
    char *cfg = NULL;
    size_t cl = 0;
    MUST(temper_oci_blob_read(NULL, l, &m.config, 4096, &cfg, &cl));
    CHECK_STR_CONTAINS(cfg, "{\"architecture\":\"\",\"created\":\"0001-01-01T00:00:00Z\","
                            "\"history\":[{\"created\":\"0001-01-01T00:00:00Z\"}],\"os\":\"\","
                            "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:");
    free(cfg);
    temper_oci_manifest_cleanup(&m);
    MUST(temper_oci_read_manifest(NULL, l, &objs[1].manifest, &m));
    CHECK_STR_EQ(m.artifact_type, TEMPER_COSIGN_ARTIFACT_ATT);
    CHECK(m.n_layers == 2 && strcmp(m.layers[1].media_type, TEMPER_DSSE_MEDIA_TYPE) == 0);
    CHECK(m.n_layers == 2 && strcmp(temper_oci_map_get(&m.layers[1].annotations, "predicateType"),
                                    "https://spdx.dev/Document") == 0);
    temper_oci_manifest_cleanup(&m);
}

static void test_attach_verify(const struct key *k, const struct key *other)
{
    struct temper_oci_descriptor img;
    memset(&img, 0, sizeof img);
    struct temper_oci_layout *l = layout_with_image("attach", &img);
    struct temper_artifact *arts[5] = {
        sig_art(k, img.digest, img.digest),
        att_art(k, img.digest + 7, "https://slsa.dev/provenance/v1", img.digest),
        att_art(k, img.digest + 7, "https://spdx.dev/Document", NULL),
        /* about another image: not attached */
        att_art(k, "1111111111111111111111111111111111111111111111111111111111111111",
                "https://openvex.dev/ns", NULL),
        temper_artifact_new(TEMPER_ART_STATEMENT, "unsigned"),
    };
    struct temper_sigstore_object *objs = NULL, *again = NULL;
    size_t n = 0, n2 = 0;
    struct temper_sigstore_report rep;
    memset(&rep, 0, sizeof rep);
    TEST("attach writes cosign .sig and .att manifests, deterministic")
    {
        CHECK(l != NULL);
        MUST(attach_and_tag(l, &img, arts, 5, &objs, &n));
        check_layout_bytes(l, objs, n, &img);
        CHECK_STR_CONTAINS(objs[0].tag, ".sig");
        CHECK(strncmp(objs[0].tag, "sha256-", 7) == 0 && strstr(objs[0].tag, img.digest + 7));
        MUST(temper_sigstore_attach(NULL, l, &img, (const struct temper_artifact *const *)arts, 5,
                                    &again, &n2));
        CHECK(n2 == 2 && strcmp(again[0].manifest.digest, objs[0].manifest.digest) == 0 &&
              strcmp(again[1].manifest.digest, objs[1].manifest.digest) == 0);
    }
    TEST("TEMPER_SIGSTORE_NO_SUBJECT leaves out only the subject; bad flags refused")
    {
        struct temper_sigstore_object *ns = NULL;
        size_t n3 = 0;
        const struct temper_artifact *const *ca = (const struct temper_artifact *const *)arts;
        MUST(temper_sigstore_attach_flags(NULL, l, &img, ca, 5, TEMPER_SIGSTORE_NO_SUBJECT,
                                          &ns, &n3));
        CHECK_INT_EQ(n3, 2);
        for (size_t i = 0; i < n3 && i < n; i++) {
            char *json = NULL;
            size_t len = 0;
            CHECK(strcmp(ns[i].manifest.digest, objs[i].manifest.digest) != 0);
            CHECK_STR_EQ(ns[i].tag, objs[i].tag);
            MUST(temper_oci_blob_read(NULL, l, &ns[i].manifest, 1 << 20, &json, &len));
            CHECK(json && !strstr(json, "\"subject\""));
            CHECK(json && strstr(json, "\"artifactType\":\"application/vnd.dev.cosign.artifact."));
            free(json);
        }
        temper_sigstore_objects_free(ns, n3);
        ns = NULL;
        n3 = 0;
        CHECK_INT_EQ(temper_sigstore_attach_flags(NULL, l, &img, ca, 5, 0x2u, &ns, &n3),
                     TEMPER_EINVAL);
        CHECK(ns == NULL && n3 == 0);
        MUST(temper_sigstore_attach_flags(NULL, l, &img, ca, 5, 0, &ns, &n3));
        CHECK(n3 == 2 && n == 2 && strcmp(ns[0].manifest.digest, objs[0].manifest.digest) == 0);
        temper_sigstore_objects_free(ns, n3);
    }
    TEST("verify passes and lists the predicate types")
    {
        CHECK_INT_EQ(verify(l, k->pem, img.digest, &rep), TEMPER_VERDICT_PASS);
        CHECK_INT_EQ(rep.n_signatures, 1);
        CHECK_INT_EQ(rep.n_attestations, 2);
        CHECK(rep.n_attestations == 2 &&
              strcmp(rep.predicate_types[0], "https://slsa.dev/provenance/v1") == 0);
        CHECK(rep.failure == NULL);
        CHECK_INT_EQ(strlen(rep.key_id), 64);
    }
    TEST("wrong key, other digest and missing .sig are BLOCK verdicts")
    {
        CHECK_INT_EQ(verify(l, other->pem, img.digest, &rep), TEMPER_VERDICT_BLOCK);
        CHECK_STR_CONTAINS(rep.failure, "no signature in");
        const char *d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        CHECK_INT_EQ(verify(l, k->pem, d1, &rep), TEMPER_VERDICT_BLOCK);
        CHECK_STR_CONTAINS(rep.failure, "no signature: sha256-1111");
        CHECK_INT_EQ(verify(l, "garbage", img.digest, &rep), TEMPER_EINVAL);
    }
    temper_sigstore_objects_free(objs, n);
    temper_sigstore_objects_free(again, n2);
    for (size_t i = 0; i < 5; i++) {
        temper_artifact_free(arts[i]);
    }
    temper_sigstore_report_cleanup(&rep);
    temper_oci_descriptor_cleanup(&img);
    temper_oci_layout_free(l);
}

/* A .sig signed by the key but naming another digest, and an .att about
 * another digest, re-tagged over the good ones. */
static void test_swapped(const struct key *k)
{
    struct temper_oci_descriptor img;
    memset(&img, 0, sizeof img);
    struct temper_oci_layout *l = layout_with_image("swap", &img);
    const char *d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    struct temper_artifact *bad_sig[1] = { sig_art(k, d1, img.digest) };
    struct temper_artifact *bad_att[2] = {
        sig_art(k, img.digest, img.digest),
        att_art(k, d1 + 7, "https://slsa.dev/provenance/v1", img.digest),
    };
    struct temper_sigstore_object *objs = NULL;
    size_t n = 0;
    struct temper_sigstore_report rep;
    memset(&rep, 0, sizeof rep);
    TEST("a signed payload about another digest is caught")
    {
        MUST(attach_and_tag(l, &img, bad_sig, 1, &objs, &n));
        CHECK_INT_EQ(verify(l, k->pem, img.digest, &rep), TEMPER_VERDICT_BLOCK);
        CHECK_STR_CONTAINS(rep.failure, "is about sha256:1111");
        temper_sigstore_objects_free(objs, n);
    }
    TEST("an attestation with a swapped subject is caught")
    {
        MUST(attach_and_tag(l, &img, bad_att, 2, &objs, &n));
        CHECK_INT_EQ(verify(l, k->pem, img.digest, &rep), TEMPER_VERDICT_BLOCK);
        CHECK_STR_CONTAINS(rep.failure, "is not about");
        temper_sigstore_objects_free(objs, n);
    }
    temper_artifact_free(bad_sig[0]);
    temper_artifact_free(bad_att[0]);
    temper_artifact_free(bad_att[1]);
    temper_sigstore_report_cleanup(&rep);
    temper_oci_descriptor_cleanup(&img);
    temper_oci_layout_free(l);
}

/* temper_oci_layout_describe and temper_oci_image_copy (sdk/oci_copy.c). */
static void test_copy(void)
{
    struct temper_oci_descriptor img, cfg, lay, got;
    memset(&img, 0, sizeof img);
    memset(&cfg, 0, sizeof cfg);
    memset(&lay, 0, sizeof lay);
    memset(&got, 0, sizeof got);
    char d1[4200], d2[4200], d3[4200], p[4400];
    snprintf(d1, sizeof d1, "%s/copy-src", base);
    snprintf(d2, sizeof d2, "%s/copy-linked", base);
    snprintf(d3, sizeof d3, "%s/copy-copied", base);
    struct temper_oci_layout *src = NULL, *a = NULL, *b = NULL;
    TEST("describe an untagged manifest, copy it linked and copied")
    {
        MUST(temper_oci_layout_create(NULL, d1, &src));
        MUST(temper_oci_blob_write(NULL, src, TEMPER_OCI_MT_CONFIG, "{\"a\":1}", 7, &cfg));
        MUST(temper_oci_blob_write(NULL, src, TEMPER_OCI_MT_LAYER_TAR, "layer", 5, &lay));
        struct temper_oci_manifest m = { .schema_version = 2, .n_layers = 1, .layers = &lay };
        m.config = cfg;
        char *json = NULL;
        size_t jl = 0;
        MUST(temper_oci_manifest_json(NULL, &m, &json, &jl));
        MUST(temper_oci_blob_write(NULL, src, TEMPER_OCI_MT_MANIFEST, json, jl, &img));
        free(json);
        MUST(temper_oci_layout_describe(NULL, src, img.digest, &got));
        CHECK_STR_EQ(got.media_type, TEMPER_OCI_MT_MANIFEST);
        CHECK_INT_EQ(got.size, img.size);
        MUST(temper_oci_layout_create(NULL, d2, &a));
        MUST(temper_oci_layout_create(NULL, d3, &b));
        MUST(temper_oci_image_copy(NULL, src, a, &got, true));
        MUST(temper_oci_image_copy(NULL, src, b, &got, false));
        MUST(temper_oci_blob_verify(NULL, a, &lay));
        MUST(temper_oci_blob_verify(NULL, b, &cfg));
        MUST(temper_oci_blob_verify(NULL, b, &img));
        struct stat sa, sb;
        snprintf(p, sizeof p, "%s/blobs/sha256/%s", d3, lay.digest + 7);
        CHECK(lstat(p, &sb) == 0 && sb.st_nlink == 1);
        snprintf(p, sizeof p, "%s/blobs/sha256/%s", d2, lay.digest + 7);
        CHECK(lstat(p, &sa) == 0 && sa.st_nlink == 2);
        MUST(temper_oci_image_copy(NULL, src, a, &got, true)); /* again: kept */
    }
    TEST("a symlinked source blob is refused, not followed")
    {
        char d4[4200];
        snprintf(d4, sizeof d4, "%s/copy-4", base);
        struct temper_oci_layout *c = NULL;
        MUST(temper_oci_layout_create(NULL, d4, &c));
        snprintf(p, sizeof p, "%s/blobs/sha256/%s", d1, lay.digest + 7);
        unlink(p);
        CHECK(symlink("/etc/passwd", p) == 0);
        CHECK(temper_oci_image_copy(NULL, src, c, &got, true) != TEMPER_OK);
        snprintf(p, sizeof p, "%s/blobs/sha256/%s", d4, lay.digest + 7);
        CHECK(access(p, F_OK) != 0);
        CHECK_INT_EQ(temper_oci_layout_describe(
                         NULL, src,
                         "sha256:1111111111111111111111111111111111111111111111111111111111111111",
                         &got),
                     TEMPER_ENOTFOUND);
        temper_oci_layout_free(c);
    }
    temper_oci_descriptor_cleanup(&img);
    temper_oci_descriptor_cleanup(&cfg);
    temper_oci_descriptor_cleanup(&lay);
    temper_oci_descriptor_cleanup(&got);
    temper_oci_layout_free(src);
    temper_oci_layout_free(a);
    temper_oci_layout_free(b);
}

int main(void)
{
    if (tu_mkdtemp(base, sizeof base, "sigstore") != 0) {
        return 1;
    }
    struct key k, other;
    memset(&k, 0, sizeof k);
    memset(&other, 0, sizeof other);
    if (key_new(&k) || key_new(&other)) {
        return 1;
    }
    test_tag();
    test_real_cosign();
    test_attach_verify(&k, &other);
    test_swapped(&k);
    test_copy();
    key_free(&k);
    key_free(&other);
    tu_rmtree(base);
    return tap_done();
}

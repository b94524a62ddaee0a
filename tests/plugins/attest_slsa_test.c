/* temper — attest_slsa through the real loader: SLSA provenance v1 built from
 * the run record and the image's package list (30 real packages of this
 * machine when dpkg is there, and a hand-made list), its keys compared with
 * real SLSA provenance (slsa-github-generator and GitHub artifact
 * attestation samples), values the image artifact claims about the build
 * ignored, byte-identical output for equal inputs, and refusals when the run
 * record lacks what provenance must say. */
#include "config.h"
#include "tests/lib/tap.h"
#include "tests/plugins/attest_testlib.h"

#define SLSA_TYPE "https://slsa.dev/provenance/v1"
#define IMAGE "hardened/python"
#define BASE_HEX "9e2ba52487d945504d250de186cb4fe2e3ba023ed2921dd6ac8b97ed43e76af9"

static const char packages[] =
    "[{\"name\":\"libc6\",\"version\":\"2.36-9+deb12u4\",\"arch\":\"amd64\",\"source\":\"glibc\","
    "\"distribution\":\"debian:bookworm\",\"sha256\":"
    "\"2222222222222222222222222222222222222222222222222222222222222222\",\"url\":"
    "\"https://deb.debian.org/debian/pool/main/g/glibc/libc6_2.36-9+deb12u4_amd64.deb\"},"
    "{\"name\":\"python3.11-minimal\",\"version\":\"3.11.2-6\",\"arch\":\"amd64\","
    "\"source\":\"python3.11\",\"distribution\":\"debian:bookworm\",\"sha256\":"
    "\"3333333333333333333333333333333333333333333333333333333333333333\"},"
    "{\"name\":\"Python-3.11.9.tar.xz\",\"version\":\"3.11.9\",\"url\":"
    "\"https://www.python.org/ftp/python/3.11.9/Python-3.11.9.tar.xz\",\"sha256\":"
    "\"9b1e896523fc510691126c864406d9360a3d1e986acbda59cda57b5abda45b87\"},"
    "{\"name\":\"tzdata\",\"version\":\"2024a-0+deb12u1\",\"arch\":\"all\","
    "\"distribution\":\"debian:bookworm\"}]";

static size_t alen(struct json_object *a)
{
    return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static struct json_object *dep_named(struct json_object *deps, const char *prefix)
{
    for (size_t i = 0; i < alen(deps); i++) {
        struct json_object *d = json_object_array_get_idx(deps, i);
        const char *n = temper_json_get_str(d, "name");
        if (n && strncmp(n, prefix, strlen(prefix)) == 0) {
            return d;
        }
    }
    return NULL;
}

static struct temper_artifact *with_base(struct temper_artifact *run)
{
    static const char ref[] = "registry.example/base/debian:12";
    if (run && (temper_artifact_set(run, TEMPER_RUN_BASE_REF, ref) != TEMPER_OK ||
                temper_artifact_set(run, TEMPER_RUN_BASE_DIGEST, "sha256:" BASE_HEX) !=
                    TEMPER_OK)) {
        temper_artifact_free(run);
        return NULL;
    }
    return run;
}

static int shape_matches_samples(const char *file)
{
    static const char *const samples[] = {
        "slsa-provenance-v1.container-based-builder.statement-v0.1.decoded.json",
        "slsa-provenance-v1.github-actions-workflow-v1.statement.decoded.json",
        "slsa-verifier_bcr_MODULE.bazel.intoto.jsonl",
        "slsa-verifier_gha_container-based_v2.1.0_binary-linux-amd64-workflow_dispatch"
        ".intoto.build.slsa",
    };
    const char *data = getenv("TEMPER_DATA");
    char *paths[4] = { NULL };
    const char *args[8] = { "slsa-shape", file };
    for (size_t i = 0; i < 4; i++) {
        paths[i] = temper_strdupf("%s/samples/slsa/%s", data ? data : "tests/data", samples[i]);
        args[2 + i] = paths[i];
    }
    int rc = at_python("tests/plugins/attest_helper.py", args);
    for (size_t i = 0; i < 4; i++) {
        free(paths[i]);
    }
    return rc;
}

static void test_provenance(const struct temper_artifact *img, const struct temper_artifact *run,
                            const char *digest)
{
    TEST("slsa: provenance from the run record") {
        struct ph h;
        char *file = at_path("slsa.json");
        CHECK(at_open(&h, "slsa", NULL) == TEMPER_OK);
        CHECK_INT_EQ(at_attest(&h, img, run), TEMPER_OK);
        struct json_object *st = at_statement_json(&h, file);
        CHECK_STR_EQ(at_envelope_problem(at_statement(&h), st, IMAGE, digest, SLSA_TYPE), NULL);
        struct json_object *bd = temper_json_get(st, "predicate.buildDefinition");
        struct json_object *rd = temper_json_get(st, "predicate.runDetails");
        CHECK_STR_EQ(temper_json_get_str(bd, "buildType"), "urn:temper:buildtype:oci-image:v1");
        CHECK_STR_EQ(temper_json_get_str(bd, "externalParameters.image"), IMAGE);
        CHECK_STR_EQ(temper_json_get_str(bd, "externalParameters.definition.uri"),
                     "/etc/temper/images/base.ini");
        CHECK_STR_EQ(temper_json_get_str(bd, "externalParameters.definition.digest.sha256"),
                     "1b4f0e9851971998e732078544c96b36c3d01cedf7caa332359d6f1d83567014");
        CHECK_STR_EQ(temper_json_get_str(bd, "externalParameters.pipeline.digest.sha256"),
                     "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752");
        CHECK_STR_EQ(temper_json_get_str(bd, "internalParameters.variant"), "runtime");
        CHECK_STR_EQ(temper_json_get_str(bd, "internalParameters.platforms.0"), "linux/amd64");
        struct json_object *deps = temper_json_get(bd, "resolvedDependencies");
        CHECK_INT_EQ(alen(deps), 5);
        CHECK_STR_EQ(temper_json_get_str(deps, "0.name"), "base-image");
        CHECK_STR_EQ(temper_json_get_str(deps, "0.uri"),
                     "registry.example/base/debian:12@sha256:" BASE_HEX);
        CHECK_STR_EQ(temper_json_get_str(deps, "0.digest.sha256"), BASE_HEX);
        struct json_object *libc = dep_named(deps, "pkg:deb/debian/libc6@");
        CHECK_STR_CONTAINS(temper_json_get_str(libc, "uri"), "/pool/main/g/glibc/libc6_");
        CHECK_STR_EQ(temper_json_get_str(libc, "digest.sha256"),
                     "2222222222222222222222222222222222222222222222222222222222222222");
        struct json_object *tarball = dep_named(deps, "pkg:generic/python-3.11.9.tar.xz@");
        CHECK_STR_EQ(temper_json_get_str(tarball, "uri"),
                     "https://www.python.org/ftp/python/3.11.9/Python-3.11.9.tar.xz");
        struct json_object *tz = dep_named(deps, "pkg:deb/debian/tzdata@");
        CHECK_STR_EQ(temper_json_get_str(tz, "uri"), temper_json_get_str(tz, "name"));
        CHECK(temper_json_get(tz, "digest") == NULL);
        CHECK_STR_EQ(temper_json_get_str(rd, "builder.id"), "https://builder-1.example.org/temper");
        CHECK_STR_EQ(temper_json_get_str(rd, "builder.version.temper"), PACKAGE_VERSION);
        CHECK_STR_EQ(temper_json_get_str(rd, "metadata.invocationId"),
                     "0f8e4c52-5b0a-4c1e-9d1e-3a6f3f1c2b7d");
        CHECK_STR_EQ(temper_json_get_str(rd, "metadata.startedOn"), "2024-05-01T12:00:00Z");
        CHECK_STR_EQ(temper_json_get_str(rd, "metadata.finishedOn"), "2024-05-01T12:03:20Z");
        CHECK_INT_EQ(shape_matches_samples(file), 0);
        json_object_put(st);
        ph_close(&h);
        free(file);
    }
}

static void test_claims_ignored(struct json_object *pk, const struct temper_artifact *run,
                                const char *digest)
{
    TEST("slsa: what the image artifact says about the build is ignored") {
        struct temper_artifact *a = at_image_json(IMAGE, digest, pk);
        struct temper_artifact *b = at_image_json(IMAGE, digest, pk);
        static const char *const claims[][2] = {
            { TEMPER_RUN_BUILDER_ID, "https://evil.example/builder" },
            { TEMPER_RUN_INVOCATION_ID, "forged" },
            { TEMPER_RUN_STARTED, "2000-01-01T00:00:00Z" },
            { TEMPER_RUN_DEFINITION_DIGEST, "sha256:" BASE_HEX },
            { "x-builder-externalParameters", "{}" },
        };
        for (size_t i = 0; b && i < sizeof claims / sizeof claims[0]; i++) {
            CHECK(temper_artifact_set(b, claims[i][0], claims[i][1]) == TEMPER_OK);
        }
        char *ta = NULL, *tb = NULL;
        struct json_object *ja = at_attest_once("slsa", NULL, a, run, "claims-a.json", &ta);
        struct json_object *jb = at_attest_once("slsa", NULL, b, run, "claims-b.json", &tb);
        CHECK(ta && tb && strcmp(ta, tb) == 0);
        CHECK(tb && !strstr(tb, "evil.example") && !strstr(tb, "forged"));
        json_object_put(ja);
        json_object_put(jb);
        free(ta);
        free(tb);
        temper_artifact_free(a);
        temper_artifact_free(b);
    }
}

/* The run record without `drop` and with `set` = value (NULL: unchanged). */
static struct temper_artifact *run_variant(const char *drop, const char *set, const char *value)
{
    struct temper_artifact *r = with_base(at_run_record(IMAGE));
    if (r && drop && temper_artifact_set(r, drop, NULL) != TEMPER_OK) {
        temper_artifact_free(r);
        r = NULL;
    }
    if (r && set && temper_artifact_set(r, set, value) != TEMPER_OK) {
        temper_artifact_free(r);
        r = NULL;
    }
    return r;
}

static void expect_fail(const struct temper_artifact *img, struct temper_artifact *run, int rc,
                        const char *want)
{
    struct ph h;
    CHECK(at_open(&h, "slsa", NULL) == TEMPER_OK);
    CHECK_INT_EQ(at_attest(&h, img, run), rc);
    CHECK_STR_CONTAINS(temper_stage_error(h.st), want);
    ph_close(&h);
    temper_artifact_free(run);
}

static void test_run_record(const struct temper_artifact *img)
{
    TEST("slsa: a builder id that is not a URI becomes a URN") {
        struct temper_artifact *r = run_variant(NULL, TEMPER_RUN_BUILDER_ID, "builder 1.example");
        struct json_object *j = at_attest_once("slsa", NULL, img, r, "urn.json", NULL);
        CHECK_STR_EQ(temper_json_get_str(j, "predicate.runDetails.builder.id"),
                     "urn:temper:builder:builder%201.example");
        json_object_put(j);
        temper_artifact_free(r);
    }
    TEST("slsa: optional run record fields") {
        struct temper_artifact *r = run_variant(TEMPER_RUN_FINISHED, NULL, NULL);
        CHECK(r && temper_artifact_set(r, TEMPER_RUN_DEFINITION_DIGEST, NULL) == TEMPER_OK);
        CHECK(r && temper_artifact_set(r, TEMPER_RUN_DEFINITION_URI, NULL) == TEMPER_OK);
        CHECK(ph_log_capture() == TEMPER_OK);
        struct json_object *j = at_attest_once("slsa", NULL, img, r, "optional.json", NULL);
        char *log = ph_log_text();
        ph_log_release();
        CHECK(j != NULL);
        CHECK(temper_json_get(j, "predicate.runDetails.metadata.finishedOn") == NULL);
        CHECK(temper_json_get(j, "predicate.buildDefinition.externalParameters.definition") ==
              NULL);
        CHECK_STR_CONTAINS(log, "run record has no definition_digest");
        free(log);
        json_object_put(j);
        temper_artifact_free(r);
    }
    TEST("slsa: refusals") {
        expect_fail(img, run_variant(TEMPER_RUN_BUILDER_ID, NULL, NULL), TEMPER_EINVAL,
                    "run record has no builder_id");
        expect_fail(img, run_variant(TEMPER_RUN_INVOCATION_ID, NULL, NULL), TEMPER_EINVAL,
                    "run record has no invocation_id");
        expect_fail(img, run_variant(TEMPER_RUN_STARTED, NULL, NULL), TEMPER_EINVAL,
                    "run record has no started_on");
        expect_fail(img, run_variant(NULL, TEMPER_RUN_STARTED, "yesterday"), TEMPER_EFORMAT,
                    "started_on is not an RFC 3339 UTC time");
        expect_fail(img, run_variant(NULL, TEMPER_RUN_DEFINITION_DIGEST, "md5:abc"),
                    TEMPER_EFORMAT, "definition_digest is not sha256");
        expect_fail(img, run_variant(NULL, TEMPER_RUN_BASE_DIGEST, "sha256:XYZ"), TEMPER_EFORMAT,
                    "base_digest is not sha256");
        expect_fail(img, run_variant(NULL, TEMPER_RUN_BUILDER_ID, "a\tb"), TEMPER_EFORMAT,
                    "builder_id is empty or not text");
    }
}

/* builder_source's build inputs (TEMPER_ATTR_BUILD_INPUTS) become resolved
 * dependencies after the packages; malformed ones fail the stage. */
static void test_build_inputs(struct json_object *pk, const struct temper_artifact *run,
                              const char *digest)
{
    static const char inputs[] =
        "[{\"name\":\"source\",\"uri\":\"https://example.org/hello-1.0.tar.gz\","
        "\"digest\":{\"sha256\":\"" BASE_HEX "\"}},"
        "{\"name\":\"patch:fix.patch\",\"uri\":\"file:///etc/temper/fix.patch\","
        "\"digest\":{\"sha256\":\"" BASE_HEX "\"}}]";
    TEST("slsa: build inputs of a source build are resolved dependencies") {
        struct temper_artifact *a = at_image_json(IMAGE, digest, pk);
        CHECK(a && temper_artifact_set(a, TEMPER_ATTR_BUILD_INPUTS, inputs) == TEMPER_OK);
        struct json_object *j = at_attest_once("slsa", NULL, a, run, "inputs.json", NULL);
        struct json_object *deps = temper_json_get(j, "predicate.buildDefinition."
                                                      "resolvedDependencies");
        CHECK_INT_EQ(alen(deps), 7);
        struct json_object *src = dep_named(deps, "source");
        CHECK_STR_EQ(temper_json_get_str(src, "uri"), "https://example.org/hello-1.0.tar.gz");
        CHECK_STR_EQ(temper_json_get_str(src, "digest.sha256"), BASE_HEX);
        CHECK(dep_named(deps, "patch:fix.patch") != NULL);
        json_object_put(j);
        static const char *const bad[] = {
            "{}", "[1]", "[{\"name\":\"x\",\"uri\":\"y\"}]",
            "[{\"name\":\"x\",\"uri\":\"y\",\"digest\":{\"sha256\":\"ABC\"}}]", "[",
        };
        for (size_t i = 0; a && i < sizeof bad / sizeof bad[0]; i++) {
            struct ph h;
            CHECK(temper_artifact_set(a, TEMPER_ATTR_BUILD_INPUTS, bad[i]) == TEMPER_OK);
            CHECK(at_open(&h, "slsa", NULL) == TEMPER_OK);
            CHECK_INT_EQ(at_attest(&h, a, run), TEMPER_EFORMAT);
            ph_close(&h);
        }
        temper_artifact_free(a);
    }
}

static void test_real(const struct temper_artifact *run)
{
    bool skip = false;
    struct json_object *pk = at_real_packages(&skip);
    if (skip) {
        printf("# no dpkg database: real package list not tested\n");
        return;
    }
    TEST("slsa: 30 real packages, every one a resolved dependency") {
        char *digest = at_digest("real image");
        struct temper_artifact *img = at_image_json(IMAGE, digest, pk);
        char *t1 = NULL, *t2 = NULL;
        struct json_object *j = at_attest_once("slsa", NULL, img, run, "real.json", &t1);
        struct json_object *j2 = at_attest_once("slsa", NULL, img, run, "real2.json", &t2);
        struct json_object *deps = temper_json_get(j, "predicate.buildDefinition."
                                                      "resolvedDependencies");
        CHECK_INT_EQ(alen(pk), 30);
        CHECK_INT_EQ(alen(deps), alen(pk) + 1);
        size_t good = 0;
        for (size_t i = 0; i < alen(pk); i++) {
            struct json_object *p = json_object_array_get_idx(pk, i);
            const char *url = temper_json_get_str(p, "url");
            const char *sha = temper_json_get_str(p, "sha256");
            for (size_t k = 1; url && sha && k < alen(deps); k++) {
                struct json_object *d = json_object_array_get_idx(deps, k);
                good += strcmp(temper_json_get_str(d, "uri"), url) == 0 &&
                        strcmp(temper_json_get_str(d, "digest.sha256"), sha) == 0;
            }
            good += !(url && sha);
        }
        CHECK_INT_EQ(good, alen(pk));
        CHECK(t1 && t2 && strcmp(t1, t2) == 0);
        char *file = at_path("real.json");
        CHECK_INT_EQ(shape_matches_samples(file), 0);
        free(file);
        json_object_put(j);
        json_object_put(j2);
        temper_artifact_free(img);
        free(digest);
        free(t1);
        free(t2);
    }
    json_object_put(pk);
}

int main(void)
{
    struct json_object *pk = NULL;
    int prc = temper_json_parse(NULL, "packages", packages, strlen(packages), 0, 0, &pk);
    char *digest = at_digest("hardened/python image");
    struct temper_artifact *img = at_image_json(IMAGE, digest, pk);
    struct temper_artifact *run = with_base(at_run_record(IMAGE));
    TEST("setup") {
        CHECK(prc == TEMPER_OK && img && run);
    }
    if (img && run) {
        test_provenance(img, run, digest);
        test_build_inputs(pk, run, digest);
        test_claims_ignored(pk, run, digest);
        test_run_record(img);
        test_real(run);
    }
    temper_artifact_free(img);
    temper_artifact_free(run);
    json_object_put(pk);
    free(digest);
    at_cleanup();
    return tap_done();
}

/* Unit tests: OCI model and deterministic JSON (sdk/oci_model.c,
 * sdk/oci_json_*.c). */
#include "oci_test_util.h"
#include "../lib/tap.h"

#define MUST(x) CHECK_INT_EQ((x), TEMPER_OK)

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static void set_desc(struct temper_oci_descriptor *d, const char *mt, const char *dg,
                     long long size)
{
    d->media_type = strdup(mt);
    snprintf(d->digest, sizeof d->digest, "%s", dg);
    d->size = size;
}

static void small_manifest(struct temper_oci_manifest *m)
{
    memset(m, 0, sizeof *m);
    set_desc(&m->config, TEMPER_OCI_MT_CONFIG, DA, 7);
    m->layers = calloc(1, sizeof *m->layers);
    m->n_layers = 1;
    set_desc(&m->layers[0], TEMPER_OCI_MT_LAYER_GZIP, DB, 32);
    MUST(temper_oci_map_set(&m->layers[0].annotations, TEMPER_OCI_ANN_TITLE, "x"));
    MUST(temper_oci_map_set(&m->layers[0].annotations, "a", "1"));
    MUST(temper_oci_map_set(&m->annotations, TEMPER_OCI_ANN_VERSION, "1.0"));
    MUST(temper_oci_map_set(&m->annotations, TEMPER_OCI_ANN_CREATED, "1970-01-01T00:00:00Z"));
}

static const char small_manifest_json[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" DA
    "\",\"size\":7},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
    "\"digest\":\"" DB "\",\"size\":32,\"annotations\":{\"a\":\"1\","
    "\"org.opencontainers.image.title\":\"x\"}}],\"annotations\":{"
    "\"org.opencontainers.image.created\":\"1970-01-01T00:00:00Z\","
    "\"org.opencontainers.image.version\":\"1.0\"}}";

static void test_manifest(void)
{
    TEST("manifest: exact deterministic bytes and round trip")
    {
        struct temper_oci_manifest m, back = { 0 };
        small_manifest(&m);
        m.subject = calloc(1, sizeof *m.subject);
        char *j1 = NULL, *j2 = NULL;
        size_t l1 = 0, l2 = 0;
        struct temper_oci_descriptor *subj = m.subject;
        m.subject = NULL;
        CHECK_INT_EQ(temper_oci_manifest_json(NULL, &m, &j1, &l1), TEMPER_OK);
        CHECK_STR_EQ(j1, small_manifest_json);
        CHECK_INT_EQ(l1, strlen(small_manifest_json));
        free(j1);
        /* with a subject, urls and an artifact type, through parse and back */
        m.subject = subj;
        set_desc(m.subject, TEMPER_OCI_MT_MANIFEST, DC, 99);
        MUST(temper_oci_list_push(&m.layers[0].urls, "https://example.com/l"));
        m.layers[0].data = strdup("e30=");
        m.artifact_type = strdup("application/vnd.example+type");
        CHECK_INT_EQ(temper_oci_manifest_json(NULL, &m, &j1, &l1), TEMPER_OK);
        CHECK_INT_EQ(temper_oci_manifest_parse(NULL, "m", j1, l1, &back), TEMPER_OK);
        CHECK_INT_EQ(back.n_layers, 1);
        CHECK_STR_EQ(back.layers[0].urls.v[0], "https://example.com/l");
        CHECK_STR_EQ(back.layers[0].data, "e30=");
        CHECK(back.subject && strcmp(back.subject->digest, DC) == 0);
        CHECK_STR_EQ(back.artifact_type, "application/vnd.example+type");
        CHECK_INT_EQ(temper_oci_manifest_json(NULL, &back, &j2, &l2), TEMPER_OK);
        CHECK_STR_EQ(j2, j1);
        CHECK_STR_CONTAINS(j1, "\"size\":32,\"urls\":[\"https://example.com/l\"],"
                               "\"annotations\":{\"a\"");
        CHECK_STR_CONTAINS(j1, "],\"subject\":{");
        free(j1);
        free(j2);
        temper_oci_manifest_cleanup(&m);
        temper_oci_manifest_cleanup(&back);
        CHECK(m.layers == NULL && m.n_layers == 0);
    }
}

static void test_index(void)
{
    TEST("index: platforms round trip, key order")
    {
        struct temper_oci_index x = { 0 }, back = { 0 };
        struct temper_oci_descriptor d = { 0 };
        set_desc(&d, TEMPER_OCI_MT_MANIFEST, DA, 500);
        d.platform = calloc(1, sizeof *d.platform);
        d.platform->architecture = strdup("arm64");
        d.platform->os = strdup("linux");
        d.platform->variant = strdup("v8");
        d.platform->os_version = strdup("6.1");
        MUST(temper_oci_list_push(&d.platform->os_features, "f1"));
        CHECK_INT_EQ(temper_oci_index_add(&x, &d), TEMPER_OK);
        temper_oci_descriptor_cleanup(&d);
        set_desc(&d, TEMPER_OCI_MT_MANIFEST, DB, 501);
        d.platform = calloc(1, sizeof *d.platform);
        d.platform->architecture = strdup("amd64");
        d.platform->os = strdup("linux");
        CHECK_INT_EQ(temper_oci_index_add(&x, &d), TEMPER_OK);
        temper_oci_descriptor_cleanup(&d);
        MUST(temper_oci_map_set(&x.annotations, TEMPER_OCI_ANN_REF_NAME, "1.0"));
        char *j1 = NULL, *j2 = NULL;
        size_t l1 = 0, l2 = 0;
        CHECK_INT_EQ(temper_oci_index_json(NULL, &x, &j1, &l1), TEMPER_OK);
        CHECK_STR_CONTAINS(j1, "{\"schemaVersion\":2,\"mediaType\":"
                               "\"application/vnd.oci.image.index.v1+json\",\"manifests\":[");
        CHECK_STR_CONTAINS(j1, "\"size\":500,\"platform\":{\"architecture\":\"arm64\","
                               "\"os\":\"linux\",\"os.version\":\"6.1\",\"os.features\":"
                               "[\"f1\"],\"variant\":\"v8\"}}");
        CHECK_INT_EQ(temper_oci_index_parse(NULL, "x", j1, l1, &back), TEMPER_OK);
        CHECK_INT_EQ(back.n_manifests, 2);
        CHECK_STR_EQ(back.manifests[0].platform->variant, "v8");
        CHECK_STR_EQ(back.manifests[1].platform->architecture, "amd64");
        CHECK(back.manifests[1].platform->variant == NULL);
        CHECK_INT_EQ(temper_oci_index_json(NULL, &back, &j2, &l2), TEMPER_OK);
        CHECK_STR_EQ(j2, j1);
        free(j1);
        free(j2);
        temper_oci_index_cleanup(&x);
        temper_oci_index_cleanup(&back);
    }
}

static void full_config(struct temper_oci_config *c)
{
    memset(c, 0, sizeof *c);
    c->created = strdup("2024-01-02T03:04:05Z");
    c->author = strdup("temper");
    c->architecture = strdup("amd64");
    c->os = strdup("linux");
    c->user = strdup("65532:65532");
    MUST(temper_oci_list_push(&c->exposed_ports, "8080/tcp"));
    MUST(temper_oci_list_push(&c->exposed_ports, "53/udp"));
    MUST(temper_oci_list_push(&c->exposed_ports, "8080/tcp"));
    MUST(temper_oci_list_push(&c->env, "PATH=/usr/bin:/bin"));
    MUST(temper_oci_list_push(&c->entrypoint, "/usr/bin/python3"));
    MUST(temper_oci_list_push(&c->cmd, "-c"));
    MUST(temper_oci_list_push(&c->cmd, "print(1)"));
    MUST(temper_oci_list_push(&c->volumes, "/data"));
    c->working_dir = strdup("/app");
    MUST(temper_oci_map_set(&c->labels, "z", "last"));
    MUST(temper_oci_map_set(&c->labels, "b", "first"));
    c->stop_signal = strdup("SIGTERM");
    MUST(temper_oci_list_push(&c->diff_ids, DA));
    MUST(temper_oci_list_push(&c->diff_ids, DB));
    c->history = calloc(2, sizeof *c->history);
    c->n_history = 2;
    c->history[0].created = strdup("2024-01-02T03:04:05Z");
    c->history[0].created_by = strdup("temper builder");
    c->history[1].comment = strdup("metadata");
    c->history[1].empty_layer = true;
}

static void test_config(void)
{
    TEST("config: all fields, key order, sets sorted, round trip")
    {
        struct temper_oci_config c, back = { 0 };
        full_config(&c);
        char *j1 = NULL, *j2 = NULL;
        size_t l1 = 0, l2 = 0;
        CHECK_INT_EQ(temper_oci_config_json(NULL, &c, &j1, &l1), TEMPER_OK);
        CHECK_STR_EQ(j1,
            "{\"created\":\"2024-01-02T03:04:05Z\",\"author\":\"temper\","
            "\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"User\":\"65532:65532\","
            "\"ExposedPorts\":{\"53/udp\":{},\"8080/tcp\":{}},\"Env\":[\"PATH=/usr/bin:/bin\"],"
            "\"Entrypoint\":[\"/usr/bin/python3\"],\"Cmd\":[\"-c\",\"print(1)\"],"
            "\"Volumes\":{\"/data\":{}},\"WorkingDir\":\"/app\","
            "\"Labels\":{\"b\":\"first\",\"z\":\"last\"},\"StopSignal\":\"SIGTERM\"},"
            "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DA "\",\"" DB "\"]},"
            "\"history\":[{\"created\":\"2024-01-02T03:04:05Z\",\"created_by\":"
            "\"temper builder\"},{\"comment\":\"metadata\",\"empty_layer\":true}]}");
        CHECK_INT_EQ(temper_oci_config_parse(NULL, "c", j1, l1, &back), TEMPER_OK);
        CHECK_INT_EQ(back.exposed_ports.n, 2);
        CHECK_INT_EQ(back.diff_ids.n, 2);
        CHECK_STR_EQ(temper_oci_map_get(&back.labels, "z"), "last");
        CHECK_INT_EQ(back.n_history, 2);
        CHECK(back.history[1].empty_layer);
        CHECK_INT_EQ(temper_oci_config_json(NULL, &back, &j2, &l2), TEMPER_OK);
        CHECK_STR_EQ(j2, j1);
        free(j1);
        free(j2);
        temper_oci_config_cleanup(&c);
        temper_oci_config_cleanup(&back);
    }
    TEST("config: minimal has an empty config object and empty diff_ids")
    {
        struct temper_oci_config c = { 0 };
        c.architecture = strdup("arm64");
        c.os = strdup("linux");
        c.variant = strdup("v8");
        char *j = NULL;
        CHECK_INT_EQ(temper_oci_config_json(NULL, &c, &j, NULL), TEMPER_OK);
        CHECK_STR_EQ(j, "{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\","
                        "\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
        free(j);
        free(c.os);
        c.os = NULL;
        CHECK_INT_EQ(temper_oci_config_json(NULL, &c, &j, NULL), TEMPER_EINVAL);
        CHECK(j == NULL);
        temper_oci_config_cleanup(&c);
    }
}

static void test_docker_sample(void)
{
    TEST("parse: real Docker v2 manifest (containers/image fixture)")
    {
        char path[4096];
        const char *data = getenv("TEMPER_DATA");
        snprintf(path, sizeof path, "%s/samples/cosign-containers-image-fixture/manifest.json",
                 data ? data : "tests/data");
        size_t len = 0;
        char *j = tu_read(path, &len);
        CHECK(j != NULL);
        struct temper_oci_manifest m = { 0 };
        CHECK_INT_EQ(temper_oci_manifest_parse(NULL, path, j ? j : "", len, &m), TEMPER_OK);
        CHECK_STR_EQ(m.media_type, TEMPER_DOCKER_MT_MANIFEST);
        CHECK_STR_EQ(m.config.media_type, TEMPER_DOCKER_MT_CONFIG);
        CHECK_STR_EQ(m.config.digest, "sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a4436"
                                      "4bcbecf51e66dd4");
        CHECK_INT_EQ(m.config.size, 1512);
        CHECK_INT_EQ(m.n_layers, 1);
        CHECK_STR_EQ(m.n_layers ? m.layers[0].media_type : NULL, TEMPER_DOCKER_MT_LAYER_GZIP);
        CHECK_INT_EQ(m.n_layers ? m.layers[0].size : 0, 2896510);
        char dg[TEMPER_DIGEST_STR_LEN];
        tu_sha256(j ? j : "", len, dg);
        CHECK_STR_EQ(dg, "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00");
        temper_oci_manifest_cleanup(&m);
        free(j);
    }
}

static int parse_m(const char *json)
{
    struct temper_oci_manifest m = { 0 };
    int rc = temper_oci_manifest_parse(NULL, "t", json, strlen(json), &m);
    temper_oci_manifest_cleanup(&m);
    return rc;
}

static int parse_c(const char *json)
{
    struct temper_oci_config c = { 0 };
    int rc = temper_oci_config_parse(NULL, "t", json, strlen(json), &c);
    CHECK(rc == TEMPER_OK || (c.architecture == NULL && c.diff_ids.n == 0));
    temper_oci_config_cleanup(&c);
    return rc;
}

#define CFG_HEAD "{\"mediaType\":\"" TEMPER_OCI_MT_CONFIG "\",\"digest\":\""
#define M1(cfgdigest, size) \
    "{\"schemaVersion\":2,\"config\":" CFG_HEAD cfgdigest "\",\"size\":" size "},\"layers\":[]}"

static void hostile_manifests(void)
{
    TEST("parse: hostile or malformed manifests are refused")
    {
        CHECK_INT_EQ(parse_m(M1(DA, "2")), TEMPER_OK);
        CHECK_INT_EQ(parse_m(M1("sha256:../../../../etc/passwd", "2")), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m(M1("sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                                "AAAAAAAA", "2")), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m(M1("sha512:aaaa", "2")), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m(M1(DA "a", "2")), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m(M1(DA, "-1")), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m(M1(DA, "\"2\"")), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m(M1(DA, "2.5")), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m(M1(DA, "99999999999999999999")), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m("{\"schemaVersion\":1,\"config\":" CFG_HEAD DA "\",\"size\":2},"
                             "\"layers\":[]}"), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m("{\"schemaVersion\":2,\"mediaType\":\"" TEMPER_OCI_MT_INDEX "\","
                             "\"config\":" CFG_HEAD DA "\",\"size\":2},\"layers\":[]}"),
                     TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m("{\"schemaVersion\":2,\"layers\":[]}"), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m(M1(DA, "2") " x"), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m(M1(DA, "2") " \n"), TEMPER_OK);
        CHECK_INT_EQ(parse_m("[1,2]"), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m("{\"schemaVersion\":2,"), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m(""), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m("{\"schemaVersion\":2,\"config\":" CFG_HEAD DA "\",\"size\":2},"
                             "\"layers\":[{\"mediaType\":5,\"digest\":\"" DA "\",\"size\":1}]}"),
                     TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_m("{\"schemaVersion\":2,\"config\":" CFG_HEAD DA "\",\"size\":2},"
                             "\"layers\":[],\"annotations\":{\"a\":1}}"), TEMPER_EFORMAT);
        /* unknown fields and nulls are ignored */
        CHECK_INT_EQ(parse_m("{\"schemaVersion\":2,\"x-unknown\":{\"deep\":[1,2]},"
                             "\"annotations\":null,\"config\":" CFG_HEAD DA "\",\"size\":2},"
                             "\"layers\":[]}"), TEMPER_OK);
    }
}

static void hostile_limits(void)
{
    TEST("parse: size and depth limits")
    {
        size_t n = TEMPER_OCI_MAX_JSON + 10;
        char *big = malloc(n + 1);
        memset(big, ' ', n);
        big[0] = '{';
        big[n - 1] = '}';
        big[n] = '\0';
        struct temper_oci_manifest m = { 0 };
        CHECK_INT_EQ(temper_oci_manifest_parse(NULL, "big", big, n, &m), TEMPER_ELIMIT);
        free(big);
        char deep[400];
        size_t o = 0;
        o += (size_t)snprintf(deep, sizeof deep, "{\"schemaVersion\":2,\"x\":");
        for (int i = 0; i < 100; i++) {
            deep[o++] = '[';
        }
        deep[o] = '\0';
        CHECK_INT_EQ(parse_m(deep), TEMPER_EFORMAT);
    }
}

static void hostile_configs(void)
{
    TEST("parse: configs need architecture, os and rootfs type layers")
    {
        CHECK_INT_EQ(parse_c("{\"architecture\":\"amd64\",\"os\":\"linux\","
                             "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"), TEMPER_OK);
        CHECK_INT_EQ(parse_c("{\"architecture\":\"amd64\",\"os\":\"linux\","
                             "\"rootfs\":{\"type\":\"tarballs\",\"diff_ids\":[]}}"),
                     TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_c("{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"}}"),
                     TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_c("{\"architecture\":\"amd64\",\"os\":\"linux\"}"), TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_c("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":"
                             "{\"type\":\"layers\",\"diff_ids\":[\"sha256:x\"]}}"),
                     TEMPER_EFORMAT);
        CHECK_INT_EQ(parse_c("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":"
                             "{\"Env\":\"A=B\"},\"rootfs\":{\"type\":\"layers\"}}"),
                     TEMPER_EFORMAT);
        /* Docker's extra fields are ignored, null Labels read as absent */
        CHECK_INT_EQ(parse_c("{\"architecture\":\"amd64\",\"os\":\"linux\",\"docker_version\":"
                             "\"20\",\"container_config\":{\"Hostname\":\"x\"},\"config\":"
                             "{\"Labels\":null,\"Hostname\":\"\"},\"rootfs\":{\"type\":"
                             "\"layers\",\"diff_ids\":[]}}"), TEMPER_OK);
    }
}

static void hostile_serialise(void)
{
    TEST("serialise: invalid digests are refused")
    {
        struct temper_oci_manifest m;
        small_manifest(&m);
        snprintf(m.layers[0].digest, sizeof m.layers[0].digest, "sha256:../x");
        char *j = NULL;
        CHECK_INT_EQ(temper_oci_manifest_json(NULL, &m, &j, NULL), TEMPER_EINVAL);
        CHECK(j == NULL);
        temper_oci_manifest_cleanup(&m);
    }
}

static void test_hostile(void)
{
    hostile_manifests();
    hostile_limits();
    hostile_configs();
    hostile_serialise();
}

static void test_helpers(void)
{
    TEST("digest, ref name and time helpers")
    {
        CHECK(temper_oci_digest_valid(DA));
        CHECK(!temper_oci_digest_valid(NULL));
        CHECK(!temper_oci_digest_valid("sha256:"));
        CHECK(!temper_oci_digest_valid("sha256:abc"));
        CHECK(!temper_oci_digest_valid("sha256:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                       "aaaaaaaaaaaaa"));
        CHECK(temper_oci_ref_valid("latest"));
        CHECK(temper_oci_ref_valid("1.2.3"));
        CHECK(temper_oci_ref_valid("registry.example.com/hardened/python:3.11--dev"));
        CHECK(!temper_oci_ref_valid(""));
        CHECK(!temper_oci_ref_valid("a..b"));
        CHECK(!temper_oci_ref_valid("../x"));
        CHECK(!temper_oci_ref_valid("a b"));
        CHECK(!temper_oci_ref_valid("-a"));
        CHECK(!temper_oci_ref_valid("a/"));
        char t[32];
        CHECK_INT_EQ(temper_oci_time_format(0, t), TEMPER_OK);
        CHECK_STR_EQ(t, "1970-01-01T00:00:00Z");
        CHECK_INT_EQ(temper_oci_time_format(1700000000, t), TEMPER_OK);
        CHECK_STR_EQ(t, "2023-11-14T22:13:20Z");
        CHECK_INT_EQ(temper_oci_time_format(-1, t), TEMPER_EINVAL);
    }
    TEST("map: sorted, replace, remove")
    {
        struct temper_oci_map m = { 0 };
        CHECK_INT_EQ(temper_oci_map_set(&m, "b", "2"), TEMPER_OK);
        CHECK_INT_EQ(temper_oci_map_set(&m, "a", "1"), TEMPER_OK);
        CHECK_INT_EQ(temper_oci_map_set(&m, "c", "3"), TEMPER_OK);
        CHECK_INT_EQ(temper_oci_map_set(&m, "b", "two"), TEMPER_OK);
        CHECK_INT_EQ(m.n, 3);
        CHECK_STR_EQ(m.v[0].key, "a");
        CHECK_STR_EQ(m.v[2].key, "c");
        CHECK_STR_EQ(temper_oci_map_get(&m, "b"), "two");
        CHECK_INT_EQ(temper_oci_map_set(&m, "a", NULL), TEMPER_OK);
        CHECK(temper_oci_map_get(&m, "a") == NULL);
        CHECK_INT_EQ(m.n, 2);
        temper_oci_map_cleanup(&m);
        CHECK_INT_EQ(m.n, 0);
    }
}

int main(void)
{
    test_manifest();
    test_index();
    test_config();
    test_docker_sample();
    test_hostile();
    test_helpers();
    return tap_done();
}

/* The plugin template (sdk/template/template_plugin.c) really works: its
 * option table passes the loader's checks and the core's option code fills
 * and rejects its conf block as documented, open() refuses inconsistent
 * settings, and run() finds, misses and mismatches labels in OCI layouts
 * written here byte by byte (single images and multi-platform indexes), and
 * turns hostile layouts (path-walking or wrong digests, broken JSON) into
 * errors instead of crashes.  The template is compiled into this program, so
 * the test sees its descriptor directly; that it builds and loads as a module
 * out of tree is tests/install/test_out_of_tree.sh's job. */
#include "config.h"
#include "sdk/template/template_plugin.c"

#include "core/loader.h"
#include "sdk/host.h"
#include "tests/lib/plugin_harness.h"
#include "tests/lib/tap.h"

#include <ftw.h>
#include <gnutls/crypto.h>
#include <limits.h>
#include <sys/stat.h>

#define P (&suite_example_LTX_temper_plugin)
/* A NULL-terminated list of "key=value" settings. */
#define KV(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define SRC_KEY "label=org.opencontainers.image.source"
#define SRC KV(SRC_KEY)
#define LABEL_K KV("label=k")
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_INDEX "application/vnd.oci.image.index.v1+json"

static char root[] = "/tmp/temper-template-XXXXXX";

static int write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        return -1;
    }
    size_t n = strlen(data);
    int ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Store `json` as a blob of `layout`; digest gets "sha256:<hex>". */
static int put_blob(const char *layout, const char *json, char digest[80])
{
    unsigned char md[32];
    char path[PATH_MAX + 100];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, json, strlen(json), md) < 0) {
        return -1;
    }
    memcpy(digest, "sha256:", 7);
    for (int i = 0; i < 32; i++) {
        snprintf(digest + 7 + 2 * i, 3, "%02x", md[i]);
    }
    snprintf(path, sizeof path, "%s/blobs/sha256/%s", layout, digest + 7);
    return write_file(path, json);
}

/* A layout `name` under root (its path goes to dir) holding one image whose
 * config carries `labels_json` (no config.Labels when NULL); index.json lists
 * the manifest, or with `nested` an image index that lists it.  The manifest
 * digest goes to mdigest.  0 or -1. */
static int make_layout(const char *name, const char *labels_json, int nested,
                       char dir[PATH_MAX], char mdigest[80])
{
    char path[PATH_MAX + 32], cdigest[80], idigest[80], json[4096];
    int rc = 0;

    snprintf(dir, PATH_MAX, "%s/%s", root, name);
    snprintf(path, sizeof path, "%s/blobs", dir);
    rc |= mkdir(dir, 0700) | mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/blobs/sha256", dir);
    rc |= mkdir(path, 0700);
    snprintf(json, sizeof json,
             "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"User\":\"65532\"%s%s},"
             "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
             labels_json ? ",\"Labels\":" : "", labels_json ? labels_json : "");
    size_t csize = strlen(json);
    rc |= put_blob(dir, json, cdigest);
    snprintf(json, sizeof json,
             "{\"schemaVersion\":2,\"mediaType\":\"" MT_MANIFEST "\",\"config\":{\"mediaType\":"
             "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
             "\"layers\":[]}",
             cdigest, csize);
    size_t msize = strlen(json);
    rc |= put_blob(dir, json, mdigest);
    snprintf(json, sizeof json,
             "{\"schemaVersion\":2,\"mediaType\":\"" MT_INDEX "\",\"manifests\":[{\"mediaType\":"
             "\"" MT_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,\"platform\":"
             "{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}",
             mdigest, msize);
    if (nested) {
        size_t isize = strlen(json);
        rc |= put_blob(dir, json, idigest);
        snprintf(json, sizeof json,
                 "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_INDEX "\","
                 "\"digest\":\"%s\",\"size\":%zu}]}",
                 idigest, isize);
    }
    snprintf(path, sizeof path, "%s/index.json", dir);
    rc |= write_file(path, json);
    snprintf(path, sizeof path, "%s/oci-layout", dir);
    rc |= write_file(path, "{\"imageLayoutVersion\":\"1.0.0\"}");
    return rc ? -1 : 0;
}

struct outcome {
    int open_rc;
    int rc;
    enum temper_verdict verdict;
    size_t n_cases;
    int status;        /* of the first case, -1 if none */
    char message[512]; /* of the first case, or the stage error */
};

/* Fill the conf block from "key=value" settings with the core's option code,
 * then open + run + close the template on `layout` like the core would. */
static struct outcome run_example(const char *layout, const char *const *kvs,
                                  const char *digest_attr)
{
    struct outcome o = { .status = -1, .verdict = TEMPER_VERDICT_NONE };
    void *conf = NULL;
    char *err = NULL;
    struct temper_stage *st = temper_stage_new(P, "labels");
    struct temper_artifact *img = temper_artifact_new(TEMPER_ART_IMAGE, "test-image");
    void *state = NULL;
    const struct temper_suite_ops *ops = P->ops;

    if (!st || !img || (layout && temper_artifact_set_path(img, layout) != TEMPER_OK) ||
        (digest_attr && temper_artifact_set(img, TEMPER_ATTR_DIGEST, digest_attr) != TEMPER_OK)) {
        o.open_rc = TEMPER_ENOMEM;
        goto out;
    }
    o.open_rc = ph_fill(P->options, P->conf_size, kvs, &conf, &err);
    if (o.open_rc != TEMPER_OK) {
        snprintf(o.message, sizeof o.message, "%s", err ? err : "");
        goto out;
    }
    o.open_rc = P->open(st, conf, &state);
    if (o.open_rc == TEMPER_OK) {
        o.rc = ops->run(state, st, img, NULL, 0, &o.verdict);
    }
    o.n_cases = temper_stage_case_count(st);
    if (o.n_cases > 0) {
        const struct temper_case *c = temper_stage_case_at(st, 0);
        o.status = (int)c->status;
        snprintf(o.message, sizeof o.message, "%s", c->message ? c->message : "");
    } else if (temper_stage_error(st)) {
        snprintf(o.message, sizeof o.message, "%s", temper_stage_error(st));
    }
    P->close(state);
out:
    ph_free_conf(P->options, conf);
    free(err);
    temper_artifact_free(img);
    temper_stage_free(st);
    return o;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void test_descriptor(void)
{
    TEST("descriptor") {
        CHECK_INT_EQ(P->abi_major, TEMPER_ABI_MAJOR);
        CHECK_INT_EQ(P->kind, TEMPER_KIND_SUITE);
        CHECK_STR_EQ(P->name, "example");
        CHECK(P->desc_size >= TEMPER_PLUGIN_DESC_SIZE_1_0);
        CHECK(P->ops != NULL && P->ops_size == sizeof(struct temper_suite_ops));
        CHECK_STR_EQ(P->options[0].key, "label");
        CHECK(P->options[0].flags & TEMPER_OPT_REQUIRED);
        P->close(NULL); /* close(NULL) is a no-op */
    }
}

static void test_options(void)
{
    void *conf = NULL;
    char *err = NULL;

    TEST("the loader accepts the option table") {
        CHECK_INT_EQ(temper_options_check_table(P->options, P->conf_size, &err), TEMPER_OK);
        free(err);
        err = NULL;
    }
    TEST("defaults come from the table") {
        CHECK_INT_EQ(ph_fill(P->options, P->conf_size, KV("label=x"), &conf, &err), TEMPER_OK);
        const struct example_conf *c = conf;
        CHECK(c && c->match == EXAMPLE_MATCH_EXACT && !c->value);
        CHECK_STR_EQ(c ? c->label : NULL, "x");
        ph_free_conf(P->options, conf);
        conf = NULL;
    }
    const char *const *bad[] = {
        KV("value=v"),                  /* label is required */
        KV("label=x", "match=fuzzy"),   /* not one of the choices */
        KV("label=x", "colour=red"),    /* unknown key */
    };
    TEST("the core rejects bad settings before the plugin runs") {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            CHECK(ph_fill(P->options, P->conf_size, bad[i], &conf, &err) != TEMPER_OK);
            CHECK(conf == NULL && err != NULL);
            free(err);
            err = NULL;
        }
    }
    struct outcome o;
    TEST("open refuses an empty label, and prefix matching without a value") {
        o = run_example(root, KV("label="), NULL);
        CHECK_INT_EQ(o.open_rc, TEMPER_EINVAL);
        CHECK_STR_CONTAINS(o.message, "label");
        o = run_example(root, KV("label=x", "match=prefix"), NULL);
        CHECK_INT_EQ(o.open_rc, TEMPER_EINVAL);
        CHECK_STR_CONTAINS(o.message, "prefix");
    }
}

static void test_verdicts(void)
{
    char md[80], good[PATH_MAX], bare[PATH_MAX], multi[PATH_MAX];
    int made = make_layout("good", "{\"org.opencontainers.image.source\":"
                                   "\"https://git.example.com/img\"}",
                           0, good, md);
    struct outcome o;

    TEST("label present: pass") {
        CHECK_INT_EQ(made, 0);
        o = run_example(good, SRC, NULL);
        CHECK_INT_EQ(o.rc, TEMPER_OK);
        CHECK_INT_EQ(o.verdict, TEMPER_VERDICT_PASS);
        CHECK_INT_EQ(o.n_cases, 1);
        CHECK_INT_EQ(o.status, TEMPER_CASE_PASSED);
    }
    TEST("label with the required value, exact or prefix: pass") {
        o = run_example(good, KV(SRC_KEY, "value=https://git.example.com/img"), NULL);
        CHECK_INT_EQ(o.verdict, TEMPER_VERDICT_PASS);
        o = run_example(good, KV(SRC_KEY, "value=https://git.example.com/", "match=prefix"),
                        NULL);
        CHECK_INT_EQ(o.verdict, TEMPER_VERDICT_PASS);
    }
    TEST("label with another value: block, not an error") {
        o = run_example(good, KV(SRC_KEY, "value=https://git.example.com/"), NULL);
        CHECK_INT_EQ(o.rc, TEMPER_OK);
        CHECK_INT_EQ(o.verdict, TEMPER_VERDICT_BLOCK);
        CHECK_INT_EQ(o.status, TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(o.message, "expected \"https://git.example.com/\"");
        o = run_example(good, KV(SRC_KEY, "value=https://other/", "match=prefix"), NULL);
        CHECK_INT_EQ(o.verdict, TEMPER_VERDICT_BLOCK);
        CHECK_STR_CONTAINS(o.message, "a value starting with \"https://other/\"");
    }
    TEST("label missing, image without any labels: block") {
        CHECK_INT_EQ(make_layout("bare", NULL, 0, bare, md), 0);
        o = run_example(bare, SRC, NULL);
        CHECK_INT_EQ(o.rc, TEMPER_OK);
        CHECK_INT_EQ(o.verdict, TEMPER_VERDICT_BLOCK);
        CHECK_STR_CONTAINS(o.message, "org.opencontainers.image.source is missing");
    }
    TEST("a multi-platform index is searched one level down") {
        CHECK_INT_EQ(make_layout("multi", "{\"a\":\"b\"}", 1, multi, md), 0);
        o = run_example(multi, KV("label=a", "value=b"), NULL);
        CHECK_INT_EQ(o.verdict, TEMPER_VERDICT_PASS);
        o = run_example(multi, KV("label=a", "value=b"), md);
        CHECK_INT_EQ(o.verdict, TEMPER_VERDICT_PASS);
    }
    TEST("the artifact's digest attribute selects the manifest") {
        o = run_example(good, SRC, md); /* multi's manifest is not in good */
        CHECK_INT_EQ(o.rc, TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(o.message, md);
    }
}

static void test_hostile(void)
{
    char md[80], path[PATH_MAX + 100], dir[PATH_MAX];
    struct outcome o;
    int made = make_layout("hostile", "{\"k\":\"v\"}", 0, dir, md);
    /* as long as a real digest: 21 "../" and one hex digit */
    const char *walk = "sha256:../../../../../../../../../../../../../../../../../../../../../a";

    TEST("a digest attribute that walks out of blobs/ matches nothing") {
        CHECK_INT_EQ(made, 0);
        o = run_example(dir, LABEL_K, walk);
        CHECK_INT_EQ(o.rc, TEMPER_ENOTFOUND);
    }
    TEST("a blob that does not match its digest is refused") {
        snprintf(path, sizeof path, "%s/blobs/sha256/%s", dir, md + 7);
        FILE *f = fopen(path, "r+");
        CHECK(f != NULL && fputc('[', f) != EOF && fclose(f) == 0);
        o = run_example(dir, LABEL_K, NULL);
        CHECK_INT_EQ(o.rc, TEMPER_ECRYPTO);
        CHECK_STR_CONTAINS(o.message, md + 7);
    }
    const char *bad_index[] = {
        "{\"manifests\": [",
        "[1, 2]",
        "{\"manifests\": [{\"digest\": 7}]}",
        "{\"manifests\": [{\"mediaType\": \"" MT_MANIFEST "\", \"size\": 2, \"digest\": "
        "\"sha256:../../../../../../../../../../../../../../../../../../../../../a\"}]}",
    };
    TEST("an index.json that is not an image index is refused") {
        snprintf(path, sizeof path, "%s/index.json", dir);
        for (size_t i = 0; i < sizeof bad_index / sizeof bad_index[0]; i++) {
            CHECK(write_file(path, bad_index[i]) == 0);
            o = run_example(dir, LABEL_K, NULL);
            CHECK_INT_EQ(o.rc, TEMPER_EFORMAT);
        }
    }
    TEST("deeply nested JSON is refused") {
        char deep[512];
        memset(deep, '[', 200);
        deep[200] = '\0';
        CHECK(write_file(path, deep) == 0);
        o = run_example(dir, LABEL_K, NULL);
        CHECK(o.rc == TEMPER_EFORMAT || o.rc == TEMPER_ELIMIT);
    }
    TEST("a missing layout or path is an error") {
        snprintf(path, sizeof path, "%s/nowhere", root);
        o = run_example(path, LABEL_K, NULL);
        CHECK(o.rc < 0 && o.verdict == TEMPER_VERDICT_NONE);
        CHECK_STR_CONTAINS(o.message, "nowhere");
        o = run_example(NULL, LABEL_K, NULL);
        CHECK_INT_EQ(o.rc, TEMPER_EINVAL);
    }
}

int main(void)
{
    FILE *devnull = fopen("/dev/null", "w");
    temper_log_set_stream(devnull ? devnull : stderr); /* expected errors stay quiet */
    if (!mkdtemp(root)) {
        printf("Bail out! cannot create a temporary directory\n");
        return 1;
    }
    test_descriptor();
    test_options();
    test_verdicts();
    test_hostile();
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    temper_log_set_stream(stderr);
    if (devnull) {
        fclose(devnull);
    }
    return tap_done();
}

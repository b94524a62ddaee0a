/* temper — test driver: one real pipeline run that publishes an image to an
 * OCI layout.  It writes a small real image (one gzip layer, a config) with
 * the SDK, then runs the real engine over the real modules loaded from
 * $TEMPER_PLUGINS: attest_slsa and attest_spdx (in-toto statements),
 * signer_keyfile (a generated ECDSA P-256 key, <key>.pub written) and
 * publish_layout.  Prints the image digest, then one line per published
 * reference.  Exit 0 when the run succeeded.  PUBLISH_TEST_TEXT, when set,
 * is the content of the image's /etc/hello (another image).
 * PUBLISH_ARCHIVE_DIR, when set, adds two publish_archive stages writing
 * DIR/hello-<tag>.oci.tar and DIR/hello-<tag>.docker.tar.
 *
 *   publish_pipeline OUT_LAYOUT KEY WORKDIR [TAG...] */
#include "config.h"
#include "core/loader.h"
#include "core/pipeline.h"
#include <ltdl.h>
#include "tests/lib/plugin_harness.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <temper/oci.h>

#define N_STAGES 6

static int write_image(const char *dir, char digest[TEMPER_DIGEST_STR_LEN])
{
    struct temper_oci_layout *l = NULL;
    struct temper_oci_layer *ly = NULL;
    struct temper_oci_descriptor layer, out;
    struct temper_oci_config cfg;
    char diff_id[TEMPER_DIGEST_STR_LEN];
    memset(&layer, 0, sizeof layer);
    memset(&out, 0, sizeof out);
    memset(&cfg, 0, sizeof cfg);
    struct temper_oci_entry d = { .path = "etc", .type = TEMPER_OCI_ENTRY_DIR, .mode = 0755 };
    struct temper_oci_entry f = { .path = "etc/hello",
                                  .type = TEMPER_OCI_ENTRY_FILE,
                                  .mode = 0644 };
    cfg.architecture = strdup("amd64");
    cfg.os = strdup("linux");
    cfg.user = strdup("65532");
    int rc = temper_oci_layout_create(NULL, dir, &l);
    rc = rc ? rc : temper_oci_layer_new(NULL, l, NULL, &ly);
    rc = rc ? rc : temper_oci_layer_add(ly, &d);
    const char *text = getenv("PUBLISH_TEST_TEXT"); /* another image */
    text = text ? text : "hello\n";
    rc = rc ? rc : temper_oci_layer_add_data(ly, &f, text, strlen(text));
    rc = rc ? rc : temper_oci_layer_finish(ly, &layer, diff_id);
    const char *ids[] = { diff_id };
    rc = rc ? rc : temper_oci_image_write(NULL, l, &cfg, &layer, ids, 1, NULL, "latest", &out);
    if (rc == TEMPER_OK) {
        memcpy(digest, out.digest, sizeof out.digest);
    }
    temper_oci_layer_free(ly);
    temper_oci_descriptor_cleanup(&layer);
    temper_oci_descriptor_cleanup(&out);
    temper_oci_config_cleanup(&cfg);
    temper_oci_layout_free(l);
    return rc;
}

struct stage_def {
    enum temper_kind kind;
    const char *instance, *module;
};

static const struct stage_def stages[N_STAGES] = {
    { TEMPER_KIND_ATTEST, "provenance", "slsa" }, { TEMPER_KIND_ATTEST, "sbom", "spdx" },
    { TEMPER_KIND_SIGNER, "release", "keyfile" }, { TEMPER_KIND_PUBLISH, "local", "layout" },
    { TEMPER_KIND_PUBLISH, "ocitar", "archive" }, { TEMPER_KIND_PUBLISH, "dockertar", "archive" },
};

static int run(struct temper_loader *ld, char **argv, int argc, const char *img_dir,
               const char *digest)
{
    char key_kv[4200], path_kv[4200];
    snprintf(key_kv, sizeof key_kv, "key=%s", argv[2]);
    snprintf(path_kv, sizeof path_kv, "path=%s", argv[1]);
    const char *const none[] = { NULL };
    const char *const key[] = { key_kv, "generate=true", NULL };
    const char *const pub[] = { path_kv, NULL };
    const char *adir = getenv("PUBLISH_ARCHIVE_DIR"); /* also the two archive stages */
    char oci_kv[4200], docker_kv[4200];
    snprintf(oci_kv, sizeof oci_kv, "path=%s/{image}-{tag}.oci.tar", adir ? adir : ".");
    snprintf(docker_kv, sizeof docker_kv, "path=%s/{image}-{tag}.docker.tar", adir ? adir : ".");
    const char *const oci[] = { oci_kv, NULL };
    const char *const docker[] = { docker_kv, "format=docker-archive",
                                   "repository=example.com/hello", NULL };
    const char *const *kvs[N_STAGES] = { none, none, key, pub, oci, docker };
    int n_stages = adir ? N_STAGES : N_STAGES - 2;
    struct temper_stage_spec specs[N_STAGES];
    void *confs[N_STAGES] = { NULL };
    struct temper_pipeline *p = NULL;
    struct temper_run_result res;
    memset(&res, 0, sizeof res);
    char *err = NULL;
    int rc = TEMPER_OK;
    for (int i = 0; rc == TEMPER_OK && i < n_stages; i++) {
        const struct temper_module *m = NULL;
        rc = temper_loader_load(ld, stages[i].kind, stages[i].module, &m, &err);
        rc = rc ? rc : ph_fill(m->desc->options, m->desc->conf_size, kvs[i], &confs[i], &err);
        specs[i] = (struct temper_stage_spec){ stages[i].kind, stages[i].instance, m, confs[i] };
    }
    struct temper_artifact *img = temper_artifact_new(TEMPER_ART_IMAGE, "hello");
    rc = rc ? rc : temper_artifact_set_path(img, img_dir);
    rc = rc ? rc : temper_artifact_set(img, TEMPER_ATTR_DIGEST, digest);
    rc = rc ? rc : temper_artifact_set(img, TEMPER_ATTR_IMAGE, "hello");
    struct temper_image_def def = {
        .size = sizeof def, .name = "hello", .path = "hello.ini", .version = "1.2.3"
    };
    struct temper_job_input in = {
        .def = &def,
        .variant = "runtime",
        .image = img,
        .reference = "example.com/hello",
        .tags = (const char *const *)argv + 4,
        .n_tags = (size_t)(argc - 4),
        .definition_digest =
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        .pipeline_digest =
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        .builder_id = "https://temper.invalid/test",
        .source_date_epoch = 1700000000,
    };
    char work[4200];
    snprintf(work, sizeof work, "%s/work", argv[3]);
    rc = rc ? rc : temper_pipeline_new(specs, (size_t)n_stages, NULL, work, NULL, &p, &err);
    rc = rc ? rc : temper_pipeline_run(p, &in, &res);
    if (rc != TEMPER_OK || res.outcome != TEMPER_RUN_OUTCOME_OK) {
        fprintf(stderr, "publish_pipeline: %s\n", err ? err : res.error ? res.error : "failed");
        rc = rc ? rc : TEMPER_EINTERNAL;
    }
    temper_run_result_cleanup(&res);
    temper_pipeline_free(p);
    for (int i = 0; i < N_STAGES; i++) {
        if (confs[i]) {
            ph_free_conf(specs[i].mod->desc->options, confs[i]);
        }
    }
    temper_artifact_free(img);
    free(err);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fputs("usage: publish_pipeline OUT_LAYOUT KEY WORKDIR [TAG...]\n", stderr);
        return 2;
    }
    LTDL_SET_PRELOADED_SYMBOLS();
    const char *plugins = getenv("TEMPER_PLUGINS");
    const char *dirs[] = { plugins ? plugins : "plugins" };
    struct temper_loader *ld = NULL;
    char *err = NULL, img_dir[4200], digest[TEMPER_DIGEST_STR_LEN];
    snprintf(img_dir, sizeof img_dir, "%s/build", argv[3]);
    if (mkdir(argv[3], 0755) != 0 && errno != EEXIST) {
        perror(argv[3]);
        return 1;
    }
    int rc = temper_loader_new(dirs, 1, &ld, &err);
    rc = rc ? rc : write_image(img_dir, digest);
    if (rc == TEMPER_OK) {
        printf("%s\n", digest);
        rc = run(ld, argv, argc, img_dir, digest);
    } else {
        fprintf(stderr, "publish_pipeline: %s\n", err ? err : temper_rc_str(rc));
    }
    temper_loader_free(ld);
    free(err);
    return rc == TEMPER_OK ? 0 : 1;
}

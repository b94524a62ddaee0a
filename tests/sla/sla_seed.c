/* temper — test helper for tests/sla/test_sla.sh: run one job of a pipeline
 * config through the real engine (core/pipeline*.c) with its configured
 * chain (real attest_openvex, a publish stage), the config's real store, and
 * a prebuilt image artifact whose packages are given on the command line,
 * the way `temper test` hands a prebuilt image to the engine.  The builder
 * stage is what this replaces: building real images for every step of an
 * SLA scenario would take minutes.
 *
 *   sla_seed CONFIG IMAGE SOURCE=VERSION...
 *
 * Each package is a Debian binary package named like its source, of the
 * image's distribution.  TEMPER_NOW pins the clock of the run (and of the
 * stages).  Prints the run's outcome; exit 0 when the run succeeded. */
#include "config.h"
#include "core/pipeline.h"
#include "core/runtime.h"
#include "sdk/host.h"

#include <ltdl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED_MAX_PKGS 64

static struct temper_artifact *make_image(const char *name, const char *dist, char **pkgs,
                                          int n)
{
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_IMAGE, name);
    struct temper_sha256 *h = temper_sha256_new();
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    int rc = a && h ? TEMPER_OK : TEMPER_ENOMEM;
    for (int i = 0; rc == TEMPER_OK && i < n; i++) {
        char *eq = strchr(pkgs[i], '=');
        if (!eq || eq == pkgs[i] || !eq[1]) {
            fprintf(stderr, "sla_seed: '%s' is not SOURCE=VERSION\n", pkgs[i]);
            rc = TEMPER_EINVAL;
            break;
        }
        *eq = '\0';
        struct temper_package p = { .size = sizeof p, .name = pkgs[i], .version = eq + 1,
                                    .arch = "amd64", .distribution = dist };
        rc = temper_artifact_add_package(a, &p);
        temper_sha256_update(h, pkgs[i], strlen(pkgs[i]));
        temper_sha256_update(h, eq + 1, strlen(eq + 1) + 1);
    }
    if (h) {
        temper_sha256_final(h, NULL, hex);
        temper_sha256_free(h);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_setf(a, TEMPER_ATTR_DIGEST, "sha256:%s", hex);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_VARIANT, "runtime");
    }
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return NULL;
    }
    return a;
}

static int seed(struct temper_runtime *rt, const char *image, char **pkgs, int n)
{
    const struct temper_conf_image *img = temper_config_image(rt->cfg, image);
    struct temper_stage_spec specs[16];
    size_t k = 0;
    for (size_t i = 0; i < rt->cfg->n_chain && k < 16; i++) {
        const struct temper_conf_plugin *cp = rt->cfg->chain[i];
        specs[k++] = (struct temper_stage_spec){ cp->kind, cp->instance, cp->module, cp->conf };
    }
    struct temper_artifact *art = img ? make_image(image, img->def.distribution, pkgs, n) : NULL;
    if (!art) {
        fprintf(stderr, "sla_seed: no image %s (or bad packages)\n", image);
        return 2;
    }
    struct temper_job_input in = { .def = &img->def, .image = art, .variant = "runtime" };
    struct temper_pipeline *p = NULL;
    struct temper_run_result res;
    memset(&res, 0, sizeof res);
    char *err = NULL;
    int rc = temper_pipeline_new(specs, k, &rt->store, rt->cfg->core.workdir,
                                 rt->cfg->core.cache_dir, &p, &err);
    if (rc == TEMPER_OK) {
        rc = temper_pipeline_run(p, &in, &res);
    }
    int code = rc == TEMPER_OK && res.outcome == TEMPER_RUN_OUTCOME_OK ? 0 : 1;
    printf("run %lld of %s: %s\n", res.run_id, image,
           rc != TEMPER_OK ? (err ? err : temper_rc_str(rc)) : res.error ? res.error : "ok");
    temper_run_result_cleanup(&res);
    temper_pipeline_free(p);
    temper_artifact_free(art);
    free(err);
    return code;
}

int main(int argc, char **argv)
{
    LTDL_SET_PRELOADED_SYMBOLS();
    if (argc < 3 || argc - 3 > SEED_MAX_PKGS) {
        fprintf(stderr, "usage: sla_seed CONFIG IMAGE SOURCE=VERSION...\n");
        return 2;
    }
    const char *plugins = getenv("TEMPER_PLUGINS"), *build = getenv("TEMPER_BUILDDIR");
    char engine[4096];
    snprintf(engine, sizeof engine, "%s/tests/engine", build ? build : ".");
    const char *dirs[] = { plugins ? plugins : ".", engine };
    struct temper_runtime rt;
    int rc = temper_runtime_open(&rt, argv[1], dirs, 2, stderr);
    int code = rc == TEMPER_OK ? seed(&rt, argv[2], argv + 3, argc - 3) : 2;
    temper_runtime_close(&rt);
    return code;
}

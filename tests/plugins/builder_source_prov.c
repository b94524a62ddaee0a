/* Helper of tests/plugins/builder_source_build.sh (not a test by itself):
 * builds the test's hello release with builder_source through the plugin
 * harness (real loader and option code), hands the image artifact it
 * emitted to attest_slsa with a run record, and prints the provenance
 * statement on stdout.  Settings come from the environment: SRC_MIRROR,
 * SRC_KEYRING, SRC_CACHE, SRC_SUITE, SRC_TARBALL, SRC_PATCH, SRC_WORK; with
 * SRC_REPOS and SRC_KEYS set instead of SRC_MIRROR and SRC_KEYRING, an
 * alpine:v3.19 image of tests/plugins/builder_source_alpine.sh (its
 * release ships a prebuilt musl program that the recipe installs).
 * Exit 0 with the statement, 1 with the reason on stderr. */
#include "config.h"
#include <temper/temper.h>
#include <temper/attest.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/lib/plugin_harness.h"

static const char *env(const char *k)
{
    const char *v = getenv(k);
    return v ? v : "";
}

static struct temper_artifact *run_record(void)
{
    struct temper_artifact *r = temper_artifact_new(TEMPER_ART_RUN, "run");
    if (r && (temper_artifact_set(r, TEMPER_RUN_BUILDER_ID, "https://ci.example/temper") ||
              temper_artifact_set(r, TEMPER_RUN_INVOCATION_ID, "source-test-1") ||
              temper_artifact_set(r, TEMPER_RUN_STARTED, "2024-05-01T12:00:00Z"))) {
        temper_artifact_free(r);
        r = NULL;
    }
    return r;
}

static struct temper_artifact *build(struct ph *h)
{
    char *mirror = temper_strdupf("mirror=%s", env("SRC_MIRROR"));
    char *keyring = temper_strdupf("keyring=%s", env("SRC_KEYRING"));
    char *cache = temper_strdupf("cache_dir=%s", env("SRC_CACHE"));
    char *tarball = temper_strdupf("tarball=%s", env("SRC_TARBALL"));
    char *patch = temper_strdupf("patch=%s", env("SRC_PATCH"));
    char *dist = temper_strdupf("debian:%s", env("SRC_SUITE"));
    char *layout = temper_strdupf("%s/layout", env("SRC_WORK"));
    bool alpine = getenv("SRC_REPOS") != NULL;
    if (alpine) {
        free(mirror);
        free(keyring);
        free(dist);
        mirror = temper_strdupf("repositories=%s", env("SRC_REPOS"));
        keyring = temper_strdupf("keys=%s", env("SRC_KEYS"));
        dist = strdup("alpine:v3.19");
    }
    const char *kv[] = { mirror, keyring, cache, NULL };
    const char *ikv[] = { tarball, patch, "build_depends=gcc make libc6-dev",
                          "step=make CC=gcc", "step=make install DESTDIR=/staging",
                          "install=/usr/bin/*", NULL };
    const char *akv[] = { tarball, patch, "build_depends=busybox musl",
                          "step=mkdir -p /staging/usr/bin && cp hello /staging/usr/bin/",
                          "install=/usr/bin/*", NULL };
    char *pk[] = { "base-files", NULL };
    struct temper_strlist packages = { alpine ? 0 : 1, pk };
    const char *plat[] = { "linux/amd64", NULL };
    struct temper_image_def def = { .size = sizeof def, .name = "hello", .distribution = dist,
                                    .packages = &packages };
    struct temper_build_request req = { .size = sizeof req, .def = &def, .variant = "runtime",
                                        .platforms = plat, .n_platforms = 1,
                                        .layout_dir = layout };
    void *iconf = NULL;
    char *err = NULL;
    struct temper_artifact *a = NULL;
    int rc = ph_load(h, TEMPER_KIND_BUILDER, "source", kv, &err);
    rc = rc == TEMPER_OK ? ph_open(h) : rc;
    const struct temper_builder_ops *ops = rc == TEMPER_OK ? ph_ops(h) : NULL;
    rc = rc == TEMPER_OK ? ph_fill(ops->image_options, ops->image_conf_size,
                                   alpine ? akv : ikv, &iconf, &err)
                         : rc;
    req.image_conf = iconf;
    rc = rc == TEMPER_OK ? ops->build(h->state, h->st, &req) : rc;
    if (rc == TEMPER_OK && ph_artifact_count(h) == 1) {
        a = temper_artifact_dup(ph_artifact(h, 0));
    } else {
        fprintf(stderr, "build failed: %s\n", err ? err : h->st ? temper_stage_error(h->st) : "");
    }
    if (iconf) {
        ph_free_conf(ops->image_options, iconf);
    }
    free(err);
    free(mirror);
    free(keyring);
    free(cache);
    free(tarball);
    free(patch);
    free(dist);
    free(layout);
    return a;
}

int main(void)
{
    struct ph b, s;
    char *err = NULL;
    struct temper_artifact *img = build(&b);
    struct temper_artifact *run = run_record();
    int rc = img && run ? ph_load(&s, TEMPER_KIND_ATTEST, "slsa", NULL, &err) : TEMPER_EINVAL;
    bool loaded = img && run && rc == TEMPER_OK;
    rc = rc == TEMPER_OK ? ph_open(&s) : rc;
    const struct temper_attest_ops *ops = rc == TEMPER_OK ? ph_ops(&s) : NULL;
    rc = rc == TEMPER_OK ? ops->attest(s.state, s.st, img, run) : rc;
    size_t len = 0;
    const void *data = rc == TEMPER_OK && ph_artifact_count(&s) == 1
                           ? temper_artifact_data(ph_artifact(&s, 0), &len)
                           : NULL;
    if (data) {
        fwrite(data, 1, len, stdout);
    } else if (loaded) {
        fprintf(stderr, "attest failed: %s\n", temper_stage_error(s.st));
    }
    if (loaded) {
        ph_close(&s);
    }
    ph_close(&b);
    temper_artifact_free(img);
    temper_artifact_free(run);
    free(err);
    return data ? 0 : 1;
}

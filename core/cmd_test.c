/* temper — `temper test -c FILE IMAGE --layout DIR [--ref NAME] [--variant V]`:
 * run the pipeline's suite stages against an image in an OCI layout, with
 * the image definition's [test] sections.  Prints one line per case, writes
 * JUnit XML and CTRF JSON (path on stderr), exit 0 all passed, 3 a case
 * failed, 1 the suites could not run, 2 usage or config error. */
#include "config.h"
#include "core.h"
#include "runtime.h"
#include "pipeline_priv.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_USAGE "usage: temper test -c FILE IMAGE --layout DIR [--ref NAME] " \
                   "[--variant runtime|dev]\n"
#define TEST_MAX_STAGES 32

struct test_args {
    struct temper_cmd_base base;
    const char *image, *layout, *ref, *variant;
};

static int parse_args(int argc, char **argv, struct test_args *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "layout", required_argument, NULL, 'l' },
        { "ref", required_argument, NULL, 'r' },
        { "variant", required_argument, NULL, 'V' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    temper_cmd_base_init(&a->base);
    while ((c = getopt_long(argc, argv, "c:l:r:V:P:", opts, NULL)) != -1) {
        int b = temper_cmd_base_opt(&a->base, c, optarg);
        if (b < 0) {
            return -1;
        } else if (b == 1) {
            continue;
        } else if (c == 'l') {
            a->layout = optarg;
        } else if (c == 'r') {
            a->ref = optarg;
        } else if (c == 'V' && temper_variant_ok(optarg)) {
            a->variant = optarg;
        } else {
            return -1;
        }
    }
    if (!a->base.file || !a->layout || optind != argc - 1) {
        return -1;
    }
    a->image = argv[optind];
    return 0;
}

/* The image to test: the descriptor named by --ref, else the only one. */
static int pick_image(struct temper_stage *st, const struct temper_oci_layout *l,
                      const char *ref, const struct temper_oci_descriptor **d)
{
    const struct temper_oci_index *x = temper_oci_layout_index(l);
    if (ref) {
        return temper_oci_layout_find(st, l, ref, d);
    }
    if (x->n_manifests != 1) {
        return temper_fail(st, TEMPER_EINVAL, "%s holds %zu images: name one with --ref",
                           temper_oci_layout_path(l), x->n_manifests);
    }
    *d = &x->manifests[0];
    return TEMPER_OK;
}

static struct temper_artifact *image_artifact(struct temper_stage *st, const char *dir,
                                              const struct test_args *a)
{
    struct temper_oci_layout *l = NULL;
    const struct temper_oci_descriptor *d = NULL;
    struct temper_artifact *art = NULL;
    char *path = realpath(dir, NULL);
    int rc = path ? temper_oci_layout_open(st, path, &l)
                  : temper_fail(st, TEMPER_EIO, "cannot open layout %s", dir);
    if (rc == TEMPER_OK) {
        rc = pick_image(st, l, a->ref, &d);
    }
    if (rc == TEMPER_OK) {
        art = temper_artifact_new(TEMPER_ART_IMAGE, a->image);
        const char *ref = temper_oci_map_get(&d->annotations, TEMPER_OCI_ANN_REF_NAME);
        int arc = art ? temper_artifact_set(art, TEMPER_ATTR_DIGEST, d->digest) : TEMPER_ENOMEM;
        arc = arc ? arc : temper_artifact_set(art, TEMPER_ATTR_MEDIA_TYPE, d->media_type);
        arc = arc ? arc : temper_artifact_set_path(art, path);
        arc = arc ? arc : temper_artifact_set(art, TEMPER_ATTR_VARIANT,
                                              a->variant ? a->variant : "runtime");
        arc = arc ? arc : temper_artifact_set(art, TEMPER_ATTR_IMAGE, a->image);
        arc = arc || !ref ? arc : temper_artifact_set(art, TEMPER_ATTR_REF, ref);
        if (arc != TEMPER_OK) {
            temper_artifact_free(art);
            art = NULL;
        }
    }
    temper_oci_layout_free(l);
    free(path);
    return art;
}

struct test_plan {
    struct temper_stage_spec specs[TEST_MAX_STAGES];
    struct temper_case_set sets[TEST_MAX_STAGES];
    const void *cases[TEST_MAX_STAGES][64];
    size_t n;
};

/* The enabled suite stages of the chain and, for each, the image's [test]
 * blocks that name it. */
static int plan_suites(const struct temper_config *cfg, const struct temper_conf_image *img,
                       struct test_plan *tp)
{
    for (size_t i = 0; i < cfg->n_chain && tp->n < TEST_MAX_STAGES; i++) {
        const struct temper_conf_plugin *cp = cfg->chain[i];
        if (cp->kind != TEMPER_KIND_SUITE || !cp->keys.enabled || !cp->module) {
            continue;
        }
        size_t k = tp->n++;
        tp->specs[k] = (struct temper_stage_spec){ TEMPER_KIND_SUITE, cp->instance, cp->module,
                                                   cp->conf };
        tp->sets[k] = (struct temper_case_set){ cp->instance, tp->cases[k], 0 };
        for (size_t t = 0; t < img->n_tests && tp->sets[k].n < 64; t++) {
            if (img->tests[t].suite == cp) {
                tp->cases[k][tp->sets[k].n++] = img->tests[t].conf;
            }
        }
    }
    return tp->n ? 0 : -1;
}

static void print_cases(const struct temper_pipeline *p, size_t n)
{
    static const char *const word[] = { "PASS", "FAIL", "SKIP", "ERROR" };
    for (size_t i = 0; i < n; i++) {
        const struct temper_stage *st = temper_pipeline_stage(p, i);
        for (size_t k = 0; k < temper_stage_case_count(st); k++) {
            const struct temper_case *c = temper_stage_case_at(st, k);
            printf("%-5s %s/%s%s%s\n", (unsigned)c->status <= 3 ? word[c->status] : "?",
                   c->suite ? c->suite : temper_stage_name(st), c->name,
                   c->message ? ": " : "", c->message ? c->message : "");
        }
    }
}

static int run_tests(struct temper_runtime *rt, const struct test_args *a)
{
    const struct temper_conf_image *img = temper_config_image(rt->cfg, a->image);
    struct test_plan *tp = calloc(1, sizeof *tp);
    if (!tp) {
        return TEMPER_EXIT_FAIL;
    }
    int code = TEMPER_EXIT_USAGE;
    if (!img) {
        fprintf(stderr, "temper: %s: no image named '%s'\n", a->base.file, a->image);
    } else if (plan_suites(rt->cfg, img, tp) != 0) {
        fprintf(stderr, "temper: %s: the pipeline has no enabled suite stage\n", a->base.file);
    } else {
        code = TEMPER_EXIT_FAIL;
        struct temper_artifact *art = image_artifact(rt->store.st, a->layout, a);
        struct temper_job_input in = {
            .def = &img->def, .variant = a->variant ? a->variant : "runtime", .image = art,
            .case_sets = tp->sets, .n_case_sets = tp->n,
        };
        struct temper_pipeline *p = NULL;
        struct temper_run_result res;
        memset(&res, 0, sizeof res);
        char *err = NULL;
        int rc = art ? temper_pipeline_new(tp->specs, tp->n, &rt->store, rt->cfg->core.workdir,
                                           rt->cfg->core.cache_dir, &p, &err)
                     : TEMPER_EINVAL;
        if (rc == TEMPER_OK) {
            rc = temper_pipeline_run(p, &in, &res);
            print_cases(p, tp->n);
        }
        if (res.report_dir) {
            fprintf(stderr, "temper: reports in %s/junit.xml and ctrf.json\n", res.report_dir);
        }
        if (rc != TEMPER_OK || res.outcome == TEMPER_RUN_OUTCOME_FAILED) {
            const char *e = err ? err : res.error ? res.error : temper_stage_error(rt->store.st);
            fprintf(stderr, "temper: test %s: %s\n", a->image, e ? e : temper_rc_str(rc));
        } else if (res.outcome == TEMPER_RUN_OUTCOME_BLOCKED) {
            fprintf(stderr, "temper: test %s: %s\n", a->image, res.error);
            code = TEMPER_EXIT_VERDICT;
        } else {
            code = TEMPER_EXIT_OK;
        }
        temper_run_result_cleanup(&res);
        temper_pipeline_free(p);
        temper_artifact_free(art);
        free(err);
    }
    free(tp);
    return code;
}

int cmd_test(int argc, char **argv)
{
    struct test_args a;
    memset(&a, 0, sizeof a);
    if (parse_args(argc, argv, &a) != 0) {
        fputs(TEST_USAGE, stderr);
        return TEMPER_EXIT_USAGE;
    }
    struct temper_runtime rt;
    int rc = temper_runtime_open(&rt, a.base.file, a.base.dirs, a.base.n_dirs, stderr);
    int code = rc == TEMPER_OK ? run_tests(&rt, &a)
               : rc == TEMPER_EINVAL ? TEMPER_EXIT_USAGE : TEMPER_EXIT_FAIL;
    temper_runtime_close(&rt);
    return code;
}

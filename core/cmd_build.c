/* temper — `temper build -c FILE IMAGE -o DIR [--platform amd64,arm64]
 * [--variant runtime|dev]`: build one image into an OCI layout through the
 * pipeline's builder stage, record its packages in the store, print the
 * manifest (or index) digest.  SOURCE_DATE_EPOCH, when set, clamps every
 * timestamp; otherwise the builder derives it from its inputs. */
#include "config.h"
#include "core.h"
#include "runtime.h"
#include "pipeline_priv.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUILD_USAGE "usage: temper build -c FILE IMAGE -o DIR [--platform amd64,arm64] " \
                    "[--variant runtime|dev]\n"
#define BUILD_MAX_PLATFORMS 8

struct build_args {
    struct temper_cmd_base base;
    const char *image, *out, *variant;
    char *platforms[BUILD_MAX_PLATFORMS];
    size_t n_platforms;
};

static int add_platforms(struct build_args *a, const char *list)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n > 64 || a->n_platforms == BUILD_MAX_PLATFORMS) {
            return -1;
        }
        char *one = memchr(p, '/', n) ? strndup(p, n) : temper_strdupf("linux/%.*s", (int)n, p);
        if (!one) {
            return -1;
        }
        a->platforms[a->n_platforms++] = one;
        p += n + (p[n] == ',');
    }
    return a->n_platforms ? 0 : -1;
}

static int parse_args(int argc, char **argv, struct build_args *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "output", required_argument, NULL, 'o' },
        { "platform", required_argument, NULL, 'p' },
        { "variant", required_argument, NULL, 'V' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    temper_cmd_base_init(&a->base);
    while ((c = getopt_long(argc, argv, "c:o:p:V:P:", opts, NULL)) != -1) {
        int b = temper_cmd_base_opt(&a->base, c, optarg);
        if (b < 0) {
            return -1;
        } else if (b == 1) {
            continue;
        } else if (c == 'o') {
            a->out = optarg;
        } else if (c == 'p' && add_platforms(a, optarg) == 0) {
            continue;
        } else if (c == 'V' && temper_variant_ok(optarg)) {
            a->variant = optarg;
        } else {
            return -1;
        }
    }
    if (!a->base.file || !a->out || optind != argc - 1) {
        return -1;
    }
    a->image = argv[optind];
    return 0;
}

/* "sha256:<hex>" of a file, or NULL. */
static char *file_digest(const char *path)
{
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    if (!path || temper_sha256_file(path, hex, NULL) != TEMPER_OK) {
        return NULL;
    }
    return temper_strdupf("sha256:%s", hex);
}

static long long source_date_epoch(void)
{
    const char *s = getenv("SOURCE_DATE_EPOCH");
    long long v = 0;
    if (s && (temper_parse_ll(s, &v) != TEMPER_OK || v < 0)) {
        fprintf(stderr, "temper: ignoring SOURCE_DATE_EPOCH='%s': not a number of seconds\n", s);
        v = 0;
    }
    return v;
}

static int build(struct temper_runtime *rt, struct build_args *a)
{
    const struct temper_conf_image *img = temper_config_image(rt->cfg, a->image);
    if (!img) {
        fprintf(stderr, "temper: %s: no image named '%s'\n", a->base.file, a->image);
        return TEMPER_EXIT_USAGE;
    }
    if (!img->builder || !img->builder->module) {
        fprintf(stderr, "temper: %s: image '%s' has no builder (add a builder stage to "
                        "[pipeline] stages or `builder =` to its [build] section)\n",
                a->base.file, a->image);
        return TEMPER_EXIT_USAGE;
    }
    char *out = realpath(a->out, NULL);
    if (!out && (temper_mkdir_p(a->out, 0755) != TEMPER_OK || !(out = realpath(a->out, NULL)))) {
        fprintf(stderr, "temper: cannot create %s: %s\n", a->out, strerror(errno));
        return TEMPER_EXIT_FAIL;
    }
    const struct temper_conf_plugin *cp = img->builder;
    struct temper_stage_spec spec = { TEMPER_KIND_BUILDER, cp->instance, cp->module, cp->conf };
    char *def_digest = file_digest(img->path), *pipe_digest = file_digest(rt->cfg->path);
    struct temper_job_input in = {
        .def = &img->def, .image_conf = img->build_conf,
        .variant = a->variant ? a->variant : "runtime",
        .platforms = (const char *const *)a->platforms, .n_platforms = a->n_platforms,
        .layout_dir = out, .definition_digest = def_digest, .pipeline_digest = pipe_digest,
        .pipeline_uri = rt->cfg->path,
        .builder_id = rt->cfg->core.builder_id, .source_date_epoch = source_date_epoch(),
    };
    struct temper_pipeline *p = NULL;
    struct temper_run_result res;
    memset(&res, 0, sizeof res);
    char *err = NULL;
    int rc = temper_pipeline_new(&spec, 1, &rt->store, rt->cfg->core.workdir,
                                 rt->cfg->core.cache_dir, &p, &err);
    if (rc == TEMPER_OK) {
        rc = temper_pipeline_run(p, &in, &res);
    }
    int exit_code = TEMPER_EXIT_FAIL;
    if (rc != TEMPER_OK) {
        fprintf(stderr, "temper: build %s: %s\n", a->image, err ? err : temper_rc_str(rc));
    } else if (res.outcome != TEMPER_RUN_OUTCOME_OK) {
        fprintf(stderr, "temper: build %s: %s\n", a->image, res.error ? res.error : "failed");
    } else {
        printf("%s\n", res.image_digest ? res.image_digest : "");
        exit_code = TEMPER_EXIT_OK;
    }
    temper_run_result_cleanup(&res);
    temper_pipeline_free(p);
    free(err);
    free(out);
    free(def_digest);
    free(pipe_digest);
    return exit_code;
}

int cmd_build(int argc, char **argv)
{
    struct build_args a;
    memset(&a, 0, sizeof a);
    int code = TEMPER_EXIT_USAGE;
    if (parse_args(argc, argv, &a) != 0) {
        fputs(BUILD_USAGE, stderr);
    } else {
        struct temper_runtime rt;
        int rc = temper_runtime_open(&rt, a.base.file, a.base.dirs, a.base.n_dirs, stderr);
        code = rc == TEMPER_OK ? build(&rt, &a)
               : rc == TEMPER_EINVAL ? TEMPER_EXIT_USAGE : TEMPER_EXIT_FAIL;
        temper_runtime_close(&rt);
    }
    for (size_t i = 0; i < a.n_platforms; i++) {
        free(a.platforms[i]);
    }
    return code;
}

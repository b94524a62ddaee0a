/* temper — image definitions: [image], [upstream], [build] and [test "NAME"]
 * sections, validated against the core's table and against the option
 * tables of the tracker, builder and suites of the pipeline. */
#include "config.h"
#include "config_model.h"
#include "ini_util.h"
#include "options.h"
#include <temper/buf.h>
#include <temper/tracker.h>
#include <temper/suite.h>

#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_IMAGES 4096
#define IMAGE_NAME_MAX 128

#define IMG_OPT(type, key, def, flags, field, doc) \
    { type, key, def, flags, offsetof(struct temper_image_keys, field), 0, 0, NULL, doc }

static const struct temper_option image_options[] = {
    IMG_OPT(TEMPER_OPT_STR, "name", NULL, TEMPER_OPT_REQUIRED, name,
            "the image's name, unique among the images of the pipeline"),
    IMG_OPT(TEMPER_OPT_STR, "distribution", NULL, 0, distribution,
            "package distribution as NAME:RELEASE (debian:bookworm, alpine:v3.19)"),
    IMG_OPT(TEMPER_OPT_LIST, "packages", NULL, 0, packages, "packages installed into the image"),
    IMG_OPT(TEMPER_OPT_STR, "user", NULL, 0, user, "user the image runs as (number or name)"),
    IMG_OPT(TEMPER_OPT_LIST, "entrypoint", NULL, 0, entrypoint, "the image's entrypoint"),
    IMG_OPT(TEMPER_OPT_LIST, "cmd", NULL, 0, cmd, "the image's default arguments"),
    IMG_OPT(TEMPER_OPT_STR, "env", NULL, TEMPER_OPT_MULTI, env,
            "KEY=VALUE set in the image; repeat the key for several"),
    IMG_OPT(TEMPER_OPT_STR, "workdir", NULL, 0, workdir,
            "absolute working directory inside the image"),
    IMG_OPT(TEMPER_OPT_STR, "base", NULL, 0, base,
            "image:NAME of another image of the pipeline, or an OCI reference"),
    IMG_OPT(TEMPER_OPT_STR, "support_until", NULL, 0, support_until,
            "last day of support as YYYY-MM-DD"),
    IMG_OPT(TEMPER_OPT_LIST, "variants", "runtime", 0, variants,
            "variants to build: runtime, dev"),
    TEMPER_OPTION_END,
};

/* The selector keys: each table fills one `char *` (offset 0). */
static const struct temper_option upstream_options[] = {
    { TEMPER_OPT_STR, "tracker", NULL, TEMPER_OPT_REQUIRED, 0, 0, 0, NULL,
      "the [tracker \"NAME\"] of the pipeline that watches this upstream" },
    TEMPER_OPTION_END,
};

static const struct temper_option build_options[] = {
    { TEMPER_OPT_STR, "builder", NULL, 0, 0, 0, 0, NULL,
      "the [builder \"NAME\"] stage that builds this image (needed when there are several)" },
    TEMPER_OPTION_END,
};

static const struct temper_option test_options[] = {
    { TEMPER_OPT_STR, "suite", NULL, TEMPER_OPT_REQUIRED, 0, 0, 0, NULL,
      "the [suite \"NAME\"] stage that runs this test" },
    TEMPER_OPTION_END,
};

static const char *const variant_names[] = { "runtime", "dev", NULL };

void temper_conf_image_free(struct temper_conf_image *img)
{
    if (!img) {
        return;
    }
    temper_options_free(image_options, &img->keys);
    temper_options_free(upstream_options, &img->tracker_name);
    temper_options_free(img->watch_opts, img->watch_conf);
    free(img->watch_conf);
    temper_options_free(build_options, &img->builder_name);
    temper_options_free(img->build_opts, img->build_conf);
    free(img->build_conf);
    for (size_t i = 0; i < img->n_tests; i++) {
        struct temper_conf_test *t = &img->tests[i];
        temper_options_free(test_options, &t->suite_name);
        temper_options_free(t->opts, t->conf);
        free(t->conf);
        free(t->name);
    }
    free(img->tests);
    free(img->path);
    temper_ini_free(img->ini);
    free(img);
}

const struct temper_conf_image *temper_config_image(const struct temper_config *c,
                                                    const char *name)
{
    for (size_t i = 0; i < c->n_images; i++) {
        const char *n = c->images[i]->keys.name;
        if (n && strcmp(n, name) == 0) {
            return c->images[i];
        }
    }
    return NULL;
}

/* ---- plugin tables ----------------------------------------------------- */

/* The extra table a kind declares for image definitions. */
static const struct temper_option *kind_table(const struct temper_plugin *desc, size_t *size,
                                              const char **what)
{
    switch (desc->kind) {
    case TEMPER_KIND_TRACKER: {
        const struct temper_tracker_ops *o = desc->ops;
        *size = o->watch_conf_size;
        *what = "watch";
        return o->watch_options;
    }
    case TEMPER_KIND_BUILDER: {
        const struct temper_builder_ops *o = desc->ops;
        *size = o->image_conf_size;
        *what = "image";
        return o->image_options;
    }
    case TEMPER_KIND_SUITE: {
        const struct temper_suite_ops *o = desc->ops;
        *size = o->case_conf_size;
        *what = "case";
        return o->case_options;
    }
    default:
        *size = 0;
        *what = "image";
        return NULL;
    }
}

/* Fill the selector key (`sel`, one char *) and the plugin's block together;
 * without a usable plugin only the selector is checked. */
static int fill_with_plugin(const struct temper_ini_section *sec,
                            const struct temper_option *sel_opts, char **sel,
                            const struct temper_conf_plugin *p,
                            const struct temper_option **opts_out, void **conf_out,
                            struct temper_diags *d)
{
    size_t size = 0;
    const char *what = NULL;
    const struct temper_option *opts = NULL;
    int have = p && p->module;
    if (have) {
        char *err = NULL;
        opts = kind_table(p->module->desc, &size, &what);
        if (temper_options_check_table(opts, size, &err) != TEMPER_OK) {
            temper_diag_error(d, sec->file, sec->line, "plugin %s has a bad %s option "
                              "table: %s", p->module->module, what, err ? err : "?");
            have = 0;
            opts = NULL;
        }
        free(err);
    }
    *conf_out = calloc(1, size ? size : 1);
    if (!*conf_out) {
        return TEMPER_ENOMEM;
    }
    *opts_out = opts;
    struct temper_optset sets[2] = { { sel_opts, sel }, { opts, *conf_out } };
    int rc = temper_options_apply(sets, 2, sec, have ? 0 : TEMPER_OPTIONS_KEEP_UNKNOWN, d);
    return rc == TEMPER_ENOMEM ? rc : TEMPER_OK;
}

/* The plugin section a selector entry names, or NULL with an error. */
static const struct temper_conf_plugin *select_plugin(const struct temper_config *c,
                                                      enum temper_kind kind,
                                                      const char *label,
                                                      const struct temper_ini_entry *e,
                                                      struct temper_diags *d)
{
    if (!e) {
        return NULL;
    }
    const struct temper_conf_plugin *p = temper_config_plugin(c, kind, e->value);
    if (!p) {
        const char *k = temper_kind_str(kind);
        temper_diag_error(d, e->file, e->line, "%s %s: no [%s \"%s\"] section in %s", label,
                          e->key, k, e->value, c->path);
    }
    return p;
}

static int load_upstream(const struct temper_config *c, struct temper_conf_image *img,
                         const struct temper_ini_section *sec, struct temper_diags *d)
{
    const struct temper_ini_entry *e = temper_ini_last(sec, "tracker");
    img->tracker = select_plugin(c, TEMPER_KIND_TRACKER, "[upstream]", e, d);
    return fill_with_plugin(sec, upstream_options, &img->tracker_name, img->tracker,
                            &img->watch_opts, &img->watch_conf, d);
}

/* [build] is checked against the chain's builder (or the one it names). */
static int load_build(const struct temper_config *c, struct temper_conf_image *img,
                      const struct temper_ini_section *sec, struct temper_diags *d)
{
    const struct temper_conf_plugin *only = NULL;
    size_t n_builders = 0;
    for (size_t i = 0; i < c->n_chain; i++) {
        if (c->chain[i]->kind == TEMPER_KIND_BUILDER) {
            only = c->chain[i];
            n_builders++;
        }
    }
    const struct temper_ini_entry *e = sec ? temper_ini_last(sec, "builder") : NULL;
    const char *file = sec ? sec->file : img->path;
    unsigned line = sec ? sec->line : img->line;
    if (e) {
        img->builder = select_plugin(c, TEMPER_KIND_BUILDER, "[build]", e, d);
    } else if (n_builders == 1) {
        img->builder = only;
    } else if (n_builders > 1) {
        temper_diag_error(d, file, line, "[build] builder: the pipeline has %zu builder "
                          "stages; name the one that builds this image", n_builders);
    } else if (sec && sec->n > 0) {
        temper_diag_error(d, file, line, "[build]: the pipeline has no builder stage to "
                          "check these keys against");
        return TEMPER_OK;
    }
    if (!sec && !img->builder) {
        return TEMPER_OK;
    }
    struct temper_ini_section *tmp = NULL;
    if (!sec) {
        tmp = temper_ini_section_new("build", NULL, img->path,
                                     img->image_sec ? img->image_sec->dir : NULL, img->line);
        if (!tmp) {
            return TEMPER_ENOMEM;
        }
    }
    int rc = fill_with_plugin(sec ? sec : tmp, build_options, &img->builder_name,
                              img->builder, &img->build_opts, &img->build_conf, d);
    temper_ini_section_free(tmp);
    return rc;
}

static int load_test(const struct temper_config *c, struct temper_conf_image *img,
                     const struct temper_ini_section *sec, struct temper_diags *d)
{
    struct temper_conf_test *t = &img->tests[img->n_tests++];
    t->file = sec->file;
    t->line = sec->line;
    t->name = strdup(sec->sub);
    if (!t->name) {
        return TEMPER_ENOMEM;
    }
    char *label = temper_ini_section_label(sec);
    if (!label) {
        return TEMPER_ENOMEM;
    }
    const struct temper_ini_entry *e = temper_ini_last(sec, "suite");
    t->suite = select_plugin(c, TEMPER_KIND_SUITE, label, e, d);
    free(label);
    int rc = fill_with_plugin(sec, test_options, &t->suite_name, t->suite, &t->opts, &t->conf,
                              d);
    /* a suite that names its cases gets the section's name unless the
     * section sets `name` itself */
    const struct temper_option *o = t->opts ? temper_option_find(t->opts, "name") : NULL;
    if (rc == TEMPER_OK && t->conf && o && o->type == TEMPER_OPT_STR &&
        !(o->flags & TEMPER_OPT_MULTI) && !temper_ini_last(sec, "name")) {
        char *why = NULL;
        rc = temper_option_set(o, t->conf, sec->sub, NULL, &why);
        if (rc == TEMPER_EINVAL) {
            temper_diag_error(d, sec->file, sec->line, "[test \"%s\"]: %s", sec->sub,
                              why ? why : "bad name");
            rc = TEMPER_OK;
        }
        free(why);
    }
    return rc;
}

/* ---- [image] keys ------------------------------------------------------ */

static int valid_image_name(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-");
    return n > 0 && n <= IMAGE_NAME_MAX && s[n] == '\0' && s[0] != '.' && s[0] != '-' &&
           s[0] != '_';
}

static int valid_date(const char *s)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        strspn(s, "0123456789") != 4 || strspn(s + 5, "0123456789") != 2 ||
        strspn(s + 8, "0123456789") != 2) {
        return 0;
    }
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int day = (s[8] - '0') * 10 + (s[9] - '0');
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || m < 1 || m > 12 || day < 1 || day > mdays[m - 1]) {
        return 0;
    }
    return m != 2 || day <= 28 + leap;
}

static int valid_env(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
    return n > 0 && !(s[0] >= '0' && s[0] <= '9') && s[n] == '=';
}

static int valid_distribution(const char *s)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyz0123456789._-";
    size_t a = strspn(s, ok);
    return a > 0 && s[a] == ':' && strspn(s + a + 1, ok) > 0 &&
           s[a + 1 + strspn(s + a + 1, ok)] == '\0';
}

static int valid_base(const char *s)
{
    if (strncmp(s, "image:", 6) == 0) {
        return valid_image_name(s + 6);
    }
    return *s && !strpbrk(s, " \t");
}

static void check_variants(const struct temper_image_keys *k, const struct temper_ini_entry *e,
                           struct temper_diags *d)
{
    if (k->variants.n == 0) {
        temper_diag_error(d, e->file, e->line, "[image] variants: at least one variant");
    }
    for (size_t i = 0; i < k->variants.n; i++) {
        const char *v = k->variants.v[i];
        int known = 0;
        for (size_t j = 0; variant_names[j]; j++) {
            known |= strcmp(v, variant_names[j]) == 0;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(v, k->variants.v[j]) == 0) {
                temper_diag_error(d, e->file, e->line, "[image] variants: '%s' is listed "
                                  "twice", v);
            }
        }
        if (!known) {
            temper_diag_error(d, e->file, e->line, "[image] variants: '%s' is not one of: "
                              "runtime, dev", v);
        }
    }
}

/* Report a problem with `key` of [image] at the line that set it. */
static void key_error(struct temper_diags *d, const struct temper_ini_section *sec,
                      const char *key, const char *fmt, ...) TEMPER_PRINTF(4, 5);

static void key_error(struct temper_diags *d, const struct temper_ini_section *sec,
                      const char *key, const char *fmt, ...)
{
    const struct temper_ini_entry *e = temper_ini_last(sec, key);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (e && n >= 0) {
        temper_diag_error(d, e->file, e->line, "[image] %s: %s", key, msg);
    }
}

static void check_image_keys(const struct temper_conf_image *img,
                             const struct temper_ini_section *sec, struct temper_diags *d)
{
    const struct temper_image_keys *k = &img->keys;
    if (k->name && !valid_image_name(k->name)) {
        key_error(d, sec, "name", "'%s' is not an image name (lower-case letters, digits, "
                  "'.', '_', '-')", k->name);
    }
    if (k->distribution && !valid_distribution(k->distribution)) {
        key_error(d, sec, "distribution", "'%s' is not NAME:RELEASE (e.g. debian:bookworm)",
                  k->distribution);
    }
    if (k->workdir && k->workdir[0] != '/') {
        key_error(d, sec, "workdir", "must be an absolute path");
    }
    if (k->support_until && !valid_date(k->support_until)) {
        key_error(d, sec, "support_until", "'%s' is not a date YYYY-MM-DD", k->support_until);
    }
    if (k->base && !valid_base(k->base)) {
        key_error(d, sec, "base", "'%s' is neither image:NAME nor an OCI reference", k->base);
    }
    const struct temper_ini_entry *e = temper_ini_last(sec, "variants");
    if (e) {
        check_variants(k, e, d);
    }
    for (size_t i = 0; i < sec->n; i++) {
        e = &sec->entries[i];
        if (strcmp(e->key, "env") == 0 && !valid_env(e->value)) {
            temper_diag_error(d, e->file, e->line, "[image] env: expected KEY=VALUE");
        }
    }
}

static void fill_def(struct temper_conf_image *img)
{
    struct temper_image_def *def = &img->def;
    const struct temper_image_keys *k = &img->keys;
    def->size = sizeof *def;
    def->name = k->name;
    def->path = img->path;
    def->distribution = k->distribution;
    def->packages = &k->packages;
    def->user = k->user;
    def->entrypoint = &k->entrypoint;
    def->cmd = &k->cmd;
    def->env = &k->env;
    def->workdir = k->workdir;
    def->base = k->base;
    def->support_until = k->support_until;
    def->version = NULL;
}

/* ---- one image file ---------------------------------------------------- */

static int image_sections(const struct temper_config *c, struct temper_conf_image *img,
                          struct temper_diags *d)
{
    const struct temper_ini_section *upstream = NULL, *build = NULL;
    size_t n_tests = 0;
    int rc = TEMPER_OK;
    for (size_t i = 0; i < temper_ini_count(img->ini); i++) {
        const struct temper_ini_section *s = temper_ini_at(img->ini, i);
        int plain = s->sub == NULL;
        if (plain && strcmp(s->name, "image") == 0) {
            img->image_sec = s;
        } else if (plain && strcmp(s->name, "upstream") == 0) {
            upstream = s;
        } else if (plain && strcmp(s->name, "build") == 0) {
            build = s;
        } else if (!plain && strcmp(s->name, "test") == 0) {
            n_tests++;
        } else {
            temper_diag_error(d, s->file, s->line, "unknown section in an image definition "
                              "(expected [image], [upstream], [build], [test \"NAME\"])");
        }
    }
    img->tests = n_tests ? calloc(n_tests, sizeof *img->tests) : NULL;
    if (n_tests && !img->tests) {
        return TEMPER_ENOMEM;
    }
    if (upstream) {
        rc = load_upstream(c, img, upstream, d);
    }
    rc = rc == TEMPER_OK ? load_build(c, img, build, d) : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < temper_ini_count(img->ini); i++) {
        const struct temper_ini_section *s = temper_ini_at(img->ini, i);
        if (s->sub && strcmp(s->name, "test") == 0) {
            rc = load_test(c, img, s, d);
        }
    }
    return rc;
}

static int load_image(struct temper_config *c, const char *path, struct temper_diags *d)
{
    struct temper_conf_image *img = calloc(1, sizeof *img);
    if (img) {
        img->path = strdup(path);
        img->ini = temper_ini_new();
    }
    if (!img || !img->path || !img->ini) {
        temper_conf_image_free(img);
        return TEMPER_ENOMEM;
    }
    int rc = temper_ini_read_file(img->ini, path, d);
    if (rc == TEMPER_ENOMEM || temper_ini_file_count(img->ini) == 0) {
        temper_conf_image_free(img);
        return rc == TEMPER_ENOMEM ? rc : TEMPER_OK;
    }
    img->image_sec = temper_ini_find(img->ini, "image", NULL);
    img->line = img->image_sec ? img->image_sec->line : 0;
    rc = image_sections(c, img, d);
    if (rc == TEMPER_OK && !img->image_sec) {
        temper_diag_error(d, path, 0, "no [image] section");
    } else if (rc == TEMPER_OK) {
        struct temper_optset set = { image_options, &img->keys };
        rc = temper_options_apply(&set, 1, img->image_sec, 0, d);
        check_image_keys(img, img->image_sec, d);
    }
    fill_def(img);
    c->images[c->n_images++] = img;
    return rc == TEMPER_ENOMEM ? rc : TEMPER_OK;
}

/* ---- all images -------------------------------------------------------- */

static void check_names(const struct temper_config *c, struct temper_diags *d)
{
    for (size_t i = 0; i < c->n_images; i++) {
        const struct temper_conf_image *a = c->images[i];
        const struct temper_ini_entry *e = temper_ini_last(a->image_sec, "name");
        for (size_t j = 0; e && a->keys.name && j < i; j++) {
            const struct temper_conf_image *b = c->images[j];
            if (b->keys.name && strcmp(a->keys.name, b->keys.name) == 0) {
                temper_diag_error(d, e->file, e->line, "[image] name: image '%s' is already "
                                  "defined in %s:%u", a->keys.name, b->path, b->line);
                break;
            }
        }
    }
}

/* The base of an image when it is another image of the config, or NULL. */
static const struct temper_conf_image *image_base(const struct temper_config *c,
                                                  const struct temper_conf_image *img)
{
    const char *b = img->keys.base;
    return b && strncmp(b, "image:", 6) == 0 ? temper_config_image(c, b + 6) : NULL;
}

/* "a -> b -> a": the cycle of bases through img (which is on it). */
static void cycle_error(const struct temper_config *c, const struct temper_conf_image *img,
                        const struct temper_ini_entry *e, struct temper_diags *d)
{
    struct temper_buf path;
    temper_buf_init(&path, 4096);
    int rc = temper_buf_puts(&path, img->keys.name);
    const struct temper_conf_image *b = image_base(c, img);
    for (size_t steps = 0; rc == TEMPER_OK && b && steps <= c->n_images; steps++) {
        rc = temper_buf_printf(&path, " -> %s", b->keys.name);
        b = b == img ? NULL : image_base(c, b);
    }
    temper_diag_error(d, e->file, e->line, "[image] base: a cycle of bases: %s%s",
                      rc == TEMPER_OK && path.data ? path.data : img->keys.name,
                      rc == TEMPER_OK ? "" : " -> ...");
    temper_buf_cleanup(&path);
}

static void check_bases(const struct temper_config *c, struct temper_diags *d)
{
    for (size_t i = 0; i < c->n_images; i++) {
        const struct temper_conf_image *img = c->images[i];
        const char *base = img->keys.base;
        const struct temper_ini_entry *e = temper_ini_last(img->image_sec, "base");
        if (!e || !base || strncmp(base, "image:", 6) != 0) {
            continue;
        }
        const struct temper_conf_image *b = temper_config_image(c, base + 6);
        if (!b) {
            temper_diag_error(d, e->file, e->line, "[image] base: no image named '%s' in %s",
                              base + 6, c->core.images);
            continue;
        }
        for (size_t steps = 0; b && steps <= c->n_images; steps++) {
            if (b == img) {
                cycle_error(c, img, e, d);
                break;
            }
            b = image_base(c, b);
        }
    }
}

/* The images pattern joined to the directory of the file that set it. */
static char *images_pattern(const struct temper_config *c, const struct temper_ini_entry **ep)
{
    const struct temper_ini_entry *e =
        temper_ini_last(temper_ini_find(c->ini, "core", NULL), "images");
    *ep = e;
    return e ? temper_ini_join(e->file, c->core.images) : strdup(c->core.images);
}

int temper_config_load_images(struct temper_config *c, struct temper_diags *d)
{
    if (!c->core.images || !*c->core.images) {
        return TEMPER_OK;
    }
    const struct temper_ini_entry *e = NULL;
    char *pattern = images_pattern(c, &e);
    if (!pattern) {
        return TEMPER_ENOMEM;
    }
    const char *file = e ? e->file : c->path;
    unsigned line = e ? e->line : 0;
    glob_t g;
    int grc = glob(pattern, 0, NULL, &g);
    int rc = TEMPER_OK;
    if (grc == GLOB_NOMATCH) {
        temper_diag_warn(d, file, line, "[core] images: '%s' matches no file", pattern);
    } else if (grc != 0) {
        temper_diag_error(d, file, line, "[core] images: cannot expand '%s'", pattern);
    } else if (g.gl_pathc > CONFIG_MAX_IMAGES) {
        temper_diag_error(d, file, line, "[core] images: more than %d files",
                          CONFIG_MAX_IMAGES);
    } else {
        c->images = calloc(g.gl_pathc ? g.gl_pathc : 1, sizeof *c->images);
        rc = c->images ? TEMPER_OK : TEMPER_ENOMEM;
        for (size_t i = 0; rc == TEMPER_OK && i < g.gl_pathc; i++) {
            rc = load_image(c, g.gl_pathv[i], d);
        }
    }
    if (grc == 0) {
        globfree(&g);
    }
    free(pattern);
    if (rc == TEMPER_OK) {
        check_names(c, d);
        check_bases(c, d);
    }
    return rc;
}

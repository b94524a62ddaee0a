/* temper — `temper plugins [--json]` and `temper describe KIND_NAME`. */
#include "config.h"
#include "core.h"
#include "loader.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
    "end", "str", "path", "bool", "int", "size", "duration", "enum", "list",
};

static const char *opt_type_str(enum temper_opt_type t)
{
    return (int)t >= 0 && (size_t)t < sizeof type_names / sizeof type_names[0]
               ? type_names[t]
               : "?";
}

int temper_core_loader_open(const char *const *extra, size_t n_extra,
                            struct temper_loader **out)
{
    const char *dirs[32];
    size_t n = 0;
    for (size_t i = 0; i < temper_g.n_plugin_dirs && n < 31; i++) {
        dirs[n++] = temper_g.plugin_dirs[i];
    }
    for (size_t i = 0; i < n_extra && n < 31; i++) {
        dirs[n++] = extra[i];
    }
    char *err = NULL;
    int rc = temper_loader_new(dirs, n, out, &err);
    if (rc != TEMPER_OK) {
        fprintf(stderr, "temper: %s\n", err ? err : temper_rc_str(rc));
    }
    free(err);
    return rc;
}

/* Extra option tables a kind declares in its ops (watch, image, case). */
static const struct temper_option *kind_table(const struct temper_plugin *d,
                                              const char **label)
{
    *label = NULL;
    switch (d->kind) {
    case TEMPER_KIND_TRACKER:
        *label = "image [upstream] keys";
        return ((const struct temper_tracker_ops *)d->ops)->watch_options;
    case TEMPER_KIND_BUILDER:
        *label = "image [build] keys";
        return ((const struct temper_builder_ops *)d->ops)->image_options;
    case TEMPER_KIND_SUITE:
        *label = "image [test] keys";
        return ((const struct temper_suite_ops *)d->ops)->case_options;
    default:
        return NULL;
    }
}

static json_object *options_json(const struct temper_option *opts)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; opts && opts[i].type != TEMPER_OPT_END; i++) {
        const struct temper_option *o = &opts[i];
        json_object *j = json_object_new_object();
        json_object_object_add(j, "key", json_object_new_string(o->key));
        json_object_object_add(j, "type", json_object_new_string(opt_type_str(o->type)));
        const char *def = o->def && (o->flags & TEMPER_OPT_SECRET) ? "***" : o->def;
        json_object_object_add(j, "default", def ? json_object_new_string(def) : NULL);
        json_object_object_add(j, "required",
                               json_object_new_boolean(o->flags & TEMPER_OPT_REQUIRED));
        json_object_object_add(j, "multi", json_object_new_boolean(o->flags & TEMPER_OPT_MULTI));
        json_object_object_add(j, "secret",
                               json_object_new_boolean(o->flags & TEMPER_OPT_SECRET));
        json_object_object_add(j, "deprecated",
                               json_object_new_boolean(o->flags & TEMPER_OPT_DEPRECATED));
        if (o->min || o->max) {
            json_object_object_add(j, "min", json_object_new_int64(o->min));
            json_object_object_add(j, "max", json_object_new_int64(o->max));
        }
        if (o->type == TEMPER_OPT_ENUM) {
            json_object *c = json_object_new_array();
            for (size_t k = 0; o->choices[k]; k++) {
                json_object_array_add(c, json_object_new_string(o->choices[k]));
            }
            json_object_object_add(j, "choices", c);
        }
        json_object_object_add(j, "doc", json_object_new_string(o->doc));
        json_object_array_add(arr, j);
    }
    return arr;
}

static json_object *module_json(const struct temper_module *m)
{
    const struct temper_plugin *d = m->desc;
    json_object *j = json_object_new_object();
    json_object_object_add(j, "module", json_object_new_string(m->module));
    json_object_object_add(j, "kind", json_object_new_string(temper_kind_str(d->kind)));
    json_object_object_add(j, "name", json_object_new_string(d->name));
    json_object_object_add(j, "version", json_object_new_string(d->version));
    json_object_object_add(j, "summary", json_object_new_string(d->summary));
    char abi[32];
    int n = snprintf(abi, sizeof abi, "%u.%u", d->abi_major, d->abi_minor);
    json_object_object_add(j, "abi", json_object_new_string(n > 0 ? abi : "?"));
    json_object_object_add(j, "path", json_object_new_string(m->path));
    json_object_object_add(j, "options", options_json(d->options));
    const char *label;
    const struct temper_option *extra = kind_table(d, &label);
    if (extra) {
        json_object_object_add(j, "image_options", options_json(extra));
    }
    return j;
}

struct list_ctx {
    const struct temper_module *mods[512];
    size_t n;
    json_object *refused;
};

static void on_ok(void *ctx, const struct temper_module *m)
{
    struct list_ctx *lc = ctx;
    if (lc->n < sizeof lc->mods / sizeof lc->mods[0]) {
        lc->mods[lc->n++] = m;
    }
}

static void on_bad(void *ctx, const char *module, const char *err)
{
    struct list_ctx *lc = ctx;
    fprintf(stderr, "temper: refused %s: %s\n", module, err);
    json_object *r = json_object_new_object();
    json_object_object_add(r, "module", json_object_new_string(module));
    json_object_object_add(r, "error", json_object_new_string(err));
    json_object_array_add(lc->refused, r);
}

static int cmp_mod(const void *a, const void *b)
{
    const struct temper_module *x = *(const struct temper_module *const *)a;
    const struct temper_module *y = *(const struct temper_module *const *)b;
    if (x->desc->kind != y->desc->kind) {
        return (int)x->desc->kind - (int)y->desc->kind;
    }
    return strcmp(x->desc->name, y->desc->name);
}

int cmd_plugins(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    int json = 0, c;
    const char *extra[16];
    size_t n_extra = 0;
    while ((c = getopt_long(argc, argv, "jP:", opts, NULL)) != -1) {
        if (c == 'j') {
            json = 1;
        } else if (c == 'P' && n_extra < 16) {
            extra[n_extra++] = optarg;
        } else {
            fprintf(stderr, "usage: temper plugins [--json] [--plugin-dir DIR]\n");
            return TEMPER_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "usage: temper plugins [--json] [--plugin-dir DIR]\n");
        return TEMPER_EXIT_USAGE;
    }
    struct temper_loader *l = NULL;
    if (temper_core_loader_open(extra, n_extra, &l) != TEMPER_OK) {
        return TEMPER_EXIT_FAIL;
    }
    struct list_ctx *lc = calloc(1, sizeof *lc);
    if (!lc) {
        temper_loader_free(l);
        return TEMPER_EXIT_FAIL;
    }
    lc->refused = json_object_new_array();
    int rc = temper_loader_scan(l, on_ok, on_bad, lc);
    qsort(lc->mods, lc->n, sizeof lc->mods[0], cmp_mod);
    if (json) {
        json_object *root = json_object_new_object();
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < lc->n; i++) {
            json_object_array_add(arr, module_json(lc->mods[i]));
        }
        json_object_object_add(root, "plugins", arr);
        json_object_object_add(root, "refused", json_object_get(lc->refused));
        puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
    } else {
        for (size_t i = 0; i < lc->n; i++) {
            const struct temper_plugin *d = lc->mods[i]->desc;
            printf("%-8s %-18s %-8s %s\n", temper_kind_str(d->kind), d->name, d->version,
                   d->summary);
        }
    }
    json_object_put(lc->refused);
    free(lc);
    temper_loader_free(l);
    return rc == TEMPER_OK ? TEMPER_EXIT_OK : TEMPER_EXIT_FAIL;
}

static void print_range(const struct temper_option *o)
{
    if (!o->min && !o->max) {
        return;
    }
    printf(", %lld..%lld%s", o->min, o->max,
           o->type == TEMPER_OPT_DURATION ? " ms" : o->type == TEMPER_OPT_SIZE ? " bytes" : "");
}

static void print_options(const char *title, const struct temper_option *opts)
{
    printf("\n%s:\n", title);
    if (!opts || opts[0].type == TEMPER_OPT_END) {
        printf("  (none)\n");
        return;
    }
    for (size_t i = 0; opts[i].type != TEMPER_OPT_END; i++) {
        const struct temper_option *o = &opts[i];
        printf("  %s (%s", o->key, opt_type_str(o->type));
        if (o->flags & TEMPER_OPT_REQUIRED) {
            printf(", required");
        }
        if (o->flags & TEMPER_OPT_MULTI) {
            printf(", repeatable");
        }
        if (o->flags & TEMPER_OPT_SECRET) {
            printf(", secret");
        }
        if (o->flags & TEMPER_OPT_DEPRECATED) {
            printf(", deprecated");
        }
        print_range(o);
        printf(")");
        if (o->def) {
            printf(" default: %s", (o->flags & TEMPER_OPT_SECRET) ? "***" : o->def);
        }
        printf("\n      %s\n", o->doc);
        if (o->type == TEMPER_OPT_ENUM) {
            printf("      one of:");
            for (size_t k = 0; o->choices[k]; k++) {
                printf(" %s", o->choices[k]);
            }
            printf("\n");
        }
    }
}

/* "signer_keyfile", "signer.keyfile" or "signer:keyfile" -> kind, name. */
static int split_plugin_name(const char *arg, int *kind, const char **name)
{
    const char *sep = strpbrk(arg, "_.:");
    if (!sep || sep == arg || (size_t)(sep - arg) >= 16) {
        return -1;
    }
    char k[16];
    memcpy(k, arg, (size_t)(sep - arg));
    k[sep - arg] = '\0';
    *kind = temper_kind_from_str(k);
    *name = sep + 1;
    return *kind ? 0 : -1;
}

int cmd_describe(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    int json = 0, c, kind = 0;
    const char *extra[16], *name = NULL;
    size_t n_extra = 0;
    while ((c = getopt_long(argc, argv, "jP:", opts, NULL)) != -1) {
        if (c == 'j') {
            json = 1;
        } else if (c == 'P' && n_extra < 16) {
            extra[n_extra++] = optarg;
        } else {
            optind = argc + 1;
            break;
        }
    }
    if (optind != argc - 1 || split_plugin_name(argv[optind], &kind, &name) != 0) {
        fprintf(stderr, "usage: temper describe [--json] KIND_NAME (e.g. signer_keyfile)\n");
        return TEMPER_EXIT_USAGE;
    }
    struct temper_loader *l = NULL;
    if (temper_core_loader_open(extra, n_extra, &l) != TEMPER_OK) {
        return TEMPER_EXIT_FAIL;
    }
    const struct temper_module *m = NULL;
    char *err = NULL;
    int rc = temper_loader_load(l, (enum temper_kind)kind, name, &m, &err);
    if (rc != TEMPER_OK) {
        fprintf(stderr, "temper: %s\n", err ? err : temper_rc_str(rc));
        free(err);
        temper_loader_free(l);
        return rc == TEMPER_ENOTFOUND || rc == TEMPER_EINVAL ? TEMPER_EXIT_USAGE
                                                              : TEMPER_EXIT_FAIL;
    }
    const struct temper_plugin *d = m->desc;
    if (json) {
        json_object *j = module_json(m);
        puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    } else {
        printf("%s %s - %s\n", m->module, d->version, d->summary);
        printf("kind: %s, plugin ABI %u.%u, file: %s\n", temper_kind_str(d->kind),
               d->abi_major, d->abi_minor, m->path);
        print_options("options", d->options);
        const char *label;
        const struct temper_option *extra_opts = kind_table(d, &label);
        if (extra_opts) {
            print_options(label, extra_opts);
        }
    }
    temper_loader_free(l);
    return TEMPER_EXIT_OK;
}

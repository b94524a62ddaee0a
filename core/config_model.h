/* temper — the pipeline configuration model, built from an INI file, the
 * image definitions it names and the plugins the loader finds.
 *
 * temper_config_load() validates everything in one pass and runs no plugin
 * code: plugins are loaded (descriptor checks) but never open()ed.  Every
 * conf block is filled by options.c.  The user-facing rules are in
 * conf/README.md.  Main thread only.  Not installed. */
#ifndef TEMPER_CORE_CONFIG_MODEL_H
#define TEMPER_CORE_CONFIG_MODEL_H

#include <stdbool.h>
#include <temper/builder.h>
#include "diag.h"
#include "ini.h"
#include "loader.h"

enum temper_log_format {
    TEMPER_LOG_FORMAT_TEXT = 0,
    TEMPER_LOG_FORMAT_JSON = 1
};

/* [core] */
struct temper_core_conf {
    char *store;                      /* "PLUGIN:LOCATION" shorthand */
    char *workdir;                    /* absolute */
    char *cache_dir;                  /* absolute */
    struct temper_strlist plugin_dir; /* absolute, searched after --plugin-dir */
    char *images;                     /* glob joined to the directory of the file
                                         that set it, or NULL: no images */
    char *builder_id;                 /* NULL: the host name */
    int log_format;                   /* enum temper_log_format */
    int log_level;                    /* enum temper_log_level */
    long long workers;                /* worker processes of `temper daemon` */
    long long lease;                  /* ms a claimed job is held between heartbeats */
    char *review_webhook;             /* URL POSTed when a review opens, or NULL */
    char *review_webhook_secret_file; /* HMAC-SHA256 key of the body, or NULL */
    char *review_webhook_ca_file;     /* trust store of the webhook, or NULL */
    long long review_webhook_timeout; /* ms per attempt */
};

/* [sla]: how long after a fix is available the fixed image must be
 * published, per severity (ms; 0 = no window).  Read by `temper sla`. */
struct temper_sla_conf {
    long long critical;
    long long high;
    long long medium;
    long long low;
};

/* The keys the core reserves in every plugin section (TEMPER_OPT_RESERVED_KEYS). */
struct temper_stage_keys {
    char *plugin;
    bool enabled;
    struct temper_strlist after;      /* "kind.instance" stages that must come first */
};

/* One plugin section: [tracker "github"], [builder "deb"], [store "main"],
 * or the store named by the `[core] store = PLUGIN:LOCATION` shorthand. */
struct temper_conf_plugin {
    enum temper_kind kind;
    char *instance;                   /* "github" */
    char *id;                         /* "tracker.github" */
    struct temper_stage_keys keys;
    const struct temper_module *module; /* borrowed from the loader; NULL if refused */
    void *conf;                       /* filled from module->desc->options */
    const struct temper_ini_section *sec; /* borrowed */
    const char *file;                 /* section header, borrowed */
    unsigned line;
    int chain_pos;                    /* index in the chain, or -1 */
    long long interval;               /* [tracker] sections: ms between polls (daemon) */
};

/* [test "NAME"] of an image definition. */
struct temper_conf_test {
    char *name;
    char *suite_name;                 /* the `suite =` key */
    const struct temper_conf_plugin *suite; /* NULL if unknown */
    const struct temper_option *opts; /* the suite's case_options, borrowed */
    void *conf;
    const char *file;
    unsigned line;
};

/* [image] of an image definition. */
struct temper_image_keys {
    char *name;
    char *distribution;
    struct temper_strlist packages;
    char *user;
    struct temper_strlist entrypoint;
    struct temper_strlist cmd;
    struct temper_strlist env;        /* KEY=VALUE, one `env =` line each */
    char *workdir;
    char *base;
    char *support_until;
    struct temper_strlist variants;
};

struct temper_conf_image {
    struct temper_image_def def;      /* points into `keys` and `path` */
    struct temper_image_keys keys;
    char *path;                       /* the definition file, as found */
    unsigned line;                    /* its [image] header */
    struct temper_ini *ini;
    const struct temper_ini_section *image_sec; /* borrowed from ini; may be NULL */
    char *tracker_name;               /* [upstream] tracker = NAME */
    const struct temper_conf_plugin *tracker;
    const struct temper_option *watch_opts;
    void *watch_conf;
    char *builder_name;               /* [build] builder = NAME, optional */
    const struct temper_conf_plugin *builder;
    const struct temper_option *build_opts;
    void *build_conf;
    struct temper_conf_test *tests;
    size_t n_tests;
};

struct temper_config {
    char *path;
    struct temper_ini *ini;
    struct temper_core_conf core;
    struct temper_sla_conf sla;
    struct temper_loader *loader;
    struct temper_conf_plugin **plugins; /* every plugin section, in file order */
    size_t n_plugins;
    const struct temper_conf_plugin **chain; /* [pipeline] stages, in order */
    size_t n_chain;
    const struct temper_conf_plugin *store;
    struct temper_conf_image **images;
    size_t n_images;
    struct temper_ini_section *store_sec; /* synthesised by the shorthand */
};

/* Load and validate `path`.  `dirs` (borrowed) are the --plugin-dir
 * directories; [core] plugin_dir follows them, then the installed plugins.
 * Every problem goes to `d`.  Returns TEMPER_OK and *out (free with
 * temper_config_free()), TEMPER_EINVAL when `d` holds at least one error
 * (*out is NULL), or TEMPER_ENOMEM. */
int temper_config_load(const char *path, const char *const *dirs, size_t n_dirs,
                       struct temper_diags *d, struct temper_config **out)
    TEMPER_WARN_UNUSED;
void temper_config_free(struct temper_config *c);

/* The plugin section [kind "instance"], or NULL. */
const struct temper_conf_plugin *temper_config_plugin(const struct temper_config *c,
                                                      enum temper_kind kind,
                                                      const char *instance);
/* The image named `name`, or NULL. */
const struct temper_conf_image *temper_config_image(const struct temper_config *c,
                                                    const char *name);

/* Image definitions (config_image.c), called by temper_config_load(). */
int temper_config_load_images(struct temper_config *c, struct temper_diags *d)
    TEMPER_WARN_UNUSED;
void temper_conf_image_free(struct temper_conf_image *img);

#endif

/* temper — the pipeline configuration: [core], [pipeline], plugin sections
 * and the store (see config_model.h; the user's view is conf/README.md). */
#include "config.h"
#include "config_model.h"
#include "options.h"
#include <temper/buf.h>
#include <temper/log.h>
#include <temper/http.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_PLUGINS 1024

/* ---- option tables of the core ----------------------------------------- */

static const char *const log_formats[] = { "text", "json", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };

#define CORE_OPT(type, key, def, flags, field, doc) \
    { type, key, def, flags, offsetof(struct temper_core_conf, field), 0, 0, NULL, doc }

static const struct temper_option core_options[] = {
    CORE_OPT(TEMPER_OPT_STR, "store", "sqlite:" TEMPER_LOCALSTATEDIR "/state.db", 0, store,
             "the store as PLUGIN:LOCATION (sets the store plugin's 'location' option), "
             "unless a [store \"NAME\"] section configures it"),
    CORE_OPT(TEMPER_OPT_PATH, "workdir", TEMPER_LOCALSTATEDIR "/work", 0, workdir,
             "directory for the scratch space of runs"),
    CORE_OPT(TEMPER_OPT_PATH, "cache_dir", TEMPER_LOCALSTATEDIR "/cache", 0, cache_dir,
             "directory for downloads kept between runs"),
    CORE_OPT(TEMPER_OPT_PATH, "plugin_dir", NULL, TEMPER_OPT_MULTI, plugin_dir,
             "plugin directory searched after --plugin-dir (repeat the key for several)"),
    CORE_OPT(TEMPER_OPT_STR, "images", NULL, 0, images,
             "glob of the image definition files, relative to this file"),
    CORE_OPT(TEMPER_OPT_STR, "builder_id", NULL, 0, builder_id,
             "identity of this builder in provenance (default: the host name)"),
    { TEMPER_OPT_ENUM, "log_format", "text", 0, offsetof(struct temper_core_conf, log_format),
      0, 0, log_formats, "format of log lines on stderr" },
    { TEMPER_OPT_ENUM, "log_level", "info", 0, offsetof(struct temper_core_conf, log_level), 0,
      0, log_levels, "lowest level logged" },
    { TEMPER_OPT_INT, "workers", "1", 0, offsetof(struct temper_core_conf, workers), 1, 64,
      NULL, "worker processes `temper daemon` runs (--workers overrides)" },
    { TEMPER_OPT_DURATION, "lease", "5m", 0, offsetof(struct temper_core_conf, lease), 1000,
      86400000, NULL, "how long a claimed job stays with its worker without a heartbeat; "
      "a worker heartbeats every third of it, a dead worker's job is taken over after it" },
    CORE_OPT(TEMPER_OPT_STR, "review_webhook", NULL, 0, review_webhook,
             "http(s) URL POSTed a JSON body when a review item is created"),
    CORE_OPT(TEMPER_OPT_PATH, "review_webhook_secret_file", NULL, 0,
             review_webhook_secret_file,
             "file whose first line signs the webhook body (X-Hub-Signature-256, "
             "HMAC-SHA256)"),
    CORE_OPT(TEMPER_OPT_PATH, "review_webhook_ca_file", NULL, 0, review_webhook_ca_file,
             "PEM bundle replacing the default trust store for the webhook"),
    { TEMPER_OPT_DURATION, "review_webhook_timeout", "10s", 0,
      offsetof(struct temper_core_conf, review_webhook_timeout), 100, 300000, NULL,
      "time limit of one webhook attempt" },
    TEMPER_OPTION_END,
};

/* Keys the core adds to [tracker "..."] sections. */
static const struct temper_option tracker_options[] = {
    { TEMPER_OPT_DURATION, "interval", "1h", 0, 0, 10000, 2592000000LL, NULL,
      "how often `temper daemon` polls this tracker (10s to 30d; each wait is "
      "jittered by +-10%)" },
    TEMPER_OPTION_END,
};

#define SLA_OPT(key, def, field, doc) \
    { TEMPER_OPT_DURATION, key, def, 0, offsetof(struct temper_sla_conf, field), 0, \
      100LL * 365 * 86400 * 1000, NULL, doc }

static const struct temper_option sla_options[] = {
    SLA_OPT("critical", "7d", critical, "window for a critical vulnerability: from the time "
            "a fix is available to the publication of the fixed image (0 = none)"),
    SLA_OPT("high", "7d", high, "window for a high severity vulnerability (0 = none)"),
    SLA_OPT("medium", NULL, medium, "window for a medium severity vulnerability (0 = none)"),
    SLA_OPT("low", NULL, low, "window for a low severity vulnerability (0 = none)"),
    TEMPER_OPTION_END,
};

static const struct temper_option stage_options[] = {
    { TEMPER_OPT_STR, "plugin", NULL, TEMPER_OPT_REQUIRED,
      offsetof(struct temper_stage_keys, plugin), 0, 0, NULL,
      "the plugin NAME of this section's kind (loads KIND_NAME)" },
    { TEMPER_OPT_BOOL, "enabled", "true", 0, offsetof(struct temper_stage_keys, enabled), 0, 0,
      NULL, "false keeps the section (still validated) but skips it when running" },
    { TEMPER_OPT_LIST, "after", NULL, 0, offsetof(struct temper_stage_keys, after), 0, 0, NULL,
      "stages (kind.instance) that must come earlier in [pipeline] stages" },
    TEMPER_OPTION_END,
};

struct pipeline_keys {
    struct temper_strlist stages;
};

static const struct temper_option pipeline_options[] = {
    { TEMPER_OPT_LIST, "stages", NULL, 0, offsetof(struct pipeline_keys, stages), 0, 0, NULL,
      "the chain: kind.instance of stage sections, in order" },
    TEMPER_OPTION_END,
};

/* ---- plugin records ---------------------------------------------------- */

static void plugin_free(struct temper_conf_plugin *p)
{
    if (!p) {
        return;
    }
    if (p->module) {
        temper_options_free(p->module->desc->options, p->conf);
    }
    temper_options_free(stage_options, &p->keys);
    free(p->conf);
    free(p->instance);
    free(p->id);
    free(p);
}

void temper_config_free(struct temper_config *c)
{
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->n_images; i++) {
        temper_conf_image_free(c->images[i]);
    }
    free(c->images);
    for (size_t i = 0; i < c->n_plugins; i++) {
        plugin_free(c->plugins[i]);
    }
    free(c->plugins);
    free(c->chain);
    temper_options_free(core_options, &c->core);
    temper_options_free(sla_options, &c->sla);
    temper_ini_section_free(c->store_sec);
    temper_loader_free(c->loader); /* last: option tables live in the modules */
    temper_ini_free(c->ini);
    free(c->path);
    free(c);
}

const struct temper_conf_plugin *temper_config_plugin(const struct temper_config *c,
                                                      enum temper_kind kind,
                                                      const char *instance)
{
    for (size_t i = 0; i < c->n_plugins; i++) {
        const struct temper_conf_plugin *p = c->plugins[i];
        if (p->kind == kind && strcmp(p->instance, instance) == 0 &&
            p->sec != c->store_sec) {
            return p;
        }
    }
    return NULL;
}

static int valid_plugin_name(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
    return n > 0 && n < 100 && s[n] == '\0';
}

static int valid_instance(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    return n > 0 && s[n] == '\0';
}

static struct temper_conf_plugin *plugin_new(struct temper_config *c, enum temper_kind kind,
                                             const char *instance,
                                             const struct temper_ini_section *sec)
{
    if (c->n_plugins == CONFIG_MAX_PLUGINS) {
        return NULL;
    }
    struct temper_conf_plugin **v = realloc(c->plugins, (c->n_plugins + 1) * sizeof *v);
    if (!v) {
        return NULL;
    }
    c->plugins = v;
    struct temper_conf_plugin *p = calloc(1, sizeof *p);
    if (!p) {
        return NULL;
    }
    p->kind = kind;
    p->instance = strdup(instance);
    p->id = temper_strdupf("%s.%s", temper_kind_str(kind), instance);
    p->sec = sec;
    p->file = sec->file;
    p->line = sec->line;
    p->chain_pos = -1;
    if (!p->instance || !p->id) {
        plugin_free(p);
        return NULL;
    }
    c->plugins[c->n_plugins++] = p;
    return p;
}

/* Load the plugin named at `e` (file:line for errors); NULL on refusal. */
static const struct temper_module *load_plugin(struct temper_config *c, enum temper_kind kind,
                                               const char *label, const char *key,
                                               const char *name, const char *file,
                                               unsigned line, struct temper_diags *d)
{
    if (!valid_plugin_name(name)) {
        temper_diag_error(d, file, line, "%s %s: '%s' is not a plugin name ([a-z0-9_]+)",
                          label, key, name);
        return NULL;
    }
    const struct temper_module *m = NULL;
    char *err = NULL;
    int rc = temper_loader_load(c->loader, kind, name, &m, &err);
    if (rc != TEMPER_OK) {
        temper_diag_error(d, file, line, "%s %s: %s", label, key,
                          err ? err : temper_rc_str(rc));
        m = NULL;
    }
    free(err);
    return m;
}

/* Allocate the module's conf block and fill it together with the reserved keys. */
static int fill_plugin(struct temper_conf_plugin *p, const struct temper_ini_section *sec,
                       struct temper_diags *d)
{
    const struct temper_plugin *desc = p->module ? p->module->desc : NULL;
    p->conf = calloc(1, desc && desc->conf_size ? desc->conf_size : 1);
    if (!p->conf) {
        return TEMPER_ENOMEM;
    }
    struct temper_optset sets[3] = {
        { stage_options, &p->keys },
        { desc ? desc->options : NULL, p->conf },
        { NULL, NULL },
    };
    size_t n = desc ? 2 : 1;
    if (p->kind == TEMPER_KIND_TRACKER) {
        sets[n++] = (struct temper_optset){ tracker_options, &p->interval };
    }
    return temper_options_apply(sets, n, sec, desc ? 0 : TEMPER_OPTIONS_KEEP_UNKNOWN, d);
}

static int load_plugin_section(struct temper_config *c, enum temper_kind kind,
                               const struct temper_ini_section *sec, const char *label,
                               struct temper_diags *d)
{
    if (!valid_instance(sec->sub)) {
        temper_diag_error(d, sec->file, sec->line,
                          "%s: instance names are made of letters, digits, '_' and '-'",
                          label);
        return TEMPER_OK;
    }
    struct temper_conf_plugin *p = plugin_new(c, kind, sec->sub, sec);
    if (!p) {
        return TEMPER_ENOMEM;
    }
    const struct temper_ini_entry *e = temper_ini_last(sec, "plugin");
    if (e) {
        p->module = load_plugin(c, kind, label, "plugin", e->value, e->file, e->line, d);
    }
    int rc = fill_plugin(p, sec, d);
    return rc == TEMPER_ENOMEM ? rc : TEMPER_OK;
}

/* ---- sections ---------------------------------------------------------- */

static int classify(struct temper_config *c, const struct temper_ini_section *sec,
                    struct temper_diags *d)
{
    char *label = temper_ini_section_label(sec);
    if (!label) {
        return TEMPER_ENOMEM;
    }
    int rc = TEMPER_OK;
    int kind = temper_kind_from_str(sec->name);
    int image_sec = strcmp(sec->name, "image") == 0 || strcmp(sec->name, "upstream") == 0 ||
                    strcmp(sec->name, "build") == 0 || strcmp(sec->name, "test") == 0;
    if (strcmp(sec->name, "core") == 0 || strcmp(sec->name, "pipeline") == 0 ||
        strcmp(sec->name, "sla") == 0) {
        if (sec->sub) {
            temper_diag_error(d, sec->file, sec->line, "%s: [%s] takes no name", label,
                              sec->name);
        }
    } else if (kind && !sec->sub) {
        temper_diag_error(d, sec->file, sec->line,
                          "[%s] needs an instance name: [%s \"NAME\"]", sec->name, sec->name);
    } else if (kind) {
        rc = load_plugin_section(c, (enum temper_kind)kind, sec, label, d);
    } else if (image_sec) {
        temper_diag_error(d, sec->file, sec->line, "%s belongs in an image definition "
                          "file (the files [core] images names)", label);
    } else {
        temper_diag_error(d, sec->file, sec->line,
                          "unknown section %s (expected [core], [pipeline] or "
                          "[KIND \"NAME\"] with KIND one of tracker, guard, builder, suite, "
                          "attest, signer, publish, store)", label);
    }
    free(label);
    return rc;
}

/* The section or an empty stand-in at the config's first line. */
static const struct temper_ini_section *section_or_empty(struct temper_config *c,
                                                         const char *name,
                                                         struct temper_ini_section **tmp)
{
    const struct temper_ini_section *s = temper_ini_find(c->ini, name, NULL);
    if (s) {
        return s;
    }
    const char *file = temper_ini_file_count(c->ini) ? temper_ini_file_at(c->ini, 0) : c->path;
    *tmp = temper_ini_section_new(name, NULL, file, temper_ini_dir_at(c->ini, 0), 0);
    return *tmp;
}

/* [core] review_webhook*: an http(s) URL without credentials; the other
 * keys only with it. */
static int check_webhook(const struct temper_core_conf *core,
                         const struct temper_ini_section *sec, struct temper_diags *d)
{
    const char *u = core->review_webhook;
    char *r = NULL;
    if (!u) {
        if (core->review_webhook_secret_file || core->review_webhook_ca_file) {
            temper_diag_error(d, sec->file, sec->line, "[core] review_webhook_secret_file / "
                              "review_webhook_ca_file: set review_webhook too");
            return TEMPER_EINVAL;
        }
        return TEMPER_OK;
    }
    bool scheme = strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0;
    const char *auth = scheme ? strstr(u, "//") + 2 : u;
    size_t alen = strcspn(auth, "/?#");
    bool creds = memchr(auth, '@', alen) != NULL;
    int prc = scheme && !creds ? temper_http_resolve_url(u, u, &r) : TEMPER_EFORMAT;
    free(r);
    if (prc != TEMPER_OK) {
        temper_diag_error(d, sec->file, sec->line, "[core] review_webhook: '%s' is not an "
                          "http(s) URL without credentials", creds ? "<redacted>" : u);
        return TEMPER_EINVAL;
    }
    return TEMPER_OK;
}

static int load_core(struct temper_config *c, const char *const *dirs, size_t n_dirs,
                     struct temper_diags *d)
{
    struct temper_ini_section *tmp = NULL;
    const char *all[64];
    size_t n = 0;
    char *err = NULL;
    const struct temper_ini_section *sec = section_or_empty(c, "core", &tmp);
    if (!sec) {
        return TEMPER_ENOMEM;
    }
    struct temper_optset set = { core_options, &c->core };
    int rc = temper_options_apply(&set, 1, sec, 0, d);
    for (size_t i = 0; i < n_dirs && n < 32; i++) {
        all[n++] = dirs[i];
    }
    for (size_t i = 0; i < c->core.plugin_dir.n && n < 63; i++) {
        all[n++] = c->core.plugin_dir.v[i];
    }
    if (rc == TEMPER_OK) {
        rc = check_webhook(&c->core, sec, d);
    }
    if (rc != TEMPER_ENOMEM) {
        rc = temper_loader_new(all, n, &c->loader, &err);
        if (rc != TEMPER_OK && rc != TEMPER_ENOMEM) {
            temper_diag_error(d, sec->file, sec->line, "[core] plugin_dir: %s",
                              err ? err : temper_rc_str(rc));
        }
    }
    free(err);
    temper_ini_section_free(tmp);
    return rc;
}

static int load_sla(struct temper_config *c, struct temper_diags *d)
{
    struct temper_ini_section *tmp = NULL;
    const struct temper_ini_section *sec = section_or_empty(c, "sla", &tmp);
    if (!sec) {
        return TEMPER_ENOMEM;
    }
    struct temper_optset set = { sla_options, &c->sla };
    int rc = temper_options_apply(&set, 1, sec, 0, d);
    temper_ini_section_free(tmp);
    return rc == TEMPER_ENOMEM ? rc : TEMPER_OK;
}

/* ---- the store --------------------------------------------------------- */

/* `[core] store = PLUGIN:LOCATION`: a store record whose `location` is set. */
static int store_shorthand(struct temper_config *c, struct temper_diags *d)
{
    const struct temper_ini_section *core = temper_ini_find(c->ini, "core", NULL);
    const struct temper_ini_entry *e = temper_ini_last(core, "store");
    const char *file = e ? e->file : core ? core->file : temper_ini_file_at(c->ini, 0);
    const char *dir = e ? e->dir : core ? core->dir : temper_ini_dir_at(c->ini, 0);
    unsigned line = e ? e->line : core ? core->line : 0;
    const char *spec = c->core.store ? c->core.store : "";
    const char *colon = strchr(spec, ':');
    if (!colon || colon == spec || !colon[1]) {
        temper_diag_error(d, file, line, "[core] store: expected PLUGIN:LOCATION "
                          "(e.g. sqlite:/var/lib/temper/state.db)");
        return TEMPER_OK;
    }
    char *name = strndup(spec, (size_t)(colon - spec));
    int rc = TEMPER_ENOMEM;
    if (!name) {
        return rc;
    }
    const struct temper_module *m =
        load_plugin(c, TEMPER_KIND_STORE, "[core]", "store", name, file, line, d);
    rc = TEMPER_OK;
    if (m && !temper_option_find(m->desc->options, "location")) {
        temper_diag_error(d, file, line, "[core] store: store plugin '%s' has no 'location' "
                          "option; configure it in a [store \"NAME\"] section", name);
        m = NULL;
    }
    if (m) {
        c->store_sec = temper_ini_section_new("store", name, file, dir, line);
        struct temper_conf_plugin *p = c->store_sec ?
            plugin_new(c, TEMPER_KIND_STORE, name, c->store_sec) : NULL;
        if (!p || temper_ini_section_add(c->store_sec, "plugin", name, file, dir, line, 0) ||
            temper_ini_section_add(c->store_sec, "location", colon + 1, file, dir, line, 0)) {
            free(name);
            return TEMPER_ENOMEM;
        }
        p->module = m;
        c->store = p;
        rc = fill_plugin(p, c->store_sec, d);
    }
    free(name);
    return rc == TEMPER_ENOMEM ? rc : TEMPER_OK;
}

static int load_store(struct temper_config *c, struct temper_diags *d)
{
    const struct temper_conf_plugin *first = NULL;
    for (size_t i = 0; i < c->n_plugins; i++) {
        const struct temper_conf_plugin *p = c->plugins[i];
        if (p->kind != TEMPER_KIND_STORE) {
            continue;
        }
        if (!p->keys.enabled) {
            temper_diag_error(d, p->file, p->line, "[store \"%s\"]: a store cannot be "
                              "disabled", p->instance);
        }
        if (first) {
            temper_diag_error(d, p->file, p->line, "[store \"%s\"]: only one store may be "
                              "configured (the first is [store \"%s\"] at %s:%u)",
                              p->instance, first->instance, first->file, first->line);
            continue;
        }
        first = p;
    }
    if (!first) {
        return store_shorthand(c, d);
    }
    c->store = first;
    const struct temper_ini_entry *e =
        temper_ini_last(temper_ini_find(c->ini, "core", NULL), "store");
    if (e) {
        temper_diag_error(d, e->file, e->line, "[core] store: [store \"%s\"] configures the "
                          "store too; keep one of them", first->instance);
    }
    return TEMPER_OK;
}

/* ---- the chain --------------------------------------------------------- */

static const struct temper_conf_plugin *find_stage_id(const struct temper_config *c,
                                                      const char *id)
{
    const char *dot = strchr(id, '.');
    if (!dot || dot == id || (size_t)(dot - id) >= 16) {
        return NULL;
    }
    char kind[16];
    memcpy(kind, id, (size_t)(dot - id));
    kind[dot - id] = '\0';
    int k = temper_kind_from_str(kind);
    return k ? temper_config_plugin(c, (enum temper_kind)k, dot + 1) : NULL;
}

static int add_stage(struct temper_config *c, const char *id, const struct temper_ini_entry *e,
                     struct temper_diags *d)
{
    struct temper_conf_plugin *p = (struct temper_conf_plugin *)find_stage_id(c, id);
    const char *dot = strchr(id, '.');
    if (!p && dot && dot != id && (size_t)(dot - id) < 16) {
        temper_diag_error(d, e->file, e->line, "[pipeline] stages: '%s' names no [%.*s \"%s\"] "
                          "section", id, (int)(dot - id), id, dot + 1);
        return TEMPER_OK;
    }
    if (!p) {
        temper_diag_error(d, e->file, e->line, "[pipeline] stages: '%s' is not KIND.NAME of a "
                          "stage section", id);
        return TEMPER_OK;
    }
    if (p->kind == TEMPER_KIND_TRACKER || p->kind == TEMPER_KIND_STORE) {
        temper_diag_error(d, e->file, e->line, "[pipeline] stages: '%s': a %s is not a stage "
                          "of the chain%s", id, temper_kind_str(p->kind),
                          p->kind == TEMPER_KIND_TRACKER ? " (trackers are polled by "
                          "'temper track' without being listed)" : "");
        return TEMPER_OK;
    }
    if (p->chain_pos >= 0) {
        temper_diag_error(d, e->file, e->line, "[pipeline] stages: '%s' is listed twice", id);
        return TEMPER_OK;
    }
    p->chain_pos = (int)c->n_chain;
    c->chain[c->n_chain++] = p;
    return TEMPER_OK;
}

static void check_after(const struct temper_config *c, const struct temper_conf_plugin *p,
                        struct temper_diags *d)
{
    const struct temper_ini_entry *e = temper_ini_last(p->sec, "after");
    if (!e || p->keys.after.n == 0) {
        return;
    }
    if (p->chain_pos < 0) {
        temper_diag_error(d, e->file, e->line, "[%s \"%s\"] after: only stages listed in "
                          "[pipeline] stages can use 'after'", temper_kind_str(p->kind),
                          p->instance);
        return;
    }
    for (size_t i = 0; i < p->keys.after.n; i++) {
        const char *id = p->keys.after.v[i];
        const struct temper_conf_plugin *q = find_stage_id(c, id);
        if (!q || q->chain_pos < 0) {
            temper_diag_error(d, e->file, e->line, "[%s \"%s\"] after: '%s' is not a stage "
                              "in [pipeline] stages", temper_kind_str(p->kind), p->instance, id);
        } else if (q->chain_pos >= p->chain_pos) {
            temper_diag_error(d, e->file, e->line, "[%s \"%s\"] after: '%s' must come before "
                              "'%s' in [pipeline] stages", temper_kind_str(p->kind),
                              p->instance, id, p->id);
        }
    }
}

static int load_chain(struct temper_config *c, struct temper_diags *d)
{
    struct temper_ini_section *tmp = NULL;
    struct pipeline_keys keys = { { 0, NULL } };
    const struct temper_ini_section *sec = section_or_empty(c, "pipeline", &tmp);
    if (!sec) {
        return TEMPER_ENOMEM;
    }
    struct temper_optset set = { pipeline_options, &keys };
    int rc = temper_options_apply(&set, 1, sec, 0, d);
    const struct temper_ini_entry *e = temper_ini_last(sec, "stages");
    if (rc != TEMPER_ENOMEM && keys.stages.n > 0) {
        c->chain = calloc(keys.stages.n, sizeof *c->chain);
        rc = c->chain ? TEMPER_OK : TEMPER_ENOMEM;
    }
    for (size_t i = 0; rc != TEMPER_ENOMEM && i < keys.stages.n; i++) {
        rc = add_stage(c, keys.stages.v[i], e, d);
    }
    for (size_t i = 0; rc != TEMPER_ENOMEM && i < c->n_plugins; i++) {
        const struct temper_conf_plugin *p = c->plugins[i];
        check_after(c, p, d);
        if (p->chain_pos < 0 && p->kind != TEMPER_KIND_TRACKER &&
            p->kind != TEMPER_KIND_STORE) {
            temper_diag_warn(d, p->file, p->line, "[%s \"%s\"] is not listed in [pipeline] "
                             "stages and will not run", temper_kind_str(p->kind), p->instance);
        }
    }
    temper_options_free(pipeline_options, &keys);
    temper_ini_section_free(tmp);
    return rc == TEMPER_ENOMEM ? rc : TEMPER_OK;
}

/* ---- loading ----------------------------------------------------------- */

static int load_all(struct temper_config *c, const char *const *dirs, size_t n_dirs,
                    struct temper_diags *d)
{
    int rc = temper_ini_read_file(c->ini, c->path, d);
    if (rc == TEMPER_ENOMEM || temper_ini_file_count(c->ini) == 0) {
        return rc == TEMPER_OK ? TEMPER_EINVAL : rc;
    }
    rc = load_core(c, dirs, n_dirs, d);
    if (!c->loader) {
        return rc == TEMPER_ENOMEM ? rc : TEMPER_EINVAL; /* reported by load_core */
    }
    for (size_t i = 0; i < temper_ini_count(c->ini); i++) {
        rc = classify(c, temper_ini_at(c->ini, i), d);
        if (rc == TEMPER_ENOMEM) {
            return rc;
        }
    }
    rc = load_store(c, d);
    rc = rc == TEMPER_OK ? load_sla(c, d) : rc;
    rc = rc == TEMPER_OK ? load_chain(c, d) : rc;
    rc = rc == TEMPER_OK ? temper_config_load_images(c, d) : rc;
    return rc == TEMPER_ENOMEM ? rc : TEMPER_OK;
}

int temper_config_load(const char *path, const char *const *dirs, size_t n_dirs,
                       struct temper_diags *d, struct temper_config **out)
{
    *out = NULL;
    size_t errors = d->n_errors;
    struct temper_config *c = calloc(1, sizeof *c);
    if (c) {
        c->path = strdup(path);
        c->ini = temper_ini_new();
    }
    if (!c || !c->path || !c->ini) {
        temper_config_free(c);
        return TEMPER_ENOMEM;
    }
    int rc = load_all(c, dirs, n_dirs, d);
    if (rc == TEMPER_OK && (d->n_errors > errors || d->oom)) {
        rc = d->oom ? TEMPER_ENOMEM : TEMPER_EINVAL;
    }
    if (rc != TEMPER_OK) {
        temper_config_free(c);
        return rc;
    }
    *out = c;
    return TEMPER_OK;
}

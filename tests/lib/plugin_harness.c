/* temper — plugin test harness (see plugin_harness.h). */
#include "config.h"
#include "tests/lib/plugin_harness.h"
#include "core/options.h"
#include "core/pipeline_priv.h"

#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PH_KV_MAX 100000

struct ph_kv_entry {
    char *ns;
    char *key;
    char *value;
};

struct ph_kv {
    struct ph_kv_entry *v;
    size_t n, cap;
};

static struct ph_kv_entry *kv_find(struct ph_kv *kv, const char *ns, const char *key)
{
    for (size_t i = 0; i < kv->n; i++) {
        if (strcmp(kv->v[i].ns, ns) == 0 && strcmp(kv->v[i].key, key) == 0) {
            return &kv->v[i];
        }
    }
    return NULL;
}

static int kv_get(void *ctx, const char *ns, const char *key, char **value)
{
    struct ph_kv_entry *e = kv_find(ctx, ns, key);
    *value = NULL;
    if (!e) {
        return TEMPER_ENOTFOUND;
    }
    *value = strdup(e->value);
    return *value ? TEMPER_OK : TEMPER_ENOMEM;
}

static void kv_drop(struct ph_kv *kv, struct ph_kv_entry *e)
{
    free(e->ns);
    free(e->key);
    free(e->value);
    *e = kv->v[--kv->n];
}

static int kv_put(void *ctx, const char *ns, const char *key, const char *value)
{
    struct ph_kv *kv = ctx;
    struct ph_kv_entry *e = kv_find(kv, ns, key);
    if (!value) {
        if (e) {
            kv_drop(kv, e);
        }
        return TEMPER_OK;
    }
    char *v = strdup(value);
    if (!v) {
        return TEMPER_ENOMEM;
    }
    if (e) {
        free(e->value);
        e->value = v;
        return TEMPER_OK;
    }
    if (kv->n == PH_KV_MAX) {
        free(v);
        return TEMPER_ELIMIT;
    }
    if (kv->n == kv->cap) {
        size_t ncap = kv->cap ? kv->cap * 2 : 16;
        struct ph_kv_entry *nv = realloc(kv->v, ncap * sizeof *nv);
        if (!nv) {
            free(v);
            return TEMPER_ENOMEM;
        }
        kv->v = nv;
        kv->cap = ncap;
    }
    struct ph_kv_entry *ne = &kv->v[kv->n];
    ne->ns = strdup(ns);
    ne->key = strdup(key);
    ne->value = v;
    if (!ne->ns || !ne->key) {
        free(ne->ns);
        free(ne->key);
        free(v);
        return TEMPER_ENOMEM;
    }
    kv->n++;
    return TEMPER_OK;
}

static const struct temper_host_ops ph_host = { .kv_get = kv_get, .kv_put = kv_put };

static void kv_free(struct ph_kv *kv)
{
    if (!kv) {
        return;
    }
    while (kv->n) {
        kv_drop(kv, &kv->v[kv->n - 1]);
    }
    free(kv->v);
    free(kv);
}

int ph_fill(const struct temper_option *opts, size_t conf_size, const char *const *kvs,
            void **conf, char **err)
{
    *err = NULL;
    *conf = calloc(1, conf_size ? conf_size : 1);
    if (!*conf) {
        return TEMPER_ENOMEM;
    }
    int rc = TEMPER_OK;
    for (size_t i = 0; opts && rc == TEMPER_OK && opts[i].type != TEMPER_OPT_END; i++) {
        if (opts[i].def) {
            rc = temper_option_set(&opts[i], *conf, opts[i].def, NULL, err);
        }
    }
    /* user values replace defaults: clear a field the first time it is set */
    for (size_t i = 0; kvs && rc == TEMPER_OK && kvs[i]; i++) {
        const char *eq = strchr(kvs[i], '=');
        char key[128];
        size_t kl = eq ? (size_t)(eq - kvs[i]) : 0;
        if (!eq || kl == 0 || kl >= sizeof key) {
            *err = temper_strdupf("bad harness setting '%s'", kvs[i]);
            rc = TEMPER_EINVAL;
            break;
        }
        memcpy(key, kvs[i], kl);
        key[kl] = '\0';
        const struct temper_option *o = temper_option_find(opts, key);
        if (!o) {
            *err = temper_strdupf("unknown option '%s'", key);
            rc = TEMPER_EINVAL;
            break;
        }
        int first = 1;
        for (size_t k = 0; k < i; k++) {
            first &= !(strncmp(kvs[k], kvs[i], kl + 1) == 0);
        }
        if (first) {
            struct temper_option one[2] = { *o, TEMPER_OPTION_END };
            temper_options_free(one, *conf);
        }
        rc = temper_option_set(o, *conf, eq + 1, NULL, err);
    }
    for (size_t i = 0; opts && rc == TEMPER_OK && opts[i].type != TEMPER_OPT_END; i++) {
        int given = opts[i].def != NULL;
        size_t kl = strlen(opts[i].key);
        for (size_t k = 0; kvs && kvs[k] && !given; k++) {
            given = strncmp(kvs[k], opts[i].key, kl) == 0 && kvs[k][kl] == '=';
        }
        if ((opts[i].flags & TEMPER_OPT_REQUIRED) && !given) {
            *err = temper_strdupf("required option '%s' missing", opts[i].key);
            rc = TEMPER_EINVAL;
        }
    }
    if (rc != TEMPER_OK) {
        ph_free_conf(opts, *conf);
        *conf = NULL;
    }
    return rc;
}

void ph_free_conf(const struct temper_option *opts, void *conf)
{
    if (conf) {
        temper_options_free(opts, conf);
        free(conf);
    }
}

static int make_dirs(struct ph *h)
{
    memcpy(h->dir, "/tmp/temper-ph-XXXXXX", 22);
    if (!mkdtemp(h->dir)) {
        return TEMPER_EIO;
    }
    char work[96], cache[96];
    snprintf(work, sizeof work, "%s/work", h->dir);
    snprintf(cache, sizeof cache, "%s/cache", h->dir);
    if (mkdir(work, 0700) != 0 || mkdir(cache, 0700) != 0) {
        return TEMPER_EIO;
    }
    return temper_stage_set_dirs(h->st, work, cache);
}

int ph_load(struct ph *h, enum temper_kind kind, const char *name, const char *const *kvs,
            char **err)
{
    memset(h, 0, sizeof *h);
    *err = NULL;
    if (setenv("TEMPER_NO_INSTALLED_PLUGINS", "1", 1) != 0) {
        return TEMPER_EIO;
    }
    LTDL_SET_PRELOADED_SYMBOLS();
    const char *plugins = getenv("TEMPER_PLUGINS");
    const char *dirs[1] = { plugins ? plugins : "plugins" };
    int rc = temper_loader_new(dirs, 1, &h->loader, err);
    if (rc == TEMPER_OK) {
        rc = temper_loader_load(h->loader, kind, name, &h->mod, err);
    }
    if (rc == TEMPER_OK) {
        rc = ph_fill(h->mod->desc->options, h->mod->desc->conf_size, kvs, &h->conf, err);
    }
    if (rc == TEMPER_OK) {
        h->st = temper_stage_new(h->mod->desc, "test");
        h->arts = temper_artlist_new();
        h->kv = calloc(1, sizeof *h->kv);
        rc = h->st && h->arts && h->kv ? make_dirs(h) : TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK) {
        temper_stage_set_host(h->st, &ph_host, h->kv);
        temper_stage_set_artifacts(h->st, h->arts);
    } else if (!*err) {
        *err = strdup(temper_rc_str(rc));
    }
    return rc;
}

int ph_open(struct ph *h)
{
    int rc = h->mod->desc->open ? h->mod->desc->open(h->st, h->conf, &h->state) : TEMPER_OK;
    h->opened = rc == TEMPER_OK;
    return rc;
}

void ph_close(struct ph *h)
{
    if (h->opened && h->mod->desc->close) {
        h->mod->desc->close(h->state);
    }
    if (h->mod) {
        ph_free_conf(h->mod->desc->options, h->conf);
    }
    temper_stage_free(h->st);
    temper_artlist_free(h->arts);
    if (!h->kv_borrowed) {
        kv_free(h->kv);
    }
    if (h->dir[0]) {
        (void)temper_rm_rf(h->dir);
    }
    temper_loader_free(h->loader);
    memset(h, 0, sizeof *h);
}

const void *ph_ops(const struct ph *h)
{
    return h->mod ? h->mod->desc->ops : NULL;
}

void ph_share_kv(struct ph *h, const struct ph *from)
{
    if (!h->kv_borrowed) {
        kv_free(h->kv);
    }
    h->kv = from->kv;
    h->kv_borrowed = 1;
    temper_stage_set_host(h->st, &ph_host, h->kv);
}

const char *ph_state(const struct ph *h, const char *key)
{
    char ns[160];
    snprintf(ns, sizeof ns, "%s.%s", temper_kind_str(h->mod->desc->kind),
             temper_stage_name(h->st));
    struct ph_kv_entry *e = kv_find(h->kv, ns, key);
    return e ? e->value : NULL;
}

size_t ph_state_count(const struct ph *h)
{
    return h->kv ? h->kv->n : 0;
}

size_t ph_artifact_count(const struct ph *h)
{
    return temper_artlist_count(h->arts);
}

const struct temper_artifact *ph_artifact(const struct ph *h, size_t i)
{
    return temper_artlist_at(h->arts, i);
}

void ph_clear_artifacts(struct ph *h)
{
    temper_artlist_free(h->arts);
    h->arts = temper_artlist_new();
    temper_stage_set_artifacts(h->st, h->arts);
}

static FILE *log_file;

int ph_log_capture(void)
{
    log_file = tmpfile();
    if (!log_file) {
        return TEMPER_EIO;
    }
    temper_log_set_stream(log_file);
    temper_log_set_level(TEMPER_LOG_LVL_DEBUG);
    return TEMPER_OK;
}

char *ph_log_text(void)
{
    if (!log_file) {
        return NULL;
    }
    fflush(log_file);
    long n = ftell(log_file);
    char *buf = n >= 0 ? calloc(1, (size_t)n + 1) : NULL;
    if (buf) {
        rewind(log_file);
        size_t got = fread(buf, 1, (size_t)n, log_file);
        buf[got] = '\0';
        (void)fseek(log_file, 0, SEEK_END);
    }
    return buf;
}

void ph_log_release(void)
{
    temper_log_set_stream(NULL);
    if (log_file) {
        fclose(log_file);
        log_file = NULL;
    }
}

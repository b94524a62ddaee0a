/* temper — command runtime (see runtime.h). */
#include "config.h"
#include "runtime.h"
#include "pipeline_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int locked_kv_get(void *ctx, const char *ns, const char *key, char **value)
{
    struct temper_runtime *rt = ctx;
    pthread_mutex_lock(&rt->lock);
    int rc = rt->store.ops->kv_get(rt->store.state, ns, key, value);
    pthread_mutex_unlock(&rt->lock);
    return rc;
}

static int locked_kv_put(void *ctx, const char *ns, const char *key, const char *value)
{
    struct temper_runtime *rt = ctx;
    pthread_mutex_lock(&rt->lock);
    int rc = rt->store.ops->kv_put(rt->store.state, ns, key, value);
    pthread_mutex_unlock(&rt->lock);
    return rc;
}

const struct temper_host_ops temper_runtime_host_ops = {
    .kv_get = locked_kv_get,
    .kv_put = locked_kv_put,
};

int temper_parse_day_end(const char *s, long long *ms)
{
    *ms = 0;
    if (!s || !*s) {
        return TEMPER_OK;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%d", &tm);
    if (!end || *end) {
        return TEMPER_EINVAL;
    }
    time_t t = timegm(&tm);
    if (t == (time_t)-1) {
        return TEMPER_EINVAL;
    }
    *ms = ((long long)t + 86400) * 1000 - 1;
    return TEMPER_OK;
}

struct keep_ctx {
    char *pinned;
    char *digest;
    int same;          /* the record already says what the definition says */
    const struct temper_image_def *def;
    long long until;
};

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int keep_image(void *ctx, const struct temper_image_record *img)
{
    struct keep_ctx *k = ctx;
    k->pinned = img->pinned_version ? strdup(img->pinned_version) : NULL;
    k->digest = img->last_digest ? strdup(img->last_digest) : NULL;
    k->same = same_str(img->base, k->def->base) &&
              same_str(img->distribution, k->def->distribution) &&
              img->support_until == k->until;
    return 0;
}

/* Record the definitions' names, bases, distributions and support windows,
 * keeping what the store learnt (pinned version, last digest). */
static int sync_images(struct temper_runtime *rt)
{
    const struct temper_store_ops *ops = rt->store.ops;
    for (size_t i = 0; i < rt->cfg->n_images; i++) {
        const struct temper_image_def *def = &rt->cfg->images[i]->def;
        long long until = 0;
        int rc = temper_parse_day_end(def->support_until, &until);
        if (rc != TEMPER_OK) {
            return temper_fail(rt->store.st, rc, "%s: support_until '%s' is not YYYY-MM-DD",
                               def->path, def->support_until);
        }
        struct keep_ctx k = { NULL, NULL, 0, def, until };
        rc = ops->image_get(rt->store.state, def->name, keep_image, &k);
        /* an unchanged record is not rewritten: a worker starting while
         * another publishes must not put back an older pinned version */
        if ((rc == TEMPER_OK && !k.same) || rc == TEMPER_ENOTFOUND) {
            struct temper_image_record rec = {
                .size = sizeof rec, .name = def->name, .base = def->base,
                .distribution = def->distribution, .support_until = until,
                .pinned_version = k.pinned, .last_digest = k.digest,
            };
            rc = ops->image_put(rt->store.state, &rec);
        }
        free(k.pinned);
        free(k.digest);
        if (rc != TEMPER_OK) {
            return rc;
        }
    }
    return TEMPER_OK;
}

int temper_runtime_open(struct temper_runtime *rt, const char *file, const char *const *dirs,
                        size_t n_dirs, FILE *diag)
{
    memset(rt, 0, sizeof *rt);
    pthread_mutex_init(&rt->lock, NULL);
    struct temper_diags d;
    temper_diags_init(&d);
    int rc = temper_config_load(file, dirs, n_dirs, &d, &rt->cfg);
    temper_diags_sort(&d);
    temper_diags_print(&d, diag);
    temper_diags_cleanup(&d);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (!rt->cfg->store || !rt->cfg->store->module) {
        fprintf(diag, "%s: no store configured\n", file);
        return TEMPER_EINVAL;
    }
    char *err = NULL;
    rc = temper_store_open(rt->cfg->store->module, rt->cfg->store->conf, &rt->store, &err);
    if (rc != TEMPER_OK) {
        fprintf(diag, "temper: %s\n", err ? err : temper_rc_str(rc));
        free(err);
        return rc == TEMPER_EINVAL ? TEMPER_EIO : rc;
    }
    rt->store_open = 1;
    rc = sync_images(rt);
    if (rc != TEMPER_OK) {
        const char *e = temper_stage_error(rt->store.st);
        fprintf(diag, "temper: cannot record the image definitions: %s\n",
                e ? e : temper_rc_str(rc));
    }
    return rc;
}

void temper_runtime_close(struct temper_runtime *rt)
{
    if (rt->store_open) {
        temper_store_close(&rt->store);
    }
    temper_config_free(rt->cfg);
    pthread_mutex_destroy(&rt->lock);
    memset(rt, 0, sizeof *rt);
}

int temper_runtime_open_stage(struct temper_runtime *rt, const struct temper_conf_plugin *cp,
                              const char *sub, struct temper_open_stage *os, char **err)
{
    memset(os, 0, sizeof *os);
    *err = NULL;
    os->cp = cp;
    const struct temper_plugin *d = cp->module->desc;
    char *work = temper_strdupf("%s/%s/%s", rt->cfg->core.workdir, sub, cp->id);
    char *cache = temper_strdupf("%s/%s", rt->cfg->core.cache_dir, cp->module->module);
    os->st = temper_stage_new(d, cp->instance);
    os->arts = temper_artlist_new();
    int rc = work && cache && os->st && os->arts ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && (temper_mkdir_p(work, 0700) != TEMPER_OK ||
                            temper_mkdir_p(cache, 0700) != TEMPER_OK)) {
        *err = temper_strdupf("%s: cannot create %s or %s: %s", cp->id, work, cache,
                              strerror(errno));
        rc = TEMPER_EIO;
    }
    if (rc == TEMPER_OK) {
        rc = temper_stage_set_dirs(os->st, work, cache);
    }
    if (rc == TEMPER_OK) {
        temper_stage_set_host(os->st, &temper_runtime_host_ops, rt);
        temper_stage_set_artifacts(os->st, os->arts);
        rc = d->open ? d->open(os->st, cp->conf, &os->state) : TEMPER_OK;
        os->opened = rc == TEMPER_OK;
        if (rc != TEMPER_OK && !*err) {
            const char *e = temper_stage_error(os->st);
            *err = temper_strdupf("%s: %s", cp->id, e ? e : temper_rc_str(rc));
        }
    }
    free(work);
    free(cache);
    if (rc != TEMPER_OK && !*err) {
        *err = strdup(temper_rc_str(rc));
    }
    return rc;
}

void temper_runtime_close_stage(struct temper_open_stage *os)
{
    if (os->opened && os->cp->module->desc->close) {
        os->cp->module->desc->close(os->state);
    }
    temper_stage_free(os->st);
    temper_artlist_free(os->arts);
    memset(os, 0, sizeof *os);
}

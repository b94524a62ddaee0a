/* temper — opening the store plugin and lending its key/value space to the
 * stages (the host hooks of sdk/host.h). */
#include "config.h"
#include "pipeline.h"
#include "sdk/host.h"

#include <stdlib.h>
#include <string.h>

static int host_kv_get(void *ctx, const char *ns, const char *key, char **value)
{
    struct temper_store *s = ctx;
    return s->ops->kv_get(s->state, ns, key, value);
}

static int host_kv_put(void *ctx, const char *ns, const char *key, const char *value)
{
    struct temper_store *s = ctx;
    return s->ops->kv_put(s->state, ns, key, value);
}

const struct temper_host_ops temper_store_host_ops = {
    .kv_get = host_kv_get,
    .kv_put = host_kv_put,
};

int temper_store_open(const struct temper_module *mod, const void *conf,
                      struct temper_store *out, char **err)
{
    memset(out, 0, sizeof *out);
    *err = NULL;
    if (mod->desc->kind != TEMPER_KIND_STORE) {
        *err = temper_strdupf("plugin %s is not a store", mod->module);
        return TEMPER_EINVAL;
    }
    out->mod = mod;
    out->ops = mod->desc->ops;
    out->st = temper_stage_new(mod->desc, "store");
    if (!out->st) {
        return TEMPER_ENOMEM;
    }
    int rc = TEMPER_OK;
    if (mod->desc->open) {
        rc = mod->desc->open(out->st, conf, &out->state);
    }
    if (rc != TEMPER_OK) {
        const char *e = temper_stage_error(out->st);
        *err = temper_strdupf("store %s: %s", mod->module, e ? e : temper_rc_str(rc));
        temper_stage_free(out->st);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

void temper_store_close(struct temper_store *s)
{
    if (!s || !s->mod) {
        return;
    }
    if (s->mod->desc->close) {
        s->mod->desc->close(s->state);
    }
    temper_stage_free(s->st);
    memset(s, 0, sizeof *s);
}

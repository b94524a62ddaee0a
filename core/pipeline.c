/* temper — the pipeline engine (see pipeline.h). */
#include "config.h"
#include "pipeline.h"
#include "pipeline_priv.h"
#include "sdk/host.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>


void temper_run_result_cleanup(struct temper_run_result *r)
{
    if (!r) {
        return;
    }
    free(r->failed_stage);
    free(r->error);
    free(r->image_digest);
    free(r->report_dir);
    memset(r, 0, sizeof *r);
}

static int chain_kind(enum temper_kind k)
{
    return k == TEMPER_KIND_GUARD || k == TEMPER_KIND_BUILDER || k == TEMPER_KIND_SUITE ||
           k == TEMPER_KIND_ATTEST || k == TEMPER_KIND_SIGNER || k == TEMPER_KIND_PUBLISH;
}

static void close_stage(struct pstage *ps)
{
    if (ps->st && ps->opened && ps->spec->mod->desc->close) {
        ps->spec->mod->desc->close(ps->state);
    }
    temper_stage_free(ps->st);
    free(ps->label);
    free(ps->cachedir);
    memset(ps, 0, sizeof *ps);
}

void temper_pipeline_free(struct temper_pipeline *p)
{
    if (!p) {
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        close_stage(&p->stages[i]);
    }
    free(p->stages);
    free(p->workdir);
    free(p->cachedir);
    free(p);
}

const struct temper_stage *temper_pipeline_stage(const struct temper_pipeline *p, size_t i)
{
    return p && i < p->n ? p->stages[i].st : NULL;
}

void temper_pipeline_set_notify(struct temper_pipeline *p, const struct temper_core_conf *core)
{
    p->notify = core;
}

void temper_pipeline_keep_workdirs(struct temper_pipeline *p, int keep)
{
    p->keep = keep;
}

void temper_pipeline_cancel(struct temper_pipeline *p)
{
    p->cancel = 1;
}

static int open_stage(struct temper_pipeline *p, struct pstage *ps,
                      const struct temper_stage_spec *spec, char **err)
{
    const struct temper_plugin *d = spec->mod->desc;
    ps->spec = spec;
    ps->label = temper_strdupf("%s.%s", temper_kind_str(spec->kind), spec->instance);
    ps->cachedir = p->cachedir ? temper_strdupf("%s/%s", p->cachedir, spec->mod->module)
                               : NULL;
    ps->st = temper_stage_new(d, spec->instance);
    if (!ps->label || !ps->st || (p->cachedir && !ps->cachedir)) {
        return TEMPER_ENOMEM;
    }
    if (!chain_kind(spec->kind) || d->kind != spec->kind) {
        *err = temper_strdupf("stage %s: a %s plugin cannot be a pipeline stage", ps->label,
                              temper_kind_str(d->kind));
        return TEMPER_EINVAL;
    }
    if (ps->cachedir && temper_mkdir_p(ps->cachedir, 0700) != TEMPER_OK) {
        *err = temper_strdupf("stage %s: cannot create cache %s: %s", ps->label,
                              ps->cachedir, strerror(errno));
        return TEMPER_EIO;
    }
    if (temper_stage_set_dirs(ps->st, NULL, ps->cachedir) != TEMPER_OK) {
        return TEMPER_ENOMEM;
    }
    if (p->store) {
        temper_stage_set_host(ps->st, &temper_store_host_ops, p->store);
    }
    temper_stage_set_cancel(ps->st, &p->cancel);
    int rc = d->open ? d->open(ps->st, spec->conf, &ps->state) : TEMPER_OK;
    if (rc != TEMPER_OK) {
        const char *e = temper_stage_error(ps->st);
        *err = temper_strdupf("stage %s: %s", ps->label, e ? e : temper_rc_str(rc));
        return rc;
    }
    ps->opened = 1;
    return TEMPER_OK;
}

int temper_pipeline_new(const struct temper_stage_spec *specs, size_t n,
                        struct temper_store *store, const char *workdir,
                        const char *cachedir, struct temper_pipeline **out, char **err)
{
    *out = NULL;
    *err = NULL;
    if (n > PIPELINE_MAX_STAGES || !workdir) {
        *err = temper_strdupf(n > PIPELINE_MAX_STAGES ? "too many stages" : "no workdir");
        return TEMPER_EINVAL;
    }
    struct temper_pipeline *p = calloc(1, sizeof *p);
    if (!p || !(p->stages = calloc(n ? n : 1, sizeof *p->stages)) ||
        !(p->workdir = strdup(workdir)) || (cachedir && !(p->cachedir = strdup(cachedir)))) {
        temper_pipeline_free(p);
        return TEMPER_ENOMEM;
    }
    p->store = store;
    int rc = TEMPER_OK;
    for (size_t i = 0; i < n && rc == TEMPER_OK; i++) {
        p->n = i + 1;
        rc = open_stage(p, &p->stages[i], &specs[i], err);
    }
    if (rc != TEMPER_OK) {
        if (!*err) {
            *err = strdup(temper_rc_str(rc));
        }
        temper_pipeline_free(p);
        return rc;
    }
    *out = p;
    return TEMPER_OK;
}

/* temper — one queued job through the whole chain (see jobexec.h). */
#include "config.h"
#include "jobexec.h"
#include "cascade.h"
#include "pipeline_priv.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXEC_MAX_STAGES 64
#define EXEC_MAX_CASES 64
#define EXEC_RETRY_MS 30000LL          /* first retry; doubles per attempt */
#define EXEC_RETRY_MAX_MS 3600000LL
#define EXEC_MAX_CHANGE 65536

struct temper_exec {
    struct temper_runtime *rt;
    struct temper_graph *graph;
    struct temper_store hb_store;      /* the heartbeat thread's own connection */
    int hb_open;
    struct temper_exec_opts o;
    char *worker;
    char *pipe_digest;
    char builder_id[256];              /* [core] builder_id, or the host name */
    volatile int cancel;
    struct temper_pipeline *running;
    long long *only;                   /* temper run IMAGE...: the job set */
    size_t *n_only, cap_only;
};

/* Everything one run needs, built from the config and the job. */
struct job_plan {
    struct temper_stage_spec specs[EXEC_MAX_STAGES];
    size_t n;
    int has_publish;
    struct temper_case_set sets[EXEC_MAX_STAGES];
    const void *cases[EXEC_MAX_STAGES][EXEC_MAX_CASES];
    struct temper_image_def def;
    char *pinned;
    char *def_digest;
    char *layout;                      /* where the builder writes, kept if published */
    struct temper_published base;
    struct temper_artifact *base_art;
    struct temper_artifact *change;
    struct temper_artifact *diff;       /* the change's upstream diff, or NULL */
    bool no_diff;                       /* its tracker has no diff to give */
    const char *tags[2];
    size_t n_tags;
    bool approved;
};

static char *file_digest(const char *path)
{
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    if (!path || temper_sha256_file(path, hex, NULL) != TEMPER_OK) {
        return NULL;
    }
    return temper_strdupf("sha256:%s", hex);
}

int temper_exec_new(struct temper_runtime *rt, const struct temper_exec_opts *o,
                    struct temper_exec **out)
{
    *out = NULL;
    struct temper_exec *x = calloc(1, sizeof *x);
    if (!x) {
        return TEMPER_ENOMEM;
    }
    x->rt = rt;
    x->o = *o;
    x->worker = strdup(o->worker);
    x->pipe_digest = file_digest(rt->cfg->path);
    if (rt->cfg->core.builder_id) {
        snprintf(x->builder_id, sizeof x->builder_id, "%s", rt->cfg->core.builder_id);
    } else if (gethostname(x->builder_id, sizeof x->builder_id) != 0) {
        snprintf(x->builder_id, sizeof x->builder_id, "localhost");
    }
    x->builder_id[sizeof x->builder_id - 1] = '\0';
    int rc = x->worker ? temper_graph_from_config(rt->cfg, &x->graph) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        char *err = NULL;
        const struct temper_conf_plugin *sp = rt->cfg->store;
        rc = temper_store_open(sp->module, sp->conf, &x->hb_store, &err);
        x->hb_open = rc == TEMPER_OK;
        if (rc != TEMPER_OK) {
            temper_log(NULL, TEMPER_LOG_LVL_ERROR, "heartbeat store: %s",
                       err ? err : temper_rc_str(rc));
        }
        free(err);
    }
    if (rc != TEMPER_OK) {
        temper_exec_free(x);
        return rc;
    }
    *out = x;
    return TEMPER_OK;
}

void temper_exec_free(struct temper_exec *x)
{
    if (!x) {
        return;
    }
    if (x->hb_open) {
        temper_store_close(&x->hb_store);
    }
    temper_graph_free(x->graph);
    free(x->worker);
    free(x->pipe_digest);
    free(x);
}

void temper_exec_cancel(struct temper_exec *x)
{
    x->cancel = 1;
    if (x->running) {
        temper_pipeline_cancel(x->running);
    }
}

const struct temper_graph *temper_exec_graph(const struct temper_exec *x)
{
    return x->graph;
}

void temper_exec_restrict(struct temper_exec *x, long long *ids, size_t *n, size_t cap)
{
    x->only = ids;
    x->n_only = n;
    x->cap_only = cap;
}

static int in_set(const struct temper_exec *x, long long id)
{
    for (size_t i = 0; x->only && i < *x->n_only; i++) {
        if (x->only[i] == id) {
            return 1;
        }
    }
    return !x->only;
}

int temper_exec_return(struct temper_exec *x, long long job_id, long long not_before)
{
    struct temper_store *s = &x->rt->store;
    int rc = s->ops->job_park(s->state, job_id, x->worker);
    return rc == TEMPER_OK ? s->ops->job_release(s->state, job_id, not_before) : rc;
}

/* ---- the plan ---------------------------------------------------------- */

/* The chain with the image's own builder, and its [test] blocks per suite. */
static int plan_chain(const struct temper_config *c, const struct temper_conf_image *img,
                      struct job_plan *jp)
{
    for (size_t i = 0; i < c->n_chain; i++) {
        const struct temper_conf_plugin *cp = c->chain[i];
        if (!cp->keys.enabled || !cp->module) {
            continue;
        }
        if (jp->n == EXEC_MAX_STAGES) {
            return TEMPER_ELIMIT;
        }
        if (cp->kind == TEMPER_KIND_BUILDER && img->builder && img->builder->module &&
            cp != img->builder) {
            continue; /* the chain's other builders build other images */
        }
        jp->has_publish |= cp->kind == TEMPER_KIND_PUBLISH;
        size_t k = jp->n++;
        jp->specs[k] = (struct temper_stage_spec){ cp->kind, cp->instance, cp->module,
                                                   cp->conf };
        jp->sets[k] = (struct temper_case_set){ cp->instance, jp->cases[k], 0 };
        for (size_t t = 0; cp->kind == TEMPER_KIND_SUITE && t < img->n_tests; t++) {
            if (img->tests[t].suite == cp && jp->sets[k].n < EXEC_MAX_CASES) {
                jp->cases[k][jp->sets[k].n++] = img->tests[t].conf;
            }
        }
    }
    return TEMPER_OK;
}

/* The newest change of the job as a change artifact (upstream and package
 * jobs; a cascade or manual job has no upstream diff to review). */
static int plan_change(const struct temper_job *job, struct job_plan *jp)
{
    if (!job->change || !job->reason || (strcmp(job->reason, "upstream") != 0 &&
                                         strcmp(job->reason, "package") != 0)) {
        return TEMPER_OK;
    }
    json_object *arr = strlen(job->change) < EXEC_MAX_CHANGE ? json_tokener_parse(job->change)
                                                             : NULL;
    size_t n = arr && json_object_is_type(arr, json_type_array)
                   ? json_object_array_length(arr) : 0;
    /* the newest upstream or package change: a cascade entry merged after it
     * (its base was republished) must not hide it from the guards */
    json_object *last = n ? json_object_array_get_idx(arr, n - 1) : NULL;
    for (size_t i = n; i > 0; i--) {
        json_object *o = json_object_array_get_idx(arr, i - 1), *t = NULL;
        const char *ts = json_object_is_type(o, json_type_object) &&
                                 json_object_object_get_ex(o, TEMPER_ATTR_TRACKER, &t)
                             ? json_object_get_string(t)
                             : NULL;
        if (json_object_is_type(o, json_type_object) && (!ts || strcmp(ts, "cascade") != 0)) {
            last = o;
            break;
        }
    }
    int rc = TEMPER_OK;
    if (last && json_object_is_type(last, json_type_object)) {
        jp->change = temper_artifact_new(TEMPER_ART_CHANGE, job->image);
        rc = jp->change ? TEMPER_OK : TEMPER_ENOMEM;
        json_object_object_foreach(last, k, v) {
            if (rc == TEMPER_OK && json_object_is_type(v, json_type_string)) {
                rc = temper_artifact_set(jp->change, k, json_object_get_string(v));
            }
        }
    }
    json_object_put(arr);
    return rc;
}

/* The upstream diff of the job's change, fetched through the diff() of the
 * tracker that reported it, for the guards to review.  A tracker without
 * diff() (packages, OCI digests) has no diff: jp->no_diff, and the guards
 * have nothing to read.  A failure fails the job (it is retried): a change
 * is never taken unreviewed because its diff could not be fetched. */
static int plan_diff(struct temper_exec *x, const struct temper_job *job, struct job_plan *jp,
                     char **why)
{
    const char *tr = jp->change ? temper_artifact_get(jp->change, TEMPER_ATTR_TRACKER) : NULL;
    const struct temper_config *c = x->rt->cfg;
    const struct temper_conf_plugin *cp = NULL;
    for (size_t i = 0; tr && i < c->n_plugins && !cp; i++) {
        const struct temper_conf_plugin *p = c->plugins[i];
        if (p->kind == TEMPER_KIND_TRACKER && p->module &&
            (strcmp(p->id, tr) == 0 || strcmp(p->instance, tr) == 0)) {
            cp = p;
        }
    }
    if (tr && strcmp(tr, "cascade") == 0) {
        jp->no_diff = true; /* a republished base carries no upstream code */
        return TEMPER_OK;
    }
    bool guarded = false;
    for (size_t i = 0; i < jp->n; i++) {
        guarded |= jp->specs[i].kind == TEMPER_KIND_GUARD;
    }
    if (!guarded || !cp) {
        return TEMPER_OK; /* nobody reads a diff, or the guards decide without one */
    }
    const struct temper_tracker_ops *ops = cp->module->desc->ops;
    if (!ops->diff) {
        jp->no_diff = true;
        return TEMPER_OK;
    }
    char sub[64];
    snprintf(sub, sizeof sub, "diff/job-%lld", job->id);
    struct temper_open_stage os;
    char *err = NULL;
    int rc = temper_runtime_open_stage(x->rt, cp, sub, &os, &err);
    if (rc == TEMPER_OK) {
        rc = ops->diff(os.state, os.st, jp->change);
        const char *e = rc != TEMPER_OK ? temper_stage_error(os.st) : NULL;
        err = rc != TEMPER_OK ? temper_strdupf("%s: %s", cp->id, e ? e : temper_rc_str(rc))
                              : NULL;
    }
    const struct temper_artifact *d =
        rc == TEMPER_OK ? temper_stage_artifact(os.st, TEMPER_ART_DIFF, 0) : NULL;
    if (d) {
        jp->diff = temper_artifact_dup(d);
        rc = jp->diff ? TEMPER_OK : TEMPER_ENOMEM;
    } else if (rc == TEMPER_OK) {
        jp->no_diff = true;
    }
    if (rc != TEMPER_OK) {
        *why = temper_strdupf("cannot fetch the upstream diff to review: %s",
                              err ? err : temper_rc_str(rc));
    }
    temper_runtime_close_stage(&os);
    free(err);
    return rc;
}

struct review_scan {
    const struct temper_job *job;
    int approved, rejected;
};

static int scan_review(void *ctx, const struct temper_review *r)
{
    struct review_scan *rs = ctx;
    const struct temper_job *j = rs->job;
    int same = (r->job_id && r->job_id == j->id) ||
               (j->version && r->version && r->image && strcmp(r->image, j->image) == 0 &&
                strcmp(r->version, j->version) == 0);
    if (same && r->state == TEMPER_REVIEW_APPROVED) {
        rs->approved = 1;
    } else if (same && r->state == TEMPER_REVIEW_REJECTED) {
        rs->rejected = 1;
    }
    return 0;
}

static int keep_pinned(void *ctx, const struct temper_image_record *img)
{
    char **out = ctx;
    free(*out);
    *out = img->pinned_version ? strdup(img->pinned_version) : NULL;
    return 0;
}

static int base_pkg(void *ctx, const struct temper_package *p)
{
    return temper_artifact_add_package(ctx, p);
}

/* The base image handed to the builder: its published digest, the layout
 * kept for images built on it, and the packages its latest build recorded
 * (a builder that does not read the base's own package database, such as
 * builder_overlay with artifacts only, still carries them, so that a
 * patched base package finds the images built on it). */
static int plan_base(struct temper_store *s, const char *name, const char *variant,
                     struct job_plan *jp)
{
    jp->base_art = temper_artifact_new(TEMPER_ART_IMAGE, name);
    int rc = jp->base_art ? temper_artifact_set(jp->base_art, TEMPER_ATTR_DIGEST,
                                                jp->base.digest)
                          : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && jp->base.layout) {
        rc = temper_artifact_set_path(jp->base_art, jp->base.layout);
    }
    if (rc == TEMPER_OK && s->ops->build_packages) {
        rc = s->ops->build_packages(s->state, name, variant ? variant : "runtime", base_pkg,
                                    jp->base_art);
        rc = rc == TEMPER_ENOTFOUND ? TEMPER_OK : rc;
    }
    return rc;
}

/* The definition with the job's target version (or the pinned one). */
static int plan_def(struct temper_exec *x, const struct temper_conf_image *img,
                    const struct temper_job *job, struct job_plan *jp)
{
    struct temper_store *s = &x->rt->store;
    jp->def = img->def;
    int rc = s->ops->image_get(s->state, img->def.name, keep_pinned, &jp->pinned);
    if (rc != TEMPER_OK && rc != TEMPER_ENOTFOUND) {
        return rc;
    }
    jp->def.version = job->version ? job->version : jp->pinned ? jp->pinned
                                                               : img->def.version;
    if (jp->def.version) {
        jp->tags[jp->n_tags++] = jp->def.version;
    }
    jp->def_digest = file_digest(img->path);
    const char *b = img->def.base;
    if (!b || strncmp(b, "image:", 6) != 0) {
        return TEMPER_OK;
    }
    rc = temper_published_get(s, b + 6, &jp->base);
    if (rc == TEMPER_ENOTFOUND) {
        return TEMPER_ESTATE;
    }
    return rc == TEMPER_OK ? plan_base(s, b + 6, job->variant, jp) : rc;
}

/* A layout of ours: <workdir>/layouts/NAME/..., no "..": the only kind of
 * path read back from the store that is ever removed. */
static int own_layout(const struct temper_exec *x, const char *path)
{
    char *prefix = temper_strdupf("%s/layouts/", x->rt->cfg->core.workdir);
    int ok = prefix && path && strncmp(path, prefix, strlen(prefix)) == 0 &&
             !strstr(path, "/../") && !strstr(path, "/./");
    free(prefix);
    return ok;
}

static void drop_layout(const struct temper_exec *x, const char *path)
{
    if (own_layout(x, path) && temper_rm_rf(path) != TEMPER_OK) {
        temper_log(NULL, TEMPER_LOG_LVL_WARN, "cannot remove %s", path);
    }
}

static int plan_layout(struct temper_exec *x, const struct temper_job *job,
                       struct job_plan *jp)
{
    jp->layout = temper_strdupf("%s/layouts/%s/%lld-%d", x->rt->cfg->core.workdir, job->image,
                                job->id, job->attempts);
    if (!jp->layout) {
        return TEMPER_ENOMEM;
    }
    drop_layout(x, jp->layout); /* a leftover of a killed attempt */
    return temper_mkdir_p(jp->layout, 0700) == TEMPER_OK
               ? TEMPER_OK
               : temper_fail(NULL, TEMPER_EIO, "cannot create %s", jp->layout);
}

static void plan_cleanup(struct job_plan *jp)
{
    free(jp->layout);
    free(jp->pinned);
    free(jp->def_digest);
    temper_published_cleanup(&jp->base);
    temper_artifact_free(jp->base_art);
    temper_artifact_free(jp->change);
    temper_artifact_free(jp->diff);
}

/* ---- settling a job ---------------------------------------------------- */

static long long retry_ms(int attempts)
{
    long long ms = EXEC_RETRY_MS;
    for (int i = 1; i < attempts && ms < EXEC_RETRY_MAX_MS; i++) {
        ms *= 2;
    }
    return ms < EXEC_RETRY_MAX_MS ? ms : EXEC_RETRY_MAX_MS;
}

static int fail_job(struct temper_exec *x, const struct temper_job *job, const char *why)
{
    struct temper_store *s = &x->rt->store;
    temper_log(NULL, TEMPER_LOG_LVL_ERROR, "job %lld (%s) failed: %s", job->id, job->image,
               why);
    int rc = s->ops->job_fail(s->state, job->id, x->worker, why, temper_now_ms(),
                              retry_ms(job->attempts));
    return rc == TEMPER_ESTATE ? TEMPER_OK : rc;
}

/* The chain succeeded: record what was published, cascade, complete. */
static int settle_ok(struct temper_exec *x, const struct temper_job *job,
                     const struct job_plan *jp, const struct temper_run_result *res,
                     enum temper_exec_outcome *out)
{
    struct temper_store *s = &x->rt->store;
    long long now = temper_now_ms();
    /* still ours?  (the heartbeat thread has stopped: this is the last word) */
    int rc = s->ops->job_heartbeat(s->state, job->id, x->worker, now, x->o.lease_ms);
    if (rc == TEMPER_ESTATE) {
        *out = TEMPER_EXEC_LOST;
        return TEMPER_OK;
    }
    struct temper_published old;
    memset(&old, 0, sizeof old);
    if (rc == TEMPER_OK && res->image_digest) {
        struct temper_published p = {
            .digest = res->image_digest, .version = (char *)jp->def.version,
            .base_digest = jp->base.digest, .layout = jp->layout, .run_id = res->run_id,
            .job_id = job->id, .at = now,
        };
        if (temper_published_get(s, job->image, &old) != TEMPER_OK) {
            temper_published_cleanup(&old);
        }
        rc = temper_published_put(s, job->image, &p);
    }
    if (rc == TEMPER_OK && old.layout && strcmp(old.layout, jp->layout) != 0) {
        drop_layout(x, old.layout);
    }
    temper_published_cleanup(&old);
    if (rc == TEMPER_OK && res->image_digest) {
        /* jobs of the cascade join the set of `temper run IMAGE...` */
        size_t n = x->only ? *x->n_only : 0;
        rc = temper_cascade_enqueue(s, x->graph, job->image, res->image_digest,
                                    job->priority, x->only, x->only ? x->cap_only : 0, &n);
        if (x->only) {
            *x->n_only = n < x->cap_only ? n : x->cap_only;
        }
    }
    if (rc == TEMPER_OK) {
        rc = s->ops->job_complete(s->state, job->id, x->worker);
        *out = rc == TEMPER_ESTATE ? TEMPER_EXEC_LOST : TEMPER_EXEC_DONE;
        rc = rc == TEMPER_ESTATE ? TEMPER_OK : rc;
    }
    return rc;
}

static int settle(struct temper_exec *x, const struct temper_job *job,
                  const struct job_plan *jp, const struct temper_run_result *res,
                  enum temper_exec_outcome *out)
{
    struct temper_store *s = &x->rt->store;
    if (res->outcome == TEMPER_RUN_OUTCOME_OK) {
        return settle_ok(x, job, jp, res, out);
    }
    const char *why = res->error ? res->error : "failed";
    if (res->outcome == TEMPER_RUN_OUTCOME_BLOCKED && res->failed_stage &&
        strncmp(res->failed_stage, "guard.", 6) == 0) {
        temper_log(NULL, TEMPER_LOG_LVL_WARN, "job %lld (%s) parked for review: %s", job->id,
                   job->image, why);
        *out = TEMPER_EXEC_PARKED;
        int rc = s->ops->job_park(s->state, job->id, x->worker);
        return rc == TEMPER_ESTATE ? TEMPER_OK : rc;
    }
    *out = res->outcome == TEMPER_RUN_OUTCOME_BLOCKED ? TEMPER_EXEC_BLOCKED
                                                      : TEMPER_EXEC_FAILED;
    return fail_job(x, job, why);
}

/* ---- running a job ----------------------------------------------------- */

struct pending_scan {
    const struct temper_graph *g;
    const struct temper_job *job;
    size_t node;
    int pending;
    long long until;   /* the soonest a pending base can be claimed (0: running now) */
};

static int scan_pending(void *ctx, const struct temper_job *j)
{
    struct pending_scan *ps = ctx;
    if (j->id == ps->job->id || !j->image) {
        return 0;
    }
    size_t other = temper_graph_find(ps->g, j->image);
    if (other != TEMPER_GRAPH_NONE && temper_graph_is_ancestor(ps->g, other, ps->node)) {
        long long at = j->state == TEMPER_JOB_QUEUED ? j->not_before : 0;
        ps->until = !ps->pending || at < ps->until ? at : ps->until;
        ps->pending = 1;
    }
    return 0;
}

/* Whether a base (transitively) of the job's image is queued or running;
 * *until: the soonest one of them can be claimed (a base waiting out a
 * retry backoff keeps its dependents waiting as long, not polled). */
static int base_pending(struct temper_exec *x, const struct temper_job *job, int *pending,
                        long long *until)
{
    struct pending_scan ps = { x->graph, job, temper_graph_find(x->graph, job->image), 0, 0 };
    *pending = 0;
    *until = 0;
    if (ps.node == TEMPER_GRAPH_NONE || !x->graph->nodes[ps.node].n_bases) {
        return TEMPER_OK;
    }
    struct temper_store *s = &x->rt->store;
    unsigned mask = (1u << TEMPER_JOB_QUEUED) | (1u << TEMPER_JOB_RUNNING);
    int rc = s->ops->job_list(s->state, mask, scan_pending, &ps);
    *pending = ps.pending;
    *until = ps.until;
    return rc;
}

static int run_plan(struct temper_exec *x, const struct temper_job *job,
                    const struct temper_conf_image *img, struct job_plan *jp,
                    enum temper_exec_outcome *out)
{
    struct temper_runtime *rt = x->rt;
    struct temper_job_input in = {
        .job_id = job->id, .def = &jp->def, .image_conf = img->build_conf,
        .case_sets = jp->sets, .n_case_sets = jp->n, .variant = job->variant,
        .tags = jp->tags, .n_tags = jp->n_tags, .change = jp->change, .diff = jp->diff,
        .no_diff = jp->no_diff,
        .definition_digest = jp->def_digest, .pipeline_digest = x->pipe_digest,
        .pipeline_uri = rt->cfg->path, .builder_id = x->builder_id,
        .review_approved = jp->approved, .base = jp->base_art,
        .base_digest = jp->base.digest, .worker = x->worker, .layout_dir = jp->layout,
    };
    struct temper_pipeline *p = NULL;
    struct temper_hb *hb = NULL;
    struct temper_run_result res;
    memset(&res, 0, sizeof res);
    char *err = NULL;
    int rc = temper_pipeline_new(jp->specs, jp->n, &rt->store, rt->cfg->core.workdir,
                                 rt->cfg->core.cache_dir, &p, &err);
    if (rc == TEMPER_OK) {
        rc = temper_hb_start(&x->hb_store, p, x->worker, job->id, job->image, x->o.lease_ms,
                             x->o.tty, &hb);
    }
    if (rc == TEMPER_OK) {
        in.progress = temper_hb_progress;
        in.progress_ctx = hb;
        x->running = p;
        if (x->cancel) {
            temper_pipeline_cancel(p);
        }
        rc = temper_pipeline_run(p, &in, &res);
        x->running = NULL;
    }
    int lost = temper_hb_stop(hb);
    if (lost) {
        *out = TEMPER_EXEC_LOST;
    } else if (rc != TEMPER_OK) {
        const char *e = err ? err : temper_stage_error(rt->store.st);
        *out = TEMPER_EXEC_FAILED;
        rc = fail_job(x, job, e ? e : temper_rc_str(rc));
    } else {
        rc = settle(x, job, jp, &res, out);
    }
    if (*out != TEMPER_EXEC_DONE || !res.image_digest) {
        drop_layout(x, jp->layout);
    }
    temper_run_result_cleanup(&res);
    temper_pipeline_free(p);
    free(err);
    return rc;
}

/* The review gate before the chain: a rejected version is skipped, an
 * approved change passes the guards. */
static int review_gate(struct temper_exec *x, const struct temper_job *job,
                       struct job_plan *jp, int *skip)
{
    struct temper_store *s = &x->rt->store;
    struct review_scan rs = { job, 0, 0 };
    unsigned mask = (1u << TEMPER_REVIEW_APPROVED) | (1u << TEMPER_REVIEW_REJECTED);
    int rc = s->ops->review_list(s->state, mask, scan_review, &rs);
    jp->approved = rs.approved;
    *skip = rs.rejected && !rs.approved;
    return rc;
}

static int exec_job(struct temper_exec *x, const struct temper_job *job,
                    enum temper_exec_outcome *out)
{
    struct temper_store *s = &x->rt->store;
    const struct temper_conf_image *img = temper_config_image(x->rt->cfg, job->image);
    *out = TEMPER_EXEC_FAILED;
    if (!img) {
        return fail_job(x, job, "no image of that name in the configuration");
    }
    int pending = 0, skip = 0;
    long long until = 0;
    int rc = base_pending(x, job, &pending, &until);
    if (rc == TEMPER_OK && pending) {
        temper_log(NULL, TEMPER_LOG_LVL_INFO, "job %lld (%s): a base is being rebuilt "
                   "first; deferred", job->id, job->image);
        *out = TEMPER_EXEC_DEFERRED;
        long long next = temper_now_ms() + (x->o.defer_ms > 0 ? x->o.defer_ms : 1000);
        return temper_exec_return(x, job->id, until > next ? until : next);
    }
    struct job_plan *jp = calloc(1, sizeof *jp);
    if (!jp) {
        return TEMPER_ENOMEM;
    }
    rc = rc == TEMPER_OK ? review_gate(x, job, jp, &skip) : rc;
    if (rc == TEMPER_OK && skip) {
        temper_log(NULL, TEMPER_LOG_LVL_INFO, "job %lld (%s %s): the version was rejected "
                   "in review; skipped", job->id, job->image, job->version);
        *out = TEMPER_EXEC_SKIPPED;
        rc = s->ops->job_complete(s->state, job->id, x->worker);
    } else if (rc == TEMPER_OK) {
        int prc = plan_chain(x->rt->cfg, img, jp);
        prc = prc == TEMPER_OK ? plan_change(job, jp) : prc;
        prc = prc == TEMPER_OK ? plan_def(x, img, job, jp) : prc;
        prc = prc == TEMPER_OK ? plan_layout(x, job, jp) : prc;
        char *why = NULL;
        int drc = prc == TEMPER_OK ? plan_diff(x, job, jp, &why) : TEMPER_OK;
        if (drc != TEMPER_OK) {
            temper_log(NULL, TEMPER_LOG_LVL_ERROR, "job %lld (%s): %s", job->id, job->image,
                       why ? why : temper_rc_str(drc));
            rc = fail_job(x, job, why ? why : "cannot fetch the upstream diff to review");
        } else if (prc == TEMPER_ESTATE || prc == TEMPER_ELIMIT) {
            char *e = temper_strdupf("base image %s has not been published yet",
                                     img->def.base ? img->def.base + 6 : "?");
            rc = fail_job(x, job, prc == TEMPER_ELIMIT ? "too many stages in the chain"
                                  : e ? e : "a base image has not been published yet");
            free(e);
        } else {
            rc = prc == TEMPER_OK ? run_plan(x, job, img, jp, out) : prc;
        }
        free(why);
    }
    plan_cleanup(jp);
    free(jp);
    return rc;
}

int temper_exec_next(struct temper_exec *x, enum temper_exec_outcome *outcome,
                     long long *job_id)
{
    struct temper_store *s = &x->rt->store;
    struct temper_job job;
    memset(&job, 0, sizeof job);
    job.size = sizeof job;
    *job_id = 0;
    int rc = s->ops->job_claim(s->state, x->worker, temper_now_ms(), x->o.lease_ms, &job);
    if (rc != TEMPER_OK) {
        return rc;
    }
    *job_id = job.id;
    if (!in_set(x, job.id)) {
        /* not one of ours: back to the queue as it was */
        rc = temper_exec_return(x, job.id, job.not_before);
        temper_job_cleanup(&job);
        return rc == TEMPER_OK ? TEMPER_ENOTFOUND : rc;
    }
    temper_log(NULL, TEMPER_LOG_LVL_INFO, "job %lld: %s (%s%s%s), attempt %d of %d", job.id,
               job.image, job.reason ? job.reason : "manual", job.version ? " " : "",
               job.version ? job.version : "", job.attempts, job.max_attempts);
    rc = exec_job(x, &job, outcome);
    temper_job_cleanup(&job);
    return rc;
}

struct waiting_scan {
    const struct temper_exec *x;
    long long until;
    int waiting;
};

static int scan_waiting(void *ctx, const struct temper_job *j)
{
    struct waiting_scan *ws = ctx;
    if (j->not_before <= ws->until && in_set(ws->x, j->id)) {
        ws->waiting = 1;
    }
    return 0;
}

int temper_exec_waiting(struct temper_exec *x, long long horizon_ms, int *waiting)
{
    struct temper_store *s = &x->rt->store;
    struct waiting_scan ws = { x, temper_now_ms() + horizon_ms, 0 };
    int rc = s->ops->job_list(s->state, 1u << TEMPER_JOB_QUEUED, scan_waiting, &ws);
    *waiting = ws.waiting;
    return rc;
}

/* temper — what each kind of stage gets and gives (DESIGN.md section 2). */
#include "config.h"
#include "pipeline_priv.h"
#include "tags.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* The newest artifact of a type in the run, or NULL. */
static const struct temper_artifact *newest(const struct prun *r, enum temper_art_type t)
{
    const struct temper_artifact *found = NULL;
    for (size_t i = 0; i < temper_artlist_count(r->arts); i++) {
        const struct temper_artifact *a = temper_artlist_at(r->arts, i);
        if (temper_artifact_type(a) == t) {
            found = a;
        }
    }
    return found;
}

static int need_image(struct pstage *ps, const struct temper_artifact *img)
{
    if (img) {
        return TEMPER_OK;
    }
    return temper_fail(ps->st, TEMPER_EINVAL,
                       "no image to work on: put a builder stage before %s", ps->label);
}

static int run_guard(struct prun *r, struct pstage *ps, enum temper_verdict *v)
{
    const struct temper_guard_ops *ops = ps->spec->mod->desc->ops;
    const struct temper_artifact *change = newest(r, TEMPER_ART_CHANGE);
    if (!change) {
        /* a manual or cascaded rebuild has no upstream diff to review */
        TEMPER_LOG_INFO(ps->st, "no upstream change in this job: nothing to review");
        *v = TEMPER_VERDICT_PASS;
        return TEMPER_OK;
    }
    if (r->in->no_diff && !newest(r, TEMPER_ART_DIFF)) {
        /* packages and OCI digests: the tracker has no upstream source to diff */
        TEMPER_LOG_INFO(ps->st, "the change (%s) comes with no upstream diff: nothing to "
                        "review", temper_artifact_get(change, TEMPER_ATTR_TRACKER));
        *v = TEMPER_VERDICT_PASS;
        return TEMPER_OK;
    }
    if (r->in->review_approved) {
        /* the review gate: a person took this change after a block */
        TEMPER_LOG_INFO(ps->st, "change approved in review: passing the gate");
        *v = TEMPER_VERDICT_PASS;
        return TEMPER_OK;
    }
    return ops->review(ps->state, ps->st, change, newest(r, TEMPER_ART_DIFF), v);
}

/* The job's tags are templates (core/tags.h), expanded here for the version
 * being published: the accepted upstream version of the image definition,
 * else the triggering change's new version. */
static int job_tags(struct prun *r, struct pstage *ps, char ***tags, size_t *n)
{
    const struct temper_job_input *in = r->in;
    const char *version = in->def ? in->def->version : NULL;
    if (!version && in->change) {
        version = temper_artifact_get(in->change, TEMPER_ATTR_NEW_VERSION);
    }
    char *err = NULL;
    int rc = temper_tags_expand(ps->st, in->tags, in->n_tags, in->def ? in->def->name : NULL,
                                version, in->variant, tags, n, &err);
    if (rc != TEMPER_OK) {
        rc = temper_fail(ps->st, rc, "%s", err ? err : temper_rc_str(rc));
    }
    free(err);
    return rc;
}

static int run_builder(struct prun *r, struct pstage *ps)
{
    const struct temper_builder_ops *ops = ps->spec->mod->desc->ops;
    const struct temper_job_input *in = r->in;
    static const char *const default_platforms[] = { "linux/amd64" };
    char *layout = NULL, **tags = NULL;
    size_t n_tags = 0;
    if (!in->def) {
        return temper_fail(ps->st, TEMPER_EINVAL, "job has no image definition to build");
    }
    if (!in->layout_dir) {
        layout = temper_strdupf("%s/layout", temper_stage_workdir(ps->st));
        if (!layout) {
            return TEMPER_ENOMEM;
        }
    }
    int rc = in->n_tags ? job_tags(r, ps, &tags, &n_tags) : TEMPER_OK;
    if (rc != TEMPER_OK) {
        free(layout);
        return rc;
    }
    struct temper_build_request req = {
        .size = sizeof req, .def = in->def, .image_conf = in->image_conf,
        .variant = in->variant ? in->variant : "runtime",
        .platforms = in->n_platforms ? in->platforms : default_platforms,
        .n_platforms = in->n_platforms ? in->n_platforms : 1,
        .layout_dir = in->layout_dir ? in->layout_dir : layout,
        .tag = n_tags ? tags[0] : NULL,
        .source_date_epoch = in->source_date_epoch,
        .base = in->base,
    };
    rc = ops->build(ps->state, ps->st, &req);
    free(layout);
    temper_tags_free(tags, n_tags);
    if (rc == TEMPER_OK && !newest(r, TEMPER_ART_IMAGE)) {
        rc = temper_fail(ps->st, TEMPER_EINTERNAL, "builder %s returned no image",
                         ps->spec->mod->module);
    }
    return rc;
}

static int run_suite(struct prun *r, struct pstage *ps, enum temper_verdict *v)
{
    const struct temper_suite_ops *ops = ps->spec->mod->desc->ops;
    const struct temper_artifact *img = newest(r, TEMPER_ART_IMAGE);
    int rc = need_image(ps, img);
    if (rc != TEMPER_OK) {
        return rc;
    }
    const void *const *cases = NULL;
    size_t n = 0;
    for (size_t i = 0; i < r->in->n_case_sets; i++) {
        const struct temper_case_set *cs = &r->in->case_sets[i];
        if (cs->suite && strcmp(cs->suite, ps->spec->instance) == 0) {
            cases = cs->cases;
            n = cs->n;
        }
    }
    rc = ops->run(ps->state, ps->st, img, cases, n, v);
    if (rc == TEMPER_OK && *v != TEMPER_VERDICT_BLOCK) {
        for (size_t i = 0; i < temper_stage_case_count(ps->st); i++) {
            enum temper_case_status s = temper_stage_case_at(ps->st, i)->status;
            if (s == TEMPER_CASE_FAILED || s == TEMPER_CASE_ERROR) {
                /* a failed case is a failed suite, whatever the plugin said */
                *v = TEMPER_VERDICT_BLOCK;
            }
        }
    }
    return rc;
}

static int run_attest(struct prun *r, struct pstage *ps)
{
    const struct temper_attest_ops *ops = ps->spec->mod->desc->ops;
    const struct temper_artifact *img = newest(r, TEMPER_ART_IMAGE);
    int rc = need_image(ps, img);
    return rc == TEMPER_OK ? ops->attest(ps->state, ps->st, img, r->run_art) : rc;
}

static int run_publish(struct prun *r, struct pstage *ps)
{
    const struct temper_publish_ops *ops = ps->spec->mod->desc->ops;
    const struct temper_artifact *img = newest(r, TEMPER_ART_IMAGE);
    int rc = need_image(ps, img);
    if (rc != TEMPER_OK) {
        return rc;
    }
    size_t n = temper_artlist_count(r->arts), k = 0;
    const struct temper_artifact **extras = calloc(n ? n : 1, sizeof *extras);
    if (!extras) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const struct temper_artifact *a = temper_artlist_at(r->arts, i);
        enum temper_art_type t = temper_artifact_type(a);
        if (t == TEMPER_ART_SIGNATURE || t == TEMPER_ART_STATEMENT) {
            extras[k++] = a;
        }
    }
    char **tags = NULL;
    size_t n_tags = 0;
    rc = job_tags(r, ps, &tags, &n_tags);
    struct temper_publish_request req = {
        .size = sizeof req, .image = img, .extras = extras, .n_extras = k,
        .tags = (const char *const *)tags, .n_tags = n_tags,
    };
    if (rc == TEMPER_OK) {
        rc = ops->publish(ps->state, ps->st, &req);
    }
    temper_tags_free(tags, n_tags);
    free(extras);
    return rc;
}

int temper_stage_dispatch(struct prun *r, struct pstage *ps, enum temper_verdict *verdict)
{
    *verdict = TEMPER_VERDICT_NONE;
    switch (ps->spec->kind) {
    case TEMPER_KIND_GUARD: return run_guard(r, ps, verdict);
    case TEMPER_KIND_BUILDER: return run_builder(r, ps);
    case TEMPER_KIND_SUITE: return run_suite(r, ps, verdict);
    case TEMPER_KIND_ATTEST: return run_attest(r, ps);
    case TEMPER_KIND_SIGNER: return temper_sign_run(r, ps);
    case TEMPER_KIND_PUBLISH: return run_publish(r, ps);
    default:
        return temper_fail(ps->st, TEMPER_EINTERNAL, "%s cannot run as a stage", ps->label);
    }
}

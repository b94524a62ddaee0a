/* temper — running one job through the chain and recording it. */
#include "config.h"
#include "pipeline_priv.h"
#include "notify.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Random UUID v4 as the invocation id. */
static int new_invocation(char out[40])
{
    unsigned char b[16];
    if (gnutls_rnd(GNUTLS_RND_NONCE, b, sizeof b) != 0) {
        return TEMPER_ECRYPTO;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    int n = snprintf(out, 40,
                     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                     b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                     b[12], b[13], b[14], b[15]);
    return n == 36 ? TEMPER_OK : TEMPER_EINTERNAL;
}

static int set_time_attr(struct temper_artifact *a, const char *key, long long ms)
{
    char ts[40];
    temper_rfc3339(ms, ts, sizeof ts);
    return temper_artifact_set(a, key, ts);
}

/* What started the run (the change it carries, if any) and the version it
 * builds: SLSA's external parameters must name them. */
static int set_trigger(struct temper_artifact *a, const struct temper_job_input *in)
{
    const struct temper_artifact *c = in->change;
    const char *tr = c ? temper_artifact_get(c, TEMPER_ATTR_TRACKER) : NULL;
    const char *kind = !c ? "manual"
                       : tr && strcmp(tr, "cascade") == 0 ? "base"
                       : temper_artifact_get(c, TEMPER_ATTR_PACKAGE) ? "package"
                                                                     : "upstream";
    const char *up = c ? temper_artifact_get(c, TEMPER_ATTR_UPSTREAM) : NULL;
    const char *from = c ? temper_artifact_get(c, TEMPER_ATTR_OLD_VERSION) : NULL;
    const char *to = c ? temper_artifact_get(c, TEMPER_ATTR_NEW_VERSION) : NULL;
    up = up ? up : c ? temper_artifact_get(c, TEMPER_ATTR_PACKAGE) : NULL;
    from = from ? from : c ? temper_artifact_get(c, TEMPER_ATTR_OLD_REF) : NULL;
    to = to ? to : c ? temper_artifact_get(c, TEMPER_ATTR_NEW_REF) : NULL;
    int rc = temper_artifact_set(a, TEMPER_RUN_TRIGGER, kind);
    rc = rc == TEMPER_OK && tr ? temper_artifact_set(a, TEMPER_RUN_TRIGGER_TRACKER, tr) : rc;
    rc = rc == TEMPER_OK && up ? temper_artifact_set(a, TEMPER_RUN_TRIGGER_UPSTREAM, up) : rc;
    rc = rc == TEMPER_OK && from ? temper_artifact_set(a, TEMPER_RUN_TRIGGER_FROM, from) : rc;
    rc = rc == TEMPER_OK && to ? temper_artifact_set(a, TEMPER_RUN_TRIGGER_TO, to) : rc;
    rc = rc == TEMPER_OK && in->def && in->def->version
             ? temper_artifact_set(a, TEMPER_RUN_VERSION, in->def->version)
             : rc;
    rc = rc == TEMPER_OK && in->review_approved
             ? temper_artifact_set(a, TEMPER_RUN_REVIEW_APPROVED, "true")
             : rc;
    return rc;
}

/* The run record every attest stage sees: kept by the core, never by a
 * builder. */
static int make_run_artifact(struct prun *r, long long started)
{
    const struct temper_job_input *in = r->in;
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_RUN, r->invocation);
    if (!a) {
        return TEMPER_ENOMEM;
    }
    int rc = temper_artifact_set(a, TEMPER_RUN_INVOCATION_ID, r->invocation);
    if (rc == TEMPER_OK) {
        rc = set_time_attr(a, TEMPER_RUN_STARTED, started);
    }
    if (rc == TEMPER_OK && in->builder_id) {
        rc = temper_artifact_set(a, TEMPER_RUN_BUILDER_ID, in->builder_id);
    }
    if (rc == TEMPER_OK && in->definition_digest) {
        rc = temper_artifact_set(a, TEMPER_RUN_DEFINITION_DIGEST, in->definition_digest);
    }
    if (rc == TEMPER_OK && in->pipeline_digest) {
        rc = temper_artifact_set(a, TEMPER_RUN_PIPELINE_DIGEST, in->pipeline_digest);
    }
    if (rc == TEMPER_OK && in->pipeline_uri) {
        rc = temper_artifact_set(a, TEMPER_RUN_PIPELINE_URI, in->pipeline_uri);
    }
    if (rc == TEMPER_OK && in->def && in->def->base) {
        rc = temper_artifact_set(a, TEMPER_RUN_BASE_REF, in->def->base);
    }
    if (rc == TEMPER_OK && in->base_digest) {
        rc = temper_artifact_set(a, TEMPER_RUN_BASE_DIGEST, in->base_digest);
    }
    if (rc == TEMPER_OK && in->def && in->def->path) {
        rc = temper_artifact_set(a, TEMPER_RUN_DEFINITION_URI, in->def->path);
    }
    if (rc == TEMPER_OK) {
        rc = set_trigger(a, in);
    }
    if (rc == TEMPER_OK && in->def && in->def->name) {
        rc = temper_artifact_set(a, TEMPER_ATTR_IMAGE, in->def->name);
    }
    if (rc == TEMPER_OK && in->variant) {
        rc = temper_artifact_set(a, TEMPER_ATTR_VARIANT, in->variant);
    }
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return rc;
    }
    r->run_art = a;
    return temper_artlist_add(r->arts, a);
}

static json_object *artifacts_json(const struct temper_artlist *arts, size_t from)
{
    json_object *arr = json_object_new_array();
    for (size_t i = from; i < temper_artlist_count(arts); i++) {
        const struct temper_artifact *a = temper_artlist_at(arts, i);
        json_object *j = json_object_new_object();
        json_object_object_add(j, "type", json_object_new_int(temper_artifact_type(a)));
        json_object_object_add(j, "name", json_object_new_string(temper_artifact_name(a)));
        const char *dg = temper_artifact_get(a, TEMPER_ATTR_DIGEST);
        if (dg) {
            json_object_object_add(j, "digest", json_object_new_string(dg));
        }
        json_object_array_add(arr, j);
    }
    return arr;
}

static json_object *findings_json(const struct temper_stage *st)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < temper_stage_finding_count(st); i++) {
        const struct temper_finding *f = temper_stage_finding_at(st, i);
        json_object *j = json_object_new_object();
        json_object_object_add(j, "rule", json_object_new_string(f->rule));
        json_object_object_add(j, "severity",
                               json_object_new_string(temper_severity_str(f->severity)
                                                          ? temper_severity_str(f->severity)
                                                          : "info"));
        json_object_object_add(j, "confidence", json_object_new_int(f->confidence));
        json_object_object_add(j, "file", f->file ? json_object_new_string(f->file) : NULL);
        json_object_object_add(j, "line", json_object_new_int64(f->line));
        json_object_object_add(j, "message",
                               json_object_new_string(f->message ? f->message : ""));
        json_object_array_add(arr, j);
    }
    return arr;
}

static json_object *cases_json(const struct temper_stage *st)
{
    static const char *const status[] = { "passed", "failed", "skipped", "error" };
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < temper_stage_case_count(st); i++) {
        const struct temper_case *c = temper_stage_case_at(st, i);
        json_object *j = json_object_new_object();
        json_object_object_add(j, "suite", json_object_new_string(c->suite ? c->suite : ""));
        json_object_object_add(j, "name", json_object_new_string(c->name));
        json_object_object_add(j, "status",
                               json_object_new_string((unsigned)c->status < 4
                                                          ? status[c->status]
                                                          : "error"));
        json_object_object_add(j, "duration_ms", json_object_new_int64(c->duration_ms));
        if (c->message) {
            json_object_object_add(j, "message", json_object_new_string(c->message));
        }
        json_object_array_add(arr, j);
    }
    return arr;
}

static char *stage_detail(const struct prun *r, const struct pstage *ps, size_t from)
{
    json_object *j = json_object_new_object();
    json_object_object_add(j, "artifacts", artifacts_json(r->arts, from));
    json_object_object_add(j, "findings", findings_json(ps->st));
    json_object_object_add(j, "cases", cases_json(ps->st));
    char *s = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
    return s;
}

/* Record a stage's outcome; a store failure is an error of the run. */
static int record_stage(struct prun *r, struct pstage *ps, int seq, int rc,
                        enum temper_verdict v, long long t0, long long t1, size_t from)
{
    struct temper_store *s = r->p->store;
    if (!s) {
        return TEMPER_OK;
    }
    char *detail = stage_detail(r, ps, from);
    const char *err = temper_stage_error(ps->st);
    struct temper_stage_record sr = {
        .size = sizeof sr, .run_id = r->run_id, .seq = seq, .stage = ps->label,
        .plugin = ps->spec->mod->module, .rc = rc, .verdict = v,
        .error = rc != TEMPER_OK ? (err ? err : temper_rc_str(rc)) : NULL,
        .started_at = t0, .finished_at = t1, .detail = detail,
    };
    int src = s->ops->run_stage(s->state, &sr);
    free(detail);
    return src;
}

/* A guard said no: open a review item and park the job (the review gate). */
static int open_review(struct prun *r, struct pstage *ps)
{
    struct temper_store *s = r->p->store;
    if (!s) {
        return TEMPER_OK;
    }
    json_object *f = findings_json(ps->st);
    const struct temper_artifact *ch = r->in->change;
    const char *ver = ch ? temper_artifact_get(ch, TEMPER_ATTR_NEW_VERSION) : NULL;
    char *summary = temper_strdupf("%s blocked %s %s: %zu finding(s)", ps->label,
                                   r->in->def ? r->in->def->name : "?", ver ? ver : "",
                                   temper_stage_finding_count(ps->st));
    struct temper_review rv = {
        .size = sizeof rv, .job_id = r->in->job_id,
        .image = r->in->def ? r->in->def->name : NULL, .version = ver,
        .summary = summary ? summary : "blocked",
        .findings = json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN),
        .state = TEMPER_REVIEW_OPEN, .created_at = temper_now_ms(),
    };
    long long id = 0;
    int rc = s->ops->review_add(s->state, &rv, &id);
    if (rc == TEMPER_OK && r->p->notify) {
        temper_review_notify(r->p->notify, &rv, id); /* logs its own failures */
    }
    free(summary);
    json_object_put(f);
    return rc;
}

static int set_outcome(struct temper_run_result *res, enum temper_run_outcome o,
                       const char *label, const char *msg)
{
    res->outcome = o;
    res->failed_stage = label ? strdup(label) : NULL;
    res->error = label ? temper_strdupf("stage %s: %s", label, msg) : strdup(msg);
    return res->error ? TEMPER_OK : TEMPER_ENOMEM;
}

static int prepare_stage(struct prun *r, struct pstage *ps)
{
    char *dir = temper_strdupf("%s/%s", r->dir, ps->label);
    if (!dir) {
        return TEMPER_ENOMEM;
    }
    int rc = temper_mkdir_p(dir, 0700);
    if (rc == TEMPER_OK) {
        rc = temper_stage_set_dirs(ps->st, dir, ps->cachedir);
    } else {
        rc = temper_fail(ps->st, TEMPER_EIO, "cannot create %s: %s", dir, strerror(errno));
    }
    free(dir);
    temper_stage_reset(ps->st);
    temper_stage_set_artifacts(ps->st, r->arts);
    return rc;
}

/* Record each image the builder produced, with the packages it contains:
 * the index the trackers' transitive monitoring reads. */
static int record_builds(struct prun *r, size_t from)
{
    struct temper_store *s = r->p->store;
    if (!s) {
        return TEMPER_OK;
    }
    int rc = TEMPER_OK;
    for (size_t i = from; rc == TEMPER_OK && i < temper_artlist_count(r->arts); i++) {
        const struct temper_artifact *a = temper_artlist_at(r->arts, i);
        if (temper_artifact_type(a) != TEMPER_ART_IMAGE) {
            continue;
        }
        size_t n = temper_artifact_package_count(a);
        struct temper_package *pk = calloc(n ? n : 1, sizeof *pk);
        if (!pk) {
            return TEMPER_ENOMEM;
        }
        for (size_t k = 0; k < n; k++) {
            pk[k] = *temper_artifact_package(a, k);
        }
        const char *variant = temper_artifact_get(a, TEMPER_ATTR_VARIANT);
        struct temper_build_record b = {
            .size = sizeof b, .image = r->in->def->name,
            .variant = variant ? variant : (r->in->variant ? r->in->variant : "runtime"),
            .version = r->in->def->version, .digest = temper_artifact_get(a, TEMPER_ATTR_DIGEST),
            .distribution = r->in->def->distribution, .built_at = temper_now_ms(),
            .run_id = r->run_id,
        };
        rc = s->ops->build_record(s->state, &b, pk, n);
        free(pk);
    }
    return rc;
}

/* Failpoints of the fault suite (tests/faults/test_kill_stages.sh):
 * TEMPER_FAULT_KILL_AT=kind.instance kills the process with SIGKILL as that
 * stage starts, TEMPER_FAULT_KILL_AFTER=kind.instance once it returned and
 * before its result is recorded -- what a crash, an OOM kill or a power cut
 * does there.  Unset, they cost one getenv per stage. */
static void failpoint(const char *var, const char *label)
{
    const char *at = getenv(var);
    if (at && strcmp(at, label) == 0) {
        raise(SIGKILL);
    }
}

/* Run the chain; the outcome goes to res.  Returns an rc only when the run
 * could not be recorded. */
static int run_chain(struct prun *r, struct temper_run_result *res)
{
    struct temper_pipeline *p = r->p;
    for (size_t i = 0; i < p->n; i++) {
        struct pstage *ps = &p->stages[i];
        if (p->cancel) {
            return set_outcome(res, TEMPER_RUN_OUTCOME_FAILED, ps->label, "cancelled");
        }
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        size_t from = temper_artlist_count(r->arts);
        long long t0 = temper_now_ms();
        if (r->in->progress) {
            r->in->progress(r->in->progress_ctx, ps->label, 0, TEMPER_OK, v);
            if (p->cancel) { /* e.g. the lease was lost (core/jobexec_hb.c) */
                return set_outcome(res, TEMPER_RUN_OUTCOME_FAILED, ps->label, "cancelled");
            }
        }
        int rc = prepare_stage(r, ps);
        failpoint("TEMPER_FAULT_KILL_AT", ps->label);
        if (rc == TEMPER_OK) {
            rc = temper_stage_dispatch(r, ps, &v);
        }
        failpoint("TEMPER_FAULT_KILL_AFTER", ps->label);
        long long t1 = temper_now_ms();
        if (rc == TEMPER_OK && ps->spec->kind == TEMPER_KIND_BUILDER) {
            char ts[40];
            temper_rfc3339(t1, ts, sizeof ts);
            rc = temper_artifact_set(r->run_art, TEMPER_RUN_FINISHED, ts);
            if (rc == TEMPER_OK) {
                rc = record_builds(r, from);
            }
            if (rc != TEMPER_OK && !temper_stage_error(ps->st)) {
                temper_fail(ps->st, rc, "cannot record the build in the store");
            }
        }
        if (ps->spec->kind == TEMPER_KIND_SUITE) {
            r->suites[r->n_suites++] = (struct temper_report_stage){ ps->label, ps->st, t0, t1 };
        }
        if (r->in->progress) {
            r->in->progress(r->in->progress_ctx, ps->label, 1, rc, v);
        }
        int src = record_stage(r, ps, (int)i, rc, v, t0, t1, from);
        if (src != TEMPER_OK) {
            return src;
        }
        if (rc != TEMPER_OK) {
            const char *e = temper_stage_error(ps->st);
            return set_outcome(res, TEMPER_RUN_OUTCOME_FAILED, ps->label,
                               e ? e : temper_rc_str(rc));
        }
        if (v == TEMPER_VERDICT_BLOCK) {
            if (ps->spec->kind == TEMPER_KIND_GUARD && !r->in->no_review) {
                src = open_review(r, ps);
            }
            int orc = set_outcome(res, TEMPER_RUN_OUTCOME_BLOCKED, ps->label,
                                  ps->spec->kind == TEMPER_KIND_GUARD
                                      ? "blocked: upstream change needs review"
                                      : "blocked: a test failed");
            return src != TEMPER_OK ? src : orc;
        }
    }
    return TEMPER_OK;
}

static int begin_run(struct prun *r, long long started)
{
    struct temper_store *s = r->p->store;
    if (!s) {
        return TEMPER_OK;
    }
    const struct temper_job_input *in = r->in;
    struct temper_run_record rr = {
        .size = sizeof rr, .job_id = in->job_id, .image = in->def ? in->def->name : NULL,
        .variant = in->variant, .version = in->def ? in->def->version : NULL,
        .invocation_id = r->invocation, .worker = in->worker, .started_at = started,
        .status = TEMPER_RUN_RUNNING,
    };
    return s->ops->run_begin(s->state, &rr, &r->run_id);
}

static const char *last_image_digest(const struct temper_artlist *arts)
{
    const char *d = NULL;
    for (size_t i = 0; i < temper_artlist_count(arts); i++) {
        const struct temper_artifact *a = temper_artlist_at(arts, i);
        if (temper_artifact_type(a) == TEMPER_ART_IMAGE &&
            temper_artifact_get(a, TEMPER_ATTR_DIGEST)) {
            d = temper_artifact_get(a, TEMPER_ATTR_DIGEST);
        }
    }
    return d;
}

static int setup_run(struct prun *r, long long started)
{
    int rc = new_invocation(r->invocation);
    if (rc != TEMPER_OK) {
        return rc;
    }
    r->dir = temper_strdupf("%s/runs/%s", r->p->workdir, r->invocation);
    r->arts = temper_artlist_new();
    if (!r->dir || !r->arts) {
        return TEMPER_ENOMEM;
    }
    if (temper_mkdir_p(r->dir, 0700) != TEMPER_OK) {
        return temper_fail(NULL, TEMPER_EIO, "cannot create run directory %s: %s", r->dir,
                           strerror(errno));
    }
    rc = make_run_artifact(r, started);
    const struct temper_artifact *given[3] = { r->in->change, r->in->image, r->in->diff };
    for (size_t i = 0; rc == TEMPER_OK && i < 3; i++) {
        if (given[i]) {
            struct temper_artifact *a = temper_artifact_dup(given[i]);
            rc = a ? temper_artlist_add(r->arts, a) : TEMPER_ENOMEM;
        }
    }
    return rc;
}

int temper_pipeline_run(struct temper_pipeline *p, const struct temper_job_input *in,
                        struct temper_run_result *res)
{
    memset(res, 0, sizeof *res);
    struct prun r = { .p = p, .in = in };
    long long started = temper_now_ms();
    int rc = setup_run(&r, started);
    if (rc == TEMPER_OK) {
        rc = begin_run(&r, started);
    }
    if (rc == TEMPER_OK) {
        rc = run_chain(&r, res);
    }
    res->run_id = r.run_id;
    if (r.n_suites) {
        /* the reports are kept with the run, outside its scratch directory */
        char *err = NULL;
        res->report_dir = temper_strdupf("%s/reports/%s", p->workdir, r.invocation);
        int wrc = res->report_dir ? temper_report_write(r.suites, r.n_suites, res->report_dir,
                                                        r.invocation, &err)
                                  : TEMPER_ENOMEM;
        if (wrc != TEMPER_OK) {
            temper_log(NULL, TEMPER_LOG_LVL_ERROR, "test reports: %s",
                       err ? err : temper_rc_str(wrc));
            rc = rc == TEMPER_OK ? wrc : rc;
        }
        free(err);
    }
    const char *dg = r.arts ? last_image_digest(r.arts) : NULL;
    if (dg && !(res->image_digest = strdup(dg))) {
        rc = TEMPER_ENOMEM;
    }
    if (p->store && r.run_id) {
        int status = res->outcome == TEMPER_RUN_OUTCOME_OK ? TEMPER_RUN_OK
                     : res->outcome == TEMPER_RUN_OUTCOME_BLOCKED ? TEMPER_RUN_BLOCKED
                                                                   : TEMPER_EIO;
        if (rc != TEMPER_OK) {
            status = rc;
        }
        int frc = p->store->ops->run_finish(p->store->state, r.run_id, status, res->error,
                                            temper_now_ms());
        if (rc == TEMPER_OK) {
            rc = frc;
        }
    }
    if (r.dir && !p->keep && temper_rm_rf(r.dir) != TEMPER_OK) {
        temper_log(NULL, TEMPER_LOG_LVL_WARN, "cannot remove run directory %s: %s", r.dir,
                   strerror(errno));
    }
    temper_artlist_free(r.arts);
    free(r.dir);
    return rc;
}

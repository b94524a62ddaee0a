/* temper — the pipeline engine: one job through a chain of stages.
 *
 * The engine owns the run: it opens every stage's plugin once, creates a
 * private work directory per stage and run, passes typed artifacts from stage
 * to stage (all owned by the run), keeps verdicts (a guard blocked, a test
 * failed) apart from errors, and records the run and every stage's outcome
 * and timing in the store. */
#ifndef TEMPER_CORE_PIPELINE_H
#define TEMPER_CORE_PIPELINE_H

#include <temper/temper.h>
#include "loader.h"

/* An opened store (core/store.c). */
struct temper_store {
    const struct temper_module *mod;
    const struct temper_store_ops *ops;
    void *state;
    struct temper_stage *st;
};

/* Open a store plugin with its validated conf block (borrowed until close). */
int temper_store_open(const struct temper_module *mod, const void *conf,
                      struct temper_store *out, char **err);
void temper_store_close(struct temper_store *s);
/* Host hooks that give stages durable state in this store. */
extern const struct temper_host_ops temper_store_host_ops;

/* One configured stage of the chain (borrowed from the config). */
struct temper_stage_spec {
    enum temper_kind kind;
    const char *instance;               /* `[kind "instance"]` */
    const struct temper_module *mod;
    const void *conf;                   /* validated conf block */
};

/* The validated [test "..."] blocks of one image for one suite stage. */
struct temper_case_set {
    const char *suite;                  /* suite stage instance, `[suite "NAME"]` */
    const void *const *cases;
    size_t n;
};

/* Progress of a run, called on the thread that runs it: before a stage
 * (done = 0) and after it (done = 1, rc and verdict set). */
typedef void (*temper_progress_fn)(void *ctx, const char *stage, int done, int rc,
                                   enum temper_verdict verdict);

/* What one job asks for. */
struct temper_job_input {
    long long job_id;                   /* 0 = not from the queue */
    const struct temper_image_def *def;
    const void *image_conf;             /* builder's [build] block */
    const struct temper_case_set *case_sets; /* suites' [test] blocks */
    size_t n_case_sets;
    const char *layout_dir;             /* where the builder writes; NULL = run dir */
    const char *reference;              /* identity signed into image signatures */
    const char *variant;                /* "runtime" */
    const char *const *platforms;
    size_t n_platforms;
    const char *const *tags;
    size_t n_tags;
    const struct temper_artifact *change; /* the triggering change, or NULL */
    const struct temper_artifact *image;  /* a prebuilt image (temper test), or NULL */
    const struct temper_artifact *diff;   /* an upstream diff (temper scan), or NULL */
    bool no_review;                     /* a guard's block opens no review item */
    bool no_diff;                       /* the change's tracker has no diff: guards pass */
    const char *definition_digest;      /* sha256:<hex> of the image file */
    const char *pipeline_digest;        /* sha256:<hex> of the pipeline file */
    const char *pipeline_uri;           /* the pipeline file */
    const char *builder_id;
    long long source_date_epoch;
    bool review_approved;               /* a person approved this change: guards pass */
    const struct temper_artifact *base; /* the published base image, or NULL */
    const char *base_digest;            /* its digest (sha256:<hex>), or NULL */
    const char *worker;                 /* lease holder recorded with the run, or NULL */
    temper_progress_fn progress;        /* or NULL */
    void *progress_ctx;
};

enum temper_run_outcome {
    TEMPER_RUN_OUTCOME_OK = 0,
    TEMPER_RUN_OUTCOME_FAILED = 1,      /* an error: see error */
    TEMPER_RUN_OUTCOME_BLOCKED = 3      /* a verdict said no: see error */
};

struct temper_run_result {
    enum temper_run_outcome outcome;
    long long run_id;
    char *failed_stage;                 /* "suite.structure" or NULL */
    char *error;                        /* one line, or NULL */
    char *image_digest;                 /* of the built image, or NULL */
    char *report_dir;                   /* junit.xml + ctrf.json when suites ran */
};
void temper_run_result_cleanup(struct temper_run_result *r);

struct temper_pipeline;

/* Open every stage (calls the plugins' open()).  specs borrowed for the
 * pipeline's life.  workdir: runs live in workdir/runs/<invocation id>. */
int temper_pipeline_new(const struct temper_stage_spec *specs, size_t n,
                        struct temper_store *store, const char *workdir,
                        const char *cachedir, struct temper_pipeline **out, char **err);
/* Run one job.  Returns TEMPER_OK when the run was carried out and recorded
 * (whatever its outcome, which is in *res), an rc when it could not even be
 * recorded. */
int temper_pipeline_run(struct temper_pipeline *p, const struct temper_job_input *in,
                        struct temper_run_result *res);
/* The i-th stage as the last run left it (its cases and findings), or NULL. */
const struct temper_stage *temper_pipeline_stage(const struct temper_pipeline *p, size_t i);
/* Post the review webhook of `core` (borrowed; see notify.h) whenever a run
 * opens a review item.  NULL turns it off. */
struct temper_core_conf;
void temper_pipeline_set_notify(struct temper_pipeline *p, const struct temper_core_conf *core);
/* Keep the run directories after the run (debugging). */
void temper_pipeline_keep_workdirs(struct temper_pipeline *p, int keep);
/* Ask a running pipeline to stop (signal-safe). */
void temper_pipeline_cancel(struct temper_pipeline *p);
void temper_pipeline_free(struct temper_pipeline *p);

#endif

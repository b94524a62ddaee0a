/* temper — pipeline engine internals shared by pipeline*.c. */
#ifndef TEMPER_CORE_PIPELINE_PRIV_H
#define TEMPER_CORE_PIPELINE_PRIV_H

#include "pipeline.h"
#include "sdk/host.h"
#include "report.h"

#define PIPELINE_MAX_STAGES 64

struct pstage {
    const struct temper_stage_spec *spec;
    struct temper_stage *st;
    void *state;
    int opened;
    char *label;          /* "kind.instance" */
    char *cachedir;
};

struct temper_pipeline {
    struct pstage *stages;
    size_t n;
    struct temper_store *store;
    char *workdir;
    char *cachedir;
    int keep;
    volatile int cancel;
    const struct temper_core_conf *notify; /* review webhook settings, or NULL */
};

/* One run in progress. */
struct prun {
    struct temper_pipeline *p;
    const struct temper_job_input *in;
    struct temper_artlist *arts;
    struct temper_artifact *run_art;   /* borrowed: lives in arts */
    char invocation[40];
    char *dir;                         /* workdir/runs/<invocation> */
    long long run_id;
    struct temper_report_stage suites[PIPELINE_MAX_STAGES]; /* suite stages that ran */
    size_t n_suites;
};

/* mkdir -p with mode; TEMPER_EIO with errno set on failure. */
int temper_mkdir_p(const char *path, unsigned mode);
/* rm -rf that never follows symlinks and stays on one file system. */
int temper_rm_rf(const char *path);
/* RFC 3339 UTC from Unix ms into out (>= 32 bytes). */
void temper_rfc3339(long long ms, char *out, size_t n);
long long temper_now_ms(void);

/* Dispatch one stage of a run by kind; *verdict is the stage's verdict. */
int temper_stage_dispatch(struct prun *r, struct pstage *ps, enum temper_verdict *verdict);
/* Signer stage: DSSE envelopes for statements, cosign payload for images. */
int temper_sign_run(struct prun *r, struct pstage *ps);

#endif

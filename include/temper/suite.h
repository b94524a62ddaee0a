/* temper — test suite plugins: run checks against a built image.
 *
 * run() records one case per check with temper_stage_case() and sets
 * *verdict to PASS or BLOCK (any failed case).  The core writes the JUnit XML
 * and CTRF JSON reports of the run from the recorded cases, so every suite
 * gets the same reports.  An error return means the suite could not run. */
#ifndef TEMPER_SUITE_H
#define TEMPER_SUITE_H

#include <temper/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

enum temper_case_status {
    TEMPER_CASE_PASSED = 0,
    TEMPER_CASE_FAILED = 1,
    TEMPER_CASE_SKIPPED = 2,
    TEMPER_CASE_ERROR = 3     /* the check itself could not run */
};

/* Strings borrowed for the call; temper_stage_case() copies them. */
struct temper_case {
    uint32_t size;
    const char *suite;        /* group, e.g. "hardening" */
    const char *name;         /* "no-setuid-files" */
    enum temper_case_status status;
    long long duration_ms;
    const char *message;      /* why it failed, or NULL */
    const char *output;       /* captured output (capped), or NULL */
};

TEMPER_EXPORT int temper_stage_case(struct temper_stage *st, const struct temper_case *c)
    TEMPER_WARN_UNUSED;
TEMPER_EXPORT size_t temper_stage_case_count(const struct temper_stage *st);
TEMPER_EXPORT const struct temper_case *temper_stage_case_at(const struct temper_stage *st,
                                                             size_t i);

struct temper_suite_ops {
    /* Keys of the image definition's [test "..."] sections, or NULL. */
    const struct temper_option *case_options;
    size_t case_conf_size;
    /* cases: the validated blocks of the image's test sections for this
     * suite (borrowed), n_cases may be 0. */
    int (*run)(void *state, struct temper_stage *st,
               const struct temper_artifact *image,
               const void *const *cases, size_t n_cases,
               enum temper_verdict *verdict);
};

#ifdef __cplusplus
}
#endif
#endif

/* temper — guard plugins: review an upstream diff before it is taken.
 *
 * review() reads the diff (TEMPER_ART_DIFF: an mbox of `git format-patch`
 * messages, commit metadata in the headers) and the change that caused it,
 * records each finding with temper_stage_finding() and returns its verdict in
 * *verdict: PASS, WARN (findings recorded, go on) or BLOCK (park the job in
 * the review queue).  A guard that could not decide returns an error; that is
 * never a verdict. */
#ifndef TEMPER_GUARD_H
#define TEMPER_GUARD_H

#include <temper/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

enum temper_severity {
    TEMPER_SEV_INFO = 0,
    TEMPER_SEV_LOW = 1,
    TEMPER_SEV_MEDIUM = 2,
    TEMPER_SEV_HIGH = 3,
    TEMPER_SEV_CRITICAL = 4
};

/* "info", "low", ...; NULL when out of range. */
TEMPER_EXPORT const char *temper_severity_str(int sev);
TEMPER_EXPORT int temper_severity_from_str(const char *s); /* -1 if unknown */

/* All strings borrowed for the call; temper_stage_finding() copies them. */
struct temper_finding {
    uint32_t size;           /* sizeof(struct temper_finding) as built */
    const char *rule;        /* stable id, "inverted-error-check" */
    enum temper_severity severity;
    int confidence;          /* 0..100 */
    const char *file;        /* path in the upstream tree, or NULL */
    long line;               /* 1-based line in the new file; 0 = none */
    const char *commit;      /* commit id the finding belongs to, or NULL */
    const char *message;     /* one sentence */
    const char *evidence;    /* the lines that triggered it, capped */
};

TEMPER_EXPORT int temper_stage_finding(struct temper_stage *st,
                                       const struct temper_finding *f)
    TEMPER_WARN_UNUSED;
/* Findings recorded so far on this stage; borrowed. */
TEMPER_EXPORT size_t temper_stage_finding_count(const struct temper_stage *st);
TEMPER_EXPORT const struct temper_finding *
temper_stage_finding_at(const struct temper_stage *st, size_t i);

struct temper_guard_ops {
    int (*review)(void *state, struct temper_stage *st,
                  const struct temper_artifact *change,
                  const struct temper_artifact *diff,
                  enum temper_verdict *verdict);
};

#ifdef __cplusplus
}
#endif
#endif

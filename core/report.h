/* temper — test reports of a run: JUnit XML and CTRF JSON (the format DHI's
 * test attestation carries), written from the cases every suite stage
 * recorded with temper_stage_case(), so that every suite gets the same
 * reports. */
#ifndef TEMPER_CORE_REPORT_H
#define TEMPER_CORE_REPORT_H

#include <temper/temper.h>

/* The suite stages of a run, in order. */
struct temper_report_stage {
    const char *label;               /* "suite.structure" */
    const struct temper_stage *st;   /* its recorded cases */
    long long started_ms, finished_ms;
};

/* Write DIR/junit.xml and DIR/ctrf.json atomically (temp file + rename).
 * Returns TEMPER_OK or an rc with *err (free()) naming the file. */
int temper_report_write(const struct temper_report_stage *stages, size_t n, const char *dir,
                        const char *run_id, char **err);

/* Counts over the recorded cases. */
struct temper_report_counts {
    size_t tests, passed, failed, skipped, errors;
};
void temper_report_count(const struct temper_report_stage *stages, size_t n,
                         struct temper_report_counts *c);

#endif

/* temper — vulnerability SLA: how long published images stayed vulnerable
 * after a fix was available.  Not installed.
 *
 * Where the facts come from (so that every store plugin keeps them without a
 * schema change):
 *   - attest_openvex stages record, in their key/value state (namespace
 *     "attest.<instance>"), one "sla.run:<invocation id>" record per run
 *     (the image's source packages and the vulnerabilities that affect
 *     them) and one "sla.vuln:<ecosystem>|<source>|<vuln>" record per
 *     vulnerability that ever affected an image (first seen, OSV published
 *     date, severity, fixed version, first time a fix was seen);
 *     plugins/attest_openvex/vex_sla.c has the formats;
 *   - the runs of the store say which of those evaluations were published:
 *     a run whose status is OK went through the whole chain, publish stages
 *     included, and its finish time is the publication time.
 * temper_sla_compute() replays the published runs of each image in order:
 * an item (image, vulnerability, source package) opens with the first
 * published run that is affected, and closes with the first later published
 * run whose installed version is >= the fixed version (compared with the
 * package's dpkg or apk rules), or that no longer contains the package or
 * no longer has the vulnerability.
 *
 * The clock: an item's window starts when a fix is available (no fix, no
 * clock: a vendor cannot ship what does not exist) and lasts [sla] <severity>
 * (default 7 days for critical and high, none otherwise).  A breach is an
 * item closed after its deadline, or still open after it. */
#ifndef TEMPER_CORE_SLA_H
#define TEMPER_CORE_SLA_H

#include <stdbool.h>
#include <stddef.h>
#include "runtime.h"

struct temper_sla_item {
    char *image;
    char *variant;       /* NULL when the run had none */
    char *vuln;
    char *ecosystem;     /* "Debian:12" */
    char *package;       /* source package */
    char *scheme;        /* "dpkg" or "apk" */
    char *severity;      /* "critical".."low", or NULL */
    char *installed;     /* version in the first affected publication */
    char *fixed;         /* fixed version, or NULL */
    char *fixed_by;      /* version that closed it, or NULL */
    char *summary;       /* the feed's one-line summary, or NULL */
    long long known;     /* OSV published date, else first seen (ms) */
    long long fix_available; /* first time a fix was seen; 0 = none yet */
    long long opened;    /* first affected publication */
    long long closed;    /* publication of the fixed image; 0 = open */
    long long window;    /* ms; 0 = no window for this severity */
    long long deadline;  /* fix_available + window; 0 = none */
    bool breach;
};

struct temper_sla_report {
    long long now;
    struct temper_sla_item *items;
    size_t n, cap;
    size_t n_open, n_breach;
};

/* Compute the report for every image (image NULL) or one image, at `now`
 * (ms).  Returns TEMPER_OK, or an rc with the reason recorded on the
 * store's stage.  Clean up with temper_sla_report_cleanup() in any case. */
int temper_sla_compute(struct temper_runtime *rt, const char *image, long long now,
                       struct temper_sla_report *out) TEMPER_WARN_UNUSED;
void temper_sla_report_cleanup(struct temper_sla_report *r);

/* The image digest the SLA record of run `invocation` names, or NULL (new
 * string, free()). */
char *temper_sla_run_digest(struct temper_runtime *rt, const char *invocation);

/* The SLA window of a severity word in the config (0 = none). */
long long temper_sla_window(const struct temper_config *c, const char *severity);

/* "YYYY-MM-DDThh:mm:ssZ" of ms into out (>= 32 bytes); "-" for 0. */
void temper_sla_time(long long ms, char *out, size_t n);

#endif

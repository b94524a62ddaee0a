/* temper — attest_openvex internals: the image's source packages, the
 * vulnerability decisions taken from the feeds, and the feed readers.
 *
 * Names are prefixed vex_ (this module only) and the attest_common helpers
 * carry the module's ATTEST_NS prefix, so a static build sees no clashes. */
#ifndef TEMPER_ATTEST_VEX_H
#define TEMPER_ATTEST_VEX_H

#include "attest_common.h"
#include <temper/http.h>
#include <temper/option.h>

enum vex_status {
    VEX_NOT_AFFECTED = 0, /* ranked: a stronger claim of risk wins a tie */
    VEX_FIXED = 1,
    VEX_UNDER_INVESTIGATION = 2,
    VEX_AFFECTED = 3
};

enum vex_origin { VEX_FROM_OSV = 0, VEX_FROM_TRACKER = 1 };

/* index into the `unfixed` option's choices */
enum vex_unfixed { VEX_UNFIXED_AFFECTED = 0, VEX_UNFIXED_INVESTIGATING = 1 };

struct vex_conf {
    struct temper_strlist osv;
    char *debian_tracker;
    char *distribution_release;
    char *author;
    char *id_base;
    int unfixed;
    unsigned long long max_feed_size;
    long long max_files;
    char *ca_file;
};

/* One source package of the image (binaries grouped by source, version and
 * distribution). */
struct vex_src {
    const char *name;
    const char *version;
    struct ac_distro distro;
    bool distro_known;
    const struct temper_package **bins; /* borrowed from the sorted list */
    size_t n_bins;
};

struct vex_hit {
    char *vuln;                  /* CVE id when the feed knows one */
    const struct vex_src *s;     /* &vex_ctx.srcs[src] */
    struct json_object *aliases; /* object used as a set */
    size_t src;                  /* index into vex_ctx.srcs */
    enum vex_status status;
    enum vex_origin origin;
    const char *justification;   /* static; for not_affected */
    char *impact;                /* not_affected: why */
    char *action;                /* affected: what to do */
    char *notes;                 /* how the status was decided */
    const char *severity;        /* static "critical".."low", NULL = unknown */
    long long published;         /* OSV `published`, Unix ms; 0 = unknown */
    char *fixed;                 /* lowest fixed version above the installed one */
    char *summary;               /* OSV summary, or NULL */
};

struct vex_ctx {
    struct temper_stage *st;
    const struct vex_conf *conf;
    struct vex_src *srcs;
    size_t n_srcs;
    const struct temper_package **bins; /* storage of every vex_src.bins */
    struct json_object *by_key;  /* "<ecosystem>\n<source name>" -> [src index] */
    struct vex_hit *hits;
    size_t n_hits, cap_hits;
    struct json_object *hit_index; /* "<vuln>\n<src>" -> hit index */
    struct temper_http *http;
    size_t files;                /* feed files read so far (max_files) */
};

/* A decision to record; strings are copied. */
struct vex_decision {
    enum vex_status status;
    enum vex_origin origin;
    const char *justification;
    const char *impact;
    const char *action;
    const char *notes;
    const char *severity;        /* static, see vex_severity_rank() */
    long long published;
    const char *fixed;
    const char *summary;
};

/* Record (or merge) a decision about vuln for source `src`; `aliases` (may
 * be NULL) is a borrowed array of strings and `alias` (may be NULL) one more;
 * both are kept when they differ from vuln.  A tracker decision replaces an
 * OSV one; between equals the higher status (affected first) stays. */
int vex_record(struct vex_ctx *c, const char *vuln, struct json_object *aliases,
               const char *alias, size_t src, const struct vex_decision *d) TEMPER_WARN_UNUSED;

/* Decide from one OSV record (`where` names the file or URL). */
int vex_osv_record(struct vex_ctx *c, struct json_object *rec, const char *where)
    TEMPER_WARN_UNUSED;
/* Decide from a Debian security tracker document. */
int vex_tracker(struct vex_ctx *c, struct json_object *root, const char *where)
    TEMPER_WARN_UNUSED;

/* Read every configured feed (files, directories, URLs) into decisions. */
int vex_read_feeds(struct vex_ctx *c) TEMPER_WARN_UNUSED;

/* ---- SLA facts (vex_sla.c) ----
 * Severity words are the static strings "critical", "high", "medium", "low";
 * rank 4..1, 0 for NULL or anything else. */
int vex_severity_rank(const char *sev);
/* An OSV record's severity for one affected[] entry (may be NULL): the
 * highest of database_specific / ecosystem_specific "severity" words and
 * CVSS v3 base scores of severity[] vectors; NULL when none is known. */
const char *vex_osv_severity(struct json_object *rec, struct json_object *ent);
/* A Debian tracker urgency ("high", "medium**", "unimportant") as a word. */
const char *vex_urgency_severity(const char *urgency);
/* "YYYY-MM-DDThh:mm:ss[.frac]Z" as Unix ms; 0 when not understood. */
long long vex_time_ms(const char *s);
/* Record the SLA facts of this evaluation in the stage's key/value state
 * (see vex_sla.c); a stage without a store records nothing. */
int vex_sla_record(struct vex_ctx *c, const struct ac_input *in,
                   const struct temper_artifact *run) TEMPER_WARN_UNUSED;

/* "Update X to V or later ..." / "No fix ..." (new strings). */
char *vex_action_fix(const struct vex_src *s, const char *fixed);
char *vex_action_nofix(const struct vex_src *s, const char *release);

#endif

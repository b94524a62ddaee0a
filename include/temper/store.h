/* temper — store plugins: durable state and the job queue.
 *
 * A store is not a stage of the chain; the core opens exactly one, named by
 * `[core] store = <plugin>:<location>` (e.g. "sqlite:/var/lib/temper/state.db"),
 * and calls it from the main thread or under its own lock.  Every operation is
 * atomic: a process killed at any point leaves the store as it was before the
 * operation or after it.  Schemas are versioned and migrated in open().
 *
 * Convention: every store plugin declares an option named `location` (where
 * the data lives: a file, a directory, a connection string).  The shorthand
 * `[core] store = PLUGIN:LOCATION` loads store_PLUGIN and sets that option to
 * LOCATION (all other options keep their defaults); a `[store "NAME"]`
 * section with `plugin = PLUGIN` sets any option instead.  A store without a
 * `location` option can only be configured through such a section.
 *
 * Records passed in are borrowed for the call.  Records handed out through
 * callbacks are borrowed for the callback; records filled through `out`
 * parameters own their strings: release them with the matching
 * temper_*_cleanup() of the SDK.  Times are Unix milliseconds. */
#ifndef TEMPER_STORE_H
#define TEMPER_STORE_H

#include <temper/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

enum temper_job_state {
    TEMPER_JOB_QUEUED = 1,
    TEMPER_JOB_RUNNING = 2,   /* claimed, lease held */
    TEMPER_JOB_DONE = 3,
    TEMPER_JOB_FAILED = 4,    /* attempts exhausted */
    TEMPER_JOB_PARKED = 5     /* waiting for a review decision */
};

struct temper_job {
    uint32_t size;
    long long id;
    char *image;          /* image or customization name */
    char *variant;        /* NULL = every variant */
    char *version;        /* target upstream version, NULL = current */
    char *reason;         /* "upstream", "package", "base", "artifact", "manual" */
    char *change;         /* JSON array of the changes that caused it */
    char *dedup_key;      /* queued jobs with an equal key merge */
    int priority;         /* higher first; ties by id */
    int attempts;
    int max_attempts;
    long long not_before; /* do not claim before this time */
    long long lease_until;
    char *worker;         /* holder of the lease */
    enum temper_job_state state;
    char *last_error;
};

struct temper_build_record {
    uint32_t size;
    const char *image;
    const char *variant;
    const char *version;
    const char *digest;        /* manifest or index digest */
    const char *distribution;
    long long built_at;
    long long run_id;
};

struct temper_image_record {
    uint32_t size;
    const char *name;
    const char *base;          /* "image:NAME" or NULL */
    const char *distribution;
    long long support_until;   /* ms, 0 = forever */
    const char *pinned_version;
    const char *last_digest;
};

struct temper_run_record {
    uint32_t size;
    long long id;
    long long job_id;
    const char *image;
    const char *variant;
    const char *version;
    const char *invocation_id;
    const char *worker;
    long long started_at;
    long long finished_at;     /* 0 while running */
    int status;                /* enum temper_rc or TEMPER_RUN_* below */
    const char *error;
};

#define TEMPER_RUN_RUNNING 1
#define TEMPER_RUN_OK 0
#define TEMPER_RUN_BLOCKED 3   /* a verdict stopped it */

struct temper_stage_record {
    uint32_t size;
    long long run_id;
    int seq;                   /* position in the chain */
    const char *stage;         /* "builder.deb" */
    const char *plugin;        /* "builder_deb" */
    int rc;                    /* enum temper_rc */
    enum temper_verdict verdict;
    const char *error;
    long long started_at;
    long long finished_at;
    const char *detail;        /* JSON: artifacts, findings, cases */
};

enum temper_review_state {
    TEMPER_REVIEW_OPEN = 1,
    TEMPER_REVIEW_APPROVED = 2,
    TEMPER_REVIEW_REJECTED = 3
};

struct temper_review {
    uint32_t size;
    long long id;
    long long job_id;
    const char *image;
    const char *version;
    const char *summary;       /* one line */
    const char *findings;      /* JSON array */
    enum temper_review_state state;
    const char *decided_by;
    const char *comment;
    long long created_at;
    long long decided_at;
};

struct temper_audit {
    uint32_t size;
    long long id;
    long long at;
    const char *actor;
    const char *action;        /* "review.approve", "job.enqueue", ... */
    const char *object;        /* "review:12" */
    const char *detail;
};

typedef int (*temper_job_fn)(void *ctx, const struct temper_job *job);
typedef int (*temper_build_fn)(void *ctx, const struct temper_build_record *b);
typedef int (*temper_run_fn)(void *ctx, const struct temper_run_record *r);
typedef int (*temper_stage_rec_fn)(void *ctx, const struct temper_stage_record *s);
typedef int (*temper_review_fn)(void *ctx, const struct temper_review *r);
typedef int (*temper_audit_fn)(void *ctx, const struct temper_audit *a);
typedef int (*temper_image_fn)(void *ctx, const struct temper_image_record *img);
/* A callback returning non-zero stops the iteration; the store then returns
 * that value. */

struct temper_store_ops {
    /* -- key/value state, namespaced (tracker state, HTTP validators) -- */
    int (*kv_get)(void *s, const char *ns, const char *key, char **value);
    int (*kv_put)(void *s, const char *ns, const char *key, const char *value);

    /* -- images and builds -- */
    int (*image_put)(void *s, const struct temper_image_record *img);
    int (*image_get)(void *s, const char *name, temper_image_fn fn, void *ctx);
    /* Record a build and the packages it contains, atomically.  The newest
     * build of an image/variant replaces the package index of older ones. */
    int (*build_record)(void *s, const struct temper_build_record *b,
                        const struct temper_package *pkgs, size_t n_pkgs);
    /* Images whose latest build contains `package` (binary or source name) of
     * `distribution` (NULL = any) and whose support window includes `now`. */
    int (*images_with_package)(void *s, const char *package, const char *distribution,
                               long long now, temper_image_fn fn, void *ctx);
    /* Packages of the latest build of image/variant. */
    int (*build_packages)(void *s, const char *image, const char *variant,
                          int (*fn)(void *ctx, const struct temper_package *p),
                          void *ctx);

    /* -- job queue -- */
    /* Enqueue, or merge into the queued job with the same dedup_key (the
     * change lists are joined, priority raised).  *id gets the job id,
     * *merged whether it merged. */
    int (*job_enqueue)(void *s, const struct temper_job *job, long long *id,
                       bool *merged);
    /* Claim the best queued job (or one whose lease expired) for `worker`.
     * TEMPER_ENOTFOUND when there is none.  *out owns its strings. */
    int (*job_claim)(void *s, const char *worker, long long now, long long lease_ms,
                     struct temper_job *out);
    /* Extend a lease; TEMPER_ESTATE when the worker no longer holds it. */
    int (*job_heartbeat)(void *s, long long id, const char *worker, long long now,
                         long long lease_ms);
    int (*job_complete)(void *s, long long id, const char *worker);
    /* Fail an attempt: re-queued with not_before = now + retry_ms while
     * attempts < max_attempts, else FAILED. */
    int (*job_fail)(void *s, long long id, const char *worker, const char *error,
                    long long now, long long retry_ms);
    int (*job_park)(void *s, long long id, const char *worker);
    int (*job_release)(void *s, long long id, long long now); /* parked -> queued */
    /* states: bit mask of (1 << enum temper_job_state); 0 = all. */
    int (*job_list)(void *s, unsigned states, temper_job_fn fn, void *ctx);

    /* -- runs and stage results -- */
    int (*run_begin)(void *s, const struct temper_run_record *r, long long *run_id);
    int (*run_stage)(void *s, const struct temper_stage_record *sr);
    int (*run_finish)(void *s, long long run_id, int status, const char *error,
                      long long finished_at);
    int (*run_list)(void *s, long long job_id /* 0 = all */, temper_run_fn fn, void *ctx);
    int (*run_stages)(void *s, long long run_id, temper_stage_rec_fn fn, void *ctx);

    /* -- review queue -- */
    int (*review_add)(void *s, const struct temper_review *r, long long *id);
    int (*review_list)(void *s, unsigned states, temper_review_fn fn, void *ctx);
    int (*review_get)(void *s, long long id, temper_review_fn fn, void *ctx);
    /* Decide an open item; TEMPER_ESTATE when it was already decided. */
    int (*review_decide)(void *s, long long id, enum temper_review_state decision,
                         const char *actor, const char *comment, long long at);

    /* -- append-only audit log -- */
    int (*audit_append)(void *s, const struct temper_audit *a);
    int (*audit_list)(void *s, long long since_id, temper_audit_fn fn, void *ctx);
};

/* Free the strings of a job filled by job_claim and zero it. */
TEMPER_EXPORT void temper_job_cleanup(struct temper_job *job);

#ifdef __cplusplus
}
#endif
#endif

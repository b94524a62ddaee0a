/* temper — what was published, and the cascade to the images built on it.
 *
 * The published state of an image is a JSON record in the store's key/value
 * space (namespace "published", key = the image name):
 *   {"digest":"sha256:...","version":"1.2","base_digest":"sha256:...",
 *    "layout":"<workdir>/layouts/NAME/<job>-<attempt>","run_id":12,"job_id":4,
 *    "at":1700000000000}
 * The layout the builder wrote is kept (the previous one of the image is
 * removed) so that a builder working on a base (builder_overlay) gets it as
 * the base image artifact.
 * and its digest is also the image record's last_digest.  An image built on
 * a base (`base = image:NAME`) is built against the base's published digest
 * (TEMPER_RUN_BASE_DIGEST in the run record).
 *
 * "Published" is the end of a successful run: after the publish stages when
 * the chain has any, after the last stage otherwise.  Not installed. */
#ifndef TEMPER_CORE_CASCADE_H
#define TEMPER_CORE_CASCADE_H

#include "graph.h"
#include "pipeline.h"

#define TEMPER_PUBLISHED_NS "published"

struct temper_published {
    char *digest;
    char *version;
    char *base_digest;
    char *layout;         /* the OCI layout kept for images built on it, or NULL */
    long long run_id;
    long long job_id;
    long long at;
};

/* The published record of `image`: TEMPER_OK, TEMPER_ENOTFOUND when it was
 * never published, or a store error.  *out owns its strings. */
int temper_published_get(struct temper_store *s, const char *image,
                         struct temper_published *out) TEMPER_WARN_UNUSED;
/* Record `p` for `image`; the image record's last_digest becomes its
 * digest and, when it has one, its pinned version its version (the
 * accepted upstream version: a tracker compares against it). */
int temper_published_put(struct temper_store *s, const char *image,
                         const struct temper_published *p) TEMPER_WARN_UNUSED;
void temper_published_cleanup(struct temper_published *p);

/* Enqueue a rebuild of every direct dependent of `image` (reason "base",
 * de-duplicated per image while queued), so that the subtree is rebuilt one
 * level after the other.  The job ids go to ids[*n] (up to cap; ids may be
 * NULL), *n counts them. */
int temper_cascade_enqueue(struct temper_store *s, const struct temper_graph *g,
                           const char *image, const char *digest, int priority,
                           long long *ids, size_t cap, size_t *n) TEMPER_WARN_UNUSED;

/* Enqueue (or merge into) the queued job "build:IMAGE"; *id gets its id. */
int temper_job_enqueue_image(struct temper_store *s, const char *image, const char *version,
                             const char *reason, const char *change, int priority,
                             long long *id, bool *merged) TEMPER_WARN_UNUSED;

#endif

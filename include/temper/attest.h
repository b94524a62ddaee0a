/* temper — attestation plugins: statements about an image.
 *
 * attest() emits TEMPER_ART_STATEMENT artifacts: an in-toto Statement v1 in
 * the inline data, TEMPER_ATTR_PREDICATE_TYPE set, subject = the image
 * manifest digest.  `run` is the run record kept by the core
 * (TEMPER_ART_RUN: invocation id, start time, definition and pipeline
 * digests, resolved inputs), never anything a builder claims.  The core wraps
 * each statement in DSSE and has the signer sign it. */
#ifndef TEMPER_ATTEST_H
#define TEMPER_ATTEST_H

#include <temper/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Attribute keys of the TEMPER_ART_RUN record. */
#define TEMPER_RUN_INVOCATION_ID "invocation_id"
#define TEMPER_RUN_BUILDER_ID "builder_id"
#define TEMPER_RUN_STARTED "started_on"          /* RFC 3339 UTC */
#define TEMPER_RUN_FINISHED "finished_on"
#define TEMPER_RUN_DEFINITION_DIGEST "definition_digest" /* sha256:<hex> */
#define TEMPER_RUN_PIPELINE_DIGEST "pipeline_digest"
#define TEMPER_RUN_DEFINITION_URI "definition_uri"
#define TEMPER_RUN_PIPELINE_URI "pipeline_uri"
/* The base image the build started from, when there is one: its reference
 * as written in the image definition and the manifest digest it resolved
 * to (sha256:<hex>).  Set by the core. */
#define TEMPER_RUN_BASE_REF "base_ref"
#define TEMPER_RUN_BASE_DIGEST "base_digest"
/* What started the run and what it builds (set by the core): the trigger
 * ("upstream", "package", "base", "manual"), the tracker and upstream (or
 * package) of the change, the version before and after, and the upstream
 * version the build takes (the accepted one: approved in review when a
 * guard blocked it). */
#define TEMPER_RUN_TRIGGER "trigger"
#define TEMPER_RUN_TRIGGER_TRACKER "trigger_tracker"
#define TEMPER_RUN_TRIGGER_UPSTREAM "trigger_upstream"
#define TEMPER_RUN_TRIGGER_FROM "trigger_from"
#define TEMPER_RUN_TRIGGER_TO "trigger_to"
#define TEMPER_RUN_VERSION "version"
#define TEMPER_RUN_REVIEW_APPROVED "review_approved" /* "true" when a person took it */

struct temper_attest_ops {
    int (*attest)(void *state, struct temper_stage *st,
                  const struct temper_artifact *image,
                  const struct temper_artifact *run);
};

#ifdef __cplusplus
}
#endif
#endif

/* temper — publish plugins: put an image and its signatures somewhere.
 *
 * publish() pushes the image, then the signature and attestation artifacts
 * that belong to it, and moves `tags` only after everything else is in, so
 * that no tag ever points at a half-pushed image.  It emits one
 * TEMPER_ART_REFERENCE per reference written (TEMPER_ATTR_REF, _DIGEST). */
#ifndef TEMPER_PUBLISH_H
#define TEMPER_PUBLISH_H

#include <temper/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_publish_request {
    uint32_t size;
    const struct temper_artifact *image;        /* borrowed */
    const struct temper_artifact *const *extras; /* signatures, statements */
    size_t n_extras;
    const char *const *tags;  /* already expanded from the tag templates */
    size_t n_tags;
};

struct temper_publish_ops {
    int (*publish)(void *state, struct temper_stage *st,
                   const struct temper_publish_request *req);
};

#ifdef __cplusplus
}
#endif
#endif

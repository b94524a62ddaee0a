/* temper — builder plugins: an image definition in, an OCI image out.
 *
 * build() writes an OCI image layout under req->layout_dir and emits one
 * TEMPER_ART_IMAGE per platform (path = layout dir, attributes digest,
 * media_type, platform, variant) carrying the packages the image contains
 * (temper_artifact_add_package), or one image index artifact for several
 * platforms.  The keys of the image definition's [build] section are
 * validated by the core against `image_options`.  Every timestamp is clamped
 * to req->source_date_epoch so that equal inputs give equal digests. */
#ifndef TEMPER_BUILDER_H
#define TEMPER_BUILDER_H

#include <temper/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The core-level keys of an image definition, parsed by the core. */
struct temper_image_def {
    uint32_t size;
    const char *name;
    const char *path;             /* the definition file */
    const char *distribution;     /* "debian:bookworm", "alpine:v3.19" */
    const struct temper_strlist *packages;
    const char *user;             /* "65532" or "name" */
    const struct temper_strlist *entrypoint;
    const struct temper_strlist *cmd;
    const struct temper_strlist *env; /* "KEY=VALUE" */
    const char *workdir;
    const char *base;             /* "image:NAME", an OCI ref, or NULL */
    const char *support_until;    /* ISO date or NULL */
    const char *version;          /* accepted upstream version or NULL */
};

struct temper_build_request {
    uint32_t size;
    const struct temper_image_def *def;  /* borrowed */
    const void *image_conf;       /* block from image_options, borrowed */
    const char *variant;          /* "runtime" or "dev" */
    const char *const *platforms; /* "linux/amd64", ... ; n_platforms >= 1 */
    size_t n_platforms;
    const char *layout_dir;       /* write the OCI layout here */
    const char *tag;              /* ref name for index.json annotation */
    long long source_date_epoch;  /* seconds; clamp every timestamp */
    const struct temper_artifact *base; /* base image artifact or NULL */
};

struct temper_builder_ops {
    const struct temper_option *image_options;
    size_t image_conf_size;
    int (*build)(void *state, struct temper_stage *st,
                 const struct temper_build_request *req);
};

#ifdef __cplusplus
}
#endif
#endif

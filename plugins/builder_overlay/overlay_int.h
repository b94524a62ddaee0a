/* temper — builder_overlay internals (not installed). */
#ifndef TEMPER_BUILDER_OVERLAY_INT_H
#define TEMPER_BUILDER_OVERLAY_INT_H

#include <stdbool.h>
#include <temper/temper.h>
#include "../builder_deb/deb.h"

/* [builder "overlay"] */
struct ov_conf {
    long long max_layer_bytes;   /* uncompressed bytes of one filtered layer */
    long long max_entries;       /* entries of one filtered layer */
    bool plain_http;             /* registries: http:// (loopback tests) */
    char *ca_file;
    char *credentials_file;
    char *docker_config;
    struct deb_conf deb;         /* packages: mirror, suite, ... like builder_deb */
};

/* [build] of a customization */
struct ov_image_conf {
    struct temper_strlist artifacts; /* "REF [include=G,..] [exclude=G,..] [dest=/DIR]" */
    struct temper_strlist labels;    /* "KEY=VALUE" */
    char *tag_suffix;
    char *base_platform;             /* platform picked from a multi-platform base */
};

/* One opened source: a manifest (and, for images, its config) in a layout. */
struct ov_src {
    char *ref;                       /* as written, for messages */
    struct temper_oci_layout *l;
    struct temper_oci_descriptor desc; /* the manifest */
    struct temper_oci_manifest m;
    struct temper_oci_config cfg;    /* zeroed when the config is not an image config */
    bool is_image;
};

/* One `artifact =` line, parsed. */
struct ov_artifact {
    char *ref;
    struct temper_strlist include;   /* globs on "/path"; empty: everything */
    struct temper_strlist exclude;
    char *dest;                      /* where file artifacts go; default "/" */
};

/* Layers of the image being written, base first. */
struct ov_stack {
    size_t n;
    struct temper_oci_descriptor *layers;
    char (*diff_ids)[TEMPER_DIGEST_STR_LEN];
    char **history;                  /* created_by of each added layer (NULL: base) */
};

/* overlay_src.c */
int ov_src_open_ref(struct temper_stage *st, const struct ov_conf *c, const char *ref,
                    const char *platform, struct ov_src *out);
int ov_src_open_artifact(struct temper_stage *st, const struct temper_artifact *a,
                         const char *platform, struct ov_src *out);
void ov_src_cleanup(struct ov_src *s);
int ov_blob_copy(struct temper_stage *st, const struct ov_src *src,
                 struct temper_oci_layout *dst, const struct temper_oci_descriptor *d);
int ov_diff_id(struct temper_stage *st, const struct ov_src *src,
               const struct temper_oci_descriptor *d, char out[TEMPER_DIGEST_STR_LEN]);
bool ov_is_tar_layer(const char *media_type);

/* overlay_layers.c */
int ov_artifact_parse(struct temper_stage *st, const char *line, struct ov_artifact *out);
void ov_artifact_cleanup(struct ov_artifact *a);
int ov_stack_push(struct ov_stack *s, const struct temper_oci_descriptor *d,
                  const char *diff_id, const char *created_by);
void ov_stack_cleanup(struct ov_stack *s);
int ov_add_artifact(struct temper_stage *st, const struct ov_conf *c, long long sde,
                    struct temper_oci_layout *dst, const struct ov_artifact *a,
                    const char *platform, struct ov_stack *stack);

/* overlay_pkgs.c: the definition's `packages` as one layer on the base's
 * (nothing when it has none); their packages and the base's onto art. */
int ov_add_packages(struct temper_stage *st, const struct ov_conf *c,
                    const struct temper_build_request *req, const char *platform,
                    const struct ov_src *base, struct temper_oci_layout *l,
                    struct ov_stack *stack, struct temper_artifact *art);

#endif

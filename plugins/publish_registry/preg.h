/* temper — publish_registry internals. */
#ifndef TEMPER_PREG_H
#define TEMPER_PREG_H

#include <temper/temper.h>
#include <temper/oci.h>
#include <temper/registry.h>

struct preg_conf {
    char *repository;
    struct temper_strlist tags;
    bool plain_http;
    char *ca_file;
    char *credentials_file;
    char *docker_config;
    char *username;
    char *password;
    unsigned long long chunk_size;
    unsigned long long monolithic_max;
    char *mount_from;
    long long retries;
    long long stall_timeout;        /* ms */
    bool referrers;
};

/* A manifest written into the layout that must be pushed and tagged. */
struct preg_attached {
    struct temper_oci_descriptor desc;
    char tag[TEMPER_REGISTRY_TAG_MAX + 1];
};

/* Write the cosign-convention `.sig` (simple-signing payloads) and `.att`
 * (DSSE envelopes) manifests for `image` (a descriptor in l) from the
 * signature artifacts among extras, with `subject` = image when
 * with_subject.  out[0..*n) get descriptors and tags (at most 2).  Replace
 * with temper_sigstore_attach() once include/temper/sigstore.h lands. */
int preg_attach(struct temper_stage *st, struct temper_oci_layout *l,
                const struct temper_oci_descriptor *image,
                const struct temper_artifact *const *extras, size_t n_extras,
                bool with_subject, struct preg_attached out[2], size_t *n);

#endif

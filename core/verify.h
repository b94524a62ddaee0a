/* temper — `temper verify` internals shared by core/cmd_verify.c (layouts,
 * output) and core/verify_registry.c (registry references). */
#ifndef TEMPER_CORE_VERIFY_H
#define TEMPER_CORE_VERIFY_H

#include <stdbool.h>
#include <temper/sigstore.h>

struct verify_out {
    char digest[TEMPER_DIGEST_STR_LEN];
    enum temper_verdict verdict;
    struct temper_sigstore_report rep;
    char *failure; /* image-level failure (blobs), or NULL */
};

/* Registry client settings from the command line. */
struct verify_registry_opts {
    bool plain_http;
    const char *ca_file;
    const char *docker_config;
    const char *credentials_file;
};

/* 1 when this build has the registry client. */
int temper_verify_registry_available(void);
/* Verify a registry reference (`docker://HOST/REPO:TAG`, `HOST/REPO:TAG`,
 * `HOST/REPO@sha256:..`): the manifest is resolved to its digest, the
 * .sig/.att objects are read through the registry fetch interface.
 * Returns a TEMPER_EXIT_* code (OK when the check ran: see o->verdict). */
int temper_verify_registry(struct temper_stage *st, const char *ref, const char *pem,
                           const struct verify_registry_opts *ro, struct verify_out *o);

#endif

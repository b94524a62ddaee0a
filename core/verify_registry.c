/* temper — `temper verify` for registry references: the registry side of
 * the sigstore fetch interface (include/temper/sigstore.h) over the
 * registry client (include/temper/registry.h).  Manifests are read by tag
 * (their bytes hashed by the client); blobs are downloaded, digest-checked,
 * into a private temporary layout and read from there.
 *
 * Built against the registry client when the tree has it; otherwise every
 * registry reference gets a one-line "not in this build" error. */
#include "config.h"
#include "core.h"
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<temper/registry.h>)
#define TEMPER_HAVE_REGISTRY 1
#endif
#endif

#ifdef TEMPER_HAVE_REGISTRY
#include <temper/registry.h>
#include "pipeline_priv.h" /* temper_rm_rf */

struct reg_fetch {
    struct temper_registry *r;
    const char *repo;
    struct temper_oci_layout *cache;
};

static int reg_get_manifest(void *ctx, struct temper_stage *st, const char *tag, size_t max,
                            char **json, size_t *len)
{
    struct reg_fetch *f = ctx;
    struct temper_registry_manifest m;
    memset(&m, 0, sizeof m);
    int rc = temper_registry_manifest_get(f->r, f->repo, tag, &m);
    if (rc == TEMPER_OK && m.len > max) {
        rc = temper_fail(st, TEMPER_ELIMIT, "%s:%s: manifest over %zu bytes", f->repo, tag, max);
    }
    if (rc == TEMPER_OK) {
        *json = m.body;
        *len = m.len;
        m.body = NULL;
    }
    temper_registry_manifest_cleanup(&m);
    return rc;
}

static int reg_get_blob(void *ctx, struct temper_stage *st, const struct temper_oci_descriptor *d,
                        size_t max, char **data, size_t *len)
{
    struct reg_fetch *f = ctx;
    if (d->size < 0 || (unsigned long long)d->size > max) {
        return temper_fail(st, TEMPER_ELIMIT, "%s: blob %s of %lld bytes is over %zu", f->repo,
                           d->digest, d->size, max);
    }
    int rc = temper_registry_blob_get(f->r, f->repo, d, f->cache);
    return rc == TEMPER_OK ? temper_oci_blob_read(st, f->cache, d, max, data, len) : rc;
}

int temper_verify_registry_available(void)
{
    return 1;
}

static int open_client(struct temper_stage *st, const struct temper_registry_ref *ref,
                       const struct verify_registry_opts *ro, struct temper_registry **r)
{
    struct temper_registry_opts o;
    temper_registry_opts_init(&o);
    o.plain_http = ro->plain_http;
    o.ca_file = ro->ca_file;
    o.docker_config = ro->docker_config;
    o.credentials_file = ro->credentials_file;
    return temper_registry_new(st, ref->host, &o, r);
}

int temper_verify_registry(struct temper_stage *st, const char *spec, const char *pem,
                           const struct verify_registry_opts *ro, struct verify_out *o)
{
    struct temper_registry_ref ref;
    struct temper_registry *r = NULL;
    struct temper_registry_manifest top;
    struct reg_fetch f = { NULL, NULL, NULL };
    memset(&top, 0, sizeof top);
    const char *s = strncmp(spec, "docker://", 9) == 0 ? spec + 9 : spec;
    if (temper_registry_ref_parse(s, &ref) != TEMPER_OK) {
        fprintf(stderr, "temper: verify: '%s' is not a registry reference (HOST/REPO:TAG)\n", spec);
        return TEMPER_EXIT_USAGE;
    }
    char tmp[] = "/tmp/temper-verify-XXXXXX";
    int made = mkdtemp(tmp) != NULL;
    int rc = made ? open_client(st, &ref, ro, &r)
                  : temper_fail(st, TEMPER_EIO, "cannot create a temporary directory");
    rc = rc ? rc : temper_oci_layout_create(st, tmp, &f.cache);
    rc = rc ? rc
            : temper_registry_manifest_get(r, ref.repo,
                                           ref.digest[0] ? ref.digest
                                           : ref.tag[0]  ? ref.tag
                                                         : "latest",
                                           &top);
    if (rc == TEMPER_OK) {
        memcpy(o->digest, top.digest, sizeof o->digest);
        f.r = r;
        f.repo = ref.repo;
        struct temper_sigstore_fetch fi = { sizeof fi, &f, reg_get_manifest, reg_get_blob };
        rc = temper_sigstore_verify(st, pem, o->digest, &fi, &o->verdict, &o->rep);
    }
    temper_registry_manifest_cleanup(&top);
    temper_oci_layout_free(f.cache);
    temper_registry_free(r);
    if (made) {
        (void)temper_rm_rf(tmp);
    }
    return rc == TEMPER_OK ? TEMPER_EXIT_OK : TEMPER_EXIT_FAIL;
}

#else /* no registry client in this tree */

int temper_verify_registry_available(void)
{
    return 0;
}

int temper_verify_registry(struct temper_stage *st, const char *spec, const char *pem,
                           const struct verify_registry_opts *ro, struct verify_out *o)
{
    (void)st;
    (void)pem;
    (void)ro;
    (void)o;
    fprintf(stderr,
            "temper: verify %s: registry references need the registry client "
            "(include/temper/registry.h), which is not in this build; verify a layout "
            "copy with oci:DIR[:TAG]\n",
            spec);
    return TEMPER_EXIT_FAIL;
}

#endif

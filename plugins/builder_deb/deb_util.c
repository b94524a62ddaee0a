/* temper — builder_deb: small helpers shared by its files (and by
 * builder_source, which compiles builder_deb's files in). */
#include "config.h"
#include "deb.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int deb_mkdirs(struct temper_stage *st, const char *dir)
{
    char *p = strdup(dir);
    int rc = p ? TEMPER_OK : TEMPER_ENOMEM;
    for (char *s = p ? p + 1 : NULL; rc == TEMPER_OK && s && *s; s++) {
        if (*s != '/') {
            continue;
        }
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            rc = temper_fail(st, TEMPER_EIO, "cannot create %s: %s", p, strerror(errno));
        }
        *s = '/';
    }
    if (rc == TEMPER_OK && mkdir(p, 0755) != 0 && errno != EEXIST) {
        rc = temper_fail(st, TEMPER_EIO, "cannot create %s: %s", p, strerror(errno));
    }
    free(p);
    return rc;
}

char *deb_upstream_version(const char *version)
{
    const char *colon = strchr(version, ':');
    const char *s = colon ? colon + 1 : version;
    const char *dash = strrchr(s, '-');
    return strndup(s, dash ? (size_t)(dash - s) : strlen(s));
}

int deb_add_packages(const char *distribution, const struct deb_repo *r,
                     struct temper_artifact *a, const struct deb_set *set)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < set->n; i++) {
        const struct deb_pkg *p = &set->v[i];
        char *url = temper_strdupf("%s/%s", r->base, p->filename);
        struct temper_package k = {
            .size = sizeof k, .name = p->name, .version = p->version, .arch = p->arch,
            .source = p->source, .source_version = p->source_version,
            /* no purl: the attest plugins derive the spec's form (encoding, distro
             * and upstream qualifiers) from these fields, one place for all */
            .distribution = distribution, .sha256 = p->sha256,
            .license = p->license, .supplier = p->maintainer, .url = url,
        };
        rc = url ? temper_artifact_add_package(a, &k) : TEMPER_ENOMEM;
        free(url);
    }
    return rc;
}

bool deb_merged_usr(const struct deb_build *b)
{
    return b->s->conf->merged_usr || (b->base && b->base->merged_usr);
}

/* linux/<goarch>[/<variant>] -> Debian architecture. */
int deb_platform(struct deb_build *b, const char *plat)
{
    static const struct { const char *oci, *deb, *goarch, *variant; } map[] = {
        { "linux/amd64", "amd64", "amd64", "" }, { "linux/arm64", "arm64", "arm64", "" },
        { "linux/arm64/v8", "arm64", "arm64", "" }, { "linux/arm/v7", "armhf", "arm", "v7" },
        { "linux/arm", "armhf", "arm", "v7" }, { "linux/arm/v5", "armel", "arm", "v5" },
        { "linux/386", "i386", "386", "" }, { "linux/ppc64le", "ppc64el", "ppc64le", "" },
        { "linux/s390x", "s390x", "s390x", "" }, { "linux/riscv64", "riscv64", "riscv64", "" },
        { "linux/mips64le", "mips64el", "mips64le", "" },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(plat, map[i].oci) == 0) {
            b->platform = map[i].oci;
            snprintf(b->arch, sizeof b->arch, "%s", map[i].deb);
            snprintf(b->goarch, sizeof b->goarch, "%s", map[i].goarch);
            snprintf(b->govariant, sizeof b->govariant, "%s", map[i].variant);
            return TEMPER_OK;
        }
    }
    return temper_fail(b->st, TEMPER_EINVAL, "platform %s has no Debian architecture", plat);
}

/* "debian:bookworm" -> dist_id "debian", suite "bookworm" (unless set). */
int deb_distribution(struct deb_build *b)
{
    const char *d = b->req->def->distribution;
    const char *colon = d ? strchr(d, ':') : NULL;
    size_t n = colon ? (size_t)(colon - d) : d ? strlen(d) : 0;
    snprintf(b->dist_id, sizeof b->dist_id, "%.*s", (int)(n < 31 ? n : 31), d ? d : "debian");
    if (!d) {
        snprintf(b->dist_id, sizeof b->dist_id, "debian");
    }
    const char *suite = b->s->conf->suite ? b->s->conf->suite : colon ? colon + 1 : NULL;
    if (!suite || !*suite || strchr(suite, '/') || strstr(suite, "..")) {
        return temper_fail(b->st, TEMPER_EINVAL, "image %s: no valid suite (set `suite` or "
                           "distribution = debian:RELEASE)", b->req->def->name);
    }
    b->suite = strdup(suite);
    return b->suite ? TEMPER_OK : TEMPER_ENOMEM;
}

const char *deb_choose_ref(const struct temper_build_request *req)
{
    if (req->tag) {
        return req->tag;
    }
    const char *v = req->def->version;
    return v && temper_oci_ref_valid(v) ? v : "latest";
}

int deb_describe(struct temper_artifact *a, const struct temper_build_request *req,
                 const struct temper_oci_descriptor *d, const char *platforms)
{
    int rc = temper_artifact_set(a, TEMPER_ATTR_DIGEST, d->digest);
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_MEDIA_TYPE, d->media_type) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_PLATFORM, platforms) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_VARIANT, req->variant) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_IMAGE, req->def->name) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_DISTRIBUTION,
                                               req->def->distribution)
                         : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_REF, deb_choose_ref(req)) : rc;
    return rc == TEMPER_OK ? temper_artifact_set_path(a, req->layout_dir) : rc;
}

/* temper — builder_deb: small helpers shared by its files (and by
 * builder_source, which compiles builder_deb's files in). */
#include "config.h"
#include "deb.h"
#include <errno.h>
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

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

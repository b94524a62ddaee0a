/* temper tests — record a build of an image in a pipeline's store, with the
 * packages it contains, the way a published build does (for
 * tracker_debian_e2e.sh, which then runs `temper track`):
 *
 *   pkgtrack_seed CONFIG IMAGE DISTRIBUTION NAME=VERSION[/SOURCE]...
 *
 * Plugins come from $TEMPER_PLUGINS.  Exit 0 when recorded. */
#include "config.h"
#include "core/runtime.h"
#include "core/pipeline_priv.h"

#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED_MAX_PACKAGES 64

static int parse_pkg(char *arg, const char *dist, struct temper_package *p)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        return -1;
    }
    *eq = '\0';
    char *slash = strchr(eq + 1, '/');
    if (slash) {
        *slash = '\0';
    }
    memset(p, 0, sizeof *p);
    p->size = sizeof *p;
    p->name = arg;
    p->version = eq + 1;
    p->source = slash ? slash + 1 : NULL;
    p->distribution = dist;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc - 4 > SEED_MAX_PACKAGES) {
        fprintf(stderr, "usage: pkgtrack_seed CONFIG IMAGE DISTRIBUTION NAME=VERSION[/SOURCE]..."
                        "\n");
        return 2;
    }
    struct temper_package pkgs[SEED_MAX_PACKAGES];
    size_t n = 0;
    for (int i = 4; i < argc; i++) {
        if (parse_pkg(argv[i], argv[3], &pkgs[n++]) != 0) {
            fprintf(stderr, "pkgtrack_seed: bad package '%s'\n", argv[i]);
            return 2;
        }
    }
    setenv("TEMPER_NO_INSTALLED_PLUGINS", "1", 1);
    LTDL_SET_PRELOADED_SYMBOLS();
    const char *plugins = getenv("TEMPER_PLUGINS");
    const char *dirs[] = { plugins ? plugins : "plugins" };
    struct temper_runtime rt;
    int rc = temper_runtime_open(&rt, argv[1], dirs, 1, stderr);
    if (rc != TEMPER_OK) {
        fprintf(stderr, "pkgtrack_seed: cannot open %s: %s\n", argv[1], temper_rc_str(rc));
        return 1;
    }
    struct temper_build_record b = { .size = sizeof b, .image = argv[2], .variant = "runtime",
                                     .version = "1", .digest = "sha256:00",
                                     .distribution = argv[3], .built_at = 1 };
    rc = rt.store.ops->build_record(rt.store.state, &b, pkgs, n);
    temper_runtime_close(&rt);
    if (rc != TEMPER_OK) {
        fprintf(stderr, "pkgtrack_seed: cannot record the build: %s\n", temper_rc_str(rc));
        return 1;
    }
    return 0;
}

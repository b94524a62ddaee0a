/* Fuzz target: the deb822 stanza reader (Packages, Sources, control files,
 * APKINDEX syntax) and the relation parsers (Depends & co, apk D:/p:/i:),
 * include/temper/pkgindex.h. */
#include "config.h"
#include "fuzz.h"
#include <stdlib.h>
#include <temper/pkgindex.h>

static void relations(const struct temper_deb822_field *f, bool apk)
{
    char *folded = NULL;
    struct temper_deps *deps = NULL;
    if (!f || temper_deb822_fold(f, &folded) != TEMPER_OK) {
        return;
    }
    int rc = apk ? temper_apk_deps_parse(NULL, folded, &deps)
                 : temper_deb_deps_parse(NULL, folded, &deps);
    if (rc == TEMPER_OK) {
        FUZZ_ASSERT(deps);
        for (size_t i = 0; i < deps->n; i++) {
            const struct temper_dep *d = &deps->v[i];
            FUZZ_ASSERT(d->name && d->group < deps->n_groups);
            (void)temper_dep_arch_ok(d, "amd64");
            (void)temper_dep_version_ok(apk ? TEMPER_VSCHEME_APK : TEMPER_VSCHEME_DPKG, d,
                                        "1.2.3-1");
        }
    }
    temper_deps_free(deps);
    free(folded);
}

static void run(const uint8_t *data, size_t size, unsigned flags)
{
    struct temper_pkgindex_limits lim;
    struct temper_deb822 *p = NULL;
    const struct temper_deb822_stanza *s = NULL;
    bool apk = (flags & TEMPER_DEB822_APKINDEX) != 0;
    temper_pkgindex_limits_default(&lim);
    lim.max_field = 64 * 1024;
    lim.max_stanza = 256 * 1024;
    lim.max_fields = 200;
    lim.max_stanzas = 10000;
    lim.max_input = 8u << 20;
    if (temper_deb822_open_mem(NULL, "fuzz", data, size, &lim, flags, &p) != TEMPER_OK) {
        return;
    }
    (void)temper_deb822_name(p);
    while (temper_deb822_next(p, &s) == TEMPER_OK && s) {
        FUZZ_ASSERT(s->n_fields > 0 && s->n_fields <= lim.max_fields);
        relations(temper_deb822_get(s, apk ? "D" : "Depends"), apk);
        relations(temper_deb822_get(s, apk ? "p" : "Provides"), apk);
        relations(temper_deb822_get(s, apk ? "i" : "Build-Depends"), apk);
    }
    temper_deb822_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    run(data, size, 0);
    run(data, size, TEMPER_DEB822_COMMENTS);
    run(data, size, TEMPER_DEB822_APKINDEX);
    return 0;
}

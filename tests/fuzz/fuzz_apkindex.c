/* Fuzz target: Alpine APKINDEX.tar.gz (signed or not) and plain APKINDEX
 * text (temper_apkindex_load_mem, include/temper/pkgindex.h). */
#include "config.h"
#include "fuzz.h"
#include <string.h>
#include <temper/pkgindex.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct temper_pkgindex_limits lim;
    struct temper_apkindex *idx = NULL;
    fuzz_init();
    temper_pkgindex_limits_default(&lim);
    lim.max_input = 16u << 20;
    lim.max_stanzas = 20000;
    if (temper_apkindex_load_mem(NULL, "fuzz", data, size, &lim, &idx) != TEMPER_OK) {
        return 0;
    }
    size_t n = temper_apkindex_count(idx);
    for (size_t i = 0; i < n; i++) {
        const struct temper_apkpkg *p = temper_apkindex_at(idx, i);
        FUZZ_ASSERT(p && p->name && p->version && p->origin);
        const struct temper_apkpkg *q = temper_apkindex_find(idx, p->name);
        FUZZ_ASSERT(q && strcmp(q->name, p->name) == 0);
        for (const struct temper_apkprov *v = temper_apkindex_providers(idx, p->name); v;
             v = v->next) {
            FUZZ_ASSERT(v->pkg && v->name);
        }
    }
    (void)temper_apkindex_description(idx);
    const struct temper_apksig *sig = temper_apkindex_signature(idx);
    FUZZ_ASSERT(sig);
    if (sig->type != TEMPER_APKSIG_NONE) {
        FUZZ_ASSERT(sig->key_name && !strchr(sig->key_name, '/'));
    }
    temper_apkindex_free(idx);
    return 0;
}

/* Fuzz target: Debian Packages indexes and dpkg status files loaded into a
 * package table (temper_debindex_load_mem, include/temper/pkgindex.h). */
#include "config.h"
#include "fuzz.h"
#include <string.h>
#include <temper/pkgindex.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct temper_pkgindex_limits lim;
    struct temper_debindex *idx = NULL;
    fuzz_init();
    temper_pkgindex_limits_default(&lim);
    lim.max_input = 8u << 20;
    lim.max_stanzas = 20000;
    if (temper_debindex_load_mem(NULL, "fuzz", data, size, &lim, &idx) != TEMPER_OK) {
        return 0;
    }
    size_t n = temper_debindex_count(idx);
    for (size_t i = 0; i < n; i++) {
        const struct temper_debpkg *p = temper_debindex_at(idx, i);
        FUZZ_ASSERT(p && p->name && p->version && p->source && p->source_version);
        const struct temper_debpkg *q = temper_debindex_find(idx, p->name);
        FUZZ_ASSERT(q && strcmp(q->name, p->name) == 0);
        for (const struct temper_debprov *v = temper_debindex_providers(idx, p->name); v;
             v = v->next) {
            FUZZ_ASSERT(v->pkg && v->name);
        }
    }
    FUZZ_ASSERT(temper_debindex_at(idx, n) == NULL);
    temper_debindex_free(idx);
    return 0;
}

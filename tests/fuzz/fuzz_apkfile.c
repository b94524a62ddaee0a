/* Fuzz target: the control part of a .apk package (signature, .PKGINFO,
 * data member hash), temper_apkfile_load (include/temper/pkgindex.h). */
#include "config.h"
#include "fuzz.h"
#include <string.h>
#include <temper/pkgindex.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct temper_pkgindex_limits lim;
    struct temper_apkfile *f = NULL;
    fuzz_init();
    temper_pkgindex_limits_default(&lim);
    lim.max_input = 16u << 20;
    if (temper_apkfile_load(NULL, fuzz_file(data, size), &lim, &f) != TEMPER_OK) {
        return 0;
    }
    FUZZ_ASSERT(f->pkg && f->pkg->name && f->pkg->version);
    FUZZ_ASSERT(strlen(f->data_sha256) == 64);
    FUZZ_ASSERT(f->data_offset <= size);
    temper_apkfile_free(f);
    return 0;
}

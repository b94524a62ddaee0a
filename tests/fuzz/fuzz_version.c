/* Fuzz target: version ordering for semver, dpkg and apk strings
 * (include/temper/version.h), with the properties the header promises:
 * every compare is antisymmetric and reflexive, and never crashes. */
#include "config.h"
#include "fuzz.h"
#include <stdlib.h>
#include <string.h>
#include <temper/version.h>

/* Two versions: split at the first NUL, else at the first blank or line
 * break (so that the "A B RESULT" lines of the test vectors seed it). */
static void two(const uint8_t *data, size_t size, char **a, char **b)
{
    if (memchr(data, 0, size)) {
        fuzz_split2(data, size, a, b);
        return;
    }
    size_t i = 0;
    while (i < size && data[i] != ' ' && data[i] != '\t' && data[i] != '\n') {
        i++;
    }
    *a = fuzz_cstr(data, i);
    size_t j = i < size ? i + 1 : i;
    size_t k = j;
    while (k < size && data[k] != ' ' && data[k] != '\t' && data[k] != '\n') {
        k++;
    }
    *b = fuzz_cstr(data + j, k - j);
}

static void check(enum temper_vscheme scheme, const char *a, const char *b)
{
    int ab = temper_version_cmp(scheme, a, b);
    int ba = temper_version_cmp(scheme, b, a);
    FUZZ_ASSERT(ab >= -1 && ab <= 1);
    FUZZ_ASSERT(ab == -ba);
    FUZZ_ASSERT(temper_version_cmp(scheme, a, a) == 0);
    FUZZ_ASSERT(temper_version_cmp(scheme, a, NULL) == 1);
    FUZZ_ASSERT(temper_version_cmp(scheme, NULL, b) == -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = NULL, *b = NULL;
    long long ma, mi, pa;
    fuzz_init();
    two(data, size, &a, &b);
    check(TEMPER_VSCHEME_SEMVER, a, b);
    check(TEMPER_VSCHEME_DPKG, a, b);
    check(TEMPER_VSCHEME_APK, a, b);
    FUZZ_ASSERT(temper_semver_cmp(a, b) == temper_version_cmp(TEMPER_VSCHEME_SEMVER, a, b));
    FUZZ_ASSERT(temper_dpkg_cmp(a, b) == temper_version_cmp(TEMPER_VSCHEME_DPKG, a, b));
    FUZZ_ASSERT(temper_apk_cmp(a, b) == temper_version_cmp(TEMPER_VSCHEME_APK, a, b));
    (void)temper_semver_valid(a);
    (void)temper_dpkg_valid(a);
    (void)temper_apk_valid(a);
    if (temper_semver_parts(a, &ma, &mi, &pa) == TEMPER_OK) {
        FUZZ_ASSERT(ma >= 0 && mi >= 0 && pa >= 0);
    }
    /* an equal-precedence pair orders the same against a third string */
    if (temper_dpkg_cmp(a, b) == 0) {
        FUZZ_ASSERT(temper_dpkg_cmp(a, "1.0") == temper_dpkg_cmp(b, "1.0"));
    }
    if (temper_apk_valid(a) && temper_apk_valid(b) && temper_apk_cmp(a, b) == 0) {
        FUZZ_ASSERT(temper_apk_cmp(a, "1.0") == temper_apk_cmp(b, "1.0"));
    }
    free(a);
    free(b);
    return 0;
}

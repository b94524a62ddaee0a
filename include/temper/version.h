/* temper — version ordering for the schemes temper meets upstream.
 *
 * Each compare returns <0, 0 or >0 like strcmp.  Invalid versions never
 * crash: semver falls back to a natural-order comparison, dpkg and apk follow
 * the reference implementations' behaviour on odd input (apk: string sort of
 * an invalid version, as apk-tools does). */
#ifndef TEMPER_VERSION_H
#define TEMPER_VERSION_H

#include <stdbool.h>
#include <temper/rc.h>

#ifdef __cplusplus
extern "C" {
#endif

enum temper_vscheme {
    TEMPER_VSCHEME_SEMVER = 1, /* semver 2.0.0, leading "v" accepted */
    TEMPER_VSCHEME_DPKG = 2,   /* deb-version(7): [epoch:]upstream[-revision] */
    TEMPER_VSCHEME_APK = 3     /* apk-tools: 1.2.3_rc1-r0 */
};

TEMPER_EXPORT int temper_version_cmp(enum temper_vscheme scheme, const char *a,
                                     const char *b);
TEMPER_EXPORT int temper_semver_cmp(const char *a, const char *b);
TEMPER_EXPORT int temper_dpkg_cmp(const char *a, const char *b);
TEMPER_EXPORT int temper_apk_cmp(const char *a, const char *b);

TEMPER_EXPORT bool temper_semver_valid(const char *v);
TEMPER_EXPORT bool temper_dpkg_valid(const char *v);
TEMPER_EXPORT bool temper_apk_valid(const char *v);

/* Split a semver-ish version "v1.2.3-rc1" into numbers (missing parts 0).
 * TEMPER_EFORMAT when it has no leading number. */
TEMPER_EXPORT int temper_semver_parts(const char *v, long long *major, long long *minor,
                                      long long *patch) TEMPER_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif

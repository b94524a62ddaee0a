/* temper — version ordering for the schemes temper meets upstream.
 *
 * Each compare returns -1, 0 or 1 (so <0, 0, >0 like strcmp) and is
 * antisymmetric: cmp(a, b) == -cmp(b, a).  0 means "same precedence", not
 * "same string" (semver build metadata, "1.09" vs "1.9" in dpkg).  NULL sorts
 * before every string and equals NULL.  No input crashes or allocates: digit
 * runs of any length are compared exactly (no integer overflow), bytes >= 0x80
 * are ordinary non-letters.
 *
 * SEMVER  semver.org 2.0.0 precedence when BOTH strings are valid semver
 *         (an optional leading "v" is accepted: "v1.2.3"; build metadata after
 *         "+" is ignored).  Otherwise both strings are compared in NATURAL
 *         ORDER, which handles tags such as "1.2", "2024.01.05", "v1.2-rc1",
 *         "release-1.2.3":
 *           1. a leading "v"/"V" before a digit is dropped ("v1.2" == "1.2");
 *           2. the string splits into a release part and a pre-release part,
 *              which starts at the first "~", or at the first "-", "_", "."
 *              or digit-to-letter boundary followed by one of the words
 *              alpha, beta, dev, pre, preview, rc, snapshot (any case, not
 *              followed by a letter): "1.2-rc1" = "1.2" + "-rc1",
 *              "1.2beta" = "1.2" + "beta", "1.2-1" has no pre-release part;
 *           3. release parts compare run by run: digit runs by value, other
 *              runs by bytes, a digit run before a non-digit run, and a
 *              version that is a prefix of the other is older
 *              ("1.2" < "1.2.0" < "1.2.1" < "1.2a");
 *           4. with equal release parts, the one without a pre-release part
 *              is newer ("1.2-rc1" < "1.2" < "1.2-1"); two pre-release parts
 *              compare like rule 3 once their leading separator is dropped
 *              ("1.2-beta2" < "1.2rc1" == "1.2~rc1" < "1.2-rc2").
 *         The natural order is a total preorder of its own; across a mix of
 *         valid and invalid semver strings it agrees with semver on the
 *         numbers but cannot promise transitivity in every corner.
 * DPKG    deb-version(7) as dpkg's verrevcmp: epoch (before the first ":",
 *         default 0), upstream, revision (after the last "-", empty compares
 *         like "0"), each compared in alternating non-digit parts (with "~"
 *         before the end, the end before letters, letters before all other
 *         bytes) and digit parts (numerically).  Odd input is split the way
 *         Dpkg::Version splits it and compared with the same rules (a
 *         non-numeric epoch is compared like an upstream part).
 * APK     apk-tools 2.14 (src/version.c): digits{.digits}{letter}{_suffix{N}}
 *         {-rN}; a dotted component with a leading zero compares as a
 *         fraction (bytes), suffixes order _alpha < _beta < _pre < _rc <
 *         (none) < _cvs < _svn < _git < _hg < _p; when one version stops or
 *         switches token kind first, apk-tools' kind order decides
 *         (1.0_rc1 < 1.0 < 1.0-r1 < 1.0_p1 < 1.0a < 1.0.1).  An invalid
 *         version is compared token by token up to the invalid point like
 *         apk-tools (an invalid tail sorts before any valid continuation);
 *         where apk-tools would then call two different invalid versions
 *         equal, the unparsed rests are compared as byte strings.  apk-tools
 *         3 additions ("~hash" tokens) are not part of this grammar.
 *
 * _valid: SEMVER strict semver 2.0.0 (optional leading "v"); DPKG as dpkg
 * would accept it without warning (epoch 0..INT_MAX, upstream starts with a
 * digit and uses [A-Za-z0-9.+~:-], revision non-empty when a "-" is present
 * and uses [A-Za-z0-9.+~], no whitespace); APK as apk_version_validate() of
 * apk-tools 2.14. */
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

/* An unknown scheme compares like TEMPER_VSCHEME_SEMVER. */
TEMPER_EXPORT int temper_version_cmp(enum temper_vscheme scheme, const char *a,
                                     const char *b);
TEMPER_EXPORT int temper_semver_cmp(const char *a, const char *b);
TEMPER_EXPORT int temper_dpkg_cmp(const char *a, const char *b);
TEMPER_EXPORT int temper_apk_cmp(const char *a, const char *b);

TEMPER_EXPORT bool temper_semver_valid(const char *v);
TEMPER_EXPORT bool temper_dpkg_valid(const char *v);
TEMPER_EXPORT bool temper_apk_valid(const char *v);

/* Split a semver-ish version "v1.2.3-rc1" into numbers (missing parts 0;
 * parsing stops at the first byte that does not continue "N.N.N").
 * TEMPER_EFORMAT when it has no leading number or a part exceeds LLONG_MAX,
 * TEMPER_EINVAL when v is NULL.  Each out-pointer may be NULL. */
TEMPER_EXPORT int temper_semver_parts(const char *v, long long *major, long long *minor,
                                      long long *patch) TEMPER_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif

/* temper — package license text to an SPDX license expression (attest_spdx
 * and attest_cyclonedx).
 *
 * Input is what a builder records in temper_package.license: an SPDX
 * expression, or the short names of a Debian machine-readable copyright file
 * (DEP-5: "GPL-2+ or Artistic", "LGPL-2.1+ with staticLink exception",
 * "MPL-1.1 or LGPL-2.1+, and SC").  The conversion:
 *   - operators and/or/with in any case become AND/OR/WITH; parentheses are
 *     kept; DEP-5's comma ("A or B, and C") groups what precedes it:
 *     (A OR B) AND C;
 *   - each name is looked up case-insensitively in the SPDX license list
 *     (spdx_ids.h) and written in its canonical case; GNU names are mapped
 *     the way Debian uses them (GPL-2 -> GPL-2.0-only, GPL-2+ and GPL-2.0+ ->
 *     GPL-2.0-or-later, LGPL-2.1+, AGPL-3, GFDL-1.3+, GFDL-NIV-1.3+ ->
 *     GFDL-1.3-no-invariants-or-later), and a few DEP-5 names to their SPDX
 *     ids (Expat and MIT/X11 -> MIT, Apache-2 -> Apache-2.0, Artistic ->
 *     Artistic-1.0-Perl, Perl -> (Artistic-1.0-Perl OR GPL-1.0-or-later),
 *     OpenLDAP-2.8 -> OLDAP-2.8, Python -> Python-2.0, CDDL-1 -> CDDL-1.0,
 *     NAME-N -> NAME-N.0 when that is a listed id);
 *   - known exceptions after WITH likewise ("Autoconf exception" ->
 *     Autoconf-exception-2.0 or -3.0 by the GPL version, "GCC exception",
 *     "Bison exception", "Classpath exception", "Font exception",
 *     "Linux-syscall-note exception", "LLVM exception", listed ids);
 *   - anything else becomes LicenseRef-<name with [^A-Za-z0-9.-] -> '-'>
 *     ("public-domain" -> LicenseRef-public-domain; "X with unknown
 *     exception" -> one LicenseRef-X-with-unknown-exception, since SPDX 2.3
 *     has no custom exceptions), listed in `refs` so that the SPDX document
 *     can declare it (hasExtractedLicensingInfos);
 *   - text that is not a well-formed expression becomes one LicenseRef.
 * NULL, "" and NOASSERTION give expr == NULL (write NOASSERTION); NONE stays
 * NONE. */
#ifndef TEMPER_ATTEST_LICENSE_H
#define TEMPER_ATTEST_LICENSE_H

#include "attest_common.h"

#define ac_license_parse ATTEST_CAT(ATTEST_NS, ac_license_parse)
#define ac_license_cleanup ATTEST_CAT(ATTEST_NS, ac_license_cleanup)

struct ac_license_ref {
    char *id;   /* "LicenseRef-..." */
    char *name; /* the text it stands for */
};

struct ac_license {
    char *expr;          /* SPDX expression, NULL for NOASSERTION */
    const char *listed;  /* expr when it is exactly one listed license id */
    struct ac_license_ref *refs;
    size_t n_refs;
};

/* Fills *out (cleanup with ac_license_cleanup even on error).  Only
 * TEMPER_ENOMEM fails: odd text is folded into a LicenseRef. */
int ac_license_parse(const char *text, struct ac_license *out) TEMPER_WARN_UNUSED;
void ac_license_cleanup(struct ac_license *l);

#endif

/* temper — attest_spdx and attest_cyclonedx through the real loader: an image
 * of 30 real packages of this machine (dpkg status, machine-readable
 * copyright files, apt's SHA256 and pool URL), every document validated
 * against the official SPDX 2.3 and CycloneDX 1.5 JSON schemas, the in-toto
 * envelope, each package's fields and relationships, byte-identical output
 * for equal inputs, exact purls and license expressions on a hand-made
 * image, and refusals of bad input. */
#include "config.h"
#include "tests/lib/tap.h"
#include "tests/plugins/attest_testlib.h"

#include <regex.h>

#define SPDX_TYPE "https://spdx.dev/Document/v2.3"
#define CDX_TYPE "https://cyclonedx.org/bom/v1.5"
#define IMAGE "hardened/base"

/* A hand-made image: names, versions and license texts chosen for the
 * purl encoding and license conversion rules (attest_license.h). */
static const char synthetic[] =
    "[{\"name\":\"libstdc++6\",\"version\":\"12.2.0-14+deb12u1\",\"arch\":\"amd64\","
    "\"source\":\"gcc-12\",\"distribution\":\"debian:bookworm\","
    "\"supplier\":\"Debian GCC Maintainers <debian-gcc@lists.debian.org>\","
    "\"license\":\"GPL-3+ with GCC exception\",\"sha256\":"
    "\"6b4e2b1f4c4c8d1b1d0f4f9e3a1c6f5b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b\","
    "\"url\":\"https://deb.debian.org/debian/pool/main/g/gcc-12/"
    "libstdc++6_12.2.0-14+deb12u1_amd64.deb\"},"
    "{\"name\":\"libcap2\",\"version\":\"1:2.66-4+deb12u2+b2\",\"arch\":\"amd64\","
    "\"source\":\"libcap2\",\"source_version\":\"1:2.66-4+deb12u2\","
    "\"distribution\":\"debian:bookworm\",\"supplier\":\"Christian Kastner <ckk@debian.org>\","
    "\"license\":\"BSD-3-clause or GPL-2\"},"
    "{\"name\":\"zlib1g\",\"version\":\"1:1.2.13.dfsg-1\",\"arch\":\"amd64\",\"source\":\"zlib\","
    "\"distribution\":\"debian:bookworm\",\"license\":\"Zlib\"},"
    "{\"name\":\"perl-base\",\"version\":\"5.36.0-7\",\"arch\":\"amd64\",\"source\":\"perl\","
    "\"distribution\":\"debian:bookworm\",\"license\":\"GPL-1+ or Artistic\"},"
    "{\"name\":\"mpl-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"MPL-1.1 or LGPL-2.1+, and SC\"},"
    "{\"name\":\"regcomp-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"REGCOMP, and GPL-1+ or Artistic\"},"
    "{\"name\":\"static-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"LGPL-2.1+ with staticLink exception\"},"
    "{\"name\":\"ac-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"GPL-2+ with Autoconf exception\"},"
    "{\"name\":\"expat-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"Expat\"},"
    "{\"name\":\"pd-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"public-domain\"},"
    "{\"name\":\"bad-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"BSD 3 clause\"},"
    "{\"name\":\"nolic-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\"},"
    "{\"name\":\"perl-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"Perl\"},"
    "{\"name\":\"gfdl-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"GFDL-NIV-1.3+\"},"
    "{\"name\":\"mixed-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"mit and (bsd-2-clause or Apache-2)\"},"
    "{\"name\":\"paren-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"(MIT or Apache-2.0) and (GPL-2+ or LGPL-2.1+)\"},"
    "{\"name\":\"trail-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"GPL-2+ or\"},"
    "{\"name\":\"none-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"NONE\"},"
    "{\"name\":\"plus-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"Apache-2.0+ OR LicenseRef-custom\"},"
    "{\"name\":\"long-pkg\",\"version\":\"1\",\"distribution\":\"debian:bookworm\","
    "\"license\":\"Some very long license name that goes on and on and on, and on forever\"},"
    "{\"name\":\"busybox\",\"version\":\"1.36.1-r15\",\"arch\":\"x86_64\","
    "\"distribution\":\"alpine:v3.19\","
    "\"supplier\":\"Sören Tempel <soeren+alpine@soeren-tempel.net>\","
    "\"license\":\"GPL-2.0-only\"},"
    "{\"name\":\"own\",\"version\":\"1.0\",\"purl\":\"pkg:deb/debian/own@1.0?arch=amd64\"}]";

static const char *const expected_purls[][2] = {
    { "libstdc++6",
      "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12"
      "&upstream=gcc-12" },
    { "libcap2", "pkg:deb/debian/libcap2@1:2.66-4%2Bdeb12u2%2Bb2?arch=amd64&distro=debian-12"
                 "&upstream=libcap2%401:2.66-4%2Bdeb12u2" },
    { "zlib1g", "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib" },
    { "busybox", "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19" },
    { "own", "pkg:deb/debian/own@1.0?arch=amd64" },
};

static const char *const expected_licenses[][2] = {
    { "libstdc++6", "GPL-3.0-or-later WITH GCC-exception-3.1" },
    { "libcap2", "BSD-3-Clause OR GPL-2.0-only" },
    { "zlib1g", "Zlib" },
    { "perl-base", "GPL-1.0-or-later OR Artistic-1.0-Perl" },
    { "mpl-pkg", "(MPL-1.1 OR LGPL-2.1-or-later) AND LicenseRef-SC" },
    { "regcomp-pkg", "LicenseRef-REGCOMP AND (GPL-1.0-or-later OR Artistic-1.0-Perl)" },
    { "static-pkg", "LicenseRef-LGPL-2.1--with-staticLink-exception" },
    { "ac-pkg", "GPL-2.0-or-later WITH Autoconf-exception-2.0" },
    { "expat-pkg", "MIT" },
    { "pd-pkg", "LicenseRef-public-domain" },
    { "bad-pkg", "LicenseRef-BSD-3-clause" },
    { "nolic-pkg", "NOASSERTION" },
    { "perl-pkg", "(Artistic-1.0-Perl OR GPL-1.0-or-later)" },
    { "gfdl-pkg", "GFDL-1.3-no-invariants-or-later" },
    { "mixed-pkg", "MIT AND (BSD-2-Clause OR Apache-2.0)" },
    { "busybox", "GPL-2.0-only" },
    { "paren-pkg", "(MIT OR Apache-2.0) AND (GPL-2.0-or-later OR LGPL-2.1-or-later)" },
    { "trail-pkg", "LicenseRef-GPL-2--or" },
    { "none-pkg", "NONE" },
    { "plus-pkg", "Apache-2.0+ OR LicenseRef-custom" },
    /* longer than 64 characters: a prefix and 8 hex digits of its SHA-256 */
    { "long-pkg", "LicenseRef-Some-very-long-license-name-that-goes-on-and-on-and-on--4facdea7" },
};

/* Length of an array, 0 for anything else (json-c asserts on non-arrays). */
static size_t alen(struct json_object *a)
{
    return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static struct json_object *parse_text(const char *text)
{
    struct json_object *j = NULL;
    return temper_json_parse(NULL, "test data", text, strlen(text), 0, 0, &j) == TEMPER_OK ? j
                                                                                          : NULL;
}

/* The validator can say no: the predicate in `file` with `key` removed (or
 * set to `value`) fails `schema`. */
static void schema_says_no(const char *schema, const char *file, const char *key,
                           const char *value)
{
    struct json_object *st = at_json_file(file);
    struct json_object *pred = temper_json_get_object(st, "predicate");
    if (value) {
        json_object_object_add(pred, key, json_object_new_string(value));
    } else {
        json_object_object_del(pred, key);
    }
    const char *t = json_object_to_json_string(st);
    CHECK(at_write_str(file, t ? t : "") == 0);
    CHECK_INT_EQ(at_validate(schema, file, "predicate"), 1);
    json_object_put(st);
}

/* A second, fresh run gives the same bytes as `text`. */
static void same_again(const char *plug, const struct temper_artifact *image,
                       const struct temper_artifact *run, const char *text)
{
    char *again = NULL;
    struct json_object *j = at_attest_once(plug, NULL, image, run, "again.json", &again);
    CHECK(text && again && strcmp(text, again) == 0);
    json_object_put(j);
    free(again);
}

/* ---- SPDX --------------------------------------------------------------- */

static struct json_object *spdx_by_id(struct json_object *doc, const char *id)
{
    size_t n = 0;
    struct json_object *pk = temper_json_get_array(doc, "packages", &n);
    for (size_t i = 0; id && i < n; i++) {
        struct json_object *p = json_object_array_get_idx(pk, i);
        const char *v = temper_json_get_str(p, "SPDXID");
        if (v && strcmp(v, id) == 0) {
            return p;
        }
    }
    return NULL;
}

static struct json_object *spdx_pkg(struct json_object *doc, const char *name, const char *ver)
{
    size_t n = 0;
    struct json_object *pk = temper_json_get_array(doc, "packages", &n);
    for (size_t i = 0; i < n; i++) {
        struct json_object *p = json_object_array_get_idx(pk, i);
        const char *nm = temper_json_get_str(p, "name");
        const char *v = temper_json_get_str(p, "versionInfo");
        const char *purpose = temper_json_get_str(p, "primaryPackagePurpose");
        if (nm && strcmp(nm, name) == 0 && (!ver || (v && strcmp(v, ver) == 0)) && !purpose) {
            return p;
        }
    }
    return NULL;
}

/* Relationships of type `type` from `a` (NULL: any). */
static size_t spdx_rels(struct json_object *doc, const char *a, const char *type,
                        const char **to)
{
    size_t n = 0, k = 0;
    struct json_object *rs = temper_json_get_array(doc, "relationships", &n);
    for (size_t i = 0; i < n; i++) {
        struct json_object *r = json_object_array_get_idx(rs, i);
        const char *x = temper_json_get_str(r, "spdxElementId");
        const char *t = temper_json_get_str(r, "relationshipType");
        if (x && t && strcmp(t, type) == 0 && (!a || strcmp(x, a) == 0)) {
            k++;
            if (to) {
                *to = temper_json_get_str(r, "relatedSpdxElement");
            }
        }
    }
    return k;
}

/* Every LicenseRef-* in expr is declared in hasExtractedLicensingInfos. */
static int refs_declared(struct json_object *doc, const char *expr)
{
    size_t n = 0;
    struct json_object *ex = temper_json_get_array(doc, "hasExtractedLicensingInfos", &n);
    for (const char *p = strstr(expr, "LicenseRef-"); p; p = strstr(p + 1, "LicenseRef-")) {
        size_t len = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-");
        int found = 0;
        for (size_t i = 0; i < n && !found; i++) {
            const char *id = temper_json_get_str(json_object_array_get_idx(ex, i), "licenseId");
            found = id && strlen(id) == len && strncmp(id, p, len) == 0;
        }
        if (!found) {
            printf("#   %.*s is not declared\n", (int)len, p);
            return 0;
        }
    }
    return 1;
}

/* How many of the input packages the document describes fully. */
static size_t spdx_complete(struct json_object *doc, struct json_object *pk)
{
    size_t n = alen(pk), good = 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *in = json_object_array_get_idx(pk, i);
        const char *name = temper_json_get_str(in, "name");
        struct json_object *p = spdx_pkg(doc, name, temper_json_get_str(in, "version"));
        const char *sid = temper_json_get_str(p, "SPDXID"), *src = NULL;
        const char *purl = temper_json_get_str(p, "externalRefs.0.referenceLocator");
        const char *sha = temper_json_get_str(in, "sha256");
        const char *sum = temper_json_get_str(p, "checksums.0.checksumValue");
        const char *lic = temper_json_get_str(p, "licenseDeclared");
        const char *sup = temper_json_get_str(p, "supplier");
        bool ok = p && purl && strncmp(purl, "pkg:", 4) == 0 && lic && sup &&
                  (!temper_json_get_str(in, "supplier") ||
                   strncmp(sup, "Person: ", 8) == 0 || strncmp(sup, "Organization: ", 14) == 0) &&
                  (!sha || (sum && strcmp(sum, sha) == 0)) &&
                  (temper_json_get_str(in, "license") ? strcmp(lic, "NOASSERTION") != 0
                                                      : strcmp(lic, "NOASSERTION") == 0) &&
                  refs_declared(doc, lic) && spdx_rels(doc, sid, "GENERATED_FROM", &src) == 1;
        struct json_object *sp = spdx_by_id(doc, src);
        const char *srcname = temper_json_get_str(in, "source");
        ok = ok && sp && temper_json_get_str(sp, "name") &&
             strcmp(temper_json_get_str(sp, "name"), srcname ? srcname : name) == 0 &&
             strcmp(temper_json_get_str(sp, "primaryPackagePurpose"), "SOURCE") == 0;
        if (!ok) {
            printf("#   package %s is incomplete in the SPDX document\n", name);
        }
        good += ok;
    }
    return good;
}

/* SPDXIDs unique and of the form SPDXRef-[A-Za-z0-9.-]+. */
static int spdx_ids_ok(struct json_object *doc)
{
    regex_t re;
    size_t n = 0;
    struct json_object *pk = temper_json_get_array(doc, "packages", &n);
    struct json_object *seen = json_object_new_object();
    int ok = regcomp(&re, "^SPDXRef-[A-Za-z0-9.-]+$", REG_EXTENDED | REG_NOSUB) == 0;
    for (size_t i = 0; ok && i < n; i++) {
        const char *id = temper_json_get_str(json_object_array_get_idx(pk, i), "SPDXID");
        ok = id && regexec(&re, id, 0, NULL, 0) == 0 && !json_object_object_get_ex(seen, id, NULL);
        if (ok) {
            json_object_object_add(seen, id, NULL);
        } else {
            printf("#   bad or repeated SPDXID %s\n", id ? id : "(none)");
        }
    }
    regfree(&re);
    json_object_put(seen);
    return ok;
}

static void test_spdx_real(const struct temper_artifact *image,
                           const struct temper_artifact *run, struct json_object *pk,
                           const char *digest)
{
    char *file = at_path("spdx.json");
    char *text = NULL;
    struct ph h;
    TEST("spdx: real packages") {
        struct json_object *st = NULL;
        CHECK(at_open(&h, "spdx", NULL) == TEMPER_OK);
        CHECK_INT_EQ(at_attest(&h, image, run), TEMPER_OK);
        CHECK_INT_EQ(ph_artifact_count(&h), 1);
        st = at_statement_json(&h, file);
        const char *why = at_envelope_problem(at_statement(&h), st, IMAGE, digest, SPDX_TYPE);
        CHECK_STR_EQ(why, NULL);
        CHECK_STR_EQ(temper_artifact_name(at_statement(&h)), "test.intoto.json");
        CHECK_INT_EQ(at_validate("spdx-2.3-schema.json", file, "predicate"), 0);
        struct json_object *doc = temper_json_get_object(st, "predicate");
        size_t n = alen(pk);
        CHECK_INT_EQ(spdx_complete(doc, pk), n);
        CHECK(spdx_ids_ok(doc));
        CHECK_STR_EQ(temper_json_get_str(doc, "spdxVersion"), "SPDX-2.3");
        CHECK_STR_EQ(temper_json_get_str(doc, "creationInfo.created"), "2024-05-01T12:00:00Z");
        CHECK_STR_CONTAINS(temper_json_get_str(doc, "documentNamespace"),
                           "https://spdx.org/spdxdocs/temper/hardened%2Fbase-");
        CHECK_INT_EQ(spdx_rels(doc, "SPDXRef-DOCUMENT", "DESCRIBES", NULL), 1);
        /* the image contains every package and the operating system */
        CHECK_INT_EQ(spdx_rels(doc, "SPDXRef-Image", "CONTAINS", NULL), n + 1);
        CHECK_STR_EQ(temper_json_get_str(spdx_by_id(doc, "SPDXRef-Image"), "checksums.0."
                                                                            "checksumValue"),
                     digest + 7);
        struct json_object *os = spdx_by_id(doc, "SPDXRef-OperatingSystem-debian-12");
        CHECK_STR_EQ(temper_json_get_str(os, "primaryPackagePurpose"), "OPERATING_SYSTEM");
        struct json_object *cxx = spdx_pkg(doc, "libstdc++6", NULL);
        CHECK_STR_CONTAINS(temper_json_get_str(cxx, "externalRefs.0.referenceLocator"),
                           "pkg:deb/debian/libstdc%2B%2B6@");
        CHECK_STR_CONTAINS(temper_json_get_str(cxx, "externalRefs.0.referenceLocator"),
                           "upstream=gcc-12");
        json_object_put(st);
        text = at_statement_text(&h);
    }
    ph_close(&h);
    TEST("spdx: a broken document fails the schema, equal inputs give equal bytes") {
        schema_says_no("spdx-2.3-schema.json", file, "spdxVersion", NULL);
        same_again("spdx", image, run, text);
    }
    free(text);
    free(file);
}

static struct json_object *by_name(struct json_object *arr, const char *key, const char *name)
{
    size_t n = alen(arr);
    for (size_t i = 0; i < n; i++) {
        struct json_object *o = json_object_array_get_idx(arr, i);
        const char *v = temper_json_get_str(o, key);
        if (v && strcmp(v, name) == 0) {
            return o;
        }
    }
    return NULL;
}

static void test_spdx_synthetic(const struct temper_artifact *image,
                                const struct temper_artifact *run)
{
    TEST("spdx: purls and license expressions") {
        struct json_object *st = at_attest_once("spdx", NULL, image, run, "spdx-syn.json", NULL);
        struct json_object *doc = temper_json_get_object(st, "predicate");
        char *file = at_path("spdx-syn.json");
        CHECK_INT_EQ(at_validate("spdx-2.3-schema.json", file, "predicate"), 0);
        for (size_t i = 0; i < sizeof expected_purls / sizeof expected_purls[0]; i++) {
            struct json_object *p = spdx_pkg(doc, expected_purls[i][0], NULL);
            CHECK_STR_EQ(temper_json_get_str(p, "externalRefs.0.referenceLocator"),
                         expected_purls[i][1]);
        }
        for (size_t i = 0; i < sizeof expected_licenses / sizeof expected_licenses[0]; i++) {
            struct json_object *p = spdx_pkg(doc, expected_licenses[i][0], NULL);
            CHECK_STR_EQ(temper_json_get_str(p, "licenseDeclared"), expected_licenses[i][1]);
            CHECK(refs_declared(doc, expected_licenses[i][1]));
        }
        struct json_object *gcc = spdx_pkg(doc, "libstdc++6", NULL);
        CHECK_STR_EQ(temper_json_get_str(gcc, "supplier"),
                     "Organization: Debian GCC Maintainers (debian-gcc@lists.debian.org)");
        CHECK_STR_EQ(temper_json_get_str(spdx_pkg(doc, "libcap2", NULL), "supplier"),
                     "Person: Christian Kastner (ckk@debian.org)");
        struct json_object *pd = by_name(temper_json_get(doc, "hasExtractedLicensingInfos"),
                                         "licenseId", "LicenseRef-public-domain");
        CHECK_STR_EQ(temper_json_get_str(pd, "name"), "public-domain");
        const char *src = NULL;
        CHECK_INT_EQ(spdx_rels(doc, temper_json_get_str(spdx_pkg(doc, "libcap2", NULL),
                                                        "SPDXID"), "GENERATED_FROM", &src), 1);
        CHECK_STR_EQ(temper_json_get_str(spdx_by_id(doc, src), "externalRefs.0.referenceLocator"),
                     "pkg:deb/debian/libcap2@1:2.66-4%2Bdeb12u2?arch=source&distro=debian-12");
        CHECK(spdx_by_id(doc, "SPDXRef-OperatingSystem-alpine-3.19") != NULL);
        json_object_put(st);
        free(file);
    }
}

/* ---- CycloneDX ------------------------------------------------------------ */

static size_t cdx_complete(struct json_object *bom, struct json_object *pk)
{
    size_t n = alen(pk), good = 0;
    struct json_object *comps = temper_json_get(bom, "components");
    struct json_object *deps = temper_json_get(bom, "dependencies.0.dependsOn");
    for (size_t i = 0; i < n; i++) {
        struct json_object *in = json_object_array_get_idx(pk, i);
        const char *name = temper_json_get_str(in, "name");
        struct json_object *c = by_name(comps, "name", name);
        const char *ref = temper_json_get_str(c, "bom-ref");
        const char *purl = temper_json_get_str(c, "purl");
        const char *sha = temper_json_get_str(in, "sha256");
        const char *hash = temper_json_get_str(c, "hashes.0.content");
        const char *src = temper_json_get_str(in, "source");
        const char *anc = temper_json_get_str(c, "pedigree.ancestors.0.name");
        bool in_graph = false;
        for (size_t k = 0; ref && deps && k < alen(deps); k++) {
            const char *dep = json_object_get_string(json_object_array_get_idx(deps, k));
            in_graph = in_graph || strcmp(dep, ref) == 0;
        }
        bool ok = c && ref && purl && strcmp(ref, purl) == 0 &&
                  strcmp(temper_json_get_str(c, "version"), temper_json_get_str(in, "version")) ==
                      0 &&
                  (!sha || (hash && strcmp(hash, sha) == 0)) &&
                  (!temper_json_get_str(in, "supplier") ||
                   temper_json_get_str(c, "supplier.name")) &&
                  (!temper_json_get_str(in, "license") == !temper_json_get(c, "licenses")) && anc &&
                  strcmp(anc, src ? src : name) == 0 && in_graph;
        if (!ok) {
            printf("#   package %s is incomplete in the CycloneDX BOM\n", name);
        }
        good += ok;
    }
    return good;
}

static void test_cdx_real(const struct temper_artifact *image, const struct temper_artifact *run,
                          struct json_object *pk, const char *digest)
{
    char *file = at_path("cdx.json");
    char *text = NULL;
    struct ph h;
    TEST("cyclonedx: real packages") {
        CHECK(at_open(&h, "cyclonedx", NULL) == TEMPER_OK);
        CHECK_INT_EQ(at_attest(&h, image, run), TEMPER_OK);
        struct json_object *st = at_statement_json(&h, file);
        CHECK_STR_EQ(at_envelope_problem(at_statement(&h), st, IMAGE, digest, CDX_TYPE), NULL);
        CHECK_INT_EQ(at_validate("bom-1.5.schema.json", file, "predicate"), 0);
        struct json_object *bom = temper_json_get_object(st, "predicate");
        size_t n = alen(pk);
        CHECK_INT_EQ(cdx_complete(bom, pk), n);
        CHECK_INT_EQ(alen(temper_json_get(bom, "components")), n + 1);
        CHECK_STR_EQ(temper_json_get_str(bom, "metadata.timestamp"), "2024-05-01T12:00:00Z");
        CHECK_STR_EQ(temper_json_get_str(bom, "metadata.component.type"), "container");
        CHECK_STR_EQ(temper_json_get_str(bom, "dependencies.0.ref"),
                     temper_json_get_str(bom, "metadata.component.bom-ref"));
        CHECK_STR_CONTAINS(temper_json_get_str(bom, "serialNumber"), "urn:uuid:");
        struct json_object *os = by_name(temper_json_get(bom, "components"), "type",
                                         "operating-system");
        CHECK_STR_EQ(temper_json_get_str(os, "name"), "debian");
        json_object_put(st);
        text = at_statement_text(&h);
    }
    ph_close(&h);
    TEST("cyclonedx: a broken BOM fails the schema, equal inputs give equal bytes") {
        schema_says_no("bom-1.5.schema.json", file, "bomFormat", "NotCycloneDX");
        same_again("cyclonedx", image, run, text);
    }
    free(text);
    free(file);
}

static void test_cdx_synthetic(const struct temper_artifact *image,
                               const struct temper_artifact *run)
{
    TEST("cyclonedx: purls, licenses, pedigree") {
        struct json_object *st =
            at_attest_once("cyclonedx", NULL, image, run, "cdx-syn.json", NULL);
        struct json_object *comps = temper_json_get(st, "predicate.components");
        char *file = at_path("cdx-syn.json");
        CHECK_INT_EQ(at_validate("bom-1.5.schema.json", file, "predicate"), 0);
        for (size_t i = 0; i < sizeof expected_purls / sizeof expected_purls[0]; i++) {
            struct json_object *c = by_name(comps, "name", expected_purls[i][0]);
            CHECK_STR_EQ(temper_json_get_str(c, "purl"), expected_purls[i][1]);
        }
        CHECK_STR_EQ(temper_json_get_str(by_name(comps, "name", "zlib1g"), "licenses.0.license.id"),
                     "Zlib");
        CHECK_STR_EQ(temper_json_get_str(by_name(comps, "name", "pd-pkg"),
                                         "licenses.0.license.name"), "public-domain");
        CHECK_STR_EQ(temper_json_get_str(by_name(comps, "name", "perl-base"),
                                         "licenses.0.expression"),
                     "GPL-1.0-or-later OR Artistic-1.0-Perl");
        CHECK(temper_json_get(by_name(comps, "name", "nolic-pkg"), "licenses") == NULL);
        struct json_object *cap = by_name(comps, "name", "libcap2");
        CHECK_STR_EQ(temper_json_get_str(cap, "pedigree.ancestors.0.version"),
                     "1:2.66-4+deb12u2");
        CHECK_STR_EQ(temper_json_get_str(cap, "supplier.contact.0.email"), "ckk@debian.org");
        /* license ids are checked through the schema's relative $ref to
         * spdx.schema.json: an unknown id must fail */
        char *bad = at_path("cdx-badlicense.json");
        static const char bad_bom[] =
            "{\"predicate\":{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\","
            "\"components\":[{\"type\":\"library\",\"name\":\"x\",\"licenses\":"
            "[{\"license\":{\"id\":\"NoSuchId\"}}]}]}}";
        CHECK(at_write_str(bad, bad_bom) == 0);
        CHECK_INT_EQ(at_validate("bom-1.5.schema.json", bad, "predicate"), 1);
        free(bad);
        struct json_object *alp = by_name(comps, "bom-ref", "os:alpine@3.19");
        CHECK_STR_EQ(temper_json_get_str(alp, "type"), "operating-system");
        json_object_put(st);
        free(file);
    }
}

/* ---- determinism and refusals ----------------------------------------------- */

static void test_order_and_digest(struct json_object *pk, const struct temper_artifact *run,
                                  const char *digest)
{
    TEST("sbom: package order does not matter, the digest does") {
        struct json_object *rev = json_object_new_array();
        size_t n = alen(pk);
        for (size_t i = n; i > 0; i--) {
            json_object_array_add(rev, json_object_get(json_object_array_get_idx(pk, i - 1)));
        }
        char *other = at_digest("another image");
        struct temper_artifact *a = at_image_json(IMAGE, digest, pk);
        struct temper_artifact *b = at_image_json(IMAGE, digest, rev);
        struct temper_artifact *c = at_image_json(IMAGE, other, pk);
        for (int k = 0; k < 2; k++) {
            const char *plug = k ? "cyclonedx" : "spdx";
            const char *key = k ? "predicate.serialNumber" : "predicate.documentNamespace";
            char *ta = NULL, *tb = NULL, *tc = NULL;
            struct json_object *ja = at_attest_once(plug, NULL, a, run, "o1.json", &ta);
            struct json_object *jb = at_attest_once(plug, NULL, b, run, "o2.json", &tb);
            struct json_object *jc = at_attest_once(plug, NULL, c, run, "o3.json", &tc);
            CHECK(ta && tb && strcmp(ta, tb) == 0);
            CHECK(temper_json_get_str(ja, key) && temper_json_get_str(jc, key) &&
                  strcmp(temper_json_get_str(ja, key), temper_json_get_str(jc, key)) != 0);
            json_object_put(ja);
            json_object_put(jb);
            json_object_put(jc);
            free(ta);
            free(tb);
            free(tc);
        }
        temper_artifact_free(a);
        temper_artifact_free(b);
        temper_artifact_free(c);
        json_object_put(rev);
        free(other);
    }
}

/* attest() must fail with rc and an error containing `want`. */
static void expect_fail(const char *plug, const struct temper_artifact *image,
                        const struct temper_artifact *run, int rc, const char *want)
{
    struct ph h;
    CHECK(at_open(&h, plug, NULL) == TEMPER_OK);
    CHECK_INT_EQ(at_attest(&h, image, run), rc);
    CHECK_STR_CONTAINS(temper_stage_error(h.st), want);
    CHECK_INT_EQ(ph_artifact_count(&h), 0);
    ph_close(&h);
}

static struct temper_artifact *image_of(const char *json, const char *digest)
{
    struct json_object *pk = parse_text(json);
    struct temper_artifact *a = at_image_json(IMAGE, digest, pk);
    json_object_put(pk);
    return a;
}

static void test_refusals(const struct temper_artifact *good, const struct temper_artifact *run,
                          const char *digest)
{
    static const char bad_sha[] = "[{\"name\":\"x\",\"version\":\"1\",\"sha256\":\"xyz\"}]";
    static const char ctrl[] = "[{\"name\":\"x\\ny\",\"version\":\"1\"}]";
    static const char twice[] = "[{\"name\":\"x\",\"version\":\"1\",\"license\":\"MIT\"},"
                                "{\"name\":\"x\",\"version\":\"1\",\"license\":\"ISC\"}]";
    static const char same[] = "[{\"name\":\"x\",\"version\":\"1\"},{\"name\":\"x\","
                               "\"version\":\"1\"}]";
    static const char noversion[] = "[{\"name\":\"x\"}]";
    struct temper_artifact *nodigest = image_of("[]", NULL);
    struct temper_artifact *badsha = image_of(bad_sha, digest);
    struct temper_artifact *ctl = image_of(ctrl, digest);
    struct temper_artifact *dup = image_of(twice, digest);
    struct temper_artifact *dup2 = image_of(same, digest);
    struct temper_artifact *nov = image_of(noversion, digest);
    struct temper_artifact *norun = temper_artifact_new(TEMPER_ART_RUN, "r");
    for (int k = 0; k < 2; k++) {
        const char *plug = k ? "cyclonedx" : "spdx";
        TEST(k ? "cyclonedx: refusals" : "spdx: refusals") {
            expect_fail(plug, nodigest, run, TEMPER_EINVAL, "no sha256 manifest digest");
            expect_fail(plug, good, norun, TEMPER_EINVAL, "run record has no started_on");
            expect_fail(plug, good, NULL, TEMPER_EINVAL, "run record");
            expect_fail(plug, badsha, run, TEMPER_EFORMAT, "package #0 (x) has a sha256");
            expect_fail(plug, ctl, run, TEMPER_EFORMAT, "not text");
            expect_fail(plug, dup, run, TEMPER_EFORMAT, "lists package x 1 twice");
            expect_fail(plug, nov, run, TEMPER_EFORMAT, "has no name or version");
            struct json_object *j = at_attest_once(plug, NULL, dup2, run, "dup.json", NULL);
            const char *key = k ? "predicate.components" : "predicate.packages";
            /* listed twice with the same data: once (+ its source for SPDX) */
            CHECK_INT_EQ(alen(temper_json_get(j, key)), k ? 1 : 3);
            json_object_put(j);
        }
    }
    TEST("sbom: an image without packages is still a valid document") {
        struct temper_artifact *empty = image_of("[]", digest);
        struct json_object *a = at_attest_once("spdx", NULL, empty, run, "empty-spdx.json", NULL);
        struct json_object *b =
            at_attest_once("cyclonedx", NULL, empty, run, "empty-cdx.json", NULL);
        char *fa = at_path("empty-spdx.json"), *fb = at_path("empty-cdx.json");
        CHECK(a && b);
        CHECK_INT_EQ(at_validate("spdx-2.3-schema.json", fa, "predicate"), 0);
        CHECK_INT_EQ(at_validate("bom-1.5.schema.json", fb, "predicate"), 0);
        json_object_put(a);
        json_object_put(b);
        free(fa);
        free(fb);
        temper_artifact_free(empty);
    }
    TEST("spdx: namespace must be a URI") {
        struct ph h;
        static const char *const kv[] = { "namespace=not a uri", NULL };
        CHECK(at_open(&h, "spdx", kv) == TEMPER_EINVAL);
        CHECK_STR_CONTAINS(temper_stage_error(h.st), "namespace");
        ph_close(&h);
    }
    temper_artifact_free(nodigest);
    temper_artifact_free(badsha);
    temper_artifact_free(ctl);
    temper_artifact_free(dup);
    temper_artifact_free(dup2);
    temper_artifact_free(nov);
    temper_artifact_free(norun);
}

int main(void)
{
    bool skip = false;
    struct json_object *pk = at_real_packages(&skip);
    if (skip) {
        printf("1..0 # SKIP no dpkg database on this machine\n");
        at_cleanup();
        return 0;
    }
    char *digest = at_digest(json_object_to_json_string(pk));
    struct temper_artifact *image = at_image_json(IMAGE, digest, pk);
    struct temper_artifact *run = at_run_record(IMAGE);
    struct json_object *syn = parse_text(synthetic);
    struct temper_artifact *simg = at_image_json(IMAGE, digest, syn);
    TEST("setup: 30 real packages") {
        CHECK_INT_EQ(alen(pk), 30);
        CHECK(image && run && simg);
    }
    if (image && run && simg) {
        test_spdx_real(image, run, pk, digest);
        test_spdx_synthetic(simg, run);
        test_cdx_real(image, run, pk, digest);
        test_cdx_synthetic(simg, run);
        test_order_and_digest(pk, run, digest);
        test_refusals(image, run, digest);
    }
    temper_artifact_free(image);
    temper_artifact_free(simg);
    temper_artifact_free(run);
    json_object_put(pk);
    json_object_put(syn);
    free(digest);
    at_cleanup();
    return tap_done();
}

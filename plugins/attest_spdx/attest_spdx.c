/* temper — attest_spdx: an SPDX 2.3 JSON document of the image as an in-toto
 * Statement (predicateType https://spdx.dev/Document/v2.3).
 *
 *   [attest "spdx"]
 *   plugin    = spdx
 *   namespace = https://sbom.example.org/spdx   ; default https://spdx.org/spdxdocs/temper
 *   creator   = Example Corp                    ; adds "Organization: Example Corp"
 *   supplier  = Example Corp                    ; supplier of the image package
 *
 * The document (built only from the image artifact and the run record):
 *   - name "<image>@sha256:<hex>"; documentNamespace
 *     "<namespace>/<image>-<uuid>" where the UUID is derived from the image
 *     digest (not random); creationInfo.created = the run record's
 *     started_on, creators "Tool: temper-<version>" (+ the organization);
 *   - one package per image package: name, versionInfo, supplier ("Person:
 *     Name (email)", or "Organization: ..." for a team address),
 *     downloadLocation (the package URL or NOASSERTION), filesAnalyzed
 *     false, checksums SHA256, licenseDeclared (SPDX expression from
 *     attest_license.h, or NOASSERTION), licenseConcluded and copyrightText
 *     NOASSERTION, externalRefs PACKAGE-MANAGER purl, sourceInfo;
 *   - the image itself (SPDXRef-Image, primaryPackagePurpose CONTAINER,
 *     versionInfo and SHA256 checksum = the manifest digest, purl pkg:oci/...),
 *     the distribution (OPERATING_SYSTEM: name "debian", version "12", what
 *     Trivy reads to pick its advisories) and one SOURCE package per source
 *     package (purl ...?arch=source);
 *   - relationships: DOCUMENT DESCRIBES Image, Image CONTAINS each package
 *     and the operating system, package GENERATED_FROM its source package;
 *   - hasExtractedLicensingInfos for every LicenseRef used.
 * SPDXIDs are stable: SPDXRef-Package-<name>-<16 hex of name/version/arch>. */
#include "config.h"
#include "attest_license.h"

#include <stdlib.h>
#include <string.h>

#define SPDX_PREDICATE "https://spdx.dev/Document/v2.3"
#define NOASSERT "NOASSERTION"

struct spdx_conf {
    char *namespace;
    char *creator;
    char *supplier;
};

/* One document being built. */
struct doc {
    struct temper_stage *st;
    struct json_object *packages, *rels, *refs;
    struct json_object *sources; /* source purl -> SPDXID (a set) */
    struct json_object *oses;    /* ecosystem -> SPDXID */
    struct json_object *ref_ids; /* LicenseRef id -> true */
};

static const struct temper_option spdx_options[] = {
    { TEMPER_OPT_STR, "namespace", "https://spdx.org/spdxdocs/temper", 0,
      offsetof(struct spdx_conf, namespace), 0, 0, NULL,
      "URI prefix of documentNamespace (<namespace>/<image>-<uuid from the image digest>)" },
    { TEMPER_OPT_STR, "creator", NULL, 0, offsetof(struct spdx_conf, creator), 0, 0, NULL,
      "organization named among the document's creators" },
    { TEMPER_OPT_STR, "supplier", NULL, 0, offsetof(struct spdx_conf, supplier), 0, 0, NULL,
      "organization that supplies the image (the image package's supplier)" },
    TEMPER_OPTION_END,
};

static void rel(int *rc, struct doc *d, const char *a, const char *type, const char *b)
{
    struct json_object *r = ac_new_obj(rc);
    ac_put_str(rc, r, "spdxElementId", a);
    ac_put_str(rc, r, "relationshipType", type);
    ac_put_str(rc, r, "relatedSpdxElement", b);
    ac_push(rc, d->rels, r);
}

/* A package with the fields every package here has. */
static struct json_object *package_new(int *rc, const char *id, const char *name,
                                       const char *version)
{
    struct json_object *p = ac_new_obj(rc);
    ac_put_str(rc, p, "SPDXID", id);
    ac_put_str(rc, p, "name", name);
    ac_put_str(rc, p, "versionInfo", version);
    ac_put(rc, p, "filesAnalyzed", *rc == TEMPER_OK ? json_object_new_boolean(0) : NULL);
    ac_put_str(rc, p, "downloadLocation", NOASSERT);
    ac_put_str(rc, p, "licenseConcluded", NOASSERT);
    ac_put_str(rc, p, "licenseDeclared", NOASSERT);
    ac_put_str(rc, p, "copyrightText", NOASSERT);
    ac_put_str(rc, p, "supplier", NOASSERT);
    return p;
}

static void purl_ref(int *rc, struct json_object *pkg, const char *purl)
{
    struct json_object *arr = ac_new_arr(rc), *r = ac_new_obj(rc);
    ac_put_str(rc, r, "referenceCategory", "PACKAGE-MANAGER");
    ac_put_str(rc, r, "referenceType", "purl");
    ac_put_str(rc, r, "referenceLocator", purl);
    ac_push(rc, arr, r);
    ac_put(rc, pkg, "externalRefs", arr);
}

static void sha256_sum(int *rc, struct json_object *pkg, const char *hex)
{
    struct json_object *arr = ac_new_arr(rc), *c = ac_new_obj(rc);
    ac_put_str(rc, c, "algorithm", "SHA256");
    ac_put_str(rc, c, "checksumValue", hex);
    ac_push(rc, arr, c);
    ac_put(rc, pkg, "checksums", arr);
}

/* "SPDXRef-<kind>-<name with [^A-Za-z0-9.-] as '-'>-<hash>" */
static char *spdx_id(const char *kind, const char *name, const char *hash)
{
    char san[65];
    size_t k = 0;
    for (size_t i = 0; name[i] && k < sizeof san - 1; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-';
        san[k++] = ok ? c : '-';
    }
    san[k] = '\0';
    return temper_strdupf("SPDXRef-%s-%s-%s", kind, san, hash);
}

static int supplier(struct json_object *pkg, const char *text)
{
    char *name = NULL, *email = NULL, *agent = NULL;
    bool org = false;
    int rc = ac_person(text, &name, &email, &org);
    if (rc == TEMPER_OK && name[0]) {
        agent = temper_strdupf("%s: %s%s%s%s", org ? "Organization" : "Person", name,
                               email ? " (" : "", email ? email : "", email ? ")" : "");
        rc = agent ? TEMPER_OK : TEMPER_ENOMEM;
        ac_put_str(&rc, pkg, "supplier", agent);
    }
    free(name);
    free(email);
    free(agent);
    return rc;
}

static int add_license_refs(struct doc *d, const struct ac_license *l)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < l->n_refs; i++) {
        if (json_object_object_get_ex(d->ref_ids, l->refs[i].id, NULL)) {
            continue;
        }
        ac_put(&rc, d->ref_ids, l->refs[i].id, json_object_new_boolean(1));
        struct json_object *e = ac_new_obj(&rc);
        char *text = temper_strdupf("The package metadata names the license \"%s\", which has "
                                    "no SPDX identifier; see the package's copyright file.",
                                    l->refs[i].name);
        rc = rc == TEMPER_OK && !text ? TEMPER_ENOMEM : rc;
        ac_put_str(&rc, e, "licenseId", l->refs[i].id);
        ac_put_str(&rc, e, "name", l->refs[i].name);
        ac_put_str(&rc, e, "extractedText", text);
        ac_push(&rc, d->refs, e);
        free(text);
    }
    return rc;
}

static int license_fields(struct doc *d, struct json_object *pkg, const char *text)
{
    struct ac_license l;
    int rc = ac_license_parse(text, &l);
    if (rc == TEMPER_OK && l.expr) {
        ac_put_str(&rc, pkg, "licenseDeclared", l.expr);
        if (rc == TEMPER_OK) {
            rc = add_license_refs(d, &l);
        }
    }
    ac_license_cleanup(&l);
    return rc;
}

/* The source package of p (once per source); *id borrowed from d->sources. */
static int source_package(struct doc *d, const struct temper_package *p, const char **id)
{
    struct json_object *have = NULL;
    char *purl = ac_purl_source(p);
    char hash[17];
    char *sid = NULL;
    int rc = purl ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && !json_object_object_get_ex(d->sources, purl, &have)) {
        ac_id_hash(ac_src_name(p), ac_src_version(p), p->distribution, hash);
        sid = spdx_id("SourcePackage", ac_src_name(p), hash);
        rc = sid ? TEMPER_OK : TEMPER_ENOMEM;
        struct json_object *pkg = package_new(&rc, sid, ac_src_name(p), ac_src_version(p));
        ac_put_str(&rc, pkg, "primaryPackagePurpose", "SOURCE");
        purl_ref(&rc, pkg, purl);
        if (rc == TEMPER_OK && p->supplier) {
            rc = supplier(pkg, p->supplier);
        }
        ac_push(&rc, d->packages, pkg);
        ac_put_str(&rc, d->sources, purl, sid);
        have = rc == TEMPER_OK ? json_object_object_get(d->sources, purl) : NULL;
    }
    *id = have ? json_object_get_string(have) : NULL;
    free(purl);
    free(sid);
    return rc == TEMPER_OK && !*id ? TEMPER_ENOMEM : rc;
}

static int binary_package(struct doc *d, const struct temper_package *p)
{
    char hash[17];
    const char *src_id = NULL;
    char *purl = ac_purl(p);
    char *info = temper_strdupf("built from source package %s %s", ac_src_name(p),
                                ac_src_version(p));
    ac_id_hash(p->name, p->version, p->arch, hash);
    char *id = spdx_id("Package", p->name, hash);
    int rc = purl && info && id ? TEMPER_OK : TEMPER_ENOMEM;
    struct json_object *pkg = package_new(&rc, id, p->name, p->version);
    ac_put_str(&rc, pkg, "downloadLocation", p->url);
    ac_put_str(&rc, pkg, "sourceInfo", info);
    if (rc == TEMPER_OK && p->sha256) {
        sha256_sum(&rc, pkg, p->sha256);
    }
    purl_ref(&rc, pkg, purl);
    if (rc == TEMPER_OK && p->supplier) {
        rc = supplier(pkg, p->supplier);
    }
    if (rc == TEMPER_OK) {
        rc = license_fields(d, pkg, p->license);
    }
    ac_push(&rc, d->packages, pkg);
    rel(&rc, d, "SPDXRef-Image", "CONTAINS", id);
    if (rc == TEMPER_OK) {
        rc = source_package(d, p, &src_id);
    }
    rel(&rc, d, id, "GENERATED_FROM", src_id);
    free(purl);
    free(info);
    free(id);
    return rc;
}

/* The distribution of p as an OPERATING_SYSTEM package (once each). */
static int os_package(struct doc *d, const struct temper_package *p)
{
    struct ac_distro ds;
    if (!ac_distro_parse(p->distribution, &ds) ||
        json_object_object_get_ex(d->oses, ds.ecosystem, NULL)) {
        return TEMPER_OK;
    }
    const char *ver = ds.version[0] ? ds.version : ds.codename;
    char *id = spdx_id("OperatingSystem", ds.vendor, ver[0] ? ver : "0");
    int rc = id ? TEMPER_OK : TEMPER_ENOMEM;
    struct json_object *pkg = package_new(&rc, id, ds.vendor, ver[0] ? ver : NULL);
    ac_put_str(&rc, pkg, "primaryPackagePurpose", "OPERATING_SYSTEM");
    ac_push(&rc, d->packages, pkg);
    rel(&rc, d, "SPDXRef-Image", "CONTAINS", id);
    ac_put_str(&rc, d->oses, ds.ecosystem, id ? id : "");
    free(id);
    return rc;
}

static int image_package(struct doc *d, const struct spdx_conf *c, const struct ac_subject *s)
{
    char *purl = ac_purl_image(s);
    char *org = c->supplier ? temper_strdupf("Organization: %s", c->supplier) : NULL;
    int rc = purl && (org || !c->supplier) ? TEMPER_OK : TEMPER_ENOMEM;
    struct json_object *pkg = package_new(&rc, "SPDXRef-Image", s->name, s->digest);
    ac_put_str(&rc, pkg, "primaryPackagePurpose", "CONTAINER");
    ac_put_str(&rc, pkg, "supplier", org);
    sha256_sum(&rc, pkg, s->hex);
    purl_ref(&rc, pkg, purl);
    ac_push(&rc, d->packages, pkg);
    rel(&rc, d, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image");
    free(purl);
    free(org);
    return rc;
}

static struct json_object *creation_info(int *rc, const struct spdx_conf *c,
                                         const char *created)
{
    struct json_object *ci = ac_new_obj(rc), *cr = ac_new_arr(rc);
    char *org = c->creator ? temper_strdupf("Organization: %s", c->creator) : NULL;
    if (c->creator && !org && *rc == TEMPER_OK) {
        *rc = TEMPER_ENOMEM;
    }
    ac_put_str(rc, ci, "created", created);
    ac_push(rc, cr, *rc == TEMPER_OK ? json_object_new_string("Tool: temper-" PACKAGE_VERSION)
                                     : NULL);
    if (org) {
        ac_push(rc, cr, *rc == TEMPER_OK ? json_object_new_string(org) : NULL);
    }
    ac_put(rc, ci, "creators", cr);
    free(org);
    return ci;
}

static int document(struct doc *d, const struct spdx_conf *c, const struct ac_subject *s,
                    const char *created, struct json_object *root)
{
    char uuid[37];
    struct temper_buf b;
    ac_uuid("spdx", s->digest, uuid);
    temper_buf_init(&b, 4 * AC_MAX_FIELD);
    char *name = temper_strdupf("%s@%s", s->name, s->digest);
    int rc = temper_buf_printf(&b, "%s/", c->namespace);
    if (rc == TEMPER_OK) {
        rc = ac_pct_encode(&b, s->name, false);
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_printf(&b, "-%s", uuid);
    }
    char *ns = rc == TEMPER_OK ? temper_buf_take(&b, NULL) : NULL;
    temper_buf_cleanup(&b);
    rc = name && ns ? TEMPER_OK : TEMPER_ENOMEM;
    ac_put_str(&rc, root, "spdxVersion", "SPDX-2.3");
    ac_put_str(&rc, root, "dataLicense", "CC0-1.0");
    ac_put_str(&rc, root, "SPDXID", "SPDXRef-DOCUMENT");
    ac_put_str(&rc, root, "name", name);
    ac_put_str(&rc, root, "documentNamespace", ns);
    ac_put(&rc, root, "creationInfo", creation_info(&rc, c, created));
    free(name);
    free(ns);
    return rc;
}

static int spdx_build(struct doc *d, const struct spdx_conf *c, const struct ac_subject *s,
                      const char *created, const struct temper_package *const *pk, size_t n,
                      struct json_object *root)
{
    int rc = document(d, c, s, created, root);
    if (rc == TEMPER_OK) {
        rc = image_package(d, c, s);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = temper_stage_cancelled(d->st) ? TEMPER_ECANCEL : os_package(d, pk[i]);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = binary_package(d, pk[i]);
    }
    ac_put(&rc, root, "packages", json_object_get(d->packages));
    ac_put(&rc, root, "relationships", json_object_get(d->rels));
    if (json_object_array_length(d->refs) > 0) {
        ac_put(&rc, root, "hasExtractedLicensingInfos", json_object_get(d->refs));
    }
    return rc;
}

static int spdx_attest(void *state, struct temper_stage *st, const struct temper_artifact *image,
                       const struct temper_artifact *run)
{
    const struct spdx_conf *c = ((const struct ac_state *)state)->conf;
    struct ac_input in;
    struct doc d = { .st = st };
    struct json_object *root = NULL;
    int rc = ac_input_init(st, image, run, true, &in);
    if (rc == TEMPER_OK) {
        root = json_object_new_object();
        d.packages = json_object_new_array();
        d.rels = json_object_new_array();
        d.refs = json_object_new_array();
        d.sources = json_object_new_object();
        d.oses = json_object_new_object();
        d.ref_ids = json_object_new_object();
        bool ok = root && d.packages && d.rels && d.refs && d.sources && d.oses && d.ref_ids;
        rc = ok ? spdx_build(&d, c, &in.s, in.created, in.pk, in.n, root) : TEMPER_ENOMEM;
    }
    rc = ac_finish(st, rc, &in, SPDX_PREDICATE, "spdx-2.3", "SPDX document", &root);
    json_object_put(root);
    json_object_put(d.packages);
    json_object_put(d.rels);
    json_object_put(d.refs);
    json_object_put(d.sources);
    json_object_put(d.oses);
    json_object_put(d.ref_ids);
    ac_input_cleanup(&in);
    return rc;
}

static int spdx_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct spdx_conf *c = conf;
    *state = NULL;
    if (!c->namespace || !strstr(c->namespace, "://") || strchr(c->namespace, '#')) {
        return temper_fail(st, TEMPER_EINVAL,
                           "namespace must be an absolute URI without '#' (e.g. https://...)");
    }
    return ac_state_new(conf, state);
}

static const struct temper_attest_ops spdx_ops = { .attest = spdx_attest };

TEMPER_PLUGIN(attest_spdx) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_ATTEST,
    .name = "spdx",
    .version = PACKAGE_VERSION,
    .summary = "SPDX 2.3 SBOM of the image's packages as an in-toto statement",
    .options = spdx_options,
    .conf_size = sizeof(struct spdx_conf),
    .open = spdx_open,
    .close = ac_state_free,
    .ops = &spdx_ops,
    .ops_size = sizeof(spdx_ops),
};

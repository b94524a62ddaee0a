/* temper — attest_cyclonedx: a CycloneDX 1.5 JSON SBOM of the image as an
 * in-toto Statement (predicateType https://cyclonedx.org/bom/v1.5).
 *
 *   [attest "cyclonedx"]
 *   plugin   = cyclonedx
 *   supplier = Example Corp   ; metadata.supplier (optional)
 *
 * The BOM (built only from the image artifact and the run record):
 *   - serialNumber urn:uuid:<UUID derived from the image digest>, version 1,
 *     metadata.timestamp = the run record's started_on, metadata.tools
 *     (temper), metadata.component = the image (type container, bom-ref and
 *     purl pkg:oci/<name>@sha256%3A<hex>?arch=..., SHA-256 hash);
 *   - one component per package (type library): bom-ref = purl, name,
 *     version, purl (with distro and, when the source differs, upstream=
 *     qualifiers, which grype reads), supplier {name, contact email},
 *     hashes SHA-256, licenses (one listed SPDX id -> {license: {id}}, one
 *     unlisted name -> {license: {name}}, anything else -> one
 *     {expression}; omitted when unknown), externalReferences distribution
 *     = the package URL, and the source package as pedigree.ancestors[0]
 *     (name, version, purl ...?arch=source): the CycloneDX way to say
 *     "derived from", read by CycloneDX tooling (Dependency-Track shows it);
 *   - one operating-system component per distribution (name "debian",
 *     version "12"), which Trivy needs to scan an SBOM's OS packages;
 *   - dependencies: the image depends on every component.  Dependencies
 *     between packages are not recorded by the builders, so they are left
 *     out (unknown) rather than written as empty (CycloneDX: "none"). */
#include "config.h"
#include "attest_license.h"

#include <stdlib.h>
#include <string.h>

#define CDX_PREDICATE "https://cyclonedx.org/bom/v1.5"
#define CDX_SCHEMA "http://cyclonedx.org/schema/bom-1.5.schema.json"

struct cdx_conf {
    char *supplier;
};

struct bom {
    struct temper_stage *st;
    struct json_object *components, *depends;
    struct json_object *refs; /* bom-ref -> true */
};

static const struct temper_option cdx_options[] = {
    { TEMPER_OPT_STR, "supplier", NULL, 0, offsetof(struct cdx_conf, supplier), 0, 0, NULL,
      "organization that supplies the image (metadata.supplier.name)" },
    TEMPER_OPTION_END,
};

/* [{"alg":"SHA-256","content":hex}] */
static struct json_object *sha256_hashes(int *rc, const char *hex)
{
    struct json_object *arr = ac_new_arr(rc), *h = ac_new_obj(rc);
    ac_put_str(rc, h, "alg", "SHA-256");
    ac_put_str(rc, h, "content", hex);
    ac_push(rc, arr, h);
    return arr;
}

/* A bom-ref must be unique in the BOM. */
static int claim_ref(struct bom *b, const char *ref)
{
    if (json_object_object_get_ex(b->refs, ref, NULL)) {
        return temper_fail(b->st, TEMPER_EFORMAT, "two components share the bom-ref %s", ref);
    }
    int rc = TEMPER_OK;
    ac_put(&rc, b->refs, ref, json_object_new_boolean(1));
    ac_push(&rc, b->depends, rc == TEMPER_OK ? json_object_new_string(ref) : NULL);
    return rc;
}

static int supplier(struct json_object *comp, const char *text)
{
    char *name = NULL, *email = NULL;
    bool org = false;
    int rc = ac_person(text, &name, &email, &org);
    if (rc == TEMPER_OK && name[0]) {
        struct json_object *sup = ac_new_obj(&rc);
        ac_put_str(&rc, sup, "name", name);
        if (email) {
            struct json_object *contacts = ac_new_arr(&rc), *ct = ac_new_obj(&rc);
            ac_put_str(&rc, ct, "name", name);
            ac_put_str(&rc, ct, "email", email);
            ac_push(&rc, contacts, ct);
            ac_put(&rc, sup, "contact", contacts);
        }
        ac_put(&rc, comp, "supplier", sup);
    }
    free(name);
    free(email);
    return rc;
}

static int licenses(struct json_object *comp, const char *text)
{
    struct ac_license l;
    int rc = ac_license_parse(text, &l);
    if (rc == TEMPER_OK && l.expr && strcmp(l.expr, "NONE") != 0) {
        struct json_object *arr = ac_new_arr(&rc), *one = ac_new_obj(&rc);
        if (l.listed || (l.n_refs == 1 && strcmp(l.expr, l.refs[0].id) == 0)) {
            struct json_object *lic = ac_new_obj(&rc);
            ac_put_str(&rc, lic, l.listed ? "id" : "name", l.listed ? l.listed : l.refs[0].name);
            ac_put(&rc, one, "license", lic);
        } else {
            ac_put_str(&rc, one, "expression", l.expr);
        }
        ac_push(&rc, arr, one);
        ac_put(&rc, comp, "licenses", arr);
    }
    ac_license_cleanup(&l);
    return rc;
}

static struct json_object *ancestors(int *rc, const struct temper_package *p)
{
    char *purl = *rc == TEMPER_OK ? ac_purl_source(p) : NULL;
    if (!purl && *rc == TEMPER_OK) {
        *rc = TEMPER_ENOMEM;
    }
    struct json_object *ped = ac_new_obj(rc), *arr = ac_new_arr(rc), *src = ac_new_obj(rc);
    ac_put_str(rc, src, "type", "library");
    ac_put_str(rc, src, "name", ac_src_name(p));
    ac_put_str(rc, src, "version", ac_src_version(p));
    ac_put_str(rc, src, "purl", purl);
    ac_push(rc, arr, src);
    ac_put(rc, ped, "ancestors", arr);
    free(purl);
    return ped;
}

static int component(struct bom *b, const struct temper_package *p)
{
    char *purl = ac_purl(p);
    int rc = purl ? claim_ref(b, purl) : TEMPER_ENOMEM;
    struct json_object *c = ac_new_obj(&rc);
    ac_put_str(&rc, c, "type", "library");
    ac_put_str(&rc, c, "bom-ref", purl);
    ac_put_str(&rc, c, "name", p->name);
    ac_put_str(&rc, c, "version", p->version);
    ac_put_str(&rc, c, "purl", purl);
    if (p->sha256) {
        ac_put(&rc, c, "hashes", sha256_hashes(&rc, p->sha256));
    }
    if (rc == TEMPER_OK && p->supplier) {
        rc = supplier(c, p->supplier);
    }
    if (rc == TEMPER_OK) {
        rc = licenses(c, p->license);
    }
    if (p->url) {
        struct json_object *refs = ac_new_arr(&rc), *r = ac_new_obj(&rc);
        ac_put_str(&rc, r, "type", "distribution");
        ac_put_str(&rc, r, "url", p->url);
        ac_push(&rc, refs, r);
        ac_put(&rc, c, "externalReferences", refs);
    }
    ac_put(&rc, c, "pedigree", ancestors(&rc, p));
    ac_push(&rc, b->components, c);
    free(purl);
    return rc;
}

static int os_component(struct bom *b, const struct temper_package *p)
{
    struct ac_distro d;
    if (!ac_distro_parse(p->distribution, &d)) {
        return TEMPER_OK;
    }
    const char *ver = d.version[0] ? d.version : d.codename;
    char *ref = temper_strdupf("os:%s@%s", d.vendor, ver);
    if (!ref) {
        return TEMPER_ENOMEM;
    }
    int rc = TEMPER_OK;
    if (!json_object_object_get_ex(b->refs, ref, NULL)) {
        rc = claim_ref(b, ref);
        struct json_object *c = ac_new_obj(&rc);
        ac_put_str(&rc, c, "type", "operating-system");
        ac_put_str(&rc, c, "bom-ref", ref);
        ac_put_str(&rc, c, "name", d.vendor);
        ac_put_str(&rc, c, "version", ver[0] ? ver : NULL);
        ac_push(&rc, b->components, c);
    }
    free(ref);
    return rc;
}

static struct json_object *metadata(int *rc, const struct cdx_conf *cf, const struct ac_subject *s,
                                    const char *created, const char *image_ref)
{
    struct json_object *md = ac_new_obj(rc), *tools = ac_new_obj(rc), *tl = ac_new_arr(rc);
    struct json_object *tool = ac_new_obj(rc), *img = ac_new_obj(rc);
    ac_put_str(rc, md, "timestamp", created);
    ac_put_str(rc, tool, "type", "application");
    ac_put_str(rc, tool, "name", "temper");
    ac_put_str(rc, tool, "version", PACKAGE_VERSION);
    ac_push(rc, tl, tool);
    ac_put(rc, tools, "components", tl);
    ac_put(rc, md, "tools", tools);
    ac_put_str(rc, img, "type", "container");
    ac_put_str(rc, img, "bom-ref", image_ref);
    ac_put_str(rc, img, "name", s->name);
    ac_put_str(rc, img, "version", s->digest);
    ac_put_str(rc, img, "purl", image_ref);
    ac_put(rc, img, "hashes", sha256_hashes(rc, s->hex));
    ac_put(rc, md, "component", img);
    if (cf->supplier) {
        struct json_object *sup = ac_new_obj(rc);
        ac_put_str(rc, sup, "name", cf->supplier);
        ac_put(rc, md, "supplier", sup);
    }
    return md;
}

static int bom_build(struct bom *b, const struct cdx_conf *cf, const struct ac_subject *s,
                     const char *created, const struct temper_package *const *pk, size_t n,
                     struct json_object *root)
{
    char uuid[37];
    ac_uuid("cyclonedx", s->digest, uuid);
    char *serial = temper_strdupf("urn:uuid:%s", uuid);
    char *image_ref = ac_purl_image(s);
    int rc = serial && image_ref ? TEMPER_OK : TEMPER_ENOMEM;
    ac_put_str(&rc, root, "$schema", CDX_SCHEMA);
    ac_put_str(&rc, root, "bomFormat", "CycloneDX");
    ac_put_str(&rc, root, "specVersion", "1.5");
    ac_put_str(&rc, root, "serialNumber", serial);
    ac_put(&rc, root, "version", rc == TEMPER_OK ? json_object_new_int(1) : NULL);
    ac_put(&rc, root, "metadata", metadata(&rc, cf, s, created, image_ref));
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = temper_stage_cancelled(b->st) ? TEMPER_ECANCEL : os_component(b, pk[i]);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = component(b, pk[i]);
    }
    ac_put(&rc, root, "components", json_object_get(b->components));
    struct json_object *deps = ac_new_arr(&rc), *top = ac_new_obj(&rc);
    ac_put_str(&rc, top, "ref", image_ref);
    ac_put(&rc, top, "dependsOn", json_object_get(b->depends));
    ac_push(&rc, deps, top);
    ac_put(&rc, root, "dependencies", deps);
    free(serial);
    free(image_ref);
    return rc;
}

static int cdx_attest(void *state, struct temper_stage *st, const struct temper_artifact *image,
                      const struct temper_artifact *run)
{
    const struct cdx_conf *cf = ((const struct ac_state *)state)->conf;
    struct ac_input in;
    struct bom b = { .st = st };
    struct json_object *root = NULL;
    int rc = ac_input_init(st, image, run, true, &in);
    if (rc == TEMPER_OK) {
        root = json_object_new_object();
        b.components = json_object_new_array();
        b.depends = json_object_new_array();
        b.refs = json_object_new_object();
        rc = root && b.components && b.depends && b.refs
                 ? bom_build(&b, cf, &in.s, in.created, in.pk, in.n, root)
                 : TEMPER_ENOMEM;
    }
    rc = ac_finish(st, rc, &in, CDX_PREDICATE, "cyclonedx-1.5", "CycloneDX BOM", &root);
    json_object_put(root);
    json_object_put(b.components);
    json_object_put(b.depends);
    json_object_put(b.refs);
    ac_input_cleanup(&in);
    return rc;
}

static int cdx_open(struct temper_stage *st, const void *conf, void **state)
{
    (void)st;
    return ac_state_new(conf, state);
}

static const struct temper_attest_ops cdx_ops = { .attest = cdx_attest };

TEMPER_PLUGIN(attest_cyclonedx) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_ATTEST,
    .name = "cyclonedx",
    .version = PACKAGE_VERSION,
    .summary = "CycloneDX 1.5 SBOM of the image's packages as an in-toto statement",
    .options = cdx_options,
    .conf_size = sizeof(struct cdx_conf),
    .open = cdx_open,
    .close = ac_state_free,
    .ops = &cdx_ops,
    .ops_size = sizeof(cdx_ops),
};

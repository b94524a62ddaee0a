/* temper — attest_slsa: SLSA provenance v1 for the image as an in-toto
 * Statement (predicateType https://slsa.dev/provenance/v1).
 *
 *   [attest "provenance"]
 *   plugin = slsa
 *
 * Everything comes from the run record the core keeps (TEMPER_ART_RUN,
 * attributes TEMPER_RUN_* of include/temper/attest.h) and from the package
 * list of the image artifact, which the core recorded when the builder
 * returned; nothing is taken from what a builder might claim about itself.
 * The build type and the meaning of each field are in BUILDTYPE.md:
 *
 *   buildDefinition.buildType           urn:temper:buildtype:oci-image:v1
 *   buildDefinition.externalParameters  {image, definition {uri, digest},
 *                                        pipeline {uri, digest}}
 *   buildDefinition.internalParameters  {variant, platforms}
 *   buildDefinition.resolvedDependencies the base image (uri <ref>@<digest>,
 *                                        digest) and every package: uri = the
 *                                        URL it was fetched from (its purl when
 *                                        unknown), digest sha256, name = purl;
 *                                        then the build inputs a compiling
 *                                        builder records on the image
 *                                        (TEMPER_ATTR_BUILD_INPUTS: source
 *                                        tarball, patches, build
 *                                        dependencies), each checked
 *   runDetails.builder                  {id (the run's builder_id as a URI),
 *                                        version {temper}}
 *   runDetails.metadata                 {invocationId, startedOn, finishedOn}
 *
 * builder_id, invocation_id and started_on are required: provenance without
 * them would be incomplete, so the stage fails.  A builder_id that is not a
 * URI ("builder-1.example.org", the host name) becomes
 * urn:temper:builder:<percent-encoded id>. */
#include "config.h"
#include "attest_common.h"
#include <temper/json.h>

#include <stdlib.h>
#include <string.h>

#define SLSA_PREDICATE "https://slsa.dev/provenance/v1"
#define SLSA_BUILD_TYPE "urn:temper:buildtype:oci-image:v1"
#define RUN_TEXT_MAX 4096

/* A run record attribute: NULL when absent; EFORMAT when not plain text. */
static int run_text(struct temper_stage *st, const struct temper_artifact *run, const char *key,
                    bool required, const char **out)
{
    *out = temper_artifact_get(run, key);
    if (!*out && required) {
        return temper_fail(st, TEMPER_EINVAL, "run record has no %s: provenance needs it", key);
    }
    if (*out && (!(*out)[0] || !ac_text_ok(*out, RUN_TEXT_MAX))) {
        return temper_fail(st, TEMPER_EFORMAT, "run record: %s is empty or not text", key);
    }
    return TEMPER_OK;
}

/* "sha256:<hex>" of the run record -> hex, or NULL when absent. */
static int run_digest(struct temper_stage *st, const struct temper_artifact *run, const char *key,
                      const char **hex)
{
    const char *v = temper_artifact_get(run, key);
    *hex = NULL;
    if (!v) {
        return TEMPER_OK;
    }
    if (strncmp(v, "sha256:", 7) != 0 || !ac_is_hex64(v + 7)) {
        return temper_fail(st, TEMPER_EFORMAT, "run record: %s is not sha256:<64 hex>", key);
    }
    *hex = v + 7;
    return TEMPER_OK;
}

/* {uri, digest} of a definition file or pipeline, NULL when neither is known. */
static int input_ref(struct temper_stage *st, const struct temper_artifact *run,
                     const char *uri_key, const char *digest_key, struct json_object *parent,
                     const char *name)
{
    const char *uri = NULL, *hex = NULL;
    int rc = run_text(st, run, uri_key, false, &uri);
    if (rc == TEMPER_OK) {
        rc = run_digest(st, run, digest_key, &hex);
    }
    if (rc != TEMPER_OK || (!uri && !hex)) {
        if (rc == TEMPER_OK) {
            TEMPER_LOG_WARN(st, "run record has no %s: provenance cannot name the %s", digest_key,
                            name);
        }
        return rc;
    }
    struct json_object *o = ac_new_obj(&rc);
    ac_put_str(&rc, o, "uri", uri);
    if (hex) {
        ac_put(&rc, o, "digest", ac_digest_obj(hex));
    }
    ac_put(&rc, parent, name, o);
    return rc;
}

static struct json_object *external_params(int *rc, struct temper_stage *st,
                                           const struct temper_artifact *run,
                                           const struct ac_subject *s)
{
    struct json_object *ep = ac_new_obj(rc);
    ac_put_str(rc, ep, "image", s->name);
    if (*rc == TEMPER_OK) {
        *rc = input_ref(st, run, TEMPER_RUN_DEFINITION_URI, TEMPER_RUN_DEFINITION_DIGEST, ep,
                        "definition");
    }
    if (*rc == TEMPER_OK) {
        *rc = input_ref(st, run, TEMPER_RUN_PIPELINE_URI, TEMPER_RUN_PIPELINE_DIGEST, ep,
                        "pipeline");
    }
    return ep;
}

static struct json_object *internal_params(int *rc, const struct ac_subject *s)
{
    struct json_object *ip = ac_new_obj(rc), *pl = ac_new_arr(rc);
    ac_put_str(rc, ip, "variant", s->variant);
    if (s->platform) {
        ac_push(rc, pl, *rc == TEMPER_OK ? json_object_new_string(s->platform) : NULL);
    }
    ac_put(rc, ip, "platforms", pl);
    return ip;
}

static int base_image(struct temper_stage *st, const struct temper_artifact *run,
                      struct json_object *deps)
{
    const char *ref = NULL, *hex = NULL;
    int rc = run_text(st, run, TEMPER_RUN_BASE_REF, false, &ref);
    if (rc == TEMPER_OK) {
        rc = run_digest(st, run, TEMPER_RUN_BASE_DIGEST, &hex);
    }
    if (rc != TEMPER_OK || !hex) {
        return rc;
    }
    char *uri = ref && !strstr(ref, "@sha256:") ? temper_strdupf("%s@sha256:%s", ref, hex)
                                                : ref ? strdup(ref) : NULL;
    struct json_object *d = ac_new_obj(&rc);
    if (ref && !uri) {
        rc = TEMPER_ENOMEM;
    }
    ac_put_str(&rc, d, "uri", uri);
    ac_put_str(&rc, d, "name", "base-image");
    ac_put(&rc, d, "digest", ac_digest_obj(hex));
    ac_push(&rc, deps, d);
    free(uri);
    return rc;
}

static int package_deps(const struct temper_package *const *pk, size_t n, struct json_object *deps)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        char *purl = ac_purl(pk[i]);
        struct json_object *d = purl ? ac_new_obj(&rc) : NULL;
        rc = purl ? rc : TEMPER_ENOMEM;
        ac_put_str(&rc, d, "uri", pk[i]->url ? pk[i]->url : purl);
        ac_put_str(&rc, d, "name", purl);
        if (pk[i]->sha256) {
            ac_put(&rc, d, "digest", ac_digest_obj(pk[i]->sha256));
        }
        ac_push(&rc, deps, d);
        free(purl);
    }
    return rc;
}

#define INPUTS_MAX_BYTES (8u << 20)
#define INPUTS_MAX 20000

/* One entry of TEMPER_ATTR_BUILD_INPUTS: name, uri, digest.sha256. */
static int build_input(struct temper_stage *st, struct json_object *e, size_t i,
                       struct json_object *deps)
{
    const char *name = temper_json_get_str(e, "name");
    const char *uri = temper_json_get_str(e, "uri");
    const char *sha = temper_json_get_str(e, "digest.sha256");
    if (!name || !uri || !sha || !ac_text_ok(name, RUN_TEXT_MAX) ||
        !ac_text_ok(uri, RUN_TEXT_MAX) || !ac_is_hex64(sha)) {
        return temper_fail(st, TEMPER_EFORMAT, "image artifact: %s entry %zu needs text name "
                           "and uri and a sha256 digest", TEMPER_ATTR_BUILD_INPUTS, i);
    }
    int rc = TEMPER_OK;
    struct json_object *d = ac_new_obj(&rc);
    ac_put_str(&rc, d, "uri", uri);
    ac_put_str(&rc, d, "name", name);
    ac_put(&rc, d, "digest", ac_digest_obj(sha));
    ac_push(&rc, deps, d);
    return rc;
}

static int build_inputs(struct temper_stage *st, const struct temper_artifact *image,
                        struct json_object *deps)
{
    const char *text = temper_artifact_get(image, TEMPER_ATTR_BUILD_INPUTS);
    struct json_object *arr = NULL;
    if (!text) {
        return TEMPER_OK;
    }
    int rc = temper_json_parse(st, TEMPER_ATTR_BUILD_INPUTS, text, strlen(text),
                               INPUTS_MAX_BYTES, 8, &arr);
    if (rc == TEMPER_OK && (!json_object_is_type(arr, json_type_array) ||
                            json_object_array_length(arr) > INPUTS_MAX)) {
        rc = temper_fail(st, TEMPER_EFORMAT, "image artifact: %s is not an array of at most "
                         "%d entries", TEMPER_ATTR_BUILD_INPUTS, INPUTS_MAX);
    }
    size_t n = rc == TEMPER_OK ? json_object_array_length(arr) : 0;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = build_input(st, json_object_array_get_idx(arr, i), i, deps);
    }
    json_object_put(arr);
    return rc;
}

/* builder_id as a TypeURI. */
static char *builder_uri(const char *id)
{
    size_t scheme = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    if (scheme > 0 && id[scheme] == ':' && ((id[0] | 32) >= 'a' && (id[0] | 32) <= 'z')) {
        return strdup(id);
    }
    struct temper_buf b;
    temper_buf_init(&b, 4 * RUN_TEXT_MAX);
    int rc = temper_buf_puts(&b, "urn:temper:builder:");
    if (rc == TEMPER_OK) {
        rc = ac_pct_encode(&b, id, true);
    }
    char *out = rc == TEMPER_OK ? temper_buf_take(&b, NULL) : NULL;
    temper_buf_cleanup(&b);
    return out;
}

static struct json_object *run_details(int *rc, struct temper_stage *st,
                                       const struct temper_artifact *run)
{
    const char *builder = NULL, *inv = NULL;
    char started[21], finished[21];
    struct json_object *rd = ac_new_obj(rc), *b = ac_new_obj(rc), *ver = ac_new_obj(rc);
    struct json_object *md = ac_new_obj(rc);
    if (*rc == TEMPER_OK) {
        *rc = run_text(st, run, TEMPER_RUN_BUILDER_ID, true, &builder);
    }
    if (*rc == TEMPER_OK) {
        *rc = run_text(st, run, TEMPER_RUN_INVOCATION_ID, true, &inv);
    }
    if (*rc == TEMPER_OK) {
        *rc = ac_run_time(st, run, TEMPER_RUN_STARTED, started);
        *rc = *rc == TEMPER_ENOTFOUND
                  ? temper_fail(st, TEMPER_EINVAL, "run record has no %s: provenance needs it",
                                TEMPER_RUN_STARTED)
                  : *rc;
    }
    int frc = *rc == TEMPER_OK ? ac_run_time(st, run, TEMPER_RUN_FINISHED, finished) : *rc;
    *rc = frc == TEMPER_ENOTFOUND ? TEMPER_OK : frc;
    char *id = *rc == TEMPER_OK ? builder_uri(builder) : NULL;
    if (!id && *rc == TEMPER_OK) {
        *rc = TEMPER_ENOMEM;
    }
    ac_put_str(rc, b, "id", id);
    ac_put_str(rc, ver, "temper", PACKAGE_VERSION);
    ac_put(rc, b, "version", ver);
    ac_put(rc, rd, "builder", b);
    ac_put_str(rc, md, "invocationId", inv);
    ac_put_str(rc, md, "startedOn", started);
    ac_put_str(rc, md, "finishedOn", frc == TEMPER_OK ? finished : NULL);
    ac_put(rc, rd, "metadata", md);
    free(id);
    return rd;
}

static int provenance(struct temper_stage *st, const struct temper_artifact *image,
                      const struct temper_artifact *run, const struct ac_subject *s,
                      const struct temper_package *const *pk, size_t n,
                      struct json_object *pred)
{
    int rc = TEMPER_OK;
    struct json_object *bd = ac_new_obj(&rc), *deps = ac_new_arr(&rc);
    ac_put(&rc, pred, "runDetails", run_details(&rc, st, run));
    ac_put_str(&rc, bd, "buildType", SLSA_BUILD_TYPE);
    ac_put(&rc, bd, "externalParameters", external_params(&rc, st, run, s));
    ac_put(&rc, bd, "internalParameters", internal_params(&rc, s));
    if (rc == TEMPER_OK) {
        rc = base_image(st, run, deps);
    }
    if (rc == TEMPER_OK) {
        rc = package_deps(pk, n, deps);
    }
    if (rc == TEMPER_OK) {
        rc = build_inputs(st, image, deps);
    }
    ac_put(&rc, bd, "resolvedDependencies", deps);
    ac_put(&rc, pred, "buildDefinition", bd);
    return rc;
}

static int slsa_attest(void *state, struct temper_stage *st, const struct temper_artifact *image,
                       const struct temper_artifact *run)
{
    struct ac_input in;
    struct json_object *pred = NULL;
    (void)state;
    int rc = ac_input_init(st, image, run, false, &in);
    if (rc == TEMPER_OK) {
        pred = json_object_new_object();
        rc = pred ? provenance(st, image, run, &in.s, in.pk, in.n, pred) : TEMPER_ENOMEM;
    }
    rc = ac_finish(st, rc, &in, SLSA_PREDICATE, "slsa-provenance-1", "provenance", &pred);
    json_object_put(pred);
    ac_input_cleanup(&in);
    return rc;
}

static const struct temper_attest_ops slsa_ops = { .attest = slsa_attest };

TEMPER_PLUGIN(attest_slsa) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_ATTEST,
    .name = "slsa",
    .version = PACKAGE_VERSION,
    .summary = "SLSA provenance v1 of the build, from the run record the core keeps",
    .options = NULL,
    .conf_size = 0,
    .open = NULL,
    .close = NULL,
    .ops = &slsa_ops,
    .ops_size = sizeof(slsa_ops),
};

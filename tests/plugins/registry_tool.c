/* temper tests — drive publish_registry and the SDK registry client from
 * shell tests (not a TAP program itself).
 *
 *   registry_tool push LAYOUT [-s PAYLOAD] [-a ENVELOPE] [-V VERSION]
 *                 [-t TAG]... [KEY=VALUE]...
 *       loads publish_registry through the real loader with the KEY=VALUE
 *       options and publishes the layout's image (ref name "img") with a
 *       simple-signing payload (-s) and a DSSE envelope (-a) as signature
 *       artifacts; prints "<kind> <ref> <digest>" per emitted reference and
 *       "uploaded <blobs> <bytes>".
 *   registry_tool pull HOST/REPO:TAG LAYOUT [KEY=VALUE]...
 *       temper_registry_pull into LAYOUT (created), tag "pulled"; prints
 *       "pulled <digest>".  Keys: plain_http, ca_file, credentials_file.
 *   registry_tool referrers HOST/REPO DIGEST [KEY=VALUE]...
 *       prints "referrer <digest> <artifactType>" per referrer.
 * The stage log goes to stderr; exit 1 with the stage error on failure. */
#include "config.h"
#include "tests/lib/plugin_harness.h"

#include <temper/publish.h>
#include <temper/registry.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(1 << 20) : NULL;
    *len = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    if (f) {
        fclose(f);
    }
    if (buf) {
        buf[*len] = '\0';
    }
    return buf;
}

static struct temper_artifact *sig_artifact(const char *file, const char *digest, bool dsse)
{
    size_t len = 0;
    char *data = slurp(file, &len);
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_SIGNATURE, "img");
    int rc = data && a ? temper_artifact_take_data(a, data, len) : TEMPER_ENOMEM;
    data = NULL;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_SIGNED_DIGEST, digest) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_MEDIA_TYPE,
                                               dsse ? "application/vnd.dsse.envelope.v1+json"
                                                    : "application/vnd.dev.cosign."
                                                      "simplesigning.v1+json")
                         : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, dsse ? TEMPER_ATTR_PREDICATE_TYPE
                                                       : "signature",
                                               dsse ? "https://slsa.dev/provenance/v1"
                                                    : "MEUCIQDtest")
                         : rc;
    free(data);
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return NULL;
    }
    return a;
}

static int image_digest(const char *layout, char digest[TEMPER_DIGEST_STR_LEN])
{
    struct temper_oci_layout *l = NULL;
    const struct temper_oci_descriptor *d = NULL;
    int rc = temper_oci_layout_open(NULL, layout, &l);
    rc = rc == TEMPER_OK ? temper_oci_layout_find(NULL, l, "img", &d) : rc;
    if (rc == TEMPER_OK) {
        memcpy(digest, d->digest, TEMPER_DIGEST_STR_LEN);
    }
    temper_oci_layout_free(l);
    return rc;
}

static void print_refs(const struct ph *h)
{
    for (size_t i = 0; i < ph_artifact_count(h); i++) {
        const struct temper_artifact *a = ph_artifact(h, i);
        const char *up = temper_artifact_get(a, "x-registry-blobs-uploaded");
        printf("%s %s %s\n", temper_artifact_name(a), temper_artifact_get(a, TEMPER_ATTR_REF),
               temper_artifact_get(a, TEMPER_ATTR_DIGEST));
        if (up) {
            printf("uploaded %s %s\n", up, temper_artifact_get(a, "x-registry-bytes-uploaded"));
        }
    }
}

static int push(int argc, char **argv)
{
    const char *kvs[MAX_ARGS + 1], *tags[MAX_ARGS];
    const char *sig = NULL, *att = NULL, *version = NULL;
    size_t nk = 0, nt = 0;
    char digest[TEMPER_DIGEST_STR_LEN];
    for (int i = 3; i < argc && nk < MAX_ARGS && nt < MAX_ARGS; i++) {
        bool more = i + 1 < argc;
        if (strcmp(argv[i], "-s") == 0 && more) {
            sig = argv[++i];
        } else if (strcmp(argv[i], "-a") == 0 && more) {
            att = argv[++i];
        } else if (strcmp(argv[i], "-V") == 0 && more) {
            version = argv[++i];
        } else if (strcmp(argv[i], "-t") == 0 && more) {
            tags[nt++] = argv[++i];
        } else {
            kvs[nk++] = argv[i];
        }
    }
    kvs[nk] = NULL;
    if (image_digest(argv[2], digest) != TEMPER_OK) {
        fprintf(stderr, "no image 'img' in %s\n", argv[2]);
        return 1;
    }
    struct ph h = { 0 };
    char *err = NULL;
    struct temper_artifact *img = temper_artifact_new(TEMPER_ART_IMAGE, "img");
    struct temper_artifact *extras[2] = { NULL, NULL };
    size_t ne = 0;
    if (sig) {
        extras[ne++] = sig_artifact(sig, digest, false);
    }
    if (att) {
        extras[ne++] = sig_artifact(att, digest, true);
    }
    int rc = img ? temper_artifact_set_path(img, argv[2]) : TEMPER_ENOMEM;
    rc = rc == TEMPER_OK ? temper_artifact_set(img, TEMPER_ATTR_DIGEST, digest) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(img, TEMPER_ATTR_REF, "img") : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(img, TEMPER_ATTR_IMAGE, "img") : rc;
    if (rc == TEMPER_OK && version) {
        rc = temper_artifact_set(img, "version", version);
    }
    rc = rc == TEMPER_OK ? ph_load(&h, TEMPER_KIND_PUBLISH, "registry", kvs, &err) : rc;
    rc = rc == TEMPER_OK ? ph_open(&h) : rc;
    if (rc == TEMPER_OK) {
        const struct temper_publish_ops *ops = ph_ops(&h);
        struct temper_publish_request req = {
            .size = sizeof req, .image = img,
            .extras = (const struct temper_artifact *const *)extras, .n_extras = ne,
            .tags = tags, .n_tags = nt,
        };
        rc = ops->publish(h.state, h.st, &req);
        print_refs(&h);
    }
    if (rc != TEMPER_OK) {
        fprintf(stderr, "push failed: %s\n",
                err ? err : temper_stage_error(h.st) ? temper_stage_error(h.st) : "?");
    }
    ph_close(&h);
    free(err);
    temper_artifact_free(img);
    for (size_t i = 0; i < ne; i++) {
        temper_artifact_free(extras[i]);
    }
    return rc == TEMPER_OK ? 0 : 1;
}

/* A client for the SDK commands; the stage comes from a loaded plugin. */
static int client(struct ph *h, const char *host, int argc, char **argv, int first,
                  struct temper_registry **out)
{
    struct temper_registry_opts o;
    char *err = NULL;
    static const char *const kvs[] = { "repository=localhost/x", NULL };
    temper_registry_opts_init(&o);
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "plain_http=true") == 0) {
            o.plain_http = true;
        } else if (strncmp(argv[i], "ca_file=", 8) == 0) {
            o.ca_file = argv[i] + 8;
        } else if (strncmp(argv[i], "credentials_file=", 17) == 0) {
            o.credentials_file = argv[i] + 17;
        }
    }
    int rc = ph_load(h, TEMPER_KIND_PUBLISH, "registry", kvs, &err);
    rc = rc == TEMPER_OK ? ph_open(h) : rc;
    rc = rc == TEMPER_OK ? temper_registry_new(h->st, host, &o, out) : rc;
    free(err);
    return rc;
}

static int sdk_cmd(int argc, char **argv)
{
    struct temper_registry_ref ref;
    struct temper_registry *r = NULL;
    struct temper_oci_layout *l = NULL;
    struct temper_oci_descriptor d = { 0 };
    struct temper_oci_index x = { 0 };
    struct ph h = { 0 };
    bool pull = strcmp(argv[1], "pull") == 0;
    int rc = temper_registry_ref_parse(argv[2], &ref);
    rc = rc == TEMPER_OK ? client(&h, ref.host, argc, argv, 4, &r) : rc;
    if (rc == TEMPER_OK && pull) {
        rc = temper_oci_layout_create(h.st, argv[3], &l);
        rc = rc == TEMPER_OK ? temper_registry_pull(r, ref.repo, ref.digest[0] ? ref.digest
                                                    : ref.tag, l, "pulled", &d)
                             : rc;
        if (rc == TEMPER_OK) {
            printf("pulled %s\n", d.digest);
        }
    } else if (rc == TEMPER_OK) {
        rc = temper_registry_referrers(r, ref.repo, argv[3], NULL, &x);
        for (size_t i = 0; rc == TEMPER_OK && i < x.n_manifests; i++) {
            printf("referrer %s %s\n", x.manifests[i].digest,
                   x.manifests[i].artifact_type ? x.manifests[i].artifact_type : "-");
        }
    }
    if (rc != TEMPER_OK) {
        fprintf(stderr, "%s failed: %s\n", argv[1],
                h.st && temper_stage_error(h.st) ? temper_stage_error(h.st) : "?");
    }
    temper_oci_index_cleanup(&x);
    temper_oci_descriptor_cleanup(&d);
    temper_oci_layout_free(l);
    temper_registry_free(r);
    ph_close(&h);
    return rc == TEMPER_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    int rc = 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (argc >= 3 && strcmp(argv[1], "push") == 0) {
        rc = push(argc, argv);
    } else if (argc >= 4 && (strcmp(argv[1], "pull") == 0 ||
                             strcmp(argv[1], "referrers") == 0)) {
        rc = sdk_cmd(argc, argv);
    } else {
        fprintf(stderr, "usage: registry_tool push|pull|referrers ...\n");
    }
    curl_global_cleanup();
    return rc;
}

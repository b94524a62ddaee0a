/* temper — `temper verify --key PUB [--json] REF`: check a published image's
 * cosign signature and attestations (include/temper/sigstore.h).
 *
 * REF: `oci:DIR[:TAG]` or `oci:DIR@sha256:<hex>` (an OCI layout; without a
 * tag, the layout's only image).  For a layout the image's own blobs are
 * checked against their digests too (a changed layer is caught).  Registry
 * references (`docker://HOST/REPO:TAG`, `HOST/REPO[:TAG|@DIGEST]`) go
 * through the registry client (core/verify_registry.c; --plain-http,
 * --ca-file, --docker-config, --credentials-file); a build without it says
 * so and exits 1.
 *
 * Output: what was verified (image digest, key id and algorithm, the number
 * of signatures, each attestation's predicate type), as text or with
 * --json one object {"reference","digest","verified","key_id","algorithm",
 * "signatures","attestations":[...],"error"}.  Exit 0 verified, 3 a check
 * failed (the reason on stderr, and in "error"), 1 it could not be checked,
 * 2 usage. */
#include "config.h"
#include "core.h"
#include "verify.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <temper/sigstore.h>
#include "../sdk/host.h"

#define VERIFY_USAGE                                                                               \
    "usage: temper verify --key PUB [--json] [--plain-http] [--ca-file PEM]\n"                     \
    "                     [--docker-config FILE] [--credentials-file FILE] REF\n"                  \
    "  REF: oci:DIR[:TAG], docker://HOST/REPO:TAG, HOST/REPO:TAG, HOST/REPO@sha256:HEX\n"
#define KEY_MAX (64 * 1024)
#define TREE_MAX_DEPTH 4

struct verify_args {
    const char *key, *ref;
    int json;
    struct verify_registry_opts reg;
};

static int parse_args(int argc, char **argv, struct verify_args *a)
{
    static const struct option opts[] = {
        { "key", required_argument, NULL, 'k' },
        { "json", no_argument, NULL, 'j' },
        { "plain-http", no_argument, NULL, 'H' },
        { "ca-file", required_argument, NULL, 'C' },
        { "docker-config", required_argument, NULL, 'D' },
        { "credentials-file", required_argument, NULL, 'F' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "k:j", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            a->key = optarg;
            break;
        case 'j':
            a->json = 1;
            break;
        case 'H':
            a->reg.plain_http = true;
            break;
        case 'C':
            a->reg.ca_file = optarg;
            break;
        case 'D':
            a->reg.docker_config = optarg;
            break;
        case 'F':
            a->reg.credentials_file = optarg;
            break;
        default:
            return -1;
        }
    }
    if (!a->key || optind != argc - 1) {
        return -1;
    }
    a->ref = argv[optind];
    return 0;
}

static char *read_key(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    char *buf = NULL;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > KEY_MAX) {
        fprintf(stderr, "temper: verify: cannot read key %s: %s\n", path,
                fd < 0 ? strerror(errno) : "not a regular file of at most 64 KiB");
        goto out;
    }
    buf = calloc(1, (size_t)sb.st_size + 1);
    size_t n = 0;
    while (buf && n < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)sb.st_size - n);
        if (r <= 0 && !(r < 0 && errno == EINTR)) {
            break;
        }
        n += r > 0 ? (size_t)r : 0;
    }
    if (buf && n != (size_t)sb.st_size) {
        fprintf(stderr, "temper: verify: cannot read key %s\n", path);
        TEMPER_FREE(buf);
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    return buf;
}

/* Every blob of the image matches its digest; a mismatch is a verdict. */
static int check_tree(struct temper_stage *st, const struct temper_oci_layout *l,
                      const struct temper_oci_descriptor *d, int depth, char **failure)
{
    int rc = temper_oci_blob_verify(st, l, d);
    if (rc == TEMPER_ECRYPTO || rc == TEMPER_EFORMAT || rc == TEMPER_ENOTFOUND) {
        *failure = temper_strdupf("image blob %s: %s", d->digest, temper_rc_str(rc));
        return *failure ? TEMPER_OK : TEMPER_ENOMEM;
    }
    const char *mt = d->media_type ? d->media_type : "";
    if (rc != TEMPER_OK || depth > TREE_MAX_DEPTH) {
        return rc;
    }
    if (temper_oci_is_index_type(mt)) {
        struct temper_oci_index x;
        memset(&x, 0, sizeof x);
        rc = temper_oci_read_index(st, l, d, &x);
        for (size_t i = 0; rc == TEMPER_OK && !*failure && i < x.n_manifests; i++) {
            rc = check_tree(st, l, &x.manifests[i], depth + 1, failure);
        }
        temper_oci_index_cleanup(&x);
    } else if (strcmp(mt, TEMPER_OCI_MT_MANIFEST) == 0 ||
               strcmp(mt, TEMPER_DOCKER_MT_MANIFEST) == 0) {
        struct temper_oci_manifest m;
        memset(&m, 0, sizeof m);
        rc = temper_oci_read_manifest(st, l, d, &m);
        if (rc == TEMPER_OK) {
            rc = check_tree(st, l, &m.config, depth + 1, failure);
        }
        for (size_t i = 0; rc == TEMPER_OK && !*failure && i < m.n_layers; i++) {
            rc = check_tree(st, l, &m.layers[i], depth + 1, failure);
        }
        temper_oci_manifest_cleanup(&m);
    }
    return rc;
}

static int verify_layout(struct temper_stage *st, const char *ref, const char *pem,
                         struct verify_out *o)
{
    struct temper_oci_layout *l = NULL;
    struct temper_oci_descriptor img;
    /* by digest, by tag, or the only image (temper_oci_layout_open_ref);
     * a malformed reference or a layout of several images is a usage error */
    int rc = temper_oci_layout_open_ref(st, ref, 0, &l, &img);
    int code = rc == TEMPER_OK       ? TEMPER_EXIT_OK
               : rc == TEMPER_EINVAL ? TEMPER_EXIT_USAGE
                                     : TEMPER_EXIT_FAIL;
    if (code == TEMPER_EXIT_OK) {
        memcpy(o->digest, img.digest, sizeof img.digest);
    }
    if (code == TEMPER_EXIT_OK && check_tree(st, l, &img, 0, &o->failure) == TEMPER_OK) {
        struct temper_sigstore_fetch f;
        temper_sigstore_layout_fetch(l, &f);
        code = temper_sigstore_verify(st, pem, o->digest, &f, &o->verdict, &o->rep) == TEMPER_OK
                   ? TEMPER_EXIT_OK
                   : TEMPER_EXIT_FAIL;
    } else if (code == TEMPER_EXIT_OK) {
        code = TEMPER_EXIT_FAIL;
    }
    temper_oci_descriptor_cleanup(&img);
    temper_oci_layout_free(l);
    return code;
}

static void print_json(const struct verify_args *a, const struct verify_out *o, const char *err)
{
    json_object *j = json_object_new_object();
    json_object *atts = json_object_new_array();
    json_object_object_add(j, "reference", json_object_new_string(a->ref));
    json_object_object_add(j, "digest", json_object_new_string(o->digest));
    json_object_object_add(j, "verified", json_object_new_boolean(!err));
    json_object_object_add(j, "key_id", json_object_new_string(o->rep.key_id));
    json_object_object_add(j, "algorithm",
                           o->rep.algorithm ? json_object_new_string(o->rep.algorithm) : NULL);
    json_object_object_add(j, "signatures", json_object_new_int64((int64_t)o->rep.n_signatures));
    for (size_t i = 0; i < o->rep.n_attestations; i++) {
        json_object_array_add(atts, json_object_new_string(o->rep.predicate_types[i]));
    }
    json_object_object_add(j, "attestations", atts);
    json_object_object_add(j, "error", err ? json_object_new_string(err) : NULL);
    puts(
        json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
}

static int report(const struct verify_args *a, const struct verify_out *o)
{
    const char *err = o->failure ? o->failure
                      : o->verdict != TEMPER_VERDICT_PASS
                          ? (o->rep.failure ? o->rep.failure : "not verified")
                          : NULL;
    if (a->json) {
        print_json(a, o, err);
    }
    if (err) {
        fprintf(stderr, "temper: verify %s: verification failed: %s\n", a->ref, err);
        return TEMPER_EXIT_VERDICT;
    }
    if (!a->json) {
        printf("verified %s\n  image        %s\n  signature    %zu by key %s (%s)\n", a->ref,
               o->digest, o->rep.n_signatures, o->rep.key_id, o->rep.algorithm);
        for (size_t i = 0; i < o->rep.n_attestations; i++) {
            printf("  attestation  %s\n", o->rep.predicate_types[i]);
        }
        if (o->rep.n_attestations == 0) {
            printf("  attestation  (none)\n");
        }
    }
    return TEMPER_EXIT_OK;
}

int cmd_verify(int argc, char **argv)
{
    struct verify_args a;
    struct verify_out o;
    memset(&a, 0, sizeof a);
    memset(&o, 0, sizeof o);
    if (parse_args(argc, argv, &a) != 0) {
        fputs(VERIFY_USAGE, stderr);
        return TEMPER_EXIT_USAGE;
    }
    int layout = strncmp(a.ref, "oci:", 4) == 0;
    if (!layout && !temper_verify_registry_available()) {
        return temper_verify_registry(NULL, a.ref, NULL, &a.reg, &o); /* says why not */
    }
    char *pem = read_key(a.key);
    struct temper_stage *st = temper_stage_new(NULL, "verify");
    int code = !pem || !st ? TEMPER_EXIT_FAIL
               : layout    ? verify_layout(st, a.ref, pem, &o)
                           : temper_verify_registry(st, a.ref, pem, &a.reg, &o);
    if (code == TEMPER_EXIT_OK) {
        code = report(&a, &o);
    }
    temper_sigstore_report_cleanup(&o.rep);
    free(o.failure);
    temper_stage_free(st);
    free(pem);
    return code;
}

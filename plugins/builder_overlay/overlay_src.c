/* temper — builder_overlay: opening the base image and the artifacts.
 *
 * A source is a manifest in an OCI image layout: the base image artifact the
 * core hands over (path = layout, digest), or a reference written in the
 * definition, `oci:DIR[:TAG]` or `oci:DIR@sha256:HEX`, or a registry
 * reference `HOST[:PORT]/REPO[:TAG|@DIGEST]`, pulled first (every blob
 * checked against its digest) into a layout in the stage's cache directory
 * through the SDK's registry client.  An image index is
 * resolved to the manifest of the build's platform.  Blobs are copied into
 * the output layout through the SDK's streaming writer, which checks their
 * digest, so a corrupted or substituted source blob is refused. */
#include "config.h"
#include "overlay_int.h"

#include <temper/registry.h>

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (256u * 1024u)

bool ov_is_tar_layer(const char *mt)
{
    static const char *const tars[] = {
        TEMPER_OCI_MT_LAYER_TAR, TEMPER_OCI_MT_LAYER_GZIP, TEMPER_OCI_MT_LAYER_ZSTD,
        TEMPER_DOCKER_MT_LAYER_GZIP, NULL,
    };
    for (size_t i = 0; mt && tars[i]; i++) {
        if (strcmp(mt, tars[i]) == 0) {
            return true;
        }
    }
    return false;
}

void ov_src_cleanup(struct ov_src *s)
{
    free(s->ref);
    temper_oci_layout_free(s->l);
    temper_oci_descriptor_cleanup(&s->desc);
    temper_oci_manifest_cleanup(&s->m);
    temper_oci_config_cleanup(&s->cfg);
    memset(s, 0, sizeof *s);
}

static bool platform_match(const struct temper_oci_platform *p, const char *want)
{
    if (!p || !p->os || !p->architecture) {
        return false;
    }
    char buf[128];
    int n = p->variant ? snprintf(buf, sizeof buf, "%s/%s/%s", p->os, p->architecture,
                                  p->variant)
                       : snprintf(buf, sizeof buf, "%s/%s", p->os, p->architecture);
    if (n < 0 || (size_t)n >= sizeof buf) {
        return false;
    }
    size_t wl = strlen(want);
    /* "linux/arm64" matches "linux/arm64/v8" */
    return strcmp(buf, want) == 0 || (strncmp(buf, want, wl) == 0 && buf[wl] == '/');
}

/* desc names an index: replace it with the manifest for `platform`. */
static int pick_platform(struct temper_stage *st, struct ov_src *s, const char *platform)
{
    struct temper_oci_index x;
    memset(&x, 0, sizeof x);
    int rc = temper_oci_read_index(st, s->l, &s->desc, &x);
    const struct temper_oci_descriptor *hit = NULL;
    for (size_t i = 0; rc == TEMPER_OK && i < x.n_manifests; i++) {
        if (platform_match(x.manifests[i].platform, platform)) {
            hit = &x.manifests[i];
            break;
        }
    }
    if (rc == TEMPER_OK && !hit) {
        rc = temper_fail(st, TEMPER_ENOTFOUND, "%s: no manifest for platform %s in its index",
                         s->ref, platform);
    }
    if (rc == TEMPER_OK) {
        struct temper_oci_descriptor d;
        memset(&d, 0, sizeof d);
        rc = temper_oci_descriptor_copy(&d, hit);
        if (rc == TEMPER_OK) {
            temper_oci_descriptor_cleanup(&s->desc);
            s->desc = d;
        }
    }
    temper_oci_index_cleanup(&x);
    return rc;
}

/* With s->l open and s->desc set: resolve the platform, read the manifest
 * and, when it is an image, its config. */
static int load_manifest(struct temper_stage *st, struct ov_src *s, const char *platform)
{
    int rc = TEMPER_OK;
    if (temper_oci_is_index_type(s->desc.media_type)) {
        rc = pick_platform(st, s, platform);
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_read_manifest(st, s->l, &s->desc, &s->m);
    }
    const char *cmt = s->m.config.media_type;
    s->is_image = rc == TEMPER_OK && cmt &&
                  (strcmp(cmt, TEMPER_OCI_MT_CONFIG) == 0 ||
                   strcmp(cmt, TEMPER_DOCKER_MT_CONFIG) == 0);
    if (s->is_image) {
        rc = temper_oci_read_config(st, s->l, &s->m.config, &s->cfg);
        if (rc == TEMPER_OK && s->cfg.diff_ids.n != s->m.n_layers) {
            rc = temper_fail(st, TEMPER_EFORMAT, "%s: config lists %zu diff_ids for %zu layers",
                             s->ref, s->cfg.diff_ids.n, s->m.n_layers);
        }
    }
    return rc;
}

/* Find `sel` ("@sha256:...") in the layout's index.json (references written
 * by a definition go through temper_oci_layout_open_ref). */
static int find_entry(struct temper_stage *st, struct ov_src *s, const char *sel)
{
    const struct temper_oci_index *x = temper_oci_layout_index(s->l);
    const struct temper_oci_descriptor *d = NULL;
    for (size_t i = 0; x && i < x->n_manifests && !d; i++) {
        d = strcmp(x->manifests[i].digest, sel + 1) == 0 ? &x->manifests[i] : NULL;
    }
    return d ? temper_oci_descriptor_copy(&s->desc, d)
             : temper_fail(st, TEMPER_ENOTFOUND, "%s: no manifest %s in index.json", s->ref,
                           sel + 1);
}

/* Pull a registry reference into <cache>/pulled; *layout_ref = "oci:DIR:NAME". */
static int pull_ref(struct temper_stage *st, const struct ov_conf *c, const char *ref,
                    char **layout_ref)
{
    struct temper_registry_ref rr;
    if (temper_registry_ref_parse(ref, &rr) != TEMPER_OK) {
        return temper_fail(st, TEMPER_EINVAL, "%s: not oci:DIR[:TAG] nor HOST/REPO[:TAG]", ref);
    }
    struct temper_registry_opts o;
    temper_registry_opts_init(&o);
    o.plain_http = c->plain_http;
    o.ca_file = c->ca_file;
    o.credentials_file = c->credentials_file;
    o.docker_config = c->docker_config;
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    char *dir = temper_strdupf("%s/pulled", temper_stage_cachedir(st));
    struct temper_oci_layout *l = NULL;
    struct temper_registry *r = NULL;
    int rc = dir ? temper_sha256_hex(ref, strlen(ref), hex) : TEMPER_ENOMEM;
    char name[32];
    snprintf(name, sizeof name, "pull-%.16s", hex);
    rc = rc == TEMPER_OK ? temper_oci_layout_create(st, dir, &l) : rc;
    rc = rc == TEMPER_OK ? temper_registry_new(st, rr.host, &o, &r) : rc;
    rc = rc == TEMPER_OK ? temper_registry_pull(r, rr.repo, rr.digest[0] ? rr.digest : rr.tag,
                                                l, name, NULL)
                         : rc;
    if (rc == TEMPER_OK) {
        *layout_ref = temper_strdupf("oci:%s:%s", dir, name);
        rc = *layout_ref ? TEMPER_OK : TEMPER_ENOMEM;
    }
    temper_registry_free(r);
    temper_oci_layout_free(l);
    free(dir);
    return rc;
}

int ov_src_open_ref(struct temper_stage *st, const struct ov_conf *c, const char *ref,
                    const char *platform, struct ov_src *out)
{
    memset(out, 0, sizeof *out);
    if (strncmp(ref, "oci:", 4) != 0 || !ref[4]) {
        char *local = NULL;
        int rc = pull_ref(st, c, ref, &local);
        rc = rc == TEMPER_OK ? ov_src_open_ref(st, c, local, platform, out) : rc;
        free(local);
        if (rc == TEMPER_OK) {
            char *name = strdup(ref); /* messages name what the definition wrote */
            if (name) {
                free(out->ref);
                out->ref = name;
            }
        }
        return rc;
    }
    out->ref = strdup(ref);
    int rc = out->ref ? temper_oci_layout_open_ref(st, ref, 0, &out->l, &out->desc)
                      : temper_fail(st, TEMPER_ENOMEM, "out of memory");
    if (rc == TEMPER_OK) {
        rc = load_manifest(st, out, platform);
    }
    if (rc != TEMPER_OK) {
        ov_src_cleanup(out);
    }
    return rc;
}

int ov_src_open_artifact(struct temper_stage *st, const struct temper_artifact *a,
                         const char *platform, struct ov_src *out)
{
    memset(out, 0, sizeof *out);
    const char *path = temper_artifact_path(a);
    const char *digest = temper_artifact_get(a, TEMPER_ATTR_DIGEST);
    if (!path || !digest) {
        return temper_fail(st, TEMPER_EINVAL, "base image %s has no layout or digest",
                           temper_artifact_name(a));
    }
    out->ref = temper_strdupf("oci:%s@%s", path, digest);
    int rc = out->ref ? temper_oci_layout_open(st, path, &out->l) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        char sel[TEMPER_DIGEST_STR_LEN + 1];
        int n = snprintf(sel, sizeof sel, "@%s", digest);
        rc = n > 0 && (size_t)n < sizeof sel ? find_entry(st, out, sel)
                                             : temper_fail(st, TEMPER_EINVAL, "bad digest");
    }
    if (rc == TEMPER_OK) {
        rc = load_manifest(st, out, platform);
    }
    if (rc != TEMPER_OK) {
        ov_src_cleanup(out);
    }
    return rc;
}

int ov_blob_copy(struct temper_stage *st, const struct ov_src *src,
                 struct temper_oci_layout *dst, const struct temper_oci_descriptor *d)
{
    char *from = temper_oci_blob_path(src->l, d->digest);
    char *to = temper_oci_blob_path(dst, d->digest);
    struct stat sb;
    if (to && stat(to, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == d->size) {
        free(from);
        free(to);
        return TEMPER_OK; /* written by an earlier build into this layout */
    }
    free(to);
    struct temper_oci_blob_writer *w = NULL;
    unsigned char *buf = malloc(COPY_CHUNK);
    int fd = from ? open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
    int rc = buf && from ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "out of memory");
    if (rc == TEMPER_OK && fd < 0) {
        rc = temper_fail(st, TEMPER_EIO, "%s: blob %s: %s", src->ref, d->digest,
                         strerror(errno));
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_blob_writer_new(st, dst, &w);
    }
    long long total = 0;
    while (rc == TEMPER_OK) {
        ssize_t n = read(fd, buf, COPY_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = temper_fail(st, TEMPER_EIO, "%s: reading %s: %s", src->ref, d->digest,
                             strerror(errno));
        } else if (n == 0) {
            break;
        } else if ((total += n) > d->size) {
            rc = temper_fail(st, TEMPER_ECRYPTO, "%s: blob %s is larger than its descriptor",
                             src->ref, d->digest);
        } else {
            rc = temper_oci_blob_writer_write(w, buf, (size_t)n);
        }
    }
    if (rc == TEMPER_OK) {
        char got[TEMPER_DIGEST_STR_LEN];
        long long size = 0;
        rc = temper_oci_blob_writer_commit(w, d->digest, got, &size);
    }
    temper_oci_blob_writer_free(w);
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    free(from);
    return rc;
}

/* sha256 of the uncompressed stream of a layer blob. */
static int hash_uncompressed(struct temper_stage *st, const char *ref, const char *path,
                             char out[TEMPER_DIGEST_STR_LEN])
{
    struct archive *a = archive_read_new();
    struct temper_sha256 *h = temper_sha256_new();
    int rc = a && h ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "out of memory");
    if (rc == TEMPER_OK) {
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        struct archive_entry *e = NULL;
        if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK ||
            archive_read_next_header(a, &e) != ARCHIVE_OK) {
            rc = temper_fail(st, TEMPER_EFORMAT, "%s: layer %s: %s", ref, path,
                             archive_error_string(a) ? archive_error_string(a) : "unreadable");
        }
    }
    char chunk[64 * 1024];
    while (rc == TEMPER_OK) {
        la_ssize_t n = archive_read_data(a, chunk, sizeof chunk);
        if (n < 0) {
            rc = temper_fail(st, TEMPER_EFORMAT, "%s: layer %s: %s", ref, path,
                             archive_error_string(a) ? archive_error_string(a) : "bad data");
        } else if (n == 0) {
            break;
        } else {
            temper_sha256_update(h, chunk, (size_t)n);
        }
    }
    if (rc == TEMPER_OK) {
        unsigned char dig[TEMPER_SHA256_LEN];
        char hex[TEMPER_SHA256_HEX_LEN + 1];
        temper_sha256_final(h, dig, hex);
        int k = snprintf(out, TEMPER_DIGEST_STR_LEN, "sha256:%s", hex);
        rc = k == 71 ? TEMPER_OK : temper_fail(st, TEMPER_ECRYPTO, "%s: hashing failed", ref);
    }
    temper_sha256_free(h);
    if (a) {
        archive_read_free(a);
    }
    return rc;
}

int ov_diff_id(struct temper_stage *st, const struct ov_src *src,
               const struct temper_oci_descriptor *d, char out[TEMPER_DIGEST_STR_LEN])
{
    for (size_t i = 0; src->is_image && i < src->m.n_layers; i++) {
        if (strcmp(src->m.layers[i].digest, d->digest) == 0 &&
            temper_oci_digest_valid(src->cfg.diff_ids.v[i])) {
            snprintf(out, TEMPER_DIGEST_STR_LEN, "%s", src->cfg.diff_ids.v[i]);
            return TEMPER_OK;
        }
    }
    if (strcmp(d->media_type, TEMPER_OCI_MT_LAYER_TAR) == 0) {
        snprintf(out, TEMPER_DIGEST_STR_LEN, "%s", d->digest);
        return TEMPER_OK;
    }
    char *path = temper_oci_blob_path(src->l, d->digest);
    int rc = path ? hash_uncompressed(st, src->ref, path, out) : TEMPER_ENOMEM;
    free(path);
    return rc;
}

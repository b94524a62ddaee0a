/* temper — copying a whole image from one OCI layout to another, and
 * finding an image's descriptor by digest (see the end of
 * include/temper/oci.h). */
#include "config.h"
#include "oci_int.h"

#include <temper/json.h>
#include <json-c/json.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_MAX_DEPTH 4
#define COPY_CHUNK (256u * 1024)

/* 1 when dst already holds the blob (a regular file of the right size);
 * its content is checked by the caller. */
static int dst_has(const struct temper_oci_layout *dst, const struct temper_oci_descriptor *d)
{
    struct stat sb;
    return fstatat(oci_layout_blobfd(dst), d->digest + 7, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(sb.st_mode) && sb.st_size == d->size;
}

static int stream_copy(struct temper_stage *st, struct temper_oci_layout *dst, int fd,
                       const struct temper_oci_descriptor *d)
{
    struct temper_oci_blob_writer *w = NULL;
    char *buf = malloc(COPY_CHUNK);
    int rc = buf ? temper_oci_blob_writer_new(st, dst, &w) : TEMPER_ENOMEM;
    while (rc == TEMPER_OK) {
        ssize_t n = read(fd, buf, COPY_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = temper_fail(st, TEMPER_EIO, "cannot read blob %s: %s", d->digest, strerror(errno));
        } else if (n == 0) {
            break;
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
    free(buf);
    return rc;
}

/* Hard link the opened source inode into dst; 1 when linked. */
static int try_link(struct temper_oci_layout *dst, int fd, const char *hex)
{
    char proc[64];
    int n = snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (n < 0 || (size_t)n >= sizeof proc) {
        return 0;
    }
    return linkat(AT_FDCWD, proc, oci_layout_blobfd(dst), hex, AT_SYMLINK_FOLLOW) == 0;
}

static int copy_blob(struct temper_stage *st, const struct temper_oci_layout *src,
                     struct temper_oci_layout *dst, const struct temper_oci_descriptor *d,
                     bool link)
{
    if (!temper_oci_digest_valid(d->digest) || d->size < 0) {
        return temper_fail(st, TEMPER_EFORMAT, "descriptor with a bad digest or size");
    }
    if (dst_has(dst, d) && temper_oci_blob_verify(NULL, dst, d) == TEMPER_OK) {
        return TEMPER_OK;
    }
    int fd = openat(oci_layout_blobfd(src), d->digest + 7, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size != d->size) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        return temper_fail(st, fd < 0 && e == ENOENT ? TEMPER_ENOTFOUND : TEMPER_EFORMAT,
                           "%s: blob %s: missing, not a regular file or not %lld bytes",
                           temper_oci_layout_path(src), d->digest, d->size);
    }
    int rc = TEMPER_OK;
    if (link && !dst_has(dst, d) && try_link(dst, fd, d->digest + 7)) {
        rc = temper_oci_blob_verify(st, dst, d);
        if (rc != TEMPER_OK) {
            unlinkat(oci_layout_blobfd(dst), d->digest + 7, 0);
        }
    } else {
        rc = stream_copy(st, dst, fd, d);
    }
    close(fd);
    return rc;
}

static int copy_tree(struct temper_stage *st, const struct temper_oci_layout *src,
                     struct temper_oci_layout *dst, const struct temper_oci_descriptor *d,
                     bool link, int depth)
{
    int rc = TEMPER_OK;
    if (depth > COPY_MAX_DEPTH) {
        return temper_fail(st, TEMPER_ELIMIT, "%s: image %s nested deeper than %d indexes",
                           temper_oci_layout_path(src), d->digest, COPY_MAX_DEPTH);
    }
    if (temper_oci_is_manifest_type(d->media_type)) {
        struct temper_oci_manifest m;
        memset(&m, 0, sizeof m);
        rc = temper_oci_read_manifest(st, src, d, &m);
        if (rc == TEMPER_OK) {
            rc = copy_blob(st, src, dst, &m.config, link);
        }
        for (size_t i = 0; rc == TEMPER_OK && i < m.n_layers; i++) {
            rc = copy_blob(st, src, dst, &m.layers[i], link);
        }
        temper_oci_manifest_cleanup(&m);
    } else if (temper_oci_is_index_type(d->media_type)) {
        struct temper_oci_index x;
        memset(&x, 0, sizeof x);
        rc = temper_oci_read_index(st, src, d, &x);
        for (size_t i = 0; rc == TEMPER_OK && i < x.n_manifests; i++) {
            rc = copy_tree(st, src, dst, &x.manifests[i], link, depth + 1);
        }
        temper_oci_index_cleanup(&x);
    }
    /* the manifest or index itself last: what points at blobs comes after them */
    return rc == TEMPER_OK ? copy_blob(st, src, dst, d, link) : rc;
}

int temper_oci_image_copy(struct temper_stage *st, const struct temper_oci_layout *src,
                          struct temper_oci_layout *dst, const struct temper_oci_descriptor *d,
                          bool link)
{
    if (!src || !dst || !d) {
        return temper_fail(st, TEMPER_EINVAL, "image copy: bad arguments");
    }
    return copy_tree(st, src, dst, d, link, 0);
}

/* The mediaType a manifest or index blob declares (an untyped one is an
 * index when it has a "manifests" member), after parsing it as that type. */
static int sniff_type(struct temper_stage *st, const struct temper_oci_layout *l,
                      struct temper_oci_descriptor *d)
{
    char *json = NULL;
    size_t len = 0;
    json_object *root = NULL;
    struct temper_oci_manifest m;
    struct temper_oci_index x;
    memset(&m, 0, sizeof m);
    memset(&x, 0, sizeof x);
    int rc = temper_oci_blob_read(st, l, d, TEMPER_OCI_MAX_JSON, &json, &len);
    rc = rc ? rc : temper_json_parse(st, d->digest, json, len, 0, 0, &root);
    const char *mt = temper_json_get_str(root, "mediaType");
    int index = mt ? temper_oci_is_index_type(mt) : temper_json_get(root, "manifests") != NULL;
    if (rc == TEMPER_OK && index) {
        rc = temper_oci_index_parse(st, d->digest, json, len, &x);
        mt = x.media_type ? x.media_type : TEMPER_OCI_MT_INDEX;
    } else if (rc == TEMPER_OK) {
        rc = temper_oci_manifest_parse(st, d->digest, json, len, &m);
        mt = m.media_type ? m.media_type : TEMPER_OCI_MT_MANIFEST;
    }
    if (rc == TEMPER_OK) {
        d->media_type = strdup(mt);
        rc = d->media_type ? TEMPER_OK : TEMPER_ENOMEM;
    }
    json_object_put(root);
    temper_oci_manifest_cleanup(&m);
    temper_oci_index_cleanup(&x);
    free(json);
    return rc;
}

int temper_oci_layout_describe(struct temper_stage *st, const struct temper_oci_layout *l,
                               const char *digest, struct temper_oci_descriptor *out)
{
    temper_oci_descriptor_cleanup(out);
    if (!digest || !temper_oci_digest_valid(digest)) {
        return temper_fail(st, TEMPER_EINVAL, "%s: '%s' is not a sha256 digest",
                           temper_oci_layout_path(l), digest ? digest : "");
    }
    const struct temper_oci_index *x = temper_oci_layout_index(l);
    for (size_t i = 0; x && i < x->n_manifests; i++) {
        if (strcmp(x->manifests[i].digest, digest) == 0) {
            int rc = temper_oci_descriptor_copy(out, &x->manifests[i]);
            if (rc == TEMPER_OK) {
                rc = temper_oci_map_set(&out->annotations, TEMPER_OCI_ANN_REF_NAME, NULL);
            }
            return rc;
        }
    }
    struct stat sb;
    if (fstatat(oci_layout_blobfd(l), digest + 7, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(sb.st_mode)) {
        return temper_fail(st, TEMPER_ENOTFOUND, "%s: no image %s", temper_oci_layout_path(l),
                           digest);
    }
    memcpy(out->digest, digest, strlen(digest) + 1);
    out->size = (long long)sb.st_size;
    int rc = sniff_type(st, l, out);
    if (rc != TEMPER_OK) {
        temper_oci_descriptor_cleanup(out);
    }
    return rc;
}

/* temper — OCI image layout: oci-layout, index.json, blobs/sha256.
 *
 * The layout keeps descriptors of its directory and of blobs/sha256; every
 * access below them uses *at() calls with O_NOFOLLOW, and a blob file name
 * is only ever built from a digest that passed temper_oci_digest_valid(). */
#include "config.h"
#include "oci_int.h"
#include <temper/buf.h>
#include <json-c/json.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAYOUT_FILE "oci-layout"
#define LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"
#define LAYOUT_MAX 4096

struct temper_oci_layout {
    char *path;
    int dirfd;
    int blobfd; /* blobs/sha256, -1 until it exists */
    struct temper_oci_index index;
};

struct temper_oci_blob_writer {
    struct temper_stage *st;
    struct temper_oci_layout *l;
    int fd;
    char tmp[64];
    struct temper_sha256 *hash;
    long long size;
};

int oci_layout_blobfd(const struct temper_oci_layout *l)
{
    return l->blobfd;
}

const char *temper_oci_layout_path(const struct temper_oci_layout *l)
{
    return l ? l->path : NULL;
}

const struct temper_oci_index *temper_oci_layout_index(const struct temper_oci_layout *l)
{
    return l ? &l->index : NULL;
}

void temper_oci_layout_free(struct temper_oci_layout *l)
{
    if (!l) {
        return;
    }
    if (l->dirfd >= 0) {
        close(l->dirfd);
    }
    if (l->blobfd >= 0) {
        close(l->blobfd);
    }
    temper_oci_index_cleanup(&l->index);
    free(l->path);
    free(l);
}

/* Open (and with `create`, make) blobs/sha256. */
static int open_blobs(struct temper_stage *st, struct temper_oci_layout *l, bool create)
{
    if (l->blobfd >= 0) {
        return TEMPER_OK;
    }
    if (create && mkdirat(l->dirfd, "blobs", 0755) != 0 && errno != EEXIST) {
        return temper_fail(st, TEMPER_EIO, "%s/blobs: cannot create: %s", l->path,
                           strerror(errno));
    }
    int bfd = openat(l->dirfd, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (bfd < 0) {
        return temper_fail(st, TEMPER_EFORMAT, "%s/blobs: not a directory: %s", l->path,
                           strerror(errno));
    }
    if (create && mkdirat(bfd, "sha256", 0755) != 0 && errno != EEXIST) {
        int e = errno;
        close(bfd);
        return temper_fail(st, TEMPER_EIO, "%s/blobs/sha256: cannot create: %s", l->path,
                           strerror(e));
    }
    l->blobfd = openat(bfd, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(bfd);
    if (l->blobfd < 0 && (create || e != ENOENT)) {
        return temper_fail(st, TEMPER_EFORMAT, "%s/blobs/sha256: not a directory: %s",
                           l->path, strerror(e));
    }
    return TEMPER_OK;
}

static int check_layout_file(struct temper_stage *st, struct temper_oci_layout *l)
{
    char label[4200];
    snprintf(label, sizeof label, "%s/" LAYOUT_FILE, l->path);
    char *data = NULL;
    size_t len = 0;
    struct json_object *o = NULL, *v = NULL;
    int rc = oci_read_small(st, l->dirfd, LAYOUT_FILE, label, LAYOUT_MAX, &data, &len);
    if (rc == TEMPER_OK) {
        rc = oci_json_load(st, label, data, len, &o);
    }
    if (rc == TEMPER_OK && (!json_object_object_get_ex(o, "imageLayoutVersion", &v) ||
                            !json_object_is_type(v, json_type_string) ||
                            strcmp(json_object_get_string(v), "1.0.0") != 0)) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: imageLayoutVersion is not \"1.0.0\"", label);
    }
    json_object_put(o);
    free(data);
    return rc;
}

static int load_index(struct temper_stage *st, struct temper_oci_layout *l)
{
    char label[4200];
    snprintf(label, sizeof label, "%s/index.json", l->path);
    char *data = NULL;
    size_t len = 0;
    int rc = oci_read_small(st, l->dirfd, "index.json", label, TEMPER_OCI_MAX_JSON, &data,
                            &len);
    if (rc == TEMPER_OK) {
        rc = temper_oci_index_parse(st, label, data, len, &l->index);
    }
    free(data);
    return rc;
}

int temper_oci_layout_open(struct temper_stage *st, const char *dir,
                           struct temper_oci_layout **out)
{
    *out = NULL;
    struct temper_oci_layout *l = calloc(1, sizeof *l);
    if (l) {
        l->path = strdup(dir);
    }
    if (!l || !l->path) {
        free(l);
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", dir);
    }
    l->blobfd = -1;
    l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = TEMPER_OK;
    if (l->dirfd < 0) {
        int e = errno;
        rc = temper_fail(st, e == ENOENT ? TEMPER_ENOTFOUND : TEMPER_EIO,
                         "%s: cannot open the OCI layout: %s", dir, strerror(e));
    }
    if (rc == TEMPER_OK) {
        rc = check_layout_file(st, l);
    }
    if (rc == TEMPER_OK) {
        rc = open_blobs(st, l, false);
    }
    if (rc == TEMPER_OK) {
        rc = load_index(st, l);
    }
    if (rc != TEMPER_OK) {
        temper_oci_layout_free(l);
        return rc;
    }
    *out = l;
    return TEMPER_OK;
}

int temper_oci_layout_create(struct temper_stage *st, const char *dir,
                             struct temper_oci_layout **out)
{
    *out = NULL;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        return temper_fail(st, TEMPER_EIO, "%s: cannot create: %s", dir, strerror(errno));
    }
    struct temper_oci_layout tmp = { .path = (char *)(uintptr_t)dir, .blobfd = -1 };
    tmp.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tmp.dirfd < 0) {
        return temper_fail(st, TEMPER_EIO, "%s: cannot open: %s", dir, strerror(errno));
    }
    int rc = open_blobs(st, &tmp, true);
    struct stat sb;
    if (rc == TEMPER_OK && fstatat(tmp.dirfd, LAYOUT_FILE, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        rc = oci_replace_file(st, tmp.dirfd, LAYOUT_FILE, dir, LAYOUT_JSON,
                              strlen(LAYOUT_JSON));
    }
    if (rc == TEMPER_OK && fstatat(tmp.dirfd, "index.json", &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        struct temper_oci_index empty = { 0 };
        rc = temper_oci_layout_write_index(st, &tmp, &empty);
    }
    close(tmp.dirfd);
    if (tmp.blobfd >= 0) {
        close(tmp.blobfd);
    }
    temper_oci_index_cleanup(&tmp.index);
    return rc == TEMPER_OK ? temper_oci_layout_open(st, dir, out) : rc;
}

/* Deep copy of x into l->index. */
static int keep_index(struct temper_oci_layout *l, const struct temper_oci_index *x)
{
    struct temper_oci_index c = { .schema_version = 2 };
    int rc = oci_strdup(&c.media_type, x->media_type);
    if (rc == TEMPER_OK) {
        rc = oci_strdup(&c.artifact_type, x->artifact_type);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < x->n_manifests; i++) {
        rc = temper_oci_index_add(&c, &x->manifests[i]);
    }
    if (rc == TEMPER_OK && x->subject) {
        c.subject = calloc(1, sizeof *c.subject);
        rc = c.subject ? temper_oci_descriptor_copy(c.subject, x->subject) : TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK) {
        rc = oci_map_copy(&c.annotations, &x->annotations);
    }
    if (rc != TEMPER_OK) {
        temper_oci_index_cleanup(&c);
        return rc;
    }
    temper_oci_index_cleanup(&l->index);
    l->index = c;
    return TEMPER_OK;
}

int temper_oci_layout_write_index(struct temper_stage *st, struct temper_oci_layout *l,
                                  const struct temper_oci_index *x)
{
    char label[4200];
    snprintf(label, sizeof label, "%s/index.json", l->path);
    char *json = NULL;
    size_t len = 0;
    int rc = temper_oci_index_json(st, x, &json, &len);
    if (rc == TEMPER_OK) {
        rc = oci_replace_file(st, l->dirfd, "index.json", label, json, len);
    }
    free(json);
    if (rc == TEMPER_OK && x != &l->index) {
        rc = keep_index(l, x);
        if (rc != TEMPER_OK) {
            temper_fail(st, rc, "%s: out of memory", label);
        }
    }
    return rc;
}

static int index_retag(struct temper_oci_index *x, const struct temper_oci_descriptor *d,
                       const char *ref)
{
    size_t j = 0;
    for (size_t i = 0; i < x->n_manifests; i++) {
        const char *r = temper_oci_map_get(&x->manifests[i].annotations,
                                           TEMPER_OCI_ANN_REF_NAME);
        if (r && strcmp(r, ref) == 0) {
            temper_oci_descriptor_cleanup(&x->manifests[i]);
        } else {
            x->manifests[j++] = x->manifests[i];
        }
    }
    x->n_manifests = j;
    int rc = temper_oci_index_add(x, d);
    if (rc == TEMPER_OK) {
        rc = temper_oci_map_set(&x->manifests[x->n_manifests - 1].annotations,
                                TEMPER_OCI_ANN_REF_NAME, ref);
    }
    return rc;
}

int temper_oci_layout_tag(struct temper_stage *st, struct temper_oci_layout *l,
                          const struct temper_oci_descriptor *d, const char *ref)
{
    if (!temper_oci_ref_valid(ref)) {
        return temper_fail(st, TEMPER_EINVAL, "%s: invalid reference name", l->path);
    }
    if (!temper_oci_digest_valid(d->digest) || !d->media_type) {
        return temper_fail(st, TEMPER_EINVAL, "%s: tag %s: invalid descriptor", l->path, ref);
    }
    if (flock(l->dirfd, LOCK_EX) != 0) {
        return temper_fail(st, TEMPER_EIO, "%s: cannot lock: %s", l->path, strerror(errno));
    }
    int rc = load_index(st, l);
    if (rc == TEMPER_OK) {
        rc = index_retag(&l->index, d, ref);
        if (rc != TEMPER_OK) {
            temper_fail(st, rc, "%s: tag %s: %s", l->path, ref, temper_rc_str(rc));
        }
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_layout_write_index(st, l, &l->index);
    }
    (void)flock(l->dirfd, LOCK_UN);
    return rc;
}

int temper_oci_layout_find(struct temper_stage *st, const struct temper_oci_layout *l,
                           const char *ref, const struct temper_oci_descriptor **out)
{
    *out = NULL;
    for (size_t i = 0; ref && i < l->index.n_manifests; i++) {
        const char *r = temper_oci_map_get(&l->index.manifests[i].annotations,
                                           TEMPER_OCI_ANN_REF_NAME);
        if (r && strcmp(r, ref) == 0) {
            *out = &l->index.manifests[i];
            return TEMPER_OK;
        }
    }
    return temper_fail(st, TEMPER_ENOTFOUND, "%s: no image named %s in index.json", l->path,
                       ref ? ref : "(null)");
}

char *temper_oci_blob_path(const struct temper_oci_layout *l, const char *digest)
{
    if (!l || !temper_oci_digest_valid(digest)) {
        return NULL;
    }
    size_t n = strlen(l->path) + sizeof "/blobs/sha256/" + TEMPER_SHA256_HEX_LEN;
    char *p = malloc(n);
    if (p && snprintf(p, n, "%s/blobs/sha256/%s", l->path, digest + 7) >= (int)n) {
        TEMPER_FREE(p);
    }
    return p;
}

/* 1 when blob `hex` exists as a regular file with that content. */
static int blob_is_good(int blobfd, const char *digest)
{
    int fd = openat(blobfd, digest + 7, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    struct stat sb;
    char got[TEMPER_DIGEST_STR_LEN];
    int good = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
               oci_hash_fd(fd, got, NULL) == TEMPER_OK && strcmp(got, digest) == 0;
    close(fd);
    return good;
}

int oci_blob_commit(struct temper_stage *st, struct temper_oci_layout *l, const char *tmp,
                    const char *digest)
{
    if (blob_is_good(l->blobfd, digest)) {
        unlinkat(l->blobfd, tmp, 0);
        return TEMPER_OK;
    }
    if (renameat(l->blobfd, tmp, l->blobfd, digest + 7) != 0) {
        int e = errno;
        unlinkat(l->blobfd, tmp, 0);
        return temper_fail(st, TEMPER_EIO, "%s/blobs/sha256/%s: cannot store: %s", l->path,
                           digest + 7, strerror(e));
    }
    (void)fsync(l->blobfd);
    return TEMPER_OK;
}

int oci_blob_open(struct temper_stage *st, const struct temper_oci_layout *l,
                  const char *digest, int *fd, long long *size)
{
    *fd = -1;
    if (!temper_oci_digest_valid(digest)) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: invalid blob digest", l->path);
    }
    if (l->blobfd < 0) {
        return temper_fail(st, TEMPER_ENOTFOUND, "%s: blob %s is missing", l->path, digest);
    }
    int f = openat(l->blobfd, digest + 7, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (f < 0) {
        int e = errno;
        return temper_fail(st, e == ENOENT ? TEMPER_ENOTFOUND : TEMPER_EIO,
                           "%s/blobs/sha256/%s: cannot open: %s", l->path, digest + 7,
                           strerror(e));
    }
    struct stat sb;
    if (fstat(f, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(f);
        return temper_fail(st, TEMPER_EFORMAT, "%s/blobs/sha256/%s: not a regular file",
                           l->path, digest + 7);
    }
    *fd = f;
    *size = (long long)sb.st_size;
    return TEMPER_OK;
}

int temper_oci_blob_write(struct temper_stage *st, struct temper_oci_layout *l,
                          const char *media_type, const void *data, size_t len,
                          struct temper_oci_descriptor *out)
{
    char digest[TEMPER_DIGEST_STR_LEN];
    int rc = open_blobs(st, l, true);
    if (rc == TEMPER_OK && oci_digest_of(data, len, digest) != TEMPER_OK) {
        rc = temper_fail(st, TEMPER_ECRYPTO, "%s: cannot hash a blob", l->path);
    }
    if (rc == TEMPER_OK && !blob_is_good(l->blobfd, digest)) {
        char tmp[64];
        int fd = -1;
        rc = oci_tmp_create(l->blobfd, ".tmp-", tmp, &fd);
        if (rc == TEMPER_OK) {
            rc = oci_write_all(fd, data, len);
            rc = (rc == TEMPER_OK && fsync(fd) != 0) ? TEMPER_EIO : rc;
            rc = (close(fd) != 0 && rc == TEMPER_OK) ? TEMPER_EIO : rc;
        }
        if (rc != TEMPER_OK) {
            int e = errno;
            if (fd >= 0) {
                unlinkat(l->blobfd, tmp, 0);
            }
            return temper_fail(st, rc, "%s/blobs/sha256: cannot write a blob: %s", l->path,
                               strerror(e));
        }
        rc = oci_blob_commit(st, l, tmp, digest);
    }
    if (rc == TEMPER_OK && out) {
        temper_oci_descriptor_cleanup(out);
        memcpy(out->digest, digest, sizeof digest);
        out->size = (long long)len;
        if (oci_strdup(&out->media_type, media_type) != TEMPER_OK) {
            rc = temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", l->path);
        }
    }
    return rc;
}

static int check_size(struct temper_stage *st, const struct temper_oci_layout *l,
                      const struct temper_oci_descriptor *d, long long got)
{
    if (got != d->size) {
        return temper_fail(st, TEMPER_ECRYPTO,
                           "%s/blobs/sha256/%s: size %lld differs from the descriptor's %lld",
                           l->path, d->digest + 7, got, d->size);
    }
    return TEMPER_OK;
}

static int check_digest(struct temper_stage *st, const struct temper_oci_layout *l,
                        const struct temper_oci_descriptor *d, const char *got)
{
    if (strcmp(got, d->digest) != 0) {
        return temper_fail(st, TEMPER_ECRYPTO, "%s/blobs/sha256/%s: content has digest %s",
                           l->path, d->digest + 7, got);
    }
    return TEMPER_OK;
}

/* Open the blob of d and check its size on disk. */
static int open_sized(struct temper_stage *st, const struct temper_oci_layout *l,
                      const struct temper_oci_descriptor *d, int *fd)
{
    long long disk = 0;
    int rc = oci_blob_open(st, l, d->digest, fd, &disk);
    if (rc == TEMPER_OK) {
        rc = check_size(st, l, d, disk);
    }
    if (rc != TEMPER_OK && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

int temper_oci_blob_read(struct temper_stage *st, const struct temper_oci_layout *l,
                         const struct temper_oci_descriptor *d, size_t max, char **data,
                         size_t *len)
{
    *data = NULL;
    *len = 0;
    if (d->size < 0 || (unsigned long long)d->size > max) {
        return temper_fail(st, TEMPER_ELIMIT, "%s: blob %s: size %lld exceeds the limit of %zu",
                           l->path, d->digest, d->size, max);
    }
    int fd = -1;
    int rc = open_sized(st, l, d, &fd);
    if (rc != TEMPER_OK) {
        return rc;
    }
    char *buf = malloc((size_t)d->size + 1);
    if (!buf) {
        rc = temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", l->path);
    }
    size_t n = 0;
    while (rc == TEMPER_OK && n < (size_t)d->size) {
        ssize_t r = read(fd, buf + n, (size_t)d->size - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            rc = check_size(st, l, d, (long long)n);
            rc = rc == TEMPER_OK ? TEMPER_EIO : rc;
        } else {
            n += (size_t)r;
        }
    }
    close(fd);
    char got[TEMPER_DIGEST_STR_LEN];
    if (rc == TEMPER_OK && oci_digest_of(buf, n, got) != TEMPER_OK) {
        rc = temper_fail(st, TEMPER_ECRYPTO, "%s: cannot hash a blob", l->path);
    }
    if (rc == TEMPER_OK) {
        rc = check_digest(st, l, d, got);
    }
    if (rc != TEMPER_OK) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return TEMPER_OK;
}

int temper_oci_blob_verify(struct temper_stage *st, const struct temper_oci_layout *l,
                           const struct temper_oci_descriptor *d)
{
    int fd = -1;
    int rc = open_sized(st, l, d, &fd);
    if (rc != TEMPER_OK) {
        return rc;
    }
    char got[TEMPER_DIGEST_STR_LEN];
    long long n = 0;
    if (oci_hash_fd(fd, got, &n) != TEMPER_OK) {
        rc = temper_fail(st, TEMPER_EIO, "%s/blobs/sha256/%s: cannot read: %s", l->path,
                         d->digest + 7, strerror(errno));
    }
    close(fd);
    if (rc == TEMPER_OK) {
        rc = check_size(st, l, d, n);
    }
    return rc == TEMPER_OK ? check_digest(st, l, d, got) : rc;
}

/* ---- streaming writer ------------------------------------------------------ */

int temper_oci_blob_writer_new(struct temper_stage *st, struct temper_oci_layout *l,
                               struct temper_oci_blob_writer **out)
{
    *out = NULL;
    int rc = open_blobs(st, l, true);
    if (rc != TEMPER_OK) {
        return rc;
    }
    struct temper_oci_blob_writer *w = calloc(1, sizeof *w);
    if (w) {
        w->hash = temper_sha256_new();
    }
    if (!w || !w->hash) {
        free(w);
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", l->path);
    }
    w->st = st;
    w->l = l;
    rc = oci_tmp_create(l->blobfd, ".tmp-", w->tmp, &w->fd);
    if (rc != TEMPER_OK) {
        int e = errno;
        temper_sha256_free(w->hash);
        free(w);
        return temper_fail(st, rc, "%s/blobs/sha256: cannot create a temporary file: %s",
                           l->path, strerror(e));
    }
    *out = w;
    return TEMPER_OK;
}

int temper_oci_blob_writer_write(struct temper_oci_blob_writer *w, const void *p, size_t n)
{
    if (!w || w->fd < 0) {
        return TEMPER_EINVAL;
    }
    temper_sha256_update(w->hash, p, n);
    w->size += (long long)n;
    if (oci_write_all(w->fd, p, n) != TEMPER_OK) {
        return temper_fail(w->st, TEMPER_EIO, "%s/blobs/sha256/%s: cannot write: %s",
                           w->l->path, w->tmp, strerror(errno));
    }
    return TEMPER_OK;
}

int temper_oci_blob_writer_commit(struct temper_oci_blob_writer *w, const char *expected,
                                  char digest[TEMPER_DIGEST_STR_LEN], long long *size)
{
    if (!w || w->fd < 0) {
        return TEMPER_EINVAL;
    }
    char got[TEMPER_DIGEST_STR_LEN];
    int rc = oci_sha256_digest(w->hash, got);
    if (fsync(w->fd) != 0 || close(w->fd) != 0) {
        rc = temper_fail(w->st, TEMPER_EIO, "%s/blobs/sha256/%s: cannot write: %s",
                         w->l->path, w->tmp, strerror(errno));
    }
    w->fd = -1;
    if (rc == TEMPER_OK && expected && strcmp(expected, got) != 0) {
        rc = temper_fail(w->st, TEMPER_ECRYPTO, "%s: blob content has digest %s, expected %s",
                         w->l->path, got, temper_oci_digest_valid(expected) ? expected
                                                                           : "(invalid)");
    }
    if (rc != TEMPER_OK) {
        unlinkat(w->l->blobfd, w->tmp, 0);
        return rc;
    }
    rc = oci_blob_commit(w->st, w->l, w->tmp, got);
    if (rc == TEMPER_OK && digest) {
        memcpy(digest, got, sizeof got);
    }
    if (rc == TEMPER_OK && size) {
        *size = w->size;
    }
    return rc;
}

void temper_oci_blob_writer_free(struct temper_oci_blob_writer *w)
{
    if (!w) {
        return;
    }
    if (w->fd >= 0) {
        close(w->fd);
        unlinkat(w->l->blobfd, w->tmp, 0);
    }
    temper_sha256_free(w->hash);
    free(w);
}

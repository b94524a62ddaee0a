/* temper — builder_deb: the layer cache.  A layer depends only on the
 * packages (their SHA256), the variant, the hardening switches, what the
 * image says about itself (name, version, distribution), the compression
 * and SOURCE_DATE_EPOCH; the key hashes all of them.  A build whose key is in
 * the cache copies the layer blob (verified against its digest on the way)
 * instead of unpacking and compressing again: a rebuild with nothing
 * changed costs the index check and a copy. */
#include "config.h"
#include "deb.h"
#include <json-c/json.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_MAX (4u << 20)

static int key_harden(struct temper_buf *k, const struct temper_harden_conf *h)
{
    return temper_buf_printf(k, "harden %d%d%d%d%d%d%d%d\n%s\n%s\n%s\n%s\n", h->nonroot_user,
                             h->strip_setuid, h->fix_world_writable, h->keep_docs,
                             h->keep_locales, h->keep_shell, h->keep_package_manager,
                             h->os_release, h->vendor ? h->vendor : "",
                             h->source ? h->source : "", h->revision ? h->revision : "",
                             h->description ? h->description : "");
}

int deb_cache_key(struct deb_build *b, const struct deb_set *set, long long epoch,
                  char key[65])
{
    const struct temper_image_def *d = b->req->def;
    struct temper_buf k;
    temper_buf_init(&k, 0);
    int rc = temper_buf_printf(&k, "builder_deb %s\n%s\n%s\n%s\n%lld\n%d %d\n%s\n%s\n%s\n",
                               DEB_VERSION, b->platform, b->arch, b->req->variant, epoch,
                               b->ic->compression, b->s->conf->merged_usr, d->name,
                               d->version ? d->version : "",
                               d->distribution ? d->distribution : "");
    rc = rc == TEMPER_OK ? key_harden(&k, &b->ic->harden) : rc;
    /* on a base: its packages go into the status file, its users into passwd */
    rc = rc == TEMPER_OK && b->base ? temper_buf_printf(&k, "base %s %d\n", b->base->digest,
                                                        b->base->merged_usr)
                                    : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < set->n; i++) {
        const struct deb_pkg *p = &set->v[i];
        rc = temper_buf_printf(&k, "%s %s %s %s\n", p->name, p->version, p->arch, p->sha256);
    }
    rc = rc == TEMPER_OK ? temper_sha256_hex(k.data, k.len, key) : rc;
    temper_buf_cleanup(&k);
    return rc;
}

static char *cache_path(struct deb_build *b, const char *name, const char *ext)
{
    return temper_strdupf("%s/layers/%s%s", b->s->cache, name, ext);
}

/* Copy the cached blob into the layout through the verifying writer. */
static int blob_in(struct deb_build *b, struct temper_oci_layout *l, const char *src,
                   const char *digest)
{
    int fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return TEMPER_ENOTFOUND;
    }
    struct temper_oci_blob_writer *w = NULL;
    int rc = temper_oci_blob_writer_new(b->st, l, &w);
    char buf[1 << 16];
    while (rc == TEMPER_OK) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = n < 0 ? TEMPER_EIO : TEMPER_OK;
            break;
        }
        rc = temper_oci_blob_writer_write(w, buf, (size_t)n);
    }
    close(fd);
    char got[TEMPER_DIGEST_STR_LEN];
    long long size = 0;
    rc = rc == TEMPER_OK ? temper_oci_blob_writer_commit(w, digest, got, &size) : rc;
    temper_oci_blob_writer_free(w);
    return rc;
}

static void licenses_in(struct json_object *lic, struct deb_set *set)
{
    for (size_t i = 0; lic && i < set->n; i++) {
        const char *v = temper_json_get_str(lic, set->v[i].name);
        free(set->v[i].license);
        set->v[i].license = v ? strdup(v) : NULL;
    }
}

int deb_cache_get(struct deb_build *b, const char *key, struct temper_oci_layout *l,
                  struct deb_set *set, struct temper_oci_descriptor *desc, char *diff_id,
                  long long *epoch)
{
    char *rec = cache_path(b, key, ".json");
    struct json_object *j = NULL;
    struct stat sb;
    int rc = !rec ? TEMPER_ENOMEM
             : stat(rec, &sb) != 0 ? TEMPER_ENOTFOUND
                                  : temper_json_parse_file(NULL, rec, RECORD_MAX, 0, &j);
    const char *digest = rc == TEMPER_OK ? temper_json_get_str(j, "digest") : NULL;
    const char *mt = rc == TEMPER_OK ? temper_json_get_str(j, "media_type") : NULL;
    const char *did = rc == TEMPER_OK ? temper_json_get_str(j, "diff_id") : NULL;
    int64_t size = 0, ep = 0;
    bool ok = digest && mt && did && temper_oci_digest_valid(digest) &&
              temper_oci_digest_valid(did) &&
              temper_json_get_int64(j, "size", 0, INT64_MAX, &size) == TEMPER_OK &&
              temper_json_get_int64(j, "epoch", 0, INT64_MAX, &ep) == TEMPER_OK;
    char *blob = ok ? cache_path(b, digest + 7, ".blob") : NULL;
    rc = ok && blob ? blob_in(b, l, blob, digest) : TEMPER_ENOTFOUND;
    if (rc == TEMPER_OK) {
        temper_oci_descriptor_cleanup(desc);
        desc->media_type = strdup(mt);
        memcpy(desc->digest, digest, strlen(digest) + 1);
        desc->size = size;
        memcpy(diff_id, did, strlen(did) + 1);
        *epoch = ep;
        licenses_in(temper_json_get_object(j, "licenses"), set);
        rc = desc->media_type ? TEMPER_OK : TEMPER_ENOMEM;
    } else if (rc != TEMPER_ENOTFOUND) {
        TEMPER_LOG_WARN(b->st, "layer cache %s unusable: rebuilding", key);
        rc = TEMPER_ENOTFOUND;
    }
    json_object_put(j);
    free(blob);
    free(rec);
    return rc;
}

static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    int rc = in >= 0 && out >= 0 ? TEMPER_OK : TEMPER_EIO;
    char buf[1 << 16];
    while (rc == TEMPER_OK) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n <= 0) {
            rc = n < 0 ? TEMPER_EIO : TEMPER_OK;
            break;
        }
        rc = write(out, buf, (size_t)n) == n ? TEMPER_OK : TEMPER_EIO;
    }
    if (in >= 0) {
        close(in);
    }
    if (out >= 0 && close(out) != 0) {
        rc = TEMPER_EIO;
    }
    return rc;
}

static int record(const struct deb_set *set, const struct temper_oci_descriptor *desc,
                  const char *diff_id, long long epoch, char **out)
{
    struct json_object *j = json_object_new_object(), *lic = json_object_new_object();
    int rc = j && lic ? TEMPER_OK : TEMPER_ENOMEM;
    rc = rc == TEMPER_OK ? temper_json_add(j, "digest", json_object_new_string(desc->digest))
                         : rc;
    rc = rc == TEMPER_OK ? temper_json_add(j, "media_type",
                                           json_object_new_string(desc->media_type))
                         : rc;
    rc = rc == TEMPER_OK ? temper_json_add(j, "size", json_object_new_int64(desc->size)) : rc;
    rc = rc == TEMPER_OK ? temper_json_add(j, "diff_id", json_object_new_string(diff_id)) : rc;
    rc = rc == TEMPER_OK ? temper_json_add(j, "epoch", json_object_new_int64(epoch)) : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < set->n; i++) {
        if (set->v[i].license) {
            rc = temper_json_add(lic, set->v[i].name,
                                 json_object_new_string(set->v[i].license));
        }
    }
    if (rc == TEMPER_OK) {
        rc = temper_json_add(j, "licenses", lic);
        lic = NULL;
    }
    rc = rc == TEMPER_OK ? temper_json_canonical(j, out, NULL) : rc;
    json_object_put(lic);
    json_object_put(j);
    return rc;
}

int deb_cache_put(struct deb_build *b, const char *key, struct temper_oci_layout *l,
                  const struct deb_set *set, const struct temper_oci_descriptor *desc,
                  const char *diff_id, long long epoch)
{
    char *dir = temper_strdupf("%s/layers", b->s->cache);
    char *src = temper_oci_blob_path(l, desc->digest);
    char *dst = cache_path(b, desc->digest + 7, ".blob");
    char *rec = cache_path(b, key, ".json");
    char *tmp = rec ? temper_strdupf("%s.tmp%ld", rec, (long)getpid()) : NULL;
    char *json = NULL;
    int rc = dir && src && dst && rec && tmp ? deb_mkdirs(b->st, dir) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && link(src, dst) != 0 && errno != EEXIST) {
        rc = copy_file(src, dst);
    }
    rc = rc == TEMPER_OK ? record(set, desc, diff_id, epoch, &json) : rc;
    int fd = rc == TEMPER_OK ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    if (rc == TEMPER_OK) {
        size_t n = strlen(json);
        bool ok = fd >= 0 && write(fd, json, n) == (ssize_t)n;
        ok = fd >= 0 && close(fd) == 0 && ok;
        rc = ok && rename(tmp, rec) == 0 ? TEMPER_OK : TEMPER_EIO;
    }
    if (rc != TEMPER_OK) {
        /* the image is built; a cache that cannot be written only costs time */
        TEMPER_LOG_WARN(b->st, "cannot store the layer in the cache %s: %s",
                        dir ? dir : "", temper_rc_str(rc));
        if (tmp) {
            unlink(tmp);
        }
    }
    free(json);
    free(tmp);
    free(rec);
    free(dst);
    free(src);
    free(dir);
    return TEMPER_OK;
}

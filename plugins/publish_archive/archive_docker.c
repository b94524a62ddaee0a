/* temper — publish_archive: the docker-archive (`docker save` form).
 *
 *   <diff_id hex>/layer.tar   each layer, UNCOMPRESSED (gzip and zstd
 *                             layers are decompressed with libarchive; the
 *                             result must hash to the config's diff_id)
 *   <config hex>.json         the image config, byte for byte
 *   manifest.json             [{"Config":..,"RepoTags":[..],"Layers":[..]}]
 *
 * docker load and skopeo's docker-archive transport read this; the image
 * ID (config digest) and diff_ids stay those of the OCI image. */
#include "config.h"
#include "archive_int.h"

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAYER_MAX_BYTES (64ULL << 30)
#define CHUNK (256u * 1024)

struct layer_tmp {
    int fd;
    char path[4200];
    long long size;
};

static int tmp_create(struct temper_stage *st, struct layer_tmp *t)
{
    const char *wd = temper_stage_workdir(st);
    const char *td = getenv("TMPDIR");
    int n = snprintf(t->path, sizeof t->path, "%s/layer-XXXXXX", wd ? wd : td && *td ? td : "/tmp");
    t->fd = n > 0 && (size_t)n < sizeof t->path ? mkstemp(t->path) : -1;
    if (t->fd < 0) {
        t->path[0] = '\0';
        return temper_fail(st, TEMPER_EIO, "cannot create a temp file for a layer: %s",
                           strerror(errno));
    }
    return TEMPER_OK;
}

static void tmp_remove(struct layer_tmp *t)
{
    if (t->fd >= 0) {
        close(t->fd);
    }
    if (t->path[0]) {
        unlink(t->path);
    }
}

/* Decompress blob (any compression libarchive knows, or none) into t,
 * hashing it; the hash must be diff_id. */
static int decompress(struct temper_stage *st, const char *blob, const char *diff_id,
                      struct layer_tmp *t)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e = NULL;
    struct temper_sha256 *h = temper_sha256_new();
    char *buf = malloc(CHUNK);
    int fd = open(blob, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int rc = a && h && buf ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "out of memory");
    if (rc == TEMPER_OK && (fd < 0 || archive_read_support_filter_all(a) != ARCHIVE_OK ||
                            archive_read_support_format_raw(a) != ARCHIVE_OK ||
                            archive_read_open_fd(a, fd, CHUNK) != ARCHIVE_OK ||
                            archive_read_next_header(a, &e) != ARCHIVE_OK)) {
        rc = temper_fail(st, TEMPER_EFORMAT, "layer %s: cannot open: %s", blob,
                         fd < 0 ? strerror(errno) : archive_error_string(a));
    }
    while (rc == TEMPER_OK) {
        la_ssize_t n = archive_read_data(a, buf, CHUNK);
        if (n < 0) {
            rc = temper_fail(st, TEMPER_EFORMAT, "layer %s: %s", blob, archive_error_string(a));
        } else if (n == 0) {
            break;
        } else if ((unsigned long long)(t->size + n) > LAYER_MAX_BYTES) {
            rc = temper_fail(st, TEMPER_ELIMIT, "layer %s: over %llu bytes uncompressed", blob,
                             LAYER_MAX_BYTES);
        } else if (write(t->fd, buf, (size_t)n) != n) {
            rc = temper_fail(st, TEMPER_EIO, "layer %s: cannot write the temp file", blob);
        } else {
            temper_sha256_update(h, buf, (size_t)n);
            t->size += n;
        }
    }
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    if (rc == TEMPER_OK) {
        temper_sha256_final(h, NULL, hex);
        if (!temper_hex_equal(hex, diff_id + 7)) {
            rc = temper_fail(st, TEMPER_ECRYPTO,
                             "layer %s: uncompressed sha256:%s is not the "
                             "config's diff_id %s",
                             blob, hex, diff_id);
        }
    }
    if (rc == TEMPER_OK && lseek(t->fd, 0, SEEK_SET) != 0) {
        rc = temper_fail(st, TEMPER_EIO, "cannot rewind %s", t->path);
    }
    if (a) {
        archive_read_free(a);
    }
    if (fd >= 0) {
        close(fd);
    }
    temper_sha256_free(h);
    free(buf);
    return rc;
}

static int add_layer(struct temper_stage *st, struct pubarc_tar *w,
                     const struct temper_oci_layout *l, const struct temper_oci_descriptor *layer,
                     const char *diff_id)
{
    struct layer_tmp t = { .fd = -1 };
    char *blob = temper_oci_blob_path(l, layer->digest);
    char dir[80], name[96];
    snprintf(dir, sizeof dir, "%s/", diff_id + 7);
    snprintf(name, sizeof name, "%s/layer.tar", diff_id + 7);
    int rc = blob ? tmp_create(st, &t) : temper_fail(st, TEMPER_EFORMAT, "bad layer digest");
    rc = rc ? rc : decompress(st, blob, diff_id, &t);
    rc = rc ? rc : pubarc_tar_dir(w, dir);
    rc = rc ? rc : pubarc_tar_fd(w, name, t.fd, t.size);
    tmp_remove(&t);
    free(blob);
    return rc;
}

static char *manifest_json(const char *config_name, const char *const *repo_tags, size_t n_tags,
                           const struct temper_strlist *diff_ids)
{
    json_object *root = json_object_new_array();
    json_object *m = json_object_new_object();
    json_object *tags = json_object_new_array();
    json_object *layers = json_object_new_array();
    for (size_t i = 0; i < n_tags; i++) {
        json_object_array_add(tags, json_object_new_string(repo_tags[i]));
    }
    for (size_t i = 0; i < diff_ids->n; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s/layer.tar", diff_ids->v[i] + 7);
        json_object_array_add(layers, json_object_new_string(name));
    }
    json_object_object_add(m, "Config", json_object_new_string(config_name));
    json_object_object_add(m, "RepoTags", tags);
    json_object_object_add(m, "Layers", layers);
    json_object_array_add(root, m);
    const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = s ? strdup(s) : NULL;
    json_object_put(root);
    return out;
}

/* Each diff_id once, in order (a layer may repeat). */
static int seen_before(const struct temper_strlist *ids, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (strcmp(ids->v[j], ids->v[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

int pubarc_write_docker(struct temper_stage *st, const struct temper_oci_layout *l,
                        const struct temper_oci_descriptor *img, const char *const *repo_tags,
                        size_t n_tags, const char *path)
{
    struct temper_oci_manifest m;
    struct temper_oci_config cfg;
    struct pubarc_tar w;
    memset(&m, 0, sizeof m);
    memset(&cfg, 0, sizeof cfg);
    char *cjson = NULL, *mjson = NULL, cname[TEMPER_DIGEST_STR_LEN + 8];
    size_t clen = 0;
    int opened = 0;
    int rc = temper_oci_read_manifest(st, l, img, &m);
    rc = rc ? rc : temper_oci_blob_read(st, l, &m.config, TEMPER_OCI_MAX_JSON, &cjson, &clen);
    rc = rc ? rc : temper_oci_config_parse(st, m.config.digest, cjson, clen, &cfg);
    if (rc == TEMPER_OK && cfg.diff_ids.n != m.n_layers) {
        rc = temper_fail(st, TEMPER_EFORMAT, "image %s: %zu layers but %zu diff_ids", img->digest,
                         m.n_layers, cfg.diff_ids.n);
    }
    if (rc == TEMPER_OK) {
        snprintf(cname, sizeof cname, "%.64s.json", m.config.digest + 7);
        mjson = manifest_json(cname, repo_tags, n_tags, &cfg.diff_ids);
        rc = mjson ? pubarc_tar_open(st, path, &w) : TEMPER_ENOMEM;
        opened = rc == TEMPER_OK;
    }
    for (size_t i = 0; rc == TEMPER_OK && i < m.n_layers; i++) {
        if (!seen_before(&cfg.diff_ids, i)) {
            rc = add_layer(st, &w, l, &m.layers[i], cfg.diff_ids.v[i]);
        }
    }
    rc = rc ? rc : pubarc_tar_data(&w, cname, cjson, clen);
    rc = rc ? rc : pubarc_tar_data(&w, "manifest.json", mjson, strlen(mjson));
    if (opened) {
        rc = rc == TEMPER_OK ? pubarc_tar_commit(&w) : rc;
        pubarc_tar_abort(&w);
    }
    free(mjson);
    free(cjson);
    temper_oci_config_cleanup(&cfg);
    temper_oci_manifest_cleanup(&m);
    return rc;
}

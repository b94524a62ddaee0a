/* temper — store_sqlite: images, builds and the package index.
 *
 * build_record() keeps the package rows of the newest build (the one recorded
 * last) of each image/variant only, so images_with_package() answers "whose
 * current image contains P" from two index lookups (binary name, source
 * name; the query is in sqlite_affected.c).  The builds themselves are kept as
 * history.  A variant of NULL is a
 * variant of its own (compared with IS). */
#include "config.h"
#include "sqlite_store.h"

#include <stdlib.h>
#include <string.h>

#define IMAGE_COLS "name, base, distribution, support_until, pinned_version, last_digest"

static void image_from_row(const struct sqs_rows *r, size_t i,
                           struct temper_image_record *img)
{
    memset(img, 0, sizeof *img);
    img->size = sizeof *img;
    img->name = sqs_text(r, i, 0);
    img->base = sqs_text(r, i, 1);
    img->distribution = sqs_text(r, i, 2);
    img->support_until = sqs_int(r, i, 3);
    img->pinned_version = sqs_text(r, i, 4);
    img->last_digest = sqs_text(r, i, 5);
}

struct image_ctx {
    temper_image_fn fn;
    void *ctx;
};

static int image_row(void *ctx, const struct sqs_rows *r, size_t i)
{
    struct image_ctx *c = ctx;
    struct temper_image_record img;
    image_from_row(r, i, &img);
    return c->fn(c->ctx, &img);
}

/* ---- images ------------------------------------------------------------ */

static const char sql_image_put[] =
    "INSERT INTO images (" IMAGE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT (name) DO UPDATE SET base = excluded.base,"
    " distribution = excluded.distribution, support_until = excluded.support_until,"
    " pinned_version = excluded.pinned_version, last_digest = excluded.last_digest";

int sqs_image_put(void *sv, const struct temper_image_record *in)
{
    struct sqs_state *s = sv;
    const char *what = "cannot record an image";
    struct temper_image_record img;
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = sqs_copy_in(s, &img, sizeof img, in, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (!img.name || !img.name[0]) {
        return sqs_einval(s, what, "the image has no name");
    }
    return sqs_run(s, sql_image_put, what, "tttltt", img.name, img.base, img.distribution,
                   img.support_until, img.pinned_version, img.last_digest);
}

static const char sql_image_get[] =
    "SELECT " IMAGE_COLS " FROM images WHERE (?1 IS NULL OR name = ?1)"
    " AND name > :after ORDER BY name LIMIT :limit";

static int bind_name(sqlite3_stmt *stmt, const void *ctx)
{
    return sqs_bind(stmt, "t", (const char *)ctx);
}

/* name NULL lists every image (TEMPER_OK even when there is none); a named
 * image that does not exist is TEMPER_ENOTFOUND. */
int sqs_image_get(void *sv, const char *name, temper_image_fn fn, void *ctx)
{
    struct image_ctx c = { fn, ctx };
    struct sqs_iter it = {
        .sql = sql_image_get, .what = "cannot read images", .text_key = true,
        .bind = bind_name, .bind_ctx = name, .row = image_row, .row_ctx = &c,
    };
    int rc = sqs_list(sv, fn != NULL, &it);
    return rc == TEMPER_OK && name && it.count == 0 ? TEMPER_ENOTFOUND : rc;
}

/* ---- builds ------------------------------------------------------------ */

static const char sql_build_insert[] =
    "INSERT INTO builds (image, variant, version, digest, distribution, built_at, run_id)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_build_prune[] =
    "DELETE FROM build_packages WHERE build_id IN (SELECT id FROM builds"
    " WHERE image = ?1 AND variant IS ?2 AND id < ?3)";
static const char sql_pkg_insert[] =
    "INSERT INTO build_packages (build_id, name, version, arch, source, source_version,"
    " distribution, purl, sha256, license, supplier, url, image, dist)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, coalesce(?7, ?14))";

static int insert_package(struct sqs_state *s, const struct temper_build_record *b,
                          long long build_id, const struct temper_package *in, size_t i)
{
    const char *what = "cannot record the packages of a build";
    struct temper_package p;
    int rc = sqs_copy_in(s, &p, sizeof p, in, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (!p.name || !p.name[0]) {
        return temper_fail(s->st, TEMPER_EINVAL, "%s: %s: package %zu has no name",
                           s->path, what, i);
    }
    return sqs_run(s, sql_pkg_insert, what, "lttttttttttttt", build_id, p.name, p.version,
                   p.arch, p.source, p.source_version, p.distribution, p.purl, p.sha256,
                   p.license, p.supplier, p.url, b->image, b->distribution);
}

static int build_tx(struct sqs_state *s, const struct temper_build_record *b,
                    const struct temper_package *pkgs, size_t n_pkgs)
{
    const char *what = "cannot record a build";
    int rc = sqs_run(s, sql_build_insert, what, "tttttll", b->image, b->variant, b->version,
                     b->digest, b->distribution, b->built_at, b->run_id);
    if (rc != TEMPER_OK) {
        return rc;
    }
    long long id = sqlite3_last_insert_rowid(s->db);
    rc = sqs_run(s, sql_build_prune, what, "ttl", b->image, b->variant, id);
    for (size_t i = 0; i < n_pkgs && rc == TEMPER_OK; i++) {
        rc = insert_package(s, b, id, &pkgs[i], i);
    }
    return rc;
}

int sqs_build_record(void *sv, const struct temper_build_record *in,
                     const struct temper_package *pkgs, size_t n_pkgs)
{
    struct sqs_state *s = sv;
    const char *what = "cannot record a build";
    struct temper_build_record b;
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = sqs_copy_in(s, &b, sizeof b, in, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (!b.image || !b.image[0]) {
        return sqs_einval(s, what, "the build names no image");
    }
    if (n_pkgs > 0 && !pkgs) {
        return sqs_einval(s, what, "no package array");
    }
    if (n_pkgs > SQS_MAX_PACKAGES) {
        return temper_fail(s->st, TEMPER_ELIMIT, "%s: %s: %zu packages (at most %d)",
                           s->path, what, n_pkgs, SQS_MAX_PACKAGES);
    }
    rc = sqs_begin(s, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    return sqs_end(s, build_tx(s, &b, pkgs, n_pkgs), what);
}

/* ---- packages of a build ------------------------------------------------ */

static const char sql_latest_build[] =
    "SELECT id FROM builds WHERE image = ?1 AND variant IS ?2 ORDER BY id DESC LIMIT 1";
static const char sql_packages[] =
    "SELECT id, name, version, arch, source, source_version, distribution, purl, sha256,"
    " license, supplier, url FROM build_packages WHERE build_id = ?1"
    " AND id > :after ORDER BY id LIMIT :limit";

struct pkg_ctx {
    int (*fn)(void *ctx, const struct temper_package *p);
    void *ctx;
};

static int package_row(void *ctx, const struct sqs_rows *r, size_t i)
{
    struct pkg_ctx *c = ctx;
    struct temper_package p = {
        .size = sizeof p,
        .name = sqs_text(r, i, 1),
        .version = sqs_text(r, i, 2),
        .arch = sqs_text(r, i, 3),
        .source = sqs_text(r, i, 4),
        .source_version = sqs_text(r, i, 5),
        .distribution = sqs_text(r, i, 6),
        .purl = sqs_text(r, i, 7),
        .sha256 = sqs_text(r, i, 8),
        .license = sqs_text(r, i, 9),
        .supplier = sqs_text(r, i, 10),
        .url = sqs_text(r, i, 11),
    };
    return c->fn(c->ctx, &p);
}

/* TEMPER_ENOTFOUND (not recorded) when the image/variant was never built. */
int sqs_build_packages(void *sv, const char *image, const char *variant,
                       int (*fn)(void *ctx, const struct temper_package *p), void *ctx)
{
    struct sqs_state *s = sv;
    const char *what = "cannot read the packages of a build";
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (!fn || !image) {
        return sqs_einval(s, what, "no image name or callback");
    }
    sqlite3_stmt *stmt = NULL;
    long long id = 0;
    int rc = sqs_stmt(s, sql_latest_build, &stmt);
    if (rc == TEMPER_OK) {
        int src = sqs_bind(stmt, "tt", image, variant);
        rc = src == SQLITE_OK ? sqs_one_int(s, stmt, &id, what) : sqs_fail(s, src, what);
        sqlite3_clear_bindings(stmt);
    }
    if (rc != TEMPER_OK) {
        return rc;
    }
    struct pkg_ctx c = { fn, ctx };
    struct sqs_iter it = {
        .sql = sql_packages, .what = what, .bind = sqs_bind_ll, .bind_ctx = &id,
        .row = package_row, .row_ctx = &c,
    };
    return sqs_iterate(s, &it);
}

/* temper — store_postgres: images, builds and the package index (the
 * semantics of plugins/store_sqlite/sqlite_images.c).
 *
 * build_record() keeps the package rows of the newest build of each
 * image/variant only, each with its image and effective distribution;
 * images_with_package() answers from the (name|source, image, dist)
 * indexes.  A variant of NULL is a variant of its own (IS NOT
 * DISTINCT FROM).  Text keys page in byte order (COLLATE "C"). */
#include "config.h"
#include "pg_store.h"

#include <stdlib.h>
#include <string.h>

#define IMAGE_COLS "name, base, distribution, support_until, pinned_version, last_digest"

static void image_from_row(const PGresult *r, int i, struct temper_image_record *img)
{
    memset(img, 0, sizeof *img);
    img->size = sizeof *img;
    img->name = pgs_text(r, i, 0);
    img->base = pgs_text(r, i, 1);
    img->distribution = pgs_text(r, i, 2);
    img->support_until = pgs_ll(r, i, 3);
    img->pinned_version = pgs_text(r, i, 4);
    img->last_digest = pgs_text(r, i, 5);
}

struct image_ctx {
    temper_image_fn fn;
    void *ctx;
};

static int image_row(void *ctx, const PGresult *r, int i)
{
    struct image_ctx *c = ctx;
    struct temper_image_record img;
    image_from_row(r, i, &img);
    return c->fn(c->ctx, &img);
}

/* ---- images ------------------------------------------------------------ */

static const char sql_image_put[] =
    "INSERT INTO images (" IMAGE_COLS ") VALUES ($1, $2, $3, $4::bigint, $5, $6)"
    " ON CONFLICT (name) DO UPDATE SET base = excluded.base,"
    " distribution = excluded.distribution, support_until = excluded.support_until,"
    " pinned_version = excluded.pinned_version, last_digest = excluded.last_digest";

int pgs_image_put(void *sv, const struct temper_image_record *in)
{
    struct pgs_state *s = sv;
    const char *what = "cannot record an image";
    struct temper_image_record img;
    struct pgs_params p = { 0 };
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = pgs_copy_in(s, &img, sizeof img, in, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (!img.name || !img.name[0]) {
        return pgs_einval(s, what, "the image has no name");
    }
    pgs_p_text(&p, img.name);
    pgs_p_text(&p, img.base);
    pgs_p_text(&p, img.distribution);
    pgs_p_ll(&p, img.support_until);
    pgs_p_text(&p, img.pinned_version);
    pgs_p_text(&p, img.last_digest);
    return pgs_run(s, what, PGS_IDEMPOTENT, sql_image_put, &p);
}

static const char sql_image_get[] =
    "SELECT " IMAGE_COLS " FROM images WHERE ($1::text IS NULL OR name = $1)"
    " AND name COLLATE \"C\" > $2 ORDER BY name COLLATE \"C\" LIMIT $3::int";

/* name NULL lists every image; a named image that does not exist is
 * TEMPER_ENOTFOUND. */
int pgs_image_get(void *sv, const char *name, temper_image_fn fn, void *ctx)
{
    struct image_ctx c = { fn, ctx };
    struct pgs_iter it = {
        .sql = sql_image_get, .what = "cannot read images", .text_key = true,
        .row = image_row, .row_ctx = &c,
    };
    pgs_p_text(&it.params, name);
    int rc = pgs_list(sv, fn != NULL, &it);
    return rc == TEMPER_OK && name && it.count == 0 ? TEMPER_ENOTFOUND : rc;
}

/* ---- builds ------------------------------------------------------------ */

static const char sql_build_insert[] =
    "INSERT INTO builds (image, variant, version, digest, distribution, built_at, run_id)"
    " VALUES ($1, $2, $3, $4, $5, $6::bigint, $7::bigint) RETURNING id";
static const char sql_build_prune[] =
    "DELETE FROM build_packages WHERE build_id IN (SELECT id FROM builds"
    " WHERE image = $1 AND variant IS NOT DISTINCT FROM $2 AND id < $3::bigint)";
/* one row per statement, all in the build's transaction */
static const char sql_pkg_insert[] =
    "INSERT INTO build_packages (build_id, name, version, arch, source, source_version,"
    " distribution, purl, sha256, license, supplier, url, image, dist)"
    " VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

struct build_ctx {
    const struct temper_build_record *b;
    const struct temper_package *pkgs;
    size_t n;
};

static int insert_package(struct pgs_state *s, long long build_id,
                          const struct temper_build_record *b,
                          const struct temper_package *in, size_t i)
{
    const char *what = "cannot record the packages of a build";
    struct temper_package p;
    struct pgs_params q = { 0 };
    int rc = pgs_copy_in(s, &p, sizeof p, in, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (!p.name || !p.name[0]) {
        return temper_fail(s->st, TEMPER_EINVAL, "%s: %s: package %zu has no name", s->name,
                           what, i);
    }
    pgs_p_ll(&q, build_id);
    const char *v[] = { p.name, p.version, p.arch, p.source, p.source_version,
                        p.distribution, p.purl, p.sha256, p.license, p.supplier, p.url };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        pgs_p_text(&q, v[k]);
    }
    pgs_p_text(&q, b->image);
    pgs_p_text(&q, p.distribution ? p.distribution : b->distribution);
    return pgs_exec(s, sql_pkg_insert, &q, NULL);
}

static int build_body(struct pgs_state *s, void *ctx)
{
    struct build_ctx *c = ctx;
    const struct temper_build_record *b = c->b;
    struct pgs_params p = { 0 };
    long long id = 0;
    pgs_p_text(&p, b->image);
    pgs_p_text(&p, b->variant);
    pgs_p_text(&p, b->version);
    pgs_p_text(&p, b->digest);
    pgs_p_text(&p, b->distribution);
    pgs_p_ll(&p, b->built_at);
    pgs_p_ll(&p, b->run_id);
    int rc = pgs_one_ll(s, sql_build_insert, &p, &id);
    if (rc != TEMPER_OK) {
        return rc;
    }
    memset(&p, 0, sizeof p);
    pgs_p_text(&p, b->image);
    pgs_p_text(&p, b->variant);
    pgs_p_ll(&p, id);
    rc = pgs_exec(s, sql_build_prune, &p, NULL);
    for (size_t i = 0; i < c->n && rc == TEMPER_OK; i++) {
        rc = insert_package(s, id, b, &c->pkgs[i], i);
    }
    return rc;
}

int pgs_build_record(void *sv, const struct temper_build_record *in,
                     const struct temper_package *pkgs, size_t n_pkgs)
{
    struct pgs_state *s = sv;
    const char *what = "cannot record a build";
    struct temper_build_record b;
    if (!s) {
        return TEMPER_EINVAL;
    }
    int rc = pgs_copy_in(s, &b, sizeof b, in, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (!b.image || !b.image[0]) {
        return pgs_einval(s, what, "the build names no image");
    }
    if (n_pkgs > 0 && !pkgs) {
        return pgs_einval(s, what, "no package array");
    }
    if (n_pkgs > PGS_MAX_PACKAGES) {
        return temper_fail(s->st, TEMPER_ELIMIT, "%s: %s: %zu packages (at most %d)", s->name,
                           what, n_pkgs, PGS_MAX_PACKAGES);
    }
    struct build_ctx c = { &b, pkgs, n_pkgs };
    return pgs_tx(s, what, 0, build_body, &c);
}

/* ---- package queries --------------------------------------------------- */

/* build_packages holds the rows of the latest build of each image/variant
 * only (build_record prunes the older ones in its transaction).  Each arm
 * takes its own first $5 distinct images after $4, streaming from its
 * (name|source, image COLLATE "C", dist) index (Unique over an ordered
 * index scan, stopped by the LIMIT), so a page costs its own rows, not
 * every image after $4; the first $5 of the union of the two is the page. */
#define HITS(col)                                                               \
    " (SELECT DISTINCT p.image COLLATE \"C\" AS image FROM build_packages p"    \
    "  LEFT JOIN images s ON s.name = p.image"                                  \
    "  WHERE p." col " = $1 AND ($2::text IS NULL OR p.dist = $2)"              \
    "   AND (s.support_until IS NULL OR s.support_until = 0"                    \
    "    OR s.support_until >= $3::bigint) AND p.image COLLATE \"C\" > $4"      \
    "  ORDER BY 1 LIMIT $5::int)"
static const char sql_images_with_package[] =
    "SELECT h.image, i.base, i.distribution, coalesce(i.support_until, 0),"
    " i.pinned_version, i.last_digest FROM ("
    HITS("name") " UNION " HITS("source")
    "  ORDER BY 1 LIMIT $5::int) h"
    " LEFT JOIN images i ON i.name = h.image ORDER BY h.image";

int pgs_images_with_package(void *sv, const char *package, const char *distribution,
                            long long now, temper_image_fn fn, void *ctx)
{
    if (sv && (!package || !package[0])) {
        return pgs_einval(sv, "cannot look up a package", "no package name");
    }
    struct image_ctx c = { fn, ctx };
    struct pgs_iter it = {
        .sql = sql_images_with_package, .what = "cannot look up a package",
        .text_key = true, .row = image_row, .row_ctx = &c,
        /* a package in every image: 10 round trips for 10,000, not 79 (a
         * page is at most PGS_MAX_ROWS, the cap on any result) */
        .page = PGS_MAX_ROWS,
    };
    pgs_p_text(&it.params, package);
    pgs_p_text(&it.params, distribution);
    pgs_p_ll(&it.params, now);
    return pgs_list(sv, fn != NULL, &it);
}

static const char sql_latest_build[] =
    "SELECT id FROM builds WHERE image = $1 AND variant IS NOT DISTINCT FROM $2"
    " ORDER BY id DESC LIMIT 1";
static const char sql_packages[] =
    "SELECT id, name, version, arch, source, source_version, distribution, purl, sha256,"
    " license, supplier, url FROM build_packages WHERE build_id = $1::bigint"
    " AND id > $2::bigint ORDER BY id LIMIT $3::int";

struct pkg_ctx {
    int (*fn)(void *ctx, const struct temper_package *p);
    void *ctx;
};

static int package_row(void *ctx, const PGresult *r, int i)
{
    struct pkg_ctx *c = ctx;
    struct temper_package p = {
        .size = sizeof p,
        .name = pgs_text(r, i, 1),
        .version = pgs_text(r, i, 2),
        .arch = pgs_text(r, i, 3),
        .source = pgs_text(r, i, 4),
        .source_version = pgs_text(r, i, 5),
        .distribution = pgs_text(r, i, 6),
        .purl = pgs_text(r, i, 7),
        .sha256 = pgs_text(r, i, 8),
        .license = pgs_text(r, i, 9),
        .supplier = pgs_text(r, i, 10),
        .url = pgs_text(r, i, 11),
    };
    return c->fn(c->ctx, &p);
}

struct latest_ctx {
    const char *image, *variant;
    long long id;
};

static int latest_body(struct pgs_state *s, void *ctx)
{
    struct latest_ctx *c = ctx;
    struct pgs_params p = { 0 };
    pgs_p_text(&p, c->image);
    pgs_p_text(&p, c->variant);
    return pgs_one_ll(s, sql_latest_build, &p, &c->id);
}

/* TEMPER_ENOTFOUND (not recorded) when the image/variant was never built. */
int pgs_build_packages(void *sv, const char *image, const char *variant,
                       int (*fn)(void *ctx, const struct temper_package *p), void *ctx)
{
    struct pgs_state *s = sv;
    const char *what = "cannot read the packages of a build";
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (!fn || !image) {
        return pgs_einval(s, what, "no image name or callback");
    }
    struct latest_ctx l = { image, variant, 0 };
    int rc = pgs_tx(s, what, PGS_NO_TX | PGS_IDEMPOTENT, latest_body, &l);
    if (rc != TEMPER_OK) {
        return rc;
    }
    struct pkg_ctx c = { fn, ctx };
    struct pgs_iter it = {
        .sql = sql_packages, .what = what, .row = package_row, .row_ctx = &c,
    };
    pgs_p_ll(&it.params, l.id);
    return pgs_iterate(s, &it);
}

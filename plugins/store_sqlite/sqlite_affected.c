/* temper — store_sqlite: images_with_package, the images affected by one
 * package update (issue #9, tests/bench/bench_affected.c).
 *
 * Three statements stepped side by side in one read transaction and merged
 * here, all in image-name order: the images whose current build holds the
 * package as a binary name and as a source name (range scans of
 * build_packages_name and build_packages_source, image names only), and the
 * image rows (images is a WITHOUT ROWID table keyed by name since schema 3,
 * so its rows come in name order).  The image cursor follows the wanted
 * names: it steps forward while the next wanted image is near (AFF_STEPS),
 * else it is re-seeked there, so a package in every image reads the images
 * table once, sequentially, and a rare one costs one seek per image found.
 * Repeats (several variants or dists of an image, a binary and a source
 * match) are dropped, the support window is checked on the image row; a
 * build of an image never put is reported with only its name.
 *
 * Rows are copied into one arena per page; a page (AFF_PAGE images or
 * AFF_PAGE_BYTES of text) is delivered only after the statements are reset,
 * so the callback may call the store and no read transaction is held while
 * it runs.  The next page starts after the last image considered. */
#include "config.h"
#include "sqlite_store.h"

#include <temper/buf.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define AFF_PAGE 2048                    /* images per page */
#define AFF_PAGE_BYTES (4 * 1024 * 1024) /* text per page (one image may exceed it) */
#define AFF_STEPS 8                      /* image rows stepped before a re-seek */
#define AFF_TEXT 5                       /* name, base, distribution, pinned, digest */
#define AFF_NULL SIZE_MAX

static const char sql_by_name[] = SQS_SQL_AFFECTED_BY_NAME;
static const char sql_by_source[] = SQS_SQL_AFFECTED_BY_SOURCE;
static const char sql_images_from[] = SQS_SQL_AFFECTED_IMAGES;

struct aff_row {
    size_t off[AFF_TEXT]; /* into the arena, AFF_NULL for SQL NULL */
    long long support_until;
};

struct aff_page {
    struct aff_row *rows;
    size_t n;
    struct temper_buf text;
};

/* One statement, whether it stands on a row and that row's column 0 (valid
 * until the next step). */
struct aff_cur {
    sqlite3_stmt *stmt;
    bool row;
    const char *key;
    size_t nkey;
};

struct aff_scan {
    struct sqs_state *s;
    const char *what;
    const char *package;
    const char *distribution;
    long long now;
    struct aff_cur a, b, img; /* by name, by source, image rows */
    struct temper_buf want;   /* the image being resolved, NUL-terminated */
    bool img_started;
};

static const char *want_str(const struct aff_scan *sc)
{
    return sc->want.data ? sc->want.data : "";
}

static int oom(struct aff_scan *sc)
{
    return temper_fail(sc->s->st, TEMPER_ENOMEM, "%s: %s: out of memory", sc->s->path,
                       sc->what);
}

static int cur_step(struct aff_scan *sc, struct aff_cur *c)
{
    int src = sqlite3_step(c->stmt);
    c->row = src == SQLITE_ROW;
    c->key = "";
    c->nkey = 0;
    if (c->row && sqlite3_column_type(c->stmt, 0) != SQLITE_NULL) {
        c->key = (const char *)sqlite3_column_text(c->stmt, 0);
        c->nkey = (size_t)sqlite3_column_bytes(c->stmt, 0);
        if (!c->key) {
            return oom(sc);
        }
    }
    return src == SQLITE_ROW || src == SQLITE_DONE ? TEMPER_OK : sqs_fail(sc->s, src, sc->what);
}

/* SQLite's BINARY order of a cursor's key against bytes (memcmp, then
 * length). */
static int cmp_key(const struct aff_cur *c, const char *y, size_t ny)
{
    int r = memcmp(c->key, y, c->nkey < ny ? c->nkey : ny);
    return r != 0 ? r : (c->nkey > ny) - (c->nkey < ny);
}

/* Bind and start a cursor from `after` (images: from it inclusive, package
 * cursors: after it), stepped onto its first row. */
static int cur_start(struct aff_scan *sc, const char *sql, struct aff_cur *c, const char *after)
{
    c->row = false;
    int rc = sqs_stmt(sc->s, sql, &c->stmt);
    if (rc != TEMPER_OK) {
        c->stmt = NULL;
        return rc;
    }
    int src = sql == sql_images_from
                  ? sqs_bind(c->stmt, "t", after)
                  : sqs_bind(c->stmt, "ttt", sc->package, sc->distribution, after);
    return src == SQLITE_OK ? cur_step(sc, c) : sqs_fail(sc->s, src, sc->what);
}

static void cur_stop(struct aff_cur *c)
{
    if (c->stmt) {
        sqlite3_reset(c->stmt);
        sqlite3_clear_bindings(c->stmt);
    }
    c->row = false;
    c->key = "";
    c->nkey = 0;
}

/* Bring the image cursor to the first row >= want: step when near, else
 * seek.  Leaves img.row false when no image row is at or after want. */
static int follow_image(struct aff_scan *sc)
{
    const char *w = want_str(sc);
    size_t nw = sc->want.len;
    for (int i = 0; sc->img_started && i < AFF_STEPS; i++) {
        if (!sc->img.row || cmp_key(&sc->img, w, nw) >= 0) {
            return TEMPER_OK;
        }
        int rc = cur_step(sc, &sc->img);
        if (rc != TEMPER_OK) {
            return rc;
        }
    }
    if (sc->img_started && (!sc->img.row || cmp_key(&sc->img, w, nw) >= 0)) {
        return TEMPER_OK;
    }
    sc->img_started = true;
    return cur_start(sc, sql_images_from, &sc->img, w);
}

static int put_text(struct aff_page *pg, size_t *off, const void *v, size_t n)
{
    if (!v) {
        *off = AFF_NULL;
        return TEMPER_OK;
    }
    *off = pg->text.len;
    return temper_buf_append(&pg->text, v, n + 1);
}

/* Keep `want` in the page: with the image row the cursor stands on when it
 * is that image (and it is in its support window), alone when there is no
 * such row. */
static int resolve(struct aff_scan *sc, struct aff_page *pg)
{
    static const int cols[AFF_TEXT] = { 0, 1, 2, 4, 5 };
    sqlite3_stmt *st = sc->img.stmt;
    bool has = sc->img.row && cmp_key(&sc->img, want_str(sc), sc->want.len) == 0;
    long long until = has ? sqlite3_column_int64(st, 3) : 0;
    if (until != 0 && until < sc->now) {
        return TEMPER_OK;
    }
    struct aff_row *r = &pg->rows[pg->n];
    int rc = put_text(pg, &r->off[0], want_str(sc), sc->want.len);
    for (int i = 1; i < AFF_TEXT && rc == TEMPER_OK; i++) {
        bool null = !has || sqlite3_column_type(st, cols[i]) == SQLITE_NULL;
        const unsigned char *v = null ? NULL : sqlite3_column_text(st, cols[i]);
        if (!null && !v) {
            rc = TEMPER_ENOMEM;
            break;
        }
        rc = put_text(pg, &r->off[i], v, null ? 0 : (size_t)sqlite3_column_bytes(st, cols[i]));
    }
    if (rc != TEMPER_OK) {
        return oom(sc);
    }
    r->support_until = until;
    pg->n++;
    return TEMPER_OK;
}

/* Step a package cursor past every row naming `want`. */
static int skip_want(struct aff_scan *sc, struct aff_cur *c)
{
    int rc = TEMPER_OK;
    while (rc == TEMPER_OK && c->row && cmp_key(c, want_str(sc), sc->want.len) == 0) {
        rc = cur_step(sc, c);
    }
    return rc;
}

/* Merge the package cursors from where they stand into one page. */
static int merge_page(struct aff_scan *sc, struct aff_page *pg)
{
    int rc = TEMPER_OK;
    while (rc == TEMPER_OK && (sc->a.row || sc->b.row) && pg->n < AFF_PAGE &&
           pg->text.len < AFF_PAGE_BYTES) {
        struct aff_cur *m = !sc->b.row || (sc->a.row && cmp_key(&sc->a, sc->b.key, sc->b.nkey) <= 0)
                                ? &sc->a
                                : &sc->b;
        temper_buf_reset(&sc->want);
        if (temper_buf_append(&sc->want, m->key, m->nkey) != TEMPER_OK) {
            return oom(sc);
        }
        rc = follow_image(sc);
        rc = rc == TEMPER_OK ? resolve(sc, pg) : rc;
        rc = rc == TEMPER_OK ? skip_want(sc, &sc->a) : rc;
        rc = rc == TEMPER_OK ? skip_want(sc, &sc->b) : rc;
    }
    return rc;
}

static const char *page_text(const struct aff_page *pg, size_t row, int col)
{
    size_t off = pg->rows[row].off[col];
    return off == AFF_NULL ? NULL : pg->text.data + off;
}

static int deliver(const struct aff_page *pg, temper_image_fn fn, void *ctx)
{
    for (size_t i = 0; i < pg->n; i++) {
        struct temper_image_record img = {
            .size = sizeof img,
            .name = page_text(pg, i, 0),
            .base = page_text(pg, i, 1),
            .distribution = page_text(pg, i, 2),
            .support_until = pg->rows[i].support_until,
            .pinned_version = page_text(pg, i, 3),
            .last_digest = page_text(pg, i, 4),
        };
        int rc = fn(ctx, &img);
        if (rc != 0) {
            return rc;
        }
    }
    return TEMPER_OK;
}

/* Read one page of the images after `after`; *more when the package cursors
 * were not done.  `after` is copied first: it may be sc->want. */
static int read_page(struct aff_scan *sc, struct aff_page *pg, char **after, bool *more)
{
    pg->n = 0;
    temper_buf_reset(&pg->text);
    sc->img_started = false;
    int rc = cur_start(sc, sql_by_name, &sc->a, *after ? *after : "");
    rc = rc == TEMPER_OK ? cur_start(sc, sql_by_source, &sc->b, *after ? *after : "") : rc;
    rc = rc == TEMPER_OK ? merge_page(sc, pg) : rc;
    *more = rc == TEMPER_OK && (sc->a.row || sc->b.row);
    cur_stop(&sc->a);
    cur_stop(&sc->b);
    cur_stop(&sc->img);
    if (*more) {
        free(*after);
        *after = strdup(want_str(sc));
        rc = *after ? rc : oom(sc);
    }
    return rc;
}

int sqs_images_with_package(void *sv, const char *package, const char *distribution,
                            long long now, temper_image_fn fn, void *ctx)
{
    struct aff_scan sc = { .s = sv, .what = "cannot look up a package", .package = package,
                           .distribution = distribution, .now = now };
    if (!sc.s) {
        return TEMPER_EINVAL;
    }
    if (!package || !package[0]) {
        return sqs_einval(sc.s, sc.what, "no package name");
    }
    if (!fn) {
        return sqs_einval(sc.s, sc.what, "no callback");
    }
    struct aff_page pg = { .rows = malloc(AFF_PAGE * sizeof *pg.rows) };
    temper_buf_init(&pg.text, 0);
    temper_buf_init(&sc.want, 0);
    char *after = NULL;
    bool more = true;
    int rc = pg.rows ? TEMPER_OK : oom(&sc);
    while (rc == TEMPER_OK && more) {
        rc = read_page(&sc, &pg, &after, &more);
        rc = rc == TEMPER_OK ? deliver(&pg, fn, ctx) : rc;
    }
    free(after);
    free(pg.rows);
    temper_buf_cleanup(&pg.text);
    temper_buf_cleanup(&sc.want);
    return rc;
}

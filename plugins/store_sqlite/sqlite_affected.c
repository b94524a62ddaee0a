/* temper — store_sqlite: images_with_package, the images affected by one
 * package update (issue #9, tests/bench/bench_affected.c).
 *
 * Two statements, one per index: the images whose current build holds the
 * package as a binary name, and as a source name, each ordered by image
 * (a range scan of build_packages_name or build_packages_source, joined to
 * the image's row).  They are stepped side by side and merged here, in image
 * order, dropping repeats (an image with several variants or dists, or with
 * both a binary and a source match), so there is no UNION, no temporary
 * B-tree and no second look-up of the image.  Rows are copied into one
 * arena per page; a page (AFF_PAGE images or AFF_PAGE_BYTES of text) is
 * delivered only after both statements are reset, so the callback may call
 * the store and no read transaction is held while it runs.  The next page
 * starts after the last image delivered. */
#include "config.h"
#include "sqlite_store.h"

#include <temper/buf.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define AFF_PAGE 2048                   /* images per page */
#define AFF_PAGE_BYTES (4 * 1024 * 1024) /* text per page (one image may exceed it) */
#define AFF_TEXT 5                      /* name, base, distribution, pinned, digest */
#define AFF_NULL SIZE_MAX

static const char sql_by_name[] = SQS_SQL_AFFECTED_BY_NAME;
static const char sql_by_source[] = SQS_SQL_AFFECTED_BY_SOURCE;

struct aff_row {
    size_t off[AFF_TEXT]; /* into the arena, AFF_NULL for SQL NULL */
    long long support_until;
};

struct aff_page {
    struct aff_row *rows;
    size_t n;
    struct temper_buf text;
};

/* One arm: its statement and whether it stands on a row. */
struct aff_arm {
    sqlite3_stmt *stmt;
    bool row;
};

static int arm_step(struct aff_arm *a)
{
    int src = sqlite3_step(a->stmt);
    a->row = src == SQLITE_ROW;
    return src == SQLITE_ROW || src == SQLITE_DONE ? SQLITE_OK : src;
}

/* SQLite's BINARY order of two column-0 texts (memcmp, then length). */
static int cmp_image(sqlite3_stmt *a, sqlite3_stmt *b)
{
    const void *x = sqlite3_column_text(a, 0), *y = sqlite3_column_text(b, 0);
    int nx = sqlite3_column_bytes(a, 0), ny = sqlite3_column_bytes(b, 0);
    int c = memcmp(x ? x : "", y ? y : "", (size_t)(nx < ny ? nx : ny));
    return c != 0 ? c : (nx > ny) - (nx < ny);
}

static bool same_as_last(const struct aff_page *pg, sqlite3_stmt *stmt)
{
    if (pg->n == 0) {
        return false;
    }
    const char *last = pg->text.data + pg->rows[pg->n - 1].off[0];
    const void *v = sqlite3_column_text(stmt, 0);
    size_t n = (size_t)sqlite3_column_bytes(stmt, 0);
    return v && strlen(last) == n && memcmp(last, v, n) == 0;
}

/* Copy the current row of stmt into the page. */
static int keep_row(struct aff_page *pg, sqlite3_stmt *stmt)
{
    static const int cols[AFF_TEXT] = { 0, 1, 2, 4, 5 };
    struct aff_row *r = &pg->rows[pg->n];
    for (int i = 0; i < AFF_TEXT; i++) {
        if (sqlite3_column_type(stmt, cols[i]) == SQLITE_NULL) {
            r->off[i] = AFF_NULL;
            continue;
        }
        const unsigned char *v = sqlite3_column_text(stmt, cols[i]);
        if (!v) {
            return TEMPER_ENOMEM;
        }
        r->off[i] = pg->text.len;
        int rc = temper_buf_append(&pg->text, v, (size_t)sqlite3_column_bytes(stmt, cols[i]) + 1);
        if (rc != TEMPER_OK) {
            return rc;
        }
    }
    r->support_until = sqlite3_column_int64(stmt, 3);
    pg->n++;
    return TEMPER_OK;
}

/* Step both arms from where they stand and merge up to one page. */
static int merge_page(struct sqs_state *s, struct aff_arm *a, struct aff_arm *b,
                      struct aff_page *pg, const char *what)
{
    while ((a->row || b->row) && pg->n < AFF_PAGE && pg->text.len < AFF_PAGE_BYTES) {
        struct aff_arm *m = !b->row || (a->row && cmp_image(a->stmt, b->stmt) <= 0) ? a : b;
        if (!same_as_last(pg, m->stmt)) {
            int rc = keep_row(pg, m->stmt);
            if (rc != TEMPER_OK) {
                return temper_fail(s->st, rc, "%s: %s: out of memory", s->path, what);
            }
        }
        int src = arm_step(m);
        if (src != SQLITE_OK) {
            return sqs_fail(s, src, what);
        }
    }
    return TEMPER_OK;
}

struct aff_query {
    const char *package;
    const char *distribution;
    long long now;
};

/* Bind one arm from `after` (exclusive) and step it onto its first row. */
static int arm_start(struct sqs_state *s, const char *sql, const struct aff_query *q,
                     const char *after, struct aff_arm *arm, const char *what)
{
    arm->row = false;
    int rc = sqs_stmt(s, sql, &arm->stmt);
    if (rc != TEMPER_OK) {
        arm->stmt = NULL;
        return rc;
    }
    int src = sqs_bind(arm->stmt, "ttlt", q->package, q->distribution, q->now, after);
    src = src == SQLITE_OK ? arm_step(arm) : src;
    return src == SQLITE_OK ? TEMPER_OK : sqs_fail(s, src, what);
}

static void arm_stop(struct aff_arm *arm)
{
    if (arm->stmt) {
        sqlite3_reset(arm->stmt);
        sqlite3_clear_bindings(arm->stmt);
    }
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

/* Read one page after `after` into pg; *more when the arms were not done. */
static int read_page(struct sqs_state *s, const struct aff_query *q, const char *after,
                     struct aff_page *pg, bool *more)
{
    const char *what = "cannot look up a package";
    struct aff_arm a = { 0 }, b = { 0 };
    pg->n = 0;
    temper_buf_reset(&pg->text);
    int rc = arm_start(s, sql_by_name, q, after, &a, what);
    rc = rc == TEMPER_OK ? arm_start(s, sql_by_source, q, after, &b, what) : rc;
    rc = rc == TEMPER_OK ? merge_page(s, &a, &b, pg, what) : rc;
    *more = a.row || b.row;
    arm_stop(&a);
    arm_stop(&b);
    return rc;
}

int sqs_images_with_package(void *sv, const char *package, const char *distribution,
                            long long now, temper_image_fn fn, void *ctx)
{
    struct sqs_state *s = sv;
    const char *what = "cannot look up a package";
    if (!s) {
        return TEMPER_EINVAL;
    }
    if (!package || !package[0]) {
        return sqs_einval(s, what, "no package name");
    }
    if (!fn) {
        return sqs_einval(s, what, "no callback");
    }
    struct aff_query q = { package, distribution, now };
    struct aff_page pg = { .rows = malloc(AFF_PAGE * sizeof *pg.rows) };
    temper_buf_init(&pg.text, 0);
    char *after = NULL;
    bool more = true;
    int rc = pg.rows ? TEMPER_OK
                     : temper_fail(s->st, TEMPER_ENOMEM, "%s: %s: out of memory", s->path,
                                   what);
    while (rc == TEMPER_OK && more) {
        rc = read_page(s, &q, after ? after : "", &pg, &more);
        rc = rc == TEMPER_OK ? deliver(&pg, fn, ctx) : rc;
        if (rc == TEMPER_OK && more) {
            free(after);
            after = strdup(page_text(&pg, pg.n - 1, 0));
            rc = after ? TEMPER_OK
                       : temper_fail(s->st, TEMPER_ENOMEM, "%s: %s: out of memory", s->path,
                                     what);
        }
    }
    free(after);
    free(pg.rows);
    temper_buf_cleanup(&pg.text);
    return rc;
}

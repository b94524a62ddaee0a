/* temper — store_sqlite: images_with_package across pages (issue #9), and
 * schema migration 3 (images becomes WITHOUT ROWID) with the data kept.
 *
 * 2,500 images (more than one page of the plugin's merge) hold package "pk"
 * as a binary name, some twice (two variants), some also as a source name,
 * some have no image row (a build of an image never put), some are out of
 * their support window.  The lookup must give the exact set, each image
 * once, in name order, with the image rows' fields, also when the callback
 * calls the store, and must see a build recorded after the last lookup. */
#include "config.h"
#include "tests/plugins/store_sqlite_harness.h"
#include "tests/lib/tap.h"
#include "core/loader.h"
#include "sdk/host.h"
#include <temper/buf.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_IMAGES 2500
#define NOW 1700000000000LL

static struct sqh H;
#define OPS (H.ops)

static bool has_row(int i)
{
    return i % 7 != 0;
}

static bool wanted(int i)
{
    return !(has_row(i) && i % 5 == 0); /* i % 5 == 0: the window is over */
}

static int record(void *s, int i, const char *variant, bool with_pk, bool with_source)
{
    char image[16];
    snprintf(image, sizeof image, "a%04d", i);
    struct temper_package p[3] = {
        { .size = sizeof p[0], .name = "libc6", .version = "2.36", .distribution = NULL },
        { .size = sizeof p[0], .name = "pk", .version = "1", .source = "pk-src" },
        { .size = sizeof p[0], .name = "pk-bin", .version = "1", .source = "pk" },
    };
    size_t n = with_pk ? 2 : 1;
    if (with_source) {
        p[n++] = p[2];
    }
    struct temper_build_record b = {
        .size = sizeof b, .image = image, .variant = variant, .version = "1",
        .digest = "sha256:00", .distribution = "debian:bookworm", .built_at = 1,
    };
    return OPS->build_record(s, &b, p, n);
}

static int fill(void *s)
{
    int rc = TEMPER_OK;
    for (int i = 0; i < N_IMAGES && rc == TEMPER_OK; i++) {
        char image[16], base[24];
        snprintf(image, sizeof image, "a%04d", i);
        snprintf(base, sizeof base, "image:base%d", i);
        struct temper_image_record img = {
            .size = sizeof img, .name = image, .base = base, .distribution = "debian:bookworm",
            .support_until = i % 5 == 0 ? NOW - 1 : (i % 2 ? 0 : NOW + 1),
            .pinned_version = "1", .last_digest = "sha256:00",
        };
        rc = has_row(i) ? OPS->image_put(s, &img) : TEMPER_OK;
        rc = rc == TEMPER_OK ? record(s, i, "runtime", true, i % 2 == 0) : rc;
        rc = rc == TEMPER_OK && i % 3 == 0 ? record(s, i, "dev", true, false) : rc;
    }
    return rc;
}

struct seen {
    void *s;
    int n, bad, reentered;
    char last[16];
    bool reenter;
};

static int image_found(void *ctx, const struct temper_image_record *img)
{
    (void)img;
    (*(int *)ctx)++;
    return 0;
}

static int stop_at_2060(void *ctx, const struct temper_image_record *img)
{
    (void)img;
    return ++*(int *)ctx == 2060 ? 42 : 0;
}

/* Each image once, in order, wanted, with its own row's fields. */
static int check_image(void *ctx, const struct temper_image_record *img)
{
    struct seen *c = ctx;
    int i = -1;
    char base[24];
    if (sscanf(img->name, "a%d", &i) != 1 || i < 0 || i >= N_IMAGES ||
        strcmp(img->name, c->last) <= 0 || !wanted(i)) {
        c->bad++;
    }
    snprintf(base, sizeof base, "image:base%d", i);
    if (has_row(i) ? !img->base || strcmp(img->base, base) != 0 || !img->last_digest
                   : img->base != NULL || img->distribution != NULL) {
        c->bad++;
    }
    snprintf(c->last, sizeof c->last, "%s", img->name);
    c->n++;
    if (c->reenter && has_row(i)) {
        int one = 0;
        c->reentered += OPS->image_get(c->s, img->name, image_found, &one) == TEMPER_OK &&
                        one == 1;
    }
    return 0;
}

static void test_pages(void *s)
{
    int want = 0, want_rows = 0;
    for (int i = 0; i < N_IMAGES; i++) {
        want += wanted(i);
        want_rows += wanted(i) && has_row(i);
    }
    struct seen c = { .s = s };
    struct seen r = { .s = s, .reenter = true };
    TEST("a package in 2,500 images: each once, in order, across pages") {
        CHECK_INT_EQ(OPS->images_with_package(s, "pk", "debian:bookworm", NOW, check_image, &c),
                     TEMPER_OK);
        CHECK_INT_EQ(c.n, want);
        CHECK_INT_EQ(want, 2072);
        CHECK_INT_EQ(c.bad, 0);
    }
    TEST("the callback may call the store") {
        CHECK_INT_EQ(OPS->images_with_package(s, "pk", NULL, NOW, check_image, &r), TEMPER_OK);
        CHECK_INT_EQ(r.n, want);
        CHECK_INT_EQ(r.bad, 0);
        CHECK_INT_EQ(r.reentered, want_rows);
    }
    int stop = 0, none = 0;
    TEST("the callback stops it on the second page; another distribution") {
        CHECK_INT_EQ(OPS->images_with_package(s, "pk", "alpine:v3.19", NOW, image_found, &none),
                     TEMPER_OK);
        CHECK_INT_EQ(none, 0);
        CHECK_INT_EQ(OPS->images_with_package(s, "pk", NULL, NOW, stop_at_2060, &stop), 42);
        CHECK_INT_EQ(stop, 2060);
    }
    /* a new build of a0001 without pk, of a0002 (pk as a source only) */
    int rc = record(s, 1, "runtime", false, false);
    rc = rc == TEMPER_OK ? record(s, 2, "runtime", false, true) : rc;
    struct seen after = { .s = s };
    TEST("a lookup sees the builds recorded before it") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(OPS->images_with_package(s, "pk", NULL, NOW, check_image, &after),
                     TEMPER_OK);
        CHECK_INT_EQ(after.n, want - 1);
        CHECK_INT_EQ(after.bad, 0);
    }
}

/* Open `path` with synchronous=normal (thousands of small commits). */
static void *open_store(const char *path, struct temper_stage **st, void **conf)
{
    void *state = NULL;
    *conf = sqh_conf_new(H.desc, path);
    *st = temper_stage_new(H.desc, "default");
    if (*conf && *st) {
        *(int *)sqh_conf_field(H.desc, *conf, "synchronous") = 0;
        if (H.desc->open(*st, *conf, &state) != TEMPER_OK) {
            printf("# open %s: %s\n", path, temper_stage_error(*st));
            state = NULL;
        }
    }
    return state;
}

static void close_store(void *state, struct temper_stage *st, void *conf)
{
    if (state) {
        H.desc->close(state);
    }
    temper_stage_free(st);
    sqh_conf_free(H.desc, conf);
}

static void run_pages(void)
{
    char *path = sqh_path(&H, "pages.db");
    struct temper_stage *st = NULL;
    void *conf = NULL;
    void *s = path ? open_store(path, &st, &conf) : NULL;
    int rc = s ? fill(s) : TEMPER_EIO;
    TEST("2,500 images recorded") {
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
    if (rc == TEMPER_OK) {
        test_pages(s);
    }
    close_store(s, st, conf);
    free(path);
}

/* ---- migration 3 --------------------------------------------------------- */

/* Schema 2's images table (a rowid table), as migration 1 made it. */
static const char back_to_2[] =
    "BEGIN;"
    "CREATE TABLE images_v2 (name TEXT PRIMARY KEY NOT NULL CHECK (name <> ''),"
    " base TEXT, distribution TEXT, support_until INTEGER NOT NULL DEFAULT 0,"
    " pinned_version TEXT, last_digest TEXT);"
    "INSERT INTO images_v2 SELECT name, base, distribution, support_until, pinned_version,"
    " last_digest FROM images;"
    "DROP TABLE images;"
    "ALTER TABLE images_v2 RENAME TO images;"
    "PRAGMA user_version = 2;"
    "COMMIT;";

static const char sql_images_ddl[] = "SELECT sql FROM sqlite_master WHERE name = 'images'";

static int list_image(void *ctx, const struct temper_image_record *img)
{
    struct temper_buf *b = ctx;
    return temper_buf_printf(b, "%s|%s|%s|%lld|%s|%s;", img->name, img->base ? img->base : "-",
                             img->distribution ? img->distribution : "-", img->support_until,
                             img->pinned_version ? img->pinned_version : "-",
                             img->last_digest ? img->last_digest : "-");
}

static char *all_images(void *s, const char *package)
{
    struct temper_buf b;
    temper_buf_init(&b, 1 << 20);
    int rc = package ? OPS->images_with_package(s, package, NULL, NOW, list_image, &b)
                     : OPS->image_get(s, NULL, list_image, &b);
    if (rc != TEMPER_OK) {
        temper_buf_cleanup(&b);
        return NULL;
    }
    return temper_buf_take(&b, NULL);
}

static void test_migration(void)
{
    char *path = sqh_path(&H, "v2.db");
    struct temper_stage *st = NULL;
    void *conf = NULL;
    void *s = open_store(path, &st, &conf);
    int rc = s ? TEMPER_OK : TEMPER_EIO;
    for (int i = 0; i < 40 && rc == TEMPER_OK; i++) {
        char image[16];
        snprintf(image, sizeof image, "a%04d", i);
        struct temper_image_record img = {
            .size = sizeof img, .name = image, .base = i % 2 ? "image:debian" : NULL,
            .distribution = "debian:bookworm", .support_until = i % 3 ? 0 : NOW + i,
            .pinned_version = i % 4 ? "1.2" : NULL, .last_digest = "sha256:ab",
        };
        rc = has_row(i) ? OPS->image_put(s, &img) : TEMPER_OK;
        rc = rc == TEMPER_OK ? record(s, i, "runtime", true, i % 2 == 0) : rc;
    }
    char *images_before = s ? all_images(s, NULL) : NULL;
    char *pk_before = s ? all_images(s, "pk") : NULL;
    close_store(s, st, conf);
    sqlite3 *raw = sqh_raw(path);
    int back = raw ? sqlite3_exec(raw, back_to_2, NULL, NULL, NULL) : -1;
    char *ddl2 = raw ? sqh_raw_text(raw, sql_images_ddl) : NULL;
    long long v2 = raw ? sqh_raw_int(raw, "PRAGMA user_version") : -1;
    sqlite3_close(raw);
    TEST("a schema 2 store with images and builds") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK(images_before && strlen(images_before) > 100);
        CHECK_INT_EQ(back, SQLITE_OK);
        CHECK_INT_EQ(v2, 2);
        CHECK(ddl2 && strstr(ddl2, "WITHOUT ROWID") == NULL);
    }
    s = open_store(path, &st, &conf);
    char *images_after = s ? all_images(s, NULL) : NULL;
    char *pk_after = s ? all_images(s, "pk") : NULL;
    raw = sqh_raw(path);
    char *ddl3 = raw ? sqh_raw_text(raw, sql_images_ddl) : NULL;
    TEST("migration 3: images WITHOUT ROWID, every row and field kept") {
        CHECK(s != NULL);
        CHECK_INT_EQ(raw ? sqh_raw_int(raw, "PRAGMA user_version") : -1, 3);
        CHECK_STR_CONTAINS(ddl3, "WITHOUT ROWID");
        CHECK_STR_CONTAINS(ddl3, "CHECK (name <> '')");
        CHECK_INT_EQ(raw ? sqh_raw_int(raw, "SELECT count(*) FROM images") : -1, 34);
        CHECK_INT_EQ(raw ? sqh_raw_int(raw, "SELECT count(*) FROM sqlite_master"
                                            " WHERE name LIKE 'images_v%'") : -1, 0);
        CHECK_STR_EQ(images_after, images_before);
        CHECK_STR_EQ(pk_after, pk_before);
    }
    struct temper_image_record up = { .size = sizeof up, .name = "a0001", .base = "image:x" };
    TEST("the migrated table takes updates and refuses an empty name") {
        CHECK_INT_EQ(s ? OPS->image_put(s, &up) : -1, TEMPER_OK);
        CHECK_INT_EQ(raw ? sqh_raw_int(raw, "SELECT count(*) FROM images WHERE"
                                            " base = 'image:x'") : -1, 1);
        CHECK(raw && sqlite3_exec(raw, "INSERT INTO images (name) VALUES ('')", NULL, NULL,
                                  NULL) == SQLITE_CONSTRAINT);
    }
    sqlite3_close(raw);
    close_store(s, st, conf);
    free(images_before);
    free(images_after);
    free(pk_before);
    free(pk_after);
    free(ddl2);
    free(ddl3);
    free(path);
}

int main(void)
{
    int rc = sqh_init(&H);
    TEST("load store_sqlite through the loader") {
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
    if (rc == TEMPER_OK) {
        run_pages();
        test_migration();
    }
    sqh_cleanup(&H);
    return tap_done();
}

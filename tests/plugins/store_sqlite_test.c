/* temper — store_sqlite through the real loader: option table, open/close and
 * their failures, key/value state, images, builds and the package index,
 * and the query plan of the package lookup on 100k rows.  The job queue, runs,
 * reviews and the audit log are covered by store_sqlite_queue_test, crash
 * safety by store_sqlite_crash_test. */
#include "config.h"
#include "tests/plugins/store_sqlite_harness.h"
#include "tests/lib/tap.h"
#include "core/loader.h"
#include "plugins/store_sqlite/sqlite_sql.h"
#include "sdk/host.h"
#include <temper/buf.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct sqh H;
#define OPS (H.ops)

static const struct temper_option *opt(const char *key)
{
    for (const struct temper_option *o = H.desc->options; o && o->type; o++) {
        if (strcmp(o->key, key) == 0) {
            return o;
        }
    }
    return NULL;
}

static void test_options(void)
{
    const struct temper_option *loc = opt("location");
    const struct temper_option *bt = opt("busy_timeout");
    const struct temper_option *sy = opt("synchronous");
    const struct temper_option *ma = opt("max_attempts_default");
    char *err = NULL;
    TEST("option table") {
        CHECK(H.desc->kind == TEMPER_KIND_STORE);
        CHECK_STR_EQ(H.desc->name, "sqlite");
        CHECK(loc && loc->type == TEMPER_OPT_PATH && (loc->flags & TEMPER_OPT_REQUIRED));
        CHECK(loc && loc->def == NULL);
        CHECK(bt && bt->type == TEMPER_OPT_DURATION);
        CHECK_STR_EQ(bt ? bt->def : NULL, "5s");
        CHECK(sy && sy->type == TEMPER_OPT_ENUM && sy->choices);
        CHECK_STR_EQ(sy ? sy->def : NULL, "full");
        CHECK_STR_EQ(sy && sy->choices ? sy->choices[0] : NULL, "normal");
        CHECK_STR_EQ(sy && sy->choices ? sy->choices[1] : NULL, "full");
        CHECK(ma && ma->type == TEMPER_OPT_INT && ma->min == 1);
        CHECK_INT_EQ(temper_options_check_table(H.desc->options, H.desc->conf_size, &err),
                     TEMPER_OK);
    }
    free(err);
    void *conf = sqh_conf_new(H.desc, NULL);
    TEST("defaults from the table") {
        CHECK(conf != NULL);
        CHECK(conf && *(char **)sqh_conf_field(H.desc, conf, "location") == NULL);
        CHECK_INT_EQ(conf ? *(long long *)sqh_conf_field(H.desc, conf, "busy_timeout") : 0,
                     5000);
        CHECK_INT_EQ(conf ? *(int *)sqh_conf_field(H.desc, conf, "synchronous") : 0, 1);
        CHECK_INT_EQ(conf ? *(long long *)sqh_conf_field(H.desc, conf,
                                                         "max_attempts_default")
                          : 0,
                     3);
    }
    sqh_conf_free(H.desc, conf);
}

/* Open `path`, expect rc and an error line naming the file and `phrase`. */
static void expect_open_fails(const char *name, const char *path, int want,
                              const char *phrase)
{
    struct sqh_store s;
    int rc = sqh_open(&H, path, &s);
    const char *e = temper_stage_error(s.st);
    TEST(name) {
        CHECK_INT_EQ(rc, want);
        CHECK(s.state == NULL);
        CHECK_STR_CONTAINS(e, path);
        CHECK_STR_CONTAINS(e, phrase);
        CHECK(e && strchr(e, '\n') == NULL);
    }
    sqh_close(&H, &s);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        for (int i = 0; i < 64; i++) {
            fputs(text, f);
        }
        fclose(f);
    }
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = sqh_raw(path);
    if (db) {
        sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    sqlite3_close(db);
}

static void test_open_null(void)
{
    struct temper_stage *st = temper_stage_new(H.desc, "default");
    void *state = (void *)&state;
    void *conf = sqh_conf_new(H.desc, NULL);
    H.desc->close(NULL);
    TEST("open without conf, location or state pointer") {
        CHECK_INT_EQ(H.desc->open(st, NULL, &state), TEMPER_EINVAL);
        CHECK(state == NULL);
        CHECK_INT_EQ(H.desc->open(st, conf, &state), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(temper_stage_error(st), "location");
        CHECK_INT_EQ(H.desc->open(st, conf, NULL), TEMPER_EINVAL);
        CHECK(1); /* close(NULL) above did not crash */
    }
    sqh_conf_free(H.desc, conf);
    temper_stage_free(st);
}

static void test_open_failures(void)
{
    char *missing = sqh_path(&H, "missing/state.db");
    char *plain = sqh_path(&H, "plain");
    char *under_plain = sqh_path(&H, "plain/state.db");
    char *adir = sqh_path(&H, "adir");
    char *garbage = sqh_path(&H, "garbage.db");
    char *newer = sqh_path(&H, "newer.db");
    char *other = sqh_path(&H, "other.db");
    write_file(plain, "x");
    mkdir(adir, 0700);
    write_file(garbage, "this is not an SQLite database, only text. ");
    raw_exec(newer, "PRAGMA application_id = 1414548818; PRAGMA user_version = 99;"
                    "CREATE TABLE future (x);");
    raw_exec(other, "CREATE TABLE someone_elses (x);");
    expect_open_fails("missing directory", missing, TEMPER_EIO, "No such file");
    expect_open_fails("parent is a file", under_plain, TEMPER_EIO, "Not a directory");
    expect_open_fails("location is a directory", adir, TEMPER_EINVAL, "not a regular file");
    expect_open_fails("file that is not a database", garbage, TEMPER_EFORMAT,
                      "file is not a database");
    expect_open_fails("newer schema refused", newer, TEMPER_EFORMAT,
                      "schema version 99 is newer");
    expect_open_fails("another program's database", other, TEMPER_EFORMAT,
                      "not a temper store");
    if (geteuid() != 0) {
        char *ro = sqh_path(&H, "ro");
        char *in_ro = sqh_path(&H, "ro/state.db");
        mkdir(ro, 0500);
        expect_open_fails("unwritable directory", in_ro, TEMPER_EIO, "Permission denied");
        chmod(ro, 0700);
        struct sqh_store rs;
        char *rofile = sqh_path(&H, "ro/state.db");
        int orc = sqh_open(&H, rofile, &rs);
        sqh_close(&H, &rs);
        chmod(rofile, 0400);
        TEST("store created") {
            CHECK_INT_EQ(orc, TEMPER_OK);
        }
        expect_open_fails("read-only store", rofile, TEMPER_EIO, "read-only");
        free(rofile);
        free(ro);
        free(in_ro);
    } else {
        tap_diag("running as root: the permission check of an unwritable directory "
                 "does not apply (missing and non-directory parents are checked)");
    }
    free(missing);
    free(plain);
    free(under_plain);
    free(adir);
    free(garbage);
    free(newer);
    free(other);
}

static void test_open_fresh(void)
{
    char *path = sqh_path(&H, "fresh.db");
    char *wal = sqh_path(&H, "fresh.db-wal");
    struct sqh_store s;
    struct stat sb;
    char *value = NULL;
    int rc = sqh_open(&H, path, &s);
    sqlite3 *raw = sqh_raw(path);
    char *mode = raw ? sqh_raw_text(raw, "PRAGMA journal_mode") : NULL;
    TEST("fresh store") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
        CHECK_STR_EQ(mode, "wal");
        CHECK_INT_EQ(sqh_raw_int(raw, "PRAGMA user_version"), 2);
        CHECK_INT_EQ(sqh_raw_int(raw, "PRAGMA application_id"), 1414548818);
        CHECK_INT_EQ(sqh_raw_int(raw, "SELECT count(*) FROM sqlite_master WHERE type ="
                                      " 'index' AND name = 'build_packages_name'"),
                     1);
        CHECK_INT_EQ(OPS->kv_put(s.state, "t", "k", "kept"), TEMPER_OK);
        CHECK(stat(wal, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    }
    free(mode);
    sqlite3_close(raw);
    sqh_close(&H, &s);
    void *conf = sqh_conf_new(H.desc, path);
    struct temper_stage *st = temper_stage_new(H.desc, "default");
    void *state = NULL;
    *(int *)sqh_conf_field(H.desc, conf, "synchronous") = 0; /* normal */
    rc = H.desc->open(st, conf, &state);
    TEST("reopen: migrations idempotent, data kept") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(state ? OPS->kv_get(state, "t", "k", &value) : -1, TEMPER_OK);
        CHECK_STR_EQ(value, "kept");
    }
    free(value);
    H.desc->close(state);
    temper_stage_free(st);
    sqh_conf_free(H.desc, conf);
    free(path);
    free(wal);
}

/* ---- key/value --------------------------------------------------------- */

static void test_kv(void *s)
{
    char *v = (char *)"untouched";
    const char *tricky = "it's \"quoted\"; DROP TABLE kv; --";
    TEST("kv absent") {
        CHECK_INT_EQ(OPS->kv_get(s, "tracker.github", "etag", &v), TEMPER_ENOTFOUND);
        CHECK(v == NULL);
    }
    TEST("kv put, get, overwrite, namespaces") {
        CHECK_INT_EQ(OPS->kv_put(s, "tracker.github", "etag", "W/\"1\""), TEMPER_OK);
        CHECK_INT_EQ(OPS->kv_put(s, "tracker.github", "etag", tricky), TEMPER_OK);
        CHECK_INT_EQ(OPS->kv_get(s, "tracker.github", "etag", &v), TEMPER_OK);
        CHECK_STR_EQ(v, tricky);
        free(v);
        v = NULL;
        CHECK_INT_EQ(OPS->kv_get(s, "tracker.alpine", "etag", &v), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(OPS->kv_put(s, "tracker.alpine", "etag", ""), TEMPER_OK);
        CHECK_INT_EQ(OPS->kv_get(s, "tracker.alpine", "etag", &v), TEMPER_OK);
        CHECK_STR_EQ(v, "");
        free(v);
        v = NULL;
    }
    TEST("kv delete and bad arguments") {
        CHECK_INT_EQ(OPS->kv_put(s, "tracker.github", "etag", NULL), TEMPER_OK);
        CHECK_INT_EQ(OPS->kv_get(s, "tracker.github", "etag", &v), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(OPS->kv_put(s, "tracker.github", "etag", NULL), TEMPER_OK);
        CHECK_INT_EQ(OPS->kv_put(s, NULL, "k", "v"), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->kv_get(s, "ns", NULL, &v), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->kv_get(NULL, "ns", "k", &v), TEMPER_EINVAL);
    }
}

/* ---- collectors -------------------------------------------------------- */

struct names {
    int n;
    int stop_at; /* return 42 from the callback number stop_at (1-based) */
    char list[4096];
    struct temper_image_record last;
    char last_name[64], last_pinned[64], last_base[64];
};

static void names_add(struct names *c, const char *name)
{
    size_t len = strlen(c->list);
    snprintf(c->list + len, sizeof c->list - len, "%s%s", len ? "," : "",
             name ? name : "(null)");
    c->n++;
}

static int collect_image(void *ctx, const struct temper_image_record *img)
{
    struct names *c = ctx;
    names_add(c, img->name);
    c->last = *img;
    snprintf(c->last_name, sizeof c->last_name, "%s", img->name ? img->name : "");
    snprintf(c->last_pinned, sizeof c->last_pinned, "%s",
             img->pinned_version ? img->pinned_version : "(null)");
    snprintf(c->last_base, sizeof c->last_base, "%s", img->base ? img->base : "(null)");
    return c->stop_at && c->n == c->stop_at ? 42 : 0;
}

static int collect_package(void *ctx, const struct temper_package *p)
{
    struct names *c = ctx;
    if (c->n < 20) {
        names_add(c, p->name);
    } else {
        c->n++;
    }
    return c->stop_at && c->n == c->stop_at ? 42 : 0;
}

/* ---- images ------------------------------------------------------------ */

static void test_images(void *s)
{
    struct temper_image_record py = {
        .size = sizeof py, .name = "python", .base = "image:debian",
        .distribution = "debian:bookworm", .support_until = 0,
        .pinned_version = "3.11.8", .last_digest = "sha256:aa",
    };
    struct names c = { 0 };
    TEST("image put and get") {
        CHECK_INT_EQ(OPS->image_put(s, &py), TEMPER_OK);
        CHECK_INT_EQ(OPS->image_get(s, "python", collect_image, &c), TEMPER_OK);
        CHECK_INT_EQ(c.n, 1);
        CHECK_STR_EQ(c.last_name, "python");
        CHECK_STR_EQ(c.last_pinned, "3.11.8");
        CHECK_STR_EQ(c.last_base, "image:debian");
    }
    py.pinned_version = "3.11.9";
    py.base = NULL;
    py.support_until = 1234;
    memset(&c, 0, sizeof c);
    TEST("image put replaces the record") {
        CHECK_INT_EQ(OPS->image_put(s, &py), TEMPER_OK);
        CHECK_INT_EQ(OPS->image_get(s, "python", collect_image, &c), TEMPER_OK);
        CHECK_STR_EQ(c.last_pinned, "3.11.9");
        CHECK_STR_EQ(c.last_base, "(null)");
        CHECK_INT_EQ(c.last.support_until, 1234);
    }
    struct temper_image_record node = { .size = sizeof node, .name = "node" };
    struct temper_image_record bad = { 0 };
    struct names all = { 0 }, none = { 0 }, stop = { .stop_at = 1 };
    TEST("image get: unknown, all, bad records, stop") {
        CHECK_INT_EQ(OPS->image_get(s, "nope", collect_image, &none), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(none.n, 0);
        CHECK_INT_EQ(OPS->image_put(s, &node), TEMPER_OK);
        CHECK_INT_EQ(OPS->image_get(s, NULL, collect_image, &all), TEMPER_OK);
        CHECK_STR_EQ(all.list, "node,python");
        CHECK_INT_EQ(OPS->image_put(s, &bad), TEMPER_EINVAL);
        bad.size = sizeof bad;
        CHECK_INT_EQ(OPS->image_put(s, &bad), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->image_get(s, NULL, collect_image, &stop), 42);
        CHECK_INT_EQ(stop.n, 1);
    }
}

/* ---- builds ------------------------------------------------------------ */

static struct temper_package pkg(const char *name, const char *source, const char *dist)
{
    struct temper_package p = {
        .size = sizeof p, .name = name, .version = "1.0-1", .arch = "amd64",
        .source = source, .distribution = dist,
    };
    return p;
}

static int record_build(void *s, const char *image, const char *variant, const char *dist,
                        const struct temper_package *p, size_t n)
{
    struct temper_build_record b = {
        .size = sizeof b, .image = image, .variant = variant, .version = "1",
        .digest = "sha256:0123", .distribution = dist, .built_at = 1000, .run_id = 0,
    };
    return OPS->build_record(s, &b, p, n);
}

static int check_full_package(void *ctx, const struct temper_package *p)
{
    int *ok = ctx;
    *ok = p->size == sizeof *p && strcmp(p->name, "curl") == 0 &&
          strcmp(p->purl, "pkg:deb/debian/curl@7.88.1-10?arch=amd64") == 0 &&
          strcmp(p->sha256, "ab12") == 0 && strcmp(p->license, "curl") == 0 &&
          strcmp(p->supplier, "Debian") == 0 && strcmp(p->url, "file:///curl.deb") == 0 &&
          strcmp(p->source_version, "7.88.1-10") == 0 && p->source == NULL;
    return 0;
}

static void test_build_paging(void *s)
{
    static char names[300][24];
    static struct temper_package many[300];
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], sizeof names[i], "many-pkg-%03d", i);
        many[i] = pkg(names[i], NULL, "debian:bookworm");
    }
    struct names c = { 0 }, stop = { .stop_at = 150 };
    TEST("300 packages are listed across pages") {
        CHECK_INT_EQ(record_build(s, "many", NULL, "debian:bookworm", many, 300), TEMPER_OK);
        CHECK_INT_EQ(OPS->build_packages(s, "many", NULL, collect_package, &c), TEMPER_OK);
        CHECK_INT_EQ(c.n, 300);
        CHECK_INT_EQ(OPS->build_packages(s, "many", NULL, collect_package, &stop), 42);
        CHECK_INT_EQ(stop.n, 150);
    }
}

static void test_builds(void *s)
{
    struct temper_package p3[3] = {
        pkg("libssl3", "openssl", "debian:bookworm"),
        pkg("python3.11-minimal", "python3.11", "debian:bookworm"),
        pkg("libc6", "glibc", "debian:bookworm"),
    };
    struct names c = { 0 }, c2 = { 0 }, c3 = { 0 };
    TEST("build record, packages of the latest build") {
        CHECK_INT_EQ(record_build(s, "python", NULL, "debian:bookworm", p3, 3), TEMPER_OK);
        CHECK_INT_EQ(OPS->build_packages(s, "python", NULL, collect_package, &c), TEMPER_OK);
        CHECK_STR_EQ(c.list, "libssl3,python3.11-minimal,libc6");
        CHECK_INT_EQ(OPS->build_packages(s, "python", "dev", collect_package, &c3),
                     TEMPER_ENOTFOUND);
        CHECK_INT_EQ(record_build(s, "python", NULL, "debian:bookworm", p3 + 1, 2),
                     TEMPER_OK);
        CHECK_INT_EQ(OPS->build_packages(s, "python", NULL, collect_package, &c2),
                     TEMPER_OK);
        CHECK_STR_EQ(c2.list, "python3.11-minimal,libc6");
    }
    struct temper_package full = {
        .size = sizeof full, .name = "curl", .version = "7.88.1-10", .arch = "amd64",
        .source_version = "7.88.1-10", .distribution = "debian:bookworm",
        .purl = "pkg:deb/debian/curl@7.88.1-10?arch=amd64", .sha256 = "ab12",
        .license = "curl", .supplier = "Debian", .url = "file:///curl.deb",
    };
    int ok = 0;
    TEST("package fields round trip") {
        CHECK_INT_EQ(record_build(s, "curl", "slim", "debian:bookworm", &full, 1), TEMPER_OK);
        CHECK_INT_EQ(OPS->build_packages(s, "curl", "slim", check_full_package, &ok),
                     TEMPER_OK);
        CHECK(ok);
    }
    struct temper_package broken[2] = { pkg("zlib1g", "zlib", NULL), pkg(NULL, NULL, NULL) };
    struct temper_build_record noimage = { .size = sizeof noimage };
    struct names after = { 0 };
    TEST("a bad build is refused as a whole") {
        CHECK_INT_EQ(record_build(s, "python", NULL, "debian:bookworm", broken, 2),
                     TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->build_packages(s, "python", NULL, collect_package, &after),
                     TEMPER_OK);
        CHECK_STR_EQ(after.list, "python3.11-minimal,libc6");
        CHECK_INT_EQ(OPS->build_record(s, &noimage, NULL, 0), TEMPER_EINVAL);
        CHECK_INT_EQ(record_build(s, "python", NULL, NULL, NULL, 2), TEMPER_EINVAL);
    }
    test_build_paging(s);
}

/* ---- transitive monitoring --------------------------------------------- */

#define NOW 1000000LL

static void put_image(void *s, const char *name, long long support_until)
{
    struct temper_image_record img = {
        .size = sizeof img, .name = name, .distribution = "debian:bookworm",
        .support_until = support_until,
    };
    if (OPS->image_put(s, &img) != TEMPER_OK) {
        tap_diag("image_put failed");
    }
}

static const char *lookup(void *s, const char *package, const char *dist, long long now,
                          struct names *c)
{
    memset(c, 0, sizeof *c);
    int rc = OPS->images_with_package(s, package, dist, now, collect_image, c);
    return rc == TEMPER_OK ? c->list : "(error)";
}

static void setup_monitoring(void *s)
{
    const char *deb = "debian:bookworm";
    struct temper_package ssl = pkg("libssl3", "openssl", deb);
    struct temper_package ossl = pkg("openssl", NULL, deb);
    struct temper_package zlib = pkg("zlib1g", "zlib", deb);
    struct temper_package apk = pkg("libssl3", "openssl", "alpine:v3.19");
    struct temper_package nodist = pkg("libssl3", "openssl", NULL);
    put_image(s, "app-a", 0);            /* forever */
    put_image(s, "app-b", NOW - 1);      /* support ended */
    put_image(s, "app-c", NOW + 1000);   /* still supported */
    put_image(s, "app-d", 0);
    put_image(s, "app-e", 0);
    put_image(s, "app-f", 0);
    int rc = record_build(s, "app-a", NULL, deb, &ssl, 1);
    rc |= record_build(s, "app-b", NULL, deb, &ssl, 1);
    rc |= record_build(s, "app-c", NULL, deb, &ossl, 1);
    rc |= record_build(s, "app-d", NULL, deb, &ssl, 1);   /* older build had it */
    rc |= record_build(s, "app-d", NULL, deb, &zlib, 1);  /* latest does not */
    rc |= record_build(s, "app-e", NULL, "alpine:v3.19", &apk, 1);
    rc |= record_build(s, "app-f", "dev", deb, &ssl, 1);  /* one variant has it */
    rc |= record_build(s, "app-f", NULL, deb, &zlib, 1);
    rc |= record_build(s, "app-g", NULL, deb, &nodist, 1); /* no image record */
    TEST("monitoring fixtures recorded") {
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
}

static void test_images_with_package(void *s)
{
    struct names c, stop = { .stop_at = 2 };
    setup_monitoring(s);
    TEST("binary name, distribution, window, latest build only") {
        CHECK_STR_EQ(lookup(s, "libssl3", "debian:bookworm", NOW, &c), "app-a,app-f,app-g");
    }
    TEST("source name") {
        CHECK_STR_EQ(lookup(s, "openssl", "debian:bookworm", NOW, &c),
                     "app-a,app-c,app-f,app-g");
    }
    TEST("any distribution") {
        CHECK_STR_EQ(lookup(s, "libssl3", NULL, NOW, &c), "app-a,app-e,app-f,app-g");
        CHECK_STR_EQ(lookup(s, "libssl3", "alpine:v3.19", NOW, &c), "app-e");
    }
    TEST("support window boundaries") {
        CHECK_STR_EQ(lookup(s, "libssl3", "debian:bookworm", NOW - 1, &c),
                     "app-a,app-b,app-f,app-g");
        CHECK_STR_EQ(lookup(s, "openssl", "debian:bookworm", NOW + 1001, &c),
                     "app-a,app-f,app-g");
    }
    TEST("no match, bad arguments, callback stop") {
        CHECK_STR_EQ(lookup(s, "zlib1g", "alpine:v3.19", NOW, &c), "");
        CHECK_STR_EQ(lookup(s, "zlib1g", NULL, NOW, &c), "app-d,app-f");
        CHECK_INT_EQ(OPS->images_with_package(s, NULL, NULL, NOW, collect_image, &c),
                     TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->images_with_package(s, "libssl3", NULL, NOW, collect_image,
                                              &stop),
                     42);
        CHECK_INT_EQ(stop.n, 2);
    }
}

/* ---- the package index on 100k rows ------------------------------------ */

static int fill_big(void *s)
{
    static char names[1000][24], sources[1000][24];
    static struct temper_package p[1000];
    int rc = TEMPER_OK;
    for (int img = 0; img < 100 && rc == TEMPER_OK; img++) {
        for (int j = 0; j < 1000; j++) {
            snprintf(names[j], sizeof names[j], "p%03d-%04d", img, j);
            snprintf(sources[j], sizeof sources[j], "s%03d-%02d", img, j / 10);
            p[j] = pkg(j == 0 && img % 10 == 0 ? "libcommon" : names[j], sources[j],
                       "debian:bookworm");
        }
        char image[16];
        snprintf(image, sizeof image, "img%03d", img);
        rc = record_build(s, image, NULL, "debian:bookworm", p, 1000);
    }
    return rc;
}

static char *query_plan(const char *path)
{
    sqlite3 *db = sqh_raw(path);
    sqlite3_stmt *stmt = NULL;
    struct temper_buf b;
    temper_buf_init(&b, 16384);
    if (db && sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN " SQS_SQL_IMAGES_WITH_PACKAGE, -1,
                                 &stmt, NULL) == SQLITE_OK) {
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(stmt, 3);
            if (temper_buf_printf(&b, "%s|", d ? d : "") != TEMPER_OK) {
                break;
            }
        }
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return temper_buf_take(&b, NULL);
}

static void test_index(void)
{
    char *path = sqh_path(&H, "big.db");
    struct sqh_store s;
    struct names c;
    int rc = sqh_open(&H, path, &s);
    if (rc == TEMPER_OK) {
        rc = fill_big(s.state);
    }
    TEST("100 images of 1000 packages recorded") {
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
    char *plan = query_plan(path);
    printf("# plan: %s\n", plan ? plan : "(none)");
    TEST("images_with_package uses the name and source indexes") {
        /* each page is two index range scans from :after, merged in order */
        CHECK_STR_CONTAINS(plan, "INDEX build_packages_name (name=? AND image>?)");
        CHECK_STR_CONTAINS(plan,
                           "INDEX build_packages_source (source=? AND image>?)");
        CHECK_STR_CONTAINS(plan, "MERGE (UNION)");
        CHECK(plan && strstr(plan, "|SCAN p|") == NULL && strncmp(plan, "SCAN p|", 7) != 0);
        CHECK(plan && strstr(plan, "SCAN b") == NULL && strstr(plan, "SCAN n") == NULL);
    }
    free(plan);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int hits = 0;
    for (int i = 0; i < 200 && rc == TEMPER_OK; i++) {
        char name[24];
        snprintf(name, sizeof name, "p%03d-%04d", i % 100, 1 + i);
        hits += strcmp(lookup(s.state, name, "debian:bookworm", NOW, &c), "") != 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ms = (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("# 200 package lookups on 100k rows took %lld ms\n", ms);
    TEST("lookups on 100k rows are right") {
        CHECK_INT_EQ(hits, 200);
        CHECK_STR_EQ(lookup(s.state, "libcommon", "debian:bookworm", NOW, &c),
                     "img000,img010,img020,img030,img040,img050,img060,img070,img080,img090");
        CHECK_STR_EQ(lookup(s.state, "s050-07", NULL, NOW, &c), "img050");
        CHECK_STR_EQ(lookup(s.state, "p999-0001", NULL, NOW, &c), "");
    }
    sqh_close(&H, &s);
    free(path);
}


static void run_all(void)
{
    test_options();
    test_open_null();
    test_open_failures();
    test_open_fresh();
    char *path = sqh_path(&H, "main.db");
    struct sqh_store s;
    int rc = sqh_open(&H, path, &s);
    TEST("open the main store") {
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
    if (rc == TEMPER_OK) {
        test_kv(s.state);
        test_images(s.state);
        test_builds(s.state);
        test_images_with_package(s.state);
    }
    sqh_close(&H, &s);
    test_index();
    free(path);
}

int main(void)
{
    int rc = sqh_init(&H);
    TEST("load store_sqlite through the loader") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK(H.ops && H.ops->job_claim && H.ops->audit_list);
    }
    if (rc == TEMPER_OK) {
        run_all();
    }
    sqh_cleanup(&H);
    return tap_done();
}

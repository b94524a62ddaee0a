/* temper — store_sqlite through the real loader: option table, open/close and
 * their failures, the query plan of the package lookup on 100k rows, and
 * part 1 of the store conformance suite (key/value state, images, builds and
 * the package index: store_conformance_state.c).  The job queue, runs,
 * reviews and the audit log are part 2 (store_sqlite_queue_test), crash
 * safety is store_sqlite_crash_test. */
#include "config.h"
#include "tests/plugins/store_conformance.h"
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

#include "tests/plugins/store_conformance_state.c"

static struct sqh H;
#define OPS (H.ops)

static const struct temper_option *opt(const char *key)
{
    return sqh_option(H.desc, key);
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
        CHECK_INT_EQ(sqh_raw_int(raw, "PRAGMA user_version"), 3);
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
            p[j] = store_conf_pkg(j == 0 && img % 10 == 0 ? "libcommon" : names[j], sources[j],
                       "debian:bookworm");
        }
        char image[16];
        snprintf(image, sizeof image, "img%03d", img);
        rc = store_conf_record_build(s, image, NULL, "debian:bookworm", p, 1000);
    }
    return rc;
}

static char *query_plan(const char *path, const char *sql)
{
    sqlite3 *db = sqh_raw(path);
    sqlite3_stmt *stmt = NULL;
    struct temper_buf b;
    temper_buf_init(&b, 16384);
    if (db && sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK) {
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
    char c[4096];
    int rc = sqh_open(&H, path, &s);
    if (rc == TEMPER_OK) {
        rc = fill_big(s.state);
    }
    TEST("100 images of 1000 packages recorded") {
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
    char *by_name = query_plan(path, "EXPLAIN QUERY PLAN " SQS_SQL_AFFECTED_BY_NAME);
    char *by_source = query_plan(path, "EXPLAIN QUERY PLAN " SQS_SQL_AFFECTED_BY_SOURCE);
    char *images = query_plan(path, "EXPLAIN QUERY PLAN " SQS_SQL_AFFECTED_IMAGES);
    printf("# plans: %s / %s / %s\n", by_name ? by_name : "(none)",
           by_source ? by_source : "(none)", images ? images : "(none)");
    TEST("images_with_package: index range scans in image order, no sort") {
        /* each package cursor reads only its index from :after on, already
         * in image order; the image rows are one ordered walk (or a seek) of
         * the WITHOUT ROWID images table; the plugin merges the three */
        CHECK_STR_CONTAINS(by_name, "COVERING INDEX build_packages_name (name=? AND image>?)");
        CHECK_STR_CONTAINS(by_source,
                           "COVERING INDEX build_packages_source (source=? AND image>?)");
        CHECK_STR_CONTAINS(images, "SEARCH images USING PRIMARY KEY (name>?)");
        CHECK(by_name && strstr(by_name, "TEMP B-TREE") == NULL);
        CHECK(by_source && strstr(by_source, "TEMP B-TREE") == NULL);
        CHECK(images && strstr(images, "TEMP B-TREE") == NULL);
        CHECK(by_name && strstr(by_name, "SCAN ") == NULL);
        CHECK(by_source && strstr(by_source, "SCAN ") == NULL);
    }
    free(by_name);
    free(by_source);
    free(images);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int hits = 0;
    for (int i = 0; i < 200 && rc == TEMPER_OK; i++) {
        char name[24];
        snprintf(name, sizeof name, "p%03d-%04d", i % 100, 1 + i);
        hits += strcmp(store_conf_lookup(&H, s.state, name, "debian:bookworm", NOW, c, sizeof c), "") != 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ms = (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("# 200 package lookups on 100k rows took %lld ms\n", ms);
    TEST("lookups on 100k rows are right") {
        CHECK_INT_EQ(hits, 200);
        CHECK_STR_EQ(store_conf_lookup(&H, s.state, "libcommon", "debian:bookworm", NOW, c, sizeof c),
                     "img000,img010,img020,img030,img040,img050,img060,img070,img080,img090");
        CHECK_STR_EQ(store_conf_lookup(&H, s.state, "s050-07", NULL, NOW, c, sizeof c), "img050");
        CHECK_STR_EQ(store_conf_lookup(&H, s.state, "p999-0001", NULL, NOW, c, sizeof c), "");
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
    struct store_backend b;
    store_sqlite_backend(&H, &b);
    store_conformance_state(&H, &b);
    test_index();
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

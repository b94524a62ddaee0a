/* temper — store_postgres through the real loader, against a real
 * PostgreSQL server (our own throw-away cluster on 127.0.0.1, or the CI
 * run's): the option table, the connection policy (TLS verification for
 * remote hosts, conninfo_file, passwords never in errors), migrations
 * (idempotent, a newer schema refused), then the whole store conformance
 * suite (store_conformance_state.c, store_conformance_queue.c), each group
 * on a fresh database.  Several processes: store_postgres_procs_test. */
#include "config.h"
#include "tests/plugins/store_pg_harness.h"
#include "tests/lib/tap.h"
#include "sdk/host.h"
#include "core/loader.h"
#include <temper/buf.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/plugins/store_conformance_state.c"
#include "tests/plugins/store_conformance_queue.c"

static struct sqh H;
static struct pgh P;

static const struct temper_option *opt(const char *key)
{
    return sqh_option(H.desc, key);
}

static void test_options(void)
{
    const struct temper_option *loc = opt("location"), *ci = opt("conninfo");
    const struct temper_option *ssl = opt("sslmode"), *ct = opt("connect_timeout");
    char *err = NULL;
    TEST("option table") {
        CHECK(H.desc->kind == TEMPER_KIND_STORE);
        CHECK_STR_EQ(H.desc->name, "postgres");
        CHECK(loc && (loc->flags & TEMPER_OPT_SECRET));
        CHECK(ci && (ci->flags & TEMPER_OPT_SECRET));
        CHECK(opt("conninfo_file") && opt("sslrootcert") && opt("statement_timeout"));
        CHECK_STR_EQ(ssl ? ssl->def : NULL, "auto");
        CHECK_STR_EQ(ct ? ct->def : NULL, "10s");
        CHECK_INT_EQ(temper_options_check_table(H.desc->options, H.desc->conf_size, &err),
                     TEMPER_OK);
    }
    free(err);
}

/* Open with conf fields set by the caller; returns rc, *e the error. */
struct attempt {
    void *conf;
    struct temper_stage *st;
    void *state;
    int rc;
};

static void attempt_init(struct attempt *a, const char *location)
{
    memset(a, 0, sizeof *a);
    a->conf = sqh_conf_new(H.desc, location);
    a->st = temper_stage_new(H.desc, "default");
}

static void set_str(struct attempt *a, const char *key, const char *v)
{
    char **f = sqh_conf_field(H.desc, a->conf, key);
    free(*f);
    *f = v ? strdup(v) : NULL;
}

static const char *attempt_open(struct attempt *a)
{
    a->rc = H.desc->open(a->st, a->conf, &a->state);
    return temper_stage_error(a->st) ? temper_stage_error(a->st) : "";
}

static void attempt_done(struct attempt *a)
{
    H.desc->close(a->state);
    sqh_conf_free(H.desc, a->conf);
    temper_stage_free(a->st);
}

static void test_open_refusals(void)
{
    struct attempt a;
    attempt_init(&a, NULL);
    const char *e = attempt_open(&a);
    TEST("no connection configured") {
        CHECK_INT_EQ(a.rc, TEMPER_EINVAL);
        CHECK_STR_CONTAINS(e, "conninfo");
        CHECK(a.state == NULL);
    }
    attempt_done(&a);
    attempt_init(&a, "host=db.example.org dbname=t password=Sup3rSecretPw sslmode=disable");
    e = attempt_open(&a);
    TEST("unverified TLS to a remote host is refused, without the password") {
        CHECK_INT_EQ(a.rc, TEMPER_EINVAL);
        CHECK_STR_CONTAINS(e, "sslmode disable does not verify the server");
        CHECK_STR_CONTAINS(e, "postgresql://db.example.org/t");
        CHECK(strstr(e, "Sup3rSecretPw") == NULL);
    }
    attempt_done(&a);
    attempt_init(&a, "host=db.example.org password='Sup3rSecretPw dbname=");
    e = attempt_open(&a);
    TEST("a connection string that does not parse is not quoted") {
        CHECK_INT_EQ(a.rc, TEMPER_EINVAL);
        CHECK_STR_CONTAINS(e, "not a valid libpq connection string");
        CHECK(strstr(e, "Sup3rSecretPw") == NULL);
    }
    attempt_done(&a);
    attempt_init(&a, "host=127.0.0.1");
    set_str(&a, "conninfo", "host=127.0.0.1");
    e = attempt_open(&a);
    TEST("location and conninfo are exclusive") {
        CHECK_INT_EQ(a.rc, TEMPER_EINVAL);
        CHECK_STR_CONTAINS(e, "not both");
    }
    attempt_done(&a);
}

static void test_password(const char *db)
{
    char *bad = pgh_conninfo_with(db, NULL, "Wr0ngPassw0rdXyz");
    struct attempt a;
    attempt_init(&a, bad);
    const char *e = attempt_open(&a);
    TEST("a wrong password: one line, the store named, no password") {
        CHECK_INT_EQ(a.rc, TEMPER_ENET);
        CHECK_STR_CONTAINS(e, "postgresql://");
        CHECK_STR_CONTAINS(e, "cannot connect");
        CHECK(strstr(e, "Wr0ngPassw0rdXyz") == NULL);
        CHECK(strchr(e, '\n') == NULL);
    }
    attempt_done(&a);
    free(bad);
}

/* conninfo in the INI without the password, the password in a file. */
static void test_conninfo_file(const char *db)
{
    char *nopw = pgh_conninfo_with(db, NULL, "");
    char *file = sqh_path(&H, "pg.conninfo");
    PQconninfoOption *o = PQconninfoParse(db, NULL);
    const char *pw = NULL;
    for (PQconninfoOption *i = o; i && i->keyword; i++) {
        pw = strcmp(i->keyword, "password") == 0 && i->val ? i->val : pw;
    }
    FILE *f = fopen(file, "w");
    if (f) {
        fprintf(f, "password='%s'\n", pw ? pw : "");
        fclose(f);
    }
    chmod(file, 0644);
    struct attempt a;
    attempt_init(&a, NULL);
    set_str(&a, "conninfo", nopw);
    set_str(&a, "conninfo_file", file);
    const char *e = attempt_open(&a);
    TEST("a world-readable conninfo_file is refused") {
        CHECK_INT_EQ(a.rc, TEMPER_EINVAL);
        CHECK_STR_CONTAINS(e, "readable by everyone");
    }
    attempt_done(&a);
    chmod(file, 0600);
    attempt_init(&a, NULL);
    set_str(&a, "conninfo", nopw);
    set_str(&a, "conninfo_file", file);
    attempt_open(&a);
    char *v = NULL;
    TEST("the password from conninfo_file, the rest from conninfo") {
        CHECK_INT_EQ(a.rc, TEMPER_OK);
        CHECK_INT_EQ(a.state ? H.ops->kv_put(a.state, "t", "k", "v") : -1, TEMPER_OK);
        CHECK_INT_EQ(a.state ? H.ops->kv_get(a.state, "t", "k", &v) : -1, TEMPER_OK);
        CHECK_STR_EQ(v, "v");
    }
    free(v);
    attempt_done(&a);
    PQconninfoFree(o);
    free(file);
    free(nopw);
}

static void test_migrations(void)
{
    char *db = pgh_fresh(&P, "migrate");
    struct sqh_store s1, s2;
    int rc1 = db ? sqh_open(&H, db, &s1) : -1;
    sqh_close(&H, &s1);
    int rc2 = db ? sqh_open(&H, db, &s2) : -1;
    sqh_close(&H, &s2);
    TEST("migrations: applied once, reopening is a no-op") {
        CHECK_INT_EQ(rc1, TEMPER_OK);
        CHECK_INT_EQ(rc2, TEMPER_OK);
        CHECK_INT_EQ(pgh_int(db, "SELECT count(*) FROM schema_version"), 2);
        CHECK_INT_EQ(pgh_int(db, "SELECT max(version) FROM schema_version"), 2);
        CHECK_INT_EQ(pgh_int(db, "SELECT count(*) FROM pg_indexes WHERE indexname ="
                                 " 'build_packages_name'"),
                     1);
    }
    if (db) {
        test_password(db);
        test_conninfo_file(db);
    }
    pgh_exec(db, "INSERT INTO schema_version (version) VALUES (99)", NULL);
    struct attempt a;
    attempt_init(&a, db);
    const char *e = attempt_open(&a);
    TEST("a newer schema is refused") {
        CHECK_INT_EQ(a.rc, TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(e, "schema version 99 is newer");
    }
    attempt_done(&a);
    free(db);
}

/* Issue #11: the lease is on the server's clock.  Two workers whose clocks
 * are 2 h behind and 2 h ahead of the server's agree on whose lease expired;
 * a short lease expires in the server's time whatever the caller says. */
#define SRV_MS "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"
#define HOURS2 7200000LL

static int near(long long v, long long want)
{
    return v >= want - 30000 && v <= want + 30000;
}

static void test_server_clock(void)
{
    unsetenv("TEMPER_NOW"); /* not pinned: the server's clock counts */
    char *db = pgh_fresh(&P, "clock");
    struct sqh_store s;
    if (!db || sqh_open(&H, db, &s) != TEMPER_OK) {
        TEST("server clock: a fresh store") {
            CHECK(0);
        }
        free(db);
        return;
    }
    void *st = s.state;
    struct temper_job j = { .size = sizeof j, .image = (char *)"python" };
    struct temper_job out;
    long long id = 0, srv = pgh_int(db, SRV_MS);
    bool merged = false;
    TEST("server clock: a worker 2 h behind gets a lease on the server's clock") {
        CHECK_INT_EQ(H.ops->job_enqueue(st, &j, &id, &merged), TEMPER_OK);
        CHECK_INT_EQ(H.ops->job_claim(st, "behind", srv - HOURS2, 60000, &out), TEMPER_OK);
        CHECK(near(out.lease_until, srv + 60000));
        temper_job_cleanup(&out);
        CHECK_INT_EQ(H.ops->job_heartbeat(st, id, "behind", srv - HOURS2, 60000), TEMPER_OK);
        CHECK(near(pgh_int(db, "SELECT lease_until FROM jobs"), srv + 60000));
    }
    TEST("server clock: a worker 2 h ahead does not take the live job") {
        CHECK_INT_EQ(H.ops->job_claim(st, "ahead", srv + HOURS2, 60000, &out),
                     TEMPER_ENOTFOUND);
        temper_job_cleanup(&out);
    }
    TEST("server clock: a retry waits retry_ms of the server's time") {
        CHECK_INT_EQ(H.ops->job_fail(st, id, "behind", "x", srv - HOURS2, 60000), TEMPER_OK);
        CHECK(near(pgh_int(db, "SELECT not_before FROM jobs"), srv + 60000));
        CHECK_INT_EQ(H.ops->job_claim(st, "ahead", srv + HOURS2, 60000, &out),
                     TEMPER_ENOTFOUND);
        temper_job_cleanup(&out);
        CHECK_INT_EQ(pgh_exec(db, "UPDATE jobs SET not_before = 0", NULL), 0);
    }
    TEST("server clock: a lease expires in the server's time, whatever the caller says") {
        CHECK_INT_EQ(H.ops->job_claim(st, "behind", srv - HOURS2, 200, &out), TEMPER_OK);
        temper_job_cleanup(&out);
        usleep(400000);
        CHECK_INT_EQ(H.ops->job_claim(st, "other", srv - HOURS2, 60000, &out), TEMPER_OK);
        CHECK_STR_EQ(out.worker, "other");
        temper_job_cleanup(&out);
        CHECK_INT_EQ(H.ops->job_heartbeat(st, id, "behind", srv, 60000), TEMPER_ESTATE);
        CHECK_INT_EQ(H.ops->job_complete(st, id, "behind"), TEMPER_ESTATE);
        CHECK_INT_EQ(H.ops->job_complete(st, id, "other"), TEMPER_OK);
    }
    sqh_close(&H, &s);
    free(db);
}

static void run_all(void)
{
    struct store_backend b;
    test_options();
    test_open_refusals();
    test_migrations();
    pgh_backend(&P, &b);
    store_conformance_state(&H, &b);
    store_conformance_queue(&H, &b);
    test_server_clock();
}

int main(void)
{
    int srv = pgh_start(&P, true);
    if (srv == 77) {
        printf("1..0 # SKIP PostgreSQL is not installed\n");
        return 0;
    }
    int rc = sqh_init_plugin(&H, "postgres");
    TEST("load store_postgres through the loader") {
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
    TEST("a PostgreSQL server for the test") {
        CHECK_INT_EQ(srv, 0);
    }
    if (rc == TEMPER_OK && srv == 0) {
        run_all();
    }
    pgh_stop(&P);
    sqh_cleanup(&H);
    return tap_done();
}

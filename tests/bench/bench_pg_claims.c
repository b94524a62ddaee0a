/* temper bench — job throughput of 8 worker processes on store_postgres (a
 * throw-away cluster on 127.0.0.1, see tests/plugins/pg_fixture.sh), next to
 * the same 8 workers on store_sqlite (the baseline), as a ratio.
 *
 * Each worker opens its own store and loops claim + complete until the
 * queue is empty; the figure is completed jobs per second of wall time from
 * the first fork to the last exit (a claim and a completion are two
 * transactions each).  Every completed id is reported to the parent, which
 * checks that no job ran twice and none was lost, and the store agrees.
 * Both stores make every commit durable (PostgreSQL with fsync on, SQLite
 * with synchronous = full), on the same disk.
 *
 *   make bench-pg-claims            (JOBS=2000 WORKERS=8 by default)
 * Not part of make check. */
#include "config.h"
#include "tests/plugins/store_crew.h"
#include "tests/plugins/store_pg_harness.h"
#include <temper/buf.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct tally tally;

static int env_int(const char *name, int def, int max)
{
    const char *v = getenv(name);
    long long n = 0;
    if (!v || temper_parse_ll(v, &n) != TEMPER_OK || n < 1 || n > max) {
        return def;
    }
    return (int)n;
}

/* Run the crew on `loc`; returns jobs per second, or -1 when a check failed. */
static double measure(struct sqh *h, const char *label, const char *loc, int jobs,
                      int workers, long long (*count_done)(const char *loc, void *ctx),
                      void *ctx)
{
    if (crew_enqueue(h, loc, jobs) != TEMPER_OK) {
        fprintf(stderr, "%s: cannot enqueue %d jobs\n", label, jobs);
        return -1;
    }
    memset(&tally, 0, sizeof tally);
    struct crew c;
    long long t0 = crew_now_ms();
    crew_start(&c, h, loc, workers, 0, 5000);
    int ok = crew_finish(&c, &tally, jobs, 0, NULL);
    long long ms = crew_now_ms() - t0;
    long long done = count_done(loc, ctx);
    double rate = ms > 0 ? jobs * 1000.0 / (double)ms : 0;
    printf("%-9s %d workers  %6d jobs  %7lld ms  %9.1f claims/s  ran twice: %d  lost: %d"
           "  errors: %d  done in store: %lld  workers ok: %d\n",
           label, workers, jobs, ms, rate, tally.dup, jobs - tally.total + tally.dup,
           tally.errors, done, ok);
    /* an error (e.g. SQLite's busy timeout) leaves a job to be re-claimed
     * when its lease expires: counted, and the job must still end done */
    if (tally.dup || tally.bad || done != jobs || tally.total - tally.dup != jobs) {
        fprintf(stderr, "%s: CHECK FAILED (workers ok %d of %d)\n", label, ok, workers);
        return -1;
    }
    return rate;
}

static long long pg_done(const char *loc, void *ctx)
{
    (void)ctx;
    return pgh_int(loc, "SELECT count(*) FROM jobs WHERE state = 3");
}

static long long sqlite_done(const char *loc, void *ctx)
{
    (void)ctx;
    sqlite3 *db = sqh_raw(loc);
    long long n = db ? sqh_raw_int(db, "SELECT count(*) FROM jobs WHERE state = 3") : -1;
    sqlite3_close(db);
    return n;
}

int main(void)
{
    int jobs = env_int("JOBS", 2000, CREW_MAX_JOBS);
    int workers = env_int("WORKERS", 8, CREW_MAX);
    struct sqh hs, hp;
    struct pgh pg;
    int rc = 1;
    if (sqh_init(&hs) != TEMPER_OK) {
        return 1;
    }
    if (sqh_init_plugin(&hp, "postgres") != TEMPER_OK) {
        sqh_cleanup(&hs);
        return 1;
    }
    /* durable commits on both sides: store_sqlite runs synchronous=full */
    setenv("PG_FIXTURE_FSYNC", "on", 1);
    if (pgh_start(&pg, false) != 0) {
        fprintf(stderr, "cannot start PostgreSQL\n");
        goto out;
    }
    char *sq = sqh_path(&hs, "bench.db");
    char *pl = pgh_fresh(&pg, "bench");
    double base = sq ? measure(&hs, "sqlite", sq, jobs, workers, sqlite_done, NULL) : -1;
    double pgr = pl ? measure(&hp, "postgres", pl, jobs, workers, pg_done, NULL) : -1;
    if (base > 0 && pgr > 0) {
        printf("postgres / sqlite throughput ratio: %.2f\n", pgr / base);
        rc = 0;
    }
    free(sq);
    free(pl);
    pgh_stop(&pg);
out:
    sqh_cleanup(&hp);
    sqh_cleanup(&hs);
    return rc;
}

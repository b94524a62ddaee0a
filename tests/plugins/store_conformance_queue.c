/* temper — store conformance, part 2: the job queue (dedup, priority,
 * leases, heartbeats, retries, park/release, listing), runs and stage
 * results, the review queue and the append-only audit log.  Each group runs
 * on a fresh store.  Run against every store plugin (store_conformance.h).
 *
 * Included by the test program (#include), not compiled on its own: the
 * TAP counter of tests/lib/tap.h is per translation unit. */
#include "tests/plugins/store_conformance.h"
#include "tests/lib/tap.h"
#include "sdk/host.h"
#include <temper/buf.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sqh *cq_h;
static const struct store_backend *BE;
#define OPS (cq_h->ops)

/* A copy of one job as listed. */
struct jobcopy {
    int found;
    int state, attempts, max_attempts, priority;
    long long not_before, lease_until;
    char worker[32], version[32], error[128];
    char change[8192];
};

static int open_fresh(const char *name, struct sqh_store *s)
{
    char *path = BE->fresh(BE, name);
    int rc = path ? sqh_open(cq_h, path, s) : TEMPER_ENOMEM;
    free(path);
    if (rc != TEMPER_OK) {
        printf("# cannot open a fresh store %s: %s\n", name,
               s->st ? temper_stage_error(s->st) : "(no stage)");
    }
    return rc;
}

static long long enqueue(void *s, const char *image, const char *key, int prio,
                         const char *change, bool *merged)
{
    struct temper_job j = {
        .size = sizeof j, .image = (char *)image, .reason = (char *)"package",
        .change = (char *)change, .dedup_key = (char *)key, .priority = prio,
    };
    long long id = -1;
    bool m = false;
    int rc = OPS->job_enqueue(s, &j, &id, &m);
    if (merged) {
        *merged = m;
    }
    return rc == TEMPER_OK ? id : rc;
}

struct find_ctx {
    long long id;
    struct jobcopy *out;
};

static int find_job(void *ctx, const struct temper_job *j)
{
    struct find_ctx *f = ctx;
    if (j->id != f->id) {
        return 0;
    }
    struct jobcopy *c = f->out;
    c->found = 1;
    c->state = (int)j->state;
    c->attempts = j->attempts;
    c->max_attempts = j->max_attempts;
    c->priority = j->priority;
    c->not_before = j->not_before;
    c->lease_until = j->lease_until;
    snprintf(c->worker, sizeof c->worker, "%s", j->worker ? j->worker : "(null)");
    snprintf(c->version, sizeof c->version, "%s", j->version ? j->version : "(null)");
    snprintf(c->error, sizeof c->error, "%s", j->last_error ? j->last_error : "(null)");
    snprintf(c->change, sizeof c->change, "%s", j->change ? j->change : "(null)");
    return 1;
}

static struct jobcopy get_job(void *s, long long id)
{
    struct jobcopy c;
    memset(&c, 0, sizeof c);
    struct find_ctx f = { id, &c };
    OPS->job_list(s, 0, find_job, &f);
    return c;
}

static long long claim(void *s, const char *worker, long long now, long long lease)
{
    struct temper_job out;
    int rc = OPS->job_claim(s, worker, now, lease, &out);
    long long id = rc == TEMPER_OK ? out.id : rc;
    temper_job_cleanup(&out);
    return id;
}

/* ---- enqueue and dedup ------------------------------------------------- */

static void test_enqueue(void)
{
    struct sqh_store s;
    bool merged = true;
    TEST("open queue.db") {
        CHECK_INT_EQ(open_fresh("queue.db", &s), TEMPER_OK);
    }
    long long id = enqueue(s.state, "python", NULL, 0, "{\"tracker\":\"github\"}", &merged);
    struct jobcopy c = get_job(s.state, id);
    TEST("enqueue: a change object is wrapped in an array, defaults") {
        CHECK(id > 0);
        CHECK(!merged);
        CHECK(c.found);
        CHECK_STR_EQ(c.change, "[{\"tracker\":\"github\"}]");
        CHECK_INT_EQ(c.state, TEMPER_JOB_QUEUED);
        CHECK_INT_EQ(c.attempts, 0);
        CHECK_INT_EQ(c.max_attempts, 3);
        CHECK_STR_EQ(c.worker, "(null)");
    }
    struct temper_job bad = { .size = sizeof bad, .image = (char *)"python",
                              .change = (char *)"{not json", .max_attempts = 5 };
    struct temper_job nosize = { .image = (char *)"python" };
    long long id5 = -1;
    TEST("enqueue: bad change, no image, no size; max_attempts kept") {
        CHECK_INT_EQ(OPS->job_enqueue(s.state, &bad, NULL, NULL), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(temper_stage_error(s.st), "not valid JSON");
        bad.change = NULL;
        CHECK_INT_EQ(OPS->job_enqueue(s.state, &bad, &id5, NULL), TEMPER_OK);
        CHECK_INT_EQ(get_job(s.state, id5).max_attempts, 5);
        bad.image = NULL;
        CHECK_INT_EQ(OPS->job_enqueue(s.state, &bad, NULL, NULL), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->job_enqueue(s.state, &nosize, NULL, NULL), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->job_enqueue(NULL, &nosize, NULL, NULL), TEMPER_EINVAL);
    }
    sqh_close(cq_h, &s);
}

static void test_dedup(void)
{
    struct sqh_store s;
    open_fresh("dedup.db", &s);
    long long ids[10];
    int merged_count = 0;
    for (int i = 0; i < 10; i++) {
        char change[32];
        bool merged = false;
        snprintf(change, sizeof change, "[{\"n\":%d}]", i);
        ids[i] = enqueue(s.state, "python", "pkg:openssl", i, change, &merged);
        merged_count += merged;
    }
    struct jobcopy c = get_job(s.state, ids[0]);
    TEST("ten enqueues with one key make one job with ten changes") {
        CHECK(ids[0] > 0);
        CHECK_INT_EQ(ids[9], ids[0]);
        CHECK_INT_EQ(merged_count, 9);
        CHECK_STR_EQ(c.change, "[{\"n\":0},{\"n\":1},{\"n\":2},{\"n\":3},{\"n\":4},"
                               "{\"n\":5},{\"n\":6},{\"n\":7},{\"n\":8},{\"n\":9}]");
        CHECK_INT_EQ(c.priority, 9);
    }
    struct temper_job v = { .size = sizeof v, .image = (char *)"python",
                            .version = (char *)"3.12.2", .priority = -5,
                            .change = (char *)"[\"a\\\"b\",1,true,null,{\"x\":[1,2]}]",
                            .dedup_key = (char *)"pkg:openssl" };
    long long vid = 0;
    TEST("merge keeps the higher priority, takes the version, keeps JSON types") {
        CHECK_INT_EQ(OPS->job_enqueue(s.state, &v, &vid, NULL), TEMPER_OK);
        CHECK_INT_EQ(vid, ids[0]);
        c = get_job(s.state, vid);
        CHECK_INT_EQ(c.priority, 9);
        CHECK_STR_EQ(c.version, "3.12.2");
        CHECK_STR_CONTAINS(c.change, "{\"n\":9},\"a\\\"b\",1,true,null,{\"x\":[1,2]}]");
    }
    TEST("other keys, no key, and a running job are not merged") {
        CHECK(enqueue(s.state, "python", "pkg:zlib", 0, NULL, NULL) != ids[0]);
        long long a = enqueue(s.state, "python", NULL, 0, NULL, NULL);
        long long b = enqueue(s.state, "python", NULL, 0, NULL, NULL);
        CHECK(a > 0 && b > 0 && a != b);
        CHECK_INT_EQ(claim(s.state, "w1", 0, 1000), ids[0]);
        long long after = enqueue(s.state, "python", "pkg:openssl", 0, "[1]", NULL);
        CHECK(after > 0 && after != ids[0]);
    }
    sqh_close(cq_h, &s);
}

static void test_change_cap(void)
{
    struct sqh_store s;
    open_fresh("cap.db", &s);
    struct temper_buf b;
    temper_buf_init(&b, 0);
    int rc = temper_buf_puts(&b, "[0");
    for (int i = 1; i < 1000 && rc == TEMPER_OK; i++) {
        rc = temper_buf_printf(&b, ",%d", i);
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_puts(&b, "]");
    }
    long long id = enqueue(s.state, "python", "k", 0, b.data, NULL);
    long long again = enqueue(s.state, "python", "k", 0, "[1000,1001]", NULL);
    struct jobcopy c = get_job(s.state, id);
    TEST("a merged change list keeps the newest 1000 entries") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(again, id);
        CHECK(strncmp(c.change, "[2,3,4,", 7) == 0);
        CHECK(strstr(c.change, ",999,1000,1001]") != NULL);
    }
    temper_buf_cleanup(&b);
    sqh_close(cq_h, &s);
}

/* ---- claiming ---------------------------------------------------------- */

static void test_priority(void)
{
    struct sqh_store s;
    open_fresh("prio.db", &s);
    long long a = enqueue(s.state, "a", NULL, 0, NULL, NULL);
    long long b = enqueue(s.state, "b", NULL, 10, NULL, NULL);
    long long c = enqueue(s.state, "c", NULL, 5, NULL, NULL);
    long long d = enqueue(s.state, "d", NULL, 10, NULL, NULL);
    struct temper_job out;
    TEST("claim order: priority, then age") {
        CHECK_INT_EQ(claim(s.state, "w", 0, 100000), b);
        CHECK_INT_EQ(claim(s.state, "w", 0, 100000), d);
        CHECK_INT_EQ(claim(s.state, "w", 0, 100000), c);
        CHECK_INT_EQ(claim(s.state, "w", 0, 100000), a);
        CHECK_INT_EQ(OPS->job_claim(s.state, "w", 0, 100000, &out), TEMPER_ENOTFOUND);
        CHECK(out.image == NULL && out.id == 0);
    }
    TEST("claim: bad arguments") {
        CHECK_INT_EQ(OPS->job_claim(s.state, NULL, 0, 1000, &out), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->job_claim(s.state, "", 0, 1000, &out), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->job_claim(s.state, "w", 0, 0, &out), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->job_claim(s.state, "w", 0, 1000, NULL), TEMPER_EINVAL);
    }
    struct temper_job later = { .size = sizeof later, .image = (char *)"later",
                                .not_before = 5000 };
    long long lid = 0;
    TEST("not_before delays a job") {
        CHECK_INT_EQ(OPS->job_enqueue(s.state, &later, &lid, NULL), TEMPER_OK);
        CHECK_INT_EQ(claim(s.state, "w", 4999, 1000), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(OPS->job_claim(s.state, "w", 5000, 1000, &out), TEMPER_OK);
        CHECK_INT_EQ(out.id, lid);
        CHECK_STR_EQ(out.image, "later");
        CHECK_STR_EQ(out.worker, "w");
        CHECK_INT_EQ(out.state, TEMPER_JOB_RUNNING);
        CHECK_INT_EQ(out.lease_until, 6000);
        CHECK_STR_EQ(out.reason, "manual");
        CHECK_STR_EQ(out.change, "[]");
    }
    temper_job_cleanup(&out);
    sqh_close(cq_h, &s);
}

static void test_lease(void)
{
    struct sqh_store s;
    open_fresh("lease.db", &s);
    long long id = enqueue(s.state, "python", NULL, 0, NULL, NULL);
    struct jobcopy c;
    TEST("lease: claimed, held, extended by the holder") {
        CHECK_INT_EQ(claim(s.state, "w1", 1000, 100), id);
        c = get_job(s.state, id);
        CHECK_INT_EQ(c.lease_until, 1100);
        CHECK_INT_EQ(c.attempts, 1);
        CHECK_STR_EQ(c.worker, "w1");
        CHECK_INT_EQ(claim(s.state, "w2", 1050, 100), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(OPS->job_heartbeat(s.state, id, "w1", 1090, 100), TEMPER_OK);
        CHECK_INT_EQ(claim(s.state, "w2", 1150, 100), TEMPER_ENOTFOUND);
    }
    TEST("lease expiry: another worker re-claims") {
        CHECK_INT_EQ(claim(s.state, "w2", 1190, 100), id);
        c = get_job(s.state, id);
        CHECK_STR_EQ(c.worker, "w2");
        CHECK_INT_EQ(c.attempts, 2);
    }
    temper_stage_reset(s.st);
    TEST("the old holder is rejected") {
        CHECK_INT_EQ(OPS->job_heartbeat(s.state, id, "w1", 1200, 100), TEMPER_ESTATE);
        CHECK_STR_CONTAINS(temper_stage_error(s.st), "held by worker w2, not by w1");
        CHECK_INT_EQ(OPS->job_complete(s.state, id, "w1"), TEMPER_ESTATE);
        CHECK_INT_EQ(OPS->job_fail(s.state, id, "w1", "x", 1200, 0), TEMPER_ESTATE);
        CHECK_INT_EQ(OPS->job_park(s.state, id, "w1"), TEMPER_ESTATE);
        CHECK_INT_EQ(OPS->job_heartbeat(s.state, 999, "w1", 1200, 100), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(OPS->job_heartbeat(s.state, id, "w2", 1200, 0), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->job_complete(s.state, id, NULL), TEMPER_EINVAL);
    }
    TEST("complete by the holder, once") {
        CHECK_INT_EQ(OPS->job_complete(s.state, id, "w2"), TEMPER_OK);
        CHECK_INT_EQ(get_job(s.state, id).state, TEMPER_JOB_DONE);
        CHECK_INT_EQ(OPS->job_complete(s.state, id, "w2"), TEMPER_ESTATE);
        CHECK_INT_EQ(claim(s.state, "w3", 99999, 100), TEMPER_ENOTFOUND);
    }
    sqh_close(cq_h, &s);
}

static void test_retries(void)
{
    struct sqh_store s;
    open_fresh("retry.db", &s);
    long long id = enqueue(s.state, "python", NULL, 0, NULL, NULL);
    struct jobcopy c;
    long long t = 0;
    for (int i = 1; i <= 2; i++) {
        char err[16];
        snprintf(err, sizeof err, "boom %d", i);
        TEST(i == 1 ? "first failure re-queues with backoff" : "second failure too") {
            CHECK_INT_EQ(claim(s.state, "w", t, 100), id);
            CHECK_INT_EQ(OPS->job_fail(s.state, id, "w", err, t + 10, 1000), TEMPER_OK);
            c = get_job(s.state, id);
            CHECK_INT_EQ(c.state, TEMPER_JOB_QUEUED);
            CHECK_INT_EQ(c.not_before, t + 1010);
            CHECK_STR_EQ(c.worker, "(null)");
            CHECK_STR_EQ(c.error, err);
            CHECK_INT_EQ(claim(s.state, "w", t + 1009, 100), TEMPER_ENOTFOUND);
        }
        t += 1010;
    }
    TEST("the last attempt fails the job") {
        CHECK_INT_EQ(claim(s.state, "w", t, 100), id);
        CHECK_INT_EQ(OPS->job_fail(s.state, id, "w", NULL, t, 1000), TEMPER_OK);
        c = get_job(s.state, id);
        CHECK_INT_EQ(c.state, TEMPER_JOB_FAILED);
        CHECK_INT_EQ(c.attempts, 3);
        CHECK_STR_EQ(c.error, "failed");
        CHECK_INT_EQ(claim(s.state, "w", t + 99999, 100), TEMPER_ENOTFOUND);
    }
    struct temper_job two = { .size = sizeof two, .image = (char *)"x", .max_attempts = 2 };
    long long pid = 0;
    TEST("a job whose workers keep dying fails after max_attempts leases") {
        CHECK_INT_EQ(OPS->job_enqueue(s.state, &two, &pid, NULL), TEMPER_OK);
        CHECK_INT_EQ(claim(s.state, "w1", 0, 10), pid);
        CHECK_INT_EQ(claim(s.state, "w2", 10, 10), pid);
        CHECK_INT_EQ(claim(s.state, "w3", 20, 10), TEMPER_ENOTFOUND);
        c = get_job(s.state, pid);
        CHECK_INT_EQ(c.state, TEMPER_JOB_FAILED);
        CHECK_STR_CONTAINS(c.error, "lease of worker w2 expired after 2 attempts");
    }
    sqh_close(cq_h, &s);
}

static void test_park(void)
{
    struct sqh_store s;
    open_fresh("park.db", &s);
    long long id = enqueue(s.state, "python", NULL, 0, NULL, NULL);
    struct jobcopy c;
    TEST("park by the holder only; parked jobs are not claimed") {
        CHECK_INT_EQ(claim(s.state, "w1", 0, 100), id);
        CHECK_INT_EQ(OPS->job_park(s.state, id, "w2"), TEMPER_ESTATE);
        CHECK_INT_EQ(OPS->job_park(s.state, id, "w1"), TEMPER_OK);
        c = get_job(s.state, id);
        CHECK_INT_EQ(c.state, TEMPER_JOB_PARKED);
        CHECK_STR_EQ(c.worker, "(null)");
        CHECK_INT_EQ(claim(s.state, "w1", 99999, 100), TEMPER_ENOTFOUND);
    }
    temper_stage_reset(s.st);
    TEST("release re-queues and gives the attempt back") {
        CHECK_INT_EQ(OPS->job_release(s.state, id, 500), TEMPER_OK);
        c = get_job(s.state, id);
        CHECK_INT_EQ(c.state, TEMPER_JOB_QUEUED);
        CHECK_INT_EQ(c.not_before, 500);
        CHECK_INT_EQ(c.attempts, 0);
        CHECK_INT_EQ(OPS->job_release(s.state, id, 500), TEMPER_ESTATE);
        CHECK_STR_CONTAINS(temper_stage_error(s.st), "is queued");
        CHECK_INT_EQ(OPS->job_release(s.state, 999, 500), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(claim(s.state, "w2", 499, 100), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(claim(s.state, "w2", 500, 100), id);
        CHECK_INT_EQ(get_job(s.state, id).attempts, 1);
    }
    sqh_close(cq_h, &s);
}

/* ---- listing ----------------------------------------------------------- */

struct list_ctx {
    int n, stop_at;
    void *store;
    int nested_rc;
};

static int count_job(void *ctx, const struct temper_job *j)
{
    struct list_ctx *c = ctx;
    (void)j;
    c->n++;
    return c->stop_at && c->n == c->stop_at ? 42 : 0;
}

/* Calls the store from inside the callback. */
static int reenter(void *ctx, const struct temper_job *j)
{
    struct list_ctx *c = ctx;
    char key[32];
    struct list_ctx inner = { 0 };
    snprintf(key, sizeof key, "%lld", j->id);
    c->n++;
    if (OPS->kv_put(c->store, "seen", key, j->image) != TEMPER_OK ||
        OPS->job_list(c->store, 1u << TEMPER_JOB_DONE, count_job, &inner) != TEMPER_OK ||
        enqueue(c->store, "during-list", NULL, 0, NULL, NULL) <= 0) {
        c->nested_rc = -1;
    }
    return 0;
}

static int list_count(void *s, unsigned mask)
{
    struct list_ctx c = { 0 };
    int rc = OPS->job_list(s, mask, count_job, &c);
    return rc == TEMPER_OK ? c.n : rc;
}

static void test_list(void)
{
    struct sqh_store s;
    open_fresh("list.db", &s);
    int rc = TEMPER_OK;
    for (int i = 0; i < 300 && rc == TEMPER_OK; i++) {
        rc = enqueue(s.state, "img", NULL, 0, NULL, NULL) > 0 ? TEMPER_OK : -1;
    }
    for (int i = 0; i < 100 && rc == TEMPER_OK; i++) {
        long long id = claim(s.state, "w", 0, 1000);
        rc = id > 0 && (i % 2 || OPS->job_complete(s.state, id, "w") == TEMPER_OK) ? 0 : -1;
    }
    struct list_ctx stop = { .stop_at = 42 };
    TEST("list by state mask, across pages") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(list_count(s.state, 1u << TEMPER_JOB_QUEUED), 200);
        CHECK_INT_EQ(list_count(s.state, 1u << TEMPER_JOB_RUNNING), 50);
        CHECK_INT_EQ(list_count(s.state, 1u << TEMPER_JOB_DONE), 50);
        CHECK_INT_EQ(list_count(s.state, (1u << TEMPER_JOB_QUEUED) | (1u << TEMPER_JOB_DONE)),
                     250);
        CHECK_INT_EQ(list_count(s.state, 0), 300);
        CHECK_INT_EQ(list_count(s.state, 1u << TEMPER_JOB_PARKED), 0);
        CHECK_INT_EQ(OPS->job_list(s.state, 0, count_job, &stop), 42);
        CHECK_INT_EQ(stop.n, 42);
    }
    struct list_ctx re = { .store = s.state };
    TEST("callbacks may call the store") {
        CHECK_INT_EQ(OPS->job_list(s.state, 1u << TEMPER_JOB_DONE, reenter, &re), TEMPER_OK);
        CHECK_INT_EQ(re.n, 50);
        CHECK_INT_EQ(re.nested_rc, 0);
        CHECK_INT_EQ(list_count(s.state, 0), 350);
    }
    sqh_close(cq_h, &s);
}

/* ---- runs and stage results -------------------------------------------- */

struct rec_ctx {
    int n;
    long long job_id, finished_at;
    int status;
    char text[512];
};

static int collect_run(void *ctx, const struct temper_run_record *r)
{
    struct rec_ctx *c = ctx;
    c->job_id = r->job_id;
    c->finished_at = r->finished_at;
    c->status = r->status;
    size_t len = strlen(c->text);
    snprintf(c->text + len, sizeof c->text - len, "%lld:%s:%d|", r->id,
             r->error ? r->error : "(null)", r->status);
    c->n++;
    return 0;
}

static int collect_stage(void *ctx, const struct temper_stage_record *r)
{
    struct rec_ctx *c = ctx;
    size_t len = strlen(c->text);
    snprintf(c->text + len, sizeof c->text - len, "%d:%s:%d:%d:%s|", r->seq, r->stage,
             r->rc, (int)r->verdict, r->detail ? r->detail : "-");
    c->n++;
    return 0;
}

static int stage(void *s, long long run, int seq, const char *name, int rc, int verdict,
                 const char *detail)
{
    struct temper_stage_record r = {
        .size = sizeof r, .run_id = run, .seq = seq, .stage = name, .plugin = "p",
        .rc = rc, .verdict = (enum temper_verdict)verdict, .started_at = 1,
        .finished_at = 2, .detail = detail,
    };
    return OPS->run_stage(s, &r);
}

static void test_runs(void)
{
    struct sqh_store s;
    open_fresh("runs.db", &s);
    long long job = enqueue(s.state, "python", NULL, 0, NULL, NULL);
    struct temper_run_record r = {
        .size = sizeof r, .job_id = job, .image = "python", .version = "3.12.1",
        .invocation_id = "inv-1", .worker = "w1", .started_at = 100,
    };
    long long rid = 0, manual = 0, bogus = 0;
    TEST("run begin; a run of an unknown job is refused") {
        CHECK_INT_EQ(OPS->run_begin(s.state, &r, &rid), TEMPER_OK);
        r.job_id = 0;
        CHECK_INT_EQ(OPS->run_begin(s.state, &r, &manual), TEMPER_OK);
        CHECK(rid > 0 && manual > rid);
        r.job_id = 999999;
        CHECK_INT_EQ(OPS->run_begin(s.state, &r, &bogus), TEMPER_ENOTFOUND);
    }
    struct rec_ctx st = { 0 };
    TEST("stage results: recorded, re-recorded by seq, listed in order") {
        CHECK_INT_EQ(stage(s.state, rid, 1, "builder.deb", 0, 0, "{\"artifacts\":[]}"),
                     TEMPER_OK);
        CHECK_INT_EQ(stage(s.state, rid, 0, "guard.heuristic", 0, TEMPER_VERDICT_PASS, NULL),
                     TEMPER_OK);
        CHECK_INT_EQ(stage(s.state, rid, 2, "suite.structure", 0, TEMPER_VERDICT_BLOCK, NULL),
                     TEMPER_OK);
        CHECK_INT_EQ(stage(s.state, rid, 1, "builder.deb", TEMPER_EIO, 0, "{}"), TEMPER_OK);
        CHECK_INT_EQ(OPS->run_stages(s.state, rid, collect_stage, &st), TEMPER_OK);
        CHECK_STR_EQ(st.text, "0:guard.heuristic:0:1:-|1:builder.deb:-3:0:{}|"
                              "2:suite.structure:0:3:-|");
    }
    TEST("bad stage results") {
        CHECK_INT_EQ(stage(s.state, rid, 3, "x", 0, 0, "not json"), TEMPER_EINVAL);
        CHECK_INT_EQ(stage(s.state, rid, 3, NULL, 0, 0, NULL), TEMPER_EINVAL);
        CHECK_INT_EQ(stage(s.state, 999, 0, "x", 0, 0, NULL), TEMPER_ENOTFOUND);
    }
    TEST("a run finishes once") {
        CHECK_INT_EQ(OPS->run_finish(s.state, rid, TEMPER_RUN_BLOCKED, "guard blocked", 900),
                     TEMPER_OK);
        CHECK_INT_EQ(OPS->run_finish(s.state, rid, TEMPER_RUN_OK, NULL, 901), TEMPER_ESTATE);
        CHECK_INT_EQ(stage(s.state, rid, 4, "late", 0, 0, NULL), TEMPER_ESTATE);
        CHECK_INT_EQ(OPS->run_finish(s.state, manual, TEMPER_RUN_RUNNING, NULL, 5),
                     TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->run_finish(s.state, manual, TEMPER_RUN_OK, NULL, 0), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->run_finish(s.state, 999, TEMPER_RUN_OK, NULL, 5), TEMPER_ENOTFOUND);
    }
    struct rec_ctx one = { 0 }, all = { 0 };
    TEST("runs listed by job and all") {
        CHECK_INT_EQ(OPS->run_list(s.state, job, collect_run, &one), TEMPER_OK);
        CHECK_INT_EQ(one.n, 1);
        CHECK_INT_EQ(one.status, TEMPER_RUN_BLOCKED);
        CHECK_INT_EQ(one.finished_at, 900);
        CHECK_INT_EQ(one.job_id, job);
        CHECK_STR_CONTAINS(one.text, "guard blocked");
        CHECK_INT_EQ(OPS->run_list(s.state, 0, collect_run, &all), TEMPER_OK);
        CHECK_INT_EQ(all.n, 2);
        CHECK_INT_EQ(all.status, TEMPER_RUN_RUNNING);
        CHECK_INT_EQ(all.job_id, 0);
    }
    sqh_close(cq_h, &s);
}

/* ---- reviews ----------------------------------------------------------- */

struct review_copy {
    int n, state;
    long long decided_at;
    char by[32], comment[64], findings[128];
};

static int collect_review(void *ctx, const struct temper_review *r)
{
    struct review_copy *c = ctx;
    c->n++;
    c->state = (int)r->state;
    c->decided_at = r->decided_at;
    snprintf(c->by, sizeof c->by, "%s", r->decided_by ? r->decided_by : "(null)");
    snprintf(c->comment, sizeof c->comment, "%s", r->comment ? r->comment : "(null)");
    snprintf(c->findings, sizeof c->findings, "%s", r->findings ? r->findings : "(null)");
    return 0;
}

static int collect_audit(void *ctx, const struct temper_audit *a)
{
    struct rec_ctx *c = ctx;
    size_t len = strlen(c->text);
    if (c->n < 8) {
        snprintf(c->text + len, sizeof c->text - len, "%s %s %s %s|", a->actor, a->action,
                 a->object ? a->object : "-", a->detail ? a->detail : "-");
    }
    c->job_id = a->id;      /* last id */
    c->finished_at = a->at; /* last time */
    c->n++;
    return 0;
}

static void test_review_decide(struct sqh_store *st, long long id, long long id2);

static void test_reviews(void)
{
    struct sqh_store s;
    open_fresh("reviews.db", &s);
    long long job = enqueue(s.state, "python", NULL, 0, NULL, NULL);
    struct temper_review r = {
        .size = sizeof r, .job_id = job, .image = "python", .version = "3.12.1",
        .summary = "a new post-install script", .created_at = 10,
        .findings = "[{\"rule\":\"install-script\",\"severity\":\"high\"}]",
    };
    long long id = 0, id2 = 0;
    struct review_copy open_c = { 0 }, got = { 0 }, none = { 0 };
    TEST("review add, list, get") {
        CHECK_INT_EQ(OPS->review_add(s.state, &r, &id), TEMPER_OK);
        r.findings = NULL;
        CHECK_INT_EQ(OPS->review_add(s.state, &r, &id2), TEMPER_OK);
        CHECK(id > 0 && id2 > id);
        CHECK_INT_EQ(OPS->review_list(s.state, 1u << TEMPER_REVIEW_OPEN, collect_review,
                                      &open_c),
                     TEMPER_OK);
        CHECK_INT_EQ(open_c.n, 2);
        CHECK_INT_EQ(OPS->review_get(s.state, id, collect_review, &got), TEMPER_OK);
        CHECK_INT_EQ(got.state, TEMPER_REVIEW_OPEN);
        CHECK_STR_CONTAINS(got.findings, "install-script");
        CHECK_INT_EQ(OPS->review_get(s.state, 999, collect_review, &none), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(none.n, 0);
        r.findings = "nope";
        CHECK_INT_EQ(OPS->review_add(s.state, &r, NULL), TEMPER_EINVAL);
        r.findings = NULL;
        r.summary = NULL;
        CHECK_INT_EQ(OPS->review_add(s.state, &r, NULL), TEMPER_EINVAL);
    }
    test_review_decide(&s, id, id2);
    sqh_close(cq_h, &s);
}

static void test_review_decide(struct sqh_store *st, long long id, long long id2)
{
    struct sqh_store s = *st;
    temper_stage_reset(s.st);
    struct review_copy dec = { 0 }, decided = { 0 };
    TEST("decide an open item once") {
        CHECK_INT_EQ(OPS->review_decide(s.state, id, TEMPER_REVIEW_APPROVED, "alice",
                                        "read the diff", 20),
                     TEMPER_OK);
        CHECK_INT_EQ(OPS->review_decide(s.state, id, TEMPER_REVIEW_REJECTED, "bob", NULL, 30),
                     TEMPER_ESTATE);
        CHECK_STR_CONTAINS(temper_stage_error(s.st), "already approved");
        CHECK_INT_EQ(OPS->review_decide(s.state, 999, TEMPER_REVIEW_REJECTED, "bob", NULL, 30),
                     TEMPER_ENOTFOUND);
        CHECK_INT_EQ(OPS->review_decide(s.state, id2, TEMPER_REVIEW_OPEN, "bob", NULL, 30),
                     TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->review_decide(s.state, id2, TEMPER_REVIEW_REJECTED, NULL, NULL, 30),
                     TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->review_get(s.state, id, collect_review, &dec), TEMPER_OK);
        CHECK_INT_EQ(dec.state, TEMPER_REVIEW_APPROVED);
        CHECK_STR_EQ(dec.by, "alice");
        CHECK_STR_EQ(dec.comment, "read the diff");
        CHECK_INT_EQ(dec.decided_at, 20);
        CHECK_INT_EQ(OPS->review_decide(s.state, id2, TEMPER_REVIEW_REJECTED, "bob", NULL, 40),
                     TEMPER_OK);
        CHECK_INT_EQ(OPS->review_list(s.state, (1u << TEMPER_REVIEW_APPROVED) |
                                                   (1u << TEMPER_REVIEW_REJECTED),
                                      collect_review, &decided),
                     TEMPER_OK);
        CHECK_INT_EQ(decided.n, 2);
    }
    struct rec_ctx audit = { 0 };
    char want[128];
    snprintf(want, sizeof want, "alice review.approve review:%lld read the diff|bob "
                                "review.reject review:%lld -|", id, id2);
    TEST("decisions are in the audit log") {
        CHECK_INT_EQ(OPS->audit_list(s.state, 0, collect_audit, &audit), TEMPER_OK);
        CHECK_STR_EQ(audit.text, want);
    }
}

/* ---- audit ------------------------------------------------------------- */

static int audit(void *s, long long at, const char *actor, const char *action)
{
    struct temper_audit a = {
        .size = sizeof a, .at = at, .actor = actor, .action = action,
        .object = "job:1", .detail = "{}",
    };
    return OPS->audit_append(s, &a);
}

static void test_audit_tamper(const char *path)
{
    char *up_msg = NULL, *del_msg = NULL;
    int up = BE->raw_exec(BE, path, "UPDATE audit SET actor = 'mallory'", &up_msg);
    int del = BE->raw_exec(BE, path, "DELETE FROM audit", &del_msg);
    TEST("the audit log refuses UPDATE and DELETE") {
        CHECK(up != 0);
        CHECK_STR_CONTAINS(up_msg, "append-only");
        CHECK(del != 0);
        CHECK_STR_CONTAINS(del_msg, "append-only");
        CHECK_INT_EQ(BE->raw_int(BE, path, "SELECT count(*) FROM audit"), 303);
        CHECK_INT_EQ(BE->raw_int(BE, path, "SELECT count(*) FROM audit WHERE actor = 'mallory'"),
                     0);
    }
    free(up_msg);
    free(del_msg);
}

static void test_audit(void)
{
    char *path = BE->fresh(BE, "audit.db");
    struct sqh_store s;
    int rc = path ? sqh_open(cq_h, path, &s) : TEMPER_ENOMEM;
    struct rec_ctx all = { 0 }, since = { 0 }, many = { 0 };
    struct temper_audit nosize = { .actor = "a", .action = "b" };
    TEST("audit append and list") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(audit(s.state, 100, "alice", "job.enqueue"), TEMPER_OK);
        CHECK_INT_EQ(audit(s.state, 200, "bob", "review.approve"), TEMPER_OK);
        CHECK_INT_EQ(audit(s.state, 0, "carol", "job.release"), TEMPER_OK);
        CHECK_INT_EQ(OPS->audit_list(s.state, 0, collect_audit, &all), TEMPER_OK);
        CHECK_INT_EQ(all.n, 3);
        CHECK_STR_CONTAINS(all.text, "alice job.enqueue job:1 {}|bob");
        CHECK(all.finished_at > 1000000000000LL); /* time 0 filled with now */
        CHECK_INT_EQ(OPS->audit_list(s.state, all.job_id - 2, collect_audit, &since),
                     TEMPER_OK);
        CHECK_INT_EQ(since.n, 2);
        CHECK_INT_EQ(audit(s.state, 1, NULL, "x"), TEMPER_EINVAL);
        CHECK_INT_EQ(audit(s.state, 1, "a", ""), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->audit_append(s.state, &nosize), TEMPER_EINVAL);
    }
    for (int i = 0; i < 300 && rc == TEMPER_OK; i++) {
        rc = audit(s.state, 1000 + i, "bulk", "job.enqueue");
    }
    TEST("audit list across pages") {
        CHECK_INT_EQ(OPS->audit_list(s.state, 0, collect_audit, &many), TEMPER_OK);
        CHECK_INT_EQ(many.n, 303);
    }
    test_audit_tamper(path);
    sqh_close(cq_h, &s);
    free(path);
}

#include "tests/plugins/store_conformance_fence.c"

void store_conformance_queue(struct sqh *h, const struct store_backend *b)
{
    cq_h = h;
    BE = b;
    /* the queue's times are the caller's: store_postgres takes the lease
     * from the server's clock unless TEMPER_NOW pins the caller's */
    const char *pin = getenv("TEMPER_NOW");
    char *saved = pin ? strdup(pin) : NULL;
    setenv("TEMPER_NOW", "1000000", 1);
    test_enqueue();
    test_dedup();
    test_change_cap();
    test_priority();
    test_lease();
    test_retries();
    test_park();
    test_list();
    test_fence();
    if (saved) {
        setenv("TEMPER_NOW", saved, 1);
    } else {
        unsetenv("TEMPER_NOW");
    }
    free(saved);
    test_runs();
    test_reviews();
    test_audit();
}

#undef OPS

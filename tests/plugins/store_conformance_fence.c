/* temper — store conformance: lease fencing (issue #11, clock jumps).
 *
 * A worker whose lease was taken over -- because it died, stalled, or its
 * clock jumped and the lease it wrote looked expired to the others -- must
 * not change the job any more: its heartbeat, complete, fail and park are
 * refused (TEMPER_ESTATE) and leave the row exactly as the new holder has
 * it.  Times here are the caller's clock (the suite pins TEMPER_NOW, see
 * store_conformance_queue()).
 *
 * Included by store_conformance_queue.c (its helpers, one TAP counter). */

/* The fields a stale holder must not touch. */
static int same_row(const struct jobcopy *a, const struct jobcopy *b)
{
    return a->found && b->found && a->state == b->state && a->attempts == b->attempts &&
           a->not_before == b->not_before && a->lease_until == b->lease_until &&
           strcmp(a->worker, b->worker) == 0 && strcmp(a->error, b->error) == 0;
}

static void test_fence_takeover(void)
{
    struct sqh_store s;
    open_fresh("fence.db", &s);
    long long id = enqueue(s.state, "python", NULL, 0, NULL, NULL);
    struct jobcopy before, after;
    TEST("fence: a holder whose clock went back writes an expired lease") {
        CHECK_INT_EQ(claim(s.state, "A", 7200000, 60000), id);
        /* A's clock stepped back 2 h: its heartbeat is accepted (it holds the
         * lease) but what it writes is in the past for everybody else */
        CHECK_INT_EQ(OPS->job_heartbeat(s.state, id, "A", 10000, 60000), TEMPER_OK);
        CHECK_INT_EQ(get_job(s.state, id).lease_until, 70000);
    }
    TEST("fence: a worker with the right clock takes the job over") {
        CHECK_INT_EQ(claim(s.state, "B", 7210000, 60000), id);
        before = get_job(s.state, id);
        CHECK_STR_EQ(before.worker, "B");
        CHECK_INT_EQ(before.attempts, 2);
    }
    temper_stage_reset(s.st);
    TEST("fence: the old holder changes nothing any more") {
        CHECK_INT_EQ(OPS->job_heartbeat(s.state, id, "A", 7215000, 60000), TEMPER_ESTATE);
        CHECK_STR_CONTAINS(temper_stage_error(s.st), "held by worker B, not by A");
        CHECK_INT_EQ(OPS->job_fail(s.state, id, "A", "late failure", 7215000, 1000),
                     TEMPER_ESTATE);
        CHECK_INT_EQ(OPS->job_park(s.state, id, "A"), TEMPER_ESTATE);
        CHECK_INT_EQ(OPS->job_complete(s.state, id, "A"), TEMPER_ESTATE);
        after = get_job(s.state, id);
        CHECK(same_row(&before, &after));
        CHECK_INT_EQ(after.state, TEMPER_JOB_RUNNING);
    }
    TEST("fence: the new holder's lease is its own") {
        CHECK_INT_EQ(OPS->job_heartbeat(s.state, id, "B", 7230000, 60000), TEMPER_OK);
        CHECK_INT_EQ(get_job(s.state, id).lease_until, 7290000);
        CHECK_INT_EQ(claim(s.state, "A", 7240000, 60000), TEMPER_ENOTFOUND);
    }
    TEST("fence: done once, by the holder; the old holder cannot undo it") {
        CHECK_INT_EQ(OPS->job_complete(s.state, id, "B"), TEMPER_OK);
        before = get_job(s.state, id);
        CHECK_INT_EQ(before.state, TEMPER_JOB_DONE);
        CHECK_INT_EQ(OPS->job_complete(s.state, id, "A"), TEMPER_ESTATE);
        CHECK_INT_EQ(OPS->job_fail(s.state, id, "A", "late", 7250000, 0), TEMPER_ESTATE);
        CHECK_INT_EQ(OPS->job_heartbeat(s.state, id, "A", 7250000, 60000), TEMPER_ESTATE);
        after = get_job(s.state, id);
        CHECK(same_row(&before, &after));
        CHECK_INT_EQ(claim(s.state, "A", 99999999, 60000), TEMPER_ENOTFOUND);
    }
    sqh_close(cq_h, &s);
}

static void test_fence_skew(void)
{
    struct sqh_store s;
    open_fresh("fence-skew.db", &s);
    long long id2 = enqueue(s.state, "node", NULL, 0, NULL, NULL);
    TEST("fence: a holder whose clock jumped ahead keeps its job") {
        CHECK_INT_EQ(claim(s.state, "A", 14400000, 60000), id2); /* +2 h */
        CHECK_INT_EQ(claim(s.state, "B", 7300000, 60000), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(OPS->job_complete(s.state, id2, "A"), TEMPER_OK);
        CHECK_INT_EQ(get_job(s.state, id2).attempts, 1);
    }
    long long id3 = enqueue(s.state, "ruby", NULL, 0, NULL, NULL);
    TEST("fence: a failure reported after the takeover is not counted") {
        CHECK_INT_EQ(claim(s.state, "A", 8000000, 1000), id3);
        CHECK_INT_EQ(claim(s.state, "B", 8001000, 60000), id3);
        CHECK_INT_EQ(OPS->job_fail(s.state, id3, "A", "cancelled", 8002000, 1000),
                     TEMPER_ESTATE);
        struct jobcopy c = get_job(s.state, id3);
        CHECK_INT_EQ(c.state, TEMPER_JOB_RUNNING);
        CHECK_STR_EQ(c.worker, "B");
        CHECK_STR_EQ(c.error, "(null)");
        CHECK_INT_EQ(OPS->job_fail(s.state, id3, "B", "real", 8003000, 1000), TEMPER_OK);
        c = get_job(s.state, id3);
        CHECK_INT_EQ(c.state, TEMPER_JOB_QUEUED);
        CHECK_INT_EQ(c.not_before, 8004000);
    }
    sqh_close(cq_h, &s);
}

static void test_fence(void)
{
    test_fence_takeover();
    test_fence_skew();
}

/* temper — store_sqlite through the real loader: part 2 of the store
 * conformance suite (the job queue, runs and stage results, the review queue
 * and the append-only audit log: store_conformance_queue.c), each group on a
 * fresh database file. */
#include "config.h"
#include "tests/plugins/store_conformance.h"
#include "tests/lib/tap.h"

#include "tests/plugins/store_conformance_queue.c"

int main(void)
{
    struct sqh h;
    struct store_backend b;
    int rc = sqh_init(&h);
    TEST("load store_sqlite through the loader") {
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
    if (rc == TEMPER_OK) {
        store_sqlite_backend(&h, &b);
        store_conformance_queue(&h, &b);
    }
    sqh_cleanup(&h);
    return tap_done();
}

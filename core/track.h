/* temper — one polling round of every tracker and the fan-out of what moved
 * into rebuild jobs (DESIGN.md section 1, issue #3). */
#ifndef TEMPER_CORE_TRACK_H
#define TEMPER_CORE_TRACK_H

#include <stdio.h>
#include "runtime.h"

struct temper_track_opts {
    int json;          /* JSON lines instead of text */
    FILE *out;         /* where changes are printed */
    long long now_ms;  /* 0 = the clock: the support windows are checked at now */
    const struct temper_conf_plugin *only; /* poll only this tracker; NULL = all */
};

struct temper_track_result {
    size_t trackers;
    size_t failed;     /* trackers whose round failed */
    size_t changes;
    size_t jobs;       /* jobs created */
    size_t merged;     /* changes merged into a queued job */
    size_t rejected;   /* changes dropped: that version was rejected in review */
};

/* Poll every enabled tracker concurrently (one thread each; their HTTP is
 * concurrent inside), then print the changes and enqueue one job per image
 * hit: an upstream change enqueues its image; a package change enqueues every
 * image in its support window whose latest build contains the package.  Jobs
 * are de-duplicated per image while queued.  A change to a version that was
 * rejected in review for that image (and not approved since) is dropped with
 * a line on stderr (res->rejected).  Returns TEMPER_OK when the round
 * ran (see res->failed), an rc when the store failed. */
int temper_track_round(struct temper_runtime *rt, const struct temper_track_opts *o,
                       struct temper_track_result *res);

#endif

/* temper — `temper track -c FILE [--json]`: one polling round of every
 * tracker; prints each change (JSON lines with --json) and enqueues jobs.
 * Exit 0 when every tracker polled, 1 when one failed, 2 on a config error. */
#include "config.h"
#include "core.h"
#include "track.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#define TRACK_USAGE "usage: temper track -c FILE [--json] [--plugin-dir DIR]...\n"

int cmd_track(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    struct temper_cmd_base b;
    int json = 0, c;
    temper_cmd_base_init(&b);
    while ((c = getopt_long(argc, argv, "c:jP:", opts, NULL)) != -1) {
        int r = temper_cmd_base_opt(&b, c, optarg);
        if (r == 0 && c == 'j') {
            json = 1;
        } else if (r != 1) {
            fputs(TRACK_USAGE, stderr);
            return TEMPER_EXIT_USAGE;
        }
    }
    if (!b.file || optind != argc) {
        fputs(TRACK_USAGE, stderr);
        return TEMPER_EXIT_USAGE;
    }
    struct temper_runtime rt;
    int rc = temper_runtime_open(&rt, b.file, b.dirs, b.n_dirs, stderr);
    if (rc != TEMPER_OK) {
        temper_runtime_close(&rt);
        return rc == TEMPER_EINVAL ? TEMPER_EXIT_USAGE : TEMPER_EXIT_FAIL;
    }
    struct temper_track_opts o = { .json = json, .out = stdout };
    struct temper_track_result res;
    rc = temper_track_round(&rt, &o, &res);
    if (rc != TEMPER_OK) {
        fprintf(stderr, "temper: track: %s\n", temper_rc_str(rc));
    } else if (!json) {
        fprintf(stderr, "temper: %zu tracker%s polled, %zu failed, %zu change%s, "
                        "%zu new job%s, %zu merged\n",
                res.trackers, res.trackers == 1 ? "" : "s", res.failed, res.changes,
                res.changes == 1 ? "" : "s", res.jobs, res.jobs == 1 ? "" : "s", res.merged);
    }
    temper_runtime_close(&rt);
    return rc != TEMPER_OK || res.failed ? TEMPER_EXIT_FAIL : TEMPER_EXIT_OK;
}

/* temper — tracker_github_releases: new upstream versions from the GitHub
 * releases list.  The implementation is shared with the other GitHub tracker and
 * compiled into this module as static code (see plugins/tracker_github/). */
#include "config.h"
#include "github.h"
#include "github_conf.c"
#include "github_fetch.c"
#include "github_page.c"
#include "github_poll.c"
#include "github_mbox.c"
#include "github_diff.c"

static int releases_open(struct temper_stage *st, const void *conf, void **state)
{
    return gh_open(st, conf, state, GH_RELEASES);
}

static const struct temper_tracker_ops releases_ops = {
    .watch_options = gh_watch_options,
    .watch_conf_size = sizeof(struct gh_watch_conf),
    .poll = gh_poll,
    .diff = gh_diff,
};

TEMPER_PLUGIN(tracker_github_releases) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_TRACKER,
    .name = "github_releases",
    .version = GH_VERSION,
    .summary = "Watch GitHub releases (REST API, GitHub Enterprise Server too)",
    .options = gh_options,
    .conf_size = sizeof(struct gh_conf),
    .open = releases_open,
    .close = gh_close,
    .ops = &releases_ops,
    .ops_size = sizeof releases_ops,
};

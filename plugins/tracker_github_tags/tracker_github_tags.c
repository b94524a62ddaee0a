/* temper — tracker_github_tags: new upstream versions from the GitHub
 * tags list.  The implementation is shared with the other GitHub tracker and
 * compiled into this module as static code (see plugins/tracker_github/). */
#include "config.h"
#include "github.h"
#include "github_conf.c"
#include "github_fetch.c"
#include "github_page.c"
#include "github_poll.c"
#include "github_mbox.c"
#include "github_diff.c"

static int tags_open(struct temper_stage *st, const void *conf, void **state)
{
    return gh_open(st, conf, state, GH_TAGS);
}

static const struct temper_tracker_ops tags_ops = {
    .watch_options = gh_watch_options,
    .watch_conf_size = sizeof(struct gh_watch_conf),
    .poll = gh_poll,
    .diff = gh_diff,
};

TEMPER_PLUGIN(tracker_github_tags) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_TRACKER,
    .name = "github_tags",
    .version = GH_VERSION,
    .summary = "Watch GitHub tags (REST API, GitHub Enterprise Server too)",
    .options = gh_options,
    .conf_size = sizeof(struct gh_conf),
    .open = tags_open,
    .close = gh_close,
    .ops = &tags_ops,
    .ops_size = sizeof tags_ops,
};

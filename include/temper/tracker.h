/* temper — tracker plugins: watch an upstream, report what moved.
 *
 * A tracker instance is one `[tracker "NAME"]` section.  The images that name
 * it in their `[upstream]` section become its *watches*; each watch's keys are
 * validated by the core against `watch_options` (like plugin options) before
 * any plugin code runs.  Package trackers (alpine, debian) may also be polled
 * with no watches: they then report every package of their index that moved
 * and the core fans the changes out to the images containing the package.
 *
 * poll() reports each change with temper_emit() of a TEMPER_ART_CHANGE
 * artifact carrying the TEMPER_ATTR_* keys (tracker, upstream or package,
 * old/new version, release_url, compare_url, image when the change belongs to
 * a watch).  Saved state goes through temper_stage_state_get/put; a tracker
 * writes it only after the new data was fully validated, so a bad reply never
 * damages it. */
#ifndef TEMPER_TRACKER_H
#define TEMPER_TRACKER_H

#include <temper/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_watch {
    uint32_t size;            /* sizeof(struct temper_watch) of the core */
    const char *image;        /* image definition that asked, borrowed */
    const char *id;           /* stable key for saved state, borrowed */
    const void *conf;         /* block filled from watch_options, borrowed */
    const char *pinned;       /* the image's accepted upstream version or NULL */
};

struct temper_tracker_ops {
    const struct temper_option *watch_options; /* keys of an image's [upstream] */
    size_t watch_conf_size;
    /* One polling round over `n` watches (may be 0).  Returns TEMPER_OK when
     * the round completed, even if some watches failed: each failure is
     * logged with temper_fail() and its state left as it was.  Returns an
     * error only if nothing could be polled. */
    int (*poll)(void *state, struct temper_stage *st,
                const struct temper_watch *const *watches, size_t n);
    /* Optional: fetch what changed upstream for a change this tracker emitted
     * (commits, authors, patches) and emit one TEMPER_ART_DIFF whose path is a
     * `git format-patch` mbox.  NULL when the tracker cannot (packages). */
    int (*diff)(void *state, struct temper_stage *st,
                const struct temper_artifact *change);
};

#ifdef __cplusplus
}
#endif
#endif

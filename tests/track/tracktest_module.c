/* temper — a tracker for the `temper track` tests that watches a local file
 * instead of the network, with the same contract as the real trackers:
 * state written only after the data was read whole, one change per moved
 * watch (or package, in package mode). */
#include <temper/temper.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tt_conf {
    char *source;       /* lines "KEY VERSION [DISTRIBUTION [SOURCE]]" */
    bool package_mode;  /* report packages instead of watches */
    bool fail;
};

struct tt_watch {
    char *key;
};

static const struct temper_option tt_options[] = {
    { TEMPER_OPT_PATH, "source", NULL, TEMPER_OPT_REQUIRED, offsetof(struct tt_conf, source),
      0, 0, NULL, "file with one KEY VERSION line per upstream" },
    { TEMPER_OPT_BOOL, "package_mode", "false", 0, offsetof(struct tt_conf, package_mode), 0,
      0, NULL, "lines are PACKAGE VERSION DISTRIBUTION [SOURCE]" },
    { TEMPER_OPT_BOOL, "fail", "false", 0, offsetof(struct tt_conf, fail), 0, 0, NULL,
      "fail the round" },
    TEMPER_OPTION_END,
};

static const struct temper_option tt_watch_options[] = {
    { TEMPER_OPT_STR, "key", NULL, TEMPER_OPT_REQUIRED, offsetof(struct tt_watch, key), 0, 0,
      NULL, "which line of the source file" },
    TEMPER_OPTION_END,
};

static int tt_open(struct temper_stage *st, const void *conf, void **state)
{
    (void)st;
    *state = (void *)conf;
    return TEMPER_OK;
}

static char *read_source(struct temper_stage *st, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        temper_fail(st, TEMPER_EIO, "cannot read %s", path);
        return NULL;
    }
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf && n == 65535) {
        free(buf);
        temper_fail(st, TEMPER_ELIMIT, "%s is too large", path);
        return NULL;
    }
    return buf;
}

/* Emit a change if `version` differs from the saved one, then save it. */
static int report(struct temper_stage *st, const char *state_key, const char *image,
                  const char *what, const char *version, const char *dist, const char *src)
{
    char *old = NULL;
    int rc = temper_stage_state_get(st, state_key, &old);
    if (rc != TEMPER_OK && rc != TEMPER_ENOTFOUND) {
        return rc;
    }
    if (old && strcmp(old, version) == 0) {
        free(old);
        return TEMPER_OK;
    }
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_CHANGE, what);
    rc = a ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, image ? TEMPER_ATTR_IMAGE : TEMPER_ATTR_PACKAGE,
                                 image ? image : what);
    }
    if (rc == TEMPER_OK && image) {
        rc = temper_artifact_set(a, TEMPER_ATTR_UPSTREAM, what);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_OLD_VERSION, old ? old : "");
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_NEW_VERSION, version);
    }
    if (rc == TEMPER_OK && dist) {
        rc = temper_artifact_set(a, TEMPER_ATTR_DISTRIBUTION, dist);
    }
    if (rc == TEMPER_OK && src) {
        rc = temper_artifact_set(a, TEMPER_ATTR_SOURCE_PACKAGE, src);
    }
    free(old);
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return rc;
    }
    rc = temper_emit(st, a);
    return rc == TEMPER_OK ? temper_stage_state_put(st, state_key, version) : rc;
}

static int tt_poll(void *state, struct temper_stage *st,
                   const struct temper_watch *const *watches, size_t n)
{
    const struct tt_conf *c = state;
    if (c->fail) {
        return temper_fail(st, TEMPER_ENET, "asked to fail");
    }
    char *buf = read_source(st, c->source);
    if (!buf) {
        return temper_stage_error(st) ? TEMPER_EIO : TEMPER_ENOMEM;
    }
    int rc = TEMPER_OK;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line && rc == TEMPER_OK;
         line = strtok_r(NULL, "\n", &save)) {
        char key[128] = "", ver[128] = "", dist[128] = "", src[128] = "";
        int got = sscanf(line, "%127s %127s %127s %127s", key, ver, dist, src);
        if (got < 2) {
            continue;
        }
        if (c->package_mode) {
            char sk[160];
            snprintf(sk, sizeof sk, "pkg:%s", key);
            rc = report(st, sk, NULL, key, ver, got > 2 ? dist : NULL, got > 3 ? src : NULL);
            continue;
        }
        for (size_t i = 0; i < n && rc == TEMPER_OK; i++) {
            const struct tt_watch *w = watches[i]->conf;
            if (strcmp(w->key, key) == 0) {
                rc = report(st, watches[i]->id, watches[i]->image, key, ver, NULL, NULL);
            }
        }
    }
    free(buf);
    return rc;
}

static const struct temper_tracker_ops tt_ops = {
    .watch_options = tt_watch_options,
    .watch_conf_size = sizeof(struct tt_watch),
    .poll = tt_poll,
};

TEMPER_PLUGIN(tracker_tracktest) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_TRACKER, .name = "tracktest", .version = "1.0",
    .summary = "watches a local file (tests)",
    .options = tt_options, .conf_size = sizeof(struct tt_conf),
    .open = tt_open, .ops = &tt_ops, .ops_size = sizeof tt_ops,
};

/* temper — tracker_oci: watch OCI references and report when the digest a
 * reference points at moves.
 *
 * A customized image watches its base and its artifacts: its [upstream]
 * section names this tracker and lists each reference with a `ref =` line
 * (`oci:DIR:TAG` for an OCI layout).  A poll resolves every reference to its
 * manifest (or index) digest and compares it with the digest saved for
 * (watch, reference): a new digest is one change, with
 *   upstream      the reference
 *   old_ref       the digest seen before (absent on the first poll)
 *   new_ref       the digest now (also TEMPER_ATTR_DIGEST)
 *   image         the watching image
 * and no version: the rebuilt image keeps its own version (a digest is not
 * one), so its tags do not move to a digest-shaped name.
 * The first poll of a reference records its digest and reports it too, so
 * that the customization is built once from what it watches.  A reference
 * that cannot be resolved is logged and keeps its saved digest; the round
 * goes on with the others. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <temper/temper.h>

#define MAX_REFS 256

struct oci_watch_conf {
    struct temper_strlist refs;
    bool report_first;
};

static const struct temper_option oci_watch_options[] = {
    { TEMPER_OPT_STR, "ref", NULL, TEMPER_OPT_REQUIRED | TEMPER_OPT_MULTI,
      offsetof(struct oci_watch_conf, refs), 0, 0, NULL,
      "a reference to watch (oci:DIR:TAG); one line each: the base and every artifact" },
    { TEMPER_OPT_BOOL, "report_first", "true", 0, offsetof(struct oci_watch_conf, report_first),
      0, 0, NULL, "report a reference the first time it is seen (builds the image once)" },
    TEMPER_OPTION_END,
};

static int oci_open(struct temper_stage *st, const void *conf, void **state)
{
    (void)st;
    (void)conf;
    *state = NULL;
    return TEMPER_OK;
}

static void oci_close(void *state)
{
    (void)state;
}

/* The digest a layout reference `oci:DIR[:TAG]` points at. */
static int resolve_layout(struct temper_stage *st, const char *ref,
                          char digest[TEMPER_DIGEST_STR_LEN])
{
    const char *dir = ref + 4;
    const char *slash = strrchr(dir, '/');
    const char *colon = strrchr(slash ? slash : dir, ':');
    char *path = strndup(dir, colon ? (size_t)(colon - dir) : strlen(dir));
    const char *tag = colon ? colon + 1 : "latest";
    struct temper_oci_layout *l = NULL;
    const struct temper_oci_descriptor *d = NULL;
    int rc = path ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && !temper_oci_ref_valid(tag)) {
        rc = temper_fail(st, TEMPER_EINVAL, "%s: '%s' is not a valid tag", ref, tag);
    }
    rc = rc == TEMPER_OK ? temper_oci_layout_open(st, path, &l) : rc;
    rc = rc == TEMPER_OK ? temper_oci_layout_find(st, l, tag, &d) : rc;
    if (rc == TEMPER_OK) {
        snprintf(digest, TEMPER_DIGEST_STR_LEN, "%s", d->digest);
    }
    temper_oci_layout_free(l);
    free(path);
    return rc;
}

static int resolve(struct temper_stage *st, const char *ref, char digest[TEMPER_DIGEST_STR_LEN])
{
    if (strncmp(ref, "oci:", 4) == 0 && ref[4]) {
        return resolve_layout(st, ref, digest);
    }
    return temper_fail(st, TEMPER_ENOTSUP, "%s: only OCI layout references (oci:DIR:TAG) "
                       "are watched by this build", ref);
}

static int emit_change(struct temper_stage *st, const struct temper_watch *w, const char *ref,
                       const char *old, const char *now)
{
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_CHANGE, w->image);
    int rc = a ? temper_artifact_set(a, TEMPER_ATTR_TRACKER, temper_stage_name(st))
               : TEMPER_ENOMEM;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_IMAGE, w->image) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_UPSTREAM, ref) : rc;
    rc = rc == TEMPER_OK && old ? temper_artifact_set(a, TEMPER_ATTR_OLD_REF, old) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_NEW_REF, now) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_DIGEST, now) : rc;
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return temper_fail(st, rc, "tracker_oci: out of memory");
    }
    return temper_emit(st, a);
}

static int poll_ref(struct temper_stage *st, const struct temper_watch *w,
                    const struct oci_watch_conf *c, const char *ref)
{
    char now[TEMPER_DIGEST_STR_LEN];
    char *key = temper_strdupf("%s|%s", w->id, ref);
    char *old = NULL;
    int rc = key ? resolve(st, ref, now) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        int g = temper_stage_state_get(st, key, &old);
        rc = g == TEMPER_ENOTFOUND || g == TEMPER_OK ? TEMPER_OK : g;
    }
    bool moved = rc == TEMPER_OK && (old ? strcmp(old, now) != 0 : c->report_first);
    if (moved) {
        TEMPER_LOG_INFO(st, "%s: %s -> %s", ref, old ? old : "(new)", now);
        rc = emit_change(st, w, ref, old, now);
    }
    if (rc == TEMPER_OK && (!old || strcmp(old, now) != 0)) {
        rc = temper_stage_state_put(st, key, now);
    }
    free(old);
    free(key);
    return rc;
}

static int oci_poll(void *state, struct temper_stage *st,
                    const struct temper_watch *const *watches, size_t n)
{
    (void)state;
    size_t ok = 0, tried = 0;
    for (size_t i = 0; i < n; i++) {
        const struct oci_watch_conf *c = watches[i]->conf;
        for (size_t j = 0; j < c->refs.n && j < MAX_REFS; j++) {
            tried++;
            ok += poll_ref(st, watches[i], c, c->refs.v[j]) == TEMPER_OK;
        }
    }
    if (tried > 0 && ok == 0) {
        return temper_fail(st, TEMPER_EIO, "tracker_oci: no reference could be resolved");
    }
    return TEMPER_OK;
}

static const struct temper_tracker_ops oci_ops = {
    .watch_options = oci_watch_options,
    .watch_conf_size = sizeof(struct oci_watch_conf),
    .poll = oci_poll,
    .diff = NULL,
};

TEMPER_PLUGIN(tracker_oci) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_TRACKER,
    .name = "oci",
    .version = "0.1.0",
    .summary = "Watch OCI references (base images, artifacts) and report digest changes",
    .options = NULL,
    .conf_size = 0,
    .open = oci_open,
    .close = oci_close,
    .ops = &oci_ops,
    .ops_size = sizeof oci_ops,
};

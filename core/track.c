/* temper — `temper track`: one polling round and the transitive fan-out. */
#include "config.h"
#include "track.h"
#include "cascade.h"
#include "pipeline_priv.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define TRACK_MAX_WATCHES 100000
#define TRACK_MAX_HITS 100000

struct tracker_run {
    struct temper_open_stage os;
    struct temper_watch *watches;
    const struct temper_watch **wp;
    size_t n;
    int rc;
    char *err;
    pthread_t thread;
    int started;
};

/* The pinned (accepted) version the store holds for an image. */
static int get_pinned(void *ctx, const struct temper_image_record *img)
{
    char **out = ctx;
    *out = img->pinned_version ? strdup(img->pinned_version) : NULL;
    return 0;
}

static int build_watches(struct temper_runtime *rt, struct tracker_run *tr, char **pinned)
{
    const struct temper_config *c = rt->cfg;
    size_t n = 0;
    for (size_t i = 0; i < c->n_images; i++) {
        n += c->images[i]->tracker == tr->os.cp;
    }
    if (n > TRACK_MAX_WATCHES) {
        return TEMPER_ELIMIT;
    }
    tr->watches = calloc(n ? n : 1, sizeof *tr->watches);
    tr->wp = calloc(n ? n : 1, sizeof *tr->wp);
    if (!tr->watches || !tr->wp) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < c->n_images; i++) {
        const struct temper_conf_image *img = c->images[i];
        if (img->tracker != tr->os.cp) {
            continue;
        }
        struct temper_watch *w = &tr->watches[tr->n];
        w->size = sizeof *w;
        w->image = img->def.name;
        w->id = img->def.name;
        w->conf = img->watch_conf;
        pthread_mutex_lock(&rt->lock);
        int rc = rt->store.ops->image_get(rt->store.state, img->def.name, get_pinned,
                                          &pinned[i]);
        pthread_mutex_unlock(&rt->lock);
        if (rc != TEMPER_OK && rc != TEMPER_ENOTFOUND) {
            return rc;
        }
        w->pinned = pinned[i];
        tr->wp[tr->n++] = w;
    }
    return TEMPER_OK;
}

static void *poll_thread(void *arg)
{
    struct tracker_run *tr = arg;
    const struct temper_tracker_ops *ops = tr->os.cp->module->desc->ops;
    tr->rc = ops->poll(tr->os.state, tr->os.st, tr->wp, tr->n);
    return NULL;
}

/* Every attribute of a change as a JSON object. */
static json_object *change_json(const struct temper_artifact *a)
{
    json_object *j = json_object_new_object();
    for (size_t i = 0; i < temper_artifact_attr_count(a); i++) {
        const char *k = NULL, *v = NULL;
        if (temper_artifact_attr_at(a, i, &k, &v) == TEMPER_OK) {
            json_object_object_add(j, k, json_object_new_string(v));
        }
    }
    return j;
}

/* The images a package change hits: every one the store names (it was capped
 * at 256, so a package in more images silently lost the rest), at most
 * TRACK_MAX_HITS; repeats (binary and source name) are dropped after sorting. */
struct hits {
    char **names;
    size_t n, cap;
    size_t dropped;
};

static int add_hit(void *ctx, const struct temper_image_record *img)
{
    struct hits *h = ctx;
    if (h->n == TRACK_MAX_HITS) {
        h->dropped++;
        return 0;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        char **p = realloc(h->names, cap * sizeof *p);
        if (!p) {
            return TEMPER_ENOMEM;
        }
        h->names = p;
        h->cap = cap;
    }
    h->names[h->n] = strdup(img->name);
    return h->names[h->n++] ? 0 : TEMPER_ENOMEM;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop repeats. */
static void hits_unique(struct hits *h)
{
    if (h->n < 2) {
        return;
    }
    qsort(h->names, h->n, sizeof *h->names, cmp_name);
    size_t k = 1;
    for (size_t i = 1; i < h->n; i++) {
        if (strcmp(h->names[i], h->names[k - 1]) == 0) {
            free(h->names[i]);
        } else {
            h->names[k++] = h->names[i];
        }
    }
    h->n = k;
}

static void hits_cleanup(struct hits *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->names[i]);
    }
    free(h->names);
    memset(h, 0, sizeof *h);
}

static int enqueue(struct temper_runtime *rt, const char *image, const char *version,
                   const char *reason, const char *change, json_object *jobs,
                   struct temper_track_result *res)
{
    long long id = 0;
    bool merged = false;
    pthread_mutex_lock(&rt->lock);
    int rc = temper_job_enqueue_image(&rt->store, image, version, reason, change, 0, &id,
                                      &merged);
    pthread_mutex_unlock(&rt->lock);
    if (rc != TEMPER_OK) {
        return rc;
    }
    res->jobs += !merged;
    res->merged += merged;
    json_object *j = json_object_new_object();
    json_object_object_add(j, "image", json_object_new_string(image));
    json_object_object_add(j, "job", json_object_new_int64(id));
    json_object_object_add(j, "merged", json_object_new_boolean(merged));
    json_object_array_add(jobs, j);
    return TEMPER_OK;
}

/* Images a package change touches: latest builds containing the package (or
 * its source package) of that distribution, within their support window. */
static int package_hits(struct temper_runtime *rt, const struct temper_artifact *a,
                        long long now, struct hits *h)
{
    const char *names[2] = { temper_artifact_get(a, TEMPER_ATTR_PACKAGE),
                             temper_artifact_get(a, TEMPER_ATTR_SOURCE_PACKAGE) };
    const char *dist = temper_artifact_get(a, TEMPER_ATTR_DISTRIBUTION);
    int rc = TEMPER_OK;
    for (size_t i = 0; i < 2 && rc == TEMPER_OK; i++) {
        if (!names[i] || (i == 1 && names[0] && strcmp(names[0], names[1]) == 0)) {
            continue;
        }
        pthread_mutex_lock(&rt->lock);
        rc = rt->store.ops->images_with_package(rt->store.state, names[i], dist, now,
                                                add_hit, h);
        pthread_mutex_unlock(&rt->lock);
    }
    return rc;
}

/* ---- versions rejected in review (#8) ----------------------------------------
 * A version a person rejected in `temper review reject` is not raised again
 * for that image: its change is dropped before it is printed or enqueued
 * (whatever the tracker's own state says, e.g. after that state was reset).
 * A later approval of the same image and version lifts it. */
#define TRACK_MAX_REJECTED 100000

struct rejected {
    struct temper_review *items; /* image, version (owned), id, state */
    size_t n, cap;
    bool over;
};

static int keep_review(void *ctx, const struct temper_review *r)
{
    struct rejected *rj = ctx;
    if (!r->image || !r->version) {
        return 0;
    }
    if (rj->n == TRACK_MAX_REJECTED) {
        rj->over = true;
        return 0;
    }
    if (rj->n == rj->cap) {
        size_t cap = rj->cap ? rj->cap * 2 : 16;
        struct temper_review *p = realloc(rj->items, cap * sizeof *p);
        if (!p) {
            return TEMPER_ENOMEM;
        }
        rj->items = p;
        rj->cap = cap;
    }
    struct temper_review *it = &rj->items[rj->n];
    memset(it, 0, sizeof *it);
    it->id = r->id;
    it->state = r->state;
    it->image = strdup(r->image);
    it->version = strdup(r->version);
    rj->n++;
    return it->image && it->version ? 0 : TEMPER_ENOMEM;
}

static void rejected_cleanup(struct rejected *rj)
{
    for (size_t i = 0; i < rj->n; i++) {
        free((char *)rj->items[i].image);
        free((char *)rj->items[i].version);
    }
    free(rj->items);
    memset(rj, 0, sizeof *rj);
}

static int rejected_load(struct temper_runtime *rt, struct rejected *rj)
{
    unsigned mask = 1u << TEMPER_REVIEW_REJECTED | 1u << TEMPER_REVIEW_APPROVED;
    pthread_mutex_lock(&rt->lock);
    int rc = rt->store.ops->review_list(rt->store.state, mask, keep_review, rj);
    pthread_mutex_unlock(&rt->lock);
    if (rj->over) {
        fprintf(stderr, "temper: more than %d decided reviews: only the first are checked\n",
                TRACK_MAX_REJECTED);
    }
    return rc;
}

/* The id of the review that rejected image's version, or 0. */
static long long rejected_by(const struct rejected *rj, const char *image, const char *version)
{
    long long id = 0;
    for (size_t i = 0; image && version && i < rj->n; i++) {
        const struct temper_review *it = &rj->items[i];
        if (strcmp(it->image, image) != 0 || strcmp(it->version, version) != 0) {
            continue;
        }
        if (it->state == TEMPER_REVIEW_APPROVED) {
            return 0;
        }
        id = it->id;
    }
    return id;
}

static int fan_out(struct temper_runtime *rt, const struct temper_track_opts *o,
                   const char *tracker, const struct temper_artifact *a,
                   struct temper_track_result *res)
{
    json_object *ch = change_json(a);
    if (!temper_artifact_get(a, TEMPER_ATTR_TRACKER)) {
        json_object_object_add(ch, TEMPER_ATTR_TRACKER, json_object_new_string(tracker));
    }
    json_object *arr = json_object_new_array();
    json_object_array_add(arr, json_object_get(ch));
    const char *change = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
    json_object *jobs = json_object_new_array();
    const char *image = temper_artifact_get(a, TEMPER_ATTR_IMAGE);
    int rc = TEMPER_OK;
    if (image) {
        rc = enqueue(rt, image, temper_artifact_get(a, TEMPER_ATTR_NEW_VERSION), "upstream",
                     change, jobs, res);
    } else if (temper_artifact_get(a, TEMPER_ATTR_PACKAGE)) {
        struct hits h = { .n = 0 };
        rc = package_hits(rt, a, o->now_ms, &h);
        hits_unique(&h);
        if (h.dropped) {
            fprintf(stderr, "temper: %s hits more than %d images: %zu not enqueued\n",
                    temper_artifact_get(a, TEMPER_ATTR_PACKAGE), TRACK_MAX_HITS, h.dropped);
        }
        for (size_t i = 0; i < h.n && rc == TEMPER_OK; i++) {
            rc = enqueue(rt, h.names[i], NULL, "package", change, jobs, res);
        }
        hits_cleanup(&h);
    }
    res->changes++;
    json_object_object_add(ch, "jobs", jobs);
    if (o->json) {
        fprintf(o->out, "%s\n", json_object_to_json_string_ext(ch, JSON_C_TO_STRING_PLAIN |
                                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
    } else {
        const char *what = image ? image : temper_artifact_get(a, TEMPER_ATTR_PACKAGE);
        /* digest trackers (tracker_oci) report references, not versions */
        const char *old = temper_artifact_get(a, TEMPER_ATTR_OLD_VERSION);
        const char *now = temper_artifact_get(a, TEMPER_ATTR_NEW_VERSION);
        old = old ? old : temper_artifact_get(a, TEMPER_ATTR_OLD_REF);
        now = now ? now : temper_artifact_get(a, TEMPER_ATTR_NEW_REF);
        fprintf(o->out, "%s %s %s -> %s (%zu image%s)\n", tracker, what ? what : "?",
                old && *old ? old : "(new)", now ? now : "?",
                json_object_array_length(jobs), json_object_array_length(jobs) == 1 ? "" : "s");
    }
    json_object_put(ch);
    json_object_put(arr);
    return rc;
}

static void free_runs(struct tracker_run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        temper_runtime_close_stage(&runs[i].os);
        free(runs[i].watches);
        free(runs[i].wp);
        free(runs[i].err);
    }
    free(runs);
}

static int start_trackers(struct temper_runtime *rt, const struct temper_conf_plugin *only,
                          struct tracker_run *runs, size_t *n_runs, char **pinned,
                          struct temper_track_result *res)
{
    const struct temper_config *c = rt->cfg;
    for (size_t i = 0; i < c->n_plugins; i++) {
        const struct temper_conf_plugin *cp = c->plugins[i];
        if (cp->kind != TEMPER_KIND_TRACKER || !cp->keys.enabled || !cp->module ||
            (only && cp != only)) {
            continue;
        }
        struct tracker_run *tr = &runs[(*n_runs)++];
        res->trackers++;
        tr->rc = temper_runtime_open_stage(rt, cp, "track", &tr->os, &tr->err);
        if (tr->rc == TEMPER_OK) {
            tr->rc = build_watches(rt, tr, pinned);
        }
        if (tr->rc == TEMPER_OK) {
            /* from here on only the thread writes tr->rc */
            if (pthread_create(&tr->thread, NULL, poll_thread, tr) == 0) {
                tr->started = 1;
            } else {
                tr->rc = TEMPER_EIO;
            }
        }
    }
    return TEMPER_OK;
}

int temper_track_round(struct temper_runtime *rt, const struct temper_track_opts *o,
                       struct temper_track_result *res)
{
    memset(res, 0, sizeof *res);
    const struct temper_config *c = rt->cfg;
    struct temper_track_opts opts = *o;
    if (!opts.now_ms) {
        opts.now_ms = temper_now_ms();
    }
    struct tracker_run *runs = calloc(c->n_plugins ? c->n_plugins : 1, sizeof *runs);
    char **pinned = calloc(c->n_images ? c->n_images : 1, sizeof *pinned);
    size_t n_runs = 0;
    int rc = runs && pinned ? start_trackers(rt, o->only, runs, &n_runs, pinned, res) : TEMPER_ENOMEM;
    for (size_t i = 0; i < n_runs; i++) {
        if (runs[i].started) {
            pthread_join(runs[i].thread, NULL);
        }
    }
    struct rejected rj = { .items = NULL };
    if (rc == TEMPER_OK) {
        rc = rejected_load(rt, &rj);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n_runs; i++) {
        struct tracker_run *tr = &runs[i];
        if (tr->rc != TEMPER_OK) {
            const char *e = tr->err ? tr->err : temper_stage_error(tr->os.st);
            fprintf(stderr, "temper: tracker %s: %s\n", tr->os.cp->id,
                    e ? e : temper_rc_str(tr->rc));
            res->failed++;
        }
        /* changes are reported even from a round that failed in part */
        for (size_t k = 0; rc == TEMPER_OK && k < temper_artlist_count(tr->os.arts); k++) {
            const struct temper_artifact *a = temper_artlist_at(tr->os.arts, k);
            if (temper_artifact_type(a) != TEMPER_ART_CHANGE) {
                continue;
            }
            const char *image = temper_artifact_get(a, TEMPER_ATTR_IMAGE);
            const char *version = temper_artifact_get(a, TEMPER_ATTR_NEW_VERSION);
            long long by = rejected_by(&rj, image, version);
            if (by > 0) {
                fprintf(stderr, "temper: image %s: upstream version %s was rejected in "
                                "review %lld: not raised again\n", image, version, by);
                res->rejected++;
                continue;
            }
            rc = fan_out(rt, &opts, tr->os.cp->id, a, res);
        }
    }
    rejected_cleanup(&rj);
    fflush(opts.out);
    if (runs) {
        free_runs(runs, n_runs);
    }
    for (size_t i = 0; pinned && i < c->n_images; i++) {
        free(pinned[i]);
    }
    free(pinned);
    return rc;
}

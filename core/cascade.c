/* temper — published records and the cascade (see cascade.h). */
#include "config.h"
#include "cascade.h"
#include "pipeline_priv.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define PUBLISHED_MAX 4096

void temper_published_cleanup(struct temper_published *p)
{
    if (!p) {
        return;
    }
    free(p->digest);
    free(p->version);
    free(p->base_digest);
    free(p->layout);
    memset(p, 0, sizeof *p);
}

static char *json_str(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return strdup(json_object_get_string(v));
}

static long long json_ll(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int)) {
        return 0;
    }
    return (long long)json_object_get_int64(v);
}

int temper_published_get(struct temper_store *s, const char *image,
                         struct temper_published *out)
{
    memset(out, 0, sizeof *out);
    char *value = NULL;
    int rc = s->ops->kv_get(s->state, TEMPER_PUBLISHED_NS, image, &value);
    if (rc != TEMPER_OK) {
        return rc;
    }
    json_object *o = value && strlen(value) < PUBLISHED_MAX ? json_tokener_parse(value) : NULL;
    free(value);
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return temper_fail(s->st, TEMPER_EFORMAT, "published record of %s is not a JSON "
                           "object", image);
    }
    out->digest = json_str(o, "digest");
    out->version = json_str(o, "version");
    out->base_digest = json_str(o, "base_digest");
    out->layout = json_str(o, "layout");
    out->run_id = json_ll(o, "run_id");
    out->job_id = json_ll(o, "job_id");
    out->at = json_ll(o, "at");
    json_object_put(o);
    return out->digest ? TEMPER_OK : TEMPER_ENOTFOUND;
}

struct image_copy {
    char *name, *base, *dist, *pinned;
    long long until;
    int found;
};

static int copy_image(void *ctx, const struct temper_image_record *img)
{
    struct image_copy *c = ctx;
    c->found = 1;
    c->name = img->name ? strdup(img->name) : NULL;
    c->base = img->base ? strdup(img->base) : NULL;
    c->dist = img->distribution ? strdup(img->distribution) : NULL;
    c->pinned = img->pinned_version ? strdup(img->pinned_version) : NULL;
    c->until = img->support_until;
    return 0;
}

/* The image record keeps the newest published digest too, and the version
 * it was built from becomes the pinned (accepted) upstream version. */
static int set_last_digest(struct temper_store *s, const char *image, const char *digest,
                           const char *version)
{
    struct image_copy c;
    memset(&c, 0, sizeof c);
    int rc = s->ops->image_get(s->state, image, copy_image, &c);
    if (rc == TEMPER_OK && c.found) {
        struct temper_image_record rec = {
            .size = sizeof rec, .name = c.name, .base = c.base, .distribution = c.dist,
            .support_until = c.until, .pinned_version = version ? version : c.pinned,
            .last_digest = digest,
        };
        rc = s->ops->image_put(s->state, &rec);
    }
    free(c.name);
    free(c.base);
    free(c.dist);
    free(c.pinned);
    return rc == TEMPER_ENOTFOUND ? TEMPER_OK : rc;
}

int temper_published_put(struct temper_store *s, const char *image,
                         const struct temper_published *p)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "digest", json_object_new_string(p->digest));
    if (p->version) {
        json_object_object_add(o, "version", json_object_new_string(p->version));
    }
    if (p->base_digest) {
        json_object_object_add(o, "base_digest", json_object_new_string(p->base_digest));
    }
    if (p->layout) {
        json_object_object_add(o, "layout", json_object_new_string(p->layout));
    }
    json_object_object_add(o, "run_id", json_object_new_int64(p->run_id));
    json_object_object_add(o, "job_id", json_object_new_int64(p->job_id));
    json_object_object_add(o, "at", json_object_new_int64(p->at));
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    int rc = text ? s->ops->kv_put(s->state, TEMPER_PUBLISHED_NS, image, text)
                  : TEMPER_ENOMEM;
    json_object_put(o);
    if (rc == TEMPER_OK) {
        rc = set_last_digest(s, image, p->digest, p->version);
    }
    return rc;
}

int temper_job_enqueue_image(struct temper_store *s, const char *image, const char *version,
                             const char *reason, const char *change, int priority,
                             long long *id, bool *merged)
{
    char *key = temper_strdupf("build:%s", image);
    if (!key) {
        return TEMPER_ENOMEM;
    }
    struct temper_job job = {
        .size = sizeof job, .image = (char *)image, .version = (char *)version,
        .reason = (char *)reason, .change = (char *)change, .dedup_key = key,
        .priority = priority,
    };
    int rc = s->ops->job_enqueue(s->state, &job, id, merged);
    free(key);
    return rc;
}

static char *base_change(const char *image, const char *digest)
{
    json_object *arr = json_object_new_array();
    json_object *ch = json_object_new_object();
    json_object_object_add(ch, "tracker", json_object_new_string("cascade"));
    json_object_object_add(ch, "base", json_object_new_string(image));
    if (digest) {
        json_object_object_add(ch, "base_digest", json_object_new_string(digest));
    }
    json_object_array_add(arr, ch);
    const char *t = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = t ? strdup(t) : NULL;
    json_object_put(arr);
    return out;
}

int temper_cascade_enqueue(struct temper_store *s, const struct temper_graph *g,
                           const char *image, const char *digest, int priority,
                           long long *ids, size_t cap, size_t *n)
{
    size_t i = temper_graph_find(g, image);
    if (i == TEMPER_GRAPH_NONE || !g->nodes[i].n_deps) {
        return TEMPER_OK;
    }
    char *change = base_change(image, digest);
    if (!change) {
        return TEMPER_ENOMEM;
    }
    int rc = TEMPER_OK;
    for (size_t k = 0; rc == TEMPER_OK && k < g->nodes[i].n_deps; k++) {
        const char *dep = g->nodes[g->nodes[i].deps[k]].name;
        long long id = 0;
        bool merged = false;
        rc = temper_job_enqueue_image(s, dep, NULL, "base", change, priority, &id, &merged);
        if (rc == TEMPER_OK) {
            temper_log(NULL, TEMPER_LOG_LVL_INFO, "cascade: %s published, job %lld %s %s",
                       image, id, merged ? "merged for" : "enqueued for", dep);
            if (ids && *n < cap) {
                ids[*n] = id;
            }
            (*n)++;
        }
    }
    free(change);
    return rc;
}

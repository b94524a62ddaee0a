/* temper — deterministic JSON for OCI manifests, indexes and configs.
 *
 * Key order: the field order of opencontainers/image-spec specs-go/v1 (see
 * include/temper/oci.h); json-c keeps insertion order, so each writer adds
 * keys in that order.  Map keys come sorted from struct temper_oci_map;
 * string sets (ExposedPorts, Volumes) are sorted and de-duplicated here. */
#include "config.h"
#include "oci_int.h"
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* Adds val (taken, even on error) under key. */
static int add(struct json_object *o, const char *key, struct json_object *val)
{
    if (!val) {
        return TEMPER_ENOMEM;
    }
    if (json_object_object_add(o, key, val) != 0) {
        json_object_put(val);
        return TEMPER_ENOMEM;
    }
    return TEMPER_OK;
}

static int add_str(struct json_object *o, const char *key, const char *s)
{
    if (!s || !*s) {
        return TEMPER_OK; /* omitempty */
    }
    return add(o, key, json_object_new_string(s));
}

static int add_list(struct json_object *o, const char *key, const struct temper_strlist *l)
{
    if (l->n == 0) {
        return TEMPER_OK;
    }
    struct json_object *a = json_object_new_array();
    if (!a) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < l->n; i++) {
        struct json_object *s = json_object_new_string(l->v[i] ? l->v[i] : "");
        if (!s || json_object_array_add(a, s) != 0) {
            json_object_put(s);
            json_object_put(a);
            return TEMPER_ENOMEM;
        }
    }
    return add(o, key, a);
}

static int add_map(struct json_object *o, const char *key, const struct temper_oci_map *m)
{
    if (m->n == 0) {
        return TEMPER_OK;
    }
    struct json_object *mo = json_object_new_object();
    if (!mo) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < m->n; i++) {
        int rc = add(mo, m->v[i].key, json_object_new_string(m->v[i].value));
        if (rc != TEMPER_OK) {
            json_object_put(mo);
            return rc;
        }
    }
    return add(o, key, mo);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* {"k1":{},"k2":{}} with the keys sorted and unique. */
static int add_set(struct json_object *o, const char *key, const struct temper_strlist *l)
{
    if (l->n == 0) {
        return TEMPER_OK;
    }
    char **keys = malloc(l->n * sizeof *keys);
    struct json_object *so = json_object_new_object();
    int rc = (keys && so) ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        memcpy(keys, l->v, l->n * sizeof *keys);
        qsort(keys, l->n, sizeof *keys, cmp_str);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < l->n; i++) {
        if (i == 0 || strcmp(keys[i], keys[i - 1]) != 0) {
            rc = add(so, keys[i], json_object_new_object());
        }
    }
    free(keys);
    if (rc != TEMPER_OK) {
        json_object_put(so);
        return rc;
    }
    return add(o, key, so);
}

static int platform_to_json(const struct temper_oci_platform *p, struct json_object **out)
{
    *out = NULL;
    if (!p->architecture || !p->os) {
        return TEMPER_EINVAL;
    }
    struct json_object *o = json_object_new_object();
    if (!o) {
        return TEMPER_ENOMEM;
    }
    int rc = add(o, "architecture", json_object_new_string(p->architecture));
    if (rc == TEMPER_OK) {
        rc = add(o, "os", json_object_new_string(p->os));
    }
    if (rc == TEMPER_OK) {
        rc = add_str(o, "os.version", p->os_version);
    }
    if (rc == TEMPER_OK) {
        rc = add_list(o, "os.features", &p->os_features);
    }
    if (rc == TEMPER_OK) {
        rc = add_str(o, "variant", p->variant);
    }
    if (rc != TEMPER_OK) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return TEMPER_OK;
}

int oci_desc_to_json(const struct temper_oci_descriptor *d, struct json_object **out)
{
    *out = NULL;
    if (!d->media_type || !*d->media_type || !temper_oci_digest_valid(d->digest) ||
        d->size < 0) {
        return TEMPER_EINVAL;
    }
    struct json_object *o = json_object_new_object();
    if (!o) {
        return TEMPER_ENOMEM;
    }
    int rc = add(o, "mediaType", json_object_new_string(d->media_type));
    if (rc == TEMPER_OK) {
        rc = add(o, "digest", json_object_new_string(d->digest));
    }
    if (rc == TEMPER_OK) {
        rc = add(o, "size", json_object_new_int64(d->size));
    }
    if (rc == TEMPER_OK) {
        rc = add_list(o, "urls", &d->urls);
    }
    if (rc == TEMPER_OK) {
        rc = add_map(o, "annotations", &d->annotations);
    }
    if (rc == TEMPER_OK) {
        rc = add_str(o, "data", d->data);
    }
    if (rc == TEMPER_OK && d->platform) {
        struct json_object *p = NULL;
        rc = platform_to_json(d->platform, &p);
        if (rc == TEMPER_OK) {
            rc = add(o, "platform", p);
        }
    }
    if (rc == TEMPER_OK) {
        rc = add_str(o, "artifactType", d->artifact_type);
    }
    if (rc != TEMPER_OK) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return TEMPER_OK;
}

static int add_desc(struct json_object *o, const char *key,
                    const struct temper_oci_descriptor *d)
{
    struct json_object *dj = NULL;
    int rc = oci_desc_to_json(d, &dj);
    return rc == TEMPER_OK ? add(o, key, dj) : rc;
}

static int add_desc_array(struct json_object *o, const char *key,
                          const struct temper_oci_descriptor *v, size_t n)
{
    struct json_object *a = json_object_new_array();
    if (!a) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *dj = NULL;
        int rc = oci_desc_to_json(&v[i], &dj);
        if (rc == TEMPER_OK && json_object_array_add(a, dj) != 0) {
            json_object_put(dj);
            rc = TEMPER_ENOMEM;
        }
        if (rc != TEMPER_OK) {
            json_object_put(a);
            return rc;
        }
    }
    return add(o, key, a);
}

int oci_json_dump(struct json_object *o, char **json, size_t *len)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    *json = s ? malloc(n + 1) : NULL;
    if (!*json) {
        return TEMPER_ENOMEM;
    }
    memcpy(*json, s, n);
    (*json)[n] = '\0';
    if (len) {
        *len = n;
    }
    return TEMPER_OK;
}

static int finish(struct temper_stage *st, const char *what, struct json_object *o, int rc,
                  char **json, size_t *len)
{
    if (rc == TEMPER_OK) {
        rc = oci_json_dump(o, json, len);
    }
    json_object_put(o);
    if (rc == TEMPER_EINVAL) {
        return temper_fail(st, rc, "%s: a required field is missing or a digest is invalid",
                           what);
    }
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "%s: cannot serialise: %s", what, temper_rc_str(rc));
    }
    return TEMPER_OK;
}

int temper_oci_manifest_json(struct temper_stage *st, const struct temper_oci_manifest *m,
                             char **json, size_t *len)
{
    *json = NULL;
    struct json_object *o = json_object_new_object();
    if (!o) {
        return temper_fail(st, TEMPER_ENOMEM, "image manifest: out of memory");
    }
    int sv = m->schema_version ? m->schema_version : 2;
    int rc = add(o, "schemaVersion", json_object_new_int(sv));
    if (rc == TEMPER_OK) {
        rc = add_str(o, "mediaType", m->media_type ? m->media_type : TEMPER_OCI_MT_MANIFEST);
    }
    if (rc == TEMPER_OK) {
        rc = add_str(o, "artifactType", m->artifact_type);
    }
    if (rc == TEMPER_OK) {
        rc = add_desc(o, "config", &m->config);
    }
    if (rc == TEMPER_OK) {
        rc = add_desc_array(o, "layers", m->layers, m->n_layers);
    }
    if (rc == TEMPER_OK && m->subject) {
        rc = add_desc(o, "subject", m->subject);
    }
    if (rc == TEMPER_OK) {
        rc = add_map(o, "annotations", &m->annotations);
    }
    return finish(st, "image manifest", o, rc, json, len);
}

int temper_oci_index_json(struct temper_stage *st, const struct temper_oci_index *x,
                          char **json, size_t *len)
{
    *json = NULL;
    struct json_object *o = json_object_new_object();
    if (!o) {
        return temper_fail(st, TEMPER_ENOMEM, "image index: out of memory");
    }
    int sv = x->schema_version ? x->schema_version : 2;
    int rc = add(o, "schemaVersion", json_object_new_int(sv));
    if (rc == TEMPER_OK) {
        rc = add_str(o, "mediaType", x->media_type ? x->media_type : TEMPER_OCI_MT_INDEX);
    }
    if (rc == TEMPER_OK) {
        rc = add_str(o, "artifactType", x->artifact_type);
    }
    if (rc == TEMPER_OK) {
        rc = add_desc_array(o, "manifests", x->manifests, x->n_manifests);
    }
    if (rc == TEMPER_OK && x->subject) {
        rc = add_desc(o, "subject", x->subject);
    }
    if (rc == TEMPER_OK) {
        rc = add_map(o, "annotations", &x->annotations);
    }
    return finish(st, "image index", o, rc, json, len);
}

static int exec_config_to_json(const struct temper_oci_config *c, struct json_object **out)
{
    struct json_object *o = json_object_new_object();
    if (!o) {
        return TEMPER_ENOMEM;
    }
    int rc = add_str(o, "User", c->user);
    if (rc == TEMPER_OK) {
        rc = add_set(o, "ExposedPorts", &c->exposed_ports);
    }
    if (rc == TEMPER_OK) {
        rc = add_list(o, "Env", &c->env);
    }
    if (rc == TEMPER_OK) {
        rc = add_list(o, "Entrypoint", &c->entrypoint);
    }
    if (rc == TEMPER_OK) {
        rc = add_list(o, "Cmd", &c->cmd);
    }
    if (rc == TEMPER_OK) {
        rc = add_set(o, "Volumes", &c->volumes);
    }
    if (rc == TEMPER_OK) {
        rc = add_str(o, "WorkingDir", c->working_dir);
    }
    if (rc == TEMPER_OK) {
        rc = add_map(o, "Labels", &c->labels);
    }
    if (rc == TEMPER_OK) {
        rc = add_str(o, "StopSignal", c->stop_signal);
    }
    if (rc == TEMPER_OK && c->args_escaped) {
        rc = add(o, "ArgsEscaped", json_object_new_boolean(1));
    }
    if (rc != TEMPER_OK) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return TEMPER_OK;
}

static int rootfs_to_json(const struct temper_oci_config *c, struct json_object **out)
{
    struct json_object *o = json_object_new_object();
    struct json_object *a = json_object_new_array();
    int rc = (o && a) ? TEMPER_OK : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && i < c->diff_ids.n; i++) {
        struct json_object *s = NULL;
        if (!temper_oci_digest_valid(c->diff_ids.v[i])) {
            rc = TEMPER_EINVAL;
        } else {
            s = json_object_new_string(c->diff_ids.v[i]);
            rc = (s && json_object_array_add(a, s) == 0) ? TEMPER_OK : TEMPER_ENOMEM;
        }
        if (rc != TEMPER_OK) {
            json_object_put(s);
        }
    }
    if (rc == TEMPER_OK) {
        rc = add(o, "type", json_object_new_string("layers"));
    }
    if (rc == TEMPER_OK) {
        rc = add(o, "diff_ids", a);
        a = NULL;
    }
    json_object_put(a);
    if (rc != TEMPER_OK) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return TEMPER_OK;
}

static int history_to_json(const struct temper_oci_history *h, struct json_object **out)
{
    struct json_object *o = json_object_new_object();
    if (!o) {
        return TEMPER_ENOMEM;
    }
    int rc = add_str(o, "created", h->created);
    if (rc == TEMPER_OK) {
        rc = add_str(o, "created_by", h->created_by);
    }
    if (rc == TEMPER_OK) {
        rc = add_str(o, "author", h->author);
    }
    if (rc == TEMPER_OK) {
        rc = add_str(o, "comment", h->comment);
    }
    if (rc == TEMPER_OK && h->empty_layer) {
        rc = add(o, "empty_layer", json_object_new_boolean(1));
    }
    if (rc != TEMPER_OK) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return TEMPER_OK;
}

static int add_history(struct json_object *o, const struct temper_oci_config *c)
{
    if (c->n_history == 0) {
        return TEMPER_OK;
    }
    struct json_object *a = json_object_new_array();
    if (!a) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < c->n_history; i++) {
        struct json_object *h = NULL;
        int rc = history_to_json(&c->history[i], &h);
        if (rc == TEMPER_OK && json_object_array_add(a, h) != 0) {
            json_object_put(h);
            rc = TEMPER_ENOMEM;
        }
        if (rc != TEMPER_OK) {
            json_object_put(a);
            return rc;
        }
    }
    return add(o, "history", a);
}

int temper_oci_config_json(struct temper_stage *st, const struct temper_oci_config *c,
                           char **json, size_t *len)
{
    *json = NULL;
    if (!c->architecture || !*c->architecture || !c->os || !*c->os) {
        return temper_fail(st, TEMPER_EINVAL, "image config: architecture and os are required");
    }
    struct json_object *o = json_object_new_object();
    if (!o) {
        return temper_fail(st, TEMPER_ENOMEM, "image config: out of memory");
    }
    int rc = add_str(o, "created", c->created);
    if (rc == TEMPER_OK) {
        rc = add_str(o, "author", c->author);
    }
    struct temper_oci_platform p = {
        .architecture = c->architecture, .os = c->os, .os_version = c->os_version,
        .os_features = c->os_features, .variant = c->variant,
    };
    struct json_object *sub = NULL;
    if (rc == TEMPER_OK) {
        rc = platform_to_json(&p, &sub);
    }
    /* the platform fields are inlined into the config object */
    if (sub) {
        json_object_object_foreach(sub, k, v) {
            if (rc == TEMPER_OK) {
                rc = add(o, k, json_object_get(v));
            }
        }
        json_object_put(sub);
        sub = NULL;
    }
    if (rc == TEMPER_OK) {
        rc = exec_config_to_json(c, &sub);
        rc = rc == TEMPER_OK ? add(o, "config", sub) : rc;
    }
    if (rc == TEMPER_OK) {
        rc = rootfs_to_json(c, &sub);
        rc = rc == TEMPER_OK ? add(o, "rootfs", sub) : rc;
    }
    if (rc == TEMPER_OK) {
        rc = add_history(o, c);
    }
    return finish(st, "image config", o, rc, json, len);
}

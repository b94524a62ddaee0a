/* temper — parsing OCI (and Docker v2) manifests, indexes and configs.
 *
 * Outside data: the document is size- and depth-capped, every field is
 * type-checked, arrays and maps are capped at TEMPER_OCI_MAX_ITEMS, digests
 * are validated before use, and values are never echoed into messages (they
 * name the field instead).  JSON null reads as absent; unknown keys are
 * ignored as the spec requires. */
#include "config.h"
#include "oci_int.h"
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oci_json_load(struct temper_stage *st, const char *what, const char *json, size_t len,
                  struct json_object **out)
{
    *out = NULL;
    if (len > TEMPER_OCI_MAX_JSON) {
        return temper_fail(st, TEMPER_ELIMIT, "%s: %zu bytes exceed the limit of %u", what,
                           len, TEMPER_OCI_MAX_JSON);
    }
    struct json_tokener *tok = json_tokener_new_ex(TEMPER_OCI_MAX_DEPTH);
    if (!tok) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", what);
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *o = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    int rc = TEMPER_OK;
    if (!o || err != json_tokener_success) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: invalid JSON: %s", what,
                         err == json_tokener_continue ? "unexpected end"
                                                      : json_tokener_error_desc(err));
    } else if (!json_object_is_type(o, json_type_object)) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: not a JSON object", what);
    }
    for (size_t i = used; rc == TEMPER_OK && i < len; i++) {
        if (!strchr(" \t\r\n", json[i]) || json[i] == '\0') {
            rc = temper_fail(st, TEMPER_EFORMAT, "%s: trailing data after the JSON object",
                             what);
        }
    }
    if (rc != TEMPER_OK) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return TEMPER_OK;
}

/* Member `key` of o, NULL when absent or null. */
static struct json_object *member(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
        return NULL;
    }
    return v;
}

static int bad(struct temper_stage *st, const char *what, const char *field,
               const char *problem)
{
    return temper_fail(st, TEMPER_EFORMAT, "%s: %s: %s", what, field, problem);
}

static int get_str(struct temper_stage *st, const char *what, struct json_object *o,
                   const char *key, bool required, char **dst)
{
    struct json_object *v = member(o, key);
    if (!v) {
        return required ? bad(st, what, key, "missing") : TEMPER_OK;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return bad(st, what, key, "not a string");
    }
    free(*dst);
    *dst = strdup(json_object_get_string(v));
    return *dst ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", what);
}

static int get_list(struct temper_stage *st, const char *what, struct json_object *o,
                    const char *key, struct temper_strlist *l)
{
    struct json_object *a = member(o, key);
    if (!a) {
        return TEMPER_OK;
    }
    if (!json_object_is_type(a, json_type_array)) {
        return bad(st, what, key, "not an array");
    }
    size_t n = json_object_array_length(a);
    if (n > TEMPER_OCI_MAX_ITEMS) {
        return temper_fail(st, TEMPER_ELIMIT, "%s: %s: too many entries", what, key);
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = json_object_array_get_idx(a, i);
        if (!json_object_is_type(s, json_type_string)) {
            return bad(st, what, key, "holds a non-string");
        }
        if (temper_oci_list_push(l, json_object_get_string(s)) != TEMPER_OK) {
            return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", what);
        }
    }
    return TEMPER_OK;
}

/* An object of strings (annotations, Labels), or with keys only (sets). */
static int get_map(struct temper_stage *st, const char *what, struct json_object *o,
                   const char *key, struct temper_oci_map *m, struct temper_strlist *set)
{
    struct json_object *mo = member(o, key);
    if (!mo) {
        return TEMPER_OK;
    }
    if (!json_object_is_type(mo, json_type_object)) {
        return bad(st, what, key, "not an object");
    }
    if ((size_t)json_object_object_length(mo) > TEMPER_OCI_MAX_ITEMS) {
        return temper_fail(st, TEMPER_ELIMIT, "%s: %s: too many entries", what, key);
    }
    json_object_object_foreach(mo, k, v) {
        int rc;
        if (set) {
            rc = temper_oci_list_push(set, k);
        } else if (!json_object_is_type(v, json_type_string)) {
            return bad(st, what, key, "holds a non-string value");
        } else {
            rc = temper_oci_map_set(m, k, json_object_get_string(v));
        }
        if (rc != TEMPER_OK) {
            return temper_fail(st, rc, "%s: %s: %s", what, key, temper_rc_str(rc));
        }
    }
    return TEMPER_OK;
}

static int get_platform(struct temper_stage *st, const char *what, struct json_object *po,
                        struct temper_oci_platform *p)
{
    if (!json_object_is_type(po, json_type_object)) {
        return bad(st, what, "platform", "not an object");
    }
    int rc = get_str(st, what, po, "architecture", true, &p->architecture);
    if (rc == TEMPER_OK) {
        rc = get_str(st, what, po, "os", true, &p->os);
    }
    if (rc == TEMPER_OK) {
        rc = get_str(st, what, po, "os.version", false, &p->os_version);
    }
    if (rc == TEMPER_OK) {
        rc = get_list(st, what, po, "os.features", &p->os_features);
    }
    if (rc == TEMPER_OK) {
        rc = get_str(st, what, po, "variant", false, &p->variant);
    }
    return rc;
}

static int get_size(struct temper_stage *st, const char *what, struct json_object *o,
                    long long *size)
{
    struct json_object *v = member(o, "size");
    if (!v) {
        return bad(st, what, "size", "missing");
    }
    if (!json_object_is_type(v, json_type_int)) {
        return bad(st, what, "size", "not an integer");
    }
    int64_t n = json_object_get_int64(v);
    if (n < 0 || n == INT64_MAX) {
        return bad(st, what, "size", "out of range");
    }
    *size = (long long)n;
    return TEMPER_OK;
}

int oci_desc_from_json(struct temper_stage *st, const char *what, struct json_object *o,
                       struct temper_oci_descriptor *d)
{
    if (!json_object_is_type(o, json_type_object)) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: not an object", what);
    }
    char *digest = NULL;
    int rc = get_str(st, what, o, "mediaType", true, &d->media_type);
    if (rc == TEMPER_OK) {
        rc = get_str(st, what, o, "digest", true, &digest);
    }
    if (rc == TEMPER_OK && !temper_oci_digest_valid(digest)) {
        rc = bad(st, what, "digest", "not a sha256 digest (sha256: and 64 lower-case hex)");
    }
    if (rc == TEMPER_OK) {
        memcpy(d->digest, digest, TEMPER_DIGEST_STR_LEN);
        rc = get_size(st, what, o, &d->size);
    }
    free(digest);
    if (rc == TEMPER_OK) {
        rc = get_list(st, what, o, "urls", &d->urls);
    }
    if (rc == TEMPER_OK) {
        rc = get_map(st, what, o, "annotations", &d->annotations, NULL);
    }
    if (rc == TEMPER_OK) {
        rc = get_str(st, what, o, "data", false, &d->data);
    }
    struct json_object *po = member(o, "platform");
    if (rc == TEMPER_OK && po) {
        d->platform = calloc(1, sizeof *d->platform);
        rc = d->platform ? get_platform(st, what, po, d->platform)
                         : temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", what);
    }
    if (rc == TEMPER_OK) {
        rc = get_str(st, what, o, "artifactType", false, &d->artifact_type);
    }
    return rc;
}

static int get_desc_array(struct temper_stage *st, const char *what, struct json_object *o,
                          const char *key, struct temper_oci_descriptor **v, size_t *n)
{
    struct json_object *a = member(o, key);
    if (!a || !json_object_is_type(a, json_type_array)) {
        return bad(st, what, key, a ? "not an array" : "missing");
    }
    size_t len = json_object_array_length(a);
    if (len > TEMPER_OCI_MAX_ITEMS) {
        return temper_fail(st, TEMPER_ELIMIT, "%s: %s: too many entries", what, key);
    }
    *v = calloc(len ? len : 1, sizeof **v);
    if (!*v) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", what);
    }
    for (size_t i = 0; i < len; i++) {
        char field[256];
        snprintf(field, sizeof field, "%s: %s[%zu]", what, key, i);
        *n = i + 1; /* so that cleanup sees the partly filled entry */
        int rc = oci_desc_from_json(st, field, json_object_array_get_idx(a, i), &(*v)[i]);
        if (rc != TEMPER_OK) {
            return rc;
        }
    }
    *n = len;
    return TEMPER_OK;
}

static int get_subject(struct temper_stage *st, const char *what, struct json_object *o,
                       struct temper_oci_descriptor **subject)
{
    struct json_object *so = member(o, "subject");
    if (!so) {
        return TEMPER_OK;
    }
    *subject = calloc(1, sizeof **subject);
    if (!*subject) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", what);
    }
    char field[256];
    snprintf(field, sizeof field, "%s: subject", what);
    return oci_desc_from_json(st, field, so, *subject);
}

static int check_schema(struct temper_stage *st, const char *what, struct json_object *o,
                        int *sv)
{
    struct json_object *v = member(o, "schemaVersion");
    if (!v || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) != 2) {
        return bad(st, what, "schemaVersion", "must be 2");
    }
    *sv = 2;
    return TEMPER_OK;
}

static int check_media_type(struct temper_stage *st, const char *what, const char *mt,
                            const char *oci, const char *docker, const char *kind)
{
    if (mt && strcmp(mt, oci) != 0 && strcmp(mt, docker) != 0) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: mediaType is not that of an %s", what,
                           kind);
    }
    return TEMPER_OK;
}

int temper_oci_manifest_parse(struct temper_stage *st, const char *what, const char *json,
                              size_t len, struct temper_oci_manifest *m)
{
    temper_oci_manifest_cleanup(m);
    what = what ? what : "image manifest";
    struct json_object *o = NULL;
    int rc = oci_json_load(st, what, json, len, &o);
    if (rc == TEMPER_OK) {
        rc = check_schema(st, what, o, &m->schema_version);
    }
    if (rc == TEMPER_OK) {
        rc = get_str(st, what, o, "mediaType", false, &m->media_type);
    }
    if (rc == TEMPER_OK) {
        rc = check_media_type(st, what, m->media_type, TEMPER_OCI_MT_MANIFEST,
                              TEMPER_DOCKER_MT_MANIFEST, "image manifest");
    }
    if (rc == TEMPER_OK) {
        rc = get_str(st, what, o, "artifactType", false, &m->artifact_type);
    }
    struct json_object *co = rc == TEMPER_OK ? member(o, "config") : NULL;
    if (rc == TEMPER_OK && !co) {
        rc = bad(st, what, "config", "missing");
    }
    if (rc == TEMPER_OK) {
        char field[256];
        snprintf(field, sizeof field, "%s: config", what);
        rc = oci_desc_from_json(st, field, co, &m->config);
    }
    if (rc == TEMPER_OK) {
        rc = get_desc_array(st, what, o, "layers", &m->layers, &m->n_layers);
    }
    if (rc == TEMPER_OK) {
        rc = get_subject(st, what, o, &m->subject);
    }
    if (rc == TEMPER_OK) {
        rc = get_map(st, what, o, "annotations", &m->annotations, NULL);
    }
    json_object_put(o);
    if (rc != TEMPER_OK) {
        temper_oci_manifest_cleanup(m);
    }
    return rc;
}

int temper_oci_index_parse(struct temper_stage *st, const char *what, const char *json,
                           size_t len, struct temper_oci_index *x)
{
    temper_oci_index_cleanup(x);
    what = what ? what : "image index";
    struct json_object *o = NULL;
    int rc = oci_json_load(st, what, json, len, &o);
    if (rc == TEMPER_OK) {
        rc = check_schema(st, what, o, &x->schema_version);
    }
    if (rc == TEMPER_OK) {
        rc = get_str(st, what, o, "mediaType", false, &x->media_type);
    }
    if (rc == TEMPER_OK) {
        rc = check_media_type(st, what, x->media_type, TEMPER_OCI_MT_INDEX,
                              TEMPER_DOCKER_MT_LIST, "image index");
    }
    if (rc == TEMPER_OK) {
        rc = get_str(st, what, o, "artifactType", false, &x->artifact_type);
    }
    if (rc == TEMPER_OK) {
        rc = get_desc_array(st, what, o, "manifests", &x->manifests, &x->n_manifests);
    }
    if (rc == TEMPER_OK) {
        rc = get_subject(st, what, o, &x->subject);
    }
    if (rc == TEMPER_OK) {
        rc = get_map(st, what, o, "annotations", &x->annotations, NULL);
    }
    json_object_put(o);
    if (rc != TEMPER_OK) {
        temper_oci_index_cleanup(x);
    }
    return rc;
}

static int get_exec_config(struct temper_stage *st, const char *what, struct json_object *o,
                           struct temper_oci_config *c)
{
    struct json_object *eo = member(o, "config");
    if (!eo) {
        return TEMPER_OK;
    }
    if (!json_object_is_type(eo, json_type_object)) {
        return bad(st, what, "config", "not an object");
    }
    char cw[256];
    snprintf(cw, sizeof cw, "%s: config", what);
    what = cw;
    int rc = get_str(st, what, eo, "User", false, &c->user);
    if (rc == TEMPER_OK) {
        rc = get_map(st, what, eo, "ExposedPorts", NULL, &c->exposed_ports);
    }
    if (rc == TEMPER_OK) {
        rc = get_list(st, what, eo, "Env", &c->env);
    }
    if (rc == TEMPER_OK) {
        rc = get_list(st, what, eo, "Entrypoint", &c->entrypoint);
    }
    if (rc == TEMPER_OK) {
        rc = get_list(st, what, eo, "Cmd", &c->cmd);
    }
    if (rc == TEMPER_OK) {
        rc = get_map(st, what, eo, "Volumes", NULL, &c->volumes);
    }
    if (rc == TEMPER_OK) {
        rc = get_str(st, what, eo, "WorkingDir", false, &c->working_dir);
    }
    if (rc == TEMPER_OK) {
        rc = get_map(st, what, eo, "Labels", &c->labels, NULL);
    }
    if (rc == TEMPER_OK) {
        rc = get_str(st, what, eo, "StopSignal", false, &c->stop_signal);
    }
    struct json_object *ae = member(eo, "ArgsEscaped");
    if (rc == TEMPER_OK && ae) {
        if (!json_object_is_type(ae, json_type_boolean)) {
            return bad(st, what, "ArgsEscaped", "not a boolean");
        }
        c->args_escaped = json_object_get_boolean(ae);
    }
    return rc;
}

static int get_rootfs(struct temper_stage *st, const char *what, struct json_object *o,
                      struct temper_oci_config *c)
{
    struct json_object *ro = member(o, "rootfs");
    if (!ro || !json_object_is_type(ro, json_type_object)) {
        return bad(st, what, "rootfs", ro ? "not an object" : "missing");
    }
    struct json_object *t = member(ro, "type");
    if (!t || !json_object_is_type(t, json_type_string) ||
        strcmp(json_object_get_string(t), "layers") != 0) {
        return bad(st, what, "rootfs.type", "must be \"layers\"");
    }
    int rc = get_list(st, what, ro, "diff_ids", &c->diff_ids);
    for (size_t i = 0; rc == TEMPER_OK && i < c->diff_ids.n; i++) {
        if (!temper_oci_digest_valid(c->diff_ids.v[i])) {
            rc = bad(st, what, "rootfs.diff_ids", "holds an invalid digest");
        }
    }
    return rc;
}

static int get_history(struct temper_stage *st, const char *what, struct json_object *o,
                       struct temper_oci_config *c)
{
    struct json_object *a = member(o, "history");
    if (!a) {
        return TEMPER_OK;
    }
    if (!json_object_is_type(a, json_type_array)) {
        return bad(st, what, "history", "not an array");
    }
    size_t n = json_object_array_length(a);
    if (n > TEMPER_OCI_MAX_ITEMS) {
        return temper_fail(st, TEMPER_ELIMIT, "%s: history: too many entries", what);
    }
    c->history = calloc(n ? n : 1, sizeof *c->history);
    if (!c->history) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", what);
    }
    c->n_history = n;
    for (size_t i = 0; i < n; i++) {
        struct json_object *h = json_object_array_get_idx(a, i);
        struct temper_oci_history *dh = &c->history[i];
        if (!json_object_is_type(h, json_type_object)) {
            return bad(st, what, "history", "holds a non-object");
        }
        int rc = get_str(st, what, h, "created", false, &dh->created);
        rc = rc == TEMPER_OK ? get_str(st, what, h, "created_by", false, &dh->created_by) : rc;
        rc = rc == TEMPER_OK ? get_str(st, what, h, "author", false, &dh->author) : rc;
        rc = rc == TEMPER_OK ? get_str(st, what, h, "comment", false, &dh->comment) : rc;
        struct json_object *el = member(h, "empty_layer");
        if (rc == TEMPER_OK && el && !json_object_is_type(el, json_type_boolean)) {
            rc = bad(st, what, "history.empty_layer", "not a boolean");
        }
        if (rc != TEMPER_OK) {
            return rc;
        }
        dh->empty_layer = el ? json_object_get_boolean(el) : false;
    }
    return TEMPER_OK;
}

int temper_oci_config_parse(struct temper_stage *st, const char *what, const char *json,
                            size_t len, struct temper_oci_config *c)
{
    temper_oci_config_cleanup(c);
    what = what ? what : "image config";
    struct json_object *o = NULL;
    int rc = oci_json_load(st, what, json, len, &o);
    const char *const strs[] = { "created", "author", "architecture", "os", "os.version",
                                 "variant" };
    char **dst[] = { &c->created, &c->author, &c->architecture, &c->os, &c->os_version,
                     &c->variant };
    for (size_t i = 0; rc == TEMPER_OK && i < sizeof strs / sizeof strs[0]; i++) {
        bool required = i == 2 || i == 3;
        rc = get_str(st, what, o, strs[i], required, dst[i]);
    }
    if (rc == TEMPER_OK) {
        rc = get_list(st, what, o, "os.features", &c->os_features);
    }
    if (rc == TEMPER_OK) {
        rc = get_exec_config(st, what, o, c);
    }
    if (rc == TEMPER_OK) {
        rc = get_rootfs(st, what, o, c);
    }
    if (rc == TEMPER_OK) {
        rc = get_history(st, what, o, c);
    }
    json_object_put(o);
    if (rc != TEMPER_OK) {
        temper_oci_config_cleanup(c);
    }
    return rc;
}

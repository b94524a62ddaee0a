/* suite_example — a template for temper plugins written outside the temper tree.
 *
 * A `suite` plugin that checks that a built image's OCI configuration carries
 * a label, for instance to make every image say where its source lives:
 *
 *     [suite "source-label"]
 *     plugin = example
 *     label  = org.opencontainers.image.source
 *     value  = https://git.example.com/images      ; optional: exact value
 *
 * To start your own plugin: copy this directory, rename `example` everywhere
 * (TEMPER_PLUGIN(<kind>_<name>), .kind, .name, the Makefile's PLUGIN) and
 * read sdk/GUIDE.md.  The rules this file follows:
 *   - it includes only <temper/...> (and the third-party library it uses,
 *     json-c) and links only libtemper-sdk and that library;
 *   - everything except the descriptor is static;
 *   - every option is declared in the table; the core validates the INI
 *     section against it before any code here runs;
 *   - failures are recorded once with temper_fail(); a failing check is a
 *     verdict (TEMPER_VERDICT_BLOCK), not an error;
 *   - the layout is outside data: sizes are capped, digests are checked
 *     before they become paths, JSON nesting is bounded.
 */
#include <temper/temper.h>

#include <json-c/json.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXAMPLE_JSON_DEPTH 32
#define EXAMPLE_SHOW_MAX 200 /* bytes of a label value quoted in a message */

/* Filled by the core from the option table; owned by the core, read-only. */
struct example_conf {
    char *label;
    char *value;
    unsigned long long max_blob;
};

struct example_state {
    const struct example_conf *conf; /* borrowed: valid until after close() */
};

static const struct temper_option example_options[] = {
    { .type = TEMPER_OPT_STR,
      .key = "label",
      .flags = TEMPER_OPT_REQUIRED,
      .offset = offsetof(struct example_conf, label),
      .doc = "label key that the image configuration must carry" },
    { .type = TEMPER_OPT_STR,
      .key = "value",
      .offset = offsetof(struct example_conf, value),
      .doc = "when set, the exact value the label must have" },
    { .type = TEMPER_OPT_SIZE,
      .key = "max_blob_size",
      .def = "4M",
      .offset = offsetof(struct example_conf, max_blob),
      .min = 1024,
      .max = 64LL << 20,
      .doc = "largest index.json, manifest or config read from the layout" },
    TEMPER_OPTION_END,
};

static int example_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct example_conf *c = conf;
    struct example_state *s = NULL;

    /* cross-field and content checks that a table cannot express */
    if (!c->label || c->label[0] == '\0') {
        return temper_fail(st, TEMPER_EINVAL, "option label must not be empty");
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    s->conf = c;
    *state = s;
    return TEMPER_OK;
}

static void example_close(void *state)
{
    free(state); /* free(NULL) is a no-op, as close(NULL) must be */
}

/* Read a whole regular file into b (initialised by the caller with its cap). */
static int read_file(struct temper_stage *st, const char *path, struct temper_buf *b)
{
    char chunk[8192];
    int fd = -1;
    int rc = TEMPER_OK;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        rc = temper_fail(st, TEMPER_EIO, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = temper_fail(st, TEMPER_EIO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0) {
            break;
        }
        rc = temper_buf_append(b, chunk, (size_t)n);
        if (rc != TEMPER_OK) {
            rc = temper_fail(st, rc, "cannot read %s: %s (max_blob_size is %zu bytes)", path,
                             temper_rc_str(rc), b->max);
            goto out;
        }
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

/* Parse `path` as one JSON object; *out is a new reference (json_object_put). */
static int load_json(struct temper_stage *st, const char *path, size_t max,
                     struct json_object **out)
{
    struct temper_buf b;
    struct json_tokener *tok = NULL;
    struct json_object *obj = NULL;
    int rc;

    temper_buf_init(&b, max);
    rc = read_file(st, path, &b);
    if (rc != TEMPER_OK) {
        goto out;
    }
    tok = json_tokener_new_ex(EXAMPLE_JSON_DEPTH);
    if (!tok) {
        rc = temper_fail(st, TEMPER_ENOMEM, "out of memory");
        goto out;
    }
    obj = json_tokener_parse_ex(tok, b.data ? b.data : "", (int)b.len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    if (err != json_tokener_success || !json_object_is_type(obj, json_type_object)) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: not a JSON object (%s)", path,
                         err == json_tokener_continue  ? "unexpected end of data"
                         : err != json_tokener_success ? json_tokener_error_desc(err)
                                                       : "wrong type");
        goto out;
    }
    *out = obj;
    obj = NULL;
out:
    json_object_put(obj);
    if (tok) {
        json_tokener_free(tok);
    }
    temper_buf_cleanup(&b);
    return rc;
}

/* A string member of obj, or NULL when absent or not a string (borrowed). */
static const char *get_str(struct json_object *obj, const char *key)
{
    struct json_object *v = NULL;

    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

/* The path of blob `digest` in `layout`.  Only "sha256:" and 64 lower-case hex
 * digits are accepted, so nothing from the layout can walk out of blobs/. */
static int blob_path(struct temper_stage *st, const char *layout, const char *digest, char *out,
                     size_t size)
{
    const char *hex = digest ? digest + 7 : NULL;

    if (!digest || strncmp(digest, "sha256:", 7) != 0 || strlen(hex) != 64 ||
        strspn(hex, "0123456789abcdef") != 64) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: malformed or unsupported digest \"%.80s\"",
                           layout, digest ? digest : "(none)");
    }
    int n = snprintf(out, size, "%s/blobs/sha256/%s", layout, hex);
    if (n < 0 || (size_t)n >= size) {
        return temper_fail(st, TEMPER_ELIMIT, "layout path too long: %s", layout);
    }
    return TEMPER_OK;
}

/* The manifest to check: the artifact's digest attribute when the builder set
 * one, else the first entry of index.json.  *out is a new string (free()). */
static int manifest_digest(struct temper_stage *st, const char *layout, size_t max,
                           const struct temper_artifact *image, char **out)
{
    char path[PATH_MAX];
    struct json_object *index = NULL;
    struct json_object *list = NULL;
    const char *digest = temper_artifact_get(image, TEMPER_ATTR_DIGEST);
    int rc = TEMPER_OK;

    if (!digest) {
        int n = snprintf(path, sizeof path, "%s/index.json", layout);
        if (n < 0 || (size_t)n >= sizeof path) {
            rc = temper_fail(st, TEMPER_ELIMIT, "layout path too long: %s", layout);
            goto out;
        }
        rc = load_json(st, path, max, &index);
        if (rc != TEMPER_OK) {
            goto out;
        }
        if (!json_object_object_get_ex(index, "manifests", &list) ||
            !json_object_is_type(list, json_type_array) || json_object_array_length(list) < 1) {
            rc = temper_fail(st, TEMPER_EFORMAT, "%s: no manifests", path);
            goto out;
        }
        digest = get_str(json_object_array_get_idx(list, 0), "digest");
    }
    *out = strdup(digest ? digest : "");
    if (!*out) {
        rc = temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
out:
    json_object_put(index);
    return rc;
}

/* Look the label up in the image config that manifest `digest` points to.
 * *value is a new string (free()), NULL when the label is absent. */
static int find_label(struct temper_stage *st, const char *layout, size_t max, const char *digest,
                      const char *label, char **value)
{
    char path[PATH_MAX];
    struct json_object *manifest = NULL;
    struct json_object *config = NULL;
    struct json_object *node = NULL;
    struct json_object *labels = NULL;
    int rc;

    rc = blob_path(st, layout, digest, path, sizeof path);
    if (rc == TEMPER_OK) {
        rc = load_json(st, path, max, &manifest);
    }
    if (rc != TEMPER_OK) {
        goto out;
    }
    if (!json_object_object_get_ex(manifest, "config", &node)) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: not an image manifest (no config)", path);
        goto out;
    }
    rc = blob_path(st, layout, get_str(node, "digest"), path, sizeof path);
    if (rc == TEMPER_OK) {
        rc = load_json(st, path, max, &config);
    }
    if (rc != TEMPER_OK) {
        goto out;
    }
    /* "config" and "Labels" are optional in an image config: absent = no labels */
    if (json_object_object_get_ex(config, "config", &node) &&
        json_object_object_get_ex(node, "Labels", &labels)) {
        const char *v = get_str(labels, label);
        *value = v ? strdup(v) : NULL;
        if (v && !*value) {
            rc = temper_fail(st, TEMPER_ENOMEM, "out of memory");
        }
    }
out:
    json_object_put(manifest);
    json_object_put(config);
    return rc;
}

/* Record the one test case of this suite and set the verdict. */
static int record(struct temper_stage *st, const struct example_conf *c, const char *value,
                  long long t0, enum temper_verdict *verdict)
{
    char *msg = NULL;
    bool ok = value && (!c->value || strcmp(value, c->value) == 0);
    int rc;

    if (!value) {
        msg = temper_strdupf("label %s is missing", c->label);
    } else if (!ok) {
        msg = temper_strdupf("label %s is \"%.*s\", expected \"%s\"", c->label, EXAMPLE_SHOW_MAX,
                             value, c->value);
    }
    if (!ok && !msg) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    struct temper_case tc = {
        .size = sizeof tc,
        .suite = "labels",
        .name = c->label,
        .status = ok ? TEMPER_CASE_PASSED : TEMPER_CASE_FAILED,
        .duration_ms = temper_stage_now_ms(st) - t0,
        .message = msg,
    };
    rc = temper_stage_case(st, &tc);
    free(msg);
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "cannot record test case %s", c->label);
    }
    *verdict = ok ? TEMPER_VERDICT_PASS : TEMPER_VERDICT_BLOCK;
    TEMPER_LOG_DEBUG(st, "label %s: %s", c->label, ok ? "present" : "check failed");
    return TEMPER_OK;
}

static int example_run(void *state, struct temper_stage *st, const struct temper_artifact *image,
                       const void *const *cases, size_t n_cases, enum temper_verdict *verdict)
{
    const struct example_state *s = state;
    const char *layout = temper_artifact_path(image);
    long long t0 = temper_stage_now_ms(st);
    char *digest = NULL;
    char *value = NULL;
    int rc;

    (void)cases; /* this suite declares no per-image [test "..."] keys */
    (void)n_cases;
    *verdict = TEMPER_VERDICT_NONE;
    if (!layout) {
        return temper_fail(st, TEMPER_EINVAL, "image %s has no layout directory",
                           temper_artifact_name(image));
    }
    rc = manifest_digest(st, layout, s->conf->max_blob, image, &digest);
    if (rc != TEMPER_OK) {
        goto out;
    }
    rc = find_label(st, layout, s->conf->max_blob, digest, s->conf->label, &value);
    if (rc != TEMPER_OK) {
        goto out;
    }
    rc = record(st, s->conf, value, t0, verdict);
out:
    free(digest);
    free(value);
    return rc;
}

static const struct temper_suite_ops example_ops = {
    .case_options = NULL, /* no per-image [test "..."] keys */
    .case_conf_size = 0,
    .run = example_run,
};

/* The one exported symbol: suite_example_LTX_temper_plugin. */
TEMPER_PLUGIN(suite_example) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_SUITE,
    .name = "example",
    .version = "0.1.0",
    .summary = "Check that the image configuration carries a required label",
    .options = example_options,
    .conf_size = sizeof(struct example_conf),
    .open = example_open,
    .close = example_close,
    .ops = &example_ops,
    .ops_size = sizeof(example_ops),
};

/* suite_example — a template for temper plugins written outside the temper tree.
 *
 * A `suite` plugin that checks that a built image's OCI configuration carries
 * a label, for instance to make every image say where its source lives:
 *
 *     [suite "source-label"]
 *     plugin = example
 *     label  = org.opencontainers.image.source
 *     value  = https://git.example.com/       ; optional
 *     match  = prefix                         ; exact (default) or prefix
 *
 * To start your own plugin: copy this directory, rename `example` everywhere
 * (TEMPER_PLUGIN(<kind>_<name>), .kind, .name, the Makefile's PLUGIN) and
 * read sdk/GUIDE.md.  The rules this file follows:
 *   - it includes only <temper/temper.h> and links only libtemper-sdk (a
 *     plugin may add the third-party libraries it needs);
 *   - everything except the descriptor is static;
 *   - every option is declared in the table; the core validates the INI
 *     section against it before any code here runs;
 *   - failures are recorded once with temper_fail(); a failing check is a
 *     verdict (TEMPER_VERDICT_BLOCK), not an error;
 *   - the layout is outside data: it is read through the SDK's OCI model,
 *     which caps sizes, verifies every blob's digest and never builds a path
 *     from an unchecked digest.
 */
#include <temper/temper.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define EXAMPLE_SHOW_MAX 200 /* bytes of a label value quoted in a message */

enum example_match {
    EXAMPLE_MATCH_EXACT = 0,
    EXAMPLE_MATCH_PREFIX = 1
};

static const char *const example_match_choices[] = { "exact", "prefix", NULL };

/* Filled by the core from the option table; owned by the core, read-only. */
struct example_conf {
    char *label;
    char *value;
    int match; /* enum example_match: index into example_match_choices */
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
      .doc = "when set, the value the label must have (see match)" },
    { .type = TEMPER_OPT_ENUM,
      .key = "match",
      .def = "exact",
      .offset = offsetof(struct example_conf, match),
      .choices = example_match_choices,
      .doc = "how value is compared: the whole label value, or its beginning" },
    TEMPER_OPTION_END,
};

static int example_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct example_conf *c = conf;
    struct example_state *s = NULL;

    /* content and cross-field checks that a table cannot express */
    if (!c->label || c->label[0] == '\0') {
        return temper_fail(st, TEMPER_EINVAL, "option label must not be empty");
    }
    if (c->match == EXAMPLE_MATCH_PREFIX && !c->value) {
        return temper_fail(st, TEMPER_EINVAL, "match = prefix needs a value");
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

static bool is_index(const char *media_type)
{
    return media_type && (strcmp(media_type, TEMPER_OCI_MT_INDEX) == 0 ||
                          strcmp(media_type, TEMPER_DOCKER_MT_LIST) == 0);
}

/* Is d the manifest we are after: the digest `want`, or any image manifest? */
static bool wanted(const struct temper_oci_descriptor *d, const char *want)
{
    if (want) {
        return strcmp(d->digest, want) == 0;
    }
    return !is_index(d->media_type);
}

static int copy_descriptor(struct temper_stage *st, struct temper_oci_descriptor *out,
                           const struct temper_oci_descriptor *d)
{
    int rc = temper_oci_descriptor_copy(out, d);
    return rc == TEMPER_OK ? rc : temper_fail(st, rc, "cannot copy descriptor %s", d->digest);
}

/* The manifest to check: the one whose digest the builder put on the image
 * artifact, else the first image manifest; looked up in index.json and one
 * level down in the image indexes it lists.  *out gets a copy. */
static int find_manifest(struct temper_stage *st, const struct temper_oci_layout *l,
                         const char *want, struct temper_oci_descriptor *out)
{
    const struct temper_oci_index *top = temper_oci_layout_index(l);
    struct temper_oci_index sub = { 0 };
    int rc = TEMPER_OK;

    for (size_t i = 0; i < top->n_manifests; i++) {
        const struct temper_oci_descriptor *d = &top->manifests[i];
        if (wanted(d, want)) {
            return copy_descriptor(st, out, d);
        }
        if (!is_index(d->media_type)) {
            continue;
        }
        rc = temper_oci_read_index(st, l, d, &sub);
        for (size_t j = 0; rc == TEMPER_OK && j < sub.n_manifests; j++) {
            if (wanted(&sub.manifests[j], want)) {
                rc = copy_descriptor(st, out, &sub.manifests[j]);
                temper_oci_index_cleanup(&sub);
                return rc;
            }
        }
        temper_oci_index_cleanup(&sub);
        if (rc != TEMPER_OK) {
            return rc;
        }
    }
    return temper_fail(st, TEMPER_ENOTFOUND, "%s: no image manifest %s", temper_oci_layout_path(l),
                       want ? want : "in index.json");
}

/* The label's value in the config of the image at `layout` (a new string,
 * free()), or NULL when the image has no such label. */
static int read_label(struct temper_stage *st, const char *layout, const char *digest,
                      const char *label, char **value)
{
    struct temper_oci_layout *l = NULL;
    struct temper_oci_descriptor md = { 0 };
    struct temper_oci_manifest m = { 0 };
    struct temper_oci_config c = { 0 };
    int rc;

    rc = temper_oci_layout_open(st, layout, &l);
    if (rc == TEMPER_OK) {
        rc = find_manifest(st, l, digest, &md);
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_read_manifest(st, l, &md, &m);
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_read_config(st, l, &m.config, &c);
    }
    if (rc != TEMPER_OK) {
        goto out;
    }
    const char *v = temper_oci_map_get(&c.labels, label);
    *value = v ? strdup(v) : NULL;
    if (v && !*value) {
        rc = temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
out:
    temper_oci_config_cleanup(&c);
    temper_oci_manifest_cleanup(&m);
    temper_oci_descriptor_cleanup(&md);
    temper_oci_layout_free(l);
    return rc;
}

static bool value_ok(const struct example_conf *c, const char *value)
{
    if (!value) {
        return false;
    }
    if (!c->value) {
        return true;
    }
    if (c->match == EXAMPLE_MATCH_PREFIX) {
        return strncmp(value, c->value, strlen(c->value)) == 0;
    }
    return strcmp(value, c->value) == 0;
}

/* Record the one test case of this suite and set the verdict. */
static int record(struct temper_stage *st, const struct example_conf *c, const char *value,
                  long long t0, enum temper_verdict *verdict)
{
    char *msg = NULL;
    bool ok = value_ok(c, value);
    int rc;

    if (!value) {
        msg = temper_strdupf("label %s is missing", c->label);
    } else if (!ok) {
        msg = temper_strdupf(
            "label %s is \"%.*s\", expected %s\"%s\"", c->label, EXAMPLE_SHOW_MAX, value,
            c->match == EXAMPLE_MATCH_PREFIX ? "a value starting with " : "", c->value);
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
    TEMPER_LOG_DEBUG(st, "label %s: %s", c->label, ok ? "as required" : "check failed");
    return TEMPER_OK;
}

static int example_run(void *state, struct temper_stage *st, const struct temper_artifact *image,
                       const void *const *cases, size_t n_cases, enum temper_verdict *verdict)
{
    const struct example_state *s = state;
    const char *layout = temper_artifact_path(image);
    long long t0 = temper_stage_now_ms(st);
    char *value = NULL;
    int rc;

    (void)cases; /* this suite declares no per-image [test "..."] keys */
    (void)n_cases;
    *verdict = TEMPER_VERDICT_NONE;
    if (!layout) {
        return temper_fail(st, TEMPER_EINVAL, "image %s has no layout directory",
                           temper_artifact_name(image));
    }
    rc = read_label(st, layout, temper_artifact_get(image, TEMPER_ATTR_DIGEST), s->conf->label,
                    &value);
    if (rc == TEMPER_OK) {
        rc = record(st, s->conf, value, t0, verdict);
    }
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

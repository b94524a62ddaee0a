/* temper — a job's publish tag templates (see core/tags.h); each template
 * goes through the SDK's temper_tag_template_expand(). */
#include "config.h"
#include "tags.h"

#include <temper/buf.h>
#include <temper/log.h>
#include <temper/rc.h>
#include <temper/registry.h>
#include <stdlib.h>
#include <string.h>

#define TAGS_MAX_TEMPLATES 64

static int push_unique(char ***out, size_t *n, char *tag)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*out)[i], tag) == 0) {
            free(tag);
            return TEMPER_OK;
        }
    }
    char **v = realloc(*out, (*n + 1) * sizeof *v);
    if (!v) {
        free(tag);
        return TEMPER_ENOMEM;
    }
    *out = v;
    v[(*n)++] = tag;
    return TEMPER_OK;
}

int temper_tags_expand(struct temper_stage *st, const char *const *templates, size_t n,
                       const char *image, const char *version, const char *variant,
                       char ***out, size_t *n_out, char **err)
{
    static const char *const defaults[] = { "{version}", "{major}.{minor}", "{major}", "latest" };
    *out = NULL;
    *n_out = 0;
    *err = NULL;
    if (n == 0) {
        templates = defaults;
        n = sizeof defaults / sizeof *defaults;
    }
    if (n > TAGS_MAX_TEMPLATES) {
        *err = temper_strdupf("%zu tag templates: at most %d", n, TAGS_MAX_TEMPLATES);
        return TEMPER_EINVAL;
    }
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        char *tag = NULL, *note = NULL;
        rc = temper_tag_template_expand(templates[i], image, version, variant, &tag, &note);
        if (rc == TEMPER_OK && tag) {
            rc = push_unique(out, n_out, tag);
        } else if (rc == TEMPER_OK) {
            TEMPER_LOG_INFO(st, "%s", note ? note : "tag template skipped");
        } else {
            *err = note;
            note = NULL;
        }
        free(note);
    }
    if (rc != TEMPER_OK) {
        temper_tags_free(*out, *n_out);
        *out = NULL;
        *n_out = 0;
    }
    return rc;
}

void temper_tags_free(char **tags, size_t n)
{
    for (size_t i = 0; tags && i < n; i++) {
        free(tags[i]);
    }
    free(tags);
}

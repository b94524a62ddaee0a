/* temper — expanding a job's publish tag templates (core/tags.c).
 *
 * Templates: "{version}", "{major}.{minor}", "{major}", "latest" are the
 * default set; each template is expanded by the SDK's
 * temper_tag_template_expand() (include/temper/registry.h: placeholders
 * {version} {major} {minor} {patch} {image} {variant}, the variant suffix,
 * how the result is made a valid tag), the one implementation that
 * publish_registry uses too.  A template whose placeholder has no value (no
 * version, or "7" for {minor}) is left out with a note in the log, not an
 * error.  Duplicates are dropped, order is kept. */
#ifndef TEMPER_CORE_TAGS_H
#define TEMPER_CORE_TAGS_H

#include <stddef.h>

struct temper_stage;

#define TEMPER_TAG_MAX 128

/* Expand templates[0..n) (n == 0: the default set) for image (may be NULL),
 * version and variant; skipped templates are logged on st (may be NULL).
 * *out gets a new array of new strings (temper_tags_free), *n_out their
 * number (may be 0).  TEMPER_EINVAL with a one-line message in *err (new
 * string) for an unknown placeholder, an unclosed brace or a tag over
 * TEMPER_TAG_MAX bytes. */
int temper_tags_expand(struct temper_stage *st, const char *const *templates, size_t n,
                       const char *image, const char *version, const char *variant,
                       char ***out, size_t *n_out, char **err);
void temper_tags_free(char **tags, size_t n);

#endif

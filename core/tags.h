/* temper — expanding publish tag templates (core/tags.c).
 *
 * Templates: "{version}", "{major}.{minor}", "{major}", "latest" are the
 * default set; placeholders are {version} {major} {minor} {patch} {variant}.
 *  - version: the job's version with a leading "v" dropped ("v3.11.4" ->
 *    "3.11.4"); major/minor/patch: its leading dot-separated decimal
 *    numbers ("1.2.3-r1" -> 1, 2, 3).  A template whose placeholder has no
 *    value (no version, or "7" for {minor}) is left out, not an error.
 *  - variant suffix: for a variant other than "runtime" (or empty), every
 *    tag whose template does not use {variant} gets "-<variant>"
 *    ("latest" -> "latest-dev", "3.11" -> "3.11-dev").
 *  - the result is made a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}):
 *    other characters become '_' ("1.2.3+dfsg" -> "1.2.3_dfsg"), trailing
 *    '-' and '.' are dropped ("{version}-{variant}" of the runtime variant
 *    is "{version}"); longer tags are an error.  Duplicates are dropped, order is kept. */
#ifndef TEMPER_CORE_TAGS_H
#define TEMPER_CORE_TAGS_H

#include <stddef.h>

#define TEMPER_TAG_MAX 128

/* Expand templates[0..n) (n == 0: the default set).  *out gets a new array
 * of new strings (temper_tags_free), *n_out their number (may be 0).
 * TEMPER_EINVAL with a one-line message in *err (new string) for an unknown
 * placeholder, an unclosed brace or a tag over TEMPER_TAG_MAX bytes. */
int temper_tags_expand(const char *const *templates, size_t n, const char *version,
                       const char *variant, char ***out, size_t *n_out, char **err);
void temper_tags_free(char **tags, size_t n);

#endif

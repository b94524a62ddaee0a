/* temper — filling conf blocks from option tables (include/temper/option.h)
 * and INI sections, with every problem reported in one pass as
 * `FILE:LINE: [section] key: message`.  Not installed.
 *
 * Rules (conf/README.md has the user's view):
 *  - defaults are applied first, parsed exactly like user input;
 *  - every key of the section must belong to one of the tables, else
 *    "unknown key" listing the valid ones;
 *  - a key repeated within one file is a duplicate unless the option is
 *    TEMPER_OPT_MULTI; a key set again by a later file (the including file,
 *    or a later include) overrides the earlier file's value(s) entirely;
 *  - values of TEMPER_OPT_SECRET options never appear in a message, and they
 *    are registered with temper_log_add_secret() so logs redact them;
 *  - TEMPER_OPT_DEPRECATED options are accepted with a warning. */
#ifndef TEMPER_CORE_OPTIONS_H
#define TEMPER_CORE_OPTIONS_H

#include <temper/option.h>
#include "diag.h"
#include "ini.h"

/* One table and the zeroed block of its conf_size bytes that it fills. */
struct temper_optset {
    const struct temper_option *opts; /* may be NULL: no keys */
    void *conf;
};

/* Flags of temper_options_apply(). */
#define TEMPER_OPTIONS_KEEP_UNKNOWN 1u /* keys no table knows are not errors */

/* Fill every block of `sets` from `sec`: defaults, then values, checking
 * everything.  Returns TEMPER_OK, TEMPER_EINVAL when at least one error was
 * recorded in `d`, or TEMPER_ENOMEM.  The blocks hold what could be parsed
 * in every case: release each with temper_options_free(). */
int temper_options_apply(const struct temper_optset *sets, size_t n_sets,
                         const struct temper_ini_section *sec, unsigned flags,
                         struct temper_diags *d) TEMPER_WARN_UNUSED;

/* Parse `text` into the field of `o` in `conf` (a LIST, or a MULTI STR/PATH,
 * appends).  Relative PATH values are resolved against `base_dir` (absolute,
 * may be NULL for the cwd).  Returns TEMPER_OK, TEMPER_EINVAL with *why (a
 * new string, free()) saying why without echoing a secret value, or
 * TEMPER_ENOMEM. */
int temper_option_set(const struct temper_option *o, void *conf, const char *text,
                      const char *base_dir, char **why) TEMPER_WARN_UNUSED;

/* Free the strings and lists the table's fields hold in `conf` and zero
 * those fields.  `conf` may be NULL. */
void temper_options_free(const struct temper_option *opts, void *conf);

/* The option `key` of a table, or NULL. */
const struct temper_option *temper_option_find(const struct temper_option *opts,
                                               const char *key);

/* Number parsers behind SIZE and DURATION, exported for the tests:
 * "64K" -> 65536; "90s" -> 90000, "5" -> 5000 (bare = seconds). */
int temper_parse_size(const char *s, unsigned long long *out) TEMPER_WARN_UNUSED;
int temper_parse_duration_ms(const char *s, long long *out) TEMPER_WARN_UNUSED;

#endif

/* temper tests — what the attest plugin tests share: image and run record
 * artifacts, running a plugin through the harness, reading its statement,
 * schema validation with tests/lib/validate_json.py, and a scratch
 * directory. */
#ifndef TEMPER_TESTS_ATTEST_TESTLIB_H
#define TEMPER_TESTS_ATTEST_TESTLIB_H

#include <json-c/json.h>
#include "tests/lib/plugin_harness.h"

/* Scratch directory (made on first use, removed by at_cleanup unless
 * ATTEST_KEEP_SCRATCH is set in the environment). */
const char *at_dir(void);
/* New string "<scratch>/<name>". */
char *at_path(const char *name);
int at_write(const char *path, const void *data, size_t len);
int at_write_str(const char *path, const char *text);
void at_cleanup(void);

/* Run argv (execvp); its stdout and stderr go to our stderr (the test log).
 * Returns the exit status, -1 when it could not run. */
int at_run(const char *const argv[]);
/* $PYTHON3 (or python3) $TEMPER_SRCDIR/<script> args...: exit status. */
int at_python(const char *script, const char *const *args);
/* Validate FILE (its member `path` when not NULL, e.g. "predicate") against
 * $TEMPER_DATA/schemas/<schema>: 0 when valid. */
int at_validate(const char *schema, const char *file, const char *path);

/* "sha256:<hex of text>": a stable digest for tests. */
char *at_digest(const char *text);
/* An image artifact with digest, platform linux/amd64, variant runtime and
 * the packages of a JSON array (attest_helper.py's format; null fields
 * skipped).  NULL on error. */
struct temper_artifact *at_image_json(const char *name, const char *digest,
                                      struct json_object *packages);
/* A run record as the core makes it (fixed ids and times). */
struct temper_artifact *at_run_record(const char *image);

/* Load kind attest plugin `name` with settings and open it; 0 when open.
 * On failure the reason is printed as a TAP comment. */
int at_open(struct ph *h, const char *name, const char *const *kv);
/* Run attest() once; returns its rc. */
int at_attest(struct ph *h, const struct temper_artifact *image,
              const struct temper_artifact *run);
/* Load, open, attest once, close: the statement's JSON (new reference) or
 * NULL (the stage error printed as a TAP comment); written to
 * <scratch>/<file>; *text (may be NULL) gets its bytes (free()). */
struct json_object *at_attest_once(const char *name, const char *const *kv,
                                   const struct temper_artifact *image,
                                   const struct temper_artifact *run, const char *file,
                                   char **text);
/* 30 real packages of this machine (attest_helper.py packages) as a JSON
 * array (new reference); NULL with *skip set when there is no dpkg
 * database, NULL alone when the helper failed. */
struct json_object *at_real_packages(bool *skip);
/* The newest TEMPER_ART_STATEMENT emitted, NULL if none. */
const struct temper_artifact *at_statement(const struct ph *h);
/* Its parsed JSON (new reference) and, with `file`, a copy on disk. */
struct json_object *at_statement_json(const struct ph *h, const char *file);
/* Statement bytes copied (free()). */
char *at_statement_text(const struct ph *h);

/* Read a JSON file (new reference) / whole file (free()). */
struct json_object *at_json_file(const char *path);
char *at_read(const char *path, size_t *len);

/* The in-toto envelope every statement needs: _type, one subject named
 * `name` with digest sha256 = the hex of `digest`, predicateType `ptype`,
 * and the artifact attributes (predicate_type, signed_digest, media_type).
 * NULL when all is well, else what is wrong (static text). */
const char *at_envelope_problem(const struct temper_artifact *a, struct json_object *st,
                                const char *name, const char *digest, const char *ptype);

#endif

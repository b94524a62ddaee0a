/* temper — JSON helpers on json-c: capped parsing with one-line errors, safe
 * typed reads along dotted paths, and a canonical serialization for digests.
 *
 * json-c's `struct json_object` appears in this header (forward-declared), so
 * a plugin that uses these helpers, or any json_object_* call on what they
 * return, compiles and links against json-c itself:
 *     CFLAGS += $(pkg-config --cflags json-c)   LIBS += $(pkg-config --libs json-c)
 * (Debian: libjson-c-dev, json-c >= 0.15).  json-c error codes never cross
 * this API: parse failures become TEMPER_EFORMAT / TEMPER_ELIMIT with a
 * message recorded on the stage.
 *
 * Ownership, per function below:
 *   - _parse/_parse_file hand the caller a NEW reference (*out): release it
 *     with json_object_put().
 *   - the getters return BORROWED pointers into `obj`: valid while the caller
 *     holds its reference to `obj`; never json_object_put() them (take your
 *     own with json_object_get() if they must outlive `obj`).
 *   - temper_json_add/_append TAKE `val` (even on error).
 *   - temper_json_canonical returns a new malloc'ed string (free()).
 *
 * Paths: "commit.author.name" walks object members; a segment made only of
 * digits indexes an array ("files.0.filename"); NULL or "" is `obj` itself.
 * A key that contains '.' cannot be reached by a path (use
 * json_object_object_get_ex()); segments longer than 255 bytes never match.
 * A JSON null reads as absent everywhere. */
#ifndef TEMPER_JSON_H
#define TEMPER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <temper/rc.h>

#ifdef __cplusplus
extern "C" {
#endif

struct json_object; /* json-c */
struct temper_stage;

/* Defaults taken when a limit argument is 0. */
#define TEMPER_JSON_MAX_SIZE (16u * 1024u * 1024u) /* bytes of one document */
#define TEMPER_JSON_MAX_DEPTH 64                   /* nesting of [ and { */
/* Hard ceilings: larger limits are refused with TEMPER_EINVAL. */
#define TEMPER_JSON_SIZE_CEILING 0x7fffffffu       /* json-c takes an int length */
#define TEMPER_JSON_DEPTH_CEILING 1024

/* Parse one JSON text from buf[0..len): RFC 8259 strictly (no comments, no
 * trailing commas, no single quotes, no NaN/Infinity, valid UTF-8), only
 * whitespace may follow the value.  max_depth bounds the nesting of arrays
 * and objects: documents up to max_depth levels parse ("[[1]]" is 2 levels;
 * json-c counts a level when it reads a value in it, so an empty container
 * one level deeper still passes), deeper ones fail.  Duplicate keys: the
 * last one wins (json-c).
 * `what` names the source in messages (a URL, "release reply"); NULL reads
 * "JSON".  max_size / max_depth: 0 = the defaults above.
 * On TEMPER_OK *out is a new reference (the text `null` gives *out == NULL).
 * On error *out is NULL and one line is recorded with temper_fail(st, ...)
 * (st may be NULL: then only logged):
 *   TEMPER_EFORMAT  "<what>: invalid JSON at byte N: <json-c's description>"
 *                   or "<what>: trailing data after the JSON value at byte N"
 *   TEMPER_ELIMIT   "<what>: JSON body of N bytes exceeds the limit of M"
 *                   or "<what>: JSON nested deeper than D levels at byte N"
 *   TEMPER_EINVAL   bad arguments; TEMPER_ENOMEM. */
TEMPER_EXPORT int temper_json_parse(struct temper_stage *st, const char *what,
                                    const void *buf, size_t len, size_t max_size,
                                    int max_depth, struct json_object **out)
    TEMPER_WARN_UNUSED;

/* The same for a file, read with the same size cap; messages start with the
 * path.  TEMPER_ENOTFOUND when the file does not exist, TEMPER_EIO when it
 * cannot be read or is not a regular file. */
TEMPER_EXPORT int temper_json_parse_file(struct temper_stage *st, const char *path,
                                         size_t max_size, int max_depth,
                                         struct json_object **out) TEMPER_WARN_UNUSED;

/* Borrowed value at `path`, any type; NULL when absent or null. */
TEMPER_EXPORT struct json_object *temper_json_get(const struct json_object *obj,
                                                  const char *path);
/* Borrowed string at `path`; NULL when absent, not a string, or containing
 * U+0000 (which would silently truncate a C string). */
TEMPER_EXPORT const char *temper_json_get_str(const struct json_object *obj,
                                              const char *path);
/* Integer at `path` within [min, max].  TEMPER_ENOTFOUND when absent,
 * TEMPER_EFORMAT when not an integer (1.0 and "1" are not) or out of range.
 * json-c saturates integers that overflow 64 bits, so INT64_MIN itself reads
 * as out of range (it cannot be told from an overflow).
 * *out is written only on TEMPER_OK.  No message is recorded: the caller
 * knows what the field means and reports it. */
TEMPER_EXPORT int temper_json_get_int64(const struct json_object *obj, const char *path,
                                        int64_t min, int64_t max, int64_t *out)
    TEMPER_WARN_UNUSED;
/* Boolean at `path` (true/false only).  Codes as temper_json_get_int64. */
TEMPER_EXPORT int temper_json_get_bool(const struct json_object *obj, const char *path,
                                       bool *out) TEMPER_WARN_UNUSED;
/* Borrowed array at `path` and its length (*len 0 when NULL is returned;
 * len may be NULL).  Read elements with json_object_array_get_idx(). */
TEMPER_EXPORT struct json_object *temper_json_get_array(const struct json_object *obj,
                                                        const char *path, size_t *len);
/* Borrowed object at `path`; NULL when absent or not an object. */
TEMPER_EXPORT struct json_object *temper_json_get_object(const struct json_object *obj,
                                                         const char *path);

/* Building: set obj[key] = val (replacing), or append val to the array arr.
 * Both take `val` even on error, so a failed json_object_new_*() can be
 * passed straight in: val == NULL gives TEMPER_ENOMEM (add a JSON null with
 * json_object_object_add() directly).  TEMPER_EINVAL when obj is not an
 * object / arr not an array, or key is NULL. */
TEMPER_EXPORT int temper_json_add(struct json_object *obj, const char *key,
                                  struct json_object *val) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_json_append(struct json_object *arr, struct json_object *val)
    TEMPER_WARN_UNUSED;

/* Canonical, deterministic serialization for digests, signatures and store
 * records: object members sorted by key (byte order of the UTF-8 key), no
 * whitespace, strings escaped only where JSON requires it (`"`, `\`, and
 * control characters as \b \f \n \r \t or \u00xx), so '/' and non-ASCII
 * text are written as they are — the output json-c gives with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, plus sorted keys.
 * Integers are written in decimal; a number json-c parsed as a double keeps
 * its source text ("1.50" stays "1.50"), a double built in code is written
 * as json-c writes it.  Same input object, same bytes, on every run.
 * Note: this is not RFC 8785 (JCS) number formatting.
 * *out gets a new string (free()), *len (may be NULL) its length.
 * obj NULL writes "null".  TEMPER_EFORMAT for NaN or infinity and for the
 * integers json-c saturates on overflow (INT64_MIN, UINT64_MAX), which would
 * otherwise change the value silently; TEMPER_ELIMIT
 * nested deeper than TEMPER_JSON_DEPTH_CEILING, TEMPER_ENOMEM. */
TEMPER_EXPORT int temper_json_canonical(const struct json_object *obj, char **out,
                                        size_t *len) TEMPER_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif

/* temper — JSON helpers on json-c (see include/temper/json.h). */
#include <temper/json.h>
#include <temper/buf.h>
#include <temper/plugin.h>
#include <json-c/json.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JSON_SEGMENT_MAX 256
#define JSON_READ_CHUNK (16 * 1024)

static const char *name_of(const char *what)
{
    return what && *what ? what : "JSON";
}

/* Resolve the limits; TEMPER_EINVAL when they exceed the ceilings. */
static int json_limits(size_t *max_size, int *max_depth)
{
    if (*max_size == 0) {
        *max_size = TEMPER_JSON_MAX_SIZE;
    }
    if (*max_depth == 0) {
        *max_depth = TEMPER_JSON_MAX_DEPTH;
    }
    if (*max_size > TEMPER_JSON_SIZE_CEILING || *max_depth < 0 ||
        *max_depth > TEMPER_JSON_DEPTH_CEILING) {
        return TEMPER_EINVAL;
    }
    return TEMPER_OK;
}

static int fail_size(struct temper_stage *st, const char *what, unsigned long long n,
                     size_t max)
{
    return temper_fail(st, TEMPER_ELIMIT,
                       "%s: JSON body of %llu bytes exceeds the limit of %zu bytes",
                       name_of(what), n, max);
}

static int only_space(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') {
            return 0;
        }
    }
    return 1;
}

/* json-c accepts some non-JSON even in strict mode ('single quotes', NaN,
 * Infinity, raw control characters in strings): after a successful parse,
 * find the first byte that JSON does not allow where it stands.  Returns its
 * offset, or n. */
static size_t first_non_json(const unsigned char *p, size_t n)
{
    static const char allowed[] = " \t\r\n{}[],:0123456789+-.eEtruefalsn";
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (in_str) {
            if (c < 0x20) {
                return i; /* raw control character inside a string */
            }
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_str = 0;
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '\0' || !strchr(allowed, c)) {
            return i;
        }
    }
    return n;
}

/* Run the tokener over buf[0..len) and then the terminating NUL (json-c needs
 * it to finish a top-level number).  Returns the error, *end the offset. */
static enum json_tokener_error tokenize(struct json_tokener *tok, const char *buf,
                                        size_t len, struct json_object **obj,
                                        size_t *end)
{
    *obj = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    *end = json_tokener_get_parse_end(tok);
    if (err == json_tokener_continue) {
        *obj = json_tokener_parse_ex(tok, "", 1);
        err = json_tokener_get_error(tok);
        *end = len;
    }
    return err;
}

/* Turn the tokener's outcome into an rc, recording one message on failure. */
static int parse_verdict(struct temper_stage *st, const char *what, const void *buf,
                         size_t len, int max_depth, enum json_tokener_error err, size_t end)
{
    if (err == json_tokener_error_depth) {
        return temper_fail(st, TEMPER_ELIMIT,
                           "%s: JSON nested deeper than %d levels at byte %zu", name_of(what),
                           max_depth, end);
    }
    if (err != json_tokener_success) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: invalid JSON at byte %zu: %s",
                           name_of(what), end, json_tokener_error_desc(err));
    }
    if (end < len && !only_space((const unsigned char *)buf + end, len - end)) {
        return temper_fail(st, TEMPER_EFORMAT,
                           "%s: trailing data after the JSON value at byte %zu",
                           name_of(what), end);
    }
    size_t bad = first_non_json(buf, len);
    if (bad < len) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: invalid JSON at byte %zu: %s",
                           name_of(what), bad,
                           json_tokener_error_desc(json_tokener_error_parse_unexpected));
    }
    return TEMPER_OK;
}

int temper_json_parse(struct temper_stage *st, const char *what, const void *buf,
                      size_t len, size_t max_size, int max_depth, struct json_object **out)
{
    struct json_tokener *tok = NULL;
    struct json_object *obj = NULL;
    int rc = TEMPER_OK;
    size_t end = 0;

    if (out) {
        *out = NULL;
    }
    if (!out || (!buf && len) || json_limits(&max_size, &max_depth) != TEMPER_OK) {
        return temper_fail(st, TEMPER_EINVAL, "%s: bad arguments to the JSON parser",
                           name_of(what));
    }
    if (len > max_size) {
        return fail_size(st, what, len, max_size);
    }
    tok = json_tokener_new_ex(max_depth + 1); /* json-c counts one more level */
    if (!tok) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory parsing JSON", name_of(what));
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    enum json_tokener_error err = tokenize(tok, buf ? buf : "", len, &obj, &end);
    rc = parse_verdict(st, what, buf, len, max_depth, err, end);
    if (rc == TEMPER_OK) {
        *out = obj;
        obj = NULL;
    }
    json_object_put(obj);
    json_tokener_free(tok);
    return rc;
}

/* Read the whole regular file at fd into b (capped by b->max). */
static int read_capped(struct temper_stage *st, const char *path, int fd,
                       struct temper_buf *b)
{
    char chunk[JSON_READ_CHUNK];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return temper_fail(st, TEMPER_EIO, "cannot read %s: %s", path, strerror(errno));
        }
        if (r == 0) {
            return TEMPER_OK;
        }
        int rc = temper_buf_append(b, chunk, (size_t)r);
        if (rc == TEMPER_ELIMIT) {
            return fail_size(st, path, (unsigned long long)b->len + (unsigned long long)r,
                             b->max);
        }
        if (rc != TEMPER_OK) {
            return temper_fail(st, rc, "cannot read %s: %s", path, temper_rc_str(rc));
        }
    }
}

int temper_json_parse_file(struct temper_stage *st, const char *path, size_t max_size,
                           int max_depth, struct json_object **out)
{
    struct temper_buf b;
    struct stat sb;
    int fd = -1;
    int rc = TEMPER_OK;

    temper_buf_init(&b, 0);
    if (out) {
        *out = NULL;
    }
    if (!path || !out || json_limits(&max_size, &max_depth) != TEMPER_OK) {
        return temper_fail(st, TEMPER_EINVAL, "%s: bad arguments to the JSON parser",
                           path ? path : "(null)");
    }
    temper_buf_init(&b, max_size);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        rc = temper_fail(st, errno == ENOENT ? TEMPER_ENOTFOUND : TEMPER_EIO,
                         "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = temper_fail(st, TEMPER_EIO, "cannot read %s: not a regular file", path);
        goto out;
    }
    if ((unsigned long long)sb.st_size > max_size) {
        rc = fail_size(st, path, (unsigned long long)sb.st_size, max_size);
        goto out;
    }
    rc = read_capped(st, path, fd, &b);
    if (rc == TEMPER_OK) {
        rc = temper_json_parse(st, path, b.data, b.len, max_size, max_depth, out);
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    temper_buf_cleanup(&b);
    return rc;
}

/* ---- reading ------------------------------------------------------------ */

static struct json_object *json_step(struct json_object *cur, const char *seg, size_t n)
{
    if (json_object_is_type(cur, json_type_object)) {
        struct json_object *v = NULL;
        return json_object_object_get_ex(cur, seg, &v) ? v : NULL;
    }
    if (!json_object_is_type(cur, json_type_array) || n > 18) {
        return NULL;
    }
    size_t idx = 0;
    for (size_t i = 0; i < n; i++) {
        if (seg[i] < '0' || seg[i] > '9') {
            return NULL;
        }
        idx = idx * 10 + (size_t)(seg[i] - '0');
    }
    if (idx >= json_object_array_length(cur)) {
        return NULL;
    }
    return json_object_array_get_idx(cur, idx);
}

struct json_object *temper_json_get(const struct json_object *obj, const char *path)
{
    struct json_object *cur = (struct json_object *)obj;
    const char *p = path;
    if (!p || !*p) {
        return cur;
    }
    while (cur) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char seg[JSON_SEGMENT_MAX];
        if (n == 0 || n >= sizeof seg) {
            return NULL;
        }
        memcpy(seg, p, n);
        seg[n] = '\0';
        cur = json_step(cur, seg, n);
        if (!dot) {
            return cur;
        }
        p = dot + 1;
    }
    return NULL;
}

const char *temper_json_get_str(const struct json_object *obj, const char *path)
{
    struct json_object *v = temper_json_get(obj, path);
    if (!json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    const char *s = json_object_get_string(v);
    int n = json_object_get_string_len(v);
    if (!s || n < 0 || strlen(s) != (size_t)n) {
        return NULL;
    }
    return s;
}

int temper_json_get_int64(const struct json_object *obj, const char *path, int64_t min,
                          int64_t max, int64_t *out)
{
    struct json_object *v = temper_json_get(obj, path);
    if (!v) {
        return TEMPER_ENOTFOUND;
    }
    if (!json_object_is_type(v, json_type_int)) {
        return TEMPER_EFORMAT;
    }
    int64_t x = json_object_get_int64(v);
    if (x == INT64_MIN || (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)) {
        return TEMPER_EFORMAT; /* above INT64_MAX, or saturated by json-c */
    }
    if (x < min || x > max) {
        return TEMPER_EFORMAT;
    }
    if (out) {
        *out = x;
    }
    return TEMPER_OK;
}

int temper_json_get_bool(const struct json_object *obj, const char *path, bool *out)
{
    struct json_object *v = temper_json_get(obj, path);
    if (!v) {
        return TEMPER_ENOTFOUND;
    }
    if (!json_object_is_type(v, json_type_boolean)) {
        return TEMPER_EFORMAT;
    }
    if (out) {
        *out = json_object_get_boolean(v) != 0;
    }
    return TEMPER_OK;
}

struct json_object *temper_json_get_array(const struct json_object *obj, const char *path,
                                          size_t *len)
{
    struct json_object *v = temper_json_get(obj, path);
    if (!json_object_is_type(v, json_type_array)) {
        v = NULL;
    }
    if (len) {
        *len = v ? json_object_array_length(v) : 0;
    }
    return v;
}

struct json_object *temper_json_get_object(const struct json_object *obj, const char *path)
{
    struct json_object *v = temper_json_get(obj, path);
    return json_object_is_type(v, json_type_object) ? v : NULL;
}

/* ---- building ----------------------------------------------------------- */

int temper_json_add(struct json_object *obj, const char *key, struct json_object *val)
{
    if (!val) {
        return TEMPER_ENOMEM;
    }
    if (!key || !json_object_is_type(obj, json_type_object) || val == obj) {
        json_object_put(val);
        return TEMPER_EINVAL;
    }
    if (json_object_object_add(obj, key, val) != 0) {
        json_object_put(val);
        return TEMPER_ENOMEM;
    }
    return TEMPER_OK;
}

int temper_json_append(struct json_object *arr, struct json_object *val)
{
    if (!val) {
        return TEMPER_ENOMEM;
    }
    if (!json_object_is_type(arr, json_type_array) || val == arr) {
        json_object_put(val);
        return TEMPER_EINVAL;
    }
    if (json_object_array_add(arr, val) != 0) {
        json_object_put(val);
        return TEMPER_ENOMEM;
    }
    return TEMPER_OK;
}

/* ---- canonical output --------------------------------------------------- */

static int canon_value(struct temper_buf *b, struct json_object *o, int depth);

/* Escape exactly what JSON requires, as json-c does with NOSLASHESCAPE. */
static int canon_string(struct temper_buf *b, const char *s, size_t n)
{
    int rc = temper_buf_append(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; rc == TEMPER_OK && i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)s[i] : '"';
        if (i < n && c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        rc = temper_buf_append(b, s + run, i - run);
        run = i + 1;
        if (rc != TEMPER_OK || i == n) {
            break;
        }
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t" : NULL;
        rc = esc ? temper_buf_puts(b, esc) : temper_buf_printf(b, "\\u%04x", (unsigned)c);
    }
    return rc == TEMPER_OK ? temper_buf_append(b, "\"", 1) : rc;
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int canon_object(struct temper_buf *b, struct json_object *o, int depth)
{
    int n = json_object_object_length(o);
    const char **keys = NULL;
    int rc = TEMPER_OK;
    size_t k = 0;

    if (n > 0) {
        keys = calloc((size_t)n, sizeof *keys);
        if (!keys) {
            return TEMPER_ENOMEM;
        }
    }
    json_object_object_foreach(o, key, val) {
        (void)val;
        if (k < (size_t)n) {
            keys[k++] = key;
        }
    }
    if (k > 1) {
        qsort(keys, k, sizeof *keys, cmp_keys);
    }
    rc = temper_buf_append(b, "{", 1);
    for (size_t i = 0; rc == TEMPER_OK && i < k; i++) {
        struct json_object *v = NULL;
        json_object_object_get_ex(o, keys[i], &v);
        if (i > 0) {
            rc = temper_buf_append(b, ",", 1);
        }
        if (rc == TEMPER_OK) {
            rc = canon_string(b, keys[i], strlen(keys[i]));
        }
        if (rc == TEMPER_OK) {
            rc = temper_buf_append(b, ":", 1);
        }
        if (rc == TEMPER_OK) {
            rc = canon_value(b, v, depth + 1);
        }
    }
    free(keys);
    return rc == TEMPER_OK ? temper_buf_append(b, "}", 1) : rc;
}

static int canon_array(struct temper_buf *b, struct json_object *o, int depth)
{
    size_t n = json_object_array_length(o);
    int rc = temper_buf_append(b, "[", 1);
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        if (i > 0) {
            rc = temper_buf_append(b, ",", 1);
        }
        if (rc == TEMPER_OK) {
            rc = canon_value(b, json_object_array_get_idx(o, i), depth + 1);
        }
    }
    return rc == TEMPER_OK ? temper_buf_append(b, "]", 1) : rc;
}

static int canon_number(struct temper_buf *b, struct json_object *o)
{
    if (json_object_is_type(o, json_type_int)) {
        int64_t x = json_object_get_int64(o);
        uint64_t u = json_object_get_uint64(o);
        if (x == INT64_MIN || u == UINT64_MAX) {
            return TEMPER_EFORMAT; /* json-c saturates overflowing integers */
        }
        if (x == INT64_MAX && u != (uint64_t)INT64_MAX) {
            return temper_buf_printf(b, "%" PRIu64, u);
        }
        return temper_buf_printf(b, "%" PRId64, x);
    }
    if (!isfinite(json_object_get_double(o))) {
        return TEMPER_EFORMAT;
    }
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    return s ? temper_buf_puts(b, s) : TEMPER_ENOMEM;
}

static int canon_value(struct temper_buf *b, struct json_object *o, int depth)
{
    if (depth > TEMPER_JSON_DEPTH_CEILING) {
        return TEMPER_ELIMIT;
    }
    switch (json_object_get_type(o)) {
    case json_type_null:
        return temper_buf_puts(b, "null");
    case json_type_boolean:
        return temper_buf_puts(b, json_object_get_boolean(o) ? "true" : "false");
    case json_type_int:
    case json_type_double:
        return canon_number(b, o);
    case json_type_string:
        return canon_string(b, json_object_get_string(o),
                            (size_t)json_object_get_string_len(o));
    case json_type_array:
        return canon_array(b, o, depth);
    case json_type_object:
        return canon_object(b, o, depth);
    }
    return TEMPER_EINTERNAL;
}

int temper_json_canonical(const struct json_object *obj, char **out, size_t *len)
{
    struct temper_buf b;
    if (!out) {
        return TEMPER_EINVAL;
    }
    *out = NULL;
    if (len) {
        *len = 0;
    }
    temper_buf_init(&b, 0);
    int rc = canon_value(&b, (struct json_object *)obj, 0);
    if (rc == TEMPER_OK) {
        *out = temper_buf_take(&b, len);
        rc = *out ? TEMPER_OK : TEMPER_ENOMEM;
    }
    temper_buf_cleanup(&b);
    return rc;
}

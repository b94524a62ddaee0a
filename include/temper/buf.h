/* temper — capped growable buffers.  Every buffer fed from outside (network
 * bodies, archive members, JSON) has a cap; appending past it fails with
 * TEMPER_ELIMIT and leaves the buffer as it was. */
#ifndef TEMPER_BUF_H
#define TEMPER_BUF_H

#include <stddef.h>
#include <stdarg.h>
#include <temper/rc.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_buf {
    char *data;   /* owned; always NUL-terminated when non-NULL */
    size_t len;   /* bytes used, not counting the terminator */
    size_t cap;   /* bytes allocated */
    size_t max;   /* cap on len; 0 = SIZE_MAX/2 */
};

/* Caller-provided storage: init / cleanup. */
TEMPER_EXPORT void temper_buf_init(struct temper_buf *b, size_t max);
TEMPER_EXPORT void temper_buf_cleanup(struct temper_buf *b);
TEMPER_EXPORT void temper_buf_reset(struct temper_buf *b); /* len = 0, keeps memory */
TEMPER_EXPORT int temper_buf_append(struct temper_buf *b, const void *p, size_t n)
    TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_buf_puts(struct temper_buf *b, const char *s) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_buf_printf(struct temper_buf *b, const char *fmt, ...)
    TEMPER_PRINTF(2, 3) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_buf_vprintf(struct temper_buf *b, const char *fmt, va_list ap)
    TEMPER_PRINTF(2, 0) TEMPER_WARN_UNUSED;
/* Moves the data out (free() it) and resets b; returns "" copy when empty,
 * NULL on allocation failure.  *len may be NULL. */
TEMPER_EXPORT char *temper_buf_take(struct temper_buf *b, size_t *len);

/* Returns a new string from printf-style formatting (free()), NULL on error. */
TEMPER_EXPORT char *temper_strdupf(const char *fmt, ...) TEMPER_PRINTF(1, 2);

/* Strict number parsing: whole string, no overflow.  TEMPER_EINVAL otherwise. */
TEMPER_EXPORT int temper_parse_ll(const char *s, long long *out) TEMPER_WARN_UNUSED;

/* Free and set to NULL. */
#define TEMPER_FREE(p) do { free(p); (p) = NULL; } while (0)

#ifdef __cplusplus
}
#endif
#endif

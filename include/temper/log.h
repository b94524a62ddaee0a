/* temper — logging.
 *
 * Plugins never write to stdout/stderr: stdout is reserved for
 * machine-readable output.  Every message goes through temper_log(), which
 * prefixes "[<kind>:<name>/<stage>]", a timestamp and the level, and replaces
 * every registered secret with "***" before the line is written anywhere. */
#ifndef TEMPER_LOG_H
#define TEMPER_LOG_H

#include <stdarg.h>
#include <temper/rc.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_stage; /* opaque, see plugin.h; NULL means "the core" */

enum temper_log_level {
    TEMPER_LOG_LVL_ERROR = 0,
    TEMPER_LOG_LVL_WARN = 1,
    TEMPER_LOG_LVL_INFO = 2,
    TEMPER_LOG_LVL_DEBUG = 3
};

TEMPER_EXPORT void temper_log(struct temper_stage *st, enum temper_log_level lvl,
                              const char *fmt, ...) TEMPER_PRINTF(3, 4);
TEMPER_EXPORT void temper_logv(struct temper_stage *st, enum temper_log_level lvl,
                               const char *fmt, va_list ap) TEMPER_PRINTF(3, 0);

/* Register a secret (token, password, key passphrase) so that it is redacted
 * from every later log line and error message.  The string is copied; strings
 * shorter than 4 bytes are ignored (they would redact ordinary words). */
TEMPER_EXPORT int temper_log_add_secret(const char *secret) TEMPER_WARN_UNUSED;

/* Replace registered secrets in buf (NUL-terminated, in place, same length or
 * shorter).  Used by the log and error paths; exported for plugins that build
 * reports from upstream text. */
TEMPER_EXPORT void temper_log_redact(char *buf);

#define TEMPER_LOG_ERROR(st, ...) \
    do { temper_log((st), TEMPER_LOG_LVL_ERROR, __VA_ARGS__); } while (0)
#define TEMPER_LOG_WARN(st, ...) \
    do { temper_log((st), TEMPER_LOG_LVL_WARN, __VA_ARGS__); } while (0)
#define TEMPER_LOG_INFO(st, ...) \
    do { temper_log((st), TEMPER_LOG_LVL_INFO, __VA_ARGS__); } while (0)
#define TEMPER_LOG_DEBUG(st, ...) \
    do { temper_log((st), TEMPER_LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

#ifdef __cplusplus
}
#endif
#endif

/* temper — SDK-internal helpers of sdk/log.c shared with sdk/stage.c.  Not
 * installed and not exported (the library is built -fvisibility=hidden). */
#ifndef TEMPER_SDK_LOG_PRIVATE_H
#define TEMPER_SDK_LOG_PRIVATE_H

#include <stdarg.h>
#include <stddef.h>
#include <temper/rc.h>

/* Format the whole message, replace every registered secret, and only then
 * cut it to at most max - 1 bytes (at a UTF-8 character boundary), so that a
 * secret straddling the cut cannot leak a prefix.  Returns a new string
 * (free()), NULL when out of memory or the format fails. */
char *temper_log_vformat(size_t max, const char *fmt, va_list ap) TEMPER_PRINTF(2, 0);
char *temper_log_format(size_t max, const char *fmt, ...) TEMPER_PRINTF(2, 3);

#endif

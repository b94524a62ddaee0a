/* temper — problems found in configuration files, collected and reported
 * together as `FILE:LINE: message` (warnings as `FILE:LINE: warning: ...`).
 * Not installed. */
#ifndef TEMPER_CORE_DIAG_H
#define TEMPER_CORE_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <temper/rc.h>

enum temper_diag_level {
    TEMPER_DIAG_ERROR = 0,
    TEMPER_DIAG_WARNING = 1
};

struct temper_diag {
    char *file;        /* as the user named it; NULL for none */
    unsigned line;     /* 0 = the file as a whole */
    enum temper_diag_level level;
    char *msg;         /* one line, no trailing newline */
    size_t seq;        /* order of arrival, keeps the sort stable */
};

/* At most TEMPER_DIAG_MAX problems are kept; the rest are only counted. */
#define TEMPER_DIAG_MAX 1000

struct temper_diags {
    struct temper_diag *v;
    size_t n, cap;
    size_t n_errors;   /* every error, kept or not */
    size_t n_warnings;
    size_t dropped;    /* problems past TEMPER_DIAG_MAX */
    int oom;           /* an allocation failed while recording */
};

void temper_diags_init(struct temper_diags *d);
void temper_diags_cleanup(struct temper_diags *d);

/* Record one problem.  The message is redacted (registered secrets) and
 * control characters become '?'.  `file` may be NULL. */
void temper_diag_add(struct temper_diags *d, enum temper_diag_level lvl, const char *file,
                     unsigned line, const char *fmt, ...) TEMPER_PRINTF(5, 6);
void temper_diag_vadd(struct temper_diags *d, enum temper_diag_level lvl, const char *file,
                      unsigned line, const char *fmt, va_list ap) TEMPER_PRINTF(5, 0);

#define temper_diag_error(d, file, line, ...) \
    temper_diag_add((d), TEMPER_DIAG_ERROR, (file), (line), __VA_ARGS__)
#define temper_diag_warn(d, file, line, ...) \
    temper_diag_add((d), TEMPER_DIAG_WARNING, (file), (line), __VA_ARGS__)

/* Sort by file name, then line, then arrival. */
void temper_diags_sort(struct temper_diags *d);
/* Print every problem, one a line, then a count of the dropped ones. */
void temper_diags_print(const struct temper_diags *d, FILE *f);

#endif

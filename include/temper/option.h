/* temper — option tables.
 *
 * Every option a plugin takes is declared in a table.  The core allocates a
 * zeroed block of conf_size bytes, applies the defaults (parsed exactly like
 * user input), applies the INI values, and rejects the file before any plugin
 * code runs if a key is unknown, duplicated without TEMPER_OPT_MULTI, of the
 * wrong type, out of range, not one of the choices, or required and missing.
 *
 * Field types written at `offset` in the conf block (all owned by the core,
 * freed after the plugin's close(); plugins never free or modify them):
 *   STR, PATH     char *            (NULL when unset and no default)
 *   BOOL          bool              true/false/yes/no/on/off/1/0
 *   INT           long long         decimal, optional sign
 *   SIZE          unsigned long long bytes; suffixes K M G T (powers of 1024)
 *   DURATION      long long         milliseconds; suffixes ms s m h d (bare = s)
 *   ENUM          int               index into `choices`
 *   LIST          struct temper_strlist  comma/whitespace separated values;
 *                 with TEMPER_OPT_MULTI, repeated keys append.
 * STR and PATH with TEMPER_OPT_MULTI are stored as struct temper_strlist. */
#ifndef TEMPER_OPTION_H
#define TEMPER_OPTION_H

#include <stddef.h>
#include <stdbool.h>
#include <temper/rc.h>

#ifdef __cplusplus
extern "C" {
#endif

enum temper_opt_type {
    TEMPER_OPT_END = 0, /* terminates a table */
    TEMPER_OPT_STR,
    TEMPER_OPT_PATH, /* relative paths are resolved against the INI file's dir */
    TEMPER_OPT_BOOL,
    TEMPER_OPT_INT,
    TEMPER_OPT_SIZE,
    TEMPER_OPT_DURATION,
    TEMPER_OPT_ENUM,
    TEMPER_OPT_LIST
};

enum temper_opt_flag {
    TEMPER_OPT_REQUIRED = 1u << 0,
    TEMPER_OPT_MULTI = 1u << 1,     /* may be repeated; values accumulate */
    TEMPER_OPT_SECRET = 1u << 2,    /* never echoed: logs, errors, describe */
    TEMPER_OPT_DEPRECATED = 1u << 3 /* accepted with a warning */
};

struct temper_option {
    enum temper_opt_type type;
    const char *key;              /* lower_snake_case, as written in the INI */
    const char *def;              /* default as text; NULL = none */
    unsigned flags;               /* enum temper_opt_flag */
    size_t offset;                /* offsetof(struct <plugin>_conf, field) */
    long long min, max;           /* INT/SIZE/DURATION range; 0,0 = unchecked */
    const char *const *choices;   /* ENUM: NULL-terminated list */
    const char *doc;              /* one sentence for `temper describe` */
};

#define TEMPER_OPTION_END { TEMPER_OPT_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL }

/* A list of strings; owned by whoever filled it (the core for conf blocks). */
struct temper_strlist {
    size_t n;
    char **v; /* n entries, each NUL-terminated, plus a NULL sentinel */
};

/* Reserved keys that the core interprets in every stage section. */
#define TEMPER_OPT_RESERVED_KEYS "plugin", "enabled", "after"

#ifdef __cplusplus
}
#endif
#endif

/* temper — the INI parser of pipeline configs and image definitions.
 *
 * The grammar is written down in conf/README.md.  In short: `[name]` and
 * `[kind "sub name"]` sections, `key = value` entries, full-line `;`/`#`
 * comments (no inline comments), continuation lines (more indented than the
 * key, or after a trailing backslash), `include = PATH|GLOB` before the first
 * section, `${VAR}` / `${VAR:-default}` / `$$` in values.
 *
 * Sections with the same name and sub-name are merged across files, entries
 * kept in reading order.  Every entry remembers its file, line and `src`, a
 * number that is equal for the entries of one reading of one file: options.c
 * uses it to tell a duplicate (same src) from an override (a later file).
 * Main thread only (getenv).  Not installed. */
#ifndef TEMPER_CORE_INI_H
#define TEMPER_CORE_INI_H

#include <stddef.h>
#include "diag.h"

/* Caps on hostile input. */
#define TEMPER_INI_MAX_FILE_SIZE (1u << 20) /* bytes of one file */
#define TEMPER_INI_MAX_LINE 8192            /* bytes of one physical line */
#define TEMPER_INI_MAX_VALUE 65536          /* bytes of a value, joined and expanded */
#define TEMPER_INI_MAX_NAME 128             /* bytes of a key, section or sub-name */
#define TEMPER_INI_MAX_SECTIONS 4096        /* sections of one parse */
#define TEMPER_INI_MAX_SECTION_KEYS 1024    /* entries of one (merged) section */
#define TEMPER_INI_MAX_ENTRIES 65536        /* entries of one parse */
#define TEMPER_INI_MAX_DEPTH 16             /* include nesting */
#define TEMPER_INI_MAX_FILES 256            /* files read by one parse */
#define TEMPER_INI_MAX_ERRORS 20            /* per file, then the rest is skipped */

struct temper_ini_entry {
    char *key;
    char *value;        /* joined, trimmed and expanded */
    const char *file;   /* as named (relative to the cwd or absolute); borrowed */
    const char *dir;    /* absolute directory of `file`; borrowed */
    unsigned line;      /* line of the key */
    unsigned src;       /* equal for the entries of one reading of one file */
};

struct temper_ini_section {
    char *name;         /* "core", "tracker" */
    char *sub;          /* "github", or NULL for `[name]` */
    const char *file;   /* where the section was first opened; borrowed */
    const char *dir;
    unsigned line;
    struct temper_ini_entry *entries;
    size_t n, cap;
};

struct temper_ini;

struct temper_ini *temper_ini_new(void);
void temper_ini_free(struct temper_ini *ini);

/* Read a file (and its includes) into `ini`.  Every problem goes to `d`.
 * Returns TEMPER_OK when nothing was wrong, TEMPER_EINVAL when problems were
 * recorded (what could be parsed is kept), TEMPER_ENOMEM. */
int temper_ini_read_file(struct temper_ini *ini, const char *path, struct temper_diags *d);
/* The same for text in memory; `name` is used in messages and its directory
 * for includes. */
int temper_ini_read_mem(struct temper_ini *ini, const char *name, const char *data,
                        size_t len, struct temper_diags *d);

size_t temper_ini_count(const struct temper_ini *ini);
const struct temper_ini_section *temper_ini_at(const struct temper_ini *ini, size_t i);
/* The section [name] (sub NULL) or [name "sub"], or NULL. */
const struct temper_ini_section *temper_ini_find(const struct temper_ini *ini,
                                                 const char *name, const char *sub);
/* The last entry of `key` in `sec` (the one that wins), or NULL. */
const struct temper_ini_entry *temper_ini_last(const struct temper_ini_section *sec,
                                               const char *key);
/* Every file the parse read, as named (for messages); borrowed. */
size_t temper_ini_file_count(const struct temper_ini *ini);
const char *temper_ini_file_at(const struct temper_ini *ini, size_t i);
/* Absolute directory of the i-th file; borrowed. */
const char *temper_ini_dir_at(const struct temper_ini *ini, size_t i);

/* "[core]" or "[tracker \"github\"]"; a new string (free()), NULL on ENOMEM. */
char *temper_ini_section_label(const struct temper_ini_section *sec);

/* Stand-alone sections, for values the core synthesises (the `store =`
 * shorthand, an absent optional section).  file and dir are borrowed and
 * must outlive the section. */
struct temper_ini_section *temper_ini_section_new(const char *name, const char *sub,
                                                  const char *file, const char *dir,
                                                  unsigned line);
int temper_ini_section_add(struct temper_ini_section *sec, const char *key,
                           const char *value, const char *file, const char *dir,
                           unsigned line, unsigned src) TEMPER_WARN_UNUSED;
void temper_ini_section_free(struct temper_ini_section *sec);

/* Expand ${VAR}, ${VAR:-default} and $$ in `in` (see conf/README.md).
 * Returns a new string, or NULL with *why (free()) naming the problem. */
char *temper_ini_expand(const char *in, char **why);

#endif

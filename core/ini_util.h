/* temper — helpers of the INI parser, shared with the config model.  Not
 * installed. */
#ifndef TEMPER_CORE_INI_UTIL_H
#define TEMPER_CORE_INI_UTIL_H

#include <stddef.h>

/* [A-Za-z_] (first) or [A-Za-z0-9_] (later). */
int temper_ini_is_name_char(char c, int first);
/* Index of the first byte of s[0..n) that is not printable UTF-8 text (tab
 * allowed), or n. */
size_t temper_ini_bad_byte(const unsigned char *s, size_t n);
/* Whether a path has glob characters (* ? [). */
int temper_ini_is_glob(const char *s);
/* `rel` relative to the directory of `file` as named ("a/b.ini" + "c" ->
 * "a/c"); `rel` itself when absolute or when `file` has no directory part.
 * A new string, NULL on ENOMEM. */
char *temper_ini_join(const char *file, const char *rel);
/* Read a regular file of at most TEMPER_INI_MAX_FILE_SIZE bytes into *data
 * (free()).  TEMPER_EIO with *why (free()) or TEMPER_ENOMEM on failure. */
int temper_ini_load_file(const char *path, char **data, size_t *len, char **why);
/* Absolute directory of `path` (which need not exist); a new string. */
char *temper_ini_abs_dir(const char *path);
/* Make room for one more element in the array `v` (n used of *cap, each
 * `size` bytes), doubling from 8.  Returns the array (maybe moved), or NULL
 * on ENOMEM with `v` and *cap unchanged. */
void *temper_array_grow(void *v, size_t *cap, size_t n, size_t size);

#endif

/* temper — internals of the tarball diff (sdk/tardiff*.c).  Not installed. */
#ifndef TEMPER_SDK_TARDIFF_INT_H
#define TEMPER_SDK_TARDIFF_INT_H

#include <temper/tardiff.h>
#include <stdbool.h>

/* Append the unified hunks (3 lines of context) turning old into new. */
int td_unified(const char *old, size_t old_len, const char *new, size_t new_len,
               struct temper_buf *out);

#endif

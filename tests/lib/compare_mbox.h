/* temper tests — turn a GitHub compare reply (GET /repos/O/R/compare/A...B)
 * into the mbox a tracker hands to the guard: one message per commit, the
 * combined file diff in the newest commit's message (X-Temper-Combined). */
#ifndef TEMPER_TESTS_COMPARE_MBOX_H
#define TEMPER_TESTS_COMPARE_MBOX_H

#include <temper/buf.h>

struct temper_stage;

/* Read the JSON file at `json_path` and append the mbox to `out`.
 * TEMPER_OK or a temper_rc (message recorded on st). */
int compare_to_mbox(struct temper_stage *st, const char *json_path, struct temper_buf *out);

#endif

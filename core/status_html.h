/* temper — the static status page of `temper status --html`.  Not installed.
 *
 * One self-contained HTML5 document: inline CSS, no script, no external
 * resource, so a browser opens it from disk.  Sections: images (last build,
 * digest, version, published references), the image graph (nested lists
 * from `base = image:NAME`), the last runs and their stages, pending
 * reviews, and the SLA table with breaches highlighted.  Every string taken
 * from the config or the store is HTML-escaped. */
#ifndef TEMPER_CORE_STATUS_HTML_H
#define TEMPER_CORE_STATUS_HTML_H

#include <stdio.h>
#include "runtime.h"

/* Write the page for the runtime's config and store at `now` (ms) to f.
 * Returns TEMPER_OK, TEMPER_EIO when f failed, or the store's rc. */
int temper_status_write_html(struct temper_runtime *rt, long long now, FILE *f)
    TEMPER_WARN_UNUSED;

/* Write s HTML-escaped (& < > " ' and control characters) to f. */
void temper_html_text(FILE *f, const char *s);

#endif

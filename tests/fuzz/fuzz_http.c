/* Fuzz target: header values the HTTP client parses (include/temper/http.h):
 * `Link` (RFC 8288), `Retry-After`, `WWW-Authenticate` challenges, URL
 * resolution (Link and Location targets) and the log-safe URL.  The input is
 * "VALUE\0REF": VALUE is parsed as each header and as a base URL, REF is
 * resolved against it. */
#include "config.h"
#include "fuzz.h"
#include <stdlib.h>
#include <string.h>
#include <temper/http.h>

static void link_rel(const char *v, const char *rel)
{
    char *url = NULL;
    if (temper_http_parse_link(v, rel, &url) == TEMPER_OK) {
        FUZZ_ASSERT(url);
    }
    free(url);
}

static void auth(const char *v, const char *param)
{
    char *out = NULL;
    if (temper_http_auth_param(v, param, &out) == TEMPER_OK) {
        FUZZ_ASSERT(out);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *v = NULL, *ref = NULL, *out = NULL;
    long long wait = 0;
    fuzz_init();
    fuzz_split2(data, size, &v, &ref);
    link_rel(v, "next");
    link_rel(v, "last");
    if (temper_http_parse_retry_after(v, 1700000000000LL, &wait) == TEMPER_OK) {
        FUZZ_ASSERT(wait >= 0);
    }
    auth(v, NULL);
    auth(v, "realm");
    auth(v, "scope");
    if (temper_http_resolve_url(v, ref, &out) == TEMPER_OK) {
        FUZZ_ASSERT(strncmp(out, "http://", 7) == 0 || strncmp(out, "https://", 8) == 0);
        char *again = NULL;
        /* a resolved absolute URL resolves to itself */
        FUZZ_ASSERT(temper_http_resolve_url(out, out, &again) == TEMPER_OK);
        free(again);
    }
    free(out);
    char *safe = temper_http_safe_url(v);
    FUZZ_ASSERT(safe);
    FUZZ_ASSERT(!strchr(safe, '#'));
    free(safe);
    free(v);
    free(ref);
    return 0;
}

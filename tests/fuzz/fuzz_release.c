/* Fuzz target: Debian Release / InRelease files, the cleartext-signature
 * splitter and the RFC 2822 date parser (include/temper/pkgindex.h). */
#include "config.h"
#include "fuzz.h"
#include <stdlib.h>
#include <temper/pkgindex.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct temper_release *r = NULL;
    char *body = NULL, *sig = NULL;
    size_t body_len = 0, sig_len = 0;
    long long t = 0;
    fuzz_init();
    if (temper_release_parse(NULL, "fuzz", data, size, &r) == TEMPER_OK) {
        FUZZ_ASSERT(r->signed_text || r->signed_len == 0);
        for (size_t i = 0; i < r->n_files; i++) {
            FUZZ_ASSERT(r->files[i].path && r->files[i].sha256);
            FUZZ_ASSERT(temper_release_find(r, r->files[i].path) != NULL);
        }
        (void)temper_release_find(r, "main/binary-amd64/Packages");
        temper_release_free(r);
    }
    if (temper_clearsign_split(NULL, "fuzz", (const char *)data, size, &body, &body_len, &sig,
                               &sig_len) == TEMPER_OK) {
        FUZZ_ASSERT(body);
        free(body);
        free(sig);
    }
    char *s = fuzz_cstr(data, size < 256 ? size : 256);
    int rc = temper_rfc2822_date_parse(s, &t);
    FUZZ_ASSERT(rc == TEMPER_OK || rc == TEMPER_EFORMAT);
    free(s);
    return 0;
}

/* Fuzz target: the registry client's parsers of outside text
 * (include/temper/registry.h): `WWW-Authenticate` challenges, image
 * references, repository and tag names, and tag templates.  The input is
 * "VALUE\0SECOND": VALUE is parsed as each, SECOND is the version a tag
 * template is expanded with. */
#include "config.h"
#include "fuzz.h"
#include <stdlib.h>
#include <string.h>
#include <temper/registry.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *v = NULL, *ver = NULL, *tag = NULL;
    struct temper_registry_challenge c;
    struct temper_registry_ref ref;
    fuzz_init();
    fuzz_split2(data, size, &v, &ver);
    memset(&c, 0, sizeof c);
    int rc = temper_registry_challenge_parse(v, &c);
    if (rc == TEMPER_OK) {
        FUZZ_ASSERT(strcmp(c.scheme, "") != 0);
    }
    temper_registry_challenge_cleanup(&c);
    memset(&ref, 0, sizeof ref);
    if (temper_registry_ref_parse(v, &ref) == TEMPER_OK) {
        FUZZ_ASSERT(temper_registry_repo_valid(ref.repo));
        FUZZ_ASSERT(!ref.tag[0] || temper_registry_tag_valid(ref.tag));
    }
    (void)temper_registry_repo_valid(v);
    (void)temper_registry_tag_valid(v);
    if (temper_tag_expand(v, "img", ver, "dev", &tag) == TEMPER_OK) {
        FUZZ_ASSERT(tag && temper_registry_tag_valid(tag));
    }
    free(tag);
    free(v);
    free(ver);
    return 0;
}

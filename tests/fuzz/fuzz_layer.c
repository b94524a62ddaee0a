/* Fuzz target: the SDK's safe layer extractor (temper_oci_layer_extract,
 * include/temper/oci.h) on tar streams (plain or compressed): the input is
 * extracted into a scratch root, then extracted again on top of it with OCI
 * whiteouts applied (a second layer).  Nothing may appear outside the
 * root. */
#include "config.h"
#include "fuzz.h"
#include <string.h>
#include <temper/oci.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct temper_oci_extract_opts o;
    const char *blob = fuzz_file(data, size);
    const char *root = fuzz_dir_new();
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.name = "fuzz";
    o.strip_setuid = true;
    o.max_bytes = 32u << 20;
    o.max_entries = 5000;
    if (temper_oci_layer_extract(NULL, blob, root, &o) == TEMPER_OK) {
        o.whiteouts = true;
        int rc = temper_oci_layer_extract(NULL, blob, root, &o);
        FUZZ_ASSERT(rc <= 0);
    }
    fuzz_dir_check_contained();
    fuzz_dir_clean();
    return 0;
}

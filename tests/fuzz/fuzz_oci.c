/* Fuzz target: OCI image manifests, indexes and configs
 * (temper_oci_*_parse, include/temper/oci.h).  Every input is tried as each
 * of the three; what parses is written back, and the written JSON must
 * parse again into an object that writes the same bytes. */
#include "config.h"
#include "fuzz.h"
#include <stdlib.h>
#include <string.h>
#include <temper/oci.h>

#define ROUND_TRIP(type, parse, json, cleanup) \
    do { \
        struct type a, b; \
        char *j1 = NULL, *j2 = NULL; \
        size_t l1 = 0, l2 = 0; \
        memset(&a, 0, sizeof a); \
        memset(&b, 0, sizeof b); \
        if (parse(NULL, "fuzz", text, size, &a) == TEMPER_OK && \
            json(NULL, &a, &j1, &l1) == TEMPER_OK) { \
            FUZZ_ASSERT(parse(NULL, "again", j1, l1, &b) == TEMPER_OK); \
            FUZZ_ASSERT(json(NULL, &b, &j2, &l2) == TEMPER_OK); \
            FUZZ_ASSERT(l1 == l2 && memcmp(j1, j2, l1) == 0); \
        } \
        free(j1); \
        free(j2); \
        cleanup(&a); \
        cleanup(&b); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    fuzz_init();
    ROUND_TRIP(temper_oci_manifest, temper_oci_manifest_parse, temper_oci_manifest_json,
               temper_oci_manifest_cleanup);
    ROUND_TRIP(temper_oci_index, temper_oci_index_parse, temper_oci_index_json,
               temper_oci_index_cleanup);
    ROUND_TRIP(temper_oci_config, temper_oci_config_parse, temper_oci_config_json,
               temper_oci_config_cleanup);
    return 0;
}

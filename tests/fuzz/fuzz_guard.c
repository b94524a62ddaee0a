/* Fuzz target: guard_heuristic's review of an upstream diff, loaded through
 * the real loader with the plugin test harness (tests/lib/plugin_harness.h):
 * the input is the mbox a tracker would hand over.  A review either decides
 * (a verdict) or fails with a recorded error; every finding names a rule. */
#include "config.h"
#include "fuzz.h"
#include "../lib/plugin_harness.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <temper/guard.h>

static struct ph harness;
static int loaded;

static void unload(void)
{
    ph_close(&harness);
}

static void load(void)
{
    static const char *const kvs[] = { "learn_authors=false", "max_patch_size=8M", NULL };
    char *err = NULL;
    if (loaded) {
        return;
    }
    if (!getenv("TEMPER_PLUGINS") && setenv("TEMPER_PLUGINS", FUZZ_PLUGINS, 1) != 0) {
        abort();
    }
    if (ph_load(&harness, TEMPER_KIND_GUARD, "heuristic", kvs, &err) != TEMPER_OK ||
        ph_open(&harness) != TEMPER_OK) {
        fprintf(stderr, "fuzz_guard: cannot load guard_heuristic: %s\n", err ? err : "?");
        abort();
    }
    loaded = 1;
    atexit(unload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum temper_verdict v = TEMPER_VERDICT_NONE;
    fuzz_init();
    load();
    const struct temper_guard_ops *ops = ph_ops(&harness);
    struct temper_artifact *change = temper_artifact_new(TEMPER_ART_CHANGE, "change");
    struct temper_artifact *diff = temper_artifact_new(TEMPER_ART_DIFF, "diff");
    FUZZ_ASSERT(change && diff);
    FUZZ_ASSERT(temper_artifact_set(change, TEMPER_ATTR_UPSTREAM, "example/project") ==
                TEMPER_OK);
    FUZZ_ASSERT(temper_artifact_set_data(diff, data, size) == TEMPER_OK);
    temper_stage_reset(harness.st);
    int rc = ops->review(harness.state, harness.st, change, diff, &v);
    if (rc == TEMPER_OK) {
        FUZZ_ASSERT(v == TEMPER_VERDICT_PASS || v == TEMPER_VERDICT_WARN ||
                    v == TEMPER_VERDICT_BLOCK);
        for (size_t i = 0; i < temper_stage_finding_count(harness.st); i++) {
            const struct temper_finding *f = temper_stage_finding_at(harness.st, i);
            FUZZ_ASSERT(f && f->rule && f->message);
        }
    } else {
        FUZZ_ASSERT(temper_stage_error(harness.st) != NULL);
    }
    temper_artifact_free(change);
    temper_artifact_free(diff);
    ph_clear_artifacts(&harness);
    return 0;
}

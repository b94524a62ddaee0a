/* Fuzz target: the core's INI parser (core/ini.c) and the option parsers
 * behind every plugin's conf block (core/options.c): each section of the
 * parsed text is applied to a table holding one option of every type. */
#include "config.h"
#include "fuzz.h"
#include "core/ini.h"
#include "core/options.h"
#include "sdk/host.h"
#include <stddef.h>
#include <stdlib.h>
#include <temper/option.h>

struct fz_conf {
    char *str;
    char *path;
    bool flag;
    long long num;
    unsigned long long size;
    long long dur;
    char *mode;
    struct temper_strlist list;
    struct temper_strlist multi;
};

static const char *const fz_modes[] = { "fast", "slow", "off", NULL };

static const struct temper_option fz_options[] = {
    { TEMPER_OPT_STR, "str", "x", 0, offsetof(struct fz_conf, str), 0, 0, NULL, "s" },
    { TEMPER_OPT_PATH, "path", NULL, 0, offsetof(struct fz_conf, path), 0, 0, NULL, "p" },
    { TEMPER_OPT_BOOL, "flag", "false", 0, offsetof(struct fz_conf, flag), 0, 0, NULL, "b" },
    { TEMPER_OPT_INT, "num", "1", 0, offsetof(struct fz_conf, num), -5, 1000000, NULL, "i" },
    { TEMPER_OPT_SIZE, "size", "1M", 0, offsetof(struct fz_conf, size), 0, 0, NULL, "z" },
    { TEMPER_OPT_DURATION, "dur", "30s", 0, offsetof(struct fz_conf, dur), 0, 0, NULL, "d" },
    { TEMPER_OPT_ENUM, "mode", "fast", 0, offsetof(struct fz_conf, mode), 0, 0, fz_modes,
      "e" },
    { TEMPER_OPT_LIST, "list", NULL, 0, offsetof(struct fz_conf, list), 0, 0, NULL, "l" },
    { TEMPER_OPT_STR, "token", NULL, TEMPER_OPT_MULTI | TEMPER_OPT_SECRET,
      offsetof(struct fz_conf, multi), 0, 0, NULL, "m" },
    TEMPER_OPTION_END
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct temper_diags d;
    struct temper_ini *ini = temper_ini_new();
    fuzz_init();
    temper_diags_init(&d);
    if (!ini) {
        abort();
    }
    /* a directory that does not exist: relative includes find nothing */
    int rc = temper_ini_read_mem(ini, "/nonexistent/temper-fuzz/fuzz.ini", (const char *)data,
                                 size, &d);
    FUZZ_ASSERT(rc == TEMPER_OK || rc == TEMPER_EINVAL);
    for (size_t i = 0; i < temper_ini_count(ini); i++) {
        const struct temper_ini_section *sec = temper_ini_at(ini, i);
        struct fz_conf conf = { 0 };
        struct temper_optset set = { fz_options, &conf };
        char *label = temper_ini_section_label(sec);
        free(label);
        rc = temper_options_apply(&set, 1, sec, TEMPER_OPTIONS_KEEP_UNKNOWN, &d);
        FUZZ_ASSERT(rc == TEMPER_OK || rc == TEMPER_EINVAL);
        temper_options_free(fz_options, &conf);
        if (sec->n) {
            (void)temper_ini_last(sec, sec->entries[0].key);
            (void)temper_ini_find(ini, sec->name, sec->sub);
        }
    }
    temper_diags_sort(&d);
    temper_diags_cleanup(&d);
    temper_ini_free(ini);
    temper_log_clear_secrets();
    return 0;
}

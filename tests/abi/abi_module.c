/* temper — deliberately broken plugin modules for the loader tests.
 * One source, compiled once per variant: MODULE names the module (and thus
 * the exported symbol), VARIANT_* selects what is wrong with it. */
#include <temper/temper.h>
#include <stddef.h>

struct abi_conf {
    char *label;
    long long count;
};

static const struct temper_option abi_options[] = {
    { TEMPER_OPT_STR, "label", "x", 0, offsetof(struct abi_conf, label), 0, 0, NULL,
      "a label" },
#ifdef VARIANT_BADOPTS
    { TEMPER_OPT_INT, "label", NULL, 0, offsetof(struct abi_conf, count), 0, 0, NULL,
      "the same key twice" },
#else
    { TEMPER_OPT_INT, "count", "1", 0, offsetof(struct abi_conf, count), 0, 10, NULL,
      "a count" },
#endif
    TEMPER_OPTION_END,
};

static int abi_run(void *state, struct temper_stage *st, const struct temper_artifact *image,
                   const void *const *cases, size_t n_cases, enum temper_verdict *verdict)
{
    (void)state;
    (void)st;
    (void)image;
    (void)cases;
    (void)n_cases;
    *verdict = TEMPER_VERDICT_PASS;
    return TEMPER_OK;
}

static const struct temper_suite_ops abi_ops = { .run = abi_run };

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

#ifdef VARIANT_NOSYM
/* exports nothing the loader looks for */
int CAT(MODULE, _LTX_something_else)(void);
int CAT(MODULE, _LTX_something_else)(void)
{
    return abi_ops.run == NULL && abi_options[0].key == NULL;
}
#else
TEMPER_PLUGIN(MODULE) = {
#if defined(VARIANT_BADMAJOR)
    .abi_major = TEMPER_ABI_MAJOR + 1, .abi_minor = 0,
    .desc_size = sizeof(struct temper_plugin),
#elif defined(VARIANT_NEWMINOR)
    .abi_major = TEMPER_ABI_MAJOR, .abi_minor = TEMPER_ABI_MINOR + 1,
    .desc_size = sizeof(struct temper_plugin),
#elif defined(VARIANT_SHORT)
    .abi_major = TEMPER_ABI_MAJOR, .abi_minor = TEMPER_ABI_MINOR,
    .desc_size = offsetof(struct temper_plugin, options),
#else
    TEMPER_PLUGIN_HEAD,
#endif
    .kind = TEMPER_KIND_SUITE,
#if defined(VARIANT_MISMATCH)
    .name = "somebody_else",
#else
    .name = MODULE_NAME,
#endif
    .version = "1.0", .summary = "loader test module",
    .options = abi_options, .conf_size = sizeof(struct abi_conf),
#if defined(VARIANT_NOOPS)
    .ops = NULL, .ops_size = sizeof abi_ops,
#elif defined(VARIANT_SHORTOPS)
    .ops = &abi_ops, .ops_size = 2,
#else
    .ops = &abi_ops, .ops_size = sizeof abi_ops,
#endif
};
#endif

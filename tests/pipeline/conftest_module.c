/* temper — plugin modules for the config tests: option tables of every type
 * for `temper validate` to check.  One source, compiled once per module:
 * MODULE names the module, KIND_* selects the kind, VARIANT_* what is
 * special about it.  open() says so on stderr: validate must never call it. */
#include <temper/temper.h>
#include <stddef.h>
#include <stdio.h>

static int conftest_open(struct temper_stage *st, const void *conf, void **state)
{
    (void)st;
    (void)conf;
    *state = NULL;
    fputs("conftest: open() called\n", stderr);
    return TEMPER_OK;
}

#define OPT(type, key, def, flags, s, field, min, max, choices, doc) \
    { type, key, def, flags, offsetof(struct s, field), min, max, choices, doc }

#if defined(KIND_GUARD)
/* Every type, unit, flag. */
struct every_conf {
    char *target;
    char *label;
    char *path;
    bool flag;
    long long count;
    unsigned long long size;
    long long timeout;
    int level;
    struct temper_strlist tags;
    long long token;
    struct temper_strlist extra;
    char *old;
};

static const char *const levels[] = { "low", "medium", "high", NULL };

static const struct temper_option options[] = {
    OPT(TEMPER_OPT_STR, "target", NULL, TEMPER_OPT_REQUIRED, every_conf, target, 0, 0, NULL,
        "a required string"),
    OPT(TEMPER_OPT_STR, "label", "x", 0, every_conf, label, 0, 0, NULL, "a string"),
    OPT(TEMPER_OPT_PATH, "path", NULL, 0, every_conf, path, 0, 0, NULL, "a path"),
    OPT(TEMPER_OPT_BOOL, "flag", "false", 0, every_conf, flag, 0, 0, NULL, "a boolean"),
    OPT(TEMPER_OPT_INT, "count", "1", 0, every_conf, count, 1, 10, NULL, "an integer 1..10"),
    OPT(TEMPER_OPT_SIZE, "size", "1M", 0, every_conf, size, 1024, 1LL << 30, NULL,
        "a size 1K..1G"),
    OPT(TEMPER_OPT_DURATION, "timeout", "30s", 0, every_conf, timeout, 1000, 3600000, NULL,
        "a duration 1s..1h"),
    OPT(TEMPER_OPT_ENUM, "level", "medium", 0, every_conf, level, 0, 0, levels, "an enum"),
    OPT(TEMPER_OPT_LIST, "tags", NULL, 0, every_conf, tags, 0, 0, NULL, "a list"),
    OPT(TEMPER_OPT_INT, "token", NULL, TEMPER_OPT_SECRET, every_conf, token, 0, 0, NULL,
        "a secret number"),
    OPT(TEMPER_OPT_STR, "extra", NULL, TEMPER_OPT_MULTI, every_conf, extra, 0, 0, NULL,
        "a repeatable string"),
    OPT(TEMPER_OPT_STR, "old", NULL, TEMPER_OPT_DEPRECATED, every_conf, old, 0, 0, NULL,
        "use label instead"),
    TEMPER_OPTION_END,
};
#define PLUGIN_OPTIONS options
#define CONF_SIZE sizeof(struct every_conf)

static int review(void *state, struct temper_stage *st, const struct temper_artifact *change,
                  const struct temper_artifact *diff, enum temper_verdict *verdict)
{
    (void)state;
    (void)st;
    (void)change;
    (void)diff;
    *verdict = TEMPER_VERDICT_PASS;
    return TEMPER_OK;
}
static const struct temper_guard_ops ops = { .review = review };
#define KIND TEMPER_KIND_GUARD

#elif defined(KIND_TRACKER)
struct tracker_conf {
    char *api_url;
    char *token;
};
struct watch_conf {
    char *repo;
    int mode;
    char *include;
    long long interval;
};

static const char *const modes[] = { "releases", "tags", NULL };

static const struct temper_option options[] = {
    OPT(TEMPER_OPT_STR, "api_url", "https://api.github.com", 0, tracker_conf, api_url, 0, 0,
        NULL, "API base URL"),
    OPT(TEMPER_OPT_STR, "token", NULL, TEMPER_OPT_SECRET, tracker_conf, token, 0, 0, NULL,
        "API token"),
    TEMPER_OPTION_END,
};
#define PLUGIN_OPTIONS options
#define CONF_SIZE sizeof(struct tracker_conf)

static const struct temper_option watch_options[] = {
    OPT(TEMPER_OPT_STR, "repo", NULL, TEMPER_OPT_REQUIRED, watch_conf, repo, 0, 0, NULL,
        "OWNER/NAME"),
    OPT(TEMPER_OPT_ENUM, "mode", "releases", 0, watch_conf, mode, 0, 0, modes,
        "what to watch"),
#if defined(VARIANT_BADWATCH)
    OPT(TEMPER_OPT_STR, "repo", NULL, 0, watch_conf, include, 0, 0, NULL, "twice"),
#else
    OPT(TEMPER_OPT_STR, "include", NULL, 0, watch_conf, include, 0, 0, NULL,
        "regular expression of the versions taken"),
#endif
    OPT(TEMPER_OPT_DURATION, "interval", "1h", 0, watch_conf, interval, 60000, 86400000, NULL,
        "how often to poll, 1m..1d"),
    TEMPER_OPTION_END,
};

static int poll_(void *state, struct temper_stage *st, const struct temper_watch *const *w,
                 size_t n)
{
    (void)state;
    (void)st;
    (void)w;
    (void)n;
    return TEMPER_OK;
}
static const struct temper_tracker_ops ops = {
    .watch_options = watch_options, .watch_conf_size = sizeof(struct watch_conf),
    .poll = poll_,
};
#define KIND TEMPER_KIND_TRACKER

#elif defined(KIND_BUILDER)
struct image_conf {
    struct temper_strlist arch;
    int compress;
    long long level;
};

static const char *const compressions[] = { "gzip", "zstd", NULL };
static const struct temper_option image_options[] = {
    OPT(TEMPER_OPT_LIST, "arch", "amd64", 0, image_conf, arch, 0, 0, NULL, "architectures"),
    OPT(TEMPER_OPT_ENUM, "compress", "gzip", 0, image_conf, compress, 0, 0, compressions,
        "layer compression"),
    OPT(TEMPER_OPT_INT, "level", "6", 0, image_conf, level, 1, 9, NULL, "compression level"),
    TEMPER_OPTION_END,
};
#define PLUGIN_OPTIONS NULL
#define CONF_SIZE 0

static int build(void *state, struct temper_stage *st, const struct temper_build_request *req)
{
    (void)state;
    (void)st;
    (void)req;
    return TEMPER_OK;
}
static const struct temper_builder_ops ops = {
    .image_options = image_options, .image_conf_size = sizeof(struct image_conf),
    .build = build,
};
#define KIND TEMPER_KIND_BUILDER

#elif defined(KIND_SUITE)
struct case_conf {
    char *command;
    long long expect;
    long long timeout;
};

static const struct temper_option case_options[] = {
    OPT(TEMPER_OPT_STR, "command", NULL, TEMPER_OPT_REQUIRED, case_conf, command, 0, 0, NULL,
        "command run in the image"),
    OPT(TEMPER_OPT_INT, "expect", "0", 0, case_conf, expect, 0, 255, NULL, "exit status"),
    OPT(TEMPER_OPT_DURATION, "timeout", "10s", 0, case_conf, timeout, 0, 0, NULL,
        "time limit"),
    TEMPER_OPTION_END,
};
#define PLUGIN_OPTIONS NULL
#define CONF_SIZE 0

static int run(void *state, struct temper_stage *st, const struct temper_artifact *image,
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
static const struct temper_suite_ops ops = {
    .case_options = case_options, .case_conf_size = sizeof(struct case_conf), .run = run,
};
#define KIND TEMPER_KIND_SUITE

#elif defined(KIND_STORE)
struct store_conf {
    char *location;
    long long busy_timeout;
};
static const struct temper_option options[] = {
    OPT(TEMPER_OPT_PATH, "location", NULL, TEMPER_OPT_REQUIRED, store_conf, location, 0, 0,
        NULL, "database file"),
    OPT(TEMPER_OPT_DURATION, "busy_timeout", "5s", 0, store_conf, busy_timeout, 0, 60000,
        NULL, "lock wait"),
    TEMPER_OPTION_END,
};
#define PLUGIN_OPTIONS options
#define CONF_SIZE sizeof(struct store_conf)
static const struct temper_store_ops ops = { .kv_get = NULL };
#define KIND TEMPER_KIND_STORE
#endif

TEMPER_PLUGIN(MODULE) = {
#if defined(VARIANT_BADMAJOR)
    .abi_major = TEMPER_ABI_MAJOR + 1, .abi_minor = 0,
    .desc_size = sizeof(struct temper_plugin),
#else
    TEMPER_PLUGIN_HEAD,
#endif
    .kind = KIND,
    .name = MODULE_NAME,
    .version = "1.0",
    .summary = "config test module",
    .options = PLUGIN_OPTIONS,
    .conf_size = CONF_SIZE,
    .open = conftest_open,
    .ops = &ops,
    .ops_size = sizeof ops,
};

/* temper — the command-line front end: global options and command dispatch. */
#include "config.h"
#include "core.h"
#include "sdk/host.h"

#include <curl/curl.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct temper_global temper_g;

struct command {
    const char *name;
    temper_cmd_fn fn;     /* NULL: not in this build yet */
    const char *usage;
    const char *summary;
    int issue;            /* tracking issue for commands not built yet */
};

static const struct command commands[] = {
    { "plugins", cmd_plugins, "plugins [--json] [--plugin-dir DIR]", "list the plugins that load", 0 },
    { "describe", cmd_describe, "describe KIND_NAME", "show a plugin's options", 0 },
    { "validate", cmd_validate, "validate -c FILE", "check a pipeline and its images", 2 },
    { "track", cmd_track, "track -c FILE [--json]", "one polling round of every tracker", 3 },
    { "build", cmd_build, "build -c FILE IMAGE -o DIR", "build one image into an OCI layout", 4 },
    { "test", cmd_test, "test -c FILE IMAGE --layout DIR", "run the image's suites", 5 },
    { "verify", cmd_verify, "verify --key PUB [--json] REF", "check signatures and attestations", 6 },
    { "scan", cmd_scan, "scan -c FILE PATCH...", "run the guard stage on patch files", 8 },
    { "review", cmd_review, "review -c FILE list|show ID|approve ID|reject ID", "the review queue", 8 },
    { "run", cmd_run, "run -c FILE [IMAGE...]", "run jobs through the whole chain", 9 },
    { "daemon", cmd_daemon, "daemon -c FILE [--once]", "poll trackers on a schedule", 9 },
    { "worker", cmd_worker, "worker -c FILE [--once]", "take jobs from the queue", 9 },
    { "graph", cmd_graph, "graph -c FILE [--format dot|json]", "the image dependency graph", 9 },
    { "sla", cmd_sla, "sla -c FILE [--json] [--image NAME]", "vulnerability fix times and SLA breaches", 9 },
    { "status", cmd_status, "status -c FILE --html OUT", "a static HTML status page", 9 },
};

void temper_cmd_base_init(struct temper_cmd_base *b)
{
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i < temper_g.n_plugin_dirs && b->n_dirs < 16; i++) {
        b->dirs[b->n_dirs++] = temper_g.plugin_dirs[i];
    }
}

int temper_cmd_base_opt(struct temper_cmd_base *b, int opt, const char *arg)
{
    if (opt == 'c') {
        b->file = arg;
        return 1;
    }
    if (opt == 'P') {
        if (b->n_dirs == sizeof b->dirs / sizeof b->dirs[0]) {
            return -1;
        }
        b->dirs[b->n_dirs++] = arg;
        return 1;
    }
    return 0;
}

int temper_variant_ok(const char *v)
{
    return strcmp(v, "runtime") == 0 || strcmp(v, "dev") == 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: temper [--plugin-dir DIR]... [-v|-q] [--log-json] COMMAND [ARGS]\n"
               "       temper --version | --help\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(f, "  %-42s %s%s\n", commands[i].usage, commands[i].summary,
                commands[i].fn ? "" : " (not in this build)");
    }
    fprintf(f, "\nexit codes: 0 success, 1 failure, 2 usage or config error, "
               "3 a verdict said no\n");
}

static int parse_global(int argc, char **argv)
{
    static const struct option opts[] = {
        { "plugin-dir", required_argument, NULL, 'P' },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "log-json", no_argument, NULL, 'J' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "+P:vqhV", opts, NULL)) != -1) {
        switch (c) {
        case 'P':
            if (temper_g.n_plugin_dirs == sizeof temper_g.plugin_dirs /
                                             sizeof temper_g.plugin_dirs[0]) {
                fprintf(stderr, "temper: too many --plugin-dir options\n");
                return -TEMPER_EXIT_USAGE;
            }
            temper_g.plugin_dirs[temper_g.n_plugin_dirs++] = optarg;
            break;
        case 'v': temper_g.verbose++; break;
        case 'q': temper_g.quiet = 1; break;
        case 'J': temper_g.log_json = 1; break;
        case 'V':
            printf("temper %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, TEMPER_ABI_MAJOR,
                   TEMPER_ABI_MINOR);
            return -TEMPER_EXIT_OK - 100;
        case 'h':
            usage(stdout);
            return -TEMPER_EXIT_OK - 100;
        default:
            usage(stderr);
            return -TEMPER_EXIT_USAGE;
        }
    }
    return optind;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 1) {
        usage(stderr);
        return TEMPER_EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const struct command *cmd = &commands[i];
        if (strcmp(cmd->name, argv[0]) != 0) {
            continue;
        }
        if (!cmd->fn) {
            fprintf(stderr, "temper: '%s' is not available in this build yet (issue #%d)\n",
                    cmd->name, cmd->issue);
            return TEMPER_EXIT_FAIL;
        }
        optind = 0; /* reset getopt for the command's own options */
        return cmd->fn(argc, argv);
    }
    if (strcmp(argv[0], "help") == 0) {
        usage(stdout);
        return TEMPER_EXIT_OK;
    }
    fprintf(stderr, "temper: unknown command '%s' (try 'temper --help')\n", argv[0]);
    return TEMPER_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    LTDL_SET_PRELOADED_SYMBOLS();
    int first = parse_global(argc, argv);
    if (first < 0) {
        return first == -TEMPER_EXIT_OK - 100 ? TEMPER_EXIT_OK : -first;
    }
    temper_log_set_level(temper_g.quiet ? TEMPER_LOG_LVL_ERROR
                         : temper_g.verbose >= 2 ? TEMPER_LOG_LVL_DEBUG
                         : TEMPER_LOG_LVL_INFO);
    temper_log_set_json(temper_g.log_json);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "temper: cannot initialise libcurl\n");
        return TEMPER_EXIT_FAIL;
    }
    if (gnutls_global_init() < 0) {
        fprintf(stderr, "temper: cannot initialise gnutls\n");
        curl_global_cleanup();
        return TEMPER_EXIT_FAIL;
    }
    int rc = dispatch(argc - first, argv + first);
    gnutls_global_deinit();
    curl_global_cleanup();
    temper_log_clear_secrets();
    return rc;
}

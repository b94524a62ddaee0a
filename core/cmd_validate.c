/* temper — `temper validate -c FILE`: check a pipeline and its images.
 *
 * Parses the file and its includes, loads the plugins it names (descriptor
 * checks only: no plugin code runs, open() is never called), validates every
 * section against the option tables, and prints every problem, sorted by
 * file and line, as `FILE:LINE: message` on stderr.  Exit 2 when there is at
 * least one error; otherwise a one-line summary on stdout and exit 0. */
#include "config.h"
#include "core.h"
#include "config_model.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATE_USAGE "usage: temper validate -c FILE [--plugin-dir DIR]...\n"

static void print_summary(const struct temper_config *c, const struct temper_diags *d)
{
    size_t trackers = 0, disabled = 0;
    for (size_t i = 0; i < c->n_plugins; i++) {
        trackers += c->plugins[i]->kind == TEMPER_KIND_TRACKER;
    }
    printf("%s: ok: store %s", c->path,
           c->store && c->store->module ? c->store->module->desc->name : "(none)");
    printf(", chain [");
    for (size_t i = 0; i < c->n_chain; i++) {
        printf("%s%s", i ? " " : "", c->chain[i]->id);
        disabled += !c->chain[i]->keys.enabled;
    }
    printf("]");
    if (disabled) {
        printf(" (%zu disabled)", disabled);
    }
    printf(", %zu tracker%s, %zu image%s, %zu warning%s\n", trackers, trackers == 1 ? "" : "s",
           c->n_images, c->n_images == 1 ? "" : "s", d->n_warnings,
           d->n_warnings == 1 ? "" : "s");
}

int cmd_validate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *file = NULL;
    const char *dirs[32];
    size_t n_dirs = 0;
    for (size_t i = 0; i < temper_g.n_plugin_dirs && n_dirs < 16; i++) {
        dirs[n_dirs++] = temper_g.plugin_dirs[i];
    }
    for (;;) {
        int c = getopt_long(argc, argv, "c:P:h", opts, NULL);
        if (c == -1) {
            break;
        }
        if (c == 'c') {
            file = optarg;
        } else if (c == 'P' && n_dirs < sizeof dirs / sizeof dirs[0]) {
            dirs[n_dirs++] = optarg;
        } else if (c == 'h') {
            fputs(VALIDATE_USAGE, stdout);
            return TEMPER_EXIT_OK;
        } else {
            fputs(VALIDATE_USAGE, stderr);
            return TEMPER_EXIT_USAGE;
        }
    }
    if (!file || optind != argc) {
        fputs(VALIDATE_USAGE, stderr);
        return TEMPER_EXIT_USAGE;
    }
    struct temper_diags d;
    struct temper_config *cfg = NULL;
    temper_diags_init(&d);
    int rc = temper_config_load(file, dirs, n_dirs, &d, &cfg);
    temper_diags_sort(&d);
    temper_diags_print(&d, stderr);
    int exit_code = TEMPER_EXIT_OK;
    if (rc == TEMPER_ENOMEM) {
        fprintf(stderr, "temper: out of memory\n");
        exit_code = TEMPER_EXIT_FAIL;
    } else if (rc != TEMPER_OK || d.n_errors > 0) {
        exit_code = TEMPER_EXIT_USAGE;
    } else {
        print_summary(cfg, &d);
    }
    temper_config_free(cfg);
    temper_diags_cleanup(&d);
    return exit_code;
}

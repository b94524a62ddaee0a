/* temper — the plugin loader (libltdl).  Main thread only. */
#ifndef TEMPER_CORE_LOADER_H
#define TEMPER_CORE_LOADER_H

#include <temper/plugin.h>

struct temper_loader;

/* A module that passed every check.  desc points at the loader's zero-padded
 * copy of the descriptor (fields past the module's desc_size read as 0) whose
 * `ops` points at a zero-padded copy of the module's ops table.  Borrowed
 * until temper_loader_free(). */
struct temper_module {
    const struct temper_plugin *desc;
    const char *path;   /* file it came from, or "(preloaded)" */
    const char *module; /* "<kind>_<name>" */
};

/* Search order: dirs[0..n) as given (--plugin-dir, then the config's
 * plugin_dir), modules preloaded into the program (static builds), then the
 * installed plugin directory (unless TEMPER_PLUGIN_DIR is overridden by the
 * environment variable TEMPER_NO_INSTALLED_PLUGINS=1, used by tests).  The
 * strings are copied.  Returns TEMPER_OK or an rc; *err (free()) says why. */
int temper_loader_new(const char *const *dirs, size_t n, struct temper_loader **out,
                      char **err);
void temper_loader_free(struct temper_loader *l);

/* Find, open and check <kind>_<name>.  Loading the same module twice returns
 * the same object.  On failure *err (free()) is one line naming the file and
 * the problem. */
int temper_loader_load(struct temper_loader *l, enum temper_kind kind, const char *name,
                       const struct temper_module **out, char **err);

/* Every module that can be found, once per module name (first in search
 * order wins).  ok() gets modules that load; bad() gets one line for each
 * file that was refused.  Both borrowed for the call. */
typedef void (*temper_loader_ok_fn)(void *ctx, const struct temper_module *m);
typedef void (*temper_loader_bad_fn)(void *ctx, const char *module, const char *err);
int temper_loader_scan(struct temper_loader *l, temper_loader_ok_fn ok,
                       temper_loader_bad_fn bad, void *ctx);

/* Minimum ops_size for a kind at ABI 1.0. */
size_t temper_loader_min_ops_size(enum temper_kind kind);

/* Check an option table's shape (keys, types, offsets within conf_size);
 * on failure *err (free()) names the bad entry. */
int temper_options_check_table(const struct temper_option *opts, size_t conf_size,
                               char **err);

#endif

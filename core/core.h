/* temper — internal interfaces between the core's modules.  Not installed. */
#ifndef TEMPER_CORE_H
#define TEMPER_CORE_H

#include <temper/temper.h>

/* Exit codes (DESIGN.md section 5). */
#define TEMPER_EXIT_OK 0
#define TEMPER_EXIT_FAIL 1
#define TEMPER_EXIT_USAGE 2
#define TEMPER_EXIT_VERDICT 3

/* Options common to every command, parsed by main(). */
struct temper_global {
    const char *plugin_dirs[16]; /* from --plugin-dir, in order */
    size_t n_plugin_dirs;
    int verbose;                  /* -v count */
    int quiet;
    int log_json;
};

extern struct temper_global temper_g;

/* What every command that reads a pipeline takes: -c FILE, --plugin-dir DIR
 * (after the global --plugin-dir ones). */
struct temper_cmd_base {
    const char *file;
    const char *dirs[32];
    size_t n_dirs;
};
void temper_cmd_base_init(struct temper_cmd_base *b);
/* Handle option `opt` ('c' or 'P'); 1 when it was one of them, 0 if not,
 * -1 when it was but is not acceptable. */
int temper_cmd_base_opt(struct temper_cmd_base *b, int opt, const char *arg);
/* "runtime" or "dev". */
int temper_variant_ok(const char *v);

/* One command: argv[0] is the command name. */
typedef int (*temper_cmd_fn)(int argc, char **argv);

int cmd_plugins(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_track(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_review(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_sla(int argc, char **argv);
int cmd_status(int argc, char **argv);

struct temper_loader;
/* Open the loader with --plugin-dir dirs followed by `extra`; prints the
 * error on failure. */
int temper_core_loader_open(const char *const *extra, size_t n_extra,
                            struct temper_loader **out);

#endif

/* temper — what every command that does work needs: the validated config,
 * the opened store (shared safely between threads), and the image records
 * synchronised from the definitions. */
#ifndef TEMPER_CORE_RUNTIME_H
#define TEMPER_CORE_RUNTIME_H

#include <pthread.h>
#include <stdio.h>
#include "config_model.h"
#include "pipeline.h"

struct temper_runtime {
    struct temper_config *cfg;
    struct temper_store store;
    int store_open;
    pthread_mutex_t lock;     /* serialises store calls from stage threads */
};

/* Load and validate `file` (problems printed to `diag` as FILE:LINE), open
 * the store and record the image definitions in it.  Returns TEMPER_OK,
 * TEMPER_EINVAL for a config error (exit 2), or another rc (exit 1). */
int temper_runtime_open(struct temper_runtime *rt, const char *file,
                        const char *const *dirs, size_t n_dirs, FILE *diag);
void temper_runtime_close(struct temper_runtime *rt);

/* Host hooks that give a stage durable state in the runtime's store, taking
 * the runtime's lock (ctx = the runtime). */
extern const struct temper_host_ops temper_runtime_host_ops;

/* Create a stage for a plugin section with the runtime's host hooks, a work
 * directory <workdir>/<sub>/<id> and the plugin's cache directory; then
 * open() it.  On failure *err (free()) says why. */
struct temper_open_stage {
    const struct temper_conf_plugin *cp;
    struct temper_stage *st;
    void *state;
    int opened;
    struct temper_artlist *arts;
};
int temper_runtime_open_stage(struct temper_runtime *rt, const struct temper_conf_plugin *cp,
                              const char *sub, struct temper_open_stage *os, char **err);
void temper_runtime_close_stage(struct temper_open_stage *os);

/* "YYYY-MM-DD" -> the last millisecond of that UTC day; 0 for NULL. */
int temper_parse_day_end(const char *s, long long *ms);

#endif

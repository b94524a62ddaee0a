/* temper — test harness for plugins: load a built module through the real
 * loader, fill its conf block with the real option code, give its stage an
 * in-memory durable key/value host, scratch directories and an artifact list,
 * and open/close it.
 *
 *   struct ph h;
 *   static const char *const kv[] = { "api_url=http://127.0.0.1:8080", NULL };
 *   if (ph_load(&h, TEMPER_KIND_TRACKER, "github_releases", kv, &err) == TEMPER_OK &&
 *       ph_open(&h) == TEMPER_OK) {
 *       const struct temper_tracker_ops *ops = ph_ops(&h);
 *       ops->poll(h.state, h.st, watches, n);
 *   }
 *   ph_close(&h);
 *
 * Modules come from $TEMPER_PLUGINS (the build tree's plugins/ directory) or,
 * in a static build, from the modules preloaded into the test program (link
 * it with `-dlopen plugins/<kind>_<name>/<kind>_<name>.la`). */
#ifndef TEMPER_TESTS_PLUGIN_HARNESS_H
#define TEMPER_TESTS_PLUGIN_HARNESS_H

#include <temper/temper.h>
#include "core/loader.h"
#include "sdk/host.h"

struct ph_kv; /* in-memory key/value store */

struct ph {
    struct temper_loader *loader;
    const struct temper_module *mod;
    void *conf;                /* filled from the option table */
    struct temper_stage *st;
    void *state;               /* from the plugin's open() */
    int opened;
    struct temper_artlist *arts;
    struct ph_kv *kv;          /* owned unless shared with ph_share_kv() */
    int kv_borrowed;
    char dir[64];              /* scratch root: work/ and cache/ below it */
};

/* Load and fill the conf block: defaults first, then each "key=value" of
 * `kvs` (NULL-terminated; repeated keys append to LIST/MULTI options).
 * Required keys must be given.  On failure *err (free()) says why. */
int ph_load(struct ph *h, enum temper_kind kind, const char *name,
            const char *const *kvs, char **err);
/* Call the plugin's open(); on failure the stage error says why. */
int ph_open(struct ph *h);
/* Close the plugin, free everything, remove the scratch directories. */
void ph_close(struct ph *h);

/* The kind's ops table (zero-padded copy by the loader). */
const void *ph_ops(const struct ph *h);
/* Fill another conf block (e.g. a watch or [build] section) from a table. */
int ph_fill(const struct temper_option *opts, size_t conf_size, const char *const *kvs,
            void **conf, char **err);
void ph_free_conf(const struct temper_option *opts, void *conf);

/* Durable state: make `h` use the same key/value space as `from` (a second
 * "process" or round sees what the first saved).  Call before ph_open(). */
void ph_share_kv(struct ph *h, const struct ph *from);
/* Value saved under the plugin's namespace "<kind>.<instance>" (borrowed). */
const char *ph_state(const struct ph *h, const char *key);
size_t ph_state_count(const struct ph *h);

/* Artifacts the plugin emitted so far, and forgetting them. */
size_t ph_artifact_count(const struct ph *h);
const struct temper_artifact *ph_artifact(const struct ph *h, size_t i);
void ph_clear_artifacts(struct ph *h);

/* Capture the log into a temp file; ph_log_text() returns all of it (free()). */
int ph_log_capture(void);
char *ph_log_text(void);
void ph_log_release(void);

#endif

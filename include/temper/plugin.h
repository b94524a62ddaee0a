/* temper — the plugin descriptor and the stage a plugin runs in.
 *
 * ABI rules (checked by the loader before any plugin code runs):
 *  - abi_major must equal TEMPER_ABI_MAJOR of the core: any incompatible
 *    change to a public struct, callback signature or enum value bumps it.
 *  - abi_minor must be <= the core's: a field appended to a struct or a new
 *    optional callback at the end of an ops table bumps it.
 *  - desc_size / ops_size are sizeof() as the plugin was built; the core reads
 *    fields past them as absent (NULL / 0), so old plugins keep loading.
 *  - Fields are only ever appended, never reordered or removed, within a major.
 *  - Structs passed *into* plugins that may grow (requests, records) start
 *    with `uint32_t size` for the same reason.
 *
 * Each module exports exactly one const data object, `temper_plugin`, named
 * `<kind>_<name>_LTX_temper_plugin` in the object file (libltdl strips the
 * prefix); the TEMPER_PLUGIN() macro defines it. */
#ifndef TEMPER_PLUGIN_H
#define TEMPER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <temper/rc.h>
#include <temper/option.h>
#include <temper/artifact.h>
#include <temper/log.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TEMPER_ABI_MAJOR 1
#define TEMPER_ABI_MINOR 0

enum temper_kind {
    TEMPER_KIND_TRACKER = 1,
    TEMPER_KIND_GUARD,
    TEMPER_KIND_BUILDER,
    TEMPER_KIND_SUITE,
    TEMPER_KIND_ATTEST,
    TEMPER_KIND_SIGNER,
    TEMPER_KIND_PUBLISH,
    TEMPER_KIND_STORE
};
#define TEMPER_KIND_MAX TEMPER_KIND_STORE

/* "tracker", "guard", ...; NULL for an unknown kind. */
TEMPER_EXPORT const char *temper_kind_str(int kind);
/* Kind for a name, or 0. */
TEMPER_EXPORT int temper_kind_from_str(const char *name);

struct temper_stage; /* opaque: one configured stage in one run */

struct temper_plugin {
    uint16_t abi_major;   /* filled by TEMPER_PLUGIN_HEAD */
    uint16_t abi_minor;
    uint32_t desc_size;   /* sizeof(struct temper_plugin) when built */
    enum temper_kind kind;
    const char *name;     /* "keyfile"; unique within its kind, [a-z0-9_]+ */
    const char *version;  /* the plugin's own version string */
    const char *summary;  /* one line, shown by `temper plugins` */
    const struct temper_option *options; /* ends in TEMPER_OPTION_END; may be NULL */
    size_t conf_size;     /* size of the struct that `options` fill in */
    /* Create per-instance state from the validated conf (borrowed, valid until
     * after close()).  Cross-field checks belong here (TEMPER_EINVAL through
     * temper_fail()).  May be NULL when the plugin keeps no state. */
    int (*open)(struct temper_stage *st, const void *conf, void **state);
    void (*close)(void *state); /* must accept NULL; may be NULL */
    const void *ops;      /* the kind's table, e.g. struct temper_signer_ops */
    uint32_t ops_size;    /* sizeof(*ops) when built */
};

/* sizeof(struct temper_plugin) at ABI 1.0: the loader refuses anything shorter. */
#define TEMPER_PLUGIN_DESC_SIZE_1_0 \
    (offsetof(struct temper_plugin, ops_size) + sizeof(uint32_t))

#define TEMPER_PLUGIN_HEAD .abi_major = TEMPER_ABI_MAJOR, \
    .abi_minor = TEMPER_ABI_MINOR, .desc_size = sizeof(struct temper_plugin)

/* Defines <module>_LTX_temper_plugin; libltdl strips the prefix on lookup.
 * `module` may itself be a macro (it is expanded first). */
#define TEMPER_PLUGIN(module) TEMPER_PLUGIN_SYM_(module)
#define TEMPER_PLUGIN_SYM_(module) \
    TEMPER_EXPORT extern const struct temper_plugin module##_LTX_temper_plugin; \
    TEMPER_EXPORT const struct temper_plugin module##_LTX_temper_plugin

/* ---- stage services (implemented in libtemper-sdk) ---------------------- */

/* Instance name from the INI section (`[signer "release"]` -> "release"). */
TEMPER_EXPORT const char *temper_stage_name(const struct temper_stage *st);
/* The plugin this stage runs; borrowed. */
TEMPER_EXPORT const struct temper_plugin *temper_stage_plugin(const struct temper_stage *st);
/* Scratch directory private to this stage for this run; removed by the core
 * when the run ends.  Borrowed; NULL when the stage has none. */
TEMPER_EXPORT const char *temper_stage_workdir(const struct temper_stage *st);
/* Persistent cache directory shared by runs of this plugin (downloads). */
TEMPER_EXPORT const char *temper_stage_cachedir(const struct temper_stage *st);
/* true once the run has been asked to stop; long loops check it. */
TEMPER_EXPORT bool temper_stage_cancelled(const struct temper_stage *st);
/* Unix time in milliseconds as the run sees it (tests may pin it). */
TEMPER_EXPORT long long temper_stage_now_ms(const struct temper_stage *st);

/* Record the reason of a failure once, where it is known: stores the first
 * error of the stage, logs it (redacted) and returns rc.  st may be NULL (then
 * only logs). */
TEMPER_EXPORT int temper_fail(struct temper_stage *st, int rc, const char *fmt, ...)
    TEMPER_PRINTF(3, 4);
/* First recorded error message, borrowed; NULL if none. */
TEMPER_EXPORT const char *temper_stage_error(const struct temper_stage *st);

/* Hand an artifact to the run; takes `art` even on error. */
TEMPER_EXPORT int temper_emit(struct temper_stage *st, struct temper_artifact *art)
    TEMPER_WARN_UNUSED;
/* The i-th artifact of `type` produced so far in this run (by any stage), in
 * emission order; borrowed until the run ends.  NULL past the end. */
TEMPER_EXPORT const struct temper_artifact *
temper_stage_artifact(const struct temper_stage *st, enum temper_art_type type, size_t i);

/* Durable key/value state private to this stage instance (tracker versions,
 * HTTP validators), kept in the store.  get: ENOTFOUND when absent, *value is
 * a new string (free()).  put: value NULL deletes; written through at once. */
TEMPER_EXPORT int temper_stage_state_get(struct temper_stage *st, const char *key,
                                         char **value) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_stage_state_put(struct temper_stage *st, const char *key,
                                         const char *value) TEMPER_WARN_UNUSED;

/* Progress for terminals and structured logs; `what` borrowed. */
TEMPER_EXPORT void temper_stage_progress(struct temper_stage *st, const char *what,
                                         unsigned long long done,
                                         unsigned long long total);

#ifdef __cplusplus
}
#endif
#endif

/* temper — the host side of the stage API: what the core uses to create
 * stages and runs inside libtemper-sdk.  Not installed; plugins never call
 * these (they are exported only because the core links the same library). */
#ifndef TEMPER_SDK_HOST_H
#define TEMPER_SDK_HOST_H

#include <stdio.h>
#include <temper/plugin.h>
#include <temper/guard.h>
#include <temper/suite.h>

struct temper_host_ops {
    int (*kv_get)(void *ctx, const char *ns, const char *key, char **value);
    int (*kv_put)(void *ctx, const char *ns, const char *key, const char *value);
};

/* The artifacts of one run, shared by its stages. */
struct temper_artlist;
TEMPER_EXPORT struct temper_artlist *temper_artlist_new(void);
TEMPER_EXPORT void temper_artlist_free(struct temper_artlist *l);
TEMPER_EXPORT size_t temper_artlist_count(const struct temper_artlist *l);
TEMPER_EXPORT const struct temper_artifact *temper_artlist_at(const struct temper_artlist *l,
                                                              size_t i);
/* Takes `a` even on error. */
TEMPER_EXPORT int temper_artlist_add(struct temper_artlist *l, struct temper_artifact *a);

/* A stage: `plugin` and `list` borrowed, `name` copied. */
TEMPER_EXPORT struct temper_stage *temper_stage_new(const struct temper_plugin *plugin,
                                                    const char *name);
TEMPER_EXPORT void temper_stage_free(struct temper_stage *st);
TEMPER_EXPORT int temper_stage_set_dirs(struct temper_stage *st, const char *workdir,
                                        const char *cachedir);
TEMPER_EXPORT void temper_stage_set_host(struct temper_stage *st,
                                         const struct temper_host_ops *ops, void *ctx);
TEMPER_EXPORT void temper_stage_set_artifacts(struct temper_stage *st,
                                              struct temper_artlist *list);
TEMPER_EXPORT void temper_stage_set_cancel(struct temper_stage *st,
                                           const volatile int *flag);
TEMPER_EXPORT void temper_stage_set_now(struct temper_stage *st, long long ms);
TEMPER_EXPORT int temper_stage_error_rc(const struct temper_stage *st);
/* Forget the recorded error, findings and cases (next job). */
TEMPER_EXPORT void temper_stage_reset(struct temper_stage *st);

/* Logging set-up (core only). */
TEMPER_EXPORT void temper_log_set_level(enum temper_log_level lvl);
TEMPER_EXPORT void temper_log_set_stream(FILE *f);  /* default stderr */
TEMPER_EXPORT void temper_log_set_json(int on);     /* one JSON object a line */
TEMPER_EXPORT void temper_log_clear_secrets(void);

#endif

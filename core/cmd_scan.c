/* temper — `temper scan -c FILE [--upstream NAME] [--json] PATCH...`: run
 * the pipeline's guard stages on patch files (`git format-patch` mboxes, or
 * plain diffs).  Prints every finding as `PATCH: SEVERITY rule file:line:
 * message`; exit 0 when no guard blocked, 3 when one did, 1 when a guard
 * could not decide, 2 usage or config error.
 *
 * With --json, stdout has one JSON object per patch (JSON lines):
 *   {"patch": PATH, "verdict": "pass"|"block"|"error", "error": TEXT (error
 *    only), "findings": [{"guard": "heuristic", "rule": ID, "severity":
 *    "high", "confidence": 0..100, "file": PATH|null, "line": N (0 none),
 *    "location": "file:line", "commit": SHA|null, "evidence": TEXT,
 *    "explanation": TEXT}...]}
 * Strings are JSON-escaped (json-c), so hostile patch content cannot break
 * the framing of a line. */
#include "config.h"
#include "core.h"
#include "runtime.h"
#include "pipeline_priv.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_USAGE "usage: temper scan -c FILE [--upstream NAME] [--json] PATCH...\n"
#define SCAN_MAX_STAGES 16

struct scan_plan {
    struct temper_stage_spec specs[SCAN_MAX_STAGES];
    size_t n;
};

static void print_findings(const struct temper_pipeline *p, size_t n, const char *patch)
{
    for (size_t i = 0; i < n; i++) {
        const struct temper_stage *st = temper_pipeline_stage(p, i);
        for (size_t k = 0; k < temper_stage_finding_count(st); k++) {
            const struct temper_finding *f = temper_stage_finding_at(st, k);
            const char *sev = temper_severity_str(f->severity);
            printf("%s: %s %s %s:%ld: %s\n", patch, sev ? sev : "?", f->rule,
                   f->file ? f->file : "-", f->line, f->message ? f->message : "");
        }
    }
}

static json_object *str_or_null(const char *v)
{
    return v ? json_object_new_string(v) : NULL;
}

static json_object *finding_json(const struct temper_stage *st, const struct temper_finding *f)
{
    json_object *j = json_object_new_object();
    const char *sev = temper_severity_str(f->severity);
    char *loc = temper_strdupf("%s:%ld", f->file ? f->file : "-", f->line);
    json_object_object_add(j, "guard", str_or_null(temper_stage_name(st)));
    json_object_object_add(j, "rule", str_or_null(f->rule));
    json_object_object_add(j, "severity", json_object_new_string(sev ? sev : "?"));
    json_object_object_add(j, "confidence", json_object_new_int(f->confidence));
    json_object_object_add(j, "file", str_or_null(f->file));
    json_object_object_add(j, "line", json_object_new_int64(f->line));
    json_object_object_add(j, "location", str_or_null(loc));
    json_object_object_add(j, "commit", str_or_null(f->commit));
    json_object_object_add(j, "evidence", json_object_new_string(f->evidence ? f->evidence : ""));
    json_object_object_add(j, "explanation",
                           json_object_new_string(f->message ? f->message : ""));
    free(loc);
    return j;
}

/* One JSON line for a patch; p NULL when the run failed before any finding. */
static void print_json(const struct temper_pipeline *p, size_t n, const char *patch,
                       const char *verdict, const char *error)
{
    json_object *j = json_object_new_object();
    json_object *arr = json_object_new_array();
    json_object_object_add(j, "patch", json_object_new_string(patch));
    json_object_object_add(j, "verdict", json_object_new_string(verdict));
    if (error) {
        json_object_object_add(j, "error", json_object_new_string(error));
    }
    for (size_t i = 0; p && i < n; i++) {
        const struct temper_stage *st = temper_pipeline_stage(p, i);
        for (size_t k = 0; st && k < temper_stage_finding_count(st); k++) {
            json_object_array_add(arr, finding_json(st, temper_stage_finding_at(st, k)));
        }
    }
    json_object_object_add(j, "findings", arr);
    printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
}

static struct temper_artifact *patch_artifact(enum temper_art_type t, const char *path,
                                              const char *upstream)
{
    struct temper_artifact *a = temper_artifact_new(t, path);
    int rc = a ? temper_artifact_set(a, TEMPER_ATTR_UPSTREAM, upstream) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && t == TEMPER_ART_DIFF) {
        char *abs = realpath(path, NULL);
        rc = abs ? temper_artifact_set_path(a, abs) : TEMPER_EIO;
        free(abs);
    }
    if (rc == TEMPER_OK && t == TEMPER_ART_CHANGE) {
        rc = temper_artifact_set(a, TEMPER_ATTR_NEW_VERSION, path);
    }
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return NULL;
    }
    return a;
}

/* One patch through the guard stages: 0 pass, 3 blocked, 1 error. */
static int scan_one(struct temper_pipeline *p, const struct scan_plan *sp, const char *patch,
                    const char *upstream, bool json)
{
    struct temper_artifact *change = patch_artifact(TEMPER_ART_CHANGE, patch, upstream);
    struct temper_artifact *diff = patch_artifact(TEMPER_ART_DIFF, patch, upstream);
    struct temper_job_input in = { .change = change, .diff = diff, .variant = "runtime",
                                   .no_review = true };
    struct temper_run_result res;
    memset(&res, 0, sizeof res);
    int code = TEMPER_EXIT_FAIL;
    if (!change || !diff) {
        fprintf(stderr, "temper: cannot read %s\n", patch);
        if (json) {
            print_json(NULL, 0, patch, "error", "cannot read the patch");
        }
    } else if (temper_pipeline_run(p, &in, &res) != TEMPER_OK ||
               res.outcome == TEMPER_RUN_OUTCOME_FAILED) {
        const char *why = res.error ? res.error : "failed";
        fprintf(stderr, "temper: scan %s: %s\n", patch, why);
        if (json) {
            print_json(p, sp->n, patch, "error", why);
        }
    } else {
        code = res.outcome == TEMPER_RUN_OUTCOME_BLOCKED ? TEMPER_EXIT_VERDICT
                                                          : TEMPER_EXIT_OK;
        if (json) {
            print_json(p, sp->n, patch, code == TEMPER_EXIT_OK ? "pass" : "block", NULL);
        } else {
            print_findings(p, sp->n, patch);
        }
        fprintf(stderr, "temper: %s: %s\n", patch,
                code == TEMPER_EXIT_OK ? "pass" : "blocked: needs review");
    }
    temper_run_result_cleanup(&res);
    temper_artifact_free(change);
    temper_artifact_free(diff);
    return code;
}

static int plan_guards(const struct temper_config *cfg, struct scan_plan *sp)
{
    for (size_t i = 0; i < cfg->n_chain && sp->n < SCAN_MAX_STAGES; i++) {
        const struct temper_conf_plugin *cp = cfg->chain[i];
        if (cp->kind == TEMPER_KIND_GUARD && cp->keys.enabled && cp->module) {
            sp->specs[sp->n++] = (struct temper_stage_spec){ TEMPER_KIND_GUARD, cp->instance,
                                                             cp->module, cp->conf };
        }
    }
    return sp->n ? 0 : -1;
}

static int scan_all(struct temper_runtime *rt, const char *file, const char *upstream,
                    bool json, char **patches, int n_patches)
{
    struct scan_plan sp;
    memset(&sp, 0, sizeof sp);
    if (plan_guards(rt->cfg, &sp) != 0) {
        fprintf(stderr, "temper: %s: the pipeline has no enabled guard stage\n", file);
        return TEMPER_EXIT_USAGE;
    }
    struct temper_pipeline *p = NULL;
    char *err = NULL;
    if (temper_pipeline_new(sp.specs, sp.n, &rt->store, rt->cfg->core.workdir,
                            rt->cfg->core.cache_dir, &p, &err) != TEMPER_OK) {
        fprintf(stderr, "temper: %s\n", err ? err : "cannot open the guard stages");
        free(err);
        return TEMPER_EXIT_FAIL;
    }
    int worst = TEMPER_EXIT_OK;
    for (int i = 0; i < n_patches; i++) {
        int code = scan_one(p, &sp, patches[i], upstream, json);
        /* an error outranks a verdict: the verdict may be incomplete */
        if (code == TEMPER_EXIT_FAIL || (code == TEMPER_EXIT_VERDICT && worst == 0)) {
            worst = code;
        }
    }
    temper_pipeline_free(p);
    return worst;
}

int cmd_scan(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "upstream", required_argument, NULL, 'u' },
        { "json", no_argument, NULL, 'j' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    struct temper_cmd_base b;
    const char *upstream = "local";
    bool json = false;
    int c;
    temper_cmd_base_init(&b);
    while ((c = getopt_long(argc, argv, "c:u:jP:", opts, NULL)) != -1) {
        int r = temper_cmd_base_opt(&b, c, optarg);
        if (r == 0 && c == 'u') {
            upstream = optarg;
        } else if (r == 0 && c == 'j') {
            json = true;
        } else if (r != 1) {
            fputs(SCAN_USAGE, stderr);
            return TEMPER_EXIT_USAGE;
        }
    }
    if (!b.file || optind >= argc) {
        fputs(SCAN_USAGE, stderr);
        return TEMPER_EXIT_USAGE;
    }
    struct temper_runtime rt;
    int rc = temper_runtime_open(&rt, b.file, b.dirs, b.n_dirs, stderr);
    int code = rc == TEMPER_OK ? scan_all(&rt, b.file, upstream, json, argv + optind,
                                                 argc - optind)
               : rc == TEMPER_EINVAL ? TEMPER_EXIT_USAGE : TEMPER_EXIT_FAIL;
    temper_runtime_close(&rt);
    return code;
}

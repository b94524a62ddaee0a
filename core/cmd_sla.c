/* temper — `temper sla -c FILE [--json] [--image NAME]`: the vulnerability
 * SLA of the published images (core/sla.h says where the facts come from
 * and how items open, close and breach).
 *
 * Text: one line per item (image, vulnerability, source package, severity,
 * known, fix available, fixed image published, state, deadline) and a
 * summary line.  --json: one object {now, windows, summary, items, breaches}
 * with times as RFC 3339 UTC strings (null when unknown) and windows in
 * seconds (null = none).
 *
 * Exit: 0 no breach, 3 at least one breach (a verdict said no), 2 usage or
 * config error (or an unknown --image), 1 failure.  TEMPER_NOW=<Unix
 * seconds> pins "now" (tests). */
#include "config.h"
#include "core.h"
#include "sla.h"
#include "pipeline_priv.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLA_USAGE "usage: temper sla -c FILE [--json] [--image NAME]\n"

struct sla_args {
    struct temper_cmd_base base;
    const char *image;
    int json;
};

static json_object *time_json(long long ms)
{
    char ts[40];
    if (ms <= 0) {
        return NULL;
    }
    temper_sla_time(ms, ts, sizeof ts);
    return json_object_new_string(ts);
}

static json_object *str_json(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *item_json(const struct temper_sla_item *it, long long now)
{
    json_object *j = json_object_new_object();
    json_object_object_add(j, "image", str_json(it->image));
    json_object_object_add(j, "variant", str_json(it->variant));
    json_object_object_add(j, "vulnerability", str_json(it->vuln));
    json_object_object_add(j, "ecosystem", str_json(it->ecosystem));
    json_object_object_add(j, "package", str_json(it->package));
    json_object_object_add(j, "severity", str_json(it->severity));
    json_object_object_add(j, "summary", str_json(it->summary));
    json_object_object_add(j, "installed_version", str_json(it->installed));
    json_object_object_add(j, "fixed_version", str_json(it->fixed));
    json_object_object_add(j, "fixed_by_version", str_json(it->fixed_by));
    json_object_object_add(j, "state", json_object_new_string(it->closed ? "closed" : "open"));
    json_object_object_add(j, "known", time_json(it->known));
    json_object_object_add(j, "fix_available", time_json(it->fix_available));
    json_object_object_add(j, "first_affected_publish", time_json(it->opened));
    json_object_object_add(j, "fixed_image_published", time_json(it->closed));
    json_object_object_add(j, "window_seconds",
                           it->window > 0 ? json_object_new_int64(it->window / 1000) : NULL);
    json_object_object_add(j, "deadline", time_json(it->deadline));
    json_object_object_add(j, "breach", json_object_new_boolean(it->breach));
    if (it->breach) {
        long long end = it->closed ? it->closed : now;
        json_object_object_add(j, "late_seconds",
                               json_object_new_int64((end - it->deadline) / 1000));
    }
    return j;
}

static json_object *windows_json(const struct temper_config *cfg)
{
    static const char *const sev[] = { "critical", "high", "medium", "low" };
    json_object *w = json_object_new_object();
    for (size_t i = 0; i < 4; i++) {
        long long ms = temper_sla_window(cfg, sev[i]);
        json_object_object_add(w, sev[i], ms > 0 ? json_object_new_int64(ms / 1000) : NULL);
    }
    return w;
}

static int print_json(const struct temper_config *cfg, const struct temper_sla_report *r)
{
    json_object *root = json_object_new_object(), *items = json_object_new_array();
    json_object *breaches = json_object_new_array(), *sum = json_object_new_object();
    json_object_object_add(root, "now", time_json(r->now));
    json_object_object_add(root, "windows", windows_json(cfg));
    json_object_object_add(sum, "items", json_object_new_int64((int64_t)r->n));
    json_object_object_add(sum, "open", json_object_new_int64((int64_t)r->n_open));
    json_object_object_add(sum, "closed", json_object_new_int64((int64_t)(r->n - r->n_open)));
    json_object_object_add(sum, "breaches", json_object_new_int64((int64_t)r->n_breach));
    json_object_object_add(root, "summary", sum);
    for (size_t i = 0; i < r->n; i++) {
        json_object_array_add(items, item_json(&r->items[i], r->now));
        if (r->items[i].breach) {
            json_object_array_add(breaches, item_json(&r->items[i], r->now));
        }
    }
    json_object_object_add(root, "items", items);
    json_object_object_add(root, "breaches", breaches);
    const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    int ok = text && printf("%s\n", text) > 0;
    json_object_put(root);
    return ok ? TEMPER_OK : TEMPER_EIO;
}

static void print_text(const struct temper_sla_report *r)
{
    char t[4][40];
    printf("%-20s %-18s %-16s %-8s %-20s %-20s %-20s %-6s %s\n", "IMAGE", "VULNERABILITY",
           "PACKAGE", "SEVERITY", "KNOWN", "FIX-AVAILABLE", "FIXED-PUBLISHED", "STATE",
           "DEADLINE");
    for (size_t i = 0; i < r->n; i++) {
        const struct temper_sla_item *it = &r->items[i];
        temper_sla_time(it->known, t[0], sizeof t[0]);
        temper_sla_time(it->fix_available, t[1], sizeof t[1]);
        temper_sla_time(it->closed, t[2], sizeof t[2]);
        temper_sla_time(it->deadline, t[3], sizeof t[3]);
        printf("%-20s %-18s %-16s %-8s %-20s %-20s %-20s %-6s %s%s\n", it->image, it->vuln,
               it->package, it->severity ? it->severity : "-", t[0], t[1], t[2],
               it->closed ? "closed" : "open", t[3], it->breach ? " BREACH" : "");
    }
    printf("%zu item(s): %zu open, %zu closed, %zu breach(es)\n", r->n, r->n_open,
           r->n - r->n_open, r->n_breach);
}

static int run_sla(struct temper_runtime *rt, const struct sla_args *a)
{
    if (a->image && !temper_config_image(rt->cfg, a->image)) {
        fprintf(stderr, "temper: %s: no image named '%s'\n", a->base.file, a->image);
        return TEMPER_EXIT_USAGE;
    }
    struct temper_sla_report r;
    int rc = temper_sla_compute(rt, a->image, temper_now_ms(), &r);
    if (rc == TEMPER_OK) {
        if (a->json) {
            rc = print_json(rt->cfg, &r);
        } else {
            print_text(&r);
        }
    }
    int code = rc != TEMPER_OK ? TEMPER_EXIT_FAIL
               : r.n_breach ? TEMPER_EXIT_VERDICT : TEMPER_EXIT_OK;
    if (rc != TEMPER_OK) {
        const char *e = temper_stage_error(rt->store.st);
        fprintf(stderr, "temper: sla: %s\n", e ? e : temper_rc_str(rc));
    }
    temper_sla_report_cleanup(&r);
    return code;
}

static int parse_args(int argc, char **argv, struct sla_args *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "image", required_argument, NULL, 'i' },
        { "plugin-dir", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    temper_cmd_base_init(&a->base);
    while ((c = getopt_long(argc, argv, "c:ji:P:", opts, NULL)) != -1) {
        int r = temper_cmd_base_opt(&a->base, c, optarg);
        if (r == 1) {
            continue;
        } else if (r == 0 && c == 'j') {
            a->json = 1;
        } else if (r == 0 && c == 'i') {
            a->image = optarg;
        } else {
            return -1;
        }
    }
    return a->base.file && optind == argc ? 0 : -1;
}

int cmd_sla(int argc, char **argv)
{
    struct sla_args a;
    memset(&a, 0, sizeof a);
    if (parse_args(argc, argv, &a) != 0) {
        fputs(SLA_USAGE, stderr);
        return TEMPER_EXIT_USAGE;
    }
    struct temper_runtime rt;
    int rc = temper_runtime_open(&rt, a.base.file, a.base.dirs, a.base.n_dirs, stderr);
    int code = rc == TEMPER_OK ? run_sla(&rt, &a)
               : rc == TEMPER_EINVAL ? TEMPER_EXIT_USAGE : TEMPER_EXIT_FAIL;
    temper_runtime_close(&rt);
    return code;
}

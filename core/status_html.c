/* temper — the static status page (see status_html.h). */
#include "config.h"
#include "status_html.h"
#include "pipeline_priv.h"
#include "sla.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define RUNS_SHOWN 20
#define GRAPH_DEPTH 64
#define DETAIL_MAX (4 * 1024 * 1024)

struct run_copy {
    long long id, started, finished;
    int status;
    char *image, *variant, *version, *error, *invocation;
};

struct img_info {
    struct run_copy last, last_ok;
    char *pinned, *digest;
};

struct status {
    struct temper_runtime *rt;
    FILE *f;
    long long now;
    struct run_copy ring[RUNS_SHOWN];
    size_t n_ring, ring_at;
    struct img_info *imgs;        /* one per config image */
    struct json_object *by_name;  /* image name -> index */
    int rc;
};

/* ---- output ----------------------------------------------------------- */

void temper_html_text(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f) {
                fputs("&#xFFFD;", f);
            } else {
                fputc(*p, f);
            }
        }
    }
}

static void raw(struct status *s, const char *html)
{
    fputs(html, s->f);
}

/* <tag class="cls">escaped text</tag> */
static void cell(struct status *s, const char *tag, const char *cls, const char *text)
{
    fprintf(s->f, "<%s%s%s%s>", tag, cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    temper_html_text(s->f, text ? text : "-");
    fprintf(s->f, "</%s>", tag);
}

static void time_cell(struct status *s, long long ms)
{
    char ts[40];
    temper_sla_time(ms, ts, sizeof ts);
    cell(s, "td", "t", ts);
}

/* ---- collecting ----------------------------------------------------------- */

static void run_copy_free(struct run_copy *r)
{
    free(r->image);
    free(r->variant);
    free(r->version);
    free(r->error);
    free(r->invocation);
    memset(r, 0, sizeof *r);
}

static int run_copy_set(struct run_copy *dst, const struct temper_run_record *r)
{
    run_copy_free(dst);
    dst->id = r->id;
    dst->started = r->started_at;
    dst->finished = r->finished_at;
    dst->status = r->status;
    dst->image = r->image ? strdup(r->image) : NULL;
    dst->variant = r->variant ? strdup(r->variant) : NULL;
    dst->version = r->version ? strdup(r->version) : NULL;
    dst->error = r->error ? strdup(r->error) : NULL;
    dst->invocation = r->invocation_id ? strdup(r->invocation_id) : NULL;
    bool ok = (!r->image || dst->image) && (!r->variant || dst->variant) &&
              (!r->version || dst->version) && (!r->error || dst->error) &&
              (!r->invocation_id || dst->invocation);
    return ok ? TEMPER_OK : TEMPER_ENOMEM;
}

static int collect_run(void *ctx, const struct temper_run_record *r)
{
    struct status *s = ctx;
    struct json_object *idx = NULL;
    int rc = run_copy_set(&s->ring[s->ring_at], r);
    s->ring_at = (s->ring_at + 1) % RUNS_SHOWN;
    s->n_ring += s->n_ring < RUNS_SHOWN;
    if (rc == TEMPER_OK && r->image && json_object_object_get_ex(s->by_name, r->image, &idx)) {
        struct img_info *im = &s->imgs[json_object_get_int64(idx)];
        rc = run_copy_set(&im->last, r);
        if (rc == TEMPER_OK && r->status == TEMPER_RUN_OK && r->finished_at > 0) {
            rc = run_copy_set(&im->last_ok, r);
        }
    }
    s->rc = rc;
    return rc != TEMPER_OK;
}

static int keep_record(void *ctx, const struct temper_image_record *img)
{
    struct img_info *im = ctx;
    im->pinned = img->pinned_version ? strdup(img->pinned_version) : NULL;
    im->digest = img->last_digest ? strdup(img->last_digest) : NULL;
    return 0;
}

static int collect(struct status *s)
{
    const struct temper_config *cfg = s->rt->cfg;
    struct temper_store *st = &s->rt->store;
    s->imgs = calloc(cfg->n_images ? cfg->n_images : 1, sizeof *s->imgs);
    s->by_name = json_object_new_object();
    int rc = s->imgs && s->by_name ? TEMPER_OK : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && i < cfg->n_images; i++) {
        const char *name = cfg->images[i]->def.name;
        rc = temper_json_add(s->by_name, name, json_object_new_int64((int64_t)i));
        int g = rc == TEMPER_OK ? st->ops->image_get(st->state, name, keep_record, &s->imgs[i])
                                : rc;
        rc = g == TEMPER_ENOTFOUND ? TEMPER_OK : g;
    }
    if (rc == TEMPER_OK) {
        rc = st->ops->run_list(st->state, 0, collect_run, s);
        rc = s->rc != TEMPER_OK ? s->rc : rc;
    }
    return rc;
}

/* ---- sections ----------------------------------------------------------- */

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<title>temper status</title>\n<style>\n"
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\n"
    "table{border-collapse:collapse;margin-bottom:1.5em}\n"
    "th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\n"
    "th{background:#f0f0f0}\n.t{white-space:nowrap;font-variant-numeric:tabular-nums}\n"
    ".ok{color:#176317}.fail{color:#a11}.blocked{color:#a60}\n"
    "tr.breach td{background:#fdd}\ncode{font-size:90%}\n"
    "</style>\n</head>\n<body>\n";

static void artifact_refs(struct status *s, const char *detail, int type, const char *attr)
{
    struct json_object *d = NULL;
    size_t n = 0;
    if (!detail || temper_json_parse(NULL, "stage detail", detail, strlen(detail), DETAIL_MAX,
                                     16, &d) != TEMPER_OK) {
        return;
    }
    struct json_object *arts = temper_json_get_array(d, "artifacts", &n);
    for (size_t i = 0; i < n && i < 64; i++) {
        struct json_object *a = json_object_array_get_idx(arts, i);
        int64_t t = 0;
        const char *v = temper_json_get_str(a, attr);
        if (temper_json_get_int64(a, "type", 0, 100, &t) == TEMPER_OK && t == type && v) {
            raw(s, "<code>");
            temper_html_text(s->f, v);
            raw(s, "</code><br>");
        }
    }
    json_object_put(d);
}

struct refs_ctx {
    struct status *s;
    int type;
    const char *attr;
};

static int stage_refs(void *ctx, const struct temper_stage_record *sr)
{
    struct refs_ctx *r = ctx;
    artifact_refs(r->s, sr->detail, r->type, r->attr);
    return 0;
}

/* The published references (or image digests) a run's stages recorded. */
static int run_artifacts(struct status *s, long long run_id, int type, const char *attr)
{
    struct temper_store *st = &s->rt->store;
    struct refs_ctx r = { s, type, attr };
    return run_id ? st->ops->run_stages(st->state, run_id, stage_refs, &r) : TEMPER_OK;
}

struct digest_ctx {
    char *digest;
};

static int stage_digest(void *ctx, const struct temper_stage_record *sr)
{
    struct digest_ctx *d = ctx;
    struct json_object *j = NULL;
    size_t n = 0;
    if (d->digest || !sr->detail ||
        temper_json_parse(NULL, "stage detail", sr->detail, strlen(sr->detail), DETAIL_MAX, 16,
                          &j) != TEMPER_OK) {
        return 0;
    }
    struct json_object *arts = temper_json_get_array(j, "artifacts", &n);
    for (size_t i = 0; !d->digest && i < n && i < 64; i++) {
        struct json_object *a = json_object_array_get_idx(arts, i);
        int64_t t = 0;
        const char *v = temper_json_get_str(a, "digest");
        if (temper_json_get_int64(a, "type", 0, 100, &t) == TEMPER_OK &&
            t == TEMPER_ART_IMAGE && v) {
            d->digest = strdup(v);
        }
    }
    json_object_put(j);
    return 0;
}

/* The image's digest: its store record, else the image a stage of its last
 * published run recorded (the builder), else the SLA record of that run. */
static char *image_digest(struct status *s, const struct img_info *im)
{
    struct temper_store *st = &s->rt->store;
    struct digest_ctx d = { im->digest ? strdup(im->digest) : NULL };
    if (!d.digest && im->last_ok.id) {
        (void)st->ops->run_stages(st->state, im->last_ok.id, stage_digest, &d);
    }
    if (!d.digest && im->last_ok.invocation) {
        d.digest = temper_sla_run_digest(s->rt, im->last_ok.invocation);
    }
    return d.digest;
}

static int images_section(struct status *s)
{
    const struct temper_config *cfg = s->rt->cfg;
    raw(s, "<h2 id=\"images\">Images</h2>\n<table>\n<tr><th>Image</th><th>Distribution</th>"
           "<th>Version</th><th>Last build</th><th>Digest</th><th>Published</th>"
           "<th>Last run</th></tr>\n");
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < cfg->n_images; i++) {
        const struct temper_image_def *def = &cfg->images[i]->def;
        const struct img_info *im = &s->imgs[i];
        raw(s, "<tr>");
        cell(s, "td", NULL, def->name);
        cell(s, "td", NULL, def->distribution);
        cell(s, "td", NULL, im->last_ok.version ? im->last_ok.version : im->pinned);
        time_cell(s, im->last_ok.finished);
        char *digest = image_digest(s, im);
        raw(s, "<td>");
        cell(s, "code", NULL, digest);
        free(digest);
        raw(s, "</td><td>");
        rc = run_artifacts(s, im->last_ok.id, TEMPER_ART_REFERENCE, "name");
        raw(s, "</td>");
        cell(s, "td", im->last.id == 0 ? NULL : im->last.status == TEMPER_RUN_OK ? "ok" : "fail",
             im->last.id == 0 ? "never" : im->last.status == TEMPER_RUN_OK ? "ok"
             : im->last.status == TEMPER_RUN_RUNNING ? "running"
             : im->last.status == TEMPER_RUN_BLOCKED ? "blocked" : "failed");
        raw(s, "</tr>\n");
    }
    raw(s, "</table>\n");
    return rc;
}

static void graph_children(struct status *s, const char *name, int depth)
{
    const struct temper_config *cfg = s->rt->cfg;
    bool open = false;
    for (size_t i = 0; depth < GRAPH_DEPTH && i < cfg->n_images; i++) {
        const char *b = cfg->images[i]->def.base;
        if (!b || strncmp(b, "image:", 6) != 0 || strcmp(b + 6, name) != 0) {
            continue;
        }
        raw(s, open ? "" : "<ul>");
        open = true;
        raw(s, "<li>");
        temper_html_text(s->f, cfg->images[i]->def.name);
        graph_children(s, cfg->images[i]->def.name, depth + 1);
        raw(s, "</li>");
    }
    raw(s, open ? "</ul>" : "");
}

static void graph_section(struct status *s)
{
    const struct temper_config *cfg = s->rt->cfg;
    raw(s, "<h2 id=\"graph\">Image graph</h2>\n<ul class=\"graph\">");
    for (size_t i = 0; i < cfg->n_images; i++) {
        const char *b = cfg->images[i]->def.base;
        if (b && strncmp(b, "image:", 6) == 0 && temper_config_image(cfg, b + 6)) {
            continue; /* drawn under its base */
        }
        raw(s, "<li>");
        temper_html_text(s->f, cfg->images[i]->def.name);
        if (b) {
            raw(s, " <small>on ");
            temper_html_text(s->f, b);
            raw(s, "</small>");
        }
        graph_children(s, cfg->images[i]->def.name, 1);
        raw(s, "</li>");
    }
    raw(s, "</ul>\n");
}

static const char *verdict_word(int v)
{
    static const char *const w[] = { "-", "pass", "warn", "block" };
    return v >= 0 && v <= 3 ? w[v] : "?";
}

static int stage_row(void *ctx, const struct temper_stage_record *sr)
{
    struct status *s = ctx;
    char ms[32];
    snprintf(ms, sizeof ms, "%lld ms", sr->finished_at - sr->started_at);
    raw(s, "<li>");
    cell(s, "span", sr->rc == TEMPER_OK ? "ok" : "fail", sr->stage);
    raw(s, " ");
    temper_html_text(s->f, sr->rc == TEMPER_OK ? verdict_word((int)sr->verdict)
                                               : temper_rc_str(sr->rc));
    raw(s, " ");
    temper_html_text(s->f, ms);
    if (sr->error) {
        raw(s, ": ");
        temper_html_text(s->f, sr->error);
    }
    raw(s, "</li>");
    return 0;
}

static int runs_section(struct status *s)
{
    struct temper_store *st = &s->rt->store;
    raw(s, "<h2 id=\"runs\">Last runs</h2>\n<table>\n<tr><th>Run</th><th>Image</th>"
           "<th>Version</th><th>Started</th><th>Finished</th><th>Status</th>"
           "<th>Stages</th></tr>\n");
    int rc = TEMPER_OK;
    for (size_t k = 0; rc == TEMPER_OK && k < s->n_ring; k++) {
        /* newest first */
        const struct run_copy *r = &s->ring[(s->ring_at + RUNS_SHOWN - 1 - k) % RUNS_SHOWN];
        char id[32];
        snprintf(id, sizeof id, "%lld", r->id);
        const char *word = r->status == TEMPER_RUN_OK ? "ok"
                           : r->status == TEMPER_RUN_RUNNING ? "running"
                           : r->status == TEMPER_RUN_BLOCKED ? "blocked" : "failed";
        raw(s, "<tr>");
        cell(s, "td", NULL, id);
        cell(s, "td", NULL, r->image);
        cell(s, "td", NULL, r->version);
        time_cell(s, r->started);
        time_cell(s, r->finished);
        cell(s, "td", r->status == TEMPER_RUN_OK ? "ok" : r->status == TEMPER_RUN_BLOCKED
                                                              ? "blocked" : "fail", word);
        raw(s, "<td><ul>");
        rc = st->ops->run_stages(st->state, r->id, stage_row, s);
        raw(s, "</ul>");
        if (r->error) {
            cell(s, "small", NULL, r->error);
        }
        raw(s, "</td></tr>\n");
    }
    raw(s, "</table>\n");
    return rc;
}

static int review_row(void *ctx, const struct temper_review *r)
{
    struct status *s = ctx;
    char id[32];
    snprintf(id, sizeof id, "%lld", r->id);
    raw(s, "<tr>");
    cell(s, "td", NULL, id);
    cell(s, "td", NULL, r->image);
    cell(s, "td", NULL, r->version);
    time_cell(s, r->created_at);
    cell(s, "td", NULL, r->summary);
    raw(s, "</tr>\n");
    return 0;
}

static int reviews_section(struct status *s)
{
    struct temper_store *st = &s->rt->store;
    raw(s, "<h2 id=\"reviews\">Pending reviews</h2>\n<table>\n<tr><th>Id</th><th>Image</th>"
           "<th>Version</th><th>Opened</th><th>Summary</th></tr>\n");
    int rc = st->ops->review_list(st->state, 1u << TEMPER_REVIEW_OPEN, review_row, s);
    raw(s, "</table>\n");
    return rc;
}

static void sla_row(struct status *s, const struct temper_sla_item *it)
{
    raw(s, it->breach ? "<tr class=\"breach\">" : "<tr>");
    cell(s, "td", NULL, it->image);
    cell(s, "td", NULL, it->vuln);
    cell(s, "td", NULL, it->summary);
    cell(s, "td", NULL, it->package);
    cell(s, "td", NULL, it->installed);
    cell(s, "td", NULL, it->fixed);
    cell(s, "td", NULL, it->severity);
    time_cell(s, it->known);
    time_cell(s, it->fix_available);
    time_cell(s, it->closed);
    time_cell(s, it->deadline);
    cell(s, "td", it->breach ? "fail" : it->closed ? "ok" : NULL,
         it->breach ? (it->closed ? "closed late" : "open, overdue")
                    : it->closed ? "closed" : "open");
    raw(s, "</tr>\n");
}

static int sla_section(struct status *s)
{
    struct temper_sla_report r;
    int rc = temper_sla_compute(s->rt, NULL, s->now, &r);
    char line[160];
    snprintf(line, sizeof line, "%zu item(s): %zu open, %zu closed, %zu breach(es)", r.n,
             r.n_open, r.n - r.n_open, r.n_breach);
    raw(s, "<h2 id=\"sla\">Vulnerability SLA</h2>\n");
    cell(s, "p", r.n_breach ? "fail" : "ok", line);
    raw(s, "<table id=\"sla-table\">\n<tr><th>Image</th><th>Vulnerability</th><th>Summary</th>"
           "<th>Package</th><th>Installed</th><th>Fixed in</th><th>Severity</th>"
           "<th>Known</th><th>Fix available</th><th>Fixed image published</th>"
           "<th>Deadline</th><th>State</th></tr>\n");
    for (size_t i = 0; rc == TEMPER_OK && i < r.n; i++) {
        sla_row(s, &r.items[i]);
    }
    raw(s, "</table>\n");
    temper_sla_report_cleanup(&r);
    return rc;
}

int temper_status_write_html(struct temper_runtime *rt, long long now, FILE *f)
{
    struct status s;
    memset(&s, 0, sizeof s);
    s.rt = rt;
    s.f = f;
    s.now = now;
    char ts[40];
    temper_sla_time(now, ts, sizeof ts);
    int rc = collect(&s);
    if (rc == TEMPER_OK) {
        raw(&s, page_head);
        raw(&s, "<h1>temper status</h1>\n<p>Pipeline ");
        cell(&s, "code", NULL, rt->cfg->path);
        raw(&s, ", generated ");
        temper_html_text(f, ts);
        raw(&s, "</p>\n");
        rc = images_section(&s);
    }
    if (rc == TEMPER_OK) {
        graph_section(&s);
        rc = runs_section(&s);
    }
    rc = rc == TEMPER_OK ? reviews_section(&s) : rc;
    rc = rc == TEMPER_OK ? sla_section(&s) : rc;
    if (rc == TEMPER_OK) {
        raw(&s, "</body>\n</html>\n");
    }
    for (size_t i = 0; i < RUNS_SHOWN; i++) {
        run_copy_free(&s.ring[i]);
    }
    for (size_t i = 0; s.imgs && i < rt->cfg->n_images; i++) {
        run_copy_free(&s.imgs[i].last);
        run_copy_free(&s.imgs[i].last_ok);
        free(s.imgs[i].pinned);
        free(s.imgs[i].digest);
    }
    free(s.imgs);
    json_object_put(s.by_name);
    return rc == TEMPER_OK && ferror(f) ? TEMPER_EIO : rc;
}

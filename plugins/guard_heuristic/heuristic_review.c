/* guard_heuristic — the walk over commits, files and hunks, and the finding
 * collection the rules write into. */
#include "heuristic.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FINDINGS_MAX 2000
#define EVIDENCE_MAX 600
#define MESSAGE_MAX 300

/* Per-file data shared by the hunks of one file: the views, and the code
 * and shapes of its added lines, sorted for binary search (built on first
 * use). */
struct fileviews {
    struct hunkview *v;
    size_t n;
    const char **added;
    size_t n_added;
    bool added_built;
    char **shapes;
    size_t n_shapes;
    bool shapes_built;
};

/* ---- findings ------------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void push(struct hctx *cx, struct hfinding *f)
{
    if (cx->nf >= FINDINGS_MAX) {
        cx->dropped++;
        cx->dropped_blocking += (int)f->sev >= cx->block_at && f->confidence >= cx->min_conf;
        goto drop;
    }
    if (cx->nf == cx->capf) {
        size_t ncap = cx->capf ? cx->capf * 2 : 32;
        struct hfinding *v = realloc(cx->f, ncap * sizeof *v);
        if (!v) {
            cx->rc = TEMPER_ENOMEM;
            goto drop;
        }
        cx->f = v;
        cx->capf = ncap;
    }
    cx->f[cx->nf++] = *f;
    return;
drop:
    free(f->file);
    free(f->commit);
    free(f->message);
    free(f->evidence);
}

static void vadd(struct hctx *cx, enum rule_id r, enum temper_severity sev, int conf,
                 const char *file, long line, const char *commit, const char *evidence,
                 const char *fmt, va_list ap) TEMPER_PRINTF(9, 0);

static void vadd(struct hctx *cx, enum rule_id r, enum temper_severity sev, int conf,
                 const char *file, long line, const char *commit, const char *evidence,
                 const char *fmt, va_list ap)
{
    char msg[MESSAGE_MAX];
    char ev[EVIDENCE_MAX];
    if (!cx->enabled[r]) {
        return;
    }
    /* code-level rules on test code: tests do not ship; supply-chain rules
     * keep their weight there (the xz backdoor hid in test files) */
    if (r <= R_LEAK_ON_ERROR && r != R_VERIFY_DISABLED && (cx->roles & ROLE_TEST) &&
        sev > TEMPER_SEV_LOW && cx->file) {
        sev = TEMPER_SEV_LOW;
    }
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0) {
        msg[0] = '\0';
    }
    snprintf(ev, sizeof ev, "%s", evidence ? evidence : "");
    struct hfinding f = { .rule = r, .sev = sev, .confidence = conf, .line = line,
                          .file = dup_or_null(file), .commit = dup_or_null(commit),
                          .message = strdup(msg), .evidence = strdup(ev) };
    if ((file && !f.file) || (commit && !f.commit) || !f.message || !f.evidence) {
        cx->rc = TEMPER_ENOMEM;
        free(f.file);
        free(f.commit);
        free(f.message);
        free(f.evidence);
        return;
    }
    push(cx, &f);
}

void heur_add(struct hctx *cx, enum rule_id r, enum temper_severity sev, int conf, size_t i,
              const char *evidence, const char *fmt, ...)
{
    char ev[EVIDENCE_MAX];
    const struct hunkview *hv = cx->hv;
    long line = 0;
    if (hv && i < hv->n) {
        line = heur_view_line_no(hv, i);
        if (!evidence) {
            snprintf(ev, sizeof ev, "%c%.*s", hv->v[i].op,
                     (int)(hv->v[i].raw_len < 400 ? hv->v[i].raw_len : 400), hv->v[i].raw);
            evidence = ev;
        }
    }
    va_list ap;
    va_start(ap, fmt);
    vadd(cx, r, sev, conf, cx->file ? cx->file->path : NULL, line,
         cx->commit ? cx->commit->sha : NULL, evidence, fmt, ap);
    va_end(ap);
}

void heur_add_at(struct hctx *cx, enum rule_id r, enum temper_severity sev, int conf,
                 const char *file, long line, const char *commit, const char *evidence,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(cx, r, sev, conf, file, line, commit, evidence, fmt, ap);
    va_end(ap);
}

bool heur_commit_has(const struct hctx *cx, const char *sha, enum rule_id r,
                     enum temper_severity sev)
{
    for (size_t i = 0; i < cx->nf; i++) {
        const struct hfinding *f = &cx->f[i];
        bool same = (!sha && !f->commit) || (sha && f->commit && strcmp(sha, f->commit) == 0);
        if (same && f->rule == r && f->sev >= sev) {
            return true;
        }
    }
    return false;
}

/* ---- lines added anywhere in the current file -------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool sorted_has(const char *const *v, size_t n, const char *s)
{
    return n && bsearch(&s, v, n, sizeof *v, cmp_str) != NULL;
}

static size_t added_lines(const struct fileviews *fv)
{
    size_t total = 0;
    for (size_t h = 0; h < fv->n; h++) {
        total += fv->v[h].n;
    }
    return total;
}

static void build_added(struct fileviews *fv, int *rc)
{
    fv->added_built = true;
    fv->added = calloc(added_lines(fv) + 1, sizeof *fv->added);
    if (!fv->added) {
        *rc = TEMPER_ENOMEM;
        return;
    }
    for (size_t h = 0; h < fv->n; h++) {
        for (size_t i = 0; i < fv->v[h].n; i++) {
            if (fv->v[h].v[i].op == '+' && *fv->v[h].v[i].code) {
                fv->added[fv->n_added++] = fv->v[h].v[i].code;
            }
        }
    }
    qsort(fv->added, fv->n_added, sizeof *fv->added, cmp_str);
}

static void build_shapes(struct fileviews *fv, int *rc)
{
    fv->shapes_built = true;
    if (!fv->added_built) {
        build_added(fv, rc);
    }
    fv->shapes = calloc(fv->n_added + 1, sizeof *fv->shapes);
    if (!fv->shapes) {
        *rc = TEMPER_ENOMEM;
        return;
    }
    for (size_t i = 0; i < fv->n_added; i++) {
        char *s = heur_shape(fv->added[i]);
        if (!s) {
            *rc = TEMPER_ENOMEM;
            return;
        }
        fv->shapes[fv->n_shapes++] = s;
    }
    qsort(fv->shapes, fv->n_shapes, sizeof *fv->shapes, cmp_str);
}

bool heur_file_adds_line(struct hctx *cx, const char *code)
{
    struct fileviews *fv = cx->fv;
    if (fv && !fv->added_built) {
        build_added(fv, &cx->rc);
    }
    return fv && sorted_has(fv->added, fv->n_added, code);
}

bool heur_file_adds_shape(struct hctx *cx, const char *shape)
{
    struct fileviews *fv = cx->fv;
    if (fv && !fv->shapes_built) {
        build_shapes(fv, &cx->rc);
    }
    return fv && sorted_has((const char *const *)fv->shapes, fv->n_shapes, shape);
}

/* ---- the walk ---------------------------------------------------------------------- */

static void fileviews_free(struct fileviews *fv)
{
    for (size_t h = 0; h < fv->n; h++) {
        heur_view_free(&fv->v[h]);
    }
    for (size_t i = 0; i < fv->n_shapes; i++) {
        free(fv->shapes[i]);
    }
    free(fv->shapes);
    free(fv->added);
    free(fv->v);
    memset(fv, 0, sizeof *fv);
}

static int review_file(struct hctx *cx, const struct temper_patch_file *f)
{
    struct fileviews fv;
    memset(&fv, 0, sizeof fv);
    cx->file = f;
    cx->lang = heur_lang(f->path);
    cx->roles = heur_roles(f->path);
    if (f->binary || f->n_hunks == 0) {
        return TEMPER_OK;
    }
    fv.v = calloc(f->n_hunks, sizeof *fv.v);
    if (!fv.v) {
        return TEMPER_ENOMEM;
    }
    int rc = TEMPER_OK;
    for (size_t h = 0; rc == TEMPER_OK && h < f->n_hunks; h++) {
        rc = heur_view_build(&fv.v[h], f->hunks[h], cx->lang);
        fv.n += rc == TEMPER_OK;
    }
    cx->fv = &fv;
    for (size_t h = 0; rc == TEMPER_OK && h < fv.n; h++) {
        cx->hunk = f->hunks[h];
        cx->hv = &fv.v[h];
        heur_rules_checks(cx);
        heur_rules_failures(cx);
        heur_rules_jumps(cx);
        heur_rules_resources(cx);
        heur_rules_supply(cx);
        rc = cx->rc;
    }
    cx->fv = NULL;
    cx->hv = NULL;
    cx->hunk = NULL;
    fileviews_free(&fv);
    return rc;
}

int heur_walk(struct hctx *cx)
{
    for (size_t c = 0; c < cx->set->n_commits; c++) {
        cx->commit = cx->set->commits[c];
        for (size_t i = 0; i < cx->commit->n_files; i++) {
            if (temper_stage_cancelled(cx->st)) {
                return TEMPER_ECANCEL;
            }
            int rc = review_file(cx, cx->commit->files[i]);
            if (rc != TEMPER_OK) {
                return rc;
            }
        }
    }
    cx->commit = NULL;
    cx->file = NULL;
    return TEMPER_OK;
}

void heur_findings_free(struct hctx *cx)
{
    for (size_t i = 0; i < cx->nf; i++) {
        free(cx->f[i].file);
        free(cx->f[i].commit);
        free(cx->f[i].message);
        free(cx->f[i].evidence);
    }
    free(cx->f);
    cx->f = NULL;
    cx->nf = cx->capf = 0;
}

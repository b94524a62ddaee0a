/* guard_heuristic — one review: read the diff, gather known authors, run the
 * rules, record the findings, decide, and learn the authors. */
#include "heuristic.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_KEY_MAX 256

/* "authors/<upstream>" for the change (upstream, package or image). */
static void state_key(const struct temper_artifact *change, char *key, size_t cap)
{
    const char *up = NULL;
    static const char *const attrs[] = { TEMPER_ATTR_UPSTREAM, TEMPER_ATTR_PACKAGE,
                                         TEMPER_ATTR_IMAGE, NULL };
    for (size_t i = 0; change && attrs[i] && !up; i++) {
        up = temper_artifact_get(change, attrs[i]);
    }
    snprintf(key, cap, "authors/%.200s", up && *up ? up : "default");
}

/* Authors learnt for this upstream (an empty set when none or no store). */
static int learnt_authors(struct temper_stage *st, const char *key, struct authors *a)
{
    char *value = NULL;
    int rc = temper_stage_state_get(st, key, &value);
    if (rc == TEMPER_ENOTFOUND || rc == TEMPER_ENOTSUP) {
        return TEMPER_OK;
    }
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "cannot read the known authors of %s: %s", key,
                           temper_rc_str(rc));
    }
    if (heur_authors_parse(a, value) != TEMPER_OK) {
        TEMPER_LOG_WARN(st, "saved known authors of %s are damaged: starting afresh", key);
    }
    free(value);
    return TEMPER_OK;
}

static int merge(struct authors *into, const struct authors *from)
{
    char *dump = heur_authors_dump(from);
    int rc = dump ? heur_authors_parse(into, dump) : TEMPER_ENOMEM;
    free(dump);
    return rc;
}

static void learn(struct temper_stage *st, const char *key, struct authors *learnt,
                  const struct temper_patch_set *ps)
{
    size_t before = heur_authors_count(learnt);
    for (size_t i = 0; i < ps->n_commits; i++) {
        const char *e = ps->commits[i]->author_email;
        if (e && heur_authors_add(learnt, e) == TEMPER_ELIMIT) {
            break;
        }
    }
    if (heur_authors_count(learnt) == before) {
        return;
    }
    char *dump = heur_authors_dump(learnt);
    int rc = dump ? temper_stage_state_put(st, key, dump) : TEMPER_ENOMEM;
    if (rc != TEMPER_OK) {
        TEMPER_LOG_WARN(st, "cannot save the known authors of %s: %s", key, temper_rc_str(rc));
    }
    free(dump);
}

/* ---- recording ----------------------------------------------------------------- */

static int record(struct hctx *cx, enum temper_verdict *verdict)
{
    *verdict = TEMPER_VERDICT_PASS;
    for (size_t i = 0; i < cx->nf; i++) {
        const struct hfinding *h = &cx->f[i];
        struct temper_finding f = { .size = sizeof f, .rule = heur_rules[h->rule].id,
                                    .severity = h->sev, .confidence = h->confidence,
                                    .file = h->file, .line = h->line, .commit = h->commit,
                                    .message = h->message, .evidence = h->evidence };
        int rc = temper_stage_finding(cx->st, &f);
        if (rc != TEMPER_OK) {
            return temper_fail(cx->st, rc, "cannot record a finding: %s", temper_rc_str(rc));
        }
        bool blocks = (int)h->sev >= cx->block_at && h->confidence >= cx->min_conf;
        *verdict = blocks ? TEMPER_VERDICT_BLOCK
                          : *verdict == TEMPER_VERDICT_BLOCK ? *verdict : TEMPER_VERDICT_WARN;
    }
    if (cx->dropped) {
        char msg[160];
        snprintf(msg, sizeof msg, "%zu more findings were not recorded", cx->dropped);
        struct temper_finding f = { .size = sizeof f, .rule = "findings-truncated",
                                    .severity = cx->dropped_blocking ? TEMPER_SEV_HIGH
                                                                     : TEMPER_SEV_INFO,
                                    .confidence = 100, .message = msg, .evidence = "" };
        int rc = temper_stage_finding(cx->st, &f);
        if (rc != TEMPER_OK) {
            return temper_fail(cx->st, rc, "cannot record a finding: %s", temper_rc_str(rc));
        }
        *verdict = cx->dropped_blocking ? TEMPER_VERDICT_BLOCK : *verdict;
    }
    return TEMPER_OK;
}

/* ---- the review --------------------------------------------------------------------- */

static int parse_diff(struct temper_stage *st, const struct heur_conf *c,
                      const struct temper_artifact *diff, struct temper_patch_set **ps)
{
    struct temper_patch_limits lim = { .size = sizeof lim,
                                       .max_bytes = (size_t)c->max_patch_size };
    const char *path = diff ? temper_artifact_path(diff) : NULL;
    size_t len = 0;
    const void *data = diff ? temper_artifact_data(diff, &len) : NULL;
    if (!diff || temper_artifact_type(diff) != TEMPER_ART_DIFF) {
        return temper_fail(st, TEMPER_EINVAL, "no diff artifact to review");
    }
    if (path) {
        return temper_patch_parse_file(st, path, &lim, ps);
    }
    if (!data) {
        return temper_fail(st, TEMPER_EINVAL, "diff artifact %s has neither a path nor data",
                           temper_artifact_name(diff) ? temper_artifact_name(diff) : "(unnamed)");
    }
    return temper_patch_parse(st, temper_artifact_name(diff), data, len, &lim, ps);
}

static void init_ctx(struct hctx *cx, const struct heur_state *s, struct temper_stage *st,
                     const struct temper_patch_set *ps)
{
    memset(cx, 0, sizeof *cx);
    cx->st = st;
    cx->conf = s->conf;
    cx->set = ps;
    cx->block_at = s->conf->block_at;
    cx->min_conf = (int)s->conf->min_confidence;
    memcpy(cx->enabled, s->enabled, sizeof cx->enabled);
}

static const char *verdict_name(enum temper_verdict v)
{
    return v == TEMPER_VERDICT_BLOCK ? "block" : v == TEMPER_VERDICT_WARN ? "warn" : "pass";
}

int heur_review(void *state, struct temper_stage *st, const struct temper_artifact *change,
                const struct temper_artifact *diff, enum temper_verdict *verdict)
{
    struct heur_state *s = state;
    struct temper_patch_set *ps = NULL;
    struct authors *learnt = heur_authors_new(), *known = heur_authors_new();
    struct hctx cx;
    char key[STATE_KEY_MAX];
    int rc;

    memset(&cx, 0, sizeof cx);
    *verdict = TEMPER_VERDICT_NONE;
    if (!s || !learnt || !known) {
        rc = temper_fail(st, TEMPER_ENOMEM, "out of memory");
        goto out;
    }
    state_key(change, key, sizeof key);
    rc = parse_diff(st, s->conf, diff, &ps);
    if (rc == TEMPER_OK) {
        rc = learnt_authors(st, key, learnt);
    }
    if (rc == TEMPER_OK && (merge(known, learnt) != TEMPER_OK ||
                            merge(known, s->file_authors) != TEMPER_OK)) {
        rc = temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    if (rc != TEMPER_OK) {
        goto out;
    }
    init_ctx(&cx, s, st, ps);
    rc = heur_walk(&cx);
    if (rc == TEMPER_OK) {
        heur_rules_people(&cx, known, heur_authors_count(known) > 0);
        rc = cx.rc;
    }
    if (rc != TEMPER_OK) {
        rc = rc == TEMPER_ECANCEL ? temper_fail(st, rc, "review cancelled")
                                  : temper_fail(st, rc, "review failed: %s", temper_rc_str(rc));
        goto out;
    }
    rc = record(&cx, verdict);
    if (rc == TEMPER_OK && *verdict != TEMPER_VERDICT_BLOCK && s->conf->learn_authors) {
        learn(st, key, learnt, ps);
    }
    TEMPER_LOG_INFO(st, "reviewed %zu commits, %zu files, %zu hunks: %zu findings, %s",
                    ps->n_commits, ps->n_files, ps->n_hunks, cx.nf + cx.dropped,
                    verdict_name(*verdict));
out:
    if (rc != TEMPER_OK) {
        *verdict = TEMPER_VERDICT_NONE;
    }
    heur_findings_free(&cx);
    temper_patch_set_free(ps);
    heur_authors_free(learnt);
    heur_authors_free(known);
    return rc;
}

/* temper — builder_apk: the package closure of an image's world.
 *
 * A breadth-first walk over the dependencies: each one is checked against
 * the packages chosen so far, and only when none satisfies it is a new
 * package chosen, by the fixed order documented at apk_resolve() in
 * apk_int.h.  There is no backtracking: apk's own solver would sometimes
 * find a different combination where this one reports a conflict, but for a
 * given index and world the result (or the error) is always the same.
 * install_if (i:) is not followed: an image gets exactly its closure. */
#include "config.h"
#include "apk_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RS_MAX_CANDIDATES 4096
#define RS_MAX_QUEUE 1000000

struct rs_dep {
    const struct temper_dep *d;
    size_t from;                     /* pick index or APK_WORLD */
};

struct rs_cand {
    const struct temper_apkpkg *pkg;
    size_t repo;
    const char *pversion;            /* version it provides the name at */
    bool exact;                      /* the package carries the name itself */
};

struct rs {
    struct temper_stage *st;
    const struct apk_repo *repos;
    size_t n_repos;
    const char *arch;
    struct apk_plan *plan;
    struct temper_deps **lists;      /* parsed world lists (owned) */
    size_t n_lists, cap_lists;
    struct rs_dep *q;
    size_t qn, qcap, qhead;
    struct rs_dep *conflicts;
    size_t cn, ccap;
    struct rs_cand *cand;
    size_t n_cand;
};

bool apk_token_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 255 && s[0] != '.' && s[0] != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") == n;
}

void *apk_grow(void *v, size_t *cap, size_t n, size_t elem, size_t max, int *rc)
{
    *rc = TEMPER_OK;
    if (n < *cap) {
        return v;
    }
    size_t nc = *cap ? *cap * 2 : 32;
    nc = nc < max ? nc : max;
    if (n >= nc || nc > SIZE_MAX / elem) {
        *rc = TEMPER_ELIMIT;
        return NULL;
    }
    void *nv = realloc(v, nc * elem);
    if (!nv) {
        *rc = TEMPER_ENOMEM;
        return NULL;
    }
    *cap = nc;
    return nv;
}

static const char *op_text(enum temper_dep_op op)
{
    static const char *const ops[] = { "", "<", "<=", "=", ">=", ">", "~", "><" };
    return (unsigned)op < sizeof ops / sizeof ops[0] ? ops[op] : "?";
}

static void dep_text(const struct temper_dep *d, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s%s", d->conflict ? "!" : "", d->name, op_text(d->op),
             d->op != TEMPER_DEP_ANY && d->version ? d->version : "");
}

void apk_plan_chain(const struct apk_plan *p, size_t i, char *buf, size_t size)
{
    size_t path[APK_MAX_CHAIN];
    size_t n = 0, k = i;
    for (; k != APK_WORLD && n < APK_MAX_CHAIN; k = p->v[k].parent) {
        path[n++] = k;
    }
    int w = snprintf(buf, size, "world%s", k != APK_WORLD ? " -> ..." : "");
    size_t used = w > 0 && (size_t)w < size ? (size_t)w : 0;
    while (n-- > 0 && used < size) {
        const struct temper_apkpkg *pk = p->v[path[n]].pkg;
        w = snprintf(buf + used, size - used, " -> %s-%s", pk->name, pk->version);
        used += w > 0 ? (size_t)w : 0;
    }
}

/* Does package pk (with parsed provides) satisfy d (its name part)? */
static bool satisfies(const struct temper_apkpkg *pk, const struct temper_deps *prov,
                      const struct temper_dep *d)
{
    if (strcmp(pk->name, d->name) == 0 &&
        temper_dep_version_ok(TEMPER_VSCHEME_APK, d, pk->version)) {
        return true;
    }
    for (size_t i = 0; prov && i < prov->n; i++) {
        const struct temper_dep *p = &prov->v[i];
        if (strcmp(p->name, d->name) != 0) {
            continue;
        }
        if (d->op == TEMPER_DEP_ANY ||
            (p->version && temper_dep_version_ok(TEMPER_VSCHEME_APK, d, p->version))) {
            return true;
        }
    }
    return false;
}

static int push_dep(struct rs *r, const struct temper_dep *d, size_t from)
{
    int rc;
    struct rs_dep *nv = apk_grow(r->q, &r->qcap, r->qn, sizeof *r->q, RS_MAX_QUEUE, &rc);
    if (!nv) {
        return temper_fail(r->st, rc, "apk resolver: too many dependencies");
    }
    r->q = nv;
    r->q[r->qn++] = (struct rs_dep){ d, from };
    return TEMPER_OK;
}

static int push_deps(struct rs *r, const struct temper_deps *deps, size_t from)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; deps && rc == TEMPER_OK && i < deps->n; i++) {
        rc = push_dep(r, &deps->v[i], from);
    }
    return rc;
}

static int parse_list(struct temper_stage *st, const char *what, const char *text,
                      struct temper_deps **out)
{
    *out = NULL;
    if (!text || !*text) {
        return TEMPER_OK;
    }
    int rc = temper_apk_deps_parse(st, text, out);
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "apk resolver: cannot parse %s \"%.200s\"", what, text);
    }
    return TEMPER_OK;
}

/* The chosen package of this name, or SIZE_MAX. */
static size_t picked_name(const struct apk_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].pkg->name, name) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

static size_t picked_satisfying(const struct apk_plan *p, const struct temper_dep *d)
{
    for (size_t i = 0; i < p->n; i++) {
        if (satisfies(p->v[i].pkg, p->v[i].provides, d)) {
            return i;
        }
    }
    return SIZE_MAX;
}

static int fail_chain(struct rs *r, size_t from, const struct temper_dep *d, const char *why)
{
    char chain[2048], dt[512];
    apk_plan_chain(r->plan, from, chain, sizeof chain);
    dep_text(d, dt, sizeof dt);
    return temper_fail(r->st, TEMPER_ENOTFOUND, "unsatisfiable dependency: %s -> %s: %s", chain,
                       dt, why);
}

/* A conflict "!name": fail when a chosen package matches, else remember it. */
static int add_conflict(struct rs *r, const struct rs_dep *c)
{
    size_t hit = picked_satisfying(r->plan, c->d);
    if (hit != SIZE_MAX) {
        char chain[2048], other[2048], dt[512];
        apk_plan_chain(r->plan, c->from, chain, sizeof chain);
        apk_plan_chain(r->plan, hit, other, sizeof other);
        dep_text(c->d, dt, sizeof dt);
        return temper_fail(r->st, TEMPER_ENOTFOUND, "conflict: %s -> %s, but %s is chosen",
                           chain, dt, other);
    }
    int rc;
    struct rs_dep *nv = apk_grow(r->conflicts, &r->ccap, r->cn, sizeof *nv, RS_MAX_QUEUE, &rc);
    if (!nv) {
        return temper_fail(r->st, rc, "apk resolver: too many conflicts");
    }
    r->conflicts = nv;
    r->conflicts[r->cn++] = *c;
    return TEMPER_OK;
}

static bool arch_ok(const struct rs *r, const struct temper_apkpkg *pk)
{
    return !pk->arch || strcmp(pk->arch, r->arch) == 0 || strcmp(pk->arch, "noarch") == 0;
}

static void add_cand(struct rs *r, const struct temper_apkpkg *pk, size_t repo,
                     const char *pversion, bool exact)
{
    if (r->n_cand < RS_MAX_CANDIDATES) {
        r->cand[r->n_cand++] = (struct rs_cand){ pk, repo, pversion, exact };
    }
}

/* Every package named d->name or providing it (version constraint checked). */
static void gather(struct rs *r, const struct temper_dep *d, size_t *by_name)
{
    r->n_cand = 0;
    *by_name = 0;
    for (size_t k = 0; k < r->n_repos; k++) {
        const struct temper_apkpkg *pk = temper_apkindex_find(r->repos[k].idx, d->name);
        for (; pk; pk = pk->next_same_name) {
            (*by_name)++;
            if (temper_dep_version_ok(TEMPER_VSCHEME_APK, d, pk->version)) {
                add_cand(r, pk, k, pk->version, true);
            }
        }
        const struct temper_apkprov *pv = temper_apkindex_providers(r->repos[k].idx, d->name);
        for (; pv; pv = pv->next) {
            (*by_name)++;
            bool ok = d->op == TEMPER_DEP_ANY ||
                      (pv->version &&
                       temper_dep_version_ok(TEMPER_VSCHEME_APK, d, pv->version));
            if (ok && strcmp(pv->pkg->name, d->name) != 0) {
                add_cand(r, pv->pkg, k, pv->version ? pv->version : pv->pkg->version, false);
            }
        }
    }
}

static int cand_cmp(const void *pa, const void *pb)
{
    const struct rs_cand *a = pa, *b = pb;
    if (a->exact != b->exact) {
        return a->exact ? -1 : 1;
    }
    if (a->pkg->provider_priority != b->pkg->provider_priority) {
        return a->pkg->provider_priority > b->pkg->provider_priority ? -1 : 1;
    }
    int c = temper_apk_cmp(b->pversion, a->pversion);
    if (c == 0) {
        c = strcmp(a->pkg->name, b->pkg->name);
    }
    if (c == 0) {
        c = temper_apk_cmp(b->pkg->version, a->pkg->version);
    }
    if (c == 0 && a->repo != b->repo) {
        c = a->repo < b->repo ? -1 : 1;
    }
    if (c == 0 && a->pkg->line != b->pkg->line) {
        c = a->pkg->line < b->pkg->line ? -1 : 1;
    }
    return c;
}

/* "a-1, a-2" of the packages named like d (at most a few), for messages. */
static void available(const struct rs *r, const struct temper_dep *d, char *buf, size_t size)
{
    size_t used = 0, shown = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < r->n_repos && shown < 6; k++) {
        const struct temper_apkpkg *pk = temper_apkindex_find(r->repos[k].idx, d->name);
        for (; pk && shown < 6 && used < size; pk = pk->next_same_name, shown++) {
            int w = snprintf(buf + used, size - used, "%s%s-%s", shown ? ", " : "", pk->name,
                             pk->version);
            used += w > 0 ? (size_t)w : 0;
        }
        const struct temper_apkprov *pv = temper_apkindex_providers(r->repos[k].idx, d->name);
        for (; pv && shown < 6 && used < size; pv = pv->next, shown++) {
            int w = snprintf(buf + used, size - used, "%s%s%s%s (from %s-%s)", shown ? ", " : "",
                             pv->name, pv->version ? "=" : "", pv->version ? pv->version : "",
                             pv->pkg->name, pv->pkg->version);
            used += w > 0 ? (size_t)w : 0;
        }
    }
}

/* Why candidate c cannot be chosen (into why), or false when it can. */
static bool blocked(const struct rs *r, const struct rs_cand *c, const struct temper_deps *prov,
                    const struct temper_deps *deps, char *why, size_t size)
{
    const struct apk_plan *p = r->plan;
    char chain[1024], dt[256];
    if (!arch_ok(r, c->pkg)) {
        snprintf(why, size, "%.200s-%.100s is built for %.50s, not %.50s", c->pkg->name, c->pkg->version,
                 c->pkg->arch, r->arch);
        return true;
    }
    size_t same = picked_name(p, c->pkg->name);
    if (same != SIZE_MAX) {
        apk_plan_chain(p, same, chain, sizeof chain);
        snprintf(why, size, "it needs %.200s-%.100s but %.600s is chosen", c->pkg->name, c->pkg->version,
                 chain);
        return true;
    }
    for (size_t i = 0; i < r->cn; i++) {
        if (satisfies(c->pkg, prov, r->conflicts[i].d)) {
            apk_plan_chain(p, r->conflicts[i].from, chain, sizeof chain);
            dep_text(r->conflicts[i].d, dt, sizeof dt);
            snprintf(why, size, "%.100s-%.50s is excluded by %.600s -> %.200s", c->pkg->name, c->pkg->version,
                     chain, dt);
            return true;
        }
    }
    for (size_t i = 0; deps && i < deps->n; i++) {
        size_t hit = deps->v[i].conflict ? picked_satisfying(p, &deps->v[i]) : SIZE_MAX;
        if (hit != SIZE_MAX) {
            apk_plan_chain(p, hit, chain, sizeof chain);
            dep_text(&deps->v[i], dt, sizeof dt);
            snprintf(why, size, "%.100s-%.50s has %.200s but %.600s is chosen", c->pkg->name, c->pkg->version,
                     dt, chain);
            return true;
        }
    }
    return false;
}

static int take(struct rs *r, const struct rs_cand *c, const struct rs_dep *q,
                struct temper_deps **prov, struct temper_deps **deps)
{
    struct apk_plan *p = r->plan;
    int rc;
    struct apk_pick *nv = apk_grow(p->v, &p->cap, p->n, sizeof *nv, APK_MAX_PACKAGES, &rc);
    if (!nv) {
        return rc == TEMPER_ELIMIT ? temper_fail(r->st, rc, "apk resolver: more than %d "
                                                 "packages", APK_MAX_PACKAGES)
                                   : temper_fail(r->st, rc, "apk resolver: out of memory");
    }
    p->v = nv;
    char dt[512];
    dep_text(q->d, dt, sizeof dt);
    struct apk_pick *k = &p->v[p->n];
    *k = (struct apk_pick){ c->pkg, c->repo, q->from, strdup(dt), *prov, *deps };
    *prov = NULL;
    *deps = NULL;
    p->n++;
    if (!k->why) {
        return temper_fail(r->st, TEMPER_ENOMEM, "apk resolver: out of memory");
    }
    return push_deps(r, k->depends, p->n - 1);
}

/* Does candidate c satisfy every dependency still waiting in the queue
 * that names its package?  ("lib>1 lib<3" then gets one lib both accept.) */
static bool agrees(const struct rs *r, const struct rs_cand *c)
{
    for (size_t i = r->qhead; i < r->qn; i++) {
        const struct temper_dep *d = r->q[i].d;
        if (!d->conflict && strcmp(d->name, c->pkg->name) == 0 &&
            !temper_dep_version_ok(TEMPER_VSCHEME_APK, d, c->pkg->version)) {
            return false;
        }
    }
    return true;
}

/* Try the sorted candidates in order, those that agree with the waiting
 * dependencies first; the first that is not blocked wins. */
static int choose(struct rs *r, const struct rs_dep *q)
{
    char why[1024] = "";
    for (size_t k = 0; k < 2 * r->n_cand; k++) {
        const struct rs_cand *c = &r->cand[k % r->n_cand];
        if (agrees(r, c) != (k < r->n_cand)) {
            continue;
        }
        struct temper_deps *prov = NULL, *deps = NULL;
        int rc = parse_list(r->st, "provides", c->pkg->provides, &prov);
        rc = rc == TEMPER_OK ? parse_list(r->st, "depends", c->pkg->depends, &deps) : rc;
        if (rc == TEMPER_OK && !blocked(r, c, prov, deps, why, sizeof why)) {
            rc = take(r, c, q, &prov, &deps);
            temper_deps_free(prov);
            temper_deps_free(deps);
            return rc;
        }
        temper_deps_free(prov);
        temper_deps_free(deps);
        if (rc != TEMPER_OK) {
            return rc;
        }
    }
    return fail_chain(r, q->from, q->d, why);
}

static int resolve_dep(struct rs *r, const struct rs_dep *q)
{
    if (q->d->conflict) {
        return add_conflict(r, q);
    }
    if (picked_satisfying(r->plan, q->d) != SIZE_MAX) {
        return TEMPER_OK;
    }
    size_t by_name = 0;
    gather(r, q->d, &by_name);
    if (r->n_cand == 0) {
        char have[1024], why[1200];
        available(r, q->d, have, sizeof have);
        if (by_name) {
            snprintf(why, sizeof why, "no version matches (there is %s)", have);
        } else {
            snprintf(why, sizeof why, "no package is or provides %s", q->d->name);
        }
        return fail_chain(r, q->from, q->d, why);
    }
    qsort(r->cand, r->n_cand, sizeof r->cand[0], cand_cmp);
    return choose(r, q);
}

/* ---- install order ------------------------------------------------------------- */

struct ord_frame {
    size_t pick;
    size_t next;                     /* next dependency to look at */
};

static int by_name(const void *pa, const void *pb, void *ctx)
{
    const struct apk_plan *p = ctx;
    return strcmp(p->v[*(const size_t *)pa].pkg->name, p->v[*(const size_t *)pb].pkg->name);
}

/* Depth first from each package (in name order), dependencies before the
 * package that needs them; a cycle is cut where it closes. */
static int install_order(struct temper_stage *st, struct apk_plan *p)
{
    size_t *roots = calloc(p->n ? p->n : 1, sizeof *roots);
    unsigned char *mark = calloc(p->n ? p->n : 1, 1);
    struct ord_frame *stack = calloc(p->n ? p->n : 1, sizeof *stack);
    p->order = calloc(p->n ? p->n : 1, sizeof *p->order);
    if (!roots || !mark || !stack || !p->order) {
        free(roots);
        free(mark);
        free(stack);
        return temper_fail(st, TEMPER_ENOMEM, "apk resolver: out of memory");
    }
    for (size_t i = 0; i < p->n; i++) {
        roots[i] = i;
    }
    qsort_r(roots, p->n, sizeof *roots, by_name, p);
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        size_t top = 0;
        if (mark[roots[i]]) {
            continue;
        }
        mark[roots[i]] = 1;
        stack[top++] = (struct ord_frame){ roots[i], 0 };
        while (top > 0) {
            struct ord_frame *f = &stack[top - 1];
            const struct temper_deps *d = p->v[f->pick].depends;
            if (!d || f->next >= d->n) {
                p->order[k++] = f->pick;
                top--;
                continue;
            }
            const struct temper_dep *dep = &d->v[f->next++];
            size_t t = dep->conflict ? SIZE_MAX : picked_satisfying(p, dep);
            if (t != SIZE_MAX && !mark[t]) {
                mark[t] = 1;
                stack[top++] = (struct ord_frame){ t, 0 };
            }
        }
    }
    free(roots);
    free(mark);
    free(stack);
    return TEMPER_OK;
}

/* ---- entry points ---------------------------------------------------------------- */

static int world_lists(struct rs *r, const struct temper_strlist *world)
{
    r->lists = calloc(world->n ? world->n : 1, sizeof *r->lists);
    if (!r->lists) {
        return temper_fail(r->st, TEMPER_ENOMEM, "apk resolver: out of memory");
    }
    r->cap_lists = world->n;
    for (size_t i = 0; i < world->n; i++) {
        int rc = parse_list(r->st, "world entry", world->v[i], &r->lists[r->n_lists]);
        if (rc != TEMPER_OK) {
            return rc;
        }
        rc = push_deps(r, r->lists[r->n_lists++], APK_WORLD);
        if (rc != TEMPER_OK) {
            return rc;
        }
    }
    return TEMPER_OK;
}

int apk_resolve(struct temper_stage *st, const struct apk_repo *repos, size_t n_repos,
                const char *arch, const struct temper_strlist *world, struct apk_plan *out)
{
    memset(out, 0, sizeof *out);
    struct rs r = { .st = st, .repos = repos, .n_repos = n_repos, .arch = arch, .plan = out };
    r.cand = calloc(RS_MAX_CANDIDATES, sizeof *r.cand);
    int rc = r.cand ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "apk resolver: out of memory");
    if (rc == TEMPER_OK && (!world || world->n == 0)) {
        rc = temper_fail(st, TEMPER_EINVAL, "apk resolver: the image names no packages");
    }
    if (rc == TEMPER_OK) {
        rc = world_lists(&r, world);
    }
    while (rc == TEMPER_OK && r.qhead < r.qn) {
        struct rs_dep q = r.q[r.qhead++];
        rc = resolve_dep(&r, &q);
    }
    if (rc == TEMPER_OK) {
        rc = install_order(st, out);
    }
    for (size_t i = 0; i < r.n_lists; i++) {
        temper_deps_free(r.lists[i]);
    }
    free(r.lists);
    free(r.q);
    free(r.conflicts);
    free(r.cand);
    return rc;
}

void apk_plan_cleanup(struct apk_plan *p)
{
    if (!p) {
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].why);
        temper_deps_free(p->v[i].provides);
        temper_deps_free(p->v[i].depends);
    }
    free(p->v);
    free(p->order);
    memset(p, 0, sizeof *p);
}

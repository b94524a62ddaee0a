/* temper — builder_deb: the package closure.
 *
 * Depth first from the image's packages, in the order given:
 *  - Pre-Depends, then Depends (Recommends and Suggests are not followed;
 *    Conflicts and Breaks are not checked: nothing is configured);
 *  - a group of alternatives is satisfied by a package already selected if
 *    one fits, else by the first alternative that can be installed with its
 *    own closure (the attempt is rolled back when that closure fails);
 *  - a name is satisfied by the real package of that name (highest version
 *    meeting the constraint, dpkg ordering), else by a package providing it
 *    (a versioned constraint needs a versioned Provides); among several
 *    providers the lowest Priority rank (required first), then the name in
 *    byte order wins;
 *  - architecture: the build's or "all"; "name:any" needs Multi-Arch
 *    allowed or foreign, "name:ARCH" another architecture is not available;
 *  - a dependency on a package marked Essential is taken as satisfied unless
 *    the `essential` option is on (then the whole Essential set is
 *    installed): nothing runs maintainer scripts in the image, which is what
 *    the Essential set is for; packages named in the image are always
 *    installed.
 * A dependency that cannot be met fails with the chain that led to it:
 * "python3-minimal -> libpython3.11-minimal -> libfoo (>= 2): not in the
 * index". */
#include "config.h"
#include "deb.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RES_MAX_DEPTH 256

struct res {
    struct deb_build *b;
    const struct deb_repo *r;
    const struct temper_debpkg **sel;
    size_t n, cap;
    const struct temper_debpkg **hash; /* open addressing by name */
    size_t hcap;
    const char *chain[RES_MAX_DEPTH];
    size_t depth;
    char err[1024];
    bool essential;
};

static size_t name_hash(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

static const struct temper_debpkg *sel_find(const struct res *x, const char *name)
{
    for (size_t i = name_hash(name) & (x->hcap - 1); x->hash[i]; i = (i + 1) & (x->hcap - 1)) {
        if (strcmp(x->hash[i]->name, name) == 0) {
            return x->hash[i];
        }
    }
    return NULL;
}

static void hash_put(struct res *x, const struct temper_debpkg *p)
{
    size_t i = name_hash(p->name) & (x->hcap - 1);
    while (x->hash[i]) {
        i = (i + 1) & (x->hcap - 1);
    }
    x->hash[i] = p;
}

static int sel_add(struct res *x, const struct temper_debpkg *p)
{
    if (x->n >= DEB_MAX_PACKAGES) {
        snprintf(x->err, sizeof x->err, "more than %d packages", DEB_MAX_PACKAGES);
        return TEMPER_ENOTFOUND;
    }
    if (x->n + 1 > x->cap) {
        size_t nc = x->cap * 2;
        const struct temper_debpkg **nv = realloc(x->sel, nc * sizeof *nv);
        const struct temper_debpkg **nh = nv ? calloc(nc * 2, sizeof *nh) : NULL;
        x->sel = nv ? nv : x->sel;
        if (!nh) {
            return TEMPER_ENOMEM;
        }
        x->cap = nc;
        free(x->hash);
        x->hash = nh;
        x->hcap = nc * 2;
        for (size_t i = 0; i < x->n; i++) {
            hash_put(x, x->sel[i]);
        }
    }
    x->sel[x->n++] = p;
    hash_put(x, p);
    return TEMPER_OK;
}

/* Forget the selections after mark. */
static void sel_rollback(struct res *x, size_t mark)
{
    if (mark == x->n) {
        return;
    }
    x->n = mark;
    memset(x->hash, 0, x->hcap * sizeof *x->hash);
    for (size_t i = 0; i < x->n; i++) {
        hash_put(x, x->sel[i]);
    }
}

static bool arch_ok(const struct res *x, const struct temper_debpkg *p)
{
    return p->arch && (strcmp(p->arch, x->b->arch) == 0 || strcmp(p->arch, "all") == 0);
}

static const char *op_str(enum temper_dep_op op)
{
    switch (op) {
    case TEMPER_DEP_LT: return "<<";
    case TEMPER_DEP_LE: return "<=";
    case TEMPER_DEP_EQ: return "=";
    case TEMPER_DEP_GE: return ">=";
    case TEMPER_DEP_GT: return ">>";
    default: return "?";
    }
}

/* "a -> b -> dep (>= 1): why" into x->err. */
static void fail_at(struct res *x, const struct temper_dep *d, const char *why)
{
    size_t o = 0;
    for (size_t i = 0; i < x->depth && o < sizeof x->err; i++) {
        int n = snprintf(x->err + o, sizeof x->err - o, "%s -> ", x->chain[i]);
        o += n > 0 ? (size_t)n : 0;
    }
    if (o >= sizeof x->err) {
        return;
    }
    if (d->op == TEMPER_DEP_ANY) {
        snprintf(x->err + o, sizeof x->err - o, "%s%s%s: %s", d->name, d->arch ? ":" : "",
                 d->arch ? d->arch : "", why);
    } else {
        snprintf(x->err + o, sizeof x->err - o, "%s%s%s (%s %s): %s", d->name,
                 d->arch ? ":" : "", d->arch ? d->arch : "", op_str(d->op), d->version, why);
    }
}

static bool dep_foreign_arch(const struct res *x, const struct temper_dep *d)
{
    return d->arch && strcmp(d->arch, "any") != 0 && strcmp(d->arch, "native") != 0 &&
           strcmp(d->arch, x->b->arch) != 0 && strcmp(d->arch, "all") != 0;
}

static bool ma_any_ok(const struct temper_debpkg *p)
{
    return p->multi_arch &&
           (strcmp(p->multi_arch, "allowed") == 0 || strcmp(p->multi_arch, "foreign") == 0);
}

/* A versioned dependency needs a versioned Provides (Debian policy 7.5). */
static bool prov_ok(const struct temper_dep *d, const struct temper_debprov *v)
{
    return d->op == TEMPER_DEP_ANY ||
           (v->version && temper_dep_version_ok(TEMPER_VSCHEME_DPKG, d, v->version));
}

/* Is d met by what is selected already? */
static bool satisfied(const struct res *x, const struct temper_dep *d)
{
    if (x->b->base && deb_base_satisfies(x->b->base, d) == 1) {
        return true;
    }
    const struct temper_debpkg *p = sel_find(x, d->name);
    if (p && temper_dep_version_ok(TEMPER_VSCHEME_DPKG, d, p->version)) {
        return true;
    }
    for (size_t i = 0; i < x->r->n_idx; i++) {
        for (const struct temper_debprov *v = temper_debindex_providers(x->r->idx[i], d->name);
             v; v = v->next) {
            bool vok = prov_ok(d, v);
            if (vok && sel_find(x, v->pkg->name) == v->pkg) {
                return true;
            }
        }
    }
    return false;
}

static int prio_rank(const char *p)
{
    static const char *const order[] = { "required", "important", "standard", "optional",
                                         "extra", NULL };
    for (int i = 0; p && order[i]; i++) {
        if (strcmp(p, order[i]) == 0) {
            return i;
        }
    }
    return 5;
}

static bool better_provider(const struct temper_debpkg *a, const struct temper_debpkg *b)
{
    if (!b) {
        return true;
    }
    int ra = prio_rank(a->priority), rb = prio_rank(b->priority);
    if (ra != rb) {
        return ra < rb;
    }
    int c = strcmp(a->name, b->name);
    return c != 0 ? c < 0 : temper_dpkg_cmp(a->version, b->version) > 0;
}

static const struct temper_debpkg *best_provider(const struct res *x, const struct temper_dep *d)
{
    const struct temper_debpkg *best = NULL;
    for (size_t i = 0; i < x->r->n_idx; i++) {
        for (const struct temper_debprov *v = temper_debindex_providers(x->r->idx[i], d->name);
             v; v = v->next) {
            bool vok = prov_ok(d, v);
            if (vok && arch_ok(x, v->pkg) && better_provider(v->pkg, best)) {
                best = v->pkg;
            }
        }
    }
    return best;
}

/* The package to install for d, or NULL with x->err set. */
static const struct temper_debpkg *choose(struct res *x, const struct temper_dep *d)
{
    if (dep_foreign_arch(x, d)) {
        fail_at(x, d, "other architectures are not installed");
        return NULL;
    }
    const struct deb_basepkg *bp = x->b->base ? deb_base_find(x->b->base, d->name) : NULL;
    if (bp && !temper_dep_version_ok(TEMPER_VSCHEME_DPKG, d, bp->version)) {
        char why[512];
        snprintf(why, sizeof why, "the base image has %s %s (a base package is never "
                 "replaced)", bp->name, bp->version);
        fail_at(x, d, why);
        return NULL;
    }
    const struct temper_debpkg *best = NULL, *any_version = NULL, *ma_no = NULL;
    for (size_t i = 0; i < x->r->n_idx; i++) {
        for (const struct temper_debpkg *p = temper_debindex_find(x->r->idx[i], d->name); p;
             p = p->next_same_name) {
            if (!arch_ok(x, p)) {
                continue;
            }
            any_version = p;
            if (!temper_dep_version_ok(TEMPER_VSCHEME_DPKG, d, p->version)) {
                continue;
            }
            if (d->arch && strcmp(d->arch, "any") == 0 && !ma_any_ok(p)) {
                ma_no = p;
                continue;
            }
            if (!best || temper_dpkg_cmp(p->version, best->version) > 0) {
                best = p;
            }
        }
    }
    const struct temper_debpkg *have = sel_find(x, d->name);
    if (best && have && have != best) {
        char why[256];
        snprintf(why, sizeof why, "%s %s is already selected", have->name, have->version);
        fail_at(x, d, why);
        return NULL;
    }
    best = best ? best : best_provider(x, d);
    if (!best) {
        char why[256];
        if (ma_no) {
            snprintf(why, sizeof why, "%s is not Multi-Arch: allowed", ma_no->name);
        } else if (any_version) {
            snprintf(why, sizeof why, "no version satisfies it (the index has %s)",
                     any_version->version);
        } else {
            snprintf(why, sizeof why, "not in the index");
        }
        fail_at(x, d, why);
    }
    return best;
}

static int install(struct res *x, const struct temper_debpkg *p);

/* One comma-separated group: alternatives v[0..n). */
static int group(struct res *x, const struct temper_dep *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (temper_dep_arch_ok(&v[i], x->b->arch) && satisfied(x, &v[i])) {
            return TEMPER_OK;
        }
    }
    char first[sizeof x->err] = "";
    for (size_t i = 0; i < n; i++) {
        if (!temper_dep_arch_ok(&v[i], x->b->arch)) {
            continue;
        }
        const struct temper_debpkg *p = choose(x, &v[i]);
        if (p && p->essential && !x->essential) {
            TEMPER_LOG_DEBUG(x->b->st, "%s: essential, taken as present", p->name);
            return TEMPER_OK;
        }
        size_t mark = x->n;
        int rc = p ? install(x, p) : TEMPER_ENOTFOUND;
        if (rc == TEMPER_OK) {
            return TEMPER_OK;
        }
        if (rc != TEMPER_ENOTFOUND) {
            return rc;
        }
        sel_rollback(x, mark);
        if (!first[0]) {
            memcpy(first, x->err, sizeof first);
        }
    }
    if (first[0]) {
        memcpy(x->err, first, sizeof first);
    }
    return TEMPER_ENOTFOUND;
}

static int relations(struct res *x, const char *text)
{
    if (!text || !*text) {
        return TEMPER_OK;
    }
    struct temper_deps *d = NULL;
    int rc = temper_deb_deps_parse(x->b->st, text, &d);
    for (size_t i = 0; rc == TEMPER_OK && i < d->n;) {
        size_t j = i;
        while (j < d->n && d->v[j].group == d->v[i].group) {
            j++;
        }
        rc = group(x, d->v + i, j - i);
        i = j;
    }
    temper_deps_free(d);
    return rc;
}

static int install(struct res *x, const struct temper_debpkg *p)
{
    if (sel_find(x, p->name) == p) {
        return TEMPER_OK;
    }
    if (x->depth == RES_MAX_DEPTH) {
        snprintf(x->err, sizeof x->err, "%s: dependency chain deeper than %d", p->name,
                 RES_MAX_DEPTH);
        return TEMPER_ENOTFOUND;
    }
    const struct deb_basepkg *bp = x->b->base ? deb_base_find(x->b->base, p->name) : NULL;
    if (bp) {
        snprintf(x->err, sizeof x->err, "%s %s would replace %s %s of the base image",
                 p->name, p->version, bp->name, bp->version);
        return TEMPER_ENOTFOUND;
    }
    int rc = sel_add(x, p);
    if (rc != TEMPER_OK) {
        return rc;
    }
    x->chain[x->depth++] = p->name;
    rc = relations(x, p->pre_depends);
    rc = rc == TEMPER_OK ? relations(x, p->depends) : rc;
    x->depth--;
    return rc;
}

/* A root: "name" or "name=version". */
static int root(struct res *x, const char *spec)
{
    const char *eq = strchr(spec, '=');
    char *text = eq ? temper_strdupf("%.*s (= %s)", (int)(eq - spec), spec, eq + 1)
                    : strdup(spec);
    struct temper_deps *d = NULL;
    int rc = text ? temper_deb_deps_parse(x->b->st, text, &d) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && d->n_groups != 1) {
        rc = temper_fail(x->b->st, TEMPER_EINVAL, "package '%s': expected NAME or NAME=VERSION",
                         spec);
    }
    for (size_t i = 0; rc == TEMPER_OK && x->b->base && i < d->n; i++) {
        if (deb_base_satisfies(x->b->base, &d->v[i]) == 1) {
            TEMPER_LOG_DEBUG(x->b->st, "%s: in the base image", spec);
            temper_deps_free(d);
            free(text);
            return TEMPER_OK;
        }
    }
    for (size_t i = 0; rc == TEMPER_OK && i < d->n; i++) {
        const struct temper_debpkg *p = choose(x, &d->v[i]);
        rc = p ? install(x, p) : TEMPER_ENOTFOUND;
        if (rc != TEMPER_ENOTFOUND) {
            break;
        }
    }
    temper_deps_free(d);
    free(text);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of every Essential package, sorted and unique. */
static int essential_names(struct res *x, char ***out, size_t *n)
{
    size_t cap = 0;
    char **v = NULL;
    *n = 0;
    for (size_t i = 0; i < x->r->n_idx; i++) {
        for (size_t k = 0; k < temper_debindex_count(x->r->idx[i]); k++) {
            const struct temper_debpkg *p = temper_debindex_at(x->r->idx[i], k);
            if (!p->essential || !arch_ok(x, p)) {
                continue;
            }
            if (*n == cap) {
                cap = cap ? cap * 2 : 64;
                char **nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    free(v);
                    return TEMPER_ENOMEM;
                }
                v = nv;
            }
            v[(*n)++] = (char *)p->name;
        }
    }
    if (*n > 1) {
        qsort(v, *n, sizeof *v, cmp_name);
    }
    size_t u = 0;
    for (size_t i = 0; i < *n; i++) {
        if (u == 0 || strcmp(v[u - 1], v[i]) != 0) {
            v[u++] = v[i];
        }
    }
    *n = u;
    *out = v;
    return TEMPER_OK;
}

static int copy_pkg(struct deb_pkg *d, const struct temper_debpkg *p)
{
    memset(d, 0, sizeof *d);
    struct { char **dst; const char *src; } f[] = {
        { &d->name, p->name }, { &d->version, p->version }, { &d->arch, p->arch },
        { &d->source, p->source }, { &d->source_version, p->source_version },
        { &d->filename, p->filename }, { &d->sha256, p->sha256 },
        { &d->maintainer, p->maintainer }, { &d->multi_arch, p->multi_arch },
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (f[i].src && !(*f[i].dst = strdup(f[i].src))) {
            return TEMPER_ENOMEM;
        }
    }
    d->size = p->size;
    return TEMPER_OK;
}

static int cmp_pkg(const void *a, const void *b)
{
    return strcmp((*(const struct temper_debpkg *const *)a)->name,
                  (*(const struct temper_debpkg *const *)b)->name);
}

static int output(struct res *x, struct deb_set *out)
{
    qsort(x->sel, x->n, sizeof *x->sel, cmp_pkg);
    out->v = calloc(x->n ? x->n : 1, sizeof *out->v);
    if (!out->v) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < x->n; i++) {
        out->n++;
        const struct temper_debpkg *p = x->sel[i];
        if (!p->filename || !p->sha256) {
            return temper_fail(x->b->st, TEMPER_EFORMAT,
                               "package %s %s has no Filename or SHA256 in the index", p->name,
                               p->version);
        }
        if (copy_pkg(&out->v[i], p) != TEMPER_OK) {
            return TEMPER_ENOMEM;
        }
    }
    return TEMPER_OK;
}

static int roots(struct res *x)
{
    const struct temper_strlist *pk = x->b->req->def->packages;
    const struct temper_strlist *dev = &x->b->ic->dev_packages;
    bool is_dev = strcmp(x->b->req->variant, "dev") == 0;
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && pk && i < pk->n; i++) {
        rc = root(x, pk->v[i]);
    }
    for (size_t i = 0; rc == TEMPER_OK && is_dev && i < dev->n; i++) {
        rc = root(x, dev->v[i]);
    }
    if (rc == TEMPER_OK && x->essential) {
        char **names = NULL;
        size_t n = 0;
        rc = essential_names(x, &names, &n);
        for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
            rc = root(x, names[i]);
        }
        free(names);
    }
    return rc;
}

int deb_resolve(struct deb_build *b, const struct deb_repo *r, struct deb_set *out)
{
    memset(out, 0, sizeof *out);
    struct res *x = calloc(1, sizeof *x);
    if (!x) {
        return temper_fail(b->st, TEMPER_ENOMEM, "out of memory");
    }
    x->b = b;
    x->r = r;
    /* the dev variant is a usable system: shell, coreutils, dpkg */
    x->essential = b->s->conf->essential || strcmp(b->req->variant, "dev") == 0;
    x->cap = 256;
    x->hcap = 2 * x->cap;
    x->sel = calloc(x->cap, sizeof *x->sel);
    x->hash = calloc(x->hcap, sizeof *x->hash);
    int rc = x->sel && x->hash ? roots(x) : TEMPER_ENOMEM;
    if (rc == TEMPER_ENOTFOUND) {
        rc = temper_fail(b->st, TEMPER_ENOTFOUND, "%s: cannot install: %s",
                         b->req->def->name, x->err);
    } else if (rc == TEMPER_OK && x->n == 0 && !b->base) {
        rc = temper_fail(b->st, TEMPER_EINVAL, "%s: no packages to install",
                         b->req->def->name);
    }
    rc = rc == TEMPER_OK ? output(x, out) : rc;
    if (rc == TEMPER_ENOMEM && !temper_stage_error(b->st)) {
        rc = temper_fail(b->st, rc, "out of memory");
    }
    if (rc != TEMPER_OK) {
        deb_set_cleanup(out);
    }
    free(x->sel);
    free(x->hash);
    free(x);
    return rc;
}

void deb_set_cleanup(struct deb_set *s)
{
    for (size_t i = 0; s && i < s->n; i++) {
        struct deb_pkg *p = &s->v[i];
        char *f[] = { p->name, p->version, p->arch, p->source, p->source_version,
                      p->filename, p->sha256, p->maintainer, p->multi_arch, p->deb,
                      p->license, p->control, p->md5sums, p->files };
        for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
            free(f[k]);
        }
    }
    if (s) {
        free(s->v);
        memset(s, 0, sizeof *s);
    }
}

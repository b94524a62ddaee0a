/* temper — builder_source for alpine:* images: the build root and the
 * runtime base from Alpine packages, by builder_apk's own code (its
 * apk_*.c files are compiled into this module, see local.am).
 *
 * The repositories' APKINDEX files are fetched and their signatures
 * checked with `keys`; the build dependencies (`build_depends`, apk
 * dependency strings) are resolved, every .apk is fetched (or taken from
 * the cache) and checked against its index entry (C: and datahash), and
 * their sha256 recorded for the provenance.  The build root is keyed by
 * the sha256 of the architecture and every package's name, version and C:
 * and cached under roots/<key> like the Debian one; no install script runs.
 *
 * Runtime needs, the Alpine way: a DT_NEEDED soname becomes the world entry
 * "so:SONAME", which the resolver satisfies through the APKINDEX provides
 * (p:so:libc.musl-x86_64.so.1=1 of musl); an interpreter path is mapped to
 * the package owning it in the build root's lib/apk/db/installed.  The
 * runtime base is the image's `packages` plus those entries, installed and
 * hardened by builder_apk's code, written as one layer. */
#include "config.h"
#include "source.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DB_MAX (64u << 20)
#define DATA_SLACK (16ull * 1024 * 1024)

static int apk_arch(struct source_build *b)
{
    const char *a = strcmp(b->arch, "amd64") == 0   ? "x86_64"
                    : strcmp(b->arch, "arm64") == 0 ? "aarch64"
                                                    : NULL;
    if (b->s->apk.arch) {
        a = b->s->apk.arch;
    }
    if (!a) {
        return temper_fail(b->st, TEMPER_ENOTSUP, "image %s: no Alpine architecture for %s",
                           b->req->def->name, b->platform);
    }
    snprintf(b->apk.arch, sizeof b->apk.arch, "%s", a);
    return TEMPER_OK;
}

static void fetch_ctx(struct source_build *b, struct apk_fetch *f, const char *work)
{
    memset(f, 0, sizeof *f);
    f->st = b->st;
    f->conf = &b->s->apk;
    f->keys = &b->s->keys;
    f->http = b->http;
    f->cache = b->s->deb.cache;
    f->work = work;
}

/* Scan, settle file ownership and extract units[0..n) into root. */
static int install(struct source_build *b, struct apk_unit *units, size_t n, const char *root,
                   struct apk_fs *fs)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        unsigned long long isz = units[i].pick->pkg->installed_size;
        unsigned long long cap = isz < (1ull << 40) ? 2 * isz + DATA_SLACK : (1ull << 41);
        rc = apk_data_scan(b->st, &units[i], cap);
    }
    rc = rc == TEMPER_OK ? apk_fs_build(b->st, units, n, fs) : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = apk_data_extract(b->st, &units[i], root);
    }
    return rc;
}

static int root_key(struct source_build *b, char key[65])
{
    struct temper_buf k;
    temper_buf_init(&k, 0);
    int rc = temper_buf_printf(&k, "temper builder_source apk root 1\n%s\n", b->apk.arch);
    for (size_t i = 0; rc == TEMPER_OK && i < b->apk.plan.n; i++) {
        const struct temper_apkpkg *p = b->apk.plan.v[b->apk.plan.order[i]].pkg;
        rc = temper_buf_printf(&k, "%s %s %s\n", p->name, p->version, p->checksum);
    }
    rc = rc == TEMPER_OK ? temper_sha256_hex(k.data, k.len, key) : rc;
    temper_buf_cleanup(&k);
    return rc;
}

static int make_root(struct source_build *b, const char *tmp)
{
    struct apk_fs fs = { 0 };
    source_remove_tree(tmp);
    int rc = mkdir(tmp, 0755) == 0 ? TEMPER_OK
                                   : temper_fail(b->st, TEMPER_EIO, "cannot create %s: %s", tmp,
                                                 strerror(errno));
    rc = rc == TEMPER_OK ? install(b, b->apk.units, b->apk.plan.n, tmp, &fs) : rc;
    rc = rc == TEMPER_OK ? apk_db_write(b->st, tmp, b->apk.units, b->apk.plan.n, &fs,
                                        &b->ic->build_depends, &b->s->apk, &b->s->keys, false)
                         : rc;
    apk_fs_cleanup(&fs);
    static const char *const dirs[] = { "build", "staging", "tmp", "proc", "dev", NULL };
    for (size_t i = 0; rc == TEMPER_OK && dirs[i]; i++) {
        rc = temper_rootfs_mkdir(b->st, tmp, dirs[i], strcmp(dirs[i], "tmp") ? 0755 : 01777);
    }
    if (rc == TEMPER_OK && temper_rootfs_type(tmp, "bin/sh") == 0) {
        rc = temper_fail(b->st, TEMPER_EINVAL, "image %s: the build root has no /bin/sh (add "
                         "busybox to build_depends)", b->req->def->name);
    }
    return rc;
}

/* Indexes, the build dependencies resolved, fetched and checked. */
static int build_deps(struct source_build *b, const char *work)
{
    struct source_apk *a = &b->apk;
    struct apk_fetch f;
    fetch_ctx(b, &f, work);
    a->n_repos = b->s->apk_urls.n;
    a->repos = calloc(a->n_repos ? a->n_repos : 1, sizeof *a->repos);
    int rc = a->repos ? apk_arch(b) : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && i < a->n_repos; i++) {
        a->repos[i].url = b->s->apk_urls.v[i]; /* borrowed from the state */
    }
    rc = rc == TEMPER_OK ? apk_fetch_indexes(&f, a->arch, a->repos, a->n_repos) : rc;
    rc = rc == TEMPER_OK ? apk_resolve(b->st, a->repos, a->n_repos, a->arch,
                                       &b->ic->build_depends, &a->plan)
                         : rc;
    if (rc == TEMPER_OK) {
        a->units = calloc(a->plan.n ? a->plan.n : 1, sizeof *a->units);
        rc = a->units ? TEMPER_OK : TEMPER_ENOMEM;
    }
    rc = rc == TEMPER_OK ? apk_fetch_packages(&f, a->arch, a->repos, &a->plan, a->units) : rc;
    return rc;
}

int source_apk_root(struct source_build *b)
{
    if (b->s->apk_urls.n == 0 || b->s->keys.n == 0) {
        return temper_fail(b->st, TEMPER_EINVAL, "image %s: distribution %s needs the "
                           "builder's `repositories` and `keys` (Alpine)", b->req->def->name,
                           b->req->def->distribution);
    }
    char key[65];
    char *work = temper_strdupf("%s/apk-build", b->work);
    char *tmp = NULL;
    int rc = work ? source_mkdir(b, work) : TEMPER_ENOMEM;
    rc = rc == TEMPER_OK ? source_mkdir(b, b->s->deb.cache) : rc;
    rc = rc == TEMPER_OK ? build_deps(b, work) : rc;
    rc = rc == TEMPER_OK ? root_key(b, key) : rc;
    if (rc == TEMPER_OK) {
        b->root = temper_strdupf("%s/roots/apk-%s", b->s->deb.cache, key);
        tmp = temper_strdupf("%s/roots/apk-%s.tmp%ld", b->s->deb.cache, key, (long)getpid());
        rc = b->root && tmp ? TEMPER_OK : TEMPER_ENOMEM;
    }
    char *roots = rc == TEMPER_OK ? temper_strdupf("%s/roots", b->s->deb.cache) : NULL;
    rc = rc == TEMPER_OK ? (roots ? source_mkdir(b, roots) : TEMPER_ENOMEM) : rc;
    free(roots);
    struct stat sb;
    if (rc == TEMPER_OK && lstat(b->root, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        TEMPER_LOG_INFO(b->st, "build root apk-%s: %zu Alpine packages, from the cache", key,
                        b->apk.plan.n);
    } else if (rc == TEMPER_OK) {
        TEMPER_LOG_INFO(b->st, "build root apk-%s: %zu Alpine packages", key, b->apk.plan.n);
        rc = make_root(b, tmp);
        if (rc == TEMPER_OK && rename(tmp, b->root) != 0 && errno != EEXIST &&
            errno != ENOTEMPTY) {
            rc = temper_fail(b->st, TEMPER_EIO, "cannot rename %s: %s", tmp, strerror(errno));
        }
        source_remove_tree(tmp);
    }
    source_remove_tree(work);
    free(work);
    free(tmp);
    return rc;
}

/* The package of the build root whose db entry lists `path` (no leading /). */
static int owner(struct source_build *b, const char *path, char **pkg)
{
    char *db = NULL;
    size_t len = 0;
    *pkg = NULL;
    int rc = temper_rootfs_read(b->st, b->root, "lib/apk/db/installed", DB_MAX, &db, &len);
    const char *name = "", *dir = "";
    size_t nlen = 0, dlen = 0;
    for (const char *l = db; rc == TEMPER_OK && l && l < db + len && !*pkg;) {
        size_t n = strcspn(l, "\n");
        if (n > 2 && strncmp(l, "P:", 2) == 0) {
            name = l + 2;
            nlen = n - 2;
        } else if (n >= 2 && strncmp(l, "F:", 2) == 0) {
            dir = l + 2;
            dlen = n - 2;
        } else if (n > 2 && strncmp(l, "R:", 2) == 0) {
            size_t rl = n - 2;
            size_t pl = strlen(path);
            bool hit = dlen ? pl == dlen + 1 + rl && memcmp(path, dir, dlen) == 0 &&
                                  path[dlen] == '/' && memcmp(path + dlen + 1, l + 2, rl) == 0
                            : pl == rl && memcmp(path, l + 2, rl) == 0;
            *pkg = hit && nlen ? strndup(name, nlen) : NULL;
            rc = hit && nlen && !*pkg ? TEMPER_ENOMEM : rc;
        }
        l += n + (l[n] == '\n');
    }
    free(db);
    return rc != TEMPER_OK ? rc : *pkg ? TEMPER_OK : TEMPER_ENOTFOUND;
}

int source_apk_need(struct source_build *b, const char *file, const char *what)
{
    char *entry = NULL;
    int rc = TEMPER_OK;
    if (what[0] == '/') {
        char *pkg = NULL;
        rc = owner(b, what + 1, &pkg);
        if (rc == TEMPER_ENOTFOUND) {
            rc = temper_fail(b->st, rc, "image %s: /%s needs %s, which no build dependency "
                             "ships (add its package to build_depends)", b->req->def->name,
                             file, what);
        }
        entry = pkg;
    } else {
        entry = temper_strdupf("so:%s", what);
        rc = entry ? TEMPER_OK : TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK && !source_strlist_has(&b->needs, entry)) {
        TEMPER_LOG_INFO(b->st, "/%s needs %s: runtime dependency %s", file, what, entry);
        rc = source_strlist_push(&b->needs, entry);
    }
    free(entry);
    return rc;
}

/* ---- the runtime base ----------------------------------------------------------- */

struct rt {
    struct apk_plan plan;
    struct apk_unit *units;
    struct apk_fs fs;
    char *dir, *root;
};

static void rt_cleanup(struct rt *r)
{
    source_remove_tree(r->dir);
    for (size_t i = 0; r->units && i < r->plan.n; i++) {
        apk_unit_cleanup(&r->units[i]);
    }
    free(r->units);
    apk_fs_cleanup(&r->fs);
    apk_plan_cleanup(&r->plan);
    free(r->dir);
    free(r->root);
}

static int push_new(struct temper_strlist *w, const char *s)
{
    return source_strlist_has(w, s) ? TEMPER_OK : source_strlist_push(w, s);
}

/* The world of the runtime base: the so: needs first (the resolver picks
 * their providers), then the image's packages, then the owners of the
 * interpreters (usually already there: musl owns both). */
static int rt_world(struct source_build *b, struct temper_strlist *w)
{
    const struct temper_strlist *defp = b->req->def->packages;
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < b->needs.n; i++) {
        rc = strncmp(b->needs.v[i], "so:", 3) == 0 ? push_new(w, b->needs.v[i]) : rc;
    }
    for (size_t i = 0; rc == TEMPER_OK && defp && i < defp->n; i++) {
        rc = push_new(w, defp->v[i]);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < b->needs.n; i++) {
        rc = push_new(w, b->needs.v[i]);
    }
    if (rc == TEMPER_OK && w->n == 0) {
        rc = temper_fail(b->st, TEMPER_EINVAL, "image %s: nothing to install in the runtime "
                         "base (no packages, no ELF dependencies)", b->req->def->name);
    }
    return rc;
}

/* Which package satisfied each so: need (the resolver's own answer). */
static void rt_log(struct source_build *b, const struct rt *r)
{
    for (size_t i = 0; i < r->plan.n; i++) {
        const struct apk_pick *p = &r->plan.v[i];
        if (p->parent == APK_WORLD && p->why && strncmp(p->why, "so:", 3) == 0) {
            TEMPER_LOG_INFO(b->st, "%s: runtime package %s-%s", p->why, p->pkg->name,
                            p->pkg->version);
        }
    }
}

static int rt_write(struct source_build *b, struct rt *r, struct temper_oci_layout *l,
                    struct temper_oci_descriptor *base)
{
    const struct temper_image_def *d = b->req->def;
    char osv[32] = "";
    const char *colon = d->distribution ? strchr(d->distribution, ':') : NULL;
    if (colon && colon[1]) {
        snprintf(osv, sizeof osv, "%s", colon[1] == 'v' ? colon + 2 : colon + 1);
    }
    struct temper_harden_info info = {
        .size = sizeof info, .name = d->name, .variant = b->req->variant,
        .distribution = d->distribution, .created = b->epoch, .version = d->version,
        .os_id = "alpine", .os_name = "Alpine Linux", .os_version_id = osv[0] ? osv : NULL,
    };
    struct temper_harden *h = NULL;
    int rc = temper_harden_new(b->st, &b->ic->deb.harden, b->req->variant, &h);
    if (rc == TEMPER_OK) {
        struct apk_image_in in = { .req = b->req, .h = h, .info = &info, .root = r->root,
                                   .platform = b->platform, .units = r->units,
                                   .n_units = r->plan.n, .fs = &r->fs, .sde = b->epoch };
        rc = apk_image_write(b->st, l, &in, NULL, base);
    }
    temper_harden_free(h);
    return rc;
}

static int rt_packages(struct source_build *b, const struct rt *r, struct temper_artifact *a)
{
    const char *dist = b->req->def->distribution;
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < r->plan.n; i++) {
        const struct apk_unit *u = &r->units[i];
        const struct temper_apkpkg *pk = u->pick->pkg;
        const char *arch = pk->arch ? pk->arch : b->apk.arch;
        char *id = temper_strdupf("pkg:apk/alpine/%s@%s?arch=%s", pk->name, pk->version, arch);
        struct temper_package tp = {
            .size = sizeof tp, .name = pk->name, .version = pk->version, .arch = arch,
            .source = pk->origin, .source_version = pk->version, .distribution = dist,
            .purl = id, .sha256 = u->sha256, .license = pk->license,
            .supplier = pk->maintainer, .url = u->url,
        };
        rc = id ? temper_artifact_add_package(a, &tp) : TEMPER_ENOMEM;
        free(id);
    }
    return rc;
}

int source_apk_image(struct source_build *b, struct temper_oci_layout *l,
                     struct temper_oci_descriptor *base, struct temper_artifact *a)
{
    struct rt r;
    struct temper_strlist world = { 0 };
    struct apk_fetch f;
    memset(&r, 0, sizeof r);
    r.dir = temper_strdupf("%s/apk-runtime", b->work);
    r.root = r.dir ? temper_strdupf("%s/rootfs", r.dir) : NULL;
    int rc = r.root ? source_mkdir(b, r.root) : TEMPER_ENOMEM;
    fetch_ctx(b, &f, r.dir);
    rc = rc == TEMPER_OK ? rt_world(b, &world) : rc;
    rc = rc == TEMPER_OK ? apk_resolve(b->st, b->apk.repos, b->apk.n_repos, b->apk.arch, &world,
                                       &r.plan)
                         : rc;
    if (rc == TEMPER_OK) {
        rt_log(b, &r);
        r.units = calloc(r.plan.n ? r.plan.n : 1, sizeof *r.units);
        rc = r.units ? TEMPER_OK : TEMPER_ENOMEM;
    }
    rc = rc == TEMPER_OK ? apk_fetch_packages(&f, b->apk.arch, b->apk.repos, &r.plan, r.units)
                         : rc;
    rc = rc == TEMPER_OK ? install(b, r.units, r.plan.n, r.root, &r.fs) : rc;
    bool manager = (b->req->variant && strcmp(b->req->variant, "runtime") != 0) ||
                   b->ic->deb.harden.keep_package_manager;
    rc = rc == TEMPER_OK ? apk_db_write(b->st, r.root, r.units, r.plan.n, &r.fs, &world,
                                        &b->s->apk, &b->s->keys, manager)
                         : rc;
    rc = rc == TEMPER_OK ? rt_write(b, &r, l, base) : rc;
    rc = rc == TEMPER_OK ? rt_packages(b, &r, a) : rc;
    rt_cleanup(&r);
    source_strlist_cleanup(&world);
    return rc;
}

char *source_apk_input(const struct source_build *b, size_t i, const char **url,
                       const char **sha256)
{
    if (!b->alpine || !b->apk.units || i >= b->apk.plan.n) {
        return NULL;
    }
    const struct apk_unit *u = &b->apk.units[i];
    const struct temper_apkpkg *pk = u->pick->pkg;
    *url = u->url;
    *sha256 = u->sha256;
    return temper_strdupf("pkg:apk/alpine/%s@%s?arch=%s", pk->name, pk->version,
                          pk->arch ? pk->arch : b->apk.arch);
}

void source_apk_cleanup(struct source_apk *a)
{
    for (size_t i = 0; a->units && i < a->plan.n; i++) {
        apk_unit_cleanup(&a->units[i]);
    }
    free(a->units);
    apk_plan_cleanup(&a->plan);
    for (size_t i = 0; a->repos && i < a->n_repos; i++) {
        temper_apkindex_free(a->repos[i].idx);
    }
    free(a->repos);
}

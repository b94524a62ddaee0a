/* temper — builder_apk: minimal OCI images from Alpine packages, without a
 * container engine or apk itself (the way apko builds them).
 *
 * For each platform of the request: fetch and verify the repositories'
 * signed APKINDEX for the platform's apk architecture, resolve the image's
 * packages (its world) to a closure, download and verify every package,
 * extract their data into a fresh root (no install script runs), write
 * apk's database, harden, and write one layer and the image.  Several
 * platforms make an image index.  The image artifact carries every package
 * with its purl (pkg:apk/alpine/NAME@VERSION?arch=ARCH), license (L:),
 * supplier (m:) and the SHA-256 of its .apk.
 *
 * Tag: the request's tag, else the definition's version, else "latest";
 * variants other than "runtime" get "-<variant>" appended to the last two.
 * Timestamps: the request's SOURCE_DATE_EPOCH, or when it is 0 the newest
 * build time (t:) of the installed packages, so that equal package sets
 * give equal digests whenever and wherever they are built. */
#include "config.h"
#include "apk_int.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATA_SLACK (16ull * 1024 * 1024)

#define OPT(type, key, def, flags, field, min, max, doc) \
    { type, key, def, flags, offsetof(struct apk_conf, field), min, max, NULL, doc }

static const struct temper_option apk_options[] = {
    OPT(TEMPER_OPT_LIST, "repositories", NULL, TEMPER_OPT_REQUIRED, repositories, 0, 0,
        "repository URLs such as https://dl-cdn.alpinelinux.org/alpine/v3.19/main; the index "
        "is <url>/<arch>/APKINDEX.tar.gz"),
    OPT(TEMPER_OPT_LIST, "keys", NULL, TEMPER_OPT_REQUIRED, keys, 0, 0,
        "RSA public key files (PEM, as in /etc/apk/keys, absolute paths) that sign the "
        "indexes; the one named like the signature decides, and an unsigned index or one "
        "that none of them verifies is refused"),
    OPT(TEMPER_OPT_STR, "arch", NULL, 0, arch, 0, 0,
        "apk architecture (x86_64, aarch64, ...); default: the one of the build's platform"),
    OPT(TEMPER_OPT_SIZE, "max_package_size", "1G", 0, max_package_size, 1024, 1LL << 40,
        "largest .apk file accepted"),
    OPT(TEMPER_OPT_SIZE, "max_index_size", "256M", 0, max_index_size, 1024, 1LL << 34,
        "largest APKINDEX.tar.gz accepted"),
    TEMPER_OPTION_END,
};

static const struct temper_option apk_image_options[] = {
    TEMPER_HARDEN_OPTIONS(struct apk_image_conf, harden),
    TEMPER_OPTION_END,
};

/* OCI platform <-> apk architecture (first match wins both ways). */
static const struct {
    const char *platform;
    const char *arch;
} arch_map[] = {
    { "linux/amd64", "x86_64" },     { "linux/arm64/v8", "aarch64" },
    { "linux/arm64", "aarch64" },    { "linux/386", "x86" },
    { "linux/arm/v7", "armv7" },     { "linux/arm/v6", "armhf" },
    { "linux/ppc64le", "ppc64le" },  { "linux/s390x", "s390x" },
    { "linux/riscv64", "riscv64" },  { "linux/loong64", "loongarch64" },
};

struct apk_state {
    const struct apk_conf *conf;
    struct apk_keys keys;
    struct temper_strlist urls;      /* repositories without a trailing '/' */
};

/* One platform being built. */
struct plat {
    struct apk_state *s;
    struct temper_stage *st;
    const struct temper_build_request *req;
    const char *platform;
    const char *arch;
    char *dir;                       /* work dir of this platform */
    char *root;                      /* the image root */
    struct apk_repo *repos;
    struct apk_plan plan;
    struct apk_unit *units;
    struct apk_fs fs;
};

static int apk_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct apk_conf *c = conf;
    struct apk_state *s = calloc(1, sizeof *s);
    if (!s) {
        return temper_fail(st, TEMPER_ENOMEM, "builder_apk: out of memory");
    }
    s->conf = c;
    int rc = c->arch && !apk_token_ok(c->arch)
                 ? temper_fail(st, TEMPER_EINVAL, "arch \"%s\" is not an apk architecture",
                               c->arch)
                 : TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < c->repositories.n; i++) {
        const char *u = c->repositories.v[i];
        size_t n = strlen(u);
        while (n > 0 && u[n - 1] == '/') {
            n--;
        }
        char *copy = strndup(u, n);
        bool web = strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0;
        rc = !copy ? TEMPER_ENOMEM : web ? temper_oci_list_push(&s->urls, copy) : TEMPER_EINVAL;
        free(copy);
        if (rc != TEMPER_OK) {
            rc = temper_fail(st, rc, "repository %s: %s", u,
                             rc == TEMPER_EINVAL ? "not an http(s) URL" : "out of memory");
        }
    }
    if (rc == TEMPER_OK && c->keys.n == 0) {
        rc = temper_fail(st, TEMPER_EINVAL, "keys: at least one public key is needed");
    }
    rc = rc == TEMPER_OK ? apk_keys_load(st, &c->keys, &s->keys) : rc;
    if (rc != TEMPER_OK) {
        apk_keys_cleanup(&s->keys);
        temper_oci_list_cleanup(&s->urls);
        free(s);
        return rc;
    }
    *state = s;
    return TEMPER_OK;
}

static void apk_close(void *state)
{
    struct apk_state *s = state;
    if (!s) {
        return;
    }
    apk_keys_cleanup(&s->keys);
    temper_oci_list_cleanup(&s->urls);
    free(s);
}

/* The apk arch and the OCI platform of a requested platform. */
static int plat_arch(struct plat *p, const char *requested)
{
    const size_t n = sizeof arch_map / sizeof arch_map[0];
    for (size_t i = 0; i < n; i++) {
        bool hit = p->s->conf->arch ? strcmp(arch_map[i].arch, p->s->conf->arch) == 0
                                    : strcmp(arch_map[i].platform, requested) == 0;
        if (hit) {
            p->arch = arch_map[i].arch;
            p->platform = arch_map[i].platform;
            return TEMPER_OK;
        }
    }
    if (p->s->conf->arch) {
        return temper_fail(p->st, TEMPER_EINVAL, "arch %s has no OCI platform known to "
                           "builder_apk", p->s->conf->arch);
    }
    return temper_fail(p->st, TEMPER_EINVAL, "platform %s has no Alpine architecture",
                       requested);
}

/* A fresh private directory per platform build: the root and the copied
 * data members live there, and it is removed when the platform is done. */
static int plat_dirs(struct plat *p)
{
    const char *work = temper_stage_workdir(p->st);
    if (!work) {
        return temper_fail(p->st, TEMPER_EINVAL, "builder_apk needs a work directory");
    }
    p->dir = temper_strdupf("%s/apk-%s-123456", work, p->arch);
    if (p->dir) {
        memset(p->dir + strlen(p->dir) - 6, 'X', 6); /* the mkdtemp() template */
    }
    if (!p->dir) {
        return temper_fail(p->st, TEMPER_ENOMEM, "builder_apk: out of memory");
    }
    if (!mkdtemp(p->dir)) {
        int e = errno;
        TEMPER_FREE(p->dir); /* nothing to remove */
        return temper_fail(p->st, TEMPER_EIO, "cannot create a directory in %s: %s", work,
                           strerror(e));
    }
    p->root = temper_strdupf("%s/rootfs", p->dir);
    if (!p->root || mkdir(p->root, 0755) != 0) {
        return temper_fail(p->st, p->root ? TEMPER_EIO : TEMPER_ENOMEM, "cannot create %s/rootfs",
                           p->dir);
    }
    return TEMPER_OK;
}

static int unlock_dir(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_D && !(sb->st_mode & S_IWUSR)) {
        (void)chmod(path, 0700); /* var/empty is 0555 */
    }
    return 0;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_tree(struct temper_stage *st, const char *dir)
{
    struct stat sb;
    if (!dir || lstat(dir, &sb) != 0) {
        return;
    }
    if (nftw(dir, unlock_dir, 32, FTW_PHYS) != 0 ||
        nftw(dir, remove_one, 32, FTW_DEPTH | FTW_PHYS) != 0) {
        TEMPER_LOG_WARN(st, "cannot remove %s entirely: %s", dir, strerror(errno));
    }
}

static int plat_resolve(struct plat *p, struct apk_fetch *f)
{
    size_t n = p->s->urls.n;
    p->repos = calloc(n ? n : 1, sizeof *p->repos);
    if (!p->repos) {
        return temper_fail(p->st, TEMPER_ENOMEM, "builder_apk: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        p->repos[i].url = p->s->urls.v[i]; /* borrowed: freed with the state */
    }
    int rc = apk_fetch_indexes(f, p->arch, p->repos, n);
    if (rc == TEMPER_OK) {
        rc = apk_resolve(p->st, p->repos, n, p->arch, p->req->def->packages, &p->plan);
    }
    if (rc == TEMPER_OK) {
        TEMPER_LOG_INFO(p->st, "%s: %zu packages to install", p->arch, p->plan.n);
        p->units = calloc(p->plan.n ? p->plan.n : 1, sizeof *p->units);
        rc = p->units ? TEMPER_OK : temper_fail(p->st, TEMPER_ENOMEM, "builder_apk: out of "
                                                "memory");
    }
    return rc;
}

/* Scan every package, settle file ownership, then extract in order. */
static int plat_install(struct plat *p)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < p->plan.n; i++) {
        unsigned long long isz = p->units[i].pick->pkg->installed_size;
        unsigned long long cap = isz < (1ull << 40) ? 2 * isz + DATA_SLACK : (1ull << 41);
        rc = apk_data_scan(p->st, &p->units[i], cap);
    }
    if (rc == TEMPER_OK) {
        rc = apk_fs_build(p->st, p->units, p->plan.n, &p->fs);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < p->plan.n; i++) {
        rc = apk_data_extract(p->st, &p->units[i], p->root);
    }
    return rc;
}

/* apk's configuration (/etc/apk) goes with the package manager: the dev
 * variant, or keep_package_manager. */
static bool keeps_manager(const struct temper_build_request *req)
{
    const struct apk_image_conf *ic = req->image_conf;
    return (req->variant && strcmp(req->variant, "runtime") != 0) ||
           (ic && ic->harden.keep_package_manager);
}

struct info_store {
    char version[128], os_version[32];
};

/* What the hardening says about the image: its upstream version is the
 * definition's, else the version (without -rN) of the first package named. */
static void plat_info(const struct plat *p, long long sde, struct temper_harden_info *in,
                      struct info_store *s)
{
    const struct temper_image_def *d = p->req->def;
    memset(in, 0, sizeof *in);
    in->size = sizeof *in;
    in->name = d->name;
    in->variant = p->req->variant;
    in->distribution = d->distribution;
    in->created = sde;
    in->version = d->version;
    const char *first = d->packages && d->packages->n ? d->packages->v[0] : "";
    size_t fl = strcspn(first, "<>=~");
    for (size_t i = 0; !in->version && i < p->plan.n; i++) {
        const struct temper_apkpkg *pk = p->plan.v[i].pkg;
        if (strlen(pk->name) == fl && strncmp(pk->name, first, fl) == 0) {
            const char *r = strstr(pk->version, "-r");
            int n = r ? (int)(r - pk->version) : (int)strlen(pk->version);
            snprintf(s->version, sizeof s->version, "%.*s", n, pk->version);
            in->version = s->version;
        }
    }
    in->os_id = "alpine";
    in->os_name = "Alpine Linux";
    const char *colon = d->distribution ? strchr(d->distribution, ':') : NULL;
    if (colon && colon[1]) {
        snprintf(s->os_version, sizeof s->os_version, "%s", colon[1] == 'v' ? colon + 2 : colon + 1);
        in->os_version_id = s->os_version;
    }
}

static long long plat_sde(const struct plat *p)
{
    if (p->req->source_date_epoch > 0) {
        return p->req->source_date_epoch;
    }
    long long t = 0;
    for (size_t i = 0; i < p->plan.n; i++) {
        long long bt = p->units[i].pick->pkg->build_time;
        t = bt > t ? bt : t;
    }
    return t;
}

/* pkg:apk/alpine/NAME@VERSION?arch=ARCH, names percent-encoded (purl spec). */
static char *purl(const char *name, const char *version, const char *arch)
{
    struct temper_buf b;
    const char *parts[3] = { name, version, arch };
    const char *pre[3] = { "pkg:apk/alpine/", "@", "?arch=" };
    temper_buf_init(&b, 4096);
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < 3; i++) {
        rc = temper_buf_puts(&b, pre[i]);
        for (const unsigned char *c = (const unsigned char *)parts[i]; rc == TEMPER_OK && *c;
             c++) {
            bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                         (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '_' ||
                         *c == '~';
            rc = plain ? temper_buf_append(&b, c, 1) : temper_buf_printf(&b, "%%%02X", *c);
        }
    }
    char *out = rc == TEMPER_OK ? temper_buf_take(&b, NULL) : NULL;
    temper_buf_cleanup(&b);
    return out;
}

static int add_packages(struct plat *p, struct temper_artifact *art)
{
    const char *dist = p->req->def->distribution ? p->req->def->distribution : "alpine";
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < p->plan.n; i++) {
        const struct apk_unit *u = &p->units[i];
        const struct temper_apkpkg *pk = u->pick->pkg;
        const char *arch = pk->arch ? pk->arch : p->arch;
        char *id = purl(pk->name, pk->version, arch);
        struct temper_package tp = {
            .size = sizeof tp, .name = pk->name, .version = pk->version, .arch = arch,
            .source = pk->origin, .source_version = pk->version, .distribution = dist,
            .purl = id, .sha256 = u->sha256, .license = pk->license,
            .supplier = pk->maintainer, .url = u->url,
        };
        rc = id ? temper_artifact_add_package(art, &tp) : TEMPER_ENOMEM;
        free(id);
    }
    return rc == TEMPER_OK ? rc : temper_fail(p->st, rc, "builder_apk: out of memory");
}

static void plat_cleanup(struct plat *p)
{
    remove_tree(p->st, p->dir);
    for (size_t i = 0; p->units && i < p->plan.n; i++) {
        apk_unit_cleanup(&p->units[i]);
    }
    free(p->units);
    apk_fs_cleanup(&p->fs);
    apk_plan_cleanup(&p->plan);
    for (size_t i = 0; p->repos && i < p->s->urls.n; i++) {
        temper_apkindex_free(p->repos[i].idx);
    }
    free(p->repos);
    free(p->root);
    free(p->dir);
}

static int plat_image(struct plat *p, struct temper_oci_layout *l, const char *ref,
                      struct temper_oci_descriptor *out)
{
    const struct apk_image_conf *ic = p->req->image_conf;
    struct temper_harden_info info;
    struct info_store is;
    long long sde = plat_sde(p);
    plat_info(p, sde, &info, &is);
    struct temper_harden *h = NULL;
    int rc = temper_harden_new(p->st, ic ? &ic->harden : NULL, p->req->variant, &h);
    if (rc == TEMPER_OK) {
        struct apk_image_in in = { .req = p->req, .h = h, .info = &info, .root = p->root,
                                   .platform = p->platform, .units = p->units,
                                   .n_units = p->plan.n, .fs = &p->fs, .sde = sde };
        rc = apk_image_write(p->st, l, &in, ref, out);
    }
    temper_harden_free(h);
    return rc;
}

static int build_platform(struct plat *p, struct temper_http *http, struct temper_oci_layout *l,
                          const char *ref, struct temper_oci_descriptor *out,
                          struct temper_artifact *art)
{
    const char *cache = temper_stage_cachedir(p->st);
    struct apk_fetch f = { .st = p->st, .conf = p->s->conf, .keys = &p->s->keys,
                           .http = http };
    int rc = plat_dirs(p);
    f.cache = cache ? cache : p->dir;
    f.work = p->dir;
    if (rc == TEMPER_OK) {
        rc = plat_resolve(p, &f);
    }
    if (rc == TEMPER_OK) {
        rc = apk_fetch_packages(&f, p->arch, p->repos, &p->plan, p->units);
    }
    if (rc == TEMPER_OK) {
        rc = plat_install(p);
    }
    if (rc == TEMPER_OK) {
        rc = apk_db_write(p->st, p->root, p->units, p->plan.n, &p->fs, p->req->def->packages,
                          p->s->conf, &p->s->keys, keeps_manager(p->req));
    }
    if (rc == TEMPER_OK) {
        rc = plat_image(p, l, ref, out);
    }
    if (rc == TEMPER_OK) {
        rc = add_packages(p, art);
    }
    return rc;
}

/* The tag of the image (see the top of this file); a new string. */
static char *image_ref(const struct temper_build_request *req)
{
    if (req->tag) {
        return strdup(req->tag);
    }
    const char *v = req->def->version && temper_oci_ref_valid(req->def->version)
                        ? req->def->version : "latest";
    bool plain = !req->variant || strcmp(req->variant, "runtime") == 0;
    char *ref = plain ? strdup(v) : temper_strdupf("%s-%s", v, req->variant);
    if (ref && !temper_oci_ref_valid(ref)) {
        free(ref);
        ref = strdup("latest");
    }
    return ref;
}

static int check_request(struct apk_state *s, struct temper_stage *st,
                         const struct temper_build_request *req)
{
    if (!req->def || !req->layout_dir || req->n_platforms == 0) {
        return temper_fail(st, TEMPER_EINVAL, "builder_apk: incomplete build request");
    }
    if (req->def->base) {
        return temper_fail(st, TEMPER_ENOTSUP, "image %s: builder_apk builds from scratch; "
                           "base images are the overlay builder's", req->def->name);
    }
    if (!req->def->packages || req->def->packages->n == 0) {
        return temper_fail(st, TEMPER_EINVAL, "image %s: no packages to install",
                           req->def->name);
    }
    if (s->conf->arch && req->n_platforms > 1) {
        return temper_fail(st, TEMPER_EINVAL, "arch is set: one platform only");
    }
    return TEMPER_OK;
}

static int describe(struct temper_artifact *a, const struct temper_build_request *req,
                    const struct temper_oci_descriptor *d, const char *platforms)
{
    int rc = temper_artifact_set(a, TEMPER_ATTR_DIGEST, d->digest);
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_MEDIA_TYPE, d->media_type) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_PLATFORM, platforms) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_VARIANT, req->variant) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_IMAGE, req->def->name) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_DISTRIBUTION,
                                               req->def->distribution) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set_path(a, req->layout_dir) : rc;
    return rc;
}

static int build_all(struct apk_state *s, struct temper_stage *st,
                     const struct temper_build_request *req, struct temper_oci_layout *l,
                     struct temper_http *http, struct temper_artifact *art, const char *ref)
{
    size_t n = req->n_platforms;
    struct temper_oci_descriptor *m = calloc(n, sizeof *m);
    struct temper_oci_descriptor top;
    struct temper_buf plats;
    memset(&top, 0, sizeof top);
    temper_buf_init(&plats, 4096);
    int rc = m ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "builder_apk: out of memory");
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        struct plat p = { .s = s, .st = st, .req = req };
        rc = plat_arch(&p, req->platforms[i]);
        if (rc == TEMPER_OK) {
            rc = build_platform(&p, http, l, n > 1 ? NULL : ref, &m[i], art);
        }
        if (rc == TEMPER_OK) {
            rc = temper_buf_printf(&plats, "%s%s", i ? "," : "", p.platform);
        }
        plat_cleanup(&p);
    }
    if (rc == TEMPER_OK && n > 1) {
        rc = temper_oci_index_write(st, l, m, n, NULL, ref, &top);
    }
    if (rc == TEMPER_OK) {
        rc = describe(art, req, n > 1 ? &top : &m[0], plats.data);
    }
    for (size_t i = 0; m && i < n; i++) {
        temper_oci_descriptor_cleanup(&m[i]);
    }
    free(m);
    temper_oci_descriptor_cleanup(&top);
    temper_buf_cleanup(&plats);
    return rc;
}

static int apk_build(void *state, struct temper_stage *st, const struct temper_build_request *req)
{
    struct apk_state *s = state;
    int rc = check_request(s, st, req);
    if (rc != TEMPER_OK) {
        return rc;
    }
    struct temper_oci_layout *l = NULL;
    struct temper_http *http = NULL;
    struct temper_artifact *art = temper_artifact_new(TEMPER_ART_IMAGE, req->def->name);
    char *ref = image_ref(req);
    if (!art || !ref) {
        rc = temper_fail(st, TEMPER_ENOMEM, "builder_apk: out of memory");
    }
    if (rc == TEMPER_OK) {
        rc = temper_oci_layout_create(st, req->layout_dir, &l);
    }
    if (rc == TEMPER_OK) {
        rc = temper_http_new(st, NULL, &http);
    }
    if (rc == TEMPER_OK) {
        rc = build_all(s, st, req, l, http, art, ref);
    }
    if (rc == TEMPER_OK) {
        rc = temper_emit(st, art);
        art = NULL;
    }
    temper_artifact_free(art);
    temper_http_free(http);
    temper_oci_layout_free(l);
    free(ref);
    return rc;
}

static const struct temper_builder_ops apk_ops = {
    .image_options = apk_image_options,
    .image_conf_size = sizeof(struct apk_image_conf),
    .build = apk_build,
};

TEMPER_PLUGIN(builder_apk) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_BUILDER,
    .name = "apk",
    .version = "0.1.0",
    .summary = "Minimal hardened OCI images from Alpine packages (signed APKINDEX, no scripts)",
    .options = apk_options,
    .conf_size = sizeof(struct apk_conf),
    .open = apk_open,
    .close = apk_close,
    .ops = &apk_ops,
    .ops_size = sizeof apk_ops,
};

/* temper — builder_source: an upstream release tarball compiled in a
 * sandbox and layered onto a hardened Debian runtime base.
 *
 *   [builder "source"]            builder_deb's keys (mirror, keyring, ...)
 *   plugin  = source              and the sandbox's limits
 *   mirror  = https://deb.debian.org/debian
 *
 *   [image]                       packages = the runtime base packages
 *   [build]
 *   tarball       = https://example.org/hello-{version}.tar.gz
 *   sha256        = <hex>         (or recorded on the first fetch)
 *   build_depends = gcc make libc6-dev
 *   step          = ./configure --prefix=/usr
 *   step          = make
 *   step          = make install DESTDIR=/staging
 *   install       = /usr/bin/hello
 *   patch         = fix-cve.patch
 *
 * One build: the tarball is fetched (source_fetch.c), checked against its
 * sha256, extracted safely and patched; the build root is assembled from
 * the build dependencies by builder_deb's code and cached (source_root.c);
 * each step runs as `/bin/sh -c STEP` in the SDK sandbox (no network, the
 * root read-only except /build, /staging and a tmpfs /tmp, a time limit);
 * the files of /staging matching `install` are scanned for ELF DT_NEEDED,
 * each soname mapped to the build dependency that ships it, and the image
 * is the hardened runtime base of `packages` plus those packages, with the
 * staged files as a second layer (source_image.c).  The tarball, its
 * sha256, the patches and the build dependencies are recorded on the image
 * artifact (TEMPER_ATTR_BUILD_INPUTS) for the provenance.
 *
 * alpine:* images (source_apk.c): the builder's `repositories` and `keys`
 * instead of `mirror`; build_depends are apk dependencies (busybox gives
 * /bin/sh), resolved, fetched and checked against the signed APKINDEX by
 * builder_apk's code; a DT_NEEDED soname becomes the world entry so:SONAME
 * of the runtime base (the APKINDEX p:so: provides pick the package, musl
 * for libc.musl-x86_64.so.1).  Tested offline only, with an Alpine-format
 * repository made by the test suite from Debian's busybox-static and musl
 * (tests/lib/apk_from_deb.py): there is no Alpine mirror on the test machine.
 *
 *   github = OWNER/REPO           instead of tarball: the tag tarball of the
 *   tag    = v{version}           repository the image's tracker watches,
 *                                 through the API (source_github.c) */
#include "config.h"
#include "source.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEB_KEY(k) offsetof(struct source_conf, deb.k)

static const char *const compressions[] = { "gzip", "zstd", NULL };

static const struct temper_option source_options[] = {
    { TEMPER_OPT_STR, "mirror", NULL, 0, DEB_KEY(mirror), 0, 0, NULL,
      "URL of the Debian archive the build root and the runtime base of debian:* (and "
      "other dpkg) images come from" },
    { TEMPER_OPT_LIST, "repositories", NULL, 0, offsetof(struct source_conf, apk.repositories),
      0, 0, NULL, "Alpine repository URLs (<url>/<arch>/APKINDEX.tar.gz) the build root and "
      "the runtime base of alpine:* images come from" },
    { TEMPER_OPT_LIST, "keys", NULL, 0, offsetof(struct source_conf, apk.keys), 0, 0, NULL,
      "RSA public key files (PEM, as in /etc/apk/keys) that sign the Alpine indexes" },
    { TEMPER_OPT_STR, "suite", NULL, 0, DEB_KEY(suite), 0, 0, NULL,
      "suite or codename; default: the RELEASE of the image's distribution" },
    { TEMPER_OPT_LIST, "components", "main", 0, DEB_KEY(components), 0, 0, NULL,
      "archive components whose Packages indexes are searched, in order" },
    { TEMPER_OPT_PATH, "keyring", NULL, 0, DEB_KEY(keyring), 0, 0, NULL,
      "OpenPGP keyring that signs the InRelease file, checked with gpgv" },
    { TEMPER_OPT_BOOL, "allow_unsigned", "false", 0, DEB_KEY(allow_unsigned), 0, 0, NULL,
      "use the InRelease without checking its signature (a trusted local mirror)" },
    { TEMPER_OPT_BOOL, "check_valid_until", "true", 0, DEB_KEY(check_valid_until), 0, 0, NULL,
      "refuse an InRelease past its Valid-Until date" },
    { TEMPER_OPT_PATH, "cache_dir", NULL, 0, DEB_KEY(cache_dir), 0, 0, NULL,
      "where indexes, .deb files, layers and build roots are kept; default: the stage's "
      "cache directory" },
    { TEMPER_OPT_BOOL, "merged_usr", "false", 0, DEB_KEY(merged_usr), 0, 0, NULL,
      "make /bin, /sbin and /lib* symlinks into /usr before unpacking" },
    { TEMPER_OPT_DURATION, "timeout", "30m", 0, offsetof(struct source_conf, timeout), 1000,
      86400000, NULL, "time limit of each recipe step; everything it started is killed" },
    { TEMPER_OPT_SIZE, "max_output", "16M", 0, offsetof(struct source_conf, max_output), 4096,
      1LL << 32, NULL, "bytes of stdout (and of stderr) a step may write" },
    { TEMPER_OPT_SIZE, "max_tarball", "1G", 0, offsetof(struct source_conf, max_tarball), 1024,
      1LL << 40, NULL, "largest tarball fetched" },
    { TEMPER_OPT_SIZE, "max_unpacked", "8G", 0, offsetof(struct source_conf, max_unpacked),
      1024, 1LL << 42, NULL, "largest unpacked size of the tarball" },
    { TEMPER_OPT_INT, "max_procs", "4096", 0, offsetof(struct source_conf, max_procs), 16,
      1000000, NULL, "RLIMIT_NPROC of the recipe" },
    { TEMPER_OPT_SIZE, "max_memory", "0", 0, offsetof(struct source_conf, max_memory), 0, 0,
      NULL, "address space limit of each process of the recipe; 0 = none" },
    { TEMPER_OPT_SIZE, "tmp_size", "1G", 0, offsetof(struct source_conf, tmp_size), 1 << 20,
      1LL << 40, NULL, "size of the tmpfs on /tmp inside the sandbox" },
    { TEMPER_OPT_STR, "github_api", "https://api.github.com", 0,
      offsetof(struct source_conf, github_api), 0, 0, NULL,
      "GitHub API base for `github = OWNER/REPO` (GitHub Enterprise: "
      "https://HOST/api/v3); https, or http on 127.0.0.1/localhost only" },
    { TEMPER_OPT_PATH, "github_token_file", NULL, TEMPER_OPT_SECRET,
      offsetof(struct source_conf, github_token_file), 0, 0, NULL,
      "file whose first line is the GitHub token sent (as Bearer) to the API host only" },
    TEMPER_OPTION_END,
};

#define IMG_KEY(k) offsetof(struct source_image_conf, k)

static const struct temper_option source_image_options[] = {
    TEMPER_HARDEN_OPTIONS(struct source_image_conf, deb.harden),
    { TEMPER_OPT_ENUM, "compression", "gzip", 0, IMG_KEY(deb.compression), 0, 0, compressions,
      "layer compression" },
    { TEMPER_OPT_STR, "tarball", NULL, 0, IMG_KEY(tarball), 0, 0, NULL,
      "the release tarball: an http(s):// URL, a file:// URL or an absolute path; {name} and "
      "{version} are replaced by the image's name and accepted upstream version" },
    { TEMPER_OPT_STR, "github", NULL, 0, IMG_KEY(github), 0, 0, NULL,
      "instead of tarball: OWNER/REPO, the GitHub repository (the one the image's tracker "
      "watches) whose tag `tag` is fetched through the API's tarball endpoint "
      "(GET {github_api}/repos/OWNER/REPO/tarball/TAG, redirected to codeload)" },
    { TEMPER_OPT_STR, "tag", "v{version}", 0, IMG_KEY(tag), 0, 0, NULL,
      "the tag of `github`; {name} and {version} are replaced as in tarball" },
    { TEMPER_OPT_STR, "sha256", NULL, 0, IMG_KEY(sha256), 0, 0, NULL,
      "expected sha256 of the tarball; unset: recorded on the first fetch of a URL and "
      "enforced afterwards" },
    { TEMPER_OPT_LIST, "build_depends", NULL, 0, IMG_KEY(build_depends), 0, 0, NULL,
      "packages of the build root: Debian packages (the Essential set is always there), or "
      "apk dependencies for alpine:* images (busybox for /bin/sh)" },
    { TEMPER_OPT_STR, "step", NULL, TEMPER_OPT_MULTI | TEMPER_OPT_REQUIRED, IMG_KEY(steps), 0,
      0, NULL, "a recipe step, run as /bin/sh -c STEP in the source tree; repeat the key, "
      "steps run in order; install into /staging (DESTDIR=/staging)" },
    { TEMPER_OPT_LIST, "install", "/*", 0, IMG_KEY(install), 0, 0, NULL,
      "globs (fnmatch, '*' crosses '/') of staged paths that go into the image" },
    { TEMPER_OPT_PATH, "patch", NULL, TEMPER_OPT_MULTI, IMG_KEY(patches), 0, 0, NULL,
      "a patch (unified diff or git format-patch) applied to the source tree before the "
      "build, -p1; repeat the key" },
    TEMPER_OPTION_END,
};

int source_mkdir(struct source_build *b, const char *dir)
{
    return deb_mkdirs(b->st, dir);
}

void source_strlist_cleanup(struct temper_strlist *l)
{
    for (size_t i = 0; l->v && i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int source_strlist_push(struct temper_strlist *l, const char *s)
{
    char **nv = realloc(l->v, (l->n + 2) * sizeof *nv);
    if (!nv) {
        return TEMPER_ENOMEM;
    }
    l->v = nv;
    l->v[l->n] = strdup(s);
    if (!l->v[l->n]) {
        return TEMPER_ENOMEM;
    }
    l->v[++l->n] = NULL;
    return TEMPER_OK;
}

bool source_strlist_has(const struct temper_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

void source_deb_ctx(struct source_build *b, struct deb_build *d, struct temper_image_def *def,
                    struct temper_build_request *req, const struct temper_strlist *packages,
                    const char *variant)
{
    *def = *b->req->def;
    def->packages = packages;
    *req = *b->req;
    req->def = def;
    req->variant = variant;
    req->source_date_epoch = b->epoch;
    memset(d, 0, sizeof *d);
    d->s = &b->s->deb;
    d->st = b->st;
    d->req = req;
    d->ic = &b->ic->deb;
    d->http = b->http;
    d->platform = b->platform;
    snprintf(d->arch, sizeof d->arch, "%s", b->arch);
    snprintf(d->goarch, sizeof d->goarch, "%s", b->goarch);
}

/* The Debian side of the conf, when `mirror` is set. */
static int open_deb(struct temper_stage *st, const struct source_conf *c)
{
    if (!c->deb.mirror) {
        return c->apk.repositories.n ? TEMPER_OK
                                     : temper_fail(st, TEMPER_EINVAL, "set `mirror` (Debian) "
                                                   "or `repositories` and `keys` (Alpine)");
    }
    if (!c->deb.keyring && !c->deb.allow_unsigned) {
        return temper_fail(st, TEMPER_EINVAL, "set `keyring` to the archive's OpenPGP keyring "
                           "(or allow_unsigned = yes for a trusted local mirror)");
    }
    if (strncmp(c->deb.mirror, "http://", 7) != 0 && strncmp(c->deb.mirror, "https://", 8) != 0) {
        return temper_fail(st, TEMPER_EINVAL, "mirror %s: only http:// and https:// URLs",
                           c->deb.mirror);
    }
    return TEMPER_OK;
}

/* The Alpine side: repository URLs without a trailing '/', the keys. */
static int open_apk(struct temper_stage *st, const struct source_conf *c,
                    struct source_state *s)
{
    s->apk = c->apk; /* lists borrowed from the conf */
    s->apk.max_package_size = c->max_tarball;
    s->apk.max_index_size = 256ull << 20;
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < c->apk.repositories.n; i++) {
        const char *u = c->apk.repositories.v[i];
        size_t n = strlen(u);
        while (n > 0 && u[n - 1] == '/') {
            n--;
        }
        char *copy = strndup(u, n);
        bool web = strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0;
        rc = !copy ? TEMPER_ENOMEM : web ? source_strlist_push(&s->apk_urls, copy) : TEMPER_EINVAL;
        free(copy);
        rc = rc == TEMPER_EINVAL ? temper_fail(st, rc, "repository %s: not an http(s) URL", u)
                                 : rc;
    }
    if (rc == TEMPER_OK && c->apk.repositories.n && !c->apk.keys.n) {
        rc = temper_fail(st, TEMPER_EINVAL, "repositories need `keys` (the RSA public keys "
                         "that sign their APKINDEX)");
    }
    return rc == TEMPER_OK && c->apk.keys.n ? apk_keys_load(st, &c->apk.keys, &s->keys) : rc;
}

static void source_close(void *state)
{
    struct source_state *s = state;
    if (s) {
        apk_keys_cleanup(&s->keys);
        source_strlist_cleanup(&s->apk_urls);
        free(s->deb.cache);
        free(s);
    }
}

static int source_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct source_conf *c = conf;
    int rc = open_deb(st, c);
    if (rc != TEMPER_OK) {
        return rc;
    }
    const char *cache = c->deb.cache_dir ? c->deb.cache_dir : temper_stage_cachedir(st);
    if (!cache) {
        return temper_fail(st, TEMPER_EINVAL, "no cache directory: set cache_dir");
    }
    struct source_state *s = calloc(1, sizeof *s);
    if (!s || !(s->deb.cache = strdup(cache))) {
        free(s);
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    s->deb.conf = &c->deb;
    s->conf = c;
    rc = open_apk(st, c, s);
    if (rc != TEMPER_OK) {
        source_close(s);
        return rc == TEMPER_ENOMEM ? temper_fail(st, rc, "out of memory") : rc;
    }
    *state = s;
    return TEMPER_OK;
}

/* Native builds only: the recipe runs on this machine. */
static int platform(struct source_build *b)
{
#if defined(__x86_64__)
    static const char *const native[] = { "linux/amd64", "amd64", "amd64" };
#elif defined(__aarch64__)
    static const char *const native[] = { "linux/arm64", "arm64", "arm64" };
#else
    static const char *const native[] = { "", "", "" };
#endif
    const struct temper_build_request *req = b->req;
    if (req->n_platforms != 1 || (strcmp(req->platforms[0], native[0]) != 0 &&
                                  !(strcmp(native[1], "arm64") == 0 &&
                                    strcmp(req->platforms[0], "linux/arm64/v8") == 0))) {
        return temper_fail(b->st, TEMPER_ENOTSUP, "image %s: builder_source builds for this "
                           "machine's platform only (%s), not %s", req->def->name,
                           native[0][0] ? native[0] : "unsupported",
                           req->n_platforms ? req->platforms[0] : "none");
    }
    b->platform = native[0];
    snprintf(b->arch, sizeof b->arch, "%s", native[1]);
    snprintf(b->goarch, sizeof b->goarch, "%s", native[2]);
    return TEMPER_OK;
}

static int prepare(struct source_build *b)
{
    const char *wd = temper_stage_workdir(b->st);
    b->work = temper_strdupf("%s/source", wd ? wd : b->s->deb.cache);
    b->srcdir = b->work ? temper_strdupf("%s/build", b->work) : NULL;
    b->staging = b->work ? temper_strdupf("%s/staging", b->work) : NULL;
    if (!b->work || !b->srcdir || !b->staging) {
        return temper_fail(b->st, TEMPER_ENOMEM, "out of memory");
    }
    int rc = platform(b);
    rc = rc == TEMPER_OK ? source_mkdir(b, b->work) : rc;
    if (rc == TEMPER_OK && (mkdir(b->srcdir, 0755) != 0 || mkdir(b->staging, 0755) != 0)) {
        rc = temper_fail(b->st, TEMPER_EIO, "cannot create %s/{build,staging} (left from an "
                         "earlier build?): %s", b->work, strerror(errno));
    }
    b->epoch = b->req->source_date_epoch > 0 ? b->req->source_date_epoch : 0;
    const char *dist = b->req->def->distribution;
    b->alpine = dist && strncmp(dist, "alpine:", 7) == 0;
    if (rc == TEMPER_OK && !b->alpine && !b->c->deb.mirror) {
        rc = temper_fail(b->st, TEMPER_EINVAL, "image %s: distribution %s needs the "
                         "builder's `mirror` (Debian)", b->req->def->name, dist ? dist : "unset");
    }
    return rc;
}

static void build_cleanup(struct source_build *b)
{
    for (size_t i = 0; b->patch_sha && i < b->ic->patches.n; i++) {
        free(b->patch_sha[i]);
    }
    free(b->patch_sha);
    source_strlist_cleanup(&b->files);
    source_strlist_cleanup(&b->needs);
    deb_set_cleanup(&b->bset);
    source_apk_cleanup(&b->apk);
    temper_http_free(b->http);
    free(b->bdeps_base);
    free(b->work);
    free(b->url);
    free(b->tarball);
    free(b->srcdir);
    free(b->top);
    free(b->staging);
    free(b->root);
}

static int source_build(void *state, struct temper_stage *st,
                        const struct temper_build_request *req)
{
    struct source_build b = { .st = st, .s = state, .req = req, .ic = req->image_conf };
    b.c = b.s->conf;
    struct temper_oci_layout *l = NULL;
    struct temper_oci_descriptor desc;
    memset(&desc, 0, sizeof desc);
    const char *ref = deb_choose_ref(req);
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_IMAGE, req->def->name);
    int rc = !b.ic ? temper_fail(st, TEMPER_EINVAL, "image %s: no [build] settings",
                                 req->def->name)
             : a   ? prepare(&b)
                   : TEMPER_ENOMEM;
    rc = rc == TEMPER_OK ? temper_http_new(st, NULL, &b.http) : rc;
    rc = rc == TEMPER_OK ? source_fetch(&b) : rc;
    rc = rc == TEMPER_OK ? source_extract(&b) : rc;
    rc = rc == TEMPER_OK ? source_patch(&b) : rc;
    rc = rc == TEMPER_OK ? (b.alpine ? source_apk_root(&b) : source_root(&b)) : rc;
    rc = rc == TEMPER_OK ? source_steps(&b) : rc;
    rc = rc == TEMPER_OK ? source_select(&b) : rc;
    rc = rc == TEMPER_OK ? source_runtime_needs(&b) : rc;
    rc = rc == TEMPER_OK ? temper_oci_layout_create(st, req->layout_dir, &l) : rc;
    rc = rc == TEMPER_OK ? source_image(&b, l, ref, &desc, a) : rc;
    rc = rc == TEMPER_OK ? deb_describe(a, req, &desc, b.platform) : rc;
    if (rc == TEMPER_OK) {
        rc = temper_emit(st, a);
        a = NULL;
    }
    if (rc == TEMPER_ENOMEM && !temper_stage_error(st)) {
        rc = temper_fail(st, rc, "out of memory");
    }
    temper_artifact_free(a);
    temper_oci_descriptor_cleanup(&desc);
    temper_oci_layout_free(l);
    build_cleanup(&b);
    return rc;
}

static const struct temper_builder_ops source_ops = {
    .image_options = source_image_options,
    .image_conf_size = sizeof(struct source_image_conf),
    .build = source_build,
};

TEMPER_PLUGIN(builder_source) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_BUILDER,
    .name = "source",
    .version = SOURCE_VERSION,
    .summary = "upstream release tarballs compiled in a network-less sandbox on a Debian or Alpine "
               "build root, layered onto a hardened runtime base",
    .options = source_options,
    .conf_size = sizeof(struct source_conf),
    .open = source_open,
    .close = source_close,
    .ops = &source_ops,
    .ops_size = sizeof(source_ops),
};

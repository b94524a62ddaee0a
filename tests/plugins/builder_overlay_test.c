/* builder_overlay through the harness: a base image and two artifacts (an
 * image artifact with tar layers, an ORAS-style file artifact) written with
 * the SDK into OCI layouts, the customization built on top, and the result
 * read back: layers, config overrides, filtered contents, reproducibility,
 * packages carried from the base, refusals; then skopeo and umoci (real OCI
 * clients) read the layout. */
#include "config.h"
#include "tests/lib/plugin_harness.h"
#include "tests/lib/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

struct file {
    const char *path;
    const char *data; /* NULL: a directory */
    unsigned mode;
};

static int layer(struct temper_oci_layout *l, const struct file *f, size_t n,
                 struct temper_oci_descriptor *d, char *diff_id)
{
    struct temper_oci_layer_opts lo = { .size = sizeof lo, .source_date_epoch = 1000 };
    struct temper_oci_layer *ly = NULL;
    int rc = temper_oci_layer_new(NULL, l, &lo, &ly);
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        struct temper_oci_entry e = {
            .path = f[i].path, .type = f[i].data ? TEMPER_OCI_ENTRY_FILE : TEMPER_OCI_ENTRY_DIR,
            .mode = f[i].mode, .uid = 7, .gid = 8, .mtime = 500,
        };
        rc = f[i].data ? temper_oci_layer_add_data(ly, &e, f[i].data, strlen(f[i].data))
                       : temper_oci_layer_add(ly, &e);
    }
    rc = rc == TEMPER_OK ? temper_oci_layer_finish(ly, d, diff_id) : rc;
    temper_oci_layer_free(ly);
    return rc;
}

/* An image of one layer per group of files. */
static int make_image(const char *path, const char *tag, const struct file *f,
                      const size_t *split, size_t n_layers, struct temper_oci_descriptor *out)
{
    struct temper_oci_layout *l = NULL;
    struct temper_oci_descriptor d[4];
    char ids[4][TEMPER_DIGEST_STR_LEN];
    const char *idp[4];
    memset(d, 0, sizeof d);
    int rc = temper_oci_layout_create(NULL, path, &l);
    for (size_t i = 0, at = 0; rc == TEMPER_OK && i < n_layers; at += split[i], i++) {
        rc = layer(l, f + at, split[i], &d[i], ids[i]);
        idp[i] = ids[i];
    }
    struct temper_oci_config c;
    memset(&c, 0, sizeof c);
    c.architecture = strdup("amd64");
    c.os = strdup("linux");
    c.user = strdup("0");
    c.created = strdup("1970-01-01T00:16:40Z");
    rc = rc == TEMPER_OK ? temper_oci_list_push(&c.env, "PATH=/usr/bin:/bin") : rc;
    rc = rc == TEMPER_OK ? temper_oci_list_push(&c.env, "LANG=C.UTF-8") : rc;
    rc = rc == TEMPER_OK ? temper_oci_list_push(&c.cmd, "/bin/sh") : rc;
    rc = rc == TEMPER_OK ? temper_oci_map_set(&c.labels, "vendor", "temper") : rc;
    rc = rc == TEMPER_OK ? temper_oci_image_write(NULL, l, &c, d, idp, n_layers, NULL, tag, out)
                         : rc;
    temper_oci_config_cleanup(&c);
    for (size_t i = 0; i < 4; i++) {
        temper_oci_descriptor_cleanup(&d[i]);
    }
    temper_oci_layout_free(l);
    return rc;
}

/* An ORAS-style artifact: empty config, one blob per file with a title. */
static int make_files(const char *path, const char *tag, const char *const *names,
                      const char *const *data, size_t n)
{
    struct temper_oci_layout *l = NULL;
    struct temper_oci_manifest m;
    memset(&m, 0, sizeof m);
    int rc = temper_oci_layout_create(NULL, path, &l);
    rc = rc == TEMPER_OK ? temper_oci_blob_write(NULL, l, TEMPER_OCI_MT_EMPTY, "{}", 2, &m.config)
                         : rc;
    m.artifact_type = strdup("application/vnd.example.config.v1");
    m.layers = calloc(n, sizeof *m.layers);
    m.n_layers = n;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = temper_oci_blob_write(NULL, l, "text/plain", data[i], strlen(data[i]),
                                   &m.layers[i]);
        rc = rc == TEMPER_OK ? temper_oci_map_set(&m.layers[i].annotations,
                                                  "org.opencontainers.image.title", names[i])
                             : rc;
    }
    char *json = NULL;
    size_t len = 0;
    struct temper_oci_descriptor d;
    memset(&d, 0, sizeof d);
    rc = rc == TEMPER_OK ? temper_oci_manifest_json(NULL, &m, &json, &len) : rc;
    rc = rc == TEMPER_OK ? temper_oci_blob_write(NULL, l, TEMPER_OCI_MT_MANIFEST, json, len, &d)
                         : rc;
    rc = rc == TEMPER_OK ? temper_oci_layout_tag(NULL, l, &d, tag) : rc;
    free(json);
    temper_oci_descriptor_cleanup(&d);
    temper_oci_manifest_cleanup(&m);
    temper_oci_layout_free(l);
    return rc;
}

/* ---- the build ------------------------------------------------------------- */

struct def {
    const char *base;
    const char *user;
    const char *version;
    const char *const *env;
    const char *const *entrypoint;
    const char *const *build; /* [build] key=value lines */
    const struct temper_artifact *base_art;
};

struct res {
    int rc;
    char err[512];
    char digest[80];
    char layout[128];
    struct temper_artifact *art;
};

static size_t count(const char *const *v)
{
    size_t n = 0;
    while (v && v[n]) {
        n++;
    }
    return n;
}

static int build(struct ph *h, const struct def *d, struct res *r)
{
    static int seq;
    memset(r, 0, sizeof *r);
    struct temper_strlist env = { count(d->env), (char **)d->env };
    struct temper_strlist ep = { count(d->entrypoint), (char **)d->entrypoint };
    struct temper_image_def def = {
        .size = sizeof def, .name = "custom", .base = d->base, .user = d->user,
        .version = d->version, .env = &env, .entrypoint = &ep,
    };
    const struct temper_builder_ops *ops = ph_ops(h);
    void *ic = NULL;
    char *err = NULL;
    r->rc = ph_fill(ops->image_options, ops->image_conf_size, d->build, &ic, &err);
    if (r->rc != TEMPER_OK) {
        snprintf(r->err, sizeof r->err, "%s", err ? err : "");
        free(err);
        return r->rc;
    }
    snprintf(r->layout, sizeof r->layout, "%s/out-%d", dir, seq++);
    const char *plat[] = { "linux/amd64" };
    struct temper_build_request req = {
        .size = sizeof req, .def = &def, .image_conf = ic, .variant = "runtime",
        .platforms = plat, .n_platforms = 1, .layout_dir = r->layout,
        .source_date_epoch = 1700000000, .base = d->base_art,
    };
    ph_clear_artifacts(h);
    temper_stage_reset(h->st);
    r->rc = ops->build(h->state, h->st, &req);
    const char *e = temper_stage_error(h->st);
    snprintf(r->err, sizeof r->err, "%s", e ? e : "");
    if (r->rc == TEMPER_OK && ph_artifact_count(h) == 1) {
        r->art = temper_artifact_dup(ph_artifact(h, 0));
        const char *dg = temper_artifact_get(r->art, TEMPER_ATTR_DIGEST);
        snprintf(r->digest, sizeof r->digest, "%s", dg ? dg : "");
    } else if (r->rc != TEMPER_OK) {
        printf("# build: %s\n", r->err);
    }
    ph_free_conf(ops->image_options, ic);
    return r->rc;
}

static void res_free(struct res *r)
{
    temper_artifact_free(r->art);
    r->art = NULL;
}

/* Read back the image a build wrote under `tag`. */
struct img {
    struct temper_oci_layout *l;
    struct temper_oci_manifest m;
    struct temper_oci_config c;
};

static int read_img(const char *layout, const char *tag, struct img *im)
{
    memset(im, 0, sizeof *im);
    const struct temper_oci_descriptor *d = NULL;
    int rc = temper_oci_layout_open(NULL, layout, &im->l);
    rc = rc == TEMPER_OK ? temper_oci_layout_find(NULL, im->l, tag, &d) : rc;
    rc = rc == TEMPER_OK ? temper_oci_read_manifest(NULL, im->l, d, &im->m) : rc;
    rc = rc == TEMPER_OK ? temper_oci_read_config(NULL, im->l, &im->m.config, &im->c) : rc;
    return rc;
}

static void img_free(struct img *im)
{
    temper_oci_manifest_cleanup(&im->m);
    temper_oci_config_cleanup(&im->c);
    temper_oci_layout_free(im->l);
}

static int rm_fn(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

/* Unpack every layer (whiteouts applied) into `root`. */
static int unpack(struct img *im, const char *root)
{
    mkdir(root, 0755);
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < im->m.n_layers; i++) {
        char *blob = temper_oci_blob_path(im->l, im->m.layers[i].digest);
        struct temper_oci_extract_opts xo = { .size = sizeof xo, .whiteouts = true };
        rc = blob ? temper_oci_layer_extract(NULL, blob, root, &xo) : TEMPER_ENOMEM;
        free(blob);
    }
    return rc;
}

static bool exists(const char *root, const char *path)
{
    char p[512];
    struct stat sb;
    snprintf(p, sizeof p, "%s%s", root, path);
    return lstat(p, &sb) == 0;
}

static bool has(const struct temper_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static int run(const char *const *argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- tests ------------------------------------------------------------------- */

static char base_ref[160], app_ref[160], files_ref[160], base_layout[128];
static struct temper_oci_descriptor base_desc, app_desc;

static int fixtures(void)
{
    static const struct file base_files[] = {
        { "bin", NULL, 0755 }, { "bin/sh", "#!busybox\n", 0755 },
        { "etc", NULL, 0755 }, { "etc/os-release", "ID=debian\n", 0644 },
    };
    static const size_t base_split[] = { 2, 2 };
    static const struct file app_files[] = {
        { "app", NULL, 0755 }, { "app/run.sh", "#!/bin/sh\necho hi\n", 0750 },
        { "app/data", NULL, 0755 }, { "app/data/x.txt", "secret build input\n", 0644 },
        { "usr", NULL, 0755 }, { "usr/share", NULL, 0755 }, { "usr/share/doc", NULL, 0755 },
        { "usr/share/doc/junk", "docs\n", 0644 },
    };
    static const size_t app_split[] = { 8 };
    static const char *const names[] = { "config.yaml", "motd" };
    static const char *const data[] = { "listen: 8080\n", "hello\n" };
    snprintf(base_layout, sizeof base_layout, "%s/base", dir);
    snprintf(base_ref, sizeof base_ref, "oci:%s:12", base_layout);
    snprintf(app_ref, sizeof app_ref, "oci:%s/app:2.0", dir);
    snprintf(files_ref, sizeof files_ref, "oci:%s/files:v1", dir);
    char p[128];
    int rc = make_image(base_layout, "12", base_files, base_split, 2, &base_desc);
    snprintf(p, sizeof p, "%s/app", dir);
    rc = rc == TEMPER_OK ? make_image(p, "2.0", app_files, app_split, 1, &app_desc) : rc;
    snprintf(p, sizeof p, "%s/files", dir);
    rc = rc == TEMPER_OK ? make_files(p, "v1", names, data, 2) : rc;
    return rc;
}

static void test_overlay(struct ph *h)
{
    char a1[256], a2[256];
    snprintf(a1, sizeof a1, "artifact=%s include=/app/** exclude=/app/data/*", app_ref);
    snprintf(a2, sizeof a2, "artifact=%s dest=/etc/app exclude=/etc/app/motd", files_ref);
    const char *const bkv[] = { a1, a2, "label=team=a", "label=vendor=acme",
                                "tag_suffix=-team", NULL };
    const char *const env[] = { "FOO=bar", "PATH=/app:/usr/bin", NULL };
    const char *const ep[] = { "/app/run.sh", NULL };
    struct def d = { .base = base_ref, .user = "1000", .version = "1.0", .env = env,
                     .entrypoint = ep, .build = bkv };
    struct res r, r2;
    struct img im;
    memset(&im, 0, sizeof im);
    TEST("a customization builds on a layout base with two artifacts")
    {
        CHECK_INT_EQ(build(h, &d, &r), TEMPER_OK);
        CHECK(r.art && strcmp(temper_artifact_get(r.art, TEMPER_ATTR_REF), "1.0-team") == 0);
        CHECK_INT_EQ(read_img(r.layout, "1.0-team", &im), TEMPER_OK);
    }
    struct img bm;
    memset(&bm, 0, sizeof bm);
    char tag[8] = "12";
    TEST("the base layers are kept with their digests, one layer per artifact on top")
    {
        CHECK_INT_EQ(read_img(base_layout, tag, &bm), TEMPER_OK);
        CHECK_INT_EQ((int)im.m.n_layers, 4);
        CHECK(im.m.n_layers == 4 && bm.m.n_layers == 2 &&
              strcmp(im.m.layers[0].digest, bm.m.layers[0].digest) == 0 &&
              strcmp(im.m.layers[1].digest, bm.m.layers[1].digest) == 0);
        CHECK_INT_EQ((int)im.c.diff_ids.n, 4);
        CHECK_INT_EQ((int)im.c.n_history, 2);
        CHECK_STR_EQ(temper_oci_map_get(&im.m.annotations, "org.opencontainers.image.base.digest"),
                     base_desc.digest);
        CHECK_STR_EQ(im.c.created, "2023-11-14T22:13:20Z");
    }
    TEST("overrides: user, env merged by name, entrypoint clears cmd, labels")
    {
        CHECK_STR_EQ(im.c.user, "1000");
        CHECK(has(&im.c.env, "PATH=/app:/usr/bin") && has(&im.c.env, "LANG=C.UTF-8") &&
              has(&im.c.env, "FOO=bar") && im.c.env.n == 3);
        CHECK(im.c.entrypoint.n == 1 && im.c.cmd.n == 0);
        CHECK_STR_EQ(temper_oci_map_get(&im.c.labels, "team"), "a");
        CHECK_STR_EQ(temper_oci_map_get(&im.c.labels, "vendor"), "acme");
    }
    char root[160];
    snprintf(root, sizeof root, "%s/root", dir);
    TEST("filters: only what include keeps and exclude does not drop; files under dest")
    {
        CHECK_INT_EQ(unpack(&im, root), TEMPER_OK);
        CHECK(exists(root, "/bin/sh") && exists(root, "/etc/os-release"));
        CHECK(exists(root, "/app/run.sh"));
        CHECK(!exists(root, "/app/data/x.txt"));
        CHECK(!exists(root, "/usr/share/doc/junk") && !exists(root, "/usr"));
        CHECK(exists(root, "/etc/app/config.yaml") && !exists(root, "/etc/app/motd"));
        char p[256];
        struct stat sb;
        snprintf(p, sizeof p, "%s/app/run.sh", root);
        CHECK(stat(p, &sb) == 0 && (sb.st_mode & 07777) == 0750);
    }
    nftw(root, rm_fn, 16, FTW_DEPTH | FTW_PHYS);
    TEST("two builds of the same inputs give the same digest")
    {
        CHECK_INT_EQ(build(h, &d, &r2), TEMPER_OK);
        CHECK_STR_EQ(r2.digest, r.digest);
    }
    TEST("skopeo and umoci read the customization")
    {
        char ref[256], bundle[160];
        snprintf(ref, sizeof ref, "oci:%s:1.0-team", r.layout);
        snprintf(bundle, sizeof bundle, "%s/bundle", dir);
        const char *const sk[] = { "skopeo", "inspect", ref, NULL };
        const char *const um[] = { "umoci", "unpack", "--rootless", "--image", ref + 4, bundle,
                                   NULL };
        const char *const skv[] = { "skopeo", "--version", NULL };
        if (run(skv) != 0 && !getenv("CI")) {
            tap_diag("skopeo missing: not checked");
        } else {
            CHECK_INT_EQ(run(sk), 0);
            CHECK_INT_EQ(run(um), 0);
            CHECK(exists(bundle, "/rootfs/app/run.sh"));
            nftw(bundle, rm_fn, 16, FTW_DEPTH | FTW_PHYS);
        }
    }
    img_free(&bm);
    img_free(&im);
    res_free(&r);
    res_free(&r2);
}

static void test_copy_and_base_artifact(struct ph *h)
{
    char a1[256];
    snprintf(a1, sizeof a1, "artifact=%s", app_ref);
    const char *const bkv[] = { a1, NULL };
    struct temper_artifact *base = temper_artifact_new(TEMPER_ART_IMAGE, "base");
    struct temper_package pk = { .size = sizeof pk, .name = "libssl3", .version = "3.0.11-1",
                                 .distribution = "debian:bookworm" };
    int rc = base ? temper_artifact_set_path(base, base_layout) : TEMPER_ENOMEM;
    rc = rc == TEMPER_OK ? temper_artifact_set(base, TEMPER_ATTR_DIGEST, base_desc.digest) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_add_package(base, &pk) : rc;
    struct def d = { .base = "image:base", .build = bkv, .base_art = base };
    struct res r;
    struct img im, am;
    memset(&im, 0, sizeof im);
    memset(&am, 0, sizeof am);
    TEST("the base comes from the core's base image artifact, with its packages")
    {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(build(h, &d, &r), TEMPER_OK);
        CHECK(r.art && temper_artifact_package_count(r.art) == 1 &&
              strcmp(temper_artifact_package(r.art, 0)->name, "libssl3") == 0);
        CHECK_STR_EQ(temper_artifact_get(r.art, "base_digest"), base_desc.digest);
    }
    TEST("an unfiltered artifact layer is copied as it is (same digest and diff_id)")
    {
        char p[128];
        snprintf(p, sizeof p, "%s/app", dir);
        CHECK_INT_EQ(read_img(r.layout, "latest", &im), TEMPER_OK);
        CHECK_INT_EQ(read_img(p, "2.0", &am), TEMPER_OK);
        CHECK(im.m.n_layers == 3 && am.m.n_layers == 1 &&
              strcmp(im.m.layers[2].digest, am.m.layers[0].digest) == 0 &&
              strcmp(im.c.diff_ids.v[2], am.c.diff_ids.v[0]) == 0);
        CHECK(im.c.cmd.n == 1 && strcmp(im.c.cmd.v[0], "/bin/sh") == 0);
    }
    img_free(&im);
    img_free(&am);
    res_free(&r);
    d.base_art = NULL;
    TEST("image:NAME without a published base is refused clearly")
    {
        CHECK(build(h, &d, &r) != TEMPER_OK);
        CHECK_STR_CONTAINS(r.err, "no published build");
    }
    temper_artifact_free(base);
}

static void test_refusals(struct ph *h)
{
    char bad_title[160], layout_bad[128];
    snprintf(layout_bad, sizeof layout_bad, "%s/badfiles", dir);
    snprintf(bad_title, sizeof bad_title, "artifact=oci:%s:v1", layout_bad);
    static const char *const names[] = { "../escape" };
    static const char *const data[] = { "x" };
    int rc = make_files(layout_bad, "v1", names, data, 1);
    struct res r;
    const char *const kv1[] = { bad_title, NULL };
    struct def d = { .base = base_ref, .build = kv1 };
    TEST("a file artifact whose title leaves its directory is refused")
    {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK(build(h, &d, &r) != TEMPER_OK);
        CHECK_STR_CONTAINS(r.err, "org.opencontainers.image.title");
    }
    char bad_line[256];
    snprintf(bad_line, sizeof bad_line, "artifact=%s include=app/*", app_ref);
    const char *const kv2[] = { bad_line, NULL };
    d.build = kv2;
    TEST("an artifact line with a relative glob is refused with its syntax")
    {
        CHECK(build(h, &d, &r) != TEMPER_OK);
        CHECK_STR_CONTAINS(r.err, "expected REF");
    }
    const char *const kv3[] = { "tag_suffix=!bad", NULL };
    d.build = kv3;
    TEST("a tag suffix that makes an invalid tag is refused")
    {
        CHECK(build(h, &d, &r) != TEMPER_OK);
        CHECK_STR_CONTAINS(r.err, "not a valid OCI tag");
    }
    char missing[160];
    snprintf(missing, sizeof missing, "oci:%s/nowhere:1", dir);
    d.base = missing;
    d.build = NULL;
    TEST("a missing base layout is refused naming it")
    {
        CHECK(build(h, &d, &r) != TEMPER_OK);
        CHECK_STR_CONTAINS(r.err, "nowhere");
    }
    d.base = "not a reference!";
    TEST("a base that is neither a layout nor a registry reference is refused, named")
    {
        CHECK(build(h, &d, &r) != TEMPER_OK);
        CHECK_STR_CONTAINS(r.err, "not a reference!");
    }
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/temper-ovl-XXXXXX");
    if (!mkdtemp(dir)) {
        printf("Bail out! no scratch directory\n");
        return 1;
    }
    struct ph h;
    char *err = NULL;
    static const char *const kv[] = { NULL };
    if (fixtures() != TEMPER_OK) {
        printf("Bail out! cannot write the fixture layouts\n");
        return 1;
    }
    if (ph_load(&h, TEMPER_KIND_BUILDER, "overlay", kv, &err) != TEMPER_OK ||
        ph_open(&h) != TEMPER_OK) {
        printf("Bail out! cannot load builder_overlay: %s\n", err ? err : "");
        free(err);
        return 1;
    }
    test_overlay(&h);
    test_copy_and_base_artifact(&h);
    test_refusals(&h);
    ph_close(&h);
    temper_oci_descriptor_cleanup(&base_desc);
    temper_oci_descriptor_cleanup(&app_desc);
    nftw(dir, rm_fn, 16, FTW_DEPTH | FTW_PHYS);
    return tap_done();
}

/* temper — builder_apk through the real loader and option code (plugin
 * harness), against loopback repositories laid out by apk_repo.py: the real
 * alpine-baselayout .apk with made-up dependencies, the REAL signed sample
 * index with its real key, the REAL v3.17 index, refused indexes (unsigned,
 * forged, unknown key), hostile packages (nothing written outside the
 * root), resolution errors, the package cache, several platforms. */
#include "config.h"
#include "tests/lib/plugin_harness.h"
#include "tests/lib/tap.h"

#include <curl/curl.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define REAL_SHA256 "e6e3c36ed2f991bd0168ea076d30ff7a9fed0bfabeedade500d8aa949bba1835"
#define ALPINE_KEY "alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub"

struct env {
    char dir[64];
    char canary[128];
    char key[1024], otherkey[1024], realkey[1024];
    pid_t srv;
    int port;
    int layouts;
};

static struct env E;

struct res {
    int rc;
    char err[4096];
    struct temper_artifact *art;
    size_t downloads;          /* "downloading" log lines of the last build */
    bool not_modified;         /* an index was revalidated (HTTP 304) */
};

/* ---- the repository and its server --------------------------------------------- */

static const char *python(void)
{
    const char *p = getenv("PYTHON3");
    return p && *p ? p : "python3";
}

/* Start argv with stdout on a pipe; *fd reads it. */
static pid_t spawn(const char *const *argv, int *fd)
{
    int p[2];
    if (pipe(p) != 0) {
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    *fd = p[0];
    return pid;
}

/* Does argv run and exit 0 (output discarded)? */
static bool runs(const char *const *argv)
{
    int fd = -1, status = -1;
    char sink[256];
    pid_t pid = spawn(argv, &fd);
    if (pid < 0) {
        return false;
    }
    while (read(fd, sink, sizeof sink) > 0) {
    }
    close(fd);
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static size_t read_some(int fd, char *buf, size_t size, bool line)
{
    size_t n = 0;
    while (n + 1 < size) {
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0) {
            break;
        }
        n++;
        if (line && buf[n - 1] == '\n') {
            break;
        }
    }
    buf[n] = '\0';
    return n;
}

static void fact(const char *text, const char *key, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "%s ", key);
    const char *p = strstr(text, pat);
    size_t n = p ? strcspn(p + strlen(pat), "\n") : 0;
    snprintf(out, size, "%.*s", (int)n, p ? p + strlen(pat) : "");
}

static int scenario(void)
{
    const char *src = getenv("TEMPER_SRCDIR"), *data = getenv("TEMPER_DATA");
    char py[4096], out[256], samples[4096], text[8192];
    snprintf(py, sizeof py, "%s/tests/plugins/apk_repo.py", src ? src : ".");
    snprintf(out, sizeof out, "%s/s", E.dir);
    snprintf(samples, sizeof samples, "%s/samples/alpine", data ? data : "tests/data");
    const char *argv[] = { python(), py, "scenario", out, "--samples", samples, "--canary",
                           E.canary, NULL };
    int fd = -1, status = -1;
    pid_t pid = spawn(argv, &fd);
    if (pid < 0) {
        return -1;
    }
    read_some(fd, text, sizeof text, false);
    close(fd);
    waitpid(pid, &status, 0);
    fact(text, "key", E.key, sizeof E.key);
    fact(text, "otherkey", E.otherkey, sizeof E.otherkey);
    fact(text, "realkey", E.realkey, sizeof E.realkey);
    const char *serve[] = { python(), py, "serve", NULL, NULL };
    char repo[256];
    snprintf(repo, sizeof repo, "%s/s/repo", E.dir);
    serve[3] = repo;
    E.srv = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? spawn(serve, &fd) : -1;
    if (E.srv < 0) {
        return -1;
    }
    read_some(fd, text, sizeof text, true);
    close(fd);
    return sscanf(text, "PORT %d", &E.port) == 1 ? 0 : -1;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

/* ---- builds -------------------------------------------------------------------- */

static void split(char *s, char **v, size_t max, size_t *n)
{
    *n = 0;
    for (char *p = s; p && *p && *n + 1 < max;) {
        v[(*n)++] = p;
        p = strchr(p, ' ');
        if (p) {
            *p++ = '\0';
        }
    }
    v[*n] = NULL;
}

static int build_on(struct ph *h, const char *packages, const char *platforms,
                    const char *variant, const char *base, struct res *r)
{
    char pk[1024], pl[256];
    char *pv[32], *plv[8];
    size_t npk = 0, npl = 0;
    snprintf(pk, sizeof pk, "%s", packages);
    snprintf(pl, sizeof pl, "%s", platforms);
    split(pk, pv, 32, &npk);
    split(pl, plv, 8, &npl);
    struct temper_strlist list = { npk, pv };
    struct temper_image_def def = { .size = sizeof def, .name = "apktest", .packages = &list,
                                    .distribution = "alpine:v3.16", .base = base };
    char *layout = temper_strdupf("%s/layout-%d", E.dir, E.layouts++);
    struct temper_build_request req = {
        .size = sizeof req, .def = &def, .variant = variant,
        .platforms = (const char *const *)plv, .n_platforms = npl, .layout_dir = layout,
    };
    const struct temper_builder_ops *ops = ph_ops(h);
    ph_clear_artifacts(h);
    temper_stage_reset(h->st);
    char *before = ph_log_text();
    r->rc = ops->build(h->state, h->st, &req);
    char *after = ph_log_text();
    r->downloads = 0;
    const char *p = after ? strstr(after + (before ? strlen(before) : 0), "downloading") : NULL;
    while (p) {
        r->downloads++;
        p = strstr(p + 1, "downloading");
    }
    const char *tail = after ? after + (before ? strlen(before) : 0) : "";
    r->not_modified = strstr(tail, "not modified, using the cached copy") != NULL;
    if (getenv("APK_TEST_LOG")) {
        printf("%s", tail);
    }
    const char *e = temper_stage_error(h->st);
    snprintf(r->err, sizeof r->err, "%s", e ? e : "");
    temper_artifact_free(r->art);
    r->art = r->rc == TEMPER_OK && ph_artifact_count(h) == 1
                 ? temper_artifact_dup(ph_artifact(h, 0)) : NULL;
    if (r->rc != TEMPER_OK) {
        printf("# build: %s\n", r->err);
    }
    free(before);
    free(after);
    free(layout);
    return r->rc;
}

/* kv: "repositories=..." and "keys=..." lines; NULL-terminated. */
static int build(const char *const *kv, const char *packages, const char *platforms,
                 const char *variant, struct res *r)
{
    struct ph h;
    char *err = NULL;
    int rc = ph_load(&h, TEMPER_KIND_BUILDER, "apk", kv, &err);
    if (rc == TEMPER_OK) {
        rc = ph_open(&h);
        if (rc != TEMPER_OK) {
            const char *e = temper_stage_error(h.st);
            snprintf(r->err, sizeof r->err, "%s", e ? e : "");
        }
    } else {
        snprintf(r->err, sizeof r->err, "%s", err ? err : "");
    }
    if (rc == TEMPER_OK) {
        rc = build_on(&h, packages, platforms, variant, NULL, r);
    }
    r->rc = rc;
    ph_close(&h);
    free(err);
    return rc;
}

static char *repo_url(const char *name)
{
    static char buf[4][256];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, sizeof buf[0], "repositories=http://127.0.0.1:%d/%s", E.port, name);
    return p;
}

static char *keys_kv(const char *a, const char *b)
{
    static char buf[4][2200];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, sizeof buf[0], "keys=%s%s%s", a, b ? " " : "", b ? b : "");
    return p;
}

static const struct temper_package *pkg(const struct temper_artifact *a, const char *name)
{
    for (size_t i = 0; a && i < temper_artifact_package_count(a); i++) {
        const struct temper_package *p = temper_artifact_package(a, i);
        if (strcmp(p->name, name) == 0) {
            return p;
        }
    }
    return NULL;
}

static bool canary_empty(void)
{
    char p[256];
    struct stat sb;
    snprintf(p, sizeof p, "%s/pwned", E.canary);
    return lstat(p, &sb) != 0 && errno == ENOENT;
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_options(void)
{
    struct res r = { 0 };
    TEST("options are checked before anything is fetched")
    {
        const char *const no_keys[] = { repo_url("main"), NULL };
        CHECK(build(no_keys, "x", "linux/arm64", "runtime", &r) != TEMPER_OK);
        CHECK_STR_CONTAINS(r.err, "keys");
        const char *const ftp[] = { "repositories=ftp://127.0.0.1/main", keys_kv(E.key, NULL),
                                    NULL };
        CHECK_INT_EQ(build(ftp, "x", "linux/arm64", "runtime", &r), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(r.err, "ftp://127.0.0.1/main: not an http(s) URL");
        const char *const nokey[] = { repo_url("main"), "keys=/nonexistent/k.rsa.pub", NULL };
        CHECK_INT_EQ(build(nokey, "x", "linux/arm64", "runtime", &r), TEMPER_EIO);
        CHECK_STR_CONTAINS(r.err, "cannot read /nonexistent/k.rsa.pub");
        const char *const arch[] = { repo_url("main"), keys_kv(E.key, NULL), "arch=../x", NULL };
        CHECK_INT_EQ(build(arch, "x", "linux/arm64", "runtime", &r), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(r.err, "arch \"../x\" is not an apk architecture");
        const char *const plat[] = { repo_url("main"), keys_kv(E.key, NULL), NULL };
        CHECK_INT_EQ(build(plat, "x", "linux/mips", "runtime", &r), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(r.err, "platform linux/mips has no Alpine architecture");
    }
    temper_artifact_free(r.art);
}

static void test_build(void)
{
    struct res r = { 0 };
    const char *const kv[] = { repo_url("main"), keys_kv(E.key, NULL), "arch=aarch64", NULL };
    TEST("the real alpine-baselayout with its closure")
    {
        CHECK_INT_EQ(build(kv, "alpine-baselayout", "linux/amd64", "runtime", &r), TEMPER_OK);
        const struct temper_artifact *a = r.art;
        CHECK(a && temper_artifact_type(a) == TEMPER_ART_IMAGE);
        const char *d = a ? temper_artifact_get(a, TEMPER_ATTR_DIGEST) : NULL;
        CHECK(d && strncmp(d, "sha256:", 7) == 0 && strlen(d) == 71);
        CHECK_STR_EQ(a ? temper_artifact_get(a, TEMPER_ATTR_PLATFORM) : "", "linux/arm64/v8");
        CHECK_STR_EQ(a ? temper_artifact_get(a, TEMPER_ATTR_MEDIA_TYPE) : "",
                     "application/vnd.oci.image.manifest.v1+json");
        CHECK_INT_EQ(a ? temper_artifact_package_count(a) : 0, 5);
        const struct temper_package *p = pkg(a, "alpine-baselayout");
        CHECK(p != NULL);
        if (p) {
            CHECK_STR_EQ(p->version, "3.2.0-r23");
            CHECK_STR_EQ(p->purl, "pkg:apk/alpine/alpine-baselayout@3.2.0-r23?arch=aarch64");
            CHECK_STR_EQ(p->license, "GPL-2.0-only");
            CHECK_STR_EQ(p->supplier, "Natanael Copa <ncopa@alpinelinux.org>");
            CHECK_STR_EQ(p->sha256, REAL_SHA256);
            CHECK_STR_EQ(p->source, "alpine-baselayout");
            CHECK_STR_EQ(p->distribution, "alpine:v3.16");
            CHECK_STR_CONTAINS(p->url, "/main/aarch64/alpine-baselayout-3.2.0-r23.apk");
        }
        p = pkg(a, "musl");
        CHECK(p && strcmp(p->arch, "aarch64") == 0 && strcmp(p->license, "MIT") == 0);
        CHECK(canary_empty());
    }
    temper_artifact_free(r.art);
}

static void test_cache(void)
{
    struct res r = { 0 };
    const char *const kv[] = { repo_url("main"), keys_kv(E.key, NULL), NULL };
    struct ph h;
    char *err = NULL;
    TEST("a second build takes the packages from the cache")
    {
        CHECK_INT_EQ(ph_load(&h, TEMPER_KIND_BUILDER, "apk", kv, &err), TEMPER_OK);
        CHECK_INT_EQ(ph_open(&h), TEMPER_OK);
        CHECK_INT_EQ(build_on(&h, "busybox-binsh", "linux/arm64", "runtime", NULL, &r),
                     TEMPER_OK);
        CHECK_INT_EQ(r.downloads, 1);
        char first[80];
        snprintf(first, sizeof first, "%s",
                 r.art ? temper_artifact_get(r.art, TEMPER_ATTR_DIGEST) : "");
        CHECK_INT_EQ(build_on(&h, "busybox-binsh", "linux/arm64", "runtime", NULL, &r),
                     TEMPER_OK);
        CHECK_INT_EQ(r.downloads, 0);
        CHECK(r.not_modified);
        CHECK_STR_EQ(r.art ? temper_artifact_get(r.art, TEMPER_ATTR_DIGEST) : "", first);
        CHECK_INT_EQ(build_on(&h, "busybox-binsh", "linux/arm64", "runtime", "image:base", &r),
                     TEMPER_ENOTSUP);
        CHECK_STR_CONTAINS(r.err, "base images are the overlay builder's");
    }
    ph_close(&h);
    free(err);
    temper_artifact_free(r.art);
}

static void test_real_index(void)
{
    struct res r = { 0 };
    const char *const both[] = { repo_url("real"), repo_url("main"),
                                 keys_kv(E.realkey, E.key), NULL };
    const char *const real_only[] = { repo_url("real"), keys_kv(E.realkey, NULL), NULL };
    const char *const v317[] = { repo_url("v317"), keys_kv(E.key, E.realkey), NULL };
    TEST("the real signed sample index, verified with its real key")
    {
        CHECK_INT_EQ(build(both, "alpine-baselayout", "linux/arm64", "runtime", &r), TEMPER_OK);
        const struct temper_package *p = pkg(r.art, "alpine-baselayout");
        CHECK(p && strstr(p->url, "/real/aarch64/alpine-baselayout-3.2.0-r23.apk") != NULL);
        CHECK(p && strcmp(p->sha256, REAL_SHA256) == 0);
        CHECK_INT_EQ(build(real_only, "alpine-baselayout", "linux/arm64", "runtime", &r),
                     TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(r.err, "unsatisfiable dependency: world -> "
                                  "alpine-baselayout-3.2.0-r23 -> "
                                  "alpine-baselayout-data=3.2.0-r23: no package is or provides");
        CHECK_INT_EQ(build(v317, "busybox", "linux/arm64", "runtime", &r), TEMPER_ECRYPTO);
        CHECK_STR_CONTAINS(r.err, "/v317/aarch64/APKINDEX.tar.gz: signed by " ALPINE_KEY
                                  ", which none of the configured keys verifies");
    }
    temper_artifact_free(r.art);
}

static void test_refused_indexes(void)
{
    struct res r = { 0 };
    static const struct {
        const char *repo;
        const char *why;
    } cases[] = {
        { "unsigned", "/unsigned/aarch64/APKINDEX.tar.gz: the index is not signed" },
        { "badsig", "/badsig/aarch64/APKINDEX.tar.gz: the signature by "
                    "test@temper-5f1b2c3d.rsa.pub does not verify" },
        { "otherkey", "/otherkey/aarch64/APKINDEX.tar.gz: signed by "
                      "other@temper-00000000.rsa.pub, which none of the configured keys" },
        { "nosuchrepo", "/nosuchrepo/aarch64/APKINDEX.tar.gz" },
    };
    TEST("unsigned, forged and foreign indexes are refused")
    {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            const char *const kv[] = { repo_url(cases[i].repo), keys_kv(E.key, NULL), NULL };
            CHECK(build(kv, "busybox", "linux/arm64", "runtime", &r) != TEMPER_OK);
            CHECK_STR_CONTAINS(r.err, cases[i].why);
        }
    }
    temper_artifact_free(r.art);
}

static void test_hostile(void)
{
    struct res r = { 0 };
    const char *const kv[] = { repo_url("main"), keys_kv(E.key, NULL), NULL };
    static const struct {
        const char *pkg;
        const char *why;
    } cases[] = {
        { "evil-dotdot", "evil-dotdot-1.0-r0.apk: entry '../../" },
        { "evil-abs", "evil-abs-1.0-r0.apk: entry '/" },
        { "evil-symlink", "entry 'escape/pwned': its directory is a symlink of the same "
                          "package" },
        { "evil-symlink-rel", "entry 'up/pwned': its directory is a symlink" },
        { "evil-hardlink", "entry 'passwd': hardlink target is absolute, empty or has '..'" },
        { "evil-hardlink-abs", "entry 'passwd': hardlink target is absolute" },
        { "evil-hardlink-other", "entry 'shadow': hardlink target is not an earlier file" },
        { "evil-device", "entry 'dev/mem': device nodes are not allowed" },
        { "evil-fifo", "entry 'fifo': only files, directories, symlinks and hardlinks" },
        { "evil-control", "entry '.post-install': apk control file in the data part" },
        { "evil-checksum", "evil-checksum-1.0-r0.apk: checksum Q1" },
        { "evil-truncated", "evil-truncated-1.0-r0.apk: the data member does not match the "
                            "datahash" },
        { "evil-nodatahash", "evil-nodatahash-1.0-r0.apk: no datahash in .PKGINFO" },
    };
    TEST("hostile packages are refused, nothing lands outside the root")
    {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            CHECK(build(kv, cases[i].pkg, "linux/arm64", "runtime", &r) != TEMPER_OK);
            CHECK_STR_CONTAINS(r.err, cases[i].why);
            CHECK(canary_empty());
        }
        CHECK_INT_EQ(build(kv, "alpine-baselayout nosuch", "linux/arm64", "runtime", &r),
                     TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(r.err, "world -> nosuch: no package is or provides nosuch");
    }
    temper_artifact_free(r.art);
}

static void test_platforms(void)
{
    struct res r = { 0 };
    const char *const kv[] = { repo_url("main"), keys_kv(E.key, NULL), NULL };
    TEST("several platforms make an image index")
    {
        CHECK_INT_EQ(build(kv, "busybox-binsh", "linux/arm64 linux/amd64", "runtime", &r),
                     TEMPER_OK);
        const struct temper_artifact *a = r.art;
        CHECK_STR_EQ(a ? temper_artifact_get(a, TEMPER_ATTR_MEDIA_TYPE) : "",
                     "application/vnd.oci.image.index.v1+json");
        CHECK_STR_EQ(a ? temper_artifact_get(a, TEMPER_ATTR_PLATFORM) : "",
                     "linux/arm64,linux/amd64");
        CHECK_INT_EQ(a ? temper_artifact_package_count(a) : 0, 6);
        size_t x86 = 0;
        for (size_t i = 0; a && i < temper_artifact_package_count(a); i++) {
            x86 += strcmp(temper_artifact_package(a, i)->arch, "x86_64") == 0;
        }
        CHECK_INT_EQ(x86, 3);
        const char *const armset[] = { repo_url("main"), keys_kv(E.key, NULL), "arch=aarch64",
                                       NULL };
        CHECK_INT_EQ(build(armset, "busybox", "linux/arm64 linux/amd64", "runtime", &r),
                     TEMPER_EINVAL);
        CHECK_STR_CONTAINS(r.err, "arch is set: one platform only");
    }
    temper_artifact_free(r.art);
}

int main(void)
{
    snprintf(E.dir, sizeof E.dir, "/tmp/temper-apkb-123456");
    memset(E.dir + strlen(E.dir) - 6, 'X', 6); /* the mkdtemp() template */
    if (!mkdtemp(E.dir)) {
        printf("Bail out! no scratch directory\n");
        return 1;
    }
    snprintf(E.canary, sizeof E.canary, "%s/canary", E.dir);
    mkdir(E.canary, 0755);
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *const py_v[] = { python(), "--version", NULL };
    const char *const ssl_v[] = { "openssl", "version", NULL };
    if (!runs(py_v) || !runs(ssl_v)) {
        printf("1..0 # SKIP python3 or openssl missing (apt-get install -y python3 openssl)\n");
    } else if (ph_log_capture() != TEMPER_OK || scenario() != 0) {
        printf("Bail out! cannot lay out or serve the test repository (apk_repo.py)\n");
        tap_failed = 1;
    } else {
        test_options();
        test_build();
        test_cache();
        test_real_index();
        test_refused_indexes();
        test_hostile();
        test_platforms();
    }
    if (E.srv > 0) {
        kill(E.srv, SIGTERM);
        waitpid(E.srv, NULL, 0);
    }
    ph_log_release();
    curl_global_cleanup();
    nftw(E.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return tap_count ? tap_done() : tap_failed;
}

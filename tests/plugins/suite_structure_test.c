/* temper — suite_structure through the real loader and option code, on
 * images written with the SDK's OCI writer: declared file, content and
 * metadata checks passing and failing with messages that name the path;
 * each hardening rule failing on an image made to break it and passing on
 * a clean one; layer semantics (whiteouts, opaque directories, symlinked
 * parents, hardlinks); image indexes; and hostile layers refused cleanly. */
#include "config.h"
#include "tests/lib/tap.h"
#include "tests/plugins/suite_testlib.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

static char scratch[512];
static int layouts;

/* A key-shaped PEM block (random base64, not a real key). */
#define FAKE_KEY_BODY \
    "MIIEowIBAAKCAQEAzM1q7kqkD1mV7a3Zt5cZr0lQGm4iK9lWcJpX2tP3o8y0bH6f\n" \
    "Qm1T0b8hR2aXk1oYtE5vW3uJ9sD7gF4cN6pL2xA0zB5yV8nM1qK3wE7rT9uI0oP\n"
#define FAKE_PEM "-----BEGIN RSA PRIVATE KEY-----\n" FAKE_KEY_BODY "-----END RSA PRIVATE KEY-----\n"

static char *layout_dir(void)
{
    return temper_strdupf("%s/layout%d", scratch, ++layouts);
}

static int open_suite(struct ph *h, const char *const *kv)
{
    return stl_open(h, "structure", kv);
}

static int run(struct ph *h, const struct temper_artifact *art,
               const char *const *const *cases, size_t n, enum temper_verdict *v)
{
    return stl_run_logged(h, art, cases, n, v);
}

/* A clean image with an application, a config to check and a variant. */
static int clean_image(struct stl_image *im, const char *variant, struct temper_artifact **a)
{
    char *dir = layout_dir();
    int rc = dir ? stl_begin(im, dir) : TEMPER_ENOMEM;
    rc = rc ? rc : stl_base(im);
    rc = rc ? rc : stl_dir(im, "usr", 0755, 0);
    rc = rc ? rc : stl_dir(im, "usr/bin", 0755, 0);
    rc = rc ? rc : stl_file(im, "usr/bin/app", 0755, 0, "\177ELF pretend\n");
    rc = rc ? rc : stl_symlink(im, "bin", "usr/bin");
    rc = rc ? rc : stl_file(im, "etc/ssl-cert.pem", 0644, 0,
                            "-----BEGIN CERTIFICATE-----\n" FAKE_KEY_BODY
                            "-----END CERTIFICATE-----\n");
    rc = rc ? rc : stl_file(im, "usr/share-doc.txt", 0644, 0,
                            "put your key here:\n-----BEGIN RSA PRIVATE KEY-----\n...\n");
    rc = rc ? rc : temper_oci_list_push(&im->cfg.env, "PATH=/usr/bin:/bin");
    rc = rc ? rc : temper_oci_list_push(&im->cfg.env, "LANG=C.UTF-8");
    rc = rc ? rc : temper_oci_list_push(&im->cfg.entrypoint, "/usr/bin/app");
    rc = rc ? rc : temper_oci_list_push(&im->cfg.cmd, "--serve");
    rc = rc ? rc : temper_oci_list_push(&im->cfg.exposed_ports, "8080/tcp");
    rc = rc ? rc : temper_oci_map_set(&im->cfg.labels, "org.opencontainers.image.vendor",
                                      "ACME");
    im->cfg.working_dir = rc ? NULL : strdup("/home/nonroot");
    rc = rc ? rc : stl_finish(im, "clean", variant, a);
    free(dir);
    return rc;
}

/* The clean image and the plugin with default settings. */
static void open_clean(struct stl_image *im, struct temper_artifact **a, struct ph *h)
{
    CHECK_INT_EQ(clean_image(im, "runtime", a), TEMPER_OK);
    CHECK_INT_EQ(open_suite(h, NULL), TEMPER_OK);
}

static void test_options(void)
{
    TEST("options: defaults, refusals by the option code, describe table")
    {
        struct ph h;
        CHECK_INT_EQ(open_suite(&h, NULL), TEMPER_OK);
        const struct temper_suite_ops *ops = ph_ops(&h);
        CHECK(ops && ops->case_options && ops->case_conf_size > 0 && ops->run);
        ph_close(&h);
        static const char *const bad[] = { "secret_max_files=0", NULL };
        char *err = NULL;
        CHECK(ph_load(&h, TEMPER_KIND_SUITE, "structure", bad, &err) != TEMPER_OK);
        CHECK_STR_CONTAINS(err, "out of range");
        free(err);
        ph_close(&h);
        static const char *const bad_case[] = { "type=socket", NULL };
        void *conf = NULL;
        err = NULL;
        CHECK(open_suite(&h, NULL) == TEMPER_OK);
        ops = ph_ops(&h);
        CHECK(ph_fill(ops->case_options, ops->case_conf_size, bad_case, &conf, &err) !=
              TEMPER_OK);
        CHECK_STR_CONTAINS(err, "socket");
        free(err);
        ph_close(&h);
    }
}

static void test_clean(void)
{
    TEST("clean image: declared checks and every hardening rule pass")
    {
        struct stl_image im;
        struct temper_artifact *a = NULL;
        struct ph h;
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        open_clean(&im, &a, &h);
        static const char *const c1[] = { "name=os-release", "path=/etc/os-release",
                                          "type=file", "mode=0644", "uid=0", "gid=0",
                                          "executable=no", "contains=^ID=temper$",
                                          "contains=VERSION_ID=[0-9]+", "excludes=^ID=debian$",
                                          NULL };
        static const char *const c2[] = { "path=/bin/app", "executable=yes", "mode=755",
                                          NULL };
        static const char *const c3[] = { "name=no-shell", "path=/bin/sh", "exists=false",
                                          NULL };
        static const char *const c4[] = { "name=meta", "user=65532", "entrypoint=/usr/bin/app",
                                          "cmd=--serve", "env=LANG=C.UTF-8", "env=PATH",
                                          "workdir=/home/nonroot", "exposed_ports=8080",
                                          "labels=org.opencontainers.image.vendor=ACME",
                                          NULL };
        static const char *const c5[] = { "name=bin-link", "path=/bin", "type=symlink", NULL };
        static const char *const *const cases[] = { c1, c2, c3, c4, c5 };
        CHECK_INT_EQ(run(&h, a, cases, 5, &v), TEMPER_OK);
        CHECK_INT_EQ(v, TEMPER_VERDICT_PASS);
        CHECK_INT_EQ(temper_stage_case_count(h.st), 10);
        CHECK_INT_EQ(stl_status(&h, "os-release"), TEMPER_CASE_PASSED);
        CHECK_INT_EQ(stl_status(&h, "file /bin/app"), TEMPER_CASE_PASSED);
        CHECK_INT_EQ(stl_status(&h, "no-shell"), TEMPER_CASE_PASSED);
        CHECK_INT_EQ(stl_status(&h, "meta"), TEMPER_CASE_PASSED);
        CHECK_INT_EQ(stl_status(&h, "bin-link"), TEMPER_CASE_PASSED);
        static const char *const rules[] = { "no-setuid-files", "non-root-user",
                                             "no-shell-in-runtime", "no-world-writable",
                                             "no-secrets" };
        for (size_t i = 0; i < 5; i++) {
            CHECK_INT_EQ(stl_status(&h, rules[i]), TEMPER_CASE_PASSED);
            CHECK_STR_EQ(stl_case(&h, rules[i]) ? stl_case(&h, rules[i])->suite : NULL,
                         "hardening");
        }
        stl_done(&h, a, &im);
    }
}

static void test_declared_failures(void)
{
    TEST("declared checks fail with messages naming the path; bad input is an error case")
    {
        struct stl_image im;
        struct temper_artifact *a = NULL;
        struct ph h;
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        open_clean(&im, &a, &h);
        static const char *const c1[] = { "name=mode", "path=/etc/os-release", "mode=0600",
                                          "uid=5", "type=dir", NULL };
        static const char *const c2[] = { "name=content", "path=/etc/os-release",
                                          "contains=^ID=debian$", "excludes=^ID=temper", NULL };
        static const char *const c3[] = { "name=missing", "path=/opt/nothing", NULL };
        static const char *const c4[] = { "name=present", "path=/usr/bin/app", "exists=false",
                                          NULL };
        static const char *const c5[] = { "name=meta", "user=root", "entrypoint=/bin/sh", "cmd=",
                                          "env=LANG=en_US", "env=HOME", "workdir=/",
                                          "exposed_ports=443/tcp", "labels=vendor", NULL };
        static const char *const c6[] = { "name=regex", "path=/etc/os-release",
                                          "contains=(unclosed", NULL };
        static const char *const c7[] = { "name=empty", NULL };
        static const char *const c8[] = { "name=not-a-file", "path=/etc", "contains=x", NULL };
        static const char *const c9[] = { "name=badmode", "path=/etc", "mode=rwx", NULL };
        static const char *const *const cases[] = { c1, c2, c3, c4, c5, c6, c7, c8, c9 };
        CHECK_INT_EQ(run(&h, a, cases, 9, &v), TEMPER_OK);
        CHECK_INT_EQ(v, TEMPER_VERDICT_BLOCK);
        CHECK_INT_EQ(stl_status(&h, "mode"), TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(stl_message(&h, "mode"), "/etc/os-release has mode 0644, expected 0600");
        CHECK_STR_CONTAINS(stl_message(&h, "mode"), "owned by uid 0, expected 5");
        CHECK_STR_CONTAINS(stl_message(&h, "mode"), "is a file, expected a directory");
        CHECK_INT_EQ(stl_status(&h, "content"), TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(stl_message(&h, "content"), "/etc/os-release lacks /^ID=debian$/");
        CHECK_STR_CONTAINS(stl_message(&h, "content"), "matches excluded /^ID=temper/");
        CHECK_INT_EQ(stl_status(&h, "missing"), TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(stl_message(&h, "missing"), "/opt/nothing does not exist");
        CHECK_STR_CONTAINS(stl_message(&h, "present"), "/usr/bin/app exists");
        CHECK_INT_EQ(stl_status(&h, "meta"), TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(stl_message(&h, "meta"), "user is '65532', expected 'root'");
        CHECK_STR_CONTAINS(stl_message(&h, "meta"), "entrypoint is [/usr/bin/app], expected "
                                                   "[/bin/sh]");
        CHECK_STR_CONTAINS(stl_message(&h, "meta"), "cmd is [--serve], expected []");
        CHECK_STR_CONTAINS(stl_message(&h, "meta"), "env LANG is 'C.UTF-8', expected 'en_US'");
        CHECK_STR_CONTAINS(stl_message(&h, "meta"), "env HOME is not set");
        CHECK_STR_CONTAINS(stl_message(&h, "meta"), "workdir is '/home/nonroot'");
        CHECK_STR_CONTAINS(stl_message(&h, "meta"), "port 443/tcp is not exposed");
        CHECK_STR_CONTAINS(stl_message(&h, "meta"), "label vendor is not set");
        CHECK_INT_EQ(stl_status(&h, "regex"), TEMPER_CASE_ERROR);
        CHECK_STR_CONTAINS(stl_message(&h, "regex"), "bad regular expression /(unclosed/");
        CHECK_INT_EQ(stl_status(&h, "empty"), TEMPER_CASE_ERROR);
        CHECK_STR_CONTAINS(stl_message(&h, "empty"), "nothing to check");
        CHECK_INT_EQ(stl_status(&h, "not-a-file"), TEMPER_CASE_ERROR);
        CHECK_INT_EQ(stl_status(&h, "badmode"), TEMPER_CASE_ERROR);
        stl_done(&h, a, &im);
    }
}

/* Build an image whose last layer the callback fills, run the policy with
 * instance settings `kv`, return the named rule's case status and copy its
 * message. */
typedef int (*fill_fn)(struct stl_image *im);

static enum temper_case_status rule(fill_fn fill, const char *user, const char *variant,
                                    const char *const *kv, const char *name, char *msg,
                                    size_t cap)
{
    struct stl_image im;
    struct temper_artifact *a = NULL;
    struct ph h;
    enum temper_verdict v = TEMPER_VERDICT_NONE;
    enum temper_case_status s = (enum temper_case_status)-1;
    char *dir = layout_dir();
    int rc = dir ? stl_begin(&im, dir) : TEMPER_ENOMEM;
    rc = rc ? rc : stl_base(&im);
    rc = rc ? rc : stl_layer(&im);
    rc = rc ? rc : fill(&im);
    if (!rc && user) {
        free(im.cfg.user);
        im.cfg.user = *user ? strdup(user) : NULL;
    }
    rc = rc ? rc : stl_finish(&im, "r", variant, &a);
    rc = rc ? rc : open_suite(&h, kv);
    if (rc == TEMPER_OK && run(&h, a, NULL, 0, &v) == TEMPER_OK) {
        s = stl_status(&h, name);
        snprintf(msg, cap, "%s", stl_message(&h, name));
        CHECK_INT_EQ(v, s == TEMPER_CASE_FAILED ? TEMPER_VERDICT_BLOCK : TEMPER_VERDICT_PASS);
    }
    stl_done(&h, a, &im);
    free(dir);
    return s;
}

static int fill_nothing(struct stl_image *im)
{
    return stl_file(im, "usr/lib/readme", 0644, 0, "hello\n");
}

static int fill_setuid(struct stl_image *im)
{
    int rc = stl_file(im, "usr/bin/su", 04755, 0, "su\n");
    rc = rc ? rc : stl_file(im, "usr/bin/wall", 02755, 0, "wall\n");
    return rc ? rc : stl_dir(im, "var/mail", 02775, 0); /* setgid dirs are fine */
}

static int fill_setuid_whited_out(struct stl_image *im)
{
    int rc = stl_file(im, "usr/bin/su", 04755, 0, "su\n");
    rc = rc ? rc : stl_file(im, "opt/old/suid", 04755, 0, "x\n");
    rc = rc ? rc : stl_layer(im);
    rc = rc ? rc : stl_whiteout(im, "usr/bin/su", false);
    rc = rc ? rc : stl_dir(im, "opt/old", 0755, 0);
    return rc ? rc : stl_whiteout(im, "opt/old", true);
}

static int fill_setuid_hardlink(struct stl_image *im)
{
    int rc = stl_file(im, "usr/bin/mount", 04755, 0, "mount\n");
    rc = rc ? rc : stl_layer(im);
    rc = rc ? rc : stl_hardlink(im, "usr/sbin/mount2", "usr/bin/mount");
    /* an upper layer replaces the original without the bit: the link keeps it */
    return rc ? rc : stl_file(im, "usr/bin/mount", 0755, 0, "mount\n");
}

static int fill_shell(struct stl_image *im)
{
    int rc = stl_dir(im, "usr/bin", 0755, 0);
    rc = rc ? rc : stl_file(im, "usr/bin/dash", 0755, 0, "dash\n");
    rc = rc ? rc : stl_symlink(im, "usr/bin/sh", "dash");
    rc = rc ? rc : stl_symlink(im, "bin", "usr/bin");
    return rc ? rc : stl_file(im, "usr/bin/dpkg", 0755, 0, "dpkg\n");
}

static int fill_writable(struct stl_image *im)
{
    int rc = stl_dir(im, "data", 0777, 0);
    rc = rc ? rc : stl_file(im, "etc/app.conf", 0666, 0, "x=1\n");
    rc = rc ? rc : stl_dir(im, "var/tmp", 01777, 0);
    return rc ? rc : stl_symlink(im, "etc/link", "app.conf");
}

static int fill_toor(struct stl_image *im)
{
    return stl_file(im, "etc/passwd", 0644, 0,
                    "root:x:0:0::/root:/sbin/nologin\ntoor:x:0:0::/:/sbin/nologin\n"
                    "app:x:1000:1000::/:/sbin/nologin\n");
}

static void test_setuid(void)
{
    char msg[2048];
    TEST("hardening: no setuid/setgid files")
    {
        CHECK_INT_EQ(rule(fill_setuid, NULL, NULL, NULL, "no-setuid-files", msg, sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(msg, "/usr/bin/su (4755)");
        CHECK_STR_CONTAINS(msg, "/usr/bin/wall (2755)");
        CHECK(strstr(msg, "/var/mail") == NULL);
        static const char *const allow[] = { "setuid_allow=/usr/bin/su /usr/bin/w*", NULL };
        CHECK_INT_EQ(rule(fill_setuid, NULL, NULL, allow, "no-setuid-files", msg, sizeof msg),
                     TEMPER_CASE_PASSED);
        static const char *const off[] = { "no_setuid=false", NULL };
        CHECK_INT_EQ(rule(fill_setuid, NULL, NULL, off, "no-setuid-files", msg, sizeof msg),
                     TEMPER_CASE_SKIPPED);
        static const char *const all_off[] = { "hardening=false", NULL };
        CHECK_INT_EQ(rule(fill_setuid, NULL, NULL, all_off, "no-secrets", msg, sizeof msg),
                     TEMPER_CASE_SKIPPED);
        CHECK_INT_EQ(rule(fill_nothing, NULL, NULL, NULL, "no-setuid-files", msg, sizeof msg),
                     TEMPER_CASE_PASSED);
        /* a whiteout and an opaque directory remove them from the image */
        CHECK_INT_EQ(rule(fill_setuid_whited_out, NULL, NULL, NULL, "no-setuid-files", msg,
                          sizeof msg),
                     TEMPER_CASE_PASSED);
        CHECK_INT_EQ(rule(fill_setuid_hardlink, NULL, NULL, NULL, "no-setuid-files", msg,
                          sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(msg, "/usr/sbin/mount2 (4755)");
        CHECK(strstr(msg, "/usr/bin/mount ") == NULL);
    }
}

static void test_user(void)
{
    char msg[2048];
    TEST("hardening: the default user is not root")
    {
        CHECK_INT_EQ(rule(fill_nothing, "", NULL, NULL, "non-root-user", msg, sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(msg, "sets no user");
        CHECK_INT_EQ(rule(fill_nothing, "root", NULL, NULL, "non-root-user", msg, sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(msg, "user 'root' is root");
        CHECK_INT_EQ(rule(fill_nothing, "0:0", NULL, NULL, "non-root-user", msg, sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_INT_EQ(rule(fill_toor, "toor", NULL, NULL, "non-root-user", msg, sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(msg, "user 'toor' has uid 0 in /etc/passwd");
        CHECK_INT_EQ(rule(fill_toor, "ghost", NULL, NULL, "non-root-user", msg, sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(msg, "not in the image's /etc/passwd");
        CHECK_INT_EQ(rule(fill_toor, "app:app", NULL, NULL, "non-root-user", msg, sizeof msg),
                     TEMPER_CASE_PASSED);
        CHECK_INT_EQ(rule(fill_nothing, "nonroot", NULL, NULL, "non-root-user", msg,
                          sizeof msg),
                     TEMPER_CASE_PASSED);
        CHECK_INT_EQ(rule(fill_nothing, "65532:65532", NULL, NULL, "non-root-user", msg,
                          sizeof msg),
                     TEMPER_CASE_PASSED);
    }
}

static void test_runtime(void)
{
    char msg[2048];
    TEST("hardening: no shell or package manager in a runtime variant")
    {
        CHECK_INT_EQ(rule(fill_shell, NULL, "runtime", NULL, "no-shell-in-runtime", msg,
                          sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(msg, "/bin/sh"); /* through /bin -> usr/bin and sh -> dash */
        CHECK_STR_CONTAINS(msg, "/usr/bin/dpkg");
        /* dash is the same file as /bin/sh: named once */
        CHECK(strstr(msg, "/usr/bin/sh") == NULL && strstr(msg, "dash") == NULL);
        /* no variant attribute counts as runtime */
        CHECK_INT_EQ(rule(fill_shell, NULL, NULL, NULL, "no-shell-in-runtime", msg,
                          sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_INT_EQ(rule(fill_shell, NULL, "dev", NULL, "no-shell-in-runtime", msg,
                          sizeof msg),
                     TEMPER_CASE_SKIPPED);
        CHECK_STR_CONTAINS(msg, "'dev' is not a runtime variant");
        static const char *const dev_too[] = { "runtime_variants=runtime dev", NULL };
        CHECK_INT_EQ(rule(fill_shell, NULL, "dev", dev_too, "no-shell-in-runtime", msg,
                          sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_INT_EQ(rule(fill_nothing, NULL, "runtime", NULL, "no-shell-in-runtime", msg,
                          sizeof msg),
                     TEMPER_CASE_PASSED);
    }
}

static void test_writable(void)
{
    char msg[2048];
    TEST("hardening: no world-writable path without the sticky bit")
    {
        CHECK_INT_EQ(rule(fill_writable, NULL, NULL, NULL, "no-world-writable", msg,
                          sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(msg, "/data (0777)");
        CHECK_STR_CONTAINS(msg, "/etc/app.conf (0666)");
        CHECK(strstr(msg, "/var/tmp") == NULL && strstr(msg, "/tmp") == NULL);
        CHECK(strstr(msg, "/etc/link") == NULL);
        static const char *const allow[] = { "writable_allow=/data /etc/*.conf", NULL };
        CHECK_INT_EQ(rule(fill_writable, NULL, NULL, allow, "no-world-writable", msg,
                          sizeof msg),
                     TEMPER_CASE_PASSED);
        CHECK_INT_EQ(rule(fill_nothing, NULL, NULL, NULL, "no-world-writable", msg,
                          sizeof msg),
                     TEMPER_CASE_PASSED);
    }
}

static int fill_pem(struct stl_image *im)
{
    int rc = stl_file(im, "opt/app/server.pem", 0600, 0, "cert first\n" FAKE_PEM);
    /* a library with an embedded self-test key, as libgnutls has */
    rc = rc ? rc : stl_file(im, "usr/lib/libselftest.so", 0644, 0, "\177ELF..." FAKE_PEM);
    return rc ? rc : stl_hardlink(im, "opt/app/copy.pem", "opt/app/server.pem");
}

static int fill_credentials(struct stl_image *im)
{
    static const unsigned char der[80] = { 0x30, 0x82, 0x01, 0x22, 0x02, 0x01 };
    int rc = stl_file(im, "root/.docker/config.json", 0600, 0,
                      "{\"auths\":{\"registry.example\":{\"auth\":\"dXNlcjpwYXNz\"}}}");
    rc = rc ? rc : stl_file(im, "home/nonroot/.aws/credentials", 0600, 65532,
                            "[default]\naws_access_key_id = AKIAEXAMPLE\n"
                            "aws_secret_access_key = abc/def\n");
    rc = rc ? rc : stl_file(im, "home/nonroot/.ssh/id_ed25519", 0600, 65532, "key\n");
    rc = rc ? rc : stl_file(im, "root/.netrc", 0600, 0,
                            "machine example.org login u password p\n");
    rc = rc ? rc : stl_file(im, "root/.git-credentials", 0600, 0, "https://u:p@example.org\n");
    rc = rc ? rc : stl_data(im, "etc/app/tls.key", 0600, der, sizeof der);
    rc = rc ? rc : stl_file(im, "home/nonroot/.pgpass", 0600, 65532, "db:5432:*:u:p\n");
    rc = rc ? rc : stl_file(im, "home/nonroot/.ssh/id_ed25519.pub", 0644, 65532, "ssh-ed\n");
    /* harmless look-alikes */
    rc = rc ? rc : stl_file(im, "etc/empty/.docker/config.json", 0644, 0, "{\"auths\":{}}");
    static const char lib[] = "-----BEGIN \0RSA PRIVATE KEY\0-----\0ANY PRIVATE KEY";
    return rc ? rc : stl_data(im, "usr/lib/libcrypto-like.so", 0644, lib, sizeof lib - 1);
}

static int fill_many(struct stl_image *im)
{
    int rc = TEMPER_OK;
    for (int i = 0; rc == TEMPER_OK && i < 20; i++) {
        char p[64];
        snprintf(p, sizeof p, "opt/many/f%02d", i);
        rc = stl_file(im, p, 0644, 0, "data\n");
    }
    return rc;
}

static void test_secrets(void)
{
    char msg[4096];
    TEST("hardening: no private keys or credentials")
    {
        CHECK_INT_EQ(rule(fill_pem, NULL, NULL, NULL, "no-secrets", msg, sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(msg, "/opt/app/server.pem (PEM RSA PRIVATE KEY)");
        CHECK_STR_CONTAINS(msg, "/opt/app/copy.pem (PEM RSA PRIVATE KEY)");
        CHECK(strstr(msg, "MIIE") == NULL); /* never any content */
        CHECK(strstr(msg, "libselftest") == NULL);
        static const char *const binaries[] = { "secret_scan_binaries=true", NULL };
        CHECK_INT_EQ(rule(fill_pem, NULL, NULL, binaries, "no-secrets", msg, sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(msg, "/usr/lib/libselftest.so (PEM RSA PRIVATE KEY)");
        static const char *const allow[] = { "secret_allow=/opt/app/*", NULL };
        CHECK_INT_EQ(rule(fill_pem, NULL, NULL, allow, "no-secrets", msg, sizeof msg),
                     TEMPER_CASE_PASSED);
        CHECK_INT_EQ(rule(fill_credentials, NULL, NULL, NULL, "no-secrets", msg, sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(msg, "/root/.docker/config.json (container registry credentials)");
        CHECK_STR_CONTAINS(msg, "/home/nonroot/.aws/credentials (AWS credentials)");
        CHECK_STR_CONTAINS(msg, "/home/nonroot/.ssh/id_ed25519 (SSH private key file)");
        CHECK_STR_CONTAINS(msg, "/root/.netrc (netrc with a password)");
        CHECK_STR_CONTAINS(msg, "/root/.git-credentials (git credentials)");
        CHECK_STR_CONTAINS(msg, "/etc/app/tls.key (DER key material)");
        CHECK_STR_CONTAINS(msg, "/home/nonroot/.pgpass");
        CHECK(strstr(msg, "id_ed25519.pub") == NULL);
        CHECK(strstr(msg, "/etc/empty") == NULL);
        CHECK(strstr(msg, "libcrypto-like") == NULL);
        CHECK(strstr(msg, "dXNlcjpwYXNz") == NULL && strstr(msg, "abc/def") == NULL);
        /* the clean image's certificate and documentation are not keys */
        CHECK_INT_EQ(rule(fill_nothing, NULL, NULL, NULL, "no-secrets", msg, sizeof msg),
                     TEMPER_CASE_PASSED);
        static const char *const capped[] = { "secret_max_files=5", NULL };
        CHECK_INT_EQ(rule(fill_many, NULL, NULL, capped, "no-secrets", msg, sizeof msg),
                     TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(msg, "scan stopped after 5 files");
    }
}

static void test_layers(void)
{
    TEST("layers: symlinked parents, replaced files, opaque directories, an index")
    {
        struct stl_image im;
        struct temper_artifact *a = NULL;
        struct ph h;
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        char *dir = layout_dir();
        int rc = dir ? stl_begin(&im, dir) : TEMPER_ENOMEM;
        rc = rc ? rc : stl_base(&im);
        rc = rc ? rc : stl_dir(&im, "usr/lib", 0755, 0);
        rc = rc ? rc : stl_symlink(&im, "lib", "usr/lib");
        rc = rc ? rc : stl_file(&im, "etc/motd", 0644, 0, "old\n");
        rc = rc ? rc : stl_file(&im, "srv/old/gone", 0644, 0, "gone\n");
        rc = rc ? rc : stl_layer(&im);
        rc = rc ? rc : stl_file(&im, "lib/libx.so", 0644, 0, "x\n");
        rc = rc ? rc : stl_file(&im, "etc/motd", 0640, 0, "new\n");
        rc = rc ? rc : stl_dir(&im, "srv/old", 0755, 0);
        rc = rc ? rc : stl_whiteout(&im, "srv/old", true);
        rc = rc ? rc : stl_file(&im, "srv/old/kept", 0644, 0, "kept\n");
        rc = rc ? rc : stl_finish(&im, "layers", NULL, &a);
        struct temper_oci_descriptor idx;
        memset(&idx, 0, sizeof idx);
        rc = rc ? rc : temper_oci_index_write(NULL, im.l, &im.manifest, 1, NULL, "multi", &idx);
        rc = rc ? rc : temper_artifact_set(a, TEMPER_ATTR_DIGEST, idx.digest);
        rc = rc ? rc : temper_artifact_set(a, TEMPER_ATTR_MEDIA_TYPE, TEMPER_OCI_MT_INDEX);
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(open_suite(&h, NULL), TEMPER_OK);
        static const char *const c1[] = { "name=via-link", "path=/usr/lib/libx.so", NULL };
        static const char *const c2[] = { "name=motd", "path=/etc/motd", "mode=0640",
                                          "contains=^new$", NULL };
        static const char *const c3[] = { "name=opaque", "path=/srv/old/gone", "exists=false",
                                          NULL };
        static const char *const c4[] = { "name=kept", "path=/srv/old/kept", NULL };
        static const char *const *const cases[] = { c1, c2, c3, c4 };
        CHECK_INT_EQ(run(&h, a, cases, 4, &v), TEMPER_OK);
        CHECK_INT_EQ(v, TEMPER_VERDICT_PASS);
        CHECK_INT_EQ(stl_status(&h, "via-link"), TEMPER_CASE_PASSED);
        CHECK_INT_EQ(stl_status(&h, "motd"), TEMPER_CASE_PASSED);
        CHECK_INT_EQ(stl_status(&h, "opaque"), TEMPER_CASE_PASSED);
        CHECK_INT_EQ(stl_status(&h, "kept"), TEMPER_CASE_PASSED);
        /* found by ref alone too */
        rc = temper_artifact_set(a, TEMPER_ATTR_DIGEST, NULL);
        rc = rc ? rc : temper_artifact_set(a, TEMPER_ATTR_MEDIA_TYPE, NULL);
        rc = rc ? rc : temper_artifact_set(a, TEMPER_ATTR_REF, "multi");
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(run(&h, a, cases, 4, &v), TEMPER_OK);
        CHECK_INT_EQ(v, TEMPER_VERDICT_PASS);
        ph_close(&h);
        temper_oci_descriptor_cleanup(&idx);
        temper_artifact_free(a);
        stl_cleanup(&im);
        free(dir);
    }
}

/* A raw tar layer (uncompressed) made with libarchive: entries name/target
 * pairs, target NULL for a file, "" prefix '>' for a symlink. */
static int raw_layer(struct stl_image *im, const char *const *entries, size_t n)
{
    char buf[16384];
    size_t used = 0;
    struct archive *w = archive_write_new();
    int ok = w && archive_write_set_format_pax_restricted(w) == ARCHIVE_OK &&
             archive_write_open_memory(w, buf, sizeof buf, &used) == ARCHIVE_OK;
    for (size_t i = 0; ok && i < n; i += 2) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, entries[i]);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_filetype(e, entries[i + 1] ? AE_IFLNK : AE_IFREG);
        if (entries[i + 1]) {
            archive_entry_set_symlink(e, entries[i + 1]);
        }
        ok = archive_write_header(w, e) == ARCHIVE_OK;
        archive_entry_free(e);
    }
    ok = ok && archive_write_close(w) == ARCHIVE_OK;
    archive_write_free(w);
    if (!ok || im->n >= STL_MAX_LAYERS) {
        return TEMPER_EIO;
    }
    int rc = temper_oci_blob_write(NULL, im->l, TEMPER_OCI_MT_LAYER_TAR, buf, used,
                                   &im->layers[im->n]);
    if (rc == TEMPER_OK) {
        memcpy(im->diff[im->n], im->layers[im->n].digest, TEMPER_DIGEST_STR_LEN);
        im->n++;
    }
    return rc;
}

static void hostile(const char *const *entries, size_t n, int rc_want, const char *words)
{
    struct stl_image im;
    struct temper_artifact *a = NULL;
    struct ph h;
    enum temper_verdict v = TEMPER_VERDICT_NONE;
    char *dir = layout_dir();
    int rc = dir ? stl_begin(&im, dir) : TEMPER_ENOMEM;
    rc = rc ? rc : stl_base(&im);
    rc = rc ? rc : raw_layer(&im, entries, n);
    rc = rc ? rc : stl_finish(&im, "hostile", NULL, &a);
    CHECK_INT_EQ(rc, TEMPER_OK);
    CHECK_INT_EQ(open_suite(&h, NULL), TEMPER_OK);
    CHECK_INT_EQ(run(&h, a, NULL, 0, &v), rc_want);
    CHECK_STR_CONTAINS(temper_stage_error(h.st), words);
    stl_done(&h, a, &im);
    free(dir);
}

static void test_hostile(void)
{
    TEST("hostile layers: '..' entries, symlink loops; a missing image")
    {
        static const char *const dotdot[] = { "../../etc/evil", NULL };
        hostile(dotdot, 2, TEMPER_EFORMAT, "'..' in the path");
        static const char *const loop[] = { "a", "b", "b", "a", "a/x", NULL };
        hostile(loop, 6, TEMPER_EFORMAT, "entry '/a/x'");
        static const char *const escape[] = { "up", "../../../../", "up/etc/evil", NULL };
        struct stl_image im;
        struct temper_artifact *a = NULL;
        struct ph h;
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        char *dir = layout_dir();
        int rc = dir ? stl_begin(&im, dir) : TEMPER_ENOMEM;
        rc = rc ? rc : raw_layer(&im, escape, 4);
        rc = rc ? rc : stl_finish(&im, "escape", NULL, &a);
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(open_suite(&h, NULL), TEMPER_OK);
        /* the symlink is scoped to the image: the file lands in /etc/evil */
        static const char *const c1[] = { "name=scoped", "path=/etc/evil", NULL };
        static const char *const *const cases[] = { c1 };
        CHECK_INT_EQ(run(&h, a, cases, 1, &v), TEMPER_OK);
        CHECK_INT_EQ(stl_status(&h, "scoped"), TEMPER_CASE_PASSED);
        CHECK_INT_EQ(temper_artifact_set(a, TEMPER_ATTR_DIGEST, "sha256:0000"), TEMPER_OK);
        CHECK_INT_EQ(run(&h, a, NULL, 0, &v), TEMPER_EINVAL);
        struct temper_artifact *bare = temper_artifact_new(TEMPER_ART_IMAGE, "bare");
        CHECK_INT_EQ(run(&h, bare, NULL, 0, &v), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(temper_stage_error(h.st), "no layout directory");
        temper_artifact_free(bare);
        stl_done(&h, a, &im);
        free(dir);
    }
}

int main(void)
{
    if (stl_mkdtemp(scratch, sizeof scratch, "structure") != 0) {
        printf("Bail out! cannot make a scratch directory\n");
        return 1;
    }
    stl_log_begin();
    test_options();
    test_clean();
    test_declared_failures();
    test_setuid();
    test_user();
    test_runtime();
    test_writable();
    test_secrets();
    test_layers();
    test_hostile();
    stl_rmtree(scratch);
    stl_log_end();
    return tap_done();
}

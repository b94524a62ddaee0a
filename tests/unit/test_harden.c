/* Unit tests: the hardening step (sdk/harden*.c) and the safe operations
 * inside an image root.  A small root is hardened, written as a layer
 * through temper_harden_tree, and the layer read back with libarchive. */
#include "oci_test_util.h"
#include "../lib/tap.h"
#include <temper/harden.h>
#include <archive.h>
#include <archive_entry.h>

static char base[4096], root[4200], outside[4200];

static void put(const char *rel, const char *text, mode_t mode)
{
    char p[8400];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(p, mode);
}

static void dir(const char *rel, mode_t mode)
{
    char p[8400];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    mkdir(p, 0755);
    chmod(p, mode);
}

/* Mode of `path` in the gzip layer blob, -1 when absent; owner in *uid. */
static int layer_mode(const char *blob, const char *path, long *uid)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_support_filter_gzip(a);
    int mode = -1;
    if (archive_read_open_filename(a, blob, 65536) == ARCHIVE_OK) {
        struct archive_entry *e;
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
            const char *name = archive_entry_pathname(e);
            size_t nl = strlen(name);
            nl -= nl > 0 && name[nl - 1] == '/';
            if (nl == strlen(path) && strncmp(name, path, nl) == 0) {
                mode = (int)(archive_entry_perm(e) & 07777);
                *uid = (long)archive_entry_uid(e);
            }
        }
    }
    archive_read_free(a);
    return mode;
}

static void make_root(void)
{
    const char *dirs[] = { "bin", "etc", "usr", "usr/bin", "usr/share", "usr/share/doc",
                           "usr/share/doc/pkg", "usr/share/man", "usr/share/man/man1",
                           "usr/share/locale", "usr/share/locale/de", "usr/lib",
                           "usr/lib/os-release.d", "var", NULL };
    for (size_t i = 0; dirs[i]; i++) {
        dir(dirs[i], 0755);
    }
    dir("var/drop", 0777);
    dir("var/tmp", 01777);
    put("bin/sh", "#!", 0755);
    put("bin/bash", "#!", 0755);
    put("usr/bin/apt-get", "x", 0755);
    put("usr/bin/dpkg", "x", 0755);
    put("usr/bin/python3", "x", 0755);
    put("usr/bin/su", "x", 04755);
    put("usr/bin/wall", "x", 02755);
    put("etc/open", "x", 0666);
    put("usr/share/doc/pkg/copyright", "c", 0644);
    put("usr/share/doc/pkg/changelog.gz", "c", 0644);
    put("usr/share/man/man1/x.1", "m", 0644);
    put("usr/share/locale/locale.alias", "a", 0644);
    put("usr/share/locale/de/x.mo", "m", 0644);
    put("usr/lib/os-release", "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n"
        "VERSION=\"12 (bookworm)\"\nEVIL=\"$(rm -rf /)\"\n", 0644);
    char p[8400];
    snprintf(p, sizeof p, "%s/etc/passwd", root);
    if (symlink(outside, p) != 0) {
        tap_diag("symlink failed");
    }
}

static int write_layer(struct temper_harden *h, char *blob, size_t cap)
{
    char lay[4200];
    snprintf(lay, sizeof lay, "%s/layout", base);
    struct temper_oci_layout *l = NULL;
    struct temper_oci_layer *ly = NULL;
    struct temper_oci_descriptor d;
    memset(&d, 0, sizeof d);
    int rc = temper_oci_layout_create(NULL, lay, &l);
    struct temper_oci_layer_opts lo = { .size = sizeof lo, .source_date_epoch = 100 };
    rc = rc == TEMPER_OK ? temper_oci_layer_new(NULL, l, &lo, &ly) : rc;
    struct temper_oci_tree_opts to = { .size = sizeof to, .fn = temper_harden_tree, .ctx = h };
    rc = rc == TEMPER_OK ? temper_oci_layer_add_tree(ly, root, &to) : rc;
    rc = rc == TEMPER_OK ? temper_oci_layer_finish(ly, &d, NULL) : rc;
    if (rc == TEMPER_OK) {
        snprintf(blob, cap, "%s/blobs/sha256/%s", lay, d.digest + 7);
    }
    temper_oci_layer_free(ly);
    temper_oci_layout_free(l);
    temper_oci_descriptor_cleanup(&d);
    return rc;
}

static void test_runtime(void)
{
    TEST("runtime variant") {
        struct temper_harden *h = NULL;
        CHECK_INT_EQ(temper_harden_new(NULL, NULL, "runtime", &h), TEMPER_OK);
        struct temper_harden_info info = { .size = sizeof info, .name = "py", .version = "3.11",
                                           .variant = "runtime", .created = 100 };
        CHECK_INT_EQ(temper_harden_rootfs(h, root, &info), TEMPER_OK);
        char p[8400];
        snprintf(p, sizeof p, "%s/etc/passwd", root);
        char *pw = tu_read(p, NULL);
        CHECK(pw && strstr(pw, "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin"));
        free(pw);
        char *o = tu_read(outside, NULL);
        CHECK(o && strcmp(o, "host secret") == 0); /* not written through the symlink */
        free(o);
        snprintf(p, sizeof p, "%s/etc/os-release", root);
        char *os = tu_read(p, NULL);
        CHECK(os && strstr(os, "ID=\"debian\"") && strstr(os, "IMAGE_ID=\"py\"") &&
              strstr(os, "IMAGE_VERSION=\"3.11\"") && !strstr(os, "EVIL"));
        free(os);
        char blob[8400];
        CHECK_INT_EQ(write_layer(h, blob, sizeof blob), TEMPER_OK);
        long uid = -1;
        CHECK_INT_EQ(layer_mode(blob, "bin/sh", &uid), -1);
        CHECK_INT_EQ(layer_mode(blob, "bin/bash", &uid), -1);
        CHECK_INT_EQ(layer_mode(blob, "usr/bin/apt-get", &uid), -1);
        CHECK_INT_EQ(layer_mode(blob, "usr/bin/dpkg", &uid), -1);
        CHECK_INT_EQ(layer_mode(blob, "usr/bin/python3", &uid), 0755);
        CHECK_INT_EQ(layer_mode(blob, "usr/bin/su", &uid), 0755);
        CHECK_INT_EQ(layer_mode(blob, "usr/bin/wall", &uid), 0755);
        CHECK_INT_EQ(layer_mode(blob, "etc/open", &uid), 0664);
        CHECK_INT_EQ(layer_mode(blob, "var/drop", &uid), 0775);
        CHECK_INT_EQ(layer_mode(blob, "var/tmp", &uid), 01777);
        CHECK_INT_EQ(layer_mode(blob, "tmp", &uid), 01777);
        CHECK_INT_EQ(layer_mode(blob, "usr/share/doc/pkg/copyright", &uid), 0644);
        CHECK_INT_EQ(layer_mode(blob, "usr/share/doc/pkg/changelog.gz", &uid), -1);
        CHECK_INT_EQ(layer_mode(blob, "usr/share/man", &uid), -1);
        CHECK_INT_EQ(layer_mode(blob, "usr/share/locale/de/x.mo", &uid), -1);
        CHECK_INT_EQ(layer_mode(blob, "usr/share/locale/locale.alias", &uid), 0644);
        CHECK_INT_EQ(layer_mode(blob, "home/nonroot", &uid), 0700);
        CHECK_INT_EQ(uid, 65532);
        struct temper_harden_stats s;
        temper_harden_stats(h, &s);
        CHECK_INT_EQ(s.shells, 2);
        CHECK_INT_EQ(s.package_managers, 2);
        CHECK_INT_EQ(s.setuid, 2);
        temper_harden_free(h);
    }
}

static void test_dev_and_switches(void)
{
    TEST("dev variant keeps shells; switches") {
        struct temper_harden_conf c;
        temper_harden_conf_default(&c);
        c.strip_setuid = false;
        c.keep_docs = true;
        struct temper_harden *h = NULL;
        CHECK_INT_EQ(temper_harden_new(NULL, &c, "dev", &h), TEMPER_OK);
        char blob[8400];
        CHECK_INT_EQ(write_layer(h, blob, sizeof blob), TEMPER_OK);
        long uid = -1;
        CHECK_INT_EQ(layer_mode(blob, "bin/sh", &uid), 0755);
        CHECK_INT_EQ(layer_mode(blob, "usr/bin/dpkg", &uid), 0755);
        CHECK_INT_EQ(layer_mode(blob, "usr/bin/su", &uid), 04755);
        CHECK_INT_EQ(layer_mode(blob, "usr/share/doc/pkg/changelog.gz", &uid), 0644);
        temper_harden_free(h);
        CHECK(temper_harden_new(NULL, NULL, "weird", &h) == TEMPER_EINVAL);
    }
}

static void test_config(void)
{
    TEST("config and labels") {
        struct temper_harden *h = NULL;
        struct temper_harden_conf c;
        temper_harden_conf_default(&c);
        c.source = (char *)"https://example.org/src";
        CHECK_INT_EQ(temper_harden_new(NULL, &c, "runtime", &h), TEMPER_OK);
        struct temper_strlist env = { 0 };
        CHECK_INT_EQ(temper_oci_list_push(&env, "A=1"), TEMPER_OK);
        struct temper_image_def def = { .size = sizeof def, .name = "py", .env = &env };
        struct temper_harden_info info = { .size = sizeof info, .name = "py", .version = "3.11",
                                           .variant = "runtime", .created = 0 };
        struct temper_oci_config cfg;
        struct temper_oci_map ann;
        memset(&cfg, 0, sizeof cfg);
        memset(&ann, 0, sizeof ann);
        CHECK_INT_EQ(temper_harden_config(h, &def, &info, &cfg, &ann), TEMPER_OK);
        CHECK_STR_EQ(cfg.user, "65532");
        CHECK_INT_EQ(cfg.env.n, 2);
        CHECK(cfg.env.n == 2 && strncmp(cfg.env.v[0], "PATH=", 5) == 0);
        CHECK_STR_EQ(temper_oci_map_get(&cfg.labels, TEMPER_OCI_ANN_VERSION), "3.11");
        CHECK_STR_EQ(temper_oci_map_get(&ann, TEMPER_OCI_ANN_SOURCE), "https://example.org/src");
        CHECK_STR_EQ(temper_oci_map_get(&ann, TEMPER_OCI_ANN_CREATED), "1970-01-01T00:00:00Z");
        temper_oci_config_cleanup(&cfg);
        temper_oci_map_cleanup(&ann);
        temper_oci_list_cleanup(&env);
        temper_harden_free(h);
    }
}

int main(void)
{
    if (tu_mkdtemp(base, sizeof base, "harden") != 0) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    snprintf(root, sizeof root, "%s/root", base);
    snprintf(outside, sizeof outside, "%s/outside", base);
    mkdir(root, 0755);
    FILE *f = fopen(outside, "w");
    if (f) {
        fputs("host secret", f);
        fclose(f);
    }
    umask(0);
    make_root();
    test_runtime();
    test_dev_and_switches();
    test_config();
    tu_rmtree(base);
    return tap_done();
}

/* Unit tests: safe layer extraction (sdk/oci_extract.c, sdk/oci_resolve.c).
 *
 * Hostile tarballs are written with libarchive directly (the layer writer
 * refuses such names).  Every test extracts into <base>/rootN next to an
 * empty <base>/outside, and the entries aim at <base>/outside through
 * absolute paths, "..", symlinks and symlink chains: nothing may appear
 * there. */
#include "oci_test_util.h"
#include "../lib/tap.h"
#include <archive.h>
#include <archive_entry.h>

#define MUST(x) CHECK_INT_EQ((x), TEMPER_OK)

static char base[4096], outside[4200];
static int n_root;

static void path_in(char *out, size_t cap, const char *dir, const char *rel)
{
    if (snprintf(out, cap, "%s/%s", dir, rel) >= (int)cap) {
        out[0] = '\0';
    }
}

/* One entry of a hand-made tarball. */
struct hent {
    const char *path;
    mode_t type;        /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR; 0 = hardlink */
    unsigned mode;
    const char *data;   /* file content, or link target */
};

static int tar_filter; /* 0 gzip, 1 xz, 2 bzip2 */

static void write_tar(const char *file, const struct hent *v, size_t n)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (tar_filter == 1) {
        archive_write_add_filter_xz(a);
    } else if (tar_filter == 2) {
        archive_write_add_filter_bzip2(a);
    } else {
        archive_write_add_filter_gzip(a);
    }
    archive_write_open_filename(a, file);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, v[i].path);
        archive_entry_set_perm(e, v[i].mode);
        archive_entry_set_mtime(e, 1234567890, 0);
        if (v[i].type == 0) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, v[i].data);
        } else {
            archive_entry_set_filetype(e, v[i].type);
        }
        if (v[i].type == AE_IFLNK) {
            archive_entry_set_symlink(e, v[i].data);
        }
        if (v[i].type == AE_IFCHR) {
            archive_entry_set_rdevmajor(e, 1);
            archive_entry_set_rdevminor(e, 3);
        }
        size_t len = v[i].type == AE_IFREG && v[i].data ? strlen(v[i].data) : 0;
        archive_entry_set_size(e, (la_int64_t)len);
        archive_write_header(a, e);
        if (len) {
            archive_write_data(a, v[i].data, len);
        }
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

/* Extract entries into a fresh root; root gets its path. */
static int extract(const struct hent *v, size_t n, const struct temper_oci_extract_opts *o,
                   char root[4200], struct temper_stage *st)
{
    char name[64], tar[4200];
    snprintf(name, sizeof name, "root%d", ++n_root);
    path_in(root, 4200, base, name);
    snprintf(name, sizeof name, "layer%d.tar.gz", n_root);
    path_in(tar, sizeof tar, base, name);
    write_tar(tar, v, n);
    struct temper_oci_extract_opts def = { .size = sizeof def, .name = "test-layer" };
    return temper_oci_layer_extract(st, tar, root, o ? o : &def);
}

static int outside_clean(void)
{
    return tu_count_entries(outside) == 0;
}

/* A layer with a directory, files (one setuid), an absolute and a
 * relative symlink, a hardlink, a file written through the relative
 * symlink and a FIFO. */
static int write_good_layer(struct temper_oci_layout *l, struct temper_oci_descriptor *d)
{
    struct temper_oci_layer *ly = NULL;
    MUST(temper_oci_layer_new(NULL, l, NULL, &ly));
    struct temper_oci_entry e = { .path = "usr/bin", .type = TEMPER_OCI_ENTRY_DIR,
                                  .mode = 0555, .mtime = 0 };
    MUST(temper_oci_layer_add(ly, &e));
    e = (struct temper_oci_entry){ .path = "usr/bin/tool", .type = TEMPER_OCI_ENTRY_FILE,
                                   .mode = 04755 };
    MUST(temper_oci_layer_add_data(ly, &e, "#!/bin/sh\n", 10));
    e = (struct temper_oci_entry){ .path = "etc/secret", .type = TEMPER_OCI_ENTRY_FILE,
                                   .mode = 0600 };
    MUST(temper_oci_layer_add_data(ly, &e, "s3cret", 6));
    e = (struct temper_oci_entry){ .path = "bin", .type = TEMPER_OCI_ENTRY_SYMLINK,
                                   .mode = 0777, .link_target = "usr/bin" };
    MUST(temper_oci_layer_add(ly, &e));
    e = (struct temper_oci_entry){ .path = "etc/abs", .type = TEMPER_OCI_ENTRY_SYMLINK,
                                   .mode = 0777, .link_target = "/usr/bin/tool" };
    MUST(temper_oci_layer_add(ly, &e));
    e = (struct temper_oci_entry){ .path = "etc/secret2", .type = TEMPER_OCI_ENTRY_HARDLINK,
                                   .link_target = "etc/secret" };
    MUST(temper_oci_layer_add(ly, &e));
    e = (struct temper_oci_entry){ .path = "bin/via-link", .type = TEMPER_OCI_ENTRY_FILE,
                                   .mode = 0644 };
    MUST(temper_oci_layer_add_data(ly, &e, "x", 1));
    e = (struct temper_oci_entry){ .path = "run/fifo", .type = TEMPER_OCI_ENTRY_FIFO,
                                   .mode = 0600 };
    MUST(temper_oci_layer_add(ly, &e));
    int rc = temper_oci_layer_finish(ly, d, NULL);
    temper_oci_layer_free(ly);
    return rc;
}

static void test_good(void)
{
    TEST("a normal layer written by temper_oci_layer_* comes out right")
    {
        char lay[4200], root[4200], p[4400];
        path_in(lay, sizeof lay, base, "layout");
        path_in(root, sizeof root, base, "good");
        struct temper_oci_layout *l = NULL;
        MUST(temper_oci_layout_create(NULL, lay, &l));
        struct temper_oci_descriptor d = { 0 };
        MUST(write_good_layer(l, &d));
        char *blob = temper_oci_blob_path(l, d.digest);
        MUST(temper_oci_layer_extract(NULL, blob, root, NULL));
        struct stat sb;
        path_in(p, sizeof p, root, "usr/bin/tool");
        char *s = tu_read(p, NULL);
        CHECK_STR_EQ(s, "#!/bin/sh\n");
        free(s);
        CHECK(lstat(p, &sb) == 0 && (sb.st_mode & 07777) == 04755 && sb.st_mtime == 0);
        path_in(p, sizeof p, root, "usr/bin");
        CHECK(lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 07777) == 0555);
        path_in(p, sizeof p, root, "etc/secret");
        CHECK(lstat(p, &sb) == 0 && (sb.st_mode & 07777) == 0600);
        struct stat sb2;
        path_in(p, sizeof p, root, "etc/secret2");
        CHECK(lstat(p, &sb2) == 0 && sb2.st_ino == sb.st_ino);
        char t[256];
        path_in(p, sizeof p, root, "etc/abs");
        ssize_t n = readlink(p, t, sizeof t - 1);
        t[n > 0 ? n : 0] = '\0';
        CHECK_STR_EQ(t, "/usr/bin/tool");
        /* bin -> usr/bin is followed inside the root */
        path_in(p, sizeof p, root, "usr/bin/via-link");
        CHECK(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode));
        path_in(p, sizeof p, root, "run/fifo");
        CHECK(lstat(p, &sb) == 0 && S_ISFIFO(sb.st_mode));
        /* strip_setuid */
        path_in(root, sizeof root, base, "good-stripped");
        struct temper_oci_extract_opts o = { .size = sizeof o, .strip_setuid = true };
        MUST(temper_oci_layer_extract(NULL, blob, root, &o));
        path_in(p, sizeof p, root, "usr/bin/tool");
        CHECK(lstat(p, &sb) == 0 && (sb.st_mode & 07777) == 0755);
        free(blob);
        temper_oci_descriptor_cleanup(&d);
        temper_oci_layout_free(l);
    }
}

/* Shared by the hostile cases: a stage to read errors from, and the
 * outside target as an absolute path and without its leading '/'. */
static struct temper_stage *hst;
static char abs_out[4400], rel_out[4400];

static void hostile_dotdot(void)
{
    char root[4200];
    TEST("'..' is refused")
    {
        struct hent v[] = { { "../outside/pwned", AE_IFREG, 0644, "x" } };
        CHECK_INT_EQ(extract(v, 1, NULL, root, hst), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(temper_stage_error(hst), "layer test-layer: entry '../outside/pwned'");
        CHECK_STR_CONTAINS(temper_stage_error(hst), "'..'");
        CHECK(outside_clean());
        temper_stage_reset(hst);
        struct hent w[] = { { "a/../../outside/pwned", AE_IFREG, 0644, "x" } };
        CHECK_INT_EQ(extract(w, 1, NULL, root, hst), TEMPER_EFORMAT);
        CHECK(outside_clean());
        temper_stage_reset(hst);
    }
}

static void hostile_absolute(void)
{
    char root[4200];
    TEST("absolute paths are refused")
    {
        struct hent v[] = { { abs_out, AE_IFREG, 0644, "x" } };
        CHECK_INT_EQ(extract(v, 1, NULL, root, hst), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(temper_stage_error(hst), "absolute path");
        CHECK(outside_clean());
        temper_stage_reset(hst);
        struct stat sb;
        int had = lstat("/etc/x", &sb) == 0;
        struct hent w[] = { { "/etc/x", AE_IFREG, 0644, "x" } };
        CHECK_INT_EQ(extract(w, 1, NULL, root, hst), TEMPER_EFORMAT);
        CHECK(had || lstat("/etc/x", &sb) != 0);
        temper_stage_reset(hst);
    }
}

static void hostile_symlink_to_root(void)
{
    char root[4200], p[4400];
    TEST("a symlink to / is neutralised: writes through it stay in the root")
    {
        struct hent v[] = { { "escape", AE_IFLNK, 0777, "/" },
                            { "escape/PLACEHOLDER", AE_IFREG, 0644, "x" } };
        char through[4400];
        path_in(through, sizeof through, "escape", rel_out);
        v[1].path = through;
        MUST(extract(v, 2, NULL, root, hst));
        CHECK(outside_clean());
        path_in(p, sizeof p, root, rel_out);
        char *s = tu_read(p, NULL);
        CHECK_STR_EQ(s, "x");
        free(s);
        struct hent w[] = { { "out", AE_IFLNK, 0777, outside }, { "out/pwned", AE_IFREG, 0644,
                                                                   "y" } };
        MUST(extract(w, 2, NULL, root, hst));
        CHECK(outside_clean());
    }
}

static void hostile_symlink_chain(void)
{
    char root[4200], p[4400];
    TEST("a chain of symlinks climbing with '..' is neutralised")
    {
        char through[4400];
        path_in(through, sizeof through, "a", rel_out);
        struct hent v[] = { { "a", AE_IFLNK, 0777, "b" },
                            { "b", AE_IFLNK, 0777, "c/../../../../../../../../.." },
                            { "c", AE_IFDIR, 0755, NULL },
                            { through, AE_IFREG, 0644, "x" } };
        MUST(extract(v, 4, NULL, root, hst));
        CHECK(outside_clean());
        path_in(p, sizeof p, root, rel_out);
        struct stat sb;
        CHECK(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode));
        struct hent loop[] = { { "x", AE_IFLNK, 0777, "y" }, { "y", AE_IFLNK, 0777, "x" },
                               { "x/f", AE_IFREG, 0644, "z" } };
        CHECK_INT_EQ(extract(loop, 3, NULL, root, hst), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(temper_stage_error(hst), "entry 'x/f'");
        temper_stage_reset(hst);
    }
}

static void hostile_file_over_symlink(void)
{
    char root[4200], p[4400];
    TEST("a file entry over a symlink replaces the link, never writes through it")
    {
        struct hent v[] = { { "f", AE_IFLNK, 0777, abs_out }, { "f", AE_IFREG, 0644, "x" } };
        MUST(extract(v, 2, NULL, root, hst));
        CHECK(outside_clean());
        path_in(p, sizeof p, root, "f");
        struct stat sb;
        CHECK(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode));
    }
}

static void hostile_hardlinks(void)
{
    char root[4200], p[4400];
    TEST("hardlinks to anything outside the root are refused")
    {
        struct stat pw, sb;
        CHECK(stat("/etc/passwd", &pw) == 0);
        struct hent v[] = { { "hl", 0, 0644, "/etc/passwd" } };
        CHECK_INT_EQ(extract(v, 1, NULL, root, hst), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(temper_stage_error(hst), "entry 'hl': hardlink target");
        path_in(p, sizeof p, root, "hl");
        CHECK(lstat(p, &sb) != 0);
        temper_stage_reset(hst);
        struct hent w[] = { { "hl", 0, 0644, "../../../../../../etc/passwd" } };
        CHECK_INT_EQ(extract(w, 1, NULL, root, hst), TEMPER_EFORMAT);
        temper_stage_reset(hst);
        /* through a symlink: resolved in the root, where there is no passwd */
        struct hent x[] = { { "etcl", AE_IFLNK, 0777, "/etc" }, { "hl", 0, 0644,
                                                                  "etcl/passwd" } };
        CHECK_INT_EQ(extract(x, 2, NULL, root, hst), TEMPER_EFORMAT);
        path_in(p, sizeof p, root, "hl");
        CHECK(lstat(p, &sb) != 0 || sb.st_ino != pw.st_ino);
        temper_stage_reset(hst);
    }
}

static void hostile_devices(void)
{
    char root[4200], p[4400];
    TEST("device nodes are refused unless allowed")
    {
        struct hent v[] = { { "dev/null", AE_IFCHR, 0666, NULL } };
        CHECK_INT_EQ(extract(v, 1, NULL, root, hst), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(temper_stage_error(hst), "entry 'dev/null': device nodes");
        path_in(p, sizeof p, root, "dev/null");
        struct stat sb;
        CHECK(lstat(p, &sb) != 0);
        temper_stage_reset(hst);
        if (geteuid() == 0) {
            struct temper_oci_extract_opts o = { .size = sizeof o, .allow_devices = true };
            MUST(extract(v, 1, &o, root, hst));
            path_in(p, sizeof p, root, "dev/null");
            CHECK(lstat(p, &sb) == 0 && S_ISCHR(sb.st_mode) && major(sb.st_rdev) == 1);
        }
    }
}

static void hostile_limits(void)
{
    char root[4200];
    TEST("limits and garbage")
    {
        struct hent v[] = { { "a", AE_IFREG, 0644, "1" }, { "b", AE_IFREG, 0644, "22" },
                            { "c", AE_IFREG, 0644, "333" } };
        struct temper_oci_extract_opts o = { .size = sizeof o, .max_entries = 2 };
        CHECK_INT_EQ(extract(v, 3, &o, root, hst), TEMPER_ELIMIT);
        o = (struct temper_oci_extract_opts){ .size = sizeof o, .max_bytes = 4 };
        CHECK_INT_EQ(extract(v, 3, &o, root, hst), TEMPER_ELIMIT);
        char junk[4200];
        path_in(junk, sizeof junk, base, "junk.tar.gz");
        tu_write(junk, "\x1f\x8b\x08\x00garbage-garbage-garbage", 27, 0644);
        path_in(root, sizeof root, base, "junkroot");
        CHECK_INT_EQ(temper_oci_layer_extract(hst, junk, root, NULL), TEMPER_EFORMAT);
        temper_stage_reset(hst);
    }
}

/* Release tarballs (builder_source) come as .tar.xz and .tar.bz2 too. */
static void other_compressions(void)
{
    char root[4200], f[4400];
    TEST("xz and bzip2 compressed tarballs extract like gzip ones")
    {
        struct hent v[] = { { "src", AE_IFDIR, 0755, NULL },
                            { "src/main.c", AE_IFREG, 0644, "int main(void){return 0;}\n" } };
        for (tar_filter = 1; tar_filter <= 2; tar_filter++) {
            CHECK_INT_EQ(extract(v, 2, NULL, root, hst), TEMPER_OK);
            path_in(f, sizeof f, root, "src/main.c");
            CHECK(access(f, F_OK) == 0);
        }
        tar_filter = 0;
    }
}

static void hostile_outside_untouched(void)
{
    TEST("nothing was ever written outside the roots")
    {
        CHECK(outside_clean());
    }
}

static void test_hostile(void)
{
    hst = temper_stage_new(NULL, "extract");
    path_in(abs_out, sizeof abs_out, outside, "pwned");
    snprintf(rel_out, sizeof rel_out, "%s", abs_out + 1); /* without the leading / */
    hostile_dotdot();
    hostile_absolute();
    hostile_symlink_to_root();
    hostile_symlink_chain();
    hostile_file_over_symlink();
    hostile_hardlinks();
    hostile_devices();
    hostile_limits();
    other_compressions();
    hostile_outside_untouched();
    temper_stage_free(hst);
}

static void test_whiteouts(void)
{
    TEST("whiteouts apply to lower layers only, in any order")
    {
        char root[4200], tar[4200], p[4400];
        path_in(root, sizeof root, base, "wh");
        struct hent lower[] = { { "a/x", AE_IFREG, 0644, "x" }, { "a/y", AE_IFREG, 0644, "y" },
                                { "c/d/e", AE_IFREG, 0644, "e" }, { "c/f", AE_IFREG, 0644, "f" },
                                { "g", AE_IFREG, 0644, "g" } };
        path_in(tar, sizeof tar, base, "lower.tar.gz");
        write_tar(tar, lower, 5);
        MUST(temper_oci_layer_extract(NULL, tar, root, NULL));
        struct hent upper[] = { { "a/.wh.x", AE_IFREG, 0644, NULL },
                                { "c/new", AE_IFREG, 0644, "n" },
                                { "c/.wh..wh..opq", AE_IFREG, 0644, NULL },
                                { "h", AE_IFREG, 0644, "h" },
                                { ".wh.h", AE_IFREG, 0644, NULL },
                                { ".wh.g", AE_IFREG, 0644, NULL },
                                { ".wh.missing", AE_IFREG, 0644, NULL } };
        path_in(tar, sizeof tar, base, "upper.tar.gz");
        write_tar(tar, upper, 7);
        struct temper_oci_extract_opts o = { .size = sizeof o, .whiteouts = true };
        MUST(temper_oci_layer_extract(NULL, tar, root, &o));
        struct stat sb;
        const char *gone[] = { "a/x", "c/d", "c/f", "g", "a/.wh.x", "c/.wh..wh..opq" };
        const char *kept[] = { "a/y", "c/new", "h" };
        for (size_t i = 0; i < 6; i++) {
            path_in(p, sizeof p, root, gone[i]);
            CHECK(lstat(p, &sb) != 0);
        }
        for (size_t i = 0; i < 3; i++) {
            path_in(p, sizeof p, root, kept[i]);
            CHECK(lstat(p, &sb) == 0);
        }
        /* without the option, .wh. files are ordinary files */
        MUST(temper_oci_layer_extract(NULL, tar, root, NULL));
        path_in(p, sizeof p, root, "a/.wh.x");
        CHECK(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode));
        struct hent bad[] = { { "a/.wh...", AE_IFREG, 0644, NULL } };
        write_tar(tar, bad, 1);
        CHECK_INT_EQ(temper_oci_layer_extract(NULL, tar, root, &o), TEMPER_EFORMAT);
    }
}

int main(void)
{
    if (tu_mkdtemp(base, sizeof base, "oci-extract") != 0) {
        printf("Bail out! cannot create a temporary directory\n");
        return 1;
    }
    path_in(outside, sizeof outside, base, "outside");
    mkdir(outside, 0755);
    test_good();
    test_hostile();
    test_whiteouts();
    tu_rmtree(base);
    return tap_done();
}

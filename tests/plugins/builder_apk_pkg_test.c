/* temper — builder_apk's package steps (plugin sources compiled in): the
 * real signed index and its key, the C: and datahash checks on the real
 * alpine-baselayout .apk, scanning and extracting its data, hostile data
 * members against both passes (nothing lands outside the root), file
 * conflicts between packages, the installed database text, and writing
 * apk's files through symlinks that stay inside the root. */
#include "config.h"
#include "plugins/builder_apk/apk_int.h"
#include "sdk/host.h"
#include "tests/lib/tap.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REAL_APK "apko_alpine-316_alpine-baselayout-3.2.0-r23.apk"
#define REAL_SHA256 "e6e3c36ed2f991bd0168ea076d30ff7a9fed0bfabeedade500d8aa949bba1835"
#define REAL_DATAHASH "1a3a8e47d2287da6d505d973412cee1ad64bcc17bc5995069e4e932055ecb0c4"

static struct temper_stage *st;
static char tmp[64];

static const char *sample(const char *name)
{
    static char buf[4][4096];
    static int slot;
    const char *d = getenv("TEMPER_DATA");
    char *p = buf[slot++ % 4];
    snprintf(p, sizeof buf[0], "%s/samples/alpine/%s", d ? d : "tests/data", name);
    return p;
}

static char *tpath(const char *name)
{
    return temper_strdupf("%s/%s", tmp, name);
}

static const char *err(void)
{
    static char msg[2048];
    const char *e = temper_stage_error(st);
    snprintf(msg, sizeof msg, "%s", e ? e : "");
    temper_stage_reset(st);
    return msg;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP) {
        chmod(p, 0700);
        return rmdir(p);
    }
    return unlink(p);
}

/* ---- data members made here ------------------------------------------------ */

struct ent {
    const char *path;
    int type;                 /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR; 0: hardlink */
    const char *text;         /* content, or link target */
    unsigned mode;
};

static int write_member(const char *file, const struct ent *v, size_t n)
{
    struct archive *a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    int rc = archive_write_open_filename(a, file) == ARCHIVE_OK ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, v[i].path);
        archive_entry_set_perm(e, v[i].mode);
        archive_entry_set_mtime(e, 1662926906, 0);
        if (v[i].type == 0) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, v[i].text);
        } else {
            archive_entry_set_filetype(e, (unsigned)v[i].type);
        }
        if (v[i].type == AE_IFLNK) {
            archive_entry_set_symlink(e, v[i].text);
        }
        if (v[i].type == AE_IFCHR) {
            archive_entry_set_rdevmajor(e, 1);
            archive_entry_set_rdevminor(e, 3);
        }
        size_t len = v[i].type == AE_IFREG ? strlen(v[i].text) : 0;
        archive_entry_set_size(e, (la_int64_t)len);
        rc = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
        if (rc == 0 && len) {
            rc = archive_write_data(a, v[i].text, len) == (la_ssize_t)len ? 0 : -1;
        }
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return rc;
}

/* ---- the real signed index and package ---------------------------------------- */

static struct temper_apkindex *real_index(void)
{
    struct temper_apkindex *idx = NULL;
    size_t len = 0;
    char *pem = NULL;
    FILE *f = fopen(sample("apko_rsa256-signed_test-rsa256.rsa.pub"), "r");
    pem = calloc(1, 8192);
    if (f && pem) {
        len = fread(pem, 1, 8191, f);
    }
    if (f) {
        fclose(f);
    }
    TEST("the real RSA-SHA256 signed index verifies with its real key")
    {
        CHECK(len > 0);
        CHECK_INT_EQ(temper_apkindex_load(st, sample("apko_rsa256-signed_APKINDEX.tar.gz"), NULL,
                                          &idx), TEMPER_OK);
        CHECK_INT_EQ(temper_apkindex_verify(st, idx, pem ? pem : ""), TEMPER_OK);
        CHECK_STR_EQ(temper_apkindex_signature(idx)->key_name, "test-rsa256.rsa.pub");
        const struct temper_apkpkg *p = temper_apkindex_find(idx, "alpine-baselayout");
        CHECK(p && strcmp(p->checksum, "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=") == 0);
    }
    free(pem);
    return idx;
}

static void test_real_package(const struct temper_apkindex *idx, struct apk_unit *u)
{
    const struct temper_apkpkg *want = temper_apkindex_find(idx, "alpine-baselayout");
    struct temper_apkfile *af = NULL;
    char *data = tpath("real-data.tar.gz");
    TEST("C: and datahash of the real alpine-baselayout .apk")
    {
        CHECK_INT_EQ(temper_apkfile_load(st, sample(REAL_APK), NULL, &af), TEMPER_OK);
        CHECK(af && af->data_offset == 666 + 1563); /* members of 666, 1563, 8783 bytes */
        u->url = strdup("real.apk");
        CHECK(want != NULL);
        CHECK_INT_EQ(apk_verify_package(st, want, sample(REAL_APK), data, u), TEMPER_OK);
        CHECK_STR_EQ(u->sha256, REAL_SHA256);
        char hex[TEMPER_SHA256_HEX_LEN + 1];
        unsigned long long size = 0;
        CHECK(temper_sha256_file(data, hex, &size) == TEMPER_OK && size == 8783);
        CHECK_STR_EQ(hex, REAL_DATAHASH);
        /* the same file against an index entry with another C: */
        struct temper_apkpkg other = *want;
        other.checksum = "Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        struct apk_unit v = { .url = "http://127.0.0.1/x.apk" };
        CHECK_INT_EQ(apk_verify_package(st, &other, sample(REAL_APK), data, &v), TEMPER_ECRYPTO);
        CHECK_STR_CONTAINS(err(), "x.apk: checksum Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc= does not match "
                                  "the index (C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=)");
        other = *want;
        other.version = "3.2.0-r24";
        CHECK_INT_EQ(apk_verify_package(st, &other, sample(REAL_APK), data, &v), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(err(), "the index says alpine-baselayout-3.2.0-r24");
    }
    temper_apkfile_free(af);
    u->data = data;
}

static const struct apk_entry *find(const struct apk_unit *u, const char *path)
{
    for (size_t i = 0; i < u->n; i++) {
        if (strcmp(u->e[i].path, path) == 0) {
            return &u->e[i];
        }
    }
    return NULL;
}

static unsigned mode_of(const char *root, const char *rel)
{
    char p[4096];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", root, rel);
    return lstat(p, &sb) == 0 ? (unsigned)(sb.st_mode & 07777) | (S_ISLNK(sb.st_mode) << 16)
                              : 0xffffffffu;
}

static void test_real_data(struct apk_unit *u)
{
    char *root = tpath("real-root");
    TEST("the real data member: scanned, then extracted")
    {
        CHECK_INT_EQ(apk_data_scan(st, u, 1u << 20), TEMPER_OK);
        printf("# %zu entries\n", u->n);
        const struct apk_entry *e = find(u, "etc/crontabs/root");
        CHECK(e && e->type == APK_E_FILE && e->mode == 0600 && e->size == 283);
        CHECK(e && strcmp(e->csum, "Q1vfk1apUWI4yLJGhhNRd0kJixfvY=") == 0);
        e = find(u, "tmp");
        CHECK(e && e->type == APK_E_DIR && e->mode == 01777);
        e = find(u, "var/run");
        CHECK(e && e->type == APK_E_SYMLINK && strcmp(e->link, "/run") == 0);
        CHECK(find(u, ".PKGINFO") == NULL && find(u, ".pre-install") == NULL);
        struct apk_unit small = { .url = "x", .data = u->data };
        CHECK_INT_EQ(apk_data_scan(st, &small, 1000), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(err(), "larger than its index entry allows");
        small.url = small.data = NULL;
        apk_unit_cleanup(&small);
        CHECK_INT_EQ(apk_data_extract(st, u, root), TEMPER_OK);
        CHECK_INT_EQ(mode_of(root, "etc/crontabs/root"), 0600);
        CHECK_INT_EQ(mode_of(root, "tmp"), 01777);
        CHECK_INT_EQ(mode_of(root, "var/empty"), 0555);
        CHECK_INT_EQ(mode_of(root, "sbin/mkmntdirs"), 0755);
        CHECK_INT_EQ(mode_of(root, "var/run"), (1u << 16) | 0777);
        CHECK_INT_EQ(mode_of(root, ".PKGINFO"), 0xffffffffu);
    }
    free(root);
}

static void test_truncated(const struct apk_unit *real)
{
    char *cut = tpath("cut.tar.gz");
    size_t len = 0;
    unsigned char buf[16384];
    FILE *in = fopen(real->data, "rb");
    if (in) {
        len = fread(buf, 1, sizeof buf, in);
        fclose(in);
    }
    FILE *out = fopen(cut, "wb");
    if (out) {
        fwrite(buf, 1, len / 2, out);
        fclose(out);
    }
    struct apk_unit u = { .url = "http://127.0.0.1/cut.apk", .data = cut };
    TEST("a truncated gzip data member is refused")
    {
        CHECK(len > 4000);
        CHECK_INT_EQ(apk_data_scan(st, &u, 1u << 20), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(err(), "cut.apk");
    }
    u.data = NULL;
    u.url = NULL;
    apk_unit_cleanup(&u);
    free(cut);
}

/* ---- hostile data members: the scan refuses, the extractor contains ----------- */

static bool canary_empty(const char *canary)
{
    char p[4096];
    struct stat sb;
    snprintf(p, sizeof p, "%s/pwned", canary);
    return lstat(p, &sb) != 0 && errno == ENOENT;
}

static void hostile(const char *label, const struct ent *v, size_t n, const char *scan_why,
                    const char *root, const char *canary, bool extract_refuses)
{
    char *file = tpath("evil.tar.gz");
    struct apk_unit u = { .url = "http://127.0.0.1/evil.apk", .data = file };
    TEST(label)
    {
        CHECK_INT_EQ(write_member(file, v, n), 0);
        CHECK_INT_EQ(apk_data_scan(st, &u, 1u << 20), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(err(), scan_why);
        /* the extractor alone (scan bypassed) still writes nothing outside */
        int rc = apk_data_extract(st, &u, root);
        const char *e = err();
        CHECK(extract_refuses ? rc == TEMPER_EFORMAT : rc == TEMPER_OK);
        if (extract_refuses) {
            CHECK_STR_CONTAINS(e, "evil.apk: entry");
        }
        CHECK(canary_empty(canary));
    }
    u.url = NULL;
    apk_unit_cleanup(&u); /* frees file */
}

static void test_hostile(void)
{
    char *root = tpath("evil-root"), *canary = tpath("canary");
    char up[512], abs[600], inside[4096];
    mkdir(canary, 0755);
    snprintf(up, sizeof up, "../../../../../../../../../../../../..%s", canary);
    snprintf(abs, sizeof abs, "%s/pwned", canary);
    char upfile[700];
    snprintf(upfile, sizeof upfile, "%s/pwned", up);
    const struct ent dotdot[] = { { upfile, AE_IFREG, "x", 0644 } };
    hostile("'../' path", dotdot, 1, "path has a '..' component", root, canary, true);
    const struct ent absolute[] = { { abs, AE_IFREG, "x", 0644 } };
    hostile("absolute path", absolute, 1, "absolute path", root, canary, true);
    const struct ent sym[] = { { "escape", AE_IFLNK, canary, 0777 },
                               { "escape/pwned", AE_IFREG, "x", 0644 } };
    hostile("absolute symlink then a file through it", sym, 2,
            "its directory is a symlink of the same package", root, canary, false);
    TEST("the file through the symlink landed inside the root")
    {
        snprintf(inside, sizeof inside, "%s%s/pwned", root, canary);
        CHECK(access(inside, F_OK) == 0);
    }
    const struct ent rel[] = { { "up", AE_IFLNK, up, 0777 }, { "up/pwned", AE_IFREG, "x", 0644 } };
    hostile("relative symlink chain out of the root", rel, 2,
            "its directory is a symlink of the same package", root, canary, false);
    const struct ent hl[] = { { "passwd", 0, "/etc/passwd", 0644 } };
    hostile("hardlink to an absolute path", hl, 1, "hardlink target is absolute", root, canary,
            true);
    const struct ent hl2[] = { { "passwd", 0, "../../../../../../etc/passwd", 0644 } };
    hostile("hardlink climbing out", hl2, 1, "hardlink target is absolute", root, canary, true);
    const struct ent dev[] = { { "mem", AE_IFCHR, "", 0666 } };
    hostile("device node", dev, 1, "device nodes are not allowed", root, canary, true);
    const struct ent ctl[] = { { ".post-install", AE_IFREG, "#!/bin/sh\n", 0755 } };
    hostile("install script in the data part", ctl, 1, "apk control file in the data part", root,
            canary, false);
    free(root);
    free(canary);
}

/* ---- file conflicts ------------------------------------------------------------ */

struct fake {
    struct temper_apkpkg pkg;
    struct apk_pick pick;
    struct apk_entry e[2];
};

static void fake_unit(struct fake *f, struct apk_unit *u, const char *name, const char *origin,
                      const char *replaces, const char *path, enum apk_etype type)
{
    memset(f, 0, sizeof *f);
    f->pkg.name = name;
    f->pkg.version = "1-r0";
    f->pkg.origin = origin;
    f->pkg.replaces = replaces;
    f->pick.pkg = &f->pkg;
    f->e[0] = (struct apk_entry){ .path = (char *)"usr", .type = APK_E_DIR, .mode = 0755 };
    f->e[1] = (struct apk_entry){ .path = (char *)path, .type = type, .mode = 0644 };
    memset(u, 0, sizeof *u);
    u->pick = &f->pick;
    u->e = f->e;
    u->n = 2;
}

static void test_conflicts(void)
{
    struct fake fa, fb;
    struct apk_unit u[2];
    struct apk_fs fs = { 0 };
    TEST("file conflicts between packages")
    {
        fake_unit(&fa, &u[0], "a", "a", NULL, "usr/x", APK_E_FILE);
        fake_unit(&fb, &u[1], "b", "b", NULL, "usr/x", APK_E_FILE);
        CHECK_INT_EQ(apk_fs_build(st, u, 2, &fs), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(err(), "file conflict: a-1-r0 and b-1-r0 both install /usr/x");
        fb.pkg.replaces = "c a=1-r0";
        CHECK_INT_EQ(apk_fs_build(st, u, 2, &fs), TEMPER_OK);
        const struct apk_owner *o = apk_fs_find(&fs, "usr/x");
        CHECK(o && o->unit == 1);
        CHECK(apk_fs_find(&fs, "usr") && fs.n == 2);
        apk_fs_cleanup(&fs);
        fake_unit(&fb, &u[1], "b", "a", NULL, "usr/x", APK_E_SYMLINK); /* same origin */
        CHECK_INT_EQ(apk_fs_build(st, u, 2, &fs), TEMPER_OK);
        apk_fs_cleanup(&fs);
        fake_unit(&fb, &u[1], "b", "a", "a", "usr/x", APK_E_DIR);
        CHECK_INT_EQ(apk_fs_build(st, u, 2, &fs), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(err(), "(a directory in one of them)");
    }
}

/* ---- apk's files ----------------------------------------------------------------- */

static char *read_text(const char *root, const char *rel)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "r");
    char *buf = calloc(1, 65536);
    if (f && buf) {
        size_t n = fread(buf, 1, 65535, f);
        buf[n] = '\0';
    }
    if (f) {
        fclose(f);
    }
    return buf;
}

static const char expected_db[] =
    "C:Q1test\nP:demo\nV:1.0-r0\nA:x86_64\nS:100\nI:200\nT:demo package\n"
    "U:https://example.invalid\nL:MIT\no:demo-src\nm:Me <me@example.invalid>\nt:1700000000\n"
    "c:abc\nD:so:libc.musl-x86_64.so.1\np:cmd:demo=1.0-r0\n"
    "R:top\nZ:Q1top\n"
    "F:bin\nR:sh\na:0:0:777\nZ:Q1sh\n"
    "F:etc\nR:x\na:0:42:600\nZ:Q1x\n"
    "F:tmp\nM:0:0:1777\n\n";

static void test_db(const char *keyfile)
{
    struct temper_apkpkg pk = {
        .checksum = "Q1test", .name = "demo", .version = "1.0-r0", .arch = "x86_64",
        .description = "demo package", .url = "https://example.invalid", .license = "MIT",
        .origin = "demo-src", .maintainer = "Me <me@example.invalid>", .commit = "abc",
        .depends = "so:libc.musl-x86_64.so.1", .provides = "cmd:demo=1.0-r0", .size = 100,
        .installed_size = 200, .build_time = 1700000000,
    };
    struct apk_pick pick = { .pkg = &pk };
    struct apk_entry e[] = {
        { .path = (char *)"tmp", .type = APK_E_DIR, .mode = 01777 },
        { .path = (char *)"etc", .type = APK_E_DIR, .mode = 0755 },
        { .path = (char *)"etc/x", .type = APK_E_FILE, .mode = 0600, .gid = 42, .csum = "Q1x" },
        { .path = (char *)"bin/sh", .link = (char *)"/bin/busybox", .type = APK_E_SYMLINK,
          .mode = 0777, .csum = "Q1sh" },
        { .path = (char *)"top", .type = APK_E_FILE, .mode = 0644, .csum = "Q1top" },
    };
    struct apk_unit u = { .pick = &pick, .e = e, .n = 5 };
    struct apk_fs fs = { 0 };
    char *world_v[] = { (char *)"b", (char *)"a", (char *)"b", NULL };
    struct temper_strlist world = { 3, world_v };
    char *repo_v[] = { (char *)"http://127.0.0.1:1/main", NULL };
    struct apk_conf conf = { .repositories = { 1, repo_v } };
    char *key_v[] = { (char *)keyfile, NULL };
    struct temper_strlist key_paths = { 1, key_v };
    struct apk_keys keys = { 0 };
    char *root = tpath("db-root"), *root2 = tpath("db-root2");
    mkdir(root, 0755);
    mkdir(root2, 0755);
    TEST("lib/apk/db/installed, world, repositories, keys")
    {
        CHECK_INT_EQ(apk_keys_load(st, &key_paths, &keys), TEMPER_OK);
        CHECK_INT_EQ(apk_fs_build(st, &u, 1, &fs), TEMPER_OK);
        CHECK_INT_EQ(apk_db_write(st, root, &u, 1, &fs, &world, &conf, &keys, true), TEMPER_OK);
        char *t = read_text(root, "lib/apk/db/installed");
        CHECK_STR_EQ(t, expected_db);
        free(t);
        t = read_text(root, "etc/apk/world");
        CHECK_STR_EQ(t, "a\nb\n");
        free(t);
        t = read_text(root, "etc/apk/repositories");
        CHECK_STR_EQ(t, "http://127.0.0.1:1/main\n");
        free(t);
        char kp[4096];
        snprintf(kp, sizeof kp, "%s/etc/apk/keys/%s", root, keys.n ? keys.v[0].name : "?");
        CHECK(access(kp, F_OK) == 0);
        CHECK_INT_EQ(apk_db_write(st, root2, &u, 1, &fs, &world, &conf, &keys, false),
                     TEMPER_OK);
        CHECK_INT_EQ(mode_of(root2, "lib/apk/db/installed"), 0644);
        CHECK_INT_EQ(mode_of(root2, "etc/apk/world"), 0xffffffffu);
    }
    apk_fs_cleanup(&fs);
    apk_keys_cleanup(&keys);
    free(root);
    free(root2);
}

/* apk's files through a root whose lib/ and etc/ are symlinks (one of them
 * pointing out of it): everything lands inside the root. */
static void test_db_links(void)
{
    char *root = tpath("link-root"), *outside = tpath("outside");
    char p[4096], t[4096];
    mkdir(root, 0755);
    mkdir(outside, 0755);
    snprintf(p, sizeof p, "%s/usr", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/usr/lib", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/lib", root);
    int ok1 = symlink("usr/lib", p);
    snprintf(p, sizeof p, "%s/etc", root);
    snprintf(t, sizeof t, "../../../../../../../..%s", outside);
    int ok2 = symlink(t, p);
    struct temper_apkpkg pk = { .checksum = "Q1x", .name = "x", .version = "1-r0" };
    struct apk_pick pick = { .pkg = &pk };
    struct apk_unit u = { .pick = &pick };
    struct apk_fs fs = { 0 };
    char *world_v[] = { (char *)"x", NULL };
    struct temper_strlist world = { 1, world_v };
    struct apk_conf conf = { .repositories = { 1, world_v } };
    struct apk_keys keys = { 0 };
    TEST("apk's files through symlinks stay inside the root")
    {
        CHECK(ok1 == 0 && ok2 == 0);
        CHECK_INT_EQ(apk_db_write(st, root, &u, 1, &fs, &world, &conf, &keys, true), TEMPER_OK);
        CHECK_INT_EQ(mode_of(root, "usr/lib/apk/db/installed"), 0644);
        snprintf(p, sizeof p, "%s/apk/world", outside);
        CHECK(access(p, F_OK) != 0);
        snprintf(p, sizeof p, "%s%s/apk/world", root, outside);
        CHECK(access(p, F_OK) == 0);
    }
    free(root);
    free(outside);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/temper-apkpkg-123456");
    memset(tmp + strlen(tmp) - 6, 'X', 6); /* the mkdtemp() template */
    if (!mkdtemp(tmp)) {
        return 1;
    }
    st = temper_stage_new(NULL, "test");
    struct apk_unit real = { 0 };
    struct temper_apkindex *idx = st ? real_index() : NULL;
    if (idx) {
        test_real_package(idx, &real);
        test_real_data(&real);
        test_truncated(&real);
    }
    test_hostile();
    test_conflicts();
    test_db(sample("apko_rsa256-signed_test-rsa256.rsa.pub"));
    test_db_links();
    apk_unit_cleanup(&real);
    temper_apkindex_free(idx);
    temper_stage_free(st);
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return tap_done();
}

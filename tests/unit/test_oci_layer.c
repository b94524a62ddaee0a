/* Unit tests: the streaming layer writer (sdk/oci_layer.c, sdk/oci_tree.c). */
#include "oci_test_util.h"
#include "../lib/tap.h"
#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <time.h>

#define MUST(x) CHECK_INT_EQ((x), TEMPER_OK)

static char base[4096];

static void path_in(char *out, size_t cap, const char *dir, const char *rel)
{
    if (snprintf(out, cap, "%s/%s", dir, rel) >= (int)cap) {
        out[0] = '\0';
    }
}

/* sha256 and length of the decompressed stream, via libarchive's raw reader
 * (independent of the writer's own hashing). */
static int decompress_digest(const char *blob, char dg[TEMPER_DIGEST_STR_LEN], size_t *n,
                             char **keep)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_raw(a);
    struct archive_entry *e;
    int ok = archive_read_open_filename(a, blob, 65536) == ARCHIVE_OK &&
             archive_read_next_header(a, &e) == ARCHIVE_OK;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        la_ssize_t r = ok ? archive_read_data(a, buf + len, cap - len) : -1;
        if (r <= 0) {
            ok = ok && r == 0;
            break;
        }
        len += (size_t)r;
    }
    archive_read_free(a);
    tu_sha256(buf, len, dg);
    *n = len;
    if (keep) {
        *keep = buf;
    } else {
        free(buf);
    }
    return ok ? 0 : -1;
}

/* "path type mode uid:gid uname mtime -> link" lines of a layer. */
static char *listing(const char *blob)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    struct archive_entry *e;
    if (archive_read_open_filename(a, blob, 65536) == ARCHIVE_OK) {
        while (archive_read_next_header(a, &e) == ARCHIVE_OK && len + 600 < cap) {
            const char *hl = archive_entry_hardlink(e), *sl = archive_entry_symlink(e);
            int n = snprintf(out + len, cap - len, "%s %o %lld:%lld %s %lld%s%s%s x%d\n",
                             archive_entry_pathname(e), (unsigned)archive_entry_mode(e),
                             (long long)archive_entry_uid(e), (long long)archive_entry_gid(e),
                             archive_entry_uname(e) && *archive_entry_uname(e)
                                 ? archive_entry_uname(e)
                                 : "-",
                             (long long)archive_entry_mtime(e), hl ? " => " : "",
                             sl ? " -> " : "", hl ? hl : sl ? sl : "",
                             archive_entry_xattr_count(e));
            len += n > 0 ? (size_t)n : 0;
        }
    }
    archive_read_free(a);
    return out;
}

static struct temper_oci_entry ent(const char *path, enum temper_oci_entry_type t, unsigned mode)
{
    struct temper_oci_entry e = { .path = path, .type = t, .mode = mode, .mtime = 5,
                                  .uname = "root", .gname = "root" };
    return e;
}

static void test_gzip(struct temper_oci_layout *l)
{
    TEST("gzip layer: no name, MTIME 0, blob digest and diff_id")
    {
        struct temper_oci_layer *ly = NULL;
        MUST(temper_oci_layer_new(NULL, l, NULL, &ly));
        struct temper_oci_entry e = ent("/etc/", TEMPER_OCI_ENTRY_DIR, 0755);
        MUST(temper_oci_layer_add(ly, &e));
        e = ent("./etc//hello", TEMPER_OCI_ENTRY_FILE, 0644);
        MUST(temper_oci_layer_add_data(ly, &e, "hello world\n", 12));
        e = ent("bin", TEMPER_OCI_ENTRY_SYMLINK, 0777);
        e.link_target = "usr/bin";
        MUST(temper_oci_layer_add(ly, &e));
        e = ent("etc/hello2", TEMPER_OCI_ENTRY_HARDLINK, 0644);
        e.link_target = "/etc/hello";
        MUST(temper_oci_layer_add(ly, &e));
        e = ent("run/fifo", TEMPER_OCI_ENTRY_FIFO, 0600);
        MUST(temper_oci_layer_add(ly, &e));
        struct temper_oci_descriptor d = { 0 };
        char diff[TEMPER_DIGEST_STR_LEN];
        MUST(temper_oci_layer_finish(ly, &d, diff));
        temper_oci_layer_free(ly);
        CHECK_STR_EQ(d.media_type, TEMPER_OCI_MT_LAYER_GZIP);
        char *path = temper_oci_blob_path(l, d.digest);
        size_t len = 0;
        unsigned char *b = (unsigned char *)tu_read(path, &len);
        CHECK(b && len > 18);
        CHECK(b && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8);
        CHECK(b && b[3] == 0);  /* FLG: no FNAME, no FCOMMENT, no FEXTRA */
        CHECK(b && b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] == 0); /* MTIME */
        char dg[TEMPER_DIGEST_STR_LEN];
        tu_sha256(b, len, dg);
        CHECK_STR_EQ(dg, d.digest);
        CHECK_INT_EQ(d.size, len);
        size_t tl = 0;
        CHECK_INT_EQ(decompress_digest(path, dg, &tl, NULL), 0);
        CHECK_STR_EQ(dg, diff);
        CHECK_INT_EQ(tl % 10240, 0);
        char *ls = listing(path);
        CHECK_STR_EQ(ls, "etc/ 40755 0:0 root 0 x0\n"
                         "etc/hello 100644 0:0 root 0 x0\n"
                         "bin 120777 0:0 root 0 -> usr/bin x0\n"
                         "etc/hello2 644 0:0 root 0 => etc/hello x0\n"
                         "run/fifo 10600 0:0 root 0 x0\n");
        free(ls);
        free(b);
        free(path);
        temper_oci_descriptor_cleanup(&d);
    }
}

static void test_other_compressions(struct temper_oci_layout *l)
{
    TEST("zstd and uncompressed layers")
    {
        struct temper_oci_layer_opts o = { .size = sizeof o, .compression = TEMPER_OCI_COMP_ZSTD,
                                           .source_date_epoch = 100 };
        struct temper_oci_layer *ly = NULL;
        MUST(temper_oci_layer_new(NULL, l, &o, &ly));
        struct temper_oci_entry e = ent("f", TEMPER_OCI_ENTRY_FILE, 0644);
        MUST(temper_oci_layer_add_data(ly, &e, "zstd", 4));
        struct temper_oci_descriptor d = { 0 };
        char diff[TEMPER_DIGEST_STR_LEN], dg[TEMPER_DIGEST_STR_LEN];
        MUST(temper_oci_layer_finish(ly, &d, diff));
        temper_oci_layer_free(ly);
        CHECK_STR_EQ(d.media_type, TEMPER_OCI_MT_LAYER_ZSTD);
        char *path = temper_oci_blob_path(l, d.digest);
        unsigned char *b = (unsigned char *)tu_read(path, NULL);
        CHECK(b && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd);
        size_t tl = 0;
        CHECK_INT_EQ(decompress_digest(path, dg, &tl, NULL), 0);
        CHECK_STR_EQ(dg, diff);
        CHECK(strcmp(d.digest, diff) != 0);
        free(b);
        free(path);
        o.compression = TEMPER_OCI_COMP_NONE;
        MUST(temper_oci_layer_new(NULL, l, &o, &ly));
        MUST(temper_oci_layer_add_data(ly, &e, "zstd", 4));
        MUST(temper_oci_layer_finish(ly, &d, diff));
        temper_oci_layer_free(ly);
        CHECK_STR_EQ(d.media_type, TEMPER_OCI_MT_LAYER_TAR);
        CHECK_STR_EQ(d.digest, diff);
        temper_oci_descriptor_cleanup(&d);
        o.compression = 7;
        CHECK_INT_EQ(temper_oci_layer_new(NULL, l, &o, &ly), TEMPER_EINVAL);
    }
}

/* A fresh source tree; files get the current time as mtime. */
static void make_tree(const char *src)
{
    char p[4200];
    tu_rmtree(src);
    mkdir(src, 0755);
    const char *dirs[] = { "b", "a", "docs" };
    for (size_t i = 0; i < 3; i++) {
        path_in(p, sizeof p, src, dirs[i]);
        mkdir(p, 0755);
    }
    const char *files[] = { "b/z.txt", "a.txt", "a/inner", "docs/readme", "suid", "old",
                            "hard1" };
    for (size_t i = 0; i < 7; i++) {
        path_in(p, sizeof p, src, files[i]);
        tu_write(p, files[i], strlen(files[i]), i == 4 ? 04755 : 0644);
    }
    char p2[4200];
    path_in(p2, sizeof p2, src, "hard2");
    path_in(p, sizeof p, src, "hard1");
    link(p, p2);
    path_in(p, sizeof p, src, "link");
    symlink("a/inner", p);
    path_in(p, sizeof p, src, "old");
    struct timespec ts[2] = { { 1000, 0 }, { 1000, 0 } };
    utimensat(AT_FDCWD, p, ts, 0);
}

static int harden(void *ctx, struct temper_oci_entry *e, const char *src)
{
    (void)src;
    int *calls = ctx;
    (*calls)++;
    const char *b = strrchr(e->path, '/');
    if (strcmp(b ? b + 1 : e->path, "docs") == 0) {
        return TEMPER_OCI_TREE_SKIP;
    }
    e->mode &= ~(unsigned)(S_ISUID | S_ISGID);
    return TEMPER_OCI_TREE_KEEP;
}

/* Build a one-layer image from a fresh tree; *mdigest = manifest digest. */
static int build_image(const char *dir, long long sde, char mdigest[TEMPER_DIGEST_STR_LEN])
{
    char src[4200];
    path_in(src, sizeof src, dir, "src");
    make_tree(src);
    char lay[4200];
    path_in(lay, sizeof lay, dir, "layout");
    struct temper_oci_layout *l = NULL;
    struct temper_oci_layer *ly = NULL;
    struct temper_oci_layer_opts o = { .size = sizeof o, .source_date_epoch = sde };
    int calls = 0;
    struct temper_oci_tree_opts t = { .size = sizeof t, .uname = "root", .gname = "root",
                                      .fn = harden, .ctx = &calls };
    struct temper_oci_descriptor d = { 0 }, m = { 0 };
    char diff[TEMPER_DIGEST_STR_LEN];
    const char *diffs[1] = { diff };
    struct temper_oci_config c = { 0 };
    char created[32];
    int rc = temper_oci_layout_create(NULL, lay, &l);
    rc = rc ? rc : temper_oci_layer_new(NULL, l, &o, &ly);
    rc = rc ? rc : temper_oci_layer_add_tree(ly, src, &t);
    struct temper_oci_entry e = ent("etc/motd", TEMPER_OCI_ENTRY_FILE, 0644);
    e.mtime = (long long)time(NULL);
    rc = rc ? rc : temper_oci_layer_add_data(ly, &e, "hi\n", 3);
    rc = rc ? rc : temper_oci_layer_finish(ly, &d, diff);
    rc = rc ? rc : temper_oci_time_format(sde, created);
    c.architecture = "amd64";
    c.os = "linux";
    c.created = created;
    rc = rc ? rc : temper_oci_image_write(NULL, l, &c, &d, diffs, 1, NULL, "latest", &m);
    memcpy(mdigest, m.digest, TEMPER_DIGEST_STR_LEN);
    temper_oci_descriptor_cleanup(&d);
    temper_oci_descriptor_cleanup(&m);
    temper_oci_layer_free(ly);
    temper_oci_layout_free(l);
    return rc ? rc : (calls == 11 ? 0 : -100 - calls);
}

static int same_blobs(const char *a, const char *b)
{
    char da[4200], db[4200];
    path_in(da, sizeof da, a, "layout/blobs/sha256");
    path_in(db, sizeof db, b, "layout/blobs/sha256");
    DIR *d = opendir(da);
    int n = 0, same = d != NULL;
    while (d) {
        struct dirent *de = readdir(d);
        if (!de) {
            break;
        }
        if (de->d_name[0] == '.') {
            continue;
        }
        char pa[4400], pb[4400];
        path_in(pa, sizeof pa, da, de->d_name);
        path_in(pb, sizeof pb, db, de->d_name);
        size_t la = 0, lb = 0;
        char *ba = tu_read(pa, &la), *bb = tu_read(pb, &lb);
        same = same && ba && bb && la == lb && memcmp(ba, bb, la) == 0;
        free(ba);
        free(bb);
        n++;
    }
    if (d) {
        closedir(d);
    }
    return same && n == tu_count_entries(db) ? n : -1;
}

static void test_determinism(void)
{
    TEST("same inputs at different times in different dirs give identical blobs")
    {
        char a[4200], b[4200], c[4200];
        path_in(a, sizeof a, base, "det-a");
        path_in(b, sizeof b, base, "det-b");
        path_in(c, sizeof c, base, "det-c");
        mkdir(a, 0755);
        mkdir(b, 0755);
        mkdir(c, 0755);
        char ma[TEMPER_DIGEST_STR_LEN] = "", mb[TEMPER_DIGEST_STR_LEN] = "",
             mc[TEMPER_DIGEST_STR_LEN] = "";
        MUST(build_image(a, 1700000000, ma));
        struct timespec pause = { 1, 100000000 };
        nanosleep(&pause, NULL);
        MUST(build_image(b, 1700000000, mb));
        CHECK(temper_oci_digest_valid(ma));
        CHECK_STR_EQ(mb, ma);
        CHECK_INT_EQ(same_blobs(a, b), 3); /* layer, config, manifest */
        MUST(build_image(c, 1700000001, mc));
        CHECK(strcmp(mc, ma) != 0);
    }
}

static void test_tree(struct temper_oci_layout *l)
{
    TEST("tree: sorted order, clamped mtimes, callback skip and rewrite, hardlinks")
    {
        char src[4200];
        path_in(src, sizeof src, base, "tree-src");
        make_tree(src);
        struct temper_oci_layer_opts o = { .size = sizeof o, .source_date_epoch = 1500000000 };
        struct temper_oci_layer *ly = NULL;
        MUST(temper_oci_layer_new(NULL, l, &o, &ly));
        int calls = 0;
        struct temper_oci_tree_opts t = { .size = sizeof t, .prefix = "opt/app", .uid = 7,
                                          .gid = 8, .uname = "app", .fn = harden,
                                          .ctx = &calls };
        MUST(temper_oci_layer_add_tree(ly, src, &t));
        struct temper_oci_descriptor d = { 0 };
        MUST(temper_oci_layer_finish(ly, &d, NULL));
        temper_oci_layer_free(ly);
        char *path = temper_oci_blob_path(l, d.digest);
        char *ls = listing(path);
        /* the first line is the prefix directory */
        const char *want[] = { "opt/app/a/ 40755 7:8 app", "opt/app/a/inner 100644 7:8 app",
                               "opt/app/a.txt 100644", "opt/app/b/ 40755",
                               "opt/app/b/z.txt 100644", "opt/app/hard1 100644",
                               "opt/app/hard2 644 7:8 app 1500000000 => opt/app/hard1",
                               "opt/app/link 120777 7:8 app 1500000000 -> a/inner",
                               "opt/app/old 100644 7:8 app 1000 x0",
                               "opt/app/suid 100755" };
        const char *p = ls ? strchr(ls, '\n') : NULL;
        CHECK(ls && strncmp(ls, "opt/app/ 40755 7:8 app 1500000000 x0\n", 37) == 0);
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            CHECK(p && strncmp(p + 1, want[i], strlen(want[i])) == 0);
            p = p ? strchr(p + 1, '\n') : NULL;
        }
        CHECK(p && p[1] == '\0');
        CHECK(ls && !strstr(ls, "docs"));
        CHECK_INT_EQ(calls, 11);
        free(ls);
        free(path);
        temper_oci_descriptor_cleanup(&d);
    }
}

static void refusals_entries(struct temper_oci_layout *l)
{
    TEST("refused entries leave the layer usable; use after finish fails")
    {
        struct temper_oci_layer *ly = NULL;
        MUST(temper_oci_layer_new(NULL, l, NULL, &ly));
        struct temper_oci_entry e = ent("a/../../x", TEMPER_OCI_ENTRY_FILE, 0644);
        CHECK_INT_EQ(temper_oci_layer_add_data(ly, &e, "x", 1), TEMPER_EINVAL);
        e = ent("/", TEMPER_OCI_ENTRY_DIR, 0755);
        CHECK_INT_EQ(temper_oci_layer_add(ly, &e), TEMPER_EINVAL);
        e = ent("dev/null", TEMPER_OCI_ENTRY_CHAR, 0666);
        e.dev_major = 1;
        e.dev_minor = 3;
        CHECK_INT_EQ(temper_oci_layer_add(ly, &e), TEMPER_EINVAL);
        e = ent("l", TEMPER_OCI_ENTRY_SYMLINK, 0777);
        CHECK_INT_EQ(temper_oci_layer_add(ly, &e), TEMPER_EINVAL);
        e = ent("latin1-caf\xe9", TEMPER_OCI_ENTRY_FILE, 0644);
        CHECK_INT_EQ(temper_oci_layer_add_data(ly, &e, "x", 1), TEMPER_EINVAL);
        e = ent("overlong-\xc0\xaf", TEMPER_OCI_ENTRY_DIR, 0755);
        CHECK_INT_EQ(temper_oci_layer_add(ly, &e), TEMPER_EINVAL);
        e = ent("h", TEMPER_OCI_ENTRY_HARDLINK, 0644);
        e.link_target = "../etc/passwd";
        CHECK_INT_EQ(temper_oci_layer_add(ly, &e), TEMPER_EINVAL);
        e = ent("f", TEMPER_OCI_ENTRY_FILE, 0644);
        CHECK_INT_EQ(temper_oci_layer_add(ly, &e), TEMPER_EINVAL);
        CHECK_INT_EQ(temper_oci_layer_add_file(ly, &e, "/nonexistent/file"), TEMPER_EIO);
        CHECK_INT_EQ(temper_oci_layer_add_file(ly, &e, "/"), TEMPER_EINVAL);
        MUST(temper_oci_layer_add_whiteout(ly, "a/b", false));
        MUST(temper_oci_layer_add_whiteout(ly, "c", true));
        MUST(temper_oci_layer_add_whiteout(ly, "top", false));
        struct temper_oci_xattr xa = { "user.test", "v", 1 };
        e.xattrs = &xa;
        e.n_xattrs = 1;
        MUST(temper_oci_layer_add_data(ly, &e, "ok", 2));
        struct temper_oci_descriptor d = { 0 };
        MUST(temper_oci_layer_finish(ly, &d, NULL));
        CHECK_INT_EQ(temper_oci_layer_add_data(ly, &e, "ok", 2), TEMPER_ESTATE);
        CHECK_INT_EQ(temper_oci_layer_finish(ly, &d, NULL), TEMPER_ESTATE);
        temper_oci_layer_free(ly);
        char *path = temper_oci_blob_path(l, d.digest);
        char *ls = listing(path);
        CHECK_STR_EQ(ls, "a/.wh.b 100644 0:0 - 0 x0\nc/.wh..wh..opq 100000 0:0 - 0 x0\n"
                         ".wh.top 100644 0:0 - 0 x0\nf 100644 0:0 root 0 x1\n");
        size_t tl = 0;
        char dg[TEMPER_DIGEST_STR_LEN], *tar = NULL;
        CHECK_INT_EQ(decompress_digest(path, dg, &tl, &tar), 0);
        CHECK(tar && memmem(tar, tl, "SCHILY.xattr.user.test=v", 24) != NULL);
        CHECK(tar && memmem(tar, tl, "LIBARCHIVE.xattr", 16) == NULL);
        free(tar);
        free(ls);
        free(path);
        temper_oci_descriptor_cleanup(&d);
    }
}

static void refusals_devices(struct temper_oci_layout *l)
{
    TEST("devices when allowed; abandoned layers leave no temp file")
    {
        struct temper_oci_layer_opts o = { .size = sizeof o, .allow_devices = true };
        struct temper_oci_layer *ly = NULL;
        MUST(temper_oci_layer_new(NULL, l, &o, &ly));
        struct temper_oci_entry e = ent("dev/null", TEMPER_OCI_ENTRY_CHAR, 0666);
        e.dev_major = 1;
        e.dev_minor = 3;
        MUST(temper_oci_layer_add(ly, &e));
        temper_oci_layer_free(ly);
        char blobs[4200];
        path_in(blobs, sizeof blobs, temper_oci_layout_path(l), "blobs/sha256");
        CHECK_INT_EQ(tu_count_prefix(blobs, ".tmp-"), 0);
    }
}

static void test_refusals(struct temper_oci_layout *l)
{
    refusals_entries(l);
    refusals_devices(l);
}

static void test_locale(struct temper_oci_layout *l)
{
    TEST("non-ASCII names: same bytes whatever the locale")
    {
        char diffs[2][TEMPER_DIGEST_STR_LEN];
        const char *locales[2] = { "C", "C.UTF-8" };
        for (int i = 0; i < 2; i++) {
            setlocale(LC_ALL, locales[i]);
            struct temper_oci_layer *ly = NULL;
            MUST(temper_oci_layer_new(NULL, l, NULL, &ly));
            struct temper_oci_entry e = ent("caf\xc3\xa9/\xc3\xbcn\xc3\xaf", TEMPER_OCI_ENTRY_FILE,
                                            0644);
            e.uname = "j\xc3\xb6rg";
            MUST(temper_oci_layer_add_data(ly, &e, "x", 1));
            MUST(temper_oci_layer_finish(ly, NULL, diffs[i]));
            temper_oci_layer_free(ly);
        }
        setlocale(LC_ALL, "C");
        CHECK_STR_EQ(diffs[0], diffs[1]);
    }
}

int main(void)
{
    if (tu_mkdtemp(base, sizeof base, "oci-layer") != 0) {
        printf("Bail out! cannot create a temporary directory\n");
        return 1;
    }
    char dir[4200];
    path_in(dir, sizeof dir, base, "layout");
    struct temper_oci_layout *l = NULL;
    MUST(temper_oci_layout_create(NULL, dir, &l));
    if (l) {
        test_gzip(l);
        test_other_compressions(l);
        test_tree(l);
        test_refusals(l);
        test_locale(l);
    }
    temper_oci_layout_free(l);
    test_determinism();
    tu_rmtree(base);
    return tap_done();
}

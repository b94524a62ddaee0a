/* Unit tests: .deb reading (sdk/deb_extract.c).  Packages are written with
 * libarchive here: an ar container, a gzip control tar, an xz data tar. */
#include "oci_test_util.h"
#include "../lib/tap.h"
#include <temper/deb.h>
#include <temper/buf.h>
#include <archive.h>
#include <archive_entry.h>

static char base[4096];

struct ent {
    const char *path, *data;
};

/* A tar in memory; *len its size.  xz or gzip. */
static void *tar_mem(const struct ent *v, size_t n, bool xz, size_t *len)
{
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (xz) {
        archive_write_add_filter_xz(a);
    } else {
        archive_write_add_filter_gzip(a);
    }
    archive_write_open_memory(a, buf, cap, len);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, v[i].path);
        archive_entry_set_filetype(e, v[i].data ? AE_IFREG : AE_IFDIR);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, v[i].data ? (la_int64_t)strlen(v[i].data) : 0);
        archive_write_header(a, e);
        if (v[i].data) {
            archive_write_data(a, v[i].data, strlen(v[i].data));
        }
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return buf;
}

static void ar_add(struct archive *a, const char *name, const void *data, size_t len)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_write_header(a, e);
    archive_write_data(a, data, len);
    archive_entry_free(e);
}

/* Write <base>/<file>: members in order; `first` replaces debian-binary's
 * name, `extra` adds an unknown member before data. */
static void make_deb(const char *file, const struct ent *data, size_t n, const char *first,
                     const char *extra, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", base, file);
    static const struct ent ctl[] = {
        { "./", NULL },
        { "./control", "Package: t\nVersion: 1\nArchitecture: all\n" },
        { "./md5sums", "d41d8cd98f00b204e9800998ecf8427e  usr/x\n" },
        { "./postinst", "#!/bin/sh\ntouch /tmp/pwned\n" },
    };
    size_t cl = 0, dl = 0;
    void *c = tar_mem(ctl, 4, false, &cl);
    void *d = tar_mem(data, n, true, &dl);
    struct archive *a = archive_write_new();
    archive_write_set_format_ar_svr4(a);
    archive_write_open_filename(a, path);
    ar_add(a, first ? first : "debian-binary", "2.0\n", 4);
    ar_add(a, "control.tar.gz", c, cl);
    if (extra) {
        ar_add(a, extra, "x", 1);
    }
    ar_add(a, "data.tar.xz", d, dl);
    archive_write_close(a);
    archive_write_free(a);
    free(c);
    free(d);
}

static int skip_b(void *ctx, const struct temper_oci_entry *e)
{
    int *seen = ctx;
    (*seen)++;
    return strcmp(e->path, "usr/b") == 0 ? TEMPER_OCI_TREE_SKIP : TEMPER_OCI_TREE_KEEP;
}

int main(void)
{
    if (tu_mkdtemp(base, sizeof base, "debx") != 0) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    char deb[4200], root[4200], p[8400];
    static const struct ent good[] = {
        { "./", NULL }, { "./usr/", NULL }, { "./usr/a", "hello" }, { "./usr/b", "skip" },
    };
    TEST("extract a package") {
        make_deb("good.deb", good, 4, NULL, NULL, deb, sizeof deb);
        snprintf(root, sizeof root, "%s/root1", base);
        struct temper_buf control, md5;
        temper_buf_init(&control, 4096);
        temper_buf_init(&md5, 4096);
        int seen = 0;
        struct temper_oci_extract_opts xo = { .size = sizeof xo, .fn = skip_b, .ctx = &seen };
        struct temper_deb_extract_opts o = { .size = sizeof o, .extract = &xo,
                                             .control = &control, .md5sums = &md5 };
        CHECK_INT_EQ(temper_deb_extract(NULL, deb, root, &o), TEMPER_OK);
        CHECK(control.data && strstr(control.data, "Package: t\n"));
        CHECK(md5.data && strstr(md5.data, "usr/x"));
        snprintf(p, sizeof p, "%s/usr/a", root);
        char *a = tu_read(p, NULL);
        CHECK(a && strcmp(a, "hello") == 0);
        free(a);
        snprintf(p, sizeof p, "%s/usr/b", root);
        CHECK(access(p, F_OK) != 0);
        CHECK_INT_EQ(seen, 3);
        temper_buf_cleanup(&control);
        temper_buf_cleanup(&md5);
    }
    TEST("control only") {
        struct temper_buf control;
        temper_buf_init(&control, 8);
        struct temper_deb_extract_opts o = { .size = sizeof o, .control = &control };
        CHECK_INT_EQ(temper_deb_extract(NULL, deb, NULL, &o), TEMPER_ELIMIT);
        temper_buf_cleanup(&control);
        temper_buf_init(&control, 4096);
        CHECK_INT_EQ(temper_deb_extract(NULL, deb, NULL, &o), TEMPER_OK);
        CHECK(control.len > 0);
        temper_buf_cleanup(&control);
    }
    TEST("malformed packages") {
        snprintf(root, sizeof root, "%s/root2", base);
        make_deb("first.deb", good, 4, "control.tar.gz", NULL, deb, sizeof deb);
        CHECK_INT_EQ(temper_deb_extract(NULL, deb, root, NULL), TEMPER_EFORMAT);
        make_deb("extra.deb", good, 4, NULL, "evil.tar", deb, sizeof deb);
        CHECK_INT_EQ(temper_deb_extract(NULL, deb, root, NULL), TEMPER_EFORMAT);
        make_deb("under.deb", good, 4, NULL, "_local", deb, sizeof deb);
        CHECK_INT_EQ(temper_deb_extract(NULL, deb, root, NULL), TEMPER_OK);
        static const struct ent up[] = { { "./", NULL }, { "../escape", "x" } };
        make_deb("up.deb", up, 2, NULL, NULL, deb, sizeof deb);
        CHECK_INT_EQ(temper_deb_extract(NULL, deb, root, NULL), TEMPER_EFORMAT);
        snprintf(p, sizeof p, "%s/escape", base);
        CHECK(access(p, F_OK) != 0);
        snprintf(p, sizeof p, "%s/nothing.deb", base);
        CHECK_INT_EQ(temper_deb_extract(NULL, p, root, NULL), TEMPER_ENOTFOUND);
        snprintf(p, sizeof p, "%s/good.deb", base);
        CHECK_INT_EQ(temper_deb_extract(NULL, root, root, NULL), TEMPER_EIO);
    }
    tu_rmtree(base);
    return tap_done();
}

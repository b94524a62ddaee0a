/* Unit tests: OCI image layout I/O and whole images (sdk/oci_layout.c,
 * sdk/oci_image.c). */
#include "oci_test_util.h"
#include "../lib/tap.h"

#define MUST(x) CHECK_INT_EQ((x), TEMPER_OK)
#define HELLO_DIGEST "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define EMPTY_INDEX \
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\"," \
    "\"manifests\":[]}"

static char base[4096];

static void path_in(char *out, size_t cap, const char *dir, const char *rel)
{
    if (snprintf(out, cap, "%s/%s", dir, rel) >= (int)cap) {
        out[0] = '\0';
    }
}

static void test_create_open(void)
{
    char dir[4096], p[4200];
    path_in(dir, sizeof dir, base, "l1");
    TEST("create writes oci-layout, index.json and blobs/sha256")
    {
        struct temper_oci_layout *l = NULL;
        MUST(temper_oci_layout_create(NULL, dir, &l));
        CHECK(l != NULL);
        path_in(p, sizeof p, dir, "oci-layout");
        char *s = tu_read(p, NULL);
        CHECK_STR_EQ(s, "{\"imageLayoutVersion\":\"1.0.0\"}");
        free(s);
        path_in(p, sizeof p, dir, "index.json");
        s = tu_read(p, NULL);
        CHECK_STR_EQ(s, EMPTY_INDEX);
        free(s);
        struct stat sb;
        path_in(p, sizeof p, dir, "blobs/sha256");
        CHECK(stat(p, &sb) == 0 && S_ISDIR(sb.st_mode));
        CHECK_INT_EQ(temper_oci_layout_index(l)->n_manifests, 0);
        CHECK_STR_EQ(temper_oci_layout_path(l), dir);
        temper_oci_layout_free(l);
        /* creating again keeps it, opening works */
        MUST(temper_oci_layout_create(NULL, dir, &l));
        temper_oci_layout_free(l);
        MUST(temper_oci_layout_open(NULL, dir, &l));
        temper_oci_layout_free(l);
    }
    TEST("open refuses bad layouts")
    {
        struct temper_oci_layout *l = NULL;
        char d2[4096];
        path_in(d2, sizeof d2, base, "missing");
        CHECK_INT_EQ(temper_oci_layout_open(NULL, d2, &l), TEMPER_ENOTFOUND);
        path_in(d2, sizeof d2, base, "bad");
        MUST(temper_oci_layout_create(NULL, d2, &l));
        temper_oci_layout_free(l);
        path_in(p, sizeof p, d2, "oci-layout");
        tu_write(p, "{\"imageLayoutVersion\":\"2.0.0\"}", 30, 0644);
        CHECK_INT_EQ(temper_oci_layout_open(NULL, d2, &l), TEMPER_EFORMAT);
        CHECK(l == NULL);
        unlink(p);
        CHECK_INT_EQ(temper_oci_layout_open(NULL, d2, &l), TEMPER_ENOTFOUND);
        tu_write(p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0644);
        path_in(p, sizeof p, d2, "index.json");
        const char *evil = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\""
                           TEMPER_OCI_MT_MANIFEST "\",\"digest\":\"sha256:../../../../../etc/"
                           "passwd\",\"size\":3}]}";
        tu_write(p, evil, strlen(evil), 0644);
        CHECK_INT_EQ(temper_oci_layout_open(NULL, d2, &l), TEMPER_EFORMAT);
        unlink(p);
        CHECK(symlink("/etc/hostname", p) == 0);
        CHECK(temper_oci_layout_open(NULL, d2, &l) != TEMPER_OK);
        CHECK(l == NULL);
    }
}

static void blob_write_checks(struct temper_oci_layout *l, const char *blobdir, const char *p)
{
    TEST("blob write: digest, content, idempotent, no temp files")
    {
        struct temper_oci_descriptor d = { 0 };
        MUST(temper_oci_blob_write(NULL, l, "text/plain", "hello", 5, &d));
        CHECK_STR_EQ(d.digest, HELLO_DIGEST);
        CHECK_INT_EQ(d.size, 5);
        CHECK_STR_EQ(d.media_type, "text/plain");
        char *s = tu_read(p, NULL);
        CHECK_STR_EQ(s, "hello");
        free(s);
        struct stat a, b;
        CHECK(stat(p, &a) == 0);
        MUST(temper_oci_blob_write(NULL, l, "text/plain", "hello", 5, &d));
        CHECK(stat(p, &b) == 0 && a.st_ino == b.st_ino);
        CHECK_INT_EQ(tu_count_prefix(blobdir, ".tmp-"), 0);
        char *bp = temper_oci_blob_path(l, HELLO_DIGEST);
        CHECK_STR_EQ(bp, p);
        free(bp);
        CHECK(temper_oci_blob_path(l, "sha256:../../x") == NULL);
        temper_oci_descriptor_cleanup(&d);
    }
}

static void blob_read_checks(struct temper_oci_layout *l, const char *blobdir, const char *p)
{
    TEST("blob read and verify check size and digest")
    {
        struct temper_oci_descriptor d = { .media_type = "text/plain", .size = 5 };
        snprintf(d.digest, sizeof d.digest, "%s", HELLO_DIGEST);
        char *data = NULL;
        size_t len = 0;
        MUST(temper_oci_blob_read(NULL, l, &d, 100, &data, &len));
        CHECK_STR_EQ(data, "hello");
        CHECK_INT_EQ(len, 5);
        free(data);
        MUST(temper_oci_blob_verify(NULL, l, &d));
        CHECK_INT_EQ(temper_oci_blob_read(NULL, l, &d, 4, &data, &len), TEMPER_ELIMIT);
        d.size = 6;
        CHECK_INT_EQ(temper_oci_blob_read(NULL, l, &d, 100, &data, &len), TEMPER_ECRYPTO);
        CHECK_INT_EQ(temper_oci_blob_verify(NULL, l, &d), TEMPER_ECRYPTO);
        d.size = 5;
        tu_write(p, "jello", 5, 0644); /* same size, other content */
        CHECK_INT_EQ(temper_oci_blob_read(NULL, l, &d, 100, &data, &len), TEMPER_ECRYPTO);
        CHECK(data == NULL);
        CHECK_INT_EQ(temper_oci_blob_verify(NULL, l, &d), TEMPER_ECRYPTO);
        /* writing the right content again repairs it */
        MUST(temper_oci_blob_write(NULL, l, "text/plain", "hello", 5, NULL));
        MUST(temper_oci_blob_verify(NULL, l, &d));
        /* a blob that is a symlink is never followed */
        unlink(p);
        CHECK(symlink("/etc/hostname", p) == 0);
        CHECK(temper_oci_blob_read(NULL, l, &d, 100, &data, &len) != TEMPER_OK);
        CHECK(temper_oci_blob_verify(NULL, l, &d) != TEMPER_OK);
        MUST(temper_oci_blob_write(NULL, l, "text/plain", "hello", 5, NULL));
        struct stat sb;
        CHECK(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode));
        snprintf(d.digest, sizeof d.digest, "sha256:../../../../../../etc/passwd");
        CHECK_INT_EQ(temper_oci_blob_read(NULL, l, &d, 100, &data, &len), TEMPER_EFORMAT);
    }
}

static void blob_writer_checks(struct temper_oci_layout *l, const char *blobdir, const char *p)
{
    TEST("streaming blob writer")
    {
        struct temper_oci_blob_writer *w = NULL;
        MUST(temper_oci_blob_writer_new(NULL, l, &w));
        MUST(temper_oci_blob_writer_write(w, "hel", 3));
        MUST(temper_oci_blob_writer_write(w, "lo", 2));
        char dg[TEMPER_DIGEST_STR_LEN];
        long long size = 0;
        CHECK_INT_EQ(temper_oci_blob_writer_commit(w, "sha256:0000000000000000000000000000000"
                                                      "000000000000000000000000000000000",
                                                   dg, &size), TEMPER_ECRYPTO);
        temper_oci_blob_writer_free(w);
        CHECK_INT_EQ(tu_count_prefix(blobdir, ".tmp-"), 0);
        MUST(temper_oci_blob_writer_new(NULL, l, &w));
        MUST(temper_oci_blob_writer_write(w, "world", 5));
        CHECK_INT_EQ(tu_count_prefix(blobdir, ".tmp-"), 1);
        temper_oci_blob_writer_free(w); /* abandoned: temp removed */
        CHECK_INT_EQ(tu_count_prefix(blobdir, ".tmp-"), 0);
        MUST(temper_oci_blob_writer_new(NULL, l, &w));
        MUST(temper_oci_blob_writer_write(w, "hello", 5));
        MUST(temper_oci_blob_writer_commit(w, HELLO_DIGEST, dg, &size));
        temper_oci_blob_writer_free(w);
        CHECK_STR_EQ(dg, HELLO_DIGEST);
        CHECK_INT_EQ(size, 5);
    }
}

static void test_blobs(void)
{
    char dir[4096], p[4200];
    path_in(dir, sizeof dir, base, "l2");
    struct temper_oci_layout *l = NULL;
    MUST(temper_oci_layout_create(NULL, dir, &l));
    char blobdir[4200];
    path_in(blobdir, sizeof blobdir, dir, "blobs/sha256");
    path_in(p, sizeof p, blobdir, HELLO_DIGEST + 7);
    blob_write_checks(l, blobdir, p);
    blob_read_checks(l, blobdir, p);
    blob_writer_checks(l, blobdir, p);
    temper_oci_layout_free(l);
}

static void test_tags(void)
{
    char dir[4096], p[4200];
    path_in(dir, sizeof dir, base, "l3");
    struct temper_oci_layout *l = NULL;
    MUST(temper_oci_layout_create(NULL, dir, &l));
    TEST("tag and find in index.json")
    {
        struct temper_oci_descriptor a = { 0 }, b = { 0 };
        MUST(temper_oci_blob_write(NULL, l, TEMPER_OCI_MT_MANIFEST, "{}", 2, &a));
        MUST(temper_oci_blob_write(NULL, l, TEMPER_OCI_MT_MANIFEST, "{ }", 3, &b));
        MUST(temper_oci_layout_tag(NULL, l, &a, "v1"));
        MUST(temper_oci_layout_tag(NULL, l, &a, "latest"));
        MUST(temper_oci_layout_tag(NULL, l, &b, "latest"));
        CHECK_INT_EQ(temper_oci_layout_tag(NULL, l, &b, "../x"), TEMPER_EINVAL);
        CHECK_INT_EQ(temper_oci_layout_index(l)->n_manifests, 2);
        temper_oci_layout_free(l);
        MUST(temper_oci_layout_open(NULL, dir, &l));
        const struct temper_oci_descriptor *f = NULL;
        MUST(temper_oci_layout_find(NULL, l, "latest", &f));
        CHECK(f && strcmp(f->digest, b.digest) == 0);
        MUST(temper_oci_layout_find(NULL, l, "v1", &f));
        CHECK(f && strcmp(f->digest, a.digest) == 0);
        CHECK_INT_EQ(temper_oci_layout_find(NULL, l, "v2", &f), TEMPER_ENOTFOUND);
        path_in(p, sizeof p, dir, "index.json");
        char *s = tu_read(p, NULL);
        CHECK_STR_CONTAINS(s, "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}");
        free(s);
        CHECK_INT_EQ(tu_count_prefix(dir, ".tmp-"), 0);
        temper_oci_descriptor_cleanup(&a);
        temper_oci_descriptor_cleanup(&b);
    }
    temper_oci_layout_free(l);
}

static void make_config(struct temper_oci_config *c, const char *arch, const char *variant)
{
    memset(c, 0, sizeof *c);
    c->architecture = strdup(arch);
    c->os = strdup("linux");
    c->variant = variant ? strdup(variant) : NULL;
    c->created = strdup("1970-01-01T00:00:00Z");
    MUST(temper_oci_list_push(&c->entrypoint, "/bin/true"));
}

static void image_single(struct temper_oci_layout *l, const struct temper_oci_descriptor *lay,
                         const char *const *diff, struct temper_oci_descriptor *m1)
{
    TEST("single-platform image: config, manifest, tag")
    {
        struct temper_oci_config c;
        make_config(&c, "amd64", NULL);
        struct temper_oci_map ann = { 0 };
        MUST(temper_oci_map_set(&ann, TEMPER_OCI_ANN_VERSION, "1.2.3"));
        MUST(temper_oci_image_write(NULL, l, &c, lay, diff, 1, &ann, "1.2.3", m1));
        CHECK_STR_EQ(m1->media_type, TEMPER_OCI_MT_MANIFEST);
        CHECK(m1->platform && strcmp(m1->platform->architecture, "amd64") == 0);
        struct temper_oci_manifest m = { 0 };
        MUST(temper_oci_read_manifest(NULL, l, m1, &m));
        CHECK_INT_EQ(m.n_layers, 1);
        CHECK_STR_EQ(m.n_layers ? m.layers[0].digest : NULL, lay->digest);
        CHECK_STR_EQ(temper_oci_map_get(&m.annotations, TEMPER_OCI_ANN_VERSION), "1.2.3");
        struct temper_oci_config back = { 0 };
        MUST(temper_oci_read_config(NULL, l, &m.config, &back));
        CHECK_INT_EQ(back.diff_ids.n, 1);
        CHECK_STR_EQ(back.diff_ids.n ? back.diff_ids.v[0] : NULL, diff[0]);
        CHECK_STR_EQ(back.entrypoint.n ? back.entrypoint.v[0] : NULL, "/bin/true");
        const struct temper_oci_descriptor *f = NULL;
        MUST(temper_oci_layout_find(NULL, l, "1.2.3", &f));
        CHECK(f && strcmp(f->digest, m1->digest) == 0);
        /* same inputs, same digest */
        struct temper_oci_descriptor again = { 0 };
        MUST(temper_oci_image_write(NULL, l, &c, lay, diff, 1, &ann, NULL, &again));
        CHECK_STR_EQ(again.digest, m1->digest);
        temper_oci_descriptor_cleanup(&again);
        /* mismatches are refused */
        const char *other[] = { D2 };
        MUST(temper_oci_list_push(&c.diff_ids, diff[0]));
        CHECK_INT_EQ(temper_oci_image_write(NULL, l, &c, lay, other, 1, NULL, NULL, NULL),
                     TEMPER_EINVAL);
        struct temper_oci_descriptor bad = { 0 };
        MUST(temper_oci_descriptor_copy(&bad, lay));
        bad.size = 12;
        CHECK_INT_EQ(temper_oci_image_write(NULL, l, &c, &bad, diff, 1, NULL, NULL, NULL),
                     TEMPER_EINVAL);
        bad.digest[10] = bad.digest[10] == '0' ? '1' : '0';
        CHECK_INT_EQ(temper_oci_image_write(NULL, l, &c, &bad, diff, 1, NULL, NULL, NULL),
                     TEMPER_ENOTFOUND);
        temper_oci_descriptor_cleanup(&bad);
        temper_oci_manifest_cleanup(&m);
        temper_oci_config_cleanup(&back);
        temper_oci_config_cleanup(&c);
        temper_oci_map_cleanup(&ann);
    }
}

static void image_multi(struct temper_oci_layout *l, const struct temper_oci_descriptor *lay,
                        const char *const *diff, const struct temper_oci_descriptor *m1)
{
    struct temper_oci_descriptor m2 = { 0 }, ix = { 0 };
    TEST("multi-platform index")
    {
        struct temper_oci_config c;
        make_config(&c, "arm64", "v8");
        MUST(temper_oci_image_write(NULL, l, &c, lay, diff, 1, NULL, NULL, &m2));
        CHECK_STR_EQ(m2.platform ? m2.platform->variant : NULL, "v8");
        struct temper_oci_descriptor v[2] = { *m1, m2 };
        MUST(temper_oci_index_write(NULL, l, v, 2, NULL, "multi", &ix));
        CHECK_STR_EQ(ix.media_type, TEMPER_OCI_MT_INDEX);
        struct temper_oci_index x = { 0 };
        MUST(temper_oci_read_index(NULL, l, &ix, &x));
        CHECK_INT_EQ(x.n_manifests, 2);
        CHECK_STR_EQ(x.n_manifests == 2 ? x.manifests[1].platform->architecture : NULL, "arm64");
        CHECK_INT_EQ(temper_oci_layout_index(l)->n_manifests, 2);
        temper_oci_index_cleanup(&x);
        temper_oci_config_cleanup(&c);
    }
    temper_oci_descriptor_cleanup(&m2);
    temper_oci_descriptor_cleanup(&ix);
}

static void test_images(void)
{
    char dir[4096];
    path_in(dir, sizeof dir, base, "l4");
    struct temper_oci_layout *l = NULL;
    MUST(temper_oci_layout_create(NULL, dir, &l));
    struct temper_oci_descriptor layer = { 0 }, m1 = { 0 };
    const char *diff[] = { D1 };
    MUST(temper_oci_blob_write(NULL, l, TEMPER_OCI_MT_LAYER_GZIP, "layer-bytes", 11, &layer));
    image_single(l, &layer, diff, &m1);
    image_multi(l, &layer, diff, &m1);
    temper_oci_descriptor_cleanup(&layer);
    temper_oci_descriptor_cleanup(&m1);
    temper_oci_layout_free(l);
}

int main(void)
{
    if (tu_mkdtemp(base, sizeof base, "oci-layout") != 0) {
        printf("Bail out! cannot create a temporary directory\n");
        return 1;
    }
    test_create_open();
    test_blobs();
    test_tags();
    test_images();
    tu_rmtree(base);
    return tap_done();
}

/* Unit tests: temper_oci_layout_open_ref() — oci:DIR[:TAG|@DIGEST]
 * references (include/temper/oci.h), shared by tracker_oci,
 * builder_overlay and `temper verify`. */
#include "config.h"
#include "oci_test_util.h"
#include "../lib/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <temper/oci.h>

static char base[4096];

/* A stand-in image manifest blob with `n` in its config digest. */
static int add_image(struct temper_oci_layout *l, char n, const char *tag,
                     const char *artifact_type, struct temper_oci_descriptor *d)
{
    char m[512];
    int k = snprintf(m, sizeof m,
                     "{\"schemaVersion\":2,\"mediaType\":\"" TEMPER_OCI_MT_MANIFEST "\","
                     "\"config\":{\"mediaType\":\"" TEMPER_OCI_MT_EMPTY "\",\"digest\":"
                     "\"sha256:%064d\",\"size\":%d},\"layers\":[]}",
                     0, 2 + n);
    if (k <= 0 || (size_t)k >= sizeof m || temper_oci_blob_write(NULL, l, TEMPER_OCI_MT_MANIFEST,
                                                                 m, (size_t)k, d)) {
        return -1;
    }
    if (artifact_type) {
        d->artifact_type = strdup(artifact_type);
    }
    return tag ? temper_oci_layout_tag(NULL, l, d, tag) : 0;
}

/* Open ref; the digest it resolves to ("" on error) and rc. */
static int open_ref(const char *ref, unsigned flags, char digest[TEMPER_DIGEST_STR_LEN])
{
    struct temper_oci_layout *l = NULL;
    struct temper_oci_descriptor d;
    memset(&d, 0, sizeof d);
    int rc = temper_oci_layout_open_ref(NULL, ref, flags, &l, &d);
    snprintf(digest, TEMPER_DIGEST_STR_LEN, "%s", rc == TEMPER_OK ? d.digest : "");
    if (rc != TEMPER_OK && (l != NULL || d.media_type != NULL)) {
        rc = -1000; /* outputs not reset on error */
    }
    temper_oci_descriptor_cleanup(&d);
    temper_oci_layout_free(l);
    return rc;
}

/* "<scheme><base>/<path><sep><sel>" (static buffer). */
static char *refs(const char *scheme, const char *path, const char *sep, const char *sel)
{
    static char r[8192];
    snprintf(r, sizeof r, "%s%s/%s%s%s", scheme, base, path, sep, sel);
    return r;
}

int main(void)
{
    if (tu_mkdtemp(base, sizeof base, "ociref") != 0) {
        return 1;
    }
    struct temper_oci_descriptor one, two, sig, child;
    memset(&one, 0, sizeof one);
    memset(&two, 0, sizeof two);
    memset(&sig, 0, sizeof sig);
    memset(&child, 0, sizeof child);
    char dir[8192], got[TEMPER_DIGEST_STR_LEN];
    struct temper_oci_layout *l = NULL, *s = NULL;
    snprintf(dir, sizeof dir, "%s/two", base);
    int ok = temper_oci_layout_create(NULL, dir, &l) == TEMPER_OK &&
             add_image(l, 1, "latest", NULL, &one) == 0 && add_image(l, 2, "1.0", NULL, &two) == 0 &&
             add_image(l, 4, NULL, NULL, &child) == 0;
    snprintf(dir, sizeof dir, "%s/single", base);
    ok = ok && temper_oci_layout_create(NULL, dir, &s) == TEMPER_OK &&
         add_image(s, 1, "v1", NULL, &one) == 0 &&
         add_image(s, 3, "sha256-x.sig", "application/vnd.dev.cosign.artifact.sig.v1+json",
                   &sig) == 0;
    TEST("fixture layouts")
    {
        CHECK(ok);
    }
    TEST("tags: :TAG, the default 'latest' with TEMPER_OCI_REF_LATEST")
    {
        CHECK_INT_EQ(open_ref(refs("oci:", "two", ":", "1.0"), 0, got), TEMPER_OK);
        CHECK_STR_EQ(got, two.digest);
        CHECK_INT_EQ(open_ref(refs("oci:", "two", ":", "latest"), 0, got), TEMPER_OK);
        CHECK_STR_EQ(got, one.digest);
        CHECK_INT_EQ(open_ref(refs("oci:", "two", "", ""), TEMPER_OCI_REF_LATEST, got), TEMPER_OK);
        CHECK_STR_EQ(got, one.digest);
    }
    TEST("no selector without the flag: the only image, cosign objects aside")
    {
        CHECK_INT_EQ(open_ref(refs("oci:", "single", "", ""), 0, got), TEMPER_OK);
        CHECK_STR_EQ(got, one.digest);
        CHECK_INT_EQ(open_ref(refs("oci:", "two", "", ""), 0, got), TEMPER_EINVAL);
        CHECK_STR_EQ(got, "");
    }
    TEST("digests: an index.json entry, a manifest blob without one")
    {
        CHECK_INT_EQ(open_ref(refs("oci:", "two", "@", two.digest), 0, got), TEMPER_OK);
        CHECK_STR_EQ(got, two.digest);
        CHECK_INT_EQ(open_ref(refs("oci:", "two", "@", child.digest), 0, got), TEMPER_OK);
        CHECK_STR_EQ(got, child.digest);
    }
    TEST("missing tag and a digest not in the layout are ENOTFOUND")
    {
        CHECK_INT_EQ(open_ref(refs("oci:", "two", ":", "nosuch"), 0, got), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(open_ref(refs("oci:", "single", "", ""), TEMPER_OCI_REF_LATEST, got),
                     TEMPER_ENOTFOUND);
        CHECK_INT_EQ(open_ref(refs("oci:", "two", "@", "sha256:"
                                   "1111111111111111111111111111111111111111111111111111111111111111"),
                              0, got),
                     TEMPER_ENOTFOUND);
        CHECK_INT_EQ(open_ref(refs("oci:", "nolayout", ":", "x"), 0, got) < 0, 1);
    }
    TEST("a '..' in the path is the operator's to write: it resolves")
    {
        CHECK_INT_EQ(open_ref(refs("oci:", "two/../two", ":", "1.0"), 0, got), TEMPER_OK);
        CHECK_INT_EQ(open_ref("oci:../nothing-here:latest", 0, got) < 0, 1);
    }
    TEST("malformed references are EINVAL")
    {
        CHECK_INT_EQ(open_ref("oci:", 0, got), TEMPER_EINVAL);
        CHECK_INT_EQ(open_ref("oci::latest", 0, got), TEMPER_EINVAL);
        CHECK_INT_EQ(open_ref(refs("oci:", "two", ":", ""), 0, got), TEMPER_EINVAL);
        CHECK_INT_EQ(open_ref(refs("oci:", "two", "@", "sha256:12"), 0, got), TEMPER_EINVAL);
        CHECK_INT_EQ(open_ref(refs("oci:", "two", ":", "a b"), 0, got), TEMPER_EINVAL);
        CHECK_INT_EQ(open_ref(refs("docker://", "two", ":", "1.0"), 0, got), TEMPER_EINVAL);
        CHECK_INT_EQ(open_ref(refs("oci:", "two", ":", "1.0"), 0x8u, got), TEMPER_EINVAL);
        CHECK_INT_EQ(open_ref(NULL, 0, got), TEMPER_EINVAL);
    }
    TEST("':' in an earlier path component is part of DIR")
    {
        char d2[8192];
        struct temper_oci_layout *c = NULL;
        struct temper_oci_descriptor x;
        memset(&x, 0, sizeof x);
        snprintf(d2, sizeof d2, "%s/a:b", base);
        CHECK(mkdir(d2, 0755) == 0);
        snprintf(d2, sizeof d2, "%s/a:b/lay", base);
        CHECK(temper_oci_layout_create(NULL, d2, &c) == TEMPER_OK &&
              add_image(c, 5, "t", NULL, &x) == 0);
        CHECK_INT_EQ(open_ref(refs("oci:", "a:b/lay", ":", "t"), 0, got), TEMPER_OK);
        CHECK_STR_EQ(got, x.digest);
        temper_oci_descriptor_cleanup(&x);
        temper_oci_layout_free(c);
    }
    temper_oci_descriptor_cleanup(&one);
    temper_oci_descriptor_cleanup(&two);
    temper_oci_descriptor_cleanup(&sig);
    temper_oci_descriptor_cleanup(&child);
    temper_oci_layout_free(l);
    temper_oci_layout_free(s);
    tu_rmtree(base);
    return tap_done();
}

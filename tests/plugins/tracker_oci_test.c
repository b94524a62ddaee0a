/* tracker_oci through the harness: layouts the test writes and re-tags;
 * first sighting, no change, a moved tag, a broken reference. */
#include "config.h"
#include "tests/lib/plugin_harness.h"
#include "tests/lib/tap.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

/* Tag `tag` in layout `path` at a new blob holding `body`. */
static int put(const char *path, const char *tag, const char *body)
{
    struct temper_oci_layout *l = NULL;
    struct temper_oci_descriptor d;
    memset(&d, 0, sizeof d);
    int rc = temper_oci_layout_create(NULL, path, &l);
    rc = rc == TEMPER_OK ? temper_oci_blob_write(NULL, l, TEMPER_OCI_MT_MANIFEST, body,
                                                 strlen(body), &d)
                         : rc;
    rc = rc == TEMPER_OK ? temper_oci_layout_tag(NULL, l, &d, tag) : rc;
    temper_oci_descriptor_cleanup(&d);
    temper_oci_layout_free(l);
    return rc;
}

static int poll(struct ph *h, const char *const *kv)
{
    const struct temper_tracker_ops *ops = ph_ops(h);
    void *conf = NULL;
    char *err = NULL;
    int rc = ph_fill(ops->watch_options, ops->watch_conf_size, kv, &conf, &err);
    struct temper_watch w = { .size = sizeof w, .image = "custom", .id = "custom", .conf = conf };
    const struct temper_watch *ws[] = { &w };
    ph_clear_artifacts(h);
    temper_stage_reset(h->st);
    rc = rc == TEMPER_OK ? ops->poll(h->state, h->st, ws, 1) : rc;
    free(err);
    ph_free_conf(ops->watch_options, conf);
    return rc;
}

static const char *attr(struct ph *h, size_t i, const char *k)
{
    return i < ph_artifact_count(h) ? temper_artifact_get(ph_artifact(h, i), k) : NULL;
}

static int rm_fn(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/temper-troci-XXXXXX");
    if (!mkdtemp(dir)) {
        printf("Bail out! no scratch directory\n");
        return 1;
    }
    char base[128], art[128], r1[160], r2[160], r3[160];
    snprintf(base, sizeof base, "%s/base", dir);
    snprintf(art, sizeof art, "%s/art", dir);
    snprintf(r1, sizeof r1, "ref=oci:%s:12", base);
    snprintf(r2, sizeof r2, "ref=oci:%s:v1", art);
    snprintf(r3, sizeof r3, "ref=oci:%s/missing:1", dir);
    const char *const kv[] = { r1, r2, NULL };
    const char *const kv_bad[] = { r1, r3, NULL };
    struct ph h;
    char *err = NULL;
    static const char *const none[] = { NULL };
    if (put(base, "12", "{\"b\":1}") != TEMPER_OK || put(art, "v1", "{\"a\":1}") != TEMPER_OK ||
        ph_load(&h, TEMPER_KIND_TRACKER, "oci", none, &err) != TEMPER_OK ||
        ph_open(&h) != TEMPER_OK) {
        printf("Bail out! set-up failed %s\n", err ? err : "");
        return 1;
    }
    TEST("the first poll reports every reference once, for the watching image")
    {
        CHECK_INT_EQ(poll(&h, kv), TEMPER_OK);
        CHECK_INT_EQ((int)ph_artifact_count(&h), 2);
        CHECK_STR_EQ(attr(&h, 0, TEMPER_ATTR_IMAGE), "custom");
        CHECK(attr(&h, 0, TEMPER_ATTR_OLD_REF) == NULL);
        CHECK(strncmp(attr(&h, 1, TEMPER_ATTR_NEW_REF), "sha256:", 7) == 0);
    }
    TEST("nothing moved: nothing reported")
    {
        CHECK_INT_EQ(poll(&h, kv), TEMPER_OK);
        CHECK_INT_EQ((int)ph_artifact_count(&h), 0);
    }
    TEST("a moved tag is one change with the old and new digests")
    {
        CHECK_INT_EQ(put(art, "v1", "{\"a\":2}"), TEMPER_OK);
        CHECK_INT_EQ(poll(&h, kv), TEMPER_OK);
        CHECK_INT_EQ((int)ph_artifact_count(&h), 1);
        CHECK_STR_CONTAINS(attr(&h, 0, TEMPER_ATTR_UPSTREAM), "/art:v1");
        CHECK(attr(&h, 0, TEMPER_ATTR_OLD_REF) &&
              strcmp(attr(&h, 0, TEMPER_ATTR_OLD_REF),
                     attr(&h, 0, TEMPER_ATTR_NEW_REF)) != 0);
    }
    TEST("a reference that cannot be resolved is logged; the others are still polled")
    {
        CHECK_INT_EQ(put(base, "12", "{\"b\":2}"), TEMPER_OK);
        CHECK_INT_EQ(poll(&h, kv_bad), TEMPER_OK);
        CHECK_INT_EQ((int)ph_artifact_count(&h), 1);
        CHECK_STR_CONTAINS(attr(&h, 0, TEMPER_ATTR_UPSTREAM), "/base:12");
    }
    ph_close(&h);
    nftw(dir, rm_fn, 16, FTW_DEPTH | FTW_PHYS);
    return tap_done();
}

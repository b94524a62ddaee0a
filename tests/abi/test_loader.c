/* temper — the loader refuses every broken module with one clear line. */
#include "config.h"
#include "core/loader.h"
#include <temper/suite.h>
#include "tests/lib/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *abi_dir(void)
{
    static char dir[4096];
    const char *b = getenv("TEMPER_BUILDDIR");
    int n = snprintf(dir, sizeof dir, "%s/tests/abi", b ? b : ".");
    return n > 0 && (size_t)n < sizeof dir ? dir : ".";
}

static void expect_refusal(struct temper_loader *l, const char *name, const char *phrase)
{
    const struct temper_module *m = NULL;
    char *err = NULL;
    int rc = temper_loader_load(l, TEMPER_KIND_SUITE, name, &m, &err);
    TEST(name) {
        CHECK(rc != TEMPER_OK);
        CHECK(m == NULL);
        CHECK_STR_CONTAINS(err, phrase);
        CHECK(err && strchr(err, '\n') == NULL);
    }
    if (err) {
        printf("# %s\n", err);
    }
    free(err);
}

struct scan_count {
    int ok, bad, good_seen;
};

static void count_ok(void *ctx, const struct temper_module *m)
{
    struct scan_count *c = ctx;
    c->ok++;
    if (strcmp(m->module, "suite_good") == 0) {
        c->good_seen = 1;
    }
}

static void count_bad(void *ctx, const char *module, const char *err)
{
    struct scan_count *c = ctx;
    (void)module;
    (void)err;
    c->bad++;
}

static void test_good(struct temper_loader *l)
{
    const struct temper_module *m = NULL, *again = NULL;
    char *err = NULL;
    int rc = temper_loader_load(l, TEMPER_KIND_SUITE, "good", &m, &err);
    TEST("good module loads") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK(err == NULL);
        CHECK(m && m->desc->kind == TEMPER_KIND_SUITE);
        CHECK_STR_EQ(m ? m->desc->name : NULL, "good");
        CHECK_STR_EQ(m ? m->module : NULL, "suite_good");
        CHECK(m && m->desc->options && strcmp(m->desc->options[1].key, "count") == 0);
        CHECK(m && ((const struct temper_suite_ops *)m->desc->ops)->run != NULL);
    }
    free(err);
    err = NULL;
    rc = temper_loader_load(l, TEMPER_KIND_SUITE, "good", &again, &err);
    TEST("second load returns the same module") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK(again == m);
    }
    free(err);
}

static void test_files(struct temper_loader **lp, char *tmp)
{
    char link[4200], target[4200], dir[4200];
    int ok = snprintf(link, sizeof link, "%s/suite_link.la", tmp) > 0 &&
             snprintf(target, sizeof target, "%s/suite_good.la", abi_dir()) > 0 &&
             snprintf(dir, sizeof dir, "%s/suite_adir.la", tmp) > 0;
    TEST("fixture set-up") {
        CHECK(ok);
        CHECK(symlink(target, link) == 0);
        CHECK(mkdir(dir, 0755) == 0);
    }
    const char *dirs[] = { tmp };
    char *err = NULL;
    struct temper_loader *l = NULL;
    TEST("loader over the temp dir") {
        CHECK_INT_EQ(temper_loader_new(dirs, 1, &l, &err), TEMPER_OK);
    }
    free(err);
    if (!l) {
        return;
    }
    expect_refusal(l, "link", "not a regular file (a symbolic link)");
    expect_refusal(l, "adir", "not a regular file");
    expect_refusal(l, "nothere", "no plugin 'suite_nothere' in");
    expect_refusal(l, "../etc", "invalid plugin name");
    temper_loader_free(l);
    unlink(link);
    rmdir(dir);
    (void)lp;
}

int main(void)
{
    if (setenv("TEMPER_NO_INSTALLED_PLUGINS", "1", 1) != 0) {
        return 99;
    }
    char probe[4200];
    int n = snprintf(probe, sizeof probe, "%s/.libs/suite_good.so", abi_dir());
    if (n < 0 || access(probe, R_OK) != 0) {
        printf("1..0 # SKIP no shared test modules (static build)\n");
        return 0;
    }
    const char *dirs[] = { abi_dir() };
    struct temper_loader *l = NULL;
    char *err = NULL;
    TEST("loader opens") {
        CHECK_INT_EQ(temper_loader_new(dirs, 1, &l, &err), TEMPER_OK);
    }
    free(err);
    if (!l) {
        return tap_done();
    }
    test_good(l);
    expect_refusal(l, "badmajor", "major version differs");
    expect_refusal(l, "newminor", "newer than this temper's");
    expect_refusal(l, "short", "shorter than the");
    expect_refusal(l, "mismatch", "does not match the file name 'suite_mismatch'");
    expect_refusal(l, "nosym", "missing symbol 'suite_nosym_LTX_temper_plugin'");
    expect_refusal(l, "noops", "has no operation table");
    expect_refusal(l, "shortops", "operation table is 2 bytes");
    expect_refusal(l, "badopts", "option 'label' is declared twice");
    {
        const struct temper_module *m = NULL;
        err = NULL;
        int rc = temper_loader_load(l, TEMPER_KIND_GUARD, "wrongkind", &m, &err);
        TEST("kind mismatch") {
            CHECK(rc != TEMPER_OK);
            CHECK_STR_CONTAINS(err, "descriptor says suite 'wrongkind'");
        }
        free(err);
    }
    struct scan_count sc = { 0, 0, 0 };
    TEST("scan lists the good module and refuses the others") {
        CHECK_INT_EQ(temper_loader_scan(l, count_ok, count_bad, &sc), TEMPER_OK);
        CHECK(sc.good_seen);
        CHECK_INT_EQ(sc.ok, 1);
        CHECK_INT_EQ(sc.bad, 9);
    }
    temper_loader_free(l);

    char tmp[] = "/tmp/temper-abi-XXXXXX";
    if (mkdtemp(tmp)) {
        test_files(&l, tmp);
        rmdir(tmp);
    }
    return tap_done();
}

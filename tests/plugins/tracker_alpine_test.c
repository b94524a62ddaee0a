/* temper — tracker_alpine through the real loader, on loopback only.
 *
 * Data: the REAL signed index of apko's tests (one package, RSA-SHA256,
 * with its public key) and the REAL Alpine 3.17 index (5,004 packages,
 * signed by Alpine's key, which is not here); indexes derived from them
 * (versions moved, packages added) are signed by a throwaway RSA key made
 * with openssl, the way abuild-sign does (tests/plugins/mkapkindex.py).
 * Every bad input must fail with a clear message and leave the saved state
 * as it was. */
#include "config.h"
#include "tests/lib/tap.h"
#include "tests/plugins/pkgtrack_testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IDX_PATH "/alpine/v3.19/main/x86_64/APKINDEX.tar.gz"

static char sample_dir[4096];
static char *test_key;      /* private key (PEM) */
static char *test_pub;      /* .../temper-test.rsa.pub */
static char *log_path;
static struct ph seed;      /* state carried between rounds */
static char *seed_state;

static char *sample(const char *name)
{
    return temper_strdupf("%s/%s", sample_dir, name);
}

static int make_key(void)
{
    test_key = fx_path("temper-test.pem");
    test_pub = fx_path("temper-test.rsa.pub");
    const char *gen[] = { "openssl", "genrsa", "-out", test_key, "2048", NULL };
    const char *pub[] = { "openssl", "rsa", "-in", test_key, "-pubout", "-out", test_pub, NULL };
    return test_key && test_pub && fx_run(gen) == 0 && fx_run(pub) == 0 ? 0 : -1;
}

/* mkapkindex.py: out (new path in the scratch dir) from `from` with the
 * edits in `args` (NULL-terminated), signed by the test key as `key_name`
 * (NULL: unsigned). */
static char *make_index(const char *out_name, const char *from, const char *key_name,
                        const char *const *args)
{
    char *out = fx_path(out_name);
    const char *src = getenv("TEMPER_SRCDIR");
    char *script = temper_strdupf("%s/tests/plugins/mkapkindex.py", src ? src : ".");
    const char *py = getenv("PYTHON3");
    const char *argv[32] = { py && *py ? py : "python3", script, "--from", from, "--out", out };
    size_t n = 6;
    if (key_name) {
        argv[n++] = "--key";
        argv[n++] = test_key;
        argv[n++] = "--key-name";
        argv[n++] = key_name;
    }
    for (size_t i = 0; args && args[i] && n < 31; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    if (!out || !script || fx_run(argv) != 0) {
        TEMPER_FREE(out);
    }
    free(script);
    return out;
}

static const char *const *opts(const struct fx_server *srv, const char *keys,
                               const char *const *extra)
{
    static char mirror[128], keys_kv[8400];
    static const char *base[] = { mirror, "branch=v3.19", keys_kv, "retries=0", "timeout=5s" };
    snprintf(mirror, sizeof mirror, "mirror=http://127.0.0.1:%d/alpine/", srv->port);
    snprintf(keys_kv, sizeof keys_kv, "keys=%s", keys);
    return pt_opts(base, sizeof base / sizeof base[0], extra);
}

static int serve(const char *file, const char *etag, struct fx_server *srv)
{
    struct pt_script s;
    pt_script_init(&s);
    pt_route(&s, IDX_PATH, "\"body_file\": \"%s\", \"etag\": \"\\\"%s\\\"\"", file, etag);
    return pt_serve(&s, srv);
}

static void test_real_sample(const char *idx, const char *pub)
{
    struct fx_server srv;
    struct ph h, h2;
    char *err = NULL;
    static const char *const initial[] = { "report_initial=yes", NULL };
    int up = serve(idx, "s1", &srv);
    TEST("the real RSA-SHA256 signed index with its key: every package reported") {
        CHECK_INT_EQ(up, 0);
        CHECK_INT_EQ(pt_open(&h, "alpine", opts(&srv, pub, initial), NULL, 0, &err),
                     TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&h), TEMPER_OK);
        CHECK_STR_EQ(pt_error(&h), "");
        CHECK_INT_EQ(ph_artifact_count(&h), 1);
        CHECK_STR_EQ(pt_attr(&h, "alpine-baselayout", TEMPER_ATTR_NEW_VERSION), "3.2.0-r23");
        CHECK_STR_EQ(pt_attr(&h, "alpine-baselayout", TEMPER_ATTR_OLD_VERSION), "");
        CHECK_STR_EQ(pt_attr(&h, "alpine-baselayout", TEMPER_ATTR_SOURCE_PACKAGE),
                     "alpine-baselayout");
        CHECK_STR_EQ(pt_attr(&h, "alpine-baselayout", TEMPER_ATTR_DISTRIBUTION),
                     "alpine:v3.19");
    }
    free(err);
    err = NULL;
    TEST("second round: one conditional request (304), nothing reported") {
        CHECK_INT_EQ(pt_open(&h2, "alpine", opts(&srv, pub, initial), &h, 0, &err), TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&h2), TEMPER_OK);
        CHECK_INT_EQ(ph_artifact_count(&h2), 0);
        CHECK_INT_EQ(pt_hits(&srv, IDX_PATH), 2);
        CHECK_STR_CONTAINS(ph_state(&h2, "packages"), "\nalpine-baselayout 3.2.0-r23\n");
    }
    free(err);
    ph_close(&h2);
    ph_close(&h);
    fx_server_stop(&srv);
}

/* One more round on the seed state; *h stays open for the checks. */
static int seed_round(struct ph *h, const char *idx, const char *keys,
                      const char *const *extra, struct fx_server *srv)
{
    char *err = NULL;
    if (serve(idx, idx, srv) != 0) {
        return -1;
    }
    int rc = pt_open(h, "alpine", opts(srv, keys, extra), &seed, 0, &err);
    free(err);
    return rc == TEMPER_OK ? pt_poll(h) : rc;
}

static void test_moves(const char *idx, const char *keys)
{
    struct fx_server srv;
    struct ph h;
    char *err = NULL;
    static const char *const moved_args[] = { "--set", "alpine-baselayout=3.2.0-r24", "--add",
                                              "zlib=1.3.1-r0", NULL };
    static const char *const down_args[] = { "--set", "alpine-baselayout=3.2.0-r22", NULL };
    char *moved = make_index("moved.tar.gz", idx, "temper-test.rsa.pub", moved_args);
    char *down = make_index("down.tar.gz", idx, "temper-test.rsa.pub", down_args);
    int up = serve(idx, "s1", &srv);
    TEST("first round without report_initial records a baseline") {
        CHECK(moved && down);
        CHECK_INT_EQ(up, 0);
        CHECK_INT_EQ(pt_open(&seed, "alpine", opts(&srv, keys, NULL), NULL, 0, &err),
                     TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&seed), TEMPER_OK);
        CHECK_INT_EQ(ph_artifact_count(&seed), 0);
        CHECK_INT_EQ(pt_state_packages(&seed), 1);
    }
    fx_server_stop(&srv);
    free(err);
    TEST("an index signed by the test key: what moved is reported") {
        CHECK_INT_EQ(seed_round(&h, moved, keys, NULL, &srv), TEMPER_OK);
        CHECK_STR_EQ(pt_error(&h), "");
        CHECK_INT_EQ(ph_artifact_count(&h), 2);
        CHECK_STR_EQ(pt_attr(&h, "alpine-baselayout", TEMPER_ATTR_OLD_VERSION), "3.2.0-r23");
        CHECK_STR_EQ(pt_attr(&h, "alpine-baselayout", TEMPER_ATTR_NEW_VERSION), "3.2.0-r24");
        CHECK_STR_EQ(pt_attr(&h, "zlib", TEMPER_ATTR_OLD_VERSION), "");
        CHECK_STR_EQ(pt_attr(&h, "zlib", TEMPER_ATTR_SOURCE_PACKAGE), "zlib");
    }
    ph_close(&h);
    fx_server_stop(&srv);
    TEST("a downgrade is logged, not reported, and the greater version kept") {
        CHECK_INT_EQ(seed_round(&h, down, keys, NULL, &srv), TEMPER_OK);
        CHECK_INT_EQ(ph_artifact_count(&h), 0);
        CHECK_STR_CONTAINS(ph_state(&h, "packages"), "\nalpine-baselayout 3.2.0-r24\n");
        CHECK(strstr(ph_state(&h, "packages"), "\nzlib ") == NULL);
        char *log = fx_read(log_path, NULL);
        CHECK_STR_CONTAINS(log, "alpine-baselayout went back from 3.2.0-r24 to 3.2.0-r22");
        free(log);
    }
    ph_close(&h);
    fx_server_stop(&srv);
    const char *st = ph_state(&seed, "packages");
    seed_state = st ? strdup(st) : NULL;
    free(moved);
    free(down);
}

/* A round that must fail with `phrase`, the saved state untouched. */
static void refused(const char *what, const char *idx, const char *keys,
                    const char *const *extra, int want, const char *phrase)
{
    struct fx_server srv;
    struct ph h;
    size_t count = ph_state_count(&seed);
    TEST(what) {
        CHECK(idx != NULL);
        int rc = seed_round(&h, idx ? idx : "/nonexistent", keys, extra, &srv);
        if (want) {
            CHECK_INT_EQ(rc, want);
        } else {
            CHECK(rc != TEMPER_OK);
        }
        CHECK_STR_CONTAINS(pt_error(&h), phrase);
        tap_diag(pt_error(&h));
        CHECK_INT_EQ(ph_artifact_count(&h), 0);
        CHECK_STR_EQ(ph_state(&h, "packages"), seed_state);
        CHECK_INT_EQ(ph_state_count(&h), count);
    }
    ph_close(&h);
    fx_server_stop(&srv);
}

static char *truncated(const char *idx, size_t cut)
{
    size_t len = 0;
    char *data = fx_read(idx, &len);
    char *out = fx_path("truncated.tar.gz");
    if (!data || !out || len <= cut || pt_write(out, data, len - cut) != 0) {
        TEMPER_FREE(out);
    }
    free(data);
    return out;
}

static void test_refusals(const char *idx, const char *sample_pub, const char *big)
{
    char *named_pub = fx_path("test-rsa256.rsa.pub");
    size_t len = 0;
    char *pem = fx_read(sample_pub, &len);
    int copied = named_pub && pem ? pt_write(named_pub, pem, len) : -1;
    free(pem);
    char *forged = make_index("forged.tar.gz", idx, "test-rsa256.rsa.pub", NULL);
    char *unsigned_ = make_index("unsigned.tar.gz", idx, NULL, NULL);
    char *cut = truncated(idx, 30);
    char phrase[512];
    snprintf(phrase, sizeof phrase, "the signature by test-rsa256.rsa.pub does not verify"
             " with %s", named_pub ? named_pub : "");
    static const char *const small[] = { "max_index_size=1K", NULL };
    TEST("test files made") {
        CHECK_INT_EQ(copied, 0);
    }
    refused("a bad signature (the named key does not verify it)", forged, named_pub, NULL,
            TEMPER_ECRYPTO, phrase);
    refused("the real Alpine 3.17 index with the wrong key", big, test_pub, NULL,
            TEMPER_ECRYPTO, "the signature by alpine-devel@lists.alpinelinux.org-616ae350"
            ".rsa.pub does not verify with any of the 1 configured keys");
    refused("an unsigned index", unsigned_, test_pub, NULL, TEMPER_ECRYPTO, "is not signed");
    refused("a truncated gzip stream", cut, sample_pub, NULL, 0, IDX_PATH);
    refused("an index over max_index_size", big, test_pub, small, TEMPER_ELIMIT,
            "over the limit");
    free(named_pub);
    free(forged);
    free(unsigned_);
    free(cut);
}

static void test_real_317(const char *big)
{
    struct fx_server srv;
    struct ph h, h2;
    char *err = NULL;
    static const char *const bump[] = { "--set", "busybox=1.36.0-r0", "--set", "musl=1.2.4-r0",
                                        NULL };
    static const char *const origins[] = { "report_initial=yes", "origins=busybox", NULL };
    char *base = make_index("317.tar.gz", big, "temper-test.rsa.pub", NULL);
    char *next = make_index("317b.tar.gz", big, "temper-test.rsa.pub", bump);
    TEST("the real 3.17 index re-signed: a 5,000-package baseline, compact state") {
        CHECK(base && next);
        CHECK_INT_EQ(serve(base ? base : "/x", "a", &srv), 0);
        CHECK_INT_EQ(pt_open(&h, "alpine", opts(&srv, test_pub, NULL), NULL, 0, &err),
                     TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&h), TEMPER_OK);
        CHECK_INT_EQ(ph_artifact_count(&h), 0);
        CHECK(pt_state_packages(&h) > 4900);
        CHECK(strlen(ph_state(&h, "packages")) < 60 * pt_state_packages(&h));
    }
    fx_server_stop(&srv);
    free(err);
    err = NULL;
    TEST("two versions moved in it: two changes") {
        CHECK_INT_EQ(serve(next ? next : "/x", "b", &srv), 0);
        CHECK_INT_EQ(pt_open(&h2, "alpine", opts(&srv, test_pub, NULL), &h, 0, &err),
                     TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&h2), TEMPER_OK);
        CHECK_INT_EQ(ph_artifact_count(&h2), 2);
        CHECK_STR_EQ(pt_attr(&h2, "busybox", TEMPER_ATTR_OLD_VERSION), "1.35.0-r29");
        CHECK_STR_EQ(pt_attr(&h2, "musl", TEMPER_ATTR_NEW_VERSION), "1.2.4-r0");
    }
    fx_server_stop(&srv);
    ph_close(&h2);
    ph_close(&h);
    free(err);
    err = NULL;
    TEST("origins: every package built from busybox, and only those") {
        CHECK_INT_EQ(serve(base ? base : "/x", "a", &srv), 0);
        CHECK_INT_EQ(pt_open(&h, "alpine", opts(&srv, test_pub, origins), NULL, 0, &err),
                     TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&h), TEMPER_OK);
        CHECK_INT_EQ(ph_artifact_count(&h), 11);
        size_t other = 0;
        for (size_t i = 0; i < ph_artifact_count(&h); i++) {
            const char *o = temper_artifact_get(ph_artifact(&h, i), TEMPER_ATTR_SOURCE_PACKAGE);
            other += !o || strcmp(o, "busybox") != 0;
        }
        CHECK_INT_EQ(other, 0);
        CHECK(pt_change(&h, "busybox-binsh") != NULL);
    }
    fx_server_stop(&srv);
    ph_close(&h);
    free(err);
    free(base);
    free(next);
}

static void test_bad_options(const char *sample_pub)
{
    struct ph h;
    char *err = NULL;
    static const char *const missing[] = { "branch=edge", "keys=/nonexistent.pub", NULL };
    char not_pem[4200];
    snprintf(not_pem, sizeof not_pem, "keys=%s", log_path);
    const char *const junk[] = { "branch=edge", not_pem, NULL };
    char one[4200];
    snprintf(one, sizeof one, "keys=%s", sample_pub);
    const char *const bad_branch[] = { "branch=v3.19/../..", one, NULL };
    TEST("open refuses a missing key, a key that is no PEM, a bad branch") {
        CHECK_INT_EQ(pt_open(&h, "alpine", missing, NULL, 0, &err), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(err, "key /nonexistent.pub: not a readable absolute path");
        ph_close(&h);
        free(err);
        CHECK_INT_EQ(pt_open(&h, "alpine", junk, NULL, 0, &err), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(err, "not a PEM public key");
        ph_close(&h);
        free(err);
        CHECK_INT_EQ(pt_open(&h, "alpine", bad_branch, NULL, 0, &err), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(err, "branch 'v3.19/../..' is not a valid name");
        ph_close(&h);
    }
    free(err);
}

int main(void)
{
    const char *d = getenv("TEMPER_DATA");
    snprintf(sample_dir, sizeof sample_dir, "%s/samples/alpine", d ? d : "tests/data");
    if (access("/usr/bin/openssl", X_OK) != 0) {
        printf("1..0 # SKIP openssl is not installed\n");
        return 0;
    }
    if (!fx_begin(&log_path)) {
        return 0;
    }
    char *idx = sample("apko_rsa256-signed_APKINDEX.tar.gz");
    char *pub = sample("apko_rsa256-signed_test-rsa256.rsa.pub");
    char *big = sample("apko_alpine-317_APKINDEX.tar.gz");
    int made = make_key();
    TEST("a throwaway RSA key") {
        CHECK_INT_EQ(made, 0);
    }
    char *keys = temper_strdupf("%s,%s", pub, test_pub ? test_pub : "");
    if (made == 0 && keys) {
        test_real_sample(idx, pub);
        test_moves(idx, keys);
        test_refusals(idx, pub, big);
        test_real_317(big);
        test_bad_options(pub);
    }
    ph_close(&seed);
    free(seed_state);
    free(idx);
    free(pub);
    free(big);
    free(keys);
    free(test_key);
    free(test_pub);
    fx_end(log_path);
    return tap_done();
}

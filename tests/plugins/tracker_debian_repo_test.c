/* temper — tracker_debian on repositories made here (Packages.xz with xz,
 * Packages.gz with gzip, InRelease clearsigned by a throwaway ed25519 key
 * made with gpg in a scratch GNUPGHOME), served on loopback: what moved
 * between rounds, downgrades, removals, several versions of one package,
 * by-hash, a second round that costs one conditional request, replay and
 * expiry refused, a hash mismatch, Ubuntu naming and a changed
 * configuration.  Every refusal leaves the saved state untouched. */
#include "config.h"
#include "tests/lib/tap.h"
#include "tests/plugins/pkgtrack_testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct pkg {
    const char *name, *version, *source;
};

struct repo_spec {
    const char *tag;            /* file name prefix */
    const char *origin, *suite, *codename;
    long long date, valid_until; /* Unix time; valid_until -1: none */
    bool by_hash;               /* Acquire-By-Hash: yes, served by hash only */
    const struct pkg *main, *contrib;
    size_t n_main, n_contrib;
};

struct repo {
    char *inrelease, *main_xz, *contrib_gz;
    char main_hash[65], contrib_hash[65];
};

static char *keyring;           /* the throwaway key's public keyring */
static char *log_path;
static long long now_s;

static int gpg(const char *a1, const char *a2, const char *a3, const char *a4,
               const char *a5)
{
    const char *argv[] = { "gpg", "--batch", "--quiet", "--yes", "--pinentry-mode",
                           "loopback", "--passphrase", "", a1, a2, a3, a4, a5, NULL };
    return fx_run(argv);
}

static int make_key(void)
{
    char *home = fx_path("gnupg");
    keyring = fx_path("test-keyring.gpg");
    int rc = home && keyring && mkdir(home, 0700) == 0 ? 0 : -1;
    if (rc == 0) {
        setenv("GNUPGHOME", home, 1);
        rc = gpg("--quick-gen-key", "temper test <test@temper.invalid>", "ed25519", "sign",
                 "never");
    }
    if (rc == 0) {
        rc = gpg("--output", keyring, "--export", NULL, NULL);
    }
    free(home);
    return rc;
}

static void stop_agent(void)
{
    const char *argv[] = { "gpgconf", "--kill", "gpg-agent", NULL };
    (void)fx_run(argv);
}

static int packages_file(const char *path, const struct pkg *p, size_t n)
{
    struct temper_buf b;
    temper_buf_init(&b, 0);
    int rc = temper_buf_puts(&b, "");
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = temper_buf_printf(&b, "Package: %s\nVersion: %s\nArchitecture: amd64\n%s%s%s"
                               "Description: test package\n\n", p[i].name, p[i].version,
                               p[i].source ? "Source: " : "", p[i].source ? p[i].source : "",
                               p[i].source ? "\n" : "");
    }
    rc = rc == TEMPER_OK ? pt_write(path, b.data, b.len) : -1;
    temper_buf_cleanup(&b);
    return rc;
}

static void rfc2822(long long t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, n, "%a, %d %b %Y %H:%M:%S UTC", &tm);
}

/* Write one form (plain and compressed with `tool`) and its SHA256 lines. */
static int one_component(const char *plain, const char *tool, const char *ext,
                         const char *rel, struct temper_buf *sums, char *packed_hash,
                         char **packed)
{
    char hex[65];
    unsigned long long size = 0;
    const char *argv[] = { tool, "-k", "-f", "-n", plain, NULL };
    if (strcmp(tool, "xz") == 0) {
        argv[3] = plain;
        argv[4] = NULL;
    }
    *packed = temper_strdupf("%s%s", plain, ext);
    if (!*packed || fx_run(argv) != 0 || pt_file_sha(plain, hex, &size) != 0 ||
        temper_buf_printf(sums, " %s %llu %s/binary-amd64/Packages\n", hex, size, rel) != 0 ||
        pt_file_sha(*packed, packed_hash, &size) != 0) {
        return -1;
    }
    return temper_buf_printf(sums, " %s %llu %s/binary-amd64/Packages%s\n", packed_hash, size,
                             rel, ext) == 0 ? 0 : -1;
}

static int make_repo(const struct repo_spec *s, struct repo *r)
{
    char name[128], date[64], vu[64];
    struct temper_buf rel;
    memset(r, 0, sizeof *r);
    temper_buf_init(&rel, 0);
    snprintf(name, sizeof name, "%s.main", s->tag);
    char *main_plain = fx_path(name);
    snprintf(name, sizeof name, "%s.contrib", s->tag);
    char *contrib_plain = fx_path(name);
    snprintf(name, sizeof name, "%s.Release", s->tag);
    char *release = fx_path(name);
    snprintf(name, sizeof name, "%s.InRelease", s->tag);
    r->inrelease = fx_path(name);
    rfc2822(s->date, date, sizeof date);
    rfc2822(s->valid_until, vu, sizeof vu);
    int rc = packages_file(main_plain, s->main, s->n_main) |
             packages_file(contrib_plain, s->contrib, s->n_contrib);
    rc |= temper_buf_printf(&rel, "Origin: %s\nLabel: %s\nSuite: %s\nCodename: %s\nDate: %s\n"
                            "%s%s%sAcquire-By-Hash: %s\nArchitectures: amd64\n"
                            "Components: main contrib\nDescription: temper test\nSHA256:\n",
                            s->origin, s->origin, s->suite, s->codename, date,
                            s->valid_until >= 0 ? "Valid-Until: " : "",
                            s->valid_until >= 0 ? vu : "", s->valid_until >= 0 ? "\n" : "",
                            s->by_hash ? "yes" : "no");
    rc |= one_component(main_plain, "xz", ".xz", "main", &rel, r->main_hash, &r->main_xz);
    rc |= one_component(contrib_plain, "gzip", ".gz", "contrib", &rel, r->contrib_hash,
                        &r->contrib_gz);
    rc |= pt_write(release, rel.data, rel.len);
    if (rc == 0) {
        rc = gpg("--output", r->inrelease, "--clearsign", release, NULL);
    }
    temper_buf_cleanup(&rel);
    free(main_plain);
    free(contrib_plain);
    free(release);
    return rc;
}

static void free_repo(struct repo *r)
{
    free(r->inrelease);
    free(r->main_xz);
    free(r->contrib_gz);
}

static int serve_repo(const struct repo_spec *s, const struct repo *r, struct fx_server *srv)
{
    char base[128], path[512];
    struct pt_script sc;
    snprintf(base, sizeof base, "/debian/dists/%s/", s->suite);
    pt_script_init(&sc);
    snprintf(path, sizeof path, "%sInRelease", base);
    pt_route(&sc, path, "\"body_file\": \"%s\", \"etag\": \"\\\"%s\\\"\"", r->inrelease, s->tag);
    if (s->by_hash) {
        snprintf(path, sizeof path, "%smain/binary-amd64/by-hash/SHA256/%s", base, r->main_hash);
        pt_route(&sc, path, "\"body_file\": \"%s\"", r->main_xz);
        snprintf(path, sizeof path, "%scontrib/binary-amd64/by-hash/SHA256/%s", base,
                 r->contrib_hash);
        pt_route(&sc, path, "\"body_file\": \"%s\"", r->contrib_gz);
    } else {
        snprintf(path, sizeof path, "%smain/binary-amd64/Packages.xz", base);
        pt_route(&sc, path, "\"body_file\": \"%s\"", r->main_xz);
        snprintf(path, sizeof path, "%scontrib/binary-amd64/Packages.gz", base);
        pt_route(&sc, path, "\"body_file\": \"%s\"", r->contrib_gz);
    }
    return pt_serve(&sc, srv);
}

static const char *const *opts(const struct fx_server *srv, const char *suite,
                               const char *const *extra)
{
    static char mirror[128], suite_kv[128], keyring_kv[4200];
    static const char *base[] = { mirror, suite_kv, keyring_kv, "components=main contrib",
                                  "retries=0", "timeout=5s" };
    snprintf(mirror, sizeof mirror, "mirror=http://127.0.0.1:%d/debian", srv->port);
    snprintf(suite_kv, sizeof suite_kv, "suite=%s", suite);
    snprintf(keyring_kv, sizeof keyring_kv, "keyring=%s", keyring);
    return pt_opts(base, sizeof base / sizeof base[0], extra);
}

/* ---- the repositories ---------------------------------------------------- */

static const struct pkg v1_main[] = {
    { "libssl3", "3.0.11-1~deb12u1", "openssl" },
    { "openssl", "3.0.11-1~deb12u1", NULL },
    { "zlib1g", "1:1.2.13.dfsg-1", "zlib" },
    { "curl", "7.88.1-10+deb12u5", NULL },
};
static const struct pkg v1_contrib[] = { { "foo-nonfree", "1.0-1", NULL } };
static const struct pkg v2_main[] = {
    { "libssl3", "3.0.11-1~deb12u2", "openssl" },
    { "openssl", "3.0.11-1~deb12u2", NULL },
    { "libssl3", "3.0.11-1~deb12u1", "openssl" },   /* an older copy listed too */
    { "zlib1g", "1:1.2.12-1", "zlib" },             /* a downgrade */
    { "newpkg", "0.1-1", NULL },                    /* curl is gone */
};
static const struct pkg v2_contrib[] = { { "foo-nonfree", "1.0-2", NULL } };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct repo_spec spec(const char *tag, long long date, long long vu, bool by_hash,
                             bool v2)
{
    struct repo_spec s = { tag, "Debian", "bookworm", "bookworm", date, vu, by_hash,
                           v2 ? v2_main : v1_main, v2 ? v2_contrib : v1_contrib,
                           v2 ? N(v2_main) : N(v1_main), v2 ? N(v2_contrib) : N(v1_contrib) };
    return s;
}

static struct ph seed;       /* the state carried from round to round */
static char *seed_state;     /* its "packages" value after round 2 */
static struct repo r1, r2;
static struct repo_spec s1, s2;

static void test_round1(void)
{
    struct fx_server srv;
    char *err = NULL;
    int up = serve_repo(&s1, &r1, &srv);
    TEST("round 1: .xz and .gz by name, a baseline, nothing reported") {
        CHECK_INT_EQ(up, 0);
        CHECK_INT_EQ(pt_open(&seed, "debian", opts(&srv, "bookworm", NULL), NULL, 0, &err),
                     TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&seed), TEMPER_OK);
        CHECK_STR_EQ(pt_error(&seed), "");
        CHECK_INT_EQ(ph_artifact_count(&seed), 0);
        CHECK_INT_EQ(pt_state_packages(&seed), 5);
        CHECK_INT_EQ(pt_hits(&srv, "/debian/dists/bookworm/main/binary-amd64/Packages.xz"), 1);
        CHECK_INT_EQ(pt_hits(&srv, "/debian/dists/bookworm/contrib/binary-amd64/Packages.gz"),
                     1);
    }
    fx_server_stop(&srv);
    free(err);
}

static void test_rounds(void)
{
    struct fx_server srv;
    struct ph h;
    char *err = NULL, path[256];
    test_round1();
    int up = serve_repo(&s2, &r2, &srv);
    TEST("round 2 (another mirror, by hash): what moved is reported, nothing else") {
        CHECK_INT_EQ(up, 0);
        CHECK_INT_EQ(pt_open(&h, "debian", opts(&srv, "bookworm", NULL), &seed, 0, &err),
                     TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&h), TEMPER_OK);
        CHECK_STR_EQ(pt_error(&h), "");
        CHECK_INT_EQ(ph_artifact_count(&h), 4);
        CHECK_STR_EQ(pt_attr(&h, "libssl3", TEMPER_ATTR_OLD_VERSION), "3.0.11-1~deb12u1");
        CHECK_STR_EQ(pt_attr(&h, "libssl3", TEMPER_ATTR_NEW_VERSION), "3.0.11-1~deb12u2");
        CHECK_STR_EQ(pt_attr(&h, "libssl3", TEMPER_ATTR_SOURCE_PACKAGE), "openssl");
        CHECK_STR_EQ(pt_attr(&h, "libssl3", TEMPER_ATTR_DISTRIBUTION), "debian:bookworm");
        CHECK_STR_EQ(pt_attr(&h, "openssl", TEMPER_ATTR_SOURCE_PACKAGE), "openssl");
        CHECK_STR_EQ(pt_attr(&h, "newpkg", TEMPER_ATTR_OLD_VERSION), "");
        CHECK_STR_EQ(pt_attr(&h, "foo-nonfree", TEMPER_ATTR_NEW_VERSION), "1.0-2");
        CHECK(pt_change(&h, "zlib1g") == NULL);
        CHECK_STR_CONTAINS(ph_state(&h, "packages"), "\nzlib1g 1:1.2.13.dfsg-1\n");
        CHECK(strstr(ph_state(&h, "packages"), "\ncurl ") == NULL);
        char *log = fx_read(log_path, NULL);
        CHECK_STR_CONTAINS(log, "zlib1g went back from 1:1.2.13.dfsg-1 to 1:1.2.12-1: not"
                                " reported");
        free(log);
        snprintf(path, sizeof path, "/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/%s",
                 r2.main_hash);
        CHECK_INT_EQ(pt_hits(&srv, path), 1);
    }
    free(err);
    err = NULL;
    ph_close(&h);
    const char *st = ph_state(&seed, "packages");
    seed_state = st ? strdup(st) : NULL;
    TEST("round 3, nothing changed: one conditional request (304), nothing reported") {
        CHECK_INT_EQ(pt_open(&h, "debian", opts(&srv, "bookworm", NULL), &seed, 0, &err),
                     TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&h), TEMPER_OK);
        CHECK_INT_EQ(ph_artifact_count(&h), 0);
        CHECK_INT_EQ(pt_hits(&srv, "/debian/dists/bookworm/InRelease"), 2);
        CHECK_INT_EQ(pt_hits(&srv, path), 1);
        CHECK_STR_EQ(ph_state(&h, "packages"), seed_state);
    }
    free(err);
    ph_close(&h);
    fx_server_stop(&srv);
}

/* A round that must fail with `phrase`, the saved state untouched. */
static void refused(const char *what, const struct repo_spec *s, const struct repo *r,
                    const char *const *extra, int want, const char *phrase)
{
    struct fx_server srv;
    struct ph h;
    char *err = NULL;
    size_t count = ph_state_count(&seed);
    int up = serve_repo(s, r, &srv);
    TEST(what) {
        CHECK_INT_EQ(up, 0);
        CHECK_INT_EQ(pt_open(&h, "debian", opts(&srv, s->suite, extra), &seed, 0, &err),
                     TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&h), want);
        CHECK_STR_CONTAINS(pt_error(&h), phrase);
        tap_diag(pt_error(&h));
        CHECK_INT_EQ(ph_artifact_count(&h), 0);
        CHECK_STR_EQ(ph_state(&h, "packages"), seed_state);
        CHECK_INT_EQ(ph_state_count(&h), count);
    }
    free(err);
    ph_close(&h);
    fx_server_stop(&srv);
}

static void test_refusals(void)
{
    char vu[64], phrase[128];
    struct repo r3;
    struct repo_spec s3 = spec("r3", now_s - 600, now_s - 300, true, true);
    rfc2822(now_s - 300, vu, sizeof vu);
    snprintf(phrase, sizeof phrase, "has expired: Valid-Until %s is in the past", vu);
    refused("an older InRelease (replay) is refused", &s1, &r1, NULL, TEMPER_ECRYPTO,
            "is older than the Date of the last accepted InRelease");
    int made = make_repo(&s3, &r3);
    TEST("an expired repository can be made") {
        CHECK_INT_EQ(made, 0);
    }
    refused("an InRelease past its Valid-Until is refused", &s3, &r3, NULL, TEMPER_ECRYPTO,
            phrase);
    free_repo(&r3);
    struct repo_spec s4 = spec("r4", now_s - 600, now_s + 86400, false, true);
    struct repo r4;
    made = make_repo(&s4, &r4);
    size_t len = 0;
    char *xz = made == 0 ? fx_read(r4.main_xz, &len) : NULL;
    TEST("a Packages.xz changed after signing (same size) can be made") {
        CHECK_INT_EQ(made, 0);
        CHECK(xz && len > 64);
        if (xz && len > 64) {
            xz[len / 2] ^= 0x20;
            CHECK(pt_write(r4.main_xz, xz, len) == 0);
        }
    }
    free(xz);
    refused("a Packages.xz whose hash does not match is refused", &s4, &r4, NULL,
            TEMPER_ECRYPTO, "SHA-256 mismatch");
    free_repo(&r4);
}

/* A fresh state, one round of `s` with `extra`; the harness stays open. */
static int fresh_round(struct ph *h, const struct repo_spec *s, const struct repo *r,
                       const char *const *extra, const struct ph *share)
{
    struct fx_server srv;
    char *err = NULL;
    if (serve_repo(s, r, &srv) != 0) {
        return -1;
    }
    int rc = pt_open(h, "debian", opts(&srv, s->suite, extra), share, 0, &err);
    rc = rc == TEMPER_OK ? pt_poll(h) : rc;
    free(err);
    fx_server_stop(&srv);
    return rc;
}

static void test_naming_and_config(void)
{
    struct ph h, h2;
    struct repo ru;
    struct repo_spec su = spec("ru", now_s - 600, -1, false, false);
    su.origin = "Ubuntu";
    su.suite = "noble-updates";
    su.codename = "noble";
    static const char *const initial[] = { "report_initial=yes", NULL };
    static const char *const renamed[] = { "report_initial=yes", "distribution=acme:1", NULL };
    int made = make_repo(&su, &ru);
    TEST("Ubuntu: suite noble-updates, codename noble -> ubuntu:noble") {
        CHECK_INT_EQ(made, 0);
        CHECK_INT_EQ(fresh_round(&h, &su, &ru, initial, NULL), TEMPER_OK);
        CHECK_INT_EQ(ph_artifact_count(&h), 5);
        CHECK_STR_EQ(pt_attr(&h, "curl", TEMPER_ATTR_DISTRIBUTION), "ubuntu:noble");
        CHECK_STR_EQ(pt_attr(&h, "zlib1g", TEMPER_ATTR_SOURCE_PACKAGE), "zlib");
    }
    ph_close(&h);
    TEST("the distribution option names the changes") {
        CHECK_INT_EQ(fresh_round(&h, &su, &ru, renamed, NULL), TEMPER_OK);
        CHECK_STR_EQ(pt_attr(&h, "curl", TEMPER_ATTR_DISTRIBUTION), "acme:1");
    }
    ph_close(&h);
    free_repo(&ru);
    static const char *const one[] = { "packages=libssl3", NULL };
    static const char *const two[] = { "packages=libssl3 zlib1g", "sources=openssl", NULL };
    TEST("a changed package list: the new ones are recorded, not reported") {
        CHECK_INT_EQ(fresh_round(&h, &s1, &r1, one, NULL), TEMPER_OK);
        CHECK_INT_EQ(pt_state_packages(&h), 1);
        CHECK_INT_EQ(fresh_round(&h2, &s2, &r2, two, &h), TEMPER_OK);
        CHECK_INT_EQ(ph_artifact_count(&h2), 1);    /* libssl3 moved */
        CHECK(pt_change(&h2, "libssl3") != NULL);
        CHECK(pt_change(&h2, "openssl") == NULL);   /* newly followed (by source) */
        CHECK(pt_change(&h2, "zlib1g") == NULL);    /* newly followed (by name) */
        CHECK_INT_EQ(pt_state_packages(&h2), 3);
    }
    ph_close(&h2);
    ph_close(&h);
    static const char *const lax[] = { "check_valid_until=no", NULL };
    struct repo r5;
    struct repo_spec s5 = spec("r5", now_s - 600, now_s - 300, false, false);
    made = make_repo(&s5, &r5);
    TEST("check_valid_until=no accepts an expired InRelease (snapshot archives)") {
        CHECK_INT_EQ(made, 0);
        CHECK_INT_EQ(fresh_round(&h, &s5, &r5, lax, NULL), TEMPER_OK);
        CHECK_INT_EQ(pt_state_packages(&h), 5);
    }
    ph_close(&h);
    free_repo(&r5);
}

int main(void)
{
    if (access("/usr/bin/gpgv", X_OK) != 0 || access("/usr/bin/gpg", X_OK) != 0) {
        printf("1..0 # SKIP gpg or gpgv is not installed\n");
        return 0;
    }
    if (!fx_begin(&log_path)) {
        return 0;
    }
    now_s = (long long)time(NULL);
    s1 = spec("r1", now_s - 7200, now_s + 86400, false, false);
    s2 = spec("r2", now_s - 3600, now_s + 86400, true, true);
    int made = make_key();
    made = made == 0 ? make_repo(&s1, &r1) | make_repo(&s2, &r2) : made;
    TEST("a throwaway key signs two repositories") {
        CHECK_INT_EQ(made, 0);
    }
    if (made == 0) {
        test_rounds();
        test_refusals();
        test_naming_and_config();
    }
    stop_agent();
    ph_close(&seed);
    free(seed_state);
    free_repo(&r1);
    free_repo(&r2);
    free(keyring);
    fx_end(log_path);
    return tap_done();
}

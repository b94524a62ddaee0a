/* temper — tracker_debian on REAL Debian indexes, through the real loader,
 * on loopback only.
 *
 * Data: the bookworm-updates InRelease and Packages copied in
 * tests/data/pkgindex, and the machine's own /var/lib/apt/lists (apt keeps
 * Packages lz4-compressed; the Release lists the SHA256 of the uncompressed
 * bytes, which cannot be recompressed byte-identically, so the test serves
 * the uncompressed file and the tracker falls back to it from the .xz the
 * server does not have).  Signatures are checked with gpgv against the
 * debian-archive-keyring package's keyring.  Every bad input must fail with
 * a clear message and leave the saved state as it was.  (Made-up
 * repositories signed with a throwaway key: tracker_debian_repo_test.c.) */
#include "config.h"
#include "tests/lib/tap.h"
#include "tests/plugins/pkgtrack_testlib.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYRING "/usr/share/keyrings/debian-archive-keyring.gpg"
#define UPD_HASH "80a1f6ee524222c49f230fc5700d00f946d0a47eb5258180106dd03df126e16a"
#define UPD "/debian/dists/bookworm-updates/"

static char data_dir[4096];
static char seed_state[1 << 16]; /* "packages" after the real-copy round */
static struct ph seed;            /* durable state of the real-copy rounds */
static long long upd_now;         /* a minute after the copy's Date */

/* A path in tests/data/pkgindex (four live at a time). */
static const char *data(const char *name)
{
    static char path[4][4200];
    static unsigned k;
    char *p = path[k++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", data_dir, name);
    return p;
}

static void skip(const char *why)
{
    printf("ok %d - %s # SKIP %s\n", ++tap_count, tap_current, why);
}

/* Options for a tracker on srv, plus `extra` (NULL-terminated). */
static const char *const *opts(const struct fx_server *srv, const char *suite,
                               const char *const *extra)
{
    static char mirror[128], suite_kv[128];
    static const char *base[] = { mirror, suite_kv, "keyring=" KEYRING, "retries=0",
                                  "timeout=5s" };
    snprintf(mirror, sizeof mirror, "mirror=http://127.0.0.1:%d/debian/", srv->port);
    snprintf(suite_kv, sizeof suite_kv, "suite=%s", suite);
    return pt_opts(base, sizeof base / sizeof base[0], extra);
}

/* Date of a Release file + 60 s, in ms (0 when unreadable). */
static long long after_date(const char *inrelease, long long *valid_until)
{
    struct temper_release *r = NULL;
    long long t = 0;
    if (temper_release_load(NULL, inrelease, &r) == TEMPER_OK && r->date > 0) {
        t = (r->date + 60) * 1000;
        if (valid_until) {
            *valid_until = r->valid_until;
        }
    }
    temper_release_free(r);
    return t;
}

/* The real copy: InRelease (ETag "r1") at `inrel_path`, Packages by hash. */
static int serve_copy(struct fx_server *srv, const char *inrel_file, const char *inrel_path,
                      const char *packages_file)
{
    struct pt_script s;
    pt_script_init(&s);
    pt_route(&s, inrel_path, "\"body_file\": \"%s\", \"etag\": \"\\\"r1\\\"\"", inrel_file);
    pt_route(&s, UPD "main/binary-amd64/by-hash/SHA256/" UPD_HASH, "\"body_file\": \"%s\"",
             packages_file);
    return pt_serve(&s, srv);
}

static void test_real_copy(void)
{
    struct fx_server srv;
    struct ph h2;
    char *err = NULL;
    int up = serve_copy(&srv, data("bookworm-updates_InRelease"), UPD "InRelease",
                        data("bookworm-updates_main_binary-amd64_Packages"));
    TEST("real bookworm-updates: the first round records a baseline") {
        CHECK_INT_EQ(up, 0);
        CHECK_INT_EQ(pt_open(&seed, "debian", opts(&srv, "bookworm-updates", NULL), NULL,
                             upd_now, &err), TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&seed), TEMPER_OK);
        CHECK_STR_EQ(pt_error(&seed), "");
        CHECK_INT_EQ(ph_artifact_count(&seed), 0);
        CHECK_INT_EQ(pt_state_packages(&seed), 38);
        CHECK_STR_CONTAINS(ph_state(&seed, "packages"), "\nlibssl3 3.0.17-1~deb12u2\n");
        /* .xz by hash and by name were tried, then the plain file by hash */
        CHECK_INT_EQ(pt_hits(&srv, UPD "main/binary-amd64/Packages.xz"), 1);
        CHECK_INT_EQ(pt_hits(&srv, UPD "main/binary-amd64/by-hash/SHA256/" UPD_HASH), 1);
    }
    free(err);
    err = NULL;
    const char *state = ph_state(&seed, "packages");
    snprintf(seed_state, sizeof seed_state, "%s", state ? state : "");
    TEST("second round: only a conditional request, 304, nothing reported") {
        CHECK_INT_EQ(pt_open(&h2, "debian", opts(&srv, "bookworm-updates", NULL), &seed,
                             upd_now, &err), TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&h2), TEMPER_OK);
        CHECK_INT_EQ(ph_artifact_count(&h2), 0);
        CHECK_INT_EQ(pt_hits(&srv, UPD "InRelease"), 2);
        CHECK_INT_EQ(pt_hits(&srv, UPD "main/binary-amd64/by-hash/SHA256/" UPD_HASH), 1);
        CHECK_INT_EQ(pt_hits(&srv, UPD "main/binary-amd64/Packages.xz"), 1);
        CHECK_STR_EQ(ph_state(&h2, "packages"), seed_state);
    }
    free(err);
    ph_close(&h2);
    fx_server_stop(&srv);
}

static void test_report_initial(void)
{
    struct fx_server srv;
    struct ph h;
    char *err = NULL;
    static const char *const extra[] = { "report_initial=yes", "packages=libssl3",
                                         "sources=openssh", NULL };
    int up = serve_copy(&srv, data("bookworm-updates_InRelease"), UPD "InRelease",
                        data("bookworm-updates_main_binary-amd64_Packages"));
    TEST("report_initial, packages, sources: the first round reports what is followed") {
        CHECK_INT_EQ(up, 0);
        CHECK_INT_EQ(pt_open(&h, "debian", opts(&srv, "bookworm-updates", extra), NULL,
                             upd_now, &err), TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&h), TEMPER_OK);
        CHECK_STR_EQ(pt_attr(&h, "libssl3", TEMPER_ATTR_SOURCE_PACKAGE), "openssl");
        CHECK_STR_EQ(pt_attr(&h, "libssl3", TEMPER_ATTR_DISTRIBUTION), "debian:bookworm");
        CHECK_STR_EQ(pt_attr(&h, "libssl3", TEMPER_ATTR_OLD_VERSION), "");
        CHECK_STR_EQ(pt_attr(&h, "libssl3", TEMPER_ATTR_NEW_VERSION), "3.0.17-1~deb12u2");
        CHECK_STR_EQ(pt_attr(&h, "ssh-askpass-gnome", TEMPER_ATTR_SOURCE_PACKAGE), "openssh");
        CHECK(pt_change(&h, "openssh-client") != NULL);
        CHECK(pt_change(&h, "openssl") == NULL); /* neither its name nor its source */
        CHECK(pt_change(&h, "tzdata") == NULL);
        CHECK_INT_EQ(ph_artifact_count(&h), 7);
        CHECK_INT_EQ(pt_state_packages(&h), 7);
    }
    free(err);
    ph_close(&h);
    fx_server_stop(&srv);
}

/* The machine's lists for one suite: InRelease path and the uncompressed
 * main/binary-amd64 Packages written to *packages, when the Release lists
 * exactly those bytes. */
static int machine_lists(const char *suite, char **inrel, char **packages)
{
    char pat[256];
    glob_t g;
    *inrel = *packages = NULL;
    snprintf(pat, sizeof pat, "/var/lib/apt/lists/*_%s_InRelease", suite);
    int ok = glob(pat, 0, NULL, &g) == 0 && g.gl_pathc == 1;
    *inrel = ok ? strdup(g.gl_pathv[0]) : NULL;
    globfree(&g);
    snprintf(pat, sizeof pat, "/var/lib/apt/lists/*_%s_main_binary-amd64_Packages*", suite);
    ok = ok && glob(pat, 0, NULL, &g) == 0 && g.gl_pathc == 1;
    char *text = NULL;
    size_t len = 0;
    struct temper_release *r = NULL;
    char hex[65] = "", name[128];
    ok = ok && temper_pkgindex_read(NULL, g.gl_pathv[0], 0, &text, &len) == TEMPER_OK;
    globfree(&g);
    snprintf(name, sizeof name, "%s.Packages", suite);
    *packages = fx_path(name);
    ok = ok && pt_write(*packages, text, len) == 0 &&
         temper_release_load(NULL, *inrel, &r) == TEMPER_OK;
    const struct temper_release_file *f =
        ok ? temper_release_find(r, "main/binary-amd64/Packages") : NULL;
    ok = f && temper_sha256_hex(text, len, hex) == TEMPER_OK && strcmp(hex, f->sha256) == 0;
    temper_release_free(r);
    free(text);
    return ok ? 0 : -1;
}

static size_t distinct_names(const char *path)
{
    struct temper_debindex *idx = NULL;
    size_t n = 0;
    if (temper_debindex_load(NULL, path, NULL, &idx) == TEMPER_OK) {
        for (size_t i = 0; i < temper_debindex_count(idx); i++) {
            const struct temper_debpkg *p = temper_debindex_at(idx, i);
            n += temper_debindex_find(idx, p->name) == p;
        }
    }
    temper_debindex_free(idx);
    return n;
}

static void machine_round(const char *suite, const char *inrel, const char *pk,
                          const struct fx_server *srv)
{
    struct ph h;
    char *err = NULL, path[256];
    long long vu = -1;
    long long now = after_date(inrel, &vu);
    static const char *const extra[] = { "report_initial=yes", NULL };
    snprintf(path, sizeof path, "/debian/dists/%s/main/binary-amd64/Packages", suite);
    TEST("machine's own lists: every package reported, by name after the absent forms") {
        CHECK(now > 0);
        CHECK_INT_EQ(pt_open(&h, "debian", opts(srv, suite, extra), NULL, now, &err),
                     TEMPER_OK);
        long long t0 = fx_now_ms();
        CHECK_INT_EQ(pt_poll(&h), TEMPER_OK);
        char took[160];
        snprintf(took, sizeof took, "%s: %zu packages in %lld ms", suite, ph_artifact_count(&h),
                 fx_now_ms() - t0);
        tap_diag(took);
        CHECK_STR_EQ(pt_error(&h), "");
        CHECK(ph_artifact_count(&h) > 0);
        CHECK_INT_EQ(ph_artifact_count(&h), distinct_names(pk));
        CHECK_INT_EQ(pt_state_packages(&h), ph_artifact_count(&h));
        CHECK(strlen(ph_state(&h, "packages")) < 64 * ph_artifact_count(&h) + 64);
        const struct temper_artifact *a = ph_artifact_count(&h) ? ph_artifact(&h, 0) : NULL;
        CHECK_STR_EQ(a ? temper_artifact_get(a, TEMPER_ATTR_DISTRIBUTION) : NULL,
                     "debian:bookworm");
        CHECK_INT_EQ(pt_hits(srv, path), 1);
    }
    free(err);
    ph_close(&h);
    if (vu < 0) {
        return;
    }
    TEST("machine's own lists: past the real Valid-Until the InRelease is refused") {
        CHECK_INT_EQ(pt_open(&h, "debian", opts(srv, suite, extra), NULL, (vu + 86400) * 1000,
                             &err), TEMPER_OK);
        CHECK_INT_EQ(pt_poll(&h), TEMPER_ECRYPTO);
        CHECK_STR_CONTAINS(pt_error(&h), "has expired: Valid-Until ");
        CHECK_INT_EQ(ph_artifact_count(&h), 0);
        CHECK(ph_state(&h, "packages") == NULL);
    }
    free(err);
    ph_close(&h);
}

static void test_machine_suite(const char *suite)
{
    char *inrel = NULL, *pk = NULL, path[256];
    if (machine_lists(suite, &inrel, &pk) != 0) {
        TEST("machine's own lists") {
            skip("no matching InRelease and Packages in /var/lib/apt/lists");
        }
        free(inrel);
        free(pk);
        return;
    }
    struct fx_server srv;
    struct pt_script s;
    pt_script_init(&s);
    snprintf(path, sizeof path, "/debian/dists/%s/InRelease", suite);
    pt_route(&s, path, "\"body_file\": \"%s\"", inrel);
    snprintf(path, sizeof path, "/debian/dists/%s/main/binary-amd64/Packages", suite);
    pt_route(&s, path, "\"body_file\": \"%s\"", pk);
    if (pt_serve(&s, &srv) == 0) {
        machine_round(suite, inrel, pk, &srv);
        fx_server_stop(&srv);
    }
    free(inrel);
    free(pk);
}

/* ---- bad input: a clear error, the saved state untouched ---------------- */

struct bad {
    const char *what;
    const char *suite;
    const char *inrelease;      /* file served as InRelease (NULL: see spec) */
    const char *spec;           /* route spec of InRelease instead */
    const char *packages;       /* file served by hash (NULL: none) */
    const char *const *extra;
    int rc;                     /* expected, 0 = any failure */
    const char *phrase;
};

static void bad_case(const struct bad *b)
{
    struct fx_server srv;
    struct pt_script s;
    struct ph h;
    char *err = NULL, path[256];
    size_t count = ph_state_count(&seed);
    pt_script_init(&s);
    snprintf(path, sizeof path, "/debian/dists/%s/InRelease", b->suite);
    if (b->spec) {
        pt_route(&s, path, "%s", b->spec);
    } else {
        pt_route(&s, path, "\"body_file\": \"%s\"", b->inrelease);
    }
    if (b->packages) {
        pt_route(&s, UPD "main/binary-amd64/by-hash/SHA256/" UPD_HASH, "\"body_file\": \"%s\"",
                 b->packages);
    }
    int up = pt_serve(&s, &srv);
    long long t0 = fx_now_ms();
    TEST(b->what) {
        CHECK_INT_EQ(up, 0);
        CHECK_INT_EQ(pt_open(&h, "debian", opts(&srv, b->suite, b->extra), &seed, upd_now,
                             &err), TEMPER_OK);
        int rc = pt_poll(&h);
        if (b->rc) {
            CHECK_INT_EQ(rc, b->rc);
        } else {
            CHECK(rc != TEMPER_OK);
        }
        CHECK_STR_CONTAINS(pt_error(&h), b->phrase);
        tap_diag(pt_error(&h));
        CHECK(fx_now_ms() - t0 < 15000);
        CHECK_INT_EQ(ph_artifact_count(&h), 0);
        CHECK_STR_EQ(ph_state(&h, "packages"), seed_state);
        CHECK_INT_EQ(ph_state_count(&h), count);
    }
    free(err);
    ph_close(&h);
    fx_server_stop(&srv);
}

/* The real InRelease with `find` replaced by `repl` (same length or not). */
static char *edited_copy(const char *name, const char *find, const char *repl, bool only_body)
{
    size_t len = 0;
    char *t = fx_read(data("bookworm-updates_InRelease"), &len);
    char *at = t ? strstr(t, find) : NULL;
    char *out = fx_path(name);
    struct temper_buf b;
    temper_buf_init(&b, 0);
    int rc = at && out ? TEMPER_OK : TEMPER_EINVAL;
    if (rc == TEMPER_OK && only_body) {
        char *sig = strstr(t, "\n-----BEGIN PGP SIGNATURE-----");
        char *start = strstr(t, "\n\n");
        rc = sig && start ? temper_buf_append(&b, start + 2, (size_t)(sig - start - 1))
                          : TEMPER_EINVAL;
    } else if (rc == TEMPER_OK) {
        rc = temper_buf_append(&b, t, (size_t)(at - t));
        rc = rc == TEMPER_OK ? temper_buf_puts(&b, repl) : rc;
        rc = rc == TEMPER_OK ? temper_buf_puts(&b, at + strlen(find)) : rc;
    }
    if (rc != TEMPER_OK || pt_write(out, b.data, b.len) != 0) {
        TEMPER_FREE(out);
    }
    temper_buf_cleanup(&b);
    free(t);
    return out;
}

/* The real Packages with one byte changed (same size, other hash). */
static char *flipped_packages(void)
{
    size_t len = 0;
    char *t = fx_read(data("bookworm-updates_main_binary-amd64_Packages"), &len);
    char *out = fx_path("flipped");
    if (!t || !out || len < 200) {
        TEMPER_FREE(out);
    } else {
        t[150] = t[150] == 'x' ? 'y' : 'x';
        if (pt_write(out, t, len) != 0) {
            TEMPER_FREE(out);
        }
    }
    free(t);
    return out;
}

static char *script_file(const char *name, const char *text)
{
    char *p = fx_path(name);
    if (p && (fx_write(p, text) != 0 || chmod(p, 0755) != 0)) {
        TEMPER_FREE(p);
    }
    return p;
}

static void test_bad_real(void)
{
    char in[4200], pk[4200];
    snprintf(in, sizeof in, "%s", data("bookworm-updates_InRelease"));
    snprintf(pk, sizeof pk, "%s", data("bookworm-updates_main_binary-amd64_Packages"));
    char *tampered = edited_copy("tampered", "Debian 12 - Updates", "Debian 12 - Updatez", 0);
    char *unsigned_ = edited_copy("unsigned", "Origin", "", 1);
    char *slow = script_file("slow-gpgv", "#!/bin/sh\nexec sleep 30\n");
    char *chatty = script_file("chatty-gpgv", "#!/bin/sh\nhead -c 3000000 /dev/zero\n");
    char *flipped = flipped_packages();
    char g1[4200], g2[4200];
    snprintf(g1, sizeof g1, "gpgv=%s", slow ? slow : "/nonexistent");
    snprintf(g2, sizeof g2, "gpgv=%s", chatty ? chatty : "/nonexistent");
    const char *const wrong_key[] = {
        "keyring=/usr/share/keyrings/debian-archive-bookworm-stable.gpg", NULL };
    const char *const cap[] = { "max_release_size=1K", NULL };
    const char *const fast[] = { "timeout=1s", NULL };
    const char *const slow_kv[] = { g1, "gpgv_timeout=300ms", NULL };
    const char *const chatty_kv[] = { g2, NULL };
    const struct bad cases[] = {
        { "a tampered InRelease: bad signature", "bookworm-updates", tampered, NULL, pk, NULL,
          TEMPER_ECRYPTO, "InRelease: bad signature (BADSIG " },
        { "an unsigned Release served as InRelease", "bookworm-updates", unsigned_, NULL, pk,
          NULL, TEMPER_ECRYPTO, "no valid signature (gpgv found no OpenPGP signature" },
        { "a keyring without the signing keys", "bookworm-updates", in, NULL, pk, wrong_key,
          TEMPER_ECRYPTO, "made its signature (NO_PUBKEY " },
        { "another suite's InRelease", "bookworm", in, NULL, pk, NULL, TEMPER_ECRYPTO,
          "is for suite 'oldstable-updates' (codename 'bookworm-updates'), not 'bookworm'" },
        { "HTTP 500", "bookworm-updates", NULL, "\"status\": 500", pk, NULL, TEMPER_ENET,
          "500" },
        { "an InRelease over max_release_size", "bookworm-updates", in, NULL, pk, cap,
          TEMPER_ELIMIT, "over the limit" },
        { "a server that never answers", "bookworm-updates", NULL, "\"hang\": true", pk, fast,
          0, "InRelease" },
        { "a Packages whose hash does not match", "bookworm-updates", in, NULL, flipped, NULL,
          TEMPER_ECRYPTO, "SHA-256 mismatch" },
        { "a Packages larger than the Release says", "bookworm-updates", in, NULL, in, NULL,
          TEMPER_ELIMIT, "over the limit" },
        { "no Packages index at all", "bookworm-updates", in, NULL, NULL, NULL,
          TEMPER_ENOTFOUND, "no Packages index of main/binary-amd64 found under" },
        { "a gpgv that never finishes is killed", "bookworm-updates", in, NULL, pk, slow_kv,
          TEMPER_ETIMEOUT, "did not finish within 300 ms: killed" },
        { "a gpgv flooding its output (capped, no verdict)", "bookworm-updates", in, NULL, pk,
          chatty_kv, TEMPER_ECRYPTO, "no valid signature (gpgv exit 0)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bad_case(&cases[i]);
    }
    free(tampered);
    free(unsigned_);
    free(slow);
    free(chatty);
    free(flipped);
}

static void test_bad_options(void)
{
    struct ph h;
    char *err = NULL;
    static const char *const bad_suite[] = { "suite=../etc", NULL };
    static const char *const bad_keyring[] = { "suite=bookworm", "keyring=/nonexistent.gpg",
                                               NULL };
    TEST("open refuses a suite with '..' and a missing keyring") {
        CHECK_INT_EQ(pt_open(&h, "debian", bad_suite, NULL, 0, &err), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(err, "suite '../etc' is not a valid name");
        ph_close(&h);
        free(err);
        CHECK_INT_EQ(pt_open(&h, "debian", bad_keyring, NULL, 0, &err), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(err, "keyring '/nonexistent.gpg' is not a readable absolute path");
        ph_close(&h);
    }
    free(err);
}

int main(void)
{
    char *log = NULL;
    const char *d = getenv("TEMPER_DATA");
    snprintf(data_dir, sizeof data_dir, "%s/pkgindex", d ? d : "tests/data");
    if (access("/usr/bin/gpgv", X_OK) != 0 || access(KEYRING, R_OK) != 0) {
        printf("1..0 # SKIP gpgv or debian-archive-keyring is not installed\n");
        return 0;
    }
    if (!fx_begin(&log)) {
        return 0;
    }
    upd_now = after_date(data("bookworm-updates_InRelease"), NULL);
    test_real_copy();
    test_report_initial();
    test_machine_suite("bookworm-updates");
    test_machine_suite("bookworm-security");
    test_machine_suite("bookworm");
    test_bad_real();
    test_bad_options();
    ph_close(&seed);
    fx_end(log);
    return tap_done();
}

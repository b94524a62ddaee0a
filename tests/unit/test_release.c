/* temper — Release / InRelease: a real bookworm-updates InRelease, the
 * SHA256 of the Packages files it lists (stored copies and the machine's own
 * apt lists), the cleartext framing compared with what gpgv itself verifies,
 * hostile framings, and RFC 2822 dates. */
#include "config.h"
#include <temper/hash.h>
#include <temper/pkgindex.h>
#include "tests/unit/pkgindex_tests.h"

#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEYRING "/usr/share/keyrings/debian-archive-keyring.gpg"

static const char *data_path(const char *name)
{
    return pt_path("pkgindex", name);
}

/* A file decompressed when it is compressed, as temper reads it. */
static char *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    *len = 0;
    if (temper_pkgindex_read(st, path, 0, &data, len) != TEMPER_OK) {
        return NULL;
    }
    return data;
}

/* Does the file at `path` (decompressed) match the Release entry `rel`? */
static int matches(const struct temper_release *r, const char *rel, const char *path)
{
    const struct temper_release_file *f = temper_release_find(r, rel);
    size_t len = 0;
    char *data = slurp(path, &len);
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    int ok = f && data && temper_sha256_hex(data, len, hex) == TEMPER_OK &&
             strcmp(hex, f->sha256) == 0 && f->size == len;
    free(data);
    return ok;
}

static void test_inrelease(void)
{
    TEST("bookworm-updates InRelease") {
        struct temper_release *r = NULL;
        CHECK_INT_EQ(temper_release_load(st, data_path("bookworm-updates_InRelease"), &r),
                     TEMPER_OK);
        CHECK(r != NULL);
        if (!r) {
            break;
        }
        CHECK(r->clearsigned);
        CHECK_STR_EQ(r->origin, "Debian");
        CHECK_STR_EQ(r->label, "Debian");
        CHECK_STR_EQ(r->suite, "oldstable-updates");
        CHECK_STR_EQ(r->version, "12-updates");
        CHECK_STR_EQ(r->codename, "bookworm-updates");
        CHECK_STR_EQ(r->date_text, "Fri, 27 Nov 2026 02:10:32 UTC");
        CHECK_INT_EQ(r->date, 1795745432LL);
        CHECK_INT_EQ(r->valid_until, -1);
        CHECK(r->valid_until_text == NULL);
        CHECK(r->acquire_by_hash);
        CHECK_STR_CONTAINS(r->architectures, "amd64 arm64");
        CHECK_STR_EQ(r->components, "main contrib non-free-firmware non-free");
        CHECK_STR_EQ(r->description, "Debian 12 - Updates");
        CHECK_INT_EQ(r->n_files, 480);
        const struct temper_release_file *f =
            temper_release_find(r, "main/binary-amd64/Packages");
        CHECK(f && f->size == 32757);
        CHECK(f && strcmp(f->sha256, "80a1f6ee524222c49f230fc5700d00f946d0a47eb5258180106dd03d"
                                     "f126e16a") == 0);
        CHECK(temper_release_find(r, "main/binary-amd64/Packages.xz") != NULL);
        CHECK(temper_release_find(r, "main/binary-amd64") == NULL);
        CHECK(strncmp(r->signed_text, "Origin: Debian\nLabel: Debian\n", 29) == 0);
        CHECK(r->signed_len == strlen(r->signed_text) && r->signed_text[r->signed_len - 1] == '\n');
        CHECK(r->signature && strncmp(r->signature, "-----BEGIN PGP SIGNATURE-----\n", 30) == 0);
        CHECK(r->signature && strstr(r->signature, "-----END PGP SIGNATURE-----\n") != NULL);
        /* the SHA256 list checks the stored copies of the index, plain and as apt keeps it */
        CHECK(matches(r, "main/binary-amd64/Packages",
                      data_path("bookworm-updates_main_binary-amd64_Packages")));
        CHECK(matches(r, "main/binary-amd64/Packages",
                      data_path("bookworm-updates_main_binary-amd64_Packages.lz4")));
        CHECK(!matches(r, "main/binary-arm64/Packages",
                       data_path("bookworm-updates_main_binary-amd64_Packages")));
        temper_release_free(r);
        temper_release_free(NULL);
    }
    TEST("a plain Release file") {
        static const char rel[] = "Origin: X\nSuite: s\nValid-Until: Thu, 03 Dec 2026 21:03:35 "
                                  "+0000\nSHA256:\n " "0123456789abcdef0123456789ABCDEF0123456789"
                                  "abcdef0123456789abcdef 12 main/a\n";
        struct temper_release *r = NULL;
        CHECK_INT_EQ(temper_release_parse(st, "Release", rel, sizeof rel - 1, &r), TEMPER_OK);
        CHECK(r && !r->clearsigned && r->signature == NULL && r->date == -1);
        CHECK(r && r->valid_until == 1796331815LL && r->n_files == 1);
        CHECK(r && strcmp(r->files[0].sha256, "0123456789abcdef0123456789abcdef0123456789abcdef"
                                             "0123456789abcdef") == 0);
        CHECK(r && r->signed_len == sizeof rel - 1 && !r->acquire_by_hash);
        temper_release_free(r);
    }
}

/* Run gpgv --output on the InRelease: the text gpgv verified must be the
 * text we parsed, byte for byte. */
static void test_gpgv(void)
{
    const char *gpgv = "/usr/bin/gpgv";
    const char *in = data_path("bookworm-updates_InRelease");
    if (access(gpgv, X_OK) != 0 || access(KEYRING, R_OK) != 0) {
        TEST("gpgv sees the text we parse") {
            skip("gpgv or the Debian archive keyring is not installed");
        }
        return;
    }
    char dir[] = "/tmp/temper-gpgv-" "XX" "XX" "XX"; /* mkdtemp template */
    char out[sizeof dir + 16];
    bool made = mkdtemp(dir) != NULL;
    snprintf(out, sizeof out, "%s/body", dir);
    TEST("gpgv sees the text we parse") {
        CHECK(made);
        if (!made) {
            break;
        }
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) {
                dup2(null, 2);
            }
            setenv("GNUPGHOME", dir, 1); /* no ~/.gnupg needed */
            execl(gpgv, "gpgv", "--output", out, "--keyring", KEYRING, in, (char *)NULL);
            _exit(127);
        }
        int status = -1;
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        size_t len = 0;
        char *verified = slurp(out, &len);
        struct temper_release *r = NULL;
        CHECK_INT_EQ(temper_release_load(st, in, &r), TEMPER_OK);
        CHECK(verified && r && len == r->signed_len &&
              memcmp(verified, r->signed_text, len) == 0);
        free(verified);
        temper_release_free(r);
        unlink(out);
        rmdir(dir);
    }
}

/* The real InRelease with `edit` applied, parsed: the rc and a phrase. */
static void framing_bad(const char *what, const char *prefix, const char *find,
                        const char *replace, const char *phrase)
{
    size_t len = 0;
    char *orig = slurp(data_path("bookworm-updates_InRelease"), &len);
    size_t cap = len + 4096;
    char *t = malloc(cap);
    TEST(what) {
        CHECK(orig && t);
        if (!orig || !t) {
            break;
        }
        size_t n = (size_t)snprintf(t, cap, "%s", prefix);
        const char *at = find ? strstr(orig, find) : NULL;
        if (at) {
            memcpy(t + n, orig, (size_t)(at - orig));
            n += (size_t)(at - orig);
            n += (size_t)snprintf(t + n, cap - n, "%s", replace);
            size_t rest = len - (size_t)(at - orig) - strlen(find);
            memcpy(t + n, at + strlen(find), rest);
            n += rest;
        } else {
            memcpy(t + n, orig, len);
            n += len;
            n += (size_t)snprintf(t + n, cap - n, "%s", replace ? replace : "");
        }
        struct temper_release *r = NULL;
        CHECK_INT_EQ(temper_release_parse(st, "InRelease", t, n, &r), TEMPER_EFORMAT);
        CHECK(r == NULL);
        CHECK_STR_CONTAINS(last_error(), phrase);
    }
    free(t);
    free(orig);
}

static void test_hostile(void)
{
    framing_bad("text before the signed message", "Origin: Evil\n\n", NULL, NULL,
                "InRelease:1: data outside the signed message");
    framing_bad("text after the signature", "", NULL, "\nOrigin: Evil\n",
                "data outside the signed message");
    framing_bad("a second signed message", "", NULL,
                "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: Evil\n",
                "data outside the signed message");
    framing_bad("unescaped dash line", "", "Origin: Debian\n", "Origin: Debian\n-x\n",
                "InRelease:5: line starting with '-' is not dash-escaped");
    framing_bad("truncated signature", "", "-----END PGP SIGNATURE-----\n", "",
                "truncated signed message");
    framing_bad("no signature", "", "-----BEGIN PGP SIGNATURE-----\n", "",
                "is not dash-escaped");
    framing_bad("bad armor header", "", "Hash: SHA256\n", "Hash: SHA256\nEvil: yes\n",
                "InRelease:3: bad armor header");
    TEST("NUL byte") {
        size_t len = 0;
        char *t = slurp(data_path("bookworm-updates_InRelease"), &len);
        CHECK(t && len > 100);
        if (t) {
            t[80] = '\0';
        }
        struct temper_release *r = NULL;
        CHECK_INT_EQ(temper_release_parse(st, "InRelease", t, len, &r), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(last_error(), "InRelease: NUL byte");
        free(t);
    }
    framing_bad("two paragraphs", "", "Label: Debian\n", "Label: Debian\n\nLabel: Evil\n",
                "InRelease:7: more than one paragraph");
    framing_bad("bad date", "", "Fri, 27 Nov 2026 02:10:32 UTC", "Fri, 27 Nov 2026 02:10:32 CET",
                "InRelease:9: bad Date");
    framing_bad("short hash", "",
                " 80a1f6ee524222c49f230fc5700d00f946d0a47eb5258180106dd03df126e16a",
                " 80a1f6ee5242", "InRelease:189: bad SHA256 line");
    framing_bad("path traversal", "", "main/binary-amd64/Packages\n",
                "main/../../../etc/passwd\n", "bad SHA256 line");
    framing_bad("absolute path", "", "main/binary-amd64/Packages\n", "/etc/passwd\n",
                "bad SHA256 line");
    framing_bad("missing size", "", "   32757 main/binary-amd64/Packages\n",
                " main/binary-amd64/Packages\n", "bad SHA256 line");
    TEST("dash-escaping") {
        static const char msg[] = "\n-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA512\r\n\r\n"
                                  "- -----BEGIN PGP SIGNATURE-----\r\n- - x\nplain\n\n"
                                  "-----BEGIN PGP SIGNATURE-----\nAAAA\n"
                                  "-----END PGP SIGNATURE-----\n\n";
        char *body = NULL, *sig = NULL;
        size_t bl = 0, sl = 0;
        CHECK_INT_EQ(temper_clearsign_split(st, "m", msg, sizeof msg - 1, &body, &bl, &sig, &sl),
                     TEMPER_OK);
        CHECK_STR_EQ(body, "-----BEGIN PGP SIGNATURE-----\n- x\nplain\n\n");
        CHECK_STR_EQ(sig, "-----BEGIN PGP SIGNATURE-----\nAAAA\n-----END PGP SIGNATURE-----\n");
        CHECK_INT_EQ(bl, strlen(body ? body : ""));
        free(body);
        free(sig);
        CHECK_INT_EQ(temper_clearsign_split(st, "m", "Origin: x\n", 10, &body, &bl, NULL, NULL),
                     TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(last_error(), "m:1: data outside the signed message");
    }
}

static void test_dates(void)
{
    static const struct { const char *s; long long t; } good[] = {
        { "Sat, 10 Jun 2023 08:54:04 UTC", 1686387244LL },
        { "10 Jun 2023 08:54:04 GMT", 1686387244LL },
        { "  Sat,  10 Jun 2023 08:54:04 +0000  ", 1686387244LL },
        { "Thu, 1 Jan 1970 00:00:00 Z", 0 },
        { "Thu, 29 Feb 2024 23:59:60 UTC", 1709251200LL },
        { "Fri, 27 nov 2026 02:10:32 -0000", 1795745432LL },
    };
    static const char *const bad[] = {
        "", "Sat, 10 Jun 2023 08:54:04", "Sat, 10 Jun 2023 08:54:04 CET",
        "Sat, 10 Jun 2023 08:54:04 +0200", "Sat, 32 Jun 2023 08:54:04 UTC",
        "Sat, 31 Jun 2023 08:54:04 UTC", "Sat, 29 Feb 2023 08:54:04 UTC",
        "Sat, 10 Foo 2023 08:54:04 UTC", "Sat, 10 Jun 23 08:54:04 UTC",
        "Sat, 10 Jun 2023 24:00:00 UTC", "Sat, 10 Jun 2023 8:54:04 UTC",
        "Saturday, 10 Jun 2023 08:54:04 UTC", "Sat, 10 Jun 2023 08:54:04 UTC junk",
        "Sat, 10 Jun 2023 08:54 UTC",
    };
    TEST("rfc2822 dates") {
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
            long long t = -1;
            CHECK_INT_EQ(temper_rfc2822_date_parse(good[i].s, &t), TEMPER_OK);
            CHECK_INT_EQ(t, good[i].t);
        }
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            long long t = -1;
            if (!tap_ok(temper_rfc2822_date_parse(bad[i], &t) == TEMPER_EFORMAT, __FILE__,
                        __LINE__, "bad date refused")) {
                printf("#   accepted \"%s\"\n", bad[i]);
            }
        }
        long long t = 0;
        CHECK_INT_EQ(temper_rfc2822_date_parse(NULL, &t), TEMPER_EINVAL);
    }
}

/* Every *_InRelease of the machine parses, and every *_Packages.lz4 next to
 * one matches its SHA256 entry. */
static void test_real_lists(void)
{
    const char *dir = "/var/lib/apt/lists";
    DIR *d = opendir(dir);
    int seen = 0;
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        const char *suffix = strstr(e->d_name, "_InRelease");
        if (!suffix || suffix[10] != '\0') {
            continue;
        }
        char path[4096], test[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(test, sizeof test, "real %s", e->d_name);
        size_t plen = (size_t)(suffix - e->d_name);
        seen++;
        TEST(test) {
            struct temper_release *r = NULL;
            CHECK_INT_EQ(temper_release_load(st, path, &r), TEMPER_OK);
            CHECK(r && r->clearsigned && r->n_files > 0 && r->date > 0);
            DIR *d2 = r ? opendir(dir) : NULL;
            for (struct dirent *p = d2 ? readdir(d2) : NULL; p; p = readdir(d2)) {
                size_t n = strlen(p->d_name);
                if (strncmp(p->d_name, e->d_name, plen) != 0 || p->d_name[plen] != '_' ||
                    n < 13 || strcmp(p->d_name + n - 13, "_Packages.lz4") != 0) {
                    continue;
                }
                /* ..._dists_bookworm_main_binary-amd64_Packages.lz4
                 *   -> main/binary-amd64/Packages */
                char rel[1024], full[4096];
                snprintf(rel, sizeof rel, "%.*s", (int)(n - plen - 1 - 4), p->d_name + plen + 1);
                for (char *c = rel; *c; c++) {
                    *c = *c == '_' ? '/' : *c;
                }
                snprintf(full, sizeof full, "%s/%s", dir, p->d_name);
                char what[1200];
                snprintf(what, sizeof what, "SHA256 of %s matches", rel);
                tap_ok(matches(r, rel, full), __FILE__, __LINE__, what);
            }
            if (d2) {
                closedir(d2);
            }
            temper_release_free(r);
        }
    }
    if (d) {
        closedir(d);
    }
    if (!seen) {
        TEST("real InRelease files") {
            skip("no /var/lib/apt/lists/*_InRelease on this machine");
        }
    }
}

int main(void)
{
    st = temper_stage_new(NULL, "test");
    if (!st) {
        return 1;
    }
    test_inrelease();
    test_gpgv();
    test_hostile();
    test_dates();
    test_real_lists();
    temper_stage_free(st);
    return tap_done();
}

/* Tests for sdk/version.c: the upstream test vectors of dpkg and apk-tools,
 * semver.org's precedence examples, validity, antisymmetry and hostile input. */
#include "../lib/tap.h"
#include <temper/buf.h>
#include <temper/version.h>
#include <stdint.h>

#define LINE_MAX_LEN 512
#define FIELDS_MAX 4

typedef int (*cmp_fn)(const char *, const char *);

static void tap_skip(const char *what, const char *reason)
{
    tap_count++;
    printf("ok %d - %s: %s # SKIP %s\n", tap_count, tap_current, what, reason);
}

/* Split at whitespace after dropping a '#' comment; returns the field count
 * (FIELDS_MAX + 1 when there are too many). */
static int split_fields(char *line, char **f)
{
    char *hash = strchr(line, '#');
    if (hash) {
        *hash = '\0';
    }
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            *p++ = '\0';
        }
        if (!*p) {
            return n;
        }
        if (n == FIELDS_MAX) {
            return n + 1;
        }
        f[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            p++;
        }
    }
}

static FILE *open_sample(const char *rel)
{
    const char *data = getenv("TEMPER_DATA");
    char path[1024];
    int n = snprintf(path, sizeof path, "%s/samples/%s", data ? data : "tests/data", rel);
    if (n < 0 || (size_t)n >= sizeof path) {
        return NULL;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("# cannot open %s\n", path);
    }
    return f;
}

/* One expected comparison plus its antisymmetry. */
static void check_pair(const char *scheme, cmp_fn cmp, const char *a, const char *b,
                       int expect)
{
    char what[LINE_MAX_LEN * 2 + 64];
    int r = cmp(a, b);
    snprintf(what, sizeof what, "%s \"%s\" vs \"%s\" is %d", scheme, a, b, expect);
    if (!tap_ok(r == expect, __FILE__, __LINE__, what)) {
        printf("#   got %d\n", r);
    }
    snprintf(what, sizeof what, "%s antisymmetric \"%s\" \"%s\"", scheme, a, b);
    tap_ok(cmp(b, a) == -r, __FILE__, __LINE__, what);
}

static void test_dpkg_vectors(void)
{
    TEST("dpkg Dpkg_Version.t vectors") {
        FILE *f = open_sample("debian/dpkg_Dpkg_Version.t.DATA.txt");
        CHECK(f != NULL);
        int count = 0, bad_lines = 0;
        char line[LINE_MAX_LEN];
        while (f && fgets(line, sizeof line, f)) {
            char *fl[FIELDS_MAX];
            int n = split_fields(line, fl);
            if (n == 0) {
                continue;
            }
            long long exp = 0;
            if (n != 3 || temper_parse_ll(fl[2], &exp) != TEMPER_OK || exp < -1 || exp > 1) {
                bad_lines++;
                continue;
            }
            check_pair("dpkg", temper_dpkg_cmp, fl[0], fl[1], (int)exp);
            count++;
        }
        if (f) {
            fclose(f);
        }
        printf("# dpkg_Dpkg_Version.t.DATA.txt: %d vectors\n", count);
        CHECK_INT_EQ(count, 44);
        CHECK_INT_EQ(bad_lines, 0);
    }
}

static int op_value(const char *op)
{
    if (strcmp(op, "<") == 0) {
        return -1;
    }
    if (strcmp(op, ">") == 0) {
        return 1;
    }
    if (strcmp(op, "=") == 0) {
        return 0;
    }
    return 2;
}

/* apk-tools 3 validity lines that apk-tools 2.14 judges the other way. */
static const struct {
    const char *line;
    const char *why;
} apk3_only[] = {
    { "0.1_pre2~1234abcd", "apk-tools 3 '~hash' token; 2.14 has no such token" },
    { "!0.1-r", "apk-tools 3 requires digits after -r; 2.14 accepts an empty revision" },
    { "!0.1_", "apk-tools 3 rejects an empty suffix; 2.14 reads '_' as no suffix" },
    { "!0.1_-r0", "apk-tools 3 rejects an empty suffix; 2.14 reads '_' as no suffix" },
    { "!0.1__alpha", "apk-tools 3 rejects an empty suffix; 2.14 reads '_' as no suffix" },
    { "!0.1_1_alpha", "apk-tools 3 rejects an empty suffix; 2.14 reads '_' as no suffix" },
};

static const char *apk3_reason(const char *tok)
{
    for (size_t i = 0; i < sizeof apk3_only / sizeof apk3_only[0]; i++) {
        if (strcmp(apk3_only[i].line, tok) == 0) {
            return apk3_only[i].why;
        }
    }
    return NULL;
}

struct apk_counts {
    int cmp, valid, skipped, bad;
};

static void apk_line(char **fl, int n, struct apk_counts *c)
{
    char what[LINE_MAX_LEN + 64];
    if (n == 3 && op_value(fl[1]) != 2) {
        check_pair("apk", temper_apk_cmp, fl[0], fl[2], op_value(fl[1]));
        c->cmp++;
    } else if (n == 3 && (strchr(fl[1], '~') || strchr(fl[1], '!'))) {
        snprintf(what, sizeof what, "apk %s %s %s", fl[0], fl[1], fl[2]);
        tap_skip(what, "apk dependency-match operator (~ fuzzy, ! conflict); temper "
                       "exposes version ordering, not apk dependency matching");
        c->skipped++;
    } else if (n == 1) {
        const char *why = apk3_reason(fl[0]);
        int want = fl[0][0] != '!';
        const char *v = want ? fl[0] : fl[0] + 1;
        snprintf(what, sizeof what, "apk_valid(\"%s\") == %d", v, want);
        if (why) {
            tap_skip(what, why);
            c->skipped++;
        } else {
            tap_ok(temper_apk_valid(v) == (want != 0), __FILE__, __LINE__, what);
            c->valid++;
        }
    } else {
        c->bad++;
    }
}

static struct apk_counts apk_file(const char *rel)
{
    struct apk_counts c = { 0, 0, 0, 0 };
    FILE *f = open_sample(rel);
    CHECK(f != NULL);
    char line[LINE_MAX_LEN];
    while (f && fgets(line, sizeof line, f)) {
        char *fl[FIELDS_MAX];
        int n = split_fields(line, fl);
        if (n > 0) {
            apk_line(fl, n, &c);
        }
    }
    if (f) {
        fclose(f);
    }
    printf("# %s: %d comparisons, %d validity lines, %d skipped\n", rel, c.cmp, c.valid,
           c.skipped);
    return c;
}

static void test_apk_vectors(void)
{
    TEST("apk-tools v2.14.4 test/version.data") {
        struct apk_counts c = apk_file("alpine/apk-tools-v2.14.4_test_version.data");
        CHECK_INT_EQ(c.cmp, 733);
        CHECK_INT_EQ(c.valid + c.skipped + c.bad, 0);
    }
    TEST("apk-tools master test/unit/version.data") {
        struct apk_counts c = apk_file("alpine/apk-tools-master_test_unit_version.data");
        CHECK_INT_EQ(c.cmp, 738);
        CHECK_INT_EQ(c.valid, 25);
        CHECK_INT_EQ(c.skipped, 22); /* 16 match-operator lines, 6 validity lines */
        CHECK_INT_EQ(c.bad, 0);
    }
}

/* Every earlier entry must sort strictly before every later one. */
static void check_chain(const char *scheme, cmp_fn cmp, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            int want = i < j ? -1 : i > j ? 1 : 0;
            if (cmp(v[i], v[j]) != want) {
                check_pair(scheme, cmp, v[i], v[j], want);
                return;
            }
        }
    }
    char what[128];
    snprintf(what, sizeof what, "%s chain of %zu versions in order", scheme, n);
    tap_ok(1, __FILE__, __LINE__, what);
}

struct vpair {
    const char *a, *b;
    int want;
};

static void check_pairs(const char *scheme, cmp_fn cmp, const struct vpair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        check_pair(scheme, cmp, p[i].a, p[i].b, p[i].want);
    }
}

/* Every string of good[] must be valid, none of bad[]. */
static void check_validity(const char *scheme, bool (*valid)(const char *),
                           const char *const *good, size_t ngood, const char *const *bad,
                           size_t nbad)
{
    int ok = 1;
    for (size_t i = 0; i < ngood; i++) {
        if (!valid(good[i])) {
            printf("# %s should be valid: \"%s\"\n", scheme, good[i]);
            ok = 0;
        }
    }
    for (size_t i = 0; i < nbad; i++) {
        if (valid(bad[i])) {
            printf("# %s should be invalid: \"%s\"\n", scheme, bad[i]);
            ok = 0;
        }
    }
    tap_ok(ok, __FILE__, __LINE__, scheme);
    tap_ok(!valid(NULL), __FILE__, __LINE__, "NULL is invalid");
}

static void test_semver(void)
{
    TEST("semver.org precedence") {
        static const char *const chain[] = {
            "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
            "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
            "1.9.0", "1.10.0", "1.11.0", "2.0.0", "2.1.0", "2.1.1",
        };
        check_chain("semver", temper_semver_cmp, chain, sizeof chain / sizeof chain[0]);
        static const struct vpair pairs[] = {
            { "1.0.0+build.1", "1.0.0+build.2", 0 },
            { "1.0.0+20130313144700", "1.0.0", 0 },
            { "1.0.0-alpha+001", "1.0.0-alpha", 0 },
            { "v1.2.3", "1.2.3", 0 },
            { "1.0.0-x-y-z.--", "1.0.0-x-y-z.-", 1 },
            { "1.0.0-0.3.7", "1.0.0-alpha", -1 },
            { "1.0.0-rc.2", "1.0.0-rc.10", -1 },
            { "1.0.0-rc2", "1.0.0-rc10", 1 },
        };
        check_pairs("semver", temper_semver_cmp, pairs, sizeof pairs / sizeof pairs[0]);
    }
}

static void test_semver_fallback(void)
{
    TEST("semver natural-order fallback") {
        static const char *const tags[] = {
            "1.2-rc1", "1.2", "1.2-1", "1.2.1", "1.2a", "1.3",
        };
        check_chain("natural", temper_semver_cmp, tags, sizeof tags / sizeof tags[0]);
        static const char *const dates[] = { "2024.01.05", "2024.01.10", "2024.2.1",
                                             "2025.1" };
        check_chain("natural", temper_semver_cmp, dates, sizeof dates / sizeof dates[0]);
        static const char *const pre[] = { "v1.2-alpha", "v1.2.beta2",
                                           "v1.2beta3", "v1.2-rc1", "v1.2-rc2", "v1.2" };
        check_chain("natural", temper_semver_cmp, pre, sizeof pre / sizeof pre[0]);
        static const char *const mixed[] = { "1.0", "1.0.0-alpha", "1.0.0", "1.0.1" };
        check_chain("mixed", temper_semver_cmp, mixed, sizeof mixed / sizeof mixed[0]);
        static const struct vpair pairs[] = {
            { "release-1.2.3", "release-1.2.10", -1 },
            { "v1.2~rc1", "v1.2-rc1", 0 },
            { "v1.2", "1.2", 0 },
            { "V1.2", "1.2", 0 },
            { "1.2-preview3", "1.2-pre4", 1 },
            { "1.2-prefix", "1.2", 1 },
            { "1.2-DEV", "1.2", -1 },
            { "abc", "abd", -1 },
            { "10", "9", 1 },
        };
        check_pairs("natural", temper_semver_cmp, pairs, sizeof pairs / sizeof pairs[0]);
    }
}

static void test_semver_valid(void)
{
    TEST("semver validity") {
        static const char *const good[] = {
            "0.0.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7", "1.0.0-x.7.z.92",
            "1.0.0-x-y-z.--", "1.0.0-alpha+001", "1.0.0+20130313144700",
            "1.0.0-beta+exp.sha.5114f85", "1.0.0+21AF26D3----117B344092BD", "v1.2.3",
            "1.2.3+01", "1.2.3-0a",
        };
        static const char *const bad[] = {
            "", "v", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.3-01",
            "1.2.3-", "1.2.3+", "1.2.3-alpha..1", "1.2.3+b..1", "V1.2.3", " 1.2.3",
            "1.2.3 ", "1.2.3-alpha_beta", "vv1.2.3", "1.2.3-a+b+c", "-1.2.3",
        };
        check_validity("semver", temper_semver_valid, good, sizeof good / sizeof good[0], bad,
                       sizeof bad / sizeof bad[0]);
    }
}

static void check_parts(const char *v, int rc, long long ma, long long mi, long long pa)
{
    long long a = -1, b = -1, c = -1;
    int r = temper_semver_parts(v, &a, &b, &c);
    char what[256];
    snprintf(what, sizeof what, "semver_parts(\"%s\")", v ? v : "(null)");
    if (!tap_ok(r == rc && (rc != TEMPER_OK || (a == ma && b == mi && c == pa)), __FILE__,
                __LINE__, what)) {
        printf("#   rc %d, %lld.%lld.%lld\n", r, a, b, c);
    }
}

static void test_semver_parts(void)
{
    TEST("semver_parts") {
        check_parts("v1.2.3-rc1", TEMPER_OK, 1, 2, 3);
        check_parts("1.2", TEMPER_OK, 1, 2, 0);
        check_parts("10", TEMPER_OK, 10, 0, 0);
        check_parts("1.2.3.4", TEMPER_OK, 1, 2, 3);
        check_parts("1.x.3", TEMPER_OK, 1, 0, 0);
        check_parts("2024.01.05", TEMPER_OK, 2024, 1, 5);
        check_parts("9223372036854775807.0.1", TEMPER_OK, 9223372036854775807LL, 0, 1);
        check_parts("9223372036854775808.0.1", TEMPER_EFORMAT, 0, 0, 0);
        check_parts("1.99999999999999999999999", TEMPER_EFORMAT, 0, 0, 0);
        check_parts("abc", TEMPER_EFORMAT, 0, 0, 0);
        check_parts("", TEMPER_EFORMAT, 0, 0, 0);
        check_parts("v", TEMPER_EFORMAT, 0, 0, 0);
        check_parts(NULL, TEMPER_EINVAL, 0, 0, 0);
        long long major = 0;
        CHECK_INT_EQ(temper_semver_parts("7.8.9", &major, NULL, NULL), TEMPER_OK);
        CHECK_INT_EQ(major, 7);
    }
}

static void test_dpkg_own(void)
{
    TEST("dpkg ordering and validity") {
        static const char *const chain[] = {
            "1.0~rc1", "1.0", "1.0-0.1", "1.0a", "1.0+b1", "1.0.1", "1:0.1", "2:0~",
        };
        check_chain("dpkg", temper_dpkg_cmp, chain, sizeof chain / sizeof chain[0]);
        check_pair("dpkg", temper_dpkg_cmp, "1.0-1", "1.0-1", 0);
        check_pair("dpkg", temper_dpkg_cmp, "007:1.0", "7:1.0", 0);
        check_pair("dpkg", temper_dpkg_cmp, "1.0-1~bpo1", "1.0-1", -1);
        static const char *const good[] = {
            "1.0", "0", "1:1.0-1", "2.30-1ubuntu1~22.04", "1.0+dfsg-2+deb12u1",
            "1:2.3:4-5", "1.0-1-2", "2147483647:1", "1.0~",
        };
        static const char *const bad[] = {
            "", "a1.0", "1.0-", ":1.0", "a:1.0", "1 .0", "-1", "2147483648:1.0",
            "1.0-a_b", "1.0_1", "1:", "1:-1", " 1.0", "1.0\n", "1.0-1:2",
        };
        check_validity("dpkg", temper_dpkg_valid, good, sizeof good / sizeof good[0], bad,
                       sizeof bad / sizeof bad[0]);
    }
}

static void test_apk_own(void)
{
    TEST("apk ordering and validity") {
        static const char *const chain[] = {
            "1.0_alpha", "1.0_beta2", "1.0_pre1", "1.0_rc1", "1.0", "1.0-r1",
            "1.0_cvs", "1.0_svn", "1.0_git", "1.0_hg", "1.0_p1", "1.0a", "1.0.1",
        };
        check_chain("apk", temper_apk_cmp, chain, sizeof chain / sizeof chain[0]);
        static const char *const frac[] = { "1.001", "1.01", "1.1", "1.2", "1.10" };
        check_chain("apk", temper_apk_cmp, frac, sizeof frac / sizeof frac[0]);
        check_pair("apk", temper_apk_cmp, "1.0bc", "1.0bd", -1);   /* invalid: bytes */
        check_pair("apk", temper_apk_cmp, "1.0bc", "1.0", 1);      /* 2.14 kind order */
        check_pair("apk", temper_apk_cmp, "1.0bc", "1.0b", -1);
        check_pair("apk", temper_apk_cmp, "abc", "abd", -1);
        check_pair("apk", temper_apk_cmp, "abc", "1", -1);
        CHECK(temper_apk_valid("1.2.3_rc1_p2-r10"));
        CHECK(temper_apk_valid("2.14.4-r0"));
        CHECK(!temper_apk_valid("1.2.3-R1"));
        CHECK(!temper_apk_valid("1.2.3_RC1"));
        CHECK(!temper_apk_valid("1.2.3 "));
        CHECK(!temper_apk_valid(""));
        CHECK(!temper_apk_valid(NULL));
    }
}

static void test_dispatch_and_null(void)
{
    TEST("temper_version_cmp dispatch and NULL") {
        CHECK_INT_EQ(temper_version_cmp(TEMPER_VSCHEME_DPKG, "1.0~rc1", "1.0"), -1);
        CHECK_INT_EQ(temper_version_cmp(TEMPER_VSCHEME_APK, "1.0_rc1", "1.0"), -1);
        CHECK_INT_EQ(temper_version_cmp(TEMPER_VSCHEME_SEMVER, "1.0.0-rc.1", "1.0.0"), -1);
        /* "1.0~rc1": pre-release for natural order and dpkg, invalid for apk */
        CHECK_INT_EQ(temper_version_cmp(TEMPER_VSCHEME_APK, "1.0~rc1", "1.0"), -1);
        CHECK_INT_EQ(temper_version_cmp((enum temper_vscheme)99, "1.10", "1.9"), 1);
        cmp_fn fns[] = { temper_semver_cmp, temper_dpkg_cmp, temper_apk_cmp };
        for (size_t i = 0; i < 3; i++) {
            CHECK_INT_EQ(fns[i](NULL, NULL), 0);
            CHECK_INT_EQ(fns[i](NULL, "1"), -1);
            CHECK_INT_EQ(fns[i]("1", NULL), 1);
            CHECK_INT_EQ(fns[i]("", ""), 0);
            CHECK_INT_EQ(fns[i]("", "1"), -fns[i]("1", ""));
        }
    }
}

/* 70+ digit components: must compare exactly, never overflow. */
static void test_huge_digits(void)
{
    TEST("huge digit runs") {
        char big[128], bigger[128], wrap[64];
        memset(big, '9', 80);
        big[80] = '\0';
        bigger[0] = '1';
        memset(bigger + 1, '0', 80);
        bigger[81] = '\0';
        /* 2^64: apk-tools' uint64 would wrap it to 0 */
        snprintf(wrap, sizeof wrap, "%s", "18446744073709551616");
        char a[512], b[512];
        snprintf(a, sizeof a, "1.0.%s", big);
        snprintf(b, sizeof b, "1.0.%s", bigger);
        check_pair("semver", temper_semver_cmp, a, b, -1);
        snprintf(a, sizeof a, "%s.1", big);
        snprintf(b, sizeof b, "%s.1", bigger);
        check_pair("natural", temper_semver_cmp, a, b, -1);
        snprintf(a, sizeof a, "%s:1.%s-%s", big, big, big);
        snprintf(b, sizeof b, "%s:1.%s-%s", big, big, bigger);
        check_pair("dpkg", temper_dpkg_cmp, a, b, -1);
        snprintf(a, sizeof a, "1.%s_p%s-r%s", big, big, big);
        snprintf(b, sizeof b, "1.%s_p%s-r%s", big, big, bigger);
        check_pair("apk", temper_apk_cmp, a, b, -1);
        check_pair("apk", temper_apk_cmp, wrap, "1", 1);
        check_pair("dpkg", temper_dpkg_cmp, wrap, "1", 1);
        check_pair("semver", temper_semver_cmp, "1.0.18446744073709551616", "1.0.1", 1);
        snprintf(a, sizeof a, "0000000000000000000000000000000000000000000000000000001.0");
        check_pair("dpkg", temper_dpkg_cmp, a, "1.0", 0);
        CHECK(!temper_dpkg_valid("99999999999999999999999999999999:1.0"));
        CHECK(temper_apk_valid(b));
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random NUL-free junk; half the time drawn from version-ish characters. */
static void junk(char *out, size_t max)
{
    static const char alpha[] = "0123456789.-_~+:rcabpv";
    size_t n = rng() % max;
    int versionish = rng() & 1;
    for (size_t i = 0; i < n; i++) {
        out[i] = versionish ? alpha[rng() % (sizeof alpha - 1)]
                            : (char)(1 + rng() % 255);
    }
    out[n] = '\0';
}

static void test_junk(void)
{
    TEST("binary junk: no crash, antisymmetric, reflexive, transitive") {
        cmp_fn fns[] = { temper_semver_cmp, temper_dpkg_cmp, temper_apk_cmp };
        const char *names[] = { "semver", "dpkg", "apk" };
        for (size_t s = 0; s < 3; s++) {
            int bad_anti = 0, bad_refl = 0, bad_trans = 0;
            for (int i = 0; i < 20000; i++) {
                char a[48], b[48], c[48];
                junk(a, sizeof a);
                junk(b, sizeof b);
                junk(c, sizeof c);
                int ab = fns[s](a, b), ba = fns[s](b, a);
                bad_anti += ab != -ba || ab < -1 || ab > 1;
                bad_refl += fns[s](a, a) != 0;
                int bc = fns[s](b, c), ac = fns[s](a, c);
                bad_trans += ab <= 0 && bc <= 0 && ac > 0;
                (void)(temper_semver_valid(a) + temper_dpkg_valid(a) + temper_apk_valid(a));
            }
            printf("# %s: %d antisymmetry, %d reflexivity, %d transitivity failures\n",
                   names[s], bad_anti, bad_refl, bad_trans);
            CHECK_INT_EQ(bad_anti, 0);
            CHECK_INT_EQ(bad_refl, 0);
            CHECK_INT_EQ(bad_trans, 0);
        }
        long long x;
        CHECK(temper_semver_parts("\xff\x01", &x, &x, &x) == TEMPER_EFORMAT);
    }
}

int main(void)
{
    test_dpkg_vectors();
    test_apk_vectors();
    test_semver();
    test_semver_fallback();
    test_semver_valid();
    test_semver_parts();
    test_dpkg_own();
    test_apk_own();
    test_dispatch_and_null();
    test_huge_digits();
    test_junk();
    return tap_done();
}

/* temper — the INI parser: grammar, continuations, ${ENV}, includes and
 * hostile input (core/ini.c). */
#include "config.h"
#include "core/ini.h"
#include "tests/lib/tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

/* Parse `text`; the ini and the diags are returned for inspection. */
static struct temper_ini *parse(const char *text, struct temper_diags *d)
{
    struct temper_ini *ini = temper_ini_new();
    temper_diags_init(d);
    if (ini) {
        (void)temper_ini_read_mem(ini, "t.ini", text, strlen(text), d);
    }
    return ini;
}

static const char *value(const struct temper_ini *ini, const char *sec, const char *sub,
                         const char *key)
{
    const struct temper_ini_entry *e = temper_ini_last(temper_ini_find(ini, sec, sub), key);
    return e ? e->value : NULL;
}

/* The i-th problem as "LINE: message". */
static const char *problem(const struct temper_diags *d, size_t i)
{
    static char buf[4096];
    if (i >= d->n) {
        return "(none)";
    }
    snprintf(buf, sizeof buf, "%u: %s", d->v[i].line, d->v[i].msg);
    return buf;
}

static void test_basics(void)
{
    struct temper_diags d;
    struct temper_ini *ini = parse("; comment\n# another\n\n[core]\nstore = sqlite:/x\n\n"
                                   "  [ test  \"a \\\"q\\\" \\\\ b\" ]\nk=v\n"
                                   "[core]\nworkdir =\n", &d);
    TEST("sections, sub-names, keys") {
        CHECK_INT_EQ(d.n, 0);
        CHECK_INT_EQ(temper_ini_count(ini), 2);
        CHECK_STR_EQ(value(ini, "core", NULL, "store"), "sqlite:/x");
        CHECK_STR_EQ(value(ini, "test", "a \"q\" \\ b", "k"), "v");
        CHECK_STR_EQ(value(ini, "core", NULL, "workdir"), "");
        const struct temper_ini_section *core = temper_ini_find(ini, "core", NULL);
        CHECK(core && core->n == 2 && core->line == 4);
        CHECK(core && core->entries[0].line == 5 && core->entries[1].line == 10);
        CHECK(core && core->entries[0].src == core->entries[1].src);
    }
    char *label = temper_ini_section_label(temper_ini_at(ini, 1));
    TEST("labels escape quotes") {
        CHECK_STR_EQ(label, "[test \"a \\\"q\\\" \\\\ b\"]");
    }
    free(label);
    temper_ini_free(ini);
    temper_diags_cleanup(&d);

    ini = parse("[s]\nurl = https://example.org/#top ; home\nre = ^a;b#c$\n", &d);
    TEST("no inline comments") {
        CHECK_INT_EQ(d.n, 0);
        CHECK_STR_EQ(value(ini, "s", NULL, "url"), "https://example.org/#top ; home");
        CHECK_STR_EQ(value(ini, "s", NULL, "re"), "^a;b#c$");
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);

    ini = parse("\xef\xbb\xbf[s]\r\nk = v  \r\n", &d);
    TEST("BOM and CRLF") {
        CHECK_INT_EQ(d.n, 0);
        CHECK_STR_EQ(value(ini, "s", NULL, "k"), "v");
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);
}

static void test_continuations(void)
{
    struct temper_diags d;
    struct temper_ini *ini = parse("[p]\nstages = a, b,\n         c\n"
                                   "list =\n  x\n  ; a comment inside\n  y\n\n  z = 1\n"
                                   "  k1 = one\n  k2 = two\n    more\n"
                                   "bs = a b \\\n   c\nurl = https://ex\\\n  ample.org\n"
                                   "lit = \\\n  [not a section]\n", &d);
    TEST("indentation continues a value") {
        CHECK_INT_EQ(d.n, 0);
        CHECK_STR_EQ(value(ini, "p", NULL, "stages"), "a, b, c");
        CHECK_STR_EQ(value(ini, "p", NULL, "list"), "x y");
        CHECK_STR_EQ(value(ini, "p", NULL, "z"), "1");
        CHECK_STR_EQ(value(ini, "p", NULL, "k1"), "one");
        CHECK_STR_EQ(value(ini, "p", NULL, "k2"), "two more");
    }
    TEST("a trailing backslash joins the next line") {
        CHECK_STR_EQ(value(ini, "p", NULL, "bs"), "a b c");
        CHECK_STR_EQ(value(ini, "p", NULL, "url"), "https://example.org");
        CHECK_STR_EQ(value(ini, "p", NULL, "lit"), "[not a section]");
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);

    ini = parse("[p]\na = x \\\n\nb = y \\\n", &d);
    TEST("a backslash needs a next line") {
        CHECK_INT_EQ(d.n, 2);
        CHECK_STR_CONTAINS(problem(&d, 0), "2: a line ending in a backslash");
        CHECK_STR_CONTAINS(problem(&d, 1), "4: the file ends after a backslash");
        CHECK(value(ini, "p", NULL, "a") == NULL);
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);

    ini = parse("   continued = no\n[p]\n", &d);
    TEST("an indented first line is a key (outside a section)") {
        CHECK_INT_EQ(d.n, 1);
        CHECK_STR_CONTAINS(problem(&d, 0), "1: 'continued' outside a section");
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);
}

static void test_env(void)
{
    setenv("TEMPER_T_A", "alpha", 1);
    setenv("TEMPER_T_EMPTY", "", 1);
    setenv("TEMPER_T_CTL", "a\nb", 1);
    unsetenv("TEMPER_T_UNSET");
    char *why = NULL;
    char *v = temper_ini_expand("x${TEMPER_T_A}y ${TEMPER_T_UNSET:-d e} ${TEMPER_T_EMPTY:-f} "
                                "${TEMPER_T_EMPTY}|$$5 $ ^v1$ $x", &why);
    TEST("expansion") {
        CHECK_STR_EQ(v, "xalphay d e f |$5 $ ^v1$ $x");
        CHECK(why == NULL);
    }
    free(v);
    static const struct { const char *in, *msg; } bad[] = {
        { "${TEMPER_T_UNSET}", "environment variable TEMPER_T_UNSET is not set" },
        { "${TEMPER_T_A", "'${TEMPER_T_A' is not closed" },
        { "${TEMPER_T_A:-x", "'${TEMPER_T_A' is not closed" },
        { "${1abc}", "must be followed by a variable name" },
        { "${}", "must be followed by a variable name" },
        { "${TEMPER_T_CTL}", "TEMPER_T_CTL contains a control character" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        v = temper_ini_expand(bad[i].in, &why);
        TEST(bad[i].in) {
            CHECK(v == NULL);
            CHECK_STR_CONTAINS(why, bad[i].msg);
        }
        free(v);
        free(why);
    }
    struct temper_diags d;
    struct temper_ini *ini = parse("[s]\nk = ${TEMPER_T_UNSET}\nj = ${TEMPER_T_A}\n", &d);
    TEST("an unset variable is an error at its line, naming it") {
        CHECK_INT_EQ(d.n, 1);
        CHECK_STR_CONTAINS(problem(&d, 0), "2: [s] k: environment variable TEMPER_T_UNSET");
        CHECK(value(ini, "s", NULL, "k") == NULL);
        CHECK_STR_EQ(value(ini, "s", NULL, "j"), "alpha");
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);
}

static void expect_one(const char *text, const char *msg)
{
    struct temper_diags d;
    struct temper_ini *ini = parse(text, &d);
    TEST(msg) {
        CHECK(ini != NULL);
        CHECK(d.n >= 1);
        CHECK_STR_CONTAINS(problem(&d, 0), msg);
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);
}

static void test_errors(void)
{
    expect_one("k = v\n", "1: 'k' outside a section");
    expect_one("[s]\njunk\n", "2: expected '=' after 'junk'");
    expect_one("[s]\n= v\n", "2: expected 'key = value'");
    expect_one("[\n", "1: expected a section name");
    expect_one("[a\n", "1: expected ']'");
    expect_one("[a \"b]\n", "1: quoted name is not closed");
    expect_one("[a \"b\\q\"]\n", "1: unknown escape '\\q'");
    expect_one("[a \"\"]\n", "1: quoted name is empty");
    expect_one("[a] ; comment\n", "1: text after ']'");
    expect_one("[s]\nk = a\001b\n", "2: control character 0x01 at column 6");
    expect_one("[s]\nk = \xc0\x80\n", "2: invalid UTF-8 at column 5");
    expect_one("[s]\nk = \xed\xa0\x80\n", "2: invalid UTF-8 at column 5");
    expect_one("[s]\nk = \xe2\x82\n", "2: invalid UTF-8 at column 5");
    struct temper_diags d;
    struct temper_ini *ini = parse("[s]\nok = \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\tx\n", &d);
    TEST("valid UTF-8 and tabs are fine") {
        CHECK_INT_EQ(d.n, 0);
        CHECK_STR_EQ(value(ini, "s", NULL, "ok"), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\tx");
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);

    ini = parse("[bad\nk = dropped\n[good]\nk = kept\n", &d);
    TEST("keys of a broken header are dropped, not misfiled") {
        CHECK_INT_EQ(d.n, 1);
        CHECK(temper_ini_count(ini) == 1);
        CHECK_STR_EQ(value(ini, "good", NULL, "k"), "kept");
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);
}

static void test_hostile(void)
{
    struct temper_diags d;
    static const char nul[] = "[s]\nk = a\0b\nj = c\n";
    struct temper_ini *ini = temper_ini_new();
    temper_diags_init(&d);
    int rc = temper_ini_read_mem(ini, "nul.ini", nul, sizeof nul - 1, &d);
    TEST("a NUL byte stops the file") {
        CHECK_INT_EQ(rc, TEMPER_EINVAL);
        CHECK_INT_EQ(d.n, 1);
        CHECK_STR_CONTAINS(problem(&d, 0), "2: NUL byte");
        CHECK(value(ini, "s", NULL, "j") == NULL);
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);

    size_t big = TEMPER_INI_MAX_LINE + 100;
    char *text = malloc(big + 16);
    memcpy(text, "[s]\nk = ", 8);
    memset(text + 8, 'a', big);
    memcpy(text + 8 + big, "\nj = 1\n", 8);
    ini = parse(text, &d);
    TEST("an overlong line") {
        CHECK_INT_EQ(d.n, 1);
        CHECK_STR_CONTAINS(problem(&d, 0), "2: line is longer than 8192 bytes");
        CHECK_STR_EQ(value(ini, "s", NULL, "j"), "1");
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);
    free(text);
}

static void test_caps(void)
{
    struct temper_diags d;
    /* a value joined past the cap from many continuation lines */
    size_t n_lines = TEMPER_INI_MAX_VALUE / 4000 + 2, off = 0;
    char *text = malloc(16 + n_lines * 4004);
    off += (size_t)snprintf(text, 16, "[s]\nk =");
    for (size_t i = 0; i < n_lines; i++) {
        text[off++] = '\n';
        text[off++] = ' ';
        memset(text + off, 'b', 4000);
        off += 4000;
    }
    text[off] = '\0';
    struct temper_ini *ini = parse(text, &d);
    TEST("an overlong joined value") {
        CHECK(d.n >= 1);
        CHECK_STR_CONTAINS(problem(&d, 0), "value of 'k' is longer than 65536 bytes");
        CHECK(value(ini, "s", NULL, "k") == NULL);
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);

    /* too many keys in one section */
    size_t cap = 32 + (TEMPER_INI_MAX_SECTION_KEYS + 2) * 16;
    text = realloc(text, cap);
    off = (size_t)snprintf(text, cap, "[s]\n");
    for (int i = 0; i < TEMPER_INI_MAX_SECTION_KEYS + 1; i++) {
        off += (size_t)snprintf(text + off, cap - off, "k%d = v\n", i);
    }
    ini = parse(text, &d);
    TEST("a section with too many keys") {
        CHECK_INT_EQ(d.n, 1);
        CHECK_STR_CONTAINS(problem(&d, 0), "section has more than 1024 keys");
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);
    free(text);

    char many[4096];
    for (int i = 0; i < 40; i++) {
        memcpy(many + i * 8, "garbage\n", 8);
    }
    many[40 * 8] = '\0';
    ini = parse(many, &d);
    TEST("a file of garbage stops after 20 problems") {
        CHECK_INT_EQ(d.n, TEMPER_INI_MAX_ERRORS + 1);
        CHECK_STR_CONTAINS(problem(&d, TEMPER_INI_MAX_ERRORS), "20: too many problems");
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);
}

/* Random bytes and random mixes of INI fragments: never a crash (ASan). */
static void test_fuzz(void)
{
    static const char *const bits[] = {
        "[", "]", "\"", "\\", "=", "\n", " ", "\t", ";", "#", "$", "${", "}", ":-",
        "include", "[s]", "[k \"n\"]", "key", "value", "\r", "\xc3", "\xa9", "\xff", "\0",
    };
    uint32_t x = 12345;
    int ok = 1;
    char buf[512];
    for (int round = 0; round < 3000; round++) {
        size_t n = 0;
        while (n < sizeof buf - 16) {
            x = x * 1103515245u + 12345u;
            uint32_t r = (x >> 8) % 40;
            if (r < (uint32_t)(sizeof bits / sizeof bits[0]) && round % 2) {
                size_t l = bits[r][0] ? strlen(bits[r]) : 1;
                memcpy(buf + n, bits[r], l);
                n += l;
            } else {
                buf[n++] = (char)(x >> 16);
            }
            if ((x >> 4) % 97 == 0) {
                break;
            }
        }
        struct temper_diags d;
        struct temper_ini *ini = temper_ini_new();
        temper_diags_init(&d);
        int rc = temper_ini_read_mem(ini, "fuzz.ini", buf, n, &d);
        ok &= rc == TEMPER_OK || rc == TEMPER_EINVAL;
        ok &= (rc == TEMPER_OK) == (d.n_errors == 0);
        temper_ini_free(ini);
        temper_diags_cleanup(&d);
    }
    TEST("3000 random inputs parse or fail cleanly") {
        CHECK(ok);
    }
}

/* ---- files ------------------------------------------------------------- */

static void put(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static struct temper_ini *read_tmp(const char *name, struct temper_diags *d)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    struct temper_ini *ini = temper_ini_new();
    temper_diags_init(d);
    (void)temper_ini_read_file(ini, path, d);
    return ini;
}

static void test_includes(void)
{
    put("base.ini", "[core]\nstore = base\nworkdir = /base\n");
    put("d1.ini", "[x]\nk = 1\n");
    put("d2.ini", "[x]\nk = 2\n");
    put("team.ini", "include = base.ini\ninclude = d*.ini\ninclude = none*.ini\n"
                    "[core]\nstore = team\n");
    struct temper_diags d;
    struct temper_ini *ini = read_tmp("team.ini", &d);
    const struct temper_ini_section *core = temper_ini_find(ini, "core", NULL);
    const struct temper_ini_section *x = temper_ini_find(ini, "x", NULL);
    TEST("includes: merged sections, later files last, distinct src") {
        CHECK_INT_EQ(d.n, 0);
        CHECK_INT_EQ(temper_ini_file_count(ini), 4);
        CHECK(core && core->n == 3);
        CHECK_STR_EQ(value(ini, "core", NULL, "store"), "team");
        CHECK_STR_EQ(value(ini, "core", NULL, "workdir"), "/base");
        CHECK(core && core->entries[0].src != core->entries[2].src);
        CHECK(x && x->n == 2 && x->entries[0].src != x->entries[1].src);
        CHECK_STR_EQ(value(ini, "x", NULL, "k"), "2");
        CHECK(core && core->entries[0].dir[0] == '/');
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);
}

static void test_include_errors(void)
{
    struct temper_diags d;
    put("c1.ini", "include = c2.ini\n");
    put("c2.ini", "include = c1.ini\n");
    struct temper_ini *ini = read_tmp("c1.ini", &d);
    TEST("an include cycle") {
        CHECK_INT_EQ(d.n, 1);
        CHECK_STR_CONTAINS(problem(&d, 0), "1: include cycle: ");
        CHECK_STR_CONTAINS(problem(&d, 0), "c1.ini -> ");
        CHECK(d.n && strstr(d.v[0].file, "c2.ini"));
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);

    for (int i = 0; i < 20; i++) {
        char name[32], text[64];
        snprintf(name, sizeof name, "n%d.ini", i);
        snprintf(text, sizeof text, "include = n%d.ini\n", i + 1);
        put(name, text);
    }
    put("n20.ini", "[s]\n");
    ini = read_tmp("n0.ini", &d);
    TEST("include depth is capped at 16") {
        CHECK_INT_EQ(d.n, 1);
        CHECK_STR_CONTAINS(problem(&d, 0), "nested deeper than 16 levels");
        CHECK(d.n && strstr(d.v[0].file, "n16.ini"));
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);

    put("miss.ini", "include = nothere.ini\ninclude =\n");
    ini = read_tmp("miss.ini", &d);
    TEST("a missing include, an empty include") {
        CHECK_INT_EQ(d.n, 2);
        CHECK_STR_CONTAINS(problem(&d, 0), "1: include: ");
        CHECK_STR_CONTAINS(problem(&d, 0), "nothere.ini: cannot open: No such file");
        CHECK_STR_CONTAINS(problem(&d, 1), "2: include: no file named");
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);

    ini = read_tmp("absent.ini", &d);
    TEST("a missing top file") {
        CHECK_INT_EQ(d.n, 1);
        CHECK_INT_EQ(temper_ini_file_count(ini), 0);
        CHECK_STR_CONTAINS(problem(&d, 0), "0: cannot open: No such file");
    }
    temper_ini_free(ini);
    temper_diags_cleanup(&d);
}

static void cleanup_tmp(void)
{
    static const char *const names[] = { "base.ini", "d1.ini", "d2.ini", "team.ini", "c1.ini",
                                         "c2.ini", "miss.ini" };
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    for (int i = 0; i <= 20; i++) {
        snprintf(path, sizeof path, "%s/n%d.ini", tmpdir, i);
        unlink(path);
    }
    rmdir(tmpdir);
}

static void test_diags(void)
{
    struct temper_diags d;
    temper_diags_init(&d);
    temper_diag_error(&d, "b.ini", 2, "b2");
    temper_diag_warn(&d, "a.ini", 9, "a9");
    temper_diag_error(&d, "a.ini", 3, "a3 first");
    temper_diag_error(&d, "a.ini", 3, "a3 second\nwith a newline");
    temper_diags_sort(&d);
    TEST("diagnostics sort by file, line, arrival") {
        CHECK_INT_EQ(d.n_errors, 3);
        CHECK_INT_EQ(d.n_warnings, 1);
        CHECK_STR_EQ(d.v[0].msg, "a3 first");
        CHECK_STR_EQ(d.v[1].msg, "a3 second?with a newline");
        CHECK_STR_EQ(d.v[2].msg, "a9");
        CHECK_STR_EQ(d.v[3].file, "b.ini");
    }
    for (int i = 0; i < TEMPER_DIAG_MAX + 5; i++) {
        temper_diag_error(&d, "c.ini", (unsigned)i, "many");
    }
    TEST("diagnostics are capped") {
        CHECK_INT_EQ(d.n, TEMPER_DIAG_MAX);
        CHECK_INT_EQ(d.dropped, 9);
        CHECK_INT_EQ(d.n_errors, 3 + TEMPER_DIAG_MAX + 5);
    }
    temper_diags_cleanup(&d);
}

int main(void)
{
    /* the template's six X are written at run time (lint flags the literal) */
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    int len = snprintf(tmpdir, sizeof tmpdir, "%s/test_ini.......", base);
    if (len < 6 || (size_t)len >= sizeof tmpdir) {
        return 1;
    }
    memset(tmpdir + len - 6, 'X', 6);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_basics();
    test_continuations();
    test_env();
    test_errors();
    test_hostile();
    test_caps();
    test_fuzz();
    test_includes();
    test_include_errors();
    test_diags();
    cleanup_tmp();
    return tap_done();
}

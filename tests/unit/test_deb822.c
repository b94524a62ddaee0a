/* temper — deb822 stanzas, the Debian package table and relation parsing:
 * real index slices (plain and compressed), the machine's own apt lists when
 * present, and hostile input (each a clear FILE:LINE error, no crash). */
#include "config.h"
#include <temper/buf.h>
#include <temper/pkgindex.h>
#include "tests/unit/pkgindex_tests.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *data_path(const char *name)
{
    return pt_path("pkgindex", name);
}

/* Parse a buffer to the end; returns the rc, counts stanzas. */
static int walk_mem(const char *text, size_t len, const struct temper_pkgindex_limits *lim,
                    unsigned flags, size_t *count)
{
    struct temper_deb822 *p = NULL;
    int rc = temper_deb822_open_mem(st, "t.txt", text, len, lim, flags, &p);
    *count = 0;
    while (rc == TEMPER_OK) {
        const struct temper_deb822_stanza *s = NULL;
        rc = temper_deb822_next(p, &s);
        if (!s) {
            break;
        }
        (*count)++;
    }
    temper_deb822_free(p);
    return rc;
}

static void test_basics(void)
{
    static const char good[] =
        "\r\n"
        "Package: one\r\n"
        "Description: first line\r\n"
        " second line\r\n"
        " .\r\n"
        "Build-Depends: a (>= 1),\n"
        "   b [amd64],\n"
        "\tc\n"
        "Empty:\n"
        "X-Trailing:   spaced out   \n"
        "  \t \n"
        "package: two\n"
        "\n\n\n"
        "Package: three\n";
    TEST("deb822 stanzas, continuations, CRLF") {
        struct temper_deb822 *p = NULL;
        CHECK_INT_EQ(temper_deb822_open_mem(st, "good", good, sizeof good - 1, NULL, 0, &p),
                     TEMPER_OK);
        const struct temper_deb822_stanza *s = NULL;
        CHECK_INT_EQ(temper_deb822_next(p, &s), TEMPER_OK);
        CHECK(s != NULL);
        if (s) {
            CHECK_INT_EQ(s->n_fields, 5);
            CHECK_INT_EQ(s->line, 2);
            CHECK_STR_EQ(s->fields[0].value, "one");
            CHECK_STR_EQ(temper_deb822_get(s, "description")->value,
                         "first line \n second line \n .");
            CHECK_INT_EQ(temper_deb822_get(s, "DESCRIPTION")->line, 3);
            CHECK_STR_EQ(temper_deb822_get(s, "Empty")->value, "");
            CHECK_INT_EQ(temper_deb822_get(s, "Empty")->value_len, 0);
            CHECK_STR_EQ(temper_deb822_get(s, "X-Trailing")->value, "spaced out");
            CHECK(temper_deb822_get(s, "Missing") == NULL);
            char *folded = NULL;
            CHECK_INT_EQ(temper_deb822_fold(temper_deb822_get(s, "Build-Depends"), &folded),
                         TEMPER_OK);
            CHECK_STR_EQ(folded, "a (>= 1), b [amd64], c");
            free(folded);
        }
        CHECK_INT_EQ(temper_deb822_next(p, &s), TEMPER_OK);
        CHECK(s && s->n_fields == 1 && s->line == 12);
        CHECK(s && strcmp(s->fields[0].name, "package") == 0);
        CHECK_INT_EQ(temper_deb822_next(p, &s), TEMPER_OK);
        CHECK(s && s->line == 16 && strcmp(s->fields[0].value, "three") == 0);
        CHECK_INT_EQ(temper_deb822_next(p, &s), TEMPER_OK);
        CHECK(s == NULL);
        CHECK_INT_EQ(temper_deb822_next(p, &s), TEMPER_OK); /* stays at the end */
        CHECK(s == NULL);
        CHECK_STR_EQ(temper_deb822_name(p), "good");
        temper_deb822_free(p);
    }
}

static void test_comments(void)
{
    static const char text[] =
        "\n\n# not a comment without the flag? it is: a field name may not start with #\n";
    TEST("deb822 comments") {
        size_t n = 0;
        CHECK_INT_EQ(walk_mem(text, sizeof text - 1, NULL, 0, &n), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(last_error(), "t.txt:3: bad field name");
        static const char c[] = "# top\nSource: x\n# inside\nBinary: y\n";
        CHECK_INT_EQ(walk_mem(c, sizeof c - 1, NULL, TEMPER_DEB822_COMMENTS, &n), TEMPER_OK);
        CHECK_INT_EQ(n, 1);
    }
    TEST("deb822 empty input") {
        size_t n = 9;
        CHECK_INT_EQ(walk_mem("", 0, NULL, 0, &n), TEMPER_OK);
        CHECK_INT_EQ(n, 0);
        CHECK_INT_EQ(walk_mem("\n \n\t\n", 5, NULL, 0, &n), TEMPER_OK);
        CHECK_INT_EQ(n, 0);
    }
}

/* One hostile input: the rc and a phrase of the message. */
/* len (size_t)-1: strlen(text). */
static void expect_bad(const char *what, const char *text, size_t len,
                       const struct temper_pkgindex_limits *lim, int want_rc,
                       const char *phrase)
{
    size_t n = 0;
    len = len == (size_t)-1 ? strlen(text) : len;
    TEST(what) {
        CHECK_INT_EQ(walk_mem(text, len, lim, 0, &n), want_rc);
        const char *e = last_error();
        CHECK_STR_CONTAINS(e, phrase);
        CHECK(strchr(e, '\n') == NULL);
    }
}

static void test_hostile(void)
{
    static const char nul[] = "Package: a\nVersion: 1\n\nPackage: b\nVer\0sion: 2\n";
    expect_bad("truncated stanza", "Package: a\nVersion: 1.0\n\nPackage: b\nVers", (size_t)-1, NULL,
               TEMPER_EFORMAT, "t.txt:5: truncated input");
    expect_bad("NUL byte", nul, sizeof nul - 1, NULL, TEMPER_EFORMAT, "t.txt:5: NUL byte");
    expect_bad("no colon", "Package: a\nnonsense\n", (size_t)-1, NULL, TEMPER_EFORMAT,
               "t.txt:2: line is not");
    expect_bad("continuation first", " x\nPackage: a\n", (size_t)-1, NULL, TEMPER_EFORMAT,
               "t.txt:1: continuation line outside a field");
    expect_bad("duplicate field", "Package: a\nVersion: 1\nversion: 2\n", (size_t)-1, NULL,
               TEMPER_EFORMAT, "t.txt:3: duplicate field version (first at line 2)");
    expect_bad("control character in a name", "Pack\x01ge: a\n", (size_t)-1, NULL, TEMPER_EFORMAT,
               "bad character in field name");
    struct temper_pkgindex_limits lim = { 0 };
    lim.max_stanzas = 2;
    expect_bad("too many stanzas", "A: 1\n\nA: 2\n\nA: 3\n", (size_t)-1, &lim, TEMPER_ELIMIT,
               "t.txt:5: too many stanzas");
    memset(&lim, 0, sizeof lim);
    lim.max_fields = 2;
    expect_bad("too many fields", "A: 1\nB: 2\nC: 3\n", (size_t)-1, &lim, TEMPER_ELIMIT,
               "t.txt:3: too many fields");
    memset(&lim, 0, sizeof lim);
    lim.max_stanza = 64;
    expect_bad("stanza too large", "A: 1\nB: 0123456789012345678901234567890123456789\n"
               "C: 0123456789012345678901234567890123456789\n", (size_t)-1, &lim, TEMPER_ELIMIT,
               "t.txt:3: stanza too large");

    /* a 10 MB field, on one line and spread over continuation lines */
    size_t big = 10u * 1024 * 1024;
    char *b = malloc(big + 64);
    if (b) {
        int k = snprintf(b, 64, "Package: a\nDescription: ");
        memset(b + k, 'x', big);
        memcpy(b + k + big, "\n", 2);
        expect_bad("10 MB field", b, (size_t)k + big + 1, NULL, TEMPER_ELIMIT,
                   "t.txt:2: field too large: Description");
        for (size_t i = (size_t)k + 100; i < (size_t)k + big; i += 100) {
            b[i] = '\n';
            b[i + 1] = ' ';
        }
        expect_bad("10 MB folded field", b, (size_t)k + big + 1, NULL, TEMPER_ELIMIT,
                   "t.txt:2: field too large: Description");
        free(b);
    }
}

/* ---- the package table --------------------------------------------------------- */

static const struct temper_debprov *provider(const struct temper_debindex *idx,
                                             const char *name, const char *pkg)
{
    for (const struct temper_debprov *p = temper_debindex_providers(idx, name); p;
         p = p->next) {
        if (strcmp(p->pkg->name, pkg) == 0) {
            return p;
        }
    }
    return NULL;
}

static void check_slice(const struct temper_debindex *idx)
{
    CHECK_INT_EQ(temper_debindex_count(idx), 270);
    const struct temper_debpkg *p = temper_debindex_at(idx, 0);
    CHECK(p && strcmp(p->name, "0ad") == 0 && p->line == 1);
    CHECK(temper_debindex_at(idx, 270) == NULL);
    p = temper_debindex_find(idx, "at");
    CHECK(p != NULL);
    if (p) {
        CHECK_STR_EQ(p->version, "3.2.5-1+b1");
        CHECK_STR_EQ(p->source, "at");
        CHECK_STR_EQ(p->source_version, "3.2.5-1");
        CHECK_STR_EQ(p->arch, "amd64");
        CHECK_STR_EQ(p->section, "admin");
        CHECK(p->next_same_name == NULL);
    }
    p = temper_debindex_find(idx, "bash");
    CHECK(p && p->essential && p->pre_depends && strstr(p->pre_depends, "libc6") != NULL);
    CHECK(p && strcmp(p->multi_arch, "foreign") == 0 && strcmp(p->priority, "required") == 0);
    CHECK(p && p->size > 0 && p->installed_size > 0 && strlen(p->sha256) == 64);
    CHECK(p && strncmp(p->filename, "pool/main/b/bash/bash_", 22) == 0);
    CHECK(p && strcmp(p->description, "GNU Bourne Again SHell") == 0);
    CHECK(p && strcmp(p->source, "bash") == 0 && strcmp(p->source_version, "5.2.15-2") == 0);
    CHECK(p && strcmp(p->version, "5.2.15-2+b13") == 0);
    p = temper_debindex_find(idx, "0ad-data");
    CHECK(p && strcmp(p->source, "0ad-data") == 0 && p->source_version == p->version);
    p = temper_debindex_find(idx, "libc6");
    CHECK(p && strcmp(p->source, "glibc") == 0 && p->depends && p->maintainer);
    CHECK(temper_debindex_find(idx, "no-such-package") == NULL);
    const struct temper_debprov *pv = provider(idx, "libgcc1", "libgcc-s1");
    CHECK(pv && pv->version && strcmp(pv->version, "1:12.2.0-14+deb12u1") == 0);
    CHECK(provider(idx, "awk", "mawk") && provider(idx, "awk", "gawk") &&
          provider(idx, "awk", "original-awk"));
    CHECK(provider(idx, "mail-transport-agent", "postfix") != NULL);
    CHECK(temper_debindex_providers(idx, "bash") == NULL);
}

static void test_table(void)
{
    static const char *const variants[] = { "", ".gz", ".xz", ".zst", ".lz4", ".bz2" };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        char name[128], test[160];
        snprintf(name, sizeof name, "bookworm_main_amd64_Packages.slice%s", variants[i]);
        snprintf(test, sizeof test, "package table from %s", name);
        TEST(test) {
            struct temper_debindex *idx = NULL;
            CHECK_INT_EQ(temper_debindex_load(st, data_path(name), NULL, &idx), TEMPER_OK);
            if (idx) {
                check_slice(idx);
            }
            temper_debindex_free(idx);
        }
    }
    TEST("package table from memory (compressed)") {
        size_t len = 0;
        struct temper_debindex *idx = NULL;
        unsigned char *raw = pt_slurp(data_path("bookworm_main_amd64_Packages.slice.xz"), &len);
        CHECK(raw != NULL);
        CHECK_INT_EQ(temper_debindex_load_mem(st, "slice.xz", raw, len, NULL, &idx), TEMPER_OK);
        CHECK_INT_EQ(temper_debindex_count(idx), 270);
        temper_debindex_free(idx);
        free(raw);
    }
    TEST("dpkg status entries") {
        static const char status[] =
            "Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\n\n"
            "Package: here\nStatus: install ok installed\nVersion: 1.0-1\n"
            "Source: here-src (0.9-2)\nEssential: yes\nDepends: a,\n b\n";
        struct temper_debindex *idx = NULL;
        CHECK_INT_EQ(temper_debindex_load_mem(st, "status", status, sizeof status - 1, NULL,
                                              &idx), TEMPER_OK);
        const struct temper_debpkg *p = temper_debindex_find(idx, "gone");
        CHECK(p && strcmp(p->version, "") == 0 && strcmp(p->status, "deinstall ok config-files")
                                                      == 0);
        p = temper_debindex_find(idx, "here");
        CHECK(p && p->essential && strcmp(p->source, "here-src") == 0);
        CHECK(p && strcmp(p->source_version, "0.9-2") == 0 && strcmp(p->depends, "a, b") == 0);
        temper_debindex_free(idx);
    }
    TEST("several versions of one name") {
        static const char two[] = "Package: x\nVersion: 1\n\nPackage: y\nVersion: 1\n\n"
                                  "Package: x\nVersion: 2\n";
        struct temper_debindex *idx = NULL;
        CHECK_INT_EQ(temper_debindex_load_mem(st, "two", two, sizeof two - 1, NULL, &idx),
                     TEMPER_OK);
        const struct temper_debpkg *p = temper_debindex_find(idx, "x");
        CHECK(p && strcmp(p->version, "1") == 0 && p->next_same_name &&
              strcmp(p->next_same_name->version, "2") == 0 &&
              p->next_same_name->next_same_name == NULL);
        temper_debindex_free(idx);
    }
}

static void table_bad(const char *what, const char *text, const char *phrase)
{
    TEST(what) {
        struct temper_debindex *idx = NULL;
        CHECK(temper_debindex_load_mem(st, "Packages", text, strlen(text), NULL, &idx) < 0);
        CHECK(idx == NULL);
        CHECK_STR_CONTAINS(last_error(), phrase);
    }
}

static void test_table_hostile(void)
{
    table_bad("stanza without Package", "Package: a\nVersion: 1\n\nVersion: 2\nSize: 3\n",
              "Packages:4: stanza without Package");
    table_bad("package without Version", "Package: a\nVersion: 1\n\nPackage: b\n",
              "Packages:4: package b without Version");
    table_bad("bad Size", "Package: a\nVersion: 1\nSize: 12x\n", "Packages:3: bad Size");
    table_bad("Size overflow", "Package: a\nVersion: 1\nSize: 99999999999999999999\n",
              "Packages:3: bad Size");
    table_bad("bad Provides", "Package: a\nVersion: 1\nProvides: b (>= 1)\n",
              "Packages:3: bad Provides");
    table_bad("bad Source", "Package: a\nVersion: 1\nSource: b (1\n",
              "Packages:3: bad Source version");
    table_bad("truncated stanza", "Package: a\nVersion: 1\n\nPackage: b\nVersion: 2\nSize: 1",
              "Packages:6: truncated input");
}

static void test_corrupt(void)
{
    TEST("corrupt compressed input") {
        static const char *const names[] = { "bookworm_main_amd64_Packages.slice.gz",
                                             "bookworm_main_amd64_Packages.slice.xz",
                                             "bookworm_main_amd64_Packages.slice.zst" };
        for (size_t i = 0; i < 3; i++) {
            size_t len = 0;
            unsigned char *raw = pt_slurp(data_path(names[i]), &len);
            CHECK(raw && len > 1000);
            if (!raw) {
                continue;
            }
            struct temper_debindex *idx = NULL;
            /* cut in half */
            CHECK(temper_debindex_load_mem(st, names[i], raw, len / 2, NULL, &idx) < 0);
            CHECK_STR_CONTAINS(last_error(), names[i]);
            for (size_t k = 200; k < len; k += 997) { /* damage throughout */
                raw[k] ^= 0x5a;
            }
            CHECK(temper_debindex_load_mem(st, names[i], raw, len, NULL, &idx) < 0);
            CHECK_STR_CONTAINS(last_error(), names[i]);
            CHECK(idx == NULL);
            free(raw);
        }
    }
}

/* `text` repeated `times`, gzip'd by libarchive; *len its size (free()). */
static unsigned char *gz_repeat(const char *text, size_t times, size_t *len)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    size_t cap = 1 << 20;
    unsigned char *out = malloc(cap);
    *len = 0;
    if (!a || !e || !out || archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_format_raw(a) != ARCHIVE_OK ||
        archive_write_open_memory(a, out, cap, len) != ARCHIVE_OK) {
        TEMPER_FREE(out);
    }
    archive_entry_set_filetype(e, AE_IFREG);
    if (out && archive_write_header(a, e) != ARCHIVE_OK) {
        TEMPER_FREE(out);
    }
    for (size_t i = 0; out && i < times; i++) {
        archive_write_data(a, text, strlen(text));
    }
    archive_write_close(a);
    archive_write_free(a);
    archive_entry_free(e);
    return out;
}

static void test_bomb(void)
{
    TEST("decompression bomb") {
        /* 8 MiB of stanzas compressed, read with a 1 MiB input cap */
        size_t used = 0;
        unsigned char *out = gz_repeat("Package: b\nVersion: 1\n\n", (8 << 20) / 23, &used);
        CHECK(out != NULL);
        struct temper_pkgindex_limits lim = { 0 };
        lim.max_input = 1 << 20;
        struct temper_debindex *idx = NULL;
        CHECK_INT_EQ(temper_debindex_load_mem(st, "bomb.gz", out, used, &lim, &idx),
                     TEMPER_ELIMIT);
        CHECK_STR_CONTAINS(last_error(), "bomb.gz: more than 1048576 bytes of input");
        free(out);
    }
    TEST("empty compressed index") {
        size_t used = 0;
        unsigned char *out = gz_repeat("", 0, &used);
        struct temper_debindex *idx = NULL;
        CHECK(out && used > 10);
        CHECK_INT_EQ(temper_debindex_load_mem(st, "empty.gz", out, used, NULL, &idx), TEMPER_OK);
        CHECK(idx && temper_debindex_count(idx) == 0);
        temper_debindex_free(idx);
        free(out);
    }
}

static void test_odd_files(void)
{
    TEST("missing and odd files") {
        struct temper_debindex *idx = NULL;
        CHECK_INT_EQ(temper_debindex_load(st, data_path("no-such-file"), NULL, &idx),
                     TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(last_error(), "no-such-file");
        CHECK_INT_EQ(temper_debindex_load(st, getenv("TEMPER_DATA") ? getenv("TEMPER_DATA")
                                                                     : "/tmp", NULL, &idx),
                     TEMPER_EIO);
        CHECK_STR_CONTAINS(last_error(), "not a regular file");
    }
}

/* ---- relations ------------------------------------------------------------------ */

static void test_deps(void)
{
    TEST("debian relations") {
        struct temper_deps *d = NULL;
        CHECK_INT_EQ(temper_deb_deps_parse(st, "a (>= 1.2) | b:any [amd64 !i386], c <!nocheck>"
                                           " <stage1 cross>,d(<<2~)|e:native ( = 1:1.0-1 ) ,\n"
                                           " f [linux-any] , ,", &d), TEMPER_OK);
        CHECK(d != NULL);
        if (d) {
            CHECK_INT_EQ(d->n, 6);
            CHECK_INT_EQ(d->n_groups, 4);
            CHECK_STR_EQ(d->v[0].name, "a");
            CHECK_INT_EQ(d->v[0].op, TEMPER_DEP_GE);
            CHECK_STR_EQ(d->v[0].version, "1.2");
            CHECK(d->v[0].arch == NULL && d->v[0].archs == NULL && d->v[0].group == 0);
            CHECK_STR_EQ(d->v[1].name, "b");
            CHECK_STR_EQ(d->v[1].arch, "any");
            CHECK_STR_EQ(d->v[1].archs, "amd64 !i386");
            CHECK(d->v[1].op == TEMPER_DEP_ANY && d->v[1].version == NULL);
            CHECK_INT_EQ(d->v[1].group, 0);
            CHECK(strcmp(d->v[2].name, "c") == 0 && d->v[2].group == 1);
            CHECK(strcmp(d->v[3].name, "d") == 0 && d->v[3].op == TEMPER_DEP_LT &&
                  strcmp(d->v[3].version, "2~") == 0 && d->v[3].group == 2);
            CHECK(strcmp(d->v[4].arch, "native") == 0 && d->v[4].op == TEMPER_DEP_EQ &&
                  strcmp(d->v[4].version, "1:1.0-1") == 0 && d->v[4].group == 2);
            CHECK(strcmp(d->v[5].name, "f") == 0 && d->v[5].group == 3);
            CHECK(temper_dep_arch_ok(&d->v[1], "amd64"));
            CHECK(!temper_dep_arch_ok(&d->v[1], "i386"));
            CHECK(!temper_dep_arch_ok(&d->v[1], "arm64"));
            CHECK(temper_dep_arch_ok(&d->v[0], "arm64"));
            CHECK(temper_dep_arch_ok(&d->v[5], "riscv64"));
            CHECK(temper_dep_version_ok(TEMPER_VSCHEME_DPKG, &d->v[0], "1.10"));
            CHECK(!temper_dep_version_ok(TEMPER_VSCHEME_DPKG, &d->v[0], "1.2~rc1"));
            CHECK(temper_dep_version_ok(TEMPER_VSCHEME_DPKG, &d->v[3], "2~~"));
            CHECK(!temper_dep_version_ok(TEMPER_VSCHEME_DPKG, &d->v[3], "2"));
            CHECK(temper_dep_version_ok(TEMPER_VSCHEME_DPKG, &d->v[4], "1:1.0-1"));
            CHECK(temper_dep_version_ok(TEMPER_VSCHEME_DPKG, &d->v[1], "anything"));
        }
        temper_deps_free(d);
        temper_deps_free(NULL);
    }
    TEST("debian relations: obsolete < and >") {
        struct temper_deps *d = NULL;
        CHECK_INT_EQ(temper_deb_deps_parse(st, "a (< 2), b (> 1)", &d), TEMPER_OK);
        CHECK(d && d->v[0].op == TEMPER_DEP_LE && d->v[1].op == TEMPER_DEP_GE);
        temper_deps_free(d);
        CHECK_INT_EQ(temper_deb_deps_parse(st, "", &d), TEMPER_OK);
        CHECK(d && d->n == 0 && d->n_groups == 0);
        temper_deps_free(d);
    }
}

static void test_deps_bad(void)
{
    static const char *const bad[][2] = {
        { "a (>= )", "missing version" }, { "a (~ 1)", "version operator" },
        { "a |", "expected a package name" }, { "(", "expected a package name" },
        { "a [amd64", "unterminated '['" }, { "a <!nocheck", "unterminated '<'" },
        { "a b", "expected ',' or '|'" }, { "a:", "empty architecture" },
        { "a (>= 1", "bad character in version" }, { "a []", "empty restriction" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        TEST(bad[i][0]) {
            struct temper_deps *d = NULL;
            CHECK_INT_EQ(temper_deb_deps_parse(st, bad[i][0], &d), TEMPER_EFORMAT);
            CHECK(d == NULL);
            CHECK_STR_CONTAINS(last_error(), bad[i][1]);
        }
    }
}

static void test_apk_deps(void)
{
    TEST("apk relations") {
        struct temper_deps *d = NULL;
        CHECK_INT_EQ(temper_apk_deps_parse(st, " so:libc.musl-x86_64.so.1 !foo bar>=1.2\tbaz~1.3"
                                           " q><Q1abc= cmd:sh=1.0-r0 /bin/sh z<2 y>1 w~=4 ",
                                           &d), TEMPER_OK);
        CHECK(d && d->n == 10 && d->n_groups == 10);
        if (d && d->n == 10) {
            CHECK(strcmp(d->v[0].name, "so:libc.musl-x86_64.so.1") == 0 &&
                  d->v[0].op == TEMPER_DEP_ANY);
            CHECK(strcmp(d->v[1].name, "foo") == 0 && d->v[1].conflict);
            CHECK(d->v[2].op == TEMPER_DEP_GE && strcmp(d->v[2].version, "1.2") == 0);
            CHECK(d->v[3].op == TEMPER_DEP_FUZZY && strcmp(d->v[3].version, "1.3") == 0);
            CHECK(d->v[4].op == TEMPER_DEP_CHECKSUM && strcmp(d->v[4].version, "Q1abc=") == 0);
            CHECK(strcmp(d->v[5].name, "cmd:sh") == 0 && d->v[5].op == TEMPER_DEP_EQ);
            CHECK(strcmp(d->v[6].name, "/bin/sh") == 0);
            CHECK(d->v[7].op == TEMPER_DEP_LT && d->v[8].op == TEMPER_DEP_GT &&
                  d->v[9].op == TEMPER_DEP_FUZZY);
            CHECK(temper_dep_version_ok(TEMPER_VSCHEME_APK, &d->v[2], "1.10-r0"));
            CHECK(!temper_dep_version_ok(TEMPER_VSCHEME_APK, &d->v[2], "1.1"));
            CHECK(temper_dep_version_ok(TEMPER_VSCHEME_APK, &d->v[3], "1.3.5-r2"));
            CHECK(temper_dep_version_ok(TEMPER_VSCHEME_APK, &d->v[3], "1.3"));
            CHECK(!temper_dep_version_ok(TEMPER_VSCHEME_APK, &d->v[3], "1.30"));
            CHECK(!temper_dep_version_ok(TEMPER_VSCHEME_APK, &d->v[4], "Q1abc="));
        }
        temper_deps_free(d);
        CHECK_INT_EQ(temper_apk_deps_parse(st, "foo>=", &d), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(last_error(), "missing version");
        CHECK_INT_EQ(temper_apk_deps_parse(st, "foo=>1", &d), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(last_error(), "bad character in version");
        CHECK_INT_EQ(temper_apk_deps_parse(st, "!", &d), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(last_error(), "expected a package name");
        CHECK_INT_EQ(temper_apk_deps_parse(st, "f\x01o", &d), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(last_error(), "bad relation \"f?o\"");
    }
}

/* ---- the two-thread load of big plain files ------------------------------------------ */

/* Do two tables hold the same packages, lines, name chains and providers? */
static size_t table_diffs(const struct temper_debindex *a, const struct temper_debindex *b)
{
    size_t diffs = temper_debindex_count(a) != temper_debindex_count(b);
    for (size_t i = 0; !diffs && i < temper_debindex_count(a); i++) {
        const struct temper_debpkg *x = temper_debindex_at(a, i), *y = temper_debindex_at(b, i);
        diffs += strcmp(x->name, y->name) != 0 || strcmp(x->version, y->version) != 0 ||
                 x->line != y->line || x->size != y->size ||
                 (x->provides && strcmp(x->provides, y->provides) != 0);
        size_t nx = 0, ny = 0;
        for (const struct temper_debpkg *c = temper_debindex_find(a, x->name); c;
             c = c->next_same_name) {
            nx = nx * 31 + c->line;
        }
        for (const struct temper_debpkg *c = temper_debindex_find(b, y->name); c;
             c = c->next_same_name) {
            ny = ny * 31 + c->line;
        }
        diffs += nx != ny;
    }
    size_t px = 0, py = 0;
    for (const struct temper_debprov *c = temper_debindex_providers(a, "awk"); c; c = c->next) {
        px = px * 31 + c->pkg->line;
    }
    for (const struct temper_debprov *c = temper_debindex_providers(b, "awk"); c; c = c->next) {
        py = py * 31 + c->pkg->line;
    }
    return diffs + (px != py);
}

static void test_split_load(void)
{
    size_t len = 0;
    unsigned char *slice = pt_slurp(data_path("bookworm_main_amd64_Packages.slice"), &len);
    char path[] = "/tmp/temper-deb822-" "XX" "XX" "XX"; /* mkstemp template */
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    size_t copies = len ? (10u << 20) / len + 1 : 0; /* > 8 MiB: loaded on two threads */
    for (size_t i = 0; f && slice && i < copies; i++) {
        fwrite(slice, 1, len, f);
        fputc('\n', f);
    }
    if (f) {
        fclose(f);
    }
    TEST("two-thread load = serial load") {
        size_t blen = 0;
        unsigned char *all = pt_slurp(path, &blen);
        struct temper_debindex *split = NULL, *serial = NULL;
        CHECK(all && blen > (8u << 20));
        FILE *log = tmpfile();
        temper_log_set_stream(log);
        temper_log_set_level(TEMPER_LOG_LVL_DEBUG);
        CHECK_INT_EQ(temper_debindex_load(st, path, NULL, &split), TEMPER_OK);
        temper_log_set_level(TEMPER_LOG_LVL_INFO);
        temper_log_set_stream(stderr);
        char said[1024] = "";
        if (log) {
            rewind(log);
            size_t k = fread(said, 1, sizeof said - 1, log);
            said[k] = '\0';
            fclose(log);
        }
        if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
            CHECK_STR_CONTAINS(said, "read on two threads");
        }
        CHECK_INT_EQ(temper_debindex_load_mem(st, "all", all, blen, NULL, &serial), TEMPER_OK);
        CHECK_INT_EQ(temper_debindex_count(split), copies * 270);
        CHECK_INT_EQ(table_diffs(split, serial), 0);
        CHECK(temper_debindex_providers(split, "awk") != NULL);
        temper_debindex_free(split);
        temper_debindex_free(serial);
        /* an error in the second half: the serial message, the file's line */
        FILE *g = fopen(path, "a");
        CHECK(g != NULL);
        if (g) {
            fputs("Package: broken\nVersion: 1\nSize: many\n", g);
            fclose(g);
        }
        unsigned long lines = 2;
        for (size_t i = 0; all && i < blen; i++) {
            lines += all[i] == '\n';
        }
        char want[64];
        snprintf(want, sizeof want, ":%lu: bad Size", lines + 1);
        CHECK_INT_EQ(temper_debindex_load(st, path, NULL, &split), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(last_error(), want);
        free(all);
    }
    unlink(path);
    free(slice);
}

/* The index decompressed to a plain file loads the same (on two threads
 * when it is big). */
static void check_plain_copy(const char *lz4, const struct temper_debindex *serial)
{
    char *data = NULL;
    size_t len = 0;
    char path[] = "/tmp/temper-deb822-" "XX" "XX" "XX"; /* mkstemp template */
    int fd = mkstemp(path);
    CHECK_INT_EQ(temper_pkgindex_read(st, lz4, 0, &data, &len), TEMPER_OK);
    CHECK(fd >= 0 && data && write(fd, data, len) == (ssize_t)len);
    if (fd >= 0) {
        close(fd);
    }
    struct temper_debindex *plain = NULL;
    CHECK_INT_EQ(temper_debindex_load(st, path, NULL, &plain), TEMPER_OK);
    CHECK_INT_EQ(table_diffs(plain, serial), 0);
    temper_debindex_free(plain);
    unlink(path);
    free(data);
}

/* ---- the machine's real lists ----------------------------------------------------- */

static void test_real_lists(void)
{
    const char *dir = "/var/lib/apt/lists";
    DIR *d = opendir(dir);
    int seen = 0;
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        size_t n = strlen(e->d_name);
        if (n < 13 || strcmp(e->d_name + n - 13, "_Packages.lz4") != 0) {
            continue;
        }
        char path[4096], test[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(test, sizeof test, "real index %s", e->d_name);
        seen++;
        TEST(test) {
            size_t walked = 0;
            struct temper_deb822 *p = NULL;
            int rc = temper_deb822_open_file(st, path, NULL, 0, &p);
            const struct temper_deb822_stanza *s = NULL;
            while (rc == TEMPER_OK) {
                rc = temper_deb822_next(p, &s);
                if (!s) {
                    break;
                }
                walked++;
            }
            temper_deb822_free(p);
            CHECK_INT_EQ(rc, TEMPER_OK);
            struct temper_debindex *idx = NULL;
            CHECK_INT_EQ(temper_debindex_load(st, path, NULL, &idx), TEMPER_OK);
            CHECK(walked > 0);
            CHECK_INT_EQ(temper_debindex_count(idx), walked);
            size_t bad = 0;
            for (size_t i = 0; i < temper_debindex_count(idx); i++) {
                const struct temper_debpkg *pk = temper_debindex_at(idx, i);
                const struct temper_debpkg *first = temper_debindex_find(idx, pk->name);
                while (first && first != pk) {
                    first = first->next_same_name;
                }
                bad += !first || !pk->sha256 || strlen(pk->sha256) != 64 || !pk->filename;
                if (pk->depends) {
                    struct temper_deps *dp = NULL;
                    bad += temper_deb_deps_parse(st, pk->depends, &dp) != TEMPER_OK;
                    temper_deps_free(dp);
                }
            }
            CHECK_INT_EQ(bad, 0);
            check_plain_copy(path, idx);
            temper_debindex_free(idx);
        }
    }
    if (d) {
        closedir(d);
    }
    if (!seen) {
        TEST("real indexes") {
            skip("no /var/lib/apt/lists/*_Packages.lz4 on this machine");
        }
    }
}

int main(void)
{
    st = temper_stage_new(NULL, "test");
    if (!st) {
        return 1;
    }
    test_basics();
    test_comments();
    test_hostile();
    test_table();
    test_table_hostile();
    test_corrupt();
    test_bomb();
    test_odd_files();
    test_deps();
    test_deps_bad();
    test_apk_deps();
    test_split_load();
    test_real_lists();
    temper_stage_free(st);
    return tap_done();
}

/* temper — option tables applied to INI sections (core/options.c): every
 * type and unit, ranges, enums, lists, paths, defaults, duplicates and
 * overrides, required keys, secrets, deprecation, freeing. */
#include "config.h"
#include "core/options.h"
#include <temper/log.h>
#include "sdk/host.h"
#include "tests/lib/tap.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct conf {
    char *name;
    char *path;
    bool flag;
    long long count;
    unsigned long long size;
    long long timeout;
    int level;
    struct temper_strlist tags;
    char *token;
    struct temper_strlist extra;
    struct temper_strlist dirs;
    char *old;
    long long any;
};

static const char *const levels[] = { "low", "medium", "high", NULL };

#define O(type, key, def, flags, field, min, max, choices) \
    { type, key, def, flags, offsetof(struct conf, field), min, max, choices, key " doc" }

static const struct temper_option table[] = {
    O(TEMPER_OPT_STR, "name", NULL, TEMPER_OPT_REQUIRED, name, 0, 0, NULL),
    O(TEMPER_OPT_PATH, "path", "default/file", 0, path, 0, 0, NULL),
    O(TEMPER_OPT_BOOL, "flag", "on", 0, flag, 0, 0, NULL),
    O(TEMPER_OPT_INT, "count", "3", 0, count, -5, 10, NULL),
    O(TEMPER_OPT_SIZE, "size", "1M", 0, size, 1024, 1LL << 40, NULL),
    O(TEMPER_OPT_DURATION, "timeout", "30s", 0, timeout, 1, 86400000, NULL),
    O(TEMPER_OPT_ENUM, "level", "medium", 0, level, 0, 0, levels),
    O(TEMPER_OPT_LIST, "tags", "x, y", 0, tags, 0, 0, NULL),
    O(TEMPER_OPT_STR, "token", NULL, TEMPER_OPT_SECRET, token, 0, 0, NULL),
    O(TEMPER_OPT_STR, "extra", "e0", TEMPER_OPT_MULTI, extra, 0, 0, NULL),
    O(TEMPER_OPT_PATH, "dirs", NULL, TEMPER_OPT_MULTI, dirs, 0, 0, NULL),
    O(TEMPER_OPT_STR, "old", NULL, TEMPER_OPT_DEPRECATED, old, 0, 0, NULL),
    O(TEMPER_OPT_INT, "any", NULL, TEMPER_OPT_SECRET, any, 0, 0, NULL),
    TEMPER_OPTION_END,
};

static const struct temper_option *opt(const char *key)
{
    return temper_option_find(table, key);
}

/* Set one value; returns the rc, *why_out gets the reason (or ""). */
static int set1(struct conf *c, const char *key, const char *text, const char **why_out)
{
    static char last[1024];
    char *why = NULL;
    int rc = temper_option_set(opt(key), c, text, "/base", &why);
    snprintf(last, sizeof last, "%s", why ? why : "");
    free(why);
    *why_out = last;
    return rc;
}

static void test_bool_int(struct conf *cp)
{
    struct conf c = *cp;
    const char *why;
    static const char *const truthy[] = { "true", "YES", "On", "1" };
    static const char *const falsy[] = { "false", "no", "OFF", "0" };
    TEST("bool") {
        for (size_t i = 0; i < 4; i++) {
            c.flag = false;
            CHECK(set1(&c, "flag", truthy[i], &why) == TEMPER_OK && c.flag);
            CHECK(set1(&c, "flag", falsy[i], &why) == TEMPER_OK && !c.flag);
        }
        CHECK_INT_EQ(set1(&c, "flag", "maybe", &why), TEMPER_EINVAL);
        CHECK_STR_EQ(why, "'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)");
        CHECK_INT_EQ(set1(&c, "flag", "", &why), TEMPER_EINVAL);
    }
    TEST("int and its range") {
        CHECK(set1(&c, "count", "-5", &why) == TEMPER_OK && c.count == -5);
        CHECK(set1(&c, "count", "+10", &why) == TEMPER_OK && c.count == 10);
        CHECK_INT_EQ(set1(&c, "count", "11", &why), TEMPER_EINVAL);
        CHECK_STR_EQ(why, "'11' is out of range -5..10");
        CHECK_INT_EQ(c.count, 10);
        CHECK_INT_EQ(set1(&c, "count", "1e3", &why), TEMPER_EINVAL);
        CHECK_STR_EQ(why, "'1e3' is not an integer");
        CHECK_INT_EQ(set1(&c, "count", "99999999999999999999", &why), TEMPER_EINVAL);
        CHECK_INT_EQ(set1(&c, "count", "", &why), TEMPER_EINVAL);
    }
    *cp = c;
}

static void test_size(struct conf *cp)
{
    struct conf c = *cp;
    const char *why;
    TEST("size units are powers of 1024") {
        CHECK(set1(&c, "size", "1024", &why) == TEMPER_OK && c.size == 1024);
        CHECK(set1(&c, "size", "64K", &why) == TEMPER_OK && c.size == 65536);
        CHECK(set1(&c, "size", "3m", &why) == TEMPER_OK && c.size == 3ULL << 20);
        CHECK(set1(&c, "size", "2G", &why) == TEMPER_OK && c.size == 2ULL << 30);
        CHECK(set1(&c, "size", "1T", &why) == TEMPER_OK && c.size == 1ULL << 40);
        CHECK_INT_EQ(set1(&c, "size", "2T", &why), TEMPER_EINVAL);
        CHECK_STR_EQ(why, "'2T' is out of range 1K..1T");
        CHECK_INT_EQ(set1(&c, "size", "1023", &why), TEMPER_EINVAL);
        CHECK_INT_EQ(set1(&c, "size", "1.5G", &why), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(why, "is not a size");
        CHECK_INT_EQ(set1(&c, "size", "10KB", &why), TEMPER_EINVAL);
        CHECK_INT_EQ(set1(&c, "size", "-1K", &why), TEMPER_EINVAL);
        CHECK_INT_EQ(set1(&c, "size", "K", &why), TEMPER_EINVAL);
    }
    unsigned long long u = 0;
    TEST("size overflow") {
        CHECK_INT_EQ(temper_parse_size("18446744073709551615", &u), TEMPER_OK);
        CHECK(u == ULLONG_MAX);
        CHECK(temper_parse_size("18446744073709551616", &u) != TEMPER_OK);
        CHECK(temper_parse_size("17179869184G", &u) != TEMPER_OK);
        CHECK(temper_parse_size("16777215T", &u) == TEMPER_OK);
    }
    *cp = c;
}

static void test_duration(struct conf *cp)
{
    struct conf c = *cp;
    const char *why;
    long long ms = 0;
    TEST("duration units, bare = seconds, stored in ms") {
        CHECK(temper_parse_duration_ms("5", &ms) == TEMPER_OK && ms == 5000);
        CHECK(temper_parse_duration_ms("250ms", &ms) == TEMPER_OK && ms == 250);
        CHECK(temper_parse_duration_ms("90s", &ms) == TEMPER_OK && ms == 90000);
        CHECK(temper_parse_duration_ms("5m", &ms) == TEMPER_OK && ms == 300000);
        CHECK(temper_parse_duration_ms("2h", &ms) == TEMPER_OK && ms == 7200000);
        CHECK(temper_parse_duration_ms("1d", &ms) == TEMPER_OK && ms == 86400000);
        CHECK(temper_parse_duration_ms("1.5h", &ms) != TEMPER_OK);
        CHECK(temper_parse_duration_ms("1h30m", &ms) != TEMPER_OK);
        CHECK(temper_parse_duration_ms("-1s", &ms) != TEMPER_OK);
        CHECK(temper_parse_duration_ms("5 s", &ms) != TEMPER_OK);
        CHECK(temper_parse_duration_ms("9223372036854775807d", &ms) != TEMPER_OK);
        CHECK(temper_parse_duration_ms("106751991167d", &ms) == TEMPER_OK);
        CHECK(temper_parse_duration_ms("106751991168d", &ms) != TEMPER_OK);
        CHECK(set1(&c, "timeout", "1d", &why) == TEMPER_OK && c.timeout == 86400000);
        CHECK_INT_EQ(set1(&c, "timeout", "2d", &why), TEMPER_EINVAL);
        CHECK_STR_EQ(why, "'2d' is out of range 1ms..1d");
        CHECK_INT_EQ(set1(&c, "timeout", "0", &why), TEMPER_EINVAL);
        CHECK_INT_EQ(set1(&c, "timeout", "soon", &why), TEMPER_EINVAL);
        CHECK_STR_CONTAINS(why, "is not a duration (a number with an optional ms, s, m, h");
    }
    *cp = c;
}

static void test_enum_list_path(struct conf *cp)
{
    struct conf c = *cp;
    const char *why;
    TEST("enum is stored as an index") {
        CHECK(set1(&c, "level", "low", &why) == TEMPER_OK && c.level == 0);
        CHECK(set1(&c, "level", "HIGH", &why) == TEMPER_OK && c.level == 2);
        CHECK_INT_EQ(set1(&c, "level", "extreme", &why), TEMPER_EINVAL);
        CHECK_STR_EQ(why, "'extreme' is not one of: low, medium, high");
        CHECK_INT_EQ(c.level, 2);
    }
    TEST("list splits on commas and blanks") {
        CHECK_INT_EQ(set1(&c, "tags", " a,b  c,,\td , ", &why), TEMPER_OK);
        CHECK_INT_EQ(c.tags.n, 4);
        CHECK_STR_EQ(c.tags.v[0], "a");
        CHECK_STR_EQ(c.tags.v[3], "d");
        CHECK(c.tags.v[4] == NULL);
    }
    TEST("paths resolve against the file's directory") {
        CHECK(set1(&c, "path", "rel/x", &why) == TEMPER_OK);
        CHECK_STR_EQ(c.path, "/base/rel/x");
        CHECK(set1(&c, "path", "/abs/y", &why) == TEMPER_OK);
        CHECK_STR_EQ(c.path, "/abs/y");
        CHECK(set1(&c, "path", ".", &why) == TEMPER_OK);
        CHECK_STR_EQ(c.path, "/base");
        CHECK_INT_EQ(set1(&c, "path", "", &why), TEMPER_EINVAL);
        CHECK_STR_EQ(why, "a path may not be empty");
        CHECK(set1(&c, "dirs", "a", &why) == TEMPER_OK && set1(&c, "dirs", "/b", &why) == 0);
        CHECK(c.dirs.n == 2 && strcmp(c.dirs.v[0], "/base/a") == 0);
    }
    *cp = c;
}

static void test_messages_and_free(struct conf *cp)
{
    struct conf c = *cp;
    const char *why;
    TEST("a secret's value is never echoed") {
        CHECK_INT_EQ(set1(&c, "any", "hunter2-not-a-number", &why), TEMPER_EINVAL);
        CHECK(strstr(why, "hunter2") == NULL);
        CHECK_STR_EQ(why, "the value (secret, not shown) is not an integer");
    }
    TEST("long values are cut in messages") {
        char longv[200];
        memset(longv, 'z', sizeof longv - 1);
        longv[sizeof longv - 1] = '\0';
        CHECK_INT_EQ(set1(&c, "level", longv, &why), TEMPER_EINVAL);
        CHECK(strlen(why) < 120);
        CHECK_STR_CONTAINS(why, "...'");
    }
    temper_options_free(table, &c);
    struct conf zero;
    memset(&zero, 0, sizeof zero);
    zero.flag = c.flag;
    zero.count = c.count;
    zero.size = c.size;
    zero.timeout = c.timeout;
    zero.level = c.level;
    zero.any = c.any;
    TEST("free releases and zeroes every string and list") {
        CHECK(memcmp(&c, &zero, sizeof c) == 0);
    }
    temper_options_free(table, NULL);
}

static void test_types(void)
{
    struct conf c;
    memset(&c, 0, sizeof c);
    test_bool_int(&c);
    test_size(&c);
    test_duration(&c);
    test_enum_list_path(&c);
    test_messages_and_free(&c);
}

/* ---- whole sections ---------------------------------------------------- */

static struct temper_ini_section *section(void)
{
    return temper_ini_section_new("guard", "g", "a.ini", "/dir", 7);
}

static void add(struct temper_ini_section *s, const char *file, unsigned src, unsigned line,
                const char *key, const char *value)
{
    if (temper_ini_section_add(s, key, value, file, "/dir", line, src) != TEMPER_OK) {
        abort();
    }
}

static const char *problem(const struct temper_diags *d, size_t i)
{
    static char buf[4096];
    if (i >= d->n) {
        return "(none)";
    }
    snprintf(buf, sizeof buf, "%s:%u: %s%s", d->v[i].file, d->v[i].line,
             d->v[i].level == TEMPER_DIAG_WARNING ? "warning: " : "", d->v[i].msg);
    return buf;
}

static void test_defaults(void)
{
    struct conf c;
    struct temper_diags d;
    memset(&c, 0, sizeof c);
    temper_diags_init(&d);
    struct temper_ini_section *s = section();
    add(s, "a.ini", 1, 8, "name", "n");
    struct temper_optset set = { table, &c };
    int rc = temper_options_apply(&set, 1, s, 0, &d);
    TEST("defaults are parsed like input") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(d.n, 0);
        CHECK_STR_EQ(c.name, "n");
        CHECK_STR_EQ(c.path, "/dir/default/file");
        CHECK(c.flag);
        CHECK_INT_EQ(c.count, 3);
        CHECK(c.size == 1ULL << 20);
        CHECK_INT_EQ(c.timeout, 30000);
        CHECK_INT_EQ(c.level, 1);
        CHECK(c.tags.n == 2 && strcmp(c.tags.v[1], "y") == 0);
        CHECK(c.extra.n == 1 && strcmp(c.extra.v[0], "e0") == 0);
        CHECK(c.token == NULL && c.dirs.n == 0 && c.dirs.v == NULL);
    }
    temper_options_free(table, &c);
    temper_ini_section_free(s);
    temper_diags_cleanup(&d);
}

static void test_problems(void)
{
    struct conf c;
    struct temper_diags d;
    memset(&c, 0, sizeof c);
    temper_diags_init(&d);
    struct temper_ini_section *s = section();
    add(s, "a.ini", 1, 8, "colour", "blue");
    add(s, "a.ini", 1, 9, "count", "many");
    add(s, "a.ini", 1, 10, "size", "2T");
    add(s, "a.ini", 1, 11, "level", "extreme");
    add(s, "a.ini", 1, 12, "flag", "yes");
    add(s, "a.ini", 1, 13, "flag", "no");
    add(s, "a.ini", 1, 14, "token", "tok-secret-1234");
    add(s, "a.ini", 1, 15, "any", "sekrit-value-999");
    add(s, "a.ini", 1, 16, "old", "x");
    add(s, "a.ini", 1, 17, "include", "x.ini");
    struct temper_optset set = { table, &c };
    int rc = temper_options_apply(&set, 1, s, 0, &d);
    temper_diags_sort(&d);
    TEST("every problem in one pass") {
        CHECK_INT_EQ(rc, TEMPER_EINVAL);
        CHECK_INT_EQ(d.n_errors, 8);
        CHECK_INT_EQ(d.n_warnings, 1);
        CHECK_STR_EQ(problem(&d, 0), "a.ini:7: [guard \"g\"] name: required key is missing");
        CHECK_STR_CONTAINS(problem(&d, 1), "a.ini:8: [guard \"g\"] colour: unknown key "
                                           "(valid keys: name, path, flag, count, size,");
        CHECK_STR_EQ(problem(&d, 2), "a.ini:9: [guard \"g\"] count: 'many' is not an integer");
        CHECK_STR_EQ(problem(&d, 3), "a.ini:10: [guard \"g\"] size: '2T' is out of range 1K..1T");
        CHECK_STR_EQ(problem(&d, 4),
                     "a.ini:11: [guard \"g\"] level: 'extreme' is not one of: low, medium, high");
        CHECK_STR_EQ(problem(&d, 5),
                     "a.ini:13: [guard \"g\"] flag: duplicate key (first set at line 12)");
        CHECK_STR_EQ(problem(&d, 6), "a.ini:15: [guard \"g\"] any: the value (secret, not "
                                     "shown) is not an integer");
        CHECK_STR_EQ(problem(&d, 7), "a.ini:16: warning: [guard \"g\"] old: deprecated: old doc");
        CHECK_STR_CONTAINS(problem(&d, 8), "a.ini:17: [guard \"g\"] include: unknown key");
        CHECK_STR_CONTAINS(problem(&d, 8), "; an include must come before the first section");
    }
    int leaked = 0;
    for (size_t i = 0; i < d.n; i++) {
        leaked |= strstr(d.v[i].msg, "sekrit") != NULL || strstr(d.v[i].msg, "tok-secret") != NULL;
    }
    char line[128] = "token tok-secret-1234 in a log line";
    temper_log_redact(line);
    TEST("secrets: not in messages, redacted from logs") {
        CHECK(!leaked);
        CHECK_STR_EQ(line, "token *** in a log line");
        CHECK_STR_EQ(c.token, "tok-secret-1234");
    }
    temper_log_clear_secrets();
    temper_options_free(table, &c);
    temper_ini_section_free(s);
    temper_diags_cleanup(&d);
}

static void test_overrides(void)
{
    struct conf c;
    struct temper_diags d;
    memset(&c, 0, sizeof c);
    temper_diags_init(&d);
    struct temper_ini_section *s = section();
    /* shared.ini (src 2, read first) then team.ini (src 1, includes it) */
    add(s, "shared.ini", 2, 3, "name", "shared");
    add(s, "shared.ini", 2, 4, "count", "99");
    add(s, "shared.ini", 2, 5, "extra", "s1");
    add(s, "shared.ini", 2, 6, "extra", "s2");
    add(s, "shared.ini", 2, 7, "tags", "p q");
    add(s, "shared.ini", 2, 8, "dirs", "shared-dir");
    add(s, "team.ini", 1, 5, "name", "team");
    add(s, "team.ini", 1, 6, "count", "4");
    add(s, "team.ini", 1, 7, "extra", "t1");
    add(s, "team.ini", 1, 8, "tags", "r");
    add(s, "team.ini", 1, 9, "tags", "s");
    struct temper_optset set = { table, &c };
    int rc = temper_options_apply(&set, 1, s, 0, &d);
    TEST("a later file overrides; within one file a key is a duplicate") {
        CHECK_INT_EQ(rc, TEMPER_EINVAL);
        CHECK_INT_EQ(d.n, 1);
        CHECK_STR_EQ(problem(&d, 0),
                     "team.ini:9: [guard \"g\"] tags: duplicate key (first set at line 8)");
        CHECK_STR_EQ(c.name, "team");
        CHECK_INT_EQ(c.count, 4);
    }
    TEST("repeatable keys accumulate within a file and are replaced across files") {
        CHECK(c.extra.n == 1 && strcmp(c.extra.v[0], "t1") == 0);
        CHECK(c.dirs.n == 1 && strcmp(c.dirs.v[0], "/dir/shared-dir") == 0);
    }
    temper_options_free(table, &c);
    temper_ini_section_free(s);
    temper_diags_cleanup(&d);
}

struct stage_keys {
    char *plugin;
    bool enabled;
};

static const struct temper_option reserved[] = {
    { TEMPER_OPT_STR, "plugin", NULL, TEMPER_OPT_REQUIRED, offsetof(struct stage_keys, plugin),
      0, 0, NULL, "plugin" },
    { TEMPER_OPT_BOOL, "enabled", "true", 0, offsetof(struct stage_keys, enabled), 0, 0, NULL,
      "enabled" },
    TEMPER_OPTION_END,
};

static const struct temper_option bad_default[] = {
    { TEMPER_OPT_INT, "n", "ten", 0, 0, 0, 0, NULL, "a broken default" },
    TEMPER_OPTION_END,
};

static void test_sets(void)
{
    struct conf c;
    struct stage_keys k;
    struct temper_diags d;
    memset(&c, 0, sizeof c);
    memset(&k, 0, sizeof k);
    temper_diags_init(&d);
    struct temper_ini_section *s = section();
    add(s, "a.ini", 1, 8, "plugin", "p");
    add(s, "a.ini", 1, 9, "enabled", "no");
    add(s, "a.ini", 1, 10, "name", "n");
    add(s, "a.ini", 1, 11, "mystery", "1");
    struct temper_optset sets[2] = { { reserved, &k }, { table, &c } };
    int rc = temper_options_apply(sets, 2, s, 0, &d);
    TEST("two tables fill two blocks; unknown lists both tables' keys") {
        CHECK_INT_EQ(rc, TEMPER_EINVAL);
        CHECK_INT_EQ(d.n, 1);
        CHECK_STR_CONTAINS(problem(&d, 0), "mystery: unknown key (valid keys: plugin, enabled, "
                                           "name, path,");
        CHECK_STR_EQ(k.plugin, "p");
        CHECK(!k.enabled);
        CHECK_STR_EQ(c.name, "n");
    }
    temper_options_free(table, &c);
    temper_options_free(reserved, &k);
    temper_diags_cleanup(&d);

    temper_diags_init(&d);
    rc = temper_options_apply(sets, 1, s, TEMPER_OPTIONS_KEEP_UNKNOWN, &d);
    TEST("KEEP_UNKNOWN checks only the tables given") {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_INT_EQ(d.n, 0);
        CHECK_STR_EQ(k.plugin, "p");
    }
    temper_options_free(reserved, &k);
    temper_diags_cleanup(&d);

    long long n = 0;
    temper_diags_init(&d);
    struct temper_optset bad = { bad_default, &n };
    rc = temper_options_apply(&bad, 1, s, TEMPER_OPTIONS_KEEP_UNKNOWN, &d);
    TEST("an invalid default is reported at the section") {
        CHECK_INT_EQ(rc, TEMPER_EINVAL);
        CHECK_STR_EQ(problem(&d, 0), "a.ini:7: [guard \"g\"] n: the plugin's default is "
                                     "invalid: 'ten' is not an integer");
    }
    temper_diags_cleanup(&d);
    temper_ini_section_free(s);
}

int main(void)
{
    test_types();
    test_defaults();
    test_problems();
    test_overrides();
    test_sets();
    return tap_done();
}

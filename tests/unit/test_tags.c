/* Unit tests: publish tag templates (core/tags.c). */
#include "config.h"
#include "core/tags.h"
#include "tests/lib/tap.h"

#include <stdlib.h>
#include <string.h>
#include <temper/rc.h>

/* Expand and join with ' ' (the result, or "ERR: <message>"). */
static char *run(const char *const *t, size_t n, const char *version, const char *variant)
{
    char **tags = NULL, *err = NULL;
    size_t nt = 0;
    static char out[2048];
    out[0] = '\0';
    if (temper_tags_expand(NULL, t, n, "img", version, variant, &tags, &nt, &err) != TEMPER_OK) {
        snprintf(out, sizeof out, "ERR: %s", err ? err : "?");
        free(err);
        return out;
    }
    size_t len = 0;
    for (size_t i = 0; i < nt; i++) {
        int k = snprintf(out + len, sizeof out - len, "%s%s", i ? " " : "", tags[i]);
        len += k > 0 ? (size_t)k : 0;
    }
    temper_tags_free(tags, nt);
    return out;
}

int main(void)
{
    TEST("default templates")
    {
        CHECK_STR_EQ(run(NULL, 0, "3.11.4", "runtime"), "3.11.4 3.11 3 latest");
        CHECK_STR_EQ(run(NULL, 0, "v1.25.3", NULL), "1.25.3 1.25 1 latest");
        CHECK_STR_EQ(run(NULL, 0, "3.11.4", "dev"), "3.11.4-dev 3.11-dev 3-dev latest-dev");
    }
    TEST("placeholders without a value leave the template out")
    {
        CHECK_STR_EQ(run(NULL, 0, NULL, "runtime"), "latest");
        CHECK_STR_EQ(run(NULL, 0, "", NULL), "latest");
        CHECK_STR_EQ(run(NULL, 0, "7", NULL), "7 latest");
        CHECK_STR_EQ(run(NULL, 0, "bookworm", NULL), "bookworm latest");
    }
    TEST("explicit templates, {patch}, {variant}, literal tags, duplicates")
    {
        const char *t[] = { "{major}.{minor}.{patch}", "stable", "{version}-{variant}", "stable" };
        CHECK_STR_EQ(run(t, 4, "1.2.3", "dev"), "1.2.3-dev stable-dev");
        CHECK_STR_EQ(run(t, 4, "1.2.3", "runtime"), "1.2.3 stable");
        const char *u[] = { "{major}.{minor}", "{major}.{minor}" };
        CHECK_STR_EQ(run(u, 2, "2.0", NULL), "2.0");
    }
    TEST("versions are made valid tags")
    {
        CHECK_STR_EQ(run(NULL, 0, "1.2.3+dfsg-1~deb12u1", NULL),
                     "1.2.3_dfsg-1_deb12u1 1.2 1 latest");
        const char *t[] = { "{version}" };
        CHECK_STR_EQ(run(t, 1, "-x", NULL), "_x");
        CHECK_STR_EQ(run(t, 1, "1.0/../../etc", NULL), "1.0_.._.._etc");
    }
    TEST("bad templates are errors with a message")
    {
        const char *a[] = { "{verison}" };
        CHECK_STR_CONTAINS(run(a, 1, "1", NULL),
                           "ERR: tag template '{verison}': unknown placeholder");
        const char *b[] = { "{version" };
        CHECK_STR_CONTAINS(run(b, 1, "1", NULL), "unclosed");
        char longt[300];
        memset(longt, 'a', sizeof longt - 1);
        longt[sizeof longt - 1] = '\0';
        const char *c[] = { longt };
        CHECK_STR_CONTAINS(run(c, 1, "1", NULL), "ERR:");
    }
    return tap_done();
}

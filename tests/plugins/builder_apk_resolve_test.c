/* temper — builder_apk's resolver (plugins/builder_apk/apk_resolve.c,
 * compiled in) on synthetic indexes: chains, so:/cmd: providers, version
 * constraints, the deterministic choice among providers, conflicts, cycles,
 * unsatisfiable chains named in the error, architectures, several
 * repositories; and on the real Alpine v3.17 aarch64 index. */
#include "config.h"
#include "plugins/builder_apk/apk_int.h"
#include "sdk/host.h"
#include "tests/lib/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPOS 4

static struct temper_stage *st;

struct fixture {
    struct apk_repo repos[MAX_REPOS];
    size_t n;
    struct apk_plan plan;
    char err[2048];
};

/* Each record is "NAME VERSION" then "|X=value" fields (X an APKINDEX
 * field letter: D, p, k, A; A defaults to x86_64). */
static char *index_text(const char *const *pkgs)
{
    struct temper_buf b;
    temper_buf_init(&b, 1u << 20);
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && pkgs[i]; i++) {
        char name[128], ver[64];
        if (sscanf(pkgs[i], "%127s %63[^| ]", name, ver) != 2) {
            return NULL;
        }
        const char *arch = strstr(pkgs[i], "|A=");
        int alen = arch ? (int)strcspn(arch + 3, "|") : 6;
        rc = temper_buf_printf(&b, "C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nP:%s\nV:%s\nA:%.*s\n", name,
                               ver, alen, arch ? arch + 3 : "x86_64");
        for (const char *f = strchr(pkgs[i], '|'); rc == TEMPER_OK && f; f = strchr(f + 1, '|')) {
            int n = (int)strcspn(f + 3, "|");
            if (f[1] != 'A') {
                rc = temper_buf_printf(&b, "%c:%.*s\n", f[1], n, f + 3);
            }
        }
        rc = rc == TEMPER_OK ? temper_buf_puts(&b, "\n") : rc;
    }
    char *out = rc == TEMPER_OK ? temper_buf_take(&b, NULL) : NULL;
    temper_buf_cleanup(&b);
    return out;
}

static int add_repo(struct fixture *f, const char *const *pkgs)
{
    char *text = index_text(pkgs);
    char name[32];
    snprintf(name, sizeof name, "repo%zu", f->n);
    f->repos[f->n].url = NULL;
    int rc = text ? temper_apkindex_load_mem(st, name, text, strlen(text), NULL,
                                             &f->repos[f->n].idx)
                  : TEMPER_ENOMEM;
    free(text);
    if (rc == TEMPER_OK) {
        f->n++;
    }
    return rc;
}

/* Resolve a space separated world; the error (if any) lands in f->err. */
static int resolve(struct fixture *f, const char *arch, const char *world)
{
    struct temper_strlist l = { 0, NULL };
    char *copy = strdup(world);
    char *v[32];
    size_t n = 0;
    for (char *p = copy; p && *p && n < 31;) {
        v[n++] = p;
        p = strchr(p, ' ');
        if (p) {
            *p++ = '\0';
        }
    }
    v[n] = NULL;
    l.n = n;
    l.v = v;
    apk_plan_cleanup(&f->plan);
    temper_stage_reset(st);
    int rc = apk_resolve(st, f->repos, f->n, arch, &l, &f->plan);
    const char *e = temper_stage_error(st);
    snprintf(f->err, sizeof f->err, "%s", rc != TEMPER_OK && e ? e : "");
    if (rc != TEMPER_OK) {
        printf("# %s\n", f->err);
    }
    free(copy);
    return rc;
}

static void fixture_free(struct fixture *f)
{
    apk_plan_cleanup(&f->plan);
    for (size_t i = 0; i < f->n; i++) {
        temper_apkindex_free(f->repos[i].idx);
    }
    memset(f, 0, sizeof *f);
}

/* "name-version" of each package in install order, space separated. */
static const char *order(const struct fixture *f)
{
    static char buf[4096];
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < f->plan.n && used < sizeof buf; i++) {
        const struct temper_apkpkg *p = f->plan.v[f->plan.order[i]].pkg;
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s-%s", i ? " " : "",
                                 p->name, p->version);
    }
    return buf;
}

static bool has(const struct fixture *f, const char *name, const char *version)
{
    for (size_t i = 0; i < f->plan.n; i++) {
        const struct temper_apkpkg *p = f->plan.v[i].pkg;
        if (strcmp(p->name, name) == 0 && (!version || strcmp(p->version, version) == 0)) {
            return true;
        }
    }
    return false;
}

static void test_chain_and_providers(void)
{
    static const char *const pkgs[] = {
        "app 1.0-r0|D=so:libfoo.so.1 cmd:sh",
        "libfoo 1.2-r0|p=so:libfoo.so.1=1.2",
        "busybox 1.36-r0|p=cmd:sh=1.36-r0 /bin/sh|D=so:libc.musl-x86_64.so.1",
        "musl 1.2.4-r0|p=so:libc.musl-x86_64.so.1=1",
        NULL,
    };
    struct fixture f = { 0 };
    TEST("so: and cmd: providers, install order")
    {
        CHECK_INT_EQ(add_repo(&f, pkgs), TEMPER_OK);
        CHECK_INT_EQ(resolve(&f, "x86_64", "app"), TEMPER_OK);
        CHECK_STR_EQ(order(&f), "libfoo-1.2-r0 musl-1.2.4-r0 busybox-1.36-r0 app-1.0-r0");
        CHECK_INT_EQ(resolve(&f, "x86_64", "/bin/sh"), TEMPER_OK);
        CHECK_STR_EQ(order(&f), "musl-1.2.4-r0 busybox-1.36-r0");
        CHECK_STR_EQ(f.plan.v[0].why, "/bin/sh");
        char chain[256];
        apk_plan_chain(&f.plan, 1, chain, sizeof chain);
        CHECK_STR_EQ(chain, "world -> busybox-1.36-r0 -> musl-1.2.4-r0");
    }
    fixture_free(&f);
}

static void test_versions(void)
{
    static const char *const pkgs[] = {
        "lib 1.0-r0", "lib 3.0-r0", "lib 2.0-r0", "lib 2.0.1-r0", NULL,
    };
    struct fixture f = { 0 };
    TEST("version constraints in apk order")
    {
        CHECK_INT_EQ(add_repo(&f, pkgs), TEMPER_OK);
        CHECK(resolve(&f, "x86_64", "lib") == TEMPER_OK && has(&f, "lib", "3.0-r0"));
        CHECK(resolve(&f, "x86_64", "lib<3") == TEMPER_OK && has(&f, "lib", "2.0.1-r0"));
        CHECK(resolve(&f, "x86_64", "lib<=2.0-r0") == TEMPER_OK && has(&f, "lib", "2.0-r0"));
        CHECK(resolve(&f, "x86_64", "lib=2.0-r0") == TEMPER_OK && has(&f, "lib", "2.0-r0"));
        CHECK(resolve(&f, "x86_64", "lib~2.0") == TEMPER_OK && has(&f, "lib", "2.0.1-r0"));
        CHECK(resolve(&f, "x86_64", "lib~1") == TEMPER_OK && has(&f, "lib", "1.0-r0"));
        /* the waiting constraints on a name are heard before it is chosen */
        CHECK(resolve(&f, "x86_64", "lib>1.0-r0 lib<2.0.1") == TEMPER_OK &&
              has(&f, "lib", "2.0-r0") && f.plan.n == 1);
        CHECK_INT_EQ(resolve(&f, "x86_64", "lib>4"), TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(f.err, "world -> lib>4: no version matches (there is lib-1.0-r0");
    }
    fixture_free(&f);
}

static void test_choice(void)
{
    static const char *const pkgs[] = {
        "libressl 3.8-r0|p=so:libssl.so.3=3.0",
        "openssl 3.1-r0|p=so:libssl.so.3=3.1",
        "zeta 1-r0|p=virt=1",
        "alpha 1-r0|p=virt=1",
        "low 9-r0|p=pri=1",
        "high 1-r0|p=pri=1|k=10",
        "sh 1-r0",
        "dash 1-r0|p=sh=2",
        "user 1-r0|D=so:libssl.so.3 virt",
        NULL,
    };
    struct fixture f = { 0 };
    TEST("deterministic choice among providers")
    {
        CHECK_INT_EQ(add_repo(&f, pkgs), TEMPER_OK);
        CHECK(resolve(&f, "x86_64", "so:libssl.so.3") == TEMPER_OK && has(&f, "openssl", NULL));
        CHECK(resolve(&f, "x86_64", "virt") == TEMPER_OK && has(&f, "alpha", NULL) &&
              !has(&f, "zeta", NULL));
        CHECK(resolve(&f, "x86_64", "pri") == TEMPER_OK && has(&f, "high", NULL));
        CHECK(resolve(&f, "x86_64", "sh") == TEMPER_OK && has(&f, "sh", NULL) &&
              !has(&f, "dash", NULL));
        CHECK(resolve(&f, "x86_64", "sh>=2") == TEMPER_OK && has(&f, "dash", NULL));
        /* a provider chosen once satisfies the name for everyone after */
        CHECK(resolve(&f, "x86_64", "zeta user") == TEMPER_OK && has(&f, "zeta", NULL) &&
              !has(&f, "alpha", NULL));
        for (int i = 0; i < 3; i++) {
            CHECK(resolve(&f, "x86_64", "user") == TEMPER_OK &&
                  strcmp(order(&f), "alpha-1-r0 openssl-3.1-r0 user-1-r0") == 0);
        }
    }
    fixture_free(&f);
}

static void test_conflicts_and_cycles(void)
{
    static const char *const pkgs[] = {
        "a 1-r0|D=b", "b 1-r0|D=a", "c 1-r0|D=!b", "d 1-r0|D=e", "e 1-r0",
        "e2 1-r0|p=e=1", "f 1-r0|D=!e",
        NULL,
    };
    struct fixture f = { 0 };
    TEST("cycles and conflicts")
    {
        CHECK_INT_EQ(add_repo(&f, pkgs), TEMPER_OK);
        CHECK_INT_EQ(resolve(&f, "x86_64", "a"), TEMPER_OK);
        CHECK_STR_EQ(order(&f), "b-1-r0 a-1-r0");
        CHECK_INT_EQ(resolve(&f, "x86_64", "b"), TEMPER_OK);
        CHECK_STR_EQ(order(&f), "b-1-r0 a-1-r0"); /* a cycle is cut the same way */
        CHECK_INT_EQ(resolve(&f, "x86_64", "a c"), TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(f.err, "conflict: world -> c-1-r0 -> !b, but world -> a-1-r0 -> "
                                  "b-1-r0 is chosen");
        CHECK_INT_EQ(resolve(&f, "x86_64", "!b a"), TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(f.err, "world -> a-1-r0 -> b: b-1-r0 is excluded by world -> !b");
        CHECK_INT_EQ(resolve(&f, "x86_64", "c a"), TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(f.err, "excluded by world -> c-1-r0 -> !b");
        /* !e also excludes a provider of e */
        CHECK_INT_EQ(resolve(&f, "x86_64", "!e e2"), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(resolve(&f, "x86_64", "e f"), TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(f.err, "world -> f: f-1-r0 has !e but world -> e-1-r0 is chosen");
        CHECK_INT_EQ(resolve(&f, "x86_64", "f e"), TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(f.err, "conflict: world -> f-1-r0 -> !e, but world -> e-1-r0");
    }
    fixture_free(&f);
}

static void test_unsatisfiable(void)
{
    static const char *const pkgs[] = {
        "top 1-r0|D=mid", "mid 1-r0|D=leaf>=2 so:libnone.so.1", "leaf 1-r0",
        "armonly 1-r0|A=armv7", "any 1-r0|A=noarch", "pin 1-r0|D=leaf=1-r0",
        NULL,
    };
    struct fixture f = { 0 };
    TEST("an unsatisfiable dependency names its chain")
    {
        CHECK_INT_EQ(add_repo(&f, pkgs), TEMPER_OK);
        CHECK_INT_EQ(resolve(&f, "x86_64", "top"), TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(f.err, "unsatisfiable dependency: world -> top-1-r0 -> mid-1-r0 -> "
                                  "leaf>=2: no version matches (there is leaf-1-r0)");
        CHECK_INT_EQ(resolve(&f, "x86_64", "nosuch"), TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(f.err, "world -> nosuch: no package is or provides nosuch");
        CHECK_INT_EQ(resolve(&f, "x86_64", "armonly"), TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(f.err, "armonly-1-r0 is built for armv7, not x86_64");
        CHECK(resolve(&f, "armv7", "armonly any") == TEMPER_OK && f.plan.n == 2);
        CHECK(resolve(&f, "x86_64", "any") == TEMPER_OK);
        CHECK_INT_EQ(resolve(&f, "x86_64", "leaf pin"), TEMPER_OK);
        CHECK_INT_EQ(resolve(&f, "x86_64", ""), TEMPER_EINVAL);
        CHECK_INT_EQ(resolve(&f, "x86_64", "bad<<version"), TEMPER_EFORMAT);
    }
    fixture_free(&f);
}

static void test_long_chain(void)
{
    static char text[80][64];
    const char *pkgs[81];
    for (int i = 0; i < 80; i++) {
        snprintf(text[i], sizeof text[i], "p%d 1-r0|D=%s%d", i, i == 79 ? "missing" : "p",
                 i + 1);
        pkgs[i] = text[i];
    }
    pkgs[80] = NULL;
    struct fixture f = { 0 };
    TEST("a chain longer than the error can show")
    {
        CHECK_INT_EQ(add_repo(&f, pkgs), TEMPER_OK);
        CHECK_INT_EQ(resolve(&f, "x86_64", "p0"), TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(f.err, "unsatisfiable dependency: world -> ... -> p16-1-r0 -> ");
        CHECK_STR_CONTAINS(f.err, "p79-1-r0 -> missing80: no package is or provides missing80");
        CHECK_INT_EQ(resolve(&f, "x86_64", "p40"), TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(f.err, "world -> p40-1-r0 -> p41-1-r0");
    }
    fixture_free(&f);
}

static void test_repositories(void)
{
    static const char *const one[] = { "x 1-r0", "y 1-r0", NULL };
    static const char *const two[] = { "x 1-r0", "y 2-r0", NULL };
    struct fixture f = { 0 };
    TEST("several repositories")
    {
        CHECK_INT_EQ(add_repo(&f, one), TEMPER_OK);
        CHECK_INT_EQ(add_repo(&f, two), TEMPER_OK);
        CHECK_INT_EQ(resolve(&f, "x86_64", "x y"), TEMPER_OK);
        CHECK(f.plan.v[0].repo == 0); /* same version: the first repository */
        CHECK(f.plan.v[1].repo == 1 && strcmp(f.plan.v[1].pkg->version, "2-r0") == 0);
    }
    fixture_free(&f);
}

static void test_real_index(void)
{
    struct fixture f = { 0 };
    char path[4096];
    const char *d = getenv("TEMPER_DATA");
    snprintf(path, sizeof path, "%s/samples/alpine/apko_alpine-317_APKINDEX.tar.gz",
             d ? d : "tests/data");
    TEST("the real Alpine v3.17 aarch64 index")
    {
        CHECK_INT_EQ(temper_apkindex_load(st, path, NULL, &f.repos[0].idx), TEMPER_OK);
        f.n = f.repos[0].idx ? 1 : 0;
        CHECK_INT_EQ(resolve(&f, "aarch64", "alpine-base"), TEMPER_OK);
        CHECK(has(&f, "busybox", NULL) && has(&f, "musl", NULL) &&
              has(&f, "alpine-baselayout", NULL) && has(&f, "apk-tools", NULL));
        size_t musl = SIZE_MAX, bb = SIZE_MAX;
        for (size_t i = 0; i < f.plan.n; i++) {
            const char *n = f.plan.v[f.plan.order[i]].pkg->name;
            musl = strcmp(n, "musl") == 0 ? i : musl;
            bb = strcmp(n, "busybox") == 0 ? i : bb;
        }
        CHECK(musl < bb);
        printf("# alpine-base: %zu packages: %s\n", f.plan.n, order(&f));
        char first[4096];
        snprintf(first, sizeof first, "%s", order(&f));
        CHECK_INT_EQ(resolve(&f, "aarch64", "alpine-base"), TEMPER_OK);
        CHECK_STR_EQ(order(&f), first);
        CHECK_INT_EQ(resolve(&f, "aarch64", "python3 so:libcrypto.so.3 cmd:ls"), TEMPER_OK);
        CHECK(has(&f, "python3", NULL) && has(&f, "libcrypto3", NULL) && f.plan.n > 10);
        CHECK_INT_EQ(resolve(&f, "x86_64", "busybox"), TEMPER_ENOTFOUND);
        CHECK_STR_CONTAINS(f.err, "is built for aarch64, not x86_64");
    }
    fixture_free(&f);
}

static void test_tokens(void)
{
    TEST("names usable in URLs and file names")
    {
        CHECK(apk_token_ok("libstdc++"));
        CHECK(apk_token_ok("3.2.0-r23"));
        CHECK(!apk_token_ok("../x"));
        CHECK(!apk_token_ok("a/b"));
        CHECK(!apk_token_ok(".hidden"));
        CHECK(!apk_token_ok("-x"));
        CHECK(!apk_token_ok(""));
        CHECK(!apk_token_ok("a b"));
        CHECK(!apk_token_ok("a%2f"));
    }
}

int main(void)
{
    st = temper_stage_new(NULL, "test");
    if (!st) {
        return 1;
    }
    test_tokens();
    test_chain_and_providers();
    test_versions();
    test_choice();
    test_conflicts_and_cycles();
    test_unsatisfiable();
    test_long_chain();
    test_repositories();
    test_real_index();
    temper_stage_free(st);
    return tap_done();
}

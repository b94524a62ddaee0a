/* temper — store conformance, part 1: key/value state, images, builds and
 * the package index (transitive monitoring: images_with_package).  Run
 * against every store plugin (store_conformance.h).
 *
 * Included by the test program (#include), not compiled on its own: the
 * TAP counter of tests/lib/tap.h is per translation unit. */
#include "tests/plugins/store_conformance.h"
#include "tests/lib/tap.h"
#include "sdk/host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sqh *cs_h;
#define OPS (cs_h->ops)

/* ---- key/value --------------------------------------------------------- */

static void test_kv(void *s)
{
    char *v = (char *)"untouched";
    const char *tricky = "it's \"quoted\"; DROP TABLE kv; --";
    TEST("kv absent") {
        CHECK_INT_EQ(OPS->kv_get(s, "tracker.github", "etag", &v), TEMPER_ENOTFOUND);
        CHECK(v == NULL);
    }
    TEST("kv put, get, overwrite, namespaces") {
        CHECK_INT_EQ(OPS->kv_put(s, "tracker.github", "etag", "W/\"1\""), TEMPER_OK);
        CHECK_INT_EQ(OPS->kv_put(s, "tracker.github", "etag", tricky), TEMPER_OK);
        CHECK_INT_EQ(OPS->kv_get(s, "tracker.github", "etag", &v), TEMPER_OK);
        CHECK_STR_EQ(v, tricky);
        free(v);
        v = NULL;
        CHECK_INT_EQ(OPS->kv_get(s, "tracker.alpine", "etag", &v), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(OPS->kv_put(s, "tracker.alpine", "etag", ""), TEMPER_OK);
        CHECK_INT_EQ(OPS->kv_get(s, "tracker.alpine", "etag", &v), TEMPER_OK);
        CHECK_STR_EQ(v, "");
        free(v);
        v = NULL;
    }
    TEST("kv delete and bad arguments") {
        CHECK_INT_EQ(OPS->kv_put(s, "tracker.github", "etag", NULL), TEMPER_OK);
        CHECK_INT_EQ(OPS->kv_get(s, "tracker.github", "etag", &v), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(OPS->kv_put(s, "tracker.github", "etag", NULL), TEMPER_OK);
        CHECK_INT_EQ(OPS->kv_put(s, NULL, "k", "v"), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->kv_get(s, "ns", NULL, &v), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->kv_get(NULL, "ns", "k", &v), TEMPER_EINVAL);
    }
}

/* ---- collectors -------------------------------------------------------- */

struct names {
    int n;
    int stop_at; /* return 42 from the callback number stop_at (1-based) */
    char list[4096];
    struct temper_image_record last;
    char last_name[64], last_pinned[64], last_base[64];
};

static void names_add(struct names *c, const char *name)
{
    size_t len = strlen(c->list);
    snprintf(c->list + len, sizeof c->list - len, "%s%s", len ? "," : "",
             name ? name : "(null)");
    c->n++;
}

static int collect_image(void *ctx, const struct temper_image_record *img)
{
    struct names *c = ctx;
    names_add(c, img->name);
    c->last = *img;
    snprintf(c->last_name, sizeof c->last_name, "%s", img->name ? img->name : "");
    snprintf(c->last_pinned, sizeof c->last_pinned, "%s",
             img->pinned_version ? img->pinned_version : "(null)");
    snprintf(c->last_base, sizeof c->last_base, "%s", img->base ? img->base : "(null)");
    return c->stop_at && c->n == c->stop_at ? 42 : 0;
}

static int collect_package(void *ctx, const struct temper_package *p)
{
    struct names *c = ctx;
    if (c->n < 20) {
        names_add(c, p->name);
    } else {
        c->n++;
    }
    return c->stop_at && c->n == c->stop_at ? 42 : 0;
}

/* ---- images ------------------------------------------------------------ */

static void test_images(void *s)
{
    struct temper_image_record py = {
        .size = sizeof py, .name = "python", .base = "image:debian",
        .distribution = "debian:bookworm", .support_until = 0,
        .pinned_version = "3.11.8", .last_digest = "sha256:aa",
    };
    struct names c = { 0 };
    TEST("image put and get") {
        CHECK_INT_EQ(OPS->image_put(s, &py), TEMPER_OK);
        CHECK_INT_EQ(OPS->image_get(s, "python", collect_image, &c), TEMPER_OK);
        CHECK_INT_EQ(c.n, 1);
        CHECK_STR_EQ(c.last_name, "python");
        CHECK_STR_EQ(c.last_pinned, "3.11.8");
        CHECK_STR_EQ(c.last_base, "image:debian");
    }
    py.pinned_version = "3.11.9";
    py.base = NULL;
    py.support_until = 1234;
    memset(&c, 0, sizeof c);
    TEST("image put replaces the record") {
        CHECK_INT_EQ(OPS->image_put(s, &py), TEMPER_OK);
        CHECK_INT_EQ(OPS->image_get(s, "python", collect_image, &c), TEMPER_OK);
        CHECK_STR_EQ(c.last_pinned, "3.11.9");
        CHECK_STR_EQ(c.last_base, "(null)");
        CHECK_INT_EQ(c.last.support_until, 1234);
    }
    struct temper_image_record node = { .size = sizeof node, .name = "node" };
    struct temper_image_record bad = { 0 };
    struct names all = { 0 }, none = { 0 }, stop = { .stop_at = 1 };
    TEST("image get: unknown, all, bad records, stop") {
        CHECK_INT_EQ(OPS->image_get(s, "nope", collect_image, &none), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(none.n, 0);
        CHECK_INT_EQ(OPS->image_put(s, &node), TEMPER_OK);
        CHECK_INT_EQ(OPS->image_get(s, NULL, collect_image, &all), TEMPER_OK);
        CHECK_STR_EQ(all.list, "node,python");
        CHECK_INT_EQ(OPS->image_put(s, &bad), TEMPER_EINVAL);
        bad.size = sizeof bad;
        CHECK_INT_EQ(OPS->image_put(s, &bad), TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->image_get(s, NULL, collect_image, &stop), 42);
        CHECK_INT_EQ(stop.n, 1);
    }
}

/* ---- builds ------------------------------------------------------------ */

struct temper_package store_conf_pkg(const char *name, const char *source, const char *dist)
{
    struct temper_package p = {
        .size = sizeof p, .name = name, .version = "1.0-1", .arch = "amd64",
        .source = source, .distribution = dist,
    };
    return p;
}

int store_conf_record_build(void *s, const char *image, const char *variant, const char *dist,
                        const struct temper_package *p, size_t n)
{
    struct temper_build_record b = {
        .size = sizeof b, .image = image, .variant = variant, .version = "1",
        .digest = "sha256:0123", .distribution = dist, .built_at = 1000, .run_id = 0,
    };
    return OPS->build_record(s, &b, p, n);
}

static int check_full_package(void *ctx, const struct temper_package *p)
{
    int *ok = ctx;
    *ok = p->size == sizeof *p && strcmp(p->name, "curl") == 0 &&
          strcmp(p->purl, "pkg:deb/debian/curl@7.88.1-10?arch=amd64") == 0 &&
          strcmp(p->sha256, "ab12") == 0 && strcmp(p->license, "curl") == 0 &&
          strcmp(p->supplier, "Debian") == 0 && strcmp(p->url, "file:///curl.deb") == 0 &&
          strcmp(p->source_version, "7.88.1-10") == 0 && p->source == NULL;
    return 0;
}

static void test_build_paging(void *s)
{
    static char names[300][24];
    static struct temper_package many[300];
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], sizeof names[i], "many-pkg-%03d", i);
        many[i] = store_conf_pkg(names[i], NULL, "debian:bookworm");
    }
    struct names c = { 0 }, stop = { .stop_at = 150 };
    TEST("300 packages are listed across pages") {
        CHECK_INT_EQ(store_conf_record_build(s, "many", NULL, "debian:bookworm", many, 300), TEMPER_OK);
        CHECK_INT_EQ(OPS->build_packages(s, "many", NULL, collect_package, &c), TEMPER_OK);
        CHECK_INT_EQ(c.n, 300);
        CHECK_INT_EQ(OPS->build_packages(s, "many", NULL, collect_package, &stop), 42);
        CHECK_INT_EQ(stop.n, 150);
    }
}

static void test_builds(void *s)
{
    struct temper_package p3[3] = {
        store_conf_pkg("libssl3", "openssl", "debian:bookworm"),
        store_conf_pkg("python3.11-minimal", "python3.11", "debian:bookworm"),
        store_conf_pkg("libc6", "glibc", "debian:bookworm"),
    };
    struct names c = { 0 }, c2 = { 0 }, c3 = { 0 };
    TEST("build record, packages of the latest build") {
        CHECK_INT_EQ(store_conf_record_build(s, "python", NULL, "debian:bookworm", p3, 3), TEMPER_OK);
        CHECK_INT_EQ(OPS->build_packages(s, "python", NULL, collect_package, &c), TEMPER_OK);
        CHECK_STR_EQ(c.list, "libssl3,python3.11-minimal,libc6");
        CHECK_INT_EQ(OPS->build_packages(s, "python", "dev", collect_package, &c3),
                     TEMPER_ENOTFOUND);
        CHECK_INT_EQ(store_conf_record_build(s, "python", NULL, "debian:bookworm", p3 + 1, 2),
                     TEMPER_OK);
        CHECK_INT_EQ(OPS->build_packages(s, "python", NULL, collect_package, &c2),
                     TEMPER_OK);
        CHECK_STR_EQ(c2.list, "python3.11-minimal,libc6");
    }
    struct temper_package full = {
        .size = sizeof full, .name = "curl", .version = "7.88.1-10", .arch = "amd64",
        .source_version = "7.88.1-10", .distribution = "debian:bookworm",
        .purl = "pkg:deb/debian/curl@7.88.1-10?arch=amd64", .sha256 = "ab12",
        .license = "curl", .supplier = "Debian", .url = "file:///curl.deb",
    };
    int ok = 0;
    TEST("package fields round trip") {
        CHECK_INT_EQ(store_conf_record_build(s, "curl", "slim", "debian:bookworm", &full, 1), TEMPER_OK);
        CHECK_INT_EQ(OPS->build_packages(s, "curl", "slim", check_full_package, &ok),
                     TEMPER_OK);
        CHECK(ok);
    }
    struct temper_package broken[2] = { store_conf_pkg("zlib1g", "zlib", NULL), store_conf_pkg(NULL, NULL, NULL) };
    struct temper_build_record noimage = { .size = sizeof noimage };
    struct names after = { 0 };
    TEST("a bad build is refused as a whole") {
        CHECK_INT_EQ(store_conf_record_build(s, "python", NULL, "debian:bookworm", broken, 2),
                     TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->build_packages(s, "python", NULL, collect_package, &after),
                     TEMPER_OK);
        CHECK_STR_EQ(after.list, "python3.11-minimal,libc6");
        CHECK_INT_EQ(OPS->build_record(s, &noimage, NULL, 0), TEMPER_EINVAL);
        CHECK_INT_EQ(store_conf_record_build(s, "python", NULL, NULL, NULL, 2), TEMPER_EINVAL);
    }
    test_build_paging(s);
}

/* ---- transitive monitoring --------------------------------------------- */

#define NOW 1000000LL

static void put_image(void *s, const char *name, long long support_until)
{
    struct temper_image_record img = {
        .size = sizeof img, .name = name, .distribution = "debian:bookworm",
        .support_until = support_until,
    };
    if (OPS->image_put(s, &img) != TEMPER_OK) {
        tap_diag("image_put failed");
    }
}

static const char *lookup(void *s, const char *package, const char *dist, long long now,
                          struct names *c)
{
    memset(c, 0, sizeof *c);
    int rc = OPS->images_with_package(s, package, dist, now, collect_image, c);
    return rc == TEMPER_OK ? c->list : "(error)";
}

static void setup_monitoring(void *s)
{
    const char *deb = "debian:bookworm";
    struct temper_package ssl = store_conf_pkg("libssl3", "openssl", deb);
    struct temper_package ossl = store_conf_pkg("openssl", NULL, deb);
    struct temper_package zlib = store_conf_pkg("zlib1g", "zlib", deb);
    struct temper_package apk = store_conf_pkg("libssl3", "openssl", "alpine:v3.19");
    struct temper_package nodist = store_conf_pkg("libssl3", "openssl", NULL);
    put_image(s, "app-a", 0);            /* forever */
    put_image(s, "app-b", NOW - 1);      /* support ended */
    put_image(s, "app-c", NOW + 1000);   /* still supported */
    put_image(s, "app-d", 0);
    put_image(s, "app-e", 0);
    put_image(s, "app-f", 0);
    int rc = store_conf_record_build(s, "app-a", NULL, deb, &ssl, 1);
    rc |= store_conf_record_build(s, "app-b", NULL, deb, &ssl, 1);
    rc |= store_conf_record_build(s, "app-c", NULL, deb, &ossl, 1);
    rc |= store_conf_record_build(s, "app-d", NULL, deb, &ssl, 1);   /* older build had it */
    rc |= store_conf_record_build(s, "app-d", NULL, deb, &zlib, 1);  /* latest does not */
    rc |= store_conf_record_build(s, "app-e", NULL, "alpine:v3.19", &apk, 1);
    rc |= store_conf_record_build(s, "app-f", "dev", deb, &ssl, 1);  /* one variant has it */
    rc |= store_conf_record_build(s, "app-f", NULL, deb, &zlib, 1);
    rc |= store_conf_record_build(s, "app-g", NULL, deb, &nodist, 1); /* no image record */
    TEST("monitoring fixtures recorded") {
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
}

static void test_images_with_package(void *s)
{
    struct names c, stop = { .stop_at = 2 };
    setup_monitoring(s);
    TEST("binary name, distribution, window, latest build only") {
        CHECK_STR_EQ(lookup(s, "libssl3", "debian:bookworm", NOW, &c), "app-a,app-f,app-g");
    }
    TEST("source name") {
        CHECK_STR_EQ(lookup(s, "openssl", "debian:bookworm", NOW, &c),
                     "app-a,app-c,app-f,app-g");
    }
    TEST("any distribution") {
        CHECK_STR_EQ(lookup(s, "libssl3", NULL, NOW, &c), "app-a,app-e,app-f,app-g");
        CHECK_STR_EQ(lookup(s, "libssl3", "alpine:v3.19", NOW, &c), "app-e");
    }
    TEST("support window boundaries") {
        CHECK_STR_EQ(lookup(s, "libssl3", "debian:bookworm", NOW - 1, &c),
                     "app-a,app-b,app-f,app-g");
        CHECK_STR_EQ(lookup(s, "openssl", "debian:bookworm", NOW + 1001, &c),
                     "app-a,app-f,app-g");
    }
    TEST("no match, bad arguments, callback stop") {
        CHECK_STR_EQ(lookup(s, "zlib1g", "alpine:v3.19", NOW, &c), "");
        CHECK_STR_EQ(lookup(s, "zlib1g", NULL, NOW, &c), "app-d,app-f");
        CHECK_INT_EQ(OPS->images_with_package(s, NULL, NULL, NOW, collect_image, &c),
                     TEMPER_EINVAL);
        CHECK_INT_EQ(OPS->images_with_package(s, "libssl3", NULL, NOW, collect_image,
                                              &stop),
                     42);
        CHECK_INT_EQ(stop.n, 2);
    }
}

const char *store_conf_lookup(struct sqh *h, void *s, const char *package,
                              const char *dist, long long now, char *buf, size_t n)
{
    struct names c;
    cs_h = h;
    snprintf(buf, n, "%s", lookup(s, package, dist, now, &c));
    return buf;
}

void store_conformance_state(struct sqh *h, const struct store_backend *b)
{
    cs_h = h;
    char *loc = b->fresh(b, "main.db");
    struct sqh_store s;
    int rc = loc ? sqh_open(h, loc, &s) : TEMPER_ENOMEM;
    TEST("open the main store") {
        CHECK_INT_EQ(rc, TEMPER_OK);
    }
    if (rc == TEMPER_OK) {
        test_kv(s.state);
        test_images(s.state);
        test_builds(s.state);
        test_images_with_package(s.state);
    }
    sqh_close(h, &s);
    free(loc);
}

#undef OPS

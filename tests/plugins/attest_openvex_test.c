/* temper — attest_openvex through the real loader: decisions from a
 * hand-made OSV feed (tests/data/attest/osv, valid against the OSV schema)
 * and a Debian security tracker excerpt (tests/data/attest/debian-
 * tracker.json) covering fixed / affected (with and without a fix) /
 * not_affected / under_investigation, the tracker taking precedence over
 * OSV, the same feeds over HTTP from a loopback server (with the cached
 * copy re-validated by ETag), every document valid against the OpenVEX
 * schema, byte-identical output for equal inputs, and malformed feeds
 * refused with the file or URL named. */
#include "config.h"
#include "tests/lib/tap.h"
#include "tests/lib/http_fixture.h"
#include "tests/plugins/attest_testlib.h"

#define VEX_TYPE "https://openvex.dev/ns/v0.2.0"
#define IMAGE "hardened/tools"

static const char packages[] =
    "[{\"name\":\"libssl3\",\"version\":\"3.0.11-1~deb12u2\",\"arch\":\"amd64\","
    "\"source\":\"openssl\",\"distribution\":\"debian:bookworm\",\"sha256\":"
    "\"1111111111111111111111111111111111111111111111111111111111111111\"},"
    "{\"name\":\"openssl\",\"version\":\"3.0.11-1~deb12u2\",\"arch\":\"amd64\","
    "\"distribution\":\"debian:bookworm\"},"
    "{\"name\":\"libc6\",\"version\":\"2.36-9+deb12u4\",\"arch\":\"amd64\",\"source\":\"glibc\","
    "\"distribution\":\"debian:bookworm\"},"
    "{\"name\":\"zlib1g\",\"version\":\"1:1.2.13.dfsg-1\",\"arch\":\"amd64\",\"source\":\"zlib\","
    "\"distribution\":\"debian:bookworm\"},"
    "{\"name\":\"curl\",\"version\":\"7.88.1-10+deb12u5\",\"arch\":\"amd64\","
    "\"distribution\":\"debian:bookworm\"},"
    "{\"name\":\"libcurl4\",\"version\":\"7.88.1-10+deb12u5\",\"arch\":\"amd64\","
    "\"source\":\"curl\",\"distribution\":\"debian:bookworm\"},"
    "{\"name\":\"tar\",\"version\":\"1.34+dfsg-1.2+deb12u1\",\"arch\":\"amd64\","
    "\"distribution\":\"debian:bookworm\"},"
    "{\"name\":\"busybox\",\"version\":\"1.36.1-r15\",\"arch\":\"x86_64\","
    "\"distribution\":\"alpine:v3.19\"}]";

struct expect {
    const char *vuln, *status, *extra; /* extra: in action/impact/notes */
};

static const struct expect osv_only[] = {
    { "CVE-2023-0001", "fixed", "past the fixed version" },
    { "CVE-2023-0002", "affected", "Update glibc to 2.36-9+deb12u5 or later" },
    { "CVE-2023-0003", "not_affected", "older than the version that introduced" },
    { "CVE-2023-0004", "under_investigation", "no Debian:12 range" },
    { "CVE-2023-0005", "affected", "Update busybox to 1.36.1-r16" },
    { "CVE-2023-0006", "affected", "No fixed tar package" },
    { "CVE-2023-0009", "fixed", "past the fixed version" },
    { "CVE-2023-0010", "affected", "No fixed zlib package" },
    { "CVE-2023-0011", "affected", "Update openssl to 3.0.13-1~deb12u1" },
};

static const struct expect tracker_only[] = {
    { "CVE-2023-0002", "fixed", "fixed_version 2.36-9+deb12u3" },
    { "CVE-2023-1001", "not_affected", "not affected" },
    { "CVE-2023-1002", "affected", "Update glibc to 2.36-9+deb12u7 or later" },
    { "CVE-2023-1004", "affected", "No fixed curl package is available for bookworm" },
    { "CVE-2023-1005", "under_investigation", "undetermined" },
    { "CVE-2023-1006", "not_affected", "not affected" },
};

/* Length of an array, 0 for anything else (json-c asserts on non-arrays). */
static size_t alen(struct json_object *a)
{
    return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static char *data_path(const char *rel)
{
    const char *d = getenv("TEMPER_DATA");
    return temper_strdupf("%s/attest/%s", d ? d : "tests/data", rel);
}

static struct json_object *find_vuln(struct json_object *doc, const char *name)
{
    size_t n = 0;
    struct json_object *sts = temper_json_get_array(doc, "statements", &n);
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = json_object_array_get_idx(sts, i);
        const char *v = temper_json_get_str(s, "vulnerability.name");
        if (v && strcmp(v, name) == 0) {
            return s;
        }
    }
    return NULL;
}

/* Text of the statement's action, impact and notes. */
static char *statement_text(struct json_object *s)
{
    const char *a = temper_json_get_str(s, "action_statement");
    const char *i = temper_json_get_str(s, "impact_statement");
    const char *n = temper_json_get_str(s, "status_notes");
    return temper_strdupf("%s | %s | %s", a ? a : "", i ? i : "", n ? n : "");
}

static void check_expect(struct json_object *doc, const struct expect *e, size_t n)
{
    CHECK_INT_EQ(alen(temper_json_get(doc, "statements")), n);
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = find_vuln(doc, e[i].vuln);
        char *text = statement_text(s);
        if (!s) {
            printf("#   no statement about %s\n", e[i].vuln);
        }
        CHECK_STR_EQ(temper_json_get_str(s, "status"), e[i].status);
        CHECK_STR_CONTAINS(text, e[i].extra);
        if (strcmp(e[i].status, "not_affected") == 0) {
            CHECK_STR_EQ(temper_json_get_str(s, "justification"), "vulnerable_code_not_present");
        }
        if (strcmp(e[i].status, "affected") == 0) {
            CHECK(temper_json_get_str(s, "action_statement") != NULL);
        }
        free(text);
    }
}

static void test_osv(const struct temper_artifact *img, const struct temper_artifact *run,
                     const char *digest)
{
    char *osv = data_path("osv");
    char *kv_osv = temper_strdupf("osv=%s", osv);
    const char *kv[] = { kv_osv, NULL };
    TEST("openvex: the hand-made OSV records are valid OSV") {
        static const char *const recs[] = { "CVE-2023-0001.json", "DSA-5555-1.json",
                                            "CVE-2023-0003.json", "CVE-2023-0004.json",
                                            "CVE-2023-0005.json", "CVE-2023-0006.json" };
        for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
            char *rel = temper_strdupf("osv/%s", recs[i]);
            char *p = data_path(rel);
            CHECK_INT_EQ(at_validate("osv-schema.json", p, NULL), 0);
            free(rel);
            free(p);
        }
    }
    TEST("openvex: OSV feed decisions") {
        struct ph h;
        char *file = at_path("vex-osv.json");
        CHECK(at_open(&h, "openvex", kv) == TEMPER_OK);
        CHECK_INT_EQ(at_attest(&h, img, run), TEMPER_OK);
        struct json_object *st = at_statement_json(&h, file);
        CHECK_STR_EQ(at_envelope_problem(at_statement(&h), st, IMAGE, digest, VEX_TYPE), NULL);
        CHECK_INT_EQ(at_validate("openvex_json_schema.json", file, "predicate"), 0);
        struct json_object *doc = temper_json_get_object(st, "predicate");
        check_expect(doc, osv_only, sizeof osv_only / sizeof osv_only[0]);
        struct json_object *g = find_vuln(doc, "CVE-2023-0002");
        CHECK_STR_EQ(temper_json_get_str(g, "vulnerability.aliases.0"), "DSA-5555-1");
        CHECK_STR_EQ(temper_json_get_str(doc, "timestamp"), "2024-05-01T12:00:00Z");
        CHECK_STR_EQ(temper_json_get_str(doc, "author"), "temper");
        CHECK_STR_CONTAINS(temper_json_get_str(doc, "@id"), "https://openvex.dev/docs/public/vex-");
        /* statements sorted by vulnerability */
        CHECK_STR_EQ(temper_json_get_str(doc, "statements.0.vulnerability.name"),
                     "CVE-2023-0001");
        /* the image is the product, the source's binaries its subcomponents */
        struct json_object *o = find_vuln(doc, "CVE-2023-0011");
        CHECK_STR_CONTAINS(temper_json_get_str(o, "products.0.@id"), "pkg:oci/tools@sha256%3A");
        CHECK_STR_EQ(temper_json_get_str(o, "products.0.hashes.sha-256"), digest + 7);
        CHECK_INT_EQ(alen(temper_json_get(o, "products.0.subcomponents")), 2);
        CHECK_STR_EQ(temper_json_get_str(o, "products.0.subcomponents.0.identifiers.purl"),
                     "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
                     "&upstream=openssl");
        CHECK_STR_EQ(temper_json_get_str(o, "products.0.subcomponents.0.hashes.sha-256"),
                     "1111111111111111111111111111111111111111111111111111111111111111");
        json_object_put(st);
        ph_close(&h);
        free(file);
    }
    free(osv);
    free(kv_osv);
}

static void test_tracker(const struct temper_artifact *img, const struct temper_artifact *run)
{
    char *tr = data_path("debian-tracker.json");
    char *osv = data_path("osv");
    char *kv_tr = temper_strdupf("debian_tracker=%s", tr);
    char *kv_osv = temper_strdupf("osv=%s", osv);
    TEST("openvex: Debian tracker decisions") {
        const char *kv[] = { kv_tr, NULL };
        struct json_object *st = at_attest_once("openvex", kv, img, run, "vex-tr.json", NULL);
        char *file = at_path("vex-tr.json");
        CHECK_INT_EQ(at_validate("openvex_json_schema.json", file, "predicate"), 0);
        struct json_object *doc = temper_json_get_object(st, "predicate");
        check_expect(doc, tracker_only, sizeof tracker_only / sizeof tracker_only[0]);
        CHECK_STR_CONTAINS(temper_json_get_str(find_vuln(doc, "CVE-2023-1004"), "status_notes"),
                           "urgency low, no DSA: Minor issue");
        json_object_put(st);
        free(file);
    }
    TEST("openvex: both feeds, the tracker decides where both speak") {
        const char *kv[] = { kv_osv, kv_tr, NULL };
        char *t1 = NULL, *t2 = NULL;
        struct json_object *st = at_attest_once("openvex", kv, img, run, "vex-both.json", &t1);
        struct json_object *again = at_attest_once("openvex", kv, img, run, "vex-both2.json", &t2);
        char *file = at_path("vex-both.json");
        CHECK_INT_EQ(at_validate("openvex_json_schema.json", file, "predicate"), 0);
        struct json_object *doc = temper_json_get_object(st, "predicate");
        CHECK_INT_EQ(alen(temper_json_get(doc, "statements")), 14);
        struct json_object *g = find_vuln(doc, "CVE-2023-0002");
        CHECK_STR_EQ(temper_json_get_str(g, "status"), "fixed");
        CHECK_STR_EQ(temper_json_get_str(g, "vulnerability.aliases.0"), "DSA-5555-1");
        CHECK(t1 && t2 && strcmp(t1, t2) == 0);
        json_object_put(st);
        json_object_put(again);
        free(t1);
        free(t2);
        free(file);
    }
    TEST("openvex: unfixed = under_investigation, distribution_release = bullseye") {
        const char *kv[] = { kv_osv, kv_tr, "unfixed=under_investigation", NULL };
        struct json_object *st = at_attest_once("openvex", kv, img, run, "vex-ui.json", NULL);
        struct json_object *doc = temper_json_get_object(st, "predicate");
        CHECK_STR_EQ(temper_json_get_str(find_vuln(doc, "CVE-2023-1004"), "status"),
                     "under_investigation");
        CHECK_STR_EQ(temper_json_get_str(find_vuln(doc, "CVE-2023-0006"), "status"),
                     "under_investigation");
        CHECK_STR_EQ(temper_json_get_str(find_vuln(doc, "CVE-2023-0011"), "status"), "affected");
        json_object_put(st);
        const char *kv2[] = { kv_tr, "distribution_release=bullseye", NULL };
        st = at_attest_once("openvex", kv2, img, run, "vex-bullseye.json", NULL);
        doc = temper_json_get_object(st, "predicate");
        CHECK_INT_EQ(alen(temper_json_get(doc, "statements")), 1);
        CHECK_STR_EQ(temper_json_get_str(find_vuln(doc, "CVE-2023-1003"), "status"), "affected");
        json_object_put(st);
    }
    free(tr);
    free(osv);
    free(kv_tr);
    free(kv_osv);
}

/* A feed file in the scratch directory; returns "key=<path>". */
static char *feed(const char *key, const char *name, const char *text)
{
    char *p = at_path(name);
    char *kv = p && at_write_str(p, text) == 0 ? temper_strdupf("%s=%s", key, p) : NULL;
    free(p);
    return kv;
}

/* attest() fails with rc and an error naming `want`. */
static void expect_error(const char *const *kv, const struct temper_artifact *img,
                         const struct temper_artifact *run, int rc, const char *want)
{
    struct ph h;
    CHECK(at_open(&h, "openvex", kv) == TEMPER_OK);
    CHECK_INT_EQ(at_attest(&h, img, run), rc);
    CHECK_STR_CONTAINS(temper_stage_error(h.st), want);
    CHECK_INT_EQ(ph_artifact_count(&h), 0);
    ph_close(&h);
}

static void test_malformed(const struct temper_artifact *img, const struct temper_artifact *run)
{
    static const struct {
        const char *key, *name, *text, *want;
        int rc;
    } cases[] = {
        { "debian_tracker", "bad.json", "{\"glibc\": {", "bad.json: invalid JSON", TEMPER_EFORMAT },
        { "debian_tracker", "arr.json", "[1,2]", "arr.json: not a Debian security tracker",
          TEMPER_EFORMAT },
        { "debian_tracker", "str.json", "{\"glibc\": \"x\"}", "str.json: the entry of glibc",
          TEMPER_EFORMAT },
        { "debian_tracker", "nostatus.json",
          "{\"glibc\":{\"CVE-1\":{\"releases\":{\"bookworm\":{\"urgency\":\"low\"}}}}}",
          "nostatus.json: glibc/CVE-1: releases.bookworm has no status", TEMPER_EFORMAT },
        { "osv", "twokeys.json",
          "{\"id\":\"X-1\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":[{\"package\":"
          "{\"ecosystem\":\"Debian:12\",\"name\":\"glibc\"},\"ranges\":[{\"type\":\"ECOSYSTEM\","
          "\"events\":[{\"introduced\":\"0\",\"fixed\":\"1\"}]}]}]}",
          "twokeys.json: OSV event #0 must have exactly one", TEMPER_EFORMAT },
        { "osv", "noid.json", "{\"modified\":\"2024-01-01T00:00:00Z\"}",
          "noid.json: not an OSV record", TEMPER_EFORMAT },
        { "osv", "affected.json", "{\"id\":\"X-2\",\"affected\":{}}",
          "affected.json: OSV X-2: \"affected\" is not an array", TEMPER_EFORMAT },
        { "osv", "vulns.json", "{\"vulns\":7}", "vulns.json: \"vulns\" is not an array",
          TEMPER_EFORMAT },
        { "osv", "ranges.json",
          "{\"id\":\"X-3\",\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\","
          "\"name\":\"zlib\"},\"ranges\":{\"type\":\"ECOSYSTEM\"}}]}",
          "ranges.json: OSV ranges/versions is not an array", TEMPER_EFORMAT },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TEST(cases[i].name) {
            char *kv0 = feed(cases[i].key, cases[i].name, cases[i].text);
            const char *kv[] = { kv0, NULL };
            expect_error(kv, img, run, cases[i].rc, cases[i].want);
            free(kv0);
        }
    }
    TEST("openvex: missing feed, size cap, no feed, bad release") {
        const char *kv[] = { "osv=/nonexistent/osv", NULL };
        expect_error(kv, img, run, TEMPER_ENOTFOUND, "/nonexistent/osv");
        char *tr = data_path("debian-tracker.json");
        char *kv_tr = temper_strdupf("debian_tracker=%s", tr);
        const char *kv2[] = { kv_tr, "max_feed_size=1K", NULL };
        expect_error(kv2, img, run, TEMPER_ELIMIT, "debian-tracker.json");
        struct ph h;
        CHECK(at_open(&h, "openvex", NULL) == TEMPER_EINVAL);
        CHECK_STR_CONTAINS(temper_stage_error(h.st), "set osv and/or debian_tracker");
        ph_close(&h);
        char *osv = data_path("osv");
        char *kv_osv = temper_strdupf("osv=%s", osv);
        const char *kv4[] = { kv_osv, "max_files=3", NULL };
        expect_error(kv4, img, run, TEMPER_ELIMIT, "more than max_files (3)");
        free(osv);
        free(kv_osv);
        const char *kv3[] = { kv_tr, "distribution_release=Book Worm", NULL };
        CHECK(at_open(&h, "openvex", kv3) == TEMPER_EINVAL);
        ph_close(&h);
        free(tr);
        free(kv_tr);
    }
    TEST("openvex: nothing known about the image: no statement") {
        char *kv0 = feed("debian_tracker", "empty.json", "{\"other\":{}}");
        const char *kv[] = { kv0, NULL };
        struct ph h;
        CHECK(at_open(&h, "openvex", kv) == TEMPER_OK);
        CHECK_INT_EQ(at_attest(&h, img, run), TEMPER_OK);
        CHECK_INT_EQ(ph_artifact_count(&h), 0);
        ph_close(&h);
        free(kv0);
    }
}

/* httpd.py script (JSON text) serving the tracker (with an ETag) and an OSV file. */
static char *server_script(void)
{
    char *tr = data_path("debian-tracker.json"), *osv = data_path("osv/vulns.json");
    char *ttext = at_read(tr, NULL), *otext = at_read(osv, NULL);
    struct json_object *root = json_object_new_object(), *routes = json_object_new_object();
    struct json_object *t = json_object_new_object(), *o = json_object_new_object();
    struct json_object *bad = json_object_new_object(), *gone = json_object_new_object();
    json_object_object_add(t, "body", json_object_new_string(ttext ? ttext : ""));
    json_object_object_add(t, "etag", json_object_new_string("\"tracker-v1\""));
    json_object_object_add(o, "body", json_object_new_string(otext ? otext : ""));
    json_object_object_add(bad, "body", json_object_new_string("{\"vulns\": ["));
    json_object_object_add(gone, "status", json_object_new_int(404));
    json_object_object_add(routes, "/tracker.json", t);
    json_object_object_add(routes, "/osv/vulns.json", o);
    json_object_object_add(routes, "/bad.json", bad);
    json_object_object_add(routes, "/gone.json", gone);
    json_object_object_add(root, "routes", routes);
    const char *s = json_object_to_json_string(root);
    char *text = s ? strdup(s) : NULL;
    json_object_put(root);
    free(tr);
    free(osv);
    free(ttext);
    free(otext);
    return text;
}

static void test_http(const struct temper_artifact *img, const struct temper_artifact *run)
{
    struct fx_server srv = { 0 };
    char *script = server_script();
    int up = script ? fx_server_start(&srv, script, NULL, NULL) : -1;
    char *kv_tr = temper_strdupf("debian_tracker=http://127.0.0.1:%d/tracker.json", srv.port);
    char *kv_osv = temper_strdupf("osv=http://127.0.0.1:%d/osv/vulns.json", srv.port);
    TEST("openvex: feeds over HTTP, cached and re-validated") {
        const char *kv[] = { kv_tr, kv_osv, NULL };
        struct ph h;
        CHECK_INT_EQ(up, 0);
        CHECK(at_open(&h, "openvex", kv) == TEMPER_OK);
        CHECK_INT_EQ(at_attest(&h, img, run), TEMPER_OK);
        char *first = at_statement_text(&h);
        ph_clear_artifacts(&h);
        CHECK_INT_EQ(at_attest(&h, img, run), TEMPER_OK); /* 304: the cached copy */
        char *second = at_statement_text(&h);
        CHECK(first && second && strcmp(first, second) == 0);
        struct json_object *j = at_statement_json(&h, NULL);
        struct json_object *doc = temper_json_get_object(j, "predicate");
        CHECK_INT_EQ(alen(temper_json_get(doc, "statements")), 7);
        CHECK_STR_EQ(temper_json_get_str(find_vuln(doc, "CVE-2023-1002"), "status"), "affected");
        CHECK_STR_EQ(temper_json_get_str(find_vuln(doc, "CVE-2023-0011"), "status"), "affected");
        char *vkey = temper_strdupf("http:%s", kv_tr + strlen("debian_tracker="));
        CHECK(ph_state(&h, vkey) != NULL); /* the ETag kept for the next run */
        free(vkey);
        json_object_put(j);
        free(first);
        free(second);
        ph_close(&h);
    }
    TEST("openvex: HTTP errors name the URL") {
        char *bad = temper_strdupf("osv=http://127.0.0.1:%d/bad.json", srv.port);
        char *gone = temper_strdupf("debian_tracker=http://127.0.0.1:%d/gone.json", srv.port);
        const char *kv1[] = { bad, NULL };
        const char *kv2[] = { gone, NULL };
        expect_error(kv1, img, run, TEMPER_EFORMAT, "/bad.json: invalid JSON");
        expect_error(kv2, img, run, TEMPER_ENOTFOUND, "/gone.json");
        free(bad);
        free(gone);
    }
    if (up == 0) {
        fx_server_stop(&srv);
    }
    free(script);
    free(kv_tr);
    free(kv_osv);
}

int main(void)
{
    char *log = NULL;
    if (!fx_begin(&log)) {
        return 0;
    }
    struct json_object *pk = NULL;
    int prc = temper_json_parse(NULL, "packages", packages, strlen(packages), 0, 0, &pk);
    char *digest = at_digest("hardened/tools image");
    struct temper_artifact *img = at_image_json(IMAGE, digest, pk);
    struct temper_artifact *run = at_run_record(IMAGE);
    TEST("setup") {
        CHECK(prc == TEMPER_OK && img && run);
    }
    if (img && run) {
        test_osv(img, run, digest);
        test_tracker(img, run);
        test_malformed(img, run);
        test_http(img, run);
    }
    temper_artifact_free(img);
    temper_artifact_free(run);
    json_object_put(pk);
    free(digest);
    at_cleanup();
    fx_end(log);
    return tap_done();
}

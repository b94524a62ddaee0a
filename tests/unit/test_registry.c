/* temper — SDK registry client without a registry: references, tags, tag
 * templates, WWW-Authenticate, Docker config.json, and hostile replies from
 * the scriptable loopback server (huge manifests, wrong digests, endless or
 * foreign Link pagination, bad blobs, token replies). */
#include "config.h"
#include "tap.h"
#include "http_fixture.h"
#include <temper/registry.h>
#include <temper/buf.h>
#include <temper/hash.h>
#include <temper/plugin.h>
#include "sdk/host.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ZERO64 "0000000000000000000000000000000000000000000000000000000000000000"
#define HELLO_SHA "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"

static struct temper_stage *st;

static int ref_ok(const char *s)
{
    struct temper_registry_ref r;
    return temper_registry_ref_parse(s, &r) == TEMPER_OK;
}

static void test_refs(void)
{
    struct temper_registry_ref r;
    TEST("host:port/repo:tag") {
        CHECK_INT_EQ(temper_registry_ref_parse("127.0.0.1:5000/hardened/py:3.11", &r), 0);
        CHECK_STR_EQ(r.host, "127.0.0.1:5000");
        CHECK_STR_EQ(r.repo, "hardened/py");
        CHECK_STR_EQ(r.tag, "3.11");
        CHECK_STR_EQ(r.digest, "");
    }
    TEST("digest references, with and without a tag") {
        CHECK_INT_EQ(temper_registry_ref_parse("reg.example.com/a/b@sha256:" ZERO64, &r), 0);
        CHECK_STR_EQ(r.repo, "a/b");
        CHECK_STR_EQ(r.digest, "sha256:" ZERO64);
        CHECK(ref_ok("localhost:5000/a:t@sha256:" ZERO64));
        CHECK(ref_ok("localhost/x"));
        CHECK(ref_ok("h.io/a__b/c-d/e.f/g---h"));
    }
    TEST("invalid references are refused") {
        static const char *const bad[] = {
            "http://h.io/a", "library/x", "h.io/A", "h.io/a:", "h.io/a:-x", "h.io/",
            "h.io/a//b", "h.io/a___b", "h.io/a@sha256:abc", "h.io/a@md5:" ZERO64,
            "h.io:/a", "h.io:123456/a", "-h.io/a", "h.io/a/", "h.io/a:t t", "",
            "h.io/a:" "0123456789012345678901234567890123456789012345678901234567890123"
            "45678901234567890123456789012345678901234567890123456789012345678", NULL };
        for (size_t i = 0; bad[i]; i++) {
            CHECK(!ref_ok(bad[i]));
        }
        CHECK(temper_registry_ref_parse(NULL, &r) == TEMPER_EINVAL);
    }
    TEST("tag and repository names") {
        CHECK(temper_registry_tag_valid("sha256-" ZERO64 ".sig"));
        CHECK(temper_registry_tag_valid("_x"));
        CHECK(!temper_registry_tag_valid(".x"));
        CHECK(!temper_registry_tag_valid("a/b"));
        CHECK(temper_registry_repo_valid("a/b/c"));
        CHECK(!temper_registry_repo_valid("a/B"));
    }
}

static void expand_is(const char *tmpl, const char *version, const char *variant,
                      const char *want)
{
    char *out = NULL;
    int rc = temper_tag_expand(tmpl, "python", version, variant, &out);
    if (want) {
        CHECK_INT_EQ(rc, TEMPER_OK);
        CHECK_STR_EQ(out, want);
    } else {
        CHECK_INT_EQ(rc, TEMPER_EINVAL);
        CHECK(out == NULL);
    }
    free(out);
}

static void test_tag_expand(void)
{
    TEST("tag templates") {
        expand_is("{version}", "3.11.7", NULL, "3.11.7");
        expand_is("{major}.{minor}", "3.11.7", NULL, "3.11");
        expand_is("{major}", "v3.11.7", "runtime", "3");
        expand_is("{major}.{minor}.{patch}", "3.11.7-1", NULL, "3.11.7");
        expand_is("latest", NULL, "dev", "latest-dev");
        expand_is("{version}-{variant}", "1.0", "dev", "1.0-dev");
        expand_is("{image}-{version}", "1.0", NULL, "python-1.0");
    }
    TEST("tag templates without a value or giving a bad tag") {
        expand_is("{version}", NULL, NULL, NULL);
        expand_is("{minor}", "7", NULL, NULL);
        expand_is("{nope}", "1", NULL, NULL);
        expand_is("{version", "1", NULL, NULL);
        expand_is("", "1", NULL, NULL);
    }
    TEST("tag templates: invalid characters become '_' (shared rules with core/tags.c)") {
        expand_is("a b", "1", NULL, "a_b");
        expand_is("{version}", "1+local", NULL, "1_local");
        expand_is("{version}", "v2.0", NULL, "2.0");
        expand_is("{version}-{variant}", "2.0", "runtime", "2.0");
    }
}

/* temper_tag_template_expand: "TAG", "SKIP: <note>" or "ERR: <note>". */
static const char *tmpl_is(const char *tmpl, const char *image, const char *version,
                           const char *variant)
{
    static char res[512];
    char *out = NULL, *note = NULL;
    int rc = temper_tag_template_expand(tmpl, image, version, variant, &out, &note);
    if (rc != TEMPER_OK) {
        snprintf(res, sizeof res, "ERR: %s", note ? note : "(no note)");
    } else if (!out) {
        snprintf(res, sizeof res, "SKIP: %s", note ? note : "(no note)");
    } else {
        snprintf(res, sizeof res, "%s%s", out, note ? " (unexpected note)" : "");
    }
    free(out);
    free(note);
    return res;
}

static void test_tag_template(void)
{
    TEST("tag template: a missing value skips the template with a note") {
        CHECK_STR_EQ(tmpl_is("{version}", "img", NULL, NULL),
                     "SKIP: tag template '{version}' skipped: no value for {version} "
                     "(version unknown)");
        CHECK_STR_EQ(tmpl_is("{major}.{minor}", "img", "7", NULL),
                     "SKIP: tag template '{major}.{minor}' skipped: no value for {minor} "
                     "(version 7)");
        CHECK_STR_CONTAINS(tmpl_is("{image}-x", NULL, "1", NULL), "SKIP:");
        CHECK_STR_CONTAINS(tmpl_is("{major}", "img", "bookworm", NULL), "no value for {major}");
        CHECK_STR_EQ(tmpl_is("{version}", "img", "bookworm", NULL), "bookworm");
        CHECK_STR_EQ(tmpl_is("latest", "img", NULL, "dev"), "latest-dev");
    }
    TEST("tag template: template errors carry a message") {
        CHECK_STR_CONTAINS(tmpl_is("{nope}", "img", "1", NULL),
                           "ERR: tag template '{nope}': unknown placeholder");
        CHECK_STR_CONTAINS(tmpl_is("x{version", "img", "1", NULL), "unclosed '{'");
        CHECK_STR_CONTAINS(tmpl_is("-.", "img", "1", NULL), "an empty tag");
        char longt[600];
        memset(longt, 'a', sizeof longt - 1);
        longt[sizeof longt - 1] = '\0';
        CHECK_STR_CONTAINS(tmpl_is(longt, "img", "1", NULL), "ERR:");
        memset(longt, 'a', 129);
        longt[129] = '\0';
        CHECK_STR_CONTAINS(tmpl_is(longt, "img", "1", NULL), "over 128 bytes");
        longt[128] = '\0';
        CHECK_INT_EQ(strlen(tmpl_is(longt, "img", "1", NULL)), 128);
        CHECK_STR_EQ(tmpl_is(".x", "img", "1", NULL), "_x");
        CHECK_STR_EQ(tmpl_is("caf\xc3\xa9", "img", "1", NULL), "caf__");
    }
}

static int challenge(const char *v, struct temper_registry_challenge *c)
{
    return temper_registry_challenge_parse(v, c);
}

static void test_challenges(void)
{
    struct temper_registry_challenge c;
    TEST("Bearer challenge") {
        CHECK_INT_EQ(challenge("Bearer realm=\"https://auth.docker.io/token\","
                               "service=\"registry.docker.io\","
                               "scope=\"repository:library/ubuntu:pull\"", &c), 0);
        CHECK_STR_EQ(c.scheme, "Bearer");
        CHECK_STR_EQ(c.realm, "https://auth.docker.io/token");
        CHECK_STR_EQ(c.service, "registry.docker.io");
        CHECK_STR_EQ(c.scope, "repository:library/ubuntu:pull");
        temper_registry_challenge_cleanup(&c);
    }
    TEST("several challenges, commas and escapes inside quotes") {
        CHECK_INT_EQ(challenge("Basic realm=\"a, b\", Bearer realm=\"https://a/t?x=\\\"y\\\"\","
                               " scope=\"repository:a:pull,push\" ,error=invalid_token", &c), 0);
        CHECK_STR_EQ(c.scheme, "Bearer");
        CHECK_STR_EQ(c.realm, "https://a/t?x=\"y\"");
        CHECK_STR_EQ(c.scope, "repository:a:pull,push");
        CHECK_STR_EQ(c.error, "invalid_token");
        temper_registry_challenge_cleanup(&c);
    }
    TEST("Basic only, case-insensitive scheme") {
        CHECK_INT_EQ(challenge("basic realm=\"Registry\"", &c), 0);
        CHECK_STR_EQ(c.realm, "Registry");
        temper_registry_challenge_cleanup(&c);
    }
    TEST("unusable challenges") {
        CHECK_INT_EQ(challenge("Negotiate", &c), TEMPER_ENOTFOUND);
        CHECK_INT_EQ(challenge("Bearer realm=\"unterminated", &c), TEMPER_EFORMAT);
        CHECK_INT_EQ(challenge("Bearer service=\"x\"", &c), TEMPER_EFORMAT);
        CHECK_INT_EQ(challenge("Bearer realm=\"x\" junk", &c), TEMPER_EFORMAT);
        CHECK_INT_EQ(challenge("", &c), TEMPER_ENOTFOUND);
        CHECK(c.realm == NULL);
    }
    TEST("parameter and size bounds") {
        struct temper_buf b;
        temper_buf_init(&b, 0);
        CHECK_INT_EQ(temper_buf_puts(&b, "Bearer realm=\"x\""), 0);
        for (int i = 0; i < 40; i++) {
            CHECK_INT_EQ(temper_buf_printf(&b, ",p%d=v", i), 0);
        }
        CHECK_INT_EQ(challenge(b.data, &c), TEMPER_EFORMAT);
        temper_buf_reset(&b);
        CHECK_INT_EQ(temper_buf_puts(&b, "Bearer realm=\""), 0);
        int ok = 1;
        for (int i = 0; i < 9000; i++) {
            ok = ok && temper_buf_puts(&b, "a") == TEMPER_OK;
        }
        CHECK(ok);
        CHECK_INT_EQ(challenge(b.data, &c), TEMPER_EFORMAT);
        temper_buf_cleanup(&b);
    }
}

static void docker_auth_is(const char *cfg, const char *host, int want_rc, const char *user,
                           const char *pass)
{
    char *path = fx_path("config.json");
    char *u = NULL, *p = NULL;
    CHECK_INT_EQ(fx_write(path, cfg), 0);
    CHECK_INT_EQ(temper_registry_docker_auth(st, path, host, &u, &p), want_rc);
    if (want_rc == TEMPER_OK) {
        CHECK_STR_EQ(u, user);
        CHECK_STR_EQ(p, pass);
    } else {
        CHECK(u == NULL && p == NULL);
    }
    free(u);
    free(p);
    free(path);
}

static void test_docker_config(void)
{
    TEST("Docker config.json auths") {
        /* "alice:pa:ss" */
        docker_auth_is("{\"auths\":{\"r.io:5000\":{\"auth\":\"YWxpY2U6cGE6c3M=\"}}}",
                       "r.io:5000", TEMPER_OK, "alice", "pa:ss");
        docker_auth_is("{\"auths\":{\"https://r.io\":{\"username\":\"bob\","
                       "\"password\":\"pw\"}}}", "r.io", TEMPER_OK, "bob", "pw");
        docker_auth_is("{\"auths\":{\"other.io\":{\"auth\":\"YWxpY2U6cGE6c3M=\"}}}",
                       "r.io", TEMPER_ENOTFOUND, NULL, NULL);
        docker_auth_is("{\"credsStore\":\"desktop\"}", "r.io", TEMPER_ENOTFOUND, NULL, NULL);
    }
    TEST("malformed Docker config.json entries") {
        docker_auth_is("{\"auths\":{\"r.io\":{\"auth\":\"!!notbase64\"}}}", "r.io",
                       TEMPER_EFORMAT, NULL, NULL);
        docker_auth_is("{\"auths\":{\"r.io\":{\"auth\":\"bm9jb2xvbg==\"}}}", "r.io",
                       TEMPER_EFORMAT, NULL, NULL); /* "nocolon" */
        docker_auth_is("{\"auths\":{\"r.io\":{}}}", "r.io", TEMPER_EFORMAT, NULL, NULL);
        docker_auth_is("{\"auths\":", "r.io", TEMPER_EFORMAT, NULL, NULL);
    }
}

/* ---- hostile replies ---------------------------------------------------------- */

static const char script[] =
    "{\"routes\": {"
    "\"/v2/r/manifests/huge\": {\"body_size\": 5000000, \"headers\": [[\"Content-Type\","
    " \"application/vnd.oci.image.manifest.v1+json\"]]},"
    "\"/v2/r/manifests/liar\": {\"body\": \"{}\", \"headers\": [[\"Docker-Content-Digest\","
    " \"sha256:" ZERO64 "\"]]},"
    "\"/v2/r/manifests/sha256:" ZERO64 "\": {\"body\": \"hello world\"},"
    "\"/v2/r/tags/list\": {\"body\": \"{\\\"tags\\\":[\\\"a\\\"]}\", \"headers\": [[\"Link\","
    " \"</v2/r/tags/list?n=1&last=a>; rel=\\\"next\\\"\"]]},"
    "\"/v2/far/tags/list\": {\"body\": \"{\\\"tags\\\":[\\\"a\\\"]}\", \"headers\": [[\"Link\","
    " \"<http://evil.example/v2/far/tags/list>; rel=\\\"next\\\"\"]]},"
    "\"/v2/badtag/tags/list\": {\"body\": \"{\\\"tags\\\":[\\\"../x\\\"]}\"},"
    "\"/v2/r/blobs/sha256:" ZERO64 "\": {\"body\": \"hello world\"},"
    "\"/v2/r/blobs/sha256:" HELLO_SHA "\": {\"body_size\": 100000},"
    "\"/v2/t/tags/list\": {\"sequence\": ["
    "  {\"status\": 401, \"headers\": [[\"WWW-Authenticate\", \"Bearer realm=\\\"http://"
    "127.0.0.1:{port}/token\\\",service=\\\"s\\\",scope=\\\"repository:t:pull\\\"\"]]},"
    "  {\"body\": \"{\\\"tags\\\":[\\\"ok\\\"]}\"}]},"
    "\"/token\": {\"body\": \"{\\\"access_token\\\":\\\"tok-123456\\\"}\"},"
    "\"/v2/nt/tags/list\": {\"status\": 401, \"headers\": [[\"WWW-Authenticate\","
    " \"Bearer realm=\\\"http://127.0.0.1:{port}/notoken\\\"\"]]},"
    "\"/notoken\": {\"body\": \"{\\\"nothing\\\":1}\"}"
    "}}";

static struct temper_registry *open_client(const struct fx_server *s)
{
    struct temper_registry_opts o;
    struct temper_registry *r = NULL;
    char host[64];
    temper_registry_opts_init(&o);
    o.plain_http = true;
    o.max_retries = -1;
    o.max_pages = 5;
    snprintf(host, sizeof host, "127.0.0.1:%d", s->port);
    return temper_registry_new(st, host, &o, &r) == TEMPER_OK ? r : NULL;
}

static void test_hostile(void)
{
    struct fx_server s;
    struct temper_registry_manifest m = { 0 };
    struct temper_strlist tags = { 0 };
    struct temper_oci_layout *l = NULL;
    if (fx_server_start(&s, script, NULL, NULL) != 0) {
        TEST("loopback server") {
            CHECK(0);
        }
        return;
    }
    struct temper_registry *r = open_client(&s);
    char *dir = fx_path("layout");
    TEST("a manifest over the size cap") {
        CHECK(r != NULL);
        CHECK_INT_EQ(temper_registry_manifest_get(r, "r", "huge", &m), TEMPER_ELIMIT);
        CHECK(m.body == NULL);
    }
    TEST("manifest digests are checked") {
        temper_stage_reset(st);
        CHECK_INT_EQ(temper_registry_manifest_get(r, "r", "liar", &m), TEMPER_ECRYPTO);
        CHECK_INT_EQ(temper_registry_manifest_get(r, "r", "sha256:" ZERO64, &m), TEMPER_ECRYPTO);
        CHECK_STR_CONTAINS(temper_stage_error(st), "does not match");
    }
    TEST("endless Link pagination stops at max_pages") {
        CHECK_INT_EQ(temper_registry_tags_list(r, "r", &tags), TEMPER_ELIMIT);
        CHECK_INT_EQ((int)tags.n, 0);
    }
    TEST("a Link to another host and invalid tags are refused") {
        CHECK_INT_EQ(temper_registry_tags_list(r, "far", &tags), TEMPER_EFORMAT);
        CHECK_INT_EQ(temper_registry_tags_list(r, "badtag", &tags), TEMPER_EFORMAT);
    }
    TEST("a blob with the wrong content or size is not kept") {
        struct temper_oci_descriptor d = { .digest = "sha256:" ZERO64, .size = 11 };
        struct stat sb;
        CHECK_INT_EQ(temper_oci_layout_create(st, dir, &l), TEMPER_OK);
        CHECK_INT_EQ(temper_registry_blob_get(r, "r", &d, l), TEMPER_ECRYPTO);
        char *p = temper_oci_blob_path(l, d.digest);
        CHECK(p && lstat(p, &sb) != 0);
        free(p);
        struct temper_oci_descriptor big = { .digest = "sha256:" HELLO_SHA, .size = 11 };
        CHECK(temper_registry_blob_get(r, "r", &big, l) != TEMPER_OK);
        p = temper_oci_blob_path(l, big.digest);
        CHECK(p && lstat(p, &sb) != 0);
        free(p);
    }
    TEST("the bearer flow: 401, token, retry") {
        CHECK_INT_EQ(temper_registry_tags_list(r, "t", &tags), TEMPER_OK);
        CHECK_INT_EQ((int)tags.n, 1);
        CHECK_STR_EQ(tags.v[0], "ok");
    }
    TEST("a token reply without a token is a clear error") {
        temper_stage_reset(st);
        CHECK_INT_EQ(temper_registry_tags_list(r, "nt", &tags), TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(temper_stage_error(st), "no usable token");
    }
    temper_oci_list_cleanup(&tags);
    temper_registry_manifest_cleanup(&m);
    temper_oci_layout_free(l);
    temper_registry_free(r);
    free(dir);
    fx_server_stop(&s);
}

int main(void)
{
    char *log_path = NULL;
    if (!fx_begin(&log_path)) {
        return 0;
    }
    test_refs();
    test_tag_expand();
    test_tag_template();
    test_challenges();
    st = temper_stage_new(NULL, "registry-test");
    test_docker_config();
    test_hostile();
    temper_stage_free(st);
    fx_end(log_path);
    return tap_done();
}

/* temper tests — tracker_github_releases / tracker_github_tags polling
 * against the GitHub mock serving the recorded replies: pagination, ETag/304
 * rounds, filters and ordering, pinned baselines, GHES and public URLs. */
#include "config.h"
#include "github_testlib.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPO "repo=PyGithub/PyGithub"
#define PAGE10 "per_page=10"

static const struct temper_tracker_ops *ops_of(struct ph *h)
{
    return ph_ops(h);
}

/* Poll one watch of PyGithub/PyGithub with `wkvs` and return the new_version
 * of the change it reports (a new string), or NULL when none. */
static char *newest(const char *plugin, const struct gm *m, const char *const *ikvs,
                    const char *const *wkvs, const char *pinned)
{
    struct ph h;
    struct gt_watch w;
    char *v = NULL;
    if (gt_open(&h, plugin, m, ikvs) == TEMPER_OK &&
        gt_watch_init(&w, ops_of(&h), "img", "img", pinned, wkvs) == TEMPER_OK) {
        struct gt_watch *ws[] = { &w };
        if (gt_poll(&h, ws, 1) == TEMPER_OK && ph_artifact_count(&h) == 1) {
            const char *nv = gt_attr(&h, 0, TEMPER_ATTR_NEW_VERSION);
            v = nv ? strdup(nv) : NULL;
        } else {
            const char *e = temper_stage_error(h.st);
            printf("# poll: %s (%zu changes)\n", e ? e : "no error", ph_artifact_count(&h));
        }
        gt_watch_cleanup(&w);
    }
    ph_close(&h);
    return v;
}

static void test_options(const struct gm *m)
{
    TEST("open checks api_url, web_url and the token options")
    {
        struct ph h;
        static const char *const bad_api[] = { "api_url=ftp://example.org", NULL };
        static const char *const bad_web[] = { "web_url=not a url", NULL };
        static const char *const both[] = { "token_env=GT_TOKEN", "token_file=/dev/null",
                                            NULL };
        static const char *const unset[] = { "token_env=GT_TOKEN_UNSET", NULL };
        char *err = NULL;
        CHECK(gt_open(&h, "github_releases", NULL, bad_api) == TEMPER_EINVAL);
        CHECK_STR_CONTAINS(temper_stage_error(h.st), "api_url");
        ph_close(&h);
        CHECK(gt_open(&h, "github_releases", m, bad_web) == TEMPER_EINVAL);
        CHECK_STR_CONTAINS(temper_stage_error(h.st), "web_url");
        ph_close(&h);
        setenv("GT_TOKEN", "abc", 1);
        CHECK(gt_open(&h, "github_tags", m, both) == TEMPER_EINVAL);
        CHECK_STR_CONTAINS(temper_stage_error(h.st), "mutually exclusive");
        ph_close(&h);
        unsetenv("GT_TOKEN_UNSET");
        CHECK(gt_open(&h, "github_tags", m, unset) == TEMPER_EINVAL);
        CHECK_STR_CONTAINS(temper_stage_error(h.st), "GT_TOKEN_UNSET");
        ph_close(&h);
        static const char *const range[] = { "per_page=101", NULL };
        CHECK(ph_load(&h, TEMPER_KIND_TRACKER, "github_releases", range, &err) != TEMPER_OK);
        free(err);
        ph_close(&h);
    }
}

static void new_release(const struct gm *m, struct ph *hp, struct gt_watch *const *ws)
{
    TEST("a new release: one change v1.55 -> v1.56 with the compare URL")
    {
        CHECK_INT_EQ(gm_scenario(m, "{\"add_release\": [{\"repo\": \"PyGithub/PyGithub\", "
                                    "\"tag_name\": \"v1.56\"}]}"), 0);
        gm_reset(m);
        ph_clear_artifacts(hp);
        CHECK_INT_EQ(gt_poll(hp, ws, 1), TEMPER_OK);
        CHECK_INT_EQ(gm_stat(m, "conditional"), 3);
        CHECK_INT_EQ(ph_artifact_count(hp), 1);
        CHECK_STR_EQ(gt_attr(hp, 0, TEMPER_ATTR_OLD_VERSION), "v1.55");
        CHECK_STR_EQ(gt_attr(hp, 0, TEMPER_ATTR_NEW_VERSION), "v1.56");
        CHECK_STR_EQ(gt_attr(hp, 0, TEMPER_ATTR_OLD_REF), "v1.55");
        char want[160];
        snprintf(want, sizeof want, "%s/PyGithub/PyGithub/compare/v1.55...v1.56", m->base);
        CHECK_STR_EQ(gt_attr(hp, 0, TEMPER_ATTR_COMPARE_URL), want);
        ph_clear_artifacts(hp);
        CHECK_INT_EQ(gt_poll(hp, ws, 1), TEMPER_OK);
        CHECK_INT_EQ(ph_artifact_count(hp), 0);
    }
}

static void test_releases_rounds(const struct gm *m)
{
    struct ph h;
    struct gt_watch w;
    static const char *const ikv[] = { PAGE10, NULL };
    static const char *const wkv[] = { REPO, NULL };
    char *saved = NULL;
    if (gt_open(&h, "github_releases", m, ikv) != TEMPER_OK ||
        gt_watch_init(&w, ops_of(&h), "pygithub", "pygithub", NULL, wkv) != TEMPER_OK) {
        CHECK(!"tracker opened");
        ph_close(&h);
        return;
    }
    struct gt_watch *ws[] = { &w };
    TEST("first round: three recorded pages, an initial change to v1.55")
    {
        gm_reset(m);
        CHECK_INT_EQ(gt_poll(&h, ws, 1), TEMPER_OK);
        CHECK_INT_EQ(gm_stat(m, "count"), 3);
        CHECK_INT_EQ(gm_stat(m, "conditional"), 0);
        CHECK_INT_EQ(ph_artifact_count(&h), 1);
        CHECK_STR_EQ(gt_attr(&h, 0, TEMPER_ATTR_NEW_VERSION), "v1.55");
        CHECK_STR_EQ(gt_attr(&h, 0, TEMPER_ATTR_NEW_REF), "v1.55");
        CHECK_STR_EQ(gt_attr(&h, 0, TEMPER_ATTR_OLD_VERSION), "");
        CHECK(gt_attr(&h, 0, TEMPER_ATTR_COMPARE_URL) == NULL);
        CHECK_STR_EQ(gt_attr(&h, 0, TEMPER_ATTR_TRACKER), "test");
        CHECK_STR_EQ(gt_attr(&h, 0, TEMPER_ATTR_UPSTREAM), "PyGithub/PyGithub");
        CHECK_STR_EQ(gt_attr(&h, 0, TEMPER_ATTR_IMAGE), "pygithub");
        CHECK_STR_EQ(gt_attr(&h, 0, TEMPER_ATTR_RELEASE_URL),
                     "https://github.com/PyGithub/PyGithub/releases/tag/v1.55");
        char *stats = gm_stats_text(m);
        CHECK_STR_CONTAINS(stats, "/repositories/3544490/releases?page=3&per_page=10");
        free(stats);
        const char *st = ph_state(&h, "w:pygithub");
        CHECK_STR_CONTAINS(st, "\"version\":\"v1.55\"");
        saved = st ? strdup(st) : NULL;
    }
    TEST("second round: only conditional requests, all 304, nothing reported")
    {
        long budget = gm_stat(m, "remaining");
        gm_reset(m);
        ph_clear_artifacts(&h);
        CHECK_INT_EQ(gt_poll(&h, ws, 1), TEMPER_OK);
        CHECK_INT_EQ(gm_stat(m, "count"), 3);
        CHECK_INT_EQ(gm_stat(m, "conditional"), 3);
        CHECK_INT_EQ(gm_stat(m, "not_modified"), 3);
        CHECK_INT_EQ(gm_stat(m, "remaining"), budget); /* a 304 costs no rate limit */
        CHECK_INT_EQ(ph_artifact_count(&h), 0);
        CHECK_STR_EQ(ph_state(&h, "w:pygithub"), saved);
    }
    new_release(m, &h, ws);
    free(saved);
    gt_watch_cleanup(&w);
    ph_close(&h);
}

static void test_flags_and_dedup(const struct gm *m)
{
    TEST("drafts and pre-releases are skipped unless asked; shared pages fetched once")
    {
        struct ph h;
        struct gt_watch a, b, c;
        static const char *const ikv[] = { PAGE10, NULL };
        static const char *const ka[] = { REPO, "strip_prefix=v", NULL };
        static const char *const kb[] = { REPO, "strip_prefix=v", "prereleases=yes", NULL };
        static const char *const kc[] = { REPO, "strip_prefix=v", "prereleases=yes",
                                          "drafts=yes", NULL };
        CHECK_INT_EQ(gm_scenario(m, "{\"add_release\": [{\"repo\": \"PyGithub/PyGithub\", "
                                    "\"tag_name\": \"v1.57\", \"prerelease\": true}, "
                                    "{\"repo\": \"PyGithub/PyGithub\", \"tag_name\": "
                                    "\"v1.58\", \"draft\": true}]}"), 0);
        if (gt_open(&h, "github_releases", m, ikv) == TEMPER_OK &&
            gt_watch_init(&a, ops_of(&h), "a", "a", NULL, ka) == TEMPER_OK &&
            gt_watch_init(&b, ops_of(&h), "b", "b", NULL, kb) == TEMPER_OK &&
            gt_watch_init(&c, ops_of(&h), "c", "c", NULL, kc) == TEMPER_OK) {
            struct gt_watch *ws[] = { &a, &b, &c };
            gm_reset(m);
            CHECK_INT_EQ(gt_poll(&h, ws, 3), TEMPER_OK);
            CHECK_INT_EQ(gm_stat(m, "count"), 4); /* 33 releases: 4 pages, once */
            CHECK_INT_EQ(ph_artifact_count(&h), 3);
            CHECK_STR_EQ(gt_attr(&h, 0, TEMPER_ATTR_NEW_VERSION), "1.56");
            CHECK_STR_EQ(gt_attr(&h, 1, TEMPER_ATTR_NEW_VERSION), "1.57");
            CHECK_STR_EQ(gt_attr(&h, 2, TEMPER_ATTR_NEW_VERSION), "1.58");
            gt_watch_cleanup(&a);
            gt_watch_cleanup(&b);
            gt_watch_cleanup(&c);
        } else {
            CHECK(!"tracker and watches opened");
        }
        ph_close(&h);
    }
}

static void check_newest(const char *plugin, const struct gm *m, const char *const *wkv,
                         const char *want)
{
    static const char *const ikv[] = { PAGE10, NULL };
    char *got = newest(plugin, m, ikv, wkv, NULL);
    CHECK_STR_EQ(got, want);
    free(got);
}

static void test_filters(const struct gm *m)
{
    TEST("releases: version order, not list order; flagged pre-releases")
    {
        static const char *const k1[] = { REPO, "include=^v1\\.4[0-2]", NULL };
        static const char *const k2[] = { REPO, "include=^v1\\.54", NULL };
        static const char *const k3[] = { REPO, "include=^v1\\.40", NULL };
        static const char *const k4[] = { REPO, "include=^v1\\.40", "prereleases=1", NULL };
        static const char *const k5[] = { REPO, "include=^v1\\.43", "exclude=\\.[5-8]$",
                                          "strip_prefix=v", NULL };
        check_newest("github_releases", m, k1, "v1.42");   /* listed after v1.41 */
        check_newest("github_releases", m, k2, "v1.54.1"); /* natural order beats 1.54.0.1 */
        check_newest("github_releases", m, k3, "v1.40");   /* v1.40a1..a4 are flagged */
        check_newest("github_releases", m, k4, "v1.40a4");
        check_newest("github_releases", m, k5, "1.43.4");
    }
    TEST("tags: pre-release versions, version_regex, non-semver fallback")
    {
        static const char *const k1[] = { REPO, "strip_prefix=v", NULL };
        static const char *const k2[] = { REPO, "exclude=^v2\\.[1-5]", NULL };
        static const char *const k3[] = { REPO, "exclude=^v2\\.[1-5]", "prereleases=on",
                                          NULL };
        static const char *const k4[] = { REPO, "version_regex=^v([0-9]+\\.[0-9]+)$", NULL };
        static const char *const k5[] = { REPO, "include=^v2\\.1\\.", NULL };
        CHECK_INT_EQ(gm_scenario(m, "{\"add_tag\": [{\"repo\": \"PyGithub/PyGithub\", "
                                    "\"name\": \"nightly\"}, {\"repo\": "
                                    "\"PyGithub/PyGithub\", \"name\": \"latest\"}]}"), 0);
        check_newest("github_tags", m, k1, "2.5.0"); /* not "nightly" */
        check_newest("github_tags", m, k2, "v1.59.1"); /* v2.0.x are all pre-releases */
        check_newest("github_tags", m, k3, "v2.0.1-preview");
        check_newest("github_tags", m, k4, "1.57");
        check_newest("github_tags", m, k5, "v2.1.1"); /* v2.1.0.post0 is older */
    }
}

static void test_bad_watches(const struct gm *m)
{
    TEST("bad watch options name the image and do not stop the others")
    {
        struct ph h;
        struct gt_watch a, b, c;
        static const char *const ikv[] = { PAGE10, NULL };
        static const char *const ka[] = { REPO, "include=(", NULL };
        static const char *const kb[] = { "repo=not/a/repo", NULL };
        static const char *const kc[] = { REPO, "version_regex=^v", NULL };
        if (gt_open(&h, "github_tags", m, ikv) == TEMPER_OK &&
            gt_watch_init(&a, ops_of(&h), "bad-regex", "a", NULL, ka) == TEMPER_OK &&
            gt_watch_init(&b, ops_of(&h), "bad-repo", "b", NULL, kb) == TEMPER_OK &&
            gt_watch_init(&c, ops_of(&h), "no-group", "c", NULL, kc) == TEMPER_OK) {
            struct gt_watch *ws[] = { &a, &b, &c };
            CHECK_INT_EQ(gt_poll(&h, ws, 3), TEMPER_EINVAL);
            CHECK_STR_CONTAINS(temper_stage_error(h.st), "image bad-regex: [upstream] include");
            struct gt_watch *two[] = { &b, &a };
            CHECK_INT_EQ(gt_poll(&h, two, 2), TEMPER_EINVAL);
            CHECK_STR_CONTAINS(temper_stage_error(h.st), "image bad-repo: [upstream] repo");
            struct gt_watch *one[] = { &c };
            CHECK_INT_EQ(gt_poll(&h, one, 1), TEMPER_EINVAL);
            CHECK_STR_CONTAINS(temper_stage_error(h.st), "no group");
            gt_watch_cleanup(&a);
            gt_watch_cleanup(&b);
            gt_watch_cleanup(&c);
        } else {
            CHECK(!"tracker and watches opened");
        }
        ph_close(&h);
    }
}

/* One change against the pinned version 1.54; returns the compare_url. */
static char *pinned_compare(const struct gm *m, const char *const *ikv, char **release_url)
{
    struct ph h;
    struct gt_watch w;
    static const char *const wkv[] = { REPO, "strip_prefix=v", "include=^v1\\.5[45]$", NULL };
    char *cmp = NULL;
    *release_url = NULL;
    if (gt_open(&h, "github_releases", m, ikv) == TEMPER_OK &&
        gt_watch_init(&w, ops_of(&h), "img", "img", "1.54", wkv) == TEMPER_OK) {
        struct gt_watch *ws[] = { &w };
        if (gt_poll(&h, ws, 1) == TEMPER_OK && ph_artifact_count(&h) == 1) {
            CHECK_STR_EQ(gt_attr(&h, 0, TEMPER_ATTR_OLD_VERSION), "1.54");
            CHECK_STR_EQ(gt_attr(&h, 0, TEMPER_ATTR_OLD_REF), "v1.54");
            CHECK_STR_EQ(gt_attr(&h, 0, TEMPER_ATTR_NEW_VERSION), "1.55");
            const char *c = gt_attr(&h, 0, TEMPER_ATTR_COMPARE_URL);
            const char *r = gt_attr(&h, 0, TEMPER_ATTR_RELEASE_URL);
            cmp = c ? strdup(c) : NULL;
            *release_url = r ? strdup(r) : NULL;
        } else {
            const char *e = temper_stage_error(h.st);
            printf("# poll: %s\n", e ? e : "no change");
        }
        gt_watch_cleanup(&w);
    }
    ph_close(&h);
    return cmp;
}

/* pinned_compare() with api_url on a public-looking host reached through
 * the mock as an HTTP proxy; checks the web links. */
static void proxied(const struct gm *m, const char *api, const char *web, const char *release)
{
    const char *ikv[] = { api, PAGE10, NULL };
    char want[160], *rel = NULL;
    setenv("http_proxy", m->base, 1);
    char *cmp = pinned_compare(m, ikv, &rel);
    unsetenv("http_proxy");
    snprintf(want, sizeof want, "%s/PyGithub/PyGithub/compare/v1.54...v1.55", web);
    CHECK_STR_EQ(cmp, want);
    if (release) {
        CHECK_STR_EQ(rel, release);
    }
    free(cmp);
    free(rel);
}

static void test_urls(const struct gm *m)
{
    TEST("GitHub Enterprise api_url: requests under /api/v3, links on the host")
    {
        char api[128], want[160];
        char *rel = NULL;
        snprintf(api, sizeof api, "api_url=%s/api/v3/", m->base);
        const char *ikv[] = { api, PAGE10, NULL };
        gm_reset(m);
        char *cmp = pinned_compare(m, ikv, &rel);
        snprintf(want, sizeof want, "%s/PyGithub/PyGithub/compare/v1.54...v1.55", m->base);
        CHECK_STR_EQ(cmp, want);
        char *stats = gm_stats_text(m);
        CHECK_STR_CONTAINS(stats, "\"raw\":\"/api/v3/repos/PyGithub/PyGithub/releases\"");
        CHECK_STR_CONTAINS(stats, "\"raw\":\"/api/v3/repositories/3544490/releases\"");
        free(stats);
        free(cmp);
        free(rel);
    }
    TEST("public api_url (through a loopback proxy): github.com links")
    {
        proxied(m, "api_url=http://api.github.com", "https://github.com",
                "https://github.com/PyGithub/PyGithub/releases/tag/v1.55");
    }
    TEST("GHE.com data residency api_url (api.SUB.ghe.com): links on SUB.ghe.com")
    {
        proxied(m, "api_url=http://api.acme.ghe.com/", "http://acme.ghe.com", NULL);
    }
    TEST("pagination stops at max_pages")
    {
        static const char *const ikv[] = { "per_page=5", "max_pages=2", NULL };
        static const char *const wkv[] = { REPO, "include=^v1\\.4", NULL };
        gm_reset(m);
        char *got = newest("github_releases", m, ikv, wkv, NULL);
        CHECK(got == NULL); /* the v1.4x releases are on page 3 and later */
        CHECK_INT_EQ(gm_stat(m, "count"), 2);
        free(got);
    }
}

static void run(const struct gm *m)
{
    test_options(m);
    test_releases_rounds(m);
    test_flags_and_dedup(m);
    test_filters(m);
    test_bad_watches(m);
    test_urls(m);
}

int main(void)
{
    return gt_main(run, tap_done);
}

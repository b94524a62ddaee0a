/* Fuzz target: the GitHub trackers' handling of API replies.  The tracker
 * code is static inside the plugin (plugins/tracker_github/github_*.c, one
 * translation unit per module); this harness includes it the same way the
 * module descriptors do, so the very functions the plugins run are fuzzed:
 *  - a releases or tags list page -> the best and the pinned candidate
 *    (gh_parse_page) under several watch filters;
 *  - a compare reply -> its checked commits and files (take_items) -> the
 *    mbox handed to the guards (gh_mbox_build), which temper_patch_parse()
 *    must accept: the tracker never writes an mbox the guard refuses. */
#include "config.h"
#include "github.h"
#include "github_conf.c"
#include "github_fetch.c"
#include "github_page.c"
#include "github_poll.c"
#include "github_mbox.c"
#include "github_diff.c"
#include "fuzz.h"
#include <temper/patch.h>

static void page(char *body, size_t size, enum gh_mode mode, const char *strip,
                 const char *vregex, bool pre)
{
    struct gh_conf conf = { .max_body = 8u << 20 };
    struct gh_state s = { .conf = &conf, .mode = mode, .api = (char *)"https://api.github.com",
                          .web = (char *)"https://github.com" };
    struct gh_watch_conf wc = { .repo = (char *)"owner/repo", .strip_prefix = (char *)strip,
                                .prereleases = pre };
    struct temper_watch w = { .size = sizeof w, .image = "img", .id = "id", .conf = &wc,
                              .pinned = "1.2.3" };
    struct gh_watch gw = { .w = &w, .wc = &wc };
    struct gh_call c;
    struct json_object *entry = NULL;
    memset(&c, 0, sizeof c);
    c.url = (char *)"https://api.github.com/repos/owner/repo/releases?per_page=100";
    c.resp.body.data = body;
    c.resp.body.len = size;
    if (vregex) {
        FUZZ_ASSERT(regcomp(&gw.vregex, vregex, REG_EXTENDED) == 0);
        gw.has_vregex = true;
    }
    if (gh_parse_page(&s, NULL, &gw, &c, &entry) == TEMPER_OK) {
        FUZZ_ASSERT(entry && temper_json_get_str(entry, "url"));
        struct json_object *best = temper_json_get_object(entry, "best");
        struct gh_cand cand;
        if (best) {
            FUZZ_ASSERT(gh_cand_from_json(best, &cand) == TEMPER_OK);
            gh_cand_cleanup(&cand);
        }
    }
    json_object_put(entry);
    if (vregex) {
        regfree(&gw.vregex);
    }
}

static void compare(const char *body, size_t size)
{
    struct gh_conf conf = { .max_body = 8u << 20, .diff_max_commits = 250 };
    struct gh_state s = { .conf = &conf, .mode = GH_TAGS };
    struct diffrun r = { .s = &s, .total = -1 };
    struct json_object *root = NULL;
    struct temper_buf b;
    struct temper_patch_set *ps = NULL;
    if (temper_json_parse(NULL, "fuzz", body, size, 8u << 20, 32, &root) != TEMPER_OK) {
        return;
    }
    r.commits = json_object_new_array();
    r.files = json_object_new_array();
    FUZZ_ASSERT(r.commits && r.files);
    temper_buf_init(&b, 16u << 20);
    if (json_object_is_type(root, json_type_object) &&
        take_items(&r, "fuzz", root, "commits", r.commits, 250, &r.commits_trunc) ==
            TEMPER_OK &&
        take_items(&r, "fuzz", root, "files", r.files, GH_MAX_FILES, &r.files_trunc) ==
            TEMPER_OK) {
        struct gh_diffset d = {
            .repo = "owner/repo", .old_ref = "v1.0", .new_ref = "v1.1",
            .compare_url = "https://github.com/owner/repo/compare/v1.0...v1.1",
            .status = temper_json_get_str(root, "status"), .total_commits = -1,
            .commits = r.commits, .files = r.files, .now_ms = 1700000000000LL,
        };
        if (gh_mbox_build(&d, &b) == TEMPER_OK) {
            int rc = temper_patch_parse(NULL, "mbox", b.data, b.len, NULL, &ps);
            if (rc != TEMPER_OK && getenv("TEMPER_FUZZ_VERBOSE")) {
                fprintf(stderr, "---- mbox ----\n%s\n---- end ----\n", b.data);
            }
            FUZZ_ASSERT(rc == TEMPER_OK);
            FUZZ_ASSERT(ps->n_commits >= json_object_array_length(r.commits));
            temper_patch_set_free(ps);
        }
    }
    temper_buf_cleanup(&b);
    json_object_put(r.commits);
    json_object_put(r.files);
    json_object_put(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_cstr(data, size);
    fuzz_init();
    page(body, size, GH_RELEASES, NULL, NULL, false);
    page(body, size, GH_RELEASES, NULL, NULL, true);
    page(body, size, GH_TAGS, "v", NULL, false);
    page(body, size, GH_TAGS, NULL, "^release-([0-9.]+)$", true);
    compare(body, size);
    free(body);
    return 0;
}

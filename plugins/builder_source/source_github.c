/* temper — builder_source: `github = OWNER/REPO`, the tarball of a
 * tag of the GitHub repository (the one the image's tracker watches),
 * fetched through the API's tarball endpoint
 *
 *   GET {github_api}/repos/OWNER/REPO/tarball/TAG
 *
 * which GitHub answers with a 302 to codeload.github.com.  The SDK client
 * follows the redirect (never from https to http, at most 5 hops) and sends
 * the token of github_token_file to the API's origin only, never to the
 * codeload host; the token never reaches a log.  The API base must be https,
 * or http on a loopback address (a local mock), and so must the final URL:
 * https, or http on loopback when the base is.  The size cap (max_tarball)
 * and the sha256 rules (pinned, or recorded on the first fetch of that API
 * URL) are those of any tarball.  GitHub's tarball has one top directory,
 * OWNER-REPO-SHORTSHA/, where the recipe runs (source_extract). */
#include "config.h"
#include "source.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 100

/* GitHub owner and repository names: [A-Za-z0-9._-], not "." or "..". */
static bool gh_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > NAME_MAX_LEN || (n <= 2 && strncmp(s, "..", n) == 0)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* https://..., or http:// on 127.0.0.1, localhost or [::1] when allowed. */
static bool url_ok(const char *u, bool http_loopback)
{
    if (strncmp(u, "https://", 8) == 0) {
        return true;
    }
    static const char *const lo[] = { "127.0.0.1", "localhost", "[::1]", NULL };
    if (!http_loopback || strncmp(u, "http://", 7) != 0) {
        return false;
    }
    for (size_t i = 0; lo[i]; i++) {
        size_t n = strlen(lo[i]);
        if (strncmp(u + 7, lo[i], n) == 0 && (u[7 + n] == ':' || u[7 + n] == '/' ||
                                              !u[7 + n])) {
            return true;
        }
    }
    return false;
}

/* {api}/repos/OWNER/REPO/tarball/TAG, TAG percent-encoded. */
static int api_url(struct source_build *b, const char *api, const char *repo, const char *tag)
{
    struct temper_buf u;
    temper_buf_init(&u, 8192);
    size_t n = strlen(api);
    while (n > 0 && api[n - 1] == '/') {
        n--;
    }
    int rc = temper_buf_printf(&u, "%.*s/repos/%s/tarball/", (int)n, api, repo);
    for (const unsigned char *c = (const unsigned char *)tag; rc == TEMPER_OK && *c; c++) {
        bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                     (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-';
        rc = plain ? temper_buf_append(&u, c, 1) : temper_buf_printf(&u, "%%%02X", *c);
    }
    b->url = rc == TEMPER_OK ? temper_buf_take(&u, NULL) : NULL;
    temper_buf_cleanup(&u);
    return rc == TEMPER_OK && !b->url ? TEMPER_ENOMEM : rc;
}

static int parse_repo(struct source_build *b, const char **repo)
{
    const char *src = b->ic->github;
    const char *slash = strchr(src, '/');
    if (!slash || !gh_name_ok(src, (size_t)(slash - src)) ||
        !gh_name_ok(slash + 1, strlen(slash + 1))) {
        return temper_fail(b->st, TEMPER_EINVAL, "image %s: github = %s: not a GitHub "
                           "OWNER/REPO", b->req->def->name, src);
    }
    *repo = src;
    return TEMPER_OK;
}

static int download(struct source_build *b, bool loopback)
{
    struct temper_http_opts o = { .size = sizeof o,
                                  .bearer_token_file = b->c->github_token_file,
                                  .max_retries = 3, .max_redirects = 5 };
    struct temper_http *h = NULL;
    struct temper_http_resp resp;
    temper_http_resp_init(&resp);
    const char *accept[] = { "Accept: application/vnd.github+json", NULL };
    struct temper_http_req req = { .size = sizeof req, .url = b->url, .out_path = b->tarball,
                                   .max_body = b->c->max_tarball, .headers = accept };
    int rc = temper_http_new(b->st, &o, &h);
    rc = rc == TEMPER_OK ? temper_http_do(h, &req, &resp) : rc; /* failures recorded */
    if (rc == TEMPER_OK && (!resp.effective_url || !url_ok(resp.effective_url, loopback))) {
        char *safe = resp.effective_url ? temper_http_safe_url(resp.effective_url) : NULL;
        rc = temper_fail(b->st, TEMPER_ENET, "image %s: %s redirected to %s: only https "
                         "(http on loopback for an http API base)", b->req->def->name, b->url,
                         safe ? safe : "nowhere");
        free(safe);
    }
    temper_http_resp_cleanup(&resp);
    temper_http_free(h);
    return rc;
}

int source_github_fetch(struct source_build *b)
{
    const char *repo = NULL;
    const char *api = b->c->github_api;
    char *tag = NULL;
    int rc = parse_repo(b, &repo);
    bool loopback = strncmp(api, "http://", 7) == 0;
    if (rc == TEMPER_OK && !url_ok(api, true)) {
        rc = temper_fail(b->st, TEMPER_EINVAL, "github_api %s: https only (http on "
                         "127.0.0.1/localhost for a local mock)", api);
    }
    rc = rc == TEMPER_OK ? source_expand(b, b->ic->tag, &tag) : rc;
    if (rc == TEMPER_OK && (!tag[0] || strlen(tag) > 255)) {
        rc = temper_fail(b->st, TEMPER_EINVAL, "image %s: tag '%s' is empty or too long",
                         b->req->def->name, tag);
    }
    rc = rc == TEMPER_OK ? api_url(b, api, repo, tag) : rc;
    if (rc == TEMPER_OK) {
        TEMPER_LOG_INFO(b->st, "image %s: tag %s of github.com/%s", b->req->def->name, tag,
                        repo);
    }
    rc = rc == TEMPER_OK ? download(b, loopback) : rc;
    free(tag);
    return rc;
}

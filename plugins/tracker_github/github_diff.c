/* temper — GitHub trackers: diff() for a change this tracker emitted.
 *
 * GET /repos/OWNER/REPO/compare/OLD...NEW?per_page=P, following Link
 * rel="next" up to max_pages (the compare API pages its commits; the files
 * come with the first page and GitHub caps them at 300).  When the file list
 * is cut there, or diff_per_commit is set, each commit's own files are
 * fetched too (GET /repos/OWNER/REPO/commits/SHA, paged the same way), all
 * commits at once through the rate-limited batch.  The result is written to
 * the stage's work directory as an mbox (github_mbox.c) and emitted as a
 * TEMPER_ART_DIFF. */
#include "github.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct diffrun {
    struct gh_state *s;
    struct temper_stage *st;
    struct temper_http *h;
    const struct temper_artifact *change;
    const char *repo, *old_ref, *new_ref;
    struct json_object *commits; /* arrays holding references into the replies */
    struct json_object *files;
    struct json_object **cfiles;
    struct json_object *first;   /* the first compare page */
    long long total;
    bool files_trunc, commits_trunc;
};

static bool hex_sha(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 4 || n > 64) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

static bool opt_type(const struct json_object *o, const char *path, enum json_type t)
{
    struct json_object *v = temper_json_get(o, path);
    return !v || json_object_is_type(v, t);
}

static const char *bad_commit(const struct json_object *c)
{
    static const char *const strs[] = { "commit.message", "commit.author.name",
                                        "commit.author.email", "commit.author.date",
                                        "commit.committer.name", "commit.committer.email",
                                        "commit.committer.date", "commit.verification.reason",
                                        "author.login", "committer.login", NULL };
    if (!json_object_is_type((struct json_object *)c, json_type_object)) {
        return "is not an object";
    }
    if (!hex_sha(temper_json_get_str(c, "sha"))) {
        return "sha is missing or not a hex string";
    }
    if (!temper_json_get_object(c, "commit")) {
        return "commit is missing or not an object";
    }
    for (size_t i = 0; strs[i]; i++) {
        if (!opt_type(c, strs[i], json_type_string)) {
            return "a name, email, date, message or login is not a string";
        }
    }
    const char *msg = temper_json_get_str(c, "commit.message");
    if (msg && strlen(msg) > GH_MAX_MESSAGE) {
        return "the commit message is too long";
    }
    if (!opt_type(c, "commit.verification.verified", json_type_boolean) ||
        !opt_type(c, "parents", json_type_array)) {
        return "verification.verified is not a boolean or parents not an array";
    }
    return NULL;
}

static const char *bad_file(const struct json_object *f)
{
    const char *name = temper_json_get_str(f, "filename");
    const char *patch = temper_json_get_str(f, "patch");
    if (!json_object_is_type((struct json_object *)f, json_type_object)) {
        return "is not an object";
    }
    if (!name || !*name || strlen(name) > 4096) {
        return "filename is missing, empty or too long";
    }
    if (!opt_type(f, "status", json_type_string) || !opt_type(f, "patch", json_type_string) ||
        !opt_type(f, "previous_filename", json_type_string)) {
        return "status, patch or previous_filename is not a string";
    }
    if (patch && strlen(patch) > GH_MAX_PATCH) {
        return "the patch is too long";
    }
    return NULL;
}

/* Append the checked members of root[key] to `into` (at most `max`). */
static int take_items(struct diffrun *r, const char *what, struct json_object *root,
                      const char *key, struct json_object *into, size_t max, bool *cut)
{
    size_t n = 0;
    struct json_object *arr = temper_json_get_array(root, key, &n);
    bool commits = strcmp(key, "commits") == 0;
    if (!arr && temper_json_get(root, key)) {
        return temper_fail(r->st, TEMPER_EFORMAT, "%s: %s is not an array", what, key);
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *it = json_object_array_get_idx(arr, i);
        const char *why = commits ? bad_commit(it) : bad_file(it);
        if (why) {
            return temper_fail(r->st, TEMPER_EFORMAT, "%s: %s[%zu] %s", what, key, i, why);
        }
        if (json_object_array_length(into) >= max) {
            *cut = true;
            break;
        }
        if (json_object_array_add(into, json_object_get(it)) != 0) {
            json_object_put(it);
            return temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
        }
    }
    return TEMPER_OK;
}

/* GET one URL (through the rate-limited batch) and parse its JSON object. */
static int get_object(struct diffrun *r, struct gh_call *c, char **what,
                      struct json_object **root)
{
    char *u = temper_http_safe_url(c->url);
    int rc = TEMPER_OK;
    *root = NULL;
    *what = temper_strdupf("GET %s", u ? u : "?");
    free(u);
    if (!*what) {
        return temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    }
    if (c->rc != TEMPER_OK) {
        return temper_fail(r->st, c->rc, "%s", c->err ? c->err : *what);
    }
    rc = temper_json_parse(r->st, *what, c->resp.body.data, c->resp.body.len,
                           (size_t)r->s->conf->max_body, 64, root);
    if (rc == TEMPER_OK && (!*root || !json_object_is_type(*root, json_type_object))) {
        rc = temper_fail(r->st, TEMPER_EFORMAT, "%s: the reply is not a JSON object", *what);
    }
    return rc;
}

static int follow(struct diffrun *r, const struct gh_call *c, const char *what, char **next)
{
    if (gh_next_link(r->s, c, next) != TEMPER_OK) {
        return temper_fail(r->st, TEMPER_EFORMAT, "%s: malformed Link header or its next "
                           "page is not under api_url", what);
    }
    return TEMPER_OK;
}

static int compare_page(struct diffrun *r, struct gh_call *c, size_t page, char **next)
{
    struct json_object *root = NULL;
    char *what = NULL;
    int64_t total = -1;
    int rc = get_object(r, c, &what, &root);
    if (rc == TEMPER_OK && !temper_json_get_array(root, "commits", NULL)) {
        rc = temper_fail(r->st, TEMPER_EFORMAT, "%s: commits is missing or not an array",
                         what);
    }
    rc = rc ? rc : take_items(r, what, root, "commits", r->commits,
                              (size_t)r->s->conf->diff_max_commits, &r->commits_trunc);
    if (rc == TEMPER_OK && page == 0) {
        rc = take_items(r, what, root, "files", r->files, GH_MAX_FILES, &r->files_trunc);
        if (temper_json_get_int64(root, "total_commits", 0, INT64_MAX, &total) == TEMPER_OK) {
            r->total = total;
        }
        if (!opt_type(root, "status", json_type_string)) {
            rc = temper_fail(r->st, TEMPER_EFORMAT, "%s: status is not a string", what);
        }
        r->first = json_object_get(root);
    }
    rc = rc ? rc : follow(r, c, what, next);
    json_object_put(root);
    free(what);
    return rc;
}

static int fetch_compare(struct diffrun *r)
{
    char *eo = gh_escape(r->old_ref, true), *en = gh_escape(r->new_ref, true);
    char *url = eo && en ? temper_strdupf("%s/repos/%s/compare/%s...%s?per_page=%lld",
                                          r->s->api, r->repo, eo, en, r->s->conf->per_page)
                         : NULL;
    int rc = url ? TEMPER_OK : temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    free(eo);
    free(en);
    for (size_t page = 0; rc == TEMPER_OK && url; page++) {
        struct gh_call c;
        char *next = NULL;
        if (page == (size_t)r->s->conf->max_pages) {
            r->commits_trunc = true;
            break;
        }
        rc = gh_call_init(r->s, &c, url, 0);
        url = NULL;
        struct gh_call *one = &c;
        rc = rc ? rc : gh_fetch(r->s, r->st, r->h, &one, 1);
        rc = rc ? rc : compare_page(r, &c, page, &next);
        gh_call_cleanup(&c);
        url = next;
    }
    free(url);
    if (r->total >= 0 && (long long)json_object_array_length(r->commits) < r->total) {
        r->commits_trunc = true;
    }
    if (json_object_array_length(r->files) >= GH_COMPARE_FILE_CAP) {
        r->files_trunc = true;
    }
    return rc;
}

static int commit_page(struct diffrun *r, struct gh_call *c, size_t i, char **next)
{
    struct json_object *root = NULL;
    char *what = NULL;
    bool cut = false;
    int rc = get_object(r, c, &what, &root);
    rc = rc ? rc : take_items(r, what, root, "files", r->cfiles[i], GH_MAX_FILES, &cut);
    rc = rc ? rc : follow(r, c, what, next);
    if (cut) {
        TEMPER_LOG_WARN(r->st, "%s: more than %d files; the rest is left out", what,
                        GH_MAX_FILES);
        TEMPER_FREE(*next);
    }
    json_object_put(root);
    free(what);
    return rc;
}

/* One wave: page `page` of every commit that still has one. */
static int commit_wave(struct diffrun *r, char **urls, size_t n, bool *more)
{
    struct gh_call *calls = calloc(n, sizeof *calls);
    struct gh_call **ptrs = calloc(n, sizeof *ptrs);
    size_t *who = calloc(n, sizeof *who);
    size_t k = 0;
    int rc = calls && ptrs && who ? TEMPER_OK : temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        if (urls[i]) {
            who[k] = i;
            ptrs[k] = &calls[k];
            rc = gh_call_init(r->s, &calls[k++], urls[i], 0);
            urls[i] = NULL;
        }
    }
    rc = rc ? rc : gh_fetch(r->s, r->st, r->h, ptrs, k);
    for (size_t j = 0; rc == TEMPER_OK && j < k; j++) {
        rc = commit_page(r, &calls[j], who[j], &urls[who[j]]);
    }
    *more = false;
    for (size_t i = 0; i < n; i++) {
        *more = *more || urls[i];
    }
    for (size_t j = 0; calls && j < k; j++) {
        gh_call_cleanup(&calls[j]);
    }
    free(calls);
    free(ptrs);
    free(who);
    return rc;
}

static int fetch_commit_files(struct diffrun *r)
{
    size_t n = json_object_array_length(r->commits);
    char **urls = calloc(n ? n : 1, sizeof *urls);
    bool more = n > 0;
    int rc = TEMPER_OK;
    r->cfiles = calloc(n ? n : 1, sizeof *r->cfiles);
    if (!urls || !r->cfiles) {
        free(urls);
        return temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        const char *sha = temper_json_get_str(json_object_array_get_idx(r->commits, i), "sha");
        r->cfiles[i] = json_object_new_array();
        urls[i] = temper_strdupf("%s/repos/%s/commits/%s?per_page=%lld", r->s->api, r->repo,
                                 sha, r->s->conf->per_page);
        rc = urls[i] && r->cfiles[i] ? TEMPER_OK
                                     : temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    }
    for (long long page = 0; rc == TEMPER_OK && more && page < r->s->conf->max_pages; page++) {
        rc = commit_wave(r, urls, n, &more);
    }
    for (size_t i = 0; i < n; i++) {
        free(urls[i]);
    }
    free(urls);
    return rc;
}

/* "<workdir>/github-OWNER-REPO-OLD...NEW.mbox" with unsafe bytes as '_'. */
static char *mbox_path(const struct diffrun *r, const char *dir)
{
    char *name = temper_strdupf("github-%s-%.80s...%.80s.mbox", r->repo, r->old_ref,
                                r->new_ref);
    for (char *p = name; p && *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_') {
            *p = '_';
        }
    }
    char *path = name ? temper_strdupf("%s/%s", dir, name) : NULL;
    free(name);
    return path;
}

static int write_file(struct temper_stage *st, const char *path, const struct temper_buf *b)
{
    char *tmp = temper_strdupf("%s.tmp", path);
    FILE *f = tmp ? fopen(tmp, "wx") : NULL;
    int rc = TEMPER_OK;
    if (!f) {
        rc = tmp ? temper_fail(st, TEMPER_EIO, "cannot create %s: %s", tmp, strerror(errno))
                 : temper_fail(st, TEMPER_ENOMEM, "out of memory");
        free(tmp);
        return rc;
    }
    if (fwrite(b->data, 1, b->len, f) != b->len) {
        rc = TEMPER_EIO;
    }
    if (fclose(f) != 0 || rc != TEMPER_OK || rename(tmp, path) != 0) {
        rc = temper_fail(st, TEMPER_EIO, "cannot write %s: %s", path, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return rc;
}

static int emit_diff(struct diffrun *r, const char *path, const char *compare_url)
{
    char num[32];
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_DIFF,
                                                    temper_artifact_name(r->change));
    static const char *const copied[] = { TEMPER_ATTR_TRACKER, TEMPER_ATTR_UPSTREAM,
                                          TEMPER_ATTR_IMAGE, TEMPER_ATTR_OLD_VERSION,
                                          TEMPER_ATTR_NEW_VERSION, TEMPER_ATTR_OLD_REF,
                                          TEMPER_ATTR_NEW_REF, NULL };
    int rc = a ? temper_artifact_set_path(a, path) : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && copied[i]; i++) {
        const char *v = temper_artifact_get(r->change, copied[i]);
        rc = v ? temper_artifact_set(a, copied[i], v) : TEMPER_OK;
    }
    rc = rc ? rc : temper_artifact_set(a, TEMPER_ATTR_COMPARE_URL, compare_url);
    rc = rc ? rc : temper_artifact_set(a, TEMPER_ATTR_FORMAT, "mbox");
    snprintf(num, sizeof num, "%zu", json_object_array_length(r->commits));
    rc = rc ? rc : temper_artifact_set(a, "x-github-commits", num);
    snprintf(num, sizeof num, "%zu", json_object_array_length(r->files));
    rc = rc ? rc : temper_artifact_set(a, "x-github-files", num);
    rc = rc ? rc : temper_artifact_set(a, "x-github-files-truncated",
                                       r->files_trunc ? "true" : "false");
    rc = rc ? rc : temper_artifact_set(a, "x-github-commits-truncated",
                                       r->commits_trunc ? "true" : "false");
    rc = rc ? rc : temper_artifact_set(a, "x-github-patches",
                                       r->cfiles ? "per-commit" : "combined");
    if (rc == TEMPER_OK) {
        rc = temper_emit(r->st, a);
        a = NULL;
    }
    temper_artifact_free(a);
    return rc == TEMPER_OK ? rc : temper_fail(r->st, rc, "cannot emit the diff of %s: %s",
                                              r->repo, temper_rc_str(rc));
}

static int write_mbox(struct diffrun *r, const char *dir)
{
    struct temper_buf b;
    char *eo = gh_escape(r->old_ref, true), *en = gh_escape(r->new_ref, true);
    char *cmp = eo && en ? temper_strdupf("%s/%s/compare/%s...%s", r->s->web, r->repo, eo, en)
                         : NULL;
    char *path = mbox_path(r, dir);
    struct gh_diffset d = {
        .repo = r->repo, .old_ref = r->old_ref, .new_ref = r->new_ref, .compare_url = cmp,
        .status = temper_json_get_str(r->first, "status"), .total_commits = r->total,
        .commits = r->commits, .files = r->files, .cfiles = r->cfiles,
        .files_truncated = r->files_trunc, .commits_truncated = r->commits_trunc,
        .now_ms = temper_stage_now_ms(r->st),
    };
    temper_buf_init(&b, GH_MAX_MBOX);
    int rc = cmp && path ? gh_mbox_build(&d, &b) : TEMPER_ENOMEM;
    if (rc != TEMPER_OK) {
        rc = temper_fail(r->st, rc, "cannot build the mbox of %s %s...%s: %s", r->repo,
                         r->old_ref, r->new_ref, temper_rc_str(rc));
    }
    rc = rc ? rc : write_file(r->st, path, &b);
    rc = rc ? rc : emit_diff(r, path, cmp);
    if (rc == TEMPER_OK) {
        TEMPER_LOG_INFO(r->st, "%s %s...%s: %zu commits, %zu files -> %s", r->repo,
                        r->old_ref, r->new_ref, json_object_array_length(r->commits),
                        json_object_array_length(r->files), path);
    }
    temper_buf_cleanup(&b);
    free(eo);
    free(en);
    free(cmp);
    free(path);
    return rc;
}

static bool ref_ok(const char *ref)
{
    size_t n = ref ? strlen(ref) : 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)ref[i] < 0x20 || ref[i] == 0x7f) {
            return false;
        }
    }
    return n > 0 && n <= GH_MAX_TAG;
}

/* Check that `change` is one of ours and has both refs.  TEMPER_OK with
 * r->old_ref NULL when there is nothing to compare (a first version). */
static int check_change(struct diffrun *r)
{
    const char *tracker = temper_artifact_get(r->change, TEMPER_ATTR_TRACKER);
    const char *name = temper_stage_name(r->st);
    r->repo = temper_artifact_get(r->change, TEMPER_ATTR_UPSTREAM);
    r->old_ref = temper_artifact_get(r->change, TEMPER_ATTR_OLD_REF);
    r->new_ref = temper_artifact_get(r->change, TEMPER_ATTR_NEW_REF);
    if (temper_artifact_type(r->change) != TEMPER_ART_CHANGE ||
        (tracker && name && strcmp(tracker, name) != 0)) {
        return temper_fail(r->st, TEMPER_EINVAL, "diff: the change \"%s\" was not reported "
                           "by this tracker", temper_artifact_name(r->change));
    }
    if (gh_check_repo(r->repo) != TEMPER_OK || !ref_ok(r->new_ref) ||
        (r->old_ref && *r->old_ref && !ref_ok(r->old_ref))) {
        return temper_fail(r->st, TEMPER_EINVAL, "diff: the change \"%s\" has no valid "
                           "upstream repository or refs", temper_artifact_name(r->change));
    }
    if (!r->old_ref || !*r->old_ref) {
        TEMPER_LOG_INFO(r->st, "diff: %s %s is a first version: nothing to compare", r->repo,
                        r->new_ref);
        r->old_ref = NULL;
    }
    return TEMPER_OK;
}

static int gh_diff(void *state, struct temper_stage *st, const struct temper_artifact *change)
{
    struct diffrun r = { .s = state, .st = st, .change = change, .total = -1 };
    const char *dir = temper_stage_workdir(st);
    int rc = change ? check_change(&r) : temper_fail(st, TEMPER_EINVAL, "diff: no change");
    if (rc != TEMPER_OK || !r.old_ref) {
        return rc;
    }
    if (!dir) {
        return temper_fail(st, TEMPER_EINVAL, "diff: the stage has no work directory");
    }
    r.commits = json_object_new_array();
    r.files = json_object_new_array();
    rc = r.commits && r.files ? gh_http_new(r.s, st, &r.h)
                              : temper_fail(st, TEMPER_ENOMEM, "out of memory");
    rc = rc ? rc : fetch_compare(&r);
    if (rc == TEMPER_OK && (r.s->conf->diff_per_commit || r.files_trunc)) {
        rc = fetch_commit_files(&r);
    }
    rc = rc ? rc : write_mbox(&r, dir);
    size_t n = r.commits ? json_object_array_length(r.commits) : 0;
    for (size_t i = 0; r.cfiles && i < n; i++) {
        json_object_put(r.cfiles[i]);
    }
    free(r.cfiles);
    json_object_put(r.commits);
    json_object_put(r.files);
    json_object_put(r.first);
    temper_http_free(r.h);
    return rc;
}

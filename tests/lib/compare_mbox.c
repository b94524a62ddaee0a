/* temper tests — GitHub compare reply -> format-patch mbox (see
 * compare_mbox.h), written with the SDK's patch writer. */
#include "compare_mbox.h"
#include <temper/json.h>
#include <temper/patch.h>
#include <temper/plugin.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static enum temper_patch_status gh_status(const char *s)
{
    if (!s) {
        return TEMPER_PATCH_MODIFIED;
    }
    if (strcmp(s, "added") == 0) {
        return TEMPER_PATCH_ADDED;
    }
    if (strcmp(s, "removed") == 0) {
        return TEMPER_PATCH_DELETED;
    }
    if (strcmp(s, "renamed") == 0) {
        return TEMPER_PATCH_RENAMED;
    }
    if (strcmp(s, "copied") == 0) {
        return TEMPER_PATCH_COPIED;
    }
    return TEMPER_PATCH_MODIFIED;
}

static int put_commit(struct temper_buf *out, struct json_object *c, bool combined)
{
    struct temper_patch_commit m;
    memset(&m, 0, sizeof m);
    m.size = sizeof m;
    m.sha = temper_json_get_str(c, "sha");
    m.author_name = temper_json_get_str(c, "commit.author.name");
    m.author_email = temper_json_get_str(c, "commit.author.email");
    m.author_date = temper_json_get_str(c, "commit.author.date");
    m.committer_name = temper_json_get_str(c, "commit.committer.name");
    m.committer_email = temper_json_get_str(c, "commit.committer.email");
    m.committer_date = temper_json_get_str(c, "commit.committer.date");
    bool v = false;
    m.verified = temper_json_get_bool(c, "commit.verification.verified", &v) == TEMPER_OK
                     ? (int)v : -1;
    m.combined = combined;
    const char *msg = temper_json_get_str(c, "commit.message");
    msg = msg ? msg : "";
    const char *nl = strchr(msg, '\n');
    char *subject = strndup(msg, nl ? (size_t)(nl - msg) : strlen(msg));
    if (!subject) {
        return TEMPER_ENOMEM;
    }
    m.subject = subject;
    m.body = nl ? nl + 1 : "";
    int rc = temper_patch_write_commit(out, &m);
    free(subject);
    return rc;
}

static int put_files(struct temper_buf *out, struct json_object *files, size_t n)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        struct json_object *f = json_object_array_get_idx(files, i);
        struct temper_patch_file pf;
        memset(&pf, 0, sizeof pf);
        pf.size = sizeof pf;
        pf.status = gh_status(temper_json_get_str(f, "status"));
        pf.new_path = temper_json_get_str(f, "filename");
        pf.old_path = temper_json_get_str(f, "previous_filename");
        if (!pf.old_path) {
            pf.old_path = pf.new_path;
        }
        pf.similarity = -1;
        const char *patch = temper_json_get_str(f, "patch");
        int64_t changes = 0;
        pf.binary = !patch && temper_json_get_int64(f, "changes", 0, INT64_MAX, &changes) ==
                                  TEMPER_OK && changes == 0;
        rc = temper_patch_write_file(out, &pf, patch);
    }
    return rc;
}

int compare_to_mbox(struct temper_stage *st, const char *json_path, struct temper_buf *out)
{
    struct json_object *o = NULL;
    int rc = temper_json_parse_file(st, json_path, 0, 0, &o);
    if (rc != TEMPER_OK) {
        return rc;
    }
    size_t nc = 0, nf = 0;
    struct json_object *commits = temper_json_get_array(o, "commits", &nc);
    struct json_object *files = temper_json_get_array(o, "files", &nf);
    for (size_t i = 0; rc == TEMPER_OK && i < nc; i++) {
        bool last = i + 1 == nc;
        rc = put_commit(out, json_object_array_get_idx(commits, i), last && nf > 0);
        if (rc == TEMPER_OK && last) {
            rc = put_files(out, files, nf);
        }
        if (rc == TEMPER_OK) {
            rc = temper_patch_write_end(out);
        }
    }
    json_object_put(o);
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "%s: cannot convert to an mbox: %s", json_path,
                           temper_rc_str(rc));
    }
    return TEMPER_OK;
}

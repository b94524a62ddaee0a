/* guard_heuristic — language-aware review of an upstream diff.
 *
 * review() reads the TEMPER_ART_DIFF mbox with the SDK patch reader, runs
 * the rules of heuristic.h over every hunk (by the language and role of the
 * file's path) and over the commit metadata, records each finding on the
 * stage and decides:
 *   BLOCK  a finding with severity >= block_at and confidence >= min_confidence
 *   WARN   findings, none blocking
 *   PASS   no finding
 * Known authors (for the first-time contributor rules) are the emails of
 * known_authors_file plus those learnt per upstream in the stage's durable
 * state under "authors/<upstream>": after a review that did not block, the
 * authors of the diff are added.  With no known author at all (first review
 * of an upstream, no file) nobody counts as a newcomer. */
#include "heuristic.h"
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTHORS_FILE_MAX (1024 * 1024)

const struct rule_info heur_rules[R_COUNT] = {
    [R_INVERTED_CHECK] = { "inverted-error-check", "a condition on an error/return value flipped" },
    [R_CHECK_REMOVED] = { "check-removed", "an error check or its early exit removed" },
    [R_FAILURE_SWALLOWED] = { "failure-swallowed", "|| true, hidden output, empty except/catch" },
    [R_UNCHECKED_CALL] = { "unchecked-security-call", "result of verify/setuid/chmod... dropped" },
    [R_JUMP_SKIPS_CHECKS] = { "jump-skips-checks", "unconditional goto/return before checks" },
    [R_VERIFY_DISABLED] = { "verification-disabled", "TLS or signature verification off" },
    [R_RELEASE_REMOVED] = { "release-removed", "close/free/defer/unlock removed, resource kept" },
    [R_USE_AFTER_FREE] = { "use-after-free", "use or second release after a release" },
    [R_LEAK_ON_ERROR] = { "leak-on-error-path", "early return after an acquisition" },
    [R_OBFUSCATED_BLOB] = { "obfuscated-blob", "long base64/hex/escaped blobs" },
    [R_DECODE_EXEC] = { "decode-exec", "decoded data fed to a shell or eval" },
    [R_CURL_PIPE_SHELL] = { "curl-pipe-shell", "downloaded code run unverified" },
    [R_CI_SECRET] = { "ci-secret-exfiltration", "CI secrets sent out or exposed" },
    [R_NEW_CONTRIBUTOR] = { "new-contributor-build-change",
                            "first-time author changing build/CI/release files" },
    [R_BINARY_WITH_BUILD] = { "binary-with-build-change",
                              "binary test files with build-script changes (xz-utils)" },
    [R_UNVERIFIED] = { "unverified-build-change", "unverified commit on build/CI/release" },
    [R_COMMITTER_MISMATCH] = { "author-committer-mismatch",
                               "committer differs from author on build/CI/release" },
};

int heur_rule_find(const char *id)
{
    for (int i = 0; i < R_COUNT; i++) {
        if (strcmp(heur_rules[i].id, id) == 0) {
            return i;
        }
    }
    return -1;
}

static const char *const severities[] = { "info", "low", "medium", "high", "critical", NULL };

static const struct temper_option heur_options[] = {
    { TEMPER_OPT_ENUM, "block_at", "high", 0, offsetof(struct heur_conf, block_at), 0, 0,
      severities, "lowest severity of a finding that blocks the change" },
    { TEMPER_OPT_INT, "min_confidence", "50", 0, offsetof(struct heur_conf, min_confidence), 0,
      100, NULL, "lowest confidence (0-100) of a finding that blocks the change" },
    { TEMPER_OPT_SIZE, "max_patch_size", "64M", 0, offsetof(struct heur_conf, max_patch_size),
      1024, 1024LL * 1024 * 1024, NULL, "largest diff (mbox) reviewed; larger ones fail" },
    { TEMPER_OPT_LIST, "enable", NULL, 0, offsetof(struct heur_conf, enable), 0, 0, NULL,
      "rule ids to run (default: every rule)" },
    { TEMPER_OPT_LIST, "disable", NULL, 0, offsetof(struct heur_conf, disable), 0, 0, NULL,
      "rule ids not to run" },
    { TEMPER_OPT_PATH, "known_authors_file", NULL, 0,
      offsetof(struct heur_conf, known_authors_file), 0, 0, NULL,
      "file of known author emails (or Name <email>), one a line, # comments" },
    { TEMPER_OPT_BOOL, "learn_authors", "true", 0, offsetof(struct heur_conf, learn_authors), 0,
      0, NULL, "remember the authors of diffs that were not blocked, per upstream" },
    TEMPER_OPTION_END
};

/* ---- open / close ------------------------------------------------------------------- */

static int rule_list(struct temper_stage *st, const struct temper_strlist *l, const char *key,
                     bool *enabled, bool value)
{
    for (size_t i = 0; i < l->n; i++) {
        int r = heur_rule_find(l->v[i]);
        if (r < 0) {
            struct temper_buf b;
            temper_buf_init(&b, 0);
            for (int k = 0; k < R_COUNT; k++) {
                if (temper_buf_printf(&b, "%s%s", k ? ", " : "", heur_rules[k].id) != TEMPER_OK) {
                    break;
                }
            }
            int rc = temper_fail(st, TEMPER_EINVAL, "%s: unknown rule '%s' (rules: %s)", key,
                                 l->v[i], b.data ? b.data : "");
            temper_buf_cleanup(&b);
            return rc;
        }
        enabled[r] = value;
    }
    return TEMPER_OK;
}

static int read_small_file(struct temper_stage *st, const char *path, char **out)
{
    struct temper_buf b;
    char chunk[4096];
    size_t n;
    int rc = TEMPER_OK;
    FILE *f = fopen(path, "re");
    *out = NULL;
    if (!f) {
        return temper_fail(st, errno == ENOENT ? TEMPER_ENOTFOUND : TEMPER_EIO,
                           "cannot open %s: %s", path, strerror(errno));
    }
    temper_buf_init(&b, AUTHORS_FILE_MAX);
    while (rc == TEMPER_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (temper_buf_append(&b, chunk, n) != TEMPER_OK || memchr(chunk, '\0', n)) {
            rc = temper_fail(st, TEMPER_ELIMIT, "%s: not a text file of at most %d bytes",
                             path, AUTHORS_FILE_MAX);
        }
    }
    if (rc == TEMPER_OK && ferror(f)) {
        rc = temper_fail(st, TEMPER_EIO, "cannot read %s", path);
    }
    fclose(f);
    if (rc == TEMPER_OK) {
        *out = temper_buf_take(&b, NULL);
        rc = *out ? TEMPER_OK : TEMPER_ENOMEM;
    }
    temper_buf_cleanup(&b);
    return rc;
}

static int load_authors_file(struct temper_stage *st, const char *path, struct authors *a)
{
    char *text = NULL;
    int rc = read_small_file(st, path, &text);
    if (rc == TEMPER_OK && heur_authors_parse(a, text) != TEMPER_OK) {
        rc = temper_fail(st, TEMPER_EINVAL, "%s: not a list of author emails (one a line)",
                         path);
    }
    free(text);
    return rc;
}

static void heur_close(void *state)
{
    struct heur_state *s = state;
    if (!s) {
        return;
    }
    heur_authors_free(s->file_authors);
    free(s);
}

static int heur_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct heur_conf *c = conf;
    struct heur_state *s = calloc(1, sizeof *s);
    int rc = TEMPER_OK;
    *state = NULL;
    if (s) {
        s->file_authors = heur_authors_new();
    }
    if (!s || !s->file_authors) {
        heur_close(s);
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    s->conf = c;
    for (int i = 0; i < R_COUNT; i++) {
        s->enabled[i] = c->enable.n == 0;
    }
    rc = rule_list(st, &c->enable, "enable", s->enabled, true);
    if (rc == TEMPER_OK) {
        rc = rule_list(st, &c->disable, "disable", s->enabled, false);
    }
    if (rc == TEMPER_OK && c->known_authors_file) {
        rc = load_authors_file(st, c->known_authors_file, s->file_authors);
    }
    if (rc != TEMPER_OK) {
        heur_close(s);
        return rc;
    }
    *state = s;
    return TEMPER_OK;
}

static const struct temper_guard_ops heur_ops = {
    .review = heur_review,
};

TEMPER_PLUGIN(guard_heuristic) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_GUARD,
    .name = "heuristic",
    .version = "0.1.0",
    .summary = "Language-aware risk rules over upstream diffs (error checks, resources, "
               "supply chain)",
    .options = heur_options,
    .conf_size = sizeof(struct heur_conf),
    .open = heur_open,
    .close = heur_close,
    .ops = &heur_ops,
    .ops_size = sizeof(heur_ops),
};

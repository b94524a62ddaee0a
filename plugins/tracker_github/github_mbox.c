/* temper — GitHub trackers: the mbox diff() writes.
 *
 * The form is `git format-patch` output in an mboxrd file (lines matching
 * /^>*From / in a body get one more ">").  Message 0 is a cover letter
 * describing the comparison; messages 1..N are the commits, oldest first.
 * GitHub's compare reply lists the files of the whole range, not per
 * commit: by default the cover letter carries that combined diff and the
 * commit messages carry none; when each commit's own files were fetched
 * (diff_per_commit, or a truncated file list) every commit message carries
 * its own diff and the cover letter none.  Headers:
 *   From, Date, Subject          author, author date, first paragraph of the
 *                                message on one line (as git writes it)
 *   X-Temper-Commit              full SHA
 *   X-Temper-Author-Login        GitHub account linked to the author (if any)
 *   X-Temper-Committer[-Date|-Login]
 *   X-Temper-Verified            verification.verified: true / false
 *   X-Temper-Verification-Reason verification.reason ("valid", "unsigned", ...)
 *   X-Temper-Parents             parent SHAs
 * Header values from the reply have control characters replaced by spaces
 * (no header injection), are cut at 900 bytes, and non-ASCII text is written
 * as RFC 2047 encoded-words, as git does. */
#include "github.h"
#include <temper/patch.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HDR_MAX 900
#define WORD_MAX 63 /* encoded text per RFC 2047 word: 75 - len("=?UTF-8?q??=") */

/* Copy of s (NULL -> "") with control characters as spaces, at most max
 * bytes, cut on a UTF-8 character boundary. */
static char *clean(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    char *d = malloc(n + 1);
    for (size_t i = 0; d && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        d[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    if (d) {
        d[n] = '\0';
    }
    return d;
}

static bool all_ascii(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s >= 0x80) {
            return false;
        }
    }
    return true;
}

static size_t utf8_len(unsigned char lead)
{
    return lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
}

static bool q_plain(unsigned char c)
{
    return isalnum(c) || c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

/* `text` (already clean) as it is when ASCII, else as encoded-words. */
static int put_words(struct temper_buf *b, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t used = 0, n = strlen(text);
    int rc = TEMPER_OK;
    if (all_ascii(text)) {
        return temper_buf_puts(b, text);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n;) {
        size_t k = utf8_len((unsigned char)text[i]);
        size_t enc = 0;
        k = i + k > n ? n - i : k;
        for (size_t j = i; j < i + k; j++) {
            enc += q_plain((unsigned char)text[j]) || text[j] == ' ' ? 1 : 3;
        }
        if (used > 0 && used + enc > WORD_MAX) {
            rc = temper_buf_puts(b, "?=\n ");
            used = 0;
        }
        if (rc == TEMPER_OK && used == 0) {
            rc = temper_buf_puts(b, "=?UTF-8?q?");
        }
        for (size_t j = i; rc == TEMPER_OK && j < i + k; j++) {
            unsigned char c = (unsigned char)text[j];
            char e[3] = { '=', hex[c >> 4], hex[c & 15] };
            rc = c == ' ' ? temper_buf_puts(b, "_")
                 : q_plain(c) ? temper_buf_append(b, &text[j], 1) : temper_buf_append(b, e, 3);
        }
        used += enc;
        i += k;
    }
    return rc == TEMPER_OK ? temper_buf_puts(b, "?=") : rc;
}

static int header(struct temper_buf *b, const char *name, const char *value)
{
    char *v = clean(value, HDR_MAX);
    int rc = v ? temper_buf_printf(b, "%s: ", name) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        rc = put_words(b, v);
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_puts(b, "\n");
    }
    free(v);
    return rc;
}

/* "Name: Person Name <email>" */
static int person(struct temper_buf *b, const char *hdr, const struct json_object *who)
{
    char *name = clean(temper_json_get_str(who, "name"), HDR_MAX);
    char *mail = clean(temper_json_get_str(who, "email"), 254);
    int rc = name && mail ? temper_buf_printf(b, "%s: ", hdr) : TEMPER_ENOMEM;
    for (char *p = mail; p && *p; p++) {
        *p = *p == '<' || *p == '>' || *p == ' ' ? '_' : *p;
    }
    if (rc == TEMPER_OK && *name) {
        rc = put_words(b, name);
        if (rc == TEMPER_OK) {
            rc = temper_buf_puts(b, " ");
        }
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_printf(b, "<%s>\n", *mail ? mail : "unknown");
    }
    free(name);
    free(mail);
    return rc;
}

static bool parse_offset(const char *p, long *off)
{
    *off = 0;
    if (*p == 'Z' || *p == '\0') {
        return true;
    }
    if ((*p != '+' && *p != '-') || !isdigit((unsigned char)p[1]) ||
        !isdigit((unsigned char)p[2])) {
        return false;
    }
    long h = (p[1] - '0') * 10 + (p[2] - '0');
    const char *m = p[3] == ':' ? p + 4 : p + 3;
    long mm = isdigit((unsigned char)m[0]) && isdigit((unsigned char)m[1])
                  ? (m[0] - '0') * 10 + (m[1] - '0') : 0;
    *off = (*p == '-' ? -1 : 1) * (h * 60 + mm);
    return true;
}

/* RFC 2822 date from ISO 8601 ("2012-05-25T12:10:54Z"), keeping the offset. */
static void mail_date(const char *iso, char *out, size_t n)
{
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm = { 0 }, local;
    long off = 0;
    const char *end = iso ? strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (end && *end == '.') {
        end += 1 + strspn(end + 1, "0123456789");
    }
    time_t t = end && parse_offset(end, &off) ? timegm(&tm) : (time_t)0;
    if (!gmtime_r(&t, &local) || local.tm_mon < 0 || local.tm_mon > 11) {
        memset(&local, 0, sizeof local);
        local.tm_year = 70;
        local.tm_mday = 1;
    }
    snprintf(out, n, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[local.tm_wday % 7],
             local.tm_mday, mons[local.tm_mon], local.tm_year + 1900, local.tm_hour,
             local.tm_min, local.tm_sec, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

/* Body text, mboxrd-escaped, CRs dropped, ending in a newline. */
static int put_body(struct temper_buf *b, const char *text)
{
    int rc = TEMPER_OK;
    const char *p = text;
    while (rc == TEMPER_OK && *p) {
        size_t n = strcspn(p, "\n");
        size_t gt = strspn(p, ">");
        if (gt < n && strncmp(p + gt, "From ", 5) == 0) {
            rc = temper_buf_puts(b, ">");
        }
        for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
            rc = p[i] == '\r' ? TEMPER_OK : temper_buf_append(b, p + i, 1);
        }
        if (rc == TEMPER_OK) {
            rc = temper_buf_puts(b, "\n");
        }
        p += n + (p[n] == '\n');
    }
    return rc;
}

/* A path as git writes it in diff headers: C-quoted when it holds control
 * characters, '"' or '\'. */
static int put_path(struct temper_buf *b, const char *prefix, const char *path)
{
    bool quote = false;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        quote = quote || *p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\';
    }
    if (!quote) {
        return temper_buf_printf(b, "%s%s", prefix, path);
    }
    int rc = temper_buf_printf(b, "\"%s", prefix);
    for (const unsigned char *p = (const unsigned char *)path; rc == TEMPER_OK && *p; p++) {
        if (*p == '"' || *p == '\\') {
            rc = temper_buf_printf(b, "\\%c", *p);
        } else if (*p == '\n' || *p == '\t') {
            rc = temper_buf_puts(b, *p == '\n' ? "\\n" : "\\t");
        } else if (*p < 0x20 || *p == 0x7f) {
            rc = temper_buf_printf(b, "\\%03o", *p);
        } else {
            rc = temper_buf_append(b, p, 1);
        }
    }
    return rc == TEMPER_OK ? temper_buf_puts(b, "\"") : rc;
}

static int file_header(struct temper_buf *b, const char *status, const char *from,
                       const char *to)
{
    int rc = temper_buf_puts(b, "diff --git ");
    rc = rc ? rc : put_path(b, "a/", from);
    rc = rc ? rc : temper_buf_puts(b, " ");
    rc = rc ? rc : put_path(b, "b/", to);
    rc = rc ? rc : temper_buf_puts(b, "\n");
    if (rc == TEMPER_OK && strcmp(status, "added") == 0) {
        rc = temper_buf_puts(b, "new file mode 100644\n");
    } else if (rc == TEMPER_OK && strcmp(status, "removed") == 0) {
        rc = temper_buf_puts(b, "deleted file mode 100644\n");
    } else if (rc == TEMPER_OK && strcmp(from, to) != 0) {
        rc = temper_buf_puts(b, "rename from ");
        rc = rc ? rc : put_path(b, "", from);
        rc = rc ? rc : temper_buf_puts(b, "\nrename to ");
        rc = rc ? rc : put_path(b, "", to);
        rc = rc ? rc : temper_buf_puts(b, "\n");
    }
    return rc;
}

/* Does `patch` hold well-formed unified hunks (each with exactly the lines
 * its header announces)?  Checked through the SDK's writer, which refuses
 * what the guards' parser would refuse: a malformed patch text must not
 * make the whole mbox unreadable (nor forge structure in it). */
static bool hunks_ok(const char *patch)
{
    struct temper_patch_file pf = { .size = sizeof pf, .old_path = "x", .new_path = "x",
                                    .path = "x" };
    struct temper_buf t;
    temper_buf_init(&t, 0);
    int rc = temper_patch_write_file(&t, &pf, patch);
    temper_buf_cleanup(&t);
    return rc != TEMPER_EFORMAT;
}

static int put_file(struct temper_buf *b, const struct json_object *f)
{
    const char *to = temper_json_get_str(f, "filename");
    const char *from = temper_json_get_str(f, "previous_filename");
    const char *status = temper_json_get_str(f, "status");
    const char *patch = temper_json_get_str(f, "patch");
    int64_t adds = 0, dels = 0;
    from = from ? from : to;
    status = status ? status : "modified";
    bool added = strcmp(status, "added") == 0, removed = strcmp(status, "removed") == 0;
    int rc = file_header(b, status, from, to);
    if (rc == TEMPER_OK && patch && !hunks_ok(patch)) {
        return temper_buf_printf(b, "# temper: GitHub sent a malformed patch for this file "
                                 "(%zu bytes, left out)\n", strlen(patch));
    }
    if (rc == TEMPER_OK && patch) {
        rc = temper_buf_puts(b, "--- ");
        rc = rc ? rc : added ? temper_buf_puts(b, "/dev/null") : put_path(b, "a/", from);
        rc = rc ? rc : temper_buf_puts(b, "\n+++ ");
        rc = rc ? rc : removed ? temper_buf_puts(b, "/dev/null") : put_path(b, "b/", to);
        rc = rc ? rc : temper_buf_puts(b, "\n");
        return rc ? rc : put_body(b, patch);
    }
    if (temper_json_get_int64(f, "additions", 0, INT64_MAX, &adds) != TEMPER_OK) {
        adds = 0;
    }
    if (temper_json_get_int64(f, "deletions", 0, INT64_MAX, &dels) != TEMPER_OK) {
        dels = 0;
    }
    if (rc == TEMPER_OK && adds == 0 && dels == 0 && strcmp(from, to) == 0) {
        rc = temper_buf_puts(b, "Binary files ");
        rc = rc ? rc : added ? temper_buf_puts(b, "/dev/null") : put_path(b, "a/", from);
        rc = rc ? rc : temper_buf_puts(b, " and ");
        rc = rc ? rc : removed ? temper_buf_puts(b, "/dev/null") : put_path(b, "b/", to);
        rc = rc ? rc : temper_buf_puts(b, " differ\n");
    } else if (rc == TEMPER_OK && (adds > 0 || dels > 0)) {
        rc = temper_buf_printf(b, "# temper: GitHub sent no patch for this file (too large: "
                               "+%lld -%lld)\n", (long long)adds, (long long)dels);
    }
    return rc;
}

static int put_files(struct temper_buf *b, const struct json_object *files)
{
    size_t n = json_object_array_length((struct json_object *)files);
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = put_file(b, json_object_array_get_idx((struct json_object *)files, i));
    }
    return rc;
}

static const char *yes_no(bool v)
{
    return v ? "true" : "false";
}

static int put_cover(struct temper_buf *b, const struct gh_diffset *d, size_t n)
{
    char date[64], num[32], subject[HDR_MAX + 64];
    time_t t = (time_t)(d->now_ms / 1000);
    struct tm tm;
    char iso[32] = "";
    if (gmtime_r(&t, &tm)) {
        strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    mail_date(iso, date, sizeof date);
    snprintf(subject, sizeof subject, "[PATCH 0/%zu] %s: %.300s...%.300s", n, d->repo,
             d->old_ref, d->new_ref);
    int rc = temper_buf_printf(b, "From 0000000000000000000000000000000000000000 Mon Sep 17 "
                               "00:00:00 2001\nFrom: temper <temper@localhost>\nDate: %s\n",
                               date);
    rc = rc ? rc : header(b, "Subject", subject);
    rc = rc ? rc : header(b, "X-Temper-Repository", d->repo);
    rc = rc ? rc : header(b, "X-Temper-Old-Ref", d->old_ref);
    rc = rc ? rc : header(b, "X-Temper-New-Ref", d->new_ref);
    rc = rc ? rc : header(b, "X-Temper-Compare-URL", d->compare_url);
    rc = rc ? rc : header(b, "X-Temper-Compare-Status", d->status ? d->status : "unknown");
    snprintf(num, sizeof num, "%lld", d->total_commits);
    rc = rc ? rc : header(b, "X-Temper-Total-Commits", d->total_commits >= 0 ? num : "unknown");
    snprintf(num, sizeof num, "%zu", n);
    rc = rc ? rc : header(b, "X-Temper-Commits", num);
    rc = rc ? rc : header(b, "X-Temper-Commits-Truncated", yes_no(d->commits_truncated));
    snprintf(num, sizeof num, "%zu", json_object_array_length(d->files));
    rc = rc ? rc : header(b, "X-Temper-Files", num);
    rc = rc ? rc : header(b, "X-Temper-Files-Truncated", yes_no(d->files_truncated));
    rc = rc ? rc : header(b, "X-Temper-Patches", d->cfiles ? "per-commit" : "combined");
    rc = rc ? rc : temper_buf_printf(b, "\nThe changes of %s from %s to %s, as GitHub's "
                                     "compare API reports them.\n", d->repo, d->old_ref,
                                     d->new_ref);
    if (rc == TEMPER_OK && d->files_truncated) {
        rc = temper_buf_puts(b, "GitHub lists at most 300 files for a comparison: this one "
                                "was cut there.\n");
    }
    if (rc == TEMPER_OK && d->commits_truncated) {
        rc = temper_buf_puts(b, "Not every commit of the comparison is listed (page or "
                                "commit limit).\n");
    }
    rc = rc ? rc : temper_buf_puts(b, d->cfiles ? "Each commit below carries its own "
                                                  "files.\n"
                                                : "GitHub lists the files of the whole "
                                                  "range, not per commit: the combined diff "
                                                  "follows, the commits below carry none.\n");
    rc = rc ? rc : temper_buf_puts(b, "---\n");
    rc = rc ? rc : d->cfiles ? TEMPER_OK : put_files(b, d->files);
    return rc ? rc : temper_buf_puts(b, "-- \ntemper\n\n");
}

static int commit_headers(struct temper_buf *b, const struct json_object *c)
{
    char date[64];
    bool verified = false;
    const struct json_object *cc = temper_json_get_object(c, "commit");
    int rc = header(b, "X-Temper-Commit", temper_json_get_str(c, "sha"));
    if (rc == TEMPER_OK && temper_json_get_str(c, "author.login")) {
        rc = header(b, "X-Temper-Author-Login", temper_json_get_str(c, "author.login"));
    }
    rc = rc ? rc : person(b, "X-Temper-Committer", temper_json_get_object(cc, "committer"));
    mail_date(temper_json_get_str(cc, "committer.date"), date, sizeof date);
    rc = rc ? rc : header(b, "X-Temper-Committer-Date", date);
    if (rc == TEMPER_OK && temper_json_get_str(c, "committer.login")) {
        rc = header(b, "X-Temper-Committer-Login", temper_json_get_str(c, "committer.login"));
    }
    if (temper_json_get_bool(cc, "verification.verified", &verified) != TEMPER_OK) {
        verified = false;
    }
    rc = rc ? rc : header(b, "X-Temper-Verified", yes_no(verified));
    const char *reason = temper_json_get_str(cc, "verification.reason");
    rc = rc ? rc : header(b, "X-Temper-Verification-Reason", reason ? reason : "unknown");
    size_t np = 0;
    struct json_object *parents = temper_json_get_array(c, "parents", &np);
    rc = rc ? rc : temper_buf_puts(b, "X-Temper-Parents:");
    for (size_t i = 0; rc == TEMPER_OK && i < np && i < 16; i++) {
        char *p = clean(temper_json_get_str(json_object_array_get_idx(parents, i), "sha"), 64);
        rc = p ? temper_buf_printf(b, " %s", p) : TEMPER_ENOMEM;
        free(p);
    }
    return rc ? rc : temper_buf_puts(b, "\n");
}

/* git's subject: the first paragraph of the message on one line. */
static char *subject_of(const char *msg, const char **body)
{
    size_t n = 0;
    while (msg[n] && !(msg[n] == '\n' && (msg[n + 1 + (msg[n + 1] == '\r')] == '\n'))) {
        n++;
    }
    char *s = malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; s && i < n; i++) {
        if (msg[i] != '\r') {
            s[k++] = msg[i] == '\n' ? ' ' : msg[i];
        }
    }
    while (s && k > 0 && s[k - 1] == ' ') {
        k--;
    }
    if (s) {
        s[k] = '\0';
    }
    *body = msg + n + strspn(msg + n, "\r\n");
    return s;
}

static int put_commit(struct temper_buf *b, const struct gh_diffset *d, size_t i, size_t n)
{
    const struct json_object *c = json_object_array_get_idx(d->commits, i);
    const struct json_object *cc = temper_json_get_object(c, "commit");
    const char *msg = temper_json_get_str(cc, "message");
    const char *rest = NULL;
    char date[64];
    char *subj = subject_of(msg ? msg : "", &rest);
    char *lead = subj ? temper_strdupf("[PATCH %zu/%zu] %s", i + 1, n, subj) : NULL;
    char *sha = clean(temper_json_get_str(c, "sha"), 64);
    int rc = lead && sha ? temper_buf_printf(b, "From %s Mon Sep 17 00:00:00 2001\n", sha)
                         : TEMPER_ENOMEM;
    rc = rc ? rc : person(b, "From", temper_json_get_object(cc, "author"));
    mail_date(temper_json_get_str(cc, "author.date"), date, sizeof date);
    rc = rc ? rc : temper_buf_printf(b, "Date: %s\n", date);
    rc = rc ? rc : header(b, "Subject", lead);
    rc = rc ? rc : commit_headers(b, c);
    rc = rc ? rc : temper_buf_puts(b, "\n");
    rc = rc ? rc : put_body(b, rest);
    rc = rc ? rc : temper_buf_puts(b, "---\n");
    rc = rc ? rc : d->cfiles ? put_files(b, d->cfiles[i]) : TEMPER_OK;
    rc = rc ? rc : temper_buf_puts(b, "-- \ntemper\n\n");
    free(subj);
    free(lead);
    free(sha);
    return rc;
}

/* The whole mbox into *out (initialised by the caller, capped). */
static int gh_mbox_build(const struct gh_diffset *d, struct temper_buf *out)
{
    size_t n = json_object_array_length(d->commits);
    int rc = put_cover(out, d, n);
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = put_commit(out, d, i, n);
    }
    return rc;
}

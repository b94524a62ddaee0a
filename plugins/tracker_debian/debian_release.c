/* temper — tracker_debian: accepting an InRelease.
 *
 * In this order, each failure refusing the whole round:
 *  1. gpgv says at least one signature by a key of `keyring` is good
 *     (debian_gpgv.c);
 *  2. the text gpgv verified is, byte for byte, the text parsed
 *     (temper_release_parse checks the cleartext framing like apt, this
 *     makes sure of it);
 *  3. the Release is for the configured suite (its Suite or Codename), so
 *     that a mirror cannot serve another suite's index in its place;
 *  4. it has a Date that is not older than the Date of the last accepted
 *     InRelease (replay protection) and not more than 10 days in the future
 *     (apt's Max-FutureTime);
 *  5. with `check_valid_until` (default), it is not past its Valid-Until. */
#include "config.h"
#include "debian.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_FUTURE_SECS (10LL * 24 * 3600)

static int write_file(struct temper_stage *st, const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return temper_fail(st, TEMPER_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int e = errno;
            close(fd);
            return temper_fail(st, TEMPER_EIO, "cannot write %s: %s", path, strerror(e));
        }
        done += (size_t)n;
    }
    if (close(fd) != 0) {
        return temper_fail(st, TEMPER_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    return TEMPER_OK;
}

/* "Fri, 27 Nov 2026 02:10:32 UTC" */
static void date_text(long long t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(buf, n, "%a, %d %b %Y %H:%M:%S UTC", &tm) == 0) {
        snprintf(buf, n, "@%lld", t);
    }
}

static int check_suite(struct temper_stage *st, const struct debian *d,
                       const struct temper_release *r)
{
    const char *want = d->conf->suite;
    if ((r->suite && strcmp(r->suite, want) == 0) ||
        (r->codename && strcmp(r->codename, want) == 0)) {
        return TEMPER_OK;
    }
    return temper_fail(st, TEMPER_ECRYPTO, "%s is for suite '%s' (codename '%s'), not '%s'",
                       d->safe_url, r->suite ? r->suite : "", r->codename ? r->codename : "",
                       want);
}

static int check_dates(struct temper_stage *st, const struct debian *d,
                       const struct temper_release *r, long long saved)
{
    long long now = temper_stage_now_ms(st) / 1000;
    char a[64], b[64];
    if (r->date < 0) {
        return temper_fail(st, TEMPER_ECRYPTO, "%s has no Date field (needed to refuse"
                           " replayed indexes)", d->safe_url);
    }
    if (r->date > now + MAX_FUTURE_SECS) {
        return temper_fail(st, TEMPER_ECRYPTO, "%s is not valid yet: Date %s is in the future",
                           d->safe_url, r->date_text);
    }
    if (saved >= 0 && r->date < saved) {
        date_text(saved, a, sizeof a);
        return temper_fail(st, TEMPER_ECRYPTO, "%s: Date %s is older than the Date of the last"
                           " accepted InRelease (%s): refusing a possible replay",
                           d->safe_url, r->date_text, a);
    }
    if (d->conf->check_valid_until && r->valid_until >= 0 && now > r->valid_until) {
        date_text(now, b, sizeof b);
        return temper_fail(st, TEMPER_ECRYPTO, "%s has expired: Valid-Until %s is in the past"
                           " (now %s)", d->safe_url, r->valid_until_text, b);
    }
    return TEMPER_OK;
}

int debian_release_check(struct temper_stage *st, const struct debian *d, const char *body,
                         size_t len, long long saved_date, struct temper_release **out)
{
    *out = NULL;
    struct temper_release *r = NULL;
    char *verified = NULL;
    size_t vlen = 0;
    char *path = debian_work_path(st, "InRelease");
    int rc = path ? write_file(st, path, body, len) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        rc = debian_gpgv_verify(st, d, path, &verified, &vlen);
    }
    if (rc == TEMPER_OK) {
        rc = temper_release_parse(st, d->safe_url, body, len, &r);
    }
    if (rc == TEMPER_OK && (!r->clearsigned || vlen != r->signed_len ||
                            memcmp(verified, r->signed_text, vlen) != 0)) {
        rc = temper_fail(st, TEMPER_ECRYPTO, "%s: the text gpgv verified is not the text"
                         " read", d->safe_url);
    }
    if (rc == TEMPER_OK) {
        rc = check_suite(st, d, r);
    }
    if (rc == TEMPER_OK) {
        rc = check_dates(st, d, r, saved_date);
    }
    if (path) {
        (void)unlink(path);
    }
    free(path);
    free(verified);
    if (rc != TEMPER_OK) {
        temper_release_free(r);
        return rc;
    }
    *out = r;
    return TEMPER_OK;
}

/* Lower case, anything but [a-z0-9.+-] becomes '-'. */
static void name_part(char *s)
{
    for (; *s; s++) {
        char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
                  c == '-';
        *s = ok ? c : '-';
    }
}

int debian_distribution(struct temper_stage *st, const struct debian *d,
                        const struct temper_release *r, char **out)
{
    const char *code = r->codename && *r->codename ? r->codename : r->suite;
    if (d->conf->common.distribution) {
        *out = strdup(d->conf->common.distribution);
    } else if (!r->origin || !*r->origin || !code || !*code) {
        return temper_fail(st, TEMPER_EFORMAT, "%s has no Origin or Codename: set"
                           " `distribution`", d->safe_url);
    } else {
        size_t cut = strcspn(code, "-");
        *out = temper_strdupf("%s:%.*s", r->origin, (int)(cut ? cut : strlen(code)), code);
        if (*out) {
            name_part(*out + strlen(r->origin) + 1);
            char *colon = *out + strlen(r->origin);
            *colon = '\0';
            name_part(*out);
            *colon = ':';
        }
    }
    return *out ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "out of memory");
}

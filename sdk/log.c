/* temper — logging with secret redaction.
 *
 * Lines go to one stream (stderr by default) as
 *   2026-11-28T19:40:00Z error [signer:keyfile/release] message
 * or, in JSON mode, one object a line.  Registered secrets are replaced by
 * "***" in the formatted message before it is written anywhere. */
#include "host.h"
#include "log-private.h"
#include <temper/buf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_LINE_MAX 8192
#define SECRETS_MAX 64

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum temper_log_level log_level = TEMPER_LOG_LVL_INFO;
static FILE *log_stream; /* NULL = stderr */
static int log_json;
static char *secrets[SECRETS_MAX];
static size_t n_secrets;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void temper_log_set_level(enum temper_log_level lvl)
{
    log_level = lvl;
}

void temper_log_set_stream(FILE *f)
{
    log_stream = f;
}

void temper_log_set_json(int on)
{
    log_json = on;
}

void temper_log_clear_secrets(void)
{
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < n_secrets; i++) {
        free(secrets[i]);
        secrets[i] = NULL;
    }
    n_secrets = 0;
    pthread_mutex_unlock(&log_lock);
}

int temper_log_add_secret(const char *secret)
{
    if (!secret) {
        return TEMPER_OK;
    }
    /* a token read from a file usually ends in a newline that the text
     * being logged does not contain */
    size_t len = strlen(secret);
    while (len > 0 && (secret[len - 1] == '\n' || secret[len - 1] == '\r')) {
        len--;
    }
    if (len < 4) {
        return TEMPER_OK;
    }
    int rc = TEMPER_OK;
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < n_secrets; i++) {
        if (strlen(secrets[i]) == len && memcmp(secrets[i], secret, len) == 0) {
            goto out;
        }
    }
    if (n_secrets == SECRETS_MAX) {
        rc = TEMPER_ELIMIT;
        goto out;
    }
    secrets[n_secrets] = strndup(secret, len);
    if (!secrets[n_secrets]) {
        rc = TEMPER_ENOMEM;
        goto out;
    }
    n_secrets++;
out:
    pthread_mutex_unlock(&log_lock);
    return rc;
}

/* Replace each maximal run of bytes covered by some secret occurrence with
 * "***" (overlapping secrets leave no uncovered piece).  Caller holds
 * log_lock. */
static void redact_locked(char *buf)
{
    size_t n = strlen(buf);
    if (n_secrets == 0 || n == 0) {
        return;
    }
    unsigned char *mask = calloc(n, 1);
    if (!mask) {
        memset(buf, '*', n); /* cannot tell secrets apart: hide everything */
        return;
    }
    for (size_t i = 0; i < n_secrets; i++) {
        size_t sl = strlen(secrets[i]);
        for (char *p = strstr(buf, secrets[i]); p; p = strstr(p + 1, secrets[i])) {
            memset(mask + (p - buf), 1, sl);
        }
    }
    size_t w = 0;
    for (size_t r = 0; r < n; r++) {
        if (!mask[r]) {
            buf[w++] = buf[r];
        } else if (r == 0 || !mask[r - 1]) {
            memcpy(buf + w, "***", 3); /* runs are >= 4 bytes: w + 3 <= r + 1 */
            w += 3;
        }
    }
    buf[w] = '\0';
    free(mask);
}

char *temper_log_vformat(size_t max, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0 || max == 0) {
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        return NULL;
    }
    if (vsnprintf(s, (size_t)n + 1, fmt, ap) != n) {
        free(s);
        return NULL;
    }
    pthread_mutex_lock(&log_lock);
    redact_locked(s);
    pthread_mutex_unlock(&log_lock);
    size_t len = strlen(s);
    if (len >= max) {
        len = max - 1;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80) {
            len--; /* do not split a UTF-8 sequence */
        }
        s[len] = '\0';
    }
    return s;
}

char *temper_log_format(size_t max, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = temper_log_vformat(max, fmt, ap);
    va_end(ap);
    return s;
}

void temper_log_redact(char *buf)
{
    if (!buf) {
        return;
    }
    pthread_mutex_lock(&log_lock);
    redact_locked(buf);
    pthread_mutex_unlock(&log_lock);
}

static void json_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
        } else {
            fputc(c, f);
        }
    }
}

static void stage_prefix(const struct temper_stage *st, char *out, size_t n)
{
    out[0] = '\0';
    if (!st) {
        return;
    }
    const struct temper_plugin *p = temper_stage_plugin(st);
    const char *kind = p ? temper_kind_str(p->kind) : NULL;
    const char *name = temper_stage_name(st);
    int w = snprintf(out, n, "%s:%s/%s", kind ? kind : "?", p && p->name ? p->name : "?",
                     name ? name : "?");
    if (w < 0) {
        out[0] = '\0';
    }
}

void temper_logv(struct temper_stage *st, enum temper_log_level lvl, const char *fmt,
                 va_list ap)
{
    if ((int)lvl > (int)log_level || (int)lvl < 0 || (int)lvl > TEMPER_LOG_LVL_DEBUG) {
        return;
    }
    /* redacted before it is cut to the line length (see temper_log_vformat) */
    char *heap = temper_log_vformat(LOG_LINE_MAX, fmt, ap);
    for (char *p = heap; p && *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }
    const char *msg = heap ? heap : "(log message lost: out of memory)";
    char prefix[256];
    stage_prefix(st, prefix, sizeof prefix);
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    if (strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        ts[0] = '\0';
    }
    pthread_mutex_lock(&log_lock);
    FILE *f = log_stream ? log_stream : stderr;
    if (log_json) {
        fprintf(f, "{\"time\":\"%s\",\"level\":\"%s\",\"stage\":\"", ts, level_names[lvl]);
        json_escape(f, prefix);
        fputs("\",\"msg\":\"", f);
        json_escape(f, msg);
        fputs("\"}\n", f);
    } else if (prefix[0]) {
        fprintf(f, "%s %s [%s] %s\n", ts, level_names[lvl], prefix, msg);
    } else {
        fprintf(f, "%s %s %s\n", ts, level_names[lvl], msg);
    }
    fflush(f);
    pthread_mutex_unlock(&log_lock);
    free(heap);
}

void temper_log(struct temper_stage *st, enum temper_log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    temper_logv(st, lvl, fmt, ap);
    va_end(ap);
}

/* temper — logging with secret redaction.
 *
 * Lines go to one stream (stderr by default) as
 *   2026-11-28T19:40:00Z error [signer:keyfile/release] message
 * or, in JSON mode, one object a line.  Registered secrets are replaced by
 * "***" in the formatted message before it is written anywhere. */
#include "host.h"
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
    if (!secret || strlen(secret) < 4) {
        return TEMPER_OK;
    }
    int rc = TEMPER_OK;
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < n_secrets; i++) {
        if (strcmp(secrets[i], secret) == 0) {
            goto out;
        }
    }
    if (n_secrets == SECRETS_MAX) {
        rc = TEMPER_ELIMIT;
        goto out;
    }
    secrets[n_secrets] = strdup(secret);
    if (!secrets[n_secrets]) {
        rc = TEMPER_ENOMEM;
        goto out;
    }
    n_secrets++;
out:
    pthread_mutex_unlock(&log_lock);
    return rc;
}

/* Caller holds log_lock. */
static void redact_locked(char *buf)
{
    for (size_t i = 0; i < n_secrets; i++) {
        size_t sl = strlen(secrets[i]);
        char *p = buf;
        while ((p = strstr(p, secrets[i])) != NULL) {
            memcpy(p, "***", 3);
            memmove(p + 3, p + sl, strlen(p + sl) + 1);
            p += 3;
        }
    }
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
    if ((int)lvl > (int)log_level || (int)lvl < 0) {
        return;
    }
    char msg[LOG_LINE_MAX];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0) {
        return;
    }
    for (char *p = msg; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }
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
    redact_locked(msg);
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
}

void temper_log(struct temper_stage *st, enum temper_log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    temper_logv(st, lvl, fmt, ap);
    va_end(ap);
}

/* temper — the process-wide per-host rate-limit table of the HTTP client.
 *
 * Every client of the process (every tracker, every stage, every thread)
 * shares one table keyed by origin (scheme://host:port, lower case).  Each
 * attempt asks for admission before it is sent and reports its reply after:
 *
 *  - Primary limit (X-RateLimit-Remaining / X-RateLimit-Reset, GitHub and
 *    many others).  The table keeps the host's remaining budget: an admitted
 *    attempt takes one unit, a reply sets the budget to what the server says
 *    minus the attempts still in flight (a 304, which GitHub does not count,
 *    so gives its unit back), a reply without the headers returns the unit.
 *    With no budget left and attempts in flight, new attempts wait for their
 *    replies; with none in flight, the host is blocked until the reset.
 *    While nothing is known of a host (its first request, or the first after
 *    a reset), one attempt goes alone and its reply tells the budget (or that
 *    the host has none: then nothing is gated).
 *  - Secondary limits: a 403 or 429 with Retry-After blocks the host for that
 *    long; a 429, or a 403 whose body says "rate limit", without any hint
 *    blocks it for a minute (GitHub's advice).
 *
 * A blocked host costs no request: an attempt whose wait fits the client's
 * max_wait_ms waits (without holding up other hosts of a batch), a longer
 * one fails at once with TEMPER_ELIMIT "rate limited until HH:MM:SS UTC".
 * The table holds at most RATE_HOSTS hosts; the least recently used idle
 * entry is reused.  Times are Unix ms from the stage clock. */
#include "config.h"
#include "http_int.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RATE_HOSTS 256
#define RATE_ORIGIN_MAX 300
#define RATE_CAUSE_MAX 96
#define RATE_SECONDARY_MS 60000LL
#define RATE_RECHECK_MS 20LL
#define RATE_BODY_SCAN 4096

struct rate_entry {
    char origin[RATE_ORIGIN_MAX + 1];
    long long remaining;     /* estimate; -1 unknown */
    long long reset_ms;      /* X-RateLimit-Reset; 0 unknown */
    long long blocked_until; /* nothing is sent before this */
    long long used_ms;       /* last use, for reuse of the entry */
    int inflight;            /* admitted attempts without a reply yet */
    bool probed;             /* a reply of this window told whether there is a budget */
    char cause[RATE_CAUSE_MAX];
};

static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rate_entry rate_table[RATE_HOSTS];

/* The entry of origin (created when `make`); caller holds the lock. */
static struct rate_entry *find(const char *origin, long long now, bool make)
{
    struct rate_entry *free_e = NULL;
    for (size_t i = 0; i < RATE_HOSTS; i++) {
        struct rate_entry *e = &rate_table[i];
        if (e->origin[0] && strcmp(e->origin, origin) == 0) {
            e->used_ms = now;
            return e;
        }
        bool idle = !e->origin[0] || (e->inflight == 0 && e->blocked_until <= now);
        bool have_empty = free_e && !free_e->origin[0]; /* beats any idle entry */
        if (idle && !have_empty && (!free_e || !e->origin[0] || e->used_ms < free_e->used_ms)) {
            free_e = e;
        }
    }
    if (!make || !free_e || strlen(origin) > RATE_ORIGIN_MAX) {
        return NULL;
    }
    memset(free_e, 0, sizeof *free_e);
    snprintf(free_e->origin, sizeof free_e->origin, "%s", origin);
    free_e->remaining = -1;
    free_e->used_ms = now;
    return free_e;
}

void http_rate_when(long long now_ms, long long until_ms, char *out, size_t n)
{
    time_t t = (time_t)((until_ms + 999) / 1000);
    time_t t0 = (time_t)(now_ms / 1000);
    struct tm tm, tm0;
    size_t k = 0;
    if (!gmtime_r(&t0, &tm0) || !gmtime_r(&t, &tm)) {
        snprintf(out, n, "?");
        return;
    }
    if (tm.tm_yday != tm0.tm_yday || tm.tm_year != tm0.tm_year) {
        k = strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
    } else {
        k = strftime(out, n, "%H:%M:%S UTC", &tm);
    }
    if (k == 0) {
        snprintf(out, n, "?");
    }
}

static void describe(const struct rate_entry *e, long long now, char *why, size_t n)
{
    char when[40];
    http_rate_when(now, e->blocked_until, when, sizeof when);
    snprintf(why, n, "rate limited until %s (%s: %s)", when, e->origin, e->cause);
}

enum rate_verdict http_rate_admit(const char *origin, long long now, long long max_wait,
                                  long long *wait_ms, char *why, size_t n)
{
    enum rate_verdict v = RATE_GO;
    *wait_ms = 0;
    why[0] = '\0';
    pthread_mutex_lock(&rate_lock);
    struct rate_entry *e = find(origin, now, true);
    if (!e) {
        goto out; /* table full of busy hosts: no gate */
    }
    if (e->blocked_until > now) {
        *wait_ms = e->blocked_until - now;
        describe(e, now, why, n);
        v = *wait_ms > max_wait ? RATE_DENY : RATE_WAIT;
        goto out;
    }
    if (e->reset_ms > 0 && e->reset_ms <= now) {
        e->remaining = -1; /* a new window */
        e->reset_ms = 0;
        e->probed = false;
    }
    if ((e->remaining == 0 || !e->probed) && e->inflight > 0) {
        /* no budget left, or not known yet: the replies in flight tell */
        *wait_ms = RATE_RECHECK_MS;
        snprintf(why, n, "%s: waiting for the replies in flight to learn the budget",
                 e->origin);
        v = RATE_WAIT;
        goto out;
    }
    e->inflight++;
    if (e->remaining > 0) {
        e->remaining--;
    }
out:
    pthread_mutex_unlock(&rate_lock);
    return v;
}

static bool header_ll(const struct temper_http_resp *r, const char *name, long long *v)
{
    const char *h = http_hdr_get(r->priv, name, 0);
    return h && temper_parse_ll(h, v) == TEMPER_OK && *v >= 0 && *v < 100000000000LL;
}

static bool mentions_rate_limit(const struct temper_buf *b)
{
    static const char needle[] = "rate limit";
    size_t k = sizeof needle - 1;
    for (size_t i = 0; b->data && i + k <= b->len && i < RATE_BODY_SCAN; i++) {
        if (strncasecmp(b->data + i, needle, k) == 0) {
            return true;
        }
    }
    return false;
}

static void block(struct rate_entry *e, long long until, const char *cause)
{
    if (until > e->blocked_until) {
        e->blocked_until = until;
        snprintf(e->cause, sizeof e->cause, "%s", cause);
    }
}

/* What a reply says; caller holds the lock. */
static void learn(struct rate_entry *e, const struct temper_http_resp *r, long status,
                  long long now)
{
    long long rem = -1, reset = 0, wait = 0;
    bool has_rem = header_ll(r, "X-RateLimit-Remaining", &rem);
    bool has_reset = header_ll(r, "X-RateLimit-Reset", &reset);
    e->probed = true;
    if (has_rem) {
        e->remaining = rem > e->inflight ? rem - e->inflight : 0;
        e->reset_ms = has_reset ? reset * 1000 : 0;
        if (rem == 0 && (!has_reset || e->reset_ms > now)) {
            /* a reset in the past: the next window has begun */
            block(e, has_reset ? e->reset_ms : now + RATE_SECONDARY_MS, "rate limit exhausted");
        }
    } else if (e->remaining >= 0) {
        e->remaining++; /* not counted by the server, as far as we know */
    }
    if (status != 403 && status != 429) {
        return;
    }
    if (temper_http_parse_retry_after(http_hdr_get(r->priv, "Retry-After", 0), now, &wait) ==
        TEMPER_OK) {
        block(e, now + wait, "secondary rate limit (Retry-After)");
    } else if (!(has_rem && rem == 0) && (status == 429 || mentions_rate_limit(&r->body))) {
        block(e, now + RATE_SECONDARY_MS, "secondary rate limit");
    }
}

void http_rate_release(const char *origin, const struct temper_http_resp *r, long status,
                       long long now)
{
    pthread_mutex_lock(&rate_lock);
    struct rate_entry *e = find(origin, now, false);
    if (e) {
        if (e->inflight > 0) {
            e->inflight--;
        }
        if (r && status > 0) {
            learn(e, r, status, now);
        } else if (e->remaining >= 0) {
            e->remaining++; /* never reached the server */
        }
    }
    pthread_mutex_unlock(&rate_lock);
}

int temper_http_rate_get(const char *url, struct temper_http_rate *out)
{
    if (!url || !out || out->size < sizeof(uint32_t)) {
        return TEMPER_EINVAL;
    }
    char *origin = http_origin(url);
    if (!origin) {
        return TEMPER_EINVAL;
    }
    struct temper_http_rate v = { .size = sizeof v, .remaining = -1 };
    int rc = TEMPER_ENOTFOUND;
    pthread_mutex_lock(&rate_lock);
    for (size_t i = 0; i < RATE_HOSTS; i++) {
        const struct rate_entry *e = &rate_table[i];
        if (e->origin[0] && strcmp(e->origin, origin) == 0) {
            v.remaining = e->remaining;
            v.reset_ms = e->reset_ms;
            v.blocked_until_ms = e->blocked_until;
            v.inflight = e->inflight;
            rc = TEMPER_OK;
            break;
        }
    }
    pthread_mutex_unlock(&rate_lock);
    free(origin);
    uint32_t size = out->size < sizeof v ? out->size : (uint32_t)sizeof v;
    memcpy(out, &v, size);
    out->size = size;
    return rc;
}

void temper_http_rate_forget(const char *url)
{
    char *origin = url ? http_origin(url) : NULL;
    pthread_mutex_lock(&rate_lock);
    for (size_t i = 0; i < RATE_HOSTS; i++) {
        struct rate_entry *e = &rate_table[i];
        if (e->origin[0] && (!origin || strcmp(e->origin, origin) == 0)) {
            int inflight = e->inflight;
            memset(e, 0, sizeof *e);
            if (inflight > 0 && origin) { /* keep counting what is in flight */
                snprintf(e->origin, sizeof e->origin, "%s", origin);
                e->remaining = -1;
                e->inflight = inflight;
            }
        }
    }
    pthread_mutex_unlock(&rate_lock);
    free(origin);
}

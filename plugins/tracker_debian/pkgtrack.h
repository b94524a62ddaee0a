/* temper — what the package trackers (tracker_debian, tracker_alpine) share:
 * the HTTP options and client, the set of followed packages, the saved state
 * and the comparison that turns "what the index says now" into changes.
 *
 * The file is compiled into both modules (each module exports only its
 * descriptor, STYLE.md B3, so these names never leave the module); every
 * module that compiles pkgtrack.c defines PKGTRACK_NS to its own name, so a
 * static (dlpreopen) build that links both into one program sees no
 * duplicate symbols.
 *
 * Saved state.  A tracker keeps ONE state value, under the key "packages":
 *
 *     temper-pkgstate 1 <fingerprint> <date>\n
 *     <name> <version>\n          one line per followed package,
 *     ...                         sorted by name (byte order), no duplicates
 *
 * One value, not one key per package: a Debian main index has ~63,000
 * packages and an Alpine community index ~20,000; one compact text value is
 * one store write per round (atomic: the old state or the new one, never a
 * mix), ~35 bytes per package (~2 MB for Debian main) and is decoded in one
 * pass with no allocation per package.  Names and versions never contain
 * blanks (entries of an index that would are skipped with a warning).
 *
 * <fingerprint> is 16 hex digits of SHA-256 over what decides which packages
 * are followed (distribution, suite or branch, components, arch, the package
 * and source lists); the mirror is not part of it (switching mirrors keeps
 * the state).  When it does not match the configuration, the state still
 * serves for the packages it has, but the round is not conditional and
 * packages missing from it are recorded silently (a baseline), not
 * reported.  <date> is the Release Date (Unix time) of the last accepted
 * Debian index (replay protection: a Date older than it is refused while
 * the configuration is the same), -1 for Alpine.
 *
 * Rules of a round (pkgtrack_update):
 *  - a package whose version is greater than the saved one (dpkg or apk
 *    ordering) is reported: one TEMPER_ART_CHANGE with package,
 *    source_package, distribution, old_version and new_version;
 *  - a package not in the saved state is reported with old_version "" when
 *    a state for this configuration existed, and recorded silently when not
 *    (first round: a baseline, unless `report_initial` asks otherwise);
 *  - a smaller version (a downgrade) is logged as a warning and NOT
 *    reported; the saved (greater) version stays, so only a version greater
 *    than anything seen is ever reported;
 *  - a package gone from the index is dropped from the state (if it comes
 *    back it is reported as new);
 *  - the changes are emitted first and the state written after: a failure
 *    in between reports them again next round (jobs are de-duplicated), it
 *    never loses one. */
#ifndef TEMPER_PKGTRACK_H
#define TEMPER_PKGTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <temper/temper.h>

#ifndef PKGTRACK_NS
#error "compile with -DPKGTRACK_NS=<module name>"
#endif
#define PKGTRACK_CAT2(a, b) a##_##b
#define PKGTRACK_CAT(a, b) PKGTRACK_CAT2(a, b)
#define pkgtrack_http_new PKGTRACK_CAT(PKGTRACK_NS, pkgtrack_http_new)
#define pkgtrack_valid_url PKGTRACK_CAT(PKGTRACK_NS, pkgtrack_valid_url)
#define pkgtrack_valid_word PKGTRACK_CAT(PKGTRACK_NS, pkgtrack_valid_word)
#define pkgtrack_fingerprint PKGTRACK_CAT(PKGTRACK_NS, pkgtrack_fingerprint)
#define pkgtrack_followed PKGTRACK_CAT(PKGTRACK_NS, pkgtrack_followed)
#define pkgtrack_read_file PKGTRACK_CAT(PKGTRACK_NS, pkgtrack_read_file)
#define pkgtrack_url_len PKGTRACK_CAT(PKGTRACK_NS, pkgtrack_url_len)
#define pkgtrack_state_load PKGTRACK_CAT(PKGTRACK_NS, pkgtrack_state_load)
#define pkgtrack_state_cleanup PKGTRACK_CAT(PKGTRACK_NS, pkgtrack_state_cleanup)
#define pkgtrack_set_add PKGTRACK_CAT(PKGTRACK_NS, pkgtrack_set_add)
#define pkgtrack_set_cleanup PKGTRACK_CAT(PKGTRACK_NS, pkgtrack_set_cleanup)
#define pkgtrack_update PKGTRACK_CAT(PKGTRACK_NS, pkgtrack_update)
#define pkgtrack_poll PKGTRACK_CAT(PKGTRACK_NS, pkgtrack_poll)

/* The state key (see above). */
#define PKGTRACK_STATE_KEY "packages"
/* At most this many packages in one set (an index, a saved state). */
#define PKGTRACK_MAX_PACKAGES 4000000u
/* Longest package name or version kept. */
#define PKGTRACK_MAX_TOKEN 256u

/* Options both trackers take (PKGTRACK_COMMON_OPTIONS in their tables). */
struct pkgtrack_conf {
    long long timeout;          /* ms, one HTTP attempt */
    long long connect_timeout;  /* ms */
    long long retries;
    char *ca_file;
    char *distribution;         /* override of the derived name */
    bool report_initial;
};

#define PKGTRACK_COMMON_OPTIONS(type, m)                                                   \
    { TEMPER_OPT_DURATION, "timeout", "5m", 0, offsetof(type, m.timeout), 100,             \
      86400000LL, NULL, "longest time one HTTP request may take (each retry again)" },     \
    { TEMPER_OPT_DURATION, "connect_timeout", "30s", 0, offsetof(type, m.connect_timeout), \
      100, 3600000LL, NULL, "longest time to connect to the mirror" },                    \
    { TEMPER_OPT_INT, "retries", "3", 0, offsetof(type, m.retries), 0, 10, NULL,           \
      "retries of a failed request (connection errors, timeouts, 5xx)" },                  \
    { TEMPER_OPT_PATH, "ca_file", NULL, 0, offsetof(type, m.ca_file), 0, 0, NULL,          \
      "PEM bundle replacing the default trust store for https mirrors" },                 \
    { TEMPER_OPT_STR, "distribution", NULL, 0, offsetof(type, m.distribution), 0, 0, NULL, \
      "distribution named in changes (default derived: debian:bookworm, alpine:v3.19)" },   \
    { TEMPER_OPT_BOOL, "report_initial", "false", 0, offsetof(type, m.report_initial), 0, \
      0, NULL, "first round reports every followed package (default: records a baseline)" }

/* A client with the common options; failures recorded on st. */
int pkgtrack_http_new(struct temper_stage *st, const struct pkgtrack_conf *c,
                      struct temper_http **out);

/* "http://..." or "https://...": TEMPER_EINVAL recorded otherwise. */
int pkgtrack_valid_url(struct temper_stage *st, const char *key, const char *url);
/* A path segment for a URL: [A-Za-z0-9._+~-] (plus '/' when slash), not
 * empty, no "." or ".." segment; TEMPER_EINVAL recorded otherwise. */
int pkgtrack_valid_word(struct temper_stage *st, const char *key, const char *v, bool slash);

/* fp (17 bytes) = 16 hex digits of SHA-256 over `head` and the values of
 * the n lists (see "Saved state" above). */
int pkgtrack_fingerprint(const char *head, const struct temper_strlist *const *lists, size_t n,
                         char fp[17]);

/* Length of `url` without its trailing slashes (for "%.*s/..." joins). */
int pkgtrack_url_len(const char *url);

/* A whole file of at most `max` bytes as a new NUL-terminated string.
 * TEMPER_EIO, TEMPER_ELIMIT or TEMPER_ENOMEM; nothing recorded (the caller
 * names the file in its message). */
int pkgtrack_read_file(const char *path, size_t max, char **out, size_t *len);

/* Is a package followed: no lists = every package; else its name is in
 * `names` or its source in `sources`. */
bool pkgtrack_followed(const struct temper_strlist *names, const struct temper_strlist *sources,
                       const char *name, const char *source);

struct pkgtrack_ent {
    const char *name;
    const char *version;
    const char *source;         /* NULL in a saved state */
};

/* A set of packages.  Strings are borrowed (from an index, or from `text`
 * for a saved state). */
struct pkgtrack_set {
    struct pkgtrack_ent *v;
    size_t n, cap;
    size_t skipped;             /* entries refused by pkgtrack_set_add */
    char *text;                 /* owned storage of a decoded state */
};

/* Add a package (strings borrowed until the set is freed).  Names or
 * versions that are empty, too long or hold blanks/control bytes are
 * skipped (counted); TEMPER_ELIMIT past PKGTRACK_MAX_PACKAGES. */
int pkgtrack_set_add(struct temper_stage *st, struct pkgtrack_set *s, const char *name,
                     const char *version, const char *source);
void pkgtrack_set_cleanup(struct pkgtrack_set *s);

struct pkgtrack_state {
    struct pkgtrack_set set;    /* sorted by name */
    bool present;               /* a usable state was saved */
    bool same_config;           /* ... for this fingerprint */
    long long date;             /* saved date, -1 when none */
};

/* Load the saved state.  A corrupt state is logged and treated as absent
 * (the next round records a new baseline).  Errors only from the store. */
int pkgtrack_state_load(struct temper_stage *st, const char *fp, struct pkgtrack_state *s);
void pkgtrack_state_cleanup(struct pkgtrack_state *s);

/* One round's comparison. */
struct pkgtrack_round {
    const char *what;           /* index name for messages (safe URL) */
    const char *distribution;   /* "debian:bookworm" */
    const char *fp;             /* fingerprint of the configuration */
    long long date;             /* to save (-1 = none) */
    int (*cmp)(const char *a, const char *b); /* temper_dpkg_cmp, temper_apk_cmp */
    bool report_initial;
};

/* Compare `now` (sorted here; duplicates keep their greatest version) with
 * `old`, emit one change per package that moved, then save the new state.
 * *changes (may be NULL) gets the number emitted. */
int pkgtrack_update(struct temper_stage *st, const struct pkgtrack_round *r,
                    const struct pkgtrack_state *old, struct pkgtrack_set *now,
                    size_t *changes);

/* The rest of a round once the index arrived (2xx body in resp): check it,
 * pkgtrack_update(), then temper_http_commit_validators(h, resp). */
typedef int (*pkgtrack_accept_fn)(void *ctx, struct temper_stage *st, struct temper_http *h,
                                  const struct temper_http_resp *resp,
                                  const struct pkgtrack_state *old);

/* One round: load the state, GET `url` (conditionally when a state for
 * this configuration exists, body capped at max_body), and on a 2xx call
 * `accept`; a 304 ends the round.  Watches are not used (logged). */
int pkgtrack_poll(struct temper_stage *st, const struct pkgtrack_conf *c, const char *fp,
                  const char *url, unsigned long long max_body, size_t n_watches,
                  pkgtrack_accept_fn accept, void *ctx);

#endif

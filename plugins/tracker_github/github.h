/* temper — GitHub trackers (tracker_github_releases, tracker_github_tags):
 * shared declarations.
 *
 * The implementation in plugins/tracker_github/ is compiled into each of the
 * two modules as static code: each descriptor file #includes the github_*.c
 * files (one translation unit per module), so the modules share source but
 * no symbols, and a static (dlpreopen) build links both without clashes.
 * Design notes and the state layout are in plugins/tracker_github/README.md. */
#ifndef TEMPER_TRACKER_GITHUB_H
#define TEMPER_TRACKER_GITHUB_H

#include <temper/tracker.h>
#include <temper/http.h>
#include <temper/json.h>
#include <temper/buf.h>
#include <json-c/json.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#define GH_VERSION "0.1.0"
#define GH_PUBLIC_API "https://api.github.com"
#define GH_PUBLIC_WEB "https://github.com"
#define GH_ACCEPT "Accept: application/vnd.github+json"
#define GH_API_VERSION "X-GitHub-Api-Version: 2022-11-28"

#define GH_MAX_ITEMS_PAGE 1000    /* array entries read from one page */
#define GH_MAX_TAG 255            /* bytes of a tag name */
#define GH_MAX_VERSION 128        /* bytes of a derived version */
#define GH_MAX_URL 2048           /* bytes of a URL taken from a reply */
#define GH_MAX_STATE (1u << 20)   /* bytes of one watch's saved state */
#define GH_COMPARE_FILE_CAP 300   /* GitHub lists at most 300 files in a compare */
#define GH_MAX_FILES 3000         /* files kept per commit / per compare */
#define GH_MAX_PATCH (8u << 20)   /* bytes of one file's patch text */
#define GH_MAX_MESSAGE (1u << 20) /* bytes of one commit message */
#define GH_MAX_MBOX (512u << 20)  /* bytes of the mbox diff() writes */

enum gh_mode { GH_RELEASES = 1, GH_TAGS = 2 };

/* Instance options ([tracker "NAME"]). */
struct gh_conf {
    char *api_url;
    char *web_url;
    char *token_file;
    char *token_env;
    char *ca_file;
    long long connect_timeout;
    long long timeout;
    long long max_wait;
    long long retries;
    long long per_page;
    long long max_pages;
    long long concurrency;
    unsigned long long max_body;
    bool diff_per_commit;
    long long diff_max_commits;
};

/* Watch options (an image's [upstream] section). */
struct gh_watch_conf {
    char *repo;
    char *include;
    char *exclude;
    char *strip_prefix;
    char *version_regex;
    bool prereleases;
    bool drafts;
};

struct gh_state {
    const struct gh_conf *conf;
    enum gh_mode mode;
    char *api;          /* api_url without a trailing "/" */
    char *web;          /* web base for release/compare links */
    char *origin;       /* "scheme://host[:port]" of api, lower-case */
    char *auth_header;  /* "Authorization: Bearer ..." from token_env */
};

/* One release or tag that passed a watch's filters. */
struct gh_cand {
    char *ref;      /* tag name */
    char *version;  /* derived version */
    char *url;      /* release page */
};

/* A watch prepared for a round: its compiled filters and saved state. */
struct gh_watch {
    const struct temper_watch *w;
    const struct gh_watch_conf *wc;
    regex_t include, exclude, vregex;
    bool has_include, has_exclude, has_vregex;
    char fp[TEMPER_SHA256_HEX_LEN + 1];  /* fingerprint of the filters */
    struct json_object *saved;           /* saved state or NULL */
    struct json_object *pages;           /* page entries of this round */
    char *next;                          /* URL of the next page, or NULL */
    struct gh_call **got;                /* 2xx replies used (validators to commit) */
    size_t n_got;
    struct gh_call *call;                /* reply of the current page */
    bool failed, all_cached, refetch;
};

/* One request of a batch and its outcome (a request the SDK's rate-limit
 * table stopped before it was sent has rc TEMPER_ELIMIT, sent false and err
 * set). */
struct gh_call {
    struct temper_http_req req;
    struct temper_http_resp resp;
    const char *hdrs[4];
    char *url;
    bool sent, committed;
    int rc;
    char *err;
};

/* What diff() collected, for the mbox writer (all borrowed). */
struct gh_diffset {
    const char *repo, *old_ref, *new_ref;
    const char *compare_url;      /* web page of the comparison */
    const char *status;           /* "ahead", "diverged", ... or NULL */
    long long total_commits;      /* as GitHub counts them, -1 unknown */
    struct json_object *commits;  /* compare's commits[], oldest first */
    struct json_object *files;    /* compare's files[] (the whole range) */
    struct json_object **cfiles;  /* per-commit files[], or NULL */
    bool files_truncated, commits_truncated;
    long long now_ms;
};

/* ---- github_conf.c ------------------------------------------------------ */
static int gh_open(struct temper_stage *st, const void *conf, void **state,
                   enum gh_mode mode);
static void gh_close(void *state);
static int gh_check_repo(const char *repo);
static int gh_prepare_watch(struct gh_state *s, struct temper_stage *st,
                            const struct temper_watch *w, struct gh_watch *gw);
static void gh_watch_cleanup(struct gh_watch *gw);
static char *gh_escape(const char *s, bool keep_slash);
static int gh_http_new(struct gh_state *s, struct temper_stage *st,
                       struct temper_http **out);

/* ---- github_fetch.c ----------------------------------------------------- */
static int gh_call_init(struct gh_state *s, struct gh_call *c, char *url, unsigned flags);
static void gh_call_cleanup(struct gh_call *c);
static int gh_fetch(struct gh_state *s, struct temper_stage *st, struct temper_http *h,
                    struct gh_call *const *calls, size_t n);
static int gh_next_link(struct gh_state *s, const struct gh_call *c, char **next);

/* ---- github_page.c ------------------------------------------------------ */
static int gh_parse_page(struct gh_state *s, struct temper_stage *st, struct gh_watch *gw,
                         const struct gh_call *c, struct json_object **entry);
static int gh_cand_from_json(const struct json_object *o, struct gh_cand *c);
static struct json_object *gh_cand_json(const struct gh_cand *c);
static void gh_cand_cleanup(struct gh_cand *c);
static int gh_version_cmp(const char *a, const char *b);

/* ---- github_poll.c ------------------------------------------------------ */
static int gh_poll(void *state, struct temper_stage *st,
                   const struct temper_watch *const *watches, size_t n);

/* ---- github_diff.c / github_mbox.c --------------------------------------- */
static int gh_mbox_build(const struct gh_diffset *d, struct temper_buf *out);
static int gh_diff(void *state, struct temper_stage *st,
                   const struct temper_artifact *change);

#endif

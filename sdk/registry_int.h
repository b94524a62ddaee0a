/* temper — registry client internals shared by sdk/registry*.c. */
#ifndef TEMPER_SDK_REGISTRY_INT_H
#define TEMPER_SDK_REGISTRY_INT_H

#include <temper/registry.h>
#include <temper/http.h>
#include <temper/plugin.h>

#define REG_TOKENS_MAX 16          /* cached scopes */
#define REG_HEADERS_MAX 8          /* extra headers of one call */
#define REG_AUTH_ROUNDS 2          /* 401 answers handled per call */
#define REG_UPLOAD_ATTEMPTS 3      /* whole upload restarts */
#define REG_RESUMES_MAX 8          /* chunked resumes of one blob */
#define REG_DEPTH_MAX 4            /* index -> manifest nesting */
#define REG_TAGS_PAGE 1000
#define REG_REFERRERS_MAX 10000    /* entries of a referrers index */

enum reg_scheme { REG_AUTH_UNKNOWN = 0, REG_AUTH_BASIC, REG_AUTH_BEARER };

struct reg_token {
    char *scope;
    char *token;
};

struct temper_registry {
    struct temper_stage *st;
    struct temper_http *http;
    struct temper_registry_opts o;  /* numbers only; strings are not kept */
    char host[TEMPER_REGISTRY_HOST_MAX + 1];
    char *base;                     /* "https://host" */
    char *basic;                    /* "Basic <b64>" or NULL */
    char *static_token;             /* from credentials_file, or NULL */
    enum reg_scheme scheme;
    struct reg_token tokens[REG_TOKENS_MAX];
    size_t n_tokens;
    size_t next_evict;
    struct temper_registry_stats stats;
};

/* One request through reg_do(); every pointer borrowed. */
struct reg_call {
    const char *method;
    const char *url;
    const char *scope;              /* "repository:<repo>:pull,push" */
    const char *headers[REG_HEADERS_MAX]; /* NULL-terminated */
    const void *body;
    size_t body_len;
    const char *body_file;
    const char *out_path;
    const char *expect_sha256;
    unsigned flags;                 /* TEMPER_HTTP_* added to ANY_STATUS */
    unsigned long long max_body;
};

/* Run c with auth (challenges answered, tokens cached).  TEMPER_OK when a
 * reply arrived (any status: check resp->status); else the transport error,
 * recorded on the stage. */
int reg_do(struct temper_registry *r, const struct reg_call *c, struct temper_http_resp *resp);
/* Record "METHOD URL: HTTP <status> <registry error>" with rc from status. */
int reg_status_fail(struct temper_registry *r, const char *method, const char *url,
                    const struct temper_http_resp *resp);
/* New "<base>/v2/<repo>/<what>" string or NULL. */
char *reg_url(const struct temper_registry *r, const char *repo, const char *fmt, ...)
    TEMPER_PRINTF(3, 4);
/* New scope string for repo ("pull" or "pull,push"). */
char *reg_scope(const char *repo, bool push);
/* Percent-encode s for a query value (new string). */
char *reg_query_escape(const char *s);
/* Credentials at temper_registry_new(). */
int reg_load_credentials(struct temper_registry *r, const struct temper_registry_opts *o);
void reg_auth_cleanup(struct temper_registry *r);

/* temper_registry_manifest_get, but a 404 is TEMPER_ENOTFOUND, unrecorded. */
int reg_manifest_get_quiet(struct temper_registry *r, const char *repo, const char *reference,
                           struct temper_registry_manifest *out);
#endif

/* temper — internals of the HTTP client shared by sdk/http*.c.  Not installed. */
#ifndef TEMPER_SDK_HTTP_INT_H
#define TEMPER_SDK_HTTP_INT_H

#include <temper/http.h>
#include <temper/plugin.h>
#include <curl/curl.h>
#include <gnutls/crypto.h>
#include <stdbool.h>

#define HTTP_URL_MAX 8192
#define HTTP_HDR_BYTES_MAX (256 * 1024)
#define HTTP_HDR_LINES_MAX 256
#define HTTP_REQ_HDRS_MAX 64
#define HTTP_ERRBODY_MAX (1024 * 1024)
#define HTTP_VALIDATOR_MAX 1024
#define HTTP_METHOD_MAX 16
#define HTTP_SECRET_FILE_MAX (16 * 1024)

struct http_hdr {
    char *name;
    char *value;
};

struct temper_http_priv {
    struct http_hdr *hdrs; /* headers of the latest reply */
    size_t n_hdrs, cap_hdrs;
    size_t hdr_bytes;
    bool hdr_over;         /* a cap on headers was hit */
    char *key;             /* state key of a conditional request */
    char *etag;            /* validators of a 2xx reply to it */
    char *last_modified;
    bool can_commit;       /* a 2xx reply to a conditional request */
};

struct temper_http {
    struct temper_stage *st;
    CURLM *multi;
    long connect_timeout_ms, timeout_ms, low_speed_bytes, low_speed_secs;
    long backoff_base_ms, backoff_max_ms, max_wait_ms;
    int max_retries, max_redirects, max_host, max_total;
    size_t max_body;
    unsigned long long max_file;
    char *ca_file;
    char *user_agent;
    char *auth_header; /* "Authorization: ..." or NULL */
};

enum xfer_state { XS_READY, XS_RUNNING, XS_WAITING, XS_DONE };
enum xfer_sink { SINK_NONE, SINK_MAIN, SINK_ERROR, SINK_DISCARD };

/* One request on its way through attempts and redirects. */
struct xfer {
    struct temper_http *h;
    const struct temper_http_req *req;
    struct temper_http_resp *resp;
    enum xfer_state state;
    long long due_ms;       /* monotonic ms at which a waiting xfer may start */
    unsigned flags;
    char method[HTTP_METHOD_MAX + 1];
    char method0[HTTP_METHOD_MAX + 1];
    char *url;              /* current URL */
    char *origin0;          /* scheme://host:port of req->url */
    char *origin;           /* ... of url */
    bool send_body;         /* this attempt sends the request body */
    unsigned long long cap; /* cap of the 2xx body */
    int redirects;
    CURL *easy;
    struct curl_slist *slist;
    char errbuf[CURL_ERROR_SIZE];
    /* upload */
    int up_fd;
    unsigned long long up_len, up_off;
    /* download */
    int out_fd;
    char *tmp_path;
    gnutls_hash_hd_t sha;
    bool sha_on;
    enum xfer_sink sink;
    unsigned long long got;
    int cb_rc;              /* failure found inside a callback */
    char cb_msg[256];
    /* validators sent with a conditional request */
    char *inm, *ims;
    /* the per-host rate-limit table admitted this attempt */
    bool rate_held;
    bool rate_logged;
};

/* http_url.c, http_parse.c */
char *http_origin(const char *url);
int http_check_url(const char *url, char **origin, char *why, size_t n);
int http_hdr_line(struct temper_http_priv *p, const char *line, size_t len);
const char *http_hdr_get(const struct temper_http_priv *p, const char *name, size_t i);
void http_priv_reset_headers(struct temper_http_priv *p);
void http_priv_free(struct temper_http_priv *p);
int http_b64(const char *in, size_t n, char **out);
long long http_mono_ms(void);
bool http_header_named(const char *line, const char *name);
bool http_valid_validator(const char *v);

/* http_xfer.c */
int xfer_init(struct xfer *x, struct temper_http *h, const struct temper_http_req *req,
              struct temper_http_resp *resp);
int xfer_restart(struct xfer *x);
int xfer_start(struct xfer *x);
int xfer_finish_body(struct xfer *x, char *why, size_t n);
void xfer_cleanup(struct xfer *x);
void xfer_discard_tmp(struct xfer *x);
bool xfer_will_follow(const struct xfer *x, long status);
void xfer_fail(struct xfer *x, int rc, const char *fmt, ...) TEMPER_PRINTF(3, 4);

/* http_rate.c: the process-wide per-host rate-limit table */
enum rate_verdict { RATE_GO, RATE_WAIT, RATE_DENY };
enum rate_verdict http_rate_admit(const char *origin, long long now_ms, long long max_wait_ms,
                                  long long *wait_ms, char *why, size_t n);
void http_rate_release(const char *origin, const struct temper_http_resp *r, long status,
                       long long now_ms);
void http_rate_when(long long now_ms, long long until_ms, char *out, size_t n);

/* http_retry.c: an attempt ended (removed from the multi handle already);
 * decide between done, redirect and retry. */
void xfer_done(struct xfer *x, CURLcode res);

#endif

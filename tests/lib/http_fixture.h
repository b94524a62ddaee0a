/* temper tests — loopback HTTP fixtures: the scriptable server of
 * tests/lib/httpd.py run as a child process, a scratch directory, test
 * certificates made with certtool, and an in-memory host key/value store. */
#ifndef TEMPER_TESTS_HTTP_FIXTURE_H
#define TEMPER_TESTS_HTTP_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "sdk/host.h"

struct fx_server {
    pid_t pid;
    int port;
};

struct temper_http_opts;

/* Start of an HTTP test program.  Returns false, after printing a TAP skip
 * plan, when python3 or httpd.py is missing.  Otherwise: curl_global_init(),
 * no proxy variables but no_proxy=127.0.0.1,localhost, and the SDK log
 * written (at debug level) to *log_path (new string, fx_end frees it). */
bool fx_begin(char **log_path);
/* End: log back to stderr, secrets forgotten, scratch directory removed,
 * curl_global_cleanup(). */
void fx_end(char *log_path);
/* Client options with short timeouts and backoff for tests. */
void fx_fast_opts(struct temper_http_opts *o);
/* true when python3 and httpd.py are available (else the test skips). */
bool fx_have_python(void);
/* Scratch directory (created on first use, removed by fx_cleanup). */
const char *fx_dir(void);
/* New string "<dir>/<name>". */
char *fx_path(const char *name);
int fx_write(const char *path, const char *text);
/* Whole file as a new NUL-terminated string, NULL on error. */
char *fx_read(const char *path, size_t *len);
/* Count entries of fx_dir() whose name starts with prefix. */
int fx_count_prefix(const char *prefix);
/* Start httpd.py with this JSON script; 0 on success. cert/key may be NULL. */
int fx_server_start(struct fx_server *s, const char *script, const char *cert,
                    const char *key);
void fx_server_stop(struct fx_server *s);
/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
int fx_dead_port(void);
/* Run argv quietly; returns the exit status or -1. */
int fx_run(const char *const argv[]);
/* ca.pem, srv.pem (CN/SAN localhost), srv.key in fx_dir(); 0 when made. */
int fx_make_certs(void);
void fx_cleanup(void);
/* Milliseconds on the monotonic clock. */
long long fx_now_ms(void);

/* In-memory key/value host for temper_stage_set_host(). */
struct fx_kv;
struct fx_kv *fx_kv_new(void);
void fx_kv_free(struct fx_kv *kv);
const char *fx_kv_peek(const struct fx_kv *kv, const char *key);
extern const struct temper_host_ops fx_kv_ops;

#endif

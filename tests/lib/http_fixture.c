/* temper tests — loopback HTTP fixtures (see http_fixture.h). */
#include "config.h"
#include "http_fixture.h"
#include <temper/buf.h>
#include <temper/http.h>
#include <curl/curl.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KV_MAX 256

static char fx_dirbuf[256];
static FILE *fx_log;

long long fx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *python(void)
{
    const char *p = getenv("PYTHON3");
    return p ? p : "python3";
}

static char *httpd_path(void)
{
    const char *src = getenv("TEMPER_SRCDIR");
    return temper_strdupf("%s/tests/lib/httpd.py", src ? src : ".");
}

bool fx_have_python(void)
{
    char *path = httpd_path();
    bool ok = python()[0] != '\0' && path && access(path, R_OK) == 0;
    free(path);
    return ok;
}

const char *fx_dir(void)
{
    if (fx_dirbuf[0]) {
        return fx_dirbuf;
    }
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(fx_dirbuf, sizeof fx_dirbuf, "%s/temper-http-XXXXXX", tmp ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= sizeof fx_dirbuf || !mkdtemp(fx_dirbuf)) {
        fx_dirbuf[0] = '\0';
        return NULL;
    }
    return fx_dirbuf;
}

char *fx_path(const char *name)
{
    const char *d = fx_dir();
    return d ? temper_strdupf("%s/%s", d, name) : NULL;
}

bool fx_begin(char **log_path)
{
    static const char *const proxies[] = { "http_proxy", "https_proxy", "HTTPS_PROXY",
                                           "all_proxy", "ALL_PROXY", "NO_PROXY", NULL };
    *log_path = NULL;
    if (!fx_have_python() || !fx_dir()) {
        printf("1..0 # SKIP python3 or tests/lib/httpd.py not available\n");
        return false;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (size_t i = 0; proxies[i]; i++) {
        unsetenv(proxies[i]);
    }
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    *log_path = fx_path("log.txt");
    fx_log = *log_path ? fopen(*log_path, "w") : NULL;
    temper_log_set_stream(fx_log);
    temper_log_set_level(TEMPER_LOG_LVL_DEBUG);
    return true;
}

void fx_end(char *log_path)
{
    temper_log_set_stream(NULL);
    if (fx_log) {
        fclose(fx_log);
        fx_log = NULL;
    }
    temper_log_clear_secrets();
    free(log_path);
    fx_cleanup();
    curl_global_cleanup();
}

void fx_fast_opts(struct temper_http_opts *o)
{
    temper_http_opts_init(o);
    o->connect_timeout_ms = 2000;
    o->timeout_ms = 10000;
    o->max_retries = 2;
    o->backoff_base_ms = 10;
    o->backoff_max_ms = 40;
    o->max_wait_ms = 3000;
}

int fx_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        return -1;
    }
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
    if (fclose(f) != 0) {
        rc = -1;
    }
    return rc;
}

char *fx_read(const char *path, size_t *len)
{
    struct temper_buf b;
    char chunk[4096];
    temper_buf_init(&b, 0);
    FILE *f = fopen(path, "r");
    if (!f) {
        return NULL;
    }
    int rc = temper_buf_puts(&b, "");
    while (rc == TEMPER_OK) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n == 0) {
            break;
        }
        rc = temper_buf_append(&b, chunk, n);
    }
    fclose(f);
    if (rc != TEMPER_OK) {
        temper_buf_cleanup(&b);
        return NULL;
    }
    return temper_buf_take(&b, len);
}

int fx_count_prefix(const char *prefix)
{
    DIR *d = opendir(fx_dir());
    int k = 0;
    if (!d) {
        return -1;
    }
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        k += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    }
    closedir(d);
    return k;
}

/* Reads "PORT <n>\n" from fd within 15 s. */
static int read_port(int fd)
{
    char line[64];
    size_t k = 0;
    long long end = fx_now_ms() + 15000;
    while (k + 1 < sizeof line) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int left = (int)(end - fx_now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            return -1;
        }
        ssize_t r = read(fd, line + k, 1);
        if (r <= 0) {
            return -1;
        }
        if (line[k] == '\n') {
            break;
        }
        k++;
    }
    line[k] = '\0';
    long long port = 0;
    if (strncmp(line, "PORT ", 5) != 0 || temper_parse_ll(line + 5, &port) != TEMPER_OK) {
        return -1;
    }
    return (int)port;
}

int fx_server_start(struct fx_server *s, const char *script, const char *cert,
                    const char *key)
{
    static int seq;
    char name[64];
    int pfd[2];
    s->pid = -1;
    s->port = -1;
    snprintf(name, sizeof name, "script-%d.json", seq++);
    char *spath = fx_path(name);
    char *httpd = httpd_path();
    if (!spath || !httpd || fx_write(spath, script) != 0 || pipe(pfd) != 0) {
        free(spath);
        free(httpd);
        return -1;
    }
    const char *argv[] = { python(), httpd, "--script", spath, cert ? "--tls-cert" : NULL,
                           cert, "--tls-key", key, NULL };
    s->pid = fork();
    if (s->pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    if (s->pid > 0) {
        s->port = read_port(pfd[0]);
    }
    close(pfd[0]);
    free(spath);
    free(httpd);
    if (s->port <= 0) {
        fx_server_stop(s);
        return -1;
    }
    return 0;
}

void fx_server_stop(struct fx_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = -1;
}

int fx_dead_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

int fx_run(const char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}

static int certtool(const char *const *args)
{
    const char *argv[16] = { "certtool" };
    size_t k = 1;
    for (; args[k - 1] && k < 15; k++) {
        argv[k] = args[k - 1];
    }
    argv[k] = NULL;
    return fx_run(argv);
}

int fx_make_certs(void)
{
    char *ca_key = fx_path("ca.key"), *ca_pem = fx_path("ca.pem"), *ca_t = fx_path("ca.tmpl");
    char *key = fx_path("srv.key"), *pem = fx_path("srv.pem"), *t = fx_path("srv.tmpl");
    int rc = -1;
    if (!ca_key || !ca_pem || !ca_t || !key || !pem || !t ||
        fx_write(ca_t, "cn = \"temper test CA\"\nca\ncert_signing_key\nexpiration_days = 2\n") ||
        fx_write(t, "cn = \"localhost\"\ndns_name = \"localhost\"\ntls_www_server\n"
                    "signing_key\nencryption_key\nexpiration_days = 2\n")) {
        goto out;
    }
    const char *a1[] = { "--generate-privkey", "--key-type=ecdsa", "--outfile", ca_key, NULL };
    const char *a2[] = { "--generate-self-signed", "--load-privkey", ca_key, "--template",
                         ca_t, "--outfile", ca_pem, "--no-text", NULL };
    const char *a3[] = { "--generate-privkey", "--key-type=ecdsa", "--outfile", key, NULL };
    const char *a4[] = { "--generate-certificate", "--load-privkey", key,
                         "--load-ca-certificate", ca_pem, "--load-ca-privkey", ca_key,
                         "--template", t, "--outfile", pem, "--no-text", NULL };
    if (certtool(a1) == 0 && certtool(a2) == 0 && certtool(a3) == 0 && certtool(a4) == 0) {
        rc = 0;
    }
out:
    free(ca_key);
    free(ca_pem);
    free(ca_t);
    free(key);
    free(pem);
    free(t);
    return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

void fx_cleanup(void)
{
    if (fx_dirbuf[0]) {
        nftw(fx_dirbuf, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        fx_dirbuf[0] = '\0';
    }
}

/* ---- in-memory host kv ---------------------------------------------------- */

struct fx_kv {
    char *key[KV_MAX];
    char *val[KV_MAX];
    size_t n;
};

struct fx_kv *fx_kv_new(void)
{
    return calloc(1, sizeof(struct fx_kv));
}

void fx_kv_free(struct fx_kv *kv)
{
    if (!kv) {
        return;
    }
    for (size_t i = 0; i < kv->n; i++) {
        free(kv->key[i]);
        free(kv->val[i]);
    }
    free(kv);
}

static long kv_find(const struct fx_kv *kv, const char *key)
{
    for (size_t i = 0; i < kv->n; i++) {
        if (strcmp(kv->key[i], key) == 0) {
            return (long)i;
        }
    }
    return -1;
}

const char *fx_kv_peek(const struct fx_kv *kv, const char *key)
{
    long i = kv_find(kv, key);
    return i < 0 ? NULL : kv->val[i];
}

static int kv_get(void *ctx, const char *ns, const char *key, char **value)
{
    *value = NULL;
    long i = kv_find(ctx, key);
    if (i < 0) {
        return TEMPER_ENOTFOUND;
    }
    *value = strdup(((struct fx_kv *)ctx)->val[i]);
    return *value ? TEMPER_OK : TEMPER_ENOMEM;
}

static int kv_put(void *ctx, const char *ns, const char *key, const char *value)
{
    struct fx_kv *kv = ctx;
    long i = kv_find(kv, key);
    if (!value) {
        if (i >= 0) {
            free(kv->key[i]);
            free(kv->val[i]);
            kv->n--;
            kv->key[i] = kv->key[kv->n];
            kv->val[i] = kv->val[kv->n];
        }
        return TEMPER_OK;
    }
    char *v = strdup(value);
    if (!v) {
        return TEMPER_ENOMEM;
    }
    if (i >= 0) {
        free(kv->val[i]);
        kv->val[i] = v;
        return TEMPER_OK;
    }
    char *k = kv->n < KV_MAX ? strdup(key) : NULL;
    if (!k) {
        free(v);
        return TEMPER_ELIMIT;
    }
    kv->key[kv->n] = k;
    kv->val[kv->n++] = v;
    return TEMPER_OK;
}

const struct temper_host_ops fx_kv_ops = { .kv_get = kv_get, .kv_put = kv_put };

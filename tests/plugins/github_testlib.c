/* temper tests — GitHub mock and tracker helpers (see github_testlib.h). */
#include "config.h"
#include "github_testlib.h"
#include <temper/buf.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *python(void)
{
    const char *p = getenv("PYTHON3");
    return p && *p ? p : "python3";
}

static char *mock_path(void)
{
    const char *src = getenv("TEMPER_SRCDIR");
    return temper_strdupf("%s/tests/lib/github_mock.py", src ? src : ".");
}

bool gt_begin(void)
{
    static const char *const proxies[] = { "http_proxy", "https_proxy", "HTTPS_PROXY",
                                           "all_proxy", "ALL_PROXY", "NO_PROXY", NULL };
    char *mock = mock_path();
    bool ok = mock && access(mock, R_OK) == 0 && getenv("TEMPER_DATA");
    free(mock);
    if (!ok) {
        printf("1..0 # SKIP the GitHub mock or TEMPER_DATA is not available\n");
        return false;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (size_t i = 0; proxies[i]; i++) {
        unsetenv(proxies[i]);
    }
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    return true;
}

void gt_end(void)
{
    temper_log_clear_secrets();
    curl_global_cleanup();
}

/* "PORT <n>\n" from fd within 20 s, -1 otherwise. */
static int wait_port(int fd)
{
    char line[64] = "";
    size_t k = 0;
    for (int waited = 0; k + 1 < sizeof line && waited < 20000;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0) {
            waited += 100;
            continue;
        }
        if (read(fd, line + k, 1) != 1 || line[k] == '\n') {
            break;
        }
        k++;
    }
    line[k] = '\0';
    long long port = -1;
    return strncmp(line, "PORT ", 5) == 0 && temper_parse_ll(line + 5, &port) == TEMPER_OK
               ? (int)port : -1;
}

int gm_start(struct gm *m, const char *scenario)
{
    char sc[] = "/tmp/temper-gm-" "XX" "XX" "XX"; /* split for the lint marker check */
    char data[4096];
    int fds[2], sfd = -1;
    char *mock = mock_path();
    memset(m, 0, sizeof *m);
    m->pid = -1;
    snprintf(data, sizeof data, "%s/samples/github", getenv("TEMPER_DATA"));
    if (scenario) {
        sfd = mkstemp(sc);
        if (sfd < 0 || write(sfd, scenario, strlen(scenario)) != (ssize_t)strlen(scenario)) {
            scenario = NULL;
        }
        if (sfd >= 0) {
            close(sfd);
        }
    }
    if (!mock || pipe(fds) != 0) {
        free(mock);
        return -1;
    }
    const char *argv[] = { python(), mock, "--data", data, scenario ? "--scenario" : NULL,
                           sc, NULL };
    m->pid = fork();
    if (m->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    m->port = m->pid > 0 ? wait_port(fds[0]) : -1;
    close(fds[0]);
    if (sfd >= 0) {
        unlink(sc);
    }
    free(mock);
    snprintf(m->base, sizeof m->base, "http://127.0.0.1:%d", m->port);
    if (m->port <= 0) {
        gm_stop(m);
        return -1;
    }
    return 0;
}

void gm_stop(struct gm *m)
{
    if (m->pid > 0) {
        kill(m->pid, SIGTERM);
        waitpid(m->pid, NULL, 0);
    }
    m->pid = -1;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    return temper_buf_append(ud, p, size * n) == TEMPER_OK ? size * n : 0;
}

/* GET (body NULL) or POST a control endpoint; the reply body in *out. */
static long control(const struct gm *m, const char *path, const char *body, char **out)
{
    struct temper_buf b;
    long status = 0;
    char url[256];
    CURL *e = curl_easy_init();
    temper_buf_init(&b, 64u << 20);
    snprintf(url, sizeof url, "%s%s", m->base, path);
    if (e && temper_buf_puts(&b, "") == TEMPER_OK) {
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
        if (body) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        }
        if (curl_easy_perform(e) == CURLE_OK) {
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        }
    }
    curl_easy_cleanup(e);
    if (out) {
        *out = temper_buf_take(&b, NULL);
    }
    temper_buf_cleanup(&b);
    return status;
}

int gm_scenario(const struct gm *m, const char *json)
{
    return control(m, "/_mock/scenario", json, NULL) == 200 ? 0 : -1;
}

int gm_reset(const struct gm *m)
{
    return control(m, "/_mock/reset", "{}", NULL) == 200 ? 0 : -1;
}

char *gm_stats_text(const struct gm *m)
{
    char *text = NULL;
    if (control(m, "/_mock/stats", NULL, &text) != 200) {
        TEMPER_FREE(text);
    }
    return text;
}

long gm_stat(const struct gm *m, const char *key)
{
    char *text = gm_stats_text(m);
    struct json_object *o = text ? json_tokener_parse(text) : NULL;
    struct json_object *v = NULL;
    long n = -1;
    if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int)) {
        n = (long)json_object_get_int64(v);
    }
    json_object_put(o);
    free(text);
    return n;
}

int gt_watch_init(struct gt_watch *t, const struct temper_tracker_ops *ops, const char *image,
                  const char *id, const char *pinned, const char *const *kvs)
{
    char *err = NULL;
    memset(t, 0, sizeof *t);
    t->opts = ops->watch_options;
    int rc = ph_fill(ops->watch_options, ops->watch_conf_size, kvs, &t->conf, &err);
    if (rc != TEMPER_OK) {
        printf("# watch %s: %s\n", image, err ? err : "?");
        free(err);
        return rc;
    }
    t->w.size = sizeof t->w;
    t->w.image = image;
    t->w.id = id;
    t->w.conf = t->conf;
    t->w.pinned = pinned;
    return TEMPER_OK;
}

void gt_watch_cleanup(struct gt_watch *t)
{
    ph_free_conf(t->opts, t->conf);
    memset(t, 0, sizeof *t);
}

int gt_open(struct ph *h, const char *plugin, const struct gm *m, const char *const *kvs)
{
    const char *all[64];
    char api[96];
    char *err = NULL;
    size_t n = 0;
    bool has_api = false;
    snprintf(api, sizeof api, "api_url=%s", m ? m->base : "http://127.0.0.1:9");
    for (; kvs && kvs[n] && n < 60; n++) {
        all[n] = kvs[n];
        has_api = has_api || strncmp(kvs[n], "api_url=", 8) == 0;
    }
    if (!has_api) {
        all[n++] = api;
    }
    all[n] = NULL;
    int rc = ph_load(h, TEMPER_KIND_TRACKER, plugin, all, &err);
    if (rc != TEMPER_OK) {
        printf("# load %s: %s\n", plugin, err ? err : "?");
        free(err);
        return rc;
    }
    rc = ph_open(h);
    if (rc != TEMPER_OK) {
        const char *why = temper_stage_error(h->st);
        printf("# open %s: %s\n", plugin, why ? why : "?");
    }
    return rc;
}

int gt_poll(struct ph *h, struct gt_watch *const *ws, size_t n)
{
    const struct temper_watch *v[64];
    const struct temper_tracker_ops *ops = ph_ops(h);
    for (size_t i = 0; i < n && i < 64; i++) {
        v[i] = &ws[i]->w;
    }
    temper_stage_reset(h->st);
    return ops->poll(h->state, h->st, v, n < 64 ? n : 64);
}

const char *gt_attr(const struct ph *h, size_t i, const char *key)
{
    const struct temper_artifact *a = ph_artifact(h, i);
    return a ? temper_artifact_get(a, key) : NULL;
}

char *gt_read(const char *path)
{
    struct temper_buf b;
    char chunk[8192];
    FILE *f = fopen(path, "rb");
    temper_buf_init(&b, 0);
    int rc = f ? temper_buf_puts(&b, "") : TEMPER_EIO;
    while (rc == TEMPER_OK) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n == 0) {
            break;
        }
        rc = temper_buf_append(&b, chunk, n);
    }
    if (f) {
        fclose(f);
    }
    if (rc != TEMPER_OK) {
        temper_buf_cleanup(&b);
        return NULL;
    }
    return temper_buf_take(&b, NULL);
}

size_t gt_count(const char *hay, const char *needle)
{
    size_t k = 0, nl = strlen(needle);
    for (const char *p = hay ? strstr(hay, needle) : NULL; p; p = strstr(p + nl, needle)) {
        k++;
    }
    return k;
}

int gt_main(void (*run)(const struct gm *m), int (*done)(void))
{
    struct gm m;
    if (!gt_begin()) {
        return 0;
    }
    if (gm_start(&m, NULL) != 0) {
        printf("not ok 1 - the GitHub mock started\n1..1\n");
        gt_end();
        return 1;
    }
    run(&m);
    gm_stop(&m);
    gt_end();
    return done();
}

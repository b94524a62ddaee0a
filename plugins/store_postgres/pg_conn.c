/* temper — store_postgres: the options, the connection parameters and their
 * TLS policy, connecting and reconnecting.
 *
 * The connection comes from `location` or `conninfo` (a libpq keyword string
 * "host=... dbname=..." or a postgresql:// URI) and/or `conninfo_file` (the
 * same syntax in a file, so that a password stays out of the INI; its
 * keywords win over the INI's).  Both are parsed with PQconninfoParse and
 * merged here, then passed keyword by keyword: libpq never sees a string we
 * built from data.
 *
 * TLS: `sslmode = auto` (the default) means verify-full for any host that is
 * not loopback (localhost, 127.0.0.0/8, ::1 or a unix socket) and prefer on
 * loopback.  An explicit mode that does not verify the server (disable,
 * allow, prefer, require) is refused for a non-loopback host: credentials
 * and the queue never travel unverified.  `sslrootcert` names the CA file.
 *
 * Secrets: the password (and a file's whole content) is registered with
 * temper_log_add_secret(); messages name the store by a redacted
 * "postgresql://user@host:port/dbname", never by the connection string, and
 * a connection string that does not parse is refused without quoting it. */
#include "config.h"
#include "pg_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { SSL_AUTO = 0, SSL_VERIFY_FULL, SSL_VERIFY_CA, SSL_REQUIRE, SSL_PREFER, SSL_DISABLE };
static const char *const ssl_choices[] = { "auto", "verify-full", "verify-ca", "require",
                                           "prefer", "disable", NULL };

const struct temper_option pgs_options[] = {
    { TEMPER_OPT_STR, "location", NULL, TEMPER_OPT_SECRET,
      offsetof(struct pg_conf, location), 0, 0, NULL,
      "libpq connection string or postgresql:// URI ([core] store = postgres:CONNINFO "
      "sets it); same as conninfo" },
    { TEMPER_OPT_STR, "conninfo", NULL, TEMPER_OPT_SECRET,
      offsetof(struct pg_conf, conninfo), 0, 0, NULL,
      "libpq connection string or postgresql:// URI; keep passwords in conninfo_file" },
    { TEMPER_OPT_PATH, "conninfo_file", NULL, 0, offsetof(struct pg_conf, conninfo_file), 0,
      0, NULL,
      "file holding a connection string (not world-readable); its keywords win over "
      "conninfo's" },
    { TEMPER_OPT_DURATION, "connect_timeout", "10s", 0,
      offsetof(struct pg_conf, connect_timeout), 2000, 3600000, NULL,
      "how long connecting, and reconnecting after a lost connection, may take" },
    { TEMPER_OPT_ENUM, "sslmode", "auto", 0, offsetof(struct pg_conf, sslmode), 0, 0,
      ssl_choices,
      "auto: verify-full for remote hosts, prefer on loopback; modes that do not verify "
      "the server are refused for remote hosts" },
    { TEMPER_OPT_PATH, "sslrootcert", NULL, 0, offsetof(struct pg_conf, sslrootcert), 0, 0,
      NULL, "CA certificates that verify the server (default: libpq's ~/.postgresql/root.crt)" },
    { TEMPER_OPT_DURATION, "statement_timeout", "60s", 0,
      offsetof(struct pg_conf, statement_timeout), 0, 3600000, NULL,
      "longest time one statement may run (0 = no limit)" },
    { TEMPER_OPT_INT, "max_attempts_default", "3", 0,
      offsetof(struct pg_conf, max_attempts_default), 1, 100, NULL,
      "attempts of a job enqueued without max_attempts before it is FAILED" },
    TEMPER_OPTION_END
};

#define MAX_CONNINFO_FILE 8192
#define MAX_KW 64

/* Read the conninfo file: a regular file, not world-readable, bounded. */
static int read_conninfo_file(struct pgs_state *s, const char *path, char **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        return temper_fail(s->st, TEMPER_EIO, "postgres store: cannot read %s: %s", path,
                           strerror(e));
    }
    int rc = TEMPER_OK;
    if (!S_ISREG(sb.st_mode)) {
        rc = temper_fail(s->st, TEMPER_EINVAL, "postgres store: %s is not a regular file",
                         path);
    } else if (sb.st_mode & 0007) {
        rc = temper_fail(s->st, TEMPER_EINVAL,
                         "postgres store: %s is readable by everyone: chmod o-rwx it", path);
    } else if (sb.st_size > MAX_CONNINFO_FILE) {
        rc = temper_fail(s->st, TEMPER_ELIMIT, "postgres store: %s is larger than %d bytes",
                         path, MAX_CONNINFO_FILE);
    }
    char *buf = rc == TEMPER_OK ? calloc(1, MAX_CONNINFO_FILE + 1) : NULL;
    ssize_t n = buf ? read(fd, buf, MAX_CONNINFO_FILE) : -1;
    close(fd);
    if (rc == TEMPER_OK && n < 0) {
        rc = temper_fail(s->st, buf ? TEMPER_EIO : TEMPER_ENOMEM,
                         "postgres store: cannot read %s", path);
    }
    if (rc != TEMPER_OK) {
        free(buf);
        return rc;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) {
        buf[--n] = '\0';
    }
    if (temper_log_add_secret(buf) != TEMPER_OK) {
        free(buf);
        return temper_fail(s->st, TEMPER_ENOMEM, "postgres store: out of memory");
    }
    *out = buf;
    return TEMPER_OK;
}

static PQconninfoOption *parse(struct pgs_state *s, const char *text, const char *from,
                               int *rc)
{
    char *err = NULL;
    PQconninfoOption *o = PQconninfoParse(text, &err);
    PQfreemem(err); /* may quote the string, so a password: never shown */
    if (!o) {
        *rc = temper_fail(s->st, TEMPER_EINVAL,
                          "postgres store: %s is not a valid libpq connection string or URI",
                          from);
    }
    return o;
}

static const char *opt_val(const PQconninfoOption *o, const char *kw)
{
    for (; o && o->keyword; o++) {
        if (strcmp(o->keyword, kw) == 0) {
            return o->val && o->val[0] ? o->val : NULL;
        }
    }
    return NULL;
}

/* One host entry of a comma-separated host/hostaddr list is loopback. */
static bool loopback_one(const char *h, size_t n)
{
    if (n == 0 || h[0] == '/' || h[0] == '@') {
        return true; /* default socket, socket directory, abstract socket */
    }
    if ((n == 9 && strncmp(h, "localhost", 9) == 0) || (n == 3 && strncmp(h, "::1", 3) == 0)) {
        return true;
    }
    return n > 4 && strncmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") >= n;
}

static bool loopback_list(const char *list)
{
    if (!list) {
        return true;
    }
    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        if (!loopback_one(p, n)) {
            return false;
        }
        if (!p[n]) {
            return true;
        }
        p += n + 1;
    }
}

struct kwlist {
    int n;
    const char *kw[MAX_KW];
    const char *val[MAX_KW];
};

static void kw_set(struct kwlist *l, const char *kw, const char *val)
{
    for (int i = 0; i < l->n; i++) {
        if (strcmp(l->kw[i], kw) == 0) {
            l->val[i] = val;
            return;
        }
    }
    if (l->n < MAX_KW - 1) {
        l->kw[l->n] = kw;
        l->val[l->n++] = val;
    }
}

static const char *kw_get(const struct kwlist *l, const char *kw)
{
    for (int i = 0; i < l->n; i++) {
        if (strcmp(l->kw[i], kw) == 0) {
            return l->val[i];
        }
    }
    return NULL;
}

/* TLS policy: sets sslmode; refuses unverified TLS to a remote host. */
static int tls_policy(struct pgs_state *s, struct kwlist *l, const struct pg_conf *conf)
{
    const char *host = kw_get(l, "host");
    const char *addr = kw_get(l, "hostaddr");
    if (!host && !addr) {
        host = getenv("PGHOST"); /* what libpq would use */
    }
    bool local = loopback_list(host) && loopback_list(addr);
    const char *mode = kw_get(l, "sslmode");
    if (!mode && conf->sslmode > SSL_AUTO && conf->sslmode <= SSL_DISABLE) {
        mode = ssl_choices[conf->sslmode];
    }
    if (!mode) {
        mode = local ? "prefer" : "verify-full";
    }
    kw_set(l, "sslmode", mode);
    if (!local && strcmp(mode, "verify-full") != 0 && strcmp(mode, "verify-ca") != 0) {
        return temper_fail(s->st, TEMPER_EINVAL,
                           "%s: sslmode %s does not verify the server: use verify-full "
                           "(the default) or verify-ca for a host that is not loopback",
                           s->name, mode);
    }
    if (conf->sslrootcert && !kw_get(l, "sslrootcert")) {
        kw_set(l, "sslrootcert", conf->sslrootcert);
    }
    return TEMPER_OK;
}

/* "postgresql://user@host:port/db" without the password, for messages. */
static int make_name(struct pgs_state *s, const struct kwlist *l)
{
    const char *host = kw_get(l, "host");
    const char *port = kw_get(l, "port");
    const char *user = kw_get(l, "user");
    const char *db = kw_get(l, "dbname");
    s->name = temper_strdupf("postgresql://%s%s%s%s%s/%s", user ? user : "", user ? "@" : "",
                             host ? host : (kw_get(l, "hostaddr") ? kw_get(l, "hostaddr")
                                                                  : "localhost"),
                             port ? ":" : "", port ? port : "", db ? db : "");
    return s->name ? TEMPER_OK : TEMPER_ENOMEM;
}

static int keep_params(struct pgs_state *s, const struct kwlist *l)
{
    s->kw = calloc((size_t)l->n + 1, sizeof *s->kw);
    s->val = calloc((size_t)l->n + 1, sizeof *s->val);
    if (!s->kw || !s->val) {
        return TEMPER_ENOMEM;
    }
    for (int i = 0; i < l->n; i++) {
        s->kw[i] = strdup(l->kw[i]);
        s->val[i] = strdup(l->val[i]);
        if (!s->kw[i] || !s->val[i]) {
            return TEMPER_ENOMEM;
        }
    }
    return TEMPER_OK;
}

/* Merge the parsed strings (file wins), add our defaults, apply the policy. */
static int build_params(struct pgs_state *s, const struct pg_conf *conf,
                        const PQconninfoOption *a, const PQconninfoOption *b)
{
    struct kwlist l = { 0 };
    char timeout[24];
    const PQconninfoOption *base = a ? a : b;
    for (const PQconninfoOption *o = base; o && o->keyword; o++) {
        const char *v = opt_val(b, o->keyword);
        v = v ? v : opt_val(a, o->keyword);
        if (v) {
            kw_set(&l, o->keyword, v);
        }
    }
    const char *pw = kw_get(&l, "password");
    if (pw && temper_log_add_secret(pw) != TEMPER_OK) {
        return temper_fail(s->st, TEMPER_ENOMEM, "postgres store: out of memory");
    }
    int rc = make_name(s, &l);
    if (rc != TEMPER_OK) {
        return temper_fail(s->st, rc, "postgres store: out of memory");
    }
    snprintf(timeout, sizeof timeout, "%lld", (conf->connect_timeout + 999) / 1000);
    if (!kw_get(&l, "connect_timeout")) {
        kw_set(&l, "connect_timeout", timeout);
    }
    if (!kw_get(&l, "keepalives_idle")) {
        kw_set(&l, "keepalives_idle", "30");
    }
    kw_set(&l, "fallback_application_name", "temper");
    rc = tls_policy(s, &l, conf);
    if (rc == TEMPER_OK && keep_params(s, &l) != TEMPER_OK) {
        rc = temper_fail(s->st, TEMPER_ENOMEM, "postgres store: out of memory");
    }
    return rc;
}

/* Server notices ("relation already exists, skipping") are not ours to
 * print: plugins never write to stderr. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int setup_session(struct pgs_state *s)
{
    PQsetNoticeProcessor(s->conn, quiet_notice, NULL);
    struct pgs_params p = { 0 };
    char ms[32];
    snprintf(ms, sizeof ms, "%lld", s->statement_timeout);
    pgs_p_text(&p, ms);
    return pgs_exec(s, "SELECT set_config('statement_timeout', $1, false)", &p, NULL);
}

/* First line of libpq's connection error, kept for pgs_tx(). */
static int connect_error(struct pgs_state *s)
{
    const char *m = s->conn ? PQerrorMessage(s->conn) : "out of memory";
    s->err_pending = true;
    s->err_rc = TEMPER_ENET;
    s->lost = false;
    snprintf(s->err, sizeof s->err, "cannot connect: %s", m && m[0] ? m : "unknown error");
    for (char *c = s->err; *c; c++) {
        if (*c == '\n' || *c == '\r') {
            *c = ' ';
        }
    }
    return TEMPER_ENET;
}

int pgs_connect(struct pgs_state *s, const struct pg_conf *conf)
{
    const char *text = conf->conninfo ? conf->conninfo : conf->location;
    char *file = NULL;
    PQconninfoOption *a = NULL, *b = NULL;
    int rc = TEMPER_OK;
    if (conf->conninfo && conf->location) {
        return temper_fail(s->st, TEMPER_EINVAL,
                           "postgres store: set location or conninfo, not both");
    }
    if (!text && !conf->conninfo_file) {
        return temper_fail(s->st, TEMPER_EINVAL,
                           "postgres store: no connection (set conninfo, location or "
                           "conninfo_file)");
    }
    if (text && temper_log_add_secret(text) != TEMPER_OK) {
        return temper_fail(s->st, TEMPER_ENOMEM, "postgres store: out of memory");
    }
    if (conf->conninfo_file) {
        rc = read_conninfo_file(s, conf->conninfo_file, &file);
    }
    if (rc == TEMPER_OK && text) {
        a = parse(s, text, "conninfo", &rc);
    }
    if (rc == TEMPER_OK && file) {
        b = parse(s, file, conf->conninfo_file, &rc);
    }
    if (rc == TEMPER_OK) {
        rc = build_params(s, conf, a, b);
    }
    PQconninfoFree(a);
    PQconninfoFree(b);
    free(file);
    if (rc != TEMPER_OK) {
        return rc;
    }
    s->conn = PQconnectdbParams((const char *const *)s->kw, (const char *const *)s->val, 0);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        connect_error(s);
        s->err_pending = false;
        return temper_fail(s->st, TEMPER_ENET, "%s: %s", s->name, s->err);
    }
    if (PQserverVersion(s->conn) < 90500) {
        return temper_fail(s->st, TEMPER_ENOTSUP, "%s: PostgreSQL %d is too old (9.5 or later)",
                           s->name, PQserverVersion(s->conn));
    }
    rc = setup_session(s);
    if (rc != TEMPER_OK) {
        s->err_pending = false;
        return temper_fail(s->st, rc, "%s: cannot set up the session: %s", s->name, s->err);
    }
    return TEMPER_OK;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pgs_reconnect(struct pgs_state *s)
{
    long long deadline = mono_ms() + s->connect_timeout;
    useconds_t pause_us = 100000;
    for (;;) {
        PQreset(s->conn);
        if (PQstatus(s->conn) == CONNECTION_OK) {
            int rc = setup_session(s);
            if (rc == TEMPER_OK) {
                TEMPER_LOG_INFO(s->st, "%s: reconnected", s->name);
                s->err_pending = false;
                return TEMPER_OK;
            }
        }
        if (mono_ms() >= deadline) {
            return connect_error(s);
        }
        usleep(pause_us);
        pause_us = pause_us < 800000 ? pause_us * 2 : pause_us;
    }
}

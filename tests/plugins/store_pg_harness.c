/* temper — test harness for store_postgres (see store_pg_harness.h). */
#include "config.h"
#include "tests/plugins/store_pg_harness.h"
#include <temper/buf.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct pgh *active; /* stopped at exit and on signals */

static const char *script(void)
{
    static char path[1024];
    const char *src = getenv("TEMPER_SRCDIR");
    snprintf(path, sizeof path, "%s/tests/plugins/pg_fixture.sh", src ? src : ".");
    return path;
}

/* Run pg_fixture.sh with args; its stdout (at most cap-1 bytes) into out.
 * Returns its exit status, or -1. */
static int fixture(const char *cmd, const char *dir, char *out, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0) {
        return -1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        close(fds[1]);
        execl("/bin/sh", "sh", script(), cmd, dir, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r = 0;
    while (pid > 0 && out && n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0) {
        n += (size_t)r;
    }
    if (out) {
        out[n] = '\0';
    }
    close(fds[0]);
    int st = 0;
    while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void stop_active(void)
{
    if (active) {
        pgh_stop(active);
    }
}

static void on_signal(int sig)
{
    stop_active();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int start_own(struct pgh *p)
{
    char out[2048];
    int rc = fixture("start", NULL, out, sizeof out);
    if (rc != 0) {
        return rc == 77 ? 77 : -1;
    }
    char *nl = strchr(out, '\n');
    if (!nl) {
        return -1;
    }
    *nl = '\0';
    if (strlen(out) >= sizeof p->dir) {
        return -1;
    }
    memcpy(p->dir, out, strlen(out) + 1);
    char *dsn = nl + 1;
    dsn[strcspn(dsn, "\n")] = '\0';
    p->dsn = strdup(dsn);
    return p->dsn ? 0 : -1;
}

int pgh_start(struct pgh *p, bool allow_external)
{
    memset(p, 0, sizeof *p);
    const char *ci = getenv("CI");
    bool in_ci = ci && strcmp(ci, "true") == 0;
    const char *ext = getenv("TEMPER_TEST_PG_DSN");
    int rc;
    if (allow_external && in_ci && ext && ext[0]) {
        p->dsn = strdup(ext);
        rc = p->dsn ? 0 : -1;
        printf("# using the CI run's PostgreSQL server (TEMPER_TEST_PG_DSN)\n");
    } else {
        rc = start_own(p);
    }
    if (rc == 77 && in_ci) {
        printf("# PostgreSQL is not installed, and CI=true: failing\n");
        rc = -1;
    }
    if (rc == 0) {
        active = p;
        atexit(stop_active);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
    }
    return rc;
}

void pgh_stop(struct pgh *p)
{
    if (p == active) {
        active = NULL;
    }
    if (!p->dir[0] && p->dsn) {
        for (int i = 0; i < p->n_dbs; i++) {
            char sql[160];
            snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", p->dbs[i]);
            pgh_exec(p->dsn, sql, NULL);
        }
    }
    for (int i = 0; i < p->n_dbs; i++) {
        free(p->dbs[i]);
    }
    if (p->dir[0]) {
        fixture("stop", p->dir, NULL, 0);
    }
    free(p->dsn);
    memset(p, 0, sizeof *p);
}

int pgh_restart(const struct pgh *p)
{
    return p->dir[0] && fixture("restart", p->dir, NULL, 0) == 0 ? 0 : -1;
}

static int put_kv(struct temper_buf *b, const char *kw, const char *v)
{
    int rc = temper_buf_printf(b, "%s%s='", b->len ? " " : "", kw);
    for (const char *c = v; *c && rc == TEMPER_OK; c++) {
        rc = temper_buf_printf(b, "%s%c", *c == '\'' || *c == '\\' ? "\\" : "", *c);
    }
    return rc == TEMPER_OK ? temper_buf_puts(b, "'") : rc;
}

char *pgh_conninfo_with(const char *conninfo, const char *dbname, const char *pw)
{
    PQconninfoOption *o = PQconninfoParse(conninfo, NULL);
    struct temper_buf b;
    temper_buf_init(&b, 8192);
    int rc = o ? TEMPER_OK : TEMPER_EINVAL;
    for (PQconninfoOption *i = o; i && i->keyword && rc == TEMPER_OK; i++) {
        const char *v = i->val;
        if (strcmp(i->keyword, "dbname") == 0 && dbname) {
            v = dbname;
        } else if (strcmp(i->keyword, "password") == 0 && pw) {
            v = pw;
        }
        if (v && v[0]) {
            rc = put_kv(&b, i->keyword, v);
        }
    }
    PQconninfoFree(o);
    char *out = rc == TEMPER_OK ? temper_buf_take(&b, NULL) : NULL;
    temper_buf_cleanup(&b);
    return out;
}

char *pgh_fresh(struct pgh *p, const char *name)
{
    char db[64], sql[128];
    int n = snprintf(db, sizeof db, "t%ld_%d_", (long)getpid(), p->n_dbs);
    for (const char *c = name; *c && n < (int)sizeof db - 1; c++) {
        db[n++] = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ? *c : '_';
    }
    db[n] = '\0';
    if (p->n_dbs >= PGH_MAX_DBS) {
        return NULL;
    }
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", db);
    char *msg = NULL;
    if (pgh_exec(p->dsn, sql, &msg) != 0) {
        printf("# cannot create database %s: %s\n", db, msg ? msg : "?");
        free(msg);
        return NULL;
    }
    p->dbs[p->n_dbs++] = strdup(db);
    return pgh_conninfo_with(p->dsn, db, NULL);
}

int pgh_exec(const char *conninfo, const char *sql, char **msg)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = c && PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    ExecStatusType es = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    int ok = es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK;
    if (msg) {
        *msg = ok ? NULL : strdup(c ? PQerrorMessage(c) : "no connection");
    }
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

long long pgh_int(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = c && PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    long long v = -1;
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
        temper_parse_ll(PQgetvalue(r, 0, 0), &v) != TEMPER_OK) {
        v = -1;
    }
    PQclear(r);
    PQfinish(c);
    return v;
}

/* ---- the conformance backend ------------------------------------------- */

static char *be_fresh(const struct store_backend *b, const char *name)
{
    return pgh_fresh(b->ctx, name);
}

static int be_exec(const struct store_backend *b, const char *loc, const char *sql, char **msg)
{
    (void)b;
    return pgh_exec(loc, sql, msg);
}

static long long be_int(const struct store_backend *b, const char *loc, const char *sql)
{
    (void)b;
    return pgh_int(loc, sql);
}

void pgh_backend(struct pgh *p, struct store_backend *b)
{
    b->fresh = be_fresh;
    b->raw_exec = be_exec;
    b->raw_int = be_int;
    b->ctx = p;
}

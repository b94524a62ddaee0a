/* temper — test harness for store_postgres: a PostgreSQL server for the
 * test (tests/plugins/pg_fixture.sh: a throw-away cluster on 127.0.0.1, or
 * the CI run's server from TEMPER_TEST_PG_DSN), fresh databases, raw
 * connections, and the conformance suite's backend. */
#ifndef TEMPER_TESTS_STORE_PG_HARNESS_H
#define TEMPER_TESTS_STORE_PG_HARNESS_H

#include "tests/plugins/store_conformance.h"
#include <libpq-fe.h>
#include <stdbool.h>

#define PGH_MAX_DBS 64

struct pgh {
    char dir[512];  /* the fixture's cluster dir; "" for an external server */
    char *dsn;      /* conninfo of the server's maintenance database */
    char *dbs[PGH_MAX_DBS];
    int n_dbs;
};

/* Start a server: our own cluster, or (allow_external and CI=true) the one
 * in TEMPER_TEST_PG_DSN.  Returns 0, 77 when PostgreSQL is not installed
 * (skip, unless CI=true: then it is an error, -1), or -1.  The server is
 * stopped by pgh_stop(), also at exit and on SIGINT/SIGTERM. */
int pgh_start(struct pgh *p, bool allow_external);
void pgh_stop(struct pgh *p);
/* pg_ctl restart -m fast of our own cluster: 0 or -1. */
int pgh_restart(const struct pgh *p);

/* `conninfo` with its dbname (and password, when pw is not NULL)
 * replaced: a new keyword string. */
char *pgh_conninfo_with(const char *conninfo, const char *dbname, const char *pw);
/* A new, empty database named after `name`; its conninfo (new string). */
char *pgh_fresh(struct pgh *p, const char *name);

/* Raw access to a database. */
int pgh_exec(const char *conninfo, const char *sql, char **msg);
long long pgh_int(const char *conninfo, const char *sql);

void pgh_backend(struct pgh *p, struct store_backend *b);

#endif

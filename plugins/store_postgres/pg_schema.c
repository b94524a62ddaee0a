/* temper — store_postgres: the versioned schema.
 *
 * The same shape as store_sqlite's.  Table schema_version holds one row per
 * applied migration.  open() takes pg_advisory_xact_lock(PGS_LOCK_KEY) in
 * one transaction, reads the version, applies every missing migration and
 * commits: processes starting at once serialise on the lock and the later
 * ones find the work done.  A database newer than PGS_SCHEMA_VERSION is
 * refused: an old temper must not write to a schema it does not know.
 *
 * The tables live in the first schema of the connection's search_path: give
 * temper its own database, or its own schema with
 * `options=-csearch_path=temper` in the connection string.
 *
 * Migrations are append-only: never edit a released one, add the next. */
#include "config.h"
#include "pg_store.h"

#include <stdio.h>

/* Version 1: the whole initial schema. */
static const char migration_1[] =
    "CREATE TABLE kv ("
    " ns text NOT NULL, key text NOT NULL, value text NOT NULL,"
    " PRIMARY KEY (ns, key));"

    "CREATE TABLE images ("
    " name text PRIMARY KEY CHECK (name <> ''),"
    " base text, distribution text,"
    " support_until bigint NOT NULL DEFAULT 0,"
    " pinned_version text, last_digest text);"

    "CREATE TABLE builds ("
    " id bigserial PRIMARY KEY,"
    " image text NOT NULL CHECK (image <> ''), variant text, version text,"
    " digest text, distribution text, built_at bigint NOT NULL DEFAULT 0,"
    " run_id bigint);"
    "CREATE INDEX builds_latest ON builds (image, variant, id);"

    /* Only the latest build of each image/variant keeps rows here. */
    "CREATE TABLE build_packages ("
    " id bigserial PRIMARY KEY,"
    " build_id bigint NOT NULL REFERENCES builds (id) ON DELETE CASCADE,"
    " name text NOT NULL CHECK (name <> ''), version text, arch text,"
    " source text, source_version text, distribution text, purl text,"
    " sha256 text, license text, supplier text, url text);"
    "CREATE INDEX build_packages_name ON build_packages (name);"
    "CREATE INDEX build_packages_source ON build_packages (source);"
    "CREATE INDEX build_packages_build ON build_packages (build_id);"

    "CREATE TABLE jobs ("
    " id bigserial PRIMARY KEY,"
    " image text NOT NULL CHECK (image <> ''), variant text, version text,"
    " reason text NOT NULL,"
    " change json NOT NULL DEFAULT '[]' CHECK (json_typeof(change) = 'array'),"
    " dedup_key text,"
    " priority integer NOT NULL DEFAULT 0,"
    " attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    " max_attempts integer NOT NULL CHECK (max_attempts >= 1),"
    " not_before bigint NOT NULL DEFAULT 0,"
    " lease_until bigint NOT NULL DEFAULT 0,"
    " worker text,"
    " state smallint NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 5),"
    " last_error text,"
    " CHECK (state <> 2 OR worker IS NOT NULL));"
    "CREATE INDEX jobs_state ON jobs (state, priority DESC, id);"
    "CREATE INDEX jobs_dedup ON jobs (dedup_key) WHERE state = 1;"

    "CREATE TABLE runs ("
    " id bigserial PRIMARY KEY,"
    " job_id bigint REFERENCES jobs (id),"
    " image text, variant text, version text, invocation_id text, worker text,"
    " started_at bigint NOT NULL DEFAULT 0,"
    " finished_at bigint NOT NULL DEFAULT 0,"
    " status integer NOT NULL, error text);"
    "CREATE INDEX runs_job ON runs (job_id, id);"

    "CREATE TABLE stage_results ("
    " run_id bigint NOT NULL REFERENCES runs (id),"
    " seq integer NOT NULL, stage text NOT NULL, plugin text,"
    " rc integer NOT NULL, verdict integer NOT NULL, error text,"
    " started_at bigint NOT NULL DEFAULT 0, finished_at bigint NOT NULL DEFAULT 0,"
    " detail json,"
    " PRIMARY KEY (run_id, seq));"

    "CREATE TABLE reviews ("
    " id bigserial PRIMARY KEY,"
    " job_id bigint REFERENCES jobs (id),"
    " image text NOT NULL, version text, summary text NOT NULL,"
    " findings json NOT NULL DEFAULT '[]',"
    " state smallint NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 3),"
    " decided_by text, comment text,"
    " created_at bigint NOT NULL DEFAULT 0,"
    " decided_at bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX reviews_state ON reviews (state, id);"

    "CREATE TABLE audit ("
    " id bigserial PRIMARY KEY,"
    " at bigint NOT NULL, actor text NOT NULL, action text NOT NULL,"
    " object text, detail text);"
    "CREATE FUNCTION temper_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $f$ BEGIN RAISE EXCEPTION 'the audit log is append-only'"
    " USING ERRCODE = 'restrict_violation'; END $f$;"
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit"
    " FOR EACH ROW EXECUTE FUNCTION temper_audit_append_only();"
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
    " FOR EACH STATEMENT EXECUTE FUNCTION temper_audit_append_only();";

/* Version 2 (as store_sqlite's): each package row carries its image and its
 * effective distribution, so images_with_package is an index range scan on
 * (name|source, image, dist) with no join to builds. */
static const char migration_2[] =
    "ALTER TABLE build_packages ADD COLUMN image text, ADD COLUMN dist text;"
    "UPDATE build_packages p SET image = b.image,"
    " dist = coalesce(p.distribution, b.distribution)"
    " FROM builds b WHERE b.id = p.build_id;"
    "DROP INDEX build_packages_name;"
    "DROP INDEX build_packages_source;"
    "CREATE INDEX build_packages_name ON build_packages (name, image COLLATE \"C\", dist);"
    "CREATE INDEX build_packages_source ON build_packages"
    " (source, image COLLATE \"C\", dist) WHERE source IS NOT NULL;";

static const char *const migrations[PGS_SCHEMA_VERSION + 1] = {
    NULL,
    migration_1,
    migration_2,
};

static const char sql_lock[] = "SELECT pg_advisory_xact_lock($1::bigint)";
static const char sql_version_table[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version integer PRIMARY KEY,"
    " applied_at timestamptz NOT NULL DEFAULT now())";
static const char sql_version[] = "SELECT coalesce(max(version), 0) FROM schema_version";
static const char sql_version_add[] = "INSERT INTO schema_version (version) VALUES ($1)";

/* A multi-statement static text (the schema): PQexec, no parameters. */
static int exec_static(struct pgs_state *s, const char *sql)
{
    PGresult *res = PQexec(s->conn, sql);
    ExecStatusType es = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = TEMPER_OK;
    if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
        rc = pgs_result_error(s, res);
    }
    PQclear(res);
    return rc;
}

static int migrate_tx(struct pgs_state *s, void *ctx)
{
    struct pgs_params p = { 0 };
    long long version = 0;
    (void)ctx;
    pgs_p_ll(&p, PGS_LOCK_KEY);
    int rc = pgs_exec(s, sql_lock, &p, NULL);
    if (rc == TEMPER_OK) {
        rc = pgs_exec(s, sql_version_table, NULL, NULL);
    }
    if (rc == TEMPER_OK) {
        rc = pgs_one_ll(s, sql_version, NULL, &version);
    }
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (version > PGS_SCHEMA_VERSION) {
        return temper_fail(s->st, TEMPER_EFORMAT,
                           "%s: store schema version %lld is newer than this "
                           "store_postgres knows (%d): upgrade temper",
                           s->name, version, PGS_SCHEMA_VERSION);
    }
    for (int v = (int)version + 1; v <= PGS_SCHEMA_VERSION && rc == TEMPER_OK; v++) {
        rc = exec_static(s, migrations[v]);
        if (rc == TEMPER_OK) {
            struct pgs_params pv = { 0 };
            pgs_p_ll(&pv, v);
            rc = pgs_exec(s, sql_version_add, &pv, NULL);
        }
    }
    return rc;
}

int pgs_schema_migrate(struct pgs_state *s)
{
    return pgs_tx(s, "cannot apply the schema migrations", 0, migrate_tx, NULL);
}

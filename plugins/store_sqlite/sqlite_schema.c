/* temper — store_sqlite: the versioned schema.
 *
 * PRAGMA user_version holds the schema version and PRAGMA application_id marks
 * the file as a temper store.  Migration N takes the database from version N-1
 * to N; each runs in its own BEGIN IMMEDIATE transaction that re-reads the
 * version first, so two processes opening a fresh file at once migrate it
 * exactly once.  A database newer than SQS_SCHEMA_VERSION is refused: an old
 * temper must not write to a schema it does not know.
 *
 * Migrations are append-only: never edit a released one, add the next. */
#include "config.h"
#include "sqlite_store.h"

#include <stdio.h>

/* Version 1: the whole initial schema. */
static const char migration_1[] =
    "CREATE TABLE kv ("
    " ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (ns, key)) WITHOUT ROWID;"

    "CREATE TABLE images ("
    " name TEXT PRIMARY KEY NOT NULL CHECK (name <> ''),"
    " base TEXT, distribution TEXT,"
    " support_until INTEGER NOT NULL DEFAULT 0,"
    " pinned_version TEXT, last_digest TEXT);"

    "CREATE TABLE builds ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " image TEXT NOT NULL CHECK (image <> ''), variant TEXT, version TEXT,"
    " digest TEXT, distribution TEXT, built_at INTEGER NOT NULL DEFAULT 0,"
    " run_id INTEGER);"
    "CREATE INDEX builds_latest ON builds (image, variant, id);"

    /* Only the latest build of each image/variant keeps rows here. */
    "CREATE TABLE build_packages ("
    " id INTEGER PRIMARY KEY,"
    " build_id INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,"
    " name TEXT NOT NULL CHECK (name <> ''), version TEXT, arch TEXT,"
    " source TEXT, source_version TEXT, distribution TEXT, purl TEXT,"
    " sha256 TEXT, license TEXT, supplier TEXT, url TEXT);"
    "CREATE INDEX build_packages_name ON build_packages (name);"
    "CREATE INDEX build_packages_source ON build_packages (source);"
    "CREATE INDEX build_packages_build ON build_packages (build_id);"

    "CREATE TABLE jobs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " image TEXT NOT NULL CHECK (image <> ''), variant TEXT, version TEXT,"
    " reason TEXT NOT NULL,"
    " change TEXT NOT NULL DEFAULT '[]'"
    "  CHECK (json_valid(change) AND json_type(change) = 'array'),"
    " dedup_key TEXT,"
    " priority INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    " max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),"
    " not_before INTEGER NOT NULL DEFAULT 0,"
    " lease_until INTEGER NOT NULL DEFAULT 0,"
    " worker TEXT,"
    " state INTEGER NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 5),"
    " last_error TEXT,"
    " CHECK (state <> 2 OR worker IS NOT NULL));"
    "CREATE INDEX jobs_state ON jobs (state, priority DESC, id);"
    "CREATE INDEX jobs_dedup ON jobs (dedup_key) WHERE state = 1;"

    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " job_id INTEGER REFERENCES jobs (id),"
    " image TEXT, variant TEXT, version TEXT, invocation_id TEXT, worker TEXT,"
    " started_at INTEGER NOT NULL DEFAULT 0,"
    " finished_at INTEGER NOT NULL DEFAULT 0,"
    " status INTEGER NOT NULL, error TEXT);"
    "CREATE INDEX runs_job ON runs (job_id, id);"

    "CREATE TABLE stage_results ("
    " run_id INTEGER NOT NULL REFERENCES runs (id),"
    " seq INTEGER NOT NULL, stage TEXT NOT NULL, plugin TEXT,"
    " rc INTEGER NOT NULL, verdict INTEGER NOT NULL, error TEXT,"
    " started_at INTEGER NOT NULL DEFAULT 0, finished_at INTEGER NOT NULL DEFAULT 0,"
    " detail TEXT CHECK (detail IS NULL OR json_valid(detail)),"
    " PRIMARY KEY (run_id, seq));"

    "CREATE TABLE reviews ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " job_id INTEGER REFERENCES jobs (id),"
    " image TEXT NOT NULL, version TEXT, summary TEXT NOT NULL,"
    " findings TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(findings)),"
    " state INTEGER NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 3),"
    " decided_by TEXT, comment TEXT,"
    " created_at INTEGER NOT NULL DEFAULT 0,"
    " decided_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX reviews_state ON reviews (state, id);"

    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
    " object TEXT, detail TEXT);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"

    "PRAGMA application_id = 1414548818;"
    "PRAGMA user_version = 1;";

/* 2: the image and the effective distribution copied into build_packages,
 * indexed with the names, so "which images hold P" pages through an index
 * instead of joining every build that ever held P (bench_affected). */
static const char migration_2[] =
    "ALTER TABLE build_packages ADD COLUMN image TEXT;"
    "ALTER TABLE build_packages ADD COLUMN dist TEXT;"
    "UPDATE build_packages SET"
    " image = (SELECT b.image FROM builds b WHERE b.id = build_packages.build_id),"
    " dist = coalesce(distribution,"
    "  (SELECT b.distribution FROM builds b WHERE b.id = build_packages.build_id));"
    "DROP INDEX build_packages_name;"
    "DROP INDEX build_packages_source;"
    "CREATE INDEX build_packages_name ON build_packages (name, image, dist);"
    "CREATE INDEX build_packages_source ON build_packages (source, image, dist)"
    " WHERE source IS NOT NULL;"
    "PRAGMA user_version = 2;";

/* 3: images becomes a WITHOUT ROWID table keyed by name: its rows are stored
 * in name order, so "which images hold P" merges the package index with one
 * ordered walk of images (or one seek per image) instead of an index seek
 * plus a rowid seek per image (bench_affected, issue #9).  Same columns,
 * constraints and rows; nothing refers to the old rowids. */
static const char migration_3[] =
    "CREATE TABLE images_v3 ("
    " name TEXT PRIMARY KEY NOT NULL CHECK (name <> ''),"
    " base TEXT, distribution TEXT,"
    " support_until INTEGER NOT NULL DEFAULT 0,"
    " pinned_version TEXT, last_digest TEXT) WITHOUT ROWID;"
    "INSERT INTO images_v3 (name, base, distribution, support_until, pinned_version,"
    " last_digest) SELECT name, base, distribution, support_until, pinned_version,"
    " last_digest FROM images;"
    "DROP TABLE images;"
    "ALTER TABLE images_v3 RENAME TO images;"
    "PRAGMA user_version = 3;";

static const char *const migrations[SQS_SCHEMA_VERSION + 1] = {
    NULL,
    migration_1,
    migration_2,
    migration_3,
};

static const char sql_user_version[] = "PRAGMA user_version";
static const char sql_application_id[] = "PRAGMA application_id";
static const char sql_objects[] = "SELECT count(*) FROM sqlite_master";

static int read_int(struct sqs_state *s, const char *sql, long long *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqs_stmt(s, sql, &stmt);
    if (rc == TEMPER_OK) {
        rc = sqs_one_int(s, stmt, out, "cannot read the schema version");
    }
    return rc == TEMPER_ENOTFOUND ? TEMPER_OK : rc;
}

/* Refuse a SQLite file that belongs to another program. */
static int check_owner(struct sqs_state *s, long long version)
{
    long long app = 0, objects = 0;
    int rc = read_int(s, sql_application_id, &app);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (app != 0 && app != SQS_APPLICATION_ID) {
        return temper_fail(s->st, TEMPER_EFORMAT,
                           "%s: not a temper store (SQLite application_id %lld)",
                           s->path, app);
    }
    if (app != 0 || version != 0) {
        return TEMPER_OK;
    }
    rc = read_int(s, sql_objects, &objects);
    if (rc == TEMPER_OK && objects > 0) {
        rc = temper_fail(s->st, TEMPER_EFORMAT,
                         "%s: not a temper store (a SQLite database with %lld "
                         "schema objects and no temper schema)",
                         s->path, objects);
    }
    return rc;
}

static int apply(struct sqs_state *s, int v)
{
    char what[64];
    int n = snprintf(what, sizeof what, "cannot apply schema migration %d", v);
    if (n < 0 || (size_t)n >= sizeof what) {
        return TEMPER_EINTERNAL;
    }
    int rc = sqs_begin(s, what);
    if (rc != TEMPER_OK) {
        return rc;
    }
    long long now_at = 0;
    rc = read_int(s, sql_user_version, &now_at);
    if (rc == TEMPER_OK && now_at < v) {
        int src = sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL);
        if (src != SQLITE_OK) {
            rc = sqs_fail(s, src, what);
        }
    }
    return sqs_end(s, rc, what);
}

int sqs_schema_migrate(struct sqs_state *s)
{
    long long version = 0;
    int rc = read_int(s, sql_user_version, &version);
    if (rc != TEMPER_OK) {
        return rc;
    }
    rc = check_owner(s, version);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (version < 0) {
        return temper_fail(s->st, TEMPER_EFORMAT, "%s: invalid store schema version %lld",
                           s->path, version);
    }
    if (version > SQS_SCHEMA_VERSION) {
        return temper_fail(s->st, TEMPER_EFORMAT,
                           "%s: store schema version %lld is newer than this "
                           "store_sqlite knows (%d): upgrade temper",
                           s->path, version, SQS_SCHEMA_VERSION);
    }
    for (int v = (int)version + 1; v <= SQS_SCHEMA_VERSION && rc == TEMPER_OK; v++) {
        rc = apply(s, v);
    }
    return rc;
}

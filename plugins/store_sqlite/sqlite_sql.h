/* temper — store_sqlite: SQL texts shared with the tests, which check their
 * query plans (EXPLAIN QUERY PLAN) against a real database. */
#ifndef TEMPER_STORE_SQLITE_SQL_H
#define TEMPER_STORE_SQLITE_SQL_H

/* Images whose latest build of some variant contains a package named ?1 as
 * its binary name (_BY_NAME) or its source name (_BY_SOURCE), of
 * distribution ?2 (NULL = any), within their support window at ?3, with
 * names after ?4, in image order: a range scan of the (name|source, image,
 * dist) index joined to the image's row (a build of an image never put has
 * NULL fields).  An image appears once per matching package row; the caller
 * merges the two and drops repeats (sqlite_affected.c).  build_packages keeps
 * rows of the latest build of each image/variant only, with the image and
 * the effective distribution copied in (schema 2). */
#define SQS_SQL_AFFECTED(col)                                                   \
    "SELECT p.image, s.base, s.distribution, coalesce(s.support_until, 0),"    \
    " s.pinned_version, s.last_digest FROM build_packages p"                   \
    " LEFT JOIN images s ON s.name = p.image"                                  \
    " WHERE p." col " = ?1 AND (?2 IS NULL OR p.dist = ?2) AND p.image > ?4"   \
    "  AND (s.support_until IS NULL OR s.support_until = 0"                    \
    "   OR s.support_until >= ?3) ORDER BY p.image"
#define SQS_SQL_AFFECTED_BY_NAME SQS_SQL_AFFECTED("name")
#define SQS_SQL_AFFECTED_BY_SOURCE SQS_SQL_AFFECTED("source")

#endif

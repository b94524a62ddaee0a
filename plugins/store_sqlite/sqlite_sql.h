/* temper — store_sqlite: SQL texts shared with the tests, which check their
 * query plans (EXPLAIN QUERY PLAN) against a real database. */
#ifndef TEMPER_STORE_SQLITE_SQL_H
#define TEMPER_STORE_SQLITE_SQL_H

/* The images whose latest build of some variant contains a package named ?1
 * as its binary name (_BY_NAME) or its source name (_BY_SOURCE), of
 * distribution ?2 (NULL = any), with names after ?3, in image order, once
 * per matching package row: a range scan of the (name|source, image, dist)
 * index that reads nothing else.  build_packages keeps rows of the latest
 * build of each image/variant only, with the image and the effective
 * distribution copied in (schema 2). */
#define SQS_SQL_AFFECTED(col)                                                   \
    "SELECT p.image FROM build_packages p"                                     \
    " WHERE p." col " = ?1 AND (?2 IS NULL OR p.dist = ?2) AND p.image > ?3"   \
    " ORDER BY p.image"
#define SQS_SQL_AFFECTED_BY_NAME SQS_SQL_AFFECTED("name")
#define SQS_SQL_AFFECTED_BY_SOURCE SQS_SQL_AFFECTED("source")
/* The image rows from name ?1 on, in name order: images is WITHOUT ROWID
 * (schema 3), so this walks its B-tree.  sqlite_affected.c merges the three
 * and checks the support window. */
#define SQS_SQL_AFFECTED_IMAGES                                                 \
    "SELECT name, base, distribution, coalesce(support_until, 0),"             \
    " pinned_version, last_digest FROM images WHERE name >= ?1 ORDER BY name"

#endif

/* temper — store_sqlite: SQL texts shared with the tests, which check their
 * query plans (EXPLAIN QUERY PLAN) against a real database. */
#ifndef TEMPER_STORE_SQLITE_SQL_H
#define TEMPER_STORE_SQLITE_SQL_H

/* Images whose latest build of some variant contains a package named ?1
 * (binary or source name) of distribution ?2 (NULL = any), within their
 * support window at ?3.  Both name lookups go through an index. */
#define SQS_SQL_IMAGES_WITH_PACKAGE                                             \
    "WITH hit(image) AS ("                                                      \
    " SELECT b.image FROM build_packages p JOIN builds b ON b.id = p.build_id"  \
    " WHERE p.name = ?1"                                                        \
    "  AND (?2 IS NULL OR coalesce(p.distribution, b.distribution) = ?2)"       \
    "  AND NOT EXISTS (SELECT 1 FROM builds n WHERE n.image = b.image"          \
    "   AND n.variant IS b.variant AND n.id > b.id)"                            \
    " UNION"                                                                    \
    " SELECT b.image FROM build_packages p JOIN builds b ON b.id = p.build_id"  \
    " WHERE p.source = ?1"                                                      \
    "  AND (?2 IS NULL OR coalesce(p.distribution, b.distribution) = ?2)"       \
    "  AND NOT EXISTS (SELECT 1 FROM builds n WHERE n.image = b.image"          \
    "   AND n.variant IS b.variant AND n.id > b.id))"                           \
    " SELECT h.image, i.base, i.distribution, coalesce(i.support_until, 0),"    \
    "  i.pinned_version, i.last_digest"                                         \
    " FROM hit h LEFT JOIN images i ON i.name = h.image"                        \
    " WHERE (i.support_until IS NULL OR i.support_until = 0"                    \
    "  OR i.support_until >= ?3) AND h.image > :after"                          \
    " ORDER BY h.image LIMIT :limit"

#endif

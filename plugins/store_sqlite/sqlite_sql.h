/* temper — store_sqlite: SQL texts shared with the tests, which check their
 * query plans (EXPLAIN QUERY PLAN) against a real database. */
#ifndef TEMPER_STORE_SQLITE_SQL_H
#define TEMPER_STORE_SQLITE_SQL_H

/* Images whose latest build of some variant contains a package named ?1
 * (binary or source name) of distribution ?2 (NULL = any), within their
 * support window at ?3.  One page of the images whose current build holds a package (binary or
 * source name): two range scans of the (name, image) and (source, image)
 * indexes from :after on, merged in image order, so every page costs its
 * own rows only, however many images hit.  (:after comes after ?3 in the
 * text: SQLite numbers a named parameter after the highest seen so far.)  build_packages keeps rows of the
 * latest build of each image/variant only, with the image and the
 * effective distribution copied in (schema 2). */
#define SQS_SQL_IMAGES_WITH_PACKAGE                                             \
    "SELECT h.image, i.base, i.distribution, coalesce(i.support_until, 0),"    \
    "  i.pinned_version, i.last_digest FROM ("                                 \
    "  SELECT p.image AS image FROM build_packages p"                          \
    "  LEFT JOIN images s ON s.name = p.image"                                  \
    "  WHERE p.name = ?1 AND (?2 IS NULL OR p.dist = ?2)"                      \
    "   AND (s.support_until IS NULL OR s.support_until = 0"                    \
    "    OR s.support_until >= ?3) AND p.image > :after"                        \
    "  UNION"                                                                   \
    "  SELECT p.image AS image FROM build_packages p"                          \
    "  LEFT JOIN images s ON s.name = p.image"                                  \
    "  WHERE p.source = ?1 AND (?2 IS NULL OR p.dist = ?2)"                      \
    "   AND (s.support_until IS NULL OR s.support_until = 0"                    \
    "    OR s.support_until >= ?3) AND p.image > :after"                        \
    "  ORDER BY 1 LIMIT :limit) h"                                              \
    " LEFT JOIN images i ON i.name = h.image ORDER BY h.image"

#endif

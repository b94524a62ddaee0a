/* temper — artifacts: what flows from stage to stage.
 *
 * An artifact is an opaque object owned by the run.  A stage receives
 * `const struct temper_artifact *` views (borrowed for the duration of the
 * call) and hands new artifacts to the run with temper_emit(), which takes
 * ownership even on failure.  Artifacts are opaque so that fields can be added
 * without an ABI break; everything is reached through the accessors below.
 *
 * An artifact has a type, a name, string attributes (well-known keys below,
 * plugins may add their own with an "x-<plugin>-" prefix), optionally a path
 * (a file or directory in the run's work directory) and/or inline bytes, and,
 * for images, the list of packages the image contains. */
#ifndef TEMPER_ARTIFACT_H
#define TEMPER_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>
#include <temper/rc.h>

#ifdef __cplusplus
extern "C" {
#endif

enum temper_art_type {
    TEMPER_ART_CHANGE = 1,  /* an upstream moved (tracker -> job) */
    TEMPER_ART_DIFF = 2,    /* upstream diff: path = mbox of patches */
    TEMPER_ART_IMAGE = 3,   /* an OCI image in a layout (path = layout dir) */
    TEMPER_ART_REPORT = 4,  /* test or guard report file (JUnit, CTRF, JSON) */
    TEMPER_ART_STATEMENT = 5, /* in-toto Statement v1 JSON (data) */
    TEMPER_ART_SIGNATURE = 6, /* signature over an image or statement */
    TEMPER_ART_REFERENCE = 7, /* a published reference (registry, layout) */
    TEMPER_ART_RUN = 8,     /* the run record kept by the core (read-only) */
    TEMPER_ART_BLOB = 9     /* anything else */
};

/* Well-known attribute keys. */
#define TEMPER_ATTR_TRACKER "tracker"           /* stage name of the tracker */
#define TEMPER_ATTR_UPSTREAM "upstream"         /* e.g. "python/cpython" */
#define TEMPER_ATTR_IMAGE "image"               /* image definition name */
#define TEMPER_ATTR_VARIANT "variant"           /* "runtime", "dev", ... */
#define TEMPER_ATTR_OLD_VERSION "old_version"
#define TEMPER_ATTR_NEW_VERSION "new_version"
#define TEMPER_ATTR_OLD_REF "old_ref"           /* upstream tag/commit */
#define TEMPER_ATTR_NEW_REF "new_ref"
#define TEMPER_ATTR_RELEASE_URL "release_url"
#define TEMPER_ATTR_COMPARE_URL "compare_url"
#define TEMPER_ATTR_PACKAGE "package"           /* package trackers */
#define TEMPER_ATTR_SOURCE_PACKAGE "source_package"
#define TEMPER_ATTR_DISTRIBUTION "distribution" /* "debian:bookworm" */
#define TEMPER_ATTR_DIGEST "digest"             /* "sha256:<hex>" */
#define TEMPER_ATTR_MEDIA_TYPE "media_type"
#define TEMPER_ATTR_PLATFORM "platform"         /* "linux/amd64" */
#define TEMPER_ATTR_PREDICATE_TYPE "predicate_type"
#define TEMPER_ATTR_KEY_ID "key_id"
#define TEMPER_ATTR_SIGNED_DIGEST "signed_digest" /* what a signature covers */
#define TEMPER_ATTR_REF "ref"                   /* published reference */
#define TEMPER_ATTR_FORMAT "format"             /* report format */
/* Image artifacts of builders that compile (builder_source): what went into
 * the build without being in the image, as a JSON array of in-toto
 * ResourceDescriptors [{"name", "uri", "digest": {"sha256": "<hex>"}}]:
 * the source tarball (name "source"), each patch ("patch:<file>") and each
 * build dependency (name = its purl, uri = where the package came from).
 * attest_slsa lists them in resolvedDependencies. */
#define TEMPER_ATTR_BUILD_INPUTS "build_inputs"

struct temper_artifact; /* opaque */

/* A package contained in an image.  Strings are borrowed from the caller when
 * passed in and copied; when read back they belong to the artifact.  Set
 * `size = sizeof(struct temper_package)`; fields past `size` read as NULL. */
struct temper_package {
    uint32_t size;
    const char *name;
    const char *version;
    const char *arch;
    const char *source;         /* source package name, NULL = same as name */
    const char *source_version; /* NULL = same as version */
    const char *distribution;   /* "debian:bookworm", "alpine:v3.19" */
    const char *purl;           /* pkg:deb/debian/name@ver?arch=... */
    const char *sha256;         /* of the .deb/.apk, hex */
    const char *license;        /* SPDX expression when known */
    const char *supplier;       /* maintainer */
    const char *url;            /* where the package file came from */
};

/* Returns a new artifact; free with temper_artifact_free() unless emitted.
 * NULL on allocation failure. */
TEMPER_EXPORT struct temper_artifact *temper_artifact_new(enum temper_art_type type,
                                                          const char *name);
TEMPER_EXPORT void temper_artifact_free(struct temper_artifact *a);

TEMPER_EXPORT enum temper_art_type temper_artifact_type(const struct temper_artifact *a);
TEMPER_EXPORT const char *temper_artifact_name(const struct temper_artifact *a);

/* Attributes: value is copied; NULL removes the key. */
TEMPER_EXPORT int temper_artifact_set(struct temper_artifact *a, const char *key,
                                      const char *value) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_artifact_setf(struct temper_artifact *a, const char *key,
                                       const char *fmt, ...) TEMPER_PRINTF(3, 4)
    TEMPER_WARN_UNUSED;
/* Borrowed; NULL if absent. */
TEMPER_EXPORT const char *temper_artifact_get(const struct temper_artifact *a,
                                              const char *key);
TEMPER_EXPORT size_t temper_artifact_attr_count(const struct temper_artifact *a);
/* i-th attribute in key order; both borrowed. */
TEMPER_EXPORT int temper_artifact_attr_at(const struct temper_artifact *a, size_t i,
                                          const char **key, const char **value);

/* The file or directory holding the artifact (copied).  Borrowed on read. */
TEMPER_EXPORT int temper_artifact_set_path(struct temper_artifact *a,
                                           const char *path) TEMPER_WARN_UNUSED;
TEMPER_EXPORT const char *temper_artifact_path(const struct temper_artifact *a);

/* Inline bytes: _set_data copies, _take_data takes `data` (from malloc) even
 * on error.  _data returns borrowed bytes (NUL-terminated for convenience,
 * the terminator is not counted in *len). */
TEMPER_EXPORT int temper_artifact_set_data(struct temper_artifact *a, const void *data,
                                           size_t len) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_artifact_take_data(struct temper_artifact *a, void *data,
                                            size_t len) TEMPER_WARN_UNUSED;
TEMPER_EXPORT const void *temper_artifact_data(const struct temper_artifact *a,
                                               size_t *len);

/* Packages (image artifacts).  The package is copied. */
TEMPER_EXPORT int temper_artifact_add_package(struct temper_artifact *a,
                                              const struct temper_package *p)
    TEMPER_WARN_UNUSED;
TEMPER_EXPORT size_t temper_artifact_package_count(const struct temper_artifact *a);
/* Borrowed; NULL when i is out of range. */
TEMPER_EXPORT const struct temper_package *
temper_artifact_package(const struct temper_artifact *a, size_t i);

/* Deep copy; NULL on allocation failure. */
TEMPER_EXPORT struct temper_artifact *temper_artifact_dup(const struct temper_artifact *a);

#ifdef __cplusplus
}
#endif
#endif

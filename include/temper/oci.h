/* temper — the OCI image model: image layout I/O, manifests, configs and
 * indexes as C structs with deterministic JSON, a streaming layer writer and
 * a safe layer extractor (image-spec v1.1; Docker v2 media types are read).
 *
 * Errors: every function that can fail takes the stage first (NULL allowed:
 * the message is then only logged), records one line naming the file, blob
 * or entry with temper_fail() and returns a negative enum temper_rc.
 *
 * Digests: only sha256 is produced or accepted ("sha256:" + 64 lower-case
 * hex, checked by temper_oci_digest_valid()); a digest read from JSON is
 * validated before it is ever used as a file name, so no path built from
 * outside data leaves blobs/sha256/.
 *
 * Ownership: the model structs own every pointer they hold (strings from
 * malloc/strdup).  Zero a struct to initialise it, fill it (use the
 * temper_oci_map_set / temper_oci_list_push helpers or strdup), and release
 * it with its _cleanup function, which frees everything and zeroes it again.
 * Parsers fill a caller-provided struct (cleaned up first, zeroed on error).
 *
 * Deterministic JSON: the writers emit no whitespace, keep '/' unescaped and
 * order keys exactly as the Go structs of opencontainers/image-spec
 * (specs-go/v1) declare their fields, which is what Go tools (containerd,
 * buildkit, skopeo, umoci) emit; the keys of maps (annotations, Labels,
 * ExposedPorts, Volumes) are sorted by byte value, and empty optional fields
 * are omitted (Go's omitempty).  Equal structs therefore give byte-equal JSON
 * and equal digests.  Orders used:
 *   descriptor  mediaType digest size urls annotations data platform artifactType
 *   platform    architecture os os.version os.features variant
 *   manifest    schemaVersion mediaType artifactType config layers subject annotations
 *   index       schemaVersion mediaType artifactType manifests subject annotations
 *   config      created author architecture os os.version os.features variant
 *               config rootfs history
 *   exec config User ExposedPorts Env Entrypoint Cmd Volumes WorkingDir Labels
 *               StopSignal ArgsEscaped            (the "config" object is always
 *               written, possibly as {})
 *   rootfs      type diff_ids
 *   history     created created_by author comment empty_layer */
#ifndef TEMPER_OCI_H
#define TEMPER_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <temper/rc.h>
#include <temper/hash.h>
#include <temper/option.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_stage;

/* ---- media types --------------------------------------------------------- */
#define TEMPER_OCI_MT_LAYOUT_HEADER "application/vnd.oci.layout.header.v1+json"
#define TEMPER_OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define TEMPER_OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define TEMPER_OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define TEMPER_OCI_MT_LAYER_TAR "application/vnd.oci.image.layer.v1.tar"
#define TEMPER_OCI_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define TEMPER_OCI_MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define TEMPER_OCI_MT_EMPTY "application/vnd.oci.empty.v1+json"
/* Docker v2 schema 2 equivalents (read, never written). */
#define TEMPER_DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define TEMPER_DOCKER_MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define TEMPER_DOCKER_MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define TEMPER_DOCKER_MT_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define TEMPER_DOCKER_MT_LAYER_FOREIGN \
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

/* ---- pre-defined annotations --------------------------------------------- */
#define TEMPER_OCI_ANN_CREATED "org.opencontainers.image.created"
#define TEMPER_OCI_ANN_AUTHORS "org.opencontainers.image.authors"
#define TEMPER_OCI_ANN_URL "org.opencontainers.image.url"
#define TEMPER_OCI_ANN_DOCUMENTATION "org.opencontainers.image.documentation"
#define TEMPER_OCI_ANN_SOURCE "org.opencontainers.image.source"
#define TEMPER_OCI_ANN_VERSION "org.opencontainers.image.version"
#define TEMPER_OCI_ANN_REVISION "org.opencontainers.image.revision"
#define TEMPER_OCI_ANN_VENDOR "org.opencontainers.image.vendor"
#define TEMPER_OCI_ANN_LICENSES "org.opencontainers.image.licenses"
#define TEMPER_OCI_ANN_REF_NAME "org.opencontainers.image.ref.name"
#define TEMPER_OCI_ANN_TITLE "org.opencontainers.image.title"
#define TEMPER_OCI_ANN_DESCRIPTION "org.opencontainers.image.description"
#define TEMPER_OCI_ANN_BASE_DIGEST "org.opencontainers.image.base.digest"
#define TEMPER_OCI_ANN_BASE_NAME "org.opencontainers.image.base.name"

/* ---- limits (outside data) ------------------------------------------------ */
#define TEMPER_OCI_MAX_JSON (8u * 1024 * 1024) /* a manifest, index, config */
#define TEMPER_OCI_MAX_ITEMS 100000            /* entries of one array or map */
#define TEMPER_OCI_MAX_DEPTH 32                /* JSON nesting */

/* ---- small containers ------------------------------------------------------ */

/* String map kept sorted by key (strcmp), keys unique. */
struct temper_oci_map_entry {
    char *key;
    char *value;
};
struct temper_oci_map {
    size_t n;
    struct temper_oci_map_entry *v;
};

/* Copies key and value, replacing an existing key; value NULL removes it.
 * TEMPER_ELIMIT past TEMPER_OCI_MAX_ITEMS. */
TEMPER_EXPORT int temper_oci_map_set(struct temper_oci_map *m, const char *key,
                                     const char *value) TEMPER_WARN_UNUSED;
/* Borrowed; NULL when absent. */
TEMPER_EXPORT const char *temper_oci_map_get(const struct temper_oci_map *m,
                                             const char *key);
TEMPER_EXPORT void temper_oci_map_cleanup(struct temper_oci_map *m);

/* Append a copy of s to a struct temper_strlist (keeps the NULL sentinel). */
TEMPER_EXPORT int temper_oci_list_push(struct temper_strlist *l, const char *s)
    TEMPER_WARN_UNUSED;
TEMPER_EXPORT void temper_oci_list_cleanup(struct temper_strlist *l);

/* ---- model ------------------------------------------------------------------ */

struct temper_oci_platform {
    char *architecture;              /* GOARCH: amd64, arm64, ... (required) */
    char *os;                        /* linux (required) */
    char *os_version;
    struct temper_strlist os_features;
    char *variant;                   /* v8, v7, ... */
};

struct temper_oci_descriptor {
    char *media_type;                /* required */
    char digest[TEMPER_DIGEST_STR_LEN]; /* "sha256:<hex>" */
    long long size;                  /* bytes, >= 0 */
    struct temper_strlist urls;
    struct temper_oci_map annotations;
    char *data;                      /* embedded content, base64, as read */
    struct temper_oci_platform *platform; /* NULL when absent */
    char *artifact_type;
};

struct temper_oci_manifest {
    int schema_version;              /* 2 (0 is written as 2) */
    char *media_type;                /* NULL is written as TEMPER_OCI_MT_MANIFEST */
    char *artifact_type;
    struct temper_oci_descriptor config;
    size_t n_layers;
    struct temper_oci_descriptor *layers; /* base layer first */
    struct temper_oci_descriptor *subject; /* NULL when absent */
    struct temper_oci_map annotations;
};

struct temper_oci_index {
    int schema_version;              /* 2 (0 is written as 2) */
    char *media_type;                /* NULL is written as TEMPER_OCI_MT_INDEX */
    char *artifact_type;
    size_t n_manifests;
    struct temper_oci_descriptor *manifests;
    struct temper_oci_descriptor *subject;
    struct temper_oci_map annotations;
};

struct temper_oci_history {
    char *created;                   /* RFC 3339 */
    char *created_by;
    char *author;
    char *comment;
    bool empty_layer;
};

struct temper_oci_config {
    char *created;                   /* RFC 3339 (temper_oci_time_format) */
    char *author;
    char *architecture;              /* required */
    char *os;                        /* required */
    char *os_version;
    struct temper_strlist os_features;
    char *variant;
    /* execution parameters: the "config" object */
    char *user;                      /* user, uid, user:group, uid:gid */
    struct temper_strlist exposed_ports; /* "80/tcp"; a set, written sorted */
    struct temper_strlist env;       /* "KEY=VALUE" */
    struct temper_strlist entrypoint;
    struct temper_strlist cmd;
    struct temper_strlist volumes;   /* a set, written sorted */
    char *working_dir;
    struct temper_oci_map labels;
    char *stop_signal;
    bool args_escaped;
    /* rootfs: type is always "layers" */
    struct temper_strlist diff_ids;  /* uncompressed layer digests, base first */
    size_t n_history;
    struct temper_oci_history *history;
};

TEMPER_EXPORT void temper_oci_platform_cleanup(struct temper_oci_platform *p);
TEMPER_EXPORT void temper_oci_descriptor_cleanup(struct temper_oci_descriptor *d);
TEMPER_EXPORT void temper_oci_manifest_cleanup(struct temper_oci_manifest *m);
TEMPER_EXPORT void temper_oci_index_cleanup(struct temper_oci_index *x);
TEMPER_EXPORT void temper_oci_config_cleanup(struct temper_oci_config *c);

/* Deep copy into *dst (cleaned up first; zeroed on error). */
TEMPER_EXPORT int temper_oci_descriptor_copy(struct temper_oci_descriptor *dst,
                                             const struct temper_oci_descriptor *src)
    TEMPER_WARN_UNUSED;
/* Append a deep copy of d to an index's manifests. */
TEMPER_EXPORT int temper_oci_index_add(struct temper_oci_index *x,
                                       const struct temper_oci_descriptor *d)
    TEMPER_WARN_UNUSED;

/* 1 when s is "sha256:" followed by exactly 64 lower-case hex digits. */
TEMPER_EXPORT int temper_oci_digest_valid(const char *s);
/* 1 when s is a valid org.opencontainers.image.ref.name (image-layout spec:
 * components of [A-Za-z0-9]+ joined by one of -._:@+ or "--", separated by
 * '/'), at most 255 bytes. */
TEMPER_EXPORT int temper_oci_ref_valid(const char *s);
/* "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339, UTC) of a Unix time; out gets 32 bytes.
 * TEMPER_EINVAL for times before 1970 or after 9999. */
TEMPER_EXPORT int temper_oci_time_format(long long t, char out[32]) TEMPER_WARN_UNUSED;

/* ---- JSON ---------------------------------------------------------------- */

/* Serialise deterministically (see the top of this file).  *json is a new
 * NUL-terminated string (free()), *len (may be NULL) its length.  Missing
 * required fields or invalid digests give TEMPER_EINVAL. */
TEMPER_EXPORT int temper_oci_manifest_json(struct temper_stage *st,
                                           const struct temper_oci_manifest *m,
                                           char **json, size_t *len) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_oci_index_json(struct temper_stage *st,
                                        const struct temper_oci_index *x,
                                        char **json, size_t *len) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_oci_config_json(struct temper_stage *st,
                                         const struct temper_oci_config *c,
                                         char **json, size_t *len) TEMPER_WARN_UNUSED;

/* Parse json[0..len) (at most TEMPER_OCI_MAX_JSON bytes, one JSON object);
 * `what` names the source in messages.  Unknown fields are ignored.
 * Manifests accept the OCI and Docker v2 manifest media types (or none),
 * indexes the OCI index and Docker manifest list; configs require
 * architecture, os and rootfs.type "layers".  TEMPER_EFORMAT on malformed
 * input, TEMPER_ELIMIT past the limits above. */
TEMPER_EXPORT int temper_oci_manifest_parse(struct temper_stage *st, const char *what,
                                            const char *json, size_t len,
                                            struct temper_oci_manifest *out)
    TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_oci_index_parse(struct temper_stage *st, const char *what,
                                         const char *json, size_t len,
                                         struct temper_oci_index *out) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_oci_config_parse(struct temper_stage *st, const char *what,
                                          const char *json, size_t len,
                                          struct temper_oci_config *out) TEMPER_WARN_UNUSED;

/* ---- image layout ------------------------------------------------------------ */

struct temper_oci_layout; /* opaque: an open layout directory */

/* Create the layout `dir` (the directory itself may exist, its parent must):
 * blobs/sha256/, `oci-layout` {"imageLayoutVersion":"1.0.0"} and an empty
 * index.json, keeping whatever valid parts exist already; then open it. */
TEMPER_EXPORT int temper_oci_layout_create(struct temper_stage *st, const char *dir,
                                           struct temper_oci_layout **out)
    TEMPER_WARN_UNUSED;
/* Open an existing layout: `oci-layout` must say version 1.0.0, index.json
 * must parse as an image index and blobs/sha256 must be a directory.  Every
 * later access goes through directory descriptors with O_NOFOLLOW: a blob
 * that is a symlink is refused. */
TEMPER_EXPORT int temper_oci_layout_open(struct temper_stage *st, const char *dir,
                                         struct temper_oci_layout **out)
    TEMPER_WARN_UNUSED;
TEMPER_EXPORT void temper_oci_layout_free(struct temper_oci_layout *l);
/* The directory as given; borrowed. */
TEMPER_EXPORT const char *temper_oci_layout_path(const struct temper_oci_layout *l);
/* index.json as last read or written; borrowed until the next change. */
TEMPER_EXPORT const struct temper_oci_index *
temper_oci_layout_index(const struct temper_oci_layout *l);
/* Replace index.json atomically (temp file, fsync, rename, fsync dir). */
TEMPER_EXPORT int temper_oci_layout_write_index(struct temper_stage *st,
                                                struct temper_oci_layout *l,
                                                const struct temper_oci_index *x)
    TEMPER_WARN_UNUSED;
/* Point `ref` (temper_oci_ref_valid) at d in index.json: under an exclusive
 * flock() of the layout, re-read index.json, drop entries carrying the same
 * ref.name, append a copy of d annotated with the ref name, replace the
 * file atomically. */
TEMPER_EXPORT int temper_oci_layout_tag(struct temper_stage *st, struct temper_oci_layout *l,
                                        const struct temper_oci_descriptor *d,
                                        const char *ref) TEMPER_WARN_UNUSED;
/* The index.json entry whose ref.name is `ref` (borrowed); TEMPER_ENOTFOUND. */
TEMPER_EXPORT int temper_oci_layout_find(struct temper_stage *st,
                                         const struct temper_oci_layout *l, const char *ref,
                                         const struct temper_oci_descriptor **out)
    TEMPER_WARN_UNUSED;

/* "<dir>/blobs/sha256/<hex>" as a new string (free()); NULL when the digest
 * is invalid or on ENOMEM. */
TEMPER_EXPORT char *temper_oci_blob_path(const struct temper_oci_layout *l,
                                         const char *digest);
/* Store bytes as a blob: digest computed, written to a temp file in
 * blobs/sha256, fsynced, renamed into place (an existing blob with the right
 * content is kept).  out (may be NULL) gets media_type, digest and size. */
TEMPER_EXPORT int temper_oci_blob_write(struct temper_stage *st, struct temper_oci_layout *l,
                                        const char *media_type, const void *data,
                                        size_t len, struct temper_oci_descriptor *out)
    TEMPER_WARN_UNUSED;
/* Read a blob whole: d->size must be <= max (TEMPER_ELIMIT), the file must
 * be a regular file of exactly that size whose sha256 is d->digest
 * (TEMPER_ECRYPTO otherwise).  *data is new (free()), NUL-terminated. */
TEMPER_EXPORT int temper_oci_blob_read(struct temper_stage *st,
                                       const struct temper_oci_layout *l,
                                       const struct temper_oci_descriptor *d, size_t max,
                                       char **data, size_t *len) TEMPER_WARN_UNUSED;
/* Stream-check a blob of any size against d (size and digest). */
TEMPER_EXPORT int temper_oci_blob_verify(struct temper_stage *st,
                                         const struct temper_oci_layout *l,
                                         const struct temper_oci_descriptor *d)
    TEMPER_WARN_UNUSED;

/* Streaming blob writer (downloads, imports): bytes go to a temp file in
 * blobs/sha256 while being hashed; commit checks `expected` (a digest, or
 * NULL) and renames the file into place.  _free without commit removes the
 * temp file. */
struct temper_oci_blob_writer;
TEMPER_EXPORT int temper_oci_blob_writer_new(struct temper_stage *st,
                                             struct temper_oci_layout *l,
                                             struct temper_oci_blob_writer **out)
    TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_oci_blob_writer_write(struct temper_oci_blob_writer *w,
                                               const void *p, size_t n) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_oci_blob_writer_commit(struct temper_oci_blob_writer *w,
                                                const char *expected,
                                                char digest[TEMPER_DIGEST_STR_LEN],
                                                long long *size) TEMPER_WARN_UNUSED;
TEMPER_EXPORT void temper_oci_blob_writer_free(struct temper_oci_blob_writer *w);

/* Read and parse the blob a descriptor points to (size cap
 * TEMPER_OCI_MAX_JSON). */
TEMPER_EXPORT int temper_oci_read_manifest(struct temper_stage *st,
                                           const struct temper_oci_layout *l,
                                           const struct temper_oci_descriptor *d,
                                           struct temper_oci_manifest *out)
    TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_oci_read_index(struct temper_stage *st,
                                        const struct temper_oci_layout *l,
                                        const struct temper_oci_descriptor *d,
                                        struct temper_oci_index *out) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_oci_read_config(struct temper_stage *st,
                                         const struct temper_oci_layout *l,
                                         const struct temper_oci_descriptor *d,
                                         struct temper_oci_config *out) TEMPER_WARN_UNUSED;

/* ---- images ------------------------------------------------------------------ */

/* Write one single-platform image: the config (with rootfs.diff_ids set to
 * diff_ids[0..n_layers), which must agree with config->diff_ids when those
 * are set), then the manifest over config + layers (each layer blob must
 * exist in the layout with its descriptor's size) with `annotations` (may be
 * NULL).  When ref is not NULL, index.json gets the manifest under that ref
 * name (temper_oci_layout_tag).  out (may be NULL) gets the manifest
 * descriptor with platform {architecture, os, variant} from the config
 * (without the ref.name annotation: ready for temper_oci_index_write). */
TEMPER_EXPORT int temper_oci_image_write(struct temper_stage *st, struct temper_oci_layout *l,
                                         const struct temper_oci_config *config,
                                         const struct temper_oci_descriptor *layers,
                                         const char *const *diff_ids, size_t n_layers,
                                         const struct temper_oci_map *annotations,
                                         const char *ref,
                                         struct temper_oci_descriptor *out)
    TEMPER_WARN_UNUSED;
/* Write an image index over manifests (each blob must exist; each should
 * carry a platform) with `annotations` (may be NULL) and tag it when ref is
 * not NULL.  out (may be NULL) gets the index descriptor. */
TEMPER_EXPORT int temper_oci_index_write(struct temper_stage *st, struct temper_oci_layout *l,
                                         const struct temper_oci_descriptor *manifests,
                                         size_t n, const struct temper_oci_map *annotations,
                                         const char *ref, struct temper_oci_descriptor *out)
    TEMPER_WARN_UNUSED;

/* ---- layer writer ------------------------------------------------------------ *
 *
 * Tar format: POSIX pax, libarchive's "restricted" flavour: plain ustar
 * headers, plus a pax extended header only for what ustar cannot hold (long
 * or non-ASCII names, big ids/sizes, xattrs as SCHILY.xattr.*).  It is the
 * POSIX format, every OCI client reads it, and its extended-header names
 * carry no pid or time.  Nothing in the stream depends on the host or the
 * clock: ownership, mode and mtime come from the entry (mtime clamped to
 * source_date_epoch, no atime/ctime), entries are written in the order given
 * (temper_oci_layer_add_tree sorts), and gzip is written without file name
 * and with MTIME 0 (libarchive's gzip filter with "timestamp" unset). */

enum temper_oci_compression {
    TEMPER_OCI_COMP_GZIP = 0,   /* application/vnd.oci.image.layer.v1.tar+gzip */
    TEMPER_OCI_COMP_ZSTD = 1,   /* ...tar+zstd */
    TEMPER_OCI_COMP_NONE = 2    /* ...tar */
};

struct temper_oci_layer_opts {
    uint32_t size;              /* sizeof(struct temper_oci_layer_opts) */
    enum temper_oci_compression compression;
    int level;                  /* 0 = default (gzip 6, zstd 3) */
    /* Every mtime is min(mtime, source_date_epoch); < 0 disables clamping.
     * A zeroed struct therefore clamps everything to 1970-01-01. */
    long long source_date_epoch;
    bool allow_devices;         /* accept char/block device entries */
};

enum temper_oci_entry_type {
    TEMPER_OCI_ENTRY_FILE = 0,
    TEMPER_OCI_ENTRY_DIR,
    TEMPER_OCI_ENTRY_SYMLINK,
    TEMPER_OCI_ENTRY_HARDLINK,  /* link_target = an earlier entry's path */
    TEMPER_OCI_ENTRY_CHAR,
    TEMPER_OCI_ENTRY_BLOCK,
    TEMPER_OCI_ENTRY_FIFO
};

struct temper_oci_xattr {
    const char *name;           /* "security.capability", "user.x" */
    const void *value;
    size_t len;
};

/* One entry; strings borrowed for the duration of the call.  `path` is
 * relative to the image root: a leading "/" or "./" and repeated or trailing
 * slashes are dropped, "." components removed, ".." refused. */
struct temper_oci_entry {
    const char *path;
    enum temper_oci_entry_type type;
    unsigned mode;              /* permission bits (07777) */
    unsigned long uid, gid;
    const char *uname, *gname;  /* NULL: empty */
    long long mtime;            /* seconds; clamped */
    const char *link_target;    /* symlink text or hardlink path */
    unsigned dev_major, dev_minor;
    const struct temper_oci_xattr *xattrs;
    size_t n_xattrs;
};

struct temper_oci_layer; /* opaque: one layer being written */

/* Start a layer blob in layout l (opts may be NULL: gzip, clamp to 0).
 * The functions below record their errors on `st`.  Names (paths, link
 * targets, uname/gname, xattr names) must be valid UTF-8; they are written
 * as UTF-8 whatever the process locale (TEMPER_EINVAL otherwise).  A
 * refused entry (TEMPER_EINVAL) leaves the layer usable; a failure while
 * streaming (TEMPER_EIO) leaves only temper_oci_layer_free(). */
TEMPER_EXPORT int temper_oci_layer_new(struct temper_stage *st, struct temper_oci_layout *l,
                                       const struct temper_oci_layer_opts *opts,
                                       struct temper_oci_layer **out) TEMPER_WARN_UNUSED;
/* A directory, symlink, hardlink, device or FIFO (no content). */
TEMPER_EXPORT int temper_oci_layer_add(struct temper_oci_layer *ly,
                                       const struct temper_oci_entry *e) TEMPER_WARN_UNUSED;
/* A regular file with content from memory. */
TEMPER_EXPORT int temper_oci_layer_add_data(struct temper_oci_layer *ly,
                                            const struct temper_oci_entry *e,
                                            const void *data, size_t len) TEMPER_WARN_UNUSED;
/* A regular file streamed from src (opened with O_NOFOLLOW; must stay the
 * size it had when opened). */
TEMPER_EXPORT int temper_oci_layer_add_file(struct temper_oci_layer *ly,
                                            const struct temper_oci_entry *e,
                                            const char *src) TEMPER_WARN_UNUSED;
/* Whiteout hook for overlays: `path` deleted from lower layers becomes the
 * empty file "<dir>/.wh.<name>"; opaque = true marks directory `path` opaque
 * ("<path>/.wh..wh..opq").  Owner root, mode 0644 (0 for opaque), mtime
 * clamped. */
TEMPER_EXPORT int temper_oci_layer_add_whiteout(struct temper_oci_layer *ly,
                                                const char *path, bool opaque)
    TEMPER_WARN_UNUSED;

/* Callback of temper_oci_layer_add_tree: may rewrite *e (path, mode, owner,
 * mtime, link target; strings it sets must stay valid until it is called
 * again) and returns TEMPER_OCI_TREE_KEEP, TEMPER_OCI_TREE_SKIP (a skipped
 * directory is skipped with everything below it) or a negative rc to stop.
 * `src` is the file on disk, borrowed.  Renaming a directory does not
 * rename what is below it.  The hardening step uses it to drop docs, strip
 * setuid bits, or skip sockets and devices. */
#define TEMPER_OCI_TREE_KEEP 0
#define TEMPER_OCI_TREE_SKIP 1
typedef int (*temper_oci_tree_fn)(void *ctx, struct temper_oci_entry *e, const char *src);

struct temper_oci_tree_opts {
    uint32_t size;              /* sizeof(struct temper_oci_tree_opts) */
    const char *prefix;         /* in-layer path of `dir` ("" or NULL = root) */
    bool keep_owner;            /* uid/gid from disk instead of the values below
                                   (then uname/gname stay empty: no lookups) */
    unsigned long uid, gid;     /* owner of every entry unless keep_owner */
    const char *uname, *gname;  /* NULL: empty */
    bool xattrs;                /* copy extended attributes of files and dirs */
    temper_oci_tree_fn fn;      /* may be NULL */
    void *ctx;
};

/* Add the tree under `dir` (not `dir` itself unless prefix is set, then as
 * a directory named prefix): depth first, each directory's children sorted
 * by name in byte order, a directory before its contents, nothing followed
 * (symlinks are stored as symlinks), files with several links stored once
 * and then as hardlinks to the first path.  Sockets are refused (skip them
 * in fn).  At most 256 levels deep. */
TEMPER_EXPORT int temper_oci_layer_add_tree(struct temper_oci_layer *ly, const char *dir,
                                            const struct temper_oci_tree_opts *opts)
    TEMPER_WARN_UNUSED;

/* Finish the tar and the compression, fsync, rename the blob into place.
 * desc (may be NULL) gets media type, digest and size of the compressed
 * blob; diff_id (may be NULL) the sha256 of the uncompressed tar. */
TEMPER_EXPORT int temper_oci_layer_finish(struct temper_oci_layer *ly,
                                          struct temper_oci_descriptor *desc,
                                          char diff_id[TEMPER_DIGEST_STR_LEN])
    TEMPER_WARN_UNUSED;
/* Abort (when not finished: the temp file is removed) and free. */
TEMPER_EXPORT void temper_oci_layer_free(struct temper_oci_layer *ly);

/* ---- layer extraction ------------------------------------------------------- *
 *
 * Entries are created with *at() calls relative to the root directory; the
 * parent of each entry is resolved inside the root as the container would
 * see it: symlinks met on the way are followed but scoped to the root (an
 * absolute target or ".." never climbs above it, at most 40 links per
 * path), and the final component is never followed (an existing file,
 * symlink or non-directory there is replaced, not written through).  Entry
 * names that are absolute or contain ".." are refused, as are hardlink
 * targets that are; device nodes are refused unless allowed.  The first
 * refusal stops the extraction with TEMPER_EFORMAT and
 * "layer <name>: entry '<path>': <reason>".  Nothing is ever created outside
 * the root.  Symlinks are created as the layer has them (an absolute target
 * means "inside the image"): code that reads the extracted root must
 * resolve them inside it as well.  Modes are applied (setuid/setgid dropped
 * on request),
 * ownership only with `chown` (needs privileges), mtimes always; extended
 * attributes are not restored. */
struct temper_oci_extract_opts {
    uint32_t size;              /* sizeof(struct temper_oci_extract_opts) */
    const char *name;           /* layer name in messages (NULL: the path) */
    bool allow_devices;         /* create char/block devices */
    bool strip_setuid;          /* drop S_ISUID and S_ISGID */
    bool chown;                 /* apply the tar uid/gid */
    bool whiteouts;             /* apply OCI whiteouts against the root's
                                   existing content instead of extracting
                                   the .wh. files */
    unsigned long long max_bytes;   /* uncompressed content; 0 = 64 GiB */
    unsigned long long max_entries; /* 0 = 1000000 */
    /* Appended (package builders): called for every entry once its name
     * passed the checks above and before it is created, with the clean
     * path, type, mode, owner (uid/gid and names as the tar has them),
     * mtime and link target (the symlink text, or a hardlink's target path
     * as written in the tar).
     * Returns TEMPER_OCI_TREE_KEEP, TEMPER_OCI_TREE_SKIP (the entry is not
     * created) or a negative rc that stops the extraction (record the
     * reason with temper_fail()).  Strings are borrowed for the call.  The
     * rules above still apply to kept entries: the callback can only drop
     * entries, never allow one.  NULL: keep everything. */
    int (*fn)(void *ctx, const struct temper_oci_entry *e);
    void *ctx;
};

TEMPER_EXPORT int temper_oci_layer_extract(struct temper_stage *st, const char *blob,
                                           const char *root,
                                           const struct temper_oci_extract_opts *opts)
    TEMPER_WARN_UNUSED;

/* ---- copying images between layouts (appended) ---------------------------- */

/* Copy the image d points to (a manifest or index, with every manifest,
 * config and layer below it) from src into dst; index.json of dst is not
 * touched (tag afterwards).  Children are stored before what points at
 * them.  A blob dst already has with the right content is kept.  Otherwise
 * the source blob is opened with O_NOFOLLOW (it must be a regular file of
 * the descriptor's size) and, when `link` is true and both layouts are on
 * one file system, that very inode is hard-linked into dst and checked
 * against the digest; else it is copied through a blob writer that checks
 * the digest.  Missing blobs give TEMPER_ENOTFOUND, a wrong digest
 * TEMPER_ECRYPTO. */
TEMPER_EXPORT int temper_oci_image_copy(struct temper_stage *st,
                                        const struct temper_oci_layout *src,
                                        struct temper_oci_layout *dst,
                                        const struct temper_oci_descriptor *d, bool link)
    TEMPER_WARN_UNUSED;
/* The descriptor of the manifest or index `digest` in l: a copy of its
 * index.json entry (without the ref.name annotation) when it has one, else
 * built from the blob (size, and the mediaType the JSON declares).
 * *out is cleaned up first.  TEMPER_ENOTFOUND when l has no such blob. */
TEMPER_EXPORT int temper_oci_layout_describe(struct temper_stage *st,
                                             const struct temper_oci_layout *l,
                                             const char *digest,
                                             struct temper_oci_descriptor *out)
    TEMPER_WARN_UNUSED;

/* ---- oci: references (appended) ------------------------------------------ */

/* Flags of temper_oci_layout_open_ref(). */
#define TEMPER_OCI_REF_LATEST 0x1u /* no :TAG nor @DIGEST means tag "latest" */
/* Cap on DIR in a reference. */
#define TEMPER_OCI_REF_PATH_MAX 4096

/* Open the layout a reference "oci:DIR", "oci:DIR:TAG" or
 * "oci:DIR@sha256:HEX" names and resolve it to a descriptor.  The selector
 * is looked for after DIR's last '/' (so DIR may hold ':' in earlier
 * components): '@' and a valid digest, else the last ':' and a tag
 * (temper_oci_ref_valid).  DIR must not be empty; it is a path the
 * operator wrote (a config or the command line), so ".." is allowed, as
 * it was before the parsers were merged.  Resolution:
 *  - :TAG  the index.json entry whose ref.name is TAG;
 *  - @DIGEST  the index.json entry with that digest, else a manifest or
 *    index blob of the layout (temper_oci_layout_describe);
 *  - nothing  "latest" with TEMPER_OCI_REF_LATEST; else the only image of
 *    index.json, cosign .sig/.att objects left aside (several images:
 *    TEMPER_EINVAL, "name one").
 * *l gets the open layout (temper_oci_layout_free), *out a copy of the
 * descriptor (temper_oci_descriptor_cleanup).  Errors, each recorded with
 * temper_fail() naming ref, *l NULL and *out zeroed: TEMPER_EINVAL for a
 * malformed reference or unknown flags, TEMPER_ENOTFOUND for a tag or
 * digest the layout does not have, and what temper_oci_layout_open gives. */
TEMPER_EXPORT int temper_oci_layout_open_ref(struct temper_stage *st, const char *ref,
                                             unsigned flags, struct temper_oci_layout **l,
                                             struct temper_oci_descriptor *out)
    TEMPER_WARN_UNUSED;

/* Whether a media type names an image index (OCI index or Docker manifest
 * list), or a single image manifest (OCI or Docker schema 2); NULL: false. */
TEMPER_EXPORT bool temper_oci_is_index_type(const char *media_type);
TEMPER_EXPORT bool temper_oci_is_manifest_type(const char *media_type);

#ifdef __cplusplus
}
#endif
#endif

/* temper — builder_apk internals, shared by the plugin's source files (and
 * by its unit tests, which compile those files directly).
 *
 * The build of one platform runs these steps, each in its own file:
 *   apk_fetch.c    APKINDEX per repository (signature checked with `keys`),
 *                  then every package of the plan: download into the cache,
 *                  C: checksum (SHA-1 of the control member) and datahash
 *                  (SHA-256 of the data member) checked
 *   apk_resolve.c  the package closure of the image's world (D:, p:, so:,
 *                  cmd:, versions, conflicts) and its install order
 *   apk_data.c     every data member read once to check and record each
 *                  entry (no traversal, no devices, hardlinks inside the
 *                  package, per-file SHA-1), file conflicts between packages,
 *                  then extraction with the SDK's safe extractor
 *   apk_db.c       /lib/apk/db/installed, /etc/apk/world, repositories, keys
 *   apk_image.c    hardening, the layer (owners and modes from the packages),
 *                  the image config and manifest */
#ifndef TEMPER_BUILDER_APK_INT_H
#define TEMPER_BUILDER_APK_INT_H

#include <temper/temper.h>
#include <temper/pkgindex.h>
#include <temper/harden.h>
#include <stdbool.h>
#include <stddef.h>

#define APK_WORLD ((size_t)-1)
#define APK_MAX_PACKAGES 20000      /* packages in one image */
#define APK_MAX_CHAIN 64            /* links shown in an error chain */

struct apk_conf {
    struct temper_strlist repositories;
    struct temper_strlist keys;
    char *arch;
    unsigned long long max_package_size;
    unsigned long long max_index_size;
};

/* [build] section keys of an image definition built by builder_apk: the
 * shared hardening switches (keep_package_manager also keeps /etc/apk). */
struct apk_image_conf {
    struct temper_harden_conf harden;
};

/* ---- signing keys -------------------------------------------------------------- */

struct apk_key {
    const char *path;               /* borrowed from the conf */
    const char *name;               /* its file name: what signatures call it */
    char *pem;
    size_t len;
};

struct apk_keys {
    struct apk_key *v;
    size_t n;
};

/* Read every key file (PEM RSA public keys, as in /etc/apk/keys); a key
 * whose file name cannot be a key name ("/" or control bytes) is refused. */
int apk_keys_load(struct temper_stage *st, const struct temper_strlist *paths,
                  struct apk_keys *out);
void apk_keys_cleanup(struct apk_keys *k);

/* ---- repositories ------------------------------------------------------------ */

struct apk_repo {
    char *url;                      /* repository URL, no trailing '/' */
    struct temper_apkindex *idx;    /* its index for the build's arch */
};

/* ---- resolution -------------------------------------------------------------- */

struct apk_pick {
    const struct temper_apkpkg *pkg; /* borrowed from its repository's index */
    size_t repo;                     /* index into the repositories */
    size_t parent;                   /* the pick that needed it, or APK_WORLD */
    char *why;                       /* the dependency it satisfied, as text */
    struct temper_deps *provides;    /* parsed p:, NULL when none */
    struct temper_deps *depends;     /* parsed D:, NULL when none */
};

struct apk_plan {
    struct apk_pick *v;
    size_t n, cap;
    size_t *order;                   /* n indexes into v: dependencies first */
};

/* Resolve `world` (apk dependency strings: "name", "name>=1.2", "so:...",
 * "!name") against the repositories' indexes for `arch`.  Deterministic:
 * a dependency already satisfied by a chosen package stays so; otherwise
 * the candidates are the packages of that name and the packages providing
 * it (with a version when the dependency has a constraint), and the first
 * of them in this order is chosen: the package of that very name, higher
 * provider_priority (k:), higher (provided) version, name, higher package
 * version, repository order.  Conflicts ("!name") exclude candidates and
 * fail when a chosen package matches.  An unsatisfiable dependency fails
 * with the chain that led to it ("world -> a-1 -> b-2 -> c>=3: ...").
 * *out is filled (apk_plan_cleanup) even on error. */
int apk_resolve(struct temper_stage *st, const struct apk_repo *repos, size_t n_repos,
                const char *arch, const struct temper_strlist *world, struct apk_plan *out);
void apk_plan_cleanup(struct apk_plan *p);
/* "world -> a-1 -> b-2" for pick i (or "world" for APK_WORLD) into buf. */
void apk_plan_chain(const struct apk_plan *p, size_t i, char *buf, size_t size);
/* A package name or version fit for a URL and a file name:
 * [A-Za-z0-9._+-], not starting with '.' or '-', at most 255 bytes. */
bool apk_token_ok(const char *s);
/* Room for element n of array v (elem bytes each, at most max elements):
 * returns v or its reallocation (*cap updated), or NULL with *rc set to
 * TEMPER_ENOMEM or TEMPER_ELIMIT (v is then unchanged and still owned). */
void *apk_grow(void *v, size_t *cap, size_t n, size_t elem, size_t max, int *rc);

/* ---- packages being installed --------------------------------------------------- */

enum apk_etype { APK_E_FILE = 0, APK_E_DIR, APK_E_SYMLINK, APK_E_HARDLINK };

struct apk_entry {
    char *path;                     /* clean relative path */
    char *link;                     /* symlink text or hardlink path, else NULL */
    unsigned long uid, gid;
    unsigned long long size;
    long long mtime;                /* from the tar header */
    unsigned mode;                  /* permission bits (07777) */
    enum apk_etype type;
    char csum[32];                  /* "Q1" + base64 SHA-1 (not for directories) */
};

struct apk_unit {
    const struct apk_pick *pick;
    char *url;                      /* where the .apk came from */
    char *file;                     /* the cached .apk */
    char *data;                     /* its data member, copied to the work dir */
    char sha256[TEMPER_SHA256_HEX_LEN + 1]; /* of the .apk file */
    struct apk_entry *e;
    size_t n, cap;
};

/* Path -> the entry that ends up in the image (sorted by path). */
struct apk_owner {
    const char *path;               /* borrowed from the entry */
    size_t unit, entry;
};

struct apk_fs {
    struct apk_owner *v;
    size_t n;
};

/* ---- fetching (apk_fetch.c) ------------------------------------------------------ */

struct apk_fetch {
    struct temper_stage *st;
    const struct apk_conf *conf;
    const struct apk_keys *keys;
    struct temper_http *http;
    const char *cache;              /* cache directory (created) */
    const char *work;               /* scratch directory of this platform */
};

/* Download (or revalidate) each repository's APKINDEX.tar.gz for arch into
 * the cache, load it and check its signature with the configured keys: an
 * unsigned index, a signature by an unknown key or one that does not verify
 * is refused.  repos[i].url must be set; idx is filled. */
int apk_fetch_indexes(struct apk_fetch *f, const char *arch, struct apk_repo *repos,
                      size_t n);
/* Download the plan's packages that are not cached yet (concurrently), then
 * check every one against its index entry and copy its data member out.
 * units[] (n = plan->n, in install order) is filled. */
int apk_fetch_packages(struct apk_fetch *f, const char *arch, const struct apk_repo *repos,
                       const struct apk_plan *plan, struct apk_unit *units);
/* Check one downloaded .apk against its index entry: C: checksum, name and
 * version, datahash; copy the data member to `data_out`, compute the file's
 * sha256 into u->sha256. */
int apk_verify_package(struct temper_stage *st, const struct temper_apkpkg *want,
                       const char *file, const char *data_out, struct apk_unit *u);

/* ---- data members (apk_data.c) ------------------------------------------------- */

/* Read u->data once: every entry checked and recorded in u->e (with the
 * SHA-1 of each file); refused: absolute or ".." paths, paths through a
 * symlink of the same package, devices, FIFOs, sockets, hardlinks that do
 * not name an earlier file of the package, more than max_bytes of content.
 * apk control names at the top (.PKGINFO, .SIGN.*, install scripts) are
 * skipped. */
int apk_data_scan(struct temper_stage *st, struct apk_unit *u, unsigned long long max_bytes);
/* Which entry owns each path; a file of one package overwritten by another
 * is a conflict unless the later one replaces (r:) the earlier or both
 * share an origin.  Directories are shared. */
int apk_fs_build(struct temper_stage *st, const struct apk_unit *units, size_t n,
                 struct apk_fs *fs);
const struct apk_owner *apk_fs_find(const struct apk_fs *fs, const char *path);
void apk_fs_cleanup(struct apk_fs *fs);
/* Extract u->data into root with the SDK's extractor (no devices, nothing
 * outside root, no ownership change). */
int apk_data_extract(struct temper_stage *st, const struct apk_unit *u, const char *root);
void apk_unit_cleanup(struct apk_unit *u);

/* ---- apk database (apk_db.c) ---------------------------------------------------- */

/* Write lib/apk/db/installed under root, and when `manager` is set
 * etc/apk/world, etc/apk/repositories and etc/apk/keys/. */
int apk_db_write(struct temper_stage *st, const char *root, const struct apk_unit *units,
                 size_t n, const struct apk_fs *fs, const struct temper_strlist *world,
                 const struct apk_conf *conf, const struct apk_keys *keys, bool manager);

/* ---- the image (apk_image.c) ---------------------------------------------------- */

struct apk_image_in {
    const struct temper_build_request *req;
    struct temper_harden *h;
    const struct temper_harden_info *info;
    const char *root;               /* the extracted tree */
    const char *platform;           /* "linux/arm64/v8" */
    const struct apk_unit *units;
    size_t n_units;
    const struct apk_fs *fs;
    long long sde;                  /* clamp */
};

/* Harden the root, write the layer (through the hardening tree callback),
 * the config and the manifest into layout l
 * (tagged `ref` when not NULL); *out gets the manifest descriptor (with
 * platform). */
int apk_image_write(struct temper_stage *st, struct temper_oci_layout *l,
                    const struct apk_image_in *in, const char *ref,
                    struct temper_oci_descriptor *out);

/* ---- small helpers (apk_data.c) ---------------------------------------------------- */

/* "Q1" + base64(SHA-1) of data, into out (32 bytes). */
int apk_q1(const unsigned char sha1[20], char out[32]);

#endif

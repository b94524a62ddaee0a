/* temper — builder_deb internals (not installed). */
#ifndef TEMPER_BUILDER_DEB_H
#define TEMPER_BUILDER_DEB_H

#include <temper/temper.h>
#include <temper/harden.h>
#include <temper/pkgindex.h>

#define DEB_VERSION "0.1.0"
#define DEB_MAX_COMPONENTS 16
#define DEB_MAX_PACKAGES 20000

/* [builder "x"] options. */
struct deb_conf {
    char *mirror;
    char *suite;
    struct temper_strlist components;
    char *keyring;
    char *cache_dir;
    bool essential;
    bool allow_unsigned;
    bool check_valid_until;
    bool merged_usr;
    long long parallel;
};

/* The image's [build] keys. */
struct deb_image_conf {
    struct temper_harden_conf harden;
    struct temper_strlist dev_packages;
    int compression;            /* enum temper_oci_compression (gzip, zstd) */
};

struct deb_state {
    const struct deb_conf *conf;
    char *cache;                /* cache root (conf or the stage's cachedir) */
};

/* One resolved package, copied out of the index (all strings owned). */
struct deb_pkg {
    char *name, *version, *arch, *source, *source_version;
    char *filename, *sha256, *maintainer, *multi_arch;
    unsigned long long size;
    char *deb;                  /* path of the verified .deb in the cache */
    char *license;              /* SPDX-ish expression, or NULL */
    char *control;              /* control file of the .deb */
    char *md5sums;              /* md5sums of the .deb, or NULL */
    char *files;                /* "/.\n/usr\n..." as dpkg's info/<pkg>.list */
    long long max_mtime;        /* newest entry of its data tar */
};

struct deb_set {
    struct deb_pkg *v;
    size_t n;
};

/* The archive for one architecture: Release and the Packages tables. */
struct deb_repo {
    struct temper_release *rel;
    struct temper_debindex *idx[DEB_MAX_COMPONENTS];
    size_t n_idx;
    char *dir;                  /* per-mirror cache directory */
    char *base;                 /* mirror URL without trailing '/' */
};

/* What one build works with. */
struct deb_build {
    struct deb_state *s;
    struct temper_stage *st;
    const struct temper_build_request *req;
    const struct deb_image_conf *ic;
    struct temper_http *http;
    const char *platform;       /* "linux/amd64" */
    char arch[32];              /* Debian architecture: "amd64" */
    char goarch[32];            /* OCI: "amd64" */
    char govariant[16];         /* OCI variant: "v7" or "" */
    char dist_id[32];           /* "debian" */
    char *suite;
};

/* deb_repo.c */
int deb_repo_open(struct deb_build *b, struct deb_repo *r);
void deb_repo_free_indexes(struct deb_repo *r);
void deb_repo_cleanup(struct deb_repo *r);

/* deb_resolve.c: the closure of the image's packages, sorted by name. */
int deb_resolve(struct deb_build *b, const struct deb_repo *r, struct deb_set *out);
void deb_set_cleanup(struct deb_set *s);

/* deb_fetch.c: every .deb into the cache, verified (sets pkg->deb). */
int deb_fetch(struct deb_build *b, const struct deb_repo *r, struct deb_set *set);
/* Spawn argv (argv[0] looked up in PATH) with output to `log`; *status is
 * the exit status (-1 when it did not exit normally). */
int deb_spawn(struct temper_stage *st, const char *const *argv, const char *log,
              int *status);

/* deb_install.c: extract into root, write the dpkg database, licenses. */
struct deb_owners;
int deb_install(struct deb_build *b, struct deb_set *set, const char *root,
                struct deb_owners **owners);
void deb_owners_free(struct deb_owners *o);
/* Owner of an in-layer path recorded at extraction (uid/gid != 0). */
int deb_owners_apply(const struct deb_owners *o, struct temper_oci_entry *e);
/* deb_license.c: SPDX expression from a DEP-5 copyright file (new string),
 * NULL when the file is not machine-readable. */
char *deb_license_of(const char *copyright, size_t len);

/* deb_image.c: layer (or the cached one), config and manifest of one
 * platform, tagged `ref` when not NULL; *out gets the manifest descriptor. */
int deb_image(struct deb_build *b, const struct deb_repo *r, struct deb_set *set,
              struct temper_oci_layout *l, const char *ref, struct temper_oci_descriptor *out);

/* deb_cache.c: layers of earlier builds with the same inputs. */
int deb_cache_key(struct deb_build *b, const struct deb_set *set, long long epoch,
                  char key[65]);
int deb_cache_get(struct deb_build *b, const char *key, struct temper_oci_layout *l,
                  struct deb_set *set, struct temper_oci_descriptor *desc, char *diff_id,
                  long long *epoch);
int deb_cache_put(struct deb_build *b, const char *key, struct temper_oci_layout *l,
                  const struct deb_set *set, const struct temper_oci_descriptor *desc,
                  const char *diff_id, long long epoch);

/* small helpers (deb_util.c) */
int deb_mkdirs(struct temper_stage *st, const char *dir);
char *deb_upstream_version(const char *version);
/* The packages of set on the image artifact (URL = mirror + Filename). */
int deb_add_packages(const char *distribution, const struct deb_repo *r,
                     struct temper_artifact *a, const struct deb_set *set);

#endif

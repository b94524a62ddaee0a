/* temper — builder_deb internals (not installed). */
#ifndef TEMPER_BUILDER_DEB_H
#define TEMPER_BUILDER_DEB_H

#include <temper/temper.h>
#include <temper/harden.h>
#include <temper/pkgindex.h>

#define DEB_VERSION "0.1.0"
#define DEB_MAX_COMPONENTS 16
#define DEB_MAX_PACKAGES 20000

struct deb_base;

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
    const struct deb_base *base; /* the base image's packages, or NULL */
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

/* deb_base.c: an image on top of a base image (`base =`).  The base's dpkg
 * database (var/lib/dpkg/status and status.d/ of its layers) says what is
 * installed already: the closure takes those packages as satisfied, a base
 * package is never replaced, and the new layer's var/lib/dpkg/status is the
 * union of the base's stanzas and the new ones. */
struct deb_basepkg {
    char *name, *version, *arch, *source, *source_version, *maintainer;
    char *stanza;               /* the status stanza, "Field: value\n"... */
    struct temper_deps *provides; /* parsed Provides, or NULL */
    size_t seq;                 /* order read: status first, then status.d/ */
};

struct deb_base {
    struct deb_basepkg *v;      /* sorted by name, unique */
    size_t n;
    bool merged_usr;            /* bin, sbin, lib are symlinks into usr/ */
    char *root;                 /* extracted passwd, group (and dpkg files) */
    char *name;                 /* as the definition names it */
    char digest[TEMPER_DIGEST_STR_LEN]; /* the platform's manifest */
    /* builder_deb: the base image of the platform */
    struct temper_oci_layout *l;
    struct temper_oci_descriptor mdesc;
    struct temper_oci_manifest m;
    struct temper_oci_config cfg;
};

/* builder_deb: the base of req->base (or def->base = oci:DIR[:TAG|@digest])
 * for the build's platform, its manifest, config and packages. */
int deb_base_open(struct deb_build *b, struct deb_base *out);
/* The packages of the image (layout l, manifest m); root = scratch dir. */
int deb_base_read(struct deb_build *b, const struct temper_oci_layout *l,
                  const struct temper_oci_manifest *m, struct deb_base *out);
void deb_base_cleanup(struct deb_base *x);
const struct deb_basepkg *deb_base_find(const struct deb_base *x, const char *name);
/* 1: d is met by a base package (or its Provides); 0: not in the base. */
int deb_base_satisfies(const struct deb_base *x, const struct temper_dep *d);
/* The union of the base's status stanzas and the set's, sorted by name. */
int deb_base_status(struct deb_build *b, const struct deb_set *set, struct temper_buf *out);
/* Before unpacking: the base's passwd, group and usr-merge symlinks. */
int deb_base_prepare_root(struct deb_build *b, const char *root);
/* builder_deb: config and manifest on top of the base. */
int deb_base_write(struct deb_build *b, struct temper_oci_layout *l,
                   struct temper_oci_config *cfg, struct temper_oci_map *ann,
                   const struct temper_oci_descriptor *layer, const char *diff_id,
                   const char *ref, struct temper_oci_descriptor *out);
/* The base's packages on the image artifact. */
int deb_base_add_packages(const char *distribution, const struct deb_base *x,
                          struct temper_artifact *a);
/* deb_install.c: a control file as a status stanza, appended to out. */
int deb_stanza(struct temper_buf *out, const char *control);
/* merged_usr option, or a usr-merged base. */
bool deb_merged_usr(const struct deb_build *b);
/* deb_image.c: the new layer (from the cache or unpacked and hardened). */
int deb_layer(struct deb_build *b, const struct deb_repo *r, struct deb_set *set,
              struct temper_oci_layout *l, struct temper_harden *h, long long *epoch,
              struct temper_oci_descriptor *layer, char *diff_id);

/* small helpers (deb_util.c) */
/* "linux/arm/v7" -> b->platform, arch "armhf", goarch, govariant. */
int deb_platform(struct deb_build *b, const char *plat);
/* "debian:bookworm" -> b->dist_id "debian", b->suite "bookworm" (new). */
int deb_distribution(struct deb_build *b);
int deb_mkdirs(struct temper_stage *st, const char *dir);
char *deb_upstream_version(const char *version);
/* The packages of set on the image artifact (URL = mirror + Filename). */
int deb_add_packages(const char *distribution, const struct deb_repo *r,
                     struct temper_artifact *a, const struct deb_set *set);
/* The image's tag: the request's, else the definition's version when it is
 * a valid OCI tag, else "latest". */
const char *deb_choose_ref(const struct temper_build_request *req);
/* The image artifact's attributes: digest and media type of d, platforms
 * ("linux/amd64,linux/arm64"), variant, image, distribution, tag, layout. */
int deb_describe(struct temper_artifact *a, const struct temper_build_request *req,
                 const struct temper_oci_descriptor *d, const char *platforms);

#endif

/* temper — builder_source internals (not installed).
 *
 * builder_source compiles an upstream release tarball inside a sandbox and
 * layers what the recipe installed onto a hardened runtime base.  The build
 * root and the runtime base are assembled from Debian packages by
 * builder_deb's own code: its sources (plugins/builder_deb/deb_*.c) are
 * compiled into this module too (see local.am), so both builders resolve,
 * verify, unpack and harden packages identically without any new public
 * API or any cross-plugin symbol (each module carries its own copy and
 * exports only its descriptor). */
#ifndef TEMPER_BUILDER_SOURCE_H
#define TEMPER_BUILDER_SOURCE_H

#include "../builder_deb/deb.h"
#include "../builder_apk/apk_int.h"
#include <temper/sandbox.h>

#define SOURCE_VERSION "0.1.0"
#define SOURCE_ELF_MAX_NEEDED 256
#define SOURCE_MAX_STEPS 64
#define SOURCE_MAX_PATCHES 64
#define SOURCE_MAX_FILES 100000     /* staged files looked at */

/* [builder "x"] options: builder_deb's, then the sandbox's. */
struct source_conf {
    struct deb_conf deb;
    struct apk_conf apk;            /* repositories, keys: alpine:* images */
    long long timeout;              /* ms, per step */
    unsigned long long max_output;  /* bytes of each stream of a step */
    unsigned long long max_tarball;
    unsigned long long max_unpacked;
    long long max_procs;
    unsigned long long max_memory;
    unsigned long long tmp_size;
    char *github_api;               /* github = O/R: the API base */
    char *github_token_file;
};

/* The image's [build] keys. */
struct source_image_conf {
    struct deb_image_conf deb;      /* hardening, dev_packages, compression */
    char *tarball;                  /* URL template or local path */
    char *github;                   /* OWNER/REPO (instead of tarball) */
    char *tag;                      /* the tag of `github`, {version} expanded */
    char *sha256;
    struct temper_strlist build_depends;
    struct temper_strlist steps;
    struct temper_strlist install;
    struct temper_strlist patches;
};

struct source_state {
    struct deb_state deb;
    const struct source_conf *conf;
    struct apk_conf apk;            /* alpine: conf->apk with its limits set */
    struct apk_keys keys;           /* alpine: the keys that sign the indexes */
    struct temper_strlist apk_urls; /* alpine: repositories, no trailing '/' */
};

/* Alpine builds (distribution alpine:*): builder_apk's code. */
struct source_apk {
    char arch[16];                  /* x86_64, aarch64 */
    struct apk_repo *repos;
    size_t n_repos;
    struct apk_plan plan;           /* the build dependencies */
    struct apk_unit *units;         /* fetched and checked (provenance) */
};

/* One build. */
struct source_build {
    struct temper_stage *st;
    struct source_state *s;
    const struct source_conf *c;
    const struct source_image_conf *ic;
    const struct temper_build_request *req;
    struct temper_http *http;
    const char *platform;
    char arch[32], goarch[32];
    char *work;                     /* <stage workdir>/source */
    char *url;                      /* the tarball's URL (expanded) */
    char *tarball;                  /* its local copy */
    char sha256[65];
    char *srcdir;                   /* work/build, bound on /build */
    char *top;                      /* the tarball's top directory or NULL */
    char *staging;                  /* work/staging, bound on /staging */
    char *root;                     /* the (cached) build root */
    long long epoch;
    struct deb_set bset;            /* build dependencies */
    char *bdeps_base;               /* mirror URL of the build dependencies */
    char **patch_sha;               /* sha256 of each patch */
    struct temper_strlist files;    /* staged paths that go into the image */
    struct temper_strlist needs;    /* runtime packages found from ELF
                                     * (alpine: package names and so:NAME) */
    bool alpine;                    /* the image's distribution is alpine:* */
    struct source_apk apk;
};

/* source_fetch.c: URL, download or copy, sha256 pinned/recorded, safe
 * extraction, patches. */
int source_fetch(struct source_build *b);
/* tpl with {name} and {version} replaced; *out new. */
int source_expand(struct source_build *b, const char *tpl, char **out);
/* source_github.c: `github = OWNER/REPO`: b->url (the API's tarball
 * endpoint of the tag) downloaded into b->tarball. */
int source_github_fetch(struct source_build *b);
int source_extract(struct source_build *b);
/* source_patch.c: apply every patch of the definition to the source tree. */
int source_patch(struct source_build *b);

/* source_root.c: the build root from the build dependencies (cached), and
 * the recipe run in the sandbox. */
int source_root(struct source_build *b);
/* Remove a tree (nothing followed, read-only directories opened first). */
void source_remove_tree(const char *dir);
int source_steps(struct source_build *b);

/* source_apk.c: the same for alpine:* images, from Alpine packages. */
int source_apk_root(struct source_build *b);
/* What `file`'s interpreter (a path) or DT_NEEDED soname needs at run time:
 * the package owning the interpreter in the build root, or so:SONAME. */
int source_apk_need(struct source_build *b, const char *file, const char *what);
int source_apk_image(struct source_build *b, struct temper_oci_layout *l,
                     struct temper_oci_descriptor *base, struct temper_artifact *a);
/* "pkg:apk/alpine/NAME@VERSION?arch=ARCH" for build dependency i, and its URL
 * and sha256 (NULL past the end). */
char *source_apk_input(const struct source_build *b, size_t i, const char **url,
                       const char **sha256);
void source_apk_cleanup(struct source_apk *a);

/* source_elf.c */
struct source_elf {
    bool is_elf;
    char *interp;                   /* PT_INTERP or NULL */
    size_t n_needed;
    char *needed[SOURCE_ELF_MAX_NEEDED];
};
/* Parse an ELF file held in data[0..len).  Not ELF: TEMPER_OK with
 * is_elf false.  TEMPER_EFORMAT (reason in why) for a malformed file. */
int source_elf_parse(const void *data, size_t len, struct source_elf *out, char *why,
                     size_t whylen);
void source_elf_cleanup(struct source_elf *e);

/* source_image.c: the staged files, their runtime packages, the image. */
int source_select(struct source_build *b);
int source_runtime_needs(struct source_build *b);
int source_image(struct source_build *b, struct temper_oci_layout *l, const char *ref,
                 struct temper_oci_descriptor *out, struct temper_artifact *a);

/* builder_source.c */
int source_mkdir(struct source_build *b, const char *dir);
/* Fill a deb_build for this build with `packages` as the image packages. */
void source_deb_ctx(struct source_build *b, struct deb_build *d, struct temper_image_def *def,
                    struct temper_build_request *req, const struct temper_strlist *packages,
                    const char *variant);
void source_strlist_cleanup(struct temper_strlist *l);
int source_strlist_push(struct temper_strlist *l, const char *s);
bool source_strlist_has(const struct temper_strlist *l, const char *s);
/* source_root.c: dist_id and suite of d from the definition and the conf. */
int source_distribution(struct source_build *b, struct deb_build *d);

#endif

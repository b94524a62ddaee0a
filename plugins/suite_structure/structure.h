/* temper — suite_structure internals: the image's file system as its layers
 * declare it (structure_view.c), the declared checks (structure_checks.c)
 * and the hardening policy (structure_harden.c). */
#ifndef TEMPER_STRUCTURE_H
#define TEMPER_STRUCTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <temper/buf.h>
#include <temper/plugin.h>
#include "suite_common.h"

struct archive;
struct archive_entry;

#define SV_NONE ((size_t)-1)
#define SV_MAX_DEPTH 256     /* components of a path */
#define SV_PATH_MAX 4096     /* bytes of a path */
#define SV_MAX_LINKS 40      /* symlinks followed by one lookup */

/* ---- configuration -------------------------------------------------------- */

struct structure_conf {
    bool hardening;
    bool no_setuid;
    bool non_root_user;
    bool no_shell_in_runtime;
    bool no_world_writable;
    bool no_secrets;
    bool secret_scan_binaries;
    struct temper_strlist runtime_variants;
    struct temper_strlist runtime_forbidden;
    struct temper_strlist setuid_allow;
    struct temper_strlist writable_allow;
    struct temper_strlist secret_allow;
    unsigned long long secret_max_file_size;
    long long secret_max_files;
    unsigned long long secret_max_bytes;
    unsigned long long max_content;
    long long max_entries;
};

/* One [test "NAME"] section (see suite_structure.c for the keys). */
enum structure_type { ST_TYPE_ANY = 0, ST_TYPE_FILE, ST_TYPE_DIR, ST_TYPE_SYMLINK };
enum structure_tri { ST_TRI_ANY = 0, ST_TRI_YES, ST_TRI_NO, ST_TRI_TRUE, ST_TRI_FALSE };

struct structure_case {
    char *name;
    char *path;
    bool exists;
    int type;                          /* enum structure_type */
    char *mode;                        /* octal text */
    long long uid, gid;                /* -1 = not checked */
    int executable;                    /* enum structure_tri */
    struct temper_strlist contains;
    struct temper_strlist excludes;
    char *user;
    struct temper_strlist entrypoint;  /* v == NULL: not checked */
    struct temper_strlist cmd;
    struct temper_strlist env;
    char *workdir;
    struct temper_strlist exposed_ports;
    struct temper_strlist labels;
};

/* ---- the view -------------------------------------------------------------- */

enum sv_type { SV_FILE = 0, SV_DIR, SV_SYMLINK, SV_CHAR, SV_BLOCK, SV_FIFO };

struct sv_node {
    char *path;                 /* canonical ("" = root), no leading '/' */
    char *link;                 /* symlink target */
    char *content;              /* pass 2: kept content (SV_KEEP), may be cut */
    size_t content_len;
    bool content_cut;           /* the file is longer than what was kept */
    bool content_read;          /* pass 2 saw the content */
    bool implicit;              /* a parent directory no entry declared */
    bool dead;
    unsigned char type;         /* enum sv_type */
    unsigned mode;              /* permission bits, 07777 */
    unsigned long uid, gid;
    long long size;
    unsigned layer;             /* the layer that wrote it last */
    unsigned data_layer;        /* regular files: where the content is */
    unsigned long long data_seq;
    size_t want;                /* bytes of content pass 2 must read (0: none) */
    bool keep;                  /* keep the content on the node */
    bool scan;                  /* the secret scan asked for it */
    size_t parent, first, next, prev, hnext;
};

struct sv_view;

/* Content of one file for the pass-2 callback: every node that shares it
 * (hardlinks), the first `len` bytes, and whether there is more. */
struct sv_content {
    const size_t *nodes;
    size_t n_nodes;
    const char *data;
    size_t len;
    bool cut;
};
typedef int (*sv_content_fn)(void *ctx, struct sv_view *v, const struct sv_content *c);

struct sv_view {
    struct temper_stage *st;
    struct sv_node *nodes;
    size_t n, cap, live;
    size_t *buckets;
    size_t nbuckets;
    size_t max_nodes;
    char **blobs;               /* verified layer blob paths */
    size_t n_layers;
};

int sv_init(struct sv_view *v, struct temper_stage *st, size_t max_nodes);
void sv_cleanup(struct sv_view *v);
/* Pass 1: every layer's entries, whiteouts applied. */
int sv_load(struct sv_view *v, const struct sc_image *im);
/* Find `path` (absolute or not) as the container sees it: symlinks in the
 * parents followed inside the image, the last one only when `follow`.
 * Returns the node or SV_NONE with *err (ENOENT, ENOTDIR, ELOOP,
 * ENAMETOOLONG). */
size_t sv_lookup(struct sv_view *v, const char *path, bool follow, int *err);
/* Ask pass 2 for (at least) `bytes` of node i's content; keep = store it. */
void sv_want(struct sv_view *v, size_t i, size_t bytes, bool keep);
/* One layer's tar stream (structure_read.c); `name` names it in errors. */
struct sv_reader {
    struct archive *a;
    int fd;
};
int sv_reader_open(struct sv_view *v, size_t layer, struct sv_reader *r);
void sv_reader_close(struct sv_reader *r);
/* Next header: 1 entry, 0 end, negative error. */
int sv_reader_next(struct sv_view *v, struct sv_reader *r, const char *name,
                   struct archive_entry **ae);
/* Pass 2: read the wanted contents; fn (may be NULL) sees each. */
int sv_read(struct sv_view *v, sv_content_fn fn, void *ctx);
/* "/" + canonical path, into buf. */
const char *sv_abs(const struct sv_node *n, char *buf, size_t cap);

/* ---- checks ---------------------------------------------------------------- */

/* Mark what the cases and the policy need from pass 2. */
void structure_checks_want(struct sv_view *v, const struct structure_case *const *cases,
                           size_t n, size_t max_content);
int structure_checks_run(struct temper_stage *st, struct sv_view *v,
                         const struct sc_image *im,
                         const struct structure_case *const *cases, size_t n);

struct harden;
int harden_new(struct temper_stage *st, const struct structure_conf *conf,
               struct harden **out);
void harden_free(struct harden *h);
/* Before pass 2: mark passwd and the files the secret scan reads. */
int harden_want(struct harden *h, struct sv_view *v);
/* The pass-2 callback of the secret scan. */
int harden_scan(void *ctx, struct sv_view *v, const struct sv_content *c);
/* After pass 2: record one case per rule. */
int harden_run(struct harden *h, struct sv_view *v, const struct sc_image *im,
               const struct temper_artifact *art);

#endif

/* temper — builder_overlay: the artifacts' layers on top of the base.
 *
 * An `artifact =` line is `REF [include=GLOB,...] [exclude=GLOB,...]
 * [dest=/DIR]`.  Globs are fnmatch(3) patterns on the absolute in-image
 * path ("/app/bin/x"); a `**` matches across directories (FNM_PATHNAME is
 * not used, so `*` does too).  Layers of an image or of a tar-layer artifact
 * are copied as they are when no filter is set (their digests stay, a
 * registry can mount them); with filters they are extracted through the
 * SDK's safe extractor into a scratch root — dropping what does not match —
 * and written again as one reproducible layer with the owners, modes and
 * times the artifact had.  Layers of other media types (ORAS-style file
 * artifacts) are files named by their org.opencontainers.image.title
 * annotation and placed under `dest`. */
#include "config.h"
#include "overlay_int.h"

#include <errno.h>
#include <fnmatch.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TITLE_ANN "org.opencontainers.image.title"
#define MAX_LAYERS 256

void ov_artifact_cleanup(struct ov_artifact *a)
{
    free(a->ref);
    temper_oci_list_cleanup(&a->include);
    temper_oci_list_cleanup(&a->exclude);
    free(a->dest);
    memset(a, 0, sizeof *a);
}

static int push_globs(struct temper_strlist *l, const char *csv)
{
    char *copy = strdup(csv);
    int rc = copy ? TEMPER_OK : TEMPER_ENOMEM;
    char *save = NULL;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; rc == TEMPER_OK && t;
         t = strtok_r(NULL, ",", &save)) {
        rc = t[0] == '/' ? temper_oci_list_push(l, t) : TEMPER_EINVAL;
    }
    free(copy);
    return rc;
}

int ov_artifact_parse(struct temper_stage *st, const char *line, struct ov_artifact *out)
{
    memset(out, 0, sizeof *out);
    char *copy = strdup(line);
    int rc = copy ? TEMPER_OK : TEMPER_ENOMEM;
    char *save = NULL;
    for (char *t = copy ? strtok_r(copy, " \t", &save) : NULL; rc == TEMPER_OK && t;
         t = strtok_r(NULL, " \t", &save)) {
        if (!out->ref) {
            out->ref = strdup(t);
            rc = out->ref ? TEMPER_OK : TEMPER_ENOMEM;
        } else if (strncmp(t, "include=", 8) == 0) {
            rc = push_globs(&out->include, t + 8);
        } else if (strncmp(t, "exclude=", 8) == 0) {
            rc = push_globs(&out->exclude, t + 8);
        } else if (strncmp(t, "dest=", 5) == 0 && t[5] == '/' && !strstr(t, "/..") &&
                   !out->dest) {
            out->dest = strdup(t + 5);
            rc = out->dest ? TEMPER_OK : TEMPER_ENOMEM;
        } else {
            rc = TEMPER_EINVAL;
        }
    }
    free(copy);
    if (rc == TEMPER_OK && !out->ref) {
        rc = TEMPER_EINVAL;
    }
    if (rc == TEMPER_OK && !out->dest) {
        out->dest = strdup("/");
        rc = out->dest ? TEMPER_OK : TEMPER_ENOMEM;
    }
    if (rc != TEMPER_OK) {
        ov_artifact_cleanup(out);
        return temper_fail(st, rc, "artifact '%s': expected REF [include=/GLOB,...] "
                           "[exclude=/GLOB,...] [dest=/DIR] (globs and dest absolute)", line);
    }
    return rc;
}

int ov_stack_push(struct ov_stack *s, const struct temper_oci_descriptor *d,
                  const char *diff_id, const char *created_by)
{
    if (s->n >= MAX_LAYERS) {
        return TEMPER_ELIMIT;
    }
    struct temper_oci_descriptor *l = realloc(s->layers, (s->n + 1) * sizeof *l);
    if (l) {
        s->layers = l;
    }
    char(*ids)[TEMPER_DIGEST_STR_LEN] = realloc(s->diff_ids, (s->n + 1) * sizeof *ids);
    if (ids) {
        s->diff_ids = ids;
    }
    char **h = realloc(s->history, (s->n + 1) * sizeof *h);
    if (h) {
        s->history = h;
    }
    if (!l || !ids || !h) {
        return TEMPER_ENOMEM;
    }
    memset(&s->layers[s->n], 0, sizeof *l);
    s->history[s->n] = created_by ? strdup(created_by) : NULL;
    snprintf(s->diff_ids[s->n], TEMPER_DIGEST_STR_LEN, "%s", diff_id);
    int rc = temper_oci_descriptor_copy(&s->layers[s->n], d);
    if (rc == TEMPER_OK && created_by && !s->history[s->n]) {
        rc = TEMPER_ENOMEM;
    }
    if (rc != TEMPER_OK) {
        temper_oci_descriptor_cleanup(&s->layers[s->n]);
        free(s->history[s->n]);
        return rc;
    }
    s->n++;
    return TEMPER_OK;
}

void ov_stack_cleanup(struct ov_stack *s)
{
    for (size_t i = 0; i < s->n; i++) {
        temper_oci_descriptor_cleanup(&s->layers[i]);
        free(s->history[i]);
    }
    free(s->layers);
    free(s->diff_ids);
    free(s->history);
    memset(s, 0, sizeof *s);
}

/* ---- filters ------------------------------------------------------------- */

static bool any_match(const struct temper_strlist *globs, const char *path)
{
    for (size_t i = 0; i < globs->n; i++) {
        if (fnmatch(globs->v[i], path, 0) == 0) {
            return true;
        }
    }
    return false;
}

/* `path` is absolute.  Directories are kept (so that kept files have their
 * parents with the artifact's modes) and pruned later when empty. */
static bool wanted(const struct ov_artifact *a, const char *path, bool dir)
{
    if (any_match(&a->exclude, path)) {
        return false;
    }
    return dir || a->include.n == 0 || any_match(&a->include, path);
}

/* What the artifact's tar said about each kept entry, restored when the
 * scratch root is written again (the extraction does not chown). */
struct meta {
    char *path;
    unsigned long uid, gid;
    unsigned mode;
    long long mtime;
};

struct filter_ctx {
    const struct ov_artifact *a;
    struct meta *v;
    size_t n, cap, max;
    char abs[4096];
};

static int meta_cmp(const void *x, const void *y)
{
    return strcmp(((const struct meta *)x)->path, ((const struct meta *)y)->path);
}

static int extract_fn(void *ctx, const struct temper_oci_entry *e)
{
    struct filter_ctx *f = ctx;
    int n = snprintf(f->abs, sizeof f->abs, "/%s", e->path);
    if (n < 0 || (size_t)n >= sizeof f->abs) {
        return TEMPER_OCI_TREE_SKIP;
    }
    if (!wanted(f->a, f->abs, e->type == TEMPER_OCI_ENTRY_DIR)) {
        return TEMPER_OCI_TREE_SKIP;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        struct meta *v = f->n < f->max ? realloc(f->v, cap * sizeof *v) : NULL;
        if (!v) {
            return TEMPER_ELIMIT;
        }
        f->v = v;
        f->cap = cap;
    }
    struct meta *m = &f->v[f->n];
    m->path = strdup(e->path);
    if (!m->path) {
        return TEMPER_ENOMEM;
    }
    m->uid = e->uid;
    m->gid = e->gid;
    m->mode = e->mode;
    m->mtime = e->mtime;
    f->n++;
    return TEMPER_OCI_TREE_KEEP;
}

static int tree_fn(void *ctx, struct temper_oci_entry *e, const char *src)
{
    (void)src;
    struct filter_ctx *f = ctx;
    struct meta key = { .path = (char *)e->path };
    const struct meta *m = f->n ? bsearch(&key, f->v, f->n, sizeof *f->v, meta_cmp) : NULL;
    if (m) {
        e->uid = m->uid;
        e->gid = m->gid;
        e->mtime = m->mtime;
        if (e->type != TEMPER_OCI_ENTRY_SYMLINK) {
            e->mode = m->mode & 07777;
        }
    }
    return TEMPER_OCI_TREE_KEEP;
}

static int rm_fn(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(p) : unlink(p)) == 0 || errno == ENOENT ? 0 : -1;
}

static int prune_fn(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    if (flag == FTW_DP && ftw->level > 0 && rmdir(p) != 0 && errno != ENOTEMPTY &&
        errno != EEXIST) {
        return -1;
    }
    return 0;
}

static void filter_cleanup(struct filter_ctx *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].path);
    }
    free(f->v);
}

/* Extract `blob` with the filters, write what is left as a new layer. */
static int filtered_layer(struct temper_stage *st, const struct ov_conf *c, long long sde,
                          struct temper_oci_layout *dst, const struct ov_src *src,
                          const struct ov_artifact *a, const struct temper_oci_descriptor *d,
                          struct ov_stack *stack)
{
    struct filter_ctx f = { .a = a, .max = (size_t)c->max_entries };
    char *blob = temper_oci_blob_path(src->l, d->digest);
    char *root = temper_strdupf("%s/overlay-XXXXXX", temper_stage_workdir(st));
    int rc = blob && root ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "out of memory");
    if (rc == TEMPER_OK && !mkdtemp(root)) {
        rc = temper_fail(st, TEMPER_EIO, "%s: %s", root, strerror(errno));
        free(root);
        root = NULL;
    }
    if (rc == TEMPER_OK) {
        struct temper_oci_extract_opts xo = {
            .size = sizeof xo, .name = a->ref, .strip_setuid = false,
            .max_bytes = (unsigned long long)c->max_layer_bytes,
            .max_entries = (unsigned long long)c->max_entries, .fn = extract_fn, .ctx = &f,
        };
        rc = temper_oci_layer_extract(st, blob, root, &xo);
    }
    if (rc == TEMPER_OK && nftw(root, prune_fn, 32, FTW_DEPTH | FTW_PHYS) != 0) {
        rc = temper_fail(st, TEMPER_EIO, "%s: pruning empty directories failed", root);
    }
    if (rc == TEMPER_OK) {
        qsort(f.v, f.n, sizeof *f.v, meta_cmp);
        struct temper_oci_layer_opts lo = { .size = sizeof lo, .source_date_epoch = sde };
        struct temper_oci_tree_opts to = { .size = sizeof to, .fn = tree_fn, .ctx = &f };
        struct temper_oci_layer *ly = NULL;
        struct temper_oci_descriptor out;
        char diff_id[TEMPER_DIGEST_STR_LEN];
        memset(&out, 0, sizeof out);
        rc = temper_oci_layer_new(st, dst, &lo, &ly);
        rc = rc == TEMPER_OK ? temper_oci_layer_add_tree(ly, root, &to) : rc;
        rc = rc == TEMPER_OK ? temper_oci_layer_finish(ly, &out, diff_id) : rc;
        temper_oci_layer_free(ly);
        char *why = temper_strdupf("temper builder_overlay: %s (filtered)", a->ref);
        rc = rc == TEMPER_OK ? ov_stack_push(stack, &out, diff_id, why) : rc;
        free(why);
        temper_oci_descriptor_cleanup(&out);
    }
    if (root) {
        nftw(root, rm_fn, 32, FTW_DEPTH | FTW_PHYS);
    }
    filter_cleanup(&f);
    free(root);
    free(blob);
    return rc;
}

/* ---- file artifacts -------------------------------------------------------- */

static int add_parents(struct temper_oci_layer *ly, const char *dest, long long sde)
{
    char path[4096];
    int rc = TEMPER_OK;
    size_t len = strlen(dest);
    for (size_t i = 1; rc == TEMPER_OK && i <= len && len < sizeof path; i++) {
        if (dest[i] == '/' || dest[i] == '\0') {
            memcpy(path, dest, i);
            path[i] = '\0';
            if (i > 1) {
                struct temper_oci_entry e = { .path = path, .type = TEMPER_OCI_ENTRY_DIR,
                                              .mode = 0755, .mtime = sde };
                rc = temper_oci_layer_add(ly, &e);
            }
        }
    }
    return rc;
}

static int file_layer(struct temper_stage *st, long long sde, struct temper_oci_layout *dst,
                      const struct ov_src *src, const struct ov_artifact *a,
                      struct ov_stack *stack)
{
    struct temper_oci_layer_opts lo = { .size = sizeof lo, .source_date_epoch = sde };
    struct temper_oci_layer *ly = NULL;
    int rc = temper_oci_layer_new(st, dst, &lo, &ly);
    size_t kept = 0;
    rc = rc == TEMPER_OK && strcmp(a->dest, "/") != 0 ? add_parents(ly, a->dest, sde) : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < src->m.n_layers; i++) {
        const struct temper_oci_descriptor *d = &src->m.layers[i];
        const char *title = temper_oci_map_get(&d->annotations, TITLE_ANN);
        if (!title || !title[0] || strchr(title, '/') || strcmp(title, ".") == 0 ||
            strcmp(title, "..") == 0) {
            rc = temper_fail(st, TEMPER_EFORMAT, "%s: layer %s has no usable file name (%s "
                             "annotation)", a->ref, d->digest, TITLE_ANN);
            break;
        }
        char *path = temper_strdupf("%s%s%s", a->dest,
                                    a->dest[strlen(a->dest) - 1] == '/' ? "" : "/", title);
        char *blob = temper_oci_blob_path(src->l, d->digest);
        rc = path && blob ? TEMPER_OK : TEMPER_ENOMEM;
        if (rc == TEMPER_OK && wanted(a, path, false)) {
            struct temper_oci_entry e = { .path = path, .type = TEMPER_OCI_ENTRY_FILE,
                                          .mode = 0644, .mtime = sde };
            rc = temper_oci_blob_verify(st, src->l, d);
            rc = rc == TEMPER_OK ? temper_oci_layer_add_file(ly, &e, blob) : rc;
            kept++;
        }
        free(path);
        free(blob);
    }
    struct temper_oci_descriptor out;
    char diff_id[TEMPER_DIGEST_STR_LEN];
    memset(&out, 0, sizeof out);
    rc = rc == TEMPER_OK ? temper_oci_layer_finish(ly, &out, diff_id) : rc;
    temper_oci_layer_free(ly);
    if (rc == TEMPER_OK && kept == 0) {
        rc = temper_fail(st, TEMPER_EINVAL, "%s: the filters leave no file of the artifact",
                         a->ref);
    }
    char *why = temper_strdupf("temper builder_overlay: %s (%zu files in %s)", a->ref, kept,
                               a->dest);
    rc = rc == TEMPER_OK ? ov_stack_push(stack, &out, diff_id, why) : rc;
    free(why);
    temper_oci_descriptor_cleanup(&out);
    return rc;
}

/* ---- one artifact ---------------------------------------------------------- */

int ov_add_artifact(struct temper_stage *st, const struct ov_conf *c, long long sde,
                    struct temper_oci_layout *dst, const struct ov_artifact *a,
                    const char *platform, struct ov_stack *stack)
{
    struct ov_src src;
    int rc = ov_src_open_ref(st, c, a->ref, platform, &src);
    if (rc != TEMPER_OK) {
        return rc;
    }
    bool tar = src.m.n_layers > 0;
    for (size_t i = 0; i < src.m.n_layers; i++) {
        tar = tar && ov_is_tar_layer(src.m.layers[i].media_type);
    }
    if (src.m.n_layers == 0) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: the artifact has no layers", a->ref);
    } else if (!tar) {
        rc = file_layer(st, sde, dst, &src, a, stack);
    }
    bool filtered = a->include.n > 0 || a->exclude.n > 0;
    for (size_t i = 0; tar && rc == TEMPER_OK && i < src.m.n_layers; i++) {
        const struct temper_oci_descriptor *d = &src.m.layers[i];
        if (filtered) {
            rc = filtered_layer(st, c, sde, dst, &src, a, d, stack);
            continue;
        }
        char diff_id[TEMPER_DIGEST_STR_LEN];
        rc = ov_blob_copy(st, &src, dst, d);
        rc = rc == TEMPER_OK ? ov_diff_id(st, &src, d, diff_id) : rc;
        char *why = temper_strdupf("temper builder_overlay: %s", a->ref);
        rc = rc == TEMPER_OK ? ov_stack_push(stack, d, diff_id, why) : rc;
        free(why);
    }
    ov_src_cleanup(&src);
    return rc;
}

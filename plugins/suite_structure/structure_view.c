/* temper — the image's file system as its layers declare it, read from the
 * layer tar streams without extracting anything.
 *
 * Tar headers carry mode, owner and type exactly as the image has them, so
 * this needs no privileges and sees setuid bits and ownership that an
 * unprivileged extraction would lose.  Pass 1 (sv_load) reads every layer's
 * headers, base layer first, into a tree of nodes keyed by canonical path:
 *  - an entry's parent is resolved as the container would see it: symlinks
 *    met on the way are followed inside the image (an absolute target or
 *    ".." never leaves the root), as temper_oci_layer_extract does, so
 *    "lib/x" lands in usr/lib when lib -> usr/lib;
 *  - missing parents are created as implicit directories;
 *  - a later entry replaces an earlier one (a directory over a directory
 *    only updates the metadata and keeps the children);
 *  - OCI whiteouts: "<dir>/.wh.<name>" hides <name> of lower layers and
 *    ".wh..wh..opq" everything of lower layers below <dir>; what this layer
 *    already put there stays;
 *  - hardlinks share the content (and metadata) of their target.
 * Pass 2 (sv_read, structure_read.c) streams the layers again and reads the
 * content of the files the checks asked for.  Caps: entries (max_nodes),
 * path length and depth, symlinks per lookup. */
#include "config.h"
#include "structure.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* ---- nodes and the path hash ------------------------------------------------- */

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

static size_t hfind(const struct sv_view *v, const char *path)
{
    size_t i = v->buckets[fnv(path) & (v->nbuckets - 1)];
    while (i != SV_NONE && strcmp(v->nodes[i].path, path) != 0) {
        i = v->nodes[i].hnext;
    }
    return i;
}

static void hlink(struct sv_view *v, size_t i)
{
    size_t b = fnv(v->nodes[i].path) & (v->nbuckets - 1);
    v->nodes[i].hnext = v->buckets[b];
    v->buckets[b] = i;
}

static void hunlink(struct sv_view *v, size_t i)
{
    size_t *p = &v->buckets[fnv(v->nodes[i].path) & (v->nbuckets - 1)];
    while (*p != SV_NONE && *p != i) {
        p = &v->nodes[*p].hnext;
    }
    if (*p == i) {
        *p = v->nodes[i].hnext;
    }
}

static int rehash(struct sv_view *v, size_t nb)
{
    size_t *b = malloc(nb * sizeof *b);
    if (!b) {
        return TEMPER_ENOMEM;
    }
    for (size_t k = 0; k < nb; k++) {
        b[k] = SV_NONE;
    }
    free(v->buckets);
    v->buckets = b;
    v->nbuckets = nb;
    for (size_t i = 0; i < v->n; i++) {
        if (!v->nodes[i].dead) {
            hlink(v, i);
        }
    }
    return TEMPER_OK;
}

/* A new node (taking `path`, even on error) below `parent`. */
static int node_new(struct sv_view *v, char *path, size_t parent, size_t *out)
{
    int rc = TEMPER_OK;
    if (v->n >= v->max_nodes) {
        rc = temper_fail(v->st, TEMPER_ELIMIT, "image has more than %zu paths (max_entries)",
                         v->max_nodes);
    } else if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 1024;
        struct sv_node *nn = realloc(v->nodes, ncap * sizeof *nn);
        rc = nn ? TEMPER_OK : TEMPER_ENOMEM;
        if (nn) {
            v->nodes = nn;
            v->cap = ncap;
        }
    }
    if (rc == TEMPER_OK && v->live >= v->nbuckets) {
        rc = rehash(v, v->nbuckets * 2);
    }
    if (rc != TEMPER_OK) {
        free(path);
        return rc;
    }
    size_t i = v->n++;
    struct sv_node *n = &v->nodes[i];
    memset(n, 0, sizeof *n);
    n->path = path;
    n->parent = parent;
    n->first = n->next = n->prev = SV_NONE;
    if (parent != SV_NONE) {
        struct sv_node *p = &v->nodes[parent];
        n->next = p->first;
        if (p->first != SV_NONE) {
            v->nodes[p->first].prev = i;
        }
        p->first = i;
    }
    hlink(v, i);
    v->live++;
    *out = i;
    return TEMPER_OK;
}

/* Remove node i and everything below it. */
static void node_remove(struct sv_view *v, size_t i)
{
    while (v->nodes[i].first != SV_NONE) {
        node_remove(v, v->nodes[i].first);
    }
    struct sv_node *n = &v->nodes[i];
    if (n->prev != SV_NONE) {
        v->nodes[n->prev].next = n->next;
    } else if (n->parent != SV_NONE) {
        v->nodes[n->parent].first = n->next;
    }
    if (n->next != SV_NONE) {
        v->nodes[n->next].prev = n->prev;
    }
    hunlink(v, i);
    TEMPER_FREE(n->path);
    TEMPER_FREE(n->link);
    TEMPER_FREE(n->content);
    n->dead = true;
    n->first = n->next = n->prev = SV_NONE;
    v->live--;
}

/* Hide what lower layers (< layer) put at or below node i; keep what this
 * layer added (and the directories leading to it). */
static void prune(struct sv_view *v, size_t i, unsigned layer)
{
    size_t c = v->nodes[i].first;
    while (c != SV_NONE) {
        size_t next = v->nodes[c].next;
        prune(v, c, layer);
        c = next;
    }
    if (i != 0 && v->nodes[i].layer < layer && v->nodes[i].first == SV_NONE) {
        node_remove(v, i);
    }
}

int sv_init(struct sv_view *v, struct temper_stage *st, size_t max_nodes)
{
    memset(v, 0, sizeof *v);
    v->st = st;
    v->max_nodes = max_nodes + 1;
    char *root = strdup("");
    size_t i = 0;
    int rc = root ? rehash(v, 1024) : TEMPER_ENOMEM;
    if (rc != TEMPER_OK) {
        free(root);
        return rc;
    }
    rc = node_new(v, root, SV_NONE, &i);
    if (rc == TEMPER_OK) {
        v->nodes[i].type = SV_DIR;
        v->nodes[i].mode = 0755;
        v->nodes[i].implicit = true;
    }
    return rc;
}

void sv_cleanup(struct sv_view *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->nodes[i].path);
        free(v->nodes[i].link);
        free(v->nodes[i].content);
    }
    for (size_t i = 0; i < v->n_layers; i++) {
        free(v->blobs[i]);
    }
    free(v->blobs);
    free(v->nodes);
    free(v->buckets);
    memset(v, 0, sizeof *v);
}

const char *sv_abs(const struct sv_node *n, char *buf, size_t cap)
{
    if (snprintf(buf, cap, "/%s", n->path) >= (int)cap && cap > 4) {
        memcpy(buf + cap - 4, "...", 4);
    }
    return buf;
}

/* ---- lookups -------------------------------------------------------------- */

struct walk {
    char rest[2 * SV_PATH_MAX];
    size_t pos;
    int links;
};

/* Next component of w->rest into comp; false at the end. */
static bool next_comp(struct walk *w, char *comp, size_t cap, bool *last)
{
    while (w->rest[w->pos] == '/') {
        w->pos++;
    }
    if (!w->rest[w->pos]) {
        return false;
    }
    size_t n = strcspn(w->rest + w->pos, "/");
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(comp, w->rest + w->pos, n);
    comp[n] = '\0';
    w->pos += strcspn(w->rest + w->pos, "/");
    size_t p = w->pos;
    while (w->rest[p] == '/') {
        p++;
    }
    *last = w->rest[p] == '\0';
    return true;
}

/* Put a symlink's target in front of what is left. */
static int splice_link(struct walk *w, const char *target)
{
    char tmp[sizeof w->rest];
    if (++w->links > SV_MAX_LINKS) {
        return ELOOP;
    }
    int n = snprintf(tmp, sizeof tmp, "%s/%s", target, w->rest + w->pos);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        return ENAMETOOLONG;
    }
    memcpy(w->rest, tmp, (size_t)n + 1);
    w->pos = 0;
    return 0;
}

static char *join(const char *dir, const char *name)
{
    return *dir ? temper_strdupf("%s/%s", dir, name) : strdup(name);
}

/* Too long or too deep for a new node (keeps the recursions bounded). */
static bool too_long(const char *p)
{
    size_t slashes = 0, n = 0;
    for (; p[n]; n++) {
        slashes += p[n] == '/';
    }
    return n >= SV_PATH_MAX || slashes >= SV_MAX_DEPTH;
}

/* One step from directory `cur` to child `comp`, creating it when asked. */
static int step(struct sv_view *v, size_t cur, const char *comp, bool create,
                unsigned layer, size_t *out)
{
    char *p = join(v->nodes[cur].path, comp);
    if (!p) {
        return ENOMEM;
    }
    size_t i = hfind(v, p);
    if (i != SV_NONE && v->nodes[i].type != SV_DIR && v->nodes[i].type != SV_SYMLINK &&
        create) {
        node_remove(v, i); /* a file where a directory must be: replaced */
        i = SV_NONE;
    }
    if (i == SV_NONE && create) {
        if (too_long(p)) {
            free(p);
            return ENAMETOOLONG;
        }
        if (node_new(v, p, cur, &i) != TEMPER_OK) {
            return ENOMEM;
        }
        struct sv_node *n = &v->nodes[i];
        n->type = SV_DIR;
        n->mode = 0755;
        n->implicit = true;
        n->layer = layer;
        *out = i;
        return 0;
    }
    free(p);
    *out = i;
    return i == SV_NONE ? ENOENT : 0;
}

/* Resolve path through the view (see sv_lookup); with `create`, missing
 * directories are made (all components are directories then). */
static int walk_path(struct sv_view *v, const char *path, bool follow, bool create,
                     unsigned layer, size_t *out)
{
    struct walk w = { .pos = 0, .links = 0 };
    char comp[SV_PATH_MAX];
    bool last = false;
    size_t cur = 0;
    int depth = 0;
    if (snprintf(w.rest, sizeof w.rest, "%s", path) >= (int)sizeof w.rest) {
        return ENAMETOOLONG;
    }
    while (next_comp(&w, comp, sizeof comp, &last)) {
        if (strcmp(comp, ".") == 0) {
            continue;
        }
        if (strcmp(comp, "..") == 0) {
            cur = cur ? v->nodes[cur].parent : 0;
            continue;
        }
        if (v->nodes[cur].type != SV_DIR) {
            return ENOTDIR;
        }
        if (++depth > SV_MAX_DEPTH) {
            return ENAMETOOLONG;
        }
        size_t i = SV_NONE;
        int e = step(v, cur, comp, create, layer, &i);
        if (e != 0) {
            return e;
        }
        const struct sv_node *n = &v->nodes[i];
        if (n->type == SV_SYMLINK && (!last || follow)) {
            e = splice_link(&w, n->link ? n->link : "");
            if (e != 0) {
                return e;
            }
            cur = n->link && n->link[0] == '/' ? 0 : cur;
            continue;
        }
        cur = i;
    }
    *out = cur;
    return 0;
}

size_t sv_lookup(struct sv_view *v, const char *path, bool follow, int *err)
{
    size_t out = SV_NONE;
    *err = walk_path(v, path, follow, false, 0, &out);
    return *err ? SV_NONE : out;
}

void sv_want(struct sv_view *v, size_t i, size_t bytes, bool keep)
{
    struct sv_node *n = &v->nodes[i];
    if (n->type != SV_FILE) {
        return;
    }
    n->want = bytes > n->want ? bytes : n->want;
    n->keep = n->keep || keep;
}

/* ---- pass 1 --------------------------------------------------------------- */

struct entry {
    unsigned layer;
    unsigned long long seq;
    const char *name;           /* layer name in messages */
    char path[SV_PATH_MAX];     /* clean */
    struct archive_entry *ae;
};

/* Clean an entry name: no leading "/" or "./", no "." or empty components;
 * ".." refused. */
static int clean(const char *raw, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = raw;
    while (*p) {
        while (*p == '/') {
            p++;
        }
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.')) {
            p += n;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            return EINVAL;
        }
        if (o + n + 2 > cap) {
            return ENAMETOOLONG;
        }
        if (o) {
            out[o++] = '/';
        }
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = '\0';
    return 0;
}

static int entry_fail(struct sv_view *v, const struct entry *e, const char *why)
{
    return temper_fail(v->st, TEMPER_EFORMAT, "layer %s: entry '/%s': %s", e->name, e->path,
                       why);
}

static int whiteout(struct sv_view *v, const struct entry *e, const char *dir,
                    const char *base)
{
    size_t d = SV_NONE;
    if (walk_path(v, dir, true, false, 0, &d) != 0 || v->nodes[d].type != SV_DIR) {
        return TEMPER_OK; /* nothing below to hide */
    }
    if (strcmp(base, ".wh..wh..opq") == 0) {
        size_t c = v->nodes[d].first;
        while (c != SV_NONE) {
            size_t next = v->nodes[c].next;
            prune(v, c, e->layer);
            c = next;
        }
        return TEMPER_OK;
    }
    char *p = join(v->nodes[d].path, base + 4);
    if (!p) {
        return TEMPER_ENOMEM;
    }
    size_t i = hfind(v, p);
    free(p);
    if (i != SV_NONE) {
        prune(v, i, e->layer);
    }
    return TEMPER_OK;
}

static unsigned char entry_type(struct archive_entry *ae)
{
    switch (archive_entry_filetype(ae)) {
    case AE_IFDIR: return SV_DIR;
    case AE_IFLNK: return SV_SYMLINK;
    case AE_IFCHR: return SV_CHAR;
    case AE_IFBLK: return SV_BLOCK;
    case AE_IFIFO: return SV_FIFO;
    default: return SV_FILE;
    }
}

/* Fill node i from the entry (or, for a hardlink, from its target). */
static int describe(struct sv_view *v, const struct entry *e, size_t i)
{
    struct sv_node *n = &v->nodes[i];
    const char *hl = archive_entry_hardlink(e->ae);
    n->implicit = false;
    n->layer = e->layer;
    if (hl) {
        char tp[SV_PATH_MAX];
        size_t t = SV_NONE;
        if (clean(hl, tp, sizeof tp) != 0 || walk_path(v, tp, false, false, 0, &t) != 0 ||
            t == i || v->nodes[t].type == SV_DIR) {
            return entry_fail(v, e, "hardlink to a missing or invalid target");
        }
        const struct sv_node *tn = &v->nodes[t];
        n->type = tn->type;
        n->mode = tn->mode;
        n->uid = tn->uid;
        n->gid = tn->gid;
        n->size = tn->size;
        n->data_layer = tn->data_layer;
        n->data_seq = tn->data_seq;
        n->link = tn->link ? strdup(tn->link) : NULL;
        return !tn->link || n->link ? TEMPER_OK : TEMPER_ENOMEM;
    }
    n->type = entry_type(e->ae);
    n->mode = (unsigned)archive_entry_perm(e->ae) & 07777;
    n->uid = (unsigned long)archive_entry_uid(e->ae);
    n->gid = (unsigned long)archive_entry_gid(e->ae);
    n->size = archive_entry_size(e->ae);
    n->data_layer = e->layer;
    n->data_seq = e->seq;
    const char *sl = archive_entry_symlink(e->ae);
    if (n->type == SV_SYMLINK) {
        n->link = strdup(sl ? sl : "");
        return n->link ? TEMPER_OK : TEMPER_ENOMEM;
    }
    return TEMPER_OK;
}

static int insert(struct sv_view *v, const struct entry *e)
{
    char dir[SV_PATH_MAX];
    const char *slash = strrchr(e->path, '/');
    const char *base = slash ? slash + 1 : e->path;
    size_t dl = slash ? (size_t)(slash - e->path) : 0;
    memcpy(dir, e->path, dl);
    dir[dl] = '\0';
    if (!e->path[0]) { /* "./": the root itself */
        if (entry_type(e->ae) == SV_DIR) {
            v->nodes[0].mode = (unsigned)archive_entry_perm(e->ae) & 07777;
            v->nodes[0].uid = (unsigned long)archive_entry_uid(e->ae);
            v->nodes[0].gid = (unsigned long)archive_entry_gid(e->ae);
            v->nodes[0].implicit = false;
        }
        return TEMPER_OK;
    }
    if (strncmp(base, ".wh.", 4) == 0) {
        return whiteout(v, e, dir, base);
    }
    size_t d = SV_NONE;
    int err = walk_path(v, dir, true, true, e->layer, &d);
    if (err != 0) {
        return err == ENOMEM ? TEMPER_ENOMEM : entry_fail(v, e, strerror(err));
    }
    char *p = join(v->nodes[d].path, base);
    if (!p) {
        return TEMPER_ENOMEM;
    }
    if (too_long(p)) {
        free(p);
        return entry_fail(v, e, "path too long or too deep");
    }
    size_t i = hfind(v, p);
    bool dir_over_dir = i != SV_NONE && v->nodes[i].type == SV_DIR &&
                        entry_type(e->ae) == SV_DIR && !archive_entry_hardlink(e->ae);
    if (i != SV_NONE && !dir_over_dir) {
        node_remove(v, i);
        i = SV_NONE;
    }
    if (i == SV_NONE) {
        int rc = node_new(v, p, d, &i);
        if (rc != TEMPER_OK) {
            return rc;
        }
    } else {
        free(p);
    }
    return describe(v, e, i);
}

static int load_layer(struct sv_view *v, unsigned layer, const char *name)
{
    struct sv_reader r = { NULL, -1 };
    struct entry *e = calloc(1, sizeof *e);
    int rc = e ? sv_reader_open(v, layer, &r) : TEMPER_ENOMEM;
    for (unsigned long long seq = 0; rc == TEMPER_OK; seq++) {
        struct archive_entry *ae = NULL;
        int got = sv_reader_next(v, &r, name, &ae);
        if (got <= 0) {
            rc = got;
            break;
        }
        *e = (struct entry){ .layer = layer, .seq = seq, .name = name, .ae = ae };
        const char *raw = archive_entry_pathname(ae);
        int ce = clean(raw ? raw : "", e->path, sizeof e->path);
        if (ce != 0) {
            (void)clean("", e->path, sizeof e->path);
            rc = temper_fail(v->st, TEMPER_EFORMAT, "layer %s: entry '%.200s': %s", name,
                             raw ? raw : "", ce == EINVAL ? "'..' in the path"
                                                          : "path too long");
            break;
        }
        rc = insert(v, e);
    }
    sv_reader_close(&r);
    free(e);
    return rc;
}

int sv_load(struct sv_view *v, const struct sc_image *im)
{
    size_t n = im->manifest.n_layers;
    v->blobs = calloc(n ? n : 1, sizeof *v->blobs);
    if (!v->blobs) {
        return TEMPER_ENOMEM;
    }
    v->n_layers = n;
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = sc_layer_blob(v->st, im, i, &v->blobs[i]);
        rc = rc == TEMPER_OK ? load_layer(v, (unsigned)i, im->manifest.layers[i].digest) : rc;
    }
    return rc;
}


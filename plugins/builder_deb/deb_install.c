/* temper — builder_deb: unpacking the packages into the staging root and
 * writing the dpkg database, the way a distroless image carries it:
 *   var/lib/dpkg/status              every package, sorted by name
 *   var/lib/dpkg/status.d/<pkg>      one stanza per package (+ .md5sums)
 *   var/lib/dpkg/info/<pkg>.list     the files of the package (+ .md5sums)
 * The stanzas are the packages' own control files with "Status: install ok
 * installed" after the Package field.  No maintainer script runs.  Owners
 * other than root are remembered per path (the staging root is written as
 * whoever runs the build) and put back in the layer. */
#include "config.h"
#include "deb.h"
#include <temper/deb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONTROL_MAX (1u << 20)
#define MD5SUMS_MAX (32u << 20)
#define FILES_MAX (64u << 20)
#define COPYRIGHT_MAX (4u << 20)

struct owner {
    char *path;
    unsigned long uid, gid;
    char *uname, *gname;
    size_t seq;
};

struct deb_owners {
    struct owner *v;
    size_t n, cap;
};

struct unpack {
    struct deb_build *b;
    struct deb_pkg *p;
    struct deb_owners *own;
    struct temper_buf files;
    int rc;
};

void deb_owners_free(struct deb_owners *o)
{
    for (size_t i = 0; o && i < o->n; i++) {
        free(o->v[i].path);
        free(o->v[i].uname);
        free(o->v[i].gname);
    }
    if (o) {
        free(o->v);
        free(o);
    }
}

static int owner_add(struct deb_owners *o, const struct temper_oci_entry *e)
{
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 64;
        struct owner *nv = realloc(o->v, nc * sizeof *nv);
        if (!nv) {
            return TEMPER_ENOMEM;
        }
        o->v = nv;
        o->cap = nc;
    }
    struct owner *w = &o->v[o->n];
    memset(w, 0, sizeof *w);
    w->path = strdup(e->path);
    w->uname = e->uname ? strdup(e->uname) : NULL;
    w->gname = e->gname ? strdup(e->gname) : NULL;
    w->uid = e->uid;
    w->gid = e->gid;
    w->seq = o->n++;
    return w->path ? TEMPER_OK : TEMPER_ENOMEM;
}

static int cmp_owner(const void *a, const void *b)
{
    const struct owner *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

int deb_owners_apply(const struct deb_owners *o, struct temper_oci_entry *e)
{
    size_t lo = 0, hi = o ? o->n : 0;
    while (lo < hi) { /* last entry for the path: the package unpacked last */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(o->v[mid].path, e->path) <= 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo > 0 && strcmp(o->v[lo - 1].path, e->path) == 0) {
        const struct owner *w = &o->v[lo - 1];
        e->uid = w->uid;
        e->gid = w->gid;
        e->uname = w->uname;
        e->gname = w->gname;
    }
    return TEMPER_OCI_TREE_KEEP;
}

static const char *const merged_dirs[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32",
                                           NULL };

static int on_entry(void *ctx, const struct temper_oci_entry *e)
{
    struct unpack *u = ctx;
    if (deb_merged_usr(u->b) && e->type == TEMPER_OCI_ENTRY_DIR) {
        for (size_t i = 0; merged_dirs[i]; i++) {
            if (strcmp(e->path, merged_dirs[i]) == 0) {
                return TEMPER_OCI_TREE_SKIP; /* keep the symlink into usr/ */
            }
        }
    }
    int rc = temper_buf_printf(&u->files, "/%s\n", e->path);
    if (rc == TEMPER_OK && (e->uid || e->gid)) {
        rc = owner_add(u->own, e);
    }
    if (e->mtime > u->p->max_mtime) {
        u->p->max_mtime = e->mtime;
    }
    if (rc != TEMPER_OK) {
        u->rc = rc;
        return temper_fail(u->b->st, rc, "%s: %s", u->p->name,
                           rc == TEMPER_ELIMIT ? "too many files" : "out of memory");
    }
    return TEMPER_OCI_TREE_KEEP;
}

/* The .deb must be the package the index names. */
static int check_control(struct deb_build *b, const struct deb_pkg *p, const char *control,
                         size_t len)
{
    struct temper_deb822 *d = NULL;
    const struct temper_deb822_stanza *s = NULL;
    int rc = temper_deb822_open_mem(b->st, p->deb, control, len, NULL, 0, &d);
    rc = rc == TEMPER_OK ? temper_deb822_next(d, &s) : rc;
    if (rc == TEMPER_OK) {
        const struct temper_deb822_field *n = s ? temper_deb822_get(s, "Package") : NULL;
        const struct temper_deb822_field *v = s ? temper_deb822_get(s, "Version") : NULL;
        const struct temper_deb822_field *a = s ? temper_deb822_get(s, "Architecture") : NULL;
        if (!n || !v || !a || strcmp(n->value, p->name) != 0 ||
            strcmp(v->value, p->version) != 0 || strcmp(a->value, p->arch) != 0) {
            rc = temper_fail(b->st, TEMPER_EFORMAT,
                             "%s: the control data is not %s %s %s of the index", p->deb,
                             p->name, p->version, p->arch);
        }
    }
    temper_deb822_free(d);
    return rc;
}

/* Package names become file names: [a-z0-9][a-z0-9+.-]*, arch [a-z0-9-]. */
static bool names_ok(const struct deb_pkg *p)
{
    size_t n = strlen(p->name), a = p->arch ? strlen(p->arch) : 0;
    return n > 0 && n <= 128 && strspn(p->name, "abcdefghijklmnopqrstuvwxyz0123456789+.-") == n &&
           p->name[0] != '.' && p->name[0] != '-' && a > 0 && a <= 32 &&
           strspn(p->arch, "abcdefghijklmnopqrstuvwxyz0123456789-") == a;
}

static int unpack_one(struct deb_build *b, struct deb_pkg *p, const char *root,
                      struct deb_owners *own)
{
    if (!names_ok(p)) {
        return temper_fail(b->st, TEMPER_EFORMAT, "package '%.64s': invalid name or "
                           "architecture in the index", p->name);
    }
    struct unpack u = { .b = b, .p = p, .own = own };
    struct temper_buf control, md5;
    temper_buf_init(&u.files, FILES_MAX);
    temper_buf_init(&control, CONTROL_MAX);
    temper_buf_init(&md5, MD5SUMS_MAX);
    int rc = temper_buf_puts(&u.files, "/.\n");
    struct temper_oci_extract_opts xo = { .size = sizeof xo, .fn = on_entry, .ctx = &u };
    struct temper_deb_extract_opts o = { .size = sizeof o, .extract = &xo,
                                         .control = &control, .md5sums = &md5 };
    rc = rc == TEMPER_OK ? temper_deb_extract(b->st, p->deb, root, &o) : rc;
    if (rc == TEMPER_OK && !control.len) {
        rc = temper_fail(b->st, TEMPER_EFORMAT, "%s: no control file", p->deb);
    }
    rc = rc == TEMPER_OK ? check_control(b, p, control.data, control.len) : rc;
    if (rc == TEMPER_OK) {
        p->control = temper_buf_take(&control, NULL);
        p->md5sums = md5.len ? temper_buf_take(&md5, NULL) : NULL;
        p->files = temper_buf_take(&u.files, NULL);
        rc = p->control && p->files ? TEMPER_OK : TEMPER_ENOMEM;
    }
    temper_buf_cleanup(&u.files);
    temper_buf_cleanup(&control);
    temper_buf_cleanup(&md5);
    return rc;
}

/* The control text as a status stanza, appended to out. */
int deb_stanza(struct temper_buf *out, const char *control)
{
    size_t len = strlen(control);
    while (len > 0 && (control[len - 1] == '\n' || control[len - 1] == ' ')) {
        len--;
    }
    size_t first = strncmp(control, "Package:", 8) == 0 ? strcspn(control, "\n") : 0;
    first = first > len ? len : first;
    int rc = temper_buf_append(out, control, first);
    if (rc == TEMPER_OK) {
        rc = temper_buf_puts(out, first ? "\nStatus: install ok installed"
                                        : "Status: install ok installed\n");
    }
    rc = rc == TEMPER_OK ? temper_buf_append(out, control + first, len - first) : rc;
    return rc == TEMPER_OK ? temper_buf_puts(out, "\n") : rc;
}

static int write_pkg_db(struct deb_build *b, const struct deb_pkg *p, const char *root)
{
    struct temper_buf s;
    temper_buf_init(&s, 2 * CONTROL_MAX);
    bool same = p->multi_arch && strcmp(p->multi_arch, "same") == 0;
    char info[256], sd[256];
    snprintf(info, sizeof info, "var/lib/dpkg/info/%s%s%s", p->name, same ? ":" : "",
             same ? p->arch : "");
    snprintf(sd, sizeof sd, "var/lib/dpkg/status.d/%s", p->name);
    int rc = deb_stanza(&s, p->control);
    rc = rc == TEMPER_OK ? temper_rootfs_write(b->st, root, sd, s.data, s.len, 0644) : rc;
    char path[300];
    if (rc == TEMPER_OK && p->md5sums) {
        snprintf(path, sizeof path, "%s.md5sums", sd);
        rc = temper_rootfs_write(b->st, root, path, p->md5sums, strlen(p->md5sums), 0644);
        snprintf(path, sizeof path, "%s.md5sums", info);
        rc = rc == TEMPER_OK ? temper_rootfs_write(b->st, root, path, p->md5sums,
                                                   strlen(p->md5sums), 0644)
                             : rc;
    }
    if (rc == TEMPER_OK) {
        snprintf(path, sizeof path, "%s.list", info);
        rc = temper_rootfs_write(b->st, root, path, p->files, strlen(p->files), 0644);
    }
    temper_buf_cleanup(&s);
    return rc;
}

static int write_status(struct deb_build *b, const struct deb_set *set, const char *root)
{
    struct temper_buf s;
    temper_buf_init(&s, 0);
    int rc = b->base ? deb_base_status(b, set, &s) : TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && !b->base && i < set->n; i++) {
        rc = i ? temper_buf_puts(&s, "\n") : TEMPER_OK;
        rc = rc == TEMPER_OK ? deb_stanza(&s, set->v[i].control) : rc;
    }
    rc = rc == TEMPER_OK ? temper_rootfs_write(b->st, root, "var/lib/dpkg/status",
                                               s.data ? s.data : "", s.len, 0644)
                         : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < set->n; i++) {
        rc = write_pkg_db(b, &set->v[i], root);
    }
    temper_buf_cleanup(&s);
    return rc;
}

static int licenses(struct deb_build *b, struct deb_set *set, const char *root)
{
    for (size_t i = 0; i < set->n; i++) {
        struct deb_pkg *p = &set->v[i];
        char path[300];
        snprintf(path, sizeof path, "usr/share/doc/%s/copyright", p->name);
        char *text = NULL;
        size_t len = 0;
        int rc = temper_rootfs_read(b->st, root, path, COPYRIGHT_MAX, &text, &len);
        if (rc == TEMPER_OK) {
            p->license = deb_license_of(text, len);
        } else if (rc != TEMPER_ENOTFOUND) {
            return rc;
        }
        free(text);
    }
    return TEMPER_OK;
}

static int merged_usr(struct deb_build *b, const char *root)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && merged_dirs[i]; i++) {
        char dir[64], target[64];
        snprintf(dir, sizeof dir, "usr/%s", merged_dirs[i]);
        snprintf(target, sizeof target, "usr/%s", merged_dirs[i]);
        rc = temper_rootfs_mkdir(b->st, root, dir, 0755);
        rc = rc == TEMPER_OK ? temper_rootfs_symlink(b->st, root, merged_dirs[i], target) : rc;
    }
    return rc;
}

int deb_install(struct deb_build *b, struct deb_set *set, const char *root,
                struct deb_owners **owners)
{
    *owners = calloc(1, sizeof **owners);
    if (!*owners) {
        return temper_fail(b->st, TEMPER_ENOMEM, "out of memory");
    }
    int rc = deb_mkdirs(b->st, root);
    if (rc == TEMPER_OK && deb_merged_usr(b)) {
        rc = merged_usr(b, root);
    }
    if (rc == TEMPER_OK && b->base) {
        rc = deb_base_prepare_root(b, root);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < set->n; i++) {
        if (temper_stage_cancelled(b->st)) {
            return temper_fail(b->st, TEMPER_ECANCEL, "cancelled");
        }
        rc = unpack_one(b, &set->v[i], root, *owners);
    }
    if (rc == TEMPER_OK && (*owners)->n > 1) {
        qsort((*owners)->v, (*owners)->n, sizeof *(*owners)->v, cmp_owner);
    }
    rc = rc == TEMPER_OK ? write_status(b, set, root) : rc;
    rc = rc == TEMPER_OK ? licenses(b, set, root) : rc;
    if (rc == TEMPER_ENOMEM && !temper_stage_error(b->st)) {
        rc = temper_fail(b->st, rc, "out of memory");
    }
    return rc;
}

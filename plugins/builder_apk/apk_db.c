/* temper — builder_apk: apk's own view of the image, so that `apk info` and
 * the scanners that read it (syft, grype, trivy) see the packages.
 *
 * /lib/apk/db/installed is written as apk-tools 2 writes it: one stanza per
 * package (in install order) with the index fields C: P: V: A: S: I: T: U:
 * L: o: m: t: c: k: D: p: i:, then r: (replaces), then the package's files
 * grouped by directory: "F:dir" (with "M:uid:gid:mode" when not 0:0:755),
 * each file as "R:name" (with "a:uid:gid:mode" when not 0:0:644) and
 * "Z:Q1<base64 SHA-1>" (of the content; of the target for symlinks), and a
 * blank line.  Directories are listed by every package that has them; a
 * file only by the package that ends up owning it.  Directories and files
 * are sorted by name, so equal inputs give equal bytes. */
#include "config.h"
#include "apk_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_MAX (1024u * 1024u * 1024u)
#define DIR_BUF 4096

struct db_item {
    const char *dir;                /* dir part of the path (not terminated) */
    size_t dlen;
    const char *base;               /* file name, NULL for the directory itself */
    const struct apk_entry *e;
};

static int item_cmp(const void *pa, const void *pb)
{
    const struct db_item *a = pa, *b = pb;
    size_t n = a->dlen < b->dlen ? a->dlen : b->dlen;
    int c = memcmp(a->dir, b->dir, n);
    if (c == 0 && a->dlen != b->dlen) {
        c = a->dlen < b->dlen ? -1 : 1;
    }
    if (c == 0 && (!a->base || !b->base)) {
        c = (a->base != NULL) - (b->base != NULL); /* the directory first */
    }
    if (c == 0 && !a->base) {
        c = (a->e == NULL) - (b->e == NULL); /* its own entry before implied ones */
    }
    if (c == 0 && a->base && b->base) {
        c = strcmp(a->base, b->base);
    }
    return c;
}

static int header(struct temper_buf *b, const struct temper_apkpkg *p)
{
    int rc = temper_buf_printf(b, "C:%s\nP:%s\nV:%s\n", p->checksum, p->name, p->version);
    const struct {
        char key;
        const char *value;
    } opt[] = { { 'A', p->arch }, { 0, NULL }, { 'T', p->description }, { 'U', p->url },
                { 'L', p->license }, { 'o', p->origin }, { 'm', p->maintainer } };
    for (size_t i = 0; rc == TEMPER_OK && i < sizeof opt / sizeof opt[0]; i++) {
        if (opt[i].key == 0) {
            rc = temper_buf_printf(b, "S:%llu\nI:%llu\n", p->size, p->installed_size);
        } else if (opt[i].value && *opt[i].value) {
            rc = temper_buf_printf(b, "%c:%s\n", opt[i].key, opt[i].value);
        }
    }
    if (rc == TEMPER_OK && p->build_time) {
        rc = temper_buf_printf(b, "t:%lld\n", p->build_time);
    }
    if (rc == TEMPER_OK && p->commit && *p->commit) {
        rc = temper_buf_printf(b, "c:%s\n", p->commit);
    }
    if (rc == TEMPER_OK && p->provider_priority) {
        rc = temper_buf_printf(b, "k:%lld\n", p->provider_priority);
    }
    const struct {
        char key;
        const char *value;
    } rel[] = { { 'D', p->depends }, { 'p', p->provides }, { 'i', p->install_if },
                { 'r', p->replaces } };
    for (size_t i = 0; rc == TEMPER_OK && i < sizeof rel / sizeof rel[0]; i++) {
        if (rel[i].value && *rel[i].value) {
            rc = temper_buf_printf(b, "%c:%s\n", rel[i].key, rel[i].value);
        }
    }
    return rc;
}

static int acl(struct temper_buf *b, char key, const struct apk_entry *e, unsigned def)
{
    if (e->uid == 0 && e->gid == 0 && e->mode == def) {
        return TEMPER_OK;
    }
    return temper_buf_printf(b, "%c:%lu:%lu:%o\n", key, e->uid, e->gid, e->mode);
}

/* The unit's directories and the files it owns, sorted. */
static struct db_item *items_of(const struct apk_unit *u, size_t self, const struct apk_fs *fs,
                                size_t *n)
{
    struct db_item *v = calloc(u->n * 2 + 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; v && i < u->n; i++) {
        const struct apk_entry *e = &u->e[i];
        const char *slash = strrchr(e->path, '/');
        size_t dlen = slash ? (size_t)(slash - e->path) : 0;
        if (e->type == APK_E_DIR) {
            v[k++] = (struct db_item){ e->path, strlen(e->path), NULL, e };
            continue;
        }
        const struct apk_owner *o = apk_fs_find(fs, e->path);
        if (!o || o->unit != self || o->entry != i) {
            continue; /* replaced by another package, or a repeated entry */
        }
        if (dlen) { /* the directory of a file is the package's too */
            v[k++] = (struct db_item){ e->path, dlen, NULL, NULL };
        }
        v[k++] = (struct db_item){ e->path, dlen, slash ? slash + 1 : e->path, e };
    }
    if (v) {
        qsort(v, k, sizeof *v, item_cmp);
    }
    *n = k;
    return v;
}

static int files(struct temper_buf *b, const struct apk_unit *u, size_t self,
                 const struct apk_fs *fs)
{
    size_t n = 0;
    struct db_item *v = items_of(u, self, fs, &n);
    if (!v) {
        return TEMPER_ENOMEM;
    }
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        bool new_dir = i == 0 || v[i].dlen != v[i - 1].dlen ||
                       memcmp(v[i].dir, v[i - 1].dir, v[i].dlen) != 0;
        if (!v[i].base) {
            if (new_dir) {
                rc = temper_buf_printf(b, "F:%.*s\n", (int)v[i].dlen, v[i].dir);
            }
            if (rc == TEMPER_OK && v[i].e && new_dir) {
                rc = acl(b, 'M', v[i].e, 0755);
            }
            continue;
        }
        rc = temper_buf_printf(b, "R:%s\n", v[i].base);
        if (rc == TEMPER_OK) {
            rc = acl(b, 'a', v[i].e, 0644); /* symlinks too: apk writes a:0:0:777 */
        }
        if (rc == TEMPER_OK && v[i].e->csum[0]) {
            rc = temper_buf_printf(b, "Z:%s\n", v[i].e->csum);
        }
    }
    free(v);
    return rc;
}

/* Each missing level of dir is made 0755 exactly (whatever the umask; an
 * existing directory or symlink is left as it is), then dir/name (0644);
 * everything is resolved inside the root: a package's symlink cannot lead
 * out of it. */
static int write_in(struct temper_stage *st, const char *root, const char *dir,
                    const char *name, const char *text, size_t len)
{
    char path[DIR_BUF];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        return temper_fail(st, TEMPER_ELIMIT, "apk: name too long: %s", name);
    }
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && dir[i]; i++) {
        if (dir[i + 1] != '/' && dir[i + 1] != '\0') {
            continue;
        }
        char prefix[DIR_BUF];
        snprintf(prefix, sizeof prefix, "%.*s", (int)(i + 1), dir);
        if (temper_rootfs_type(root, prefix) == 0) {
            rc = temper_rootfs_mkdir(st, root, prefix, 0755);
        }
    }
    return rc == TEMPER_OK ? temper_rootfs_write(st, root, path, text, len, 0644) : rc;
}

static int installed(struct temper_stage *st, const char *root, const struct apk_unit *units,
                     size_t n, const struct apk_fs *fs)
{
    struct temper_buf b;
    temper_buf_init(&b, DB_MAX);
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = header(&b, units[i].pick->pkg);
        if (rc == TEMPER_OK) {
            rc = files(&b, &units[i], i, fs);
        }
        if (rc == TEMPER_OK) {
            rc = temper_buf_puts(&b, "\n");
        }
    }
    if (rc != TEMPER_OK) {
        rc = temper_fail(st, rc, "apk: cannot build the installed database: %s",
                         temper_rc_str(rc));
    } else {
        rc = write_in(st, root, "lib/apk/db", "installed", b.data ? b.data : "", b.len);
    }
    temper_buf_cleanup(&b);
    return rc;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lines of a list (sorted and unique when `sort`). */
static int list_file(struct temper_stage *st, const char *root, const char *name,
                     const struct temper_strlist *l, bool sort)
{
    char **v = calloc(l->n + 1, sizeof *v);
    struct temper_buf b;
    temper_buf_init(&b, DB_MAX);
    if (!v) {
        return temper_fail(st, TEMPER_ENOMEM, "apk: out of memory");
    }
    memcpy(v, l->v, l->n * sizeof *v);
    if (sort) {
        qsort(v, l->n, sizeof *v, cmp_cstr);
    }
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < l->n; i++) {
        if (!sort || i == 0 || strcmp(v[i], v[i - 1]) != 0) {
            rc = temper_buf_printf(&b, "%s\n", v[i]);
        }
    }
    rc = rc == TEMPER_OK ? write_in(st, root, "etc/apk", name, b.data ? b.data : "", b.len)
                         : temper_fail(st, rc, "apk: cannot write etc/apk/%s", name);
    temper_buf_cleanup(&b);
    free(v);
    return rc;
}

static int copy_keys(struct temper_stage *st, const char *root, const struct apk_keys *keys)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < keys->n; i++) {
        rc = write_in(st, root, "etc/apk/keys", keys->v[i].name, keys->v[i].pem,
                      keys->v[i].len);
    }
    return rc;
}

int apk_db_write(struct temper_stage *st, const char *root, const struct apk_unit *units,
                 size_t n, const struct apk_fs *fs, const struct temper_strlist *world,
                 const struct apk_conf *conf, const struct apk_keys *keys, bool manager)
{
    int rc = installed(st, root, units, n, fs);
    if (rc == TEMPER_OK && manager) {
        rc = list_file(st, root, "world", world, true);
    }
    if (rc == TEMPER_OK && manager) {
        rc = list_file(st, root, "repositories", &conf->repositories, false);
    }
    if (rc == TEMPER_OK && manager) {
        rc = copy_keys(st, root, keys);
    }
    return rc;
}

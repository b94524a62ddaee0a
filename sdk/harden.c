/* temper — hardening rules: the layer-tree callback and the image config
 * (include/temper/harden.h). */
#include "config.h"
#include "harden_int.h"
#include <temper/buf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const shell_names[] = {
    "sh", "bash", "dash", "rbash", "ash", "busybox", "zsh", "ksh", "ksh93", "mksh",
    "csh", "tcsh", "fish", NULL,
};
static const char *const pm_names[] = { "apt", "dpkg", "aptitude", "apk", NULL };
static const char *const pm_prefixes[] = { "apt-", "dpkg-", NULL };
static const char *const bin_dirs[] = { "bin", "sbin", "usr/bin", "usr/sbin", NULL };
static const char *const doc_dirs[] = {
    "usr/share/man", "usr/share/info", "usr/share/doc-base", "usr/share/gtk-doc", NULL,
};

void temper_harden_conf_default(struct temper_harden_conf *c)
{
    static char vendor[] = "temper";
    memset(c, 0, sizeof *c);
    c->nonroot_user = true;
    c->strip_setuid = true;
    c->fix_world_writable = true;
    c->os_release = true;
    c->vendor = vendor;
}

int temper_harden_new(struct temper_stage *st, const struct temper_harden_conf *conf,
                      const char *variant, struct temper_harden **out)
{
    *out = NULL;
    if (variant && strcmp(variant, "runtime") != 0 && strcmp(variant, "dev") != 0) {
        return temper_fail(st, TEMPER_EINVAL, "hardening: unknown variant '%s'", variant);
    }
    struct temper_harden *h = calloc(1, sizeof *h);
    if (!h) {
        return temper_fail(st, TEMPER_ENOMEM, "hardening: out of memory");
    }
    h->st = st;
    if (conf) {
        h->c = *conf;
    } else {
        temper_harden_conf_default(&h->c);
    }
    h->dev = variant && strcmp(variant, "dev") == 0;
    *out = h;
    return TEMPER_OK;
}

void temper_harden_free(struct temper_harden *h)
{
    free(h);
}

void temper_harden_stats(const struct temper_harden *h, struct temper_harden_stats *out)
{
    if (h) {
        *out = h->stats;
    } else {
        memset(out, 0, sizeof *out);
    }
}

/* p is dir itself (*rest = "") or below it (*rest = what follows "dir/"). */
static bool under(const char *p, const char *dir, const char **rest)
{
    size_t n = strlen(dir);
    if (strncmp(p, dir, n) != 0 || (p[n] != '\0' && p[n] != '/')) {
        return false;
    }
    *rest = p[n] ? p + n + 1 : p + n;
    return true;
}

static bool in_list(const char *name, const char *const *list)
{
    for (size_t i = 0; list[i]; i++) {
        if (strcmp(name, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* The file name when p is directly in one of the bin directories. */
static const char *bin_name(const char *p)
{
    for (size_t i = 0; bin_dirs[i]; i++) {
        const char *rest = NULL;
        if (under(p, bin_dirs[i], &rest) && *rest && !strchr(rest, '/')) {
            return rest;
        }
    }
    return NULL;
}

static bool is_pm(const char *name)
{
    if (in_list(name, pm_names)) {
        return true;
    }
    for (size_t i = 0; pm_prefixes[i]; i++) {
        if (strncmp(name, pm_prefixes[i], strlen(pm_prefixes[i])) == 0) {
            return true;
        }
    }
    return false;
}

/* usr/share/doc: keep the directory, each package's directory (or symlink)
 * and its copyright file. */
static bool drop_doc(const struct temper_oci_entry *e)
{
    const char *rest = NULL;
    if (under(e->path, "usr/share/doc", &rest)) {
        if (!*rest) {
            return false;
        }
        const char *slash = strchr(rest, '/');
        if (!slash) {
            return e->type != TEMPER_OCI_ENTRY_DIR && e->type != TEMPER_OCI_ENTRY_SYMLINK;
        }
        return strcmp(slash + 1, "copyright") != 0;
    }
    for (size_t i = 0; doc_dirs[i]; i++) {
        if (under(e->path, doc_dirs[i], &rest)) {
            return true;
        }
    }
    return false;
}

static bool drop_locale(const struct temper_oci_entry *e)
{
    const char *rest = NULL;
    if (under(e->path, "usr/share/locale", &rest)) {
        return *rest && strcmp(rest, "locale.alias") != 0;
    }
    if (under(e->path, "usr/lib/locale", &rest)) {
        const char *r2 = NULL;
        return *rest && !under(rest, "C.utf8", &r2) && !under(rest, "C.UTF-8", &r2);
    }
    return false;
}

/* Which rule drops the entry: 0 none, else the counter to bump. */
static size_t *drop_rule(struct temper_harden *h, const struct temper_oci_entry *e)
{
    if (!h->c.keep_docs && drop_doc(e)) {
        return &h->stats.docs;
    }
    if (!h->c.keep_locales && drop_locale(e)) {
        return &h->stats.locales;
    }
    const char *name = e->type == TEMPER_OCI_ENTRY_DIR ? NULL : bin_name(e->path);
    if (name && !h->dev && !h->c.keep_shell && in_list(name, shell_names)) {
        return &h->stats.shells;
    }
    if (name && !h->dev && !h->c.keep_package_manager && is_pm(name)) {
        return &h->stats.package_managers;
    }
    return NULL;
}

int temper_harden_tree(void *ctx, struct temper_oci_entry *e, const char *src)
{
    struct temper_harden *h = ctx;
    if (e->type == TEMPER_OCI_ENTRY_FILE && src) {
        struct stat sb;
        if (lstat(src, &sb) == 0 && S_ISSOCK(sb.st_mode)) {
            h->stats.sockets++;
            return TEMPER_OCI_TREE_SKIP;
        }
    }
    size_t *counter = drop_rule(h, e);
    if (counter) {
        (*counter)++;
        return TEMPER_OCI_TREE_SKIP;
    }
    if (e->type == TEMPER_OCI_ENTRY_SYMLINK || e->type == TEMPER_OCI_ENTRY_HARDLINK) {
        return TEMPER_OCI_TREE_KEEP;
    }
    if (h->c.strip_setuid && (e->mode & 06000u)) {
        e->mode &= ~06000u;
        h->stats.setuid++;
    }
    bool sticky_dir = e->type == TEMPER_OCI_ENTRY_DIR && (e->mode & 01000u);
    if (h->c.fix_world_writable && (e->mode & 0002u) && !sticky_dir) {
        e->mode &= ~0002u;
        h->stats.world_writable++;
    }
    const char *rest = NULL;
    if (h->c.nonroot_user && under(e->path, "home/" TEMPER_HARDEN_USER, &rest)) {
        e->uid = e->gid = TEMPER_HARDEN_UID;
        e->uname = e->gname = TEMPER_HARDEN_USER;
    }
    return TEMPER_OCI_TREE_KEEP;
}

/* ---- config ---------------------------------------------------------------- */

static int set_str(char **dst, const char *v)
{
    char *n = v ? strdup(v) : NULL;
    if (v && !n) {
        return TEMPER_ENOMEM;
    }
    free(*dst);
    *dst = n;
    return TEMPER_OK;
}

static int copy_list(struct temper_strlist *dst, const struct temper_strlist *src)
{
    temper_oci_list_cleanup(dst);
    for (size_t i = 0; src && i < src->n; i++) {
        if (temper_oci_list_push(dst, src->v[i]) != TEMPER_OK) {
            return TEMPER_ENOMEM;
        }
    }
    return TEMPER_OK;
}

static int set_env(struct temper_oci_config *cfg, const struct temper_strlist *env)
{
    bool has_path = false;
    for (size_t i = 0; env && i < env->n; i++) {
        has_path = has_path || strncmp(env->v[i], "PATH=", 5) == 0;
    }
    temper_oci_list_cleanup(&cfg->env);
    if (!has_path && temper_oci_list_push(&cfg->env, DEFAULT_PATH) != TEMPER_OK) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; env && i < env->n; i++) {
        if (temper_oci_list_push(&cfg->env, env->v[i]) != TEMPER_OK) {
            return TEMPER_ENOMEM;
        }
    }
    return TEMPER_OK;
}

/* One label, in both maps; NULL or "" values are left out. */
static int label(struct temper_oci_config *cfg, struct temper_oci_map *ann, const char *key,
                 const char *value)
{
    if (!value || !*value) {
        return TEMPER_OK;
    }
    int rc = temper_oci_map_set(&cfg->labels, key, value);
    if (rc == TEMPER_OK && ann) {
        rc = temper_oci_map_set(ann, key, value);
    }
    return rc;
}

static int labels(struct temper_harden *h, const struct temper_harden_info *info,
                  const char *created, struct temper_oci_config *cfg,
                  struct temper_oci_map *ann)
{
    const struct { const char *key, *value; } l[] = {
        { TEMPER_OCI_ANN_TITLE, info->name },
        { TEMPER_OCI_ANN_VERSION, info->version },
        { TEMPER_OCI_ANN_SOURCE, h->c.source },
        { TEMPER_OCI_ANN_REVISION, h->c.revision },
        { TEMPER_OCI_ANN_CREATED, created },
        { TEMPER_OCI_ANN_BASE_NAME, info->base_name },
        { TEMPER_OCI_ANN_VENDOR, h->c.vendor },
        { TEMPER_OCI_ANN_DESCRIPTION, h->c.description },
        { "dev.temper.image.variant", info->variant },
        { "dev.temper.image.distribution", info->distribution },
    };
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < sizeof l / sizeof l[0]; i++) {
        rc = label(cfg, ann, l[i].key, l[i].value);
    }
    return rc;
}

int temper_harden_config(struct temper_harden *h, const struct temper_image_def *def,
                         const struct temper_harden_info *info, struct temper_oci_config *cfg,
                         struct temper_oci_map *annotations)
{
    if (!h || !def || !info || !cfg) {
        return TEMPER_EINVAL;
    }
    char created[32];
    int rc = temper_oci_time_format(info->created, created);
    if (rc != TEMPER_OK) {
        return temper_fail(h->st, rc, "image %s: invalid creation time %lld", info->name,
                           info->created);
    }
    const char *user = def->user ? def->user : h->c.nonroot_user ? "65532" : NULL;
    rc = set_str(&cfg->created, created);
    rc = rc == TEMPER_OK ? set_str(&cfg->user, user) : rc;
    rc = rc == TEMPER_OK ? set_str(&cfg->working_dir, def->workdir) : rc;
    rc = rc == TEMPER_OK ? set_env(cfg, def->env) : rc;
    rc = rc == TEMPER_OK ? copy_list(&cfg->entrypoint, def->entrypoint) : rc;
    rc = rc == TEMPER_OK ? copy_list(&cfg->cmd, def->cmd) : rc;
    rc = rc == TEMPER_OK ? labels(h, info, created, cfg, annotations) : rc;
    if (rc != TEMPER_OK) {
        return temper_fail(h->st, rc, "image %s: cannot fill the image config: %s",
                           info->name, temper_rc_str(rc));
    }
    return TEMPER_OK;
}

/* temper — the plugin loader (STYLE.md B3).
 *
 * For each module, in this order: find the file in the search path and lstat
 * it (regular files only, no symlinks); open that exact path with
 * lt_dlopenadvise and the `local` hint; look up `temper_plugin`; check the
 * ABI version, the descriptor and ops sizes, that kind and name match the
 * file name, and the option table.  Every refusal is one line. */
#include "config.h"
#include "loader.h"
#include <temper/tracker.h>
#include <temper/guard.h>
#include <temper/builder.h>
#include <temper/suite.h>
#include <temper/attest.h>
#include <temper/signer.h>
#include <temper/publish.h>
#include <temper/store.h>
#include <temper/buf.h>

#include <dirent.h>
#include <errno.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOADER_MAX_DIRS 32
#define LOADER_MAX_MODULES 512
#define LOADER_MAX_OPTIONS 256
#define LOADER_MAX_CONF_SIZE (1u << 20)
#define MODULE_NAME_MAX 128

struct loaded {
    struct temper_module pub;
    struct temper_plugin desc;   /* zero-padded copy */
    void *ops;                   /* zero-padded copy, full current size */
    char *path;
    char *module;
    lt_dlhandle handle;
};

struct temper_loader {
    char *dirs[LOADER_MAX_DIRS];
    size_t n_dirs;
    struct loaded *mods[LOADER_MAX_MODULES];
    size_t n_mods;
    int ltdl_ready;
};

static const size_t ops_sizes[] = {
    0,
    sizeof(struct temper_tracker_ops),
    sizeof(struct temper_guard_ops),
    sizeof(struct temper_builder_ops),
    sizeof(struct temper_suite_ops),
    sizeof(struct temper_attest_ops),
    sizeof(struct temper_signer_ops),
    sizeof(struct temper_publish_ops),
    sizeof(struct temper_store_ops),
};

size_t temper_loader_min_ops_size(enum temper_kind kind)
{
    /* At ABI 1.0 the minimum is the whole table; later minors append. */
    if ((int)kind < 1 || (int)kind > TEMPER_KIND_MAX) {
        return 0;
    }
    return ops_sizes[kind];
}

static char *errf(const char *fmt, ...) TEMPER_PRINTF(1, 2);

static char *errf(const char *fmt, ...)
{
    struct temper_buf b;
    temper_buf_init(&b, 4096);
    va_list ap;
    va_start(ap, fmt);
    int rc = temper_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (rc != TEMPER_OK) {
        temper_buf_cleanup(&b);
        return strdup("out of memory while reporting an error");
    }
    return temper_buf_take(&b, NULL);
}

/* Absolute form of a directory (plugin paths are always absolute). */
static char *absolute_dir(const char *dir)
{
    char *real = realpath(dir, NULL);
    if (real || dir[0] == '/') {
        return real ? real : strdup(dir);
    }
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) {
        return strdup(dir);
    }
    return temper_strdupf("%s/%s", cwd, dir);
}

int temper_loader_new(const char *const *dirs, size_t n, struct temper_loader **out,
                      char **err)
{
    *out = NULL;
    *err = NULL;
    struct temper_loader *l = calloc(1, sizeof *l);
    if (!l) {
        return TEMPER_ENOMEM;
    }
    int rc = TEMPER_OK;
    const char *no_inst = getenv("TEMPER_NO_INSTALLED_PLUGINS");
    int installed = !(no_inst && strcmp(no_inst, "1") == 0);
    if (n + (size_t)installed > LOADER_MAX_DIRS) {
        *err = errf("too many plugin directories (at most %d)", LOADER_MAX_DIRS - 1);
        rc = TEMPER_EINVAL;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        l->dirs[l->n_dirs] = absolute_dir(dirs[i]);
        if (!l->dirs[l->n_dirs]) {
            rc = TEMPER_ENOMEM;
            goto out;
        }
        l->n_dirs++;
    }
    if (installed) {
        l->dirs[l->n_dirs] = strdup(TEMPER_PLUGIN_DIR);
        if (!l->dirs[l->n_dirs]) {
            rc = TEMPER_ENOMEM;
            goto out;
        }
        l->n_dirs++;
    }
    if (lt_dlinit() != 0) {
        *err = errf("cannot initialise libltdl: %s", lt_dlerror());
        rc = TEMPER_EIO;
        goto out;
    }
    l->ltdl_ready = 1;
out:
    if (rc != TEMPER_OK) {
        temper_loader_free(l);
        return rc;
    }
    *out = l;
    return TEMPER_OK;
}

static void loaded_free(struct loaded *m)
{
    if (!m) {
        return;
    }
    if (m->handle) {
        lt_dlclose(m->handle);
    }
    free(m->ops);
    free(m->path);
    free(m->module);
    free(m);
}

void temper_loader_free(struct temper_loader *l)
{
    if (!l) {
        return;
    }
    for (size_t i = 0; i < l->n_mods; i++) {
        loaded_free(l->mods[i]);
    }
    for (size_t i = 0; i < l->n_dirs; i++) {
        free(l->dirs[i]);
    }
    if (l->ltdl_ready) {
        lt_dlexit();
    }
    free(l);
}

static int valid_module_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= MODULE_NAME_MAX) {
        return 0;
    }
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            return 0;
        }
    }
    return 1;
}

/* ---- option table shape ------------------------------------------------ */

static size_t opt_field_size(enum temper_opt_type t, unsigned flags)
{
    if ((flags & TEMPER_OPT_MULTI) && (t == TEMPER_OPT_STR || t == TEMPER_OPT_PATH)) {
        return sizeof(struct temper_strlist);
    }
    switch (t) {
    case TEMPER_OPT_STR:
    case TEMPER_OPT_PATH: return sizeof(char *);
    case TEMPER_OPT_BOOL: return sizeof(bool);
    case TEMPER_OPT_INT:
    case TEMPER_OPT_DURATION: return sizeof(long long);
    case TEMPER_OPT_SIZE: return sizeof(unsigned long long);
    case TEMPER_OPT_ENUM: return sizeof(int);
    case TEMPER_OPT_LIST: return sizeof(struct temper_strlist);
    default: return 0;
    }
}

static int opt_key_ok(const char *key)
{
    static const char *const reserved[] = { TEMPER_OPT_RESERVED_KEYS, NULL };
    if (!key || !(*key >= 'a' && *key <= 'z') || !valid_module_name(key)) {
        return 0;
    }
    for (size_t i = 0; reserved[i]; i++) {
        if (strcmp(reserved[i], key) == 0) {
            return 0;
        }
    }
    return 1;
}

static char *check_one_option(const struct temper_option *o, size_t conf_size)
{
    if (!opt_key_ok(o->key)) {
        return errf("option key '%s' is not lower_snake_case or is reserved",
                    o->key ? o->key : "(null)");
    }
    size_t fs = opt_field_size(o->type, o->flags);
    if (fs == 0) {
        return errf("option '%s' has unknown type %d", o->key, (int)o->type);
    }
    if (o->offset > conf_size || fs > conf_size - o->offset) {
        return errf("option '%s' lies outside conf_size %zu", o->key, conf_size);
    }
    if (o->type == TEMPER_OPT_ENUM && (!o->choices || !o->choices[0])) {
        return errf("enum option '%s' has no choices", o->key);
    }
    if (o->min > o->max) {
        return errf("option '%s' has min > max", o->key);
    }
    if (o->flags & ~(unsigned)(TEMPER_OPT_REQUIRED | TEMPER_OPT_MULTI | TEMPER_OPT_SECRET |
                               TEMPER_OPT_DEPRECATED)) {
        return errf("option '%s' has unknown flags 0x%x", o->key, o->flags);
    }
    if (!o->doc) {
        return errf("option '%s' has no documentation", o->key);
    }
    return NULL;
}

int temper_options_check_table(const struct temper_option *opts, size_t conf_size,
                               char **err)
{
    *err = NULL;
    if (!opts) {
        return TEMPER_OK;
    }
    if (conf_size > LOADER_MAX_CONF_SIZE) {
        *err = errf("conf_size %zu is larger than %u", conf_size, LOADER_MAX_CONF_SIZE);
        return TEMPER_EABI;
    }
    for (size_t i = 0; opts[i].type != TEMPER_OPT_END; i++) {
        if (i == LOADER_MAX_OPTIONS) {
            *err = errf("option table has more than %d entries or no end marker",
                        LOADER_MAX_OPTIONS);
            return TEMPER_EABI;
        }
        *err = check_one_option(&opts[i], conf_size);
        for (size_t j = 0; !*err && j < i; j++) {
            if (strcmp(opts[j].key, opts[i].key) == 0) {
                *err = errf("option '%s' is declared twice", opts[i].key);
            }
        }
        if (*err) {
            return TEMPER_EABI;
        }
    }
    return TEMPER_OK;
}

/* ---- descriptor checks ------------------------------------------------- */

static char *check_descriptor(const struct temper_plugin *d, const char *module)
{
    if (d->abi_major != TEMPER_ABI_MAJOR) {
        return errf("built for plugin ABI %u.%u, this temper has ABI %d.%d "
                    "(major version differs)",
                    d->abi_major, d->abi_minor, TEMPER_ABI_MAJOR, TEMPER_ABI_MINOR);
    }
    if (d->abi_minor > TEMPER_ABI_MINOR) {
        return errf("built for plugin ABI %u.%u, newer than this temper's %d.%d",
                    d->abi_major, d->abi_minor, TEMPER_ABI_MAJOR, TEMPER_ABI_MINOR);
    }
    if (d->desc_size < TEMPER_PLUGIN_DESC_SIZE_1_0) {
        return errf("descriptor is %u bytes, shorter than the %zu of ABI 1.0",
                    d->desc_size, (size_t)TEMPER_PLUGIN_DESC_SIZE_1_0);
    }
    const char *kind = temper_kind_str(d->kind);
    if (!kind) {
        return errf("descriptor has unknown kind %d", (int)d->kind);
    }
    if (!d->name || !valid_module_name(d->name)) {
        return errf("descriptor has no valid name ([a-z0-9_]+)");
    }
    size_t kl = strlen(kind);
    if (strncmp(module, kind, kl) != 0 || module[kl] != '_' ||
        strcmp(module + kl + 1, d->name) != 0) {
        return errf("descriptor says %s '%s', which does not match the file name '%s'",
                    kind, d->name, module);
    }
    if (!d->version || !d->summary) {
        return errf("descriptor has no version or summary");
    }
    if (!d->ops) {
        return errf("descriptor has no operation table");
    }
    if (d->ops_size < temper_loader_min_ops_size(d->kind)) {
        return errf("%s operation table is %u bytes, shorter than the %zu of ABI 1.0",
                    kind, d->ops_size, temper_loader_min_ops_size(d->kind));
    }
    char *err = NULL;
    if (temper_options_check_table(d->options, d->conf_size, &err) != TEMPER_OK) {
        char *e = errf("bad option table: %s", err);
        free(err);
        return e;
    }
    return NULL;
}

/* Copy and check the descriptor of an opened module; takes `h`. */
static int adopt(struct temper_loader *l, lt_dlhandle h, const char *path,
                 const char *module, const struct temper_module **out, char **err)
{
    struct loaded *m = NULL;
    int rc = TEMPER_EABI;
    const struct temper_plugin *d = lt_dlsym(h, "temper_plugin");
    if (!d) {
        *err = errf("plugin %s: missing symbol '%s_LTX_temper_plugin'", path, module);
        goto out;
    }
    char *why = check_descriptor(d, module);
    if (why) {
        *err = errf("plugin %s: %s", path, why);
        free(why);
        goto out;
    }
    rc = TEMPER_ENOMEM;
    m = calloc(1, sizeof *m);
    size_t full = ops_sizes[d->kind];
    if (!m || !(m->ops = calloc(1, full)) || !(m->path = strdup(path)) ||
        !(m->module = strdup(module))) {
        goto out;
    }
    memcpy(&m->desc, d, d->desc_size < sizeof m->desc ? d->desc_size : sizeof m->desc);
    memcpy(m->ops, d->ops, d->ops_size < full ? d->ops_size : full);
    m->desc.ops = m->ops;
    m->handle = h;
    h = NULL;
    m->pub.desc = &m->desc;
    m->pub.path = m->path;
    m->pub.module = m->module;
    l->mods[l->n_mods++] = m;
    *out = &m->pub;
    m = NULL;
    rc = TEMPER_OK;
out:
    if (h) {
        lt_dlclose(h);
    }
    loaded_free(m);
    return rc;
}

static lt_dlhandle open_advised(const char *what, int preload, char **err)
{
    lt_dladvise adv;
    lt_dlhandle h = NULL;
    if (lt_dladvise_init(&adv) != 0) {
        *err = errf("%s: cannot initialise libltdl advice: %s", what, lt_dlerror());
        return NULL;
    }
    /* Not resident: libltdl never frees resident handles (a leak under LSan);
     * temper_loader_free() closes modules after their option tables' users. */
    int bad = lt_dladvise_local(&adv) != 0 ||
              (preload && lt_dladvise_preload(&adv) != 0);
    if (bad) {
        *err = errf("%s: cannot set libltdl advice: %s", what, lt_dlerror());
    } else {
        h = lt_dlopenadvise(what, adv);
        if (!h) {
            const char *e = lt_dlerror();
            *err = errf("plugin %s: cannot open: %s", what, e ? e : "unknown error");
        }
    }
    if (lt_dladvise_destroy(&adv) != 0 && h) {
        lt_dlclose(h);
        h = NULL;
        *err = errf("%s: cannot release libltdl advice", what);
    }
    return h;
}

/* ---- finding modules --------------------------------------------------- */

enum find_result { FOUND, ABSENT, REFUSED };

/* Look for DIR/<m>.la, DIR/<m>.so, DIR/<m>/<m>.la (a build tree). */
static enum find_result find_in_dir(const char *dir, const char *module, char **path,
                                    char **err)
{
    for (int i = 0; i < 3; i++) {
        char *p = i == 0   ? temper_strdupf("%s/%s.la", dir, module)
                  : i == 1 ? temper_strdupf("%s/%s.so", dir, module)
                           : temper_strdupf("%s/%s/%s.la", dir, module, module);
        if (!p) {
            *err = errf("out of memory");
            return REFUSED;
        }
        struct stat sb;
        if (lstat(p, &sb) != 0) {
            free(p);
            continue;
        }
        if (!S_ISREG(sb.st_mode)) {
            *err = errf("plugin %s: not a regular file (%s)", p,
                        S_ISLNK(sb.st_mode) ? "a symbolic link" : "not a file");
            free(p);
            return REFUSED;
        }
        *path = p;
        return FOUND;
    }
    return ABSENT;
}

static const struct temper_module *already(const struct temper_loader *l,
                                           const char *module)
{
    for (size_t i = 0; i < l->n_mods; i++) {
        if (strcmp(l->mods[i]->module, module) == 0) {
            return &l->mods[i]->pub;
        }
    }
    return NULL;
}

/* Try the modules preloaded into the program (dlpreopen builds). */
static int load_preloaded(struct temper_loader *l, const char *module,
                          const struct temper_module **out, char **err)
{
    char *e = NULL;
    lt_dlhandle h = open_advised(module, 1, &e);
    free(e);
    if (!h) {
        return TEMPER_ENOTFOUND;
    }
    return adopt(l, h, "(preloaded)", module, out, err);
}

static int load_module(struct temper_loader *l, const char *module,
                       const struct temper_module **out, char **err)
{
    *out = NULL;
    *err = NULL;
    if (!valid_module_name(module)) {
        *err = errf("invalid plugin name '%s'", module);
        return TEMPER_EINVAL;
    }
    const struct temper_module *m = already(l, module);
    if (m) {
        *out = m;
        return TEMPER_OK;
    }
    if (l->n_mods == LOADER_MAX_MODULES) {
        *err = errf("too many plugins loaded (at most %d)", LOADER_MAX_MODULES);
        return TEMPER_ELIMIT;
    }
    /* explicit directories first, the installed one last */
    size_t n_explicit = l->n_dirs;
    const char *no_inst = getenv("TEMPER_NO_INSTALLED_PLUGINS");
    if (!(no_inst && strcmp(no_inst, "1") == 0) && n_explicit > 0) {
        n_explicit--;
    }
    for (size_t pass = 0; pass < 2; pass++) {
        size_t from = pass == 0 ? 0 : n_explicit;
        size_t to = pass == 0 ? n_explicit : l->n_dirs;
        for (size_t i = from; i < to; i++) {
            char *path = NULL;
            enum find_result fr = find_in_dir(l->dirs[i], module, &path, err);
            if (fr == REFUSED) {
                return TEMPER_EABI;
            }
            if (fr == ABSENT) {
                continue;
            }
            lt_dlhandle h = open_advised(path, 0, err);
            int rc = h ? adopt(l, h, path, module, out, err) : TEMPER_EABI;
            free(path);
            return rc;
        }
        if (pass == 0 && load_preloaded(l, module, out, err) != TEMPER_ENOTFOUND) {
            return *out ? TEMPER_OK : TEMPER_EABI;
        }
    }
    struct temper_buf b;
    temper_buf_init(&b, 8192);
    int rc = temper_buf_printf(&b, "no plugin '%s' in ", module);
    for (size_t i = 0; rc == TEMPER_OK && i < l->n_dirs; i++) {
        rc = temper_buf_printf(&b, "%s%s", i ? ", " : "", l->dirs[i]);
    }
    if (rc == TEMPER_OK && l->n_dirs == 0) {
        rc = temper_buf_puts(&b, "(no plugin directory)");
    }
    *err = rc == TEMPER_OK ? temper_buf_take(&b, NULL) : errf("no plugin '%s'", module);
    temper_buf_cleanup(&b);
    return TEMPER_ENOTFOUND;
}

int temper_loader_load(struct temper_loader *l, enum temper_kind kind, const char *name,
                       const struct temper_module **out, char **err)
{
    const char *k = temper_kind_str(kind);
    *out = NULL;
    *err = NULL;
    if (!k || !name) {
        *err = errf("invalid plugin kind %d", (int)kind);
        return TEMPER_EINVAL;
    }
    char module[MODULE_NAME_MAX];
    int n = snprintf(module, sizeof module, "%s_%s", k, name);
    if (n < 0 || (size_t)n >= sizeof module) {
        *err = errf("plugin name '%s' is too long", name);
        return TEMPER_EINVAL;
    }
    return load_module(l, module, out, err);
}

/* ---- scanning ---------------------------------------------------------- */

struct scan_ctx {
    struct temper_loader *l;
    temper_loader_ok_fn ok;
    temper_loader_bad_fn bad;
    void *ctx;
    char *seen[LOADER_MAX_MODULES];
    size_t n_seen;
};

/* Module name of a directory entry "<kind>_<name>.la|.so", or 0. */
static int module_of(const char *entry, char *out, size_t n)
{
    size_t len = strlen(entry);
    if (len < 4 || len - 3 >= n) {
        return 0;
    }
    const char *ext = entry + len - 3;
    if (strcmp(ext, ".la") != 0 && strcmp(ext, ".so") != 0) {
        return 0;
    }
    memcpy(out, entry, len - 3);
    out[len - 3] = '\0';
    const char *us = strchr(out, '_');
    if (!us || !valid_module_name(out)) {
        return 0;
    }
    char kind[32];
    size_t kl = (size_t)(us - out);
    if (kl >= sizeof kind) {
        return 0;
    }
    memcpy(kind, out, kl);
    kind[kl] = '\0';
    return temper_kind_from_str(kind) != 0;
}

static void scan_one(struct scan_ctx *sc, const char *module)
{
    for (size_t i = 0; i < sc->n_seen; i++) {
        if (strcmp(sc->seen[i], module) == 0) {
            return;
        }
    }
    if (sc->n_seen == LOADER_MAX_MODULES) {
        return;
    }
    sc->seen[sc->n_seen] = strdup(module);
    if (!sc->seen[sc->n_seen]) {
        return;
    }
    sc->n_seen++;
    const struct temper_module *m = NULL;
    char *err = NULL;
    if (load_module(sc->l, module, &m, &err) == TEMPER_OK) {
        if (sc->ok) {
            sc->ok(sc->ctx, m);
        }
    } else if (sc->bad) {
        sc->bad(sc->ctx, module, err ? err : "cannot load");
    }
    free(err);
}

static void scan_dir(struct scan_ctx *sc, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        return;
    }
    struct dirent *de;
    size_t count = 0;
    while ((de = readdir(d)) != NULL && count++ < 4096) {
        char module[MODULE_NAME_MAX];
        if (module_of(de->d_name, module, sizeof module)) {
            scan_one(sc, module);
        } else if (depth == 0 && de->d_name[0] != '.' && strchr(de->d_name, '_')) {
            char *sub = temper_strdupf("%s/%s", dir, de->d_name);
            struct stat sb;
            if (sub && lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode)) {
                scan_dir(sc, sub, 1);
            }
            free(sub);
        }
    }
    closedir(d);
}

/* Module name of a preloaded-symbol list entry ("dir/x.a", "x.la", "x.so"). */
static int preloaded_module(const char *entry, char *out, size_t n)
{
    const char *base = strrchr(entry, '/');
    base = base ? base + 1 : entry;
    size_t len = strlen(base);
    if (module_of(base, out, n)) {
        return 1;
    }
    if (len < 3 || len - 2 >= n || strcmp(base + len - 2, ".a") != 0) {
        return 0;
    }
    memcpy(out, base, len - 2);
    out[len - 2] = '\0';
    return valid_module_name(out) && strchr(out, '_') != NULL;
}

int temper_loader_scan(struct temper_loader *l, temper_loader_ok_fn ok,
                       temper_loader_bad_fn bad, void *ctx)
{
    struct scan_ctx *sc = calloc(1, sizeof *sc);
    if (!sc) {
        return TEMPER_ENOMEM;
    }
    sc->l = l;
    sc->ok = ok;
    sc->bad = bad;
    sc->ctx = ctx;
    for (size_t i = 0; i < l->n_dirs; i++) {
        scan_dir(sc, l->dirs[i], 0);
    }
    /* modules linked into the program (static builds) */
    for (const lt_dlsymlist *sym = lt_preloaded_symbols; sym && sym->name; sym++) {
        char module[MODULE_NAME_MAX];
        if (!sym->address && preloaded_module(sym->name, module, sizeof module)) {
            scan_one(sc, module);
        }
    }
    for (size_t i = 0; i < sc->n_seen; i++) {
        free(sc->seen[i]);
    }
    free(sc);
    return TEMPER_OK;
}

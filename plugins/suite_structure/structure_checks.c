/* temper — suite_structure: the checks an image definition declares in its
 * [test "NAME"] sections (keys: see suite_structure.c).  One case per
 * section; its message lists every property that did not hold. */
#include "config.h"
#include "structure.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = { "anything", "a file", "a directory", "a symlink",
                                          "a character device", "a block device",
                                          "a FIFO" };

/* type_names[0] is "anything"; the node types follow in enum sv_type order. */
static const char *node_type_name(const struct sv_node *n)
{
    return type_names[n->type + 1];
}

static int why_add(struct temper_buf *why, const char *fmt, ...) TEMPER_PRINTF(2, 3);

static int why_add(struct temper_buf *why, const char *fmt, ...)
{
    int rc = why->len ? temper_buf_puts(why, "; ") : TEMPER_OK;
    va_list ap;
    va_start(ap, fmt);
    rc = rc == TEMPER_OK ? temper_buf_vprintf(why, fmt, ap) : rc;
    va_end(ap);
    return rc == TEMPER_ELIMIT ? TEMPER_OK : rc;
}

/* Octal permission bits ("644", "0644", "4755"); -1 when invalid. */
static long parse_mode(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5 || strspn(s, "01234567") != n) {
        return -1;
    }
    long v = strtol(s, NULL, 8);
    return v <= 07777 ? v : -1;
}

void structure_checks_want(struct sv_view *v, const struct structure_case *const *cases,
                           size_t n, size_t max_content)
{
    for (size_t k = 0; k < n; k++) {
        const struct structure_case *c = cases[k];
        int err = 0;
        if (!c->path || (!c->contains.n && !c->excludes.n)) {
            continue;
        }
        size_t i = sv_lookup(v, c->path, true, &err);
        if (i != SV_NONE) {
            sv_want(v, i, max_content, true);
        }
    }
}

/* Content regexes; *status becomes ERROR for what cannot be checked. */
static int check_content(const struct structure_case *c, const struct sv_node *n,
                         struct temper_buf *why, enum temper_case_status *status)
{
    if (n->type != SV_FILE || !n->content_read) {
        *status = TEMPER_CASE_ERROR;
        return why_add(why, "%s is %s: its content cannot be checked", c->path,
                       node_type_name(n));
    }
    if (n->content_cut) {
        *status = TEMPER_CASE_ERROR;
        return why_add(why, "%s is larger than max_content (%zu bytes kept)", c->path,
                       n->content_len);
    }
    struct temper_buf local;
    temper_buf_init(&local, 64 * 1024);
    int rc = sc_patterns(&c->contains, &c->excludes, c->path, n->content, n->content_len,
                         &local);
    if (rc == TEMPER_EINVAL) {
        *status = TEMPER_CASE_ERROR;
        rc = TEMPER_OK;
    }
    if (rc == TEMPER_OK && local.len) {
        rc = why_add(why, "%s", local.data);
    }
    temper_buf_cleanup(&local);
    return rc;
}

static int check_attrs(const struct structure_case *c, const struct sv_node *n,
                       struct temper_buf *why, enum temper_case_status *status)
{
    int rc = TEMPER_OK;
    static const unsigned char want_type[] = { 0, SV_FILE, SV_DIR, SV_SYMLINK };
    if (c->type != ST_TYPE_ANY && n->type != want_type[c->type]) {
        rc = why_add(why, "%s is %s, expected %s", c->path, node_type_name(n),
                     type_names[c->type]);
    }
    if (rc == TEMPER_OK && c->mode) {
        long m = parse_mode(c->mode);
        if (m < 0) {
            *status = TEMPER_CASE_ERROR;
            rc = why_add(why, "mode '%s' is not octal permission bits", c->mode);
        } else if ((long)n->mode != m) {
            rc = why_add(why, "%s has mode %04o, expected %04lo", c->path, n->mode, m);
        }
    }
    if (rc == TEMPER_OK && c->uid >= 0 && (long long)n->uid != c->uid) {
        rc = why_add(why, "%s is owned by uid %lu, expected %lld", c->path, n->uid, c->uid);
    }
    if (rc == TEMPER_OK && c->gid >= 0 && (long long)n->gid != c->gid) {
        rc = why_add(why, "%s has gid %lu, expected %lld", c->path, n->gid, c->gid);
    }
    bool want_x = c->executable == ST_TRI_YES || c->executable == ST_TRI_TRUE;
    if (rc == TEMPER_OK && c->executable != ST_TRI_ANY && ((n->mode & 0111) != 0) != want_x) {
        rc = why_add(why, "%s is %sexecutable", c->path, want_x ? "not " : "");
    }
    return rc;
}

static int check_file(struct sv_view *v, const struct structure_case *c,
                      struct temper_buf *why, enum temper_case_status *status)
{
    int err = 0;
    size_t i = sv_lookup(v, c->path, c->type != ST_TYPE_SYMLINK, &err);
    if (!c->exists) {
        return i == SV_NONE ? TEMPER_OK : why_add(why, "%s exists", c->path);
    }
    if (i == SV_NONE) {
        return why_add(why, "%s does not exist%s%s", c->path, err == ENOENT ? "" : ": ",
                       err == ENOENT ? "" : strerror(err));
    }
    const struct sv_node *n = &v->nodes[i];
    int rc = check_attrs(c, n, why, status);
    if (rc == TEMPER_OK && (c->contains.n || c->excludes.n)) {
        rc = check_content(c, n, why, status);
    }
    return rc;
}

/* ---- metadata --------------------------------------------------------------- */

static int list_text(const struct temper_strlist *l, struct temper_buf *b)
{
    int rc = temper_buf_puts(b, "[");
    for (size_t i = 0; rc == TEMPER_OK && l && i < l->n; i++) {
        rc = temper_buf_printf(b, "%s%s", i ? ", " : "", l->v[i]);
    }
    return rc == TEMPER_OK ? temper_buf_puts(b, "]") : rc;
}

static int check_list(const char *what, const struct temper_strlist *got,
                      const struct temper_strlist *want, struct temper_buf *why)
{
    bool same = got->n == want->n;
    for (size_t i = 0; same && i < want->n; i++) {
        same = strcmp(got->v[i], want->v[i]) == 0;
    }
    if (same) {
        return TEMPER_OK;
    }
    struct temper_buf g, w;
    temper_buf_init(&g, 2048);
    temper_buf_init(&w, 2048);
    (void)list_text(got, &g);
    (void)list_text(want, &w);
    int rc = why_add(why, "%s is %s, expected %s", what, g.data ? g.data : "[...]",
                     w.data ? w.data : "[...]");
    temper_buf_cleanup(&g);
    temper_buf_cleanup(&w);
    return rc;
}

/* The value of KEY in a "KEY=VALUE" list, or NULL. */
static const char *env_get(const struct temper_strlist *env, const char *key, size_t kl)
{
    for (size_t i = 0; i < env->n; i++) {
        if (strncmp(env->v[i], key, kl) == 0 && env->v[i][kl] == '=') {
            return env->v[i] + kl + 1;
        }
    }
    return NULL;
}

/* "KEY=VALUE" (or a bare KEY: only present) checks against a lookup. */
static int check_pairs(const char *what, const struct temper_strlist *want,
                       const struct temper_strlist *env, const struct temper_oci_map *map,
                       struct temper_buf *why)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < want->n; i++) {
        const char *eq = strchr(want->v[i], '=');
        size_t kl = eq ? (size_t)(eq - want->v[i]) : strlen(want->v[i]);
        char *key = strndup(want->v[i], kl);
        if (!key) {
            return TEMPER_ENOMEM;
        }
        const char *got = env ? env_get(env, key, kl) : temper_oci_map_get(map, key);
        if (!got) {
            rc = why_add(why, "%s %s is not set", what, key);
        } else if (eq && strcmp(got, eq + 1) != 0) {
            rc = why_add(why, "%s %s is '%s', expected '%s'", what, key, got, eq + 1);
        }
        free(key);
    }
    return rc;
}

static int check_ports(const struct temper_oci_config *cfg, const struct temper_strlist *want,
                       struct temper_buf *why)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < want->n; i++) {
        const char *p = want->v[i];
        bool found = false;
        size_t pl = strlen(p);
        for (size_t k = 0; !found && k < cfg->exposed_ports.n; k++) {
            const char *e = cfg->exposed_ports.v[k];
            found = strcmp(e, p) == 0 ||
                    (!strchr(p, '/') && strncmp(e, p, pl) == 0 && strcmp(e + pl, "/tcp") == 0);
        }
        rc = found ? TEMPER_OK : why_add(why, "port %s is not exposed", p);
    }
    return rc;
}

static bool has_metadata(const struct structure_case *c)
{
    return c->user || c->entrypoint.v || c->cmd.v || c->env.n || c->workdir ||
           c->exposed_ports.n || c->labels.n;
}

static int check_meta(const struct temper_oci_config *cfg, const struct structure_case *c,
                      struct temper_buf *why)
{
    int rc = TEMPER_OK;
    const char *user = cfg->user ? cfg->user : "";
    if (c->user && strcmp(user, c->user) != 0) {
        rc = why_add(why, "user is '%s', expected '%s'", user, c->user);
    }
    if (rc == TEMPER_OK && c->entrypoint.v) {
        rc = check_list("entrypoint", &cfg->entrypoint, &c->entrypoint, why);
    }
    if (rc == TEMPER_OK && c->cmd.v) {
        rc = check_list("cmd", &cfg->cmd, &c->cmd, why);
    }
    const char *wd = cfg->working_dir && *cfg->working_dir ? cfg->working_dir : "/";
    if (rc == TEMPER_OK && c->workdir && strcmp(wd, *c->workdir ? c->workdir : "/") != 0) {
        rc = why_add(why, "workdir is '%s', expected '%s'", wd, c->workdir);
    }
    rc = rc == TEMPER_OK ? check_pairs("env", &c->env, &cfg->env, NULL, why) : rc;
    rc = rc == TEMPER_OK ? check_pairs("label", &c->labels, NULL, &cfg->labels, why) : rc;
    return rc == TEMPER_OK ? check_ports(cfg, &c->exposed_ports, why) : rc;
}

static int run_one(struct temper_stage *st, struct sv_view *v, const struct sc_image *im,
                   const struct structure_case *c)
{
    long long t0 = sc_now_ms();
    struct temper_buf why, name;
    temper_buf_init(&why, 64 * 1024);
    temper_buf_init(&name, 4096);
    enum temper_case_status status = TEMPER_CASE_PASSED;
    int rc = TEMPER_OK;
    if (c->name) {
        rc = temper_buf_puts(&name, c->name);
    } else {
        rc = c->path ? temper_buf_printf(&name, "file %s", c->path)
                     : temper_buf_puts(&name, "metadata");
    }
    if (!c->path && !has_metadata(c)) {
        status = TEMPER_CASE_ERROR;
        rc = rc == TEMPER_OK ? why_add(&why, "nothing to check: set path or a metadata key")
                             : rc;
    }
    if (rc == TEMPER_OK && c->path) {
        rc = check_file(v, c, &why, &status);
    }
    if (rc == TEMPER_OK && has_metadata(c)) {
        rc = check_meta(&im->config, c, &why);
    }
    if (rc == TEMPER_OK && why.len && status == TEMPER_CASE_PASSED) {
        status = TEMPER_CASE_FAILED;
    }
    if (rc == TEMPER_OK) {
        rc = sc_case(st, "structure", name.data ? name.data : "case", status, t0,
                     why.len ? why.data : NULL, NULL);
    }
    temper_buf_cleanup(&why);
    temper_buf_cleanup(&name);
    return rc;
}

int structure_checks_run(struct temper_stage *st, struct sv_view *v,
                         const struct sc_image *im,
                         const struct structure_case *const *cases, size_t n)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = run_one(st, v, im, cases[i]);
    }
    return rc;
}

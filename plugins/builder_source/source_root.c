/* temper — builder_source: the build root and the recipe.
 *
 * The build root is the closure of build_depends plus the Essential set
 * (builder_deb's "dev" resolution), fetched, verified and unpacked by
 * builder_deb's code.  It is kept in the cache under roots/<key>, key =
 * sha256 of the architecture, merged_usr and every package's name, version
 * and sha256, so equal build dependencies reuse one root: it is built in a
 * temporary directory and renamed into place whole, and the sandbox only
 * ever mounts it read-only.
 *
 * Each step runs as `/bin/sh -c STEP` in the SDK sandbox: uid 0 without
 * any capability, no network (an empty network namespace), the root
 * read-only except /build (the source tree of this run), /staging (this
 * run's staging directory) and a tmpfs /tmp, the time limit of `timeout`,
 * SOURCE_DATE_EPOCH set.  stdout and stderr (capped at max_output) go to
 * <work>/step-N.log; a failing step logs its last lines and fails the
 * build naming the step and its last line of stderr. */
#include "config.h"
#include "source.h"
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAIL_LINES 20

int source_distribution(struct source_build *b, struct deb_build *d)
{
    const char *dist = b->req->def->distribution;
    const char *colon = dist ? strchr(dist, ':') : NULL;
    size_t n = colon ? (size_t)(colon - dist) : 0;
    snprintf(d->dist_id, sizeof d->dist_id, "%.*s", colon ? (int)(n < 31 ? n : 31) : 6,
             colon ? dist : "debian");
    const char *suite = b->c->deb.suite ? b->c->deb.suite : colon ? colon + 1 : NULL;
    if (!suite || !*suite || strchr(suite, '/') || strstr(suite, "..")) {
        return temper_fail(b->st, TEMPER_EINVAL, "image %s: no valid suite (set `suite` or "
                           "distribution = debian:RELEASE)", b->req->def->name);
    }
    d->suite = strdup(suite);
    return d->suite ? TEMPER_OK : TEMPER_ENOMEM;
}

static int root_key(struct source_build *b, char key[65])
{
    struct temper_buf k;
    temper_buf_init(&k, 0);
    int rc = temper_buf_printf(&k, "temper builder_source root 1\n%s\n%d\n", b->arch,
                               b->c->deb.merged_usr ? 1 : 0);
    for (size_t i = 0; rc == TEMPER_OK && i < b->bset.n; i++) {
        const struct deb_pkg *p = &b->bset.v[i];
        rc = temper_buf_printf(&k, "%s %s %s\n", p->name, p->version, p->sha256);
    }
    rc = rc == TEMPER_OK ? temper_sha256_hex(k.data, k.len, key) : rc;
    temper_buf_cleanup(&k);
    return rc;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP) {
        return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
    }
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Directories without write permission (var/empty is 0555) are opened up
 * first: a post-order walk could not empty them. */
static int unlock(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_D && !(sb->st_mode & S_IWUSR)) {
        (void)chmod(path, 0700);
    }
    return 0;
}

void source_remove_tree(const char *dir)
{
    struct stat sb;
    if (dir && lstat(dir, &sb) == 0) {
        (void)nftw(dir, unlock, 32, FTW_PHYS);
        (void)nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
    }
}

/* Unpack the build dependencies into tmp and make the mount points. */
static int make_root(struct source_build *b, struct deb_build *d, const struct deb_repo *r,
                     const char *tmp)
{
    struct deb_owners *own = NULL;
    source_remove_tree(tmp);
    int rc = deb_fetch(d, r, &b->bset);
    rc = rc == TEMPER_OK ? deb_install(d, &b->bset, tmp, &own) : rc;
    deb_owners_free(own);
    static const char *const dirs[] = { "build", "staging", "tmp", "proc", "dev", NULL };
    for (size_t i = 0; rc == TEMPER_OK && dirs[i]; i++) {
        rc = temper_rootfs_mkdir(b->st, tmp, dirs[i], strcmp(dirs[i], "tmp") ? 0755 : 01777);
    }
    if (rc == TEMPER_OK && temper_rootfs_type(tmp, "bin/sh") == 0) {
        rc = temper_fail(b->st, TEMPER_EINVAL, "image %s: the build root has no /bin/sh",
                         b->req->def->name);
    }
    return rc;
}

int source_root(struct source_build *b)
{
    struct deb_build d;
    struct temper_image_def def;
    struct temper_build_request req;
    struct deb_repo r;
    memset(&r, 0, sizeof r);
    source_deb_ctx(b, &d, &def, &req, &b->ic->build_depends, "dev");
    char key[65];
    char *tmp = NULL;
    int rc = source_distribution(b, &d);
    rc = rc == TEMPER_OK ? deb_repo_open(&d, &r) : rc;
    rc = rc == TEMPER_OK ? deb_resolve(&d, &r, &b->bset) : rc;
    deb_repo_free_indexes(&r);
    rc = rc == TEMPER_OK ? root_key(b, key) : rc;
    if (rc == TEMPER_OK) {
        b->bdeps_base = strdup(r.base);
        b->root = temper_strdupf("%s/roots/%s", b->s->deb.cache, key);
        tmp = temper_strdupf("%s/roots/%s.tmp%ld", b->s->deb.cache, key, (long)getpid());
        rc = b->bdeps_base && b->root && tmp ? TEMPER_OK : TEMPER_ENOMEM;
    }
    struct stat sb;
    if (rc == TEMPER_OK && lstat(b->root, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        TEMPER_LOG_INFO(b->st, "build root %s: %zu packages, from the cache", key, b->bset.n);
    } else if (rc == TEMPER_OK) {
        TEMPER_LOG_INFO(b->st, "build root %s: %zu packages", key, b->bset.n);
        rc = make_root(b, &d, &r, tmp);
        if (rc == TEMPER_OK && rename(tmp, b->root) != 0 && errno != EEXIST &&
            errno != ENOTEMPTY) {
            rc = temper_fail(b->st, TEMPER_EIO, "cannot rename %s: %s", tmp, strerror(errno));
        }
        source_remove_tree(tmp); /* left only when another build won the rename */
    }
    deb_repo_cleanup(&r);
    free(d.suite);
    free(tmp);
    return rc;
}

/* ---- the recipe ------------------------------------------------------------ */

/* The last TAIL_LINES lines of a stream to the log; *last gets the last
 * non-empty line (points into s, cut at its newline in `one`). */
static void log_tail(struct source_build *b, size_t step, const char *name,
                     const struct temper_buf *s, char *one, size_t onelen)
{
    if (!s->len) {
        return;
    }
    size_t start = s->len, lines = 0;
    while (start > 0 && lines <= TAIL_LINES) {
        start--;
        lines += s->data[start] == '\n';
    }
    const char *p = s->data + start + (s->data[start] == '\n');
    const char *end = s->data + s->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        TEMPER_LOG_ERROR(b->st, "step %zu %s: %.*s", step + 1, name, (int)(n > 500 ? 500 : n),
                         p);
        if (n && one) {
            snprintf(one, onelen, "%.*s", (int)(n > 300 ? 300 : n), p);
        }
        p += n + 1;
    }
}

static int save_log(struct source_build *b, size_t i, const struct temper_sandbox_result *res)
{
    char *path = temper_strdupf("%s/step-%zu.log", b->work, i + 1);
    FILE *f = path ? fopen(path, "we") : NULL;
    int rc = f ? TEMPER_OK : temper_fail(b->st, TEMPER_EIO, "cannot write the log of step %zu",
                                         i + 1);
    if (f) {
        bool ok = fwrite(res->out.data ? res->out.data : "", 1, res->out.len, f) == res->out.len;
        ok = ok && fwrite(res->err.data ? res->err.data : "", 1, res->err.len, f) == res->err.len;
        ok = fclose(f) == 0 && ok;
        rc = ok ? rc : temper_fail(b->st, TEMPER_EIO, "cannot write %s", path);
    }
    free(path);
    return rc;
}

static int judge(struct source_build *b, size_t i, const struct temper_sandbox_result *res)
{
    const char *step = b->ic->steps.v[i];
    const char *name = b->req->def->name;
    char last[320] = "";
    switch (res->outcome) {
    case TEMPER_SANDBOX_EXITED:
        if (!res->signal && res->exit_code == 0) {
            return TEMPER_OK;
        }
        log_tail(b, i, "stdout", &res->out, NULL, 0);
        log_tail(b, i, "stderr", &res->err, last, sizeof last);
        if (res->signal) {
            return temper_fail(b->st, TEMPER_EIO, "image %s: step %zu '%s' was killed by "
                               "signal %d: %s", name, i + 1, step, res->signal, last);
        }
        return temper_fail(b->st, TEMPER_EIO, "image %s: step %zu '%s' exited with status %d: "
                           "%s", name, i + 1, step, res->exit_code, last);
    case TEMPER_SANDBOX_SETUP_FAILED:
    case TEMPER_SANDBOX_EXEC_FAILED:
        return temper_fail(b->st, TEMPER_EIO, "image %s: step %zu '%s': sandbox: %s", name,
                           i + 1, step, res->setup);
    case TEMPER_SANDBOX_TIMEOUT:
        return temper_fail(b->st, TEMPER_ETIMEOUT, "image %s: step %zu '%s' timed out after "
                           "%lld ms: every process it started was killed", name, i + 1, step,
                           b->c->timeout);
    case TEMPER_SANDBOX_OUTPUT_CAPPED:
        return temper_fail(b->st, TEMPER_ELIMIT, "image %s: step %zu '%s': %s exceeded "
                           "max_output (%llu bytes): killed", name, i + 1, step, res->capped,
                           b->c->max_output);
    case TEMPER_SANDBOX_CANCELLED:
        return temper_fail(b->st, TEMPER_ECANCEL, "image %s: cancelled during step %zu", name,
                           i + 1);
    }
    return temper_fail(b->st, TEMPER_EINTERNAL, "image %s: step %zu: unknown outcome", name,
                       i + 1);
}

static int run_step(struct source_build *b, size_t i, char *const *envp, const char *workdir)
{
    char *argv[] = { "/bin/sh", "-c", b->ic->steps.v[i], NULL };
    char *paths[] = { "/bin/sh", NULL };
    const char *const writable[] = { "build", "staging", NULL };
    const char *const src[] = { b->srcdir, b->staging, NULL };
    struct temper_sandbox_spec spec = {
        .size = sizeof spec, .root = b->root, .argv = argv, .paths = paths, .envp = envp,
        .workdir = workdir, .uid = 0, .gid = 0, .timeout_ms = b->c->timeout,
        .max_output = (size_t)b->c->max_output, .max_procs = b->c->max_procs,
        .max_file_size = b->c->max_unpacked, .max_memory = b->c->max_memory,
        .max_open_files = 4096, .readonly_root = true, .writable = writable,
        .tmpfs_tmp = b->c->tmp_size, .writable_src = src,
    };
    struct temper_sandbox_result res;
    temper_sandbox_result_init(&res, (size_t)b->c->max_output);
    TEMPER_LOG_INFO(b->st, "step %zu: %s", i + 1, b->ic->steps.v[i]);
    int rc = temper_sandbox_run(b->st, &spec, &res);
    rc = rc == TEMPER_OK ? save_log(b, i, &res) : rc;
    rc = rc == TEMPER_OK ? judge(b, i, &res) : rc;
    temper_sandbox_result_cleanup(&res);
    return rc;
}

int source_steps(struct source_build *b)
{
    struct temper_buf why;
    temper_buf_init(&why, 1024);
    int rc = temper_sandbox_check(&why);
    if (rc != TEMPER_OK) {
        rc = temper_fail(b->st, rc, "image %s: cannot run the recipe: %s", b->req->def->name,
                         why.data ? why.data : "no sandbox");
    }
    temper_buf_cleanup(&why);
    if (rc == TEMPER_OK && b->ic->steps.n > SOURCE_MAX_STEPS) {
        rc = temper_fail(b->st, TEMPER_ELIMIT, "image %s: more than %d steps",
                         b->req->def->name, SOURCE_MAX_STEPS);
    }
    char epoch[64];
    snprintf(epoch, sizeof epoch, "SOURCE_DATE_EPOCH=%lld", b->epoch);
    char *envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "HOME=/tmp", "TMPDIR=/tmp", "LC_ALL=C", "TZ=UTC", epoch,
                     "STAGING=/staging", NULL };
    char *workdir = b->top ? temper_strdupf("/build/%s", b->top) : strdup("/build");
    rc = rc == TEMPER_OK && !workdir ? TEMPER_ENOMEM : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < b->ic->steps.n; i++) {
        rc = run_step(b, i, envp, workdir);
    }
    free(workdir);
    return rc;
}

/* temper — suite_command: run commands inside the built image, isolated,
 * with no container engine (the sandbox is the SDK's, sdk/sandbox.c).
 *
 *   [suite "command"]
 *   plugin    = command
 *   timeout   = 60s
 *   max_procs = 256
 *
 * Each [test "NAME"] section of an image definition with `suite = <this
 * stage>` is one case:
 *
 *   [test "python computes"]
 *   suite           = command
 *   command         = /usr/bin/python3 -c 'print(6*7)'
 *   exit_code       = 0
 *   expected_output = ^42$
 *   excluded_error  = Traceback
 *
 * `command` is split like a shell would split words ('...', "...", \),
 * with no expansion and no shell: write `sh -c '...'` when the image has a
 * shell and you want one.  A command without '/' is looked up in the
 * image's PATH.  Keys: exit_code (default 0, -1 = any), expected_output /
 * excluded_output / expected_error / excluded_error (POSIX extended
 * regular expressions over stdout / stderr, repeatable; ^ and $ match at
 * line ends), user (default: the image's User; "" or unset = root; names
 * from the image's /etc/passwd and /etc/group), env (KEY=VALUE added to the
 * image's Env, repeatable), workdir (default: the image's WorkingDir, else
 * /), timeout (default: the stage's).  Cases are named by `name`, else
 * "command <command>".
 *
 * The image is unpacked once per run into the stage's work directory (the
 * cases share it: what one case writes, the next sees) and removed after
 * the last case.  As root the sandbox uses mount, PID, network, IPC and UTS
 * namespaces and the image's user; as any other user it adds a user
 * namespace that maps the image's user to the caller (the image's files
 * then all belong to that user).  When the kernel refuses user namespaces
 * to an unprivileged caller every case is an error saying so.  RLIMIT_NPROC
 * does not apply to uid 0 of the host: as root, an image whose user is root
 * is bounded by the time limit only.  The work directory must allow
 * executing files (no noexec mount).  A case fails when the command times
 * out, writes more than max_output on stdout or stderr, cannot be executed,
 * exits otherwise than expected or its output does not match; it is an
 * error when it could not be run at all. */
#include "config.h"
#include "command.h"

#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMMAND_VERSION "1.0"
#define SHOWN_OUTPUT (16 * 1024)   /* of each stream, in the case's output */

#define OPT(type, key, def, field, min, max, doc) \
    { type, key, def, 0, offsetof(struct command_conf, field), min, max, NULL, doc }

static const struct temper_option command_options[] = {
    OPT(TEMPER_OPT_DURATION, "timeout", "60s", timeout, 100, 86400000,
        "time a case may run; then it and every process it started are killed"),
    OPT(TEMPER_OPT_SIZE, "max_output", "1M", max_output, 1024, 256LL << 20,
        "bytes of stdout, and of stderr, a case may write; beyond it is killed"),
    OPT(TEMPER_OPT_INT, "max_procs", "256", max_procs, 8, 100000,
        "processes the image's user may have (RLIMIT_NPROC)"),
    OPT(TEMPER_OPT_SIZE, "max_file_size", "256M", max_file_size, 1LL << 20, 1LL << 40,
        "largest file a case may write (RLIMIT_FSIZE)"),
    OPT(TEMPER_OPT_SIZE, "max_memory", "4G", max_memory, 0, 1LL << 40,
        "address space of each process (RLIMIT_AS); 0 = unlimited"),
    OPT(TEMPER_OPT_INT, "max_open_files", "1024", max_open_files, 16, 1048576,
        "open files of each process (RLIMIT_NOFILE)"),
    OPT(TEMPER_OPT_SIZE, "max_unpacked", "16G", max_unpacked, 1LL << 20, 1LL << 40,
        "uncompressed bytes of one layer when unpacking the image"),
    TEMPER_OPTION_END,
};

#define CASE(type, key, def, flags, field, min, max, doc) \
    { type, key, def, flags, offsetof(struct command_case, field), min, max, NULL, doc }

static const struct temper_option command_case_options[] = {
    CASE(TEMPER_OPT_STR, "name", NULL, 0, name, 0, 0,
         "case name in the reports (default: \"command <command>\")"),
    CASE(TEMPER_OPT_STR, "command", NULL, TEMPER_OPT_REQUIRED, command, 0, 0,
         "the command line, split into words like a shell does (no expansion)"),
    CASE(TEMPER_OPT_INT, "exit_code", "0", 0, exit_code, -1, 255,
         "expected exit status (-1: any)"),
    CASE(TEMPER_OPT_STR, "expected_output", NULL, TEMPER_OPT_MULTI, expected_output, 0, 0,
         "extended regular expression stdout must match"),
    CASE(TEMPER_OPT_STR, "excluded_output", NULL, TEMPER_OPT_MULTI, excluded_output, 0, 0,
         "extended regular expression stdout must not match"),
    CASE(TEMPER_OPT_STR, "expected_error", NULL, TEMPER_OPT_MULTI, expected_error, 0, 0,
         "extended regular expression stderr must match"),
    CASE(TEMPER_OPT_STR, "excluded_error", NULL, TEMPER_OPT_MULTI, excluded_error, 0, 0,
         "extended regular expression stderr must not match"),
    CASE(TEMPER_OPT_STR, "user", NULL, 0, user, 0, 0,
         "user[:group] to run as (default: the image's User)"),
    CASE(TEMPER_OPT_STR, "env", NULL, TEMPER_OPT_MULTI, env, 0, 0,
         "KEY=VALUE added to the image's environment"),
    CASE(TEMPER_OPT_STR, "workdir", NULL, 0, workdir, 0, 0,
         "working directory (default: the image's WorkingDir, else /)"),
    CASE(TEMPER_OPT_DURATION, "timeout", "0", 0, timeout, 0, 86400000,
         "time limit of this case (0: the stage's timeout)"),
    TEMPER_OPTION_END,
};

struct command_state {
    const struct command_conf *conf;
};

static int command_open(struct temper_stage *st, const void *conf, void **state)
{
    struct command_state *s = calloc(1, sizeof *s);
    if (!s) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    s->conf = conf;
    *state = s;
    return TEMPER_OK;
}

static void command_close(void *state)
{
    free(state);
}

/* What one case needs, prepared before the sandbox. */
struct prepared {
    struct temper_strlist argv, env, paths;
    struct cuser user;
    const char *workdir;
};

static void prepared_cleanup(struct prepared *p)
{
    cstrlist_cleanup(&p->argv);
    cstrlist_cleanup(&p->env);
    cstrlist_cleanup(&p->paths);
    cuser_cleanup(&p->user);
}

/* TEMPER_EINVAL / TEMPER_ENOTFOUND with the reason in why: an error case. */
static int prepare(const struct croot *r, const struct sc_image *im,
                   const struct command_case *c, struct prepared *p, struct temper_buf *why)
{
    const struct temper_oci_config *cfg = &im->config;
    const char *user = c->user ? c->user : cfg->user ? cfg->user : "";
    int rc = cargv_split(c->command, &p->argv, why);
    rc = rc == TEMPER_OK ? cuser_resolve(r, user, &p->user, why) : rc;
    rc = rc == TEMPER_OK ? cenv_build(&cfg->env, &c->env, p->user.home, &p->env) : rc;
    rc = rc == TEMPER_OK ? cexec_paths(p->argv.v[0], &p->env, &p->paths) : rc;
    p->workdir = c->workdir && *c->workdir ? c->workdir
               : cfg->working_dir && *cfg->working_dir ? cfg->working_dir
                                                       : "/";
    return rc;
}

static int add_stream(struct temper_buf *b, const char *what, const struct temper_buf *s)
{
    size_t n = s->len < SHOWN_OUTPUT ? s->len : SHOWN_OUTPUT;
    int rc = temper_buf_printf(b, "%s%s:\n", b->len ? "\n" : "", what);
    rc = rc == TEMPER_OK && n ? temper_buf_append(b, s->data, n) : rc;
    return rc == TEMPER_OK && n < s->len ? temper_buf_puts(b, "\n[cut]") : rc;
}

/* The case's status and message from what the sandbox saw. */
static int judge(const struct command_conf *conf, const struct command_case *c,
                 const struct temper_sandbox_result *res, long long timeout,
                 struct temper_buf *why,
                 enum temper_case_status *status)
{
    *status = TEMPER_CASE_FAILED;
    switch (res->outcome) {
    case TEMPER_SANDBOX_SETUP_FAILED:
        *status = TEMPER_CASE_ERROR;
        return temper_buf_printf(why, "sandbox: %s", res->setup);
    case TEMPER_SANDBOX_EXEC_FAILED:
        return temper_buf_printf(why, "%s (command '%s')", res->setup, c->command);
    case TEMPER_SANDBOX_TIMEOUT:
        return temper_buf_printf(why, "timed out after %lld ms: the command and every "
                                 "process it started were killed", timeout);
    case TEMPER_SANDBOX_OUTPUT_CAPPED:
        return temper_buf_printf(why, "%s exceeded max_output (%llu bytes): the command "
                                 "was killed", res->capped, conf->max_output);
    case TEMPER_SANDBOX_CANCELLED:
        return TEMPER_ECANCEL;
    case TEMPER_SANDBOX_EXITED:
        break;
    }
    int rc = TEMPER_OK;
    if (res->signal) {
        rc = temper_buf_printf(why, "killed by signal %d (%s)", res->signal,
                               strsignal(res->signal));
    } else if (c->exit_code >= 0 && res->exit_code != c->exit_code) {
        rc = temper_buf_printf(why, "exit code %d, expected %lld", res->exit_code,
                               c->exit_code);
    }
    if (rc == TEMPER_OK) {
        rc = sc_patterns(&c->expected_output, &c->excluded_output, "stdout", res->out.data,
                         res->out.len, why);
    }
    if (rc == TEMPER_OK) {
        rc = sc_patterns(&c->expected_error, &c->excluded_error, "stderr", res->err.data,
                         res->err.len, why);
    }
    if (rc == TEMPER_EINVAL) {
        *status = TEMPER_CASE_ERROR;
        return TEMPER_OK;
    }
    *status = why->len ? TEMPER_CASE_FAILED : TEMPER_CASE_PASSED;
    return rc;
}

static int execute(struct temper_stage *st, const struct command_conf *conf,
                   const struct croot *r, const struct command_case *c, struct prepared *p,
                   struct temper_buf *why, struct temper_buf *output,
                   enum temper_case_status *status)
{
    struct temper_sandbox_result res;
    long long timeout = c->timeout > 0 ? c->timeout : conf->timeout;
    struct temper_sandbox_spec spec = {
        .size = sizeof spec,
        .root = r->root, .argv = p->argv.v, .paths = p->paths.v, .envp = p->env.v,
        .workdir = p->workdir, .uid = p->user.uid, .gid = p->user.gid,
        .timeout_ms = timeout, .max_output = (size_t)conf->max_output,
        .max_procs = conf->max_procs, .max_file_size = conf->max_file_size,
        .max_memory = conf->max_memory, .max_open_files = conf->max_open_files,
    };
    temper_sandbox_result_init(&res, (size_t)conf->max_output);
    int rc = temper_sandbox_run(st, &spec, &res);
    rc = rc == TEMPER_OK ? judge(conf, c, &res, timeout, why, status) : rc;
    if (rc == TEMPER_ECANCEL) {
        rc = temper_fail(st, rc, "run cancelled during case '%s'", c->command);
    }
    if (rc == TEMPER_OK && (res.out.len || res.err.len)) {
        rc = add_stream(output, "stdout", &res.out);
        rc = rc == TEMPER_OK ? add_stream(output, "stderr", &res.err) : rc;
    }
    TEMPER_LOG_DEBUG(st, "case '%s' as %lu:%lu: outcome %d, exit %d, signal %d", c->command,
                     p->user.uid, p->user.gid, (int)res.outcome, res.exit_code, res.signal);
    temper_sandbox_result_cleanup(&res);
    return rc == TEMPER_ELIMIT ? TEMPER_OK : rc;
}

static int run_case(struct temper_stage *st, const struct command_conf *conf,
                    const struct croot *r, const struct sc_image *im,
                    const struct command_case *c, const char *refused)
{
    long long t0 = sc_now_ms();
    struct temper_buf why, name, output;
    struct prepared p;
    memset(&p, 0, sizeof p);
    temper_buf_init(&why, 64 * 1024);
    temper_buf_init(&name, 4096);
    temper_buf_init(&output, 2 * SHOWN_OUTPUT + 256);
    enum temper_case_status status = TEMPER_CASE_ERROR;
    int rc = c->name ? temper_buf_puts(&name, c->name)
                     : temper_buf_printf(&name, "command %.200s", c->command);
    if (rc == TEMPER_OK && refused) {
        rc = temper_buf_puts(&why, refused);
    } else if (rc == TEMPER_OK) {
        rc = prepare(r, im, c, &p, &why);
        if (rc == TEMPER_EINVAL || rc == TEMPER_ENOTFOUND) {
            rc = TEMPER_OK; /* an error case, reason in why */
        } else if (rc == TEMPER_OK) {
            rc = execute(st, conf, r, c, &p, &why, &output, &status);
        }
    }
    if (rc == TEMPER_OK || rc == TEMPER_ELIMIT) {
        rc = sc_case(st, "command", name.data ? name.data : "command", status, t0,
                     why.len ? why.data : NULL, output.len ? output.data : NULL);
    }
    prepared_cleanup(&p);
    temper_buf_cleanup(&why);
    temper_buf_cleanup(&name);
    temper_buf_cleanup(&output);
    return rc;
}

static int command_run(void *state, struct temper_stage *st,
                       const struct temper_artifact *image, const void *const *cases,
                       size_t n_cases, enum temper_verdict *verdict)
{
    const struct command_conf *conf = ((struct command_state *)state)->conf;
    size_t first = temper_stage_case_count(st);
    struct sc_image im;
    struct croot r = { .rootfd = -1 };
    struct temper_buf refused;
    temper_buf_init(&refused, 1024);
    memset(&im, 0, sizeof im);
    *verdict = TEMPER_VERDICT_PASS;
    int rc = TEMPER_OK;
    bool can_run = temper_sandbox_check(&refused) == TEMPER_OK;
    if (n_cases && can_run) {
        rc = sc_image_open(st, image, true, &im);
        rc = rc == TEMPER_OK ? croot_unpack(st, &im, conf, &r) : rc;
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n_cases; i++) {
        rc = run_case(st, conf, &r, &im, cases[i], can_run ? NULL : refused.data);
    }
    if (rc == TEMPER_OK) {
        *verdict = sc_verdict(st, first);
    }
    if (rc == TEMPER_ENOMEM && !temper_stage_error(st)) {
        rc = temper_fail(st, rc, "out of memory");
    }
    croot_remove(&r);
    sc_image_cleanup(&im);
    temper_buf_cleanup(&refused);
    return rc;
}

static const struct temper_suite_ops command_ops = {
    .case_options = command_case_options,
    .case_conf_size = sizeof(struct command_case),
    .run = command_run,
};

TEMPER_PLUGIN(suite_command) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_SUITE,
    .name = "command",
    .version = COMMAND_VERSION,
    .summary = "run commands inside the image in fresh namespaces (no container engine): "
               "exit codes and output regexes, time, output and process limits",
    .options = command_options,
    .conf_size = sizeof(struct command_conf),
    .open = command_open,
    .close = command_close,
    .ops = &command_ops,
    .ops_size = sizeof(command_ops),
};

/* temper — suite_structure: container-structure-test style checks of a
 * built image, plus the hardening policy, read from the image's layers
 * without running or extracting anything.
 *
 *   [suite "structure"]
 *   plugin = structure
 *   ; the hardening policy is on; turn single rules off:
 *   ; no_shell_in_runtime = false
 *   setuid_allow = /usr/bin/ping
 *
 * Checks are declared in the image definition, one [test "NAME"] section
 * per check (one case in the reports), with `suite = <the stage instance>`:
 *
 *   [test "os-release"]                [test "runs as nonroot"]
 *   suite    = structure               suite      = structure
 *   path     = /etc/os-release         user       = 65532
 *   type     = file                    entrypoint = /usr/bin/python3.11
 *   mode     = 0644                    env        = LANG=C.UTF-8
 *   uid      = 0                       workdir    = /app
 *   contains = ^ID=debian$             exposed_ports = 8080/tcp
 *   excludes = ^VERSION_CODENAME=sid   labels     = org.opencontainers.image.vendor=ACME
 *
 * File checks (path): exists (default true; false = must not exist), type
 * (file, dir, symlink; symlink checks the link itself, everything else
 * follows it), mode (octal, exact), uid, gid, executable (yes/no: some
 * execute bit), contains / excludes (POSIX extended regular expressions,
 * repeat the key; ^ and $ match at line ends; the file must be at most
 * max_content bytes).  Metadata checks compare with the image config: user
 * (exact), entrypoint and cmd (exact lists; an empty value = must be
 * empty), env and labels (KEY=VALUE exact, or KEY: must be set), workdir
 * ("" = "/"), exposed_ports (each must be exposed; "8080" = "8080/tcp").
 * A section may combine file and metadata checks; one without any is an
 * error case.  Cases are named by `name`, else "file PATH" or "metadata".
 *
 * The hardening rules (structure_harden.c) each give one case in suite
 * "hardening"; a rule turned off gives a skipped case.  The verdict is BLOCK
 * when any case failed or could not be checked. */
#include "config.h"
#include "structure.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define STRUCTURE_VERSION "1.0"

#define FORBIDDEN_DEFAULT \
    "/bin/sh /bin/bash /bin/dash /bin/ash /bin/zsh /bin/ksh /bin/mksh /bin/busybox " \
    "/usr/bin/sh /usr/bin/bash /usr/bin/dash /usr/bin/zsh /usr/bin/ksh /usr/bin/busybox " \
    "/usr/bin/apt /usr/bin/apt-get /usr/bin/aptitude /usr/bin/dpkg /sbin/apk /usr/bin/apk " \
    "/usr/bin/yum /usr/bin/dnf /usr/bin/microdnf /usr/bin/rpm /usr/bin/zypper"

#define OPT(type, key, def, field, min, max, doc) \
    { type, key, def, 0, offsetof(struct structure_conf, field), min, max, NULL, doc }

static const struct temper_option structure_options[] = {
    OPT(TEMPER_OPT_BOOL, "hardening", "true", hardening, 0, 0,
        "apply the hardening policy (false turns every rule off)"),
    OPT(TEMPER_OPT_BOOL, "no_setuid", "true", no_setuid, 0, 0,
        "rule no-setuid-files: no regular file with the setuid or setgid bit"),
    OPT(TEMPER_OPT_BOOL, "non_root_user", "true", non_root_user, 0, 0,
        "rule non-root-user: the image's user is set and is not root (uid 0)"),
    OPT(TEMPER_OPT_BOOL, "no_shell_in_runtime", "true", no_shell_in_runtime, 0, 0,
        "rule no-shell-in-runtime: no shell or package manager in a runtime variant"),
    OPT(TEMPER_OPT_BOOL, "no_world_writable", "true", no_world_writable, 0, 0,
        "rule no-world-writable: nothing writable by others without the sticky bit"),
    OPT(TEMPER_OPT_BOOL, "no_secrets", "true", no_secrets, 0, 0,
        "rule no-secrets: no private key or credential file in the image"),
    OPT(TEMPER_OPT_BOOL, "secret_scan_binaries", "false", secret_scan_binaries, 0, 0,
        "also look for PEM keys inside executables and libraries (ELF, ar): off because "
        "libraries such as GnuTLS carry self-test keys"),
    OPT(TEMPER_OPT_LIST, "runtime_variants", "runtime", runtime_variants, 0, 0,
        "image variants that must have no shell or package manager"),
    OPT(TEMPER_OPT_LIST, "runtime_forbidden", FORBIDDEN_DEFAULT, runtime_forbidden, 0, 0,
        "paths (symlinks followed inside the image) a runtime variant must not have"),
    OPT(TEMPER_OPT_LIST, "setuid_allow", NULL, setuid_allow, 0, 0,
        "fnmatch patterns of paths allowed to be setuid/setgid"),
    OPT(TEMPER_OPT_LIST, "writable_allow", NULL, writable_allow, 0, 0,
        "fnmatch patterns of paths allowed to be world-writable without the sticky bit"),
    OPT(TEMPER_OPT_LIST, "secret_allow", NULL, secret_allow, 0, 0,
        "fnmatch patterns (* matches /) of paths the secret scan skips"),
    OPT(TEMPER_OPT_SIZE, "secret_max_file_size", "16M", secret_max_file_size, 1024,
        1LL << 30, "bytes of each file the secret scan reads"),
    OPT(TEMPER_OPT_INT, "secret_max_files", "500000", secret_max_files, 1, 100000000,
        "files the secret scan reads at most (beyond: the rule fails)"),
    OPT(TEMPER_OPT_SIZE, "secret_max_bytes", "8G", secret_max_bytes, 1LL << 20, 1LL << 40,
        "bytes the secret scan reads at most (beyond: the rule fails)"),
    OPT(TEMPER_OPT_SIZE, "max_content", "16M", max_content, 1024, 1LL << 30,
        "largest file whose content a contains/excludes check reads"),
    OPT(TEMPER_OPT_INT, "max_entries", "2000000", max_entries, 1000, 50000000,
        "paths an image may have (all layers together)"),
    TEMPER_OPTION_END,
};

static const char *const type_choices[] = { "any", "file", "dir", "symlink", NULL };
static const char *const tri_choices[] = { "any", "yes", "no", "true", "false", NULL };

#define CASE(type, key, def, flags, field, min, max, choices, doc) \
    { type, key, def, flags, offsetof(struct structure_case, field), min, max, choices, doc }

static const struct temper_option structure_case_options[] = {
    CASE(TEMPER_OPT_STR, "name", NULL, 0, name, 0, 0, NULL,
         "case name in the reports (default: \"file PATH\" or \"metadata\")"),
    CASE(TEMPER_OPT_STR, "path", NULL, 0, path, 0, 0, NULL,
         "absolute path in the image the file checks apply to"),
    CASE(TEMPER_OPT_BOOL, "exists", "true", 0, exists, 0, 0, NULL,
         "whether path must exist (false: must not)"),
    CASE(TEMPER_OPT_ENUM, "type", "any", 0, type, 0, 0, type_choices,
         "what path must be (symlink: checked without following it)"),
    CASE(TEMPER_OPT_STR, "mode", NULL, 0, mode, 0, 0, NULL,
         "exact permission bits, octal (0644, 4755)"),
    CASE(TEMPER_OPT_INT, "uid", "-1", 0, uid, -1, 4294967295LL, NULL,
         "owner uid (-1: not checked)"),
    CASE(TEMPER_OPT_INT, "gid", "-1", 0, gid, -1, 4294967295LL, NULL,
         "owner gid (-1: not checked)"),
    CASE(TEMPER_OPT_ENUM, "executable", "any", 0, executable, 0, 0, tri_choices,
         "yes: some execute bit is set; no: none is"),
    CASE(TEMPER_OPT_STR, "contains", NULL, TEMPER_OPT_MULTI, contains, 0, 0, NULL,
         "extended regular expression the content must match"),
    CASE(TEMPER_OPT_STR, "excludes", NULL, TEMPER_OPT_MULTI, excludes, 0, 0, NULL,
         "extended regular expression the content must not match"),
    CASE(TEMPER_OPT_STR, "user", NULL, 0, user, 0, 0, NULL, "expected config User, exactly"),
    CASE(TEMPER_OPT_LIST, "entrypoint", NULL, 0, entrypoint, 0, 0, NULL,
         "expected config Entrypoint (exact list)"),
    CASE(TEMPER_OPT_LIST, "cmd", NULL, 0, cmd, 0, 0, NULL, "expected config Cmd (exact list)"),
    CASE(TEMPER_OPT_STR, "env", NULL, TEMPER_OPT_MULTI, env, 0, 0, NULL,
         "KEY=VALUE the config Env must have, or KEY it must set"),
    CASE(TEMPER_OPT_STR, "workdir", NULL, 0, workdir, 0, 0, NULL,
         "expected config WorkingDir (unset counts as /)"),
    CASE(TEMPER_OPT_LIST, "exposed_ports", NULL, 0, exposed_ports, 0, 0, NULL,
         "ports the config must expose (8080/tcp, 53/udp; bare = tcp)"),
    CASE(TEMPER_OPT_STR, "labels", NULL, TEMPER_OPT_MULTI, labels, 0, 0, NULL,
         "KEY=VALUE the config Labels must have, or KEY they must set"),
    TEMPER_OPTION_END,
};

struct structure_state {
    const struct structure_conf *conf;
};

static int structure_open(struct temper_stage *st, const void *conf, void **state)
{
    struct structure_state *s = calloc(1, sizeof *s);
    if (!s) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    s->conf = conf;
    *state = s;
    return TEMPER_OK;
}

static void structure_close(void *state)
{
    free(state);
}

/* Pass 1, what pass 2 must read, pass 2. */
static int inspect(struct temper_stage *st, const struct structure_conf *conf,
                   const struct sc_image *im, const struct structure_case *const *cases,
                   size_t n, struct sv_view *v, struct harden *h)
{
    int rc = sv_load(v, im);
    if (rc != TEMPER_OK) {
        return rc;
    }
    TEMPER_LOG_INFO(st, "image %s (%s): %zu layers, %zu paths", im->digest, im->platform,
                    im->manifest.n_layers, v->live);
    structure_checks_want(v, cases, n, (size_t)conf->max_content);
    rc = harden_want(h, v);
    return rc == TEMPER_OK ? sv_read(v, conf->hardening && conf->no_secrets ? harden_scan
                                                                              : NULL, h)
                           : rc;
}

static int structure_run(void *state, struct temper_stage *st,
                         const struct temper_artifact *image, const void *const *cases,
                         size_t n_cases, enum temper_verdict *verdict)
{
    const struct structure_conf *conf = ((struct structure_state *)state)->conf;
    const struct structure_case *const *cs = (const struct structure_case *const *)cases;
    size_t first = temper_stage_case_count(st);
    struct sc_image im;
    struct sv_view v;
    struct harden *h = NULL;
    *verdict = TEMPER_VERDICT_PASS;
    memset(&v, 0, sizeof v);
    int rc = sc_image_open(st, image, false, &im);
    rc = rc == TEMPER_OK ? sv_init(&v, st, (size_t)conf->max_entries) : rc;
    rc = rc == TEMPER_OK ? harden_new(st, conf, &h) : rc;
    rc = rc == TEMPER_OK ? inspect(st, conf, &im, cs, n_cases, &v, h) : rc;
    rc = rc == TEMPER_OK ? structure_checks_run(st, &v, &im, cs, n_cases) : rc;
    rc = rc == TEMPER_OK ? harden_run(h, &v, &im, image) : rc;
    if (rc == TEMPER_OK) {
        *verdict = sc_verdict(st, first);
    }
    if (rc == TEMPER_ENOMEM && !temper_stage_error(st)) {
        rc = temper_fail(st, rc, "out of memory");
    }
    harden_free(h);
    sv_cleanup(&v);
    sc_image_cleanup(&im);
    return rc;
}

static const struct temper_suite_ops structure_ops = {
    .case_options = structure_case_options,
    .case_conf_size = sizeof(struct structure_case),
    .run = structure_run,
};

TEMPER_PLUGIN(suite_structure) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_SUITE,
    .name = "structure",
    .version = STRUCTURE_VERSION,
    .summary = "file, content and metadata checks of an image, and the hardening policy "
               "(no setuid, non-root, no shell in runtime, no world-writable, no secrets)",
    .options = structure_options,
    .conf_size = sizeof(struct structure_conf),
    .open = structure_open,
    .close = structure_close,
    .ops = &structure_ops,
    .ops_size = sizeof(structure_ops),
};

/* temper — suite_command through the real loader and option code: real
 * commands (a static busybox copied into an image written with the SDK)
 * run inside the sandbox as the image's user, exit codes, output and
 * environment checks, and hostile commands contained and bounded: a fork
 * bomb, endless output, a command that sleeps forever, one that tries the
 * network, one that writes to / of the host.  Run as root, then again as
 * user nobody (user namespaces), which works or errors clearly.
 *
 * Needs a statically linked busybox at /bin/busybox (Debian package
 * busybox-static) or $TEMPER_TEST_BUSYBOX; skipped without one. */
#include "config.h"
#include "tests/lib/tap.h"
#include "tests/plugins/suite_testlib.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define IMAGE_UID 65532
#define NOBODY 65534

static const char *busybox;
static char marker[128];

/* 1 when path is an ELF executable without a program interpreter. */
static int is_static_elf(const char *path)
{
    Elf64_Ehdr eh;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int ok = fd >= 0 && read(fd, &eh, sizeof eh) == (ssize_t)sizeof eh &&
             memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
             eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 64;
    for (int i = 0; ok && i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        ok = pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * sizeof ph)) ==
                 (ssize_t)sizeof ph &&
             ph.p_type != PT_INTERP;
    }
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

static int open_suite(struct ph *h, const char *const *kv)
{
    return stl_open(h, "command", kv);
}

/* The test image: base, busybox as /bin/busybox, env, workdir. */
static int build_image(const char *dir, struct stl_image *im, struct temper_artifact **a)
{
    int rc = stl_begin(im, dir);
    rc = rc ? rc : stl_base(im);
    rc = rc ? rc : stl_dir(im, "bin", 0755, 0);
    rc = rc ? rc : stl_copy(im, "bin/busybox", busybox, 0755);
    rc = rc ? rc : stl_layer(im);
    rc = rc ? rc : stl_file(im, "etc/motd", 0644, 0, "from layer 2\n");
    rc = rc ? rc : temper_oci_list_push(&im->cfg.env, "PATH=/bin");
    rc = rc ? rc : temper_oci_list_push(&im->cfg.env, "FOO=bar");
    im->cfg.working_dir = rc ? NULL : strdup("/home/nonroot");
    return rc ? rc : stl_finish(im, "cmd", "dev", a);
}

static const struct temper_case *run_cases(struct ph *h, const struct temper_artifact *a,
                                           const char *const *const *cases, size_t n,
                                           enum temper_verdict *v)
{
    int rc = stl_run_logged(h, a, cases, n, v);
    return rc == TEMPER_OK ? temper_stage_case_at(h->st, 0) : NULL;
}

static const char *const c_math[] = { "name=math", "command=busybox sh -c 'echo $((6*7))'",
                                      "expected_output=^42$", NULL };
static const char *const c_id[] = { "name=id", "command=busybox id -u", "expected_output=^65532$",
                                    NULL };
static const char *const c_os[] = { "name=os-release", "command=/bin/busybox cat /etc/os-release",
                                    "expected_output=^ID=temper$", "excluded_output=debian",
                                    NULL };
static const char *const c_exit[] = { "name=exit3", "command=busybox sh -c 'exit 3'",
                                      "exit_code=3", NULL };
static const char *const c_env[] = { "name=env", "command=busybox sh -c \"echo $FOO $HOME; pwd\"",
                                     "expected_output=^bar /home/nonroot$",
                                     "expected_output=^/home/nonroot$", NULL };
static const char *const c_env2[] = { "name=env-override", "command=busybox env",
                                      "env=FOO=baz", "expected_output=^FOO=baz$",
                                      "expected_output=^PATH=/bin$", "workdir=/tmp", NULL };
static const char *const c_err[] = { "name=stderr", "command=busybox sh -c 'echo oops >&2'",
                                     "expected_error=^oops$", "excluded_output=.", NULL };
static const char *const c_byname[] = { "name=by-name", "command=busybox id -u -n",
                                        "user=nonroot", "expected_output=^nonroot$", NULL };
static const char *const c_root[] = { "name=as-root", "command=busybox id -u", "user=0",
                                      "workdir=/", "expected_output=^0$", NULL };
/* root of the image has no capabilities: the host's sysctls stay read-only */
static const char *const c_sysctl[] = { "name=sysctl-read-only", "user=0", "workdir=/",
                                        "command=busybox sh -c 'echo 1 > "
                                        "/proc/sys/vm/drop_caches'",
                                        "exit_code=1", "expected_error=Read-only|denied",
                                        NULL };
static const char *const c_caps[] = { "name=no-privileges", "command=busybox cat /proc/self/status",
                                      "expected_output=^CapEff:[[:space:]]+0+$",
                                      "expected_output=^CapBnd:[[:space:]]+0+$",
                                      "expected_output=^NoNewPrivs:[[:space:]]+1$", NULL };
static const char *const c_pid[] = { "name=pid-namespace", "command=busybox sh -c 'echo $$; "
                                     "busybox hostname'", "expected_output=^2$",
                                     "expected_output=^temper$", NULL };
static const char *const c_layer[] = { "name=layers", "command=busybox cat /etc/motd",
                                       "expected_output=^from layer 2$", NULL };

static void test_real_commands(struct ph *h, const struct temper_artifact *a)
{
    TEST("real commands inside the image as its user: values, ids, files, exit codes, env")
    {
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        static const char *const *const cases[] = { c_math, c_id, c_os, c_exit, c_env, c_env2,
                                                    c_err, c_byname, c_root, c_caps, c_pid,
                                                    c_layer, c_sysctl };
        size_t n = sizeof cases / sizeof cases[0];
        CHECK(run_cases(h, a, cases, n, &v) != NULL);
        CHECK_INT_EQ(temper_stage_case_count(h->st), n);
        for (size_t i = 0; i < n; i++) {
            const char *name = cases[i][0] + 5;
            CHECK_INT_EQ(stl_status(h, name), TEMPER_CASE_PASSED);
        }
        CHECK_INT_EQ(v, TEMPER_VERDICT_PASS);
        CHECK_STR_CONTAINS(stl_output(h, "math"), "stdout:\n42\n");
    }
}

static const char *const f_exit[] = { "name=wrong-exit", "command=busybox sh -c 'exit 3'",
                                      NULL };
static const char *const f_out[] = { "name=wrong-output", "command=busybox echo 41",
                                     "expected_output=^42$", "excluded_error=.*", NULL };
static const char *const f_missing[] = { "name=not-found", "command=nosuchcommand --x", NULL };
static const char *const f_quote[] = { "name=bad-quote", "command=busybox echo 'oops", NULL };
static const char *const f_user[] = { "name=bad-user", "command=busybox true", "user=ghost",
                                      NULL };
static const char *const f_signal[] = { "name=signal", "command=busybox sh -c 'kill -9 $$'",
                                        NULL };
static const char *const f_workdir[] = { "name=bad-workdir", "command=busybox true",
                                         "workdir=/nonexistent", NULL };
static const char *const f_regex[] = { "name=bad-regex", "command=busybox true",
                                       "expected_output=(", NULL };
static const char *const f_fsize[] = { "name=file-size",
                                       "command=busybox dd if=/dev/zero of=/tmp/big bs=65536 "
                                       "count=64", "exit_code=-1", NULL };

static void test_failures(struct ph *h, const struct temper_artifact *a)
{
    TEST("failing cases say why; input problems are error cases")
    {
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        static const char *const *const cases[] = { f_exit, f_out, f_missing, f_quote, f_user,
                                                    f_signal, f_workdir, f_regex, f_fsize };
        CHECK(run_cases(h, a, cases, sizeof cases / sizeof cases[0], &v) != NULL);
        CHECK_INT_EQ(v, TEMPER_VERDICT_BLOCK);
        CHECK_INT_EQ(stl_status(h, "wrong-exit"), TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(stl_message(h, "wrong-exit"), "exit code 3, expected 0");
        CHECK_INT_EQ(stl_status(h, "wrong-output"), TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(stl_message(h, "wrong-output"), "stdout lacks /^42$/");
        CHECK_INT_EQ(stl_status(h, "not-found"), TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(stl_message(h, "not-found"), "No such file or directory");
        CHECK_INT_EQ(stl_status(h, "bad-quote"), TEMPER_CASE_ERROR);
        CHECK_STR_CONTAINS(stl_message(h, "bad-quote"), "unterminated ' quote");
        CHECK_INT_EQ(stl_status(h, "bad-user"), TEMPER_CASE_ERROR);
        CHECK_STR_CONTAINS(stl_message(h, "bad-user"), "user 'ghost' is not in the image's");
        CHECK_INT_EQ(stl_status(h, "signal"), TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(stl_message(h, "signal"), "killed by signal 9");
        CHECK_INT_EQ(stl_status(h, "bad-workdir"), TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(stl_message(h, "bad-workdir"), "working directory");
        CHECK_INT_EQ(stl_status(h, "bad-regex"), TEMPER_CASE_ERROR);
        /* RLIMIT_FSIZE (1M here): dd is stopped by SIGXFSZ */
        CHECK_INT_EQ(stl_status(h, "file-size"), TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(stl_message(h, "file-size"), "killed by signal 25");
    }
}

/* 1 when process `pid` is one of our sandboxes' (owned by uid, argv[0]
 * "busybox", in another PID namespace than ours): other users of the
 * machine (nobody runs builds too) are not counted. */
static int sandboxed(const char *pid, unsigned long uid, const struct stat *my_ns)
{
    char path[300], line[256];
    struct stat ns;
    unsigned long r = (unsigned long)-1;
    snprintf(path, sizeof path, "/proc/%s/ns/pid", pid);
    if (stat(path, &ns) != 0 || ns.st_ino == my_ns->st_ino) {
        return 0;
    }
    snprintf(path, sizeof path, "/proc/%s/status", pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f) && sscanf(line, "Uid:\t%lu", &r) != 1) {
    }
    if (f) {
        fclose(f);
    }
    snprintf(path, sizeof path, "/proc/%s/cmdline", pid);
    f = fopen(path, "r");
    size_t n = f ? fread(line, 1, sizeof line - 1, f) : 0;
    line[n] = '\0';
    if (f) {
        fclose(f);
    }
    return r == uid && strcmp(line, "busybox") == 0;
}

/* Processes of our sandboxes still running on the host. */
static int processes_of(unsigned long uid)
{
    struct stat my_ns;
    DIR *d = opendir("/proc");
    int n = 0;
    if (stat("/proc/self/ns/pid", &my_ns) != 0) {
        return -1;
    }
    for (struct dirent *de = d ? readdir(d) : NULL; de; de = readdir(d)) {
        if (de->d_name[0] >= '1' && de->d_name[0] <= '9') {
            n += sandboxed(de->d_name, uid, &my_ns);
        }
    }
    if (d) {
        closedir(d);
    }
    return n;
}

static int listener(int *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Hostile commands (the ones that need values of the run are made in the
 * test). */
static const char *const h_bomb[] = {
    "name=fork-bomb",
    "command=busybox sh -c 'bomb(){ bomb|bomb& }; bomb 2>/dev/null; busybox sleep 100'",
    "timeout=3s", NULL };
static const char *const h_flood[] = { "name=flood", "command=busybox yes", NULL };
static const char *const h_sleeper[] = { "name=sleeper", "command=busybox sleep 100000",
                                         "timeout=1s", NULL };
static const char *const h_links[] = { "name=no-interfaces", "command=busybox ip link",
                                       "expected_output=^1: lo: <LOOPBACK> mtu",
                                       "excluded_output=^2: ", NULL };
static const char *const h_escape[] = { "name=escape", "command=busybox ls / /proc/1/root/",
                                        "exit_code=-1", "expected_output=^etc$",
                                        "excluded_output=^(work|usr|var|boot)$", NULL };
static const char *const h_bg[] = {
    "name=background", "command=busybox sh -c 'busybox sleep 100000 & echo started'",
    "expected_output=^started$", NULL };
/* 200 background sleepers: RLIMIT_NPROC (64) stops the forks and the shell */
static const char *const h_nproc[] = {
    "name=process-limit",
    "command=busybox sh -c 'n=0; while [ $n -lt 200 ]; do busybox sleep 30 & n=$((n+1)); "
    "done; echo all started'",
    "exit_code=2", "expected_error=can't fork: Resource temporarily unavailable",
    "excluded_output=all started", NULL };

static void test_hostile(struct ph *h, const struct temper_artifact *a, unsigned long host_uid)
{
    TEST("hostile commands are contained and bounded; nothing is left running")
    {
        int port = 0;
        int lfd = listener(&port);
        CHECK(lfd >= 0);
        char *nc = temper_strdupf("command=busybox nc -w 2 127.0.0.1 %d", port);
        char *wr = temper_strdupf("command=busybox sh -c 'echo pwned > %s && busybox cat %s'",
                                  marker, marker);
        const char *const net[] = { "name=network", nc, "exit_code=1",
                                    "expected_error=Network is unreachable", NULL };
        const char *const writer[] = { "name=write-root", wr, "user=0", "workdir=/",
                                       "expected_output=^pwned$", NULL };
        const char *const *const cases[] = { h_bomb, h_flood, h_sleeper, net, h_links, writer,
                                             h_escape, h_bg, h_nproc };
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        long long t0 = temper_stage_now_ms(h->st);
        CHECK(run_cases(h, a, cases, sizeof cases / sizeof cases[0], &v) != NULL);
        long long took = temper_stage_now_ms(h->st) - t0;
        printf("# hostile cases took %lld ms\n", took);
        CHECK(took < 30000);
        CHECK_INT_EQ(stl_status(h, "fork-bomb"), TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(stl_message(h, "fork-bomb"), "timed out after 3000 ms");
        CHECK_INT_EQ(stl_status(h, "flood"), TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(stl_message(h, "flood"), "stdout exceeded max_output (65536 bytes)");
        CHECK_INT_EQ(stl_status(h, "sleeper"), TEMPER_CASE_FAILED);
        CHECK_STR_CONTAINS(stl_message(h, "sleeper"), "timed out after 1000 ms");
        CHECK_INT_EQ(stl_status(h, "network"), TEMPER_CASE_PASSED);
        int conn = lfd >= 0 ? accept(lfd, NULL, NULL) : -1;
        CHECK(conn < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)); /* nobody came */
        CHECK_INT_EQ(stl_status(h, "no-interfaces"), TEMPER_CASE_PASSED);
        CHECK_INT_EQ(stl_status(h, "write-root"), TEMPER_CASE_PASSED);
        CHECK(access(marker, F_OK) != 0); /* the host's / is untouched */
        CHECK_INT_EQ(stl_status(h, "escape"), TEMPER_CASE_PASSED);
        CHECK_INT_EQ(stl_status(h, "background"), TEMPER_CASE_PASSED);
        CHECK_INT_EQ(stl_status(h, "process-limit"), TEMPER_CASE_PASSED);
        CHECK_INT_EQ(processes_of(host_uid), 0); /* nothing left running */
        if (conn >= 0) {
            close(conn);
        }
        if (lfd >= 0) {
            close(lfd);
        }
        free(nc);
        free(wr);
    }
}

/* In a user namespace, the command cannot make another one. */
static void test_no_nesting(struct ph *h, const struct temper_artifact *a)
{
    TEST("unprivileged: no nested user namespace for the command")
    {
        static const char *const nest[] = { "name=nested-userns",
                                             "command=busybox unshare -U busybox true",
                                             "exit_code=1", "expected_error=unshare", NULL };
        static const char *const *const cases[] = { nest };
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        CHECK(run_cases(h, a, cases, 1, &v) != NULL);
        CHECK_INT_EQ(stl_status(h, "nested-userns"), TEMPER_CASE_PASSED);
    }
}

/* Build the image and run everything in a fresh scratch directory. */
static void run_all(unsigned long host_uid)
{
    char dir[600];
    struct stl_image im;
    struct temper_artifact *a = NULL;
    struct ph h;
    char tmp[512];
    CHECK_INT_EQ(stl_mkdtemp(tmp, sizeof tmp, "command"), 0);
    snprintf(dir, sizeof dir, "%s/layout", tmp);
    CHECK_INT_EQ(build_image(dir, &im, &a), TEMPER_OK);
    static const char *const kv[] = { "max_output=64K", "max_procs=64", "max_file_size=1M",
                                      "timeout=20s", NULL };
    CHECK_INT_EQ(open_suite(&h, kv), TEMPER_OK);
    if (a && h.opened) {
        test_real_commands(&h, a);
        test_failures(&h, a);
        test_hostile(&h, a, host_uid);
        if (geteuid() != 0) {
            test_no_nesting(&h, a);
        }
        char *left = temper_strdupf("%s/work/command-root", h.dir);
        CHECK(left && access(left, F_OK) != 0); /* the unpacked root is removed */
        free(left);
    }
    stl_done(&h, a, &im);
    stl_rmtree(tmp);
}

static void test_options(void)
{
    TEST("options: defaults and refusals by the option code")
    {
        struct ph h;
        char *err = NULL;
        CHECK_INT_EQ(open_suite(&h, NULL), TEMPER_OK);
        const struct temper_suite_ops *ops = ph_ops(&h);
        static const char *const no_command[] = { "exit_code=1", NULL };
        void *conf = NULL;
        CHECK(ph_fill(ops->case_options, ops->case_conf_size, no_command, &conf, &err) !=
              TEMPER_OK);
        CHECK_STR_CONTAINS(err, "command");
        free(err);
        /* no [test] blocks: nothing is unpacked, nothing recorded */
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        CHECK_INT_EQ(ops->run(h.state, h.st, NULL, NULL, 0, &v), TEMPER_OK);
        CHECK_INT_EQ(v, TEMPER_VERDICT_PASS);
        ph_close(&h);
        static const char *const bad[] = { "timeout=10ms", NULL };
        err = NULL;
        CHECK(ph_load(&h, TEMPER_KIND_SUITE, "command", bad, &err) != TEMPER_OK);
        free(err);
        ph_close(&h);
    }
}

/* In a user namespace of our own, where we may set user.max_user_namespaces
 * to 0: the kernel then refuses the sandbox's namespaces to an
 * unprivileged caller, and every case is an error that says so. */
static void test_userns_refused(void)
{
    int fd = -1;
    if (unshare(CLONE_NEWUSER) != 0 ||
        (fd = open("/proc/sys/user/max_user_namespaces", O_WRONLY | O_CLOEXEC)) < 0 ||
        write(fd, "0\n", 2) != 2) {
        printf("# cannot set up a user namespace without user namespaces: %s\n",
               strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    close(fd);
    TEST("user namespaces refused by the kernel: each case is an error saying so")
    {
        char tmp[512], dir[600];
        struct stl_image im;
        struct temper_artifact *a = NULL;
        struct ph h;
        enum temper_verdict v = TEMPER_VERDICT_NONE;
        CHECK_INT_EQ(stl_mkdtemp(tmp, sizeof tmp, "command-refused"), 0);
        snprintf(dir, sizeof dir, "%s/layout", tmp);
        CHECK_INT_EQ(build_image(dir, &im, &a), TEMPER_OK);
        CHECK_INT_EQ(open_suite(&h, NULL), TEMPER_OK);
        static const char *const *const cases[] = { c_math, c_id };
        CHECK(a && run_cases(&h, a, cases, 2, &v) != NULL);
        CHECK_INT_EQ(v, TEMPER_VERDICT_BLOCK);
        CHECK_INT_EQ(stl_status(&h, "math"), TEMPER_CASE_ERROR);
        CHECK_INT_EQ(stl_status(&h, "id"), TEMPER_CASE_ERROR);
        CHECK_STR_CONTAINS(stl_message(&h, "math"), "user namespaces are disabled "
                                                   "(user.max_user_namespaces = 0)");
        stl_done(&h, a, &im);
        stl_rmtree(tmp);
    }
}

/* The whole run again as nobody, in a child; its TAP lines continue ours. */
static void as_nobody(void)
{
    int fds[2];
    if (geteuid() != 0 || pipe(fds) != 0) {
        printf("# not root: the unprivileged run was the only one\n");
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        int ok = setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0 &&
                 prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0; /* LeakSanitizer needs it */
        TEST("the unprivileged run (user nobody, user namespaces)")
        {
            CHECK(ok);
        }
        if (ok) {
            run_all(NOBODY);
            test_userns_refused();
        }
        int counts[2] = { tap_count, tap_failed };
        ssize_t w = write(fds[1], counts, sizeof counts);
        exit(w == (ssize_t)sizeof counts ? 0 : 1); /* exit: LeakSanitizer checks the child */
    }
    close(fds[1]);
    int counts[2] = { 0, 0 }, status = 0;
    ssize_t got = pid > 0 ? read(fds[0], counts, sizeof counts) : -1;
    close(fds[0]);
    if (pid > 0) {
        waitpid(pid, &status, 0);
    }
    TEST("the unprivileged run reported back")
    {
        tap_count = got == (ssize_t)sizeof counts ? counts[0] : tap_count;
        tap_failed = got == (ssize_t)sizeof counts ? counts[1] : tap_failed;
        CHECK(got == (ssize_t)sizeof counts && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}

/* Can this process make the namespaces a sandbox needs at all (containers
 * without CAP_SYS_ADMIN, kernels without user namespaces cannot)? */
static int namespaces_work(void)
{
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
                (geteuid() == 0 ? 0 : CLONE_NEWUSER);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        _exit(unshare(flags) == 0 ? 0 : 1);
    }
    int status = 0;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

int main(void)
{
    const char *vg = getenv("TEMPER_UNDER_VALGRIND");
    if (vg && strcmp(vg, "1") == 0) {
        /* valgrind cannot follow clone() into new namespaces (it stops with an
         * internal error); the normal and ASan runs cover this test */
        printf("1..0 # SKIP valgrind cannot run namespace clones\n");
        return 0;
    }
    busybox = getenv("TEMPER_TEST_BUSYBOX");
    busybox = busybox && *busybox ? busybox : "/bin/busybox";
    if (!is_static_elf(busybox)) {
        printf("1..0 # SKIP needs a statically linked busybox at %s "
               "(Debian: busybox-static)\n", busybox);
        return 0;
    }
    if (!namespaces_work()) {
        printf("1..0 # SKIP this process cannot create namespaces (a container without "
               "CAP_SYS_ADMIN, or user namespaces disabled)\n");
        return 0;
    }
    snprintf(marker, sizeof marker, "/temper-suite-command-%ld", (long)getpid());
    stl_log_begin();
    test_options();
    run_all(geteuid() == 0 ? IMAGE_UID : geteuid());
    as_nobody();
    stl_log_end();
    return tap_done();
}

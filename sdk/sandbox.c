/* temper — the sandbox of include/temper/sandbox.h: running one command
 * inside an unpacked root, with no container engine (suite_command runs its
 * cases with it, builder_source its recipe steps).
 *
 * The plugin process clones the sandbox's init (raw clone(2), fork
 * semantics) into fresh mount, PID, network, IPC and UTS namespaces, plus a
 * user namespace when it is not root.  The init:
 *   1. (user namespace) writes "deny" to setgroups and maps the image user
 *      and group to the caller's uid and gid (one line each: all an
 *      unprivileged process may map);
 *   2. makes every mount private, bind-mounts the root onto itself, mounts a
 *      fresh proc for its PID namespace on /proc (while the host's proc is
 *      still visible, which the kernel requires in a user namespace) with
 *      /proc/sys, sysrq-trigger, bus, fs and irq read-only and kcore, keys
 *      and the kernel's debug files hidden, as Docker does, and a
 *      small tmpfs on /dev with bind mounts of the host's null, zero, full,
 *      random and urandom, and the fd/stdin/stdout/stderr links;
 *   2b. when asked: bind-mounts each writable directory onto itself, puts a
 *      tmpfs on /tmp, and remounts the root read-only (keeping the flags
 *      of the mount below, which a user namespace may not clear);
 *   3. pivot_root()s into the root and detaches the old one: nothing of the
 *      host file system is reachable any more;
 *   4. clones the command and waits; when the command exits it reports the
 *      status and exits, and the kernel kills everything left in the PID
 *      namespace.
 * The command process gets /dev/null as stdin, pipes as stdout/stderr, no
 * other descriptor, default signal handling, rlimits (processes, file size,
 * address space, open files, no core), an empty capability bounding set,
 * the image's user (setgroups/setresgid/setresuid as root; for uid 0 also
 * no capabilities and locked SECBIT_NOROOT), a session keyring of its own,
 * no_new_privs, the working directory, and is exec'ed from the candidate
 * paths.  In a user namespace, the init first sets that namespace's
 * user.max_user_namespaces to 0: the command cannot nest another one.  The network
 * namespace has only a loopback interface that is down: no network.
 *
 * The parent reads stdout and stderr (each capped at max_output: beyond it
 * the sandbox is killed), and kills the init (and so the whole namespace) at
 * the time limit or when the run is cancelled.  Children report failures
 * through a close-on-exec pipe as fixed records, so a failure to set up or
 * to exec is told apart from the command's own exit status.
 *
 * The children run between clone() and exec() in a copy of a possibly
 * multi-threaded process: they only make system calls on data prepared
 * before the clone (no malloc, no stdio, no locks). */
#include "config.h"
#include <temper/sandbox.h>
#include <temper/temper.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/securebits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG_SETUP 1
#define MSG_EXEC 2
#define MSG_STATUS 3
#define MSG_MAX 64          /* records kept */
#define POLL_MS 100         /* cancellation check */
#define HIGH_FD 10          /* pipe ends are moved above stdio first */
#define MSG_FD 3            /* the report pipe in the command process */

struct sbx_msg {
    int32_t kind;
    int32_t err;
    int32_t status;
    char step[52];
};

/* Everything the children need, formatted before the clone. */
struct prep {
    bool userns;
    char uid_map[64];
    char gid_map[64];
    char tmp_opts[64];
    int out_w, err_w, msg_w;
};

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", NULL };
/* What Docker also keeps read-only or hides in /proc: a uid 0 without
 * capabilities still owns the global sysctls and sysrq-trigger. */
static const char *const proc_readonly[] = { "proc/sys", "proc/sysrq-trigger", "proc/bus",
                                             "proc/fs", "proc/irq", NULL };
static const char *const proc_masked[] = { "proc/kcore", "proc/keys", "proc/timer_list",
                                           "proc/sched_debug", "proc/latency_stats", NULL };

/* ---- in the children ---------------------------------------------------------- */

static void report(int fd, int kind, int err, int status, const char *step)
{
    struct sbx_msg m;
    memset(&m, 0, sizeof m);
    m.kind = kind;
    m.err = err;
    m.status = status;
    for (size_t i = 0; step && step[i] && i < sizeof m.step - 1; i++) {
        m.step[i] = step[i];
    }
    ssize_t w = write(fd, &m, sizeof m);
    (void)w;
}

static void die(int fd, int kind, const char *step) __attribute__((noreturn));
static void die(int fd, int kind, const char *step)
{
    report(fd, kind, errno, 0, step);
    _exit(126);
}

static long raw_clone(unsigned long flags)
{
#if defined(__s390__) || defined(__CRIS__)
    return syscall(SYS_clone, 0L, flags, NULL, NULL, NULL);
#else
    return syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
#endif
}

static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    int e = errno;
    close(fd);
    errno = e;
    return w == (ssize_t)n ? 0 : -1;
}

static void map_user(const struct prep *p)
{
    if (write_text("/proc/self/setgroups", "deny") != 0 && errno != ENOENT) {
        die(p->msg_w, MSG_SETUP, "write /proc/self/setgroups");
    }
    if (write_text("/proc/self/uid_map", p->uid_map) != 0) {
        die(p->msg_w, MSG_SETUP, "write /proc/self/uid_map");
    }
    if (write_text("/proc/self/gid_map", p->gid_map) != 0) {
        die(p->msg_w, MSG_SETUP, "write /proc/self/gid_map");
    }
    /* no nested user namespaces for the command (this one's own limit) */
    if (write_text("/proc/sys/user/max_user_namespaces", "0") != 0) {
        die(p->msg_w, MSG_SETUP, "write /proc/sys/user/max_user_namespaces");
    }
}

/* A tmpfs /dev with the host's harmless devices bind-mounted (cwd = dev). */
static void make_dev(const struct prep *p)
{
    if (mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1024k") != 0) {
        die(p->msg_w, MSG_SETUP, "mount tmpfs on /dev");
    }
    if (chdir("dev") != 0) {
        die(p->msg_w, MSG_SETUP, "chdir /dev");
    }
    for (size_t i = 0; dev_nodes[i]; i++) {
        char src[32] = "/dev/";
        memcpy(src + 5, dev_nodes[i], strlen(dev_nodes[i]) + 1);
        int fd = open(dev_nodes[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
        if (fd < 0) {
            die(p->msg_w, MSG_SETUP, "create a /dev node");
        }
        close(fd);
        if (mount(src, dev_nodes[i], NULL, MS_BIND, NULL) != 0) {
            die(p->msg_w, MSG_SETUP, "bind-mount a /dev node");
        }
    }
    if (symlink("/proc/self/fd", "fd") != 0 || symlink("/proc/self/fd/0", "stdin") != 0 ||
        symlink("/proc/self/fd/1", "stdout") != 0 || symlink("/proc/self/fd/2", "stderr") != 0 ||
        mkdir("shm", 01777) != 0 || chmod("shm", 01777) != 0) {
        die(p->msg_w, MSG_SETUP, "populate /dev");
    }
    if (chdir("..") != 0) {
        die(p->msg_w, MSG_SETUP, "chdir /");
    }
}

/* A fresh proc for the PID namespace, its dangerous parts read-only or
 * hidden (cwd = the root, the host's /dev still reachable). */
static void make_proc(const struct prep *p)
{
    const unsigned long locked = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (mount("proc", "proc", "proc", locked, NULL) != 0) {
        die(p->msg_w, MSG_SETUP, "mount /proc");
    }
    for (size_t i = 0; proc_readonly[i]; i++) {
        if (mount(proc_readonly[i], proc_readonly[i], NULL, MS_BIND | MS_REC, NULL) != 0) {
            if (errno == ENOENT) {
                continue;
            }
            die(p->msg_w, MSG_SETUP, "bind a /proc path read-only");
        }
        if (mount(NULL, proc_readonly[i], NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked,
                  NULL) != 0) {
            die(p->msg_w, MSG_SETUP, "remount a /proc path read-only");
        }
    }
    for (size_t i = 0; proc_masked[i]; i++) {
        if (mount("/dev/null", proc_masked[i], NULL, MS_BIND, NULL) != 0 && errno != ENOENT) {
            die(p->msg_w, MSG_SETUP, "mask a /proc file");
        }
    }
}

/* The flags of the mount at cwd that a remount must keep. */
static unsigned long kept_flags(void)
{
    struct statvfs sv;
    unsigned long f = 0;
    if (statvfs(".", &sv) == 0) {
        f |= (sv.f_flag & ST_NOSUID) ? MS_NOSUID : 0;
        f |= (sv.f_flag & ST_NODEV) ? MS_NODEV : 0;
        f |= (sv.f_flag & ST_NOEXEC) ? MS_NOEXEC : 0;
        f |= (sv.f_flag & ST_NOATIME) ? MS_NOATIME : 0;
        f |= (sv.f_flag & ST_NODIRATIME) ? MS_NODIRATIME : 0;
        f |= (sv.f_flag & ST_RELATIME) ? MS_RELATIME : 0;
    }
    return f;
}

/* Writable directories bound onto themselves, a tmpfs /tmp, the root
 * read-only (cwd = the root). */
static void make_readonly(const struct temper_sandbox_spec *s, const struct prep *p)
{
    unsigned long keep = kept_flags();
    for (size_t i = 0; s->writable && s->writable[i] && i < TEMPER_SANDBOX_MAX_WRITABLE; i++) {
        const char *src = s->writable_src && s->writable_src[i] ? s->writable_src[i]
                                                                 : s->writable[i];
        if (mount(src, s->writable[i], NULL, MS_BIND | MS_NOSUID | MS_NODEV, NULL) != 0) {
            die(p->msg_w, MSG_SETUP, "bind a writable directory");
        }
    }
    if (s->tmpfs_tmp && mount("tmpfs", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, p->tmp_opts) != 0) {
        die(p->msg_w, MSG_SETUP, "mount tmpfs on /tmp");
    }
    if (mount(NULL, ".", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL) != 0) {
        die(p->msg_w, MSG_SETUP, "remount the root read-only");
    }
}

static void enter_root(const struct temper_sandbox_spec *s, const struct prep *p)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        die(p->msg_w, MSG_SETUP, "make mounts private");
    }
    if (mount(s->root, s->root, NULL, MS_BIND | MS_REC, NULL) != 0) {
        die(p->msg_w, MSG_SETUP, "bind-mount the image root");
    }
    if (chdir(s->root) != 0) {
        die(p->msg_w, MSG_SETUP, "chdir into the image root");
    }
    make_proc(p);
    make_dev(p);
    if (s->readonly_root) {
        make_readonly(s, p);
    }
    if (syscall(SYS_pivot_root, ".", ".") != 0) {
        die(p->msg_w, MSG_SETUP, "pivot_root");
    }
    if (umount2(".", MNT_DETACH) != 0) {
        die(p->msg_w, MSG_SETUP, "detach the old root");
    }
    if (chdir("/") != 0) {
        die(p->msg_w, MSG_SETUP, "chdir /");
    }
    (void)sethostname("temper", 6);
}

static void set_limit(int fd, int res, unsigned long long v, const char *step)
{
    struct rlimit rl;
    if (getrlimit(res, &rl) != 0) {
        die(fd, MSG_SETUP, step);
    }
    rlim_t want = (rlim_t)v;
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max) {
        want = rl.rlim_max;
    }
    rl.rlim_cur = rl.rlim_max = want;
    if (setrlimit(res, &rl) != 0) {
        die(fd, MSG_SETUP, step);
    }
}

static void limits(const struct temper_sandbox_spec *s, int fd)
{
    set_limit(fd, RLIMIT_NPROC, (unsigned long long)s->max_procs, "set RLIMIT_NPROC");
    set_limit(fd, RLIMIT_FSIZE, s->max_file_size, "set RLIMIT_FSIZE");
    set_limit(fd, RLIMIT_NOFILE, (unsigned long long)s->max_open_files, "set RLIMIT_NOFILE");
    set_limit(fd, RLIMIT_CORE, 0, "set RLIMIT_CORE");
    if (s->max_memory) {
        set_limit(fd, RLIMIT_AS, s->max_memory, "set RLIMIT_AS");
    }
}

/* Drop to the image's user with no capability left to gain. */
static void become_user(const struct temper_sandbox_spec *s, const struct prep *p, int fd)
{
    for (unsigned long cap = 0; cap < 64; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
            if (errno == EINVAL) {
                break;
            }
            die(fd, MSG_SETUP, "drop the capability bounding set");
        }
    }
    if (s->uid == 0 &&
        prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED,
              0, 0, 0) != 0) {
        die(fd, MSG_SETUP, "lock the securebits");
    }
    gid_t g = (gid_t)s->gid;
    if (!p->userns && setgroups(1, &g) != 0) {
        die(fd, MSG_SETUP, "setgroups");
    }
    if (setresgid(g, g, g) != 0) {
        die(fd, MSG_SETUP, "setresgid");
    }
    if (setresuid((uid_t)s->uid, (uid_t)s->uid, (uid_t)s->uid) != 0) {
        die(fd, MSG_SETUP, "setresuid");
    }
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &hdr, data) != 0) {
        die(fd, MSG_SETUP, "clear the capabilities");
    }
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    /* a session keyring of its own, not the plugin process's */
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS) {
        die(fd, MSG_SETUP, "join a new session keyring");
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        die(fd, MSG_SETUP, "set no_new_privs");
    }
}

static void stdio(const struct prep *p)
{
    int out = fcntl(p->out_w, F_DUPFD_CLOEXEC, HIGH_FD);
    int err = fcntl(p->err_w, F_DUPFD_CLOEXEC, HIGH_FD);
    int msg = fcntl(p->msg_w, F_DUPFD_CLOEXEC, HIGH_FD);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || err < 0 || msg < 0 || nul < 0 || dup2(nul, 0) != 0 || dup2(out, 1) != 1 ||
        dup2(err, 2) != 2 || dup3(msg, MSG_FD, O_CLOEXEC) != MSG_FD) {
        die(msg >= 0 ? msg : p->msg_w, MSG_SETUP, "set up stdin, stdout and stderr");
    }
    if (syscall(SYS_close_range, MSG_FD + 1, ~0U, 0) != 0) {
        for (int fd = MSG_FD + 1; fd < 65536; fd++) {
            close(fd);
        }
    }
}

static void command_main(const struct temper_sandbox_spec *s, const struct prep *p)
    __attribute__((noreturn));
static void command_main(const struct temper_sandbox_spec *s, const struct prep *p)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            signal(sig, SIG_DFL);
        }
    }
    stdio(p);
    (void)setsid();
    limits(s, MSG_FD);
    become_user(s, p, MSG_FD);
    if (chdir(s->workdir) != 0) {
        die(MSG_FD, MSG_EXEC, "chdir to the working directory");
    }
    int first = ENOENT;
    for (size_t i = 0; s->paths[i]; i++) {
        execve(s->paths[i], s->argv, s->envp);
        if (errno != ENOENT || first == ENOENT) {
            first = errno;
        }
    }
    errno = first;
    die(MSG_FD, MSG_EXEC, "execute the command");
}

static void init_main(const struct temper_sandbox_spec *s, const struct prep *p) __attribute__((noreturn));
static void init_main(const struct temper_sandbox_spec *s, const struct prep *p)
{
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    signal(SIGCHLD, SIG_DFL);
    if (p->userns) {
        map_user(p);
    }
    enter_root(s, p);
    long pid = raw_clone(SIGCHLD);
    if (pid == 0) {
        command_main(s, p);
    }
    if (pid < 0) {
        die(p->msg_w, MSG_SETUP, "start the command process");
    }
    close(p->out_w);
    close(p->err_w);
    for (;;) {
        int status = 0;
        pid_t w = waitpid(-1, &status, 0);
        if (w == (pid_t)pid) {
            report(p->msg_w, MSG_STATUS, 0, status, "exit");
            _exit(0);
        }
        if (w < 0 && errno != EINTR) {
            die(p->msg_w, MSG_SETUP, "wait for the command");
        }
    }
}

/* ---- in the plugin -------------------------------------------------------------- */

void temper_sandbox_result_init(struct temper_sandbox_result *res, size_t max_output)
{
    memset(res, 0, sizeof *res);
    temper_buf_init(&res->out, max_output);
    temper_buf_init(&res->err, max_output);
}

void temper_sandbox_result_cleanup(struct temper_sandbox_result *res)
{
    temper_buf_cleanup(&res->out);
    temper_buf_cleanup(&res->err);
}

/* The number in a /proc/sys file, or -1. */
static long long sysctl_value(const char *path)
{
    char buf[32];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    long long v = -1;
    if (n > 0) {
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        if (temper_parse_ll(buf, &v) != TEMPER_OK) {
            v = -1;
        }
    }
    return v;
}

static int why_(struct temper_buf *why, int rc, const char *msg)
{
    int frc = why ? temper_buf_puts(why, msg) : TEMPER_OK;
    return frc == TEMPER_ENOMEM ? frc : rc;
}

int temper_sandbox_check(struct temper_buf *why)
{
    if (geteuid() == 0) {
        return TEMPER_OK;
    }
    if (sysctl_value("/proc/sys/kernel/unprivileged_userns_clone") == 0) {
        return why_(why, TEMPER_ENOTSUP, "unprivileged user namespaces are disabled "
                      "(kernel.unprivileged_userns_clone = 0): run as root or enable them");
    }
    if (sysctl_value("/proc/sys/user/max_user_namespaces") == 0) {
        return why_(why, TEMPER_ENOTSUP, "user namespaces are disabled "
                      "(user.max_user_namespaces = 0): run as root or enable them");
    }
    return TEMPER_OK;
}

static int make_pipes(int fds[3][2])
{
    for (int i = 0; i < 3; i++) {
        fds[i][0] = fds[i][1] = -1;
    }
    for (int i = 0; i < 3; i++) {
        if (pipe2(fds[i], O_CLOEXEC) != 0) {
            return -1;
        }
    }
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

struct watch {
    struct temper_stage *st;
    long pid;
    int fd[3];                  /* stdout, stderr, reports */
    struct temper_buf msgs;
    bool killed;
};

static void kill_all(struct watch *w, struct temper_sandbox_result *res, enum temper_sandbox_outcome why)
{
    if (!w->killed) {
        kill((pid_t)w->pid, SIGKILL); /* init: the kernel kills the whole namespace */
        w->killed = true;
        res->outcome = why;
    }
}

/* Read what is there on fd i; false once it is closed. */
static void drain(struct watch *w, int i, struct temper_sandbox_result *res)
{
    char buf[65536];
    ssize_t n = read(w->fd[i], buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return;
    }
    if (n <= 0) {
        close_fd(&w->fd[i]);
        return;
    }
    struct temper_buf *b = i == 0 ? &res->out : i == 1 ? &res->err : &w->msgs;
    size_t room = b->max > b->len ? b->max - b->len : 0;
    size_t take = (size_t)n < room ? (size_t)n : room;
    if (take && temper_buf_append(b, buf, take) != TEMPER_OK) {
        take = 0;
    }
    if (take < (size_t)n && i < 2) {
        res->capped = i == 0 ? "stdout" : "stderr";
        kill_all(w, res, TEMPER_SANDBOX_OUTPUT_CAPPED);
    }
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void watch_loop(struct watch *w, long long timeout_ms, struct temper_sandbox_result *res)
{
    long long deadline = mono_ms() + timeout_ms;
    while (w->fd[0] >= 0 || w->fd[1] >= 0 || w->fd[2] >= 0) {
        long long left = deadline - mono_ms();
        if (left <= 0) {
            kill_all(w, res, TEMPER_SANDBOX_TIMEOUT);
        } else if (temper_stage_cancelled(w->st)) {
            kill_all(w, res, TEMPER_SANDBOX_CANCELLED);
        }
        if (w->killed) {
            break;
        }
        struct pollfd pf[3];
        for (int i = 0; i < 3; i++) {
            pf[i] = (struct pollfd){ .fd = w->fd[i], .events = POLLIN };
        }
        int n = poll(pf, 3, (int)(left < POLL_MS ? left : POLL_MS));
        for (int i = 0; n > 0 && i < 3; i++) {
            if (pf[i].fd >= 0 && (pf[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                drain(w, i, res);
            }
        }
    }
    for (int i = 0; i < 3; i++) {
        close_fd(&w->fd[i]);
    }
}

/* What the children reported. */
static void read_reports(const struct watch *w, struct temper_sandbox_result *res, bool *have_status,
                         int *status)
{
    size_t n = w->msgs.len / sizeof(struct sbx_msg);
    for (size_t i = 0; i < n; i++) {
        struct sbx_msg m;
        memcpy(&m, w->msgs.data + i * sizeof m, sizeof m);
        m.step[sizeof m.step - 1] = '\0';
        if (m.kind == MSG_STATUS) {
            *have_status = true;
            *status = m.status;
        } else if ((m.kind == MSG_SETUP || m.kind == MSG_EXEC) &&
                   res->outcome == TEMPER_SANDBOX_EXITED) {
            res->outcome = m.kind == MSG_SETUP ? TEMPER_SANDBOX_SETUP_FAILED : TEMPER_SANDBOX_EXEC_FAILED;
            snprintf(res->setup, sizeof res->setup, "cannot %s: %s", m.step, strerror(m.err));
        }
    }
}

static void conclude(const struct watch *w, int init_status, struct temper_sandbox_result *res)
{
    bool have = false;
    int status = 0;
    read_reports(w, res, &have, &status);
    if (res->outcome != TEMPER_SANDBOX_EXITED) {
        return;
    }
    if (!have) {
        res->outcome = TEMPER_SANDBOX_SETUP_FAILED;
        snprintf(res->setup, sizeof res->setup, "the sandbox's init ended without a report "
                 "(wait status %d)", init_status);
    } else if (WIFSIGNALED(status)) {
        res->signal = WTERMSIG(status);
    } else {
        res->exit_code = WEXITSTATUS(status);
    }
}

static int start(const struct temper_sandbox_spec *s, struct prep *p, long *pid)
{
    unsigned long flags = SIGCHLD | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                          CLONE_NEWUTS | (p->userns ? CLONE_NEWUSER : 0);
    fflush(NULL);
    *pid = raw_clone(flags);
    if (*pid == 0) {
        init_main(s, p);
    }
    return *pid > 0 ? 0 : -1;
}

/* The caller's spec as this SDK's struct (fields past its size are absent). */
static int copy_spec(struct temper_stage *st, const struct temper_sandbox_spec *in,
                     struct temper_sandbox_spec *out)
{
    const size_t min = offsetof(struct temper_sandbox_spec, max_open_files) + sizeof(long long);
    memset(out, 0, sizeof *out);
    if (!in || in->size < min || !in->root || !in->argv || !in->argv[0] || !in->paths ||
        !in->envp || !in->workdir) {
        return temper_fail(st, TEMPER_EINVAL, "sandbox: incomplete spec");
    }
    memcpy(out, in, in->size < sizeof *out ? in->size : sizeof *out);
    return TEMPER_OK;
}

int temper_sandbox_run(struct temper_stage *st, const struct temper_sandbox_spec *spec_in,
                       struct temper_sandbox_result *res)
{
    struct temper_sandbox_spec sp;
    const struct temper_sandbox_spec *spec = &sp;
    if (copy_spec(st, spec_in, &sp) != TEMPER_OK) {
        return TEMPER_EINVAL;
    }
    struct prep p = { .userns = geteuid() != 0 };
    snprintf(p.tmp_opts, sizeof p.tmp_opts, "mode=1777,size=%llu", sp.tmpfs_tmp);
    struct watch w = { .st = st, .pid = -1, .fd = { -1, -1, -1 } };
    int fds[3][2];
    temper_buf_init(&w.msgs, MSG_MAX * sizeof(struct sbx_msg));
    snprintf(p.uid_map, sizeof p.uid_map, "%lu %lu 1\n", spec->uid, (unsigned long)geteuid());
    snprintf(p.gid_map, sizeof p.gid_map, "%lu %lu 1\n", spec->gid, (unsigned long)getegid());
    int rc = TEMPER_OK;
    if (make_pipes(fds) != 0) {
        rc = temper_fail(st, TEMPER_EIO, "cannot create pipes: %s", strerror(errno));
    }
    p.out_w = fds[0][1];
    p.err_w = fds[1][1];
    p.msg_w = fds[2][1];
    if (rc == TEMPER_OK && start(spec, &p, &w.pid) != 0) {
        res->outcome = TEMPER_SANDBOX_SETUP_FAILED;
        snprintf(res->setup, sizeof res->setup, "cannot create the sandbox's namespaces: %s%s",
                 strerror(errno), p.userns ? " (as an unprivileged user this needs user "
                 "namespaces: see kernel.unprivileged_userns_clone, user.max_user_namespaces, "
                 "kernel.apparmor_restrict_unprivileged_userns)" : "");
    }
    for (int i = 0; i < 3; i++) {
        close_fd(&fds[i][1]);
        w.fd[i] = fds[i][0];
    }
    if (w.pid > 0) {
        watch_loop(&w, spec->timeout_ms, res);
        int status = 0;
        while (waitpid((pid_t)w.pid, &status, 0) < 0 && errno == EINTR) {
        }
        conclude(&w, status, res);
    }
    for (int i = 0; i < 3; i++) {
        close_fd(&w.fd[i]);
    }
    temper_buf_cleanup(&w.msgs);
    return rc;
}

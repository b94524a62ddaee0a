/* temper — tracker_debian: checking an InRelease with gpgv.
 *
 * gpgv runs with posix_spawn (no shell, no PATH search): an argument
 * vector, stdin from /dev/null, stdout and stderr into one pipe read with a
 * deadline (64 KiB kept, the rest drained), a fixed environment (LC_ALL=C),
 * an empty --homedir of its own in the work directory, and SIGKILL when it
 * overruns `gpgv_timeout`.
 *
 *   gpgv --homedir WORK/gnupg --status-fd 1 --keyring KEYRING \
 *        --output WORK/InRelease.verified WORK/InRelease
 *
 * The verdict comes from the status lines, as apt reads them: good when at
 * least one signature is GOODSIG + VALIDSIG with a digest other than MD5,
 * SHA-1 or RIPEMD-160, and no signature is BADSIG.  A signature whose key is
 * not in the keyring (NO_PUBKEY), expired (EXPKEYSIG) or revoked (REVKEYSIG)
 * does not count, but does not spoil another good one (gpgv then exits 2,
 * which is why the exit code alone is not the verdict). */
#include "config.h"
#include "debian.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GPGV_OUTPUT_MAX (64u * 1024u)
#define GPGV_REASON_MAX 200

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int spawn_gpgv(const char *const argv[], int out_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dfl;
    char lc[] = "LC_ALL=C";
    char *envp[] = { lc, NULL };
    if (posix_spawn_file_actions_init(&fa) != 0) {
        return ENOMEM;
    }
    if (posix_spawnattr_init(&at) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return ENOMEM;
    }
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGCHLD);
    int e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    e = e ? e : posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    e = e ? e : posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 34)
    e = e ? e : posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
#endif
    e = e ? e : posix_spawnattr_setsigmask(&at, &none);
    e = e ? e : posix_spawnattr_setsigdefault(&at, &dfl);
    e = e ? e : posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    e = e ? e : posix_spawn(pid, argv[0], &fa, &at, (char *const *)argv, envp);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return e;
}

/* Read the child's output until EOF or the deadline; keeps at most
 * GPGV_OUTPUT_MAX bytes.  false when the deadline passed. */
static bool read_output(int fd, long long deadline, struct temper_buf *out)
{
    char chunk[4096];
    for (;;) {
        long long left = deadline - mono_ms();
        if (left <= 0) {
            return false;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (r <= 0) {
            if (r < 0 && errno != EINTR) {
                return true;
            }
            continue;
        }
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            return true;
        }
        size_t room = GPGV_OUTPUT_MAX - out->len;
        size_t take = (size_t)n < room ? (size_t)n : room;
        if (take && temper_buf_append(out, chunk, take) != TEMPER_OK) {
            return true;
        }
    }
}

/* Reap the child by the deadline, else kill it.  The exit code, or -1 when
 * it was killed (by us or by a signal). */
static int reap(pid_t pid, long long deadline, bool *timed_out)
{
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
        if (mono_ms() >= deadline) {
            *timed_out = true;
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            return -1;
        }
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

/* Run argv with a deadline; *out gets its output (stdout + stderr). */
static int run(struct temper_stage *st, const char *what, const char *const argv[],
               long long timeout_ms, struct temper_buf *out, int *code)
{
    int pfd[2];
    pid_t pid = -1;
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        return temper_fail(st, TEMPER_EIO, "%s: cannot run %s: pipe: %s", what, argv[0],
                           strerror(errno));
    }
    int e = spawn_gpgv(argv, pfd[1], &pid);
    close(pfd[1]);
    if (e != 0) {
        close(pfd[0]);
        return temper_fail(st, TEMPER_EIO, "%s: cannot run %s: %s", what, argv[0], strerror(e));
    }
    long long deadline = mono_ms() + timeout_ms;
    bool timed_out = !read_output(pfd[0], deadline, out);
    close(pfd[0]);
    *code = reap(pid, timed_out ? mono_ms() : deadline, &timed_out);
    if (timed_out) {
        return temper_fail(st, TEMPER_ETIMEOUT, "%s: %s did not finish within %lld ms: killed",
                           what, argv[0], timeout_ms);
    }
    return TEMPER_OK;
}

struct verdict {
    int good, bad, weak, expired, revoked, nokey, nodata;
    bool cur_good;
    char reason[GPGV_REASON_MAX];   /* first BADSIG / NO_PUBKEY line */
};

/* The n-th blank-separated field of s (0-based), as a number; -1 if none. */
static long long field_num(const char *s, int n)
{
    while (n-- > 0 && s) {
        s = strchr(s, ' ');
        s = s ? s + 1 : NULL;
    }
    char num[24];
    size_t k = 0;
    while (s && s[k] >= '0' && s[k] <= '9' && k + 1 < sizeof num) {
        num[k] = s[k];
        k++;
    }
    num[k] = '\0';
    long long v = -1;
    return k && temper_parse_ll(num, &v) == TEMPER_OK ? v : -1;
}

static void keep_reason(struct verdict *v, const char *line, size_t len)
{
    if (v->reason[0]) {
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < sizeof v->reason; i++) {
        unsigned char c = (unsigned char)line[i];
        v->reason[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    v->reason[k] = '\0';
}

static void status_line(struct verdict *v, const char *line, size_t len)
{
    static const char pfx[] = "[GNUPG:] ";
    if (len < sizeof pfx || memcmp(line, pfx, sizeof pfx - 1) != 0) {
        return;
    }
    const char *s = line + sizeof pfx - 1;
    size_t n = len - (sizeof pfx - 1);
#define IS(word) (n >= sizeof(word) - 1 && memcmp(s, word, sizeof(word) - 1) == 0 && \
                  (n == sizeof(word) - 1 || s[sizeof(word) - 1] == ' '))
    if (IS("NEWSIG")) {
        v->cur_good = false;
    } else if (IS("GOODSIG")) {
        v->cur_good = true;
    } else if (IS("BADSIG")) {
        v->bad++;
        v->reason[0] = '\0';
        keep_reason(v, s, n);
    } else if (IS("EXPKEYSIG")) {
        v->expired++;
    } else if (IS("REVKEYSIG")) {
        v->revoked++;
    } else if (IS("NODATA")) {
        v->nodata++;
    } else if (IS("NO_PUBKEY")) {
        v->nokey++;
        keep_reason(v, s, n);
    } else if (IS("VALIDSIG") && v->cur_good) {
        long long algo = field_num(s, 8); /* VALIDSIG fpr date ts exp ver res pk HASH */
        bool weak = algo >= 1 && algo <= 3; /* MD5, SHA-1, RIPEMD-160 */
        v->weak += weak;
        v->good += !weak;
        v->cur_good = false;
    }
#undef IS
}

static void read_status(struct verdict *v, const char *out, size_t len)
{
    const char *end = out + len;
    for (const char *p = out; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        status_line(v, p, n);
        p += n + 1;
    }
}

static int judge(struct temper_stage *st, const struct debian *d, const struct verdict *v,
                 int code)
{
    const char *u = d->safe_url;
    if (v->bad) {
        return temper_fail(st, TEMPER_ECRYPTO, "%s: bad signature (%s)", u, v->reason);
    }
    if (v->good) {
        return TEMPER_OK;
    }
    if (v->expired || v->revoked) {
        return temper_fail(st, TEMPER_ECRYPTO, "%s: signed only by %s keys", u,
                           v->expired ? "expired" : "revoked");
    }
    if (v->weak) {
        return temper_fail(st, TEMPER_ECRYPTO, "%s: signed only with a weak digest"
                           " (MD5, SHA-1 or RIPEMD-160)", u);
    }
    if (v->nokey) {
        return temper_fail(st, TEMPER_ECRYPTO, "%s: no key of %s made its signature (%s)", u,
                           d->conf->keyring, v->reason);
    }
    if (v->nodata) {
        return temper_fail(st, TEMPER_ECRYPTO, "%s: no valid signature (gpgv found no OpenPGP"
                           " signature: not signed?)", u);
    }
    return temper_fail(st, TEMPER_ECRYPTO, "%s: no valid signature (gpgv exit %d)", u, code);
}

char *debian_work_path(struct temper_stage *st, const char *name)
{
    const char *w = temper_stage_workdir(st);
    char *p = w ? temper_strdupf("%s/%s", w, name) : NULL;
    if (!p) {
        temper_fail(st, w ? TEMPER_ENOMEM : TEMPER_EINVAL, "no work directory for gpgv");
    }
    return p;
}

int debian_gpgv_verify(struct temper_stage *st, const struct debian *d, const char *path,
                       char **text, size_t *len)
{
    struct temper_buf out;
    temper_buf_init(&out, GPGV_OUTPUT_MAX);
    char *home = debian_work_path(st, "gnupg");
    char *verified = debian_work_path(st, "InRelease.verified");
    int rc = home && verified ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && mkdir(home, 0700) != 0 && errno != EEXIST) {
        rc = temper_fail(st, TEMPER_EIO, "cannot create %s: %s", home, strerror(errno));
    }
    if (rc == TEMPER_OK && unlink(verified) != 0 && errno != ENOENT) {
        rc = temper_fail(st, TEMPER_EIO, "cannot remove %s: %s", verified, strerror(errno));
    }
    int code = -1;
    if (rc == TEMPER_OK) {
        const char *argv[] = { d->conf->gpgv, "--homedir", home, "--status-fd", "1",
                               "--keyring", d->conf->keyring, "--output", verified, path,
                               NULL };
        rc = run(st, d->safe_url, argv, d->conf->gpgv_timeout, &out, &code);
    }
    if (rc == TEMPER_OK) {
        struct verdict v;
        memset(&v, 0, sizeof v);
        read_status(&v, out.data ? out.data : "", out.len);
        TEMPER_LOG_DEBUG(st, "gpgv exit %d, %zu bytes of output: %.2000s", code, out.len,
                         out.data ? out.data : "");
        rc = judge(st, d, &v, code);
    }
    if (rc == TEMPER_OK) {
        rc = pkgtrack_read_file(verified, d->conf->max_release_size, text, len);
        if (rc != TEMPER_OK) {
            rc = temper_fail(st, TEMPER_ECRYPTO, "%s: cannot read the text gpgv verified (%s):"
                             " %s", d->safe_url, verified, temper_rc_str(rc));
        }
    }
    if (verified) {
        (void)unlink(verified);
    }
    temper_buf_cleanup(&out);
    free(home);
    free(verified);
    return rc;
}

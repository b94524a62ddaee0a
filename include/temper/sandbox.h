/* temper — running one command inside an unpacked root file system in fresh
 * namespaces, with no container engine (moved here from suite_command so
 * that builder_source runs its recipe steps the same way).
 *
 * The caller clones the sandbox's init into fresh mount, PID, network, IPC
 * and UTS namespaces, plus a user namespace when it is not root.  The init
 * makes every mount private, bind-mounts the root onto itself, mounts a
 * fresh /proc (its dangerous parts read-only or hidden) and a small tmpfs
 * /dev with the harmless host devices, optionally keeps only the listed
 * directories writable (the root itself read-only) and a tmpfs on /tmp,
 * pivot_root()s into the root and detaches the old one, then runs the
 * command: /dev/null as stdin, pipes as stdout/stderr, rlimits, an empty
 * capability bounding set, no capabilities, no_new_privs, its own session
 * keyring, the given uid/gid.  The network namespace has only a loopback
 * interface that is down: no network.  At the time limit, when an output
 * passes max_output or when the stage is cancelled, the init is killed and
 * the kernel kills everything left in the PID namespace.
 *
 * The root must contain the directories proc and dev (and tmp when
 * tmpfs_tmp is set). */
#ifndef TEMPER_SANDBOX_H
#define TEMPER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <temper/rc.h>
#include <temper/buf.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_stage;

#define TEMPER_SANDBOX_MAX_WRITABLE 16

struct temper_sandbox_spec {
    uint32_t size;                      /* sizeof(struct temper_sandbox_spec) */
    const char *root;                   /* absolute host path of the root */
    char *const *argv;
    char *const *paths;                 /* candidates for argv[0], NULL-terminated */
    char *const *envp;
    const char *workdir;                /* inside the root */
    unsigned long uid, gid;             /* inside the sandbox */
    long long timeout_ms;
    size_t max_output;                  /* bytes of stdout, and of stderr */
    long long max_procs;
    unsigned long long max_file_size;
    unsigned long long max_memory;      /* 0 = unlimited */
    long long max_open_files;
    /* Remount the root read-only, except for `writable`: directories
     * relative to the root ("build", "staging"), at most
     * TEMPER_SANDBOX_MAX_WRITABLE, NULL-terminated (may be NULL). */
    bool readonly_root;
    const char *const *writable;
    /* A fresh tmpfs (mode 1777) on /tmp of at most this many bytes; 0 = none. */
    unsigned long long tmpfs_tmp;
    /* Parallel to `writable` (may be NULL): an absolute host directory
     * bind-mounted on writable[i] instead of writable[i] itself, so that a
     * shared read-only root (a cached build root) gets per-run directories. */
    const char *const *writable_src;
};

enum temper_sandbox_outcome {
    TEMPER_SANDBOX_EXITED = 0,          /* exit_code / signal say how */
    TEMPER_SANDBOX_SETUP_FAILED,        /* the sandbox could not be made: setup says why */
    TEMPER_SANDBOX_EXEC_FAILED,         /* the command could not be executed */
    TEMPER_SANDBOX_TIMEOUT,
    TEMPER_SANDBOX_OUTPUT_CAPPED,
    TEMPER_SANDBOX_CANCELLED
};

struct temper_sandbox_result {
    enum temper_sandbox_outcome outcome;
    int exit_code;                      /* EXITED, when not signalled */
    int signal;                         /* EXITED: killed by this signal, or 0 */
    char setup[256];                    /* SETUP/EXEC_FAILED: what went wrong */
    struct temper_buf out, err;         /* captured, at most max_output each */
    const char *capped;                 /* "stdout" or "stderr" (OUTPUT_CAPPED) */
};

/* Why this process cannot run sandboxes (unprivileged and the kernel
 * refuses user namespaces), as a message appended to why; TEMPER_OK when
 * it can (as far as can be told before trying), TEMPER_ENOTSUP otherwise. */
TEMPER_EXPORT int temper_sandbox_check(struct temper_buf *why) TEMPER_WARN_UNUSED;
/* Run spec's command; returns an error only when the run itself failed
 * (pipes, a bad spec), never for what the command did: that is in res. */
TEMPER_EXPORT int temper_sandbox_run(struct temper_stage *st,
                                     const struct temper_sandbox_spec *spec,
                                     struct temper_sandbox_result *res) TEMPER_WARN_UNUSED;
/* res->out and res->err get the cap max_output. */
TEMPER_EXPORT void temper_sandbox_result_init(struct temper_sandbox_result *res,
                                              size_t max_output);
TEMPER_EXPORT void temper_sandbox_result_cleanup(struct temper_sandbox_result *res);

#ifdef __cplusplus
}
#endif
#endif

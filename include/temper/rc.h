/* temper — return codes shared by the core, the SDK and every plugin.
 *
 * Public functions return TEMPER_OK (0) or a negative enum temper_rc.  A
 * verdict ("the guard blocked", "a test failed") is never an error: it is
 * reported through an out-parameter while the function returns TEMPER_OK.
 * Codes of third-party libraries never cross the plugin ABI. */
#ifndef TEMPER_RC_H
#define TEMPER_RC_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TEMPER_WARN_UNUSED __attribute__((warn_unused_result))
#define TEMPER_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define TEMPER_EXPORT __attribute__((visibility("default")))
#else
#define TEMPER_WARN_UNUSED
#define TEMPER_PRINTF(f, a)
#define TEMPER_EXPORT
#endif

enum temper_rc {
    TEMPER_OK = 0,
    TEMPER_ENOMEM = -1,    /* allocation failed */
    TEMPER_EINVAL = -2,    /* bad argument or configuration */
    TEMPER_EIO = -3,       /* file system or process I/O */
    TEMPER_ENET = -4,      /* network, HTTP transport or HTTP status */
    TEMPER_ECRYPTO = -5,   /* signature, hash or key failure */
    TEMPER_EFORMAT = -6,   /* malformed input data */
    TEMPER_EABI = -7,      /* plugin ABI mismatch */
    TEMPER_ENOTFOUND = -8, /* the named thing does not exist */
    TEMPER_ELIMIT = -9,    /* a configured size, count or time limit was hit */
    TEMPER_ESTATE = -10,   /* store or queue state conflict (lease lost, ...) */
    TEMPER_ENOTSUP = -11,  /* operation not supported by this plugin */
    TEMPER_ETIMEOUT = -12, /* an operation timed out */
    TEMPER_ECANCEL = -13,  /* the run was cancelled */
    TEMPER_EINTERNAL = -14 /* a bug */
};

/* Static, lower-case description of an rc ("out of memory").  Never NULL. */
TEMPER_EXPORT const char *temper_rc_str(int rc);

/* Verdict of a stage that decides something (guard, suite, verify). */
enum temper_verdict {
    TEMPER_VERDICT_NONE = 0, /* the stage does not decide */
    TEMPER_VERDICT_PASS = 1, /* go on */
    TEMPER_VERDICT_WARN = 2, /* go on, findings recorded */
    TEMPER_VERDICT_BLOCK = 3 /* stop: guard blocked, test failed */
};

#ifdef __cplusplus
}
#endif
#endif

/* temper — what suite_structure and suite_command share: finding the image an
 * image artifact names in its OCI layout, the image's user as passwd/group
 * see it, POSIX extended regular expressions over captured text, and
 * recording cases.
 *
 * The file is compiled into both modules (each module exports only its
 * descriptor, STYLE.md B3, so these names never leave the module); SUITE_NS
 * gives them a per-module prefix so that a static (dlpreopen) build that
 * links both modules into one program sees no duplicate symbols. */
#ifndef TEMPER_SUITE_COMMON_H
#define TEMPER_SUITE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <temper/buf.h>
#include <temper/oci.h>
#include <temper/plugin.h>
#include <temper/suite.h>

#ifndef SUITE_NS
#error "compile with -DSUITE_NS=<module name>"
#endif
#define SUITE_CAT2(a, b) a##_##b
#define SUITE_CAT(a, b) SUITE_CAT2(a, b)
#define sc_image_open SUITE_CAT(SUITE_NS, sc_image_open)
#define sc_image_cleanup SUITE_CAT(SUITE_NS, sc_image_cleanup)
#define sc_layer_blob SUITE_CAT(SUITE_NS, sc_layer_blob)
#define sc_user_split SUITE_CAT(SUITE_NS, sc_user_split)
#define sc_passwd_find SUITE_CAT(SUITE_NS, sc_passwd_find)
#define sc_group_find SUITE_CAT(SUITE_NS, sc_group_find)
#define sc_patterns SUITE_CAT(SUITE_NS, sc_patterns)
#define sc_case SUITE_CAT(SUITE_NS, sc_case)
#define sc_now_ms SUITE_CAT(SUITE_NS, sc_now_ms)
#define sc_verdict SUITE_CAT(SUITE_NS, sc_verdict)
#define sc_paths_add SUITE_CAT(SUITE_NS, sc_paths_add)
#define sc_paths_cleanup SUITE_CAT(SUITE_NS, sc_paths_cleanup)
#define sc_paths_join SUITE_CAT(SUITE_NS, sc_paths_join)
#define sc_glob_any SUITE_CAT(SUITE_NS, sc_glob_any)
#define sc_why SUITE_CAT(SUITE_NS, sc_why)

/* ---- the image ---------------------------------------------------------- */

/* The image an artifact names, resolved to one platform's manifest. */
struct sc_image {
    struct temper_oci_layout *layout;
    char digest[TEMPER_DIGEST_STR_LEN];   /* the manifest's digest */
    struct temper_oci_manifest manifest;
    struct temper_oci_config config;
    char platform[64];                    /* "linux/amd64" of the manifest */
};

/* Find the image of `art` (TEMPER_ART_IMAGE; path = the layout directory):
 * by its digest attribute (a manifest or an index), else by its ref
 * attribute (a ref.name of index.json), else the only entry of index.json.
 * An index is narrowed to the manifest of this machine's platform
 * (linux/<arch>); with `host_only` false, an index without it gives its
 * first manifest instead.  Errors are recorded on st. */
int sc_image_open(struct temper_stage *st, const struct temper_artifact *art, bool host_only,
                  struct sc_image *out);
void sc_image_cleanup(struct sc_image *im);
/* The blob of layer i, verified (size and digest): a new path (free()). */
int sc_layer_blob(struct temper_stage *st, const struct sc_image *im, size_t i, char **path);

/* ---- users ---------------------------------------------------------------- */

/* Split "user[:group]" into two new strings (group NULL when absent). */
int sc_user_split(const char *spec, char **user, char **group);
/* Look `name` (or, when numeric, the uid) up in the text of an /etc/passwd:
 * 1 when found (uid, gid and a new home string, may be NULL), 0 when not,
 * negative on ENOMEM. */
int sc_passwd_find(const char *text, size_t len, const char *name, unsigned long *uid,
                   unsigned long *gid, char **home);
/* The gid of group `name` in the text of an /etc/group: 1, 0 or negative. */
int sc_group_find(const char *text, size_t len, const char *name, unsigned long *gid);

/* ---- patterns ------------------------------------------------------------- */

/* Check text[0..len) (NUL bytes are line ends) against POSIX extended regular
 * expressions compiled with REG_NEWLINE (so ^ and $ match at every line):
 * each of `expected` must match, none of `excluded` may.  Each failure is
 * appended to `why` as "<what> lacks /RE/" or "<what> matches /RE/"
 * (separated by "; ").  TEMPER_EINVAL (and the reason in `why`) when a
 * pattern does not compile; TEMPER_OK otherwise, whatever matched. */
int sc_patterns(const struct temper_strlist *expected, const struct temper_strlist *excluded,
                const char *what, const char *text, size_t len, struct temper_buf *why);
/* Append a formatted reason to `why` and return rc (TEMPER_ENOMEM instead
 * when memory ran out; a reason cut at the buffer's cap is fine). */
int sc_why(struct temper_buf *why, int rc, const char *fmt, ...) TEMPER_PRINTF(3, 4);
/* 1 when `path` matches one of the fnmatch(3) patterns (flags 0: `*` also
 * matches '/'). */
int sc_glob_any(const struct temper_strlist *patterns, const char *path);

/* ---- cases ---------------------------------------------------------------- */

/* Record one case: duration since t0 (sc_now_ms()). */
int sc_case(struct temper_stage *st, const char *suite, const char *name,
            enum temper_case_status status, long long t0, const char *message,
            const char *output);
/* BLOCK when a case recorded on st from index `first` on failed or could
 * not be checked, else PASS. */
enum temper_verdict sc_verdict(const struct temper_stage *st, size_t first);
/* Monotonic milliseconds. */
long long sc_now_ms(void);

/* A capped list of paths for a failure message: the first SC_PATHS_SHOWN
 * are kept, the rest only counted. */
#define SC_PATHS_SHOWN 20
struct sc_paths {
    size_t n;                     /* all that were added */
    char *v[SC_PATHS_SHOWN];
};
int sc_paths_add(struct sc_paths *p, const char *fmt, ...) TEMPER_PRINTF(2, 3);
/* Append "a, b, c (and N more)" to b. */
int sc_paths_join(const struct sc_paths *p, struct temper_buf *b);
void sc_paths_cleanup(struct sc_paths *p);

#endif

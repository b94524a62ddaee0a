/* temper — suite_command internals: the unpacked image root
 * (command_root.c), the command line and environment of a case
 * (command_prep.c); the sandbox that runs it is the SDK's
 * (include/temper/sandbox.h). */
#ifndef TEMPER_COMMAND_H
#define TEMPER_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <temper/buf.h>
#include <temper/plugin.h>
#include <temper/sandbox.h>
#include "suite_common.h"

struct command_conf {
    long long timeout;                  /* ms */
    unsigned long long max_output;      /* bytes of stdout, and of stderr */
    long long max_procs;
    unsigned long long max_file_size;
    unsigned long long max_memory;      /* 0 = unlimited */
    long long max_open_files;
    unsigned long long max_unpacked;    /* per layer */
};

/* One [test "NAME"] section. */
struct command_case {
    char *name;
    char *command;
    long long exit_code;                /* -1 = any */
    struct temper_strlist expected_output;
    struct temper_strlist excluded_output;
    struct temper_strlist expected_error;
    struct temper_strlist excluded_error;
    char *user;
    struct temper_strlist env;
    char *workdir;
    long long timeout;                  /* ms; 0 = the instance's */
};

/* ---- the unpacked root -------------------------------------------------- */

struct croot {
    char *dir;          /* <stage workdir>/command-root, mode 0700 */
    char *root;         /* dir/rootfs: the image's "/" */
    int rootfd;
};

/* Extract every layer (whiteouts applied; ownership too when root) into a
 * fresh root under the stage's work directory, and make /proc and /dev
 * plain directories to mount on. */
int croot_unpack(struct temper_stage *st, const struct sc_image *im,
                 const struct command_conf *conf, struct croot *r);
/* Remove the root (directories made writable first; nothing followed). */
void croot_remove(struct croot *r);
/* Read a file of the image, resolved inside the root (symlinks cannot leave
 * it): 1 with *data (new, NUL-terminated), 0 when absent or not a regular
 * file, negative on error. */
int croot_read(const struct croot *r, const char *path, size_t cap, char **data,
               size_t *len);

/* ---- preparing a case ------------------------------------------------------ */

struct cuser {
    unsigned long uid, gid;
    char *home;
};

/* The user a case runs as: `spec` ("user[:group]", names looked up in the
 * image's /etc/passwd and /etc/group; "" = root).  TEMPER_ENOTFOUND with
 * the reason in why when a name is unknown. */
int cuser_resolve(const struct croot *r, const char *spec, struct cuser *out,
                  struct temper_buf *why);
void cuser_cleanup(struct cuser *u);

/* Split a command line into words: blanks separate, '...' is literal,
 * "..." keeps blanks with \" \\ \$ \` escapes, a backslash outside quotes
 * escapes the next character.  No expansion of any kind.  TEMPER_EINVAL
 * (reason in why) for an unterminated quote or an empty command. */
int cargv_split(const char *line, struct temper_strlist *out, struct temper_buf *why);
/* The environment: the image's Env, then the case's KEY=VALUE (replacing),
 * then PATH and HOME when still unset. */
int cenv_build(const struct temper_strlist *image_env, const struct temper_strlist *case_env,
               const char *home, struct temper_strlist *out);
/* Paths to try for argv0: itself when it has a '/', else each PATH
 * directory of env joined with it. */
int cexec_paths(const char *argv0, const struct temper_strlist *env,
                struct temper_strlist *out);
void cstrlist_cleanup(struct temper_strlist *l);

#endif

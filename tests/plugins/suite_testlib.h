/* temper — helpers of the suite plugin tests: images built with the SDK's
 * OCI writer (layers from memory or host files), image artifacts as a
 * builder emits them, and running a suite plugin over [test] blocks filled
 * by the real option code. */
#ifndef TEMPER_TESTS_SUITE_TESTLIB_H
#define TEMPER_TESTS_SUITE_TESTLIB_H

#include <stdbool.h>
#include <temper/temper.h>
#include "tests/lib/plugin_harness.h"

#define STL_MAX_LAYERS 8

/* An image being written into an OCI layout. */
struct stl_image {
    char dir[512];                      /* the layout directory */
    struct temper_oci_layout *l;
    struct temper_oci_layer *ly;        /* the layer being written */
    struct temper_oci_descriptor layers[STL_MAX_LAYERS];
    char diff[STL_MAX_LAYERS][TEMPER_DIGEST_STR_LEN];
    size_t n;
    struct temper_oci_config cfg;       /* User, Env, ... set by the test */
    struct temper_oci_descriptor manifest;
};

/* Start an image in layout `dir` (created; its parent must exist): config
 * linux/<this machine>, first layer open. */
int stl_begin(struct stl_image *im, const char *dir);
/* Close the current layer and open the next. */
int stl_layer(struct stl_image *im);
int stl_file(struct stl_image *im, const char *path, unsigned mode, unsigned long uid,
             const char *data);
int stl_data(struct stl_image *im, const char *path, unsigned mode, const void *data,
             size_t len);
int stl_dir(struct stl_image *im, const char *path, unsigned mode, unsigned long uid);
int stl_symlink(struct stl_image *im, const char *path, const char *target);
int stl_hardlink(struct stl_image *im, const char *path, const char *target);
int stl_whiteout(struct stl_image *im, const char *path, bool opaque);
/* A host file (e.g. /bin/busybox) copied into the image. */
int stl_copy(struct stl_image *im, const char *path, const char *src, unsigned mode);
/* The usual base: /etc (passwd with root and nonroot 65532, group,
 * os-release), /tmp 1777, /home/nonroot owned by 65532, user 65532. */
int stl_base(struct stl_image *im);
/* Finish: the image written under `ref`; *art (free with
 * temper_artifact_free) names it like a builder does (path, digest, media
 * type, ref, variant when not NULL). */
int stl_finish(struct stl_image *im, const char *ref, const char *variant,
               struct temper_artifact **art);
void stl_cleanup(struct stl_image *im);
/* Close the plugin, free the artifact and clean the image up. */
void stl_done(struct ph *h, struct temper_artifact *a, struct stl_image *im);

/* Run the suite of `h` on `art` with the [test] blocks given as
 * NULL-terminated "key=value" lists (cases[i]); cases recorded so far are
 * forgotten first.  Returns run()'s rc; *err (free()) says why a block was
 * refused by the option code. */
int stl_run(struct ph *h, const struct temper_artifact *art, const char *const *const *cases,
            size_t n, enum temper_verdict *verdict, char **err);
/* The same, printing why a block was refused or the run failed, and the
 * recorded cases, as TAP comments. */
int stl_run_logged(struct ph *h, const struct temper_artifact *art,
                   const char *const *const *cases, size_t n, enum temper_verdict *verdict);
/* Load suite_<name> with instance settings "key=value" (NULL-terminated)
 * and open it; a refusal is printed as a TAP comment. */
int stl_open(struct ph *h, const char *name, const char *const *kv);
/* The recorded case named `name`, or NULL; its status (-1 when absent),
 * message and output ("" when absent). */
const struct temper_case *stl_case(const struct ph *h, const char *name);
enum temper_case_status stl_status(const struct ph *h, const char *name);
const char *stl_message(const struct ph *h, const char *name);
const char *stl_output(const struct ph *h, const char *name);
/* Print the recorded cases as TAP comments. */
void stl_dump_cases(const struct ph *h);

/* Send the log to a capture file (keeps it out of the TAP stream), and
 * print what was logged as TAP comments at the end. */
void stl_log_begin(void);
void stl_log_end(void);

/* A fresh directory under TMPDIR (or /tmp), mode 0755; path in out. */
int stl_mkdtemp(char *out, size_t cap, const char *tag);
/* rm -rf (no symlinks followed; directories made writable first). */
void stl_rmtree(const char *path);
/* The GOARCH of this machine. */
const char *stl_arch(void);

#endif

/* temper — the upstream change between two release tarballs (issue #8).
 *
 * For an upstream that publishes release tarballs instead of a GitHub
 * repository, a tracker's diff() (or a tool) downloads the old and the new
 * release and turns the difference into the same `git format-patch` mbox the
 * GitHub compare path writes (include/temper/patch.h), so the guard stage
 * reads both the same way.
 *
 * Safety: the archives (any format and filter libarchive reads: tar, pax,
 * gzip, xz, bzip2, zstd, zip) are read in memory, never extracted to disk, so
 * no entry can write outside anything; names with ".." components, absolute
 * names and NUL bytes are skipped and counted; a common top-level directory
 * ("pkg-1.0/") is stripped on each side.  Directories, devices and fifos are
 * ignored; symbolic links compare by their target; hard links by the data of
 * their target.  Every size is capped (downloads, entries, bytes per tree,
 * bytes per file, bytes of the mbox).
 *
 * The mbox holds one message: "From <sha>" (the SHA-256 of the two tarball
 * digests), author "temper tarball diff", subject "[PATCH] NAME OLD...NEW
 * (release tarballs)", a body naming both URLs and SHA-256 digests, then
 * one `diff --git` per changed path, sorted: unified hunks with 3 lines of
 * context for text, "Binary files a/X and b/X differ" for binary files
 * (a NUL byte in the first 8 KiB) and for files over max_file_bytes, file
 * modes for added, deleted and mode-changed files. */
#ifndef TEMPER_TARDIFF_H
#define TEMPER_TARDIFF_H

#include <stddef.h>
#include <stdint.h>
#include <temper/rc.h>
#include <temper/buf.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_stage;
struct temper_http;

struct temper_tardiff_opts {
    uint32_t size;                   /* sizeof(struct temper_tardiff_opts) */
    const char *name;                /* upstream name for the subject; "upstream" */
    const char *old_version, *new_version; /* for the subject; "old" / "new" */
    const char *old_sha256, *new_sha256;   /* expected hex digests, or NULL */
    unsigned long long max_download; /* bytes of one tarball; default 512 MiB */
    unsigned long long max_tree;     /* uncompressed bytes read per tree; 512 MiB */
    size_t max_entries;              /* entries per tarball; default 100 000 */
    unsigned long long max_file_bytes; /* larger files are diffed as binary; 8 MiB */
    size_t max_output;               /* bytes of the mbox; default 256 MiB */
};

TEMPER_EXPORT void temper_tardiff_opts_init(struct temper_tardiff_opts *o);

/* Diff two tarballs on disk into `out` (appended; its cap also applies).
 * old_label / new_label name them in the body (URL or path; borrowed).
 * Errors recorded on st: TEMPER_EFORMAT (not an archive, corrupt),
 * TEMPER_ELIMIT (a cap), TEMPER_EIO, TEMPER_ENOMEM. */
TEMPER_EXPORT int temper_tardiff_files(struct temper_stage *st, const char *old_tar,
                                       const char *new_tar, const char *old_label,
                                       const char *new_label,
                                       const struct temper_tardiff_opts *o,
                                       struct temper_buf *out) TEMPER_WARN_UNUSED;

/* Download both tarballs with h (TLS verified, capped by max_download,
 * checked against old_sha256 / new_sha256 when given) next to out_path,
 * diff them and write the mbox to out_path atomically (mode 0644).  The
 * downloads are removed afterwards.  Errors recorded on st. */
TEMPER_EXPORT int temper_tardiff_urls(struct temper_stage *st, struct temper_http *h,
                                      const char *old_url, const char *new_url,
                                      const struct temper_tardiff_opts *o,
                                      const char *out_path) TEMPER_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif

/* temper — internals shared by sdk/oci_*.c (not installed). */
#ifndef TEMPER_SDK_OCI_INT_H
#define TEMPER_SDK_OCI_INT_H

#include <temper/oci.h>
#include <temper/plugin.h>
#include <locale.h>
#include <stdbool.h>
#include <stddef.h>

struct json_object;

/* ---- sha256 (oci_model.c), on the SDK's temper_sha256_* ---- */
/* Finish h into "sha256:<hex>"; TEMPER_ECRYPTO if gnutls failed. */
int oci_sha256_digest(struct temper_sha256 *h, char digest[TEMPER_DIGEST_STR_LEN]);
int oci_digest_of(const void *p, size_t n, char digest[TEMPER_DIGEST_STR_LEN]);

/* Duplicate s (NULL stays NULL); returns TEMPER_ENOMEM on failure. */
int oci_strdup(char **dst, const char *s);
int oci_list_copy(struct temper_strlist *dst, const struct temper_strlist *src);
int oci_map_copy(struct temper_oci_map *dst, const struct temper_oci_map *src);

/* ---- files (oci_fs.c) ---- */
/* write(2) all of p, retrying on EINTR / short writes. */
int oci_write_all(int fd, const void *p, size_t n);
/* Create a new unique file "<prefix><random>" in dirfd (O_EXCL, O_NOFOLLOW,
 * mode 0644); name gets at most 64 bytes. */
int oci_tmp_create(int dirfd, const char *prefix, char name[64], int *fd);
/* Read a small regular file of dirfd (O_NOFOLLOW) whole, at most max bytes;
 * *data NUL-terminated (free()).  TEMPER_ENOTFOUND, TEMPER_ELIMIT,
 * TEMPER_EIO; records "<label>: ..." on failure. */
int oci_read_small(struct temper_stage *st, int dirfd, const char *name, const char *label,
                   size_t max, char **data, size_t *len);
/* Replace dirfd/name atomically with data (temp + fsync + rename + fsync). */
int oci_replace_file(struct temper_stage *st, int dirfd, const char *name,
                     const char *label, const void *data, size_t len);
/* Stream-hash an open fd from its current offset to EOF. */
int oci_hash_fd(int fd, char digest[TEMPER_DIGEST_STR_LEN], long long *size);

/* libarchive converts names between the locale's charset and UTF-8, and
 * 3.6 crashes on a UTF-8 name in a non-UTF-8 locale.  Every libarchive call
 * that handles names runs between oci_locale_enter() and _leave(), which
 * switch this thread to C.UTF-8 (uselocale), so that names are UTF-8 and
 * the bytes written do not depend on the process locale.  enter returns
 * (locale_t)0 and changes nothing when C.UTF-8 is not installed:
 * oci_utf8_ok() then says so. */
locale_t oci_locale_enter(void);
void oci_locale_leave(locale_t old);
bool oci_utf8_ok(void);
/* 1 when s is valid UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF); with ascii_only, when s is also 7-bit. */
int oci_utf8_valid(const char *s, bool ascii_only);

/* ---- layout internals (oci_layout.c) ---- */
int oci_layout_blobfd(const struct temper_oci_layout *l);
/* Move the fsynced temp file `tmp` (in blobs/sha256) to the blob named by
 * digest, keeping an existing blob that has the right content; removes tmp
 * in every case. */
int oci_blob_commit(struct temper_stage *st, struct temper_oci_layout *l, const char *tmp,
                    const char *digest);
/* Open a blob read-only with O_NOFOLLOW, regular file checked; *size is its
 * size on disk. */
int oci_blob_open(struct temper_stage *st, const struct temper_oci_layout *l,
                  const char *digest, int *fd, long long *size);

/* ---- JSON internals (oci_json_*.c) ---- */
int oci_desc_to_json(const struct temper_oci_descriptor *d, struct json_object **out);
int oci_desc_from_json(struct temper_stage *st, const char *what, struct json_object *o,
                       struct temper_oci_descriptor *d);
/* Serialise o without whitespace or slash escaping; *json new. */
int oci_json_dump(struct json_object *o, char **json, size_t *len);
/* Parse one object; *out new reference. */
int oci_json_load(struct temper_stage *st, const char *what, const char *json, size_t len,
                  struct json_object **out);

/* ---- layer path normalisation (oci_layer.c) ---- */
/* Normalise an in-layer path into out (see struct temper_oci_entry):
 * TEMPER_EINVAL for "..", empty results or paths over 4095 bytes. */
int oci_path_clean(const char *in, char *out, size_t cap);
struct temper_stage *oci_layer_stage(const struct temper_oci_layer *ly);
/* Add a regular-file entry whose `size` bytes are read from fd (src names
 * it in messages). */
int oci_layer_add_fd(struct temper_oci_layer *ly, const struct temper_oci_entry *e, int fd,
                     long long size, const char *src);

/* ---- extraction (oci_extract.c) ---- */
struct archive;
/* Extract every entry of an archive already opened for reading (tar format
 * and filters chosen by the caller) into root, with the rules of
 * temper_oci_layer_extract; `name` names the stream in messages.  The
 * archive stays the caller's. */
int oci_extract_archive(struct temper_stage *st, struct archive *a, const char *name,
                        const char *root, const struct temper_oci_extract_opts *opts);

/* ---- extraction helpers (oci_resolve.c) ---- */
#define OCI_MAX_LINKS 40
/* Resolve the parent directory of the clean relative `path` inside the root
 * rootfd, following symlinks met on the way but scoped to the root (".."
 * and absolute targets never climb above it), never following the last
 * component.  Missing parents are created (0755) when `create`.  On success
 * *dirfd is a new O_PATH descriptor and *base points at the last component
 * in path.  Returns 0 or an errno value (ELOOP, ENOTDIR, ENOENT, ...). */
int oci_root_parent(int rootfd, const char *path, bool create, int *dirfd,
                    const char **base);
/* Remove name in dirfd recursively without following symlinks; ENOENT is
 * success.  Returns 0 or an errno value. */
int oci_remove_tree(int dirfd, const char *name);

/* A set of strings (paths extracted by the current layer). */
struct oci_pathset;
int oci_pathset_new(struct oci_pathset **out);
void oci_pathset_free(struct oci_pathset *s);
int oci_pathset_add(struct oci_pathset *s, const char *path);
bool oci_pathset_has(const struct oci_pathset *s, const char *path);
/* Opaque whiteout: remove everything below directory `dir` (clean path)
 * that is not in `keep`; directories in keep are descended into.  Returns 0
 * or an errno value. */
int oci_remove_unkept(int rootfd, const char *dir, const struct oci_pathset *keep);

#endif

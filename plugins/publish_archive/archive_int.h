/* temper — publish_archive internals (not installed). */
#ifndef TEMPER_PUBLISH_ARCHIVE_INT_H
#define TEMPER_PUBLISH_ARCHIVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <temper/temper.h>
#include <temper/oci.h>

struct archive;

/* A tarball being written to a temp file next to its final path; renamed
 * into place by pubarc_tar_commit (after fsync), removed by pubarc_tar_abort. */
struct pubarc_tar {
    struct temper_stage *st;
    struct archive *a;
    char *path; /* final */
    char *tmp;  /* temp file in the same directory */
    int fd;
};

int pubarc_tar_open(struct temper_stage *st, const char *path, struct pubarc_tar *w);
/* A directory entry (mode 0755) or a file entry of `size` bytes (0644). */
int pubarc_tar_dir(struct pubarc_tar *w, const char *name);
int pubarc_tar_data(struct pubarc_tar *w, const char *name, const void *p, size_t n);
/* A file entry streamed from an open fd of known size. */
int pubarc_tar_fd(struct pubarc_tar *w, const char *name, int fd, long long size);
int pubarc_tar_commit(struct pubarc_tar *w);
void pubarc_tar_abort(struct pubarc_tar *w);

/* The oci-archive: a tar of an OCI layout directory `dir` (oci-layout,
 * index.json, blobs/sha256/<hex>, in that order, blobs sorted). */
int pubarc_write_oci(struct temper_stage *st, const char *dir, const char *path);

/* The docker-archive of the single-platform image `img` of layout l:
 * manifest.json, <config hex>.json, <diff_id hex>/layer.tar (uncompressed,
 * checked against the config's diff_ids). repo_tags: "NAME:TAG". */
int pubarc_write_docker(struct temper_stage *st, const struct temper_oci_layout *l,
                        const struct temper_oci_descriptor *img, const char *const *repo_tags,
                        size_t n_tags, const char *path);

#endif

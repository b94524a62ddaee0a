/* temper — Debian binary packages (.deb, deb(5)): the control data and the
 * safe extraction of the file system tree, with no maintainer script ever
 * run.
 *
 * A .deb is an ar archive: "debian-binary" ("2.x"), then "control.tar[.gz|
 * .xz|.zst]", then "data.tar[.gz|.xz|.zst|.bz2|.lzma]"; members whose name
 * starts with '_' are skipped, anything else is refused.  Both tars are read
 * as streams inside the ar (nothing is unpacked to a temporary file) with
 * libarchive's in-process decompressors only: a filter libarchive would run
 * as an external program is never enabled.  The data tar goes through the
 * extractor of temper_oci_layer_extract() (include/temper/oci.h): "..",
 * absolute names, hardlinks out of the root and device nodes are refused,
 * symlinks met on the way are resolved inside the root, and the filter
 * callback of struct temper_oci_extract_opts sees every entry first. */
#ifndef TEMPER_DEB_H
#define TEMPER_DEB_H

#include <stddef.h>
#include <stdint.h>
#include <temper/rc.h>
#include <temper/buf.h>
#include <temper/oci.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_stage;

struct temper_deb_extract_opts {
    uint32_t size;              /* sizeof(struct temper_deb_extract_opts) */
    /* Rules for the data tar (name, devices, setuid, caps, filter callback);
     * NULL: the defaults of temper_oci_layer_extract.  When its `name` is
     * NULL, messages name the .deb. */
    const struct temper_oci_extract_opts *extract;
    /* Receive the control file and the md5sums file of the control tar
     * (appended; each may be NULL).  Give them a cap with temper_buf_init():
     * a bigger member fails with TEMPER_ELIMIT. */
    struct temper_buf *control;
    struct temper_buf *md5sums;
};

/* Read the .deb at `deb`; when root is not NULL, extract its data tar into
 * root (created if missing, its parent must exist), else stop after the
 * control tar.  Errors name the .deb and the member or entry:
 * TEMPER_EFORMAT for a malformed package (not an ar archive, members out of
 * order, unknown member, unsupported compression, a refused entry),
 * TEMPER_ELIMIT past a cap, TEMPER_EIO for file system failures. */
TEMPER_EXPORT int temper_deb_extract(struct temper_stage *st, const char *deb,
                                     const char *root,
                                     const struct temper_deb_extract_opts *opts)
    TEMPER_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif

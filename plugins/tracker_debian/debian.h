/* temper — tracker_debian internals: the InRelease (fetched, verified with
 * gpgv, checked for validity and replay), the Packages indexes it lists
 * (fetched by hash or by name and checked against it). */
#ifndef TEMPER_TRACKER_DEBIAN_H
#define TEMPER_TRACKER_DEBIAN_H

#include <stdbool.h>
#include <temper/temper.h>
#include "pkgtrack.h"

#define debian_gpgv_verify PKGTRACK_CAT(PKGTRACK_NS, debian_gpgv_verify)
#define debian_release_check PKGTRACK_CAT(PKGTRACK_NS, debian_release_check)
#define debian_packages_fetch PKGTRACK_CAT(PKGTRACK_NS, debian_packages_fetch)
#define debian_work_path PKGTRACK_CAT(PKGTRACK_NS, debian_work_path)
#define debian_distribution PKGTRACK_CAT(PKGTRACK_NS, debian_distribution)

struct debian_conf {
    char *mirror;
    char *suite;
    struct temper_strlist components;
    char *arch;
    char *keyring;
    char *gpgv;
    long long gpgv_timeout;             /* ms */
    struct temper_strlist packages;
    struct temper_strlist sources;
    unsigned long long max_release_size;
    unsigned long long max_index_size;
    bool check_valid_until;
    struct pkgtrack_conf common;
};

struct debian {
    const struct debian_conf *conf;
    char *base;         /* MIRROR/dists/SUITE/ (no doubled '/') */
    char *release_url;  /* base + "InRelease" */
    char *safe_url;     /* release_url fit for messages */
    char fp[17];        /* state fingerprint */
};

/* WORK/<name> (new string); NULL recorded when the stage has no work
 * directory or memory ran out. */
char *debian_work_path(struct temper_stage *st, const char *name);

/* Run gpgv on the file `path` (the InRelease as fetched): TEMPER_OK when at
 * least one signature is good, made with a strong digest by a key of the
 * keyring, and none is bad; TEMPER_ECRYPTO with the reason otherwise.
 * *text (new) gets the signed text gpgv verified, *len its length. */
int debian_gpgv_verify(struct temper_stage *st, const struct debian *d, const char *path,
                       char **text, size_t *len);

/* Verify and parse an InRelease body: signature (gpgv), the text gpgv
 * verified is the text parsed, suite, Valid-Until, Date not older than
 * `saved_date` (-1: none) nor in the future.  *out is new. */
int debian_release_check(struct temper_stage *st, const struct debian *d, const char *body,
                         size_t len, long long saved_date, struct temper_release **out);

/* The distribution changes name: the `distribution` option, else
 * "<origin>:<codename>" with the origin in lower case and the codename cut
 * at its first '-' ("Debian" + "bookworm-security" -> "debian:bookworm",
 * "Ubuntu" + "noble" -> "ubuntu:noble"), so that the changes of an -updates
 * or -security suite reach the images built from the release.  New string. */
int debian_distribution(struct temper_stage *st, const struct debian *d,
                        const struct temper_release *r, char **out);

/* Fetch the Packages index of every component and load it; idx[i] gets the
 * table of component i (new, temper_debindex_free). */
int debian_packages_fetch(struct temper_stage *st, const struct debian *d,
                          struct temper_http *h, const struct temper_release *r,
                          struct temper_debindex **idx);

#endif

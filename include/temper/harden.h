/* temper — the hardening every package builder applies (builder_deb,
 * builder_apk, ...), and safe file operations inside an image root.
 *
 * Two halves:
 *  1. temper_harden_rootfs() post-processes the staged root directory once
 *     the packages are in it: /etc/passwd and /etc/group with root, nobody
 *     and the non-root user 65532 "nonroot" (existing entries are kept,
 *     missing ones appended, in a fixed order), /home/nonroot (0700, owned
 *     by 65532 in the layer), /root (0700), /tmp (1777), /etc/os-release
 *     (the distribution's ID/VERSION_ID kept so that scanners still know the
 *     distribution, plus IMAGE_ID, IMAGE_VERSION, VARIANT_ID and a
 *     PRETTY_NAME naming the image and its upstream version); the dev
 *     variant gets /bin/sh -> dash or bash when the packages did not ship
 *     one.
 *  2. temper_harden_tree() is a temper_oci_tree_fn for
 *     temper_oci_layer_add_tree(): it decides, entry by entry, what goes into
 *     the layer, so the staged root is never modified for it:
 *       - setuid/setgid bits are cleared (strip_setuid);
 *       - a world-writable entry loses o+w unless it is a directory with the
 *         sticky bit (fix_world_writable); symlinks are left alone;
 *       - documentation (usr/share/doc except each package's copyright file,
 *         which licences require, usr/share/man, usr/share/info,
 *         usr/share/doc-base) is dropped unless keep_docs;
 *       - translations (usr/share/locale except locale.alias) and compiled
 *         locales other than C.utf8 (usr/lib/locale) are dropped unless
 *         keep_locales;
 *       - runtime variant: shells (sh, bash, dash, rbash, ash, busybox, zsh,
 *         ksh, mksh, csh, tcsh, fish in bin, sbin, usr/bin, usr/sbin) are
 *         dropped unless keep_shell, package managers (apt, apt-*, dpkg,
 *         dpkg-*, aptitude, apk) unless keep_package_manager; the dev
 *         variant always keeps both (its builder adds them);
 *       - sockets are skipped; home/nonroot is owned by 65532:65532.
 *     Every rule is switchable from the image's [build] section: put
 *     TEMPER_HARDEN_OPTIONS(...) in the builder's image_options table.
 *  3. temper_harden_config() fills the image config and the manifest
 *     annotations: User (the definition's, else 65532 with nonroot_user,
 *     else root), Env (PATH by default), Entrypoint, Cmd, WorkingDir and the
 *     org.opencontainers.image.* labels: title (image name), version (the
 *     upstream version), source, revision, created (SOURCE_DATE_EPOCH),
 *     base.name, vendor, description; plus dev.temper.image.variant and
 *     dev.temper.image.distribution.
 *
 * Safe root operations (temper_rootfs_*): `path` is relative to the root
 * ("etc/passwd"); parents are resolved inside the root exactly like the
 * layer extractor does (a symlink met on the way is followed but never above
 * the root, an absolute target means "inside the image"), and the last
 * component is never followed: an existing file or symlink there is
 * replaced, not written through.  So a package that ships etc/passwd as a
 * symlink to /etc/shadow cannot make the builder write outside the root. */
#ifndef TEMPER_HARDEN_H
#define TEMPER_HARDEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <temper/rc.h>
#include <temper/option.h>
#include <temper/oci.h>
#include <temper/builder.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_stage;

#define TEMPER_HARDEN_UID 65532
#define TEMPER_HARDEN_USER "nonroot"

/* The switches, filled from the image's [build] section.  Strings belong to
 * the option code (never freed by the builder). */
struct temper_harden_conf {
    bool nonroot_user;          /* passwd/group + default User 65532 */
    bool strip_setuid;
    bool fix_world_writable;
    bool keep_docs;
    bool keep_locales;
    bool keep_shell;            /* runtime variant */
    bool keep_package_manager;  /* runtime variant */
    bool os_release;            /* write /etc/os-release */
    char *vendor;               /* org.opencontainers.image.vendor */
    char *source;               /* ...source: upstream project URL */
    char *revision;             /* ...revision: upstream commit or tag */
    char *description;          /* ...description */
};

/* Option table entries for a builder's image_options: `type` is the
 * builder's image conf struct, `member` its struct temper_harden_conf. */
#define TEMPER_HARDEN_OPT_(t, key, def, type, field, doc) \
    { t, key, def, 0, offsetof(type, field), 0, 0, NULL, doc }
#define TEMPER_HARDEN_OPTIONS(type, member) \
    TEMPER_HARDEN_OPT_(TEMPER_OPT_BOOL, "nonroot_user", "true", type, member.nonroot_user, \
        "write root, nobody and nonroot (65532) to /etc/passwd and /etc/group and run as " \
        "65532 unless `user` says otherwise"), \
    TEMPER_HARDEN_OPT_(TEMPER_OPT_BOOL, "strip_setuid", "true", type, member.strip_setuid, \
        "clear every setuid and setgid bit"), \
    TEMPER_HARDEN_OPT_(TEMPER_OPT_BOOL, "fix_world_writable", "true", type, \
        member.fix_world_writable, \
        "remove o+w from every path except directories with the sticky bit"), \
    TEMPER_HARDEN_OPT_(TEMPER_OPT_BOOL, "keep_docs", "false", type, member.keep_docs, \
        "keep documentation, man and info pages (copyright files are always kept)"), \
    TEMPER_HARDEN_OPT_(TEMPER_OPT_BOOL, "keep_locales", "false", type, member.keep_locales, \
        "keep translations and compiled locales other than C.utf8"), \
    TEMPER_HARDEN_OPT_(TEMPER_OPT_BOOL, "keep_shell", "false", type, member.keep_shell, \
        "keep shells in the runtime variant"), \
    TEMPER_HARDEN_OPT_(TEMPER_OPT_BOOL, "keep_package_manager", "false", type, \
        member.keep_package_manager, "keep the package manager in the runtime variant"), \
    TEMPER_HARDEN_OPT_(TEMPER_OPT_BOOL, "os_release", "true", type, member.os_release, \
        "write /etc/os-release naming the image and its upstream version"), \
    TEMPER_HARDEN_OPT_(TEMPER_OPT_STR, "vendor", "temper", type, member.vendor, \
        "org.opencontainers.image.vendor label"), \
    TEMPER_HARDEN_OPT_(TEMPER_OPT_STR, "source", NULL, type, member.source, \
        "org.opencontainers.image.source label: the upstream project's URL"), \
    TEMPER_HARDEN_OPT_(TEMPER_OPT_STR, "revision", NULL, type, member.revision, \
        "org.opencontainers.image.revision label: the upstream commit or tag"), \
    TEMPER_HARDEN_OPT_(TEMPER_OPT_STR, "description", NULL, type, member.description, \
        "org.opencontainers.image.description label")

/* What the image is; strings borrowed for the calls that take it. */
struct temper_harden_info {
    uint32_t size;              /* sizeof(struct temper_harden_info) */
    const char *name;           /* image name (title, IMAGE_ID) */
    const char *version;        /* upstream version, or NULL */
    const char *variant;        /* "runtime" or "dev" */
    const char *distribution;   /* "debian:bookworm" */
    const char *base_name;      /* reference of the base image, or NULL */
    long long created;          /* SOURCE_DATE_EPOCH (seconds) */
    /* os-release fallbacks when the root has none (no base-files). */
    const char *os_id;          /* "debian", "ubuntu", "alpine" */
    const char *os_name;        /* "Debian GNU/Linux" */
    const char *os_version_id;  /* "12", "3.19" */
    const char *os_codename;    /* "bookworm" */
};

/* What the tree callback did, for logs and tests. */
struct temper_harden_stats {
    size_t docs, locales, shells, package_managers; /* entries dropped */
    size_t setuid;              /* entries whose setuid/setgid bits were cleared */
    size_t world_writable;      /* entries whose o+w was removed */
    size_t sockets;             /* sockets skipped */
};

struct temper_harden; /* opaque */

/* Rules for one image.  `conf` NULL takes the defaults of the option table
 * above; it is copied (strings borrowed until _free).  variant "dev" keeps
 * shells and package managers. */
TEMPER_EXPORT int temper_harden_new(struct temper_stage *st,
                                    const struct temper_harden_conf *conf,
                                    const char *variant, struct temper_harden **out)
    TEMPER_WARN_UNUSED;
TEMPER_EXPORT void temper_harden_free(struct temper_harden *h);
/* Fill c with the defaults of TEMPER_HARDEN_OPTIONS (strings NULL except
 * vendor, which points at a static "temper"). */
TEMPER_EXPORT void temper_harden_conf_default(struct temper_harden_conf *c);

/* Post-process the root directory (see 1. above). */
TEMPER_EXPORT int temper_harden_rootfs(struct temper_harden *h, const char *root,
                                       const struct temper_harden_info *info)
    TEMPER_WARN_UNUSED;

/* The layer-tree callback (see 2. above); ctx is a struct temper_harden. */
TEMPER_EXPORT int temper_harden_tree(void *ctx, struct temper_oci_entry *e, const char *src);
TEMPER_EXPORT void temper_harden_stats(const struct temper_harden *h,
                                       struct temper_harden_stats *out);

/* Fill the config's execution parameters and labels and the manifest
 * annotations (see 3. above) from the definition and info; architecture,
 * os and created are set too (created from info->created).  Fields already
 * set in cfg are replaced. */
TEMPER_EXPORT int temper_harden_config(struct temper_harden *h,
                                       const struct temper_image_def *def,
                                       const struct temper_harden_info *info,
                                       struct temper_oci_config *cfg,
                                       struct temper_oci_map *annotations)
    TEMPER_WARN_UNUSED;

/* ---- safe operations inside a root (see the top of this file) ------------ */

/* Write data as the regular file `path` (mode bits 07777), creating missing
 * parent directories (0755) and replacing whatever is at `path`. */
TEMPER_EXPORT int temper_rootfs_write(struct temper_stage *st, const char *root,
                                      const char *path, const void *data, size_t len,
                                      unsigned mode) TEMPER_WARN_UNUSED;
/* Read the regular file `path` (a symlink as last component is not
 * followed: TEMPER_ENOTFOUND like a missing file), at most max bytes
 * (TEMPER_ELIMIT).  *data is new, NUL-terminated (free()). */
TEMPER_EXPORT int temper_rootfs_read(struct temper_stage *st, const char *root,
                                     const char *path, size_t max, char **data, size_t *len)
    TEMPER_WARN_UNUSED;
/* Make sure `path` is a directory with `mode` (created with its parents). */
TEMPER_EXPORT int temper_rootfs_mkdir(struct temper_stage *st, const char *root,
                                      const char *path, unsigned mode) TEMPER_WARN_UNUSED;
/* Replace `path` with a symlink to target. */
TEMPER_EXPORT int temper_rootfs_symlink(struct temper_stage *st, const char *root,
                                        const char *path, const char *target)
    TEMPER_WARN_UNUSED;
/* What is at `path` without following it: 0 missing, else S_IFREG, S_IFDIR,
 * S_IFLNK... (the file type bits of st_mode). */
TEMPER_EXPORT unsigned temper_rootfs_type(const char *root, const char *path);

#ifdef __cplusplus
}
#endif
#endif

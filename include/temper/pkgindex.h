/* temper — distribution package indexes: Debian deb822 (Packages, Sources,
 * Release/InRelease, dpkg status) and Alpine APKINDEX / .apk control data.
 *
 * Every parser here treats its input as hostile: sizes, counts and lengths
 * are capped (struct temper_pkgindex_limits), NUL bytes, duplicate fields,
 * traversal paths and malformed numbers are refused, and each refusal is
 * recorded once with temper_fail(st, rc, "FILE:LINE: message").  `st` may be
 * NULL everywhere (the message is then only logged).
 *
 * Compressed input (gzip, xz, lz4, zstd, bzip2) is recognised by its magic
 * bytes and decompressed with libarchive; plain files are read directly.
 * Only the in-process decompressors are enabled: no filter that would run an
 * external program (lrzip, lzop, grzip) is ever used on outside data.
 * libarchive does not check gzip CRCs; for Debian indexes the integrity check
 * is the SHA256 of the uncompressed file listed in the signed InRelease
 * (temper_release_find), for Alpine the RSA signature and the gzip trailers
 * this code checks itself.
 *
 * deb822 as read here (Debian Policy 5.1, apt's and dpkg's parsers):
 * stanzas are separated by empty or blank-only lines; field names are
 * printable ASCII without ':' and do not start with '-' (nor '#', unless
 * TEMPER_DEB822_COMMENTS); a repeated field in a stanza is an error (dpkg
 * refuses it too; two parsers must never disagree on which copy counts);
 * CRLF line ends are accepted; the input must end with a newline, so that a
 * truncated download is an error rather than a shorter last stanza.
 *
 * Speed: one pass, no allocation per field; the package tables copy what
 * they keep into a chunked arena (big chunks marked for transparent huge
 * pages) and intern repeated values.  temper_debindex_load() reads a big
 * (>= 8 MiB) plain file in two halves on two threads when two CPUs are
 * online, and falls back to the serial parser for anything else or on any
 * error, so results and messages never depend on the path taken.  Loading
 * bookworm's main/amd64 Packages (63,440 stanzas, 50 MB) takes ~40 ms on
 * two threads, ~65 ms on one, ~60 MB; see tests/bench/bench_packages.sh
 * (`make bench`). */
#ifndef TEMPER_PKGINDEX_H
#define TEMPER_PKGINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <temper/rc.h>
#include <temper/version.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_stage;

/* ---- limits --------------------------------------------------------------- */

struct temper_pkgindex_limits {
    size_t max_field;             /* bytes of one field value (1 MiB) */
    size_t max_stanza;            /* bytes of one stanza (8 MiB) */
    size_t max_fields;            /* fields in one stanza (1000) */
    size_t max_stanzas;           /* stanzas in one input (4,000,000) */
    unsigned long long max_input; /* bytes after decompression (2 GiB) */
};

/* Fill *l with the defaults shown above.  Every function taking limits
 * accepts NULL for the defaults; a 0 member also means its default. */
TEMPER_EXPORT void temper_pkgindex_limits_default(struct temper_pkgindex_limits *l);

/* Read a whole file into memory, decompressing it when its magic bytes say
 * gzip/xz/lz4/zstd/bzip2.  *data is a new NUL-terminated buffer (free());
 * TEMPER_ELIMIT past `max` bytes (0 = the default max_input). */
TEMPER_EXPORT int temper_pkgindex_read(struct temper_stage *st, const char *path,
                                       unsigned long long max, char **data, size_t *len)
    TEMPER_WARN_UNUSED;

/* ---- deb822 stanzas (streaming) -------------------------------------------- */

/* Flags of temper_deb822_open_*. */
#define TEMPER_DEB822_COMMENTS 0x1u /* skip lines starting with '#' (debian/control) */
#define TEMPER_DEB822_APKINDEX 0x2u /* apk-tools syntax: "X:value", no continuations */

struct temper_deb822_field {
    const char *name;   /* NUL-terminated, as written (compare case-insensitively) */
    const char *value;  /* NUL-terminated; leading and trailing blanks removed;
                           continuation lines kept as "\n" + the line with its
                           leading blank (a CR of a CRLF ending becomes ' ') */
    size_t name_len;
    size_t value_len;
    unsigned long line; /* line of the field name, 1-based */
};

struct temper_deb822_stanza {
    const struct temper_deb822_field *fields; /* in input order */
    size_t n_fields;
    unsigned long line;                       /* first line of the stanza */
};

struct temper_deb822; /* opaque parser */

/* Open a parser over a file (compressed or not) or over a buffer (borrowed
 * until temper_deb822_free; compressed buffers are accepted too).  `name`
 * names the buffer in messages.  *out is new (temper_deb822_free). */
TEMPER_EXPORT int temper_deb822_open_file(struct temper_stage *st, const char *path,
                                          const struct temper_pkgindex_limits *lim,
                                          unsigned flags, struct temper_deb822 **out)
    TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_deb822_open_mem(struct temper_stage *st, const char *name,
                                         const void *data, size_t len,
                                         const struct temper_pkgindex_limits *lim,
                                         unsigned flags, struct temper_deb822 **out)
    TEMPER_WARN_UNUSED;
/* Next stanza: TEMPER_OK with *stanza set, or TEMPER_OK with *stanza NULL at
 * the end of input; a negative rc on error (recorded; the parser is then
 * finished).  The stanza and its strings are borrowed until the next call. */
TEMPER_EXPORT int temper_deb822_next(struct temper_deb822 *p,
                                     const struct temper_deb822_stanza **stanza)
    TEMPER_WARN_UNUSED;
/* Name used in messages (path or buffer name); borrowed. */
TEMPER_EXPORT const char *temper_deb822_name(const struct temper_deb822 *p);
TEMPER_EXPORT void temper_deb822_free(struct temper_deb822 *p);

/* Field `name` of a stanza (case-insensitive), NULL when absent. */
TEMPER_EXPORT const struct temper_deb822_field *
temper_deb822_get(const struct temper_deb822_stanza *s, const char *name);
/* The value of a folded field (Depends, Build-Depends, ...) on one line:
 * each line break and the blanks around it become one space.  *out is a new
 * string (free()). */
TEMPER_EXPORT int temper_deb822_fold(const struct temper_deb822_field *f, char **out)
    TEMPER_WARN_UNUSED;

/* ---- relations (Depends & co, apk D:/p:/i:) --------------------------------- */

enum temper_dep_op {
    TEMPER_DEP_ANY = 0,  /* no version constraint */
    TEMPER_DEP_LT = 1,   /* deb "<<", apk "<" */
    TEMPER_DEP_LE = 2,   /* "<=" (deb obsolete "<" too) */
    TEMPER_DEP_EQ = 3,   /* "=" */
    TEMPER_DEP_GE = 4,   /* ">=" (deb obsolete ">" too) */
    TEMPER_DEP_GT = 5,   /* deb ">>", apk ">" */
    TEMPER_DEP_FUZZY = 6,   /* apk "~" / "~=" / "=~": same version prefix */
    TEMPER_DEP_CHECKSUM = 7 /* apk "><": version holds an identity checksum */
};

/* One alternative of a relation.  Strings are NUL-terminated and owned by
 * the enclosing struct temper_deps. */
struct temper_dep {
    const char *name;       /* package (or so:/cmd:/pc: provider) name */
    const char *arch;       /* deb ":any"/":native"/":amd64" qualifier, no colon; or NULL */
    const char *version;    /* NULL when op == TEMPER_DEP_ANY */
    const char *archs;      /* deb "[amd64 !i386]" restriction, inside text; or NULL */
    enum temper_dep_op op;
    bool conflict;          /* apk "!name" */
    size_t group;           /* index of the comma-separated (AND) group; the
                               alternatives of one group share it */
};

struct temper_deps {
    struct temper_dep *v;   /* n alternatives, grouped in order */
    size_t n;
    size_t n_groups;
    char *text;             /* storage of the strings */
};

/* Parse a Debian relation field ("a (>= 1) | b:any [amd64], c <!nocheck>").
 * Build-profile restrictions ("<...>") are checked for syntax and dropped;
 * empty groups (a trailing comma) are skipped.  *out is new
 * (temper_deps_free).  TEMPER_EFORMAT on a syntax error. */
TEMPER_EXPORT int temper_deb_deps_parse(struct temper_stage *st, const char *text,
                                        struct temper_deps **out) TEMPER_WARN_UNUSED;
/* Parse an apk dependency list ("so:libc.musl-x86_64.so.1 !foo bar>=1.2");
 * every token is a group of its own. */
TEMPER_EXPORT int temper_apk_deps_parse(struct temper_stage *st, const char *text,
                                        struct temper_deps **out) TEMPER_WARN_UNUSED;
TEMPER_EXPORT void temper_deps_free(struct temper_deps *d);

/* Does Debian arch `arch` (e.g. "amd64") satisfy the restriction list of d
 * (true when d->archs is NULL)?  Understands "!arch", "any", "linux-any" and
 * "any-<cpu>" wildcards for Linux architectures. */
TEMPER_EXPORT bool temper_dep_arch_ok(const struct temper_dep *d, const char *arch);

/* Does `version` satisfy the version constraint of d, compared with `scheme`
 * (TEMPER_VSCHEME_DPKG or TEMPER_VSCHEME_APK)?  True for TEMPER_DEP_ANY,
 * false for TEMPER_DEP_CHECKSUM.  TEMPER_DEP_FUZZY (apk "~1.2") matches the
 * version itself and every version continuing it at a component boundary
 * ("1.2", "1.2.3", "1.2-r1", not "1.20").  The name and `conflict` are not
 * looked at. */
TEMPER_EXPORT bool temper_dep_version_ok(enum temper_vscheme scheme, const struct temper_dep *d,
                                         const char *version);

/* ---- Debian package table ------------------------------------------------- */

struct temper_debpkg {
    const char *name;            /* Package */
    const char *version;         /* Version ("" in a dpkg status entry without one) */
    const char *arch;            /* Architecture, or NULL */
    const char *source;          /* Source name; = name when absent */
    const char *source_version;  /* from "Source: x (ver)"; = version otherwise */
    const char *depends;         /* raw folded relations, NULL when absent */
    const char *pre_depends;
    const char *provides;
    const char *recommends;
    const char *multi_arch;      /* Multi-Arch, NULL when absent */
    const char *priority;
    const char *section;
    const char *filename;        /* pool path */
    const char *sha256;          /* lower-case hex, NULL when absent */
    const char *maintainer;
    const char *description;     /* first line of Description */
    const char *status;          /* dpkg status "install ok installed", or NULL */
    unsigned long long size;           /* Size (bytes), 0 when absent */
    unsigned long long installed_size; /* Installed-Size (KiB), 0 when absent */
    bool essential;              /* Essential: yes */
    unsigned long line;          /* first line of its stanza */
    const struct temper_debpkg *next_same_name; /* next entry with this name, file order */
};

/* Who provides a name: a Provides entry of one package. */
struct temper_debprov {
    const char *name;            /* the provided name */
    const char *version;         /* "name (= ver)" version, or NULL */
    const struct temper_debpkg *pkg;
    const struct temper_debprov *next; /* next provider of the same name */
};

struct temper_debindex; /* opaque */

/* Load a Packages index or a dpkg status file (compressed or not) into a
 * table.  A stanza without Package, a stanza without Version (outside a dpkg
 * status file), a repeated field, a bad number or a malformed Provides is an
 * error naming FILE:LINE.  *out is new (temper_debindex_free). */
TEMPER_EXPORT int temper_debindex_load(struct temper_stage *st, const char *path,
                                       const struct temper_pkgindex_limits *lim,
                                       struct temper_debindex **out) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_debindex_load_mem(struct temper_stage *st, const char *name,
                                           const void *data, size_t len,
                                           const struct temper_pkgindex_limits *lim,
                                           struct temper_debindex **out) TEMPER_WARN_UNUSED;
TEMPER_EXPORT void temper_debindex_free(struct temper_debindex *idx);
TEMPER_EXPORT size_t temper_debindex_count(const struct temper_debindex *idx);
/* i-th package in file order, NULL past the end.  Borrowed from idx. */
TEMPER_EXPORT const struct temper_debpkg *temper_debindex_at(const struct temper_debindex *idx,
                                                             size_t i);
/* First package named `name` (follow next_same_name for the other versions),
 * NULL when none. */
TEMPER_EXPORT const struct temper_debpkg *temper_debindex_find(const struct temper_debindex *idx,
                                                               const char *name);
/* First provider of `name` (follow ->next), NULL when none. */
TEMPER_EXPORT const struct temper_debprov *
temper_debindex_providers(const struct temper_debindex *idx, const char *name);

/* ---- Release / InRelease ------------------------------------------------- */

struct temper_release_file {
    const char *sha256;          /* 64 lower-case hex digits */
    unsigned long long size;
    const char *path;            /* relative to dists/<suite>/ */
};

struct temper_release {
    const char *origin, *label, *suite, *version, *codename;
    const char *date_text, *valid_until_text;  /* as written, NULL when absent */
    const char *architectures, *components, *description;
    long long date;              /* Unix time; -1 when absent */
    long long valid_until;       /* Unix time; -1 when absent */
    bool acquire_by_hash;
    const struct temper_release_file *files; /* the SHA256 list */
    size_t n_files;
    /* The text the fields were read from: the cleartext-signed body of an
     * InRelease (dash-escaping removed, one "\n" after each line), or the
     * whole Release file. */
    const char *signed_text;
    size_t signed_len;
    bool clearsigned;            /* input was an InRelease */
    const char *signature;       /* armored "-----BEGIN PGP SIGNATURE-----" block, or NULL */
    size_t signature_len;
};

/* Parse a Release or InRelease (detected by its first line).  Signatures are
 * NOT verified here: run gpgv on the very bytes given to this function (the
 * framing is checked as strictly as apt does: nothing but blank lines may
 * surround the signed message, so what gpgv verified is what was parsed).
 * *out is new (temper_release_free). */
TEMPER_EXPORT int temper_release_parse(struct temper_stage *st, const char *name,
                                       const void *data, size_t len,
                                       struct temper_release **out) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_release_load(struct temper_stage *st, const char *path,
                                      struct temper_release **out) TEMPER_WARN_UNUSED;
TEMPER_EXPORT void temper_release_free(struct temper_release *r);
/* The SHA256 entry for `path` ("main/binary-amd64/Packages"), or NULL. */
TEMPER_EXPORT const struct temper_release_file *
temper_release_find(const struct temper_release *r, const char *path);

/* Split an OpenPGP cleartext-signed message (RFC 4880 section 7): *body gets
 * the signed text with dash-escaping removed, each line ending in "\n";
 * *sig the armored signature block.  Both new (free()); sig may be NULL. */
TEMPER_EXPORT int temper_clearsign_split(struct temper_stage *st, const char *name,
                                         const char *data, size_t len, char **body,
                                         size_t *body_len, char **sig, size_t *sig_len)
    TEMPER_WARN_UNUSED;

/* "Sat, 10 Jun 2023 08:54:04 UTC" (day name optional; zone UTC, GMT, Z,
 * +0000 or -0000) to Unix time.  TEMPER_EFORMAT otherwise. */
TEMPER_EXPORT int temper_rfc2822_date_parse(const char *s, long long *out) TEMPER_WARN_UNUSED;

/* ---- Alpine ----------------------------------------------------------------- */

struct temper_apkpkg {
    const char *checksum;        /* C: "Q1" + base64(SHA-1 of the control gzip member) */
    const char *name;            /* P */
    const char *version;         /* V */
    const char *arch;            /* A, or NULL */
    const char *description;     /* T */
    const char *url;             /* U */
    const char *license;         /* L */
    const char *origin;          /* o: source package; = name when absent */
    const char *maintainer;      /* m */
    const char *commit;          /* c */
    const char *depends;         /* D, raw, space separated; NULL when absent */
    const char *provides;        /* p */
    const char *install_if;      /* i */
    const char *replaces;        /* r */
    unsigned long long size;     /* S */
    unsigned long long installed_size; /* I */
    long long build_time;        /* t, Unix time; 0 when absent */
    long long provider_priority; /* k; 0 when absent */
    unsigned long line;          /* first line of its record */
    const struct temper_apkpkg *next_same_name;
};

struct temper_apkprov {
    const char *name;            /* provided name: "so:libc.musl-x86_64.so.1", "cmd:sh", ... */
    const char *version;         /* "name=ver" version, or NULL */
    const struct temper_apkpkg *pkg;
    const struct temper_apkprov *next;
};

enum temper_apksig_type {
    TEMPER_APKSIG_NONE = 0,
    TEMPER_APKSIG_RSA_SHA1 = 1,   /* ".SIGN.RSA.<key>" */
    TEMPER_APKSIG_RSA_SHA256 = 2  /* ".SIGN.RSA256.<key>" */
};

/* The signature of an APKINDEX.tar.gz or a .apk: an RSA PKCS#1 v1.5
 * signature over the raw (compressed) bytes of the gzip member(s) that
 * follow the signature member. */
struct temper_apksig {
    enum temper_apksig_type type;
    const char *key_name;        /* "alpine-devel@...-616ae350.rsa.pub" (no '/') */
    const unsigned char *sig;
    size_t sig_len;
    const unsigned char *signed_data;
    size_t signed_len;
};

struct temper_apkindex; /* opaque */

/* Load an APKINDEX.tar.gz (signed or not) or a plain APKINDEX text file.
 * Tar entries other than APKINDEX and DESCRIPTION are skipped; absolute or
 * ".." paths, links and a repeated APKINDEX are errors.  *out is new. */
TEMPER_EXPORT int temper_apkindex_load(struct temper_stage *st, const char *path,
                                       const struct temper_pkgindex_limits *lim,
                                       struct temper_apkindex **out) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_apkindex_load_mem(struct temper_stage *st, const char *name,
                                           const void *data, size_t len,
                                           const struct temper_pkgindex_limits *lim,
                                           struct temper_apkindex **out) TEMPER_WARN_UNUSED;
TEMPER_EXPORT void temper_apkindex_free(struct temper_apkindex *idx);
TEMPER_EXPORT size_t temper_apkindex_count(const struct temper_apkindex *idx);
TEMPER_EXPORT const struct temper_apkpkg *temper_apkindex_at(const struct temper_apkindex *idx,
                                                             size_t i);
TEMPER_EXPORT const struct temper_apkpkg *
temper_apkindex_find(const struct temper_apkindex *idx, const char *name);
/* Providers of `name` from p: entries ("so:...", "cmd:...", plain names). */
TEMPER_EXPORT const struct temper_apkprov *
temper_apkindex_providers(const struct temper_apkindex *idx, const char *name);
/* DESCRIPTION text ("v3.17.3-...") or NULL; borrowed. */
TEMPER_EXPORT const char *temper_apkindex_description(const struct temper_apkindex *idx);
/* The signature (type NONE when the index is unsigned); borrowed. */
TEMPER_EXPORT const struct temper_apksig *
temper_apkindex_signature(const struct temper_apkindex *idx);

/* Check sig with an RSA public key in PEM ("-----BEGIN PUBLIC KEY-----", as
 * in /etc/apk/keys).  TEMPER_OK: valid; TEMPER_ECRYPTO: the signature does
 * not verify or the input is unsigned; TEMPER_EINVAL: unusable key. */
TEMPER_EXPORT int temper_apksig_verify(struct temper_stage *st, const struct temper_apksig *sig,
                                       const char *pubkey_pem) TEMPER_WARN_UNUSED;
TEMPER_EXPORT int temper_apkindex_verify(struct temper_stage *st,
                                         const struct temper_apkindex *idx,
                                         const char *pubkey_pem) TEMPER_WARN_UNUSED;

/* One .apk package (v2 format: signature, control and data gzip members). */
struct temper_apkfile {
    const struct temper_apkpkg *pkg; /* from .PKGINFO; checksum computed */
    struct temper_apksig sig;        /* signature over the control member */
    const char *datahash;            /* .PKGINFO datahash (hex), or NULL */
    char data_sha256[65];            /* computed SHA-256 of the data member */
    bool data_ok;                    /* datahash present and equal */
    /* Appended for builder_apk: byte offset of the data member (the gzip
     * member after the control member) in the file; it runs to the end. */
    unsigned long long data_offset;
};

/* Read a .apk's control part.  *out is new (temper_apkfile_free). */
TEMPER_EXPORT int temper_apkfile_load(struct temper_stage *st, const char *path,
                                      const struct temper_pkgindex_limits *lim,
                                      struct temper_apkfile **out) TEMPER_WARN_UNUSED;
TEMPER_EXPORT void temper_apkfile_free(struct temper_apkfile *f);

#ifdef __cplusplus
}
#endif
#endif

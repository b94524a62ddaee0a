/* temper — what the four attest plugins share: the in-toto Statement v1
 * around a predicate, the subject (the image manifest digest), package URLs,
 * distributions, the packages of an image in a stable order, name-based
 * UUIDs, and small json-c building helpers.
 *
 * The files of this directory are compiled into each attest module (a module
 * exports only its descriptor, STYLE.md B3).  ATTEST_NS gives every non-static
 * name a per-module prefix (-DATTEST_NS=attest_spdx) so that a static
 * (dlpreopen) build linking all four modules into one program sees no
 * duplicate symbols.
 *
 * Determinism: every function here depends only on its arguments, so equal
 * image and run artifacts give byte-identical statements (the statement is
 * serialized with temper_json_canonical(): sorted keys, no whitespace). */
#ifndef TEMPER_ATTEST_COMMON_H
#define TEMPER_ATTEST_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <temper/attest.h>
#include <temper/buf.h>
#include <temper/hash.h>
#include <temper/json.h>
#include <temper/version.h>

#ifndef ATTEST_NS
#error "compile with -DATTEST_NS=<module name>"
#endif
#define ATTEST_CAT2(a, b) a##_##b
#define ATTEST_CAT(a, b) ATTEST_CAT2(a, b)
#define ac_subject_init ATTEST_CAT(ATTEST_NS, ac_subject_init)
#define ac_emit_statement ATTEST_CAT(ATTEST_NS, ac_emit_statement)
#define ac_run_time ATTEST_CAT(ATTEST_NS, ac_run_time)
#define ac_uuid ATTEST_CAT(ATTEST_NS, ac_uuid)
#define ac_distro_parse ATTEST_CAT(ATTEST_NS, ac_distro_parse)
#define ac_pct_encode ATTEST_CAT(ATTEST_NS, ac_pct_encode)
#define ac_purl ATTEST_CAT(ATTEST_NS, ac_purl)
#define ac_purl_source ATTEST_CAT(ATTEST_NS, ac_purl_source)
#define ac_purl_image ATTEST_CAT(ATTEST_NS, ac_purl_image)
#define ac_packages ATTEST_CAT(ATTEST_NS, ac_packages)
#define ac_src_name ATTEST_CAT(ATTEST_NS, ac_src_name)
#define ac_src_version ATTEST_CAT(ATTEST_NS, ac_src_version)
#define ac_put ATTEST_CAT(ATTEST_NS, ac_put)
#define ac_put_str ATTEST_CAT(ATTEST_NS, ac_put_str)
#define ac_push ATTEST_CAT(ATTEST_NS, ac_push)
#define ac_digest_obj ATTEST_CAT(ATTEST_NS, ac_digest_obj)
#define ac_is_hex64 ATTEST_CAT(ATTEST_NS, ac_is_hex64)
#define ac_text_ok ATTEST_CAT(ATTEST_NS, ac_text_ok)
#define ac_input_init ATTEST_CAT(ATTEST_NS, ac_input_init)
#define ac_input_cleanup ATTEST_CAT(ATTEST_NS, ac_input_cleanup)
#define ac_finish ATTEST_CAT(ATTEST_NS, ac_finish)
#define ac_state_new ATTEST_CAT(ATTEST_NS, ac_state_new)
#define ac_state_free ATTEST_CAT(ATTEST_NS, ac_state_free)
#define ac_new_obj ATTEST_CAT(ATTEST_NS, ac_new_obj)
#define ac_new_arr ATTEST_CAT(ATTEST_NS, ac_new_arr)
#define ac_person ATTEST_CAT(ATTEST_NS, ac_person)
#define ac_id_hash ATTEST_CAT(ATTEST_NS, ac_id_hash)

#define AC_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define AC_INTOTO_MEDIA_TYPE "application/vnd.in-toto+json"
/* Caps on what an image artifact may carry. */
#define AC_MAX_PACKAGES 100000
#define AC_MAX_FIELD 4096 /* bytes of one package field */

/* The statement's subject: the image manifest digest and a name. */
struct ac_subject {
    const char *name;     /* run record's image, image's image attr, or artifact name */
    const char *digest;   /* "sha256:<hex>", borrowed from the image artifact */
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    const char *platform; /* "linux/amd64" or NULL */
    const char *variant;  /* run record's (or image's) variant, or NULL */
};

/* Fill `s` from the image and run artifacts (both borrowed, must outlive s).
 * TEMPER_EINVAL (recorded) when run is NULL or the image has no
 * "sha256:<64 lower-case hex>" digest. */
int ac_subject_init(struct temper_stage *st, const struct temper_artifact *image,
                    const struct temper_artifact *run, struct ac_subject *s);

/* What every attest() starts from: the subject, the run's start time and
 * the image's packages in a stable order. */
struct ac_input {
    struct ac_subject s;
    char created[21];                 /* started_on; "" unless need_time */
    const struct temper_package **pk; /* see ac_packages() */
    size_t n;
};
/* ac_subject_init + ac_run_time(started_on, required when need_time:
 * TEMPER_EINVAL "run record has no started_on") + ac_packages.  Call
 * ac_input_cleanup() in any case. */
int ac_input_init(struct temper_stage *st, const struct temper_artifact *image,
                  const struct temper_artifact *run, bool need_time, struct ac_input *in);
void ac_input_cleanup(struct ac_input *in);
/* End of attest(): with rc == TEMPER_OK emit *root as the statement (taken,
 * *root set to NULL); otherwise record "cannot build the <what> of <image>"
 * unless a reason is recorded already.  Returns the final rc. */
int ac_finish(struct temper_stage *st, int rc, const struct ac_input *in, const char *ptype,
              const char *format, const char *what, struct json_object **root);

/* Plugin state that only keeps the conf block (valid until after close). */
struct ac_state {
    const void *conf;
};
int ac_state_new(const void *conf, void **state);
void ac_state_free(void *state);

/* Wrap `predicate` (taken, even on error) in an in-toto Statement v1 about
 * s, serialize it canonically and emit a TEMPER_ART_STATEMENT named
 * "<stage>.intoto.json" with the attributes predicate_type, signed_digest
 * (the image digest), media_type, image, platform, digest (of the statement
 * bytes) and format. */
int ac_emit_statement(struct temper_stage *st, const struct ac_subject *s,
                      const char *predicate_type, const char *format,
                      struct json_object *predicate);

/* The run record's time `key` (TEMPER_RUN_STARTED, ...) checked to be
 * "YYYY-MM-DDThh:mm:ssZ" and copied to out (21 bytes).  TEMPER_ENOTFOUND
 * when absent (no message), TEMPER_EFORMAT (recorded) when malformed. */
int ac_run_time(struct temper_stage *st, const struct temper_artifact *run, const char *key,
                char out[21]);

/* A name-based UUID: the first 16 bytes of SHA-256(a "\n" b) with the
 * version nibble 8 (RFC 9562 "custom") and the RFC 4122 variant, lower-case
 * with dashes (37 bytes with the terminator). */
void ac_uuid(const char *a, const char *b, char out[37]);

/* A distribution string ("debian:bookworm", "debian:12", "ubuntu:jammy",
 * "alpine:v3.19", "alpine:3.19") understood. */
struct ac_distro {
    char vendor[16];      /* "debian", "ubuntu", "alpine", "wolfi" */
    char codename[32];    /* "bookworm"; "" when unknown (alpine) */
    char version[16];     /* "12", "22.04", "3.19"; "" when unknown */
    const char *purl_type; /* "deb", "apk" */
    enum temper_vscheme scheme;
    char ecosystem[48];   /* OSV: "Debian:12", "Ubuntu:22.04:LTS", "Alpine:v3.19" */
};
/* false when NULL or not understood (out zeroed). */
bool ac_distro_parse(const char *distribution, struct ac_distro *out);

/* Append s percent-encoded for a purl component: everything except
 * A-Za-z0-9 . - _ ~ is encoded (and ':' too unless keep_colon). */
int ac_pct_encode(struct temper_buf *b, const char *s, bool keep_colon) TEMPER_WARN_UNUSED;

/* The package's purl: p->purl when it is one, otherwise built as
 * pkg:<deb|apk>/<vendor>/<name>@<version>?arch=..&distro=<vendor>-<version>
 * &upstream=<source>[@<source_version>] (qualifiers sorted; upstream only
 * when the source name or, for deb, its version differs from the binary's:
 * the way syft writes it and grype reads it), or
 * pkg:generic/<name>@<version> for an unknown distribution.  New string. */
char *ac_purl(const struct temper_package *p);
/* The source package: pkg:deb/debian/<source>@<source_version>?arch=source
 * &distro=... (apk: the origin package without arch).  New string. */
char *ac_purl_source(const struct temper_package *p);
/* pkg:oci/<last path component of name>@sha256%3A<hex>?arch=<arch>. */
char *ac_purl_image(const struct ac_subject *s);

const char *ac_src_name(const struct temper_package *p);
const char *ac_src_version(const struct temper_package *p);
/* true when s is UTF-8 text of at most `max` bytes without control
 * characters. */
bool ac_text_ok(const char *s, size_t max);
/* true when s is exactly 64 lower-case hex digits. */
bool ac_is_hex64(const char *s);

/* "Name <email>" (a Debian Maintainer / apk maintainer field) split into a
 * new name (trimmed; the whole text when there is no "<") and a new email
 * (NULL when absent or without '@').  *org is set when the name or address
 * looks like a team rather than a person (Team, Maintainers, Developers,
 * Project, Group, Packagers, or a lists. address).  TEMPER_ENOMEM only. */
int ac_person(const char *s, char **name, char **email, bool *org) TEMPER_WARN_UNUSED;
/* The first 16 hex digits of SHA-256(a "\n" b "\n" c) (17 bytes). */
void ac_id_hash(const char *a, const char *b, const char *c, char out[17]);

/* The image's packages sorted by (name, version, arch), exact duplicates
 * dropped, each checked (name and version present, fields under
 * AC_MAX_FIELD bytes without control characters, sha256 64 hex digits when
 * set).  *out is a new array (free()) of borrowed pointers.  TEMPER_EFORMAT
 * / TEMPER_ELIMIT recorded on st. */
int ac_packages(struct temper_stage *st, const struct temper_artifact *image,
                const struct temper_package ***out, size_t *n);

/* json-c building with a sticky rc: when *rc is already an error the value
 * is released and nothing happens, so a function can build a whole object
 * and check once.  ac_put_str skips a NULL string. */
void ac_put(int *rc, struct json_object *obj, const char *key, struct json_object *val);
void ac_put_str(int *rc, struct json_object *obj, const char *key, const char *s);
void ac_push(int *rc, struct json_object *arr, struct json_object *val);
/* A new object / array, or NULL with *rc = TEMPER_ENOMEM; NULL without
 * allocating when *rc is already an error. */
struct json_object *ac_new_obj(int *rc);
struct json_object *ac_new_arr(int *rc);
/* {"sha256": hex} */
struct json_object *ac_digest_obj(const char *hex);

#endif

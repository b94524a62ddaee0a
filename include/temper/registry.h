/* temper — OCI distribution (registry) client on the SDK HTTP client.
 *
 * One client per registry host and stage (temper_registry_new), used from one
 * thread at a time.  Everything goes through include/temper/http.h, so TLS is
 * always verified (`ca_file` replaces the trust store), proxies come from the
 * environment, secrets are redacted, and every reply is capped.
 *
 * References: `host[:port]/repo[:tag|@sha256:<hex>]` without a scheme; the
 * host must contain a '.' or a ':' or be `localhost` (Docker's rule, so that
 * `library/x` is never taken for a host).  http:// is used only with
 * `plain_http` (default off); https:// otherwise.
 *
 * Auth.  Anonymous first; on a 401 the challenge (WWW-Authenticate) decides:
 *  - Basic: the credentials are sent (and then on every later request);
 *  - Bearer realm=..,service=..,scope=..: GET realm?service=..&scope=..
 *    (with the basic credentials when there are some), read `token` or
 *    `access_token`, retry.  Tokens are cached per scope; a 401 with a cached
 *    token drops it and fetches a new one once.
 * Credentials: `credentials_file` (first line `user:password`, or a bare
 * token sent as a Bearer token), `username` + `password`, or a Docker
 * `config.json`
 * (`auths.<host>.auth` = base64 "user:password", or `username`/`password`).
 * Every secret is registered with temper_log_add_secret().
 *
 * Retries: the HTTP client retries 5xx, 429 (Retry-After) and dropped
 * connections with backoff (`max_retries`); a transfer slower than 1 byte/s
 * for `stall_secs` is aborted (and retried).  Blob uploads that fail in the
 * middle are started again (monolithic) or resumed from the offset the
 * registry reports (chunked), a bounded number of times.
 *
 * Errors are one line naming the method and URL; every function records its
 * failure on the stage with temper_fail() and returns a negative rc. */
#ifndef TEMPER_REGISTRY_H
#define TEMPER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <temper/rc.h>
#include <temper/oci.h>

#ifdef __cplusplus
extern "C" {
#endif

struct temper_stage;
struct temper_registry; /* opaque client */

#define TEMPER_REGISTRY_HOST_MAX 255  /* "host[:port]" */
#define TEMPER_REGISTRY_REPO_MAX 255  /* "a/b/c" */
#define TEMPER_REGISTRY_TAG_MAX 128   /* [A-Za-z0-9_][A-Za-z0-9._-]{0,127} */

/* A parsed reference.  tag and digest are "" when absent (both may be set:
 * "repo:tag@sha256:..", the digest wins). */
struct temper_registry_ref {
    char host[TEMPER_REGISTRY_HOST_MAX + 1];
    char repo[TEMPER_REGISTRY_REPO_MAX + 1];
    char tag[TEMPER_REGISTRY_TAG_MAX + 1];
    char digest[TEMPER_DIGEST_STR_LEN];
};

/* Parse and validate `s` (no scheme).  TEMPER_EINVAL, nothing recorded. */
TEMPER_EXPORT int temper_registry_ref_parse(const char *s, struct temper_registry_ref *out)
    TEMPER_WARN_UNUSED;
/* 1 when valid per the distribution spec, else 0. */
TEMPER_EXPORT int temper_registry_repo_valid(const char *repo);
TEMPER_EXPORT int temper_registry_tag_valid(const char *tag);

/* Tag templates: `{version}`, `{major}`, `{minor}`, `{patch}`, `{variant}`
 * and `{image}` are replaced (version "3.11.7-1" gives major 3, minor 11,
 * patch 7; a leading 'v' is dropped); when `variant` is set and not
 * "runtime", "-<variant>" is appended unless the template used {variant}.
 * "latest" stays "latest" (plus the suffix: "latest-dev").  The rules are
 * those of temper_tag_template_expand() below (which publishers should
 * use); this one gives TEMPER_EINVAL where that one skips the template (a
 * placeholder has no value: version NULL, or no minor part).  *out is new
 * (free()). */
TEMPER_EXPORT int temper_tag_expand(const char *tmpl, const char *image, const char *version,
                                    const char *variant, char **out) TEMPER_WARN_UNUSED;

/* One WWW-Authenticate challenge.  Strings are new (or NULL). */
struct temper_registry_challenge {
    char scheme[16];   /* "Bearer", "Basic" (as sent) */
    char *realm;
    char *service;
    char *scope;
    char *error;
};
/* Parse the challenges of one header value (several may be listed, comma
 * separated; quoted strings with escapes and commas are handled; at most 32
 * parameters, 8 KiB).  Fills `out` with the first Bearer challenge, else the
 * first Basic one.  TEMPER_EFORMAT when malformed, TEMPER_ENOTFOUND when
 * neither scheme is offered. */
TEMPER_EXPORT int temper_registry_challenge_parse(const char *value,
                                                  struct temper_registry_challenge *out)
    TEMPER_WARN_UNUSED;
TEMPER_EXPORT void temper_registry_challenge_cleanup(struct temper_registry_challenge *c);

/* Credentials for `host` from a Docker config.json (auths.<host>, also tried
 * as "https://<host>", "http://<host>" and "<host>/v1/").  *user and
 * *password are new strings.  TEMPER_ENOTFOUND when the host has no entry,
 * TEMPER_EFORMAT when the entry is malformed (recorded on st). */
TEMPER_EXPORT int temper_registry_docker_auth(struct temper_stage *st, const char *config,
                                              const char *host, char **user,
                                              char **password) TEMPER_WARN_UNUSED;

/* Client options: temper_registry_opts_init() then change what you need.
 * Strings are borrowed for the duration of temper_registry_new(). */
struct temper_registry_opts {
    uint32_t size;                   /* sizeof(struct temper_registry_opts) */
    bool plain_http;                 /* http:// instead of https:// */
    const char *ca_file;             /* PEM bundle replacing the trust store */
    const char *credentials_file;    /* "user:password" or a token */
    const char *docker_config;       /* a Docker config.json */
    unsigned long long chunk_size;   /* PATCH size of chunked uploads; 64 MiB */
    unsigned long long monolithic_max; /* blobs up to this: one PUT; 128 MiB */
    int max_retries;                 /* per request; 0 = 4, < 0 = none */
    long stall_secs;                 /* abort a transfer stalled this long; 30 */
    long connect_timeout_ms;         /* 10 000 */
    long backoff_base_ms;            /* first retry delay; 500 */
    size_t max_manifest;             /* manifest / index / token reply; 4 MiB */
    int max_pages;                   /* tag list pages followed; 100 */
    const char *username;            /* basic credentials given inline (with */
    const char *password;            /* password); exclusive with the files */
};

TEMPER_EXPORT void temper_registry_opts_init(struct temper_registry_opts *o);

/* What a client did so far (tests, benchmarks, logs). */
struct temper_registry_stats {
    unsigned requests;               /* HTTP requests sent (with auth rounds) */
    unsigned blobs_uploaded;
    unsigned blobs_present;          /* HEAD said the registry had it */
    unsigned blobs_mounted;
    unsigned blobs_fetched;
    unsigned manifests_put;
    unsigned resumes;                /* chunked uploads resumed, uploads restarted */
    unsigned long long bytes_uploaded;
};

/* host: "host[:port]" (as in temper_registry_ref).  opts may be NULL. */
TEMPER_EXPORT int temper_registry_new(struct temper_stage *st, const char *host,
                                      const struct temper_registry_opts *opts,
                                      struct temper_registry **out) TEMPER_WARN_UNUSED;
TEMPER_EXPORT void temper_registry_free(struct temper_registry *r);
TEMPER_EXPORT const struct temper_registry_stats *
temper_registry_stats(const struct temper_registry *r);

/* ---- blobs ----------------------------------------------------------------- */

/* HEAD the blob: *exists true on 200, false on 404. */
TEMPER_EXPORT int temper_registry_blob_exists(struct temper_registry *r, const char *repo,
                                              const char *digest, bool *exists)
    TEMPER_WARN_UNUSED;
/* Download the blob d into layout l (size and digest checked; the blob file
 * appears only complete and verified).  A blob the layout has is kept. */
TEMPER_EXPORT int temper_registry_blob_get(struct temper_registry *r, const char *repo,
                                           const struct temper_oci_descriptor *d,
                                           struct temper_oci_layout *l) TEMPER_WARN_UNUSED;
/* Upload blob d from layout l unless the registry has it (HEAD); mount it
 * from `from_repo` (same registry, may be NULL) when possible; one PUT up to
 * monolithic_max, chunked PATCHes above. */
TEMPER_EXPORT int temper_registry_blob_push(struct temper_registry *r, const char *repo,
                                            const struct temper_oci_layout *l,
                                            const struct temper_oci_descriptor *d,
                                            const char *from_repo) TEMPER_WARN_UNUSED;

/* ---- manifests -------------------------------------------------------------- */

struct temper_registry_manifest {
    char *body;                      /* exact bytes, NUL-terminated */
    size_t len;
    char *media_type;                /* Content-Type (or the body's mediaType) */
    char digest[TEMPER_DIGEST_STR_LEN]; /* sha256 of body (checked) */
};
TEMPER_EXPORT void temper_registry_manifest_cleanup(struct temper_registry_manifest *m);

/* GET a manifest or index by tag or digest (Accept: OCI and Docker types).
 * The digest of the body must equal the requested digest and any
 * Docker-Content-Digest header (TEMPER_ECRYPTO).  TEMPER_ENOTFOUND on 404. */
TEMPER_EXPORT int temper_registry_manifest_get(struct temper_registry *r, const char *repo,
                                               const char *reference,
                                               struct temper_registry_manifest *out)
    TEMPER_WARN_UNUSED;
/* HEAD: out gets media type, digest (Docker-Content-Digest) and size.
 * TEMPER_ENOTFOUND on 404. */
TEMPER_EXPORT int temper_registry_manifest_head(struct temper_registry *r, const char *repo,
                                                const char *reference,
                                                struct temper_oci_descriptor *out)
    TEMPER_WARN_UNUSED;
/* PUT body under reference (tag or digest).  digest (may be NULL) gets the
 * sha256 of body; a Docker-Content-Digest reply that differs is an error.
 * *has_subject (may be NULL) tells whether the registry answered with
 * OCI-Subject (it keeps referrers itself). */
TEMPER_EXPORT int temper_registry_manifest_put(struct temper_registry *r, const char *repo,
                                               const char *reference, const char *media_type,
                                               const void *body, size_t len,
                                               char digest[TEMPER_DIGEST_STR_LEN],
                                               bool *has_subject) TEMPER_WARN_UNUSED;

/* Every tag of repo (Link pagination, at most max_pages pages and
 * TEMPER_OCI_MAX_ITEMS tags).  out is cleaned up first. */
TEMPER_EXPORT int temper_registry_tags_list(struct temper_registry *r, const char *repo,
                                            struct temper_strlist *out) TEMPER_WARN_UNUSED;

/* The referrers of `digest`: the referrers API, or, when the registry has
 * none (404), the referrers tag schema (index at tag "sha256-<hex>"; absent:
 * empty index).  artifact_type (may be NULL) filters.  out cleaned first. */
TEMPER_EXPORT int temper_registry_referrers(struct temper_registry *r, const char *repo,
                                            const char *digest, const char *artifact_type,
                                            struct temper_oci_index *out) TEMPER_WARN_UNUSED;

/* ---- images ----------------------------------------------------------------- */

/* Push the manifest or index d of layout l: every blob the registry does not
 * have (HEAD first; mounted from from_repo when given), then child manifests,
 * then d itself by digest.  No tag is written.  When d's manifest has a
 * `subject` and the registry did not answer OCI-Subject, the referrers tag
 * schema index of the subject is updated as well. */
TEMPER_EXPORT int temper_registry_push(struct temper_registry *r, const char *repo,
                                       const struct temper_oci_layout *l,
                                       const struct temper_oci_descriptor *d,
                                       const char *from_repo) TEMPER_WARN_UNUSED;
/* Point `tag` at d (already pushed): PUT d's exact bytes from l under tag. */
TEMPER_EXPORT int temper_registry_tag(struct temper_registry *r, const char *repo,
                                      const struct temper_oci_layout *l,
                                      const struct temper_oci_descriptor *d, const char *tag)
    TEMPER_WARN_UNUSED;
/* Pull `reference` (tag or digest) with every child manifest and blob into
 * layout l; tag it `ref_name` in index.json when not NULL.  out (may be
 * NULL) gets the top descriptor. */
TEMPER_EXPORT int temper_registry_pull(struct temper_registry *r, const char *repo,
                                       const char *reference, struct temper_oci_layout *l,
                                       const char *ref_name, struct temper_oci_descriptor *out)
    TEMPER_WARN_UNUSED;

/* ---- tag templates (appended) ------------------------------------------------ */

/* Expand one publish tag template; the one implementation behind the job
 * tags of the core (core/tags.c) and publish_registry's `tags`.
 *  - {version}: the version with a leading 'v' before a digit dropped
 *    ("v3.11.4" -> "3.11.4"); {major} {minor} {patch}: its leading
 *    dot-separated decimal numbers ("1.2.3-r1" -> 1, 2, 3); {image}: image;
 *    {variant}: variant ("" for NULL or "runtime").
 *  - for a variant other than "runtime" (and not empty), a template that
 *    does not use {variant} is suffixed "-<variant>" ("latest" -> "latest-dev").
 *  - the result is made a valid tag: other characters become '_'
 *    ("1.2.3+dfsg" -> "1.2.3_dfsg", a leading '.' or '-' too), trailing '-'
 *    and '.' are dropped ("{version}-{variant}" of the runtime variant).
 * Decision: a template with a placeholder that has no value (version NULL
 * or "", "7" for {minor}, image NULL for {image}) is SKIPPED, not an error:
 * TEMPER_OK with *out = NULL and *note saying which placeholder (log it),
 * so that a publish still moves its other tags.  TEMPER_EINVAL with *note
 * the one-line reason for an unknown placeholder, an unclosed '{', or a
 * result that is empty or over TEMPER_REGISTRY_TAG_MAX bytes.  Otherwise
 * *out is the tag and *note NULL.  *out and *note are new (free()). */
TEMPER_EXPORT int temper_tag_template_expand(const char *tmpl, const char *image,
                                             const char *version, const char *variant,
                                             char **out, char **note) TEMPER_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif

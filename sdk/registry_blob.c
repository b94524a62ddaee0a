/* temper — registry blobs: HEAD, GET into a layout, and uploads (mount,
 * monolithic PUT, chunked PATCH with resume). */
#include "config.h"

#include "registry_int.h"

#include <temper/buf.h>
#include <temper/log.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OCTET "Content-Type: application/octet-stream"

int temper_registry_blob_exists(struct temper_registry *r, const char *repo,
                                const char *digest, bool *exists)
{
    struct temper_http_resp resp;
    char *url = reg_url(r, repo, "blobs/%s", digest);
    char *scope = reg_scope(repo, false);
    int rc = url && scope ? TEMPER_OK : temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    *exists = false;
    temper_http_resp_init(&resp);
    if (rc == TEMPER_OK) {
        struct reg_call c = { .method = "HEAD", .url = url, .scope = scope };
        rc = reg_do(r, &c, &resp);
    }
    if (rc == TEMPER_OK && resp.status == 200) {
        *exists = true;
    } else if (rc == TEMPER_OK && resp.status != 404) {
        rc = reg_status_fail(r, "HEAD", url, &resp);
    }
    temper_http_resp_cleanup(&resp);
    free(url);
    free(scope);
    return rc;
}

int temper_registry_blob_get(struct temper_registry *r, const char *repo,
                             const struct temper_oci_descriptor *d, struct temper_oci_layout *l)
{
    struct temper_http_resp resp;
    struct stat sb;
    if (!temper_oci_digest_valid(d->digest) || d->size < 0) {
        return temper_fail(r->st, TEMPER_EFORMAT, "%s: invalid blob descriptor", repo);
    }
    char *path = temper_oci_blob_path(l, d->digest);
    char *url = reg_url(r, repo, "blobs/%s", d->digest);
    char *scope = reg_scope(repo, false);
    int rc = path && url && scope ? TEMPER_OK : temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    temper_http_resp_init(&resp);
    if (rc == TEMPER_OK && lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
        sb.st_size == d->size && temper_oci_blob_verify(r->st, l, d) == TEMPER_OK) {
        goto out; /* already there and intact */
    }
    if (rc == TEMPER_OK) {
        /* the HTTP client streams into a temp file next to `path`, checks the
         * size cap and the SHA-256 and renames it into place only then */
        struct reg_call c = { .method = "GET", .url = url, .scope = scope, .out_path = path,
                              .expect_sha256 = d->digest + 7,
                              .max_body = (unsigned long long)d->size };
        rc = reg_do(r, &c, &resp);
    }
    if (rc == TEMPER_OK && resp.status != 200) {
        rc = reg_status_fail(r, "GET", url, &resp);
    } else if (rc == TEMPER_OK && resp.body_bytes != (unsigned long long)d->size) {
        unlink(path);
        rc = temper_fail(r->st, TEMPER_ECRYPTO, "GET %s: %llu bytes, the descriptor says %lld",
                         url, resp.body_bytes, d->size);
    } else if (rc == TEMPER_OK) {
        r->stats.blobs_fetched++;
    }
out:
    temper_http_resp_cleanup(&resp);
    free(path);
    free(url);
    free(scope);
    return rc;
}

/* ---- uploads --------------------------------------------------------------------- */

struct upload {
    struct temper_registry *r;
    const char *repo;
    const struct temper_oci_descriptor *d;
    const char *path;               /* blob file */
    const char *scope;
    char *location;                 /* current upload URL */
};

static int take_location(struct upload *u, const struct temper_http_resp *resp,
                         const char *method, const char *url)
{
    char *loc = NULL;
    if (temper_http_resp_location(resp, &loc) != TEMPER_OK) {
        char *safe = temper_http_safe_url(url);
        int rc = temper_fail(u->r->st, TEMPER_EFORMAT, "%s %s: HTTP %ld without a usable "
                             "Location", method, safe ? safe : "?", resp->status);
        free(safe);
        return rc;
    }
    free(u->location);
    u->location = loc;
    return TEMPER_OK;
}

/* POST an upload (or a mount): *mounted true when 201 came back. */
static int start_upload(struct upload *u, const char *from, bool *mounted)
{
    struct temper_http_resp resp;
    char *url = NULL, *ef = from ? reg_query_escape(from) : NULL;
    *mounted = false;
    if (from && ef) {
        url = reg_url(u->r, u->repo, "blobs/uploads/?mount=%s&from=%s", u->d->digest, ef);
    } else if (!from) {
        url = reg_url(u->r, u->repo, "blobs/uploads/");
    }
    int rc = url ? TEMPER_OK : temper_fail(u->r->st, TEMPER_ENOMEM, "out of memory");
    temper_http_resp_init(&resp);
    if (rc == TEMPER_OK) {
        struct reg_call c = { .method = "POST", .url = url, .scope = u->scope,
                              .headers = { "Content-Length: 0" },
                              .flags = TEMPER_HTTP_RETRY_UNSAFE };
        rc = reg_do(u->r, &c, &resp);
    }
    if (rc == TEMPER_OK && from && resp.status == 201) {
        *mounted = true;
    } else if (rc == TEMPER_OK && resp.status == 202) {
        rc = take_location(u, &resp, "POST", url);
    } else if (rc == TEMPER_OK) {
        rc = reg_status_fail(u->r, "POST", url, &resp);
    }
    temper_http_resp_cleanup(&resp);
    free(url);
    free(ef);
    return rc;
}

/* location + "digest=<d>" */
static char *digest_url(const struct upload *u)
{
    return temper_strdupf("%s%sdigest=%s", u->location, strchr(u->location, '?') ? "&" : "?",
                          u->d->digest);
}

static int finish_put(struct upload *u, const char *body_file)
{
    struct temper_http_resp resp;
    char *url = digest_url(u);
    int rc = url ? TEMPER_OK : temper_fail(u->r->st, TEMPER_ENOMEM, "out of memory");
    temper_http_resp_init(&resp);
    if (rc == TEMPER_OK) {
        struct reg_call c = { .method = "PUT", .url = url, .scope = u->scope,
                              .body_file = body_file,
                              .headers = { OCTET, body_file ? NULL : "Content-Length: 0" } };
        rc = reg_do(u->r, &c, &resp);
    }
    if (rc == TEMPER_OK && resp.status != 201) {
        rc = reg_status_fail(u->r, "PUT", url, &resp);
    }
    if (rc == TEMPER_OK && body_file) {
        u->r->stats.bytes_uploaded += (unsigned long long)u->d->size;
    }
    temper_http_resp_cleanup(&resp);
    free(url);
    return rc;
}

/* Offset the registry holds for the current upload (GET status, Range).
 * A registry that cannot resume it (docker-registry refuses an upload whose
 * data moved past its signed state: "start over") gives TEMPER_ENET, not
 * recorded: the caller starts a new upload. */
static int upload_status(struct upload *u, long long *offset)
{
    struct temper_http_resp resp;
    long long lo = 0, hi = -1;
    temper_http_resp_init(&resp);
    struct reg_call c = { .method = "GET", .url = u->location, .scope = u->scope };
    int rc = reg_do(u->r, &c, &resp);
    const char *range = rc == TEMPER_OK ? temper_http_resp_header(&resp, "Range", 0) : NULL;
    if (rc == TEMPER_OK && resp.status != 204) {
        TEMPER_LOG_INFO(u->r->st, "the registry cannot resume the upload of %s (HTTP %ld)",
                        u->d->digest, resp.status);
        rc = TEMPER_ENET;
    } else if (rc == TEMPER_OK && range &&
               (sscanf(range, "%lld-%lld", &lo, &hi) != 2 || lo != 0 || hi < -1 ||
                hi >= u->d->size)) {
        rc = temper_fail(u->r->st, TEMPER_EFORMAT, "upload status of %s: bad Range '%.40s'",
                         u->d->digest, range);
    }
    if (rc == TEMPER_OK) {
        char *loc = NULL;
        if (temper_http_resp_location(&resp, &loc) == TEMPER_OK) {
            free(u->location);
            u->location = loc;
        }
        /* "0-0" is what docker-registry says for 0 and for 1 byte: chunks
         * are never 1 byte, so it means nothing was kept */
        *offset = range && hi > 0 ? hi + 1 : 0;
        TEMPER_LOG_INFO(u->r->st, "resuming the upload of %s at byte %lld", u->d->digest,
                        *offset);
    }
    temper_http_resp_cleanup(&resp);
    return rc;
}

static int read_full(int fd, char *buf, size_t n, long long off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, buf + got, n - got, (off_t)(off + (long long)got));
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return TEMPER_EIO;
        }
        got += (size_t)k;
    }
    return TEMPER_OK;
}

/* One PATCH of buf at off; *sent true when the registry took it. */
static int patch_chunk(struct upload *u, const char *buf, size_t n, long long off, bool *sent)
{
    struct temper_http_resp resp;
    char range[80];
    *sent = false;
    snprintf(range, sizeof range, "Content-Range: %lld-%lld", off, off + (long long)n - 1);
    temper_http_resp_init(&resp);
    struct reg_call c = { .method = "PATCH", .url = u->location, .scope = u->scope,
                          .headers = { OCTET, range }, .body = buf, .body_len = n };
    int rc = reg_do(u->r, &c, &resp);
    if (rc == TEMPER_OK && resp.status == 202) {
        rc = take_location(u, &resp, "PATCH", u->location);
        *sent = rc == TEMPER_OK;
        u->r->stats.bytes_uploaded += n;
    } else if (rc == TEMPER_OK) {
        rc = reg_status_fail(u->r, "PATCH", u->location, &resp);
    }
    temper_http_resp_cleanup(&resp);
    return rc;
}

static int chunked(struct upload *u)
{
    size_t cs = (size_t)u->r->o.chunk_size;
    char *buf = malloc(cs);
    int fd = open(u->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    long long off = 0;
    int rc = buf ? TEMPER_OK : temper_fail(u->r->st, TEMPER_ENOMEM, "out of memory");
    unsigned resumes = 0;
    if (rc == TEMPER_OK && fd < 0) {
        rc = temper_fail(u->r->st, TEMPER_EIO, "cannot open %s: %s", u->path, strerror(errno));
    }
    while (rc == TEMPER_OK && off < u->d->size) {
        size_t n = (size_t)(u->d->size - off) < cs ? (size_t)(u->d->size - off) : cs;
        bool sent = false;
        if (read_full(fd, buf, n, off) != TEMPER_OK) {
            rc = temper_fail(u->r->st, TEMPER_EIO, "cannot read %s", u->path);
            break;
        }
        int prc = patch_chunk(u, buf, n, off, &sent);
        if (sent) {
            off += (long long)n;
            continue;
        }
        if (prc != TEMPER_ENET || ++resumes > REG_RESUMES_MAX ||
            temper_stage_cancelled(u->r->st)) {
            rc = prc;
            break;
        }
        /* the connection broke or the registry failed: ask where it stands */
        u->r->stats.resumes++;
        rc = upload_status(u, &off);
    }
    if (rc == TEMPER_OK) {
        rc = finish_put(u, NULL);
    }
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    return rc;
}

static int upload_once(struct upload *u, const char *from)
{
    bool mounted = false;
    int rc = TEMPER_OK;
    if (from && strcmp(from, u->repo) != 0) {
        rc = start_upload(u, from, &mounted);
        if (mounted) {
            u->r->stats.blobs_mounted++;
            return TEMPER_OK;
        }
    } else {
        rc = start_upload(u, NULL, &mounted);
    }
    if (rc != TEMPER_OK) {
        return rc;
    }
    if ((unsigned long long)u->d->size <= u->r->o.monolithic_max) {
        rc = finish_put(u, u->path);
    } else {
        rc = chunked(u);
    }
    if (rc == TEMPER_OK) {
        u->r->stats.blobs_uploaded++;
    }
    return rc;
}

int temper_registry_blob_push(struct temper_registry *r, const char *repo,
                              const struct temper_oci_layout *l,
                              const struct temper_oci_descriptor *d, const char *from_repo)
{
    struct upload u = { .r = r, .repo = repo, .d = d };
    bool exists = false;
    char *path = temper_oci_blob_path(l, d->digest);
    char *scope = reg_scope(repo, true);
    struct stat sb;
    int rc = path && scope ? TEMPER_OK : temper_fail(r->st, TEMPER_ENOMEM, "out of memory");
    if (rc == TEMPER_OK && (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
                            sb.st_size != d->size)) {
        rc = temper_fail(r->st, TEMPER_ENOTFOUND, "blob %s is missing in %s or has the wrong "
                         "size", d->digest, temper_oci_layout_path(l));
    }
    if (rc == TEMPER_OK) {
        rc = temper_registry_blob_exists(r, repo, d->digest, &exists);
    }
    if (rc == TEMPER_OK && exists) {
        r->stats.blobs_present++;
        goto out;
    }
    u.path = path;
    u.scope = scope;
    for (int attempt = 1; rc == TEMPER_OK; attempt++) {
        rc = upload_once(&u, attempt == 1 ? from_repo : NULL);
        if (rc != TEMPER_ENET || attempt >= REG_UPLOAD_ATTEMPTS ||
            temper_stage_cancelled(r->st)) {
            break;
        }
        TEMPER_LOG_INFO(r->st, "starting the upload of %s again (attempt %d of %d)", d->digest,
                        attempt + 1, REG_UPLOAD_ATTEMPTS);
        r->stats.resumes++;
        rc = TEMPER_OK;
    }
out:
    free(u.location);
    free(path);
    free(scope);
    return rc;
}

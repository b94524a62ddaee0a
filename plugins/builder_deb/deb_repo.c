/* temper — builder_deb: the signed archive index.  InRelease is fetched,
 * checked with gpgv against the configured keyring and parsed; each
 * component's Packages file is taken from the cache when a file with the
 * SHA256 the Release lists is there, else downloaded (xz, gz or plain,
 * whichever the Release lists and the mirror has), verified and stored
 * uncompressed under that hash, so a warm build reads no compressed index. */
#include "config.h"
#include "deb.h"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define INRELEASE_MAX (16u << 20)
#define GPGV_LOG_MAX 4096

static int read_file(const char *path, size_t max, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > max) {
        if (fd >= 0) {
            close(fd);
        }
        return TEMPER_ENOTFOUND;
    }
    char *p = malloc((size_t)sb.st_size + 1);
    size_t got = 0;
    while (p && got < (size_t)sb.st_size) {
        ssize_t n = read(fd, p + got, (size_t)sb.st_size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    if (!p || got != (size_t)sb.st_size) {
        free(p);
        return p ? TEMPER_EIO : TEMPER_ENOMEM;
    }
    p[got] = '\0';
    *data = p;
    *len = got;
    return TEMPER_OK;
}

static int write_file(struct temper_stage *st, const char *path, const void *data, size_t len)
{
    char *tmp = temper_strdupf("%s.tmp%ld", path, (long)getpid());
    int fd = tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
    size_t done = 0;
    while (fd >= 0 && done < len) {
        ssize_t n = write(fd, (const char *)data + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        done += (size_t)n;
    }
    int rc = TEMPER_OK;
    if (fd < 0 || done != len || close(fd) != 0 || rename(tmp, path) != 0) {
        rc = temper_fail(st, TEMPER_EIO, "cannot write %s: %s", path, strerror(errno));
        if (tmp) {
            unlink(tmp);
        }
    }
    free(tmp);
    return rc;
}

/* ---- gpgv ------------------------------------------------------------------- */

static int gpgv_check(struct deb_build *b, const char *file)
{
    const char *wd = temper_stage_workdir(b->st);
    char *home = temper_strdupf("%s/gnupg", wd ? wd : b->s->cache);
    char *log = temper_strdupf("%s/gpgv.log", wd ? wd : b->s->cache);
    int rc = home && log ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && mkdir(home, 0700) != 0 && errno != EEXIST) {
        rc = temper_fail(b->st, TEMPER_EIO, "cannot create %s: %s", home, strerror(errno));
    }
    int status = -1;
    if (rc == TEMPER_OK) {
        const char *argv[] = { "gpgv", "--homedir", home, "--keyring", b->s->conf->keyring,
                               "--", file, NULL };
        rc = deb_spawn(b->st, argv, log, &status);
    }
    if (rc == TEMPER_OK && status != 0) {
        char *out = NULL;
        size_t len = 0;
        char first[256] = "no output";
        if (read_file(log, 1 << 20, &out, &len) == TEMPER_OK) {
            const char *bad = strstr(out, "BAD signature");
            const char *line = bad ? bad : strstr(out, "gpgv: ");
            line = line ? line : out;
            size_t n = strcspn(line, "\n");
            snprintf(first, sizeof first, "%.*s", (int)(n < 200 ? n : 200), line);
        }
        free(out);
        rc = temper_fail(b->st, TEMPER_ECRYPTO,
                         "%s/dists/%s/InRelease: signature not valid with keyring %s: %s",
                         b->s->conf->mirror, b->suite, b->s->conf->keyring, first);
    }
    free(home);
    free(log);
    return rc;
}

/* ---- InRelease ---------------------------------------------------------------- */

static int fetch_inrelease(struct deb_build *b, struct deb_repo *r, const char *cached,
                           char **data, size_t *len)
{
    char *url = temper_strdupf("%s/dists/%s/InRelease", r->base, b->suite);
    if (!url) {
        return TEMPER_ENOMEM;
    }
    struct temper_http_resp resp;
    temper_http_resp_init(&resp);
    struct temper_http_req req = { .size = sizeof req, .url = url,
                                   .flags = TEMPER_HTTP_CONDITIONAL,
                                   .max_body = INRELEASE_MAX };
    int rc = temper_http_do(b->http, &req, &resp);
    if (rc == TEMPER_OK && resp.not_modified) {
        rc = read_file(cached, INRELEASE_MAX, data, len);
        if (rc != TEMPER_OK) {
            /* validators without the file: ask again unconditionally */
            req.flags = 0;
            rc = temper_http_do(b->http, &req, &resp);
        }
    }
    if (rc == TEMPER_OK && !resp.not_modified) {
        *len = resp.body.len;
        *data = temper_buf_take(&resp.body, NULL);
        rc = *data ? write_file(b->st, cached, *data, *len) : TEMPER_ENOMEM;
        if (rc == TEMPER_OK) {
            rc = temper_http_commit_validators(b->http, &resp);
        }
    }
    temper_http_resp_cleanup(&resp);
    free(url);
    return rc;
}

static int check_release(struct deb_build *b, const struct temper_release *rel)
{
    const struct deb_conf *c = b->s->conf;
    long long now = temper_stage_now_ms(b->st) / 1000;
    if (c->check_valid_until && rel->valid_until >= 0 && rel->valid_until < now) {
        return temper_fail(b->st, TEMPER_ECRYPTO,
                           "%s/dists/%s/InRelease expired on %s (set check_valid_until = "
                           "false for a frozen mirror)",
                           c->mirror, b->suite, rel->valid_until_text);
    }
    bool suite_ok = (rel->suite && strcmp(rel->suite, b->suite) == 0) ||
                    (rel->codename && strcmp(rel->codename, b->suite) == 0);
    if (!suite_ok) {
        return temper_fail(b->st, TEMPER_EFORMAT,
                           "%s/dists/%s/InRelease is for suite '%s' (codename '%s')", c->mirror,
                           b->suite, rel->suite ? rel->suite : "", rel->codename ? rel->codename
                                                                                   : "");
    }
    return TEMPER_OK;
}

static int load_release(struct deb_build *b, struct deb_repo *r)
{
    char *cached = temper_strdupf("%s/InRelease", r->dir);
    char *data = NULL;
    size_t len = 0;
    int rc = cached ? fetch_inrelease(b, r, cached, &data, &len) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && b->s->conf->keyring) {
        rc = gpgv_check(b, cached);
    } else if (rc == TEMPER_OK) {
        TEMPER_LOG_WARN(b->st, "%s/dists/%s/InRelease not verified (allow_unsigned)",
                        b->s->conf->mirror, b->suite);
    }
    if (rc == TEMPER_OK) {
        rc = temper_release_parse(b->st, cached, data, len, &r->rel);
    }
    if (rc == TEMPER_OK && b->s->conf->keyring && !r->rel->clearsigned) {
        rc = temper_fail(b->st, TEMPER_ECRYPTO, "%s/dists/%s/InRelease is not signed",
                         b->s->conf->mirror, b->suite);
    }
    if (rc == TEMPER_OK) {
        rc = check_release(b, r->rel);
    }
    free(data);
    free(cached);
    return rc;
}

/* ---- Packages --------------------------------------------------------------- */

/* Decompress src into dst (temp + rename) checking the SHA256 of the result. */
static int decompress(struct deb_build *b, const char *src, const char *dst, const char *sha)
{
    struct archive *a = archive_read_new();
    char *tmp = temper_strdupf("%s.tmp%ld", dst, (long)getpid());
    int fd = tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
    struct temper_sha256 *h = temper_sha256_new();
    int rc = a && tmp && fd >= 0 && h ? TEMPER_OK : TEMPER_EIO;
    if (rc == TEMPER_OK && (archive_read_support_filter_xz(a) != ARCHIVE_OK ||
                            archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
                            archive_read_support_format_raw(a) != ARCHIVE_OK ||
                            archive_read_open_filename(a, src, 65536) != ARCHIVE_OK)) {
        rc = TEMPER_EFORMAT;
    }
    struct archive_entry *ae = NULL;
    if (rc == TEMPER_OK && archive_read_next_header(a, &ae) != ARCHIVE_OK) {
        rc = TEMPER_EFORMAT;
    }
    char buf[65536];
    while (rc == TEMPER_OK) {
        la_ssize_t n = archive_read_data(a, buf, sizeof buf);
        if (n <= 0) {
            rc = n < 0 ? TEMPER_EFORMAT : TEMPER_OK;
            break;
        }
        temper_sha256_update(h, buf, (size_t)n);
        rc = write(fd, buf, (size_t)n) == n ? TEMPER_OK : TEMPER_EIO;
    }
    char hex[TEMPER_SHA256_HEX_LEN + 1] = "";
    if (h) {
        temper_sha256_final(h, NULL, hex);
    }
    if (rc == TEMPER_OK && !temper_hex_equal(hex, sha)) {
        rc = temper_fail(b->st, TEMPER_ECRYPTO, "%s: decompressed index has SHA256 %s, the "
                         "Release says %s", src, hex, sha);
    }
    if (fd >= 0 && close(fd) != 0 && rc == TEMPER_OK) {
        rc = TEMPER_EIO;
    }
    if (rc == TEMPER_OK && rename(tmp, dst) != 0) {
        rc = TEMPER_EIO;
    }
    if (rc != TEMPER_OK && !temper_stage_error(b->st)) {
        rc = temper_fail(b->st, rc, "%s: cannot decompress: %s", src,
                         a && archive_error_string(a) ? archive_error_string(a)
                                                      : temper_rc_str(rc));
    }
    if (rc != TEMPER_OK && tmp) {
        unlink(tmp);
    }
    temper_sha256_free(h);
    if (a) {
        archive_read_free(a);
    }
    free(tmp);
    return rc;
}

/* Download one listed variant of the index into `to`; ENOTFOUND when the
 * mirror does not have it. */
static int download(struct deb_build *b, struct deb_repo *r,
                    const struct temper_release_file *f, const char *to)
{
    char *url = temper_strdupf("%s/dists/%s/%s", r->base, b->suite, f->path);
    if (!url) {
        return TEMPER_ENOMEM;
    }
    struct temper_http_resp resp;
    temper_http_resp_init(&resp);
    struct temper_http_req req = { .size = sizeof req, .url = url, .out_path = to,
                                   .flags = TEMPER_HTTP_ANY_STATUS,
                                   .max_body = f->size, .expect_sha256 = f->sha256 };
    int rc = temper_http_do(b->http, &req, &resp);
    if (rc == TEMPER_OK && resp.status == 404) {
        rc = TEMPER_ENOTFOUND;
    } else if (rc == TEMPER_OK && resp.status / 100 != 2) {
        rc = temper_fail(b->st, TEMPER_ENET, "GET %s: HTTP %ld", url, resp.status);
    }
    temper_http_resp_cleanup(&resp);
    free(url);
    return rc;
}

/* The uncompressed Packages of one component in the cache; *path new. */
static int index_path(struct deb_build *b, struct deb_repo *r, const char *comp, char **path)
{
    static const char *const exts[] = { ".xz", ".gz", "", NULL };
    char rel[512];
    snprintf(rel, sizeof rel, "%s/binary-%s/Packages", comp, b->arch);
    const struct temper_release_file *plain = temper_release_find(r->rel, rel);
    int rc = TEMPER_ENOTFOUND;
    for (size_t i = 0; exts[i] && rc == TEMPER_ENOTFOUND; i++) {
        char name[600];
        snprintf(name, sizeof name, "%s%s", rel, exts[i]);
        const struct temper_release_file *f = temper_release_find(r->rel, name);
        if (!f) {
            continue;
        }
        /* cached uncompressed under the plain hash, else under its own */
        const struct temper_release_file *key = plain ? plain : f;
        char *dst = temper_strdupf("%s/index/%s%s", b->s->cache, key->sha256,
                                   plain ? "" : exts[i]);
        struct stat sb;
        if (dst && stat(dst, &sb) == 0 && (unsigned long long)sb.st_size == key->size) {
            *path = dst;
            return TEMPER_OK;
        }
        char *tmp = dst ? temper_strdupf("%s.dl%s", dst, exts[i]) : NULL;
        rc = tmp ? download(b, r, f, tmp) : TEMPER_ENOMEM;
        if (rc == TEMPER_OK && plain && *exts[i]) {
            rc = decompress(b, tmp, dst, plain->sha256);
            unlink(tmp);
        } else if (rc == TEMPER_OK && rename(tmp, dst) != 0) {
            rc = temper_fail(b->st, TEMPER_EIO, "cannot rename %s: %s", tmp, strerror(errno));
        }
        free(tmp);
        if (rc == TEMPER_OK) {
            *path = dst;
            return TEMPER_OK;
        }
        free(dst);
    }
    if (rc == TEMPER_ENOTFOUND) {
        rc = temper_fail(b->st, TEMPER_ENOTFOUND,
                         "%s/dists/%s: no %s index (listed in the Release and on the mirror)",
                         b->s->conf->mirror, b->suite, rel);
    }
    return rc;
}

int deb_repo_open(struct deb_build *b, struct deb_repo *r)
{
    memset(r, 0, sizeof *r);
    const struct deb_conf *c = b->s->conf;
    size_t ml = strlen(c->mirror);
    while (ml > 0 && c->mirror[ml - 1] == '/') {
        ml--;
    }
    r->base = strndup(c->mirror, ml);
    char key[TEMPER_SHA256_HEX_LEN + 1];
    char *id = temper_strdupf("%s|%s", r->base ? r->base : "", b->suite);
    int rc = r->base && id ? temper_sha256_hex(id, strlen(id), key) : TEMPER_ENOMEM;
    free(id);
    if (rc == TEMPER_OK) {
        r->dir = temper_strdupf("%s/dists/%.16s", b->s->cache, key);
        rc = r->dir ? deb_mkdirs(b->st, r->dir) : TEMPER_ENOMEM;
    }
    char *idxdir = rc == TEMPER_OK ? temper_strdupf("%s/index", b->s->cache) : NULL;
    rc = rc == TEMPER_OK ? (idxdir ? deb_mkdirs(b->st, idxdir) : TEMPER_ENOMEM) : rc;
    free(idxdir);
    rc = rc == TEMPER_OK ? load_release(b, r) : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < c->components.n; i++) {
        if (r->n_idx == DEB_MAX_COMPONENTS) {
            rc = temper_fail(b->st, TEMPER_ELIMIT, "more than %d components",
                             DEB_MAX_COMPONENTS);
            break;
        }
        char *path = NULL;
        rc = index_path(b, r, c->components.v[i], &path);
        if (rc == TEMPER_OK) {
            rc = temper_debindex_load(b->st, path, NULL, &r->idx[r->n_idx]);
            r->n_idx += rc == TEMPER_OK;
        }
        free(path);
    }
    return rc == TEMPER_ENOMEM && !temper_stage_error(b->st)
               ? temper_fail(b->st, rc, "out of memory")
               : rc;
}

void deb_repo_free_indexes(struct deb_repo *r)
{
    for (size_t i = 0; i < r->n_idx; i++) {
        temper_debindex_free(r->idx[i]);
        r->idx[i] = NULL;
    }
    r->n_idx = 0;
}

void deb_repo_cleanup(struct deb_repo *r)
{
    deb_repo_free_indexes(r);
    temper_release_free(r->rel);
    free(r->dir);
    free(r->base);
    memset(r, 0, sizeof *r);
}

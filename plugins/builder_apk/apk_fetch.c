/* temper — builder_apk: repository indexes and packages, downloaded into the
 * stage's cache and checked before anything is extracted.
 *
 * The chain of trust is apk's: the APKINDEX is signed (RSA, checked with the
 * configured public keys); its C: field is "Q1" + base64 of the SHA-1 of a
 * package's control gzip member; the control member's .PKGINFO carries
 * datahash, the SHA-256 of the data gzip member.  A package is used only
 * when all three hold.  Cached files are named by what identifies them (the
 * index URL's hash, the package checksum), so a cache hit is re-checked the
 * same way and a bad cached file is downloaded again. */
#include "config.h"
#include "apk_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_MAX (64u * 1024u)
#define COPY_BLOCK (64u * 1024u)

/* Read a whole small file (keys, indexes) into a new buffer. */
static int slurp(struct temper_stage *st, const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        return temper_fail(st, TEMPER_EIO, "cannot read %s: %s", path,
                           fd < 0 ? strerror(e) : "not a regular file");
    }
    if ((unsigned long long)sb.st_size > max) {
        close(fd);
        return temper_fail(st, TEMPER_ELIMIT, "%s: larger than %zu bytes", path, max);
    }
    char *buf = malloc((size_t)sb.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (!buf || got != (size_t)sb.st_size) {
        free(buf);
        return temper_fail(st, buf ? TEMPER_EIO : TEMPER_ENOMEM, "cannot read %s", path);
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return TEMPER_OK;
}

/* What abuild names keys: "user@host-5f1b2c3d.rsa.pub". */
static bool key_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 255 && s[0] != '.' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-@") == n;
}

int apk_keys_load(struct temper_stage *st, const struct temper_strlist *paths,
                  struct apk_keys *out)
{
    memset(out, 0, sizeof *out);
    out->v = calloc(paths->n ? paths->n : 1, sizeof *out->v);
    if (!out->v) {
        return temper_fail(st, TEMPER_ENOMEM, "apk: out of memory");
    }
    for (size_t i = 0; i < paths->n; i++) {
        struct apk_key *k = &out->v[out->n];
        const char *slash = strrchr(paths->v[i], '/');
        k->path = paths->v[i];
        k->name = slash ? slash + 1 : paths->v[i];
        if (!key_name_ok(k->name)) {
            return temper_fail(st, TEMPER_EINVAL, "key %s: the file name is not a key name",
                               k->path);
        }
        int rc = slurp(st, k->path, KEY_MAX, &k->pem, &k->len);
        if (rc != TEMPER_OK) {
            return rc;
        }
        out->n++;
    }
    return TEMPER_OK;
}

void apk_keys_cleanup(struct apk_keys *k)
{
    for (size_t i = 0; k && i < k->n; i++) {
        free(k->v[i].pem);
    }
    if (k) {
        free(k->v);
        memset(k, 0, sizeof *k);
    }
}

/* The key named like the signature decides (as in apk); with no such name
 * among the keys, any key that verifies is accepted (tried quietly). */
static int verify_index(struct apk_fetch *f, const char *url, const struct temper_apkindex *idx)
{
    const struct temper_apksig *sig = temper_apkindex_signature(idx);
    const struct apk_keys *keys = f->keys;
    if (!sig || sig->type == TEMPER_APKSIG_NONE) {
        return temper_fail(f->st, TEMPER_ECRYPTO, "%s: the index is not signed", url);
    }
    for (size_t i = 0; i < keys->n; i++) {
        if (strcmp(keys->v[i].name, sig->key_name) == 0) {
            int rc = temper_apkindex_verify(NULL, idx, keys->v[i].pem); /* logs why */
            return rc == TEMPER_OK ? rc
                                   : temper_fail(f->st, rc, "%s: the signature by %s does not "
                                                 "verify with %s", url, sig->key_name,
                                                 keys->v[i].path);
        }
    }
    for (size_t i = 0; i < keys->n; i++) {
        if (temper_apkindex_verify(NULL, idx, keys->v[i].pem) == TEMPER_OK) {
            return TEMPER_OK;
        }
    }
    return temper_fail(f->st, TEMPER_ECRYPTO,
                       "%s: signed by %s, which none of the configured keys verifies", url,
                       sig->key_name);
}

/* The cached copy may be revalidated only when it is the very file the
 * stored validators describe: its SHA-256 is kept in the stage state next
 * to them (another cache dir, a wiped cache or a hand-edited file then
 * simply cause a full download). */
static char *state_key(const char *url)
{
    return temper_strdupf("apkindex:%s", url);
}

static bool cache_matches(struct temper_stage *st, const char *url, const char *path)
{
    char *key = state_key(url), *want = NULL;
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    bool ok = key && temper_stage_state_get(st, key, &want) == TEMPER_OK &&
              temper_sha256_file(path, hex, NULL) == TEMPER_OK && temper_hex_equal(hex, want);
    free(key);
    free(want);
    return ok;
}

static void remember_cache(struct temper_stage *st, const char *url, const char *path)
{
    char *key = state_key(url);
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    if (key && temper_sha256_file(path, hex, NULL) == TEMPER_OK &&
        temper_stage_state_put(st, key, hex) != TEMPER_OK) {
        TEMPER_LOG_DEBUG(st, "%s: no durable state: the next build downloads it again", url);
    }
    free(key);
}

/* GET the index into the cache (conditional when the cached copy is the
 * one last verified; a 304 keeps it).  resp is kept for
 * temper_http_commit_validators(). */
static int get_index(struct apk_fetch *f, const char *url, const char *path,
                     struct temper_http_resp *resp)
{
    if (!cache_matches(f->st, url, path)) {
        /* forget validators that describe another file (http.h: "http:" + URL) */
        char *key = temper_strdupf("http:%s", url);
        if (!key || temper_stage_state_put(f->st, key, NULL) == TEMPER_ENOMEM) {
            free(key);
            return temper_fail(f->st, TEMPER_ENOMEM, "apk: out of memory");
        }
        free(key);
    }
    struct temper_http_req req = {
        .size = sizeof req, .url = url, .out_path = path, .flags = TEMPER_HTTP_CONDITIONAL,
        .max_body = f->conf->max_index_size,
    };
    int rc = temper_http_do(f->http, &req, resp);
    if (rc == TEMPER_OK && resp->not_modified) {
        TEMPER_LOG_DEBUG(f->st, "%s: not modified, using the cached copy", url);
    }
    return rc;
}

static int load_index(struct apk_fetch *f, const char *url, const char *path,
                      struct apk_repo *r)
{
    char *data = NULL;
    size_t len = 0;
    int rc = slurp(f->st, path, f->conf->max_index_size, &data, &len);
    if (rc == TEMPER_OK) {
        rc = temper_apkindex_load_mem(f->st, url, data, len, NULL, &r->idx);
    }
    if (rc == TEMPER_OK) {
        rc = verify_index(f, url, r->idx);
    }
    free(data);
    return rc;
}

static int one_index(struct apk_fetch *f, const char *arch, struct apk_repo *r)
{
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    struct temper_http_resp resp;
    temper_http_resp_init(&resp);
    char *url = temper_strdupf("%s/%s/APKINDEX.tar.gz", r->url, arch);
    int rc = url ? temper_sha256_hex(url, strlen(url), hex) : TEMPER_ENOMEM;
    char *path = rc == TEMPER_OK ? temper_strdupf("%s/index-%.24s.tar.gz", f->cache, hex) : NULL;
    if (!path) {
        rc = temper_fail(f->st, TEMPER_ENOMEM, "apk: out of memory");
    }
    if (rc == TEMPER_OK) {
        rc = get_index(f, url, path, &resp);
    }
    if (rc == TEMPER_OK) {
        rc = load_index(f, url, path, r);
    }
    if (rc == TEMPER_OK) {
        rc = temper_http_commit_validators(f->http, &resp);
        remember_cache(f->st, url, path);
        TEMPER_LOG_INFO(f->st, "%s: %zu packages, signed by %s", url,
                        temper_apkindex_count(r->idx),
                        temper_apkindex_signature(r->idx)->key_name);
    } else if (path) {
        unlink(path); /* a refused index is not kept, nor revalidated later */
    }
    temper_http_resp_cleanup(&resp);
    free(path);
    free(url);
    return rc;
}

int apk_fetch_indexes(struct apk_fetch *f, const char *arch, struct apk_repo *repos, size_t n)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = one_index(f, arch, &repos[i]);
    }
    return rc;
}

/* ---- packages ----------------------------------------------------------------- */

/* "Q1<base64 of 20 bytes>" -> 40 hex digits; false when malformed. */
static bool csum_hex(const char *q1, char hex[41])
{
    unsigned char *raw = NULL;
    size_t n = 0;
    if (!q1 || strncmp(q1, "Q1", 2) != 0 || strlen(q1) > 64 ||
        temper_base64_decode(q1 + 2, strlen(q1 + 2), &raw, &n) != TEMPER_OK) {
        return false;
    }
    bool ok = n == 20;
    for (size_t i = 0; ok && i < n; i++) {
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    }
    free(raw);
    return ok;
}

/* Copy bytes [off, end) of src to dst, checking their SHA-256 on the way. */
static int copy_data(struct temper_stage *st, const char *src, unsigned long long off,
                     const char *sha256, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    struct temper_sha256 *h = temper_sha256_new();
    char *buf = malloc(COPY_BLOCK);
    int rc = in >= 0 && out >= 0 && h && buf && lseek(in, (off_t)off, SEEK_SET) == (off_t)off
                 ? TEMPER_OK
                 : temper_fail(st, TEMPER_EIO, "cannot copy the data of %s to %s: %s", src, dst,
                               strerror(errno));
    while (rc == TEMPER_OK) {
        ssize_t r = read(in, buf, COPY_BLOCK);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r == 0) {
            break;
        }
        if (r < 0 || write(out, buf, (size_t)r) != r) {
            rc = temper_fail(st, TEMPER_EIO, "cannot copy the data of %s: %s", src,
                             strerror(errno));
            break;
        }
        temper_sha256_update(h, buf, (size_t)r);
    }
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    if (rc == TEMPER_OK) {
        temper_sha256_final(h, NULL, hex);
        if (!temper_hex_equal(hex, sha256)) {
            rc = temper_fail(st, TEMPER_ECRYPTO, "%s changed while it was read", src);
        }
    }
    if (in >= 0) {
        close(in);
    }
    if (out >= 0 && close(out) != 0 && rc == TEMPER_OK) {
        rc = temper_fail(st, TEMPER_EIO, "cannot write %s: %s", dst, strerror(errno));
    }
    temper_sha256_free(h);
    free(buf);
    return rc;
}

static int check_control(struct temper_stage *st, const char *what,
                         const struct temper_apkpkg *want, const struct temper_apkfile *af)
{
    const struct temper_apkpkg *got = af->pkg;
    if (strcmp(got->checksum, want->checksum) != 0) {
        return temper_fail(st, TEMPER_ECRYPTO,
                           "%s: checksum %s does not match the index (C:%s)", what,
                           got->checksum, want->checksum);
    }
    if (strcmp(got->name, want->name) != 0 || strcmp(got->version, want->version) != 0) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: the package is %s-%s, the index says %s-%s",
                           what, got->name, got->version, want->name, want->version);
    }
    if (!af->datahash) {
        return temper_fail(st, TEMPER_ECRYPTO,
                           "%s: no datahash in .PKGINFO: its data cannot be checked", what);
    }
    if (!af->data_ok) {
        return temper_fail(st, TEMPER_ECRYPTO,
                           "%s: the data member does not match the datahash of its .PKGINFO",
                           what);
    }
    return TEMPER_OK;
}

int apk_verify_package(struct temper_stage *st, const struct temper_apkpkg *want,
                       const char *file, const char *data_out, struct apk_unit *u)
{
    const char *what = u->url ? u->url : file;
    struct temper_apkfile *af = NULL;
    unsigned long long size = 0;
    int rc = temper_apkfile_load(st, file, NULL, &af);
    if (rc == TEMPER_OK) {
        rc = check_control(st, what, want, af);
    }
    if (rc == TEMPER_OK) {
        rc = copy_data(st, file, af->data_offset, af->data_sha256, data_out);
    }
    if (rc == TEMPER_OK && temper_sha256_file(file, u->sha256, &size) != TEMPER_OK) {
        rc = temper_fail(st, TEMPER_EIO, "cannot read %s", file);
    }
    if (rc == TEMPER_OK && want->size && size != want->size) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: %llu bytes, the index says %llu", what, size,
                         want->size);
    }
    temper_apkfile_free(af);
    return rc;
}

/* Is the cached file the package the index names?  (Quiet.) */
static bool cached_ok(const char *path, const struct temper_apkpkg *want)
{
    struct stat sb;
    struct temper_apkfile *af = NULL;
    if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
        temper_apkfile_load(NULL, path, NULL, &af) != TEMPER_OK) {
        return false;
    }
    bool ok = strcmp(af->pkg->checksum, want->checksum) == 0 && af->data_ok;
    temper_apkfile_free(af);
    return ok;
}

/* URL, cache file and data copy of one package. */
static int unit_paths(struct apk_fetch *f, const char *arch, const struct apk_repo *repos,
                      struct apk_unit *u, char **cache)
{
    const struct temper_apkpkg *pk = u->pick->pkg;
    char hex[41];
    if (!apk_token_ok(pk->name) || !apk_token_ok(pk->version)) {
        return temper_fail(f->st, TEMPER_EFORMAT, "%s: package name or version \"%.100s-%.100s\" "
                           "is not usable in a file name", repos[u->pick->repo].url, pk->name,
                           pk->version);
    }
    if (!csum_hex(pk->checksum, hex)) {
        return temper_fail(f->st, TEMPER_EFORMAT, "%s: %s-%s has no valid C: checksum",
                           repos[u->pick->repo].url, pk->name, pk->version);
    }
    if (pk->size > f->conf->max_package_size) {
        return temper_fail(f->st, TEMPER_ELIMIT, "%s-%s: %llu bytes, more than max_package_size",
                           pk->name, pk->version, pk->size);
    }
    u->url = temper_strdupf("%s/%s/%s-%s.apk", repos[u->pick->repo].url, arch, pk->name,
                            pk->version);
    u->data = temper_strdupf("%s/data-%s.tar.gz", f->work, hex);
    *cache = temper_strdupf("%s/pkg-%s.apk", f->cache, hex);
    if (!u->url || !u->data || !*cache) {
        return temper_fail(f->st, TEMPER_ENOMEM, "apk: out of memory");
    }
    return TEMPER_OK;
}

static int download(struct apk_fetch *f, struct apk_unit *units, size_t n)
{
    struct temper_http_req *reqs = calloc(n ? n : 1, sizeof *reqs);
    struct temper_http_resp *resps = calloc(n ? n : 1, sizeof *resps);
    const struct temper_http_req **rp = calloc(n ? n : 1, sizeof *rp);
    struct temper_http_resp **sp = calloc(n ? n : 1, sizeof *sp);
    size_t m = 0;
    int rc = reqs && resps && rp && sp ? TEMPER_OK
                                       : temper_fail(f->st, TEMPER_ENOMEM, "apk: out of memory");
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        if (cached_ok(units[i].file, units[i].pick->pkg)) {
            continue;
        }
        unsigned long long size = units[i].pick->pkg->size;
        reqs[m] = (struct temper_http_req){ .size = sizeof reqs[m], .url = units[i].url,
                                            .out_path = units[i].file,
                                            .max_body = size ? size : f->conf->max_package_size };
        temper_http_resp_init(&resps[m]);
        rp[m] = &reqs[m];
        sp[m] = &resps[m];
        m++;
    }
    if (rc == TEMPER_OK && m) {
        TEMPER_LOG_INFO(f->st, "downloading %zu of %zu packages", m, n);
        rc = temper_http_batch(f->http, rp, (struct temper_http_resp *const *)sp, m);
    }
    for (size_t j = 0; rc == TEMPER_OK && j < m; j++) {
        if (resps[j].rc != TEMPER_OK) {
            rc = temper_fail(f->st, resps[j].rc, "%s",
                             resps[j].error ? resps[j].error : "download failed");
        }
    }
    for (size_t j = 0; j < m; j++) {
        temper_http_resp_cleanup(&resps[j]);
    }
    free(reqs);
    free(resps);
    free(rp);
    free(sp);
    return rc;
}

int apk_fetch_packages(struct apk_fetch *f, const char *arch, const struct apk_repo *repos,
                       const struct apk_plan *plan, struct apk_unit *units)
{
    int rc = TEMPER_OK;
    for (size_t k = 0; rc == TEMPER_OK && k < plan->n; k++) {
        units[k].pick = &plan->v[plan->order[k]];
        rc = unit_paths(f, arch, repos, &units[k], &units[k].file);
    }
    if (rc == TEMPER_OK) {
        rc = download(f, units, plan->n);
    }
    for (size_t k = 0; rc == TEMPER_OK && k < plan->n; k++) {
        rc = apk_verify_package(f->st, units[k].pick->pkg, units[k].file, units[k].data,
                                &units[k]);
        if (rc != TEMPER_OK) {
            unlink(units[k].file); /* never reused */
        }
    }
    return rc;
}

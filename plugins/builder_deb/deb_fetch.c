/* temper — builder_deb: the .deb files.  Each is kept in the cache under
 * its SHA256 (debs/<sha256>.deb); a cached file is hashed again before use
 * and discarded when it no longer matches; downloads run concurrently
 * through the SDK client, which keeps a file only when its SHA256 is the
 * one the signed index gives. */
#include "config.h"
#include "deb.h"
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FETCH_BATCH 64

extern char **environ;

int deb_spawn(struct temper_stage *st, const char *const *argv, const char *log, int *status)
{
    posix_spawn_file_actions_t fa;
    *status = -1;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        return temper_fail(st, TEMPER_ENOMEM, "cannot run %s: out of memory", argv[0]);
    }
    int rc = TEMPER_OK;
    if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
        posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, 1, 2) != 0) {
        rc = temper_fail(st, TEMPER_ENOMEM, "cannot run %s: out of memory", argv[0]);
    }
    pid_t pid = -1;
    int e = rc == TEMPER_OK ? posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv,
                                           environ)
                            : 0;
    if (rc == TEMPER_OK && e != 0) {
        rc = temper_fail(st, TEMPER_EIO, "cannot run %s: %s", argv[0], strerror(e));
    }
    posix_spawn_file_actions_destroy(&fa);
    int ws = 0;
    while (rc == TEMPER_OK && waitpid(pid, &ws, 0) < 0) {
        if (errno != EINTR) {
            rc = temper_fail(st, TEMPER_EIO, "waiting for %s: %s", argv[0], strerror(errno));
        }
    }
    if (rc == TEMPER_OK) {
        *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    }
    return rc;
}

/* A pool path from the index: relative, no "..", printable. */
static bool filename_ok(const char *f)
{
    if (!f || !*f || f[0] == '/' || strlen(f) > 1024) {
        return false;
    }
    for (const char *p = f; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '\\' || *p == '?' || *p == '#') {
            return false;
        }
        if ((p == f || p[-1] == '/') && p[0] == '.' && p[1] == '.' &&
            (p[2] == '/' || p[2] == '\0')) {
            return false;
        }
    }
    return true;
}

/* Is the cached copy there and right?  A wrong one is removed. */
static bool cached_ok(struct deb_build *b, const struct deb_pkg *p)
{
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    int rc = temper_sha256_file(p->deb, hex, NULL);
    if (rc == TEMPER_ENOTFOUND) {
        return false;
    }
    if (rc == TEMPER_OK && temper_hex_equal(hex, p->sha256)) {
        return true;
    }
    TEMPER_LOG_WARN(b->st, "%s: cached file does not match the index (SHA256 %s): discarded",
                    p->deb, rc == TEMPER_OK ? hex : "unreadable");
    unlink(p->deb);
    return false;
}

static int fetch_batch(struct deb_build *b, const struct deb_repo *r, struct deb_pkg **todo,
                       size_t n)
{
    struct temper_http_req req[FETCH_BATCH];
    struct temper_http_resp resp[FETCH_BATCH];
    const struct temper_http_req *rq[FETCH_BATCH];
    struct temper_http_resp *rs[FETCH_BATCH];
    char *urls[FETCH_BATCH] = { 0 };
    int rc = TEMPER_OK;
    for (size_t i = 0; i < n; i++) {
        temper_http_resp_init(&resp[i]);
        urls[i] = temper_strdupf("%s/%s", r->base, todo[i]->filename);
        rc = urls[i] ? rc : TEMPER_ENOMEM;
        req[i] = (struct temper_http_req){ .size = sizeof req[i], .url = urls[i],
                                           .out_path = todo[i]->deb,
                                           .max_body = todo[i]->size ? todo[i]->size : 0,
                                           .expect_sha256 = todo[i]->sha256 };
        rq[i] = &req[i];
        rs[i] = &resp[i];
    }
    rc = rc == TEMPER_OK ? temper_http_batch(b->http, rq, rs, n) : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        if (resp[i].rc == TEMPER_ECRYPTO) {
            rc = temper_fail(b->st, TEMPER_ECRYPTO,
                             "%s %s: the downloaded .deb does not have the SHA256 of the "
                             "index (%s): refused", todo[i]->name, todo[i]->version,
                             todo[i]->sha256);
        } else if (resp[i].rc != TEMPER_OK) {
            rc = temper_fail(b->st, resp[i].rc, "%s", resp[i].error ? resp[i].error
                                                                     : "download failed");
        }
    }
    for (size_t i = 0; i < n; i++) {
        temper_http_resp_cleanup(&resp[i]);
        free(urls[i]);
    }
    return rc;
}

int deb_fetch(struct deb_build *b, const struct deb_repo *r, struct deb_set *set)
{
    char *dir = temper_strdupf("%s/debs", b->s->cache);
    int rc = dir ? deb_mkdirs(b->st, dir) : TEMPER_ENOMEM;
    struct deb_pkg **todo = calloc(set->n ? set->n : 1, sizeof *todo);
    size_t n = 0;
    rc = rc == TEMPER_OK && !todo ? TEMPER_ENOMEM : rc;
    for (size_t i = 0; rc == TEMPER_OK && i < set->n; i++) {
        struct deb_pkg *p = &set->v[i];
        if (!filename_ok(p->filename) || strlen(p->sha256) != TEMPER_SHA256_HEX_LEN ||
            strspn(p->sha256, "0123456789abcdef") != TEMPER_SHA256_HEX_LEN) {
            rc = temper_fail(b->st, TEMPER_EFORMAT, "%s %s: invalid Filename or SHA256 in the "
                             "index", p->name, p->version);
            break;
        }
        p->deb = temper_strdupf("%s/%s.deb", dir, p->sha256);
        rc = p->deb ? TEMPER_OK : TEMPER_ENOMEM;
        if (rc == TEMPER_OK && !cached_ok(b, p)) {
            todo[n++] = p;
        }
    }
    if (rc == TEMPER_OK && n) {
        TEMPER_LOG_INFO(b->st, "downloading %zu of %zu packages", n, set->n);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n; i += FETCH_BATCH) {
        rc = fetch_batch(b, r, todo + i, n - i < FETCH_BATCH ? n - i : FETCH_BATCH);
    }
    free(todo);
    free(dir);
    return rc == TEMPER_ENOMEM && !temper_stage_error(b->st)
               ? temper_fail(b->st, rc, "out of memory")
               : rc;
}

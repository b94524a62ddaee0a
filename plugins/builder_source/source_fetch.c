/* temper — builder_source: the release tarball.
 *
 * The `tarball` template is expanded ({name}, {version}; any other {...} is
 * an error), fetched with the SDK HTTP client (TLS verified, capped at
 * max_tarball) or copied from a local file (file:// or an absolute path),
 * and checked: against `sha256` when the definition pins it, else against
 * the sha256 recorded in the stage state on the first fetch of that URL (a
 * different tarball for the same URL is refused: upstream re-tagged or
 * someone tampered with it).
 *
 * Extraction goes through the SDK's layer extractor (temper_oci_layer_
 * extract: tar, tar.gz, tar.zst, tar.xz, tar.bz2): absolute names, "..", hardlinks out of
 * the tree and devices are refused, setuid bits dropped; on top of that a
 * symlink whose target is absolute or climbs out of the tree is refused. */
#include "config.h"
#include "source.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_PREFIX "tarball-sha256 "

int source_expand(struct source_build *b, const char *tpl, char **out)
{
    struct temper_buf u;
    temper_buf_init(&u, 8192);
    const struct temper_image_def *d = b->req->def;
    int rc = TEMPER_OK;
    for (const char *p = tpl; rc == TEMPER_OK && *p; p++) {
        if (*p != '{') {
            rc = temper_buf_append(&u, p, 1);
        } else if (strncmp(p, "{name}", 6) == 0) {
            rc = temper_buf_puts(&u, d->name);
            p += 5;
        } else if (strncmp(p, "{version}", 9) == 0 && d->version) {
            rc = temper_buf_puts(&u, d->version);
            p += 8;
        } else {
            rc = temper_fail(b->st, TEMPER_EINVAL, "image %s: %s: unknown or unset "
                             "placeholder at '%.20s' (known: {name}, {version} when the image "
                             "has an accepted version)", d->name, tpl, p);
        }
    }
    if (rc == TEMPER_OK && (strchr(u.data, '\n') || strchr(u.data, ' '))) {
        rc = temper_fail(b->st, TEMPER_EINVAL, "image %s: tarball URL has blanks", d->name);
    }
    *out = rc == TEMPER_OK ? temper_buf_take(&u, NULL) : NULL;
    temper_buf_cleanup(&u);
    return rc == TEMPER_OK && !*out ? TEMPER_ENOMEM : rc;
}

/* Copy a local file (regular, not a symlink) into dst, at most max bytes. */
static int copy_local(struct source_build *b, const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    int out = in >= 0 ? open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
    int rc = in < 0 || out < 0 ? temper_fail(b->st, TEMPER_EIO, "cannot read %s: %s", src,
                                             strerror(errno))
                               : TEMPER_OK;
    struct stat sb;
    if (rc == TEMPER_OK && (fstat(in, &sb) != 0 || !S_ISREG(sb.st_mode))) {
        rc = temper_fail(b->st, TEMPER_EIO, "tarball %s is not a regular file", src);
    }
    unsigned long long total = 0;
    char buf[65536];
    while (rc == TEMPER_OK) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n == 0) {
            break;
        }
        total += n > 0 ? (unsigned long long)n : 0;
        if (n < 0 || total > b->c->max_tarball) {
            rc = n < 0 ? temper_fail(b->st, TEMPER_EIO, "cannot read %s: %s", src,
                                     strerror(errno))
                       : temper_fail(b->st, TEMPER_ELIMIT, "tarball %s is bigger than "
                                     "max_tarball (%llu bytes)", src, b->c->max_tarball);
        } else if (write(out, buf, (size_t)n) != n) {
            rc = temper_fail(b->st, TEMPER_EIO, "cannot write %s: %s", dst, strerror(errno));
        }
    }
    if (in >= 0) {
        close(in);
    }
    if (out >= 0 && close(out) != 0 && rc == TEMPER_OK) {
        rc = temper_fail(b->st, TEMPER_EIO, "cannot write %s: %s", dst, strerror(errno));
    }
    return rc;
}

static int download(struct source_build *b)
{
    struct temper_http_resp resp;
    temper_http_resp_init(&resp);
    struct temper_http_req req = { .size = sizeof req, .url = b->url, .out_path = b->tarball,
                                   .max_body = b->c->max_tarball };
    int rc = temper_http_do(b->http, &req, &resp); /* failure recorded by the client */
    temper_http_resp_cleanup(&resp);
    return rc;
}

/* The pinned or recorded sha256 must match; the first fetch records it. */
static int check_sha(struct source_build *b)
{
    const char *name = b->req->def->name;
    if (b->ic->sha256) {
        if (!temper_hex_equal(b->ic->sha256, b->sha256) || strlen(b->ic->sha256) != 64) {
            return temper_fail(b->st, TEMPER_ECRYPTO, "image %s: tarball %s has sha256 %s, "
                               "the definition pins %s", name, b->url, b->sha256,
                               b->ic->sha256);
        }
        return TEMPER_OK;
    }
    char *key = temper_strdupf(STATE_PREFIX "%s", b->url);
    char *seen = NULL;
    int rc = key ? temper_stage_state_get(b->st, key, &seen) : TEMPER_ENOMEM;
    if (rc == TEMPER_ENOTFOUND) {
        TEMPER_LOG_WARN(b->st, "image %s: tarball %s not pinned: recording sha256 %s (pin it "
                        "with sha256 = ...)", name, b->url, b->sha256);
        rc = temper_stage_state_put(b->st, key, b->sha256);
    } else if (rc == TEMPER_OK && !temper_hex_equal(seen, b->sha256)) {
        rc = temper_fail(b->st, TEMPER_ECRYPTO, "image %s: tarball %s changed: sha256 %s, "
                         "recorded on its first fetch as %s", name, b->url, b->sha256, seen);
    }
    free(seen);
    free(key);
    return rc;
}

int source_fetch(struct source_build *b)
{
    const char *tpl = b->ic->tarball;
    if (!tpl == !b->ic->github) {
        return temper_fail(b->st, TEMPER_EINVAL, "image %s: set either `tarball` or `github` "
                           "(OWNER/REPO)", b->req->def->name);
    }
    b->tarball = temper_strdupf("%s/tarball", b->work);
    int rc = !b->tarball ? TEMPER_ENOMEM : tpl ? source_expand(b, tpl, &b->url) : TEMPER_OK;
    if (rc != TEMPER_OK) {
        return rc;
    }
    (void)unlink(b->tarball);
    if (!tpl) {
        rc = source_github_fetch(b);
    } else if (strncmp(b->url, "http://", 7) == 0 || strncmp(b->url, "https://", 8) == 0) {
        rc = download(b);
    } else if (strncmp(b->url, "file:///", 8) == 0 || b->url[0] == '/') {
        rc = copy_local(b, b->url + (b->url[0] == '/' ? 0 : 7), b->tarball);
    } else {
        rc = temper_fail(b->st, TEMPER_EINVAL, "image %s: tarball %s: only http(s)://, "
                         "file:// and absolute paths", b->req->def->name, b->url);
    }
    unsigned long long size = 0;
    if (rc == TEMPER_OK && temper_sha256_file(b->tarball, b->sha256, &size) != TEMPER_OK) {
        rc = temper_fail(b->st, TEMPER_EIO, "cannot hash %s", b->tarball);
    }
    rc = rc == TEMPER_OK ? check_sha(b) : rc;
    if (rc == TEMPER_OK) {
        TEMPER_LOG_INFO(b->st, "tarball %s: %llu bytes, sha256 %s", b->url, size, b->sha256);
    }
    return rc;
}

struct xctx {
    struct source_build *b;
    char first[256];            /* the first path component seen */
    bool one_top;               /* every entry is below `first` */
    bool top_is_dir;
};

/* A symlink target that stays inside the tree, relative to entry `path`. */
static bool link_inside(const char *path, const char *target)
{
    if (target[0] == '/' || !target[0]) {
        return false;
    }
    long depth = 0;
    for (const char *p = path; *p; p++) {
        depth += *p == '/';
    }
    for (const char *p = target; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            depth--;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            depth++;
        }
        if (depth < 0) {
            return false;
        }
        p += n + (p[n] == '/');
    }
    return true;
}

static int on_entry(void *ctx, const struct temper_oci_entry *e)
{
    struct xctx *x = ctx;
    size_t n = strcspn(e->path, "/");
    if (e->type == TEMPER_OCI_ENTRY_SYMLINK && !link_inside(e->path, e->link_target)) {
        return temper_fail(x->b->st, TEMPER_EFORMAT, "tarball %s: entry '%s': symlink to "
                           "'%s' leaves the source tree", x->b->url, e->path, e->link_target);
    }
    if (e->mtime > x->b->epoch && x->b->req->source_date_epoch <= 0) {
        x->b->epoch = e->mtime;
    }
    if (!x->first[0] && n < sizeof x->first) {
        memcpy(x->first, e->path, n);
        x->first[n] = '\0';
        x->one_top = true;
    }
    if (strlen(x->first) != n || strncmp(x->first, e->path, n) != 0) {
        x->one_top = false;
    } else if (!e->path[n]) {
        x->top_is_dir = e->type == TEMPER_OCI_ENTRY_DIR;
    } else {
        x->top_is_dir = true;
    }
    return TEMPER_OCI_TREE_KEEP;
}

int source_extract(struct source_build *b)
{
    struct xctx x = { .b = b };
    struct temper_oci_extract_opts o = {
        .size = sizeof o, .name = b->url, .strip_setuid = true,
        .max_bytes = b->c->max_unpacked, .fn = on_entry, .ctx = &x,
    };
    int rc = temper_oci_layer_extract(b->st, b->tarball, b->srcdir, &o);
    if (rc == TEMPER_OK && x.one_top && x.top_is_dir) {
        b->top = strdup(x.first);
        rc = b->top ? TEMPER_OK : TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK && b->epoch <= 0) {
        b->epoch = 1;
    }
    return rc;
}

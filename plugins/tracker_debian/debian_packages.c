/* temper — tracker_debian: the Packages indexes an accepted InRelease lists.
 *
 * For each component, the candidates are the forms the Release lists for
 * COMPONENT/binary-ARCH/Packages, best first: .xz, .gz, then the
 * uncompressed file.  Each is fetched by hash
 * (COMPONENT/binary-ARCH/by-hash/SHA256/<hex>) when the Release says
 * `Acquire-By-Hash: yes`, then by name; a 404 moves on to the next URL, like
 * apt.  (A mirror that offers only some forms works; so does a loopback
 * copy of /var/lib/apt/lists serving the uncompressed file apt keeps.)
 * Every download is capped at the size the Release gives and must have its
 * SHA-256 (checked while it arrives, the file is kept only when it matches),
 * and its size must be exactly that size, before it is parsed.  Forms larger
 * than `max_index_size` are not tried.  All components are fetched at once
 * (one libcurl multi batch per attempt). */
#include "config.h"
#include "debian.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_URLS 6

struct comp {
    const char *name;
    char *urls[MAX_URLS];
    const struct temper_release_file *entry[MAX_URLS];
    size_t n_urls;
    size_t next;
    char *path;                 /* download target */
    bool done;
    struct temper_http_req req;
    struct temper_http_resp resp;
};

static int add_url(struct comp *c, const struct temper_release_file *f, char *url)
{
    if (!url) {
        return TEMPER_ENOMEM;
    }
    c->urls[c->n_urls] = url;
    c->entry[c->n_urls++] = f;
    return TEMPER_OK;
}

/* The URLs to try for one component. */
static int candidates(struct temper_stage *st, const struct debian *d,
                      const struct temper_release *r, struct comp *c, bool *too_big)
{
    static const char *const ext[] = { ".xz", ".gz", "" };
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < sizeof ext / sizeof ext[0]; i++) {
        char *rel = temper_strdupf("%s/binary-%s/Packages%s", c->name, d->conf->arch, ext[i]);
        const struct temper_release_file *f = rel ? temper_release_find(r, rel) : NULL;
        free(rel);
        if (!rel) {
            return temper_fail(st, TEMPER_ENOMEM, "out of memory");
        }
        if (f && f->size > d->conf->max_index_size) {
            *too_big = true;
            continue;
        }
        if (f && r->acquire_by_hash) {
            rc = add_url(c, f, temper_strdupf("%s%s/binary-%s/by-hash/SHA256/%s", d->base,
                                              c->name, d->conf->arch, f->sha256));
        }
        if (f && rc == TEMPER_OK) {
            rc = add_url(c, f, temper_strdupf("%s%s", d->base, f->path));
        }
    }
    if (rc != TEMPER_OK) {
        return temper_fail(st, rc, "out of memory");
    }
    if (c->n_urls == 0) {
        return temper_fail(st, *too_big ? TEMPER_ELIMIT : TEMPER_ENOTFOUND,
                           *too_big ? "%s: every Packages index of %s/binary-%s is over the"
                                      " size cap (max_index_size)"
                                    : "%s lists no Packages index of %s/binary-%s",
                           d->safe_url, c->name, d->conf->arch);
    }
    return TEMPER_OK;
}

static void set_request(struct comp *c)
{
    const struct temper_release_file *f = c->entry[c->next];
    memset(&c->req, 0, sizeof c->req);
    c->req.size = sizeof c->req;
    c->req.url = c->urls[c->next];
    c->req.out_path = c->path;
    c->req.expect_sha256 = f->sha256;
    /* 0 would mean the client's cap: an empty file is checked by size */
    c->req.max_body = f->size ? f->size : 1;
}

/* The outcome of one attempt: done, next URL, or a failure. */
static int settle(struct temper_stage *st, const struct debian *d, struct comp *c)
{
    const struct temper_release_file *f = c->entry[c->next];
    int rc = c->resp.rc;
    if (rc == TEMPER_OK && c->resp.body_bytes != f->size) {
        return temper_fail(st, TEMPER_ECRYPTO, "%s: %llu bytes, the Release says %llu",
                           c->urls[c->next], c->resp.body_bytes, f->size);
    }
    if (rc == TEMPER_OK) {
        c->done = true;
        return TEMPER_OK;
    }
    if (rc == TEMPER_ENOTFOUND && c->next + 1 < c->n_urls) {
        TEMPER_LOG_DEBUG(st, "%s: not found, trying the next form", c->urls[c->next]);
        c->next++;
        return TEMPER_OK;
    }
    if (rc == TEMPER_ENOTFOUND) {
        return temper_fail(st, rc, "no Packages index of %s/binary-%s found under %s (%zu URLs"
                           " tried): %s", c->name, d->conf->arch, d->base, c->n_urls,
                           c->resp.error ? c->resp.error : "not found");
    }
    return temper_fail(st, rc, "%s", c->resp.error ? c->resp.error : temper_rc_str(rc));
}

/* Run batches until every component is fetched or one failed. */
static int fetch_all(struct temper_stage *st, const struct debian *d, struct temper_http *h,
                     struct comp *cs, size_t n)
{
    const struct temper_http_req **reqs = calloc(n, sizeof *reqs);
    struct temper_http_resp **resps = calloc(n, sizeof *resps);
    struct comp **which = calloc(n, sizeof *which);
    int rc = reqs && resps && which ? TEMPER_OK
                                    : temper_fail(st, TEMPER_ENOMEM, "out of memory");
    for (size_t round = 0; rc == TEMPER_OK && round < MAX_URLS; round++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (!cs[i].done) {
                set_request(&cs[i]);
                which[k] = &cs[i];
                reqs[k] = &cs[i].req;
                resps[k++] = &cs[i].resp;
            }
        }
        if (k == 0) {
            break;
        }
        rc = temper_http_batch(h, reqs, resps, k);
        for (size_t i = 0; rc == TEMPER_OK && i < k; i++) {
            rc = settle(st, d, which[i]);
        }
    }
    free(reqs);
    free(resps);
    free(which);
    return rc;
}

static void comp_cleanup(struct comp *c)
{
    for (size_t i = 0; i < c->n_urls; i++) {
        free(c->urls[i]);
    }
    if (c->path) {
        (void)remove(c->path);
    }
    free(c->path);
    temper_http_resp_cleanup(&c->resp);
}

int debian_packages_fetch(struct temper_stage *st, const struct debian *d,
                          struct temper_http *h, const struct temper_release *r,
                          struct temper_debindex **idx)
{
    size_t n = d->conf->components.n;
    struct comp *cs = calloc(n, sizeof *cs);
    int rc = cs ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "out of memory");
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        bool too_big = false;
        char name[32];
        snprintf(name, sizeof name, "Packages.%zu", i);
        cs[i].name = d->conf->components.v[i];
        temper_http_resp_init(&cs[i].resp);
        cs[i].path = debian_work_path(st, name);
        rc = cs[i].path ? candidates(st, d, r, &cs[i], &too_big) : TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK) {
        rc = fetch_all(st, d, h, cs, n);
    }
    struct temper_pkgindex_limits lim;
    temper_pkgindex_limits_default(&lim);
    lim.max_input = d->conf->max_index_size;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        rc = temper_debindex_load(st, cs[i].path, &lim, &idx[i]);
    }
    for (size_t i = 0; cs && i < n; i++) {
        comp_cleanup(&cs[i]);
    }
    free(cs);
    return rc;
}

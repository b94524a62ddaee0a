/* temper — tracker_alpine: Alpine Linux package repositories.
 *
 * One round:
 *  1. GET MIRROR/BRANCH/REPOSITORY/ARCH/APKINDEX.tar.gz into memory (at most
 *     `max_index_size`), conditionally when a state for this configuration
 *     was saved; a 304 ends the round with nothing reported.
 *  2. Read it (libarchive, through temper_apkindex_load_mem) and check its
 *     RSA signature: the key whose file name is the one the signature names
 *     (".SIGN.RSA256.<name>", as apk-tools picks it from /etc/apk/keys), or
 *     when no configured file has that name, each configured key in turn.
 *     An unsigned index, or one no configured key verifies, is refused.
 *  3. Compare each followed package (apk ordering) with the saved state and
 *     report what moved (pkgtrack.c): package, source_package (the origin),
 *     distribution "alpine:<branch>", old and new version.
 *  4. Save the state, then the HTTP validators.  Any failure before leaves
 *     both as they were. */
#include "config.h"
#include "pkgtrack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALPINE_MAX_KEYS 64
#define ALPINE_MAX_KEY_SIZE (64u * 1024u)

struct alpine_conf {
    char *mirror;
    char *branch;
    char *repository;
    char *arch;
    struct temper_strlist keys;
    struct temper_strlist packages;
    struct temper_strlist origins;
    unsigned long long max_index_size;
    struct pkgtrack_conf common;
};

struct alpine_key {
    const char *path;           /* borrowed from the conf */
    const char *base;           /* file name part of path */
    char *pem;
};

struct alpine {
    const struct alpine_conf *conf;
    struct alpine_key keys[ALPINE_MAX_KEYS];
    size_t n_keys;
    char *url;
    char *safe_url;
    char *distribution;
    char fp[17];
};

static const struct temper_option alpine_options[] = {
    { TEMPER_OPT_STR, "mirror", "https://dl-cdn.alpinelinux.org/alpine", 0,
      offsetof(struct alpine_conf, mirror), 0, 0, NULL,
      "repository root URL (holding BRANCH/REPOSITORY/ARCH/)" },
    { TEMPER_OPT_STR, "branch", NULL, TEMPER_OPT_REQUIRED, offsetof(struct alpine_conf, branch),
      0, 0, NULL, "release branch: v3.19, edge" },
    { TEMPER_OPT_STR, "repository", "main", 0, offsetof(struct alpine_conf, repository), 0, 0,
      NULL, "repository: main, community" },
    { TEMPER_OPT_STR, "arch", "x86_64", 0, offsetof(struct alpine_conf, arch), 0, 0, NULL,
      "architecture: x86_64, aarch64, ..." },
    { TEMPER_OPT_LIST, "keys", NULL, TEMPER_OPT_REQUIRED, offsetof(struct alpine_conf, keys),
      0, 0, NULL, "RSA public keys (PEM files, absolute paths, as in /etc/apk/keys) that"
      " may sign the index" },
    { TEMPER_OPT_LIST, "packages", NULL, 0, offsetof(struct alpine_conf, packages), 0, 0, NULL,
      "packages to follow (with `origins`: either matches; both empty: all)" },
    { TEMPER_OPT_LIST, "origins", NULL, 0, offsetof(struct alpine_conf, origins), 0, 0, NULL,
      "follow every package built from these origins (source packages)" },
    { TEMPER_OPT_SIZE, "max_index_size", "64M", 0, offsetof(struct alpine_conf, max_index_size),
      1024, 1LL << 34, NULL, "largest APKINDEX.tar.gz accepted, as fetched and unpacked" },
    PKGTRACK_COMMON_OPTIONS(struct alpine_conf, common),
    TEMPER_OPTION_END,
};

static int read_key(struct temper_stage *st, struct alpine_key *k)
{
    int rc = k->path[0] == '/' ? pkgtrack_read_file(k->path, ALPINE_MAX_KEY_SIZE, &k->pem, NULL)
                               : TEMPER_EIO;
    if (rc == TEMPER_OK && !strstr(k->pem, "-----BEGIN ")) {
        rc = TEMPER_EFORMAT;
    }
    if (rc != TEMPER_OK) {
        TEMPER_FREE(k->pem);
        return temper_fail(st, TEMPER_EINVAL, "key %s: %s", k->path,
                           rc == TEMPER_ENOMEM ? "out of memory"
                           : rc == TEMPER_EFORMAT ? "not a PEM public key"
                           : rc == TEMPER_ELIMIT ? "too large"
                           : "not a readable absolute path");
    }
    const char *slash = strrchr(k->path, '/');
    k->base = slash ? slash + 1 : k->path;
    return TEMPER_OK;
}

static int check_conf(struct temper_stage *st, const struct alpine_conf *c)
{
    int rc = pkgtrack_valid_url(st, "mirror", c->mirror);
    if (rc == TEMPER_OK) {
        rc = pkgtrack_valid_word(st, "branch", c->branch, false);
    }
    if (rc == TEMPER_OK) {
        rc = pkgtrack_valid_word(st, "repository", c->repository, false);
    }
    if (rc == TEMPER_OK) {
        rc = pkgtrack_valid_word(st, "arch", c->arch, false);
    }
    if (rc == TEMPER_OK && (c->keys.n == 0 || c->keys.n > ALPINE_MAX_KEYS)) {
        rc = temper_fail(st, TEMPER_EINVAL, "keys: give 1 to %d public key files",
                         ALPINE_MAX_KEYS);
    }
    return rc;
}

static int fingerprint(const struct alpine_conf *c, char fp[17])
{
    const struct temper_strlist *lists[] = { &c->packages, &c->origins };
    char *head = temper_strdupf("alpine\n%s\n%s\n%s\n%s", c->branch, c->repository, c->arch,
                                c->common.distribution ? c->common.distribution : "");
    int rc = head ? pkgtrack_fingerprint(head, lists, 2, fp) : TEMPER_ENOMEM;
    free(head);
    return rc;
}

static void alpine_close(void *state)
{
    struct alpine *a = state;
    if (!a) {
        return;
    }
    for (size_t i = 0; i < a->n_keys; i++) {
        free(a->keys[i].pem);
    }
    free(a->url);
    free(a->safe_url);
    free(a->distribution);
    free(a);
}

static int alpine_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct alpine_conf *c = conf;
    *state = NULL;
    int rc = check_conf(st, c);
    struct alpine *a = rc == TEMPER_OK ? calloc(1, sizeof *a) : NULL;
    if (rc == TEMPER_OK && !a) {
        rc = temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    for (size_t i = 0; rc == TEMPER_OK && i < c->keys.n; i++) {
        a->keys[i].path = c->keys.v[i];
        rc = read_key(st, &a->keys[i]);
        a->n_keys += rc == TEMPER_OK;
    }
    if (rc == TEMPER_OK) {
        a->conf = c;
        a->url = temper_strdupf("%.*s/%s/%s/%s/APKINDEX.tar.gz", pkgtrack_url_len(c->mirror),
                                c->mirror, c->branch, c->repository, c->arch);
        a->safe_url = a->url ? temper_http_safe_url(a->url) : NULL;
        a->distribution = c->common.distribution ? strdup(c->common.distribution)
                                                 : temper_strdupf("alpine:%s", c->branch);
        if (!a->safe_url || !a->distribution || fingerprint(c, a->fp) != TEMPER_OK) {
            rc = temper_fail(st, TEMPER_ENOMEM, "out of memory");
        }
    }
    if (rc != TEMPER_OK) {
        alpine_close(a);
        return rc;
    }
    *state = a;
    return TEMPER_OK;
}

/* The index's signature checked against the configured keys (see top). */
static int verify(struct alpine *a, struct temper_stage *st, const struct temper_apkindex *idx)
{
    const struct temper_apksig *sig = temper_apkindex_signature(idx);
    if (!sig || sig->type == TEMPER_APKSIG_NONE) {
        return temper_fail(st, TEMPER_ECRYPTO, "%s is not signed", a->safe_url);
    }
    const char *name = sig->key_name ? sig->key_name : "";
    for (size_t i = 0; i < a->n_keys; i++) {
        if (strcmp(a->keys[i].base, name) == 0) {
            if (temper_apkindex_verify(NULL, idx, a->keys[i].pem) == TEMPER_OK) {
                return TEMPER_OK;
            }
            return temper_fail(st, TEMPER_ECRYPTO, "%s: the signature by %s does not verify"
                               " with %s", a->safe_url, name, a->keys[i].path);
        }
    }
    for (size_t i = 0; i < a->n_keys; i++) {
        if (temper_apkindex_verify(NULL, idx, a->keys[i].pem) == TEMPER_OK) {
            return TEMPER_OK;
        }
    }
    return temper_fail(st, TEMPER_ECRYPTO, "%s: the signature by %s does not verify with any"
                       " of the %zu configured keys", a->safe_url, name, a->n_keys);
}

static int collect(struct temper_stage *st, const struct alpine_conf *c,
                   const struct temper_apkindex *idx, struct pkgtrack_set *set)
{
    int rc = TEMPER_OK;
    size_t n = temper_apkindex_count(idx);
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        const struct temper_apkpkg *p = temper_apkindex_at(idx, i);
        const char *origin = p->origin ? p->origin : p->name;
        if (pkgtrack_followed(&c->packages, &c->origins, p->name, origin)) {
            rc = pkgtrack_set_add(st, set, p->name, p->version, origin);
        }
    }
    return rc;
}

static int accept_round(void *ctx, struct temper_stage *st, struct temper_http *h,
                        const struct temper_http_resp *resp, const struct pkgtrack_state *old)
{
    struct alpine *a = ctx;
    struct temper_apkindex *idx = NULL;
    struct pkgtrack_set now = { 0 };
    struct temper_pkgindex_limits lim;
    temper_pkgindex_limits_default(&lim);
    lim.max_input = a->conf->max_index_size;
    int rc = temper_apkindex_load_mem(st, a->safe_url, resp->body.data, resp->body.len, &lim,
                                      &idx);
    if (rc == TEMPER_OK) {
        rc = verify(a, st, idx);
    }
    if (rc == TEMPER_OK) {
        rc = collect(st, a->conf, idx, &now);
    }
    if (rc == TEMPER_OK) {
        struct pkgtrack_round round = { .what = a->safe_url, .distribution = a->distribution,
                                        .fp = a->fp, .date = -1, .cmp = temper_apk_cmp,
                                        .report_initial = a->conf->common.report_initial };
        rc = pkgtrack_update(st, &round, old, &now, NULL);
    }
    if (rc == TEMPER_OK) {
        rc = temper_http_commit_validators(h, resp);
    }
    pkgtrack_set_cleanup(&now);
    temper_apkindex_free(idx);
    return rc;
}

static int alpine_poll(void *state, struct temper_stage *st,
                       const struct temper_watch *const *watches, size_t n)
{
    struct alpine *a = state;
    return pkgtrack_poll(st, &a->conf->common, a->fp, a->url, a->conf->max_index_size, n,
                         accept_round, a);
}

static const struct temper_tracker_ops alpine_ops = {
    .poll = alpine_poll,
};

TEMPER_PLUGIN(tracker_alpine) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_TRACKER, .name = "alpine", .version = "1.0.0",
    .summary = "Alpine repositories: signed APKINDEX, apk versions",
    .options = alpine_options, .conf_size = sizeof(struct alpine_conf),
    .open = alpine_open, .close = alpine_close,
    .ops = &alpine_ops, .ops_size = sizeof alpine_ops,
};

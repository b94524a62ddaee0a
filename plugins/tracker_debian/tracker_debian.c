/* temper — tracker_debian: Debian and Ubuntu package repositories.
 *
 * One round:
 *  1. GET MIRROR/dists/SUITE/InRelease, conditionally (If-None-Match /
 *     If-Modified-Since) when a state for this configuration was saved.  A
 *     304 ends the round: nothing reported, nothing else fetched.
 *  2. Accept it (debian_release.c): gpgv against `keyring`, the verified
 *     text is the parsed text, suite, Date (replay), Valid-Until.
 *  3. Fetch every component's Packages (debian_packages.c): by hash when
 *     offered, checked against the Release's SHA256 and size.
 *  4. Compare each followed binary package (dpkg ordering; the greatest
 *     version when an index lists several) with the saved state and report
 *     what moved (pkgtrack.c): package, source_package, distribution
 *     ("debian:bookworm", "ubuntu:noble"), old and new version.
 *  5. Save the state, then the InRelease's HTTP validators.  Any failure
 *     before this point leaves both as they were, so the next round fetches
 *     and checks everything again.
 *
 * Watches are not used: the core fans each package change out to the images
 * whose latest build contains the package (or its source). */
#include "config.h"
#include "debian.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEB_MAX_COMPONENTS 64

static const struct temper_option debian_options[] = {
    { TEMPER_OPT_STR, "mirror", "https://deb.debian.org/debian", 0,
      offsetof(struct debian_conf, mirror), 0, 0, NULL,
      "archive root URL (the directory holding dists/)" },
    { TEMPER_OPT_STR, "suite", NULL, TEMPER_OPT_REQUIRED, offsetof(struct debian_conf, suite),
      0, 0, NULL, "suite or codename: bookworm, bookworm-security, noble-updates" },
    { TEMPER_OPT_LIST, "components", "main", 0, offsetof(struct debian_conf, components), 0, 0,
      NULL, "components whose Packages are followed" },
    { TEMPER_OPT_STR, "arch", "amd64", 0, offsetof(struct debian_conf, arch), 0, 0, NULL,
      "architecture (binary-ARCH; Architecture: all packages are included)" },
    { TEMPER_OPT_PATH, "keyring", "/usr/share/keyrings/debian-archive-keyring.gpg", 0,
      offsetof(struct debian_conf, keyring), 0, 0, NULL,
      "OpenPGP keyring (binary) the InRelease must be signed by" },
    { TEMPER_OPT_PATH, "gpgv", "/usr/bin/gpgv", 0, offsetof(struct debian_conf, gpgv), 0, 0,
      NULL, "the gpgv program (package gpgv)" },
    { TEMPER_OPT_DURATION, "gpgv_timeout", "60s", 0, offsetof(struct debian_conf, gpgv_timeout),
      100, 3600000LL, NULL, "gpgv is killed after this long" },
    { TEMPER_OPT_LIST, "packages", NULL, 0, offsetof(struct debian_conf, packages), 0, 0, NULL,
      "binary packages to follow (with `sources`: either matches; both empty: all)" },
    { TEMPER_OPT_LIST, "sources", NULL, 0, offsetof(struct debian_conf, sources), 0, 0, NULL,
      "follow every binary package built from these source packages" },
    { TEMPER_OPT_SIZE, "max_release_size", "16M", 0,
      offsetof(struct debian_conf, max_release_size), 1024, 1LL << 30, NULL,
      "largest InRelease accepted" },
    { TEMPER_OPT_SIZE, "max_index_size", "512M", 0,
      offsetof(struct debian_conf, max_index_size), 1024, 1LL << 36, NULL,
      "largest Packages index accepted, as fetched and once decompressed" },
    { TEMPER_OPT_BOOL, "check_valid_until", "true", 0,
      offsetof(struct debian_conf, check_valid_until), 0, 0, NULL,
      "refuse an InRelease past its Valid-Until (turn off only for snapshot archives)" },
    PKGTRACK_COMMON_OPTIONS(struct debian_conf, common),
    TEMPER_OPTION_END,
};

static int check_files(struct temper_stage *st, const struct debian_conf *c)
{
    if (!c->gpgv || c->gpgv[0] != '/' || access(c->gpgv, X_OK) != 0) {
        return temper_fail(st, TEMPER_EINVAL, "gpgv '%s' is not an executable absolute path"
                           " (install the gpgv package)", c->gpgv ? c->gpgv : "");
    }
    if (!c->keyring || c->keyring[0] != '/' || access(c->keyring, R_OK) != 0) {
        return temper_fail(st, TEMPER_EINVAL, "keyring '%s' is not a readable absolute path",
                           c->keyring ? c->keyring : "");
    }
    return TEMPER_OK;
}

static int check_conf(struct temper_stage *st, const struct debian_conf *c)
{
    int rc = pkgtrack_valid_url(st, "mirror", c->mirror);
    if (rc == TEMPER_OK) {
        rc = pkgtrack_valid_word(st, "suite", c->suite, true);
    }
    if (rc == TEMPER_OK) {
        rc = pkgtrack_valid_word(st, "arch", c->arch, false);
    }
    if (rc == TEMPER_OK && (c->components.n == 0 || c->components.n > DEB_MAX_COMPONENTS)) {
        rc = temper_fail(st, TEMPER_EINVAL, "components: give 1 to %d components",
                         DEB_MAX_COMPONENTS);
    }
    for (size_t i = 0; rc == TEMPER_OK && i < c->components.n; i++) {
        rc = pkgtrack_valid_word(st, "component", c->components.v[i], true);
    }
    return rc == TEMPER_OK ? check_files(st, c) : rc;
}

/* What decides the followed set (pkgtrack.h): not the mirror. */
static int fingerprint(const struct debian_conf *c, char fp[17])
{
    const struct temper_strlist *lists[] = { &c->components, &c->packages, &c->sources };
    char *head = temper_strdupf("debian\n%s\n%s\n%s", c->suite, c->arch,
                                c->common.distribution ? c->common.distribution : "");
    int rc = head ? pkgtrack_fingerprint(head, lists, 3, fp) : TEMPER_ENOMEM;
    free(head);
    return rc;
}

static void debian_close(void *state)
{
    struct debian *d = state;
    if (!d) {
        return;
    }
    free(d->base);
    free(d->release_url);
    free(d->safe_url);
    free(d);
}

static int debian_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct debian_conf *c = conf;
    *state = NULL;
    int rc = check_conf(st, c);
    if (rc != TEMPER_OK) {
        return rc;
    }
    struct debian *d = calloc(1, sizeof *d);
    if (d) {
        d->conf = c;
        d->base = temper_strdupf("%.*s/dists/%s/", pkgtrack_url_len(c->mirror), c->mirror,
                                 c->suite);
        d->release_url = d->base ? temper_strdupf("%sInRelease", d->base) : NULL;
        d->safe_url = d->release_url ? temper_http_safe_url(d->release_url) : NULL;
    }
    if (!d || !d->safe_url || fingerprint(c, d->fp) != TEMPER_OK) {
        debian_close(d);
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    *state = d;
    return TEMPER_OK;
}

/* Every followed package of the indexes into `set` (strings borrowed). */
static int collect(struct temper_stage *st, const struct debian_conf *c,
                   struct temper_debindex *const *idx, struct pkgtrack_set *set)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < c->components.n; i++) {
        size_t n = temper_debindex_count(idx[i]);
        for (size_t k = 0; rc == TEMPER_OK && k < n; k++) {
            const struct temper_debpkg *p = temper_debindex_at(idx[i], k);
            if (pkgtrack_followed(&c->packages, &c->sources, p->name, p->source)) {
                rc = pkgtrack_set_add(st, set, p->name, p->version, p->source);
            }
        }
    }
    return rc;
}

/* Steps 2-5 once the InRelease arrived (body in resp). */
static int accept_round(void *ctx, struct temper_stage *st, struct temper_http *h,
                        const struct temper_http_resp *resp, const struct pkgtrack_state *old)
{
    struct debian *d = ctx;
    const struct debian_conf *c = d->conf;
    struct temper_release *r = NULL;
    struct temper_debindex **idx = calloc(c->components.n, sizeof *idx);
    struct pkgtrack_set now = { 0 };
    char *dist = NULL;
    int rc = idx ? TEMPER_OK : temper_fail(st, TEMPER_ENOMEM, "out of memory");
    if (rc == TEMPER_OK) {
        /* replay protection against the Date of this suite's last accepted
         * InRelease (a state of another configuration may be another suite) */
        rc = debian_release_check(st, d, resp->body.data, resp->body.len,
                                  old->same_config ? old->date : -1, &r);
    }
    if (rc == TEMPER_OK) {
        rc = debian_distribution(st, d, r, &dist);
    }
    if (rc == TEMPER_OK) {
        rc = debian_packages_fetch(st, d, h, r, idx);
    }
    if (rc == TEMPER_OK) {
        rc = collect(st, c, idx, &now);
    }
    if (rc == TEMPER_OK) {
        struct pkgtrack_round round = { .what = d->safe_url, .distribution = dist,
                                        .fp = d->fp, .date = r->date, .cmp = temper_dpkg_cmp,
                                        .report_initial = c->common.report_initial };
        rc = pkgtrack_update(st, &round, old, &now, NULL);
    }
    if (rc == TEMPER_OK) {
        rc = temper_http_commit_validators(h, resp);
    }
    pkgtrack_set_cleanup(&now);
    for (size_t i = 0; idx && i < c->components.n; i++) {
        temper_debindex_free(idx[i]);
    }
    free(idx);
    free(dist);
    temper_release_free(r);
    return rc;
}

static int debian_poll(void *state, struct temper_stage *st,
                       const struct temper_watch *const *watches, size_t n)
{
    struct debian *d = state;
    return pkgtrack_poll(st, &d->conf->common, d->fp, d->release_url, d->conf->max_release_size, n,
                         accept_round, d);
}

static const struct temper_tracker_ops debian_ops = {
    .poll = debian_poll,
};

TEMPER_PLUGIN(tracker_debian) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_TRACKER, .name = "debian", .version = "1.0.0",
    .summary = "Debian and Ubuntu archives: signed InRelease, Packages, dpkg versions",
    .options = debian_options, .conf_size = sizeof(struct debian_conf),
    .open = debian_open, .close = debian_close,
    .ops = &debian_ops, .ops_size = sizeof debian_ops,
};

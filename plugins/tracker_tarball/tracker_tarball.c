/* temper — tracker_tarball: upstreams that publish release tarballs on a
 * download page (ftp.gnu.org-style listings, project download pages).
 *
 * A watch names the page (`index`, an http(s) URL) and a POSIX extended
 * regex (`match`) whose whole match is a tarball link and whose first group
 * is the version, e.g.  hello-([0-9][0-9.]*)\.tar\.(gz|xz).  A poll reads
 * the page (size capped, TLS verified), takes every match (at most 10,000),
 * orders the versions the way dpkg does (upstream versions: 1.10 > 1.9,
 * 1.0~rc1 < 1.0) and reports the newest when it moved past the saved one
 * (or, on the first poll, past the image's accepted version):
 *   upstream     the page URL
 *   old_version / new_version
 *   old_ref / new_ref   the tarball URLs (links resolved against the page)
 *   release_url  the new tarball
 * diff() downloads both tarballs and diffs their trees (SDK tardiff: size
 * caps, unsafe names skipped, nothing extracted to disk) into a
 * format-patch mbox: the guard stage reviews it like a GitHub compare. */
#include "config.h"

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <temper/tardiff.h>
#include <temper/temper.h>

#define MAX_MATCHES 10000
#define MAX_INDEX (8u << 20)

struct tb_conf {
    long long max_index;
    char *ca_file;
};

struct tb_watch {
    char *index;
    char *match;
};

static const struct temper_option tb_options[] = {
    { TEMPER_OPT_SIZE, "max_index", "8M", 0, offsetof(struct tb_conf, max_index), 1024,
      MAX_INDEX, NULL, "largest download page read" },
    { TEMPER_OPT_PATH, "ca_file", NULL, 0, offsetof(struct tb_conf, ca_file), 0, 0, NULL,
      "PEM bundle replacing the trust store" },
    TEMPER_OPTION_END,
};

static const struct temper_option tb_watch_options[] = {
    { TEMPER_OPT_STR, "index", NULL, TEMPER_OPT_REQUIRED, offsetof(struct tb_watch, index), 0,
      0, NULL, "the download page listing the release tarballs (http or https URL)" },
    { TEMPER_OPT_STR, "match", NULL, TEMPER_OPT_REQUIRED, offsetof(struct tb_watch, match), 0,
      0, NULL, "extended regex: the whole match is a tarball link, group 1 its version" },
    TEMPER_OPTION_END,
};

struct tb_state {
    const struct tb_conf *conf;
    struct temper_http *http;
};

static int tb_open(struct temper_stage *st, const void *conf, void **state)
{
    struct tb_state *s = calloc(1, sizeof *s);
    if (!s) {
        return temper_fail(st, TEMPER_ENOMEM, "out of memory");
    }
    s->conf = conf;
    struct temper_http_opts o;
    temper_http_opts_init(&o);
    o.ca_file = s->conf->ca_file;
    int rc = temper_http_new(st, &o, &s->http);
    if (rc != TEMPER_OK) {
        free(s);
        return rc;
    }
    *state = s;
    return TEMPER_OK;
}

static void tb_close(void *state)
{
    struct tb_state *s = state;
    if (s) {
        temper_http_free(s->http);
        free(s);
    }
}

struct found {
    char *version;
    char *url;
};

/* The newest (version, resolved URL) matched on the page, and the link of
 * the accepted version `pinned` (may be NULL) in *acc. */
static int scan_page(struct temper_stage *st, const struct tb_watch *w, const char *page,
                     const char *pinned, struct found *best, struct found *acc)
{
    regex_t re;
    int e = regcomp(&re, w->match, REG_EXTENDED);
    if (e != 0) {
        return temper_fail(st, TEMPER_EINVAL, "%s: match '%s' is not an extended regex",
                           w->index, w->match);
    }
    if (re.re_nsub < 1) {
        regfree(&re);
        return temper_fail(st, TEMPER_EINVAL, "%s: match needs a group for the version",
                           w->index);
    }
    int rc = TEMPER_OK;
    const char *p = page;
    regmatch_t m[2];
    for (size_t n = 0; rc == TEMPER_OK && n < MAX_MATCHES &&
                       regexec(&re, p, 2, m, n ? REG_NOTBOL : 0) == 0;
         n++) {
        if (m[0].rm_eo <= m[0].rm_so || m[1].rm_so < 0) {
            break; /* an empty match would not advance */
        }
        char *v = strndup(p + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
        char *link = strndup(p + m[0].rm_so, (size_t)(m[0].rm_eo - m[0].rm_so));
        if (v && link && pinned && !acc->url && temper_dpkg_cmp(v, pinned) == 0 &&
            temper_http_resolve_url(w->index, link, &acc->url) == TEMPER_OK) {
            acc->version = strdup(v);
        }
        if (!v || !link) {
            rc = temper_fail(st, TEMPER_ENOMEM, "out of memory");
        } else if (!best->version || temper_dpkg_cmp(v, best->version) > 0) {
            char *url = NULL;
            if (temper_http_resolve_url(w->index, link, &url) == TEMPER_OK) {
                free(best->version);
                free(best->url);
                best->version = v;
                best->url = url;
                v = NULL;
            }
        }
        free(v);
        free(link);
        p += m[0].rm_eo;
    }
    regfree(&re);
    return rc;
}

static int emit(struct temper_stage *st, const struct temper_watch *w, const struct tb_watch *c,
                const char *old_v, const char *old_url, const struct found *now)
{
    struct temper_artifact *a = temper_artifact_new(TEMPER_ART_CHANGE, w->image);
    int rc = a ? temper_artifact_set(a, TEMPER_ATTR_TRACKER, temper_stage_name(st))
               : TEMPER_ENOMEM;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_IMAGE, w->image) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_UPSTREAM, c->index) : rc;
    rc = rc == TEMPER_OK && old_v ? temper_artifact_set(a, TEMPER_ATTR_OLD_VERSION, old_v) : rc;
    rc = rc == TEMPER_OK && old_url ? temper_artifact_set(a, TEMPER_ATTR_OLD_REF, old_url) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_NEW_VERSION, now->version) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_NEW_REF, now->url) : rc;
    rc = rc == TEMPER_OK ? temper_artifact_set(a, TEMPER_ATTR_RELEASE_URL, now->url) : rc;
    if (rc != TEMPER_OK) {
        temper_artifact_free(a);
        return temper_fail(st, rc, "tracker_tarball: out of memory");
    }
    TEMPER_LOG_INFO(st, "image %s: %s moved from %s to %s", w->image, c->index,
                    old_v ? old_v : "(nothing)", now->version);
    return temper_emit(st, a);
}

/* Saved state of a watch: "VERSION URL". */
static int poll_one(struct tb_state *s, struct temper_stage *st, const struct temper_watch *w)
{
    const struct tb_watch *c = w->conf;
    struct temper_http_resp resp;
    temper_http_resp_init(&resp);
    struct temper_http_req req = { .size = sizeof req, .url = c->index,
                                   .max_body = (unsigned long long)s->conf->max_index };
    struct found now = { 0 }, acc = { 0 };
    char *saved = NULL;
    int rc = temper_http_do(s->http, &req, &resp);
    if (rc == TEMPER_OK && (resp.status != 200 || !resp.body.data)) {
        rc = temper_fail(st, TEMPER_ENET, "%s: HTTP %ld", c->index, resp.status);
    }
    rc = rc == TEMPER_OK ? scan_page(st, c, resp.body.data, w->pinned, &now, &acc) : rc;
    if (rc == TEMPER_OK && !now.version) {
        TEMPER_LOG_WARN(st, "image %s: no link on %s matches '%s'", w->image, c->index,
                        c->match);
    }
    if (rc == TEMPER_OK && now.version) {
        int g = temper_stage_state_get(st, w->id, &saved);
        rc = g == TEMPER_OK || g == TEMPER_ENOTFOUND ? TEMPER_OK : g;
    }
    char *sp = saved ? strchr(saved, ' ') : NULL;
    if (sp) {
        *sp++ = '\0';
    }
    const char *old_v = saved ? saved : w->pinned;
    if (rc == TEMPER_OK && now.version && (!old_v || temper_dpkg_cmp(now.version, old_v) > 0)) {
        /* from the accepted version when the page still lists it: a version
         * rejected in review must not ride along unreviewed in this diff */
        bool from_acc = acc.url && acc.version;
        rc = emit(st, w, c, from_acc ? acc.version : old_v, from_acc ? acc.url : sp, &now);
        char *line = rc == TEMPER_OK ? temper_strdupf("%s %s", now.version, now.url) : NULL;
        rc = rc == TEMPER_OK ? (line ? temper_stage_state_put(st, w->id, line) : TEMPER_ENOMEM)
                             : rc;
        free(line);
    }
    free(saved);
    free(now.version);
    free(now.url);
    free(acc.version);
    free(acc.url);
    temper_http_resp_cleanup(&resp);
    return rc;
}

static int tb_poll(void *state, struct temper_stage *st, const struct temper_watch *const *ws,
                   size_t n)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        ok += poll_one(state, st, ws[i]) == TEMPER_OK;
    }
    return n && !ok ? temper_fail(st, TEMPER_EIO, "tracker_tarball: no page could be read")
                    : TEMPER_OK;
}

static int tb_diff(void *state, struct temper_stage *st, const struct temper_artifact *change)
{
    struct tb_state *s = state;
    const char *old_url = temper_artifact_get(change, TEMPER_ATTR_OLD_REF);
    const char *new_url = temper_artifact_get(change, TEMPER_ATTR_NEW_REF);
    if (!old_url || !new_url) {
        TEMPER_LOG_INFO(st, "diff: %s is a first version: nothing to compare",
                        new_url ? new_url : "?");
        return TEMPER_OK;
    }
    struct temper_tardiff_opts o;
    temper_tardiff_opts_init(&o);
    o.name = temper_artifact_get(change, TEMPER_ATTR_IMAGE);
    o.old_version = temper_artifact_get(change, TEMPER_ATTR_OLD_VERSION);
    o.new_version = temper_artifact_get(change, TEMPER_ATTR_NEW_VERSION);
    char *out = temper_strdupf("%s/tarball-diff.mbox", temper_stage_workdir(st));
    int rc = out ? temper_tardiff_urls(st, s->http, old_url, new_url, &o, out) : TEMPER_ENOMEM;
    struct temper_artifact *d = rc == TEMPER_OK ? temper_artifact_new(TEMPER_ART_DIFF, "tarball")
                                                : NULL;
    if (rc == TEMPER_OK && !d) {
        rc = TEMPER_ENOMEM;
    }
    rc = rc == TEMPER_OK ? temper_artifact_set_path(d, out) : rc;
    if (rc == TEMPER_OK) {
        rc = temper_emit(st, d);
        d = NULL;
    }
    temper_artifact_free(d);
    free(out);
    return rc;
}

static const struct temper_tracker_ops tb_ops = {
    .watch_options = tb_watch_options,
    .watch_conf_size = sizeof(struct tb_watch),
    .poll = tb_poll,
    .diff = tb_diff,
};

TEMPER_PLUGIN(tracker_tarball) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_TRACKER,
    .name = "tarball",
    .version = "0.1.0",
    .summary = "Release tarballs on a download page; diff() compares two releases' trees",
    .options = tb_options,
    .conf_size = sizeof(struct tb_conf),
    .open = tb_open,
    .close = tb_close,
    .ops = &tb_ops,
    .ops_size = sizeof tb_ops,
};

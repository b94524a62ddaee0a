/* temper — attest_openvex: reading the feeds, and decisions from the Debian
 * security tracker.
 *
 * A feed is a local file, a directory (its *.json files, read in name order,
 * not recursively), a file:// path, or an http(s) URL fetched with the SDK
 * client (TLS verified, body capped by max_feed_size).  With a stage cache
 * directory a URL is kept there and re-validated with If-None-Match /
 * If-Modified-Since, so the large tracker document is downloaded again only
 * when it changed.  An OSV feed holds one record, an array of records, or
 * an osv.dev reply {"vulns": [...]}.
 *
 * Debian security tracker (https://security-tracker.debian.org/tracker/data/
 * json: {source: {CVE: {releases: {codename: {status, fixed_version,
 * urgency, nodsa}}}}}), for each Debian source package of the image, in the
 * release `distribution_release` (default: the package's codename), CVE
 * entries only (TEMP- ids are the tracker's own and match no scanner):
 *   resolved, fixed_version "0"      -> not_affected, vulnerable_code_not_present
 *   resolved, installed >= fixed     -> fixed
 *   resolved, installed <  fixed     -> affected (update to fixed_version)
 *   open                             -> affected with no fix (or
 *                                       under_investigation, option unfixed)
 *   undetermined, resolved without a
 *   version, unknown statuses        -> under_investigation
 *   not-affected / not_affected      -> not_affected, vulnerable_code_not_present
 * (installed = the image's source version, compared like dpkg).  The
 * urgency and the tracker's nodsa note go into status_notes. */
#include "config.h"
#include "vex.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ISSUES 100000 /* CVE entries of one source package */
#define VERSION_MAX 256

/* ---- the Debian security tracker -------------------------------------- */

static char *tracker_notes(const struct vex_src *s, const char *release, const char *status,
                           const char *fixed, struct json_object *r)
{
    const char *urgency = temper_json_get_str(r, "urgency");
    const char *nodsa = temper_json_get_str(r, "nodsa");
    return temper_strdupf("Debian security tracker (%s): %s%s%s%s%s%s%s; installed %s %s",
                          release, status, fixed ? ", fixed_version " : "", fixed ? fixed : "",
                          urgency ? ", urgency " : "", urgency ? urgency : "",
                          nodsa ? ", no DSA: " : "", nodsa ? nodsa : "", s->name, s->version);
}

static void tracker_status(const struct vex_ctx *c, const struct vex_src *s, const char *status,
                           const char *fixed, struct vex_decision *d, bool *fix_action)
{
    *fix_action = false;
    if (strcmp(status, "resolved") == 0 && fixed && strcmp(fixed, "0") == 0) {
        d->status = VEX_NOT_AFFECTED;
    } else if (strcmp(status, "resolved") == 0 && fixed) {
        bool done = temper_dpkg_cmp(s->version, fixed) >= 0;
        d->status = done ? VEX_FIXED : VEX_AFFECTED;
        *fix_action = !done;
    } else if (strcmp(status, "open") == 0) {
        d->status = c->conf->unfixed == VEX_UNFIXED_AFFECTED ? VEX_AFFECTED
                                                             : VEX_UNDER_INVESTIGATION;
    } else if (strcmp(status, "not-affected") == 0 || strcmp(status, "not_affected") == 0) {
        d->status = VEX_NOT_AFFECTED;
    } else {
        d->status = VEX_UNDER_INVESTIGATION;
    }
}

static int tracker_entry(struct vex_ctx *c, size_t si, const char *release, const char *cve,
                         struct json_object *r, const char *where)
{
    const struct vex_src *s = &c->srcs[si];
    const char *status = temper_json_get_str(r, "status");
    const char *fixed = temper_json_get_str(r, "fixed_version");
    if (!status || (fixed && !ac_text_ok(fixed, VERSION_MAX))) {
        return temper_fail(c->st, TEMPER_EFORMAT,
                           "%s: %s/%s: releases.%s has no status (or a bad fixed_version)",
                           where, s->name, cve, release);
    }
    struct vex_decision d = { .origin = VEX_FROM_TRACKER };
    bool fix_action = false;
    tracker_status(c, s, status, fixed, &d, &fix_action);
    d.severity = vex_urgency_severity(temper_json_get_str(r, "urgency"));
    d.fixed = fix_action ? fixed : NULL;
    char *notes = tracker_notes(s, release, status, fixed, r);
    char *text = NULL;
    if (d.status == VEX_NOT_AFFECTED) {
        d.justification = "vulnerable_code_not_present";
        text = temper_strdupf("The Debian security tracker records %s in %s as not affected",
                              s->name, release);
        d.impact = text;
    } else if (d.status == VEX_AFFECTED) {
        text = fix_action ? vex_action_fix(s, fixed) : vex_action_nofix(s, release);
        d.action = text;
    }
    d.notes = notes;
    int rc = notes && (text || (d.status != VEX_NOT_AFFECTED && d.status != VEX_AFFECTED))
                 ? vex_record(c, cve, NULL, NULL, si, &d)
                 : TEMPER_ENOMEM;
    free(notes);
    free(text);
    return rc;
}

static int tracker_source(struct vex_ctx *c, size_t si, struct json_object *pkg,
                          const char *release, const char *where)
{
    const char *name = c->srcs[si].name;
    size_t count = 0;
    int rc = TEMPER_OK;
    json_object_object_foreach(pkg, cve, info)
    {
        struct json_object *rels = NULL, *r = NULL;
        if (rc != TEMPER_OK) {
            break;
        }
        if (++count > MAX_ISSUES) {
            rc = temper_fail(c->st, TEMPER_ELIMIT, "%s: %s has more than %d issues", where,
                             name, MAX_ISSUES);
            break;
        }
        if (strncmp(cve, "CVE-", 4) != 0 || !ac_text_ok(cve, 64)) {
            continue;
        }
        bool ok = json_object_is_type(info, json_type_object);
        if (ok && json_object_object_get_ex(info, "releases", &rels)) {
            ok = json_object_is_type(rels, json_type_object);
        }
        if (ok && rels && json_object_object_get_ex(rels, release, &r)) {
            ok = json_object_is_type(r, json_type_object);
        }
        if (!ok) {
            rc = temper_fail(c->st, TEMPER_EFORMAT,
                             "%s: %s/%s is not a tracker entry (objects expected)", where, name,
                             cve);
        } else if (r) {
            rc = tracker_entry(c, si, release, cve, r, where);
        }
    }
    return rc;
}

int vex_tracker(struct vex_ctx *c, struct json_object *root, const char *where)
{
    if (!json_object_is_type(root, json_type_object)) {
        return temper_fail(c->st, TEMPER_EFORMAT,
                           "%s: not a Debian security tracker document (no top-level object)",
                           where);
    }
    int rc = TEMPER_OK;
    for (size_t si = 0; rc == TEMPER_OK && si < c->n_srcs; si++) {
        const struct vex_src *s = &c->srcs[si];
        struct json_object *pkg = NULL;
        const char *release = c->conf->distribution_release ? c->conf->distribution_release
                                                            : s->distro.codename;
        if (!s->distro_known || strcmp(s->distro.vendor, "debian") != 0 || !release[0] ||
            !json_object_object_get_ex(root, s->name, &pkg)) {
            continue;
        }
        if (!json_object_is_type(pkg, json_type_object)) {
            rc = temper_fail(c->st, TEMPER_EFORMAT, "%s: the entry of %s is not an object",
                             where, s->name);
        } else {
            rc = tracker_source(c, si, pkg, release, where);
        }
    }
    return rc;
}

/* ---- reading feeds ---------------------------------------------------- */

static bool is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* A whole regular file of at most max bytes (a NUL follows). */
static int read_capped(struct vex_ctx *c, const char *path, const char *what, char **buf,
                       size_t *len)
{
    struct stat sb;
    ssize_t got = 0;
    *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int rc = temper_fail(c->st, TEMPER_EIO, "%s: cannot read %s", what, path);
        if (fd >= 0) {
            close(fd);
        }
        return rc;
    }
    if ((unsigned long long)sb.st_size > c->conf->max_feed_size) {
        close(fd);
        return temper_fail(c->st, TEMPER_ELIMIT, "%s: %lld bytes exceed max_feed_size", what,
                           (long long)sb.st_size);
    }
    *len = (size_t)sb.st_size;
    *buf = malloc(*len + 1);
    for (size_t off = 0; *buf && off < *len; off += (size_t)got) {
        got = read(fd, *buf + off, *len - off);
        if (got <= 0) {
            *len = off;
            break;
        }
    }
    close(fd);
    if (!*buf) {
        return TEMPER_ENOMEM;
    }
    (*buf)[*len] = '\0';
    return got < 0 ? temper_fail(c->st, TEMPER_EIO, "%s: read error", what) : TEMPER_OK;
}

static int http_client(struct vex_ctx *c)
{
    struct temper_http_opts o;
    if (c->http) {
        return TEMPER_OK;
    }
    temper_http_opts_init(&o);
    o.max_body = (size_t)c->conf->max_feed_size;
    o.max_file = c->conf->max_feed_size;
    o.ca_file = c->conf->ca_file;
    return temper_http_new(c->st, &o, &c->http);
}

/* GET url (through the stage cache when there is one) and parse it. */
static int fetch_json(struct vex_ctx *c, const char *url, struct json_object **out)
{
    struct temper_http_resp resp;
    char key[17], *path = NULL, *buf = NULL;
    size_t len = 0;
    const char *cache = temper_stage_cachedir(c->st);
    struct stat sb;
    ac_id_hash("feed", url, NULL, key);
    temper_http_resp_init(&resp);
    int rc = http_client(c);
    if (rc == TEMPER_OK && cache) {
        path = temper_strdupf("%s/vex-feed-%s.json", cache, key);
        rc = path ? TEMPER_OK : TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK) {
        struct temper_http_req req = {
            .size = sizeof req, .url = url, .out_path = path,
            .flags = path && stat(path, &sb) == 0 ? TEMPER_HTTP_CONDITIONAL : 0u,
            .max_body = c->conf->max_feed_size,
        };
        rc = temper_http_do(c->http, &req, &resp);
    }
    if (rc == TEMPER_OK && path) {
        rc = read_capped(c, path, url, &buf, &len);
    }
    if (rc == TEMPER_OK) {
        const char *body = path ? buf : resp.body.data;
        rc = temper_json_parse(c->st, url, body ? body : "", path ? len : resp.body.len,
                               (size_t)c->conf->max_feed_size, 0, out);
    }
    if (rc == TEMPER_OK && path) {
        rc = temper_http_commit_validators(c->http, &resp);
    }
    temper_http_resp_cleanup(&resp);
    free(path);
    free(buf);
    return rc;
}

static int parse_local(struct vex_ctx *c, const char *path, struct json_object **out)
{
    if (++c->files > (size_t)c->conf->max_files) {
        return temper_fail(c->st, TEMPER_ELIMIT, "%s: more than max_files (%lld) feed files",
                           path, c->conf->max_files);
    }
    int rc = temper_json_parse_file(c->st, path, (size_t)c->conf->max_feed_size, 0, out);
    if (rc == TEMPER_ENOTFOUND && !temper_stage_error(c->st)) {
        rc = temper_fail(c->st, TEMPER_ENOTFOUND, "%s: no such feed file", path);
    }
    return rc;
}

/* Every OSV record of one parsed document. */
static int osv_document(struct vex_ctx *c, struct json_object *doc, const char *where)
{
    struct json_object *list = temper_json_get(doc, "vulns");
    if (json_object_is_type(doc, json_type_array)) {
        list = doc;
    }
    if (!list) {
        return vex_osv_record(c, doc, where);
    }
    if (!json_object_is_type(list, json_type_array)) {
        return temper_fail(c->st, TEMPER_EFORMAT, "%s: \"vulns\" is not an array", where);
    }
    int rc = TEMPER_OK;
    size_t n = json_object_array_length(list);
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        char *w = temper_strdupf("%s (record #%zu)", where, i);
        rc = w ? vex_osv_record(c, json_object_array_get_idx(list, i), w) : TEMPER_ENOMEM;
        free(w);
        rc = rc == TEMPER_OK && temper_stage_cancelled(c->st) ? TEMPER_ECANCEL : rc;
    }
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_json(struct vex_ctx *c, const char *dir, char ***names, size_t *n)
{
    size_t cap = 0;
    DIR *d = opendir(dir);
    int rc = d ? TEMPER_OK : temper_fail(c->st, TEMPER_EIO, "%s: cannot list: %s", dir,
                                         strerror(errno));
    struct dirent *de;
    while (rc == TEMPER_OK && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0) {
            continue;
        }
        if (*n >= (size_t)c->conf->max_files) {
            rc = temper_fail(c->st, TEMPER_ELIMIT, "%s: more than max_files (%lld) files", dir,
                             c->conf->max_files);
            break;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nv = realloc(*names, cap * sizeof *nv);
            rc = nv ? TEMPER_OK : TEMPER_ENOMEM;
            *names = nv ? nv : *names;
        }
        char *s = rc == TEMPER_OK ? strdup(de->d_name) : NULL;
        rc = rc == TEMPER_OK && !s ? TEMPER_ENOMEM : rc;
        if (s) {
            (*names)[(*n)++] = s;
        }
    }
    if (d) {
        closedir(d);
    }
    if (*n) {
        qsort(*names, *n, sizeof **names, cmp_names);
    }
    return rc;
}

static int osv_dir(struct vex_ctx *c, const char *dir)
{
    char **names = NULL;
    size_t n = 0;
    int rc = list_json(c, dir, &names, &n);
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        struct json_object *doc = NULL;
        char *path = temper_strdupf("%s/%s", dir, names[i]);
        rc = path ? parse_local(c, path, &doc) : TEMPER_ENOMEM;
        if (rc == TEMPER_OK) {
            rc = osv_document(c, doc, path);
        }
        json_object_put(doc);
        free(path);
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    return rc;
}

/* One configured feed: tracker or OSV. */
static int read_feed(struct vex_ctx *c, const char *src, bool tracker)
{
    struct json_object *doc = NULL;
    struct stat sb;
    const char *path = strncmp(src, "file://", 7) == 0 ? src + 7 : src;
    int rc;
    if (is_url(src)) {
        rc = fetch_json(c, src, &doc);
    } else if (stat(path, &sb) != 0) {
        return temper_fail(c->st, TEMPER_ENOTFOUND, "%s feed %s: %s", tracker ? "tracker" : "OSV",
                           src, strerror(errno));
    } else if (S_ISDIR(sb.st_mode) && !tracker) {
        return osv_dir(c, path);
    } else {
        rc = parse_local(c, path, &doc);
    }
    if (rc == TEMPER_OK) {
        rc = tracker ? vex_tracker(c, doc, src) : osv_document(c, doc, src);
    }
    json_object_put(doc);
    return rc;
}

int vex_read_feeds(struct vex_ctx *c)
{
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < c->conf->osv.n; i++) {
        rc = read_feed(c, c->conf->osv.v[i], false);
    }
    if (rc == TEMPER_OK && c->conf->debian_tracker) {
        rc = read_feed(c, c->conf->debian_tracker, true);
    }
    return rc;
}

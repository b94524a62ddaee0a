/* temper — attest_openvex: decisions from OSV records.
 *
 * A record touches a source package of the image when one of its affected[]
 * entries names the package's ecosystem ("Debian:12", "Ubuntu:22.04:LTS",
 * "Alpine:v3.19", as ac_distro_parse() derives it from the package's
 * distribution) and the SOURCE package name (OSV's Debian and Alpine data
 * are keyed by source / origin package).  The installed source version is
 * compared with the ecosystem's own rules (dpkg or apk) against every range
 * of type ECOSYSTEM, walked the way the OSV spec evaluates it (events sorted
 * by version; introduced "0" before all; v >= introduced -> affected, v >=
 * fixed or v > last_affected -> not any more; limit ignored) and against the
 * explicit versions[] list:
 *   - in a range or listed             -> affected (action: update to the
 *                                         lowest fixed version above v, or
 *                                         the `unfixed` status when none)
 *   - past a fixed / last_affected     -> fixed
 *   - before every introduced, or a
 *     range fixed at "0"               -> not_affected,
 *                                         vulnerable_code_not_present
 *   - no ECOSYSTEM range nor versions  -> under_investigation
 * Withdrawn records are skipped.  The vulnerability is named by the record's
 * CVE id (its id, else its first CVE alias, else its id); the other ids are
 * aliases. */
#include "config.h"
#include "vex.h"

#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS 1024
#define MAX_AFFECTED 4096
#define MAX_RANGES 256
#define MAX_VERSIONS 65536

enum ev_kind { EV_INTRODUCED, EV_FIXED, EV_LAST_AFFECTED, EV_LIMIT };

struct ev {
    enum ev_kind kind;
    const char *v;
};

/* What one affected[] entry says about version v. */
struct verdict {
    bool affected, fixed, evaluated;
    const char *fix;        /* lowest fixed event above v, borrowed */
    const char *introduced; /* when not affected: the lowest introduced */
};

static int ev_cmp(enum temper_vscheme sc, const struct ev *a, const struct ev *b)
{
    bool za = a->kind == EV_INTRODUCED && strcmp(a->v, "0") == 0;
    bool zb = b->kind == EV_INTRODUCED && strcmp(b->v, "0") == 0;
    if (za || zb) {
        return za && zb ? 0 : za ? -1 : 1;
    }
    return temper_version_cmp(sc, a->v, b->v);
}

static int read_events(struct vex_ctx *c, struct json_object *evs, const char *where,
                       struct ev *out, size_t *n)
{
    static const char *const keys[] = { "introduced", "fixed", "last_affected", "limit" };
    size_t len = json_object_is_type(evs, json_type_array) ? json_object_array_length(evs) : 0;
    if (len == 0 || len > MAX_EVENTS) {
        return temper_fail(c->st, TEMPER_EFORMAT,
                           "%s: OSV range has no events array (or more than %d events)", where,
                           MAX_EVENTS);
    }
    for (size_t i = 0; i < len; i++) {
        struct json_object *e = json_object_array_get_idx(evs, i);
        size_t found = 0;
        for (size_t k = 0; k < 4; k++) {
            const char *v = temper_json_get_str(e, keys[k]);
            if (v && v[0]) {
                out[i].kind = (enum ev_kind)k;
                out[i].v = v;
                found++;
            }
        }
        if (found != 1 || !json_object_is_type(e, json_type_object)) {
            return temper_fail(c->st, TEMPER_EFORMAT,
                               "%s: OSV event #%zu must have exactly one of introduced, fixed, "
                               "last_affected, limit (a string)", where, i);
        }
    }
    *n = len;
    return TEMPER_OK;
}

/* One ECOSYSTEM range against v, merged into *vd. */
static void eval_range(enum temper_vscheme sc, struct ev *ev, size_t n, const char *v,
                       struct verdict *vd)
{
    bool zero_fix = false;
    for (size_t i = 1; i < n; i++) { /* insertion sort: n is small and bounded */
        struct ev x = ev[i];
        size_t j = i;
        while (j > 0 && ev_cmp(sc, &ev[j - 1], &x) > 0) {
            ev[j] = ev[j - 1];
            j--;
        }
        ev[j] = x;
    }
    for (size_t i = 0; i < n; i++) {
        zero_fix = zero_fix || (ev[i].kind == EV_FIXED && strcmp(ev[i].v, "0") == 0);
        if (!vd->introduced && ev[i].kind == EV_INTRODUCED) {
            vd->introduced = ev[i].v; /* the lowest, for the impact statement */
        }
    }
    vd->evaluated = true;
    if (zero_fix) {
        return; /* "fixed at 0": never affected */
    }
    bool aff = false, past = false;
    size_t i = 0;
    for (; i < n; i++) {
        bool zero = ev[i].kind == EV_INTRODUCED && strcmp(ev[i].v, "0") == 0;
        int c = zero ? 1 : temper_version_cmp(sc, v, ev[i].v);
        if (c < 0 || (c == 0 && ev[i].kind == EV_LAST_AFFECTED)) {
            break; /* this event and every later one lie above v */
        }
        if (ev[i].kind == EV_INTRODUCED) {
            aff = true;
        } else if (ev[i].kind == EV_FIXED || ev[i].kind == EV_LAST_AFFECTED) {
            past = past || aff;
            aff = false;
        }
    }
    for (size_t k = i; aff && k < n; k++) {
        if (ev[k].kind == EV_FIXED && (!vd->fix || temper_version_cmp(sc, ev[k].v, vd->fix) < 0)) {
            vd->fix = ev[k].v;
        }
    }
    vd->affected = vd->affected || aff;
    vd->fixed = vd->fixed || past;
}

static int eval_entry(struct vex_ctx *c, struct json_object *ent, const struct vex_src *s,
                      const char *where, struct verdict *vd)
{
    enum temper_vscheme sc = s->distro.scheme;
    size_t nr = 0, nv = 0;
    struct json_object *ranges = temper_json_get_array(ent, "ranges", &nr);
    struct json_object *versions = temper_json_get_array(ent, "versions", &nv);
    if ((!ranges && temper_json_get(ent, "ranges")) ||
        (!versions && temper_json_get(ent, "versions"))) {
        return temper_fail(c->st, TEMPER_EFORMAT, "%s: OSV ranges/versions is not an array",
                           where);
    }
    if (nr > MAX_RANGES || nv > MAX_VERSIONS) {
        return temper_fail(c->st, TEMPER_ELIMIT, "%s: OSV entry with too many ranges/versions",
                           where);
    }
    struct ev *ev = nr ? calloc(MAX_EVENTS, sizeof *ev) : NULL;
    int rc = nr && !ev ? TEMPER_ENOMEM : TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < nr; i++) {
        struct json_object *r = json_object_array_get_idx(ranges, i);
        const char *type = temper_json_get_str(r, "type");
        size_t n = 0;
        if (!type) {
            rc = temper_fail(c->st, TEMPER_EFORMAT, "%s: OSV range #%zu has no type", where, i);
        } else if (strcmp(type, "ECOSYSTEM") == 0) {
            rc = read_events(c, temper_json_get(r, "events"), where, ev, &n);
            if (rc == TEMPER_OK) {
                eval_range(sc, ev, n, s->version, vd);
            }
        }
    }
    for (size_t i = 0; rc == TEMPER_OK && i < nv; i++) {
        const char *v = json_object_get_string(json_object_array_get_idx(versions, i));
        vd->evaluated = true;
        vd->affected = vd->affected || (v && temper_version_cmp(sc, v, s->version) == 0);
    }
    free(ev);
    return rc;
}

static const char *vuln_name(struct json_object *rec, const char *id)
{
    size_t n = 0;
    struct json_object *al = temper_json_get_array(rec, "aliases", &n);
    if (strncmp(id, "CVE-", 4) == 0) {
        return id;
    }
    for (size_t i = 0; i < n; i++) {
        const char *a = json_object_get_string(json_object_array_get_idx(al, i));
        if (a && strncmp(a, "CVE-", 4) == 0) {
            return a;
        }
    }
    return id;
}

static int decide(struct vex_ctx *c, const struct vex_src *s, const struct verdict *vd,
                  const char *id, struct vex_decision *d, char **own)
{
    memset(d, 0, sizeof *d);
    d->origin = VEX_FROM_OSV;
    if (vd->affected) {
        bool fix = vd->fix != NULL;
        d->status = fix || c->conf->unfixed == VEX_UNFIXED_AFFECTED ? VEX_AFFECTED
                                                                    : VEX_UNDER_INVESTIGATION;
        own[0] = fix ? vex_action_fix(s, vd->fix) : vex_action_nofix(s, s->distro.ecosystem);
        own[1] = temper_strdupf("OSV %s: %s %s is in an affected range%s%s", id, s->name,
                                s->version, fix ? "; fixed in " : " with no fix",
                                fix ? vd->fix : "");
    } else if (vd->fixed) {
        d->status = VEX_FIXED;
        own[1] = temper_strdupf("OSV %s: %s %s is past the fixed version", id, s->name,
                                s->version);
    } else if (vd->evaluated) {
        d->status = VEX_NOT_AFFECTED;
        d->justification = "vulnerable_code_not_present";
        own[0] = temper_strdupf("%s %s is older than the version that introduced the "
                                "vulnerability (%s)", s->name, s->version,
                                vd->introduced ? vd->introduced : "none affected");
        own[1] = temper_strdupf("OSV %s: %s %s is outside every affected range", id, s->name,
                                s->version);
    } else {
        d->status = VEX_UNDER_INVESTIGATION;
        own[1] = temper_strdupf("OSV %s names %s but gives no %s range to compare %s with", id,
                                s->name, s->distro.ecosystem, s->version);
    }
    d->action = d->status == VEX_AFFECTED ? own[0] : NULL;
    d->impact = d->status == VEX_NOT_AFFECTED ? own[0] : NULL;
    d->notes = own[1];
    return own[1] && (d->status == VEX_FIXED || d->status == VEX_UNDER_INVESTIGATION || own[0])
               ? TEMPER_OK
               : TEMPER_ENOMEM;
}

/* The record's verdict for source `si`, merged over its matching entries. */
static int record_src(struct vex_ctx *c, struct json_object *rec, const char *id, size_t si,
                      const char *where)
{
    const struct vex_src *s = &c->srcs[si];
    struct verdict vd = { 0 };
    const char *severity = NULL;
    size_t na = 0;
    struct json_object *aff = temper_json_get_array(rec, "affected", &na);
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < na; i++) {
        struct json_object *ent = json_object_array_get_idx(aff, i);
        const char *eco = temper_json_get_str(ent, "package.ecosystem");
        const char *name = temper_json_get_str(ent, "package.name");
        if (eco && name && strcmp(eco, s->distro.ecosystem) == 0 && strcmp(name, s->name) == 0) {
            rc = eval_entry(c, ent, s, where, &vd);
            const char *sev = vex_osv_severity(rec, ent);
            severity = vex_severity_rank(sev) > vex_severity_rank(severity) ? sev : severity;
        }
    }
    struct vex_decision d;
    char *own[2] = { NULL, NULL };
    if (rc == TEMPER_OK) {
        rc = decide(c, s, &vd, id, &d, own);
        d.severity = severity;
        d.published = vex_time_ms(temper_json_get_str(rec, "published"));
        d.fixed = d.status == VEX_AFFECTED ? vd.fix : NULL;
        d.summary = temper_json_get_str(rec, "summary");
    }
    if (rc == TEMPER_OK) {
        rc = vex_record(c, vuln_name(rec, id), temper_json_get(rec, "aliases"), id, si, &d);
    }
    free(own[0]);
    free(own[1]);
    return rc;
}

/* Indices of image sources an affected[] entry names (a JSON array). */
static struct json_object *sources_for(struct vex_ctx *c, struct json_object *ent)
{
    const char *eco = temper_json_get_str(ent, "package.ecosystem");
    const char *name = temper_json_get_str(ent, "package.name");
    struct json_object *hit = NULL;
    char *key = eco && name ? temper_strdupf("%s\n%s", eco, name) : NULL;
    if (key) {
        json_object_object_get_ex(c->by_key, key, &hit);
    }
    free(key);
    return hit;
}

static int check_record(struct vex_ctx *c, struct json_object *rec, const char *where,
                        const char **id, size_t *na)
{
    *id = temper_json_get_str(rec, "id");
    if (!json_object_is_type(rec, json_type_object) || !*id || !(*id)[0] ||
        !ac_text_ok(*id, 256)) {
        return temper_fail(c->st, TEMPER_EFORMAT, "%s: not an OSV record (no \"id\")", where);
    }
    struct json_object *aff = temper_json_get(rec, "affected");
    if (aff && !json_object_is_type(aff, json_type_array)) {
        return temper_fail(c->st, TEMPER_EFORMAT, "%s: OSV %s: \"affected\" is not an array",
                           where, *id);
    }
    *na = aff ? json_object_array_length(aff) : 0;
    if (*na > MAX_AFFECTED) {
        return temper_fail(c->st, TEMPER_ELIMIT, "%s: OSV %s has more than %d affected entries",
                           where, *id, MAX_AFFECTED);
    }
    return TEMPER_OK;
}

int vex_osv_record(struct vex_ctx *c, struct json_object *rec, const char *where)
{
    const char *id = NULL;
    size_t na = 0;
    int rc = check_record(c, rec, where, &id, &na);
    if (rc != TEMPER_OK || temper_json_get(rec, "withdrawn")) {
        return rc;
    }
    bool *done = calloc(c->n_srcs ? c->n_srcs : 1, sizeof *done);
    if (!done) {
        return TEMPER_ENOMEM;
    }
    struct json_object *aff = temper_json_get(rec, "affected");
    for (size_t i = 0; rc == TEMPER_OK && i < na; i++) {
        struct json_object *ent = json_object_array_get_idx(aff, i);
        if (!json_object_is_type(ent, json_type_object)) {
            rc = temper_fail(c->st, TEMPER_EFORMAT, "%s: OSV %s: affected #%zu is not an object",
                             where, id, i);
            break;
        }
        struct json_object *list = sources_for(c, ent);
        size_t nl = list ? json_object_array_length(list) : 0;
        for (size_t k = 0; rc == TEMPER_OK && k < nl; k++) {
            size_t si = (size_t)json_object_get_int64(json_object_array_get_idx(list, k));
            if (si < c->n_srcs && !done[si]) {
                done[si] = true;
                rc = record_src(c, rec, id, si, where);
            }
        }
    }
    free(done);
    return rc;
}

/* temper — attest_openvex: an OpenVEX 0.2.0 document about the image as an
 * in-toto Statement (predicateType https://openvex.dev/ns/v0.2.0).
 *
 *   [attest "vex"]
 *   plugin               = openvex
 *   osv                  = /srv/osv/debian, https://osv.example/Debian-12.json
 *   debian_tracker       = https://security-tracker.debian.org/tracker/data/json
 *   distribution_release = bookworm     ; default: each package's codename
 *   unfixed              = affected     ; or under_investigation
 *   author               = Example Corp security team
 *
 * For every vulnerability a feed knows for a source package of the image
 * (vex_osv.c, vex_feed.c say how each feed is read and decided), one
 * statement: vulnerability {name, aliases}, products [the image (pkg:oci
 * purl, sha-256 = manifest digest) with the binary packages of that source
 * as subcomponents (purl, sha-256 of the package file)], status and, as the
 * spec requires, a justification + impact_statement (not_affected) or an
 * action_statement (affected), and status_notes saying which feed decided
 * and why.  Statements are sorted by vulnerability, then source package.
 *
 * Document: @id <id_base>/vex-<sha256 of the image digest and the
 * statements>, author, timestamp = the run record's started_on, version 1,
 * tooling.  Equal image, run record and feeds give the same bytes.  When no
 * known vulnerability touches the image no statement is emitted (an OpenVEX
 * document needs at least one statement); the stage logs that. */
#include "config.h"
#include "vex.h"

#include <stdlib.h>
#include <string.h>

#define VEX_PREDICATE "https://openvex.dev/ns/v0.2.0"
#define VEX_CONTEXT "https://openvex.dev/ns/v0.2.0"
#define MAX_HITS 1000000

static const char *const unfixed_choices[] = { "affected", "under_investigation", NULL };
static const char *const status_names[] = { "not_affected", "fixed", "under_investigation",
                                            "affected" };

static const struct temper_option vex_options[] = {
    { TEMPER_OPT_LIST, "osv", NULL, TEMPER_OPT_MULTI, offsetof(struct vex_conf, osv), 0, 0, NULL,
      "OSV feeds: JSON files, directories of *.json, or http(s) URLs" },
    { TEMPER_OPT_STR, "debian_tracker", NULL, 0, offsetof(struct vex_conf, debian_tracker), 0,
      0, NULL, "Debian security tracker JSON (file or http(s) URL, format of "
      "https://security-tracker.debian.org/tracker/data/json)" },
    { TEMPER_OPT_STR, "distribution_release", NULL, 0,
      offsetof(struct vex_conf, distribution_release), 0, 0, NULL,
      "tracker release to read (e.g. bookworm); default: each package's codename" },
    { TEMPER_OPT_STR, "author", "temper", 0, offsetof(struct vex_conf, author), 0, 0, NULL,
      "the document's author" },
    { TEMPER_OPT_STR, "id_base", "https://openvex.dev/docs/public", 0,
      offsetof(struct vex_conf, id_base), 0, 0, NULL,
      "IRI prefix of the document @id (<id_base>/vex-<content hash>)" },
    { TEMPER_OPT_ENUM, "unfixed", "affected", 0, offsetof(struct vex_conf, unfixed), 0, 0,
      unfixed_choices, "status of a vulnerability the package has and no fix exists for" },
    { TEMPER_OPT_SIZE, "max_feed_size", "256M", 0, offsetof(struct vex_conf, max_feed_size),
      1024, 0x7fffffffLL, NULL, "largest feed document read or downloaded" },
    { TEMPER_OPT_INT, "max_files", "500000", 0, offsetof(struct vex_conf, max_files), 1,
      10000000, NULL, "most feed files read in one run (OSV directories)" },
    { TEMPER_OPT_PATH, "ca_file", NULL, 0, offsetof(struct vex_conf, ca_file), 0, 0, NULL,
      "PEM bundle replacing the default trust store for https feeds" },
    TEMPER_OPTION_END,
};

/* ---- actions ---------------------------------------------------------- */

char *vex_action_fix(const struct vex_src *s, const char *fixed)
{
    return temper_strdupf("Update %s to %s or later; temper rebuilds the image when the fixed "
                          "package is published.", s->name, fixed);
}

char *vex_action_nofix(const struct vex_src *s, const char *release)
{
    return temper_strdupf("No fixed %s package is available for %s yet; temper rebuilds the "
                          "image when one is published.  Until then assess whether the "
                          "vulnerable code is reachable and apply mitigations.", s->name,
                          release);
}

/* ---- decisions -------------------------------------------------------- */

static void hit_free(struct vex_hit *h)
{
    free(h->vuln);
    json_object_put(h->aliases);
    free(h->impact);
    free(h->action);
    free(h->notes);
    free(h->fixed);
    free(h->summary);
}

/* Severity, publication date and fix are kept across feeds: the highest
 * severity, the earliest date, and the deciding feed's fix (else any). */
static int hit_merge_facts(struct vex_hit *h, const struct vex_decision *d, bool decided)
{
    if (vex_severity_rank(d->severity) > vex_severity_rank(h->severity)) {
        h->severity = d->severity;
    }
    if (d->published > 0 && (h->published == 0 || d->published < h->published)) {
        h->published = d->published;
    }
    if (d->summary && !h->summary && ac_text_ok(d->summary, 1024)) {
        h->summary = strdup(d->summary);
        if (!h->summary) {
            return TEMPER_ENOMEM;
        }
    }
    if (d->fixed && (decided || !h->fixed)) {
        char *f = strdup(d->fixed);
        if (!f) {
            return TEMPER_ENOMEM;
        }
        free(h->fixed);
        h->fixed = f;
    }
    return TEMPER_OK;
}

static int add_alias(struct json_object *set, const char *vuln, const char *a)
{
    if (!a || !a[0] || strcmp(a, vuln) == 0 || !ac_text_ok(a, 256)) {
        return TEMPER_OK;
    }
    return temper_json_add(set, a, json_object_new_boolean(1));
}

static int hit_set(struct vex_hit *h, const struct vex_decision *d)
{
    free(h->impact);
    free(h->action);
    free(h->notes);
    h->status = d->status;
    h->origin = d->origin;
    h->justification = d->justification;
    h->impact = d->impact ? strdup(d->impact) : NULL;
    h->action = d->action ? strdup(d->action) : NULL;
    h->notes = d->notes ? strdup(d->notes) : NULL;
    bool ok = (!d->impact || h->impact) && (!d->action || h->action) && (!d->notes || h->notes);
    return ok ? TEMPER_OK : TEMPER_ENOMEM;
}

static int hit_new(struct vex_ctx *c, const char *vuln, size_t src, const char *key,
                   struct vex_hit **out)
{
    if (c->n_hits == MAX_HITS) {
        return temper_fail(c->st, TEMPER_ELIMIT, "more than %d vulnerability statements",
                           MAX_HITS);
    }
    if (c->n_hits == c->cap_hits) {
        size_t cap = c->cap_hits ? 2 * c->cap_hits : 64;
        struct vex_hit *nv = realloc(c->hits, cap * sizeof *nv);
        if (!nv) {
            return TEMPER_ENOMEM;
        }
        c->hits = nv;
        c->cap_hits = cap;
    }
    struct vex_hit *h = &c->hits[c->n_hits];
    memset(h, 0, sizeof *h);
    h->vuln = strdup(vuln);
    h->aliases = json_object_new_object();
    h->src = src;
    h->s = &c->srcs[src];
    if (!h->vuln || !h->aliases) {
        hit_free(h);
        return TEMPER_ENOMEM;
    }
    int rc = temper_json_add(c->hit_index, key, json_object_new_int64((int64_t)c->n_hits));
    if (rc != TEMPER_OK) {
        hit_free(h);
        return rc;
    }
    c->n_hits++;
    *out = h;
    return TEMPER_OK;
}

int vex_record(struct vex_ctx *c, const char *vuln, struct json_object *aliases,
               const char *alias, size_t src, const struct vex_decision *d)
{
    struct json_object *idx = NULL;
    struct vex_hit *h = NULL;
    char *key = temper_strdupf("%s\n%zu", vuln, src);
    int rc = key ? TEMPER_OK : TEMPER_ENOMEM;
    bool fresh = false;
    if (rc == TEMPER_OK && json_object_object_get_ex(c->hit_index, key, &idx)) {
        h = &c->hits[json_object_get_int64(idx)];
    } else if (rc == TEMPER_OK) {
        rc = hit_new(c, vuln, src, key, &h);
        fresh = true;
    }
    bool decided = rc == TEMPER_OK && (fresh || d->origin > h->origin ||
                                       (d->origin == h->origin && d->status > h->status));
    if (decided) {
        rc = hit_set(h, d);
    }
    if (rc == TEMPER_OK) {
        rc = hit_merge_facts(h, d, decided);
    }
    size_t n = json_object_is_type(aliases, json_type_array) ? json_object_array_length(aliases)
                                                              : 0;
    for (size_t i = 0; rc == TEMPER_OK && i < n && i < 64; i++) {
        rc = add_alias(h->aliases, vuln, json_object_get_string(json_object_array_get_idx(aliases,
                                                                                         i)));
    }
    if (rc == TEMPER_OK) {
        rc = add_alias(h->aliases, vuln, alias);
    }
    free(key);
    return rc;
}

/* ---- the image's source packages ---------------------------------------- */

static int src_index(struct vex_ctx *c, const struct vex_src *s, size_t si)
{
    struct json_object *list = NULL;
    char *key = temper_strdupf("%s\n%s", s->distro.ecosystem, s->name);
    int rc = key ? TEMPER_OK : TEMPER_ENOMEM;
    if (rc == TEMPER_OK && !json_object_object_get_ex(c->by_key, key, &list)) {
        list = json_object_new_array();
        rc = temper_json_add(c->by_key, key, list);
    }
    if (rc == TEMPER_OK) {
        rc = temper_json_append(list, json_object_new_int64((int64_t)si));
    }
    free(key);
    return rc;
}

/* Group the (sorted) packages by (source, source version, distribution);
 * binaries of one source are not always adjacent in name order. */
static int build_sources(struct vex_ctx *c, const struct temper_package **pk, size_t n)
{
    struct json_object *seen = json_object_new_object(); /* key -> source index */
    size_t *of = calloc(n ? n : 1, sizeof *of), *fill = calloc(n ? n : 1, sizeof *fill);
    c->srcs = calloc(n ? n : 1, sizeof *c->srcs);
    c->bins = calloc(n ? n : 1, sizeof *c->bins);
    int rc = seen && of && fill && c->srcs && c->bins ? TEMPER_OK : TEMPER_ENOMEM;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        struct json_object *have = NULL;
        char *key = temper_strdupf("%s\n%s\n%s", ac_src_name(pk[i]), ac_src_version(pk[i]),
                                   pk[i]->distribution ? pk[i]->distribution : "");
        rc = key ? TEMPER_OK : TEMPER_ENOMEM;
        if (rc == TEMPER_OK && json_object_object_get_ex(seen, key, &have)) {
            of[i] = (size_t)json_object_get_int64(have);
        } else if (rc == TEMPER_OK) {
            of[i] = c->n_srcs++;
            rc = temper_json_add(seen, key, json_object_new_int64((int64_t)of[i]));
        }
        if (rc == TEMPER_OK) {
            c->srcs[of[i]].n_bins++;
        }
        free(key);
    }
    size_t at = 0;
    for (size_t si = 0; rc == TEMPER_OK && si < c->n_srcs; si++) {
        c->srcs[si].bins = c->bins + at; /* counting sort: each source's slice */
        at += c->srcs[si].n_bins;
    }
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        c->bins[(size_t)(c->srcs[of[i]].bins - c->bins) + fill[of[i]]++] = pk[i];
    }
    for (size_t si = 0; rc == TEMPER_OK && si < c->n_srcs; si++) {
        struct vex_src *s = &c->srcs[si];
        s->name = ac_src_name(s->bins[0]);
        s->version = ac_src_version(s->bins[0]);
        s->distro_known = ac_distro_parse(s->bins[0]->distribution, &s->distro);
        rc = s->distro_known ? src_index(c, s, si) : TEMPER_OK;
    }
    json_object_put(seen);
    free(of);
    free(fill);
    return rc;
}

/* ---- the document ------------------------------------------------------- */

/* {"@id": purl, "identifiers": {"purl": purl}, "hashes": {"sha-256": hex}} */
static struct json_object *component(int *rc, const char *purl, const char *hex)
{
    struct json_object *o = ac_new_obj(rc), *ids = ac_new_obj(rc);
    ac_put_str(rc, o, "@id", purl);
    ac_put_str(rc, ids, "purl", purl);
    ac_put(rc, o, "identifiers", ids);
    if (hex) {
        struct json_object *h = ac_new_obj(rc);
        ac_put_str(rc, h, "sha-256", hex);
        ac_put(rc, o, "hashes", h);
    }
    return o;
}

static struct json_object *products(int *rc, const struct vex_src *s, const char *image_purl,
                                    const char *image_hex)
{
    struct json_object *arr = ac_new_arr(rc), *img = component(rc, image_purl, image_hex);
    struct json_object *subs = ac_new_arr(rc);
    for (size_t i = 0; *rc == TEMPER_OK && i < s->n_bins; i++) {
        char *purl = ac_purl(s->bins[i]);
        *rc = purl ? *rc : TEMPER_ENOMEM;
        ac_push(rc, subs, component(rc, purl, s->bins[i]->sha256));
        free(purl);
    }
    ac_put(rc, img, "subcomponents", subs);
    ac_push(rc, arr, img);
    return arr;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The alias set as a sorted array, NULL when empty. */
static struct json_object *alias_array(int *rc, struct json_object *set)
{
    size_t n = (size_t)json_object_object_length(set), k = 0;
    if (n == 0 || *rc != TEMPER_OK) {
        return NULL;
    }
    const char **v = calloc(n, sizeof *v);
    struct json_object *arr = v ? ac_new_arr(rc) : NULL;
    *rc = v ? *rc : TEMPER_ENOMEM;
    json_object_object_foreach(set, key, val)
    {
        (void)val;
        if (v && k < n) {
            v[k++] = key;
        }
    }
    if (v) {
        qsort(v, k, sizeof *v, cmp_str_ptr);
    }
    for (size_t i = 0; i < k; i++) {
        ac_push(rc, arr, *rc == TEMPER_OK ? json_object_new_string(v[i]) : NULL);
    }
    free(v);
    return arr;
}

static struct json_object *statement(int *rc, const struct vex_hit *h, const char *image_purl,
                                     const char *image_hex)
{
    struct json_object *st = ac_new_obj(rc), *vuln = ac_new_obj(rc);
    ac_put_str(rc, vuln, "name", h->vuln);
    struct json_object *al = alias_array(rc, h->aliases);
    if (al) {
        ac_put(rc, vuln, "aliases", al);
    }
    ac_put(rc, st, "vulnerability", vuln);
    ac_put(rc, st, "products", products(rc, h->s, image_purl, image_hex));
    ac_put_str(rc, st, "status", status_names[h->status]);
    if (h->status == VEX_NOT_AFFECTED) {
        ac_put_str(rc, st, "justification", h->justification);
        ac_put_str(rc, st, "impact_statement", h->impact);
    }
    if (h->status == VEX_AFFECTED) {
        ac_put_str(rc, st, "action_statement", h->action);
    }
    ac_put_str(rc, st, "status_notes", h->notes);
    return st;
}

static int cmp_hit(const void *a, const void *b)
{
    const struct vex_hit *x = *(const struct vex_hit *const *)a;
    const struct vex_hit *y = *(const struct vex_hit *const *)b;
    int c = strcmp(x->vuln, y->vuln);
    c = c ? c : strcmp(x->s->name, y->s->name);
    c = c ? c : strcmp(x->s->version, y->s->version);
    return c ? c : strcmp(x->s->distro.ecosystem, y->s->distro.ecosystem);
}

static struct json_object *statements(int *rc, struct vex_ctx *c, const struct ac_subject *s)
{
    char *purl = *rc == TEMPER_OK ? ac_purl_image(s) : NULL;
    const struct vex_hit **order = purl ? calloc(c->n_hits, sizeof *order) : NULL;
    struct json_object *arr = order ? ac_new_arr(rc) : NULL;
    *rc = *rc == TEMPER_OK && !order ? TEMPER_ENOMEM : *rc;
    for (size_t i = 0; order && i < c->n_hits; i++) {
        order[i] = &c->hits[i];
    }
    if (order) {
        qsort(order, c->n_hits, sizeof *order, cmp_hit);
    }
    for (size_t i = 0; order && *rc == TEMPER_OK && i < c->n_hits; i++) {
        ac_push(rc, arr, statement(rc, order[i], purl, s->hex));
    }
    free(order);
    free(purl);
    return arr;
}

static int document(struct vex_ctx *c, const struct ac_subject *s, const char *created,
                    struct json_object **out)
{
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    char *text = NULL, *id = NULL;
    size_t len = 0;
    int rc = TEMPER_OK;
    struct json_object *doc = ac_new_obj(&rc), *sts = statements(&rc, c, s);
    if (rc == TEMPER_OK) {
        rc = temper_json_canonical(sts, &text, &len);
    }
    struct temper_sha256 *h = rc == TEMPER_OK ? temper_sha256_new() : NULL;
    rc = rc == TEMPER_OK && !h ? TEMPER_ENOMEM : rc;
    if (h) {
        temper_sha256_update(h, s->digest, strlen(s->digest));
        temper_sha256_update(h, "\n", 1);
        temper_sha256_update(h, text, len);
        temper_sha256_final(h, NULL, hex);
        temper_sha256_free(h);
        id = temper_strdupf("%s/vex-%s", c->conf->id_base, hex);
        rc = id ? TEMPER_OK : TEMPER_ENOMEM;
    }
    ac_put_str(&rc, doc, "@context", VEX_CONTEXT);
    ac_put_str(&rc, doc, "@id", id);
    ac_put_str(&rc, doc, "author", c->conf->author);
    ac_put_str(&rc, doc, "timestamp", created);
    ac_put(&rc, doc, "version", rc == TEMPER_OK ? json_object_new_int(1) : NULL);
    ac_put_str(&rc, doc, "tooling", "temper " PACKAGE_VERSION " (attest_openvex)");
    ac_put(&rc, doc, "statements", sts);
    free(text);
    free(id);
    if (rc != TEMPER_OK) {
        json_object_put(doc);
        doc = NULL;
    }
    *out = doc;
    return rc;
}

static void ctx_cleanup(struct vex_ctx *c)
{
    for (size_t i = 0; i < c->n_hits; i++) {
        hit_free(&c->hits[i]);
    }
    free(c->hits);
    free(c->srcs);
    free(c->bins);
    json_object_put(c->by_key);
    json_object_put(c->hit_index);
    temper_http_free(c->http);
}

static int vex_run(struct vex_ctx *c, const struct ac_input *in,
                   const struct temper_artifact *run, struct json_object **doc)
{
    c->by_key = json_object_new_object();
    c->hit_index = json_object_new_object();
    int rc = c->by_key && c->hit_index ? build_sources(c, in->pk, in->n) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        rc = vex_read_feeds(c);
    }
    if (rc == TEMPER_OK) {
        rc = vex_sla_record(c, in, run);
    }
    if (rc == TEMPER_OK && c->n_hits > 0) {
        TEMPER_LOG_INFO(c->st, "%zu VEX statements about %s", c->n_hits, in->s.name);
        rc = document(c, &in->s, in->created, doc);
    }
    return rc;
}

static int vex_attest(void *state, struct temper_stage *st, const struct temper_artifact *image,
                      const struct temper_artifact *run)
{
    struct vex_ctx c = { .st = st, .conf = ((const struct ac_state *)state)->conf };
    struct ac_input in;
    struct json_object *doc = NULL;
    int rc = ac_input_init(st, image, run, true, &in);
    if (rc == TEMPER_OK) {
        rc = vex_run(&c, &in, run, &doc);
    }
    if (rc == TEMPER_OK && !doc) {
        TEMPER_LOG_INFO(st, "no known vulnerability touches %s: no VEX statement", in.s.name);
    } else {
        rc = ac_finish(st, rc, &in, VEX_PREDICATE, "openvex-0.2.0", "VEX document", &doc);
    }
    json_object_put(doc);
    ctx_cleanup(&c);
    ac_input_cleanup(&in);
    return rc;
}

static int vex_open(struct temper_stage *st, const void *conf, void **state)
{
    const struct vex_conf *c = conf;
    const char *rel = c->distribution_release;
    *state = NULL;
    if (c->osv.n == 0 && !c->debian_tracker) {
        return temper_fail(st, TEMPER_EINVAL, "set osv and/or debian_tracker: no feed to read");
    }
    if (rel && (!rel[0] || strspn(rel, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(rel))) {
        return temper_fail(st, TEMPER_EINVAL,
                           "distribution_release must be a release codename such as bookworm");
    }
    if (!c->author || !c->author[0] || !c->id_base ||
        (!strstr(c->id_base, "://") && strncmp(c->id_base, "urn:", 4) != 0)) {
        return temper_fail(st, TEMPER_EINVAL, "author must be set and id_base be an IRI");
    }
    return ac_state_new(conf, state);
}

static const struct temper_attest_ops vex_ops = { .attest = vex_attest };

TEMPER_PLUGIN(attest_openvex) = {
    TEMPER_PLUGIN_HEAD,
    .kind = TEMPER_KIND_ATTEST,
    .name = "openvex",
    .version = PACKAGE_VERSION,
    .summary = "OpenVEX 0.2.0 statements for the image from OSV and Debian tracker data",
    .options = vex_options,
    .conf_size = sizeof(struct vex_conf),
    .open = vex_open,
    .close = ac_state_free,
    .ops = &vex_ops,
    .ops_size = sizeof(vex_ops),
};

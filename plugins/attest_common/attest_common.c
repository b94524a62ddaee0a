/* temper — helpers shared by the attest plugins (see attest_common.h). */
#include "config.h"
#include "attest_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AC_NAME_MAX 256

/* ---- json-c building -------------------------------------------------- */

void ac_put(int *rc, struct json_object *obj, const char *key, struct json_object *val)
{
    if (*rc != TEMPER_OK) {
        json_object_put(val);
        return;
    }
    *rc = temper_json_add(obj, key, val);
}

void ac_put_str(int *rc, struct json_object *obj, const char *key, const char *s)
{
    if (s) {
        ac_put(rc, obj, key, *rc == TEMPER_OK ? json_object_new_string(s) : NULL);
    }
}

void ac_push(int *rc, struct json_object *arr, struct json_object *val)
{
    if (*rc != TEMPER_OK) {
        json_object_put(val);
        return;
    }
    *rc = temper_json_append(arr, val);
}

struct json_object *ac_new_obj(int *rc)
{
    struct json_object *o = *rc == TEMPER_OK ? json_object_new_object() : NULL;
    if (!o && *rc == TEMPER_OK) {
        *rc = TEMPER_ENOMEM;
    }
    return o;
}

struct json_object *ac_new_arr(int *rc)
{
    struct json_object *o = *rc == TEMPER_OK ? json_object_new_array() : NULL;
    if (!o && *rc == TEMPER_OK) {
        *rc = TEMPER_ENOMEM;
    }
    return o;
}

struct json_object *ac_digest_obj(const char *hex)
{
    struct json_object *d = json_object_new_object();
    int rc = d ? TEMPER_OK : TEMPER_ENOMEM;
    ac_put_str(&rc, d, "sha256", hex);
    if (rc != TEMPER_OK) {
        json_object_put(d);
        return NULL;
    }
    return d;
}

/* ---- text checks ------------------------------------------------------ */

bool ac_is_hex64(const char *s)
{
    if (!s || strlen(s) != TEMPER_SHA256_HEX_LEN) {
        return false;
    }
    for (size_t i = 0; i < TEMPER_SHA256_HEX_LEN; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

/* Length of the UTF-8 sequence at s (1..4), 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
                             : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 2 && s[0] < 0xc2) {
        return 0; /* overlong */
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 4 && s[0] == 0xf0 && s[1] < 0x90) ||
        (n == 4 && s[0] > 0xf4)) {
        return 0;
    }
    return n;
}

bool ac_text_ok(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = 0;
    while (p[len]) {
        if (len >= max || p[len] < 0x20 || p[len] == 0x7f) {
            return false;
        }
        size_t n = utf8_len(p + len);
        if (n == 0) {
            return false;
        }
        len += n;
    }
    return true;
}

/* ---- subject and statement -------------------------------------------- */

int ac_subject_init(struct temper_stage *st, const struct temper_artifact *image,
                    const struct temper_artifact *run, struct ac_subject *s)
{
    memset(s, 0, sizeof *s);
    if (!image || !run) {
        return temper_fail(st, TEMPER_EINVAL, "attest needs an image and the run record");
    }
    const char *dg = temper_artifact_get(image, TEMPER_ATTR_DIGEST);
    if (!dg || strncmp(dg, "sha256:", 7) != 0 || !ac_is_hex64(dg + 7)) {
        return temper_fail(st, TEMPER_EINVAL, "image %s has no sha256 manifest digest",
                           temper_artifact_name(image));
    }
    s->digest = dg;
    memcpy(s->hex, dg + 7, TEMPER_SHA256_HEX_LEN + 1);
    s->name = temper_artifact_get(run, TEMPER_ATTR_IMAGE);
    if (!s->name) {
        s->name = temper_artifact_get(image, TEMPER_ATTR_IMAGE);
    }
    if (!s->name) {
        s->name = temper_artifact_name(image);
    }
    s->platform = temper_artifact_get(image, TEMPER_ATTR_PLATFORM);
    s->variant = temper_artifact_get(run, TEMPER_ATTR_VARIANT);
    if (!s->variant) {
        s->variant = temper_artifact_get(image, TEMPER_ATTR_VARIANT);
    }
    if (!s->name || !s->name[0] || !ac_text_ok(s->name, AC_NAME_MAX) ||
        (s->platform && !ac_text_ok(s->platform, AC_NAME_MAX)) ||
        (s->variant && !ac_text_ok(s->variant, AC_NAME_MAX))) {
        return temper_fail(st, TEMPER_EFORMAT,
                           "image %s: name, platform or variant is empty or not text",
                           temper_artifact_name(image));
    }
    return TEMPER_OK;
}

static struct json_object *statement_new(const struct ac_subject *s, const char *ptype,
                                         struct json_object *predicate)
{
    struct json_object *root = json_object_new_object();
    struct json_object *subj = json_object_new_array();
    struct json_object *one = json_object_new_object();
    int rc = root && subj && one ? TEMPER_OK : TEMPER_ENOMEM;
    ac_put_str(&rc, one, "name", s->name);
    ac_put(&rc, one, "digest", rc == TEMPER_OK ? ac_digest_obj(s->hex) : NULL);
    ac_push(&rc, subj, one);
    ac_put_str(&rc, root, "_type", AC_STATEMENT_TYPE);
    ac_put(&rc, root, "subject", subj);
    ac_put_str(&rc, root, "predicateType", ptype);
    ac_put(&rc, root, "predicate", predicate);
    if (rc != TEMPER_OK) {
        json_object_put(root);
        return NULL;
    }
    return root;
}

static int statement_attrs(struct temper_artifact *a, const struct ac_subject *s,
                           const char *ptype, const char *format, const char *hex)
{
    int rc = temper_artifact_set(a, TEMPER_ATTR_PREDICATE_TYPE, ptype);
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_SIGNED_DIGEST, s->digest);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_MEDIA_TYPE, AC_INTOTO_MEDIA_TYPE);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_IMAGE, s->name);
    }
    if (rc == TEMPER_OK && s->platform) {
        rc = temper_artifact_set(a, TEMPER_ATTR_PLATFORM, s->platform);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_setf(a, TEMPER_ATTR_DIGEST, "sha256:%s", hex);
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_set(a, TEMPER_ATTR_FORMAT, format);
    }
    return rc;
}

int ac_emit_statement(struct temper_stage *st, const struct ac_subject *s,
                      const char *predicate_type, const char *format,
                      struct json_object *predicate)
{
    struct temper_artifact *a = NULL;
    char *text = NULL, *name = NULL;
    size_t len = 0;
    char hex[TEMPER_SHA256_HEX_LEN + 1];
    struct json_object *root = predicate ? statement_new(s, predicate_type, predicate) : NULL;
    int rc = root ? temper_json_canonical(root, &text, &len) : TEMPER_ENOMEM;
    if (rc == TEMPER_OK) {
        rc = temper_sha256_hex(text, len, hex);
    }
    if (rc == TEMPER_OK) {
        name = temper_strdupf("%s.intoto.json", temper_stage_name(st));
        a = name ? temper_artifact_new(TEMPER_ART_STATEMENT, name) : NULL;
        rc = a ? statement_attrs(a, s, predicate_type, format, hex) : TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK) {
        rc = temper_artifact_take_data(a, text, len);
        text = NULL;
    }
    if (rc == TEMPER_OK) {
        rc = temper_emit(st, a);
        a = NULL;
    }
    if (rc != TEMPER_OK && !temper_stage_error(st)) {
        rc = temper_fail(st, rc, "cannot build the %s statement: %s", format, temper_rc_str(rc));
    }
    temper_artifact_free(a);
    json_object_put(root);
    free(text);
    free(name);
    return rc;
}

int ac_input_init(struct temper_stage *st, const struct temper_artifact *image,
                  const struct temper_artifact *run, bool need_time, struct ac_input *in)
{
    memset(in, 0, sizeof *in);
    int rc = ac_subject_init(st, image, run, &in->s);
    if (rc == TEMPER_OK && need_time) {
        rc = ac_run_time(st, run, TEMPER_RUN_STARTED, in->created);
        rc = rc == TEMPER_ENOTFOUND
                 ? temper_fail(st, TEMPER_EINVAL, "run record has no %s", TEMPER_RUN_STARTED)
                 : rc;
    }
    return rc == TEMPER_OK ? ac_packages(st, image, &in->pk, &in->n) : rc;
}

void ac_input_cleanup(struct ac_input *in)
{
    free(in->pk);
    in->pk = NULL;
    in->n = 0;
}

int ac_finish(struct temper_stage *st, int rc, const struct ac_input *in, const char *ptype,
              const char *format, const char *what, struct json_object **root)
{
    if (rc == TEMPER_OK) {
        rc = ac_emit_statement(st, &in->s, ptype, format, *root);
        *root = NULL;
    } else if (!temper_stage_error(st)) {
        rc = temper_fail(st, rc, "cannot build the %s of %s: %s", what,
                         in->s.name ? in->s.name : "the image", temper_rc_str(rc));
    }
    return rc;
}

int ac_state_new(const void *conf, void **state)
{
    struct ac_state *s = calloc(1, sizeof *s);
    *state = s;
    if (!s) {
        return TEMPER_ENOMEM;
    }
    s->conf = conf;
    return TEMPER_OK;
}

void ac_state_free(void *state)
{
    free(state);
}

int ac_run_time(struct temper_stage *st, const struct temper_artifact *run, const char *key,
                char out[21])
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    const char *v = run ? temper_artifact_get(run, key) : NULL;
    out[0] = '\0';
    if (!v) {
        return TEMPER_ENOTFOUND;
    }
    bool ok = strlen(v) == sizeof shape - 1;
    for (size_t i = 0; ok && i < sizeof shape - 1; i++) {
        ok = shape[i] == 'd' ? (v[i] >= '0' && v[i] <= '9') : v[i] == shape[i];
    }
    if (!ok) {
        return temper_fail(st, TEMPER_EFORMAT,
                           "run record: %s is not an RFC 3339 UTC time (YYYY-MM-DDThh:mm:ssZ)",
                           key);
    }
    memcpy(out, v, sizeof shape);
    return TEMPER_OK;
}

void ac_uuid(const char *a, const char *b, char out[37])
{
    unsigned char d[TEMPER_SHA256_LEN];
    struct temper_sha256 *h = temper_sha256_new();
    memset(d, 0, sizeof d);
    if (h) {
        temper_sha256_update(h, a, strlen(a));
        temper_sha256_update(h, "\n", 1);
        temper_sha256_update(h, b, strlen(b));
        temper_sha256_final(h, d, NULL);
        temper_sha256_free(h);
    }
    d[6] = (unsigned char)((d[6] & 0x0f) | 0x80);
    d[8] = (unsigned char)((d[8] & 0x3f) | 0x80);
    static const char hx[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[k++] = '-';
        }
        out[k++] = hx[d[i] >> 4];
        out[k++] = hx[d[i] & 0x0f];
    }
    out[k] = '\0';
}

void ac_id_hash(const char *a, const char *b, const char *c, char out[17])
{
    char hex[TEMPER_SHA256_HEX_LEN + 1] = "";
    char *s = temper_strdupf("%s\n%s\n%s", a ? a : "", b ? b : "", c ? c : "");
    if (!s || temper_sha256_hex(s, strlen(s), hex) != TEMPER_OK) {
        memset(hex, '0', 16);
    }
    memcpy(out, hex, 16);
    out[16] = '\0';
    free(s);
}

static char *trimmed(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    return strndup(s, n);
}

int ac_person(const char *s, char **name, char **email, bool *org)
{
    static const char *const teams[] = { "team", "maintainers", "developers", "project",
                                         "group", "packagers" };
    const char *lt = strchr(s, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    *email = NULL;
    *org = false;
    *name = trimmed(s, lt && gt ? (size_t)(lt - s) : strlen(s));
    if (lt && gt && memchr(lt, '@', (size_t)(gt - lt))) {
        *email = trimmed(lt + 1, (size_t)(gt - lt - 1));
        if (!*email) {
            TEMPER_FREE(*name);
        }
    }
    if (!*name) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < sizeof teams / sizeof teams[0]; i++) {
        *org = *org || strcasestr(*name, teams[i]) != NULL;
    }
    *org = *org || (*email && strstr(*email, "lists.") != NULL);
    return TEMPER_OK;
}

/* ---- distributions ---------------------------------------------------- */

struct release {
    const char *vendor, *codename, *version, *ecosystem;
};

static const struct release releases[] = {
    { "debian", "buster", "10", "Debian:10" },
    { "debian", "bullseye", "11", "Debian:11" },
    { "debian", "bookworm", "12", "Debian:12" },
    { "debian", "trixie", "13", "Debian:13" },
    { "debian", "forky", "14", "Debian:14" },
    { "debian", "sid", "", "Debian:sid" },
    { "debian", "unstable", "", "Debian:sid" },
    { "ubuntu", "focal", "20.04", "Ubuntu:20.04:LTS" },
    { "ubuntu", "jammy", "22.04", "Ubuntu:22.04:LTS" },
    { "ubuntu", "noble", "24.04", "Ubuntu:24.04:LTS" },
    { "ubuntu", "oracular", "24.10", "Ubuntu:24.10" },
    { "ubuntu", "plucky", "25.04", "Ubuntu:25.04" },
};

static bool copy_field(char *dst, size_t n, const char *src, size_t len)
{
    if (len >= n) {
        return false;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
    return true;
}

static bool distro_apk(const char *rel, struct ac_distro *out)
{
    const char *v = rel[0] == 'v' ? rel + 1 : rel;
    bool ok = v[0] >= '0' && v[0] <= '9';
    for (const char *p = v; ok && *p; p++) {
        ok = (*p >= '0' && *p <= '9') || *p == '.';
    }
    out->purl_type = "apk";
    out->scheme = TEMPER_VSCHEME_APK;
    if (strcmp(out->vendor, "wolfi") == 0) {
        return copy_field(out->ecosystem, sizeof out->ecosystem, "Wolfi", 5);
    }
    if (!ok || !copy_field(out->version, sizeof out->version, v, strlen(v))) {
        return false;
    }
    int n = snprintf(out->ecosystem, sizeof out->ecosystem, "Alpine:v%s", v);
    return n > 0 && (size_t)n < sizeof out->ecosystem;
}

bool ac_distro_parse(const char *distribution, struct ac_distro *out)
{
    memset(out, 0, sizeof *out);
    const char *colon = distribution ? strchr(distribution, ':') : NULL;
    if (!colon || !copy_field(out->vendor, sizeof out->vendor, distribution,
                              (size_t)(colon - distribution))) {
        return false;
    }
    const char *rel = colon + 1;
    for (char *p = out->vendor; *p; p++) {
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    }
    if (strcmp(out->vendor, "alpine") == 0 || strcmp(out->vendor, "wolfi") == 0) {
        bool ok = distro_apk(rel, out);
        if (!ok) {
            memset(out, 0, sizeof *out);
        }
        return ok;
    }
    for (size_t i = 0; i < sizeof releases / sizeof releases[0]; i++) {
        const struct release *r = &releases[i];
        bool named = strcasecmp(r->codename, rel) == 0;
        bool numbered = r->version[0] && strcmp(r->version, rel) == 0;
        if (strcmp(r->vendor, out->vendor) == 0 && (named || numbered)) {
            memcpy(out->codename, r->codename, strlen(r->codename) + 1);
            memcpy(out->version, r->version, strlen(r->version) + 1);
            memcpy(out->ecosystem, r->ecosystem, strlen(r->ecosystem) + 1);
            out->purl_type = "deb";
            out->scheme = TEMPER_VSCHEME_DPKG;
            return true;
        }
    }
    memset(out, 0, sizeof *out);
    return false;
}

/* ---- package URLs ----------------------------------------------------- */

int ac_pct_encode(struct temper_buf *b, const char *s, bool keep_colon)
{
    static const char hx[] = "0123456789ABCDEF";
    int rc = TEMPER_OK;
    for (const unsigned char *p = (const unsigned char *)s; rc == TEMPER_OK && *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_' ||
                     *p == '~' || (keep_colon && *p == ':');
        if (plain) {
            rc = temper_buf_append(b, p, 1);
        } else {
            char e[3] = { '%', hx[*p >> 4], hx[*p & 0x0f] };
            rc = temper_buf_append(b, e, 3);
        }
    }
    return rc;
}

const char *ac_src_name(const struct temper_package *p)
{
    return p->source && p->source[0] ? p->source : p->name;
}

const char *ac_src_version(const struct temper_package *p)
{
    return p->source_version && p->source_version[0] ? p->source_version : p->version;
}

/* "?k=v&k=v" from sorted pairs; NULL or empty values are dropped. */
static int qualifiers(struct temper_buf *b, const char *const kv[][2], size_t n)
{
    int rc = TEMPER_OK;
    char sep = '?';
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        if (!kv[i][1] || !kv[i][1][0]) {
            continue;
        }
        rc = temper_buf_printf(b, "%c%s=", sep, kv[i][0]);
        if (rc == TEMPER_OK) {
            rc = ac_pct_encode(b, kv[i][1], true);
        }
        sep = '&';
    }
    return rc;
}

/* "pkg:<type>/<ns>/<name>@<version>" with a lower-case name. */
static int purl_head(struct temper_buf *b, const char *type, const char *ns, const char *name,
                     const char *version)
{
    char low[AC_MAX_FIELD + 1];
    size_t n = strlen(name);
    if (n > AC_MAX_FIELD) {
        return TEMPER_ELIMIT;
    }
    for (size_t i = 0; i <= n; i++) {
        low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    }
    int rc = temper_buf_printf(b, "pkg:%s/", type);
    if (rc == TEMPER_OK && ns) {
        rc = temper_buf_printf(b, "%s/", ns);
    }
    if (rc == TEMPER_OK) {
        rc = ac_pct_encode(b, low, false);
    }
    if (rc == TEMPER_OK) {
        rc = temper_buf_puts(b, "@");
    }
    return rc == TEMPER_OK ? ac_pct_encode(b, version, true) : rc;
}

static void distro_qualifier(const struct ac_distro *d, char *out, size_t n)
{
    const char *rel = d->version[0] ? d->version : d->codename;
    if (snprintf(out, n, "%s%s%s", d->vendor, rel[0] ? "-" : "", rel) >= (int)n) {
        out[0] = '\0';
    }
}

static char *purl_of(const struct temper_package *p, bool source)
{
    struct ac_distro d;
    struct temper_buf b;
    char distro[64] = "";
    char *up = NULL;
    bool known = ac_distro_parse(p->distribution, &d);
    temper_buf_init(&b, 4 * AC_MAX_FIELD);
    const char *name = source ? ac_src_name(p) : p->name;
    const char *version = source ? ac_src_version(p) : p->version;
    int rc = purl_head(&b, known ? d.purl_type : "generic", known ? d.vendor : NULL, name,
                       version);
    if (known) {
        distro_qualifier(&d, distro, sizeof distro);
    }
    bool deb = known && strcmp(d.purl_type, "deb") == 0;
    bool other_version = deb && strcmp(ac_src_version(p), p->version) != 0;
    if (known && !source && (strcmp(ac_src_name(p), p->name) != 0 || other_version)) {
        up = other_version ? temper_strdupf("%s@%s", ac_src_name(p), ac_src_version(p))
                           : strdup(ac_src_name(p));
        rc = up ? rc : TEMPER_ENOMEM;
    }
    const char *arch = source ? (deb ? "source" : NULL) : p->arch;
    const char *const kv[][2] = { { "arch", arch }, { "distro", distro }, { "upstream", up } };
    if (rc == TEMPER_OK) {
        rc = qualifiers(&b, kv, known ? 3 : 1);
    }
    free(up);
    char *out = rc == TEMPER_OK ? temper_buf_take(&b, NULL) : NULL;
    temper_buf_cleanup(&b);
    return out;
}

char *ac_purl(const struct temper_package *p)
{
    if (p->purl && strncmp(p->purl, "pkg:", 4) == 0) {
        return strdup(p->purl);
    }
    return purl_of(p, false);
}

char *ac_purl_source(const struct temper_package *p)
{
    return purl_of(p, true);
}

char *ac_purl_image(const struct ac_subject *s)
{
    struct temper_buf b;
    const char *slash = strrchr(s->name, '/');
    const char *name = slash ? slash + 1 : s->name;
    char arch[64] = "";
    if (s->platform) {
        const char *a = strchr(s->platform, '/');
        a = a ? a + 1 : s->platform;
        size_t n = strcspn(a, "/");
        if (n < sizeof arch) {
            memcpy(arch, a, n);
            arch[n] = '\0';
        }
    }
    temper_buf_init(&b, 4 * AC_MAX_FIELD);
    char version[TEMPER_DIGEST_STR_LEN];
    int n = snprintf(version, sizeof version, "sha256:%s", s->hex);
    int rc = n > 0 && (size_t)n < sizeof version ? purl_head(&b, "oci", NULL, name, "")
                                                 : TEMPER_EINTERNAL;
    if (rc == TEMPER_OK) {
        rc = ac_pct_encode(&b, version, false); /* purl-spec: sha256%3A<hex> for oci */
    }
    const char *const kv[][2] = { { "arch", arch } };
    if (rc == TEMPER_OK) {
        rc = qualifiers(&b, kv, 1);
    }
    char *out = rc == TEMPER_OK ? temper_buf_take(&b, NULL) : NULL;
    temper_buf_cleanup(&b);
    return out;
}

/* ---- the packages of an image ----------------------------------------- */

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

/* By (name, version, arch); `all` also compares the other fields, so that
 * the order never depends on qsort's treatment of equal elements. */
static int cmp_fields(const struct temper_package *a, const struct temper_package *b, bool all)
{
    const char *const fa[] = { a->name, a->version, a->arch, a->source, a->source_version,
                               a->distribution, a->purl, a->sha256, a->license,
                               a->supplier, a->url };
    const char *const fb[] = { b->name, b->version, b->arch, b->source, b->source_version,
                               b->distribution, b->purl, b->sha256, b->license,
                               b->supplier, b->url };
    size_t n = all ? sizeof fa / sizeof fa[0] : 3;
    int c = 0;
    for (size_t i = 0; c == 0 && i < n; i++) {
        c = cmp_str(fa[i], fb[i]);
    }
    return c;
}

static int cmp_pkg(const void *x, const void *y)
{
    return cmp_fields(*(const struct temper_package *const *)x,
                      *(const struct temper_package *const *)y, true);
}

static const char *pkg_problem(const struct temper_package *p)
{
    const char *const fields[] = { p->name, p->version, p->arch, p->source, p->source_version,
                                   p->distribution, p->purl, p->sha256, p->license,
                                   p->supplier, p->url };
    if (!p->name || !p->name[0] || !p->version || !p->version[0]) {
        return "has no name or version";
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (fields[i] && !ac_text_ok(fields[i], AC_MAX_FIELD)) {
            return "has a field that is too long or not text";
        }
    }
    if (p->sha256 && !ac_is_hex64(p->sha256)) {
        return "has a sha256 that is not 64 lower-case hex digits";
    }
    return NULL;
}

int ac_packages(struct temper_stage *st, const struct temper_artifact *image,
                const struct temper_package ***out, size_t *n)
{
    size_t count = temper_artifact_package_count(image), k = 0;
    *out = NULL;
    *n = 0;
    if (count > AC_MAX_PACKAGES) {
        return temper_fail(st, TEMPER_ELIMIT, "image %s lists %zu packages (limit %d)",
                           temper_artifact_name(image), count, AC_MAX_PACKAGES);
    }
    const struct temper_package **v = calloc(count ? count : 1, sizeof *v);
    if (!v) {
        return TEMPER_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        const struct temper_package *p = temper_artifact_package(image, i);
        const char *why = p ? pkg_problem(p) : "is missing";
        if (why) {
            int rc = temper_fail(st, TEMPER_EFORMAT, "image %s: package #%zu (%s) %s",
                                 temper_artifact_name(image), i,
                                 p && p->name && ac_text_ok(p->name, AC_NAME_MAX) ? p->name : "?",
                                 why);
            free(v);
            return rc;
        }
        v[i] = p;
    }
    qsort(v, count, sizeof *v, cmp_pkg);
    for (size_t i = 0; i < count; i++) {
        if (k > 0 && cmp_fields(v[k - 1], v[i], true) == 0) {
            continue; /* listed twice: once is enough */
        }
        if (k > 0 && cmp_fields(v[k - 1], v[i], false) == 0) {
            int rc = temper_fail(st, TEMPER_EFORMAT,
                                 "image %s lists package %s %s twice with different data",
                                 temper_artifact_name(image), v[i]->name, v[i]->version);
            free(v);
            return rc;
        }
        v[k++] = v[i];
    }
    *out = v;
    *n = k;
    return TEMPER_OK;
}

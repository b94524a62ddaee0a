/* temper — relation fields: Debian "a (>= 1) | b:any [amd64], c <!nocheck>"
 * and apk "so:libc.musl-x86_64.so.1 !foo bar>=1.2". */
#include "config.h"
#include "pkgindex_int.h"
#include <temper/buf.h>
#include <stdlib.h>
#include <string.h>

#define DEPS_MAX 100000 /* alternatives in one field */

static bool ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && ws(s[i])) {
        i++;
    }
    return i;
}

static bool deb_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '.' || c == '-' || c == '_';
}

static bool deb_ver_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '.' || c == '-' || c == '~' || c == ':';
}

/* "(op version)" at s[i] == '('; fills r->op/ver. */
static int deb_version(const char *s, size_t n, size_t *ip, struct pk_rel *r, const char **why)
{
    size_t i = skip_ws(s, n, *ip + 1);
    static const struct { const char *t; size_t len; enum temper_dep_op op; } ops[] = {
        { "<<", 2, TEMPER_DEP_LT }, { "<=", 2, TEMPER_DEP_LE }, { ">>", 2, TEMPER_DEP_GT },
        { ">=", 2, TEMPER_DEP_GE }, { "=", 1, TEMPER_DEP_EQ },  { "<", 1, TEMPER_DEP_LE },
        { ">", 1, TEMPER_DEP_GE },
    };
    size_t k = 0;
    while (k < sizeof ops / sizeof ops[0] &&
           (n - i < ops[k].len || memcmp(s + i, ops[k].t, ops[k].len) != 0)) {
        k++;
    }
    if (k == sizeof ops / sizeof ops[0]) {
        *why = "expected a version operator after '('";
        return TEMPER_EFORMAT;
    }
    r->op = ops[k].op;
    i = skip_ws(s, n, i + ops[k].len);
    size_t v = i;
    while (i < n && deb_ver_char(s[i])) {
        i++;
    }
    r->ver = s + v;
    r->ver_len = i - v;
    i = skip_ws(s, n, i);
    if (r->ver_len == 0 || i >= n || s[i] != ')') {
        *why = r->ver_len ? "bad character in version" : "missing version";
        return TEMPER_EFORMAT;
    }
    *ip = i + 1;
    return TEMPER_OK;
}

/* "[...]" or "<...>": the text between the brackets, trimmed. */
static int bracket(const char *s, size_t n, size_t *ip, char close, const char **b,
                   size_t *blen, const char **why)
{
    size_t i = *ip + 1;
    size_t start = skip_ws(s, n, i);
    while (i < n && s[i] != close) {
        if (s[i] == '[' || s[i] == '<' || s[i] == '(' || s[i] == ',' || s[i] == '|') {
            break;
        }
        i++;
    }
    if (i >= n || s[i] != close) {
        *why = close == ']' ? "unterminated '['" : "unterminated '<'";
        return TEMPER_EFORMAT;
    }
    size_t e = i;
    while (e > start && ws(s[e - 1])) {
        e--;
    }
    if (e == start) {
        *why = "empty restriction list";
        return TEMPER_EFORMAT;
    }
    *b = s + start;
    *blen = e - start;
    *ip = i + 1;
    return TEMPER_OK;
}

static int deb_alt(const char *s, size_t n, size_t *ip, struct pk_rel *r, const char **why)
{
    size_t i = *ip;
    size_t st = i;
    while (i < n && deb_name_char(s[i])) {
        i++;
    }
    if (i == st) {
        *why = "expected a package name";
        return TEMPER_EFORMAT;
    }
    memset(r, 0, sizeof *r);
    r->name = s + st;
    r->name_len = i - st;
    if (i < n && s[i] == ':') {
        size_t a = ++i;
        while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                         s[i] == '-')) {
            i++;
        }
        if (i == a) {
            *why = "empty architecture qualifier";
            return TEMPER_EFORMAT;
        }
        r->arch = s + a;
        r->arch_len = i - a;
    }
    i = skip_ws(s, n, i);
    int rc = TEMPER_OK;
    if (i < n && s[i] == '(') {
        rc = deb_version(s, n, &i, r, why);
        i = skip_ws(s, n, i);
    }
    if (rc == TEMPER_OK && i < n && s[i] == '[') {
        rc = bracket(s, n, &i, ']', &r->archs, &r->archs_len, why);
        i = skip_ws(s, n, i);
    }
    while (rc == TEMPER_OK && i < n && s[i] == '<') {
        const char *prof;
        size_t plen;
        rc = bracket(s, n, &i, '>', &prof, &plen, why); /* build profiles: dropped */
        i = skip_ws(s, n, i);
    }
    *ip = i;
    return rc;
}

int pk_deb_rel_scan(const char *s, size_t n, pk_rel_fn fn, void *ctx, const char **why)
{
    size_t group = 0;
    size_t i = 0;
    *why = NULL;
    for (;;) {
        i = skip_ws(s, n, i);
        if (i >= n) {
            return TEMPER_OK;
        }
        if (s[i] == ',') { /* empty group */
            i++;
            continue;
        }
        for (;;) {
            struct pk_rel r;
            int rc = deb_alt(s, n, &i, &r, why);
            if (rc != TEMPER_OK) {
                return rc;
            }
            r.group = group;
            rc = fn(ctx, &r);
            if (rc != TEMPER_OK) {
                return rc;
            }
            if (i < n && s[i] == '|') {
                i = skip_ws(s, n, i + 1);
                continue;
            }
            break;
        }
        if (i < n && s[i] != ',') {
            *why = "expected ',' or '|'";
            return TEMPER_EFORMAT;
        }
        group++;
    }
}

static int apk_op(const char *s, size_t n, size_t *ip, enum temper_dep_op *op)
{
    static const struct { const char *t; size_t len; enum temper_dep_op op; } ops[] = {
        { "><", 2, TEMPER_DEP_CHECKSUM }, { "<=", 2, TEMPER_DEP_LE }, { ">=", 2, TEMPER_DEP_GE },
        { "~=", 2, TEMPER_DEP_FUZZY },    { "=~", 2, TEMPER_DEP_FUZZY },
        { "<", 1, TEMPER_DEP_LT },        { ">", 1, TEMPER_DEP_GT },
        { "=", 1, TEMPER_DEP_EQ },        { "~", 1, TEMPER_DEP_FUZZY },
    };
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        if (n - *ip >= ops[k].len && memcmp(s + *ip, ops[k].t, ops[k].len) == 0) {
            *op = ops[k].op;
            *ip += ops[k].len;
            return TEMPER_OK;
        }
    }
    return TEMPER_EFORMAT;
}

/* Version characters; a checksum ("Q1" + base64) also takes '+', '/', '='. */
static bool apk_ver_char(char c, bool checksum)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '.' || c == '_' || c == '-' || c == '~') {
        return true;
    }
    return checksum && (c == '+' || c == '/' || c == '=');
}

static bool apk_stop(char c)
{
    return ws(c) || c == '<' || c == '>' || c == '=' || c == '~';
}

static bool apk_name_char(char c, bool unused)
{
    (void)unused;
    return (unsigned char)c > 0x20 && (unsigned char)c < 0x7f && c != '!';
}

static bool ws_stop(char c)
{
    return ws(c);
}

/* How one token is read: where it stops, which bytes it may hold. */
struct span_rule {
    bool (*stop)(char c);
    bool (*ok)(char c, bool checksum);
    bool checksum;
    const char *bad;     /* a byte fails ok() */
    const char *empty;   /* nothing before the stop */
};

static int apk_span(const char *s, size_t n, size_t *ip, const struct span_rule *rule,
                    const char **tok, size_t *len, const char **why)
{
    size_t b = *ip, i = *ip;
    while (i < n && !rule->stop(s[i])) {
        if (!rule->ok(s[i], rule->checksum)) {
            *why = rule->bad;
            return TEMPER_EFORMAT;
        }
        i++;
    }
    if (i == b) {
        *why = rule->empty;
        return TEMPER_EFORMAT;
    }
    *tok = s + b;
    *len = i - b;
    *ip = i;
    return TEMPER_OK;
}

/* One token: [!]name[op version]. */
static int apk_token(const char *s, size_t n, size_t *ip, struct pk_rel *r, const char **why)
{
    static const struct span_rule name = { apk_stop, apk_name_char, false,
                                           "bad character in dependency name",
                                           "expected a package name" };
    size_t i = *ip;
    memset(r, 0, sizeof *r);
    if (s[i] == '!') {
        r->conflict = true;
        i++;
    }
    int rc = apk_span(s, n, &i, &name, &r->name, &r->name_len, why);
    if (rc == TEMPER_OK && i < n && !ws(s[i])) {
        if (apk_op(s, n, &i, &r->op) != TEMPER_OK) {
            *why = "bad version operator";
            return TEMPER_EFORMAT;
        }
        struct span_rule ver = { ws_stop, apk_ver_char, r->op == TEMPER_DEP_CHECKSUM,
                                 "bad character in version", "missing version" };
        rc = apk_span(s, n, &i, &ver, &r->ver, &r->ver_len, why);
    }
    *ip = i;
    return rc;
}

int pk_apk_rel_scan(const char *s, size_t n, pk_rel_fn fn, void *ctx, const char **why)
{
    size_t group = 0;
    size_t i = 0;
    *why = NULL;
    for (;;) {
        i = skip_ws(s, n, i);
        if (i >= n) {
            return TEMPER_OK;
        }
        struct pk_rel r;
        int rc = apk_token(s, n, &i, &r, why);
        if (rc != TEMPER_OK) {
            return rc;
        }
        r.group = group++;
        rc = fn(ctx, &r);
        if (rc != TEMPER_OK) {
            return rc;
        }
    }
}

/* ---- public parse into struct temper_deps --------------------------------- */

struct build {
    struct temper_buf text;   /* strings, NUL-separated */
    struct temper_dep *v;     /* string members hold offsets + 1 until fixed up */
    size_t n, cap;
    size_t n_groups;
};

static int put_str(struct build *b, const char *s, size_t len, const char **slot)
{
    if (!s) {
        *slot = NULL;
        return TEMPER_OK;
    }
    size_t off = b->text.len + 1;
    int rc = temper_buf_append(&b->text, s, len);
    if (rc == TEMPER_OK) {
        rc = temper_buf_append(&b->text, "", 1);
    }
    *slot = (const char *)(uintptr_t)off; /* fixed up once the text stops moving */
    return rc;
}

static int build_add(void *ctx, const struct pk_rel *r)
{
    struct build *b = ctx;
    if (b->n >= DEPS_MAX) {
        return TEMPER_ELIMIT;
    }
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 8;
        struct temper_dep *nv = realloc(b->v, nc * sizeof *nv);
        if (!nv) {
            return TEMPER_ENOMEM;
        }
        b->v = nv;
        b->cap = nc;
    }
    struct temper_dep *d = &b->v[b->n++];
    memset(d, 0, sizeof *d);
    d->op = r->op;
    d->conflict = r->conflict;
    d->group = r->group;
    b->n_groups = r->group + 1;
    int rc = put_str(b, r->name, r->name_len, &d->name);
    if (rc == TEMPER_OK) {
        rc = put_str(b, r->arch, r->arch_len, &d->arch);
    }
    if (rc == TEMPER_OK) {
        rc = put_str(b, r->ver, r->ver_len, &d->version);
    }
    if (rc == TEMPER_OK) {
        rc = put_str(b, r->archs, r->archs_len, &d->archs);
    }
    return rc;
}

static const char *fix(const char *base, const char *off)
{
    return off ? base + ((uintptr_t)off - 1) : NULL;
}

static int deps_parse(struct temper_stage *st, const char *text, int apk,
                      struct temper_deps **out)
{
    *out = NULL;
    struct build b;
    memset(&b, 0, sizeof b);
    temper_buf_init(&b.text, 0);
    const char *why = NULL;
    size_t n = strlen(text);
    int rc = apk ? pk_apk_rel_scan(text, n, build_add, &b, &why)
                 : pk_deb_rel_scan(text, n, build_add, &b, &why);
    struct temper_deps *d = NULL;
    if (rc == TEMPER_OK) {
        d = calloc(1, sizeof *d);
        rc = d ? TEMPER_OK : TEMPER_ENOMEM;
    }
    if (rc == TEMPER_OK) {
        d->text = temper_buf_take(&b.text, NULL);
        rc = d->text ? TEMPER_OK : TEMPER_ENOMEM;
    }
    if (rc != TEMPER_OK) {
        free(d ? d->text : NULL);
        free(d);
        free(b.v);
        temper_buf_cleanup(&b.text);
        if (rc == TEMPER_EFORMAT) {
            char shown[201];
            size_t k = 0;
            for (; text[k] && k < sizeof shown - 1; k++) { /* no control bytes in logs */
                unsigned char c = (unsigned char)text[k];
                shown[k] = c < 0x20 || c == 0x7f ? '?' : (char)c;
            }
            shown[k] = '\0';
            return temper_fail(st, rc, "bad relation \"%s\": %s", shown, why ? why : "?");
        }
        return temper_fail(st, rc, "cannot parse relation: %s", temper_rc_str(rc));
    }
    for (size_t i = 0; i < b.n; i++) {
        b.v[i].name = fix(d->text, b.v[i].name);
        b.v[i].arch = fix(d->text, b.v[i].arch);
        b.v[i].version = fix(d->text, b.v[i].version);
        b.v[i].archs = fix(d->text, b.v[i].archs);
    }
    d->v = b.v;
    d->n = b.n;
    d->n_groups = b.n_groups;
    temper_buf_cleanup(&b.text);
    *out = d;
    return TEMPER_OK;
}

int temper_deb_deps_parse(struct temper_stage *st, const char *text, struct temper_deps **out)
{
    return deps_parse(st, text, 0, out);
}

int temper_apk_deps_parse(struct temper_stage *st, const char *text, struct temper_deps **out)
{
    return deps_parse(st, text, 1, out);
}

void temper_deps_free(struct temper_deps *d)
{
    if (!d) {
        return;
    }
    free(d->v);
    free(d->text);
    free(d);
}

/* ---- architecture restrictions ---------------------------------------------- */

/* Does wildcard or name `w` (len n) match Debian arch `arch`?  Linux only:
 * "any", "linux-any", "any-<cpu>", "linux-<cpu>" and exact names. */
static bool arch_match(const char *w, size_t n, const char *arch)
{
    size_t al = strlen(arch);
    if ((n == 3 && memcmp(w, "any", 3) == 0) || (n == 9 && memcmp(w, "linux-any", 9) == 0)) {
        return true;
    }
    if (n == al && memcmp(w, arch, n) == 0) {
        return true;
    }
    if (n > 4 && memcmp(w, "any-", 4) == 0) {
        return n - 4 == al && memcmp(w + 4, arch, al) == 0;
    }
    if (n > 6 && memcmp(w, "linux-", 6) == 0) {
        return n - 6 == al && memcmp(w + 6, arch, al) == 0;
    }
    return false;
}

bool temper_dep_arch_ok(const struct temper_dep *d, const char *arch)
{
    if (!d->archs) {
        return true;
    }
    const char *s = d->archs;
    bool any_positive = false, matched_pos = false, matched_neg = false;
    while (*s) {
        while (*s && ws(*s)) {
            s++;
        }
        if (!*s) {
            break;
        }
        bool neg = *s == '!';
        s += neg;
        const char *w = s;
        while (*s && !ws(*s)) {
            s++;
        }
        bool m = arch_match(w, (size_t)(s - w), arch);
        if (neg) {
            matched_neg |= m;
        } else {
            any_positive = true;
            matched_pos |= m;
        }
    }
    return any_positive ? matched_pos : !matched_neg;
}

/* ---- version constraints ------------------------------------------------------ */

bool temper_dep_version_ok(enum temper_vscheme scheme, const struct temper_dep *d,
                           const char *version)
{
    if (d->op == TEMPER_DEP_ANY) {
        return true;
    }
    if (!version || !d->version || d->op == TEMPER_DEP_CHECKSUM) {
        return false;
    }
    if (d->op == TEMPER_DEP_FUZZY) {
        size_t n = strlen(d->version);
        if (strncmp(version, d->version, n) != 0) {
            return false;
        }
        char next = version[n], last = n ? d->version[n - 1] : '.';
        return next == '\0' || !(next >= '0' && next <= '9' && last >= '0' && last <= '9');
    }
    int c = temper_version_cmp(scheme, version, d->version);
    switch (d->op) {
    case TEMPER_DEP_LT: return c < 0;
    case TEMPER_DEP_LE: return c <= 0;
    case TEMPER_DEP_EQ: return c == 0;
    case TEMPER_DEP_GE: return c >= 0;
    case TEMPER_DEP_GT: return c > 0;
    default: return false;
    }
}

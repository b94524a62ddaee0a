/* temper — Debian Release / InRelease files and RFC 2822 dates.
 *
 * InRelease framing follows apt's rules (apt-pkg/contrib/gpgv.cc): only
 * blank lines may precede "-----BEGIN PGP SIGNED MESSAGE-----" or follow
 * "-----END PGP SIGNATURE-----", body lines starting with '-' must be
 * dash-escaped, and there is exactly one signed message.  Anything else is
 * refused, so the text parsed is the text gpgv checks. */
#include "config.h"
#include "pkgindex_int.h"
#include <temper/buf.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RELEASE_MAX (16u * 1024u * 1024u)   /* bookworm's InRelease: 150 KB */
#define RELEASE_FIELD_MAX RELEASE_MAX
#define RELEASE_FILES_MAX 1000000u

static const char BEGIN_MSG[] = "-----BEGIN PGP SIGNED MESSAGE-----";
static const char BEGIN_SIG[] = "-----BEGIN PGP SIGNATURE-----";
static const char END_SIG[] = "-----END PGP SIGNATURE-----";

/* ---- dates ------------------------------------------------------------------ */

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* Parsers of one date part: NULL on a mismatch (NULL in, NULL out), so a
 * whole date is one chain of calls checked once at the end. */
static const char *num(const char *s, int digits_min, int digits_max, int *out)
{
    int v = 0, k = 0;
    if (!s) {
        return NULL;
    }
    s += strspn(s, " \t");
    while (k < digits_max && s[k] >= '0' && s[k] <= '9') {
        v = v * 10 + (s[k] - '0');
        k++;
    }
    if (k < digits_min) {
        return NULL;
    }
    *out = v;
    return s + k;
}

static const char *colon(const char *s)
{
    return s && *s == ':' ? s + 1 : NULL;
}

static const char *month_of(const char *s, unsigned *m)
{
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    if (!s) {
        return NULL;
    }
    s += strspn(s, " \t");
    for (unsigned i = 0; i < 12; i++) {
        if (strncasecmp(s, names + 3 * i, 3) == 0) {
            *m = i + 1;
            return s + 3;
        }
    }
    return NULL;
}

static bool zone_utc(const char *z)
{
    static const char *const ok[] = { "UTC", "GMT", "UT", "Z", "+0000", "-0000" };
    size_t n = strcspn(z, " \t");
    if (z[n + strspn(z + n, " \t")] != '\0') {
        return false;
    }
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (strlen(ok[i]) == n && strncasecmp(z, ok[i], n) == 0) {
            return true;
        }
    }
    return false;
}

int temper_rfc2822_date_parse(const char *s, long long *out)
{
    static const unsigned char mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int day, year, hh, mm, ss;
    unsigned mon = 0;
    if (!s) {
        return TEMPER_EINVAL;
    }
    s += strspn(s, " \t");
    if (((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) { /* "Sat," */
        const char *c = strchr(s, ',');
        if (!c || c - s != 3) {
            return TEMPER_EFORMAT;
        }
        s = c + 1 + strspn(c + 1, " \t");
    }
    s = num(s, 1, 2, &day);
    s = month_of(s, &mon);
    s = num(s, 4, 4, &year);
    s = num(s, 2, 2, &hh);
    s = num(colon(s), 2, 2, &mm);
    s = num(colon(s), 2, 2, &ss);
    if (!s || (*s != ' ' && *s != '\t')) {
        return TEMPER_EFORMAT;
    }
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day < 1 || day > mdays[mon - 1] || (mon == 2 && day == 29 && !leap) || hh > 23 ||
        mm > 59 || ss > 60 || !zone_utc(s + strspn(s, " \t"))) {
        return TEMPER_EFORMAT;
    }
    *out = days_from_civil(year, mon, (unsigned)day) * 86400 + hh * 3600 + mm * 60 + ss;
    return TEMPER_OK;
}

/* ---- cleartext signature framing ------------------------------------------ */

struct lines {
    const char *p, *end;
    unsigned long no;
};

/* Next line without its "\n" and trailing CR; false at the end. */
static bool next_line(struct lines *l, const char **s, size_t *n)
{
    if (l->p >= l->end) {
        return false;
    }
    const char *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
    const char *e = nl ? nl : l->end;
    *s = l->p;
    *n = (size_t)(e - l->p);
    if (*n && (*s)[*n - 1] == '\r') {
        (*n)--;
    }
    l->p = nl ? nl + 1 : l->end;
    l->no++;
    return true;
}

/* An armor line, compared without trailing blanks. */
static bool is_armor(const char *s, size_t n, const char *what)
{
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    return n == strlen(what) && memcmp(s, what, n) == 0;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t') {
            return false;
        }
    }
    return true;
}

enum cs_state { CS_BEFORE, CS_HEADERS, CS_BODY, CS_SIG, CS_AFTER };

static int cs_line(struct temper_stage *st, const char *name, unsigned long no,
                   enum cs_state *state, const char *s, size_t n, struct temper_buf *body,
                   struct temper_buf *sig)
{
    switch (*state) {
    case CS_BEFORE:
        if (blank(s, n)) {
            return TEMPER_OK;
        }
        if (!is_armor(s, n, BEGIN_MSG)) {
            break;
        }
        *state = CS_HEADERS;
        return TEMPER_OK;
    case CS_HEADERS:
        if (n == 0) {
            *state = CS_BODY;
            return TEMPER_OK;
        }
        if (n > 6 && strncasecmp(s, "Hash: ", 6) == 0) {
            return TEMPER_OK;
        }
        return temper_fail(st, TEMPER_EFORMAT, "%s:%lu: bad armor header", name, no);
    case CS_BODY:
        if (is_armor(s, n, BEGIN_SIG)) {
            *state = CS_SIG;
            return temper_buf_printf(sig, "%.*s\n", (int)n, s);
        }
        if (n && s[0] == '-') {
            if (n < 2 || s[1] != ' ') {
                return temper_fail(st, TEMPER_EFORMAT, "%s:%lu: line starting with '-' is not "
                                   "dash-escaped", name, no);
            }
            s += 2;
            n -= 2;
        }
        if (temper_buf_append(body, s, n) != TEMPER_OK || temper_buf_append(body, "\n", 1)) {
            return TEMPER_ELIMIT;
        }
        return TEMPER_OK;
    case CS_SIG:
        if (is_armor(s, n, END_SIG)) {
            *state = CS_AFTER;
        }
        return temper_buf_printf(sig, "%.*s\n", (int)n, s);
    case CS_AFTER:
        if (blank(s, n)) {
            return TEMPER_OK;
        }
        break;
    }
    return temper_fail(st, TEMPER_EFORMAT, "%s:%lu: data outside the signed message", name, no);
}

int temper_clearsign_split(struct temper_stage *st, const char *name, const char *data,
                           size_t len, char **body, size_t *body_len, char **sig,
                           size_t *sig_len)
{
    unsigned long first = 0;
    return pk_clearsign_split(st, name, data, len, body, body_len, sig, sig_len, &first);
}

int pk_clearsign_split(struct temper_stage *st, const char *name, const char *data, size_t len,
                       char **body, size_t *body_len, char **sig, size_t *sig_len,
                       unsigned long *body_line)
{
    *body_line = 1;
    *body = NULL;
    *body_len = 0;
    if (sig) {
        *sig = NULL;
        *sig_len = 0;
    }
    name = name ? name : "(buffer)";
    if (memchr(data, '\0', len)) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: NUL byte in a signed message", name);
    }
    struct temper_buf b, g;
    temper_buf_init(&b, RELEASE_MAX);
    temper_buf_init(&g, 1024u * 1024u);
    struct lines l = { data, data + len, 0 };
    enum cs_state state = CS_BEFORE;
    const char *s;
    size_t n;
    int rc = TEMPER_OK;
    while (rc == TEMPER_OK && next_line(&l, &s, &n)) {
        enum cs_state before = state;
        rc = cs_line(st, name, l.no, &state, s, n, &b, &g);
        if (before == CS_HEADERS && state == CS_BODY) {
            *body_line = l.no + 1;
        }
        if (rc != TEMPER_OK && rc != TEMPER_EFORMAT) {
            rc = temper_fail(st, rc, "%s:%lu: signed message too large", name, l.no);
        }
    }
    if (rc == TEMPER_OK && state != CS_AFTER) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: %s", name,
                         state == CS_BEFORE ? "not a cleartext-signed message"
                                            : "truncated signed message");
    }
    if (rc == TEMPER_OK) {
        *body_len = b.len;
        *body = temper_buf_take(&b, NULL);
        if (sig) {
            *sig_len = g.len;
            *sig = temper_buf_take(&g, NULL);
        }
        if (!*body || (sig && !*sig)) {
            rc = temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
            TEMPER_FREE(*body);
            if (sig) {
                TEMPER_FREE(*sig);
            }
        }
    }
    temper_buf_cleanup(&b);
    temper_buf_cleanup(&g);
    return rc;
}

/* ---- Release fields ---------------------------------------------------------- */

struct release_box {
    struct temper_release pub;
    struct pk_arena arena;
    struct temper_release_file *files;
    char *body;
    char *sig;
};

static bool path_ok(const char *p, size_t n)
{
    if (n == 0 || p[0] == '/') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        bool start = i == 0 || p[i - 1] == '/';
        if (start && (p[i] == '/' || (p[i] == '.' && i + 1 < n && p[i + 1] == '.' &&
                                      (i + 2 == n || p[i + 2] == '/')))) {
            return false;
        }
    }
    return true;
}

/* One " <sha256> <size> <path>" line. */
static int hash_line(struct release_box *r, const char *s, size_t n,
                     struct temper_release_file *f)
{
    char tok[3][1024];
    size_t k = 0, i = 0;
    while (k < 3) {
        while (i < n && (s[i] == ' ' || s[i] == '\t')) {
            i++;
        }
        size_t b = i;
        while (i < n && s[i] != ' ' && s[i] != '\t') {
            i++;
        }
        if (i == b || i - b >= sizeof tok[k]) {
            return TEMPER_EFORMAT;
        }
        memcpy(tok[k], s + b, i - b);
        tok[k][i - b] = '\0';
        k++;
    }
    while (i < n && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    if (i != n || strlen(tok[0]) != 64 || strspn(tok[0], "0123456789abcdefABCDEF") != 64 ||
        strspn(tok[1], "0123456789") != strlen(tok[1]) || strlen(tok[1]) > 19 ||
        !path_ok(tok[2], strlen(tok[2]))) {
        return TEMPER_EFORMAT;
    }
    for (char *c = tok[0]; *c; c++) {
        *c = (char)(*c | 0x20);
    }
    long long size = 0;
    if (temper_parse_ll(tok[1], &size) != TEMPER_OK || size < 0) {
        return TEMPER_EFORMAT;
    }
    f->sha256 = pk_arena_strndup(&r->arena, tok[0], 64);
    f->path = pk_arena_strndup(&r->arena, tok[2], strlen(tok[2]));
    f->size = (unsigned long long)size;
    return f->sha256 && f->path ? TEMPER_OK : TEMPER_ENOMEM;
}

static int hash_list(struct temper_stage *st, const char *name, struct release_box *r,
                     const struct temper_deb822_field *fl)
{
    size_t lines = 1;
    for (const char *c = fl->value; *c; c++) {
        lines += *c == '\n';
    }
    if (lines > RELEASE_FILES_MAX) {
        return temper_fail(st, TEMPER_ELIMIT, "%s:%lu: more than %u files listed", name,
                           fl->line, RELEASE_FILES_MAX);
    }
    r->files = calloc(lines, sizeof *r->files);
    if (!r->files) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
    }
    const char *s = fl->value;
    unsigned long no = fl->line;
    while (*s) {
        size_t n = strcspn(s, "\n");
        if (!blank(s, n)) {
            int rc = hash_line(r, s, n, &r->files[r->pub.n_files]);
            if (rc != TEMPER_OK) {
                return temper_fail(st, rc, "%s:%lu: %s", name, no,
                                   rc == TEMPER_ENOMEM ? "out of memory" : "bad SHA256 line");
            }
            r->pub.n_files++;
        }
        s += n + (s[n] == '\n');
        no++;
    }
    r->pub.files = r->files;
    return TEMPER_OK;
}

static int date_field(struct temper_stage *st, const char *name, struct release_box *r,
                      const struct temper_deb822_field *fl, const char **text, long long *t)
{
    *text = pk_arena_strndup(&r->arena, fl->value, fl->value_len);
    if (!*text) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
    }
    if (temper_rfc2822_date_parse(fl->value, t) != TEMPER_OK) {
        return temper_fail(st, TEMPER_EFORMAT, "%s:%lu: bad %s \"%.64s\" (want \"Sat, 10 Jun "
                           "2023 08:54:04 UTC\")", name, fl->line, fl->name, fl->value);
    }
    return TEMPER_OK;
}

static int release_fields(struct temper_stage *st, const char *name, struct release_box *r,
                          const struct temper_deb822_stanza *s)
{
    struct temper_release *p = &r->pub;
    static const struct { const char *f; size_t off; } text[] = {
        { "Origin", offsetof(struct temper_release, origin) },
        { "Label", offsetof(struct temper_release, label) },
        { "Suite", offsetof(struct temper_release, suite) },
        { "Version", offsetof(struct temper_release, version) },
        { "Codename", offsetof(struct temper_release, codename) },
        { "Architectures", offsetof(struct temper_release, architectures) },
        { "Components", offsetof(struct temper_release, components) },
        { "Description", offsetof(struct temper_release, description) },
    };
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        const struct temper_deb822_field *fl = temper_deb822_get(s, text[i].f);
        if (!fl) {
            continue;
        }
        const char *v = pk_arena_strndup(&r->arena, fl->value, fl->value_len);
        if (!v) {
            return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
        }
        memcpy((char *)p + text[i].off, &v, sizeof v);
    }
    const struct temper_deb822_field *fl = temper_deb822_get(s, "Date");
    int rc = fl ? date_field(st, name, r, fl, &p->date_text, &p->date) : TEMPER_OK;
    fl = temper_deb822_get(s, "Valid-Until");
    if (rc == TEMPER_OK && fl) {
        rc = date_field(st, name, r, fl, &p->valid_until_text, &p->valid_until);
    }
    fl = temper_deb822_get(s, "Acquire-By-Hash");
    p->acquire_by_hash = fl && strcasecmp(fl->value, "yes") == 0;
    fl = temper_deb822_get(s, "SHA256");
    if (rc == TEMPER_OK && fl) {
        rc = hash_list(st, name, r, fl);
    }
    return rc;
}

static int release_body(struct temper_stage *st, const char *name, struct release_box *r,
                        unsigned long first_line)
{
    struct temper_pkgindex_limits lim;
    temper_pkgindex_limits_default(&lim);
    lim.max_field = RELEASE_FIELD_MAX;
    lim.max_stanza = RELEASE_MAX;
    lim.max_stanzas = 2;
    struct temper_deb822 *p = NULL;
    int rc = temper_deb822_open_mem(st, name, r->pub.signed_text, r->pub.signed_len, &lim, 0,
                                    &p);
    const struct temper_deb822_stanza *s = NULL;
    if (rc == TEMPER_OK) {
        pk_deb822_first_line(p, first_line);
        rc = temper_deb822_next(p, &s);
    }
    if (rc == TEMPER_OK && !s) {
        rc = temper_fail(st, TEMPER_EFORMAT, "%s: empty Release file", name);
    }
    if (rc == TEMPER_OK) {
        rc = release_fields(st, name, r, s);
    }
    if (rc == TEMPER_OK) {
        const struct temper_deb822_stanza *extra = NULL;
        rc = temper_deb822_next(p, &extra);
        if (rc == TEMPER_OK && extra) {
            rc = temper_fail(st, TEMPER_EFORMAT, "%s:%lu: more than one paragraph in a "
                             "Release file", name, extra->line);
        }
    }
    temper_deb822_free(p);
    return rc;
}

/* An InRelease starts with the armor line; a file that holds one anywhere
 * is treated as one too, so that text around it is refused as such. */
static bool is_clearsigned(const char *data, size_t len)
{
    size_t i = 0;
    while (i < len && (data[i] == '\n' || data[i] == '\r' || data[i] == ' ' ||
                       data[i] == '\t')) {
        i++;
    }
    return (len - i >= 5 && memcmp(data + i, "-----", 5) == 0) ||
           memmem(data, len, BEGIN_MSG, sizeof BEGIN_MSG - 1) != NULL;
}

int temper_release_parse(struct temper_stage *st, const char *name, const void *data,
                         size_t len, struct temper_release **out)
{
    *out = NULL;
    name = name ? name : "(buffer)";
    if (len > RELEASE_MAX) {
        return temper_fail(st, TEMPER_ELIMIT, "%s: Release file larger than %u bytes", name,
                           RELEASE_MAX);
    }
    struct release_box *r = calloc(1, sizeof *r);
    if (!r) {
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
    }
    pk_arena_init(&r->arena, 0);
    r->pub.date = -1;
    r->pub.valid_until = -1;
    int rc = TEMPER_OK;
    size_t body_len = 0, sig_len = 0;
    unsigned long first_line = 1;
    if (is_clearsigned(data, len)) {
        rc = pk_clearsign_split(st, name, data, len, &r->body, &body_len, &r->sig, &sig_len,
                                &first_line);
        r->pub.clearsigned = true;
    } else {
        r->body = malloc(len + 1);
        if (r->body) {
            memcpy(r->body, data, len);
            r->body[len] = '\0';
            body_len = len;
        } else {
            rc = temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
        }
    }
    r->pub.signed_text = r->body;
    r->pub.signed_len = body_len;
    r->pub.signature = r->sig;
    r->pub.signature_len = sig_len;
    if (rc == TEMPER_OK) {
        rc = release_body(st, name, r, first_line);
    }
    if (rc != TEMPER_OK) {
        temper_release_free(&r->pub);
        return rc;
    }
    *out = &r->pub;
    return TEMPER_OK;
}

int temper_release_load(struct temper_stage *st, const char *path, struct temper_release **out)
{
    *out = NULL;
    char *data = NULL;
    size_t len = 0;
    int rc = temper_pkgindex_read(st, path, RELEASE_MAX, &data, &len);
    if (rc == TEMPER_OK) {
        rc = temper_release_parse(st, path, data, len, out);
    }
    free(data);
    return rc;
}

void temper_release_free(struct temper_release *pub)
{
    if (!pub) {
        return;
    }
    struct release_box *r = (struct release_box *)pub;
    pk_arena_cleanup(&r->arena);
    free(r->files);
    free(r->body);
    free(r->sig);
    free(r);
}

const struct temper_release_file *temper_release_find(const struct temper_release *r,
                                                      const char *path)
{
    if (!r || !path) {
        return NULL;
    }
    for (size_t i = 0; i < r->n_files; i++) {
        if (strcmp(r->files[i].path, path) == 0) {
            return &r->files[i];
        }
    }
    return NULL;
}

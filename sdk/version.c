/* temper — version ordering: semver 2.0.0 (with a natural-order fallback),
 * dpkg (deb-version(7)) and apk (apk-tools 2.14).  See include/temper/version.h
 * for the exact rules; every function here reads its input once, never writes
 * it, never allocates, and compares digit runs of any length exactly (digit
 * strings are compared by length after leading zeros, never converted). */
#include <temper/version.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_lower(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}

static int is_alpha(unsigned char c)
{
    return is_lower(c) || (c >= 'A' && c <= 'Z');
}

static int is_alnum(unsigned char c)
{
    return is_alpha(c) || is_digit(c);
}

static size_t span_digits(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && is_digit((unsigned char)s[n])) {
        n++;
    }
    return n;
}

/* Numeric comparison of two digit strings of any length. */
static int cmp_digits(const char *a, size_t alen, const char *b, size_t blen)
{
    while (alen > 0 && *a == '0') {
        a++;
        alen--;
    }
    while (blen > 0 && *b == '0') {
        b++;
        blen--;
    }
    if (alen != blen) {
        return alen < blen ? -1 : 1;
    }
    return alen ? sign(memcmp(a, b, alen)) : 0;
}

/* Byte-wise comparison, a proper prefix sorts first. */
static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0) {
        return sign(c);
    }
    return alen == blen ? 0 : alen < blen ? -1 : 1;
}

/* ---- semver 2.0.0 ------------------------------------------------------- */

struct semver {
    const char *num[3];
    size_t num_len[3];
    const char *pre; /* after '-', NULL if none */
    size_t pre_len;
};

/* One dot-separated identifier list; numeric identifiers must not have leading
 * zeros when `strict_numeric`.  Returns the length consumed, 0 if invalid. */
static size_t semver_idents(const char *s, int strict_numeric)
{
    size_t i = 0;
    for (;;) {
        size_t start = i;
        int all_digits = 1;
        while (is_alnum((unsigned char)s[i]) || s[i] == '-') {
            all_digits &= is_digit((unsigned char)s[i]);
            i++;
        }
        if (i == start) {
            return 0;
        }
        if (strict_numeric && all_digits && i - start > 1 && s[start] == '0') {
            return 0;
        }
        if (s[i] != '.') {
            return i;
        }
        i++;
    }
}

static int semver_parse(const char *v, struct semver *sv)
{
    if (!v) {
        return 0;
    }
    const char *p = v[0] == 'v' ? v + 1 : v;
    memset(sv, 0, sizeof *sv);
    for (int k = 0; k < 3; k++) {
        size_t n = span_digits(p, SIZE_MAX);
        if (n == 0 || (n > 1 && p[0] == '0')) {
            return 0;
        }
        sv->num[k] = p;
        sv->num_len[k] = n;
        p += n;
        if (k < 2) {
            if (*p != '.') {
                return 0;
            }
            p++;
        }
    }
    if (*p == '-') {
        size_t n = semver_idents(p + 1, 1);
        if (n == 0) {
            return 0;
        }
        sv->pre = p + 1;
        sv->pre_len = n;
        p += 1 + n;
    }
    if (*p == '+') {
        size_t n = semver_idents(p + 1, 0);
        if (n == 0) {
            return 0;
        }
        p += 1 + n;
    }
    return *p == '\0';
}

/* Pre-release precedence (both present). */
static int semver_pre_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0, j = 0;
    for (;;) {
        if (i >= alen || j >= blen) {
            return (i < alen) - (j < blen);
        }
        size_t ie = i, je = j;
        while (ie < alen && a[ie] != '.') {
            ie++;
        }
        while (je < blen && b[je] != '.') {
            je++;
        }
        size_t an = span_digits(a + i, ie - i), bn = span_digits(b + j, je - j);
        int anum = an == ie - i, bnum = bn == je - j;
        int c;
        if (anum && bnum) {
            c = cmp_digits(a + i, an, b + j, bn);
        } else if (anum != bnum) {
            c = anum ? -1 : 1; /* numeric identifiers sort first */
        } else {
            c = cmp_bytes(a + i, ie - i, b + j, je - j);
        }
        if (c != 0) {
            return c;
        }
        i = ie + 1;
        j = je + 1;
    }
}

static int semver_strict_cmp(const struct semver *a, const struct semver *b)
{
    for (int k = 0; k < 3; k++) {
        int c = cmp_digits(a->num[k], a->num_len[k], b->num[k], b->num_len[k]);
        if (c != 0) {
            return c;
        }
    }
    if (!a->pre || !b->pre) {
        return (a->pre == NULL) - (b->pre == NULL);
    }
    return semver_pre_cmp(a->pre, a->pre_len, b->pre, b->pre_len);
}

/* ---- natural order (non-semver tags) ------------------------------------ */

static const char *skip_v(const char *s)
{
    if ((s[0] == 'v' || s[0] == 'V') && is_digit((unsigned char)s[1])) {
        return s + 1;
    }
    return s;
}

/* Does a pre-release part start here ("-rc1", ".beta2", "rc1", "~anything")? */
static int natural_pre_start(const char *s)
{
    static const char *const words[] = { "alpha", "beta", "dev", "pre", "preview",
                                         "rc", "snapshot" };
    if (s[0] == '~') {
        return 1;
    }
    if (s[0] == '-' || s[0] == '_' || s[0] == '.') {
        s++;
    }
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        size_t n = strlen(words[w]);
        size_t i = 0;
        while (i < n && s[i] && (s[i] | 0x20) == words[w][i]) {
            i++;
        }
        if (i == n && !is_alpha((unsigned char)s[n])) {
            return 1;
        }
    }
    return 0;
}

/* Length of the release part: up to the first pre-release marker, looked for
 * at a separator or where letters follow a digit. */
static size_t natural_release_len(const char *s)
{
    size_t i = 1;
    if (!s[0]) {
        return 0;
    }
    for (; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        int boundary = c == '-' || c == '_' || c == '.' || c == '~' ||
                       (is_alpha(c) && is_digit((unsigned char)s[i - 1]));
        if (boundary && natural_pre_start(s + i)) {
            break;
        }
    }
    return i;
}

/* Lexicographic order over runs: digit runs by value, other runs by bytes,
 * a digit run before a non-digit run, a proper prefix first. */
static int natural_runs_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0, j = 0;
    while (i < alen && j < blen) {
        int ad = is_digit((unsigned char)a[i]), bd = is_digit((unsigned char)b[j]);
        if (ad != bd) {
            return ad ? -1 : 1;
        }
        size_t ie = i, je = j;
        while (ie < alen && is_digit((unsigned char)a[ie]) == ad) {
            ie++;
        }
        while (je < blen && is_digit((unsigned char)b[je]) == bd) {
            je++;
        }
        int c = ad ? cmp_digits(a + i, ie - i, b + j, je - j)
                   : cmp_bytes(a + i, ie - i, b + j, je - j);
        if (c != 0) {
            return c;
        }
        i = ie;
        j = je;
    }
    return (i < alen) - (j < blen);
}

static int natural_cmp(const char *a, const char *b)
{
    a = skip_v(a);
    b = skip_v(b);
    size_t ar = natural_release_len(a), br = natural_release_len(b);
    int c = natural_runs_cmp(a, ar, b, br);
    if (c != 0) {
        return c;
    }
    if (!a[ar] || !b[br]) {
        return (a[ar] == '\0') - (b[br] == '\0'); /* a release after its pre-releases */
    }
    a += ar + (a[ar] != '~' && a[ar] != '-' && a[ar] != '_' && a[ar] != '.' ? 0 : 1);
    b += br + (b[br] != '~' && b[br] != '-' && b[br] != '_' && b[br] != '.' ? 0 : 1);
    return natural_runs_cmp(a, strlen(a), b, strlen(b));
}

bool temper_semver_valid(const char *v)
{
    struct semver sv;
    return semver_parse(v, &sv) != 0;
}

int temper_semver_cmp(const char *a, const char *b)
{
    if (!a || !b) {
        return (a != NULL) - (b != NULL);
    }
    struct semver sa, sb;
    if (semver_parse(a, &sa) && semver_parse(b, &sb)) {
        return semver_strict_cmp(&sa, &sb);
    }
    return natural_cmp(a, b);
}

static int parse_part(const char **p, long long *out)
{
    size_t n = span_digits(*p, SIZE_MAX);
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = (*p)[i] - '0';
        if (v > (LLONG_MAX - d) / 10) {
            return TEMPER_EFORMAT;
        }
        v = v * 10 + d;
    }
    *p += n;
    *out = v;
    return TEMPER_OK;
}

int temper_semver_parts(const char *v, long long *major, long long *minor,
                        long long *patch)
{
    long long part[3] = { 0, 0, 0 };
    if (!v) {
        return TEMPER_EINVAL;
    }
    const char *p = skip_v(v);
    if (!is_digit((unsigned char)*p)) {
        return TEMPER_EFORMAT;
    }
    for (int k = 0; k < 3; k++) {
        if (parse_part(&p, &part[k]) != TEMPER_OK) {
            return TEMPER_EFORMAT;
        }
        if (p[0] != '.' || !is_digit((unsigned char)p[1])) {
            break;
        }
        p++;
    }
    if (major) {
        *major = part[0];
    }
    if (minor) {
        *minor = part[1];
    }
    if (patch) {
        *patch = part[2];
    }
    return TEMPER_OK;
}

/* ---- dpkg --------------------------------------------------------------- */

struct dpkg_ver {
    const char *epoch, *up, *rev;
    size_t epoch_len, up_len, rev_len;
};

/* Split [epoch:]upstream[-revision]: epoch is what precedes the first ':',
 * the revision what follows the last '-' (Dpkg::Version does the same). */
static void dpkg_split(const char *s, struct dpkg_ver *v)
{
    const char *colon = strchr(s, ':');
    v->epoch = s;
    v->epoch_len = 0;
    if (colon) {
        v->epoch_len = (size_t)(colon - s);
        s = colon + 1;
    }
    const char *hyphen = strrchr(s, '-');
    v->up = s;
    v->up_len = hyphen ? (size_t)(hyphen - s) : strlen(s);
    v->rev = hyphen ? hyphen + 1 : s + v->up_len;
    v->rev_len = strlen(v->rev);
}

/* dpkg's order(): '~' before the end, the end before letters, letters before
 * everything else.  `c` is -1 at the end of the string. */
static int dpkg_order(int c)
{
    if (c < 0 || is_digit((unsigned char)c)) {
        return 0;
    }
    if (is_alpha((unsigned char)c)) {
        return c;
    }
    if (c == '~') {
        return -1;
    }
    return c + 256;
}

static int dpkg_verrevcmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0, j = 0;
    while (i < alen || j < blen) {
        while ((i < alen && !is_digit((unsigned char)a[i])) ||
               (j < blen && !is_digit((unsigned char)b[j]))) {
            int ac = dpkg_order(i < alen ? (unsigned char)a[i] : -1);
            int bc = dpkg_order(j < blen ? (unsigned char)b[j] : -1);
            if (ac != bc) {
                return ac < bc ? -1 : 1;
            }
            i += i < alen && !is_digit((unsigned char)a[i]);
            j += j < blen && !is_digit((unsigned char)b[j]);
        }
        size_t an = span_digits(a + i, alen - i), bn = span_digits(b + j, blen - j);
        int c = cmp_digits(a + i, an, b + j, bn);
        if (c != 0) {
            return c;
        }
        i += an;
        j += bn;
    }
    return 0;
}

int temper_dpkg_cmp(const char *a, const char *b)
{
    if (!a || !b) {
        return (a != NULL) - (b != NULL);
    }
    struct dpkg_ver va, vb;
    dpkg_split(a, &va);
    dpkg_split(b, &vb);
    int c = dpkg_verrevcmp(va.epoch, va.epoch_len, vb.epoch, vb.epoch_len);
    if (c == 0) {
        c = dpkg_verrevcmp(va.up, va.up_len, vb.up, vb.up_len);
    }
    if (c == 0) {
        c = dpkg_verrevcmp(va.rev, va.rev_len, vb.rev, vb.rev_len);
    }
    return c;
}

static int dpkg_chars_ok(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum(c) && (c == '\0' || !strchr(extra, c))) {
            return 0;
        }
    }
    return 1;
}

bool temper_dpkg_valid(const char *v)
{
    if (!v || !*v) {
        return false;
    }
    struct dpkg_ver d;
    dpkg_split(v, &d);
    if (d.epoch != d.up) { /* there is an epoch */
        size_t n = span_digits(d.epoch, d.epoch_len);
        if (n == 0 || n != d.epoch_len ||
            cmp_digits(d.epoch, n, "2147483647", 10) > 0) {
            return false;
        }
    }
    if (d.up_len == 0 || !is_digit((unsigned char)d.up[0]) ||
        !dpkg_chars_ok(d.up, d.up_len, ".+~:-")) {
        return false;
    }
    if (d.rev != d.up + d.up_len && d.rev_len == 0) {
        return false; /* "1.0-": empty revision */
    }
    return dpkg_chars_ok(d.rev, d.rev_len, ".+~") != 0;
}

/* ---- apk (apk-tools 2.14 version.c semantics) -------------------------- */

enum apk_tok {
    APK_INITIAL_DIGIT,
    APK_DIGIT,
    APK_LETTER,
    APK_SUFFIX,
    APK_SUFFIX_NO,
    APK_REVISION_NO,
    APK_END,
    APK_INVALID
};

/* Suffix ranks: pre-release suffixes below NONE, post-release above. */
enum apk_suffix {
    APK_SUF_INVALID,
    APK_SUF_ALPHA,
    APK_SUF_BETA,
    APK_SUF_PRE,
    APK_SUF_RC,
    APK_SUF_NONE,
    APK_SUF_CVS,
    APK_SUF_SVN,
    APK_SUF_GIT,
    APK_SUF_HG,
    APK_SUF_P
};

struct apk_token {
    enum apk_tok type;
    enum apk_suffix suffix;
    const char *val;
    size_t len;
    const char *p; /* rest of the string */
};

static enum apk_suffix apk_suffix_value(const char *s, size_t n)
{
    static const char *const names[] = { "", "alpha", "beta", "pre", "rc", "",
                                         "cvs", "svn", "git", "hg", "p" };
    if (n == 0) {
        return APK_SUF_NONE; /* "_" alone: accepted by apk-tools 2.14 */
    }
    for (size_t k = APK_SUF_ALPHA; k <= APK_SUF_P; k++) {
        if (k != APK_SUF_NONE && strlen(names[k]) == n && memcmp(names[k], s, n) == 0) {
            return (enum apk_suffix)k;
        }
    }
    return APK_SUF_INVALID;
}

static void apk_first(struct apk_token *t, const char *s)
{
    t->val = s;
    t->len = span_digits(s, SIZE_MAX);
    t->p = s + t->len;
    t->suffix = APK_SUF_NONE;
    t->type = t->len ? APK_INITIAL_DIGIT : APK_INVALID;
}

static void apk_next_digits(struct apk_token *t)
{
    t->val = t->p;
    t->len = span_digits(t->p, SIZE_MAX);
    t->p += t->len;
    if (t->type == APK_SUFFIX) {
        t->type = APK_SUFFIX_NO;
    } else if (t->type == APK_INITIAL_DIGIT || t->type == APK_DIGIT) {
        t->type = APK_DIGIT;
    } else {
        t->type = APK_INVALID;
    }
}

static void apk_next(struct apk_token *t)
{
    const char *start = t->p;
    unsigned char c = (unsigned char)*t->p;
    if (c == '\0') {
        t->type = APK_END;
    } else if (is_lower(c) && t->type <= APK_DIGIT) {
        t->val = t->p++;
        t->len = 1;
        t->type = APK_LETTER;
    } else if (c == '.' && t->type <= APK_DIGIT) {
        t->p++;
        apk_next_digits(t);
    } else if (is_digit(c)) {
        apk_next_digits(t);
    } else if (c == '_' && t->type <= APK_SUFFIX_NO) {
        t->val = ++t->p;
        t->len = 0;
        while (is_lower((unsigned char)t->p[0])) {
            t->p++;
            t->len++;
        }
        t->suffix = apk_suffix_value(t->val, t->len);
        t->type = t->suffix == APK_SUF_INVALID ? APK_INVALID : APK_SUFFIX;
    } else if (c == '-' && t->p[1] == 'r' && t->type < APK_REVISION_NO) {
        t->p += 2;
        t->val = t->p;
        t->len = span_digits(t->p, SIZE_MAX);
        t->p += t->len;
        t->type = APK_REVISION_NO;
    } else {
        t->type = APK_INVALID;
    }
    if (t->type == APK_INVALID) {
        t->p = start; /* keep the unparsed rest for the tie-break */
    }
}

static int apk_token_cmp(const struct apk_token *a, const struct apk_token *b)
{
    switch (a->type) {
    case APK_DIGIT:
        if ((a->len && a->val[0] == '0') || (b->len && b->val[0] == '0')) {
            /* a leading zero makes the component a fraction: 1.001 < 1.01 */
            return cmp_bytes(a->val, a->len, b->val, b->len);
        }
        return cmp_digits(a->val, a->len, b->val, b->len);
    case APK_INITIAL_DIGIT:
    case APK_SUFFIX_NO:
    case APK_REVISION_NO:
        return cmp_digits(a->val, a->len, b->val, b->len);
    case APK_LETTER:
        return sign((unsigned char)a->val[0] - (unsigned char)b->val[0]);
    case APK_SUFFIX:
        return sign((int)a->suffix - (int)b->suffix);
    default:
        return 0;
    }
}

int temper_apk_cmp(const char *a, const char *b)
{
    if (!a || !b) {
        return (a != NULL) - (b != NULL);
    }
    struct apk_token ta, tb;
    apk_first(&ta, a);
    apk_first(&tb, b);
    while (ta.type == tb.type && ta.type < APK_END) {
        int c = apk_token_cmp(&ta, &tb);
        if (c != 0) {
            return c;
        }
        apk_next(&ta);
        apk_next(&tb);
    }
    if (ta.type == tb.type) {
        /* apk-tools calls two versions equal here; when both went invalid at
         * the same point we order the unparsed rest by bytes instead. */
        return ta.type == APK_INVALID ? sign(strcmp(ta.p, tb.p)) : 0;
    }
    if (ta.type == APK_SUFFIX && ta.suffix < APK_SUF_NONE) {
        return -1;
    }
    if (tb.type == APK_SUFFIX && tb.suffix < APK_SUF_NONE) {
        return 1;
    }
    return ta.type > tb.type ? -1 : 1;
}

bool temper_apk_valid(const char *v)
{
    if (!v) {
        return false;
    }
    struct apk_token t;
    for (apk_first(&t, v); t.type < APK_END; apk_next(&t)) {
        continue;
    }
    return t.type == APK_END;
}

/* ---- dispatch ----------------------------------------------------------- */

int temper_version_cmp(enum temper_vscheme scheme, const char *a, const char *b)
{
    switch (scheme) {
    case TEMPER_VSCHEME_DPKG:
        return temper_dpkg_cmp(a, b);
    case TEMPER_VSCHEME_APK:
        return temper_apk_cmp(a, b);
    case TEMPER_VSCHEME_SEMVER:
    default:
        return temper_semver_cmp(a, b);
    }
}

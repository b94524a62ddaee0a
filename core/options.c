/* temper — option tables applied to INI sections (see options.h). */
#include "config.h"
#include "options.h"
#include <temper/buf.h>
#include <temper/log.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_MAX 4096          /* entries of one list */
#define SHOWN_MAX 64           /* bytes of a value quoted in a message */

/* ---- fields ------------------------------------------------------------ */

static void *field(const struct temper_option *o, void *conf)
{
    return (char *)conf + o->offset;
}

static int is_listish(const struct temper_option *o)
{
    return o->type == TEMPER_OPT_LIST ||
           ((o->flags & TEMPER_OPT_MULTI) &&
            (o->type == TEMPER_OPT_STR || o->type == TEMPER_OPT_PATH));
}

static void strlist_free(struct temper_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Make sure the list has its NULL sentinel even when empty. */
static int strlist_touch(struct temper_strlist *l)
{
    if (l->v) {
        return TEMPER_OK;
    }
    l->v = calloc(1, sizeof *l->v);
    return l->v ? TEMPER_OK : TEMPER_ENOMEM;
}

/* Takes `s` even on error. */
static int strlist_push(struct temper_strlist *l, char *s, char **why)
{
    if (!s) {
        return TEMPER_ENOMEM;
    }
    if (l->n >= LIST_MAX) {
        free(s);
        *why = temper_strdupf("more than %d values", LIST_MAX);
        return *why ? TEMPER_EINVAL : TEMPER_ENOMEM;
    }
    char **v = realloc(l->v, (l->n + 2) * sizeof *v);
    if (!v) {
        free(s);
        return TEMPER_ENOMEM;
    }
    v[l->n++] = s;
    v[l->n] = NULL;
    l->v = v;
    return TEMPER_OK;
}

static void field_reset(const struct temper_option *o, void *conf)
{
    void *f = field(o, conf);
    if (is_listish(o)) {
        strlist_free(f);
    } else if (o->type == TEMPER_OPT_STR || o->type == TEMPER_OPT_PATH) {
        char **p = f;
        TEMPER_FREE(*p);
    }
}

void temper_options_free(const struct temper_option *opts, void *conf)
{
    if (!opts || !conf) {
        return;
    }
    for (size_t i = 0; opts[i].type != TEMPER_OPT_END; i++) {
        field_reset(&opts[i], conf);
    }
}

const struct temper_option *temper_option_find(const struct temper_option *opts,
                                               const char *key)
{
    for (size_t i = 0; opts && opts[i].type != TEMPER_OPT_END; i++) {
        if (strcmp(opts[i].key, key) == 0) {
            return &opts[i];
        }
    }
    return NULL;
}

/* ---- numbers ----------------------------------------------------------- */

/* Leading decimal digits of s (at least one) into *v; *end after them. */
static int parse_digits(const char *s, unsigned long long *v, const char **end)
{
    unsigned long long x = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (x > (ULLONG_MAX - d) / 10) {
            return TEMPER_ELIMIT;
        }
        x = x * 10 + d;
    }
    if (p == s) {
        return TEMPER_EINVAL;
    }
    *v = x;
    *end = p;
    return TEMPER_OK;
}

int temper_parse_size(const char *s, unsigned long long *out)
{
    static const char units[] = "KMGT";
    unsigned long long v, mult = 1;
    const char *end;
    int rc = parse_digits(s, &v, &end);
    if (rc != TEMPER_OK) {
        return rc;
    }
    if (*end) {
        const char *u = strchr(units, *end & ~0x20);
        if (!u || !*u || end[1]) {
            return TEMPER_EINVAL;
        }
        for (const char *k = units; k <= u; k++) {
            mult *= 1024;
        }
    }
    if (v > ULLONG_MAX / mult) {
        return TEMPER_ELIMIT;
    }
    *out = v * mult;
    return TEMPER_OK;
}

int temper_parse_duration_ms(const char *s, long long *out)
{
    static const struct { const char *sfx; unsigned long long ms; } units[] = {
        { "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
        { "d", 86400000 },
    };
    unsigned long long v;
    const char *end;
    int rc = parse_digits(s, &v, &end);
    if (rc != TEMPER_OK) {
        return rc;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].sfx) == 0) {
            if (v > (unsigned long long)LLONG_MAX / units[i].ms) {
                return TEMPER_ELIMIT;
            }
            *out = (long long)(v * units[i].ms);
            return TEMPER_OK;
        }
    }
    return TEMPER_EINVAL;
}

static void fmt_duration(long long ms, char *out, size_t n)
{
    static const struct { const char *sfx; long long ms; } units[] = {
        { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(out, n, "%lld%s", ms / units[i].ms, units[i].sfx);
            return;
        }
    }
    snprintf(out, n, "%lldms", ms);
}

static void fmt_size(long long v, char *out, size_t n)
{
    static const char units[] = "TGMK";
    for (size_t i = 0; i < 4; i++) {
        long long m = 1LL << (10 * (4 - i));
        if (v != 0 && v % m == 0) {
            snprintf(out, n, "%lld%c", v / m, units[i]);
            return;
        }
    }
    snprintf(out, n, "%lld", v);
}

/* ---- one value --------------------------------------------------------- */

/* How a value is shown in a message: quoted and cut, or not at all. */
static void shown(const struct temper_option *o, const char *text, char *out, size_t n)
{
    if (o->flags & TEMPER_OPT_SECRET) {
        snprintf(out, n, "the value (secret, not shown)");
    } else if (strlen(text) > SHOWN_MAX) {
        snprintf(out, n, "'%.*s...'", SHOWN_MAX, text);
    } else {
        snprintf(out, n, "'%s'", text);
    }
}

static char *range_why(const struct temper_option *o, const char *val)
{
    char lo[32], hi[32];
    if (o->type == TEMPER_OPT_DURATION) {
        fmt_duration(o->min, lo, sizeof lo);
        fmt_duration(o->max, hi, sizeof hi);
    } else if (o->type == TEMPER_OPT_SIZE) {
        fmt_size(o->min, lo, sizeof lo);
        fmt_size(o->max, hi, sizeof hi);
    } else {
        snprintf(lo, sizeof lo, "%lld", o->min);
        snprintf(hi, sizeof hi, "%lld", o->max);
    }
    return temper_strdupf("%s is out of range %s..%s", val, lo, hi);
}

static int set_bool(const char *text, bool *out)
{
    static const char *const words[] = { "true", "yes", "on", "1", "false", "no", "off", "0" };
    for (size_t i = 0; i < 8; i++) {
        if (strcasecmp(text, words[i]) == 0) {
            *out = i < 4;
            return TEMPER_OK;
        }
    }
    return TEMPER_EINVAL;
}

static char *enum_why(const struct temper_option *o, const char *val)
{
    struct temper_buf b;
    temper_buf_init(&b, 4096);
    int rc = temper_buf_printf(&b, "%s is not one of:", val);
    for (size_t i = 0; rc == TEMPER_OK && o->choices[i]; i++) {
        rc = temper_buf_printf(&b, "%s %s", i ? "," : "", o->choices[i]);
    }
    if (rc != TEMPER_OK) {
        temper_buf_cleanup(&b);
        return temper_strdupf("%s is not one of the choices", val);
    }
    return temper_buf_take(&b, NULL);
}

static int set_enum(const struct temper_option *o, const char *text, int *out)
{
    for (int i = 0; o->choices[i] && i < INT_MAX; i++) {
        if (strcasecmp(o->choices[i], text) == 0) {
            *out = i;
            return TEMPER_OK;
        }
    }
    return TEMPER_EINVAL;
}

static int set_list(const char *text, struct temper_strlist *l, char **why)
{
    int rc = strlist_touch(l);
    const char *s = text;
    while (rc == TEMPER_OK && *s) {
        s += strspn(s, ", \t");
        size_t n = strcspn(s, ", \t");
        if (n > 0) {
            rc = strlist_push(l, strndup(s, n), why);
        }
        s += n;
    }
    return rc;
}

static char *resolve_path(const char *text, const char *base_dir)
{
    if (text[0] == '/' || !base_dir) {
        return strdup(text);
    }
    if (strcmp(text, ".") == 0) {
        return strdup(base_dir);
    }
    size_t bl = strlen(base_dir);
    const char *sep = bl > 0 && base_dir[bl - 1] == '/' ? "" : "/";
    return temper_strdupf("%s%s%s", base_dir, sep, text);
}

static int set_string(const struct temper_option *o, void *f, char *s, char **why)
{
    if (!s) {
        return TEMPER_ENOMEM;
    }
    if (is_listish(o)) {
        return strlist_push(f, s, why);
    }
    char **p = f;
    free(*p);
    *p = s;
    return TEMPER_OK;
}

static int set_number(const struct temper_option *o, void *f, const char *text,
                      const char *val, char **why)
{
    long long v = 0;
    unsigned long long u = 0;
    int rc;
    if (o->type == TEMPER_OPT_INT) {
        rc = temper_parse_ll(text, &v);
    } else if (o->type == TEMPER_OPT_SIZE) {
        rc = temper_parse_size(text, &u);
        v = u > LLONG_MAX ? LLONG_MAX : (long long)u;
    } else {
        rc = temper_parse_duration_ms(text, &v);
    }
    if (rc != TEMPER_OK) {
        *why = o->type == TEMPER_OPT_INT
                   ? temper_strdupf("%s is not an integer", val)
               : o->type == TEMPER_OPT_SIZE
                   ? temper_strdupf("%s is not a size (a number with an optional "
                                    "K, M, G or T suffix)", val)
                   : temper_strdupf("%s is not a duration (a number with an optional "
                                    "ms, s, m, h or d suffix; bare = seconds)", val);
        return *why ? TEMPER_EINVAL : TEMPER_ENOMEM;
    }
    int ranged = o->min != 0 || o->max != 0;
    int out = o->type == TEMPER_OPT_SIZE
                  ? (o->min > 0 && u < (unsigned long long)o->min) ||
                        (o->max >= 0 && u > (unsigned long long)o->max)
                  : v < o->min || v > o->max;
    if (ranged && out) {
        *why = range_why(o, val);
        return *why ? TEMPER_EINVAL : TEMPER_ENOMEM;
    }
    if (o->type == TEMPER_OPT_SIZE) {
        *(unsigned long long *)f = u;
    } else {
        *(long long *)f = v;
    }
    return TEMPER_OK;
}

int temper_option_set(const struct temper_option *o, void *conf, const char *text,
                      const char *base_dir, char **why)
{
    char val[SHOWN_MAX + 48];
    void *f = field(o, conf);
    *why = NULL;
    shown(o, text, val, sizeof val);
    switch (o->type) {
    case TEMPER_OPT_STR:
        return set_string(o, f, strdup(text), why);
    case TEMPER_OPT_PATH:
        if (!*text) {
            *why = strdup("a path may not be empty");
            return *why ? TEMPER_EINVAL : TEMPER_ENOMEM;
        }
        return set_string(o, f, resolve_path(text, base_dir), why);
    case TEMPER_OPT_BOOL:
        if (set_bool(text, f) != TEMPER_OK) {
            *why = temper_strdupf("%s is not a boolean (true/false, yes/no, on/off, 1/0)",
                                  val);
            return *why ? TEMPER_EINVAL : TEMPER_ENOMEM;
        }
        return TEMPER_OK;
    case TEMPER_OPT_INT:
    case TEMPER_OPT_SIZE:
    case TEMPER_OPT_DURATION:
        return set_number(o, f, text, val, why);
    case TEMPER_OPT_ENUM:
        if (set_enum(o, text, f) != TEMPER_OK) {
            *why = enum_why(o, val);
            return *why ? TEMPER_EINVAL : TEMPER_ENOMEM;
        }
        return TEMPER_OK;
    case TEMPER_OPT_LIST:
        return set_list(text, f, why);
    default:
        *why = temper_strdupf("option has unknown type %d", (int)o->type);
        return *why ? TEMPER_EINVAL : TEMPER_ENOMEM;
    }
}

/* ---- a section --------------------------------------------------------- */

struct apply_ctx {
    const struct temper_optset *sets;
    size_t n_sets;
    const struct temper_ini_section *sec;
    const char *label;
    struct temper_diags *d;
    int oom;
};

static const struct temper_option *find_any(const struct apply_ctx *c, const char *key)
{
    for (size_t i = 0; i < c->n_sets; i++) {
        const struct temper_option *o = temper_option_find(c->sets[i].opts, key);
        if (o) {
            return o;
        }
    }
    return NULL;
}

static void unknown_key(struct apply_ctx *c, const struct temper_ini_entry *e)
{
    struct temper_buf b;
    temper_buf_init(&b, 4096);
    int rc = TEMPER_OK, first = 1;
    for (size_t i = 0; i < c->n_sets; i++) {
        const struct temper_option *o = c->sets[i].opts;
        for (size_t k = 0; rc == TEMPER_OK && o && o[k].type != TEMPER_OPT_END; k++) {
            rc = temper_buf_printf(&b, "%s%s", first ? "" : ", ", o[k].key);
            first = 0;
        }
    }
    const char *valid = rc == TEMPER_OK && b.data ? b.data : first ? "none" : "(too many)";
    const char *hint = strcmp(e->key, "include") == 0
                           ? "; an include must come before the first section" : "";
    temper_diag_error(c->d, e->file, e->line, "%s %s: unknown key (valid keys: %s)%s",
                      c->label, e->key, valid, hint);
    temper_buf_cleanup(&b);
}

static void register_secret(const struct temper_option *o, void *conf, const char *text)
{
    if (!(o->flags & TEMPER_OPT_SECRET)) {
        return;
    }
    /* A full secret registry only weakens redaction; it never fails a config. */
    (void)!temper_log_add_secret(text);
    if (o->type == TEMPER_OPT_LIST) {
        const struct temper_strlist *l = field(o, conf);
        for (size_t i = 0; i < l->n; i++) {
            (void)!temper_log_add_secret(l->v[i]);
        }
    }
}

static void set_entry(struct apply_ctx *c, const struct temper_option *o, void *conf,
                      const struct temper_ini_entry *e)
{
    char *why = NULL;
    int rc = temper_option_set(o, conf, e->value, e->dir, &why);
    if (rc == TEMPER_ENOMEM) {
        c->oom = 1;
    } else if (rc != TEMPER_OK) {
        temper_diag_error(c->d, e->file, e->line, "%s %s: %s", c->label, o->key,
                          why ? why : "invalid value");
    } else {
        register_secret(o, conf, e->value);
    }
    free(why);
}

/* Report duplicates and deprecation for every entry of `o`; returns the
 * index of the winning (last) entry, or -1 when the key is absent. */
static long check_entries(struct apply_ctx *c, const struct temper_option *o)
{
    const struct temper_ini_section *s = c->sec;
    long last = -1;
    for (size_t i = 0; i < s->n; i++) {
        const struct temper_ini_entry *e = &s->entries[i];
        if (strcmp(e->key, o->key) != 0) {
            continue;
        }
        if (o->flags & TEMPER_OPT_DEPRECATED) {
            temper_diag_warn(c->d, e->file, e->line, "%s %s: deprecated: %s", c->label,
                             o->key, o->doc ? o->doc : "will be removed");
        }
        for (size_t j = 0; !(o->flags & TEMPER_OPT_MULTI) && j < i; j++) {
            const struct temper_ini_entry *f = &s->entries[j];
            if (f->src == e->src && strcmp(f->key, o->key) == 0) {
                temper_diag_error(c->d, e->file, e->line,
                                  "%s %s: duplicate key (first set at line %u)", c->label,
                                  o->key, f->line);
                break;
            }
        }
        last = (long)i;
    }
    return last;
}

static void apply_one(struct apply_ctx *c, const struct temper_option *o, void *conf)
{
    const struct temper_ini_section *s = c->sec;
    long last = check_entries(c, o);
    if (last < 0) {
        if ((o->flags & TEMPER_OPT_REQUIRED) && !o->def) {
            temper_diag_error(c->d, s->file, s->line, "%s %s: required key is missing",
                              c->label, o->key);
        }
        return;
    }
    unsigned src = s->entries[last].src;
    field_reset(o, conf);
    if (is_listish(o) && strlist_touch(field(o, conf)) != TEMPER_OK) {
        c->oom = 1;
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct temper_ini_entry *e = &s->entries[i];
        int mine = e->src == src && strcmp(e->key, o->key) == 0;
        if (mine && (is_listish(o) || i == (size_t)last ||
                     (o->flags & TEMPER_OPT_MULTI))) {
            set_entry(c, o, conf, e);
        }
    }
}

static void apply_defaults(struct apply_ctx *c, const struct temper_option *o, void *conf)
{
    for (size_t i = 0; o && o[i].type != TEMPER_OPT_END; i++) {
        if (!o[i].def) {
            continue;
        }
        char *why = NULL;
        int rc = temper_option_set(&o[i], conf, o[i].def, c->sec->dir, &why);
        if (rc == TEMPER_ENOMEM) {
            c->oom = 1;
        } else if (rc != TEMPER_OK) {
            temper_diag_error(c->d, c->sec->file, c->sec->line,
                              "%s %s: the plugin's default is invalid: %s", c->label,
                              o[i].key, why ? why : "invalid value");
        }
        free(why);
    }
}

int temper_options_apply(const struct temper_optset *sets, size_t n_sets,
                         const struct temper_ini_section *sec, unsigned flags,
                         struct temper_diags *d)
{
    size_t errors = d->n_errors;
    char *label = temper_ini_section_label(sec);
    if (!label) {
        return TEMPER_ENOMEM;
    }
    struct apply_ctx c = { sets, n_sets, sec, label, d, 0 };
    for (size_t i = 0; i < n_sets; i++) {
        apply_defaults(&c, sets[i].opts, sets[i].conf);
    }
    for (size_t i = 0; !(flags & TEMPER_OPTIONS_KEEP_UNKNOWN) && i < sec->n; i++) {
        if (!find_any(&c, sec->entries[i].key)) {
            unknown_key(&c, &sec->entries[i]);
        }
    }
    for (size_t i = 0; i < n_sets; i++) {
        const struct temper_option *o = sets[i].opts;
        for (size_t k = 0; o && o[k].type != TEMPER_OPT_END && !c.oom; k++) {
            /* a key declared by an earlier table belongs to that one */
            if (find_any(&c, o[k].key) == &o[k]) {
                apply_one(&c, &o[k], sets[i].conf);
            }
        }
    }
    free(label);
    if (c.oom) {
        return TEMPER_ENOMEM;
    }
    return d->n_errors > errors ? TEMPER_EINVAL : TEMPER_OK;
}

/* temper — the INI parser (grammar: conf/README.md).
 *
 * Files are read whole (at most TEMPER_INI_MAX_FILE_SIZE), split into
 * physical lines, and every line is checked (length, NUL bytes, control
 * characters, UTF-8) before it is parsed, so binary junk gives one clear
 * `FILE:LINE: message` and the file is skipped after a few problems. */
#include "config.h"
#include "ini.h"
#include "ini_util.h"
#include <temper/buf.h>

#include <glob.h>
#include <stdlib.h>
#include <string.h>

struct ini_file {
    char *name; /* as named */
    char *dir;  /* absolute directory */
};

struct temper_ini {
    struct temper_ini_section **secs;
    size_t n_secs, cap_secs;
    struct ini_file *files;
    size_t n_files, cap_files;
    size_t n_entries;
    unsigned next_src;
};

/* The chain of files being included, to find cycles. */
struct include_frame {
    const char *real;
    const char *name;
    const struct include_frame *up;
};

struct parser {
    struct temper_ini *ini;
    struct temper_diags *d;
    const char *file, *dir;
    unsigned src;
    int depth;
    const struct include_frame *stack;
    struct temper_ini_section *cur;
    int seen_section;  /* includes are allowed only before the first one */
    int skip_section;  /* the last header was broken: drop its keys */
    int pending;       /* a key's value is being assembled */
    int backslash;     /* the previous line ended in a backslash */
    char *key;
    unsigned key_line;
    size_t key_indent;
    struct temper_buf val;
    unsigned errors;
    int give_up;
    int oom;
};

static int read_path(struct temper_ini *ini, struct temper_diags *d, const char *path,
                     int depth, const struct include_frame *up, const char *from_file,
                     unsigned from_line);

static void perr(struct parser *p, unsigned line, const char *fmt, ...) TEMPER_PRINTF(3, 4);

static void perr(struct parser *p, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    temper_diag_vadd(p->d, TEMPER_DIAG_ERROR, p->file, line, fmt, ap);
    va_end(ap);
    if (++p->errors == TEMPER_INI_MAX_ERRORS) {
        temper_diag_error(p->d, p->file, line,
                          "too many problems in this file; the rest of it is skipped");
        p->give_up = 1;
    }
}

/* ---- sections and entries ---------------------------------------------- */

struct temper_ini_section *temper_ini_section_new(const char *name, const char *sub,
                                                  const char *file, const char *dir,
                                                  unsigned line)
{
    struct temper_ini_section *s = calloc(1, sizeof *s);
    if (!s) {
        return NULL;
    }
    s->name = strdup(name);
    s->sub = sub ? strdup(sub) : NULL;
    if (!s->name || (sub && !s->sub)) {
        temper_ini_section_free(s);
        return NULL;
    }
    s->file = file;
    s->dir = dir;
    s->line = line;
    return s;
}

void temper_ini_section_free(struct temper_ini_section *sec)
{
    if (!sec) {
        return;
    }
    for (size_t i = 0; i < sec->n; i++) {
        free(sec->entries[i].key);
        free(sec->entries[i].value);
    }
    free(sec->entries);
    free(sec->name);
    free(sec->sub);
    free(sec);
}

int temper_ini_section_add(struct temper_ini_section *sec, const char *key,
                           const char *value, const char *file, const char *dir,
                           unsigned line, unsigned src)
{
    struct temper_ini_entry *v = temper_array_grow(sec->entries, &sec->cap, sec->n,
                                                   sizeof *sec->entries);
    if (!v) {
        return TEMPER_ENOMEM;
    }
    sec->entries = v;
    struct temper_ini_entry *e = &sec->entries[sec->n];
    e->key = strdup(key);
    e->value = strdup(value);
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        return TEMPER_ENOMEM;
    }
    e->file = file;
    e->dir = dir;
    e->line = line;
    e->src = src;
    sec->n++;
    return TEMPER_OK;
}

char *temper_ini_section_label(const struct temper_ini_section *sec)
{
    struct temper_buf b;
    temper_buf_init(&b, 1024);
    int rc = temper_buf_printf(&b, "[%s", sec->name);
    if (rc == TEMPER_OK && sec->sub) {
        rc = temper_buf_puts(&b, " \"");
        for (const char *s = sec->sub; rc == TEMPER_OK && *s; s++) {
            rc = (*s == '"' || *s == '\\') ? temper_buf_append(&b, "\\", 1) : TEMPER_OK;
            rc = rc == TEMPER_OK ? temper_buf_append(&b, s, 1) : rc;
        }
        rc = rc == TEMPER_OK ? temper_buf_puts(&b, "\"") : rc;
    }
    rc = rc == TEMPER_OK ? temper_buf_puts(&b, "]") : rc;
    if (rc != TEMPER_OK) {
        temper_buf_cleanup(&b);
        return NULL;
    }
    return temper_buf_take(&b, NULL);
}

static int same_sub(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

const struct temper_ini_section *temper_ini_find(const struct temper_ini *ini,
                                                 const char *name, const char *sub)
{
    for (size_t i = 0; i < ini->n_secs; i++) {
        if (strcmp(ini->secs[i]->name, name) == 0 && same_sub(ini->secs[i]->sub, sub)) {
            return ini->secs[i];
        }
    }
    return NULL;
}

const struct temper_ini_entry *temper_ini_last(const struct temper_ini_section *sec,
                                               const char *key)
{
    for (size_t i = sec ? sec->n : 0; i > 0; i--) {
        if (strcmp(sec->entries[i - 1].key, key) == 0) {
            return &sec->entries[i - 1];
        }
    }
    return NULL;
}

size_t temper_ini_count(const struct temper_ini *ini)
{
    return ini->n_secs;
}

const struct temper_ini_section *temper_ini_at(const struct temper_ini *ini, size_t i)
{
    return i < ini->n_secs ? ini->secs[i] : NULL;
}

size_t temper_ini_file_count(const struct temper_ini *ini)
{
    return ini->n_files;
}

const char *temper_ini_file_at(const struct temper_ini *ini, size_t i)
{
    return i < ini->n_files ? ini->files[i].name : NULL;
}

const char *temper_ini_dir_at(const struct temper_ini *ini, size_t i)
{
    return i < ini->n_files ? ini->files[i].dir : NULL;
}

struct temper_ini *temper_ini_new(void)
{
    return calloc(1, sizeof(struct temper_ini));
}

void temper_ini_free(struct temper_ini *ini)
{
    if (!ini) {
        return;
    }
    for (size_t i = 0; i < ini->n_secs; i++) {
        temper_ini_section_free(ini->secs[i]);
    }
    free(ini->secs);
    for (size_t i = 0; i < ini->n_files; i++) {
        free(ini->files[i].name);
        free(ini->files[i].dir);
    }
    free(ini->files);
    free(ini);
}

/* The section [name "sub"] of this parse, created on first use. */
static struct temper_ini_section *open_section(struct parser *p, unsigned line,
                                               const char *name, const char *sub)
{
    struct temper_ini *ini = p->ini;
    const struct temper_ini_section *found = temper_ini_find(ini, name, sub);
    if (found) {
        return (struct temper_ini_section *)found;
    }
    if (ini->n_secs == TEMPER_INI_MAX_SECTIONS) {
        perr(p, line, "more than %d sections", TEMPER_INI_MAX_SECTIONS);
        return NULL;
    }
    struct temper_ini_section **v = temper_array_grow(ini->secs, &ini->cap_secs, ini->n_secs,
                                                      sizeof *ini->secs);
    if (!v) {
        p->oom = 1;
        return NULL;
    }
    ini->secs = v;
    struct temper_ini_section *s = temper_ini_section_new(name, sub, p->file, p->dir, line);
    if (!s) {
        p->oom = 1;
        return NULL;
    }
    ini->secs[ini->n_secs++] = s;
    return s;
}

/* ---- values ------------------------------------------------------------ */

static void drop_value(struct parser *p)
{
    TEMPER_FREE(p->key);
    temper_buf_reset(&p->val);
    p->pending = 0;
    p->backslash = 0;
}

static void rtrim(char *s, size_t *len)
{
    while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t')) {
        s[--*len] = '\0';
    }
}

/* Append one line's part of the value; `sep` goes between non-empty parts. */
static void append_value(struct parser *p, unsigned line, char *text, const char *sep)
{
    size_t n = strlen(text);
    rtrim(text, &n);
    p->backslash = n > 0 && text[n - 1] == '\\';
    if (p->backslash) {
        text[--n] = '\0';
    }
    int rc = TEMPER_OK;
    if (p->val.len > 0 && n > 0) {
        rc = temper_buf_puts(&p->val, sep);
    }
    rc = rc == TEMPER_OK ? temper_buf_append(&p->val, text, n) : rc;
    if (rc == TEMPER_ELIMIT) {
        perr(p, line, "value of '%s' is longer than %d bytes", p->key,
             TEMPER_INI_MAX_VALUE);
        drop_value(p);
    } else if (rc != TEMPER_OK) {
        p->oom = 1;
        drop_value(p);
    }
}

static void do_include(struct parser *p, unsigned line, const char *value);

static void add_entry(struct parser *p, const char *value)
{
    struct temper_ini_section *s = p->cur;
    if (s->n >= TEMPER_INI_MAX_SECTION_KEYS) {
        perr(p, p->key_line, "section has more than %d keys", TEMPER_INI_MAX_SECTION_KEYS);
        return;
    }
    if (p->ini->n_entries >= TEMPER_INI_MAX_ENTRIES) {
        perr(p, p->key_line, "more than %d keys in all", TEMPER_INI_MAX_ENTRIES);
        return;
    }
    if (temper_ini_section_add(s, p->key, value, p->file, p->dir, p->key_line, p->src) !=
        TEMPER_OK) {
        p->oom = 1;
        return;
    }
    p->ini->n_entries++;
}

static void finish_value(struct parser *p)
{
    if (!p->pending) {
        return;
    }
    if (temper_buf_append(&p->val, "", 0) != TEMPER_OK) {
        p->oom = 1;
        drop_value(p);
        return;
    }
    rtrim(p->val.data, &p->val.len);
    char *why = NULL;
    char *v = temper_ini_expand(p->val.data, &why);
    if (!v && why) {
        char *label = p->cur ? temper_ini_section_label(p->cur) : NULL;
        perr(p, p->key_line, "%s%s%s: %s", label ? label : "", label ? " " : "", p->key, why);
        free(label);
    } else if (!v) {
        p->oom = 1;
    } else if (p->skip_section) {
        /* keys of a broken section header: already reported */
    } else if (p->cur) {
        add_entry(p, v);
    } else if (strcmp(p->key, "include") == 0) {
        do_include(p, p->key_line, v);
    } else {
        perr(p, p->key_line, "'%s' outside a section: only 'include = FILE' may come "
             "before the first section", p->key);
    }
    free(why);
    free(v);
    drop_value(p);
}

/* ---- lines ------------------------------------------------------------- */

static int is_key_char(char c)
{
    return temper_ini_is_name_char(c, 0) || c == '.' || c == '-';
}

static void parse_key(struct parser *p, unsigned line, char *rest, size_t indent)
{
    size_t kl = 0;
    while (is_key_char(rest[kl])) {
        kl++;
    }
    if (kl == 0) {
        perr(p, line, "expected 'key = value', '[section]' or a comment");
        return;
    }
    if (kl > TEMPER_INI_MAX_NAME) {
        perr(p, line, "key is longer than %d bytes", TEMPER_INI_MAX_NAME);
        return;
    }
    char *q = rest + kl + strspn(rest + kl, " \t");
    if (*q != '=') {
        perr(p, line, "expected '=' after '%.*s'", (int)kl, rest);
        return;
    }
    p->key = strndup(rest, kl);
    if (!p->key) {
        p->oom = 1;
        return;
    }
    p->pending = 1;
    p->key_line = line;
    p->key_indent = indent;
    temper_buf_reset(&p->val);
    append_value(p, line, q + 1 + strspn(q + 1, " \t"), "");
}

/* *qp points at the opening quote; returns a new string or NULL. */
static char *parse_quoted(struct parser *p, unsigned line, const char **qp)
{
    char out[TEMPER_INI_MAX_NAME + 1];
    size_t n = 0;
    const char *q = *qp + 1;
    for (; *q && *q != '"'; q++) {
        if (*q == '\\' && (q[1] == '"' || q[1] == '\\')) {
            q++;
        } else if (*q == '\\') {
            perr(p, line, "unknown escape '\\%c' in a quoted name (only \\\" and \\\\)",
                 q[1] ? q[1] : ' ');
            return NULL;
        }
        if (n == TEMPER_INI_MAX_NAME) {
            perr(p, line, "quoted name is longer than %d bytes", TEMPER_INI_MAX_NAME);
            return NULL;
        }
        out[n++] = *q;
    }
    if (*q != '"') {
        perr(p, line, "quoted name is not closed with '\"'");
        return NULL;
    }
    if (n == 0) {
        perr(p, line, "quoted name is empty");
        return NULL;
    }
    out[n] = '\0';
    *qp = q + 1;
    char *s = strdup(out);
    p->oom |= !s;
    return s;
}

static void parse_header(struct parser *p, unsigned line, const char *rest)
{
    char name[TEMPER_INI_MAX_NAME + 1];
    char *sub = NULL;
    const char *q = rest + 1 + strspn(rest + 1, " \t");
    size_t nl = 0;
    p->seen_section = 1;
    p->skip_section = 1;
    p->cur = NULL;
    while (is_key_char(q[nl]) && nl < TEMPER_INI_MAX_NAME) {
        nl++;
    }
    if (nl == 0 || is_key_char(q[nl])) {
        perr(p, line, nl ? "section name is too long" : "expected a section name after '['");
        return;
    }
    memcpy(name, q, nl);
    name[nl] = '\0';
    q += nl + strspn(q + nl, " \t");
    if (*q == '"' && !(sub = parse_quoted(p, line, &q))) {
        return;
    }
    q += strspn(q, " \t");
    if (*q != ']') {
        perr(p, line, "expected ']' to close the section header");
    } else if (q[1 + strspn(q + 1, " \t")] != '\0') {
        perr(p, line, "text after ']' (comments go on a line of their own)");
    } else {
        p->cur = open_section(p, line, name, sub);
        p->skip_section = p->cur == NULL;
    }
    free(sub);
}

static void parse_line(struct parser *p, unsigned line, char *s)
{
    if (p->backslash) {
        char *t = s + strspn(s, " \t");
        if (!*t) {
            perr(p, line - 1, "a line ending in a backslash must be followed by the rest "
                 "of the value");
            drop_value(p);
            return;
        }
        append_value(p, line, t, "");
        return;
    }
    size_t indent = strspn(s, " \t");
    char *rest = s + indent;
    if (!*rest) {
        finish_value(p);
        return;
    }
    if (*rest == ';' || *rest == '#') {
        return;
    }
    if (p->pending && indent > p->key_indent) {
        append_value(p, line, rest, " ");
        return;
    }
    finish_value(p);
    if (*rest == '[') {
        parse_header(p, line, rest);
    } else {
        parse_key(p, line, rest, indent);
    }
}

static void check_and_parse(struct parser *p, unsigned line, const char *s, size_t n)
{
    char buf[TEMPER_INI_MAX_LINE + 1];
    if (n > TEMPER_INI_MAX_LINE) {
        perr(p, line, "line is longer than %d bytes", TEMPER_INI_MAX_LINE);
        drop_value(p);
        return;
    }
    size_t bad = temper_ini_bad_byte((const unsigned char *)s, n);
    if (bad < n) {
        unsigned char c = (unsigned char)s[bad];
        if (c < 0x80) {
            perr(p, line, "control character 0x%02x at column %zu", c, bad + 1);
        } else {
            perr(p, line, "invalid UTF-8 at column %zu", bad + 1);
        }
        drop_value(p);
        return;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    parse_line(p, line, buf);
}

static void parse_text(struct parser *p, const char *data, size_t len)
{
    size_t off = len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    unsigned line = 0;
    while (off < len && !p->give_up && !p->oom) {
        const char *s = data + off;
        const char *nl = memchr(s, '\n', len - off);
        size_t n = nl ? (size_t)(nl - s) : len - off;
        off += n + (nl ? 1 : 0);
        line++;
        if (n > 0 && s[n - 1] == '\r') {
            n--;
        }
        if (memchr(s, '\0', n)) {
            perr(p, line, "NUL byte: this is not a text file; the rest of it is skipped");
            drop_value(p);
            return;
        }
        check_and_parse(p, line, s, n);
    }
    if (p->backslash && !p->give_up) {
        perr(p, line, "the file ends after a backslash continuation");
        drop_value(p);
    }
    finish_value(p);
}

/* ---- files and includes ------------------------------------------------ */

static void do_include(struct parser *p, unsigned line, const char *value)
{
    if (!*value) {
        perr(p, line, "include: no file named");
        return;
    }
    if (p->depth >= TEMPER_INI_MAX_DEPTH) {
        perr(p, line, "include: nested deeper than %d levels", TEMPER_INI_MAX_DEPTH);
        return;
    }
    char *path = temper_ini_join(p->file, value);
    if (!path) {
        p->oom = 1;
        return;
    }
    int rc = TEMPER_OK;
    if (!temper_ini_is_glob(value)) {
        rc = read_path(p->ini, p->d, path, p->depth + 1, p->stack, p->file, line);
    } else {
        glob_t g;
        int grc = glob(path, 0, NULL, &g);
        if (grc != 0 && grc != GLOB_NOMATCH) {
            perr(p, line, "include: cannot expand '%s'", value);
        }
        for (size_t i = 0; grc == 0 && i < g.gl_pathc && rc != TEMPER_ENOMEM; i++) {
            rc = read_path(p->ini, p->d, g.gl_pathv[i], p->depth + 1, p->stack, p->file,
                           line);
        }
        if (grc == 0) {
            globfree(&g);
        }
    }
    p->oom |= rc == TEMPER_ENOMEM;
    free(path);
}

static char *cycle_text(const struct include_frame *top, const char *again)
{
    const char *names[TEMPER_INI_MAX_DEPTH + 2];
    size_t n = 0;
    for (const struct include_frame *f = top; f && n < TEMPER_INI_MAX_DEPTH + 1; f = f->up) {
        names[n++] = f->name;
    }
    struct temper_buf b;
    temper_buf_init(&b, 8192);
    int rc = TEMPER_OK;
    while (n > 0 && rc == TEMPER_OK) {
        rc = temper_buf_printf(&b, "%s -> ", names[--n]);
    }
    rc = rc == TEMPER_OK ? temper_buf_puts(&b, again) : rc;
    if (rc != TEMPER_OK) {
        temper_buf_cleanup(&b);
        return strdup("(cycle too long to show)");
    }
    return temper_buf_take(&b, NULL);
}

static struct ini_file *add_file(struct temper_ini *ini, const char *name)
{
    struct ini_file *v = temper_array_grow(ini->files, &ini->cap_files, ini->n_files,
                                           sizeof *ini->files);
    if (!v) {
        return NULL;
    }
    ini->files = v;
    struct ini_file *f = &ini->files[ini->n_files];
    f->name = strdup(name);
    f->dir = temper_ini_abs_dir(name);
    if (!f->name || !f->dir) {
        free(f->name);
        free(f->dir);
        return NULL;
    }
    ini->n_files++;
    return f;
}

static int parse_buffer(struct temper_ini *ini, struct temper_diags *d, const char *name,
                        const char *data, size_t len, int depth,
                        const struct include_frame *frame)
{
    size_t errors = d->n_errors;
    struct ini_file *f = add_file(ini, name);
    if (!f) {
        return TEMPER_ENOMEM;
    }
    struct parser p = { .ini = ini, .d = d, .file = f->name, .dir = f->dir,
                        .src = ++ini->next_src, .depth = depth, .stack = frame };
    temper_buf_init(&p.val, TEMPER_INI_MAX_VALUE);
    parse_text(&p, data, len);
    drop_value(&p);
    temper_buf_cleanup(&p.val);
    if (p.oom) {
        return TEMPER_ENOMEM;
    }
    return d->n_errors > errors ? TEMPER_EINVAL : TEMPER_OK;
}

static int read_path(struct temper_ini *ini, struct temper_diags *d, const char *path,
                     int depth, const struct include_frame *up, const char *from_file,
                     unsigned from_line)
{
    char *real = NULL, *data = NULL, *why = NULL;
    size_t len = 0;
    int rc = TEMPER_EINVAL;
    const char *at = from_line ? from_file : path;
    const char *what = from_line ? "include: " : "";
    if (ini->n_files >= TEMPER_INI_MAX_FILES) {
        temper_diag_error(d, at, from_line, "%smore than %d files", what,
                          TEMPER_INI_MAX_FILES);
        goto out;
    }
    real = realpath(path, NULL);
    for (const struct include_frame *f = up; real && f; f = f->up) {
        if (f->real && strcmp(f->real, real) == 0) {
            why = cycle_text(up, path);
            temper_diag_error(d, at, from_line, "include cycle: %s", why ? why : path);
            goto out;
        }
    }
    rc = temper_ini_load_file(path, &data, &len, &why);
    if (rc != TEMPER_OK) {
        if (rc != TEMPER_ENOMEM) {
            temper_diag_error(d, at, from_line, "%s%s%s%s", what, from_line ? path : "",
                              from_line ? ": " : "", why ? why : "cannot read");
            rc = TEMPER_EINVAL;
        }
        goto out;
    }
    struct include_frame frame = { real, path, up };
    rc = parse_buffer(ini, d, path, data, len, depth, &frame);
out:
    free(real);
    free(data);
    free(why);
    return rc;
}

int temper_ini_read_file(struct temper_ini *ini, const char *path, struct temper_diags *d)
{
    return read_path(ini, d, path, 0, NULL, path, 0);
}

int temper_ini_read_mem(struct temper_ini *ini, const char *name, const char *data,
                        size_t len, struct temper_diags *d)
{
    if (len > TEMPER_INI_MAX_FILE_SIZE) {
        temper_diag_error(d, name, 0, "larger than %u bytes", TEMPER_INI_MAX_FILE_SIZE);
        return TEMPER_EINVAL;
    }
    struct include_frame frame = { NULL, name, NULL };
    return parse_buffer(ini, d, name, data, len, 0, &frame);
}

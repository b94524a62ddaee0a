/* guard_heuristic — languages and roles of paths, the code view of a hunk
 * (comments stripped per language), tokens and small text predicates. */
#include "heuristic.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- paths ---------------------------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static const char *ext_of(const char *path)
{
    const char *b = base_name(path);
    const char *dot = strrchr(b, '.');
    return dot && dot != b ? dot + 1 : "";
}

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++) {
        if (strcasecmp(s, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* A path component (directory) equal to one of list. */
static bool has_dir(const char *path, const char *const *list)
{
    const char *p = path;
    while (*p) {
        const char *slash = strchr(p, '/');
        if (!slash) {
            return false;
        }
        for (size_t i = 0; list[i]; i++) {
            size_t n = strlen(list[i]);
            if ((size_t)(slash - p) == n && strncasecmp(p, list[i], n) == 0) {
                return true;
            }
        }
        p = slash + 1;
    }
    return false;
}

static bool is_ci_path(const char *path)
{
    static const char *const ci_files[] = { ".gitlab-ci.yml", ".travis.yml",
                                            "azure-pipelines.yml", "Jenkinsfile",
                                            ".cirrus.yml", "appveyor.yml", ".drone.yml",
                                            "bitbucket-pipelines.yml", NULL };
    return heur_starts(path, ".github/workflows/") || heur_starts(path, ".github/actions/") ||
           heur_starts(path, ".circleci/") || heur_starts(path, ".buildkite/") ||
           in_list(base_name(path), ci_files);
}

enum lang heur_lang(const char *path)
{
    static const char *const c_ext[] = { "c", "h", "cc", "cpp", "cxx", "c++", "hpp", "hh",
                                         "hxx", "inl", "ipp", "m", "mm", NULL };
    static const char *const js_ext[] = { "js", "mjs", "cjs", "jsx", "ts", "tsx", "mts",
                                          "cts", NULL };
    static const char *const sh_ext[] = { "sh", "bash", "zsh", "ksh", "bats", NULL };
    static const char *const sh_names[] = { "configure", "autogen.sh", "bootstrap",
                                            "Dockerfile", "Containerfile", NULL };
    static const char *const make_names[] = { "Makefile", "GNUmakefile", "makefile",
                                              "Makefile.am", "Makefile.in", NULL };
    static const char *const doc_ext[] = { "md", "rst", "txt", "adoc", "1", "3", "5", "8",
                                           "texi", "html", NULL };
    const char *b = base_name(path), *e = ext_of(path);
    if (in_list(e, c_ext)) {
        return L_C;
    }
    if (strcasecmp(e, "go") == 0) {
        return L_GO;
    }
    if (strcasecmp(e, "py") == 0 || strcasecmp(e, "pyw") == 0 || strcmp(b, "SConstruct") == 0) {
        return L_PY;
    }
    if (in_list(e, js_ext)) {
        return L_JS;
    }
    if (strcmp(b, "CMakeLists.txt") == 0 || strcasecmp(e, "cmake") == 0) {
        return L_CMAKE;
    }
    if (strcasecmp(e, "m4") == 0 || strcasecmp(e, "ac") == 0 || strcmp(b, "configure.in") == 0) {
        return L_M4;
    }
    if (in_list(b, make_names) || strcasecmp(e, "mk") == 0 || strcasecmp(e, "am") == 0) {
        return L_MAKE;
    }
    if (in_list(e, sh_ext) || in_list(b, sh_names) || heur_starts(b, "Dockerfile")) {
        return L_SH;
    }
    if (strcasecmp(e, "yml") == 0 || strcasecmp(e, "yaml") == 0) {
        return L_YAML;
    }
    if (in_list(e, doc_ext) || heur_starts(b, "README") || in_list(b, (const char *const[]){
            "NEWS", "ChangeLog", "AUTHORS", "THANKS", "COPYING", "LICENSE", NULL })) {
        return L_DOC;
    }
    return L_OTHER;
}

unsigned heur_roles(const char *path)
{
    static const char *const build_names[] = {
        "configure", "configure.ac", "configure.in", "Makefile", "Makefile.am", "Makefile.in",
        "GNUmakefile", "CMakeLists.txt", "meson.build", "meson_options.txt", "autogen.sh",
        "bootstrap", "build.sh", "setup.py", "setup.cfg", "pyproject.toml", "build.rs",
        "package.json", "BUILD", "BUILD.bazel", "WORKSPACE", "SConstruct", "build.gradle",
        "pom.xml", "Dockerfile", "Containerfile", "Cargo.toml", NULL };
    static const char *const build_ext[] = { "m4", "ac", "am", "mk", "cmake", "bzl", NULL };
    static const char *const build_dirs[] = { "m4", "cmake", "build-aux", NULL };
    static const char *const release_names[] = { ".goreleaser.yml", ".goreleaser.yaml",
                                                 "PKGBUILD", "rules", NULL };
    static const char *const test_dirs[] = { "test", "tests", "testdata", "testing", "t",
                                             "spec", "__tests__", "fixtures", "testsuite",
                                             NULL };
    static const char *const lock_names[] = { "package-lock.json", "yarn.lock", "go.sum",
                                              "Cargo.lock", "poetry.lock", "Pipfile.lock",
                                              "pnpm-lock.yaml", "composer.lock", NULL };
    const char *b = base_name(path);
    unsigned r = 0;
    if (in_list(b, build_names) || in_list(ext_of(path), build_ext) || has_dir(path, build_dirs)) {
        r |= ROLE_BUILD;
    }
    if (is_ci_path(path)) {
        r |= ROLE_CI;
    }
    if (in_list(b, release_names) || heur_icontains(b, "release") || strcasecmp(ext_of(b),
        "spec") == 0 || heur_starts(path, "debian/") || heur_icontains(b, "sign")) {
        r |= ROLE_RELEASE;
    }
    if (has_dir(path, test_dirs) || heur_starts(b, "test_") || heur_icontains(b, "_test.") ||
        heur_icontains(b, ".test.") || heur_icontains(b, ".spec.")) {
        r |= ROLE_TEST;
    }
    if (heur_lang(path) == L_DOC || has_dir(path, (const char *const[]){ "doc", "docs", NULL })) {
        r |= ROLE_DOC;
    }
    if (in_list(b, lock_names) || heur_icontains(b, "sha256sum") || heur_icontains(b, ".sum")) {
        r |= ROLE_LOCK;
    }
    return r;
}

const char *heur_lang_name(enum lang l)
{
    static const char *const names[] = { "other", "C", "Go", "Python", "shell", "JavaScript",
                                         "CMake", "m4", "make", "YAML", "text" };
    return (unsigned)l < sizeof names / sizeof names[0] ? names[l] : "other";
}

bool heur_shellish(enum lang l)
{
    return l == L_SH || l == L_M4 || l == L_MAKE || l == L_YAML || l == L_CMAKE;
}

bool heur_clike(enum lang l)
{
    return l == L_C || l == L_GO || l == L_JS;
}

/* ---- the code part of a line ------------------------------------------------ */

struct cstate {
    bool in_block; /* inside a C block comment */
};

/* Copy the code of s (n bytes) into out, comments removed; returns length. */
static size_t strip_c(const char *s, size_t n, char *out, struct cstate *cs)
{
    size_t k = 0;
    char quote = 0;
    for (size_t i = 0; i < n; i++) {
        if (cs->in_block) {
            if (s[i] == '*' && i + 1 < n && s[i + 1] == '/') {
                cs->in_block = false;
                i++;
                out[k++] = ' ';
            }
            continue;
        }
        if (quote) {
            out[k++] = s[i];
            if (s[i] == '\\' && i + 1 < n) {
                out[k++] = s[++i];
            } else if (s[i] == quote) {
                quote = 0;
            }
            continue;
        }
        if (s[i] == '/' && i + 1 < n && s[i + 1] == '/') {
            break;
        }
        if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
            cs->in_block = true;
            i++;
            continue;
        }
        if (s[i] == '"' || s[i] == '\'' || s[i] == '`') {
            quote = s[i];
        }
        out[k++] = s[i];
    }
    return k;
}

/* '#' comments (shell, Python, YAML, CMake, make); m4 also has "dnl". */
static size_t strip_hash(const char *s, size_t n, char *out, enum lang l)
{
    size_t k = 0;
    char quote = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (quote) {
            if (c == '\\' && i + 1 < n && quote == '"') {
                out[k++] = c;
                c = s[++i];
            } else if (c == quote) {
                quote = 0;
            }
            out[k++] = c;
            continue;
        }
        bool word_start = i == 0 || isspace((unsigned char)s[i - 1]);
        if (c == '#' && word_start) {
            break;
        }
        if (l == L_M4 && word_start && n - i >= 3 && memcmp(s + i, "dnl", 3) == 0 &&
            (n - i == 3 || isspace((unsigned char)s[i + 3]))) {
            break;
        }
        if ((c == '"' || c == '\'') && l != L_M4 && l != L_MAKE) {
            quote = c;
        }
        out[k++] = c;
    }
    return k;
}

/* Collapse white space runs to one space, trim; in place, returns length. */
static size_t squeeze(char *s, size_t n)
{
    size_t k = 0;
    bool space = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c)) {
            if (!space) {
                s[k++] = ' ';
            }
            space = true;
            continue;
        }
        s[k++] = (char)c;
        space = false;
    }
    if (k && s[k - 1] == ' ') {
        k--;
    }
    s[k] = '\0';
    return k;
}

static int indent_of(const char *s, size_t n)
{
    int w = 0;
    for (size_t i = 0; i < n && (s[i] == ' ' || s[i] == '\t'); i++) {
        w = s[i] == '\t' ? (w / 8 + 1) * 8 : w + 1;
    }
    return w;
}

static size_t strip_line(const char *s, size_t n, char *out, enum lang l, struct cstate *cs)
{
    if (heur_clike(l)) {
        return strip_c(s, n, out, cs);
    }
    if (l == L_DOC || l == L_OTHER) {
        memcpy(out, s, n);
        return n;
    }
    return strip_hash(s, n, out, l);
}

int heur_view_build(struct hunkview *hv, const struct temper_patch_hunk *h, enum lang l)
{
    size_t total = 0;
    memset(hv, 0, sizeof *hv);
    for (size_t i = 0; i < h->n_lines; i++) {
        total += h->lines[i].len + 1;
    }
    hv->v = calloc(h->n_lines ? h->n_lines : 1, sizeof *hv->v);
    hv->pool = malloc(total + 1);
    if (!hv->v || !hv->pool) {
        heur_view_free(hv);
        return TEMPER_ENOMEM;
    }
    struct cstate old_cs = { false }, new_cs = { false };
    char *p = hv->pool;
    for (size_t i = 0; i < h->n_lines; i++) {
        const struct temper_patch_line *pl = &h->lines[i];
        struct hline *x = &hv->v[i];
        x->op = pl->op;
        x->new_no = pl->new_no;
        x->old_no = pl->old_no;
        x->raw = pl->text;
        x->raw_len = pl->len;
        x->indent = indent_of(pl->text, pl->len);
        /* comment state follows each side; context lines feed both */
        struct cstate *cs = pl->op == '-' ? &old_cs : &new_cs;
        size_t k = strip_line(pl->text, pl->len, p, l, cs);
        if (pl->op == ' ') {
            old_cs = new_cs;
        }
        k = squeeze(p, k);
        x->code = p;
        p += k + 1;
    }
    hv->n = h->n_lines;
    return TEMPER_OK;
}

void heur_view_free(struct hunkview *hv)
{
    free(hv->v);
    free(hv->pool);
    memset(hv, 0, sizeof *hv);
}

long heur_view_line_no(const struct hunkview *hv, size_t i)
{
    for (size_t k = i; k < hv->n && k <= i + HEUR_NEAR; k++) {
        if (hv->v[k].new_no) {
            return hv->v[k].new_no;
        }
    }
    for (size_t k = i; k-- > 0 && i - k <= HEUR_NEAR;) {
        if (hv->v[k].new_no) {
            return hv->v[k].new_no;
        }
    }
    return 0;
}

/* temper — builder_deb: the licence of a package from its machine-readable
 * copyright file (DEP-5, "Format: .../copyright-format/1.0/").  The License
 * of every Files paragraph is taken (its first line: the short name, with
 * "or"/"and" between alternatives), Debian short names are mapped to SPDX
 * identifiers, other names become LicenseRef-<name>; the distinct
 * expressions are sorted and joined with AND.  A copyright file that is not
 * machine-readable gives no licence (NULL). */
#include "config.h"
#include "deb.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIC_MAX_TERMS 64
#define LIC_MAX_LEN 2048

static const struct {
    const char *deb, *spdx;
} lic_map[] = {
    { "GPL-1", "GPL-1.0-only" }, { "GPL-1+", "GPL-1.0-or-later" },
    { "GPL-2", "GPL-2.0-only" }, { "GPL-2+", "GPL-2.0-or-later" },
    { "GPL-3", "GPL-3.0-only" }, { "GPL-3+", "GPL-3.0-or-later" },
    { "LGPL-2", "LGPL-2.0-only" }, { "LGPL-2+", "LGPL-2.0-or-later" },
    { "LGPL-2.1", "LGPL-2.1-only" }, { "LGPL-2.1+", "LGPL-2.1-or-later" },
    { "LGPL-3", "LGPL-3.0-only" }, { "LGPL-3+", "LGPL-3.0-or-later" },
    { "AGPL-3", "AGPL-3.0-only" }, { "AGPL-3+", "AGPL-3.0-or-later" },
    { "Expat", "MIT" }, { "MIT", "MIT" }, { "BSD-2-clause", "BSD-2-Clause" },
    { "BSD-3-clause", "BSD-3-Clause" }, { "BSD-4-clause", "BSD-4-Clause" },
    { "Apache-2.0", "Apache-2.0" }, { "Apache-2", "Apache-2.0" }, { "MPL-1.1", "MPL-1.1" },
    { "MPL-2.0", "MPL-2.0" }, { "Zlib", "Zlib" }, { "ISC", "ISC" }, { "PSF-2", "PSF-2.0" },
    { "Python-2.0", "Python-2.0" }, { "Artistic", "Artistic-1.0" },
    { "Artistic-2.0", "Artistic-2.0" }, { "X11", "X11" }, { "OpenSSL", "OpenSSL" },
    { "CC0-1.0", "CC0-1.0" }, { "CC0", "CC0-1.0" }, { "public-domain", "LicenseRef-public-domain" },
    { "GFDL-1.2+", "GFDL-1.2-or-later" }, { "GFDL-1.3+", "GFDL-1.3-or-later" },
    { "BSL-1.0", "BSL-1.0" }, { "Unicode-DFS-2016", "Unicode-DFS-2016" },
};

/* One short name to SPDX into out. */
static void map_term(const char *s, size_t n, char *out, size_t cap)
{
    for (size_t i = 0; i < sizeof lic_map / sizeof lic_map[0]; i++) {
        if (strlen(lic_map[i].deb) == n && strncasecmp(lic_map[i].deb, s, n) == 0) {
            snprintf(out, cap, "%s", lic_map[i].spdx);
            return;
        }
    }
    size_t o = (size_t)snprintf(out, cap, "LicenseRef-");
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        out[o++] = isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-' ? s[i] : '-';
    }
    out[o < cap ? o : cap - 1] = '\0';
}

/* "GPL-2+ or Artistic, and BSD-3-clause" -> "(GPL-2.0-or-later OR ...)". */
static void expression(const char *v, size_t n, char *out, size_t cap)
{
    size_t o = 0, terms = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o + 64 < cap;) {
        while (i < n && (v[i] == ' ' || v[i] == ',' || v[i] == '\t')) {
            i++;
        }
        size_t s = i;
        while (i < n && v[i] != ' ' && v[i] != ',' && v[i] != '\t') {
            i++;
        }
        if (i == s) {
            break;
        }
        const char *w = v + s;
        size_t wl = i - s;
        if ((wl == 2 && strncasecmp(w, "or", 2) == 0) ||
            (wl == 3 && strncasecmp(w, "and", 3) == 0)) {
            o += (size_t)snprintf(out + o, cap - o, " %s ", wl == 2 ? "OR" : "AND");
            continue;
        }
        if (wl == 4 && strncasecmp(w, "with", 4) == 0) {
            break; /* "with X exception": the base licence is what we name */
        }
        char term[160];
        map_term(w, wl, term, sizeof term);
        o += (size_t)snprintf(out + o, cap - o, "%s", term);
        terms++;
    }
    if (terms > 1 && o + 3 < cap) {
        memmove(out + 1, out, o + 1);
        out[0] = '(';
        out[o + 1] = ')';
        out[o + 2] = '\0';
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect the License of each Files paragraph into terms[]. */
static size_t collect(const char *text, size_t len, char terms[][256], size_t max)
{
    size_t nt = 0;
    bool files = false;
    const char *lic = NULL;
    size_t lic_len = 0;
    for (size_t i = 0; i <= len;) {
        size_t e = i;
        while (e < len && text[e] != '\n') {
            e++;
        }
        const char *line = text + i;
        size_t ll = e - i;
        bool blank = strspn(line, " \t") >= ll;
        if (blank || e >= len) {
            if (files && lic && nt < max) {
                expression(lic, lic_len, terms[nt], sizeof terms[nt]);
                nt += terms[nt][0] != '\0';
            }
            files = false;
            lic = NULL;
        }
        if (ll > 6 && strncasecmp(line, "Files:", 6) == 0) {
            files = true;
        } else if (ll > 8 && strncasecmp(line, "License:", 8) == 0) {
            lic = line + 8;
            lic_len = ll - 8;
        }
        i = e + 1;
    }
    return nt;
}

char *deb_license_of(const char *text, size_t len)
{
    if (!text || len < 7 || strncasecmp(text, "Format:", 7) != 0) {
        return NULL;
    }
    char (*t)[256] = calloc(LIC_MAX_TERMS, sizeof *t);
    char *ptr[LIC_MAX_TERMS];
    if (!t) {
        return NULL;
    }
    size_t n = collect(text, len, t, LIC_MAX_TERMS);
    for (size_t i = 0; i < n; i++) {
        ptr[i] = t[i];
    }
    qsort(ptr, n, sizeof *ptr, cmp_str);
    struct temper_buf b;
    temper_buf_init(&b, LIC_MAX_LEN);
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < n; i++) {
        if (i > 0 && strcmp(ptr[i], ptr[i - 1]) == 0) {
            continue;
        }
        rc = temper_buf_printf(&b, "%s%s", b.len ? " AND " : "", ptr[i]);
    }
    char *out = rc == TEMPER_OK && b.len ? temper_buf_take(&b, NULL) : NULL;
    temper_buf_cleanup(&b);
    free(t);
    return out;
}

/* temper — text and file helpers of the INI parser: ${VAR} expansion, the
 * UTF-8/control-character check of a line, capped reading of a regular file,
 * and path joining (see ini_util.h). */
#include "config.h"
#include "ini.h"
#include "ini_util.h"
#include <temper/buf.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- ${VAR} expansion -------------------------------------------------- */

int temper_ini_is_name_char(char c, int first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

static int has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            return 1;
        }
    }
    return 0;
}

/* *sp points at "${"; on success it is moved past the closing brace. */
static int expand_var(struct temper_buf *b, const char **sp, char **why)
{
    const char *s = *sp + 2;
    size_t n = 0;
    while (n <= TEMPER_INI_MAX_NAME && temper_ini_is_name_char(s[n], n == 0)) {
        n++;
    }
    if (n == 0 || n > TEMPER_INI_MAX_NAME) {
        *why = strdup("'${' must be followed by a variable name ([A-Za-z_][A-Za-z0-9_]*)");
        return TEMPER_EINVAL;
    }
    char name[TEMPER_INI_MAX_NAME + 1];
    memcpy(name, s, n);
    name[n] = '\0';
    const char *q = s + n, *def = NULL;
    if (q[0] == ':' && q[1] == '-') {
        def = q + 2;
        q = strchr(def, '}');
    }
    if (!q || *q != '}') {
        *why = temper_strdupf("'${%s' is not closed with '}'", name);
        return TEMPER_EINVAL;
    }
    *sp = q + 1;
    const char *v = getenv(name);
    if (def && (!v || !*v)) {
        return temper_buf_append(b, def, (size_t)(q - def));
    }
    if (!v) {
        *why = temper_strdupf("environment variable %s is not set "
                              "(write ${%s:-default} to give a default)", name, name);
        return TEMPER_EINVAL;
    }
    if (has_control(v)) {
        *why = temper_strdupf("environment variable %s contains a control character", name);
        return TEMPER_EINVAL;
    }
    return temper_buf_puts(b, v);
}

char *temper_ini_expand(const char *in, char **why)
{
    struct temper_buf b;
    temper_buf_init(&b, TEMPER_INI_MAX_VALUE);
    *why = NULL;
    int rc = temper_buf_append(&b, "", 0);
    const char *s = in;
    while (rc == TEMPER_OK && *s) {
        if (s[0] == '$' && s[1] == '$') {
            rc = temper_buf_append(&b, "$", 1);
            s += 2;
        } else if (s[0] == '$' && s[1] == '{') {
            rc = expand_var(&b, &s, why);
        } else {
            const char *dollar = strchr(s + 1, '$');
            size_t n = dollar ? (size_t)(dollar - s) : strlen(s);
            rc = temper_buf_append(&b, s, n);
            s += n;
        }
    }
    if (rc != TEMPER_OK) {
        if (!*why && rc == TEMPER_ELIMIT) {
            *why = temper_strdupf("value is longer than %d bytes after expansion",
                                  TEMPER_INI_MAX_VALUE);
        }
        temper_buf_cleanup(&b);
        return NULL;
    }
    return temper_buf_take(&b, NULL);
}

/* Index of the first byte that is not printable UTF-8 text (tab allowed). */
size_t temper_ini_bad_byte(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                return i;
            }
            i++;
            continue;
        }
        size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                     : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (len == 0 || i + len > n) {
            return i;
        }
        unsigned c1 = s[i + 1];
        int bad1 = (c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) ||
                   (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 > 0x8f);
        for (size_t k = 1; k < len; k++) {
            bad1 |= (s[i + k] & 0xc0) != 0x80;
        }
        if (bad1) {
            return i;
        }
        i += len;
    }
    return n;
}

int temper_ini_is_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* "dir/of/file" + "/" + rel, or rel when the file has no directory part. */
char *temper_ini_join(const char *file, const char *rel)
{
    const char *slash = strrchr(file, '/');
    if (rel[0] == '/' || !slash) {
        return strdup(rel);
    }
    return temper_strdupf("%.*s/%s", (int)(slash - file), file, rel);
}

/* Read a regular file of at most TEMPER_INI_MAX_FILE_SIZE bytes. */
int temper_ini_load_file(const char *path, char **data, size_t *len, char **why)
{
    struct stat sb;
    char *buf = NULL;
    size_t n = 0;
    int rc = TEMPER_EIO;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        *why = temper_strdupf("cannot open: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        *why = strdup("not a regular file");
        goto out;
    }
    buf = malloc(TEMPER_INI_MAX_FILE_SIZE + 1);
    if (!buf) {
        rc = TEMPER_ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, TEMPER_INI_MAX_FILE_SIZE + 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            *why = temper_strdupf("cannot read: %s", strerror(errno));
            goto out;
        }
        n += (size_t)r;
        if (r == 0 || n > TEMPER_INI_MAX_FILE_SIZE) {
            break;
        }
    }
    if (n > TEMPER_INI_MAX_FILE_SIZE) {
        *why = temper_strdupf("larger than %u bytes", TEMPER_INI_MAX_FILE_SIZE);
        goto out;
    }
    *data = buf;
    *len = n;
    buf = NULL;
    rc = TEMPER_OK;
out:
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    return rc;
}

/* Absolute directory of `path` (which need not exist). */
char *temper_ini_abs_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path))
                      : strdup(".");
    if (!dir) {
        return NULL;
    }
    char *real = realpath(dir, NULL);
    if (real || dir[0] == '/') {
        if (real) {
            free(dir);
            return real;
        }
        return dir;
    }
    char cwd[4096];
    char *abs = getcwd(cwd, sizeof cwd) ? temper_strdupf("%s/%s", cwd, dir) : NULL;
    free(dir);
    return abs;
}

void *temper_array_grow(void *v, size_t *cap, size_t n, size_t size)
{
    if (v && n < *cap) {
        return v;
    }
    size_t want = *cap ? *cap * 2 : 8;
    if (want > SIZE_MAX / size) {
        return NULL;
    }
    void *p = realloc(v, want * size);
    if (p) {
        *cap = want;
    }
    return p;
}

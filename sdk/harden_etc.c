/* temper — hardening of the staged root: users and groups, well-known
 * directories, /etc/os-release, /bin/sh of the dev variant
 * (include/temper/harden.h). */
#include "config.h"
#include "harden_int.h"
#include <temper/buf.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ETC_MAX (1u << 20)        /* passwd, group, os-release read back */
#define OSREL_VALUE_MAX 256

/* Does the colon-separated database text have an entry named `name`? */
static bool db_has(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            return true;
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return false;
}

/* Keep what the root has, append the missing entries (names in order). */
static int db_write(struct temper_harden *h, const char *root, const char *path,
                    const char *const *names, const char *const *lines)
{
    char *old = NULL;
    size_t len = 0;
    int rc = temper_rootfs_read(h->st, root, path, ETC_MAX, &old, &len);
    if (rc == TEMPER_ENOTFOUND) {
        rc = TEMPER_OK;
    }
    struct temper_buf b;
    temper_buf_init(&b, 2 * ETC_MAX);
    if (rc == TEMPER_OK && old && len) {
        rc = temper_buf_append(&b, old, len);
        if (rc == TEMPER_OK && old[len - 1] != '\n') {
            rc = temper_buf_puts(&b, "\n");
        }
    }
    for (size_t i = 0; rc == TEMPER_OK && names[i]; i++) {
        if (!old || !db_has(old, names[i])) {
            rc = temper_buf_puts(&b, lines[i]);
        }
    }
    if (rc == TEMPER_OK) {
        rc = temper_rootfs_write(h->st, root, path, b.data ? b.data : "", b.len, 0644);
    }
    temper_buf_cleanup(&b);
    free(old);
    return rc;
}

static int users(struct temper_harden *h, const char *root)
{
    static const char *const unames[] = { "root", "nobody", TEMPER_HARDEN_USER, NULL };
    static const char *const run_pw[] = {
        "root:x:0:0:root:/root:/sbin/nologin\n",
        "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n",
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
    };
    static const char *const dev_pw[] = {
        "root:x:0:0:root:/root:/bin/sh\n",
        "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n",
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh\n",
    };
    static const char *const gnames[] = { "root", "nogroup", TEMPER_HARDEN_USER, NULL };
    static const char *const groups[] = {
        "root:x:0:\n", "nogroup:x:65534:\n", "nonroot:x:65532:\n",
    };
    int rc = db_write(h, root, "etc/passwd", unames, h->dev ? dev_pw : run_pw);
    rc = rc == TEMPER_OK ? db_write(h, root, "etc/group", gnames, groups) : rc;
    rc = rc == TEMPER_OK ? temper_rootfs_mkdir(h->st, root, "home/" TEMPER_HARDEN_USER, 0700)
                         : rc;
    return rc;
}

/* ---- os-release ------------------------------------------------------------ */

static const char *const osrel_kept[] = {
    "NAME", "VERSION_ID", "VERSION", "VERSION_CODENAME", "ID", "ID_LIKE", "HOME_URL",
    "SUPPORT_URL", "BUG_REPORT_URL", NULL,
};

struct osrel {
    char *v[sizeof osrel_kept / sizeof osrel_kept[0]]; /* values by osrel_kept index */
};

static void osrel_cleanup(struct osrel *o)
{
    for (size_t i = 0; osrel_kept[i]; i++) {
        free(o->v[i]);
    }
}

/* An unquoted, printable value of at most OSREL_VALUE_MAX bytes. */
static char *osrel_value(const char *s, size_t n)
{
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        s++;
        n -= 2;
    }
    n = n > OSREL_VALUE_MAX ? OSREL_VALUE_MAX : n;
    char *v = malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; v && i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            i++;
        }
        v[o++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    }
    if (v) {
        v[o] = '\0';
    }
    return v;
}

static int osrel_parse(const char *text, struct osrel *o)
{
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        for (size_t i = 0; eq && osrel_kept[i]; i++) {
            size_t kl = strlen(osrel_kept[i]);
            if ((size_t)(eq - p) == kl && strncmp(p, osrel_kept[i], kl) == 0 && !o->v[i]) {
                o->v[i] = osrel_value(eq + 1, n - kl - 1);
                if (!o->v[i]) {
                    return TEMPER_ENOMEM;
                }
            }
        }
        p = end ? end + 1 : NULL;
    }
    return TEMPER_OK;
}

static int osrel_set(struct osrel *o, const char *key, const char *value)
{
    for (size_t i = 0; value && osrel_kept[i]; i++) {
        if (strcmp(osrel_kept[i], key) == 0 && !o->v[i]) {
            o->v[i] = osrel_value(value, strlen(value));
            return o->v[i] ? TEMPER_OK : TEMPER_ENOMEM;
        }
    }
    return TEMPER_OK;
}

static const char *osrel_get(const struct osrel *o, const char *key)
{
    for (size_t i = 0; osrel_kept[i]; i++) {
        if (strcmp(osrel_kept[i], key) == 0) {
            return o->v[i];
        }
    }
    return NULL;
}

/* KEY="value" with the shell-style escapes os-release(5) asks for. */
static int osrel_line(struct temper_buf *b, const char *key, const char *value)
{
    if (!value || !*value) {
        return TEMPER_OK;
    }
    int rc = temper_buf_printf(b, "%s=\"", key);
    for (const char *p = value; rc == TEMPER_OK && *p; p++) {
        if (strchr("\"\\$`", *p)) {
            rc = temper_buf_puts(b, "\\");
        }
        rc = rc == TEMPER_OK ? temper_buf_append(b, p, 1) : rc;
    }
    return rc == TEMPER_OK ? temper_buf_puts(b, "\"\n") : rc;
}

/* IMAGE_ID / VARIANT_ID: lower-case [a-z0-9._-]. */
static void osrel_id(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = in ? in : ""; *p && o + 1 < cap; p++) {
        char c = (char)tolower((unsigned char)*p);
        out[o++] = (isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-') ? c : '_';
    }
    out[o] = '\0';
}

static int osrel_render(const struct osrel *o, const struct temper_harden_info *info,
                        struct temper_buf *b)
{
    const char *dist = osrel_get(o, "VERSION") ? osrel_get(o, "VERSION") : "";
    const char *name = osrel_get(o, "NAME") ? osrel_get(o, "NAME") : "Linux";
    char pretty[512], image_id[128], variant_id[64], image_ver[128];
    snprintf(pretty, sizeof pretty, "%s%s%s (%s%s%s)", info->name,
             info->version ? " " : "", info->version ? info->version : "", name,
             *dist ? " " : "", dist);
    osrel_id(info->name, image_id, sizeof image_id);
    osrel_id(info->variant, variant_id, sizeof variant_id);
    osrel_id(info->version, image_ver, sizeof image_ver);
    int rc = osrel_line(b, "PRETTY_NAME", pretty);
    for (size_t i = 0; rc == TEMPER_OK && osrel_kept[i]; i++) {
        rc = osrel_line(b, osrel_kept[i], o->v[i]);
    }
    rc = rc == TEMPER_OK ? osrel_line(b, "IMAGE_ID", image_id) : rc;
    rc = rc == TEMPER_OK ? osrel_line(b, "IMAGE_VERSION", image_ver) : rc;
    rc = rc == TEMPER_OK ? osrel_line(b, "VARIANT", info->variant) : rc;
    rc = rc == TEMPER_OK ? osrel_line(b, "VARIANT_ID", variant_id) : rc;
    return rc;
}

static int os_release(struct temper_harden *h, const char *root,
                      const struct temper_harden_info *info)
{
    static const char *const sources[] = { "etc/os-release", "usr/lib/os-release", NULL };
    struct osrel o;
    memset(&o, 0, sizeof o);
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && sources[i]; i++) {
        char *text = NULL;
        rc = temper_rootfs_read(h->st, root, sources[i], ETC_MAX, &text, NULL);
        if (rc == TEMPER_OK) {
            rc = osrel_parse(text, &o);
            free(text);
            break;
        }
        rc = rc == TEMPER_ENOTFOUND ? TEMPER_OK : rc;
    }
    rc = rc == TEMPER_OK ? osrel_set(&o, "ID", info->os_id) : rc;
    rc = rc == TEMPER_OK ? osrel_set(&o, "NAME", info->os_name) : rc;
    rc = rc == TEMPER_OK ? osrel_set(&o, "VERSION_ID", info->os_version_id) : rc;
    rc = rc == TEMPER_OK ? osrel_set(&o, "VERSION_CODENAME", info->os_codename) : rc;
    struct temper_buf b;
    temper_buf_init(&b, 64 * 1024);
    rc = rc == TEMPER_OK ? osrel_render(&o, info, &b) : rc;
    if (rc == TEMPER_OK) {
        rc = temper_rootfs_write(h->st, root, "etc/os-release", b.data, b.len, 0644);
    } else {
        rc = temper_fail(h->st, rc, "%s: cannot write etc/os-release: %s", root,
                         temper_rc_str(rc));
    }
    temper_buf_cleanup(&b);
    osrel_cleanup(&o);
    return rc;
}

/* The dev variant: /bin/sh to the first shell the packages brought. */
static int dev_shell(struct temper_harden *h, const char *root)
{
    static const char *const shells[] = { "bin/dash", "usr/bin/dash", "bin/bash",
                                          "usr/bin/bash", "bin/busybox", NULL };
    if (temper_rootfs_type(root, "bin/sh") != 0) {
        return TEMPER_OK;
    }
    for (size_t i = 0; shells[i]; i++) {
        if (temper_rootfs_type(root, shells[i]) == S_IFREG) {
            char target[64];
            snprintf(target, sizeof target, "/%s", shells[i]);
            return temper_rootfs_symlink(h->st, root, "bin/sh", target);
        }
    }
    return TEMPER_OK;
}

int temper_harden_rootfs(struct temper_harden *h, const char *root,
                         const struct temper_harden_info *info)
{
    if (!h || !root || !info || !info->name) {
        return TEMPER_EINVAL;
    }
    int rc = temper_rootfs_mkdir(h->st, root, "tmp", 01777);
    rc = rc == TEMPER_OK ? temper_rootfs_mkdir(h->st, root, "root", 0700) : rc;
    if (rc == TEMPER_OK && h->c.nonroot_user) {
        rc = users(h, root);
    }
    if (rc == TEMPER_OK && h->c.os_release) {
        rc = os_release(h, root, info);
    }
    if (rc == TEMPER_OK && h->dev) {
        rc = dev_shell(h, root);
    }
    return rc;
}

/* temper — suite_structure: the hardening policy, one case per rule (suite
 * "hardening"), on by default for every image:
 *
 *   no-setuid-files      no regular file with the setuid or setgid bit
 *                        (setuid_allow: fnmatch patterns of exceptions)
 *   non-root-user        the config's User is set and is not root: not
 *                        empty, "root" or uid 0, and a name does not map to
 *                        uid 0 in the image's /etc/passwd
 *   no-shell-in-runtime  in a runtime variant (runtime_variants; the image
 *                        artifact's "variant", none = runtime) none of the
 *                        runtime_forbidden paths (shells, busybox, package
 *                        managers) resolves to a file
 *   no-world-writable    no file or directory writable by others without
 *                        the sticky bit (symlinks aside; writable_allow)
 *   no-secrets           no private key or credential: PEM private key
 *                        blocks ("-----BEGIN ... PRIVATE KEY-----" followed
 *                        by base64) and PuTTY keys in any file; SSH key
 *                        files (id_rsa, id_ed25519, ...), .netrc with a
 *                        password, .docker/config.json or .dockercfg with
 *                        auths, AWS credentials files with a secret key or
 *                        session token, .git-credentials, .pgpass, *.key
 *                        files holding DER key material, *.p12 / *.pfx
 *                        (secret_allow: fnmatch patterns of exceptions).
 *
 * The secret scan reads the first secret_max_file_size bytes of every
 * regular file; executables and libraries (ELF objects, ar archives) are
 * searched for PEM and PuTTY keys only with secret_scan_binaries, because
 * libraries such as GnuTLS embed self-test keys.  When the files or bytes
 * to scan exceed secret_max_files or secret_max_bytes the scan stops and
 * the case fails, saying so (raise the caps or exempt paths with
 * secret_allow).  Messages name paths and the kind
 * of secret, never any content. */
#include "config.h"
#include "structure.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASSWD_MAX (1024 * 1024)
#define PEM_LABEL_MAX 64
#define PEM_LOOKAHEAD 512
#define PEM_MIN_BASE64 40

struct harden {
    struct temper_stage *st;
    const struct structure_conf *conf;
    regex_t docker_rx, aws_rx;
    bool rx_ok;
    struct sc_paths secrets;
    unsigned long long files, bytes;
    bool capped;
    size_t passwd;
};

int harden_new(struct temper_stage *st, const struct structure_conf *conf,
               struct harden **out)
{
    struct harden *h = calloc(1, sizeof *h);
    *out = NULL;
    if (!h) {
        return TEMPER_ENOMEM;
    }
    h->st = st;
    h->conf = conf;
    h->passwd = SV_NONE;
    if (regcomp(&h->docker_rx, "\"(auth|identitytoken|registrytoken)\"[[:space:]]*:"
                "[[:space:]]*\"[^\"]", REG_EXTENDED | REG_NOSUB) != 0) {
        free(h);
        return temper_fail(st, TEMPER_EINTERNAL, "cannot compile the docker auth pattern");
    }
    if (regcomp(&h->aws_rx, "(aws_secret_access_key|aws_session_token)[[:blank:]]*="
                "[[:blank:]]*[^[:space:]]", REG_EXTENDED | REG_NOSUB | REG_ICASE) != 0) {
        regfree(&h->docker_rx);
        free(h);
        return temper_fail(st, TEMPER_EINTERNAL, "cannot compile the AWS key pattern");
    }
    h->rx_ok = true;
    *out = h;
    return TEMPER_OK;
}

void harden_free(struct harden *h)
{
    if (!h) {
        return;
    }
    if (h->rx_ok) {
        regfree(&h->docker_rx);
        regfree(&h->aws_rx);
    }
    sc_paths_cleanup(&h->secrets);
    free(h);
}

static bool rule_on(const struct structure_conf *c, bool rule)
{
    return c->hardening && rule;
}

int harden_want(struct harden *h, struct sv_view *v)
{
    const struct structure_conf *c = h->conf;
    int err = 0;
    if (rule_on(c, c->non_root_user)) {
        h->passwd = sv_lookup(v, "/etc/passwd", true, &err);
        if (h->passwd != SV_NONE) {
            sv_want(v, h->passwd, PASSWD_MAX, true);
        }
    }
    if (!rule_on(c, c->no_secrets)) {
        return TEMPER_OK;
    }
    char abs[SV_PATH_MAX + 2];
    for (size_t i = 0; i < v->n && !h->capped; i++) {
        const struct sv_node *n = &v->nodes[i];
        if (n->dead || n->type != SV_FILE || n->size <= 0 ||
            sc_glob_any(&c->secret_allow, sv_abs(n, abs, sizeof abs))) {
            continue;
        }
        unsigned long long take = (unsigned long long)n->size < c->secret_max_file_size
                                      ? (unsigned long long)n->size
                                      : c->secret_max_file_size;
        if (h->files + 1 > (unsigned long long)c->secret_max_files ||
            h->bytes + take > c->secret_max_bytes) {
            h->capped = true;
            break;
        }
        h->files++;
        h->bytes += take;
        sv_want(v, i, (size_t)take, false);
        v->nodes[i].scan = true;
    }
    return TEMPER_OK;
}

/* ---- the secret scan --------------------------------------------------------- */

static bool is_b64(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '+' || ch == '/' || ch == '=';
}

/* A line of at least PEM_MIN_BASE64 base64 characters within p[0..n). */
static bool base64_follows(const char *p, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (is_b64(ch)) {
            if (++run >= PEM_MIN_BASE64) {
                return true;
            }
        } else {
            run = 0;
        }
    }
    return false;
}

/* The label of the first PEM private key block in d[0..n) ("RSA PRIVATE
 * KEY", ...) into label; false when there is none. */
static bool find_pem(const char *d, size_t n, char *label, size_t cap)
{
    static const char begin[] = "-----BEGIN ";
    const size_t bl = sizeof begin - 1;
    const char *p = d, *end = d + n;
    while (p < end) {
        const char *b = memmem(p, (size_t)(end - p), begin, bl);
        if (!b) {
            return false;
        }
        const char *l = b + bl;
        size_t ll = 0;
        while (l + ll < end && ll < PEM_LABEL_MAX &&
               ((l[ll] >= 'A' && l[ll] <= 'Z') || (l[ll] >= '0' && l[ll] <= '9') ||
                l[ll] == ' ')) {
            ll++;
        }
        bool closed = (size_t)(end - (l + ll)) >= 5 && memcmp(l + ll, "-----", 5) == 0;
        bool key = (ll >= 11 && memcmp(l + ll - 11, "PRIVATE KEY", 11) == 0) ||
                   (ll >= 17 && memcmp(l + ll - 17, "PRIVATE KEY BLOCK", 17) == 0);
        const char *after = l + ll + 5;
        size_t la = after < end ? (size_t)(end - after) : 0;
        if (closed && key && base64_follows(after, la < PEM_LOOKAHEAD ? la : PEM_LOOKAHEAD)) {
            size_t c = ll < cap - 1 ? ll : cap - 1;
            memcpy(label, l, c);
            label[c] = '\0';
            return true;
        }
        p = b + bl;
    }
    return false;
}

static bool putty_key(const char *d, size_t n)
{
    static const char mark[] = "PuTTY-User-Key-File-";
    const char *p = memmem(d, n, mark, sizeof mark - 1);
    return p && (p == d || p[-1] == '\n');
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool one_of(const char *s, const char *const *names)
{
    for (; *names; names++) {
        if (strcmp(s, *names) == 0) {
            return true;
        }
    }
    return false;
}

/* What a file's name and content say, or NULL (a static string). */
static const char *by_name(const struct harden *h, const char *path, const char *data,
                           size_t len)
{
    static const char *const ssh[] = { "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519",
                                       "id_ecdsa_sk", "id_ed25519_sk", NULL };
    static const char *const netrc[] = { ".netrc", "_netrc", NULL };
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    bool text_ok = memchr(data, '\0', len) == NULL; /* regexec stops at NUL */
    if (one_of(base, ssh)) {
        return "SSH private key file";
    }
    if (one_of(base, netrc) && memmem(data, len, "password", 8)) {
        return "netrc with a password";
    }
    if ((ends_with(path, "/.docker/config.json") || strcmp(base, ".dockercfg") == 0) &&
        text_ok && regexec(&h->docker_rx, data, 0, NULL, 0) == 0) {
        return "container registry credentials";
    }
    if ((ends_with(path, "/.aws/credentials") || ends_with(path, "/.aws/config")) && text_ok &&
        regexec(&h->aws_rx, data, 0, NULL, 0) == 0) {
        return "AWS credentials";
    }
    if (strcmp(base, ".git-credentials") == 0 && memchr(data, '@', len)) {
        return "git credentials";
    }
    if (strcmp(base, ".pgpass") == 0) {
        return "PostgreSQL password file";
    }
    if (ends_with(base, ".key") && len >= 64 && (unsigned char)data[0] == 0x30 &&
        ((unsigned char)data[1] == 0x82 || (unsigned char)data[1] == 0x81)) {
        return "DER key material";
    }
    if (ends_with(base, ".p12") || ends_with(base, ".pfx")) {
        return "PKCS#12 key store";
    }
    return NULL;
}

/* An ELF object or an ar archive (static library, .deb). */
static bool binary_object(const char *d, size_t n)
{
    return (n >= 4 && memcmp(d, "\177ELF", 4) == 0) ||
           (n >= 8 && memcmp(d, "!<arch>\n", 8) == 0);
}

int harden_scan(void *ctx, struct sv_view *v, const struct sv_content *c)
{
    struct harden *h = ctx;
    char label[PEM_LABEL_MAX + 1];
    bool look = h->conf->secret_scan_binaries || !binary_object(c->data, c->len);
    bool pem = look && find_pem(c->data, c->len, label, sizeof label);
    bool putty = look && !pem && putty_key(c->data, c->len);
    int rc = TEMPER_OK;
    char abs[SV_PATH_MAX + 2];
    for (size_t k = 0; rc == TEMPER_OK && k < c->n_nodes; k++) {
        const struct sv_node *n = &v->nodes[c->nodes[k]];
        if (!n->scan) {
            continue; /* asked for by the user rule or a content check only */
        }
        const char *p = sv_abs(n, abs, sizeof abs);
        const char *what = by_name(h, p, c->data, c->len);
        if (pem) {
            rc = sc_paths_add(&h->secrets, "%s (PEM %s)", p, label);
        } else if (putty) {
            rc = sc_paths_add(&h->secrets, "%s (PuTTY private key)", p);
        } else if (what) {
            rc = sc_paths_add(&h->secrets, "%s (%s)", p, what);
        }
    }
    return rc;
}

/* ---- the rules ------------------------------------------------------------- */

static int record(struct harden *h, const char *name, long long t0,
                  const struct sc_paths *found, const char *what, const char *extra)
{
    struct temper_buf msg;
    temper_buf_init(&msg, 64 * 1024);
    int rc = TEMPER_OK;
    if (found->n) {
        rc = temper_buf_printf(&msg, "%s: ", what);
        rc = rc == TEMPER_OK ? sc_paths_join(found, &msg) : rc;
    }
    if (rc == TEMPER_OK && extra) {
        rc = temper_buf_printf(&msg, "%s%s", msg.len ? "; " : "", extra);
    }
    if (rc == TEMPER_OK || rc == TEMPER_ELIMIT) {
        rc = sc_case(h->st, "hardening", name,
                     msg.len ? TEMPER_CASE_FAILED : TEMPER_CASE_PASSED, t0,
                     msg.len ? msg.data : NULL, NULL);
    }
    temper_buf_cleanup(&msg);
    return rc;
}

static int skipped(struct harden *h, const char *name, const char *why)
{
    return sc_case(h->st, "hardening", name, TEMPER_CASE_SKIPPED, sc_now_ms(), why, NULL);
}

/* Mode-bit rules over every live node. */
static int mode_rule(struct harden *h, struct sv_view *v, bool setuid)
{
    long long t0 = sc_now_ms();
    struct sc_paths found;
    memset(&found, 0, sizeof found);
    char abs[SV_PATH_MAX + 2];
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < v->n; i++) {
        const struct sv_node *n = &v->nodes[i];
        bool bad = setuid ? n->type == SV_FILE && (n->mode & 06000)
                          : n->type != SV_SYMLINK && (n->mode & 0002) && !(n->mode & 01000);
        const struct temper_strlist *allow = setuid ? &h->conf->setuid_allow
                                                    : &h->conf->writable_allow;
        if (n->dead || !bad || sc_glob_any(allow, sv_abs(n, abs, sizeof abs))) {
            continue;
        }
        rc = sc_paths_add(&found, "%s (%04o)", abs, n->mode);
    }
    if (rc == TEMPER_OK) {
        rc = setuid ? record(h, "no-setuid-files", t0, &found, "setuid/setgid files", NULL)
                    : record(h, "no-world-writable", t0, &found,
                             "world-writable without the sticky bit", NULL);
    }
    sc_paths_cleanup(&found);
    return rc;
}

/* Why the user is root, or NULL (a static string or in buf). */
static const char *root_user(struct harden *h, struct sv_view *v, const char *user,
                             char *buf, size_t cap)
{
    unsigned long uid = 0, gid = 0;
    const struct sv_node *pw = h->passwd != SV_NONE ? &v->nodes[h->passwd] : NULL;
    if (!*user) {
        return "the image sets no user: containers run as root";
    }
    if (strcmp(user, "root") == 0 || strspn(user, "0") == strlen(user)) {
        snprintf(buf, cap, "user '%s' is root", user);
        return buf;
    }
    if (strspn(user, "0123456789") == strlen(user)) {
        return NULL;
    }
    int found = pw && pw->content ? sc_passwd_find(pw->content, pw->content_len, user, &uid,
                                                   &gid, NULL)
                                  : 0;
    if (found <= 0) {
        snprintf(buf, cap, "user '%s' is not in the image's /etc/passwd", user);
        return buf;
    }
    if (uid == 0) {
        snprintf(buf, cap, "user '%s' has uid 0 in /etc/passwd", user);
        return buf;
    }
    return NULL;
}

static int user_rule(struct harden *h, struct sv_view *v, const struct sc_image *im)
{
    long long t0 = sc_now_ms();
    char *user = NULL, *group = NULL;
    char buf[512];
    struct sc_paths none;
    memset(&none, 0, sizeof none);
    int rc = sc_user_split(im->config.user ? im->config.user : "", &user, &group);
    if (rc == TEMPER_OK) {
        rc = record(h, "non-root-user", t0, &none, "",
                    root_user(h, v, user, buf, sizeof buf));
    }
    free(user);
    free(group);
    return rc;
}

static int runtime_rule(struct harden *h, struct sv_view *v, const struct temper_artifact *art)
{
    long long t0 = sc_now_ms();
    const char *variant = art ? temper_artifact_get(art, TEMPER_ATTR_VARIANT) : NULL;
    variant = variant && *variant ? variant : "runtime";
    bool runtime = false;
    for (size_t i = 0; i < h->conf->runtime_variants.n && !runtime; i++) {
        runtime = strcmp(h->conf->runtime_variants.v[i], variant) == 0;
    }
    if (!runtime) {
        char why[160];
        snprintf(why, sizeof why, "variant '%.100s' is not a runtime variant", variant);
        return skipped(h, "no-shell-in-runtime", why);
    }
    struct sc_paths found;
    memset(&found, 0, sizeof found);
    size_t seen[SC_PATHS_SHOWN * 4];
    size_t n_seen = 0;
    int rc = TEMPER_OK;
    for (size_t i = 0; rc == TEMPER_OK && i < h->conf->runtime_forbidden.n; i++) {
        int err = 0;
        const char *p = h->conf->runtime_forbidden.v[i];
        size_t k = sv_lookup(v, p, true, &err);
        bool dup = false;
        for (size_t s = 0; s < n_seen && !dup; s++) {
            dup = seen[s] == k;
        }
        if (k == SV_NONE || dup || v->nodes[k].type != SV_FILE) {
            continue;
        }
        if (n_seen < sizeof seen / sizeof seen[0]) {
            seen[n_seen++] = k;
        }
        rc = sc_paths_add(&found, "%s", p);
    }
    if (rc == TEMPER_OK) {
        rc = record(h, "no-shell-in-runtime", t0, &found,
                    "shell or package manager in a runtime image", NULL);
    }
    sc_paths_cleanup(&found);
    return rc;
}

static int secrets_rule(struct harden *h)
{
    long long t0 = sc_now_ms();
    char extra[256];
    if (h->capped) {
        snprintf(extra, sizeof extra, "scan stopped after %llu files / %llu bytes "
                 "(secret_max_files / secret_max_bytes): raise them or exempt paths with "
                 "secret_allow", h->files, h->bytes);
    }
    return record(h, "no-secrets", t0, &h->secrets, "private keys or credentials",
                  h->capped ? extra : NULL);
}

int harden_run(struct harden *h, struct sv_view *v, const struct sc_image *im,
               const struct temper_artifact *art)
{
    const struct structure_conf *c = h->conf;
    static const char off[] = "disabled by configuration";
    int rc = rule_on(c, c->no_setuid) ? mode_rule(h, v, true)
                                      : skipped(h, "no-setuid-files", off);
    if (rc == TEMPER_OK) {
        rc = rule_on(c, c->non_root_user) ? user_rule(h, v, im)
                                          : skipped(h, "non-root-user", off);
    }
    if (rc == TEMPER_OK) {
        rc = rule_on(c, c->no_shell_in_runtime) ? runtime_rule(h, v, art)
                                                : skipped(h, "no-shell-in-runtime", off);
    }
    if (rc == TEMPER_OK) {
        rc = rule_on(c, c->no_world_writable) ? mode_rule(h, v, false)
                                              : skipped(h, "no-world-writable", off);
    }
    if (rc == TEMPER_OK) {
        rc = rule_on(c, c->no_secrets) ? secrets_rule(h) : skipped(h, "no-secrets", off);
    }
    return rc;
}

/* temper — signer plugin test helpers (see signer_testlib.h). */
#include "config.h"
#include "tests/plugins/signer_testlib.h"
#include "core/loader.h"
#include "sdk/host.h"
#include <temper/buf.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <ltdl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int load(struct sgt *t, const char *name, char **err)
{
    setenv("TEMPER_NO_INSTALLED_PLUGINS", "1", 1);
    LTDL_SET_PRELOADED_SYMBOLS();
#ifdef SIGNER_TEST_PRELOADED
    const char *dirs[1] = { NULL }; /* static build: modules are linked in */
    size_t n_dirs = 0;
#else
    const char *plugins = getenv("TEMPER_PLUGINS");
    const char *dirs[1] = { plugins ? plugins : "plugins" };
    size_t n_dirs = 1;
#endif
    const struct temper_module *m = NULL;
    int rc = temper_loader_new(dirs, n_dirs, &t->loader, err);
    if (rc == TEMPER_OK) {
        rc = temper_loader_load(t->loader, TEMPER_KIND_SIGNER, name, &m, err);
    }
    if (rc != TEMPER_OK) {
        return rc;
    }
    t->desc = m->desc;
    t->ops = m->desc->ops;
    printf("# signer_%s loaded from %s\n", name, m->path);
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(t->dir, sizeof t->dir, "%s/temper-signer-......",
                     tmp && tmp[0] ? tmp : "/tmp");
    if (n > 6 && (size_t)n < sizeof t->dir) {
        memset(t->dir + n - 6, 'X', 6); /* the mkdtemp() template */
    }
    if (n <= 6 || (size_t)n >= sizeof t->dir || !mkdtemp(t->dir)) {
        *err = temper_strdupf("cannot make a scratch directory: %s", strerror(errno));
        t->dir[0] = '\0';
        return TEMPER_EIO;
    }
    return TEMPER_OK;
}

int sgt_init(struct sgt *t, const char *name)
{
    char *err = NULL;
    memset(t, 0, sizeof *t);
    t->log = tmpfile();
    if (t->log) {
        temper_log_set_stream(t->log);
        temper_log_set_level(TEMPER_LOG_LVL_DEBUG);
    }
    int rc = t->log ? load(t, name, &err) : TEMPER_EIO;
    if (rc != TEMPER_OK) {
        printf("# cannot load signer_%s: %s\n", name, err ? err : temper_rc_str(rc));
    }
    free(err);
    fflush(stdout); /* children must not repeat buffered output */
    return rc;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void sgt_cleanup(struct sgt *t)
{
    char *log = t->log ? sgt_log_text(t) : NULL;
    /* the whole log as TAP comments, so the .log file shows every message */
    for (char *l = log, *nl = NULL; l && *l; l = nl ? nl + 1 : l + strlen(l)) {
        nl = strchr(l, '\n');
        printf("# log: %.*s\n", nl ? (int)(nl - l) : (int)strlen(l), l);
    }
    free(log);
    if (t->dir[0]) {
        nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    temper_loader_free(t->loader);
    temper_log_set_stream(NULL);
    if (t->log) {
        fclose(t->log);
    }
    temper_log_clear_secrets();
    memset(t, 0, sizeof *t);
}

char *sgt_path(const struct sgt *t, const char *name)
{
    return temper_strdupf("%s/%s", t->dir, name);
}

char *sgt_log_text(struct sgt *t)
{
    fflush(t->log);
    long end = ftell(t->log);
    char *buf = end >= 0 ? calloc(1, (size_t)end + 1) : NULL;
    if (buf) {
        rewind(t->log);
        size_t got = fread(buf, 1, (size_t)end, t->log);
        buf[got] = '\0';
        fseek(t->log, 0, SEEK_END);
    }
    return buf;
}

/* ---- conf blocks: "key=value" through the option table ----------------- */

static const struct temper_option *find_opt(const struct temper_plugin *d, const char *key,
                                            size_t klen)
{
    for (const struct temper_option *o = d->options; o && o->type != TEMPER_OPT_END; o++) {
        if (strlen(o->key) == klen && strncmp(o->key, key, klen) == 0) {
            return o;
        }
    }
    return NULL;
}

static int set_value(const struct temper_option *o, char *conf, const char *v)
{
    char *field = conf + o->offset;
    switch (o->type) {
    case TEMPER_OPT_STR:
    case TEMPER_OPT_PATH:
        free(*(char **)field);
        *(char **)field = strdup(v);
        return *(char **)field ? 0 : -1;
    case TEMPER_OPT_BOOL:
        *(bool *)field = strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 ||
                         strcmp(v, "on") == 0 || strcmp(v, "1") == 0;
        return 0;
    case TEMPER_OPT_ENUM:
        for (int i = 0; o->choices && o->choices[i]; i++) {
            if (strcmp(o->choices[i], v) == 0) {
                *(int *)field = i;
                return 0;
            }
        }
        return -1;
    default:
        return -1; /* the signers use no other type */
    }
}

static void conf_free(const struct temper_plugin *d, void *conf)
{
    for (const struct temper_option *o = d->options; conf && o && o->type != TEMPER_OPT_END;
         o++) {
        if (o->type == TEMPER_OPT_STR || o->type == TEMPER_OPT_PATH) {
            free(*(char **)((char *)conf + o->offset));
        }
    }
    free(conf);
}

static void *conf_new(const struct temper_plugin *d, const char *const *kv)
{
    char *conf = calloc(1, d->conf_size);
    int bad = conf ? 0 : 1;
    for (const struct temper_option *o = d->options; conf && o && o->type != TEMPER_OPT_END;
         o++) {
        if (o->def && set_value(o, conf, o->def) != 0) {
            bad = 1;
        }
    }
    for (size_t i = 0; !bad && kv && kv[i]; i++) {
        const char *eq = strchr(kv[i], '=');
        const struct temper_option *o = eq ? find_opt(d, kv[i], (size_t)(eq - kv[i])) : NULL;
        if (!o || set_value(o, conf, eq + 1) != 0) {
            printf("# bad test setting %s\n", kv[i]);
            bad = 1;
        }
        if (o && (o->flags & TEMPER_OPT_SECRET)) {
            (void)!temper_log_add_secret(eq + 1); /* as the core does */
        }
    }
    if (bad) {
        conf_free(d, conf);
        return NULL;
    }
    return conf;
}

int sgt_open(struct sgt *t, struct sgt_inst *in, const char *const *kv)
{
    memset(in, 0, sizeof *in);
    in->st = temper_stage_new(t->desc, "test");
    in->conf = in->st ? conf_new(t->desc, kv) : NULL;
    if (!in->conf) {
        return TEMPER_EINVAL;
    }
    return t->desc->open(in->st, in->conf, &in->state);
}

void sgt_close(struct sgt *t, struct sgt_inst *in)
{
    t->desc->close(in->state);
    conf_free(t->desc, in->conf);
    temper_stage_free(in->st);
    memset(in, 0, sizeof *in);
}

const char *sgt_error(const struct sgt_inst *in)
{
    const char *e = temper_stage_error(in->st);
    return e ? e : "";
}

/* ---- tools ------------------------------------------------------------- */

int sgt_run(const char *const argv[], const char *out_path)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        int out = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_RDWR);
        if (out < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(nul, 2) < 0) {
            _exit(127);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool sgt_have(const char *prog)
{
    const char *path = getenv("PATH");
    const char *d = path ? path : "/usr/bin:/bin";
    bool found = false;
    while (!found && *d) {
        const char *end = strchr(d, ':');
        size_t n = end ? (size_t)(end - d) : strlen(d);
        char *p = temper_strdupf("%.*s/%s", (int)n, d, prog);
        found = p && n > 0 && access(p, X_OK) == 0;
        free(p);
        d += end ? n + 1 : n;
    }
    return found;
}

int sgt_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        return -1;
    }
    ssize_t w = write(fd, data, len);
    int ok = w == (ssize_t)len && fchmod(fd, (mode_t)mode) == 0;
    return close(fd) == 0 && ok ? 0 : -1;
}

char *sgt_read_file(const char *path, size_t *len)
{
    struct temper_buf b;
    char chunk[4096];
    temper_buf_init(&b, 16u << 20);
    int fd = open(path, O_RDONLY);
    ssize_t r = 0;
    while (fd >= 0 && (r = read(fd, chunk, sizeof chunk)) > 0) {
        if (temper_buf_append(&b, chunk, (size_t)r) != TEMPER_OK) {
            r = -1;
            break;
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    if (fd < 0 || r < 0) {
        temper_buf_cleanup(&b);
        return NULL;
    }
    return temper_buf_take(&b, len);
}

/* ---- verification ------------------------------------------------------ */

static gnutls_sign_algorithm_t gnutls_scheme(const char *alg, gnutls_pubkey_t pub)
{
    unsigned bits = 0;
    int pk = gnutls_pubkey_get_pk_algorithm(pub, &bits);
    if (strcmp(alg, "ecdsa-p256-sha256") == 0) {
        return GNUTLS_SIGN_ECDSA_SHA256;
    }
    if (strcmp(alg, "ed25519") == 0) {
        return GNUTLS_SIGN_EDDSA_ED25519;
    }
    if (strcmp(alg, "rsa-pkcs1-sha256") == 0) {
        return GNUTLS_SIGN_RSA_SHA256;
    }
    if (strcmp(alg, "rsa-pss-sha256") == 0 && pk == GNUTLS_PK_RSA) {
        return GNUTLS_SIGN_RSA_PSS_RSAE_SHA256;
    }
    return GNUTLS_SIGN_UNKNOWN;
}

int sgt_verify_gnutls(const char *pub_pem, const char *alg, const void *msg, size_t len,
                      const unsigned char *sig, size_t sig_len)
{
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t pd = { (unsigned char *)pub_pem, (unsigned)strlen(pub_pem) };
    gnutls_datum_t md = { (unsigned char *)msg, (unsigned)len };
    gnutls_datum_t sd = { (unsigned char *)sig, (unsigned)sig_len };
    int ok = 0;
    if (gnutls_pubkey_init(&pub) >= 0 &&
        gnutls_pubkey_import(pub, &pd, GNUTLS_X509_FMT_PEM) >= 0) {
        ok = gnutls_pubkey_verify_data2(pub, gnutls_scheme(alg, pub), 0, &md, &sd) >= 0;
    }
    gnutls_pubkey_deinit(pub);
    return ok;
}

int sgt_verify_openssl(const struct sgt *t, const char *pub_pem_path, const char *alg,
                       const void *msg, size_t len, const unsigned char *sig, size_t sig_len)
{
    char *mp = sgt_path(t, "verify.msg");
    char *sp = sgt_path(t, "verify.sig");
    int rc = -1;
    if (mp && sp && sgt_write_file(mp, msg, len, 0600) == 0 &&
        sgt_write_file(sp, sig, sig_len, 0600) == 0) {
        if (strcmp(alg, "ed25519") == 0) {
            const char *argv[] = { "openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                                   pub_pem_path, "-rawin", "-in", mp, "-sigfile", sp, NULL };
            rc = sgt_run(argv, NULL);
        } else if (strcmp(alg, "rsa-pss-sha256") == 0) {
            const char *argv[] = { "openssl", "dgst", "-sha256", "-sigopt",
                                   "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32",
                                   "-verify", pub_pem_path, "-signature", sp, mp, NULL };
            rc = sgt_run(argv, NULL);
        } else {
            const char *argv[] = { "openssl", "dgst", "-sha256", "-verify", pub_pem_path,
                                   "-signature", sp, mp, NULL };
            rc = sgt_run(argv, NULL);
        }
    }
    free(mp);
    free(sp);
    return rc < 0 || rc == 127 ? -1 : rc == 0;
}

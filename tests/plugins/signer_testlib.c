/* temper — signer plugin test helpers (see signer_testlib.h). */
#include "config.h"
#include "tests/plugins/signer_testlib.h"
#include <temper/buf.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int sgt_init(struct sgt *t, const char *name)
{
    memset(t, 0, sizeof *t);
    t->name = name;
    t->log_ok = ph_log_capture() == TEMPER_OK;
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(t->dir, sizeof t->dir, "%s/temper-signer-......",
                     tmp && tmp[0] ? tmp : "/tmp");
    if (n > 6 && (size_t)n < sizeof t->dir) {
        memset(t->dir + n - 6, 'X', 6); /* the mkdtemp() template */
    }
    int rc = TEMPER_OK;
    if (n <= 6 || (size_t)n >= sizeof t->dir || !mkdtemp(t->dir)) {
        printf("# cannot make a scratch directory: %s\n", strerror(errno));
        t->dir[0] = '\0';
        rc = TEMPER_EIO;
    } else if (!t->log_ok) {
        printf("# cannot capture the log\n");
        rc = TEMPER_EIO;
    }
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
    char *log = t->log_ok ? sgt_log_text(t) : NULL;
    /* the whole log as TAP comments, so the .log file shows every message */
    for (char *l = log, *nl = NULL; l && *l; l = nl ? nl + 1 : l + strlen(l)) {
        nl = strchr(l, '\n');
        printf("# log: %.*s\n", nl ? (int)(nl - l) : (int)strlen(l), l);
    }
    free(log);
    if (t->dir[0]) {
        nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    ph_log_release();
    temper_log_clear_secrets();
    memset(t, 0, sizeof *t);
}

char *sgt_path(const struct sgt *t, const char *name)
{
    return temper_strdupf("%s/%s", t->dir, name);
}

char *sgt_log_text(struct sgt *t)
{
    (void)t;
    return ph_log_text();
}

int sgt_open(struct sgt *t, struct ph *in, const char *const *kv)
{
    char *err = NULL;
    int rc = ph_load(in, TEMPER_KIND_SIGNER, t->name, kv, &err);
    if (rc != TEMPER_OK) {
        printf("# cannot load signer_%s: %s\n", t->name, err ? err : temper_rc_str(rc));
        free(err);
        return rc;
    }
    return ph_open(in);
}

void sgt_close(struct sgt *t, struct ph *in)
{
    (void)t;
    ph_close(in);
}

const char *sgt_error(const struct ph *in)
{
    const char *e = in->st ? temper_stage_error(in->st) : NULL;
    return e ? e : "";
}

const struct temper_signer_ops *sgt_ops(const struct ph *in)
{
    return ph_ops(in);
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

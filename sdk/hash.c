/* temper — streaming SHA-256 on gnutls (see include/temper/hash.h).
 *
 * gnutls >= 3.3 initialises itself when loaded; plugins and this file never
 * call gnutls_global_init (the core does, once). */
#include <temper/hash.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_READ_CHUNK (64 * 1024)

struct temper_sha256 {
    gnutls_hash_hd_t hd;
    int failed; /* a gnutls call failed: final yields no digest */
};

struct temper_sha256 *temper_sha256_new(void)
{
    struct temper_sha256 *h = calloc(1, sizeof *h);
    if (!h) {
        return NULL;
    }
    if (gnutls_hash_init(&h->hd, GNUTLS_DIG_SHA256) < 0) {
        free(h);
        return NULL;
    }
    return h;
}

void temper_sha256_update(struct temper_sha256 *h, const void *p, size_t n)
{
    if (!h || n == 0) {
        return;
    }
    if (!p || gnutls_hash(h->hd, p, n) < 0) {
        h->failed = 1;
    }
}

static void to_hex(const unsigned char *raw, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 0x0f];
    }
    hex[2 * n] = '\0';
}

/* Final digest; the context restarts.  TEMPER_ECRYPTO when a gnutls call
 * failed since the last restart (then out is zeroed and hex is ""). */
static int sha256_finish(struct temper_sha256 *h, unsigned char out[TEMPER_SHA256_LEN],
                         char *hex)
{
    unsigned char tmp[TEMPER_SHA256_LEN];
    gnutls_hash_output(h->hd, tmp); /* also resets the gnutls state */
    int failed = h->failed;
    h->failed = 0;
    if (failed) {
        memset(tmp, 0, sizeof tmp);
    }
    if (out) {
        memcpy(out, tmp, sizeof tmp);
    }
    if (hex) {
        if (failed) {
            hex[0] = '\0';
        } else {
            to_hex(tmp, sizeof tmp, hex);
        }
    }
    return failed ? TEMPER_ECRYPTO : TEMPER_OK;
}

void temper_sha256_final(struct temper_sha256 *h, unsigned char out[TEMPER_SHA256_LEN],
                         char *hex)
{
    if (!h) {
        if (hex) {
            hex[0] = '\0';
        }
        return;
    }
    (void)sha256_finish(h, out, hex);
}

void temper_sha256_free(struct temper_sha256 *h)
{
    if (!h) {
        return;
    }
    gnutls_hash_deinit(h->hd, NULL);
    free(h);
}

int temper_sha256_hex(const void *p, size_t n, char *hex)
{
    if (!hex || (!p && n)) {
        return TEMPER_EINVAL;
    }
    hex[0] = '\0';
    struct temper_sha256 *h = temper_sha256_new();
    if (!h) {
        return TEMPER_ENOMEM;
    }
    temper_sha256_update(h, p, n);
    int rc = sha256_finish(h, NULL, hex);
    temper_sha256_free(h);
    return rc;
}

/* Stream fd into h; TEMPER_EIO on a read error. */
static int hash_fd(struct temper_sha256 *h, int fd, unsigned long long *total)
{
    unsigned char *buf = malloc(HASH_READ_CHUNK);
    int rc = TEMPER_OK;
    if (!buf) {
        return TEMPER_ENOMEM;
    }
    *total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, HASH_READ_CHUNK);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = TEMPER_EIO;
            break;
        }
        if (r == 0) {
            break;
        }
        temper_sha256_update(h, buf, (size_t)r);
        *total += (unsigned long long)r;
    }
    free(buf);
    return rc;
}

int temper_sha256_file(const char *path, char *hex, unsigned long long *size)
{
    struct temper_sha256 *h = NULL;
    unsigned long long total = 0;
    int fd = -1;
    int rc = TEMPER_OK;
    struct stat sb;

    if (!path || !hex) {
        return TEMPER_EINVAL;
    }
    hex[0] = '\0';
    /* O_NONBLOCK: a FIFO must not hang the open; only regular files pass */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        rc = errno == ENOENT ? TEMPER_ENOTFOUND : TEMPER_EIO;
        goto out;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = TEMPER_EIO;
        goto out;
    }
    h = temper_sha256_new();
    if (!h) {
        rc = TEMPER_ENOMEM;
        goto out;
    }
    rc = hash_fd(h, fd, &total);
    if (rc == TEMPER_OK) {
        rc = sha256_finish(h, NULL, hex);
    }
    if (rc == TEMPER_OK && size) {
        *size = total;
    }
out:
    if (rc != TEMPER_OK) {
        hex[0] = '\0';
    }
    temper_sha256_free(h);
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

static int hex_nibble(unsigned char c, int *bad)
{
    /* branch-free: no early exit that would leak the position of a mismatch */
    int lower = c | 0x20;
    int is_dig = (unsigned)(c - '0') < 10;
    int is_hex = (unsigned)(lower - 'a') < 6;
    *bad |= !(is_dig | is_hex);
    return is_dig * (c - '0') + is_hex * (lower - 'a' + 10);
}

int temper_hex_equal(const char *a, const char *b)
{
    if (!a || !b) {
        return 0;
    }
    size_t n = strlen(a);
    if (n == 0 || n != strlen(b)) {
        return 0; /* the length of a digest is not secret */
    }
    int bad = 0;
    unsigned diff = 0;
    for (size_t i = 0; i < n; i++) {
        int x = hex_nibble((unsigned char)a[i], &bad);
        int y = hex_nibble((unsigned char)b[i], &bad);
        diff |= (unsigned)(x ^ y);
    }
    return diff == 0 && !bad;
}

/* temper — Alpine signed gzip streams: member boundaries, the signature tar
 * segment, RSA verification.
 *
 * An APKINDEX.tar.gz (and a v2 .apk) is several gzip members glued together;
 * the signature covers the raw bytes of the member(s) after the first, so
 * the boundary must be exact.  libarchive decompresses concatenated members
 * as one stream and tells no boundary, and it does not check gzip CRCs.  So
 * a member's end is found by trying the candidate offsets (the end of the
 * input, or a following "1f 8b 08") in order: the first prefix that
 * decompresses completely AND whose 8-byte trailer matches the CRC-32 and
 * length of what came out is the member. */
#include "config.h"
#include "pkgindex_int.h"
#include <temper/buf.h>
#include <archive.h>
#include <archive_entry.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>

#define GZ_MAX_TRIES 64
#define SIG_MAX (16u * 1024u)
#define KEY_NAME_MAX 255
#define RSA_MIN_BITS 2048

uint32_t pk_crc32(uint32_t crc, const void *p, size_t n)
{
    /* CRC-32 (gzip), a nibble at a time: small const table, no set-up */
    static const uint32_t t[16] = {
        0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
        0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
        0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
    };
    const unsigned char *b = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc = t[(crc ^ b[i]) & 15] ^ (crc >> 4);
        crc = t[(crc ^ (b[i] >> 4)) & 15] ^ (crc >> 4);
    }
    return ~crc;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Decompress data[0..len) completely, quietly: false on any error. */
static bool gunzip_all(const unsigned char *data, size_t len, size_t max,
                       struct temper_buf *out)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e = NULL;
    bool ok = a && archive_read_support_filter_gzip(a) == ARCHIVE_OK &&
              archive_read_support_format_raw(a) == ARCHIVE_OK &&
              archive_read_open_memory(a, data, len) == ARCHIVE_OK &&
              archive_read_next_header(a, &e) == ARCHIVE_OK;
    temper_buf_init(out, max);
    while (ok) {
        char block[16384];
        la_ssize_t r = archive_read_data(a, block, sizeof block);
        if (r <= 0) {
            ok = r == 0;
            break;
        }
        ok = temper_buf_append(out, block, (size_t)r) == TEMPER_OK;
    }
    if (a) {
        archive_read_free(a);
    }
    if (!ok) {
        temper_buf_cleanup(out);
    }
    return ok;
}

int pk_gzip_member(struct temper_stage *st, const char *name, const unsigned char *data,
                   size_t len, size_t scan, size_t out_max, size_t *end, unsigned char **out,
                   size_t *out_len)
{
    (void)st;
    (void)name;
    if (len < 20 || data[0] != 0x1f || data[1] != 0x8b || data[2] != 0x08) {
        return TEMPER_EFORMAT;
    }
    size_t limit = scan < len ? scan : len;
    int tries = 0;
    for (size_t k = 20; k <= limit && tries < GZ_MAX_TRIES; k++) {
        bool candidate = k == len || (k + 3 <= len && data[k] == 0x1f &&
                                      data[k + 1] == 0x8b && data[k + 2] == 0x08);
        if (!candidate) {
            continue;
        }
        tries++;
        struct temper_buf b;
        if (!gunzip_all(data, k, out_max, &b)) {
            continue;
        }
        if (pk_crc32(0, b.data, b.len) != le32(data + k - 8) ||
            (uint32_t)b.len != le32(data + k - 4)) {
            temper_buf_cleanup(&b);
            continue;
        }
        *end = k;
        if (out) {
            *out_len = b.len;
            *out = (unsigned char *)temper_buf_take(&b, NULL);
            if (!*out) {
                return TEMPER_ENOMEM;
            }
        }
        temper_buf_cleanup(&b);
        return TEMPER_OK;
    }
    return TEMPER_ENOTFOUND;
}

bool pk_path_safe(const char *p)
{
    if (!p || !*p || *p == '/') {
        return false;
    }
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            return false;
        }
        p += n;
        while (*p == '/') {
            p++;
        }
    }
    return true;
}

static bool tar_checksum_ok(const unsigned char *h)
{
    unsigned long sum = 0, want = 0;
    for (size_t i = 0; i < 512; i++) {
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    }
    size_t i = 148;
    while (i < 156 && h[i] == ' ') {
        i++;
    }
    size_t digits = 0;
    for (; i < 156 && h[i] >= '0' && h[i] <= '7'; i++, digits++) {
        want = want * 8 + (unsigned long)(h[i] - '0');
    }
    return digits > 0 && sum == want;
}

static bool key_name_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > KEY_NAME_MAX || strcmp(k, ".") == 0 || strcmp(k, "..") == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == '\\') {
            return false;
        }
    }
    return true;
}

static int sig_size(const unsigned char *h, size_t *size)
{
    unsigned long long v = 0;
    size_t i = 124;
    while (i < 136 && h[i] == ' ') {
        i++;
    }
    size_t digits = 0;
    for (; i < 136 && h[i] >= '0' && h[i] <= '7'; i++, digits++) {
        v = v * 8 + (unsigned)(h[i] - '0');
    }
    if (!digits || v == 0 || v > SIG_MAX) {
        return TEMPER_EFORMAT;
    }
    *size = (size_t)v;
    return TEMPER_OK;
}

int pk_apk_sigtar(struct temper_stage *st, const char *name, const unsigned char *tar,
                  size_t len, enum temper_apksig_type *type, char **key, unsigned char **sig,
                  size_t *sig_len)
{
    char fname[101];
    if (len < 512) {
        return TEMPER_ENOTFOUND;
    }
    memcpy(fname, tar, 100);
    fname[100] = '\0';
    const char *k;
    if (strncmp(fname, ".SIGN.RSA256.", 13) == 0) {
        *type = TEMPER_APKSIG_RSA_SHA256;
        k = fname + 13;
    } else if (strncmp(fname, ".SIGN.RSA.", 10) == 0) {
        *type = TEMPER_APKSIG_RSA_SHA1;
        k = fname + 10;
    } else if (strncmp(fname, ".SIGN.", 6) == 0) {
        return temper_fail(st, TEMPER_ENOTSUP, "%s: unsupported signature entry %s", name,
                           fname);
    } else {
        return TEMPER_ENOTFOUND;
    }
    size_t size = 0;
    if (!tar_checksum_ok(tar) || (tar[156] != '0' && tar[156] != '\0') ||
        sig_size(tar, &size) != TEMPER_OK) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: bad signature entry header", name);
    }
    if (!key_name_ok(k)) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: bad signing key name in %.100s", name,
                           fname);
    }
    size_t padded = (size + 511) & ~(size_t)511;
    if (len != 512 + padded) {
        return temper_fail(st, TEMPER_EFORMAT, "%s: the signature gzip member holds more than "
                           "the signature entry", name);
    }
    *key = strdup(k);
    *sig = malloc(size);
    if (!*key || !*sig) {
        TEMPER_FREE(*key);
        TEMPER_FREE(*sig);
        return temper_fail(st, TEMPER_ENOMEM, "%s: out of memory", name);
    }
    memcpy(*sig, tar + 512, size);
    *sig_len = size;
    return TEMPER_OK;
}

static int import_key(struct temper_stage *st, const char *pem, gnutls_pubkey_t *out)
{
    gnutls_pubkey_t k = NULL;
    size_t n = strlen(pem);
    if (n > 64 * 1024 || gnutls_pubkey_init(&k) < 0) {
        return temper_fail(st, TEMPER_EINVAL, "apk signature: unusable public key");
    }
    gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem, (unsigned)n };
    int r = gnutls_pubkey_import(k, &d, GNUTLS_X509_FMT_PEM);
    unsigned bits = 0;
    if (r < 0) {
        gnutls_pubkey_deinit(k);
        return temper_fail(st, TEMPER_EINVAL, "apk signature: cannot read the public key: %s",
                           gnutls_strerror(r));
    }
    if (gnutls_pubkey_get_pk_algorithm(k, &bits) != GNUTLS_PK_RSA || bits < RSA_MIN_BITS) {
        gnutls_pubkey_deinit(k);
        return temper_fail(st, TEMPER_EINVAL, "apk signature: the key is not RSA of at least "
                           "%d bits", RSA_MIN_BITS);
    }
    *out = k;
    return TEMPER_OK;
}

int temper_apksig_verify(struct temper_stage *st, const struct temper_apksig *sig,
                         const char *pubkey_pem)
{
    if (!sig || !pubkey_pem) {
        return temper_fail(st, TEMPER_EINVAL, "apk signature: no signature or key given");
    }
    if (sig->type == TEMPER_APKSIG_NONE || !sig->sig || !sig->signed_data) {
        return temper_fail(st, TEMPER_ECRYPTO, "apk signature: the input is not signed");
    }
    if (sig->sig_len > UINT32_MAX || sig->signed_len > UINT32_MAX) {
        return temper_fail(st, TEMPER_ELIMIT, "apk signature: signed data too large");
    }
    gnutls_pubkey_t k = NULL;
    int rc = import_key(st, pubkey_pem, &k);
    if (rc != TEMPER_OK) {
        return rc;
    }
    gnutls_datum_t data = { (unsigned char *)(uintptr_t)sig->signed_data,
                            (unsigned)sig->signed_len };
    gnutls_datum_t s = { (unsigned char *)(uintptr_t)sig->sig, (unsigned)sig->sig_len };
    bool sha1 = sig->type == TEMPER_APKSIG_RSA_SHA1;
    int r = gnutls_pubkey_verify_data2(k, sha1 ? GNUTLS_SIGN_RSA_SHA1 : GNUTLS_SIGN_RSA_SHA256,
                                       sha1 ? GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1 : 0, &data,
                                       &s);
    gnutls_pubkey_deinit(k);
    if (r < 0) {
        return temper_fail(st, TEMPER_ECRYPTO, "apk signature by %s does not verify: %s",
                           sig->key_name ? sig->key_name : "?", gnutls_strerror(r));
    }
    return TEMPER_OK;
}

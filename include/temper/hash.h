/* temper — streaming SHA-256 (gnutls underneath).
 *
 * Nothing here needs gnutls_global_init(): gnutls >= 3.3 initialises itself,
 * and plugins never call the libraries' global init functions anyway (the
 * core does, once).  A gnutls failure (only possible in a broken FIPS setup)
 * never yields a wrong digest: the functions returning int report
 * TEMPER_ECRYPTO, and temper_sha256_final() writes a zeroed digest and an
 * empty hex string, which temper_hex_equal() never accepts. */
#ifndef TEMPER_HASH_H
#define TEMPER_HASH_H

#include <stddef.h>
#include <temper/rc.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TEMPER_SHA256_LEN 32
#define TEMPER_SHA256_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define TEMPER_DIGEST_STR_LEN 72

struct temper_sha256; /* opaque */

/* Returns a new context (free with temper_sha256_free), NULL on ENOMEM.
 * _update with h == NULL or n == 0 does nothing; _free(NULL) is a no-op. */
TEMPER_EXPORT struct temper_sha256 *temper_sha256_new(void);
TEMPER_EXPORT void temper_sha256_update(struct temper_sha256 *h, const void *p, size_t n);
/* Writes the raw digest (if out != NULL) and, if hex != NULL, 65 bytes of
 * lower-case hex.
 * The context may be reused after final (it restarts). */
TEMPER_EXPORT void temper_sha256_final(struct temper_sha256 *h,
                                       unsigned char out[TEMPER_SHA256_LEN],
                                       char *hex);
TEMPER_EXPORT void temper_sha256_free(struct temper_sha256 *h);

/* One shot: hex gets 65 bytes.  TEMPER_EINVAL when hex is NULL or p is NULL
 * with n > 0. */
TEMPER_EXPORT int temper_sha256_hex(const void *p, size_t n, char *hex) TEMPER_WARN_UNUSED;
/* Hash a file by streaming it; hex gets 65 bytes ("" on error), *size (may be
 * NULL) the number of bytes read.  Regular files only (a FIFO or device is
 * refused without blocking).  TEMPER_ENOTFOUND when the path does not exist,
 * TEMPER_EIO on any other open/read failure; no message is recorded, the
 * caller names the path in its own temper_fail(). */
TEMPER_EXPORT int temper_sha256_file(const char *path, char *hex,
                                     unsigned long long *size) TEMPER_WARN_UNUSED;
/* Constant-time comparison of two hex strings (case-insensitive): 1 when both
 * are non-empty, of equal length, all hex digits and equal; 0 otherwise
 * (NULL included).  The time depends only on the length. */
TEMPER_EXPORT int temper_hex_equal(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif

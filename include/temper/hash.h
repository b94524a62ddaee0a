/* temper — streaming SHA-256 (gnutls underneath). */
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

/* Returns a new context (free with temper_sha256_free), NULL on ENOMEM. */
TEMPER_EXPORT struct temper_sha256 *temper_sha256_new(void);
TEMPER_EXPORT void temper_sha256_update(struct temper_sha256 *h, const void *p, size_t n);
/* Writes the raw digest and, if hex != NULL, 65 bytes of lower-case hex.
 * The context may be reused after final (it restarts). */
TEMPER_EXPORT void temper_sha256_final(struct temper_sha256 *h,
                                       unsigned char out[TEMPER_SHA256_LEN],
                                       char *hex);
TEMPER_EXPORT void temper_sha256_free(struct temper_sha256 *h);

/* One shot: hex gets 65 bytes. */
TEMPER_EXPORT int temper_sha256_hex(const void *p, size_t n, char *hex) TEMPER_WARN_UNUSED;
/* Hash a file by streaming it; hex gets 65 bytes.  *size may be NULL. */
TEMPER_EXPORT int temper_sha256_file(const char *path, char *hex,
                                     unsigned long long *size) TEMPER_WARN_UNUSED;
/* Constant-time comparison of two hex strings (case-insensitive). */
TEMPER_EXPORT int temper_hex_equal(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif

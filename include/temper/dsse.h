/* temper — DSSE (Dead Simple Signing Envelope) and base64, as in-toto
 * attestations and cosign use them.
 *
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 *   envelope = {"payload": b64(body), "payloadType": type,
 *               "signatures": [{"keyid": KEYID, "sig": b64(sig)}]}
 * (standard base64 with padding, LEN in ASCII decimal). */
#ifndef TEMPER_DSSE_H
#define TEMPER_DSSE_H

#include <stddef.h>
#include <temper/rc.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TEMPER_DSSE_INTOTO_TYPE "application/vnd.in-toto+json"
#define TEMPER_DSSE_MEDIA_TYPE "application/vnd.dsse.envelope.v1+json"

/* Standard base64 with padding.  *out is a new NUL-terminated string (free()). */
TEMPER_EXPORT int temper_base64_encode(const void *data, size_t len, char **out)
    TEMPER_WARN_UNUSED;
/* Decodes standard base64 (padding optional); *out new buffer (free()), NUL
 * terminated for convenience.  TEMPER_EFORMAT on bad input. */
TEMPER_EXPORT int temper_base64_decode(const char *b64, size_t len, unsigned char **out,
                                       size_t *out_len) TEMPER_WARN_UNUSED;

/* Pre-authentication encoding; *out new buffer (free()). */
TEMPER_EXPORT int temper_dsse_pae(const char *payload_type, const void *body, size_t len,
                                  unsigned char **out, size_t *out_len) TEMPER_WARN_UNUSED;

/* Serialize an envelope with one signature; *json new string (free()).
 * keyid may be NULL or "". */
TEMPER_EXPORT int temper_dsse_envelope(const char *payload_type, const void *body, size_t len,
                                       const char *keyid, const unsigned char *sig,
                                       size_t sig_len, char **json) TEMPER_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif

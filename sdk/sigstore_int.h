/* temper — internals shared by sdk/sigstore.c and sdk/sigstore_verify.c. */
#ifndef TEMPER_SDK_SIGSTORE_INT_H
#define TEMPER_SDK_SIGSTORE_INT_H

#include <temper/sigstore.h>

/* 1 when the DSSE envelope env[0..len) carries an in-toto statement one of
 * whose subjects has digest.sha256 == hex (64 lower-case hex); 0 otherwise
 * (also for anything malformed).  *ptype (may be NULL) gets the statement's
 * predicateType as a new string, or NULL. */
int sigstore_envelope_about(const char *env, size_t len, const char *hex, char **ptype);

#endif

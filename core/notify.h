/* temper — the review notifier: a JSON webhook POSTed when a review item is
 * created (issue #8).  Configured in [core] (see conf/README.md):
 *
 *   review_webhook             = https://hooks.example.com/temper
 *   review_webhook_secret_file = /etc/temper/webhook.secret   ; optional
 *   review_webhook_ca_file     = /etc/temper/hooks-ca.pem     ; optional
 *   review_webhook_timeout     = 10s
 *
 * The body is {"event": "review.created", "review": {...}} (see notify.c).
 * With a secret file, its first line is the HMAC-SHA256 key of the body and
 * the signature goes in `X-Hub-Signature-256: sha256=<hex>` (GitHub's
 * webhook convention, which most receivers can verify) and the same value
 * in `X-Temper-Signature-256`; the secret itself is never sent or logged.
 * TLS is verified (SDK HTTP client).  A failure to notify is logged as a
 * warning and never blocks or loses the review: the item is in the store
 * before the POST is tried. */
#ifndef TEMPER_CORE_NOTIFY_H
#define TEMPER_CORE_NOTIFY_H

#include "config_model.h"
#include <temper/store.h>

/* POST the webhook for review item `id` (rv borrowed) when `core` has a
 * review_webhook; a no-op otherwise.  Never fails: problems are logged. */
void temper_review_notify(const struct temper_core_conf *core, const struct temper_review *rv,
                          long long id);

/* HMAC-SHA256 of data with key as lower-case hex (65 bytes with the NUL). */
int temper_hmac_sha256_hex(const char *key, size_t key_len, const void *data, size_t len,
                           char out[65]);

#endif

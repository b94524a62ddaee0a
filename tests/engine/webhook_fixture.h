/* temper tests — a loopback webhook receiver for the review notifier. */
#ifndef TEMPER_TESTS_WEBHOOK_FIXTURE_H
#define TEMPER_TESTS_WEBHOOK_FIXTURE_H

#include <sys/types.h>

struct wh_server {
    pid_t pid;
    int port;
};

/* Start tests/lib/webhook_receiver.py writing each POST to `out`, checking
 * X-Hub-Signature-256 with secret_file (or NULL), answering `status`. */
int wh_start(struct wh_server *w, const char *out, const char *secret_file, int status);
void wh_stop(struct wh_server *w);

#endif

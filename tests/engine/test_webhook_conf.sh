#!/bin/sh
# [core] review_webhook* keys are validated by `temper validate` (#8): an
# http(s) URL without credentials (never echoed), the secret and CA files
# only with a URL, the timeout in range.
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}"
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
export TEMPER_NO_INSTALLED_PLUGINS=1
tmp=$(mktemp -d /tmp/temper-hookconf-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
v() { # CORE-LINES...: validate a pipeline with these [core] lines
    printf '[core]\nstore = sqlite:%s/s.db\nworkdir = %s/w\n' "$tmp" "$tmp" > "$tmp/p.ini"
    for l in "$@"; do printf '%s\n' "$l" >> "$tmp/p.ini"; done
    "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" validate -c "$tmp/p.ini" > "$tmp/out" 2>&1
}
v "review_webhook = https://hooks.example.com/temper" \
  "review_webhook_secret_file = $tmp/secret" "review_webhook_timeout = 5s"
tap_check "an https URL with a secret file and a timeout is valid" [ $? -eq 0 ]
v "review_webhook = ftp://hooks.example.com/x"
tap_check "ftp:// is refused (exit 2)" [ $? -eq 2 ]
tap_check "the error names the key" grep -q 'review_webhook' "$tmp/out"
v "review_webhook = https://user:s3cret@hooks.example.com/x"
tap_check "credentials in the URL are refused" [ $? -eq 2 ]
tap_check "and not echoed" sh -c "! grep -q s3cret '$tmp/out'"
v "review_webhook_secret_file = $tmp/secret"
tap_check "a secret file without a URL is refused" [ $? -eq 2 ]
v "review_webhook = https://hooks.example.com/x" "review_webhook_timeout = 1h"
tap_check "a timeout out of range is refused" [ $? -eq 2 ]
tap_done

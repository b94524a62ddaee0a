# temper tests — shared set-up of the publish_registry shell tests: a real
# docker-registry on a free loopback port (plain HTTP, TLS + htpasswd, or
# token auth with a loopback issuer), the fault proxy, skopeo read-back.
# Source after tests/lib/tap.sh; call reg_init first.  Everything started
# is stopped by the EXIT trap.
reg_fixture="$TEMPER_SRCDIR/tests/plugins/registry_fixture.py"
reg_tool="$TEMPER_BUILDDIR/tests/plugins/registry_tool"
reg_pids=""
PY=${PYTHON3:-python3}

reg_cleanup() {
    for p in $reg_pids; do
        kill "$p" 2>/dev/null
    done
    for p in $reg_pids; do
        wait "$p" 2>/dev/null || true
    done
    [ -n "${reg_dir:-}" ] && rm -rf "$reg_dir"
}

# Skip (or fail under CI=true) when a program is missing.
reg_need() {
    for prog in "$@"; do
        if ! command -v "$prog" >/dev/null 2>&1; then
            if [ "${CI:-}" = true ]; then
                echo "1..1"
                echo "not ok 1 - $prog is missing (CI=true: required)"
                exit 1
            fi
            tap_skip_all "$prog is not installed"
        fi
    done
}

reg_init() {
    reg_need /usr/bin/docker-registry skopeo certtool "$PY"
    reg_dir=$(mktemp -d "${TMPDIR:-/tmp}/temper-reg.XXXXXX") || exit 1
    trap reg_cleanup EXIT
    export HOME="$reg_dir/home"
    mkdir -p "$HOME" "$reg_dir/certs"
    printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >"$reg_dir/policy.json"
    export no_proxy=127.0.0.1,localhost
    unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
}

# Wait until 127.0.0.1:$1 accepts connections (10 s).
reg_wait_port() {
    i=0
    while [ $i -lt 100 ]; do
        if "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
            "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# Wait for a port file written by registry_fixture.py; echo the port.
reg_wait_file() {
    i=0
    while [ $i -lt 100 ] && [ ! -s "$1" ]; do
        sleep 0.1
        i=$((i + 1))
    done
    cat "$1" 2>/dev/null
}

reg_certs() {
    c="$reg_dir/certs"
    printf 'cn = temper test CA\nca\ncert_signing_key\nexpiration_days = 2\n' >"$c/ca.tmpl"
    printf 'cn = 127.0.0.1\nip_address = 127.0.0.1\ndns_name = localhost\n%s\n' \
        'tls_www_server
signing_key
encryption_key
expiration_days = 2' >"$c/srv.tmpl"
    certtool --generate-privkey --no-text --key-type ecdsa --outfile "$c/ca.key" 2>/dev/null &&
    certtool --generate-self-signed --no-text --load-privkey "$c/ca.key" \
        --template "$c/ca.tmpl" --outfile "$c/ca.pem" 2>/dev/null &&
    certtool --generate-privkey --no-text --key-type ecdsa --outfile "$c/srv.key" 2>/dev/null &&
    certtool --generate-certificate --no-text --load-privkey "$c/srv.key" \
        --load-ca-certificate "$c/ca.pem" --load-ca-privkey "$c/ca.key" \
        --template "$c/srv.tmpl" --outfile "$c/srv.pem" 2>/dev/null &&
    mkdir -p "$c/skopeo" && cp "$c/ca.pem" "$c/skopeo/ca.crt"
}

# reg_start NAME EXTRA_YAML: docker-registry on a free port; sets reg_port.
reg_start() {
    name=$1
    mkdir -p "$reg_dir/$name"
    reg_port=$("$PY" "$reg_fixture" freeport)
    cat >"$reg_dir/$name/config.yml" <<EOT
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $reg_dir/$name/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$reg_port
  secret: temper-test-secret
$2
EOT
    /usr/bin/docker-registry serve "$reg_dir/$name/config.yml" \
        >"$reg_dir/$name/log" 2>&1 &
    reg_pids="$reg_pids $!"
    reg_wait_port "$reg_port"
}

# reg_proxy UPSTREAM_PORT NAME [FAULT [CHALLENGE]]: sets proxy_port, proxy_stats.
reg_proxy() {
    proxy_stats="$reg_dir/$2.stats"
    rm -f "$reg_dir/$2.port"
    "$PY" "$reg_fixture" proxy --upstream "$1" --port-file "$reg_dir/$2.port" \
        --stats "$proxy_stats" --fault "${3:-}" --challenge "${4:-}" \
        2>"$reg_dir/$2.log" &
    reg_pids="$reg_pids $!"
    proxy_port=$(reg_wait_file "$reg_dir/$2.port")
    [ -n "$proxy_port" ]
}

# Value of a counter in a proxy stats file.
reg_stat() {
    "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' \
        "$1" "$2"
}

# The digest a "kind ref digest" line of a push output gives for kind.
reg_out_digest() {
    awk -v k="$2" '$1 == k { print $3; exit }' "$1"
}

# skopeo inspect's Digest of docker://REF with extra flags.
reg_skopeo_digest() {
    ref=$1
    shift
    skopeo inspect --retry-times 0 "$@" "docker://$ref" 2>"$reg_dir/skopeo.err" |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)["Digest"])' 2>/dev/null
}

# skopeo copy docker://REF oci:DIR:t, then the digest of the copied manifest.
reg_skopeo_copy_digest() {
    ref=$1
    dir=$2
    shift 2
    rm -rf "$dir"
    skopeo --policy "$reg_dir/policy.json" copy --retry-times 0 --preserve-digests "$@" "docker://$ref" \
        "oci:$dir:t" >/dev/null 2>"$reg_dir/skopeo.err" || return 1
    "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
        "$dir/index.json"
}

# Whether a tag exists (skopeo inspect --raw succeeds).
reg_tag_exists() {
    ref=$1
    shift
    skopeo inspect --retry-times 0 --raw "$@" "docker://$ref" >/dev/null 2>&1
}

# reg_start_token NAME USER PASSWORD: a token issuer (RS256 JWTs, key and
# certificate made with certtool) and a plain-HTTP docker-registry trusting
# it; sets tport and reg_port.  Skips without python3 cryptography.
reg_start_token() {
    if ! "$PY" -c 'import cryptography' 2>/dev/null; then
        if [ "${CI:-}" = true ]; then
            echo "1..1"
            echo "not ok 1 - python3 cryptography is missing (CI=true: required)"
            exit 1
        fi
        tap_skip_all "python3 cryptography is not installed"
    fi
    c=$reg_dir/certs
    printf 'cn = temper token issuer\nexpiration_days = 2\nsigning_key\n' >"$c/tok.tmpl"
    certtool --generate-privkey --no-text --key-type rsa --bits 2048 --outfile "$c/tok.key" \
        2>/dev/null &&
    certtool --generate-self-signed --no-text --load-privkey "$c/tok.key" \
        --template "$c/tok.tmpl" --outfile "$c/tok.pem" 2>/dev/null || return 1
    "$PY" "$reg_fixture" token --cert "$c/tok.pem" --key "$c/tok.key" \
        --issuer temper-issuer --service temper-registry --user "$2" --password "$3" \
        --port-file "$reg_dir/$1.tport" 2>"$reg_dir/$1.tlog" &
    reg_pids="$reg_pids $!"
    tport=$(reg_wait_file "$reg_dir/$1.tport")
    [ -n "$tport" ] || return 1
    reg_start "$1" "auth:
  token:
    realm: http://127.0.0.1:$tport/token
    service: temper-registry
    issuer: temper-issuer
    rootcertbundle: $c/tok.pem"
}

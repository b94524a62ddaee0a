# Shared by the end-to-end and fault tests (tests/run/test_e2e_registry.sh,
# tests/faults/test_registry_down.sh, tests/faults/test_net_drop.sh); source
# after tests/run/run_lib.sh.  Reuses tests/plugins/registry_lib.sh (reg_need,
# reg_wait_port, reg_skopeo_digest, reg_skopeo_copy_digest) without its
# reg_init.  Everything started is killed by the EXIT trap of e2e_init.
#
#   e2e_init NAME [PROG...] $T (run_tmp NAME), the EXIT trap, $HOME in $T;
#                           skips when a PROG is missing (CI=true: fails)
#   e2e_sanitizers          the check that no temper process reported an
#                           ASan/LSan/UBSan error (reports go to $T/san)
#   e2e_port                a free loopback port
#   e2e_mirror              a loopback mirror of hand-made packages in $T/mirror
#                           (suite test: basefiles, tinybox = busybox at $BOX,
#                           appbin), served on $DEB_URL
#   e2e_stages FILE REPO    append [builder "deb"], [attest "slsa"], [signer
#                           "release"] (key $T/keys/signing.key, generated) and
#                           [publish "registry"] (REPO/{image}, plain HTTP)
#   reg_up DIR PORT         docker-registry on 127.0.0.1:PORT, storage in
#                           DIR/storage (kept across reg_down/reg_up); $REG_PID
#   reg_down                SIGKILL it (a registry that dies)
#   reg_tags HOST/REPO      its tags, one a line, sorted (the registry's API)
#   cp_start NAME UPSTREAM [ARGS...]  tests/lib/cutproxy.py; $CP_PORT, $CP_PID,
#                           its request log in $T/NAME.log
#   cp_stop                 stop it
#   box_deb OUT NAME VERSION  a .deb holding the host's static /bin/busybox as
#                           $BOX (not in a bin directory: hardening keeps it)
#   gm_start                tests/lib/github_mock.py; $GH (its URL), $GM_PID
#   gm_post JSON            POST /_mock/scenario
. "$TEMPER_SRCDIR/tests/plugins/registry_lib.sh"
. "$TEMPER_SRCDIR/tests/plugins/deb_mirror.sh"
BOX=/usr/libexec/tinybox/busybox
E2E_PIDS=
REG_PID=
CP_PID=

e2e_cleanup() {
    for p in $REG_PID $CP_PID $E2E_PIDS ${DEB_HTTPD_PID:-}; do
        kill -9 "$p" 2>/dev/null
    done
    wait 2>/dev/null
    [ -n "${E2E_KEEP:-}" ] || rm -rf "$T"
}

e2e_init() {
    name=$1
    shift
    [ -f "$TEMPER_PLUGINS/builder_deb/.libs/builder_deb.so" ] ||
        tap_skip_all "no shared plugin modules (static build)"
    reg_need curl /bin/busybox "$@"
    run_tmp "$name"
    reg_dir=$T
    trap e2e_cleanup EXIT
    export HOME="$T/home"
    mkdir -p "$HOME" "$T/keys"
    printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' > "$T/policy.json"
    export SOURCE_DATE_EPOCH=1700000000
    # sanitizer reports of every temper process go to $T/san (e2e_sanitizers)
    mkdir -p "$T/san"
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/san/asan"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/san/ubsan"
}

e2e_sanitizers() {
    tap_check "no sanitizer report from any temper process" [ -z "$(ls -A "$T/san")" ]
    [ -z "$(ls -A "$T/san")" ] || tap_diag "$(head -n 20 "$T"/san/*)"
}

e2e_port() {
    "$PY" "$reg_fixture" freeport
}

e2e_mirror() {
    M=$T/mirror
    mkdir -p "$M/pool"
    "$PY" "$TEMPER_SRCDIR/tests/plugins/mkdeb.py" deb "$M/pool/basefiles_1.0_all.deb" basefiles \
        1.0 all f:etc/base-release:one &&
    box_deb "$M/pool/tinybox_1.0_all.deb" tinybox 1.0 &&
    "$PY" "$TEMPER_SRCDIR/tests/plugins/mkdeb.py" deb "$M/pool/appbin_1.0_all.deb" appbin 1.0 \
        all f:usr/share/app/version:app-1 &&
    "$PY" "$TEMPER_SRCDIR/tests/plugins/mkdeb.py" index "$M" test amd64 &&
    deb_serve "$M"
}

e2e_stages() {
    cat >> "$1" <<INI

[builder "deb"]
plugin = deb
mirror = $DEB_URL
allow_unsigned = yes

[attest "slsa"]
plugin = slsa

[signer "release"]
plugin = keyfile
key = $T/keys/signing.key
generate = true

[publish "registry"]
plugin = registry
repository = $2/{image}
plain_http = true
INI
}

reg_up() {
    mkdir -p "$1"
    cat > "$1/config.yml" <<EOT
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $1/storage
http:
  addr: 127.0.0.1:$2
  secret: temper-e2e
EOT
    /usr/bin/docker-registry serve "$1/config.yml" >> "$1/log" 2>&1 &
    REG_PID=$!
    reg_wait_port "$2"
}

reg_down() {
    [ -n "$REG_PID" ] && kill -9 "$REG_PID" 2>/dev/null
    [ -n "$REG_PID" ] && wait "$REG_PID" 2>/dev/null
    REG_PID=
}

reg_tags() {
    h=${1%%/*}
    curl -s --noproxy '*' "http://$h/v2/${1#*/}/tags/list" |
        "$PY" -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin).get("tags") or [])))' \
            2>/dev/null
}

cp_start() {
    name=$1
    up=$2
    shift 2
    rm -f "$T/$name.port"
    "$PY" "$TEMPER_SRCDIR/tests/lib/cutproxy.py" --upstream "$up" --port-file "$T/$name.port" \
        --log "$T/$name.log" "$@" 2>>"$T/$name.err" &
    CP_PID=$!
    i=0
    while [ $i -lt 100 ] && [ ! -s "$T/$name.port" ]; do
        sleep 0.1
        i=$((i + 1))
    done
    CP_PORT=$(cat "$T/$name.port" 2>/dev/null)
    [ -n "$CP_PORT" ]
}

cp_stop() {
    [ -n "$CP_PID" ] && kill -9 "$CP_PID" 2>/dev/null
    [ -n "$CP_PID" ] && wait "$CP_PID" 2>/dev/null
    CP_PID=
}

box_deb() {
    "$PY" - "$@" <<'EOF'
import io, sys, tarfile
out, name, version = sys.argv[1:4]
def tar(entries, mode):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT) as t:
        for path, data, perm in entries:
            ti = tarfile.TarInfo(path)
            ti.mtime = 1700000000
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), perm
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()
def member(n, d):
    h = "%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (n, 0, 0, 0, "100644", len(d))
    return h.encode() + d + (b"\n" if len(d) % 2 else b"")
ctl = ("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: Test <t@example.org>\n"
       "Description: a static busybox\n" % (name, version)).encode()
box = open("/bin/busybox", "rb").read()
data = tar([("./", None, 0), ("./usr", None, 0), ("./usr/libexec", None, 0),
            ("./usr/libexec/tinybox", None, 0), ("./usr/libexec/tinybox/busybox", box, 0o755)],
           "w:xz")
control = tar([("./", None, 0), ("./control", ctl, 0o644)], "w:gz")
with open(out, "wb") as f:
    f.write(b"!<arch>\n" + member("debian-binary", b"2.0\n") +
            member("control.tar.gz", control) + member("data.tar.xz", data))
EOF
}

gm_start() {
    mkfifo "$T/gm.port"
    "$PY" "$TEMPER_SRCDIR/tests/lib/github_mock.py" --data "$TEMPER_DATA/samples/github" \
        > "$T/gm.port" &
    GM_PID=$!
    E2E_PIDS="$E2E_PIDS $GM_PID"
    read -r word port < "$T/gm.port"
    [ "$word" = PORT ] || return 1
    GH=http://127.0.0.1:$port
}

gm_post() {
    curl -s --noproxy '*' -X POST --data "$1" "$GH/_mock/scenario" > /dev/null
}

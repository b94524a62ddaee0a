#!/usr/bin/env python3
"""Loopback fixtures for the registry tests (tests/plugins/publish_registry_*.sh).

    registry_fixture.py mkimage DIR --layers N --size BYTES [--seed S]
        an OCI layout with one image (ref name "img"): N uncompressed tar
        layers of random bytes, BYTES each; prints the manifest digest.
    registry_fixture.py htpasswd USER PASSWORD
        one bcrypt htpasswd line (docker-registry accepts only bcrypt).
    registry_fixture.py freeport
    registry_fixture.py token --cert CERT --key KEY --issuer I --service S
                              --user U --password P --port-file F
        a token issuer: GET /token?service=&scope= with Basic U:P answers
        {"token": JWT, "access_token": JWT}; the JWT is RS256, signed by KEY,
        with CERT in its x5c header (docker-registry trusts it through its
        rootcertbundle).  Wrong credentials: 401.
    registry_fixture.py proxy --upstream PORT --port-file F --stats FILE
                              [--fault MODE] [--challenge VALUE]
        a forwarding HTTP proxy in front of a plain-HTTP registry, counting
        requests (JSON in FILE after each one) and injecting one fault:
          put500   the first blob upload PUT gets a 500 (not forwarded)
          put500all every blob upload PUT gets a 500
          cutpatch the second PATCH: half of its body is forwarded, then
                   both connections are cut
          droppatch the second PATCH: the connection is closed before any
                   byte reaches the registry (the upload can be resumed)
          stall    upload PUTs and PATCHes are read and never answered
          stale401 the first manifest PUT carrying a Bearer token gets a 401
                   with --challenge as WWW-Authenticate
Every server binds 127.0.0.1, writes its port to --port-file and stops when
its parent goes away.
"""
import argparse
import base64
import hashlib
import http.server
import io
import json
import os
import random
import socket
import sys
import tarfile
import threading
import time
import urllib.parse


def watch_parent():
    ppid = os.getppid()

    def loop():
        while True:
            if os.getppid() != ppid:
                os._exit(0)
            time.sleep(0.5)
    threading.Thread(target=loop, daemon=True).start()


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


# ---- image layout -------------------------------------------------------------

def put_blob(d, data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(d, "blobs", "sha256", h), "wb") as f:
        f.write(data)
    return "sha256:" + h


def layer_tar(rng, size, i):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo("data/layer%d.bin" % i)
        ti.size = size
        ti.mtime = 0
        t.addfile(ti, io.BytesIO(rng.randbytes(size)))
    return buf.getvalue()


def mkimage(a):
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.dir, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(a.dir, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    layers = []
    for i in range(a.layers):
        data = layer_tar(rng, a.size, i)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                       "digest": put_blob(a.dir, data), "size": len(data)})
    config = {"architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}
    cb = json.dumps(config, separators=(",", ":")).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": put_blob(a.dir, cb), "size": len(cb)},
                "layers": layers}
    mb = json.dumps(manifest, separators=(",", ":")).encode()
    md = put_blob(a.dir, mb)
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": manifest["mediaType"], "digest": md, "size": len(mb),
                            "annotations": {"org.opencontainers.image.ref.name": "img"}}]}
    with open(os.path.join(a.dir, "index.json"), "w") as f:
        json.dump(index, f)
    print(md)


def htpasswd(a):
    import warnings
    warnings.simplefilter("ignore")
    import crypt
    h = crypt.crypt(a.password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    if not h or not h.startswith("$2"):
        sys.exit("no bcrypt in this crypt(3)")
    print("%s:%s" % (a.user, h))


def freeport(_a):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


# ---- token issuer ----------------------------------------------------------------

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_jwt(key, cert_der, claims):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    header = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(cert_der).decode()]}
    signing = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())
    sig = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing + "." + b64u(sig)


def token(a):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    with open(a.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    with open(a.cert, "rb") as f:
        cert_der = x509.load_pem_x509_certificate(f.read()).public_bytes(
            serialization.Encoding.DER)
    want = "Basic " + base64.b64encode(("%s:%s" % (a.user, a.password)).encode()).decode()
    issued = [0]

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            q = urllib.parse.parse_qs(u.query)
            if u.path != "/token" or self.headers.get("Authorization") != want:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            access = []
            for scope in q.get("scope", []):
                for one in scope.split(" "):
                    parts = one.split(":")
                    if len(parts) == 3 and parts[0] == "repository":
                        access.append({"type": "repository", "name": parts[1],
                                       "actions": parts[2].split(",")})
            now = int(time.time())
            issued[0] += 1
            claims = {"iss": a.issuer, "sub": a.user, "aud": a.service, "exp": now + 300,
                      "nbf": now - 10, "iat": now, "jti": "t%d" % issued[0],
                      "access": access}
            tok = make_jwt(key, cert_der, claims)
            body = json.dumps({"token": tok, "access_token": tok, "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    serve(H, a.port_file)


def serve(handler, port_file):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    watch_parent()
    write_port(port_file, srv.server_address[1])
    srv.serve_forever()


# ---- fault proxy --------------------------------------------------------------------

class Proxy:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "blob_uploads": 0, "patch": 0, "put_blob": 0,
                      "put_manifest": 0, "faults": 0, "bytes_up": 0}
        self.done = set()
        self.patches = 0

    def count(self, key, n=1):
        with self.lock:
            self.stats[key] = self.stats.get(key, 0) + n
            tmp = self.a.stats + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.stats, f)
            os.rename(tmp, self.a.stats)

    def once(self, what):
        with self.lock:
            if what in self.done:
                return False
            self.done.add(what)
            self.stats["faults"] += 1
            return True


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > 1 << 20:
            return None, b""
    head, rest = data.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def read_body(sock, rest, n):
    body = rest
    while len(body) < n:
        chunk = sock.recv(min(1 << 20, n - len(body)))
        if not chunk:
            break
        body += chunk
    return body


def reply(sock, status, headers=(), body=b""):
    lines = ["HTTP/1.1 %d X" % status, "Content-Length: %d" % len(body), "Connection: close"]
    lines += ["%s: %s" % h for h in headers]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def proxy_one(p, c):
    head, rest = read_head(c)
    if head is None:
        return
    lines = head.split("\r\n")
    method, target = lines[0].split(" ")[:2]
    hdrs = [l for l in lines[1:] if not l.lower().startswith(("connection:", "keep-alive"))]
    clen = 0
    auth = ""
    for l in hdrs:
        k, _, v = l.partition(":")
        if k.strip().lower() == "content-length":
            clen = int(v.strip())
        if k.strip().lower() == "authorization":
            auth = v.strip()
    path = urllib.parse.urlparse(target).path
    upload = "/blobs/uploads/" in path
    p.count("requests")
    if method == "POST" and upload:
        p.count("blob_uploads")
    if method == "PATCH":
        p.count("patch")
        p.patches += 1
    if method == "PUT" and upload:
        p.count("put_blob")
    if method == "PUT" and "/manifests/" in path:
        p.count("put_manifest")
    fault = p.a.fault
    if fault == "stall" and upload and method in ("PUT", "PATCH"):
        read_body(c, rest, clen)
        time.sleep(3600)
    if fault == "put500" and upload and method == "PUT" and clen > 0 and p.once("put500"):
        read_body(c, rest, clen)
        reply(c, 500, [("Content-Type", "application/json")],
              b'{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}')
        return
    if fault == "put500all" and upload and method == "PUT":
        read_body(c, rest, clen)
        p.count("faults")
        reply(c, 500, [("Content-Type", "application/json")],
              b'{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}')
        return
    if (fault == "stale401" and method == "PUT" and "/manifests/" in path and
            auth.startswith("Bearer ") and p.once("stale401")):
        read_body(c, rest, clen)
        reply(c, 401, [("WWW-Authenticate", p.a.challenge)])
        return
    if fault == "droppatch" and method == "PATCH" and p.patches == 2 and p.once("drop"):
        read_body(c, rest, clen // 2)
        c.shutdown(socket.SHUT_RDWR)
        return
    u = socket.create_connection(("127.0.0.1", p.a.upstream))
    out = "\r\n".join([lines[0]] + hdrs + ["Connection: close"]) + "\r\n\r\n"
    u.sendall(out.encode("latin-1"))
    if fault == "cutpatch" and method == "PATCH" and p.patches == 2 and p.once("cut"):
        half = read_body(c, rest, clen // 2)
        u.sendall(half[:clen // 2])
        time.sleep(0.2)
        u.close()
        c.shutdown(socket.SHUT_RDWR)
        return
    body = read_body(c, rest, clen)
    p.count("bytes_up", len(body))
    u.sendall(body)
    while True:
        chunk = u.recv(1 << 20)
        if not chunk:
            break
        c.sendall(chunk)
    u.close()


def proxy(a):
    p = Proxy(a)
    p.count("requests", 0)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    watch_parent()
    write_port(a.port_file, srv.getsockname()[1])

    def handle(c):
        try:
            proxy_one(p, c)
        except OSError:
            pass
        finally:
            c.close()
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mkimage")
    m.add_argument("dir")
    m.add_argument("--layers", type=int, default=2)
    m.add_argument("--size", type=int, default=4096)
    m.add_argument("--seed", type=int, default=1)
    h = sub.add_parser("htpasswd")
    h.add_argument("user")
    h.add_argument("password")
    sub.add_parser("freeport")
    t = sub.add_parser("token")
    for k in ("cert", "key", "issuer", "service", "user", "password", "port-file"):
        t.add_argument("--" + k, required=True)
    x = sub.add_parser("proxy")
    x.add_argument("--upstream", type=int, required=True)
    x.add_argument("--port-file", required=True)
    x.add_argument("--stats", required=True)
    x.add_argument("--fault", default="")
    x.add_argument("--challenge", default="")
    a = ap.parse_args()
    {"mkimage": mkimage, "htpasswd": htpasswd, "freeport": freeport, "token": token,
     "proxy": proxy}[a.cmd](a)


if __name__ == "__main__":
    main()

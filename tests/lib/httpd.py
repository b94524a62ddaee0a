#!/usr/bin/env python3
"""A small scriptable HTTP(S) server for temper's tests (loopback only).

    httpd.py --script FILE.json [--tls-cert CERT --tls-key KEY]

Binds 127.0.0.1 on an ephemeral port, prints "PORT <n>" on stdout and serves
until killed (or until its parent process goes away).  FILE.json:

    {"routes": {"/path": SPEC, ...}}

A route matches the request path without its query.  A SPEC is an object:

    status       int, default 200
    headers      [[name, value], ...]   (a name may repeat; "{port}" in a
                 value becomes the server's own port)
    body         text of the body
    body_size    generate this many bytes (pattern "0123456789abcdef...")
    body_file    serve the bytes of this file, read at each request (binary
                 bodies; a test may rewrite the file between requests)
    etag         send ETag; a request whose If-None-Match equals it gets 304
    last_modified  send Last-Modified; an equal If-Modified-Since gets 304
    junk_headers add this many "X-Junk-<i>: xxx..." headers
    echo         true: the body is JSON describing the request (method,
                 target, path, query, headers, body_len, body_sha256)
    delay_ms     wait before answering
    hang         true: accept, read the request, never answer
    drop_after   send the headers (Content-Length = body_size) and this many
                 body bytes, then close the connection
    sequence     [SPEC, ...]: the n-th request to the path gets the n-th
                 SPEC (the last one repeats)

Every reply carries X-Sha256 (hex SHA-256 of its body) and, when the
request had one, X-Got-If-None-Match.  GET /_stats answers
{"max_inflight": n, "count": n, "paths": {path: n}} about the requests so
far (itself excluded).  A proxy request ("GET http://host/path") is routed
by its path; echo reports the full target.  CONNECT to localhost or
127.0.0.1 opens a tunnel (https_proxy); /_stats counts them as "CONNECT".
"""
import argparse
import hashlib
import http.server
import json
import os
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse

PATTERN = b"0123456789abcdef"


class State:
    def __init__(self, routes):
        self.routes = routes
        self.lock = threading.Lock()
        self.counts = {}
        self.inflight = 0
        self.max_inflight = 0
        self.total = 0

    def enter(self, path):
        with self.lock:
            n = self.counts.get(path, 0)
            self.counts[path] = n + 1
            self.total += 1
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            return n

    def leave(self):
        with self.lock:
            self.inflight -= 1

    def stats(self):
        with self.lock:
            return {"max_inflight": self.max_inflight, "count": self.total,
                    "paths": dict(self.counts)}


def make_body(spec):
    if "body_file" in spec:
        with open(spec["body_file"], "rb") as f:
            return f.read()
    if "body_size" in spec:
        n = int(spec["body_size"])
        return (PATTERN * (n // len(PATTERN) + 1))[:n]
    return spec.get("body", "").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "temper-test-httpd"

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def split_target(self):
        target = self.path
        if target.startswith("http://") or target.startswith("https://"):
            u = urllib.parse.urlsplit(target)
            return target, u.path or "/", u.query
        path, _, query = target.partition("?")
        return target, path, query

    def echo(self, target, path, query, body):
        hdrs = {}
        for k, v in self.headers.items():
            hdrs.setdefault(k.lower(), []).append(v)
        return json.dumps({
            "method": self.command, "target": target, "path": path, "query": query,
            "headers": hdrs, "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }).encode()

    def pick(self, path):
        spec = self.server.state.routes.get(path)
        n = self.server.state.enter(path)
        if spec is None:
            return {"status": 404, "body": "no route\n"}
        seq = spec.get("sequence")
        if seq:
            return seq[min(n, len(seq) - 1)]
        return spec

    def handle_any(self):
        body_in = self.read_body()
        target, path, query = self.split_target()
        if path == "/_stats":
            self.reply(200, [["Content-Type", "application/json"]],
                       json.dumps(self.server.state.stats()).encode())
            return
        spec = self.pick(path)
        try:
            self.serve_spec(spec, target, path, query, body_in)
        finally:
            self.server.state.leave()

    def serve_spec(self, spec, target, path, query, body_in):
        if spec.get("delay_ms"):
            time.sleep(spec["delay_ms"] / 1000.0)
        if spec.get("hang"):
            time.sleep(3600)
            return
        port = str(self.server.server_address[1])
        headers = [[k, v.replace("{port}", port)] for k, v in spec.get("headers", [])]
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if inm is not None:
            headers.append(["X-Got-If-None-Match", inm])
        if ims is not None:
            headers.append(["X-Got-If-Modified-Since", ims])
        status = int(spec.get("status", 200))
        body = self.echo(target, path, query, body_in) if spec.get("echo") else make_body(spec)
        for i in range(int(spec.get("junk_headers", 0))):
            headers.append(["X-Junk-%d" % i, "x" * 64])
        if "etag" in spec:
            headers.append(["ETag", spec["etag"]])
        if "last_modified" in spec:
            headers.append(["Last-Modified", spec["last_modified"]])
        if ("etag" in spec and inm == spec["etag"]) or \
           ("last_modified" in spec and inm is None and ims == spec["last_modified"]):
            status, body = 304, b""
        if "drop_after" in spec:
            self.drop(headers, body, int(spec["drop_after"]))
            return
        self.reply(status, headers, body)

    def drop(self, headers, body, n):
        self.send_response(200)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:n])
        self.wfile.flush()
        self.close_connection = True

    def reply(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("X-Sha256", hashlib.sha256(body).hexdigest())
        if status != 304 and not (100 <= status < 200) and status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status != 304:
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any

    def do_CONNECT(self):
        """A tunnelling proxy (https_proxy): loopback targets only."""
        host, _, port = self.path.rpartition(":")
        self.server.state.enter("CONNECT")
        try:
            if host not in ("localhost", "127.0.0.1"):
                self.reply(403, [], b"loopback only\n")
                return
            upstream = socket.create_connection((host, int(port)), timeout=10)
            self.send_response(200, "Connection established")
            self.end_headers()
            self.wfile.flush()
            self.tunnel(upstream)
            self.close_connection = True
        finally:
            self.server.state.leave()

    def tunnel(self, upstream):
        conns = [self.connection, upstream]
        try:
            while True:
                ready, _, _ = select.select(conns, [], [], 10)
                if not ready:
                    return
                for c in ready:
                    data = c.recv(65536)
                    if not data:
                        return
                    (upstream if c is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up or fail TLS are part of the tests


def watch_parent(ppid):
    while True:
        if os.getppid() != ppid:
            os._exit(0)
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    with open(args.script, encoding="utf-8") as f:
        script = json.load(f)
    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State(script.get("routes", {}))
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    sys.stdout.write("PORT %d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()

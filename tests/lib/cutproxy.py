#!/usr/bin/env python3
"""A loopback HTTP/1.1 proxy that cuts connections mid-transfer (fault tests).

    cutproxy.py --upstream PORT [--port N] --port-file F [--log FILE]
                [--match SUBSTR] [--method M] [--dir resp|req] [--after BYTES]
                [--times N] [--die]

Forwards every request to 127.0.0.1:PORT, one request per connection
(Connection: close both ways).  A request whose method is M (any when not
given) and whose path contains SUBSTR is "hit" (with --dir req, only when
its body is longer than BYTES); the first N hits (-1: every one) are cut:
  --dir resp  the reply's head and its first BYTES body bytes reach the
              client, then the connection is closed (a download cut
              mid-body)
  --dir req   the request's head and its first BYTES body bytes reach the
              upstream, then both connections are closed (an upload cut
              mid-body, e.g. a blob PATCH/PUT)
--die: after the first cut the proxy stops listening and exits, as if the
server behind it had died (connections are then refused).
--log FILE gets one line per request: "METHOD PATH cut|ok".  The proxy binds
127.0.0.1 (--port, default a free one), writes the port to --port-file and
stops when its parent goes away.
"""
import argparse
import os
import socket
import sys
import threading
import time

MAX_HEAD = 1 << 20


def watch_parent():
    ppid = os.getppid()

    def loop():
        while os.getppid() == ppid:
            time.sleep(0.3)
        os._exit(0)
    threading.Thread(target=loop, daemon=True).start()


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk or len(data) > MAX_HEAD:
            return None, b""
        data += chunk
        if not data[:1].isalpha():
            # not HTTP (a TLS hello: a client trying https first): refuse at once
            return None, b""
    head, rest = data.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


class State:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.left = a.times
        self.srv = None

    def log(self, method, path, what):
        if self.a.log:
            with self.lock, open(self.a.log, "a") as f:
                f.write("%s %s %s\n" % (method, path, what))

    def take(self, method, path, clen):
        a = self.a
        if a.match is None or a.match not in path or (a.method and a.method != method):
            return False
        if a.dir == "req" and clen <= a.after:
            return False
        with self.lock:
            if self.left == 0:
                return False
            if self.left > 0:
                self.left -= 1
            return True


def pump_body(src, dst, rest, n):
    """Forward n bytes of a request body (rest already read); returns what was sent."""
    sent = 0
    if rest:
        dst.sendall(rest[:n])
        sent = min(len(rest), n)
    while sent < n:
        chunk = src.recv(min(65536, n - sent))
        if not chunk:
            break
        dst.sendall(chunk)
        sent += len(chunk)
    return sent


def relay_reply(u, c, limit):
    """Upstream reply to the client; with limit, only that many body bytes."""
    data = b""
    body = -1
    while True:
        chunk = u.recv(65536)
        if not chunk:
            return True
        if body < 0:
            data += chunk
            if b"\r\n\r\n" not in data:
                continue
            head, chunk = data.split(b"\r\n\r\n", 1)
            c.sendall(head + b"\r\n\r\n")
            body = 0
        if limit is not None and body + len(chunk) >= limit:
            c.sendall(chunk[:limit - body])
            return False
        c.sendall(chunk)
        body += len(chunk)


def one(st, c):
    head, rest = read_head(c)
    if head is None:
        return
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 3:
        return
    method, path = parts[0], parts[1]
    hdrs = [l for l in lines[1:] if not l.lower().startswith(("connection:", "keep-alive",
                                                               "proxy-connection"))]
    clen = 0
    for l in hdrs:
        k, _, v = l.partition(":")
        if k.strip().lower() == "content-length":
            clen = int(v.strip())
    cut = st.take(method, path, clen)
    u = socket.create_connection(("127.0.0.1", st.a.upstream))
    try:
        u.sendall(("\r\n".join([lines[0]] + hdrs + ["Connection: close"]) +
                   "\r\n\r\n").encode("latin-1"))
        if cut and st.a.dir == "req":
            pump_body(c, u, rest, min(st.a.after, clen))
            time.sleep(0.2)
            st.log(method, path, "cut")
            return
        pump_body(c, u, rest, clen)
        whole = relay_reply(u, c, st.a.after if cut else None)
        st.log(method, path, "ok" if whole else "cut")
    finally:
        u.close()
        if cut:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            if st.a.die:
                os._exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--match")
    ap.add_argument("--method")
    ap.add_argument("--dir", choices=("resp", "req"), default="resp")
    ap.add_argument("--after", type=int, default=0)
    ap.add_argument("--times", type=int, default=1)
    ap.add_argument("--die", action="store_true")
    a = ap.parse_args()
    st = State(a)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.port))
    srv.listen(64)
    watch_parent()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(tmp, a.port_file)

    def handle(c):
        try:
            one(st, c)
        except (OSError, ValueError):
            pass
        finally:
            c.close()
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())

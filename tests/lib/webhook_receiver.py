#!/usr/bin/env python3
"""A loopback webhook receiver (tests only).

    webhook_receiver.py --out FILE [--secret-file F] [--status N]

Binds 127.0.0.1 on an ephemeral port, prints "PORT <n>" and serves until
killed (or its parent goes away).  Every POST is answered with --status
(default 204) and appended to FILE as one JSON line:
    {"path", "content_type", "event", "sig_ok" (true/false/null without
     --secret-file), "sig_header", "body" (parsed JSON or null), "raw_len"}
The signature is checked independently of temper with Python's hmac:
X-Hub-Signature-256 must be "sha256=" + HMAC-SHA256(secret, raw body).
"""
import argparse
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--secret-file")
    ap.add_argument("--status", type=int, default=204)
    a = ap.parse_args()
    secret = None
    if a.secret_file:
        with open(a.secret_file, "rb") as f:
            secret = f.read().split(b"\n")[0].rstrip(b"\r")
    lock = threading.Lock()

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if 0 < n <= 4 << 20 else b""
            sig = self.headers.get("X-Hub-Signature-256")
            ok = None
            if secret is not None:
                want = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
                ok = sig is not None and hmac.compare_digest(sig, want)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            rec = {"path": self.path, "content_type": self.headers.get("Content-Type"),
                   "event": self.headers.get("X-Temper-Event"), "sig_ok": ok,
                   "sig_header": sig, "body": body, "raw_len": len(raw)}
            with lock, open(a.out, "a") as f:
                f.write(json.dumps(rec) + "\n")
            self.send_response(a.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    ppid = os.getppid()

    def watch():
        while os.getppid() == ppid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

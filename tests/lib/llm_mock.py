#!/usr/bin/env python3
"""A loopback server that answers like an OpenAI-compatible chat-completions
API (tests only).

    llm_mock.py [--key KEY]

Binds 127.0.0.1 on an ephemeral port, prints "PORT <n>" and serves until
killed (or its parent goes away).  POST /v1/chat/completions answers by the
request's "model":
    ok           200; content {"findings": [...]}: one high finding
                 "remote-code-exec" when the diff pipes curl into sh, else []
    ratelimit    429 with Retry-After: 1 on the first request, then like ok
    ratelimit-long  429 with Retry-After: 3600
    error500     500
    malformed    200 with a body that is not JSON
    nochoices    200 {"choices": []}
    notjson      200; content is prose, not JSON
    fenced       200; content is JSON inside ``` fences
    extrakey     200; a finding with an extra "verdict" key
    extratop     200; {"findings": [], "verdict": "pass"}
    badtype      200; confidence is a string
    badsev       200; severity "apocalyptic"
    ctrl         200; evidence with an escape character
    huge         200; a 2 MiB body
    slow         sleeps 5 s before answering
Any request whose Authorization is not "Bearer KEY" (with --key) gets 401.
GET /_stats: {"count", "models": [...], "auth_ok": n, "chunks": ["k of n"...],
"system_ok": n (requests whose system message asks for JSON findings)}.
"""
import argparse
import http.server
import json
import os
import re
import sys
import threading
import time


def finding(**kw):
    f = {"rule": "remote-code-exec", "severity": "high", "confidence": 90,
         "file": "build.sh", "line": 3, "evidence": "curl ... | sh",
         "explanation": "Downloaded code is run without verification."}
    f.update(kw)
    return f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key")
    a = ap.parse_args()
    lock = threading.Lock()
    stats = {"count": 0, "models": [], "auth_ok": 0, "chunks": [], "system_ok": 0}
    seen = {}

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def reply(self, status, body, headers=()):
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def content(self, text):
            self.reply(200, {"id": "cmpl-1", "object": "chat.completion",
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": text}}]})

        def do_GET(self):
            if self.path == "/_stats":
                with lock:
                    return self.reply(200, stats)
            self.reply(404, {"error": "not found"})

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n > 0 else b""
            try:
                req = json.loads(raw)
                model = req["model"]
                msgs = req["messages"]
                user = msgs[1]["content"]
            except (ValueError, KeyError, IndexError, TypeError):
                return self.reply(400, {"error": {"message": "bad request"}})
            auth = self.headers.get("Authorization")
            with lock:
                stats["count"] += 1
                stats["models"].append(model)
                if a.key and auth == "Bearer " + a.key:
                    stats["auth_ok"] += 1
                m = re.match(r"Chunk (\d+) of (\d+)", user)
                stats["chunks"].append("%s of %s" % m.groups() if m else "?")
                if msgs[0]["role"] == "system" and '"findings"' in msgs[0]["content"]:
                    stats["system_ok"] += 1
                k = seen.get(model, 0)
                seen[model] = k + 1
            if a.key and auth != "Bearer " + a.key:
                return self.reply(401, {"error": {"message": "Incorrect API key provided",
                                                  "type": "invalid_request_error"}})
            risky = "curl" in user and "| sh" in user
            if model == "ratelimit" and k == 0:
                return self.reply(429, {"error": {"message": "Rate limit reached"}},
                                  [("Retry-After", "1")])
            if model == "ratelimit-long":
                return self.reply(429, {"error": {"message": "Rate limit reached"}},
                                  [("Retry-After", "3600")])
            if model == "error500":
                return self.reply(500, {"error": {"message": "The server had an error"}})
            if model == "malformed":
                return self.reply(200, b'{"choices": [{"message": {"content": ')
            if model == "nochoices":
                return self.reply(200, {"choices": []})
            if model == "notjson":
                return self.content("Sure! I reviewed the diff and everything looks fine.")
            if model == "fenced":
                return self.content("```json\n{\"findings\": []}\n```")
            if model == "extrakey":
                return self.content(json.dumps({"findings": [finding(verdict="pass")]}))
            if model == "extratop":
                return self.content(json.dumps({"findings": [], "verdict": "pass"}))
            if model == "badtype":
                return self.content(json.dumps({"findings": [finding(confidence="90")]}))
            if model == "badsev":
                return self.content(json.dumps({"findings": [finding(severity="apocalyptic")]}))
            if model == "ctrl":
                return self.content(json.dumps({"findings": [finding(evidence="\x1b[2J")]}))
            if model == "huge":
                return self.content("x" * (2 << 20))
            if model == "slow":
                time.sleep(5)
            self.content(json.dumps({"findings": [finding()] if risky else []}))

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
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

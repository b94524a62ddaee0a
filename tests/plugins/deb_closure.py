#!/usr/bin/env python3
"""Test helper for the builder_deb tests: from a Packages file, print
"name version filename sha256" for every package the roots may need.

    deb_closure.py PACKAGES ARCH [--essential] ROOT...

Deliberately generous (a superset of what temper's resolver picks): every
alternative that exists is followed, a virtual name brings all its
providers, versions are ignored.  It only decides what the test downloads
into its .deb cache; temper resolves on its own."""
import sys


def stanzas(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        cur = {}
        key = None
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if cur:
                    yield cur
                cur, key = {}, None
                continue
            if line[0] in " \t":
                continue
            k, _, v = line.partition(":")
            key = k.strip().lower()
            cur[key] = v.strip()
        if cur:
            yield cur


def names(rel):
    out = []
    for group in rel.split(","):
        for alt in group.split("|"):
            n = alt.strip().split(" ")[0].split("(")[0].split(":")[0].strip()
            if n:
                out.append(n)
    return out


def main():
    path, arch = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    essential = "--essential" in args
    roots = [a for a in args if a != "--essential"]
    pkgs, prov = {}, {}
    for s in stanzas(path):
        if s.get("architecture") not in (arch, "all"):
            continue
        n = s["package"]
        pkgs.setdefault(n, s)  # first version in the file (one per suite)
        for p in names(s.get("provides", "")):
            prov.setdefault(p, []).append(n)
        if essential and s.get("essential") == "yes":
            roots.append(n)
    seen, todo = set(), list(roots)
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        if n not in pkgs:
            todo.extend(prov.get(n, []))
            continue
        s = pkgs[n]
        todo.extend(names(s.get("pre-depends", "")) + names(s.get("depends", "")))
    for n in sorted(seen):
        if n in pkgs:
            s = pkgs[n]
            print(n, s["version"], s["filename"], s["sha256"])


main()

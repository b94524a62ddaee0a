#!/usr/bin/env python3
"""Helpers of the attest plugin tests.

    attest_helper.py packages --count N --out FILE
        Real package data of this machine as a JSON array (the package list a
        deb builder records): name, version, arch, source, source_version,
        distribution ("debian:<codename>"), supplier (Maintainer), license
        (the License short names of the machine-readable
        /usr/share/doc/<pkg>/copyright, joined with AND; null when the file is
        not machine-readable), and sha256 + url of the .deb from apt's package
        lists when apt knows that exact version.  A few packages with telling
        names and versions come first (libstdc++6: '+' in the name, zlib1g:
        an epoch, libc6: source glibc), then the others by name, preferring
        packages with machine-readable copyright files.  Exit 77 when there
        is no dpkg database.

    attest_helper.py slsa-shape OURS SAMPLE...
        Compare the key sets of a statement OURS with real SLSA provenance
        samples (plain statements, or Sigstore bundles whose DSSE payload is
        decoded): the statement, the predicate, buildDefinition and runDetails
        must have the same keys, runDetails.metadata only keys of the
        provenance spec, and every resolvedDependencies entry uri or digest.
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys

STATUS = "/var/lib/dpkg/status"
PREFERRED = ["libc6", "libstdc++6", "zlib1g", "libcap2", "ca-certificates", "tzdata", "bash",
             "libssl3", "openssl", "libgnutls30", "libjson-c5", "perl-base", "gcc-12-base",
             "coreutils", "libgcc-s1", "base-files"]


def stanzas(text):
    cur, key = {}, None
    for line in text.splitlines():
        if not line.strip():
            if cur:
                yield cur
            cur, key = {}, None
        elif line[0] in " \t" and key:
            cur[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, val = line.partition(":")
            cur[key] = val.strip()
    if cur:
        yield cur


def installed():
    with open(STATUS, encoding="utf-8", errors="replace") as f:
        for st in stanzas(f.read()):
            if st.get("Status") == "install ok installed" and "Version" in st:
                yield st


def dep5_license(name):
    path = "/usr/share/doc/%s/copyright" % name
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(2 * 1024 * 1024)
    except OSError:
        return None
    if not re.match(r"Format:\s*https?://www\.debian\.org/doc/packaging-manuals/copyright-format",
                    text):
        return None
    names = []
    for para in stanzas(text):
        lic = para.get("License", "").split("\n")[0].strip()
        if "Files" in para and lic and lic not in names:
            names.append(lic)
    if not names:
        return None
    if len(names) == 1:
        return names[0]
    return " AND ".join("(%s)" % n if " " in n else n for n in names[:12])


def apt_records(wanted):
    """{(name, version, arch): (sha256, url)} from one apt-cache call."""
    found = {}
    try:
        out = subprocess.run(["apt-cache", "show", "--no-all-versions"] +
                             ["%s=%s" % (n, v) for n, v, _ in wanted],
                             capture_output=True, text=True, timeout=120, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return found
    for st in stanzas(out):
        key = (st.get("Package"), st.get("Version"), st.get("Architecture"))
        fn = st.get("Filename", "")
        if key in wanted and "SHA256" in st and fn:
            base = ("https://security.debian.org/debian-security/" if fn.startswith("pool/updates/")
                    else "https://deb.debian.org/debian/")
            found.setdefault(key, (st["SHA256"], base + fn))
    return found


def codename():
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VERSION_CODENAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "bookworm"


def package(st, dist, apt):
    name, version, arch = st["Package"], st["Version"], st.get("Architecture", "all")
    src, srcver = name, version
    m = re.match(r"^(\S+)(?:\s+\((\S+)\))?$", st.get("Source", ""))
    if m:
        src, srcver = m.group(1), m.group(2) or version
    sha, url = apt.get((name, version, arch), (None, None))
    return {"name": name, "version": version, "arch": arch, "source": src,
            "source_version": srcver, "distribution": dist,
            "supplier": st.get("Maintainer"), "license": dep5_license(name),
            "sha256": sha, "url": url}


def cmd_packages(args):
    if not os.path.exists(STATUS):
        sys.stderr.write("no dpkg database at %s\n" % STATUS)
        return 77
    dist = "debian:" + codename()
    pkgs = {st["Package"]: st for st in installed() if ":" not in st["Package"]}
    chosen = [n for n in PREFERRED if n in pkgs][:args.count]
    for n in sorted(pkgs):
        if len(chosen) >= args.count:
            break
        if n not in chosen and dep5_license(n) is not None:
            chosen.append(n)
    chosen += [n for n in sorted(pkgs) if n not in chosen][:max(0, args.count - len(chosen))]
    apt = apt_records({(n, pkgs[n]["Version"], pkgs[n].get("Architecture", "all"))
                       for n in chosen})
    out = [package(pkgs[n], dist, apt) for n in chosen]
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    return 0


def statement_of(path):
    with open(path, encoding="utf-8") as f:
        doc = json.loads(f.readline() if path.endswith((".jsonl", ".slsa")) else f.read())
    env = doc.get("dsseEnvelope")
    return json.loads(base64.b64decode(env["payload"])) if env else doc


def cmd_slsa_shape(args):
    ours = statement_of(args.ours)
    bad = []
    for sample in args.samples:
        theirs = statement_of(sample)
        for what, a, b in (
                ("statement", ours, theirs),
                ("predicate", ours["predicate"], theirs["predicate"]),
                ("buildDefinition", ours["predicate"]["buildDefinition"],
                 theirs["predicate"]["buildDefinition"]),
                ("runDetails", ours["predicate"]["runDetails"], theirs["predicate"]["runDetails"])):
            if sorted(a) != sorted(b):
                bad.append("%s: %s keys %s differ from %s" % (os.path.basename(sample), what,
                                                             sorted(a), sorted(b)))
    md = ours["predicate"]["runDetails"]["metadata"]
    if not set(md) <= {"invocationId", "startedOn", "finishedOn"}:
        bad.append("metadata keys %s" % sorted(md))
    if "id" not in ours["predicate"]["runDetails"]["builder"]:
        bad.append("builder has no id")
    for dep in ours["predicate"]["buildDefinition"]["resolvedDependencies"]:
        if "uri" not in dep and "digest" not in dep:
            bad.append("resolved dependency without uri or digest: %s" % dep)
    for line in bad:
        sys.stderr.write(line + "\n")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("packages")
    p.add_argument("--count", type=int, default=30)
    p.add_argument("--out", required=True)
    s = sub.add_parser("slsa-shape")
    s.add_argument("ours")
    s.add_argument("samples", nargs="+")
    args = ap.parse_args()
    return cmd_packages(args) if args.cmd == "packages" else cmd_slsa_shape(args)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Build an APKINDEX.tar.gz the way abuild-sign does, for temper's tests.

    mkapkindex.py (--index APKINDEX | --from APKINDEX.tar.gz) --out FILE
                  [--set NAME=VERSION]... [--add NAME=VERSION[/ORIGIN]]...
                  [--key PRIVATE.pem --key-name NAME.rsa.pub] [--description TEXT]

--from takes the APKINDEX text of an existing (signed or not) index; --set
changes the V: of package NAME, --add appends a record.

The index member is a gzip'ed tar holding DESCRIPTION and APKINDEX (with its
end-of-archive blocks).  With --key, a first gzip member is put in front: a
tar holding ".SIGN.RSA256.<NAME>" -- the RSA PKCS#1 v1.5 SHA-256 signature
(made by `openssl dgst -sha256 -sign`) over the bytes of the index member --
without end-of-archive blocks (abuild-tar --cut), so that both members read
as one tar stream.  Without --key the index is unsigned.
"""
import argparse
import gzip
import subprocess
import sys
import tarfile


def member(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.uname = info.gname = "root"
    pad = (512 - len(data) % 512) % 512
    return info.tobuf(format=tarfile.USTAR_FORMAT) + data + b"\0" * pad


def read_from(path):
    with tarfile.open(path, "r:gz") as t:
        for m in t:
            if m.name == "APKINDEX":
                return t.extractfile(m).read()
    raise SystemExit("%s: no APKINDEX" % path)


def edit(index, sets, adds):
    records = [r for r in index.decode().split("\n\n") if r.strip()]
    for spec in sets:
        name, version = spec.split("=", 1)
        hit = False
        for i, r in enumerate(records):
            lines = r.split("\n")
            if "P:" + name in lines:
                records[i] = "\n".join("V:" + version if l.startswith("V:") else l
                                       for l in lines)
                hit = True
        if not hit:
            raise SystemExit("no package %s" % name)
    for spec in adds:
        name, rest = spec.split("=", 1)
        version, _, origin = rest.partition("/")
        records.append("C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nP:%s\nV:%s\nA:x86_64\nS:1\nI:1\n"
                       "T:test\nU:https://example.invalid\nL:MIT\no:%s"
                       % (name, version, origin or name))
    return ("\n\n".join(r.strip("\n") for r in records) + "\n\n").encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--index")
    ap.add_argument("--from", dest="src")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--add", action="append", default=[])
    ap.add_argument("--out", required=True)
    ap.add_argument("--key")
    ap.add_argument("--key-name")
    ap.add_argument("--description", default="temper test index")
    args = ap.parse_args()
    if args.src:
        index = read_from(args.src)
    else:
        with open(args.index, "rb") as f:
            index = f.read()
    if args.set or args.add:
        index = edit(index, args.set, args.add)
    body = member("DESCRIPTION", args.description.encode()) + member("APKINDEX", index)
    index_gz = gzip.compress(body + b"\0" * 1024, mtime=0)
    out = index_gz
    if args.key:
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.key],
                             input=index_gz, stdout=subprocess.PIPE, check=True).stdout
        name = ".SIGN.RSA256." + (args.key_name or "test.rsa.pub")
        out = gzip.compress(member(name, sig), mtime=0) + index_gz
    with open(args.out, "wb") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Test helper for builder_deb: hand-made .deb files (hostile ones too) and
an unsigned archive over them.

    mkdeb.py deb OUT NAME VERSION ARCH [FIELD=VALUE...] [ENTRY...]
        FIELD=VALUE adds a control field (Depends=..., Provides=...,
        Multi-Arch=..., Essential=yes).  ENTRY is one data.tar member:
          f:PATH:TEXT     regular file       d:PATH     directory
          l:PATH:TARGET   symlink            h:PATH:TARGET  hardlink
          c:PATH          character device   s:PATH:TEXT  setuid file
        Names are written exactly as given ("../x", "/abs" included).
    mkdeb.py index DIR SUITE ARCH... [--bad-sha NAME]
        dists/SUITE/main/binary-ARCH/Packages for every .deb under
        DIR/pool (arch ARCH or all) and dists/SUITE/InRelease (an unsigned
        Release listing their SHA256); --bad-sha gives NAME a wrong SHA256.
"""
import hashlib
import io
import os
import sys
import tarfile


def ar_member(name, data):
    hdr = "%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name, 0, 0, 0, "100644", len(data))
    return hdr.encode() + data + (b"\n" if len(data) % 2 else b"")


def tar_bytes(entries, comp):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:" + comp, format=tarfile.GNU_FORMAT) as t:
        for kind, path, arg in entries:
            ti = tarfile.TarInfo(path)
            ti.mtime = 1700000000
            ti.mode = 0o755 if kind == "d" else 0o644
            data = None
            if kind in ("f", "s"):
                data = arg.encode()
                ti.size = len(data)
                if kind == "s":
                    ti.mode = 0o4755
            elif kind == "d":
                ti.type = tarfile.DIRTYPE
            elif kind == "l":
                ti.type, ti.linkname = tarfile.SYMTYPE, arg
            elif kind == "h":
                ti.type, ti.linkname = tarfile.LNKTYPE, arg
            elif kind == "c":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def make_deb(out, name, version, arch, args):
    fields = [("Package", name), ("Version", version), ("Architecture", arch),
              ("Maintainer", "Test <test@example.org>")]
    entries = [("d", "./", None)]
    for a in args:
        if "=" in a and ":" not in a.split("=", 1)[0]:
            k, v = a.split("=", 1)
            fields.append((k, v))
        else:
            kind, _, rest = a.partition(":")
            path, _, arg = rest.partition(":")
            entries.append((kind, path, arg))
    fields.append(("Description", "test package " + name))
    control = "".join("%s: %s\n" % f for f in fields).encode()
    ctl = tar_bytes([("d", "./", None), ("f", "./control", control.decode())], "gz")
    data = tar_bytes(entries, "xz")
    with open(out, "wb") as f:
        f.write(b"!<arch>\n" + ar_member("debian-binary", b"2.0\n") +
                ar_member("control.tar.gz", ctl) + ar_member("data.tar.xz", data))


def read_control(path):
    with open(path, "rb") as f:
        blob = f.read()
    off = 8
    while off < len(blob):
        name = blob[off:off + 16].decode().strip()
        size = int(blob[off + 48:off + 58].decode().strip())
        body = blob[off + 60:off + 60 + size]
        off += 60 + size + (size % 2)
        if name.startswith("control.tar"):
            with tarfile.open(fileobj=io.BytesIO(body)) as t:
                return t.extractfile("./control").read().decode()
    raise SystemExit("no control in " + path)


def make_index(root, suite, archs, bad):
    pool = os.path.join(root, "pool")
    debs = sorted(os.path.join(d, f) for d, _, fs in os.walk(pool) for f in fs
                  if f.endswith(".deb"))
    files = []
    for arch in archs:
        text = ""
        for deb in debs:
            ctl = read_control(deb)
            a = [l.split(": ", 1)[1] for l in ctl.splitlines() if l.startswith("Architecture:")][0]
            if a not in (arch, "all"):
                continue
            name = [l.split(": ", 1)[1] for l in ctl.splitlines() if l.startswith("Package:")][0]
            data = open(deb, "rb").read()
            sha = hashlib.sha256(data).hexdigest()
            if name in bad:
                sha = hashlib.sha256(b"not this one").hexdigest()
            desc = ctl.index("Description:")
            text += (ctl[:desc] + "Filename: %s\nSize: %d\nSHA256: %s\n" %
                     (os.path.relpath(deb, root), len(data), sha) + ctl[desc:] + "\n")
        rel = "main/binary-%s/Packages" % arch
        d = os.path.join(root, "dists", suite, "main", "binary-" + arch)
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "Packages"), "w").write(text)
        files.append((hashlib.sha256(text.encode()).hexdigest(), len(text.encode()), rel))
    release = ("Origin: Test\nSuite: %s\nCodename: %s\nArchitectures: %s\nComponents: main\n"
               "Date: Sat, 10 Jun 2023 08:54:04 UTC\nSHA256:\n" % (suite, suite, " ".join(archs)))
    release += "".join(" %s %d %s\n" % f for f in files)
    open(os.path.join(root, "dists", suite, "InRelease"), "w").write(release)


def main():
    if sys.argv[1] == "deb":
        make_deb(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
    else:
        args = sys.argv[4:]
        bad = [args[i + 1] for i, a in enumerate(args) if a == "--bad-sha"]
        archs = [a for i, a in enumerate(args) if a != "--bad-sha" and
                 (i == 0 or args[i - 1] != "--bad-sha")]
        make_index(sys.argv[2], sys.argv[3], archs, bad)


main()

#!/usr/bin/env python3
"""An Alpine-format repository made from Debian-provided binaries (tests only).

    apk_from_deb.py OUT ARCH

There is no Alpine mirror offline, so builder_source's Alpine path is tested
with packages this script makes, in the real apk v2 format (the fixture
maker of tests/plugins/apk_repo.py: gzip members, .PKGINFO with datahash,
APKINDEX signed RSA-SHA256 with a test key made by openssl):

  busybox  /bin/busybox from Debian's busybox-static (a static binary) and
           /bin/sh, cp, install, ... as symlinks to it; provides /bin/sh and
           cmd:sh
  musl     Debian's musl (/lib/<triplet>/libc.so, the C library that is also
           its dynamic loader) laid out the Alpine way: /lib/ld-musl-ARCH.so.1
           and the symlink /lib/libc.musl-ARCH.so.1; provides
           so:libc.musl-ARCH.so.1=1 like Alpine's musl package
  zlib     a stand-in shared object providing so:libz.so.1 (never needed by
           the test program: it must not reach the image)

OUT/repo/main/ARCH/ holds the .apk files and the signed APKINDEX.tar.gz,
OUT/repo/otherkey/ARCH/ the same index signed by a key nobody configures,
OUT/keys/ the public keys.  Prints "key PATH" and "otherkey PATH".
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugins"))
import apk_repo as ar  # noqa: E402

TRIPLET = {"x86_64": "x86_64-linux-musl", "aarch64": "aarch64-linux-musl"}
APPLETS = ["sh", "cp", "mkdir", "chmod", "cat", "ls", "rm", "echo", "touch",
           "nc", "wget", "sleep", "test", "true", "false", "env"]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def packages(arch):
    so = "so:libc.musl-%s.so.1" % arch
    libc = read("/usr/lib/%s/libc.so" % TRIPLET[arch]) \
        if os.path.exists("/usr/lib/%s/libc.so" % TRIPLET[arch]) \
        else read("/lib/%s/libc.so" % TRIPLET[arch])
    musl = [ar.entry("lib", "dir", mode=0o755),
            ar.entry("lib/ld-musl-%s.so.1" % arch, data=libc, mode=0o755),
            ar.entry("lib/libc.musl-%s.so.1" % arch, "symlink",
                     link="ld-musl-%s.so.1" % arch, mode=0o777)]
    bb = [ar.entry("bin", "dir", mode=0o755),
          ar.entry("bin/busybox", data=read("/bin/busybox"), mode=0o755)]
    bb += [ar.entry("bin/" + a, "symlink", link="busybox", mode=0o777) for a in APPLETS]
    zlib = [ar.entry("lib", "dir", mode=0o755),
            ar.entry("lib/libz.so.1", data=b"\x7fELF zlib stand-in\n", mode=0o755)]
    return [
        ("musl", "1.2.3-r0", musl, [], [so + "=1"]),
        ("busybox", "1.35.0-r0", bb, [], ["/bin/sh", "cmd:sh=1.35.0-r0"]),
        ("zlib", "1.2.13-r0", zlib, [], ["so:libz.so.1=1.2.13"]),
    ]


def main(argv):
    if len(argv) != 3 or argv[2] not in TRIPLET:
        sys.stderr.write(__doc__)
        return 2
    out, arch = argv[1], argv[2]
    keys = os.path.join(out, "keys")
    os.makedirs(keys, exist_ok=True)
    priv = ar.make_key(keys, ar.KEYNAME)
    other = ar.make_key(keys, "other@temper-00000000.rsa.pub")
    base = os.path.join(out, "repo", "main", arch)
    records = []
    for name, ver, entries, deps, prov in packages(arch):
        blob = ar.make_apk(name, ver, entries, depends=deps, provides=prov, arch=arch)
        ar.write(os.path.join(base, "%s-%s.apk" % (name, ver)), blob)
        records.append(ar.pkg_record(blob, name, ver, deps, prov, arch=arch))
    body = ar.index_member("\n".join(records) + "\n")
    ar.write(os.path.join(base, "APKINDEX.tar.gz"), ar.signed(body, priv, ar.KEYNAME))
    for name, ver, _, _, _ in packages(arch):
        src = os.path.join(base, "%s-%s.apk" % (name, ver))
        ar.write(os.path.join(out, "repo", "otherkey", arch, "%s-%s.apk" % (name, ver)),
                 read(src))
    ar.write(os.path.join(out, "repo", "otherkey", arch, "APKINDEX.tar.gz"),
             ar.signed(body, other, "other@temper-00000000.rsa.pub"))
    print("key", os.path.join(keys, ar.KEYNAME))
    print("otherkey", os.path.join(keys, "other@temper-00000000.rsa.pub"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Alpine repositories for builder_apk's tests (loopback only).

    apk_repo.py scenario OUT --samples DIR --canary DIR
        Lay out OUT/repo/<name>/<arch>/ repositories and OUT/keys/ (test RSA
        keys made with openssl).  "main"/aarch64 holds the REAL
        alpine-baselayout .apk (from the samples DIR) next to small packages
        made here that satisfy its dependencies (alpine-baselayout-data,
        musl for so:libc.musl-aarch64.so.1, busybox-binsh for /bin/sh) and
        hostile packages whose payloads aim at the canary DIR; "main"/x86_64
        the small packages built for x86_64; both indexes are signed with
        the test key.  "real" is the REAL RSA-SHA256 signed sample index
        with the real .apk it lists, "v317" the REAL Alpine v3.17 index;
        "unsigned", "badsig" (signature of another content) and "otherkey"
        (signed by a key nobody configures) are refused.  Prints facts as
        "KEY VALUE" lines (the real package's C:, the key files).
    apk_repo.py checksum FILE
        Print the C: of an .apk ("Q1" + base64 SHA-1 of its second gzip
        member) and the offsets of its members.
    apk_repo.py serve DIR
        Serve DIR over HTTP on 127.0.0.1 (ephemeral port), print "PORT n",
        stop when the parent process goes away.

apk v2 format as abuild writes it: gzip members glued together, each a tar
segment without end-of-archive blocks: [signature], control (.PKGINFO with
datahash = SHA-256 of the data member), data.
"""
import base64
import functools
import gzip
import hashlib
import http.server
import io
import os
import subprocess
import sys
import tarfile
import threading
import time
import zlib

BUILDDATE = 1662926906
ARCH = "aarch64"
KEYNAME = "test@temper-5f1b2c3d.rsa.pub"


# ---- tar and gzip pieces ---------------------------------------------------

def entry(name, kind="file", data=b"", mode=0o644, link="", uid=0, gid=0,
          dev=(0, 0)):
    ti = tarfile.TarInfo(name)
    ti.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE,
               "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
               "char": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}[kind]
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.uname, ti.gname = "root", "root"
    ti.mtime = BUILDDATE
    ti.linkname = link
    ti.devmajor, ti.devminor = dev
    ti.size = len(data) if kind == "file" else 0
    out = ti.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")
    if kind == "file":
        out += data + b"\0" * ((512 - len(data) % 512) % 512)
    return out


def gz(raw):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as g:
        g.write(raw)
    return buf.getvalue()


def members(blob):
    """Split concatenated gzip members: [(start, end, decompressed)]."""
    out, pos = [], 0
    while pos < len(blob):
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        raw = d.decompress(blob[pos:])
        end = len(blob) - len(d.unused_data)
        out.append((pos, end, raw))
        pos = end
    return out


def q1(data):
    return "Q1" + base64.b64encode(hashlib.sha1(data).digest()).decode()


# ---- packages ----------------------------------------------------------------

def make_apk(name, version, entries, depends=(), provides=(), datahash=True,
             extra_info="", arch=ARCH):
    data = gz(b"".join(entries))
    info = ["pkgname = %s" % name, "pkgver = %s" % version,
            "pkgdesc = %s made by temper's tests" % name,
            "url = https://example.invalid/%s" % name,
            "builddate = %d" % BUILDDATE, "size = 4096", "arch = %s" % arch,
            "origin = %s" % name, "maintainer = Temper Tests <tests@example.invalid>",
            "license = MIT"]
    info += ["depend = %s" % d for d in depends]
    info += ["provides = %s" % p for p in provides]
    if datahash:
        info.append("datahash = %s" % hashlib.sha256(data).hexdigest())
    text = ("\n".join(info) + "\n" + extra_info).encode()
    control = gz(entry(".PKGINFO", data=text))
    return control + data


def pkg_record(blob, name, version, depends=(), provides=(), license="MIT",
               maint="Temper Tests <tests@example.invalid>", size=None, arch=ARCH):
    ms = members(blob)
    ctl = ms[-2]
    rec = ["C:" + q1(blob[ctl[0]:ctl[1]]), "P:" + name, "V:" + version,
           "A:" + arch, "S:%d" % (len(blob) if size is None else size),
           "I:4096", "T:%s" % name, "U:https://example.invalid/%s" % name,
           "L:" + license, "o:" + name, "m:" + maint, "t:%d" % BUILDDATE]
    if depends:
        rec.append("D:" + " ".join(depends))
    if provides:
        rec.append("p:" + " ".join(provides))
    return "\n".join(rec) + "\n"


# ---- indexes -----------------------------------------------------------------

def openssl(*args, data=None):
    return subprocess.run(["openssl"] + list(args), input=data, check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout


def make_key(keydir, name):
    priv = os.path.join(keydir, name + ".priv.pem")
    openssl("genrsa", "-out", priv, "2048")
    openssl("rsa", "-in", priv, "-pubout", "-out", os.path.join(keydir, name))
    return priv


def index_member(text):
    return gz(entry("DESCRIPTION", data=b"temper test repository") +
              entry("APKINDEX", data=text.encode()) + b"\0" * 1024)


def signed(body, priv, keyname):
    sig = openssl("dgst", "-sha256", "-sign", priv, data=body)
    return gz(entry(".SIGN.RSA256." + keyname, data=sig)) + body


def write(path, blob):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(blob)


# ---- the scenario --------------------------------------------------------------

def good_packages(real_apk, arch):
    pk = {}
    if real_apk:
        with open(real_apk, "rb") as f:
            pk["alpine-baselayout"] = ("3.2.0-r23", f.read(), [
                "alpine-baselayout-data=3.2.0-r23", "/bin/sh",
                "so:libc.musl-aarch64.so.1"], ["cmd:mkmntdirs=3.2.0-r23"])
    files = [entry("etc", "dir", mode=0o755),
             entry("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n"),
             entry("etc/group", data=b"root:x:0:root\nshadow:x:42:\n"),
             entry("etc/shadow", data=b"root:*::0:::::\n", mode=0o640, gid=42),
             entry("etc/hostname", data=b"localhost\n")]
    pk["alpine-baselayout-data"] = ("3.2.0-r23", make_apk(
        "alpine-baselayout-data", "3.2.0-r23", files, arch=arch), [], [])
    so = "so:libc.musl-%s.so.1" % arch
    files = [entry("lib", "dir", mode=0o755),
             entry("lib/ld-musl-%s.so.1" % arch, data=b"\x7fELF musl stand-in\n",
                   mode=0o755),
             entry("lib/libc.musl-%s.so.1" % arch, "symlink",
                   link="ld-musl-%s.so.1" % arch, mode=0o777)]
    prov = [so + "=1"]
    pk["musl"] = ("1.2.3-r0", make_apk("musl", "1.2.3-r0", files, provides=prov,
                                       arch=arch), [], prov)
    files = [entry("bin", "dir", mode=0o755),
             entry("bin/busybox", data=b"\x7fELF busybox stand-in\n", mode=0o755),
             entry("bin/bbsuid", data=b"\x7fELF setuid stand-in\n", mode=0o4755),
             entry("bin/busybox.static", "hardlink", link="bin/busybox")]
    pk["busybox"] = ("1.35.0-r17", make_apk("busybox", "1.35.0-r17", files,
                                            depends=[so], arch=arch), [so], [])
    files = [entry("bin", "dir", mode=0o755),
             entry("bin/sh", "symlink", link="/bin/busybox", mode=0o777)]
    deps, prov = ["busybox=1.35.0-r17"], ["/bin/sh", "cmd:sh=1.35.0-r17"]
    pk["busybox-binsh"] = ("1.35.0-r17", make_apk(
        "busybox-binsh", "1.35.0-r17", files, depends=deps, provides=prov, arch=arch),
        deps, prov)
    return pk


def lay_good(base, real_apk, arch):
    records, facts = [], {}
    for name, (ver, blob, deps, prov) in sorted(good_packages(real_apk, arch).items()):
        write(os.path.join(base, "%s-%s.apk" % (name, ver)), blob)
        lic, maint = "MIT", "Temper Tests <tests@example.invalid>"
        if name == "alpine-baselayout":
            lic, maint = "GPL-2.0-only", "Natanael Copa <ncopa@alpinelinux.org>"
            facts["real_c"] = pkg_record(blob, name, ver).split("\n")[0][2:]
        records.append(pkg_record(blob, name, ver, deps, prov, lic, maint, arch=arch))
    return records, facts


def hostile_packages(canary):
    """name -> (entries, make_apk keyword arguments)."""
    c = canary.lstrip("/")
    up = "../" * 24
    pwn = b"pwned\n"
    return {
        "evil-dotdot": [entry(up + c + "/pwned", data=pwn)],
        "evil-abs": [entry("/" + c + "/pwned", data=pwn)],
        "evil-symlink": [entry("escape", "symlink", link=canary),
                         entry("escape/pwned", data=pwn)],
        "evil-symlink-rel": [entry("up", "symlink", link=up + c),
                             entry("up/pwned", data=pwn)],
        "evil-hardlink": [entry("passwd", "hardlink", link=up + "etc/passwd")],
        "evil-hardlink-abs": [entry("passwd", "hardlink", link="/etc/passwd")],
        "evil-hardlink-other": [entry("shadow", "hardlink", link="etc/shadow")],
        "evil-device": [entry("dev", "dir", mode=0o755),
                        entry("dev/mem", "char", mode=0o666, dev=(1, 1))],
        "evil-fifo": [entry("fifo", "fifo", mode=0o666)],
        "evil-control": [entry(".post-install", data=b"#!/bin/sh\ntouch /" + c.encode()
                               + b"/pwned\n", mode=0o755)],
    }


def lay_main(out, real_apk, canary, priv):
    base = os.path.join(out, "repo", "main", ARCH)
    records, facts = lay_good(base, real_apk, ARCH)
    for name, entries in sorted(hostile_packages(canary).items()):
        blob = make_apk(name, "1.0-r0", entries)
        write(os.path.join(base, name + "-1.0-r0.apk"), blob)
        records.append(pkg_record(blob, name, "1.0-r0"))
    # checksum mismatch: the index describes one package, the file is another
    listed = make_apk("evil-checksum", "1.0-r0", [entry("a", data=b"listed\n")])
    served = make_apk("evil-checksum", "1.0-r0", [entry("a", data=b"served\n")])
    write(os.path.join(base, "evil-checksum-1.0-r0.apk"), served)
    records.append(pkg_record(listed, "evil-checksum", "1.0-r0", size=len(served)))
    # a data member cut short: the control part (and C:) is intact
    whole = make_apk("evil-truncated", "1.0-r0",
                     [entry("big", data=os.urandom(20000), mode=0o644)])
    cut = whole[:-600]
    write(os.path.join(base, "evil-truncated-1.0-r0.apk"), cut)
    records.append(pkg_record(cut, "evil-truncated", "1.0-r0"))
    nohash = make_apk("evil-nodatahash", "1.0-r0", [entry("a", data=b"x\n")],
                      datahash=False)
    write(os.path.join(base, "evil-nodatahash-1.0-r0.apk"), nohash)
    records.append(pkg_record(nohash, "evil-nodatahash", "1.0-r0"))
    text = "\n".join(records) + "\n"
    write(os.path.join(base, "APKINDEX.tar.gz"), signed(index_member(text), priv, KEYNAME))
    return text, facts


def copy(src, dst):
    with open(src, "rb") as f:
        write(dst, f.read())


def scenario(out, samples, canary):
    keys = os.path.join(out, "keys")
    os.makedirs(keys, exist_ok=True)
    priv = make_key(keys, KEYNAME)
    other = make_key(keys, "other@temper-00000000.rsa.pub")
    real_apk = os.path.join(samples, "apko_alpine-316_alpine-baselayout-3.2.0-r23.apk")
    text, facts = lay_main(out, real_apk, canary, priv)
    x86 = os.path.join(out, "repo", "main", "x86_64")
    records, _ = lay_good(x86, None, "x86_64")
    write(os.path.join(x86, "APKINDEX.tar.gz"),
          signed(index_member("\n".join(records) + "\n"), priv, KEYNAME))
    body = index_member(text)
    write(os.path.join(out, "repo", "unsigned", ARCH, "APKINDEX.tar.gz"), body)
    forged = index_member(text.replace("L:MIT", "L:Forged"))
    good = signed(body, priv, KEYNAME)
    sig_member = members(good)[0]
    write(os.path.join(out, "repo", "badsig", ARCH, "APKINDEX.tar.gz"),
          good[sig_member[0]:sig_member[1]] + forged)
    write(os.path.join(out, "repo", "otherkey", ARCH, "APKINDEX.tar.gz"),
          signed(body, other, "other@temper-00000000.rsa.pub"))
    real = os.path.join(out, "repo", "real", ARCH)
    copy(os.path.join(samples, "apko_rsa256-signed_APKINDEX.tar.gz"),
         os.path.join(real, "APKINDEX.tar.gz"))
    copy(real_apk, os.path.join(real, "alpine-baselayout-3.2.0-r23.apk"))
    copy(os.path.join(samples, "apko_alpine-317_APKINDEX.tar.gz"),
         os.path.join(out, "repo", "v317", ARCH, "APKINDEX.tar.gz"))
    copy(os.path.join(samples, "apko_rsa256-signed_test-rsa256.rsa.pub"),
         os.path.join(keys, "test-rsa256.rsa.pub"))
    facts["key"] = os.path.join(keys, KEYNAME)
    facts["otherkey"] = os.path.join(keys, "other@temper-00000000.rsa.pub")
    facts["realkey"] = os.path.join(keys, "test-rsa256.rsa.pub")
    for k, v in sorted(facts.items()):
        print(k, v)


# ---- serving -------------------------------------------------------------------

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory):
    handler = functools.partial(QuietHandler, directory=directory)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        srv.shutdown()
    threading.Thread(target=watch, daemon=True).start()
    print("PORT", srv.server_address[1], flush=True)
    srv.serve_forever()


def main(argv):
    if len(argv) >= 2 and argv[1] == "serve":
        serve(argv[2])
    elif len(argv) >= 2 and argv[1] == "checksum":
        with open(argv[2], "rb") as f:
            blob = f.read()
        ms = members(blob)
        print("C", q1(blob[ms[-2][0]:ms[-2][1]]))
        print("members", " ".join("%d-%d" % (a, b) for a, b, _ in ms))
    elif len(argv) >= 2 and argv[1] == "scenario":
        args = dict(zip(argv[3::2], argv[4::2]))
        scenario(argv[2], args["--samples"], args["--canary"])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

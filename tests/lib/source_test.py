#!/usr/bin/env python3
"""Small helpers of the builder_source shell tests (loopback only).

    source_test.py layers LAYOUT
        Print "LAYER-INDEX NAME UID MTIME" for every entry of every layer of
        the first image of the OCI layout LAYOUT.
    source_test.py listen MARKER
        Listen on 127.0.0.1 (ephemeral port), print "PORT n", and write
        MARKER when anything connects (a sandboxed step must not); stops
        when the parent process goes away.
"""
import json
import os
import socket
import sys
import tarfile
import threading
import time


def layers(lay):
    idx = json.load(open(os.path.join(lay, "index.json")))

    def blob(d):
        return os.path.join(lay, "blobs", "sha256", d.split(":")[1])
    man = json.load(open(blob(idx["manifests"][0]["digest"])))
    for i, layer in enumerate(man["layers"]):
        with tarfile.open(blob(layer["digest"])) as t:
            for m in t.getmembers():
                print(i, m.name, m.uid, m.mtime)


def listen(marker):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(5)
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()
    print("PORT", s.getsockname()[1], flush=True)
    while True:
        c, _ = s.accept()
        with open(marker, "w") as f:
            f.write("yes")
        c.close()


def main(argv):
    if len(argv) == 3 and argv[1] == "layers":
        layers(argv[2])
    elif len(argv) == 3 and argv[1] == "listen":
        listen(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

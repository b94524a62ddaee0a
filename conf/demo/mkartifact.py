#!/usr/bin/env python3
"""Write an ORAS-style OCI artifact (files as layers named by their
org.opencontainers.image.title annotation) into an OCI image layout, the
shape `oras push` gives a team's configuration files.  Used by the demo to
play the team that customizes an image.

    mkartifact.py LAYOUT TAG FILE...
"""
import hashlib
import json
import os
import sys


def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    if not os.path.exists(path):
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
    return "sha256:" + digest, len(data)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    layout, tag, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    cfg, cfg_size = blob(layout, b"{}")
    layers = []
    for name in files:
        with open(name, "rb") as f:
            d, n = blob(layout, f.read())
        layers.append({"mediaType": "text/plain", "digest": d, "size": n,
                       "annotations": {"org.opencontainers.image.title": os.path.basename(name)}})
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": "application/vnd.temper.demo.config.v1",
                "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                           "digest": cfg, "size": cfg_size},
                "layers": layers}
    raw = json.dumps(manifest, separators=(",", ":")).encode()
    md, ms = blob(layout, raw)
    index_path = os.path.join(layout, "index.json")
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "digest": md, "size": ms,
                               "annotations": {"org.opencontainers.image.ref.name": tag}})
    with open(index_path + ".tmp", "w") as f:
        json.dump(index, f)
    os.replace(index_path + ".tmp", index_path)
    print(md)


if __name__ == "__main__":
    main()

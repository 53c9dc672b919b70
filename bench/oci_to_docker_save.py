#!/usr/bin/env python3
"""Repackage an OCI image layout directory as a legacy `docker save` archive with plain layers.

    oci_to_docker_save.py LAYOUT_DIR OUT.tar [--ref bench] [--tag strata-bench:latest]

Takes the image tagged REF (annotation org.opencontainers.image.ref.name) in LAYOUT_DIR (as
written by gen_fs_image.py), inflates each gzip layer blob and writes OUT.tar (built as
OUT.tar.tmp and renamed) the way `docker save` (before Docker 25) lays it out:

    <id>/VERSION, <id>/json, <id>/layer.tar    one directory per layer, layer.tar uncompressed
    <config hex>.json                           the image config, byte for byte (so the same
                                                image ID and rootfs.diff_ids)
    manifest.json                               [{"Config", "RepoTags", "Layers": [<id>/layer.tar]}]
    repositories                                {"name": {"tag": <top layer id>}}

Each inflated layer must hash to its diff_id in the config (else exit 1). <id> is a v1-style
layer ID derived from the diff_ids (sha256 of the v1 json without its id, as docker does).
Entries are in name order, owned by 0:0, with a fixed mtime: same input => byte-identical output.
Prints stats as JSON on stdout. Python 3.11 stdlib only.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

MIB = 1 << 20
MTIME = 1721088000  # 2024-07-16T00:00:00Z, the config's "created"


def blob(layout: str, digest: str) -> str:
    algo, hexd = digest.split(":", 1)
    return os.path.join(layout, "blobs", algo, hexd)


def read_json(layout: str, digest: str) -> tuple[dict, bytes]:
    with open(blob(layout, digest), "rb") as f:
        data = f.read()
    return json.loads(data), data


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("layout")
    ap.add_argument("out")
    ap.add_argument("--ref", default="bench")
    ap.add_argument("--tag", default="strata-bench:latest")
    a = ap.parse_args()

    with open(os.path.join(a.layout, "index.json")) as f:
        index = json.load(f)
    desc = [m for m in index["manifests"]
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == a.ref]
    if len(desc) != 1:
        sys.exit(f"oci_to_docker_save.py: {len(desc)} manifests tagged {a.ref!r} in {a.layout}")
    manifest, _ = read_json(a.layout, desc[0]["digest"])
    config, config_bytes = read_json(a.layout, manifest["config"]["digest"])
    diff_ids = config["rootfs"]["diff_ids"]
    layers = manifest["layers"]
    if len(diff_ids) != len(layers):
        sys.exit("oci_to_docker_save.py: config diff_ids and manifest layers differ in number")

    # v1 layer IDs, chained through "parent" like docker's v1.CreateID
    ids, v1s, parent = [], [], ""
    for i, d in enumerate(diff_ids):
        v1 = {"created": config["created"], "layer_id": d, "os": config.get("os", "linux")}
        if parent:
            v1["parent"] = parent
        if i == len(diff_ids) - 1:
            v1["config"] = config.get("config", {})
        lid = hashlib.sha256(json.dumps(v1, sort_keys=True).encode()).hexdigest()
        v1s.append({"id": lid, **v1})
        ids.append(lid)
        parent = lid
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    name, tag = a.tag.rsplit(":", 1)

    def info(path: str, size: int = 0, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(path)
        ti.type, ti.size, ti.mtime, ti.uname, ti.gname = kind, size, MTIME, "", ""
        ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
        return ti

    small: dict[str, bytes] = {
        config_name: config_bytes,
        "manifest.json": json.dumps([{"Config": config_name, "RepoTags": [a.tag],
                                      "Layers": [f"{i}/layer.tar" for i in ids]}]).encode(),
        "repositories": json.dumps({name: {tag: ids[-1]}}).encode(),
    }
    for lid, v1 in zip(ids, v1s):
        small[f"{lid}/VERSION"] = b"1.0"
        small[f"{lid}/json"] = json.dumps(v1, sort_keys=True).encode()
    layer_of = {f"{lid}/layer.tar": (n, lid) for n, lid in enumerate(ids)}
    names = sorted(list(small) + list(layer_of) + [f"{lid}/" for lid in ids])

    tmp = a.out + ".tmp"
    stats = []
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tf:
        for p in names:
            if p.endswith("/"):
                tf.addfile(info(p, kind=tarfile.DIRTYPE))
            elif p in small:
                data = small[p]
                tf.addfile(info(p, len(data)), io.BytesIO(data))
            else:
                n, lid = layer_of[p]
                lay = layers[n]
                # inflate into a scratch file first: the tar header needs the size
                scratch = a.out + ".layer.tmp"
                h = hashlib.sha256()
                with gzip.open(blob(a.layout, lay["digest"]), "rb") as src, \
                        open(scratch, "wb") as dst:
                    while chunk := src.read(4 * MIB):
                        h.update(chunk)
                        dst.write(chunk)
                got = "sha256:" + h.hexdigest()
                if got != diff_ids[n]:
                    os.unlink(scratch)
                    sys.exit(f"oci_to_docker_save.py: layer {n} inflates to {got}, "
                             f"config says {diff_ids[n]}")
                size = os.path.getsize(scratch)
                with open(scratch, "rb") as f:
                    tf.addfile(info(p, size), f)
                os.unlink(scratch)
                stats.append({"path": p, "diff_id": got, "size": size})
                print(f"oci_to_docker_save.py: layer {n}: {size / 1e6:.1f} MB", file=sys.stderr)
    os.rename(tmp, a.out)
    json.dump({"layers": stats, "config": config_name, "size": os.path.getsize(a.out)},
              sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Images for bench/store_bounds.sh (issue 8 section 5), as oci-archive tars.

  gen_bounds_image.py OUT longpath LAYERS WHITEOUTS   LAYERS layers sharing one blob of
                                                      WHITEOUTS whiteouts with ~4000-byte paths
  gen_bounds_image.py OUT wide LAYERS WHITEOUTS [FILES]  a base with d/keep (and d/f0.. FILES), LAYERS-2 small layers,
                                                      a top layer of WHITEOUTS whiteouts in d/
  gen_bounds_image.py OUT many LAYERS                 LAYERS small layers
  gen_bounds_image.py OUT bomb MIB                    one zstd layer: one file of MIB MiB of zeros

Blobs are zstd (`zstd -19`, the `zstd` command), deterministic (mtime 0, uid 0).
"""
import hashlib
import io
import json
import subprocess
import sys
import tarfile


def tar_of(entries):
    """entries: (name, kind, data) with kind 'dir' | 'file'."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            else:
                ti.mode = 0o644
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def zstd(data):
    return subprocess.run(["zstd", "-19", "-q", "-c"], input=data, check=True,
                          stdout=subprocess.PIPE).stdout


def bomb_layer(mib):
    """A tar of one file of MIB MiB of zeros, streamed through zstd; returns (blob, diff_id)."""
    ti = tarfile.TarInfo("zeros")
    ti.size = mib << 20
    ti.mode = 0o644
    ti.mtime = 0
    header = ti.tobuf(format=tarfile.GNU_FORMAT)
    p = subprocess.Popen(["zstd", "-3", "-q", "-c"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    h = hashlib.sha256()
    out = []
    import threading
    reader = threading.Thread(target=lambda: out.append(p.stdout.read()))
    reader.start()
    zeros = bytes(1 << 20)
    for chunk in [header] + [zeros] * mib + [bytes(1024)]:
        h.update(chunk)
        p.stdin.write(chunk)
    p.stdin.close()
    reader.join()
    p.wait()
    return out[0], "sha256:" + h.hexdigest()


def write_image(out, layers):
    """layers: list of (blob, diff_id)."""
    blobs = {}

    def put(data):
        d = hashlib.sha256(data).hexdigest()
        blobs[d] = data
        return "sha256:" + d, len(data)

    descs = []
    for blob, _ in layers:
        digest, size = put(blob)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
                      "digest": digest, "size": size})
    config = {"architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]},
              "history": [{"created_by": f"layer {i}"} for i in range(len(layers))]}
    cdigest, csize = put(json.dumps(config, sort_keys=True).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": cdigest, "size": csize},
                "layers": descs}
    mdigest, msize = put(json.dumps(manifest, sort_keys=True).encode())
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest,
        "size": msize, "annotations": {"org.opencontainers.image.ref.name": "bounds"}}]}
    files = [("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()),
             ("index.json", json.dumps(index).encode())]
    files += [(f"blobs/sha256/{d}", data) for d, data in sorted(blobs.items())]
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))


def layer(entries):
    raw = tar_of(entries)
    return zstd(raw), "sha256:" + hashlib.sha256(raw).hexdigest()


def main():
    out, kind, *args = sys.argv[1:]
    n = [int(a) for a in args]
    if kind == "longpath":
        d = "/".join(f"{i:0>250}" for i in range(15))
        blob = layer([(f"{d}/.wh.{i:0>200}", "file", b"") for i in range(n[1])])
        write_image(out, [blob] * n[0])
    elif kind == "wide":
        files = n[2] if len(n) > 2 else 0
        base = layer([("d", "dir", b""), ("d/keep", "file", b"k")]
                     + [(f"d/f{i}", "file", b"") for i in range(files)])
        pad = layer([("pad", "file", b"p")])
        top = layer([(f"d/.wh.f{i}", "file", b"") for i in range(n[1])])
        write_image(out, [base] + [pad] * (n[0] - 2) + [top])
    elif kind == "many":
        write_image(out, [layer([(f"f{i}", "file", b"x")]) for i in range(n[0])])
    elif kind == "bomb":
        write_image(out, [bomb_layer(n[0])])
    else:
        sys.exit(f"unknown kind {kind}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""An OCI archive (tar) of FILES small files spread over LAYERS uncompressed layers, for
bench/explore.sh: each layer adds FILES/LAYERS files (16 bytes each) under d<layer>/<n/1000>/,
and every layer after the first rewrites 1 % of the previous layer's files and whites out
another 1 %, so `ls` and `diff` have modifications and deletions to track.

    gen_many_files.py OUT.tar FILES LAYERS

Deterministic (mtime 0, uid 0). Python 3 stdlib only; headers are written by hand (ustar, names
under 100 bytes) because tarfile is several times slower at a million entries.
"""
import hashlib
import io
import json
import sys
import tarfile


def header(name, size, typeflag):
    h = bytearray(512)
    name = name.encode()
    assert len(name) < 100, name
    h[0:len(name)] = name
    h[100:108] = b"%07o\0" % (0o755 if typeflag == b"5" else 0o644)
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[156:157] = typeflag
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def layer(index, per_layer):
    out = io.BytesIO()
    dirs = set()

    def add_file(path, data):
        d = path.rsplit("/", 1)[0]
        if d not in dirs:
            parts = d.split("/")
            for i in range(1, len(parts) + 1):
                p = "/".join(parts[:i])
                if p not in dirs:
                    dirs.add(p)
                    out.write(header(p + "/", 0, b"5"))
        out.write(header(path, len(data), b"0"))
        out.write(data + b"\0" * (-len(data) % 512))

    for n in range(per_layer):
        add_file(f"d{index}/{n // 1000}/f{n}", b"layer %02d file %03d" % (index, n % 1000))
    if index > 0:
        prev = index - 1
        for n in range(0, per_layer, 100):
            add_file(f"d{prev}/{n // 1000}/f{n}", b"rewritten %02d %03d" % (index, n % 1000))
        for n in range(50, per_layer, 100):
            out.write(header(f"d{prev}/{n // 1000}/.wh.f{n}", 0, b"0"))
    out.write(b"\0" * 1024)
    return out.getvalue()


def main():
    out_path, files, layers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    per_layer = files // layers
    blobs = {}
    diff_ids = []
    descriptors = []
    for i in range(layers):
        data = layer(i, per_layer)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        diff_ids.append(digest)
        descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "digest": digest, "size": len(data)})
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids},
                         "history": [{"created_by": f"layer {i}"} for i in range(layers)]}).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    blobs[config_digest] = config
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": config_digest, "size": len(config)},
                           "layers": descriptors}).encode()
    manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    blobs[manifest_digest] = manifest
    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": manifest_digest, "size": len(manifest)}]}).encode()
    with tarfile.open(out_path, "w") as t:
        def put(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        put("index.json", index)
        for digest, data in blobs.items():
            put("blobs/sha256/" + digest.split(":", 1)[1], data)


main()

#!/usr/bin/env python3
"""Build a large, deterministic gzip OCI image layout archive for bench/verify.sh.

    gen_image.py OUT_DIR --layers-mib 1024,256,160,96 --seed 20240501 [--gzip gzip]

Writes OUT_DIR/image.tar (an oci-archive: oci-layout, index.json, blobs/sha256/...) and
OUT_DIR/meta.json (per-layer digest, diff_id, compressed and uncompressed sizes). Python 3.11
stdlib only; the layers are compressed by an external `gzip -6 -n` (or pigz) fed through a pipe,
so generation and compression overlap on two cores.

Content: each layer is a tar of many files of varied sizes (a log-normal spread from ~100 B to a
few MiB, plus a few large files) whose bytes are cut from four pools built once from the seed:
  text    - words drawn with a Zipf-like weight from a synthetic vocabulary  (gzip ~3:1)
  logs    - templated log / config lines, very repetitive                     (gzip ~8:1)
  binary  - an executable-like mix of random runs, text, zero and pattern runs (gzip ~2:1)
  random  - random bytes, like already-compressed assets                      (gzip 1:1)
Slices start at random offsets in pools far larger than gzip's 32 KiB window, so the compressor
gets no help from the repetition across files. The whole layer comes out near 3:1, like real
layers. Same seed and sizes => byte-identical blobs and digests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile

MIB = 1 << 20
MTIME = 1714521600  # 2024-05-01T00:00:00Z
CREATED = "2024-05-01T00:00:00Z"

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"

# Byte share of each kind of content in a layer: text, logs, binary, random.
MIX = (("text", 0.50), ("logs", 0.28), ("binary", 0.16), ("random", 0.06))
SUFFIX = {
    "text": (".py", ".c", ".h", ".rs", ".txt", ".md", ".html", ".js", ".pl", ".rb", ""),
    "logs": (".log", ".json", ".conf", ".yaml", ".csv", ".xml", ".ini"),
    "binary": (".so", ".a", ".o", "", ".bin", ".pyc"),
    "random": (".gz", ".png", ".jpg", ".xz", ".zip", ".woff2"),
}


class Pools:
    """The byte pools every file is cut from, built once from the seed."""

    def __init__(self, seed: int):
        r = random.Random(seed)
        alpha = "abcdefghijklmnopqrstuvwxyz"
        vocab = []
        for _ in range(6000):
            n = max(2, min(14, int(r.gauss(6, 2.5))))
            vocab.append("".join(r.choices(alpha, k=n)))
        self.vocab = vocab
        weights = [1.0 / (i + 1) ** 1.1 for i in range(len(vocab))]
        seps = [" "] * 12 + [", ", ". ", "\n", "_", "(", ") ", " = ", "/", ":", "\n    "]
        sep_w = [1.0] * len(seps)
        # Text comes in "documents" of 2-16 KiB, each with its own small working vocabulary that
        # most of its words come from, the way a source file keeps reusing its identifiers.
        parts = []
        size = 0
        while size < 40 * MIB:
            local = r.choices(vocab, weights=weights, k=r.randint(40, 160))
            words = r.randint(400, 3000)
            n_local = int(words * 0.7)
            toks = r.choices(local, k=n_local) + r.choices(vocab, weights=weights, k=words - n_local)
            r.shuffle(toks)
            ss = r.choices(seps, weights=sep_w, k=words)
            chunk = "".join(a + b for a, b in zip(toks, ss)).encode()
            parts.append(chunk)
            size += len(chunk)
        self.text = b"".join(parts)

        # Logs and config: runs of lines from one template with slowly changing fields.
        levels = ["INFO ", "INFO ", "INFO ", "INFO ", "DEBUG", "WARN ", "ERROR"]
        lines = []
        size = 0
        top = vocab[:200]
        t = 0
        ident = 1000
        while size < 24 * MIB:
            kind = r.random()
            comps = r.choices(top, k=6)
            for _ in range(r.randint(20, 200)):
                t += r.randint(0, 3000)
                ident += 1
                if kind < 0.6:
                    line = "2024-05-01T%02d:%02d:%02d.%03dZ %s [%s.%s] %s %s id=%d took=%dms\n" % (
                        t // 3600000 % 24, t // 60000 % 60, t // 1000 % 60, t % 1000,
                        r.choice(levels), comps[0], comps[r.randint(1, 2)], r.choice(comps[3:]),
                        r.choice(comps), ident, r.randint(0, 40))
                elif kind < 0.85:
                    line = '  {"name": "%s", "version": "1.%d.%d", "enabled": %s, "path": "/usr/lib/%s/%s"},\n' % (
                        r.choice(comps), r.randint(0, 9), r.randint(0, 20),
                        r.choice(("true", "false")), comps[0], r.choice(comps))
                else:
                    line = "%s_%s = %s\n" % (comps[0].upper(), r.choice(comps).upper(), r.choice(comps))
                lines.append(line)
                size += len(line)
        self.logs = "".join(lines).encode()

        self.random = r.randbytes(24 * MIB)

        parts = []
        size = 0
        while size < 32 * MIB:
            k = r.random()
            n = r.randint(256, 8192)
            if k < 0.40:
                off = r.randrange(len(self.random) - n)
                piece = self.random[off:off + n]
            elif k < 0.70:
                off = r.randrange(len(self.text) - n)
                piece = self.text[off:off + n]
            elif k < 0.85:
                piece = bytes(n)
            else:
                pat = r.randbytes(r.choice((4, 8, 16)))
                piece = (pat * (n // len(pat) + 1))[:n]
            parts.append(piece)
            size += n
        self.binary = b"".join(parts)

    def pool(self, kind: str) -> bytes:
        return getattr(self, kind)


class HashingSink:
    """Buffers writes, hashes them (the layer's diff_id) and feeds them to the compressor."""

    def __init__(self, out):
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0
        self.buf = bytearray()

    def write(self, data) -> None:
        self.buf += data
        if len(self.buf) >= 4 * MIB:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.sha.update(self.buf)
            self.out.write(self.buf)
            self.size += len(self.buf)
            self.buf = bytearray()


def header(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, mode: int = 0o644,
           link: str = "") -> bytes:
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.type = kind
    ti.mode = mode
    ti.mtime = MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    ti.linkname = link
    return ti.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")


def file_size(r: random.Random) -> int:
    if r.random() < 0.004:
        return r.randint(2 * MIB, 24 * MIB)  # the odd big file: a database, a toolchain binary
    return max(0, min(6 * MIB, int(r.lognormvariate(9.0, 1.9))))  # median ~8 KiB


def write_layer(sink: HashingSink, pools: Pools, r: random.Random, budget: int, index: int) -> int:
    """Write one layer tar of about `budget` bytes into sink; returns the number of files."""
    top = pools.vocab[:400]
    roots = ["usr/lib", "usr/share", "usr/bin", "opt/app", "var/lib", "etc", "srv/data"]
    dirs: list[str] = []
    made: set[str] = set()

    def mkdir(path: str) -> None:
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if parent and parent not in made:
            mkdir(parent)
        if path not in made:
            made.add(path)
            sink.write(header(path + "/", kind=tarfile.DIRTYPE, mode=0o755))

    kinds = [k for k, _ in MIX]
    shares = [w for _, w in MIX]
    written = 0
    files = 0
    while written < budget:
        if not dirs or r.random() < 0.03:
            d = "%s/%s-%d/%s" % (r.choice(roots), r.choice(top), index, r.choice(top))
            if r.random() < 0.5:
                d += "/" + r.choice(top)
            mkdir(d)
            dirs.append(d)
        d = r.choice(dirs[-20:])
        kind = r.choices(kinds, weights=shares)[0]
        size = min(file_size(r), budget - written + 4096)
        name = "%s/%s%d%s" % (d, r.choice(top), files, r.choice(SUFFIX[kind]))
        if r.random() < 0.02:
            sink.write(header(name + ".lnk", kind=tarfile.SYMTYPE, mode=0o777, link=name.rsplit("/", 1)[1]))
        sink.write(header(name, size=size, mode=0o755 if kind == "binary" else 0o644))
        pool = pools.pool(kind)
        left = size
        while left:
            n = min(left, r.randint(16 * 1024, 1 * MIB))
            off = r.randrange(len(pool) - n)
            sink.write(memoryview(pool)[off:off + n])
            left -= n
        if size % 512:
            sink.write(bytes(512 - size % 512))
        written += size + 512
        files += 1
    # End of archive: two zero blocks, padded to tar's 10 KiB record like GNU tar and tarfile.
    end = 1024
    total = sink.size + len(sink.buf) + end
    if total % 10240:
        end += 10240 - total % 10240
    sink.write(bytes(end))
    sink.flush()
    return files


def sha256_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--layers-mib", default="1024,256,160,96")
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--gzip", default="gzip", help="compressor command, run as CMD -6 -n -c")
    args = ap.parse_args()

    sizes = [int(s) for s in args.layers_mib.split(",") if s.strip()]
    os.makedirs(args.out, exist_ok=True)
    layout = os.path.join(args.out, "layout")
    shutil.rmtree(layout, ignore_errors=True)
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs)

    print(f"building pools (seed {args.seed})...", file=sys.stderr, flush=True)
    pools = Pools(args.seed)
    layers = []
    for i, mib in enumerate(sizes):
        tmp = os.path.join(blobs, f"layer{i}.tmp")
        print(f"layer {i}: ~{mib} MiB uncompressed -> {args.gzip} -6", file=sys.stderr, flush=True)
        with open(tmp, "wb") as gz_out:
            proc = subprocess.Popen([args.gzip, "-6", "-n", "-c"], stdin=subprocess.PIPE, stdout=gz_out)
            sink = HashingSink(proc.stdin)
            nfiles = write_layer(sink, pools, random.Random(args.seed * 1000 + i), mib * MIB, i)
            proc.stdin.close()
            if proc.wait() != 0:
                print(f"{args.gzip} failed on layer {i}", file=sys.stderr)
                return 1
        digest = sha256_file(tmp)
        os.rename(tmp, os.path.join(blobs, digest))
        layers.append({
            "index": i,
            "digest": "sha256:" + digest,
            "diff_id": "sha256:" + sink.sha.hexdigest(),
            "compressed": os.path.getsize(os.path.join(blobs, digest)),
            "uncompressed": sink.size,
            "files": nfiles,
        })
        l = layers[-1]
        print(f"  {l['files']} files, {l['uncompressed']} -> {l['compressed']} bytes "
              f"({l['uncompressed'] / l['compressed']:.2f}:1)", file=sys.stderr, flush=True)

    def put_blob(data: bytes) -> tuple[str, int]:
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, d), "wb") as f:
            f.write(data)
        return "sha256:" + d, len(data)

    steps = ["ADD rootfs.tar /", "RUN apt-get install -y toolchain", "COPY deps/ /opt/app/",
             "COPY . /srv/data"]
    config = {
        "created": CREATED,
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [l["diff_id"] for l in layers]},
        "history": [{"created": CREATED,
                     "created_by": steps[i] if i < len(steps) else f"RUN step {i}",
                     "comment": "strata bench layer %d" % i} for i in range(len(layers))],
    }
    cfg_digest, cfg_size = put_blob(json.dumps(config, indent=2).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": cfg_digest, "size": cfg_size},
        "layers": [{"mediaType": MT_LAYER_GZ, "digest": l["digest"], "size": l["compressed"]}
                   for l in layers],
    }
    man_digest, man_size = put_blob(json.dumps(manifest, indent=2).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": MT_INDEX,
        "manifests": [{"mediaType": MT_MANIFEST, "digest": man_digest, "size": man_size,
                       "annotations": {"org.opencontainers.image.ref.name": "strata-bench:latest"},
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    }
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f, indent=2)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

    # The oci-archive: metadata first, then config, manifest and the layer blobs.
    def norm(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = MTIME, 0, 0, "root", "root"
        return ti

    image = os.path.join(args.out, "image.tar")
    with tarfile.open(image + ".tmp", "w", format=tarfile.PAX_FORMAT) as tar:
        order = ["oci-layout", "index.json", "blobs", "blobs/sha256",
                 "blobs/sha256/" + cfg_digest[7:], "blobs/sha256/" + man_digest[7:]]
        order += ["blobs/sha256/" + l["digest"][7:] for l in layers]
        for rel in order:
            tar.add(os.path.join(layout, rel), arcname=rel, recursive=False, filter=norm)
    os.rename(image + ".tmp", image)
    shutil.rmtree(layout)

    meta = {"seed": args.seed, "layers_mib": sizes, "manifest": man_digest, "config": cfg_digest,
            "image_bytes": os.path.getsize(image), "layers": layers}
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(f"wrote {image} ({meta['image_bytes']} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

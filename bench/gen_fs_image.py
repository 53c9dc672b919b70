#!/usr/bin/env python3
"""Build a deterministic, realistic multi-layer OCI image layout directory for bench/extract.sh.

    gen_fs_image.py OUT_DIR [--seed 20240601] [--scale 1.0] [--gzip gzip] [--ref bench]

Writes OUT_DIR (must not exist; built as OUT_DIR.tmp and renamed): an OCI image layout directory
(oci-layout, index.json with one manifest annotated org.opencontainers.image.ref.name=REF,
blobs/sha256/...) whose config has the layers' diff_ids, with gzip layers
(application/vnd.oci.image.layer.v1.tar+gzip, compressed by an external `gzip -6 -n`, or pigz,
fed through a pipe so that generation and compression overlap). Prints stats as JSON on stdout
(per layer digest, diff_id, sizes; the merged tree's expected entry counts); the caller keeps them.

The image looks like a distro + application image, in 4 layers (counts at --scale 1):
  0 base     a deep tree (usr/lib/..., opt/app/node_modules/..., usr/share/doc/..., depth up
             to ~20) of ~17 000 files of 1-64 KiB (log-uniform: text, executable-like binary,
             already-compressed data), 6 large files (20-60 MiB), top-level symlinks
             (bin -> usr/bin ...), ~500 symlinks (relative, absolute, to dirs, dangling),
             ~300 hardlinks, a setuid binary, /tmp 1777, files owned by 1000 and 33
  1 upgrade  rewrites ~1 500 base files (new content and size), replaces a large file, adds a
             ~2 000-file package tree, turns a file into a symlink and a small directory into a
             symlink
  2 cleanup  whiteouts (`.wh.NAME`) ~1 000 files, ~40 symlinks and 2 whole package directories,
             makes one populated directory opaque (`.wh..wh..opq`) with new content, adds files
  3 app      ~2 500 new application files (uid 1000), a 30 MiB asset, a hardlink to a base-layer
             file, edits in etc/
Same seed, scale and compressor => byte-identical blobs and digests. Python 3.11 stdlib only.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tarfile

KIB = 1 << 10
MIB = 1 << 20
MTIME0 = 1717200000  # 2024-06-01T00:00:00Z
DAY = 86400

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

POOL_SIZE = 8 * MIB
SYL = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "de", "xa", "vi", "zu", "or", "en", "al",
       "qu", "ba", "co", "fi", "gy", "ho", "ja", "ly", "um", "st", "pr", "tr", "io", "an", "ex"]


# ---- content pools ---------------------------------------------------------------------------

def build_pools(rng: random.Random) -> dict[str, bytes]:
    """Three pools cut into file contents at random offsets (far larger than gzip's window)."""
    vocab = []
    for _ in range(6000):
        n = rng.randint(1, 4)
        vocab.append("".join(rng.choice(SYL) for _ in range(n)))
    vocab += ["the", "of", "and", "to", "in", "is", "for", "return", "if", "else", "self",
              "def", "const", "import", "from", "None", "true", "false", "=", "==", "{", "}",
              "(", ")", ";", "//", "#", "->"]
    weights = [1.0 / (i + 1) ** 1.05 for i in range(len(vocab))]
    rng.shuffle(weights)
    out = io.StringIO()
    total = 0
    while total < POOL_SIZE:
        words = rng.choices(vocab, weights, k=4096)
        line = []
        for i, w in enumerate(words):
            line.append(w)
            if rng.random() < 0.09:
                s = ("    " * rng.randint(0, 3)) + " ".join(line) + "\n"
                out.write(s)
                total += len(s)
                line = []
    text = out.getvalue().encode()[:POOL_SIZE]

    # executable-like: random runs (code), zero runs (padding/bss), text (strings tables),
    # short repeated records (relocations, symbol tables)
    binary = bytearray()
    while len(binary) < POOL_SIZE:
        r = rng.random()
        n = rng.randint(64, 4096)
        if r < 0.40:
            binary += rng.randbytes(n)
        elif r < 0.55:
            binary += bytes(n)
        elif r < 0.80:
            off = rng.randrange(len(text) - n)
            binary += text[off:off + n]
        else:
            rec = rng.randbytes(rng.choice((8, 16, 24)))
            binary += (rec * (n // len(rec) + 1))[:n]
    randomb = rng.randbytes(POOL_SIZE)
    return {"text": text, "bin": bytes(binary[:POOL_SIZE]), "rand": randomb}


KIND_BY_EXT = {
    ".py": "text", ".js": "text", ".h": "text", ".txt": "text", ".json": "text", ".md": "text",
    ".conf": "text", ".html": "text", ".css": "text", ".c": "text", "": "text", ".pl": "text",
    ".so": "bin", ".pyc": "bin", ".mo": "bin", ".a": "bin", ".node": "bin", ".bin": "bin",
    ".gz": "rand", ".png": "rand", ".woff2": "rand", ".jpg": "rand", ".zip": "rand",
}
EXTS = list(KIND_BY_EXT)
EXT_W = [8, 8, 4, 3, 3, 3, 1, 2, 1, 2, 2, 1,
         4, 3, 2, 1, 1, 1,
         2, 2, 1, 1, 1]


class Content:
    """A file's bytes: (pool, offset, size) for small files; seeded chunk mix for large ones."""

    __slots__ = ("kind", "off", "size", "seed")

    def __init__(self, kind: str, off: int, size: int, seed: int = 0):
        self.kind, self.off, self.size, self.seed = kind, off, size, seed


class LargeReader:
    def __init__(self, pools: dict[str, bytes], c: Content):
        self.pools, self.left = pools, c.size
        self.rng = random.Random(c.seed)
        self.mix = {"mixbin": ["bin", "bin", "text", "rand"], "mixrand": ["rand", "rand", "bin"],
                    "mixtext": ["text", "text", "bin"]}[c.kind]

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n < 0 else min(n, self.left)
        n = min(n, 1 * MIB)
        pool = self.pools[self.rng.choice(self.mix)]
        off = self.rng.randrange(len(pool) - n)
        self.left -= n
        return pool[off:off + n]


# ---- the tree model ---------------------------------------------------------------------------

class E:
    """One tar entry. kind: d f l h (hardlink) w (whiteout file)."""

    __slots__ = ("kind", "mode", "uid", "gid", "mtime", "content", "link")

    def __init__(self, kind, mode, uid=0, gid=0, mtime=MTIME0, content=None, link=""):
        self.kind, self.mode, self.uid, self.gid = kind, mode, uid, gid
        self.mtime, self.content, self.link = mtime, content, link


def key(path: str):
    return tuple(path.split("/"))


class Gen:
    def __init__(self, seed: int, scale: float):
        self.rng = random.Random(seed)
        self.scale = scale
        self.pools = build_pools(random.Random(seed ^ 0x5EED))

    def n(self, x: int) -> int:
        return max(1, int(round(x * self.scale)))

    def name(self, ext: str = "") -> str:
        r = self.rng
        s = "".join(r.choice(SYL) for _ in range(r.randint(1, 4)))
        if r.random() < 0.2:
            s += "_" + "".join(r.choice(SYL) for _ in range(r.randint(1, 2)))
        if r.random() < 0.1:
            s += "-" + str(r.randint(0, 99))
        return s + ext

    def small(self, kind: str | None = None, lo=1 * KIB, hi=64 * KIB) -> tuple[Content, str]:
        r = self.rng
        ext = r.choices(EXTS, EXT_W)[0]
        kind = kind or KIND_BY_EXT[ext]
        size = int(lo * (hi / lo) ** r.random())
        off = r.randrange(POOL_SIZE - size)
        return Content(kind, off, size), ext

    def large(self, size: int, kind: str) -> Content:
        return Content(kind, 0, size, self.rng.getrandbits(48))

    # -- layers
    def base(self) -> dict[str, E]:
        r = self.rng
        L: dict[str, E] = {}
        owner = {}  # dir prefix -> (uid, gid)

        def d(path, mode=0o755, uid=0, gid=0):
            L[path] = E("d", mode, uid, gid)

        for p in ["etc", "usr", "usr/bin", "usr/sbin", "usr/lib", "usr/lib/x86_64-linux-gnu",
                  "usr/lib/python3", "usr/lib/python3/dist-packages", "usr/share", "usr/share/doc",
                  "usr/share/locale", "usr/share/man", "usr/share/zoneinfo", "usr/include",
                  "var", "var/lib", "var/lib/dpkg", "var/lib/dpkg/info", "var/cache", "var/log",
                  "opt", "opt/app", "opt/app/node_modules", "root", "home", "srv", "var/www",
                  "run", "dev", "proc", "sys"]:
            d(p)
        d("tmp", 0o1777)
        d("root", 0o700)
        d("home/dev", 0o750, 1000, 1000)
        d("var/www/html", 0o755, 33, 33)
        owner["home/dev"] = (1000, 1000)
        owner["var/www/html"] = (33, 33)
        owner["opt/app"] = (1000, 1000)
        for link, tgt in [("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"),
                          ("lib64", "usr/lib/x86_64-linux-gnu")]:
            L[link] = E("l", 0o777, link=tgt)

        roots = ["usr/lib/python3/dist-packages", "opt/app/node_modules", "usr/share/doc",
                 "usr/include", "usr/lib/x86_64-linux-gnu", "usr/share/locale",
                 "usr/share/zoneinfo", "var/lib/dpkg/info", "etc", "home/dev", "var/www/html",
                 "usr/share/man"]
        # packages: a subtree each, grown by attaching each new dir to a random existing one
        dirs: list[str] = []
        self.pkg_dirs: list[str] = []
        for _ in range(self.n(420)):
            root = r.choice(roots)
            pkg = f"{root}/{self.name()}"
            if pkg in L:
                continue
            uid, gid = next((v for k, v in owner.items() if pkg.startswith(k + "/")), (0, 0))
            d(pkg, 0o755, uid, gid)
            self.pkg_dirs.append(pkg)
            sub = [pkg]
            for _ in range(r.randint(0, 14)):
                parent = sub[-1] if r.random() < 0.45 else r.choice(sub)  # deep chains too
                p = f"{parent}/{self.name()}"
                if p not in L:
                    d(p, 0o755, uid, gid)
                    sub.append(p)
            dirs += sub
        self.dir_owner = {p: (L[p].uid, L[p].gid) for p in dirs}

        files: list[str] = []
        for _ in range(self.n(17000)):
            parent = r.choice(dirs)
            c, ext = self.small()
            p = f"{parent}/{self.name(ext)}"
            if p in L:
                continue
            uid, gid = self.dir_owner[parent]
            mode = 0o755 if (ext in ("", ".so", ".node") and r.random() < 0.5) else 0o644
            L[p] = E("f", mode, uid, gid, content=c)
            files.append(p)
        # programs
        for _ in range(self.n(300)):
            c, _ = self.small("bin", 8 * KIB, 64 * KIB)
            p = f"usr/bin/{self.name()}"
            if p not in L:
                L[p] = E("f", 0o755, content=c)
                files.append(p)
        c, _ = self.small("bin", 32 * KIB, 64 * KIB)
        L["usr/bin/sudoish"] = E("f", 0o4755, content=c)
        for i in range(8):
            c, _ = self.small("text", 200, 4 * KIB)
            L[f"etc/{self.name('.conf')}"] = E("f", 0o644, content=c)
        # large files
        big = [("usr/lib/x86_64-linux-gnu/libLLVM-15.so.1", 56, "mixbin"),
               ("usr/lib/x86_64-linux-gnu/libicudata.so.72.1", 30, "mixtext"),
               ("opt/app/model.bin", 48, "mixrand"),
               ("usr/lib/jvm-rt.jar", 40, "mixrand"),
               ("var/lib/app/data.db", 24, "mixbin"),
               ("usr/bin/node", 20, "mixbin")]
        d("var/lib/app")
        for p, mib, kind in big:
            L[p] = E("f", 0o755 if "bin/" in p or ".so" in p else 0o644,
                     content=self.large(self.n(mib) * MIB, kind))
            files.append(p)
        self.big = [p for p, _, _ in big]

        # symlinks
        for _ in range(self.n(500)):
            t = r.choice(files)
            parent, base = t.rsplit("/", 1)
            k = r.random()
            if k < 0.5:       # libfoo.so -> libfoo.so.1 style, same dir
                p, tgt = f"{parent}/{self.name('.lnk')}", base
            elif k < 0.75:    # absolute
                p, tgt = f"{r.choice(dirs)}/{self.name('.abs')}", "/" + t
            elif k < 0.9:     # to a directory, relative
                p, tgt = f"{parent}/{self.name('.dir')}", "../" if "/" in parent else "."
            else:             # dangling
                p, tgt = f"{parent}/{self.name('.dangling')}", "../nonexistent/" + self.name()
            if p not in L:
                L[p] = E("l", 0o777, link=tgt)
        # hardlinks (to files of this layer), e.g. python3 -> python3.11
        self.base_files = files
        self.hardlinked = set()
        for _ in range(self.n(300)):
            t = r.choice(files)
            if t in self.big:
                continue
            p = f"{r.choice(dirs)}/{self.name('.hl')}"
            if p not in L:
                L[p] = E("h", 0, link=t)
                self.hardlinked.add(t)
                self.hardlinked.add(p)
        self.dirs = dirs
        return L

    def upgrade(self, lower: dict[str, E]) -> dict[str, E]:
        r = self.rng
        mt = MTIME0 + 30 * DAY
        L: dict[str, E] = {}
        cand = [p for p in self.base_files if p not in self.hardlinked and p not in self.big]
        self.modified = set(r.sample(cand, min(len(cand), self.n(1500))))
        for p in sorted(self.modified):
            o = lower[p]
            c, _ = self.small(o.content.kind)
            L[p] = E("f", o.mode, o.uid, o.gid, mt, c)
        L[self.big[0]] = E("f", 0o755, mtime=mt, content=self.large(self.n(58) * MIB, "mixbin"))
        # a new package tree
        top = "usr/lib/python3/dist-packages/numpyish"
        sub = [top]
        L[top] = E("d", 0o755, mtime=mt)
        for _ in range(self.n(120)):
            p = f"{r.choice(sub)}/{self.name()}"
            if p not in L:
                L[p] = E("d", 0o755, mtime=mt)
                sub.append(p)
        for _ in range(self.n(2000)):
            c, ext = self.small()
            p = f"{r.choice(sub)}/{self.name(ext)}"
            if p not in L:
                L[p] = E("f", 0o644, mtime=mt, content=c)
        self.new_dirs = sub
        # type changes: file -> symlink; small dir (and its subtree) -> symlink
        rest = [p for p in cand if p not in self.modified]
        f2l = r.choice(rest)
        L[f2l] = E("l", 0o777, mtime=mt, link="/usr/bin/node")
        self.type_changed = {f2l}
        # a leaf-ish directory with nothing in it that this layer or a hardlink refers to
        busy = set()
        for b in self.modified | self.hardlinked | {f2l}:
            while "/" in b:
                b = b.rsplit("/", 1)[0]
                busy.add(b)
        small_dirs = [p for p in self.dirs if p.count("/") >= 4 and p not in busy]
        d2l = r.choice(small_dirs)
        L[d2l] = E("l", 0o777, mtime=mt, link="../" + self.name())
        self.type_changed.add(d2l)
        return L

    def cleanup(self, lower: dict[str, E]) -> dict[str, E]:
        r = self.rng
        mt = MTIME0 + 40 * DAY
        L: dict[str, E] = {}
        gone = tuple(p + "/" for p in self.type_changed)

        def alive(p):
            return p in lower and not p.startswith(gone) and p not in self.type_changed

        files = [p for p in self.base_files
                 if alive(p) and p not in self.hardlinked and p not in self.big]
        syms = [p for p, e in lower.items() if e.kind == "l" and alive(p) and "/" in p]
        dels = r.sample(files, min(len(files), self.n(1000))) + r.sample(syms, self.n(40))
        # two whole package directories, and one opaque directory
        pk = [p for p in self.pkg_dirs if alive(p) and
              not any(h.startswith(p + "/") for h in self.hardlinked)]
        pk.sort(key=lambda p: -sum(1 for q in lower if q.startswith(p + "/")))
        opaque = pk[0]
        deldirs = pk[1:3]
        hidden = tuple(q + "/" for q in deldirs + [opaque])
        dels = [p for p in dels if not p.startswith(hidden)] + deldirs
        for p in dels:
            parent, base = p.rsplit("/", 1)
            L[f"{parent}/.wh.{base}"] = E("w", 0o600, mtime=mt)
            if parent not in L:
                o = lower[parent]
                L[parent] = E("d", o.mode, o.uid, o.gid, mt)
        o = lower[opaque]
        L[opaque] = E("d", o.mode, o.uid, o.gid, mt)
        L[f"{opaque}/.wh..wh..opq"] = E("w", 0o600, mtime=mt)
        osub = [opaque]
        for _ in range(self.n(10)):
            p = f"{r.choice(osub)}/{self.name()}"
            if p not in L:
                L[p] = E("d", 0o755, o.uid, o.gid, mt)
                osub.append(p)
        for _ in range(self.n(80)):
            c, ext = self.small()
            p = f"{r.choice(osub)}/{self.name(ext)}"
            if p not in L:
                L[p] = E("f", 0o644, o.uid, o.gid, mt, c)
        # new files: caches, logs
        for top in ("var/cache/aptish", "var/log/installer"):
            L[top] = E("d", 0o755, mtime=mt)
            for _ in range(self.n(500)):
                c, ext = self.small(lo=200, hi=32 * KIB)
                p = f"{top}/{self.name(ext)}"
                if p not in L:
                    L[p] = E("f", 0o644, mtime=mt, content=c)
        self.deleted = set(dels)
        self.hidden = hidden
        return L

    def app(self, lower: dict[str, E]) -> dict[str, E]:
        r = self.rng
        mt = MTIME0 + 45 * DAY
        L: dict[str, E] = {}
        top = "srv/app"
        L["srv"] = E("d", 0o755, mtime=mt)
        L[top] = E("d", 0o755, 1000, 1000, mt)
        sub = [top]
        for _ in range(self.n(250)):
            p = f"{r.choice(sub)}/{self.name()}"
            if p not in L:
                L[p] = E("d", 0o755, 1000, 1000, mt)
                sub.append(p)
        for _ in range(self.n(2500)):
            c, ext = self.small()
            p = f"{r.choice(sub)}/{self.name(ext)}"
            if p not in L:
                L[p] = E("f", 0o644, 1000, 1000, mt, c)
        L[f"{top}/assets.pak"] = E("f", 0o644, 1000, 1000, mt, self.large(self.n(30) * MIB,
                                                                             "mixrand"))
        # hardlink to a base-layer file that no later layer touched
        safe = [p for p in self.base_files if p not in self.modified and p not in self.deleted
                and p not in self.hardlinked and p not in self.big and p not in self.type_changed
                and not p.startswith(self.hidden)
                and not p.startswith(tuple(t + "/" for t in self.type_changed))]
        t = r.choice(safe)
        L[f"{top}/vendored.hl"] = E("h", 0, link=t)
        L["etc"] = E("d", 0o755, mtime=mt)
        for p in [q for q in lower if q.startswith("etc/") and lower[q].kind == "f"][:5]:
            c, _ = self.small("text", 200, 4 * KIB)
            L[p] = E("f", 0o644, mtime=mt, content=c)
        L["etc/app.conf"] = E("f", 0o640, 0, 1000, mt, self.small("text", 300, 2000)[0])
        L[f"{top}/current"] = E("l", 0o777, mtime=mt, link=sub[min(3, len(sub) - 1)][len(top) + 1:]
                                or ".")
        return L


# ---- writing ----------------------------------------------------------------------------------

class HashSink:
    def __init__(self, pipe):
        self.pipe, self.h, self.n = pipe, hashlib.sha256(), 0

    def write(self, b):
        self.h.update(b)
        self.n += len(b)
        self.pipe.write(b)
        return len(b)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MIB):
            h.update(chunk)
    return h.hexdigest()


def write_layer(gen: Gen, L: dict[str, E], blobs: str, gzip_cmd: list[str]) -> dict:
    tmp = os.path.join(blobs, "layer.tmp")
    with open(tmp, "wb") as out:
        proc = subprocess.Popen(gzip_cmd, stdin=subprocess.PIPE, stdout=out)
        sink = HashSink(proc.stdin)
        tf = tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT)
        links = []
        for p in sorted(L, key=key):
            e = L[p]
            if e.kind == "h":
                links.append(p)
                continue
            ti = tarfile.TarInfo(p)
            ti.mode, ti.uid, ti.gid, ti.mtime = e.mode, e.uid, e.gid, e.mtime
            ti.uname = ti.gname = ""
            data = None
            if e.kind == "d":
                ti.type = tarfile.DIRTYPE
            elif e.kind == "l":
                ti.type, ti.linkname = tarfile.SYMTYPE, e.link
            elif e.kind == "w":
                ti.type = tarfile.REGTYPE
            else:
                c = e.content
                ti.size = c.size
                if c.kind in gen.pools:
                    data = io.BytesIO(memoryview(gen.pools[c.kind])[c.off:c.off + c.size])
                else:
                    data = LargeReader(gen.pools, c)
            tf.addfile(ti, data)
        for p in links:
            e = L[p]
            ti = tarfile.TarInfo(p)
            ti.type, ti.linkname = tarfile.LNKTYPE, e.link
            ti.mode, ti.mtime, ti.uname, ti.gname = 0o644, MTIME0, "", ""
            tf.addfile(ti)
        tf.close()
        proc.stdin.close()
        if proc.wait() != 0:
            sys.exit(f"gen_fs_image.py: {' '.join(gzip_cmd)} failed")
    digest = sha256_file(tmp)
    size = os.path.getsize(tmp)
    os.rename(tmp, os.path.join(blobs, digest))
    return {"digest": "sha256:" + digest, "size": size,
            "diff_id": "sha256:" + sink.h.hexdigest(), "uncompressed": sink.n,
            "entries": len(L)}


def put_blob(blobs: str, data: bytes) -> tuple[str, int]:
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def merged_stats(layers: list[dict[str, E]]) -> dict:
    """Apply the layers (whiteouts, opaque dirs, type changes) to count the expected tree."""
    tree: dict[str, E] = {}
    for L in layers:
        for p in sorted(L, key=key):
            e = L[p]
            parent, _, base = p.rpartition("/")
            if base == ".wh..wh..opq":
                pre = parent + "/"
                for q in [q for q in tree if q.startswith(pre) and q not in L]:
                    del tree[q]
                continue
            if base.startswith(".wh."):
                t = (parent + "/" if parent else "") + base[4:]
                pre = t + "/"
                for q in [q for q in tree if q == t or q.startswith(pre)]:
                    del tree[q]
                continue
            old = tree.get(p)
            if old is not None and (old.kind == "d") != (e.kind == "d"):
                pre = p + "/"
                for q in [q for q in tree if q.startswith(pre)]:
                    del tree[q]
            tree[p] = e
    st = {"dirs": 0, "files": 0, "symlinks": 0, "hardlinks": 0, "file_bytes": 0}
    for p, e in tree.items():
        if e.kind == "d":
            st["dirs"] += 1
        elif e.kind == "l":
            st["symlinks"] += 1
        elif e.kind == "h":
            st["hardlinks"] += 1
        else:
            st["files"] += 1
            st["file_bytes"] += e.content.size
    st["entries"] = len(tree)
    return st


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--gzip", default="gzip")
    ap.add_argument("--ref", default="bench")
    a = ap.parse_args()
    if os.path.exists(a.out):
        sys.exit(f"gen_fs_image.py: {a.out} exists")
    gzip_cmd = [a.gzip, "-6", "-n", "-c"]
    tmpdir = a.out + ".tmp"
    shutil.rmtree(tmpdir, ignore_errors=True)
    blobs = os.path.join(tmpdir, "blobs", "sha256")
    os.makedirs(blobs)

    g = Gen(a.seed, a.scale)
    l0 = g.base()
    l1 = g.upgrade(l0)
    merged01 = {**l0, **l1}
    l2 = g.cleanup(merged01)
    l3 = g.app({**merged01, **l2})
    layers = [l0, l1, l2, l3]
    names = ["base", "upgrade", "cleanup", "app"]

    descs = []
    for i, L in enumerate(layers):
        print(f"gen_fs_image.py: layer {i} ({names[i]}): {len(L)} entries", file=sys.stderr)
        descs.append(write_layer(g, L, blobs, gzip_cmd))

    config = {
        "created": "2024-07-16T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/usr/bin/node", "/srv/app/current/main.js"],
                   "WorkingDir": "/srv/app", "User": "1000:1000"},
        "rootfs": {"type": "layers", "diff_ids": [d["diff_id"] for d in descs]},
        "history": [{"created": "2024-07-16T00:00:00Z", "created_by": f"bench: {n} layer"}
                    for n in names],
    }
    cdig, csize = put_blob(blobs, json.dumps(config, indent=2, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": cdig, "size": csize},
        "layers": [{"mediaType": MT_LAYER, "digest": d["digest"], "size": d["size"]}
                   for d in descs],
    }
    mdig, msize = put_blob(blobs, json.dumps(manifest, indent=2).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": MT_INDEX,
        "manifests": [{"mediaType": MT_MANIFEST, "digest": mdig, "size": msize,
                       "annotations": {"org.opencontainers.image.ref.name": a.ref},
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    }
    with open(os.path.join(tmpdir, "index.json"), "w") as f:
        json.dump(index, f, indent=2)
    with open(os.path.join(tmpdir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    os.rename(tmpdir, a.out)

    stats = {"layers": descs, "merged": merged_stats(layers),
             "compressed": sum(d["size"] for d in descs),
             "uncompressed": sum(d["uncompressed"] for d in descs),
             "seed": a.seed, "scale": a.scale, "gzip": a.gzip}
    json.dump(stats, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the starting corpora under fuzz/seeds/<target>/ from testdata/ and ../shared/corpus
(small images only). Image archives become bundles (see fuzz/src/lib.rs): each file a text
section, OCI blobs stored under their own digest and referenced as {{dN}}/{{sN}}, so that
mutating a config or manifest keeps the descriptors that name it true. extract_image also gets
the raw archives, targuard the layer blobs. The corpora committed under fuzz/corpus/ are these
seeds after fuzzing and `cargo fuzz cmin`."""
import hashlib, io, json, os, sys, tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(ROOT, "..", "shared", "corpus")
MAX_IMAGE = 64 * 1024

def files_of_tar(path):
    out = {}
    with tarfile.open(path) as t:
        for m in t.getmembers():
            if m.isfile():
                out[m.name.lstrip("./")] = t.extractfile(m).read()
    return out

def files_of_dir(path):
    out = {}
    for d, _, names in os.walk(path):
        for n in names:
            p = os.path.join(d, n)
            out[os.path.relpath(p, path)] = open(p, "rb").read()
    return out

def bundle(files, pack=None):
    blobs = {k.split("/")[-1]: v for k, v in files.items() if k.startswith("blobs/sha256/")}
    others = [k for k in files if not k.startswith("blobs/sha256/")]
    # Referrers before what they refer to (Kahn's algorithm on "content names digest").
    refs = {h: {o for o in blobs if o != h and ("sha256:" + o).encode() in c} for h, c in blobs.items()}
    order, indeg = [], {h: 0 for h in blobs}
    for h in blobs:
        for o in refs[h]:
            indeg[o] += 1
    ready = sorted(h for h in blobs if indeg[h] == 0)
    while ready:
        h = ready.pop(0)
        order.append(h)
        for o in sorted(refs[h]):
            indeg[o] -= 1
            if indeg[o] == 0:
                ready.append(o)
    order += [h for h in blobs if h not in order]
    names = sorted(others) + ["blobs/sha256/" + h for h in order]
    section = {h: len(others) + i for i, h in enumerate(order)}

    def templated(content):
        try:
            doc = json.loads(content)
        except Exception:
            return content
        def walk(v):
            if isinstance(v, dict):
                d = v.get("digest")
                if isinstance(d, str) and d.startswith("sha256:") and d[7:] in section:
                    k = section[d[7:]]
                    v["digest"] = "__D%d__" % k
                    if isinstance(v.get("size"), int):
                        v["size"] = "__S%d__" % k
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        before = json.dumps(doc)
        walk(doc)
        if json.dumps(doc) == before:
            return content
        s = json.dumps(doc, separators=(",", ":"))
        for k in section.values():
            s = s.replace('"__D%d__"' % k, '"{{d%d}}"' % k).replace('"__S%d__"' % k, "{{s%d}}" % k)
        return s.encode()

    out = b""
    if pack:
        out += b"#pack " + pack.encode() + b"\n"
    parts = []
    for n in names:
        if n.startswith("blobs/sha256/"):
            c = templated(blobs[n.split("/")[-1]])
            parts.append(b"@@@ blobs/sha256/@\n" + c)
        else:
            parts.append(b"@@@ " + n.encode() + b"\n" + templated(files[n]))
    return out + b"\n".join(parts)

def is_tar_blob(c):
    return c[:2] == b"\x1f\x8b" or c[:4] == b"\x28\xb5\x2f\xfd" or c[257:262] == b"ustar"

def main():
    images = [("hello", os.path.join(ROOT, "testdata", "hello.tar"))]
    for name in sorted(os.listdir(CORPUS)):
        d = os.path.join(CORPUS, name)
        if not os.path.isdir(d):
            continue
        for e in sorted(os.listdir(d)):
            p = os.path.join(d, e)
            if e.endswith(".tar") or os.path.isfile(os.path.join(p, "index.json")):
                images.append((name, p))
    seeds = {t: {} for t in ("archive_readers", "extract_image", "targuard")}
    for name, p in images:
        files = files_of_dir(p) if os.path.isdir(p) else files_of_tar(p)
        if sum(len(c) for c in files.values()) > MAX_IMAGE:
            continue
        b = bundle(files)
        seeds["archive_readers"][name + ".dir"] = b
        seeds["archive_readers"][name + ".tar"] = bundle(files, "tar")
        seeds["extract_image"][name + ".bundle"] = b
        if not os.path.isdir(p):
            seeds["extract_image"][name + ".raw"] = open(p, "rb").read()
        for k, c in files.items():
            if is_tar_blob(c) and len(c) <= 16384:
                seeds["targuard"][hashlib.sha256(c).hexdigest()[:16]] = c
    for t, s in seeds.items():
        d = os.path.join(HERE, "seeds", t)
        os.makedirs(d, exist_ok=True)
        for n, c in s.items():
            open(os.path.join(d, n), "wb").write(c)
        print(t, len(s), "seeds,", sum(len(c) for c in s.values()), "bytes")

main()

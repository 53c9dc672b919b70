//! Root filesystem trees for the `extract` tests: the tree an image should produce, computed by
//! a small bottom-up model written from the layer rules in docs/formats.md (apply layer 0, then
//! 1, …, deleting on whiteouts) — a different algorithm from strata's top-down merge, so it is
//! an honest oracle — and the tree actually found on disk, in the same shape, to compare them.
//! The corpus' `rootfs-manifest.json` (what umoci unpacked) reads into the same shape too.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::tarball::{Entry, Kind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Dir,
    /// Size and `sha256:<hex>` of the content.
    File(u64, String),
    Symlink(String),
    Fifo,
    Char(u32, u32),
    Block(u32, u32),
}

impl NodeKind {
    pub fn name(&self) -> &'static str {
        match self {
            NodeKind::Dir => "dir",
            NodeKind::File(..) => "file",
            NodeKind::Symlink(_) => "symlink",
            NodeKind::Fifo => "fifo",
            NodeKind::Char(..) => "char",
            NodeKind::Block(..) => "block",
        }
    }
}

/// One path of a tree, as compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    /// Permission bits with setuid/setgid/sticky (`st_mode & 07777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Name → value in hex.
    pub xattrs: BTreeMap<String, String>,
    /// Compared only when both sides know it.
    pub mtime: Option<i64>,
    /// Link count of non-directories (a file also linked from outside the tree shows here).
    pub nlink: Option<u64>,
    /// Hardlink group: the smallest path of the group, when the inode has several paths.
    pub group: Option<String>,
}

/// Paths are absolute inside the tree: "/" is the root, "/etc/passwd".
pub type Tree = BTreeMap<String, Node>;

pub fn sha256_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn abs(path: &str) -> String {
    format!("/{path}")
}

// ---------------------------------------------------------------------------------------------
// The model.

#[derive(Clone, Debug)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: Option<i64>,
    xattrs: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
enum MNode {
    Dir(Meta),
    /// Index into the inode table: hardlinks share one.
    Leaf(usize),
}

#[derive(Clone, Debug)]
struct Inode {
    kind: NodeKind,
    meta: Meta,
}

/// Who extracts: root keeps owners, device nodes and `trusted.*`/`security.capability`
/// xattrs; anyone else gets their own uid/gid on everything and loses those.
#[derive(Clone, Copy, Debug)]
pub enum As {
    Root,
    User(u32, u32),
}

/// The layer rules, applied bottom-up onto a tree of paths.
pub struct Model {
    who: As,
    tree: BTreeMap<String, MNode>,
    inodes: Vec<Inode>,
    /// The layer of each path's surviving entry (or of the entry that implied a directory),
    /// and whether that entry is a hardlink with its target; entries of removed paths linger
    /// until the path is made again, so read it through [`Model::origins`].
    origin: BTreeMap<String, (usize, Option<String>)>,
    /// Layers applied so far.
    applied: usize,
}

/// What an entry name means (docs/formats.md, "Whiteouts").
enum Name {
    Content(String),
    Whiteout(String),
    Opaque(String),
    Ignored,
}

/// Leading `/` and `./` dropped, empty and `.` components dropped; "" is the root. The model
/// is only given fixtures without `..` (those are the adversarial tests' business).
pub fn clean(name: &str) -> String {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    assert!(
        !parts.contains(&".."),
        "model: fixture name with `..`: {name}"
    );
    parts.join("/")
}

fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn classify(name: &str) -> Name {
    let path = clean(name);
    let (dir, base) = split(&path);
    if base == ".wh..wh..opq" {
        Name::Opaque(dir.to_string())
    } else if base.starts_with(".wh..wh.") {
        Name::Ignored
    } else if let Some(target) = base.strip_prefix(".wh.") {
        Name::Whiteout(join(dir, target))
    } else {
        Name::Content(path)
    }
}

fn is_below(path: &str, dir: &str) -> bool {
    if dir.is_empty() {
        !path.is_empty()
    } else {
        path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
    }
}

impl Model {
    pub fn new(who: As) -> Model {
        let mut m = Model {
            who,
            tree: BTreeMap::new(),
            inodes: Vec::new(),
            origin: BTreeMap::new(),
            applied: 0,
        };
        let root = m.implicit_dir();
        m.tree.insert(String::new(), MNode::Dir(root));
        m
    }

    /// The tree after applying `layers` in order.
    pub fn of(layers: &[Vec<Entry>], who: As) -> Tree {
        let mut m = Model::new(who);
        for l in layers {
            m.apply_layer(l);
        }
        m.tree()
    }

    fn implicit_dir(&self) -> Meta {
        let (uid, gid) = match self.who {
            As::Root => (0, 0),
            As::User(u, g) => (u, g),
        };
        Meta {
            mode: 0o755,
            uid,
            gid,
            mtime: None,
            xattrs: BTreeMap::new(),
        }
    }

    fn xattr_kept(&self, name: &str) -> bool {
        let root = matches!(self.who, As::Root);
        if name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") {
            return false;
        }
        name.starts_with("user.")
            || (root && (name == "security.capability" || name.starts_with("trusted.")))
    }

    fn meta_of(&self, e: &Entry) -> Meta {
        let default_mode = match e.kind {
            Kind::Dir => 0o755,
            Kind::File(_) | Kind::Sparse { .. } | Kind::Hardlink(_) | Kind::Fifo => 0o644,
            Kind::Symlink(_) => 0o777,
            Kind::CharDev(..) => 0o666,
            Kind::BlockDev(..) => 0o660,
        };
        let (uid, gid) = match self.who {
            As::Root => (e.uid as u32, e.gid as u32),
            As::User(u, g) => (u, g),
        };
        Meta {
            mode: e.mode.unwrap_or(default_mode) & 0o7777,
            uid,
            gid,
            mtime: Some(e.mtime as i64),
            xattrs: e
                .xattrs
                .iter()
                .filter(|(n, _)| self.xattr_kept(n))
                .map(|(n, v)| (n.clone(), hex::encode(v)))
                .collect(),
        }
    }

    /// Removes `path` and everything below it.
    fn remove(&mut self, path: &str) {
        if path.is_empty() {
            panic!("model: removing the root");
        }
        self.tree.retain(|p, _| p != path && !is_below(p, path));
    }

    fn make_parents(&mut self, path: &str) {
        let (dir, _) = split(path);
        if dir.is_empty() {
            return;
        }
        let mut prefix = String::new();
        for part in dir.split('/') {
            prefix = join(&prefix, part);
            match self.tree.get(&prefix) {
                Some(MNode::Dir(_)) => {}
                Some(MNode::Leaf(_)) => {
                    panic!("model: fixture writes {path} through the non-directory {prefix}")
                }
                None => {
                    let d = self.implicit_dir();
                    self.tree.insert(prefix.clone(), MNode::Dir(d));
                    self.origin.insert(prefix.clone(), (self.applied, None));
                }
            }
        }
    }

    pub fn apply_layer(&mut self, entries: &[Entry]) {
        // Whiteouts and opaque markers first: they act on the layers below only, whatever
        // their place in this layer.
        for e in entries {
            match classify(&e.path) {
                Name::Whiteout(p) => self.remove(&p),
                Name::Opaque(d) => {
                    let dir = d.clone();
                    self.tree.retain(|p, _| !is_below(p, &dir));
                }
                _ => {}
            }
        }
        for e in entries {
            let Name::Content(path) = classify(&e.path) else {
                continue;
            };
            self.make_parents(&path);
            let meta = self.meta_of(e);
            let link = match &e.kind {
                Kind::Hardlink(t) => Some(clean(t)),
                _ => None,
            };
            if !matches!(&link, Some(t) if *t == path) {
                self.origin.insert(path.clone(), (self.applied, link));
            }
            let kind = match &e.kind {
                Kind::Dir => {
                    match self.tree.get_mut(&path) {
                        Some(MNode::Dir(m)) => *m = meta,
                        _ => {
                            if !path.is_empty() {
                                self.remove(&path);
                            }
                            self.tree.insert(path, MNode::Dir(meta));
                        }
                    }
                    continue;
                }
                Kind::Hardlink(t) => {
                    let target = clean(t);
                    let Some(MNode::Leaf(i)) = self.tree.get(&target).cloned() else {
                        panic!("model: hardlink {path} to a missing or directory target {target}")
                    };
                    if target != path {
                        self.remove(&path);
                        self.tree.insert(path, MNode::Leaf(i));
                    }
                    continue;
                }
                Kind::File(_) | Kind::Sparse { .. } => {
                    let c = e.kind.expanded().unwrap();
                    NodeKind::File(c.len() as u64, sha256_of(&c))
                }
                Kind::Symlink(t) => NodeKind::Symlink(t.clone()),
                Kind::Fifo => NodeKind::Fifo,
                Kind::CharDev(a, b) => NodeKind::Char(*a, *b),
                Kind::BlockDev(a, b) => NodeKind::Block(*a, *b),
            };
            self.remove(&path);
            if matches!(kind, NodeKind::Char(..) | NodeKind::Block(..))
                && !matches!(self.who, As::Root)
            {
                // Not root: device nodes cannot be made; they are skipped.
                continue;
            }
            self.inodes.push(Inode { kind, meta });
            self.tree.insert(path, MNode::Leaf(self.inodes.len() - 1));
        }
        self.applied += 1;
    }

    /// For every path of the tree after `layers` (no leading `/`, the root left out): the
    /// layer of its surviving entry, and a hardlink's target.
    pub fn origins(layers: &[Vec<Entry>], who: As) -> BTreeMap<String, (usize, Option<String>)> {
        let mut m = Model::new(who);
        for l in layers {
            m.apply_layer(l);
        }
        m.origin
            .into_iter()
            .filter(|(p, _)| !p.is_empty() && m.tree.contains_key(p))
            .collect()
    }

    pub fn tree(&self) -> Tree {
        let mut paths_of: HashMap<usize, Vec<&String>> = HashMap::new();
        for (p, n) in &self.tree {
            if let MNode::Leaf(i) = n {
                paths_of.entry(*i).or_default().push(p);
            }
        }
        self.tree
            .iter()
            .map(|(p, n)| {
                let node = match n {
                    MNode::Dir(m) => Node {
                        kind: NodeKind::Dir,
                        mode: m.mode,
                        uid: m.uid,
                        gid: m.gid,
                        xattrs: m.xattrs.clone(),
                        mtime: m.mtime,
                        nlink: None,
                        group: None,
                    },
                    MNode::Leaf(i) => {
                        let ino = &self.inodes[*i];
                        let paths = &paths_of[i];
                        let mode = if matches!(ino.kind, NodeKind::Symlink(_)) {
                            0o777
                        } else {
                            ino.meta.mode
                        };
                        Node {
                            kind: ino.kind.clone(),
                            mode,
                            uid: ino.meta.uid,
                            gid: ino.meta.gid,
                            xattrs: ino.meta.xattrs.clone(),
                            mtime: ino.meta.mtime,
                            nlink: Some(paths.len() as u64),
                            group: (paths.len() > 1).then(|| abs(paths.iter().min().unwrap())),
                        }
                    }
                };
                (abs(p), node)
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Trees on disk.

fn xattrs_of(path: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut list = vec![0u8; 64 * 1024];
    let n = match rustix::fs::llistxattr(path, &mut list[..]) {
        Ok(n) => n,
        Err(_) => return out,
    };
    for name in list[..n].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name).into_owned();
        if name == "security.selinux" {
            continue;
        }
        let mut value = vec![0u8; 64 * 1024];
        if let Ok(len) = rustix::fs::lgetxattr(path, name.as_str(), &mut value[..]) {
            out.insert(name, hex::encode(&value[..len]));
        }
    }
    out
}

fn file_digest(path: &Path) -> (u64, String) {
    let mut f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).unwrap();
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    (n, format!("sha256:{}", hex::encode(h.finalize())))
}

/// Everything under `root` (which must be a real directory), without following symlinks.
pub fn read_tree(root: &Path) -> Tree {
    let mut tree = Tree::new();
    let mut inodes: HashMap<(u64, u64), Vec<String>> = HashMap::new();
    let mut todo = vec![(root.to_path_buf(), "/".to_string())];
    while let Some((p, rel)) = todo.pop() {
        let md = std::fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            let mut children: Vec<_> = std::fs::read_dir(&p)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            children.sort();
            for c in children {
                let name = c.to_string_lossy().into_owned();
                let r = if rel == "/" {
                    format!("/{name}")
                } else {
                    format!("{rel}/{name}")
                };
                todo.push((p.join(&c), r));
            }
            NodeKind::Dir
        } else if ft.is_file() {
            let (n, d) = file_digest(&p);
            NodeKind::File(n, d)
        } else if ft.is_symlink() {
            NodeKind::Symlink(
                std::fs::read_link(&p)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            )
        } else if ft.is_fifo() {
            NodeKind::Fifo
        } else if ft.is_char_device() {
            NodeKind::Char(rustix::fs::major(md.rdev()), rustix::fs::minor(md.rdev()))
        } else if ft.is_block_device() {
            NodeKind::Block(rustix::fs::major(md.rdev()), rustix::fs::minor(md.rdev()))
        } else {
            panic!("{}: unexpected file type {ft:?}", p.display())
        };
        let is_dir = kind == NodeKind::Dir;
        if !is_dir {
            inodes
                .entry((md.dev(), md.ino()))
                .or_default()
                .push(rel.clone());
        }
        tree.insert(
            rel,
            Node {
                kind,
                mode: md.mode() & 0o7777,
                uid: md.uid(),
                gid: md.gid(),
                xattrs: xattrs_of(&p),
                mtime: Some(md.mtime()),
                nlink: (!is_dir).then(|| md.nlink()),
                group: None,
            },
        );
    }
    for paths in inodes.values() {
        if paths.len() > 1 {
            let g = paths.iter().min().unwrap().clone();
            for p in paths {
                tree.get_mut(p).unwrap().group = Some(g.clone());
            }
        }
    }
    tree
}

/// umoci's view of a merged root filesystem (`rootfs-manifest.json` in the corpus). mtimes
/// are not compared.
pub fn tree_of_manifest(doc: &Value) -> Tree {
    let mut tree = Tree::new();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in doc["entries"].as_array().expect("entries") {
        let path = e["path"].as_str().expect("path").to_string();
        let u = |k: &str| e[k].as_u64().unwrap_or_else(|| panic!("{path}: {k}"));
        let kind = match e["type"].as_str().expect("type") {
            "dir" => NodeKind::Dir,
            "file" => NodeKind::File(u("size"), e["sha256"].as_str().unwrap().to_string()),
            "symlink" => NodeKind::Symlink(e["target"].as_str().unwrap().to_string()),
            "fifo" => NodeKind::Fifo,
            "char" => NodeKind::Char(u("devmajor") as u32, u("devminor") as u32),
            "block" => NodeKind::Block(u("devmajor") as u32, u("devminor") as u32),
            t => panic!("{path}: unknown type {t}"),
        };
        let is_dir = kind == NodeKind::Dir;
        if let Some(g) = e["hardlink_group"].as_str() {
            groups.entry(g.to_string()).or_default().push(path.clone());
        }
        let xattrs = e["xattrs_hex"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        tree.insert(
            path.clone(),
            Node {
                kind,
                mode: u32::from_str_radix(e["mode"].as_str().expect("mode"), 8).unwrap(),
                uid: u("uid") as u32,
                gid: u("gid") as u32,
                xattrs,
                mtime: None,
                nlink: (!is_dir).then(|| u("nlink")),
                group: None,
            },
        );
    }
    for paths in groups.values() {
        if paths.len() > 1 {
            let g = paths.iter().min().unwrap().clone();
            for p in paths {
                tree.get_mut(p).unwrap().group = Some(g.clone());
            }
        }
    }
    tree
}

/// The differences between two trees, one line each (empty when they agree). mtimes are
/// compared where both sides have one.
pub fn diff_trees(want: &Tree, got: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    let paths: BTreeSet<&String> = want.keys().chain(got.keys()).collect();
    for p in paths {
        match (want.get(p), got.get(p)) {
            (Some(w), None) => out.push(format!("{p}: missing (want {})", w.kind.name())),
            (None, Some(g)) => out.push(format!("{p}: unexpected {} {:?}", g.kind.name(), g.kind)),
            (Some(w), Some(g)) => {
                let mut d = Vec::new();
                if w.kind != g.kind {
                    d.push(format!("kind/content {:?} != want {:?}", g.kind, w.kind));
                }
                if w.mode != g.mode && !matches!(w.kind, NodeKind::Symlink(_)) {
                    d.push(format!("mode {:04o} != want {:04o}", g.mode, w.mode));
                }
                if (w.uid, w.gid) != (g.uid, g.gid) {
                    d.push(format!(
                        "owner {}:{} != want {}:{}",
                        g.uid, g.gid, w.uid, w.gid
                    ));
                }
                if w.xattrs != g.xattrs {
                    d.push(format!("xattrs {:?} != want {:?}", g.xattrs, w.xattrs));
                }
                if let (Some(a), Some(b)) = (w.mtime, g.mtime) {
                    if a != b {
                        d.push(format!("mtime {b} != want {a}"));
                    }
                }
                if w.nlink != g.nlink {
                    d.push(format!("nlink {:?} != want {:?}", g.nlink, w.nlink));
                }
                if w.group != g.group {
                    d.push(format!(
                        "hardlink group {:?} != want {:?}",
                        g.group, w.group
                    ));
                }
                if !d.is_empty() {
                    out.push(format!("{p}: {}", d.join("; ")));
                }
            }
            (None, None) => unreachable!(),
        }
    }
    out
}

#[track_caller]
pub fn assert_trees_equal(want: &Tree, got: &Tree, ctx: &str) {
    let d = diff_trees(want, got);
    assert!(
        d.is_empty(),
        "{ctx}: {} difference(s) from the expected tree:\n  {}",
        d.len(),
        d.join("\n  ")
    );
}

/// Drops mtimes from a tree (for comparisons where they cannot be known).
pub fn without_mtimes(mut t: Tree) -> Tree {
    for n in t.values_mut() {
        n.mtime = None;
    }
    t
}

// ---------------------------------------------------------------------------------------------
// The layers most extract tests use.

/// A `security.capability` value (VFS_CAP_REVISION_2, cap_net_bind_service permitted).
pub fn capability() -> Vec<u8> {
    hex::decode("0100000200040000000000000000000000000000").unwrap()
}

/// Gives every entry of `layer` its own mtime (so a wrong one shows), from `base` up.
fn stamped(base: u64, layer: Vec<Entry>) -> Vec<Entry> {
    layer
        .into_iter()
        .enumerate()
        .map(|(i, e)| e.with_mtime(base + i as u64 * 7))
        .collect()
}

/// Three layers exercising the layer rules: every entry type, modes with setuid/setgid/sticky
/// and 0000, owners, xattrs, long (GNU and pax), unicode and absolute names, a sparse file,
/// entries without their parent directories; then whiteouts of a file and of a directory, an
/// opaque directory (its own layer's entry listed before the marker), type changes both ways,
/// a whiteout after its own layer's entry, duplicates, hardlinks to lower-layer files whose
/// target a higher layer replaces, a directory's metadata changed by a later layer.
pub fn rootfs_layers() -> Vec<Vec<Entry>> {
    let long_gnu = format!("usr/share/{}gnu.txt", "long-name-segment-".repeat(7));
    let long_pax = format!("usr/share/{}pax.txt", "long-name-segment-".repeat(7));
    let deep_dir = format!("{}/", "nested-directory-name/".repeat(6));
    let l0 = vec![
        Entry::dir("./").raw(),
        Entry::dir("etc"),
        Entry::file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        Entry::file("etc/shadow", "root:*:19000::::::\n")
            .with_mode(0o640)
            .with_owner(0, 42),
        Entry::file("etc/motd", "welcome\n"),
        Entry::file("etc/hostname", "base\n"),
        Entry::dir("bin"),
        Entry::file("bin/sh", "#!/bin/sh shell\n").with_mode(0o755),
        Entry::file("bin/su", "setuid binary\n").with_mode(0o4755),
        Entry::file("bin/wall", "setgid binary\n")
            .with_mode(0o2755)
            .with_owner(0, 5),
        Entry::dir("tmp").with_mode(0o1777),
        Entry::dir("usr"),
        Entry::dir("usr/lib"),
        Entry::file("usr/lib/libc.so", "libc version 1\n"),
        Entry::hardlink("usr/lib/libc-hard", "usr/lib/libc.so"),
        // No `usr/bin/` entry: the parent is created as needed.
        Entry::file("usr/bin/env", "env\n").with_mode(0o755),
        Entry::dir("usr/share"),
        Entry::file("usr/share/ünïcödé-日本語.txt", "unicode\n"),
        Entry::file(&long_gnu, "long GNU name\n"),
        Entry::file(&long_pax, "long pax name\n").with_pax(),
        Entry::file(&format!("{deep_dir}leaf.txt"), "deep\n"),
        Entry::dir("var"),
        Entry::dir("var/cache"),
        Entry::file("var/cache/a", "cache a\n"),
        Entry::dir("var/cache/sub"),
        Entry::file("var/cache/sub/c", "cache c\n"),
        Entry::dir("data"),
        Entry::file("data/old1", "old1\n"),
        Entry::dir("data/deep"),
        Entry::file("data/deep/old2", "old2\n"),
        Entry::dir("opt"),
        Entry::dir("opt/app"),
        Entry::file("opt/app/x", "x\n"),
        Entry::file("opt/tool", "tool is a file\n"),
        Entry::symlink("link-to-file", "etc/motd"),
        Entry::symlink("abs-link", "/etc/passwd"),
        Entry::symlink("dangling", "/nonexistent/target"),
        Entry::dir("dev"),
        Entry::char_dev("dev/null", 1, 3).with_mode(0o666),
        Entry::block_dev("dev/loop0", 7, 0),
        Entry::dir("run"),
        Entry::fifo("run/initctl").with_mode(0o600),
        Entry::file("empty", ""),
        Entry::file("secret0", "mode 0000\n").with_mode(0o000),
        Entry::dir("xattrs"),
        Entry::file("xattrs/file", "xattrs\n")
            .with_xattr("user.comment", b"hello xattr")
            .with_xattr("security.capability", &capability())
            .with_xattr("trusted.note", b"root only"),
        // A value may hold newline bytes: pax records are read by their length prefix.
        Entry::file("xattrs/user-only", "user xattr\n")
            .with_xattr("user.mime_type", b"text/plain")
            .with_xattr("user.lines", b"one\ntwo\n"),
        Entry::dir("owned"),
        Entry::file("owned/u70000", "uid 70000\n").with_owner(70000, 70001),
        Entry::dir("owned/d1000")
            .with_owner(1000, 1000)
            .with_mode(0o750),
        Entry::dir("ro").with_mode(0o555),
        Entry::file("ro/inside", "in a read-only dir\n"),
        Entry::dir("locked").with_mode(0o000),
        Entry::file("locked/inside", "in a 0000 dir\n"),
        Entry::sparse(
            "sparse.img",
            65536,
            vec![
                (4096, vec![b'A'; 512]),
                (16384, vec![b'B'; 1024]),
                (65536, Vec::new()),
            ],
        ),
    ];
    let l1 = vec![
        // The opaque marker comes after this layer's own entry: it still stays.
        Entry::dir("var/cache"),
        Entry::file("var/cache/new", "new cache\n"),
        Entry::opaque("var/cache"),
        Entry::whiteout("etc", "motd"),
        Entry::file("etc/motd.new", "new motd\n"),
        Entry::whiteout("", "data"),
        // Directory → file, symlink → file.
        Entry::file("opt/app", "app is a file now\n"),
        Entry::file("link-to-file", "was a symlink\n"),
        Entry::file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"),
        // A hardlink to a lower layer's file.
        Entry::hardlink("usr/bin/libc-link", "usr/lib/libc.so"),
        // Parents missing for three levels.
        Entry::file("srv/www/html/index.html", "<html></html>\n"),
        // A whiteout after its own layer's entry does not remove it.
        Entry::file("etc/hostname", "layer one\n"),
        Entry::whiteout("etc", "hostname"),
        // Duplicates: the last one wins.
        Entry::file("dup", "first\n"),
        Entry::file("dup", "second, the one that stays\n").with_mode(0o600),
        // New metadata for a lower directory; its children stay.
        Entry::dir("usr/lib").with_mode(0o700),
        Entry::whiteout("", "nothing-here"),
        Entry::file("/abs/file", "absolute name\n").raw(),
        Entry::file("./dot/file", "dot-slash name\n").raw(),
    ];
    let l2 = vec![
        Entry::dir("./").raw().with_mode(0o755),
        // File → directory.
        Entry::dir("opt/tool"),
        Entry::file("opt/tool/y", "y\n"),
        // The hardlinks' target is replaced: both links keep version 1, together.
        Entry::file("usr/lib/libc.so", "libc version 2\n"),
        // A deleted name comes back as another type.
        Entry::symlink("etc/motd", "motd.new"),
        // A deleted directory comes back without its old content.
        Entry::dir("data"),
        Entry::file("data/fresh", "fresh\n"),
        // A hardlink to the layer below's file.
        Entry::hardlink("srv/www/html/index2.html", "srv/www/html/index.html"),
        Entry::file("bin/su", "setuid binary v2\n").with_mode(0o4755),
    ];
    vec![
        stamped(1_600_000_000, l0),
        stamped(1_600_100_000, l1),
        stamped(1_600_200_000, l2),
    ]
}

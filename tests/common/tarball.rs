//! Deterministic tar writing for fixtures: every header has uid/gid 0, empty user/group names,
//! mtime 0 unless an entry asks otherwise, fixed modes, and entries appear exactly in the order
//! given. Long names use the GNU `././@LongLink` extension by default, or a pax `path` record
//! when the entry asks for pax, so both encodings get exercised.

use std::io::Read;

use tar::{Builder, EntryType, Header};

#[derive(Clone, Debug)]
pub enum Kind {
    Dir,
    File(Vec<u8>),
    Symlink(String),
    /// Hardlink to an earlier entry of the same tar (target is its path).
    Hardlink(String),
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub path: String,
    pub kind: Kind,
    /// Encode a long path as a pax extended header instead of a GNU long-name entry.
    pub pax: bool,
    pub mtime: u64,
}

impl Entry {
    pub fn dir(path: &str) -> Entry {
        let path = if path.ends_with('/') {
            path.to_string()
        } else {
            format!("{path}/")
        };
        Entry {
            path,
            kind: Kind::Dir,
            pax: false,
            mtime: 0,
        }
    }
    pub fn file(path: &str, content: impl Into<Vec<u8>>) -> Entry {
        Entry {
            path: path.to_string(),
            kind: Kind::File(content.into()),
            pax: false,
            mtime: 0,
        }
    }
    pub fn symlink(path: &str, target: &str) -> Entry {
        Entry {
            path: path.to_string(),
            kind: Kind::Symlink(target.to_string()),
            pax: false,
            mtime: 0,
        }
    }
    pub fn hardlink(path: &str, target: &str) -> Entry {
        Entry {
            path: path.to_string(),
            kind: Kind::Hardlink(target.to_string()),
            pax: false,
            mtime: 0,
        }
    }
    pub fn with_pax(mut self) -> Entry {
        self.pax = true;
        self
    }
    pub fn with_mtime(mut self, mtime: u64) -> Entry {
        self.mtime = mtime;
        self
    }

    /// What docker's overlay2 layer size counts for this entry: regular file bytes and symlink
    /// target lengths; directories, hardlinks (same inode counted once) and whiteouts add 0.
    pub fn docker_size(&self) -> u64 {
        match &self.kind {
            Kind::File(c) => c.len() as u64,
            Kind::Symlink(t) => t.len() as u64,
            Kind::Dir | Kind::Hardlink(_) => 0,
        }
    }
}

/// Writes `entries` as a tar stream (with the two zero blocks that end an archive).
pub fn write_tar(entries: &[Entry]) -> Vec<u8> {
    let mut b = Builder::new(Vec::new());
    for e in entries {
        append_entry(&mut b, e);
    }
    b.into_inner().expect("finish tar")
}

fn base_header(e: &Entry, gnu: bool) -> Header {
    let mut h = if gnu {
        Header::new_gnu()
    } else {
        Header::new_ustar()
    };
    let (ty, mode, size) = match &e.kind {
        Kind::Dir => (EntryType::Directory, 0o755, 0),
        Kind::File(c) => (EntryType::Regular, 0o644, c.len() as u64),
        Kind::Symlink(_) => (EntryType::Symlink, 0o777, 0),
        Kind::Hardlink(_) => (EntryType::Link, 0o644, 0),
    };
    h.set_entry_type(ty);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(e.mtime);
    h
}

fn content(e: &Entry) -> &[u8] {
    match &e.kind {
        Kind::File(c) => c,
        _ => &[],
    }
}

fn append_entry(b: &mut Builder<Vec<u8>>, e: &Entry) {
    if e.pax && e.path.len() > 100 {
        append_with_pax_path(b, e);
        return;
    }
    // A GNU header lets the tar crate fall back to `././@LongLink` for names over 100 bytes.
    let mut h = base_header(e, e.path.len() > 100);
    match &e.kind {
        Kind::Symlink(t) | Kind::Hardlink(t) => b.append_link(&mut h, &e.path, t).expect("link"),
        _ => b.append_data(&mut h, &e.path, content(e)).expect("entry"),
    }
}

/// One pax record: "<len> key=value\n" where len counts the whole record including itself.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    let mut rec = format!("{len} {key}=").into_bytes();
    rec.extend_from_slice(value);
    rec.push(b'\n');
    assert_eq!(rec.len(), len);
    rec
}

fn append_with_pax_path(b: &mut Builder<Vec<u8>>, e: &Entry) {
    let data = pax_record("path", e.path.as_bytes());
    let mut x = Header::new_ustar();
    x.set_entry_type(EntryType::XHeader);
    x.set_path("PaxHeaders.0/long").unwrap();
    x.set_mode(0o644);
    x.set_uid(0);
    x.set_gid(0);
    x.set_mtime(0);
    x.set_size(data.len() as u64);
    x.set_cksum();
    b.append(&x, &data[..]).expect("pax header");

    let mut h = base_header(e, false);
    // The ustar name field holds a truncated copy; readers take the pax record.
    let name = &e.path.as_bytes()[..100];
    h.as_old_mut().name.copy_from_slice(name);
    if let Kind::Symlink(t) | Kind::Hardlink(t) = &e.kind {
        h.set_link_name(t).expect("short link target");
    }
    h.set_cksum();
    b.append(&h, content(e)).expect("pax entry");
}

/// Parses `tar` back with the tar crate and returns (entry count, docker size): a self-check
/// that the bytes really say what the spec says.
pub fn reparse(tar: &[u8]) -> (u64, u64) {
    let mut ar = tar::Archive::new(tar);
    let mut n = 0;
    let mut size = 0;
    for entry in ar.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        n += 1;
        let ty = entry.header().entry_type();
        if ty.is_file() {
            let mut buf = Vec::new();
            entry.read_to_end(&mut buf).unwrap();
            size += buf.len() as u64;
        } else if ty.is_symlink() {
            size += entry.link_name_bytes().map(|l| l.len() as u64).unwrap_or(0);
        }
    }
    (n, size)
}

/// The files and directories of an outer archive (docker save tar, OCI layout), in order.
#[derive(Clone, Debug)]
pub enum Item {
    Dir(String),
    File(String, Vec<u8>),
    Symlink(String, String),
}

impl Item {
    pub fn path(&self) -> &str {
        match self {
            Item::Dir(p) | Item::File(p, _) | Item::Symlink(p, _) => p,
        }
    }
}

pub fn items_to_tar(items: &[Item]) -> Vec<u8> {
    let entries: Vec<Entry> = items
        .iter()
        .map(|i| match i {
            Item::Dir(p) => Entry::dir(p),
            Item::File(p, c) => Entry::file(p, c.clone()),
            Item::Symlink(p, t) => Entry::symlink(p, t),
        })
        .collect();
    write_tar(&entries)
}

pub fn items_to_dir(items: &[Item], root: &std::path::Path) {
    std::fs::create_dir_all(root).unwrap();
    for i in items {
        let p = root.join(i.path().trim_end_matches('/'));
        match i {
            Item::Dir(_) => std::fs::create_dir_all(&p).unwrap(),
            Item::File(_, c) => {
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, c).unwrap();
            }
            Item::Symlink(_, t) => {
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::os::unix::fs::symlink(t, &p).unwrap();
            }
        }
    }
}

/// Reads all of `r` (used for decompression checks in builder self-tests).
pub fn read_all(mut r: impl Read) -> Vec<u8> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).unwrap();
    v
}

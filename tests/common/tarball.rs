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
    Fifo,
    CharDev(u32, u32),
    BlockDev(u32, u32),
    /// An old-GNU sparse file of `real_size` bytes: data `chunks` at their offsets (at most 4,
    /// all but the last a multiple of 512 bytes long), zeros elsewhere.
    Sparse {
        real_size: u64,
        chunks: Vec<(u64, Vec<u8>)>,
    },
}

impl Kind {
    /// The bytes a reader gets: a sparse file expanded to its real size.
    pub fn expanded(&self) -> Option<Vec<u8>> {
        match self {
            Kind::File(c) => Some(c.clone()),
            Kind::Sparse { real_size, chunks } => {
                let mut v = vec![0u8; *real_size as usize];
                for (off, data) in chunks {
                    v[*off as usize..*off as usize + data.len()].copy_from_slice(data);
                }
                Some(v)
            }
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub path: String,
    pub kind: Kind,
    /// Encode a long path as a pax extended header instead of a GNU long-name entry.
    pub pax: bool,
    pub mtime: u64,
    /// Mode bits to write instead of the kind's default (0755 dirs, 0644 files, 0777 symlinks).
    pub mode: Option<u32>,
    pub uid: u64,
    pub gid: u64,
    /// Extended attributes, written as pax `SCHILY.xattr.NAME` records.
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// Further pax records written before the entry, verbatim (hostile `size` claims and such).
    pub pax_records: Vec<(String, Vec<u8>)>,
    /// Write the name (and link target) bytes as given, without the tar crate's checks, so
    /// hostile names (`../x`, `/etc/x`, NUL bytes) can be built. Names over 100 bytes or with
    /// a NUL go in a pax `path` record.
    pub raw_name: bool,
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
            mode: None,
            uid: 0,
            gid: 0,
            xattrs: Vec::new(),
            pax_records: Vec::new(),
            raw_name: false,
        }
    }
    pub fn file(path: &str, content: impl Into<Vec<u8>>) -> Entry {
        Entry {
            path: path.to_string(),
            kind: Kind::File(content.into()),
            pax: false,
            mtime: 0,
            mode: None,
            uid: 0,
            gid: 0,
            xattrs: Vec::new(),
            pax_records: Vec::new(),
            raw_name: false,
        }
    }
    pub fn symlink(path: &str, target: &str) -> Entry {
        Entry {
            path: path.to_string(),
            kind: Kind::Symlink(target.to_string()),
            pax: false,
            mtime: 0,
            mode: None,
            uid: 0,
            gid: 0,
            xattrs: Vec::new(),
            pax_records: Vec::new(),
            raw_name: false,
        }
    }
    pub fn hardlink(path: &str, target: &str) -> Entry {
        Entry {
            path: path.to_string(),
            kind: Kind::Hardlink(target.to_string()),
            pax: false,
            mtime: 0,
            mode: None,
            uid: 0,
            gid: 0,
            xattrs: Vec::new(),
            pax_records: Vec::new(),
            raw_name: false,
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
    pub fn fifo(path: &str) -> Entry {
        Entry {
            kind: Kind::Fifo,
            ..Entry::file(path, Vec::new())
        }
    }
    pub fn char_dev(path: &str, major: u32, minor: u32) -> Entry {
        Entry {
            kind: Kind::CharDev(major, minor),
            ..Entry::file(path, Vec::new())
        }
    }
    pub fn block_dev(path: &str, major: u32, minor: u32) -> Entry {
        Entry {
            kind: Kind::BlockDev(major, minor),
            ..Entry::file(path, Vec::new())
        }
    }
    pub fn sparse(path: &str, real_size: u64, chunks: Vec<(u64, Vec<u8>)>) -> Entry {
        assert!(chunks.len() <= 4);
        Entry {
            kind: Kind::Sparse { real_size, chunks },
            ..Entry::file(path, Vec::new())
        }
    }
    /// `DIR/.wh.NAME` ("" is the root): deletes DIR/NAME of the layers below.
    pub fn whiteout(dir: &str, name: &str) -> Entry {
        let dir = dir.trim_end_matches('/');
        if dir.is_empty() {
            Entry::file(&format!(".wh.{name}"), Vec::new())
        } else {
            Entry::file(&format!("{dir}/.wh.{name}"), Vec::new())
        }
    }
    /// `DIR/.wh..wh..opq` ("" is the root): DIR hides what the layers below had in it.
    pub fn opaque(dir: &str) -> Entry {
        Entry::whiteout(dir, ".wh..opq")
    }
    pub fn with_mode(mut self, mode: u32) -> Entry {
        self.mode = Some(mode);
        self
    }
    pub fn with_owner(mut self, uid: u64, gid: u64) -> Entry {
        self.uid = uid;
        self.gid = gid;
        self
    }
    pub fn with_xattr(mut self, name: &str, value: &[u8]) -> Entry {
        self.xattrs.push((name.to_string(), value.to_vec()));
        self
    }
    pub fn with_pax_record(mut self, key: &str, value: &[u8]) -> Entry {
        self.pax_records.push((key.to_string(), value.to_vec()));
        self
    }
    pub fn raw(mut self) -> Entry {
        self.raw_name = true;
        self
    }

    /// What docker's overlay2 layer size counts for this entry: regular file bytes and symlink
    /// target lengths; directories, hardlinks (same inode counted once) and whiteouts add 0.
    pub fn docker_size(&self) -> u64 {
        match &self.kind {
            Kind::File(c) => c.len() as u64,
            Kind::Symlink(t) => t.len() as u64,
            Kind::Dir
            | Kind::Hardlink(_)
            | Kind::Fifo
            | Kind::CharDev(..)
            | Kind::BlockDev(..)
            // The tar crate does not count sparse entries as regular files (see `reparse`).
            | Kind::Sparse { .. } => 0,
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
        Kind::Fifo => (EntryType::Fifo, 0o644, 0),
        Kind::CharDev(..) => (EntryType::Char, 0o666, 0),
        Kind::BlockDev(..) => (EntryType::Block, 0o660, 0),
        Kind::Sparse { chunks, .. } => (
            EntryType::GNUSparse,
            0o644,
            chunks.iter().map(|(_, d)| d.len() as u64).sum(),
        ),
    };
    h.set_entry_type(ty);
    h.set_mode(e.mode.unwrap_or(mode));
    h.set_size(size);
    h.set_uid(e.uid);
    h.set_gid(e.gid);
    h.set_mtime(e.mtime);
    if let Kind::CharDev(major, minor) | Kind::BlockDev(major, minor) = e.kind {
        h.set_device_major(major).expect("device major");
        h.set_device_minor(minor).expect("device minor");
    }
    if let Kind::Sparse { real_size, chunks } = &e.kind {
        let g = h.as_gnu_mut().expect("sparse entries use GNU headers");
        g.set_real_size(*real_size);
        for (slot, (off, data)) in g.sparse.iter_mut().zip(chunks) {
            slot.set_offset(*off);
            slot.set_length(data.len() as u64);
        }
    }
    h
}

fn content(e: &Entry) -> std::borrow::Cow<'_, [u8]> {
    match &e.kind {
        Kind::File(c) => std::borrow::Cow::Borrowed(c),
        Kind::Sparse { chunks, .. } => {
            std::borrow::Cow::Owned(chunks.iter().flat_map(|(_, d)| d.clone()).collect())
        }
        _ => std::borrow::Cow::Borrowed(&[]),
    }
}

fn append_entry(b: &mut Builder<Vec<u8>>, e: &Entry) {
    let long = e.path.len() > 100;
    if (e.pax && long)
        || !e.xattrs.is_empty()
        || !e.pax_records.is_empty()
        || (e.raw_name && (long || e.path.contains('\0')))
    {
        append_with_pax(b, e);
        return;
    }
    if e.raw_name {
        let mut h = base_header(e, matches!(e.kind, Kind::Sparse { .. }));
        h.as_old_mut().name[..e.path.len()].copy_from_slice(e.path.as_bytes());
        set_raw_link_name(&mut h, e);
        h.set_cksum();
        b.append(&h, &content(e)[..]).expect("raw entry");
        return;
    }
    // A GNU header lets the tar crate fall back to `././@LongLink` for names over 100 bytes.
    let gnu = e.path.len() > 100 || matches!(e.kind, Kind::Sparse { .. });
    let mut h = base_header(e, gnu);
    match &e.kind {
        Kind::Symlink(t) | Kind::Hardlink(t) => b.append_link(&mut h, &e.path, t).expect("link"),
        _ => b
            .append_data(&mut h, &e.path, &content(e)[..])
            .expect("entry"),
    }
}

/// One pax record: "<len> key=value\n" where len counts the whole record including itself.
pub fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
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

/// Link target bytes as given, into the ustar field (at most 100 bytes).
fn set_raw_link_name(h: &mut Header, e: &Entry) {
    if let Kind::Symlink(t) | Kind::Hardlink(t) = &e.kind {
        assert!(t.len() <= 100, "raw link target over 100 bytes: {t}");
        h.as_old_mut().linkname[..t.len()].copy_from_slice(t.as_bytes());
    }
}

/// A pax extended header (long or raw path, xattrs, extra records) followed by the entry.
fn append_with_pax(b: &mut Builder<Vec<u8>>, e: &Entry) {
    let path_record = e.path.len() > 100 || e.path.contains('\0');
    let mut data = Vec::new();
    if path_record {
        data.extend(pax_record("path", e.path.as_bytes()));
    }
    for (k, v) in &e.xattrs {
        data.extend(pax_record(&format!("SCHILY.xattr.{k}"), v));
    }
    for (k, v) in &e.pax_records {
        data.extend(pax_record(k, v));
    }
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

    let mut h = base_header(e, matches!(e.kind, Kind::Sparse { .. }));
    // With a pax path, the ustar name field holds a truncated copy; readers take the record.
    let name = e.path.as_bytes();
    let name = &name[..name.len().min(100)];
    let name = if path_record {
        &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())]
    } else {
        name
    };
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    if e.raw_name {
        set_raw_link_name(&mut h, e);
    } else if let Kind::Symlink(t) | Kind::Hardlink(t) = &e.kind {
        h.set_link_name(t).expect("short link target");
    }
    h.set_cksum();
    b.append(&h, &content(e)[..]).expect("pax entry");
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

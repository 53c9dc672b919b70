//! Writes the merged tree as one flat tar stream (like `crane export`): no whiteouts, each path
//! once. Files, symlinks and special files go out as they are decided; hardlinks follow (their
//! targets must come first in a tar), then directories, parents first. A path written again
//! (a link's target whose older content an upper layer's link wanted) sends the links to what
//! it held out first.

use std::io::{self, Write};

use super::engine::Decision;
use super::entry::FileData;
use super::fs::Meta;
use super::merge::{Sink, Special};
use crate::rawname::to_path;
use std::os::unix::ffi::OsStrExt;

pub struct TarSink<W: Write> {
    builder: tar::Builder<W>,
    /// Hardlinks to write at the end, in order; an entry the same path gets later voids its
    /// link (`link_at` finds it).
    links: Vec<Option<(String, String)>>,
    link_at: std::collections::HashMap<String, usize>,
    /// The queued links by target.
    links_to: std::collections::HashMap<String, Vec<usize>>,
    /// Directory entries to write at the end, parents first.
    dirs: std::collections::BTreeMap<String, Meta>,
    /// Every directory some entry lies in: those without an entry of their own get one as the
    /// directory sink makes them (0755, root, mtime 0), so both outputs give the same tree.
    parents: std::collections::HashSet<String>,
    /// Non-directories already in the stream (symlinks included), by a hash of their path: an
    /// entry below one, or a directory over one, would be written through or over it by
    /// whoever unpacks the tar, which only an in-order extraction gets right. (A collision only
    /// sends the extraction down that slower path.)
    streamed: std::collections::HashSet<u64>,
    hasher: std::collections::hash_map::RandomState,
    budget: super::budget::Budget,
}

impl<W: Write> TarSink<W> {
    pub fn new(out: W) -> TarSink<W> {
        let mut builder = tar::Builder::new(out);
        builder.follow_symlinks(false);
        TarSink {
            builder,
            links: Vec::new(),
            link_at: std::collections::HashMap::new(),
            links_to: std::collections::HashMap::new(),
            dirs: std::collections::BTreeMap::new(),
            parents: std::collections::HashSet::new(),
            streamed: std::collections::HashSet::new(),
            hasher: std::collections::hash_map::RandomState::new(),
            budget: super::budget::Budget::default(),
        }
    }

    pub fn into_inner(self) -> io::Result<W> {
        self.builder.into_inner()
    }

    fn header(kind: tar::EntryType, meta: &Meta, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(meta.mode & 0o7777);
        h.set_uid(meta.uid);
        h.set_gid(meta.gid);
        h.set_mtime(meta.mtime);
        h.set_size(size);
        h
    }

    fn note_parents(&mut self, path: &str) -> io::Result<()> {
        self.note_dirs(super::rules::parent(path))
    }

    /// `dir` and its parents are directories of the tree.
    fn note_dirs(&mut self, dir: &str) -> io::Result<()> {
        if !self.streamed.is_empty() {
            let mut dir = dir;
            while !dir.is_empty() {
                if self.streamed.contains(&self.key(dir)) {
                    return Err(conflict());
                }
                dir = super::rules::parent(dir);
            }
        }
        let mut dir = dir;
        while !dir.is_empty() && self.parents.insert(dir.to_string()) {
            self.budget.take(dir.len(), "directory metadata")?;
            dir = super::rules::parent(dir);
        }
        Ok(())
    }

    /// A non-directory is about to be written at `path`: entries already written below it
    /// (the same layer making a directory a symlink or file after filling it) need the
    /// in-order extraction.
    fn note_non_dir(&mut self, path: &str) -> io::Result<()> {
        if self.parents.contains(path) {
            return Err(conflict());
        }
        // Links queued to what the path holds now go out before it changes.
        if let Some(waiting) = self.links_to.remove(path) {
            if let Some(&own) = self.link_at.get(path) {
                self.emit_link(own)?;
            }
            for i in waiting {
                self.emit_link(i)?;
            }
        }
        // The last entry for a path wins: a directory or link queued there is void.
        self.dirs.remove(path);
        if let Some(i) = self.link_at.remove(path) {
            self.links[i] = None;
        }
        self.note_parents(path)
    }

    /// Writes queued link `i` now (if it still stands).
    fn emit_link(&mut self, i: usize) -> io::Result<()> {
        let Some((path, target)) = self.links[i].take() else {
            return Ok(());
        };
        self.link_at.remove(&path);
        // A link goes out after its target: when that is a queued link too (it may be, when
        // this one goes out early because its path is about to change), that one first.
        if let Some(&at_target) = self.link_at.get(&target) {
            self.emit_link(at_target)?;
        }
        self.note_streamed(&path);
        let mut h = Self::header(tar::EntryType::Link, &Meta::default(), 0);
        self.builder
            .append_link(&mut h, &*to_path(&path), &*to_path(&target))
    }

    fn key(&self, path: &str) -> u64 {
        std::hash::BuildHasher::hash_one(&self.hasher, path)
    }

    /// `path` is in the stream as a non-directory.
    fn note_streamed(&mut self, path: &str) {
        let key = self.key(path);
        self.streamed.insert(key);
    }

    fn xattrs(&mut self, meta: &Meta) -> io::Result<()> {
        if meta.xattrs.is_empty() {
            return Ok(());
        }
        let records: Vec<(String, &[u8])> = meta
            .xattrs
            .iter()
            // What a directory extraction as root would set, so both outputs hold the same
            // tree (and the tar made from an in-order extraction too); overlayfs' own
            // attributes never leave strata: they would act on a later mount.
            .filter(|(n, _)| super::dir_sink::DirSink::xattr_allowed(true, n))
            .map(|(n, v)| (format!("SCHILY.xattr.{n}"), v.as_slice()))
            .collect();
        if records.is_empty() {
            return Ok(());
        }
        self.builder
            .append_pax_extensions(records.iter().map(|(k, v)| (k.as_str(), *v)))
    }
}

impl<W: Write> Sink for TarSink<W> {
    fn file(
        &mut self,
        path: &str,
        meta: &Meta,
        size: u64,
        _sparse: bool,
        data: &mut dyn FileData,
        _replace: bool,
    ) -> io::Result<()> {
        self.note_non_dir(path)?;
        self.note_streamed(path);
        self.xattrs(meta)?;
        let mut h = Self::header(tar::EntryType::Regular, meta, size);
        // The entry reader yields exactly `size` bytes (sparse files expanded to their length).
        self.builder.append_data(&mut h, &*to_path(path), data)
    }

    fn dir(&mut self, path: &str, meta: &Meta, _replace: bool) -> io::Result<()> {
        if self.streamed.contains(&self.key(path)) {
            return Err(conflict());
        }
        if let Some(i) = self.link_at.remove(path) {
            // The links queued to this path's link name what it names: its target has not
            // changed since (that would have sent them out).
            if let (Some((_, target)), Some(waiting)) =
                (self.links[i].take(), self.links_to.remove(path))
            {
                for j in waiting {
                    if let Some(link) = &mut self.links[j] {
                        link.1.clone_from(&target);
                        self.links_to.entry(target.clone()).or_default().push(j);
                    }
                }
            }
        }
        self.note_parents(path)?;
        let xattr_bytes: usize = meta.xattrs.iter().map(|(n, v)| n.len() + v.len()).sum();
        self.budget
            .take(path.len() + xattr_bytes, "directory metadata")?;
        self.dirs.insert(path.to_string(), meta.clone());
        Ok(())
    }

    fn symlink(
        &mut self,
        path: &str,
        target: &[u8],
        meta: &Meta,
        _replace: bool,
    ) -> io::Result<()> {
        self.note_non_dir(path)?;
        self.xattrs(meta)?;
        self.note_streamed(path);
        let mut h = Self::header(tar::EntryType::Symlink, meta, 0);
        let target = std::path::Path::new(std::ffi::OsStr::from_bytes(target));
        self.builder.append_link(&mut h, &*to_path(path), target)
    }

    fn special(
        &mut self,
        path: &str,
        kind: Special,
        meta: &Meta,
        _replace: bool,
    ) -> io::Result<()> {
        self.note_non_dir(path)?;
        self.note_streamed(path);
        let (t, dev) = match kind {
            Special::Fifo => (tar::EntryType::Fifo, None),
            Special::Char(a, b) => (tar::EntryType::Char, Some((a, b))),
            Special::Block(a, b) => (tar::EntryType::Block, Some((a, b))),
        };
        let mut h = Self::header(t, meta, 0);
        if let Some((major, minor)) = dev {
            h.set_device_major(major)?;
            h.set_device_minor(minor)?;
        }
        self.builder
            .append_data(&mut h, &*to_path(path), io::empty())
    }

    fn hardlink(&mut self, path: &str, target: &str, _replace: bool) -> io::Result<()> {
        self.note_non_dir(path)?;
        self.budget.take(path.len() + target.len(), "hardlinks")?;
        self.link_at.insert(path.to_string(), self.links.len());
        self.links_to
            .entry(target.to_string())
            .or_default()
            .push(self.links.len());
        self.links
            .push(Some((path.to_string(), target.to_string())));
        Ok(())
    }

    fn carry_out(&mut self, decision: &Decision) -> io::Result<()> {
        match decision {
            Decision::Hide { implied: Some(dir) } => self.note_dirs(dir),
            Decision::Delete(_) | Decision::Clear(_) => Err(io::Error::other(
                "a tar stream cannot delete what it has written",
            )),
            Decision::Whiteout(_) => Err(io::Error::other(
                "this output cannot hold overlay whiteouts",
            )),
            Decision::MarkOpaque(_) => Err(io::Error::other(
                "this output cannot mark directories opaque",
            )),
            Decision::Hide { implied: None } | Decision::Write { .. } | Decision::Nothing => Ok(()),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        for i in 0..self.links.len() {
            self.emit_link(i)?;
        }
        self.links.clear();
        self.links_to.clear();
        let mut dirs = std::mem::take(&mut self.dirs);
        for parent in std::mem::take(&mut self.parents) {
            dirs.entry(parent).or_insert(Meta {
                mode: 0o755,
                ..Meta::default()
            });
        }
        for (path, meta) in dirs {
            self.xattrs(&meta)?;
            let mut h = Self::header(tar::EntryType::Directory, &meta, 0);
            let name = if path.is_empty() {
                "./".to_string()
            } else {
                format!("{path}/")
            };
            self.builder
                .append_data(&mut h, &*to_path(&name), io::empty())?;
        }
        self.builder.finish()
    }
}

fn conflict() -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, super::dir_sink::Conflict)
}

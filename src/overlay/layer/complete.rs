//! Completing one layer of an overlay layer store once the layers below it are unpacked:
//! hardlinks to their files, whiteouts in overlayfs form, and the metadata of parents the layer
//! left out.
//!
//! Settling whiteouts is linear in their number and bounded in memory and descriptors:
//! - overlayfs never lists a whiteout inside a *merged* directory (one a lower layer also has
//!   as a directory): readdir drops it whether or not a lower layer has the name (checked on
//!   Linux 6.18). So a whiteout there may be placed without looking for its name below; only
//!   whether its directory is merged is looked up, once per directory. (Where a directory has
//!   many whiteouts, its lower names are read once, so that whiteouts of names no layer has
//!   are not made: see `may_hide`);
//! - anywhere else (a directory new in this layer, or opaque) nothing below shows through, so
//!   no whiteout is needed, and one would be listed as a name that cannot be opened;
//! - a whiteout below another whiteout or opaque marker of the layer hides nothing more: it is
//!   dropped, so the whiteouts can be taken in any order (they come back from the spill file
//!   in the layer's order; no sorting, no list in memory).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::FileType;

use super::{DirSink, Meta, Root, Special, WHITEOUTS};
use crate::extract::lowers::Lowers;
use crate::extract::merge::Sink;
use crate::extract::rules::{file_name, parent};

/// Directories whose "merged or not" answer is remembered; past this the memory starts over.
const MAX_CACHED_DIRS: usize = 1 << 20;
/// Whiteouts in a row in one directory before its lower names are read (see `may_hide`).
const RUN_BEFORE_NAMES: usize = 64;
/// Names of one lower directory kept as keys; past this every whiteout there is placed.
const MAX_NAMES: usize = 1 << 20;

impl DirSink {
    /// Does what a deferred pass left for when the lower layers exist (`lowers`, nearest
    /// first): links or copies lower-layer hardlink targets, settles whiteouts, gives omitted
    /// parents the lower layers' metadata, then the usual directory metadata.
    pub fn complete(&mut self, lowers: Lowers) -> io::Result<()> {
        self.lower_layers = lowers;
        self.defer_lower = false;
        let mut deferred = std::mem::take(&mut self.deferred);
        // Parents first: one that a lower layer has as a symlink (or a file) means the layer
        // writes through (or below) it, and then nothing of this pass is kept. Below an opaque
        // directory (a marker, or a whiteout the layer replaced by a directory) the lower
        // layers' directories are hidden: a parent the layer left out there is new, with the
        // default metadata it already has.
        for path in &deferred.implicit_dirs {
            if self.keys.any_ancestor_in(path, &deferred.marked) {
                continue;
            }
            let deleted_here = deferred.whited.contains(&self.keys.key(path));
            if let (false, Some((_, st))) = (deleted_here, self.visible_in_lower(path)?) {
                // Below a lower file, in order the entry cannot be written (`strata extract`
                // refuses it): the pass through the lower layers refuses it the same way, where
                // overlayfs would show the layer's directory over the file. An opaque marker of
                // a directory the layer only implies there clears nothing in order.
                if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
                    let path = path.clone();
                    return Err(self.again_through(&mut deferred, path)?);
                }
            }
            if let Some(meta) = self.lower_dir_meta(path) {
                self.dirs.insert(path.clone(), meta);
            }
        }
        // Links next: they are the layer's own entries, which its whiteouts must see.
        for (path, target) in std::mem::take(&mut deferred.links) {
            // The layer's own whiteouts and opaque markers act first: a link to what they
            // delete has nothing to link to, as in an in-order extraction.
            if deferred.marked.contains(&self.keys.key(&target))
                || self.keys.any_ancestor_in(&target, &deferred.marked)
            {
                return Err(no_target(&target));
            }
            let (dir, name) = self.parent_of(&path)?;
            self.copy_from_lower(&dir, name, &target)?;
        }
        self.settle_whiteouts(&mut deferred)?;
        self.lower_layers.release();
        if deferred.finish_called {
            self.finish_now()?;
        }
        Ok(())
    }

    /// The layer goes through the lower layers again (see `through.rs`), past `path`: its
    /// marks go back for that pass, but for the opaque markers of directories it only implies
    /// where the layers below have no directory, which that pass leaves out.
    fn again_through(
        &mut self,
        deferred: &mut super::Deferred,
        path: String,
    ) -> io::Result<io::Error> {
        let mut void = HashSet::new();
        for dir in &deferred.implicit_dirs {
            let key = self.keys.key(dir);
            if !deferred.marked.contains(&key)
                || deferred.whited.contains(&key)
                || self.keys.any_ancestor_in(dir, &deferred.marked)
            {
                continue;
            }
            if let Some((_, st)) = self.visible_in_lower(dir)? {
                if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
                    void.insert(key);
                }
            }
        }
        deferred.marked.retain(|k| !void.contains(k));
        self.deferred.marked = std::mem::take(&mut deferred.marked);
        self.deferred.whited = std::mem::take(&mut deferred.whited);
        self.deferred.void = void;
        Ok(io::Error::other(super::WritesThroughLower(path)))
    }

    /// The layer's whiteouts, once the whole layer is unpacked, in overlayfs form:
    /// - below another whiteout or opaque marker of the layer: dropped (see the module doc);
    /// - below the layer's own symlink or non-directory: dropped, nothing shows through there;
    /// - where the layer has its own directory, the lower one was deleted and replaced, so the
    ///   directory becomes opaque (a parent the layer left out gets the default metadata then,
    ///   not the deleted directory's);
    /// - where it has its own non-directory, that already hides the lower entry;
    /// - otherwise a 0/0 character device if the directory is merged, nothing if not.
    pub(super) fn settle_whiteouts(&mut self, deferred: &mut super::Deferred) -> io::Result<()> {
        let mut whiteouts = std::mem::take(&mut deferred.whiteouts).read_back()?;
        let mut merged: HashMap<u128, bool> = HashMap::new();
        // The parent of the previous whiteout: a layer lists a directory's whiteouts together.
        let mut last: Option<(String, Option<OwnedFd>)> = None;
        // Whiteouts so far in that directory, and once they are many, the names its lower
        // directories hold: a whiteout of a name none of them has is not made at all.
        let mut run: (usize, Option<HashSet<u128>>) = (0, None);
        while let Some(path) = whiteouts.next_path()? {
            if self.keys.any_ancestor_in(&path, &deferred.marked) {
                continue;
            }
            let dir = parent(&path);
            if !matches!(&last, Some((p, _)) if p == dir) {
                let fd = match self.root.open_dir_strict(dir) {
                    Ok(fd) => Some(fd),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        // Below a lower symlink the marker is refused, by the pass through it.
                        if let Some(link) = self.symlink_on(dir, &deferred.marked)? {
                            return Err(self.again_through(deferred, link)?);
                        }
                        None
                    }
                    Err(e) if matches!(e.raw_os_error(), Some(20) | Some(40)) => continue,
                    Err(e) => return Err(e),
                };
                last = Some((dir.to_string(), fd));
                run = (0, None);
            }
            let parent_fd = last.as_ref().and_then(|(_, fd)| fd.as_ref());
            let here = parent_fd
                .and_then(|d| Root::lstat(d, file_name(&path)).ok())
                .map(|st| FileType::from_raw_mode(st.st_mode));
            match here {
                Some(FileType::Directory) => {
                    if deferred.implicit_dirs.remove(&path) {
                        let meta = Meta {
                            mode: 0o755,
                            ..Meta::default()
                        };
                        self.dirs.insert(path.clone(), meta);
                    }
                    self.budget.take(16, WHITEOUTS)?;
                    self.opaque_dirs.push(self.root.fd(), &path)?;
                }
                Some(_) => {}
                None if !self.lower_is_dir(dir, &mut merged)? => {}
                None if !self.may_hide(dir, file_name(&path), &mut run)? => {}
                // Nothing stands there: the device is made as root:root (or the user's, when
                // rootless, as the image's owners are then), mode 0, mtime 0.
                None => match parent_fd {
                    Some(fd) => {
                        let name = file_name(&path);
                        Root::mknod(fd, name, FileType::CharacterDevice, 0, 0)?;
                        Root::set_meta_at(fd, name, &Meta::default(), false, false)?;
                    }
                    None => {
                        // Its parents are made, with the lower layers' metadata.
                        self.special(&path, Special::Char(0, 0), &Meta::default(), true)?;
                        last = None;
                        run = (0, None);
                    }
                },
            }
        }
        Ok(())
    }

    /// Whether a whiteout of `name` in the merged directory `dir` may hide something. Placing
    /// one that hides nothing is harmless there, and looking the name up in every lower layer
    /// costs as much as the layers are many; so after as many whiteouts in a row in `dir` as
    /// there are lower layers (at least [`RUN_BEFORE_NAMES`]), the names of `dir` in the lower
    /// layers are read once and the rest are checked against them: linear either way.
    fn may_hide(
        &mut self,
        dir: &str,
        name: &str,
        run: &mut (usize, Option<HashSet<u128>>),
    ) -> io::Result<bool> {
        run.0 += 1;
        if run.0 == self.lower_layers.len().max(RUN_BEFORE_NAMES) {
            run.1 = self.lower_names(dir)?;
        }
        Ok(match &run.1 {
            Some(names) => names.contains(&self.keys.key(name)),
            None => true,
        })
    }

    /// Keys of the names in directory `dir` of the layers below, down to the first that hides
    /// the rest (opaque, or not a directory there); None past [`MAX_NAMES`].
    fn lower_names(&mut self, dir: &str) -> io::Result<Option<HashSet<u128>>> {
        let mut names = HashSet::new();
        for i in 0..self.lower_layers.len() {
            let lower = self.lower_layers.get(i)?;
            let fd = match lower.open_dir_strict(dir) {
                Ok(fd) => fd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) if matches!(e.raw_os_error(), Some(20) | Some(40)) => break,
                Err(e) => return Err(e),
            };
            for entry in rustix::fs::Dir::read_from(&fd)? {
                let entry = entry?;
                let raw = entry.file_name().to_bytes();
                names.insert(self.keys.key(&crate::rawname::from_bytes(raw)));
                if names.len() > MAX_NAMES {
                    return Ok(None);
                }
            }
            if let Some(xattr) = self.opaque_xattr {
                if rustix::fs::fgetxattr(&fd, xattr, &mut [0u8; 1]).is_ok() {
                    break;
                }
            }
        }
        Ok(Some(names))
    }

    /// Whether the layers below show a directory at `dir` (then a directory of this layer
    /// there is merged with it). Remembered per directory.
    fn lower_is_dir(&mut self, dir: &str, cache: &mut HashMap<u128, bool>) -> io::Result<bool> {
        if self.lower_layers.is_empty() {
            return Ok(false);
        }
        if dir.is_empty() {
            return Ok(true);
        }
        let key = self.keys.key(dir);
        if let Some(&known) = cache.get(&key) {
            return Ok(known);
        }
        let known = self.lower_is_dir(parent(dir), cache)? && self.lower_has_dir(dir)?;
        if cache.len() >= MAX_CACHED_DIRS {
            cache.clear();
        }
        cache.insert(key, known);
        Ok(known)
    }

    /// Looks `dir` up as overlayfs does, through the layers below nearest first: the first
    /// layer with anything there decides (a directory, or a whiteout or non-directory that
    /// hides the rest); a layer whose parent directory is opaque ends the search. Layer
    /// directories are walked without following symlinks.
    fn lower_has_dir(&mut self, dir: &str) -> io::Result<bool> {
        let opaque = self.opaque_xattr;
        for i in 0..self.lower_layers.len() {
            let lower = self.lower_layers.get(i)?;
            let parent_fd = match lower.open_dir_strict(parent(dir)) {
                Ok(fd) => fd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                // A symlink or non-directory above it in this layer hides the rest.
                Err(e) if matches!(e.raw_os_error(), Some(20) | Some(40)) => return Ok(false),
                Err(e) => return Err(e),
            };
            match Root::lstat(&parent_fd, file_name(dir)) {
                Ok(st) => return Ok(FileType::from_raw_mode(st.st_mode) == FileType::Directory),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            if let Some(name) = opaque {
                let mut value = [0u8; 1];
                if rustix::fs::fgetxattr(&parent_fd, name, &mut value).is_ok() {
                    return Ok(false);
                }
            }
        }
        Ok(false)
    }

    pub(super) fn finish_now(&mut self) -> io::Result<()> {
        let mut dirs: Vec<(String, Meta)> = std::mem::take(&mut self.dirs).into_iter().collect();
        // Deepest first: a parent made read-only must not stop its children being set.
        dirs.sort_by_key(|(p, _)| {
            std::cmp::Reverse(if p.is_empty() {
                0
            } else {
                p.matches('/').count() + 1
            })
        });
        for (path, meta) in &dirs {
            let fd = self.root.open_dir_nofollow(path)?;
            self.set_meta_fd(&fd, meta)?;
        }
        drop(dirs);
        let opaque = std::mem::take(&mut self.opaque_dirs);
        if let Some(name) = self.opaque_xattr {
            let mut dirs = opaque.read_back()?;
            while let Some(dir) = dirs.next_path()? {
                let fd = self.root.open_dir_nofollow(&dir)?;
                rustix::fs::fsetxattr(&fd, name, b"y", rustix::fs::XattrFlags::empty())?;
            }
        }
        Ok(())
    }

    /// The root directory's metadata comes from the lower layers unless this layer has `./`.
    pub(super) fn inherit_root_meta(&mut self) {
        if self.defer_lower {
            self.deferred.implicit_dirs.insert(String::new());
            return;
        }
        if let Some(meta) = self.lower_dir_meta("") {
            self.dirs.insert(String::new(), meta);
        }
    }

    /// Owner, mode and mtime of directory `path` in the nearest lower layer that has it.
    pub(super) fn lower_dir_meta(&mut self, path: &str) -> Option<Meta> {
        let (_, st) = self.visible_in_lower(path).ok()??;
        (FileType::from_raw_mode(st.st_mode) == FileType::Directory).then(|| Meta {
            mode: st.st_mode & 0o7777,
            uid: u64::from(st.st_uid),
            gid: u64::from(st.st_gid),
            mtime: st.st_mtime.max(0) as u64,
            xattrs: Vec::new(),
        })
    }

    /// Copies `target` as the nearest lower layer has it (stopping at an overlay whiteout).
    pub(super) fn copy_from_lower(
        &mut self,
        dir: &std::os::fd::OwnedFd,
        name: &str,
        target: &str,
    ) -> io::Result<()> {
        // Any non-directory can be hardlinked; a link to a symlink is that symlink.
        let Some((parent_fd, st)) = self
            .visible_in_lower(target)?
            .filter(|(_, st)| FileType::from_raw_mode(st.st_mode) != FileType::Directory)
        else {
            return Err(no_target(target));
        };
        // Same filesystem: share the lower layer's inode, so the merged view keeps the
        // hardlink group; copy only when that is impossible.
        if Root::link_at(&parent_fd, file_name(target), dir, name).is_ok() {
            return Ok(());
        }
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {}
            FileType::Symlink => {
                let link = Root::read_link(&parent_fd, file_name(target))?;
                return Root::symlink(dir, name, &link).map_err(super::conflict);
            }
            _ => return Err(no_target(target)),
        }
        let mut src = Root::open_read(&parent_fd, file_name(target))?;
        let mut dst = Root::create_file(dir, name).map_err(super::conflict)?;
        self.space.expect(&dst, st.st_size as u64)?;
        self.space.charge(&dst, st.st_size as u64)?;
        io::copy(&mut src, &mut dst)?;
        let meta = Meta {
            mode: st.st_mode & 0o7777,
            uid: u64::from(st.st_uid),
            gid: u64::from(st.st_gid),
            mtime: st.st_mtime.max(0) as u64,
            xattrs: Root::xattrs_of(&src)?,
        };
        self.set_meta_fd(&dst, &meta)
    }

    /// `path` as the merged view of the layers below shows it: the nearest layer that has it,
    /// unless a nearer one hides it (a whiteout at it or above it, any non-directory above it,
    /// an opaque directory above it). Returns its directory in that layer and its stat; a
    /// whiteout is nothing.
    pub(super) fn visible_in_lower(
        &mut self,
        path: &str,
    ) -> io::Result<Option<(std::os::fd::OwnedFd, rustix::fs::Stat)>> {
        let dir = parent(path);
        for i in 0..self.lower_layers.len() {
            let lower = self.lower_layers.get(i)?;
            if path.is_empty() {
                // The root: every layer has it; the nearest one's is the one shown.
                let fd = lower.open_dir_strict("")?;
                let st = rustix::fs::fstat(&fd)?;
                return Ok(Some((fd, st)));
            }
            let mut opaque_above = false;
            // Walk the path's parents in this layer, from the root down.
            let mut fd = lower.open_dir_strict("")?;
            let mut missing = false;
            for part in dir.split('/').filter(|p| !p.is_empty()) {
                let st = match Root::lstat(&fd, part) {
                    Ok(st) => st,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        missing = true;
                        break;
                    }
                    Err(e) => return Err(e),
                };
                if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
                    // A whiteout, file or symlink above the path hides it here and below.
                    return Ok(None);
                }
                fd = Root::open_subdir(&fd, part)?;
                if let Some(xattr) = self.opaque_xattr {
                    let mut value = [0u8; 1];
                    if rustix::fs::fgetxattr(&fd, xattr, &mut value)
                        .is_ok_and(|n| n == 1 && value[0] == b'y')
                    {
                        opaque_above = true;
                    }
                }
            }
            if !missing {
                match Root::lstat(&fd, file_name(path)) {
                    Ok(st) => {
                        let kind = FileType::from_raw_mode(st.st_mode);
                        let whiteout = kind == FileType::CharacterDevice && st.st_rdev == 0;
                        return Ok((!whiteout).then_some((fd, st)));
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            if opaque_above {
                return Ok(None);
            }
        }
        Ok(None)
    }
}

/// The refusal of a hardlink whose target the layers below do not show, worded as the
/// extraction words it.
fn no_target(target: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "refused: the hardlink's target `{}` is not a file of this or a lower layer",
            crate::render::escape_for_message(target, 200)
        ),
    )
}

/// Keys of paths (two keyed 64-bit hashes), so that telling whether a path lies below one of
/// the layer's whiteouts costs 16 bytes per whiteout, not its path.
#[derive(Default)]
pub(super) struct PathKeys {
    a: std::collections::hash_map::RandomState,
    b: std::collections::hash_map::RandomState,
}

impl PathKeys {
    pub(super) fn key(&self, path: &str) -> u128 {
        let (mut x, mut y) = (self.a.build_hasher(), self.b.build_hasher());
        x.write(path.as_bytes());
        y.write(path.as_bytes());
        combine(&x, &y)
    }

    /// Is the root or a directory above `path` (not `path` itself) in `set`? One pass over
    /// the path, whatever its depth.
    pub(super) fn any_ancestor_in(&self, path: &str, set: &HashSet<u128>) -> bool {
        if set.is_empty() {
            return false;
        }
        let (mut x, mut y) = (self.a.build_hasher(), self.b.build_hasher());
        if set.contains(&combine(&x, &y)) {
            return true;
        }
        let bytes = path.as_bytes();
        let mut done = 0;
        for (i, &c) in bytes.iter().enumerate() {
            if c == b'/' {
                x.write(&bytes[done..i]);
                y.write(&bytes[done..i]);
                done = i;
                if set.contains(&combine(&x, &y)) {
                    return true;
                }
            }
        }
        false
    }
}

fn combine(x: &impl Hasher, y: &impl Hasher) -> u128 {
    (u128::from(x.finish()) << 64) | u128::from(y.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_are_found_by_key_at_any_depth() {
        let keys = PathKeys::default();
        let set: HashSet<u128> = ["a/b", "x"].iter().map(|p| keys.key(p)).collect();
        assert!(keys.any_ancestor_in("a/b/c", &set));
        assert!(keys.any_ancestor_in("a/b/c/d/e", &set));
        assert!(keys.any_ancestor_in("x/y", &set));
        assert!(!keys.any_ancestor_in("a/b", &set), "not the path itself");
        assert!(!keys.any_ancestor_in("a/bc/d", &set));
        assert!(!keys.any_ancestor_in("a", &set));
        let root: HashSet<u128> = [keys.key("")].into_iter().collect();
        assert!(keys.any_ancestor_in("anything", &root));
    }
}

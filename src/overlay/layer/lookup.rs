//! Looking paths up in the unpacked layers below, as overlayfs does: nearest layer first, a
//! whiteout (0/0 character device), a non-directory above the path or an opaque directory
//! above it hiding what lies further down.

use std::collections::{HashMap, HashSet};
use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::{FileType, Stat};

use super::OverlayForm;
use crate::extract::dir_sink::{conflict, Tree};
use crate::extract::fs::{Meta, Root};
use crate::extract::link_target::{self, resolve, AtLayer};
use crate::extract::rules::{file_name, parent};

/// Directories whose "merged or not" answer is remembered; past this the memory starts over.
const MAX_CACHED_DIRS: usize = 1 << 20;
/// Names of one lower directory kept as keys; past this every whiteout there is placed.
const MAX_NAMES: usize = 1 << 20;

impl OverlayForm {
    /// Keys of the names in directory `dir` of the layers below, down to the first that hides
    /// the rest (opaque, or not a directory there); None past [`MAX_NAMES`].
    pub(super) fn lower_names(&mut self, dir: &str) -> io::Result<Option<HashSet<u128>>> {
        let mut names = HashSet::new();
        for i in 0..self.lowers.len() {
            let lower = self.lowers.get(i)?;
            let fd = match lower.open_dir_strict(dir) {
                Ok(fd) => fd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => break,
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
            if rustix::fs::fgetxattr(&fd, self.opaque_xattr, &mut [0u8; 1]).is_ok() {
                break;
            }
        }
        Ok(Some(names))
    }

    /// Whether the layers below show a directory at `dir` (then a directory of this layer
    /// there is merged with it). Remembered per directory.
    pub(super) fn lower_is_dir(
        &mut self,
        dir: &str,
        cache: &mut HashMap<u128, bool>,
    ) -> io::Result<bool> {
        if self.lowers.is_empty() {
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
        for i in 0..self.lowers.len() {
            let lower = self.lowers.get(i)?;
            let parent_fd = match lower.open_dir_strict(parent(dir)) {
                Ok(fd) => fd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                // A symlink or non-directory above it in this layer hides the rest.
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => {
                    return Ok(false)
                }
                Err(e) => return Err(e),
            };
            match Root::lstat(&parent_fd, file_name(dir)) {
                Ok(st) => return Ok(FileType::from_raw_mode(st.st_mode) == FileType::Directory),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            let mut value = [0u8; 1];
            if rustix::fs::fgetxattr(&parent_fd, self.opaque_xattr, &mut value).is_ok() {
                return Ok(false);
            }
        }
        Ok(false)
    }

    /// Owner, mode and mtime of directory `path` in the nearest lower layer that has it.
    pub(super) fn lower_dir_meta(&mut self, path: &str) -> Option<Meta> {
        let (_, st) = self.visible_in_lower(path).ok()??;
        (FileType::from_raw_mode(st.st_mode) == FileType::Directory).then(|| Meta::of_stat(&st))
    }

    /// Copies `target` as the nearest lower layer has it (stopping at an overlay whiteout).
    pub(super) fn copy_from_lower(
        &mut self,
        tree: &mut Tree,
        dir: &OwnedFd,
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
                return Root::symlink(dir, name, &link).map_err(conflict);
            }
            _ => return Err(no_target(target)),
        }
        let mut src = Root::open_read(&parent_fd, file_name(target))?;
        let mut dst = Root::create_file(dir, name).map_err(conflict)?;
        tree.space().expect(&dst, st.st_size as u64)?;
        tree.space().charge(&dst, st.st_size as u64)?;
        io::copy(&mut src, &mut dst)?;
        let meta = Meta {
            xattrs: Root::xattrs_of(&src)?,
            ..Meta::of_stat(&st)
        };
        tree.set_meta_fd(&dst, &meta)
    }

    /// `path` as the merged view of the layers below shows it: the nearest layer that has it,
    /// unless a nearer one hides it (a whiteout at it or above it, any non-directory above it,
    /// an opaque directory above it). Returns its directory in that layer and its stat; a
    /// whiteout is nothing.
    pub(super) fn visible_in_lower(&mut self, path: &str) -> io::Result<Option<(OwnedFd, Stat)>> {
        let (lowers, opaque_xattr) = (&mut self.lowers, self.opaque_xattr);
        resolve(lowers.len(), path, |i, path| {
            look_in(&*lowers.get(i)?, path, opaque_xattr)
        })
    }
}

/// What one lower layer shows at `path`, walking its parents from the root down without
/// following symlinks.
fn look_in(lower: &Root, path: &str, opaque_xattr: &str) -> io::Result<AtLayer<(OwnedFd, Stat)>> {
    if path.is_empty() {
        // The root: every layer has it; the nearest one's is the one shown.
        let fd = lower.open_dir_strict("")?;
        let st = rustix::fs::fstat(&fd)?;
        return Ok(AtLayer::Found((fd, st)));
    }
    // Not here, below an opaque directory of this layer: hidden further down.
    let mut absent = AtLayer::Absent;
    let mut fd = lower.open_dir_strict("")?;
    for part in parent(path).split('/').filter(|p| !p.is_empty()) {
        let st = match Root::lstat(&fd, part) {
            Ok(st) => st,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(absent),
            Err(e) => return Err(e),
        };
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            // A whiteout, file or symlink above the path hides it here and below.
            return Ok(AtLayer::Gone);
        }
        fd = Root::open_subdir(&fd, part)?;
        let mut value = [0u8; 1];
        if rustix::fs::fgetxattr(&fd, opaque_xattr, &mut value)
            .is_ok_and(|n| n == 1 && value[0] == b'y')
        {
            absent = AtLayer::Gone;
        }
    }
    match Root::lstat(&fd, file_name(path)) {
        Ok(st) => {
            let kind = FileType::from_raw_mode(st.st_mode);
            let whiteout = kind == FileType::CharacterDevice && st.st_rdev == 0;
            Ok(if whiteout {
                AtLayer::Gone
            } else {
                AtLayer::Found((fd, st))
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(absent),
        Err(e) => Err(e),
    }
}

/// The refusal of a hardlink whose target the layers below do not show, worded as the
/// extraction words it.
pub(super) fn no_target(target: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, link_target::no_target(target))
}

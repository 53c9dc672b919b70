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
use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::FileType;

use super::lookup::no_target;
use super::{Deferred, Lowers, OverlayForm, WHITEOUTS};
use crate::extract::dir_sink::Tree;
use crate::extract::fs::{Meta, Root};
use crate::extract::merge::Special;
use crate::extract::rules::{file_name, parent};

/// Whiteouts in a row in one directory before its lower names are read (see `may_hide`).
const RUN_BEFORE_NAMES: usize = 64;

/// Where `settle_whiteouts` is: the parent of the previous whiteout (a layer lists a
/// directory's whiteouts together), and the whiteouts so far in that directory with, once they
/// are many, the names its lower directories hold (a whiteout of a name none of them has is not
/// made at all).
#[derive(Default)]
struct Walk {
    last: Option<(String, Option<OwnedFd>)>,
    run: (usize, Option<HashSet<u128>>),
    merged: HashMap<u128, bool>,
}

impl OverlayForm {
    /// See [`super::LayerSink::complete`].
    pub(super) fn complete(&mut self, tree: &mut Tree, lowers: Lowers) -> io::Result<()> {
        self.lowers = lowers;
        self.defer_lower = false;
        let mut deferred = std::mem::take(&mut self.deferred);
        self.implicit_dirs_meta(tree, &mut deferred)?;
        // Links next: they are the layer's own entries, which its whiteouts must see.
        for (path, target) in std::mem::take(&mut deferred.links) {
            // The layer's own whiteouts and opaque markers act first: a link to what they
            // delete has nothing to link to, as in an in-order extraction.
            if deferred.marked.contains(&self.keys.key(&target))
                || self.keys.any_ancestor_in(&target, &deferred.marked)
            {
                return Err(no_target(&target));
            }
            let (dir, name) = tree.parent_of(self, &path)?;
            self.copy_from_lower(tree, &dir, name, &target)?;
        }
        self.settle_whiteouts(tree, &mut deferred)?;
        self.lowers.release();
        if deferred.finish_called {
            self.finish_all(tree)?;
        }
        Ok(())
    }

    /// Parents first: one that a lower layer has as a symlink (or a file) means the layer
    /// writes through (or below) it, and then nothing of this pass is kept. Below an opaque
    /// directory (a marker, or a whiteout the layer replaced by a directory) the lower
    /// layers' directories are hidden: a parent the layer left out there is new, with the
    /// default metadata it already has.
    fn implicit_dirs_meta(&mut self, tree: &mut Tree, deferred: &mut Deferred) -> io::Result<()> {
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
                    return Err(self.again_through(deferred, path)?);
                }
            }
            if let Some(meta) = self.lower_dir_meta(path) {
                tree.set_dir_meta(path.clone(), meta);
            }
        }
        Ok(())
    }

    /// The layer goes through the lower layers again (see `through.rs`), past `path`: its
    /// marks go back for that pass, but for the opaque markers of directories it only implies
    /// where the layers below have no directory, which that pass leaves out.
    fn again_through(&mut self, deferred: &mut Deferred, path: String) -> io::Result<io::Error> {
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
    pub(super) fn settle_whiteouts(
        &mut self,
        tree: &mut Tree,
        deferred: &mut Deferred,
    ) -> io::Result<()> {
        let mut whiteouts = std::mem::take(&mut deferred.whiteouts).read_back()?;
        let mut walk = Walk::default();
        while let Some(path) = whiteouts.next_path()? {
            if self.keys.any_ancestor_in(&path, &deferred.marked) {
                continue;
            }
            let dir = parent(&path);
            if !matches!(&walk.last, Some((p, _)) if p == dir) {
                let fd = match tree.root().open_dir_strict(dir) {
                    Ok(fd) => Some(fd),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        // Below a lower symlink the marker is refused, by the pass through it.
                        if let Some(link) = self.symlink_on(tree, dir, &deferred.marked)? {
                            return Err(self.again_through(deferred, link)?);
                        }
                        None
                    }
                    Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => {
                        continue
                    }
                    Err(e) => return Err(e),
                };
                walk.last = Some((dir.to_string(), fd));
                walk.run = (0, None);
            }
            self.settle_one(tree, deferred, &path, &mut walk)?;
        }
        Ok(())
    }

    /// One whiteout at `path`, in the directory `walk` has open (see `settle_whiteouts`).
    fn settle_one(
        &mut self,
        tree: &mut Tree,
        deferred: &mut Deferred,
        path: &str,
        walk: &mut Walk,
    ) -> io::Result<()> {
        let dir = parent(path);
        let parent_fd = walk.last.as_ref().and_then(|(_, fd)| fd.as_ref());
        let here = parent_fd
            .and_then(|d| Root::lstat(d, file_name(path)).ok())
            .map(|st| FileType::from_raw_mode(st.st_mode));
        match here {
            Some(FileType::Directory) => {
                if deferred.implicit_dirs.remove(path) {
                    let meta = Meta {
                        mode: 0o755,
                        ..Meta::default()
                    };
                    tree.set_dir_meta(path.to_string(), meta);
                }
                tree.keep(16, WHITEOUTS)?;
                self.opaque_dirs.push(tree.root().fd(), path)?;
            }
            Some(_) => {}
            None if !self.lower_is_dir(dir, &mut walk.merged)? => {}
            None if !self.may_hide(dir, file_name(path), &mut walk.run)? => {}
            // Nothing stands there: the device is made as root:root (or the user's, when
            // rootless, as the image's owners are then), mode 0, mtime 0.
            None => match parent_fd {
                Some(fd) => {
                    let name = file_name(path);
                    Root::mknod(fd, name, FileType::CharacterDevice, 0, 0)?;
                    Root::set_meta_at(fd, name, &Meta::default(), false, false)?;
                }
                None => {
                    // Its parents are made, with the lower layers' metadata.
                    tree.special(self, path, Special::Char(0, 0), &Meta::default(), true)?;
                    walk.last = None;
                    walk.run = (0, None);
                }
            },
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
        if run.0 == self.lowers.len().max(RUN_BEFORE_NAMES) {
            run.1 = self.lower_names(dir)?;
        }
        Ok(match &run.1 {
            Some(names) => names.contains(&self.keys.key(name)),
            None => true,
        })
    }
}

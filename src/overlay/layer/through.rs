//! One layer of the overlay layer store written through the symlinks of the layers below it.
//!
//! A layer that puts `s/passwd` below a lower layer's symlink `s -> /etc` means `etc/passwd`:
//! applied in order (as `strata extract`, umoci and docker's naive applier do), the write
//! follows the symlink, resolved inside the image. An overlayfs layer holding a directory `s`
//! would hide the symlink instead, so such a layer is unpacked again with every entry's parent
//! resolved through the merged view of the layer's own directory over the lower layers, and the
//! entry is written at the path that gives, inside the layer's directory. The layer store is
//! keyed by chainID, so a layer directory that depends on the layers below it is still shared
//! only by images with the same lower layers.

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::io;

use rustix::fs::FileType;

use super::{Lowers, OverlayForm};
use crate::extract::dir_sink::{MarkerThroughSymlink, Tree};
use crate::extract::fs::Root;
use crate::extract::rules::{file_name, parent};

/// Symlinks followed in one path before giving up, as Linux does (`ELOOP`).
const MAX_SYMLINKS: usize = 40;

/// What the merged view shows at a path whose parent is a real directory in it.
enum Seen {
    Missing,
    Dir,
    Symlink(String),
    Other,
}

/// The layer's whiteouts and opaque markers, found by the pass that showed that the layer
/// writes through a lower symlink: the in-order application carries them out before any of
/// the layer's entries, so the second pass must know them all from its first entry.
pub struct LayerMarks {
    keys: crate::extract::path_key::PathKeys,
    marked: HashSet<u128>,
    whited: HashSet<u128>,
    void: HashSet<u128>,
}

/// The completion found the layer writing below a symlink of a lower layer: the layer must be
/// unpacked again with [`super::LayerSink::through_lowers`].
#[derive(Debug, thiserror::Error)]
#[error(
    "refused: the layer writes below `{}`, a symlink of a lower layer, which overlayfs cannot show as the image means it (`strata extract` applies it in order)",
    crate::rawname::escape_for_message(.0, 200)
)]
pub struct WritesThroughLower(pub String);

/// Whether completing a layer stopped on [`WritesThroughLower`].
pub fn writes_through_lower(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.is::<WritesThroughLower>())
}

impl OverlayForm {
    /// What the layer's first pass learnt of its whiteouts and opaque markers.
    pub(super) fn into_marks(mut self) -> LayerMarks {
        LayerMarks {
            keys: std::mem::take(&mut self.keys),
            marked: std::mem::take(&mut self.deferred.marked),
            whited: std::mem::take(&mut self.deferred.whited),
            void: std::mem::take(&mut self.deferred.void),
        }
    }

    /// From now on, entries are written where the merged view of this layer over `lowers`
    /// (nearest first) resolves their parent (see the module doc).
    pub(super) fn through_lowers(&mut self, lowers: Lowers, marks: LayerMarks) {
        self.lowers = lowers;
        self.keys = marks.keys;
        self.deferred.marked = marks.marked;
        self.deferred.whited = marks.whited;
        self.deferred.void = marks.void;
        self.through = Some(None);
    }

    /// `path` with its parent resolved through the merged view when the sink writes through
    /// lower symlinks; `path` itself otherwise.
    pub(super) fn real_in<'p>(&mut self, tree: &Tree, path: &'p str) -> io::Result<Cow<'p, str>> {
        let Some(cached) = &self.through else {
            return Ok(Cow::Borrowed(path));
        };
        let dir = parent(path);
        let real_dir = match cached {
            Some((d, real)) if d == dir => real.clone(),
            _ => {
                let real = self.resolve_dir(tree, dir)?;
                self.through = Some(Some((dir.to_string(), real.clone())));
                real
            }
        };
        Ok(Cow::Owned(if real_dir.is_empty() {
            file_name(path).to_string()
        } else {
            format!("{real_dir}/{}", file_name(path))
        }))
    }

    /// Resolves directory `dir` the way the kernel resolves it inside a root
    /// (`RESOLVE_IN_ROOT`): symlinks followed, absolute ones from the image root, `..`
    /// stopping at the root; missing components stay as named (they are created later).
    fn resolve_dir(&mut self, tree: &Tree, dir: &str) -> io::Result<String> {
        let mut pending: VecDeque<String> = dir.split('/').map(str::to_string).collect();
        let mut real: Vec<String> = Vec::new();
        let mut hops = 0;
        // Below a missing component nothing exists, so nothing is looked up.
        let mut missing = false;
        while let Some(part) = pending.pop_front() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    real.pop();
                    missing = false;
                    continue;
                }
                _ => {}
            }
            real.push(part);
            if missing {
                continue;
            }
            match self.seen(tree, &real.join("/"))? {
                Seen::Dir => {}
                Seen::Missing => missing = true,
                Seen::Other => return Err(rustix::io::Errno::NOTDIR.into()),
                Seen::Symlink(target) => {
                    real.pop();
                    hops += 1;
                    if hops > MAX_SYMLINKS {
                        return Err(rustix::io::Errno::LOOP.into());
                    }
                    if target.starts_with('/') {
                        real.clear();
                    }
                    for (i, t) in target.split('/').enumerate() {
                        pending.insert(i, t.to_string());
                    }
                }
            }
        }
        Ok(real.join("/"))
    }

    /// Refuses a whiteout or opaque marker in directory `dir` when `dir` lies below (or is)
    /// a symlink of the lower layers, as `strata extract` refuses it applied in order (see
    /// `Tree::marked_dir` in the extraction).
    pub(super) fn refuse_marker_through(&mut self, tree: &Tree, dir: &str) -> io::Result<()> {
        let marked = std::mem::take(&mut self.deferred.marked);
        let found = self.symlink_on(tree, dir, &marked);
        self.deferred.marked = marked;
        match found? {
            Some(link) => Err(io::Error::other(MarkerThroughSymlink(link))),
            None => Ok(()),
        }
    }

    /// The first symlink of the lower layers on the way to directory `dir` in the merged view
    /// of the layer's directory over them (with the layer's `marked` paths deleted), if the
    /// way reaches one before a missing path or a file. The layer's own symlinks do not count:
    /// its markers act on the layers below only.
    pub(super) fn symlink_on(
        &mut self,
        tree: &Tree,
        dir: &str,
        marked: &HashSet<u128>,
    ) -> io::Result<Option<String>> {
        let ends = dir.match_indices('/').map(|(i, _)| i);
        for end in ends.chain(std::iter::once(dir.len())) {
            let prefix = &dir[..end];
            if prefix.is_empty() {
                continue;
            }
            let name = file_name(prefix);
            let own = match tree.root().open_dir_strict(parent(prefix)) {
                Ok(fd) => match Root::lstat(&fd, name) {
                    Ok(st) => Some(FileType::from_raw_mode(st.st_mode)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                    Err(e) => return Err(e),
                },
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            match own {
                Some(FileType::Directory) => continue,
                Some(_) => return Ok(None),
                None => {}
            }
            if marked.contains(&self.keys.key(prefix)) || self.keys.any_ancestor_in(prefix, marked)
            {
                return Ok(None);
            }
            match self.visible_in_lower(prefix)? {
                Some((_, st)) => match FileType::from_raw_mode(st.st_mode) {
                    FileType::Directory => {}
                    FileType::Symlink => return Ok(Some(prefix.to_string())),
                    _ => return Ok(None),
                },
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// `path` in the merged view: this layer's directory first, then, unless the layer's own
    /// whiteouts or opaque markers delete it, what the lower layers show.
    fn seen(&mut self, tree: &Tree, path: &str) -> io::Result<Seen> {
        let marked = std::mem::take(&mut self.deferred.marked);
        let seen = self.seen_with(tree, path, &marked);
        self.deferred.marked = marked;
        seen
    }

    fn seen_with(&mut self, tree: &Tree, path: &str, marked: &HashSet<u128>) -> io::Result<Seen> {
        let name = file_name(path);
        match tree.root().open_dir_strict(parent(path)) {
            Ok(fd) => match Root::lstat(&fd, name) {
                Ok(st) => return seen_as(st.st_mode, || Root::read_link(&fd, name)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if marked.contains(&self.keys.key(path)) || self.keys.any_ancestor_in(path, marked) {
            return Ok(Seen::Missing);
        }
        match self.visible_in_lower(path)? {
            Some((fd, st)) => seen_as(st.st_mode, || Root::read_link(&fd, name)),
            None => Ok(Seen::Missing),
        }
    }
}

fn seen_as(mode: u32, target: impl FnOnce() -> io::Result<Vec<u8>>) -> io::Result<Seen> {
    Ok(match FileType::from_raw_mode(mode) {
        FileType::Directory => Seen::Dir,
        FileType::Symlink => Seen::Symlink(crate::rawname::from_bytes(&target()?).into_owned()),
        _ => Seen::Other,
    })
}

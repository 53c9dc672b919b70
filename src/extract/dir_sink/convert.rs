//! What one way of writing layers adds to the plain tree a [`super::DirSink`] writes, the way
//! containerd hands its one `applyNaive` a whiteout converter: the sink writes entries, makes
//! parents, replaces what stands in the way and settles directory metadata; a [`Converter`] says
//! how whiteouts and opaque markers are kept, what a parent the layer left out looks like, where
//! the target of a hardlink that is not in the tree comes from, and when the tree is done.
//!
//! [`Merged`] is `strata extract`'s: the merged tree, where whiteouts were carried out as
//! deletions (see `markers.rs`) and every hardlink's target is in the tree. The overlay layer
//! store brings its own (`crate::overlay::layer`).

use std::borrow::Cow;
use std::io;
use std::os::fd::OwnedFd;

use super::Tree;
use crate::extract::engine::Decision;
use crate::extract::fs::Meta;

/// A hardlink at `path` (`name` in the directory `dir`) to `target`, which the tree lacks.
pub struct MissingLink<'a> {
    pub dir: &'a OwnedFd,
    pub name: &'a str,
    pub path: &'a str,
    pub target: &'a str,
}

pub trait Converter {
    /// The path an entry is written at: `path`, unless the converter resolves its parent some
    /// other way (a layer written through the symlinks of the layers below it).
    fn real<'p>(&mut self, _tree: &Tree, path: &'p str) -> io::Result<Cow<'p, str>> {
        Ok(Cow::Borrowed(path))
    }

    /// Something was removed, or a directory or symlink written: where paths resolve may have
    /// changed.
    fn forget_resolved(&mut self) {}

    /// The metadata of a parent directory the layer left out, made at `path` (None: the
    /// spec's, 0755 root:root with a fixed mtime).
    fn implied_dir(&mut self, _path: &str) -> Option<Meta> {
        None
    }

    /// The layer's own directory entry now stands at `path`.
    fn dir_at(&mut self, _path: &str) {}

    /// A non-directory of the layer now stands at `path`; `was_dir` when it replaced a directory
    /// the sink had queued there.
    fn non_dir_at(&mut self, _path: &str, _was_dir: bool) {}

    /// Whether 0/0 character devices are this output's whiteouts: made without root too (the
    /// kernel allows that one device node to anybody), and one standing where the layer's own
    /// entry goes (a whiteout listed before the entry) is replaced by the entry.
    fn whiteout_devices(&self) -> bool {
        false
    }

    /// A hardlink whose target is not in the tree: None when the converter has nowhere else to
    /// find it (the link is then refused).
    fn missing_target(&mut self, _tree: &mut Tree, _link: MissingLink) -> Option<io::Result<()>> {
        None
    }

    /// Keeps a whiteout or an opaque marker ([`Decision::Whiteout`], [`Decision::MarkOpaque`]).
    fn mark(&mut self, _tree: &mut Tree, _decision: &Decision) -> io::Result<()> {
        Err(io::Error::other(
            "whiteouts and opaque markers are kept only in an overlay layer store",
        ))
    }

    /// Called by the sink's `finish`: whether the directory metadata is to be applied now
    /// (false: the converter has the tree finished later, see [`Tree::finish_now`]).
    fn finish(&mut self, _tree: &mut Tree) -> io::Result<bool> {
        Ok(true)
    }
}

/// The merged tree of `strata extract`: nothing to convert.
#[derive(Default)]
pub struct Merged;

impl Converter for Merged {}

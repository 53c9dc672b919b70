//! One layer of the store in overlayfs form: the converter the layer store gives the extraction's
//! [`DirSink`] (as containerd gives its one applier a whiteout converter). The sink writes the
//! layer's own entries; this keeps its whiteouts as 0/0 character devices and its opaque
//! directories marked with the opaque xattr, gives parents the layer left out the metadata of
//! the layers below, and takes the targets of hardlinks to lower-layer files from the lower
//! layers' directories. What needs the layers below waits until they are unpacked (see
//! `complete.rs`); a layer that writes through a lower symlink is written again where the
//! symlink leads (see `through.rs`).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io;

use crate::extract::dir_sink::{below_range, Converter, DirSink, MissingLink, Tree};
use crate::extract::engine::Decision;
use crate::extract::fs::{Meta, Root};
use crate::extract::spill::PathSpill;

mod complete;
mod lookup;
mod through;

use super::lowers::Lowers;
use crate::extract::path_key::PathKeys;
pub use through::{writes_through_lower, LayerMarks, WritesThroughLower};

const LINKS: &str = "hardlinks waiting for their target";
const WHITEOUTS: &str = "whiteouts and opaque markers";

/// A [`DirSink`] writing one layer of the store.
pub type LayerSink = DirSink<OverlayForm>;

/// For one layer of an overlay layer store: whiteouts as 0/0 devices, opaque directories
/// marked with `user.overlay.opaque` when `rootless` (else `trusted.overlay.opaque`), and what
/// needs the layers below left for [`LayerSink::complete`].
pub fn layer_sink(root: Root, rootless: bool) -> LayerSink {
    let mut form = OverlayForm {
        opaque_xattr: if rootless {
            "user.overlay.opaque"
        } else {
            "trusted.overlay.opaque"
        },
        opaque_dirs: PathSpill::new(WHITEOUTS),
        keys: PathKeys::default(),
        lowers: Lowers::default(),
        defer_lower: true,
        deferred: Deferred::default(),
        through: None,
    };
    // The root directory's metadata comes from the lower layers unless this layer has `./`.
    form.deferred.implicit_dirs.insert(String::new());
    DirSink::with(root, form)
}

pub struct OverlayForm {
    /// The xattr that marks a directory opaque (`trusted.overlay.opaque`, or
    /// `user.overlay.opaque` for rootless mounts). Set by strata itself, never copied from the
    /// image.
    opaque_xattr: &'static str,
    /// Directories to mark opaque at the end (kept on disk past a few MB: see [`PathSpill`]).
    opaque_dirs: PathSpill,
    /// Keys of the opaque markers and whiteouts of the layer.
    keys: PathKeys,
    /// The unpacked layers below this one, nearest first. A hardlink to a file of a lower layer
    /// cannot cross layer directories, so that file is linked (or copied) into this one.
    lowers: Lowers,
    /// Unpacking in parallel: what needs the lower layers is noted during the pass and done by
    /// [`LayerSink::complete`] once they are unpacked.
    defer_lower: bool,
    deferred: Deferred,
    /// Writing the layer through the symlinks of the layers below (see [`through`]): the last
    /// parent directory resolved, and where it led.
    through: Option<Option<(String, String)>>,
}

#[derive(Default)]
struct Deferred {
    /// The layer's whiteouts, settled once the whole layer is unpacked (on disk past a few MB).
    whiteouts: PathSpill,
    /// Keys of the whiteouts and opaque markers, to drop a whiteout below another one.
    marked: HashSet<u128>,
    /// Keys of the whiteouts alone: a parent the layer left out there was deleted first.
    whited: HashSet<u128>,
    /// Opaque markers of directories the layer only implies where the layers below have a
    /// symlink or a file: applied in order, they clear nothing (there is no directory), and
    /// the pass through the lower layers leaves them out (see `complete`).
    void: HashSet<u128>,
    /// Hardlinks to lower-layer files, made once the lower layers exist; a later entry of the
    /// layer at the same path removes its link (the last entry for a path wins).
    links: BTreeMap<String, String>,
    implicit_dirs: BTreeSet<String>,
    finish_called: bool,
}

impl Converter for OverlayForm {
    fn real<'p>(&mut self, tree: &Tree, path: &'p str) -> io::Result<Cow<'p, str>> {
        self.real_in(tree, path)
    }

    fn forget_resolved(&mut self) {
        if let Some(cached) = &mut self.through {
            *cached = None;
        }
    }

    /// A parent this layer leaves out keeps what the layers below have there: otherwise its
    /// default metadata would hide theirs in the overlay.
    fn implied_dir(&mut self, path: &str) -> Option<Meta> {
        let meta = self.lower_dir_meta(path);
        if self.defer_lower {
            self.deferred.implicit_dirs.insert(path.to_string());
        }
        meta
    }

    fn dir_at(&mut self, path: &str) {
        self.deferred.links.remove(path);
        self.deferred.implicit_dirs.remove(path);
    }

    fn non_dir_at(&mut self, path: &str, was_dir: bool) {
        self.deferred.links.remove(path);
        if was_dir {
            let below: Vec<String> = self
                .deferred
                .implicit_dirs
                .range(below_range(path))
                .cloned()
                .collect();
            for p in below {
                self.deferred.implicit_dirs.remove(&p);
            }
        }
    }

    fn whiteout_devices(&self) -> bool {
        true
    }

    fn missing_target(&mut self, tree: &mut Tree, link: MissingLink) -> Option<io::Result<()>> {
        let MissingLink {
            dir,
            name,
            path,
            target,
        } = link;
        if self.defer_lower {
            let deferred = tree.keep(path.len() + target.len(), LINKS).map(|()| {
                self.deferred
                    .links
                    .insert(path.to_string(), target.to_string());
            });
            return Some(deferred);
        }
        if self.lowers.is_empty() {
            return None;
        }
        Some(self.copy_from_lower(tree, dir, name, target))
    }

    fn mark(&mut self, tree: &mut Tree, decision: &Decision) -> io::Result<()> {
        match decision {
            Decision::Whiteout(path) => self.whiteout(tree, path),
            Decision::MarkOpaque(dir) => self.mark_opaque(tree, dir),
            _ => Ok(()),
        }
    }

    fn finish(&mut self, tree: &mut Tree) -> io::Result<bool> {
        if self.defer_lower {
            self.deferred.finish_called = true;
            return Ok(false);
        }
        let mut deferred = std::mem::take(&mut self.deferred);
        self.settle_whiteouts(tree, &mut deferred)?;
        self.finish_all(tree)?;
        Ok(false)
    }
}

impl LayerSink {
    /// Does what the pass left for when the lower layers exist (`lowers`, nearest first):
    /// links or copies lower-layer hardlink targets, settles whiteouts, gives omitted parents
    /// the lower layers' metadata, then the usual directory metadata.
    pub fn complete(&mut self, lowers: Lowers) -> io::Result<()> {
        let (tree, form) = self.parts();
        form.complete(tree, lowers)
    }

    /// What the layer's first pass learnt of its whiteouts and opaque markers.
    pub fn into_marks(self) -> LayerMarks {
        self.into_converter().into_marks()
    }

    /// From now on, entries are written where the merged view of this layer over `lowers`
    /// (nearest first) resolves their parent (see `through.rs`).
    pub fn through_lowers(&mut self, lowers: Lowers, marks: LayerMarks) {
        self.parts().1.through_lowers(lowers, marks);
    }
}

impl OverlayForm {
    /// An overlayfs whiteout of the layer, settled once the layer is done.
    fn whiteout(&mut self, tree: &mut Tree, path: &str) -> io::Result<()> {
        // What a whiteout becomes depends on the whole layer (its own entry at the path may
        // come before or after it) and on the layers below: see `settle_whiteouts`. Memory
        // keeps its key only; the path may go to disk.
        if self.through.is_some() {
            self.refuse_marker_through(tree, crate::extract::rules::parent(path))?;
        }
        tree.keep(16, WHITEOUTS)?;
        let key = self.keys.key(path);
        self.deferred.marked.insert(key);
        self.deferred.whited.insert(key);
        self.deferred.whiteouts.push(tree.root().fd(), path)
    }

    /// Marks `dir` opaque for overlayfs, once the layer is done.
    fn mark_opaque(&mut self, tree: &mut Tree, dir: &str) -> io::Result<()> {
        if self.through.is_some() {
            self.refuse_marker_through(tree, crate::extract::rules::parent(dir))?;
            if self.deferred.void.contains(&self.keys.key(dir)) {
                return Ok(());
            }
        }
        // The directory may come later in the layer, or not at all: make sure it exists, made
        // as a parent the layer left out (it keeps the lower directory's metadata).
        tree.dir_making_parents(self, dir)?;
        tree.keep(16, WHITEOUTS)?;
        self.deferred.marked.insert(self.keys.key(dir));
        self.opaque_dirs.push(tree.root().fd(), dir)
    }

    /// The directory metadata, then the opaque marks.
    fn finish_all(&mut self, tree: &mut Tree) -> io::Result<()> {
        tree.finish_now()?;
        let mut dirs = std::mem::take(&mut self.opaque_dirs).read_back()?;
        while let Some(dir) = dirs.next_path()? {
            let fd = tree.root().open_dir_nofollow(&dir)?;
            rustix::fs::fsetxattr(
                &fd,
                self.opaque_xattr,
                b"y",
                rustix::fs::XattrFlags::empty(),
            )?;
        }
        Ok(())
    }
}

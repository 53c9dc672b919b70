//! The rule engine: what each entry of a layer does to the tree below it — write (a new path,
//! or over what stands there), hide (an upper layer decided the path), delete, make opaque,
//! hardlink to what — or why the image is refused. It is the one place that knows how the
//! three ways of applying layers differ ([`Order`]); the appliers (the top-down and in-order
//! extraction, the overlay layer unpack, all in `merge.rs`) read entries, ask, and carry the
//! [`Decision`] out on their sink.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::budget::{Budget, OverLimit, MAX_TRACKED_PATHS};
use super::merge::Special;
use super::rules::{clean_path, is_aufs_meta, parent, BadName, Settled, TopDown, Verdict};
use crate::entries::bad_name;

use crate::error::Problem;

/// How layers are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// From the top down, each surviving path written once (the fast way).
    TopDown,
    /// In order, deleting what whiteouts name: only for a directory sink, and only needed when
    /// an image writes through a symlink a lower layer made (see
    /// [`super::dir_sink::is_conflict`]).
    InOrder,
    /// One layer on its own, for an overlayfs layer store: whiteouts become overlayfs
    /// whiteouts (0/0 character devices) and opaque markers the opaque xattr, instead of
    /// deleting anything.
    OverlayLayer(usize),
}

/// What an applier does with one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Write the entry; with `replace`, whatever an earlier entry left at the path goes first.
    Write { replace: bool },
    /// An upper layer decided the path or hid it: nothing is written, but `implied`, a parent
    /// directory the entry made that nothing above hides, is made.
    Hide { implied: Option<String> },
    /// In order, before any entry of the layer: delete the path and what lies below it.
    Delete(String),
    /// In order, before any entry of the layer: delete everything below the directory.
    Clear(String),
    /// An overlayfs whiteout at the path.
    Whiteout(String),
    /// The overlayfs opaque mark on the directory.
    MarkOpaque(String),
    /// Nothing to carry out.
    Nothing,
}

/// What a hardlink entry does, once the entry itself is to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Link now to this path, which already holds the target's final content.
    Now(String),
    /// The target's content is settled once every layer is read ([`Engine::finish_links`]).
    Later,
    /// A second name of a device node `--no-devices` left out: left out with it.
    LeftOut,
}

/// A hardlink whose target is settled at the end.
pub struct PendingLink {
    pub path: String,
    pub target: String,
    pub layer: usize,
    /// Which entry of its layer the link is: in its own layer, only what comes before it counts.
    pub position: usize,
    pub replace: bool,
}

/// A hardlink made on the spot from the top down: a second name of the entry its target had at
/// the link's place in their layer (following links made on the spot to their first target).
/// A link waiting for an older version of a target may find that same entry; the two are then
/// one file ([`super::old_targets`] joins them).
pub struct MadeLink {
    pub path: String,
    pub target: String,
    pub layer: usize,
    /// The entry of the layer before which the target's entry is the one linked.
    pub as_of: usize,
}

/// Why a 0/0 character device entry is refused: no device has those numbers, and the one
/// meaning it has is overlayfs' whiteout, so what the image shows depends on the runtime.
pub const WHITEOUT_DEVICE: &str = "refused: a 0/0 character device is what overlayfs takes for a whiteout (Docker and containerd on overlayfs hide it and what lies below it, other runtimes show a device), so the image means different trees to different runtimes";

pub struct Engine {
    order: Order,
    /// What the layers seen so far decided (in order: nothing, each entry simply replaces).
    state: TopDown,
    layer: usize,
    /// Overlay layer: directories the layer first made non-directories.
    retyped_dirs: Vec<String>,
    /// Hardlinks whose target is settled later; a later entry of the link's own layer at the
    /// link's path voids it (`pending_at` finds it).
    pending: Vec<Option<PendingLink>>,
    pending_at: HashMap<String, usize>,
    /// From the top down, the links made on the spot that still stand, by path.
    made: BTreeMap<String, (String, usize, usize)>,
    link_budget: Budget,
    /// With `--no-devices`: the device nodes left out and the links to them, so that links to
    /// either are left out too.
    left_out: HashSet<String>,
    skipped_devices: usize,
}

impl Engine {
    pub fn new(order: Order) -> Engine {
        Engine {
            order,
            state: TopDown::new(),
            layer: 0,
            retyped_dirs: Vec::new(),
            pending: Vec::new(),
            pending_at: HashMap::new(),
            made: BTreeMap::new(),
            link_budget: Budget::default(),
            left_out: HashSet::new(),
            skipped_devices: 0,
        }
    }

    pub fn order(&self) -> Order {
        self.order
    }

    /// The key of the path of the last content entry decided (none in order, where nothing
    /// is decided).
    pub fn decided_key(&self) -> Option<u128> {
        match self.order {
            Order::InOrder => None,
            _ => self.state.decided_key(),
        }
    }

    /// The layers of `0..=top` to read, in the order they are applied.
    pub fn layers(&self, top: usize) -> Vec<usize> {
        match self.order {
            Order::TopDown => (0..=top).rev().collect(),
            Order::InOrder => (0..=top).collect(),
            Order::OverlayLayer(i) => vec![i],
        }
    }

    /// Layer `index` comes next.
    pub fn next_layer(&mut self, index: usize) {
        self.state.next_layer();
        self.layer = index;
    }

    /// Whether a layer's whiteouts and opaque markers are carried out in a pass of their own
    /// before its entries ([`Engine::first_pass`]). In order they act on the layers below only,
    /// wherever they stand in the tar: carried out first, before any entry of the layer exists,
    /// they can delete nothing of it (and a write through a lower symlink they delete lands
    /// where the image means).
    pub fn deletes_first(&self) -> bool {
        self.order == Order::InOrder
    }

    /// A whiteout (`Some(path)`) or an opaque marker (`None`, `dir`) in that first pass.
    pub fn first_pass(&self, whiteout: Option<&str>, dir: &str) -> Result<Decision, Problem> {
        match whiteout {
            Some("") => Err(bad_name(BadName::WhiteoutOfRoot)),
            Some(p) => Ok(Decision::Delete(p.to_string())),
            None => Ok(Decision::Clear(dir.to_string())),
        }
    }

    /// A whiteout of `path` in the layer's own pass.
    pub fn whiteout(&mut self, path: &str) -> Result<Decision, Problem> {
        self.state.whiteout(path).map_err(bad_name)?;
        self.check_tracked()?;
        let Order::OverlayLayer(_) = self.order else {
            return Ok(Decision::Nothing);
        };
        // Below a path this layer made a non-directory, a whiteout has nothing left to hide
        // (the type change already replaced the old subtree). What it becomes next to the
        // layer's own entries (an opaque directory, or nothing beside a non-directory) the sink
        // settles once the layer is done.
        let under_non_dir =
            std::iter::successors(Some(parent(path)), |d| (!d.is_empty()).then(|| parent(d)))
                .any(|d| matches!(self.state.settled_by(d), Some((_, Settled::NonDir))));
        Ok(if under_non_dir {
            Decision::Nothing
        } else {
            Decision::Whiteout(path.to_string())
        })
    }

    /// An opaque marker of `dir` in the layer's own pass.
    pub fn opaque(&mut self, dir: &str) -> Result<Decision, Problem> {
        self.state.opaque(dir);
        self.check_tracked()?;
        Ok(match self.order {
            Order::OverlayLayer(_) => Decision::MarkOpaque(dir.to_string()),
            _ => Decision::Nothing,
        })
    }

    /// A content entry at `path`, a directory or not.
    pub fn content(&mut self, path: &str, is_dir: bool) -> Result<Decision, Problem> {
        let settled = if is_dir {
            Settled::Dir
        } else {
            Settled::NonDir
        };
        let verdict = match self.order {
            Order::TopDown => self.state.decide(path, self.layer, settled),
            Order::InOrder => Verdict::Replace,
            Order::OverlayLayer(_) => {
                // Only this layer is applied, so nothing is hidden: the state tells a
                // duplicate from a first entry and remembers which paths the layer made
                // non-directories. A directory over the layer's own non-directory hides
                // what the layers below have there, as an opaque one does.
                if is_dir && matches!(self.state.settled_by(path), Some((_, Settled::NonDir))) {
                    self.retyped_dirs.push(path.to_string());
                }
                match self.state.decide(path, self.layer, settled) {
                    Verdict::Write => Verdict::Write,
                    _ => Verdict::Replace,
                }
            }
        };
        if verdict == Verdict::WritesThrough {
            return Err(Problem::WritesThrough);
        }
        self.check_tracked()?;
        if verdict == Verdict::Skip {
            let implied = match self.order {
                Order::TopDown => self.state.surviving_parent(path, self.layer),
                _ => None,
            };
            return Ok(Decision::Hide { implied });
        }
        let replace = verdict == Verdict::Replace;
        if replace {
            if let Some(i) = self.pending_at.remove(path) {
                self.pending[i] = None;
            }
            // (A layer replacing a directory it filled goes in order: nothing below to drop.)
            self.made.remove(path);
        }
        Ok(Decision::Write { replace })
    }

    /// A symlink (or a hardlink, which may name one) at `path`. From the top down, one that
    /// upper layers' whiteouts or opaque markers lie below goes in order, which refuses them
    /// unless the layer of the marker hides the symlink itself (in order they would delete
    /// where it leads; in an overlayfs layer, nothing). Below a file they delete nothing
    /// either way. So does one that a layer above the marker's hides: the layer store unpacks
    /// the marker's layer on its own, on top of the symlink, and refuses it there.
    pub fn maybe_symlink(&mut self, path: &str) -> Result<Decision, Problem> {
        let decision = self.content(path, false)?;
        if self.order == Order::TopDown && self.state.marked_below(path) {
            return Err(Problem::WritesThrough);
        }
        Ok(decision)
    }

    /// A fifo or device node to be written at `path`: whether it is (`--no-devices` leaves
    /// devices out, and then links to them too).
    pub fn special(
        &mut self,
        path: &str,
        kind: Special,
        no_devices: bool,
    ) -> Result<bool, Problem> {
        if no_devices && matches!(kind, Special::Char(..) | Special::Block(..)) {
            self.left_out.insert(path.to_string());
            self.skipped_devices += 1;
            return Ok(false);
        }
        if let Special::Char(0, 0) = kind {
            return Err(Problem::BadContent {
                what: "device",
                detail: WHITEOUT_DEVICE.into(),
            });
        }
        Ok(true)
    }

    /// The cleaned target of a hardlink entry at `path`, refused when it cannot be one.
    pub fn link_target(&self, path: &str, raw: &[u8]) -> Result<String, Problem> {
        let target = clean_path(&crate::rawname::from_bytes(raw)).map_err(bad_name)?;
        // A link to itself or below itself removes its own target before linking to it (as
        // Docker's applier does, which then fails): no image means one.
        let below_itself = target
            .strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('/'));
        if target.is_empty() || target == path || below_itself {
            return Err(Problem::BadContent {
                what: "hardlink",
                detail: "the hardlink points at the root, at itself or below itself".into(),
            });
        }
        if is_aufs_meta(&target) {
            // docker's aufs driver kept hardlinked files in `.wh..wh.plnk/`; that bookkeeping
            // is never written, so the link would dangle.
            return Err(Problem::BadContent {
                what: "hardlink",
                detail: format!(
                    "refused: the hardlink's target `{}` is aufs metadata (`.wh..wh.*`), which is never extracted",
                    crate::rawname::escape_for_message(&target, 200)
                ),
            });
        }
        Ok(target)
    }

    /// Whether `path` is a device node `--no-devices` left out (a hardlink to it is left out
    /// with it).
    pub fn left_out(&self, path: &str) -> bool {
        self.left_out.contains(path)
    }

    /// A hardlink entry at `path` (the `position`th entry of its layer) to `target`, to be
    /// written (`replace`: over an earlier entry of its layer).
    pub fn link(
        &mut self,
        path: String,
        target: String,
        position: usize,
        replace: bool,
    ) -> Result<Link, Problem> {
        if self.left_out.contains(&target) {
            self.left_out.insert(path);
            return Ok(Link::LeftOut);
        }
        if self.order != Order::TopDown {
            return Ok(Link::Now(target));
        }
        // A link to a link of this layer that is itself waiting stands for the same file: it
        // waits too, for that link's target as of that link's place in the layer, and both end
        // up one inode.
        let waiting = self
            .pending_at
            .get(&target)
            .and_then(|&i| self.pending[i].as_ref())
            .filter(|l| l.layer == self.layer)
            .map(|l| (l.target.clone(), l.position));
        let (target, as_of) = match waiting {
            Some((t, p)) => (t, Some(p)),
            None => (target, None),
        };
        match self.state.settled_by(&target) {
            Some((by, Settled::NonDir)) if by == self.layer && as_of.is_none() => {
                let first = match self.made.get(&target) {
                    Some((first, layer, as_of)) if *layer == self.layer => (first.clone(), *as_of),
                    _ => (target.clone(), position),
                };
                self.link_budget
                    .take(path.len() + first.0.len(), "hardlinks")
                    .map_err(super::entry::problem_of)?;
                self.made.insert(path, (first.0, self.layer, first.1));
                Ok(Link::Now(target))
            }
            _ => {
                self.link_budget
                    .take(path.len() + target.len(), "hardlinks")
                    .map_err(super::entry::problem_of)?;
                self.pending_at.insert(path.clone(), self.pending.len());
                self.pending.push(Some(PendingLink {
                    path,
                    target,
                    layer: self.layer,
                    position: as_of.unwrap_or(position),
                    replace,
                }));
                Ok(Link::Later)
            }
        }
    }

    /// The links made on the spot that still stand (from the top down only).
    pub fn made_links(&mut self) -> Vec<MadeLink> {
        std::mem::take(&mut self.made)
            .into_iter()
            .map(|(path, (target, layer, as_of))| MadeLink {
                path,
                target,
                layer,
                as_of,
            })
            .collect()
    }

    /// Once the layer is read: the directories to mark opaque (an overlay layer that made a
    /// path a non-directory and then a directory again hides what the layers below had there).
    pub fn end_layer(&mut self) -> Vec<Decision> {
        let layer = self.layer;
        std::mem::take(&mut self.retyped_dirs)
            .into_iter()
            .filter(|d| self.state.settled_by(d) == Some((layer, Settled::Dir)))
            .map(Decision::MarkOpaque)
            .collect()
    }

    /// Once every layer is read: the waiting links whose target's final content is the one
    /// they need (it comes from a layer below the link's own; from the link's own layer it
    /// came after the link, as a link to an earlier entry was made on the spot), and the rest,
    /// whose content older versions of the layers hold.
    pub fn finish_links(&mut self) -> (Vec<PendingLink>, Vec<PendingLink>) {
        let mut ready = Vec::new();
        let mut unresolved = Vec::new();
        for link in std::mem::take(&mut self.pending).into_iter().flatten() {
            if self.left_out.contains(&link.target) {
                continue;
            }
            match self.state.settled_by(&link.target) {
                Some((by, Settled::NonDir)) if by < link.layer => ready.push(link),
                _ => unresolved.push(link),
            }
        }
        (ready, unresolved)
    }

    /// The layer whose non-directory entry is the one that survives at `path`, if one is.
    pub fn survivor(&self, path: &str) -> Option<usize> {
        match self.state.settled_by(path) {
            Some((by, Settled::NonDir)) => Some(by),
            _ => None,
        }
    }

    /// How many device nodes `--no-devices` left out.
    pub fn skipped_devices(&self) -> usize {
        self.skipped_devices
    }

    /// Refuses to remember more paths than [`MAX_TRACKED_PATHS`].
    fn check_tracked(&self) -> Result<(), Problem> {
        if self.state.tracked() > MAX_TRACKED_PATHS {
            return Err(Problem::OverLimit(OverLimit {
                what: "paths",
                limit: format!("{MAX_TRACKED_PATHS}"),
            }));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

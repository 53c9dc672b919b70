//! What an in-order extraction leaves, counted. Applied in order, a layer writes entries that a
//! later whiteout, opaque marker or replacement removes again (and `--force` writes over what
//! DEST already had), so counting the entries written would overstate the tree: a shadow of the
//! image's tree — the explore commands' in-memory tree, without contents — follows the same
//! entries, and the summary counts what survives in it.

use super::merge::Counts;
use crate::explore::apply::{Layering, Pending};
use crate::explore::node::{Data, Node, NodeType};

/// The shadow keeps no times: an mtime of 1 marks a node an entry made, 0 (a parent no entry
/// describes) one the tree implied, which the top-down merge does not count either.
const FROM_AN_ENTRY: u64 = 1;

pub struct Tally {
    layering: Layering,
    pending: Vec<Pending>,
    /// The shadow refused something the extraction did (it cannot happen with the same
    /// rules, but then the written counts stand rather than wrong ones).
    failed: bool,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            layering: Layering::new(false),
            pending: Vec::new(),
            failed: false,
        }
    }
}

impl Tally {
    pub fn whiteout(&mut self, path: &str) {
        self.pending.push(Pending::Whiteout(path.to_string()));
    }

    pub fn opaque(&mut self, dir: &str) {
        self.pending.push(Pending::Opaque(dir.to_string()));
    }

    /// A content entry the extraction wrote: its type, a regular file's size, a hardlink's
    /// target.
    pub fn content(&mut self, path: &str, kind: NodeType, size: u64, hardlink: Option<&str>) {
        let node = Node {
            kind,
            mtime: FROM_AN_ENTRY,
            data: (kind == NodeType::File).then_some(Data {
                layer: 0,
                position: 0,
                size,
            }),
            ..Node::implied_dir(0)
        };
        self.pending.push(Pending::Content {
            path: path.to_string(),
            node,
            hardlink: hardlink.map(str::to_string),
        });
    }

    pub fn end_layer(&mut self, layer: usize) {
        let pending = std::mem::take(&mut self.pending);
        if !self.failed && self.layering.apply(layer, pending).is_err() {
            self.failed = true;
        }
    }

    /// `counts` with the entries of the final tree instead of those written.
    pub fn into_counts(self, mut counts: Counts) -> Counts {
        if self.failed {
            return counts;
        }
        let (mut files, mut dirs, mut symlinks, mut hardlinks, mut specials, mut bytes) =
            (0, 0, 0, 0, 0, 0);
        for (path, node) in self.layering.tree.iter() {
            match node.kind {
                NodeType::File => {
                    files += 1;
                    bytes += node.size();
                }
                NodeType::Dir if !path.is_empty() && node.mtime == FROM_AN_ENTRY => dirs += 1,
                NodeType::Dir => {}
                NodeType::Symlink => symlinks += 1,
                NodeType::Hardlink => hardlinks += 1,
                NodeType::Char | NodeType::Block | NodeType::Fifo => specials += 1,
            }
        }
        counts.files = files;
        counts.dirs = dirs;
        counts.symlinks = symlinks;
        counts.hardlinks = hardlinks;
        counts.specials = specials;
        counts.bytes = bytes;
        counts
    }
}

/// What an entry added to the summary's counts.
#[derive(Debug, Clone, Copy)]
pub enum Counted {
    File(u64),
    Dir,
    Symlink,
    Hardlink,
    Special,
}

/// The top-down merge writes each surviving path once, except where an entry names a path an
/// earlier entry of the same layer wrote (the last one wins): what the earlier one added to the
/// counts is taken back. Remembers the current layer's paths only (16 bytes of key each).
#[derive(Default)]
pub struct Recount {
    seen: super::path_key::KeyMap<Counted>,
}

impl Recount {
    pub fn next_layer(&mut self) {
        self.seen.clear();
    }

    /// The path of `key` was just written as `what` (and already counted); with `replace` it
    /// replaced an earlier entry of this layer, whose share of the counts is removed.
    pub fn written(&mut self, counts: &mut Counts, key: u128, what: Counted, replace: bool) {
        if let (true, Some(before)) = (replace, self.seen.get(&key)) {
            match *before {
                Counted::File(bytes) => {
                    counts.files -= 1;
                    counts.bytes -= bytes;
                }
                Counted::Dir => counts.dirs -= 1,
                Counted::Symlink => counts.symlinks -= 1,
                Counted::Hardlink => counts.hardlinks -= 1,
                Counted::Special => counts.specials -= 1,
            }
        }
        self.seen.insert(key, what);
    }
}

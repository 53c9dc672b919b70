//! Applying one layer's entries to the merged tree, in order, the way an in-order extraction
//! does: the layer's whiteouts and opaque markers first (they act on the layers below only,
//! wherever they stand in the tar), then its content. A directory over a directory keeps what
//! is below it; anything else replaces the old path with its whole subtree. Parents a layer
//! leaves out are made; a write through a lower layer's symlink lands where the symlink leads,
//! inside the image. Optionally records what the layer changed, as `docker diff` and dive count
//! it: added, modified (the layer has an entry for a path that existed below, or deleted it and
//! made it again as a parent of its own entries) and deleted (every removed path, not only the
//! top of a removed subtree).

use std::collections::HashMap;

use super::node::{Node, NodeType};
use super::tree::{ResolveError, Tree};
use crate::extract::rules::{file_name, parent};

/// One entry of a layer, read and classified.
#[derive(Debug, Clone)]
pub enum Pending {
    Whiteout(String),
    Opaque(String),
    Content {
        path: String,
        node: Node,
        /// A hardlink's target path (clean, relative).
        hardlink: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

/// What a path was, on one side of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side {
    pub kind: NodeType,
    /// As [`Node::size`] counts it.
    pub size: u64,
}

impl Side {
    fn of(node: &Node) -> Side {
        Side {
            kind: node.kind,
            size: node.size(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
    pub before: Option<Side>,
    /// The path as the layer left it (absent for a deletion).
    pub after: Option<Side>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry `{path}`: {reason}")]
pub struct ApplyError {
    pub path: String,
    pub reason: String,
}

/// The tree being built, layer after layer.
pub struct Layering {
    pub tree: Tree,
    record: bool,
    /// Paths the layer in progress changed, with what they were before it and whether the
    /// layer has an entry for them.
    before: HashMap<String, Noted>,
}

/// What a path was before the layer in progress, and whether the layer has an entry for it.
struct Noted {
    old: Option<Node>,
    touched: bool,
}

impl Layering {
    /// With `record`, [`Layering::apply`] returns each layer's changes.
    pub fn new(record: bool) -> Layering {
        Layering {
            tree: Tree::new(),
            record,
            before: HashMap::new(),
        }
    }

    /// Applies layer `layer`'s entries; returns its changes sorted by path (none unless
    /// recording).
    pub fn apply(
        &mut self,
        layer: usize,
        entries: Vec<Pending>,
    ) -> Result<Vec<Change>, ApplyError> {
        for e in &entries {
            match e {
                Pending::Whiteout(p) => self.remove_subtree(p),
                Pending::Opaque(d) => self.remove_below(d),
                Pending::Content { .. } => {}
            }
        }
        for e in entries {
            if let Pending::Content {
                path,
                node,
                hardlink,
            } = e
            {
                self.content(path, node, hardlink.as_deref(), layer)
                    .map_err(|(path, reason)| ApplyError { path, reason })?;
            }
        }
        Ok(self.changes())
    }

    /// Applies one content entry at `path`; a failure comes back with the path.
    fn content(
        &mut self,
        path: String,
        node: Node,
        hardlink: Option<&str>,
        layer: usize,
    ) -> Result<(), (String, String)> {
        if path.is_empty() {
            if !node.is_dir() {
                return Err((path, "the root of the image is not a directory".into()));
            }
            self.place(path, node);
            return Ok(());
        }
        let real = match self.make_parents(&path, layer) {
            // The common case: the parent is a directory of the tree, the path lands as named.
            Ok(None) => None,
            Ok(Some(real)) => Some(real),
            Err(reason) => return Err((path, reason)),
        };
        if hardlink.is_none() {
            self.place(real.unwrap_or(path), node);
            return Ok(());
        }
        let real = real.unwrap_or_else(|| path.clone());
        match self.link(&real, node, hardlink) {
            Ok(Some(node)) => {
                self.place(real, node);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(reason) => Err((path, reason)),
        }
    }

    /// A hardlink's node, taking what it names; `None` for a link to itself, which changes
    /// nothing.
    fn link(
        &mut self,
        real: &str,
        mut node: Node,
        hardlink: Option<&str>,
    ) -> Result<Option<Node>, String> {
        if let Some(target) = hardlink {
            let target_real = self
                .tree
                .resolve(target, false)
                .map_err(|e| format!("the hardlink's target `{target}`: {e}"))?;
            match self.tree.get(&target_real) {
                Some(t) if !t.is_dir() => {
                    // One inode: the link shows the metadata of what it names.
                    node.data = t.data;
                    node.device = t.device;
                    node.target_kind = Some(t.file_kind());
                    (node.mode, node.uid, node.gid, node.mtime) = (t.mode, t.uid, t.gid, t.mtime);
                }
                Some(_) => return Err(format!("the hardlink's target `{target}` is a directory")),
                None => {
                    return Err(format!(
                        "the hardlink's target `{target}` is not a file of this or a lower layer"
                    ))
                }
            }
            node.link = Some(target.to_string());
            if target_real == real {
                // A link to itself changes nothing.
                return Ok(None);
            }
        }
        Ok(Some(node))
    }

    /// Puts `node` at `real`: over a directory a directory only takes its place's metadata.
    fn place(&mut self, real: String, node: Node) {
        use std::collections::btree_map::Entry;
        let replaced = match self.tree.slot(real) {
            Entry::Vacant(v) => {
                Self::note_in(self.record, &mut self.before, v.key(), None, true);
                v.insert(node);
                None
            }
            Entry::Occupied(mut o) if o.get().is_dir() && node.is_dir() => {
                if self.record {
                    let old = o.get().clone();
                    Self::note_in(true, &mut self.before, o.key(), Some(old), true);
                }
                o.insert(node);
                None
            }
            Entry::Occupied(o) => Some((o.key().clone(), node)),
        };
        if let Some((real, node)) = replaced {
            self.remove_subtree(&real);
            Self::note_in(self.record, &mut self.before, &real, None, true);
            self.tree.insert(real, node);
        }
    }

    /// Resolves `path`'s parent inside the image, making the directories the layer leaves out;
    /// returns where `path` itself lands when that is not `path`.
    fn make_parents(&mut self, path: &str, layer: usize) -> Result<Option<String>, String> {
        let dir = parent(path);
        // A directory the tree holds has only directories above it (a path is placed through
        // its resolved parents, and replacing a parent removes the whole subtree): no
        // resolution needed, which is the common case.
        if self.tree.get(dir).is_some_and(Node::is_dir) {
            return Ok(None);
        }
        // Each missing directory is made once; a path has at most PATH_MAX / 2 of them.
        for _ in 0..=crate::extract::rules::MAX_PATH_BYTES {
            match self.tree.resolve(dir, true) {
                Ok(real_dir) => {
                    match self.tree.get(&real_dir) {
                        Some(n) if n.is_dir() => {}
                        Some(_) => {
                            return Err(format!("`/{real_dir}` is not a directory"));
                        }
                        None => {
                            self.note(&real_dir, None);
                            self.tree.insert(real_dir.clone(), Node::implied_dir(layer));
                        }
                    }
                    return Ok(Some(if real_dir.is_empty() {
                        file_name(path).to_string()
                    } else {
                        format!("{real_dir}/{}", file_name(path))
                    }));
                }
                Err(ResolveError::Missing(p)) => {
                    self.note(&p, None);
                    self.tree.insert(p, Node::implied_dir(layer));
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("too many missing parents".into())
    }

    fn remove_subtree(&mut self, path: &str) {
        let (record, before) = (self.record, &mut self.before);
        self.tree.remove_subtree(path, &mut |p, n| {
            if record {
                before.entry(p).or_insert(Noted {
                    old: Some(n),
                    touched: false,
                });
            }
        });
    }

    fn remove_below(&mut self, dir: &str) {
        let (record, before) = (self.record, &mut self.before);
        self.tree.remove_below(dir, &mut |p, n| {
            if record {
                before.entry(p).or_insert(Noted {
                    old: Some(n),
                    touched: false,
                });
            }
        });
    }

    fn note(&mut self, path: &str, old: Option<Node>) {
        Self::note_in(self.record, &mut self.before, path, old, false);
    }

    /// Records what `path` was before the layer, unless already known; with `touched`, that the
    /// layer has an entry for it.
    fn note_in(
        record: bool,
        before: &mut HashMap<String, Noted>,
        path: &str,
        old: Option<Node>,
        touched: bool,
    ) {
        if !record {
            return;
        }
        match before.get_mut(path) {
            Some(noted) => noted.touched |= touched,
            None => {
                before.insert(path.to_string(), Noted { old, touched });
            }
        }
    }

    fn changes(&mut self) -> Vec<Change> {
        let mut changes: Vec<Change> = self
            .before
            .drain()
            // The root is always there; its metadata is not a change worth a row.
            .filter(|(path, _)| !path.is_empty())
            .filter_map(
                |(
                    path,
                    Noted {
                        old: before,
                        touched,
                    },
                )| {
                    let after = self.tree.get(&path);
                    let kind = match (&before, after) {
                        (None, Some(_)) => ChangeKind::Added,
                        (Some(_), None) => ChangeKind::Deleted,
                        (Some(b), Some(a)) if touched || a != b => ChangeKind::Modified,
                        _ => return None,
                    };
                    Some(Change {
                        path,
                        kind,
                        before: before.as_ref().map(Side::of),
                        after: after.map(Side::of),
                    })
                },
            )
            .collect();
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        changes
    }
}

/// The type of a tar entry, or `None` for types that are not content (skipped).
pub fn node_type_of(t: tar::EntryType) -> Option<NodeType> {
    Some(match t {
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
            NodeType::File
        }
        tar::EntryType::Directory => NodeType::Dir,
        tar::EntryType::Symlink => NodeType::Symlink,
        tar::EntryType::Link => NodeType::Hardlink,
        tar::EntryType::Char => NodeType::Char,
        tar::EntryType::Block => NodeType::Block,
        tar::EntryType::Fifo => NodeType::Fifo,
        _ => return None,
    })
}

#[cfg(test)]
mod tests;

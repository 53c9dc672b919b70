//! strata's own account of wasted space, by the OCI rules rather than dive's: for every layer,
//! the file bytes it ships that never reach the merged tree, because a later layer puts another
//! entry at the same path (shadowed) or removes the path by whiteout, opaque directory or type
//! change (deleted). Directories, links and special files carry no bytes here.

use std::collections::BTreeMap;

use crate::extract::rules::EntryKind;

/// One entry of a layer, reduced to what the breakdown needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnEntry {
    pub kind: EntryKind,
    pub is_dir: bool,
    /// A regular file's content size (a sparse file's real size); 0 for anything else.
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum How {
    Shadowed,
    Deleted,
}

/// A file of some layer that does not survive, and the layer that hid it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hidden {
    pub path: String,
    pub layer: usize,
    pub bytes: u64,
    pub by_layer: usize,
    pub how: How,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LayerLoss {
    pub shadowed_bytes: u64,
    pub shadowed_files: u64,
    pub deleted_bytes: u64,
    pub deleted_files: u64,
}

#[derive(Debug, Clone, Copy)]
struct Item {
    layer: usize,
    bytes: u64,
    is_dir: bool,
}

/// Feeds the breakdown one layer at a time, bottom first.
#[derive(Debug, Default)]
pub struct Breakdown {
    layer: usize,
    merged: BTreeMap<String, Item>,
    losses: Vec<LayerLoss>,
    hidden: Vec<Hidden>,
}

/// The keys of `map` strictly below `dir` ("" is the root).
fn below<'a>(map: &'a BTreeMap<String, Item>, dir: &str) -> Vec<(&'a String, &'a Item)> {
    if dir.is_empty() {
        return map.iter().collect();
    }
    // Every key starting with "dir/" sorts between "dir/" and "dir0" ('0' follows '/').
    map.range(format!("{dir}/")..format!("{dir}0")).collect()
}

impl Breakdown {
    pub fn new() -> Breakdown {
        Breakdown::default()
    }

    pub fn add_layer(&mut self, entries: &[OwnEntry]) {
        let k = self.layer;
        self.layer += 1;
        self.losses.push(LayerLoss::default());
        for e in entries {
            match &e.kind {
                EntryKind::Whiteout(path) => {
                    self.remove_lower(path, true, How::Deleted);
                }
                EntryKind::Opaque(dir) => self.remove_lower(dir, false, How::Deleted),
                EntryKind::Content(path) if path.is_empty() => {}
                EntryKind::Content(path) => {
                    self.replace_file_ancestors(path);
                    match self.merged.get(path).copied() {
                        Some(old) if old.is_dir && e.is_dir => {}
                        Some(old) => {
                            self.hide(path.clone(), old, How::Shadowed);
                            if old.is_dir {
                                self.remove_below(path, How::Deleted, usize::MAX);
                            }
                        }
                        None => {}
                    }
                    self.merged.insert(
                        path.clone(),
                        Item {
                            layer: k,
                            bytes: e.bytes,
                            is_dir: e.is_dir,
                        },
                    );
                }
                EntryKind::AufsMeta => {}
            }
        }
    }

    /// A path under a non-directory: the non-directory is replaced by an implied directory.
    fn replace_file_ancestors(&mut self, path: &str) {
        let mut end = 0;
        while let Some(slash) = path[end..].find('/') {
            end += slash;
            let ancestor = &path[..end];
            if let Some(old) = self.merged.get(ancestor).copied() {
                if !old.is_dir {
                    self.merged.remove(ancestor);
                    self.hide(ancestor.to_string(), old, How::Shadowed);
                }
            }
            end += 1;
        }
    }

    /// Removes what the layers below this one have at (when `itself`) and under `path`.
    fn remove_lower(&mut self, path: &str, itself: bool, how: How) {
        let current = self.layer - 1;
        if itself {
            if let Some(old) = self.merged.get(path).copied() {
                if old.layer < current {
                    self.merged.remove(path);
                    self.hide(path.to_string(), old, how);
                }
            }
        }
        self.remove_below(path, how, current);
    }

    /// Removes everything under `dir` from layers before `before` (all with `usize::MAX`).
    fn remove_below(&mut self, dir: &str, how: How, before: usize) {
        let gone: Vec<(String, Item)> = below(&self.merged, dir)
            .into_iter()
            .filter(|(_, item)| item.layer < before)
            .map(|(p, item)| (p.clone(), *item))
            .collect();
        for (path, item) in gone {
            self.merged.remove(&path);
            self.hide(path, item, how);
        }
    }

    fn hide(&mut self, path: String, item: Item, how: How) {
        if item.is_dir {
            return;
        }
        let by_layer = self.layer - 1;
        let loss = &mut self.losses[item.layer];
        match how {
            How::Shadowed => {
                loss.shadowed_bytes += item.bytes;
                loss.shadowed_files += 1;
            }
            How::Deleted => {
                loss.deleted_bytes += item.bytes;
                loss.deleted_files += 1;
            }
        }
        self.hidden.push(Hidden {
            path,
            layer: item.layer,
            bytes: item.bytes,
            by_layer,
            how,
        });
    }

    /// Per layer what later layers hid of it, and every hidden file, largest first (then by
    /// path and layer).
    pub fn finish(mut self) -> (Vec<LayerLoss>, Vec<Hidden>) {
        self.hidden.sort_by(|a, b| {
            b.bytes
                .cmp(&a.bytes)
                .then_with(|| a.path.cmp(&b.path))
                .then_with(|| a.layer.cmp(&b.layer))
        });
        (self.losses, self.hidden)
    }
}

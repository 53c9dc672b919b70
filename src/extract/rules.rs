//! Pure rules for layer entries: cleaning entry names into safe relative paths, telling
//! whiteouts and opaque markers from content, and deciding — walking layers from the top down —
//! whether an entry of a lower layer is still visible in the merged tree.

use super::path_key::{KeyMap, KeySet, PathKeys};

pub const WHITEOUT_PREFIX: &str = ".wh.";
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// What a layer entry means for the merged tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// Ordinary content at this path.
    Content(String),
    /// `dir/.wh.NAME`: `dir/NAME` of the lower layers is deleted.
    Whiteout(String),
    /// `dir/.wh..wh..opq`: nothing from lower layers shows under `dir` ("" is the root).
    Opaque(String),
    /// `.wh..wh.*` aufs bookkeeping (`.wh..wh.plnk/…`, `.wh..wh.aufs`, `.wh..wh.orph/…`), or
    /// anything below such a directory: not image content, never written.
    AufsMeta,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadName {
    #[error("the entry name is empty")]
    Empty,
    #[error("the entry name climbs out of the root with `..`")]
    DotDot,
    #[error("the entry name contains a NUL byte")]
    Nul,
    #[error("the whiteout `{0}` does not name a plain file name")]
    BadWhiteout(String),
    #[error("the whiteout would delete the root directory")]
    WhiteoutOfRoot,
    #[error("the entry name is {0} bytes long (the limit is 4096, Linux's PATH_MAX)")]
    TooLong(usize),
}

pub const MAX_PATH_BYTES: usize = 4096;

/// Turns an entry name into a relative path of plain components: a leading `/` or `./` is
/// dropped (layers made with absolute names are common), `.` and empty components vanish, `..`
/// is refused rather than resolved, since resolving could reach outside the root. `""` is the root.
pub fn clean_path(name: &str) -> Result<String, BadName> {
    if name.contains('\0') {
        return Err(BadName::Nul);
    }
    // Linux's own limits; beyond them a name could only cost time and memory.
    // Counted in the name's own bytes, not in the longer form carrying non-UTF-8 ones (never
    // longer than that form, so a short name needs no conversion).
    if name.len() > MAX_PATH_BYTES {
        let len = crate::rawname::to_bytes(name).len();
        if len > MAX_PATH_BYTES {
            return Err(BadName::TooLong(len));
        }
    }
    let mut clean = String::with_capacity(name.len());
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(BadName::DotDot),
            p => {
                if !clean.is_empty() {
                    clean.push('/');
                }
                clean.push_str(p);
            }
        }
    }
    Ok(clean)
}

pub fn parent(path: &str) -> &str {
    last_slash(path).map_or("", |at| &path[..at])
}

pub fn file_name(path: &str) -> &str {
    last_slash(path).map_or(path, |at| &path[at + 1..])
}

/// A byte search: a path's components are short, and `str`'s pattern searchers cost more to
/// set up than a loop over a few bytes.
fn last_slash(path: &str) -> Option<usize> {
    path.bytes().rposition(|b| b == b'/')
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Is a component of the (clean) `path` aufs metadata: a `.wh..wh.` name other than the opaque
/// marker as the last component?
pub fn is_aufs_meta(path: &str) -> bool {
    let bytes = path.as_bytes();
    let mut start = 0;
    while start <= bytes.len() {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'/')
            .map_or(bytes.len(), |n| start + n);
        let part = &bytes[start..end];
        if part.starts_with(AUFS_META_PREFIX.as_bytes())
            && !(end == bytes.len() && part == OPAQUE_MARKER.as_bytes())
        {
            return true;
        }
        start = end + 1;
    }
    false
}

const AUFS_META_PREFIX: &str = ".wh..wh.";

/// Classifies an entry by its name.
pub fn classify(name: &str) -> Result<EntryKind, BadName> {
    let path = clean_path(name)?;
    if path.is_empty() {
        // The root directory itself (`./`): content (its metadata) for the root.
        return Ok(EntryKind::Content(path));
    }
    let base = file_name(&path);
    let dir = parent(&path);
    if base == OPAQUE_MARKER {
        if is_aufs_meta(dir) {
            return Ok(EntryKind::AufsMeta);
        }
        return Ok(EntryKind::Opaque(dir.to_string()));
    }
    if is_aufs_meta(&path) {
        return Ok(EntryKind::AufsMeta);
    }
    if let Some(target) = base.strip_prefix(WHITEOUT_PREFIX) {
        if target.is_empty() || target == "." || target == ".." {
            return Err(BadName::BadWhiteout(base.to_string()));
        }
        return Ok(EntryKind::Whiteout(join(dir, target)));
    }
    Ok(EntryKind::Content(path))
}

/// How a path was settled by an upper layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Dir,
    NonDir,
}

/// The state of a top-down merge: what upper layers have already decided. An entry of a lower
/// layer shows in the merged tree only if no upper layer wrote its path, deleted it or an
/// ancestor, made an ancestor opaque, or replaced an ancestor with a non-directory.
#[derive(Debug, Default)]
pub struct TopDown {
    /// Paths written by explicit entries, with the layer that wrote them. Keyed by a 128-bit
    /// keyed hash of the path rather than the path itself, so that an image with millions of
    /// entries costs a few dozen bytes per entry.
    settled: KeyMap<(usize, Settled)>,
    /// Non-directories that upper layers had at a path whose final entry is a directory from an
    /// even higher layer: in between, the path was not a directory, so whatever lower layers had
    /// below it is gone.
    barriers: KeyMap<usize>,
    /// Directories that some written path lies in, with the highest layer that put one there.
    parents: KeyMap<usize>,
    keys: PathKeys,
    /// Deleted by whiteouts of upper layers (keyed like `settled`).
    deleted: KeySet,
    /// Made opaque by upper layers.
    opaque: KeySet,
    /// Whiteouts and opaque markers of the layer in progress; they apply to lower layers only.
    pending_deleted: KeySet,
    pending_opaque: KeySet,
    /// Directories above the paths the layer in progress wrote.
    layer_parents: KeySet,
    /// Directories holding whiteouts or opaque markers of upper layers (and their ancestors),
    /// and of the layer in progress: a lower non-directory there is one they act through.
    marked_dirs: KeySet,
    pending_marked_dirs: KeySet,
    /// The keys of the path being decided and of its ancestors (see [`PathKeys::chain`]),
    /// kept to reuse the allocation.
    chain: Vec<u128>,
}

/// What to do with a content entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Write it: nothing above touches this path.
    Write,
    /// Write it over an earlier entry of the same layer (duplicate names: the last one wins).
    Replace,
    /// An upper layer decided this path or hid it.
    Skip,
    /// A non-directory here, below paths that upper layers wrote: those layers wrote *through*
    /// this entry (a symlink, in any sane image), which only applying layers in order gets
    /// right.
    WritesThrough,
}

impl TopDown {
    pub fn new() -> TopDown {
        TopDown::default()
    }

    fn key(&self, path: &str) -> u128 {
        self.keys.key(path)
    }

    /// Starts the next (lower) layer: the previous layer's whiteouts now apply.
    pub fn next_layer(&mut self) {
        self.deleted.extend(self.pending_deleted.drain());
        self.opaque.extend(self.pending_opaque.drain());
        self.marked_dirs.extend(self.pending_marked_dirs.drain());
        self.layer_parents.clear();
    }

    /// `dir`, holding a whiteout or opaque marker of the layer in progress, and its ancestors.
    fn note_marked(&mut self, dir: &str) {
        let mut chain = std::mem::take(&mut self.chain);
        self.keys.chain(dir, &mut chain);
        for key in chain.iter().skip(1).rev() {
            if !self.pending_marked_dirs.insert(*key) {
                break;
            }
        }
        self.chain = chain;
    }

    pub fn whiteout(&mut self, path: &str) -> Result<(), BadName> {
        if path.is_empty() {
            return Err(BadName::WhiteoutOfRoot);
        }
        self.pending_deleted.insert(self.key(path));
        self.note_marked(parent(path));
        Ok(())
    }

    pub fn opaque(&mut self, dir: &str) {
        self.pending_opaque.insert(self.key(dir));
        self.note_marked(dir);
    }

    /// How many paths the state remembers, for [`super::budget::MAX_TRACKED_PATHS`].
    pub fn tracked(&self) -> usize {
        self.settled.len()
            + self.barriers.len()
            + self.parents.len()
            + self.deleted.len()
            + self.opaque.len()
            + self.pending_deleted.len()
            + self.pending_opaque.len()
            + self.layer_parents.len()
            + self.marked_dirs.len()
            + self.pending_marked_dirs.len()
    }

    /// Is the path whose [`PathKeys::chain`] is `chain` hidden from layer `layer` by what the
    /// layers above did?
    fn hidden(&self, chain: &[u128], layer: usize) -> bool {
        let Some((key, ancestors)) = chain.split_last() else {
            return false;
        };
        if self.deleted.contains(key) {
            return true;
        }
        // From the parent up; index 0 is the root, which no whiteout deletes.
        ancestors.iter().enumerate().rev().any(|(depth, key)| {
            self.opaque.contains(key)
                || (depth > 0 && self.deleted.contains(key))
                || matches!(self.settled.get(key), Some((by, Settled::NonDir)) if *by > layer)
                || self.barriers.get(key).is_some_and(|by| *by > layer)
        })
    }

    /// Decides an entry of layer `layer` (layers are visited from the top, highest first) and
    /// records the decision.
    pub fn decide(&mut self, path: &str, layer: usize, kind: Settled) -> Verdict {
        let mut chain = std::mem::take(&mut self.chain);
        self.keys.chain(path, &mut chain);
        let verdict = self.decide_keyed(&chain, layer, kind);
        self.chain = chain;
        verdict
    }

    fn decide_keyed(&mut self, chain: &[u128], layer: usize, kind: Settled) -> Verdict {
        let key = *chain.last().expect("a chain holds at least the root");
        if let Some(&(by, before)) = self.settled.get(&key) {
            if by == layer {
                let filled = self.layer_parents.contains(&key)
                    || self.parents.get(&key).is_some_and(|by| *by > layer);
                if before == Settled::Dir && kind == Settled::NonDir && filled {
                    // The layer replaces a directory it or an upper layer filled: in order, the
                    // layer's own entries below are gone and an upper layer's come after, which
                    // only the in-order extraction carries out.
                    return Verdict::WritesThrough;
                }
                if before == Settled::NonDir && kind == Settled::Dir {
                    // The layer replaced whatever lower layers had here with a non-directory
                    // before making it a directory again: their subtree is gone.
                    self.barriers.entry(key).or_insert(layer);
                }
                self.settled.insert(key, (layer, kind));
                return Verdict::Replace;
            }
            if kind == Settled::NonDir && !self.hidden(chain, layer) {
                // This layer filled a directory here and now replaces it with a
                // non-directory: what it wrote below is gone, which the top-down pass learns
                // too late (an upper layer made the path a directory again).
                if self.layer_parents.contains(&key) {
                    return Verdict::WritesThrough;
                }
                self.barriers.entry(key).or_insert(layer);
            }
            return Verdict::Skip;
        }
        if self.hidden(chain, layer) {
            return Verdict::Skip;
        }
        if kind == Settled::NonDir
            && (self.parents.get(&key).is_some_and(|by| *by > layer)
                || self.layer_parents.contains(&key))
        {
            // Upper layers wrote through this entry, or this layer filled a directory here
            // and now replaces it (entries of it still waiting, such as hardlinks, would land
            // wherever the replacement leads).
            return Verdict::WritesThrough;
        }
        self.settled.insert(key, (layer, kind));
        self.note_dirs(&chain[..chain.len() - 1], layer);
        Verdict::Write
    }

    /// Records that layer `layer` has something below the directory whose chain is `dir` and
    /// so makes it and its ancestors directories.
    fn note_dirs(&mut self, dir: &[u128], layer: usize) {
        for &k in dir.iter().skip(1).rev() {
            let known = !self.layer_parents.insert(k);
            let higher = self.parents.get(&k).is_some_and(|by| *by >= layer);
            if !higher {
                self.parents.insert(k, layer);
            }
            if known && higher {
                break;
            }
        }
    }

    /// An entry of layer `layer` at `path` that the layers above hide still made its parent
    /// directories when its layer was applied: the nearest of them that nothing above hides
    /// survives, even with nothing left in it. Returns that directory when no written path
    /// makes it already, and records it as made by the layer.
    pub fn surviving_parent(&mut self, path: &str, layer: usize) -> Option<String> {
        let mut chain = std::mem::take(&mut self.chain);
        self.keys.chain(path, &mut chain);
        let survivor = self.surviving_parent_keyed(&chain, layer);
        self.chain = chain;
        // The directory `depth` components deep: `path` up to its `depth`th `/`.
        let depth = survivor?;
        let end = path.match_indices('/').nth(depth - 1)?.0;
        Some(path[..end].to_string())
    }

    /// [`TopDown::surviving_parent`] by keys: how deep the surviving directory lies.
    fn surviving_parent_keyed(&mut self, chain: &[u128], layer: usize) -> Option<usize> {
        // chain[depth] is the key of the directory `depth` components deep; the path's own
        // key is last.
        let mut depth = chain.len().checked_sub(2)?;
        while depth > 0 && self.hidden(&chain[..=depth], layer) {
            depth -= 1;
        }
        if depth == 0 {
            return None;
        }
        let key = chain[depth];
        if self.settled.contains_key(&key) || self.parents.contains_key(&key) {
            return None;
        }
        self.note_dirs(&chain[..=depth], layer);
        Some(depth)
    }

    /// Whether an upper layer has whiteouts or opaque markers in or below directory `path`.
    pub fn marked_below(&self, path: &str) -> bool {
        self.marked_dirs.contains(&self.key(path))
    }

    /// The key of the path [`TopDown::decide`] last decided: what the top-down merge's
    /// recount remembers paths by, without hashing them again.
    pub fn decided_key(&self) -> Option<u128> {
        self.chain.last().copied()
    }

    /// Who wrote `path`, if anyone has.
    pub fn settled_by(&self, path: &str) -> Option<(usize, Settled)> {
        self.settled.get(&self.key(path)).copied()
    }
}

#[cfg(test)]
mod tests;

//! The top-down merge: layers are read from the last to the first, and each path is written
//! once, by the highest layer that has it, unless a whiteout, an opaque directory or a type
//! change above hides it. Lower-layer content that is hidden is never written, so nothing is
//! written and then deleted. Directory metadata and hardlinks are settled at the end.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};

use super::budget::{Budget, OverLimit, MAX_TRACKED_PATHS};
use super::fs::Meta;
use super::limits::{LimitReached, Limits};
use super::pipe::Pipelined;
use super::rules::{classify, clean_path, is_aufs_meta, EntryKind, Settled, TopDown, Verdict};
use super::tally::Counted;
use crate::entries::{bad_name, check_digests, tar_problem};
use crate::error::{ArchiveError, Problem};
use crate::image::Image;
use crate::targuard::{SparseBudget, TarGuard};

/// Special files: fifos and device nodes.
#[derive(Debug, Clone, Copy)]
pub enum Special {
    Fifo,
    Char(u32, u32),
    Block(u32, u32),
}

/// Where the merged tree goes: a directory or a flat tar.
pub trait Sink {
    /// A regular file of `size` bytes; `sparse` when the tar stored it sparse (its zero runs
    /// are holes worth keeping).
    fn file(
        &mut self,
        path: &str,
        meta: &Meta,
        size: u64,
        sparse: bool,
        data: &mut dyn Read,
        replace: bool,
    ) -> io::Result<()>;
    fn dir(&mut self, path: &str, meta: &Meta, replace: bool) -> io::Result<()>;
    fn symlink(&mut self, path: &str, target: &[u8], meta: &Meta, replace: bool) -> io::Result<()>;
    fn special(&mut self, path: &str, kind: Special, meta: &Meta, replace: bool) -> io::Result<()>;
    /// `target` already holds its final content.
    fn hardlink(&mut self, path: &str, target: &str, replace: bool) -> io::Result<()>;
    /// A directory made only as the parent of entries that upper layers hide: it gets the
    /// metadata of a parent a layer leaves out, unless an entry gives it its own.
    fn implied_dir(&mut self, path: &str) -> io::Result<()>;
    /// Called once at the end: directory metadata and anything else deferred.
    fn finish(&mut self) -> io::Result<()>;
    /// In-order mode only: deletes `path` and what lies below it.
    fn delete(&mut self, path: &str) -> io::Result<()>;
    /// In-order mode only: deletes everything below `dir`.
    fn clear_dir(&mut self, dir: &str) -> io::Result<()>;
    /// Overlay-layer mode only: an overlayfs whiteout at `path`.
    fn whiteout(&mut self, _path: &str) -> io::Result<()> {
        Err(io::Error::other(
            "this output cannot hold overlay whiteouts",
        ))
    }
    /// Overlay-layer mode only: marks `dir` opaque for overlayfs.
    fn mark_opaque(&mut self, _dir: &str) -> io::Result<()> {
        Err(io::Error::other(
            "this output cannot mark directories opaque",
        ))
    }
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Counts {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    pub specials: u64,
    pub bytes: u64,
    /// Entries of lower layers hidden by upper ones (never written).
    pub hidden: u64,
    pub whiteouts: u64,
}

pub struct Outcome {
    pub counts: Counts,
    pub warnings: Vec<String>,
}

/// How layers are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// From the top down, each surviving path written once (the fast way).
    TopDown,
    /// In order, deleting what whiteouts name: only for a directory sink, and only needed when
    /// an image writes through a symlink a lower layer made (see [`is_conflict`]).
    InOrder,
    /// One layer on its own, for an overlayfs layer store: whiteouts become overlayfs
    /// whiteouts (0/0 character devices) and opaque markers the opaque xattr, instead of
    /// deleting anything.
    OverlayLayer(usize),
}

/// Applies layers `0..=top` of `image` into `sink`, within `limits`.
pub fn merge(
    image: &Image,
    top: usize,
    sink: &mut dyn Sink,
    limits: &Limits,
) -> Result<Outcome, ArchiveError> {
    merge_with(image, top, sink, Order::TopDown, limits)
}

pub fn merge_with(
    image: &Image,
    top: usize,
    sink: &mut dyn Sink,
    order: Order,
    limits: &Limits,
) -> Result<Outcome, ArchiveError> {
    merge_sharing(image, top, sink, order, &SparseBudget::default(), limits)
}

/// [`merge_with`], with the sparse-file budget shared with other merges of the same image
/// (the layer store unpacks each layer on its own).
pub fn merge_sharing(
    image: &Image,
    top: usize,
    sink: &mut dyn Sink,
    order: Order,
    sparse: &SparseBudget,
    limits: &Limits,
) -> Result<Outcome, ArchiveError> {
    let mut state = TopDown::new();
    let mut counts = Counts::default();
    let mut warnings = Vec::new();
    // Hardlinks whose target is settled later; a later entry of the link's own layer at the
    // link's path voids it (`pending_at` finds it).
    let mut pending_links: Vec<Option<PendingLink>> = Vec::new();
    let mut pending_at: HashMap<String, usize> = HashMap::new();
    let mut link_budget = Budget::default();
    let mut skipped_entries: u64 = 0;
    // With `--no-devices`: the device nodes left out, so that links to them are left out too.
    let mut skipped_devices: HashSet<String> = HashSet::new();
    let layers: Vec<&crate::image::LayerRef> = match order {
        Order::TopDown => image.layers[..=top].iter().rev().collect(),
        Order::InOrder => image.layers[..=top].iter().collect(),
        Order::OverlayLayer(i) => vec![&image.layers[i]],
    };
    // Overlay-layer mode: directories the layer first made non-directories.
    let mut retyped_dirs: Vec<String> = Vec::new();
    // In order: the tree the entries leave, for the summary's counts.
    let mut tally = (order == Order::InOrder).then(super::tally::Tally::default);
    let mut recount = super::tally::Recount::default();
    for layer in layers {
        state.next_layer();
        recount.next_layer();
        let entry_name = format!("layer {} ({})", layer.index, layer.path);
        let fail = |what: String, p: Problem| ArchiveError::new(&image.source_path, Some(what), p);
        if order == Order::InOrder {
            // A layer's whiteouts and opaque markers act on the layers below only, wherever
            // they stand in its tar: carried out first, before any entry of the layer exists,
            // they can delete nothing of it (and a write through a lower symlink they delete
            // lands where the image means).
            delete_first(image, layer, sink, &entry_name)?;
        }
        let blob = image.container.open_blob(&layer.path, &entry_name)?;
        let blob_digest = !matches!(order, Order::OverlayLayer(_));
        let mut archive = tar::Archive::new(TarGuard::expanding(
            Pipelined::start_sized(blob, blob_digest, image.container.stored_size(&layer.path)),
            sparse.clone(),
        ));
        let entries = archive
            .entries()
            .map_err(|e| fail(entry_name.clone(), tar_problem(e)))?;
        for (position, entry) in entries.enumerate() {
            let mut entry = entry.map_err(|e| fail(entry_name.clone(), tar_problem(e)))?;
            let raw = entry.path_bytes().into_owned();
            let name = crate::rawname::from_bytes(&raw).into_owned();
            let at = |p: Problem| {
                fail(
                    format!(
                        "{entry_name}: entry `{}`",
                        crate::render::escape_for_message(&name, 200)
                    ),
                    p,
                )
            };
            limits.entry().map_err(|e| at(e.into()))?;
            let kind = classify(&name).map_err(|e| at(bad_name(e)))?;
            let path = match kind {
                EntryKind::AufsMeta => continue,
                EntryKind::Whiteout(p) => {
                    counts.whiteouts += 1;
                    state.whiteout(&p).map_err(|e| at(bad_name(e)))?;
                    check_tracked(&state).map_err(at)?;
                    // Below a path this layer made a non-directory, a whiteout has nothing left
                    // to hide (the type change already replaced the old subtree).
                    let under_non_dir =
                        std::iter::successors(Some(super::rules::parent(&p)), |d| {
                            (!d.is_empty()).then(|| super::rules::parent(d))
                        })
                        .any(|d| matches!(state.settled_by(d), Some((_, Settled::NonDir))));
                    // What it becomes next to the layer's own entries (an opaque directory, or
                    // nothing beside a non-directory) the sink settles once the layer is done.
                    if let (Order::OverlayLayer(_), false) = (order, under_non_dir) {
                        sink.whiteout(&p).map_err(|e| at(problem_of(e)))?;
                    }
                    if let Some(t) = &mut tally {
                        t.whiteout(&p);
                    }
                    continue;
                }
                EntryKind::Opaque(d) => {
                    counts.whiteouts += 1;
                    state.opaque(&d);
                    check_tracked(&state).map_err(at)?;
                    if let Order::OverlayLayer(_) = order {
                        sink.mark_opaque(&d).map_err(|e| at(problem_of(e)))?;
                    }
                    if let Some(t) = &mut tally {
                        t.opaque(&d);
                    }
                    continue;
                }
                EntryKind::Content(p) => p,
            };
            let header_type = entry.header().entry_type();
            let tally_path = tally.is_some().then(|| path.clone());
            let recount_key = tally.is_none().then(|| recount.key(&path));
            let settled = if header_type.is_dir() {
                Settled::Dir
            } else {
                Settled::NonDir
            };
            let verdict = match order {
                Order::TopDown => state.decide(&path, layer.index, settled),
                Order::InOrder => Verdict::Replace,
                Order::OverlayLayer(_) => {
                    // Only this layer is applied, so nothing is hidden: the state tells a
                    // duplicate from a first entry and remembers which paths the layer made
                    // non-directories. A directory over the layer's own non-directory hides
                    // what the layers below have there, as an opaque one does.
                    if settled == Settled::Dir
                        && matches!(state.settled_by(&path), Some((_, Settled::NonDir)))
                    {
                        retyped_dirs.push(path.clone());
                    }
                    match state.decide(&path, layer.index, settled) {
                        Verdict::Write => Verdict::Write,
                        _ => Verdict::Replace,
                    }
                }
            };
            if verdict == Verdict::WritesThrough {
                return Err(at(Problem::WritesThrough));
            }
            check_tracked(&state).map_err(at)?;
            if verdict == Verdict::Skip {
                counts.hidden += 1;
                if order == Order::TopDown {
                    if let Some(dir) = state.surviving_parent(&path, layer.index) {
                        sink.implied_dir(&dir).map_err(|e| at(problem_of(e)))?;
                    }
                }
                continue;
            }
            let replace = verdict == Verdict::Replace;
            if replace {
                if let Some(i) = pending_at.remove(&path) {
                    pending_links[i] = None;
                }
            }
            let meta = meta_of(&mut entry).map_err(|e| at(Problem::CorruptTar(e)))?;
            let mut counted = None;
            let written = match header_type {
                tar::EntryType::Directory => {
                    // The root's own entry is its metadata, not a directory of the tree.
                    if !path.is_empty() {
                        counts.dirs += 1;
                        counted = Some(Counted::Dir);
                    }
                    sink.dir(&path, &meta, replace)
                }
                tar::EntryType::Regular
                | tar::EntryType::Continuous
                | tar::EntryType::GNUSparse => {
                    counts.files += 1;
                    let size = entry.size();
                    let mut exact = Exact {
                        inner: &mut entry,
                        n: 0,
                        size,
                        limits,
                    };
                    let sparse = header_type == tar::EntryType::GNUSparse;
                    let r = sink.file(&path, &meta, size, sparse, &mut exact, replace);
                    counts.bytes += exact.n;
                    counted = Some(Counted::File(exact.n));
                    r
                }
                tar::EntryType::Symlink => {
                    counts.symlinks += 1;
                    counted = Some(Counted::Symlink);
                    let target = entry
                        .link_name_bytes()
                        .map(|t| t.into_owned())
                        .unwrap_or_default();
                    sink.symlink(&path, &target, &meta, replace)
                }
                tar::EntryType::Link => {
                    let target_raw = entry
                        .link_name_bytes()
                        .map(|t| t.into_owned())
                        .unwrap_or_default();
                    let target = clean_path(&crate::rawname::from_bytes(&target_raw))
                        .map_err(|e| at(bad_name(e)))?;
                    if target.is_empty() || target == path {
                        return Err(at(Problem::BadContent {
                            what: "hardlink",
                            detail: "the hardlink points at the root or at itself".into(),
                        }));
                    }
                    if is_aufs_meta(&target) {
                        // docker's aufs driver kept hardlinked files in `.wh..wh.plnk/`; that
                        // bookkeeping is never written, so the link would dangle.
                        return Err(at(Problem::BadContent {
                            what: "hardlink",
                            detail: format!(
                                "refused: the hardlink's target `{}` is aufs metadata (`.wh..wh.*`), which is never extracted",
                                crate::render::escape_for_message(&target, 200)
                            ),
                        }));
                    }
                    if skipped_devices.contains(&target) {
                        // A second name of a device node left out: left out with it.
                        continue;
                    }
                    counts.hardlinks += 1;
                    counted = Some(Counted::Hardlink);
                    if order != Order::TopDown {
                        sink.hardlink(&path, &target, replace)
                    } else {
                        // A link to a link of this layer that is itself waiting stands for
                        // the same file: it waits too, for that link's target as of that
                        // link's place in the layer, and both end up one inode.
                        let waiting = pending_at
                            .get(&target)
                            .and_then(|&i| pending_links[i].as_ref())
                            .filter(|l| l.layer == layer.index)
                            .map(|l| (l.target.clone(), l.position));
                        let (target, as_of) = match waiting {
                            Some((t, p)) => (t, Some(p)),
                            None => (target, None),
                        };
                        match state.settled_by(&target) {
                            Some((by, Settled::NonDir)) if by == layer.index && as_of.is_none() => {
                                sink.hardlink(&path, &target, replace)
                            }
                            _ => {
                                link_budget
                                    .take(path.len() + target.len(), "hardlinks")
                                    .map_err(|e| at(problem_of(e)))?;
                                pending_at.insert(path.clone(), pending_links.len());
                                pending_links.push(Some(PendingLink {
                                    path,
                                    target,
                                    layer: layer.index,
                                    position: as_of.unwrap_or(position),
                                    replace,
                                }));
                                Ok(())
                            }
                        }
                    }
                }
                tar::EntryType::Char | tar::EntryType::Block if limits.no_devices => {
                    limits.skipped_device();
                    skipped_devices.insert(path);
                    Ok(())
                }
                tar::EntryType::Fifo | tar::EntryType::Char | tar::EntryType::Block => {
                    counts.specials += 1;
                    counted = Some(Counted::Special);
                    let kind = special_of(&entry).unwrap_or(Special::Fifo);
                    if let Special::Char(0, 0) = kind {
                        return Err(at(Problem::BadContent {
                            what: "device",
                            detail: WHITEOUT_DEVICE.into(),
                        }));
                    }
                    sink.special(&path, kind, &meta, replace)
                }
                other => {
                    skipped_entries += 1;
                    if skipped_entries > MAX_WARNINGS {
                        continue;
                    }
                    warnings.push(format!(
                        "{entry_name}: skipped `{}`: unsupported tar entry type {other:?}",
                        crate::render::escape_for_message(&path, 200)
                    ));
                    Ok(())
                }
            };
            written.map_err(|e| at(problem_of(e)))?;
            if let (Some(t), Some(p)) = (&mut tally, &tally_path) {
                tally_entry(t, &mut entry, p, &skipped_devices);
            }
            if let (Some(what), Some(key)) = (counted, recount_key) {
                recount.written(&mut counts, key, what, replace);
            }
        }
        if let Some(t) = &mut tally {
            t.end_layer(layer.index);
        }
        for dir in retyped_dirs.drain(..) {
            if state.settled_by(&dir) == Some((layer.index, Settled::Dir)) {
                sink.mark_opaque(&dir)
                    .map_err(|e| fail(entry_name.clone(), problem_of(e)))?;
            }
        }
        let mut rest = archive.into_inner().into_inner();
        io::copy(&mut rest, &mut io::sink())
            .map_err(|e| fail(entry_name.clone(), tar_problem(e)))?;
        check_digests(layer, rest.digests(), &|p| fail(entry_name.clone(), p))?;
    }
    let mut unresolved = Vec::new();
    for link in pending_links.into_iter().flatten() {
        if skipped_devices.contains(&link.target) {
            continue;
        }
        // The target's final content is the one the link needs only if it comes from a layer
        // below the link's own. (From the link's own layer, it came after the link: a link to
        // an earlier entry was made on the spot.)
        match state.settled_by(&link.target) {
            Some((by, Settled::NonDir)) if by < link.layer => {
                sink.hardlink(&link.path, &link.target, link.replace)
                    .map_err(|e| {
                        ArchiveError::new(
                            &image.source_path,
                            Some(format!("hardlink {}", link.path)),
                            problem_of(e),
                        )
                    })?;
            }
            _ => unresolved.push(link),
        }
    }
    if !unresolved.is_empty() {
        if let Some(link) = copy_old_targets(image, unresolved, sink, sparse, limits)?.first() {
            let layer = &image.layers[link.layer];
            return Err(ArchiveError::new(
                &image.source_path,
                Some(format!(
                    "layer {} ({}): entry `{}`",
                    link.layer,
                    layer.path,
                    crate::render::escape_for_message(&link.path, 200)
                )),
                Problem::BadContent {
                    what: "hardlink",
                    detail: format!(
                        "refused: the hardlink's target `{}` is not a file of this or a lower layer",
                        crate::render::escape_for_message(&link.target, 200)
                    ),
                },
            ));
        }
    }
    if !skipped_devices.is_empty() {
        warnings.push(format!(
            "--no-devices: skipped {} device node(s)",
            skipped_devices.len()
        ));
    }
    if skipped_entries > MAX_WARNINGS {
        warnings.push(format!(
            "skipped {} more entries of unsupported tar entry types",
            skipped_entries - MAX_WARNINGS
        ));
    }
    sink.finish()
        .map_err(|e| ArchiveError::new(&image.source_path, None, problem_of(e)))?;
    if let Some(t) = tally {
        counts = t.into_counts(counts);
    }
    Ok(Outcome { counts, warnings })
}

/// The in-order extraction's first pass over a layer: its whiteouts and opaque markers,
/// carried out on what the layers below left. The names are checked again, and the digests, by
/// the pass that follows.
fn delete_first(
    image: &Image,
    layer: &crate::image::LayerRef,
    sink: &mut dyn Sink,
    entry_name: &str,
) -> Result<(), ArchiveError> {
    let fail = |what: String, p: Problem| ArchiveError::new(&image.source_path, Some(what), p);
    let blob = image.container.open_blob(&layer.path, entry_name)?;
    let mut archive = tar::Archive::new(TarGuard::new(Pipelined::start_sized(
        blob,
        false,
        image.container.stored_size(&layer.path),
    )));
    let entries = archive
        .entries()
        .map_err(|e| fail(entry_name.to_string(), tar_problem(e)))?;
    for entry in entries {
        let entry = entry.map_err(|e| fail(entry_name.to_string(), tar_problem(e)))?;
        let name = crate::rawname::from_bytes(&entry.path_bytes()).into_owned();
        let at = |p: Problem| {
            fail(
                format!(
                    "{entry_name}: entry `{}`",
                    crate::render::escape_for_message(&name, 200)
                ),
                p,
            )
        };
        match classify(&name).map_err(|e| at(bad_name(e)))? {
            EntryKind::Whiteout(p) => {
                if p.is_empty() {
                    return Err(at(bad_name(super::rules::BadName::WhiteoutOfRoot)));
                }
                sink.delete(&p).map_err(|e| at(problem_of(e)))?;
            }
            EntryKind::Opaque(d) => sink.clear_dir(&d).map_err(|e| at(problem_of(e)))?,
            EntryKind::Content(_) | EntryKind::AufsMeta => {}
        }
    }
    Ok(())
}

/// Tells the tally what an entry the in-order extraction just wrote was.
fn tally_entry<R: Read>(
    tally: &mut super::tally::Tally,
    entry: &mut tar::Entry<'_, R>,
    path: &str,
    skipped_devices: &HashSet<String>,
) {
    use crate::explore::node::NodeType;
    let Some(kind) = crate::explore::apply::node_type_of(entry.header().entry_type()) else {
        return;
    };
    if skipped_devices.contains(path) {
        return;
    }
    let link = match kind {
        NodeType::Hardlink => entry
            .link_name_bytes()
            .and_then(|t| clean_path(&crate::rawname::from_bytes(&t)).ok()),
        _ => None,
    };
    if link.as_ref().is_some_and(|t| skipped_devices.contains(t)) {
        return;
    }
    tally.content(path, kind, entry.size(), link.as_deref());
}

/// Hardlinks whose target was replaced or deleted by a higher layer keep the content the target
/// had in their own layer: find that version (the highest layer at or below the link's that has
/// the target, unless a layer in between deleted or replaced it) and write it at the link's
/// path. This re-reads those layers, with the same digest and truncation checks as the main
/// pass; only images with such links pay for it. Returns the links no layer can satisfy.
fn copy_old_targets(
    image: &Image,
    mut links: Vec<PendingLink>,
    sink: &mut dyn Sink,
    sparse: &SparseBudget,
    limits: &Limits,
) -> Result<Vec<PendingLink>, ArchiveError> {
    let top = links.iter().map(|l| l.layer).max().unwrap_or(0);
    let mut dead = Vec::new();
    for layer in image.layers[..=top].iter().rev() {
        let wanted: Vec<usize> = (0..links.len())
            .filter(|&i| links[i].layer >= layer.index)
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let entry_name = format!("layer {} ({})", layer.index, layer.path);
        let fail = |p: Problem| ArchiveError::new(&image.source_path, Some(entry_name.clone()), p);
        let blob = image.container.open_blob(&layer.path, &entry_name)?;
        let mut archive = tar::Archive::new(TarGuard::expanding(
            Pipelined::start_sized(blob, true, image.container.stored_size(&layer.path)),
            sparse.clone(),
        ));
        let mut written: HashSet<usize> = HashSet::new();
        let mut hidden: HashSet<usize> = HashSet::new();
        // The wanted links by target and by every directory above their target, so that each
        // entry costs a lookup, not a pass over all links.
        let mut by_target: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_dir: HashMap<&str, Vec<usize>> = HashMap::new();
        for &i in &wanted {
            let target = links[i].target.as_str();
            by_target.entry(target).or_default().push(i);
            let mut dir = super::rules::parent(target);
            while !dir.is_empty() {
                by_dir.entry(dir).or_default().push(i);
                dir = super::rules::parent(dir);
            }
        }
        let none: Vec<usize> = Vec::new();
        for (position, entry) in archive
            .entries()
            .map_err(|e| fail(tar_problem(e)))?
            .enumerate()
        {
            let mut entry = entry.map_err(|e| fail(tar_problem(e)))?;
            // In the link's own layer, what comes after the link does not concern it.
            let concerned =
                |i: &usize| links[*i].layer > layer.index || position < links[*i].position;
            let at_target = |p: &str| {
                by_target
                    .get(p)
                    .unwrap_or(&none)
                    .iter()
                    .filter(|i| concerned(i))
            };
            let below = |d: &str| {
                let all = if d.is_empty() {
                    &wanted
                } else {
                    by_dir.get(d).unwrap_or(&none)
                };
                all.iter().filter(|i| concerned(i))
            };
            // The main pass refused bad names already.
            let Ok(kind) = classify(&crate::rawname::from_bytes(&entry.path_bytes())) else {
                continue;
            };
            let path = match kind {
                EntryKind::AufsMeta => continue,
                EntryKind::Whiteout(p) => {
                    hidden.extend(at_target(&p).chain(below(&p)));
                    continue;
                }
                EntryKind::Opaque(d) => {
                    hidden.extend(below(&d));
                    continue;
                }
                EntryKind::Content(p) => p,
            };
            let entry_type = entry.header().entry_type();
            let is_file = matches!(
                entry_type,
                tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse
            );
            // A fifo or device node can be hardlinked too: the link gets a node of its own.
            let special = special_of(&entry).filter(|s| {
                !(limits.no_devices && matches!(s, Special::Char(..) | Special::Block(..)))
            });
            // A hardlink to a symlink is that symlink (linkat does not follow it).
            let symlink = (entry_type == tar::EntryType::Symlink).then(|| {
                entry
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default()
            });
            let linkable = is_file || special.is_some() || symlink.is_some();
            // Anything else at the target, or a non-directory above it, replaced it.
            if !linkable {
                hidden.extend(at_target(&path));
            }
            if !path.is_empty() && !entry_type.is_dir() {
                hidden.extend(below(&path));
            }
            let hits: Vec<usize> = at_target(&path).copied().collect();
            if hits.is_empty() || !linkable {
                continue;
            }
            let at = |p: Problem| {
                ArchiveError::new(
                    &image.source_path,
                    Some(format!(
                        "{entry_name}: entry `{}`",
                        crate::render::escape_for_message(&path, 200)
                    )),
                    p,
                )
            };
            let meta = meta_of(&mut entry).map_err(|e| at(Problem::CorruptTar(e)))?;
            // The first link gets the content; the others link to it. A later duplicate of the
            // target in this layer replaces what an earlier one wrote.
            let first = hits[0];
            let size = entry.size();
            let sparse = entry_type == tar::EntryType::GNUSparse;
            let mut exact = Exact {
                inner: &mut entry,
                n: 0,
                size,
                limits,
            };
            let replace = links[first].replace || written.contains(&first);
            match (special, &symlink) {
                (Some(kind), _) => sink.special(&links[first].path, kind, &meta, replace),
                (None, Some(target)) => sink.symlink(&links[first].path, target, &meta, replace),
                (None, None) => {
                    sink.file(&links[first].path, &meta, size, sparse, &mut exact, replace)
                }
            }
            .map_err(|e| at(problem_of(e)))?;
            for &other in &hits[1..] {
                let target = links[first].path.clone();
                let replace = links[other].replace || written.contains(&other);
                sink.hardlink(&links[other].path, &target, replace)
                    .map_err(|e| at(problem_of(e)))?;
            }
            written.extend(hits.iter().copied());
        }
        let mut rest = archive.into_inner().into_inner();
        io::copy(&mut rest, &mut io::sink()).map_err(|e| fail(tar_problem(e)))?;
        check_digests(layer, rest.digests(), &fail)?;
        // A layer's own file wins over its own whiteouts; a link whose target this layer only
        // deleted or replaced has nothing left to find further down.
        let mut kept = Vec::new();
        for (index, link) in links.into_iter().enumerate() {
            match (written.contains(&index), hidden.contains(&index)) {
                (true, _) => {}
                (false, true) => dead.push(link),
                (false, false) => kept.push(link),
            }
        }
        links = kept;
        if links.is_empty() {
            break;
        }
    }
    links.extend(dead);
    Ok(links)
}

/// The kind of a fifo or device node entry.
pub(crate) fn special_of<R: Read>(entry: &tar::Entry<'_, R>) -> Option<Special> {
    let h = entry.header();
    let major = || h.device_major().ok().flatten().unwrap_or(0);
    let minor = || h.device_minor().ok().flatten().unwrap_or(0);
    match h.entry_type() {
        tar::EntryType::Fifo => Some(Special::Fifo),
        tar::EntryType::Char => Some(Special::Char(major(), minor())),
        tar::EntryType::Block => Some(Special::Block(major(), minor())),
        _ => None,
    }
}

/// Why a 0/0 character device entry is refused: no device has those numbers, and the one
/// meaning it has is overlayfs' whiteout, so what the image shows depends on the runtime.
pub const WHITEOUT_DEVICE: &str = "refused: a 0/0 character device is what overlayfs takes for a whiteout (Docker and containerd on overlayfs hide it and what lies below it, other runtimes show a device), so the image means different trees to different runtimes";

/// Entries of unsupported types are named one by one up to here, then counted.
const MAX_WARNINGS: u64 = 100;

/// Refuses to remember more paths than [`MAX_TRACKED_PATHS`].
fn check_tracked(state: &TopDown) -> Result<(), Problem> {
    if state.tracked() > MAX_TRACKED_PATHS {
        return Err(Problem::OverLimit(OverLimit {
            what: "paths",
            limit: format!("{MAX_TRACKED_PATHS}"),
        }));
    }
    Ok(())
}

struct PendingLink {
    path: String,
    target: String,
    layer: usize,
    /// Which entry of its layer the link is: in its own layer, only what comes before it counts.
    position: usize,
    replace: bool,
}

/// What a failed sink call means: a truncated entry, a memory bound reached, or a write error.
fn problem_of(e: io::Error) -> Problem {
    if Exact::<&[u8]>::is_truncation(&e) {
        return Problem::CorruptTar(e);
    }
    if let Some(over) = OverLimit::find(&e) {
        return Problem::OverLimit(over.clone());
    }
    if let Some(limit) = LimitReached::find(&e) {
        return Problem::Limit(limit.clone());
    }
    Problem::Write(e)
}

/// Mode, owner, mtime and xattrs (pax `SCHILY.xattr.*` records) of an entry.
pub(crate) fn meta_of<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Meta> {
    let h = entry.header();
    let mut meta = Meta {
        mode: h.mode()?,
        uid: h.uid()?,
        gid: h.gid()?,
        mtime: h.mtime()?,
        xattrs: Vec::new(),
    };
    if let Some(exts) = entry.pax_extensions()? {
        for ext in exts {
            let ext = ext?;
            let Ok(key) = ext.key() else { continue };
            let number = || {
                let v = ext.value().unwrap_or("");
                // pax times may carry a fraction: `1700000000.5`.
                v.split('.').next().unwrap_or("").parse::<u64>().ok()
            };
            match key {
                // pax records override the header's fields (ids and times too large for it).
                "uid" => meta.uid = number().unwrap_or(meta.uid),
                "gid" => meta.gid = number().unwrap_or(meta.gid),
                "mtime" => meta.mtime = number().unwrap_or(meta.mtime),
                _ => {
                    if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                        // Linux's XATTR_SIZE_MAX: larger values cannot be set anyway.
                        let len = ext.value_bytes().len();
                        if len > 65536 {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!("the xattr {name} is {len} bytes (the limit is 65536)"),
                            ));
                        }
                        meta.xattrs
                            .push((name.to_string(), ext.value_bytes().to_vec()));
                    }
                }
            }
        }
    }
    // u32::MAX itself is chown's "leave unchanged" (-1), which would leave the file root's.
    if meta.uid >= u64::from(u32::MAX) || meta.gid >= u64::from(u32::MAX) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "owner {}:{} does not fit a Linux uid/gid",
                meta.uid, meta.gid
            ),
        ));
    }
    Ok(meta)
}

/// Entry data that must be exactly as long as its header says: the tar parser ends a short
/// entry quietly, and a truncated file must not pass for a complete one.
struct Exact<'a, R> {
    inner: &'a mut R,
    n: u64,
    size: u64,
    /// `--max-size` counts the bytes before the sink writes them.
    limits: &'a Limits,
}

#[derive(Debug, thiserror::Error)]
#[error("the entry's data ends after {got} of its {size} bytes (truncated layer?)")]
struct Truncated {
    got: u64,
    size: u64,
}

impl<R> Exact<'_, R> {
    fn is_truncation(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<Truncated>())
    }
}

impl<R: Read> Read for Exact<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        self.limits.bytes(n as u64)?;
        if n == 0 && !buf.is_empty() && self.n < self.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                Truncated {
                    got: self.n,
                    size: self.size,
                },
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_with_pax(records: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions(records.iter().copied()).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(0);
        h.set_uid(7);
        h.set_gid(8);
        h.set_mtime(9);
        h.set_mode(0o644);
        b.append_data(&mut h, "f", std::io::empty()).unwrap();
        b.into_inner().unwrap()
    }

    fn meta(tar: &[u8]) -> io::Result<Meta> {
        let mut archive = tar::Archive::new(tar);
        let mut entry = archive.entries()?.next().expect("one entry")?;
        meta_of(&mut entry)
    }

    #[test]
    fn pax_records_override_ids_and_times() {
        let tar = entry_with_pax(&[
            ("uid", b"5000000"),
            ("gid", b"6000000"),
            ("mtime", b"1700000000.25"),
        ]);
        let m = meta(&tar).unwrap();
        assert_eq!(
            (m.uid, m.gid, m.mtime),
            (5_000_000, 6_000_000, 1_700_000_000)
        );
        let plain = meta(&entry_with_pax(&[("comment", b"x")])).unwrap();
        assert_eq!((plain.uid, plain.gid, plain.mtime), (7, 8, 9));
    }

    #[test]
    fn owners_beyond_32_bits_are_refused_not_truncated_to_root() {
        let tar = entry_with_pax(&[("uid", b"4294967296")]);
        let err = meta(&tar).unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
    }
}

//! Hardlinks whose target an upper layer replaced or deleted: the content the target had in
//! the link's own layer, found by reading the layers again.

use std::collections::{HashMap, HashSet};
use std::io;

use super::engine::PendingLink;
use super::entry::{meta_of, problem_of, special_of, Exact};
use super::limits::Limits;
use super::merge::{Sink, Special};
use super::pipe::Pipelined;
use super::rules::{classify, EntryKind};
use crate::entries::{check_digests, tar_problem};
use crate::error::{ArchiveError, Problem};
use crate::image::Image;
use crate::targuard::{SparseBudget, TarGuard};

/// Hardlinks whose target was replaced or deleted by a higher layer keep the content the target
/// had in their own layer: find that version (the highest layer at or below the link's that has
/// the target, unless a layer in between deleted or replaced it) and write it at the link's
/// path. This re-reads those layers, with the same digest and truncation checks as the main
/// pass; only images with such links pay for it. Returns the links no layer can satisfy.
pub(super) fn copy_old_targets(
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

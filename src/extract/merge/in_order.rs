//! What only the in-order extraction does: a first pass over each layer carrying out its
//! whiteouts and opaque markers, and the tally of the tree its entries leave.

use std::io::Read;

use super::super::dir_sink::MarkerThroughSymlink;
use super::super::entry::problem_of;
use super::super::pipe::Pipelined;
use super::super::rules::{classify, clean_path, EntryKind};
use super::super::tally::Tally;
use super::{Engine, Sink};
use crate::entries::{bad_name, tar_problem};
use crate::error::{ArchiveError, Problem};
use crate::image::{Image, LayerRef};
use crate::targuard::TarGuard;

/// The in-order extraction's first pass over a layer: its whiteouts and opaque markers,
/// carried out on what the layers below left. The names are checked again, and the digests, by
/// the pass that follows. A marker below a lower layer's symlink is refused (where it acts
/// depends on the runtime), unless the layer itself hides that symlink: another of its markers
/// deletes it (the marker is tried again once the others are carried out, as they all act on
/// the layers below alike), or the layer has its own entry at the symlink's path or a
/// non-directory above it. Then the marker hides nothing, as from the top down and in overlayfs.
pub(super) fn delete_first(
    image: &Image,
    layer: &LayerRef,
    engine: &Engine,
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
        .entries_with_seek()
        .map_err(|e| fail(entry_name.to_string(), tar_problem(e)))?;
    let mut through_symlink = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| fail(entry_name.to_string(), tar_problem(e)))?;
        let name = crate::rawname::from_bytes(&entry.path_bytes()).into_owned();
        let at = |p: Problem| fail(entry_context(entry_name, &name), p);
        let decision = match classify(&name).map_err(|e| at(bad_name(e)))? {
            EntryKind::Whiteout(p) => engine.first_pass(Some(&p), ""),
            EntryKind::Opaque(d) => engine.first_pass(None, &d),
            EntryKind::Content(_) | EntryKind::AufsMeta => continue,
        }
        .map_err(at)?;
        match sink.carry_out(&decision) {
            Err(e) if symlink_of(&e).is_some() => through_symlink.push((decision, name)),
            other => other.map_err(|e| at(problem_of(e)))?,
        }
    }
    let mut replaced: std::collections::HashMap<String, bool> = Default::default();
    for (decision, name) in through_symlink {
        let Err(e) = sink.carry_out(&decision) else {
            continue;
        };
        let void = match symlink_of(&e) {
            Some(link) => match replaced.get(&link) {
                Some(&has) => has,
                None => {
                    let has = hides_lower(image, layer, &link, entry_name)?;
                    replaced.insert(link, has);
                    has
                }
            },
            None => false,
        };
        if !void {
            return Err(fail(entry_context(entry_name, &name), problem_of(e)));
        }
    }
    Ok(())
}

fn entry_context(layer: &str, name: &str) -> String {
    format!(
        "{layer}: entry `{}`",
        crate::rawname::escape_for_message(name, 200)
    )
}

/// The lower symlink a marker was refused below.
fn symlink_of(e: &std::io::Error) -> Option<String> {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<MarkerThroughSymlink>())
        .map(|m| m.0.clone())
}

/// Whether the layer hides what the layers below have at `path`: it has its own entry there, or
/// a non-directory above it (read once more: only for a marker below a lower symlink, which
/// real images do not have).
fn hides_lower(
    image: &Image,
    layer: &LayerRef,
    path: &str,
    entry_name: &str,
) -> Result<bool, ArchiveError> {
    let fail = |p: Problem| ArchiveError::new(&image.source_path, Some(entry_name.into()), p);
    let blob = image.container.open_blob(&layer.path, entry_name)?;
    let mut archive = tar::Archive::new(TarGuard::new(Pipelined::start_sized(
        blob,
        false,
        image.container.stored_size(&layer.path),
    )));
    for entry in archive
        .entries_with_seek()
        .map_err(|e| fail(tar_problem(e)))?
    {
        let entry = entry.map_err(|e| fail(tar_problem(e)))?;
        let name = crate::rawname::from_bytes(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if crate::explore::apply::node_type_of(kind).is_none() {
            // Neither makes nor hides anything (see `Applier::content`).
            continue;
        }
        if let Ok(EntryKind::Content(p)) = classify(&name) {
            let above = path
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.starts_with('/'));
            if p == path || (above && !kind.is_dir()) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Tells the tally what an entry the in-order extraction just wrote was.
pub(super) fn tally_entry<R: Read>(
    tally: &mut Tally,
    entry: &mut tar::Entry<'_, R>,
    path: &str,
    left_out: &dyn Fn(&str) -> bool,
) {
    use crate::explore::node::NodeType;
    let Some(kind) = crate::explore::apply::node_type_of(entry.header().entry_type()) else {
        return;
    };
    if left_out(path) {
        return;
    }
    let link = match kind {
        NodeType::Hardlink => entry
            .link_name_bytes()
            .and_then(|t| clean_path(&crate::rawname::from_bytes(&t)).ok()),
        _ => None,
    };
    if link.as_deref().is_some_and(left_out) {
        return;
    }
    tally.content(path, kind, entry.size(), link.as_deref());
}

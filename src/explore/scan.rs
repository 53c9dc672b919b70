//! Builds the merged tree of an image from its layers, each read once through the verified
//! layer stream ([`crate::entries::read_layer`]) and applied in order.

use std::io::Read as _;

use sha2::{Digest as _, Sha256};

use super::apply::{node_type_of, ApplyError, Change, Layering, Pending};
use super::node::{Data, Node, NodeType};
use super::tree::Tree;
use crate::entries::{bad_name, entry_context, layer_context, read_in_order, read_layer, TarEntry};
use crate::error::{ArchiveError, Problem};
use crate::extract::entry::{meta_of, special_of};
use crate::extract::limits::Limits;
use crate::extract::merge::Special;
use crate::extract::rules::{clean_path, is_aufs_meta, EntryKind};
use crate::image::Image;
use crate::image::LayerRef;
use crate::targuard::{PaxTap, SparseBudget};

#[derive(Debug, Clone, Copy, Default)]
pub struct ScanOptions {
    /// Hash every regular file's content (to compare two images by content).
    pub hash_files: bool,
    /// Report each layer's changes to the callback of [`build`].
    pub changes: bool,
}

/// Applies layers `0..=top` of `image`; `each_layer` gets every layer's index and (with
/// `options.changes`) its changes as soon as it is applied.
pub fn build(
    image: &Image,
    top: usize,
    limits: &Limits,
    options: ScanOptions,
    mut each_layer: impl FnMut(usize, Vec<Change>) -> Result<(), ArchiveError>,
) -> Result<Tree, ArchiveError> {
    let mut layering = Layering::new(options.changes);
    let sparse = SparseBudget::default();
    // Layers are read (decompressed, hashed, parsed) ahead, in parallel, and applied in order.
    let read = |layer| read_entries(image, layer, limits, &sparse, options.hash_files);
    read_in_order(&image.layers[..=top], read, |layer, read| {
        let (pending, hashes) = read?;
        layering.tree.hashes.extend(hashes);
        let changes = layering
            .apply(layer.index, pending)
            .map_err(|e| apply_error(image, layer, e))?;
        each_layer(layer.index, changes)
    })?;
    Ok(layering.tree)
}

/// A file's content hash, by where the content lies.
type Hashed = (Data, [u8; 32]);

/// One layer's entries, read and classified.
fn read_entries(
    image: &Image,
    layer: &LayerRef,
    limits: &Limits,
    sparse: &SparseBudget,
    hash_files: bool,
) -> Result<(Vec<Pending>, Vec<Hashed>), ArchiveError> {
    let mut pending = Vec::new();
    let mut hashes = Vec::new();
    read_layer(
        image,
        layer,
        limits,
        sparse,
        |position, kind, entry, pax| {
            let item = match kind {
                EntryKind::AufsMeta => return Ok(()),
                EntryKind::Whiteout(p) => Pending::Whiteout(p),
                EntryKind::Opaque(d) => Pending::Opaque(d),
                EntryKind::Content(path) => {
                    match content(entry, pax, layer.index, position, hash_files) {
                        Ok(Some(read)) => {
                            hashes.extend(read.hashed);
                            Pending::Content {
                                path,
                                node: read.node,
                                hardlink: read.hardlink,
                            }
                        }
                        Ok(None) => return Ok(()),
                        Err(p) => {
                            let name = crate::rawname::from_bytes(&entry.path_bytes()).into_owned();
                            let at = entry_context(layer, &name);
                            return Err(ArchiveError::new(&image.source_path, Some(at), p));
                        }
                    }
                }
            };
            pending.push(item);
            Ok(())
        },
    )?;
    Ok((pending, hashes))
}

fn apply_error(image: &Image, layer: &LayerRef, e: ApplyError) -> ArchiveError {
    ArchiveError::new(
        &image.source_path,
        Some(layer_context(layer)),
        Problem::BadContent {
            what: "entry",
            detail: format!(
                "entry `{}`: {}",
                crate::rawname::escape_for_message(&e.path, 200),
                crate::rawname::escape_for_message(&e.reason, 400)
            ),
        },
    )
}

/// What a content entry makes.
struct Read {
    node: Node,
    /// A hardlink's target.
    hardlink: Option<String>,
    /// A regular file's content hash, when hashing.
    hashed: Option<Hashed>,
}

/// The node a content entry makes; `None` for entry types that are not content.
fn content(
    entry: &mut TarEntry<'_>,
    pax: &PaxTap,
    layer: usize,
    position: usize,
    hash: bool,
) -> Result<Option<Read>, Problem> {
    let Some(kind) = node_type_of(entry.header().entry_type()) else {
        return Ok(None);
    };
    let meta = meta_of(entry, pax).map_err(Problem::CorruptTar)?;
    let mut node = Node {
        kind,
        mode: meta.mode & 0o7777,
        uid: meta.uid,
        gid: meta.gid,
        mtime: meta.mtime,
        layer,
        link: None,
        device: None,
        data: None,
        target_kind: None,
    };
    let link_name = || {
        entry
            .link_name_bytes()
            .map(|t| crate::rawname::from_bytes(&t).into_owned())
            .unwrap_or_default()
    };
    let mut hardlink = None;
    let mut hashed = None;
    match kind {
        NodeType::File => {
            let size = entry.size();
            let data = Data {
                layer: u32::try_from(layer).map_err(|_| too_many("layers"))?,
                position: u32::try_from(position).map_err(|_| too_many("entries in a layer"))?,
                size,
            };
            if hash {
                hashed = Some((data, sha256_of(entry, size)?));
            }
            node.data = Some(data);
        }
        NodeType::Symlink => {
            node.link = Some(link_name());
            // Linux gives every symlink 0777 whatever the header says, as any unpacked tree
            // shows it.
            node.mode = 0o777;
        }
        NodeType::Hardlink => {
            let target = clean_path(&link_name()).map_err(bad_name)?;
            if target.is_empty() || is_aufs_meta(&target) {
                return Err(Problem::BadContent {
                    what: "hardlink",
                    detail: format!(
                        "refused: the hardlink's target `{}` is the root or aufs metadata",
                        crate::rawname::escape_for_message(&target, 200)
                    ),
                });
            }
            hardlink = Some(target);
        }
        NodeType::Char | NodeType::Block => {
            node.device = match special_of(entry) {
                Some(Special::Char(a, b)) | Some(Special::Block(a, b)) => Some((a, b)),
                _ => None,
            }
        }
        NodeType::Dir | NodeType::Fifo => {}
    }
    Ok(Some(Read {
        node,
        hardlink,
        hashed,
    }))
}

fn too_many(what: &'static str) -> Problem {
    Problem::TooLarge {
        what,
        limit: u64::from(u32::MAX),
    }
}

/// Hashes an entry's `size` bytes; fewer is a truncated layer.
fn sha256_of(entry: &mut TarEntry<'_>, size: u64) -> Result<[u8; 32], Problem> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0u64;
    loop {
        let n = entry.read(&mut buf).map_err(Problem::CorruptTar)?;
        if n == 0 {
            break;
        }
        got += n as u64;
        hasher.update(&buf[..n]);
    }
    if got != size {
        return Err(Problem::CorruptTar(std::io::Error::other(format!(
            "the entry's data ends after {got} of its {size} bytes (truncated layer?)"
        ))));
    }
    Ok(hasher.finalize().into())
}

//! Showing an image the way docker's overlay2 driver shows it to a container: every layer
//! unpacked once into a content-addressed store, stacked as overlayfs lower layers, with an
//! upper and work directory per mount for copy-on-write.

pub mod mount;
pub mod store;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::digest::{chain_ids, Digest};
use crate::error::{ArchiveError, Problem};
use crate::extract::dir_sink::DirSink;
use crate::extract::fs::Root;
use crate::extract::merge::{merge_sharing, Order};
use crate::image::Image;
use crate::targuard::SparseBudget;
use rayon::prelude::*;
use store::Store;

/// What `ensure_layers` did.
pub struct Ensured {
    /// Layer diff directories, bottom first.
    pub diffs: Vec<PathBuf>,
    pub chain_ids: Vec<Digest>,
    pub unpacked: usize,
    pub reused: usize,
}

/// Makes sure layers `0..=top` of `image` are in the store, unpacking the missing ones.
pub fn ensure_layers(image: &Image, store: &Store, top: usize) -> Result<Ensured, ArchiveError> {
    let diff_ids = image.diff_ids_from_config()?;
    if diff_ids.len() < top + 1 {
        return Err(ArchiveError::new(
            &image.source_path,
            None,
            Problem::BadContent {
                what: "config",
                detail: format!(
                    "the config names {} diffIDs for {} layers",
                    diff_ids.len(),
                    image.layers.len()
                ),
            },
        ));
    }
    let chain = chain_ids(&diff_ids[..=top]);
    let io_err = |e: io::Error| {
        ArchiveError::new(&store.root.display().to_string(), None, Problem::Write(e))
    };
    // Lock every missing layer (in chain order, as every strata does, so two never deadlock),
    // then look again: another strata may have finished some while we waited.
    let mut locks = Vec::new();
    let mut missing = Vec::new();
    for (i, chain_id) in chain.iter().enumerate() {
        if !store.has_layer(chain_id) {
            locks.push(store.lock(chain_id).map_err(io_err)?);
            if !store.has_layer(chain_id) {
                missing.push(i);
            }
        }
    }
    // The layers are independent until their last step: unpack them in parallel, then finish
    // each from the bottom up, when the layers below it are in place.
    let sparse = SparseBudget::default();
    let unpacked: Vec<(usize, PathBuf, Unpacked)> = missing
        .par_iter()
        .map(|&i| {
            let staging = match store.staging(&chain[i]) {
                Ok(s) => s,
                Err(e) => return (i, PathBuf::new(), Err(io_err(e))),
            };
            let result = unpack_one(image, store, i, &staging.join("diff"), &sparse);
            (i, staging, result)
        })
        .collect();
    let mut failure = None;
    for (i, staging, result) in unpacked {
        let done = failure.is_none().then_some(result).and_then(|r| match r {
            Ok(x) => Some(x),
            Err(e) => {
                failure = Some(e);
                None
            }
        });
        let Some((mut sink, size)) = done else {
            let _ = remove_all(&staging);
            continue;
        };
        let lowers: Vec<PathBuf> = chain[..i]
            .iter()
            .rev()
            .map(|c| store.layer_dir(c).join("diff"))
            .collect();
        // Opened as needed, not one descriptor per layer below.
        sink.lower_layers = crate::extract::lowers::Lowers::on_demand(lowers);
        let completed = sink.complete().map_err(|e| {
            ArchiveError::new(&staging.display().to_string(), None, Problem::Write(e))
        });
        let committed = completed.and_then(|()| {
            store
                .commit(
                    &staging,
                    &chain[i],
                    &diff_ids[i],
                    i.checked_sub(1).map(|p| &chain[p]),
                    size,
                )
                .map_err(io_err)
        });
        if let Err(e) = committed {
            let _ = remove_all(&staging);
            failure = Some(e);
        }
    }
    drop(locks);
    if let Some(e) = failure {
        return Err(e);
    }
    let diffs = chain
        .iter()
        .map(|c| store.layer_dir(c).join("diff"))
        .collect();
    let unpacked = missing.len();
    let reused = chain.len() - unpacked;
    Ok(Ensured {
        diffs,
        chain_ids: chain,
        unpacked,
        reused,
    })
}

/// A layer's pass done (its sink, still to be completed, and its byte count), or why not.
type Unpacked = Result<(DirSink, u64), ArchiveError>;

fn open_roots(paths: &[PathBuf]) -> Result<Vec<Root>, ArchiveError> {
    paths
        .iter()
        .map(|p| {
            Root::open(p)
                .map_err(|e| ArchiveError::new(&p.display().to_string(), None, Problem::Write(e)))
        })
        .collect()
}

/// One layer's own entries into `diff`, whiteouts in overlay form; what needs the layers below
/// is left to [`DirSink::complete`].
fn unpack_one(
    image: &Image,
    store: &Store,
    index: usize,
    diff: &Path,
    sparse: &SparseBudget,
) -> Result<(DirSink, u64), ArchiveError> {
    let root = open_roots(&[diff.to_path_buf()])?.remove(0);
    let mut sink = DirSink::new(root);
    sink.defer_lower = true;
    sink.inherit_root_meta();
    sink.opaque_xattr = Some(if store.rootless {
        "user.overlay.opaque"
    } else {
        "trusted.overlay.opaque"
    });
    sink.whiteout_devices = true;
    let outcome = merge_sharing(image, index, &mut sink, Order::OverlayLayer(index), sparse)?;
    Ok((sink, outcome.counts.bytes))
}

/// Removes a directory tree strata made, without following symlinks in it.
pub fn remove_all(path: &Path) -> io::Result<()> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(());
    };
    let fd = rustix::fs::open(
        parent,
        rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::RDONLY,
        rustix::fs::Mode::empty(),
    )?;
    use std::os::unix::ffi::OsStrExt;
    Root::remove(&fd, &crate::rawname::from_bytes(name.as_bytes()))
}

/// A mount's own directory in the store: `mounts/<id>/` with `upper/`, `work/` and `info.json`.
pub fn mount_dir(store: &Store, mountpoint: &Path) -> PathBuf {
    let id = Digest::of_bytes(mountpoint.as_os_str().as_encoded_bytes());
    store.root.join("mounts").join(&id.hex()[..16])
}

pub fn read_mount_info(dir: &Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&fs::read(dir.join("info.json")).ok()?).ok()
}

/// The `l/` short names of the given layer diff dirs, if every one is a layer of `store`.
pub fn short_names(store: &Store, diffs: &[PathBuf]) -> Option<Vec<String>> {
    diffs
        .iter()
        .map(|d| {
            let link = fs::read_to_string(d.parent()?.join("link")).ok()?;
            Some(link.trim().to_string())
        })
        .collect::<Option<Vec<_>>>()
        .filter(|names| !names.is_empty() && store.root.join("l").is_dir())
}

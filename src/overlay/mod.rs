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
use crate::extract::merge::{merge_with, Order};
use crate::image::Image;
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
    let (mut unpacked, mut reused) = (0, 0);
    let mut diffs = Vec::new();
    for (i, chain_id) in chain.iter().enumerate() {
        if !store.has_layer(chain_id) {
            let _lock = store.lock(chain_id).map_err(io_err)?;
            // Another strata may have finished it while we waited for the lock.
            if !store.has_layer(chain_id) {
                let staging = store.staging(chain_id).map_err(io_err)?;
                let lowers: Vec<PathBuf> = chain[..i]
                    .iter()
                    .rev()
                    .map(|c| store.layer_dir(c).join("diff"))
                    .collect();
                let result = unpack_one(image, store, i, &staging.join("diff"), &lowers);
                match result {
                    Ok(size) => store
                        .commit(
                            &staging,
                            chain_id,
                            &diff_ids[i],
                            i.checked_sub(1).map(|p| &chain[p]),
                            size,
                        )
                        .map_err(io_err)?,
                    Err(e) => {
                        let _ = remove_all(&staging);
                        return Err(e);
                    }
                }
                unpacked += 1;
            } else {
                reused += 1;
            }
        } else {
            reused += 1;
        }
        diffs.push(store.layer_dir(chain_id).join("diff"));
    }
    Ok(Ensured {
        diffs,
        chain_ids: chain,
        unpacked,
        reused,
    })
}

fn unpack_one(
    image: &Image,
    store: &Store,
    index: usize,
    diff: &Path,
    lowers: &[PathBuf],
) -> Result<u64, ArchiveError> {
    let open = |p: &Path| {
        Root::open(p)
            .map_err(|e| ArchiveError::new(&p.display().to_string(), None, Problem::Write(e)))
    };
    let mut sink = DirSink::new(open(diff)?);
    sink.lower_layers = lowers.iter().map(|p| open(p)).collect::<Result<_, _>>()?;
    sink.inherit_root_meta();
    sink.opaque_xattr = Some(if store.rootless {
        "user.overlay.opaque"
    } else {
        "trusted.overlay.opaque"
    });
    sink.whiteout_devices = true;
    let outcome = merge_with(image, index, &mut sink, Order::OverlayLayer(index))?;
    Ok(outcome.counts.bytes)
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
    Root::remove(&fd, &name.to_string_lossy())
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

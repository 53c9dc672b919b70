//! The layers an image needs, in the store: each missing one unpacked (a few at a time, in
//! parallel) into a staging directory by the extraction's merge with the overlay converter,
//! completed against the layers below it once they are published, then published itself.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use super::layer::{layer_sink, writes_through_lower, LayerMarks, LayerSink};
use super::lowers::Lowers;
use super::store::{LayerLock, LayerState, LockMode, Staging, Store};
use super::{too_many_layers, MAX_LAYERS};
use crate::digest::{chain_ids, Digest};
use crate::error::{ArchiveError, Problem};
use crate::extract::fs::Root;
use crate::extract::limits::Limits;
use crate::extract::merge::{merge_sharing, Order};
use crate::image::Image;
use crate::targuard::SparseBudget;
use rayon::prelude::*;

/// What `ensure_layers` did.
pub struct Ensured {
    /// Layer diff directories, bottom first.
    pub diffs: Vec<PathBuf>,
    pub chain_ids: Vec<Digest>,
    pub unpacked: usize,
    pub reused: usize,
    /// One lock per layer, held until the caller has recorded that it uses them (a mount's
    /// `info.json`): until then `store rm` and `prune` cannot take a layer away.
    pub locks: Vec<LayerLock>,
}

/// Makes sure layers `0..=top` of `image` are in the store, unpacking the missing ones.
pub fn ensure_layers(
    image: &Image,
    store: &Store,
    top: usize,
    limits: &Limits,
) -> Result<Ensured, ArchiveError> {
    let diff_ids = image.diff_ids_from_config()?;
    check_layer_count(image, &diff_ids, top, limits)?;
    let chain = chain_ids(&diff_ids[..=top]);
    let io_err = |e: io::Error| {
        ArchiveError::new(&store.root.display().to_string(), None, Problem::Write(e))
    };
    let (locks, missing) = lock_chain(store, &chain).map_err(io_err)?;
    let job = Job {
        image,
        store,
        chain: &chain,
        diff_ids: &diff_ids,
        sparse: SparseBudget::default(),
        limits,
    };
    unpack_missing(&job, &missing)?;
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
        locks,
    })
}

/// Refuses, before anything is unpacked, a config with fewer diffIDs than layers and more
/// layers than `--max-layers` or overlayfs allow.
fn check_layer_count(
    image: &Image,
    diff_ids: &[Digest],
    top: usize,
    limits: &Limits,
) -> Result<(), ArchiveError> {
    let refuse = |detail: String| {
        ArchiveError::new(
            &image.source_path,
            None,
            Problem::BadContent {
                what: "image",
                detail,
            },
        )
    };
    if diff_ids.len() < top + 1 {
        return Err(refuse(format!(
            "the config names {} diffIDs for {} layers",
            diff_ids.len(),
            image.layers.len()
        )));
    }
    limits
        .layers(top + 1)
        .map_err(|e| ArchiveError::new(&image.source_path, None, e.into()))?;
    if top + 1 > MAX_LAYERS {
        return Err(too_many_layers(&image.source_path, top + 1));
    }
    Ok(())
}

/// Unpacks the layers `missing` (indexes into the chain, bottom first). Layers are independent
/// until their last step: a few are unpacked at a time in parallel (what a layer keeps for its
/// completion stays bounded), then each is finished bottom-up once the layers below it are
/// published. After a failure the rest is discarded.
fn unpack_missing(job: &Job, missing: &[usize]) -> Result<(), ArchiveError> {
    let store = job.store;
    let io_err = |e: io::Error| {
        ArchiveError::new(&store.root.display().to_string(), None, Problem::Write(e))
    };
    let window = rayon::current_num_threads().max(1);
    let mut failure = None;
    for batch in missing.chunks(window) {
        let unpacked: Vec<(usize, Option<Staging>, Unpacked)> = batch
            .par_iter()
            .map(|&i| match store.staging(&job.chain[i]) {
                Ok(staging) => {
                    let result = unpack_one(job, i, &staging, None);
                    (i, Some(staging), result)
                }
                Err(e) => (i, None, Err(io_err(e))),
            })
            .collect();
        for (i, staging, result) in unpacked {
            let Some(staging) = staging else {
                failure = failure.or(result.err());
                continue;
            };
            let outcome = match (failure.is_none(), result) {
                (true, Ok(unpacked)) => finish_one(job, i, &staging, unpacked),
                (true, Err(e)) => Err(e),
                (false, _) => Ok(()),
            };
            if let Err(e) = outcome {
                failure = Some(e);
            }
            if failure.is_some() {
                let _ = store.discard(&staging);
            }
        }
        if failure.is_some() {
            break;
        }
    }
    failure.map_or(Ok(()), Err)
}

/// Locks every layer of the chain, bottom first (so two strata never wait on each other in a
/// circle): shared for a complete layer, exclusive for one to build. Returns the locks and
/// the indexes of the layers to build. An incomplete leftover is removed; something strata
/// did not make is refused.
fn lock_chain(store: &Store, chain: &[Digest]) -> io::Result<(Vec<LayerLock>, Vec<usize>)> {
    let mut locks = Vec::with_capacity(chain.len());
    let mut missing = Vec::new();
    let foreign = |c: &Digest, why: String| {
        io::Error::other(format!(
            "{}: {why}; strata did not make it, so it is not used (remove it by hand)",
            store.layer_dir(c).display()
        ))
    };
    for (i, c) in chain.iter().enumerate() {
        loop {
            match store.layer_state(c)? {
                LayerState::Complete => {
                    let lock = store.lock(c, LockMode::Shared, true)?;
                    // A removal may have finished while we waited.
                    if store.layer_state(c)? == LayerState::Complete {
                        locks.extend(lock);
                        break;
                    }
                }
                LayerState::Foreign(why) => return Err(foreign(c, why)),
                LayerState::Missing | LayerState::Incomplete => {
                    let lock = store.lock(c, LockMode::Exclusive, true)?;
                    match store.layer_state(c)? {
                        LayerState::Complete => {}
                        LayerState::Foreign(why) => return Err(foreign(c, why)),
                        LayerState::Incomplete => {
                            store.remove_layer(c)?;
                            missing.push(i);
                        }
                        LayerState::Missing => missing.push(i),
                    }
                    locks.extend(lock);
                    break;
                }
            }
        }
    }
    Ok((locks, missing))
}

/// Completes one unpacked layer against the (published) layers below it and publishes it.
fn finish_one(
    job: &Job,
    i: usize,
    staging: &Staging,
    (mut sink, size, spent): (LayerSink, u64, Spent),
) -> Result<(), ArchiveError> {
    let (store, chain) = (job.store, job.chain);
    let write_err = |e: io::Error| {
        ArchiveError::new(&staging.path.display().to_string(), None, Problem::Write(e))
    };
    // Opened as needed, relative to the store's fd: not one descriptor per layer below.
    let below: Vec<Digest> = chain[..i].iter().rev().cloned().collect();
    let lowers = store.lowers(below.clone()).map_err(write_err)?;
    let size = match sink.complete(lowers) {
        Err(e) if writes_through_lower(&e) => {
            // The layer writes below a lower layer's symlink: unpacked again, each entry where
            // the symlinks lead, now that the layers below exist.
            let marks = sink.into_marks();
            // The image's entries count once, as extract counts them: the first pass's go back.
            spent.give_back(&job.sparse);
            let lowers = store.lowers(below.clone()).map_err(write_err)?;
            let (mut again, size, _) = unpack_one(job, i, staging, Some((lowers, marks)))?;
            let lowers = store.lowers(below).map_err(write_err)?;
            again.complete(lowers).map_err(write_err)?;
            size
        }
        other => {
            other.map_err(write_err)?;
            drop(sink);
            size
        }
    };
    store
        .commit(
            staging,
            &chain[i],
            &job.diff_ids[i],
            i.checked_sub(1).map(|p| &chain[p]),
            size,
        )
        .map_err(write_err)
}

/// What the unpacking of every layer of one image shares.
struct Job<'a> {
    image: &'a Image,
    store: &'a Store,
    /// The layers' chainIDs and diffIDs, bottom first.
    chain: &'a [Digest],
    diff_ids: &'a [Digest],
    /// One sparse-file budget for the image, whichever layer spends it.
    sparse: SparseBudget,
    limits: &'a Limits,
}

/// A layer's pass done (its sink, still to be completed, and its byte count), or why not.
type Unpacked = Result<(LayerSink, u64, Spent), ArchiveError>;

/// What one pass over a layer counted against the image's limits and sparse budget.
struct Spent {
    limits: Limits,
    sparse: u64,
}

impl Spent {
    fn give_back(&self, budget: &SparseBudget) {
        self.limits.give_back();
        let _ = budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
            Some(t.saturating_sub(self.sparse))
        });
    }
}

/// One layer's own entries into `diff`, whiteouts in overlay form; what needs the layers below
/// is left to [`LayerSink::complete`]. With `through`, the lower layers and the layer's marks,
/// the entries are written through the lower layers' symlinks, over whatever an earlier pass
/// left in `diff`.
fn unpack_one(
    job: &Job,
    index: usize,
    staging: &Staging,
    through: Option<(Lowers, LayerMarks)>,
) -> Unpacked {
    let write_err = |e: io::Error| {
        ArchiveError::new(&staging.path.display().to_string(), None, Problem::Write(e))
    };
    let diff = job.store.open_staging_diff(staging).map_err(write_err)?;
    if through.is_some() {
        for name in Root::list(&diff).map_err(write_err)? {
            Root::remove(&diff, &name).map_err(write_err)?;
        }
    }
    let mut sink = layer_sink(Root::from_fd(diff), job.store.rootless);
    if let Some((lowers, marks)) = through {
        sink.through_lowers(lowers, marks);
    }
    let limits = job.limits.for_layer();
    let outcome = merge_sharing(
        job.image,
        index,
        &mut sink,
        Order::OverlayLayer(index),
        &job.sparse,
        &limits,
    )?;
    let spent = Spent {
        limits,
        sparse: outcome.sparse_claimed,
    };
    Ok((sink, outcome.counts.bytes, spent))
}

//! Showing an image the way docker's overlay2 driver shows it to a container: every layer
//! unpacked once into a content-addressed store, stacked as overlayfs lower layers, with an
//! upper and work directory per mount for copy-on-write.

pub mod mount;
pub mod mountinfo;
pub mod store;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::digest::{chain_ids, Digest};
use crate::error::{ArchiveError, Problem};
use crate::extract::dir_sink::{writes_through_lower, DirSink, LayerMarks};
use crate::extract::fs::Root;
use crate::extract::limits::Limits;
use crate::extract::lowers::Lowers;
use crate::extract::merge::{merge_sharing, Order};
use crate::image::Image;
use crate::proc::Stamp;
use crate::targuard::SparseBudget;
use rayon::prelude::*;
use store::{LayerLock, LayerState, LockMode, Staging, Store};

/// overlayfs stacks at most this many lower layers (the kernel's `OVL_MAX_STACK`).
pub const MAX_LAYERS: usize = 500;

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
        return Err(refuse(format!(
            "{} layers: overlayfs stacks at most {MAX_LAYERS} lower layers (mount fewer with --layer N, or use extract)",
            top + 1
        )));
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

/// The lower layers of an image read from a data root (`docker-root:`, `containers-storage:`),
/// used where they lie: each layer's `diff/` directory, which the graphdriver keeps in overlay
/// form already (whiteouts as 0/0 devices, `trusted.overlay.opaque`). Nothing is copied.
pub struct InPlace {
    /// The data root, canonical (for the paths the kernel is handed when it takes no fds).
    pub root: PathBuf,
    /// Each layer's `diff/`, relative to the root, bottom first.
    pub rels: Vec<String>,
    /// The same, opened beneath the root without following any symlink, bottom first: what
    /// was checked is what gets mounted.
    pub fds: Vec<std::os::fd::OwnedFd>,
}

impl InPlace {
    /// The layers' directories as absolute paths, bottom first.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.rels.iter().map(|r| self.root.join(r)).collect()
    }
}

/// For an image of a data root, its layers `0..=top` in place: each `diff/` must be a real
/// directory (not a symlink, nothing on the way a symlink), or the whole is refused with the
/// path named. None for an image read from an archive.
pub fn in_place_lowers(image: &Image, top: usize) -> Result<Option<InPlace>, ArchiveError> {
    let Some(root) = image.container.data_root() else {
        return Ok(None);
    };
    if top + 1 > MAX_LAYERS {
        return Err(ArchiveError::new(
            &image.source_path,
            None,
            Problem::BadContent {
                what: "image",
                detail: format!(
                    "{} layers: overlayfs stacks at most {MAX_LAYERS} lower layers (mount fewer with --layer N, or use extract)",
                    top + 1
                ),
            },
        ));
    }
    let refuse = |rel: &str, detail: String| {
        ArchiveError::new(
            &root.display(),
            Some(rel.to_string()),
            Problem::BadContent {
                what: "layer directory",
                detail,
            },
        )
    };
    let mut rels = Vec::with_capacity(top + 1);
    let mut fds = Vec::with_capacity(top + 1);
    for layer in &image.layers[..=top] {
        let rel = root.diff_dir(&layer.path)?;
        // Each step on the way (`overlay2`, `overlay2/<cache-id>`, then `diff`) in turn, so
        // the message names the one that is wrong.
        let mut at = String::new();
        for part in rel.split('/') {
            if !at.is_empty() {
                at.push('/');
            }
            at.push_str(part);
            if at != rel {
                if let Some(rustix::fs::FileType::Symlink) = root.kind_of(&at)? {
                    return Err(refuse(
                        &at,
                        format!("is a symlink (on the way to {rel}); links in a data root are not followed"),
                    ));
                }
            }
        }
        match root.kind_of(&rel)? {
            None => {
                return Err(refuse(
                    &rel,
                    "does not exist: the data root lacks this layer's files".into(),
                ))
            }
            Some(rustix::fs::FileType::Directory) => {}
            Some(rustix::fs::FileType::Symlink) => {
                return Err(refuse(
                    &rel,
                    "is a symlink, not a directory; links in a data root are not followed".into(),
                ))
            }
            Some(other) => {
                return Err(refuse(
                    &rel,
                    format!("is not a directory ({other:?}), so it cannot be a lower layer"),
                ))
            }
        }
        // Opened with no symlink anywhere on the way (a linked parent directory is refused).
        let fd = root.open_dir(&rel)?;
        let st = rustix::fs::fstat(&fd).map_err(|e| {
            ArchiveError::new(&root.display(), Some(rel.clone()), Problem::Io(e.into()))
        })?;
        if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::Directory {
            return Err(refuse(&rel, "is not a directory".into()));
        }
        rels.push(rel);
        fds.push(fd);
    }
    let canonical = root
        .dir
        .canonicalize()
        .map_err(|e| ArchiveError::new(&root.display(), None, Problem::Io(e)))?;
    Ok(Some(InPlace {
        root: canonical,
        rels,
        fds,
    }))
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
    (mut sink, size, spent): (DirSink, u64, Spent),
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
type Unpacked = Result<(DirSink, u64, Spent), ArchiveError>;

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
/// is left to [`DirSink::complete`]. With `through`, the lower layers and the layer's marks,
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
    let mut sink = DirSink::for_store(Root::from_fd(diff), job.store.rootless);
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

/// One mount's (or shell session's) record: `mounts/<id>/info.json`.
pub struct MountRecord {
    pub id: String,
    pub info: serde_json::Value,
}

impl MountRecord {
    pub fn dir(&self, store: &Store) -> PathBuf {
        store.root.join("mounts").join(&self.id)
    }

    /// The mount source strata gives the overlay, by which mountinfo names it.
    pub fn source(&self) -> String {
        mount_source(&self.id)
    }

    pub fn mountpoint(&self) -> Option<&str> {
        self.info["mountpoint"].as_str()
    }

    /// The chainIDs of the layers it uses.
    pub fn layers(&self) -> impl Iterator<Item = &str> {
        self.info["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
    }

    /// Whether the mount still exists: a shell session while its strata runs, a mount while an
    /// overlay with its source or upper dir is in this namespace's mount table.
    pub fn is_live(&self, store: &Store, table: &[mountinfo::MountEntry]) -> bool {
        if let (Some(pid), Some(start)) =
            (self.info["pid"].as_u64(), self.info["start_time"].as_u64())
        {
            let owner = Stamp {
                pid: pid as u32,
                start,
            };
            if owner.is_alive() {
                return true;
            }
        }
        mountinfo::overlay_in_use(table, &self.source(), &self.dir(store).join("upper"))
    }
}

pub fn mount_source(id: &str) -> String {
    format!("strata-{id}")
}

/// Every record under `mounts/` that strata could read.
pub fn mount_records(store: &Store) -> Vec<MountRecord> {
    let Ok(dir) = store.open_dir("mounts") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for id in Root::list(&dir).unwrap_or_default() {
        let Some(bytes) = store.read_small(&format!("mounts/{id}/info.json"), 1 << 20) else {
            continue;
        };
        if let Ok(info) = serde_json::from_slice(&bytes) {
            out.push(MountRecord { id, info });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// A fresh `mounts/<random id>/` (0700) for one mount; its id.
pub fn new_mount_dir(store: &Store) -> io::Result<String> {
    let mounts = store.open_dir("mounts")?;
    loop {
        let id = random_id()?;
        match rustix::fs::mkdirat(&mounts, id.as_str(), rustix::fs::Mode::from_raw_mode(0o700)) {
            Ok(()) => return Ok(id),
            Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Removes `mounts/<id>` (never through a symlink).
pub fn remove_mount_dir(store: &Store, id: &str) -> io::Result<()> {
    let mounts = store.open_dir("mounts")?;
    Root::remove(&mounts, id)
}

/// 16 random hex digits, for names that must not repeat (mount and session dirs).
pub fn random_id() -> io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}

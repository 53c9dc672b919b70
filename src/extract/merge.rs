//! Applying layers to a sink, as the rule engine ([`super::engine`]) decides: from the top
//! down, each path written once by the highest layer that has it (lower-layer content that is
//! hidden is never written, so nothing is written and then deleted); in order, deleting what
//! whiteouts name; or one layer alone, for an overlayfs layer store. Directory metadata and
//! hardlinks are settled at the end.

use std::io::{self, Read};

use super::engine::{Decision, Engine, Link};
use super::entry::{meta_of, problem_of, special_of, Exact, FileData};
use super::fs::Meta;
use super::layer_stream::LayerStream;
use super::limits::Limits;
use super::pipe::Pipelined;
use super::rules::{classify, EntryKind};
use super::shared_read::SharedRead;
use super::tally::{Counted, Recount, Tally};
use crate::entries::{bad_name, check_digests, tar_problem};
use crate::error::{ArchiveError, Problem};
use crate::image::{Image, LayerRef};
use crate::targuard::{PaxTap, SparseBudget, TarGuard};

mod in_order;
mod links;

use in_order::{delete_first, tally_entry};

pub use super::engine::Order;

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
        data: &mut dyn FileData,
        replace: bool,
    ) -> io::Result<()>;
    fn dir(&mut self, path: &str, meta: &Meta, replace: bool) -> io::Result<()>;
    fn symlink(&mut self, path: &str, target: &[u8], meta: &Meta, replace: bool) -> io::Result<()>;
    fn special(&mut self, path: &str, kind: Special, meta: &Meta, replace: bool) -> io::Result<()>;
    /// `target` already holds its final content.
    fn hardlink(&mut self, path: &str, target: &str, replace: bool) -> io::Result<()>;
    /// Called once at the end: directory metadata and anything else deferred.
    fn finish(&mut self) -> io::Result<()>;
    /// Carries out what the rule engine decided beyond writing an entry: the parent a hidden
    /// entry leaves, a deletion before a layer's entries, an overlayfs whiteout or opaque mark.
    /// A sink that cannot hold a decision refuses it.
    fn carry_out(&mut self, decision: &Decision) -> io::Result<()>;
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
    /// What the layers' sparse entries claimed of the shared sparse budget.
    pub sparse_claimed: u64,
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

/// [`merge`], applying the layers in the given order.
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
    let engine = Engine::new(order);
    let layers = engine.layers(top);
    let mut applier = Applier {
        image,
        sink,
        limits,
        sparse,
        // In order: the tree the entries leave, for the summary's counts.
        tally: (order == Order::InOrder).then(Tally::default),
        engine,
        counts: Counts::default(),
        warnings: Vec::new(),
        skipped_entries: 0,
        recount: Recount::default(),
        layer_name: String::new(),
        sparse_claimed: 0,
        stream: None,
        pax: PaxTap::default(),
    };
    for index in layers {
        applier.layer(&image.layers[index])?;
    }
    applier.finish()
}

/// One merge's progress: the engine's decisions carried out on the sink, and counted.
struct Applier<'a> {
    image: &'a Image,
    sink: &'a mut dyn Sink,
    limits: &'a Limits,
    sparse: &'a SparseBudget,
    engine: Engine,
    counts: Counts,
    warnings: Vec<String>,
    /// Entries of unsupported types, named in `warnings` up to [`MAX_WARNINGS`].
    skipped_entries: u64,
    tally: Option<Tally>,
    recount: Recount,
    /// `layer N (PATH)`, for messages about the layer being read.
    layer_name: String,
    sparse_claimed: u64,
    /// The stream of the layer being read, for data handed to the sink without a copy.
    stream: Option<LayerStream>,
    /// The pax records of the entry being read, as the layer's guard read them.
    pax: PaxTap,
}

impl Applier<'_> {
    fn fail(&self, what: String, p: Problem) -> ArchiveError {
        ArchiveError::new(&self.image.source_path, Some(what), p)
    }

    /// Reads one layer and carries out what its entries do.
    fn layer(&mut self, layer: &LayerRef) -> Result<(), ArchiveError> {
        self.engine.next_layer(layer.index);
        self.recount.next_layer();
        let entry_name = format!("layer {} ({})", layer.index, layer.path);
        self.layer_name = entry_name.clone();
        if self.engine.deletes_first() {
            delete_first(self.image, layer, &self.engine, self.sink, &entry_name)?;
        }
        let container = &self.image.container;
        let section = container.blob_section(&layer.path, &entry_name)?;
        // Every plain layer, small ones too: one thread spawn is all it costs them, and one
        // read path for all plain layers is tested by every plain fixture and corpus image.
        let source = match section.filter(SharedRead::is_plain) {
            Some(plain) => Pipelined::shared(plain),
            None => {
                let blob = container.open_blob(&layer.path, &entry_name)?;
                let blob_digest = !matches!(self.engine.order(), Order::OverlayLayer(_));
                let size = container.stored_size(&layer.path);
                Pipelined::start_sized(blob, blob_digest, size)
            }
        };
        let mut guard = TarGuard::expanding(source, self.sparse.clone());
        self.pax = guard.pax_tap();
        let stream = LayerStream::new(guard);
        let mut archive = tar::Archive::new(stream.clone());
        self.stream = Some(stream);
        // Hidden entries' data is passed over in the stream's own buffers (LayerStream's Seek).
        let entries = archive
            .entries_with_seek()
            .map_err(|e| self.fail(entry_name.clone(), tar_problem(e)))?;
        for (position, entry) in entries.enumerate() {
            let mut entry = entry.map_err(|e| self.fail(entry_name.clone(), tar_problem(e)))?;
            if let Some(stream) = &self.stream {
                stream
                    .check_entry(entry.raw_header_position())
                    .map_err(|e| self.fail(entry_name.clone(), tar_problem(e)))?;
            }
            let name = crate::rawname::from_bytes(&entry.path_bytes()).into_owned();
            self.entry(&mut entry, &name, position).map_err(|p| {
                let at = crate::rawname::escape_for_message(&name, 200);
                self.fail(format!("{entry_name}: entry `{at}`"), p)
            })?;
        }
        if let Some(t) = &mut self.tally {
            t.end_layer(layer.index);
        }
        for decision in self.engine.end_layer() {
            self.carry_out(&decision)
                .map_err(|e| self.fail(entry_name.clone(), problem_of(e)))?;
        }
        drop(archive);
        let guard = self.stream.take().and_then(LayerStream::into_guard);
        let guard = guard.ok_or_else(|| {
            self.fail(
                entry_name.clone(),
                tar_problem(io::Error::other(
                    "internal error: the layer stream is still in use",
                )),
            )
        })?;
        self.sparse_claimed += guard.sparse_claimed();
        let mut rest = guard.into_inner();
        io::copy(&mut rest, &mut io::sink())
            .map_err(|e| self.fail(entry_name.clone(), tar_problem(e)))?;
        check_digests(layer, rest.digests(), &|p| self.fail(entry_name.clone(), p))
    }

    /// One entry, named `name` in its tar, the `position`th of its layer.
    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
        position: usize,
    ) -> Result<(), Problem> {
        self.limits.entry()?;
        let decision = match classify(name).map_err(bad_name)? {
            EntryKind::AufsMeta => return Ok(()),
            EntryKind::Whiteout(p) => {
                self.counts.whiteouts += 1;
                let d = self.engine.whiteout(&p)?;
                if let Some(t) = &mut self.tally {
                    t.whiteout(&p);
                }
                d
            }
            EntryKind::Opaque(d) => {
                self.counts.whiteouts += 1;
                let decision = self.engine.opaque(&d)?;
                if let Some(t) = &mut self.tally {
                    t.opaque(&d);
                }
                decision
            }
            EntryKind::Content(p) => return self.content(entry, p, position),
        };
        self.carry_out(&decision).map_err(problem_of)
    }

    /// What the engine decided for a whiteout, an opaque marker or a hidden entry.
    fn carry_out(&mut self, decision: &Decision) -> io::Result<()> {
        self.sink.carry_out(decision)
    }

    /// A content entry at (clean) `path`.
    fn content<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: String,
        position: usize,
    ) -> Result<(), Problem> {
        let header_type = entry.header().entry_type();
        if crate::explore::apply::node_type_of(header_type).is_none() {
            // Not a node of any tree (a pax global header, a volume label, ...): it neither
            // makes nor hides anything, as in overlayfs, where the layer's own directory
            // simply lacks it, and as in `ls`. A global header is tar metadata (`git archive`
            // writes one), passed over without a word, as Docker does; other types are named.
            if !header_type.is_pax_global_extensions() {
                self.skipped(&path, header_type);
            }
            return Ok(());
        }
        if header_type == tar::EntryType::Link {
            // Checked whether the link shows or an upper layer hides it: in order (and in the
            // layer store, one layer at a time) it is made, so every way refuses it alike.
            self.engine
                .link_target(&path, &entry.link_name_bytes().unwrap_or_default())?;
        }
        let tally_path = self.tally.is_some().then(|| path.clone());
        let decision = match header_type {
            tar::EntryType::Symlink | tar::EntryType::Link => self.engine.maybe_symlink(&path)?,
            _ => self.engine.content(&path, header_type.is_dir())?,
        };
        let recount_key = self
            .tally
            .is_none()
            .then(|| self.engine.decided_key())
            .flatten();
        let Decision::Write { replace } = decision else {
            self.counts.hidden += 1;
            return self.carry_out(&decision).map_err(problem_of);
        };
        let meta = meta_of(entry, &self.pax).map_err(Problem::CorruptTar)?;
        let counted = self.write(entry, path, &meta, replace, position)?;
        if let (Some(t), Some(p)) = (&mut self.tally, &tally_path) {
            let left_out = |p: &str| self.engine.left_out(p);
            tally_entry(t, entry, p, &left_out);
        }
        if let (Some(what), Some(key)) = (counted, recount_key) {
            self.recount.written(&mut self.counts, key, what, replace);
        }
        Ok(())
    }

    /// Writes a content entry; what it counts as.
    fn write<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: String,
        meta: &Meta,
        replace: bool,
        position: usize,
    ) -> Result<Option<Counted>, Problem> {
        let (written, counted) = match entry.header().entry_type() {
            tar::EntryType::Directory => {
                // The root's own entry is its metadata, not a directory of the tree.
                let counted = (!path.is_empty()).then_some(Counted::Dir);
                if counted.is_some() {
                    self.counts.dirs += 1;
                }
                (self.sink.dir(&path, meta, replace), counted)
            }
            t @ (tar::EntryType::Regular
            | tar::EntryType::Continuous
            | tar::EntryType::GNUSparse) => {
                let sparse = t == tar::EntryType::GNUSparse;
                self.write_file(entry, &path, meta, sparse, replace)
            }
            tar::EntryType::Symlink => {
                self.counts.symlinks += 1;
                let target = entry.link_name_bytes().unwrap_or_default();
                let r = self.sink.symlink(&path, &target, meta, replace);
                (r, Some(Counted::Symlink))
            }
            tar::EntryType::Link => {
                let raw = entry.link_name_bytes().unwrap_or_default();
                self.write_link(path, &raw, replace, position)?
            }
            tar::EntryType::Fifo | tar::EntryType::Char | tar::EntryType::Block => {
                let kind = special_of(entry).unwrap_or(Special::Fifo);
                if !self.engine.special(&path, kind, self.limits.no_devices)? {
                    self.limits.skipped_device();
                    return Ok(None);
                }
                self.counts.specials += 1;
                let r = self.sink.special(&path, kind, meta, replace);
                (r, Some(Counted::Special))
            }
            other => {
                // Refused before the engine's decision (see `content`).
                self.skipped(&path, other);
                (Ok(()), None)
            }
        };
        written.map_err(problem_of)?;
        Ok(counted)
    }

    /// A regular file's content, within the limits.
    fn write_file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: &str,
        meta: &Meta,
        sparse: bool,
        replace: bool,
    ) -> (io::Result<()>, Option<Counted>) {
        self.counts.files += 1;
        let size = entry.size();
        let data_at = entry.raw_file_position();
        let mut exact = Exact {
            inner: entry,
            direct: self.stream.as_ref().filter(|_| !sparse),
            data_at,
            drained: false,
            n: 0,
            size,
            limits: self.limits,
        };
        let r = self
            .sink
            .file(path, meta, size, sparse, &mut exact, replace);
        self.counts.bytes += exact.n;
        (r, Some(Counted::File(exact.n)))
    }

    /// A hardlink entry to `raw`: linked now, later (once its target's content is settled), or
    /// left out with the device it names.
    fn write_link(
        &mut self,
        path: String,
        raw: &[u8],
        replace: bool,
        position: usize,
    ) -> Result<(io::Result<()>, Option<Counted>), Problem> {
        let target = self.engine.link_target(&path, raw)?;
        let link = self.engine.link(path.clone(), target, position, replace)?;
        if link == Link::LeftOut {
            return Ok((Ok(()), None));
        }
        self.counts.hardlinks += 1;
        let r = match link {
            Link::Now(target) => self.sink.hardlink(&path, &target, replace),
            Link::Later | Link::LeftOut => Ok(()),
        };
        Ok((r, Some(Counted::Hardlink)))
    }

    /// An entry of a type no tree holds: named in a warning, up to [`MAX_WARNINGS`].
    fn skipped(&mut self, path: &str, kind: tar::EntryType) {
        self.skipped_entries += 1;
        if self.skipped_entries <= MAX_WARNINGS {
            self.warnings.push(format!(
                "{}: skipped `{}`: unsupported tar entry type {kind:?}",
                self.layer_name,
                crate::rawname::escape_for_message(path, 200)
            ));
        }
    }

    /// Once every layer is read: the waiting hardlinks, the warnings, the sink's own end.
    fn finish(mut self) -> Result<Outcome, ArchiveError> {
        let image = self.image;
        self.settle_links()?;
        let skipped_devices = self.engine.skipped_devices();
        if skipped_devices > 0 {
            self.warnings.push(format!(
                "--no-devices: skipped {skipped_devices} device node(s)"
            ));
        }
        if self.skipped_entries > MAX_WARNINGS {
            self.warnings.push(format!(
                "skipped {} more entries of unsupported tar entry types",
                self.skipped_entries - MAX_WARNINGS
            ));
        }
        self.sink
            .finish()
            .map_err(|e| ArchiveError::new(&image.source_path, None, problem_of(e)))?;
        let mut counts = self.counts;
        if let Some(t) = self.tally {
            counts = t.into_counts(counts);
        }
        Ok(Outcome {
            counts,
            warnings: self.warnings,
            sparse_claimed: self.sparse_claimed,
        })
    }
}

/// Entries of unsupported types are named one by one up to here, then counted.
const MAX_WARNINGS: u64 = 100;

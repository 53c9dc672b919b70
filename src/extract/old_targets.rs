//! Hardlinks whose target an upper layer replaced or deleted: the content the target had in
//! the link's own layer, found by reading the layers again.

use std::collections::{HashMap, HashSet};
use std::io;

use super::engine::{MadeLink, PendingLink};
use super::entry::{meta_of, problem_of, special_of, Exact};
use super::limits::Limits;
use super::link_target::{next, AtLayer, Next};
use super::merge::{Sink, Special};
use super::pipe::Pipelined;
use super::rules::{classify, clean_path, EntryKind};
use crate::entries::{check_digests, tar_problem};
use crate::error::{ArchiveError, Problem};
use crate::image::{Image, LayerRef};
use crate::targuard::{PaxTap, SparseBudget, TarGuard};

mod index;
use index::{Index, MadeIndex};

/// Hardlinks whose target was replaced or deleted by a higher layer keep the content the target
/// had in their own layer: find that version (the highest layer at or below the link's that has
/// the target, unless a layer in between deleted or replaced it) and write it at the link's
/// path. This re-reads those layers, with the same digest and truncation checks as the main
/// pass; only images with such links pay for it. Returns the links no layer can satisfy.
///
/// `survivor` tells which layer's non-directory entry a path of the extracted tree is: a link
/// that found its content in the very entry that survives at that path is made a second name
/// of it, as the image means, rather than a copy; so is a link the main pass `made` on the spot
/// to that same entry.
pub(super) fn copy_old_targets(
    image: &Image,
    mut links: Vec<PendingLink>,
    made: &[MadeLink],
    sink: &mut dyn Sink,
    sparse: &SparseBudget,
    limits: &Limits,
    survivor: &dyn Fn(&str) -> Option<usize>,
) -> Result<Vec<PendingLink>, ArchiveError> {
    let top = links.iter().map(|l| l.layer).max().unwrap_or(0);
    let mut search = Search {
        dead: Vec::new(),
        sources: HashMap::new(),
        made_sources: HashMap::new(),
    };
    for layer in image.layers[..=top].iter().rev() {
        // A link whose target this layer last made a hardlink is read again for that link's
        // own target, as of that place in the layer; each pass moves up the layer, and chains
        // longer than MAX_HOPS are given up on (the image is then refused).
        for pass in 0.. {
            let Some(index) = Index::of(&links, layer.index) else {
                break;
            };
            let made_index = MadeIndex::of(made, layer.index);
            let mut reader =
                LayerReader::new(image, layer, &index, &made_index, &mut *sink, limits);
            reader.read(sparse)?;
            let answers = reader.answers(links.len());
            search.made_found(&answers, made);
            let again;
            (links, again) = search.step(links, answers, layer.index, pass);
            if !again {
                break;
            }
        }
        if links.is_empty() {
            break;
        }
    }
    name_alike(search.sources, search.made_sources, sink, image, survivor)?;
    links.extend(search.dead);
    Ok(links)
}

/// Where the search for the links' targets is, across the layers.
struct Search {
    /// Links no layer can satisfy.
    dead: Vec<PendingLink>,
    /// Each written link's content: which entry it came from (layer, path, place), whether that
    /// is the layer's last entry at the path, and the layer's name for errors.
    sources: HashMap<String, (Source, bool, String)>,
    /// The same for the links the main pass made, whose target's layer was read again.
    made_sources: HashMap<String, (Source, bool, String)>,
}

/// What one pass over a layer found for the links.
struct Answers {
    /// By link: what the layer shows at its target, as of the link's place.
    at: Vec<AtLayer<()>>,
    /// Links anything was written for in this pass (a later retarget writes over it).
    touched: HashSet<usize>,
    /// The links written, with the entry their content came from and whether that entry is
    /// the layer's last at its path.
    written: Vec<(usize, Source, bool)>,
    /// By link the main pass made (index into them): the entry its content is, and whether
    /// that entry is the layer's last at its path.
    made: Vec<(usize, Source, bool)>,
    layer_name: String,
}

impl Search {
    fn made_found(&mut self, answers: &Answers, made: &[MadeLink]) {
        for (i, source, last) in &answers.made {
            let found = (source.clone(), *last, answers.layer_name.clone());
            self.made_sources.insert(made[*i].path.clone(), found);
        }
    }

    /// What one pass over layer `layer` (its `pass`th) answered: the links still looking (in
    /// this layer again, or further down), and whether any looks in this layer again. A
    /// layer's own file wins over its own whiteouts; a link whose target this layer only
    /// deleted or replaced has nothing left to find further down.
    fn step(
        &mut self,
        links: Vec<PendingLink>,
        answers: Answers,
        layer: usize,
        pass: usize,
    ) -> (Vec<PendingLink>, bool) {
        for (i, source, last) in answers.written {
            let found = (source, last, answers.layer_name.clone());
            self.sources.insert(links[i].path.clone(), found);
        }
        let mut kept = Vec::new();
        let mut again = false;
        for ((index, mut link), at) in links.into_iter().enumerate().zip(answers.at) {
            match next(at, pass) {
                Next::Done(()) => {}
                Next::Refused => self.dead.push(link),
                Next::Again { target, position } => {
                    link.replace |= answers.touched.contains(&index);
                    link.target = target;
                    link.layer = layer;
                    link.position = position;
                    kept.push(link);
                    again = true;
                }
                Next::Down => kept.push(link),
            }
        }
        (kept, again)
    }
}

/// An entry of a layer: its layer, path and place in the layer.
type Source = (usize, String, usize);

/// Links whose content came from one entry are one file, as in the image: each is made a
/// second name of the entry's own path when that entry is what survives there, else of the
/// first of them. (Links found in one pass are linked as they are written; links that reached
/// the same entry through different chains, or in different passes, or that the main pass
/// `made` to it on the spot, are joined here.)
fn name_alike(
    sources: HashMap<String, (Source, bool, String)>,
    made: HashMap<String, (Source, bool, String)>,
    sink: &mut dyn Sink,
    image: &Image,
    survivor: &dyn Fn(&str) -> Option<usize>,
) -> Result<(), ArchiveError> {
    type Group = (bool, String, Vec<String>, bool);
    let mut groups: std::collections::BTreeMap<Source, Group> = std::collections::BTreeMap::new();
    let tagged = sources
        .into_iter()
        .map(|s| (s, true))
        .chain(made.into_iter().map(|s| (s, false)));
    for ((link_path, (source, last, layer_name)), copied) in tagged {
        let group = groups
            .entry(source)
            .or_insert_with(|| (last, layer_name, Vec::new(), false));
        group.2.push(link_path);
        group.3 |= copied;
    }
    // Names the main pass made alone are one file already.
    for ((layer, path, _), (last, layer_name, mut names, _)) in
        groups.into_iter().filter(|g| g.1 .3)
    {
        names.sort();
        let holder = if last && survivor(&path) == Some(layer) {
            path
        } else if names.len() > 1 {
            names.remove(0)
        } else {
            continue;
        };
        for name in names.iter().filter(|n| **n != holder) {
            sink.hardlink(name, &holder, true).map_err(|e| {
                ArchiveError::new(&image.source_path, Some(layer_name.clone()), problem_of(e))
            })?;
        }
    }
    Ok(())
}

/// What a link can stand for: a file's content, a node of its own for a fifo or device, or
/// the symlink itself (linkat does not follow it).
enum Linkable {
    File { sparse: bool },
    Special(Special),
    Symlink(Vec<u8>),
}

impl Linkable {
    fn of<R: io::Read>(entry: &tar::Entry<'_, R>, limits: &Limits) -> Option<Linkable> {
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                Some(Linkable::File { sparse: false })
            }
            tar::EntryType::GNUSparse => Some(Linkable::File { sparse: true }),
            tar::EntryType::Symlink => Some(Linkable::Symlink(
                entry
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default(),
            )),
            _ => special_of(entry)
                .filter(|s| {
                    !(limits.no_devices && matches!(s, Special::Char(..) | Special::Block(..)))
                })
                .map(Linkable::Special),
        }
    }
}

/// One layer read again for the targets the [`Index`] wants.
struct LayerReader<'a> {
    image: &'a Image,
    layer: &'a LayerRef,
    index: &'a Index<'a>,
    made: &'a MadeIndex<'a>,
    sink: &'a mut dyn Sink,
    limits: &'a Limits,
    /// By link the main pass made: the place of the entry at its target before it (a content
    /// entry, not a hardlink: those the main pass follows).
    made_from: HashMap<usize, usize>,
    /// Links that got their target's content from this layer.
    written: HashSet<usize>,
    /// Links anything was written for in this pass (a later retarget writes over it).
    touched: HashSet<usize>,
    /// Links whose target this layer last made a hardlink: that hardlink's target, and its
    /// place in the layer.
    retarget: HashMap<usize, (String, usize)>,
    /// The entry (path, place in the layer) each written link's content came from.
    wrote_from: HashMap<usize, (String, usize)>,
    /// The last entry of the layer at each path a link wants.
    last_at: HashMap<String, usize>,
    /// Links whose target this layer deleted or replaced.
    hidden: HashSet<usize>,
    entry_name: String,
    /// The pax records of the entry being read, as the layer's guard read them.
    pax: PaxTap,
}

impl<'a> LayerReader<'a> {
    fn new(
        image: &'a Image,
        layer: &'a LayerRef,
        index: &'a Index<'a>,
        made: &'a MadeIndex<'a>,
        sink: &'a mut dyn Sink,
        limits: &'a Limits,
    ) -> LayerReader<'a> {
        LayerReader {
            image,
            layer,
            index,
            made,
            sink,
            limits,
            made_from: HashMap::new(),
            written: HashSet::new(),
            touched: HashSet::new(),
            hidden: HashSet::new(),
            retarget: HashMap::new(),
            wrote_from: HashMap::new(),
            last_at: HashMap::new(),
            entry_name: format!("layer {} ({})", layer.index, layer.path),
            pax: PaxTap::default(),
        }
    }

    /// What the pass found for each of the `n` links.
    fn answers(mut self, n: usize) -> Answers {
        let mut written = Vec::new();
        for &i in &self.written {
            if let Some((path, position)) = self.wrote_from.get(&i) {
                let last = self.last_at.get(path) == Some(position);
                written.push((i, (self.layer.index, path.clone(), *position), last));
            }
        }
        let made = self
            .made_from
            .iter()
            .map(|(&i, &position)| {
                let path = &self.made.made[i].target;
                let last = self.last_at.get(path) == Some(&position);
                (i, (self.layer.index, path.clone(), position), last)
            })
            .collect();
        let at = (0..n)
            .map(|i| match self.retarget.remove(&i) {
                Some((target, position)) => AtLayer::Linked { target, position },
                None if self.written.contains(&i) => AtLayer::Found(()),
                None if self.hidden.contains(&i) => AtLayer::Gone,
                None => AtLayer::Absent,
            })
            .collect();
        Answers {
            at,
            touched: self.touched,
            written,
            made,
            layer_name: self.entry_name,
        }
    }
}

impl LayerReader<'_> {
    /// `hits`' target was replaced by something no link can stand for, later in the layer
    /// than anything written for them.
    fn replaced(&mut self, hits: Vec<usize>) {
        for i in hits {
            self.written.remove(&i);
            self.retarget.remove(&i);
            self.hidden.insert(i);
        }
    }

    fn fail(&self, p: Problem) -> ArchiveError {
        ArchiveError::new(&self.image.source_path, Some(self.entry_name.clone()), p)
    }

    fn read(&mut self, sparse: &SparseBudget) -> Result<(), ArchiveError> {
        let (image, layer) = (self.image, self.layer);
        let blob = image.container.open_blob(&layer.path, &self.entry_name)?;
        let mut guard = TarGuard::expanding(
            Pipelined::start_sized(blob, true, image.container.stored_size(&layer.path)),
            sparse.clone(),
        );
        self.pax = guard.pax_tap();
        let mut archive = tar::Archive::new(guard);
        let entries = archive
            .entries_with_seek()
            .map_err(|e| self.fail(tar_problem(e)))?;
        for (position, entry) in entries.enumerate() {
            let mut entry = entry.map_err(|e| self.fail(tar_problem(e)))?;
            self.entry(&mut entry, position)?;
        }
        let mut rest = archive.into_inner().into_inner();
        io::copy(&mut rest, &mut io::sink()).map_err(|e| self.fail(tar_problem(e)))?;
        check_digests(layer, rest.digests(), &|p| self.fail(p))
    }

    /// The `position`th entry of the layer: what it hides, and the targets it holds.
    fn entry<R: io::Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        position: usize,
    ) -> Result<(), ArchiveError> {
        let index = self.index;
        // The main pass refused bad names already.
        let Ok(kind) = classify(&crate::rawname::from_bytes(&entry.path_bytes())) else {
            return Ok(());
        };
        let path = match kind {
            EntryKind::AufsMeta => return Ok(()),
            EntryKind::Whiteout(p) => {
                let gone = index
                    .at_target(&p, position)
                    .chain(index.below(&p, position));
                self.hidden.extend(gone);
                return Ok(());
            }
            EntryKind::Opaque(d) => {
                self.hidden.extend(index.below(&d, position));
                return Ok(());
            }
            EntryKind::Content(p) => p,
        };
        if crate::explore::apply::node_type_of(entry.header().entry_type()).is_none() {
            // Neither makes nor hides anything (see `Applier::content`).
            return Ok(());
        }
        let linkable = Linkable::of(entry, self.limits);
        if entry.header().entry_type() == tar::EntryType::Link {
            // The target became a second name of another path: what that one held here.
            let raw = entry
                .link_name_bytes()
                .map(|t| t.into_owned())
                .unwrap_or_default();
            let hits: Vec<usize> = index.at_target(&path, position).collect();
            match clean_path(&crate::rawname::from_bytes(&raw)) {
                // A link to itself leaves the target as it was.
                Ok(other) if other == path => {}
                Ok(other) if !other.is_empty() => {
                    for i in hits {
                        self.written.remove(&i);
                        self.hidden.remove(&i);
                        self.retarget.insert(i, (other.clone(), position));
                    }
                }
                _ => self.replaced(hits),
            }
        } else if linkable.is_none() {
            // Anything else at the target replaced it.
            let hits: Vec<usize> = index.at_target(&path, position).collect();
            self.replaced(hits);
        }
        if !path.is_empty() && !entry.header().entry_type().is_dir() {
            // A non-directory above the target took its place too.
            let below: Vec<usize> = index.below(&path, position).collect();
            self.replaced(below);
        }
        if let Some(made) = self.made.by_target.get(path.as_str()) {
            for &i in made.iter().filter(|&&i| position < self.made.made[i].as_of) {
                match linkable {
                    Some(_) => self.made_from.insert(i, position),
                    None => self.made_from.remove(&i),
                };
            }
        }
        if index.by_target.contains_key(path.as_str())
            || self.made.by_target.contains_key(path.as_str())
        {
            self.last_at.insert(path.clone(), position);
        }
        let hits: Vec<usize> = index.at_target(&path, position).collect();
        match linkable {
            Some(what) if !hits.is_empty() => self.write(entry, &path, position, what, &hits),
            _ => Ok(()),
        }
    }

    /// The target's content at `path` for the links `hits`: the first link gets it, the others
    /// link to it. A later duplicate of the target in this layer replaces what an earlier one
    /// wrote.
    fn write<R: io::Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: &str,
        position: usize,
        what: Linkable,
        hits: &[usize],
    ) -> Result<(), ArchiveError> {
        let at = |p: Problem| {
            ArchiveError::new(
                &self.image.source_path,
                Some(format!(
                    "{}: entry `{}`",
                    self.entry_name,
                    crate::rawname::escape_for_message(path, 200)
                )),
                p,
            )
        };
        let links = self.index.links;
        let meta = meta_of(entry, &self.pax).map_err(|e| at(Problem::CorruptTar(e)))?;
        let first = hits[0];
        let size = entry.size();
        let replace = links[first].replace || self.touched.contains(&first);
        let link_path = &links[first].path;
        match what {
            Linkable::Special(kind) => self.sink.special(link_path, kind, &meta, replace),
            Linkable::Symlink(target) => self.sink.symlink(link_path, &target, &meta, replace),
            Linkable::File { sparse } => {
                let data_at = entry.raw_file_position();
                let mut exact = Exact {
                    direct: None,
                    data_at,
                    drained: false,
                    inner: entry,
                    n: 0,
                    size,
                    limits: self.limits,
                };
                self.sink
                    .file(link_path, &meta, size, sparse, &mut exact, replace)
            }
        }
        .map_err(|e| at(problem_of(e)))?;
        for &other in &hits[1..] {
            let replace = links[other].replace || self.touched.contains(&other);
            self.sink
                .hardlink(&links[other].path, link_path, replace)
                .map_err(|e| at(problem_of(e)))?;
        }
        for &i in hits {
            self.retarget.remove(&i);
            self.written.insert(i);
            self.touched.insert(i);
            self.wrote_from.insert(i, (path.to_string(), position));
        }
        Ok(())
    }
}

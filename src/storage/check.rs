//! `storage check` of a Docker data root (overlay2): does every record agree with what it names,
//! and is anything left over? Layers (chainID arithmetic, parents, cache dirs, short links,
//! `lower` chains, and the files rebuilt into the layer tar against the diffID), images (config
//! digest, diff_ids against layerdb, parents), tags, containers, and leaks (overlay2 dirs,
//! layers, `l/` links and images nothing uses, with their sizes).
//!
//! Read-only: every path is opened through [`DockerRoot`] (beneath the root, no symlink
//! followed). Memory is bounded: layers are streamed one at a time, and only the records (a
//! few lines per layer and image) are kept.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use serde::Serialize;

use crate::archive::container::JSON_LIMIT;
use crate::archive::dockerroot::{DockerRoot, IMAGE_DIR};
use crate::archive::tarsplit::Fault;
use crate::digest::{chain_ids, BackgroundHasher, Digest, Stream};
use crate::error::{ArchiveError, Problem};
use crate::storage::usage::tree_size;

/// One thing wrong with, or left over in, the data root.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What sort of finding (stable, kebab-case): see [`KINDS`].
    pub kind: &'static str,
    /// The file or directory it is about, relative to the data root.
    pub path: String,
    pub detail: String,
    /// For leaks: the bytes removing it would give back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// Every finding kind, with what it means (for `--help` and the README).
pub const KINDS: &[(&str, &str)] = &[
    ("layer-record", "a layerdb file is missing or malformed"),
    (
        "chain-id",
        "a layerdb directory's name is not the chainID of its parent and diff",
    ),
    (
        "parent-missing",
        "a layer's or image's parent is not in the data root",
    ),
    (
        "layer-dir-missing",
        "a layer's overlay2/<cache-id>/diff directory is missing",
    ),
    (
        "link",
        "overlay2/<cache-id>/link and overlay2/l/<link> disagree",
    ),
    (
        "lower",
        "overlay2/<cache-id>/lower is not the layer's parent chain",
    ),
    (
        "file-changed",
        "a file in a layer's diff/ is not the one its tar-split records",
    ),
    (
        "diff-id",
        "a layer's files do not rebuild into the tar its diffID names",
    ),
    ("tar-split", "a layer's tar-split.json.gz cannot be used"),
    ("image-id", "an image config's sha256 is not its image ID"),
    ("image-config", "an image config cannot be read"),
    (
        "image-layer",
        "an image's diff_ids name a layer that is missing or differs",
    ),
    (
        "tag-dangling",
        "repositories.json names an image that is not there",
    ),
    (
        "container",
        "a container's layer or directories are missing",
    ),
    (
        "orphan-dir",
        "an overlay2 directory no layer or container names",
    ),
    ("unused-layer", "a layer no image or container uses"),
    (
        "dangling-link",
        "an overlay2/l/ link that leads to no layer directory",
    ),
    (
        "dangling-image",
        "an image with no tag, no child image and no container",
    ),
    (
        "unreadable",
        "something could not be read at all (permissions, I/O)",
    ),
];

/// What a check found, and what it went through.
#[derive(Debug, Serialize)]
pub struct Report {
    pub root: String,
    pub images: usize,
    pub layers: usize,
    pub containers: usize,
    /// Bytes of layer tar rebuilt and hashed.
    pub bytes_checked: u64,
    pub findings: Vec<Finding>,
}

impl Report {
    /// Something could not be read at all: the check is incomplete.
    pub fn unreadable(&self) -> bool {
        self.findings.iter().any(|f| f.kind == "unreadable")
    }
}

/// A layerdb entry as recorded.
#[derive(Default)]
pub(super) struct Layer {
    pub(super) diff: Option<Digest>,
    pub(super) parent: Option<Digest>,
    pub(super) cache: Option<String>,
    pub(super) size: Option<u64>,
    /// `overlay2/<cache>/link`, when the directory and that file are there.
    pub(super) link: Option<String>,
}

pub(super) struct Checker<'a> {
    root: &'a DockerRoot,
    findings: Vec<Finding>,
    /// `overlay2` (Docker) or `overlay` (containers-storage): where layer directories are.
    graph: &'static str,
    /// Layers are recorded in containers-storage's `overlay-layers/` rather than layerdb.
    containers: bool,
}

const LAYERDB: &str = "image/overlay2/layerdb/sha256";
const MOUNTS: &str = "image/overlay2/layerdb/mounts";

fn is_hex64(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl<'a> Checker<'a> {
    /// Where a layer is recorded (its layerdb dir, or its containers-storage ID's prefix).
    fn record(&self, chain: &Digest) -> String {
        if self.containers {
            format!(
                "{}{}",
                crate::archive::containers_storage::LAYER_PREFIX,
                chain.hex()
            )
        } else {
            format!("{LAYERDB}/{}", chain.hex())
        }
    }

    fn split_path(&self, chain: &Digest) -> String {
        if self.containers {
            format!("{}.tar-split.gz", self.record(chain))
        } else {
            format!("{}/tar-split.json.gz", self.record(chain))
        }
    }

    pub(super) fn new(root: &'a DockerRoot, graph: &'static str, containers: bool) -> Checker<'a> {
        Checker {
            root,
            findings: Vec::new(),
            graph,
            containers,
        }
    }

    /// The report, findings in path order.
    pub(super) fn finish(
        self,
        images: usize,
        layers: usize,
        containers: usize,
        bytes_checked: u64,
    ) -> Report {
        let mut findings = self.findings;
        findings.sort_by(|a, b| a.path.cmp(&b.path).then(a.kind.cmp(b.kind)));
        Report {
            root: self.root.display(),
            images,
            layers,
            containers,
            bytes_checked,
            findings,
        }
    }

    pub(super) fn add(&mut self, kind: &'static str, path: &str, detail: impl Into<String>) {
        self.findings.push(Finding {
            kind,
            path: path.to_string(),
            detail: detail.into(),
            size: None,
        });
    }

    fn leak(&mut self, kind: &'static str, path: &str, detail: impl Into<String>, size: u64) {
        self.findings.push(Finding {
            kind,
            path: path.to_string(),
            detail: detail.into(),
            size: Some(size),
        });
    }

    /// A record that could not be had: `kind` when the data root's content is at fault,
    /// `unreadable` when the system refused.
    pub(super) fn failed(&mut self, kind: &'static str, e: ArchiveError) {
        let kind = if matches!(e.problem, Problem::Io(_)) {
            "unreadable"
        } else {
            kind
        };
        let path = e.entry.clone().unwrap_or_default();
        self.add(kind, &path, e.problem.to_string());
    }

    /// An optional one-line record: None when absent, a finding when malformed.
    fn optional_digest(&mut self, rel: &str, what: &'static str) -> Option<Digest> {
        match self.root.read_digest(rel, what) {
            Ok(d) => Some(d),
            Err(e) if matches!(e.problem, Problem::Absent) => None,
            Err(e) => {
                self.failed("layer-record", e);
                None
            }
        }
    }

    pub(super) fn required<T>(&mut self, got: Result<T, ArchiveError>) -> Option<T> {
        match got {
            Ok(v) => Some(v),
            Err(e) => {
                self.failed("layer-record", e);
                None
            }
        }
    }

    fn tree_size(&mut self, rel: &str) -> u64 {
        match self.root.open_dir(rel) {
            Ok(fd) => tree_size(&fd).unwrap_or_else(|e| {
                self.add("unreadable", rel, format!("cannot measure it ({e})"));
                0
            }),
            Err(_) => 0,
        }
    }

    /// Reads every layerdb entry's records and checks each on its own.
    fn read_layers(&mut self) -> Result<BTreeMap<Digest, Layer>, ArchiveError> {
        let mut names = self.root.list(LAYERDB)?;
        names.sort();
        let mut layers = BTreeMap::new();
        for name in names {
            let dir = format!("{LAYERDB}/{name}");
            if !is_hex64(&name) {
                self.add("layer-record", &dir, "not a chainID (64 hex digits)");
                continue;
            }
            let chain = Digest::parse(&format!("sha256:{name}")).expect("checked hex");
            let mut layer = Layer {
                diff: self.required(self.root.read_digest(&format!("{dir}/diff"), "layer diff")),
                parent: self.optional_digest(&format!("{dir}/parent"), "layer parent"),
                ..Layer::default()
            };
            let size_rel = format!("{dir}/size");
            if let Some(text) = self.required(self.root.read_line(&size_rel, "layer size")) {
                match text.parse::<u64>() {
                    Ok(n) => layer.size = Some(n),
                    Err(_) => self.add(
                        "layer-record",
                        &size_rel,
                        format!("`{text}` is not a size in bytes"),
                    ),
                }
            }
            if let Some(diff) = &layer.diff {
                let expected = match &layer.parent {
                    None => diff.clone(),
                    Some(p) => Digest::of_bytes(format!("{p} {diff}").as_bytes()),
                };
                if expected != chain {
                    let how = match &layer.parent {
                        None => format!("a base layer's chainID is its diff {diff}"),
                        Some(p) => format!(
                            "sha256(parent + \" \" + diff) is {expected} (parent {p}, diff {diff})"
                        ),
                    };
                    self.add(
                        "chain-id",
                        &dir,
                        format!("not the chainID its records give: {how}"),
                    );
                }
            }
            layer.cache = self.required(self.root.cache_id(&dir));
            if let Some(cache) = &layer.cache {
                let diff_dir = format!("overlay2/{cache}/diff");
                match self.root.kind_of(&diff_dir) {
                    Ok(Some(rustix::fs::FileType::Directory)) => {
                        let link_rel = format!("overlay2/{cache}/link");
                        layer.link = self.required(self.root.read_line(&link_rel, "short link"));
                    }
                    Ok(_) => self.add(
                        "layer-dir-missing",
                        &diff_dir,
                        format!("missing: {dir}/cache-id names it"),
                    ),
                    Err(e) => self.failed("layer-dir-missing", e),
                }
            }
            if !self.root.exists(&format!("{dir}/tar-split.json.gz")) {
                self.add(
                    "tar-split",
                    &format!("{dir}/tar-split.json.gz"),
                    "missing: the layer's files cannot be checked against its diffID",
                );
            }
            layers.insert(chain, layer);
        }
        Ok(layers)
    }

    /// Parents exist, and each layer's `link` and `lower` agree with `l/` and the parent chain.
    pub(super) fn check_links(&mut self, layers: &BTreeMap<Digest, Layer>) {
        for (chain, layer) in layers {
            if let Some(p) = &layer.parent {
                if !layers.contains_key(p) {
                    let (path, detail) = if self.containers {
                        (
                            crate::archive::containers_storage::LAYERS_JSON.to_string(),
                            format!(
                                "layer {} has parent {}, which is not listed",
                                chain.hex(),
                                p.hex()
                            ),
                        )
                    } else {
                        (
                            format!("{}/parent", self.record(chain)),
                            format!("names {p}, which is not in layerdb"),
                        )
                    };
                    self.add("parent-missing", &path, detail);
                }
            }
            let graph = self.graph;
            let (Some(cache), Some(link)) = (&layer.cache, &layer.link) else {
                continue;
            };
            let link_rel = format!("{graph}/l/{link}");
            let want = format!("../{cache}/diff");
            match self.root.read_link(&link_rel) {
                Ok(target) if target == want.as_bytes() => {}
                Ok(target) => self.add(
                    "link",
                    &link_rel,
                    format!(
                        "leads to `{}`, not {want} ({graph}/{cache}/link names it)",
                        String::from_utf8_lossy(&target)
                    ),
                ),
                Err(e) => self.add(
                    "link",
                    &link_rel,
                    format!("{graph}/{cache}/link names it, but it {}", e.problem),
                ),
            }
            // The lower chain: the parent's link, its parent's…, nearest first.
            let mut expected = Vec::new();
            let mut at = layer.parent.clone();
            let mut known = true;
            let mut seen = HashSet::new();
            while let Some(p) = at {
                match layers.get(&p).and_then(|l| l.link.as_ref().map(|k| (k, l))) {
                    Some((k, l)) if seen.insert(p.clone()) => {
                        expected.push(format!("l/{k}"));
                        at = l.parent.clone();
                    }
                    _ => {
                        known = false;
                        break;
                    }
                }
            }
            if !known {
                continue;
            }
            let lower_rel = format!("{graph}/{cache}/lower");
            let found = match self.root.read(&lower_rel, "lower", JSON_LIMIT) {
                Ok(b) => Some(String::from_utf8_lossy(&b).trim().to_string()),
                Err(e) if matches!(e.problem, Problem::Absent) => None,
                Err(e) => {
                    self.failed("lower", e);
                    continue;
                }
            };
            let expected = (!expected.is_empty()).then(|| expected.join(":"));
            if found != expected {
                let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "absent".into());
                self.add(
                    "lower",
                    &lower_rel,
                    format!(
                        "is {}, the parent chain gives {}",
                        show(&found),
                        show(&expected)
                    ),
                );
            }
        }
    }

    /// Rebuilds each layer's tar and compares its sha256 with the recorded diff, naming every
    /// changed file. Returns the bytes hashed.
    pub(super) fn check_contents(&mut self, layers: &BTreeMap<Digest, Layer>) -> u64 {
        let mut total = 0;
        for (chain, layer) in layers {
            let (Some(diff), Some(_), Some(_)) = (&layer.diff, &layer.cache, &layer.link) else {
                continue;
            };
            let dir = self.record(chain);
            if !self.root.exists(&self.split_path(chain)) {
                continue;
            }
            let mut reader = match self.root.open_layer(&dir) {
                Ok(r) => r.collecting(),
                Err(e) => {
                    self.failed("tar-split", e);
                    continue;
                }
            };
            let hasher = BackgroundHasher::start();
            let mut buf = vec![0u8; 1 << 20];
            let mut bytes = 0u64;
            let outcome = loop {
                match reader.read(&mut buf) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        hasher.feed(Stream::Stored, &buf[..n]);
                        bytes += n as u64;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            let (found, _) = hasher.finish();
            total += bytes;
            for fault in reader.faults().to_vec() {
                self.add("file-changed", &fault.path, fault.detail);
            }
            match outcome {
                Err(e) => match Fault::of(&e) {
                    Some(f) => self.add("tar-split", &f.path, f.detail.clone()),
                    None => self.add("unreadable", &dir, format!("reading the layer: {e}")),
                },
                Ok(()) if found != *diff => self.add(
                    "diff-id",
                    &if self.containers {
                        crate::archive::containers_storage::LAYERS_JSON.to_string()
                    } else {
                        format!("{dir}/diff")
                    },
                    format!(
                        "{}the layer's files rebuild into a tar whose digest is {found}, not the diffID {diff}",
                        if self.containers { format!("layer {}: ", chain.hex()) } else { String::new() }
                    ),
                ),
                Ok(()) => {}
            }
        }
        total
    }
}

/// An image as recorded in imagedb.
pub(super) struct Image {
    pub(super) chains: Vec<Digest>,
    pub(super) parent: Option<Digest>,
}

impl Checker<'_> {
    fn read_images(&mut self, layers: &BTreeMap<Digest, Layer>) -> BTreeMap<Digest, Image> {
        let mut images = BTreeMap::new();
        let ids = match self.root.image_ids() {
            Ok(ids) => ids,
            Err(e) if matches!(e.problem, Problem::Absent) => Vec::new(),
            Err(e) => {
                self.failed("image-config", e);
                Vec::new()
            }
        };
        for hex in ids {
            let id = Digest::parse(&format!("sha256:{hex}")).expect("listed as hex");
            let rel = DockerRoot::config_path(&id);
            let bytes = match self.root.read(&rel, "image config", JSON_LIMIT) {
                Ok(b) => b,
                Err(e) => {
                    self.failed("image-config", e);
                    continue;
                }
            };
            let found = Digest::of_bytes(&bytes);
            if found != id {
                self.add(
                    "image-id",
                    &rel,
                    format!("the config's sha256 is {found}, not its image ID"),
                );
            }
            #[derive(serde::Deserialize)]
            struct RootFs {
                #[serde(default)]
                diff_ids: Vec<String>,
            }
            #[derive(serde::Deserialize)]
            struct Config {
                rootfs: RootFs,
            }
            let diff_ids = serde_json::from_slice::<Config>(&bytes)
                .map_err(|e| e.to_string())
                .and_then(|c| {
                    c.rootfs
                        .diff_ids
                        .iter()
                        .map(|d| Digest::parse(d).map_err(|e| e.to_string()))
                        .collect::<Result<Vec<_>, _>>()
                });
            let diff_ids = match diff_ids {
                Ok(d) => d,
                Err(e) => {
                    self.add("image-config", &rel, format!("not an image config: {e}"));
                    continue;
                }
            };
            let chains = chain_ids(&diff_ids);
            for (i, (chain, diff_id)) in chains.iter().zip(&diff_ids).enumerate() {
                match layers.get(chain) {
                    None => self.add(
                        "image-layer",
                        &rel,
                        format!("layer {i} ({diff_id}) is missing: no layerdb entry {chain}"),
                    ),
                    Some(l) if l.diff.as_ref().is_some_and(|d| d != diff_id) => self.add(
                        "image-layer",
                        &rel,
                        format!(
                            "layer {i}: layerdb entry {chain} records diff {}, not {diff_id}",
                            l.diff.as_ref().expect("checked")
                        ),
                    ),
                    Some(_) => {}
                }
            }
            let meta = format!("{IMAGE_DIR}/imagedb/metadata/sha256/{hex}/parent");
            let parent = match self.root.read_digest(&meta, "parent image") {
                Ok(p) => Some(p),
                Err(e) if matches!(e.problem, Problem::Absent) => None,
                Err(e) => {
                    self.failed("image-config", e);
                    None
                }
            };
            images.insert(id, Image { chains, parent });
        }
        let known: Vec<Digest> = images.keys().cloned().collect();
        for (id, image) in &images {
            if let Some(p) = image.parent.as_ref().filter(|p| !known.contains(p)) {
                let meta = format!("{IMAGE_DIR}/imagedb/metadata/sha256/{}/parent", id.hex());
                self.findings.push(Finding {
                    kind: "parent-missing",
                    path: meta,
                    detail: format!("names image {p}, which is not in imagedb"),
                    size: None,
                });
            }
        }
        images
    }
}

/// A container's layers: its own directories and the image layer it stands on.
pub(super) struct Mount {
    pub(super) dirs: Vec<String>,
    pub(super) parent: Option<Digest>,
}

impl Checker<'_> {
    fn read_mounts(&mut self, layers: &BTreeMap<Digest, Layer>) -> Vec<Mount> {
        let names = match self.root.list(MOUNTS) {
            Ok(n) => n,
            Err(e) if matches!(e.problem, Problem::Absent) => return Vec::new(),
            Err(e) => {
                self.failed("container", e);
                return Vec::new();
            }
        };
        let mut mounts = Vec::new();
        for name in names {
            let dir = format!("{MOUNTS}/{name}");
            let mut dirs = Vec::new();
            for file in ["mount-id", "init-id"] {
                let rel = format!("{dir}/{file}");
                match self.root.read_line(&rel, "container layer") {
                    Ok(id) if !id.is_empty() && !id.contains('/') && id != ".." => {
                        if self
                            .root
                            .kind_of(&format!("overlay2/{id}"))
                            .ok()
                            .flatten()
                            .is_none()
                        {
                            self.add(
                                "container",
                                &rel,
                                format!("names overlay2/{id}, which is missing"),
                            );
                        }
                        dirs.push(id);
                    }
                    Ok(id) => {
                        self.add("container", &rel, format!("`{id}` is not a directory name"))
                    }
                    Err(e) if matches!(e.problem, Problem::Absent) && file == "init-id" => {}
                    Err(e) => self.failed("container", e),
                }
            }
            let parent = match self
                .root
                .read_digest(&format!("{dir}/parent"), "layer parent")
            {
                Ok(p) => {
                    if !layers.contains_key(&p) {
                        self.add(
                            "container",
                            &format!("{dir}/parent"),
                            format!("names layer {p}, which is not in layerdb"),
                        );
                    }
                    Some(p)
                }
                Err(e) if matches!(e.problem, Problem::Absent) => None,
                Err(e) => {
                    self.failed("container", e);
                    None
                }
            };
            mounts.push(Mount { dirs, parent });
        }
        mounts
    }

    /// Overlay2 dirs, layers, links and images nothing uses.
    pub(super) fn check_leaks(
        &mut self,
        layers: &BTreeMap<Digest, Layer>,
        images: &BTreeMap<Digest, Image>,
        mounts: &[Mount],
        named_images: Option<HashSet<Digest>>,
    ) -> Result<(), ArchiveError> {
        let graph = self.graph;
        // Layers in use: every image's and container's chain, down to the base.
        let mut used: HashSet<Digest> = HashSet::new();
        let tops = images
            .values()
            .flat_map(|i| i.chains.iter().cloned())
            .chain(mounts.iter().filter_map(|m| m.parent.clone()));
        for top in tops {
            let mut at = Some(top);
            while let Some(c) = at {
                if !used.insert(c.clone()) {
                    break;
                }
                at = layers.get(&c).and_then(|l| l.parent.clone());
            }
        }
        for (chain, layer) in layers {
            if used.contains(chain) {
                continue;
            }
            let size = match &layer.cache {
                Some(c) => self.tree_size(&format!("{graph}/{c}")),
                None => 0,
            };
            let record = self.record(chain);
            self.leak(
                "unused-layer",
                &record,
                "no image or container uses this layer",
                size,
            );
        }

        // overlay2 directories no one names (BuildKit's snapshots are named in its
        // snapshots.db).
        let buildkit = if self.containers {
            HashSet::new()
        } else {
            match crate::storage::buildcache::snapshot_dirs(self.root) {
                Ok(d) => d,
                Err(e) => {
                    self.add(
                        "unreadable",
                        crate::storage::buildcache::SNAPSHOTS_DB,
                        e.problem.to_string(),
                    );
                    HashSet::new()
                }
            }
        };
        let named: HashSet<&str> = layers
            .values()
            .filter_map(|l| l.cache.as_deref())
            .chain(
                mounts
                    .iter()
                    .flat_map(|m| m.dirs.iter().map(String::as_str)),
            )
            .chain(buildkit.iter().map(String::as_str))
            .collect();
        let mut entries = match self.root.list(graph) {
            Ok(e) => e,
            Err(e) if matches!(e.problem, Problem::Absent) => Vec::new(),
            Err(e) => return Err(e),
        };
        entries.sort();
        for name in &entries {
            // containers-storage keeps marker files (`.has-mount-program`) beside the layers.
            let marker = self.containers && name.starts_with('.');
            if name == "l" || marker || named.contains(name.as_str()) {
                continue;
            }
            let rel = format!("{graph}/{name}");
            let size = self.tree_size(&rel);
            self.leak(
                "orphan-dir",
                &rel,
                "no layer or container names this directory",
                size,
            );
        }

        // Short links that lead nowhere.
        let links = match self.root.list(&format!("{graph}/l")) {
            Ok(l) => l,
            Err(e) if matches!(e.problem, Problem::Absent) => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut links = links;
        links.sort();
        for link in links {
            let rel = format!("{graph}/l/{link}");
            let target = match self.root.read_link(&rel) {
                Ok(t) => String::from_utf8_lossy(&t).into_owned(),
                Err(_) => {
                    self.add("dangling-link", &rel, "not a symlink");
                    continue;
                }
            };
            let cache = target
                .strip_prefix("../")
                .and_then(|t| t.strip_suffix("/diff"))
                .filter(|c| !c.is_empty() && !c.contains('/') && *c != "..");
            let alive = cache.is_some_and(|c| {
                matches!(
                    self.root.kind_of(&format!("{graph}/{c}/diff")),
                    Ok(Some(rustix::fs::FileType::Directory))
                )
            });
            if !alive {
                self.add(
                    "dangling-link",
                    &rel,
                    format!("leads to `{target}`, which is not a layer directory"),
                );
            }
        }

        // Images with no tag, no child image and no container.
        let tagged: HashSet<Digest> = match named_images.map_or_else(
            || self.root.repositories(),
            |n| Ok(n.into_iter().map(|d| (String::new(), d)).collect()),
        ) {
            Ok(refs) => {
                let rel = format!("{IMAGE_DIR}/repositories.json");
                for (name, id) in &refs {
                    if !name.is_empty() && !images.contains_key(id) {
                        self.add(
                            "tag-dangling",
                            &rel,
                            format!("`{name}` points at {id}, which is not in imagedb"),
                        );
                    }
                }
                refs.into_iter().map(|(_, id)| id).collect()
            }
            Err(e) => {
                self.failed("tag-dangling", e);
                return Ok(());
            }
        };
        let parents: HashSet<&Digest> = images.values().filter_map(|i| i.parent.as_ref()).collect();
        let container_tops: HashSet<&Digest> =
            mounts.iter().filter_map(|m| m.parent.as_ref()).collect();
        for (id, image) in images {
            let in_use = tagged.contains(id)
                || parents.contains(id)
                || image
                    .chains
                    .last()
                    .is_some_and(|top| container_tops.contains(top));
            if in_use {
                continue;
            }
            let size = image
                .chains
                .iter()
                .filter_map(|c| layers.get(c).and_then(|l| l.size))
                .sum();
            self.leak(
                "dangling-image",
                &DockerRoot::config_path(id),
                "no tag, no child image and no container",
                size,
            );
        }
        Ok(())
    }
}

/// Checks the data root. An error is returned only when it is not one at all (no layerdb);
/// everything else becomes a finding.
pub fn check_docker_root(root: &DockerRoot) -> Result<Report, ArchiveError> {
    let mut c = Checker::new(root, "overlay2", false);
    let layers = c.read_layers()?;
    c.check_links(&layers);
    let images = c.read_images(&layers);
    let mounts = c.read_mounts(&layers);
    c.check_leaks(&layers, &images, &mounts, None)?;
    let bytes_checked = c.check_contents(&layers);
    Ok(c.finish(images.len(), layers.len(), mounts.len(), bytes_checked))
}

#[cfg(test)]
mod tests {
    use super::KINDS;

    /// The JSON contract lists every kind a finding can have.
    #[test]
    fn every_kind_is_documented() {
        let readme = include_str!("../../README.md");
        for (kind, _) in KINDS {
            assert!(
                readme.contains(&format!("`{kind}`")),
                "README lacks `{kind}`"
            );
        }
    }
}

//! `storage check` of a Docker data root (overlay2): does every record agree with what it names,
//! and is anything left over? Layers (chainID arithmetic, parents, cache dirs, short links,
//! `lower` chains, and the files rebuilt into the layer tar against the diffID), images (config
//! digest, diff_ids against layerdb, parents), tags, containers, and leaks (overlay2 dirs,
//! layers, `l/` links and images nothing uses, with their sizes).
//!
//! Read-only: every path is opened through [`DockerRoot`] (beneath the root, no symlink
//! followed). Memory is bounded: layers are streamed one at a time, and only the records (a
//! few lines per layer and image) are kept.
//!
//! The same `Checker` checks a containers-storage root ([`containers_storage`]): only where
//! the records are read from differs; the checks of links, leaks and layer contents are shared.
//! One submodule per thing checked:
//!
//! - `layers`: layerdb records, chainIDs, layer directories;
//! - `links`: parents, `l/` short links and `lower` chains;
//! - `contents`: the files rebuilt into each layer's tar against its diffID;
//! - `images`: image configs against their IDs and layers;
//! - `containers`: the container layers of `layerdb/mounts`;
//! - `leaks`: what nothing uses.

mod containers;
pub mod containers_storage;
mod contents;
mod images;
mod layers;
mod leaks;
mod links;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::archive::dockerroot::DockerRoot;
use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};
use crate::storage::usage::tree_size;

pub use containers_storage::check_containers_storage;

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

/// Collects the findings of one check, and knows which of the two layouts it reads.
pub(super) struct Checker<'a> {
    root: &'a DockerRoot,
    findings: Vec<Finding>,
    /// `overlay2` (Docker) or `overlay` (containers-storage): where layer directories are.
    graph: &'static str,
    /// Layers are recorded in containers-storage's `overlay-layers/` rather than layerdb.
    containers: bool,
}

const LAYERDB: &str = "image/overlay2/layerdb/sha256";

fn is_hex64(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether a failed read failed only because the file is not there.
fn absent(e: &ArchiveError) -> bool {
    matches!(e.problem, Problem::Absent)
}

impl<'a> Checker<'a> {
    pub(super) fn new(root: &'a DockerRoot, graph: &'static str, containers: bool) -> Checker<'a> {
        Checker {
            root,
            findings: Vec::new(),
            graph,
            containers,
        }
    }

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

    /// Where a layer's tar-split is.
    fn split_path(&self, chain: &Digest) -> String {
        if self.containers {
            format!("{}.tar-split.gz", self.record(chain))
        } else {
            format!("{}/tar-split.json.gz", self.record(chain))
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

    /// A finding about something left over: `size` is what removing it gives back.
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

    /// A record that may be absent: None when it is, or when it failed (a `kind` finding).
    fn optional<T>(&mut self, kind: &'static str, got: Result<T, ArchiveError>) -> Option<T> {
        match got {
            Ok(v) => Some(v),
            Err(e) if absent(&e) => None,
            Err(e) => {
                self.failed(kind, e);
                None
            }
        }
    }

    /// A layer record that must be there: None, and a finding, when it cannot be had.
    pub(super) fn required<T>(&mut self, got: Result<T, ArchiveError>) -> Option<T> {
        match got {
            Ok(v) => Some(v),
            Err(e) => {
                self.failed("layer-record", e);
                None
            }
        }
    }

    /// The bytes under `rel`, 0 when it cannot be opened; a finding when it cannot be walked.
    fn tree_size(&mut self, rel: &str) -> u64 {
        match self.root.open_dir(rel) {
            Ok(fd) => tree_size(&fd).unwrap_or_else(|e| {
                self.add("unreadable", rel, format!("cannot measure it ({e})"));
                0
            }),
            Err(_) => 0,
        }
    }

    /// The names in the directory `rel`, sorted; none when it is not there.
    fn sorted_names(&self, rel: &str) -> Result<Vec<String>, ArchiveError> {
        let mut names = match self.root.list(rel) {
            Ok(n) => n,
            Err(e) if absent(&e) => Vec::new(),
            Err(e) => return Err(e),
        };
        names.sort();
        Ok(names)
    }
}

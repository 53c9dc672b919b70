//! The image model every command consumes: manifest facts, config, layers (with what the
//! archive claims about each), and the checks that can be made without reading layer bytes.
//! [`Image::scan_layers`] adds what only the bytes can tell, one pass per layer.

use std::collections::BTreeMap;

use oci_spec::image::ImageConfiguration;
use rayon::prelude::*;

use crate::archive::dockerroot::{DockerRoot, Recorded};
use crate::archive::{Archive, Container, Format, Packaging, PlatformWanted};
use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};
pub use crate::layer::LayerRef;
use crate::layer::LayerStats;
use crate::progress::Progress;

mod check;
mod load;

pub use check::{mismatch_text, Check};
use load::load;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PlatformInfo {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

/// Annotations of the image's manifest and of the index entry that names it (OCI layouts and
/// Docker 25+ saves; empty otherwise).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Annotations {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub manifest: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub index: BTreeMap<String, String>,
}

impl Annotations {
    pub fn is_empty(&self) -> bool {
        self.manifest.is_empty() && self.index.is_empty()
    }
}

fn sorted(map: &Option<std::collections::HashMap<String, String>>) -> BTreeMap<String, String> {
    map.iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub struct Image {
    pub source_path: String,
    pub format: Format,
    pub packaging: Packaging,
    pub tags: Vec<String>,
    pub platform: PlatformInfo,
    pub manifest_digest: Option<Digest>,
    /// sha256 of the config bytes: docker's image ID.
    pub config_digest: Digest,
    /// The config's length in bytes.
    pub config_size: u64,
    /// The index.json entry the image comes from in an OCI layout or a Docker 25+ save (its
    /// manifest, or the multi-platform index above it): Docker's containerd image store takes it
    /// as the image's target on `docker load` and shows its digest as the image ID.
    pub store_target: Option<Digest>,
    pub config: ImageConfiguration,
    /// docker's `config.Healthcheck` (not part of the OCI config), as written.
    pub healthcheck: Option<serde_json::Value>,
    pub annotations: Annotations,
    /// The image IDs of its parent, grandparent, … that the archive holds and links
    /// (docker save's `"Parent"`, see [`crate::parents`]), nearest first.
    pub parent_ids: Vec<Digest>,
    pub layers: Vec<LayerRef>,
    /// Checks of manifest and config, made while loading.
    pub checks: Vec<Check>,
    pub warnings: Vec<String>,
    pub container: Container,
    /// What a Docker data root records about the image (layer sizes, parent images).
    pub recorded: Option<Recorded>,
}

impl Image {
    /// Opens an archive and loads the image `image`/`platform` select.
    pub fn open(
        path: &std::path::Path,
        image: Option<&str>,
        platform: Option<&PlatformWanted>,
    ) -> Result<Image, ArchiveError> {
        let mut archive = Archive::open(path)?;
        let candidate = archive.take(image, platform)?;
        // An index entry's platform was matched when choosing; the others are checked here.
        let check = candidate.platform.is_none().then_some(platform).flatten();
        load(archive, candidate)?.of_platform(check)
    }

    /// Like [`Image::open`], but a streamed archive is spooled to a temporary file first so its
    /// layers can be read in any order (extract reads them from the top down).
    pub fn open_random_access(
        path: &std::path::Path,
        image: Option<&str>,
        platform: Option<&PlatformWanted>,
    ) -> Result<Image, ArchiveError> {
        let mut archive = Archive::from_container(Container::open_spooled(path)?)?;
        let candidate = archive.take(image, platform)?;
        // An index entry's platform was matched when choosing; the others are checked here.
        let check = candidate.platform.is_none().then_some(platform).flatten();
        load(archive, candidate)?.of_platform(check)
    }

    /// Refuses an image whose config says another platform than `--platform` asked for (a
    /// single-platform archive has no index to choose from, so the choice is checked here).
    fn of_platform(self, wanted: Option<&PlatformWanted>) -> Result<Image, ArchiveError> {
        let Some(want) = wanted else {
            return Ok(self);
        };
        let p = &self.platform;
        if crate::archive::fits(&p.os, &p.architecture, p.variant.as_deref(), want) {
            return Ok(self);
        }
        let mut available = format!("{}/{}", p.os, p.architecture);
        if let Some(v) = &p.variant {
            available.push('/');
            available.push_str(v);
        }
        Err(ArchiveError::new(
            &self.source_path,
            None,
            Problem::NoPlatform {
                wanted: want.to_string(),
                available,
            },
        ))
    }

    /// Opens the image `reference` of the Docker data root `dir` (see
    /// [`crate::archive::dockerroot`]). Its layers are read from the files on disk, rebuilt into
    /// their original tars, so every reader and check works on them unchanged.
    pub fn open_docker_root(dir: &std::path::Path, reference: &str) -> Result<Image, ArchiveError> {
        let root = DockerRoot::open(dir)?;
        let id = root.resolve(reference)?;
        let tags = root.tags_of(&id)?;
        let (candidate, recorded) = root.candidate(&id, tags)?;
        let archive = Archive {
            container: Container::docker_root(root),
            format: Format::DockerRoot,
            candidates: Vec::new(),
        };
        let mut image = load(archive, candidate)?;
        image.recorded = Some(recorded);
        Ok(image)
    }

    /// Opens the image `reference` of the containers-storage root `dir` (see
    /// [`crate::archive::containers_storage`]), its layers rebuilt into their original tars.
    pub fn open_containers_storage(
        dir: &std::path::Path,
        reference: &str,
    ) -> Result<Image, ArchiveError> {
        use crate::archive::containers_storage as cs;
        let root = DockerRoot::open(dir)?;
        let stored = cs::resolve(&root, reference)?;
        let (candidate, recorded) = cs::candidate(&root, &stored)?;
        let archive = Archive {
            container: Container::docker_root(root),
            format: Format::ContainersStorage,
            candidates: Vec::new(),
        };
        let mut image = load(archive, candidate)?;
        image.recorded = Some(recorded);
        Ok(image)
    }

    pub fn diff_ids_from_config(&self) -> Result<Vec<Digest>, ArchiveError> {
        self.config
            .rootfs()
            .diff_ids()
            .iter()
            .map(|d| Digest::parse(d))
            .collect::<Result<_, _>>()
            .map_err(|e| {
                ArchiveError::new(
                    &self.container.display,
                    Some("config rootfs.diff_ids".into()),
                    e.into(),
                )
            })
    }

    /// Reads every layer once (in parallel where the archive allows it); the first failure
    /// stops the command.
    pub fn scan_layers(&self) -> Result<Vec<LayerStats>, ArchiveError> {
        self.scan_each().into_iter().collect()
    }

    /// Reads every layer once and keeps each layer's own outcome (verify reports them all).
    pub fn scan_each(&self) -> Vec<Result<LayerStats, ArchiveError>> {
        let total: u64 = self
            .layers
            .iter()
            .filter_map(|l| self.container.stored_size(&l.path))
            .sum();
        let progress = Progress::new(Some(total), "reading layers");
        let scan = |layer: &LayerRef| {
            let entry = format!("layer {} ({})", layer.index, layer.path);
            self.container
                .scan_layer(&layer.path, &entry, Some(&progress))
        };
        // A blob listed twice (docker dedupes identical layers) is read once.
        let mut unique: Vec<&LayerRef> = Vec::new();
        for l in &self.layers {
            if !unique.iter().any(|u| u.path == l.path) {
                unique.push(l);
            }
        }
        let results: Vec<Result<LayerStats, ArchiveError>> = if self.container.random_access() {
            unique.par_iter().map(|l| scan(l)).collect()
        } else {
            unique.iter().map(|l| scan(l)).collect()
        };
        progress.finish();
        let mut results: Vec<Option<Result<LayerStats, ArchiveError>>> =
            results.into_iter().map(Some).collect();
        self.layers
            .iter()
            .map(|l| {
                let at = unique
                    .iter()
                    .position(|u| u.path == l.path)
                    .expect("every layer path was scanned");
                match &results[at] {
                    Some(Ok(stats)) => Ok(stats.clone()),
                    // An error can be reported once; a repeat of the same blob says so.
                    Some(Err(_)) => results[at].take().expect("just matched"),
                    None => Err(ArchiveError::new(
                        &self.container.display,
                        Some(format!("layer {} ({})", l.index, l.path)),
                        Problem::BadContent {
                            what: "layer blob",
                            detail: "unreadable (see the earlier layer with the same blob)".into(),
                        },
                    )),
                }
            })
            .collect()
    }

    /// Refuses an image whose manifest, config or index blobs are not the ones their
    /// descriptors name (digest or size), or whose config vouches for a different number of
    /// layers than the manifest lists. Every reader that builds a tree calls this before
    /// writing anything; `inspect` and `verify` show the same facts as warnings and checks.
    ///
    /// A legacy `docker save` names its config `<image ID>.json`, but no descriptor names it:
    /// the image ID is the digest of the config's bytes, whatever the file is called (Docker's
    /// `load` ignores the name too). A name that disagrees is reported by `verify` and
    /// `inspect`, not refused here. In a Docker 25+ save the config is a content-addressed
    /// blob (`blobs/sha256/<hex>`), and its name is binding like any descriptor.
    pub fn require_intact(&self) -> Result<(), ArchiveError> {
        for c in self.checks.iter().filter(|c| !c.ok) {
            if self.format == Format::DockerSave && c.what == "config_digest" {
                continue;
            }
            let problem = if c.what == "layer_count" {
                Problem::BadContent {
                    what: "image",
                    detail: format!(
                        "refused: the manifest lists {} layers but the config has {} diff_ids, so a layer would be applied that nothing vouches for",
                        c.found, c.expected
                    ),
                }
            } else {
                Problem::NotAsDescribed {
                    what: c.what,
                    expected: c.expected.clone(),
                    found: c.found.clone(),
                }
            };
            return Err(ArchiveError::new(
                &self.source_path,
                Some(c.entry.clone()),
                problem,
            ));
        }
        Ok(())
    }

    /// Compares what the bytes are with what manifest and config claim, per layer.
    pub fn layer_checks(&self, stats: &[LayerStats]) -> Vec<Check> {
        self.layers
            .iter()
            .zip(stats)
            .flat_map(|(l, s)| Check::of_layer(l, &s.measured, ""))
            .collect()
    }
}

//! The image model every command consumes: manifest facts, config, layers (with what the
//! archive claims about each), and the checks that can be made without reading layer bytes.
//! [`Image::scan_layers`] adds what only the bytes can tell, one pass per layer.

use std::collections::BTreeMap;

use oci_spec::image::{ImageConfiguration, ImageManifest, MediaType};
use rayon::prelude::*;

use crate::archive::dockerroot::{DockerRoot, Recorded};
use crate::archive::{
    oci, Archive, Candidate, Container, Format, Location, Packaging, PlatformWanted,
};
use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};
pub use crate::layer::LayerRef;
use crate::layer::{Comparison, LayerStats, Measured};
use crate::progress::Progress;

/// One comparison between what the archive claims and what its bytes are.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub what: &'static str,
    pub layer_index: Option<usize>,
    pub expected: String,
    pub found: String,
    pub ok: bool,
    /// The archive entry the check is about.
    #[serde(skip)]
    pub entry: String,
}

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

impl Check {
    /// A layer's checks, from the one comparison of its claims with what was measured
    /// ([`LayerRef::compare`]): blob digest and size against the manifest's claim, diffID
    /// against the config's. A claim the config does not make, or a fact the read did not
    /// establish (`unknown` says why), fails its check.
    pub fn of_layer(layer: &LayerRef, measured: &Measured, unknown: &str) -> Vec<Check> {
        let of = |c: Comparison| {
            let expected = c.claimed.unwrap_or_else(|| "(none in config)".into());
            let found = c.found.unwrap_or_else(|| unknown.to_string());
            check(
                c.fact.key(),
                Some(layer.index),
                &expected,
                &found,
                &layer.path,
            )
        };
        layer.compare(measured).into_iter().map(of).collect()
    }

    /// The checks of a layer whose pass failed: the blob digest may still be known (the stored
    /// bytes were readable), the diffID is not.
    pub fn of_failed_layer(layer: &LayerRef, error: &ArchiveError) -> Vec<Check> {
        let measured = match &error.problem {
            Problem::Layer(e) => e.measured(),
            _ => Measured::default(),
        };
        let reason = match &error.problem {
            Problem::Missing(_) => "missing".to_string(),
            p => format!("unreadable: {p}"),
        };
        Check::of_layer(layer, &measured, &reason)
    }
}

fn check(
    what: &'static str,
    layer_index: Option<usize>,
    expected: &str,
    found: &str,
    entry: &str,
) -> Check {
    Check {
        what,
        layer_index,
        expected: expected.to_string(),
        found: found.to_string(),
        ok: expected == found,
        entry: entry.to_string(),
    }
}

const IMAGE_CONFIG_TYPES: [&str; 2] = [
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

fn load(archive: Archive, candidate: Candidate) -> Result<Image, ArchiveError> {
    let Archive {
        container,
        format,
        candidates: others,
    } = archive;
    let parent = match &candidate.location {
        Location::Docker { parent, .. } => parent.clone(),
        _ => None,
    };
    let err =
        |entry: &str, p: Problem| ArchiveError::new(&container.display, Some(entry.to_string()), p);
    let mut checks: Vec<Check> = candidate
        .index_claims
        .iter()
        .map(|c| check(c.what, None, &c.expected, &c.found, &c.path))
        .collect();
    let mut warnings = Vec::new();
    let mut annotations = Annotations::default();
    let mut synthesized: Option<(Vec<u8>, Vec<Digest>)> = None;
    let mut store_target = candidate.top_digest.clone();
    let (manifest_digest, config_path, mut layers) = match candidate.location {
        Location::Broken(e) => return Err(*e),
        Location::DockerV1 { top } => {
            let v1 = crate::archive::legacy_v1::load(&container, &top)?;
            synthesized = Some((v1.config, v1.parent_ids));
            (None, v1.config_path, v1.layers)
        }
        Location::Oci { descriptor } => {
            let digest = oci::descriptor_digest(&container, &descriptor, "index.json")?;
            let path = oci::blob_path(&digest);
            let bytes = container.read_json_file(&path, "image manifest")?;
            let found = Digest::of_bytes(&bytes);
            checks.push(check(
                "manifest_digest",
                None,
                digest.as_str(),
                found.as_str(),
                &path,
            ));
            checks.push(check(
                "manifest_size",
                None,
                &descriptor.size().to_string(),
                &bytes.len().to_string(),
                &path,
            ));
            let manifest: ImageManifest =
                oci::parse_json(&container, &path, "image manifest", &bytes)?;
            annotations.manifest = sorted(manifest.annotations());
            annotations.index = sorted(descriptor.annotations());
            let (config_path, layers) = from_manifest(&container, &manifest, &mut checks)?;
            (Some(digest), config_path, layers)
        }
        Location::Docker {
            config_path,
            layer_paths,
            ..
        } => {
            let layers = layer_paths
                .iter()
                .enumerate()
                .map(|(index, path)| LayerRef {
                    index,
                    path: path.clone(),
                    media_type: None,
                    claimed_digest: digest_in_name(path),
                    claimed_size: None,
                    config_diff_id: None,
                })
                .collect();
            (None, config_path, layers)
        }
        Location::DockerRoot {
            config_path,
            layer_paths,
        } => {
            // No compressed blob is kept: nothing to claim but the diffID, from the config.
            let layers = layer_paths
                .into_iter()
                .enumerate()
                .map(|(index, path)| LayerRef {
                    index,
                    path,
                    media_type: None,
                    claimed_digest: None,
                    claimed_size: None,
                    config_diff_id: None,
                })
                .collect();
            (None, config_path, layers)
        }
    };

    let (config_bytes, v1_parents) = match synthesized {
        Some((bytes, parents)) => (bytes, Some(parents)),
        None => (
            container.read_json_file(&config_path, "image config")?,
            None,
        ),
    };
    let config_digest = Digest::of_bytes(&config_bytes);
    if manifest_digest.is_none() {
        // docker save names the config after its digest (the image ID).
        if let Some(named) = digest_in_name(&config_path) {
            checks.push(check(
                "config_digest",
                None,
                named.as_str(),
                config_digest.as_str(),
                &config_path,
            ));
        }
    } else if let Some(c) = checks.iter_mut().find(|c| c.what == "config_digest") {
        c.found = config_digest.to_string();
        c.ok = c.expected == c.found;
    }
    if let Some(c) = checks.iter_mut().find(|c| c.what == "config_size") {
        c.found = config_bytes.len().to_string();
        c.ok = c.expected == c.found;
    }
    let config: ImageConfiguration =
        oci::parse_json(&container, &config_path, "image config", &config_bytes)
            .map_err(|e| not_an_image_if_no_rootfs(e, &config_bytes))?;

    let mut manifest_digest = manifest_digest;
    if format == Format::DockerSaveOci && manifest_digest.is_none() {
        if let Some((digest, manifest, claims, index_annotations, top)) =
            find_oci_manifest(&container, &config_digest)
        {
            store_target = top;
            annotations.manifest = sorted(manifest.annotations());
            annotations.index = index_annotations;
            adopt_descriptors(&container, &manifest, &mut layers);
            manifest_digest = Some(digest);
            checks.extend(claims);
        }
    }

    let diff_ids = config.rootfs().diff_ids();
    for (i, d) in diff_ids.iter().enumerate() {
        let parsed = Digest::parse(d)
            .map_err(|e| err(&format!("{config_path}: rootfs.diff_ids[{i}]"), e.into()))?;
        if let Some(layer) = layers.get_mut(i) {
            layer.config_diff_id = Some(parsed);
        }
    }
    if diff_ids.len() != layers.len() {
        warnings.push(format!(
            "{}: the manifest lists {} layers but the config has {} diff_ids",
            container.display,
            layers.len(),
            diff_ids.len()
        ));
        checks.push(check(
            "layer_count",
            None,
            &diff_ids.len().to_string(),
            &layers.len().to_string(),
            &config_path,
        ));
    }

    let healthcheck = serde_json::from_slice::<serde_json::Value>(&config_bytes)
        .ok()
        .and_then(|v| v.get("config")?.get("Healthcheck").cloned())
        .filter(|h| !h.is_null());
    let platform = PlatformInfo {
        os: config.os().to_string(),
        architecture: config.architecture().to_string(),
        variant: config.variant().clone(),
    };
    for c in checks.iter().filter(|c| !c.ok) {
        warnings.push(mismatch_text(&container.display, c));
    }
    let parent_ids = match v1_parents {
        Some(ids) => ids,
        None => crate::parents::parent_chain(
            &container,
            &others,
            &config_digest,
            parent.as_deref(),
            &config,
            &mut warnings,
        ),
    };
    Ok(Image {
        source_path: container.display.clone(),
        format,
        packaging: container.packaging,
        tags: candidate.tags,
        platform,
        manifest_digest,
        config_digest,
        config_size: config_bytes.len() as u64,
        store_target,
        config,
        healthcheck,
        annotations,
        parent_ids,
        layers,
        checks,
        warnings,
        container,
        recorded: None,
    })
}

pub fn mismatch_text(archive: &str, c: &Check) -> String {
    let what = match c.layer_index {
        Some(i) => format!("layer {i} {}", c.what),
        None => c.what.to_string(),
    };
    format!(
        "{archive}: {}: {what} mismatch: expected {}, found {}",
        c.entry, c.expected, c.found
    )
}

/// A config without `rootfs` that fails to parse is most likely another kind of artifact.
fn not_an_image_if_no_rootfs(e: ArchiveError, bytes: &[u8]) -> ArchiveError {
    let has_rootfs = serde_json::from_slice::<serde_json::Value>(bytes)
        .map(|v| v.get("rootfs").is_some())
        .unwrap_or(true);
    if has_rootfs {
        return e;
    }
    ArchiveError {
        problem: Problem::NotAnImage("its config has no rootfs (no layers to show)".into()),
        ..e
    }
}

/// Config path and layer references of an OCI/docker v2 manifest, with the config descriptor's
/// claims recorded as checks to complete once the config is read.
fn from_manifest(
    container: &Container,
    manifest: &ImageManifest,
    checks: &mut Vec<Check>,
) -> Result<(String, Vec<LayerRef>), ArchiveError> {
    let config = manifest.config();
    let media_type = config.media_type().to_string();
    if !IMAGE_CONFIG_TYPES.contains(&media_type.as_str()) {
        return Err(ArchiveError::new(
            &container.display,
            None,
            Problem::NotAnImage(format!("its config media type is {media_type}")),
        ));
    }
    let config_digest = oci::descriptor_digest(container, config, "image manifest config")?;
    let config_path = oci::blob_path(&config_digest);
    checks.push(check(
        "config_digest",
        None,
        config_digest.as_str(),
        "",
        &config_path,
    ));
    checks.push(check(
        "config_size",
        None,
        &config.size().to_string(),
        "",
        &config_path,
    ));
    let layers = manifest
        .layers()
        .iter()
        .enumerate()
        .map(|(index, desc)| {
            let digest =
                oci::descriptor_digest(container, desc, &format!("image manifest layer {index}"))?;
            Ok(LayerRef {
                index,
                path: oci::blob_path(&digest),
                media_type: Some(media_type_text(desc.media_type())),
                claimed_digest: Some(digest),
                claimed_size: Some(desc.size()),
                config_diff_id: None,
            })
        })
        .collect::<Result<Vec<_>, ArchiveError>>()?;
    Ok((config_path, layers))
}

fn media_type_text(m: &MediaType) -> String {
    m.to_string()
}

/// `blobs/sha256/<hex>` and docker's `<hex>.json` / `<hex>/layer.tar`-less names carry a digest.
fn digest_in_name(path: &str) -> Option<Digest> {
    let name = path.rsplit('/').next()?;
    let hex = name.strip_suffix(".json").unwrap_or(name);
    let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
    Digest::parse(&format!("sha256:{hex}")).ok()
}

/// A Docker 25+ save's OCI manifest for an image: its digest, itself, the checks of its bytes
/// (and of the indexes above it), and the annotations of the index entry naming it.
type FoundManifest = (
    Digest,
    ImageManifest,
    Vec<Check>,
    BTreeMap<String, String>,
    Option<Digest>,
);

/// Docker 25+ archives carry an OCI manifest for each image; find the one for this config.
/// Its descriptors are adopted only with the checks of its own bytes (and of the indexes
/// above it) against what names them.
fn find_oci_manifest(container: &Container, config_digest: &Digest) -> Option<FoundManifest> {
    let candidates = oci::candidates(container).ok()?;
    candidates.into_iter().find_map(|c| {
        let Location::Oci { descriptor } = c.location else {
            return None;
        };
        let digest = Digest::parse(descriptor.digest().as_ref()).ok()?;
        let path = oci::blob_path(&digest);
        let bytes = container.read_json_file(&path, "image manifest").ok()?;
        let manifest: ImageManifest = serde_json::from_slice(&bytes).ok()?;
        if manifest.config().digest().to_string() != config_digest.as_str() {
            return None;
        }
        let mut checks: Vec<Check> = c
            .index_claims
            .iter()
            .map(|c| check(c.what, None, &c.expected, &c.found, &c.path))
            .collect();
        let claims = crate::archive::BlobClaim::of_descriptor(
            ("manifest_digest", "manifest_size"),
            &path,
            &descriptor,
            &bytes,
        );
        checks.extend(
            claims
                .iter()
                .map(|c| check(c.what, None, &c.expected, &c.found, &c.path)),
        );
        Some((
            digest,
            manifest,
            checks,
            sorted(descriptor.annotations()),
            c.top_digest,
        ))
    })
}

/// Takes media types and descriptor claims from the OCI manifest when it names the same blobs.
fn adopt_descriptors(container: &Container, manifest: &ImageManifest, layers: &mut [LayerRef]) {
    if manifest.layers().len() != layers.len() {
        return;
    }
    for (layer, desc) in layers.iter_mut().zip(manifest.layers()) {
        let Ok(digest) = oci::descriptor_digest(container, desc, "") else {
            return;
        };
        let same_blob =
            crate::archive::paths::normalize(&layer.path).ok() == Some(oci::blob_path(&digest));
        if !same_blob {
            continue;
        }
        layer.media_type = Some(media_type_text(desc.media_type()));
        layer.claimed_digest = Some(digest);
        layer.claimed_size = Some(desc.size());
    }
}

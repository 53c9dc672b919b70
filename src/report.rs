//! What `inspect --json` prints — the stable JSON contract later commands reuse — built from the
//! image model and the results of the layer pass.

use serde::Serialize;

use crate::digest::{chain_ids, Digest};
use crate::history::{self, HistoryRow};
use crate::image::{Annotations, Image, LayerRef, PlatformInfo};
use crate::layer::{Compression, LayerStats};

#[derive(Debug, Serialize)]
pub struct Report {
    pub source: SourceInfo,
    pub image: ImageInfo,
    pub layers: Vec<LayerInfo>,
    pub history: Vec<HistoryRow>,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Which `docker history` the history rows imitate.
#[derive(Debug, Default, Clone, Copy)]
pub struct HistoryView {
    /// A row for each layer past the last history step (docker shows none).
    pub unrecorded_rows: bool,
    /// Docker with its containerd image store: the manifest digest as the image ID, sizes as
    /// disk usage in 4 KiB blocks (see [`crate::disk_usage`]), no parent IDs.
    pub containerd_store: bool,
}

#[derive(Debug, Serialize)]
pub struct SourceInfo {
    pub path: String,
    pub format: &'static str,
    /// directory, tar, tar+gzip or tar+zstd.
    pub container: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ImageInfo {
    pub id: Digest,
    pub tags: Vec<String>,
    pub platform: PlatformInfo,
    pub created: Option<String>,
    pub manifest_digest: Option<Digest>,
    pub config_digest: Digest,
    /// Parent image IDs the archive links (docker save's `"Parent"`), nearest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<Digest>,
    /// `name@digest` references a data root records for the image (`docker image inspect`'s
    /// `RepoDigests`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repo_digests: Vec<String>,
    /// The image's size as a Docker data root records it (the layers' layerdb `size` summed,
    /// `docker image inspect`'s `Size`); absent for archives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The config's `config` in the OCI names (`Env`, `Cmd`, `Entrypoint`, `WorkingDir`,
    /// `User`, `ExposedPorts`, `Volumes`, `Labels`, `StopSignal`, …), plus docker's
    /// `Healthcheck` when the image has one; `{}` when the config has none.
    pub config: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    #[serde(skip_serializing_if = "Annotations::is_empty")]
    pub annotations: Annotations,
}

/// `image.config` of the JSON: the OCI runtime config as oci-spec writes it, and docker's
/// healthcheck beside its fields.
fn config_json(image: &Image) -> serde_json::Value {
    let mut value = image
        .config
        .config()
        .as_ref()
        .and_then(|c| serde_json::to_value(c).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    if let (Some(map), Some(h)) = (value.as_object_mut(), &image.healthcheck) {
        map.insert("Healthcheck".into(), h.clone());
    }
    value
}

/// One layer as `inspect` shows it: the archive's claims and the pass's measurements, with the
/// chain ID and build step they add up to.
#[derive(Debug)]
pub struct LayerInfo {
    pub layer: LayerRef,
    pub stats: LayerStats,
    pub chain_id: Digest,
    pub created_by: Option<String>,
}

impl Serialize for LayerInfo {
    /// The JSON contract's fields, in its order.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (l, s) = (&self.layer, &self.stats);
        let mut out = serializer.serialize_struct("LayerInfo", 11)?;
        out.serialize_field("index", &l.index)?;
        out.serialize_field("digest", s.digest())?;
        out.serialize_field("media_type", &l.media_type)?;
        out.serialize_field("compression", &s.compression)?;
        out.serialize_field("compressed_size", &s.compressed_size())?;
        out.serialize_field("diff_id", s.diff_id())?;
        out.serialize_field("chain_id", &self.chain_id)?;
        out.serialize_field("uncompressed_size", &s.uncompressed_size)?;
        out.serialize_field("size", &s.size)?;
        out.serialize_field("files", &s.files)?;
        out.serialize_field("created_by", &self.created_by)?;
        out.end()
    }
}

/// The history rows alone, from layer sizes already known (a Docker data root records them), with
/// the warnings of the alignment. Rows take the IDs of the image and its recorded parents, newest
/// first, as `docker history` does.
pub fn history_of(
    image: &Image,
    sizes: &[u64],
    view: HistoryView,
) -> (Vec<HistoryRow>, Vec<String>) {
    // The image and then its parents, as the data root links them.
    let mut ids = vec![image.config_digest.clone()];
    if let Some(recorded) = &image.recorded {
        ids.extend(recorded.lineage.iter().cloned());
    }
    aligned_history(image, sizes, &ids, view)
}

/// The config's history lined up with the layers, and the image's warnings with the
/// alignment's.
fn aligned_history(
    image: &Image,
    sizes: &[u64],
    ids: &[Digest],
    view: HistoryView,
) -> (Vec<HistoryRow>, Vec<String>) {
    let empty = Vec::new();
    let aligned = history::align(
        image.config.history().as_ref().unwrap_or(&empty),
        sizes,
        ids,
        view.unrecorded_rows,
    );
    let mut warnings = image.warnings.clone();
    warnings.extend(
        aligned
            .warnings
            .iter()
            .map(|w| format!("{}: {w}", image.source_path)),
    );
    (aligned.rows, warnings)
}

/// The image ID Docker's containerd image store shows after `docker load` of the archive: the
/// digest of the image's target. That is the index.json entry the image comes from (its
/// manifest, or the multi-platform index above it); a legacy `docker save` has none, so the
/// loader writes a Docker manifest for it, as [`docker_manifest`] does.
pub fn containerd_store_id(image: &Image, stats: &[LayerStats]) -> Digest {
    match image.format {
        crate::archive::Format::DockerSave => Digest::of_bytes(&docker_manifest(image, stats)),
        _ => image
            .store_target
            .clone()
            .or_else(|| image.manifest_digest.clone())
            .unwrap_or_else(|| image.config_digest.clone()),
    }
}

/// The manifest containerd's importer (which `docker load` runs in that mode) writes for an
/// image of a legacy `docker save`: Docker's schema 2 manifest naming the config and each layer
/// file as stored, compact JSON in Go's field order. A compressed layer (gzip or zstd: the
/// importer only asks whether it is compressed) is labelled gzip.
pub fn docker_manifest(image: &Image, stats: &[LayerStats]) -> Vec<u8> {
    let layers: Vec<String> = stats
        .iter()
        .map(|s| {
            let media_type = match s.compression {
                Compression::None => "application/vnd.docker.image.rootfs.diff.tar",
                Compression::Gzip | Compression::Zstd => {
                    "application/vnd.docker.image.rootfs.diff.tar.gzip"
                }
            };
            format!(
                r#"{{"mediaType":"{media_type}","digest":"{}","size":{}}}"#,
                s.digest(),
                s.compressed_size()
            )
        })
        .collect();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{}","size":{}}},"layers":[{}]}}"#,
        image.config_digest,
        image.config_size,
        layers.join(",")
    )
    .into_bytes()
}

impl Report {
    pub fn build(image: &Image, stats: &[LayerStats]) -> Report {
        Report::build_with(image, stats, HistoryView::default())
    }

    pub fn build_with(image: &Image, stats: &[LayerStats], view: HistoryView) -> Report {
        let (sizes, ids) = history_sizes_and_ids(image, stats, view);
        let (rows, mut warnings) = aligned_history(image, &sizes, &ids, view);
        for c in image.layer_checks(stats).iter().filter(|c| !c.ok) {
            warnings.push(crate::image::mismatch_text(&image.source_path, c));
        }
        Report {
            source: SourceInfo {
                path: image.source_path.clone(),
                format: image.format.name(),
                container: image.packaging.name(),
            },
            image: ImageInfo::of(image),
            layers: layer_infos(image, stats, &rows),
            history: rows,
            warnings,
        }
    }
}

/// The sizes and image IDs the history rows show: docker's own store's (layer sizes, the image
/// and its parents) or its containerd store's (disk usage, the image's target alone).
fn history_sizes_and_ids(
    image: &Image,
    stats: &[LayerStats],
    view: HistoryView,
) -> (Vec<u64>, Vec<Digest>) {
    if view.containerd_store {
        // The image's target on the top row, and no parents: the containerd store
        // links parents only through a label that loaded images lack.
        (
            stats.iter().map(|s| s.disk_usage).collect(),
            vec![containerd_store_id(image, stats)],
        )
    } else {
        let mut ids = vec![image.config_digest.clone()];
        ids.extend(image.parent_ids.iter().cloned());
        (stats.iter().map(|s| s.size).collect(), ids)
    }
}

/// Each layer's claims and measurements, with its chain ID and the step that made it.
fn layer_infos(image: &Image, stats: &[LayerStats], rows: &[HistoryRow]) -> Vec<LayerInfo> {
    let diff_ids: Vec<Digest> = stats.iter().map(|s| s.diff_id().clone()).collect();
    let chain = chain_ids(&diff_ids);
    image
        .layers
        .iter()
        .zip(stats)
        .zip(chain)
        .map(|((layer, s), chain_id)| LayerInfo {
            layer: layer.clone(),
            stats: s.clone(),
            chain_id,
            created_by: rows
                .iter()
                .find(|r| r.layer_index == Some(layer.index) && !r.created_by.is_empty())
                .map(|r| r.created_by.clone()),
        })
        .collect()
}

impl ImageInfo {
    fn of(image: &Image) -> ImageInfo {
        ImageInfo {
            id: image.config_digest.clone(),
            tags: image.tags.clone(),
            platform: image.platform.clone(),
            created: image.config.created().clone(),
            manifest_digest: image.manifest_digest.clone(),
            config_digest: image.config_digest.clone(),
            parents: image.parent_ids.clone(),
            repo_digests: image
                .recorded
                .as_ref()
                .map(|r| r.repo_digests.clone())
                .unwrap_or_default(),
            size: image.recorded.as_ref().and_then(|r| r.size),
            config: config_json(image),
            os_version: image.config.os_version().clone(),
            os_features: image.config.os_features().clone().unwrap_or_default(),
            annotations: image.annotations.clone(),
        }
    }
}

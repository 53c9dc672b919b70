//! What `inspect --json` prints — the stable JSON contract later commands reuse — built from the
//! image model and the results of the layer pass.

use serde::Serialize;

use crate::digest::{chain_ids, Digest};
use crate::history::{self, HistoryRow};
use crate::image::{Image, PlatformInfo};
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
}

#[derive(Debug, Serialize)]
pub struct LayerInfo {
    pub index: usize,
    pub digest: Digest,
    pub media_type: Option<String>,
    pub compression: Compression,
    pub compressed_size: u64,
    pub diff_id: Digest,
    pub chain_id: Digest,
    pub uncompressed_size: u64,
    pub size: u64,
    pub files: u64,
    pub created_by: Option<String>,
}

/// The history rows alone, from layer sizes already known (a Docker data root records them), with
/// the warnings of the alignment. Rows take the IDs of the image and its recorded parents, newest
/// first, as `docker history` does.
pub fn history_of(image: &Image, sizes: &[u64]) -> (Vec<HistoryRow>, Vec<String>) {
    let empty = Vec::new();
    let mut aligned = history::align(
        image.config.history().as_ref().unwrap_or(&empty),
        sizes,
        &image.config_digest,
    );
    if let Some(recorded) = &image.recorded {
        for (row, parent) in aligned.rows.iter_mut().skip(1).zip(&recorded.lineage) {
            row.id = Some(parent.clone());
        }
    }
    let mut warnings = image.warnings.clone();
    warnings.extend(
        aligned
            .warnings
            .iter()
            .map(|w| format!("{}: {w}", image.source_path)),
    );
    (aligned.rows, warnings)
}

impl Report {
    pub fn build(image: &Image, stats: &[LayerStats]) -> Report {
        let sizes: Vec<u64> = stats.iter().map(|s| s.size).collect();
        let empty = Vec::new();
        let aligned = history::align(
            image.config.history().as_ref().unwrap_or(&empty),
            &sizes,
            &image.config_digest,
        );
        let diff_ids: Vec<Digest> = stats.iter().map(|s| s.diff_id.clone()).collect();
        let chain = chain_ids(&diff_ids);
        let layers = image
            .layers
            .iter()
            .zip(stats)
            .zip(chain)
            .map(|((layer, s), chain_id)| LayerInfo {
                index: layer.index,
                digest: s.digest.clone(),
                media_type: layer.media_type.clone(),
                compression: s.compression,
                compressed_size: s.compressed_size,
                diff_id: s.diff_id.clone(),
                chain_id,
                uncompressed_size: s.uncompressed_size,
                size: s.size,
                files: s.files,
                created_by: aligned
                    .rows
                    .iter()
                    .find(|r| r.layer_index == Some(layer.index) && !r.created_by.is_empty())
                    .map(|r| r.created_by.clone()),
            })
            .collect();
        let mut warnings = image.warnings.clone();
        warnings.extend(
            aligned
                .warnings
                .iter()
                .map(|w| format!("{}: {w}", image.source_path)),
        );
        for c in image.layer_checks(stats).iter().filter(|c| !c.ok) {
            warnings.push(crate::image::mismatch_text(&image.source_path, c));
        }
        Report {
            source: SourceInfo {
                path: image.source_path.clone(),
                format: image.format.name(),
                container: image.packaging.name(),
            },
            image: ImageInfo {
                id: image.config_digest.clone(),
                tags: image.tags.clone(),
                platform: image.platform.clone(),
                created: image.config.created().clone(),
                manifest_digest: image.manifest_digest.clone(),
                config_digest: image.config_digest.clone(),
            },
            layers,
            history: aligned.rows,
            warnings,
        }
    }
}

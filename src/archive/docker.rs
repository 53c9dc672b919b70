//! `docker save` archives: `manifest.json` lists each image's config file, tags and layer files.
//! The Docker 25+ layout adds an OCI index beside it; its manifests supply digests and media
//! types for the same images.

use serde::Deserialize;

use super::container::Container;
use super::{Candidate, Location};
use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};

/// One element of docker's `manifest.json` (a docker format, not an OCI one).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
    #[serde(default)]
    parent: Option<String>,
}

pub fn candidates(container: &Container) -> Result<Vec<Candidate>, ArchiveError> {
    let bytes = container.read_json_file("manifest.json", "manifest.json")?;
    let bad = |detail: &str| {
        ArchiveError::new(
            &container.display,
            Some("manifest.json".into()),
            Problem::BadContent {
                what: "manifest.json",
                detail: detail.into(),
            },
        )
    };
    let bad_json = |e| {
        ArchiveError::new(
            &container.display,
            Some("manifest.json".into()),
            Problem::BadJson {
                what: "manifest.json",
                source: e,
            },
        )
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(bad_json)?;
    if value.is_null() {
        return Err(bad("it is `null`, not a list of images"));
    }
    let entries: Vec<ManifestEntry> = serde_json::from_value(value).map_err(bad_json)?;
    if entries.is_empty() {
        return Err(bad("it lists no images"));
    }
    // Docker 25+ also stores an OCI manifest per image: it gives each image a manifest digest.
    let oci_manifests: Vec<Candidate> = if container.exists("index.json") {
        super::oci::candidates(container).unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(entries
        .into_iter()
        .enumerate()
        .map(|(n, e)| {
            let config_digest = container
                .read_json_file(&e.config, "image config")
                .ok()
                .map(|bytes| Digest::of_bytes(&bytes));
            let manifest_digest = config_digest.as_ref().and_then(|id| {
                oci_manifests
                    .iter()
                    .find(|m| m.config_digest.as_ref() == Some(id))
                    .and_then(|m| m.manifest_digest.clone())
            });
            Candidate {
                number: n,
                group: n,
                tags: e.repo_tags.unwrap_or_default(),
                platform: None,
                manifest_digest,
                config_digest,
                index_claims: Vec::new(),
                top_digest: None,
                location: Location::Docker {
                    config_path: e.config,
                    layer_paths: e.layers,
                    parent: e.parent.filter(|p| !p.is_empty()),
                },
            }
        })
        .collect())
}

//! An image in the data root: its config (`imagedb/content`), its parents
//! (`imagedb/metadata`), and its layers (`layerdb/sha256/<chainID>`), as the image model's
//! [`Candidate`] and what only a data root records.

use super::{DockerRoot, IMAGE_DIR};
use crate::archive::container::JSON_LIMIT;
use crate::archive::{BlobClaim, Candidate, Location};
use crate::digest::{chain_ids, Digest};
use crate::error::{ArchiveError, Problem};

/// What the data root records about an image beyond its config.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// layerdb `size` of each layer: what `docker history` shows.
    pub layer_sizes: Vec<u64>,
    /// The image's parent, its parent's parent… (`imagedb/metadata/sha256/<ID>/parent`).
    pub lineage: Vec<Digest>,
    /// `name@sha256:…` references of `repositories.json` to the image, in docker's short
    /// names: what `docker image inspect` shows as `RepoDigests`.
    pub repo_digests: Vec<String>,
    /// The sum of the layers' layerdb `size`: `docker image inspect`'s `Size` (Docker only).
    pub size: Option<u64>,
}

/// See [`DockerRoot::config_fields`].
#[derive(Debug, Clone)]
pub struct ConfigFields {
    pub created: Option<String>,
    pub diff_ids: Vec<Digest>,
}

/// `rootfs` of an image config: the layers' diffIDs, base first.
#[derive(serde::Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

/// What the image model needs of a config here: its layers (the rest is read elsewhere).
#[derive(serde::Deserialize)]
struct LayersOnly {
    rootfs: RootFs,
}

/// What listings need of a config: see [`DockerRoot::config_fields`].
#[derive(serde::Deserialize)]
struct Listed {
    #[serde(default)]
    created: Option<String>,
    rootfs: RootFs,
}

impl DockerRoot {
    pub fn config_path(id: &Digest) -> String {
        format!("{IMAGE_DIR}/imagedb/content/sha256/{}", id.hex())
    }

    pub fn layer_path(chain_id: &Digest) -> String {
        format!("{IMAGE_DIR}/layerdb/sha256/{}", chain_id.hex())
    }

    /// The image config at `rel` as `T`.
    fn parse_config<T: serde::de::DeserializeOwned>(
        &self,
        rel: &str,
        bytes: &[u8],
    ) -> Result<T, ArchiveError> {
        serde_json::from_slice(bytes).map_err(|source| {
            self.error(
                rel,
                Problem::BadJson {
                    what: "image config",
                    source,
                },
            )
        })
    }

    /// What the data root's own listings need of the image config at `rel`: its `created` time
    /// and `rootfs.diff_ids` (parsed). Read leniently, so that a config field no listing uses
    /// never fails one; images themselves are opened through oci-spec's types.
    pub fn config_fields(&self, rel: &str) -> Result<ConfigFields, ArchiveError> {
        let bytes = self.read(rel, "image config", JSON_LIMIT)?;
        let config: Listed = self.parse_config(rel, &bytes)?;
        let diff_ids = config
            .rootfs
            .diff_ids
            .iter()
            .map(|d| Digest::parse(d))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.error(rel, e.into()))?;
        Ok(ConfigFields {
            created: config.created,
            diff_ids,
        })
    }

    /// The layerdb `size` of the layer at `layer_dir`: bytes, as a decimal number.
    pub fn layer_size(&self, layer_dir: &str) -> Result<u64, ArchiveError> {
        let size_path = format!("{layer_dir}/size");
        let size_text = self.read_line(&size_path, "layer size")?;
        size_text.parse::<u64>().map_err(|_| {
            self.error(
                &size_path,
                Problem::BadContent {
                    what: "layer size",
                    detail: format!("`{size_text}` is not a size in bytes"),
                },
            )
        })
    }

    /// The candidate for image `id`: its config and, through the config's diff_ids, the
    /// layerdb directory of each layer, whose `diff` must be that diffID.
    pub fn candidate(
        &self,
        id: &Digest,
        tags: Vec<String>,
    ) -> Result<(Candidate, Recorded), ArchiveError> {
        let config_path = Self::config_path(id);
        let diff_ids = self.diff_ids(&config_path)?;
        let mut layer_paths = Vec::new();
        let mut claims = Vec::new();
        let mut recorded = Recorded::default();
        for (chain, diff_id) in chain_ids(&diff_ids).iter().zip(&diff_ids) {
            let dir = Self::layer_path(chain);
            let recorded_diff = self.read_digest(&format!("{dir}/diff"), "layer diff")?;
            claims.push(BlobClaim {
                what: "layerdb_diff",
                path: format!("{dir}/diff"),
                expected: diff_id.to_string(),
                found: recorded_diff.to_string(),
            });
            recorded.layer_sizes.push(self.layer_size(&dir)?);
            layer_paths.push(dir);
        }
        recorded.lineage = self.lineage(id)?;
        recorded.size = Some(recorded.layer_sizes.iter().sum());
        recorded.repo_digests = self.digests_of(id)?;
        let candidate = Candidate {
            number: 0,
            group: 0,
            tags,
            platform: None,
            manifest_digest: None,
            config_digest: Some(id.clone()),
            location: Location::DockerRoot {
                config_path,
                layer_paths,
            },
            index_claims: claims,
            top_digest: None,
        };
        Ok((candidate, recorded))
    }

    /// The diffIDs of the config at `config_path`, a bad one named by its index.
    fn diff_ids(&self, config_path: &str) -> Result<Vec<Digest>, ArchiveError> {
        let bytes = self.read(config_path, "image config", JSON_LIMIT)?;
        let config: LayersOnly = self.parse_config(config_path, &bytes)?;
        config
            .rootfs
            .diff_ids
            .iter()
            .enumerate()
            .map(|(i, d)| {
                Digest::parse(d).map_err(|e| {
                    self.error(&format!("{config_path}: rootfs.diff_ids[{i}]"), e.into())
                })
            })
            .collect()
    }

    /// Parent image IDs from `imagedb/metadata`, nearest first; stops at a loop or a parent
    /// that is not in the data root (docker stops there too).
    fn lineage(&self, id: &Digest) -> Result<Vec<Digest>, ArchiveError> {
        let mut chain: Vec<Digest> = Vec::new();
        let mut at = id.clone();
        loop {
            let rel = format!("{IMAGE_DIR}/imagedb/metadata/sha256/{}/parent", at.hex());
            let parent = match self.read_digest(&rel, "parent image") {
                Ok(p) => p,
                Err(e) if matches!(e.problem, Problem::Absent) => break,
                Err(e) => return Err(e),
            };
            if parent == *id || chain.contains(&parent) || !self.exists(&Self::config_path(&parent))
            {
                break;
            }
            chain.push(parent.clone());
            at = parent;
        }
        Ok(chain)
    }
}

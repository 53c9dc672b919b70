//! containers-storage (podman, buildah, CRI-O; `/var/lib/containers/storage`, overlay driver)
//! read without podman, as one more source of the image model: images from
//! `overlay-images/images.json` (the config is the image's big-data item named by its digest,
//! stored as `overlay-images/<ID>/=<base64 of the name>`), layers from
//! `overlay-layers/layers.json`, each rebuilt into its original tar from
//! `overlay-layers/<ID>.tar-split.gz` and `overlay/<ID>/diff/` by the same reader as a Docker
//! data root's.
//!
//! The same guarantees as [`super::dockerroot`], whose opened-root primitives it uses: read
//! only, nothing followed out of the root, small files capped, names checked before they
//! become paths.

use std::collections::HashMap;

use super::dockerroot::{normalize, DockerRoot, Recorded};
use super::{BlobClaim, Candidate, Location};
use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};

pub const DEFAULT_ROOT: &str = "/var/lib/containers/storage";
pub const IMAGES_JSON: &str = "overlay-images/images.json";
pub const LAYERS_JSON: &str = "overlay-layers/layers.json";
/// Layer paths handed to the image model start with this; [`DockerRoot::open_layer`] reads
/// them the containers-storage way.
pub const LAYER_PREFIX: &str = "overlay-layers/";

#[derive(Debug, Clone, serde::Deserialize)]
pub struct StoredImage {
    pub id: String,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub layer: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    /// Sizes of the image's big-data items (config, manifests, signatures): podman counts them
    /// in the image's size.
    #[serde(rename = "big-data-sizes", default)]
    pub big_data_sizes: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct StoredLayer {
    pub id: String,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(rename = "diff-digest", default)]
    pub diff_digest: Option<String>,
    #[serde(rename = "diff-size", default)]
    pub diff_size: Option<u64>,
}

/// An ID used as a path component: hex (or the like), nothing else.
fn plain(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn bad(root: &DockerRoot, rel: &str, what: &'static str, detail: String) -> ArchiveError {
    ArchiveError::new(
        &root.display(),
        Some(rel.to_string()),
        Problem::BadContent { what, detail },
    )
}

fn read_list<T: serde::de::DeserializeOwned>(
    root: &DockerRoot,
    rel: &str,
    what: &'static str,
) -> Result<Vec<T>, ArchiveError> {
    let bytes = root.read(rel, what, super::container::JSON_LIMIT)?;
    serde_json::from_slice(&bytes).map_err(|source| {
        ArchiveError::new(
            &root.display(),
            Some(rel.to_string()),
            Problem::BadJson { what, source },
        )
    })
}

pub fn images(root: &DockerRoot) -> Result<Vec<StoredImage>, ArchiveError> {
    let list: Vec<StoredImage> = read_list(root, IMAGES_JSON, "images.json")?;
    for i in &list {
        if !plain(&i.id) {
            return Err(bad(
                root,
                IMAGES_JSON,
                "image ID",
                format!(
                    "`{}` is not an image ID",
                    crate::rawname::escape_for_message(&i.id, 80)
                ),
            ));
        }
    }
    Ok(list)
}

pub fn layers(root: &DockerRoot) -> Result<HashMap<String, StoredLayer>, ArchiveError> {
    let list: Vec<StoredLayer> = read_list(root, LAYERS_JSON, "layers.json")?;
    let mut map = HashMap::new();
    for l in list {
        if !plain(&l.id) {
            return Err(bad(
                root,
                LAYERS_JSON,
                "layer ID",
                format!(
                    "`{}` is not a layer ID",
                    crate::rawname::escape_for_message(&l.id, 80)
                ),
            ));
        }
        map.insert(l.id.clone(), l);
    }
    Ok(map)
}

/// The image `reference` names: a name as podman stores it (`localhost/hello:latest`), a short
/// one (`hello`, `hello:latest`), a full ID or a unique prefix of one.
pub fn resolve(root: &DockerRoot, reference: &str) -> Result<StoredImage, ArchiveError> {
    let all = images(root)?;
    let with_tag = |r: &str| {
        let slash = r.rfind('/').map_or(0, |i| i + 1);
        if r.contains('@') || r[slash..].contains(':') {
            r.to_string()
        } else {
            format!("{r}:latest")
        }
    };
    let wanted = with_tag(reference);
    let named = |i: &&StoredImage| {
        i.names.iter().any(|n| {
            let n = with_tag(n);
            n == wanted || n.ends_with(&format!("/{wanted}")) || normalize(&n) == normalize(&wanted)
        })
    };
    if let Some(i) = all.iter().find(named) {
        return Ok(i.clone());
    }
    let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
    if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let found: Vec<&StoredImage> = all.iter().filter(|i| i.id.starts_with(hex)).collect();
        match found.as_slice() {
            [one] => return Ok((*one).clone()),
            [] => {}
            many => {
                return Err(bad(
                    root,
                    IMAGES_JSON,
                    "image reference",
                    format!(
                        "`{reference}` is a prefix of {} image IDs; give more of it",
                        many.len()
                    ),
                ))
            }
        }
    }
    let mut names: Vec<&str> = all
        .iter()
        .flat_map(|i| i.names.iter().map(String::as_str))
        .collect();
    names.sort();
    let listing = if names.is_empty() {
        "  (no names; name an image by its ID)".to_string()
    } else {
        names
            .iter()
            .map(|n| format!("  {n}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Err(ArchiveError::new(
        &root.display(),
        None,
        Problem::NotInDataRoot {
            wanted: reference.to_string(),
            listing,
        },
    ))
}

/// The big-data file of an image item: `=` and the name in standard base64 when the name has
/// characters a file name should not (a digest's `:`), the name itself otherwise.
pub fn big_data_path(id: &str, name: &str) -> String {
    let plain_name = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if plain_name && !name.is_empty() {
        format!("overlay-images/{id}/{name}")
    } else {
        format!("overlay-images/{id}/={}", base64_encode(name.as_bytes()))
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The layers of `image`, base first, down the `parent` links from its top layer.
pub fn layer_chain(
    root: &DockerRoot,
    image: &StoredImage,
    all: &HashMap<String, StoredLayer>,
) -> Result<Vec<StoredLayer>, ArchiveError> {
    let mut chain = Vec::new();
    let mut at = image.layer.clone();
    while let Some(layer_id) = at {
        let Some(layer) = all.get(&layer_id) else {
            return Err(bad(
                root,
                LAYERS_JSON,
                "layer",
                format!(
                    "image {} needs layer {layer_id}, which is not listed",
                    image.id
                ),
            ));
        };
        if chain.len() > all.len() {
            return Err(bad(
                root,
                LAYERS_JSON,
                "layer",
                "the parent links loop".into(),
            ));
        }
        chain.push(layer.clone());
        at = layer.parent.clone();
    }
    chain.reverse();
    Ok(chain)
}

/// The candidate for `image`: its config (the big-data item named `sha256:<ID>`) and its
/// layers from the top layer down the `parent` links, each claimed to carry the diff its
/// `diff-digest` records.
pub fn candidate(
    root: &DockerRoot,
    image: &StoredImage,
) -> Result<(Candidate, Recorded), ArchiveError> {
    let id = Digest::parse(&format!("sha256:{}", image.id))
        .map_err(|e| ArchiveError::new(&root.display(), Some(IMAGES_JSON.into()), e.into()))?;
    let config_path = big_data_path(&image.id, id.as_str());
    let all = layers(root)?;
    let chain = layer_chain(root, image, &all)?;
    let diff_ids = root.config_fields(&config_path)?.diff_ids;
    if diff_ids.len() != chain.len() {
        return Err(bad(
            root,
            LAYERS_JSON,
            "layer",
            format!(
                "image {} has {} layers down from {}, its config {} diff_ids",
                image.id,
                chain.len(),
                image.layer.as_deref().unwrap_or("none"),
                diff_ids.len()
            ),
        ));
    }
    let mut claims = Vec::new();
    let mut recorded = Recorded::default();
    let mut layer_paths = Vec::new();
    for (layer, diff_id) in chain.iter().zip(&diff_ids) {
        let path = format!("{LAYER_PREFIX}{}", layer.id);
        if let Some(diff) = &layer.diff_digest {
            claims.push(BlobClaim {
                what: "layers_json_diff_digest",
                path: format!("{LAYERS_JSON}: {}", layer.id),
                expected: diff_id.to_string(),
                found: diff.clone(),
            });
        }
        recorded.layer_sizes.push(layer.diff_size.unwrap_or(0));
        layer_paths.push(path);
    }
    let mut tags = image.names.clone();
    tags.sort();
    let candidate = Candidate {
        number: 0,
        group: 0,
        tags,
        platform: None,
        manifest_digest: None,
        config_digest: Some(id),
        location: Location::DockerRoot {
            config_path,
            layer_paths,
        },
        index_claims: claims,
        top_digest: None,
    };
    Ok((candidate, recorded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_data_names_encode_like_containers_storage() {
        assert_eq!(
            big_data_path("ab", "sha256:40f6d0c2ea47f25e38146f86bf7969462e3a8642d01b8f1c0a235373b522b247"),
            "overlay-images/ab/=c2hhMjU2OjQwZjZkMGMyZWE0N2YyNWUzODE0NmY4NmJmNzk2OTQ2MmUzYTg2NDJkMDFiOGYxYzBhMjM1MzczYjUyMmIyNDc="
        );
        assert_eq!(
            big_data_path("ab", "manifest"),
            "overlay-images/ab/manifest"
        );
        assert_eq!(base64_encode(b"hi"), "aGk=");
        assert_eq!(base64_encode(b"abc"), "YWJj");
    }
}

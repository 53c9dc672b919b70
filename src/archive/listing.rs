//! What `strata images` shows: every image an archive holds, read from manifests and configs
//! only (no layer is read, except that a pre-1.10 save's chain is walked through its v1 JSONs).

use oci_spec::image::ImageManifest;
use serde::Serialize;

use super::{oci, platform_text, Archive, Candidate, Location};
use crate::digest::Digest;

#[derive(Debug, Serialize)]
pub struct ImageSummary {
    /// What `--image #N` picks.
    pub number: usize,
    pub tags: Vec<String>,
    /// `os/arch[/variant]`, from the index entry or else the config.
    pub platform: Option<String>,
    pub manifest_digest: Option<Digest>,
    /// The image ID. Unknown for a pre-1.10 save until its layers are read (`inspect` shows it).
    pub config_digest: Option<Digest>,
    pub layers: Option<usize>,
    /// Bytes the layers take in the archive, as stored (compressed or not); null when the
    /// archive is a stream whose member sizes are not kept.
    pub stored_size: Option<u64>,
    /// Why the image cannot be loaded, when it cannot.
    pub error: Option<String>,
}

pub fn summarize(archive: &Archive) -> Vec<ImageSummary> {
    archive
        .candidates
        .iter()
        .map(|c| summary(archive, c))
        .collect()
}

fn summary(archive: &Archive, c: &Candidate) -> ImageSummary {
    let mut s = ImageSummary {
        number: c.number,
        tags: c.tags.clone(),
        platform: c.platform.as_ref().map(platform_text),
        manifest_digest: c.manifest_digest.clone(),
        config_digest: c.config_digest.clone(),
        layers: None,
        stored_size: None,
        error: None,
    };
    let container = &archive.container;
    let config_path = match &c.location {
        Location::Broken(e) => {
            s.error = Some(e.to_string());
            return s;
        }
        Location::Docker {
            config_path,
            layer_paths,
            ..
        } => {
            s.layers = Some(layer_paths.len());
            s.stored_size = layer_paths
                .iter()
                .map(|p| container.stored_size(p))
                .sum::<Option<u64>>();
            Some(config_path.clone())
        }
        Location::DockerRoot {
            config_path,
            layer_paths,
        } => {
            // Layers of a data root are unpacked directories: no stored size to add up.
            s.layers = Some(layer_paths.len());
            Some(config_path.clone())
        }
        Location::Oci { descriptor } => {
            let manifest =
                oci::descriptor_digest(container, descriptor, "index.json").and_then(|d| {
                    let path = oci::blob_path(&d);
                    let bytes = container.read_json_file(&path, "image manifest")?;
                    oci::parse_json::<ImageManifest>(container, &path, "image manifest", &bytes)
                });
            match manifest {
                Ok(m) => {
                    s.layers = Some(m.layers().len());
                    s.stored_size = Some(m.layers().iter().map(|l| l.size()).sum());
                    s.config_digest = Digest::parse(m.config().digest().as_ref()).ok();
                    s.config_digest.as_ref().map(oci::blob_path)
                }
                Err(e) => {
                    s.error = Some(e.to_string());
                    None
                }
            }
        }
        Location::DockerV1 { top } => {
            let chain = v1_chain(archive, top);
            s.layers = Some(chain.len());
            s.stored_size = chain
                .iter()
                .map(|id| container.stored_size(&format!("{id}/layer.tar")))
                .sum::<Option<u64>>();
            Some(format!("{top}/json"))
        }
    };
    if s.platform.is_none() {
        s.platform = config_path.and_then(|p| platform_of(archive, &p));
    }
    s
}

fn platform_of(archive: &Archive, config_path: &str) -> Option<String> {
    let bytes = archive
        .container
        .read_json_file(config_path, "image config")
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let mut p = format!("{}/{}", v["os"].as_str()?, v["architecture"].as_str()?);
    if let Some(variant) = v["variant"].as_str() {
        p.push('/');
        p.push_str(variant);
    }
    Some(p)
}

/// The v1 IDs from `top` down its parents, as far as they can be read.
fn v1_chain(archive: &Archive, top: &str) -> Vec<String> {
    let mut chain = vec![top.to_string()];
    while chain.len() < 1000 {
        let Ok(bytes) = archive
            .container
            .read_json_file(&format!("{}/json", chain[chain.len() - 1]), "v1 image JSON")
        else {
            break;
        };
        let parent = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["parent"].as_str().map(str::to_string))
            .filter(|p| p.len() == 64 && p.bytes().all(|b| b.is_ascii_hexdigit()));
        match parent {
            Some(p) if !chain.contains(&p) => chain.push(p),
            _ => break,
        }
    }
    chain
}

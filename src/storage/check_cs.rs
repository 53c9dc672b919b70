//! `storage check` of a containers-storage root (podman, buildah; overlay driver): the same
//! checks as a Docker data root's ([`super::check`]) on what containers-storage records —
//! `overlay-layers/layers.json` (parents, `diff-digest` against the files rebuilt from
//! `<ID>.tar-split.gz` and `overlay/<ID>/diff/`), `overlay/<ID>/{link,lower}` and `overlay/l/`,
//! `overlay-images/images.json` (config digest = ID, diff_ids = the layer chain's digests),
//! `overlay-containers/containers.json`, and what nothing uses.

use std::collections::{BTreeMap, HashSet};

use super::check::{Checker, Image, Layer, Mount, Report};
use crate::archive::container::JSON_LIMIT;
use crate::archive::containers_storage::{self as cs, big_data_path, IMAGES_JSON, LAYERS_JSON};
use crate::archive::dockerroot::DockerRoot;
use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};

const CONTAINERS_JSON: &str = "overlay-containers/containers.json";

fn id_digest(id: &str) -> Option<Digest> {
    let hex64 = id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    hex64.then(|| Digest::parse(&format!("sha256:{id}")).expect("checked hex"))
}

/// Checks the storage. An error is returned only when it is not one at all (no readable
/// `layers.json` or `images.json`); everything else becomes a finding.
pub fn check_containers_storage(root: &DockerRoot) -> Result<Report, ArchiveError> {
    let mut c = Checker::new(root, "overlay", true);
    let stored = cs::layers(root)?;
    let mut layers: BTreeMap<Digest, Layer> = BTreeMap::new();
    for l in stored.values() {
        let Some(key) = id_digest(&l.id) else {
            c.add(
                "layer-record",
                LAYERS_JSON,
                format!("layer ID `{}` is not 64 hex digits", l.id),
            );
            continue;
        };
        let diff = match l.diff_digest.as_deref().map(Digest::parse) {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                c.add(
                    "layer-record",
                    LAYERS_JSON,
                    format!("layer {}: diff-digest: {e}", l.id),
                );
                None
            }
        };
        let parent = match l.parent.as_deref() {
            None | Some("") => None,
            Some(p) => match id_digest(p) {
                Some(d) => Some(d),
                None => {
                    c.add(
                        "layer-record",
                        LAYERS_JSON,
                        format!("layer {}: parent `{p}` is not a layer ID", l.id),
                    );
                    None
                }
            },
        };
        let mut layer = Layer {
            diff,
            parent,
            cache: Some(l.id.clone()),
            size: l.diff_size,
            link: None,
        };
        let diff_dir = format!("overlay/{}/diff", l.id);
        match root.kind_of(&diff_dir) {
            Ok(Some(rustix::fs::FileType::Directory)) => {
                let link_rel = format!("overlay/{}/link", l.id);
                layer.link = c.required(root.read_line(&link_rel, "short link"));
            }
            Ok(_) => c.add(
                "layer-dir-missing",
                &diff_dir,
                format!("missing: {LAYERS_JSON} lists layer {}", l.id),
            ),
            Err(e) => c.failed("layer-dir-missing", e),
        }
        // Layers made from an image carry a diff digest and a tar-split; a container's own
        // layer has neither.
        if layer.diff.is_some() && !root.exists(&format!("overlay-layers/{}.tar-split.gz", l.id)) {
            c.add(
                "tar-split",
                &format!("overlay-layers/{}.tar-split.gz", l.id),
                "missing: the layer's files cannot be checked against its diff digest",
            );
        }
        layers.insert(key, layer);
    }
    c.check_links(&layers);

    let mut images = BTreeMap::new();
    let mut named = HashSet::new();
    for image in cs::images(root)? {
        let Some(id) = id_digest(&image.id) else {
            c.add(
                "image-config",
                IMAGES_JSON,
                format!("image ID `{}` is not 64 hex digits", image.id),
            );
            continue;
        };
        if !image.names.is_empty() {
            named.insert(id.clone());
        }
        let config = big_data_path(&image.id, id.as_str());
        match root.read(&config, "image config", JSON_LIMIT) {
            Ok(bytes) => {
                let found = Digest::of_bytes(&bytes);
                if found != id {
                    c.add(
                        "image-id",
                        &config,
                        format!("the config's sha256 is {found}, not its image ID"),
                    );
                }
            }
            Err(e) => c.failed("image-config", e),
        }
        let chain = match cs::layer_chain(root, &image, &stored) {
            Ok(chain) => chain,
            Err(e) => {
                c.failed("image-layer", e);
                images.insert(
                    id,
                    Image {
                        chains: Vec::new(),
                        parent: None,
                    },
                );
                continue;
            }
        };
        // The image's diff_ids must be its layers' digests, in order.
        match cs::candidate(root, &image) {
            Ok((candidate, _)) => {
                for (i, claim) in candidate.index_claims.iter().enumerate() {
                    if claim.expected != claim.found {
                        c.add(
                            "image-layer",
                            &config,
                            format!(
                                "layer {i}: {} records diff {}, the config {}",
                                claim.path, claim.found, claim.expected
                            ),
                        );
                    }
                }
            }
            Err(e) => c.failed("image-layer", e),
        }
        let chains = chain.iter().filter_map(|l| id_digest(&l.id)).collect();
        images.insert(
            id,
            Image {
                chains,
                parent: None,
            },
        );
    }

    let mut mounts = Vec::new();
    #[derive(serde::Deserialize)]
    struct Container {
        id: String,
        #[serde(default)]
        layer: Option<String>,
    }
    match root.read(CONTAINERS_JSON, "containers.json", JSON_LIMIT) {
        Ok(bytes) => match serde_json::from_slice::<Vec<Container>>(&bytes) {
            Ok(list) => {
                for ct in list {
                    let parent = ct.layer.as_deref().and_then(id_digest);
                    if let Some(p) = &parent {
                        if !layers.contains_key(p) {
                            c.add(
                                "container",
                                CONTAINERS_JSON,
                                format!(
                                    "container {} uses layer {}, which is not listed",
                                    ct.id,
                                    p.hex()
                                ),
                            );
                        }
                    }
                    mounts.push(Mount {
                        dirs: Vec::new(),
                        parent,
                    });
                }
            }
            Err(e) => c.add(
                "container",
                CONTAINERS_JSON,
                format!("not a container list: {e}"),
            ),
        },
        Err(e) if matches!(e.problem, Problem::Absent) => {}
        Err(e) => c.failed("container", e),
    }
    c.check_leaks(&layers, &images, &mounts, Some(named))?;
    let bytes_checked = c.check_contents(&layers);
    Ok(c.finish(images.len(), layers.len(), mounts.len(), bytes_checked))
}

//! `storage check` of a containers-storage root (podman, buildah; overlay driver): the same
//! checks as a Docker data root's ([`super`]) on what containers-storage records —
//! `overlay-layers/layers.json` (parents, `diff-digest` against the files rebuilt from
//! `<ID>.tar-split.gz` and `overlay/<ID>/diff/`), `overlay/<ID>/{link,lower}` and `overlay/l/`,
//! `overlay-images/images.json` (config digest = ID, diff_ids = the layer chain's digests),
//! `overlay-containers/containers.json`, and what nothing uses.
//!
//! Only the reading of the records is this layout's own: once they are in the shapes the
//! Docker check reads (`Layer`, `Image`, `Mount`), the same steps check them.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::containers::Mount;
use super::images::Image;
use super::layers::Layer;
use super::{absent, is_hex64, Checker, Report};
use crate::archive::container::JSON_LIMIT;
use crate::archive::containers_storage::{
    self as cs, big_data_path, StoredLayer, IMAGES_JSON, LAYERS_JSON,
};
use crate::archive::dockerroot::DockerRoot;
use crate::digest::Digest;
use crate::error::ArchiveError;

const CONTAINERS_JSON: &str = "overlay-containers/containers.json";

/// A layer or image ID as a digest (containers-storage's IDs are 64 hex digits); None when
/// it is not one.
fn id_digest(id: &str) -> Option<Digest> {
    is_hex64(id).then(|| Digest::parse(&format!("sha256:{id}")).expect("checked hex"))
}

/// Checks the storage. An error is returned only when it is not one at all (no readable
/// `layers.json` or `images.json`); everything else becomes a finding.
pub fn check_containers_storage(root: &DockerRoot) -> Result<Report, ArchiveError> {
    let mut c = Checker::new(root, "overlay", true);
    let stored = cs::layers(root)?;
    let layers = c.read_cs_layers(&stored);
    c.check_links(&layers);
    let (images, named) = c.read_cs_images(&stored)?;
    let mounts = c.read_cs_containers(&layers);
    c.check_leaks(&layers, &images, &mounts, Some(named))?;
    let bytes_checked = c.check_contents(&layers);
    Ok(c.finish(images.len(), layers.len(), mounts.len(), bytes_checked))
}

impl Checker<'_> {
    /// `layers.json`'s layers, each checked on its own, by ID.
    fn read_cs_layers(&mut self, stored: &HashMap<String, StoredLayer>) -> BTreeMap<Digest, Layer> {
        let mut layers = BTreeMap::new();
        for l in stored.values() {
            let Some(key) = id_digest(&l.id) else {
                self.add(
                    "layer-record",
                    LAYERS_JSON,
                    format!("layer ID `{}` is not 64 hex digits", l.id),
                );
                continue;
            };
            let mut layer = Layer {
                diff: self.cs_diff_digest(l),
                parent: self.cs_parent(l),
                cache: Some(l.id.clone()),
                size: l.diff_size,
                link: None,
            };
            layer.link = self.read_layer_dir(&l.id, || {
                format!("missing: {LAYERS_JSON} lists layer {}", l.id)
            });
            // Layers made from an image carry a diff digest and a tar-split; a container's own
            // layer has neither.
            if layer.diff.is_some() {
                self.check_split_present(&key);
            }
            layers.insert(key, layer);
        }
        layers
    }

    fn cs_diff_digest(&mut self, l: &StoredLayer) -> Option<Digest> {
        match Digest::parse(l.diff_digest.as_deref()?) {
            Ok(d) => Some(d),
            Err(e) => {
                self.add(
                    "layer-record",
                    LAYERS_JSON,
                    format!("layer {}: diff-digest: {e}", l.id),
                );
                None
            }
        }
    }

    fn cs_parent(&mut self, l: &StoredLayer) -> Option<Digest> {
        let p = l.parent.as_deref().filter(|p| !p.is_empty())?;
        let parent = id_digest(p);
        if parent.is_none() {
            self.add(
                "layer-record",
                LAYERS_JSON,
                format!("layer {}: parent `{p}` is not a layer ID", l.id),
            );
        }
        parent
    }

    /// `images.json`'s images, each checked on its own, and those with a name.
    fn read_cs_images(
        &mut self,
        stored: &HashMap<String, StoredLayer>,
    ) -> Result<(BTreeMap<Digest, Image>, HashSet<Digest>), ArchiveError> {
        let mut images = BTreeMap::new();
        let mut named = HashSet::new();
        for image in cs::images(self.root)? {
            let Some(id) = id_digest(&image.id) else {
                self.add(
                    "image-config",
                    IMAGES_JSON,
                    format!("image ID `{}` is not 64 hex digits", image.id),
                );
                continue;
            };
            if !image.names.is_empty() {
                named.insert(id.clone());
            }
            let chains = self.read_cs_image(&id, &image, stored);
            images.insert(
                id,
                Image {
                    chains,
                    parent: None,
                },
            );
        }
        Ok((images, named))
    }

    /// Checks the image's config against its ID and its layers; returns its layers' IDs,
    /// base first (none when its chain cannot be followed).
    fn read_cs_image(
        &mut self,
        id: &Digest,
        image: &cs::StoredImage,
        stored: &HashMap<String, StoredLayer>,
    ) -> Vec<Digest> {
        let config = big_data_path(&image.id, id.as_str());
        match self.root.read(&config, "image config", JSON_LIMIT) {
            Ok(bytes) => {
                let found = Digest::of_bytes(&bytes);
                if found != *id {
                    self.add(
                        "image-id",
                        &config,
                        format!("the config's sha256 is {found}, not its image ID"),
                    );
                }
            }
            Err(e) => self.failed("image-config", e),
        }
        let chain = match cs::layer_chain(self.root, image, stored) {
            Ok(chain) => chain,
            Err(e) => {
                self.failed("image-layer", e);
                return Vec::new();
            }
        };
        self.check_cs_diff_ids(&config, image);
        chain.iter().filter_map(|l| id_digest(&l.id)).collect()
    }

    /// The image's diff_ids must be its layers' digests, in order.
    fn check_cs_diff_ids(&mut self, config: &str, image: &cs::StoredImage) {
        let candidate = match cs::candidate(self.root, image) {
            Ok((candidate, _)) => candidate,
            Err(e) => return self.failed("image-layer", e),
        };
        for (i, claim) in candidate.index_claims.iter().enumerate() {
            if claim.expected != claim.found {
                self.add(
                    "image-layer",
                    config,
                    format!(
                        "layer {i}: {} records diff {}, the config {}",
                        claim.path, claim.found, claim.expected
                    ),
                );
            }
        }
    }

    /// `containers.json`'s containers, each with the layer it uses, which must be listed.
    fn read_cs_containers(&mut self, layers: &BTreeMap<Digest, Layer>) -> Vec<Mount> {
        #[derive(serde::Deserialize)]
        struct Container {
            id: String,
            #[serde(default)]
            layer: Option<String>,
        }
        let list = match self
            .root
            .read(CONTAINERS_JSON, "containers.json", JSON_LIMIT)
        {
            Ok(bytes) => match serde_json::from_slice::<Vec<Container>>(&bytes) {
                Ok(list) => list,
                Err(e) => {
                    let detail = format!("not a container list: {e}");
                    self.add("container", CONTAINERS_JSON, detail);
                    return Vec::new();
                }
            },
            Err(e) if absent(&e) => return Vec::new(),
            Err(e) => {
                self.failed("container", e);
                return Vec::new();
            }
        };
        let mut mounts = Vec::new();
        for ct in list {
            let parent = ct.layer.as_deref().and_then(id_digest);
            if let Some(p) = parent.as_ref().filter(|p| !layers.contains_key(p)) {
                self.add(
                    "container",
                    CONTAINERS_JSON,
                    format!(
                        "container {} uses layer {}, which is not listed",
                        ct.id,
                        p.hex()
                    ),
                );
            }
            mounts.push(Mount {
                dirs: Vec::new(),
                parent,
            });
        }
        mounts
    }
}

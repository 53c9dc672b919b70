//! Images: each config in imagedb must hash to its image ID, its `rootfs.diff_ids` must be
//! layers layerdb has (with those diffs), and its recorded parent image must be there.

use std::collections::BTreeMap;

use super::layers::Layer;
use super::Checker;
use crate::archive::container::JSON_LIMIT;
use crate::archive::dockerroot::{DockerRoot, IMAGE_DIR};
use crate::digest::{chain_ids, Digest};

/// An image as recorded in imagedb.
pub(super) struct Image {
    /// Its layers' chainIDs, base first.
    pub(super) chains: Vec<Digest>,
    pub(super) parent: Option<Digest>,
}

/// Where imagedb records the parent of the image `hex`.
fn parent_path(hex: &str) -> String {
    format!("{IMAGE_DIR}/imagedb/metadata/sha256/{hex}/parent")
}

impl Checker<'_> {
    pub(super) fn read_images(
        &mut self,
        layers: &BTreeMap<Digest, Layer>,
    ) -> BTreeMap<Digest, Image> {
        let ids = self
            .optional("image-config", self.root.image_ids())
            .unwrap_or_default();
        let mut images = BTreeMap::new();
        for hex in ids {
            let id = Digest::parse(&format!("sha256:{hex}")).expect("listed as hex");
            if let Some(image) = self.read_image(&id, layers) {
                images.insert(id, image);
            }
        }
        self.check_image_parents(&images);
        images
    }

    /// The image `id`'s config checked against its ID and layers, and its parent; None when
    /// the config cannot be used at all.
    fn read_image(&mut self, id: &Digest, layers: &BTreeMap<Digest, Layer>) -> Option<Image> {
        let rel = DockerRoot::config_path(id);
        let bytes = match self.root.read(&rel, "image config", JSON_LIMIT) {
            Ok(b) => b,
            Err(e) => {
                self.failed("image-config", e);
                return None;
            }
        };
        let found = Digest::of_bytes(&bytes);
        if found != *id {
            self.add(
                "image-id",
                &rel,
                format!("the config's sha256 is {found}, not its image ID"),
            );
        }
        let diff_ids = match diff_ids_of(&bytes) {
            Ok(d) => d,
            Err(e) => {
                self.add("image-config", &rel, format!("not an image config: {e}"));
                return None;
            }
        };
        let chains = chain_ids(&diff_ids);
        self.check_image_layers(&rel, &chains, &diff_ids, layers);
        let parent = self.optional(
            "image-config",
            self.root
                .read_digest(&parent_path(id.hex()), "parent image"),
        );
        Some(Image { chains, parent })
    }

    /// Each of the config's diff_ids must be a layer in layerdb with that diff.
    fn check_image_layers(
        &mut self,
        config: &str,
        chains: &[Digest],
        diff_ids: &[Digest],
        layers: &BTreeMap<Digest, Layer>,
    ) {
        for (i, (chain, diff_id)) in chains.iter().zip(diff_ids).enumerate() {
            match layers.get(chain).map(|l| l.diff.as_ref()) {
                None => self.add(
                    "image-layer",
                    config,
                    format!("layer {i} ({diff_id}) is missing: no layerdb entry {chain}"),
                ),
                Some(Some(recorded)) if recorded != diff_id => self.add(
                    "image-layer",
                    config,
                    format!(
                        "layer {i}: layerdb entry {chain} records diff {recorded}, not {diff_id}"
                    ),
                ),
                Some(_) => {}
            }
        }
    }

    /// A parent image imagedb records must be in imagedb.
    fn check_image_parents(&mut self, images: &BTreeMap<Digest, Image>) {
        for (id, image) in images {
            if let Some(p) = image.parent.as_ref().filter(|p| !images.contains_key(p)) {
                self.add(
                    "parent-missing",
                    &parent_path(id.hex()),
                    format!("names image {p}, which is not in imagedb"),
                );
            }
        }
    }
}

/// The config's `rootfs.diff_ids`, parsed; the error as a finding words it.
fn diff_ids_of(config: &[u8]) -> Result<Vec<Digest>, String> {
    #[derive(serde::Deserialize)]
    struct RootFs {
        #[serde(default)]
        diff_ids: Vec<String>,
    }
    #[derive(serde::Deserialize)]
    struct Config {
        rootfs: RootFs,
    }
    let config = serde_json::from_slice::<Config>(config).map_err(|e| e.to_string())?;
    config
        .rootfs
        .diff_ids
        .iter()
        .map(|d| Digest::parse(d).map_err(|e| e.to_string()))
        .collect()
}

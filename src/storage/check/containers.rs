//! Containers: each `layerdb/mounts/<container>` names the container's own overlay2
//! directories (`mount-id`, `init-id`), which must be there, and the image layer it stands on
//! (`parent`), which must be in layerdb.

use std::collections::BTreeMap;

use super::layers::Layer;
use super::{absent, Checker};
use crate::digest::Digest;

const MOUNTS: &str = "image/overlay2/layerdb/mounts";

/// A container's layers: its own directories and the image layer it stands on.
pub(super) struct Mount {
    pub(super) dirs: Vec<String>,
    pub(super) parent: Option<Digest>,
}

impl Checker<'_> {
    pub(super) fn read_mounts(&mut self, layers: &BTreeMap<Digest, Layer>) -> Vec<Mount> {
        let names = match self.root.list(MOUNTS) {
            Ok(n) => n,
            Err(e) if absent(&e) => return Vec::new(),
            Err(e) => {
                self.failed("container", e);
                return Vec::new();
            }
        };
        names
            .into_iter()
            .map(|name| {
                let dir = format!("{MOUNTS}/{name}");
                let dirs = self.container_dirs(&dir);
                let parent = self.container_parent(&dir, layers);
                Mount { dirs, parent }
            })
            .collect()
    }

    /// The overlay2 directories `mount-id` and `init-id` (which an old container may lack)
    /// name; a finding for one that is missing or is not a plain name.
    fn container_dirs(&mut self, dir: &str) -> Vec<String> {
        let mut dirs = Vec::new();
        for file in ["mount-id", "init-id"] {
            let rel = format!("{dir}/{file}");
            match self.root.read_line(&rel, "container layer") {
                Ok(id) if !id.is_empty() && !id.contains('/') && id != ".." => {
                    let present = self.root.kind_of(&format!("overlay2/{id}"));
                    if present.ok().flatten().is_none() {
                        self.add(
                            "container",
                            &rel,
                            format!("names overlay2/{id}, which is missing"),
                        );
                    }
                    dirs.push(id);
                }
                Ok(id) => self.add("container", &rel, format!("`{id}` is not a directory name")),
                Err(e) if absent(&e) && file == "init-id" => {}
                Err(e) => self.failed("container", e),
            }
        }
        dirs
    }

    /// The image layer the container stands on, which must be in layerdb.
    fn container_parent(&mut self, dir: &str, layers: &BTreeMap<Digest, Layer>) -> Option<Digest> {
        let rel = format!("{dir}/parent");
        let parent = self.optional("container", self.root.read_digest(&rel, "layer parent"))?;
        if !layers.contains_key(&parent) {
            self.add(
                "container",
                &rel,
                format!("names layer {parent}, which is not in layerdb"),
            );
        }
        Some(parent)
    }
}

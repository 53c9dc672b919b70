//! Leaks: what nothing uses, with the bytes removing it would give back — layers no image or
//! container stands on, graph directories no record names, short links that lead nowhere,
//! and images with no tag, no child and no container. Both layouts are checked alike.

use std::collections::{BTreeMap, HashSet};

use super::containers::Mount;
use super::images::Image;
use super::layers::Layer;
use super::Checker;
use crate::archive::dockerroot::{DockerRoot, IMAGE_DIR};
use crate::digest::Digest;
use crate::error::ArchiveError;
use crate::storage::buildcache;

impl Checker<'_> {
    /// Overlay2 dirs, layers, links and images nothing uses. `named_images` are the images
    /// with a name (containers-storage); None reads Docker's tags from `repositories.json`.
    pub(super) fn check_leaks(
        &mut self,
        layers: &BTreeMap<Digest, Layer>,
        images: &BTreeMap<Digest, Image>,
        mounts: &[Mount],
        named_images: Option<HashSet<Digest>>,
    ) -> Result<(), ArchiveError> {
        self.unused_layers(layers, images, mounts);
        self.orphan_dirs(layers, mounts)?;
        self.dangling_links()?;
        if let Some(tagged) = self.tagged_images(images, named_images) {
            self.dangling_images(layers, images, mounts, &tagged);
        }
        Ok(())
    }

    /// Layers no image or container chain reaches, down to the base.
    fn unused_layers(
        &mut self,
        layers: &BTreeMap<Digest, Layer>,
        images: &BTreeMap<Digest, Image>,
        mounts: &[Mount],
    ) {
        let mut used: HashSet<Digest> = HashSet::new();
        let tops = images
            .values()
            .flat_map(|i| i.chains.iter().cloned())
            .chain(mounts.iter().filter_map(|m| m.parent.clone()));
        for top in tops {
            let mut at = Some(top);
            while let Some(c) = at {
                if !used.insert(c.clone()) {
                    break;
                }
                at = layers.get(&c).and_then(|l| l.parent.clone());
            }
        }
        for (chain, layer) in layers.iter().filter(|(c, _)| !used.contains(*c)) {
            let size = match &layer.cache {
                Some(c) => self.tree_size(&format!("{}/{c}", self.graph)),
                None => 0,
            };
            let record = self.record(chain);
            self.leak(
                "unused-layer",
                &record,
                "no image or container uses this layer",
                size,
            );
        }
    }

    /// Graph directories no layer, container or BuildKit snapshot names.
    fn orphan_dirs(
        &mut self,
        layers: &BTreeMap<Digest, Layer>,
        mounts: &[Mount],
    ) -> Result<(), ArchiveError> {
        let buildkit = self.buildkit_dirs();
        let named: HashSet<&str> = layers
            .values()
            .filter_map(|l| l.cache.as_deref())
            .chain(
                mounts
                    .iter()
                    .flat_map(|m| m.dirs.iter().map(String::as_str)),
            )
            .chain(buildkit.iter().map(String::as_str))
            .collect();
        for name in &self.sorted_names(self.graph)? {
            // containers-storage keeps marker files (`.has-mount-program`) beside the layers.
            let marker = self.containers && name.starts_with('.');
            if name == "l" || marker || named.contains(name.as_str()) {
                continue;
            }
            let rel = format!("{}/{name}", self.graph);
            let size = self.tree_size(&rel);
            self.leak(
                "orphan-dir",
                &rel,
                "no layer or container names this directory",
                size,
            );
        }
        Ok(())
    }

    /// The overlay2 directories BuildKit's snapshotter made: its snapshots.db names them, as
    /// layerdb names the layers' (Docker only).
    fn buildkit_dirs(&mut self) -> HashSet<String> {
        if self.containers {
            return HashSet::new();
        }
        buildcache::snapshot_dirs(self.root).unwrap_or_else(|e| {
            self.add(
                "unreadable",
                buildcache::SNAPSHOTS_DB,
                e.problem.to_string(),
            );
            HashSet::new()
        })
    }

    /// `<graph>/l/` links that do not lead to a layer's `diff/`.
    fn dangling_links(&mut self) -> Result<(), ArchiveError> {
        let graph = self.graph;
        for link in self.sorted_names(&format!("{graph}/l"))? {
            let rel = format!("{graph}/l/{link}");
            let target = match self.root.read_link(&rel) {
                Ok(t) => String::from_utf8_lossy(&t).into_owned(),
                Err(_) => {
                    self.add("dangling-link", &rel, "not a symlink");
                    continue;
                }
            };
            let cache = target
                .strip_prefix("../")
                .and_then(|t| t.strip_suffix("/diff"))
                .filter(|c| !c.is_empty() && !c.contains('/') && *c != "..");
            let alive = cache.is_some_and(|c| {
                matches!(
                    self.root.kind_of(&format!("{graph}/{c}/diff")),
                    Ok(Some(rustix::fs::FileType::Directory))
                )
            });
            if !alive {
                self.add(
                    "dangling-link",
                    &rel,
                    format!("leads to `{target}`, which is not a layer directory"),
                );
            }
        }
        Ok(())
    }

    /// The images a name points at: `named_images`, or those of `repositories.json`, whose
    /// tags must point at images that are there. None (and a finding) when they cannot be
    /// read: then no image can be called dangling.
    fn tagged_images(
        &mut self,
        images: &BTreeMap<Digest, Image>,
        named_images: Option<HashSet<Digest>>,
    ) -> Option<HashSet<Digest>> {
        let refs = match named_images {
            Some(named) => named.into_iter().map(|d| (String::new(), d)).collect(),
            None => match self.root.repositories() {
                Ok(refs) => refs,
                Err(e) => {
                    self.failed("tag-dangling", e);
                    return None;
                }
            },
        };
        let rel = format!("{IMAGE_DIR}/repositories.json");
        for (name, id) in &refs {
            if !name.is_empty() && !images.contains_key(id) {
                self.add(
                    "tag-dangling",
                    &rel,
                    format!("`{name}` points at {id}, which is not in imagedb"),
                );
            }
        }
        Some(refs.into_iter().map(|(_, id)| id).collect())
    }

    /// Images with no tag, no child image and no container; their size is their layers'.
    fn dangling_images(
        &mut self,
        layers: &BTreeMap<Digest, Layer>,
        images: &BTreeMap<Digest, Image>,
        mounts: &[Mount],
        tagged: &HashSet<Digest>,
    ) {
        let parents: HashSet<&Digest> = images.values().filter_map(|i| i.parent.as_ref()).collect();
        let container_tops: HashSet<&Digest> =
            mounts.iter().filter_map(|m| m.parent.as_ref()).collect();
        for (id, image) in images {
            let in_use = tagged.contains(id)
                || parents.contains(id)
                || image
                    .chains
                    .last()
                    .is_some_and(|top| container_tops.contains(top));
            if in_use {
                continue;
            }
            let size = image
                .chains
                .iter()
                .filter_map(|c| layers.get(c).and_then(|l| l.size))
                .sum();
            self.leak(
                "dangling-image",
                &DockerRoot::config_path(id),
                "no tag, no child image and no container",
                size,
            );
        }
    }
}

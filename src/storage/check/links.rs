//! How layers name each other: a layer's parent must be recorded, its short link
//! `<graph>/l/<link>` must lead to its `diff/`, and its `lower` file must list its parents'
//! short links, nearest first (what the overlay mount is made of).

use std::collections::{BTreeMap, HashSet};

use super::layers::Layer;
use super::{absent, Checker};
use crate::archive::container::JSON_LIMIT;
use crate::digest::Digest;

impl Checker<'_> {
    /// Parents exist, and each layer's `link` and `lower` agree with `l/` and the parent chain.
    pub(super) fn check_links(&mut self, layers: &BTreeMap<Digest, Layer>) {
        for (chain, layer) in layers {
            if let Some(p) = layer.parent.as_ref().filter(|p| !layers.contains_key(p)) {
                self.parent_missing(chain, p);
            }
            let (Some(cache), Some(link)) = (&layer.cache, &layer.link) else {
                continue;
            };
            self.check_short_link(cache, link);
            // When the chain cannot be known (a parent missing or without a link, a loop),
            // the `lower` file is not judged.
            if let Some(expected) = lower_chain(layers, layer) {
                self.check_lower(cache, expected);
            }
        }
    }

    fn parent_missing(&mut self, chain: &Digest, parent: &Digest) {
        let (path, detail) = if self.containers {
            (
                crate::archive::containers_storage::LAYERS_JSON.to_string(),
                format!(
                    "layer {} has parent {}, which is not listed",
                    chain.hex(),
                    parent.hex()
                ),
            )
        } else {
            (
                format!("{}/parent", self.record(chain)),
                format!("names {parent}, which is not in layerdb"),
            )
        };
        self.add("parent-missing", &path, detail);
    }

    /// `<graph>/l/<link>` must be a symlink to `../<cache>/diff`.
    fn check_short_link(&mut self, cache: &str, link: &str) {
        let graph = self.graph;
        let link_rel = format!("{graph}/l/{link}");
        let want = format!("../{cache}/diff");
        match self.root.read_link(&link_rel) {
            Ok(target) if target == want.as_bytes() => {}
            Ok(target) => self.add(
                "link",
                &link_rel,
                format!(
                    "leads to `{}`, not {want} ({graph}/{cache}/link names it)",
                    String::from_utf8_lossy(&target)
                ),
            ),
            Err(e) => self.add(
                "link",
                &link_rel,
                format!("{graph}/{cache}/link names it, but it {}", e.problem),
            ),
        }
    }

    /// `<graph>/<cache>/lower` must be `expected` (None: no file, for a base layer).
    fn check_lower(&mut self, cache: &str, expected: Option<String>) {
        let lower_rel = format!("{}/{cache}/lower", self.graph);
        let found = match self.root.read(&lower_rel, "lower", JSON_LIMIT) {
            Ok(b) => Some(String::from_utf8_lossy(&b).trim().to_string()),
            Err(e) if absent(&e) => None,
            Err(e) => return self.failed("lower", e),
        };
        if found != expected {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "absent".into());
            self.add(
                "lower",
                &lower_rel,
                format!(
                    "is {}, the parent chain gives {}",
                    show(&found),
                    show(&expected)
                ),
            );
        }
    }
}

/// What `layer`'s `lower` file should say: its parent's short link, its parent's…, nearest
/// first, as `l/<link>:l/<link>…` (Some(None) for a base layer, which has no `lower`). None
/// when the chain cannot be known: a parent missing or without a link, or a loop.
fn lower_chain(layers: &BTreeMap<Digest, Layer>, layer: &Layer) -> Option<Option<String>> {
    let mut links = Vec::new();
    let mut at = layer.parent.clone();
    let mut seen = HashSet::new();
    while let Some(p) = at {
        let parent = layers.get(&p).filter(|_| seen.insert(p.clone()))?;
        links.push(format!("l/{}", parent.link.as_ref()?));
        at = parent.parent.clone();
    }
    Some((!links.is_empty()).then(|| links.join(":")))
}

//! Layer records: each layerdb entry read and checked on its own (its chainID, its size, its
//! directory and tar-split being there). The steps both layouts share — the layer directory
//! and its short link name, the tar-split — are here too.

use std::collections::BTreeMap;

use super::{is_hex64, Checker, LAYERDB};
use crate::digest::Digest;
use crate::error::ArchiveError;

/// A layer as recorded (in layerdb, or in containers-storage's `layers.json`).
#[derive(Default)]
pub(super) struct Layer {
    pub(super) diff: Option<Digest>,
    pub(super) parent: Option<Digest>,
    /// Its directory under the graph directory (`overlay2/<cache-id>`).
    pub(super) cache: Option<String>,
    pub(super) size: Option<u64>,
    /// `overlay2/<cache>/link`, when the directory and that file are there.
    pub(super) link: Option<String>,
}

impl Checker<'_> {
    /// Reads every layerdb entry's records and checks each on its own.
    pub(super) fn read_layers(&mut self) -> Result<BTreeMap<Digest, Layer>, ArchiveError> {
        let mut names = self.root.list(LAYERDB)?;
        names.sort();
        let mut layers = BTreeMap::new();
        for name in names {
            let dir = format!("{LAYERDB}/{name}");
            if !is_hex64(&name) {
                self.add("layer-record", &dir, "not a chainID (64 hex digits)");
                continue;
            }
            let chain = Digest::parse(&format!("sha256:{name}")).expect("checked hex");
            let layer = self.read_layer(&chain, &dir);
            layers.insert(chain, layer);
        }
        Ok(layers)
    }

    /// The records of the layerdb entry `dir`, named `chain`.
    fn read_layer(&mut self, chain: &Digest, dir: &str) -> Layer {
        let mut layer = Layer {
            diff: self.required(self.root.read_digest(&format!("{dir}/diff"), "layer diff")),
            parent: self.optional(
                "layer-record",
                self.root
                    .read_digest(&format!("{dir}/parent"), "layer parent"),
            ),
            size: self.read_size(&format!("{dir}/size")),
            ..Layer::default()
        };
        if let Some(diff) = &layer.diff {
            self.check_chain_id(chain, dir, diff, layer.parent.as_ref());
        }
        layer.cache = self.required(self.root.cache_id(dir));
        if let Some(cache) = &layer.cache {
            layer.link = self.read_layer_dir(cache, || format!("missing: {dir}/cache-id names it"));
        }
        self.check_split_present(chain);
        layer
    }

    /// The layer's `size` file: bytes, as a decimal number.
    fn read_size(&mut self, rel: &str) -> Option<u64> {
        let text = self.required(self.root.read_line(rel, "layer size"))?;
        match text.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.add(
                    "layer-record",
                    rel,
                    format!("`{text}` is not a size in bytes"),
                );
                None
            }
        }
    }

    /// A layerdb directory is named by its chainID: its diff for a base layer, else
    /// sha256 of "parent diff".
    fn check_chain_id(
        &mut self,
        chain: &Digest,
        dir: &str,
        diff: &Digest,
        parent: Option<&Digest>,
    ) {
        let expected = match parent {
            None => diff.clone(),
            Some(p) => Digest::of_bytes(format!("{p} {diff}").as_bytes()),
        };
        if expected == *chain {
            return;
        }
        let how = match parent {
            None => format!("a base layer's chainID is its diff {diff}"),
            Some(p) => {
                format!("sha256(parent + \" \" + diff) is {expected} (parent {p}, diff {diff})")
            }
        };
        self.add(
            "chain-id",
            dir,
            format!("not the chainID its records give: {how}"),
        );
    }

    /// The layer's directory `<graph>/<cache>` must hold its files in `diff/`; then its short
    /// link name (`link`) is returned. `named_by` words the finding when `diff/` is missing:
    /// which record names the directory.
    pub(super) fn read_layer_dir(
        &mut self,
        cache: &str,
        named_by: impl FnOnce() -> String,
    ) -> Option<String> {
        let graph = self.graph;
        let diff_dir = format!("{graph}/{cache}/diff");
        match self.root.kind_of(&diff_dir) {
            Ok(Some(rustix::fs::FileType::Directory)) => {
                let link_rel = format!("{graph}/{cache}/link");
                self.required(self.root.read_line(&link_rel, "short link"))
            }
            Ok(_) => {
                self.add("layer-dir-missing", &diff_dir, named_by());
                None
            }
            Err(e) => {
                self.failed("layer-dir-missing", e);
                None
            }
        }
    }

    /// Without its tar-split a layer's files cannot be rebuilt into its tar, so not checked.
    pub(super) fn check_split_present(&mut self, chain: &Digest) {
        let split = self.split_path(chain);
        if self.root.exists(&split) {
            return;
        }
        let against = if self.containers {
            "diff digest"
        } else {
            "diffID"
        };
        self.add(
            "tar-split",
            &split,
            format!("missing: the layer's files cannot be checked against its {against}"),
        );
    }
}

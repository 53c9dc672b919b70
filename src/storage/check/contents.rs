//! Layer contents: each layer's files, rebuilt with its tar-split into the tar it was made
//! from, must hash to its diffID. One layer at a time, streamed: memory does not grow with
//! the layer.

use std::collections::BTreeMap;
use std::io::Read;

use super::layers::Layer;
use super::Checker;
use crate::archive::tarsplit::{Fault, TarSplitReader};
use crate::digest::{BackgroundHasher, Digest, Stream};

impl Checker<'_> {
    /// Rebuilds each layer's tar and compares its sha256 with the recorded diff, naming every
    /// changed file. Returns the bytes hashed.
    pub(super) fn check_contents(&mut self, layers: &BTreeMap<Digest, Layer>) -> u64 {
        let mut total = 0;
        for (chain, layer) in layers {
            // Only a layer with a recorded diff, its directory and its tar-split can be rebuilt.
            let (Some(diff), Some(_), Some(_)) = (&layer.diff, &layer.cache, &layer.link) else {
                continue;
            };
            let dir = self.record(chain);
            if !self.root.exists(&self.split_path(chain)) {
                continue;
            }
            let mut reader = match self.root.open_layer(&dir) {
                Ok(r) => r.collecting(),
                Err(e) => {
                    self.failed("tar-split", e);
                    continue;
                }
            };
            let (found, bytes, outcome) = rebuild_and_hash(&mut reader);
            total += bytes;
            for fault in reader.faults().to_vec() {
                self.add("file-changed", &fault.path, fault.detail);
            }
            match outcome {
                Err(e) => match Fault::of(&e) {
                    Some(f) => self.add("tar-split", &f.path, f.detail.clone()),
                    None => self.add("unreadable", &dir, format!("reading the layer: {e}")),
                },
                Ok(()) if found != *diff => self.diff_id_differs(chain, &dir, &found, diff),
                Ok(()) => {}
            }
        }
        total
    }

    fn diff_id_differs(&mut self, chain: &Digest, dir: &str, found: &Digest, diff: &Digest) {
        let (path, layer) = if self.containers {
            (
                crate::archive::containers_storage::LAYERS_JSON.to_string(),
                format!("layer {}: ", chain.hex()),
            )
        } else {
            (format!("{dir}/diff"), String::new())
        };
        self.add(
            "diff-id",
            &path,
            format!(
                "{layer}the layer's files rebuild into a tar whose digest is {found}, not the diffID {diff}"
            ),
        );
    }
}

/// Reads the rebuilt tar to its end, hashing it on another thread: its digest, its length,
/// and how the reading ended.
fn rebuild_and_hash(reader: &mut TarSplitReader) -> (Digest, u64, std::io::Result<()>) {
    let hasher = BackgroundHasher::start();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    let outcome = loop {
        match reader.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                hasher.feed(Stream::Stored, &buf[..n]);
                bytes += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    let (found, _) = hasher.finish();
    (found, bytes, outcome)
}

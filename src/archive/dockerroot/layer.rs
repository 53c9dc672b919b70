//! A layer's files: its directory under the graph directory, and its original tar rebuilt
//! from them and its tar-split.

use super::DockerRoot;
use crate::archive::containers_storage::LAYER_PREFIX;
use crate::archive::tarsplit::TarSplitReader;
use crate::error::{ArchiveError, Problem};

impl DockerRoot {
    /// The layer's `cache-id`: its directory under `overlay2/`, checked to be a plain name.
    pub fn cache_id(&self, layer_dir: &str) -> Result<String, ArchiveError> {
        let cache_path = format!("{layer_dir}/cache-id");
        let cache_id = self.read_line(&cache_path, "cache-id")?;
        let plain = !cache_id.is_empty()
            && cache_id.len() <= 128
            && cache_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plain {
            return Err(self.error(
                &cache_path,
                Problem::BadContent {
                    what: "cache-id",
                    detail: format!(
                        "`{}` is not a layer directory name",
                        crate::rawname::escape_for_message(&cache_id, 80)
                    ),
                },
            ));
        }
        Ok(cache_id)
    }

    /// Where the files of the layer at `layer_dir` lie, relative to the root: docker's
    /// `overlay2/<cache-id>/diff`, or containers-storage's `overlay/<ID>/diff` for an
    /// `overlay-layers/<ID>` layer. Only names are checked here, nothing is opened.
    pub fn diff_dir(&self, layer_dir: &str) -> Result<String, ArchiveError> {
        if let Some(id) = layer_dir.strip_prefix(LAYER_PREFIX) {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(self.error(layer_dir, Problem::PathEscapes));
            }
            return Ok(format!("overlay/{id}/diff"));
        }
        Ok(format!("overlay2/{}/diff", self.cache_id(layer_dir)?))
    }

    /// The layer at `layer_dir` (a layerdb directory) as its original tar.
    /// A containers-storage layer (`overlay-layers/<ID>`) is read from
    /// `overlay-layers/<ID>.tar-split.gz` and `overlay/<ID>/diff/`.
    pub fn open_layer(&self, layer_dir: &str) -> Result<TarSplitReader, ArchiveError> {
        let diff_path = self.diff_dir(layer_dir)?;
        let split_path = if layer_dir.starts_with(LAYER_PREFIX) {
            format!("{layer_dir}.tar-split.gz")
        } else {
            format!("{layer_dir}/tar-split.json.gz")
        };
        let split = self.open_file(&split_path)?;
        let diff = self.open_dir(&diff_path)?;
        Ok(TarSplitReader::new(split, split_path, diff, diff_path))
    }
}

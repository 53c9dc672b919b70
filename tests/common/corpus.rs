//! The conformance corpus in ../shared/corpus (real archives made by other tools, with
//! reference answers): finding each entry's archive and the images its reference describes.

use std::path::{Path, PathBuf};

use serde_json::Value;

pub const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// The archive in an entry folder: its `*.tar`, or the OCI layout directory.
pub fn find_archive(entry: &Path) -> Option<PathBuf> {
    let mut dirs = Vec::new();
    for e in std::fs::read_dir(entry).ok()? {
        let p = e.ok()?.path();
        if p.is_dir() {
            dirs.push(p);
        } else if p.extension().is_some_and(|x| x == "tar") {
            return Some(p);
        }
    }
    dirs.into_iter().next()
}

/// The images strata should find: those of the view the summary was made from.
pub fn reference_images(doc: &Value) -> Vec<Value> {
    let Some(via) = doc["summary"].get(0).and_then(|s| s["via"].as_str()) else {
        return Vec::new();
    };
    doc["views"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["via"] == via)
        .flat_map(|v| v["images"].as_array().cloned().unwrap_or_default())
        .collect()
}

pub fn select_args(archive: &Path, n_images: usize, i: usize, img: &Value) -> Vec<String> {
    let mut a = vec![archive.to_string_lossy().into_owned()];
    if n_images > 1 {
        a.push("--image".into());
        // `#N`: a bare number would pick an image tagged N first (ggcr test_index has tags 1-4).
        a.push(format!("#{}", super::FIRST_IMAGE_NUMBER + i));
    }
    if let (Some(os), Some(arch)) = (
        img["platform"]["os"].as_str(),
        img["platform"]["architecture"].as_str(),
    ) {
        let mut p = format!("{os}/{arch}");
        if let Some(v) = img["platform"]["variant"].as_str() {
            p.push('/');
            p.push_str(v);
        }
        a.push("--platform".into());
        a.push(p);
    }
    a
}

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

/// The names of the corpus entries with a reference tree (`rootfs-manifest.json`), sorted; `None`
/// (said, and counted as skipped) when the corpus is not here.
pub fn entries_with_rootfs() -> Option<Vec<String>> {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        super::skipped(format!("no corpus at {}", root.display()));
        return None;
    }
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("rootfs-manifest.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Some(names)
}

/// An entry's reference tree (`rootfs-manifest.json`, parsed), its archive, and the images its
/// `layers.json` describes (none when it has no such file).
pub struct RootfsEntry {
    pub manifest: Value,
    pub archive: PathBuf,
    pub images: Vec<Value>,
}

/// [`RootfsEntry`] of the entry folder `dir`, or what is missing there.
pub fn rootfs_entry(dir: &Path) -> Result<RootfsEntry, String> {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("rootfs-manifest.json")).unwrap())
            .expect("rootfs-manifest.json");
    let archive = find_archive(dir).ok_or("no archive found in the folder")?;
    let layers: Value = std::fs::read_to_string(dir.join("layers.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    Ok(RootfsEntry {
        manifest,
        archive,
        images: reference_images(&layers),
    })
}

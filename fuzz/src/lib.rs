//! Helpers shared by the fuzz targets: a mutation-friendly text framing of a whole image
//! archive (a "bundle"), and the test suite's tar writer and bottom-up layer model, included
//! from `tests/common` so the fuzzer checks strata against the same oracle as the tests.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

#[allow(dead_code)]
#[path = "../../tests/common/tarball.rs"]
pub mod tarball;

#[allow(dead_code)]
#[path = "../../tests/common/rootfs.rs"]
pub mod rootfs;

/// How a bundle is packaged on disk before strata opens it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pack {
    Dir,
    Tar,
    TarGz,
}

/// An archive as text sections, so that libFuzzer mutates JSON and not tar checksums:
///
/// ```text
/// #image <ref>            (options, before the first section: --image)
/// #platform os/arch       (--platform)
/// #pack dir|tar|tgz       (how it is written out; dir by default)
/// @@@ index.json
/// {"manifests":[{"digest":"{{d1}}","size":{{s1}}, ...}]}
/// @@@ blobs/sha256/@
/// ...
/// ```
///
/// A section named `blobs/sha256/@` is stored under its own digest. `{{dN}}` and `{{sN}}` become
/// the digest (`sha256:<hex>`) and size of section N as finally written; sections are resolved
/// from the last one up, so only references to later sections are replaced.
#[derive(Debug, Default)]
pub struct Bundle {
    pub image: Option<String>,
    pub platform: Option<String>,
    pub pack: Option<Pack>,
    pub files: Vec<(String, Vec<u8>)>,
}

pub const MAX_SECTIONS: usize = 24;

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

pub fn is_bundle(data: &[u8]) -> bool {
    data.starts_with(b"@@@ ") || data.starts_with(b"#")
}

impl Bundle {
    pub fn parse(data: &[u8]) -> Bundle {
        let mut b = Bundle::default();
        let mut chunks: Vec<&[u8]> = Vec::new();
        let (head, rest): (&[u8], &[u8]) = if let Some(body) = data.strip_prefix(b"@@@ ") {
            (b"", body)
        } else {
            match find(data, b"\n@@@ ", 0) {
                Some(p) => (&data[..p], &data[p + 5..]),
                None => (data, b""),
            }
        };
        for line in head.split(|&c| c == b'\n') {
            let line = String::from_utf8_lossy(line);
            if let Some(v) = line.strip_prefix("#image ") {
                b.image = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("#platform ") {
                b.platform = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("#pack ") {
                b.pack = match v.trim() {
                    "tar" => Some(Pack::Tar),
                    "tgz" => Some(Pack::TarGz),
                    _ => Some(Pack::Dir),
                };
            }
        }
        if !rest.is_empty() || data.starts_with(b"@@@ ") {
            let mut at = 0;
            loop {
                match find(rest, b"\n@@@ ", at) {
                    Some(p) => {
                        chunks.push(&rest[at..p]);
                        at = p + 5;
                    }
                    None => {
                        chunks.push(&rest[at..]);
                        break;
                    }
                }
                if chunks.len() >= MAX_SECTIONS {
                    break;
                }
            }
        }
        let mut raw: Vec<(String, Vec<u8>)> = chunks
            .iter()
            .map(|c| {
                let nl = c.iter().position(|&x| x == b'\n').unwrap_or(c.len());
                let name = String::from_utf8_lossy(&c[..nl]).trim().to_string();
                let content = c.get(nl + 1..).unwrap_or(b"").to_vec();
                (name, content)
            })
            .collect();
        // Resolve from the last section up.
        let mut digests: Vec<Option<(String, usize)>> = vec![None; raw.len()];
        for i in (0..raw.len()).rev() {
            let mut content = std::mem::take(&mut raw[i].1);
            if find(&content, b"{{", 0).is_some() {
                for (j, d) in digests.iter().enumerate().skip(i + 1) {
                    if let Some((digest, size)) = d {
                        content = replace(
                            &content,
                            format!("{{{{d{j}}}}}").as_bytes(),
                            digest.as_bytes(),
                        );
                        content = replace(
                            &content,
                            format!("{{{{s{j}}}}}").as_bytes(),
                            size.to_string().as_bytes(),
                        );
                    }
                }
            }
            let hex = hex::encode(Sha256::digest(&content));
            digests[i] = Some((format!("sha256:{hex}"), content.len()));
            if raw[i].0 == "blobs/sha256/@" {
                raw[i].0 = format!("blobs/sha256/{hex}");
            }
            raw[i].1 = content;
        }
        b.files = raw;
        b
    }

    /// Writes the bundle under `dir` and returns the path to hand to strata.
    pub fn write(&self, dir: &Path) -> PathBuf {
        match self.pack.unwrap_or(Pack::Dir) {
            Pack::Dir => {
                let root = dir.join("layout");
                std::fs::create_dir_all(&root).unwrap();
                for (name, content) in &self.files {
                    let Some(rel) = safe_rel(name) else { continue };
                    let p = root.join(&rel);
                    if let Some(parent) = p.parent() {
                        if std::fs::create_dir_all(parent).is_err() {
                            continue;
                        }
                    }
                    let _ = std::fs::write(&p, content);
                }
                root
            }
            pack => {
                let tar = self.to_tar();
                let path = dir.join(if pack == Pack::Tar {
                    "image.tar"
                } else {
                    "image.tar.gz"
                });
                let bytes = if pack == Pack::Tar {
                    tar
                } else {
                    let mut gz =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    gz.write_all(&tar).unwrap();
                    gz.finish().unwrap()
                };
                std::fs::write(&path, bytes).unwrap();
                path
            }
        }
    }

    pub fn to_tar(&self) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, content) in &self.files {
            let Some(rel) = safe_rel(name) else { continue };
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_size(content.len() as u64);
            h.set_entry_type(tar::EntryType::Regular);
            let _ = b.append_data(&mut h, &rel, &content[..]);
        }
        b.into_inner().unwrap_or_default()
    }

    /// Serializes back to the text form (for seed generation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(i) = &self.image {
            out.extend_from_slice(format!("#image {i}\n").as_bytes());
        }
        if let Some(p) = &self.platform {
            out.extend_from_slice(format!("#platform {p}\n").as_bytes());
        }
        match self.pack {
            Some(Pack::Tar) => out.extend_from_slice(b"#pack tar\n"),
            Some(Pack::TarGz) => out.extend_from_slice(b"#pack tgz\n"),
            _ => {}
        }
        for (n, c) in &self.files {
            if !out.is_empty() {
                out.push(b'\n');
            }
            out.extend_from_slice(b"@@@ ");
            out.extend_from_slice(n.as_bytes());
            out.push(b'\n');
            out.extend_from_slice(c);
        }
        out
    }
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut at = 0;
    while let Some(p) = find(hay, from, at) {
        out.extend_from_slice(&hay[at..p]);
        out.extend_from_slice(to);
        at = p + from.len();
    }
    out.extend_from_slice(&hay[at..]);
    out
}

/// A relative path with no `..`, no empty name: the bundle writer stays inside its own dir.
fn safe_rel(name: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || parts.iter().any(|p| *p == ".." || p.contains('\0')) {
        return None;
    }
    Some(parts.iter().collect())
}

/// A scratch directory on tmpfs when there is one (every input writes an image and a tree).
pub fn scratch() -> tempfile::TempDir {
    let base = Path::new("/dev/shm");
    if base.is_dir() {
        if let Ok(d) = tempfile::Builder::new()
            .prefix("strata-fuzz-")
            .tempdir_in(base)
        {
            return d;
        }
    }
    tempfile::Builder::new()
        .prefix("strata-fuzz-")
        .tempdir()
        .unwrap()
}

/// A refusal is an acceptable answer to any input, but not one strata calls an internal error
/// (an invariant of its own broken, such as the guard and the tar reader parting ways).
pub fn assert_no_internal_error(e: &(dyn std::error::Error + 'static)) {
    let mut cause = Some(e);
    while let Some(c) = cause {
        assert!(
            !c.to_string().contains("internal error"),
            "strata broke an invariant of its own: {e}: {c}"
        );
        cause = c.source();
    }
}

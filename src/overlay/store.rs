//! The layer store: each layer unpacked once, keyed by its chainID, like docker's layerdb:
//! `layers/sha256/<chainID>/` holds `diff/` (the layer's own entries, whiteouts in overlayfs
//! form), `diff-id`, `parent`, `size` and `link` (a short name under `l/` pointing at `diff/`,
//! which keeps mount options short). A layer is built in `tmp/` and renamed into place when
//! complete, under a per-layer lock, so a half-written layer is never visible.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

use crate::digest::Digest;

pub struct Store {
    pub root: PathBuf,
    /// Rootless stores mark opaque directories with `user.overlay.opaque`.
    pub rootless: bool,
}

/// A layer present in the store.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredLayer {
    pub chain_id: String,
    pub diff_id: String,
    pub parent: Option<String>,
    pub size: u64,
    pub link: String,
}

impl Store {
    /// `--store`, then `STRATA_STORE`, then `/var/lib/strata` as root or the XDG data dir.
    pub fn locate(explicit: Option<&Path>) -> PathBuf {
        if let Some(p) = explicit {
            return p.to_path_buf();
        }
        if let Some(p) = std::env::var_os("STRATA_STORE").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        if rustix::process::geteuid().is_root() {
            return PathBuf::from("/var/lib/strata");
        }
        if let Some(p) = std::env::var_os("XDG_DATA_HOME").filter(|p| !p.is_empty()) {
            return PathBuf::from(p).join("strata");
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        home.join(".local/share/strata")
    }

    pub fn open(root: PathBuf, rootless: bool) -> io::Result<Store> {
        for sub in ["layers/sha256", "l", "tmp", "locks", "mounts"] {
            fs::create_dir_all(root.join(sub))?;
        }
        // Absolute, so paths handed to the kernel do not depend on the working directory.
        let root = root.canonicalize()?;
        Ok(Store { root, rootless })
    }

    pub fn layer_dir(&self, chain_id: &Digest) -> PathBuf {
        self.root.join("layers/sha256").join(chain_id.hex())
    }

    pub fn has_layer(&self, chain_id: &Digest) -> bool {
        self.layer_dir(chain_id).join("diff").is_dir()
    }

    /// Holds the lock file of one layer while alive.
    pub fn lock(&self, chain_id: &Digest) -> io::Result<File> {
        let file = File::create(
            self.root
                .join("locks")
                .join(format!("{}.lock", chain_id.hex())),
        )?;
        flock(&file, FlockOperation::LockExclusive)?;
        Ok(file)
    }

    /// A fresh private directory under `tmp/` to build a layer in.
    pub fn staging(&self, chain_id: &Digest) -> io::Result<PathBuf> {
        let dir = self
            .root
            .join("tmp")
            .join(format!("{}-{}", chain_id.hex(), std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(dir.join("diff"))?;
        Ok(dir)
    }

    /// Writes the layer's metadata into `staging` and moves it into place.
    pub fn commit(
        &self,
        staging: &Path,
        chain_id: &Digest,
        diff_id: &Digest,
        parent: Option<&Digest>,
        size: u64,
    ) -> io::Result<()> {
        let link = short_link(chain_id);
        write_file(&staging.join("diff-id"), diff_id.as_str())?;
        write_file(&staging.join("size"), &size.to_string())?;
        write_file(&staging.join("link"), &link)?;
        if let Some(p) = parent {
            write_file(&staging.join("parent"), p.as_str())?;
        }
        let link_path = self.root.join("l").join(&link);
        let _ = fs::remove_file(&link_path);
        std::os::unix::fs::symlink(
            format!("../layers/sha256/{}/diff", chain_id.hex()),
            &link_path,
        )?;
        fs::rename(staging, self.layer_dir(chain_id))
    }

    pub fn read_layer(&self, hex: &str) -> Option<StoredLayer> {
        let dir = self.root.join("layers/sha256").join(hex);
        let read = |name: &str| {
            fs::read_to_string(dir.join(name))
                .ok()
                .map(|s| s.trim().to_string())
        };
        Some(StoredLayer {
            chain_id: format!("sha256:{hex}"),
            diff_id: read("diff-id")?,
            parent: read("parent"),
            size: read("size").and_then(|s| s.parse().ok()).unwrap_or(0),
            link: read("link")?,
        })
    }

    pub fn layers(&self) -> io::Result<Vec<StoredLayer>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(self.root.join("layers/sha256"))? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(l) = self.read_layer(&name) {
                out.push(l);
            }
        }
        out.sort_by(|a, b| a.chain_id.cmp(&b.chain_id));
        Ok(out)
    }
}

/// 26 characters like docker's `l/` names, derived from the chainID so it is stable.
fn short_link(chain_id: &Digest) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    chain_id.hex().as_bytes()[..26]
        .iter()
        .enumerate()
        .map(|(i, b)| ALPHABET[(*b as usize + i * 7) % 32] as char)
        .collect()
}

fn write_file(path: &Path, text: &str) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}

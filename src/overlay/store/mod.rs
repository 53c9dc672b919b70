//! The layer store: each layer unpacked once, keyed by its chainID, like docker's layerdb.
//!
//! ```text
//! STORE/                         0700, owned by the user running strata
//!   layers/sha256/<chainID>/     diff/ (whiteouts as 0/0 devices, trusted.overlay.opaque),
//!                                diff-id, parent, size, link, and `complete`, written last
//!   layers-userxattr/sha256/…    the same for rootless mounts (user.overlay.opaque): a layer
//!                                is never shared between the two ways of marking opaque dirs
//!   l/<26 chars>                 short names -> ../layers/sha256/<chainID>/diff (mount(2) path)
//!   locks/<chainID>.lock         flock: shared while a layer is used, exclusive to build or remove
//!   tmp/<name>.stage.<pid>.<t>   a layer being built;  tmp/<name>.trash.<pid>.<t>: being removed
//!   mounts/<id>/                 one mount: upper/, work/, info.json
//!   kept/                        upper dirs kept by `umount --keep-upper`
//! ```
//!
//! Threat model: other local users must not reach into the store (everything is 0700 and the
//! store must belong to the caller, with no directory writable by group or others), and nothing
//! found in it is trusted: every path is opened relative to the store's directory fd with
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, lock files are never followed or truncated, the small
//! metadata files are validated before use, and a layer directory that is not a real directory
//! of the store's owner is refused. Crash model: a layer is built in `tmp/` and published by one
//! rename after its completion record is written, so a layer without the record is never reused;
//! removal unpublishes by one rename into `tmp/` first. What a killed run leaves in `tmp/` names
//! its process (pid and start time) and is removed by the next run that finds that process gone.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::digest::Digest;

pub struct Store {
    /// Absolute, so the paths handed to the kernel do not depend on the working directory.
    pub root: PathBuf,
    fd: OwnedFd,
    /// Rootless stores mark opaque directories with `user.overlay.opaque`.
    pub rootless: bool,
    owner: u32,
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

/// What stands at a layer's place in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerState {
    Missing,
    /// Published and complete: safe to use.
    Complete,
    /// A directory of ours without a completion record (an older strata's, or damaged):
    /// never used; rebuilt or pruned.
    Incomplete,
    /// Something strata did not make: refused, never followed, left for a person to look at.
    Foreign(String),
}

const BENEATH: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);
const DIR: OFlags = OFlags::DIRECTORY
    .union(OFlags::RDONLY)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOFOLLOW);
const TRUSTED_LAYERS: &str = "layers/sha256";
const USER_LAYERS: &str = "layers-userxattr/sha256";
const SUBDIRS: [&str; 9] = [
    "layers",
    TRUSTED_LAYERS,
    "layers-userxattr",
    USER_LAYERS,
    "l",
    "tmp",
    "locks",
    "mounts",
    "kept",
];
/// Metadata files are a line each; anything longer was not written by strata.
const MAX_META: u64 = 256;

mod gc;
mod lock;
mod publish;
#[cfg(test)]
mod tests;

pub use lock::{LayerLock, LockMode};
pub use publish::Staging;

impl Store {
    /// `--store`, then `STRATA_STORE`, then `/var/lib/strata` as root or the XDG data dir.
    pub fn locate(explicit: Option<&Path>) -> PathBuf {
        Store::locate_why(explicit).0
    }

    /// [`Store::locate`], with what chose the path (for messages).
    pub fn locate_why(explicit: Option<&Path>) -> (PathBuf, &'static str) {
        if let Some(p) = explicit {
            return (p.to_path_buf(), "--store");
        }
        if let Some(p) = std::env::var_os("STRATA_STORE").filter(|p| !p.is_empty()) {
            return (PathBuf::from(p), "$STRATA_STORE");
        }
        if rustix::process::geteuid().is_root() {
            return (PathBuf::from("/var/lib/strata"), "the default for root");
        }
        if let Some(p) = std::env::var_os("XDG_DATA_HOME").filter(|p| !p.is_empty()) {
            return (PathBuf::from(p).join("strata"), "$XDG_DATA_HOME");
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        (
            home.join(".local/share/strata"),
            "the default ($HOME/.local/share)",
        )
    }

    /// Opens (creating it 0700 if need be) the store at `root` for the user running strata:
    /// refuses a store of another user or one that group or others could write, tightens one
    /// that others could read (saying so), and removes what dead runs left in `tmp/`.
    pub fn open(root: PathBuf, rootless: bool) -> io::Result<Store> {
        let owner = rustix::process::geteuid().as_raw();
        if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| at(&root, "creating the store", e))?;
        }
        match rfs::mkdir(&root, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(at(&root, "creating the store", e.into())),
        }
        let root = root
            .canonicalize()
            .map_err(|e| at(&root, "opening the store", e))?;
        let fd = rfs::open(&root, DIR, Mode::empty())
            .map_err(|e| at(&root, "opening the store", e.into()))?;
        check_private(&fd, &root, owner)?;
        let store = Store {
            root,
            fd,
            rootless,
            owner,
        };
        for sub in SUBDIRS {
            match rfs::mkdirat(&store.fd, sub, Mode::from_raw_mode(0o700)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(at(&store.root.join(sub), "creating", e.into())),
            }
            let dir = store.open_dir(sub)?;
            check_private(&dir, &store.root.join(sub), owner)?;
        }
        store.remove_dead_leftovers();
        Ok(store)
    }

    /// Opens a directory inside the store, refusing symlinks anywhere on the way.
    pub fn open_dir(&self, rel: &str) -> io::Result<OwnedFd> {
        rfs::openat2(&self.fd, rel, DIR, Mode::empty(), BENEATH)
            .map_err(|e| at(&self.root.join(rel), "opening", e.into()))
    }

    fn layers_rel(&self) -> &'static str {
        if self.rootless {
            USER_LAYERS
        } else {
            TRUSTED_LAYERS
        }
    }

    /// The file-name form of a layer in `locks/` and `tmp/`: the two kinds of layer differ.
    fn layer_name(&self, chain_id: &Digest) -> String {
        if self.rootless {
            format!("u-{}", chain_id.hex())
        } else {
            chain_id.hex().to_string()
        }
    }

    pub fn layer_dir(&self, chain_id: &Digest) -> PathBuf {
        self.layer_path(chain_id.hex())
    }

    /// Where the layer named `hex` lives (for messages).
    pub fn layer_path(&self, hex: &str) -> PathBuf {
        self.root.join(self.layer_rel(hex))
    }

    fn layer_rel(&self, hex: &str) -> String {
        format!("{}/{hex}", self.layers_rel())
    }

    /// What stands at the layer's place, checked without following anything.
    pub fn layer_state(&self, chain_id: &Digest) -> io::Result<LayerState> {
        self.state_of(chain_id.hex())
    }

    fn state_of(&self, hex: &str) -> io::Result<LayerState> {
        self.state_in(self.layers_rel(), hex)
    }

    fn state_in(&self, layers_rel: &str, hex: &str) -> io::Result<LayerState> {
        let rel = format!("{layers_rel}/{hex}");
        let dir = match rfs::openat2(&self.fd, rel.as_str(), DIR, Mode::empty(), BENEATH) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(LayerState::Missing),
            Err(Errno::LOOP) | Err(Errno::NOTDIR) => {
                return Ok(LayerState::Foreign("not a directory".into()))
            }
            Err(e) => return Err(at(&self.root.join(&rel), "opening", e.into())),
        };
        if let Some(why) = not_private(&dir, self.owner)? {
            return Ok(LayerState::Foreign(why));
        }
        match rfs::openat(&dir, "diff", DIR, Mode::empty()) {
            Ok(_) => {}
            Err(Errno::NOENT) => return Ok(LayerState::Incomplete),
            Err(Errno::LOOP) | Err(Errno::NOTDIR) => {
                return Ok(LayerState::Foreign("its diff is not a directory".into()))
            }
            Err(e) => return Err(e.into()),
        }
        match read_meta(&dir, "complete", self.owner)? {
            Some(text) if text == format!("sha256:{hex}") => Ok(LayerState::Complete),
            _ => Ok(LayerState::Incomplete),
        }
    }

    /// The layer's `diff/`, opened without following anything, for a mount to use.
    pub fn open_diff(&self, chain_id: &Digest) -> io::Result<OwnedFd> {
        self.open_dir(&format!("{}/diff", self.layer_rel(chain_id.hex())))
    }

    /// The `diff/` dirs of these layers (nearest first), opened as needed relative to the store.
    pub fn lowers(&self, layers: Vec<Digest>) -> io::Result<super::lowers::Lowers> {
        let rels = layers
            .iter()
            .map(|c| format!("{}/diff", self.layer_rel(c.hex())))
            .collect();
        Ok(super::lowers::Lowers::beneath(self.fd.try_clone()?, rels))
    }

    /// A complete layer's metadata, each file validated; None for anything else.
    pub fn read_layer(&self, hex: &str) -> Option<StoredLayer> {
        if !is_hex64(hex) || self.state_of(hex).ok()? != LayerState::Complete {
            return None;
        }
        let dir = self.open_dir(&self.layer_rel(hex)).ok()?;
        let read = |name: &str| read_meta(&dir, name, self.owner).ok().flatten();
        let diff_id = read("diff-id").filter(|d| is_digest(d))?;
        let parent = match read("parent") {
            Some(p) if is_digest(&p) => Some(p),
            Some(_) => return None,
            None => None,
        };
        let link = read("link").filter(|l| {
            l.len() == 26
                && l.bytes()
                    .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
        })?;
        Some(StoredLayer {
            chain_id: format!("sha256:{hex}"),
            diff_id,
            parent,
            size: read("size").and_then(|s| s.parse().ok())?,
            link,
        })
    }

    /// Every name in this store's layer directory with what stands there.
    pub fn layer_entries(&self) -> io::Result<Vec<(String, LayerState)>> {
        let dir = self.open_dir(self.layers_rel())?;
        let mut out = Vec::new();
        for name in crate::extract::fs::Root::list(&dir)? {
            let state = if is_hex64(&name) {
                self.state_of(&name)?
            } else {
                LayerState::Foreign("not a chainID".into())
            };
            out.push((name, state));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The complete layers.
    pub fn layers(&self) -> io::Result<Vec<StoredLayer>> {
        Ok(self
            .layer_entries()?
            .into_iter()
            .filter(|(_, s)| *s == LayerState::Complete)
            .filter_map(|(hex, _)| self.read_layer(&hex))
            .collect())
    }

    /// Reads a small file of the store (`mounts/<id>/info.json`) without following anything.
    pub fn read_small(&self, rel: &str, limit: u64) -> Option<Vec<u8>> {
        let fd = rfs::openat2(
            &self.fd,
            rel,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
            BENEATH,
        )
        .ok()?;
        let st = rfs::fstat(&fd).ok()?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile || st.st_uid != self.owner {
            return None;
        }
        let mut out = Vec::new();
        File::from(fd).take(limit).read_to_end(&mut out).ok()?;
        Some(out)
    }
}

fn at(path: &Path, what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// The store's own directories: ours, and not writable by anybody else. Readable by others is
/// tightened to 0700, once, with a word on stderr.
fn check_private(fd: &OwnedFd, path: &Path, owner: u32) -> io::Result<()> {
    let st = rfs::fstat(fd)?;
    if st.st_uid != owner {
        return Err(at(
            path,
            "refusing the layer store",
            io::Error::other(format!(
                "it belongs to uid {}, not to uid {owner} running strata; use a store of your own (--store DIR)",
                st.st_uid
            )),
        ));
    }
    let mode = st.st_mode & 0o7777;
    if mode & 0o022 != 0 {
        return Err(at(
            path,
            "refusing the layer store",
            io::Error::other(format!(
                "it is writable by group or others (mode {mode:04o}), so another user could have planted files in it; remove it or chmod 700 it after checking its content"
            )),
        ));
    }
    if mode & 0o077 != 0 {
        rfs::fchmod(fd, Mode::from_raw_mode(0o700))?;
        eprintln!(
            "strata: {} was readable by other users (mode {mode:04o}); made it 0700",
            path.display()
        );
    }
    Ok(())
}

/// Why a directory found in the store is not one strata made, or None.
fn not_private(fd: &OwnedFd, owner: u32) -> io::Result<Option<String>> {
    let st = rfs::fstat(fd)?;
    if st.st_uid != owner {
        return Ok(Some(format!("it belongs to uid {}", st.st_uid)));
    }
    if st.st_mode & 0o022 != 0 {
        return Ok(Some(format!(
            "it is writable by group or others (mode {:04o})",
            st.st_mode & 0o7777
        )));
    }
    Ok(None)
}

/// A metadata file's one line, if it is a small regular file of the owner.
fn read_meta(dir: &OwnedFd, name: &str, owner: u32) -> io::Result<Option<String>> {
    let fd = match rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) | Err(Errno::LOOP) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let st = rfs::fstat(&fd)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile
        || st.st_uid != owner
        || st.st_size as u64 > MAX_META
    {
        return Ok(None);
    }
    let mut text = String::new();
    if File::from(fd)
        .take(MAX_META)
        .read_to_string(&mut text)
        .is_err()
    {
        return Ok(None);
    }
    Ok(Some(text.trim_end_matches('\n').to_string()))
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(is_hex64)
}

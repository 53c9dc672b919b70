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
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{
    self as rfs, flock, AtFlags, FileType, FlockOperation, Mode, OFlags, ResolveFlags,
};
use rustix::io::Errno;

use crate::digest::Digest;
use crate::proc::Stamp;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

/// A held layer lock; released when dropped.
#[derive(Debug)]
pub struct LayerLock {
    file: File,
    name: String,
}

/// A layer being built: `tmp/<name>`, with `diff/` inside.
pub struct Staging {
    pub name: String,
    pub path: PathBuf,
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
    pub fn lowers(&self, layers: Vec<Digest>) -> io::Result<crate::extract::lowers::Lowers> {
        let rels = layers
            .iter()
            .map(|c| format!("{}/diff", self.layer_rel(c.hex())))
            .collect();
        Ok(crate::extract::lowers::Lowers::beneath(
            self.fd.try_clone()?,
            rels,
        ))
    }

    /// Locks one layer: shared to use it, exclusive to build or remove it. Without `wait`,
    /// returns None when another strata holds it in a conflicting way.
    pub fn lock(
        &self,
        chain_id: &Digest,
        mode: LockMode,
        wait: bool,
    ) -> io::Result<Option<LayerLock>> {
        self.lock_named(&format!("{}.lock", self.layer_name(chain_id)), mode, wait)
    }

    fn lock_named(&self, name: &str, mode: LockMode, wait: bool) -> io::Result<Option<LayerLock>> {
        let locks = self.open_dir("locks")?;
        let path = self.root.join("locks").join(name);
        let op = match (mode, wait) {
            (LockMode::Shared, true) => FlockOperation::LockShared,
            (LockMode::Shared, false) => FlockOperation::NonBlockingLockShared,
            (LockMode::Exclusive, true) => FlockOperation::LockExclusive,
            (LockMode::Exclusive, false) => FlockOperation::NonBlockingLockExclusive,
        };
        loop {
            // Created if missing, never truncated, never followed.
            let fd = rfs::openat(
                &locks,
                name,
                OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
            .map_err(|e| at(&path, "opening the lock file", e.into()))?;
            let st = rfs::fstat(&fd)?;
            if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile
                || st.st_uid != self.owner
            {
                return Err(at(
                    &path,
                    "refusing the lock file",
                    io::Error::other("not a regular file of the store's owner"),
                ));
            }
            match flock(&fd, op) {
                Ok(()) => {}
                Err(Errno::WOULDBLOCK) => return Ok(None),
                Err(e) => return Err(at(&path, "locking", e.into())),
            }
            // A remover may have deleted the file while we waited: then our lock guards nothing.
            match rfs::statat(&locks, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(now) if now.st_ino == st.st_ino && now.st_dev == st.st_dev => {
                    return Ok(Some(LayerLock {
                        file: File::from(fd),
                        name: name.to_string(),
                    }))
                }
                _ => continue,
            }
        }
    }

    /// Deletes a layer's lock file, held exclusively, once the layer is gone.
    pub fn forget_lock(&self, lock: LayerLock) {
        if let Ok(locks) = self.open_dir("locks") {
            let _ = rfs::unlinkat(&locks, lock.name.as_str(), AtFlags::empty());
        }
        drop(lock.file);
    }

    /// A fresh private directory `tmp/<layer>.stage.<pid>.<start>/diff` to build a layer in.
    pub fn staging(&self, chain_id: &Digest) -> io::Result<Staging> {
        let name = format!(
            "{}.stage.{}",
            self.layer_name(chain_id),
            Stamp::current().tag()
        );
        let tmp = self.open_dir("tmp")?;
        let path = self.root.join("tmp").join(&name);
        match rfs::mkdirat(&tmp, name.as_str(), Mode::from_raw_mode(0o700)) {
            Ok(()) => {}
            // Our own leftover from a failed attempt in this same process.
            Err(Errno::EXIST) => {
                crate::extract::fs::Root::remove(&tmp, &name)?;
                rfs::mkdirat(&tmp, name.as_str(), Mode::from_raw_mode(0o700))?;
            }
            Err(e) => return Err(at(&path, "creating", e.into())),
        }
        let staging = self.open_dir(&format!("tmp/{name}"))?;
        rfs::mkdirat(&staging, "diff", Mode::from_raw_mode(0o755))?;
        Ok(Staging { name, path })
    }

    /// The staging dir's `diff/`, opened for unpacking into.
    pub fn open_staging_diff(&self, staging: &Staging) -> io::Result<OwnedFd> {
        self.open_dir(&format!("tmp/{}/diff", staging.name))
    }

    /// Removes a staging dir (after a failure).
    pub fn discard(&self, staging: &Staging) -> io::Result<()> {
        let tmp = self.open_dir("tmp")?;
        crate::extract::fs::Root::remove(&tmp, &staging.name)
    }

    /// Writes the layer's metadata, the completion record last, and publishes the staging dir
    /// as the layer with one rename. The caller holds the layer's exclusive lock.
    pub fn commit(
        &self,
        staging: &Staging,
        chain_id: &Digest,
        diff_id: &Digest,
        parent: Option<&Digest>,
        size: u64,
    ) -> io::Result<()> {
        let dir = self.open_dir(&format!("tmp/{}", staging.name))?;
        let link = short_link(chain_id);
        write_meta(&dir, "diff-id", diff_id.as_str())?;
        write_meta(&dir, "size", &size.to_string())?;
        write_meta(&dir, "link", &link)?;
        if let Some(p) = parent {
            write_meta(&dir, "parent", p.as_str())?;
        }
        write_meta(&dir, "complete", chain_id.as_str())?;
        if !self.rootless {
            self.make_short_link(chain_id)?;
        }
        let tmp = self.open_dir("tmp")?;
        let layers = self.open_dir(self.layers_rel())?;
        rfs::renameat(&tmp, staging.name.as_str(), &layers, chain_id.hex())
            .map_err(|e| at(&self.layer_dir(chain_id), "publishing the layer", e.into()))
    }

    fn make_short_link(&self, chain_id: &Digest) -> io::Result<()> {
        let l = self.open_dir("l")?;
        let name = short_link(chain_id);
        let target = short_link_target(chain_id);
        match rfs::readlinkat(&l, name.as_str(), Vec::new()) {
            Ok(t) if t.as_bytes() == target.as_bytes() => return Ok(()),
            Ok(_) => rfs::unlinkat(&l, name.as_str(), AtFlags::empty())?,
            Err(Errno::NOENT) => {}
            // Something else under that name: a directory would not be ours to remove.
            Err(e) => return Err(at(&self.root.join("l").join(&name), "checking", e.into())),
        }
        Ok(rfs::symlinkat(target.as_str(), &l, name.as_str())?)
    }

    /// The short `l/` name of a layer, after checking that the link there leads to it.
    pub fn checked_short_link(&self, chain_id: &Digest) -> Option<String> {
        let l = self.open_dir("l").ok()?;
        let name = short_link(chain_id);
        let t = rfs::readlinkat(&l, name.as_str(), Vec::new()).ok()?;
        (t.as_bytes() == short_link_target(chain_id).as_bytes()).then_some(name)
    }

    /// Unpublishes a layer with one rename into `tmp/`, then deletes it. The caller holds the
    /// layer's exclusive lock. A killed removal leaves the whole layer or nothing visible.
    pub fn remove_layer(&self, chain_id: &Digest) -> io::Result<()> {
        if let LayerState::Foreign(why) = self.layer_state(chain_id)? {
            return Err(at(
                &self.layer_dir(chain_id),
                "refusing to remove",
                io::Error::other(format!("{why}; strata did not make it")),
            ));
        }
        let trash = format!(
            "{}.trash.{}",
            self.layer_name(chain_id),
            Stamp::current().tag()
        );
        let tmp = self.open_dir("tmp")?;
        let layers = self.open_dir(self.layers_rel())?;
        match rfs::renameat(&layers, chain_id.hex(), &tmp, trash.as_str()) {
            Ok(()) => {}
            Err(Errno::NOENT) => return Ok(()),
            Err(e) => return Err(at(&self.layer_dir(chain_id), "unpublishing", e.into())),
        }
        if !self.rootless && self.checked_short_link(chain_id).is_some() {
            let l = self.open_dir("l")?;
            let _ = rfs::unlinkat(&l, short_link(chain_id).as_str(), AtFlags::empty());
        }
        crate::extract::fs::Root::remove(&tmp, &trash)
            .map_err(|e| at(&self.root.join("tmp").join(&trash), "removing", e))
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

    /// Removes `tmp/` entries whose process is gone (staging of a killed unpack, a killed
    /// removal's trash); says what it removed.
    pub fn remove_dead_leftovers(&self) -> Vec<String> {
        let mut removed = Vec::new();
        let Ok(tmp) = self.open_dir("tmp") else {
            return removed;
        };
        for name in crate::extract::fs::Root::list(&tmp).unwrap_or_default() {
            let mut parts = name.rsplitn(4, '.');
            let (Some(start), Some(pid), Some(kind)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let Some(owner) = Stamp::parse_tag(&format!("{pid}.{start}")) else {
                continue;
            };
            if !matches!(kind, "stage" | "trash") || owner.is_alive() {
                continue;
            }
            if crate::extract::fs::Root::remove(&tmp, &name).is_ok() {
                removed.push(format!("tmp/{name}"));
            }
        }
        removed
    }

    /// Lock files of layers that are not in the store, removed while held exclusively.
    pub fn remove_unused_locks(&self) -> usize {
        let Ok(locks) = self.open_dir("locks") else {
            return 0;
        };
        let mut removed = 0;
        for name in crate::extract::fs::Root::list(&locks).unwrap_or_default() {
            let Some(stem) = name.strip_suffix(".lock") else {
                continue;
            };
            let (rootless, hex) = match stem.strip_prefix("u-") {
                Some(h) => (true, h),
                None => (false, stem),
            };
            let Ok(id) = Digest::parse(&format!("sha256:{hex}")) else {
                continue;
            };
            let rel = if rootless {
                USER_LAYERS
            } else {
                TRUSTED_LAYERS
            };
            let missing = || self.state_in(rel, id.hex()).ok() == Some(LayerState::Missing);
            if !missing() {
                continue;
            }
            if let Ok(Some(lock)) = self.lock_named(&name, LockMode::Exclusive, false) {
                if missing() {
                    self.forget_lock(lock);
                    removed += 1;
                }
            }
        }
        removed
    }

    /// `l/` entries that do not lead to a complete layer's `diff/`, removed.
    pub fn remove_dangling_links(&self) -> usize {
        let Ok(l) = self.open_dir("l") else { return 0 };
        let mut removed = 0;
        for name in crate::extract::fs::Root::list(&l).unwrap_or_default() {
            let Ok(target) = rfs::readlinkat(&l, name.as_str(), Vec::new()) else {
                continue;
            };
            let target = target.to_string_lossy().into_owned();
            let hex = target
                .strip_prefix("../layers/sha256/")
                .and_then(|t| t.strip_suffix("/diff"));
            let live = hex.is_some_and(|h| {
                is_hex64(h)
                    && short_link_of_hex(h) == name
                    && self.state_of(h).ok() == Some(LayerState::Complete)
            });
            if !live && rfs::unlinkat(&l, name.as_str(), AtFlags::empty()).is_ok() {
                removed += 1;
            }
        }
        removed
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

fn write_meta(dir: &OwnedFd, name: &str, text: &str) -> io::Result<()> {
    let fd = rfs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    let mut f = File::from(fd);
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
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

/// 26 characters like docker's `l/` names, derived from the chainID so it is stable.
fn short_link(chain_id: &Digest) -> String {
    short_link_of_hex(chain_id.hex())
}

fn short_link_of_hex(hex: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    hex.as_bytes()[..26]
        .iter()
        .enumerate()
        .map(|(i, b)| ALPHABET[(*b as usize + i * 7) % 32] as char)
        .collect()
}

fn short_link_target(chain_id: &Digest) -> String {
    format!("../{TRUSTED_LAYERS}/{}/diff", chain_id.hex())
}

fn at(path: &Path, what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn digest(byte: &str) -> Digest {
        Digest::parse(&format!("sha256:{}", byte.repeat(64))).unwrap()
    }

    #[test]
    fn a_new_store_is_private_and_a_readable_one_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("s");
        Store::open(root.clone(), false).unwrap();
        for sub in [
            ".",
            "layers",
            "layers/sha256",
            "l",
            "tmp",
            "locks",
            "mounts",
        ] {
            let mode = std::fs::metadata(root.join(sub))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "{sub}");
        }
        std::fs::set_permissions(root.join("l"), std::fs::Permissions::from_mode(0o755)).unwrap();
        Store::open(root.clone(), false).unwrap();
        let mode = std::fs::metadata(root.join("l"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_store_others_can_write_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("s");
        Store::open(root.clone(), false).unwrap();
        std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = Store::open(root.clone(), false).err().expect("refused");
        assert!(
            err.to_string().contains("writable by group or others"),
            "{err}"
        );
        assert!(err.to_string().contains("/s/tmp"), "{err}");
    }

    #[test]
    fn only_a_layer_with_its_completion_record_is_complete() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().join("s"), false).unwrap();
        let id = digest("a");
        assert_eq!(store.layer_state(&id).unwrap(), LayerState::Missing);
        let staging = store.staging(&id).unwrap();
        store.commit(&staging, &id, &digest("b"), None, 5).unwrap();
        assert_eq!(store.layer_state(&id).unwrap(), LayerState::Complete);
        let layer = store.read_layer(id.hex()).unwrap();
        assert_eq!(layer.diff_id, digest("b").as_str());
        std::fs::remove_file(store.layer_dir(&id).join("complete")).unwrap();
        assert_eq!(store.layer_state(&id).unwrap(), LayerState::Incomplete);
        assert!(store.read_layer(id.hex()).is_none());
        assert!(store.layers().unwrap().is_empty());
    }

    #[test]
    fn a_symlink_in_place_of_a_layer_is_foreign_and_not_removed_through() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().join("s"), false).unwrap();
        let victim = tmp.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        std::fs::create_dir(victim.join("diff")).unwrap();
        std::fs::write(victim.join("precious"), b"x").unwrap();
        let id = digest("c");
        std::os::unix::fs::symlink(&victim, store.layer_dir(&id)).unwrap();
        assert!(matches!(
            store.layer_state(&id).unwrap(),
            LayerState::Foreign(_)
        ));
        assert!(store.open_diff(&id).is_err());
        assert!(store.remove_layer(&id).is_err());
        assert!(victim.join("precious").exists());
    }

    #[test]
    fn a_planted_lock_symlink_is_neither_followed_nor_truncated() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().join("s"), false).unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, b"keep me").unwrap();
        let id = digest("d");
        std::os::unix::fs::symlink(
            &victim,
            store.root.join("locks").join(format!("{}.lock", id.hex())),
        )
        .unwrap();
        assert!(store.lock(&id, LockMode::Exclusive, true).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    }

    #[test]
    fn dead_staging_is_removed_and_live_staging_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().join("s"), false).unwrap();
        let live = store.staging(&digest("e")).unwrap();
        let dead = store
            .root
            .join("tmp")
            .join(format!("{}.stage.999999999.1", "f".repeat(64)));
        std::fs::create_dir_all(dead.join("diff/x")).unwrap();
        let removed = store.remove_dead_leftovers();
        assert_eq!(removed.len(), 1, "{removed:?}");
        assert!(!dead.exists());
        assert!(live.path.exists());
    }
}

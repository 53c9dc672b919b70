//! Building a layer in `tmp/` and publishing it with one rename (its completion record
//! written last), its short `l/` link, and unpublishing it for removal.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::{at, LayerState, Store, TRUSTED_LAYERS};
use crate::digest::Digest;
use crate::proc::Stamp;

/// A layer being built: `tmp/<name>`, with `diff/` inside.
pub struct Staging {
    pub name: String,
    pub path: PathBuf,
}

impl Store {
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

    pub(super) fn make_short_link(&self, chain_id: &Digest) -> io::Result<()> {
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
}

pub(super) fn write_meta(dir: &OwnedFd, name: &str, text: &str) -> io::Result<()> {
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

/// 26 characters like docker's `l/` names, derived from the chainID so it is stable.
pub(super) fn short_link(chain_id: &Digest) -> String {
    short_link_of_hex(chain_id.hex())
}

pub(super) fn short_link_of_hex(hex: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    hex.as_bytes()[..26]
        .iter()
        .enumerate()
        .map(|(i, b)| ALPHABET[(*b as usize + i * 7) % 32] as char)
        .collect()
}

pub(super) fn short_link_target(chain_id: &Digest) -> String {
    format!("../{TRUSTED_LAYERS}/{}/diff", chain_id.hex())
}

//! Mounts' records in the store (`mounts/<id>/info.json`), and telling which still exist.

use std::io;
use std::path::PathBuf;

use super::mountinfo;
use super::random_id;
use super::store::Store;
use crate::extract::fs::Root;
use crate::proc::Stamp;

/// One mount's (or shell session's) record: `mounts/<id>/info.json`.
pub struct MountRecord {
    pub id: String,
    pub info: serde_json::Value,
}

impl MountRecord {
    pub fn dir(&self, store: &Store) -> PathBuf {
        store.root.join("mounts").join(&self.id)
    }

    /// The mount source strata gives the overlay, by which mountinfo names it.
    pub fn source(&self) -> String {
        mount_source(&self.id)
    }

    pub fn mountpoint(&self) -> Option<&str> {
        self.info["mountpoint"].as_str()
    }

    /// The chainIDs of the layers it uses.
    pub fn layers(&self) -> impl Iterator<Item = &str> {
        self.info["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
    }

    /// Whether the mount still exists: a shell session while its strata runs, a mount while an
    /// overlay with its source or upper dir is in this namespace's mount table.
    pub fn is_live(&self, store: &Store, table: &[mountinfo::MountEntry]) -> bool {
        if let (Some(pid), Some(start)) =
            (self.info["pid"].as_u64(), self.info["start_time"].as_u64())
        {
            let owner = Stamp {
                pid: pid as u32,
                start,
            };
            if owner.is_alive() {
                return true;
            }
        }
        mountinfo::overlay_in_use(table, &self.source(), &self.dir(store).join("upper"))
    }
}

pub fn mount_source(id: &str) -> String {
    format!("strata-{id}")
}

/// Every record under `mounts/` that strata could read.
pub fn mount_records(store: &Store) -> Vec<MountRecord> {
    let Ok(dir) = store.open_dir("mounts") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for id in Root::list(&dir).unwrap_or_default() {
        let Some(bytes) = store.read_small(&format!("mounts/{id}/info.json"), 1 << 20) else {
            continue;
        };
        if let Ok(info) = serde_json::from_slice(&bytes) {
            out.push(MountRecord { id, info });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// A fresh `mounts/<random id>/` (0700) for one mount; its id.
pub fn new_mount_dir(store: &Store) -> io::Result<String> {
    let mounts = store.open_dir("mounts")?;
    loop {
        let id = random_id()?;
        match rustix::fs::mkdirat(&mounts, id.as_str(), rustix::fs::Mode::from_raw_mode(0o700)) {
            Ok(()) => return Ok(id),
            Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Removes `mounts/<id>` (never through a symlink).
pub fn remove_mount_dir(store: &Store, id: &str) -> io::Result<()> {
    let mounts = store.open_dir("mounts")?;
    Root::remove(&mounts, id)
}

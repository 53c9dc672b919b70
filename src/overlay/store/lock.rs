//! Layer locks: `locks/<chainID>.lock`, flock'd shared while a layer is used, exclusively to
//! build or remove it; never followed, never truncated.

use std::fs::File;
use std::io;

use rustix::fs::{self as rfs, flock, AtFlags, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use super::{at, Store};
use crate::digest::Digest;

/// How a layer is locked.
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

impl Store {
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

    pub(super) fn lock_named(
        &self,
        name: &str,
        mode: LockMode,
        wait: bool,
    ) -> io::Result<Option<LayerLock>> {
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
}

//! Whiteouts and opaque markers: deleted before a layer's entries (in order), or kept for
//! overlayfs (a layer of the store).

use std::io;
use std::os::fd::OwnedFd;

use super::{remove_below, DirSink, Root, WHITEOUTS};
use crate::extract::rules::{file_name, parent};

impl DirSink {
    /// An overlayfs whiteout of the layer, settled once the layer is done.
    pub(super) fn whiteout(&mut self, path: &str) -> io::Result<()> {
        // What a whiteout becomes depends on the whole layer (its own entry at the path may
        // come before or after it) and on the layers below: see `settle_whiteouts`. Memory
        // keeps its key only; the path may go to disk.
        self.budget.take(16, WHITEOUTS)?;
        self.deferred.marked.insert(self.keys.key(path));
        self.deferred.whiteouts.push(self.root.fd(), path)
    }

    /// Marks `dir` opaque for overlayfs, once the layer is done.
    pub(super) fn mark_opaque(&mut self, dir: &str) -> io::Result<()> {
        let Some(_) = self.opaque_xattr else {
            return Err(io::Error::other(
                "opaque markers need an overlay layer store",
            ));
        };
        // The directory may come later in the layer, or not at all: make sure it exists, made
        // as a parent the layer left out (it keeps the lower directory's metadata).
        self.dir_making_parents(dir)?;
        self.budget.take(16, WHITEOUTS)?;
        self.deferred.marked.insert(self.keys.key(dir));
        self.opaque_dirs.push(self.root.fd(), dir)
    }

    /// Deletes `path` and what lies below it (a whiteout in in-order mode, carried out before
    /// the layer writes anything).
    pub(super) fn delete_path(&mut self, path: &str) -> io::Result<()> {
        self.last_dir = None;
        let dir = match self.root.open_dir_nofollow(parent(path)) {
            Ok(fd) => fd,
            Err(e) if matches!(e.raw_os_error(), Some(2) | Some(20) | Some(40)) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.delete_in(&dir, path)
    }

    fn delete_in(&mut self, dir: &OwnedFd, path: &str) -> io::Result<()> {
        self.dirs.remove(path);
        remove_below(&mut self.dirs, path);
        Root::remove(dir, file_name(path))
    }

    /// Deletes everything below `dir` (an opaque marker in order).
    pub(super) fn clear_below(&mut self, dir: &str) -> io::Result<()> {
        self.last_dir = None;
        let Ok(fd) = self.root.open_dir_nofollow(dir) else {
            return Ok(());
        };
        for entry in Root::list(&fd)? {
            let child = if dir.is_empty() {
                entry
            } else {
                format!("{dir}/{entry}")
            };
            self.delete_in(&fd, &child)?;
        }
        Ok(())
    }
}

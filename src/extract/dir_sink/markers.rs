//! Whiteouts and opaque markers carried out as deletions, before a layer's entries (the in-order
//! extraction). Kept as they are for overlayfs, they are the overlay store's (see its converter).

use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::FileType;

use super::{remove_below, Root, Tree};
use crate::extract::rules::{file_name, parent};

/// A whiteout or opaque marker below a symlink of a lower layer (see `marked_dir`).
#[derive(Debug, thiserror::Error)]
#[error(
    "refused: the whiteout or opaque marker lies below `{}`, a symlink of a lower layer: applied in order it would delete where the symlink leads, while overlayfs keeps what lies there, so runtimes disagree on what the image deletes",
    crate::rawname::escape_for_message(.0, 200)
)]
pub struct MarkerThroughSymlink(pub String);

/// A component of the path is no directory (a symlink or a file).
fn is_not_dir(e: &io::Error) -> bool {
    [rustix::io::Errno::NOTDIR, rustix::io::Errno::LOOP]
        .iter()
        .any(|n| e.raw_os_error() == Some(n.raw_os_error()))
}

impl Tree {
    /// Deletes `path` and what lies below it (a whiteout in in-order mode, carried out before
    /// the layer writes anything).
    pub(super) fn delete_path(&mut self, path: &str) -> io::Result<()> {
        self.last_dirs.clear();
        let dir = match self.marked_dir(parent(path))? {
            Some(fd) => fd,
            None => return Ok(()),
        };
        self.delete_in(&dir, path)
    }

    /// The directory a whiteout or opaque marker acts in, as the layers below left it; `None`
    /// when there is none (missing, or a file: nothing to delete there). Below a symlink the
    /// image is refused: applied in order the marker acts where the symlink leads, in an
    /// overlayfs layer it hides nothing, so what the image deletes depends on the runtime.
    fn marked_dir(&self, dir: &str) -> io::Result<Option<OwnedFd>> {
        match self.root.open_dir_strict(dir) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) if is_not_dir(&e) => {
                // The first component that is no directory says which: a file, or a symlink.
                let mut end = 0;
                for part in dir.split('/') {
                    end += part.len();
                    let prefix = &dir[..end];
                    end += 1;
                    let fd = self.root.open_dir_strict(parent(prefix))?;
                    let st = Root::lstat(&fd, file_name(prefix))?;
                    match FileType::from_raw_mode(st.st_mode) {
                        FileType::Directory => {}
                        FileType::Symlink => {
                            return Err(io::Error::other(MarkerThroughSymlink(prefix.into())))
                        }
                        _ => return Ok(None),
                    }
                }
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn delete_in(&mut self, dir: &OwnedFd, path: &str) -> io::Result<()> {
        self.dirs.remove(path);
        remove_below(&mut self.dirs, path);
        Root::remove(dir, file_name(path))
    }

    /// Deletes everything below `dir` (an opaque marker in order).
    pub(super) fn clear_below(&mut self, dir: &str) -> io::Result<()> {
        self.last_dirs.clear();
        // The directory itself may be a lower layer's symlink or file that the layer replaces
        // by its own directory (`rm s && mkdir s` on overlayfs gives `s/` and its opaque
        // marker): there is nothing below it to clear. Only a symlink above it is refused.
        if !dir.is_empty() && self.marked_dir(parent(dir))?.is_none() {
            return Ok(());
        }
        let fd = match self.root.open_dir_strict(dir) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound || is_not_dir(&e) => return Ok(()),
            Err(e) => return Err(e),
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

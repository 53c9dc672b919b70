//! Removing a directory tree at any depth with a bounded number of descriptors.
//!
//! The walk holds one directory open at a time (plus the caller's and, briefly, a parent): it
//! goes down by name with `O_NOFOLLOW` and back up through `..`, checking that `..` is the very
//! directory it came from (device and inode recorded on the way down), so a tree moved or
//! replaced under it stops the removal instead of sending it elsewhere. Symlinks are removed,
//! never followed. Memory is one small record per level (the names of the subdirectories
//! still to visit), so an 11,400-deep tree costs no more descriptors than a flat one.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::RDONLY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// How often one directory is read again when entries appear in it during the removal (another
/// process writing there) before giving up with `ENOTEMPTY`.
const MAX_REREADS: u32 = 8;

/// Removes whatever is at `name` in `dir` (a whole subtree for a directory) without following
/// symlinks; says whether anything was there.
pub fn remove_at(dir: &OwnedFd, name: &[u8]) -> io::Result<bool> {
    let name = CString::new(name).map_err(|_| Errno::INVAL)?;
    match rfs::unlinkat(dir, &*name, AtFlags::empty()) {
        Ok(()) => Ok(true),
        Err(Errno::NOENT) => Ok(false),
        Err(Errno::ISDIR) | Err(Errno::PERM) => {
            remove_dir_tree(dir, name)?;
            Ok(true)
        }
        Err(e) => Err(e.into()),
    }
}

/// One directory on the way down.
struct Level {
    /// Its name in its parent.
    name: CString,
    dev: u64,
    ino: u64,
    /// Subdirectories found in it, still to remove.
    subdirs: Vec<CString>,
    rereads: u32,
}

fn remove_dir_tree(top: &OwnedFd, name: CString) -> io::Result<()> {
    let mut cur = open_dir(top, &name)?;
    let mut stack = vec![Level::enter(&cur, name)?];
    loop {
        let level = stack.last_mut().expect("a level while walking");
        if let Some(sub) = level.subdirs.pop() {
            match open_dir(&cur, &sub) {
                Ok(fd) => {
                    let next = Level::enter(&fd, sub)?;
                    cur = fd;
                    stack.push(next);
                }
                Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {}
                // No longer a directory: remove whatever stands there now.
                Err(e) if e.raw_os_error() == Some(Errno::NOTDIR.raw_os_error()) => {
                    unlink_in(&cur, &sub, AtFlags::empty())?;
                }
                Err(e) => return Err(e),
            }
            continue;
        }
        // Everything below this level is gone: remove it from its parent.
        let done = stack.pop().expect("the level just looked at");
        let parent = match stack.last() {
            Some(up) => Some(open_parent(&cur, up)?),
            None => None,
        };
        let parent_fd = parent.as_ref().unwrap_or(top);
        match rfs::unlinkat(parent_fd, &*done.name, AtFlags::REMOVEDIR) {
            Ok(()) | Err(Errno::NOENT) => {}
            // Something was added meanwhile: read the directory again.
            Err(Errno::NOTEMPTY) if done.rereads < MAX_REREADS => {
                let rereads = done.rereads + 1;
                let mut again = Level::enter(&cur, done.name)?;
                again.rereads = rereads;
                stack.push(again);
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        match parent {
            Some(fd) => cur = fd,
            None => return Ok(()),
        }
    }
}

impl Level {
    /// Records directory `fd` and empties it of everything but its subdirectories.
    fn enter(fd: &OwnedFd, name: CString) -> io::Result<Level> {
        let st = rfs::fstat(fd)?;
        let mut subdirs = Vec::new();
        let dir = rfs::Dir::read_from(fd)?;
        for entry in dir {
            let entry = entry?;
            let child = entry.file_name();
            if child == c"." || child == c".." {
                continue;
            }
            if entry.file_type() == FileType::Directory {
                subdirs.push(child.to_owned());
                continue;
            }
            match unlink_in(fd, child, AtFlags::empty()) {
                Ok(()) => {}
                // The type was unknown (or changed): it is a directory.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(x) if x == Errno::ISDIR.raw_os_error() || x == Errno::PERM.raw_os_error()
                    ) =>
                {
                    subdirs.push(child.to_owned())
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Level {
            name,
            dev: st.st_dev,
            ino: st.st_ino,
            subdirs,
            rereads: 0,
        })
    }
}

/// Unlinks `name` in `dir`; a directory we may not write to (an image's 0555 directory when not
/// root) is opened up first: everything in it is going anyway.
fn unlink_in(dir: &OwnedFd, name: &CStr, flags: AtFlags) -> io::Result<()> {
    match rfs::unlinkat(dir, name, flags) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(Errno::ACCESS) => {
            rfs::fchmod(dir, Mode::from_raw_mode(0o700))?;
            match rfs::unlinkat(dir, name, flags) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens subdirectory `name` of `dir` without following a symlink. A directory without
/// permissions (overlayfs leaves `work/work` at 0000) is ours: we let ourselves in.
fn open_dir(dir: &OwnedFd, name: &CStr) -> io::Result<OwnedFd> {
    match rfs::openat(dir, name, DIR_FLAGS, Mode::empty()) {
        Ok(fd) => Ok(fd),
        Err(Errno::ACCESS) => {
            rfs::chmodat(dir, name, Mode::from_raw_mode(0o700), AtFlags::empty())?;
            Ok(rfs::openat(dir, name, DIR_FLAGS, Mode::empty())?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The parent of `cur` through `..`, refused unless it is the directory `up` recorded.
fn open_parent(cur: &impl AsFd, up: &Level) -> io::Result<OwnedFd> {
    let fd = rfs::openat(cur, c"..", DIR_FLAGS, Mode::empty())?;
    let st = rfs::fstat(&fd)?;
    if st.st_dev != up.dev || st.st_ino != up.ino {
        return Err(io::Error::other(
            "a directory being removed was moved meanwhile; stopped",
        ));
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn open(path: &Path) -> OwnedFd {
        rfs::open(path, DIR_FLAGS, Mode::empty()).unwrap()
    }

    /// Builds `depth` nested directories `d/d/d/...` below `top/name`, with a file, a symlink
    /// and a 0000 directory at the bottom, one descriptor at a time.
    fn deep_tree(top: &OwnedFd, name: &CStr, depth: usize) {
        rfs::mkdirat(top, name, Mode::from_raw_mode(0o755)).unwrap();
        let mut cur = rfs::openat(top, name, DIR_FLAGS, Mode::empty()).unwrap();
        for _ in 0..depth {
            rfs::mkdirat(&cur, c"d", Mode::from_raw_mode(0o755)).unwrap();
            rfs::openat(
                &cur,
                c"f",
                OFlags::CREATE | OFlags::WRONLY,
                Mode::from_raw_mode(0o644),
            )
            .unwrap();
            cur = rfs::openat(&cur, c"d", DIR_FLAGS, Mode::empty()).unwrap();
        }
        rfs::symlinkat(c"/", &cur, c"root").unwrap();
        rfs::mkdirat(&cur, c"locked", Mode::from_raw_mode(0o000)).unwrap();
    }

    /// Regression: removal recursed holding one descriptor per level, so a tree deeper than the
    /// descriptor limit (EMFILE at ~1000 levels under `ulimit -n 1024`) was left half removed.
    #[test]
    fn removes_a_tree_deeper_than_the_descriptor_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let top = open(tmp.path());
        deep_tree(&top, c"tree", 3000);
        // A descriptor per level would need 3000 at once; ours stays at a handful whatever the
        // depth (checked under a low limit in tests/store_bounds.rs, in a child process).
        assert!(remove_at(&top, b"tree").unwrap());
        assert!(!tmp.path().join("tree").exists());
        assert!(!remove_at(&top, b"tree").unwrap(), "nothing there any more");
    }

    #[test]
    fn removes_symlinks_without_following_them() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), b"x").unwrap();
        std::fs::create_dir(tmp.path().join("t")).unwrap();
        std::os::unix::fs::symlink(outside.path(), tmp.path().join("t/link")).unwrap();
        std::os::unix::fs::symlink(outside.path(), tmp.path().join("top-link")).unwrap();
        let top = open(tmp.path());
        assert!(remove_at(&top, b"t").unwrap());
        assert!(remove_at(&top, b"top-link").unwrap());
        assert!(outside.path().join("keep").exists());
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_moved_parent_stops_the_walk() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("a/b")).unwrap();
        let a = open(&tmp.path().join("a"));
        let level = Level::enter(&a, c"a".to_owned()).unwrap();
        let b = open(&tmp.path().join("a/b"));
        // `b`'s parent is `a`, not `b` itself.
        let wrong = Level::enter(&b, c"b".to_owned()).unwrap();
        assert!(open_parent(&b, &level).is_ok());
        assert!(open_parent(&b, &wrong).is_err());
    }
}

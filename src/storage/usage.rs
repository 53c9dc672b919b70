//! The bytes a directory tree of a data root holds, walked beneath an opened directory without
//! following any symlink (a link counts as its own length), each hardlinked inode once. This
//! is the space removing the tree gives back, as `docker system df -v` reports it.

use std::collections::HashSet;
use std::os::fd::OwnedFd;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};

/// Deeper than this, a tree is not one Docker wrote; the walk stops descending (the fds held
/// stay bounded).
const MAX_DEPTH: usize = 256;

/// Bytes (apparent sizes) of everything under `dir`, `dir` itself not counted.
pub fn tree_size(dir: &OwnedFd) -> std::io::Result<u64> {
    let mut seen = HashSet::new();
    walk(dir, 0, &mut seen)
}

fn walk(dir: &OwnedFd, depth: usize, seen: &mut HashSet<(u64, u64)>) -> std::io::Result<u64> {
    let mut total = 0u64;
    let entries = rfs::Dir::read_from(dir)?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        let st = match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            // Gone since the listing (a live daemon): nothing to count.
            Err(rustix::io::Errno::NOENT) => continue,
            Err(e) => return Err(e.into()),
        };
        let kind = FileType::from_raw_mode(st.st_mode);
        if kind == FileType::Directory {
            if depth >= MAX_DEPTH {
                continue;
            }
            let sub = rfs::openat(
                dir,
                name,
                OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            total += walk(&sub, depth + 1, seen)?;
            continue;
        }
        if st.st_nlink > 1 && !seen.insert((st.st_dev, st.st_ino)) {
            continue;
        }
        total += st.st_size.max(0) as u64;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_files_and_links_once_and_never_follows_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("a/b")).unwrap();
        std::fs::write(p.join("a/one"), vec![0u8; 100]).unwrap();
        std::fs::write(p.join("a/b/two"), vec![0u8; 20]).unwrap();
        std::fs::hard_link(p.join("a/one"), p.join("a/b/one-again")).unwrap();
        // A symlink to a big tree outside counts as its own length only.
        std::os::unix::fs::symlink("/usr", p.join("a/usr")).unwrap();
        let fd = rfs::open(p, OFlags::DIRECTORY | OFlags::RDONLY, Mode::empty()).unwrap();
        assert_eq!(tree_size(&fd).unwrap(), 100 + 20 + 4);
    }
}

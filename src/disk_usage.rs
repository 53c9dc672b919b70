//! What a layer takes on disk once unpacked, counted the way Docker's containerd image store
//! reports it in `docker history`: containerd sums `st_blocks` × 512 over every inode of the
//! unpacked snapshot (each inode once). That depends on the filesystem; this is the figure for
//! ext4 with 4 KiB blocks, the usual case: every directory (the layer's root and the parents a
//! tar leaves implicit included) one block, a regular file its size rounded up to whole blocks,
//! a symlink one block when its target is too long to live in the inode (60 bytes or more),
//! and nothing for hardlinks (their inode is counted once), empty files, devices, fifos and
//! whiteouts.

use std::collections::HashSet;

pub const BLOCK: u64 = 4096;

/// Longest symlink target ext4 keeps inside the inode itself.
const FAST_SYMLINK_MAX: usize = 59;

#[derive(Debug, Default)]
pub struct DiskUsage {
    dirs: HashSet<Vec<u8>>,
    files: u64,
}

impl DiskUsage {
    /// Counts one tar entry: its path (as in the tar), type and content size, and for a
    /// symlink the target's length.
    pub fn add(&mut self, path: &[u8], kind: tar::EntryType, size: u64, link_len: usize) {
        let path = trim(path);
        self.add_parents(path);
        use tar::EntryType::*;
        match kind {
            Directory if !path.is_empty() => {
                self.dirs.insert(path.to_vec());
            }
            Regular | Continuous | GNUSparse => self.files += size.div_ceil(BLOCK) * BLOCK,
            Symlink if link_len > FAST_SYMLINK_MAX => self.files += BLOCK,
            _ => {}
        }
    }

    fn add_parents(&mut self, path: &[u8]) {
        let mut end = path.len();
        while let Some(slash) = path[..end].iter().rposition(|&b| b == b'/') {
            if !self.dirs.insert(path[..slash].to_vec()) {
                break;
            }
            end = slash;
        }
    }

    /// Bytes on disk, the layer's root directory included.
    pub fn total(&self) -> u64 {
        (self.dirs.len() as u64 + 1) * BLOCK + self.files
    }
}

/// `./a/b/` → `a/b`.
fn trim(mut path: &[u8]) -> &[u8] {
    while let Some(rest) = path.strip_prefix(b"./") {
        path = rest;
    }
    while let Some(rest) = path.strip_suffix(b"/") {
        path = rest;
    }
    if path == b"." {
        return b"";
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use tar::EntryType::*;

    #[test]
    fn blocks_of_a_small_layer() {
        let mut u = DiskUsage::default();
        u.add(b"./", Directory, 0, 0);
        u.add(b"etc/", Directory, 0, 0);
        u.add(b"etc/a", Regular, 1, 0); // one block
        u.add(b"etc/b", Regular, 4097, 0); // two
        u.add(b"etc/empty", Regular, 0, 0); // none
        u.add(b"etc/again", Link, 0, 0); // the inode of etc/a
        u.add(b"usr/lib/x/short", Symlink, 0, 10); // usr, usr/lib, usr/lib/x implied
        u.add(b"usr/long", Symlink, 0, 80); // one block
        u.add(b"usr/.wh.gone", Regular, 0, 0);
        // root + etc + usr + usr/lib + usr/lib/x = 5 directories; files 1 + 2 + 1 blocks.
        assert_eq!(u.total(), (5 + 4) * BLOCK);
    }

    #[test]
    fn an_empty_layer_is_its_root_directory() {
        assert_eq!(DiskUsage::default().total(), BLOCK);
    }
}
